"""The engine equals the reference: scores, reports, the count matrix, what-if and reweighting.

Each property draws a random cohort (dates on the window's edges and around
29 February, offence codes in three spellings, colliding nominal ids), runs it
through :class:`iomscore.Engine`, and compares with :mod:`iomscore.reference`
on the canonical events.

Only the public API is used here (``Engine``, ``Weights``, the reports and
tables it returns, ``reference``). Tests that reach into the store or the
kernels under the engine (its id index, thread paths, rescore layout) are in
``test_store_units.py``, which borrows this file's scenarios and checks.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from strategies import (
    INPUT_FORMS,
    Row,
    as_of_dates,
    column_events,
    columns,
    event_columns,
    events_of,
    make_weights,
    matrix_as_dict,
    random_columns,
    reference_rows,
    reference_scores,
    rows,
    small_weights,
    spellings,
    thresholds_st,
    variants,
    weight_tables,
    window_years_st,
)
from test_reference import WINDOW_CASES

from iomscore import BAND_NAMES, Engine, EventError, Weights, reference

D = datetime.date


@dataclass
class Scenario:
    as_of: datetime.date
    years: int
    thresholds: tuple[int, int, int]
    weights: Weights
    batch: list[Row]

    @property
    def events(self) -> list[reference.Event]:
        return events_of(self.batch)

    def engine(self) -> Engine:
        return Engine(self.weights, self.as_of, window_years=self.years, thresholds=self.thresholds)

    def ref_scores(self, weights: Weights | None = None) -> dict[int, int]:
        return reference_scores(self.events, weights or self.weights, self.as_of, self.years)

    def ref_rows(self, weights: Weights | None = None) -> list[tuple[int, int, str]]:
        return reference.result(self.ref_scores(weights), self.thresholds)


@st.composite
def scenarios(
    draw, *, future: bool = True, min_size: int = 1, max_size: int = 30, fixed_weights: bool = False
) -> Scenario:
    as_of = draw(as_of_dates)
    years = draw(window_years_st)
    thresholds = draw(thresholds_st)
    weights = small_weights() if fixed_weights else draw(weight_tables())
    batch = draw(rows(as_of, years, weights, future=future, min_size=min_size, max_size=max_size))
    return Scenario(as_of, years, thresholds, weights, batch)


def transition_counts(before: dict[int, int], after: dict[int, int], thresholds) -> list[list[int]]:
    """Rows: band before; columns: band after; over the nominals scored before."""
    out = [[0] * 4 for _ in range(4)]
    for nominal, old in before.items():
        new = after[nominal]
        out[BAND_NAMES.index(reference.band(old, thresholds))][
            BAND_NAMES.index(reference.band(new, thresholds))
        ] += 1
    return out


# ----------------------------------------------------------------------------- ingest & score


@given(scenarios())
def test_scores_equal_reference(sc: Scenario):
    engine = sc.engine()
    report = engine.ingest(columns(sc.batch), future="skip")
    expected = sc.ref_scores()
    assert engine.scores().rows() == reference.result(expected, sc.thresholds)
    assert engine.scores().as_dict() == expected
    # Band changes of the first batch: from nothing (every nominal NONE, 0) to the scores.
    assert report.changes.as_dict() == reference.band_changes({}, expected, sc.thresholds)


@given(scenarios())
def test_score_of_each_nominal(sc: Scenario):
    engine = sc.engine()
    engine.ingest(columns(sc.batch), future="skip")
    expected = sc.ref_scores()
    nominals = {e.nominal_id for e in sc.events} | {123_456_789}  # and one never seen
    for nominal in nominals:
        assert engine.score(nominal) == expected.get(nominal, 0)
        assert engine.band(nominal) == reference.band(expected.get(nominal, 0), sc.thresholds)


@given(scenarios())
def test_ingest_report_counts(sc: Scenario):
    engine = sc.engine()
    report = engine.ingest(columns(sc.batch), future="skip")
    events = sc.events
    inside = sum(reference.in_window(e.date, sc.as_of, sc.years) for e in events)
    future = sum(e.date > sc.as_of for e in events)
    before = len(events) - inside - future  # dated on or before the window's bound
    assert (report.received, report.taken, report.expired, report.future) == (
        len(events),
        inside,
        before,
        future,
    )
    assert (report.duplicates, report.replaced) == (0, 0)
    assert len(engine) == inside
    assert engine.as_of == sc.as_of
    assert engine.window_start == reference.window_start(sc.as_of, sc.years)


@given(scenarios(future=True, min_size=1))
def test_future_rows_are_an_error_by_default(sc: Scenario):
    engine = sc.engine()
    has_future = any(e.date > sc.as_of for e in sc.events)
    if has_future:
        first = next(i for i, e in enumerate(sc.events) if e.date > sc.as_of)
        with pytest.raises(EventError) as info:
            engine.ingest(columns(sc.batch))
        assert info.value.row == first and info.value.field == "date"
        assert f"row {first + 1}" in str(info.value)
        assert engine.scores().rows() == [] and len(engine) == 0
    else:
        engine.ingest(columns(sc.batch))
        assert engine.scores().rows() == sc.ref_rows()


@pytest.mark.parametrize("form", sorted(INPUT_FORMS))
@given(sc=scenarios(future=False))
def test_input_forms_give_the_same_result(form, sc: Scenario):
    engine = sc.engine()
    report = engine.ingest(INPUT_FORMS[form](sc.batch))
    assert engine.scores().rows() == sc.ref_rows()
    assert report.taken == sum(reference.in_window(e.date, sc.as_of, sc.years) for e in sc.events)


@given(sc=scenarios(), cuts=st.lists(st.integers(0, 30), max_size=4))
def test_batches_split_give_the_same_result(sc: Scenario, cuts):
    engine = sc.engine()
    bounds = sorted({0, len(sc.batch), *(c for c in cuts if c <= len(sc.batch))})
    seen: list[reference.Event] = []
    for lo, hi in itertools.pairwise(bounds):
        before = reference_scores(seen, sc.weights, sc.as_of, sc.years)
        report = engine.ingest(columns(sc.batch[lo:hi]), future="skip")
        seen.extend(sc.events[lo:hi])
        after = reference_scores(seen, sc.weights, sc.as_of, sc.years)
        assert report.changes.as_dict() == reference.band_changes(before, after, sc.thresholds)
        assert engine.scores().rows() == reference.result(after, sc.thresholds)
    one = sc.engine()
    one.ingest(columns(sc.batch), future="skip")
    assert engine.scores().rows() == one.scores().rows() == sc.ref_rows()


@given(sc=scenarios(future=False, min_size=1))
def test_identical_rows_again_are_duplicates(sc: Scenario):
    engine = sc.engine()
    engine.ingest(columns(sc.batch))
    # The same batch again, with the codes spelled canonically this time: identical content.
    report = engine.ingest(event_columns(sc.events))
    inside = sum(reference.in_window(e.date, sc.as_of, sc.years) for e in sc.events)
    assert report.duplicates == inside
    assert report.taken == 0 and report.replaced == 0 and len(report.changes) == 0
    assert engine.scores().rows() == sc.ref_rows()


@pytest.mark.parametrize("form", sorted(INPUT_FORMS))
def test_an_empty_batch_is_taken_as_no_events(form):
    """A day with no events is an ordinary batch: nothing taken, nothing changed."""
    engine = Engine(small_weights(), D(2024, 2, 29))
    report = engine.ingest(INPUT_FORMS[form]([]))
    assert (report.received, report.taken, report.expired, len(report.changes)) == (0, 0, 0, 0)
    assert engine.scores().rows() == [] and len(engine) == 0


@pytest.mark.parametrize(("as_of", "years", "date", "counts"), WINDOW_CASES)
def test_engine_window_edges(as_of, years, date, counts):
    weights = small_weights()
    engine = Engine(weights, as_of, window_years=years)
    report = engine.ingest(
        event_columns([reference.Event(1, 7, "arrest", "028/01", date)]), future="skip"
    )
    points = weights.get("arrest", "028/01")
    assert engine.scores().rows() == ([(7, points, reference.band(points))] if counts else [])
    assert report.taken == int(counts)


# ------------------------------------------------------------------------------ advancing


@given(
    batch=rows(D(2024, 2, 29), 2, small_weights(), max_size=40),
    start=st.sampled_from([D(2024, 2, 25), D(2026, 2, 25), D(2025, 2, 25)]),
)
@example(
    batch=[
        Row(reference.Event(1, 1, "warrant", "028/01", D(2022, 3, 1)), "28/1"),
        Row(reference.Event(2, 1, "warrant", "028/01", D(2024, 2, 29)), "02801"),
    ],
    start=D(2024, 2, 25),
)
def test_advancing_day_by_day_through_29_february(batch, start):
    """Expiry around 29 February: each day equals the reference, and the report counts it."""
    weights = small_weights()
    events = [e for e in events_of(batch)]
    # Rebase the drawn dates so that they fall around the start of the walk.
    shift = start - D(2024, 2, 25)
    events = [
        reference.Event(e.event_id, e.nominal_id, e.dataset, e.offence, e.date + shift)
        for e in events
    ]
    engine = Engine(weights, start)
    engine.ingest({**event_columns(events)}, future="skip")
    known = [e for e in events if e.date <= start]
    day = start
    for _ in range(10):
        nxt = day + datetime.timedelta(days=1)
        before = reference_scores(known, weights, day)
        still = [e for e in known if reference.in_window(e.date, nxt, 2)]
        leaving = sum(reference.in_window(e.date, day, 2) for e in known) - len(still)
        report = engine.advance(nxt)
        after = reference_scores(known, weights, nxt)
        assert report.expired == leaving
        assert report.changes.as_dict() == reference.band_changes(before, after)
        assert engine.scores().rows() == reference.result(after)
        day = nxt


# ------------------------------------------------------------------------------ the count matrix


@given(scenarios())
def test_matrix_equals_reference_counts(sc: Scenario):
    engine = sc.engine()
    engine.ingest(columns(sc.batch), future="skip")
    matrix = engine.matrix()
    assert matrix.n_kinds == len(sc.weights.datasets) * len(sc.weights.offences)
    assert matrix_as_dict(matrix, sc.weights) == reference.counts(sc.events, sc.as_of, sc.years)
    for r in range(matrix.indptr.shape[0] - 1):
        kinds = matrix.indices[matrix.indptr[r] : matrix.indptr[r + 1]].tolist()
        assert kinds == sorted(set(kinds)), "kinds ascend within a row"
    assert matrix.nnz == sum(
        len(v) for v in reference.counts(sc.events, sc.as_of, sc.years).values()
    )


# ------------------------------------------------------------------------------ what-if & reweight


def _check_what_if(sc: Scenario, engine: Engine, new: Weights):
    before, after = sc.ref_scores(), sc.ref_scores(new)
    impact = engine.what_if(new)
    assert impact.transitions.tolist() == transition_counts(before, after, sc.thresholds)
    assert impact.changes.as_dict() == reference.band_changes(before, after, sc.thresholds)
    moved = {n: after[n] - before[n] for n in before if after[n] != before[n]}
    assert dict(zip(impact.nominal_id.tolist(), impact.score_change.tolist(), strict=True)) == moved
    assert impact.old_weights == (sc.weights.name, sc.weights.sha256)
    assert impact.new_weights == (new.name, new.sha256)
    # Nothing applied.
    assert engine.weights is sc.weights
    assert engine.scores().rows() == reference.result(before, sc.thresholds)


def _check_reweight(sc: Scenario, engine: Engine, new: Weights) -> str:
    before, after = sc.ref_scores(), sc.ref_scores(new)
    report = engine.reweight(new)
    assert report.changes.as_dict() == reference.band_changes(before, after, sc.thresholds)
    differing = int(np.count_nonzero(sc.weights.points != new.points))
    assert report.changed_kinds == differing
    assert (report.weights_name, report.weights_sha256) == (new.name, new.sha256)
    assert engine.weights is new
    assert engine.history[-1].sha256 == new.sha256 and engine.history[-1].mode == report.mode
    assert engine.scores().rows() == reference.result(after, sc.thresholds)
    for nominal in before:
        assert engine.score(nominal) == after[nominal]
    return report.mode


@given(data=st.data(), sc=scenarios())
def test_what_if_equals_reference(data, sc: Scenario):
    engine = sc.engine()
    engine.ingest(columns(sc.batch), future="skip")
    few = data.draw(st.booleans())
    new = data.draw(
        variants(sc.weights, max_changes=2) if few else variants(sc.weights, min_changes=6)
    )
    _check_what_if(sc, engine, new)


@given(data=st.data(), sc=scenarios())
def test_reweight_equals_reference(data, sc: Scenario):
    engine = sc.engine()
    engine.ingest(columns(sc.batch), future="skip")
    few = data.draw(st.booleans())
    new = data.draw(
        variants(sc.weights, max_changes=2) if few else variants(sc.weights, min_changes=6)
    )
    mode = _check_reweight(sc, engine, new)
    assert mode in ("partial", "full")
    # Events taken after the reweight are scored with the new table.
    more = data.draw(rows(sc.as_of, sc.years, new, first_id=10_000, max_size=10))
    engine.ingest(columns(more), future="skip")
    expected = reference_scores(sc.events + events_of(more), new, sc.as_of, sc.years)
    assert engine.scores().rows() == reference.result(expected, sc.thresholds)


def _skewed_scenario() -> Scenario:
    """80 events of kind (arrest, 046/00) across 40 nominals, and one of (warrant, 105/01).

    The matrix has 41 entries; the warrant column holds 1 of them (under the
    engine's 1/12 threshold for a partial rescore), the arrest column 40.
    """
    as_of = D(2024, 2, 29)
    events = [
        reference.Event(i, i % 40, "arrest", "046/00", as_of - datetime.timedelta(days=i))
        for i in range(80)
    ]
    events.append(reference.Event(100, 3, "warrant", "105/01", D(2022, 3, 1)))
    batch = [Row(e, e.offence) for e in events]
    return Scenario(as_of, 2, reference.DEFAULT_THRESHOLDS, small_weights(), batch)


def test_reweight_partial_path():
    """One changed kind holding 1 of 41 matrix entries: only that column is rescored."""
    sc = _skewed_scenario()
    engine = sc.engine()
    engine.ingest(columns(sc.batch))
    new = sc.weights.replace({("warrant", "105/01"): 900}, name="warrant up")
    _check_what_if(sc, engine, new)
    assert _check_reweight(sc, engine, new) == "partial"
    assert engine.score(3) == 2 * 40 + 900  # nominal 3 holds 2 of the 80 shoplifting arrests


def test_reweight_full_path():
    """The kind held by every nominal changes: the whole matrix is multiplied."""
    sc = _skewed_scenario()
    engine = sc.engine()
    engine.ingest(columns(sc.batch))
    new = sc.weights.replace({("arrest", "046/00"): 100}, name="shoplifting up")
    _check_what_if(sc, engine, new)
    assert _check_reweight(sc, engine, new) == "full"
    assert engine.score(0) == 2 * 100  # nominal 0 holds events 0 and 40


def test_full_reweights_report_none_one_or_all_band_changes():
    """Full rescores whose band changes are none, one, or every nominal (both report paths)."""
    sc = _skewed_scenario()
    engine = sc.engine()
    engine.ingest(columns(sc.batch))
    warrant = sc.weights.get("warrant", "105/01")
    low = sc.thresholds[0]
    # Every nominal holds two shoplifting arrests; nominal 3 also holds the warrant.
    just_under = max(1, -(-(low - warrant) // 2))  # 2x < low <= 2x + warrant, when possible
    steps = [(low + 1) // 2, (low + 1) // 2 + 1, just_under, 1]
    sizes = []
    for points in steps:
        new = sc.weights.replace({("arrest", "046/00"): points}, name=f"shoplifting {points}")
        before = sc.ref_scores()
        assert _check_reweight(sc, engine, new) == "full"
        sizes.append(len(reference.band_changes(before, sc.ref_scores(new), sc.thresholds)))
        sc = dataclasses.replace(sc, weights=new)
    # The store sorts a few changes (at most 1 in 16 nominals) and walks the id order for many.
    assert 0 in sizes and max(sizes) * 16 > 40, sizes


def test_reweight_to_the_same_points_does_nothing():
    sc = _skewed_scenario()
    engine = sc.engine()
    engine.ingest(columns(sc.batch))
    same = Weights(sc.weights.datasets, sc.weights.offences, sc.weights.points, name="renamed")
    impact = engine.what_if(same)
    before = sc.ref_scores()
    assert impact.transitions.tolist() == transition_counts(before, before, sc.thresholds)
    assert len(impact.changes) == 0 and impact.nominal_id.size == 0
    report = engine.reweight(same)
    assert (report.mode, report.changed_kinds, len(report.changes)) == ("none", 0, 0)
    assert engine.scores().rows() == sc.ref_rows()
    assert engine.weights.name == "renamed"


def test_reweight_on_an_empty_engine():
    weights = small_weights()
    engine = Engine(weights, D(2024, 2, 29))
    new = weights.replace({("arrest", "028/01"): 7})
    report = engine.reweight(new)
    assert len(report.changes) == 0 and engine.scores().rows() == []
    engine.ingest(event_columns([reference.Event(1, 1, "arrest", "028/01", D(2024, 1, 1))]))
    assert engine.scores().rows() == [(1, 7, "NONE")]


@given(data=st.data())
def test_reweight_changes_bands_exactly_at_thresholds(data):
    """Points chosen so scores land on 249/250/499/500/999/1000 after the change."""
    as_of = D(2025, 2, 28)
    weights = make_weights([[1] * 4] * 3)
    events = [reference.Event(n, n, "arrest", "028/01", as_of) for n in range(6)]
    sc = Scenario(
        as_of, 2, reference.DEFAULT_THRESHOLDS, weights, [Row(e, e.offence) for e in events]
    )
    engine = sc.engine()
    engine.ingest(columns(sc.batch))
    value = data.draw(st.sampled_from([249, 250, 499, 500, 999, 1000]))
    new = weights.replace({("arrest", "028/01"): value})
    expected_band = reference.band(value)
    report = engine.reweight(new)
    assert engine.scores().rows() == [(n, value, expected_band) for n in range(6)]
    if expected_band == "NONE":
        assert report.changes.as_dict() == {}
    else:
        assert report.changes.as_dict() == {n: ("NONE", expected_band, value) for n in range(6)}


def _codes(n: int) -> list[str]:
    """``n`` offence codes 000/00, 000/01, ... (for tables built in a test)."""
    return [f"{i // 100:03d}/{i % 100:02d}" for i in range(n)]


# ------------------------------------------------------------------------------ larger shapes
# The compiled paths change shape with size: rows of more than 32 events are sorted
# differently when the matrix is built, the rescoring kernel sums entries in blocks of
# 2,048, counts above 65,535 are stored wider, batches above 200,000 rows and matrices
# above 1,000,000 entries go to the parallel code. Each test below crosses one of those.


def _wide_weights(n_offences: int, seed: int) -> Weights:
    """3 datasets x n_offences codes (000/00, 000/01, ...), random points."""
    rng = np.random.default_rng(seed)
    codes = _codes(n_offences)
    return Weights(
        ("arrest", "intelligence", "warrant"),
        codes,
        rng.integers(0, 400, size=(3, n_offences)),
        name=f"wide{seed}",
    )


def _random_events(
    weights: Weights,
    n: int,
    n_nominals: int,
    as_of: datetime.date,
    seed: int,
    first_id: int = 0,
    days: int = 800,
) -> list[reference.Event]:
    """``n`` events (ids from ``first_id``) of nominals below ``n_nominals``, of any
    of the table's kinds, dated up to ``days - 1`` days before ``as_of``."""
    rng = np.random.default_rng(seed)
    nominal_ids = rng.integers(0, n_nominals, size=n)
    event_ids = first_id + np.arange(n, dtype=np.int64)
    # Every offence of the table: wide tables give rows of many kinds.
    drawn = random_columns(rng, event_ids, nominal_ids, as_of, days, weights, all_offences=True)
    return column_events(drawn, range(n))


@pytest.mark.slow
def test_rescoring_across_blocks_long_rows_and_empty_rows():
    weights = _wide_weights(1_000, seed=1)
    as_of = D(2024, 2, 29)
    # Nominal 0 holds 2,500 events of distinct kinds: one matrix row longer than a block.
    events = [
        reference.Event(i, 0, weights.datasets[i % 3], weights.offences[i // 3], as_of)
        for i in range(2_500)
    ]
    events += _random_events(weights, 6_000, 3_000, as_of, seed=2, first_id=10_000)
    engine = Engine(weights, as_of)
    engine.ingest(event_columns(events))
    # Empty rows between full ones: every event of every seventh nominal is withdrawn.
    gone = [e.event_id for e in events if e.nominal_id % 7 == 3]
    engine.retract(gone)
    live = [e for e in events if e.nominal_id % 7 != 3]
    sc = Scenario(
        as_of, 2, reference.DEFAULT_THRESHOLDS, weights, [Row(e, e.offence) for e in live]
    )
    assert engine.scores().rows() == sc.ref_rows()
    assert matrix_as_dict(engine.matrix(), weights) == reference.counts(live, as_of)

    everything = _wide_weights(1_000, seed=3)
    _check_what_if(sc, engine, everything)
    assert _check_reweight(sc, engine, everything) == "full"
    sc.weights = everything
    one = everything.replace({("warrant", "009/99"): 7})
    assert _check_reweight(sc, engine, one) == "partial"


@pytest.mark.slow
def test_counts_above_65535_of_one_kind():
    weights = small_weights()
    as_of = D(2025, 2, 28)
    many = [
        reference.Event(i, 42, "intelligence", "046/00", as_of - datetime.timedelta(days=i % 700))
        for i in range(70_000)
    ]
    others = _random_events(weights, 2_000, 50, as_of, seed=5, first_id=100_000, days=700)
    # One kind kept rare (two events), for a partial rescore over int32 counts below.
    rare_kind = ("warrant", "105/01")
    others = [e for e in others if (e.dataset, e.offence) != rare_kind]
    others += [
        reference.Event(200_000 + i, i, *rare_kind, as_of - datetime.timedelta(days=i))
        for i in range(2)
    ]
    events = many + others
    engine = Engine(weights, as_of)
    engine.ingest(event_columns(events))
    sc = Scenario(
        as_of, 2, reference.DEFAULT_THRESHOLDS, weights, [Row(e, e.offence) for e in events]
    )
    assert engine.scores().rows() == sc.ref_rows()
    counts = reference.counts(events, as_of)
    assert counts[42][("intelligence", "046/00")] >= 70_000
    assert matrix_as_dict(engine.matrix(), weights) == counts
    # Every entry changes: the whole matrix is multiplied (with counts stored as int32).
    new = make_weights(np.asarray(weights.points) + 1, name="plus one")
    _check_what_if(sc, engine, new)
    assert _check_reweight(sc, engine, new) == "full"
    sc.weights = new
    rare = new.replace({rare_kind: 999})
    assert _check_reweight(sc, engine, rare) == "partial"


@pytest.mark.slow
def test_a_batch_above_the_bulk_size():
    """200,500 rows as numpy columns, codes in three spellings, some before the window."""
    weights = small_weights()
    as_of = D(2028, 2, 29)
    n = 200_500
    rng = np.random.default_rng(9)
    nominal_ids = rng.integers(0, 5_000, size=n)
    event_ids = np.arange(n, dtype=np.int64) * 3 + 7
    canonical = random_columns(rng, event_ids, nominal_ids, as_of, 760, weights)
    events = column_events(canonical, range(n))
    # The engine takes each code in its three spellings in turn, and must normalise them.
    spelled = [spellings(code)[i % 3] for i, code in enumerate(canonical["offence"].tolist())]
    engine = Engine(weights, as_of, window_years=2)
    report = engine.ingest({**canonical, "offence": np.array(spelled)})
    inside = sum(reference.in_window(e.date, as_of) for e in events)
    assert (report.taken, report.expired) == (inside, n - inside)
    assert engine.scores().rows() == reference_rows(events, weights, as_of)
