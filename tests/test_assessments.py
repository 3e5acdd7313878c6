"""Rule 10: ASSET and OASys assessments, in the reference and in the engine.

Worked examples of the rule in the reference; whole histories of events and
assessments drawn by Hypothesis, the engine stepped through them as a service
would, and every read (scores, explain, forecasts, timelines, past scores)
checked against the reference; the assessment table's checks; bad batches;
and the durable form (journal, snapshot, records.sqlite). The state machine
(test_engine_state.py) checks assess, correct, retract, reweight and advance
steps after every step of random sequences.
"""

from __future__ import annotations

import datetime
import sqlite3

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import (
    DATASETS,
    OFFENCES,
    assessment_columns,
    assessment_tables,
    event_columns,
    make_weights,
    old_snapshot,
    points_matrices,
)

from iomscore import Engine, EngineError, reference
from iomscore import durable as durable_format
from iomscore.assessments import AssessmentTable, encode_assessments
from iomscore.batch import sorted_with_rows
from iomscore.errors import RecordError

DAY = datetime.timedelta(days=1)
AS_OF = datetime.date(2028, 3, 1)
A = reference.Assessment
DEFAULT = AssessmentTable.default()
# The worked examples' table, fixed here so that they do not follow the shipped
# table's policy: the tools' own bands, larger points than the shipped ones.
TEST = AssessmentTable.from_text(
    "# name: test\ntool,low,high,points\n"
    "asset,0,4,0\nasset,5,16,50\nasset,17,32,150\nasset,33,48,250\nasset,49,64,350\n"
    "oasys,0,49,0\noasys,50,74,150\noasys,75,89,250\noasys,90,99,350\n"
)
TABLE = TEST.as_reference()


# ----------------------------------------------------------------------- the reference
def test_only_the_latest_in_the_window_counts_and_a_retraction_falls_back():
    older = A(1, 7, "oasys", 95, datetime.date(2027, 1, 1))  # 350 points
    newer = A(2, 7, "oasys", 60, datetime.date(2027, 6, 1))  # 150 points
    asset = A(3, 7, "asset", 40, datetime.date(2026, 6, 1))  # 250 points
    scores = reference.score(
        [], {}, AS_OF, assessments=[older, newer, asset], assessment_table=TABLE
    )
    assert scores == {7: 150 + 250}
    # retracting the latest lets the earlier one count again: it is still in the window
    assert reference.score([], {}, AS_OF, assessments=[older, asset], assessment_table=TABLE) == {
        7: 350 + 250
    }
    # the ASSET one left the window on 2028-06-01 (rule 7)
    later = datetime.date(2028, 6, 1)
    assert reference.score(
        [], {}, later, assessments=[older, newer, asset], assessment_table=TABLE
    ) == {7: 150}


def test_on_one_date_the_highest_id_counts():
    same_day = datetime.date(2027, 5, 5)
    items = [A(9, 1, "asset", 60, same_day), A(4, 1, "asset", 10, same_day)]
    assert reference.counting_assessments(items, AS_OF)[(1, "asset")].assessment_id == 9
    assert reference.score([], {}, AS_OF, assessments=items, assessment_table=TABLE) == {1: 350}


def test_an_assessment_alone_is_scored_and_banded_and_shows_in_explain():
    item = A(5, 2, "oasys", 90, datetime.date(2028, 2, 29))
    scores = reference.score([], {}, AS_OF, assessments=[item], assessment_table=TABLE)
    assert reference.result(scores) == [(2, 350, "LOW")]
    assert reference.explain([], {}, AS_OF, 2, assessments=[item], assessment_table=TABLE) == [
        (5, "assessment:oasys", "", item.date, 350, datetime.date(2030, 3, 1))
    ]


def test_the_shipped_table_never_bands_a_nominal_on_assessments_alone():
    shipped = DEFAULT.as_reference()
    best = {tool: max(points for _, _, points in ranges) for tool, ranges in shipped.items()}
    assert sum(best.values()) < reference.DEFAULT_THRESHOLDS[0]
    for tool, (low, high) in (("asset", (0, 64)), ("oasys", (0, 99))):
        assert DEFAULT.tool_range(tool) == (low, high)
    # every band of each tool's own (ASSET's five, OGRS3's four) has a range of its own
    assert [len(shipped["asset"]), len(shipped["oasys"])] == [5, 4]


