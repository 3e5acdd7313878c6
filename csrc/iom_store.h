/*
 * iom_store: the sliding event buffers of iomscore, in plain C (no Python.h).
 *
 * The store holds every event inside the scoring window and keeps each
 * nominal's score current as events arrive, are retracted and expire. It is
 * composed of units, each with its header: the event-id index (iom_index.h),
 * the nominal map (iom_nmap.h), the day arrays and expiry (iom_days.h), the
 * records and band changes (iom_bands.h), and the helper thread
 * (iom_helper.h); its layout is private to them (iom_store_impl.h).
 *
 * The Cython module src/iomscore/_core.pyx wraps it; all validation happens
 * before a call reaches this file, so these functions fail only when memory
 * runs out (IOM_ENOMEM), the store is full (IOM_ETOOMANY), or on a score
 * overflow that the limits rule out (IOM_EOVERFLOW). Ingest and advance
 * allocate everything they need before their first change.
 */
#ifndef IOM_STORE_H
#define IOM_STORE_H

#include "iom_base.h"

typedef struct iom_store iom_store;

/* A nominal's record is 16 bytes (iom_bands.h): its score (int64) at offset
 * 0 and its live events (int32) at offset 8, for strided views of them. */
#define IOM_RECORD_BYTES 16

/* iom_classify() results. */
#define IOM_NEW 0
#define IOM_SAME 1
#define IOM_CONFLICT 2

/* ---- lifecycle ---------------------------------------------------------- */

/* A new store, or NULL when memory runs out. ring_days must exceed the
 * window's length in days; as_of and start are day numbers (D and the
 * window's exclusive lower bound); thresholds are the three band thresholds
 * in points, ascending. */
iom_store *iom_store_new(int64_t ring_days, int64_t as_of, int64_t start, const int64_t *points,
                         int64_t n_kinds, const int64_t *thresholds);
void iom_store_free(iom_store *s);

/* Threads a step may use: 1 (never the helper) or 2 (the default). */
void iom_store_set_threads(iom_store *s, int threads);

/* ---- state -------------------------------------------------------------- */

typedef struct {
    int64_t as_of, start;   /* day numbers */
    int64_t n_nominals;     /* nominals ever seen */
    int64_t live_events;    /* events in the window */
    int64_t dead_events;    /* retracted, their slots still in their day's array */
    int64_t free_slots;     /* on the free stack */
    int64_t slot_top;       /* slots ever handed out */
    int64_t n_kinds;
    int64_t thresholds[3];
    int64_t index_entries;  /* entries of the hashed index and the id pages */
    int64_t paged_entries;  /* of which in the id pages */
    int64_t id_pages;       /* pages allocated */
    int64_t spare_pages;    /* freed pages kept for reuse */
    int64_t index_chunks;   /* chunks of the hashed index */
    int64_t parallel_min;   /* rows from which a step uses the helper */
} iom_stats;

void iom_store_stats(const iom_store *s, iom_stats *out);

/* Bytes held: by the per-event arrays, index, pages and day arrays, and by every
 * array of the store. A walk of the day ring: kept out of iom_store_stats, which
 * one-nominal reads call. */
void iom_store_memory(const iom_store *s, int64_t *event_bytes, int64_t *total_bytes);

/* Arrays the store keeps, valid until its next change: nominal ids and the
 * records (scores and live counts, IOM_RECORD_BYTES apart) by nominal index
 * (n_nominals); points by kind (n_kinds); event ids, nominal indices and kinds
 * by slot (slot_top; kind IOM_DEAD_KIND for a slot without a live event). */
const int64_t *iom_store_nominal_ids(const iom_store *s);
const void *iom_store_records(const iom_store *s);
const int64_t *iom_store_points(const iom_store *s);
const int64_t *iom_store_event_ids(const iom_store *s);
const int32_t *iom_store_event_nominals(const iom_store *s);
const uint16_t *iom_store_event_kinds(const iom_store *s);
/* Days by slot, modulo 2**16: a live event's day is the one day of the window
 * (start, as_of] with that residue. */
