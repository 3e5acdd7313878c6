"""The compiled event store: sliding event buffers with incremental scores.

A thin typed wrapper over the C store in ``csrc/`` (its units and helper
thread) and the full-rescore kernel ``csrc/iom_matrix.c``. Every method that
reaches C releases the GIL. Inputs are assumed valid: :mod:`iomscore.engine`
checks them first, and the C side allocates what a change needs before making
it, so a batch is taken whole or not at all.

Names with a leading underscore are for the tests of the store's own units;
the stub (``_core.pyi``) leaves them out.
"""

import numpy as np

cimport numpy as cnp
from cpython.ref cimport PyObject, Py_XDECREF, Py_XINCREF
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint16_t, uint64_t
from libc.stdlib cimport free, malloc, qsort

from ._cstore cimport (
    IOM_ENOMEM, IOM_EOVERFLOW, IOM_ETOOMANY, IOM_MAX_SLOTS, IOM_OK, IOM_RECORD_BYTES,
    iom_add_columns, iom_add_nominals, iom_add_scores, iom_advance, iom_apply, iom_band_walk,
    iom_begin,
    iom_classify, iom_crossed_count, iom_crossed_moved, iom_csr_scores, iom_find_events,
    iom_find_nominals, iom_helper_counts, iom_plan, iom_plan_actions, iom_retract,
    iom_rescore_all, iom_set_points, iom_stats, iom_store, iom_store_event_ids,
    iom_leaving, iom_leaving_bound, iom_store_event_days,
    iom_store_event_kinds, iom_store_event_nominals, iom_store_fail_at_nominal, iom_store_free,
    iom_store_index_lanes, iom_store_new, iom_store_nominal_ids, iom_store_points,
    iom_store_records, iom_store_set_parallel_min, iom_store_set_threads,
    iom_store_memory, iom_store_set_use_pages, iom_store_stats,
    IOM_EINDEX, iom_csv_count, iom_csv_parse, iom_csv_part, iom_csv_part_free, iom_csv_layout,
    iom_csv_rows, iom_first_repeat, iom_oneshot, iom_oneshot_add, iom_oneshot_free,
    iom_oneshot_count, iom_oneshot_items, iom_points_part, iom_words, iom_intern, iom_words_free,
    IOM_ETOOMANY, IOM_FORMAT_ROW_BYTES, iom_format_scores, IOM_CSV_MAX_LINE,
)

cnp.import_array()

_DAYS = np.dtype("datetime64[D]")  # made once: a view by a dtype string parses it each time
# The longest line (bytes) the plain CSV reader takes, as oneshot's buffer needs it.
_CSV_MAX_LINE = IOM_CSV_MAX_LINE

__all__ = [
    "EventStore", "OneShotSums", "PlainCsv", "by_day", "compose_kinds", "csr_matvec",
    "first_repeat", "format_scores", "group_positions", "intern_text", "offer_latest",
    "settle_groups",
]


def _helper_counts():
    """For tests: parts of split steps run on the helper thread and on the calling
    thread, since the process started (``csrc/iom_helper.h``)."""
    cdef uint64_t counts[2]
    iom_helper_counts(counts)
    return int(counts[0]), int(counts[1])


cdef struct _found:
    int64_t day
    int64_t id
    uint16_t kind


cdef int _by_day_then_id(const void *a, const void *b) noexcept nogil:
    cdef const _found *x = <const _found *>a
    cdef const _found *y = <const _found *>b
    if x.day != y.day:
        return -1 if x.day < y.day else 1
    if x.id != y.id:
        return -1 if x.id < y.id else 1
    return 0


def offer_latest(const int32_t[::1] nominal not None, const int8_t[::1] tool not None,
                 const int32_t[::1] day not None, const int64_t[::1] ids not None,
                 const int64_t[::1] points not None, int64_t start, int64_t n_tools,
                 int64_t[:] cur_id not None, int32_t[:] cur_day not None,
                 int64_t[:] cur_points not None, int32_t[:] stamp not None,
                 int32_t epoch):
    """Rule 10 for new assessments, in one pass: each row dated after ``start`` (day
    number) becomes the counting one of its group ``nominal * n_tools + tool`` if
    it is later (by day, then id) than the one counting. ``cur_*`` are by group
    (-1: none counting); ``stamp`` marks the groups this call touched (``epoch``
    must differ from every stamp). Returns the touched groups (int64) and their
    points before the call (int64)."""
    cdef int64_t n = nominal.shape[0], i, g, m = 0, n_groups = cur_id.shape[0]
    if (tool.shape[0] != n or day.shape[0] != n or ids.shape[0] != n
            or points.shape[0] != n):
        raise ValueError("the row columns must have one length")
    if cur_day.shape[0] != n_groups or cur_points.shape[0] != n_groups or stamp.shape[0] != n_groups:
        raise ValueError("the group columns must have one length")
    for i in range(n):
        if (nominal[i] < 0 or tool[i] < 0 or tool[i] >= n_tools
                or nominal[i] * n_tools + tool[i] >= n_groups):
            raise ValueError(f"row {i}: a group outside the arrays")
    touched_arr = np.empty(n, dtype=np.int64)
    old_arr = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] touched = touched_arr, old = old_arr
    with nogil:
        for i in range(n):
            if day[i] <= start:
                continue
            g = nominal[i] * n_tools + tool[i]
            if cur_id[g] >= 0 and (day[i] < cur_day[g]
                                   or (day[i] == cur_day[g] and ids[i] < cur_id[g])):
                continue
            if stamp[g] != epoch:
                stamp[g] = epoch
                touched[m] = g
                old[m] = cur_points[g] if cur_id[g] >= 0 else 0
                m += 1
            cur_id[g] = ids[i]
            cur_day[g] = day[i]
            cur_points[g] = points[i]
    return touched_arr[:m], old_arr[:m]


def settle_groups(const int64_t[::1] groups not None, const int64_t[::1] before not None,
                  const int64_t[:] cur_id not None, const int32_t[:] cur_day not None,
                  const int64_t[:] cur_points not None):
    """After a change, for each touched group (distinct): the change of its points
    (now less ``before``), whether an assessment counts now, and its day, in one
    pass over the group columns (strided views of one record per group). Returns
    ``(delta int64, counting bool, day int32)``."""
    cdef int64_t n = groups.shape[0], i, g, n_groups = cur_id.shape[0]
    if before.shape[0] != n:
        raise ValueError("groups and before must have one length")
    if cur_day.shape[0] != n_groups or cur_points.shape[0] != n_groups:
        raise ValueError("the group columns must have one length")
    for i in range(n):
        if groups[i] < 0 or groups[i] >= n_groups:
            raise ValueError(f"entry {i}: a group outside the arrays")
    delta_arr = np.empty(n, dtype=np.int64)
    counting_arr = np.empty(n, dtype=np.bool_)
    day_arr = np.empty(n, dtype=np.int32)
    cdef int64_t[::1] delta = delta_arr
    cdef uint8_t[::1] counting = counting_arr.view(np.uint8)
    cdef int32_t[::1] day = day_arr
    with nogil:
        for i in range(n):
            g = groups[i]
            delta[i] = cur_points[g] - before[i]
            counting[i] = cur_id[g] >= 0
            day[i] = cur_day[g]
    return delta_arr, counting_arr, day_arr


