/* iom_format: score rows as CSV text (see iom_format.h). */
#include "iom_format.h"

#include <string.h>

/* The decimal digits of v (any int64) at p; returns the end. */
static char *put_int(char *p, int64_t v) {
    char tmp[20];
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    int n = 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *p++ = '-';
    while (n) *p++ = tmp[--n];
    return p;
}

int64_t iom_format_scores(int64_t n, const int64_t *nominal_id, const int64_t *score,
                          const int8_t *band, char *out) {
    static const char *const names[4] = {"NONE", "LOW", "MEDIUM", "HIGH"};
    static const int lengths[4] = {4, 3, 6, 4};
    char *p = out;
    for (int64_t i = 0; i < n; i++) {
        if (band[i] < 0 || band[i] > 3) return -1 - i;
        p = put_int(p, nominal_id[i]);
        *p++ = ',';
        p = put_int(p, score[i]);
        *p++ = ',';
        memcpy(p, names[band[i]], (size_t)lengths[band[i]]);
        p += lengths[band[i]];
        *p++ = '\n';
    }
    return p - out;
}
