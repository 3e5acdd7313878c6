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

/*
 * The rescore layout: a sliced ELLPACK copy of the CSR (SELL-16-sigma).
 *
 * Rows are cut into windows of `sigma` rows, sorted within a window by length
 * (longest first) and grouped into slices of IOM_SLICE rows; a slice stores
 * its rows' entries column by column (entry j of lane l at j * IOM_SLICE + l),
 * padded with zero counts to its longest row. A full rescore then runs
 * IOM_SLICE rows at once in SIMD lanes, with no branch at the end of each row.
 *
 * perm[s * IOM_SLICE + l] is the CSR row in lane l of slice s (rows past the
 * end, which pad the last slice, are numbered n_rows, n_rows + 1, ...).
 */
#define IOM_SLICE 16

/* Fill perm (n_slices * IOM_SLICE) and slice_ptr (n_slices + 1, in entries);
 * return the largest row total of counts (events in one row), or -1 when out
 * of memory. n_slices = ceil(n_rows / IOM_SLICE); sigma a multiple of IOM_SLICE. */
int64_t iom_sell_plan(int64_t n_rows, const int64_t *indptr, const uint16_t *counts,
                      int64_t sigma, int32_t *perm, int64_t *slice_ptr);
/* Copy the entries into the layout (slice_ptr[n_slices] entries each). */
void iom_sell_fill(int64_t n_rows, const int64_t *indptr, const uint16_t *kinds,
                   const uint16_t *counts, int64_t n_slices, const int32_t *perm,
                   const int64_t *slice_ptr, uint16_t *sell_kinds, uint16_t *sell_counts);
/* Kernels of iom_sell_matvec: plain C, or a hardware gather of the points. */
#define IOM_ISA_SCALAR 0
#define IOM_ISA_AVX2 1
#define IOM_ISA_AVX512 2
/* The fastest kernel this CPU runs. */
int iom_sell_best_isa(void);

/* out[perm[s * IOM_SLICE + l]] = that row's score, slices [s_lo, s_hi), with
 * kernel `isa` (which the CPU must support: see iom_sell_best_isa).
 * Lanes sum in int32: the caller guarantees largest row total * largest
 * points value < 2**31 (else it uses iom_csr_matvec_*). `out` has room for
 * n_slices * IOM_SLICE scores. */
void iom_sell_matvec(int isa, int64_t s_lo, int64_t s_hi, const int64_t *slice_ptr,
                     const uint16_t *sell_kinds, const uint16_t *sell_counts,
                     const int32_t *points, const int32_t *perm, int64_t *out);

#endif
