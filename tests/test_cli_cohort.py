"""The IOM cohort from the command line: ``iomscore db init --areas --selection-band``,
``db owners``, ``db decide``, ``db selection`` (and ``--candidates``), ``--area`` on
``db scores`` and ``forecast --db``, and the areas in ``db info``.

What a command leaves or writes is checked against the engine itself: the directory
opened with :meth:`~iomscore.Engine.open` (read-only).
"""

from __future__ import annotations

import csv
import datetime
import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli_calls import fails, ok
from test_cli import AS_OF, read_result, write_files

from iomscore import Engine, synth
from iomscore.cli import SELECTION_COLUMNS, _parser, main
from iomscore.cohort import DEFAULT_AREAS, UNOWNED

D = datetime.date
# test_cli's events at AS_OF (2024-02-29): 600 HIGH (1000), 100 MEDIUM (750), 500 LOW (250),
# 200 and 400 unbanded
OWNERS = (
    "nominal_id,area,from_date\n"
    "100,Coventry,2022-01-01\n"
    "600,Coventry,2022-01-01\n"
    "500,walsall,2022-01-01\n"
    "600,Dudley,2023-12-01\n"  # a transfer
    "200,Dudley,2022-01-01\n"
)
DECISIONS_HEADER = "nominal_id,date,action,meeting_id,lead_agency,tier,reason,note\n"
DECISIONS = (
    "600,2023-10-10,select,odoc-2023-10,police,1,,\n"
    "100,2023-11-14,select,odoc-2023-11,probation,,,\n"
    "100,2024-01-09,deselect,odoc-2024-01,,,other,managed under MAPPA instead\n"
    "500,2024-02-13,select,odoc-2024-02,youth_offending_service,3,,\n"
)


@pytest.fixture
def db(tmp_path, capsys):
    """A directory at test_cli's AS_OF holding its events, and no owners or decisions."""
    weights, events = write_files(tmp_path)
    folder = tmp_path / "engine"
    ok(capsys, "db", "init", folder, "--as-of", AS_OF, "--weights", weights)
    ok(capsys, "db", "ingest", folder, events)
    return folder


@pytest.fixture
def cohort(db, tmp_path, capsys):
    """The directory with OWNERS and DECISIONS recorded."""
    owners = tmp_path / "owners.csv"
    owners.write_text(OWNERS, encoding="utf-8")
    decisions = tmp_path / "decisions.csv"
    decisions.write_text(DECISIONS_HEADER + DECISIONS, encoding="utf-8")
    ok(capsys, "db", "owners", db, owners)
    ok(capsys, "db", "decide", db, decisions)
    return db


def opened(folder):
    return Engine.open(folder, readonly=True)


def audit(folder):
    with opened(folder) as engine:
        return [(e.operation, e.user_id, e.reason) for e in engine.audit()]


def expected_rows(table):
    """A SelectionTable as ``db selection`` writes it (text, empty for None)."""
    columns = (
        table.nominal_id.tolist(),
        table.score.tolist(),
        table.band,
        table.area,
        table.strand,
        table.strand_set_by,
        [None if d is None else d.isoformat() for d in table.selected_on],
        table.meeting_id,
        table.lead_agency,
        table.tier,
    )
    return [["" if v is None else str(v) for v in row] for row in zip(*columns, strict=True)]


def selection(capsys, folder, *options):
    out, err = ok(capsys, "db", "selection", folder, *options)
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == list(SELECTION_COLUMNS)
    return rows[1:], err


