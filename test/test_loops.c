/*
 * The library in other people's loops (issue 7, findings A1, A2, A5): the
 * shapes of libcurl's own docs/examples programs, written anew here and
 * changed only by the lines the header documents:
 *   - alt_lb_refresh() once before the first request;
 *   - alt_multi_attach() after curl_multi_init();
 *   - alt_curl_prepare_ex(lb, easy, ALT_IDEMPOTENT) before each add (the
 *     requests are ListTables: reads);
 *   - alt_multi_info_read() instead of curl_multi_info_read();
 *   - on a completion: curl_multi_remove_handle(), then
 *       if (alt_curl_retry(lb, easy, result)) {
 *           curl_multi_add_handle(multi, easy);
 *           <count it running>;
 *           continue;
 *       }
 *   - alt_curl_release() before curl_easy_cleanup() of a handle;
 *   - alt_multi_detach() before the loop is torn down.
 * The completion handling, the same in every shape, is complete().
 *
 * A1 (every transfer reported exactly once, whatever the loop): five
 * shapes, 300 requests each over 3 nodes, node 2 killed after about 100
 * completions (revived afterwards):
 *   multi-app      all added up front; while (still_running) perform/poll;
 *                  completions read only after that loop, retries re-added
 *                  and the loop run again;
 *   ephiperfifo    epoll + timerfd + curl_multi_socket_action; completions
 *                  read right after each socket_action, the timer disarmed
 *                  when still_running <= 0 just after (the trap: a
 *                  re-added transfer must not stall); new requests come in
 *                  through a "fifo" (a pipe) fed by completions, 8 at once,
 *                  and again one at a time (then every transfer runs alone,
 *                  and the first failure after the kill meets the trap);
 *   multi-uv       libuv uv_poll + uv_timer, all added up front; the socket
 *                  callback reads CURLINFO_PRIVATE and dereferences it as
 *                  the caller's only when it is not NULL (the library's
 *                  own transfer has a NULL private pointer);
 *   multi-poll     curl_multi_poll loop reading completions every turn;
 *   10-at-a-time   a new easy handle per request, a window of 10, the pool
 *                  size of 10 given with alt_lb_set_maxconnects() (as the
 *                  header says, instead of CURLMOPT_MAXCONNECTS), and the
 *                  connections the nodes accepted stay within 3 x 10.
 * Each: every request (by its own id) reported final exactly once and
 * every attempt's completion once, 0 failed, each live node a share, the
 * loop ended by itself before its deadline.
 *
 * A2: 2 of 3 nodes refuse connections (and stay listed): in a multi loop
 * every request succeeds (alt_curl_retry goes on to the healthy node), and
 * easy mode (alt_curl_perform) agrees.
 *
 * A5: with alt_lb_refresh() first, 300 transfers added before the loop
 * runs (multi-app and multi-uv) spread evenly over the 3 nodes; without it
 * they all go to the seed, as the header documents.
 *
 * Request-aware (issue 9): the shapes that start requests as others end
 * (ephiperfifo, multi-poll, 10-at-a-time), each request a conditional
 * PutItem of one key prepared by alt_curl_prepare_request() instead (no
 * partition key given): the library's DescribeTable runs inside the
 * shape's loop like its /localnodes refresh, every request is reported
 * once and none fails, and once the key is known every request goes to
 * the node the oracle names (test/oracle: key7 over 127.0.0.1-3 -> 3).
 * Each runs until 60 requests were prepared with the key known.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <uv.h>

#define NNODES 3
#define NREQ 300
#define KILL_AT 100      /* node DEAD dies after about this many completions */
#define DEAD 2
#define SEED 1
#define LOOP_MS 10000    /* every loop's deadline */
#define MAX_TURNS 200000 /* and its bound in turns */
#define MAGIC 0x1009u

static tc_cluster *cl;

#define CMD(...) REQUIRE(tc_cmd(cl, NULL, 0, __VA_ARGS__) == 0)

/* ------------------------------------------------------------------------ */
/* The caller's bookkeeping, by its own request ids                          */
/* ------------------------------------------------------------------------ */

/* One request: what CURLOPT_PRIVATE points at. */
typedef struct req {
    unsigned magic;
    int id;
    CURL *easy;
    struct curl_slist *headers;
    size_t got;          /* response bytes */
    int in_multi;
    int adds;            /* attempts: times added to the multi */
    int dones;           /* CURLMSG_DONE messages read for it */
    int finals;          /* times the loop took an outcome as final */
    CURLcode result;
    long status;
    int node;            /* 127.0.0.<node> answered; 0: none */
    long sock_calls;     /* socket callbacks that named its handle */
    int keyed;           /* prepared with the partition key known */
} req;

typedef struct run {
    const char *name;
    alt_lb *lb;
    CURLM *multi;
    req *reqs;
    int nreq;            /* at most this many */
    int started;         /* ids 0..started-1 were started */
    long finals, failed, retried, foreign, not_done;
    long per_node[NNODES + 1];
    int kill_at;         /* kill DEAD after this many completions; < 0: no */
    int killed;
    long killed_after;
    long long t0, t_end, deadline;
    int ended;           /* the loop ended by itself before the deadline */
    int request_aware;   /* conditional PutItems by alt_curl_prepare_request */
    int keyed;           /* requests started with the key known */
} run;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    (void)data;
    ((req *)ud)->got += size * nmemb;
    return size * nmemb;
}

/* New lb (one seed: node SEED), documented startup or not, and a multi
 * (callbacks and attaching are the shape's business). */
static run *run_new(const char *name, int nreq, int kill_at, int refresh)
{
    CMD("reset");
    run *r = calloc(1, sizeof *r);
    REQUIRE(r);
    r->reqs = calloc((size_t)nreq, sizeof *r->reqs);
    REQUIRE(r->reqs);
    r->name = name;
    r->nreq = nreq;
    r->kill_at = kill_at;
    for (int i = 0; i < nreq; i++) {
        r->reqs[i].magic = MAGIC;
        r->reqs[i].id = i;
    }
    r->lb = tu_lb(tc_port(cl), SEED, 1);
    if (refresh) {
        CHECK_EQ(alt_lb_refresh(r->lb), ALT_OK);
        CHECK_EQ(alt_lb_nodes(r->lb, NULL, 0), NNODES);
    }
    r->multi = curl_multi_init();
    REQUIRE(r->multi);
    return r;
}