def by_day(const int32_t[::1] days not None, const int64_t[::1] values not None):
    """A counting sort of values by day (day numbers spanning under 2**20 days):
    ``(distinct days ascending, ends, values in day order)``, the values of
    ``days[k]`` being ``ordered[ends[k - 1]:ends[k]]``. Two passes, stable."""
    cdef int64_t n = days.shape[0], i, k, lo = 0, span = 0, d
    if values.shape[0] != n:
        raise ValueError("days and values must have one length")
    if n == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)
    lo = np.min(days)
    span = np.max(days) - lo + 1
    if span > 2**20:
        raise ValueError("the days span more than 2**20 days")
    counts_arr = np.zeros(span + 1, dtype=np.int64)
    ordered_arr = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] counts = counts_arr, ordered = ordered_arr
    with nogil:
        for i in range(n):
            counts[days[i] - lo + 1] += 1
        for k in range(span):
            counts[k + 1] += counts[k]
        for i in range(n):
            d = days[i] - lo
            ordered[counts[d]] = values[i]
            counts[d] += 1
    # counts[d] now ends day lo + d
    ends = counts_arr[:span]
    present = np.flatnonzero(np.diff(np.concatenate(([0], ends))) > 0)
    return present + lo, ends[present], ordered_arr


def group_positions(const int32_t[::1] keys not None, int64_t n_groups):
    """Positions grouped by key, a counting sort: ``positions[indptr[k]:indptr[k + 1]]``
    are the positions ``i`` with ``keys[i] == k``, ascending. A negative key is
    left out. Returns ``(indptr int64 (n_groups + 1), positions int32)``.
    """
    cdef int64_t n = keys.shape[0], i, bad = -1, total = 0
    cdef int32_t k
    if n >= 2**31:
        raise ValueError("at most 2**31 - 1 positions can be grouped")
    indptr_arr = np.zeros(n_groups + 1, dtype=np.int64)
    cdef int64_t[::1] indptr = indptr_arr
    with nogil:
        for i in range(n):
            k = keys[i]
            if k < 0:
                continue
            if k >= n_groups:
                bad = i
                break
            indptr[k + 1] += 1
        if bad < 0:
            for i in range(n_groups):
                indptr[i + 1] += indptr[i]
            total = indptr[n_groups]
    if bad >= 0:
        raise ValueError(f"position {bad}: key {keys[bad]} is not below n_groups {n_groups}")
    positions_arr = np.empty(total, dtype=np.int32)
    cursor_arr = indptr_arr[:-1].copy()
    cdef int32_t[::1] positions = positions_arr
    cdef int64_t[::1] cursor = cursor_arr
    with nogil:
        for i in range(n):
            k = keys[i]
            if k >= 0:
                positions[cursor[k]] = <int32_t>i
                cursor[k] += 1
    return indptr_arr, positions_arr


cdef void _check(int rc, str doing="while growing the event store") except *:
    if rc == IOM_OK:
        return
    if rc == IOM_ENOMEM:
        raise MemoryError(f"iomscore: out of memory {doing}")
    if rc == IOM_EOVERFLOW:
        raise OverflowError("iomscore: a score would exceed the int64 range")
    if rc == IOM_ETOOMANY:
        raise OverflowError(f"iomscore: the store holds at most {IOM_MAX_SLOTS} events")
    raise RuntimeError(f"iomscore: store error {rc}")


cdef object _view(object owner, const void *ptr, int64_t n, int typenum, cnp.npy_intp stride):
    """A read-only numpy view of n items at ptr, `stride` bytes apart.

    The view keeps the store alive, but is only meaningful until the store
    next changes (arrays may move as they grow): callers copy what they keep.
    """
    cdef cnp.npy_intp shape = n
    cdef cnp.npy_intp strides = stride
    if n == 0 or ptr == NULL:
        return np.empty(0, dtype=cnp.PyArray_DescrFromType(typenum))
    arr = cnp.PyArray_New(np.ndarray, 1, &shape, typenum, &strides, <void *>ptr, 0,
                          cnp.NPY_ARRAY_ALIGNED, None)
    cnp.set_array_base(arr, owner)
    return arr


cdef int64_t _first_outside(const int32_t[::1] index, int32_t low, int64_t n_nom) noexcept nogil:
    """The first entry of ``index`` outside [low, n_nom), or -1 (``low`` -1 lets a
    row's nominal be looked up)."""
    cdef int64_t i
    for i in range(index.shape[0]):
        if index[i] < low or index[i] >= n_nom:
            return i
    return -1


