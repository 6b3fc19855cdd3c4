/*
 * Small helpers shared by the tests: checks, a DynamoDB request on an easy
 * handle, and bounded waiting.
 */
#ifndef ALT_TESTUTIL_H
#define ALT_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>

#include <curl/curl.h>

#include "alternator_lb.h"
#include "cluster.h"

extern int tu_failures;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
            tu_failures++;                                                   \
        }                                                                    \
    } while (0)

#define CHECK_EQ(a, b)                                                       \
    do {                                                                     \
        long long a_ = (long long)(a), b_ = (long long)(b);                  \
        if (a_ != b_) {                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld vs %lld)\n", \
                    __FILE__, __LINE__, #a, #b, a_, b_);                     \
            tu_failures++;                                                   \
        }                                                                    \
    } while (0)

/* Fatal: the test cannot go on. */
#define REQUIRE(cond)                                                        \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__,         \
                    __LINE__, #cond);                                        \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

/* Runs a test function and prints its name and outcome. */
#define RUN(fn)                                                              \
    do {                                                                     \
        int before_ = tu_failures;                                           \
        fprintf(stderr, "-- %s\n", #fn);                                     \
        fn();                                                                \
        fprintf(stderr, "-- %s: %s\n", #fn,                                  \
                tu_failures == before_ ? "ok" : "FAILED");                   \
    } while (0)

/* Exit status for main(): prints "N passed, N failed" style summary. */
int tu_finish(void);

/* A request's outcome. body is NUL-terminated, owned by the struct. */
typedef struct tu_reply {
    char body[8192];
    size_t len;
    long status;
    char ip[64];
} tu_reply;

/* A CURLOPT_WRITEFUNCTION that appends the answer to the tu_reply given as
 * CURLOPT_WRITEDATA (keeping what fits, NUL-terminated). */
size_t tu_write_reply(char *data, size_t size, size_t nmemb, void *reply);

/* Sets easy up for POST <url> with X-Amz-Target DynamoDB_20120810.<op> and a
 * JSON body (copied), writing the answer into reply. headers receives the
 * slist to free after the transfer. */
void tu_setup_api(CURL *easy, const char *url, const char *op,
                  const char *json, tu_reply *reply,
                  struct curl_slist **headers);

/* Fills reply->status and reply->ip from a finished transfer. */
void tu_collect(CURL *easy, tu_reply *reply);

/* One ListTables through alt_curl_perform_ex(ALT_IDEMPOTENT) on easy: its
 * result, with the answer in reply. */
CURLcode tu_list_tables(alt_lb *lb, CURL *easy, tu_reply *reply);

/* One request (as tu_setup_api sets it up) straight to node 1,
 * http://127.0.0.1:<port>/, without the library, on a handle of its own:
 * its result, with the answer in reply. */
CURLcode tu_plain_call(int port, const char *op, const char *json,
                       tu_reply *reply);

/* A counter of the cluster's ("api", "localnodes", ...) summed over nodes
 * 1..n; fails the test hard if it cannot be read. */
long tu_stat_sum(tc_cluster *c, int n, const char *what);
/* The same over nodes first..last. */
long tu_stat_range(tc_cluster *c, int first, int last, const char *what);

/* The most attempts one node can get in ms milliseconds of the library's
 * back-off, which starts at 1 s and doubles. */
int tu_max_attempts(long long ms);

/* Index i of "127.0.0.<i>", or -1. */
int tu_node_index(const char *ip);

/* Milliseconds since an arbitrary start (monotonic). */
long long tu_now_ms(void);

/* Sleeps ms milliseconds. */
void tu_sleep_ms(long ms);

/* A logger for alt_lb_set_logger that prints to stderr with a prefix. */
void tu_log(void *userdata, alt_log_level level, const char *msg);

/* A logger for alt_lb_set_logger that keeps what the library said (the
 * last 256 KiB), for tests to search; thread-safe. Prints it too when the
 * environment has ALT_TEST_VERBOSE. */
void tu_capture_log(void *userdata, alt_log_level level, const char *msg);
void tu_log_reset(void);                 /* forget what was captured */
int tu_log_count(const char *needle);    /* occurrences since the reset */
void tu_log_dump(void);                  /* print the capture to stderr */

/* Whether addr is among the nodes in lb's rotation (of the first 64). */
int tu_in_rotation(alt_lb *lb, const char *addr);

/* A /localnodes body naming n distinct addresses 127.<k>.x.y (loopback,
 * where nothing listens, so a connection is refused at once). Free it. */
char *tu_many_addresses(int k, int n);

/* A listener on addr:port (IPv4) that never accepts, its backlog full, so
 * that a connection attempt to it hangs in the TCP handshake (its SYNs go
 * unanswered) like one to a powered-off or firewalled node. */
typedef struct tu_blackhole tu_blackhole;
tu_blackhole *tu_blackhole_open(const char *addr, int port);
void tu_blackhole_close(tu_blackhole *b);

/* For a CURLMOPT_SOCKETFUNCTION on epoll: brings epfd's interest in s in
 * step with what (CURL_POLL_IN/OUT/INOUT: added or modified; REMOVE:
 * deleted, when the socket is not closed already). 0, or -1 on an epoll
 * error. */
int tu_epoll_watch(int epfd, curl_socket_t s, int what);

/* The CURL_CSELECT_* flags for the events epoll_wait() reported on a socket
 * (EPOLLHUP counts as readable). */
int tu_epoll_select(unsigned events);

/* Starts a cluster, fails the test hard if it cannot. */
tc_cluster *tu_cluster(const char *args);

/* alt_lb_new over seeds 127.0.0.<first..first+n-1> on port, http. */
alt_lb *tu_lb(int port, int first, int n);

#endif
