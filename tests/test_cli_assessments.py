"""ASSET and OASys assessments (rule 10) on the command line: ``score``, ``explain``,
``forecast`` and ``timeline`` with ``--assessments`` (and ``--assessment-table``),
and ``db assess``, ``retract-assessments``, ``list-assessments``, ``init`` and
``reweight`` with an assessment table, end to end on small files.

What a command prints or leaves is checked against the engine itself: an in-memory
engine given the same events and assessments, or the directory opened with
:meth:`~iomscore.Engine.open` (read-only).
"""

from __future__ import annotations

import csv
import datetime
import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli_calls import fails, ok
from test_cli import AS_OF, write_files

from iomscore import Engine, Weights, synth
from iomscore.assessments import AssessmentTable
from iomscore.cli import ASSESSMENT_LISTED_COLUMNS, _parser

D = datetime.date
HEADER = "assessment_id,nominal_id,tool,score,date\n"
# At test_cli's AS_OF (2024-02-29; the window starts after 2022-02-28):
ROWS = (
    "1,100,oasys,60,2023-05-01\n"  # superseded by 2
    "2,100,OASys,80,2024-01-01\n"  # counts: 70 points (75-89)
    "3,200,asset,40,2023-06-01\n"  # counts: 70 points (33-48)
    "4,700,oasys,95,2024-02-01\n"  # counts: 100 points (90-99); 700 has no event
    "5,100,oasys,99,2024-03-05\n"  # after AS_OF: not counted by score
    "6,400,oasys,70,2022-01-15\n"  # before the window: expired
)
# Under the shipped table (at most 100 points a tool) no assessment alone moves one of
# test_cli's nominals across a threshold at AS_OF. A table of its own, where every OASys
# score of 50 or more is worth 1,000 points, shows the crossings an assessment can cause.
STEEP = """\
# name: steep
tool,low,high,points
asset,0,64,10
oasys,0,49,0
oasys,50,99,1000
"""


def columns_of(text: str) -> dict[str, list[str]]:
    """A CSV's columns as lists of text (what the command reads)."""
    rows = list(csv.DictReader(io.StringIO(text)))
    return {name: [row[name] for row in rows] for name in HEADER.strip().split(",")}


def up_to(columns: dict[str, list[str]], day: datetime.date) -> dict[str, list[str]]:
    """The rows dated up to ``day``."""
    keep = [i for i, d in enumerate(columns["date"]) if D.fromisoformat(d) <= day]
    return {name: [values[i] for i in keep] for name, values in columns.items()}


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def files(tmp_path):
    """test_cli's weight table and events, and ROWS in ``a.csv``."""
    weights, events = write_files(tmp_path)
    assessments = tmp_path / "a.csv"
    assessments.write_text(HEADER + ROWS, encoding="utf-8")
    return weights, events, assessments


def memory_engine(weights, events, rows=ROWS, table=None, as_of=AS_OF):
    """An in-memory engine given the events, then the assessments dated up to ``as_of``."""
    with open(events, newline="", encoding="utf-8") as handle:
        found = list(csv.DictReader(handle))
    engine = Engine(Weights.load(weights), as_of, assessment_table=table)
    engine.ingest({key: [row[key] for row in found] for key in found[0]}, future="skip")
    engine.assess(up_to(columns_of(HEADER + rows), as_of))
    return engine


@pytest.fixture
def db(files, tmp_path, capsys):
    """A directory at AS_OF with test_cli's table and events, and no assessments."""
    weights, events, _ = files
    folder = tmp_path / "engine"
    ok(capsys, "db", "init", folder, "--as-of", AS_OF, "--weights", weights)
    ok(capsys, "db", "ingest", folder, events)
    return folder


def held(folder, nominal):
    with Engine.open(folder, readonly=True) as engine:
        return engine.assessments(nominal).rows()


def audit(folder):
    with Engine.open(folder, readonly=True) as engine:
        return [(e.operation, e.user_id, e.reason) for e in engine.audit()]


