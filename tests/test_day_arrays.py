"""The day arrays and the free stack (``iom_day`` in csrc/iom_store.h).

Each day's slots are an array in a ring of days, and freed slots a stack that
inserts pop. A day's array grows when late events come to it, takes an
expired day's array when it has none, and is released when its day expires;
retracted events stay in their day's array until it expires or a compaction
moves them to the free stack. These tests drive an engine through those
paths and check, after every step, that exactly the live events are held
(found at slots holding their ids) and that the scores equal the reference's.
"""

from __future__ import annotations

import datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import assert_holds_exactly, column_events, random_columns, small_weights

from iomscore import Engine

AS_OF = datetime.date(2027, 3, 1)
ONE_THREAD = 1 << 62


def _columns(rng, ids, as_of, age_days, nominals=300):
    nominal_ids = rng.integers(0, nominals, size=ids.size)
    return random_columns(rng, ids, nominal_ids, as_of, age_days, small_weights())


def _check(engine: Engine, held: dict, gone: set[int]) -> None:
    assert_holds_exactly(engine, held, gone, small_weights())


def _in_window(events, engine: Engine) -> dict:
    return {e.event_id: e for e in events if e.date > engine.window_start}


def test_a_compaction_frees_the_retracted_slots_for_the_next_inserts():
    """Retract 80,000 of 120,000 events: their slots stay in their days' arrays
    (dead) until the next advance compacts them (dead events past a quarter of
    the live ones + 65,536) onto the free stack; the next 60,000 events take
    those slots (no new slot) and every day still expires what it holds."""
    rng = np.random.default_rng(7)
    engine = Engine(small_weights(), AS_OF)
    store = engine._store
    ids = np.arange(120_000, dtype=np.int64)
    first = _columns(rng, ids, AS_OF, 600)
    engine.ingest(first)
    held = {e.event_id: e for e in column_events(first, range(ids.size))}
    withdrawn = rng.choice(ids, size=80_000, replace=False)
    engine.retract(withdrawn)
    for i in withdrawn.tolist():
        del held[i]
    assert store.dead_events == 80_000 and store.free_slots == 0
    top = store.slot_top

    engine.advance(AS_OF + datetime.timedelta(days=1))  # no day expires: dated <= 599 days back
    assert store.dead_events == 0 and store.free_slots == 80_000
    _check(engine, held, set(withdrawn.tolist()))

    more = _columns(rng, 200_000 + np.arange(60_000, dtype=np.int64), engine.as_of, 600)
    engine.ingest(more)
    held |= {e.event_id: e for e in column_events(more, range(60_000))}
    assert store.slot_top == top and store.free_slots == 20_000
    _check(engine, held, set(withdrawn.tolist()))

    engine.advance(AS_OF + datetime.timedelta(days=400))  # the older days expire
    _check(engine, _in_window(held.values(), engine), set(held) | set(withdrawn.tolist()))


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rounds=st.integers(1, 25),
    per_round=st.integers(1, 400),
    step_days=st.integers(1, 90),
    parallel_min=st.sampled_from([1, 64, ONE_THREAD]),
)
def test_late_events_to_many_days_then_those_days_expire(
    seed, rounds, per_round, step_days, parallel_min
):
    """Each round brings events dated anywhere in the window (so each day's array
    grows a few slots at a time, or takes the spare of an expired day), retracts
    a few held ones, and advances some days (releasing the expired days' arrays
    and putting their slots on the free stack for the next round)."""
    rng = np.random.default_rng(seed)
    engine = Engine(small_weights(), AS_OF)
    engine._store._parallel_min = parallel_min
    held: dict = {}
    gone: set[int] = set()
    next_id = 0
    for _ in range(rounds):
        ids = next_id + np.arange(per_round, dtype=np.int64)
        next_id += per_round + int(rng.integers(0, 3))
        columns = _columns(rng, ids, engine.as_of, 730)
        engine.ingest(columns)
        held |= _in_window(column_events(columns, range(ids.size)), engine)
        if held and rng.random() < 0.5:
            out = rng.choice(
                sorted(held), size=min(len(held), int(rng.integers(1, 20))), replace=False
            )
            engine.retract(out)
            for i in out.tolist():
                del held[i]
                gone.add(i)
        engine.advance(engine.as_of + datetime.timedelta(days=step_days))
        expired = set(held) - set(_in_window(held.values(), engine))
        for i in expired:
            del held[i]
        gone |= expired
        _check(engine, held, gone)
