/* iom_base: memory for the store's arrays (see iom_base.h). */
#include "iom_base.h"

#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#define IOM_HUGE_BYTES ((size_t)8 << 20)
#define IOM_HUGE_ALIGN ((size_t)2 << 20)

/* Advise the 2 MiB-aligned part of a large block for huge pages. */
static void iom_advise(void *p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes < IOM_HUGE_BYTES) return;
    uintptr_t lo = ((uintptr_t)p + IOM_HUGE_ALIGN - 1) & ~(uintptr_t)(IOM_HUGE_ALIGN - 1);
    uintptr_t hi = ((uintptr_t)p + bytes) & ~(uintptr_t)(IOM_HUGE_ALIGN - 1);
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

void *iom_alloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (p) iom_advise(p, bytes);
    return p;
}

/* realloc moves a large block by remapping its pages, not by copying them. */
int iom_grow(void **p, int64_t n, size_t size) {
    size_t bytes = (size_t)n * size;
    void *q = realloc(*p, bytes ? bytes : 1);
    if (!q) return IOM_ENOMEM;
    iom_advise(q, bytes);
    *p = q;
    return IOM_OK;
}

int iom_grow_fresh(void **p, int64_t old_n, int64_t n, size_t size) {
    size_t bytes = (size_t)n * size;
    if (bytes < IOM_HUGE_BYTES) return iom_grow(p, n, size);
    void *q = iom_alloc(bytes);
    if (!q) return IOM_ENOMEM;
    if (*p && old_n > 0) memcpy(q, *p, (size_t)old_n * size);
    free(*p);
    *p = q;
    return IOM_OK;
}

/* malloc's large blocks start 16 bytes past a page; the zeroed pages of a
 * large calloc come from the kernel untouched. */
void *iom_alloc_lines(size_t bytes, void **raw) {
    *raw = calloc(bytes + IOM_LINE, 1);
    if (!*raw) return NULL;
    void *p = (void *)(((uintptr_t)*raw + IOM_LINE - 1) & ~(uintptr_t)(IOM_LINE - 1));
    iom_advise(p, bytes);
    return p;
}
