/*
 * The library inside the caller's curl_multi_perform + curl_multi_poll loop
 * (alt_multi_attach / alt_multi_info_read / alt_multi_detach), checked
 * against the local cluster by counting what each node received:
 *
 *  - the first discovery runs through the loop: one seed, no
 *    alt_lb_refresh(), and still every node gets requests;
 *  - alt_multi_info_read() never hands the library's own transfer to the
 *    caller, and hands over every transfer of the caller's exactly once;
 *  - refreshes follow the active interval while requests are prepared and
 *    stop (idle interval) when they are not;
 *  - at most one refresh is in flight, however short the interval;
 *  - calls made from inside a libcurl callback are deferred, not lost;
 *  - alt_multi_detach() (and alt_lb_free()) take back a refresh in flight,
 *    so that the multi is left empty and cleans up without a leak;
 *  - a caller's transfer that fails to connect, seen through
 *    alt_multi_info_read(), takes its node out of rotation.
 */
#include "pool.h"

#include <string.h>

#define NNODES 4

static tc_cluster *cl;

/* ------------------------------------------------------------------------ */
/* A caller's loop: a pool of ListTables requests (pool.h) on one multi.    */
/* ------------------------------------------------------------------------ */

typedef tu_pool driver;

static void driver_init(driver *d, alt_lb *lb, int conc)
{
    CURLM *multi = curl_multi_init();
    REQUIRE(multi);
    tu_pool_init(d, lb, multi, conc);
    CHECK_EQ(alt_multi_attach(lb, multi), ALT_OK);
}

/* One turn of the loop: perform, read, top up to the concurrency while
 * budget lasts (budget < 0: no new requests), poll. */
static void step(driver *d, long *budget, int poll_ms)
{
    int running = 0;
    CHECK_EQ(curl_multi_perform(d->multi, &running), CURLM_OK);
    tu_pool_read(d);
    tu_pool_top_up(d, budget);
    curl_multi_poll(d->multi, NULL, 0, poll_ms, NULL);
}

/* Runs n requests to their end (bounded by 20 s). */
static void run_requests(driver *d, long n)
{
    long budget = n;
    long long deadline = tu_now_ms() + 20000;
    while ((budget > 0 || tu_pool_in_flight(d) > 0) && tu_now_ms() < deadline)
        step(d, &budget, 100);
    CHECK_EQ(budget, 0);
    CHECK_EQ(tu_pool_in_flight(d), 0);
}

/* Keeps requests flowing for ms milliseconds, then lets them finish. */
static void run_for(driver *d, long ms)
{
    long budget = 1000000;
    long long end = tu_now_ms() + ms;
    while (tu_now_ms() < end)
        step(d, &budget, 20);
    budget = 0;
    long long deadline = tu_now_ms() + 20000;
    while (tu_pool_in_flight(d) > 0 && tu_now_ms() < deadline)
        step(d, &budget, 100);
    CHECK_EQ(tu_pool_in_flight(d), 0);
}

/* Spins the loop for ms milliseconds without adding anything. */
static void spin(driver *d, long ms)
{
    long long end = tu_now_ms() + ms;
    while (tu_now_ms() < end)
        step(d, NULL, 50);
}

static void driver_free(driver *d)
{
    tu_pool_cleanup(d);
    alt_multi_detach(d->lb);
    CHECK_EQ(curl_multi_cleanup(d->multi), CURLM_OK);
}

/* ------------------------------------------------------------------------ */
/* Cluster counters.                                                         */
/* ------------------------------------------------------------------------ */

static void reset_cluster(void)
{
    REQUIRE(tc_cmd(cl, NULL, 0, "reset") == 0);
}

/* Waits (spinning the loop) until the cluster counted at least want
 * /localnodes requests in all; returns the count. */
static long spin_until_localnodes(driver *d, long want, long max_ms)
{
    long long deadline = tu_now_ms() + max_ms;
    long n;
    while ((n = tu_stat_sum(cl, NNODES, "localnodes")) < want && tu_now_ms() < deadline)
        spin(d, 20);
    return n;
}

