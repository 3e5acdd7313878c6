/*
 * iom_matrix: the count matrix's hot loop, rescoring rows from a points table.
 *
 * CSR rows are nominals, columns are kinds (uint16), values are event counts
 * (uint16 when every count fits, else int32). A row range at a time, so the
 * caller can split the rows between threads; the function holds no state.
 */
#ifndef IOM_MATRIX_H
#define IOM_MATRIX_H

#include <stdint.h>

/* out[r] = sum over the row of count * points[kind], rows [row_lo, row_hi). */
void iom_csr_matvec_u16(int64_t row_lo, int64_t row_hi, const int64_t *indptr,
                        const uint16_t *kinds, const uint16_t *counts, const int32_t *points,
                        int64_t *out);
void iom_csr_matvec_i32(int64_t row_lo, int64_t row_hi, const int64_t *indptr,
                        const uint16_t *kinds, const int32_t *counts, const int32_t *points,
                        int64_t *out);

#endif
