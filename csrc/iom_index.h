/*
 * iom_index: the event-id index, from an event id to the slot that holds it.
 *
 * Two structures, and an id is held in exactly one of them:
 *
 * - The id pages, a direct map for ids numbered in sequence (as sources
 *   number their events). A page holds the slots of IOM_PAGE_IDS consecutive
 *   ids (slot + 1 each, 0 for an id not held), found by page number in a
 *   small table. A day's new ids, and the ids of the day that expires, then
 *   cost a sequential write each. Pages are made (iom_pages_plan, before any
 *   change) only where a batch's ids are dense, growing the run of pages at
 *   either end, so scattered ids cannot spend memory here. A page is freed
 *   once it is empty and at either end of the run (iom_pages_trim).
 *
 * - The hashed index, for every other id: chunks of IOM_CHUNK_SLOTS entries,
 *   one cache line each. An entry is a tag byte (0: free) and a slot word:
 *   the slot in its low 28 bits, four more bits of the hash above; the key
 *   itself is read from the caller's keys[slot * stride]. The index hashes an
 *   id's group of eight (id >> IOM_GROUP_BITS), so a run of ids shares a home
 *   chunk and costs a miss per group, not per id. Collisions walk on to the
 *   next chunks; a chunk counts, in four lanes by two bits of the hash, the
 *   entries that passed it full on their way from an earlier home, so a
 *   lookup stops at the first chunk with none in its lane, and a delete
 *   empties its entry outright (no tombstones, so deletes never degrade it).
 *   A key above key_max was never put, so a day's new ids, numbered above
 *   every id held, are known new without a walk.
 *
 * The functions here change only the index and pages: the caller keeps the
 * keys (the store's ev_id) and the slots.
 */
#ifndef IOM_INDEX_H
#define IOM_INDEX_H

#include "iom_base.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

#define IOM_PAGE_BITS 12
#define IOM_PAGE_IDS ((int64_t)1 << IOM_PAGE_BITS)
#define IOM_PAGE_MASK (IOM_PAGE_IDS - 1)
/* Freed pages kept for reuse: a day frees a few at the bottom and makes a
 * few at the top, and a reused page (zero already) costs no allocation and
 * no first-touch faults. */
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

/* ---- the hashed index: lifecycle (iom_index.c) -------------------------- */

/* An empty index of n_chunks chunks (replacing what ix held). */
int iom_index_alloc(iom_index *ix, int64_t n_chunks);
/* Room for `extra` more entries (a rebuild past a load of 0.8). The rebuild
 * re-puts keys[slot * stride] of the slots [0, top) whose kind is not
 * IOM_DEAD_KIND and that are not held in `pages`; or, when the index holds
 * few of those, its own entries. */
int iom_index_fit(iom_index *ix, int64_t extra, const int64_t *keys, int64_t stride, int64_t top,
                  const uint16_t *kinds, const iom_pages *pages);

/* ---- the id pages: lifecycle (iom_index.c) ------------------------------ */

int iom_pages_alloc_table(iom_pages *pg, int64_t size);
void iom_pages_free(iom_pages *pg);
/* Free the empty pages at either end of the run. */
void iom_pages_trim(iom_pages *pg);
/* Make the pages a batch's inserts justify (rows whose action inserts), before
 * any change; with make == 0 none are made. Returns how many inserted rows
 * will have no page (the hashed index's share), or IOM_ENOMEM with no page
 * made. */
int64_t iom_pages_plan(iom_pages *pg, int make, int64_t n, const int64_t *ids,
                       const int8_t *action, int64_t inserts);

/* ---- the hashed index: lookups and changes (inline: hot loops) ---------- */

/* The ids of a group (id >> IOM_GROUP_BITS) share a home chunk: a run of
 * consecutive ids costs one miss per group. Ids in no order still spread
 * evenly, one group each. */
#define IOM_GROUP_BITS 3

/* Home chunk: the group's hash scaled to the chunk count (high bits; the
 * count need not be a power of two, so the load can be set to the byte). */
static inline int64_t iom_home(const iom_index *ix, uint64_t h) {
    return (int64_t)(((unsigned __int128)h * (uint64_t)ix->n_chunks) >> 64);
}

/* A tag byte: the high bit marks a used entry, then four low bits of the
 * group's hash (against other groups in the chunk) and the id's place in its
 * group (against the group's own ids). An entry of another group matches by
 * chance 1 time in 128; a match is confirmed by the key. */
