/*
 * Connection reuse, counted on the server side (connections each node
 * accepted, tc_stat "conns").
 *
 * Round-robin over N nodes only pays off if the connections to every node
 * stay pooled: libcurl's default pools (5 per easy handle, 4 per handle in a
 * multi) are smaller than N x concurrency, and a pool that is too small
 * closes a connection on nearly every request. The library sizes the pools;
 * these tests hold it to that (the requests are GET / health checks, see
 * setup()):
 *
 *   multi mode (curl_multi_poll loop, C = 4 handles), N = 3 and 8,
 *   2000 requests:   conns <= N*C + N + 2
 *   also N = 8 with one handle (libcurl's own multi pool, 4 per handle,
 *   would be too small there), and a burst from 1 to 12 handles between two
 *   refreshes (the pool must follow the handles, not the next refresh)
 *   easy mode (one handle, alt_curl_perform), N = 3, 6 and 8,
 *   1000 requests:   conns <= N + 2
 *
 * (+N +2: the refresh requests' own connections.) The second half of each run
 * is reported separately: that is the steady state, which should open next to
 * nothing. For comparison, plain libcurl rotating CONNECT_TO by hand over 8
 * nodes with the default pool is measured and printed (no assertion).
 */
#include "testutil.h"

#include <string.h>

#define C_HANDLES 4
#define MAX_HANDLES 12
#define MULTI_REQUESTS 2000
#define EASY_REQUESTS 1000
#define PLAIN_REQUESTS 500 /* the comparisons: each may cost a connection */
#define MAX_NODES 8

/* Sums a counter over nodes 1..n; per[i] gets node i's value. */
static long sum_stat(tc_cluster *cl, int n, const char *what, long *per)
{
    long sum = 0;
    for (int i = 1; i <= n; i++) {
        long v = tc_stat(cl, i, what);
        REQUIRE(v >= 0);
        if (per)
            per[i] = v;
        sum += v;
    }
    return sum;
}

static void print_nodes(tc_cluster *cl, int n)
{
    long api[MAX_NODES + 1], conns[MAX_NODES + 1], ln[MAX_NODES + 1];
    sum_stat(cl, n, "health", api);
    sum_stat(cl, n, "conns", conns);
    sum_stat(cl, n, "localnodes", ln);
    for (int i = 1; i <= n; i++)
        fprintf(stderr, "    node %d: %5ld requests %4ld connections "
                "%3ld /localnodes\n", i, api[i], conns[i], ln[i]);
}

static size_t discard(char *d, size_t size, size_t nmemb, void *ud)
{
    (void)d;
    (void)ud;
    return size * nmemb;
}

/* The requests are Alternator's health check, GET / on the fake domain:
 * pooling and reuse work the same for every request on the URL, and it costs
 * the test cluster a tenth of a DynamoDB call (which goes on to dynalite),
 * so thousands of them fit in a few seconds. */
static void setup(CURL *e, const char *url)
{
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
}

static tc_cluster *cluster(int n)
{
    char args[32];
    snprintf(args, sizeof args, "--nodes %d", n);
    tc_cluster *cl = tu_cluster(args);
    REQUIRE(tc_cmd(cl, NULL, 0, "reset") == 0);
    return cl;
}

/* ------------------------------------------------------------ multi mode */

/* Runs total requests through lb on multi with c of the handles easy[],
 * in a curl_multi_poll loop; returns how many answered 200; *new_conns gets
 * the client-side count of new connections. */
