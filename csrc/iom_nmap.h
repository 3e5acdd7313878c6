/*
 * iom_nmap: the nominal map, from a nominal id (>= 0) to its index in the
 * store's records.
 *
 * A table of cache lines, each four keys and their indices. A key's home is
 * a line, and it sits in the first free entry from its home on (lines fill
 * from the front, so a lookup that misses in a line with a free entry is
 * done). A lookup compares a line's four keys without a branch on which
 * matched: with one key a bucket, a third of the keys sat past their home,
 * and each of those lookups mispredicted a branch that waited on a miss.
 * Nominals are never removed, so the table needs no tombstones. The load
 * stays at or below 1/2.
 */
#ifndef IOM_NMAP_H
#define IOM_NMAP_H

#include "iom_base.h"

#define IOM_NLINE_KEYS 4
typedef struct {
    int64_t key[IOM_NLINE_KEYS];   /* nominal_id, or -1 for a free entry */
    int64_t index[IOM_NLINE_KEYS]; /* into the store's records */
} iom_nline;

typedef struct {
    iom_nline *lines; /* aligned to a cache line, inside raw */
    void *raw;        /* what to free */
    int64_t mask;     /* lines - 1 */
    int64_t count;    /* keys held */
} iom_nmap;

/* An empty map of n_lines (a power of two) lines, replacing what m held. */
int iom_nmap_alloc(iom_nmap *m, int64_t n_lines);
void iom_nmap_free(iom_nmap *m);
/* Room for one more key: past a load of 1/2 the table doubles, and the keys
 * nom_id[0, n) (index i for nom_id[i]) are put again. */
int iom_nmap_fit(iom_nmap *m, const int64_t *nom_id, int64_t n);
/* Bytes held. */
int64_t iom_nmap_bytes(const iom_nmap *m);

static inline int64_t iom_home_line(const iom_nmap *m, int64_t key) {
    return (int64_t)(iom_mix(key) & (uint64_t)m->mask);
}

/* Bit k set where key[k] of the line is the key. */
static inline unsigned iom_nline_match(const iom_nline *l, int64_t key) {
    unsigned hit = 0;
    for (int k = 0; k < IOM_NLINE_KEYS; k++) hit |= (unsigned)(l->key[k] == key) << k;
    return hit;
}

/* The index of a key, or -1 if not held. */
static inline int64_t iom_nmap_find(const iom_nmap *m, int64_t key) {
    if (key < 0) return -1; /* -1 marks a free entry; ids are >= 0 */
    for (int64_t line = iom_home_line(m, key);; line = (line + 1) & m->mask) {
        const iom_nline *l = &m->lines[line];
        unsigned hit = iom_nline_match(l, key);
        if (hit) return l->index[__builtin_ctz(hit)];
        if (l->key[IOM_NLINE_KEYS - 1] < 0) return -1;
    }
}

/* Put a key not held (>= 0) in the first free entry from its home line on;
 * room must have been made by iom_nmap_fit. */
static inline void iom_nmap_put(iom_nmap *m, int64_t key, int64_t index) {
    for (int64_t line = iom_home_line(m, key);; line = (line + 1) & m->mask) {
        iom_nline *l = &m->lines[line];
        int k = 0;
        while (k < IOM_NLINE_KEYS && l->key[k] >= 0) k++;
        if (k == IOM_NLINE_KEYS) continue;
        l->key[k] = key;
        l->index[k] = index;
        m->count++;
        return;
    }
}

IOM_PREFETCHER void iom_nmap_prefetch(const iom_nmap *m, int64_t key) {
    IOM_PREFETCH(&m->lines[iom_home_line(m, key)]);
}

#endif
