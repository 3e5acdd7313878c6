/*
 * iom_base: what every unit of the event store shares: result codes, the
 * limits, the ingest actions, prefetching, hashing and memory.
 */
#ifndef IOM_BASE_H
#define IOM_BASE_H

#include <stddef.h>
#include <stdint.h>

#define IOM_OK 0
#define IOM_ENOMEM (-1)
#define IOM_EOVERFLOW (-2)
#define IOM_ETOOMANY (-3)
#define IOM_EINDEX (-4) /* an index outside the table it indexes */

/* A kind value that marks a slot not holding a live event. */
#define IOM_DEAD_KIND 0xFFFFu
/* Slots are numbered below 2**28 (a limit with room to spare in the int32
 * slot arrays; the event-id index keeps four bits of hash above a slot). */
#define IOM_MAX_SLOTS ((int64_t)0x0FFFFFFE)

/* Ingest actions per row, decided by iom_plan_actions. */
#define IOM_ACT_SKIP 0
#define IOM_ACT_INSERT 1
#define IOM_ACT_RETRACT 2
#define IOM_ACT_REPLACE 3

/* Whether a row's action inserts an event, or withdraws the one held. */
static inline int iom_acts_insert(int8_t action) {
    return action == IOM_ACT_INSERT || action == IOM_ACT_REPLACE;
}
static inline int iom_acts_retract(int8_t action) {
    return action == IOM_ACT_RETRACT || action == IOM_ACT_REPLACE;
}

#define IOM_LINE 64

/* Rows ahead at which the two prefetch stages of a batch loop run: far
 * enough for a miss to DRAM to land before the row is reached. */
#define IOM_AHEAD_FAR 48
#define IOM_AHEAD_NEAR 24

#if defined(__GNUC__) || defined(__clang__)
#define IOM_PREFETCH(p) __builtin_prefetch((p), 1, 3)
/* For helpers that only prefetch. GCC sees no side effect in them: one it
 * leaves out of line is a "const" call whose result nobody uses, and every
 * call of it is deleted. */
#define IOM_PREFETCHER static inline __attribute__((always_inline))
#else
#define IOM_PREFETCH(p) ((void)0)
#define IOM_PREFETCHER static inline
#endif

/* splitmix64's finaliser: sequential keys spread over a whole table. */
static inline uint64_t iom_mix(int64_t key) {
    uint64_t z = (uint64_t)key + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Memory. Arrays of 8 MiB and more are advised for transparent huge pages:
 * the index and the records are read at random, and 2 MiB pages spare most
 * TLB misses. */
void *iom_alloc(size_t bytes);
/* Grow *p to n items of `size` bytes, keeping the contents (IOM_OK or IOM_ENOMEM). */
int iom_grow(void **p, int64_t n, size_t size);
/* The same into a fresh block advised before its first touch: for arrays read
 * at random that grow a step at a time (realloc's remap would keep them on
 * the 4 KiB pages they were first touched on). */
int iom_grow_fresh(void **p, int64_t old_n, int64_t n, size_t size);
/* A zeroed block aligned to a cache line; *raw is what to free. */
void *iom_alloc_lines(size_t bytes, void **raw);

#endif
