/* iom_store: the store that composes the units (see iom_store.h and
 * iom_store_impl.h): lifecycle, lookups, classify and plan, apply and retract. */
#include "iom_store_impl.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* ---- memory ------------------------------------------------------------- */

#define IOM_SCRATCH_KEEP ((size_t)8 << 20)

void *iom_scratch(iom_store *s, size_t bytes) {
    if (bytes > IOM_SCRATCH_KEEP) return iom_alloc(bytes);
    if ((int64_t)bytes > s->scratch_bytes) {
        void *p = malloc(bytes);
        if (!p) return NULL;
        free(s->scratch);
        s->scratch = p;
        s->scratch_bytes = (int64_t)bytes;
    }
    return s->scratch;
}

void iom_scratch_done(iom_store *s, void *p) {
    if (p != s->scratch) free(p);
}

static int iom_reserve_slots(iom_store *s, int64_t extra) {
    int64_t need = s->slot_top + (extra > s->n_free ? extra - s->n_free : 0);
    if (need > IOM_MAX_SLOTS) return IOM_ETOOMANY;
    if (need <= s->slot_cap) return IOM_OK;
    int64_t cap = s->slot_cap + s->slot_cap / 2;
    /* Headroom of 1/32 past a big batch: a window that holds a steady number of
     * events then recycles its expired slots without growing (growing arrays
     * this size faults in every page again). */
    if (cap < need + need / 32) cap = need + need / 32;
    if (cap > IOM_MAX_SLOTS) cap = IOM_MAX_SLOTS;
    if (iom_grow((void **)&s->ev_id, cap, sizeof(int64_t)) ||
        iom_grow((void **)&s->ev_nom, cap, sizeof(int32_t)) ||
        iom_grow((void **)&s->ev_kind, cap, sizeof(uint16_t)) ||
        iom_grow((void **)&s->ev_day, cap, sizeof(uint16_t)))
        return IOM_ENOMEM;
    s->slot_cap = cap;
    return IOM_OK;
}

static int iom_reserve_nominals(iom_store *s, int64_t extra) {
    int64_t need = s->n_nom + extra;
    if (need > INT32_MAX) return IOM_ETOOMANY;
    if (need > s->nom_cap) {
        int64_t cap = s->nom_cap + s->nom_cap / 2;
        if (cap < need) cap = need;
        if (cap < 16) cap = 16;
        int64_t old = s->nom_cap;
        if (iom_grow_fresh((void **)&s->noms, old, cap, sizeof(iom_nominal)) ||
            iom_grow_fresh((void **)&s->nom_id, old, cap, sizeof(int64_t)) ||
            /* the crossed list of the running operation must survive growth */
            iom_grow_fresh((void **)&s->crossed, old, cap, sizeof(int32_t)) ||
            iom_grow_fresh((void **)&s->crossed_old, old, cap, sizeof(int64_t)))
            return IOM_ENOMEM;
        s->nom_cap = cap;
    }
    return IOM_OK;
}

/* ---- lifecycle ------------------------------------------------------------ */

iom_store *iom_store_new(int64_t ring_days, int64_t as_of, int64_t start, const int64_t *points,
                         int64_t n_kinds, const int64_t *thresholds) {
    iom_store *s = (iom_store *)calloc(1, sizeof(iom_store));
    if (!s) return NULL;
    memcpy(s->thresholds, thresholds, sizeof(s->thresholds));
    int64_t ring = 16;
    while (ring < ring_days) ring <<= 1;
    s->ring_mask = ring - 1;
    s->n_kinds = n_kinds;
    s->parallel_min = IOM_PARALLEL_MIN;
    s->fail_at_nominal = -1;
    s->use_pages = 1;
    s->as_of = as_of;
    s->start = start;
    s->days = (iom_day *)calloc((size_t)ring, sizeof(iom_day));
    s->points = (int64_t *)malloc((size_t)(n_kinds > 0 ? n_kinds : 1) * sizeof(int64_t));
    if (!s->days || !s->points || iom_index_alloc(&s->ev_index, 2) ||
        iom_nmap_alloc(&s->nom_map, 4) || iom_pages_alloc_table(&s->ev_pages, 16) ||
        iom_reserve_nominals(s, 0)) {
        iom_store_free(s);
        return NULL;
    }
    if (n_kinds > 0) memcpy(s->points, points, (size_t)n_kinds * sizeof(int64_t));
    return s;
}

