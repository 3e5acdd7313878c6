/*
 * iom_store: the sliding event buffers of iomscore, in plain C (no Python.h).
 *
 * The store holds every event inside the scoring window and keeps each
 * nominal's score current as events arrive, are retracted and expire. The
 * Cython module src/iomscore/_core.pyx wraps it; all validation happens
 * before a call reaches this file, so these functions fail only when memory
 * runs out (IOM_ENOMEM), the store is full (IOM_ETOOMANY), or on a score
 * overflow that the limits rule out (IOM_EOVERFLOW). Ingest and advance
 * allocate everything they need before their first change.
 *
 * Layout (memory per buffered event):
 *   slot arrays   event id (8) + nominal index (4) + kind (2) + day (2) = 16 bytes
 *   day arrays    the slot, in its day's array (4)                       = 4 bytes
 *   id pages      slot + 1 (4) per id of a page (8 at one id in two)
 *   id index      64-byte chunks of 12 entries, load 0.53..0.8 = 6.7..10 bytes,
 *                 for the ids with no page
 * and per nominal: its record (16), its id (8), room on the crossed list (12),
 * and 16-32 bytes of nominal map for a narrow id, 32-64 for a wide one (see
 * iom_nmap: the load runs from 1/2 down to 1/4).
 * Arrays of 8 MiB and more ask the kernel for transparent huge pages: the id
 * index is probed at random, and 2 MiB pages spare most TLB misses.
 *
 * Sources number events in sequence, so most ids live in the id pages, a
 * direct map (see iom_pages below); the others go to the hashed index, which
 * hashes groups of eight consecutive ids to one chunk (see iom_store.c), so a
 * run of ids costs a cache miss per group there, not per id.
 *
 * Days are stored modulo 2**16: a buffered event lies in (start, as_of] and
 * a window spans fewer than 65,536 days, so the full day number is the one
 * day in that range with the stored residue.
 *
 * Expiry reads one array of slots per day, kept in a ring of power-of-two
 * size larger than the window: advancing one day reads only that day's
 * array, and freed slots go on a stack (an array too) that inserts pop. Both
 * are read in order, so the slots they name are known rows ahead and their
 * reads can be prefetched; linked lists through the slots (the first
 * design) made a walk of dependent reads, which at 200M events missed the
 * cache at every step. Retraction marks the slot dead in place (its day's
 * array keeps it until the day expires or a compaction runs), so both cost
 * O(1) per event.
 *
 * Two threads: a step with parallel_min rows or more (classify, the inserts
 * of a batch, the expiry of one day, a partial rescore's entries) splits its
 * random reads with a helper thread (iom_helper.h: one thread for the whole
 * process, kept awake between steps), and waits for it before it returns.
 * The two never write the same memory: classify only reads, so its rows go
 * to whichever thread is free, in blocks; for inserts and expiry the helper
 * owns the id pages and index and this thread the slots and day arrays, and
 * each takes the records of its share of the nominals (by the low bits of
 * the index: a nominal's events lie anywhere in a batch or a day); a partial
 * rescore gives each thread half of the nominals. Each works in row order,
 * so the store ends as one thread would leave it, but for the order of the
 * crossed list (this thread's nominals first), which no result depends on:
 * band changes are reported in nominal-id order.
 *
 * Band changes: every score change that crosses a threshold puts its nominal
 * on the crossed list (once an operation, with its score before the first
 * crossing); an operation's band changes are the nominals of that list whose
 * band differs at its end. A nominal that never crosses keeps its band.
 */
#ifndef IOM_STORE_H
#define IOM_STORE_H

#include <stdint.h>

#define IOM_OK 0
#define IOM_ENOMEM (-1)
#define IOM_EOVERFLOW (-2)
#define IOM_ETOOMANY (-3)

/* A kind value that marks a slot not holding a live event. */
#define IOM_DEAD_KIND 0xFFFFu
/* Slots are numbered below 2**28 (a limit with room to spare in the int32 slot arrays). */
#define IOM_MAX_SLOTS ((int64_t)0x0FFFFFFE)

/* Ingest actions per row, decided by the caller after iom_classify(). */
#define IOM_ACT_SKIP 0
#define IOM_ACT_INSERT 1
#define IOM_ACT_RETRACT 2
#define IOM_ACT_REPLACE 3

/* iom_classify() results. */
#define IOM_NEW 0
#define IOM_SAME 1
#define IOM_CONFLICT 2

