/* iom_bands: band changes, and rescoring (see iom_bands.h and iom_store.h). */
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

static inline uint8_t iom_band_flag(int64_t old, int64_t new, const int64_t *thresholds) {
    int old_band = iom_band(old, thresholds), new_band = iom_band(new, thresholds);
    return old_band == new_band ? 0 : (uint8_t)(IOM_BAND_MOVED | old_band << 2 | new_band);
}

int64_t iom_band_flags(const iom_store *s, const int64_t *scores, uint8_t *flags) {
    int64_t found = 0;
    for (int64_t i = 0; i < s->n_nom; i++) {
        flags[i] = iom_band_flag(s->noms[i].score, scores[i], s->thresholds);
        found += flags[i] != 0;
    }
    return found;
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
                  const int64_t *new_scores, int64_t *out_id, uint8_t *out_flag,
                  int64_t *out_score) {
    int64_t n = s->n_nom, found = 0;
    /* Dense id and score columns: the walk's random reads then touch 16 bytes
     * a nominal that mostly stay in cache. The current scores live in the
     * records, so they are copied out; new scores are dense already. */
    const int64_t *ids = s->nom_id;
    const int64_t *scores = new_scores;
    int64_t *copy = NULL;
    if (scores == NULL) {
        copy = malloc((size_t)(n ? n : 1) * sizeof(int64_t));
        if (copy == NULL) return IOM_ENOMEM;
        for (int64_t i = 0; i < n; i++) copy[i] = s->noms[i].score;
        scores = copy;
    }
    for (int64_t k = 0; k < n; k++) {
        int64_t i = by_id[k];
        if (!flags[i]) continue;
        out_id[found] = ids[i];
        out_flag[found] = flags[i];
        out_score[found] = scores[i];
        found++;
    }
    free(copy);
    return IOM_OK;
}

void iom_set_all_scores(iom_store *s, const int64_t *scores) {
    for (int64_t i = 0; i < s->n_nom; i++) s->noms[i].score = scores[i];
}