/* Request-aware runs end once this many were prepared with the key known
 * (r->nreq is lowered to what was started then). */
#define KEYED 60

static int more(const run *r)
{
    return r->started < r->nreq;
}

#define TABLE "loops"
#define KEY_NODE 3 /* key7's node over the three (test/oracle) */
static const char put_key7[] =
    "{\"TableName\":\"" TABLE "\",\"Item\":{\"pk\":{\"S\":\"key7\"}},"
    "\"ConditionExpression\":\"attribute_not_exists(nope)\"}";

static int key_known(alt_lb *lb)
{
    char buf[8];
    return alt_lb_partition_key(lb, TABLE, buf, sizeof buf) == ALT_OK;
}

/* The caller's request on easy: a ListTables with q as CURLOPT_PRIVATE,
 * then the documented line before each add; or, request-aware, the
 * conditional PutItem by alt_curl_prepare_request(). */
static req *req_start(run *r, CURL *easy)
{
    REQUIRE(r->started < r->nreq);
    req *q = &r->reqs[r->started++];
    q->easy = easy;
    q->got = 0;
    if (r->request_aware) {
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(easy, CURLOPT_WRITEDATA, q);
        curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy, CURLOPT_PRIVATE, q);
        q->keyed = key_known(r->lb);
        r->keyed += q->keyed;
        if (r->keyed == KEYED)
            r->nreq = r->started;
        CHECK_EQ(alt_curl_prepare_request(r->lb, easy, "PutItem", put_key7,
                                          sizeof put_key7 - 1, NULL, 0),
                 ALT_OK);
        return q;
    }
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Content-Type: application/x-amz-json-1.0");
    h = curl_slist_append(h, "X-Amz-Target: DynamoDB_20120810.ListTables");
    REQUIRE(h);
    q->headers = h;
    curl_easy_setopt(easy, CURLOPT_URL, alt_lb_url(r->lb));
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, "{}");
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, q);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, q);
    CHECK_EQ(alt_curl_prepare_ex(r->lb, easy, ALT_IDEMPOTENT), ALT_OK);
    return q;
}

/* curl_multi_add_handle, counted per request. */
static void add(run *r, req *q)
{
    CHECK_EQ(curl_multi_add_handle(r->multi, q->easy), CURLM_OK);
    q->in_multi = 1;
    q->adds++;
}

/* curl_multi_remove_handle, likewise. */
static void take_out(run *r, req *q)
{
    curl_multi_remove_handle(r->multi, q->easy);
    q->in_multi = 0;
}

/* The request whose handle easy is, from CURLINFO_PRIVATE, checked to be
 * one of ours before it is dereferenced; NULL otherwise. */
static req *req_of(const run *r, CURL *easy)
{
    char *p = NULL;
    if (!easy || curl_easy_getinfo(easy, CURLINFO_PRIVATE, &p) != CURLE_OK
        || !p)
        return NULL;
    uintptr_t a = (uintptr_t)p, lo = (uintptr_t)r->reqs;
    if (a < lo || a >= lo + (uintptr_t)r->nreq * sizeof(req)
        || (a - lo) % sizeof(req) != 0)
        return NULL;
    req *q = &r->reqs[(a - lo) / sizeof(req)];
    return q->magic == MAGIC && q->easy == easy ? q : NULL;
}

/* A message from alt_multi_info_read(): its request, or NULL (counted) if
 * it is not a CURLMSG_DONE of ours. */
static req *on_message(run *r, CURLMsg *m)
{
    if (m->msg != CURLMSG_DONE) {
        r->not_done++;
        return NULL;
    }
    req *q = req_of(r, m->easy_handle);
    if (!q) {
        if (r->foreign++ < 3)
            fprintf(stderr, "  %s: a message for a handle not ours (%p)\n",
                    r->name, (void *)m->easy_handle);
        return NULL;
    }
    q->dones++;
    return q;
}

static void maybe_kill(run *r, long completions)
{
    if (r->kill_at >= 0 && !r->killed && completions >= r->kill_at) {
        CMD("kill %d", DEAD);
        r->killed = 1;
        r->killed_after = completions;
    }
}

/* The outcome of q is final (alt_curl_retry() said no). */
static void on_final(run *r, req *q, CURLcode result)
{
    char *ip = NULL;
    q->finals++;
    r->finals++;
    q->result = result;
    q->status = 0;
    curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &q->status);
    curl_easy_getinfo(q->easy, CURLINFO_PRIMARY_IP, &ip);
    int i = ip ? tu_node_index(ip) : -1;
    q->node = i >= 1 && i <= NNODES ? i : 0;
    if (result == CURLE_OK && q->status == 200 && q->got > 0) {
        r->per_node[q->node]++;
    } else {
        if (r->failed++ < 5)
            fprintf(stderr, "  %s: request %d failed after %d attempts: %s, "
                    "HTTP %ld\n", r->name, q->id, q->adds,
                    curl_easy_strerror(result), q->status);
    }
    curl_slist_free_all(q->headers);
    q->headers = NULL;
    maybe_kill(r, r->finals);
}

/* A completion read with alt_multi_info_read(), handled as the header
 * documents: a message that is not a CURLMSG_DONE of ours is counted and
 * gives NULL; else the handle is taken out of the multi (remove_handle)
 * and, if alt_curl_retry() prepared it for another node, added again,
 * counted in r->retried and in *running (if given), and NULL; else its
 * outcome is final (on_final) and its request is returned. */
static req *complete(run *r, CURLMsg *msg, int *running)
{
    req *q = on_message(r, msg);
    if (!q)
        return NULL;
    CURL *e = msg->easy_handle;
    CURLcode result = msg->data.result;
    take_out(r, q); /* curl_multi_remove_handle */
    if (alt_curl_retry(r->lb, e, result)) {
        add(r, q); /* curl_multi_add_handle */
        r->retried++;
        if (running)
            (*running)++;
        return NULL;
    }
    on_final(r, q, result);
    return q;
}