# ----------------------------------------------------------------------- histories
@st.composite
def histories(draw):
    """Events and assessments over five years before AS_OF, tables, and the steps the
    engine moves through them in."""
    years = draw(st.sampled_from((1, 2, 3)), label="window years")
    n = draw(st.integers(0, 30), label="events")
    events = [
        reference.Event(
            i + 1,
            draw(st.sampled_from((3, 4, 5)), label="nominal"),
            draw(st.sampled_from(DATASETS)),
            draw(st.sampled_from(OFFENCES)),
            AS_OF - draw(st.integers(0, 5 * 366)) * DAY,
        )
        for i in range(n)
    ]
    table = draw(assessment_tables(), label="assessment table")
    m = draw(st.integers(0, 25), label="assessments")
    ids = draw(st.permutations(range(1, m + 1)), label="ids") if m else []
    assessments = []
    for i in range(m):
        tool = draw(st.sampled_from(table.tools))
        low, high = table.tool_range(tool)
        assessments.append(
            A(
                ids[i],
                draw(st.sampled_from((3, 4, 6)), label="nominal"),
                tool,
                draw(st.integers(low, high)),
                AS_OF - draw(st.integers(0, 5 * 366)) * DAY,
            )
        )
    weights = make_weights(draw(points_matrices(), label="points"))
    steps = draw(st.lists(st.integers(1, 400), min_size=1, max_size=8), label="steps")
    return events, assessments, weights, table, years, steps


def _replayed(events, assessments, weights, table, years, steps, start):
    """An engine at ``start`` advanced to AS_OF in steps, each step's events and
    assessments taken after it (the history years cover the whole span); and the
    events it kept (an event already dated before the window is not kept)."""
    engine = Engine(
        weights, start, window_years=years, history_years=4, threads=1, assessment_table=table
    )
    kept = []

    def take(lo, hi):
        batch = [e for e in events if lo < e.date <= hi]
        engine.ingest(event_columns(sorted(batch, key=lambda e: e.event_id)))
        kept.extend(e for e in batch if reference.in_window(e.date, hi, years))
        dated = [a for a in assessments if lo < a.date <= hi]
        engine.assess(assessment_columns(dated))

    take(datetime.date.min, start)
    now = start
    for step in steps:
        later = min(AS_OF, now + step * DAY)
        engine.advance(later)
        take(now, later)
        now = later
    engine.advance(AS_OF)
    take(now, AS_OF)
    return engine, kept


@settings(deadline=None)
@given(history=histories())
def test_every_read_equals_the_reference(history):
    events, assessments, weights, table, years, steps = history
    start = AS_OF - 3 * 365 * DAY
    engine, kept = _replayed(events, assessments, weights, table, years, steps, start)
    mapping = weights.to_mapping()
    live = [e for e in kept if reference.in_window(e.date, AS_OF, years)]
    extra = {"assessments": assessments, "assessment_table": table.as_reference()}
    expected = reference.score(live, mapping, AS_OF, years, **extra)
    assert engine.scores().rows() == reference.result(expected)
    for nominal in sorted({*expected, *(a.nominal_id for a in assessments)}):
        why = engine.explain(nominal)
        assert why.rows() == reference.explain(live, mapping, AS_OF, nominal, years, **extra)
        assert why.score == engine.score(nominal) == sum(why.dataset_totals.values())
        assert engine.forecast(nominal).rows() == reference.forecast_steps(
            live, mapping, AS_OF, nominal, years, **extra
        )
        first = engine.history_start
        assert engine.timeline(nominal, first, AS_OF).rows() == reference.timeline(
            kept, mapping, nominal, first, AS_OF, years, **extra
        )
    assert engine.forecast().rows() == reference.forecast(live, mapping, AS_OF, years, **extra)
    # forecast_of: the same rows for some nominals, read by nominal
    for some in (
        everyone := sorted({*expected, *(a.nominal_id for a in assessments)}),
        everyone[::2],
    ):
        chosen = set(some)
        assert engine.forecast_of([*some, *some[:1], 10**12]).rows() == [
            row
            for row in reference.forecast(live, mapping, AS_OF, years, **extra)
            if row[0] in chosen
        ]
    # counting_since: explain's rows dated after a day, of many nominals in one read
    everyone = sorted(
        {*expected, *(a.nominal_id for a in assessments), *(e.nominal_id for e in kept)}
    )
    for back in (0, 40, 400):
        since = AS_OF - back * DAY
        wanted = {}
        for nominal in everyone:
            rows = reference.explain(live, mapping, AS_OF, nominal, years, **extra)
            if any(row[3] > since for row in rows):
                wanted[nominal] = [row[:5] for row in rows if row[3] > since]
        assert engine.counting_since([*everyone, 10**12], since) == wanted
    for back in (0, 1, 300, 700):
        date = AS_OF - back * DAY
        if date >= engine.history_start:
            assert engine.scores_at(date).rows() == reference.scores_at(
                kept, mapping, date, years, **extra
            )