void iom_store_free(iom_store *s) {
    if (!s) return;
    free(s->ev_id);
    free(s->ev_nom);
    free(s->ev_kind);
    free(s->ev_day);
    free(s->free_slots);
    free(s->ev_index.raw);
    iom_pages_free(&s->ev_pages);
    free(s->scratch);
    for (int64_t r = 0; s->days && r <= s->ring_mask; r++) free(s->days[r].slots);
    free(s->days);
    free(s->spare.slots);
    free(s->noms);
    free(s->nom_id);
    iom_nmap_free(&s->nom_map);
    free(s->points);
    free(s->crossed);
    free(s->crossed_old);
    free(s);
}

void iom_store_set_threads(iom_store *s, int threads) {
    s->parallel_min = threads >= 2 ? IOM_PARALLEL_MIN : INT64_MAX;
}

void iom_store_set_parallel_min(iom_store *s, int64_t rows) { s->parallel_min = rows; }
void iom_store_set_use_pages(iom_store *s, int use) { s->use_pages = use; }
void iom_store_fail_at_nominal(iom_store *s, int64_t index) { s->fail_at_nominal = index; }

void iom_store_index_lanes(const iom_store *s, uint8_t *out) {
    for (int64_t c = 0; c < s->ev_index.n_chunks; c++)
        memcpy(out + 4 * c, s->ev_index.chunks[c].overflow, 4);
}

/* ---- state ---------------------------------------------------------------- */

static int64_t iom_event_bytes(const iom_store *s) {
    int64_t day_slots = s->spare.cap + s->free_cap;
    for (int64_t r = 0; r <= s->ring_mask; r++) day_slots += s->days[r].cap;
    return s->slot_cap * (int64_t)(8 + 4 + 2 + 2) + day_slots * (int64_t)sizeof(int32_t) +
           s->ev_index.n_chunks * (int64_t)sizeof(iom_chunk) +
           (s->ev_pages.n_pages + s->ev_pages.n_spare) * IOM_PAGE_IDS * (int64_t)sizeof(uint32_t) +
           (s->ev_pages.mask + 1) * (int64_t)sizeof(iom_page) +
           (s->ring_mask + 1) * (int64_t)sizeof(iom_day);
}

void iom_store_stats(const iom_store *s, iom_stats *out) {
    out->as_of = s->as_of;
    out->start = s->start;
    out->n_nominals = s->n_nom;
    out->live_events = s->live_events;
    out->dead_events = s->dead_events;
    out->free_slots = s->n_free;
    out->slot_top = s->slot_top;
    out->n_kinds = s->n_kinds;
    memcpy(out->thresholds, s->thresholds, sizeof(out->thresholds));
    out->index_entries = s->ev_index.count + s->ev_pages.count;
    out->paged_entries = s->ev_pages.count;
    out->id_pages = s->ev_pages.n_pages;
    out->spare_pages = s->ev_pages.n_spare;
    out->index_chunks = s->ev_index.n_chunks;
    out->parallel_min = s->parallel_min;
}

void iom_store_memory(const iom_store *s, int64_t *event_bytes, int64_t *total_bytes) {
    *event_bytes = iom_event_bytes(s);
    /* per nominal: its record, its id, and room in the crossed list (index, old score) */
    *total_bytes = *event_bytes + s->scratch_bytes +
                   s->nom_cap * (int64_t)(sizeof(iom_nominal) + 8 + 4 + 8) +
                   iom_nmap_bytes(&s->nom_map) + s->n_kinds * 8;
}

_Static_assert(sizeof(iom_nominal) == IOM_RECORD_BYTES && offsetof(iom_nominal, score) == 0 &&
                   offsetof(iom_nominal, live) == 8,
               "iom_store.h describes the records' layout");

