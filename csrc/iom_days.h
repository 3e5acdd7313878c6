/*
 * iom_days: the day arrays, and expiry.
 *
 * The store keeps, for each day of the window, an array of the slots of that
 * day's events in the order they came, in a ring of power-of-two size longer
 * than the window (indexed by day number & mask). Advancing one day reads
 * only that day's array; its slots go on the free stack (an array too) that
 * inserts pop. Both are read in order, so the slots they name are known rows
 * ahead and their reads can be prefetched (linked lists through the slots
 * would make a walk of dependent misses). Retraction marks a slot dead in
 * place: its day's array keeps it until the day expires or a compaction
 * runs, so both cost O(1) per event.
 */
#ifndef IOM_DAYS_H
#define IOM_DAYS_H

#include "iom_base.h"
#include "iom_store.h"

/* The slots of one day's events, in the order they came. */
typedef struct {
    int32_t *slots; /* cap entries, len used (NULL while cap is 0) */
    int32_t len;
    int32_t cap;
} iom_day;

/* Room in d for `extra` more slots. A day with no array takes *spare (an
 * expired day's, kept: a day's array is about as long as the day before's)
 * when there is one. An array that must grow grows by an eighth at least,
 * so events that come late, a few a day to each of many days, neither copy
 * much nor leave much room unused. */
int iom_day_reserve(iom_day *d, iom_day *spare, int64_t extra);
/* Give up an emptied day's array: kept as *spare if it is the longer. */
void iom_day_release(iom_day *d, iom_day *spare);

struct iom_store;
/* Room in each day's array for a batch's inserts dated that day. */
int iom_reserve_days(struct iom_store *s, int64_t n, const int32_t *days, const int8_t *action,
                     int64_t inserts);
/* Room on the free stack for `extra` more slots. */
int iom_reserve_free(struct iom_store *s, int64_t extra);
/* Expire the days up to new_start (see iom_advance in iom_store.h). */
int iom_expire(struct iom_store *s, int64_t new_start, int64_t *expired, iom_leaving *out);
/* The days iom_expire releases, as ring indices first..last (see iom_expire). */
void iom_expiring_days(const struct iom_store *s, int64_t new_start, int64_t *first,
                       int64_t *last);
/* Move dead slots from the day arrays to the free stack: O(events held).
 * iom_advance runs it once retracted events outnumber a quarter of the live
 * ones + 65,536. Does nothing if the stack cannot grow (it only frees room). */
void iom_compact(struct iom_store *s);

#endif
