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

#include <stdlib.h>
#include <string.h>

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

/* ---- the rescore layout (SELL-16-sigma) ------------------------------------------------ */

int64_t iom_sell_plan(int64_t n_rows, const int64_t *indptr, const uint16_t *counts,
                      int64_t sigma, int32_t *perm, int64_t *slice_ptr) {
    int64_t n_slices = (n_rows + IOM_SLICE - 1) / IOM_SLICE;
    int64_t padded = n_slices * IOM_SLICE;
    int64_t longest = 0, heaviest = 0;
    for (int64_t r = 0; r < n_rows; r++) {
        int64_t len = indptr[r + 1] - indptr[r], events = 0;
        if (len > longest) longest = len;
        for (int64_t i = indptr[r]; i < indptr[r + 1]; i++) events += counts[i];
        if (events > heaviest) heaviest = events;
    }
    /* counting sort by length, longest first, within each window (stable) */
    int64_t *start = malloc((size_t)(longest + 2) * sizeof(int64_t));
    if (start == NULL) return -1;
    for (int64_t w0 = 0; w0 < padded; w0 += sigma) {
        int64_t w1 = w0 + sigma < padded ? w0 + sigma : padded;
        memset(start, 0, (size_t)(longest + 2) * sizeof(int64_t));
        for (int64_t r = w0; r < w1; r++) {
            int64_t len = r < n_rows ? indptr[r + 1] - indptr[r] : 0;
            start[longest - len + 1]++; /* bucket 0 holds the longest rows */
        }
        for (int64_t b = 1; b <= longest + 1; b++) start[b] += start[b - 1];
        for (int64_t r = w0; r < w1; r++) {
            int64_t len = r < n_rows ? indptr[r + 1] - indptr[r] : 0;
            perm[w0 + start[longest - len]++] = (int32_t)r;
        }
    }
    free(start);
    slice_ptr[0] = 0;
    for (int64_t s = 0; s < n_slices; s++) {
        int64_t r = perm[s * IOM_SLICE]; /* the slice's longest row */
        int64_t len = r < n_rows ? indptr[r + 1] - indptr[r] : 0;
        slice_ptr[s + 1] = slice_ptr[s] + len * IOM_SLICE;
    }
    return heaviest;
}

void iom_sell_fill(int64_t n_rows, const int64_t *indptr, const uint16_t *kinds,
                   const uint16_t *counts, int64_t n_slices, const int32_t *perm,
                   const int64_t *slice_ptr, uint16_t *sell_kinds, uint16_t *sell_counts) {
    for (int64_t s = 0; s < n_slices; s++) {
        int64_t lo[IOM_SLICE], len[IOM_SLICE];
        for (int l = 0; l < IOM_SLICE; l++) {
            int64_t r = perm[s * IOM_SLICE + l];
            lo[l] = r < n_rows ? indptr[r] : 0;
            len[l] = r < n_rows ? indptr[r + 1] - lo[l] : 0;
        }
        /* write in layout order (16 short read streams, one write stream) */
        uint16_t *k = sell_kinds + slice_ptr[s], *c = sell_counts + slice_ptr[s];
        int64_t width = (slice_ptr[s + 1] - slice_ptr[s]) / IOM_SLICE;
        for (int64_t j = 0; j < width; j++, k += IOM_SLICE, c += IOM_SLICE)
            for (int l = 0; l < IOM_SLICE; l++) {
                int in_row = j < len[l]; /* else padding: kind 0, count 0 */
                k[l] = in_row ? kinds[lo[l] + j] : 0;
                c[l] = in_row ? counts[lo[l] + j] : 0;
            }
    }
}