static int multi_run(alt_lb *lb, CURLM *multi, CURL **easy, int c, int total,
                     tc_cluster *cl, int n, long *new_conns, long *half_conns)
{
    int started = 0, done = 0, ok = 0;
    *new_conns = 0;
    for (int k = 0; k < c && started < total; k++) {
        REQUIRE(alt_curl_prepare(lb, easy[k]) == ALT_OK);
        REQUIRE(curl_multi_add_handle(multi, easy[k]) == CURLM_OK);
        started++;
    }
    long long deadline = tu_now_ms() + 60000;
    while (done < total && tu_now_ms() < deadline) {
        int running;
        REQUIRE(curl_multi_perform(multi, &running) == CURLM_OK);
        CURLMsg *m;
        int q;
        while ((m = alt_multi_info_read(lb, &q))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            CURL *e = m->easy_handle;
            long status = 0, nc = 0;
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
            curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &nc);
            ok += m->data.result == CURLE_OK && status == 200;
            *new_conns += nc;
            curl_multi_remove_handle(multi, e);
            if (++done == total / 2 && half_conns)
                *half_conns = sum_stat(cl, n, "conns", NULL);
            if (started < total) {
                REQUIRE(alt_curl_prepare(lb, e) == ALT_OK);
                REQUIRE(curl_multi_add_handle(multi, e) == CURLM_OK);
                started++;
            }
        }
        /* Completions first, then sleep: see examples/multi-poll.c. */
        if (done < total)
            REQUIRE(curl_multi_poll(multi, NULL, 0, 1000, NULL) == CURLM_OK);
    }
    CHECK_EQ(done, total);
    return ok;
}

static void multi_mode(int n, int c)
{
    tc_cluster *cl = cluster(n);
    alt_lb *lb = tu_lb(tc_port(cl), 1, 1); /* discovery runs in the loop */
    /* Connections and shares in round-robin order: a few cold answers of
     * the seed would have the load-aware choice pass it over for part of
     * these short runs (its spread is test_health's and the benchmark's). */
    REQUIRE(alt_lb_set_choice(lb, ALT_CHOICE_ROUND_ROBIN) == ALT_OK);
    CURLM *multi = curl_multi_init();
    REQUIRE(multi != NULL);
    REQUIRE(alt_multi_attach(lb, multi) == ALT_OK);
    CURL *easy[C_HANDLES];
    REQUIRE(c >= 1 && c <= C_HANDLES);
    for (int k = 0; k < c; k++) {
        REQUIRE((easy[k] = curl_easy_init()) != NULL);
        setup(easy[k], alt_lb_url(lb));
    }

    long client_conns = 0, half_conns = -1;
    CHECK_EQ(multi_run(lb, multi, easy, c, MULTI_REQUESTS, cl, n,
                       &client_conns, &half_conns), MULTI_REQUESTS);

    long api[MAX_NODES + 1];
    long conns = sum_stat(cl, n, "conns", NULL);
    long requests = sum_stat(cl, n, "health", api);
    long limit = (long)n * c + n + 2;
    fprintf(stderr, "  multi, %d nodes, %d handles: %ld requests, %ld "
            "connections accepted (limit %ld; client-side new connections "
            "%ld); second half: %ld new\n", n, c, requests, conns,
            limit, client_conns, half_conns >= 0 ? conns - half_conns : -1);
    print_nodes(cl, n);
    CHECK_EQ(requests, MULTI_REQUESTS);
    CHECK(conns <= limit);
    /* The rotation covered every node. */
    for (int i = 1; i <= n; i++)
        CHECK(api[i] >= MULTI_REQUESTS / n / 2);
    char nodes[MAX_NODES][ALT_ADDR_MAX];
    CHECK_EQ(alt_lb_nodes(lb, nodes, MAX_NODES), n);

    alt_multi_detach(lb);
    for (int k = 0; k < c; k++) {
        curl_multi_remove_handle(multi, easy[k]);
        curl_easy_cleanup(easy[k]);
    }
    curl_multi_cleanup(multi);
    alt_lb_free(lb);
    tc_stop(cl);
}

static void multi_3_nodes(void) { multi_mode(3, C_HANDLES); }
static void multi_8_nodes(void) { multi_mode(8, C_HANDLES); }
/* One handle: libcurl's own multi pool (4 per handle added) is smaller than
 * the 8 nodes, so here only the library's CURLMOPT_MAXCONNECTS keeps them. */
static void multi_8_nodes_1_handle(void) { multi_mode(8, 1); }

/* The program starts with one handle and, once the nodes are known, goes
 * to 12 at once (a burst). The pool must follow the handles prepared
 * (alt_multi_attach: "raises it as either grows"), not stay at the size
 * computed for one handle until the next refresh: 12 concurrent transfers
 * over 3 nodes need up to 12 connections. */