/* The event-id index: chunks of IOM_CHUNK_SLOTS entries, one cache line each.
 * An entry is a tag byte (0: free) and a slot word: the slot in its low 28
 * bits, four more bits of the hash above (see iom_check); the key itself is
 * read from ev_id[slot]. Collisions walk on to the next chunks (linear probing by
 * chunk); a chunk counts, in four lanes by two bits of the hash, the entries
 * that passed it, full, on their way from an earlier home, so a lookup stops
 * at the first chunk with none in its lane, and a delete empties its entry
 * outright (no tombstones). A key above key_max is not held, so it is known
 * new without a lookup: sources number events in sequence, and a day's new
 * events come above every id held (see iom_index_find). */
#define IOM_CHUNK_SLOTS 12
typedef struct {
    uint8_t tag[IOM_CHUNK_SLOTS];
    uint8_t overflow[4]; /* by lane: see iom_lane */
    uint32_t slot[IOM_CHUNK_SLOTS];
} iom_chunk;

typedef struct {
    iom_chunk *chunks; /* aligned to a cache line, inside raw */
    void *raw;         /* what to free */
    int64_t n_chunks;  /* any number from 2: homes are scaled, not masked */
    int64_t count;     /* live entries */
    int64_t key_max;   /* no key above it was put since the last rebuild (INT64_MIN: none) */
} iom_index;

/* The id pages: a direct map from id to slot, for ids numbered in sequence.
 * A page holds the slots of IOM_PAGE_IDS consecutive ids (slot + 1 each, 0 for
 * an id not held: 16 KiB), and a table indexed by page number modulo its
 * power-of-two size finds a page. A day's new ids, and the ids of the day
 * that expires, then cost a sequential write each instead of a walk of the
 * hashed index. Pages are made (iom_apply, before any change) only where a
 * batch's ids are dense, growing the run of pages at either end, so sparse
 * or scattered ids cannot spend memory here; every id without a page goes to
 * the hashed index, which also keeps any id put there before its page was
 * made. An id is held in one of the two, never both. A page is freed once it
 * is empty and at either end of the run (see iom_pages_trim). */
#define IOM_PAGE_BITS 12
#define IOM_PAGE_IDS ((int64_t)1 << IOM_PAGE_BITS)
/* Freed pages kept for reuse: a day frees a few at the bottom and makes a
 * few at the top, and a reused page (zero already: it was freed empty) costs
 * no allocation and no first-touch faults. */
#define IOM_PAGE_SPARE 64
typedef struct {
    uint32_t *slot; /* IOM_PAGE_IDS entries of slot + 1 (0: not held), or NULL: no page */
    int64_t number; /* id >> IOM_PAGE_BITS for each of the page's ids */
    int64_t live;   /* entries held */
} iom_page;

typedef struct {
    iom_page *table; /* by page number & mask; pages lo..hi fit without collision */
    int64_t mask;
    int64_t n_pages; /* pages allocated */
    int64_t count;   /* entries held, in all pages */
    int64_t lo, hi;  /* the lowest and highest page numbers allocated (n_pages > 0) */
    uint32_t *spare[IOM_PAGE_SPARE]; /* freed pages (all zero) kept for the next ones made */
    int64_t n_spare;
} iom_pages;

/* The nominal-id map: two tables of cache lines, each line a few keys and
 * their indices. A key's home is a line, and it sits in the first free entry
 * from its home on (lines fill from the front, so a lookup that misses in a
 * line with a free entry is done). A lookup compares a line's keys at once,
 * without a branch on which matched: with one key a bucket and linear probing
 * (the first design), a third of the keys sat past their home bucket, and
 * each of those lookups mispredicted a branch that waited on a cache miss.
 * Nominals are never removed, so neither table needs tombstones.
 *
 * Ids below 2**32 - 1 (a force's person numbers, the synthetic cohort's
 * 7-9 digit ids) go to the narrow table, eight 32-bit keys to a line; all
 * others to the wide one, four 64-bit keys to a line. At a national cohort
 * (1,000,000 nominals, load 1/2) the narrow table is 16 MiB against 32 for
 * the wide, and a day's lookups of arriving events' nominals, one random read
 * each, hit the 32 MiB L3 more often: 283-318 us against 416-485 for 27,000
 * lookups on two threads (bench/day_floor.c times both tables in one run). */
#define IOM_NLINE_KEYS 4
typedef struct {
    int64_t key[IOM_NLINE_KEYS];   /* nominal_id, or -1 for a free entry */
    int64_t index[IOM_NLINE_KEYS]; /* into noms */
} iom_nline;

#define IOM_NARROW_KEYS 8
#define IOM_NARROW_FREE 0xFFFFFFFFu /* a free entry; so that id is a wide key */
typedef struct {
    uint32_t key[IOM_NARROW_KEYS];  /* nominal_id, or IOM_NARROW_FREE */
    int32_t index[IOM_NARROW_KEYS]; /* into noms */
} iom_nline32;

