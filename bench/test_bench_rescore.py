"""Rescoring under a new table, and the memory-bandwidth floor.

Groups: ``rescore_full|<size>`` (every points value changed: the engine's
``reweight`` takes its full path; ``engine_matvec`` is the raw kernel on the
CSR count matrix; ``floor``
reads the matrix's bytes once with numpy, the least any rescore from the
matrix can cost on one thread) and ``rescore_partial|<size>`` (ten offence codes
changed: the engine's partial path; peers have no partial path and recompute).

Every call alternates between the base table and the new one, so each call is
a real change of the same size.
"""

from __future__ import annotations

import numpy as np
import peers
import pytest
from bench_support import check, label, prepare
from bench_timing import first_call, measure

OPERATION = "rescore"


@pytest.mark.parametrize("name", peers.implementations(OPERATION))
@pytest.mark.parametrize("change", ["full", "partial"])
def test_rescore(benchmark, case, size, expected, change, name):
    impl = peers.COMPARISONS[OPERATION][name]
    new = case.reweight_full if change == "full" else case.reweight_partial
    state = prepare(impl, case)
    out, took = first_call(impl.run, state, new)
    check(impl, state, out, expected(OPERATION, new))
    if name == "engine":
        assert out.mode == change, f"the engine took its {out.mode} path for a {change} change"
    following = peers.cycle(case.base, new)

    def rescore():
        return impl.run(state, following())

    label(benchmark, f"rescore_{change}", name, size, case)
    measure(benchmark, size, rescore, took=took, engine=name.startswith("engine"))


def _read_once(arrays):
    """Read every byte of the arrays once (uint64 lanes, SIMD-reduced by numpy)."""
    total = 0
    for arr in arrays:
        raw = arr.view(np.uint8)
        whole = raw.size // 8 * 8
        total += int(np.add.reduce(raw[:whole].view(np.uint64))) + int(raw[whole:].sum())
    return total


def test_floor(benchmark, case, size):
    """The memory-bandwidth floor: numpy reading the matrix's bytes once."""
    m = peers.matrix_state(case)
    arrays = (m.indptr, m.indices, m.data)
    nbytes = sum(a.nbytes for a in arrays)
    label(benchmark, "rescore_full", "floor", size, case, bytes=nbytes)
    benchmark(_read_once, arrays)


def test_matvec_one_thread(benchmark, case, size, expected):
    """The raw kernel on one thread: what the second core adds to ``engine_matvec``."""
    m = peers.matrix_state(case)
    impl = peers.COMPARISONS[OPERATION]["engine_matvec"]
    m.native = peers.engine_matvec(m, threads=1)
    new = case.reweight_full
    check(impl, m, impl.run(m, new), expected(OPERATION, new))
    label(benchmark, "rescore_full", "engine_matvec_1thread", size, case)
    benchmark(impl.run, m, new)
