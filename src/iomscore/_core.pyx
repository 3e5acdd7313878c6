"""The compiled event store: sliding event buffers with incremental scores.

A thin typed wrapper over ``csrc/iom_store.c`` (with its helper thread,
``csrc/iom_helper.c``) and ``csrc/iom_matrix.c``. Every method that reaches C
releases the GIL. Inputs are assumed valid: :mod:`iomscore.engine` checks them
first, and the C side allocates what a change needs before making it, so a
batch is taken whole or not at all.
"""

import threading

import numpy as np

cimport numpy as cnp
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint16_t, uint64_t

from ._cstore cimport (
    iom_csr_matvec_i32, iom_csr_matvec_u16,
    IOM_ENOMEM, IOM_EOVERFLOW, IOM_ETOOMANY, IOM_MAX_SLOTS, IOM_OK,
    iom_add_columns, iom_advance, iom_apply, iom_begin, iom_classify, iom_find_events,
    iom_find_nominals, iom_retract, iom_set_points, iom_store, iom_store_bytes,
    iom_nominal, iom_store_event_bytes, iom_store_free, iom_store_init, iom_set_all_scores,
    iom_band_walk, iom_band_flags, iom_crossed_moved, iom_crossed_report, iom_plan,
    iom_plan_actions,
    IOM_SLICE, IOM_ISA_SCALAR, IOM_ISA_AVX2, IOM_ISA_AVX512, iom_sell_plan, iom_sell_fill,
    iom_sell_best_isa, iom_sell_matvec, iom_helper_counts, IOM_ADD_PLAIN, IOM_ADD_AVX512,
    iom_add_kernel_supported, iom_helper_hold, iom_helper_release,
)

cnp.import_array()

__all__ = [
    "EventStore", "MAX_EVENTS", "SLICE", "add_kernels", "csr_matvec", "helper_counts",
    "sell_build", "sell_kernels", "sell_matvec",
]

MAX_EVENTS = IOM_MAX_SLOTS
SLICE = IOM_SLICE


def helper_counts():
    """How the split steps of every store in this process ran their second part.

    Returns ``(shared, own, here)``: the steps the shared helper thread took,
    those that found it busy and started a thread of their own, and those
    that ran their second part on the calling thread (no thread could start).
    See ``csrc/iom_helper.h``.
    """
    cdef uint64_t counts[3]
    iom_helper_counts(counts)
    return int(counts[0]), int(counts[1]), int(counts[2])


def _hold_helper():
    """For tests: hold the shared helper as a step would; True if it was free."""
    cdef int held
    with nogil:
        held = iom_helper_hold()
    return bool(held)


def _release_helper():
    """For tests: release what :func:`_hold_helper` held."""
    iom_helper_release()


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


