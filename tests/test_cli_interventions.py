"""``iomscore db interventions``, ``end-intervention``, ``retract-interventions`` and
``list-interventions`` end to end on a small directory, and ``--user`` / ``--reason``
reaching the audit log from every ``db`` command that changes the directory.

What a command leaves is checked against the engine itself: the directory opened
with :meth:`~iomscore.Engine.open` (read-only), or an in-memory engine given the
same rows.
"""

from __future__ import annotations

import csv
import datetime
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli_calls import fails, ok
from test_cli import AS_OF, write_files

from iomscore import Engine, Weights, synth
from iomscore.cli import LISTED_COLUMNS, _parser

D = datetime.date
HEADER = "intervention_id,nominal_id,kind,start,end,lead_agency\n"
ROWS = (
    "1,100,mentoring,2023-05-01,,probation\n"
    "2,100,drug_treatment_dip,2023-06-01,2023-09-30,health\n"
    '3,200,"accommodation_support",2024-01-10,,Local_Authority\n'
    "4,100,gps_tagging_voluntary,2023-06-01,,police\n"
)


@pytest.fixture
def files(tmp_path):
    return write_files(tmp_path)


@pytest.fixture
def db(files, tmp_path, capsys):
    """A directory at test_cli's AS_OF, its table and events, and no interventions."""
    weights, events = files
    folder = tmp_path / "engine"
    ok(capsys, "db", "init", folder, "--as-of", AS_OF, "--weights", weights)
    ok(capsys, "db", "ingest", folder, events)
    return folder


@pytest.fixture
def recorded(db, tmp_path, capsys):
    """The directory with ROWS recorded."""
    path = tmp_path / "interventions.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    ok(capsys, "db", "interventions", db, path)
    return db


def held(folder, nominal, active_on=None):
    with Engine.open(folder, readonly=True) as engine:
        return engine.interventions(nominal, active_on=active_on).rows()


def listed(capsys, folder, *options):
    out, err = ok(capsys, "db", "list-interventions", folder, *options)
    return list(csv.reader(io.StringIO(out))), err


def audit(folder):
    with Engine.open(folder, readonly=True) as engine:
        return [(e.operation, e.user_id, e.reason) for e in engine.audit()]


# -------------------------------------------------------------------------- db interventions
def test_a_file_is_recorded_whole(db, tmp_path, capsys):
    path = tmp_path / "interventions.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    _, err = ok(capsys, "db", "interventions", db, path, "--user", "om-7", "--reason", "import")
    assert err.splitlines()[0] == f"4 interventions recorded from {path}"
    assert held(db, 100) == [
        (1, 100, "mentoring", D(2023, 5, 1), None, "probation"),
        (2, 100, "drug_treatment_dip", D(2023, 6, 1), D(2023, 9, 30), "health"),
        (4, 100, "gps_tagging_voluntary", D(2023, 6, 1), None, "police"),
    ]
    assert held(db, 200) == [
        (3, 200, "accommodation_support", D(2024, 1, 10), None, "local_authority")
    ]
    assert audit(db)[-1] == ("record_interventions", "om-7", "import")


def test_parquet_and_extra_columns_are_read(db, tmp_path, capsys):
    path = tmp_path / "interventions.parquet"
    table = pa.table(
        {
            "note": ["x", "y"],
            "intervention_id": pa.array([7, 8], pa.int64()),
            "nominal_id": pa.array([300, 300], pa.int64()),
            "kind": ["mentoring", "family_support"],
            "start": pa.array([D(2023, 1, 1), D(2023, 2, 1)], pa.date32()),
            "end": pa.array([None, D(2023, 3, 1)], pa.date32()),
            "lead_agency": ["voluntary_sector", "local_authority"],
        }
    )
    pq.write_table(table, path)
    ok(capsys, "db", "interventions", db, path)
    assert [r[0] for r in held(db, 300)] == [7, 8]
    assert held(db, 300)[1][4] == D(2023, 3, 1)
    bad = tmp_path / "bad.parquet"
    pq.write_table(table.set_column(4, "start", pa.array(["2023-01-01", "soon"])), bad)
    err = fails(capsys, "db", "interventions", db, bad)
    assert "bad.parquet row 2, field 'start'" in err


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        ("9,100,juggling,2023-01-01,,police", "kind", "unknown intervention kind 'juggling'"),
        ("9,100,mentoring,2023-01-01,,court", "lead_agency", "unknown lead agency 'court'"),
        ("9,100,mentoring,2023-02-01,2023-01-31,police", "end", "before its start"),
        ("9,100,mentoring,01/02/2023,,police", "start", "YYYY-MM-DD"),
        ("x,100,mentoring,2023-01-01,,police", "intervention_id", "intervention_id"),
        ("1,100,mentoring,2023-01-01,,police", "intervention_id", "repeats"),
    ],
    ids=["kind", "agency", "end before start", "start", "id", "repeat"],
)
def test_a_bad_line_names_the_file_line_and_field(db, tmp_path, capsys, line, field, words):
    path = tmp_path / "interventions.csv"
    # a blank line and a quoted end date over two lines: the fault is on line 6 of the file
    path.write_text(
        HEADER + "1,100,mentoring,2023-05-01,,probation\n\n"
        '2,"100",drug_treatment_dip,2023-06-01,"2023-09-30\n",health\n' + line + "\n",
        encoding="utf-8",
    )
    err = fails(capsys, "db", "interventions", db, path)
    assert f"interventions.csv line 6, field '{field}'" in err and words in err
    assert held(db, 100) == []  # nothing of the file is taken


