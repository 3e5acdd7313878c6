"""The id pages: a direct map from event id to slot, beside the hashed index.

Sources number events in sequence, so the store keeps most ids in pages of
4,096 consecutive ids (``iom_pages`` in csrc/iom_store.h): a day's new ids and
the expiring day's ids then cost a sequential write each. A batch makes the
pages its ids justify (dense enough, next to the run of pages or across a gap
in the numbering); every other id goes to the hashed index, which also keeps
ids put there before their page was made. These tests drive an engine through
batches of ids in runs, across page edges and gaps, scattered and far off,
with pages allowed and not, on one thread and two, with retractions and
expiry, and check after every step that exactly the live ids are found, at
their own slots, and the scores equal the reference's.
"""

from __future__ import annotations

import datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import (
    assert_holds_exactly,
    column_events,
    random_columns,
    small_weights,
)

from iomscore import Engine

AS_OF = datetime.date(2027, 6, 30)
PAGE_IDS = 4096
ONE_THREAD = 1 << 62
INT64_MAX = np.iinfo(np.int64).max


def _columns(
    rng: np.random.Generator,
    ids: np.ndarray,
    age_days: int = 700,
    as_of: datetime.date = AS_OF,
):
    """Events with these ids, of 30 nominals, dated up to ``age_days - 1`` days before
    ``as_of`` (inside the two-year window)."""
    nominal_ids = rng.integers(0, 30, size=ids.size)
    return random_columns(rng, ids, nominal_ids, as_of, age_days, small_weights())


def _check(engine: Engine, held: dict, probes: set[int]) -> None:
    """Exactly the held ids are found, each at a slot holding it; entries count them once."""
    assert_holds_exactly(engine, held, probes, small_weights())
    assert engine._store.index_entries == len(held)
    assert 0 <= engine._store.paged_entries <= len(held)