# ----------------------------------------------------------------------------------- score
def test_score_counts_the_assessments_as_the_engine_does(files, capsys):
    weights, events, assessments = files
    argv = ("score", events, "--as-of", AS_OF, "--weights", weights)
    out, err = ok(capsys, *argv, "--assessments", assessments)
    engine = memory_engine(weights, events)
    expected = [["nominal_id", "score", "band"]] + [
        [str(n), str(s), b] for n, s, b in engine.scores().rows()
    ]
    assert read_csv(out) == expected
    scores = {int(r[0]): int(r[1]) for r in expected[1:]}
    assert scores[700] == 100  # assessed only: scored on its assessment (OASys 95)
    without = {int(r[0]): int(r[1]) for r in read_csv(ok(capsys, *argv)[0])[1:]}
    assert scores[100] == without[100] + 70 and scores[200] == without[200] + 70
    assert scores[400] == without[400]  # its assessment is before the window
    assert 700 not in without
    line = next(x for x in err.splitlines() if x.startswith("6 assessments:"))
    assert line.startswith("6 assessments: 5 taken, 1 after as_of (not counted); ")


def test_score_writes_the_assessments_into_the_provenance(files, tmp_path, capsys):
    weights, events, assessments = files
    out = tmp_path / "scores.csv"
    argv = ("score", events, "--as-of", AS_OF, "--weights", weights, "--out", out)
    ok(capsys, *argv, "--assessments", assessments)
    meta = json.loads(Path(str(out) + ".meta.json").read_text(encoding="utf-8"))
    assert meta["assessments"]["file"] == "a.csv"
    assert (meta["assessments"]["read"], meta["assessments"]["taken"]) == (6, 5)
    assert meta["assessments"]["after_as_of"] == 1
    assert meta["assessment_table"]["sha256"] == AssessmentTable.default().sha256
    assert meta["assessment_table"]["file"] == "(shipped default)"
    # --out may not name an input
    err = fails(capsys, *argv[:-1], assessments, "--assessments", assessments)
    assert "assessments file" in err


def test_a_parquet_file_scores_as_its_csv(files, tmp_path, capsys):
    weights, events, assessments = files
    columns = columns_of(HEADER + ROWS)
    path = tmp_path / "a.parquet"
    pq.write_table(
        pa.table(
            {
                "assessment_id": pa.array([int(x) for x in columns["assessment_id"]]),
                "nominal_id": pa.array([int(x) for x in columns["nominal_id"]]),
                "tool": columns["tool"],
                "score": pa.array([int(x) for x in columns["score"]], pa.int32()),
                "date": pa.array([D.fromisoformat(x) for x in columns["date"]], pa.date32()),
                "note": ["x"] * 6,
            }
        ),
        path,
    )
    argv = ("score", events, "--as-of", AS_OF, "--weights", weights, "--assessments")
    assert ok(capsys, *argv, path)[0] == ok(capsys, *argv, assessments)[0]


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        ("9,100,oasys,100,2023-01-01", "score", "100 is outside the range 0-99 of tool 'oasys'"),
        ("9,100,asset,65,2023-01-01", "score", "65 is outside the range 0-64 of tool 'asset'"),
        ("9,100,oasys,-1,2023-01-01", "score", "outside the range"),
        ("9,100,oasys,5.5,2023-01-01", "score", "not a whole number"),
        ("9,100,ogrs,50,2023-01-01", "tool", "unknown tool 'ogrs'"),
        ("9,100,oasys,50,01/02/2023", "date", "YYYY-MM-DD"),
        ("x,100,oasys,50,2023-01-01", "assessment_id", "'x' is not a whole number"),
        ("1,100,oasys,50,2023-01-01", "assessment_id", "1 repeats bad.csv line 2"),
    ],
    ids=["oasys range", "asset range", "negative", "fraction", "tool", "date", "id", "repeat"],
)
def test_a_bad_row_names_the_file_line_and_field_and_takes_nothing(
    files, db, tmp_path, capsys, line, field, words
):
    weights, events, _ = files
    path = tmp_path / "bad.csv"
    # a blank line and a quoted date over two lines: the fault is on line 6 of the file
    path.write_text(
        HEADER + '1,100,oasys,60,2023-05-01\n\n2,"200",asset,40,"2023-06-01\n"\n' + line + "\n",
        encoding="utf-8",
    )
    err = fails(
        capsys, "score", events, "--as-of", AS_OF, "--weights", weights, "--assessments", path
    )
    assert f"bad.csv line 6, field '{field}'" in err and words in err
    err = fails(capsys, "db", "assess", db, path)
    assert f"bad.csv line 6, field '{field}'" in err and words in err
    assert held(db, 100) == [] and held(db, 200) == []  # nothing of the file is taken


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty file"),
        ("assessment_id,nominal_id,tool,date\n", "missing column 'score'"),
        (HEADER + "1,100,oasys,60\n", "line 2: 4 fields where the header has 5"),
        (HEADER.encode() + b"1,100,oasys\xff,60,2023-05-01\n", "byte 0xff"),
    ],
    ids=["empty", "missing", "short", "bytes"],
)
def test_a_bad_file_is_refused(files, db, tmp_path, capsys, text, words):
    weights, events, _ = files
    path = tmp_path / "a.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    argv = ("score", events, "--as-of", AS_OF, "--weights", weights, "--assessments", path)
    assert words in fails(capsys, *argv)
    assert words in fails(capsys, "db", "assess", db, path)
    assert "no such assessments file" in fails(capsys, "db", "assess", db, tmp_path / "x.csv")