/* A new easy handle for the next request, added to the multi. */
static void add_transfer(run *r)
{
    CURL *eh = curl_easy_init();
    REQUIRE(eh);
    add(r, req_start(r, eh));
}

/* A final request's handle released and cleaned up (a shape with a
 * handle per request). */
static void drop_handle(run *r, req *q)
{
    alt_curl_release(r->lb, q->easy);
    curl_easy_cleanup(q->easy);
    q->easy = NULL;
}

/* After the shape's own teardown (which cleaned up its handles and the
 * multi): the lb, and node DEAD revived. */
static void run_free(run *r)
{
    REQUIRE(r->multi == NULL);
    for (int i = 0; i < r->started; i++)
        curl_slist_free_all(r->reqs[i].headers);
    alt_lb_free(r->lb);
    if (r->killed)
        CMD("revive %d", DEAD);
    free(r->reqs);
    free(r);
}

/* The end of a shape, in the documented order: alt_multi_detach() while
 * the loop's callbacks still work; then every handle still there (a loop
 * that gave up leaves some in the multi) taken out, released and cleaned
 * up; then the multi (its REMOVE calls still reach the loop). */
static void teardown(run *r)
{
    alt_multi_detach(r->lb);
    for (int i = 0; i < r->started; i++) {
        req *q = &r->reqs[i];
        if (q->in_multi)
            take_out(r, q);
        if (q->easy) {
            alt_curl_release(r->lb, q->easy);
            curl_easy_cleanup(q->easy);
            q->easy = NULL;
        }
    }
    CHECK_EQ(curl_multi_cleanup(r->multi), CURLM_OK);
    r->multi = NULL;
}

/* What every shape must show: each request final exactly once, each
 * attempt's completion read once, nothing foreign, nothing failed. */
static void check_run(run *r)
{
    long long ms = r->t_end - r->t0;
    long once = 0, lost = 0, twice = 0, attempts_ok = 0, max_adds = 0;
    for (int i = 0; i < r->started; i++) {
        const req *q = &r->reqs[i];
        once += q->finals == 1;
        lost += q->finals == 0;
        twice += q->finals > 1;
        attempts_ok += q->dones == q->adds;
        if (q->adds > max_adds)
            max_adds = q->adds;
    }
    fprintf(stderr, "  %s: %d requests in %lld ms: node 1 %ld, node 2 %ld, "
            "node 3 %ld; %ld retried (at most %ld attempts for one); %ld "
            "failed; %ld reported once, %ld never, %ld more than once%s\n",
            r->name, r->started, ms, r->per_node[1], r->per_node[2],
            r->per_node[3], r->retried, max_adds, r->failed, once, lost,
            twice, r->ended ? "" : "; the loop did NOT end by itself");
    if (r->killed)
        fprintf(stderr, "  %s: node %d killed after %ld completions\n",
                r->name, DEAD, r->killed_after);
    CHECK(r->ended);
    CHECK(r->started >= 1);
    CHECK_EQ(once, r->started);
    CHECK_EQ(r->finals, r->started);
    CHECK_EQ(attempts_ok, r->started);
    CHECK_EQ(r->failed, 0);
    CHECK_EQ(r->foreign, 0);
    CHECK_EQ(r->not_done, 0);
    CHECK_EQ(r->per_node[0], 0);
}

/* A1 with node DEAD killed mid-run: all 300, the kill happened and was
 * felt (a request went to another node), the survivors carried the rest,
 * and node DEAD had its share before it died. */
static void check_failover(run *r)
{
    check_run(r);
    CHECK_EQ(r->started, NREQ);
    CHECK(r->killed);
    CHECK(r->retried >= 1);
    CHECK(r->per_node[DEAD] >= 1);
    for (int i = 1; i <= NNODES; i++)
        if (i != DEAD)
            CHECK(r->per_node[i] >= NREQ / 5);
}

/* ------------------------------------------------------------------------ */
/* multi-app.c: all transfers added, then the perform/poll loop while        */
/* still_running, then "see how the transfers went"                          */
/* ------------------------------------------------------------------------ */

static void loop_multi_app(run *r)
{
    CURLM *multi = r->multi;
    alt_lb *lb = r->lb;
    CHECK_EQ(alt_multi_attach(lb, multi), ALT_OK);

    /* Allocate one CURL handle per transfer and add them all. */
    while (more(r))
        add_transfer(r);

    int still_running = 1;
    long turns = 0;
    r->t0 = tu_now_ms();
    r->deadline = r->t0 + LOOP_MS;
    do {
        while (still_running && turns++ < MAX_TURNS
               && tu_now_ms() < r->deadline) {
            CHECK_EQ(curl_multi_perform(multi, &still_running), CURLM_OK);
            /* (the test's: node DEAD dies after ~KILL_AT completions) */
            maybe_kill(r, r->nreq - still_running);
            if (still_running)
                curl_multi_poll(multi, NULL, 0, 1000, NULL);
        }

        /* See how the transfers went. */
        CURLMsg *msg;
        int msgs_left;
        while ((msg = alt_multi_info_read(lb, &msgs_left)))
            complete(r, msg, &still_running);
    } while (still_running && turns < MAX_TURNS && tu_now_ms() < r->deadline);
    r->t_end = tu_now_ms();
    r->ended = still_running == 0 && r->t_end < r->deadline;
    teardown(r);
}

/* ------------------------------------------------------------------------ */
/* ephiperfifo.c: epoll + timerfd + curl_multi_socket_action                 */
/* ------------------------------------------------------------------------ */


typedef struct ep_global {
    int epfd;            /* epoll */
    int tfd;             /* timerfd: libcurl's timeout */
    int fifo[2];         /* the "fifo" new request ids come through */
    CURLM *multi;
    int still_running;
    run *r;
    int fed;             /* ids written into the fifo */
    long socks_open, epoll_errors, disarms;
    long kept_armed;     /* libcurl said 0 running, a retry was re-added:
                            the trap, avoided */
} ep_global;

typedef struct ep_sock {
    curl_socket_t fd;
    int action;
} ep_sock;

