"""How a benchmark is timed: calibrated for fast calls, a fixed number of rounds for slow ones."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from bench_support import Size

# A call slower than this (seconds, measured on the untimed check run) is timed with a
# fixed number of rounds instead of pytest-benchmark's calibration (which would run it
# for at least --benchmark-min-rounds rounds and --benchmark-max-time seconds).
SLOW_CALL = 0.25


def first_call(fn: Callable[..., Any], *args: Any, again: bool = False) -> tuple[Any, float]:
    """Run once (the untimed check run) and say how long it took (seconds).

    With ``again``, a slow first call is timed once more (untimed for the
    benchmark): the engine's first call loads or compiles its Numba kernels.
    """
    start = time.perf_counter()
    out = fn(*args)
    took = time.perf_counter() - start
    if again and took >= SLOW_CALL:
        start = time.perf_counter()
        fn(*args)
        took = time.perf_counter() - start
    return out, took


def measure(
    benchmark: Any,
    size: Size,
    fn: Callable[..., Any],
    *args: Any,
    took: float,
    engine: bool = False,
) -> Any:
    """Time ``fn(*args)``: calibrated when fast, ``size``'s rounds when slow."""
    if took < SLOW_CALL:
        return benchmark(fn, *args)
    rounds = size.engine_rounds if engine else size.peer_rounds
    return benchmark.pedantic(fn, args=args, rounds=max(2, min(rounds, 5)), iterations=1)


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    """``(seconds, result)`` of one call: the figure scripts' timer."""
    start = time.perf_counter()
    out = run()
    return time.perf_counter() - start, out


def ms(seconds: Sequence[float], q: float = 50) -> float:
    """The ``q``-th percentile of timings in seconds, in milliseconds (50: the median)."""
    return float(np.percentile(seconds, q)) * 1e3


def head_commit() -> str:
    """HEAD's short hash, and whether the compiled core or the package differ from it:
    what a figure script's table names as the code it measured."""
    repo = Path(__file__).resolve().parent.parent

    def git(*command: str) -> str:
        return subprocess.run(
            ["git", "-C", str(repo), *command], check=True, capture_output=True, text=True
        ).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", "src", "csrc", "setup.py")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + (" with uncommitted changes in src/ or csrc/" if dirty else "")