/* One table's lines (iom_nline or iom_nline32). */
typedef struct {
    void *lines;   /* aligned to a cache line, inside raw */
    void *raw;     /* what to free */
    int64_t mask;  /* lines - 1 */
    int64_t count; /* keys held */
} iom_ntable;

typedef struct {
    iom_ntable narrow; /* ids in [0, 2**32 - 1) */
    iom_ntable wide;   /* every other id >= 0 */
} iom_nmap;

/* The slots of one day's events, in the order they came. */
typedef struct {
    int32_t *slots; /* cap entries, len used (NULL while cap is 0) */
    int32_t len;
    int32_t cap;
} iom_day;

/* What every event of a nominal updates, in 16 bytes: four records to a cache
 * line and none across two (24-byte records with the id crossed a line one
 * time in four, two misses for one read). The id, which only lookups and
 * reports read, lives in its own column. */
typedef struct {
    int64_t score; /* points of the live events */
    int32_t live;  /* live events */
    int32_t stamp; /* epoch of the last operation that put it on the crossed list */
} iom_nominal;

typedef struct {
    /* events, by slot */
    int64_t *ev_id;
    int32_t *ev_nom;
    uint16_t *ev_kind;
    uint16_t *ev_day;
    int64_t slot_cap;
    int64_t slot_top;   /* slots ever handed out: [0, slot_top) */
    int32_t *free_slots; /* freed slots below slot_top, a stack: inserts pop the last */
    int64_t n_free;
    int64_t free_cap;
    int64_t live_events;
    int64_t dead_events; /* retracted, still in their day's array */
    iom_index ev_index;
    iom_pages ev_pages;
    int use_pages; /* make new pages (1, the default) or not (a test checks both) */

    /* day arrays, by day number & ring_mask */
    iom_day *days;
    iom_day spare; /* an expired day's array (len 0) kept for the next day to reuse */
    int64_t ring_mask;
    int64_t as_of;  /* day number D */
    int64_t start;  /* exclusive lower bound of the window, day number */

    /* nominals, by index: one record each, so a nominal costs one cache line */
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
     * once, with its score before the first crossing (see iom_add_score) */
    int32_t *crossed;
    int64_t *crossed_old;
    int64_t crossed_cap;
    int64_t n_crossed;
    int32_t epoch;

    /* Steps of this many rows or more use the helper thread (see the top of
     * this file; IOM_PARALLEL_MIN unless a caller, say a test, sets it). */
    int64_t parallel_min;
    /* The partial rescore's inner loop: IOM_ADD_AVX512 where the CPU has it,
     * else IOM_ADD_PLAIN (a test sets either, to check both). */
    int add_kernel;
    /* working memory kept between operations (see iom_scratch) */
    void *scratch;
    int64_t scratch_bytes;
    /* For tests of the failure paths: adding the nominal that would get this
     * index fails as if memory ran out (-1, the default, never). */
    int64_t fail_at_nominal;
} iom_store;

/* Handing a part to the helper costs under 1 us while it is awake, and
 * 30-55 us to wake it (2-core VM measured); from about this many rows (at
 * 50-100 ns each) the split saves more than a wake costs. */
#define IOM_PARALLEL_MIN 8192

/* Lifecycle. ring_days must exceed the window's length in days; thresholds
 * are the three band thresholds in points, ascending. */
int iom_store_init(iom_store *s, int64_t ring_days, int64_t as_of, int64_t start,
                   const int64_t *points, int64_t n_kinds, const int64_t *thresholds);
void iom_store_free(iom_store *s);

/* Bytes held by every array of the store. */
int64_t iom_store_bytes(const iom_store *s);
int64_t iom_store_event_bytes(const iom_store *s);

/* Read-only lookups. */
int64_t iom_find_event(const iom_store *s, int64_t event_id);
int64_t iom_find_nominal(const iom_store *s, int64_t nominal_id);
int64_t iom_event_day(const iom_store *s, int64_t slot);
void iom_find_events(const iom_store *s, int64_t n, const int64_t *ids, int64_t *out_slot);
void iom_find_nominals(const iom_store *s, int64_t n, const int64_t *ids, int64_t *out_index);

/* For each row: IOM_NEW, IOM_SAME (live with identical content) or
 * IOM_CONFLICT (live with other content); and, if out_nom is not NULL, the
 * index of the row's nominal, or -1 for one not held (the lookups iom_apply
 * would make, here split over two threads). Changes nothing. A batch of
 * parallel_min rows or more is split with the helper thread, in blocks. */
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

