"""The ODOC meeting pack against a plain reference.

A small engine is built from a model the test keeps itself (events, assessments,
interventions, owners and decisions, planted cases plus random ones), scored at the
previous meeting D0, advanced through the month with new events, transfers and
decisions, and packed at the meeting D. Every list is checked against rows built
here from :mod:`iomscore.reference` (scores at D and D0, explanations, forecasts,
timelines) and the model's own owners and decisions; the CSVs are read back, and
the HTML page is parsed and its tables compared with the lists.
"""

from __future__ import annotations

import collections
import csv
import datetime
import itertools
import random
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from strategies import DATASETS, OFFENCES, assessment_columns, event_columns, make_weights

from iomscore import Engine, EngineError, reference
from iomscore.assessments import AssessmentTable
from iomscore.cohort import UNOWNED
from iomscore.pack import LIST_NAMES, Pack, build_pack, build_packs

D = datetime.date
DAY = datetime.timedelta(days=1)
D0 = D(2026, 10, 29)  # the previous meeting
MID = D(2026, 11, 12)
MEETING = D(2026, 11, 26)  # D
POINTS = [[300, 120, 40, 60], [125, 30, 10, 20], [500, 80, 25, 45]]
WEIGHTS = make_weights(POINTS, name="pack-test")
WMAP = {
    (dataset, offence): POINTS[i][j]
    for i, dataset in enumerate(DATASETS)
    for j, offence in enumerate(OFFENCES)
}
TABLE_ROWS = [
    ("asset", 0, 31, 0),
    ("asset", 32, 64, 90),
    ("oasys", 0, 49, 0),
    ("oasys", 50, 99, 120),
]
ATABLE = {tool: [(lo, hi, p) for t, lo, hi, p in TABLE_ROWS if t == tool] for tool in ("asset",)}
ATABLE["oasys"] = [(lo, hi, p) for t, lo, hi, p in TABLE_ROWS if t == "oasys"]
AREAS = ("Coventry", "Dudley", "Walsall")
KINDS = ("mentoring", "drug_treatment_dip", "accommodation_support")
ORDER = reference.BANDS.index


@dataclass
class Model:
    """What the test put into the engine, in plain Python."""

    events: list[reference.Event] = field(default_factory=list)
    assessments: list[reference.Assessment] = field(default_factory=list)
    # (intervention_id, nominal_id, kind, start, end or None)
    interventions: list[tuple] = field(default_factory=list)
    owners: list[tuple[int, str, datetime.date]] = field(default_factory=list)
    # (nominal_id, date, action, lead_agency, tier), in the order decided
    decisions: list[tuple] = field(default_factory=list)

    # ------------------------------------------------------------------ plain reference
    def scores(self, on: datetime.date) -> dict[int, int]:
        return reference.score(
            self.events, WMAP, on, assessments=self.assessments, assessment_table=ATABLE
        )

    def explain(self, nominal: int, on: datetime.date) -> list[tuple]:
        return reference.explain(
            self.events,
            WMAP,
            on,
            nominal,
            assessments=self.assessments,
            assessment_table=ATABLE,
        )

    def forecast(self) -> dict[int, tuple]:
        rows = reference.forecast(
            self.events, WMAP, MEETING, assessments=self.assessments, assessment_table=ATABLE
        )
        return {row[0]: row for row in rows}

    def timeline(self, nominal: int, start: datetime.date) -> list[tuple]:
        return reference.timeline(
            self.events,
            WMAP,
            nominal,
            start,
            MEETING,
            assessments=self.assessments,
            assessment_table=ATABLE,
        )

    def events_of(self, nominal: int, start: datetime.date) -> list[tuple]:
        """``(date, dataset)`` of the nominal's events from ``start`` to D, by date
        then event_id (every event the test made is held or archived at D)."""
        rows = reference.event_history(self.events, WMAP, nominal, start, MEETING)
        return [(day, dataset) for _, dataset, _, day, _ in rows]

    def owner(self, nominal: int, on: datetime.date) -> str | None:
        mine = sorted((d, a) for n, a, d in self.owners if n == nominal and d <= on)
        return mine[-1][1] if mine else None

    def selected(self, on: datetime.date) -> dict[int, tuple]:
        """``{nominal: its select decision}`` of those selected on a date."""
        state: dict[int, tuple] = {}
        for decision in self.decisions:
            if decision[1] > on:
                continue
            if decision[2] == "select":
                state[decision[0]] = decision
            else:
                state.pop(decision[0], None)
        return state

    def transfers(self, area: str) -> list[tuple]:
        out = []
        for nominal in sorted({n for n, _, _ in self.owners}):
            mine = sorted((d, a) for n, a, d in self.owners if n == nominal)
            for (_, old), (day, new) in itertools.pairwise(mine):
                if D0 < day <= MEETING and old != new and area in (old, new):
                    out.append(("in" if new == area else "out", nominal, day, old, new))
        return sorted(out, key=lambda r: (r[0] != "in", r[2], r[1]))


