/*
 * Health, load-aware choice and metrics (issue 8), end to end on the local
 * cluster, in a curl_multi_poll loop (alt_multi_info_read + alt_curl_retry,
 * 8 transfers) and in easy mode (alt_curl_perform):
 *
 *  1. slow_node: one node of six answers 20 ms late. Load-aware, it gets
 *     under 1/30 of the requests, the other five share evenly, and it does
 *     not set the p99 the caller measures (under 20 ms, or within 1.2x +
 *     1 ms of the other nodes' answers' p99 in the same run); round-robin
 *     on the same lb (the control) gives it 1/6 and a p99 of 20 ms or
 *     more. Made fast again, it wins its share back within 4 s.
 *  2. node_500: a node answering HTTP 500 to everything is ejected after 5
 *     in a row; no 500 is retried (the caller sees each one, CURLE_OK);
 *     it gets nothing more while out (down, in easy mode: not even past
 *     its back-off while no refresh runs); after it recovers, a trial or a
 *     probe brings it back. Answering 400, it stays active.
 *  3. half_500: 3 of 6 answering 500: the default cap keeps the nodes out
 *     below 50%, so 2 go out and the third stays in rotation (the client
 *     is the likelier culprit); cap 100 lets all 3 out. Every node
 *     answering 503: 2 out and 4 serving with the default cap; cap 100
 *     keeps one in.
 *  4. hung_node: a node that accepts and never answers, still named by
 *     /localnodes: the requests on it time out once (not retried: sent),
 *     then it is down and gets none while it hangs (its probes time out);
 *     back after unhang.
 *  5. down_no_request: a killed node still listed goes down after 3 faults
 *     (retried elsewhere); then no request of the caller's connects to it
 *     (counted with CURLOPT_OPENSOCKETFUNCTION), only the thread's probes
 *     ask it; revived, a probe brings it back before any request reaches it.
 *  6. metrics (3 nodes): per-node requests equal the cluster's API counts,
 *     in flight while a batch is held and 0 after, retried equal to the
 *     caller's alt_curl_retry() == 1, latencies within the test's range,
 *     refreshes / nodes added and removed / last discovery, and the
 *     struct_size prefix rule.
 *
 * Node i is 127.0.0.i. Request latencies are the test's own clock, from
 * before alt_curl_prepare (or alt_curl_perform) to the completion read.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define CMD(c, ...) REQUIRE(tc_cmd((c), NULL, 0, __VA_ARGS__) == 0)
#define MAXN 8       /* node indexes 1..7 */
#define MAXCONC 16
#define MAGIC 0x4ea17a5u

static tc_cluster *cl6; /* 6 nodes */

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ the driver */

/* Connection attempts per node index, by every handle of the test's own
 * (the library's /localnodes handles have no such callback). */
static long opens[MAXN];

static curl_socket_t open_sock(void *ud, curlsocktype purpose,
                               struct curl_sockaddr *a)
{
    (void)ud;
    (void)purpose;
    if (a->family == AF_INET) {
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)&a->addr)->sin_addr,
                  ip, sizeof ip);
        int idx = tu_node_index(ip);
        if (idx >= 1 && idx < MAXN)
            opens[idx]++;
    }
    return socket(a->family, a->socktype, a->protocol);
}

typedef struct req {
    unsigned magic;
    CURL *e;
    struct curl_slist *h;
    tu_reply reply;
    long long t0;
    int busy;
} req;

/* A caller: conc handles in a curl_multi_poll loop (multi != NULL), or one
 * handle through alt_curl_perform (easy mode; manual: its documented
 * do { curl_easy_perform } while (alt_curl_retry) loop instead, counting
 * the retries). ListTables requests, prepared with flags. */
typedef struct drv {
    alt_lb *lb;
    CURLM *multi;
    int conc;
    int manual;
    unsigned flags;
    req r[MAXCONC];
    long added, done, ok200, s5xx, s4xx, failed, timeouts, retried;
    long per_node[MAXN];      /* answers (any HTTP status) by node */
    long per_node5xx[MAXN];
    struct lat {
        long us;              /* the request's latency */
        int node;             /* its answer's node, 0: none */
    } *lat;
    size_t nlat, caplat;
} drv;

static void drv_init(drv *d, alt_lb *lb, int conc, int multi)
{
    memset(d, 0, sizeof *d);
    REQUIRE(conc >= 1 && conc <= MAXCONC);
    d->lb = lb;
    d->conc = conc;
    for (int i = 0; i < conc; i++) {
        d->r[i].magic = MAGIC;
        d->r[i].e = curl_easy_init();
        REQUIRE(d->r[i].e);
        curl_easy_setopt(d->r[i].e, CURLOPT_OPENSOCKETFUNCTION, open_sock);
    }
    if (multi) {
        d->multi = curl_multi_init();
        REQUIRE(d->multi);
        REQUIRE(alt_multi_attach(lb, d->multi) == ALT_OK);
    }
}

/* Forgets the tallies (not the handles). */
static void drv_clear(drv *d)
{
    d->added = d->done = d->ok200 = d->s5xx = d->s4xx = d->failed = 0;
    d->timeouts = d->retried = 0;
    memset(d->per_node, 0, sizeof d->per_node);
    memset(d->per_node5xx, 0, sizeof d->per_node5xx);
    d->nlat = 0;
}

static void drv_free(drv *d)
{
    for (int i = 0; i < d->conc; i++) {
        req *q = &d->r[i];
        if (q->busy && d->multi)
            curl_multi_remove_handle(d->multi, q->e);
        alt_curl_release(d->lb, q->e);
        curl_easy_cleanup(q->e);
        curl_slist_free_all(q->h);
    }
    if (d->multi) {
        alt_multi_detach(d->lb);
        CHECK_EQ(curl_multi_cleanup(d->multi), CURLM_OK);
    }
    free(d->lat);
}

