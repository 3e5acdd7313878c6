"""Numba kernels for the bulk work: building the count matrix and its columns.

(The full and partial rescores are C: ``csrc/iom_matrix.c`` and
``csrc/iom_bands.c``.)

The matrix is CSR with rows = nominal indices of the store and columns =
kinds (``dataset_index * n_offences + offence_index``); values are the
number of the nominal's live events of that kind. The kernels run on the
calling thread: the package's one thread mechanism is the C store's helper
(``csrc/iom_helper.h``). Kernel flags come from :mod:`iomscore._numba_config`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._numba_config import JIT_OPTIONS

__all__ = ["build_csc", "build_csr", "warm_up"]

_DEAD_KIND = 0xFFFF


# Rows are handled in blocks of 2**_BLOCK_SHIFT nominals: a block's entries
# fit in the L2 cache, and the row within a block (12 bits) packs with the
# kind (16 bits) into one uint32.
_BLOCK_SHIFT = 12


@njit(**JIT_OPTIONS)
def build_csr(ev_nom, ev_kind, live, n_cols):  # pragma: no cover - compiled
    """Count matrix from the store's slot arrays.

    No random scatter over the whole matrix: the live events are first
    partitioned by block of rows (sequential writes to a few hundred
    streams), then each block is radix-sorted by (row, kind) and its equal
    kinds merged, in cache.

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
    total = start[n_rows]
    n_blocks = (n_rows >> _BLOCK_SHIFT) + 1
    fill = np.empty(n_blocks, dtype=np.int64)
    for b in range(n_blocks):
        fill[b] = start[min(b << _BLOCK_SHIFT, n_rows)]
    low_bits = np.uint32((1 << _BLOCK_SHIFT) - 1)
    packed = np.empty(total, dtype=np.uint32)  # (row within block) << 16 | kind
    for slot in range(ev_nom.shape[0]):
        k = ev_kind[slot]
        if k != _DEAD_KIND:
            r = ev_nom[slot]
            b = r >> _BLOCK_SHIFT
            packed[fill[b]] = ((np.uint32(r) & low_bits) << np.uint32(16)) | np.uint32(k)
            fill[b] += 1
    kinds = np.empty(total, dtype=np.uint16)
    counts = np.empty(total, dtype=np.int32)
    row_nnz = np.zeros(n_rows, dtype=np.int64)
    for b in range(n_blocks):
        r0 = b << _BLOCK_SHIFT
        r1 = min(r0 + (1 << _BLOCK_SHIFT), n_rows)
        if r0 >= r1:
            continue
        lo, hi = start[r0], start[r1]
        # A two-digit radix sort of the block, in cache: stable by kind, then
        # stable by row, which leaves each row's kinds ascending.
        by_kind = np.zeros(n_cols + 1, dtype=np.int64)
        for i in range(lo, hi):
            by_kind[(packed[i] & np.uint32(0xFFFF)) + 1] += 1
        for k in range(n_cols):
            by_kind[k + 1] += by_kind[k]
        ordered = np.empty(hi - lo, dtype=np.uint32)
        for i in range(lo, hi):
            k = packed[i] & np.uint32(0xFFFF)
            ordered[by_kind[k]] = packed[i]
            by_kind[k] += 1
        pos = start[r0:r1].copy()
        for e in ordered:
            row = e >> np.uint32(16)
            kinds[pos[row]] = np.uint16(e & np.uint32(0xFFFF))
            pos[row] += 1
        # Merge the runs of equal kinds of each row.
        for r in range(r0, r1):
            out = start[r]
            i = start[r]
            while i < start[r + 1]:
                k = kinds[i]
                c = 0
                while i < start[r + 1] and kinds[i] == k:
                    c += 1
                    i += 1
                kinds[out] = k
                counts[out] = c
                out += 1
            row_nnz[r] = out - start[r]
    indptr = np.empty(n_rows + 1, dtype=np.int64)
    indptr[0] = 0
    for r in range(n_rows):
        indptr[r + 1] = indptr[r] + row_nnz[r]
    indices = np.empty(indptr[n_rows], dtype=np.uint16)
    data = np.empty(indptr[n_rows], dtype=np.int32)
    for b in range(n_blocks):
        for r in range(b << _BLOCK_SHIFT, min((b + 1) << _BLOCK_SHIFT, n_rows)):
            src = start[r]
            dst = indptr[r]
            for i in range(row_nnz[r]):
                indices[dst + i] = kinds[src + i]
                data[dst + i] = counts[src + i]
    return indptr, indices, data


@njit(**JIT_OPTIONS)
def build_csc(indptr, indices, data, n_cols):  # pragma: no cover - compiled
    """The same matrix by column: (col_ptr int64, rows int32, counts int32).

    Rows ascend within each column (they are filled row by row), which
    ``EventStore.add_columns`` relies on to split a column by binary search.
    """
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


def warm_up() -> None:
    """Compile (or load from Numba's cache) every kernel, on tiny inputs.

    A service or the demo calls this once at start, so that the first real
    batch is not charged the compile or the cache load.
    """
    nominals = np.zeros(2, dtype=np.int32)
    kinds = np.zeros(2, dtype=np.uint16)
    live = np.full(1, 2, dtype=np.int32)
    indptr, indices, data = build_csr(nominals, kinds, live, 1)
    build_csc(indptr, indices, data, 1)