def test_an_id_already_recorded_names_its_line(recorded, tmp_path, capsys):
    path = tmp_path / "more.csv"
    path.write_text(HEADER + "5,100,mentoring,2023-01-01,,police\n" + ROWS, encoding="utf-8")
    err = fails(capsys, "db", "interventions", recorded, path)
    assert "more.csv line 3, field 'intervention_id': intervention 1 is already" in err
    assert [r[0] for r in held(recorded, 100)] == [1, 2, 4]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty file"),
        ("intervention_id,nominal_id,kind,start,lead_agency\n", "missing column 'end'"),
        (HEADER.rstrip() + ",kind\n", "the column 'kind' appears 2 times"),
        (HEADER + "1,100,mentoring,2023-05-01,probation\n", "line 2: 5 fields where"),
        (HEADER + '1,100,"mentoring,2023-05-01,,probation\n', "line 2: malformed CSV"),
        (HEADER.encode() + b"1,100,mentoring\xff,2023-05-01,,probation\n", "byte 0xff"),
    ],
    ids=["empty", "missing", "repeated", "short", "quote", "bytes"],
)
def test_a_bad_file_is_refused(db, tmp_path, capsys, text, words):
    path = tmp_path / "interventions.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    assert words in fails(capsys, "db", "interventions", db, path)
    assert words in fails(capsys, "db", "interventions", db, path)  # and again: nothing taken


def test_a_missing_file_and_other_encodings(db, tmp_path, capsys):
    assert "no such interventions file" in fails(
        capsys, "db", "interventions", db, tmp_path / "none.csv"
    )
    path = tmp_path / "cp1252.csv"
    path.write_bytes(HEADER.encode() + "1,100,mentoring,2023-05-01,,probation\n".encode("cp1252"))
    ok(capsys, "db", "interventions", db, path, "--encoding", "cp1252")
    assert len(held(db, 100)) == 1


def test_a_header_only_file_records_nothing(db, tmp_path, capsys):
    path = tmp_path / "interventions.csv"
    path.write_text(HEADER, encoding="utf-8")
    _, err = ok(capsys, "db", "interventions", db, path)
    assert err.startswith("0 interventions recorded")


# ------------------------------------------------------------------ end, retract, list
def test_end_intervention(recorded, capsys):
    argv = ("db", "end-intervention", recorded, "--id", 1, "--end", "2023-12-31")
    _, err = ok(capsys, *argv, "--user", "om-2", "--reason", "completed")
    assert err.splitlines()[0] == "intervention 1 ended on 2023-12-31"
    assert held(recorded, 100)[0][4] == D(2023, 12, 31)
    assert audit(recorded)[-1] == ("end_intervention", "om-2", "completed")
    assert "ended already, on 2023-12-31" in fails(capsys, *argv)
    assert "not recorded" in fails(capsys, *argv[:4], 99, "--end", "2023-12-31")
    assert "before its start" in fails(capsys, *argv[:4], 4, "--end", "2023-01-01")
    err = fails(capsys, *argv[:4], 4, "--end", "2023-02-30")
    assert err.startswith("iomscore: error: --end:")
    for number in (-1, 2**63):
        err = fails(capsys, *argv[:4], number, "--end", "2023-12-31")
        assert err.startswith("iomscore: error: --id must be from 0 to 2**63 - 1")


def test_retract_interventions(recorded, tmp_path, capsys):
    ids = tmp_path / "ids.txt"
    ids.write_text("intervention_id\n3\n\n77\n", encoding="utf-8")
    argv = ("db", "retract-interventions", recorded, ids)
    _, err = ok(capsys, *argv, "--reason", "entered twice")
    assert err.startswith(f"2 ids read from {ids}: 1 interventions retracted; 1 ids not held: 77")
    assert held(recorded, 200) == []
    assert len(held(recorded, 100)) == 3
    assert audit(recorded)[-1] == ("retract_interventions", None, "entered twice")
    ids.write_text("4\nfour\n", encoding="utf-8")
    err = fails(capsys, *argv)
    assert "ids.txt line 2: 'four' is not an intervention id" in err
    assert len(held(recorded, 100)) == 3