static void multi_handles_grow(void)
{
    enum { N = 3 };
    tc_cluster *cl = cluster(N);
    alt_lb *lb = tu_lb(tc_port(cl), 1, 1);
    REQUIRE(alt_lb_set_choice(lb, ALT_CHOICE_ROUND_ROBIN) == ALT_OK);
    /* One refresh a minute: the burst happens between two refreshes. */
    REQUIRE(alt_lb_set_refresh_interval(lb, 60000, 60000) == ALT_OK);
    CURLM *multi = curl_multi_init();
    REQUIRE(multi != NULL);
    REQUIRE(alt_multi_attach(lb, multi) == ALT_OK);
    CURL *easy[MAX_HANDLES];
    for (int k = 0; k < MAX_HANDLES; k++) {
        REQUIRE((easy[k] = curl_easy_init()) != NULL);
        setup(easy[k], alt_lb_url(lb));
    }
    long nc;
    /* Phase 1: one handle until the first discovery is in. */
    CHECK_EQ(multi_run(lb, multi, easy, 1, 100, cl, N, &nc, NULL), 100);
    char nodes[N][ALT_ADDR_MAX];
    CHECK_EQ(alt_lb_nodes(lb, nodes, N), N);
    long before = sum_stat(cl, N, "conns", NULL);
    /* Phase 2: twelve. */
    CHECK_EQ(multi_run(lb, multi, easy, MAX_HANDLES, 1200, cl, N, &nc, NULL),
             1200);
    long opened = sum_stat(cl, N, "conns", NULL) - before;
    long limit = (long)N * MAX_HANDLES + N + 2;
    fprintf(stderr, "  multi, %d nodes, 1 then %d handles: %ld connections "
            "before the burst, %ld opened during 1200 requests (limit %ld)\n",
            N, MAX_HANDLES, before, opened, limit);
    print_nodes(cl, N);
    CHECK(opened <= limit);

    alt_multi_detach(lb);
    for (int k = 0; k < MAX_HANDLES; k++) {
        curl_multi_remove_handle(multi, easy[k]);
        curl_easy_cleanup(easy[k]);
    }
    curl_multi_cleanup(multi);
    alt_lb_free(lb);
    tc_stop(cl);
}

/* ------------------------------------------------------------- easy mode */

static void easy_mode(int n)
{
    tc_cluster *cl = cluster(n);
    alt_lb *lb = tu_lb(tc_port(cl), 1, 1);
    REQUIRE(alt_lb_set_choice(lb, ALT_CHOICE_ROUND_ROBIN) == ALT_OK);
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    char nodes[MAX_NODES][ALT_ADDR_MAX];
    CHECK_EQ(alt_lb_nodes(lb, nodes, MAX_NODES), n);
    CURL *e = curl_easy_init();
    REQUIRE(e != NULL);
    setup(e, alt_lb_url(lb));

    int ok = 0;
    long client_conns = 0, half_conns = 0;
    for (int i = 0; i < EASY_REQUESTS; i++) {
        long status = 0, nc = 0;
        CURLcode rc = alt_curl_perform(lb, e);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &nc);
        ok += rc == CURLE_OK && status == 200;
        client_conns += nc;
        if (i + 1 == EASY_REQUESTS / 2)
            half_conns = sum_stat(cl, n, "conns", NULL);
    }
    CHECK_EQ(ok, EASY_REQUESTS);

    long api[MAX_NODES + 1];
    long conns = sum_stat(cl, n, "conns", NULL);
    long requests = sum_stat(cl, n, "health", api);
    long limit = n + 2;
    fprintf(stderr, "  easy, %d nodes, 1 handle: %ld requests, %ld "
            "connections accepted (limit %ld; client-side new connections "
            "%ld); second half: %ld new\n", n, requests, conns, limit,
            client_conns, conns - half_conns);
    print_nodes(cl, n);
    CHECK_EQ(requests, EASY_REQUESTS);
    CHECK(conns <= limit);
    /* Round-robin: every node got its share, to one request. */
    for (int i = 1; i <= n; i++)
        CHECK(api[i] >= EASY_REQUESTS / n && api[i] <= EASY_REQUESTS / n + 1);

    curl_easy_cleanup(e);
    alt_lb_free(lb);
    tc_stop(cl);
}

static void easy_3_nodes(void) { easy_mode(3); }
static void easy_6_nodes(void) { easy_mode(6); }
static void easy_8_nodes(void) { easy_mode(8); }