static void tally(drv *d, req *q, CURLcode result)
{
    long long t = now_us();
    tu_collect(q->e, &q->reply);
    curl_slist_free_all(q->h);
    q->h = NULL;
    q->busy = 0;
    d->done++;
    if (d->nlat == d->caplat) {
        d->caplat = d->caplat ? 2 * d->caplat : 4096;
        d->lat = realloc(d->lat, d->caplat * sizeof *d->lat);
        REQUIRE(d->lat);
    }
    int idx = tu_node_index(q->reply.ip);
    if (idx < 1 || idx >= MAXN)
        idx = 0;
    d->lat[d->nlat].us = (long)(t - q->t0);
    d->lat[d->nlat++].node = idx;
    if (result != CURLE_OK) {
        d->failed++;
        d->timeouts += result == CURLE_OPERATION_TIMEDOUT;
        return;
    }
    d->per_node[idx]++;
    if (q->reply.status == 200)
        d->ok200++;
    else if (q->reply.status >= 500) {
        d->s5xx++;
        d->per_node5xx[idx]++;
    } else if (q->reply.status >= 400)
        d->s4xx++;
}

static void start(drv *d, req *q)
{
    tu_setup_api(q->e, alt_lb_url(d->lb), "ListTables", "{}", &q->reply,
                 &q->h);
    curl_easy_setopt(q->e, CURLOPT_PRIVATE, q);
    q->t0 = now_us();
    q->busy = 1;
    d->added++;
}

static void read_done(drv *d)
{
    CURLMsg *m;
    int left;
    while ((m = alt_multi_info_read(d->lb, &left))) {
        req *q = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&q);
        REQUIRE(q && q->magic == MAGIC && q->busy && m->msg == CURLMSG_DONE);
        CURLcode result = m->data.result;
        curl_multi_remove_handle(d->multi, q->e);
        if (alt_curl_retry(d->lb, q->e, result)) {
            REQUIRE(curl_multi_add_handle(d->multi, q->e) == CURLM_OK);
            d->retried++;
            continue;
        }
        tally(d, q, result);
    }
}

static int in_flight(const drv *d)
{
    int n = 0;
    for (int i = 0; i < d->conc; i++)
        n += d->r[i].busy;
    return n;
}

/* Starts requests on idle handles while *budget lasts (multi). */
static void top_up(drv *d, long *budget)
{
    for (int i = 0; i < d->conc && *budget > 0; i++)
        if (!d->r[i].busy) {
            req *q = &d->r[i];
            start(d, q);
            CHECK_EQ(alt_curl_prepare_ex(d->lb, q->e, d->flags), ALT_OK);
            REQUIRE(curl_multi_add_handle(d->multi, q->e) == CURLM_OK);
            (*budget)--;
        }
}

/* One turn of the multi loop. */
static void turn(drv *d, long *budget)
{
    top_up(d, budget);
    int running;
    CHECK_EQ(curl_multi_perform(d->multi, &running), CURLM_OK);
    read_done(d);
    top_up(d, budget);
    if (in_flight(d) > 0)
        curl_multi_poll(d->multi, NULL, 0, 20, NULL);
}

static void easy_one(drv *d)
{
    req *q = &d->r[0];
    start(d, q);
    CURLcode rc;
    if (!d->manual) {
        rc = alt_curl_perform_ex(d->lb, q->e, d->flags);
    } else {
        CHECK_EQ(alt_curl_prepare_ex(d->lb, q->e, d->flags), ALT_OK);
        for (;;) {
            rc = curl_easy_perform(q->e);
            if (!alt_curl_retry(d->lb, q->e, rc))
                break;
            d->retried++;
        }
    }
    tally(d, q, rc);
}

/* n requests to their end; the test fails hard past max_ms. kill_node:
 * killed on cluster c (still listed) once kill_at requests are done; 0
 * for none. */
static void run_kill(drv *d, long n, long max_ms, long kill_at,
                     tc_cluster *c, int kill_node)
{
    long long deadline = tu_now_ms() + max_ms;
    long base = d->done;
    int killed = kill_node == 0;
    if (d->multi) {
        long budget = n;
        while ((budget > 0 || in_flight(d) > 0) && tu_now_ms() < deadline) {
            turn(d, &budget);
            if (!killed && d->done - base >= kill_at) {
                CMD(c, "kill %d -1", kill_node);
                killed = 1;
            }
        }
        REQUIRE(budget == 0 && in_flight(d) == 0);
        return;
    }
    for (long i = 0; i < n; i++) {
        REQUIRE(tu_now_ms() < deadline);
        if (!killed && i == kill_at) {
            CMD(c, "kill %d -1", kill_node);
            killed = 1;
        }
        easy_one(d);
    }
}

static void run(drv *d, long n, long max_ms)
{
    run_kill(d, n, max_ms, 0, NULL, 0);
}

/* Requests for ms milliseconds (multi: the ones in flight then finish). */
static void run_for(drv *d, long ms)
{
    long long end = tu_now_ms() + ms;
    if (d->multi) {
        long budget = 1L << 30;
        while (tu_now_ms() < end)
            turn(d, &budget);
        budget = 0;
        long long deadline = tu_now_ms() + 10000;
        while (in_flight(d) > 0 && tu_now_ms() < deadline)
            turn(d, &budget);
        REQUIRE(in_flight(d) == 0);
        return;
    }
    while (tu_now_ms() < end)
        easy_one(d);
}

static int cmp_lat(const void *a, const void *b)
{
    long x = ((const struct lat *)a)->us, y = ((const struct lat *)b)->us;
    return x < y ? -1 : x > y;
}

/* The p-th percentile of the latencies of the requests tallied, leaving
 * out those answered by node `but` (0: none left out), in us. */
static long pct_but(drv *d, int p, int but)
{
    qsort(d->lat, d->nlat, sizeof *d->lat, cmp_lat);
    size_t n = 0;
    for (size_t i = 0; i < d->nlat; i++)
        n += !but || d->lat[i].node != but;
    size_t want = (n * (size_t)p + 99) / 100, seen = 0;
    for (size_t i = 0; i < d->nlat; i++)
        if ((!but || d->lat[i].node != but) && ++seen >= want)
            return d->lat[i].us;
    return 0;
}

static long pct(drv *d, int p)
{
    return pct_but(d, p, 0);
}

/* The node that served the request at pct(d, p). */
static int pct_node(drv *d, int p)
{
    qsort(d->lat, d->nlat, sizeof *d->lat, cmp_lat);
    size_t want = (d->nlat * (size_t)p + 99) / 100;
    return want ? d->lat[want - 1].node : 0;
}

/* ------------------------------------------------------------- helpers */

