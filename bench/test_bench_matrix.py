"""Building the nominal-by-kind count matrix from the store's slot arrays.

Group ``matrix_build|<size>``: the engine's ``build_csr`` kernel against
scipy's COO->CSR (duplicates summed), numpy's ``unique``, pandas, polars and
DuckDB group-bys over the same arrays.
"""

from __future__ import annotations

import peers
import pytest
from bench_support import check, is_engine, label, prepare
from bench_timing import first_call, measure

OPERATION = "matrix_build"


@pytest.mark.parametrize("name", peers.implementations(OPERATION))
def test_matrix_build(benchmark, case, size, expected, name):
    impl = peers.COMPARISONS[OPERATION][name]
    state = prepare(impl, case)
    out, took = first_call(impl.run, state, None, again=is_engine(name))
    check(impl, state, out, expected(OPERATION))
    label(benchmark, OPERATION, name, size, case)
    measure(benchmark, size, impl.run, state, None, took=took, engine=is_engine(name))