# ----------------------------------------------------------------- owners, decide, selection
def test_owners_decide_and_selection_round_trip(db, tmp_path, capsys):
    owners = tmp_path / "owners.csv"
    owners.write_text(OWNERS, encoding="utf-8")
    _, err = ok(capsys, "db", "owners", db, owners, "--user", "om-1", "--reason", "import")
    assert err.splitlines()[0] == f"5 ownership records recorded from {owners}"
    decisions = tmp_path / "decisions.csv"
    decisions.write_text(DECISIONS_HEADER + DECISIONS, encoding="utf-8")
    _, err = ok(capsys, "db", "decide", db, decisions, "--user", "odoc", "--reason", "minutes")
    assert err.splitlines()[0] == (
        f"4 decisions recorded from {decisions}: 3 selections, 1 de-selections; "
        f"2 nominals selected at {AS_OF}"
    )
    assert audit(db)[-2:] == [("record_owners", "om-1", "import"), ("decide", "odoc", "minutes")]
    # a checkpoint, then every read from a fresh open: the cohort survives
    ok(capsys, "db", "checkpoint", db)
    with opened(db) as engine:
        assert engine.ownership(600) == [(D(2022, 1, 1), "Coventry"), (D(2023, 12, 1), "Dudley")]
        assert engine.owner(500) == "Walsall"
        assert engine.transfers("2023-01-01") == [(600, D(2023, 12, 1), "Coventry", "Dudley")]
        assert [(d.nominal_id, d.action) for d in engine.decisions()] == [
            (600, "select"),
            (100, "select"),
            (100, "deselect"),
            (500, "select"),
        ]
        assert engine.decisions(100)[1].note == "managed under MAPPA instead"
        table = engine.selection()
    rows, err = selection(capsys, db)
    assert rows == expected_rows(table)
    selected, youth = (
        ("2023-10-10", "odoc-2023-10", "police", "1"),
        ("youth_offending_service", "3"),
    )
    assert rows == [
        ["600", "1000", "HIGH", "Dudley", "fixed", "events", *selected],
        ["500", "250", "LOW", "Walsall", "fixed", "events", "2024-02-13", "odoc-2024-02", *youth],
    ]
    assert err == f"2 nominals selected at {AS_OF}: HIGH 1, LOW 1\n"


def test_selection_on_a_past_date_and_to_a_file(cohort, tmp_path, capsys):
    rows, _ = selection(capsys, cohort, "--as-of", "2023-12-01")
    with opened(cohort) as engine:
        table = engine.selection(D(2023, 12, 1))
    assert rows == expected_rows(table)
    assert [r[0] for r in rows] == ["100", "600"]  # 100 selected then, de-selected later
    assert [r[1] for r in rows] == ["500", "500"]  # scored on that date: a tie, by id
    assert rows[1][3] == "Dudley"  # its owner from that very day
    out = tmp_path / "selected.csv"
    assert ok(capsys, "db", "selection", cohort, "--out", out)[0] == ""
    with open(out, newline="", encoding="utf-8") as handle:
        assert [r["nominal_id"] for r in csv.DictReader(handle)] == ["600", "500"]


@pytest.mark.parametrize("area", ["Coventry", "dudley", "Walsall", UNOWNED, "Solihull"])
def test_the_area_filters_are_the_engines(cohort, capsys, area):
    with opened(cohort) as engine:
        scores = engine.scores(area=area).rows()
        falls = engine.forecast(area=area)
        chosen = engine.selection(area=area)
        candidates = engine.candidates(area=area)
    out, err = ok(capsys, "db", "scores", cohort, "--area", area)
    assert read_result(out) == scores
    assert "area: the nominals" in err
    out, _ = ok(capsys, "forecast", "--db", cohort, "--area", area)
    expected = io.StringIO()
    falls.write_csv(expected)
    assert out == expected.getvalue()
    assert selection(capsys, cohort, "--area", area)[0] == expected_rows(chosen)
    assert selection(capsys, cohort, "--area", area, "--candidates")[0] == expected_rows(candidates)


def test_the_area_filters_split_the_scores(cohort, capsys):
    everyone = read_result(ok(capsys, "db", "scores", cohort)[0])
    parts = [
        read_result(ok(capsys, "db", "scores", cohort, "--area", area)[0])
        for area in (*DEFAULT_AREAS, UNOWNED)
    ]
    assert sorted(row for part in parts for row in part) == sorted(everyone)
    assert [r[0] for r in parts[DEFAULT_AREAS.index("Coventry")]] == [100]  # 600 moved away
    assert [r[0] for r in parts[-1]] == [400]  # no owner


def test_candidates(cohort, capsys):
    rows, err = selection(capsys, cohort, "--candidates")
    with opened(cohort) as engine:
        table = engine.candidates()
    assert rows == expected_rows(table)
    # 100 (MEDIUM) was de-selected: a candidate again, with empty selection fields
    assert rows == [["100", "750", "MEDIUM", "Coventry", "fixed", "events", "", "", "", ""]]
    assert err == f"1 candidates (not selected, LOW or above) at {AS_OF}: MEDIUM 1\n"
    assert selection(capsys, cohort, "--candidates", "--strand", "flex")[0] == []
    assert selection(capsys, cohort, "--candidates", "--as-of", AS_OF)[0] == rows


