"""``iomscore db`` (a durable engine directory) end to end, and ``explain``,
``forecast`` and ``timeline`` with ``--db``.

Each directory is checked against what the same events give elsewhere: ``iomscore
score`` (or explain, forecast, timeline) on the events file, or an in-memory
:class:`~iomscore.Engine` given the same changes.
"""

from __future__ import annotations

import csv
import datetime
import json
import sqlite3
import struct
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import test_cli_history as history
from cli_calls import ok, run
from test_cli import AS_OF, WEIGHTS_TEXT, read_result, write_files

from iomscore import Engine, Weights
from iomscore.cli import _parser
from iomscore.provenance import read_parquet_metadata

D = datetime.date
LATER = D(2024, 3, 1)  # the day after AS_OF: test_cli's event 2 (2022-03-01, 500) stops counting


@pytest.fixture
def files(tmp_path):
    return write_files(tmp_path)


@pytest.fixture
def db(files, tmp_path, capsys):
    """A directory at AS_OF under test_cli's table, holding test_cli's events file."""
    weights, events = files
    folder = tmp_path / "engine"
    ok(capsys, "db", "init", folder, "--as-of", AS_OF, "--weights", weights)
    ok(capsys, "db", "ingest", folder, events)
    return folder


def memory_engine(weights, events, as_of=AS_OF):
    """An in-memory engine given what the ``db`` fixture's directory was given."""
    engine = Engine(Weights.load(weights), as_of)
    engine.ingest(_events_table(events), future="skip")
    return engine


def _events_table(path):
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {key: [row[key] for row in rows] for key in rows[0]}


def info(capsys, folder):
    out, _ = ok(capsys, "db", "info", folder)
    return dict(line.split(": ", 1) for line in out.splitlines())


def number(text):
    return float(text.split()[0].replace(",", ""))


# ------------------------------------------------------------------------ init, ingest


def test_db_scores_equal_score_on_the_file(files, db, tmp_path, capsys):
    weights, events = files
    before, _ = ok(capsys, "db", "scores", db)
    _, err = ok(capsys, "db", "advance", db, "--to", LATER)
    assert f"from {AS_OF} to {LATER}: 1 events left the window" in err
    _, err = ok(capsys, "db", "ingest", db, events)  # event 6, dated LATER, is taken now
    assert "1 taken" in err and "9 duplicates" in err
    out, err = ok(capsys, "db", "scores", db)
    expected, _ = ok(capsys, "score", events, "--weights", weights, "--as-of", LATER)
    assert out == expected
    assert "nominals scored: 6" in err and "10 live events, 1 archived" in err
    # the expiry and the late event are in it: 100 lost 500 points, 300 gained event 6
    assert dict((n, s) for n, s, _ in read_result(before))[100] == 750
    assert dict((n, s) for n, s, _ in read_result(out))[100] == 250
    assert 300 in {n for n, _, _ in read_result(out)} - {n for n, _, _ in read_result(before)}

    # to files: the same CSV bytes as score's, and the provenance names the directory
    for name in ("from_db.csv", "from_file.csv"):
        assert not (tmp_path / name).exists()
    ok(capsys, "db", "scores", db, "--out", tmp_path / "from_db.csv")
    ok(capsys, "score", events, "--weights", weights, "--as-of", LATER, "--out", tmp_path / "f.csv")
    assert (tmp_path / "from_db.csv").read_bytes() == (tmp_path / "f.csv").read_bytes()
    meta = json.loads((tmp_path / "from_db.csv.meta.json").read_text(encoding="utf-8"))
    assert meta["command"] == "db scores" and meta["as_of"] == str(LATER)
    assert meta["input"]["directory"] == "engine"
    assert meta["weights"]["sha256"] == Weights.load(weights).sha256
    assert meta["counts"] == {
        "live_events": 10,
        "archived_events": 1,
        "nominals_scored": 6,
        "bands": {"NONE": 3, "LOW": 2, "MEDIUM": 0, "HIGH": 1},
    }
    # Parquet: the same table as score's
    ok(capsys, "db", "scores", db, "--out", tmp_path / "d.parquet")
    ok(capsys, "score", events, "--weights", weights, "--as-of", LATER, "--out", tmp_path / "f.pq")
    assert pq.read_table(tmp_path / "d.parquet").equals(pq.read_table(tmp_path / "f.pq"))
    assert read_parquet_metadata(tmp_path / "d.parquet")["command"] == "db scores"


