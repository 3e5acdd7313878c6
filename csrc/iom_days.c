/* iom_days: the day arrays, and expiry (see iom_days.h). */
#include "iom_store_impl.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Room on the free stack for `extra` more slots. */
int iom_reserve_free(iom_store *s, int64_t extra) {
    int64_t need = s->n_free + extra;
    if (need <= s->free_cap) return IOM_OK;
    int64_t cap = s->free_cap + s->free_cap / 2;
    if (cap < need) cap = need;
    if (iom_grow((void **)&s->free_slots, cap, sizeof(int32_t))) return IOM_ENOMEM;
    s->free_cap = cap;
    return IOM_OK;
}

int iom_day_reserve(iom_day *d, iom_day *spare, int64_t extra) {
    int64_t need = d->len + extra;
    if (need <= d->cap) return IOM_OK;
    if (d->cap == 0 && spare->slots) {
        *d = *spare;
        spare->slots = NULL;
        spare->cap = 0;
        if (need <= d->cap) return IOM_OK;
    }
    int64_t cap = d->cap ? d->cap + d->cap / 8 + 16 : 0;
    if (cap < need) cap = need;
    if (iom_grow((void **)&d->slots, cap, sizeof(int32_t))) return IOM_ENOMEM;
    d->cap = (int32_t)cap;
    return IOM_OK;
}

int iom_reserve_days(iom_store *s, int64_t n, const int32_t *days, const int8_t *action,
                     int64_t inserts) {
    if (inserts == 0) return IOM_OK;
    /* A day's batch is dated that day: then one count, without a pass that
     * adds to one counter row after row (a chain of dependent stores). */
    int32_t other = 0;
    for (int64_t i = 0; i < n; i++) other |= days[i] ^ days[0];
    if (other == 0) return iom_day_reserve(&s->days[days[0] & s->ring_mask], &s->spare, inserts);
    int64_t ring = s->ring_mask + 1;
    int64_t *count = (int64_t *)calloc((size_t)ring, sizeof(int64_t));
    if (!count) return IOM_ENOMEM;
    for (int64_t i = 0; i < n; i++) count[days[i] & s->ring_mask] += iom_acts_insert(action[i]);
    int rc = IOM_OK;
    for (int64_t r = 0; r < ring && rc == IOM_OK; r++)
        if (count[r]) rc = iom_day_reserve(&s->days[r], &s->spare, count[r]);
    free(count);
    return rc;
}

void iom_day_release(iom_day *d, iom_day *spare) {
    if (d->cap > spare->cap) {
        free(spare->slots);
        *spare = *d;
        spare->len = 0;
    } else {
        free(d->slots);
    }
    d->slots = NULL;
    d->len = 0;
    d->cap = 0;
}

/* A day's slots and ids are dense as a rule (handed out together, numbered in
 * sequence), so its expiry reads and writes in order and needs no prefetch.
 * But a day thinned to a sample of its events, or events numbered apart,
 * spread them; and ids in the hashed index are read at random. */
typedef struct {
    int slots;   /* the slots span more than 16 each */
    int entries; /* the ids do, or some are in the index */
} iom_spread;

static iom_spread iom_day_spread(const iom_store *s, const iom_day *d) {
    iom_spread sp = {0, s->ev_index.count > 0};
    int64_t n = d->len;
    if (n < 2) return sp;
    int64_t slots = (int64_t)d->slots[n - 1] - d->slots[0];
    int64_t ids = s->ev_id[d->slots[n - 1]] - s->ev_id[d->slots[0]];
    sp.slots = slots > 16 * n || slots < -16 * n;
    sp.entries |= ids > 16 * n || ids < -16 * n;
    return sp;
}

/* The helper's part of a long day's expiry. It starts at once, on the day's
 * array: it deletes the id of every live slot (the pages and index are its
 * alone) and lists the live slots of its nominals (iom_helpers), whose
 * records it then updates, listing crossings in its own list. No slot's kind
 * changes until both threads are done (this thread then marks the whole day
 * dead), so each thread reads which slots are live without a race. */