# ---------------------------------------------------------------- explain, forecast, timeline
def test_explain_shows_the_counting_assessment(files, db, capsys):
    weights, events, assessments = files
    argv = ("explain", events, "--as-of", AS_OF, "--weights", weights, "--nominal", 100)
    out, err = ok(capsys, *argv, "--assessments", assessments)
    rows = read_csv(out)
    assert rows[0] == ["event_id", "dataset", "offence", "date", "points", "expires"]
    assert ["2", "assessment:oasys", "", "2024-01-01", "70", "2026-01-01"] in rows
    assert not any(r[0] == "1" and r[1] == "assessment:oasys" for r in rows)  # superseded
    explained = memory_engine(weights, events).explain(100)
    assert len(rows) - 1 == len(explained) and f"{explained.score:,} points" in err
    # a nominal with an assessment and no event is explained by it
    out, _ = ok(capsys, *argv[:-1], 700, "--assessments", assessments)
    assert [r[1] for r in read_csv(out)[1:]] == ["assessment:oasys"]
    # the directory, once assessed, explains the same
    ok(capsys, "db", "assess", db, assessments)
    assert (
        ok(capsys, "explain", "--db", db, "--nominal", 100)[0]
        == ok(capsys, *argv, "--assessments", assessments)[0]
    )
    err = fails(capsys, "explain", "--db", db, "--nominal", 100, "--assessments", assessments)
    assert "--assessments: not taken with --db" in err


def test_forecast_and_timeline_count_the_assessments(files, tmp_path, capsys):
    weights, events, assessments = files
    argv = ("forecast", events, "--as-of", AS_OF, "--weights", weights)
    out, _ = ok(capsys, *argv, "--assessments", assessments)
    forecast = memory_engine(weights, events).forecast()
    assert read_csv(out)[1:] == [
        [str(n), str(s), b, str(f), t, str(x)] for n, s, b, f, t, x in forecast.rows()
    ]
    # 100: events 1 and 2 (750) and OASys 80 (70); event 2 leaves on 2024-03-01 (320),
    # the OASys on 2026-01-01 (250), event 1 on 2026-03-01. 700 (OASys 95: 100 points)
    # and 200 (140 + 70) are not banded.
    assert read_csv(out)[1:] == [
        ["600", "1000", "HIGH", "2025-02-28", "MEDIUM", "2026-03-01"],
        ["100", "820", "MEDIUM", "2024-03-01", "LOW", "2026-03-01"],
        ["500", "250", "LOW", "2026-01-01", "NONE", "2026-01-01"],
    ]
    # Under STEEP the OASys assessments are 1,000 points: 700 is HIGH on its assessment
    # alone, and 100's band falls from HIGH (1,250 after event 2 leaves) to LOW when
    # its assessment expires.
    steep = tmp_path / "steep.csv"
    steep.write_text(STEEP, encoding="utf-8")
    out, _ = ok(capsys, *argv, "--assessments", assessments, "--assessment-table", steep)
    forecast = memory_engine(weights, events, table=AssessmentTable.load(steep)).forecast()
    assert read_csv(out)[1:] == [
        [str(n), str(s), b, str(f), t, str(x)] for n, s, b, f, t, x in forecast.rows()
    ]
    assert read_csv(out)[1:] == [
        ["100", "1750", "HIGH", "2026-01-01", "LOW", "2026-03-01"],
        ["600", "1000", "HIGH", "2025-02-28", "MEDIUM", "2026-03-01"],
        ["700", "1000", "HIGH", "2026-02-01", "NONE", "2026-02-01"],
        ["500", "250", "LOW", "2026-01-01", "NONE", "2026-01-01"],
    ]

    argv = ("timeline", events, "--weights", weights, "--nominal", 100)
    out, _ = ok(capsys, *argv, "--from", "2023-01-01", "--to", AS_OF, "--assessments", assessments)
    # events 2 and 3 (750), OASys 60 then 80 (40, 70), event 3 leaves, event 1 comes
    assert read_csv(out)[1:] == [
        ["2023-01-01", "750", "MEDIUM"],
        ["2023-05-01", "790", "MEDIUM"],
        ["2024-01-01", "820", "MEDIUM"],
        ["2024-02-28", "570", "MEDIUM"],
        ["2024-02-29", "820", "MEDIUM"],
    ]
    # under STEEP OASys 60 makes 100 HIGH (750 + 1,000); OASys 80, also 1,000, moves nothing
    out, _ = ok(
        capsys,
        *argv,
        "--from",
        "2023-01-01",
        "--to",
        AS_OF,
        "--assessments",
        assessments,
        "--assessment-table",
        steep,
    )
    assert read_csv(out)[1:] == [
        ["2023-01-01", "750", "MEDIUM"],
        ["2023-05-01", "1750", "HIGH"],
        ["2024-02-28", "1500", "HIGH"],
        ["2024-02-29", "1750", "HIGH"],
    ]
    # past AS_OF the later assessment (99: 100 points) comes on its date
    out, _ = ok(
        capsys, *argv, "--from", "2024-03-01", "--to", "2024-03-10", "--assessments", assessments
    )
    later = memory_engine(weights, events, as_of=D(2024, 3, 10))
    assert read_csv(out)[1:] == [
        [str(d), str(s), b] for d, s, b in later.timeline(100, "2024-03-01").rows()
    ]
    # event 2 has left (250 + 70), then OASys 99 supersedes OASys 80 (250 + 100)
    assert read_csv(out)[1:] == [
        ["2024-03-01", "320", "LOW"],
        ["2024-03-05", "350", "LOW"],
    ]