cdef int64_t _first_outside(const int32_t[::1] index, int64_t n_nom) noexcept nogil:
    """The first entry of ``index`` that is neither -1 nor below n_nom, or -1."""
    cdef int64_t i
    for i in range(index.shape[0]):
        if index[i] < -1 or index[i] >= n_nom:
            return i
    return -1


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
    thresholds : int64 array of 3
        The band thresholds, ascending (points): a score reaching k of them is
        in band k. Every operation reports the nominals whose band it changed.
    """

    cdef iom_store s
    cdef bint ready

    def __cinit__(self, int64_t ring_days, int64_t as_of, int64_t start,
                  const int64_t[::1] points not None, const int64_t[::1] thresholds not None):
        self.ready = False
        if thresholds.shape[0] != 3 or not thresholds[0] <= thresholds[1] <= thresholds[2]:
            raise ValueError("three ascending thresholds are required")
        _check(iom_store_init(&self.s, ring_days, as_of, start, &points[0], points.shape[0],
                              &thresholds[0]))
        self.ready = True

    def __init__(self, int64_t ring_days, int64_t as_of, int64_t start,
                 const int64_t[::1] points not None, const int64_t[::1] thresholds not None):
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
    def thresholds(self):
        """The three band thresholds (points)."""
        return tuple(self.s.thresholds[i] for i in range(3))

    @property
    def slot_top(self):
        return self.s.slot_top

    @property
    def dead_events(self):
        """Retracted events whose slots their day still holds (freed when it expires, or
        when a compaction runs: once they outnumber a quarter of the live events + 65,536)."""
        return self.s.dead_events

    @property
    def free_slots(self):
        """Freed slots waiting on the free stack for the next inserts."""
        return self.s.n_free

    @property
    def index_entries(self):
        """Entries of the event-id index and pages: equal to live_events in a consistent
        store."""
        return self.s.ev_index.count + self.s.ev_pages.count

    @property
    def paged_entries(self):
        """Entries held in the id pages (the rest are in the hashed index)."""
        return self.s.ev_pages.count

    @property
    def id_pages(self):
        """Id pages allocated (16 KiB each)."""
        return self.s.ev_pages.n_pages

    @property
    def spare_pages(self):
        """Freed id pages kept (all zero) for the next pages made, at most 64."""
        return self.s.ev_pages.n_spare

    @property
    def use_pages(self):
        """Whether a batch may make new id pages (True, the default). With False, new ids
        go to the hashed index, as tests of that index need; pages made already stay."""
        return bool(self.s.use_pages)

    @use_pages.setter
    def use_pages(self, bint value):
        self.s.use_pages = value

    def _index_lanes(self):
        """For tests: the overflow counts of the event-id index, one row of four per chunk."""
        cdef int64_t n = self.s.ev_index.n_chunks, c
        cdef int lane
        out = np.empty((n, 4), dtype=np.uint8)
        cdef uint8_t[:, ::1] lanes = out
        for c in range(n):
            for lane in range(4):
                lanes[c, lane] = self.s.ev_index.chunks[c].overflow[lane]
        return out

    @property
    def parallel_min(self):
        """Rows from which a step (classify, inserts, one day's expiry, a partial rescore's
        entries) uses a second thread."""
        return self.s.parallel_min

    @parallel_min.setter
    def parallel_min(self, int64_t value):
        if value < 1:
            raise ValueError("parallel_min must be at least 1")
        self.s.parallel_min = value

    @property
    def add_kernel(self):
        """The partial rescore's inner loop: "avx512" (a gather and a scatter of eight
        scores at a time) where the CPU runs it, else "plain"; see :func:`add_kernels`."""
        return "avx512" if self.s.add_kernel == IOM_ADD_AVX512 else "plain"

    @add_kernel.setter
    def add_kernel(self, name):
        kernels = add_kernels()
        if name not in kernels:
            raise ValueError(f"add_kernel must be one of {kernels} on this CPU, not {name!r}")
        self.s.add_kernel = IOM_ADD_AVX512 if name == "avx512" else IOM_ADD_PLAIN

    def _fail_at_nominal(self, int64_t index):
        """For tests: adding nominal number ``index`` fails as if memory ran out (-1: never)."""
        self.s.fail_at_nominal = index

    def memory_bytes(self):
        """Bytes held by all arrays of the store."""
        return iom_store_bytes(&self.s)

    def event_memory_bytes(self):
        """Bytes held by the per-event arrays, the event-id index and the day ring."""
        return iom_store_event_bytes(&self.s)

    # -- zero-copy views (valid until the next change of the store) -----------
    def nominal_ids(self):
        return _view(self, self.s.nom_id, self.s.n_nom, cnp.NPY_INT64, 8)

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
                 const uint16_t[::1] kinds not None, const int32_t[::1] days not None,
                 int32_t[::1] nominal_index=None):
        """Status per row: 0 new, 1 live and identical, 2 live and different.

        ``nominal_index``, if given (int32, one per row), is filled with each
        row's nominal index, or -1 for a nominal not held: the lookups
        :meth:`apply` would make, done here on both threads.
        """
        cdef int64_t n = ids.shape[0]
        if nominal_ids.shape[0] != n or kinds.shape[0] != n or days.shape[0] != n:
            raise ValueError("ids, nominal_ids, kinds and days must have one length")
        if nominal_index is not None and nominal_index.shape[0] != n:
            raise ValueError("nominal_index must have one entry per row")
        status = np.empty(n, dtype=np.int8)
        cdef int8_t[::1] st = status
        cdef int32_t *out_nom = &nominal_index[0] if nominal_index is not None and n else NULL
        with nogil:
            if n:
                iom_classify(&self.s, n, &ids[0], &nominal_ids[0], &kinds[0], &days[0], &st[0],
                             out_nom)
        return status

    def plan(self, const int8_t[::1] status not None, const int32_t[::1] days not None):
        """The ingest action of each row of :meth:`classify`'s ``status``, and the counts.

        Actions: 1 insert (new, dated inside the window), 3 replace (held with
        other content, inside), 2 retract (held with other content, outside),
        0 leave out. Counts: ``first_after`` and ``first_conflict`` (a row, or
        -1), ``taken``, ``expired``, ``duplicates``, ``conflicts``, ``future``.
        """
        cdef int64_t n = status.shape[0]
        cdef iom_plan p
        if days.shape[0] != n:
            raise ValueError("one day per status is required")
        action = np.empty(n, dtype=np.int8)
        cdef int8_t[::1] act = action
        with nogil:
            iom_plan_actions(&self.s, n, &status[0] if n else NULL, &days[0] if n else NULL,
                             &act[0] if n else NULL, &p)
        return action, {
            "first_after": p.first_after,
            "first_conflict": p.first_conflict,
            "taken": p.taken,
            "expired": p.expired,
            "duplicates": p.duplicates,
            "conflicts": p.conflicts,
            "future": p.future,
        }

    # -- changes ---------------------------------------------------------------
    def apply(self, const int64_t[::1] ids not None, const int64_t[::1] nominal_ids not None,
              const uint16_t[::1] kinds not None, const int32_t[::1] days not None,
              const int8_t[::1] action not None, const int32_t[::1] nominal_index=None):
        """Apply a checked batch (actions: 0 skip, 1 insert, 2 retract, 3 replace).

        ``nominal_index``: what :meth:`classify` filled in for these rows on
        this store, or None to look every nominal up here.
        """
        cdef int64_t n = ids.shape[0]
        cdef int rc = IOM_OK
        cdef int64_t bad
        cdef const int32_t *known = NULL
        if (nominal_ids.shape[0] != n or kinds.shape[0] != n or days.shape[0] != n
                or action.shape[0] != n):
            raise ValueError("ids, nominal_ids, kinds, days and action must have one length")
        if nominal_index is not None:
            if nominal_index.shape[0] != n:
                raise ValueError("nominal_index must have one entry per row")
            bad = _first_outside(nominal_index, self.s.n_nom)
            if bad >= 0:  # one from another store could point outside the records
                raise ValueError(f"nominal_index[{bad}] is not a nominal of this store")
            if n:
                known = &nominal_index[0]
        with nogil:
            if n:
                rc = iom_apply(&self.s, n, &ids[0], &nominal_ids[0], &kinds[0], &days[0],
                               &action[0], known)
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

    def add_columns(self, const int64_t[::1] changed not None, const int64_t[::1] delta not None,
                    const int64_t[::1] col_ptr not None, const int32_t[::1] rows not None,
                    const int32_t[::1] counts not None):
        """Partial rescore: add delta[j] * count along each changed column (see iom_store.h).

        The CSC arrays must describe this store's live events (rows are nominal
        indices, ascending within each column, as ``_kernels.build_csc`` makes
        them). Starts a new crossed list.
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

    # -- band changes ----------------------------------------------------------
    def band_changes(self, by_id):
        """The band changes of the last operation (ingest, retract, advance, add_columns).

        Returns ``(nominal_id, old_band, new_band, score)`` in nominal_id order;
        bands are codes 0-3 under the store's thresholds (points).
        ``by_id()`` returns every nominal index in nominal_id order; it is
        called only when many nominals moved.
        """
        cdef int64_t n = self.s.n_crossed, found = 0
        cdef int64_t[::1] ri, rs
        cdef int8_t[::1] ro, rn
        if n * 16 <= self.s.n_nom:
            # Few can have moved (a day's step): gathered and sorted by id in C.
            ids = np.empty(n, dtype=np.int64)
            old = np.empty(n, dtype=np.int8)
            new = np.empty(n, dtype=np.int8)
            score = np.empty(n, dtype=np.int64)
            if n:
                ri, ro, rn, rs = ids, old, new, score
                with nogil:
                    found = iom_crossed_report(&self.s, &ri[0], &ro[0], &rn[0], &rs[0])
                if found < 0:
                    raise MemoryError("iomscore: out of memory for the band-change report")
            return ids[:found], old[:found], new[:found], score[:found]
        index_arr = np.empty(n, dtype=np.int32)
        flag_arr = np.empty(n, dtype=np.uint8)
        cdef int32_t[::1] index = index_arr
        cdef uint8_t[::1] flag = flag_arr
        with nogil:
            found = iom_crossed_moved(&self.s, &index[0], &flag[0])
        return self._in_id_order(index_arr[:found], flag_arr[:found], by_id)

    def set_all_scores(self, const int64_t[::1] values not None, by_id):
        """Overwrite every nominal's score (after a full rescore); return the band changes.

        Band changes are as :meth:`band_changes` returns them. They are
        found before any score is written, so a failure (memory) changes nothing.
        """
        cdef int64_t n = self.s.n_nom
        if values.shape[0] != n:
            raise ValueError("one score per nominal is required")
        flags_arr = np.empty(n, dtype=np.uint8)
        cdef uint8_t[::1] flags = flags_arr
        if n:
            with nogil:
                iom_band_flags(&self.s, &values[0], &flags[0])
        index = np.flatnonzero(flags_arr)
        changes = self._in_id_order(index, flags_arr[index], by_id, flags_arr, values)
        if n:
            with nogil:
                iom_set_all_scores(&self.s, &values[0])
        return changes

    def _in_id_order(self, index, flags, by_id, all_flags=None, new_scores=None):
        """(nominal_id, old_band, new_band, score) of the moved nominals, by nominal id.

        ``score`` is ``new_scores[index]`` where given, else the current score.
        """
        cdef int64_t n = self.s.n_nom, k = index.shape[0]
        cdef const int64_t[::1] order
        cdef const uint8_t[::1] every
        cdef const int64_t[::1] new_v
        cdef const int64_t *new_p = NULL
        cdef int64_t[::1] oi
        cdef uint8_t[::1] of
        cdef int64_t[::1] os
        cdef int rc = IOM_OK
        if k * 16 <= n:
            # Few moved: sort them by id. Many: walk the id order once, which beats sorting.
            ids = self.nominal_ids()[index]
            order_k = np.argsort(ids, kind="stable")
            ids, flags, index = ids[order_k], flags[order_k], index[order_k]
            score = (self.scores() if new_scores is None else np.asarray(new_scores))[index]
        else:
            if all_flags is None:
                all_flags = np.zeros(n, dtype=np.uint8)
                all_flags[index] = flags
            every = all_flags
            if new_scores is not None:
                new_v = new_scores
                new_p = &new_v[0]
            order = np.ascontiguousarray(by_id(), dtype=np.int64)
            if order.shape[0] != n:
                raise ValueError("by_id() must list every nominal index")
            ids = np.empty(k, dtype=np.int64)
            flags = np.empty(k, dtype=np.uint8)
            score = np.empty(k, dtype=np.int64)
            oi, of, os = ids, flags, score
            with nogil:
                rc = iom_band_walk(&self.s, &order[0], &every[0], new_p, &oi[0], &of[0], &os[0])
            _check(rc)
        flags = np.asarray(flags)
        return ids, ((flags >> 2) & 3).astype(np.int8), (flags & 3).astype(np.int8), score


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