static alt_lb *new_lb(int first, int n, long active_ms, long idle_ms)
{
    alt_lb *lb = tu_lb(tc_port(cl), first, n);
    REQUIRE(alt_lb_set_refresh_interval(lb, active_ms, idle_ms) == ALT_OK);
    return lb;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */
/* ------------------------------------------------------------------------ */

/* One seed out of four nodes and no alt_lb_refresh(): the first discovery
 * is the loop's business, and after it the requests reach every node. */
static void first_discovery_through_loop(void)
{
    reset_cluster();
    alt_lb *lb = new_lb(2, 1, 1000, 60000);
    /* The second batch's bound below is round-robin's. */
    REQUIRE(alt_lb_set_choice(lb, ALT_CHOICE_ROUND_ROBIN) == ALT_OK);
    driver d;
    driver_init(&d, lb, 4);
    run_requests(&d, 40);
    tu_pool_check(&d);
    CHECK_EQ(d.ok200, 40);
    char nodes[8][ALT_ADDR_MAX];
    CHECK_EQ(alt_lb_nodes(lb, nodes, 8), NNODES);
    /* The discovery went to the only node known: the seed. */
    CHECK(tc_stat(cl, 2, "localnodes") >= 1);

    /* Once learnt, a batch goes round-robin over all four: each handle
     * walks the nodes in turn, so the per-node counts of the batch differ
     * by at most one per handle. */
    memset(d.per_node, 0, sizeof d.per_node);
    run_requests(&d, 40);
    long lo = 40, hi = 0;
    for (int i = 1; i <= NNODES; i++) {
        fprintf(stderr, "  node %d: %ld of the second 40\n", i, d.per_node[i]);
        lo = d.per_node[i] < lo ? d.per_node[i] : lo;
        hi = d.per_node[i] > hi ? d.per_node[i] : hi;
    }
    CHECK(lo >= 1);
    CHECK(hi - lo <= d.conc);
    CHECK_EQ(d.per_node[0], 0);
    tu_pool_check(&d);
    CHECK_EQ(d.ok200, 80);
    CHECK_EQ(tu_stat_sum(cl, NNODES, "api"), 80);
    driver_free(&d);
    alt_lb_free(lb);
}

/* Many refreshes complete in the caller's multi while its requests run;
 * alt_multi_info_read() hands none of them to the caller. */
static void info_read_hides_own_transfers(void)
{
    reset_cluster();
    alt_lb *lb = new_lb(1, 1, 10, 60000);
    driver d;
    driver_init(&d, lb, 8);
    run_requests(&d, 400);
    long ln = tu_stat_sum(cl, NNODES, "localnodes");
    fprintf(stderr, "  400 requests, %ld /localnodes meanwhile, %ld DONE "
            "returned\n", ln, d.done);
    CHECK(ln >= 3); /* the library's transfers did finish in this multi */
    tu_pool_check(&d);
    CHECK_EQ(d.done, 400);
    CHECK_EQ(d.ok200, 400);
    /* Nothing left over: more reads return nothing. */
    int left = -1;
    curl_multi_perform(d.multi, &left);
    CHECK(alt_multi_info_read(lb, &left) == NULL);
    CHECK_EQ(left, 0);
    driver_free(&d);
    alt_lb_free(lb);
}

/* Active interval while requests flow, idle interval when they stop. */
static void active_then_idle(void)
{
    reset_cluster();
    alt_lb *lb = new_lb(1, NNODES, 100, 60000);
    driver d;
    driver_init(&d, lb, 2);
    long long t0 = tu_now_ms();
    run_for(&d, 1500);
    long long busy_ms = tu_now_ms() - t0;
    long busy = tu_stat_sum(cl, NNODES, "localnodes");
    fprintf(stderr, "  busy %lld ms, %ld requests: %ld /localnodes "
            "(~%lld expected at one per 100 ms)\n", busy_ms, d.done, busy,
            busy_ms / 100);
    CHECK(d.done >= 20);
    CHECK(busy >= 4);
    CHECK(busy <= busy_ms / 90 + 2);

    /* The loop keeps turning, but nothing is prepared. At most two more
     * /localnodes may still arrive: the refresh the loop added last (which
     * may not have reached its node when the count was read) and the one
     * that came due for the requests prepared after it began. */
    spin(&d, 1500);
    long idle = tu_stat_sum(cl, NNODES, "localnodes");
    /* From then on, none: the idle interval is 60 s. */
    spin(&d, 1500);
    long idle2 = tu_stat_sum(cl, NNODES, "localnodes");
    fprintf(stderr, "  idle 1500 ms: %ld more /localnodes; 1500 ms more: "
            "%ld more (at one per 100 ms: ~15 each)\n", idle - busy,
            idle2 - idle);
    CHECK(idle - busy <= 2);
    CHECK_EQ(idle2, idle);
    tu_pool_check(&d);
    driver_free(&d);
    alt_lb_free(lb);

    /* A loop without requests of its own gets no transfer of the
     * library's either, however short the idle interval: a loop that
     * stops when its transfers are done must never wait for one. */
    reset_cluster();
    lb = new_lb(1, NNODES, 100, 400);
    driver_init(&d, lb, 1);
    spin(&d, 1000);
    idle = tu_stat_sum(cl, NNODES, "localnodes");
    fprintf(stderr, "  idle loop 1000 ms, idle interval 400: %ld "
            "/localnodes\n", idle);
    CHECK_EQ(idle, 0);
    CHECK_EQ(d.added, 0);
    tu_pool_check(&d);
    driver_free(&d);
    alt_lb_free(lb);
}

/* With every answer 300 ms slow and a 10 ms active interval, a refresh
 * starts only when the previous one has ended. */
static void one_refresh_in_flight(void)
{
    reset_cluster();
    for (int i = 1; i <= NNODES; i++)
        REQUIRE(tc_cmd(cl, NULL, 0, "slow %d 300", i) == 0);
    alt_lb *lb = new_lb(1, NNODES, 10, 60000);
    driver d;
    driver_init(&d, lb, 4);
    long long t0 = tu_now_ms();
    run_for(&d, 2000);
    long long ms = tu_now_ms() - t0;
    long ln = tu_stat_sum(cl, NNODES, "localnodes");
    fprintf(stderr, "  %lld ms with 300 ms answers, active interval 10 ms: "
            "%ld /localnodes started (at most %lld one at a time; %lld if "
            "not), %ld requests\n", ms, ln, ms / 300 + 1, ms / 10, d.done);
    CHECK(ln >= 2);
    CHECK(ln <= ms / 300 + 2);
    tu_pool_check(&d);
    CHECK_EQ(d.ok200, d.done);
    driver_free(&d);
    alt_lb_free(lb);
    for (int i = 1; i <= NNODES; i++)
        REQUIRE(tc_cmd(cl, NULL, 0, "slow %d 0", i) == 0);
}

/* ---- calls from inside a libcurl callback ---- */

typedef struct cb_state {
    alt_lb *lb;
    CURL *other;                /* prepared from inside the callback */
    int calls;
    alt_code prepare_rc;
    int info_read_null;
    int info_read_left;
    long sleep_ms;
} cb_state;

static size_t write_and_meddle(char *data, size_t size, size_t nmemb,
                               void *ud)
{
    (void)data;
    cb_state *st = ud;
    if (st->calls++ == 0) {
        tu_sleep_ms(st->sleep_ms); /* the active interval passes */
        st->prepare_rc = alt_curl_prepare(st->lb, st->other);
        st->info_read_left = -1;
        st->info_read_null
            = alt_multi_info_read(st->lb, &st->info_read_left) == NULL;
    }
    return size * nmemb;
}

/* A refresh that becomes due inside a write callback (where libcurl refuses
 * curl_multi_add_handle) is added later, from outside; alt_multi_info_read()
 * inside a callback returns NULL. */
static void deferred_inside_callback(void)
{
    reset_cluster();
    alt_lb *lb = new_lb(1, NNODES, 50, 60000);
    driver d;
    driver_init(&d, lb, 2);
    run_requests(&d, 20);
    /* Let the refreshes those requests call for finish: then none is in
     * flight, the active interval has passed, but none is due as nothing
     * was prepared since the last began. */
    long before = -1, now = tu_stat_sum(cl, NNODES, "localnodes");
    for (int i = 0; i < 10 && now != before; i++) {
        before = now;
        spin(&d, 300);
        now = tu_stat_sum(cl, NNODES, "localnodes");
    }
    CHECK_EQ(now, before);
    REQUIRE(before >= 1);

    /* A transfer of the caller's own, not prepared by lb (GET /health on
     * node 1), whose write callback prepares another handle. */
    char url[64], a[16];
    snprintf(url, sizeof url, "http://%s:%d/", tc_addr(1, a), tc_port(cl));
    cb_state st = {lb, curl_easy_init(), 0, ALT_E_STATE, 0, 0, 80};
    CURL *h = curl_easy_init();
    REQUIRE(st.other && h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_and_meddle);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &st);
    curl_easy_setopt(h, CURLOPT_PRIVATE, NULL);
    CHECK_EQ(curl_multi_add_handle(d.multi, h), CURLM_OK);
    long long deadline = tu_now_ms() + 10000;
    int h_done = 0;
    while (!h_done && tu_now_ms() < deadline) {
        int running;
        curl_multi_perform(d.multi, &running);
        CURLMsg *m;
        int left;
        while ((m = alt_multi_info_read(lb, &left))) {
            CHECK(m->easy_handle == h);
            if (m->easy_handle == h && m->msg == CURLMSG_DONE) {
                CHECK_EQ(m->data.result, CURLE_OK);
                h_done = 1;
            }
        }
        if (!h_done)
            curl_multi_poll(d.multi, NULL, 0, 100, NULL);
    }
    CHECK(h_done);
    curl_multi_remove_handle(d.multi, h);
    curl_easy_cleanup(h);
    CHECK_EQ(st.calls >= 1, 1);
    CHECK_EQ(st.prepare_rc, ALT_OK);
    CHECK(st.info_read_null);
    CHECK_EQ(st.info_read_left, 0);

    /* The refresh due since the callback happens now, from the loop. */
    long after = spin_until_localnodes(&d, before + 1, 5000);
    fprintf(stderr, "  /localnodes before the callback %ld, after %ld\n",
            before, after);
    CHECK(after >= before + 1);

    /* The handle prepared in the callback works when added from outside. */
    tu_reply r;
    struct curl_slist *hdrs;
    tu_setup_api(st.other, alt_lb_url(lb), "ListTables", "{}", &r, &hdrs);
    CHECK_EQ(curl_multi_add_handle(d.multi, st.other), CURLM_OK);
    int other_done = 0;
    deadline = tu_now_ms() + 10000;
    while (!other_done && tu_now_ms() < deadline) {
        int running;
        curl_multi_perform(d.multi, &running);
        CURLMsg *m;
        int left;
        while ((m = alt_multi_info_read(lb, &left))) {
            CHECK(m->easy_handle == st.other);
            if (m->easy_handle == st.other && m->msg == CURLMSG_DONE) {
                CHECK_EQ(m->data.result, CURLE_OK);
                other_done = 1;
            }
        }
        if (!other_done)
            curl_multi_poll(d.multi, NULL, 0, 100, NULL);
    }
    CHECK(other_done);
    tu_collect(st.other, &r);
    CHECK_EQ(r.status, 200);
    curl_multi_remove_handle(d.multi, st.other);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(st.other);

    /* And refreshes keep coming while requests flow. */
    long mid = tu_stat_sum(cl, NNODES, "localnodes");
    run_for(&d, 500);
    long end = tu_stat_sum(cl, NNODES, "localnodes");
    fprintf(stderr, "  500 ms more of requests: %ld more /localnodes\n",
            end - mid);
    CHECK(end - mid >= 1);
    tu_pool_check(&d);
    driver_free(&d);
    alt_lb_free(lb);
}