static inline uint8_t iom_tag(uint64_t h, int64_t key) {
    return (uint8_t)(0x80u | ((h & 0xFu) << IOM_GROUP_BITS) |
                     ((uint64_t)key & ((1u << IOM_GROUP_BITS) - 1)));
}

/* The top four bits of an entry's slot word (slots are below 2**28) hold four
 * more bits of the group's hash. A lookup reads an entry's key, a random miss
 * in ev_id, only for an entry that matches in tag and in these bits: 1 entry
 * of another group in 2,048 instead of 1 in 128. A key read can start only
 * once its chunk has arrived, so no prefetch hides it: these bits save most
 * of those reads. */
#define IOM_SLOT_BITS 28
#define IOM_SLOT_MASK ((1u << IOM_SLOT_BITS) - 1)
_Static_assert(IOM_MAX_SLOTS <= IOM_SLOT_MASK, "slots leave the top four bits of a word free");

static inline uint32_t iom_check(uint64_t h) {
    return (uint32_t)((h >> 6) & 0xFu) << IOM_SLOT_BITS;
}

/* The entries of a chunk whose tag byte equals `tag` (0: the free ones), as
 * bits 0..IOM_CHUNK_SLOTS-1. */
static inline uint32_t iom_chunk_match(const iom_chunk *c, uint8_t tag) {
#if defined(__SSE2__)
    /* the sixteen bytes are the tags and the overflow counts, which the mask drops */
    __m128i bytes = _mm_load_si128((const __m128i *)c->tag);
    uint32_t m = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8((char)tag)));
    return m & ((1u << IOM_CHUNK_SLOTS) - 1);
#else
    uint32_t m = 0;
    for (int i = 0; i < IOM_CHUNK_SLOTS; i++) m |= (uint32_t)(c->tag[i] == tag) << i;
    return m;
#endif
}

/* Write byte i of a chunk's first sixteen (tags 0-11, overflow counts
 * 12-15). The next lookup in the chunk loads all sixteen at once, which a
 * pending one-byte store cannot forward to: the load waits until the store
 * retires. Rewriting the sixteen as one store lets it forward, so a run of
 * deletes or puts in one chunk (a group of ids) does not stall on itself. */
