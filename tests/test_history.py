"""Rules 7-9 (expiry, forecast, timeline) and the engine's explain, forecast,
timeline, past scores, archive and change log, against the reference.

The engine is built as a service builds it: at an early date, then advanced
in steps with each step's events ingested after it, so that events leave the
window into the archive. The state machine (test_engine_state.py) checks the
same after every step of random sequences; this file draws whole histories.
"""

from __future__ import annotations

import datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import DATASETS, OFFENCES, event_columns, make_weights, points_matrices

from iomscore import Engine, EngineError, Weights, reference
from iomscore.archive import Archive
from iomscore.calendar import day_number, expiry, from_day_number

DAY = datetime.timedelta(days=1)
AS_OF = datetime.date(2028, 3, 1)  # a leap year: 29 February lies a day back


# ------------------------------------------------------------------------- rule 7
@given(
    date=st.dates(datetime.date(1900, 1, 1), datetime.date(2400, 12, 31)),
    years=st.integers(1, 5),
)
def test_expiry_is_the_first_date_the_event_stops_counting(date, years):
    ends = expiry(date, years)
    assert ends == reference.expires(date, years)
    assert reference.in_window(date, ends - DAY, years)
    assert not reference.in_window(date, ends, years)


def test_expiry_of_29_february_as_the_issue_gives_it():
    leap = datetime.date(2024, 2, 29)
    assert reference.in_window(leap, datetime.date(2026, 2, 28))
    assert reference.expires(leap) == expiry(leap) == datetime.date(2026, 3, 1)
    assert expiry(leap, 4) == datetime.date(2028, 2, 29)  # a leap year four years on


# ------------------------------------------------------------------------- histories
def _columns(events):
    return event_columns(sorted(events, key=lambda e: e.event_id))


def _replayed(events, weights, start, end, years, history_years, steps):
    """An engine at ``start`` advanced to ``end`` in the given steps (days), each step's
    events ingested after it; and the events it took (rule 9's events)."""
    engine = Engine(weights, start, window_years=years, history_years=history_years, threads=1)
    taken = [e for e in events if reference.in_window(e.date, start, years)]
    engine.ingest(_columns([e for e in events if e.date <= start]))
    now = start
    for step in steps:
        if now >= end:
            break
        later = min(end, now + step * DAY)
        engine.advance(later)
        batch = [e for e in events if now < e.date <= later]
        engine.ingest(_columns(batch))
        taken += [e for e in batch if reference.in_window(e.date, later, years)]
        now = later
    engine.advance(end)
    return engine, taken


@st.composite
def histories(draw):
    """Events over six years before AS_OF with shuffled ids, a table, and how the
    engine moved through them."""
    years = draw(st.sampled_from((1, 2, 3)), label="window years")
    n = draw(st.integers(0, 60), label="events")
    ids = draw(st.permutations(range(1, n + 1)), label="ids") if n else []
    days = st.integers(0, 6 * 366)
    events = [
        reference.Event(
            ids[i],
            draw(st.sampled_from((3, 4, 5, 2**40)), label="nominal"),
            draw(st.sampled_from(DATASETS)),
            draw(st.sampled_from(OFFENCES)),
            AS_OF - draw(days) * DAY,
        )
        for i in range(n)
    ]
    weights = make_weights(draw(points_matrices(), label="points"))
    steps = draw(st.lists(st.integers(1, 300), min_size=1, max_size=12), label="steps")
    history_years = draw(st.sampled_from((0, 1, 2, 4)), label="history years")
    return events, weights, years, history_years, steps


@settings(deadline=None)
@given(history=histories())
def test_explain_forecast_timeline_and_past_scores_equal_the_reference(history):
    events, weights, years, history_years, steps = history
    start = AS_OF - 5 * 365 * DAY
    engine, taken = _replayed(events, weights, start, AS_OF, years, history_years, steps)
    table = weights.to_mapping()
    live = [e for e in taken if reference.in_window(e.date, AS_OF, years)]
    horizon = reference.window_start(AS_OF, years + history_years)
    kept = [e for e in taken if e.date > horizon]
    assert engine.retention_horizon == horizon
    earliest = engine.history_start
    assert earliest == reference.expires(horizon, years)

    for nominal in sorted({e.nominal_id for e in taken}):
        explained = engine.explain(nominal)
        assert explained.rows() == reference.explain(live, table, AS_OF, nominal, years)
        assert explained.score == engine.score(nominal) == int(explained.points.sum())
        assert sum(explained.dataset_totals.values()) == explained.score
        steps_ = engine.forecast(nominal).rows()
        assert steps_ == reference.forecast_steps(
            live, table, AS_OF, nominal, years, engine.thresholds
        )
        if earliest <= AS_OF:
            assert engine.timeline(nominal, earliest, AS_OF).rows() == reference.timeline(
                kept, table, nominal, earliest, AS_OF, years, engine.thresholds
            )
        assert engine.event_history(nominal).rows() == reference.event_history(
            kept, table, nominal, None, AS_OF
        )
    assert engine.forecast().rows() == reference.forecast(
        live, table, AS_OF, years, engine.thresholds
    )
    for back in (0, 1, 200, 500, 900):
        date = AS_OF - back * DAY
        if date >= earliest:
            assert engine.scores_at(date).rows() == reference.scores_at(
                kept, table, date, years, engine.thresholds
            )