# ------------------------------------------------------------------------------ db commands
def test_db_assess_list_and_retract(db, files, tmp_path, capsys):
    _, _, assessments = files
    _, err = ok(capsys, "db", "assess", db, assessments, "--user", "om-7", "--reason", "import")
    assert err.splitlines()[0].startswith(
        f"{assessments}: 6 assessments: 5 taken, 1 after as_of (not counted); "
    )
    assert audit(db)[-1] == ("assess", "om-7", "import")
    assert held(db, 100) == [
        (1, "oasys", 60, D(2023, 5, 1), 40, "superseded", D(2025, 5, 1)),
        (2, "oasys", 80, D(2024, 1, 1), 70, "counting", D(2026, 1, 1)),
    ]
    assert [r[5] for r in held(db, 400)] == ["expired"]

    # list-assessments writes what the engine holds, by NOMINAL_ID or --nominal
    out, err = ok(capsys, "db", "list-assessments", db, 100)
    assert read_csv(out) == [list(ASSESSMENT_LISTED_COLUMNS)] + [
        [str(i), t, str(s), d.isoformat(), str(p), status, e.isoformat()]
        for i, t, s, d, p, status, e in held(db, 100)
    ]
    assert err.startswith("nominal 100: 2 assessments, 1 counting for 70 points at 2024-02-29")
    listed = tmp_path / "list.csv"
    ok(capsys, "db", "list-assessments", db, "--nominal", 100, "--out", listed)
    assert listed.read_text(encoding="utf-8") == out
    assert read_csv(ok(capsys, "db", "list-assessments", db, 999)[0]) == [
        list(ASSESSMENT_LISTED_COLUMNS)
    ]
    assert "NOMINAL_ID or --nominal" in fails(capsys, "db", "list-assessments", db)
    assert "not both" in fails(capsys, "db", "list-assessments", db, 1, "--nominal", 1)

    # retract: the counting one goes, the one it superseded counts again; 100 goes from
    # 820 to 790, MEDIUM both (a band change on a retraction: the STEEP test below)
    _, err = ok(capsys, "db", "retract-assessments", db, 2, 77, "--reason", "entered twice")
    assert err.startswith(
        "2 ids given: 1 assessments retracted; 1 ids not held: 77; 0 band changes"
    )
    assert audit(db)[-1] == ("retract", None, "entered twice")
    assert [r[5] for r in held(db, 100)] == ["counting"]
    ids = tmp_path / "ids.txt"
    ids.write_text("assessment_id\n3\n\n", encoding="utf-8")
    _, err = ok(capsys, "db", "retract-assessments", db, 4, "--ids-file", ids)
    assert err.startswith(f"1 ids given and 1 read from {ids}: 2 assessments retracted")
    assert held(db, 200) == [] and held(db, 700) == []
    ids.write_text("3\nthree\n", encoding="utf-8")
    err = fails(capsys, "db", "retract-assessments", db, "--ids-file", ids)
    assert "ids.txt line 2: 'three' is not an assessment id" in err
    assert "give the ids" in fails(capsys, "db", "retract-assessments", db)

    # the state survives reopening, after a checkpoint too, and scores as in memory
    before = ok(capsys, "db", "scores", db)[0]
    ok(capsys, "db", "checkpoint", db)
    assert ok(capsys, "db", "scores", db)[0] == before
    assert held(db, 100) == [(1, "oasys", 60, D(2023, 5, 1), 40, "counting", D(2025, 5, 1))]
    weights, events, _ = files
    engine = memory_engine(weights, events)
    engine.retract_assessments([2, 3, 4])
    assert read_csv(before)[1:] == [[str(n), str(s), b] for n, s, b in engine.scores().rows()]