const uint16_t *iom_store_event_days(const iom_store *s);

/* ---- lookups ------------------------------------------------------------ */

void iom_find_events(const iom_store *s, int64_t n, const int64_t *ids, int64_t *out_slot);
void iom_find_nominals(const iom_store *s, int64_t n, const int64_t *ids, int64_t *out_index);

/* For each row: IOM_NEW, IOM_SAME (live with identical content) or
 * IOM_CONFLICT (live with other content); and, if out_nom is not NULL, the
 * index of the row's nominal, or -1 for one not held (the lookups iom_apply
 * would make, here split over two threads). Changes nothing. */
void iom_classify(const iom_store *s, int64_t n, const int64_t *ids, const int64_t *nominal_ids,
                  const uint16_t *kinds, const int32_t *days, int8_t *out_status,
                  int32_t *out_nom);

/* What a classified batch would do, row by row, and its counts. */
typedef struct {
    int64_t first_after;    /* the first row dated after as_of, or -1 */
    int64_t first_conflict; /* the first IOM_CONFLICT row, or -1 */
    int64_t taken;          /* rows inserted (IOM_ACT_INSERT or IOM_ACT_REPLACE) */
    int64_t expired;        /* rows dated on or before the window's start */
    int64_t duplicates;     /* IOM_SAME rows */
    int64_t conflicts;      /* IOM_CONFLICT rows */
    int64_t future;         /* rows dated after as_of */
} iom_plan;

/* The ingest action of each classified row, for iom_apply: a new event dated
 * inside the window is inserted; an event held with other content is replaced
 * when the row lies inside the window, else withdrawn; every other row is
 * left out. One pass; changes nothing. The caller refuses the batch when a
 * conflict or a date after as_of is an error for it. */
void iom_plan_actions(const iom_store *s, int64_t n, const int8_t *status, const int32_t *days,
                      int8_t *out_action, iom_plan *out);

/* ---- changes (each starts a new crossed list) ---------------------------- */

/* Apply a planned batch. Rows to INSERT must lie in the window with ids not
 * held; rows to RETRACT or REPLACE must have ids held (REPLACE rows lie in the
 * window). `known` is NULL or iom_classify's out_nom for these rows on this
 * store, each -1 or below n_nominals; the rows it has as -1 are looked up
 * again. */
int iom_apply(iom_store *s, int64_t n, const int64_t *ids, const int64_t *nominal_ids,
              const uint16_t *kinds, const int32_t *days, const int8_t *action,
              const int32_t *known);

/* Add nominals with no events, in order, each new one at the next index (an id
 * held already keeps its index): a restored store gets the indices it had. */
int iom_add_nominals(iom_store *s, int64_t n, const int64_t *nominal_ids);

/* Retract live slots (distinct). */
int iom_retract(iom_store *s, int64_t n, const int64_t *slots);

/* Where iom_advance copies the events that leave the window, for the
 * engine's archive: room for `cap` events (iom_leaving_bound), and `n` written.
 * Each event's id, nominal index, kind and full day number; in day order but
 * for a jump of a whole ring or more, whose days come in ring order. */
typedef struct {
    int64_t *id;
    int32_t *nom;
    uint16_t *kind;
    int32_t *day;
    int64_t cap;
    int64_t n;
} iom_leaving;

/* Room enough for the events leaving the window when it moves to new_start:
 * the slots of the days that expire, live or retracted. */
int64_t iom_leaving_bound(const iom_store *s, int64_t new_start);

/* Move the date forward; events dated on or before new_start leave the window.
 * Returns the number expired in *expired, and copies them to *out if it is not
 * NULL (with room for iom_leaving_bound). */
int iom_advance(iom_store *s, int64_t new_as_of, int64_t new_start, int64_t *expired,
                iom_leaving *out);

