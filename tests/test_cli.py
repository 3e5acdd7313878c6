"""The ``iomscore`` command end to end, on small files written by hand.

Expected outputs come from :mod:`iomscore.reference` on the same events,
written out canonically in this file; the points table is a literal here too.
"""

from __future__ import annotations

import csv
import datetime
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from iomscore import reference, synth
from iomscore.cli import main
from iomscore.weights import Weights
from iomscore.weights_tools import check_weights

D = datetime.date
AS_OF = D(2024, 2, 29)
DATASETS = ("arrest", "intelligence", "warrant")
# points[dataset][offence], written out by hand.
POINTS = {
    "arrest": {"008/06": 120, "028/01": 250, "046/00": 40, "105/01": 60},
    "intelligence": {"008/06": 30, "028/01": 125, "046/00": 10, "105/01": 20},
    "warrant": {"008/06": 80, "028/01": 500, "046/00": 25, "105/01": 45},
}
MAPPING = {(d, o): p for d, row in POINTS.items() for o, p in row.items()}

WEIGHTS_TEXT = """\
# name: cli-test
# effective: 2024-01-01
offence,description,arrest,intelligence,warrant
028/01,Burglary in a dwelling,250,125,500
8/6,Assault occasioning ABH,120,30,80
04600,Shoplifting,40,10,25
105/1,Common assault,60,20,45
"""

# The events file: codes spelled three ways, leap days and window edges (D = 29 Feb 2024,
# window bound 28 Feb 2022, exclusive). Canonical twin below, for the reference.
EVENTS_TEXT = """\
event_id,nominal_id,dataset,offence,date
1,100,arrest,028/01,2024-02-29
2,100,warrant,28/1,2022-03-01
3,100,arrest,02801,2022-02-28
4,200,intelligence,105/01,2023-02-28
5,200,arrest,8/6,2024-02-28
6,300,warrant,04600,2024-03-01
7,300,arrest,46/0,2022-02-27
8,400,warrant,008/06,2023-06-15
9,400,warrant,105/1,2023-06-16
10,500,intelligence,028/01,2024-01-01
11,500,intelligence,28/01,2024-01-02
12,600,warrant,02801,2023-02-28
13,600,warrant,028/1,2024-02-29
"""


def E(event_id, nominal, dataset, offence, date):
    return reference.Event(event_id, nominal, dataset, offence, date)


EVENTS = [
    E(1, 100, "arrest", "028/01", D(2024, 2, 29)),
    E(2, 100, "warrant", "028/01", D(2022, 3, 1)),
    E(3, 100, "arrest", "028/01", D(2022, 2, 28)),
    E(4, 200, "intelligence", "105/01", D(2023, 2, 28)),
    E(5, 200, "arrest", "008/06", D(2024, 2, 28)),
    E(6, 300, "warrant", "046/00", D(2024, 3, 1)),
    E(7, 300, "arrest", "046/00", D(2022, 2, 27)),
    E(8, 400, "warrant", "008/06", D(2023, 6, 15)),
    E(9, 400, "warrant", "105/01", D(2023, 6, 16)),
    E(10, 500, "intelligence", "028/01", D(2024, 1, 1)),
    E(11, 500, "intelligence", "028/01", D(2024, 1, 2)),
    E(12, 600, "warrant", "028/01", D(2023, 2, 28)),
    E(13, 600, "warrant", "028/01", D(2024, 2, 29)),
]


def expected_rows(events=EVENTS, as_of=AS_OF, years=2, mapping=MAPPING):
    return reference.result(reference.score(events, mapping, as_of, years))


def write_files(folder):
    """The weight table and events file of these tests, written to ``folder``."""
    weights = folder / "weights.csv"
    weights.write_text(WEIGHTS_TEXT, encoding="utf-8")
    events = folder / "events.csv"
    events.write_text(EVENTS_TEXT, encoding="utf-8")
    return weights, events


@pytest.fixture
def files(tmp_path):
    return write_files(tmp_path)


def read_result(text: str) -> list[tuple[int, int, str]]:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["nominal_id", "score", "band"]
    return [(int(n), int(s), b) for n, s, b in rows[1:]]


