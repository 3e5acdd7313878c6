/*
 * The event-id index's share of a national day, in isolation (no Python, no
 * helper thread), beside the machine's own cost of random reads.
 *
 *   gcc -O3 -Icsrc bench/index_day.c csrc/iom_helper.c -o /tmp/index_day -lpthread
 *   /tmp/index_day [events=20000000] [per_day=26000] [days=20]
 *
 * It fills an index with `events` ids numbered as the synthetic cohort numbers
 * them (increasing, gaps of 1-3), then runs `days` days. Each day deletes the
 * oldest day's ids (in the order a day list holds them: newest first), looks
 * up the next day's new ids (as classify does, prefetched the same way) and
 * puts them, then looks them up again, held now (what a day of corrections
 * costs). New ids above every id held are answered by the index's ceiling
 * (key_max) without a walk; held ids take the walk and the key's read. The
 * first five days are not counted.
 *
 * The same run measures two peers on an array of the index's size: reads of
 * `per_day` random cache lines, prefetched 48 ahead (what a loop of
 * independent misses can reach), and a chain of dependent random reads (one
 * miss's latency). A day's index work divided by the first tells how far the
 * index's loops are from the memory system's limit on this machine.
 *
 * Then the same days through the id pages (iom_pages), the direct map that
 * holds ids in sequence in the engine, with the pages each day's ids justify
 * made as iom_apply makes them.
 *
 * It includes csrc/iom_store.c to reach the index's static functions.
 */
#include "../csrc/iom_store.c"

#include <stdio.h>
#include <time.h>

static double iom_bench_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static uint64_t iom_bench_state = 88172645463325252ull;

static uint64_t iom_bench_random(void) { /* xorshift64 */
    iom_bench_state ^= iom_bench_state << 13;
    iom_bench_state ^= iom_bench_state >> 7;
    iom_bench_state ^= iom_bench_state << 17;
    return iom_bench_state;
}

/* Microseconds for n prefetched random line reads, and for n dependent ones,
 * in an array of `bytes`. */
static void iom_bench_reads(size_t bytes, int64_t n, double *independent, double *dependent) {
    size_t lines = bytes / IOM_LINE;
    char *a = (char *)iom_alloc(lines * IOM_LINE);
    size_t *at = (size_t *)malloc((size_t)n * sizeof(size_t));
    if (!a || !at) exit(1);
    memset(a, 1, lines * IOM_LINE);
    for (int64_t i = 0; i < n; i++) at[i] = iom_bench_random() % lines;
    volatile long sink = 0;
    long sum = 0;
    double t0 = iom_bench_us();
    for (int64_t i = 0; i < n; i++) {
        if (i + IOM_AHEAD_FAR < n) IOM_PREFETCH(a + at[i + IOM_AHEAD_FAR] * IOM_LINE);
        sum += a[at[i] * IOM_LINE];
    }
    double t1 = iom_bench_us();
    size_t p = 0;
    for (int64_t i = 0; i < n; i++) /* the next line depends on this one's byte */
        p = (at[i] + (size_t)a[p * IOM_LINE]) % lines;
    double t2 = iom_bench_us();
    sink = sum + (long)p;
    (void)sink;
    *independent = t1 - t0;
    *dependent = t2 - t1;
    free(at);
    free(a);
}

/* Look up a day's ids, prefetched as classify does (found: slot, or -1). */
static void iom_bench_find_day(const iom_index *ix, const int64_t *keys, const int64_t *day,
                               int64_t per_day, int64_t *found) {
    for (int64_t i = 0; i < per_day; i++) {
        if (i + IOM_AHEAD_FAR < per_day) iom_index_prefetch(ix, day[i + IOM_AHEAD_FAR]);
        if (i + IOM_AHEAD_NEAR < per_day)
            IOM_PREFETCH(iom_index_guess(ix, keys, 8, day[i + IOM_AHEAD_NEAR]));
        found[i] = iom_index_find(ix, keys, 1, day[i]);
    }
}

/* The same days through the id pages, the direct map that holds ids numbered
 * in sequence (a store with its pages and an empty hashed index): the oldest
 * day's deletes (and the trim that frees its pages), the pages a day's new
 * ids justify (iom_pages_plan, as iom_apply makes them), their lookups and
 * puts, and lookups once held. Microseconds a day, averaged past warm_up,
 * into us[5]; the pages' bytes into *bytes. */