/* Feeds the next request id into the fifo, if any is left. */
static void ep_feed(ep_global *g)
{
    if (g->fed >= g->r->nreq)
        return;
    int id = g->fed++;
    REQUIRE(write(g->fifo[1], &id, sizeof id) == (ssize_t)sizeof id);
}

/* Completions, right after each socket_action. */
static void ep_check_multi_info(ep_global *g)
{
    run *r = g->r;
    CURLMsg *msg;
    int msgs_left;
    while ((msg = alt_multi_info_read(r->lb, &msgs_left))) {
        req *q = complete(r, msg, &g->still_running);
        if (!q)
            continue;
        drop_handle(r, q);
        ep_feed(g); /* the next URL arrives through the fifo */
    }
}

static void ep_disarm(ep_global *g)
{
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    timerfd_settime(g->tfd, 0, &its, NULL);
    g->disarms++;
}

/* The timerfd fired. */
static void ep_timer_cb(ep_global *g)
{
    uint64_t count = 0;
    if (read(g->tfd, &count, sizeof count) != (ssize_t)sizeof count
        && errno == EAGAIN)
        return;
    CHECK_EQ(curl_multi_socket_action(g->multi, CURL_SOCKET_TIMEOUT, 0,
                                      &g->still_running), CURLM_OK);
    ep_check_multi_info(g);
}

/* CURLMOPT_TIMERFUNCTION */
static int ep_multi_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    ep_global *g = userp;
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    if (timeout_ms > 0) {
        its.it_value.tv_sec = timeout_ms / 1000;
        its.it_value.tv_nsec = (timeout_ms % 1000) * 1000000L;
    } else if (timeout_ms == 0) {
        its.it_value.tv_nsec = 1; /* now; all zero would disarm */
    }
    timerfd_settime(g->tfd, 0, &its, NULL);
    return 0;
}

/* Activity on a socket libcurl watches. */
static void ep_event_cb(ep_global *g, int fd, uint32_t revents)
{
    int action = ((revents & EPOLLIN) ? CURL_CSELECT_IN : 0)
                 | ((revents & EPOLLOUT) ? CURL_CSELECT_OUT : 0)
                 | ((revents & EPOLLERR) ? CURL_CSELECT_ERR : 0);
    CURLMcode mc = curl_multi_socket_action(g->multi, fd, action,
                                            &g->still_running);
    CHECK(mc == CURLM_OK || mc == CURLM_BAD_SOCKET);
    int said = g->still_running; /* (the test's) */
    ep_check_multi_info(g);
    if (g->still_running <= 0)
        ep_disarm(g); /* "last transfer done, kill timeout" */
    else if (said <= 0)
        g->kept_armed++;
}

/* CURLMOPT_SOCKETFUNCTION */
static int ep_sock_cb(CURL *e, curl_socket_t s, int what, void *cbp,
                      void *sockp)
{
    (void)e;
    ep_global *g = cbp;
    ep_sock *f = sockp;
    if (what == CURL_POLL_REMOVE) {
        if (f) {
            /* Closed already: epoll forgot it by itself. */
            if (epoll_ctl(g->epfd, EPOLL_CTL_DEL, f->fd, NULL) != 0
                && errno != EBADF && errno != ENOENT)
                g->epoll_errors++;
            free(f);
            g->socks_open--;
        }
        return 0;
    }
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u)
                | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
    ev.data.fd = s;
    if (!f) {
        f = calloc(1, sizeof *f);
        REQUIRE(f);
        f->fd = s;
        g->socks_open++;
        curl_multi_assign(g->multi, s, f);
        if (epoll_ctl(g->epfd, EPOLL_CTL_ADD, s, &ev) != 0
            && (errno != EEXIST || epoll_ctl(g->epfd, EPOLL_CTL_MOD, s, &ev)))
            g->epoll_errors++;
    } else if (epoll_ctl(g->epfd, EPOLL_CTL_MOD, s, &ev) != 0) {
        g->epoll_errors++;
    }
    f->action = what;
    return 0;
}

/* A new easy handle for a request id that came through the fifo (ids fed
 * before a request-aware run lowered r->nreq are dropped). */
static void ep_new_conn(ep_global *g, int id)
{
    if (!more(g->r))
        return;
    CHECK_EQ(id, g->r->started);
    add_transfer(g->r);
}

/* The fifo has ids. */
static void ep_fifo_cb(ep_global *g)
{
    int id;
    while (read(g->fifo[0], &id, sizeof id) == (ssize_t)sizeof id)
        ep_new_conn(g, id);
}

/* window: URLs in the fifo or running at once (8: a burst; 1: a trickle,
 * each URL written when the previous one is done). Returns how often the
 * trap was met (see kept_armed). */
static long loop_ephiperfifo(run *r, int window)
{
    ep_global g;
    memset(&g, 0, sizeof g);
    g.r = r;
    g.multi = r->multi;
    g.epfd = epoll_create1(EPOLL_CLOEXEC);
    g.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    REQUIRE(g.epfd >= 0 && g.tfd >= 0);
    REQUIRE(pipe(g.fifo) == 0);
    REQUIRE(fcntl(g.fifo[0], F_SETFL, O_NONBLOCK) == 0);
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.fd = g.tfd;
    REQUIRE(epoll_ctl(g.epfd, EPOLL_CTL_ADD, g.tfd, &ev) == 0);
    ev.data.fd = g.fifo[0];
    REQUIRE(epoll_ctl(g.epfd, EPOLL_CTL_ADD, g.fifo[0], &ev) == 0);

    curl_multi_setopt(g.multi, CURLMOPT_SOCKETFUNCTION, ep_sock_cb);
    curl_multi_setopt(g.multi, CURLMOPT_SOCKETDATA, &g);
    curl_multi_setopt(g.multi, CURLMOPT_TIMERFUNCTION, ep_multi_timer_cb);
    curl_multi_setopt(g.multi, CURLMOPT_TIMERDATA, &g);
    CHECK_EQ(alt_multi_attach(r->lb, g.multi), ALT_OK);

    for (int i = 0; i < window; i++)
        ep_feed(&g);

    long turns = 0;
    r->t0 = tu_now_ms();
    r->deadline = r->t0 + LOOP_MS;
    while (r->finals < r->nreq && turns++ < MAX_TURNS) {
        long long left = r->deadline - tu_now_ms();
        if (left <= 0)
            break;
        struct epoll_event events[16];
        int n = epoll_wait(g.epfd, events, 16, left < 1000 ? (int)left : 1000);
        if (n < 0) {
            CHECK(errno == EINTR);
            continue;
        }
        for (int i = 0; i < n; i++) {
            if (events[i].data.fd == g.fifo[0])
                ep_fifo_cb(&g);
            else if (events[i].data.fd == g.tfd)
                ep_timer_cb(&g);
            else
                ep_event_cb(&g, events[i].data.fd, events[i].events);
        }
    }
    r->t_end = tu_now_ms();
    r->ended = r->finals >= r->nreq && r->t_end < r->deadline;
    fprintf(stderr, "  %s: timer disarmed %ld times after completions; "
            "kept armed %ld times by a retry when libcurl said 0 running\n",
            r->name, g.disarms, g.kept_armed);

    /* Teardown: detach while the callbacks still work, then the handles
     * and the multi (whose REMOVE calls still reach epoll), then the
     * loop. */
    teardown(r);
    CHECK_EQ(g.socks_open, 0);
    CHECK_EQ(g.epoll_errors, 0);
    close(g.fifo[0]);
    close(g.fifo[1]);
    close(g.tfd);
    close(g.epfd);
    return g.kept_armed;
}