static void iom_sell_matvec_scalar(int64_t s_lo, int64_t s_hi, const int64_t *slice_ptr,
                                   const uint16_t *sell_kinds, const uint16_t *sell_counts,
                                   const int32_t *points, const int32_t *perm, int64_t *out) {
    for (int64_t s = s_lo; s < s_hi; s++) {
        int32_t acc[IOM_SLICE] = {0};
        const uint16_t *k = sell_kinds + slice_ptr[s], *c = sell_counts + slice_ptr[s];
        int64_t width = (slice_ptr[s + 1] - slice_ptr[s]) / IOM_SLICE;
        for (int64_t j = 0; j < width; j++)
            for (int l = 0; l < IOM_SLICE; l++)
                acc[l] += (int32_t)c[j * IOM_SLICE + l] * points[k[j * IOM_SLICE + l]];
        for (int l = 0; l < IOM_SLICE; l++) out[perm[s * IOM_SLICE + l]] = acc[l];
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define IOM_HAVE_X86 1

/* The points lookup is a hardware gather: 16 (or 2 x 8) kinds at a time. */
__attribute__((target("avx512f"))) static void iom_sell_matvec_avx512(
    int64_t s_lo, int64_t s_hi, const int64_t *slice_ptr, const uint16_t *sell_kinds,
    const uint16_t *sell_counts, const int32_t *points, const int32_t *perm, int64_t *out) {
    for (int64_t s = s_lo; s < s_hi; s++) {
        __m512i acc = _mm512_setzero_si512();
        const uint16_t *k = sell_kinds + slice_ptr[s], *c = sell_counts + slice_ptr[s];
        int64_t width = (slice_ptr[s + 1] - slice_ptr[s]) / IOM_SLICE;
        for (int64_t j = 0; j < width; j++) {
            __m512i kind = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(k + j * 16)));
            __m512i count = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(c + j * 16)));
            __m512i pts = _mm512_i32gather_epi32(kind, points, 4);
            acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(count, pts));
        }
        int32_t lane[16];
        _mm512_storeu_si512(lane, acc);
        for (int l = 0; l < 16; l++) out[perm[s * 16 + l]] = lane[l];
    }
}

__attribute__((target("avx2"))) static void iom_sell_matvec_avx2(
    int64_t s_lo, int64_t s_hi, const int64_t *slice_ptr, const uint16_t *sell_kinds,
    const uint16_t *sell_counts, const int32_t *points, const int32_t *perm, int64_t *out) {
    for (int64_t s = s_lo; s < s_hi; s++) {
        __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
        const uint16_t *k = sell_kinds + slice_ptr[s], *c = sell_counts + slice_ptr[s];
        int64_t width = (slice_ptr[s + 1] - slice_ptr[s]) / IOM_SLICE;
        for (int64_t j = 0; j < width; j++) {
            const __m128i *kj = (const __m128i *)(k + j * 16), *cj = (const __m128i *)(c + j * 16);
            __m256i k0 = _mm256_cvtepu16_epi32(_mm_loadu_si128(kj));
            __m256i k1 = _mm256_cvtepu16_epi32(_mm_loadu_si128(kj + 1));
            __m256i c0 = _mm256_cvtepu16_epi32(_mm_loadu_si128(cj));
            __m256i c1 = _mm256_cvtepu16_epi32(_mm_loadu_si128(cj + 1));
            acc0 = _mm256_add_epi32(acc0, _mm256_mullo_epi32(c0, _mm256_i32gather_epi32(points, k0, 4)));
            acc1 = _mm256_add_epi32(acc1, _mm256_mullo_epi32(c1, _mm256_i32gather_epi32(points, k1, 4)));
        }
        int32_t lane[16];
        _mm256_storeu_si256((__m256i *)lane, acc0);
        _mm256_storeu_si256((__m256i *)(lane + 8), acc1);
        for (int l = 0; l < 16; l++) out[perm[s * 16 + l]] = lane[l];
    }
}
#endif

typedef void (*iom_sell_fn)(int64_t, int64_t, const int64_t *, const uint16_t *,
                            const uint16_t *, const int32_t *, const int32_t *, int64_t *);

int iom_sell_best_isa(void) {
#ifdef IOM_HAVE_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return IOM_ISA_AVX512;
    if (__builtin_cpu_supports("avx2")) return IOM_ISA_AVX2;
#endif
    return IOM_ISA_SCALAR;
}

void iom_sell_matvec(int isa, int64_t s_lo, int64_t s_hi, const int64_t *slice_ptr,
                     const uint16_t *sell_kinds, const uint16_t *sell_counts,
                     const int32_t *points, const int32_t *perm, int64_t *out) {
    iom_sell_fn kernel = iom_sell_matvec_scalar;
#ifdef IOM_HAVE_X86
    if (isa == IOM_ISA_AVX512) kernel = iom_sell_matvec_avx512;
    if (isa == IOM_ISA_AVX2) kernel = iom_sell_matvec_avx2;
#endif
    kernel(s_lo, s_hi, slice_ptr, sell_kinds, sell_counts, points, perm, out);
}