const int64_t *iom_store_nominal_ids(const iom_store *s) { return s->nom_id; }
const void *iom_store_records(const iom_store *s) { return s->noms; }
const int64_t *iom_store_points(const iom_store *s) { return s->points; }
const int64_t *iom_store_event_ids(const iom_store *s) { return s->ev_id; }
const int32_t *iom_store_event_nominals(const iom_store *s) { return s->ev_nom; }
const uint16_t *iom_store_event_kinds(const iom_store *s) { return s->ev_kind; }
const uint16_t *iom_store_event_days(const iom_store *s) { return s->ev_day; }

/* ---- lookups -------------------------------------------------------------- */

static int64_t iom_find_event(const iom_store *s, int64_t event_id) {
    return iom_id_find(&s->ev_pages, &s->ev_index, s->ev_id, event_id);
}

static int64_t iom_event_day(const iom_store *s, int64_t slot) {
    return s->as_of - (int64_t)((uint16_t)((uint16_t)s->as_of - s->ev_day[slot]));
}

void iom_find_events(const iom_store *s, int64_t n, const int64_t *ids, int64_t *out_slot) {
    for (int64_t i = 0; i < n; i++) {
        if (i + IOM_AHEAD_FAR < n)
            iom_id_prefetch(&s->ev_pages, &s->ev_index, ids[i + IOM_AHEAD_FAR]);
        if (i + IOM_AHEAD_NEAR < n)
            iom_prefetch_some(iom_index_guess(&s->ev_index, s->ev_id, 8, ids[i + IOM_AHEAD_NEAR]));
        out_slot[i] = iom_id_find(&s->ev_pages, &s->ev_index, s->ev_id, ids[i]);
    }
}

void iom_find_nominals(const iom_store *s, int64_t n, const int64_t *ids, int64_t *out_index) {
    for (int64_t i = 0; i < n; i++) {
        if (i + IOM_AHEAD_FAR < n) iom_nmap_prefetch(&s->nom_map, ids[i + IOM_AHEAD_FAR]);
        out_index[i] = iom_nmap_find(&s->nom_map, ids[i]);
    }
}

/* With out_nom, each row's nominal is looked up too (-1 if not held), in the
 * same loop: two streams of random reads, both prefetched, on the thread
 * that has the row. */
static void iom_classify_rows(const iom_store *s, int64_t n, const int64_t *ids,
                              const int64_t *nominal_ids, const uint16_t *kinds,
                              const int32_t *days, int8_t *out_status, int32_t *out_nom) {
    /* The nominals first, in a loop of their own: a random read each, and
     * nothing else, with the map in locals (the stores to out_nom could
     * alias the store's fields as far as the compiler knows). */
    if (out_nom) {
        const iom_nmap map = s->nom_map;
        for (int64_t i = 0; i < n; i++) {
            if (i + IOM_AHEAD_FAR < n) iom_nmap_prefetch(&map, nominal_ids[i + IOM_AHEAD_FAR]);
            out_nom[i] = (int32_t)iom_nmap_find(&map, nominal_ids[i]);
        }
    }
    const iom_pages pages = s->ev_pages;
    const iom_index index = s->ev_index;
    for (int64_t i = 0; i < n; i++) {
        if (i + IOM_AHEAD_FAR < n) iom_id_prefetch(&pages, &index, ids[i + IOM_AHEAD_FAR]);
        if (i + IOM_AHEAD_NEAR < n)
            iom_prefetch_some(iom_index_guess(&index, s->ev_id, 8, ids[i + IOM_AHEAD_NEAR]));
        int64_t slot = iom_id_find(&pages, &index, s->ev_id, ids[i]);
        if (slot < 0) {
            out_status[i] = IOM_NEW;
        } else if (s->nom_id[s->ev_nom[slot]] == nominal_ids[i] && s->ev_kind[slot] == kinds[i] &&
                   iom_event_day(s, slot) == (int64_t)days[i]) {
            out_status[i] = IOM_SAME;
        } else {
            out_status[i] = IOM_CONFLICT;
        }
    }
}

/* Classify's rows go to the two threads in blocks, each taking the next
 * block when done with one: halves fixed in advance left one thread waiting
 * on the other whenever its core ran slower. */
