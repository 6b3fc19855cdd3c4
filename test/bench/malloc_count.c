/*
 * malloc_count.c: counts heap allocations made by the whole process (the
 * benchmark, libalternator_lb, libcurl, libc itself) between mc_start() and
 * mc_stop().
 *
 * Definitions of malloc & co. in the executable take precedence over glibc's
 * for every shared object (ELF symbol interposition, which glibc supports for
 * its allocator), and forward to glibc's own implementation through its
 * exported __libc_* entry points. Only the allocating entry points are
 * counted; free() only forwards.
 *
 * Not built with sanitizers (they bring their own allocator): mc_available()
 * then says so and the benchmark prints "n/a".
 */
#define _GNU_SOURCE
#include "malloc_count.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#ifndef BENCH_NO_MALLOC_COUNT

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t nmemb, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *ptr);

static atomic_bool counting;
static atomic_ulong allocations;

static inline void note(void)
{
    if (atomic_load_explicit(&counting, memory_order_relaxed))
        atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
}

void *malloc(size_t size)
{
    note();
    return __libc_malloc(size);
}

void *calloc(size_t nmemb, size_t size)
{
    note();
    return __libc_calloc(nmemb, size);
}

void *realloc(void *ptr, size_t size)
{
    note();
    return __libc_realloc(ptr, size);
}

void free(void *ptr)
{
    __libc_free(ptr);
}

void *aligned_alloc(size_t alignment, size_t size)
{
    note();
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **memptr, size_t alignment, size_t size)
{
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0)
        return EINVAL;
    note();
    void *p = __libc_memalign(alignment, size);
    if (!p)
        return ENOMEM;
    *memptr = p;
    return 0;
}

bool mc_available(void)
{
    return true;
}

void mc_start(void)
{
    atomic_store(&allocations, 0);
    atomic_store(&counting, true);
}

unsigned long mc_stop(void)
{
    atomic_store(&counting, false);
    return atomic_load(&allocations);
}

#else

bool mc_available(void)
{
    return false;
}

void mc_start(void)
{
}

unsigned long mc_stop(void)
{
    return 0;
}

#endif