def _columns(rows: list[tuple], names: tuple[str, ...]) -> dict[str, list]:
    return {name: [row[i] for row in rows] for i, name in enumerate(names)}


def _decide(engine: Engine, model: Model, rows: list[tuple], meeting: str) -> None:
    batch = {
        "nominal_id": [r[0] for r in rows],
        "date": [r[1].isoformat() for r in rows],
        "action": [r[2] for r in rows],
        "meeting_id": [meeting] * len(rows),
        "lead_agency": [r[3] for r in rows],
        "tier": [r[4] for r in rows],
        "reason": [None if r[2] == "select" else "score_below_threshold" for r in rows],
    }
    engine.decide(batch)
    model.decisions += rows


def _random_date(rng: random.Random, low: datetime.date, high: datetime.date) -> datetime.date:
    return low + DAY * rng.randint(0, (high - low).days)


def _build(seed: int) -> tuple[Engine, Model]:
    """An engine scored at D0, advanced to MID and to D with events in between."""
    rng = random.Random(seed)
    model = Model()
    first = reference.window_start(D0) + DAY  # the earliest date counting at D0
    expiring = reference.window_start(MEETING)  # dated up to here: gone by D

    def event(nominal: int, dataset: str, offence: str, day: datetime.date) -> None:
        model.events.append(reference.Event(len(model.events) + 1, nominal, dataset, offence, day))

    # planted cases ----------------------------------------------------------------------
    event(101, "arrest", "008/06", MEETING - 2 * 365 * DAY + 10 * DAY)  # 300, falls by D+28
    event(101, "intelligence", "028/01", D0 - 10 * DAY)  # 30
    event(102, "arrest", "008/06", first + 2 * DAY)  # 300, expires before D
    event(102, "intelligence", "046/00", D0 - 20 * DAY)  # 10: LOW at D0, NONE at D
    event(103, "intelligence", "008/06", D0 - 100 * DAY)  # 125: NONE at D0
    event(103, "arrest", "008/06", MID)  # +300: LOW at D, risen, new candidate
    event(104, "warrant", "008/06", D0 - 50 * DAY)  # 500 MEDIUM, moves Coventry -> Dudley
    event(105, "warrant", "028/01", D0 - 5 * DAY)
    event(106, "arrest", "028/01", MEETING)
    event(107, "arrest", "008/06", D0 - 3 * DAY)
    event(108, "arrest", "028/01", D0 - 30 * DAY)
    horizon = MEETING + 28 * DAY  # the next meeting: NONE on it is NONE before it
    event(109, "arrest", "008/06", reference.window_start(horizon))  # NONE on the horizon
    event(110, "arrest", "008/06", reference.window_start(horizon) + DAY)  # the day after
    # random nominals 1..40 ----------------------------------------------------------------
    for nominal in range(1, 41):
        for _ in range(rng.randint(0, 6)):
            if rng.random() < 0.25:
                day = _random_date(rng, first, expiring)
            else:
                day = _random_date(rng, first, MEETING)
            event(nominal, rng.choice(DATASETS), rng.choice(OFFENCES), day)
    assessment_id = 5000
    for nominal in [108, *rng.sample(range(1, 41), 12)]:
        for _ in range(rng.randint(1, 3)):
            assessment_id += 1
            tool = rng.choice(("asset", "oasys"))
            raw = rng.randint(0, 64 if tool == "asset" else 99)
            day = _random_date(rng, first, MEETING)
            model.assessments.append(reference.Assessment(assessment_id, nominal, tool, raw, day))
    model.interventions.append((699, 108, "mentoring", D0, None))
    for i, nominal in enumerate([108, 101, *rng.sample(range(1, 41), 10)]):
        start = _random_date(rng, MEETING - 700 * DAY, MEETING)
        end = None if rng.random() < 0.5 else start + DAY * rng.randint(0, 300)
        model.interventions.append((700 + i, nominal, rng.choice(KINDS), start, end))

    # owners: most nominals owned before D0; transfers on D0 (not after it), inside the
    # month, and on D itself; one first owned after D0 (not a transfer)
    owners = [
        (101, "Coventry", D0 - 200 * DAY),
        (102, "Coventry", D0 - 200 * DAY),
        (103, "Coventry", D0 - 200 * DAY),
        (104, "Coventry", D0 - 200 * DAY),
        (104, "Dudley", D0 + 7 * DAY),
        (105, "Walsall", D0 - 200 * DAY),
        (105, "Coventry", D0),
        (106, "Dudley", D0 - 200 * DAY),
        (106, "Coventry", MEETING),
        (107, "Coventry", D0 + 5 * DAY),
        (108, "Coventry", D0 - 90 * DAY),
        (109, "Coventry", D0 - 90 * DAY),
        (110, "Coventry", D0 - 90 * DAY),
        (999, "Coventry", D0 - 90 * DAY),
    ]
    for nominal in range(1, 41):
        if rng.random() < 0.75:
            area = rng.choice(AREAS)
            owners.append((nominal, area, _random_date(rng, D0 - 400 * DAY, D0)))
            if rng.random() < 0.3:
                other = rng.choice([a for a in AREAS if a != area])
                owners.append((nominal, other, _random_date(rng, D0 + DAY, MEETING)))
    model.owners = owners

    # decisions before D0 (selections, one de-selection) and during the month
    before = [
        (101, D0 - 40 * DAY, "select", "police", "1"),
        (102, D0 - 40 * DAY, "select", "probation", None),
        (108, D0 - 60 * DAY, "select", "probation", "2"),
        (109, D0 - 60 * DAY, "select", "police", None),
        (110, D0 - 60 * DAY, "select", "police", None),
        (999, D0 - 60 * DAY, "select", "police", None),
    ]
    chosen = rng.sample(range(1, 41), 12)
    before += [(n, D0 - 30 * DAY, "select", "police", None) for n in chosen[:8]]
    before += [(chosen[0], D0, "deselect", None, None)]
    during = [(n, MID, "select", "youth_offending_service", "3") for n in chosen[8:]]
    during += [(chosen[1], MEETING, "deselect", None, None)]

    # the engine: at D0, then MID, then D ----------------------------------------------------
    engine = Engine(WEIGHTS, D0, threads=1, assessment_table=AssessmentTable(TABLE_ROWS))
    windows = [(None, D0), (D0, MID), (MID, MEETING)]
    for low, high in windows:
        if engine.as_of != high:
            engine.advance(high)
        new = [e for e in model.events if (low is None or e.date > low) and e.date <= high]
        if new:
            engine.ingest(event_columns(new))
        assessed = [
            a for a in model.assessments if (low is None or a.date > low) and a.date <= high
        ]
        if assessed:
            engine.assess(assessment_columns(assessed))
        if high == D0:
            engine.record_owners(
                _columns([o for o in owners if o[2] <= D0], ("nominal_id", "area", "from_date"))
            )
            _decide(engine, model, before, "odoc-previous")
        if high == MID:
            _decide(engine, model, during[:-1], "odoc-mid")
    engine.record_owners(
        _columns([o for o in owners if o[2] > D0], ("nominal_id", "area", "from_date"))
    )
    _decide(engine, model, during[-1:], "odoc-now")
    rows = model.interventions
    engine.record_interventions(
        {
            "intervention_id": [r[0] for r in rows],
            "nominal_id": [r[1] for r in rows],
            "kind": [r[2] for r in rows],
            "start": [r[3].isoformat() for r in rows],
            "end": ["" if r[4] is None else r[4].isoformat() for r in rows],
            "lead_agency": ["probation"] * len(rows),
        }
    )
    return engine, model