def _points32(points):
    """Points as the int32 table the kernels look up, padded to every uint16 kind."""
    points = np.asarray(points)
    # Points are at most 100,000 (Weights.MAX_POINTS): int32 halves the table
    # the kernels look up for every entry; products are summed in int64.
    if points.size and (points.min() < 0 or points.max() > np.iinfo(np.int32).max):
        raise ValueError("points must lie in 0..2**31-1")
    points = np.ascontiguousarray(points, dtype=np.int32)
    if points.shape[0] < 65536:
        # every uint16 kind must index the table: pad it rather than scan the kinds
        points = np.concatenate([points, np.zeros(65536 - points.shape[0], dtype=np.int32)])
    return points


def _in_parts(run, ptr, int threads):
    """Call ``run(lo, hi)`` over [0, len(ptr) - 1) in ``threads`` parts of equal ptr span."""
    global _pool
    import os
    from concurrent.futures import ThreadPoolExecutor

    n = ptr.shape[0] - 1
    if threads <= 0:
        threads = os.cpu_count() or 1
    total = int(ptr[n]) if n >= 0 else 0
    if threads == 1 or total < 1_000_000:
        run(0, n)
        return
    bounds = np.searchsorted(ptr, np.linspace(0, total, threads + 1)[1:threads]).tolist()
    edges = [0, *bounds, n]
    with _pool_lock:  # one pool, as wide as the machine, shared by every caller
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=os.cpu_count() or 1, thread_name_prefix="iomscore"
            )
    parts = [_pool.submit(run, edges[k], edges[k + 1]) for k in range(threads)]
    for part in parts:
        part.result()


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
    indptr = np.ascontiguousarray(indptr, dtype=np.int64)
    kinds = np.ascontiguousarray(kinds, dtype=np.uint16)
    if counts.dtype != np.uint16:
        counts = np.ascontiguousarray(counts, dtype=np.int32)
    points = _points32(points)
    out = np.empty(indptr.shape[0] - 1, dtype=np.int64)
    _in_parts(
        lambda lo, hi: _matvec_rows(lo, hi, indptr, kinds, counts, points, out), indptr, threads
    )
    return out


