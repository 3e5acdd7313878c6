/*
 * iom_bands: a nominal's record, its band, and the list of nominals whose
 * band an operation may have changed.
 *
 * Every score change that crosses a threshold puts its nominal on the
 * operation's crossed list, once, with its score before that first crossing:
 * until then its band was the one it started the operation with, and a
 * nominal that never crosses ends in that band too. An operation's band
 * changes are the listed nominals whose band differs at its end, found
 * without a record of every nominal it touched nor a second pass over them.
 *
 * The report functions and the partial rescore (iom_bands.c) are declared
 * in iom_store.h; these inline pieces are shared by every unit that changes
 * scores.
 */
#ifndef IOM_BANDS_H
#define IOM_BANDS_H

#include "iom_base.h"

/* What every event of a nominal updates, in 16 bytes: four records to a cache
 * line and none across two. The nominal's id, which only lookups and reports
 * read, lives in a column of its own. */
typedef struct {
    int64_t score; /* points of the live events */
    int32_t live;  /* live events */
    int32_t stamp; /* epoch of the last operation that put it on the crossed list */
} iom_nominal;

/* Where an operation lists the nominals that crossed a threshold: the store's
 * crossed list, or the part of it a helper thread fills. */
typedef struct {
    int32_t *index;
    int64_t *old;
    int64_t n;
} iom_crossings;

/* A score's band: 0-3, by how many of the three ascending thresholds it reaches. */
static inline int iom_band(int64_t score, const int64_t *thresholds) {
    return (score >= thresholds[0]) + (score >= thresholds[1]) + (score >= thresholds[2]);
}

static inline void iom_list_crossing(iom_crossings *list, int32_t epoch, iom_nominal *nom,
                                     int32_t index, int64_t old) {
    if (nom->stamp == epoch) return; /* listed already in this operation */
    nom->stamp = epoch;
    list->index[list->n] = index;
    list->old[list->n] = old;
    list->n++;
}

/* Add delta points to a nominal's score, listing it if its band changes.
 * Points are capped at 100,000 and a store holds under 2**28 events, so a
 * score stays below 2**45: overflow cannot happen. It is checked anyway, so
 * that a future change of those limits fails loudly instead of wrapping. */
static inline int iom_add_points(iom_crossings *list, const int64_t *thresholds, int32_t epoch,
                                 iom_nominal *nom, int32_t index, int64_t delta) {
    int64_t old = nom->score, out;
    if (__builtin_add_overflow(old, delta, &out)) return IOM_EOVERFLOW;
    nom->score = out;
    if (iom_band(old, thresholds) != iom_band(out, thresholds))
        iom_list_crossing(list, epoch, nom, index, old);
    return IOM_OK;
}

#endif