static inline void iom_chunk_set_byte(iom_chunk *c, int i, uint8_t value) {
#if defined(__SSE2__)
    const __m128i at = _mm_cmpeq_epi8(_mm_set1_epi8((char)i),
                                      _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    __m128i bytes = _mm_load_si128((const __m128i *)c->tag);
    bytes = _mm_or_si128(_mm_andnot_si128(at, bytes), _mm_and_si128(at, _mm_set1_epi8((char)value)));
    _mm_store_si128((__m128i *)c->tag, bytes);
#else
    ((uint8_t *)c)[i] = value;
#endif
}

/* Which of a chunk's four overflow counts a group's entries use: a lookup
 * walks on only while its own lane's count is not 0, so a clump of one group
 * spilling over does not send every other group's lookups on too. Counts stop
 * at 255 and then stay there (a lookup walks on, never wrongly stops). */
static inline int iom_lane(uint64_t h) { return (int)(h >> 4) & 3; }

static inline void iom_lane_up(iom_chunk *c, int lane) {
    uint8_t n = c->overflow[lane];
    if (n != 255) iom_chunk_set_byte(c, IOM_CHUNK_SLOTS + lane, (uint8_t)(n + 1));
}

static inline void iom_lane_down(iom_chunk *c, int lane) {
    uint8_t n = c->overflow[lane];
    if (n != 255) iom_chunk_set_byte(c, IOM_CHUNK_SLOTS + lane, (uint8_t)(n - 1));
}

static inline int64_t iom_next_chunk(const iom_index *ix, int64_t c) {
    return c + 1 == ix->n_chunks ? 0 : c + 1;
}


/* Keys live outside the index: keys[slot * stride] (stride in int64 units).
 * The walk from the home chunk stops at a chunk that no entry of the key's
 * lane, homed before it, has passed (that lane's overflow count is 0).
 *
 * A key above key_max was never put, so it is not held: no walk at all.
 * Sources number their events in sequence, so a day's new events come above
 * every id held, and classifying them (whether each is new, a duplicate or a
 * correction) needs no read of the index. Corrections, and ids below the
 * highest held, still take the walk. */
static inline int64_t iom_index_find(const iom_index *ix, const int64_t *keys, int64_t stride,
                                     int64_t key) {
    if (key > ix->key_max) return -1;
    uint64_t h = iom_mix(key >> IOM_GROUP_BITS);
    uint8_t tag = iom_tag(h, key);
    uint32_t check = iom_check(h);
    int64_t c = iom_home(ix, h);
    for (int64_t seen = 0; seen < ix->n_chunks; seen++) {
        const iom_chunk *chunk = &ix->chunks[c];
        for (uint32_t m = iom_chunk_match(chunk, tag); m; m &= m - 1) {
            uint32_t word = chunk->slot[__builtin_ctz(m)];
            if ((word & ~IOM_SLOT_MASK) != check) continue;
            int64_t slot = word & IOM_SLOT_MASK;
            if (keys[slot * stride] == key) return slot;
        }
        if (chunk->overflow[iom_lane(h)] == 0) return -1;
        c = iom_next_chunk(ix, c);
    }
    return -1;
}

/* Insert a key known to be absent: the first free entry from its home chunk
 * on; every full chunk passed counts one more overflow. */
static inline void iom_index_put(iom_index *ix, int64_t key, int64_t slot) {
    if (key > ix->key_max) ix->key_max = key;
    uint64_t h = iom_mix(key >> IOM_GROUP_BITS);
    int64_t c = iom_home(ix, h);
    for (;;) {
        iom_chunk *chunk = &ix->chunks[c];
        uint32_t free_entries = iom_chunk_match(chunk, 0);
        if (free_entries) {
            int i = __builtin_ctz(free_entries);
            iom_chunk_set_byte(chunk, i, iom_tag(h, key));
            chunk->slot[i] = (uint32_t)slot | iom_check(h);
            ix->count++;
            return;
        }
        iom_lane_up(chunk, iom_lane(h));
        c = iom_next_chunk(ix, c);
    }
}

/* Delete a held key's entry: the chunks its put passed count one overflow
 * fewer. Nothing is left behind, so deletes never degrade the index (no
 * tombstones, hence no rebuilds but for growth). */
static inline void iom_index_delete(iom_index *ix, int64_t key, int64_t slot) {
    uint64_t h = iom_mix(key >> IOM_GROUP_BITS);
    uint8_t tag = iom_tag(h, key);
    uint32_t word = (uint32_t)slot | iom_check(h);
    int64_t c = iom_home(ix, h);
    for (;;) {
        iom_chunk *chunk = &ix->chunks[c];
        for (uint32_t m = iom_chunk_match(chunk, tag); m; m &= m - 1) {
            int i = __builtin_ctz(m);
            if (chunk->slot[i] == word) {
                iom_chunk_set_byte(chunk, i, 0);
                ix->count--;
                return;
            }
        }
        iom_lane_down(chunk, iom_lane(h));
        c = iom_next_chunk(ix, c);
    }
}

IOM_PREFETCHER void iom_index_prefetch(const iom_index *ix, int64_t key) {
    if (key > ix->key_max) return; /* iom_index_find will not look */
    const iom_chunk *home = &ix->chunks[iom_home(ix, iom_mix(key >> IOM_GROUP_BITS))];
    IOM_PREFETCH(home);
    /* where a walk goes on to: a third of the chunks have overflow at a load
     * of 0.6-0.7 (past the end of the table: a harmless prefetch) */
    IOM_PREFETCH(home + 1);
}

/* A put walks on to the first chunk with a free entry, further than a lookup
 * (which stops at the first chunk with no overflow in its lane): a day's new
 * ids of one group, put side by side, fill their home chunk and spill on,
 * so four chunks from home are prefetched. Chunks past the end of the table
 * are prefetched for nothing, harmlessly. */
#define IOM_PUT_AHEAD_CHUNKS 4
IOM_PREFETCHER void iom_index_prefetch_put(const iom_index *ix, const int64_t *keys, int64_t stride,
                                           int64_t i) {
    int64_t key = keys[i * stride];
    /* a run of one group's ids shares these chunks: once for the run */
    if (i > 0 && (keys[(i - 1) * stride] >> IOM_GROUP_BITS) == (key >> IOM_GROUP_BITS)) return;
    const iom_chunk *home = &ix->chunks[iom_home(ix, iom_mix(key >> IOM_GROUP_BITS))];
    for (int k = 0; k < IOM_PUT_AHEAD_CHUNKS; k++) IOM_PREFETCH(home + k);
}

/* Second prefetch stage: the home chunk is (likely) in cache by now, so fetch
 * the key of the first entry whose tag is the key's. A guess: right whenever
 * the key sits in its home chunk, as most do. A new key (most rows of a day's
 * batch) seldom matches a tag, and then nothing is fetched: a key read for
 * nothing costs a miss too. */
static inline const void *iom_index_guess(const iom_index *ix, const void *base, size_t size,
                                          int64_t key) {
    if (key > ix->key_max) return NULL;
    uint64_t h = iom_mix(key >> IOM_GROUP_BITS);
    const iom_chunk *chunk = &ix->chunks[iom_home(ix, h)];
    uint32_t check = iom_check(h);
    for (uint32_t m = iom_chunk_match(chunk, iom_tag(h, key)); m; m &= m - 1) {
        uint32_t word = chunk->slot[__builtin_ctz(m)];
        if ((word & ~IOM_SLOT_MASK) == check)
            return (const char *)base + (size_t)(word & IOM_SLOT_MASK) * size;
    }
    return NULL;
}

/* Prefetch p unless it is NULL (a guess that found nothing): a prefetch of
 * an address with no mapping is dropped, but only after a page walk. */
IOM_PREFETCHER void iom_prefetch_some(const void *p) {
    if (p) IOM_PREFETCH(p);
}


/* ---- the id pages and the two together (inline) ------------------------ */

/* The page of that number, or NULL if there is none. */
static inline iom_page *iom_page_at(const iom_pages *pg, int64_t number) {
    iom_page *p = &pg->table[number & pg->mask];
    return p->slot != NULL && p->number == number ? p : NULL;
}

/* The page that holds id's entry, or NULL if there is none. */
static inline iom_page *iom_page_of(const iom_pages *pg, int64_t id) {
    return iom_page_at(pg, id >> IOM_PAGE_BITS);
}

/* An id's slot in the pages, or -1: not held there (it may be in the index). */
static inline int64_t iom_pages_find(const iom_pages *pg, int64_t id) {
    const iom_page *p = iom_page_of(pg, id);
    return p ? (int64_t)p->slot[id & IOM_PAGE_MASK] - 1 : -1;
}

/* The id's slot, from its page or else the hashed index; -1 if not held. */
static inline int64_t iom_id_find(const iom_pages *pg, const iom_index *ix, const int64_t *keys,
                                  int64_t id) {
    int64_t slot = iom_pages_find(pg, id);
    return slot >= 0 ? slot : iom_index_find(ix, keys, 1, id);
}

/* Put an id known not to be held: in its page if it has one, else in the
 * index. */
static inline void iom_id_put(iom_pages *pg, iom_index *ix, int64_t id, int64_t slot) {
    iom_page *p = iom_page_of(pg, id);
    if (p) {
        p->slot[id & IOM_PAGE_MASK] = (uint32_t)slot + 1;
        p->live++;
        pg->count++;
    } else {
        iom_index_put(ix, id, slot);
    }
}

/* Delete a held id's entry, wherever it is. A page left empty stays until
 * iom_pages_trim, so the pages a batch planned (iom_pages_plan) are all
 * still there for its inserts after its retractions. */
static inline void iom_id_delete(iom_pages *pg, iom_index *ix, int64_t id, int64_t slot) {
    iom_page *p = iom_page_of(pg, id);
    if (p && p->slot[id & IOM_PAGE_MASK] == (uint32_t)slot + 1) {
        p->slot[id & IOM_PAGE_MASK] = 0;
        p->live--;
        pg->count--;
    } else {
        iom_index_delete(ix, id, slot);
    }
}

/* Prefetch where a lookup of id will read: its page entry (the table is
 * small and stays in cache), or else the index's chunk. */
IOM_PREFETCHER void iom_id_prefetch(const iom_pages *pg, const iom_index *ix, int64_t id) {
    const iom_page *p = iom_page_of(pg, id);
    if (p) IOM_PREFETCH(&p->slot[id & IOM_PAGE_MASK]);
    else iom_index_prefetch(ix, id);
}

/* The put prefetch for row i of ids: a row with a page is a sequential
 * write and needs none. */
IOM_PREFETCHER void iom_id_prefetch_put(const iom_pages *pg, const iom_index *ix,
                                        const int64_t *ids, int64_t i) {
    if (!iom_page_of(pg, ids[i])) iom_index_prefetch_put(ix, ids, 1, i);
}


#endif