def test_ingest_future_error_names_the_line(files, tmp_path, capsys):
    weights, events = files
    folder = tmp_path / "engine"
    ok(capsys, "db", "init", folder, "--as-of", AS_OF, "--weights", weights)
    code, _, err = run(capsys, "db", "ingest", folder, events, "--future", "error")
    assert code == 2
    assert "events.csv line 7" in err and "2024-03-01 is after as_of 2024-02-29" in err
    assert info(capsys, folder)["live_events"] == "0"  # nothing of the file was taken


def test_init_refuses_an_existing_directory(files, db, capsys):
    weights, _ = files
    code, out, err = run(capsys, "db", "init", db, "--as-of", LATER, "--weights", weights)
    assert code == 2 and out == ""
    assert err.startswith("iomscore: error: ") and "already holds an engine" in err
    assert info(capsys, db)["as_of"] == str(AS_OF)  # untouched


def test_a_missing_directory(tmp_path, capsys):
    code, _, err = run(capsys, "db", "scores", tmp_path / "nowhere")
    assert code == 2 and "nowhere: no such engine directory" in err


# ----------------------------------------------------------------- retract, reweight


def test_retract_an_ids_file(files, db, tmp_path, capsys):
    weights, events = files
    ids = tmp_path / "ids.txt"
    ids.write_bytes(b"event_id\r\n1\r\n\r\n13.0\r\n99\r\n1\r\n")
    _, err = ok(capsys, "db", "retract", db, ids)
    assert f"4 ids read from {ids}: 2 events retracted; 1 ids not held: 99;" in err
    expected = memory_engine(weights, events)
    expected.retract([1, 13, 99])
    out, _ = ok(capsys, "db", "scores", db)
    assert read_result(out) == expected.scores().rows()


@pytest.mark.parametrize(
    ("text", "line", "value"),
    [
        ("event_id\n5\n\n7x\n", 4, "'7x'"),
        ("5\nevent_id\n", 2, "'event_id'"),  # a header only on the first line
        ("5\n-3\n", 2, "'-3'"),
        ("5\n9223372036854775808\n", 2, "'9223372036854775808'"),
        ("5\n1.5\n", 2, "'1.5'"),
    ],
)
def test_a_bad_line_of_an_ids_file_is_named(db, tmp_path, capsys, text, line, value):
    before, _ = ok(capsys, "db", "scores", db)
    ids = tmp_path / "bad.txt"
    ids.write_text(text, encoding="utf-8")
    code, _, err = run(capsys, "db", "retract", db, ids)
    assert code == 2
    assert f"bad.txt line {line}: {value} is not an event id" in err
    assert ok(capsys, "db", "scores", db)[0] == before  # nothing retracted


def test_reweight_as_the_in_memory_engine(files, db, tmp_path, capsys):
    weights, events = files
    table = tmp_path / "new.csv"
    table.write_text(
        WEIGHTS_TEXT.replace("# name: cli-test", "# name: cli-new").replace(
            "Burglary in a dwelling,250,125,500", "Burglary in a dwelling,250,125,900"
        ),
        encoding="utf-8",
    )
    before, _ = ok(capsys, "db", "scores", db)
    _, err = ok(capsys, "db", "reweight", db, table)
    expected = memory_engine(weights, events)
    report = expected.reweight(Weights.load(table))
    assert f"1 entries changed, rescore {report.mode}; {len(report.changes)} band changes" in err
    assert len(report.changes) > 0
    out, _ = ok(capsys, "db", "scores", db)
    assert read_result(out) == expected.scores().rows()
    assert out != before
    assert info(capsys, db)["weights"].startswith("cli-new sha256 ")


# ------------------------------------------------------------ checkpoint, info, verify


def test_checkpoint_then_info(db, capsys):
    first = info(capsys, db)
    assert first["journal_records"] == "1 since the last checkpoint"  # the ingest
    _, err = ok(capsys, "db", "checkpoint", db)
    size = (db / "snapshot.iom").stat().st_size
    assert f"snapshot.iom written, {size:,} bytes" in err
    after = info(capsys, db)
    assert after["journal_records"] == "0 since the last checkpoint"
    assert number(after["snapshot_bytes"]) == size
    journal = (db / "journal.iom").stat().st_size
    assert number(after["journal_bytes"]) == journal < number(first["journal_bytes"])
    assert after["live_events"] == "10" and after["archived_events"] == "0"
    assert after["nominals"] == "5 with a live event"
    assert number(after["bytes_per_event"]) == round((size + journal) / 10, 1)
    for key in ("as_of", "window_years", "history_years", "weights", "thresholds"):
        assert after[key] == first[key]
    assert after["weights"] == f"cli-test sha256 {Weights.load(db.parent / 'weights.csv').sha256}"