# -------------------------------------------------------------------------- the reference
def _key(band: str, score: int, nominal: int) -> tuple:
    return (-ORDER(band), -score, nominal)


def _expected(engine: Engine, model: Model, area: str) -> dict[str, list[tuple]]:
    """Every list of the pack, built from the reference and the model alone (the engine
    is asked only for strands, which the pack copies from it)."""
    owned = None if area == UNOWNED else area.capitalize()
    now, then = model.scores(MEETING), model.scores(D0)
    chosen = model.selected(MEETING)
    nominals = {e.nominal_id for e in model.events} | {a.nominal_id for a in model.assessments}
    nominals |= set(chosen)

    def mine(n: int) -> bool:
        return model.owner(n, MEETING) == owned

    def band(scores: dict, n: int) -> str:
        return reference.band(scores.get(n, 0))

    strands = {row[0]: row[4] for row in engine.candidates().rows()}
    strands |= {row[0]: row[4] for row in engine.selection().rows()}
    candidates = sorted(
        (n for n in nominals if mine(n) and n not in chosen and band(now, n) != "NONE"),
        key=lambda n: _key(band(now, n), now.get(n, 0), n),
    )
    selected = sorted(
        (n for n in chosen if mine(n)), key=lambda n: _key(band(now, n), now.get(n, 0), n)
    )
    out: dict[str, list[tuple]] = {}
    out["new_candidates"] = [
        (
            n,
            now[n],
            band(now, n),
            strands[n],
            then.get(n, 0),
            band(then, n),
            band(then, n) == "NONE",
        )
        for n in candidates
    ]
    moved = []
    for status, ids in (("candidate", candidates), ("selected", selected)):
        for n in ids:
            old, new = band(then, n), band(now, n)
            if old == new:
                continue
            explained_now = model.explain(n, MEETING)
            fresh = [r for r in explained_now if r[3] > D0]
            kept = {(r[0], r[1]) for r in explained_now}
            stopped = sum(r[4] for r in model.explain(n, D0) if (r[0], r[1]) not in kept)
            moved.append(
                (
                    n,
                    status,
                    "risen" if ORDER(new) > ORDER(old) else "fallen",
                    old,
                    new,
                    then.get(n, 0),
                    now.get(n, 0),
                    tuple(r[0] for r in fresh),
                    tuple(r[1] for r in fresh),
                    tuple(r[2] for r in fresh),
                    sum(r[4] for r in fresh),
                    stopped,
                )
            )
    out["risen_fallen"] = sorted(moved, key=lambda r: (r[2] != "risen", *_key(r[4], r[6], r[0])))
    falls = model.forecast()
    horizon = MEETING + 28 * DAY
    leaving = []
    for n in selected:
        decision = chosen[n]
        if band(now, n) == "NONE":
            leaving.append((n, now.get(n, 0), "NONE", "none_now", None, decision[1], decision[3]))
        elif falls[n][5] <= horizon:
            row = (n, now[n], band(now, n), "forecast_none", falls[n][5], decision[1], decision[3])
            leaving.append(row)
    out["deselection_candidates"] = sorted(
        leaving, key=lambda r: (r[4] is not None, r[4] or MEETING, r[0])
    )
    out["transfers"] = [] if owned is None else model.transfers(owned)
    managed = []
    for n in selected:
        decision = chosen[n]
        fall = falls.get(n)
        active = sorted(
            (start, iid, kind)
            for iid, who, kind, start, end in model.interventions
            if who == n and start <= MEETING and (end is None or end >= MEETING)
        )
        counting = sorted(
            (a.date, a.assessment_id, a.tool, a.score)
            for (who, _), a in reference.counting_assessments(model.assessments, MEETING).items()
            if who == n
        )
        managed.append(
            (
                n,
                now.get(n, 0),
                band(now, n),
                then.get(n, 0),
                now.get(n, 0) - then.get(n, 0),
                strands[n],
                decision[1],
                decision[3],
                decision[4],
                None if fall is None else fall[3],
                None if fall is None else fall[4],
                tuple(kind for _, _, kind in active),
                tuple(a[2] for a in counting),
                tuple(a[3] for a in counting),
                tuple(a[0] for a in counting),
            )
        )
    out["managed"] = managed
    return out


