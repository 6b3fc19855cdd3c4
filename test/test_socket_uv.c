/*
 * The library inside a libuv event loop driving curl_multi_socket_action,
 * the way curl's own multi-uv example does: one uv_poll_t per socket that
 * libcurl asks to watch (CURLMOPT_SOCKETFUNCTION), one uv_timer_t for
 * libcurl's timeout (CURLMOPT_TIMERFUNCTION), completions read with
 * alt_multi_info_read() after every socket_action.
 *
 * Proves, against a 3-node cluster, with one seed and no alt_lb_refresh():
 * the library's /localnodes transfers are added to this multi and run by
 * the libuv loop alone (the first discovery too), every node gets requests,
 * every request answers 200, the caller sees exactly one completion per
 * request it added and never one of the library's; and when it is over the
 * multi and the loop are left with nothing of the library's (uv_loop_close
 * succeeds once the caller's own handles are closed).
 */
/* uv.h needs POSIX types (pthread_rwlock_t) that strict C11 hides. */
#define _POSIX_C_SOURCE 200809L
#include "pool.h"

#include <string.h>
#include <uv.h>

#define NNODES 3
#define NREQ 600
#define CONC 8

typedef struct app {
    uv_loop_t loop;
    uv_timer_t curl_timer;      /* libcurl's timeout */
    uv_timer_t guard;           /* gives up after 20 s */
    uv_timer_t linger;          /* a little more turning once all are done */
    CURLM *multi;
    tu_pool pool;               /* the caller's requests */
    long budget;                /* requests still to start */
    int finishing;
    long timer_calls, socket_calls, polls_open, polls_max, uv_errors;
    long long t0, t_done;
} app;

/* The uv_poll_t of one socket, given to libcurl with curl_multi_assign. */
typedef struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    app *a;
} sock_ctx;

static tc_cluster *cl;

static void on_linger(uv_timer_t *t)
{
    uv_stop(t->loop);
}

/* Reads what finished, starts more while the budget lasts, and once all
 * are done turns a little longer (stray completions would show) and
 * stops. */
static void after_action(app *a)
{
    tu_pool_read(&a->pool);
    tu_pool_top_up(&a->pool, &a->budget);
    if (a->budget == 0 && tu_pool_in_flight(&a->pool) == 0 && !a->finishing) {
        a->finishing = 1;
        a->t_done = tu_now_ms();
        uv_timer_start(&a->linger, on_linger, 200, 0);
    }
}

static void on_curl_timeout(uv_timer_t *t)
{
    app *a = t->data;
    int running;
    CHECK_EQ(curl_multi_socket_action(a->multi, CURL_SOCKET_TIMEOUT, 0,
                                      &running), CURLM_OK);
    after_action(a);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    sock_ctx *c = p->data;
    int flags = 0, running;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & (UV_READABLE | UV_DISCONNECT))
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    CHECK_EQ(curl_multi_socket_action(c->a->multi, c->fd, flags, &running),
             CURLM_OK);
    after_action(c->a);
}

static void free_ctx(uv_handle_t *h)
{
    free(h->data);
}

/* CURLMOPT_SOCKETFUNCTION */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp,
                     void *socketp)
{
    (void)easy;
    app *a = userp;
    sock_ctx *c = socketp;
    a->socket_calls++;
    if (what == CURL_POLL_REMOVE) {
        if (c) {
            uv_poll_stop(&c->poll);
            uv_close((uv_handle_t *)&c->poll, free_ctx);
            curl_multi_assign(a->multi, s, NULL);
            a->polls_open--;
        }
        return 0;
    }
    if (!c) {
        c = calloc(1, sizeof *c);
        REQUIRE(c);
        c->fd = s;
        c->a = a;
        if (uv_poll_init_socket(&a->loop, &c->poll, s) != 0) {
            a->uv_errors++;
            free(c);
            return -1;
        }
        c->poll.data = c;
        curl_multi_assign(a->multi, s, c);
        if (++a->polls_open > a->polls_max)
            a->polls_max = a->polls_open;
    }
    int events = 0;
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    if (uv_poll_start(&c->poll, events, on_poll) != 0)
        a->uv_errors++;
    return 0;
}

/* CURLMOPT_TIMERFUNCTION */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    app *a = userp;
    a->timer_calls++;
    if (timeout_ms < 0)
        uv_timer_stop(&a->curl_timer);
    else
        uv_timer_start(&a->curl_timer, on_curl_timeout, (uint64_t)timeout_ms,
                       0);
    return 0;
}

static void on_guard(uv_timer_t *t)
{
    fprintf(stderr, "  gave up after 20 s\n");
    uv_stop(t->loop);
}

/* Closes what is left on the loop (the test's timers; a poll handle would
 * be a socket libcurl never told us to stop watching). */