/* ---- detach with a refresh in flight ---- */

/* One request of the caller's to the hung seed 4: it brings the first
 * discovery into multi with it, and is taken back (and released) once the
 * seed has received that /localnodes. */
static void bring_in_discovery(alt_lb *lb, CURLM *multi)
{
    CURL *e = curl_easy_init();
    REQUIRE(e);
    tu_reply r;
    struct curl_slist *h;
    tu_setup_api(e, alt_lb_url(lb), "ListTables", "{}", &r, &h);
    CHECK_EQ(alt_curl_prepare(lb, e), ALT_OK);
    REQUIRE(curl_multi_add_handle(multi, e) == CURLM_OK);
    int running = 0;
    long base = tc_stat(cl, 4, "localnodes");
    long long deadline = tu_now_ms() + 5000;
    while (tc_stat(cl, 4, "localnodes") == base && tu_now_ms() < deadline) {
        curl_multi_perform(multi, &running);
        CHECK(alt_multi_info_read(lb, NULL) == NULL);
        curl_multi_poll(multi, NULL, 0, 20, NULL);
    }
    CHECK_EQ(tc_stat(cl, 4, "localnodes"), base + 1);
    curl_multi_remove_handle(multi, e);
    alt_curl_release(lb, e);
    curl_easy_cleanup(e);
    curl_slist_free_all(h);
}