# ------------------------------------------------------------------------------ score


def test_the_hand_written_expectation():
    """The reference on the file above, worked by hand: a check on the fixture itself."""
    assert expected_rows() == [
        (600, 1000, "HIGH"),  # two warrant burglaries, one on D
        (100, 750, "MEDIUM"),  # 250 on D + 500 on the first day in; 2022-02-28 is out
        (500, 250, "LOW"),  # 125 + 125
        (200, 140, "NONE"),  # 20 + 120
        (400, 125, "NONE"),  # 80 + 45
    ]  # 300: one event after D, one before the window: no row


def test_score_to_a_file(files, tmp_path, capsys):
    weights, events = files
    out = tmp_path / "scores.csv"
    code = main(
        [
            "score",
            str(events),
            "--weights",
            str(weights),
            "--as-of",
            "2024-02-29",
            "--out",
            str(out),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert read_result(out.read_text(encoding="utf-8")) == expected_rows()
    assert captured.out == ""
    assert "cli-test" in captured.err  # the summary names the table


def test_score_to_stdout(files, capsys):
    weights, events = files
    code = main(["score", str(events), "--weights", str(weights), "--as-of", "2024-02-29"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert read_result(captured.out) == expected_rows()


def test_score_header_is_plain(files, tmp_path):
    """The result file starts with the plain header ``nominal_id,score,band`` (no quotes)."""
    weights, events = files
    out = tmp_path / "scores.csv"
    assert (
        main(
            [
                "score",
                str(events),
                "--weights",
                str(weights),
                "--as-of",
                "2024-02-29",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert out.read_text(encoding="utf-8").splitlines()[0] == "nominal_id,score,band"


@pytest.mark.parametrize(
    ("as_of", "years"),
    [(D(2024, 2, 29), 1), (D(2025, 2, 28), 2), (D(2026, 3, 1), 3), (D(2024, 2, 28), 2)],
)
def test_score_other_dates_and_windows(files, tmp_path, as_of, years):
    weights, events = files
    out = tmp_path / "scores.csv"
    code = main(
        [
            "score",
            str(events),
            "--weights",
            str(weights),
            "--as-of",
            as_of.isoformat(),
            "--window-years",
            str(years),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert read_result(out.read_text(encoding="utf-8")) == expected_rows(as_of=as_of, years=years)


def test_parquet_gives_the_same_as_csv(files, tmp_path):
    weights, events = files
    table = pa.table(
        {
            "event_id": [e.event_id for e in EVENTS],
            "nominal_id": [e.nominal_id for e in EVENTS],
            "dataset": pa.array([e.dataset for e in EVENTS]).dictionary_encode(),
            "offence": [line.split(",")[3] for line in EVENTS_TEXT.splitlines()[1:]],
            "date": pa.array([e.date for e in EVENTS], pa.date32()),
        }
    )
    parquet = tmp_path / "events.parquet"
    pq.write_table(table, parquet)
    out_pq, out_csv = tmp_path / "pq.csv", tmp_path / "csv.csv"
    assert (
        main(
            [
                "score",
                str(parquet),
                "--weights",
                str(weights),
                "--as-of",
                "2024-02-29",
                "--out",
                str(out_pq),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "score",
                str(events),
                "--weights",
                str(weights),
                "--as-of",
                "2024-02-29",
                "--out",
                str(out_csv),
            ]
        )
        == 0
    )
    assert read_result(out_pq.read_text()) == read_result(out_csv.read_text()) == expected_rows()


def test_score_with_the_default_table(files, tmp_path):
    """Without --weights the shipped table is used."""
    _, events = files
    default = Weights.default()
    out = tmp_path / "scores.csv"
    assert main(["score", str(events), "--as-of", "2024-02-29", "--out", str(out)]) == 0
    assert read_result(out.read_text()) == expected_rows(mapping=default.to_mapping())


# (bad line replacing line 4 of the events file, words the message must contain)
BAD_LINES = [
    ("3,100,arrest,02801,2022-02-30", ["date", "2022-02-30"]),
    ("3,100,arrest,02801,2022/02/28", ["date", "2022/02/28"]),
    ("3,100,arrest,02801,", ["date"]),
    ("3,100,arrest,999/99,2022-02-28", ["offence", "999/99"]),
    ("3,100,arrest,28-01,2022-02-28", ["offence", "28-01"]),
    ("3,100,probation,028/01,2022-02-28", ["dataset", "probation"]),
    ("3,-100,arrest,028/01,2022-02-28", ["nominal_id", "-100"]),
    ("x3,100,arrest,028/01,2022-02-28", ["event_id", "x3"]),
    ("3.5,100,arrest,028/01,2022-02-28", ["event_id", "3.5"]),
    ("1,100,arrest,028/01,2022-02-28", ["event_id", "line 2"]),  # repeats line 2's id
]


@pytest.mark.parametrize(("line", "words"), BAD_LINES)
def test_a_bad_events_file_names_the_line(files, tmp_path, capsys, line, words):
    weights, _ = files
    lines = EVENTS_TEXT.splitlines()
    lines[3] = line  # file line 4 (line 1 is the header): row 3 of the data
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "scores.csv"
    code = main(
        ["score", str(bad), "--weights", str(weights), "--as-of", "2024-02-29", "--out", str(out)]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "bad.csv line 4" in err, err
    for word in words:
        assert word in err, err
    assert "Traceback" not in err
    assert not out.exists()


def test_a_file_with_only_a_header(files, tmp_path, capsys):
    weights, _ = files
    empty = tmp_path / "empty.csv"
    empty.write_text("event_id,nominal_id,dataset,offence,date\n", encoding="utf-8")
    out = tmp_path / "scores.csv"
    code = main(
        ["score", str(empty), "--weights", str(weights), "--as-of", "2024-02-29", "--out", str(out)]
    )
    assert code == 0, capsys.readouterr().err
    assert read_result(out.read_text()) == []


def test_a_future_event_is_skipped_not_an_error(files, capsys):
    """score counts events after --as-of and leaves them out (rule 3)."""
    weights, events = files
    assert main(["score", str(events), "--weights", str(weights), "--as-of", "2024-02-29"]) == 0
    assert "1 after as_of" in capsys.readouterr().err  # event 6, dated 1 March 2024


def test_a_missing_column_in_the_file(files, tmp_path, capsys):
    weights, _ = files
    bad = tmp_path / "bad.csv"
    bad.write_text("event_id,nominal_id,dataset,date\n1,2,arrest,2024-01-01\n", encoding="utf-8")
    code = main(["score", str(bad), "--weights", str(weights), "--as-of", "2024-02-29"])
    err = capsys.readouterr().err
    assert code == 2 and "offence" in err and "Traceback" not in err


def test_a_missing_events_file(files, tmp_path, capsys):
    weights, _ = files
    code = main(
        ["score", str(tmp_path / "absent.csv"), "--weights", str(weights), "--as-of", "2024-02-29"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "absent.csv" in err


def test_a_bad_weights_file_for_score(files, tmp_path, capsys):
    _, events = files
    bad = tmp_path / "w.csv"
    bad.write_text(
        WEIGHTS_TEXT.replace("04600,Shoplifting,40,10,25", "04600,Shoplifting,40,-10,25"),
        encoding="utf-8",
    )
    code = main(["score", str(events), "--weights", str(bad), "--as-of", "2024-02-29"])
    err = capsys.readouterr().err
    assert code == 2
    assert "line 6" in err and "intelligence" in err and "negative" in err


def test_a_bad_as_of_is_an_error(files, capsys):
    weights, events = files
    code = main(["score", str(events), "--weights", str(weights), "--as-of", "2023-02-29"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--as-of" in err and "2023-02-29" in err and "Traceback" not in err


# ------------------------------------------------------------------------------ replay

# Events for a walk from 26 Feb to 4 Mar 2024 (across 29 February). Expiries: an event
# dated 2022-02-27 leaves on 2024-02-27; 2022-02-28 leaves on 2024-02-28 (D = 28 Feb and
# 29 Feb both have the bound 28 Feb 2022); 2022-03-01 leaves on 2024-03-01.
REPLAY_EVENTS = [
    # 900: LOW until its burglary leaves on 28 Feb; a shoplifting arrest arrives the same day.
    E(1, 900, "arrest", "028/01", D(2022, 2, 28)),
    E(2, 900, "arrest", "046/00", D(2024, 2, 28)),
    # 901: MEDIUM until 1 Mar.
    E(3, 901, "warrant", "028/01", D(2022, 3, 1)),
    # 902: LOW from 29 Feb; a second event on 2 Mar keeps it LOW (no change recorded).
    E(4, 902, "arrest", "028/01", D(2024, 2, 29)),
    E(5, 902, "intelligence", "028/01", D(2024, 3, 2)),
    # 903: MEDIUM, then HIGH on 3 Mar.
    E(6, 903, "warrant", "028/01", D(2023, 1, 1)),
    E(7, 903, "warrant", "028/01", D(2024, 3, 3)),
    # 905: LOW until 27 Feb.
    E(8, 905, "intelligence", "028/01", D(2022, 2, 27)),
    E(9, 905, "intelligence", "028/01", D(2023, 5, 5)),
    # 906: leaves LOW and comes back on the same day (29 Feb has nothing leaving; 1 Mar does).
    E(10, 906, "arrest", "028/01", D(2022, 3, 1)),
    E(11, 906, "arrest", "028/01", D(2024, 3, 1)),
    # 907: an event after the walk never counts.
    E(12, 907, "warrant", "028/01", D(2024, 3, 20)),
    # 908: before the window throughout.
    E(13, 908, "warrant", "028/01", D(2021, 1, 1)),
]


def replay_expected(events, first: datetime.date, last: datetime.date, years: int = 2):
    """Band changes day by day: scores at the end of d-1 against the end of d (reference)."""
    out = []
    day = first
    while day <= last:
        before = reference.score(events, MAPPING, day - datetime.timedelta(days=1), years)
        after = reference.score(events, MAPPING, day, years)
        changes = reference.band_changes(before, after)
        for nominal in sorted(changes):
            old, new, points = changes[nominal]
            out.append((day.isoformat(), nominal, old, new, points))
        day += datetime.timedelta(days=1)
    return out


def write_events(path, events, spell=lambda code: code):
    lines = ["event_id,nominal_id,dataset,offence,date"]
    lines += [
        f"{e.event_id},{e.nominal_id},{e.dataset},{spell(e.offence)},{e.date.isoformat()}"
        for e in events
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_replay(text: str):
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["date", "nominal_id", "old_band", "new_band", "score"]
    return [(d, int(n), o, b, int(s)) for d, n, o, b, s in rows[1:]]


def test_replay_expectation_by_hand():
    """The reference walk, checked by hand against the comments above."""
    assert replay_expected(REPLAY_EVENTS, D(2024, 2, 26), D(2024, 3, 4)) == [
        ("2024-02-27", 905, "LOW", "NONE", 125),
        ("2024-02-28", 900, "LOW", "NONE", 40),
        ("2024-02-29", 902, "NONE", "LOW", 250),
        ("2024-03-01", 901, "MEDIUM", "NONE", 0),
        ("2024-03-03", 903, "MEDIUM", "HIGH", 1000),
    ]


def test_replay_equals_day_by_day_reference(files, tmp_path, capsys):
    weights, _ = files
    events = tmp_path / "replay.csv"
    write_events(events, REPLAY_EVENTS, spell=lambda c: c.replace("/", ""))
    out = tmp_path / "changes.csv"
    code = main(
        [
            "replay",
            str(events),
            "--weights",
            str(weights),
            "--from",
            "2024-02-26",
            "--to",
            "2024-03-04",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert read_replay(out.read_text()) == replay_expected(
        REPLAY_EVENTS, D(2024, 2, 26), D(2024, 3, 4)
    )


def test_replay_on_the_main_file(files, tmp_path, capsys):
    """The score file walked from 25 Feb to 5 Mar 2024, to stdout."""
    weights, events = files
    code = main(
        [
            "replay",
            str(events),
            "--weights",
            str(weights),
            "--from",
            "2024-02-25",
            "--to",
            "2024-03-05",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert read_replay(captured.out) == replay_expected(EVENTS, D(2024, 2, 25), D(2024, 3, 5))
    assert "2024-02" in captured.err  # the monthly summary


@pytest.mark.parametrize("years", [1, 2, 3])
def test_replay_window_lengths(files, tmp_path, capsys, years):
    """The score file walked across 29 February 2024 and 2025's end of February."""
    weights, events = files
    out = tmp_path / "changes.csv"
    code = main(
        [
            "replay",
            str(events),
            "--weights",
            str(weights),
            "--from",
            "2024-02-20",
            "--to",
            "2025-03-05",
            "--window-years",
            str(years),
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert read_replay(out.read_text()) == replay_expected(
        EVENTS, D(2024, 2, 20), D(2025, 3, 5), years
    )


def test_replay_backwards_is_an_error(files, capsys):
    weights, events = files
    code = main(
        [
            "replay",
            str(events),
            "--weights",
            str(weights),
            "--from",
            "2024-03-05",
            "--to",
            "2024-02-25",
        ]
    )
    assert code != 0
    assert "2024-02-25" in capsys.readouterr().err


# ------------------------------------------------------------------------------ whatif

NEW_WEIGHTS_TEXT = WEIGHTS_TEXT.replace(
    "105/1,Common assault,60,20,45", "105/1,Common assault,60,130,45"
).replace("8/6,Assault occasioning ABH,120,30,80", "8/6,Assault occasioning ABH,400,30,80")
NEW_MAPPING = {**MAPPING, ("intelligence", "105/01"): 130, ("arrest", "008/06"): 400}


def parse_transitions(text: str) -> list[list[int]]:
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("from \\ to"))
    assert lines[head].split()[-4:] == ["NONE", "LOW", "MEDIUM", "HIGH"]
    matrix = []
    for name, line in zip(
        ("NONE", "LOW", "MEDIUM", "HIGH"), lines[head + 1 : head + 5], strict=True
    ):
        parts = line.split()
        assert parts[0] == name
        matrix.append([int(v.replace(",", "")) for v in parts[1:]])
    return matrix


def test_whatif(files, tmp_path, capsys):
    weights, events = files
    new = tmp_path / "new.csv"
    new.write_text(NEW_WEIGHTS_TEXT, encoding="utf-8")
    out = tmp_path / "changes.csv"
    code = main(
        [
            "whatif",
            str(events),
            "--weights",
            str(weights),
            "--new-weights",
            str(new),
            "--as-of",
            "2024-02-29",
            "--out",
            str(out),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    before = reference.score(EVENTS, MAPPING, AS_OF)
    after = reference.score(EVENTS, NEW_MAPPING, AS_OF)
    # By hand: 200 goes 140 -> 530 (NONE -> MEDIUM); nobody else holds a changed kind.
    assert reference.band_changes(before, after) == {200: ("NONE", "MEDIUM", 530)}
    expected = [[0] * 4 for _ in range(4)]
    bands = ("NONE", "LOW", "MEDIUM", "HIGH")
    for nominal, old in before.items():
        expected[bands.index(reference.band(old))][bands.index(reference.band(after[nominal]))] += 1
    assert parse_transitions(captured.out) == expected
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert rows[0] == ["nominal_id", "old_band", "new_band", "score"]
    assert [(int(n), o, b, int(s)) for n, o, b, s in rows[1:]] == [(200, "NONE", "MEDIUM", 530)]
    assert "1 nominals change band" in captured.out


# ------------------------------------------------------------------------------ weights


def test_whatif_to_stdout_only(files, tmp_path, capsys):
    weights, events = files
    new = tmp_path / "new.csv"
    new.write_text(NEW_WEIGHTS_TEXT, encoding="utf-8")
    code = main(
        [
            "whatif",
            str(events),
            "--weights",
            str(weights),
            "--new-weights",
            str(new),
            "--as-of",
            "2024-02-29",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert "1 nominals change band" in captured.out
    assert sum(map(sum, parse_transitions(captured.out))) == 5  # five nominals scored at D


def test_whatif_with_a_table_of_other_codes(files, tmp_path, capsys):
    weights, events = files
    other = tmp_path / "other.csv"
    other.write_text(
        WEIGHTS_TEXT.replace("04600,Shoplifting", "195/94,Harassment"), encoding="utf-8"
    )
    code = main(
        [
            "whatif",
            str(events),
            "--weights",
            str(weights),
            "--new-weights",
            str(other),
            "--as-of",
            "2024-02-29",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "offence" in err


def test_weights_check_ok(files, capsys):
    weights, _ = files
    code = main(["weights", "check", str(weights)])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    assert "OK" in captured.out and "cli-test" in captured.out
    assert Weights.from_text(WEIGHTS_TEXT).sha256 in captured.out


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("04600,Shoplifting,40,10,25", "04600,Shoplifting,40,1.5,25", 6, ["1.5", "intelligence"]),
        ("04600,Shoplifting,40,10,25", "04600,Shoplifting,40,10,250000", 6, ["cap", "warrant"]),
        ("04600,Shoplifting,40,10,25", "28/01,Shoplifting,40,10,25", 6, ["028/01", "line 4"]),
        ("04600,Shoplifting,40,10,25", "04600,Shoplifting,40,10", 6, ["fields"]),
        (
            "offence,description,arrest,intelligence,warrant",
            "offence,description",
            3,
            ["no dataset"],
        ),
    ],
)
def test_weights_check_bad_files(tmp_path, capsys, old, new, line, words):
    bad = tmp_path / "bad.csv"
    assert old in WEIGHTS_TEXT
    bad.write_text(WEIGHTS_TEXT.replace(old, new), encoding="utf-8")
    code = main(["weights", "check", str(bad)])
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert code == 1
    assert f"line {line}" in text and "bad.csv" in text, text
    for word in words:
        assert word in text, text


def test_weights_check_codes_outside_the_catalogue(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text(
        WEIGHTS_TEXT.replace("04600,Shoplifting", "999/98,Not a code"), encoding="utf-8"
    )
    catalogue = frozenset({"008/06", "028/01", "046/00", "105/01"})
    problems, weights = check_weights(path, catalogue)
    assert weights is None
    assert len(problems) == 1
    assert "line 6" in problems[0] and "999/98" in problems[0]
    ok = tmp_path / "ok.csv"
    ok.write_text(WEIGHTS_TEXT, encoding="utf-8")
    problems, weights = check_weights(ok, catalogue)
    assert problems == [] and weights is not None


def test_weights_check_against_the_shipped_catalogue(tmp_path, capsys):
    path = tmp_path / "w.csv"
    path.write_text(
        WEIGHTS_TEXT.replace("04600,Shoplifting", "999/98,Not a code"), encoding="utf-8"
    )
    code = main(["weights", "check", str(path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "line 6" in out and "999/98" in out


def test_weights_diff(files, tmp_path, capsys):
    weights, _ = files
    new = tmp_path / "new.csv"
    new.write_text(NEW_WEIGHTS_TEXT, encoding="utf-8")
    code = main(["weights", "diff", str(weights), str(new)])
    captured = capsys.readouterr()
    assert code == 0
    rows = list(csv.reader(io.StringIO(captured.out)))
    assert rows[0] == ["offence", "dataset", "old", "new", "change"]
    assert sorted(map(tuple, rows[1:])) == [
        ("008/06", "arrest", "120", "400", "+280"),
        ("105/01", "intelligence", "20", "130", "+110"),
    ]
    assert "2 entries differ" in captured.err
    assert main(["weights", "diff", str(weights), str(weights)]) == 0
    assert capsys.readouterr().out.splitlines() == ["offence,dataset,old,new,change"]


def test_weights_diff_of_tables_of_different_shapes(tmp_path, capsys):
    a = tmp_path / "a.csv"
    a.write_text("offence,arrest,warrant\n028/01,10,20\n105/01,5,6\n", encoding="utf-8")
    b = tmp_path / "b.csv"
    b.write_text("offence,arrest,dip\n28/1,10,1\n00806,7,8\n", encoding="utf-8")
    assert main(["weights", "diff", str(a), str(b)]) == 0
    rows = sorted(map(tuple, list(csv.reader(io.StringIO(capsys.readouterr().out)))[1:]))
    # By hand: (028/01, arrest) is equal in both; every other entry is in one table only.
    assert rows == sorted(
        [
            ("008/06", "arrest", "", "7", ""),
            ("008/06", "dip", "", "8", ""),
            ("028/01", "dip", "", "1", ""),
            ("028/01", "warrant", "20", "", ""),
            ("105/01", "arrest", "5", "", ""),
            ("105/01", "warrant", "6", "", ""),
        ]
    )


def test_bad_window_years_is_an_error(files, capsys):
    weights, events = files
    code = main(
        [
            "score",
            str(events),
            "--weights",
            str(weights),
            "--as-of",
            "2024-02-29",
            "--window-years",
            "0",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "window_years" in err


def test_a_weights_file_saved_with_a_byte_order_mark_and_crlf(files, tmp_path, capsys):
    """Spreadsheet exports start with a UTF-8 byte order mark and end lines with CRLF; the
    events reader accepts such files (utf-8-sig), and so must the weight-table reader."""
    _, events = files
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + WEIGHTS_TEXT.replace("\n", "\r\n").encode("utf-8"))
    out = tmp_path / "scores.csv"
    code = main(
        ["score", str(events), "--weights", str(bom), "--as-of", "2024-02-29", "--out", str(out)]
    )
    assert code == 0, capsys.readouterr().err
    assert read_result(out.read_text()) == expected_rows()


def test_an_events_file_with_a_byte_order_mark_crlf_and_quotes(files, tmp_path):
    weights, _ = files
    text = EVENTS_TEXT.replace(",028/01,", ',"028/01",').replace("\n", "\r\n")
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    out = tmp_path / "scores.csv"
    assert (
        main(
            [
                "score",
                str(bom),
                "--weights",
                str(weights),
                "--as-of",
                "2024-02-29",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert read_result(out.read_text()) == expected_rows()


# ------------------------------------------------------------------------------ demo


def test_demo_small(tmp_path, capsys):
    """A small synthetic cohort: the printed top ten equal the reference on the same cohort."""
    rows = ["offence," + ",".join(synth.DATASETS)]
    for j, code in enumerate(synth.OFFENCES):
        rows.append(code + "," + ",".join(str((37 * j + 11 * i) % 300) for i in range(5)))
    table = tmp_path / "synth.csv"
    table.write_text("\n".join(rows) + "\n", encoding="utf-8")
    mapping = {
        (d, o): (37 * j + 11 * i) % 300
        for i, d in enumerate(synth.DATASETS)
        for j, o in enumerate(synth.OFFENCES)
    }
    out = tmp_path / "demo.csv"
    code = main(
        [
            "demo",
            "--nominals",
            "2000",
            "--events",
            "20000",
            "--weights",
            str(table),
            "--seed",
            "3",
            "--out",
            str(out),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    cohort = synth.cohort(2000, 20000, seed=3)
    events = [
        reference.Event(
            int(e),
            int(n),
            cohort.datasets[int(d)],
            cohort.offences[int(o)],
            datetime.date.fromisoformat(str(day)),
        )
        for e, n, d, o, day in zip(
            cohort.event_id,
            cohort.nominal_id,
            cohort.dataset_index,
            cohort.offence_index,
            cohort.date,
            strict=True,
        )
    ]
    expected = reference.result(reference.score(events, mapping, cohort.as_of))
    assert read_result(out.read_text()) == expected
    assert "nominals scored" in captured.err
    # the synthetic interventions are recorded and counted as the generator made them
    made = synth.interventions(cohort, seed=3)
    nominals = len(set(made["nominal_id"].tolist()))
    assert f"interventions: {len(made['intervention_id']):,} recorded for {nominals:,} " in (
        captured.err
    )
    code = main(
        ["demo", "--nominals", "2000", "--events", "20000", "--weights", str(table), "--seed", "3"]
    )
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("top 10")
    assert [tuple(line.split()) for line in printed[1:11]] == [
        (str(n), str(s), b) for n, s, b in expected[:10]
    ]