/* Apply a validated batch. Rows to INSERT must lie in the window with ids not
 * held; rows to RETRACT or REPLACE must have ids held (REPLACE rows lie in the
 * window). `known` is NULL or iom_classify's out_nom for these rows on this
 * store, each -1 or below n_nom (its indices stay right: nominals are never
 * removed); the rows it has as -1 are looked up again. A batch inserting
 * parallel_min events or more is split with the helper thread (see the top
 * of this file). Makes the id pages the batch's ids justify first.
 * Starts a new crossed list. */
int iom_apply(iom_store *s, int64_t n, const int64_t *ids, const int64_t *nominal_ids,
              const uint16_t *kinds, const int32_t *days, const int8_t *action,
              const int32_t *known);

/* Retract live slots (distinct). Starts a new crossed list. */
int iom_retract(iom_store *s, int64_t n, const int64_t *slots);

/* Move the date forward; events dated on or before new_start leave the window.
 * A day of parallel_min events or more is split with the helper thread (its
 * id entries and a share of the nominals). Starts a new crossed list.
 * Returns the number expired in *expired. */
int iom_advance(iom_store *s, int64_t new_as_of, int64_t new_start, int64_t *expired);

/* Replace the points table (same number of kinds). Scores are not touched:
 * the caller sets them from the matrix kernels (iom_set_scores). */
void iom_set_points(iom_store *s, const int64_t *points);

/* Partial rescore: for each changed kind j, add delta[j] * count to the score
 * of every nominal in that column of the count matrix (CSC: col_ptr, rows,
 * counts, rows being nominal indices, strictly ascending within a column:
 * one entry per nominal). Costs O(entries in those columns); parallel_min
 * entries or more are split with the helper thread by halves of the nominals.
 * Starts a new crossed list. */
int iom_add_columns(iom_store *s, int64_t n_changed, const int64_t *changed,
                    const int64_t *delta, const int64_t *col_ptr, const int32_t *rows,
                    const int32_t *counts);

/* Inner loops of iom_add_columns: plain C, or eight entries at a time with
 * an AVX-512 gather and scatter of the scores. */
#define IOM_ADD_PLAIN 0
#define IOM_ADD_AVX512 1
/* Whether this build and CPU run that inner loop. */
int iom_add_kernel_supported(int kernel);

/* Start a new operation (an empty crossed list). */
void iom_begin(iom_store *s);

/* Band changes. A flag is IOM_BAND_MOVED | old band << 2 | new band for a
 * nominal whose band (0-3, by the store's three ascending thresholds, in
 * points) changes, else 0. */
#define IOM_BAND_MOVED 0x80

/* flags[i] for every nominal if its score became scores[i]; returns how many
 * move. One sequential pass; changes nothing. */
int64_t iom_band_flags(const iom_store *s, const int64_t *scores, uint8_t *flags);

/* The nominals whose band changed in the last operation (those of the crossed
 * list that did not cross back): their indices and flags, in the order they
 * first crossed. Returns how many. */
int64_t iom_crossed_moved(const iom_store *s, int32_t *out_index, uint8_t *out_flag);

/* The last operation's band changes in nominal-id order, for when few moved
 * (the crossed list is short): each moved nominal's id, old and new band
 * (0-3) and current score, sorted by id. The out_* arrays hold n_crossed
 * entries. Returns how many moved, or IOM_ENOMEM (its sort buffer). One call
 * instead of gathering and sorting in numpy: the two reports of a national
 * day (advance, ingest) took 61-76 and 36-48 us, against 115-155 and 79-104
 * us that way, most of it numpy's per-call cost with cold caches. */
int64_t iom_crossed_report(const iom_store *s, int64_t *out_id, int8_t *out_old, int8_t *out_new,
                           int64_t *out_score);

/* Walk every nominal index in by_id order (say, by nominal id) and write
 * each flagged one's id, flag and score (new_scores[i], or the current score
 * if new_scores is NULL) to out_*. Returns IOM_OK or IOM_ENOMEM (without
 * new_scores it borrows an n-length column for the current scores while it
 * runs). Changes nothing. */
int iom_band_walk(const iom_store *s, const int64_t *by_id, const uint8_t *flags,
                  const int64_t *new_scores, int64_t *out_id, uint8_t *out_flag,
                  int64_t *out_score);

/* Overwrite every nominal's score (after a full rescore). */
void iom_set_all_scores(iom_store *s, const int64_t *scores);

/* Ensure room for `extra` more live events without reallocating during apply. */
int iom_reserve_events(iom_store *s, int64_t extra);

/* Move dead slots from the day arrays to the free stack: O(events held).
 * Does nothing if the stack cannot grow (memory): it only frees room. */
void iom_compact(iom_store *s);

#endif
