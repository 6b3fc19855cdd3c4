/* CPU used by everything else on this shared machine while a benchmark
 * runs, so that a figure taken under load can be flagged. Used by alt_bench
 * and tail_bench. */
#ifndef ALT_BENCH_CPU_LOAD_H
#define ALT_BENCH_CPU_LOAD_H

#include <stdint.h>
#include <sys/types.h>

struct cpu_snap {
    double busy, mine, srv; /* seconds */
    uint64_t t;             /* CLOCK_MONOTONIC, ns */
};

/* Busy time of CPU `cpu` (of all CPUs when cpu < 0) from /proc/stat, this
 * process's CPU time, and the summed CPU time of the `nsrv` server
 * processes in `srv`. */
void cpu_snap(struct cpu_snap *s, int cpu, const pid_t *srv, int nsrv);

/* Everything else's CPU between a and b, in cores (1.0 = one CPU fully
 * busy): busy time less this process's and the servers'. */
double foreign_load(const struct cpu_snap *a, const struct cpu_snap *b);

#endif