_KERNELS = {"scalar": IOM_ISA_SCALAR, "avx2": IOM_ISA_AVX2, "avx512": IOM_ISA_AVX512}


def compose_kinds(const int32_t[::1] dataset_rows not None,
                  const uint16_t[::1] dataset_base not None,
                  const int32_t[::1] offence_rows not None,
                  const uint16_t[::1] offence_code not None, out not None):
    """``out[i] = dataset_base[dataset_rows[i]] + offence_code[offence_rows[i]]``.

    The rows index the distinct values of two dictionary columns; a row outside
    them is a ``ValueError`` naming it (0-based), not a read out of bounds. One
    pass without temporaries: numpy's fancy indexing took 79-90 us for a
    national day's 26,000 rows, this 37 us with the int32 casts before it.
    """
    cdef uint16_t[::1] kinds = out  # the array itself is what is returned
    cdef Py_ssize_t i, n = kinds.shape[0], bad = -1
    cdef Py_ssize_t n_ds = dataset_base.shape[0], n_off = offence_code.shape[0]
    cdef int32_t d, o
    if dataset_rows.shape[0] != n or offence_rows.shape[0] != n:
        raise ValueError("dataset_rows, offence_rows and out must have one length")
    with nogil:
        for i in range(n):
            d = dataset_rows[i]
            o = offence_rows[i]
            if d < 0 or d >= n_ds or o < 0 or o >= n_off:
                bad = i
                break
            kinds[i] = <uint16_t>(dataset_base[d] + offence_code[o])
    if bad >= 0:
        raise ValueError(f"row {bad}: an index outside its column's distinct values")
    return out