static alt_lb *hung_seed_lb(void)
{
    alt_lb *lb = new_lb(4, 1, 1000, 60000);
    REQUIRE(alt_lb_set_discovery_timeout(lb, 1000, 60000) == ALT_OK);
    return lb;
}

/* The only seed accepts /localnodes and never answers: alt_multi_detach()
 * must take the refresh back out of the multi. */
static void detach_with_refresh_in_flight(void)
{
    reset_cluster();
    REQUIRE(tc_cmd(cl, NULL, 0, "hang 4") == 0);
    alt_lb *lb = hung_seed_lb();
    CURLM *multi = curl_multi_init();
    REQUIRE(multi);
    CHECK_EQ(alt_multi_attach(lb, multi), ALT_OK);
    /* A second attach to the same multi is harmless, to another refused. */
    CHECK_EQ(alt_multi_attach(lb, multi), ALT_OK);
    CURLM *other = curl_multi_init();
    CHECK_EQ(alt_multi_attach(lb, other), ALT_E_STATE);
    curl_multi_cleanup(other);

    /* The caller's first request brings the first discovery in; once the
     * caller has given up on its request (node 4 hangs), the refresh is
     * there alone. */
    bring_in_discovery(lb, multi);
    int running = 0;
    curl_multi_perform(multi, &running);
    CHECK_EQ(running, 1); /* the library's /localnodes, hanging */

    alt_multi_detach(lb);
    curl_multi_perform(multi, &running);
    CHECK_EQ(running, 0);
    int left = -1;
    CHECK(alt_multi_info_read(lb, &left) == NULL);
    CHECK_EQ(left, 0);
    CHECK_EQ(curl_multi_cleanup(multi), CURLM_OK);

    /* The lb itself is fine: attached again, it redoes the abandoned
     * discovery and every request is answered. */
    REQUIRE(tc_cmd(cl, NULL, 0, "unhang 4") == 0);
    long api_before = 0;
    for (int i = 1; i <= NNODES; i++)
        api_before += tc_stat(cl, i, "api");
    driver d;
    driver_init(&d, lb, 2);
    run_requests(&d, 4);
    CHECK_EQ(d.ok200, 4);
    long api_after = 0;
    for (int i = 1; i <= NNODES; i++)
        api_after += tc_stat(cl, i, "api");
    CHECK_EQ(api_after - api_before, 4);
    tu_pool_check(&d);
    driver_free(&d);
    alt_lb_free(lb);
}

