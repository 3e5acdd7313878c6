"""One nominal's score chart (issue 26): :mod:`iomscore.chart` and ``iomscore chart``.

The directory is a small synthetic force made by the command line (as in
test_cli_odoc), with a year of ODOC decisions, then an assessment and two
interventions of the charted nominal recorded through the engine. The SVG's step
line is checked against ``engine.timeline``, its event marks (one path of ticks per
dataset) against ``engine.event_history``; the PNG by its signature and size, and
the figure it is drawn from by its event marks.
"""

from __future__ import annotations

import csv
import datetime
import re
import sys
import xml.etree.ElementTree as ET

import pytest
from cli_calls import run

from iomscore import Engine, synth
from iomscore.chart import (
    SVG_NAMESPACE,
    draw,
    score_chart,
    svg_document,
    write_png,
    write_svg,
)
from iomscore.cli import main
from iomscore.cohort import DECISION_COLUMNS, DECISION_OPTIONAL
from iomscore.errors import EngineError

D = datetime.date
FIRST = D(2026, 5, 12)
AS_OF = FIRST + datetime.timedelta(days=14)
START = AS_OF - datetime.timedelta(days=700)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG = "{" + SVG_NAMESPACE + "}"


def write_columns(path, columns, names):
    values = [list(columns[name]) for name in names]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(names)
        for row in zip(*values, strict=True):
            writer.writerow(["" if v is None else str(v) for v in row])


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """(directory, the charted nominal): the decided nominal with the most score steps."""
    base = tmp_path_factory.mktemp("chart")
    cohort = synth.cohort(300, 4000, as_of=FIRST, seed=7)
    events = base / "events.csv"
    cohort.write_csv(events)
    target = base / "engine"

    def cli(*argv):
        assert main([str(a) for a in argv]) == 0, argv

    cli("db", "init", target, "--as-of", FIRST)
    cli("db", "ingest", target, events)
    with Engine.open(target, readonly=True) as engine:
        scores = engine.scores()
    decisions = base / "decisions.csv"
    decided = synth.decisions(scores, seed=7)
    write_columns(decisions, decided, (*DECISION_COLUMNS, *DECISION_OPTIONAL))
    cli("db", "decide", target, decisions)
    cli("db", "advance", target, "--to", AS_OF)
    with Engine.open(target) as engine:
        chosen = {d.nominal_id for d in engine.decisions()}
        nominal = max(sorted(chosen), key=lambda n: len(engine.timeline(n, START, AS_OF)))
        engine.assess(
            {
                "assessment_id": [1],
                "nominal_id": [nominal],
                "tool": ["oasys"],
                "score": [30],
                "date": [(AS_OF - datetime.timedelta(days=60)).isoformat()],
            }
        )
        engine.record_interventions(
            {
                "intervention_id": [1, 2],
                "nominal_id": [nominal, nominal],
                "kind": ["drug_treatment_dip", "alcohol_treatment"],
                "start": [(AS_OF - datetime.timedelta(days=200)).isoformat(), "2026-01-05"],
                "end": [(AS_OF - datetime.timedelta(days=100)).isoformat(), ""],
                "lead_agency": ["probation", "police"],
            }
        )
    return target, nominal


@pytest.fixture(scope="module")
def chart_and_timeline(folder):
    target, nominal = folder
    with Engine.open(target, readonly=True) as engine:
        chart = score_chart(engine, nominal, START, AS_OF)
        timeline = engine.timeline(nominal, START, AS_OF).rows()
    return chart, timeline


@pytest.fixture(scope="module")
def history(folder):
    """``{dataset: [dates]}`` of the charted nominal's events in the span, every
    dataset of the table (empty where none), from the engine."""
    target, nominal = folder
    with Engine.open(target, readonly=True) as engine:
        rows = engine.event_history(nominal, START, AS_OF).rows()
        by_dataset: dict[str, list[datetime.date]] = {d: [] for d in engine.weights.datasets}
    for _, dataset, _, day, _ in rows:
        by_dataset[dataset].append(day)
    return by_dataset


