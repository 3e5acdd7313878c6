"""Helpers shared by the benchmark suites: the sizes and the prepare / check / label steps.

Kept out of ``conftest.py`` so the suites can import them by a name no other
directory's conftest shadows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import peers
import pytest


@dataclass(frozen=True)
class Size:
    name: str
    n_nominals: int
    n_events: int
    extra_days: int  # later days for the one-day advance: one fresh day per round
    peer_rounds: int  # rounds of pedantic benchmarks for peers (slow at large sizes)
    engine_rounds: int  # rounds of pedantic benchmarks for the engine


SIZES: dict[str, Size] = {
    "smoke": Size("smoke", 2_000, 16_000, extra_days=4, peer_rounds=2, engine_rounds=3),
    "force": Size("force", 250_000, 2_000_000, extra_days=31, peer_rounds=5, engine_rounds=30),
    "national": Size(
        "national", 1_000_000, 20_000_000, extra_days=21, peer_rounds=3, engine_rounds=20
    ),
}
ENV = "IOMSCORE_BENCH_SIZE"


def size_name(option: str | None) -> str:
    name = option or os.environ.get(ENV, "smoke")
    if name not in SIZES:
        raise pytest.UsageError(f"{ENV}={name!r}: choose one of {sorted(SIZES)}")
    return name


def prepare(impl: peers.Impl, case: peers.Case) -> Any:
    """An implementation's state; a peer too slow for the size is not timed (said so).

    A peer that is not installed is a failure: the test extra installs them all.
    """
    if impl.max_events is not None and case.n_events > impl.max_events:
        pytest.skip(f"{impl.name} runs on at most {impl.max_events:,} events (not timed)")
    try:
        return impl.prepare(case)
    except peers.PeerMissing as exc:
        pytest.fail(str(exc))


def time_comparison(benchmark, case, size, expected, operation: str, name: str) -> None:
    """Check one implementation of an operation against the expected result, then time it."""
    from bench_timing import first_call, measure  # bench_timing imports this module

    impl = peers.COMPARISONS[operation][name]
    state = prepare(impl, case)
    out, took = first_call(impl.run, state, None, again=is_engine(name))
    check(impl, state, out, expected(operation))
    label(benchmark, operation, name, size, case)
    measure(benchmark, size, impl.run, state, None, took=took, engine=is_engine(name))


def check(impl: peers.Impl, state: Any, out: Any, want: tuple[np.ndarray, ...]) -> None:
    """Fail unless the output's canonical form equals the expected one."""
    got = impl.canonical(state, out)
    assert peers.same(got, want), f"{impl.name} disagrees with the expected result"


def label(
    benchmark: Any, operation: str, impl: str, size: Size, case: peers.Case, **extra: Any
) -> None:
    """Group and describe a benchmark for bench/run.py."""
    benchmark.group = f"{operation}|{size.name}"
    benchmark.extra_info.update(
        operation=operation,
        impl=impl,
        size=size.name,
        events=case.n_events,
        nominals=size.n_nominals,
        **extra,
    )


def is_engine(name: str) -> bool:
    return name.startswith("engine")
