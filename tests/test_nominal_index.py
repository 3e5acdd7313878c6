"""classify's nominal lookups, handed on to apply, against apply's own.

``Engine.ingest`` asks ``EventStore.classify`` for each row's nominal index
(split over both threads with the event-id lookups) and passes it to
``EventStore.apply``, which then looks up only the rows it has as -1. These
tests drive two stores through the same batches, one with the hand-over and
one without, and require the same store at the end; and they check the
hand-over itself against ``find_nominals``.
"""

from __future__ import annotations

import datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import column_events, random_columns, reference_rows, small_weights

from iomscore import Engine
from iomscore.batch import encode_events

AS_OF = datetime.date(2028, 2, 29)
ONE_THREAD = 1 << 62


def _columns(rng: np.random.Generator, ids: np.ndarray, nominals: int) -> dict[str, np.ndarray]:
    nominal_ids = rng.integers(0, nominals, size=ids.size)
    return random_columns(rng, ids, nominal_ids, AS_OF, 900, small_weights())


def _state(store) -> list:
    """Everything apply changes, by index and by slot, and the band changes."""
    by_id = np.argsort(store.nominal_ids(), kind="stable")
    changes = store.band_changes(lambda: by_id)
    return [
        store.nominal_ids().tolist(),
        store.scores().tolist(),
        store.live_counts().tolist(),
        store.event_ids().tolist(),
        store.event_nominals().tolist(),
        store.event_kinds().tolist(),
        [np.asarray(part).tolist() for part in changes],
    ]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    first=st.integers(0, 300),
    second=st.integers(1, 300),
    withdraw_first=st.booleans(),
    parallel_min=st.sampled_from([1, 7, ONE_THREAD]),
)
def test_apply_given_classifys_nominals_leaves_the_store_it_leaves_alone(
    seed, first, second, withdraw_first, parallel_min
):
    """A first batch, perhaps all withdrawn again (a store with nominals and no
    events), then a second with new ids, ids held with the same or other
    content (replaced), rows dated before the window, and nominals old and new."""
    rng = np.random.default_rng(seed)
    weights = small_weights()
    first_ids = rng.permutation(1_000)[:first]
    again = first_ids[: rng.integers(0, first + 1)]
    second_ids = np.concatenate(
        [again, 1_000 + rng.permutation(1_000)[: max(second - again.size, 0)]]
    )
    earlier = _columns(rng, first_ids, 60)
    batch = encode_events(_columns(rng, second_ids, 90), weights)

    stores = []
    for _ in range(2):
        engine = Engine(weights, AS_OF)
        engine._store._parallel_min = parallel_min
        engine.ingest(earlier)
        if withdraw_first:
            engine.retract(first_ids)
        stores.append(engine._store)
    handed, alone = stores

    index = np.full(len(batch), -7, dtype=np.int32)
    status = handed.classify(batch.event_id, batch.nominal_id, batch.kind, batch.day, index)
    assert index.tolist() == handed.find_nominals(batch.nominal_id).tolist()
    assert (
        status.tolist()
        == alone.classify(batch.event_id, batch.nominal_id, batch.kind, batch.day).tolist()
    )

    action, _ = handed.plan(status, batch.day)
    handed.apply(batch.event_id, batch.nominal_id, batch.kind, batch.day, action, index)
    alone.apply(batch.event_id, batch.nominal_id, batch.kind, batch.day, action)
    assert _state(handed) == _state(alone)


def test_engine_ingest_with_the_hand_over_matches_the_reference():
    """The engine's own path (classify's nominals handed to apply), split over
    two threads, at a size where both halves hold known and new nominals."""
    rng = np.random.default_rng(11)
    weights = small_weights()
    first = _columns(rng, np.arange(0, 6_000, 2), 500)
    second = _columns(rng, np.arange(1, 6_000, 2), 900)
    engine = Engine(weights, AS_OF)
    engine._store._parallel_min = 64
    engine.ingest(first)
    engine.ingest(second)
    events = column_events(first, range(3_000)) + column_events(second, range(3_000))
    assert engine.scores().rows() == reference_rows(events, weights, AS_OF)


def _one_row_store():
    engine = Engine(small_weights(), AS_OF)
    engine.ingest(_columns(np.random.default_rng(3), np.arange(5), 3))
    batch = encode_events(_columns(np.random.default_rng(4), np.arange(10, 12), 3), engine.weights)
    store = engine._store
    index = np.empty(2, dtype=np.int32)
    status = store.classify(batch.event_id, batch.nominal_id, batch.kind, batch.day, index)
    action, _ = store.plan(status, batch.day)
    return store, batch, action, index


@pytest.mark.parametrize("bad", [-2, 99])
def test_apply_refuses_a_nominal_index_outside_the_store(bad):
    store, batch, action, index = _one_row_store()
    before = _state(store)
    index[1] = bad
    with pytest.raises(ValueError, match=r"nominal_index\[1\] is not a nominal of this store"):
        store.apply(batch.event_id, batch.nominal_id, batch.kind, batch.day, action, index)
    assert _state(store) == before