#define IOM_CLASSIFY_BLOCK 2048

typedef struct {
    const iom_store *s;
    int64_t n;
    const int64_t *ids, *nominal_ids;
    const uint16_t *kinds;
    const int32_t *days;
    int8_t *out_status;
    int32_t *out_nom;
    atomic_int_fast64_t next; /* the first row of the next block to take */
} iom_classify_job;

static void *iom_classify_blocks(void *arg) {
    iom_classify_job *j = (iom_classify_job *)arg;
    for (;;) {
        int64_t lo = atomic_fetch_add_explicit(&j->next, IOM_CLASSIFY_BLOCK, memory_order_relaxed);
        if (lo >= j->n) return NULL;
        int64_t m = j->n - lo < IOM_CLASSIFY_BLOCK ? j->n - lo : IOM_CLASSIFY_BLOCK;
        iom_classify_rows(j->s, m, j->ids + lo, j->nominal_ids + lo, j->kinds + lo, j->days + lo,
                          j->out_status + lo, j->out_nom ? j->out_nom + lo : NULL);
    }
}

void iom_classify(const iom_store *s, int64_t n, const int64_t *ids, const int64_t *nominal_ids,
                  const uint16_t *kinds, const int32_t *days, int8_t *out_status,
                  int32_t *out_nom) {
    /* A store with no events holds none of the ids, and one with no nominals
     * none of the nominals (a first load); one that kept its nominals after
     * its events went takes the loop below, whose id lookups find nothing. */
    if (s->ev_index.count + s->ev_pages.count == 0 && (out_nom == NULL || s->n_nom == 0)) {
        memset(out_status, IOM_NEW, (size_t)n);
        for (int64_t i = 0; out_nom && i < n; i++) out_nom[i] = -1;
        return;
    }
    if (n < s->parallel_min) {
        iom_classify_rows(s, n, ids, nominal_ids, kinds, days, out_status, out_nom);
        return;
    }
    /* Reads only, so the blocks may go to either thread. */
    iom_classify_job job = {s, n, ids, nominal_ids, kinds, days, out_status, out_nom, 0};
    iom_helper helper;
    iom_helper_start(&helper, iom_classify_blocks, &job);
    iom_classify_blocks(&job);
    iom_helper_finish(&helper);
}

/* Branch-free and in 32-bit lanes, so the compiler vectorises it: a branch
 * per status mispredicts on mixed batches. The first row dated after as_of
 * and the first conflict, rare, are found after. Day numbers fit in int32
 * (years 1-9999). */
void iom_plan_actions(const iom_store *s, int64_t n, const int8_t *restrict status,
                      const int32_t *restrict days, int8_t *restrict out_action, iom_plan *out) {
    iom_plan p = {-1, -1, 0, 0, 0, 0, 0};
    const int32_t as_of = (int32_t)s->as_of, start = (int32_t)s->start;
    _Static_assert(IOM_ACT_INSERT == 1 && IOM_ACT_RETRACT == 2 && IOM_ACT_REPLACE == 3,
                   "the action arithmetic below");
    for (int64_t lo = 0; lo < n; lo += (int64_t)1 << 24) { /* int32 counts per block */
        int64_t hi = n - lo < ((int64_t)1 << 24) ? n : lo + ((int64_t)1 << 24);
        int32_t taken = 0, expired = 0, future = 0, duplicates = 0, conflicts = 0;
        for (int64_t i = lo; i < hi; i++) {
            int32_t day = days[i];
            int32_t after = day > as_of;
            int32_t inside = (day > start) & !after;
            int32_t is_new = status[i] == IOM_NEW, conflict = status[i] == IOM_CONFLICT;
            /* new inside: INSERT (1); held with other content: REPLACE (3)
             * inside, else RETRACT (2); every other row: SKIP (0) */
            out_action[i] = (int8_t)((is_new & inside) + conflict * (IOM_ACT_RETRACT + inside));
            taken += (is_new | conflict) & inside;
            expired += day <= start;
            future += after;
            duplicates += !is_new & !conflict; /* IOM_SAME */
            conflicts += conflict;
        }
        p.taken += taken;
        p.expired += expired;
        p.future += future;
        p.duplicates += duplicates;
        p.conflicts += conflicts;
    }
    for (int64_t i = 0; p.future && i < n; i++)
        if (days[i] > as_of) {
            p.first_after = i;
            break;
        }
    for (int64_t i = 0; p.conflicts && i < n; i++)
        if (status[i] == IOM_CONFLICT) {
            p.first_conflict = i;
            break;
        }
    *out = p;
}

