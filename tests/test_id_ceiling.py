"""The id index's ceiling: ids above every id put are known new without a lookup.

Sources number events in sequence, so a day's new events come above every id
held, and ``EventStore.classify`` / ``find_events`` answer for them without
reading the index (``key_max`` in csrc/iom_store.h). These tests drive an
engine through ingests (ids in order and in no order, on one thread and two),
retractions (the highest id among them), expiry and index rebuilds, then ask
about ids held, ids withdrawn or expired, and ids above, at and below the
highest ever held, against a plain set of the ids the engine should hold.
"""

from __future__ import annotations

import datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import column_events, random_columns, reference_rows, small_weights

from iomscore import Engine
from iomscore.batch import encode_events

AS_OF = datetime.date(2028, 2, 29)
ONE_THREAD = 1 << 62
INT64_MAX = np.iinfo(np.int64).max


def _columns(rng: np.random.Generator, ids: np.ndarray, age_days: int) -> dict[str, np.ndarray]:
    nominal_ids = rng.integers(0, 40, size=ids.size)
    return random_columns(rng, ids, nominal_ids, AS_OF, age_days, small_weights())


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    base=st.sampled_from([0, 10**12, INT64_MAX - 5_000]),
    n_first=st.integers(1, 400),
    n_second=st.integers(0, 400),
    shuffled=st.booleans(),
    withdraw=st.integers(0, 3),
    advance_days=st.sampled_from([0, 1, 200]),
    parallel_min=st.sampled_from([1, 5, ONE_THREAD]),
)
def test_lookups_above_below_and_at_the_ceiling_match_the_ids_held(
    seed, base, n_first, n_second, shuffled, withdraw, advance_days, parallel_min
):
    rng = np.random.default_rng(seed)
    weights = small_weights()
    engine = Engine(weights, AS_OF)
    engine._store._parallel_min = parallel_min
    # Two batches, the second above the first (a day's new events) or mixed in
    # with it; ids in steps of 1-3 as sources number them, or in no order.
    ids = base + np.cumsum(rng.integers(1, 4, size=n_first + n_second))
    if shuffled:
        rng.shuffle(ids)
    batches = [_columns(rng, ids[:n_first], 900), _columns(rng, ids[n_first:], 900)]
    held: dict[int, int] = {}  # event_id -> row of `rows` (its content)
    rows: list = []
    for columns in batches:
        engine.ingest(columns)
        for k, event in enumerate(column_events(columns, range(columns["event_id"].size))):
            held[event.event_id] = len(rows) + k
        rows += column_events(columns, range(columns["event_id"].size))
    start = engine.window_start  # rows dated on or before it were not taken
    held = {e: r for e, r in held.items() if rows[r].date > start}
    # Withdraw the highest id, a few others, or nothing; then let days expire.
    top = max(e.event_id for e in rows)
    gone = {0: [], 1: [top], 2: [top, min(ids)], 3: list(held)[: len(held) // 2]}[withdraw]
    engine.retract(gone)
    for event_id in gone:
        held.pop(event_id, None)
    if advance_days:
        engine.advance(AS_OF + datetime.timedelta(days=advance_days))
        start = engine.window_start
        held = {e: r for e, r in held.items() if rows[r].date > start}

    # Probe: every id ever ingested, the ids around the highest, and far above.
    ever = {event.event_id for event in rows}
    near = {top - 1, top, top + 1, top + 2, INT64_MAX, 0}
    probe = np.array(sorted(ever | near), dtype=np.int64)
    slots = engine._store.find_events(probe)
    assert [int(i) for i in probe[slots >= 0]] == sorted(held)

    # classify: held ids with their own content are duplicates (1), every other
    # id is new (0); the highest held id is no exception.
    same = [rows[held[e]] for e in sorted(held)]
    columns = {
        "event_id": np.array([e.event_id for e in same] + [top + 1, INT64_MAX], dtype=np.int64),
        "nominal_id": np.array([e.nominal_id for e in same] + [1, 2], dtype=np.int64),
        "dataset": np.array([e.dataset for e in same] + [weights.datasets[0]] * 2),
        "offence": np.array([e.offence for e in same] + [weights.offences[0]] * 2),
        "date": np.array([e.date for e in same] + [engine.as_of] * 2, dtype="datetime64[D]"),
    }
    if top + 1 >= INT64_MAX:  # no id above the highest to ask about
        columns = {name: values[:-2] for name, values in columns.items()}
    batch = encode_events(columns, weights)
    status = engine._store.classify(batch.event_id, batch.nominal_id, batch.kind, batch.day)
    expected = [1] * len(same) + [0] * (len(batch) - len(same))
    assert status.tolist() == expected
    # and the engine's scores are still the reference's over the live events
    live = [rows[r] for r in held.values()]
    assert engine.scores().rows() == reference_rows(live, weights, engine.as_of)


def test_an_index_rebuild_lowers_the_ceiling_to_the_ids_still_held():
    """Withdraw the highest ids, grow the index (a rebuild from the live
    events), and the withdrawn ids are still answered as not held: the
    ceiling now below them, no walk is made."""
    rng = np.random.default_rng(1)
    engine = Engine(small_weights(), AS_OF)
    engine.ingest(_columns(rng, np.arange(100, 140), 600))
    engine.retract(np.arange(130, 140))
    engine.ingest(_columns(rng, np.arange(0, 100), 600))  # grows the index past 40 entries
    probe = np.arange(0, 150, dtype=np.int64)
    held = engine._store.find_events(probe) >= 0
    assert probe[held].tolist() == list(range(0, 130))
    # ids above the lowered ceiling go in as new events again
    report = engine.ingest(_columns(rng, np.arange(130, 140), 600))
    assert (report.taken, report.duplicates) == (10, 0)
    assert len(engine) == 140