def _path_points(d: str) -> list[tuple[float, float]]:
    """The corners of the pack's step path ``M0,yH x V y ... H w``: (x, y) after each V."""
    match = re.fullmatch(r"M0,([-\d.]+)((?:H[-\d.]+V[-\d.]+)*)H[-\d.]+", d)
    assert match, d
    points = [(0.0, float(match[1]))]
    points += [(float(x), float(y)) for x, y in re.findall(r"H([-\d.]+)V([-\d.]+)", match[2])]
    return points


def test_the_chart_is_the_timeline_with_the_records_of_the_span(
    folder, chart_and_timeline, history
):
    chart, timeline = chart_and_timeline
    assert chart.steps == tuple((day, score) for day, score, _ in timeline)
    assert len(chart.steps) > 3
    assert chart.datasets == tuple(history)
    assert chart.event_counts() == {name: len(days) for name, days in history.items()}
    assert sorted(chart.events) == sorted((d, n) for n, days in history.items() for d in days)
    assert sum(chart.event_counts().values()) > 3
    assert len([n for n, days in history.items() if days]) > 1  # more than one dataset
    with Engine.open(folder[0], readonly=True) as engine:
        assert chart.thresholds == tuple(engine.thresholds)
        decisions = [(d.date, d.action) for d in engine.decisions(folder[1])]
    assert list(chart.decisions) == [d for d in decisions if START <= d[0] <= AS_OF]
    assert chart.decisions  # the nominal was decided on
    assert chart.assessments == (AS_OF - datetime.timedelta(days=60),)
    assert sorted(kind for kind, _, _ in chart.interventions) == [
        "alcohol_treatment",
        "drug_treatment_dip",
    ]


def test_the_svg_parses_and_its_steps_are_the_timeline(chart_and_timeline, history, tmp_path):
    chart, timeline = chart_and_timeline
    out = tmp_path / "chart.svg"
    write_svg(chart, out)
    text = out.read_text(encoding="utf-8")
    assert text == svg_document(chart)
    root = ET.fromstring(text)
    assert root.tag == SVG + "svg"
    # no reference outside the file: the only URL is the SVG namespace
    assert text.replace(SVG_NAMESPACE, "").count("http") == 0
    (path,) = [p for p in root.iter(SVG + "path") if p.get("class") == "line"]
    points = _path_points(path.get("d"))
    assert len(points) == len(timeline)
    span = (AS_OF - START).days
    xs = [(day - START).days / span * chart.WIDTH for day, _, _ in timeline]
    assert [x for x, _ in points[1:]] == pytest.approx(xs[1:], abs=0.051)
    # y falls as the score rises, by the same amounts
    scores = [score for _, score, _ in timeline]
    ys = [y for _, y in points]
    scale = (chart._BASE - chart._TOP) / (max([*scores, chart.thresholds[1]]) * 1.1)
    assert [chart._BASE - y for y in ys] == pytest.approx([s * scale for s in scores], abs=0.051)
    inner = root.find(SVG + "svg")
    assert inner is not None and inner.get("data-nominal") == str(chart.nominal_id)
    lines = [e for e in root.iter(SVG + "line") if e.get("class", "").startswith("d-")]
    assert len(lines) == len(chart.decisions)
    assert len([e for e in root.iter(SVG + "circle") if e.get("class") == "as"]) == 1
    assert len([e for e in root.iter(SVG + "rect") if e.get("class") == "iv"]) == 2
    # the events: one path of ticks per dataset with events, its class naming the
    # dataset's column, a tick (M x,base v-5) at each event's date
    marks = [p for p in root.iter(SVG + "path") if p.get("class", "").startswith("ev ")]
    assert [p.get("data-dataset") for p in marks] == [n for n, days in history.items() if days]
    columns = list(history)
    for mark in marks:
        name = mark.get("data-dataset")
        assert mark.get("class") == f"ev e{columns.index(name)}"
        ticks = re.findall(r"M([-\d.]+),([-\d.]+)v-5", mark.get("d"))
        assert "".join(f"M{x},{y}v-5" for x, y in ticks) == mark.get("d")
        assert {float(y) for _, y in ticks} == {chart._BASE}
        expected = [(day - START).days / span * chart.WIDTH for day in history[name]]
        assert sorted(float(x) for x, _ in ticks) == pytest.approx(sorted(expected), abs=0.051)
    assert f".e{len(columns) - 1}{{stroke:" in text  # a colour for every dataset


