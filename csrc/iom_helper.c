/* iom_helper: see iom_helper.h for the design. */
#include "iom_helper.h"

#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#define IOM_HAVE_THREADS 1
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define IOM_CPU_RELAX() _mm_pause()
#else
#define IOM_CPU_RELAX() ((void)0)
#endif

/* Spins between yields of the core (or looks at the clock). */
#define IOM_SPIN_BATCH 64

/* Parts run on the helper thread [0] and on the calling thread [1]. */
static atomic_uint_fast64_t iom_parts[2];

#ifdef IOM_HAVE_THREADS

/* The helper. A step is posted by whoever holds `claimed`: `posted` numbers
 * the steps, and a step's function is read with its number under `mu`. Only
 * the holder of a step waits for it (done >= its number), and it holds the
 * claim until then, so a step is never posted over another. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake;
    atomic_int claimed;
    atomic_uint_fast64_t posted;
    atomic_uint_fast64_t done;
    void *(*fn)(void *); /* under mu */
    void *arg;
    int sleeping; /* under mu */
    int state;    /* under the claim: 0 not started, 1 running, -1 cannot start */
} iom_shared = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static pthread_once_t iom_fork_once = PTHREAD_ONCE_INIT;

static int64_t iom_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void *iom_shared_main(void *first_seen) {
    uint_fast64_t seen = (uint_fast64_t)(uintptr_t)first_seen;
    for (;;) {
        /* Awake a short while after a step, for the next step of the same
         * operation (an engine's day is a few steps in a row); then asleep. */
        int64_t until = iom_now_ns() + IOM_HELPER_AWAKE_NS;
        for (unsigned spins = 1;
             atomic_load_explicit(&iom_shared.posted, memory_order_acquire) == seen; spins++) {
            if (spins % IOM_SPIN_BATCH) IOM_CPU_RELAX();
            else if (iom_now_ns() > until) break;
        }
        pthread_mutex_lock(&iom_shared.mu);
        iom_shared.sleeping = 1;
        while (atomic_load_explicit(&iom_shared.posted, memory_order_relaxed) == seen)
            pthread_cond_wait(&iom_shared.wake, &iom_shared.mu);
        iom_shared.sleeping = 0;
        uint_fast64_t step = atomic_load_explicit(&iom_shared.posted, memory_order_relaxed);
        void *(*fn)(void *) = iom_shared.fn;
        void *arg = iom_shared.arg;
        pthread_mutex_unlock(&iom_shared.mu);
        fn(arg);
        seen = step;
        atomic_store_explicit(&iom_shared.done, step, memory_order_release);
    }
    return NULL;
}

/* A forked child has no helper thread (only the forking thread survives a
 * fork): it starts afresh, and a new helper starts on first use. */
static void iom_shared_after_fork(void) {
    pthread_mutex_init(&iom_shared.mu, NULL);
    pthread_cond_init(&iom_shared.wake, NULL);
    atomic_store(&iom_shared.claimed, 0);
    atomic_store(&iom_shared.posted, 0);
    atomic_store(&iom_shared.done, 0);
    iom_shared.fn = NULL;
    iom_shared.sleeping = 0;
    iom_shared.state = 0;
}

static void iom_register_fork(void) { pthread_atfork(NULL, NULL, iom_shared_after_fork); }

/* Claim the helper, starting it on first use (with every signal blocked:
 * signals are for the caller's threads); 0 if it is busy or cannot start. */
static int iom_shared_claim(void) {
    int free_ = 0;
    if (!atomic_compare_exchange_strong(&iom_shared.claimed, &free_, 1)) return 0;
    if (iom_shared.state == 0) {
        pthread_once(&iom_fork_once, iom_register_fork);
        pthread_t thread;
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        uint_fast64_t seen = atomic_load(&iom_shared.posted);
        int rc = pthread_create(&thread, NULL, iom_shared_main, (void *)(uintptr_t)seen);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        iom_shared.state = rc == 0 ? 1 : -1;
        if (rc == 0) pthread_detach(thread);
    }
    if (iom_shared.state == 1) return 1;
    atomic_store_explicit(&iom_shared.claimed, 0, memory_order_release);
    return 0;
}

#endif /* IOM_HAVE_THREADS */

void iom_helper_start(iom_helper *h, void *(*fn)(void *), void *arg) {
    iom_helper_here(h, fn, arg);
#ifdef IOM_HAVE_THREADS
    if (iom_shared_claim()) {
        pthread_mutex_lock(&iom_shared.mu);
        iom_shared.fn = fn;
        iom_shared.arg = arg;
        h->seq = atomic_load_explicit(&iom_shared.posted, memory_order_relaxed) + 1;
        atomic_store_explicit(&iom_shared.posted, h->seq, memory_order_release);
        if (iom_shared.sleeping) pthread_cond_signal(&iom_shared.wake);
        pthread_mutex_unlock(&iom_shared.mu);
        h->shared = 1;
    }
#endif
}

void iom_helper_here(iom_helper *h, void *(*fn)(void *), void *arg) {
    h->fn = fn;
    h->arg = arg;
    h->shared = 0;
    h->seq = 0;
}

void iom_helper_finish(iom_helper *h) {
#ifdef IOM_HAVE_THREADS
    if (h->shared) {
        /* the helper's part is about as long as this thread's, just done */
        for (unsigned spins = 1;
             atomic_load_explicit(&iom_shared.done, memory_order_acquire) < h->seq; spins++) {
            if (spins % IOM_SPIN_BATCH) IOM_CPU_RELAX();
            else sched_yield(); /* the helper may be waiting for this core */
        }
        atomic_store_explicit(&iom_shared.claimed, 0, memory_order_release);
        atomic_fetch_add_explicit(&iom_parts[0], 1, memory_order_relaxed);
        return;
    }
#endif
    h->fn(h->arg);
    atomic_fetch_add_explicit(&iom_parts[1], 1, memory_order_relaxed);
}

void iom_helper_counts(uint64_t out[2]) {
    for (int k = 0; k < 2; k++)
        out[k] = (uint64_t)atomic_load_explicit(&iom_parts[k], memory_order_relaxed);
}

void iom_signal_raise(iom_signal *sig) { __atomic_store_n(&sig->raised, 1, __ATOMIC_RELEASE); }

void iom_signal_wait(iom_signal *sig) {
    for (unsigned spins = 1; !__atomic_load_n(&sig->raised, __ATOMIC_ACQUIRE); spins++) {
        if (spins % IOM_SPIN_BATCH) IOM_CPU_RELAX();
#ifdef IOM_HAVE_THREADS
        else sched_yield(); /* the thread to raise it may be waiting for this core */
#endif
    }
}
