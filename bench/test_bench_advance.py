"""One day on: the engine advances D and ingests the day's events; a peer recomputes.

Group ``advance|<size>``. Each round uses a fresh day (the case holds
``extra_days`` pre-split daily batches after as_of); the untimed check run
takes day 1 and the rounds take days 2, 3, ... in turn, so the engine always
moves exactly one day and ingests events it has not seen.
"""

from __future__ import annotations

import peers
import pytest
from bench_support import check, is_engine, label, prepare

OPERATION = "advance"


@pytest.mark.parametrize("name", peers.implementations(OPERATION))
def test_advance(benchmark, case, size, expected, name):
    impl = peers.COMPARISONS[OPERATION][name]
    state = prepare(impl, case)
    check(impl, state, impl.run(state, 1), expected(OPERATION, 1))
    days = iter(range(2, case.extra_days + 1))
    rounds = min(case.extra_days - 1, size.engine_rounds if is_engine(name) else size.peer_rounds)
    label(benchmark, OPERATION, name, size, case, day_events=round(case.n_events / 731))
    benchmark.pedantic(
        impl.run, setup=lambda: ((state, next(days)), {}), rounds=rounds, iterations=1
    )


def test_advance_first_day(benchmark, case, size, expected):
    """The first advance after a bulk load, on a freshly loaded engine each round.

    After one big ingest the store's slot arrays are exactly full, so a day
    that brings more events than it expires makes them grow; the rounds above
    (days 2, 3, ...) do not see that step.
    """
    impl = peers.COMPARISONS[OPERATION]["engine"]

    def setup():
        return (impl.prepare(case), 1), {}

    (state, _), _ = setup()
    check(impl, state, impl.run(state, 1), expected(OPERATION, 1))
    del state
    label(benchmark, OPERATION, "engine_first_day", size, case)
    rounds = max(3, min(size.peer_rounds, 5))
    benchmark.pedantic(impl.run, setup=setup, rounds=rounds, iterations=1)