@pytest.mark.parametrize("active_on", [None, "2023-06-01", "2023-10-01", "2023-04-30"])
def test_list_interventions_is_what_the_engine_holds(recorded, capsys, active_on):
    options = ["--nominal", 100] + ([] if active_on is None else ["--active-on", active_on])
    rows, err = listed(capsys, recorded, *options)
    with Engine.open(recorded, readonly=True) as engine:
        table = engine.interventions(100, active_on=active_on)
    assert rows[0] == list(LISTED_COLUMNS)
    expected = [
        [str(i), str(n), kind, text, start.isoformat(), "" if end is None else end.isoformat(), a]
        for (i, n, kind, start, end, a), text in zip(table.rows(), table.description, strict=True)
    ]
    assert rows[1:] == expected
    assert err.startswith(f"nominal 100: {len(table)} interventions")
    if active_on == "2023-10-01":
        assert [r[0] for r in rows[1:]] == ["1", "4"]  # 2 ended on 2023-09-30
    if active_on == "2023-04-30":
        assert rows[1:] == []


def test_list_interventions_to_a_file_with_descriptions_quoted(recorded, tmp_path, capsys):
    out = tmp_path / "list.csv"
    assert ok(capsys, "db", "list-interventions", recorded, "--nominal", 100, "--out", out)[0] == ""
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["intervention_id"] for r in rows] == ["1", "2", "4"]
    assert rows[1]["description"].startswith("Drug treatment through the Drug Interventions")
    assert "," in rows[1]["description"] and rows[0]["end"] == ""
    assert listed(capsys, recorded, "--nominal", 999)[0] == [list(LISTED_COLUMNS)]
    err = fails(capsys, "db", "list-interventions", recorded, "--nominal", 2**63)
    assert "--nominal must be from 0 to 2**63 - 1" in err
    err = fails(
        capsys, "db", "list-interventions", recorded, "--nominal", 1, "--out", recorded / "x"
    )
    assert "inside the engine directory" in err


def test_listing_opens_the_directory_read_only(recorded, capsys):
    with Engine.open(recorded) as writer:  # a writer holds the directory: a reader still reads
        writer.end_intervention(4, "2023-07-01")
        rows, _ = listed(capsys, recorded, "--nominal", 100, "--active-on", "2023-08-01")
    assert [r[0] for r in rows[1:]] == ["1", "2"]


# ------------------------------------------------------------------------- --user --reason
def test_every_changing_db_command_passes_user_and_reason(files, tmp_path, capsys):
    weights, events = files
    folder = tmp_path / "engine"
    ok(capsys, "db", "init", folder, "--as-of", AS_OF, "--weights", weights)
    ids = tmp_path / "ids.txt"
    ids.write_text("1\n", encoding="utf-8")
    table = tmp_path / "doubled.csv"
    table.write_text(weights.read_text(encoding="utf-8").replace(",250,", ",260,"), "utf-8")
    steps = [
        ("ingest", ["db", "ingest", folder, events]),
        ("retract", ["db", "retract", folder, ids]),
        ("advance", ["db", "advance", folder, "--to", "2024-03-01"]),
        ("reweight", ["db", "reweight", folder, table]),
    ]
    for number, (_, argv) in enumerate(steps):
        ok(capsys, *argv, "--user", f"u{number}", "--reason", f"why {number}")
    entries = audit(folder)
    assert entries[1:] == [(op, f"u{n}", f"why {n}") for n, (op, _) in enumerate(steps)]
    ok(capsys, "db", "advance", folder, "--to", "2024-03-02")
    assert audit(folder)[-1] == ("advance", None, None)


def test_every_intervention_command_has_help_and_the_readme_lists_it():
    parser = _parser()
    commands = next(a for a in parser._actions if a.choices and "db" in a.choices)
    sub = next(a for a in commands.choices["db"]._actions if a.choices)
    names = ("interventions", "end-intervention", "retract-interventions", "list-interventions")
    for name in names:
        for action in sub.choices[name]._actions:
            assert action.help, (name, action.option_strings or action.dest)
    for name in ("ingest", "retract", "advance", "reweight", *names[:3]):
        options = {o for a in sub.choices[name]._actions for o in a.option_strings}
        assert {"--user", "--reason"} <= options, name
    from pathlib import Path

    text = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = text.split("## The command line", 1)[1].split("```", 2)[1]
    for name in names:
        assert f"iomscore db {name} DIR" in block


# ------------------------------------------------------------------- synthetic interventions
def test_synthetic_interventions_go_through_the_command(tmp_path, capsys):
    cohort = synth.cohort(300, 2_000, seed=3)
    columns = synth.interventions(cohort, seed=3)
    path = tmp_path / "synthetic.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in zip(*(columns[name].tolist() for name in columns), strict=True):
            writer.writerow(["" if v is None else v for v in row])
    folder = tmp_path / "engine"
    ok(capsys, "db", "init", folder, "--as-of", cohort.as_of)
    _, err = ok(capsys, "db", "interventions", folder, path)
    assert err.startswith(f"{len(columns['intervention_id'])} interventions recorded")
    memory = Engine(Weights.default(), cohort.as_of)
    memory.record_interventions(columns)
    nominal = int(columns["nominal_id"][0])
    assert held(folder, nominal) == memory.interventions(nominal).rows()