/* An lb on the 6-node cluster, one seed, configured but not yet used. */
static alt_lb *new6(void)
{
    alt_lb *lb = tu_lb(tc_port(cl6), 1, 1);
    REQUIRE(alt_lb_set_logger(lb, tu_capture_log, NULL, ALT_LOG_DEBUG)
            == ALT_OK);
    return lb;
}

/* The documented start-up: one refresh, then every node is known. */
static alt_lb *start6(alt_lb *lb)
{
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    REQUIRE(alt_lb_nodes(lb, NULL, 0) == 6);
    return lb;
}

static alt_node_stats stats_of(alt_lb *lb, int idx)
{
    alt_node_stats st[MAXN], out;
    memset(&out, 0, sizeof out);
    size_t n = alt_lb_node_stats(lb, st, MAXN, sizeof st[0]);
    char a[16];
    tc_addr(idx, a);
    for (size_t i = 0; i < n && i < MAXN; i++)
        if (strcmp(st[i].addr, a) == 0)
            out = st[i];
    REQUIRE(out.addr[0] != '\0');
    return out;
}

static const char *mode_name(const drv *d)
{
    return d->multi ? "multi" : "easy";
}

static void print_run(const char *what, drv *d, int nodes)
{
    fprintf(stderr, "  %s %s: %ld requests, p50 %ld us, p99 %ld us; per "
            "node", mode_name(d), what, d->done, pct(d, 50), pct(d, 99));
    for (int i = 1; i <= nodes; i++)
        fprintf(stderr, " %ld", d->per_node[i]);
    fprintf(stderr, "\n");
}

/* Requests in windows of `window` until node idx answers at least 1/12 of
 * one (half its fair share of 6) with HTTP 200, for at most max_ms.
 * Returns the ms it took, or -1. */
static long long until_back(drv *d, int idx, long window, long max_ms)
{
    long long t0 = tu_now_ms();
    while (tu_now_ms() - t0 < max_ms) {
        drv_clear(d);
        run(d, window, 20000);
        if (d->per_node[idx] * 12 >= d->done
            && d->per_node5xx[idx] == 0)
            return tu_now_ms() - t0;
    }
    return -1;
}

/* ---------------------------------------------------------- 1. slow node */

#define SLOW 4

static void slow_node_mode(int multi)
{
    CMD(cl6, "slow %d 20", SLOW);
    alt_lb *lb = start6(new6());
    drv d;
    drv_init(&d, lb, 8, multi);
    /* Warm-up: every node's estimate counts after a few answers. */
    run(&d, 300, 20000);

    drv_clear(&d);
    run(&d, 1500, 30000);
    long p99 = pct(&d, 99), p99_fast = pct_but(&d, 99, SLOW), lo = d.done;
    long hi = 0;
    for (int i = 1; i <= 6; i++)
        if (i != SLOW) {
            lo = d.per_node[i] < lo ? d.per_node[i] : lo;
            hi = d.per_node[i] > hi ? d.per_node[i] : hi;
        }
    print_run("load-aware, node 4 slowed by 20 ms", &d, 6);
    fprintf(stderr, "  %s: slow node's share %.2f%% (1/6 = 16.7%%), the "
            "others %ld..%ld; p99 %ld us, of the other nodes' answers %ld "
            "us\n", mode_name(&d),
            100.0 * (double)d.per_node[SLOW] / (double)d.done, lo, hi, p99,
            p99_fast);
    fprintf(stderr, "  %s: estimates (us)", mode_name(&d));
    for (int i = 1; i <= 6; i++)
        fprintf(stderr, " %u", stats_of(lb, i).latency_us);
    fprintf(stderr, "\n");
    CHECK_EQ(d.ok200, 1500);
    CHECK(d.per_node[SLOW] * 30 < d.done);
    CHECK(lo > 0 && hi * 10 <= lo * 13);
    /* The slow node does not set the p99: it is under the slow node's
     * delay (fewer than 1% waited for it), or else the request at the p99
     * is one another node answered. (This cluster is one process: on a
     * loaded machine the other nodes' tail passes 20 ms too. Comparing
     * with their own p99 failed there: with 0.7% of the requests on the
     * slow node, the p99 of all is about their p99.7, 20.3 against 14.8
     * ms in one CI run.) */
    CHECK(p99 < 20000 || pct_node(&d, 99) != SLOW);

    /* The control: round-robin on the same cluster and lb. */
    REQUIRE(alt_lb_set_choice(lb, ALT_CHOICE_ROUND_ROBIN) == ALT_OK);
    drv_clear(&d);
    run(&d, multi ? 1500 : 300, 30000);
    long rr_p99 = pct(&d, 99), rr_p99_fast = pct_but(&d, 99, SLOW);
    print_run("round-robin (control)", &d, 6);
    fprintf(stderr, "  %s: round-robin p99 %ld us, of the other nodes' "
            "answers %ld us\n", mode_name(&d), rr_p99, rr_p99_fast);
    CHECK_EQ(d.ok200, d.done);
    CHECK(d.per_node[SLOW] * 8 >= d.done && d.per_node[SLOW] * 5 <= d.done);
    CHECK(rr_p99 >= 20000);
    CHECK(pct_node(&d, 99) == SLOW); /* the criterion above tells them apart */

    /* Fast again: its estimate decays, it is measured again and wins its
     * share back. */
    REQUIRE(alt_lb_set_choice(lb, ALT_CHOICE_LOAD_AWARE) == ALT_OK);
    CMD(cl6, "slow %d 0", SLOW);
    long long ms = until_back(&d, SLOW, 120, 4000);
    alt_node_stats st = stats_of(lb, SLOW);
    fprintf(stderr, "  %s: node 4 fast again: back to %ld of %ld after %lld "
            "ms (-1: not within 4 s); its estimate %u us\n", mode_name(&d),
            d.per_node[SLOW], d.done, ms, st.latency_us);
    CHECK(ms >= 0);
    drv_free(&d);
    alt_lb_free(lb);
}

static void slow_node(void)
{
    slow_node_mode(1);
    slow_node_mode(0);
}

/* -------------------------------------------------- 2. a node answering 500 */

#define SICK 3

