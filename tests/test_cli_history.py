"""``iomscore explain``, ``forecast`` and ``timeline`` end to end, on a small file of
events of any age, against :mod:`iomscore.reference` (rules 7-9) on the same events.

The weight table is test_cli's (its points written out there as ``MAPPING``).
"""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from cli_calls import run
from test_cli import MAPPING, write_files

from iomscore import reference
from iomscore.cli import _parser

D = datetime.date
D1 = D(2020, 6, 15)  # the timeline's first date: 3 years 8 months before D2
D2 = D(2024, 2, 29)  # the timeline's last date, and the as-of date of explain and forecast


def E(event_id, nominal, dataset, offence, date):
    return reference.Event(event_id, nominal, dataset, offence, date)


# Window edges at D1 (bound 2018-06-15, exclusive) and D2 (bound 2022-02-28), leap days,
# an expiry and an event on one date, events long before D1 and after D2; ids not in order.
EVENTS = [
    E(31, 100, "warrant", "028/01", D(2019, 3, 1)),  # counts at D1, stops on 2021-03-01
    E(12, 100, "arrest", "028/01", D(2020, 6, 15)),  # on D1
    E(47, 100, "arrest", "008/06", D(2021, 1, 10)),
    E(5, 100, "warrant", "028/01", D(2022, 3, 1)),  # counts at D2 (the window's first day)
    E(60, 100, "arrest", "028/01", D(2024, 2, 29)),  # on D2
    E(61, 100, "arrest", "028/01", D(2024, 6, 1)),  # after D2
    E(7, 200, "intelligence", "105/01", D(2016, 2, 29)),  # long before D1
    E(8, 200, "arrest", "028/01", D(2018, 6, 15)),  # the bound at D1: out
    E(9, 200, "arrest", "008/06", D(2018, 6, 16)),  # the window's first day at D1
    E(20, 200, "warrant", "028/01", D(2020, 2, 29)),  # stops on 2022-03-01 (no 29 Feb)
    E(21, 200, "intelligence", "028/01", D(2023, 2, 28)),
    E(40, 300, "warrant", "008/06", D(2019, 12, 31)),
    E(41, 300, "warrant", "105/01", D(2019, 12, 31)),
    E(42, 300, "arrest", "046/00", D(2021, 12, 31)),  # the day the two above stop
    E(3, 400, "arrest", "028/01", D(2017, 5, 5)),  # its only event: never counts from D1 on
    E(50, 500, "warrant", "028/01", D(2023, 11, 11)),
    E(51, 500, "warrant", "028/01", D(2023, 11, 12)),
    E(70, 600, "arrest", "105/01", D(2022, 8, 1)),
    E(71, 600, "warrant", "028/01", D(2023, 8, 1)),
    E(72, 700, "intelligence", "046/00", D(2024, 2, 1)),
    E(73, 700, "arrest", "028/01", D(2022, 3, 10)),
]


def write_events(folder, events=EVENTS, name="history.csv"):
    """The events as a CSV file in ``folder``, in the order given."""
    path = folder / name
    lines = ["event_id,nominal_id,dataset,offence,date"]
    lines += [f"{e.event_id},{e.nominal_id},{e.dataset},{e.offence},{e.date}" for e in events]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path):
    weights, _ = write_files(tmp_path)
    return weights, write_events(tmp_path)


def read_csv(text, header):
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == header
    return rows[1:]


def explain_rows(text):
    rows = read_csv(text, ["event_id", "dataset", "offence", "date", "points", "expires"])
    return [
        (int(e), d, o, D.fromisoformat(t), int(p), D.fromisoformat(x)) for e, d, o, t, p, x in rows
    ]


def forecast_rows(text):
    rows = read_csv(text, ["nominal_id", "score", "band", "band_falls_on", "falls_to", "none_on"])
    return [
        (int(n), int(s), b, D.fromisoformat(f), t, D.fromisoformat(z)) for n, s, b, f, t, z in rows
    ]


def timeline_rows(text):
    rows = read_csv(text, ["date", "score", "band"])
    return [(D.fromisoformat(d), int(s), b) for d, s, b in rows]


def test_the_fixture_by_hand():
    """The reference on the events above, worked by hand: a check on the fixture itself."""
    assert reference.timeline(EVENTS, MAPPING, 200, D1, D2) == [
        (D1, 620, "MEDIUM"),  # 120 (2018-06-16) + 500 (2020-02-29); 2018-06-15 is out
        (D(2020, 6, 16), 500, "MEDIUM"),  # 2018-06-16 stops
        (D(2022, 3, 1), 0, "NONE"),  # 2020-02-29 stops on 1 March
        (D(2023, 2, 28), 125, "NONE"),
    ]
    assert reference.explain(EVENTS, MAPPING, D2, 400) == []


# ---------------------------------------------------------------------------- explain


