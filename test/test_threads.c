/*
 * Threads: alt_curl_prepare from many threads while refreshes replace the
 * list; a prepared CONNECT_TO list outliving the node's removal; the
 * background refresher (refreshes while requests flow, picks up a joining
 * node by itself, stops promptly even when every node hangs); concurrent
 * blocking refreshes. Meant to be run under ASan and TSan as well.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

static tc_cluster *cl;

#define CMD(...) REQUIRE(tc_cmd(cl, NULL, 0, __VA_ARGS__) == 0)

/* --------------------------------------------------------------- helpers */

static alt_lb *new_lb(long connect_ms, long total_ms, long active_ms)
{
    alt_lb *lb = tu_lb(tc_port(cl), 1, 1);
    REQUIRE(alt_lb_set_logger(lb, tu_capture_log, NULL, ALT_LOG_DEBUG) == ALT_OK);
    REQUIRE(alt_lb_set_discovery_timeout(lb, connect_ms, total_ms) == ALT_OK);
    REQUIRE(alt_lb_set_refresh_interval(lb, active_ms, 60000) == ALT_OK);
    return lb;
}

static void set_all(const char *body)
{
    for (int i = 1; i <= 3; i++)
        CMD("localnodes %d %s", i, body);
}

/* One ListTables through alt_curl_perform: 1 if it answered 200. */
static int request_ok(alt_lb *lb, CURL *e, int *node)
{
    tu_reply r;
    CURLcode rc = tu_list_tables(lb, e, &r);
    if (node)
        *node = tu_node_index(r.ip);
    if (rc != CURLE_OK || r.status != 200) {
        fprintf(stderr, "  request failed: %s, status %ld\n",
                curl_easy_strerror(rc), r.status);
        return 0;
    }
    return 1;
}

/* ------------------------------------- prepare while the list changes */

#define PREPARERS 4

static struct {
    alt_lb *lb;
    atomic_int stop;
    int throttle;                   /* preparers leave 2/3 of the time */
    atomic_long prepared[PREPARERS];
    atomic_long not_ok;
    atomic_long refreshes, refresh_errors;
    atomic_int sizes_seen;          /* bit n: a rotation of n nodes seen */
    atomic_long performed, perform_failed;
} pw;

static void *preparer(void *arg)
{
    int id = (int)(intptr_t)arg;
    CURL *e = curl_easy_init();
    REQUIRE(e != NULL);
    long long t0 = tu_now_ms(), burst = t0;
    for (long k = 0; k < 50000000L && !atomic_load(&pw.stop); k++) {
        if (alt_curl_prepare(pw.lb, e) != ALT_OK)
            atomic_fetch_add(&pw.not_ok, 1);
        atomic_fetch_add_explicit(&pw.prepared[id], 1, memory_order_relaxed);
        if ((k & 1023) == 0) {
            long long now = tu_now_ms();
            if (now - t0 > 30000)
                break;
            if (pw.throttle && now - burst >= 1) {
                tu_sleep_ms(2);
                burst = tu_now_ms();
            }
        }
    }
    curl_easy_cleanup(e);
    return NULL;
}

static void *refresher(void *arg)
{
    (void)arg;
    long long t0 = tu_now_ms();
    for (int k = 0; k < 100000 && !atomic_load(&pw.stop)
                    && tu_now_ms() - t0 < 30000; k++) {
        if (alt_lb_refresh(pw.lb) != ALT_OK)
            atomic_fetch_add(&pw.refresh_errors, 1);
        atomic_fetch_add(&pw.refreshes, 1);
        size_t n = alt_lb_nodes(pw.lb, NULL, 0);
        if (n < 16)
            atomic_fetch_or(&pw.sizes_seen, 1 << n);
    }
    return NULL;
}

static void *performer(void *arg)
{
    (void)arg;
    CURL *e = curl_easy_init();
    long long t0 = tu_now_ms();
    for (int k = 0; k < 2000 && !atomic_load(&pw.stop)
                    && tu_now_ms() - t0 < 30000; k++) {
        int node;
        if (!request_ok(pw.lb, e, &node) || node < 1 || node > 3)
            atomic_fetch_add(&pw.perform_failed, 1);
        atomic_fetch_add(&pw.performed, 1);
    }
    curl_easy_cleanup(e);
    return NULL;
}

