# Declarations of csrc/iom_store.h for Cython.
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint16_t, uint64_t


cdef extern from "iom_store.h" nogil:
    int IOM_OK
    int IOM_ENOMEM
    int IOM_EOVERFLOW
    int IOM_ETOOMANY
    int64_t IOM_MAX_SLOTS

    ctypedef struct iom_chunk:
        uint8_t overflow[4]

    ctypedef struct iom_index:
        iom_chunk *chunks
        int64_t n_chunks
        int64_t count

    ctypedef struct iom_pages:
        int64_t n_pages
        int64_t n_spare
        int64_t count

    ctypedef struct iom_nominal:
        int64_t score
        int32_t live
        int32_t stamp

    ctypedef struct iom_store:
        int64_t *ev_id
        int32_t *ev_nom
        uint16_t *ev_kind
        uint16_t *ev_day
        int64_t slot_top
        int64_t live_events
        int64_t dead_events
        int64_t n_free
        int64_t as_of
        int64_t start
        iom_nominal *noms
        int64_t *nom_id
        int64_t n_nom
        int64_t *points
        int64_t n_kinds
        int64_t thresholds[3]
        int64_t n_crossed
        iom_index ev_index
        iom_pages ev_pages
        int use_pages
        int64_t parallel_min
        int add_kernel
        int64_t fail_at_nominal

    int iom_store_init(iom_store *s, int64_t ring_days, int64_t as_of, int64_t start,
                       const int64_t *points, int64_t n_kinds, const int64_t *thresholds)
    void iom_store_free(iom_store *s)
    int64_t iom_store_bytes(const iom_store *s)
    int64_t iom_store_event_bytes(const iom_store *s)
    void iom_find_events(const iom_store *s, int64_t n, const int64_t *ids, int64_t *out_slot)
    void iom_find_nominals(const iom_store *s, int64_t n, const int64_t *ids, int64_t *out_index)
    void iom_classify(const iom_store *s, int64_t n, const int64_t *ids,
                      const int64_t *nominal_ids, const uint16_t *kinds, const int32_t *days,
                      int8_t *out_status, int32_t *out_nom)
    ctypedef struct iom_plan:
        int64_t first_after
        int64_t first_conflict
        int64_t taken
        int64_t expired
        int64_t duplicates
        int64_t conflicts
        int64_t future
    void iom_plan_actions(const iom_store *s, int64_t n, const int8_t *status,
                          const int32_t *days, int8_t *out_action, iom_plan *out)
    int iom_apply(iom_store *s, int64_t n, const int64_t *ids, const int64_t *nominal_ids,
                  const uint16_t *kinds, const int32_t *days, const int8_t *action,
                  const int32_t *known)
    int iom_retract(iom_store *s, int64_t n, const int64_t *slots)
    int iom_advance(iom_store *s, int64_t new_as_of, int64_t new_start, int64_t *expired)
    void iom_set_points(iom_store *s, const int64_t *points)
    void iom_begin(iom_store *s)
    int IOM_ADD_PLAIN
    int IOM_ADD_AVX512
    int iom_add_kernel_supported(int kernel)
    int64_t iom_band_flags(const iom_store *s, const int64_t *scores, uint8_t *flags)
    int64_t iom_crossed_moved(const iom_store *s, int32_t *out_index, uint8_t *out_flag)
    int64_t iom_crossed_report(const iom_store *s, int64_t *out_id, int8_t *out_old,
                               int8_t *out_new, int64_t *out_score)
    int iom_band_walk(const iom_store *s, const int64_t *by_id, const uint8_t *flags,
                      const int64_t *new_scores, int64_t *out_id, uint8_t *out_flag,
                      int64_t *out_score)
    void iom_set_all_scores(iom_store *s, const int64_t *scores)
    int iom_add_columns(iom_store *s, int64_t n_changed, const int64_t *changed,
                        const int64_t *delta, const int64_t *col_ptr, const int32_t *rows,
                        const int32_t *counts)
    int iom_reserve_events(iom_store *s, int64_t extra)


cdef extern from "iom_helper.h" nogil:
    void iom_helper_counts(uint64_t out[3])
    int iom_helper_hold()
    void iom_helper_release()


cdef extern from "iom_matrix.h" nogil:
    void iom_csr_matvec_u16(int64_t row_lo, int64_t row_hi, const int64_t *indptr,
                            const uint16_t *kinds, const uint16_t *counts,
                            const int32_t *points, int64_t *out)
    void iom_csr_matvec_i32(int64_t row_lo, int64_t row_hi, const int64_t *indptr,
                            const uint16_t *kinds, const int32_t *counts,
                            const int32_t *points, int64_t *out)
    int IOM_SLICE
    int IOM_ISA_SCALAR
    int IOM_ISA_AVX2
    int IOM_ISA_AVX512
    int64_t iom_sell_plan(int64_t n_rows, const int64_t *indptr, const uint16_t *counts,
                          int64_t sigma, int32_t *perm, int64_t *slice_ptr)
    void iom_sell_fill(int64_t n_rows, const int64_t *indptr, const uint16_t *kinds,
                       const uint16_t *counts, int64_t n_slices, const int32_t *perm,
                       const int64_t *slice_ptr, uint16_t *sell_kinds, uint16_t *sell_counts)
    int iom_sell_best_isa()
    void iom_sell_matvec(int isa, int64_t s_lo, int64_t s_hi, const int64_t *slice_ptr,
                         const uint16_t *sell_kinds, const uint16_t *sell_counts,
                         const int32_t *points, const int32_t *perm, int64_t *out)
