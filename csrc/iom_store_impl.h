/*
 * The event store's own layout, for the units that compose it (iom_store.c,
 * iom_days.c, iom_bands.c). Everything else, Cython included, sees only the
 * opaque iom_store of iom_store.h.
 *
 * Memory per buffered event:
 *   slot arrays   event id (8) + nominal index (4) + kind (2) + day (2) = 16 bytes
 *   day arrays    the slot, in its day's array (4)                       = 4 bytes
 *   id pages      slot + 1 (4) per id of a page (8 at one id in two)
 *   id index      64-byte chunks of 12 entries, load 0.53..0.8 = 6.7..10 bytes,
 *                 for the ids with no page
 * and per nominal: its record (16), its id (8), room on the crossed list
 * (12), and 32-64 bytes of nominal map.
 *
 * Days are stored modulo 2**16: a buffered event lies in (start, as_of] and
 * a window spans fewer than 65,536 days, so the full day number is the one
 * day in that range with the stored residue.
 *
 * Two threads: a step with parallel_min rows or more (classify, the inserts
 * of a batch, the expiry of one day) splits its random reads with the helper
 * thread (iom_helper.h), and waits for it before
 * it returns. The two never write the same memory: classify only reads, so
 * its rows go to whichever thread is free, in blocks; for inserts and expiry
 * the helper owns the id pages and index and this thread the slots and day
 * arrays, and each takes the records of its share of the nominals (by the
 * low bits of the index: a nominal's events lie anywhere in a batch or a
 * day). Each works
 * in row order, so the store ends as one thread would leave it, but for the
 * order of the crossed list (this thread's nominals first), which no result
 * depends on: band changes are reported in nominal-id order.
 */
#ifndef IOM_STORE_IMPL_H
#define IOM_STORE_IMPL_H

#include "iom_bands.h"
#include "iom_days.h"
#include "iom_helper.h"
#include "iom_index.h"
#include "iom_nmap.h"
#include "iom_store.h"

struct iom_store {
    /* events, by slot */
    int64_t *ev_id;
    int32_t *ev_nom;
    uint16_t *ev_kind;
    uint16_t *ev_day;
    int64_t slot_cap;
    int64_t slot_top;    /* slots ever handed out: [0, slot_top) */
    int32_t *free_slots; /* freed slots below slot_top, a stack: inserts pop the last */
    int64_t n_free;
    int64_t free_cap;
    int64_t live_events;
    int64_t dead_events; /* retracted, still in their day's array */
    iom_index ev_index;
    iom_pages ev_pages;
    int use_pages; /* make new pages (1, the default) or not (a test of the index) */

    /* day arrays, by day number & ring_mask */
    iom_day *days;
    iom_day spare; /* an expired day's array (len 0) kept for the next day to reuse */
    int64_t ring_mask;
    int64_t as_of; /* day number D */
    int64_t start; /* exclusive lower bound of the window, day number */

    /* nominals, by index */
    iom_nominal *noms;
    int64_t *nom_id; /* the caller's nominal_id, by index */
    int64_t nom_cap;
    int64_t n_nom;
    iom_nmap nom_map;

    /* points by kind */
    int64_t *points;
    int64_t n_kinds;

    /* band thresholds (points, ascending): a score reaching k of them is in band k */
    int64_t thresholds[3];

    /* nominals whose score crossed a threshold in the current operation, each
     * once, with its score before the first crossing (see iom_bands.h) */
    int32_t *crossed;
    int64_t *crossed_old;
    int64_t n_crossed;
    int32_t epoch;

    /* Steps of this many rows or more use the helper thread: IOM_PARALLEL_MIN
     * with two threads, never with one (iom_store_set_threads). */
    int64_t parallel_min;
    /* working memory kept between operations (see iom_scratch) */
    void *scratch;
    int64_t scratch_bytes;
    /* For tests of the failure paths: adding the nominal that would get this
     * index fails as if memory ran out (-1, the default, never). */
    int64_t fail_at_nominal;
};

/* Handing a part to the helper costs a wake of a sleeping thread; from about
 * this many rows the split saves more than that. */
#define IOM_PARALLEL_MIN 8192

/* Working memory of an operation (apply, advance), kept between calls up to
 * a few MiB so a day's step faults in no fresh pages; a larger request (a
 * bulk load) gets a block of its own. Release with iom_scratch_done. */
void *iom_scratch(iom_store *s, size_t bytes);
void iom_scratch_done(iom_store *s, void *p);

/* The store's crossed list, to add to (write its n back after). */
static inline iom_crossings iom_store_crossings(const iom_store *s) {
    iom_crossings list = {s->crossed, s->crossed_old, s->n_crossed};
    return list;
}

static inline int iom_add_score(iom_store *s, iom_nominal *nom, int32_t index, int64_t delta) {
    iom_crossings list = iom_store_crossings(s);
    int rc = iom_add_points(&list, s->thresholds, s->epoch, nom, index, delta);
    s->n_crossed = list.n;
    return rc;
}

/* Append crossings a helper listed to the store's list: the two threads
 * list disjoint nominals, each once. */
void iom_append_crossings(iom_store *s, const iom_crossings *list);

/* A thread's share of a step's records: what iom_records_run needs, and its
 * crossings and result. */
typedef struct {
    iom_nominal *noms;
    const int64_t *points;
    int64_t thresholds[3];
    int32_t epoch;
    iom_crossings list; /* the store's list, or the helper's own (appended after) */
    int32_t *own;       /* room for the thread's rows or slots */
    int rc;
} iom_records_job;

iom_records_job iom_records_for(const iom_store *s, iom_crossings list, int32_t *own);

/* For each x of r->own[0..m) (a row of a batch or a slot of an expiring day),
 * count the event in (sign +1) or out (-1) of the record of nominal
 * nom_of[x], adding sign * points[kind_of[x]] to its score. */
void iom_records_run(iom_records_job *r, int64_t m, const int32_t *nom_of,
                     const uint16_t *kind_of, int sign);

/* Whose are a nominal's records in a step on two threads: the helper's for
 * the indices whose low three bits are below the step's share (in eighths),
 * else this thread's. Each thread first lists its own rows, because testing
 * the owner row by row in one loop mispredicts a branch on half the rows. */
static inline int32_t iom_helpers(int32_t index, int eighths) { return (index & 7) < eighths; }

/* The helper's share of a step's nominals, in eighths, evening out the
 * threads' other work: a batch's helper also does the id puts, while this
 * thread plans and fills the slots; an expiring day's helper also reads the
 * day and deletes its ids (bench/README.md, "Kept fast paths"). */
#define IOM_APPLY_HELPER_EIGHTHS 5
#define IOM_EXPIRE_HELPER_EIGHTHS 2

/* Add the counts a helper kept in its copies of the index and the pages to
 * the store's. */
void iom_index_add_counts(iom_store *s, const iom_index *copy, const iom_pages *pages);

#endif