/* ------------------------------------------- plain libcurl, for comparison */

/* One easy handle, CONNECT_TO rotated by hand over 8 nodes, libcurl's
 * default pool of 5 connections. Printed, not asserted. */
static void plain_libcurl_8_nodes(void)
{
    enum { N = 8 };
    tc_cluster *cl = cluster(N);
    int port = tc_port(cl);
    char url[64], entry[N][96];
    struct curl_slist to[N];
    snprintf(url, sizeof url, "http://alternator.invalid:%d/", port);
    for (int i = 0; i < N; i++) {
        snprintf(entry[i], sizeof entry[i],
                 "alternator.invalid:%d:127.0.0.%d:%d", port, i + 1, port);
        to[i].data = entry[i];
        to[i].next = NULL;
    }
    CURL *e = curl_easy_init();
    REQUIRE(e != NULL);
    setup(e, url);
    int ok = 0;
    for (int i = 0; i < PLAIN_REQUESTS; i++) {
        long status = 0;
        curl_easy_setopt(e, CURLOPT_CONNECT_TO, &to[i % N]);
        CURLcode rc = curl_easy_perform(e);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        ok += rc == CURLE_OK && status == 200;
    }
    CHECK_EQ(ok, PLAIN_REQUESTS);
    long conns = sum_stat(cl, N, "conns", NULL);
    fprintf(stderr, "  plain libcurl, easy, %d nodes, default "
            "CURLOPT_MAXCONNECTS: %d requests, %ld connections accepted\n",
            N, PLAIN_REQUESTS, conns);
    print_nodes(cl, N);
    curl_easy_cleanup(e);
    tc_stop(cl);
}

/* The same in a multi with one handle and libcurl's default pool. */
static void plain_libcurl_multi_8_nodes(void)
{
    enum { N = 8 };
    tc_cluster *cl = cluster(N);
    int port = tc_port(cl);
    char url[64], entry[N][96];
    struct curl_slist to[N];
    snprintf(url, sizeof url, "http://alternator.invalid:%d/", port);
    for (int i = 0; i < N; i++) {
        snprintf(entry[i], sizeof entry[i],
                 "alternator.invalid:%d:127.0.0.%d:%d", port, i + 1, port);
        to[i].data = entry[i];
        to[i].next = NULL;
    }
    CURLM *multi = curl_multi_init();
    CURL *e = curl_easy_init();
    REQUIRE(multi != NULL && e != NULL);
    setup(e, url);
    int ok = 0;
    for (int i = 0; i < PLAIN_REQUESTS; i++) {
        curl_easy_setopt(e, CURLOPT_CONNECT_TO, &to[i % N]);
        REQUIRE(curl_multi_add_handle(multi, e) == CURLM_OK);
        int running = 1;
        long long deadline = tu_now_ms() + 10000;
        while (running && tu_now_ms() < deadline) {
            REQUIRE(curl_multi_perform(multi, &running) == CURLM_OK);
            if (running)
                REQUIRE(curl_multi_poll(multi, NULL, 0, 1000, NULL) == CURLM_OK);
        }
        CURLMsg *m;
        int q;
        while ((m = curl_multi_info_read(multi, &q)))
            ok += m->msg == CURLMSG_DONE && m->data.result == CURLE_OK;
        curl_multi_remove_handle(multi, e);
    }
    CHECK_EQ(ok, PLAIN_REQUESTS);
    long conns = sum_stat(cl, N, "conns", NULL);
    fprintf(stderr, "  plain libcurl, multi, 1 handle, %d nodes, default "
            "CURLMOPT_MAXCONNECTS: %d requests, %ld connections accepted\n",
            N, PLAIN_REQUESTS, conns);
    curl_easy_cleanup(e);
    curl_multi_cleanup(multi);
    tc_stop(cl);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    RUN(multi_3_nodes);
    RUN(multi_8_nodes);
    RUN(multi_8_nodes_1_handle);
    RUN(multi_handles_grow);
    RUN(easy_3_nodes);
    RUN(easy_6_nodes);
    RUN(easy_8_nodes);
    RUN(plain_libcurl_8_nodes);
    RUN(plain_libcurl_multi_8_nodes);
    curl_global_cleanup();
    return tu_finish();
}
