/* iom_index: the event-id index and the id pages (see iom_index.h). */
#include "iom_index.h"

#include <stdlib.h>
#include <string.h>

int iom_index_alloc(iom_index *ix, int64_t n_chunks) {
    void *raw;
    iom_chunk *chunks = (iom_chunk *)iom_alloc_lines((size_t)n_chunks * sizeof(iom_chunk), &raw);
    if (!chunks) return IOM_ENOMEM;
    free(ix->raw);
    ix->raw = raw;
    ix->chunks = chunks;
    ix->n_chunks = n_chunks;
    ix->count = 0;
    ix->key_max = INT64_MIN;
    return IOM_OK;
}

/* The load a bulk load or a rebuild sizes the index for, in percent: lower
 * loads shorten walks, and 60% keeps a buffered event under 32 bytes with
 * room to spare (bench/README.md, "Kept fast paths"). */
#define IOM_INDEX_LOAD_PCT 60

/* Chunks for `count` entries at IOM_INDEX_LOAD_PCT (at least two). */
static int64_t iom_chunks_for(int64_t count) {
    int64_t per_chunk = IOM_INDEX_LOAD_PCT * IOM_CHUNK_SLOTS; /* entries x 100 */
    int64_t n = (count * 100 + per_chunk - 1) / per_chunk;
    return n < 2 ? 2 : n;
}

/* Make room for `extra` more entries under a load of 0.8 (past it, clumps of
 * one group's ids send a lookup on to a third and fourth chunk). A rebuild
 * makes a table of IOM_INDEX_LOAD_PCT load, and at least one and a half
 * times the old one, so a stream of small inserts re-hashes each entry O(1)
 * times; a bulk insert sizes the table for its final count at once.
 *
 * The rebuild re-puts the ids of the live slots (not dead, and not held in
 * the pages), read in slot order; or, when the index holds few of the slots'
 * ids (most are in pages), the entries of the old table, so that its cost
 * follows the index's size, not the store's (a day's few ids without a page
 * must not walk every slot of a large store). */
int iom_index_fit(iom_index *ix, int64_t extra, const int64_t *keys, int64_t stride,
                         int64_t top, const uint16_t *kinds, const iom_pages *pages) {
    int64_t need = ix->count + extra;
    int64_t cap = ix->n_chunks * IOM_CHUNK_SLOTS;
    if (need * 5 <= cap * 4) return IOM_OK;
    int64_t n_chunks = iom_chunks_for(need);
    if (n_chunks < ix->n_chunks + ix->n_chunks / 2) n_chunks = ix->n_chunks + ix->n_chunks / 2;
    if (ix->count * 8 < top) {
        /* the old entries' slots and keys, then the puts, each prefetched */
        int64_t n = ix->count;
        int64_t *held = (int64_t *)iom_alloc((size_t)(n ? n : 1) * 2 * sizeof(int64_t));
        iom_index fresh = {0};
        if (!held || iom_index_alloc(&fresh, n_chunks) != IOM_OK) {
            free(held);
            return IOM_ENOMEM;
        }
        int64_t *held_key = held + n, k = 0;
        for (int64_t c = 0; c < ix->n_chunks; c++)
            for (uint32_t m = ~iom_chunk_match(&ix->chunks[c], 0) & ((1u << IOM_CHUNK_SLOTS) - 1);
                 m; m &= m - 1)
                held[k++] = ix->chunks[c].slot[__builtin_ctz(m)] & IOM_SLOT_MASK;
        for (int64_t i = 0; i < n; i++) {
            if (i + IOM_AHEAD_FAR < n) IOM_PREFETCH(&keys[held[i + IOM_AHEAD_FAR] * stride]);
            held_key[i] = keys[held[i] * stride];
        }
        for (int64_t i = 0; i < n; i++) {
            if (i + IOM_AHEAD_FAR < n)
                iom_index_prefetch_put(&fresh, held_key, 1, i + IOM_AHEAD_FAR);
            iom_index_put(&fresh, held_key[i], held[i]);
        }
        free(held);
        free(ix->raw);
        *ix = fresh;
        return IOM_OK;
    }
    int rc = iom_index_alloc(ix, n_chunks);
    if (rc != IOM_OK) return rc;
    /* Keys are read in slot order; the puts land at random, prefetched. */
    for (int64_t slot = 0; slot < top; slot++) {
        if (slot + IOM_AHEAD_FAR < top)
            iom_index_prefetch_put(ix, keys, stride, slot + IOM_AHEAD_FAR);
        if (kinds != NULL && kinds[slot] == IOM_DEAD_KIND) continue;
        if (pages != NULL && iom_pages_find(pages, keys[slot * stride]) == slot) continue;
        iom_index_put(ix, keys[slot * stride], slot);
    }
    return IOM_OK;
}