def test_a_strand_set_by_a_decision(cohort, tmp_path, capsys):
    path = tmp_path / "more.csv"
    path.write_text(
        "nominal_id,date,action,meeting_id,lead_agency,strand,strand_reason\n"
        "100,2024-02-13,select,odoc-2024-02,police,free,partners' choice\n",
        encoding="utf-8",
    )
    ok(capsys, "db", "decide", cohort, path)
    rows, _ = selection(capsys, cohort, "--strand", "free")
    assert [(r[0], r[4], r[5]) for r in rows] == [("100", "free", "decision")]
    assert [r[0] for r in selection(capsys, cohort, "--strand", "fixed")[0]] == ["600", "500"]


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        ("300,Atlantis,2023-01-01", "area", "unknown area 'Atlantis'"),
        ("300,Coventry,2023-02-30", "from_date", "from_date"),
        ("x,Coventry,2023-01-01", "nominal_id", "nominal_id"),
        ("100,Dudley,2022-01-01", "from_date", "twice"),
    ],
    ids=["area", "date", "id", "twice"],
)
def test_a_bad_owner_line_names_the_file_line_and_field(db, tmp_path, capsys, line, field, words):
    path = tmp_path / "owners.csv"
    # a blank line: the fault is on line 5 of the file
    path.write_text(
        "nominal_id,area,from_date\n100,Coventry,2022-01-01\n\n400,Sandwell,2022-01-01\n"
        + line
        + "\n",
        encoding="utf-8",
    )
    err = fails(capsys, "db", "owners", db, path)
    assert f"owners.csv line 5, field '{field}'" in err and words in err
    with opened(db) as engine:  # nothing of the file is taken
        assert engine.ownership(100) == [] and engine.ownership(400) == []


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        ("400,2024-02-20,deselect,m,,,deceased,", "action", "nominal 400 is not selected"),
        ("600,2024-02-20,select,m,police,,,", "action", "nominal 600 is selected already"),
        ("500,2024-02-01,deselect,m,,,deceased,", "date", "before nominal 500's last decision"),
        ("500,2024-02-20,deselect,m,,,other,", "note", "needs a note"),
        ("500,2024-02-20,deselect,m,,,bored,", "reason", "'bored'"),
        ("400,2024-02-20,select,m,,,,", "lead_agency", "needs a lead agency"),
        ("400,2024-03-01,select,m,police,,,", "date", "after as_of"),
        ("400,2024-02-20,pick,m,police,,,", "action", "'pick'"),
    ],
    ids=["not selected", "selected", "before", "note", "reason", "agency", "future", "action"],
)
def test_a_bad_decision_names_the_file_line_and_field(cohort, tmp_path, capsys, line, field, words):
    with opened(cohort) as engine:
        before = engine.decisions()
    path = tmp_path / "more.csv"
    # a good decision first, then (after a blank line) the bad one on line 4
    path.write_text(
        DECISIONS_HEADER + "200,2024-02-20,select,m,police,,,\n\n" + line + "\n", encoding="utf-8"
    )
    err = fails(capsys, "db", "decide", cohort, path)
    assert f"more.csv line 4, field '{field}'" in err and words in err
    with opened(cohort) as engine:
        assert engine.decisions() == before  # nothing of the file is taken


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty file"),
        ("nominal_id,date,action\n", "missing column 'meeting_id'"),
        (DECISIONS_HEADER.rstrip() + ",note\n", "the column 'note' appears 2 times"),
        (DECISIONS_HEADER + "1,2024-01-01,select\n", "line 2: 3 fields where"),
    ],
    ids=["empty", "missing", "repeated optional", "short"],
)
def test_a_bad_decisions_file_is_refused(db, tmp_path, capsys, text, words):
    path = tmp_path / "decisions.csv"
    path.write_text(text, encoding="utf-8")
    assert words in fails(capsys, "db", "decide", db, path)
    assert "no such decisions file" in fails(capsys, "db", "decide", db, tmp_path / "none.csv")
    assert "no such ownership file" in fails(capsys, "db", "owners", db, tmp_path / "none.csv")