/* Start a new operation (an empty crossed list). */
void iom_begin(iom_store *s);

/* ---- points and scores (iom_bands.c) ------------------------------------ */

/* Replace the points table (same number of kinds). Scores are not touched:
 * the caller rescores (iom_add_columns or iom_rescore_all). */
void iom_set_points(iom_store *s, const int64_t *points);

/* Partial rescore: for each changed kind j, add delta[j] * count to the score
 * of every nominal in that column of the count matrix (CSC: col_ptr, rows,
 * counts, rows being nominal indices, strictly ascending within a column).
 * Costs O(entries in those columns), on the calling thread. */
int iom_add_columns(iom_store *s, int64_t n_changed, const int64_t *changed,
                    const int64_t *delta, const int64_t *col_ptr, const int32_t *rows,
                    const int32_t *counts);

/* Add delta[i] points to the score of nominal index[i] (distinct indices), for
 * points that are not the events' (a nominal's counting assessments), listing
 * band crossings. With begin, a new operation; else the changes join the
 * running one's crossed list (an advance: events and assessments expire in
 * one step, with one report). Overflow is checked; on IOM_EOVERFLOW the
 * scores before index i have changed, so callers check sums first. */
int iom_add_scores(iom_store *s, int64_t n, const int32_t *index, const int64_t *delta,
                   int begin);

/* Full rescore: every nominal's score from the count matrix (CSR: indptr,
 * kinds, counts of count_bytes 2 or 4) under points (int32, an entry for every
 * kind) plus base[nominal index] (the points of its assessments; NULL: none),
 * written to the store, and the band changes in the matrix's row order.
 * Row r is the nominal of index row_index[r] and id row_ids[r]; every nominal
 * has one row. Each moved nominal's id, old and new band (0-3) and new score
 * go to out_* (room for n_rows each). Returns how many moved. Rows from
 * parallel_min on are split in two parts of about half the entries, one on
 * the helper thread. Starts a new crossed list. */
int64_t iom_rescore_all(iom_store *s, int64_t n_rows, const int64_t *indptr, const uint16_t *kinds,
                        const void *counts, int count_bytes, const int32_t *points,
                        const int64_t *base, const int64_t *row_index, const int64_t *row_ids,
                        int64_t *out_id, int8_t *out_old, int8_t *out_new, int64_t *out_score);

/* ---- band changes (iom_bands.c) ----------------------------------------- */

/* A flag is IOM_BAND_MOVED | old band << 2 | new band for a nominal whose
 * band (0-3) changes, else 0. */
#define IOM_BAND_MOVED 0x80

/* Nominals on the last operation's crossed list. */
int64_t iom_crossed_count(const iom_store *s);

/* The nominals whose band changed in the last operation (those of the crossed
 * list that did not cross back): their indices and flags. Returns how many. */
int64_t iom_crossed_moved(const iom_store *s, int32_t *out_index, uint8_t *out_flag);

/* Walk every nominal index in by_id order and write each flagged one's id,
 * flag and current score to out_*. Returns IOM_OK or IOM_ENOMEM. Changes
 * nothing. */
int iom_band_walk(const iom_store *s, const int64_t *by_id, const uint8_t *flags,
                  int64_t *out_id, uint8_t *out_flag, int64_t *out_score);

/* ---- for tests of the store's own units ---------------------------------- */

/* Steps of this many rows or more use the helper (with two threads). */
void iom_store_set_parallel_min(iom_store *s, int64_t rows);
/* Whether a batch may make new id pages (1, the default). */
void iom_store_set_use_pages(iom_store *s, int use);
/* Adding the nominal that would get this index fails as if memory ran out. */
void iom_store_fail_at_nominal(iom_store *s, int64_t index);
/* The hashed index's overflow counts, four per chunk (index_chunks * 4). */
void iom_store_index_lanes(const iom_store *s, uint8_t *out);

#endif