static void iom_bench_pages(const int64_t *keys, int64_t events, int64_t per_day, int days,
                            int warm_up, double us[5], double *bytes, int64_t *found) {
    iom_store s;
    memset(&s, 0, sizeof(s));
    s.use_pages = 1;
    int8_t *insert = (int8_t *)malloc((size_t)events);
    if (!insert || iom_pages_alloc_table(&s.ev_pages, 16) || iom_index_alloc(&s.ev_index, 2))
        exit(1);
    memset(insert, IOM_ACT_INSERT, (size_t)events);
    if (iom_pages_plan(&s, events, keys, insert, events) != 0) {
        fprintf(stderr, "the bulk load did not get pages for every id\n");
        exit(1);
    }
    for (int64_t i = 0; i < events; i++) iom_id_put(&s.ev_pages, &s.ev_index, keys[i], i);
    *bytes = (double)s.ev_pages.n_pages * IOM_PAGE_IDS * 4 +
             (double)(s.ev_pages.mask + 1) * sizeof(iom_page);
    for (int k = 0; k < 5; k++) us[k] = 0;
    int64_t lo = 0, hi = events;
    for (int d = 0; d < days; d++) {
        double t0 = iom_bench_us();
        for (int64_t i = lo + per_day - 1; i >= lo; i--)
            iom_id_delete(&s.ev_pages, &s.ev_index, keys[i], i);
        iom_pages_trim(&s.ev_pages);
        lo += per_day;
        double t1 = iom_bench_us();
        const int64_t *day = keys + hi;
        if (iom_pages_plan(&s, per_day, day, insert, per_day) != 0) {
            fprintf(stderr, "a day's new ids did not get pages\n");
            exit(1);
        }
        double t2 = iom_bench_us();
        for (int64_t i = 0; i < per_day; i++)
            found[i] = iom_id_find(&s.ev_pages, &s.ev_index, keys, day[i]);
        double t3 = iom_bench_us();
        for (int64_t i = 0; i < per_day; i++) iom_id_put(&s.ev_pages, &s.ev_index, day[i], hi + i);
        double t4 = iom_bench_us();
        for (int64_t i = 0; i < per_day; i++)
            if (found[i] >= 0) {
                fprintf(stderr, "new id %lld found: the pages are wrong\n", (long long)day[i]);
                exit(1);
            }
        double t5 = iom_bench_us();
        for (int64_t i = 0; i < per_day; i++)
            found[i] = iom_id_find(&s.ev_pages, &s.ev_index, keys, day[i]);
        double t6 = iom_bench_us();
        for (int64_t i = 0; i < per_day; i++)
            if (found[i] != hi + i) {
                fprintf(stderr, "held id %lld not found: the pages are wrong\n", (long long)day[i]);
                exit(1);
            }
        hi += per_day;
        if (d >= warm_up) {
            us[0] += t1 - t0;
            us[1] += t2 - t1;
            us[2] += t3 - t2;
            us[3] += t4 - t3;
            us[4] += t6 - t5;
        }
    }
    for (int k = 0; k < 5; k++) us[k] /= days - warm_up;
    if (s.ev_index.count != 0) {
        fprintf(stderr, "%lld ids went to the hashed index\n", (long long)s.ev_index.count);
        exit(1);
    }
    iom_pages_free(&s.ev_pages);
    free(s.ev_index.raw);
    free(insert);
}