@settings(deadline=None)
@given(history=histories(), new_table=assessment_tables(name="new"))
def test_reweight_and_what_if_with_a_new_assessment_table(history, new_table):
    events, assessments, weights, table, years, steps = history
    engine, kept = _replayed(events, assessments, weights, table, years, steps, AS_OF - 400 * DAY)
    live = [e for e in kept if reference.in_window(e.date, AS_OF, years)]
    mapping = weights.to_mapping()
    before = engine.scores().rows()
    after = reference.score(
        live,
        mapping,
        AS_OF,
        years,
        assessments=assessments,
        assessment_table=new_table.as_reference(),
    )
    impact = engine.what_if(assessment_table=new_table)
    old = {n: s for n, s, _ in before}
    assert impact.changes.as_dict() == reference.band_changes(old, after)
    report = engine.reweight(assessment_table=new_table)
    assert report.changes.as_dict() == reference.band_changes(old, after)
    assert engine.scores().rows() == reference.result(after)
    assert engine.assessment_table == new_table


# ----------------------------------------------------------------------- the table
@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "tool,low,high,points\nasset,0,40,1\nasset,30,64,2\noasys,0,99,0\n",
            "overlaps 0-40 (line 2)",
        ),
        ("tool,low,high,points\nasset,0,20,1\nasset,30,64,2\noasys,0,99,0\n", "gap 21-29"),
        ("tool,low,high,points\nasset,0,60,1\noasys,0,99,0\n", "not its whole range 0-64"),
        ("tool,low,high,points\nasset,0,64,100001\noasys,0,99,0\n", "outside 0..100000"),
        ("tool,low,high,points\nasset,0,64,-1\noasys,0,99,0\n", "outside 0..100000"),
        ("tool,low,high,points\nasset,0,64,x\noasys,0,99,0\n", "field 'points': 'x'"),
        ("tool,low,high,points\nASSET!,0,64,1\n", "not a tool name"),
        ("tool,points\nasset,1\n", "header must be 'tool,low,high,points'"),
        ("tool,low,high,points\nasset,9,3,1\n", "below low 9"),
        ("tool,low,high,points\n", "no rows"),
    ],
)
def test_a_bad_assessment_table_is_refused_naming_the_rows(text, message):
    with pytest.raises(RecordError, match=message.replace("(", r"\(").replace(")", r"\)")):
        AssessmentTable.from_text(text, source="t.csv")


def test_the_overlap_error_names_both_lines():
    text = "# name: x\ntool,low,high,points\noasys,0,49,0\noasys,40,99,5\nasset,0,64,0\n"
    with pytest.raises(RecordError) as info:
        AssessmentTable.from_text(text, source="t.csv")
    assert "t.csv: line 4" in str(info.value) and "line 3" in str(info.value)


