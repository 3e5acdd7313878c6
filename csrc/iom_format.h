/*
 * iom_format: score rows as CSV text, `nominal_id,score,band` a line, the
 * way every score file is written (one pass, no per-row Python).
 */
#ifndef IOM_FORMAT_H
#define IOM_FORMAT_H

#include <stdint.h>

/* Most bytes a row takes: two int64 (20 characters each), a band name and
 * the separators. */
#define IOM_FORMAT_ROW_BYTES 56

/* Write n rows into out (at least n * IOM_FORMAT_ROW_BYTES bytes); band[i] is
 * 0 NONE, 1 LOW, 2 MEDIUM, 3 HIGH. Returns the bytes written, or -1 - i for
 * the first row i whose band is none of these. */
int64_t iom_format_scores(int64_t n, const int64_t *nominal_id, const int64_t *score,
                          const int8_t *band, char *out);

#endif
