/*
 * iom_helper: the second thread of the store's large steps, in plain C.
 *
 * A step that splits its work (see iom_store.h) hands one part to a helper
 * with iom_helper_start, does its own part, and waits in iom_helper_finish.
 *
 * Starting and joining a thread for every step cost 57-100 us on the 2-core
 * VM measured, as much as a whole partial rescore's part. So one helper
 * thread lives for the whole process (started on first use) and takes the
 * steps in turn: a handoff to it costs under 1 us while it is still awake.
 * After a step it stays awake, spinning and yielding the core to any other
 * runnable thread, for IOM_HELPER_AWAKE_NS, then sleeps on a condition
 * variable; waking it from there costs 30-55 us (still less than a new
 * thread).
 *
 * The helper serves one step at a time. A step that finds it busy (another
 * store's step, on another thread) starts a thread of its own as before, and
 * where no thread can start, the part runs on the calling thread: the same
 * result on one core. A forked child starts a new helper on first use.
 */
#ifndef IOM_HELPER_H
#define IOM_HELPER_H

#include <stdint.h>
#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define IOM_HAVE_THREADS 1
#endif

/* How long the helper spins for the next step after one (nanoseconds). */
#ifndef IOM_HELPER_AWAKE_NS
#define IOM_HELPER_AWAKE_NS 2000000
#endif

typedef struct {
    void *(*fn)(void *);
    void *arg;
    int how;      /* IOM_BY_* in iom_helper.c */
    uint64_t seq; /* the step's number, when the shared helper took it */
#ifdef IOM_HAVE_THREADS
    pthread_t thread; /* when it runs on a thread of its own */
#endif
} iom_helper;

/* Run fn(arg) on another thread; iom_helper_finish waits for it. */
void iom_helper_start(iom_helper *h, void *(*fn)(void *), void *arg);
void iom_helper_finish(iom_helper *h);

/* A signal from the starting thread to its helper's running part (say,
 * "the rows' slots are planned"), for a part that starts on work of its own
 * and needs more only later. The helper may also run the part on the
 * starting thread, in iom_helper_finish, so the starting thread must raise
 * the signal before it waits for the part. */
typedef struct {
    volatile int raised; /* read and written only through the functions below */
} iom_signal;

void iom_signal_raise(iom_signal *sig);
/* Spin (relaxing, and yielding the core now and then) until it is raised. */
void iom_signal_wait(iom_signal *sig);

/* Steps whose part ran on the shared helper, on a thread of their own, and
 * on the calling thread, since the process started (for tests). */
void iom_helper_counts(uint64_t out[3]);

/* For tests: hold the shared helper as a step would (1 if it was free and
 * runs), so that steps meanwhile take the other paths; then release it. */
int iom_helper_hold(void);
void iom_helper_release(void);

#endif