def test_the_table_round_trips_and_has_a_stable_hash():
    for table in (DEFAULT, TEST):
        again = AssessmentTable.from_text(table.to_csv_text())
        assert again == table and again.sha256 == table.sha256
        assert again.name == table.name
    other = AssessmentTable.from_text(
        TEST.to_csv_text().replace("asset,49,64,350", "asset,49,64,351")
    )
    assert other.sha256 != TEST.sha256
    tools = np.array([0, 0, 1, 1, 0, 1], np.int8)
    scores = np.array([4, 49, 89, 90, 65, -1])
    assert TEST.points_of(tools, scores).tolist() == [0, 350, 250, 350, -1, -1]


# ----------------------------------------------------------------------- bad batches
def _batch(first_id=1, **changes):
    columns = {
        "assessment_id": [first_id, first_id + 1, first_id + 2],
        "nominal_id": [10, 11, 12],
        "tool": ["asset", "oasys", "oasys"],
        "score": [10, 50, 99],
        "date": ["2028-01-01", "2027-06-30", "2028-03-01"],
    }
    for name, (row, value) in changes.items():
        columns[name][row] = value
    return columns


@pytest.mark.parametrize(
    ("changes", "row", "field", "message"),
    [
        ({"tool": (1, "ogrs3")}, 1, "tool", "unknown tool 'ogrs3'"),
        ({"score": (0, 65)}, 0, "score", "65 is outside the range 0-64 of tool 'asset'"),
        ({"score": (2, -1)}, 2, "score", "-1 is outside the range 0-99"),
        ({"score": (2, "ten")}, 2, "score", "not a whole number"),
        ({"assessment_id": (2, 101)}, 2, "assessment_id", "101"),
        ({"date": (1, "2028-03-02")}, 1, "date", "after as_of 2028-03-01"),
        ({"date": (0, "2028-02-30")}, 0, "date", ""),
        ({"nominal_id": (0, -4)}, 0, "nominal_id", "negative"),
    ],
)
def test_a_bad_row_is_refused_whole_naming_row_and_field(changes, row, field, message):
    engine = Engine(as_of=AS_OF, assessment_table=TEST)
    engine.assess(_batch())  # held: so an identical batch later is all duplicates
    before = engine.scores().rows()
    with pytest.raises(RecordError) as info:
        engine.assess(_batch(101, **changes))
    assert (info.value.row, info.value.field) == (row, field)
    assert f"row {row + 1}, field '{field}'" in str(info.value)
    assert message in str(info.value)
    assert engine.scores().rows() == before
    assert len(engine._book) == 3


def test_an_id_held_with_other_content_needs_replace():
    engine = Engine(as_of=AS_OF, assessment_table=TEST)
    engine.assess(_batch())
    again = engine.assess(_batch())
    assert (again.taken, again.duplicates) == (0, 3)
    with pytest.raises(RecordError, match="pass replace=True"):
        engine.assess(_batch(score=(1, 90)))
    report = engine.assess(_batch(score=(1, 90)), replace=True)
    assert (report.taken, report.replaced, report.duplicates) == (1, 1, 2)
    assert engine.score(11) == 350


def test_a_missing_column_and_an_unknown_type_are_errors():
    engine = Engine(as_of=AS_OF, assessment_table=TEST)
    columns = _batch()
    del columns["tool"]
    with pytest.raises(RecordError, match="missing column 'tool'"):
        engine.assess(columns)
    with pytest.raises(RecordError):
        engine.assess([1, 2, 3])


def test_a_new_table_must_keep_the_tools_and_hold_every_score():
    engine = Engine(as_of=AS_OF, assessment_table=TEST)
    engine.assess(_batch())
    one_tool = AssessmentTable([("asset", 0, 64, 1)], name="asset only")
    with pytest.raises(RecordError, match="tools"):
        engine.reweight(assessment_table=one_tool)
    with pytest.raises(EngineError, match="needs a new weight table"):
        engine.reweight()