def test_apply_without_nominal_ids_beside_a_full_index_matches_apply_with_them():
    """A restored snapshot's path: every row's nominal is in the index, so the ids
    are not needed (and not gathered)."""
    with_ids, batch, action, index = _one_row_store()
    without, _, _, _ = _one_row_store()
    assert (index >= 0).all()
    with_ids.apply(batch.event_id, batch.nominal_id, batch.kind, batch.day, action, index)
    without.apply(batch.event_id, None, batch.kind, batch.day, action, index)
    assert _state(without) == _state(with_ids)


def test_apply_without_nominal_ids_needs_every_nominal_in_the_index():
    store, batch, action, index = _one_row_store()
    before = _state(store)
    with pytest.raises(ValueError, match="only beside a full nominal_index"):
        store.apply(batch.event_id, None, batch.kind, batch.day, action)
    index[0] = -1  # a nominal to look up by its id
    with pytest.raises(ValueError, match="only beside a full nominal_index"):
        store.apply(batch.event_id, None, batch.kind, batch.day, action, index)
    assert _state(store) == before


def test_the_nominal_index_must_have_a_row_each():
    store, batch, action, index = _one_row_store()
    with pytest.raises(ValueError, match="one entry per row"):
        store.classify(batch.event_id, batch.nominal_id, batch.kind, batch.day, index[:1])
    with pytest.raises(ValueError, match="one entry per row"):
        store.apply(batch.event_id, batch.nominal_id, batch.kind, batch.day, action, index[:1])


# Where a test's nominal ids are drawn from, as (low, width) ranges: ids that
# equal indices, ids either side of 2**32 - 1 (the first id of the wide table,
# and the narrow table's free marker), ids near the top of the int64 range,
# and ids of both tables at once.
ID_RANGES = {
    "indices": [(0, 4_000)],
    "narrow edge": [(2**32 - 1 - 2_000, 4_000)],
    "top": [(2**63 - 1 - 2**20, 2**20)],
    "spread": [(2**63 - 1 - 2**62, 2**62)],
    "both tables": [(0, 2**32 - 1), (2**32 - 1, 2**63 - 2**32)],
}


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 4_000),
    batches=st.integers(1, 4),
    where=st.sampled_from(sorted(ID_RANGES)),
)
def test_the_nominal_map_finds_every_nominal_held_and_none_other(seed, n, batches, where):
    """The map keeps ids below 2**32 - 1 in lines of eight 32-bit keys and the
    others in lines of four 64-bit keys; lines fill from the front, a key past
    its home line when that is full, and each table grows (and re-puts its
    keys) as batches add nominals. Ids from every range of ``ID_RANGES`` are
    found at the index whose ``nominal_ids()`` entry they are, and ids not
    held are not found."""
    rng = np.random.default_rng(seed)
    drawn = np.unique(
        np.concatenate(
            [
                rng.integers(low, low + width, size=2 * n, dtype=np.int64, endpoint=False)
                for low, width in ID_RANGES[where]
            ]
        )
    )
    rng.shuffle(drawn)
    held, absent = drawn[: drawn.size // 2], drawn[drawn.size // 2 :]
    engine = Engine(small_weights(), AS_OF)
    store = engine._store
    for k, part in enumerate(np.array_split(held, batches)):
        ids = k * 10_000 + np.arange(part.size, dtype=np.int64)
        engine.ingest(random_columns(rng, ids, part, AS_OF, 700, small_weights()))  # all taken
    index = store.find_nominals(held)
    assert (index >= 0).all()
    assert store.nominal_ids()[index].tolist() == held.tolist()
    assert store.find_nominals(absent).tolist() == [-1] * absent.size


def test_the_ids_at_the_edge_of_the_narrow_table_are_each_held_once():
    """2**32 - 1 is the narrow table's free marker, so it goes to the wide
    table with every larger id; its neighbours, 0 and the int64 maximum are
    each found at their own index, and a lookup of an id not held misses in
    either table."""
    edge = [0, 2**32 - 2, 2**32 - 1, 2**32, 2**63 - 1]
    engine = Engine(small_weights(), AS_OF)
    rng = np.random.default_rng(7)
    ids = np.arange(len(edge), dtype=np.int64)
    engine.ingest(random_columns(rng, ids, np.array(edge), AS_OF, 700, small_weights()))
    store = engine._store
    index = store.find_nominals(np.array(edge, dtype=np.int64))
    assert sorted(index.tolist()) == list(range(len(edge)))
    assert store.nominal_ids()[index].tolist() == edge
    assert store.find_nominals(np.array([1, 2**32 - 3, 2**32 + 1, 2**63 - 2])).tolist() == [-1] * 4