typedef struct {
    iom_index index; /* copies: the chunks and pages; counts start at 0 */
    iom_pages pages;
    const int64_t *ev_id;
    const int32_t *ev_nom;
    const uint16_t *ev_kind;
    const iom_day *day;
    iom_spread spread;
    int64_t live;            /* out: the day's live slots */
    iom_records_job records; /* of the helper's nominals (own: room for the day) */
} iom_expire_job;

/* The job's fields are read into locals once (see iom_put_rows). */
static void *iom_expire_part(void *arg) {
    iom_expire_job *job = (iom_expire_job *)arg;
    iom_index ix = job->index;
    iom_pages pg = job->pages;
    const int64_t *ev_id = job->ev_id;
    const int32_t *ev_nom = job->ev_nom;
    const uint16_t *ev_kind = job->ev_kind;
    const int32_t *slots = job->day->slots;
    int32_t *own = job->records.own;
    int64_t n = job->day->len, live = 0, m = 0;
    iom_spread sp = job->spread;
    for (int64_t i = 0; i < n; i++) {
        if (sp.slots && i + IOM_AHEAD_FAR < n) {
            IOM_PREFETCH(&ev_kind[slots[i + IOM_AHEAD_FAR]]);
            IOM_PREFETCH(&ev_nom[slots[i + IOM_AHEAD_FAR]]);
            IOM_PREFETCH(&ev_id[slots[i + IOM_AHEAD_FAR]]);
        }
        if (sp.entries && i + IOM_AHEAD_NEAR < n)
            iom_id_prefetch(&pg, &ix, ev_id[slots[i + IOM_AHEAD_NEAR]]);
        int32_t slot = slots[i];
        if (ev_kind[slot] == IOM_DEAD_KIND) continue; /* retracted: its id went then */
        live++;
        iom_id_delete(&pg, &ix, ev_id[slot], slot);
        own[m] = slot;
        m += iom_helpers(ev_nom[slot], IOM_EXPIRE_HELPER_EIGHTHS);
    }
    job->index = ix;
    job->pages = pg;
    job->live = live;
    iom_records_run(&job->records, m, ev_nom, ev_kind, -1);
    return NULL;
}

/* Copy a day's live events to the archive's buffer, before they are freed. A
 * slot's full day is the one day of the window (start, as_of] with its
 * residue. */
static void iom_copy_leaving(const iom_store *s, const iom_day *d, iom_leaving *out) {
    int64_t k = out->n;
    for (int32_t i = 0; i < d->len; i++) {
        int32_t slot = d->slots[i];
        if (s->ev_kind[slot] == IOM_DEAD_KIND) continue;
        assert(k < out->cap);
        out->id[k] = s->ev_id[slot];
        out->nom[k] = s->ev_nom[slot];
        out->kind[k] = s->ev_kind[slot];
        out->day[k] = (int32_t)(s->as_of - (uint16_t)((uint16_t)s->as_of - s->ev_day[slot]));
        k++;
    }
    out->n = k;
}

/* Release one day's array: live events stop counting, dead ones are freed.
 * The helper's part (iom_expire_part) runs beside this thread's, or after it
 * on this thread for a short day. This thread lists the live slots of its
 * nominals in one pass over the array (branch-free) and updates their
 * records, with prefetching (they lie at random). Then every slot of the day
 * is marked dead and goes on the free stack (room reserved by iom_expire).
 * `theirs` and both `own` hold the longest day. */
