/* malloc_count.h: process-wide heap allocation counter (see malloc_count.c). */
#ifndef BENCH_MALLOC_COUNT_H
#define BENCH_MALLOC_COUNT_H

#include <stdbool.h>

/* false when built without the interposer (sanitizer builds). */
bool mc_available(void);
/* Zeroes the counter and starts counting, in every thread. */
void mc_start(void);
/* Stops counting; returns the allocations counted since mc_start(). */
unsigned long mc_stop(void);

#endif