@pytest.mark.parametrize("nominal", [100, 200, 500, 600, 700])
def test_explain_equals_the_reference(files, capsys, nominal):
    weights, events = files
    code, out, err = run(
        capsys, "explain", events, "--weights", weights, "--as-of", D2, "--nominal", nominal
    )
    assert code == 0, err
    expected = reference.explain(EVENTS, MAPPING, D2, nominal)
    assert expected  # every nominal here has a counting event at D2
    assert explain_rows(out) == expected
    points = reference.score(EVENTS, MAPPING, D2)[nominal]
    assert f"nominal {nominal} at {D2}: {points:,} points, {reference.band(points)};" in err
    for dataset in ("arrest", "intelligence", "warrant"):
        total = sum(row[4] for row in expected if row[1] == dataset)
        assert f"{dataset} {total:,}" in err


def test_explain_at_other_dates_and_windows(files, capsys):
    weights, events = files
    for as_of, years in [(D1, 2), (D(2021, 12, 31), 1), (D(2022, 3, 1), 3)]:
        code, out, err = run(
            capsys,
            "explain",
            events,
            "--weights",
            weights,
            "--as-of",
            as_of,
            "--nominal",
            300,
            "--window-years",
            years,
        )
        assert code == 0, err
        assert explain_rows(out) == reference.explain(EVENTS, MAPPING, as_of, 300, years)


def test_explain_a_nominal_without_a_counting_event(files, capsys):
    """In the file, but its only event is long gone: no rows, 0 points, NONE (rule 4)."""
    weights, events = files
    code, out, err = run(
        capsys, "explain", events, "--weights", weights, "--as-of", D2, "--nominal", 400
    )
    assert code == 0, err
    assert explain_rows(out) == reference.explain(EVENTS, MAPPING, D2, 400) == []
    assert f"nominal 400 at {D2}: 0 points, NONE; arrest 0, intelligence 0, warrant 0" in err


def test_explain_to_a_file(files, tmp_path, capsys):
    weights, events = files
    out_path = tmp_path / "why.csv"
    code, out, err = run(
        capsys,
        "explain",
        events,
        "--weights",
        weights,
        "--as-of",
        D2,
        "--nominal",
        100,
        "--out",
        out_path,
    )
    assert code == 0, err
    assert out == ""
    text = out_path.read_text(encoding="utf-8")
    assert explain_rows(text) == reference.explain(EVENTS, MAPPING, D2, 100)


def test_explain_a_nominal_not_in_the_file(files, tmp_path, capsys):
    weights, events = files
    out_path = tmp_path / "why.csv"
    code, out, err = run(
        capsys,
        "explain",
        events,
        "--weights",
        weights,
        "--as-of",
        D2,
        "--nominal",
        987654,
        "--out",
        out_path,
    )
    assert code == 2
    assert err.startswith("iomscore: error: ") and "987654" in err
    assert len(err.splitlines()) == 1
    assert out == "" and not out_path.exists()


def test_a_negative_nominal_names_the_option(files, capsys):
    weights, events = files
    code, _, err = run(
        capsys, "explain", events, "--weights", weights, "--as-of", D2, "--nominal", -4
    )
    assert code == 2
    assert "--nominal" in err and "-4" in err


# ---------------------------------------------------------------------------- forecast


@pytest.mark.parametrize(("as_of", "years"), [(D2, 2), (D(2022, 3, 1), 2), (D2, 3), (D2, 1)])
def test_forecast_equals_the_reference(files, capsys, as_of, years):
    weights, events = files
    code, out, err = run(
        capsys,
        "forecast",
        events,
        "--weights",
        weights,
        "--as-of",
        as_of,
        "--window-years",
        years,
    )
    assert code == 0, err
    expected = reference.forecast(EVENTS, MAPPING, as_of, years)
    assert expected
    assert forecast_rows(out) == expected
    assert f"banded nominals at {as_of}: {len(expected):,} (" in err
    for days in (30, 90):
        last = as_of + datetime.timedelta(days=days)
        falls = sum(1 for row in expected if row[3] <= last)
        leave = sum(1 for row in expected if row[5] <= last)
        assert f"within {days} days {falls:,} fall a band, {leave:,} leave every band" in err


def test_forecast_to_a_file(files, tmp_path, capsys):
    weights, events = files
    out_path = tmp_path / "falls.csv"
    code, out, err = run(
        capsys, "forecast", events, "--weights", weights, "--as-of", D2, "--out", out_path
    )
    assert code == 0, err
    assert out == ""
    rows = forecast_rows(out_path.read_text(encoding="utf-8"))
    assert rows == reference.forecast(EVENTS, MAPPING, D2)
    # HIGH 1000, MEDIUM 750, MEDIUM 560, LOW 260
    assert [row[0] for row in rows] == [500, 100, 600, 700]


# ---------------------------------------------------------------------------- timeline


def timeline_args(events, weights, nominal, start=D1, end=D2, *extra):
    dates = ["--from", start, "--to", end]
    return ["timeline", events, "--weights", weights, "--nominal", nominal, *dates, *extra]