def test_db_assess_future_and_replace(db, files, tmp_path, capsys):
    _, _, assessments = files
    err = fails(capsys, "db", "assess", db, assessments, "--future", "error")
    assert "a.csv line 6, field 'date': 2024-03-05 is after as_of 2024-02-29" in err
    assert held(db, 100) == []
    ok(capsys, "db", "assess", db, assessments)
    _, err = ok(capsys, "db", "assess", db, assessments)  # again: identical, nothing new
    assert "0 taken, 5 duplicates" in err
    changed = tmp_path / "changed.csv"
    changed.write_text(HEADER + "2,100,oasys,40,2024-01-01\n", encoding="utf-8")
    err = fails(capsys, "db", "assess", db, changed)
    assert "changed.csv line 2, field 'assessment_id'" in err and "--replace" not in err
    _, err = ok(capsys, "db", "assess", db, changed, "--replace")
    assert "1 taken, 1 replaced" in err
    assert held(db, 100)[1][:3] == (2, "oasys", 40)


# ----------------------------------------------------------------------- assessment tables
def test_a_custom_assessment_table_changes_the_points(files, tmp_path, capsys):
    weights, events, assessments = files
    steep = tmp_path / "steep.csv"
    steep.write_text(STEEP, encoding="utf-8")
    argv = ("score", events, "--as-of", AS_OF, "--weights", weights, "--assessments", assessments)
    shipped = {int(r[0]): int(r[1]) for r in read_csv(ok(capsys, *argv)[0])[1:]}
    out, _ = ok(capsys, *argv, "--assessment-table", steep)
    custom = {int(r[0]): int(r[1]) for r in read_csv(out)[1:]}
    assert custom[100] == shipped[100] - 70 + 1000 and custom[700] == 1000
    assert custom[200] == shipped[200] - 70 + 10
    engine = memory_engine(weights, events, table=AssessmentTable.load(steep))
    assert custom == {n: s for n, s, _ in engine.scores().rows()}
    out, _ = ok(
        capsys,
        "explain",
        events,
        "--as-of",
        AS_OF,
        "--weights",
        weights,
        "--nominal",
        100,
        "--assessments",
        assessments,
        "--assessment-table",
        steep,
    )
    assert ["2", "assessment:oasys", "", "2024-01-01", "1000", "2026-01-01"] in read_csv(out)
    bad = tmp_path / "bad_table.csv"
    bad.write_text(STEEP.replace("oasys,50,99", "oasys,60,99"), encoding="utf-8")
    err = fails(capsys, *argv, "--assessment-table", bad)
    assert "bad_table.csv" in err and "gap 50-59" in err