@settings(deadline=None)
@given(
    history=histories(),
    start=st.integers(0, 800),
    length=st.integers(0, 800),
)
def test_a_timeline_over_any_span_of_the_history(history, start, length):
    events, weights, years, _, steps = history
    engine, taken = _replayed(events, weights, AS_OF - 5 * 365 * DAY, AS_OF, years, 4, steps)
    first = max(engine.history_start, AS_OF - start * DAY)
    last = min(AS_OF, first + length * DAY)
    for nominal in sorted({e.nominal_id for e in taken})[:2]:
        assert engine.timeline(nominal, first, last).rows() == reference.timeline(
            taken, weights.to_mapping(), nominal, first, last, years, engine.thresholds
        )
        history = engine.event_history(nominal, first, last)
        assert history.rows() == reference.event_history(
            taken, weights.to_mapping(), nominal, first, last
        )
        assert sum(history.dataset_counts.values()) == len(history)


def test_an_event_that_came_back_counts_once_in_the_history():
    """An archived event sent again with a date in the window: the copy in the
    window counts, the archived one no longer (rule 9 counts an event id once)."""
    weights = make_weights([[300] * 4] * 3)
    engine = Engine(weights, "2024-01-01", history_years=4, threads=1)
    first = reference.Event(1, 7, "arrest", "028/01", datetime.date(2023, 6, 1))
    engine.ingest(_columns([first]))
    engine.advance("2025-07-01")  # the event leaves the window
    moved = reference.Event(1, 8, "arrest", "028/01", datetime.date(2025, 6, 1))
    engine.ingest(_columns([moved]))
    table = weights.to_mapping()
    assert engine.timeline(7, "2024-01-01", "2025-07-01").rows() == reference.timeline(
        [moved], table, 7, datetime.date(2024, 1, 1), datetime.date(2025, 7, 1)
    )
    assert engine.scores_at("2024-01-01").rows() == []
    engine.advance("2027-07-01")  # the new copy leaves the window too: archived last
    assert engine.scores_at("2025-07-01").rows() == [(8, 300, "LOW")]
    assert engine.timeline(7, "2024-01-01", "2027-07-01").rows() == [
        (datetime.date(2024, 1, 1), 0, "NONE")
    ]
    # the event's history: under nominal 8 only, the copy archived last
    assert engine.event_history(7).rows() == []
    assert engine.event_history(8, "2024-01-01").rows() == [
        (1, "arrest", "028/01", datetime.date(2025, 6, 1), 300)
    ]
    report = engine.retract([1])
    assert report.retracted == 1 and report.unknown.size == 0
    assert engine.scores_at("2025-07-01").rows() == []


def test_purge_at_the_retention_horizon():
    weights = make_weights([[300] * 4] * 3)
    engine = Engine(weights, "2024-01-01", history_years=1, threads=1)
    old = reference.Event(1, 7, "arrest", "028/01", datetime.date(2023, 6, 1))
    engine.ingest(_columns([old]))
    engine.advance("2025-07-01")
    assert engine.memory()["archived_events"] == 1
    assert engine.scores_at("2025-05-31").rows() == [(7, 300, "LOW")]
    engine.advance("2026-06-01")  # horizon 2023-06-01: the event's own day
    assert engine.retention_horizon == datetime.date(2023, 6, 1)
    assert engine.memory()["archived_events"] == 0
    assert engine.timeline(7, engine.history_start, "2026-06-01").rows() == [
        (engine.history_start, 0, "NONE")
    ]


# ------------------------------------------------------------------------- errors
@pytest.fixture
def engine():
    weights = make_weights([[300] * 4] * 3)
    engine = Engine(weights, "2026-01-01", history_years=1, threads=1)
    engine.ingest(_columns([reference.Event(1, 7, "arrest", "028/01", datetime.date(2025, 6, 1))]))
    return engine


@pytest.mark.parametrize("call", ["explain", "forecast", "timeline"])
def test_a_nominal_never_held_is_an_error_naming_it(engine, call):
    args = ("2025-06-01",) if call == "timeline" else ()
    with pytest.raises(EngineError, match="nominal 123456789 is not held"):
        getattr(engine, call)(123456789, *args)


