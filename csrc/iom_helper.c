/* iom_helper: see iom_helper.h for the design. */
#include "iom_helper.h"

#include <stdatomic.h>
#include <stddef.h>
#include <time.h>
#ifdef IOM_HAVE_THREADS
#include <sched.h>
#include <signal.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define IOM_CPU_RELAX() _mm_pause()
#else
#define IOM_CPU_RELAX() ((void)0)
#endif

/* Where a step's part runs. */
enum { IOM_BY_SHARED, IOM_BY_OWN, IOM_BY_HERE };

/* Spins between looks at the clock or yields of the core. */
#define IOM_SPIN_BATCH 64

/* Steps taken, by where they ran (IOM_BY_*). */
static atomic_uint_fast64_t iom_steps[3];

#ifdef IOM_HAVE_THREADS

/* The shared helper. A step is posted by whoever holds `claimed`:
 * `posted` numbers them, and the step's function is read with its number
 * under `mu`, so the helper never pairs one step's number with another's
 * function. Only the holder of a step waits for it (done >= its number), and
 * it holds the claim until then, so a step is never posted over another. */
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
} iom_shared = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

static pthread_once_t iom_fork_once = PTHREAD_ONCE_INIT;

static int64_t iom_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void *iom_shared_main(void *first_seen) {
    uint_fast64_t seen = (uint_fast64_t)(uintptr_t)first_seen;
    for (;;) {
        /* Awake for a while after each step: the next handoff costs under 1 us. */
        int64_t until = iom_now_ns() + IOM_HELPER_AWAKE_NS;
        for (unsigned spins = 1;
             atomic_load_explicit(&iom_shared.posted, memory_order_acquire) == seen; spins++) {
            if (spins % IOM_SPIN_BATCH) {
                IOM_CPU_RELAX();
            } else {
                if (iom_now_ns() > until) break;
                sched_yield(); /* the core goes to any other thread that can run */
            }
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

/* Start a thread with every signal blocked: signals are for the caller's
 * threads (Python handles them on its main thread). */
static int iom_thread_create(pthread_t *thread, void *(*fn)(void *), void *arg) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(thread, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* Claim the shared helper, starting it on first use; 0 if it is busy or
 * cannot start. */
static int iom_shared_claim(void) {
    int free_ = 0;
    if (!atomic_compare_exchange_strong(&iom_shared.claimed, &free_, 1)) return 0;
    if (iom_shared.state == 0) {
        pthread_once(&iom_fork_once, iom_register_fork);
        pthread_t thread;
        uint_fast64_t seen = atomic_load(&iom_shared.posted);
        iom_shared.state = -1;
        if (iom_thread_create(&thread, iom_shared_main, (void *)(uintptr_t)seen) == 0) {
            pthread_detach(thread);
            iom_shared.state = 1;
        }
    }
    if (iom_shared.state == 1) return 1;
    atomic_store_explicit(&iom_shared.claimed, 0, memory_order_release);
    return 0;
}

static uint_fast64_t iom_shared_post(void *(*fn)(void *), void *arg) {
    pthread_mutex_lock(&iom_shared.mu);
    iom_shared.fn = fn;
    iom_shared.arg = arg;
    uint_fast64_t step = atomic_load_explicit(&iom_shared.posted, memory_order_relaxed) + 1;
    atomic_store_explicit(&iom_shared.posted, step, memory_order_release);
    if (iom_shared.sleeping) pthread_cond_signal(&iom_shared.wake);
    pthread_mutex_unlock(&iom_shared.mu);
    return step;
}

#endif /* IOM_HAVE_THREADS */

static void iom_count(int how) {
    atomic_fetch_add_explicit(&iom_steps[how], 1, memory_order_relaxed);
}

void iom_helper_start(iom_helper *h, void *(*fn)(void *), void *arg) {
    h->fn = fn;
    h->arg = arg;
    h->how = IOM_BY_HERE;
    h->seq = 0;
#ifdef IOM_HAVE_THREADS
    if (iom_shared_claim()) {
        h->seq = iom_shared_post(fn, arg);
        h->how = IOM_BY_SHARED;
    } else if (iom_thread_create(&h->thread, fn, arg) == 0) {
        h->how = IOM_BY_OWN;
    }
#endif
}

void iom_helper_finish(iom_helper *h) {
#ifdef IOM_HAVE_THREADS
    if (h->how == IOM_BY_SHARED) {
        for (unsigned spins = 1;
             atomic_load_explicit(&iom_shared.done, memory_order_acquire) < h->seq; spins++) {
            if (spins % IOM_SPIN_BATCH) IOM_CPU_RELAX();
            else sched_yield(); /* the helper may be waiting for this core */
        }
        atomic_store_explicit(&iom_shared.claimed, 0, memory_order_release);
        iom_count(IOM_BY_SHARED);
        return;
    }
    if (h->how == IOM_BY_OWN) {
        pthread_join(h->thread, NULL);
        iom_count(IOM_BY_OWN);
        return;
    }
#endif
    h->fn(h->arg);
    iom_count(IOM_BY_HERE);
}

int iom_helper_hold(void) {
#ifdef IOM_HAVE_THREADS
    return iom_shared_claim();
#else
    return 0;
#endif
}

void iom_helper_release(void) {
#ifdef IOM_HAVE_THREADS
    atomic_store_explicit(&iom_shared.claimed, 0, memory_order_release);
#endif
}

void iom_helper_counts(uint64_t out[3]) {
    for (int k = 0; k < 3; k++)
        out[k] = (uint64_t)atomic_load_explicit(&iom_steps[k], memory_order_relaxed);
}

void iom_signal_raise(iom_signal *sig) {
    __atomic_store_n(&sig->raised, 1, __ATOMIC_RELEASE);
}

void iom_signal_wait(iom_signal *sig) {
    for (unsigned spins = 1; !__atomic_load_n(&sig->raised, __ATOMIC_ACQUIRE); spins++) {
        if (spins % IOM_SPIN_BATCH) IOM_CPU_RELAX();
#ifdef IOM_HAVE_THREADS
        else sched_yield(); /* the thread to raise it may be waiting for this core */
#endif
    }
}