static void prepare_while_refreshing(void)
{
    memset(&pw, 0, sizeof pw);
    pw.lb = new_lb(500, 1000, 1000);
    REQUIRE(alt_lb_refresh(pw.lb) == ALT_OK);
    pthread_t th[PREPARERS + 2];
    for (int i = 0; i < PREPARERS; i++)
        REQUIRE(pthread_create(&th[i], NULL, preparer, (void *)(intptr_t)i)
                == 0);
    REQUIRE(pthread_create(&th[PREPARERS], NULL, refresher, NULL) == 0);
    REQUIRE(pthread_create(&th[PREPARERS + 1], NULL, performer, NULL) == 0);

    long at_start[PREPARERS];
    for (int i = 0; i < PREPARERS; i++)
        at_start[i] = atomic_load(&pw.prepared[i]);
    /* Flip the answers; after each flip wait for two more refreshes. */
    const char *steps[] = {
        "list:[\"127.0.0.1\",\"127.0.0.2\"]", "default", "leave 3",
        "join 3", "list:[\"127.0.0.3\"]", "default", "list:garbage",
        "default", "list:[\"127.0.0.2\",\"127.0.0.3\",\"127.0.0.2\"]",
        "default",
    };
    const int nsteps = (int)(sizeof steps / sizeof steps[0]);
    long long t0 = tu_now_ms();
    int stuck = 0;
    for (int round = 0; round < 4; round++) {
        for (int s = 0; s < nsteps; s++) {
            const char *st = steps[s];
            if (strncmp(st, "list:", 5) == 0)
                set_all(st + 5);
            else if (strcmp(st, "default") == 0)
                set_all("default");
            else if (strcmp(st, "leave 3") == 0)
                CMD("leave %d", 3);
            else
                CMD("join %d", 3);
            long r0 = atomic_load(&pw.refreshes);
            long long ts = tu_now_ms();
            while (atomic_load(&pw.refreshes) < r0 + 2
                   && tu_now_ms() - ts < 5000)
                tu_sleep_ms(1);
            if (atomic_load(&pw.refreshes) < r0 + 2)
                stuck++;
        }
    }
    long during[PREPARERS];
    for (int i = 0; i < PREPARERS; i++)
        during[i] = atomic_load(&pw.prepared[i]) - at_start[i];
    atomic_store(&pw.stop, 1);
    for (int i = 0; i < PREPARERS + 2; i++)
        pthread_join(th[i], NULL);
    long total = 0;
    for (int i = 0; i < PREPARERS; i++)
        total += atomic_load(&pw.prepared[i]);
    fprintf(stderr, "  %lld ms: %ld prepares (%ld/%ld/%ld/%ld during the "
            "flips), %ld not ALT_OK; %ld refreshes (%ld failed, as the "
            "garbage answers should); rotation sizes seen 0x%x; %ld requests, "
            "%ld failed\n", tu_now_ms() - t0, total, during[0], during[1],
            during[2], during[3], atomic_load(&pw.not_ok),
            atomic_load(&pw.refreshes), atomic_load(&pw.refresh_errors),
            atomic_load(&pw.sizes_seen), atomic_load(&pw.performed),
            atomic_load(&pw.perform_failed));
    CHECK_EQ(stuck, 0);
    CHECK_EQ(atomic_load(&pw.not_ok), 0);
    for (int i = 0; i < PREPARERS; i++)
        CHECK(during[i] > 0);
    CHECK((atomic_load(&pw.sizes_seen) & 0xe) == 0xe); /* 1, 2 and 3 */
    CHECK((atomic_load(&pw.sizes_seen) & ~0xe) == 0);
    CHECK(atomic_load(&pw.refresh_errors) >= 1);
    CHECK(atomic_load(&pw.performed) > 0);
    CHECK_EQ(atomic_load(&pw.perform_failed), 0);
    set_all("default");
    CHECK_EQ(alt_lb_refresh(pw.lb), ALT_OK);
    CHECK_EQ(alt_lb_nodes(pw.lb, NULL, 0), 3);
    alt_lb_free(pw.lb);
}

