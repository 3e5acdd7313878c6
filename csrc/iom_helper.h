/*
 * iom_helper: the second thread of the store's large steps, in plain C.
 *
 * A step that splits its work hands one part to the helper with
 * iom_helper_start, does its own part, and waits in iom_helper_finish. One
 * helper thread serves the whole process (started on first use, so a
 * library that never takes a large step starts no thread). After a step it
 * stays awake for IOM_HELPER_AWAKE_NS, so that the next step of the same
 * operation (a day is an expiry, a classify and an apply, a few tens of
 * microseconds apart) need not wake it, then sleeps on a condition variable:
 * an idle engine uses no CPU, and the time awake is bounded by a fraction of
 * the step that preceded it (a split step is thousands of rows). A step that
 * finds the helper busy (another store's step, on another thread), or a
 * process that cannot start a thread, runs the part on the calling thread in
 * iom_helper_finish: the same result on one core. A forked child starts a
 * new helper on first use.
 *
 * This is the package's one thread mechanism: the store's steps and the full
 * rescore use it, and a store with one thread (iom_store_set_threads) never
 * calls it.
 */
#ifndef IOM_HELPER_H
#define IOM_HELPER_H

#include <stdint.h>

/* How long the helper stays awake after a step (nanoseconds). */
#define IOM_HELPER_AWAKE_NS 200000

typedef struct {
    void *(*fn)(void *);
    void *arg;
    int shared;   /* 1: posted to the helper thread; 0: runs in iom_helper_finish */
    uint64_t seq; /* the step's number on the helper thread */
} iom_helper;

/* Run fn(arg) on the helper; iom_helper_finish waits for it. */
void iom_helper_start(iom_helper *h, void *(*fn)(void *), void *arg);
void iom_helper_finish(iom_helper *h);
/* Run fn(arg) on the calling thread, in iom_helper_finish: the same code path
 * as a split step, for a step too small to split or a store on one thread. */
void iom_helper_here(iom_helper *h, void *(*fn)(void *), void *arg);

/* A signal from the starting thread to its helper's running part (say,
 * "the rows' slots are planned"), for a part that starts on work of its own
 * and needs more only later. The part may also run on the starting thread,
 * in iom_helper_finish, so the starting thread must raise the signal before
 * it waits for the part. */
typedef struct {
    volatile int raised; /* read and written only through the functions below */
} iom_signal;

void iom_signal_raise(iom_signal *sig);
/* Wait (relaxing, and yielding the core now and then) until it is raised. */
void iom_signal_wait(iom_signal *sig);

/* Parts run on the helper thread and on the calling thread since the process
 * started (for tests). */
void iom_helper_counts(uint64_t out[2]);

#endif