/* The first discovery was abandoned by alt_multi_detach(): it has still
 * not happened, so attaching again (the seed answers now) must start it
 * with the first request, without waiting for the idle interval. */
static void reattach_redoes_abandoned_discovery(void)
{
    reset_cluster();
    REQUIRE(tc_cmd(cl, NULL, 0, "hang 4") == 0);
    alt_lb *lb = hung_seed_lb();
    driver d;
    driver_init(&d, lb, 1);
    bring_in_discovery(lb, d.multi);
    alt_multi_detach(lb);
    int running = 0;
    curl_multi_perform(d.multi, &running);
    CHECK_EQ(running, 0);
    REQUIRE(tc_cmd(cl, NULL, 0, "unhang 4") == 0);

    CHECK_EQ(alt_multi_attach(lb, d.multi), ALT_OK);
    char nodes[8][ALT_ADDR_MAX];
    long long deadline = tu_now_ms() + 3000;
    long budget = 1000;
    while (alt_lb_nodes(lb, nodes, 8) < NNODES && tu_now_ms() < deadline)
        step(&d, &budget, 20);
    budget = 0;
    while (tu_pool_in_flight(&d) > 0 && tu_now_ms() < deadline)
        step(&d, &budget, 20);
    fprintf(stderr, "  after re-attaching: %zu nodes known, %ld /localnodes "
            "at the seed\n", alt_lb_nodes(lb, nodes, 8),
            tc_stat(cl, 4, "localnodes"));
    CHECK_EQ(alt_lb_nodes(lb, nodes, 8), NNODES);
    CHECK_EQ(tc_stat(cl, 4, "localnodes"), 2);
    tu_pool_check(&d);
    driver_free(&d);
    alt_lb_free(lb);
}