/* ------------------------------------------------------------------------ */
/* multi-uv.c: libuv uv_poll + uv_timer, all transfers added before uv_run   */
/* ------------------------------------------------------------------------ */

typedef struct mu_app {
    uv_loop_t loop;
    uv_timer_t timeout;  /* libcurl's */
    uv_timer_t guard;    /* the deadline; unreferenced, so it never keeps
                            the loop alive by itself */
    CURLM *multi;
    run *r;
    int guard_fired;
    long polls_open;
    long cb_mine;        /* socket callbacks whose private is a req of ours */
    long cb_null;        /* ... whose private is NULL */
    long cb_internal;    /* ... of those, the library's transfer */
    long cb_alien;       /* non-NULL and not ours: must never happen */
} mu_app;

typedef struct curl_context {
    uv_poll_t poll_handle;
    curl_socket_t sockfd;
    mu_app *a;
} curl_context;

static void mu_check_multi_info(mu_app *a)
{
    run *r = a->r;
    CURLMsg *msg;
    int pending;
    while ((msg = alt_multi_info_read(r->lb, &pending))) {
        /* A retry running again: adding it arms the uv timer
         * (start_timeout), which is all the bookkeeping this loop has. */
        req *q = complete(r, msg, NULL);
        if (q)
            drop_handle(r, q);
    }
}

static void mu_curl_perform(uv_poll_t *p, int status, int events)
{
    curl_context *c = p->data;
    int running_handles, flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    CURLMcode mc = curl_multi_socket_action(c->a->multi, c->sockfd, flags,
                                            &running_handles);
    CHECK(mc == CURLM_OK || mc == CURLM_BAD_SOCKET);
    mu_check_multi_info(c->a);
}

static void mu_on_timeout(uv_timer_t *t)
{
    mu_app *a = t->data;
    int running_handles;
    CHECK_EQ(curl_multi_socket_action(a->multi, CURL_SOCKET_TIMEOUT, 0,
                                      &running_handles), CURLM_OK);
    mu_check_multi_info(a);
}

/* CURLMOPT_TIMERFUNCTION */
static int mu_start_timeout(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    mu_app *a = userp;
    if (timeout_ms < 0) {
        uv_timer_stop(&a->timeout);
    } else {
        if (timeout_ms == 0)
            timeout_ms = 1;
        uv_timer_start(&a->timeout, mu_on_timeout, (uint64_t)timeout_ms, 0);
    }
    return 0;
}

static void mu_close_cb(uv_handle_t *h)
{
    free(h->data);
}

/* CURLMOPT_SOCKETFUNCTION. Like many programs, it looks at the transfer's
 * CURLINFO_PRIVATE and dereferences it as its own struct when it is not
 * NULL. The library's /localnodes transfer has a NULL private pointer
 * (header: alt_multi_attach), and so do libcurl's internal handles; any
 * non-NULL pointer must be one of ours (checked before it is used). */
static int mu_handle_socket(CURL *easy, curl_socket_t s, int action,
                            void *userp, void *socketp)
{
    mu_app *a = userp;
    char *priv = NULL;
    if (easy)
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    if (priv) {
        req *q = req_of(a->r, easy);
        if (q) {
            q->sock_calls++;
            a->cb_mine++;
        } else if (a->cb_alien++ < 3) {
            fprintf(stderr, "  socket callback: private %p of handle %p is "
                    "not the caller's\n", (void *)priv, (void *)easy);
        }
    } else {
        a->cb_null++;
        if (easy && alt_multi_is_internal(a->r->lb, easy))
            a->cb_internal++;
    }

    curl_context *c = socketp;
    switch (action) {
    case CURL_POLL_IN:
    case CURL_POLL_OUT:
    case CURL_POLL_INOUT: {
        if (!c) {
            c = calloc(1, sizeof *c);
            REQUIRE(c);
            c->sockfd = s;
            c->a = a;
            REQUIRE(uv_poll_init_socket(&a->loop, &c->poll_handle, s) == 0);
            c->poll_handle.data = c;
            a->polls_open++;
        }
        curl_multi_assign(a->multi, s, c);
        int events = 0;
        if (action != CURL_POLL_IN)
            events |= UV_WRITABLE;
        if (action != CURL_POLL_OUT)
            events |= UV_READABLE;
        CHECK_EQ(uv_poll_start(&c->poll_handle, events, mu_curl_perform), 0);
        break;
    }
    case CURL_POLL_REMOVE:
        if (c) {
            uv_poll_stop(&c->poll_handle);
            uv_close((uv_handle_t *)&c->poll_handle, mu_close_cb);
            curl_multi_assign(a->multi, s, NULL);
            a->polls_open--;
        }
        break;
    default:
        CHECK(0);
    }
    return 0;
}

static void mu_on_guard(uv_timer_t *t)
{
    mu_app *a = t->data;
    a->guard_fired = 1;
    uv_stop(&a->loop);
}