static int iom_expire_day(iom_store *s, iom_day *d, int64_t *expired, iom_crossings theirs,
                          int32_t *own_mine, int32_t *own_theirs, iom_leaving *out) {
    int64_t n = d->len;
    iom_expire_job job = {s->ev_index, s->ev_pages, s->ev_id, s->ev_nom, s->ev_kind, d,
                          iom_day_spread(s, d), 0, iom_records_for(s, theirs, own_theirs)};
    job.index.count = 0;
    job.pages.count = 0;
    iom_helper helper;
    if (n >= s->parallel_min) iom_helper_start(&helper, iom_expire_part, &job);
    else iom_helper_here(&helper, iom_expire_part, &job);
    const int32_t *slots = d->slots;
    const int32_t *ev_nom = s->ev_nom;
    const uint16_t *ev_kind = s->ev_kind;
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        if (job.spread.slots && i + IOM_AHEAD_FAR < n) {
            IOM_PREFETCH(&ev_kind[slots[i + IOM_AHEAD_FAR]]);
            IOM_PREFETCH(&ev_nom[slots[i + IOM_AHEAD_FAR]]);
        }
        int32_t slot = slots[i];
        own_mine[m] = slot;
        m += (ev_kind[slot] != IOM_DEAD_KIND) &
             !iom_helpers(ev_nom[slot], IOM_EXPIRE_HELPER_EIGHTHS);
    }
    iom_records_job mine = iom_records_for(s, iom_store_crossings(s), own_mine);
    iom_records_run(&mine, m, s->ev_nom, s->ev_kind, -1);
    s->n_crossed = mine.list.n;
    iom_helper_finish(&helper);
    iom_index_add_counts(s, &job.index, &job.pages);
    iom_append_crossings(s, &job.records.list);
    assert(s->n_free + n <= s->free_cap);
    if (out) iom_copy_leaving(s, d, out);
    int32_t *freed = s->free_slots + s->n_free;
    for (int64_t i = 0; i < n; i++) {
        s->ev_kind[slots[i]] = IOM_DEAD_KIND;
        freed[i] = slots[i];
    }
    s->n_free += n;
    s->live_events -= job.live;
    s->dead_events -= n - job.live;
    *expired += job.live;
    iom_day_release(d, &s->spare);
    return mine.rc != IOM_OK ? mine.rc : job.records.rc;
}

/* The days to release, room for the longest day and on the free stack for
 * every slot released, before any change. */
void iom_expiring_days(const iom_store *s, int64_t new_start, int64_t *first, int64_t *last) {
    int64_t ring = s->ring_mask + 1;
    int64_t span = new_start - s->start;
    *first = span >= ring ? 0 : s->start + 1;
    *last = span >= ring ? ring - 1 : new_start;
}

int64_t iom_leaving_bound(const iom_store *s, int64_t new_start) {
    int64_t first, last, total = 0;
    iom_expiring_days(s, new_start, &first, &last);
    for (int64_t day = first; day <= last; day++) total += s->days[day & s->ring_mask].len;
    return total;
}

int iom_expire(iom_store *s, int64_t new_start, int64_t *expired, iom_leaving *out) {
    *expired = 0;
    int64_t first, last;
    iom_expiring_days(s, new_start, &first, &last);
    int64_t longest = 0, total = 0;
    for (int64_t day = first; day <= last; day++) {
        int64_t n = s->days[day & s->ring_mask].len;
        if (n > longest) longest = n;
        total += n;
    }
    if (iom_reserve_free(s, total) != IOM_OK) return IOM_ENOMEM;
    /* the helper's crossings (an old score and an index a row), and each
     * thread's live slots */
    if (longest < 1) longest = 1;
    size_t row_bytes = sizeof(int64_t) + 3 * sizeof(int32_t);
    int64_t *old = (int64_t *)iom_scratch(s, (size_t)longest * row_bytes);
    if (!old) return IOM_ENOMEM;
    int32_t *index = (int32_t *)(old + longest);
    iom_crossings theirs = {index, old, 0};
    iom_begin(s);
    int rc = IOM_OK;
    for (int64_t day = first; day <= last && rc == IOM_OK; day++) {
        iom_day *d = &s->days[day & s->ring_mask];
        if (d->len || d->slots)
            rc = iom_expire_day(s, d, expired, theirs, index + longest, index + 2 * longest,
                                out);
    }
    iom_scratch_done(s, old);
    return rc;
}

void iom_compact(iom_store *s) {
    if (iom_reserve_free(s, s->dead_events) != IOM_OK) return;
    for (int64_t r = 0; r <= s->ring_mask; r++) {
        iom_day *d = &s->days[r];
        int32_t kept = 0;
        for (int32_t i = 0; i < d->len; i++) {
            int32_t slot = d->slots[i];
            if (s->ev_kind[slot] == IOM_DEAD_KIND) {
                s->free_slots[s->n_free++] = slot;
                s->dead_events--;
            } else {
                d->slots[kept++] = slot;
            }
        }
        d->len = kept;
    }
}