static void close_left(uv_handle_t *h, void *arg)
{
    long *polls = arg;
    if (uv_is_closing(h))
        return;
    if (uv_handle_get_type(h) == UV_POLL) {
        (*polls)++;
        uv_close(h, free_ctx);
    } else {
        uv_close(h, NULL);
    }
}

static void socket_loop_uv(void)
{
    REQUIRE(tc_cmd(cl, NULL, 0, "reset") == 0);
    app *a = calloc(1, sizeof *a);
    REQUIRE(a);
    REQUIRE(uv_loop_init(&a->loop) == 0);
    uv_timer_init(&a->loop, &a->curl_timer);
    uv_timer_init(&a->loop, &a->guard);
    uv_timer_init(&a->loop, &a->linger);
    a->curl_timer.data = a;
    a->multi = curl_multi_init();
    REQUIRE(a->multi);
    curl_multi_setopt(a->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(a->multi, CURLMOPT_SOCKETDATA, a);
    curl_multi_setopt(a->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(a->multi, CURLMOPT_TIMERDATA, a);
    alt_lb *lb = tu_lb(tc_port(cl), 1, 1);
    REQUIRE(alt_lb_set_refresh_interval(lb, 50, 60000) == ALT_OK);
    tu_pool_init(&a->pool, lb, a->multi, CONC);

    /* Attaching adds nothing and calls no callback: the first discovery
     * goes in with the first request. */
    CHECK_EQ(alt_multi_attach(lb, a->multi), ALT_OK);
    CHECK_EQ(a->timer_calls, 0);
    CHECK(!uv_is_active((uv_handle_t *)&a->curl_timer));

    a->budget = NREQ;
    a->t0 = tu_now_ms();
    after_action(a); /* the first CONC requests */
    uv_timer_start(&a->guard, on_guard, 20000, 0);
    uv_run(&a->loop, UV_RUN_DEFAULT);

    long long ms = (a->t_done ? a->t_done : tu_now_ms()) - a->t0;
    long ln = tu_stat_sum(cl, NNODES, "localnodes");
    fprintf(stderr, "  connections accepted by the nodes: %ld\n",
            tu_stat_sum(cl, NNODES, "conns"));
    fprintf(stderr, "  %d requests in %lld ms at concurrency %d: %ld on "
            "node 1, %ld on node 2, %ld on node 3; %ld /localnodes "
            "(active interval 50 ms: at most ~%lld); %ld timer and %ld "
            "socket callbacks, up to %ld sockets watched\n", NREQ, ms, CONC,
            a->pool.per_node[1], a->pool.per_node[2], a->pool.per_node[3], ln, ms / 50 + 1,
            a->timer_calls, a->socket_calls, a->polls_max);
    CHECK(a->finishing);
    CHECK_EQ(a->pool.added, NREQ);
    CHECK_EQ(a->pool.ok200, NREQ);
    tu_pool_check(&a->pool);
    CHECK_EQ(a->pool.per_node[0], 0);
    for (int i = 1; i <= NNODES; i++) {
        CHECK(a->pool.per_node[i] >= NREQ / 10);
        CHECK(tc_stat(cl, i, "api") == a->pool.per_node[i]);
    }
    char nodes[8][ALT_ADDR_MAX];
    CHECK_EQ(alt_lb_nodes(lb, nodes, 8), NNODES);
    /* The first discovery (to the seed), then refreshes added by
     * alt_curl_prepare() as the active interval passed. */
    CHECK(tc_stat(cl, 1, "localnodes") >= 1);
    CHECK(ln >= 2);
    CHECK(ln <= ms / 45 + 3); /* at most one per active interval */
    CHECK_EQ(a->uv_errors, 0);

    /* Nothing of the caller's is left: after detaching, nothing at all. */
    alt_multi_detach(lb);
    int running = -1;
    CHECK_EQ(curl_multi_socket_action(a->multi, CURL_SOCKET_TIMEOUT, 0,
                                      &running), CURLM_OK);
    CHECK_EQ(running, 0);
    tu_pool_cleanup(&a->pool);
    alt_lb_free(lb);
    /* Closes the pooled connections: libcurl says REMOVE for each. */
    CHECK_EQ(curl_multi_cleanup(a->multi), CURLM_OK);
    CHECK_EQ(a->polls_open, 0);
    long stray_polls = 0;
    uv_walk(&a->loop, close_left, &stray_polls);
    CHECK_EQ(stray_polls, 0);
    uv_run(&a->loop, UV_RUN_DEFAULT);
    CHECK_EQ(uv_loop_close(&a->loop), 0);
    free(a);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    cl = tu_cluster("--nodes 3");
    RUN(socket_loop_uv);
    tc_stop(cl);
    curl_global_cleanup();
    return tu_finish();
}
