/*
 * The library inside a curl_multi_socket_action loop on epoll: libcurl
 * tells the loop which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when
 * to time out (CURLMOPT_TIMERFUNCTION, served by epoll_wait's timeout); the
 * loop calls curl_multi_socket_action and reads completions with
 * alt_multi_info_read.
 *
 * Proves, against a 3-node cluster, with one seed and no alt_lb_refresh():
 * the library's /localnodes transfers are added to this multi and driven by
 * the socket loop alone (the first discovery too), every node gets
 * requests, every request answers 200, the caller sees exactly one
 * completion per request it added and never one of the library's, and at
 * most one refresh runs at a time.
 */
#include "pool.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define NNODES 3
#define NREQ 600
#define CONC 8

typedef struct loop {
    int epfd;
    long long timer_at;         /* tu_now_ms() deadline, -1: none */
    long timer_calls;
    long socket_calls;
    long epoll_errors;
    CURLM *multi;
    tu_pool pool;               /* the caller's requests */
} loop;

static tc_cluster *cl;

/* CURLMOPT_SOCKETFUNCTION: keep epoll's interest list in step. */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp,
                     void *socketp)
{
    (void)easy;
    (void)socketp;
    loop *l = userp;
    l->socket_calls++;
    if (tu_epoll_watch(l->epfd, s, what) != 0)
        l->epoll_errors++;
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: remember the deadline; the loop serves it. */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    loop *l = userp;
    l->timer_calls++;
    l->timer_at = timeout_ms < 0 ? -1 : tu_now_ms() + timeout_ms;
    return 0;
}

/* One turn: wait for a socket or the timer, tell libcurl, read what
 * finished, top the requests up while *budget lasts. */
static void turn(loop *l, long *budget)
{
    int wait = 100;
    if (l->timer_at >= 0) {
        long long left = l->timer_at - tu_now_ms();
        wait = left < 0 ? 0 : left < 100 ? (int)left : 100;
    }
    struct epoll_event evs[16];
    int n = epoll_wait(l->epfd, evs, 16, wait);
    int running;
    if (n < 0 && errno != EINTR)
        l->epoll_errors++;
    for (int i = 0; i < n; i++)
        CHECK_EQ(curl_multi_socket_action(l->multi, evs[i].data.fd,
                                          tu_epoll_select(evs[i].events),
                                          &running), CURLM_OK);
    if (l->timer_at >= 0 && tu_now_ms() >= l->timer_at) {
        l->timer_at = -1;
        CHECK_EQ(curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0,
                                          &running), CURLM_OK);
    }
    tu_pool_read(&l->pool);
    tu_pool_top_up(&l->pool, budget);
}

static void socket_loop_epoll(void)
{
    REQUIRE(tc_cmd(cl, NULL, 0, "reset") == 0);
    loop l;
    memset(&l, 0, sizeof l);
    l.timer_at = -1;
    l.epfd = epoll_create1(EPOLL_CLOEXEC);
    REQUIRE(l.epfd >= 0);
    l.multi = curl_multi_init();
    REQUIRE(l.multi);
    curl_multi_setopt(l.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(l.multi, CURLMOPT_SOCKETDATA, &l);
    curl_multi_setopt(l.multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(l.multi, CURLMOPT_TIMERDATA, &l);
    alt_lb *lb = tu_lb(tc_port(cl), 1, 1);
    REQUIRE(alt_lb_set_refresh_interval(lb, 50, 60000) == ALT_OK);
    tu_pool_init(&l.pool, lb, l.multi, CONC);

    /* Attaching adds nothing and calls no callback: the first discovery
     * goes in with the first request. */
    long timer_before = l.timer_calls, socket_before = l.socket_calls;
    CHECK_EQ(alt_multi_attach(lb, l.multi), ALT_OK);
    CHECK_EQ(l.timer_calls, timer_before);
    CHECK_EQ(l.socket_calls, socket_before);
    CHECK(l.timer_at < 0);

    long long t0 = tu_now_ms();
    long budget = NREQ;
    long long deadline = t0 + 20000;
    while ((budget > 0 || tu_pool_in_flight(&l.pool) > 0) && tu_now_ms() < deadline)
        turn(&l, &budget);
    long long ms = tu_now_ms() - t0;
    /* A little more turning: no stray completion may show up. */
    long long end = tu_now_ms() + 200;
    while (tu_now_ms() < end)
        turn(&l, NULL);

    long ln = tu_stat_sum(cl, NNODES, "localnodes");
    fprintf(stderr, "  connections accepted by the nodes: %ld\n",
            tu_stat_sum(cl, NNODES, "conns"));
    fprintf(stderr, "  %d requests in %lld ms at concurrency %d: %ld on "
            "node 1, %ld on node 2, %ld on node 3; %ld /localnodes "
            "(active interval 50 ms: at most ~%lld); %ld timer and %ld "
            "socket callbacks\n", NREQ, ms, CONC, l.pool.per_node[1],
            l.pool.per_node[2], l.pool.per_node[3], ln, ms / 50 + 1, l.timer_calls,
            l.socket_calls);
    CHECK_EQ(budget, 0);
    CHECK_EQ(l.pool.added, NREQ);
    CHECK_EQ(l.pool.ok200, NREQ);
    tu_pool_check(&l.pool);
    CHECK_EQ(l.pool.per_node[0], 0);
    for (int i = 1; i <= NNODES; i++) {
        CHECK(l.pool.per_node[i] >= NREQ / 10);
        CHECK(tc_stat(cl, i, "api") == l.pool.per_node[i]);
    }
    char nodes[8][ALT_ADDR_MAX];
    CHECK_EQ(alt_lb_nodes(lb, nodes, 8), NNODES);
    /* The first discovery, then refreshes added by alt_curl_prepare() as
     * the active interval passed: all driven by this loop alone. */
    CHECK(ln >= 2);
    CHECK(tc_stat(cl, 1, "localnodes") >= 1); /* the seed was asked first */
    CHECK(ln <= ms / 45 + 3);         /* at most one per active interval */
    CHECK_EQ(l.epoll_errors, 0);

    /* With nothing of the caller's left, detaching leaves libcurl with no
     * transfer at all. */
    alt_multi_detach(lb);
    int running = -1;
    CHECK_EQ(curl_multi_socket_action(l.multi, CURL_SOCKET_TIMEOUT, 0,
                                      &running), CURLM_OK);
    CHECK_EQ(running, 0);
    tu_pool_cleanup(&l.pool);
    alt_lb_free(lb);
    CHECK_EQ(curl_multi_cleanup(l.multi), CURLM_OK);
    close(l.epfd);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    cl = tu_cluster("--nodes 3");
    RUN(socket_loop_epoll);
    tc_stop(cl);
    curl_global_cleanup();
    return tu_finish();
}