def test_an_event_history_is_audited_and_checks_its_span(engine):
    engine.ingest(_columns([reference.Event(2, 7, "warrant", "046/00", datetime.date(2025, 3, 1))]))
    assert [row[0] for row in engine.event_history(7, user="u1", reason="review").rows()] == [2, 1]
    assert [(a.operation, a.reason) for a in engine.audit("u1", 7)] == [("event_history", "review")]
    assert engine.event_history(7, "2025-03-02", "2025-06-01").rows() == [
        (1, "arrest", "028/01", datetime.date(2025, 6, 1), 300)
    ]
    assert len(engine.event_history(7, "2025-03-02", "2025-05-31")) == 0
    with pytest.raises(EngineError, match="start 2025-07-01 is after end 2025-06-01"):
        engine.event_history(7, "2025-07-01", "2025-06-01")
    with pytest.raises(EngineError, match="nominal 123456789 is not held"):
        engine.event_history(123456789)


def test_an_event_history_is_by_date_then_id_across_the_archive_and_the_window():
    D = datetime.date
    weights = make_weights([[300] * 4] * 3)
    engine = Engine(weights, "2024-01-01", history_years=4, threads=1)
    old = [(9, "arrest", "2023-06-01"), (5, "warrant", "2023-06-01"), (7, "arrest", "2023-05-01")]
    new = [(4, "arrest", "2025-06-01"), (2, "warrant", "2025-06-01")]

    def ingest(rows):  # in this order, not by id: the archive keeps it within a day
        events = [reference.Event(i, 7, d, "028/01", D.fromisoformat(t)) for i, d, t in rows]
        engine.ingest(event_columns(events))

    ingest(old)
    engine.advance("2025-06-15")  # the old events leave the window into the archive
    ingest(new)
    history = engine.event_history(7)
    assert [row[0] for row in history.rows()] == [7, 5, 9, 2, 4]
    assert history.dataset_counts == {"arrest": 3, "intelligence": 0, "warrant": 2}


@pytest.mark.parametrize("bad", ["seven", 2**64, 1.5j])
def test_a_nominal_id_that_is_not_an_integer_is_an_error(engine, bad):
    with pytest.raises(EngineError, match="nominal_id"):
        engine.explain(bad)


def test_a_nominal_whose_events_left_the_window_explains_as_empty(engine):
    engine.advance("2027-07-01")
    explained = engine.explain(7)
    assert (explained.score, explained.band, len(explained)) == (0, "NONE", 0)
    assert explained.rows() == []
    assert explained.dataset_totals == dict.fromkeys(DATASETS, 0)


def test_dates_outside_the_retained_history_are_errors_naming_the_limits(engine):
    assert engine.history_start == datetime.date(2025, 1, 1)
    with pytest.raises(EngineError, match=r"before 2025-01-01.*horizon 2023-01-01"):
        engine.timeline(7, "2024-12-31", "2025-06-01")
    with pytest.raises(EngineError, match=r"before 2025-01-01.*horizon 2023-01-01"):
        engine.scores_at("2024-12-31")
    with pytest.raises(EngineError, match="after as_of 2026-01-01"):
        engine.timeline(7, "2025-06-01", "2026-01-02")
    with pytest.raises(EngineError, match="after as_of 2026-01-01"):
        engine.scores_at("2026-01-02")
    with pytest.raises(EngineError, match="start 2025-07-01 is after end 2025-06-01"):
        engine.timeline(7, "2025-07-01", "2025-06-01")
    with pytest.raises(EngineError, match="YYYY-MM-DD"):
        engine.scores_at("1 June 2025")


@pytest.mark.parametrize("bad", [-1, 101, 1.0, True, "2"])
def test_a_bad_history_years_is_an_error(bad):
    with pytest.raises(EngineError, match="history_years"):
        Engine(Weights.default(), "2026-01-01", history_years=bad)