def add_kernels():
    """The partial rescore's inner loops this CPU runs, fastest first."""
    return [
        name for name, kernel in (("avx512", IOM_ADD_AVX512), ("plain", IOM_ADD_PLAIN))
        if iom_add_kernel_supported(kernel)
    ]


def sell_kernels():
    """The rescore-layout kernels this CPU runs, fastest first."""
    best = iom_sell_best_isa()
    return [name for name, isa in reversed(_KERNELS.items()) if isa <= best]


def sell_build(indptr, kinds, counts, int64_t sigma=4096):
    """The sliced ELLPACK (SELL-16-sigma) copy of a CSR count matrix with uint16 counts.

    Returns
    -------
    slice_ptr : int64 array (n_slices + 1)
        First entry of each slice; a slice of width w holds 16 * w entries.
    perm : int32 array (n_slices * 16)
        The CSR row in each lane (rows from n_rows on pad the last slice).
    sell_kinds, sell_counts : uint16 arrays (slice_ptr[-1])
        Entries, column by column within a slice, padded with count 0.
    heaviest : int
        The largest number of events (sum of counts) in one row.
    """
    cdef const int64_t[::1] ip = np.ascontiguousarray(indptr, dtype=np.int64)
    cdef const uint16_t[::1] k = np.ascontiguousarray(kinds, dtype=np.uint16)
    cdef const uint16_t[::1] c = np.ascontiguousarray(counts, dtype=np.uint16)
    cdef int64_t n_rows = ip.shape[0] - 1
    cdef int64_t n_slices = (n_rows + IOM_SLICE - 1) // IOM_SLICE
    cdef int64_t heaviest
    if sigma <= 0 or sigma % IOM_SLICE:
        raise ValueError(f"sigma must be a positive multiple of {IOM_SLICE}")
    if n_rows < 0 or k.shape[0] != c.shape[0] or ip[0] != 0 or ip[n_rows] != k.shape[0]:
        raise ValueError("indptr, kinds and counts do not describe one CSR matrix")
    if n_rows and np.any(np.diff(indptr) < 0):
        raise ValueError("indptr must not decrease")
    perm_arr = np.empty(n_slices * IOM_SLICE, dtype=np.int32)
    ptr_arr = np.empty(n_slices + 1, dtype=np.int64)
    cdef int32_t[::1] perm = perm_arr
    cdef int64_t[::1] ptr = ptr_arr
    with nogil:
        heaviest = iom_sell_plan(n_rows, &ip[0], &c[0] if c.shape[0] else NULL, sigma,
                                 &perm[0] if perm.shape[0] else NULL, &ptr[0])
    if heaviest < 0:
        raise MemoryError("iomscore: out of memory while planning the rescore layout")
    sk_arr = np.empty(ptr_arr[n_slices], dtype=np.uint16)
    sc_arr = np.empty(ptr_arr[n_slices], dtype=np.uint16)
    cdef uint16_t[::1] sk = sk_arr
    cdef uint16_t[::1] sc = sc_arr
    if sk.shape[0]:
        with nogil:
            iom_sell_fill(n_rows, &ip[0], &k[0], &c[0], n_slices, &perm[0], &ptr[0],
                          &sk[0], &sc[0])
    return ptr_arr, perm_arr, sk_arr, sc_arr, int(heaviest)