static void mu_close_left(uv_handle_t *h, void *arg)
{
    long *stray = arg;
    if (uv_is_closing(h))
        return;
    if (uv_handle_get_type(h) == UV_POLL) {
        (*stray)++;
        uv_close(h, mu_close_cb);
    } else {
        uv_close(h, NULL);
    }
}

/* Returns the app (for its socket-callback counts); free it. */
static mu_app *loop_uv(run *r)
{
    mu_app *a = calloc(1, sizeof *a);
    REQUIRE(a);
    a->r = r;
    a->multi = r->multi;
    REQUIRE(uv_loop_init(&a->loop) == 0);
    uv_timer_init(&a->loop, &a->timeout);
    uv_timer_init(&a->loop, &a->guard);
    a->timeout.data = a;
    a->guard.data = a;
    curl_multi_setopt(a->multi, CURLMOPT_SOCKETFUNCTION, mu_handle_socket);
    curl_multi_setopt(a->multi, CURLMOPT_SOCKETDATA, a);
    curl_multi_setopt(a->multi, CURLMOPT_TIMERFUNCTION, mu_start_timeout);
    curl_multi_setopt(a->multi, CURLMOPT_TIMERDATA, a);
    CHECK_EQ(alt_multi_attach(r->lb, a->multi), ALT_OK);

    /* add_download() for every request, before the loop runs. */
    while (more(r))
        add_transfer(r);

    r->t0 = tu_now_ms();
    r->deadline = r->t0 + LOOP_MS;
    uv_timer_start(&a->guard, mu_on_guard, LOOP_MS, 0);
    uv_unref((uv_handle_t *)&a->guard);
    uv_run(&a->loop, UV_RUN_DEFAULT); /* returns when nothing is active */
    r->t_end = tu_now_ms();
    r->ended = !a->guard_fired;
    uv_timer_stop(&a->guard);

    teardown(r);
    CHECK_EQ(a->polls_open, 0);
    long stray = 0;
    uv_walk(&a->loop, mu_close_left, &stray);
    CHECK_EQ(stray, 0);
    uv_run(&a->loop, UV_RUN_DEFAULT);
    CHECK_EQ(uv_loop_close(&a->loop), 0);
    fprintf(stderr, "  %s: socket callbacks: %ld with a private of ours, %ld "
            "NULL (%ld of them the library's transfer), %ld other\n",
            r->name, a->cb_mine, a->cb_null, a->cb_internal, a->cb_alien);
    CHECK_EQ(a->cb_alien, 0);
    CHECK(a->cb_mine >= 1);
    return a;
}

/* ------------------------------------------------------------------------ */
/* multi-poll.c: a curl_multi_poll loop that reads completions every turn    */
/* ------------------------------------------------------------------------ */

#define POLL_WINDOW 8

/* Runs r's requests POLL_WINDOW at a time on POLL_WINDOW reused handles;
 * run_ms > 0: no new request after that long. */
static void loop_poll(run *r, long run_ms)
{
    CURLM *multi = r->multi;
    alt_lb *lb = r->lb;
    CURL *handles[POLL_WINDOW];
    CHECK_EQ(alt_multi_attach(lb, multi), ALT_OK);

    r->t0 = tu_now_ms();
    r->deadline = r->t0 + LOOP_MS + run_ms;
    int still_running = 0;
    for (int i = 0; i < POLL_WINDOW; i++) {
        handles[i] = curl_easy_init();
        REQUIRE(handles[i]);
        if (more(r)) {
            add(r, req_start(r, handles[i]));
            still_running++;
        }
    }
    long turns = 0;
    while (still_running && turns++ < MAX_TURNS
           && tu_now_ms() < r->deadline) {
        CHECK_EQ(curl_multi_perform(multi, &still_running), CURLM_OK);
        CURLMsg *msg;
        int msgs_left;
        while ((msg = alt_multi_info_read(lb, &msgs_left))) {
            req *q = complete(r, msg, &still_running);
            if (!q)
                continue;
            CURL *e = q->easy;
            q->easy = NULL; /* the handle goes on with the next request */
            if (more(r) && (run_ms <= 0 || tu_now_ms() < r->t0 + run_ms)) {
                add(r, req_start(r, e));
                still_running++;
            }
        }
        if (still_running)
            curl_multi_poll(multi, NULL, 0, 1000, NULL);
    }
    r->t_end = tu_now_ms();
    r->ended = still_running == 0 && r->t_end < r->deadline;

    /* The handles are the loop's, not the requests': cleaned up here. */
    for (int i = 0; i < r->started; i++)
        if (!r->reqs[i].in_multi)
            r->reqs[i].easy = NULL;
    alt_multi_detach(lb);
    for (int i = 0; i < r->started; i++)
        if (r->reqs[i].in_multi) {
            take_out(r, &r->reqs[i]);
            r->reqs[i].easy = NULL;
        }
    for (int i = 0; i < POLL_WINDOW; i++) {
        alt_curl_release(lb, handles[i]);
        curl_easy_cleanup(handles[i]);
    }
    teardown(r);
}

/* ------------------------------------------------------------------------ */
/* 10-at-a-time.c: a window of 10, a new easy handle per transfer            */
/* ------------------------------------------------------------------------ */

#define MAX_PARALLEL 10

static void loop_ten_at_a_time(run *r)
{
    CURLM *cm = r->multi;
    alt_lb *lb = r->lb;
    /* Limit the number of connections kept: through the library, which
     * sizes the pool and would otherwise replace the option (header:
     * alt_lb_set_maxconnects). */
    CHECK_EQ(alt_lb_set_maxconnects(lb, MAX_PARALLEL), ALT_OK);
    CHECK_EQ(alt_multi_attach(lb, cm), ALT_OK);

    int transfers, still_alive = 1, msgs_left = -1;
    for (transfers = 0; transfers < MAX_PARALLEL; transfers++)
        add_transfer(r);

    long turns = 0;
    r->t0 = tu_now_ms();
    r->deadline = r->t0 + LOOP_MS;
    do {
        CHECK_EQ(curl_multi_perform(cm, &still_alive), CURLM_OK);
        CURLMsg *msg;
        while ((msg = alt_multi_info_read(lb, &msgs_left))) {
            long retried = r->retried;
            req *q = complete(r, msg, &still_alive);
            if (q)
                drop_handle(r, q);
            else if (r->retried != retried)
                continue; /* running again: no new transfer for it */
            if (transfers < r->nreq) {
                add_transfer(r);
                transfers++;
                /* Counted, or the example's loop would end with this last
                 * transfer never run when perform had just said 0. */
                still_alive++;
            }
        }
        if (still_alive)
            curl_multi_wait(cm, NULL, 0, 1000, NULL);
    } while ((still_alive || transfers < r->nreq) && turns++ < MAX_TURNS
             && tu_now_ms() < r->deadline);
    r->t_end = tu_now_ms();
    r->ended = !still_alive && transfers == r->nreq && r->t_end < r->deadline;
    teardown(r);
}

