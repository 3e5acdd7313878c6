"""The compiled event store: sliding event buffers with incremental scores.

A thin typed wrapper over ``csrc/iom_store.c`` and ``csrc/iom_matrix.c``.
Every method that reaches C releases the GIL. Inputs are assumed valid:
:mod:`iomscore.engine` checks them first, and the C side allocates what a
change needs before making it, so a batch is taken whole or not at all.
"""

import threading

import numpy as np

cimport numpy as cnp
from libc.stdint cimport int8_t, int32_t, int64_t, uint16_t

from ._cstore cimport (
    iom_csr_matvec_i32, iom_csr_matvec_u16,
    IOM_ENOMEM, IOM_EOVERFLOW, IOM_ETOOMANY, IOM_MAX_SLOTS, IOM_OK,
    iom_add_columns, iom_advance, iom_apply, iom_begin, iom_classify, iom_find_events,
    iom_find_nominals, iom_retract, iom_set_points, iom_store, iom_store_bytes,
    iom_nominal, iom_store_event_bytes, iom_store_free, iom_store_init,
)

cnp.import_array()

__all__ = ["EventStore", "MAX_EVENTS", "csr_matvec"]

MAX_EVENTS = IOM_MAX_SLOTS


cdef void _check(int rc) except *:
    if rc == IOM_OK:
        return
    if rc == IOM_ENOMEM:
        raise MemoryError("iomscore: out of memory while growing the event store")
    if rc == IOM_EOVERFLOW:
        raise OverflowError("iomscore: a score would exceed the int64 range")
    if rc == IOM_ETOOMANY:
        raise OverflowError(f"iomscore: the store holds at most {IOM_MAX_SLOTS} events")
    raise RuntimeError(f"iomscore: store error {rc}")


cdef object _view(object owner, void *ptr, int64_t n, int typenum, cnp.npy_intp stride):
    """A read-only numpy view of n items at ptr, `stride` bytes apart.

    The view keeps the store alive, but is only meaningful until the store
    next changes (arrays may move as they grow): callers copy what they keep.
    """
    cdef cnp.npy_intp shape = n
    cdef cnp.npy_intp strides = stride
    if n == 0 or ptr == NULL:
        return np.empty(0, dtype=cnp.PyArray_DescrFromType(typenum))
    arr = cnp.PyArray_New(np.ndarray, 1, &shape, typenum, &strides, ptr, 0,
                          cnp.NPY_ARRAY_ALIGNED, None)
    cnp.set_array_base(arr, owner)
    return arr