# A batch's ids: a run after the highest (steps of 1-3), a run past a gap of
# pages, ids scattered below the highest and a few pages above it, ids far
# above, or the ids around a page's edge; ids held already are left out, and
# three batches in ten come shuffled.
batch_kinds = st.sampled_from(["run", "gap", "scatter", "far", "edge"])


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    base=st.sampled_from([0, 10**12, INT64_MAX - 2**40]),
    steps=st.lists(
        st.tuples(st.sampled_from(["ingest", "retract", "advance", "toggle"]), batch_kinds),
        min_size=1,
        max_size=14,
    ),
    use_pages=st.booleans(),
    parallel_min=st.sampled_from([1, 64, ONE_THREAD]),
)
def test_exactly_the_live_ids_are_found_through_pages_and_index(
    seed, base, steps, use_pages, parallel_min
):
    rng = np.random.default_rng(seed)
    engine = Engine(small_weights(), AS_OF)
    pages = use_pages
    engine._store._use_pages(pages)
    engine._store._parallel_min = parallel_min
    held: dict[int, object] = {}
    probes: set[int] = {base, INT64_MAX}
    top = base
    for op, kind in steps:
        if op == "ingest":
            n = int(rng.integers(1, 600))
            if kind == "run":
                ids = top + np.cumsum(rng.integers(1, 4, size=n))
            elif kind == "gap":  # beyond the run of pages, by one page or many
                jump = int(rng.choice([PAGE_IDS, 5 * PAGE_IDS, 40 * PAGE_IDS]))
                ids = top + jump + np.cumsum(rng.integers(1, 4, size=n))
            elif kind == "scatter":  # below the top and a few pages above it
                ids = base + rng.choice(max(top - base, 1) + 3 * PAGE_IDS, size=n, replace=False)
            elif kind == "far":  # far above, where no page may reach
                ids = top + 2**28 + rng.choice(2**24, size=n, replace=False)
            else:  # the ids on both sides of a page's edge
                edge = (top // PAGE_IDS + 1) * PAGE_IDS
                ids = edge - n // 2 + np.arange(n)
            ids = np.array([i for i in ids.tolist() if i not in held], dtype=np.int64)
            if ids.size == 0:
                continue
            if rng.random() < 0.3:
                rng.shuffle(ids)
            columns = _columns(rng, ids, as_of=engine.as_of)
            engine.ingest(columns)
            for event in column_events(columns, range(ids.size)):
                held[event.event_id] = event
            probes |= set(ids.tolist())
            top = max(top, int(ids.max()))
        elif op == "retract" and held:
            gone = rng.choice(sorted(held), size=int(rng.integers(1, len(held) + 1)), replace=False)
            engine.retract(gone)
            for event_id in gone.tolist():
                del held[event_id]
        elif op == "advance":
            engine.advance(engine.as_of + datetime.timedelta(days=int(rng.integers(1, 400))))
            held = {i: e for i, e in held.items() if e.date > engine.window_start}
        elif op == "toggle":
            pages = not pages
            engine._store._use_pages(pages)
        _check(engine, held, probes)
    engine.retract(sorted(held))
    _check(engine, {}, probes)
    assert engine._store.id_pages == 0  # every page emptied is freed


def test_pages_stay_dense_and_the_sparse_rest_goes_to_the_index():
    """Ids 8 apart fill 512 of a page's 4,096 entries: a bulk load may make
    pages only while they average 1 entry in 4 (past a floor of 16 pages), so
    at most 32 here; ids 2 apart (the synthetic cohort's mean) all get pages."""
    rng = np.random.default_rng(1)
    for step, paged_all in [(8, False), (2, True)]:
        engine = Engine(small_weights(), AS_OF)
        ids = 10**9 + step * np.arange(100_000, dtype=np.int64)
        engine.ingest(_columns(rng, ids))
        store = engine._store
        if paged_all:
            assert store.paged_entries == len(engine)
            assert store.id_pages == np.unique(ids // PAGE_IDS).size
        else:
            assert 0 < store.id_pages <= 32
            assert store.paged_entries == store.id_pages * (PAGE_IDS // step)
        assert store.index_entries == len(engine) == ids.size
        assert (store.find_events(ids) >= 0).all()


def test_a_day_past_a_gap_in_the_numbering_takes_pages():
    """The loaded cohort's last day is held back, so the next day's ids start
    pages above the run: they must still go to pages, not to the index."""
    rng = np.random.default_rng(2)
    engine = Engine(small_weights(), AS_OF)
    engine.ingest(_columns(rng, 10**9 + 2 * np.arange(200_000, dtype=np.int64)))
    assert engine._store.paged_entries == len(engine)
    day = 10**9 + 400_000 + 20 * PAGE_IDS + np.arange(27_000, dtype=np.int64)
    engine.ingest(_columns(rng, day, age_days=1))
    assert engine._store.paged_entries == len(engine) == 227_000


def test_expiry_frees_the_oldest_pages_and_new_ones_reuse_them():
    """Days in id order: as the oldest days expire, their pages are freed, the
    first 64 kept as spares (the rest given back), and the pages a later day's
    ids need reuse the spares (none is allocated)."""
    rng = np.random.default_rng(3)
    engine = Engine(small_weights(), AS_OF)
    store = engine._store
    ids = PAGE_IDS * 1000 + np.arange(100 * PAGE_IDS, dtype=np.int64)
    columns = _columns(rng, ids)
    # page k of the 100 holds the events of day AS_OF - 699 + 2 k
    columns["date"] = np.datetime64(AS_OF, "D") - 699 + 2 * (np.arange(ids.size) // PAGE_IDS)
    engine.ingest(columns)
    assert store.id_pages == 100 and store.spare_pages == 0
    engine.advance(AS_OF + datetime.timedelta(days=200))
    events = column_events(columns, range(ids.size))
    held = {e.event_id: e for e in events if e.date > engine.window_start}
    pages_left = {i // PAGE_IDS for i in held}
    assert store.id_pages == len(pages_left) == 100 - 85  # days -699 to -531 expire
    assert store.spare_pages == 64
    _check(engine, held, set(ids[::97].tolist()))
    day = ids[-1] + 1 + np.arange(10 * PAGE_IDS, dtype=np.int64)
    again = _columns(rng, day, age_days=1, as_of=engine.as_of)
    engine.ingest(again)
    assert store.id_pages == len(pages_left) + 10
    assert store.spare_pages == 64 - 10
    held |= {e.event_id: e for e in column_events(again, range(day.size))}
    _check(engine, held, set(ids[::97].tolist()) | set(day[::97].tolist()))


def test_withdrawing_the_newest_ids_frees_their_pages():
    """Empty pages at either end of the run are freed: withdraw the top page's
    ids, then the bottom page's; a page emptied inside the run stays until an
    end reaches it, and taking a page's ids again reuses it."""
    rng = np.random.default_rng(4)
    engine = Engine(small_weights(), AS_OF)
    store = engine._store
    ids = 7 * PAGE_IDS + np.arange(5 * PAGE_IDS, dtype=np.int64)  # pages 7-11
    columns = _columns(rng, ids)
    engine.ingest(columns)
    assert store.id_pages == 5
    page = ids.reshape(5, PAGE_IDS)
    engine.retract(page[4])  # the top page
    assert store.id_pages == 4
    engine.retract(page[0])  # the bottom page
    assert store.id_pages == 3
    engine.retract(page[2])  # inside the run: stays
    assert store.id_pages == 3
    engine.retract(page[3])  # now the top two are empty: both freed
    assert store.id_pages == 1
    events = column_events(columns, range(ids.size))
    held = {e.event_id: e for e in events if e.event_id // PAGE_IDS == 8}
    _check(engine, held, set(ids[::101].tolist()))
    again = _columns(rng, page[3])
    engine.ingest(again)  # next to the run: its page is made again
    assert store.id_pages == 2 and store.paged_entries == len(engine)
    held |= {e.event_id: e for e in column_events(again, range(PAGE_IDS))}
    _check(engine, held, set(ids[::101].tolist()))