SEEDS = (1, 2, 3)


@pytest.fixture(scope="module", params=SEEDS)
def built(request) -> tuple[Engine, Model]:
    return _build(request.param)


@pytest.mark.parametrize("area", ["Coventry", "dudley", "Walsall", UNOWNED])
def test_every_list_equals_the_plain_reference(built, area):
    engine, model = built
    pack = build_pack(engine, area, MEETING, D0)
    expected = _expected(engine, model, area)
    for name in LIST_NAMES:
        assert getattr(pack, name).rows() == expected[name], name
    assert pack.area == ("Dudley" if area == "dudley" else area)
    assert (pack.meeting, pack.previous, pack.next_meeting) == (MEETING, D0, MEETING + 28 * DAY)


@pytest.mark.parametrize("area", ["Coventry", UNOWNED])
def test_each_chart_is_the_reference_timeline(built, area):
    engine, model = built
    pack = build_pack(engine, area, MEETING, D0)
    start = reference.window_start(MEETING)
    assert engine.history_start <= start
    charted = set(pack.managed.column("nominal_id")) | set(pack.new_candidates.column("nominal_id"))
    assert set(pack.charts) == charted
    for n, chart in pack.charts.items():
        assert (chart.start, chart.end) == (start, MEETING)
        assert list(chart.steps) == [(d, s) for d, s, _ in model.timeline(n, start)]
        assert list(chart.assessments) == sorted(
            a.date for a in model.assessments if a.nominal_id == n and a.date >= start
        )
        shown = sorted(
            (first, kind)
            for _, who, kind, first, last in model.interventions
            if who == n and (last is None or last >= start)
        )
        assert sorted((first, kind) for kind, first, _ in chart.interventions) == shown
        assert list(chart.decisions) == [
            (d[1], d[2]) for d in model.decisions if d[0] == n and d[1] >= start
        ]
        assert list(chart.events) == model.events_of(n, start)
        assert chart.datasets == DATASETS
    assert sum(len(chart.events) for chart in pack.charts.values()) > 0


