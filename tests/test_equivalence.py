"""The engine equals the reference: scores, reports, the count matrix, what-if and reweighting.

Each property draws a random cohort (dates on the window's edges and around
29 February, offence codes in three spellings, colliding nominal ids), runs it
through :class:`iomscore.Engine`, and compares with :mod:`iomscore.reference`
on the canonical events.
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
from iomscore._core import add_kernels

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


@given(data=st.data(), sc=scenarios())
def test_rescore_layout_equals_reference(data, sc: Scenario):
    """Every kernel of the rescore layout, at any window width, scores as the reference."""
    from iomscore._core import sell_kernels
    from iomscore.rescore import RescoreLayout

    engine = sc.engine()
    engine.ingest(columns(sc.batch), future="skip")
    matrix = engine.matrix()
    sigma = data.draw(st.sampled_from([16, 32, 4096]), label="sigma")
    layout = RescoreLayout.build(matrix.indptr, matrix.data, matrix.indices, sigma=sigma)
    new = data.draw(variants(sc.weights, min_changes=1))
    expected = sc.ref_scores(new)
    assert layout.fits(new.kind_points())
    for kernel in sell_kernels():
        got = layout.scores(new.kind_points(), kernel=kernel)
        by_id = dict(zip(matrix.nominal_id.tolist(), got.tolist(), strict=True))
        assert {n: by_id.get(n, 0) for n in expected} == expected, kernel
        assert all(by_id[n] == 0 for n in by_id if n not in expected)


@given(data=st.data(), sc=scenarios())
def test_repeated_full_rescores_equal_reference(data, sc: Scenario):
    """A what-if then two reweights, all full: from the second on, the layout path."""
    engine = sc.engine()
    engine._LAYOUT_AFTER = 1  # build at once (the default waits for many rescores)
    engine.ingest(columns(sc.batch), future="skip")
    tables = [data.draw(variants(sc.weights, min_changes=6)) for _ in range(3)]
    _check_what_if(sc, engine, tables[0])
    full = 0
    for new in tables[1:]:
        full += _check_reweight(sc, engine, new) == "full"
        sc = dataclasses.replace(sc, weights=new)
    if full == 2:
        assert engine._layout_cache is not None, "the second full rescore builds the layout"


def test_the_rescore_layout_refuses_arrays_that_do_not_fit_together():
    from iomscore._core import sell_build, sell_matvec
    from iomscore.rescore import RescoreLayout

    indptr = np.array([0, 2, 3], dtype=np.int64)
    kinds = np.array([0, 1, 1], dtype=np.uint16)
    counts = np.array([1, 2, 3], dtype=np.uint16)
    with pytest.raises(ValueError, match="one CSR matrix"):
        sell_build(indptr, kinds[:2], counts[:2])
    with pytest.raises(ValueError, match="not decrease"):
        sell_build(np.array([0, 3, 2, 3], dtype=np.int64), kinds, counts)
    layout = RescoreLayout.build(indptr, counts, kinds)
    points = np.array([5, 7], dtype=np.int64)
    assert layout.scores(points).tolist() == [5 + 14, 21]
    with pytest.raises(ValueError, match="one rescore layout"):
        sell_matvec(layout.slice_ptr, layout.perm[:8], layout.kinds, layout.counts, points, 2)
    bad = layout.perm.copy()
    bad[0] = 10_000
    with pytest.raises(ValueError, match="perm must number"):
        RescoreLayout(layout.slice_ptr, bad, layout.kinds, layout.counts, layout.heaviest, 2)


def test_a_failure_while_finding_band_changes_leaves_every_score_as_it_was():
    """Band changes of a full rescore are found before any score is written."""
    sc = _skewed_scenario()
    engine = sc.engine()
    engine.ingest(columns(sc.batch))
    store = engine._store
    before = store.scores().copy()
    new = before + 10_000  # every nominal moves band: the walk in id order, which needs by_id

    def failing_by_id():
        raise MemoryError("simulated")

    with pytest.raises(MemoryError, match="simulated"):
        store.set_all_scores(new, failing_by_id)
    np.testing.assert_array_equal(store.scores(), before)
    assert engine.scores().rows() == sc.ref_rows()


def test_the_layout_is_built_only_after_many_full_rescores_of_the_same_events():
    """Rent, then buy: a what-if and a reweight read the CSR; a long series builds the layout."""
    from iomscore.rescore import LAYOUT_AFTER

    sc = _skewed_scenario()
    engine = sc.engine()
    engine.ingest(columns(sc.batch))
    tables = [sc.weights.replace({("arrest", "046/00"): p}, name=str(p)) for p in (100, 3)]
    _check_what_if(sc, engine, tables[0])
    for k in range(LAYOUT_AFTER):
        new = tables[k % 2]
        assert _check_reweight(sc, engine, new) == "full"
        sc = dataclasses.replace(sc, weights=new)
        assert (engine._layout_cache is not None) == (k + 2 > LAYOUT_AFTER)
    # New events: the count starts again.
    engine.ingest(event_columns([reference.Event(500, 1, "arrest", "046/00", sc.as_of)]))
    sc = dataclasses.replace(
        sc, batch=[*sc.batch, Row(reference.Event(500, 1, "arrest", "046/00", sc.as_of), "046/00")]
    )
    new = tables[LAYOUT_AFTER % 2]
    assert _check_reweight(sc, engine, new) == "full"
    assert engine._layout_cache is not None and engine._layout_cache[0] != engine._version


def test_rescore_layout_refuses_what_would_overflow_and_the_engine_falls_back():
    """A row whose score exceeds the int32 lanes: the layout refuses, the CSR kernel sums it."""
    from iomscore.rescore import RescoreLayout, full_scores

    indptr = np.array([0, 2, 2, 3], dtype=np.int64)
    kinds = np.array([0, 1, 1], dtype=np.uint16)
    counts = np.array([40_000, 20_000, 1], dtype=np.uint16)
    points = np.array([60_000, 100_000], dtype=np.int64)
    layout = RescoreLayout.build(indptr, counts, kinds)
    assert layout.heaviest == 60_000 and not layout.fits(points)
    with pytest.raises(OverflowError, match="int32 lanes"):
        layout.scores(points)
    expected = [40_000 * 60_000 + 20_000 * 100_000, 0, 100_000]
    assert full_scores(indptr, kinds, counts, points, layout).tolist() == expected
    small = np.array([3, 5], dtype=np.int64)
    assert layout.fits(small)
    assert layout.scores(small).tolist() == [40_000 * 3 + 20_000 * 5, 0, 5]


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


@given(
    old=st.lists(st.integers(0, 700), min_size=4, max_size=4),
    new=st.lists(st.integers(0, 700), min_size=4, max_size=4),
    counts=st.lists(st.lists(st.integers(0, 3), min_size=4, max_size=4), min_size=1, max_size=4),
    parallel_min=st.sampled_from([1, 1 << 62]),
)
@example(
    old=[0, 200, 0, 0], new=[300, 0, 0, 0], counts=[[1, 1, 0, 0]], parallel_min=1
)  # 200, 500, 300
@example(
    old=[0, 300, 0, 0], new=[300, 0, 0, 0], counts=[[1, 1, 0, 0]], parallel_min=1
)  # 300, 600, 300
@example(
    old=[300, 0, 0, 0], new=[0, 300, 0, 0], counts=[[1, 1, 0, 0]], parallel_min=1
)  # 300, 0, 300
@example(
    old=[0, 0, 260, 0], new=[260, 0, 0, 600], counts=[[1, 0, 1, 1]], parallel_min=1
)  # 260, 520, 260, 860
def test_a_partial_reweight_reports_the_bands_at_its_ends_only(old, new, counts, parallel_min):
    """A partial rescore adds the changed columns one after another, so a score
    can cross a threshold and cross back within one reweight (the examples:
    NONE, MEDIUM, LOW; LOW, MEDIUM, LOW; LOW, NONE, LOW; LOW, MEDIUM, LOW,
    MEDIUM). Only nominals whose band differs at the end are reported, from the
    band they started in. Fifteen more nominals with events of other codes keep
    the changed columns under a twelfth of the matrix: the partial path. They
    come first, so on two threads the helper, which takes the upper half of
    the nominal indices, updates the nominals under test."""
    weights, table, events = _four_changed_codes(old, new, counts, fillers=15)
    assert _reweight_as_reference(weights, table, events, parallel_min) in ("partial", "none")


@given(
    old=st.lists(st.integers(0, 700), min_size=4, max_size=4),
    new=st.lists(st.integers(0, 700), min_size=4, max_size=4),
    counts=st.lists(st.lists(st.integers(0, 3), min_size=4, max_size=4), min_size=1, max_size=48),
    parallel_min=st.sampled_from([1, 1 << 62]),
)
def test_a_partial_reweight_of_many_nominals_equals_the_reference(old, new, counts, parallel_min):
    """Up to 48 nominals in the changed columns: the AVX-512 loop takes eight
    entries at a time, so its crossings fall in every lane, and its last few
    rows (and those of each thread's half) go to the plain loop."""
    weights, table, events = _four_changed_codes(old, new, counts, fillers=110)
    assert _reweight_as_reference(weights, table, events, parallel_min) in ("partial", "none")


def _four_changed_codes(old, new, counts, fillers):
    """Tables whose first four codes' points go from ``old`` to ``new``, and the
    events: nominal i holds counts[i][k] events of code k, and ``fillers`` more
    nominals, first in the store, hold one event of each of 20 other codes
    (enough to keep the changed columns under a twelfth of the matrix)."""
    as_of = D(2026, 11, 26)
    codes = _codes(24)
    weights = Weights(("arrest",), codes, [[*old, *[50] * 20]], name="old")
    table = weights.replace({("arrest", codes[k]): new[k] for k in range(4)}, name="new")
    events = [
        reference.Event(0, 100 + f, "arrest", codes[4 + k], as_of)
        for f in range(fillers)
        for k in range(20)
    ]
    events += [
        reference.Event(0, nominal, "arrest", codes[k], as_of)
        for nominal, row in enumerate(counts)
        for k, count in enumerate(row)
        for _ in range(count)
    ]
    events = [dataclasses.replace(e, event_id=i) for i, e in enumerate(events)]
    return weights, table, events


def _reweight_as_reference(weights, table, events, parallel_min) -> str:
    """Load ``events`` under ``weights``, reweight to ``table`` and check the
    band changes and scores against the reference, with each inner loop of the
    partial rescore this CPU runs; returns the path taken."""
    as_of = max(e.date for e in events)
    before = reference_scores(events, weights, as_of)
    after = reference_scores(events, table, as_of)
    modes = set()
    for kernel in add_kernels():
        engine = Engine(weights, as_of)
        engine._store.parallel_min = parallel_min
        engine._store.add_kernel = kernel
        engine.ingest(event_columns(events))
        report = engine.reweight(table)
        assert report.changes.as_dict() == reference.band_changes(before, after)
        assert engine.scores().rows() == reference.result(after)
        modes.add(report.mode)
    (mode,) = modes
    return mode


def _codes(n: int) -> list[str]:
    """``n`` offence codes 000/00, 000/01, ... (for tables built in a test)."""
    return [f"{i // 100:03d}/{i % 100:02d}" for i in range(n)]


@pytest.mark.parametrize("n_nominals", [1, 2, 3, 8, 21, 40, 67])
@pytest.mark.parametrize("parallel_min", [1, 1 << 62])
def test_a_partial_reweight_updates_every_nominal_of_the_changed_columns(n_nominals, parallel_min):
    """Every nominal holds one event of the changed code and twelve of others
    (so the changed column is under a twelfth of the matrix): on two threads
    each takes half of the nominal indices, and none may be left out or taken
    twice, whatever the count's parity."""
    as_of = D(2026, 11, 26)
    codes = _codes(13)
    weights = Weights(("arrest",), codes, [[0, *[20] * 12]], name="old")
    table = weights.replace({("arrest", codes[0]): 100}, name="new")
    events = [
        reference.Event(13 * n + k, n, "arrest", codes[k], as_of)
        for n in range(n_nominals)
        for k in range(13)
    ]
    assert _reweight_as_reference(weights, table, events, parallel_min) == "partial"


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


@pytest.mark.slow
def test_inserts_on_two_threads_leave_the_store_as_one_thread_does():
    """Large steps split work with a second thread (classify's rows, the id index
    of inserts and of an expiring day); the store must end as one thread leaves
    it (same slots, lookups, scores, reports) through a bulk load, corrections,
    retractions and expiry, and equal the reference."""
    weights = small_weights()
    as_of = D(2028, 2, 29)
    rng = np.random.default_rng(11)

    def columns(ids: np.ndarray) -> dict[str, np.ndarray]:
        nominal_ids = rng.integers(0, 3_000, size=ids.size)
        return random_columns(rng, ids, nominal_ids, as_of, 700, weights)

    first = columns(np.arange(120_000, dtype=np.int64) * 5 + 1)
    # Half of them again with new content (replaced), and as many new ones.
    second = columns(np.concatenate([first["event_id"][::2], np.arange(60_000) * 5 + 2]))
    gone = first["event_id"][1::7]
    engines, reports = [], []
    for parallel_min in (1, 1 << 62):
        engine = Engine(weights, as_of, window_years=2)
        engine._store.parallel_min = parallel_min
        reports.append(
            (
                engine.ingest(first),
                engine.ingest(second, replace=True),
                engine.retract(gone),
                engine.advance(as_of + datetime.timedelta(days=200)),
            )
        )
        engines.append(engine)
    two, one = engines
    for a, b in zip(*reports, strict=True):
        assert a.changes.rows() == b.changes.rows()
        assert str(a) == str(b)
    assert reports[0][2].retracted == reports[1][2].retracted == gone.size
    for view in ("event_ids", "event_nominals", "event_kinds", "scores", "live_counts"):
        np.testing.assert_array_equal(getattr(two._store, view)(), getattr(one._store, view)())
    probe = np.concatenate([first["event_id"], second["event_id"], np.arange(50) * 5 + 3])
    np.testing.assert_array_equal(two._store.find_events(probe), one._store.find_events(probe))
    replaced, withdrawn = set(second["event_id"].tolist()), set(gone.tolist())
    events = [
        event
        for batch in (first, second)
        for event in column_events(batch, range(batch["event_id"].size))
        if (batch is second or event.event_id not in replaced) and event.event_id not in withdrawn
    ]
    assert two.scores().rows() == reference_rows(events, weights, two.as_of)


def _events(weights, event_ids: list[int], as_of: datetime.date) -> dict[str, list]:
    """A batch of one event per id (of nominal ``id % 5``), all of one kind, dated as_of."""
    kind = weights.datasets[0], weights.offences[0]
    return event_columns([reference.Event(i, i % 5, *kind, as_of) for i in event_ids])


def _one_event(weights, event_id: int, as_of: datetime.date) -> dict[str, list]:
    return _events(weights, [event_id], as_of)


def _check_index(engine: Engine, candidates: np.ndarray, held: set[int]) -> None:
    """Each held id is found at its own slot; no other candidate is found."""
    found = engine._store.find_events(candidates)
    assert {int(i) for i in candidates[found >= 0]} == held
    assert engine._store.index_entries == len(held) == len(engine)
    slots = engine._store.event_ids()
    pairs = zip(candidates.tolist(), found.tolist(), strict=True)
    assert all(slots[f] == i for i, f in pairs if f >= 0)


def _lanes_at_rest(engine: Engine) -> None:
    """With no entry held, no overflow is counted (but in lanes stuck at 255)."""
    lanes = engine._store._index_lanes()
    assert ((lanes == 0) | (lanes == 255)).all()


@given(
    pool=st.lists(st.integers(0, 2**40) | st.integers(0, 95), min_size=2, max_size=40, unique=True),
    steps=st.lists(st.tuples(st.booleans(), st.integers(0, 39)), min_size=1, max_size=120),
    parallel_min=st.sampled_from([1, 1 << 62]),
    use_pages=st.booleans(),
)
def test_the_event_index_finds_exactly_the_held_ids(pool, steps, parallel_min, use_pages):
    """Up to 40 ids, many of them neighbours (one group, one home chunk), crowd
    an index of 2-5 chunks of 12 entries, so walks are long and wrap past the
    end: after every insert or retract, each held id is found at its slot and
    no other id is found at all; with every id gone, no overflow is left. With
    pages, the first id's page is made, and a page next to the run of pages
    when an id lands in it; the other ids go to the hashed index, which may
    hold ids of a page made after them. With every id gone, no page is left."""
    weights = small_weights()
    as_of = D(2026, 11, 26)
    engine = Engine(weights, as_of)
    engine._store.parallel_min = parallel_min
    engine._store.use_pages = use_pages
    candidates = np.array(pool, dtype=np.int64)
    held: set[int] = set()
    for insert, k in steps:
        event_id = pool[k % len(pool)]
        if insert and event_id not in held:
            engine.ingest(_one_event(weights, event_id, as_of))
            held.add(event_id)
        elif not insert:
            assert engine.retract([event_id]).retracted == (event_id in held)
            held.discard(event_id)
        _check_index(engine, candidates, held)
    engine.retract(sorted(held))
    _check_index(engine, candidates, set())
    _lanes_at_rest(engine)
    assert engine._store.id_pages == 0 and engine._store.paged_entries == 0


_MASK64 = (1 << 64) - 1


def _group_hash(event_id: int) -> int:
    """The index's hash of an id's group of eight: splitmix64's finaliser, as csrc/iom_store.c."""
    z = ((event_id >> 3) + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def _chunks_for(count: int) -> int:
    """Chunks a bulk load of ``count`` ids gets: a load of 60%, as csrc/iom_store.c."""
    return max(2, -(-count * 100 // (60 * 12)))


def _home(event_id: int, chunks: int) -> int:
    """The index's home chunk for an id (the hash scaled to the chunk count)."""
    return (_group_hash(event_id) * chunks) >> 64


def _lane(event_id: int) -> int:
    """Which of its chunks' four overflow counts an id's walk uses."""
    return (_group_hash(event_id) >> 4) & 3


def _ids_homed(chunks: int, home: int, count: int) -> list[int]:
    """The first ``count`` ids homed at chunk ``home`` of a ``chunks``-chunk index."""
    return list(itertools.islice((i for i in itertools.count() if _home(i, chunks) == home), count))


@pytest.mark.parametrize("parallel_min", [1, 1 << 62])
@pytest.mark.parametrize("last_first", [True, False])
def test_deletes_in_a_walk_that_wraps_past_the_last_chunk(parallel_min, last_first):
    """Fourteen ids homed in the last chunk of the fresh two-chunk index (12
    entries each) and three homed in the first, inserted in either order: the
    last chunk's overflow wraps into the first. Taking out each one in turn
    must leave the others findable, and so must taking out all of them one by
    one, which must leave no overflow counted."""
    last = _ids_homed(2, 1, 14)
    first = _ids_homed(2, 0, 3)
    order = last + first if last_first else first + last
    weights = small_weights()
    as_of = D(2026, 11, 26)
    for gone in order:
        engine = Engine(weights, as_of)
        engine._store.parallel_min = parallel_min
        engine._store.use_pages = False  # every id in the hashed index, whose walks this tests
        for event_id in order:  # 17 entries: the index keeps its two chunks
            engine.ingest(_one_event(weights, event_id, as_of))
        assert len(engine._store._index_lanes()) == 2
        engine.retract([gone])
        _check_index(engine, np.array(order, dtype=np.int64), set(order) - {gone})
        for other in [i for i in order if i != gone]:
            engine.retract([other])
        _check_index(engine, np.array(order, dtype=np.int64), set())
        _lanes_at_rest(engine)


def _tag(event_id: int) -> int:
    """An id's tag byte: a used mark, four bits of its group's hash, its place in the group."""
    return 0x80 | (_group_hash(event_id) & 0xF) << 3 | event_id & 7


def _check_bits(event_id: int) -> int:
    """The four bits of the group's hash that an entry keeps above its slot."""
    return (_group_hash(event_id) >> 6) & 0xF


@pytest.mark.parametrize("parallel_min", [1, 1 << 62])
@pytest.mark.parametrize("first_gone", [True, False])
def test_a_delete_takes_its_own_entry_among_equal_tags(parallel_min, first_gone):
    """Two ids of different groups with one home chunk, one tag byte and one
    check (the hash bits above the slot): a lookup tells them apart by key, a
    delete by slot, so retracting either leaves the other findable."""
    a = 0
    b = next(
        i
        for i in itertools.count(8)
        if _home(i, 2) == _home(a, 2) and _tag(i) == _tag(a) and _check_bits(i) == _check_bits(a)
    )
    weights = small_weights()
    as_of = D(2026, 11, 26)
    engine = Engine(weights, as_of)
    engine._store.parallel_min = parallel_min
    engine._store.use_pages = False  # every id in the hashed index, whose walks this tests
    engine.ingest(_events(weights, [a, b], as_of))
    gone, kept = (a, b) if first_gone else (b, a)
    engine.retract([gone])
    _check_index(engine, np.array([a, b], dtype=np.int64), {kept})


@pytest.mark.parametrize("parallel_min", [1, 1 << 62])
def test_an_index_rebuild_keeps_walks_that_wrap_past_its_end(parallel_min):
    """The 20th event outgrows the two-chunk index (a load of 0.8), which is
    rebuilt with three chunks (its puts prefetched ahead). Fourteen of the
    held ids are homed at the last chunk of the new table and five at the
    middle one, so the last chunk overflows into the first."""
    end = _ids_homed(3, 2, 14)
    middle = _ids_homed(3, 1, 5)
    held = end + middle + [10_000]
    weights = small_weights()
    as_of = D(2026, 11, 26)
    engine = Engine(weights, as_of)
    engine._store.parallel_min = parallel_min
    engine._store.use_pages = False  # every id in the hashed index, whose walks this tests
    for event_id in held:
        engine.ingest(_one_event(weights, event_id, as_of))
    assert len(engine._store._index_lanes()) == 3
    _check_index(engine, np.array([*held, 10_001, 10_002], dtype=np.int64), set(held))
    engine.retract(held)
    _lanes_at_rest(engine)


@pytest.mark.parametrize("parallel_min", [1, 1 << 62])
def test_an_overflow_count_stuck_at_255_still_finds_everything(parallel_min):
    """268 neighbouring ids (groups of eight), every group homed at the last
    chunk of the index a 268-event batch gets, and all in one lane: 256 of
    them pass that chunk, whose count stops at 255 (a count that wrapped to 0
    would hide them all) and stays there. Lookups walk on past it, so every
    id is found while held and none once retracted."""
    chunks = _chunks_for(268)
    crowded = (
        g for g in itertools.count() if _home(8 * g, chunks) == chunks - 1 and _lane(8 * g) == 0
    )
    ids = [8 * g + k for g in itertools.islice(crowded, 34) for k in range(8)][:268]
    weights = small_weights()
    as_of = D(2026, 11, 26)
    engine = Engine(weights, as_of)
    engine._store.parallel_min = parallel_min
    engine._store.use_pages = False  # every id in the hashed index, whose walks this tests
    engine.ingest(_events(weights, ids, as_of))
    lanes = engine._store._index_lanes()
    assert len(lanes) == chunks and lanes[chunks - 1, 0] == 255
    candidates = np.array([*ids, *(i + 8 for i in ids)], dtype=np.int64)
    _check_index(engine, candidates, set(ids))
    engine.retract(ids[::2])
    _check_index(engine, candidates, set(ids[1::2]))
    engine.retract(ids[1:-1:2])  # leaves the last id put, which passed the crowded chunk
    _check_index(engine, candidates, {ids[-1]})
    engine.retract(ids[-1:])
    _check_index(engine, candidates, set())
    assert engine._store._index_lanes()[chunks - 1, 0] == 255
    _lanes_at_rest(engine)


@pytest.mark.parametrize("parallel_min", [1, 1 << 62])
@pytest.mark.parametrize("with_replace", [False, True])
@pytest.mark.parametrize("use_pages", [False, True])
def test_a_batch_that_runs_out_of_memory_changes_nothing(parallel_min, with_replace, use_pages):
    """Memory running out while adding a batch's nominals (simulated) leaves the
    engine as it was, on either insert path: on two threads a pure insert batch
    has already filled the id index by then, and must take those entries out."""
    weights = small_weights()
    as_of = D(2026, 11, 26)
    rng = np.random.default_rng(5)

    engine = Engine(weights, as_of)
    engine._store.parallel_min = parallel_min
    engine._store.use_pages = use_pages
    first = random_columns(
        rng, np.arange(3_000), rng.integers(0, 500, size=3_000), as_of, 700, weights
    )
    engine.ingest(first)
    ids = np.arange(10_000, 14_000)
    if with_replace:  # a correction makes the two-thread path retract before it inserts
        ids[0] = 0
    second = random_columns(rng, ids, rng.integers(0, 2_000, size=ids.size), as_of, 700, weights)
    before = (engine.scores().rows(), len(engine), engine._store.find_events(ids).tolist())
    engine._store._fail_at_nominal(engine._store.n_nominals + 100)
    with pytest.raises(MemoryError):
        engine.ingest(second, replace=True)
    assert (engine.scores().rows(), len(engine), engine._store.find_events(ids).tolist()) == before
    assert engine._store.index_entries == len(engine)
    engine._store._fail_at_nominal(-1)
    engine.ingest(second, replace=True)
    kept = {int(i): k for k, i in enumerate(first["event_id"]) if int(i) not in set(ids.tolist())}
    events = column_events(first, kept.values()) + column_events(second, range(ids.size))
    assert engine.scores().rows() == reference_rows(events, weights, as_of)
    assert engine._store.index_entries == len(engine)


@pytest.mark.slow
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_threaded_rescoring_kernel_equals_a_plain_sum(threads):
    """The compiled rescoring kernel on 1.2 million entries (the threaded path) vs numpy.

    Rows are of random length, with runs of empty rows; the plain twin sums
    count x points per entry and takes differences of the running total.
    """
    from iomscore._core import csr_matvec

    rng = np.random.default_rng(threads)
    n_rows = 220_000
    lengths = rng.integers(0, 16, size=n_rows)
    lengths[rng.random(n_rows) < 0.2] = 0
    lengths[:5] = 0
    lengths[-5:] = 0
    lengths[777] = 5_000  # a row longer than a block
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    nnz = int(indptr[-1])
    assert nnz >= 1_000_000
    kinds = rng.integers(0, 3_000, size=nnz).astype(np.uint16)
    points = rng.integers(0, 100_001, size=3_000).astype(np.int64)
    for counts in (
        rng.integers(1, 60_000, size=nnz).astype(np.uint16),
        rng.integers(1, 200_000, size=nnz).astype(np.int32),
    ):
        products = counts.astype(np.int64) * points[kinds]
        running = np.concatenate([[0], np.cumsum(products)])
        expected = running[indptr[1:]] - running[indptr[:-1]]
        got = csr_matvec(indptr, kinds, counts, points, threads=threads)
        np.testing.assert_array_equal(got, expected)
        # And a few rows by a plain loop, so the twin is checked too.
        for r in (0, 5, 776, 777, 778, n_rows - 6, n_rows - 1):
            lo, hi = int(indptr[r]), int(indptr[r + 1])
            assert int(got[r]) == sum(int(counts[i]) * int(points[kinds[i]]) for i in range(lo, hi))


@pytest.mark.slow
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_threaded_rescore_layout_equals_the_csr_kernel(threads):
    """Each layout kernel on 1.2 million entries (the threaded path) vs the CSR kernel and numpy.

    Row lengths are random (many past one 16-entry lane, runs of empty rows,
    one very long row), and the row count is not a multiple of 16.
    """
    from iomscore._core import csr_matvec, sell_kernels
    from iomscore.rescore import RescoreLayout

    rng = np.random.default_rng(threads)
    n_rows = 150_003
    lengths = rng.integers(0, 14, size=n_rows)
    lengths[rng.random(n_rows) < 0.1] = 40
    lengths[rng.random(n_rows) < 0.2] = 0
    lengths[777] = 5_000
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    nnz = int(indptr[-1])
    assert nnz >= 1_000_000
    kinds = rng.integers(0, 3_000, size=nnz).astype(np.uint16)
    counts = rng.integers(1, 5, size=nnz).astype(np.uint16)
    points = rng.integers(0, 100_001, size=3_000).astype(np.int64)
    products = counts.astype(np.int64) * points[kinds]
    running = np.concatenate([[0], np.cumsum(products)])
    expected = running[indptr[1:]] - running[indptr[:-1]]
    np.testing.assert_array_equal(csr_matvec(indptr, kinds, counts, points), expected)
    layout = RescoreLayout.build(indptr, counts, kinds)
    assert layout.fits(points)
    for kernel in sell_kernels():
        got = layout.scores(points, threads=threads, kernel=kernel)
        np.testing.assert_array_equal(got, expected, err_msg=kernel)


@given(
    st.lists(
        st.one_of(st.integers(0, 40), st.integers(0, 2**63 - 1)),
        max_size=300,
    )
)
def test_radix_argsort_orders_ids_as_a_stable_sort(keys):
    """The Numba radix sort behind the nominal-id order vs the definition:
    indices by (key, position)."""
    from iomscore._kernels import argsort_ids

    expected = sorted(range(len(keys)), key=lambda i: (keys[i], i))
    assert argsort_ids(np.array(keys, dtype=np.int64)).tolist() == expected


@pytest.mark.slow
def test_many_new_nominals_keep_band_changes_in_nominal_id_order():
    """Batches bringing more new nominals than numpy sorts (the radix sort's
    path), merged into the order already held, vs the reference."""
    weights = small_weights()
    as_of = D(2026, 11, 26)
    rng = np.random.default_rng(3)
    ids = rng.choice(10**12, size=150_000, replace=False)
    engine = Engine(weights, as_of, thresholds=(1, 2, 3))
    events, next_id = [], 0
    for part in (ids[:70_000], ids[70_000:]):
        batch = {
            "event_id": np.arange(next_id, next_id + part.size, dtype=np.int64),
            "nominal_id": part.astype(np.int64),
            "dataset": np.full(part.size, weights.datasets[0]),
            "offence": np.full(part.size, weights.offences[0]),
            "date": np.full(part.size, np.datetime64(as_of, "D")),
        }
        report = engine.ingest(batch)
        events += column_events(batch, range(part.size))
        next_id += part.size
        # Every new nominal moves out of "not banded" (one event clears threshold 1).
        np.testing.assert_array_equal(report.changes.nominal_id, np.sort(part))
    held = engine._store.nominal_ids()
    np.testing.assert_array_equal(held[engine._by_id()], np.sort(ids))
    assert engine.scores().rows() == reference_rows(events, weights, as_of, 2, (1, 2, 3))