/* --------------------------------------------------- slist lifetime */

/* Three handles prepared in a row go to the three nodes; then refreshes
 * drop those nodes from the list; the transfers still reach the node each
 * was prepared for. */
static void slist_outlives_removal(void)
{
    alt_lb *lb = new_lb(500, 1000, 1000);
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    REQUIRE(alt_lb_nodes(lb, NULL, 0) == 3);
    CURL *e[3];
    tu_reply r[3];
    struct curl_slist *h[3];
    for (int i = 0; i < 3; i++) {
        e[i] = curl_easy_init();
        tu_setup_api(e[i], alt_lb_url(lb), "ListTables", "{}", &r[i], &h[i]);
        CHECK_EQ(alt_curl_prepare(lb, e[i]), ALT_OK);
    }
    /* Node 2 leaves; then the list becomes ["localhost"]: all three gone. */
    CMD("leave %d", 2);
    CHECK_EQ(alt_lb_refresh(lb), ALT_OK);
    CHECK(!tu_in_rotation(lb, "127.0.0.2"));
    set_all("[\"localhost\"]");
    for (int k = 0; k < 5; k++)
        CHECK_EQ(alt_lb_refresh(lb), ALT_OK);
    CHECK_EQ(alt_lb_nodes(lb, NULL, 0), 1);
    CHECK(tu_in_rotation(lb, "localhost"));
    int seen[4] = {0};
    for (int i = 0; i < 3; i++) {
        CURLcode rc = curl_easy_perform(e[i]);
        tu_collect(e[i], &r[i]);
        CHECK_EQ(rc, CURLE_OK);
        CHECK_EQ(r[i].status, 200);
        int idx = tu_node_index(r[i].ip);
        if (idx >= 1 && idx <= 3)
            seen[idx]++;
        alt_curl_done(lb, e[i], rc);
    }
    fprintf(stderr, "  prepared transfers answered by nodes %d/%d/%d\n",
            seen[1], seen[2], seen[3]);
    CHECK(seen[1] == 1 && seen[2] == 1 && seen[3] == 1);
    for (int i = 0; i < 3; i++) {
        curl_slist_free_all(h[i]);
        curl_easy_cleanup(e[i]);
    }
    CMD("join %d", 2);
    set_all("default");
    alt_lb_free(lb);
}

/* ------------------------------------------------------ registry churn */

/* Answers naming thousands of new addresses, so that the library runs out
 * of fresh node records, while two threads prepare: prepares stay ALT_OK,
 * ASan/TSan stay quiet, every refresh takes its answer, and three handles
 * prepared for the real nodes before the churn still reach them after. */