def test_the_planted_cases_land_in_their_lists():
    engine, _ = _build(1)
    pack = build_pack(engine, "Coventry", MEETING.isoformat(), D0.isoformat())
    moved = {row[0]: row for row in pack.risen_fallen.rows()}
    assert moved[102][1:7] == ("selected", "fallen", "LOW", "NONE", 310, 10)
    assert moved[102][-1] == 300  # the expired arrest
    assert moved[103][1:7] == ("candidate", "risen", "NONE", "LOW", 125, 425)
    assert moved[103][-4:] == (("arrest",), ("008/06",), 300, 0)
    leaving = {row[0]: row[3] for row in pack.deselection_candidates.rows()}
    assert leaving[102] == "none_now" and leaving[999] == "none_now"
    assert leaving[101] == leaving[109] == "forecast_none" and 110 not in leaving
    dates = {row[0]: row[4] for row in pack.deselection_candidates.rows()}
    assert dates[109] == MEETING + 28 * DAY
    new = {row[0]: row[-1] for row in pack.new_candidates.rows()}
    assert new[103] is True and new[107] is False
    transfers = pack.transfers.rows()
    assert ("out", 104, D0 + 7 * DAY, "Coventry", "Dudley") in transfers
    assert ("in", 106, MEETING, "Dudley", "Coventry") in transfers
    assert all(row[1] not in (105, 107) for row in transfers)  # on D0; a first owner
    managed = {row[0]: row for row in pack.managed.rows()}
    assert managed[999][1:5] == (0, "NONE", 0, 0) and managed[999][9] is None
    assert managed[108][11] and pack.charts[999].steps == ((pack.charts[999].start, 0),)