def test_pandas_and_arrow_batches():
    pa = pytest.importorskip("pyarrow")
    pd = pytest.importorskip("pandas")
    columns = _batch()
    frame = pd.DataFrame(columns)
    frame["date"] = pd.to_datetime(frame["date"])
    first = Engine(as_of=AS_OF, assessment_table=TEST)
    first.assess(frame)
    second = Engine(as_of=AS_OF, assessment_table=TEST)
    second.assess(pa.table(columns))
    third = Engine(as_of=AS_OF, assessment_table=TEST)
    numeric = {**columns, "date": np.array(columns["date"], dtype="datetime64[D]")}
    third.assess({k: np.asarray(v) for k, v in numeric.items()})
    assert first.scores().rows() == second.scores().rows() == third.scores().rows()
    assert first.scores().rows() == [(12, 350, "LOW"), (11, 150, "NONE"), (10, 50, "NONE")]


def test_encode_names_rows_with_the_callers_label():
    with pytest.raises(RecordError, match=r"a\.csv: line 3, field 'tool'"):
        encode_assessments(_batch(tool=(1, "x")), DEFAULT, label=lambda r: f"a.csv: line {r + 2}")


# ----------------------------------------------------------------------- durable
def test_a_reopened_engine_holds_the_same_assessments(tmp_path):
    folder = tmp_path / "engine"
    table = AssessmentTable.from_text(
        TEST.to_csv_text().replace("oasys,90,99,350", "oasys,90,99,400")
    )
    with Engine.open(folder, as_of="2028-01-01", create=True, assessment_table=table) as engine:
        engine.ingest(
            event_columns([reference.Event(1, 11, "arrest", "028/01", datetime.date(2027, 12, 1))])
        )
        engine.assess(_batch(date=(2, "2027-12-31")))
        engine.checkpoint()
        engine.assess({**_batch(), "assessment_id": [4, 5, 6], "date": ["2026-01-01"] * 3})
        engine.retract_assessments([1])
        engine.reweight(assessment_table=DEFAULT)
        engine.advance("2028-03-01")
        expected = (
            engine.scores().rows(),
            engine.explain(12).rows(),
            [engine.assessments(n).rows() for n in (10, 11, 12)],
            engine.forecast().rows(),
            engine.timeline(11, "2027-01-01").rows(),
            engine.changes().rows(),
        )
        assert engine.journal_records == 4
    for readonly in (True, False):
        with Engine.open(folder, readonly=readonly) as engine:
            got = (
                engine.scores().rows(),
                engine.explain(12).rows(),
                [engine.assessments(n).rows() for n in (10, 11, 12)],
                engine.forecast().rows(),
                engine.timeline(11, "2027-01-01").rows(),
                engine.changes().rows(),
            )
            assert got == expected
            assert engine.assessment_table == DEFAULT
            if not readonly:
                engine.checkpoint()
    with Engine.open(folder) as engine:  # from the snapshot alone
        assert engine.scores().rows() == expected[0]
        assert engine.journal_records == 0
    # other tools read the assessments and the tables from records.sqlite
    db = sqlite3.connect(f"file:{folder / 'records.sqlite'}?mode=ro", uri=True)
    rows = db.execute(
        "SELECT assessment_id, nominal_id, tool, score, date FROM assessments ORDER BY 1"
    ).fetchall()
    assert [r[0] for r in rows] == [2, 3, 4, 5, 6]
    assert rows[0] == (2, 11, "oasys", 50, "2027-06-30")
    shas = {r[0] for r in db.execute("SELECT sha256 FROM assessment_tables")}
    assert shas == {DEFAULT.sha256, table.sha256}
    db.close()


def test_a_version_1_directory_opens_with_no_assessments(tmp_path):
    """A directory written before assessments (format 1: no 'assessed' section and no
    assessment table) opens with the shipped table and none held."""
    folder = tmp_path / "engine"
    with Engine.open(folder, as_of="2028-01-01", create=True) as engine:
        engine.ingest(
            event_columns([reference.Event(1, 11, "arrest", "028/01", datetime.date(2027, 12, 1))])
        )
        engine.checkpoint()
        expected = engine.scores().rows()
    state = durable_format.read_snapshot(folder)
    del state.meta["assessment_table"]
    data = old_snapshot(state, 1)
    (folder / durable_format.SNAPSHOT).write_bytes(data)
    with Engine.open(folder) as engine:
        assert engine.scores().rows() == expected
        assert engine.assessment_table == DEFAULT
        assert len(engine._book) == 0
        engine.assess(_batch(date=(2, "2027-12-31")))
        assert engine.score(12) == 100  # oasys 99 under the shipped table