cdef class EventStore:
    """Events of the window, indexed by event id and by day, with live scores.

    Parameters
    ----------
    ring_days : int
        More than the number of days in the window (days).
    as_of, start : int
        Day numbers of D and of the window's exclusive lower bound.
    points : int64 array
        Points by kind (points).
    """

    cdef iom_store s
    cdef bint ready

    def __cinit__(self, int64_t ring_days, int64_t as_of, int64_t start, const int64_t[::1] points):
        self.ready = False
        _check(iom_store_init(&self.s, ring_days, as_of, start, &points[0], points.shape[0]))
        self.ready = True

    def __init__(self, int64_t ring_days, int64_t as_of, int64_t start, const int64_t[::1] points):
        pass  # all the work is in __cinit__; this gives the class its signature

    def __dealloc__(self):
        iom_store_free(&self.s)

    # -- state ---------------------------------------------------------------
    @property
    def as_of(self):
        return self.s.as_of

    @property
    def start(self):
        return self.s.start

    @property
    def n_nominals(self):
        """Nominals ever seen (with or without live events)."""
        return self.s.n_nom

    @property
    def live_events(self):
        return self.s.live_events

    @property
    def n_kinds(self):
        return self.s.n_kinds

    @property
    def slot_top(self):
        return self.s.slot_top

    def memory_bytes(self):
        """Bytes held by all arrays of the store."""
        return iom_store_bytes(&self.s)

    def event_memory_bytes(self):
        """Bytes held by the per-event arrays, the event-id index and the day ring."""
        return iom_store_event_bytes(&self.s)

    # -- zero-copy views (valid until the next change of the store) -----------
    def nominal_ids(self):
        return _view(self, &self.s.noms[0].id, self.s.n_nom, cnp.NPY_INT64, sizeof(iom_nominal))

    def scores(self):
        return _view(self, &self.s.noms[0].score, self.s.n_nom, cnp.NPY_INT64, sizeof(iom_nominal))

    def live_counts(self):
        return _view(self, &self.s.noms[0].live, self.s.n_nom, cnp.NPY_INT32, sizeof(iom_nominal))

    def points(self):
        return _view(self, self.s.points, self.s.n_kinds, cnp.NPY_INT64, 8)

    def event_ids(self):
        return _view(self, self.s.ev_id, self.s.slot_top, cnp.NPY_INT64, 8)

    def event_nominals(self):
        return _view(self, self.s.ev_nom, self.s.slot_top, cnp.NPY_INT32, 4)

    def event_kinds(self):
        """Kind by slot; 65535 marks a slot without a live event."""
        return _view(self, self.s.ev_kind, self.s.slot_top, cnp.NPY_UINT16, 2)

    def touched(self):
        """Copies of (nominal index, score before) for the nominals the last change touched."""
        n = self.s.n_touched
        return (
            _view(self, self.s.touched, n, cnp.NPY_INT32, 4).copy(),
            _view(self, self.s.touched_old, n, cnp.NPY_INT64, 8).copy(),
        )

    # -- lookups --------------------------------------------------------------
    def find_events(self, const int64_t[::1] ids not None):
        """Slot of each event id, or -1."""
        out = np.empty(ids.shape[0], dtype=np.int64)
        cdef int64_t[::1] slots = out
        with nogil:
            if ids.shape[0]:
                iom_find_events(&self.s, ids.shape[0], &ids[0], &slots[0])
        return out

    def find_nominals(self, const int64_t[::1] ids not None):
        """Index of each nominal id, or -1."""
        out = np.empty(ids.shape[0], dtype=np.int64)
        cdef int64_t[::1] idx = out
        with nogil:
            if ids.shape[0]:
                iom_find_nominals(&self.s, ids.shape[0], &ids[0], &idx[0])
        return out

    def classify(self, const int64_t[::1] ids not None, const int64_t[::1] nominal_ids not None,
                 const uint16_t[::1] kinds not None, const int32_t[::1] days not None):
        """Status per row: 0 new, 1 live and identical, 2 live and different."""
        cdef int64_t n = ids.shape[0]
        status = np.empty(n, dtype=np.int8)
        cdef int8_t[::1] st = status
        with nogil:
            if n:
                iom_classify(&self.s, n, &ids[0], &nominal_ids[0], &kinds[0], &days[0], &st[0])
        return status

    # -- changes ---------------------------------------------------------------
    def apply(self, const int64_t[::1] ids not None, const int64_t[::1] nominal_ids not None,
              const uint16_t[::1] kinds not None, const int32_t[::1] days not None,
              const int8_t[::1] action not None):
        """Apply a checked batch (actions: 0 skip, 1 insert, 2 retract, 3 replace)."""
        cdef int64_t n = ids.shape[0]
        cdef int rc = IOM_OK
        with nogil:
            if n:
                rc = iom_apply(&self.s, n, &ids[0], &nominal_ids[0], &kinds[0], &days[0],
                               &action[0])
            else:
                iom_begin(&self.s)
        _check(rc)

    def retract(self, const int64_t[::1] slots not None):
        """Withdraw live events by slot (distinct slots)."""
        cdef int rc = IOM_OK
        cdef int64_t n = slots.shape[0]
        with nogil:
            if n:
                rc = iom_retract(&self.s, n, &slots[0])
            else:
                iom_begin(&self.s)
        _check(rc)

    def advance(self, int64_t new_as_of, int64_t new_start):
        """Move D forward; returns how many live events left the window."""
        cdef int64_t expired = 0
        cdef int rc
        with nogil:
            rc = iom_advance(&self.s, new_as_of, new_start, &expired)
        _check(rc)
        return expired

    def begin(self):
        """Start a new touched list (before a bulk change of scores)."""
        iom_begin(&self.s)

    def add_columns(self, const int64_t[::1] changed not None, const int64_t[::1] delta not None,
                    const int64_t[::1] col_ptr not None, const int32_t[::1] rows not None,
                    const int32_t[::1] counts not None):
        """Partial rescore: add delta[j] * count along each changed column (see iom_store.h).

        The CSC arrays must describe this store's live events (rows are nominal
        indices). Starts a new touched list.
        """
        cdef int rc = IOM_OK
        if changed.shape[0] != delta.shape[0]:
            raise ValueError("one delta per changed kind is required")
        with nogil:
            if changed.shape[0] and rows.shape[0]:
                rc = iom_add_columns(&self.s, changed.shape[0], &changed[0], &delta[0],
                                     &col_ptr[0], &rows[0], &counts[0])
            else:
                iom_begin(&self.s)
        _check(rc)

    def set_points(self, const int64_t[::1] points not None):
        if points.shape[0] != self.s.n_kinds:
            raise ValueError("points must have one entry per kind")
        with nogil:
            iom_set_points(&self.s, &points[0])

    def set_all_scores(self, const int64_t[::1] values not None):
        """Overwrite every nominal's score (after a full rescore)."""
        cdef int64_t i
        if values.shape[0] != self.s.n_nom:
            raise ValueError("one score per nominal is required")
        with nogil:
            for i in range(self.s.n_nom):
                self.s.noms[i].score = values[i]


