/*
 * The floor under a national day: only the random reads a day cannot avoid.
 *
 * A day's step (issue 3: 27,000 events expire, 27,000 arrive, 1,000,000
 * nominals) must, whatever the design, update the score of each expiring
 * event's nominal, find each arriving event's nominal by its id, and update
 * that nominal's score: 81,000 reads of lines scattered over tens of MB. This
 * times those reads alone, on two threads, with the store's own records
 * (iom_nominal, 16 bytes) and its own nominal map (iom_nmap: sized, filled
 * and probed by the store's functions, which it reaches by including
 * csrc/iom_store.c, as bench/index_day.c does), so a national day can be set
 * against what this machine does for its random reads in the same minutes:
 *
 *   gcc -O3 -Icsrc bench/day_floor.c csrc/iom_helper.c -o /tmp/day_floor -lpthread
 *   /tmp/day_floor
 *
 * Rounds alternate between two conditions, as bench/advance_scaling.py's
 * days do: cold, after a read of 128 MiB (more than every cache of the
 * machine measured: L3 32 MiB), and warm, straight after the last round (a
 * replay stepping day after day, as bench/long_run.py and bench/ab_day.py
 * time it). Each round runs the day's three passes, each split over two
 * threads by halves, with prefetching 48 rows ahead as the store does; the
 * medians of each condition are printed. A round's records are updated
 * without a band check: a floor, not a model.
 *
 * The cohort's ids are 7-9 digits, as the synthetic cohort's are, so the map
 * keeps them in its narrow table (eight 32-bit keys a line). A fourth pass,
 * not part of the floor, looks the same nominals up by ids 2**32 higher,
 * which the map keeps in its wide table (four 64-bit keys a line, the only
 * layout before 22e899c): the two tables' cost side by side in one run.
 */
#define _GNU_SOURCE
#include "../csrc/iom_store.c"

#include <pthread.h>
#include <stdio.h>
#include <time.h>

#define NOMINALS 1000000
#define PER_DAY 27000
#define ROUNDS 80
#define AHEAD 48
#define EVICT_BYTES ((size_t)128 << 20)

static iom_nominal *records; /* the store's records (16 bytes each) */
static iom_nmap map;         /* the store's nominal map, with its own functions */
static iom_nmap wide;        /* the same nominals by ids 2**32 higher: its wide table */
#define WIDE_OFFSET ((int64_t)1 << 32)

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
    int pass; /* 0: expiring records, 1: map lookups, 2: arriving records, 3: wide lookups */
    const int32_t *index;
    const int64_t *ids;
    int32_t *found;
    int64_t n;
    double seconds; /* this thread's time, from its first row to its last */
} part;

static void *run(void *arg) {
    part *p = (part *)arg;
    double t0 = now();
    if (p->pass == 1 || p->pass == 3) {
        const iom_nmap *m = p->pass == 1 ? &map : &wide;
        int64_t offset = p->pass == 1 ? 0 : WIDE_OFFSET;
        for (int64_t i = 0; i < p->n; i++) {
            if (i + AHEAD < p->n) iom_nmap_prefetch(m, p->ids[i + AHEAD] + offset);
            p->found[i] = (int32_t)iom_nmap_find(m, p->ids[i] + offset);
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

/* One pass over n rows on two threads, by halves; seconds, the slower
 * thread's (a thread's start is not counted: the store keeps its helper). */
static double two_threads(int pass, const int32_t *index, const int64_t *ids, int32_t *found,
                          int64_t n) {
    int64_t h = n / 2;
    part mine = {pass, index, ids, found, h, 0};
    part theirs = {pass,  index ? index + h : NULL, ids ? ids + h : NULL, found ? found + h : NULL,
                   n - h, 0};
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

int main(void) {
    records = huge(NOMINALS * sizeof(iom_nominal));
    memset(records, 0, NOMINALS * sizeof(iom_nominal));
    int64_t *nominal_id = malloc(NOMINALS * sizeof(int64_t));
    srand(2026);
    for (int64_t i = 0; i < NOMINALS; i++)
        nominal_id[i] = 1000000 + i * 999 + rand() % 999; /* as synth: one per stratum */
    /* filled as a store fills it: a key at a time, the map doubling at load 1/2 */
    int64_t *wide_id = malloc(NOMINALS * sizeof(int64_t));
    if (iom_nmap_alloc(&map, 4) || iom_nmap_alloc(&wide, 4)) return 1;
    for (int64_t i = 0; i < NOMINALS; i++) {
        wide_id[i] = nominal_id[i] + WIDE_OFFSET;
        if (iom_nmap_fit(&map, nominal_id[i], nominal_id, i) ||
            iom_nmap_fit(&wide, wide_id[i], wide_id, i))
            return 1;
        iom_nmap_put(&map, nominal_id[i], i);
        iom_nmap_put(&wide, wide_id[i], i);
    }
    int32_t *expiring = malloc(PER_DAY * sizeof(int32_t));
    int64_t *arriving = malloc(PER_DAY * sizeof(int64_t));
    int32_t *found = malloc(PER_DAY * sizeof(int32_t));
    char *evict = huge(EVICT_BYTES);
    memset(evict, 1, EVICT_BYTES);
    double t[4][ROUNDS], day[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        for (int64_t i = 0; i < PER_DAY; i++) {
            expiring[i] = (int32_t)(((uint64_t)rand() * RAND_MAX + rand()) % NOMINALS);
            arriving[i] = nominal_id[((uint64_t)rand() * RAND_MAX + rand()) % NOMINALS];
        }
        int64_t sum = 0; /* read, not written: no dirty lines left to write back */
        for (size_t i = 0; r % 2 == 0 && i < EVICT_BYTES; i += 64) sum += evict[i];
        if (sum == -1) return 3;
        t[0][r] = two_threads(0, expiring, NULL, NULL, PER_DAY);
        /* the wide table's pass before the narrow one's in half the rounds, after in the others */
        int wide_first = (r / 2) % 2;
        if (wide_first) t[3][r] = two_threads(3, NULL, arriving, found, PER_DAY);
        t[1][r] = two_threads(1, NULL, arriving, found, PER_DAY);
        if (!wide_first) t[3][r] = two_threads(3, NULL, arriving, found, PER_DAY);
        for (int64_t i = 0; i < PER_DAY; i++)
            if (found[i] < 0 || nominal_id[found[i]] != arriving[i]) return 2;
        t[2][r] = two_threads(2, found, NULL, NULL, PER_DAY);
        day[r] = t[0][r] + t[1][r] + t[2][r];
    }
    const char *names[5] = {"expiring events' records", "arriving events' nominals (map)",
                            "arriving events' records", "the day's floor",
                            "(the same, ids >= 2**32: wide)"};
    printf("%d events out and %d in, 1,000,000 nominals, two threads, %d rounds of each "
           "(medians, us):\n%-34s %6s %6s\n",
           PER_DAY, PER_DAY, ROUNDS / 2, "", "cold", "warm");
    for (int k = 0; k < 5; k++) {
        double *v = k < 3 ? t[k] : k == 3 ? day : t[3], split[2][ROUNDS / 2];
        for (int r = 0; r < ROUNDS; r++) split[r % 2][r / 2] = v[r];
        for (int c = 0; c < 2; c++) qsort(split[c], ROUNDS / 2, sizeof(double), by_value);
        printf("  %-32s %6.0f %6.0f\n", names[k], split[0][ROUNDS / 4] * 1e6,
               split[1][ROUNDS / 4] * 1e6);
    }
    return 0;
}
