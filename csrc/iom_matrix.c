/* iom_matrix: see iom_matrix.h.
 *
 * Rows are short (about a dozen entries) and of uneven length, so a plain
 * row-by-row loop mispredicts the end of almost every row. Instead the
 * entries are summed in fixed blocks, keeping a running total in a small
 * buffer, and each row's score is the difference of the running total at
 * its end and at the previous row's end: one predictable loop over entries
 * and one over rows. */
#include "iom_matrix.h"

#include <stddef.h>

#include "iom_helper.h"

#define IOM_BLOCK 2048

#define IOM_MATVEC(NAME, COUNT_T)                                                          \
    static void NAME(int64_t row_lo, int64_t row_hi, const int64_t *indptr,                 \
                     const uint16_t *kinds, const COUNT_T *counts, const int32_t *points,   \
                     int64_t *out) {                                                        \
        int64_t running[IOM_BLOCK];                                                         \
        int64_t first = indptr[row_lo], last = indptr[row_hi];                              \
        int64_t total = 0, before = 0; /* running total, and at the last row's end */       \
        int64_t r = row_lo;                                                                 \
        while (r < row_hi && indptr[r + 1] == first) out[r++ - row_lo] = 0; /* empty rows */ \
        for (int64_t b0 = first; b0 < last; b0 += IOM_BLOCK) {                              \
            int64_t b1 = b0 + IOM_BLOCK < last ? b0 + IOM_BLOCK : last;                     \
            for (int64_t i = b0; i < b1; i++) {                                             \
                total += (int64_t)counts[i] * points[kinds[i]];                             \
                running[i - b0] = total;                                                    \
            }                                                                               \
            for (; r < row_hi && indptr[r + 1] <= b1; r++) {                                \
                /* end > b0 here: rows ending at or before b0 were done with  */          \
                /* the previous block (or are the leading empty rows)          */          \
                int64_t at_end = running[indptr[r + 1] - 1 - b0];                           \
                out[r - row_lo] = at_end - before;                                          \
                before = at_end;                                                            \
            }                                                                               \
        }                                                                                   \
        for (; r < row_hi; r++) out[r - row_lo] = 0; /* trailing empty rows */              \
    }

IOM_MATVEC(iom_rows_u16, uint16_t)
IOM_MATVEC(iom_rows_i32, int32_t)

typedef struct {
    int64_t row_lo, row_hi;
    const int64_t *indptr;
    const uint16_t *kinds;
    const void *counts;
    int count_bytes;
    const int32_t *points;
    int64_t *out;
} iom_rows_job;

void iom_csr_rows(int64_t row_lo, int64_t row_hi, const int64_t *indptr, const uint16_t *kinds,
                  const void *counts, int count_bytes, const int32_t *points, int64_t *out) {
    if (count_bytes == 2)
        iom_rows_u16(row_lo, row_hi, indptr, kinds, (const uint16_t *)counts, points, out);
    else
        iom_rows_i32(row_lo, row_hi, indptr, kinds, (const int32_t *)counts, points, out);
}

static void *iom_rows(void *arg) {
    const iom_rows_job *j = (const iom_rows_job *)arg;
    iom_csr_rows(j->row_lo, j->row_hi, j->indptr, j->kinds, j->counts, j->count_bytes, j->points,
                 j->out + j->row_lo);
    return NULL;
}

void iom_csr_scores(int threads, int64_t n_rows, const int64_t *indptr, const uint16_t *kinds,
                    const void *counts, int count_bytes, const int32_t *points, int64_t *out) {
    iom_rows_job mine = {0, n_rows, indptr, kinds, counts, count_bytes, points, out};
    int64_t nnz = indptr[n_rows];
    if (threads < 2 || nnz < IOM_MATVEC_SPLIT_MIN) {
        iom_rows(&mine);
        return;
    }
    /* the first row ending past half of the entries */
    int64_t lo = 0, hi = n_rows;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (indptr[mid + 1] < nnz / 2) lo = mid + 1;
        else hi = mid;
    }
    iom_rows_job theirs = mine;
    mine.row_hi = lo;
    theirs.row_lo = lo;
    iom_helper helper;
    iom_helper_start(&helper, iom_rows, &theirs);
    iom_rows(&mine);
    iom_helper_finish(&helper);
}
