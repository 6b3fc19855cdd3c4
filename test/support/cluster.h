/*
 * Test driver for the local Alternator stand-in cluster
 * (test/cluster/alternator-cluster.js).  C99, POSIX, libc only.
 *
 *   tc_cluster *c = tc_start("--nodes 3");
 *   int port = tc_port(c);                 // every node: 127.0.0.<i>:port
 *   tc_cmd(c, NULL, 0, "kill %d", 2);      // see test/cluster/README.md
 *   long n = tc_stat(c, 1, "api");
 *   tc_stop(c);
 *
 * The cluster is a child process (`node alternator-cluster.js ...`).  It dies
 * with the test: SIGTERM on parent death (Linux), and it exits on EOF on its
 * stdin or when its parent PID changes.  tc_start() sets SIGPIPE to SIG_IGN
 * if it was SIG_DFL, so a dead cluster cannot kill the test by a write.
 */
#ifndef ALTERNATOR_LB_TEST_CLUSTER_H
#define ALTERNATOR_LB_TEST_CLUSTER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tc_cluster tc_cluster;

/* Starts `node <dir>/alternator-cluster.js <args>` as a child (fork/exec,
 * pipes on stdin/stdout) and waits (max 15 s) for its READY line.
 * `args`: space-separated extra arguments (may be NULL), e.g.
 * "--nodes 3 --auth k:s"; single or double quotes group words.
 * Script dir: env ALT_CLUSTER_DIR, else the compile-time macro TC_CLUSTER_DIR
 * (a string).  Node binary: env ALT_CLUSTER_NODE, else "node" from PATH.
 * Returns NULL on failure (with a message on stderr). */
tc_cluster *tc_start(const char *args);

/* The common port of all nodes. */
int tc_port(const tc_cluster *c);

/* The control TCP port (127.0.0.1), for other processes. */
int tc_control_port(const tc_cluster *c);

/* "127.0.0.<i>" into buf; returns buf. */
const char *tc_addr(int i, char buf[16]);

/* Sends one command line (printf-style, no newline), reads the one reply
 * line into reply (NUL-terminated, truncated to len; reply may be NULL).
 * Returns 0 for an OK reply, -1 for ERR or an I/O failure or timeout. */
int tc_cmd(tc_cluster *c, char *reply, size_t len, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Reads the counters via `stats`; returns field `what` ("localnodes",
 * "health", "api", "other", "conns", "dropped", "open"; also "up", "hung", "listed"
 * as 0/1) of node i, or -1. */
long tc_stat(tc_cluster *c, int i, const char *what);

/* Sends quit, waits for the child (SIGKILL after 5 s), frees.  NULL ok. */
void tc_stop(tc_cluster *c);

#ifdef __cplusplus
}
#endif

#endif