/* Withdraw a live event: its id, its points and its slot (left dead in its
 * day's array until the day expires or a compaction runs). */
static int iom_kill(iom_store *s, int64_t slot) {
    iom_id_delete(&s->ev_pages, &s->ev_index, s->ev_id[slot], slot);
    int32_t index = s->ev_nom[slot];
    iom_nominal *nom = &s->noms[index];
    int rc = iom_add_score(s, nom, index, -s->points[s->ev_kind[slot]]);
    nom->live--;
    s->ev_kind[slot] = IOM_DEAD_KIND;
    s->live_events--;
    s->dead_events++;
    return rc;
}

/* The index of a nominal, added if new; -1 only when memory runs out. */
static int32_t iom_nominal_for(iom_store *s, int64_t nominal_id) {
    int64_t index = iom_nmap_find(&s->nom_map, nominal_id);
    if (index >= 0) return (int32_t)index;
    if (s->n_nom == s->fail_at_nominal) return -1; /* a test's simulated failure */
    if (iom_reserve_nominals(s, 1) != IOM_OK ||
        iom_nmap_fit(&s->nom_map, s->nom_id, s->n_nom) != IOM_OK)
        return -1;
    index = s->n_nom++;
    iom_nominal *nom = &s->noms[index];
    s->nom_id[index] = nominal_id;
    nom->score = 0;
    nom->live = 0;
    nom->stamp = 0;
    iom_nmap_put(&s->nom_map, nominal_id, index);
    return (int32_t)index;
}

int iom_add_nominals(iom_store *s, int64_t n, const int64_t *nominal_ids) {
    if (iom_reserve_nominals(s, n) != IOM_OK) return IOM_ENOMEM;
    for (int64_t i = 0; i < n; i++)
        if (iom_nominal_for(s, nominal_ids[i]) < 0) return IOM_ENOMEM;
    return IOM_OK;
}

/* What inserts change in their slots (slot_of[i], for each row with one:
 * >= 0), their days' arrays (room reserved by iom_reserve_days) and the
 * store's count. The arrays and the day being filled are held in locals:
 * through the store, each row's stores (which may alias its fields, as far
 * as the compiler knows) made it reload them all. */
static void iom_fill_rows(iom_store *s, int64_t n, const int32_t *slot_of, const int64_t *ids,
                          const int32_t *nom_index, const uint16_t *kinds, const int32_t *days) {
    int64_t *restrict ev_id = s->ev_id;
    int32_t *restrict ev_nom = s->ev_nom;
    uint16_t *restrict ev_kind = s->ev_kind;
    uint16_t *restrict ev_day = s->ev_day;
    const int64_t mask = s->ring_mask;
    iom_day *d = NULL;
    int32_t *restrict day_slots = NULL;
    int32_t len = 0, ring = -1;
    int64_t filled = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t slot = slot_of[i];
        if (slot < 0) continue;
        int32_t r = (int32_t)(days[i] & mask);
        if (r != ring) { /* rows come by day as a rule: a branch seldom taken */
            if (d) d->len = len;
            d = &s->days[r];
            ring = r;
            day_slots = d->slots;
            len = d->len;
        }
        ev_id[slot] = ids[i];
        ev_nom[slot] = nom_index[i];
        ev_kind[slot] = kinds[i];
        ev_day[slot] = (uint16_t)days[i];
        assert(len < d->cap); /* room reserved before any change (IOMSCORE_DEBUG builds check) */
        day_slots[len++] = slot;
        filled++;
    }
    if (d) d->len = len;
    s->live_events += filled;
}