#define IOM_PAGE_MASK (IOM_PAGE_IDS - 1)
/* A batch may make new pages while the pages' entries stay at least this
 * dense (1 in 4: 16 bytes of page an id at worst), past a floor of
 * IOM_PAGE_FLOOR pages that small stores may use whatever their density. */
#define IOM_PAGE_DENSITY 4
#define IOM_PAGE_FLOOR 16

int iom_pages_alloc_table(iom_pages *pg, int64_t size) {
    iom_page *table = (iom_page *)calloc((size_t)size, sizeof(iom_page));
    if (!table) return IOM_ENOMEM;
    /* re-place the pages held: lo..hi spans fewer than size numbers */
    for (int64_t i = 0; pg->table && i <= pg->mask; i++)
        if (pg->table[i].slot) table[pg->table[i].number & (size - 1)] = pg->table[i];
    free(pg->table);
    pg->table = table;
    pg->mask = size - 1;
    return IOM_OK;
}

void iom_pages_free(iom_pages *pg) {
    for (int64_t i = 0; pg->table && i <= pg->mask; i++) free(pg->table[i].slot);
    for (int64_t i = 0; i < pg->n_spare; i++) free(pg->spare[i]);
    free(pg->table);
    memset(pg, 0, sizeof(*pg));
}


/* A new page, all zero: a spare one if any. */
static uint32_t *iom_page_new(iom_pages *pg) {
    if (pg->n_spare) return pg->spare[--pg->n_spare];
    return (uint32_t *)calloc((size_t)IOM_PAGE_IDS, sizeof(uint32_t));
}

/* Give back a page that holds no entry (so it is all zero). */
static void iom_page_release(iom_pages *pg, uint32_t *slot) {
    if (pg->n_spare < IOM_PAGE_SPARE) pg->spare[pg->n_spare++] = slot;
    else free(slot);
}

/* Free the empty pages at one end of the run (end: &pg->lo going up, or
 * &pg->hi going down), up to the first page that holds an entry. */
static void iom_pages_trim_end(iom_pages *pg, int64_t *end, int64_t step) {
    while (pg->n_pages > 0) {
        iom_page *p = &pg->table[*end & pg->mask];
        if (p->live) break;
        iom_page_release(pg, p->slot);
        p->slot = NULL;
        if (--pg->n_pages == 0) break;
        do *end += step; while (!iom_page_at(pg, *end)); /* the other end is held */
    }
}

/* Free the empty pages at either end of the run: expiry empties the lowest
 * pages, a retraction of the newest ids may empty the highest. An empty page
 * inside the run stays until an end reaches it. */
void iom_pages_trim(iom_pages *pg) {
    iom_pages_trim_end(pg, &pg->lo, +1);
    iom_pages_trim_end(pg, &pg->hi, -1);
}

/* Make the pages a batch's inserts justify, before any change. From the
 * ends of the run of pages (or, with none, from the page of the batch's
 * middle insert), in either direction, the pages the batch has ids in, as
 * far out as the pages all stay dense (IOM_PAGE_DENSITY), within the reach
 * of the batch's size. A day of ids in sequence adds a page or a few at the
 * top, across a gap in the numbering too; a bulk load of them makes its whole
 * run; ids scattered at random make at most a page or two. Returns the
 * number of inserted rows that will have no page (the hashed index's
 * share), or IOM_ENOMEM with no page made. */