def test_the_png_is_a_png(chart_and_timeline, tmp_path):
    pytest.importorskip("matplotlib")
    chart, _ = chart_and_timeline
    out = tmp_path / "chart.png"
    write_png(chart, out)
    data = out.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 20_000
    assert [p.name for p in tmp_path.iterdir()] == ["chart.png"]  # no temporary file left


def test_the_png_marks_each_datasets_events_in_its_own_lane(chart_and_timeline, history):
    pytest.importorskip("matplotlib")
    chart, _ = chart_and_timeline
    (ax,) = draw(chart).axes
    marks = {
        line.get_gid().removeprefix("events:"): line
        for line in ax.get_lines()
        if (line.get_gid() or "").startswith("events:")
    }
    assert list(marks) == [n for n, days in history.items() if days]
    lanes = set()
    for name, line in marks.items():
        assert sorted(line.get_xdata()) == sorted(history[name])
        assert line.get_label() == f"{name} events ({len(history[name])})"
        lanes.add(float(line.get_ydata()[0]))
    assert len(lanes) == len(marks)  # a lane each
    assert len({line.get_marker() for line in marks.values()}) == len(marks)
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert all(line.get_label() in legend for line in marks.values())


def test_an_unknown_nominal_and_dates_outside_the_history_are_refused(folder):
    target, nominal = folder
    with Engine.open(target, readonly=True) as engine:
        with pytest.raises(EngineError, match="not held"):
            score_chart(engine, 10**12, START, AS_OF)
        with pytest.raises(EngineError, match="after as_of"):
            score_chart(engine, nominal, START, AS_OF + datetime.timedelta(days=1))


@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_the_command_writes_the_chart(folder, chart_and_timeline, tmp_path, capsys, suffix):
    if suffix == ".png":
        pytest.importorskip("matplotlib")
    target, nominal = folder
    chart, _ = chart_and_timeline
    out = tmp_path / f"n{suffix}"
    code, stdout, err = run(
        capsys,
        "chart", "--db", target, "--nominal", nominal, "--from", START, "--to", AS_OF,
        "--out", out, "--user", "u1", "--reason", "case review",
    )  # fmt: skip
    assert code == 0 and stdout == "", err
    data = out.read_bytes()
    if suffix == ".svg":
        assert data.decode("utf-8") == svg_document(chart)
    else:
        assert data.startswith(PNG_SIGNATURE) and len(data) > 20_000
    assert err.count("\n") == 1
    assert err.startswith(f"nominal {nominal}: {len(chart.steps):,} score steps from {START}")
    assert err.endswith(f"{out} {len(data):,} bytes\n")
    with Engine.open(target, readonly=True) as engine:
        reads = [a.operation for a in engine.audit("u1", nominal)]
    assert "timeline" in reads and "event_history" in reads  # the reads were audited


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--out": "chart.pdf"}, "--out "),
        ({"--nominal": 10**12}, "--nominal 1000000000000: nominal 1000000000000 is not held"),
        ({"--to": "2026-06-30"}, "--to 2026-06-30 is after the as-of date"),
        ({"--from": "2020-01-01"}, "--from 2020-01-01 is before "),
        ({"--from": "2026-05-20", "--to": "2026-05-19"}, "is after --to"),
    ],
)
def test_the_command_refuses(folder, tmp_path, capsys, change, message):
    target, nominal = folder
    options = {
        "--db": target,
        "--nominal": nominal,
        "--from": START,
        "--to": AS_OF,
        "--out": tmp_path / "chart.svg",
    }
    options.update(change)
    if change.get("--out") == "chart.pdf":
        options["--out"] = tmp_path / "chart.pdf"
    argv = [str(part) for pair in options.items() for part in pair]
    code, stdout, err = run(capsys, "chart", *argv)
    assert code == 2 and stdout == "", err
    assert err.startswith("iomscore: error: ") and err.count("\n") == 1, err
    assert message in err
    assert list(tmp_path.iterdir()) == []


def test_a_png_without_matplotlib_names_the_extra(folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    target, nominal = folder
    out = tmp_path / "chart.png"
    code, stdout, err = run(
        capsys,
        "chart", "--db", target, "--nominal", nominal, "--from", START, "--to", AS_OF,
        "--out", out,
    )  # fmt: skip
    assert code == 2 and stdout == ""
    assert 'pip install "iomscore[charts]"' in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