static void prepare_during_registry_churn(void)
{
    memset(&pw, 0, sizeof pw);
    pw.lb = new_lb(500, 1000, 1000);
    REQUIRE(alt_lb_refresh(pw.lb) == ALT_OK);
    REQUIRE(alt_lb_nodes(pw.lb, NULL, 0) == 3);
    CURL *e[3];
    tu_reply r[3];
    struct curl_slist *h[3];
    for (int i = 0; i < 3; i++) {
        e[i] = curl_easy_init();
        tu_setup_api(e[i], alt_lb_url(pw.lb), "ListTables", "{}", &r[i],
                     &h[i]);
        CHECK_EQ(alt_curl_prepare(pw.lb, e[i]), ALT_OK);
    }
    /* Two preparers, each running a third of the time: the refreshes here
     * make ~1000 refused connections each and need a share of the cores. */
    pw.throttle = 1;
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        REQUIRE(pthread_create(&th[i], NULL, preparer, (void *)(intptr_t)i)
                == 0);
    long long t0 = tu_now_ms();
    int bad = 0;
    for (int k = 0; k < 3; k++) {
        char *body = tu_many_addresses(30 + k, 2048);
        set_all(body);
        free(body);
        alt_code rc = alt_lb_refresh(pw.lb);
        size_t n = alt_lb_nodes(pw.lb, NULL, 0);
        set_all("default");
        alt_code rc2 = alt_lb_refresh(pw.lb);
        size_t n2 = alt_lb_nodes(pw.lb, NULL, 0);
        fprintf(stderr, "  churn %d: 2048 new addresses: %s, %zu in rotation; "
                "back to the real list: %s, %zu\n", k, alt_strerror(rc), n,
                alt_strerror(rc2), n2);
        bad += rc != ALT_OK || n != 2048 || rc2 != ALT_OK || n2 != 3;
    }
    atomic_store(&pw.stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    fprintf(stderr, "  %lld ms, %ld prepares, %ld not ALT_OK\n",
            tu_now_ms() - t0,
            atomic_load(&pw.prepared[0]) + atomic_load(&pw.prepared[1]),
            atomic_load(&pw.not_ok));
    CHECK_EQ(bad, 0);
    CHECK_EQ(atomic_load(&pw.not_ok), 0);
    int seen[4] = {0};
    for (int i = 0; i < 3; i++) {
        CURLcode rc = curl_easy_perform(e[i]);
        tu_collect(e[i], &r[i]);
        if (rc != CURLE_OK)
            fprintf(stderr, "  prepared transfer %d: %s\n", i,
                    curl_easy_strerror(rc));
        CHECK_EQ(rc, CURLE_OK);
        int idx = tu_node_index(r[i].ip);
        if (rc == CURLE_OK && idx >= 1 && idx <= 3 && r[i].status == 200)
            seen[idx]++;
        alt_curl_done(pw.lb, e[i], rc);
        curl_slist_free_all(h[i]);
        curl_easy_cleanup(e[i]);
    }
    CHECK(seen[1] == 1 && seen[2] == 1 && seen[3] == 1);
    alt_lb_free(pw.lb);
}

/* ----------------------------------------------------- background thread */

static void background_thread(void)
{
    alt_lb *lb = new_lb(500, 1000, 100);
    REQUIRE(alt_lb_start(lb) == ALT_OK);
    CHECK_EQ(alt_lb_start(lb), ALT_E_STATE);
    long long t0 = tu_now_ms();
    while (alt_lb_nodes(lb, NULL, 0) != 3 && tu_now_ms() - t0 < 5000)
        tu_sleep_ms(10);
    REQUIRE(alt_lb_nodes(lb, NULL, 0) == 3);

    /* Requests flowing: refreshes every ~100 ms. */
    CURL *e = curl_easy_init();
    long l0 = tu_stat_sum(cl, 4, "localnodes");
    int sent = 0, ok = 0;
    t0 = tu_now_ms();
    while (tu_stat_sum(cl, 4, "localnodes") - l0 < 3 && tu_now_ms() - t0 < 10000
           && sent < 5000) {
        for (int k = 0; k < 5; k++, sent++)
            ok += request_ok(lb, e, NULL);
    }
    long grew = tu_stat_sum(cl, 4, "localnodes") - l0;
    fprintf(stderr, "  %ld refreshes while %d requests flowed for %lld ms\n",
            grew, sent, tu_now_ms() - t0);
    CHECK(grew >= 3);
    CHECK_EQ(ok, sent);

    /* Idle: no requests, no refresh (the idle interval is a minute). */
    tu_sleep_ms(300);
    long l1 = tu_stat_sum(cl, 4, "localnodes");
    tu_sleep_ms(1000);
    long idle = tu_stat_sum(cl, 4, "localnodes") - l1;
    fprintf(stderr, "  %ld refreshes in 1 s idle\n", idle);
    CHECK_EQ(idle, 0);

    /* Node 4 joins: picked up without alt_lb_refresh. */
    CMD("join %d", 4);
    t0 = tu_now_ms();
    sent = ok = 0;
    while (!tu_in_rotation(lb, "127.0.0.4") && tu_now_ms() - t0 < 10000 && sent < 5000)
        for (int k = 0; k < 5; k++, sent++)
            ok += request_ok(lb, e, NULL);
    fprintf(stderr, "  node 4 in the rotation after %d requests, %lld ms\n",
            sent, tu_now_ms() - t0);
    CHECK(tu_in_rotation(lb, "127.0.0.4"));
    CHECK_EQ(ok, sent);
    long api4 = tc_stat(cl, 4, "api");
    int seen4 = 0;
    for (int k = 0; k < 40; k++) {
        int node = 0;
        CHECK(request_ok(lb, e, &node));
        seen4 += node == 4;
    }
    CHECK(seen4 >= 1);
    CHECK_EQ(tc_stat(cl, 4, "api") - api4, seen4);
    CMD("leave %d", 4);

    t0 = tu_now_ms();
    alt_lb_stop(lb);
    fprintf(stderr, "  alt_lb_stop (idle thread): %lld ms\n",
            tu_now_ms() - t0);
    alt_lb_stop(lb); /* a no-op */

    /* It can be started again. */
    l0 = tu_stat_sum(cl, 4, "localnodes");
    REQUIRE(alt_lb_start(lb) == ALT_OK);
    t0 = tu_now_ms();
    while (tu_stat_sum(cl, 4, "localnodes") == l0 && tu_now_ms() - t0 < 5000) {
        CHECK(request_ok(lb, e, NULL));
        tu_sleep_ms(20);
    }
    CHECK(tu_stat_sum(cl, 4, "localnodes") > l0);
    alt_lb_stop(lb);
    curl_easy_cleanup(e);
    alt_lb_free(lb);
}

/* Waits (max 5 s) until the nodes received more than l0 /localnodes
 * requests, moving the round-robin counter so that a refresh is due. */
static int wait_refresh_started(alt_lb *lb, long l0)
{
    CURL *e = curl_easy_init();
    long long t0 = tu_now_ms();
    while (tu_stat_sum(cl, 3, "localnodes") <= l0 && tu_now_ms() - t0 < 5000) {
        alt_curl_prepare(lb, e); /* activity: the refresh is due */
        tu_sleep_ms(20);
    }
    curl_easy_cleanup(e);
    return tu_stat_sum(cl, 3, "localnodes") > l0;
}

/* alt_lb_stop() and alt_lb_free() return promptly while the background
 * refresh waits on a node that never answers (10 s discovery timeout). */
static void stop_while_hung(void)
{
    for (int how = 0; how < 2; how++) {
        alt_lb *lb = new_lb(1000, 10000, 100);
        REQUIRE(alt_lb_start(lb) == ALT_OK);
        long long t0 = tu_now_ms();
        while (alt_lb_nodes(lb, NULL, 0) != 3 && tu_now_ms() - t0 < 5000)
            tu_sleep_ms(10);
        REQUIRE(alt_lb_nodes(lb, NULL, 0) == 3);
        tu_sleep_ms(200); /* let a refresh in progress finish */
        for (int i = 1; i <= 3; i++)
            CMD("hang %d", i);
        long l0 = tu_stat_sum(cl, 3, "localnodes");
        CHECK(wait_refresh_started(lb, l0));
        tu_sleep_ms(50);
        t0 = tu_now_ms();
        if (how == 0)
            alt_lb_stop(lb);
        alt_lb_free(lb);
        long long dt = tu_now_ms() - t0;
        fprintf(stderr, "  %s with every node hung: %lld ms\n",
                how == 0 ? "alt_lb_stop + alt_lb_free" : "alt_lb_free", dt);
        CHECK(dt < 500);
        for (int i = 1; i <= 3; i++)
            CMD("unhang %d", i);
    }
}

/* ------------------------------------------------ concurrent refreshes */

typedef struct rf_arg {
    alt_lb *lb;
    int n;
    int ok;
    long long max_ms;
    alt_code last;
} rf_arg;

static void *refresh_n(void *p)
{
    rf_arg *a = p;
    for (int k = 0; k < a->n; k++) {
        long long t0 = tu_now_ms();
        a->last = alt_lb_refresh(a->lb);
        long long dt = tu_now_ms() - t0;
        if (dt > a->max_ms)
            a->max_ms = dt;
        a->ok += a->last == ALT_OK;
    }
    return NULL;
}

static void concurrent_refreshes(void)
{
    alt_lb *lb = new_lb(300, 500, 1000);
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    rf_arg a[2] = {{lb, 20, 0, 0, ALT_OK}, {lb, 20, 0, 0, ALT_OK}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        REQUIRE(pthread_create(&th[i], NULL, refresh_n, &a[i]) == 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(a[0].ok, 20);
    CHECK_EQ(a[1].ok, 20);

    /* With node 1 hung (still listed by the others), both threads' calls
     * return, each within a bound. */
    for (int i = 2; i <= 3; i++)
        CMD("localnodes %d %s", i,
            "[\"127.0.0.1\",\"127.0.0.2\",\"127.0.0.3\"]");
    CMD("hang %d", 1);
    rf_arg b[2] = {{lb, 4, 0, 0, ALT_OK}, {lb, 4, 0, 0, ALT_OK}};
    for (int i = 0; i < 2; i++)
        REQUIRE(pthread_create(&th[i], NULL, refresh_n, &b[i]) == 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    fprintf(stderr, "  two threads x4 refreshes with node 1 hung: %d and %d "
            "ok, slowest %lld and %lld ms\n", b[0].ok, b[1].ok, b[0].max_ms,
            b[1].max_ms);
    CHECK_EQ(b[0].ok, 4);
    CHECK_EQ(b[1].ok, 4);
    CHECK(b[0].max_ms < 5000 && b[1].max_ms < 5000);
    CMD("unhang %d", 1);
    set_all("default");
    alt_lb_free(lb);
}

/* alt_lb_stop() interrupts a blocking alt_lb_refresh() of another thread
 * (the header: it then returns ALT_E_ABORTED). */
static void stop_aborts_blocking_refresh(void)
{
    /* A lost race costs one discovery timeout per candidate (1 s each);
     * stop at the first one. */
    int lost = 0;
    for (int round = 0; round < 5 && !lost; round++) {
        alt_lb *lb = new_lb(500, 1000, 60000);
        REQUIRE(alt_lb_start(lb) == ALT_OK);
        long long t0 = tu_now_ms();
        while (alt_lb_nodes(lb, NULL, 0) != 3 && tu_now_ms() - t0 < 5000)
            tu_sleep_ms(10);
        REQUIRE(alt_lb_nodes(lb, NULL, 0) == 3);
        for (int i = 1; i <= 3; i++)
            CMD("hang %d", i);
        long l0 = tu_stat_sum(cl, 3, "localnodes");
        rf_arg a = {lb, 1, 0, 0, ALT_OK};
        pthread_t th;
        REQUIRE(pthread_create(&th, NULL, refresh_n, &a) == 0);
        t0 = tu_now_ms();
        while (tu_stat_sum(cl, 3, "localnodes") <= l0 && tu_now_ms() - t0 < 5000)
            tu_sleep_ms(5);
        CHECK(tu_stat_sum(cl, 3, "localnodes") > l0);
        long long ts = tu_now_ms();
        alt_lb_stop(lb);
        pthread_join(th, NULL);
        long long dt = tu_now_ms() - ts;
        fprintf(stderr, "  round %d: blocking refresh returned %s %lld ms "
                "after alt_lb_stop\n", round, alt_strerror(a.last), dt);
        CHECK_EQ(a.last, ALT_E_ABORTED);
        CHECK(dt < 500);
        lost = a.last != ALT_E_ABORTED || dt >= 500;
        for (int i = 1; i <= 3; i++)
            CMD("unhang %d", i);
        alt_lb_free(lb);
    }
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    cl = tu_cluster("--nodes 4 --joining 4");
    RUN(prepare_while_refreshing);
    RUN(slist_outlives_removal);
    RUN(prepare_during_registry_churn);
    RUN(background_thread);
    RUN(stop_while_hung);
    RUN(concurrent_refreshes);
    RUN(stop_aborts_blocking_refresh);
    tc_stop(cl);
    curl_global_cleanup();
    return tu_finish();
}