static void node_500_mode(int multi)
{
    alt_lb *lb = start6(new6());
    /* Easy mode: down at the first ejection, so that only a probe brings
     * it back; no refresh runs until the test starts the thread. Multi:
     * the defaults (quarantined), refreshes in the loop. */
    if (!multi)
        REQUIRE(alt_lb_set_health(lb, 5, 1, 1000, 30000, 50) == ALT_OK);
    REQUIRE(alt_lb_set_refresh_interval(lb, 100, 60000) == ALT_OK);
    drv d;
    drv_init(&d, lb, 8, multi);
    run(&d, 60, 10000);
    CHECK_EQ(d.ok200, 60);

    long api0 = tc_stat(cl6, SICK, "api");
    CMD(cl6, "fail %d 500", SICK);
    drv_clear(&d);
    run(&d, 120, 20000);
    long api1 = tc_stat(cl6, SICK, "api");
    long seen = d.per_node5xx[SICK];
    alt_node_stats st = stats_of(lb, SICK);
    fprintf(stderr, "  %s: node 3 answering 500: %ld of 120 requests saw "
            "its 500 (node 3 got %ld), %ld failed, %ld retried; then "
            "state %d, http_5xx %llu\n", mode_name(&d), seen, api1 - api0,
            d.failed, d.retried, (int)st.state,
            (unsigned long long)st.http_5xx);
    CHECK_EQ(d.failed, 0);           /* a 500 is an answer: CURLE_OK */
    CHECK_EQ(d.retried, 0);          /* never retried */
    CHECK_EQ(d.s5xx, seen);          /* only node 3 answered 500 */
    CHECK_EQ(api1 - api0, seen);     /* each request it got came back as its 500 */
    CHECK(seen >= 5);
    /* Multi: requests in flight on it when the fifth 500 came back. */
    CHECK(seen <= (multi ? 5 + 7 : 5));
    CHECK_EQ(d.ok200 + seen, 120);
    CHECK_EQ(st.state, multi ? ALT_NODE_QUARANTINED : ALT_NODE_DOWN);
    CHECK_EQ(st.http_5xx, seen);
    CHECK_EQ(st.conn_failures, 0);
    CHECK_EQ(st.retried, 0);
    CHECK_EQ(alt_lb_nodes(lb, NULL, 0), 5);

    /* Out: 300 more, and it gets none, but for the trials (and the
     * probes' re-admissions: 5 answers each, plus those in flight) that
     * the back-off (1 s, doubling) allows in the time they took - none in
     * easy mode, where it is down and no refresh runs. */
    long long t0 = tu_now_ms();
    drv_clear(&d);
    run(&d, 300, 20000);
    long long ms = tu_now_ms() - t0;
    long api2 = tc_stat(cl6, SICK, "api");
    long allowed = multi && ms >= 1000
                   ? (5 + d.conc - 1) * (tu_max_attempts(ms) - 1) : 0;
    fprintf(stderr, "  %s: 300 more in %lld ms: node 3 got %ld (allowed "
            "%ld)\n", mode_name(&d), ms, api2 - api1, allowed);
    CHECK(api2 - api1 <= allowed);
    CHECK_EQ(d.per_node5xx[SICK], api2 - api1);
    CHECK_EQ(d.failed, 0);

    /* Recovered: back after its back-off, once a probe (or, quarantined,
     * its trial request) gets an answer. Easy mode has its refreshes from
     * the thread. */
    CMD(cl6, "fail %d 0", SICK);
    long ln0 = tc_stat(cl6, SICK, "localnodes");
    if (!multi)
        REQUIRE(alt_lb_start(lb) == ALT_OK);
    long long back = until_back(&d, SICK, 60, 6000);
    long probes = tc_stat(cl6, SICK, "localnodes") - ln0;
    st = stats_of(lb, SICK);
    fprintf(stderr, "  %s: node 3 fixed: back after %lld ms (%ld of %ld), "
            "%ld /localnodes asked it; state %d\n", mode_name(&d), back,
            d.per_node[SICK], d.done, probes, (int)st.state);
    CHECK(back >= 0);
    CHECK_EQ(st.state, ALT_NODE_ACTIVE);
    if (!multi)
        CHECK(probes >= 1); /* down: only a probe can have brought it back */

    /* 4xx are the request's fault: never an ejection. */
    CMD(cl6, "fail %d 400", SICK);
    drv_clear(&d);
    run(&d, 180, 20000);
    st = stats_of(lb, SICK);
    fprintf(stderr, "  %s: node 3 answering 400: %ld of %ld were its 400s; "
            "state %d\n", mode_name(&d), d.s4xx, d.done, (int)st.state);
    CHECK_EQ(d.s4xx, d.per_node[SICK]);
    CHECK(d.s4xx >= 15); /* three times the 5xx threshold */
    CHECK_EQ(st.state, ALT_NODE_ACTIVE);
    CHECK_EQ(st.http_5xx, seen + api2 - api1);
    CHECK_EQ(alt_lb_nodes(lb, NULL, 0), 6);
    CMD(cl6, "fail %d 0", SICK);
    drv_free(&d);
    alt_lb_free(lb);
}

static void node_500(void)
{
    node_500_mode(1);
    node_500_mode(0);
}

/* ------------------------------------------ 3. half the cluster answering 500 */

static int count_out(alt_lb *lb)
{
    alt_node_stats st[MAXN];
    size_t n = alt_lb_node_stats(lb, st, MAXN, sizeof st[0]);
    int out = 0;
    for (size_t i = 0; i < n && i < MAXN; i++)
        out += st[i].state != ALT_NODE_ACTIVE;
    return out;
}

/* Nodes failing with code, max_out_percent cap: a multi loop, 300
 * requests that eject whoever fails (their 5xx answers per node into
 * first5xx[]), then 300 more (their answers per node into second[]).
 * Returns alt_lb_nodes() after; *out: nodes not active. */
