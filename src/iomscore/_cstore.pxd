# Declarations of the C store's public headers for Cython. The store itself is
# opaque here: its layout is private to csrc/ (iom_store_impl.h).
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint16_t, uint64_t


cdef extern from "iom_store.h" nogil:
    int IOM_OK
    int IOM_ENOMEM
    int IOM_EOVERFLOW
    int IOM_ETOOMANY
    int IOM_EINDEX
    int64_t IOM_MAX_SLOTS
    int IOM_RECORD_BYTES

    ctypedef struct iom_store:
        pass

    ctypedef struct iom_stats:
        int64_t as_of
        int64_t start
        int64_t n_nominals
        int64_t live_events
        int64_t dead_events
        int64_t free_slots
        int64_t slot_top
        int64_t n_kinds
        int64_t thresholds[3]
        int64_t index_entries
        int64_t paged_entries
        int64_t id_pages
        int64_t spare_pages
        int64_t index_chunks
        int64_t parallel_min

    ctypedef struct iom_plan:
        int64_t first_after
        int64_t first_conflict
        int64_t taken
        int64_t expired
        int64_t duplicates
        int64_t conflicts
        int64_t future

    iom_store *iom_store_new(int64_t ring_days, int64_t as_of, int64_t start,
                             const int64_t *points, int64_t n_kinds, const int64_t *thresholds)
    void iom_store_free(iom_store *s)
    void iom_store_set_threads(iom_store *s, int threads)
    void iom_store_stats(const iom_store *s, iom_stats *out)
    void iom_store_memory(const iom_store *s, int64_t *event_bytes, int64_t *total_bytes)
    const int64_t *iom_store_nominal_ids(const iom_store *s)
    const void *iom_store_records(const iom_store *s)
    const int64_t *iom_store_points(const iom_store *s)
    const int64_t *iom_store_event_ids(const iom_store *s)
    const int32_t *iom_store_event_nominals(const iom_store *s)
    const uint16_t *iom_store_event_kinds(const iom_store *s)
    const uint16_t *iom_store_event_days(const iom_store *s)

    void iom_find_events(const iom_store *s, int64_t n, const int64_t *ids, int64_t *out_slot)
    void iom_find_nominals(const iom_store *s, int64_t n, const int64_t *ids, int64_t *out_index)
    void iom_classify(const iom_store *s, int64_t n, const int64_t *ids,
                      const int64_t *nominal_ids, const uint16_t *kinds, const int32_t *days,
                      int8_t *out_status, int32_t *out_nom)
    void iom_plan_actions(const iom_store *s, int64_t n, const int8_t *status,
                          const int32_t *days, int8_t *out_action, iom_plan *out)

    int iom_apply(iom_store *s, int64_t n, const int64_t *ids, const int64_t *nominal_ids,
                  const uint16_t *kinds, const int32_t *days, const int8_t *action,
                  const int32_t *known)
    int iom_add_nominals(iom_store *s, int64_t n, const int64_t *nominal_ids)
    int iom_retract(iom_store *s, int64_t n, const int64_t *slots)
    ctypedef struct iom_leaving:
        int64_t *id
        int32_t *nom
        uint16_t *kind
        int32_t *day
        int64_t cap
        int64_t n

    int64_t iom_leaving_bound(const iom_store *s, int64_t new_start)
    int iom_advance(iom_store *s, int64_t new_as_of, int64_t new_start, int64_t *expired,
                    iom_leaving *out)
    void iom_begin(iom_store *s)

    void iom_set_points(iom_store *s, const int64_t *points)
    int iom_add_columns(iom_store *s, int64_t n_changed, const int64_t *changed,
                        const int64_t *delta, const int64_t *col_ptr, const int32_t *rows,
                        const int32_t *counts)
    int iom_add_scores(iom_store *s, int64_t n, const int32_t *index, const int64_t *delta,
                       int begin)
    int64_t iom_rescore_all(iom_store *s, int64_t n_rows, const int64_t *indptr,
                            const uint16_t *kinds, const void *counts, int count_bytes,
                            const int32_t *points, const int64_t *base, const int64_t *row_index,
                            const int64_t *row_ids, int64_t *out_id, int8_t *out_old,
                            int8_t *out_new, int64_t *out_score)

    int64_t iom_crossed_count(const iom_store *s)
    int64_t iom_crossed_moved(const iom_store *s, int32_t *out_index, uint8_t *out_flag)
    int iom_band_walk(const iom_store *s, const int64_t *by_id, const uint8_t *flags,
                      int64_t *out_id, uint8_t *out_flag, int64_t *out_score)

    void iom_store_set_parallel_min(iom_store *s, int64_t rows)
    void iom_store_set_use_pages(iom_store *s, int use)
    void iom_store_fail_at_nominal(iom_store *s, int64_t index)
    void iom_store_index_lanes(const iom_store *s, uint8_t *out)


cdef extern from "iom_helper.h" nogil:
    void iom_helper_counts(uint64_t out[2])


cdef extern from "iom_matrix.h" nogil:
    void iom_csr_scores(int threads, int64_t n_rows, const int64_t *indptr,
                        const uint16_t *kinds, const void *counts, int count_bytes,
                        const int32_t *points, int64_t *out)


cdef extern from "iom_oneshot.h" nogil:
    int64_t IOM_CSV_MAX_LINE

    ctypedef struct iom_words:
        int64_t count
        char *bytes
        int64_t *start
        int32_t *len

    ctypedef struct iom_csv_part:
        int64_t begin
        int64_t end
        int64_t lines
        int64_t first_row
        iom_words words[2]
        int64_t fault
        int rc

    ctypedef struct iom_csv_layout:
        int n_fields
        int field[5]

    ctypedef struct iom_csv_rows:
        int64_t *event_id
        int64_t *nominal_id
        int32_t *dataset
        int32_t *offence
        int32_t *day

    ctypedef struct iom_day_counts:
        int64_t taken
        int64_t before
        int64_t after

    ctypedef struct iom_idset:
        int64_t expected
        int hashed

    ctypedef struct iom_oneshot:
        iom_idset ids
        iom_day_counts counts

    ctypedef struct iom_points_part:
        int64_t first
        int64_t n
        const int32_t *dataset
        const int32_t *offence
        const int64_t *points
        int64_t stride
        int64_t n_datasets

    int iom_csv_count(const char *buf, int64_t begin, int64_t end, int parts, iom_csv_part *out)
    int iom_csv_parse(const char *buf, const iom_csv_layout *layout, int parts,
                      iom_csv_part *part, const iom_csv_rows *rows)
    void iom_csv_part_free(iom_csv_part *part)
    int iom_intern(const char *data, const void *offsets, int wide, int64_t n,
                   iom_words *words, int32_t *out)
    void iom_words_free(iom_words *words)
    int iom_first_repeat(int64_t n, const int64_t *ids, int64_t *repeat)
    int iom_oneshot_add(iom_oneshot *s, int64_t n, const int64_t *event_id,
                        const int64_t *nominal_id, const int32_t *day, int parts,
                        const iom_points_part *part, int32_t low, int32_t high, int threads,
                        int64_t *repeat)
    int64_t iom_oneshot_count(const iom_oneshot *s)
    void iom_oneshot_items(const iom_oneshot *s, int64_t *ids, int64_t *points)
    void iom_oneshot_free(iom_oneshot *s)


cdef extern from "iom_format.h" nogil:
    int IOM_FORMAT_ROW_BYTES
    int64_t iom_format_scores(int64_t n, const int64_t *nominal_id, const int64_t *score,
                              const int8_t *band, char *out)
