/* iom_nmap: the nominal map (see iom_nmap.h). */
#include "iom_nmap.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(iom_nline) == IOM_LINE, "an iom_nline must fill one cache line");

int iom_nmap_alloc(iom_nmap *m, int64_t n_lines) {
    void *raw;
    iom_nline *lines = (iom_nline *)iom_alloc_lines((size_t)n_lines * sizeof(iom_nline), &raw);
    if (!lines) return IOM_ENOMEM;
    for (int64_t i = 0; i < n_lines; i++) memset(lines[i].key, 0xFF, sizeof(lines[i].key));
    free(m->raw);
    m->raw = raw;
    m->lines = lines;
    m->mask = n_lines - 1;
    m->count = 0;
    return IOM_OK;
}

void iom_nmap_free(iom_nmap *m) {
    free(m->raw);
    memset(m, 0, sizeof(*m));
}

int iom_nmap_fit(iom_nmap *m, const int64_t *nom_id, int64_t n) {
    if ((m->count + 1) * 2 <= (m->mask + 1) * IOM_NLINE_KEYS) return IOM_OK;
    int rc = iom_nmap_alloc(m, (m->mask + 1) * 2);
    if (rc != IOM_OK) return rc;
    for (int64_t i = 0; i < n; i++) {
        if (i + IOM_AHEAD_FAR < n) iom_nmap_prefetch(m, nom_id[i + IOM_AHEAD_FAR]);
        iom_nmap_put(m, nom_id[i], i);
    }
    return IOM_OK;
}

int64_t iom_nmap_bytes(const iom_nmap *m) { return (m->mask + 1) * (int64_t)sizeof(iom_nline); }