/* alt_lb_free() while attached and a refresh hangs: it detaches, so the
 * multi can still be cleaned up afterwards. */
static void free_with_refresh_in_flight(void)
{
    reset_cluster();
    REQUIRE(tc_cmd(cl, NULL, 0, "hang 4") == 0);
    alt_lb *lb = hung_seed_lb();
    driver d;
    driver_init(&d, lb, 1);
    bring_in_discovery(lb, d.multi);
    int running = 0;
    curl_multi_perform(d.multi, &running);
    CHECK_EQ(running, 1);
    alt_lb_free(lb); /* detaches */
    curl_multi_perform(d.multi, &running);
    CHECK_EQ(running, 0);
    tu_pool_cleanup(&d);
    CHECK_EQ(curl_multi_cleanup(d.multi), CURLM_OK);
    REQUIRE(tc_cmd(cl, NULL, 0, "unhang 4") == 0);
}

/* A node killed under load: alt_multi_info_read() sends the transfers that
 * could not reach it to other nodes, so the caller sees no failure, and
 * the failure takes it out of rotation. Every node answers /localnodes
 * with all four, the dead one included, and the refresh intervals are a
 * minute, so that a refresh cannot be what removes it: only the failure
 * report can. */
static void failure_takes_node_out(void)
{
    reset_cluster();
    const char *all = "[\"127.0.0.1\",\"127.0.0.2\",\"127.0.0.3\","
                      "\"127.0.0.4\"]";
    for (int i = 1; i <= NNODES; i++)
        REQUIRE(tc_cmd(cl, NULL, 0, "localnodes %d %s", i, all) == 0);
    alt_lb *lb = new_lb(1, NNODES, 60000, 60000);
    REQUIRE(alt_lb_set_logger(lb, tu_capture_log, NULL, ALT_LOG_DEBUG)
            == ALT_OK);
    driver d;
    driver_init(&d, lb, 4);
    run_requests(&d, 40); /* warm: all four nodes, connections pooled */
    CHECK_EQ(d.ok200, 40);
    for (int i = 1; i <= NNODES; i++)
        CHECK(d.per_node[i] >= 1);
    long api_before[NNODES + 1];
    for (int i = 1; i <= NNODES; i++)
        api_before[i] = tc_stat(cl, i, "api");

    tu_log_reset();
    REQUIRE(tc_cmd(cl, NULL, 0, "kill 3") == 0);
    long ok_before = d.ok200;
    memset(d.per_node, 0, sizeof d.per_node);
    run_requests(&d, 400);
    fprintf(stderr, "  after node 3 died: 400 requests, %ld failed, %d "
            "retried elsewhere; per node %ld/%ld/%ld/%ld\n", d.failed,
            tu_log_count("retrying on another node"), d.per_node[1],
            d.per_node[2], d.per_node[3], d.per_node[4]);
    CHECK_EQ(d.failed, 0);
    CHECK_EQ(d.ok200 - ok_before, 400);
    CHECK(tu_log_count("retrying on another node") >= 1);
    CHECK_EQ(tu_log_count("node 127.0.0.3 failed"), 1);
    CHECK_EQ(d.per_node[3], 0);
    CHECK_EQ(alt_lb_nodes(lb, NULL, 0), NNODES - 1);
    /* Every success landed on one of the three others, once. */
    long api_after = 0;
    for (int i = 1; i <= NNODES; i++)
        if (i != 3)
            api_after += tc_stat(cl, i, "api") - api_before[i];
    CHECK_EQ(api_after, 400);
    tu_pool_check(&d);
    driver_free(&d);
    alt_lb_free(lb);
    for (int i = 1; i <= NNODES; i++)
        REQUIRE(tc_cmd(cl, NULL, 0, "localnodes %d default", i) == 0);
    REQUIRE(tc_cmd(cl, NULL, 0, "revive 3") == 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    cl = tu_cluster("--nodes 4");
    RUN(first_discovery_through_loop);
    RUN(info_read_hides_own_transfers);
    RUN(active_then_idle);
    RUN(one_refresh_in_flight);
    RUN(deferred_inside_callback);
    RUN(detach_with_refresh_in_flight);
    RUN(reattach_redoes_abandoned_discovery);
    RUN(free_with_refresh_in_flight);
    RUN(failure_takes_node_out);
    tc_stop(cl);
    curl_global_cleanup();
    return tu_finish();
}