def test_db_init_and_reweight_take_an_assessment_table(files, tmp_path, capsys):
    weights, events, assessments = files
    steep = tmp_path / "steep.csv"
    steep.write_text(STEEP, encoding="utf-8")
    folder = tmp_path / "engine"
    argv = ("db", "init", folder, "--as-of", AS_OF, "--weights", weights)
    _, err = ok(capsys, *argv, "--assessment-table", steep)
    assert err.rstrip().endswith(
        f"assessment table steep {AssessmentTable.load(steep).sha256[:12]}"
    )
    ok(capsys, "db", "ingest", folder, events)
    ok(capsys, "db", "assess", folder, assessments)
    assert held(folder, 100)[1][4] == 1000
    info = dict(x.split(": ", 1) for x in ok(capsys, "db", "info", folder)[0].splitlines())
    assert info["assessment_table"] == f"steep sha256 {AssessmentTable.load(steep).sha256}"

    shipped = AssessmentTable.default()
    table_file = tmp_path / "shipped.csv"
    table_file.write_text(shipped.to_csv_text(), encoding="utf-8")
    _, err = ok(
        capsys,
        "db",
        "reweight",
        folder,
        "--assessment-table",
        table_file,
        "--user",
        "u1",
        "--reason",
        "policy",
    )
    assert err.startswith(
        f"reweighted: assessment table steep ({AssessmentTable.load(steep).sha256[:12]}) -> "
        f"{shipped.name} ({shipped.sha256[:12]}); "
    )
    assert audit(folder)[-1] == ("reweight", "u1", "policy")
    assert held(folder, 100)[1][4] == 70
    with Engine.open(folder, readonly=True) as engine:
        assert engine.assessment_table == shipped
        directory_scores = engine.scores().rows()
    assert directory_scores == memory_engine(weights, events).scores().rows()
    assert "give a new weight table FILE" in fails(capsys, "db", "reweight", folder)
    # both tables at once
    doubled = tmp_path / "doubled.csv"
    doubled.write_text(weights.read_text(encoding="utf-8").replace(",250,", ",260,"), "utf-8")
    _, err = ok(capsys, "db", "reweight", folder, doubled, "--assessment-table", steep)
    assert "1 entries changed" in err and "-> steep" in err
    # under STEEP 700 is HIGH on its assessment alone (1,000): retracting it is a band change
    _, err = ok(capsys, "db", "retract-assessments", folder, 4)
    assert err.startswith("1 ids given: 1 assessments retracted; 1 band changes")
    with Engine.open(folder, readonly=True) as engine:
        assert 700 not in {n for n, _, _ in engine.scores().rows()}
        assert engine.changes().rows()[-1] == (AS_OF, 700, "HIGH", "NONE", 0, "retract")


# --------------------------------------------------------------------------- help, synthetic
def test_every_assessment_option_has_help():
    parser = _parser()
    commands = next(a for a in parser._actions if a.choices and "db" in a.choices)
    sub = next(a for a in commands.choices["db"]._actions if a.choices)
    names = ("assess", "retract-assessments", "list-assessments")
    for name in names:
        for action in sub.choices[name]._actions:
            assert action.help, (name, action.option_strings or action.dest)
    for name in names[:2]:
        options = {o for a in sub.choices[name]._actions for o in a.option_strings}
        assert {"--user", "--reason"} <= options, name
    for name in ("init", "reweight"):
        options = {o for a in sub.choices[name]._actions for o in a.option_strings}
        assert "--assessment-table" in options, name
    for name in ("score", "explain", "forecast", "timeline"):
        options = {o for a in commands.choices[name]._actions for o in a.option_strings}
        assert {"--assessments", "--assessment-table"} <= options, name


def test_synthetic_assessments_go_through_the_command(tmp_path, capsys):
    cohort = synth.cohort(300, 2_000, seed=3)
    columns = synth.assessments(cohort, seed=3)
    path = tmp_path / "synthetic.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(zip(*(columns[name].tolist() for name in columns), strict=True))
    folder = tmp_path / "engine"
    ok(capsys, "db", "init", folder, "--as-of", cohort.as_of)
    _, err = ok(capsys, "db", "assess", folder, path)
    n = len(columns["assessment_id"])
    assert f"{n} assessments: {n} taken" in err
    memory = Engine(Weights.default(), cohort.as_of)
    memory.assess(columns)
    for nominal in np.unique(columns["nominal_id"])[:5].tolist():
        assert held(folder, nominal) == memory.assessments(nominal).rows()


def test_the_demo_assesses_the_synthetic_cohort(capsys):
    _, err = ok(capsys, "demo", "--nominals", 2_000, "--events", 16_000, "--quiet")
    lines = err.splitlines()
    at = next(i for i, x in enumerate(lines) if x.startswith("assessments, then: "))
    assert lines[at - 1].startswith("what-if every weight doubled")  # after the events' lines
    line = lines[at]
    assert " taken (OASys " in line and "for 700 nominals" in line
    assert line.endswith(" band changes") and " a second; " in line
