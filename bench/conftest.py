"""Benchmark fixtures: the size option and the session-wide cohort.

Sizes (``--bench-size`` or ``IOMSCORE_BENCH_SIZE``; default ``smoke``):

========  ==========  ===========  ====================================
size      nominals    events       what for
========  ==========  ===========  ====================================
smoke     2,000       16,000       CI: every benchmark runs once, fast
force     250,000     2,000,000    one police force's IOM cohort
national  1,000,000   20,000,000   every force together
========  ==========  ===========  ====================================

Every benchmark is grouped ``f"{operation}|{size}"`` and records
``extra_info`` (operation, implementation, size, events) so ``bench/run.py``
can turn the JSON into ratio tables. Before timing, each implementation's
result is checked equal to the expected result (numpy's, or the reference's on
the smoke size): a fast wrong answer is never timed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # peers, bench_support

import numpy as np
import peers
import pytest
from bench_support import ENV, SIZES, Size, size_name


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--bench-size",
        action="store",
        default=None,
        choices=sorted(SIZES),
        help=f"benchmark cohort size (default: ${ENV} or 'smoke')",
    )


@pytest.fixture(scope="session")
def size(request: pytest.FixtureRequest) -> Size:
    return SIZES[size_name(request.config.getoption("--bench-size"))]


@pytest.fixture(scope="session")
def case(size: Size) -> peers.Case:
    """The session's cohort (generated once) with its tables and daily batches."""
    return peers.make_case(size.n_nominals, size.n_events, extra_days=size.extra_days, seed=2026)


@pytest.fixture(scope="session")
def expected(case: peers.Case) -> Callable[..., tuple[np.ndarray, ...]]:
    """The expected canonical result of an operation, by argument (memoised).

    From the plain reference where the case is small enough, else from numpy
    (whose code path shares nothing with the engine's).
    """
    memo: dict[tuple[str, Any], tuple[np.ndarray, ...]] = {}

    def get(operation: str, arg: Any = None) -> tuple[np.ndarray, ...]:
        key = (operation, getattr(arg, "label", arg))
        if key not in memo:
            impls = peers.COMPARISONS[operation]
            ref = impls["reference"]
            small = ref.max_events is None or case.n_events <= ref.max_events
            impl = ref if small else impls["numpy"]
            state = impl.prepare(case)
            memo[key] = impl.canonical(state, impl.run(state, arg))
        return memo[key]

    return get
