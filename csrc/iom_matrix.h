/*
 * iom_matrix: the full rescore, every row's score from the count matrix and
 * a points table (the matrix-vector product, int64).
 *
 * CSR rows are nominals, columns are kinds (uint16), values are event counts
 * (uint16 when every count fits, else int32). The function holds no state.
 */
#ifndef IOM_MATRIX_H
#define IOM_MATRIX_H

#include <stdint.h>

/* Products of at least this many entries are split in two halves of the
 * entries, one on the helper thread (iom_helper.h), when threads >= 2. */
#define IOM_MATVEC_SPLIT_MIN ((int64_t)1 << 20)

/* out[r] = sum over row r of counts[i] * points[kinds[i]], for every row of
 * an n_rows-row CSR matrix. counts are uint16 (count_bytes 2) or int32 (4);
 * points has an entry for every kind in the matrix. Sums cannot overflow: a
 * store holds under 2**28 events of at most 100,000 points each. */
void iom_csr_scores(int threads, int64_t n_rows, const int64_t *indptr, const uint16_t *kinds,
                    const void *counts, int count_bytes, const int32_t *points, int64_t *out);

/* The same for rows [row_lo, row_hi) on the calling thread, row r's score to
 * out[r - row_lo]: the one product loop, for callers that consume the scores
 * a block of rows at a time. */
void iom_csr_rows(int64_t row_lo, int64_t row_hi, const int64_t *indptr, const uint16_t *kinds,
                  const void *counts, int count_bytes, const int32_t *points, int64_t *out);

#endif