def _matvec_rows(int64_t row_lo, int64_t row_hi, const int64_t[::1] indptr,
                 const uint16_t[::1] kinds, counts, const int32_t[::1] points, int64_t[::1] out):
    cdef const uint16_t[::1] c16
    cdef const int32_t[::1] c32
    if row_hi <= row_lo:
        return
    if counts.dtype == np.uint16:
        c16 = counts
        with nogil:
            iom_csr_matvec_u16(row_lo, row_hi, &indptr[0], &kinds[0] if kinds.shape[0] else NULL,
                               &c16[0] if c16.shape[0] else NULL, &points[0], &out[0])
    else:
        c32 = counts
        with nogil:
            iom_csr_matvec_i32(row_lo, row_hi, &indptr[0], &kinds[0] if kinds.shape[0] else NULL,
                               &c32[0] if c32.shape[0] else NULL, &points[0], &out[0])


_pool = None
_pool_lock = threading.Lock()


def csr_matvec(indptr, kinds, counts, points, int threads=0):
    """Scores = count matrix @ points (int64), rows split between threads.

    Parameters
    ----------
    indptr : int64 array (n_rows + 1)
    kinds : uint16 array (nnz)
        Column of each entry.
    counts : uint16 or int32 array (nnz)
        Events of that kind in that row.
    points : integer array (n_kinds)
        Points per kind, 0 to 2**31 - 1.
    threads : int
        Threads to use; 0 for one per core.
    """
    global _pool
    import os
    from concurrent.futures import ThreadPoolExecutor

    indptr = np.ascontiguousarray(indptr, dtype=np.int64)
    kinds = np.ascontiguousarray(kinds, dtype=np.uint16)
    if counts.dtype != np.uint16:
        counts = np.ascontiguousarray(counts, dtype=np.int32)
    # Points are at most 100,000 (Weights.MAX_POINTS): int32 halves the table
    # the kernel looks up for every entry; products are summed in int64.
    points = np.asarray(points)
    if points.size and (points.min() < 0 or points.max() > np.iinfo(np.int32).max):
        raise ValueError("points must lie in 0..2**31-1")
    points = np.ascontiguousarray(points, dtype=np.int32)
    n_rows = indptr.shape[0] - 1
    if points.shape[0] < 65536:
        # every uint16 kind must index the table: pad it rather than scan the kinds
        points = np.concatenate([points, np.zeros(65536 - points.shape[0], dtype=np.int32)])
    out = np.empty(n_rows, dtype=np.int64)
    if threads <= 0:
        threads = os.cpu_count() or 1
    nnz = int(indptr[n_rows]) if n_rows >= 0 else 0
    if threads == 1 or nnz < 1_000_000:
        _matvec_rows(0, n_rows, indptr, kinds, counts, points, out)
        return out
    # Split rows so each part holds about the same number of entries.
    bounds = np.searchsorted(indptr, np.linspace(0, nnz, threads + 1)[1:threads]).tolist()
    edges = [0, *bounds, n_rows]
    with _pool_lock:  # one pool, as wide as the machine, shared by every caller
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=os.cpu_count() or 1, thread_name_prefix="iomscore"
            )
    parts = [
        _pool.submit(_matvec_rows, edges[k], edges[k + 1], indptr, kinds, counts, points, out)
        for k in range(threads)
    ]
    for part in parts:
        part.result()
    return out
