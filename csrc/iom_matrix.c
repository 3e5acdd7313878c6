/* iom_matrix: see iom_matrix.h.
 *
 * Rows are short (about a dozen entries) and of uneven length, so a plain
 * row-by-row loop mispredicts the end of almost every row. Instead the
 * entries are summed in fixed blocks, keeping a running total in a small
 * buffer, and each row's score is the difference of the running total at
 * its end and at the previous row's end: one predictable loop over entries
 * and one over rows. Sums cannot overflow: a matrix holds under 2**28 events
 * of at most 100,000 points each (see iom_store.c). */
#include "iom_matrix.h"

#define IOM_BLOCK 2048

#define IOM_MATVEC(NAME, COUNT_T)                                                          \
    void NAME(int64_t row_lo, int64_t row_hi, const int64_t *indptr, const uint16_t *kinds, \
              const COUNT_T *counts, const int32_t *points, int64_t *out) {                 \
        int64_t running[IOM_BLOCK];                                                         \
        int64_t first = indptr[row_lo], last = indptr[row_hi];                              \
        int64_t total = 0, before = 0; /* running total, and at the last row's end */       \
        int64_t r = row_lo;                                                                 \
        while (r < row_hi && indptr[r + 1] == first) out[r++] = 0; /* leading empty rows */ \
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
                out[r] = at_end - before;                                                   \
                before = at_end;                                                            \
            }                                                                               \
        }                                                                                   \
        for (; r < row_hi; r++) out[r] = 0; /* trailing empty rows */                       \
    }

IOM_MATVEC(iom_csr_matvec_u16, uint16_t)
IOM_MATVEC(iom_csr_matvec_i32, int32_t)