static size_t failing_run(const int *failing, int nfail, int code,
                          unsigned cap, long first5xx[MAXN],
                          long second[MAXN], int *out)
{
    alt_lb *lb = start6(new6());
    /* A back-off longer than the test: no request on trial meanwhile. */
    REQUIRE(alt_lb_set_health(lb, 5, 3, 20000, 30000, cap) == ALT_OK);
    drv d;
    drv_init(&d, lb, 8, 1);
    run(&d, 60, 10000);
    for (int k = 0; k < nfail; k++)
        CMD(cl6, "fail %d %d", failing[k], code);
    drv_clear(&d);
    run(&d, 300, 20000);
    fprintf(stderr, "  %d failing, cap %u%%: first 300 per node (5xx)", nfail,
            cap);
    for (int i = 1; i <= 6; i++) {
        first5xx[i] = d.per_node5xx[i];
        fprintf(stderr, " %ld(%ld)", d.per_node[i], d.per_node5xx[i]);
    }
    CHECK_EQ(d.failed, 0);
    CHECK_EQ(d.retried, 0);
    drv_clear(&d);
    run(&d, 300, 20000);
    fprintf(stderr, "; next 300");
    for (int i = 1; i <= 6; i++) {
        second[i] = d.per_node[i];
        fprintf(stderr, " %ld", d.per_node[i]);
    }
    *out = count_out(lb);
    size_t nodes = alt_lb_nodes(lb, NULL, 0);
    fprintf(stderr, "; %d out, alt_lb_nodes %zu\n", *out, nodes);
    for (int k = 0; k < nfail; k++)
        CMD(cl6, "fail %d 0", failing[k]);
    drv_free(&d);
    alt_lb_free(lb);
    return nodes;
}

static void half_500(void)
{
    static const int half[] = {2, 4, 6}, all[] = {1, 2, 3, 4, 5, 6};
    long first5xx[MAXN], second[MAXN];
    int out;
    /* 3 of 6 answering 500. The default cap keeps the nodes out below 50%:
     * 2 out, the third stays in rotation (the client is the likelier
     * culprit) and goes on answering 500. Cap 100: all 3 out. */
    unsigned caps[] = {50, 100};
    for (int c = 0; c < 2; c++) {
        size_t nodes = failing_run(half, 3, 500, caps[c], first5xx, second,
                                   &out);
        int kept = 0;
        for (int i = 1; i <= 6; i++) {
            /* Each sick one that went out did after 5 (+ those in flight
             * then); one kept in rotation got far more. */
            CHECK(i % 2 ? first5xx[i] == 0 : first5xx[i] >= 5);
            if (i % 2)
                CHECK(second[i] >= 60);
            else
                kept += second[i] > 0;
        }
        fprintf(stderr, "  cap %u%%: %d out, %zu in rotation, %d sick node(s) "
                "kept in\n", caps[c], out, nodes, kept);
        CHECK_EQ(out, c == 0 ? 2 : 3);
        CHECK_EQ(nodes, c == 0 ? 4 : 3);
        CHECK_EQ(kept, c == 0 ? 1 : 0);
    }
    /* Every node answers 503: with the default cap 2 are out and 4 take
     * the requests; cap 100 keeps one in. */
    size_t nodes = failing_run(all, 6, 503, 50, first5xx, second, &out);
    int served = 0;
    for (int i = 1; i <= 6; i++)
        served += second[i] > 0;
    CHECK_EQ(nodes, 4);
    CHECK_EQ(served, 4);
    nodes = failing_run(all, 6, 503, 100, first5xx, second, &out);
    served = 0;
    for (int i = 1; i <= 6; i++)
        served += second[i] > 0;
    CHECK_EQ(nodes, 1);
    CHECK_EQ(served, 1);
}

/* ----------------------------------------------------------- 4. hung node */

#define HUNG 5

static void hung_node_mode(int multi)
{
    alt_lb *lb = new6();
    /* The probe of a hung node gives up after 500 ms. */
    REQUIRE(alt_lb_set_discovery_timeout(lb, 300, 500) == ALT_OK);
    start6(lb);
    REQUIRE(alt_lb_set_timeouts(lb, 1000, 300) == ALT_OK);
    /* Down at the first fault (no request on trial: only probes), back-off
     * at most 2 s so that it returns soon after unhang. */
    REQUIRE(alt_lb_set_health(lb, 5, 1, 1000, 2000, 50) == ALT_OK);
    REQUIRE(alt_lb_set_refresh_interval(lb, 100, 60000) == ALT_OK);
    drv d;
    drv_init(&d, lb, 8, multi);
    if (!multi)
        REQUIRE(alt_lb_start(lb) == ALT_OK);
    run(&d, 60, 10000);
    CHECK_EQ(d.ok200, 60);

    long api0 = tc_stat(cl6, HUNG, "api");
    CMD(cl6, "hang %d", HUNG);
    long long t0 = tu_now_ms();
    drv_clear(&d);
    run(&d, 300, 20000);
    long long ms = tu_now_ms() - t0;
    long api1 = tc_stat(cl6, HUNG, "api");
    alt_node_stats st = stats_of(lb, HUNG);
    fprintf(stderr, "  %s: node 5 hung: 300 requests in %lld ms, %ld timed "
            "out (node 5 got %ld), %ld answered 200; state %d, listed %ld\n",
            mode_name(&d), ms, d.timeouts, api1 - api0, d.ok200,
            (int)st.state, tc_stat(cl6, HUNG, "listed"));
    /* The requests on it time out once (sent: not retried), the rest
     * succeed. */
    CHECK(d.timeouts >= 1 && d.timeouts <= d.conc);
    CHECK_EQ(d.failed, d.timeouts);
    CHECK_EQ(d.ok200, 300 - d.failed);
    CHECK_EQ(api1 - api0, d.timeouts);
    CHECK_EQ(st.conn_failures, d.timeouts);
    CHECK_EQ(st.state, ALT_NODE_DOWN);
    CHECK_EQ(tc_stat(cl6, HUNG, "listed"), 1);

    /* Down while it hangs: past its back-off, its probes time out, and it
     * gets no request. */
    long ln1 = tc_stat(cl6, HUNG, "localnodes");
    drv_clear(&d);
    run_for(&d, 2000);
    long api2 = tc_stat(cl6, HUNG, "api");
    long probes = tc_stat(cl6, HUNG, "localnodes") - ln1;
    st = stats_of(lb, HUNG);
    fprintf(stderr, "  %s: 2 s more: %ld requests, node 5 got %ld, %ld "
            "probes asked it; state %d\n", mode_name(&d), d.done,
            api2 - api1, probes, (int)st.state);
    CHECK_EQ(api2, api1);
    CHECK_EQ(d.failed, 0);
    CHECK(probes >= 1);
    CHECK_EQ(st.state, ALT_NODE_DOWN);
    CHECK_EQ(tc_stat(cl6, HUNG, "listed"), 1);

    CMD(cl6, "unhang %d", HUNG);
    long long back = until_back(&d, HUNG, 60, 6000);
    st = stats_of(lb, HUNG);
    fprintf(stderr, "  %s: unhung: back after %lld ms (%ld of %ld); state "
            "%d\n", mode_name(&d), back, d.per_node[HUNG], d.done,
            (int)st.state);
    CHECK(back >= 0);
    CHECK_EQ(st.state, ALT_NODE_ACTIVE);
    drv_free(&d);
    alt_lb_free(lb);
}