def test_parquet_files_with_only_the_columns_needed(db, tmp_path, capsys):
    owners = tmp_path / "owners.parquet"
    pq.write_table(
        pa.table(
            {
                "area": ["Solihull", "Sandwell"],
                "nominal_id": pa.array([100, 600], pa.int64()),
                "from_date": pa.array([D(2022, 1, 1), D(2022, 1, 1)], pa.date32()),
            }
        ),
        owners,
    )
    ok(capsys, "db", "owners", db, owners)
    decisions = tmp_path / "decisions.parquet"
    table = pa.table(
        {
            "nominal_id": pa.array([100, 100], pa.int64()),
            "date": pa.array([D(2024, 1, 9), D(2024, 2, 13)], pa.date32()),
            "action": ["select", "deselect"],
            "meeting_id": ["odoc-2024-01", "odoc-2024-02"],
            "lead_agency": ["probation", None],
            "reason": [None, "long_custodial_sentence"],
        }
    )
    pq.write_table(table, decisions)
    ok(capsys, "db", "decide", db, decisions)
    with opened(db) as engine:
        assert engine.owner(600) == "Sandwell"
        assert [d.reason for d in engine.decisions(100)] == [None, "long_custodial_sentence"]
    rows, _ = selection(capsys, db, "--as-of", "2024-01-31")
    assert [r[:4] for r in rows] == [["100", "500", "MEDIUM", "Solihull"]]
    bad = tmp_path / "bad.parquet"
    again = table.set_column(0, "nominal_id", pa.array([600, 600], pa.int64()))
    again = again.set_column(2, "action", pa.array(["select", "select"]))
    again = again.set_column(4, "lead_agency", pa.array(["police", "police"]))
    pq.write_table(again.drop_columns(["reason"]), bad)
    err = fails(capsys, "db", "decide", db, bad)
    assert "bad.parquet row 2, field 'action': nominal 600 is selected already" in err
    with opened(db) as engine:
        assert engine.decisions(600) == []


def test_option_errors(cohort, tmp_path, capsys):
    err = fails(capsys, "db", "selection", cohort, "--area", "Atlantis")
    assert "--area 'Atlantis': not an area of" in err and "Birmingham" in err
    assert "--area 'Atlantis'" in fails(capsys, "db", "scores", cohort, "--area", "Atlantis")
    assert "--area 'x'" in fails(capsys, "forecast", "--db", cohort, "--area", "x")
    _, events = write_files(tmp_path)
    err = fails(capsys, "forecast", events, "--as-of", AS_OF, "--area", "Coventry")
    assert "--area Coventry: only with --db DIR" in err
    err = fails(capsys, "db", "selection", cohort, "--as-of", "2024-03-01")
    assert "--as-of 2024-03-01 is after the as-of date" in err
    err = fails(capsys, "db", "selection", cohort, "--as-of", "2020-01-01")
    assert "--as-of 2020-01-01 is before 2022-03-01" in err
    err = fails(capsys, "db", "selection", cohort, "--candidates", "--as-of", "2024-01-01")
    assert "give no --as-of with --candidates" in err
    err = fails(capsys, "db", "selection", cohort, "--out", cohort / "x.csv")
    assert "inside the engine directory" in err
    with pytest.raises(SystemExit) as info:  # argparse: a usage error
        main(["db", "selection", str(cohort), "--strand", "loose"])
    assert info.value.code == 2