iom_records_job iom_records_for(const iom_store *s, iom_crossings list, int32_t *own) {
    iom_records_job r = {s->noms, s->points, {s->thresholds[0], s->thresholds[1], s->thresholds[2]},
                         s->epoch, list, own, IOM_OK};
    return r;
}

/* Crossings go to r->list. The two threads split a step's events by the
 * nominal's index (iom_helpers), so each record has one writer. The job's
 * fields are read into locals once (a helper's job lives on the other
 * thread's stack). */
void iom_records_run(iom_records_job *r, int64_t m, const int32_t *nom_of,
                     const uint16_t *kind_of, int sign) {
    iom_nominal *noms = r->noms;
    const int64_t *points = r->points;
    const int32_t *own = r->own;
    const int64_t thresholds[3] = {r->thresholds[0], r->thresholds[1], r->thresholds[2]};
    int32_t epoch = r->epoch;
    iom_crossings list = r->list;
    int rc = IOM_OK;
    for (int64_t k = 0; k < m && rc == IOM_OK; k++) {
        if (k + IOM_AHEAD_NEAR < m) IOM_PREFETCH(&noms[nom_of[own[k + IOM_AHEAD_NEAR]]]);
        int32_t x = own[k], index = nom_of[x];
        noms[index].live += sign;
        int64_t delta = sign * points[kind_of[x]];
        rc = iom_add_points(&list, thresholds, epoch, &noms[index], index, delta);
    }
    r->list = list;
    r->rc = rc;
}


/* The rows of a batch that insert (nom_index[i] >= 0) and whose nominal is
 * the helper's (helpers 1) or not (0), into own (branch-free); returns how
 * many. */
static int64_t iom_own_rows(int64_t n, const int32_t *nom_index, int eighths, int32_t helpers,
                            int32_t *own) {
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        own[m] = (int32_t)i;
        m += (nom_index[i] >= 0) & (iom_helpers(nom_index[i], eighths) == helpers);
    }
    return m;
}

/* The helper's part of a large batch's inserts: the id pages and index, then
 * the records of its nominals (iom_helpers). It writes only those, and counts
 * and lists crossings in its own fields (not the store's, which the other
 * thread writes row by row: sharing their cache line would make both threads
 * wait on it). */
typedef struct {
    iom_index index; /* copies: the chunks and pages; counts start at 0 */
    iom_pages pages;
    const int64_t *ids;
    const int32_t *slot_of; /* slot of each row, -1 for a row not inserted */
    int64_t n;
    const int32_t *nom_index;
    const uint16_t *kinds;
    iom_records_job records;  /* of the helper's nominals */
    iom_signal slots_planned; /* slot_of is filled (the records do not need it) */
} iom_put_job;

/* Add the counts a helper kept in its copies of the index and the pages to
 * the store's. */
void iom_index_add_counts(iom_store *s, const iom_index *copy, const iom_pages *pages) {
    s->ev_index.count += copy->count;
    if (copy->key_max > s->ev_index.key_max) s->ev_index.key_max = copy->key_max;
    s->ev_pages.count += pages->count;
}

/* The job's fields are read into locals once: the index's byte stores may
 * alias anything as far as the compiler knows, and it would otherwise reload
 * them from the job, a line of the other thread's stack, at every row. */
static void *iom_put_rows(void *arg) {
    iom_put_job *job = (iom_put_job *)arg;
    int64_t n = job->n;
    int64_t m = iom_own_rows(n, job->nom_index, IOM_APPLY_HELPER_EIGHTHS, 1, job->records.own);
    iom_records_run(&job->records, m, job->nom_index, job->kinds, +1);
    iom_signal_wait(&job->slots_planned);
    iom_index ix = job->index; /* counted here, written back once */
    iom_pages pg = job->pages;
    const int64_t *ids = job->ids;
    const int32_t *slot_of = job->slot_of;
    for (int64_t i = 0; i < n; i++) {
        if (i + IOM_AHEAD_FAR < n) iom_id_prefetch_put(&pg, &ix, ids, i + IOM_AHEAD_FAR);
        if (slot_of[i] >= 0) iom_id_put(&pg, &ix, ids[i], slot_of[i]);
    }
    job->index = ix;
    job->pages = pg;
    return NULL;
}

