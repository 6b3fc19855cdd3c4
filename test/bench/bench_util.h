/*
 * Helpers the benchmark programs share (alt_bench, tail_bench,
 * request_bench): the clock, pinning to a CPU, the median, key=value
 * arguments, die(), and an in-process /localnodes responder. Include it
 * after defining _GNU_SOURCE.
 */
#ifndef ALT_BENCH_UTIL_H
#define ALT_BENCH_UTIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* Called once at the start of main(): `prog` prefixes the messages of die()
 * and pin_self() ("alt_bench"); arg() looks at argv[first_arg..] (2 after a
 * subcommand, 1 without); die() calls `at_die` (may be NULL) before it
 * exits. */
void bench_init(const char *prog, int first_arg, void (*at_die)(void));

/* "prog: what" on stderr, then at_die, then exit(2). */
_Noreturn void die(const char *what);

/* Inline: they run inside measured loops. */
static inline uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

/* Pins the calling thread to CPU `cpu`: false (and, for cpu >= 0, a line on
 * stderr) when it could not. cpu < 0: nothing, false. */
bool pin_self(int cpu);

/* The median of v[0..n) (of its first 64 values; 0 when n <= 0); v is left
 * as it is. */
double median(const double *v, int n);

/* key=value arguments: the value of `key`, or def. */
const char *arg(int argc, char **argv, const char *key, const char *def);
long arg_long(int argc, char **argv, const char *key, long def);

/* "1,8,64" -> {1,8,64} (at most max values); returns the count. */
int parse_list(const char *s, long *out, int max);

/* "PID,PID,..." -> out (at most max, at most 64); returns the count. */
int parse_pids(const char *s, pid_t *out, int max);

/* A one-request-per-connection HTTP responder on 127.0.0.1:<ephemeral>
 * answering every request with `body` (JSON; it may be changed while it
 * runs): stands in for /localnodes so that an alt_lb can be given live
 * nodes that need not exist. */
struct responder {
    int fd, port;
    _Atomic(const char *) body;
    atomic_bool stop;
    pthread_t thread;
};

void responder_start(struct responder *r, const char *body);
void responder_stop(struct responder *r);

#endif