# ------------------------------------------------------------------------- change log
def test_the_change_log_keeps_every_reported_change_with_its_cause():
    weights = make_weights([[300] * 4] * 3)
    engine = Engine(weights, "2026-01-01", history_years=1, threads=1)
    engine.ingest(_columns([reference.Event(1, 7, "arrest", "028/01", datetime.date(2025, 6, 1))]))
    engine.ingest(_columns([reference.Event(2, 8, "arrest", "028/01", datetime.date(2025, 7, 1))]))
    engine.reweight(make_weights([[600] * 4] * 3))
    engine.retract([2])
    engine.advance("2027-06-02")
    day = datetime.date
    assert engine.changes().rows() == [
        (day(2026, 1, 1), 7, "NONE", "LOW", 300, "ingest"),
        (day(2026, 1, 1), 8, "NONE", "LOW", 300, "ingest"),
        (day(2026, 1, 1), 7, "LOW", "MEDIUM", 600, "reweight"),
        (day(2026, 1, 1), 8, "LOW", "MEDIUM", 600, "reweight"),
        (day(2026, 1, 1), 8, "MEDIUM", "NONE", 0, "retract"),
        (day(2027, 6, 2), 7, "MEDIUM", "NONE", 0, "advance"),
    ]
    assert [r[1] for r in engine.changes(nominal_id=8).rows()] == [8, 8, 8]
    assert len(engine.changes(since="2026-01-02")) == 1
    engine.advance("2029-01-02")  # horizon 2026-01-02: the changes of 2026-01-01 go
    assert [r[0] for r in engine.changes().rows()] == [day(2027, 6, 2)]


# ------------------------------------------------------------------------- the archive
def _archive_with(days_and_noms, tail=65_536):
    archive = Archive()
    archive.TAIL = tail
    seq = 0
    for day, noms in days_and_noms:
        n = len(noms)
        archive.append(
            np.arange(seq, seq + n, dtype=np.int64) * 10,
            np.asarray(noms, np.int32),
            np.zeros(n, np.uint16),
            np.full(n, day, np.int32),
        )
        seq += n
    return archive


@pytest.mark.parametrize("tail", [0, 2, 65_536])
def test_the_archive_finds_a_nominals_events_through_growth_and_purges(tail):
    rng = np.random.default_rng(3)
    plan = [(day, rng.integers(0, 5, rng.integers(0, 40)).tolist()) for day in range(100, 400)]
    archive = _archive_with(plan[:100], tail)
    archive.of_nominal(2)  # build the lookup, then grow past it and purge under it
    for day, noms in plan[100:]:
        archive.append(
            np.full(len(noms), day, np.int64),
            np.asarray(noms, np.int32),
            np.ones(len(noms), np.uint16),
            np.full(len(noms), day, np.int32),
        )
        if day % 50 == 0:
            archive.purge(day - 120)
    # the last purge, at day 350, dropped days up to 230
    expected = [(day, n) for day, noms in plan for n in noms if day > 230]
    assert archive.first_day == min(d for d, _ in expected)
    assert len(archive) == len(expected)
    for nominal in range(5):
        seqs = archive.of_nominal(nominal)
        days = archive.columns(seqs)[3].tolist()
        assert days == [d for d, n in expected if n == nominal]
        assert (archive.columns(seqs)[1] == nominal).all()


def test_the_archive_holds_at_most_16_bytes_an_event():
    archive = _archive_with([(day, [day % 7] * 3_000) for day in range(600)])
    assert len(archive) == 1_800_000
    assert archive.nbytes / len(archive) <= 16


def test_the_archive_takes_days_in_order_only():
    archive = _archive_with([(10, [1, 2])])
    with pytest.raises(RuntimeError, match="day order"):
        archive.append(
            *(np.zeros(1, t) for t in (np.int64, np.int32, np.uint16)), np.array([9], np.int32)
        )


def test_purged_events_are_overwritten_not_only_dropped():
    archive = _archive_with([(10, [1, 2]), (11, [3])])
    assert archive.purge(10) == 2
    assert archive._ids[:2].tolist() == [0, 0] and archive._noms[:2].tolist() == [-1, -1]
    assert archive.columns(archive.dated(0, 100))[1].tolist() == [3]


def test_the_archive_removes_every_copy_of_an_id():
    archive = _archive_with([(10, [1, 2]), (11, [3, 4])])
    assert archive.remove(np.array([10, 30, 999])).tolist() == [2, 4]
    assert archive.columns(archive.dated(0, 100))[0].tolist() == [0, 20]
    assert from_day_number(archive.first_day) == from_day_number(10)
    assert day_number(from_day_number(11)) == 11


@pytest.mark.parametrize(
    ("as_of", "years", "history"),
    [("0003-06-01", 2, 1), ("9998-06-01", 2, 2), ("0001-01-01", 1, 0)],
)
def test_an_as_of_at_the_ends_of_the_calendar_is_an_error(as_of, years, history):
    with pytest.raises(EngineError, match="outside the years"):
        Engine(Weights.default(), as_of, window_years=years, history_years=history)


def test_advancing_past_the_calendar_is_an_error():
    engine = Engine(Weights.default(), "9990-01-01")
    with pytest.raises(EngineError, match="outside the years 5-9997"):
        engine.advance("9998-01-01")
    assert engine.as_of == datetime.date(9990, 1, 1)