/* Where the slot allocator stands once a batch's slots are handed out. */
typedef struct {
    int64_t n_free;
    int64_t slot_top;
} iom_slot_plan;

/* The slot each inserted row will take (-1 for other rows), handed out as
 * inserts row by row would: freed slots first, from the top of the stack, then
 * new ones. Reads only; assigning the returned plan to the store takes them. */
static iom_slot_plan iom_plan_slots(const iom_store *s, int64_t n, const int8_t *action,
                                    int32_t *slot_of) {
    iom_slot_plan plan = {s->n_free, s->slot_top};
    for (int64_t i = 0; i < n; i++) {
        if (!iom_acts_insert(action[i])) {
            slot_of[i] = -1;
        } else if (plan.n_free > 0) {
            slot_of[i] = s->free_slots[--plan.n_free];
        } else {
            slot_of[i] = (int32_t)plan.slot_top++;
        }
    }
    return plan;
}

/* Append crossings a helper listed to the store's list: the two threads
 * list disjoint nominals (iom_helpers), each once. */
void iom_append_crossings(iom_store *s, const iom_crossings *list) {
    memcpy(s->crossed + s->n_crossed, list->index, (size_t)list->n * sizeof(int32_t));
    memcpy(s->crossed_old + s->n_crossed, list->old, (size_t)list->n * sizeof(int64_t));
    s->n_crossed += list->n;
}

/* Every row's nominal index (-1 for rows not inserted), adding new nominals;
 * IOM_ENOMEM if memory runs out. */
static int iom_resolve_nominals(iom_store *s, int64_t n, const int64_t *nominal_ids,
                                const int8_t *action, const int32_t *known, int32_t *nom_index) {
    if (known) { /* a day's batch: classify found every nominal; one branch-free pass */
        int32_t missing = 0;
        for (int64_t i = 0; i < n; i++) {
            int32_t inserts = iom_acts_insert(action[i]);
            nom_index[i] = inserts ? known[i] : -1;
            missing |= inserts & (known[i] < 0);
        }
        if (!missing) return IOM_OK;
    }
    for (int64_t i = 0; i < n; i++) {
        nom_index[i] = -1;
        if (!iom_acts_insert(action[i])) continue;
        if (known && known[i] >= 0) { /* nominals are never removed: still right */
            nom_index[i] = known[i];
            continue;
        }
        if (i + IOM_AHEAD_FAR < n && (!known || known[i + IOM_AHEAD_FAR] < 0))
            iom_nmap_prefetch(&s->nom_map, nominal_ids[i + IOM_AHEAD_FAR]);
        nom_index[i] = iom_nominal_for(s, nominal_ids[i]);
        if (nom_index[i] < 0) return IOM_ENOMEM;
    }
    return IOM_OK;
}

static int iom_retract_rows(iom_store *s, int64_t n, const int64_t *ids, const int8_t *action) {
    int rc = IOM_OK;
    for (int64_t i = 0; i < n && rc == IOM_OK; i++) {
        if (iom_acts_retract(action[i])) rc = iom_kill(s, iom_find_event(s, ids[i]));
    }
    return rc;
}

/* A batch's changes are two streams of random reads: this thread fills the
 * slots and day arrays, the put part (iom_put_rows) fills the id pages and
 * index, and each updates the records of its share of the nominals
 * (iom_helpers: a nominal's events may be anywhere in the batch, so halves of
 * the rows would share records). A batch of parallel_min inserts or more
 * runs the put part on the helper thread; a smaller one runs it here, after
 * this thread's part. Slots are planned in row order first and each part
 * works in row order, so the store ends the same either way, but for the
 * order of its crossed list. Everything that can fail (memory) is done
 * first; retractions (corrections) come next, on this thread. */
