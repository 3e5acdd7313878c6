"""Building the nominal-by-kind count matrix from the store's slot arrays.

Group ``matrix_build|<size>``: the engine's ``build_csr`` kernel against
scipy's COO->CSR (duplicates summed), numpy's ``unique``, pandas, polars and
DuckDB group-bys over the same arrays.
"""

from __future__ import annotations

import peers
import pytest
from bench_support import time_comparison

OPERATION = "matrix_build"


@pytest.mark.parametrize("name", peers.implementations(OPERATION))
def test_matrix_build(benchmark, case, size, expected, name):
    time_comparison(benchmark, case, size, expected, OPERATION, name)
