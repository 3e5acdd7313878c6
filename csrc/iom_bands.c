/* iom_bands: band changes, and rescoring (see iom_bands.h and iom_store.h). */
#include "iom_matrix.h"
#include "iom_store_impl.h"

#include <stdlib.h>
#include <string.h>

void iom_begin(iom_store *s) {
    s->n_crossed = 0;
    if (++s->epoch == INT32_MAX) { /* restart stamps rather than let them wrap */
        for (int64_t i = 0; i < s->n_nom; i++) s->noms[i].stamp = 0;
        s->epoch = 1;
    }
}

void iom_set_points(iom_store *s, const int64_t *points) {
    memcpy(s->points, points, (size_t)s->n_kinds * sizeof(int64_t));
}

/* Add d * counts[i] to the score of nominal rows[i], for i in [lo, hi): the
 * inner loop of a partial rescore. A column's rows ascend, so its records are
 * read in order of address, a prefetch ahead. (Splitting the nominals between
 * two threads saved a few percent of a ten-code reweight: not kept.) */
static int iom_add_column_rows(iom_nominal *noms, const int32_t *rows, const int32_t *counts,
                               int64_t lo, int64_t hi, int64_t d, const int64_t *thresholds,
                               int32_t epoch, iom_crossings *list) {
    int rc = IOM_OK;
    for (int64_t i = lo; i < hi && rc == IOM_OK; i++) {
        if (i + IOM_AHEAD_NEAR < hi) IOM_PREFETCH(&noms[rows[i + IOM_AHEAD_NEAR]]);
        rc = iom_add_points(list, thresholds, epoch, &noms[rows[i]], rows[i],
                            d * (int64_t)counts[i]);
    }
    return rc;
}

int iom_add_columns(iom_store *s, int64_t n_changed, const int64_t *changed,
                    const int64_t *delta, const int64_t *col_ptr, const int32_t *rows,
                    const int32_t *counts) {
    iom_begin(s);
    iom_crossings list = iom_store_crossings(s);
    int rc = IOM_OK;
    for (int64_t j = 0; j < n_changed && rc == IOM_OK; j++) {
        int64_t c = changed[j];
        rc = iom_add_column_rows(s->noms, rows, counts, col_ptr[c], col_ptr[c + 1], delta[j],
                                 s->thresholds, s->epoch, &list);
    }
    s->n_crossed = list.n;
    return rc;
}

int iom_add_scores(iom_store *s, int64_t n, const int32_t *index, const int64_t *delta,
                   int begin) {
    if (begin) iom_begin(s);
    iom_crossings list = iom_store_crossings(s);
    int rc = IOM_OK;
    for (int64_t i = 0; i < n && rc == IOM_OK; i++)
        rc = iom_add_points(&list, s->thresholds, s->epoch, &s->noms[index[i]], index[i], delta[i]);
    s->n_crossed = list.n;
    return rc;
}

/* A full rescore's part: rows [row_lo, row_hi) of the matrix, scored a block
 * at a time by the product loop (iom_csr_rows) and written to their records;
 * the moved ones go to out_* from its start. Each row's record is another
 * nominal's (row_index is a permutation), so two parts never share one. */
typedef struct {
    iom_nominal *noms;
    int64_t thresholds[3];
    int64_t row_lo, row_hi;
    const int64_t *indptr;
    const uint16_t *kinds;
    const void *counts;
    int count_bytes;
    const int32_t *points;
    const int64_t *base; /* by nominal index, or NULL */
    const int64_t *row_index, *row_ids;
    int64_t *out_id, *out_score;
    int8_t *out_old, *out_new;
    int64_t moved;
} iom_rescore_job;

#define IOM_RESCORE_BLOCK 512

static void *iom_rescore_part(void *arg) {
    iom_rescore_job *j = (iom_rescore_job *)arg;
    int64_t score[IOM_RESCORE_BLOCK];
    iom_nominal *noms = j->noms;
    const int64_t *row_index = j->row_index, *row_ids = j->row_ids, *base = j->base;
    const int64_t thresholds[3] = {j->thresholds[0], j->thresholds[1], j->thresholds[2]};
    int64_t *out_id = j->out_id, *out_score = j->out_score;
    int8_t *out_old = j->out_old, *out_new = j->out_new;
    int64_t m = 0, hi = j->row_hi;
    for (int64_t r0 = j->row_lo; r0 < hi; r0 += IOM_RESCORE_BLOCK) {
        int64_t r1 = r0 + IOM_RESCORE_BLOCK < hi ? r0 + IOM_RESCORE_BLOCK : hi;
        iom_csr_rows(r0, r1, j->indptr, j->kinds, j->counts, j->count_bytes, j->points, score);
        for (int64_t r = r0; r < r1; r++) {
            if (r + IOM_AHEAD_FAR < hi) IOM_PREFETCH(&noms[row_index[r + IOM_AHEAD_FAR]]);
            iom_nominal *nom = &noms[row_index[r]];
            int64_t old = nom->score, now = score[r - r0];
            if (base) now += base[row_index[r]]; /* below 2**45 each: no overflow */
            int old_band = iom_band(old, thresholds), new_band = iom_band(now, thresholds);
            nom->score = now;
            /* written for every row, kept (m moves on) for a moved one: no branch */
            out_id[m] = row_ids[r];
            out_old[m] = (int8_t)old_band;
            out_new[m] = (int8_t)new_band;
            out_score[m] = now;
            m += old_band != new_band;
        }
    }
    j->moved = m;
    return NULL;
}