int main(int argc, char **argv) {
    int64_t events = argc > 1 ? atoll(argv[1]) : 20000000;
    int64_t per_day = argc > 2 ? atoll(argv[2]) : 26000;
    int days = argc > 3 ? atoi(argv[3]) : 20;
    const int warm_up = 5;
    if (days <= warm_up || per_day < 1 || events < per_day) {
        fprintf(stderr, "need days > %d and events >= per_day >= 1\n", warm_up);
        return 2;
    }
    int64_t cap = events + (int64_t)days * per_day;
    int64_t *keys = (int64_t *)malloc((size_t)cap * sizeof(int64_t));
    int64_t *found = (int64_t *)malloc((size_t)per_day * sizeof(int64_t));
    if (!keys || !found) return 1;
    int64_t id = 1000;
    for (int64_t i = 0; i < cap; i++) keys[i] = id += 1 + (int64_t)(iom_bench_random() % 3);

    iom_index ix = {0};
    if (iom_index_alloc(&ix, iom_chunks_for(events)) != IOM_OK) return 1;
    for (int64_t i = 0; i < events; i++) { /* slot i holds keys[i] */
        if (i + IOM_AHEAD_FAR < events) iom_index_prefetch(&ix, keys[i + IOM_AHEAD_FAR]);
        iom_index_put(&ix, keys[i], i);
    }

    double t_delete = 0, t_find = 0, t_put = 0, t_held = 0;
    int64_t lo = 0, hi = events; /* held: slots [lo, hi) */
    for (int d = 0; d < days; d++) {
        double t0 = iom_bench_us();
        for (int64_t i = lo + per_day - 1; i >= lo; i--) {
            if (i - IOM_AHEAD_NEAR >= lo) iom_index_prefetch(&ix, keys[i - IOM_AHEAD_NEAR]);
            iom_index_delete(&ix, keys[i], i);
        }
        lo += per_day;
        double t1 = iom_bench_us();
        const int64_t *day = keys + hi;
        iom_bench_find_day(&ix, keys, day, per_day, found);
        double t2 = iom_bench_us();
        for (int64_t i = 0; i < per_day; i++) {
            if (i + IOM_AHEAD_FAR < per_day) iom_index_prefetch_put(&ix, day, 1, i + IOM_AHEAD_FAR);
            iom_index_put(&ix, day[i], hi + i);
        }
        double t3 = iom_bench_us();
        for (int64_t i = 0; i < per_day; i++)
            if (found[i] >= 0) {
                fprintf(stderr, "new id %lld found: the index is wrong\n", (long long)day[i]);
                return 1;
            }
        double t4 = iom_bench_us();
        iom_bench_find_day(&ix, keys, day, per_day, found);
        double t5 = iom_bench_us();
        for (int64_t i = 0; i < per_day; i++)
            if (found[i] != hi + i) {
                fprintf(stderr, "held id %lld not found: the index is wrong\n", (long long)day[i]);
                return 1;
            }
        hi += per_day;
        if (d >= warm_up) {
            t_delete += t1 - t0;
            t_find += t2 - t1;
            t_put += t3 - t2;
            t_held += t5 - t4;
        }
    }
    int counted = days - warm_up;
    t_delete /= counted;
    t_find /= counted;
    t_put /= counted;
    t_held /= counted;

    double independent, dependent;
    iom_bench_reads((size_t)ix.n_chunks * IOM_LINE, per_day, &independent, &dependent);
    double line_ns = independent * 1e3 / (double)per_day;
    printf("id index: %lld ids, %lld chunks (%.0f MB), load %.2f; %lld ids a day\n",
           (long long)ix.count, (long long)ix.n_chunks, ix.n_chunks * 64.0 / 1e6,
           (double)ix.count / ((double)ix.n_chunks * IOM_CHUNK_SLOTS), (long long)per_day);
    printf("%-30s %9s %9s %14s\n", "one day, one thread", "us", "ns an id", "x a random read");
    const char *names[4] = {"delete the oldest day", "look up the new ids", "put the new ids",
                            "look up the day's ids, held"};
    double us[4] = {t_delete, t_find, t_put, t_held};
    for (int k = 0; k < 4; k++)
        printf("%-30s %9.0f %9.1f %14.1f\n", names[k], us[k], us[k] * 1e3 / (double)per_day,
               us[k] * 1e3 / (double)per_day / line_ns);
    double page_us[5], page_bytes;
    iom_bench_pages(keys, events, per_day, days, warm_up, page_us, &page_bytes, found);
    printf("id pages (the same days): %.0f MB, %.1f bytes an id held\n", page_bytes / 1e6,
           page_bytes / (double)events);
    const char *page_names[5] = {"delete the oldest day (pages)", "make the new day's pages",
                                 "look up the new ids (pages)", "put the new ids (pages)",
                                 "look up the day's ids (pages)"};
    for (int k = 0; k < 5; k++)
        printf("%-30s %9.0f %9.1f %14.1f\n", page_names[k], page_us[k],
               page_us[k] * 1e3 / (double)per_day, page_us[k] * 1e3 / (double)per_day / line_ns);
    printf("%-30s %9.0f %9.1f %14.1f\n", "peer: random reads, prefetched", independent, line_ns,
           1.0);
    printf("%-30s %9.0f %9.1f %14.1f\n", "peer: dependent random reads", dependent,
           dependent * 1e3 / (double)per_day, dependent / independent);
    free(found);
    free(keys);
    free(ix.raw);
    return 0;
}