def _check_threads(threads):
    if threads not in (1, 2):
        raise ValueError(f"threads must be 1 or 2, not {threads!r}")
    return threads


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
    threads : {1, 2}
        Threads a large step may use (2: the store's helper thread as well).
    """

    cdef iom_store *s
    cdef int _threads
    # the live slots by nominal (nominal_events), built on first use, and the
    # slots written since; None while not built
    cdef object _by_nominal
    cdef const int64_t[::1] _bn_indptr
    cdef const int32_t[::1] _bn_slots
    cdef object _recent
    cdef const int32_t[::1] _bn_recent_nom
    cdef const int32_t[::1] _bn_recent

    def __cinit__(self, int64_t ring_days, int64_t as_of, int64_t start,
                  const int64_t[::1] points not None, const int64_t[::1] thresholds not None,
                  threads=2):
        self.s = NULL
        if thresholds.shape[0] != 3 or not thresholds[0] <= thresholds[1] <= thresholds[2]:
            raise ValueError("three ascending thresholds are required")
        self._threads = _check_threads(threads)
        self.s = iom_store_new(ring_days, as_of, start,
                               &points[0] if points.shape[0] else NULL, points.shape[0],
                               &thresholds[0])
        if self.s == NULL:
            raise MemoryError("iomscore: out of memory while creating the event store")
        iom_store_set_threads(self.s, self._threads)

    def __init__(self, int64_t ring_days, int64_t as_of, int64_t start,
                 const int64_t[::1] points not None, const int64_t[::1] thresholds not None,
                 threads=2):
        pass  # all the work is in __cinit__; this gives the class its signature

    def __dealloc__(self):
        iom_store_free(self.s)

    cdef iom_stats _stats(self):
        cdef iom_stats st
        iom_store_stats(self.s, &st)
        return st

    cdef int64_t _n_nominals(self):
        return self._stats().n_nominals

    # -- state ---------------------------------------------------------------
    @property
    def threads(self):
        """Threads a large step may use (1 or 2)."""
        return self._threads

    @threads.setter
    def threads(self, value):
        self._threads = _check_threads(value)
        iom_store_set_threads(self.s, self._threads)

    @property
    def as_of(self):
        return self._stats().as_of

    @property
    def start(self):
        return self._stats().start

    @property
    def n_nominals(self):
        """Nominals ever seen (with or without live events)."""
        return self._stats().n_nominals

    @property
    def live_events(self):
        return self._stats().live_events

    @property
    def n_kinds(self):
        return self._stats().n_kinds

    @property
    def thresholds(self):
        """The three band thresholds (points)."""
        cdef iom_stats st = self._stats()
        return tuple(st.thresholds[i] for i in range(3))

    @property
    def slot_top(self):
        return self._stats().slot_top

    @property
    def dead_events(self):
        """Retracted events whose slots their day still holds (freed when it expires, or
        when a compaction runs: once they outnumber a quarter of the live events + 65,536)."""
        return self._stats().dead_events

    @property
    def free_slots(self):
        """Freed slots waiting on the free stack for the next inserts."""
        return self._stats().free_slots

    @property
    def index_entries(self):
        """Entries of the event-id index and pages: equal to live_events in a consistent
        store."""
        return self._stats().index_entries

    @property
    def paged_entries(self):
        """Entries held in the id pages (the rest are in the hashed index)."""
        return self._stats().paged_entries

    @property
    def id_pages(self):
        """Id pages allocated (16 KiB each)."""
        return self._stats().id_pages

    @property
    def spare_pages(self):
        """Freed id pages kept (all zero) for the next pages made, at most 64."""
        return self._stats().spare_pages

    def memory_bytes(self):
        """Bytes held by all arrays of the store."""
        cdef int64_t events, total
        iom_store_memory(self.s, &events, &total)
        return total

    def event_memory_bytes(self):
        """Bytes held by the per-event arrays, the event-id index and the day ring."""
        cdef int64_t events, total
        iom_store_memory(self.s, &events, &total)
        return events

    # -- for the tests of the store's units (not in the stub) -----------------
    @property
    def _parallel_min(self):
        """Rows from which a step uses the helper thread."""
        return self._stats().parallel_min

    @_parallel_min.setter
    def _parallel_min(self, int64_t value):
        if value < 1:
            raise ValueError("_parallel_min must be at least 1")
        iom_store_set_parallel_min(self.s, value)

    def _use_pages(self, bint value):
        """Whether a batch may make new id pages (True, the default). With False, new ids
        go to the hashed index, as tests of that index need; pages made already stay."""
        iom_store_set_use_pages(self.s, value)

    def _fail_at_nominal(self, int64_t index):
        """Adding nominal number ``index`` fails as if memory ran out (-1: never)."""
        iom_store_fail_at_nominal(self.s, index)

    def _index_lanes(self):
        """The overflow counts of the event-id index, one row of four per chunk."""
        out = np.empty((self._stats().index_chunks, 4), dtype=np.uint8)
        cdef uint8_t[:, ::1] lanes = out
        if lanes.shape[0]:
            iom_store_index_lanes(self.s, &lanes[0, 0])
        return out

    # -- zero-copy views (valid until the next change of the store) -----------
    def nominal_ids(self):
        return _view(self, iom_store_nominal_ids(self.s), self._n_nominals(), cnp.NPY_INT64, 8)

    def scores(self):
        return _view(self, iom_store_records(self.s), self._n_nominals(), cnp.NPY_INT64,
                     IOM_RECORD_BYTES)

    def live_counts(self):
        return _view(self, <const char *>iom_store_records(self.s) + 8, self._n_nominals(),
                     cnp.NPY_INT32, IOM_RECORD_BYTES)

    def points(self):
        return _view(self, iom_store_points(self.s), self._stats().n_kinds, cnp.NPY_INT64, 8)

    def event_ids(self):
        return _view(self, iom_store_event_ids(self.s), self._stats().slot_top, cnp.NPY_INT64, 8)

    def event_nominals(self):
        return _view(self, iom_store_event_nominals(self.s), self._stats().slot_top,
                     cnp.NPY_INT32, 4)

    def event_kinds(self):
        """Kind by slot; 65535 marks a slot without a live event."""
        return _view(self, iom_store_event_kinds(self.s), self._stats().slot_top,
                     cnp.NPY_UINT16, 2)

    def event_days(self):
        """Day by slot, modulo 2**16 (see iom_store_event_days)."""
        return _view(self, iom_store_event_days(self.s), self._stats().slot_top,
                     cnp.NPY_UINT16, 2)

    # -- one nominal's events, and the forecast ---------------------------------
    def nominal_events(self, int64_t index):
        """The live events of the nominal of this index, as ``(event_id int64, kind
        uint16, day int32)`` ordered by day, then event_id.

        They are found through a grouping of the live slots by nominal, built on
        first use (a pass over the slots), and the slots written since
        (``note_written``); a slot counts if it is live and still the nominal's,
        each once. Cost: the nominal's grouped slots and the recent ones.
        """
        cdef _found *found = NULL
        cdef int64_t i, kept = self._collect(index, &found)
        ids = np.empty(kept, dtype=np.int64)
        kinds = np.empty(kept, dtype=np.uint16)
        days = np.empty(kept, dtype=np.int32)
        cdef int64_t[::1] oid = ids
        cdef uint16_t[::1] okind = kinds
        cdef int32_t[::1] oday = days
        for i in range(kept):
            oid[i] = found[i].id
            okind[i] = found[i].kind
            oday[i] = <int32_t>found[i].day
        free(found)
        return ids, kinds, days

    def explain_columns(self, int64_t index, cnp.ndarray expiry not None,
                        cnp.ndarray names not None):
        """:meth:`nominal_events` as explain shows them, in one call: ``(event_id,
        kind, date, points, expires, names, score)``, dates as ``datetime64[D]``;
        ``expiry[o]`` (int64, contiguous) is the expiry (a day number) of the events
        dated ``start + 1 + o``, and ``names[kind]`` (an object array, kinds x
        columns, contiguous) the row of names a kind shows (dataset, offence,
        description), gathered into ``names``' rows.

        Raw pointers, not typed memoryviews: explain is one call of a few
        microseconds, and each memoryview taken costs a few hundred nanoseconds."""
        if (cnp.PyArray_TYPE(expiry) != cnp.NPY_INT64 or cnp.PyArray_NDIM(expiry) != 1
                or not cnp.PyArray_IS_C_CONTIGUOUS(expiry)):
            raise ValueError("expiry must be a contiguous int64 array")
        if (cnp.PyArray_TYPE(names) != cnp.NPY_OBJECT or cnp.PyArray_NDIM(names) != 2
                or not cnp.PyArray_IS_C_CONTIGUOUS(names)):
            raise ValueError("names must be a contiguous 2-D object array")
        cdef _found *found = NULL
        cdef int64_t i, o, kind, kept = self._collect(index, &found)
        cdef int64_t first = self._stats().start + 1
        cdef const int64_t *points = iom_store_points(self.s)
        cdef const int64_t *expiry_at = <const int64_t *>cnp.PyArray_DATA(expiry)
        cdef int64_t n_expiry = cnp.PyArray_DIM(expiry, 0)
        cdef PyObject **name_at = <PyObject **>cnp.PyArray_DATA(names)
        cdef int64_t n_kinds = cnp.PyArray_DIM(names, 0), width = cnp.PyArray_DIM(names, 1)
        cdef cnp.npy_intp n = kept
        cdef cnp.npy_intp shape2[2]
        shape2[0], shape2[1] = kept, width
        cdef cnp.ndarray ids, kinds, days, worth, ends, shown
        cdef int64_t *oid
        cdef int64_t *oday
        cdef int64_t *opts
        cdef int64_t *oend
        cdef uint16_t *okind
        cdef PyObject **oshown
        cdef int64_t j
        try:
            ids = cnp.PyArray_EMPTY(1, &n, cnp.NPY_INT64, 0)
            kinds = cnp.PyArray_EMPTY(1, &n, cnp.NPY_UINT16, 0)
            days = cnp.PyArray_EMPTY(1, &n, cnp.NPY_INT64, 0)
            worth = cnp.PyArray_EMPTY(1, &n, cnp.NPY_INT64, 0)
            ends = cnp.PyArray_EMPTY(1, &n, cnp.NPY_INT64, 0)
            shown = cnp.PyArray_EMPTY(2, shape2, cnp.NPY_OBJECT, 0)  # filled with None
            oid = <int64_t *>cnp.PyArray_DATA(ids)
            okind = <uint16_t *>cnp.PyArray_DATA(kinds)
            oday = <int64_t *>cnp.PyArray_DATA(days)
            opts = <int64_t *>cnp.PyArray_DATA(worth)
            oend = <int64_t *>cnp.PyArray_DATA(ends)
            oshown = <PyObject **>cnp.PyArray_DATA(shown)
            for i in range(kept):
                o = found[i].day - first
                if o < 0 or o >= n_expiry:
                    raise ValueError("the expiry table does not cover the window")
                kind = found[i].kind
                if kind >= n_kinds:
                    raise ValueError("the names do not cover every kind")
                oid[i] = found[i].id
                okind[i] = <uint16_t>kind
                oday[i] = found[i].day
                opts[i] = points[kind]
                oend[i] = expiry_at[o]
                for j in range(width):
                    Py_XINCREF(name_at[kind * width + j])
                    Py_XDECREF(oshown[i * width + j])
                    oshown[i * width + j] = name_at[kind * width + j]
        finally:
            free(found)
        return (ids, kinds, days.view(_DAYS), worth, ends.view(_DAYS), shown,
                (<const int64_t *>(<const char *>iom_store_records(self.s)
                                   + index * IOM_RECORD_BYTES))[0])

    @property
    def nominal_lookup_built(self):
        """Whether the grouping of live slots by nominal is built (nominal_events)."""
        return self._by_nominal is not None

    cdef int64_t _collect(self, int64_t index, _found **out) except -1:
        """The live events of a nominal (see nominal_events), sorted, each once, in
        a malloc'd array the caller frees; returns how many."""
        if self._by_nominal is None:
            keys = np.where(self.event_kinds() == 0xFFFF, np.int32(-1), self.event_nominals())
            grouped = group_positions(keys, self._n_nominals())
            self._bn_indptr, self._bn_slots = grouped
            self._recent = (np.empty(0, np.int32), np.empty(0, np.int32))
            self._bn_recent_nom, self._bn_recent = self._recent
            self._by_nominal = grouped  # last: readers test it (nominal_lookup_built)
        cdef const int64_t[::1] indptr = self._bn_indptr
        cdef const int32_t[::1] slots = self._bn_slots
        # the recent slots of this nominal: a range of them, sorted by nominal
        cdef const int32_t[::1] recent_nom = self._bn_recent_nom
        cdef int64_t r_lo = 0, r_hi = recent_nom.shape[0], mid
        while r_lo < r_hi:
            mid = (r_lo + r_hi) // 2
            if recent_nom[mid] < index:
                r_lo = mid + 1
            else:
                r_hi = mid
        r_hi = r_lo
        while r_hi < recent_nom.shape[0] and recent_nom[r_hi] == index:
            r_hi += 1
        cdef const int32_t[::1] recent = self._bn_recent[r_lo:r_hi]
        cdef iom_stats st = self._stats()
        cdef const int64_t *ev_id = iom_store_event_ids(self.s)
        cdef const int32_t *ev_nom = iom_store_event_nominals(self.s)
        cdef const uint16_t *ev_kind = iom_store_event_kinds(self.s)
        cdef const uint16_t *ev_day = iom_store_event_days(self.s)
        cdef int64_t lo = 0, hi = 0, i, n, k = 0, kept = 0
        if 0 <= index < indptr.shape[0] - 1:
            lo, hi = indptr[index], indptr[index + 1]
        n = (hi - lo) + recent.shape[0]
        cdef _found *found = <_found *>malloc((n + 1) * sizeof(_found))
        if found == NULL:
            raise MemoryError()
        cdef int32_t slot
        with nogil:
            for i in range(n):
                slot = slots[lo + i] if i < hi - lo else recent[i - (hi - lo)]
                if slot < 0 or slot >= st.slot_top or ev_nom[slot] != index:
                    continue
                if ev_kind[slot] == 0xFFFF:
                    continue
                found[k].day = st.as_of - <uint16_t>(<uint16_t>st.as_of - ev_day[slot])
                found[k].id = ev_id[slot]
                found[k].kind = ev_kind[slot]
                k += 1
            qsort(found, k, sizeof(_found), _by_day_then_id)
            for i in range(k):  # a slot in both lists: the same event twice, side by side
                if kept and found[kept - 1].id == found[i].id:
                    continue
                found[kept] = found[i]
                kept += 1
        out[0] = found
        return kept

    def note_written(self, const int64_t[::1] ids not None, int64_t recent_cap):
        """Keep the grouping by nominal current after a batch with these event ids:
        note the slots they hold now, or drop the grouping (rebuilt on use) once
        more than ``recent_cap`` slots were noted since it was built."""
        if self._by_nominal is None:
            return
        noms, recent = self._recent
        if recent.shape[0] + ids.shape[0] > recent_cap:
            self._by_nominal = None
            self._bn_indptr = None
            self._bn_slots = None
            self._recent = None
            self._bn_recent_nom = None
            self._bn_recent = None
            return
        slots = self.find_events(ids)
        slots = slots[slots >= 0].astype(np.int32)
        new_noms = self.event_nominals()[slots]
        order = np.argsort(new_noms, kind="stable")
        # merge into the recent slots, kept sorted by nominal (a copy of at most recent_cap)
        at = np.searchsorted(noms, new_noms[order], side="right")
        self._recent = (np.insert(noms, at, new_noms[order]), np.insert(recent, at, slots[order]))
        self._bn_recent_nom, self._bn_recent = self._recent

    def nominal_lookup_bytes(self):
        """Bytes held by the grouping of live slots by nominal (0 while not built)."""
        if self._by_nominal is None:
            return 0
        return sum(int(a.nbytes) for a in (*self._by_nominal, *self._recent))

    def window_scores(self, int64_t after_day, int64_t until_day):
        """Rules 3-4 at a past date over the live events: for each nominal index, the
        points and the number of its live events dated in ``(after_day,
        until_day]`` (day numbers inside the window). One pass over the slots."""
        cdef iom_stats st = self._stats()
        cdef int64_t n_nom = st.n_nominals, i
        cdef const int32_t *ev_nom = iom_store_event_nominals(self.s)
        cdef const uint16_t *ev_kind = iom_store_event_kinds(self.s)
        cdef const uint16_t *ev_day = iom_store_event_days(self.s)
        cdef const int64_t *points = iom_store_points(self.s)
        # a live event's day is as_of - back, back = (as_of - residue) mod 2**16
        cdef uint16_t now = <uint16_t>st.as_of, back
        cdef int64_t least = st.as_of - until_day, beyond = st.as_of - after_day
        sums_arr = np.zeros(n_nom, dtype=np.int64)
        counts_arr = np.zeros(n_nom, dtype=np.int32)
        cdef int64_t[::1] sums = sums_arr
        cdef int32_t[::1] counts = counts_arr
        with nogil:
            for i in range(st.slot_top):
                if ev_kind[i] == 0xFFFF:
                    continue
                back = <uint16_t>(now - ev_day[i])
                if back >= least and back < beyond:
                    sums[ev_nom[i]] += points[ev_kind[i]]
                    counts[ev_nom[i]] += 1
        return sums_arr, counts_arr

    def forecast_falls(self, const int32_t[::1] group_of_offset not None, int64_t n_groups,
                       extra=None):
        """Rule 8 for every nominal, in one pass over the live events by expiry.

        ``group_of_offset[o]`` is the expiry group (0, 1, ... in date order) of
        the events dated ``start + 1 + o``: the days whose events stop counting
        on the same date. ``extra``, if given, is ``(nominal_index int32, group
        int32, points int64)`` ordered by group: other points that stop counting
        with a group (assessments). Returns, by nominal index, the group on which
        its band first falls below its band now and that band, and the group on
        which its band becomes NONE (-1 and 0 for a nominal not banded now).
        """
        cdef const int32_t[::1] x_nom, x_group
        cdef const int64_t[::1] x_points
        cdef int64_t x = 0, n_extra = 0
        if extra is None:
            extra = (np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0, np.int64))
        x_nom, x_group, x_points = extra
        n_extra = x_nom.shape[0]
        if x_group.shape[0] != n_extra or x_points.shape[0] != n_extra:
            raise ValueError("extra's three columns must have one length")
        for x in range(n_extra):
            if (x_nom[x] < 0 or x_nom[x] >= self._n_nominals() or x_group[x] < 0
                    or x_group[x] >= n_groups or (x and x_group[x] < x_group[x - 1])):
                raise ValueError(f"extra row {x}: outside the store or the groups, or out of order")
        x = 0
        cdef iom_stats st = self._stats()
        cdef int64_t n_nom = st.n_nominals, slot_top = st.slot_top, i, g, o, j
        cdef const int32_t *ev_nom = iom_store_event_nominals(self.s)
        cdef const uint16_t *ev_kind = iom_store_event_kinds(self.s)
        cdef const uint16_t *ev_day = iom_store_event_days(self.s)
        cdef const int64_t *points = iom_store_points(self.s)
        cdef int64_t t0 = st.thresholds[0], t1 = st.thresholds[1], t2 = st.thresholds[2]
        cdef uint16_t first_day = <uint16_t>(st.start + 1)
        cdef int64_t n_offsets = group_of_offset.shape[0]
        if n_groups < 0 or n_groups > n_offsets:
            raise ValueError("n_groups must lie in 0..len(group_of_offset)")
        running_arr = self.scores().copy()
        falls_arr = np.full(n_nom, -1, dtype=np.int32)
        to_arr = np.zeros(n_nom, dtype=np.int8)
        none_arr = np.full(n_nom, -1, dtype=np.int32)
        stamp_arr = np.full(n_nom, -1, dtype=np.int32)
        touched_arr = np.empty(n_nom + 1, dtype=np.int32)
        start_arr = np.zeros(n_groups + 1, dtype=np.int64)
        order_arr = np.empty(max(st.live_events, 1), dtype=np.int32)
        cdef int64_t[::1] running = running_arr, start = start_arr
        cdef int32_t[::1] falls = falls_arr, none = none_arr, stamp = stamp_arr
        cdef int32_t[::1] touched = touched_arr, order = order_arr
        band0_arr = ((running_arr >= t0).astype(np.int8) + (running_arr >= t1)
                     + (running_arr >= t2)).astype(np.int8)
        cdef int8_t[::1] falls_to = to_arr
        cdef const int8_t[::1] band0 = band0_arr
        cdef const int32_t[::1] grp = group_of_offset
        cdef int64_t m, bad = -1, nom
        cdef int now, later
        with nogil:
            # a counting sort of the live slots by expiry group
            for i in range(slot_top):
                if ev_kind[i] == 0xFFFF:
                    continue
                o = <uint16_t>(ev_day[i] - first_day)
                if o >= n_offsets or grp[o] < 0 or grp[o] >= n_groups:
                    bad = i
                    break
                start[grp[o] + 1] += 1
        if bad >= 0:
            raise ValueError(f"slot {bad}: a day with no expiry group")
        with nogil:
            for g in range(n_groups):
                start[g + 1] += start[g]
            for i in range(slot_top):
                if ev_kind[i] != 0xFFFF:
                    g = grp[<uint16_t>(ev_day[i] - first_day)]
                    order[start[g]] = <int32_t>i
                    start[g] += 1
            # start[g] now ends group g; walk the groups in date order
            j = 0
            for g in range(n_groups):
                m = 0
                while j < start[g]:
                    i = order[j]
                    nom = ev_nom[i]
                    running[nom] -= points[ev_kind[i]]
                    if stamp[nom] != g:
                        stamp[nom] = <int32_t>g
                        touched[m] = <int32_t>nom
                        m += 1
                    j += 1
                while x < n_extra and x_group[x] == g:
                    nom = x_nom[x]
                    running[nom] -= x_points[x]
                    if stamp[nom] != g:
                        stamp[nom] = <int32_t>g
                        touched[m] = <int32_t>nom
                        m += 1
                    x += 1
                for i in range(m):
                    nom = touched[i]
                    now = band0[nom]
                    later = (running[nom] >= t0) + (running[nom] >= t1) + (running[nom] >= t2)
                    if falls[nom] < 0 and later < now:
                        falls[nom] = <int32_t>g
                        falls_to[nom] = <int8_t>later
                    if none[nom] < 0 and later == 0 and now > 0:
                        none[nom] = <int32_t>g
        return falls_arr, to_arr, none_arr

    # -- lookups --------------------------------------------------------------
    def find_events(self, const int64_t[::1] ids not None):
        """Slot of each event id, or -1."""
        out = np.empty(ids.shape[0], dtype=np.int64)
        cdef int64_t[::1] slots = out
        with nogil:
            if ids.shape[0]:
                iom_find_events(self.s, ids.shape[0], &ids[0], &slots[0])
        return out

    def score_of(self, int64_t index):
        """The score (points) of the nominal of this index."""
        if index < 0 or index >= self._n_nominals():
            raise IndexError(f"no nominal of index {index}")
        return (<const int64_t *>(<const char *>iom_store_records(self.s)
                                  + index * IOM_RECORD_BYTES))[0]

    def find_nominal(self, int64_t nominal_id):
        """Index of one nominal id, or -1."""
        cdef int64_t index = -1
        iom_find_nominals(self.s, 1, &nominal_id, &index)
        return index

    def find_nominals(self, const int64_t[::1] ids not None):
        """Index of each nominal id, or -1."""
        out = np.empty(ids.shape[0], dtype=np.int64)
        cdef int64_t[::1] idx = out
        with nogil:
            if ids.shape[0]:
                iom_find_nominals(self.s, ids.shape[0], &ids[0], &idx[0])
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
                iom_classify(self.s, n, &ids[0], &nominal_ids[0], &kinds[0], &days[0], &st[0],
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
            iom_plan_actions(self.s, n, &status[0] if n else NULL, &days[0] if n else NULL,
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
    def apply(self, const int64_t[::1] ids not None, const int64_t[::1] nominal_ids,
              const uint16_t[::1] kinds not None, const int32_t[::1] days not None,
              const int8_t[::1] action not None, const int32_t[::1] nominal_index=None):
        """Apply a checked batch (actions: 0 skip, 1 insert, 2 retract, 3 replace).

        ``nominal_index``: what :meth:`classify` filled in for these rows on
        this store, or None to look every nominal up here. ``nominal_ids`` may
        be None when ``nominal_index`` holds every row's nominal (no -1): the
        ids are then never read (a restored snapshot's events).
        """
        cdef int64_t n = ids.shape[0]
        cdef int rc = IOM_OK
        cdef int64_t bad
        cdef const int32_t *known = NULL
        cdef const int64_t *noms = NULL
        if ((nominal_ids is not None and nominal_ids.shape[0] != n) or kinds.shape[0] != n
                or days.shape[0] != n or action.shape[0] != n):
            raise ValueError("ids, nominal_ids, kinds, days and action must have one length")
        if nominal_ids is None and nominal_index is None:
            raise ValueError("nominal_ids may be None only beside a full nominal_index")
        if nominal_index is not None:
            if nominal_index.shape[0] != n:
                raise ValueError("nominal_index must have one entry per row")
            # without the ids, every row's nominal must be in the index: no -1
            bad = _first_outside(nominal_index, 0 if nominal_ids is None else -1,
                                 self._n_nominals())
            if bad >= 0 and nominal_ids is None and nominal_index[bad] == -1:
                raise ValueError("nominal_ids may be None only beside a full nominal_index")
            if bad >= 0:  # one from another store could point outside the records
                raise ValueError(f"nominal_index[{bad}] is not a nominal of this store")
            if n:
                known = &nominal_index[0]
        if nominal_ids is not None and n:
            noms = &nominal_ids[0]
        with nogil:
            if n:
                rc = iom_apply(self.s, n, &ids[0], noms, &kinds[0], &days[0],
                               &action[0], known)
            else:
                iom_begin(self.s)
        _check(rc)

    def add_nominals(self, const int64_t[::1] nominal_ids not None):
        """Add nominals with no events, in order (a restored store's indices)."""
        cdef int rc = IOM_OK
        with nogil:
            if nominal_ids.shape[0]:
                rc = iom_add_nominals(self.s, nominal_ids.shape[0], &nominal_ids[0])
        _check(rc)

    def retract(self, const int64_t[::1] slots not None):
        """Withdraw live events by slot (distinct slots)."""
        cdef int rc = IOM_OK
        cdef int64_t n = slots.shape[0]
        with nogil:
            if n:
                rc = iom_retract(self.s, n, &slots[0])
            else:
                iom_begin(self.s)
        _check(rc)

    def advance(self, int64_t new_as_of, int64_t new_start, bint leaving=False):
        """Move D forward; returns how many live events left the window.

        With ``leaving``, returns ``(expired, (event_id, nominal_index, kind,
        day))``: the events that left, for the archive, in day order but after
        a jump of the whole ring or more (see iom_store.h).
        """
        cdef int64_t expired = 0
        cdef int rc
        cdef iom_leaving out
        cdef int64_t[::1] oid
        cdef int32_t[::1] onom, oday
        cdef uint16_t[::1] okind
        if not leaving:
            with nogil:
                rc = iom_advance(self.s, new_as_of, new_start, &expired, NULL)
            _check(rc)
            return expired
        cap = iom_leaving_bound(self.s, new_start)
        ids = np.empty(cap + 1, dtype=np.int64)  # + 1: a pointer even for none
        noms = np.empty(cap + 1, dtype=np.int32)
        kinds = np.empty(cap + 1, dtype=np.uint16)
        days = np.empty(cap + 1, dtype=np.int32)
        oid, onom, okind, oday = ids, noms, kinds, days
        out.id, out.nom, out.kind, out.day = &oid[0], &onom[0], &okind[0], &oday[0]
        out.cap, out.n = cap, 0
        with nogil:
            rc = iom_advance(self.s, new_as_of, new_start, &expired, &out)
        _check(rc)
        n = out.n
        return expired, (ids[:n], noms[:n], kinds[:n], days[:n])

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
                rc = iom_add_columns(self.s, changed.shape[0], &changed[0], &delta[0],
                                     &col_ptr[0], &rows[0], &counts[0])
            else:
                iom_begin(self.s)
        _check(rc)

    def set_points(self, const int64_t[::1] points not None):
        if points.shape[0] != self._stats().n_kinds:
            raise ValueError("points must have one entry per kind")
        with nogil:
            iom_set_points(self.s, &points[0])

    # -- band changes ----------------------------------------------------------
    def band_changes(self, by_id):
        """The band changes of the last operation (ingest, retract, advance, add_columns).

        Returns ``(nominal_id, old_band, new_band, score)`` in nominal_id order;
        bands are codes 0-3 under the store's thresholds (points).
        ``by_id()`` returns every nominal index in nominal_id order; it is
        called only when many nominals moved.
        """
        cdef int64_t n = iom_crossed_count(self.s), found = 0
        index_arr = np.empty(n, dtype=np.int32)
        flag_arr = np.empty(n, dtype=np.uint8)
        cdef int32_t[::1] index = index_arr
        cdef uint8_t[::1] flag = flag_arr
        with nogil:
            found = iom_crossed_moved(self.s, &index[0], &flag[0])
        return self._in_id_order(index_arr[:found], flag_arr[:found], by_id)

    def add_scores(self, const int32_t[::1] index not None, const int64_t[::1] delta not None,
                   bint begin=True):
        """Add ``delta[i]`` points to nominal ``index[i]`` (store indices; one may come
        more than once): points that are not the events' (assessments). With
        ``begin``, a new operation; else the band crossings join the last
        operation's report (a nominal's band change is from its band before its
        first crossing in the operation to its band at the end)."""
        cdef int64_t n = index.shape[0], i
        cdef int64_t n_nom = self._n_nominals()
        cdef int rc = IOM_OK
        if delta.shape[0] != n:
            raise ValueError("one delta per index is required")
        for i in range(n):
            if index[i] < 0 or index[i] >= n_nom:
                raise ValueError(f"index {index[i]} is not a nominal of this store")
        if n:
            # below 2**61 each, no partial sum can wrap: else refused before any change
            if (np.abs(np.asarray(delta)).sum(dtype=np.float64) >= 2.0**61
                    or np.abs(self.scores()[np.asarray(index)]).max() >= 2**61):
                raise OverflowError("iomscore: a score would exceed the int64 range")
        with nogil:
            if n:
                rc = iom_add_scores(self.s, n, &index[0], &delta[0], begin)
            elif begin:
                iom_begin(self.s)
        _check(rc)

    def rescore(self, indptr, kinds, counts, points, const int64_t[::1] row_index not None,
                const int64_t[::1] row_ids not None, base=None):
        """Every nominal's score from the count matrix under ``points``; the band changes.

        The full rescore, in one pass: row ``r`` of the CSR matrix (``indptr``,
        ``kinds``, ``counts`` uint16 or int32) is the nominal of index
        ``row_index[r]`` and id ``row_ids[r]``, and every nominal has one row.
        Each nominal's score becomes its row's product with ``points`` (points
        by kind), plus ``base[index]`` when given (int64 by nominal index: its
        assessments' points). Returns ``(nominal_id, old_band, new_band, score)`` of the
        nominals whose band changed, in row order. Its arrays are allocated
        before any score changes, so a failure (memory) changes nothing.
        """
        indptr, kinds, counts, points, width = _csr_arrays(indptr, kinds, counts, points)
        cdef const int64_t[::1] ip = indptr
        cdef const uint16_t[::1] k = kinds
        cdef const uint8_t[::1] c = counts
        cdef const int32_t[::1] p = points
        cdef int count_bytes = width
        cdef int64_t n = self._n_nominals(), moved = 0
        cdef const int64_t[::1] b
        cdef const int64_t *base_ptr = NULL
        if ip.shape[0] != n + 1 or row_index.shape[0] != n or row_ids.shape[0] != n:
            raise ValueError("the matrix must have one row per nominal of this store")
        if base is not None:
            base = np.ascontiguousarray(base, dtype=np.int64)
            if base.shape[0] != n:
                raise ValueError("base must have one entry per nominal of this store")
            b = base
            if n:
                base_ptr = &b[0]
        ids = np.empty(n, dtype=np.int64)
        old = np.empty(n, dtype=np.int8)
        new = np.empty(n, dtype=np.int8)
        score = np.empty(n, dtype=np.int64)
        cdef int64_t[::1] oi = ids, os = score
        cdef int8_t[::1] oo = old, on = new
        if n:
            with nogil:
                moved = iom_rescore_all(self.s, n, &ip[0], &k[0] if k.shape[0] else NULL,
                                        &c[0] if c.shape[0] else NULL, count_bytes, &p[0],
                                        base_ptr, &row_index[0], &row_ids[0], &oi[0], &oo[0],
                                        &on[0], &os[0])
        else:
            iom_begin(self.s)
        # a few moved: copies, so that the report does not hold four columns of n
        if moved * 2 < n:
            return ids[:moved].copy(), old[:moved].copy(), new[:moved].copy(), score[:moved].copy()
        return ids[:moved], old[:moved], new[:moved], score[:moved]

    def _in_id_order(self, index, flags, by_id):
        """(nominal_id, old_band, new_band, score) of the moved nominals, by nominal id."""
        cdef int64_t n = self._n_nominals(), k = index.shape[0]
        cdef const int64_t[::1] order
        cdef const uint8_t[::1] every
        cdef int64_t[::1] oi
        cdef uint8_t[::1] of
        cdef int64_t[::1] os
        cdef int rc = IOM_OK
        if k * 16 <= n:
            # Few moved: sort them by id. Many: walk the id order once, which beats sorting.
            ids = self.nominal_ids()[index]
            order_k = np.argsort(ids, kind="stable")
            ids, flags, index = ids[order_k], flags[order_k], index[order_k]
            score = self.scores()[index]
        else:
            all_flags = np.zeros(n, dtype=np.uint8)
            all_flags[index] = flags
            every = all_flags
            order = np.ascontiguousarray(by_id(), dtype=np.int64)
            if order.shape[0] != n:
                raise ValueError("by_id() must list every nominal index")
            ids = np.empty(k, dtype=np.int64)
            flags = np.empty(k, dtype=np.uint8)
            score = np.empty(k, dtype=np.int64)
            oi, of, os = ids, flags, score
            with nogil:
                rc = iom_band_walk(self.s, &order[0], &every[0], &oi[0], &of[0], &os[0])
            _check(rc)
        flags = np.asarray(flags)
        return ids, ((flags >> 2) & 3).astype(np.int8), (flags & 3).astype(np.int8), score


def _points32(points):
    """Points as the int32 table the kernel looks up, padded to every uint16 kind."""
    points = np.asarray(points)
    # Points are at most 100,000 (Weights.MAX_POINTS): int32 halves the table
    # the kernel looks up for every entry; products are summed in int64.
    if points.size and (points.min() < 0 or points.max() > np.iinfo(np.int32).max):
        raise ValueError("points must lie in 0..2**31-1")
    points = np.ascontiguousarray(points, dtype=np.int32)
    if points.shape[0] < 65536:
        # every uint16 kind must index the table: pad it rather than scan the kinds
        points = np.concatenate([points, np.zeros(65536 - points.shape[0], dtype=np.int32)])
    return points


def _csr_arrays(indptr, kinds, counts, points):
    """A CSR count matrix and a points table as the product loop reads them: indptr
    int64, kinds uint16, counts as bytes (uint16 or int32 values: their width, 2 or
    4, is returned last) and points int32 padded to every uint16 kind. A
    ValueError if the arrays do not describe one matrix."""
    indptr = np.ascontiguousarray(indptr, dtype=np.int64)
    kinds = np.ascontiguousarray(kinds, dtype=np.uint16)
    width = 2 if counts.dtype == np.uint16 else 4
    counts = np.ascontiguousarray(counts, dtype=np.uint16 if width == 2 else np.int32)
    n_rows = indptr.shape[0] - 1
    if (n_rows < 0 or indptr[0] != 0 or indptr[n_rows] != kinds.shape[0]
            or counts.shape[0] != kinds.shape[0]):
        raise ValueError("indptr, kinds and counts do not describe one CSR matrix")
    return indptr, kinds, counts.view(np.uint8), _points32(points), width


def csr_matvec(indptr, kinds, counts, points, threads=2):
    """Scores = count matrix @ points (int64): the full rescore.

    Parameters
    ----------
    indptr : int64 array (n_rows + 1)
    kinds : uint16 array (nnz)
        Column of each entry.
    counts : uint16 or int32 array (nnz)
        Events of that kind in that row.
    points : integer array (n_kinds)
        Points per kind, 0 to 2**31 - 1.
    threads : {1, 2}
        Threads to use: a large product is split in two halves of its entries.
    """
    cdef int n_threads = _check_threads(threads)
    indptr, kinds, counts, points, width = _csr_arrays(indptr, kinds, counts, points)
    cdef const int64_t[::1] ip = indptr
    cdef const uint16_t[::1] k = kinds
    cdef const uint8_t[::1] c = counts
    cdef const int32_t[::1] p = points
    cdef int count_bytes = width
    cdef int64_t n_rows = ip.shape[0] - 1
    out = np.empty(n_rows, dtype=np.int64)
    cdef int64_t[::1] o = out
    if n_rows:
        with nogil:
            iom_csr_scores(n_threads, n_rows, &ip[0], &k[0] if k.shape[0] else NULL,
                           &c[0] if c.shape[0] else NULL, count_bytes, &p[0], &o[0])
    return out


def compose_kinds(const int32_t[::1] dataset_rows not None,
                  const uint16_t[::1] dataset_base not None,
                  const int32_t[::1] offence_rows not None,
                  const uint16_t[::1] offence_code not None, out not None):
    """``out[i] = dataset_base[dataset_rows[i]] + offence_code[offence_rows[i]]``.

    The rows index the distinct values of two dictionary columns; a row outside
    them is a ``ValueError`` naming it (0-based), not a read out of bounds. One
    pass without temporaries.
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


# -- scoring once (csrc/iom_oneshot.h) -------------------------------------------------------
from libc.string cimport memset


cdef class PlainCsv:
    """A plain CSV export read straight from its bytes, a chunk of whole lines at a
    time, into buffers reused from one chunk to the next (``csrc/iom_oneshot.h``
    describes the plain form; a file not of it is for the general reader, which names
    the line and field at fault). The text columns' distinct values are copied as
    they are met, so each chunk may come in the same buffer.

    Parameters
    ----------
    n_fields : int
        Fields per record (the header's), at most 256.
    fields : sequence of 5 int
        The field (0-based) of event_id, nominal_id, dataset, offence and date.
    threads : {1, 2}
    """

    cdef iom_csv_part part[2]
    cdef iom_csv_layout layout
    cdef int threads
    cdef readonly object event_id, nominal_id, day, dataset, offence

    def __cinit__(self, *args, **kwargs):
        memset(self.part, 0, sizeof(self.part))

    def __init__(self, int n_fields, fields, threads=2):
        self.threads = _check_threads(threads)
        if n_fields < 1 or n_fields > 256 or len(fields) != 5:
            raise ValueError("PlainCsv: a bad layout")
        self.layout.n_fields = n_fields
        if len(set(fields)) != 5:
            raise ValueError("PlainCsv: the five columns need five fields")
        for k in range(5):
            if not 0 <= fields[k] < n_fields:
                raise ValueError("PlainCsv: a field outside the record")
            self.layout.field[k] = fields[k]
        self._buffers(0)

    def __dealloc__(self):
        iom_csv_part_free(&self.part[0])
        iom_csv_part_free(&self.part[1])

    def _buffers(self, int64_t n):
        self.event_id = np.empty(n, np.int64)
        self.nominal_id = np.empty(n, np.int64)
        self.day = np.empty(n, np.int32)
        self.dataset = np.empty(n, np.int32)
        self.offence = np.empty(n, np.int32)

    def read(self, const unsigned char[::1] data not None, int64_t begin, int64_t end):
        """Read the records of ``data[begin:end]`` (whole lines) into the buffers
        (``event_id``, ``nominal_id``, ``day`` as days since 1970-01-01, and
        ``dataset``, ``offence`` as indices into the words of each row's part).

        Returns
        -------
        None, or (rows, parts)
            ``None`` unless every byte is ASCII and every record plain; else the
            records read and each part's ``(part, first_row, rows)`` in the buffers.
        """
        cdef int64_t size = data.shape[0], n
        cdef int ascii, rc
        cdef iom_csv_rows rows
        if not 0 <= begin <= end <= size:
            raise ValueError("PlainCsv.read: a range outside the data")
        if begin == end:
            return 0, []
        cdef const char *buf = <const char *>&data[0]
        with nogil:
            ascii = iom_csv_count(buf, begin, end, self.threads, self.part)
        if not ascii:
            return None
        n = self.part[0].lines + self.part[1].lines
        if n > self.event_id.shape[0]:
            self._buffers(n)
        cdef int64_t[::1] e = self.event_id, m = self.nominal_id
        cdef int32_t[::1] d = self.day, ds = self.dataset, of = self.offence
        rows.event_id = &e[0]
        rows.nominal_id = &m[0]
        rows.day = &d[0]
        rows.dataset = &ds[0]
        rows.offence = &of[0]
        with nogil:
            rc = iom_csv_parse(buf, &self.layout, self.threads, self.part, &rows)
        if rc == IOM_ENOMEM:
            raise MemoryError("iomscore: out of memory reading a CSV file")
        if self.part[0].fault >= 0 or self.part[1].fault >= 0:
            return None
        parts = [(k, int(self.part[k].first_row), int(self.part[k].lines))
                 for k in range(2) if self.part[k].lines]
        return int(n), parts

    def words(self, int part, int column, int64_t since=0):
        """The distinct text of ``column`` (0: dataset, 1: offence) met by ``part`` of
        each chunk so far, from the ``since``-th, as bytes: a row's index is its place
        in this list."""
        if part not in (0, 1) or column not in (0, 1):
            raise ValueError("PlainCsv.words: part and column are 0 or 1")
        cdef iom_words *w = &self.part[part].words[column]
        return [w.bytes[w.start[i]:w.start[i] + w.len[i]] for i in range(since, w.count)]


cdef class OneShotSums:
    """A score taken once, a batch of rows at a time: the event ids seen (to find a
    repeat), the points of the counting events summed by nominal, and the rows by
    date (``csrc/iom_oneshot.h``)."""

    cdef iom_oneshot state

    def __cinit__(self):
        memset(&self.state, 0, sizeof(self.state))

    def __init__(self, int64_t expected=0):
        """``expected``: the rows the caller means to add in all, if known (a file's
        row count): the id set keeps its pages while they would cost at most 16 bytes
        an id of the whole set, though the first batch leaves them sparse."""
        self.state.ids.expected = max(expected, 0)

    def __dealloc__(self):
        iom_oneshot_free(&self.state)

    @property
    def _hashed(self):
        """Whether the ids seen moved from pages to the hash table (for tests)."""
        return bool(self.state.ids.hashed)

    def add(self, const int64_t[::1] event_id not None, const int64_t[::1] nominal_id not None,
            const int32_t[::1] day not None, const int32_t[::1] dataset not None,
            const int32_t[::1] offence not None, parts, int32_t low, int32_t high,
            threads=2):
        """Add rows: the nominals with an event dated in ``(low, high]`` (day numbers)
        get its points.

        Parameters
        ----------
        event_id, nominal_id : int64 arrays
            Each id >= 0.
        day : int32 array
            Days since 1970-01-01.
        dataset, offence : int32 arrays
            Each row's row and column in the points table of its part.
        parts : sequence of (first_row, rows, points)
            Consecutive parts from row 0 (rows past the last part are not read), each
            with its 2-D int64 points table.
        threads : {1, 2}

        Returns
        -------
        int
            The first row whose event id was seen before (by this call or an earlier
            one), or -1; after a repeat the sums are not to be used.

        Raises
        ------
        OverflowError
            A sum past the int64 range.
        IndexError
            A dataset or offence index outside its part's table.
        """
        cdef int n_threads = _check_threads(threads)
        cdef int64_t n = event_id.shape[0], repeat = -1, covered = 0, rows = 0
        cdef int rc, n_parts = len(parts), k
        if (nominal_id.shape[0] < n or day.shape[0] < n or dataset.shape[0] < n
                or offence.shape[0] < n):
            raise ValueError("OneShotSums.add: the columns are shorter than event_id")
        tables = []
        cdef iom_points_part *c_parts = <iom_points_part *>malloc(
            max(n_parts, 1) * sizeof(iom_points_part))
        if c_parts == NULL:
            raise MemoryError()
        cdef const int64_t[:, ::1] table
        try:
            for k in range(n_parts):
                first, count, points = parts[k]
                points = np.ascontiguousarray(points, dtype=np.int64)
                if points.ndim != 2 or first != covered or count < 0 or first + count > n:
                    raise ValueError("OneShotSums.add: parts must be consecutive rows, "
                                     "each with a 2-D table")
                tables.append(points)
                table = points
                c_parts[k].first = first
                c_parts[k].n = count
                c_parts[k].dataset = &dataset[0] if n else NULL
                c_parts[k].offence = &offence[0] if n else NULL
                c_parts[k].points = &table[0, 0] if table.shape[0] * table.shape[1] else NULL
                c_parts[k].stride = table.shape[1]
                c_parts[k].n_datasets = table.shape[0]
                covered += count
            rows = covered
            with nogil:
                rc = iom_oneshot_add(&self.state, rows, &event_id[0] if n else NULL,
                                     &nominal_id[0] if n else NULL, &day[0] if n else NULL,
                                     n_parts, c_parts, low, high, n_threads, &repeat)
        finally:
            free(c_parts)
        if rc == IOM_EINDEX:
            raise IndexError(f"OneShotSums.add: row {repeat}: an index outside its points table")
        _check(rc, "scoring the rows")
        return int(repeat)

    @property
    def counts(self):
        """Rows added so far: (counting, dated on or before low, dated after high)."""
        return (int(self.state.counts.taken), int(self.state.counts.before),
                int(self.state.counts.after))

    def items(self):
        """The nominals summed so far and their points (int64 arrays, in no order)."""
        cdef int64_t n = iom_oneshot_count(&self.state)
        ids = np.empty(n, np.int64)
        points = np.empty(n, np.int64)
        cdef int64_t[::1] i = ids, p = points
        if n:
            iom_oneshot_items(&self.state, &i[0], &p[0])
        return ids, points


def first_repeat(const int64_t[::1] ids not None):
    """The first row whose id an earlier row has, or -1: one pass marking each id in
    a bitmap (ids within 64 bits a row of each other) or a hash table, with no sort.
    Every id must be >= 0."""
    cdef int64_t n = ids.shape[0], repeat = -1
    cdef int rc = IOM_OK
    if n > 1:
        with nogil:
            rc = iom_first_repeat(n, &ids[0], &repeat)
    if rc == IOM_ENOMEM:
        raise MemoryError("iomscore: out of memory checking ids")
    return int(repeat)


def format_scores(const int64_t[::1] nominal_id not None, const int64_t[::1] score not None,
                  const int8_t[::1] band not None):
    """Score rows as CSV text, ``nominal_id,score,band`` a line (no header), bytes.
    ``band`` holds codes 0 to 3 (NONE, LOW, MEDIUM, HIGH)."""
    cdef int64_t n = nominal_id.shape[0], written
    if score.shape[0] != n or band.shape[0] != n:
        raise ValueError("format_scores: the columns differ in length")
    out = np.empty(max(n, 1) * IOM_FORMAT_ROW_BYTES, np.uint8)
    cdef uint8_t[::1] o = out
    with nogil:
        written = iom_format_scores(n, &nominal_id[0] if n else NULL, &score[0] if n else NULL,
                                    &band[0] if n else NULL, <char *>&o[0])
    if written < 0:
        raise ValueError(f"format_scores: row {-1 - written}: a band code outside 0 to 3")
    return out[:written].tobytes()


def intern_text(chunks):
    """The distinct words of a text column held as Arrow does, in chunks (each a pair
    ``(data, offsets)``: row ``i`` of a chunk is ``data[offsets[i]:offsets[i + 1]]``;
    ``offsets`` int32 or int64), and each row's index into them (int32, the chunks'
    rows one after another), the words in the order met, as bytes; ``None`` past
    65,536 distinct words or for a word over 1 MiB. One pass in C over every chunk
    with one table: a word of up to 16 bytes is hashed and compared as two machine
    words."""
    cdef iom_words words
    cdef int rc = IOM_OK, wide
    cdef const unsigned char[::1] data
    cdef const int32_t[::1] narrow
    cdef const int64_t[::1] broad
    cdef const void *at
    cdef const char *buf
    cdef int64_t n, i, total = 0, done = 0
    cdef int32_t[::1] out
    parts = []
    for data_obj, offsets in chunks:
        offsets = np.ascontiguousarray(offsets)
        if offsets.dtype != np.int64:
            offsets = offsets.astype(np.int32, copy=False)
        n = offsets.shape[0] - 1
        if n < 0 or (n and (offsets[0] < 0 or offsets[n] > len(data_obj)
                             or offsets[0] > offsets[n])):
            raise ValueError("intern_text: offsets outside the data")
        parts.append((data_obj, offsets, n))
        total += n
    index = np.empty(total, np.int32)
    out = index
    memset(&words, 0, sizeof(words))
    try:
        for data_obj, offsets, n in parts:
            data = data_obj
            wide = offsets.dtype == np.int64
            if wide:
                broad = offsets
                at = &broad[0]
            else:
                narrow = offsets
                at = &narrow[0]
            buf = <const char *>&data[0] if data.shape[0] else <const char *>""
            with nogil:
                rc = iom_intern(buf, at, wide, n, &words, &out[done] if n else NULL)
            if rc != IOM_OK:
                break
            done += n
        if rc == IOM_ENOMEM:
            raise MemoryError("iomscore: out of memory reading a text column")
        if rc == IOM_ETOOMANY:
            return None
        if rc == IOM_EINDEX:
            raise ValueError("intern_text: offsets that go back or past the data")
        return index, [words.bytes[words.start[i]:words.start[i] + words.len[i]]
                       for i in range(words.count)]
    finally:
        iom_words_free(&words)