def _section(path, wanted):
    """The first and last byte of a snapshot section's payload (the format of
    iomscore.durable's docstring: a 16-byte head, then name, length and SHA-256)."""
    data = path.read_bytes()
    count = struct.unpack_from("<8sII", data)[2]
    at = 16
    for _ in range(count):
        name, length, _ = struct.unpack_from("<8sQ32s", data, at)
        at += 48
        if name.rstrip(b"\0").decode() == wanted:
            return at, at + length - 1
        at += length
    raise AssertionError(f"no section {wanted}")


def _flip(path, at):
    data = bytearray(path.read_bytes())
    data[at] ^= 0x5A
    path.write_bytes(bytes(data))


def test_verify_ok_then_a_flipped_byte(db, capsys):
    out, _ = ok(capsys, "db", "verify", db)
    assert out.startswith("ok: ") and "10 live events, 0 archived" in out
    assert "5 nominals with a live event" in out
    first, last = _section(db / "snapshot.iom", "live")
    _flip(db / "snapshot.iom", (first + last) // 2)
    code, out, err = run(capsys, "db", "verify", db)
    assert code == 2 and out == ""
    assert "snapshot.iom: section 'live' is damaged" in err


def test_verify_checks_the_audit_chain(db, capsys):
    out, _ = ok(capsys, "db", "verify", db)
    assert "its hash chain intact" in out
    connection = sqlite3.connect(db / "records.sqlite")
    connection.execute("UPDATE audit_log SET user_id = 'someone' WHERE id = 2")
    connection.commit()
    connection.close()
    code, out, err = run(capsys, "db", "verify", db)
    assert code == 2 and out == ""
    assert "records.sqlite: audit entry 2 was edited" in err


def test_info_counts_the_records_database(db, capsys):
    shown = info(capsys, db)
    database = sum(
        (db / name).stat().st_size
        for name in ("records.sqlite", "records.sqlite-wal")
        if (db / name).exists()
    )
    assert number(shown["records_bytes"]) == database > 0
    files = sum((db / name).stat().st_size for name in ("snapshot.iom", "journal.iom"))
    assert number(shown["bytes_on_disk_per_event"]) == round((files + database) / 10, 1)


def test_verify_a_flipped_byte_in_the_journal(db, capsys):
    journal = db / "journal.iom"
    _flip(journal, 24 + 20 + 8)  # the first record's payload: after the file's and its head
    code, _, err = run(capsys, "db", "verify", db)
    assert code == 2
    assert "journal.iom: journal record 1" in err and "damaged" in err


# --------------------------------------------------- explain, forecast, timeline --db


@pytest.fixture
def history_db(tmp_path, capsys):
    """test_cli_history's events in a directory that took each on its date: created at
    D1 with four years of history (enough to cover D1 at D2), then advanced to D2 in
    steps shorter than the window, the file ingested at each step."""
    weights, _ = write_files(tmp_path)
    events = history.write_events(tmp_path)
    folder = tmp_path / "engine"
    ok(
        capsys,
        "db",
        "init",
        folder,
        "--as-of",
        history.D1,
        "--weights",
        weights,
        "--history-years",
        4,
    )
    for step in (None, D(2022, 6, 1), history.D2):
        if step is not None:
            ok(capsys, "db", "advance", folder, "--to", step)
        ok(capsys, "db", "ingest", folder, events)
    return weights, events, folder


@pytest.mark.parametrize("nominal", [100, 200, 300, 500, 600, 700])
def test_db_equals_the_file(history_db, capsys, nominal):
    weights, events, folder = history_db
    D1, D2 = history.D1, history.D2
    from_file = ["--weights", weights, "--as-of", D2]
    for command in (["explain", "--nominal", nominal], ["forecast"]):
        expected = ok(capsys, *command, events, *from_file)
        got = ok(capsys, *command, "--db", folder)
        assert got[0] == expected[0]
        assert got[1].splitlines()[-1] == expected[1].splitlines()[-1]  # the summary
    span = ["--nominal", nominal, "--from", D1, "--to", D2]
    expected = ok(capsys, "timeline", events, "--weights", weights, *span)
    assert ok(capsys, "timeline", "--db", folder, *span) == expected
    # and both are the reference's
    rows = history.timeline_rows(expected[0])
    assert rows == history.reference.timeline(history.EVENTS, history.MAPPING, nominal, D1, D2)


def test_a_nominal_the_directory_never_held(history_db, capsys):
    """Nominal 400's one event (2017) was before the window when the directory first
    saw it, so it was never taken: the file knows the nominal, the directory does not."""
    weights, events, folder = history_db
    out, _ = ok(
        capsys, "explain", events, "--weights", weights, "--as-of", history.D2, "--nominal", 400
    )
    assert history.explain_rows(out) == []
    code, out, err = run(capsys, "explain", "--db", folder, "--nominal", 400)
    assert code == 2 and out == "" and "nominal 400 is not held" in err


def test_timeline_with_db_outside_its_dates(history_db, capsys):
    _, _, folder = history_db
    code, _, err = run(
        capsys, "timeline", "--db", folder, "--nominal", 100, "--from", history.D1, "--to", LATER
    )
    assert code == 2 and f"--to {LATER} is after the as-of date" in err
    code, _, err = run(
        capsys,
        "timeline",
        "--db",
        folder,
        "--nominal",
        100,
        "--from",
        "2019-12-31",
        "--to",
        history.D2,
    )
    assert code == 2 and "--from 2019-12-31 is before 2020-" in err
    assert "the first date whose whole window" in err and "4 years" in err


def _argv(command, *source):
    rest = {
        "explain": ["--nominal", 100],
        "forecast": [],
        "timeline": ["--nominal", 100, "--from", "2024-01-01", "--to", str(AS_OF)],
    }[command]
    return [command, *source, *rest]


@pytest.mark.parametrize("command", ["explain", "forecast", "timeline"])
def test_events_and_db_together_or_neither(files, db, capsys, command):
    _, events = files
    code, out, err = run(capsys, *_argv(command, events, "--db", db))
    assert code == 2 and out == ""
    assert f"{command}: give an events file EVENTS or --db DIR, not both" in err
    code, out, err = run(capsys, *_argv(command))
    assert code == 2 and out == ""
    assert err.strip().endswith(f"{command}: give an events file EVENTS or --db DIR")


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("explain", ["--as-of", str(AS_OF)]),
        ("forecast", ["--as-of", str(AS_OF), "--window-years", "3"]),
        ("timeline", ["--weights", "weights.csv", "--repair-codes"]),
    ],
)
def test_file_options_are_refused_with_db(db, capsys, command, options):
    code, out, err = run(capsys, *_argv(command, "--db", db), *options)
    assert code == 2 and out == ""
    named = [o for o in options if o.startswith("--")]
    assert f"{', '.join(named)}: not taken with --db" in err