# ------------------------------------------------------------------------------- the files
def _text(value: object) -> str:
    if value is None:
        return ""
    if value is True or value is False:
        return str(value).lower()
    if isinstance(value, tuple):
        return ";".join(_text(v) for v in value)
    if isinstance(value, D):
        return value.isoformat()
    return str(value)


class _Page(HTMLParser):
    """The page's tables (column names and cell texts, outside charts), charts,
    and every URL-bearing attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, list]] = {}
        self.table: str | None = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.in_svg = 0
        self.charts: list[int] = []
        # each chart's event marks: {nominal: {dataset: (class, ticks)}}
        self.marks: dict[int, dict[str, tuple[str, int]]] = {}
        self.links: list[str] = []
        self.scripts: list[dict] = []
        self.strands: dict[str, list[str]] = {}  # each table's rows' data-strand

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("href", "src", "xlink:href", "action"):
            if name in attrs:
                self.links.append(attrs[name])
        if tag == "script":
            self.scripts.append(attrs)
        if tag == "svg":
            self.in_svg += 1
            self.charts.append(int(attrs["data-nominal"]))
            self.marks[self.charts[-1]] = {}
        elif tag == "path" and attrs.get("class", "").startswith("ev "):
            ticks = (attrs["class"], attrs["d"].count("M"))
            self.marks[self.charts[-1]][attrs["data-dataset"]] = ticks
        elif tag == "table":
            self.table = attrs["id"]
            self.tables[self.table] = {"columns": [], "rows": []}
            self.strands[self.table] = []
        elif tag == "th" and self.table and "data-col" in attrs:
            self.tables[self.table]["columns"].append(attrs["data-col"])
        elif tag == "tr" and self.table:
            self.row = []
            if "data-strand" in attrs:
                self.strands[self.table].append(attrs["data-strand"])
        elif tag == "td" and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "svg":
            self.in_svg -= 1
        elif tag == "td" and self.cell is not None:
            self.row.append("".join(self.cell))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            if self.row:
                self.tables[self.table]["rows"].append(self.row)
            self.row = None
        elif tag == "table":
            self.table = None

    def handle_data(self, data):
        if self.cell is not None and not self.in_svg:
            self.cell.append(data)


@pytest.mark.parametrize("area", ["Coventry", UNOWNED])
def test_the_csvs_and_the_page_hold_the_lists(built, area, tmp_path):
    engine, model = built
    pack = build_pack(engine, area, MEETING, D0)
    paths = pack.write_csv(tmp_path)
    assert [p.name for p in paths] == [f"{name}.csv" for name in LIST_NAMES]
    for name, path in zip(LIST_NAMES, paths, strict=True):
        with open(path, newline="", encoding="utf-8") as handle:
            header, *rows = list(csv.reader(handle))
        table = getattr(pack, name)
        assert tuple(header) == table.columns
        assert rows == [[_text(v) for v in row] for row in table.rows()], name
    page_path = pack.write_html(tmp_path / "pack.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"{n}.csv" for n in LIST_NAMES] + ["pack.html"]
    )  # no temporary file left
    page = page_path.read_text(encoding="utf-8")
    parsed = _Page()
    parsed.feed(page)
    parsed.close()
    assert set(parsed.tables) == set(LIST_NAMES)
    for name in LIST_NAMES:
        table = getattr(pack, name)
        assert parsed.tables[name]["columns"] == list(table.columns)
        width = len(table.columns)
        cells = [row[:width] for row in parsed.tables[name]["rows"]]
        assert cells == [[_text(v) for v in row] for row in table.rows()], name
    charted = pack.managed.column("nominal_id") + pack.new_candidates.column("nominal_id")
    assert sorted(parsed.charts) == sorted(charted)
    # the event marks: a path of ticks per dataset with events in the chart's span,
    # as many ticks as the nominal has events of that dataset there
    start = reference.window_start(MEETING)
    for n in charted:
        counts = collections.Counter(dataset for _, dataset in model.events_of(n, start))
        assert parsed.marks[n] == {
            name: (f"ev e{DATASETS.index(name)}", count) for name, count in counts.items()
        }, n
    assert sum(len(marks) for marks in parsed.marks.values()) > 0
    for at, name in enumerate(DATASETS):  # the legend names each dataset in its colour
        assert f'<span class="ek e{at}">{name}</span>' in page
        assert f"svg .e{at}{{stroke:" in page
    assert "http://" not in page and "https://" not in page
    assert "<script src" not in page.lower() and all("src" not in s for s in parsed.scripts)
    assert all(link.startswith("#") for link in parsed.links)
    assert "<link" not in page.lower() and "@import" not in page and "url(" not in page
    assert str(MEETING) in page and str(D0) in page
    for chart in pack.charts.values():
        assert 100 < len(chart.svg()) < 4000


def test_a_meeting_date_other_than_as_of_is_refused():
    engine, _ = _build(1)
    with pytest.raises(EngineError, match="as_of"):
        build_pack(engine, "Coventry", MEETING - DAY, D0)
    with pytest.raises(EngineError, match="before the meeting"):
        build_pack(engine, "Coventry", MEETING, MEETING)
    with pytest.raises(EngineError, match="unknown area"):
        build_pack(engine, "Atlantis", MEETING, D0)
    with pytest.raises(EngineError, match="interval_days"):
        build_pack(engine, "Coventry", MEETING, D0, interval_days=0)
    with pytest.raises(EngineError, match="before"):  # before the retained history
        build_pack(engine, "Coventry", MEETING, engine.history_start - DAY)
    assert isinstance(build_pack(engine, UNOWNED, MEETING, D0), Pack)


def test_a_pack_holds_no_names(built, tmp_path):
    """Only ids, codes, dates and numbers: nothing a person typed (meeting ids, notes)."""
    engine, _ = built
    pack = build_pack(engine, "Coventry", MEETING, D0)
    page = pack.html()
    assert "odoc-previous" not in page and "odoc-mid" not in page
    for table in pack.lists().values():
        for row in table.rows():
            assert "odoc-" not in repr(row)


def test_the_packs_of_every_area_read_the_cohort_once_and_equal_each_pack(built):
    engine, _ = built
    packs = build_packs(engine, MEETING, D0)
    assert list(packs) == [*engine.areas, UNOWNED]
    for name in ("Coventry", "Walsall", UNOWNED):
        one = build_pack(engine, name, MEETING, D0)
        assert packs[name].lists() == one.lists() and packs[name].charts == one.charts
    # every candidate and selected nominal is in exactly one area's pack
    for name in ("new_candidates", "managed"):
        ids = [n for pack in packs.values() for n in getattr(pack, name).column("nominal_id")]
        everyone = engine.candidates() if name == "new_candidates" else engine.selection()
        assert sorted(ids) == sorted(everyone.nominal_id.tolist())
    bare = build_pack(engine, "Coventry", MEETING, D0, charts=False)
    assert bare.lists() == packs["Coventry"].lists() and bare.charts == {}
    assert "<svg" not in bare.html()


# ------------------------------------------------------------------------------ strands
def _strand_of(engine: Engine) -> dict[int, str]:
    """Every nominal's strand at D, as the engine's candidates and selection give it,
    and Engine.strands for the rest (checked against those lists in test_cohort)."""
    listed = [*engine.candidates().rows(), *engine.selection().rows()]
    known = {row[0]: row[4] for row in listed}
    moved = [row[0] for row in engine.transfers(D0, MEETING) if row[0] not in known]
    return known | {n: strand for n, (strand, _) in engine.strands(moved).items()}


@pytest.mark.parametrize("strand", ["fixed", "flex", "free"])
def test_a_strands_pack_is_the_whole_pack_cut_to_the_strand(built, strand, tmp_path):
    engine, _ = built
    strands = _strand_of(engine)
    whole = build_packs(engine, MEETING, D0)
    cut = build_packs(engine, MEETING, D0, strand=strand)
    assert list(cut) == list(whole)
    kept_somewhere = 0
    for area, pack in whole.items():
        one = cut[area]
        assert (one.strand, pack.strand) == (strand, None)
        for name, table in pack.lists().items():
            kept = tuple(
                r for r in table.rows() if strands[r[table.columns.index("nominal_id")]] == strand
            )
            assert one.lists()[name].columns == table.columns
            assert one.lists()[name].rows() == list(kept), (area, name)
            kept_somewhere += len(kept)
        charted = set(one.managed.column("nominal_id")) | set(
            one.new_candidates.column("nominal_id")
        )
        assert set(one.charts) == charted
        assert one.charts == {n: chart for n, chart in pack.charts.items() if n in charted}
        assert set(one.strands.values()) <= {strand}
        assert pack.strands == {n: strands[n] for n in pack.strands}
    assert kept_somewhere > 0  # every strand has rows in the test's engine
    coventry = build_pack(engine, "Coventry", MEETING, D0, strand=strand)
    assert coventry.lists() == cut["Coventry"].lists()
    paths = coventry.write_csv(tmp_path)
    assert [p.name for p in paths] == [f"{name}-{strand}.csv" for name in LIST_NAMES]
    page = coventry.html()
    assert f"ODOC meeting pack: Coventry, {strand} strand</h1>" in page
    assert f"Strand: <b>{strand}</b> only" in page
    assert 'id="strand"' not in page  # one strand: no strand control


def test_the_whole_pack_marks_each_row_with_its_strand(built):
    engine, _ = built
    pack = build_pack(engine, "Coventry", MEETING, D0)
    parsed = _Page()
    parsed.feed(pack.html())
    parsed.close()
    strands = _strand_of(engine)
    for name, table in pack.lists().items():
        ids = table.column("nominal_id")
        assert parsed.strands[name] == [strands[n] for n in ids], name
    assert 'id="strand"' in pack.html() and pack.file_suffix == ""


def test_a_bad_strand_is_refused(built):
    engine, _ = built
    for bad in ("Fixed", "neighbourhood", "", 1):
        with pytest.raises(EngineError, match="fixed, flex, free"):
            build_pack(engine, "Coventry", MEETING, D0, strand=bad)
        with pytest.raises(EngineError, match="fixed, flex, free"):
            build_packs(engine, MEETING, D0, strand=bad)
