"""Issue 25: events files as police systems and spreadsheets export them, and output files.

Data-loss guards, ``--encoding``, CSV rows with a field missing, one loading rule
for CSV and Parquet (ids, dates with a time, dates that do not exist),
``--repair-codes``, provenance (CSV sidecar, Parquet metadata), help text,
``str(RetractReport)``, the progress display and the platform check of setup.py.
Expected scores come from :mod:`iomscore.reference` (via ``test_cli.expected_rows``).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_cli import EVENTS, EVENTS_TEXT, WEIGHTS_TEXT, expected_rows, read_result, write_files

import iomscore
from iomscore import cli, oneshot
from iomscore.cli import main
from iomscore.engine import Engine
from iomscore.results import BandChanges, RetractReport

ROOT = Path(__file__).resolve().parents[1]
AS_OF = ["--as-of", "2024-02-29"]


@pytest.fixture
def files(tmp_path):
    return write_files(tmp_path)


def one_error_line(capsys, code: int, *words: str) -> str:
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("iomscore: error: "), err
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def score(events, weights, *extra: str) -> int:
    return main(["score", str(events), "--weights", str(weights), *AS_OF, *extra])


# ------------------------------------------------------------------------- data loss


def _commands(events: Path, weights: Path) -> dict[str, list[str]]:
    return {
        "score": ["score", str(events), "--weights", str(weights), *AS_OF],
        "replay": [
            "replay",
            str(events),
            "--weights",
            str(weights),
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-05",
        ],
        "whatif": [
            "whatif",
            str(events),
            "--weights",
            str(weights),
            "--new-weights",
            str(weights),
            *AS_OF,
        ],
    }


@pytest.mark.parametrize("command", ["score", "replay", "whatif"])
@pytest.mark.parametrize("spelling", ["same", "dotted", "hardlink"])
def test_out_over_the_events_file_is_refused(files, tmp_path, capsys, command, spelling):
    weights, events = files
    target = {
        "same": events,
        "dotted": tmp_path / "." / "sub" / ".." / events.name,
        "hardlink": tmp_path / "link.csv",
    }[spelling]
    (tmp_path / "sub").mkdir()
    if spelling == "hardlink":
        os.link(events, target)
    code = main([*_commands(events, weights)[command], "--out", str(target)])
    one_error_line(capsys, code, "--out", "the events file", "destroy")
    assert events.read_text(encoding="utf-8") == EVENTS_TEXT


@pytest.mark.parametrize("command", ["score", "whatif"])
def test_out_over_a_weight_table_is_refused(files, capsys, command):
    weights, events = files
    code = main([*_commands(events, weights)[command], "--out", str(weights)])
    one_error_line(capsys, code, "--out", "weight table")
    assert weights.read_text(encoding="utf-8") == WEIGHTS_TEXT


@pytest.mark.parametrize("command", ["score", "replay", "whatif"])
def test_out_into_a_missing_directory_is_refused_before_any_work(
    files, tmp_path, capsys, monkeypatch, command
):
    weights, events = files
    calls = []
    monkeypatch.setattr(cli, "read_events", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(oneshot, "score_file", lambda *a, **k: calls.append(a))
    out = tmp_path / "no-such-dir" / "out.csv"
    code = main([*_commands(events, weights)[command], "--out", str(out)])
    one_error_line(capsys, code, str(out), "does not exist")
    assert calls == []  # refused before the events were read


def test_demo_out_into_a_missing_directory_is_refused(tmp_path, capsys):
    out = tmp_path / "missing" / "demo.csv"
    code = main(["demo", "--nominals", "10", "--events", "20", "--out", str(out)])
    one_error_line(capsys, code, "does not exist")


def test_a_refused_run_keeps_an_old_output_file(files, tmp_path, capsys):
    """``--to`` before ``--from`` used to be found with the output already open (and emptied)."""
    weights, events = files
    out = tmp_path / "changes.csv"
    out.write_text("old content\n", encoding="utf-8")
    argv = _commands(events, weights)["replay"]
    argv[argv.index("--to") + 1] = "2023-12-31"
    code = main([*argv, "--out", str(out)])
    one_error_line(capsys, code, "--to 2023-12-31 is before --from 2024-01-01")
    assert out.read_text(encoding="utf-8") == "old content\n"


def test_a_failed_run_leaves_no_partial_file(files, tmp_path, capsys, monkeypatch):
    """A failure part-way through writing leaves neither a partial file nor a temporary one."""
    weights, events = files
    out = tmp_path / "changes.csv"
    out.write_text("old content\n", encoding="utf-8")
    from iomscore import replay as replay_module

    real = replay_module.replay

    def fails_after_writing(batch, weights, start, end, handle, **options):
        real(batch, weights, start, end, handle, **options)
        raise iomscore.EngineError("planted failure after the rows were written")

    monkeypatch.setattr(replay_module, "replay", fails_after_writing)
    code = main(_commands(events, weights)["replay"] + ["--out", str(out)])
    one_error_line(capsys, code, "planted failure")
    assert out.read_text(encoding="utf-8") == "old content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "changes.csv",
        "events.csv",
        "weights.csv",
    ]


# ------------------------------------------------------------------------- encodings

NOTES_TEXT = EVENTS_TEXT.replace("event_id,", "notes,event_id,", 1)
NOTES_LINES = NOTES_TEXT.splitlines()
NOTES_TEXT = (
    "\n".join(
        [NOTES_LINES[0]]
        + [
            ("Café incident," if i == 2 else "plain,") + line
            for i, line in enumerate(NOTES_LINES[1:])
        ]
    )
    + "\n"
)


def test_a_windows_1252_byte_names_file_line_and_field(files, tmp_path, capsys):
    weights, _ = files
    export = tmp_path / "e.csv"  # a small file: the name must still be given
    export.write_bytes(NOTES_TEXT.encode("cp1252"))
    code = score(export, weights)
    one_error_line(capsys, code, f"{export} line 4", "field 'notes'", "0xe9", "--encoding")


def test_encoding_option_reads_the_export(files, tmp_path, capsys):
    weights, _ = files
    export = tmp_path / "export.csv"
    export.write_bytes(NOTES_TEXT.encode("cp1252"))
    assert score(export, weights, "--encoding", "cp1252") == 0
    assert read_result(capsys.readouterr().out) == expected_rows()


def test_utf8_with_other_columns_is_read(files, tmp_path, capsys):
    weights, _ = files
    export = tmp_path / "export.csv"
    export.write_bytes(NOTES_TEXT.encode("utf-8"))
    assert score(export, weights) == 0
    assert read_result(capsys.readouterr().out) == expected_rows()


@pytest.mark.parametrize("name", ["no-such-codec", "base64"])
def test_an_unknown_encoding_is_an_option_error(files, capsys, name):
    weights, events = files
    code = score(events, weights, "--encoding", name)
    one_error_line(capsys, code, "--encoding", name)


# ------------------------------------------------------------------------- missing field


def test_a_row_with_a_field_missing_names_the_line_and_field(files, tmp_path, capsys):
    weights, _ = files
    lines = EVENTS_TEXT.splitlines()
    lines[6] = lines[6].rsplit(",", 1)[0]  # line 7 loses its date
    short = tmp_path / "short.csv"
    short.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code = score(short, weights)
    one_error_line(capsys, code, f"{short} line 7", "field missing", "'date'")


# ------------------------------------------------------------------------- one rule, two loaders


def _parquet(tmp_path, **columns) -> Path:
    base = {
        "event_id": [e.event_id for e in EVENTS],
        "nominal_id": [e.nominal_id for e in EVENTS],
        "dataset": [e.dataset for e in EVENTS],
        "offence": [e.offence for e in EVENTS],
        "date": pa.array([e.date for e in EVENTS], pa.date32()),
    }
    base.update(columns)
    path = tmp_path / "events.parquet"
    pq.write_table(pa.table(base), path)
    return path


def _csv(tmp_path, edit) -> Path:
    lines = EVENTS_TEXT.splitlines()
    rows = [line.split(",") for line in lines[1:]]
    for row in rows:
        edit(row)
    path = tmp_path / "edited.csv"
    path.write_text("\n".join([lines[0], *(",".join(r) for r in rows)]) + "\n", encoding="utf-8")
    return path


def test_float_ids_are_taken_by_both_loaders(files, tmp_path, capsys):
    weights, _ = files

    def as_floats(row):
        row[0], row[1] = row[0] + ".0", row[1] + ".0"

    csv_file = _csv(tmp_path, as_floats)
    assert score(csv_file, weights) == 0
    assert read_result(capsys.readouterr().out) == expected_rows()
    parquet = _parquet(
        tmp_path,
        event_id=[float(e.event_id) for e in EVENTS],
        nominal_id=[float(e.nominal_id) for e in EVENTS],
    )
    assert score(parquet, weights) == 0
    assert read_result(capsys.readouterr().out) == expected_rows()


def test_a_fractional_id_is_refused_by_both_loaders(files, tmp_path, capsys):
    weights, _ = files

    def fraction(row):
        if row[0] == "3":
            row[1] = "100.5"

    code = score(_csv(tmp_path, fraction), weights)
    one_error_line(capsys, code, "line 4", "'nominal_id'", "whole number")
    ids = [float(e.nominal_id) for e in EVENTS]
    ids[2] = 100.5
    code = score(_parquet(tmp_path, nominal_id=ids), weights)
    one_error_line(capsys, code, "row 3", "'nominal_id'", "whole number")


@pytest.mark.parametrize("time", [" 00:00:00", "T00:00", " 00:00:00.000", "T00:00:00"])
def test_dates_with_a_midnight_time_are_taken_by_both_loaders(files, tmp_path, capsys, time):
    weights, _ = files

    def with_time(row):
        row[4] += time

    assert score(_csv(tmp_path, with_time), weights) == 0
    assert read_result(capsys.readouterr().out) == expected_rows()
    for unit in ("s", "ms", "us", "ns"):
        stamps = pa.array(
            [datetime.datetime.combine(e.date, datetime.time()) for e in EVENTS],
            pa.timestamp(unit),
        )
        assert score(_parquet(tmp_path, date=stamps), weights) == 0
        assert read_result(capsys.readouterr().out) == expected_rows()


def test_a_time_of_day_is_refused_by_both_loaders_not_dropped(files, tmp_path, capsys):
    weights, _ = files

    def afternoon(row):
        if row[0] == "5":
            row[4] += " 13:45:00"

    code = score(_csv(tmp_path, afternoon), weights)
    one_error_line(capsys, code, "line 6", "'date'", "time of day")
    stamps = [datetime.datetime.combine(e.date, datetime.time()) for e in EVENTS]
    stamps[4] = stamps[4].replace(hour=13, minute=45)
    code = score(_parquet(tmp_path, date=pa.array(stamps, pa.timestamp("us"))), weights)
    one_error_line(capsys, code, "row 5", "'date'", "time of day")


def test_a_timestamp_with_a_time_zone_is_refused(files, tmp_path, capsys):
    weights, _ = files
    stamps = [datetime.datetime.combine(e.date, datetime.time()) for e in EVENTS]
    code = score(_parquet(tmp_path, date=pa.array(stamps, pa.timestamp("s", tz="UTC"))), weights)
    one_error_line(capsys, code, "'date'", "time zone")


def test_a_time_of_day_in_a_numpy_array_is_refused(weights):
    engine = Engine(weights, datetime.date(2024, 2, 29))
    batch = {
        "event_id": np.array([1]),
        "nominal_id": np.array([1]),
        "dataset": ["arrest"],
        "offence": [weights.offences[0]],
        "date": np.array(["2024-01-01T10:00"], dtype="datetime64[m]"),
    }
    with pytest.raises(iomscore.EventError, match="time of day"):
        engine.ingest(batch)
    batch["date"] = np.array(["2024-01-01T00:00"], dtype="datetime64[m]")
    assert engine.ingest(batch).taken == 1


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2025-02-29", "2025-02 has no day 29"),
        ("2024-04-31", "2024-04 has no day 31"),
        ("2024-13-01", "no month 13"),
    ],
)
def test_a_date_that_does_not_exist_is_reported_as_such(files, tmp_path, capsys, text, words):
    weights, _ = files

    def bad_day(row):
        if row[0] == "2":
            row[4] = text

    code = score(_csv(tmp_path, bad_day), weights)
    line = one_error_line(capsys, code, "line 3", "'date'", words)
    assert "not in the form" not in line


# ------------------------------------------------------------------------- repair codes

DAMAGED = {"1": "2801", "10": "28.01", "11": "28.1", "12": "2801"}


def _damaged(tmp_path) -> Path:
    def damage(row):
        row[3] = DAMAGED.get(row[0], row[3])

    return _csv(tmp_path, damage)


def test_a_damaged_code_says_what_was_probably_meant(files, tmp_path, capsys):
    weights, _ = files
    code = score(_damaged(tmp_path), weights)
    one_error_line(
        capsys, code, "line 2", "'offence'", "'2801'", "probably 028/01", "--repair-codes"
    )


def test_repair_codes_repairs_and_reports_each_with_its_count(files, tmp_path, capsys):
    weights, _ = files
    assert score(_damaged(tmp_path), weights, "--repair-codes") == 0
    captured = capsys.readouterr()
    assert read_result(captured.out) == expected_rows()
    assert "'2801' -> 028/01 (2 rows)" in captured.err
    assert "'28.01' -> 028/01 (1 rows)" in captured.err
    assert "'28.1' -> 028/01 (1 rows)" in captured.err


def test_repair_codes_refuses_a_value_that_could_be_two_codes(files, tmp_path, capsys):
    _, _ = files
    weights = tmp_path / "two.csv"
    weights.write_text(WEIGHTS_TEXT + "028/10,Another burglary,10,10,10\n", encoding="utf-8")
    code = score(_damaged(tmp_path), weights, "--repair-codes")
    one_error_line(capsys, code, "line 12", "'offence'", "028/01 or 028/10", "does not guess")


def test_repair_codes_leaves_good_files_alone(files, capsys):
    weights, events = files
    assert score(events, weights, "--repair-codes") == 0
    captured = capsys.readouterr()
    assert read_result(captured.out) == expected_rows()
    assert "no offence code needed repair" in captured.err


# ------------------------------------------------------------------------- provenance


def _check_provenance(meta: dict, events: Path, weights_sha: str) -> None:
    assert meta["iomscore_version"] == iomscore.__version__
    assert meta["as_of"] == "2024-02-29"
    assert meta["window_years"] == 2
    assert meta["weights"]["name"] == "cli-test"
    assert meta["weights"]["sha256"] == weights_sha
    assert meta["input"]["file"] == events.name
    assert meta["input"]["sha256"] == hashlib.sha256(events.read_bytes()).hexdigest()
    assert list(meta["thresholds_points"]) == ["LOW", "MEDIUM", "HIGH"]
    counts = meta["counts"]
    assert counts["events_read"] == len(EVENTS)
    assert counts["nominals_scored"] == len(expected_rows())
    assert sum(counts["bands"].values()) == len(expected_rows())


def test_csv_output_gets_a_provenance_sidecar(files, tmp_path, capsys):
    weights, events = files
    out = tmp_path / "scores.csv"
    assert score(events, weights, "--out", str(out)) == 0
    assert read_result(out.read_text(encoding="utf-8")) == expected_rows()
    meta = json.loads(Path(str(out) + ".meta.json").read_text(encoding="utf-8"))
    _check_provenance(meta, events, iomscore.Weights.load(weights).sha256)
    assert meta["input"]["encoding"] == "utf-8"


def test_score_writes_parquet_with_provenance_in_its_metadata(files, tmp_path, capsys):
    weights, events = files
    out = tmp_path / "scores.parquet"
    assert score(events, weights, "--out", str(out)) == 0
    table = pq.read_table(out)
    rows = list(
        zip(
            table.column("nominal_id").to_pylist(),
            table.column("score").to_pylist(),
            table.column("band").to_pylist(),
            strict=True,
        )
    )
    assert rows == expected_rows()
    from iomscore.provenance import read_parquet_metadata  # new in 0.2.0

    _check_provenance(read_parquet_metadata(out), events, iomscore.Weights.load(weights).sha256)
    assert not Path(str(out) + ".meta.json").exists()


def test_repairs_are_recorded_in_the_provenance(files, tmp_path, capsys):
    weights, _ = files
    out = tmp_path / "scores.csv"
    assert score(_damaged(tmp_path), weights, "--repair-codes", "--out", str(out)) == 0
    meta = json.loads(Path(str(out) + ".meta.json").read_text(encoding="utf-8"))
    assert {"text": "2801", "code": "028/01", "rows": 2} in meta["offence_repairs"]


# ------------------------------------------------------------------------- help


def _all_parsers(parser: argparse.ArgumentParser, name: str = "iomscore"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _all_parsers(sub, f"{name} {sub_name}")


def test_every_option_and_argument_has_help():
    missing = [
        f"{name}: {action.dest}"
        for name, parser in _all_parsers(cli._parser())
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction) and not action.help
    ]
    assert missing == []


def test_replay_help_says_the_days_are_inclusive_and_earlier_events_set_the_state(capsys):
    with pytest.raises(SystemExit):
        main(["replay", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "both inclusive" in text
    assert "before --from set the starting state" in text


def test_retract_report_shows_the_unknown_ids():
    report = RetractReport(3, np.array([17, 42]), BandChanges.empty())
    assert str(report) == "3 events retracted; 2 ids not held: 17, 42; 0 band changes"
    many = RetractReport(0, np.arange(100, 125), BandChanges.empty())
    assert "25 ids not held: 100, 101," in str(many) and "119 and 5 more" in str(many)


# ------------------------------------------------------------------------- progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("tty", "quiet"), [(True, False), (True, True), (False, False)])
def test_progress_only_on_a_terminal_and_not_with_quiet(files, tmp_path, monkeypatch, tty, quiet):
    from iomscore import progress  # new in 0.2.0

    weights, events = files
    monkeypatch.setattr(progress, "DELAY_SECONDS", 0.0)  # as if the run were long
    stream = Terminal() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    out = tmp_path / "s.csv"
    extra = ["--quiet"] if quiet else []
    assert score(events, weights, "--out", str(out), *extra) == 0
    text = stream.getvalue()
    shown = "stages" in text and "\r" in text
    assert shown == (tty and not quiet), text
    if shown:
        for stage in ("read", "check", "score", "write"):
            assert f"iomscore: {stage}" in text


def test_no_progress_on_a_short_run_even_on_a_terminal(files, tmp_path, monkeypatch):
    weights, events = files
    stream = Terminal()
    monkeypatch.setattr(sys, "stderr", stream)
    assert score(events, weights, "--out", str(tmp_path / "s.csv")) == 0
    assert "stages" not in stream.getvalue()


# ------------------------------------------------------------------------- platform


def test_setup_refuses_a_platform_without_posix_with_a_clear_message():
    script = (
        "import os, runpy, sys\n"
        "os.name = 'nt'\n"  # setup.py checks the platform before importing its build tools
        "sys.argv = ['setup.py', '--version']\n"
        "runpy.run_path('setup.py')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert "POSIX system (Linux or macOS)" in run.stderr