@pytest.mark.parametrize("nominal", [100, 200, 300, 400, 600, 700])
def test_timeline_equals_the_reference(files, capsys, nominal):
    """D1 is further back than the engine's default history (2 years) reaches at D2."""
    weights, events = files
    code, out, err = run(capsys, *timeline_args(events, weights, nominal))
    assert code == 0, err
    expected = reference.timeline([e for e in EVENTS if e.date <= D2], MAPPING, nominal, D1, D2)
    assert timeline_rows(out) == expected
    first, last = expected[0], expected[-1]
    assert (
        f"nominal {nominal}: {first[1]:,} points, {first[2]} at {D1}; "
        f"{last[1]:,} points, {last[2]} at {D2}; {len(expected) - 1:,} score changes"
    ) in err


def test_timeline_counts_changes_before_the_default_history(files, capsys):
    """Nominal 100's steps before 2022-02-28 need the events archived on the way."""
    weights, events = files
    code, out, err = run(capsys, *timeline_args(events, weights, 100))
    assert code == 0, err
    rows = timeline_rows(out)
    assert rows[0] == (D1, 750, "MEDIUM")  # 500 (2019-03-01) + 250 (on D1)
    assert (D(2021, 3, 1), 370, "LOW") in rows  # the warrant stops; 120 came on 2021-01-10
    assert rows[-1] == (D2, 750, "MEDIUM")  # 500 (2022-03-01) + 250 (on D2)


@pytest.mark.parametrize(
    ("start", "end", "years"),
    [
        (D1, D2, 1),
        (D1, D2, 3),
        (D(2016, 3, 1), D2, 2),  # eight years: many steps
        (D(2012, 1, 1), D(2019, 12, 31), 1),
        (D2, D2, 2),  # one date
        (D(2020, 2, 29), D(2022, 3, 1), 2),
    ],
)
def test_timeline_other_spans_and_windows(files, capsys, start, end, years):
    weights, events = files
    for nominal in (100, 200, 300):
        code, out, err = run(
            capsys,
            *timeline_args(events, weights, nominal, start, end, "--window-years", years),
        )
        assert code == 0, err
        mine = [e for e in EVENTS if e.date <= end]
        assert timeline_rows(out) == reference.timeline(mine, MAPPING, nominal, start, end, years)


def test_timeline_to_a_file(files, tmp_path, capsys):
    weights, events = files
    out_path = tmp_path / "moves.csv"
    code, out, err = run(capsys, *timeline_args(events, weights, 200), "--out", out_path)
    assert code == 0, err
    assert out == ""
    rows = timeline_rows(out_path.read_text(encoding="utf-8"))
    assert rows == reference.timeline(EVENTS, MAPPING, 200, D1, D2)


def test_timeline_of_a_nominal_not_in_the_file(files, tmp_path, capsys):
    weights, events = files
    out_path = tmp_path / "moves.csv"
    code, out, err = run(capsys, *timeline_args(events, weights, 4242), "--out", out_path)
    assert code == 2
    assert err.startswith("iomscore: error: ") and "4242" in err
    assert out == "" and not out_path.exists()


def test_timeline_from_after_to(files, capsys):
    weights, events = files
    code, out, err = run(
        capsys, *timeline_args(events, weights, 100, D(2024, 3, 1), D(2024, 2, 29))
    )
    assert code == 2
    assert "--from 2024-03-01" in err and "--to 2024-02-29" in err
    assert out == ""


def test_timeline_names_the_line_of_a_bad_event(files, tmp_path, capsys):
    weights, _ = files
    bad = write_events(tmp_path, [*EVENTS[:3], E(99, 100, "arrest", "999/99", D1)], "bad.csv")
    code, _, err = run(capsys, *timeline_args(bad, weights, 100))
    assert code == 2
    assert "line 5" in err and "999/99" in err


# ---------------------------------------------------------------------------- options


@pytest.mark.parametrize(
    ("command", "option"),
    [
        ("explain", "--as-of"),
        ("forecast", "--as-of"),
        ("timeline", "--from"),
        ("timeline", "--to"),
    ],
)
def test_a_bad_date_names_the_option(files, capsys, command, option):
    weights, events = files
    dates = {"--as-of": str(D2), "--from": str(D1), "--to": str(D2)}
    dates[option] = "2023-02-29"
    argv = [command, events, "--weights", weights]
    if command == "timeline":
        argv += ["--nominal", 100, "--from", dates["--from"], "--to", dates["--to"]]
    else:
        argv += ["--as-of", dates["--as-of"]]
        argv += ["--nominal", 100] if command == "explain" else []
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith(f"iomscore: error: {option}:") and "2023-02-29" in err
    assert out == ""


def test_every_option_has_help():
    parser = _parser()
    commands = next(a for a in parser._actions if a.choices and "explain" in a.choices)
    for name in ("explain", "forecast", "timeline"):
        actions = commands.choices[name]._actions
        options = {opt for action in actions for opt in action.option_strings}
        assert {"--weights", "--window-years", "--encoding", "--out", "--quiet"} <= options
        for action in actions:
            assert action.help, (name, action.option_strings or action.dest)