static void hung_node(void)
{
    hung_node_mode(1);
}

/* ------------------------------------------- 5. down: no request spent */

#define DEAD 2

static void down_no_request(void)
{
    char dead_addr[16];
    tc_addr(DEAD, dead_addr);
    alt_lb *lb = new6();
    REQUIRE(alt_lb_set_discovery_timeout(lb, 300, 500) == ALT_OK);
    start6(lb);
    /* Back-off 100 ms doubling to 1 s: down after 3 faults within a
     * fraction of a second, and probed at least every second. */
    REQUIRE(alt_lb_set_health(lb, 5, 3, 100, 1000, 50) == ALT_OK);
    REQUIRE(alt_lb_set_refresh_interval(lb, 100, 60000) == ALT_OK);
    REQUIRE(alt_lb_start(lb) == ALT_OK);
    drv d;
    drv_init(&d, lb, 1, 0);
    run(&d, 60, 10000);
    CHECK_EQ(d.ok200, 60);

    /* Killed, and still listed (as until gossip convicts it). */
    long o0 = opens[DEAD];
    CMD(cl6, "kill %d -1", DEAD);
    long long t0 = tu_now_ms();
    drv_clear(&d);
    alt_node_stats st = stats_of(lb, DEAD);
    while (st.state != ALT_NODE_DOWN && tu_now_ms() - t0 < 5000) {
        run(&d, 10, 10000);
        st = stats_of(lb, DEAD);
    }
    long long ms = tu_now_ms() - t0;
    long o1 = opens[DEAD];
    fprintf(stderr, "  node 2 killed: down after %lld ms, %ld requests, "
            "%ld connection attempts of the caller's to it, %llu faults "
            "recorded, %ld failed\n", ms, d.done, o1 - o0,
            (unsigned long long)st.conn_failures, d.failed);
    CHECK_EQ(st.state, ALT_NODE_DOWN);
    CHECK_EQ(d.failed, 0); /* refused: retried elsewhere */
    CHECK(o1 - o0 >= 1);
    CHECK_EQ(o1 - o0, (long)st.conn_failures);
    CHECK_EQ(tc_stat(cl6, DEAD, "listed"), 1);

    /* Down: well past its back-off, the caller's requests never connect
     * to it; the refresh's probes still ask it. */
    tu_log_reset();
    drv_clear(&d);
    run_for(&d, 1500);
    long probes = tu_log_count("/localnodes from 127.0.0.2 failed");
    st = stats_of(lb, DEAD);
    fprintf(stderr, "  down for 1.5 s: %ld requests, %ld connection "
            "attempts to it, %ld probes of the refresh asked it; state %d\n",
            d.done, opens[DEAD] - o1, probes, (int)st.state);
    CHECK_EQ(opens[DEAD], o1);
    CHECK(probes >= 1);
    CHECK_EQ(d.failed, 0);
    CHECK_EQ(st.state, ALT_NODE_DOWN);

    /* Revived: a probe brings it back; no request went to it before. */
    CMD(cl6, "revive %d", DEAD);
    long ln0 = tc_stat(cl6, DEAD, "localnodes"), api0 = tc_stat(cl6, DEAD, "api");
    t0 = tu_now_ms();
    long api = api0, ln = ln0;
    int early = 0;
    while (api == api0 && tu_now_ms() - t0 < 5000) {
        drv_clear(&d);
        run(&d, 20, 10000);
        api = tc_stat(cl6, DEAD, "api");
        ln = tc_stat(cl6, DEAD, "localnodes");
        early += api > api0 && ln == ln0;
    }
    ms = tu_now_ms() - t0;
    st = stats_of(lb, DEAD);
    fprintf(stderr, "  revived: requests reach it again after %lld ms, "
            "%ld /localnodes asked it by then; state %d\n", ms, ln - ln0,
            (int)st.state);
    CHECK(api > api0);
    CHECK(ln > ln0);
    CHECK_EQ(early, 0);
    CHECK_EQ(st.state, ALT_NODE_ACTIVE);
    drv_free(&d);
    alt_lb_free(lb);
}

/* ------------------------------------------------------------ 6. metrics */

static tc_cluster *cl3; /* 3 nodes */

/* Sums over the nodes listed now. */
typedef struct totals {
    uint64_t requests, in_flight, retried, conn_failures;
} totals;

static totals sum_stats(alt_lb *lb, alt_node_stats *st, size_t *n)
{
    totals t = {0, 0, 0, 0};
    *n = alt_lb_node_stats(lb, st, MAXN, sizeof st[0]);
    for (size_t i = 0; i < *n && i < MAXN; i++) {
        t.requests += st[i].requests;
        t.in_flight += st[i].in_flight;
        t.retried += st[i].retried;
        t.conn_failures += st[i].conn_failures;
    }
    return t;
}

/* Each node's requests equal the API requests the cluster counted on it
 * (from a fresh cluster: the library's own /localnodes are not API). */
static void check_per_node(alt_lb *lb, const char *when)
{
    alt_node_stats st[MAXN];
    size_t n;
    sum_stats(lb, st, &n);
    fprintf(stderr, "  %s: per node (lb/cluster)", when);
    for (size_t i = 0; i < n && i < MAXN; i++) {
        long api = tc_stat(cl3, tu_node_index(st[i].addr), "api");
        fprintf(stderr, " %s %llu/%ld", st[i].addr,
                (unsigned long long)st[i].requests, api);
        CHECK_EQ(st[i].requests, api);
    }
    fprintf(stderr, "\n");
}

