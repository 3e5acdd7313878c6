/* iom_store: see iom_store.h for the design. */
#include "iom_store.h"
#include "iom_helper.h"

#include <assert.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define IOM_LINE 64
/* A chunk is one cache line; its first sixteen bytes, tags then overflow
 * counts, are loaded and stored as one (iom_chunk_match, iom_chunk_set_byte). */
_Static_assert(sizeof(iom_chunk) == IOM_LINE, "an iom_chunk must fill one cache line");
_Static_assert(offsetof(iom_chunk, overflow) == IOM_CHUNK_SLOTS, "overflow counts follow the tags");
_Static_assert(IOM_CHUNK_SLOTS + 4 == 16, "tags and overflow counts fill sixteen bytes");
/* Rows ahead at which the two prefetch stages of a batch loop run. */
#ifndef IOM_AHEAD_FAR
#define IOM_AHEAD_FAR 48
#endif
#ifndef IOM_AHEAD_NEAR
#define IOM_AHEAD_NEAR 24
#endif
#define IOM_HUGE_BYTES ((size_t)8 << 20)
#define IOM_HUGE_ALIGN ((size_t)2 << 20)

#if defined(__GNUC__) || defined(__clang__)
#ifndef IOM_LOCALITY
#define IOM_LOCALITY 3
#endif
#define IOM_PREFETCH(p) __builtin_prefetch((p), 1, IOM_LOCALITY)
/* For helpers that only prefetch. GCC sees no side effect in them: one it
 * leaves out of line (a second prefetch in the body is enough, at -O3) is a
 * "const" call whose result nobody uses, and every call of it is deleted. */
#define IOM_PREFETCHER static inline __attribute__((always_inline))
#else
#define IOM_PREFETCH(p) ((void)0)
#define IOM_PREFETCHER static inline
#endif

/* ---- memory ------------------------------------------------------------- */

/* Large arrays are advised for transparent huge pages (the 2 MiB-aligned
 * part of them). Growth goes through realloc, which moves a large block by
 * remapping its pages rather than copying them. */
static void iom_advise(void *p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes < IOM_HUGE_BYTES) return;
    uintptr_t lo = ((uintptr_t)p + IOM_HUGE_ALIGN - 1) & ~(uintptr_t)(IOM_HUGE_ALIGN - 1);
    uintptr_t hi = ((uintptr_t)p + bytes) & ~(uintptr_t)(IOM_HUGE_ALIGN - 1);
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

static void *iom_alloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (p) iom_advise(p, bytes);
    return p;
}

/* Working memory of an operation (apply, advance), kept by the store between
 * calls up to IOM_SCRATCH_KEEP bytes: a day's 27,000 rows need about 0.5 MB,
 * and a fresh block that size comes from mmap, whose first touch of each
 * page faults (a day's apply spent 40-50 us of its 0.7-0.9 ms on them).
 * A larger request (a bulk load) gets a block of its own; release it with
 * iom_scratch_done. */
#define IOM_SCRATCH_KEEP ((size_t)8 << 20)