int64_t iom_rescore_all(iom_store *s, int64_t n_rows, const int64_t *indptr, const uint16_t *kinds,
                        const void *counts, int count_bytes, const int32_t *points,
                        const int64_t *base, const int64_t *row_index, const int64_t *row_ids,
                        int64_t *out_id, int8_t *out_old, int8_t *out_new, int64_t *out_score) {
    iom_begin(s);
    iom_rescore_job mine = {s->noms, {s->thresholds[0], s->thresholds[1], s->thresholds[2]},
                            0, n_rows, indptr, kinds, counts, count_bytes, points, base,
                            row_index, row_ids, out_id, out_score, out_old, out_new, 0};
    if (n_rows < s->parallel_min || n_rows < 2) {
        iom_rescore_part(&mine);
        return mine.moved;
    }
    /* two parts of about half the entries each; the second writes its moved
     * nominals from row `split` on, and they are moved down after it */
    int64_t half = indptr[n_rows] / 2, lo = 0, hi = n_rows;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (indptr[mid + 1] < half) lo = mid + 1;
        else hi = mid;
    }
    int64_t split = lo;
    iom_rescore_job theirs = mine;
    mine.row_hi = split;
    theirs.row_lo = split;
    theirs.out_id += split;
    theirs.out_score += split;
    theirs.out_old += split;
    theirs.out_new += split;
    iom_helper helper;
    iom_helper_start(&helper, iom_rescore_part, &theirs);
    iom_rescore_part(&mine);
    iom_helper_finish(&helper);
    int64_t m = mine.moved, k = theirs.moved;
    memmove(out_id + m, out_id + split, (size_t)k * sizeof(int64_t));
    memmove(out_score + m, out_score + split, (size_t)k * sizeof(int64_t));
    memmove(out_old + m, out_old + split, (size_t)k);
    memmove(out_new + m, out_new + split, (size_t)k);
    return m + k;
}

static inline uint8_t iom_band_flag(int64_t old, int64_t new, const int64_t *thresholds) {
    int old_band = iom_band(old, thresholds), new_band = iom_band(new, thresholds);
    return old_band == new_band ? 0 : (uint8_t)(IOM_BAND_MOVED | old_band << 2 | new_band);
}

int64_t iom_crossed_count(const iom_store *s) { return s->n_crossed; }

int64_t iom_crossed_moved(const iom_store *s, int32_t *out_index, uint8_t *out_flag) {
    int64_t found = 0;
    for (int64_t j = 0; j < s->n_crossed; j++) {
        /* A few nominals after a day; after a reweight, up to every one. */
        if (j + IOM_AHEAD_FAR < s->n_crossed) IOM_PREFETCH(&s->noms[s->crossed[j + IOM_AHEAD_FAR]]);
        int32_t i = s->crossed[j];
        uint8_t flag = iom_band_flag(s->crossed_old[j], s->noms[i].score, s->thresholds);
        if (flag) {
            out_index[found] = i;
            out_flag[found] = flag;
            found++;
        }
    }
    return found;
}

int iom_band_walk(const iom_store *s, const int64_t *by_id, const uint8_t *flags,
                  int64_t *out_id, uint8_t *out_flag, int64_t *out_score) {
    int64_t n = s->n_nom, found = 0;
    /* Dense id and score columns: the walk's random reads then touch 16 bytes
     * a nominal that mostly stay in cache (the scores live in the records, so
     * they are copied out first). */
    const int64_t *ids = s->nom_id;
    int64_t *scores = malloc((size_t)(n ? n : 1) * sizeof(int64_t));
    if (scores == NULL) return IOM_ENOMEM;
    for (int64_t i = 0; i < n; i++) scores[i] = s->noms[i].score;
    for (int64_t k = 0; k < n; k++) {
        int64_t i = by_id[k];
        if (!flags[i]) continue;
        out_id[found] = ids[i];
        out_flag[found] = flags[i];
        out_score[found] = scores[i];
        found++;
    }
    free(scores);
    return IOM_OK;
}