static void metrics(void)
{
    cl3 = tu_cluster("--nodes 3");
    alt_lb *lb = tu_lb(tc_port(cl3), 1, 1);
    REQUIRE(alt_lb_set_logger(lb, tu_capture_log, NULL, ALT_LOG_DEBUG)
            == ALT_OK);
    alt_lb_stats ls;
    memset(&ls, 0xa5, sizeof ls);
    CHECK_EQ(alt_lb_get_stats(lb, &ls, sizeof ls), ALT_OK);
    CHECK(ls.refreshes == 0 && ls.refreshes_failed == 0
          && ls.nodes_added == 0 && ls.nodes_removed == 0
          && ls.last_discovery_ms == 0);

    /* One seed, three nodes learnt. Refreshes every 50 ms while requests
     * flow, from this one on. */
    REQUIRE(alt_lb_set_refresh_interval(lb, 50, 60000) == ALT_OK);
    int64_t before = wall_ms();
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    int64_t after = wall_ms();
    CHECK_EQ(alt_lb_get_stats(lb, &ls, sizeof ls), ALT_OK);
    fprintf(stderr, "  first refresh: refreshes %llu (%llu failed), added "
            "%llu, removed %llu, last discovery %lld ms ago\n",
            (unsigned long long)ls.refreshes,
            (unsigned long long)ls.refreshes_failed,
            (unsigned long long)ls.nodes_added,
            (unsigned long long)ls.nodes_removed,
            (long long)(wall_ms() - ls.last_discovery_ms));
    CHECK_EQ(ls.refreshes, 1);
    CHECK_EQ(ls.refreshes_failed, 0);
    CHECK_EQ(ls.nodes_added, 2);
    CHECK_EQ(ls.nodes_removed, 0);
    CHECK(ls.last_discovery_ms >= before && ls.last_discovery_ms <= after);
    REQUIRE(alt_lb_nodes(lb, NULL, 0) == 3);

    /* N requests in a multi loop, then in easy mode: every one counted
     * once, on the node that served it. */
    drv m, e;
    drv_init(&m, lb, 6, 1);
    drv_init(&e, lb, 1, 0);
    run(&m, 300, 20000);
    CHECK_EQ(m.ok200, 300);
    run(&e, 150, 20000);
    CHECK_EQ(e.ok200, 150);
    alt_node_stats st[MAXN];
    size_t n;
    totals t = sum_stats(lb, st, &n);
    REQUIRE(n == 3);
    fprintf(stderr, "  300 multi + 150 easy: requests %llu, in flight %llu, "
            "retried %llu\n", (unsigned long long)t.requests,
            (unsigned long long)t.in_flight, (unsigned long long)t.retried);
    CHECK_EQ(t.requests, 450);
    CHECK_EQ(t.in_flight, 0);
    CHECK_EQ(t.retried, 0);
    check_per_node(lb, "healthy");

    /* Latencies: the node's part (sent to first byte) of requests the
     * test timed whole; the histogram is within 25%. */
    long lo = m.lat[0].us, hi = 0;
    for (size_t i = 0; i < m.nlat; i++) {
        lo = m.lat[i].us < lo ? m.lat[i].us : lo;
        hi = m.lat[i].us > hi ? m.lat[i].us : hi;
    }
    for (size_t i = 0; i < e.nlat; i++) {
        lo = e.lat[i].us < lo ? e.lat[i].us : lo;
        hi = e.lat[i].us > hi ? e.lat[i].us : hi;
    }
    for (size_t i = 0; i < n; i++) {
        fprintf(stderr, "  %s: estimate %u us, p50 %u us, p99 %u us (the "
                "test measured %ld..%ld us)\n", st[i].addr, st[i].latency_us,
                st[i].p50_us, st[i].p99_us, lo, hi);
        CHECK(st[i].p50_us > 0 && st[i].p50_us <= st[i].p99_us);
        CHECK(st[i].p99_us <= hi * 5 / 4);
        CHECK(st[i].latency_us > 0 && st[i].latency_us <= hi * 5 / 4);
        CHECK_EQ(st[i].state, ALT_NODE_ACTIVE);
        CHECK_EQ(st[i].conn_failures, 0);
        CHECK_EQ(st[i].http_5xx, 0);
    }
    /* Every /localnodes the cluster answered was a refresh that put its
     * list in rotation (one still running in the multi is let finish). */
    int running = 1;
    long long deadline = tu_now_ms() + 5000;
    while (running && tu_now_ms() < deadline) {
        curl_multi_perform(m.multi, &running);
        CHECK(alt_multi_info_read(lb, NULL) == NULL);
        if (running)
            curl_multi_poll(m.multi, NULL, 0, 20, NULL);
    }
    REQUIRE(running == 0);
    CHECK_EQ(alt_lb_get_stats(lb, &ls, sizeof ls), ALT_OK);
    long ln = tu_stat_sum(cl3, 3, "localnodes");
    fprintf(stderr, "  refreshes %llu (%llu failed), /localnodes answered "
            "%ld\n", (unsigned long long)ls.refreshes,
            (unsigned long long)ls.refreshes_failed, ln);
    CHECK(ls.refreshes >= 2);
    CHECK_EQ(ls.refreshes, ln);
    CHECK_EQ(ls.refreshes_failed, 0);

    /* In flight: a batch of 6 held by slow answers, counted while it runs,
     * on the nodes that then answer it. */
    REQUIRE(alt_lb_set_refresh_interval(lb, 60000, 60000) == ALT_OK);
    for (int i = 1; i <= 3; i++)
        CMD(cl3, "slow %d 300", i);
    drv_clear(&m);
    drv *b = &m;
    long budget = 6;
    top_up(b, &budget);
    curl_multi_perform(b->multi, &running);
    t = sum_stats(lb, st, &n);
    uint64_t held[MAXN] = {0};
    for (size_t i = 0; i < n; i++)
        held[tu_node_index(st[i].addr)] = st[i].in_flight;
    budget = 0;
    deadline = tu_now_ms() + 10000;
    while (in_flight(b) > 0 && tu_now_ms() < deadline)
        turn(b, &budget);
    REQUIRE(in_flight(b) == 0);
    fprintf(stderr, "  6 held: in flight %llu (%llu/%llu/%llu), answered "
            "%ld/%ld/%ld\n", (unsigned long long)t.in_flight,
            (unsigned long long)held[1], (unsigned long long)held[2],
            (unsigned long long)held[3], b->per_node[1], b->per_node[2],
            b->per_node[3]);
    CHECK_EQ(t.in_flight, 6);
    for (int i = 1; i <= 3; i++)
        CHECK_EQ(held[i], b->per_node[i]);
    t = sum_stats(lb, st, &n);
    CHECK_EQ(t.in_flight, 0);
    CHECK_EQ(t.requests, 456);
    /* Easy mode: prepared and not (yet) reported counts too, until
     * released. */
    CHECK_EQ(alt_curl_prepare(lb, e.r[0].e), ALT_OK);
    CHECK_EQ(sum_stats(lb, st, &n).in_flight, 1);
    alt_curl_release(lb, e.r[0].e);
    CHECK_EQ(sum_stats(lb, st, &n).in_flight, 0);
    for (int i = 1; i <= 3; i++)
        CMD(cl3, "slow %d 0", i);

    /* Retried: node 3 killed (still listed) in the middle of a multi run,
     * node 2 in the middle of an easy run (the documented
     * perform-and-retry loop): every retry the caller made is counted on
     * the node that failed, and every attempt on its node. */
    drv_clear(&m);
    drv_clear(&e);
    m.flags = e.flags = ALT_IDEMPOTENT;
    e.manual = 1;
    run_kill(&m, 300, 20000, 100, cl3, 3);
    run_kill(&e, 150, 20000, 50, cl3, 2);
    t = sum_stats(lb, st, &n);
    fprintf(stderr, "  node 3 killed in a multi run, node 2 in an easy run: "
            "%ld + %ld retried by the caller, %ld + %ld failed; per node "
            "retried", m.retried, e.retried, m.failed, e.failed);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %llu", (unsigned long long)st[i].retried);
    fprintf(stderr, ", faults %llu; requests %llu\n",
            (unsigned long long)t.conn_failures,
            (unsigned long long)t.requests);
    CHECK_EQ(m.failed + e.failed, 0);
    CHECK(m.retried >= 1 && e.retried >= 1);
    CHECK_EQ(t.retried, m.retried + e.retried);
    CHECK_EQ(stats_of(lb, 1).retried, 0);
    CHECK_EQ(t.conn_failures, t.retried);
    CHECK_EQ(t.requests, 456 + 450 + t.retried);
    CHECK_EQ(t.in_flight, 0);
    CHECK_EQ(stats_of(lb, 1).requests, tc_stat(cl3, 1, "api"));

    /* A node leaves: the next refresh removes it. */
    CMD(cl3, "revive 2");
    CMD(cl3, "revive 3");
    CMD(cl3, "leave 3");
    alt_lb_stats ls0 = ls;
    CHECK_EQ(alt_lb_get_stats(lb, &ls0, sizeof ls0), ALT_OK);
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    CHECK_EQ(alt_lb_get_stats(lb, &ls, sizeof ls), ALT_OK);
    fprintf(stderr, "  node 3 left: refreshes %llu, added %llu, removed "
            "%llu; %zu listed\n", (unsigned long long)ls.refreshes,
            (unsigned long long)ls.nodes_added,
            (unsigned long long)ls.nodes_removed,
            alt_lb_node_stats(lb, NULL, 0, sizeof st[0]));
    CHECK_EQ(ls.refreshes, ls0.refreshes + 1);
    CHECK_EQ(ls.nodes_added, 2);
    CHECK_EQ(ls.nodes_removed, 1);
    CHECK_EQ(alt_lb_node_stats(lb, NULL, 0, sizeof st[0]), 2);
    CHECK(wall_ms() - ls.last_discovery_ms < 2000);

    /* A program built against an older, smaller struct gets its prefix
     * and nothing written beyond. */
    unsigned char buf[sizeof(alt_lb_stats) + 8];
    memset(buf, 0xa5, sizeof buf);
    size_t old = offsetof(alt_lb_stats, nodes_added);
    CHECK_EQ(alt_lb_get_stats(lb, (alt_lb_stats *)(void *)buf, old), ALT_OK);
    alt_lb_stats part;
    memcpy(&part, buf, old);
    CHECK_EQ(part.refreshes, ls.refreshes);
    CHECK_EQ(part.refreshes_failed, ls.refreshes_failed);
    size_t untouched = 0;
    for (size_t i = old; i < sizeof buf; i++)
        untouched += buf[i] == 0xa5;
    CHECK_EQ(untouched, sizeof buf - old);

    size_t small = offsetof(alt_node_stats, requests) + sizeof(uint64_t);
    unsigned char nbuf[3 * sizeof(alt_node_stats)];
    memset(nbuf, 0xa5, sizeof nbuf);
    CHECK_EQ(alt_lb_node_stats(lb, (alt_node_stats *)(void *)nbuf, 1, small),
             2);
    untouched = 0;
    for (size_t i = small; i < sizeof nbuf; i++)
        untouched += nbuf[i] == 0xa5;
    CHECK_EQ(untouched, sizeof nbuf - small);
    memset(nbuf, 0xa5, sizeof nbuf);
    CHECK_EQ(alt_lb_node_stats(lb, (alt_node_stats *)(void *)nbuf, 2, small),
             2);
    sum_stats(lb, st, &n);
    for (size_t i = 0; i < 2; i++) {
        alt_node_stats p;
        memset(&p, 0, sizeof p);
        memcpy(&p, nbuf + i * small, small);
        CHECK(strcmp(p.addr, st[i].addr) == 0);
        CHECK_EQ(p.state, st[i].state);
        CHECK_EQ(p.requests, st[i].requests);
    }
    untouched = 0;
    for (size_t i = 2 * small; i < sizeof nbuf; i++)
        untouched += nbuf[i] == 0xa5;
    CHECK_EQ(untouched, sizeof nbuf - 2 * small);

    drv_free(&m);
    drv_free(&e);
    alt_lb_free(lb);
    tc_stop(cl3);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    cl6 = tu_cluster("--nodes 6");
    RUN(slow_node);
    RUN(node_500);
    RUN(half_500);
    RUN(hung_node);
    RUN(down_no_request);
    tc_stop(cl6);
    RUN(metrics);
    curl_global_cleanup();
    return tu_finish();
}
