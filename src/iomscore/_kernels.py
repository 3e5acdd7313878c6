"""Numba kernels for the bulk work: building the count matrix, partial rescoring, encoding.

(The full rescore, a matrix-vector product bound by branch prediction, is C:
``csrc/iom_matrix.c`` via ``iomscore._core.csr_matvec``.)

The matrix is CSR with rows = nominal indices of the store and columns =
kinds (``dataset_index * n_offences + offence_index``); values are the
number of the nominal's live events of that kind. Parallel kernels split
rows with ``prange`` and write disjoint slices, so there are no races.
Kernel flags come from :mod:`iomscore._numba_config`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._numba_config import JIT_OPTIONS, PARALLEL_OPTIONS

__all__ = [
    "build_csc",
    "build_csr",
    "compose_kinds",
    "min_max",
    "narrow_int32",
    "partial_delta",
    "score_bands",
]

_DEAD_KIND = 0xFFFF


@njit(**PARALLEL_OPTIONS)
def build_csr(ev_nom, ev_kind, live, n_cols):  # pragma: no cover - compiled
    """Count matrix from the store's slot arrays.

    Parameters
    ----------
    ev_nom : int32[n_slots]
        Nominal index per slot.
    ev_kind : uint16[n_slots]
        Kind per slot; 65535 for a slot without a live event.
    live : int32[n_rows]
        Live events per nominal (the row lengths before duplicates are summed).
    n_cols : int
        Number of kinds.

    Returns
    -------
    indptr : int64[n_rows + 1]
    indices : uint16[nnz]
        Kinds, ascending within each row.
    data : int32[nnz]
        Event counts.
    """
    n_rows = live.shape[0]
    start = np.empty(n_rows + 1, dtype=np.int64)
    start[0] = 0
    for r in range(n_rows):
        start[r + 1] = start[r] + live[r]
    fill = start[:-1].copy()
    kinds = np.empty(start[n_rows], dtype=np.uint16)
    # Scatter each live event's kind into its nominal's bucket (serial: random writes).
    for slot in range(ev_nom.shape[0]):
        k = ev_kind[slot]
        if k != _DEAD_KIND:
            r = ev_nom[slot]
            kinds[fill[r]] = k
            fill[r] += 1
    # Sort each bucket and merge equal kinds; rows are short (tens of events).
    row_nnz = np.zeros(n_rows, dtype=np.int64)
    counts = np.zeros(start[n_rows], dtype=np.int32)
    for r in prange(n_rows):
        lo = start[r]
        hi = start[r + 1]
        if hi - lo > 32:
            kinds[lo:hi] = np.sort(kinds[lo:hi])
        else:
            for i in range(lo + 1, hi):
                key = kinds[i]
                j = i - 1
                while j >= lo and kinds[j] > key:
                    kinds[j + 1] = kinds[j]
                    j -= 1
                kinds[j + 1] = key
        out = lo
        i = lo
        while i < hi:
            k = kinds[i]
            c = 0
            while i < hi and kinds[i] == k:
                c += 1
                i += 1
            kinds[out] = k
            counts[out] = c
            out += 1
        row_nnz[r] = out - lo
    indptr = np.empty(n_rows + 1, dtype=np.int64)
    indptr[0] = 0
    for r in range(n_rows):
        indptr[r + 1] = indptr[r] + row_nnz[r]
    indices = np.empty(indptr[n_rows], dtype=np.uint16)
    data = np.empty(indptr[n_rows], dtype=np.int32)
    for r in prange(n_rows):
        src = start[r]
        dst = indptr[r]
        for i in range(row_nnz[r]):
            indices[dst + i] = kinds[src + i]
            data[dst + i] = counts[src + i]
    return indptr, indices, data


@njit(**JIT_OPTIONS)
def build_csc(indptr, indices, data, n_cols):  # pragma: no cover - compiled
    """The same matrix by column: (col_ptr int64, rows int32, counts int32)."""
    nnz = indices.shape[0]
    col_ptr = np.zeros(n_cols + 1, dtype=np.int64)
    for i in range(nnz):
        col_ptr[indices[i] + 1] += 1
    for c in range(n_cols):
        col_ptr[c + 1] += col_ptr[c]
    fill = col_ptr[:-1].copy()
    rows = np.empty(nnz, dtype=np.int32)
    counts = np.empty(nnz, dtype=np.int32)
    for r in range(indptr.shape[0] - 1):
        for i in range(indptr[r], indptr[r + 1]):
            c = indices[i]
            rows[fill[c]] = r
            counts[fill[c]] = data[i]
            fill[c] += 1
    return col_ptr, rows, counts


@njit(**JIT_OPTIONS)
def partial_delta(col_ptr, rows, counts, changed, delta, n_rows):  # pragma: no cover
    """Score changes from changed columns only: O(entries in those columns).

    Returns the distinct touched rows (int32) and each one's change (int64).
    """
    total = 0
    for j in range(changed.shape[0]):
        c = changed[j]
        total += col_ptr[c + 1] - col_ptr[c]
    touched = np.empty(total, dtype=np.int32)
    change = np.empty(total, dtype=np.int64)
    # A dense accumulator would cost O(n_rows); a sort of the touched entries
    # keeps the cost proportional to the change.
    n = 0
    for j in range(changed.shape[0]):
        c = changed[j]
        for i in range(col_ptr[c], col_ptr[c + 1]):
            touched[n] = rows[i]
            change[n] = np.int64(counts[i]) * delta[j]
            n += 1
    order = np.argsort(touched, kind="mergesort")
    out_rows = np.empty(total, dtype=np.int32)
    out_change = np.empty(total, dtype=np.int64)
    m = -1
    for i in range(total):
        r = touched[order[i]]
        if m < 0 or out_rows[m] != r:
            m += 1
            out_rows[m] = r
            out_change[m] = 0
        out_change[m] += change[order[i]]
    return out_rows[: m + 1], out_change[: m + 1]


@njit(**PARALLEL_OPTIONS)
def compose_kinds(dataset_rows, dataset_base, offence_rows, offence_code):  # pragma: no cover
    """kind[i] = dataset_base[dataset_rows[i]] + offence_code[offence_rows[i]] (uint16)."""
    n = dataset_rows.shape[0]
    out = np.empty(n, dtype=np.uint16)
    for i in prange(n):
        out[i] = dataset_base[dataset_rows[i]] + offence_code[offence_rows[i]]
    return out


@njit(**PARALLEL_OPTIONS)
def narrow_int32(values):  # pragma: no cover - compiled
    """int64 values already known to fit, as int32."""
    out = np.empty(values.shape[0], dtype=np.int32)
    for i in prange(values.shape[0]):
        out[i] = values[i]
    return out


@njit(**JIT_OPTIONS)
def min_max(values):  # pragma: no cover - compiled
    low = values[0]
    high = values[0]
    for v in values:
        if v < low:
            low = v
        elif v > high:
            high = v
    return low, high


@njit(**PARALLEL_OPTIONS)
def score_bands(scores, low, medium, high):  # pragma: no cover - compiled
    """Band code per score: 0 NONE, 1 LOW, 2 MEDIUM, 3 HIGH."""
    out = np.empty(scores.shape[0], dtype=np.int8)
    for i in prange(scores.shape[0]):
        s = scores[i]
        out[i] = 3 if s >= high else (2 if s >= medium else (1 if s >= low else 0))
    return out