def test_retract_takes_any_integer_ids_and_refuses_others():
    engine = Engine(as_of=AS_OF, assessment_table=TEST)
    engine.assess(_batch())
    report = engine.retract_assessments({3, 99})
    assert (report.retracted, report.unknown.tolist()) == (1, [99])
    assert str(report) == "1 assessments retracted; 1 ids not held: 99; 1 band changes"
    assert engine.retract_assessments(np.array([2, 2], np.uint32)).retracted == 1
    assert engine.retract_assessments([]).retracted == 0
    for bad in (["2"], [1.5], [[1, 2]]):
        with pytest.raises(RecordError, match="must be integers"):
            engine.retract_assessments(bad)
    assert [row[0] for row in engine.scores().rows()] == [10]


def test_bulk_reads_equal_the_reads_of_one_nominal():
    engine = Engine(as_of=AS_OF, assessment_table=TEST)
    engine.assess(_batch())
    engine.assess({**_batch(20), "nominal_id": [10, 10, 13], "date": ["2027-01-01"] * 3})
    engine.record_interventions(
        {
            "intervention_id": [1, 2, 3],
            "nominal_id": [10, 10, 12],
            "kind": ["mentoring", "drug_treatment_dip", "mentoring"],
            "start": ["2027-01-01", "2028-01-01", "2028-04-01"],
            "end": ["", "2028-02-01", ""],
            "lead_agency": ["police", "health", "probation"],
        }
    )
    ids = [10, 11, 12, 13, 99]
    bulk = engine.counting_assessments(ids)
    for n in ids:
        one = [(r[1], r[2], r[3]) for r in engine.assessments(n).rows() if r[5] == "counting"]
        assert bulk.get(n, []) == one
    active = engine.active_interventions(ids, AS_OF)
    for n in ids:
        assert active.get(n, ()) == engine.interventions(n, active_on=AS_OF).kind


@given(
    ids=st.lists(st.one_of(st.integers(0, 50), st.integers(0, 2**63 - 1)), min_size=0, max_size=60)
)
def test_the_id_sort_is_a_stable_argsort(ids):
    """The book's id index and the batch's repeat check share one sort: the ids'
    keys packed with their rows when the span allows, else an argsort."""
    values = np.array(ids, dtype=np.int64)
    ordered, rows = sorted_with_rows(values)
    expected = np.argsort(values, kind="stable")
    assert rows.tolist() == expected.tolist()
    assert ordered.tolist() == values[expected].tolist()


def test_a_repeated_id_names_the_first_row_that_repeats_one():
    ids = [7, 3, 9, 3, 7, 5]
    with pytest.raises(RecordError, match=r"row 4, field 'assessment_id': .* 3 repeats row 2 "):
        encode_assessments(
            {
                "assessment_id": ids,
                "nominal_id": [1] * 6,
                "tool": ["oasys"] * 6,
                "score": [10] * 6,
                "date": ["2026-01-01"] * 6,
            },
            AssessmentTable.default(),
        )


@pytest.mark.parametrize("bad", [[-1], ["7"], [1.5], [True], np.array([2.0])])
@pytest.mark.parametrize(
    "read",
    [
        lambda engine, ids: engine.forecast_of(ids),
        lambda engine, ids: engine.counting_since(ids, AS_OF),
        lambda engine, ids: engine.counting_assessments(ids),
        lambda engine, ids: engine.active_interventions(ids, AS_OF),
    ],
    ids=["forecast_of", "counting_since", "counting_assessments", "active_interventions"],
)
def test_bulk_reads_refuse_ids_that_are_not_whole_numbers(read, bad):
    engine = Engine(as_of=AS_OF, assessment_table=TEST)
    engine.assess(_batch())
    with pytest.raises(EngineError, match="nominal_id"):
        read(engine, bad)