/* ------------------------------------------------------------------------ */
/* A1: every shape, node 2 killed after ~100 completions                     */
/* ------------------------------------------------------------------------ */

static void a1_multi_app(void)
{
    run *r = run_new("multi-app", NREQ, KILL_AT, 1);
    loop_multi_app(r);
    check_failover(r);
    run_free(r);
}

/* 8 URLs at once, a new one as each is done. */
static void a1_ephiperfifo(void)
{
    run *r = run_new("ephiperfifo", NREQ, KILL_AT, 1);
    loop_ephiperfifo(r, 8);
    check_failover(r);
    run_free(r);
}

/* One URL at a time, as a person feeding the fifo: every transfer runs
 * alone, so the first one that fails after node 2's death is read when
 * libcurl says nothing runs, and the timer is disarmed right after, unless
 * the retry counted itself as running. The refresh interval is long, so
 * that node 2 stays in the rotation until a request finds it dead. */
static void a1_ephiperfifo_trickle(void)
{
    run *r = run_new("ephiperfifo, one at a time", NREQ, KILL_AT, 1);
    REQUIRE(alt_lb_set_refresh_interval(r->lb, 60000, 60000) == ALT_OK);
    long trap = loop_ephiperfifo(r, 1);
    check_failover(r);
    CHECK(trap >= 1);
    run_free(r);
}

static void a1_multi_uv(void)
{
    run *r = run_new("multi-uv", NREQ, KILL_AT, 1);
    /* Refreshes every 50 ms while requests flow, and one right after
     * node 2's failure: the library's transfer runs through the socket
     * callback while the caller's do. */
    REQUIRE(alt_lb_set_refresh_interval(r->lb, 50, 60000) == ALT_OK);
    mu_app *a = loop_uv(r);
    check_failover(r);
    CHECK(a->cb_internal >= 1);
    free(a);
    run_free(r);
}

static void a1_multi_poll(void)
{
    run *r = run_new("multi-poll", NREQ, KILL_AT, 1);
    loop_poll(r, 0);
    check_failover(r);
    run_free(r);
}

static void a1_ten_at_a_time(void)
{
    run *r = run_new("10-at-a-time", NREQ, KILL_AT, 1);
    loop_ten_at_a_time(r);
    check_failover(r);
    /* The pool of 10 was not lowered: with 10 transfers at once over 3
     * nodes, connections are reused, so the nodes accept at most 10 each
     * (the survivors carry the rest), plus the discoveries'. Had the pool
     * been cut to 4, about 6 connections would close per round of 10. */
    long conns = tu_stat_sum(cl, NNODES, "conns");
    fprintf(stderr, "  10-at-a-time: %ld connections accepted by the nodes "
            "(at most %d x %d + 5)\n", conns, NNODES, MAX_PARALLEL);
    CHECK(conns <= NNODES * MAX_PARALLEL + 5);
    run_free(r);
}

/* ------------------------------------------------------------------------ */
/* A2: two of three nodes refuse connections                                 */
/* ------------------------------------------------------------------------ */

#define A2_MS 1500 /* past the first back-off (1 s): trials of the dead */
#define A2_MAX 10000

static void a2_two_dead_nodes(void)
{
    /* Every /localnodes answer lists all three, so that only failures,
     * never a refresh, take the dead ones out. */
    for (int i = 1; i <= NNODES; i++)
        CMD("localnodes %d [\"127.0.0.1\",\"127.0.0.2\",\"127.0.0.3\"]", i);

    /* Multi mode: the multi-poll loop for A2_MS. */
    run *r = run_new("multi, 2 of 3 dead", A2_MAX, -1, 1);
    CMD("kill 2");
    CMD("kill 3");
    loop_poll(r, A2_MS);
    check_run(r);
    long by_attempts[4] = {0, 0, 0, 0};
    for (int i = 0; i < r->started; i++) {
        int n = r->reqs[i].adds;
        by_attempts[n < 3 ? n : 3]++;
    }
    fprintf(stderr, "  multi: %d requests, %ld failed, all answered by node "
            "1: %ld; answered at attempt 1: %ld, 2: %ld, 3 or more: %ld\n",
            r->started, r->failed, r->per_node[1], by_attempts[1],
            by_attempts[2], by_attempts[3]);
    CHECK(r->started >= 50);
    CHECK_EQ(r->per_node[1], r->started);
    CHECK(r->retried >= 1);
    run_free(r);

    /* Easy mode agrees: alt_curl_perform() on one handle. */
    alt_lb *lb = tu_lb(tc_port(cl), SEED, 1);
    CHECK_EQ(alt_lb_refresh(lb), ALT_OK);
    CHECK_EQ(alt_lb_nodes(lb, NULL, 0), NNODES);
    CURL *e = curl_easy_init();
    REQUIRE(e);
    long n = 0, ok = 0, node1 = 0;
    long long t0 = tu_now_ms();
    while (n < A2_MAX && tu_now_ms() < t0 + A2_MS) {
        tu_reply reply;
        struct curl_slist *h;
        tu_setup_api(e, alt_lb_url(lb), "ListTables", "{}", &reply, &h);
        CURLcode rc = alt_curl_perform(lb, e);
        tu_collect(e, &reply);
        curl_slist_free_all(h);
        n++;
        if (rc == CURLE_OK && reply.status == 200)
            ok++;
        else if (n - ok <= 3)
            fprintf(stderr, "  easy: request %ld failed: %s, HTTP %ld\n", n,
                    curl_easy_strerror(rc), reply.status);
        node1 += tu_node_index(reply.ip) == 1;
    }
    fprintf(stderr, "  easy: %ld requests in %lld ms, %ld succeeded, %ld "
            "answered by node 1\n", n, tu_now_ms() - t0, ok, node1);
    CHECK(n >= 50);
    CHECK_EQ(ok, n);
    CHECK_EQ(node1, n);
    alt_curl_release(lb, e);
    curl_easy_cleanup(e);
    alt_lb_free(lb);

    CMD("revive 2");
    CMD("revive 3");
    for (int i = 1; i <= NNODES; i++)
        CMD("localnodes %d default", i);
}

