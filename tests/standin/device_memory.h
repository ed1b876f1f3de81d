/* Device memory of the runtime stand-ins (libascendcl.so, libcuda.so; tests only): host
 * allocations, filled with 0xA5 (device memory is not zeroed), each with its device, so
 * that every pointer the libraries are given can be checked against them. */
#ifndef XCCL_STANDIN_DEVICE_MEMORY_H
#define XCCL_STANDIN_DEVICE_MEMORY_H
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct alloc { char *p; size_t n; int dev; struct alloc *next; };
static struct alloc *g_allocs = NULL;

/* The allocation that holds p, or NULL. */
static inline struct alloc *alloc_find(const void *p) {
    for (struct alloc *a = g_allocs; a; a = a->next)
        if ((const char *)p >= a->p && (const char *)p < a->p + a->n) return a;
    return NULL;
}

/* Whether [p, p+bytes) lies inside one allocation (on device `dev`, unless dev < 0). */
static inline int alloc_holds(const void *p, size_t bytes, int dev) {
    struct alloc *a = alloc_find(p);
    return a && (dev < 0 || a->dev == dev) && (size_t)((const char *)p - a->p) + bytes <= a->n;
}

/* n new bytes on device `dev`, or NULL. */
static inline void *alloc_new(size_t n, int dev) {
    struct alloc *a = (struct alloc *)malloc(sizeof *a);
    if (!a) return NULL;
    a->p = (char *)malloc(n);
    if (!a->p) { free(a); return NULL; }
    memset(a->p, 0xA5, n);
    a->n = n;
    a->dev = dev;
    a->next = g_allocs;
    g_allocs = a;
    return a->p;
}

/* Frees the allocation that starts at p; 0 when none does. */
static inline int alloc_free(const void *p) {
    for (struct alloc **pp = &g_allocs; *pp; pp = &(*pp)->next)
        if ((*pp)->p == (const char *)p) {
            struct alloc *a = *pp;
            *pp = a->next;
            free(a->p);
            free(a);
            return 1;
        }
    return 0;
}
#endif