static void *iom_scratch(iom_store *s, size_t bytes) {
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

static void iom_scratch_done(iom_store *s, void *p) {
    if (p != s->scratch) free(p);
}

/* Grow *p to n items of `size` bytes, keeping the contents. */
static int iom_grow(void **p, int64_t n, size_t size) {
    size_t bytes = (size_t)n * size;
    void *q = realloc(*p, bytes ? bytes : 1);
    if (!q) return IOM_ENOMEM;
    iom_advise(q, bytes);
    *p = q;
    return IOM_OK;
}

/* Grow *p from old_n to n items of `size` bytes, keeping the contents, into
 * a new block advised for huge pages before its first touch. For arrays read
 * at random that grow a step at a time (the nominal records, as a load adds
 * nominals one by one): realloc's remap keeps a grown block on the 4 KiB
 * pages it was first touched on, and a record read at random then misses the
 * TLB too. The nominal records of a national load held no huge page that
 * way (16 MB, /proc/self/smaps). */
static int iom_grow_fresh(void **p, int64_t old_n, int64_t n, size_t size) {
    size_t bytes = (size_t)n * size;
    if (bytes < IOM_HUGE_BYTES) return iom_grow(p, n, size);
    void *q = iom_alloc(bytes);
    if (!q) return IOM_ENOMEM;
    if (*p && old_n > 0) memcpy(q, *p, (size_t)old_n * size);
    free(*p);
    *p = q;
    return IOM_OK;
}

/* A zeroed block of `bytes` aligned to a cache line (malloc's large blocks
 * start 16 bytes past a page), advised for huge pages before its first
 * touch; *raw is what to free. NULL if memory runs out. */
static void *iom_alloc_lines(size_t bytes, void **raw) {
    *raw = calloc(bytes + IOM_LINE, 1);
    if (!*raw) return NULL;
    void *p = (void *)(((uintptr_t)*raw + IOM_LINE - 1) & ~(uintptr_t)(IOM_LINE - 1));
    iom_advise(p, bytes);
    return p;
}

/* ---- hashing ------------------------------------------------------------ */

/* splitmix64's finaliser: sequential ids spread over the whole table. */
static inline uint64_t iom_mix(int64_t key) {
    uint64_t z = (uint64_t)key + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* ---- the event-id index ------------------------------------------------- */

/* Sources number their events in sequence, and a day's batch, like a day's
 * expiry, is a run of nearly consecutive ids. The index hashes an id's group
 * (id >> IOM_GROUP_BITS) rather than the id, so the ids of a group share a
 * home chunk, one cache line: a run of ids costs one miss per group, not
 * one per id. Ids in no order still spread evenly, one group each. */
#ifndef IOM_GROUP_BITS
#define IOM_GROUP_BITS 3
#endif

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
 * once its chunk has arrived, so no prefetch hides it: looking up a day's new
 * ids made 0.107 of them a lookup, at 80-150 ns each, most of the lookup's
 * 27 ns; now 0.007, and 19 ns a lookup (bench/index_day.c). */
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
 * deletes or puts in one chunk (a group of ids) does not stall on itself.
 * Deleting runs of ids from 20M entries took 22-85 ns an id with byte
 * stores, 6.5-16 ns with this (an isolated test, warm and evicted). */
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

/* Chunks on a cache line of their own (calloc aligns to 16 bytes only; the
 * zeroed pages of a large calloc come from the kernel untouched). */
static int iom_index_alloc(iom_index *ix, int64_t n_chunks) {
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

/* The load a bulk load or a rebuild sizes the index for, in percent. Lower
 * loads shorten walks: a day's lookups of new ids took 19.8-25.2 ns an id at
 * 70%, 15.7-18.3 at 60%, 14.0-14.7 at 50%; puts 17.9-21.6, 13.3-15.5 and 11.0
 * (bench/index_day.c). 60% costs 8.9 bytes an event (7.6 at 70%, 10.7 at
 * 50%), which keeps a buffered event under 32 bytes with room to spare. */
#ifndef IOM_INDEX_LOAD_PCT
#define IOM_INDEX_LOAD_PCT 60
#endif

/* Chunks for `count` entries at IOM_INDEX_LOAD_PCT (at least two). */
static int64_t iom_chunks_for(int64_t count) {
    int64_t per_chunk = IOM_INDEX_LOAD_PCT * IOM_CHUNK_SLOTS; /* entries x 100 */
    int64_t n = (count * 100 + per_chunk - 1) / per_chunk;
    return n < 2 ? 2 : n;
}

/* Keys live outside the index: keys[slot * stride] (stride in int64 units).
 * The walk from the home chunk stops at a chunk that no entry of the key's
 * lane, homed before it, has passed (that lane's overflow count is 0).
 *
 * A key above key_max was never put, so it is not held: no walk at all.
 * Sources number their events in sequence, so a day's new events come above
 * every id held, and classifying them (whether each is new, a duplicate or a
 * correction) needs no read of the index: a day's lookups of new ids took
 * 20-30 ns an id, now 4 ns (bench/index_day.c), and classify's share of a
 * national day fell from 0.77 to 0.42 ms. Corrections, and ids below the
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
 * ids of one group, put side by side, fill their home chunk and spill on.
 * Prefetching four chunks from home: a day's puts took 16-18 ns an id, two
 * chunks 20-22 ns, three 18 ns, six 17-18 ns (bench/index_day.c). Chunks
 * past the end of the table are prefetched for nothing, harmlessly. */
#ifndef IOM_PUT_AHEAD_CHUNKS
#define IOM_PUT_AHEAD_CHUNKS 4
#endif
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

/* ---- the id pages ------------------------------------------------------- */

/* Whether a row's ingest action inserts an event, or withdraws the one held. */
static inline int iom_acts_insert(int8_t action) {
    return action == IOM_ACT_INSERT || action == IOM_ACT_REPLACE;
}

static inline int iom_acts_retract(int8_t action) {
    return action == IOM_ACT_RETRACT || action == IOM_ACT_REPLACE;
}


#define IOM_PAGE_MASK (IOM_PAGE_IDS - 1)
/* A batch may make new pages while the pages' entries stay at least this
 * dense (1 in 4: 16 bytes of page an id at worst), past a floor of
 * IOM_PAGE_FLOOR pages that small stores may use whatever their density. */
#define IOM_PAGE_DENSITY 4
#define IOM_PAGE_FLOOR 16

static int iom_pages_alloc_table(iom_pages *pg, int64_t size) {
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

static void iom_pages_free(iom_pages *pg) {
    for (int64_t i = 0; pg->table && i <= pg->mask; i++) free(pg->table[i].slot);
    for (int64_t i = 0; i < pg->n_spare; i++) free(pg->spare[i]);
    free(pg->table);
    memset(pg, 0, sizeof(*pg));
}

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
static void iom_pages_trim(iom_pages *pg) {
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
static int64_t iom_pages_plan(iom_store *s, int64_t n, const int64_t *ids, const int8_t *action,
                              int64_t inserts) {
    iom_pages *pg = &s->ev_pages;
    iom_pages_trim(pg);
    int64_t paged = 0; /* rows whose page is held already */
    if (!s->use_pages || inserts == 0) {
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
     * stores: 27-42 us of a national day) */
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

/* ---- the nominal map ---------------------------------------------------- */

_Static_assert(sizeof(iom_nline) == IOM_LINE, "an iom_nline must fill one cache line");
_Static_assert(sizeof(iom_nline32) == IOM_LINE, "an iom_nline32 must fill one cache line");

static inline int iom_narrow_id(int64_t key) { return (uint64_t)key < IOM_NARROW_FREE; }

/* A table of n_lines (a power of two) free lines: every key byte 0xFF is -1
 * in a wide line and IOM_NARROW_FREE in a narrow one. */
static int iom_ntable_alloc(iom_ntable *t, int64_t n_lines) {
    void *raw;
    void *lines = iom_alloc_lines((size_t)n_lines * IOM_LINE, &raw);
    if (!lines) return IOM_ENOMEM;
    for (int64_t i = 0; i < n_lines; i++) memset((char *)lines + i * IOM_LINE, 0xFF, 32);
    free(t->raw);
    t->raw = raw;
    t->lines = lines;
    t->mask = n_lines - 1;
    t->count = 0;
    return IOM_OK;
}

static int iom_nmap_alloc(iom_nmap *m, int64_t n_lines) {
    if (iom_ntable_alloc(&m->narrow, n_lines) || iom_ntable_alloc(&m->wide, n_lines))
        return IOM_ENOMEM;
    return IOM_OK;
}

static void iom_nmap_free(iom_nmap *m) {
    free(m->narrow.raw);
    free(m->wide.raw);
    memset(m, 0, sizeof(*m));
}

#if defined(__SSE2__)
/* Bit j set where 32-bit word j of the 32 bytes at p (aligned) equals word
 * j % 4 of k: a line's keys, compared at once. */
static inline unsigned iom_eq32x8(const void *p, __m128i k) {
    __m128i lo = _mm_load_si128((const __m128i *)p);
    __m128i hi = _mm_load_si128((const __m128i *)p + 1);
    return (unsigned)_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(lo, k))) |
           (unsigned)_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(hi, k))) << 4;
}
#endif

/* Bit k set where key[k] of the line is the key: both 32-bit halves equal
 * (SSE2 has no 64-bit compare). */
static inline unsigned iom_nline_match(const iom_nline *l, int64_t key) {
#if defined(__SSE2__)
    unsigned eq = iom_eq32x8(l->key, _mm_set1_epi64x(key));
    eq &= eq >> 1; /* bit 2k: both halves of key[k] */
    return (eq & 1) | (eq >> 1 & 2) | (eq >> 2 & 4) | (eq >> 3 & 8);
#else
    unsigned hit = 0;
    for (int k = 0; k < IOM_NLINE_KEYS; k++) hit |= (unsigned)(l->key[k] == key) << k;
    return hit;
#endif
}

/* The same for a narrow line's eight keys. */
static inline unsigned iom_nline32_match(const iom_nline32 *l, uint32_t key) {
#if defined(__SSE2__)
    return iom_eq32x8(l->key, _mm_set1_epi32((int)key));
#else
    unsigned hit = 0;
    for (int k = 0; k < IOM_NARROW_KEYS; k++) hit |= (unsigned)(l->key[k] == key) << k;
    return hit;
#endif
}

static inline int64_t iom_home_line(const iom_ntable *t, int64_t key) {
    return (int64_t)(iom_mix(key) & (uint64_t)t->mask);
}

static inline int64_t iom_nmap_find(const iom_nmap *m, int64_t key) {
    if (iom_narrow_id(key)) {
        const iom_nline32 *lines = (const iom_nline32 *)m->narrow.lines;
        for (int64_t line = iom_home_line(&m->narrow, key);; line = (line + 1) & m->narrow.mask) {
            unsigned hit = iom_nline32_match(&lines[line], (uint32_t)key);
            if (hit) return lines[line].index[__builtin_ctz(hit)];
            if (lines[line].key[IOM_NARROW_KEYS - 1] == IOM_NARROW_FREE) return -1;
        }
    }
    if (key < 0) return -1; /* -1 marks a free entry; ids are >= 0 */
    const iom_nline *lines = (const iom_nline *)m->wide.lines;
    for (int64_t line = iom_home_line(&m->wide, key);; line = (line + 1) & m->wide.mask) {
        unsigned hit = iom_nline_match(&lines[line], key);
        if (hit) return lines[line].index[__builtin_ctz(hit)];
        if (lines[line].key[IOM_NLINE_KEYS - 1] < 0) return -1;
    }
}

/* Put a key not held (>= 0) in the first free entry from its home line on. */
static inline void iom_nmap_put(iom_nmap *m, int64_t key, int64_t index) {
    int narrow = iom_narrow_id(key);
    iom_ntable *t = narrow ? &m->narrow : &m->wide;
    for (int64_t line = iom_home_line(t, key);; line = (line + 1) & t->mask) {
        int k = 0;
        if (narrow) {
            iom_nline32 *l = (iom_nline32 *)t->lines + line;
            while (k < IOM_NARROW_KEYS && l->key[k] != IOM_NARROW_FREE) k++;
            if (k == IOM_NARROW_KEYS) continue;
            l->key[k] = (uint32_t)key;
            l->index[k] = (int32_t)index;
        } else {
            iom_nline *l = (iom_nline *)t->lines + line;
            while (k < IOM_NLINE_KEYS && l->key[k] >= 0) k++;
            if (k == IOM_NLINE_KEYS) continue;
            l->key[k] = key;
            l->index[k] = index;
        }
        t->count++;
        return;
    }
}

IOM_PREFETCHER void iom_nmap_prefetch(const iom_nmap *m, int64_t key) {
    const iom_ntable *t = iom_narrow_id(key) ? &m->narrow : &m->wide;
    IOM_PREFETCH((const char *)t->lines + iom_home_line(t, key) * IOM_LINE);
}

/* Lines for `keys` keys at a load of at most 1/2, at least `lines` (powers of
 * two): at that load about one key in 25 sits past its home line (1M keys,
 * wide lines; fewer in narrow ones, with eight entries a line). */
static int64_t iom_nlines_for(int64_t keys, int per_line, int64_t lines) {
    while (lines * per_line < keys * 2) lines <<= 1;
    return lines;
}

/* Put again every key of nom_id[0, n) that belongs to the table t of m,
 * once t has been made afresh (empty). */
static void iom_nmap_refill(iom_nmap *m, const iom_ntable *t, const int64_t *nom_id, int64_t n) {
    int narrow = t == &m->narrow;
    for (int64_t i = 0; i < n; i++) {
        if (i + IOM_AHEAD_FAR < n) iom_nmap_prefetch(m, nom_id[i + IOM_AHEAD_FAR]);
        if (iom_narrow_id(nom_id[i]) == narrow) iom_nmap_put(m, nom_id[i], i);
    }
}

/* Room for one more key, `key`, in its table (doubling it, and putting its
 * keys again from nom_id[0, n), past a load of 1/2). */
static int iom_nmap_fit(iom_nmap *m, int64_t key, const int64_t *nom_id, int64_t n) {
    int narrow = iom_narrow_id(key);
    iom_ntable *t = narrow ? &m->narrow : &m->wide;
    int per_line = narrow ? IOM_NARROW_KEYS : IOM_NLINE_KEYS;
    if ((t->count + 1) * 2 <= (t->mask + 1) * per_line) return IOM_OK;
    int rc = iom_ntable_alloc(t, iom_nlines_for(t->count + 1, per_line, (t->mask + 1) * 2));
    if (rc != IOM_OK) return rc;
    iom_nmap_refill(m, t, nom_id, n);
    return IOM_OK;
}

/* Bytes held by both tables. */
static int64_t iom_nmap_bytes(const iom_nmap *m) {
    return (m->narrow.mask + 1 + m->wide.mask + 1) * (int64_t)IOM_LINE;
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
 * follows the index's size, not the store's: at 200M events in pages, a
 * rebuild for a day's few ids without a page walked every slot, a second. */
static int iom_index_fit(iom_index *ix, int64_t extra, const int64_t *keys, int64_t stride,
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

/* ---- growth ------------------------------------------------------------- */

static int iom_reserve_slots(iom_store *s, int64_t extra) {
    int64_t need = s->slot_top + (extra > s->n_free ? extra - s->n_free : 0);
    if (need > IOM_MAX_SLOTS) return IOM_ETOOMANY;
    if (need <= s->slot_cap) return IOM_OK;
    int64_t cap = s->slot_cap + s->slot_cap / 2;
    /* Headroom of 1/32 past a big batch: a window that holds a steady number of
     * events then recycles its expired slots without growing (growth of
     * arrays this size stalls for hundreds of milliseconds on first touch). */
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

/* Room on the free stack for `extra` more slots. */
static int iom_reserve_free(iom_store *s, int64_t extra) {
    int64_t need = s->n_free + extra;
    if (need <= s->free_cap) return IOM_OK;
    int64_t cap = s->free_cap + s->free_cap / 2;
    if (cap < need) cap = need;
    if (iom_grow((void **)&s->free_slots, cap, sizeof(int32_t))) return IOM_ENOMEM;
    s->free_cap = cap;
    return IOM_OK;
}

/* Room in a day's array for `extra` more slots. A day with no array takes
 * the spare (an expired day's) when there is one: a day's array is about as
 * long as the day before's. An array that must grow grows by an eighth at
 * least, so events that come late, a few a day to each of many days, neither
 * copy much nor leave much room unused. */
static int iom_day_reserve(iom_store *s, iom_day *d, int64_t extra) {
    int64_t need = d->len + extra;
    if (need <= d->cap) return IOM_OK;
    if (d->cap == 0 && s->spare.slots) {
        *d = s->spare;
        s->spare.slots = NULL;
        s->spare.cap = 0;
        if (need <= d->cap) return IOM_OK;
    }
    int64_t cap = d->cap ? d->cap + d->cap / 8 + 16 : 0;
    if (cap < need) cap = need;
    if (iom_grow((void **)&d->slots, cap, sizeof(int32_t))) return IOM_ENOMEM;
    d->cap = (int32_t)cap;
    return IOM_OK;
}

/* Room in each day's array for the batch's inserts dated that day. */
static int iom_reserve_days(iom_store *s, int64_t n, const int32_t *days, const int8_t *action,
                            int64_t inserts) {
    if (inserts == 0) return IOM_OK;
    /* A day's batch is dated that day: then one count, without a pass that
     * adds to one counter row after row (a chain of dependent stores, 50 us
     * for 27,000 rows). */
    int32_t other = 0;
    for (int64_t i = 0; i < n; i++) other |= days[i] ^ days[0];
    if (other == 0) return iom_day_reserve(s, &s->days[days[0] & s->ring_mask], inserts);
    int64_t ring = s->ring_mask + 1;
    int64_t *count = (int64_t *)calloc((size_t)ring, sizeof(int64_t));
    if (!count) return IOM_ENOMEM;
    for (int64_t i = 0; i < n; i++) count[days[i] & s->ring_mask] += iom_acts_insert(action[i]);
    int rc = IOM_OK;
    for (int64_t r = 0; r < ring && rc == IOM_OK; r++)
        if (count[r]) rc = iom_day_reserve(s, &s->days[r], count[r]);
    free(count);
    return rc;
}

/* Give up an emptied day's array: kept as the spare if it is the longer. */
static void iom_day_release(iom_store *s, iom_day *d) {
    if (d->cap > s->spare.cap) {
        free(s->spare.slots);
        s->spare = *d;
        s->spare.len = 0;
    } else {
        free(d->slots);
    }
    d->slots = NULL;
    d->len = 0;
    d->cap = 0;
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
        s->crossed_cap = cap;
    }
    return IOM_OK;
}

int iom_reserve_events(iom_store *s, int64_t extra) {
    int rc = iom_reserve_slots(s, extra);
    if (rc != IOM_OK) return rc;
    /* an upper bound: some of them may go to pages */
    return iom_index_fit(&s->ev_index, extra, s->ev_id, 1, s->slot_top, s->ev_kind, &s->ev_pages);
}

/* ---- lifecycle ---------------------------------------------------------- */

int iom_store_init(iom_store *s, int64_t ring_days, int64_t as_of, int64_t start,
                   const int64_t *points, int64_t n_kinds, const int64_t *thresholds) {
    memset(s, 0, sizeof(*s));
    memcpy(s->thresholds, thresholds, sizeof(s->thresholds));
    int64_t ring = 16;
    while (ring < ring_days) ring <<= 1;
    s->days = (iom_day *)calloc((size_t)ring, sizeof(iom_day));
    s->points = (int64_t *)malloc((size_t)(n_kinds > 0 ? n_kinds : 1) * sizeof(int64_t));
    if (!s->days || !s->points) return IOM_ENOMEM;
    s->ring_mask = ring - 1;
    memcpy(s->points, points, (size_t)n_kinds * sizeof(int64_t));
    s->n_kinds = n_kinds;
    s->parallel_min = IOM_PARALLEL_MIN;
    s->add_kernel = iom_add_kernel_supported(IOM_ADD_AVX512) ? IOM_ADD_AVX512 : IOM_ADD_PLAIN;
    s->fail_at_nominal = -1;
    s->use_pages = 1;
    s->as_of = as_of;
    s->start = start;
    if (iom_index_alloc(&s->ev_index, 2) || iom_nmap_alloc(&s->nom_map, 4) ||
        iom_pages_alloc_table(&s->ev_pages, 16))
        return IOM_ENOMEM;
    return iom_reserve_nominals(s, 0);
}

void iom_store_free(iom_store *s) {
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
    memset(s, 0, sizeof(*s));
}

int64_t iom_store_event_bytes(const iom_store *s) {
    int64_t day_slots = s->spare.cap + s->free_cap;
    for (int64_t r = 0; r <= s->ring_mask; r++) day_slots += s->days[r].cap;
    return s->slot_cap * (int64_t)(8 + 4 + 2 + 2) + day_slots * (int64_t)sizeof(int32_t) +
           s->ev_index.n_chunks * (int64_t)sizeof(iom_chunk) +
           (s->ev_pages.n_pages + s->ev_pages.n_spare) * IOM_PAGE_IDS * (int64_t)sizeof(uint32_t) +
           (s->ev_pages.mask + 1) * (int64_t)sizeof(iom_page) +
           (s->ring_mask + 1) * (int64_t)sizeof(iom_day);
}

int64_t iom_store_bytes(const iom_store *s) {
    /* per nominal: its record, its id, and room in the crossed list (index, old score) */
    return iom_store_event_bytes(s) + s->scratch_bytes +
           s->nom_cap * (int64_t)(sizeof(iom_nominal) + 8 + 4 + 8) +
           iom_nmap_bytes(&s->nom_map) + s->n_kinds * 8;
}

/* ---- lookups ------------------------------------------------------------ */

int64_t iom_find_event(const iom_store *s, int64_t event_id) {
    return iom_id_find(&s->ev_pages, &s->ev_index, s->ev_id, event_id);
}

int64_t iom_find_nominal(const iom_store *s, int64_t nominal_id) {
    return iom_nmap_find(&s->nom_map, nominal_id);
}

int64_t iom_event_day(const iom_store *s, int64_t slot) {
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
 * block when done with one. The reads are the same work row for row, yet in
 * a build with timers, halves fixed in advance left one thread waiting on the
 * other for up to a third of the step (107 us of 320 in a national day), its
 * core slowed by whatever the last step left in its cache; blocks cost
 * nothing more where the halves were even (bench/ab_day.py: the same
 * national day within the noise, at 2,048 or 8,192 rows a block). */
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

/* Branch-free and in 32-bit lanes, so the compiler vectorises it (SSE2): a
 * day's 27,000 rows took 49-73 us with a branch per status and the first rows
 * tracked in the loop. The first row dated after as_of and the first
 * conflict, rare, are found after. Day numbers fit in int32 (years 1-9999). */
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

/* ---- mutation ----------------------------------------------------------- */

void iom_begin(iom_store *s) {
    s->n_crossed = 0;
    if (++s->epoch == INT32_MAX) { /* restart stamps rather than let them wrap */
        for (int64_t i = 0; i < s->n_nom; i++) s->noms[i].stamp = 0;
        s->epoch = 1;
    }
}

/* A nominal's band: 0-3, by how many of the three ascending thresholds its
 * score reaches. */
static inline int iom_band(int64_t score, const int64_t *thresholds) {
    return (score >= thresholds[0]) + (score >= thresholds[1]) + (score >= thresholds[2]);
}

/* Where an operation lists the nominals that crossed a threshold: the store's
 * crossed list, or the part of it a helper thread fills. */
typedef struct {
    int32_t *index;
    int64_t *old;
    int64_t n;
} iom_crossings;

/* Add delta points to a nominal's score. A change that crosses a threshold
 * puts the nominal on the crossed list, once per operation, with its score
 * before that first crossing: until then its band was the one it started the
 * operation with, and a nominal that never crosses ends in that band too. So
 * the list holds every nominal whose band may have changed, without a record
 * of every nominal the operation touched, nor a second pass over them.
 *
 * Points are capped at 100,000 and a store holds under 2**28 events, so a
 * score stays below 2**45: overflow cannot happen. It is checked anyway, so
 * that a future change of those limits fails loudly instead of wrapping. */
static inline void iom_list_crossing(iom_crossings *list, int32_t epoch, iom_nominal *nom,
                                     int32_t index, int64_t old) {
    if (nom->stamp == epoch) return; /* listed already in this operation */
    nom->stamp = epoch;
    list->index[list->n] = index;
    list->old[list->n] = old;
    list->n++;
}

static inline int iom_add_points(iom_crossings *list, const int64_t *thresholds, int32_t epoch,
                                 iom_nominal *nom, int32_t index, int64_t delta) {
    int64_t old = nom->score, out;
    if (__builtin_add_overflow(old, delta, &out)) return IOM_EOVERFLOW;
    nom->score = out;
    if (iom_band(old, thresholds) != iom_band(out, thresholds))
        iom_list_crossing(list, epoch, nom, index, old);
    return IOM_OK;
}

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

/* Everything a kill changes but the id index. */
static int iom_kill_record(iom_store *s, int64_t slot) {
    int32_t index = s->ev_nom[slot];
    iom_nominal *nom = &s->noms[index];
    int rc = iom_add_score(s, nom, index, -s->points[s->ev_kind[slot]]);
    nom->live--;
    s->ev_kind[slot] = IOM_DEAD_KIND;
    s->live_events--;
    s->dead_events++;
    return rc;
}

static int iom_kill(iom_store *s, int64_t slot) {
    iom_id_delete(&s->ev_pages, &s->ev_index, s->ev_id[slot], slot);
    return iom_kill_record(s, slot);
}

/* The index of a nominal, added if new; -1 only when memory runs out. */
static int32_t iom_nominal_for(iom_store *s, int64_t nominal_id) {
    /* the map's own lookup, inlined: iom_find_nominal is exported, and a
     * bulk load's resolve calls this once a row (20M times) */
    int64_t index = iom_nmap_find(&s->nom_map, nominal_id);
    if (index >= 0) return (int32_t)index;
    if (s->n_nom == s->fail_at_nominal) return -1; /* a test's simulated failure */
    if (iom_reserve_nominals(s, 1) != IOM_OK ||
        iom_nmap_fit(&s->nom_map, nominal_id, s->nom_id, s->n_nom) != IOM_OK)
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

/* A slot for a new event: a freed one first, else the next never used. */
static inline int64_t iom_take_slot(iom_store *s) {
    if (s->n_free > 0) return s->free_slots[--s->n_free];
    return s->slot_top++;
}

/* Prefetch what an insert writes in a slot: a freed slot may be anywhere
 * (at 200M events, a day thinned to 2,700 events frees one slot in 100 of
 * its range). */
IOM_PREFETCHER void iom_prefetch_slot(const iom_store *s, int32_t slot) {
    IOM_PREFETCH(&s->ev_id[slot]);
    IOM_PREFETCH(&s->ev_nom[slot]);
    IOM_PREFETCH(&s->ev_kind[slot]);
    IOM_PREFETCH(&s->ev_day[slot]);
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

/* Everything an insert changes but the id index. */
static int iom_fill_slot(iom_store *s, int64_t slot, int64_t id, int32_t index, uint16_t kind,
                         int32_t day) {
    int32_t slot32 = (int32_t)slot;
    iom_fill_rows(s, 1, &slot32, &id, &index, &kind, &day);
    s->noms[index].live++;
    return iom_add_score(s, &s->noms[index], index, s->points[kind]);
}

static int iom_insert(iom_store *s, int64_t id, int32_t index, uint16_t kind, int32_t day) {
    int64_t slot = iom_take_slot(s);
    iom_id_put(&s->ev_pages, &s->ev_index, id, slot);
    return iom_fill_slot(s, slot, id, index, kind, day);
}

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

static iom_records_job iom_records_for(const iom_store *s, iom_crossings list, int32_t *own) {
    iom_records_job r = {s->noms, s->points, {s->thresholds[0], s->thresholds[1], s->thresholds[2]},
                         s->epoch, list, own, IOM_OK};
    return r;
}

/* For each x of r->own[0..m) (a row of a batch or a slot of an expiring
 * day), count the event in (sign +1) or out (-1) of the record of nominal
 * nom_of[x], adding sign * points[kind_of[x]] to its score. Crossings go to
 * r->list. The two threads split a
 * step's events by the nominal's index (iom_helpers), so each record has one
 * writer; each thread first lists its own (iom_own_rows, iom_expire_day),
 * because testing the owner row by row in one loop mispredicts a branch on
 * half the rows: in a model of a day's expiry (27,000 rows, 1M records), that
 * loop took 440-500 us for its half, no less than one loop over every row,
 * and the listed half 196-257 us. The job's fields are read into locals
 * once (a helper's job lives on the other thread's stack). */
static void iom_records_run(iom_records_job *r, int64_t m, const int32_t *nom_of,
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

/* Whose are a nominal's records in a step on two threads: the helper's for
 * the indices whose low three bits are below the step's share (in eighths),
 * else this thread's. A step gives the helper the share that evens out the
 * threads' other work (IOM_*_HELPER_EIGHTHS). */
static inline int32_t iom_helpers(int32_t index, int eighths) { return (index & 7) < eighths; }

/* The shares below even out the threads in a national day (27,000 events in
 * and out, on the VM measured; timers in a build not committed). A batch's
 * helper does the id puts (90 us) besides its records, and this thread plans
 * and fills the slots (150-250 us); their records take 350-420 us in all. */
#define IOM_APPLY_HELPER_EIGHTHS 5
/* An expiring day's helper reads the day and deletes its ids (180-190 us)
 * besides its records, and this thread reads the day (30-45 us); their
 * records take 240-330 us in all. */
#define IOM_EXPIRE_HELPER_EIGHTHS 2

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
static void iom_index_add_counts(iom_store *s, const iom_index *copy, const iom_pages *pages) {
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
 * iom_take_slot would: freed slots first, from the top of the stack, then
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
static void iom_append_crossings(iom_store *s, const iom_crossings *list) {
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

/* A large batch on two threads, each a stream of random reads: this one
 * fills the slots and day arrays, the helper fills the id pages and index,
 * and each updates the records of its share of the nominals (iom_helpers: a
 * nominal's events may be anywhere in the batch, so halves of the rows would
 * share records). Slots are planned in row order first and each
 * thread works in row order, so the store ends as row-by-row inserts leave
 * it, but for the order of its crossed list: this thread's nominals, then
 * the helper's. Everything that can fail (memory) is done before the helper
 * starts; retractions (corrections) come first, on this thread. */
static int iom_apply_parallel(iom_store *s, int64_t n, const int64_t *ids,
                              const int64_t *nominal_ids, const uint16_t *kinds,
                              const int32_t *days, const int8_t *action, const int32_t *known,
                              int64_t retracts, int32_t *nom_index, int32_t *slot_of,
                              iom_crossings theirs, int32_t *own_mine, int32_t *own_theirs) {
    int rc = iom_resolve_nominals(s, n, nominal_ids, action, known, nom_index);
    if (rc != IOM_OK) return rc;
    iom_begin(s);
    if (retracts) rc = iom_retract_rows(s, n, ids, action);
    if (rc != IOM_OK) return rc;
    /* The helper starts on its records; the slots are planned meanwhile,
     * before its puts. */
    iom_put_job job = {s->ev_index, s->ev_pages, ids, slot_of, n, nom_index, kinds,
                       iom_records_for(s, theirs, own_theirs), {0}};
    job.index.count = 0;
    job.pages.count = 0;
    iom_helper helper;
    iom_helper_start(&helper, iom_put_rows, &job);
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
    return mine.rc != IOM_OK ? mine.rc : job.records.rc;
}

int iom_apply(iom_store *s, int64_t n, const int64_t *ids, const int64_t *nominal_ids,
              const uint16_t *kinds, const int32_t *days, const int8_t *action,
              const int32_t *known) {
    int64_t inserts = 0, retracts = 0;
    for (int64_t i = 0; i < n; i++) {
        inserts += iom_acts_insert(action[i]);
        retracts += iom_acts_retract(action[i]);
    }
    /* Everything that can fail (memory) happens before the first score moves:
     * room for the events, then every row's nominal (a new nominal starts with
     * no events and a score of 0, so adding one changes no result). */
    int rc = iom_reserve_slots(s, inserts);
    if (rc == IOM_OK) rc = iom_reserve_days(s, n, days, action, inserts);
    if (rc != IOM_OK) return rc;
    int64_t unpaged = iom_pages_plan(s, n, ids, action, inserts);
    if (unpaged < 0) return (int)unpaged;
    rc = iom_index_fit(&s->ev_index, unpaged, s->ev_id, 1, s->slot_top, s->ev_kind, &s->ev_pages);
    if (rc != IOM_OK) return rc;
    int parallel = inserts >= s->parallel_min;
    /* every row's nominal index; on two threads also its slot, room for the
     * helper's crossings (one a row at most) and each thread's own rows */
    size_t row_bytes = parallel ? 5 * sizeof(int32_t) + sizeof(int64_t) : sizeof(int32_t);
    int32_t *nom_index = (int32_t *)iom_scratch(s, (size_t)n * row_bytes + sizeof(int64_t));
    if (!nom_index) return IOM_ENOMEM;
    if (parallel) {
        int64_t *old = (int64_t *)(((uintptr_t)(nom_index + 5 * n) + 7) & ~(uintptr_t)7);
        iom_crossings theirs = {nom_index + 2 * n, old, 0};
        rc = iom_apply_parallel(s, n, ids, nominal_ids, kinds, days, action, known, retracts,
                                nom_index, nom_index + n, theirs, nom_index + 3 * n,
                                nom_index + 4 * n);
        iom_scratch_done(s, nom_index);
        return rc;
    }
    rc = iom_resolve_nominals(s, n, nominal_ids, action, known, nom_index);
    if (rc != IOM_OK) {
        iom_scratch_done(s, nom_index);
        return rc;
    }
    iom_begin(s);
    /* Retractions first: a REPLACE row frees its old slot before any insert. */
    if (retracts) rc = iom_retract_rows(s, n, ids, action);
    /* Then the inserts, a stream of random reads that prefetching overlaps. */
    for (int64_t i = 0; i < n && rc == IOM_OK; i++) {
        if (i + IOM_AHEAD_FAR < n)
            iom_id_prefetch_put(&s->ev_pages, &s->ev_index, ids, i + IOM_AHEAD_FAR);
        if (i + IOM_AHEAD_NEAR < n && nom_index[i + IOM_AHEAD_NEAR] >= 0)
            IOM_PREFETCH(&s->noms[nom_index[i + IOM_AHEAD_NEAR]]);
        if (s->n_free > IOM_AHEAD_NEAR) /* about the slot that row will pop */
            iom_prefetch_slot(s, s->free_slots[s->n_free - 1 - IOM_AHEAD_NEAR]);
        if (nom_index[i] >= 0) rc = iom_insert(s, ids[i], nom_index[i], kinds[i], days[i]);
    }
    iom_scratch_done(s, nom_index);
    return rc;
}

int iom_retract(iom_store *s, int64_t n, const int64_t *slots) {
    iom_begin(s);
    int rc = IOM_OK;
    for (int64_t i = 0; i < n && rc == IOM_OK; i++) rc = iom_kill(s, slots[i]);
    iom_pages_trim(&s->ev_pages);
    return rc;
}

/* A day's slots and ids are dense as a rule (handed out together, numbered in
 * sequence), so its expiry reads and writes in order and needs no prefetch.
 * But a day thinned to a sample of its events (at 200M events, 2,700 of
 * 270,000), or events numbered apart, spread them; and ids in the hashed
 * index are read at random. */
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

static void *iom_expire_part(void *arg) { /* locals as in iom_put_rows */
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

/* Release one day's array: live events stop counting, dead ones are freed.
 * The helper's part (iom_expire_part) runs beside this thread's, or before
 * it on this thread for a short day. This thread lists the live slots of its
 * nominals in one pass over the array (branch-free) and updates their
 * records, with prefetching (they lie at random). Then every slot of the day
 * is marked dead and goes on the free stack (room reserved by iom_advance).
 * `theirs` and both `own` hold the longest day. */
static int iom_expire_day(iom_store *s, iom_day *d, int64_t *expired, iom_crossings theirs,
                          int32_t *own_mine, int32_t *own_theirs) {
    int64_t n = d->len;
    iom_expire_job job = {s->ev_index, s->ev_pages, s->ev_id, s->ev_nom, s->ev_kind, d,
                          iom_day_spread(s, d), 0, iom_records_for(s, theirs, own_theirs)};
    job.index.count = 0;
    job.pages.count = 0;
    iom_helper helper;
    int parallel = n >= s->parallel_min;
    if (parallel) iom_helper_start(&helper, iom_expire_part, &job);
    else iom_expire_part(&job);
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
    if (parallel) iom_helper_finish(&helper);
    iom_index_add_counts(s, &job.index, &job.pages);
    iom_append_crossings(s, &job.records.list);
    assert(s->n_free + n <= s->free_cap);
    int32_t *freed = s->free_slots + s->n_free;
    for (int64_t i = 0; i < n; i++) {
        s->ev_kind[slots[i]] = IOM_DEAD_KIND;
        freed[i] = slots[i];
    }
    s->n_free += n;
    s->live_events -= job.live;
    s->dead_events -= n - job.live;
    *expired += job.live;
    iom_day_release(s, d);
    return mine.rc != IOM_OK ? mine.rc : job.records.rc;
}

int iom_advance(iom_store *s, int64_t new_as_of, int64_t new_start, int64_t *expired) {
    *expired = 0;
    int64_t ring = s->ring_mask + 1;
    int64_t span = new_start - s->start;
    /* The rings to release, room for the longest day and on the free stack
     * for every slot released, before any change. */
    int64_t first = span >= ring ? 0 : s->start + 1;
    int64_t last = span >= ring ? ring - 1 : new_start;
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
            rc = iom_expire_day(s, d, expired, theirs, index + longest, index + 2 * longest);
    }
    iom_scratch_done(s, old);
    iom_pages_trim(&s->ev_pages);
    s->as_of = new_as_of;
    s->start = new_start;
    if (rc == IOM_OK && s->dead_events > s->live_events / 4 + 65536) iom_compact(s);
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

void iom_set_points(iom_store *s, const int64_t *points) {
    memcpy(s->points, points, (size_t)s->n_kinds * sizeof(int64_t));
}

/* The first of rows[a..b) (ascending) that is value or more. */
static int64_t iom_lower_bound(const int32_t *rows, int64_t a, int64_t b, int32_t value) {
    while (a < b) {
        int64_t mid = a + (b - a) / 2;
        if (rows[mid] < value) a = mid + 1;
        else b = mid;
    }
    return a;
}

/* Add d * counts[i] to the score of nominal rows[i], for i in [lo, hi): the
 * inner loop of a partial rescore, in plain C. */
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

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define IOM_HAVE_AVX512 1
_Static_assert(sizeof(iom_nominal) == 16 && offsetof(iom_nominal, score) == 0,
               "the AVX-512 kernel gathers scores at 16-byte strides");

/* The same, eight entries at a time: a hardware gather of the eight scores
 * and a scatter of the new ones. A column holds each nominal once, so the
 * eight never share a record. An overflow (which the limits rule out) or the
 * last few rows go to the plain loop; crossings are listed in row order, so
 * the crossed list is the plain loop's. About 1.5 times the plain loop on
 * the 2-core VM measured (an isolated model of 100,000 entries over
 * 1,000,000 nominals: 1.9-3.4 ns an entry against 3.4-5.4). */
__attribute__((target("avx512f,avx512dq"))) static int iom_add_column_rows_avx512(
    iom_nominal *noms, const int32_t *rows, const int32_t *counts, int64_t lo, int64_t hi,
    int64_t d, const int64_t *thresholds, int32_t epoch, iom_crossings *list) {
    const __m512i vd = _mm512_set1_epi64(d), zero = _mm512_setzero_si512();
    const __m512i t0 = _mm512_set1_epi64(thresholds[0]), t1 = _mm512_set1_epi64(thresholds[1]),
                  t2 = _mm512_set1_epi64(thresholds[2]);
    int64_t *scores = &noms[0].score; /* record r's score is scores[2 * r] */
    int64_t i = lo;
    for (; i + 8 <= hi; i += 8) {
        if (i + IOM_AHEAD_NEAR + 8 <= hi)
            for (int k = 0; k < 8; k++) IOM_PREFETCH(&noms[rows[i + IOM_AHEAD_NEAR + k]]);
        __m512i row = _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)(rows + i)));
        __m512i add = _mm512_mullo_epi64(
            _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)(counts + i))), vd);
        __m512i at = _mm512_slli_epi64(row, 1);
        __m512i old = _mm512_i64gather_epi64(at, scores, 8);
        __m512i out = _mm512_add_epi64(old, add);
        /* Signed overflow: the sum's sign differs from both addends'. */
        __m512i wrapped = _mm512_and_si512(_mm512_xor_si512(old, out), _mm512_xor_si512(add, out));
        if (_mm512_cmplt_epi64_mask(wrapped, zero)) break; /* the plain loop reports it */
        _mm512_i64scatter_epi64(scores, at, out, 8);
        __mmask8 crossed =
            (_mm512_cmpge_epi64_mask(old, t0) ^ _mm512_cmpge_epi64_mask(out, t0)) |
            (_mm512_cmpge_epi64_mask(old, t1) ^ _mm512_cmpge_epi64_mask(out, t1)) |
            (_mm512_cmpge_epi64_mask(old, t2) ^ _mm512_cmpge_epi64_mask(out, t2));
        if (__builtin_expect(crossed != 0, 0)) {
            int64_t olds[8];
            _mm512_storeu_si512(olds, old);
            for (int k = 0; k < 8; k++)
                if (crossed >> k & 1)
                    iom_list_crossing(list, epoch, &noms[rows[i + k]], rows[i + k], olds[k]);
        }
    }
    return iom_add_column_rows(noms, rows, counts, i, hi, d, thresholds, epoch, list);
}
#endif

int iom_add_kernel_supported(int kernel) {
    if (kernel == IOM_ADD_PLAIN) return 1;
#ifdef IOM_HAVE_AVX512
    if (kernel == IOM_ADD_AVX512) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
    }
#endif
    return 0;
}

/* The part of a partial rescore that updates nominals row_lo..row_hi-1. The
 * rows of a CSC column ascend (it is built row by row), so each column's
 * share is found by two binary searches: no test per entry. */
typedef struct {
    iom_store *s;
    int64_t n_changed;
    const int64_t *changed, *delta, *col_ptr;
    const int32_t *rows, *counts;
    int32_t row_lo, row_hi;
    iom_crossings list;
    int rc;
} iom_columns_job;

static void *iom_add_column_part(void *arg) {
    iom_columns_job *job = (iom_columns_job *)arg;
    /* locals, read once: the job of a helper lives on the other thread's stack */
    iom_nominal *noms = job->s->noms;
    const int64_t *changed = job->changed, *delta = job->delta, *col_ptr = job->col_ptr;
    const int32_t *rows = job->rows, *counts = job->counts;
    int64_t thresholds[3] = {job->s->thresholds[0], job->s->thresholds[1], job->s->thresholds[2]};
    int32_t epoch = job->s->epoch, row_lo = job->row_lo, row_hi = job->row_hi;
    int64_t n_changed = job->n_changed;
    int (*kernel)(iom_nominal *, const int32_t *, const int32_t *, int64_t, int64_t, int64_t,
                  const int64_t *, int32_t, iom_crossings *) = iom_add_column_rows;
#ifdef IOM_HAVE_AVX512
    if (job->s->add_kernel == IOM_ADD_AVX512) kernel = iom_add_column_rows_avx512;
#endif
    iom_crossings list = job->list;
    int rc = IOM_OK;
    for (int64_t j = 0; j < n_changed && rc == IOM_OK; j++) {
        int64_t c = changed[j];
        int64_t lo = iom_lower_bound(rows, col_ptr[c], col_ptr[c + 1], row_lo);
        int64_t hi = iom_lower_bound(rows, lo, col_ptr[c + 1], row_hi);
        rc = kernel(noms, rows, counts, lo, hi, delta[j], thresholds, epoch, &list);
    }
    job->list = list;
    job->rc = rc;
    return NULL;
}

int iom_add_columns(iom_store *s, int64_t n_changed, const int64_t *changed,
                    const int64_t *delta, const int64_t *col_ptr, const int32_t *rows,
                    const int32_t *counts) {
    iom_begin(s);
    int64_t entries = 0;
    for (int64_t j = 0; j < n_changed; j++) entries += col_ptr[changed[j] + 1] - col_ptr[changed[j]];
    /* Many entries: the helper takes the upper half of the nominals, with its
     * own part of the crossed list (from index `split`: a half holds at most
     * that many nominals), appended to this thread's part at the end. */
    int32_t n = (int32_t)s->n_nom;
    int32_t split = entries >= s->parallel_min ? n / 2 : n;
    iom_columns_job mine = {s, n_changed, changed, delta, col_ptr, rows, counts, 0, split,
                            {s->crossed, s->crossed_old, 0}, IOM_OK};
    iom_columns_job theirs = mine;
    theirs.row_lo = split;
    theirs.row_hi = n;
    theirs.list = (iom_crossings){s->crossed + split, s->crossed_old + split, 0};
    iom_helper helper;
    if (split < n) iom_helper_start(&helper, iom_add_column_part, &theirs);
    iom_add_column_part(&mine);
    if (split < n) {
        iom_helper_finish(&helper);
        memmove(s->crossed + mine.list.n, theirs.list.index, (size_t)theirs.list.n * sizeof(int32_t));
        memmove(s->crossed_old + mine.list.n, theirs.list.old, (size_t)theirs.list.n * sizeof(int64_t));
    }
    s->n_crossed = mine.list.n + theirs.list.n;
    return mine.rc != IOM_OK ? mine.rc : theirs.rc;
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

typedef struct {
    int64_t id, score;
    uint8_t flag;
} iom_moved;

/* Sort a[0..n) by id (ids are distinct), using tmp[0..n): insertion sort on
 * runs of 16, then bottom-up merges. qsort's call per comparison took longer
 * than numpy's argsort for a day's few hundred. Returns the sorted array
 * (a or tmp). */
static iom_moved *iom_sort_moved(iom_moved *a, iom_moved *tmp, int64_t n) {
    for (int64_t lo = 0; lo < n; lo += 16) {
        int64_t hi = lo + 16 < n ? lo + 16 : n;
        for (int64_t i = lo + 1; i < hi; i++) {
            iom_moved x = a[i];
            int64_t j = i;
            for (; j > lo && a[j - 1].id > x.id; j--) a[j] = a[j - 1];
            a[j] = x;
        }
    }
    for (int64_t width = 16; width < n; width *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * width) {
            int64_t mid = lo + width < n ? lo + width : n;
            int64_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            int64_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) tmp[k++] = a[i].id < a[j].id ? a[i++] : a[j++];
            while (i < mid) tmp[k++] = a[i++];
            while (j < hi) tmp[k++] = a[j++];
        }
        iom_moved *swap = a;
        a = tmp;
        tmp = swap;
    }
    return a;
}

int64_t iom_crossed_report(const iom_store *s, int64_t *out_id, int8_t *out_old, int8_t *out_new,
                           int64_t *out_score) {
    int64_t n = s->n_crossed ? s->n_crossed : 1;
    /* the moved, twice (the sort's second buffer), then their indices and flags */
    iom_moved *moved = (iom_moved *)malloc((size_t)n * (2 * sizeof(iom_moved) + 5));
    if (!moved) return IOM_ENOMEM;
    int32_t *index = (int32_t *)(moved + 2 * n);
    uint8_t *flag = (uint8_t *)(index + n);
    int64_t found = iom_crossed_moved(s, index, flag);
    for (int64_t j = 0; j < found; j++) {
        if (j + IOM_AHEAD_FAR < found) IOM_PREFETCH(&s->nom_id[index[j + IOM_AHEAD_FAR]]);
        moved[j] = (iom_moved){s->nom_id[index[j]], s->noms[index[j]].score, flag[j]};
    }
    const iom_moved *sorted = iom_sort_moved(moved, moved + n, found);
    for (int64_t j = 0; j < found; j++) {
        out_id[j] = sorted[j].id;
        out_old[j] = (int8_t)((sorted[j].flag >> 2) & 3);
        out_new[j] = (int8_t)(sorted[j].flag & 3);
        out_score[j] = sorted[j].score;
    }
    free(moved);
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