/* ------------------------------------------------------------------------ */
/* A5: cold start                                                            */
/* ------------------------------------------------------------------------ */

/* With the documented startup, each node gets a third (+-10%); without
 * it, the seed gets everything (documented: requests prepared before the
 * first discovery go to the seeds). */
static void check_spread(run *r, int refreshed)
{
    check_run(r);
    CHECK_EQ(r->started, NREQ);
    long api[NNODES + 1];
    for (int i = 1; i <= NNODES; i++)
        api[i] = tc_stat(cl, i, "api");
    fprintf(stderr, "  %s, %s alt_lb_refresh first: API requests received "
            "per node %ld/%ld/%ld; /localnodes %ld\n", r->name,
            refreshed ? "with" : "WITHOUT", api[1], api[2], api[3],
            tu_stat_sum(cl, NNODES, "localnodes"));
    for (int i = 1; i <= NNODES; i++) {
        CHECK_EQ(api[i], r->per_node[i]);
        if (refreshed) {
            CHECK(r->per_node[i] >= NREQ / 3 - NREQ / 30);
            CHECK(r->per_node[i] <= NREQ / 3 + NREQ / 30);
        } else {
            CHECK_EQ(r->per_node[i], i == SEED ? NREQ : 0);
        }
    }
}

/* The request-aware runs: all reported once, none failed, the key learnt
 * in the loop, and every request prepared after that on the key's node. */
static void check_request_aware(run *r)
{
    check_run(r);
    long keyed = 0, on_node = 0;
    for (int i = 0; i < r->started; i++) {
        keyed += r->reqs[i].keyed;
        on_node += r->reqs[i].keyed && r->reqs[i].node == KEY_NODE;
    }
    fprintf(stderr, "  %s, request-aware: %ld requests before the key was "
            "known%s; %ld prepared after, %ld of them on node %d\n",
            r->name, r->started - keyed,
            key_known(r->lb) ? "" : " (NOT learnt)", keyed, on_node,
            KEY_NODE);
    CHECK(key_known(r->lb));
    CHECK_EQ(keyed, KEYED);
    CHECK_EQ(on_node, keyed);
}

static run *request_run(const char *name)
{
    run *r = run_new(name, 20 * NREQ, -1, 1);
    r->request_aware = 1;
    /* Refreshes (and so DescribeTable) every 50 ms while requests flow. */
    REQUIRE(alt_lb_set_refresh_interval(r->lb, 50, 60000) == ALT_OK);
    return r;
}

static void a6_request_ephiperfifo(void)
{
    run *r = request_run("ephiperfifo");
    loop_ephiperfifo(r, 8);
    check_request_aware(r);
    run_free(r);
}

static void a6_request_multi_poll(void)
{
    run *r = request_run("multi-poll");
    loop_poll(r, 0);
    check_request_aware(r);
    run_free(r);
}

static void a6_request_ten_at_a_time(void)
{
    run *r = request_run("10-at-a-time");
    loop_ten_at_a_time(r);
    check_request_aware(r);
    run_free(r);
}

static void create_table(void)
{
    tu_reply rep;
    REQUIRE(tu_plain_call(tc_port(cl), "CreateTable",
                          "{\"TableName\":\"" TABLE "\",\"KeySchema\":[{"
                          "\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}],"
                          "\"AttributeDefinitions\":[{\"AttributeName\":\"pk\","
                          "\"AttributeType\":\"S\"}],"
                          "\"BillingMode\":\"PAY_PER_REQUEST\"}", &rep)
            == CURLE_OK);
    REQUIRE(rep.status == 200);
    long long deadline = tu_now_ms() + 10000;
    while (tu_now_ms() < deadline) {
        REQUIRE(tu_plain_call(tc_port(cl), "DescribeTable",
                              "{\"TableName\":\"" TABLE "\"}", &rep)
                == CURLE_OK);
        if (strstr(rep.body, "\"TableStatus\":\"ACTIVE\""))
            return;
        tu_sleep_ms(50);
    }
    REQUIRE(!"table never became ACTIVE");
}

static void a5_cold_start_multi_app(void)
{
    for (int refresh = 1; refresh >= 0; refresh--) {
        run *r = run_new("multi-app", NREQ, -1, refresh);
        loop_multi_app(r);
        check_spread(r, refresh);
        run_free(r);
    }
}

static void a5_cold_start_multi_uv(void)
{
    for (int refresh = 1; refresh >= 0; refresh--) {
        run *r = run_new("multi-uv", NREQ, -1, refresh);
        free(loop_uv(r));
        check_spread(r, refresh);
        run_free(r);
    }
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    cl = tu_cluster("--nodes 3");
    long long t0 = tu_now_ms();
    RUN(a1_multi_app);
    RUN(a1_ephiperfifo);
    RUN(a1_ephiperfifo_trickle);
    RUN(a1_multi_uv);
    RUN(a1_multi_poll);
    RUN(a1_ten_at_a_time);
    RUN(a2_two_dead_nodes);
    RUN(a5_cold_start_multi_app);
    RUN(a5_cold_start_multi_uv);
    create_table();
    RUN(a6_request_ephiperfifo);
    RUN(a6_request_multi_poll);
    RUN(a6_request_ten_at_a_time);
    fprintf(stderr, "  all in %lld ms\n", tu_now_ms() - t0);
    tc_stop(cl);
    curl_global_cleanup();
    return tu_finish();
}