def _sell_rows(int isa, int64_t s_lo, int64_t s_hi, const int64_t[::1] ptr,
               const uint16_t[::1] sk, const uint16_t[::1] sc, const int32_t[::1] points,
               const int32_t[::1] perm, int64_t[::1] out):
    if s_hi <= s_lo or sk.shape[0] == 0:
        return
    with nogil:
        iom_sell_matvec(isa, s_lo, s_hi, &ptr[0], &sk[0], &sc[0], &points[0], &perm[0], &out[0])


def sell_matvec(slice_ptr, perm, sell_kinds, sell_counts, points, int64_t n_rows,
                int threads=0, kernel=None):
    """Scores of the rows of a :func:`sell_build` layout (int64, CSR row order).

    Lanes sum in int32: the caller guarantees ``heaviest * max(points) < 2**31``.
    ``kernel`` names one of :func:`sell_kernels` (default: the fastest).
    """
    if kernel is None:
        isa = iom_sell_best_isa()
    elif kernel not in sell_kernels():
        raise ValueError(f"kernel must be one of {sell_kernels()}, not {kernel!r}")
    else:
        isa = _KERNELS[kernel]
    points = _points32(points)
    n_slices = slice_ptr.shape[0] - 1
    entries = int(slice_ptr[n_slices]) if n_slices >= 0 else -1
    if (
        n_slices < 0
        or perm.shape[0] != n_slices * IOM_SLICE
        or not 0 <= n_rows <= perm.shape[0]
        or sell_kinds.shape[0] != entries
        or sell_counts.shape[0] != entries
    ):
        raise ValueError("the arrays do not describe one rescore layout")
    out = np.zeros(n_slices * IOM_SLICE, dtype=np.int64)
    _in_parts(
        lambda lo, hi: _sell_rows(
            isa, lo, hi, slice_ptr, sell_kinds, sell_counts, points, perm, out
        ),
        slice_ptr,
        threads,
    )
    return out[:n_rows]