# ----------------------------------------------------------------------- init and info
def test_init_with_areas_and_a_selection_band(tmp_path, capsys):
    weights, events = write_files(tmp_path)
    folder = tmp_path / "engine"
    _, err = ok(
        capsys,
        "db",
        "init",
        folder,
        "--as-of",
        AS_OF,
        "--weights",
        weights,
        "--areas",
        " North, South ,East",
        "--selection-band",
        "medium",
    )
    assert "areas North, South, East; candidates from MEDIUM up" in err
    ok(capsys, "db", "ingest", folder, events)
    with opened(folder) as engine:
        assert engine.areas == ("North", "South", "East")
        assert engine.selection_band == "MEDIUM"
    shown = dict(line.split(": ", 1) for line in ok(capsys, "db", "info", folder)[0].splitlines())
    assert shown["areas"] == "North, South, East"
    assert shown["selection_band"].startswith("MEDIUM")
    assert shown["decisions"] == "0; 0 nominals selected"
    # candidates: MEDIUM or above only (500, LOW, is not one)
    rows, _ = selection(capsys, folder, "--candidates")
    assert [r[0] for r in rows] == ["600", "100"]
    owners = tmp_path / "owners.csv"
    owners.write_text("nominal_id,area,from_date\n100,north,2022-01-01\n", encoding="utf-8")
    ok(capsys, "db", "owners", folder, owners)
    assert [r[0] for r in selection(capsys, folder, "--candidates", "--area", "NORTH")[0]] == [
        "100"
    ]
    owners.write_text("nominal_id,area,from_date\n100,Coventry,2022-01-01\n", encoding="utf-8")
    err = fails(capsys, "db", "owners", folder, owners)
    assert "field 'area': unknown area 'Coventry' (one of North, South, East)" in err


@pytest.mark.parametrize(
    ("areas", "words"),
    [
        ("North,,South", "'' is not an area name"),
        ("North,north", "names an area twice"),
        (f"North,{UNOWNED}", "is not an area name"),
    ],
)
def test_init_refuses_bad_areas(tmp_path, capsys, areas, words):
    err = fails(capsys, "db", "init", tmp_path / "engine", "--as-of", AS_OF, "--areas", areas)
    assert err.startswith(f"iomscore: error: --areas {areas!r}: ") and words in err
    assert not (tmp_path / "engine").exists()


def test_info_shows_the_default_areas_and_the_cohort(cohort, capsys):
    shown = dict(line.split(": ", 1) for line in ok(capsys, "db", "info", cohort)[0].splitlines())
    assert shown["areas"] == ", ".join(DEFAULT_AREAS)
    assert shown["selection_band"].startswith("LOW")
    assert shown["decisions"] == "4; 2 nominals selected"


def test_every_cohort_command_has_help_and_takes_user_and_reason():
    parser = _parser()
    commands = next(a for a in parser._actions if a.choices and "db" in a.choices)
    sub = next(a for a in commands.choices["db"]._actions if a.choices)
    for name in ("owners", "decide", "selection", "init", "scores"):
        for action in sub.choices[name]._actions:
            assert action.help, (name, action.option_strings or action.dest)
    for name in ("owners", "decide"):
        options = {o for a in sub.choices[name]._actions for o in a.option_strings}
        assert {"--user", "--reason", "--encoding"} <= options, name
    forecast = {o for a in commands.choices["forecast"]._actions for o in a.option_strings}
    assert "--area" in forecast


# ----------------------------------------------------------------------- synthetic data
def _write_csv(path, columns):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in zip(*(np.asarray(v).tolist() for v in columns.values()), strict=True):
            writer.writerow(["" if v is None else v for v in row])


def test_synthetic_owners_and_decisions_go_through_the_commands(tmp_path, capsys):
    cohort = synth.cohort(1_500, 15_000, seed=4)
    events = tmp_path / "events.csv"
    cohort.write_csv(events)
    folder = tmp_path / "engine"
    ok(capsys, "db", "init", folder, "--as-of", cohort.as_of)
    ok(capsys, "db", "ingest", folder, events, "--quiet")
    owners = synth.ownership(cohort, seed=4)
    _write_csv(tmp_path / "owners.csv", owners)
    _, err = ok(capsys, "db", "owners", folder, tmp_path / "owners.csv")
    assert err.startswith(f"{len(owners['nominal_id']):,} ownership records recorded")
    with opened(folder) as engine:
        decisions = synth.decisions(engine.scores(), seed=4)
    assert len(decisions["nominal_id"]) > 10
    _write_csv(tmp_path / "decisions.csv", decisions)
    _, err = ok(capsys, "db", "decide", folder, tmp_path / "decisions.csv")
    assert err.startswith(f"{len(decisions['nominal_id']):,} decisions recorded")
    with opened(folder) as engine:
        table = engine.selection()
        assert len(table) > 0
        assert len(engine.transfers(cohort.as_of - datetime.timedelta(days=365))) == round(
            0.03 * 1_500
        )
    assert selection(capsys, folder)[0] == expected_rows(table)