int64_t iom_pages_plan(iom_pages *pg, int make, int64_t n, const int64_t *ids,
                       const int8_t *action, int64_t inserts) {
    iom_pages_trim(pg);
    int64_t paged = 0; /* rows whose page is held already */
    if (!make || inserts == 0) {
        for (int64_t i = 0; pg->n_pages && i < n; i++)
            paged += iom_acts_insert(action[i]) && iom_page_of(pg, ids[i]) != NULL;
        return inserts - paged;
    }
    /* How far each direction may reach: the pages this batch's ids fill at
     * the lowest density allowed. */
    int64_t reach = IOM_PAGE_DENSITY * inserts / IOM_PAGE_IDS + IOM_PAGE_FLOOR;
    int64_t up, down; /* the first page number beyond the run, upwards and downwards */
    if (pg->n_pages) {
        up = pg->hi + 1;
        down = pg->lo - 1;
    } else {
        int64_t middle = -1, seen = 0;
        for (int64_t i = 0; i < n && middle < 0; i++)
            if (iom_acts_insert(action[i]) && seen++ == inserts / 2) middle = i;
        up = ids[middle] >> IOM_PAGE_BITS;
        down = up - 1;
    }
    /* ids a batch has in each page beyond the run: up + k at [k], down - k at [reach + k] */
    int64_t *in_page = (int64_t *)calloc((size_t)(2 * reach), sizeof(int64_t));
    if (!in_page) return IOM_ENOMEM;
    /* ids in sequence come in runs of one page: its counter is found, and
     * added to, once a run (an increment of it a row is a chain of dependent
     * stores) */
    int64_t last = INT64_MIN, dummy = 0, *counter = &dummy, run = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!iom_acts_insert(action[i])) continue;
        int64_t number = ids[i] >> IOM_PAGE_BITS;
        if (number != last) {
            *counter += run;
            run = 0;
            last = number;
            if (pg->n_pages && iom_page_at(pg, number)) counter = &paged;
            else if (number >= up && number - up < reach) counter = &in_page[number - up];
            else if (number <= down && down - number < reach)
                counter = &in_page[reach + down - number];
            else counter = &dummy;
        }
        run++;
    }
    *counter += run;
    /* In each direction, the furthest reach at which the pages made up to it
     * (those the batch has ids in; a gap in the numbering makes none) keep the
     * pages dense enough. */
    int64_t pages = pg->n_pages, entries = pg->count + paged;
    int64_t made[2] = {0, 0}; /* pages reached, upwards and downwards */
    for (int dir = 0; dir < 2; dir++) {
        const int64_t *count = in_page + (dir ? reach : 0);
        int64_t p = pages, e = entries;
        for (int64_t k = 0; k < reach; k++) {
            if (count[k] == 0) continue;
            p++;
            e += count[k];
            if (p * IOM_PAGE_IDS <= IOM_PAGE_DENSITY * e + IOM_PAGE_FLOOR * IOM_PAGE_IDS) {
                made[dir] = k + 1;
                pages = p;
                entries = e;
            }
        }
    }
    if (made[0] + made[1] == 0) {
        free(in_page);
        return inserts - paged;
    }
    /* the lowest and highest page numbers held once the pages are made */
    int64_t new_lo = INT64_MAX, new_hi = INT64_MIN;
    if (pg->n_pages) {
        new_lo = pg->lo;
        new_hi = pg->hi;
    }
    for (int dir = 0; dir < 2; dir++) {
        const int64_t *count = in_page + (dir ? reach : 0);
        for (int64_t k = 0; k < made[dir]; k++) {
            if (count[k] == 0) continue;
            int64_t number = dir ? down - k : up + k;
            if (number < new_lo) new_lo = number;
            if (number > new_hi) new_hi = number;
        }
    }
    int64_t size = pg->mask + 1;
    while (size <= new_hi - new_lo) size *= 2;
    if (size > pg->mask + 1 && iom_pages_alloc_table(pg, size) != IOM_OK) {
        free(in_page);
        return IOM_ENOMEM;
    }
    /* The pages to make: up + k (k < made[0]) and down - k (k < made[1])
     * with ids, each joining the run as it is made. Memory running out leaves
     * the ones made so far empty at the ends of the run (its old ends hold
     * entries, after the trim above): trimming again frees them. */
    for (int dir = 0; dir < 2; dir++) {
        const int64_t *count = in_page + (dir ? reach : 0);
        for (int64_t k = 0; k < made[dir]; k++) {
            if (count[k] == 0) continue;
            int64_t number = dir ? down - k : up + k;
            iom_page *p = &pg->table[number & pg->mask];
            p->slot = iom_page_new(pg);
            if (!p->slot) {
                iom_pages_trim(pg);
                free(in_page);
                return IOM_ENOMEM;
            }
            p->number = number;
            p->live = 0;
            if (pg->n_pages++ == 0 || number < pg->lo) pg->lo = number;
            if (pg->n_pages == 1 || number > pg->hi) pg->hi = number;
        }
    }
    free(in_page);
    return inserts - (entries - pg->count);
}

