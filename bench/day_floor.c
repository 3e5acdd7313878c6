/*
 * The floor under a national day: only the random reads a day cannot avoid.
 *
 * A day's step (27,000 events expire, 27,000 arrive, 1,000,000 nominals)
 * must, whatever the design, update the score of each expiring event's
 * nominal, find each arriving event's nominal by its id, and update that
 * nominal's score: 81,000 reads of lines scattered over tens of MB. This
 * times those reads alone, with the store's own records (iom_nominal, 16
 * bytes) and its own nominal map (iom_nmap, sized, filled and probed by its
 * own functions), on one thread or two as the engine runs, so a national
 * day can be set against what this machine does for its random reads in
 * the same minutes (bench/core_figures.py runs it between the engine's days):
 *
 *   cc -O3 -Icsrc bench/day_floor.c csrc/iom_nmap.c csrc/iom_base.c -o /tmp/day_floor -lpthread
 *   /tmp/day_floor [threads=2]
 *
 * Rounds alternate between two conditions: cold, after a read of 128 MiB
 * (more than every cache of the machine), and warm, straight after the last
 * round (a replay stepping day after day). Each round runs the day's three
 * passes, each split over the threads by halves, with prefetching 48 rows
 * ahead as the store does; the medians of each condition are printed (us).
 * A round's records are updated without a band check: a floor, not a model.
 */
#define _GNU_SOURCE
#include "iom_bands.h"
#include "iom_nmap.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define NOMINALS 1000000
#define PER_DAY 27000
#define ROUNDS 80
#define AHEAD 48
#define EVICT_BYTES ((size_t)128 << 20)

static iom_nominal *records; /* the store's records (16 bytes each) */
static iom_nmap map;         /* the store's nominal map, with its own functions */

static void *huge(size_t bytes) {
    void *p = aligned_alloc((size_t)2 << 20, bytes);
    if (!p) exit(1);
    madvise(p, bytes, MADV_HUGEPAGE);
    return p;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct {
    int pass; /* 0: expiring records, 1: map lookups, 2: arriving records */
    const int32_t *index;
    const int64_t *ids;
    int32_t *found;
    int64_t n;
    double seconds; /* this thread's time, from its first row to its last */
} part;

static void *run(void *arg) {
    part *p = (part *)arg;
    double t0 = now();
    if (p->pass == 1) {
        for (int64_t i = 0; i < p->n; i++) {
            if (i + AHEAD < p->n) iom_nmap_prefetch(&map, p->ids[i + AHEAD]);
            p->found[i] = (int32_t)iom_nmap_find(&map, p->ids[i]);
        }
    } else {
        int sign = p->pass == 0 ? -1 : 1;
        for (int64_t i = 0; i < p->n; i++) {
            if (i + AHEAD < p->n) __builtin_prefetch(&records[p->index[i + AHEAD]], 1);
            records[p->index[i]].score += sign * 40;
            records[p->index[i]].live += sign;
        }
    }
    p->seconds = now() - t0;
    return NULL;
}

/* One pass over n rows, by halves on two threads or whole on one; seconds,
 * the slower thread's (a thread's start is not counted: the store keeps its
 * helper thread). */
static double pass(int threads, int which, const int32_t *index, const int64_t *ids,
                   int32_t *found, int64_t n) {
    if (threads < 2) {
        part all = {which, index, ids, found, n, 0};
        run(&all);
        return all.seconds;
    }
    int64_t h = n / 2;
    part mine = {which, index, ids, found, h, 0};
    part theirs = {which, index ? index + h : NULL, ids ? ids + h : NULL,
                   found ? found + h : NULL, n - h, 0};
    pthread_t thread;
    pthread_create(&thread, NULL, run, &theirs);
    run(&mine);
    pthread_join(thread, NULL);
    return mine.seconds > theirs.seconds ? mine.seconds : theirs.seconds;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    records = huge(NOMINALS * sizeof(iom_nominal));
    memset(records, 0, NOMINALS * sizeof(iom_nominal));
    int64_t *nominal_id = malloc(NOMINALS * sizeof(int64_t));
    srand(2026);
    for (int64_t i = 0; i < NOMINALS; i++)
        nominal_id[i] = 1000000 + i * 999 + rand() % 999; /* as synth: one per stratum */
    /* filled as a store fills it: a key at a time, the map doubling at load 1/2 */
    if (iom_nmap_alloc(&map, 4)) return 1;
    for (int64_t i = 0; i < NOMINALS; i++) {
        if (iom_nmap_fit(&map, nominal_id, i)) return 1;
        iom_nmap_put(&map, nominal_id[i], i);
    }
    int32_t *expiring = malloc(PER_DAY * sizeof(int32_t));
    int64_t *arriving = malloc(PER_DAY * sizeof(int64_t));
    int32_t *found = malloc(PER_DAY * sizeof(int32_t));
    char *evict = huge(EVICT_BYTES);
    memset(evict, 1, EVICT_BYTES);
    double t[3][ROUNDS], day[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        for (int64_t i = 0; i < PER_DAY; i++) {
            expiring[i] = (int32_t)(((uint64_t)rand() * RAND_MAX + rand()) % NOMINALS);
            arriving[i] = nominal_id[((uint64_t)rand() * RAND_MAX + rand()) % NOMINALS];
        }
        int64_t sum = 0; /* read, not written: no dirty lines left to write back */
        for (size_t i = 0; r % 2 == 0 && i < EVICT_BYTES; i += 64) sum += evict[i];
        if (sum == -1) return 3;
        t[0][r] = pass(threads, 0, expiring, NULL, NULL, PER_DAY);
        t[1][r] = pass(threads, 1, NULL, arriving, found, PER_DAY);
        for (int64_t i = 0; i < PER_DAY; i++)
            if (found[i] < 0 || nominal_id[found[i]] != arriving[i]) return 2;
        t[2][r] = pass(threads, 2, found, NULL, NULL, PER_DAY);
        day[r] = t[0][r] + t[1][r] + t[2][r];
    }
    const char *names[4] = {"expiring events' records", "arriving events' nominals (map)",
                            "arriving events' records", "the day's floor"};
    printf("%d events out and %d in, 1,000,000 nominals, %d thread(s), %d rounds of each "
           "(medians, us):\n%-34s %6s %6s\n",
           PER_DAY, PER_DAY, threads, ROUNDS / 2, "", "cold", "warm");
    for (int k = 0; k < 4; k++) {
        double *v = k < 3 ? t[k] : day, split[2][ROUNDS / 2];
        for (int r = 0; r < ROUNDS; r++) split[r % 2][r / 2] = v[r];
        for (int c = 0; c < 2; c++) qsort(split[c], ROUNDS / 2, sizeof(double), by_value);
        printf("  %-32s %6.0f %6.0f\n", names[k], split[0][ROUNDS / 4] * 1e6,
               split[1][ROUNDS / 4] * 1e6);
    }
    return 0;
}