int iom_apply(iom_store *s, int64_t n, const int64_t *ids, const int64_t *nominal_ids,
              const uint16_t *kinds, const int32_t *days, const int8_t *action,
              const int32_t *known) {
    int64_t inserts = 0, retracts = 0;
    for (int64_t i = 0; i < n; i++) {
        inserts += iom_acts_insert(action[i]);
        retracts += iom_acts_retract(action[i]);
    }
    /* Room for the events, then every row's nominal (a new nominal starts with
     * no events and a score of 0, so adding one changes no result). */
    int rc = iom_reserve_slots(s, inserts);
    if (rc == IOM_OK) rc = iom_reserve_days(s, n, days, action, inserts);
    if (rc != IOM_OK) return rc;
    int64_t unpaged = iom_pages_plan(&s->ev_pages, s->use_pages, n, ids, action, inserts);
    if (unpaged < 0) return (int)unpaged;
    rc = iom_index_fit(&s->ev_index, unpaged, s->ev_id, 1, s->slot_top, s->ev_kind, &s->ev_pages);
    if (rc != IOM_OK) return rc;
    /* per row: its nominal index, its slot, room for the put part's crossings
     * (one a row at most: an index and an old score) and each part's rows */
    size_t row_bytes = 5 * sizeof(int32_t) + sizeof(int64_t);
    int32_t *nom_index = (int32_t *)iom_scratch(s, (size_t)n * row_bytes + sizeof(int64_t));
    if (!nom_index) return IOM_ENOMEM;
    int32_t *slot_of = nom_index + n, *own_mine = nom_index + 3 * n, *own_theirs = nom_index + 4 * n;
    int64_t *old = (int64_t *)(((uintptr_t)(nom_index + 5 * n) + 7) & ~(uintptr_t)7);
    iom_crossings theirs = {nom_index + 2 * n, old, 0};
    rc = iom_resolve_nominals(s, n, nominal_ids, action, known, nom_index);
    iom_begin(s);
    if (rc == IOM_OK && retracts) rc = iom_retract_rows(s, n, ids, action);
    if (rc != IOM_OK) {
        iom_scratch_done(s, nom_index);
        return rc;
    }
    /* The put part starts on its records; the slots are planned meanwhile,
     * before its puts. */
    iom_put_job job = {s->ev_index, s->ev_pages, ids, slot_of, n, nom_index, kinds,
                       iom_records_for(s, theirs, own_theirs), {0}};
    job.index.count = 0;
    job.pages.count = 0;
    iom_helper helper;
    if (inserts >= s->parallel_min) iom_helper_start(&helper, iom_put_rows, &job);
    else iom_helper_here(&helper, iom_put_rows, &job);
    iom_slot_plan plan = iom_plan_slots(s, n, action, slot_of);
    s->n_free = plan.n_free;
    s->slot_top = plan.slot_top;
    iom_signal_raise(&job.slots_planned);
    iom_records_job mine = iom_records_for(s, iom_store_crossings(s), own_mine);
    int64_t m = iom_own_rows(n, nom_index, IOM_APPLY_HELPER_EIGHTHS, 0, own_mine);
    iom_records_run(&mine, m, nom_index, kinds, +1);
    s->n_crossed = mine.list.n;
    iom_fill_rows(s, n, slot_of, ids, nom_index, kinds, days);
    iom_helper_finish(&helper);
    iom_index_add_counts(s, &job.index, &job.pages);
    iom_append_crossings(s, &job.records.list);
    iom_scratch_done(s, nom_index);
    return mine.rc != IOM_OK ? mine.rc : job.records.rc;
}

int iom_retract(iom_store *s, int64_t n, const int64_t *slots) {
    iom_begin(s);
    int rc = IOM_OK;
    for (int64_t i = 0; i < n && rc == IOM_OK; i++) rc = iom_kill(s, slots[i]);
    iom_pages_trim(&s->ev_pages);
    return rc;
}

int iom_advance(iom_store *s, int64_t new_as_of, int64_t new_start, int64_t *expired,
                iom_leaving *out) {
    if (out) out->n = 0;
    int rc = iom_expire(s, new_start, expired, out);
    iom_pages_trim(&s->ev_pages);
    s->as_of = new_as_of;
    s->start = new_start;
    if (rc == IOM_OK && s->dead_events > s->live_events / 4 + 65536) iom_compact(s);
    return rc;
}
