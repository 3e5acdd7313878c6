"""The store and the kernels under the engine, at the paths its public API cannot choose.

``test_equivalence.py`` drives :class:`iomscore.Engine` through its public
methods only; the tests here reach below it, on inputs made to reach one
internal path each, and still check what they observe against
:mod:`iomscore.reference` or a plain sum:

* repeated full rescores, and a failure while finding their band changes;
* the partial rescore, of stores loaded on one thread or two (``_parallel_min``);
* the store on two threads against one, and a batch that runs out of memory;
* the event-id index: walks that wrap, equal tags, rebuilds, overflow counts, id pages;
* the full-rescore kernel on large arrays, and the nominal-id order.

Helpers shared with the engine-level tests (scenarios, the reweight checks, the
skewed cohort) come from ``test_equivalence``.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from strategies import (
    column_events,
    columns,
    event_columns,
    random_columns,
    reference_rows,
    reference_scores,
    small_weights,
    variants,
)
from test_equivalence import (
    Scenario,
    _check_reweight,
    _check_what_if,
    _codes,
    _skewed_scenario,
    scenarios,
)

from iomscore import Engine, Weights, reference

D = datetime.date


# ------------------------------------------------------------------------------- full rescores


@given(data=st.data(), sc=scenarios())
def test_repeated_full_rescores_equal_reference(data, sc: Scenario):
    """A what-if then two reweights of the same events, each checked."""
    engine = sc.engine()
    engine.ingest(columns(sc.batch), future="skip")
    tables = [data.draw(variants(sc.weights, min_changes=6)) for _ in range(3)]
    _check_what_if(sc, engine, tables[0])
    for new in tables[1:]:
        _check_reweight(sc, engine, new)
        sc = dataclasses.replace(sc, weights=new)


def test_a_full_rescore_refuses_a_matrix_of_another_store_and_changes_nothing():
    """The one-pass full rescore checks that the matrix has one row per nominal
    of the store before it writes any score."""
    sc = _skewed_scenario()
    engine = sc.engine()
    engine.ingest(columns(sc.batch))
    store = engine._store
    before = store.scores().copy()
    m = engine.matrix()
    row_index = np.argsort(store.nominal_ids(), kind="stable")
    points = sc.weights.kind_points() + 10_000
    with pytest.raises(ValueError, match=r"one row per nominal|one CSR matrix"):
        store.rescore(m.indptr[:-1], m.indices, m.data, points, row_index[:-1], m.nominal_id[:-1])
    with pytest.raises(ValueError, match="one row per nominal"):
        store.rescore(m.indptr, m.indices, m.data, points, row_index[:-1], m.nominal_id)
    np.testing.assert_array_equal(store.scores(), before)
    assert engine.scores().rows() == sc.ref_rows()


@pytest.mark.parametrize("parallel_min", [1, 1 << 62])
def test_a_full_rescore_on_two_threads_or_one_reports_every_move_in_id_order(parallel_min):
    """Every nominal not HIGH already moves to HIGH: the two parts' reports are
    joined in row order (nominal_id order)."""
    sc = _skewed_scenario()
    engine = sc.engine()
    engine.ingest(columns(sc.batch))
    engine._store._parallel_min = parallel_min
    table = sc.weights.replace(
        {(d, o): 30_000 for d in sc.weights.datasets for o in sc.weights.offences}, name="high"
    )
    report = engine.reweight(table)
    assert report.mode == "full"
    after = dataclasses.replace(sc, weights=table)
    assert report.changes.as_dict() == reference.band_changes(
        reference_scores([r.event for r in sc.batch], sc.weights, sc.as_of),
        reference_scores([r.event for r in sc.batch], table, sc.as_of),
    )
    assert list(report.changes.nominal_id) == sorted(report.changes.nominal_id)
    assert engine.scores().rows() == after.ref_rows()


# ------------------------------------------------ partial rescores (loaded on one thread or two)


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
    the changed columns under a twelfth of the matrix: the partial path."""
    weights, table, events = _four_changed_codes(old, new, counts, fillers=15)
    assert _reweight_as_reference(weights, table, events, parallel_min) in ("partial", "none")


@given(
    old=st.lists(st.integers(0, 700), min_size=4, max_size=4),
    new=st.lists(st.integers(0, 700), min_size=4, max_size=4),
    counts=st.lists(st.lists(st.integers(0, 3), min_size=4, max_size=4), min_size=1, max_size=48),
    parallel_min=st.sampled_from([1, 1 << 62]),
)
def test_a_partial_reweight_of_many_nominals_equals_the_reference(old, new, counts, parallel_min):
    """Up to 48 nominals in the changed columns, each crossing or not."""
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
    band changes and scores against the reference; returns the path taken."""
    as_of = max(e.date for e in events)
    before = reference_scores(events, weights, as_of)
    after = reference_scores(events, table, as_of)
    engine = Engine(weights, as_of)
    engine._store._parallel_min = parallel_min
    engine.ingest(event_columns(events))
    report = engine.reweight(table)
    assert report.changes.as_dict() == reference.band_changes(before, after)
    assert engine.scores().rows() == reference.result(after)
    return report.mode


@pytest.mark.parametrize("n_nominals", [1, 2, 3, 8, 21, 40, 67])
@pytest.mark.parametrize("parallel_min", [1, 1 << 62])
def test_a_partial_reweight_updates_every_nominal_of_the_changed_columns(n_nominals, parallel_min):
    """Every nominal holds one event of the changed code and twelve of others
    (so the changed column is under a twelfth of the matrix): none may be left
    out or taken twice, however many there are."""
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


# ---------------------------------------------------------------------- two threads against one


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
        engine._store._parallel_min = parallel_min
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


# --------------------------------------------------------------------------- the event-id index


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
    engine._store._parallel_min = parallel_min
    engine._store._use_pages(use_pages)
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
        engine._store._parallel_min = parallel_min
        engine._store._use_pages(False)  # every id in the hashed index, whose walks this tests
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
    engine._store._parallel_min = parallel_min
    engine._store._use_pages(False)  # every id in the hashed index, whose walks this tests
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
    engine._store._parallel_min = parallel_min
    engine._store._use_pages(False)  # every id in the hashed index, whose walks this tests
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
    engine._store._parallel_min = parallel_min
    engine._store._use_pages(False)  # every id in the hashed index, whose walks this tests
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


# ------------------------------------------------------------------------ running out of memory


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
    engine._store._parallel_min = parallel_min
    engine._store._use_pages(use_pages)
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


# ---------------------------------------------------------------------- kernels on large arrays


@pytest.mark.slow
@pytest.mark.parametrize("threads", [1, 2])
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


# ------------------------------------------------------------------------- the nominal-id order


@pytest.mark.slow
def test_many_new_nominals_keep_band_changes_in_nominal_id_order():
    """Batches bringing many new nominals, each sorted and merged into the
    order already held, vs the reference."""
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