def test_as_of_is_required_with_a_file(files, capsys):
    weights, events = files
    code, _, err = run(capsys, "forecast", events, "--weights", weights)
    assert code == 2 and "forecast: --as-of is required with an events file" in err


def test_out_inside_the_directory_is_refused(db, capsys):
    for argv in (["db", "scores", db], ["forecast", "--db", db]):
        code, _, err = run(capsys, *argv, "--out", db / "scores.csv")
        assert code == 2 and "inside the engine directory" in err
    assert not (db / "scores.csv").exists()


def test_every_db_option_has_help():
    parser = _parser()
    commands = next(a for a in parser._actions if a.choices and "db" in a.choices)
    db = commands.choices["db"]
    sub = next(a for a in db._actions if a.choices)
    names = {"init", "ingest", "retract", "advance", "reweight", "scores"}
    names |= {"checkpoint", "verify", "info"}
    names |= {"interventions", "end-intervention", "retract-interventions", "list-interventions"}
    names |= {"assess", "retract-assessments", "list-assessments"}
    names |= {"owners", "decide", "selection", "odoc"}
    assert set(sub.choices) == names
    for name, command in sub.choices.items():
        for action in command._actions:
            assert action.help, (name, action.option_strings or action.dest)
    for name in ("explain", "forecast", "timeline"):
        options = {o for a in commands.choices[name]._actions for o in a.option_strings}
        assert "--db" in options


def test_the_readme_lists_the_db_commands():
    text = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = text.split("## The command line", 1)[1].split("```", 2)[1]
    for name in ("init", "ingest", "retract", "advance", "reweight", "scores"):
        assert f"iomscore db {name} DIR" in block
    for name in ("checkpoint", "verify", "info"):
        assert f"iomscore db {name} DIR" in block
