/*
 * The library's own /localnodes transfer inside the caller's multi is a
 * good citizen (issue 7, A3), and several alt_lb share one multi (A4).
 * Against an 8-node local cluster, with the caller's loop written like
 * curl's ephiperfifo.c (curl_multi_socket_action on epoll, a socket and a
 * timer callback):
 *
 *  - socket_callback_private: every easy handle the socket callback is
 *    called for has a CURLINFO_PRIVATE that is the caller's slot, or NULL:
 *    the library's transfer (alt_multi_is_internal() says 1) or libcurl's
 *    own connection-closing handle; the library's transfer does show up;
 *  - attach_adds_nothing: alt_multi_attach() adds no transfer and calls no
 *    callback; a loop with nothing of the caller's running adds none
 *    either; the first alt_curl_prepare() brings the first discovery in
 *    (running counts come from curl_multi_socket_action: calling
 *    curl_multi_perform in this loop loses sockets with libcurl 8.21);
 *  - teardown_idle: with no refresh in flight, alt_multi_detach() and
 *    alt_lb_free() call no callback of the caller's; a program that
 *    attaches and leaves before any request may free its loop first;
 *  - teardown_refresh_in_flight: with a refresh hanging on its node,
 *    alt_multi_detach() takes it out (and may call the callbacks); after it
 *    no callback fires again, also when the structure the callbacks use is
 *    gone before alt_lb_free() and curl_multi_cleanup() (hiperfifo's order);
 *  - maxconnects_floor / _floor_mixed / _raised: the pool size a program
 *    asks for with alt_lb_set_maxconnects() holds (connections accepted by
 *    the nodes stay at the concurrency, rounds of 10 at a time on one node,
 *    also when most transfers in the multi are not the library's), and
 *    with 8 nodes the library raises the pool to nodes x transfers;
 *  - two_lb_one_multi_read_a / _alternate: two alt_lb over disjoint halves
 *    of the cluster in one multi, completions read through one of them or
 *    both in turn: every transfer of the caller's comes back once, none of
 *    the libraries', both keep refreshing, each lb's requests land on its
 *    own nodes only.
 */
#include "testutil.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define NNODES 8
#define MAXSLOTS 16
#define MAGIC 0xc171e2e2u
#define PLAIN 2                 /* a slot of the caller's own, not via lb */

static tc_cluster *cl;

/* ------------------------------------------------------------------------ */
/* The caller: slots of ListTables requests, an epoll socket_action loop     */
/* ------------------------------------------------------------------------ */

typedef struct slot {
    unsigned magic;             /* CURLINFO_PRIVATE points here */
    int lbi;                    /* which alt_lb prepares it; PLAIN: none */
    CURL *easy;
    struct curl_slist *headers;
    tu_reply reply;
    int busy;
} slot;

typedef struct caller {
    CURLM *multi;
    int epfd;
    long long timer_at;         /* tu_now_ms() deadline, -1: none */
    int running;                /* last count from libcurl */
    int poisoned;               /* the callbacks' structures are "freed" */
    int attached;               /* lb[0] is attached to multi */
    int plain;                  /* no lb attached: curl_multi_info_read */
    int rounds;                 /* start requests in rounds (top_up) */
    int round_started;          /* slots started in this round */
    long stagger_ms;            /* between two starts of a round */
    long long next_start;       /* tu_now_ms() of the next start */
    long timer_calls, socket_calls, poisoned_calls;
    long slot_calls;            /* socket callbacks for a caller's handle */
    long internal_calls;        /* ... for the library's transfer */
    long libcurl_calls;         /* ... private NULL and not the library's */
    long bad_private;           /* private neither NULL nor a slot, or the
                                   library's transfer with a non-NULL one */
    long slot_internal;         /* a caller's handle said to be internal */
    long epoll_errors;
    CURL *internal_easy;        /* the library's transfer, once seen */
    alt_lb *lb[3];              /* [PLAIN]: NULL */
    int nlb;
    char plain_url[64];         /* what PLAIN slots GET */
    slot slots[MAXSLOTS];
    int nslots;
    long budget[2];             /* requests still to start, per lb */
    long added[3], done[3], ok200[3];
    long retried, foreign, not_done;
    long per_node[3][256];      /* answers by 127.0.0.<i>, per lb */
} caller;

static void classify(caller *c, CURL *easy)
{
    if (!easy) {
        c->libcurl_calls++;
        return;
    }
    char *priv = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    int internal = c->attached && alt_multi_is_internal(c->lb[0], easy);
    slot *s = NULL;
    for (int i = 0; i < c->nslots; i++)
        if ((char *)&c->slots[i] == priv && c->slots[i].easy == easy
            && c->slots[i].magic == MAGIC)
            s = &c->slots[i];
    if (internal) {
        c->internal_calls++;
        c->internal_easy = easy;
        if (priv)
            c->bad_private++;
        if (s)
            c->slot_internal++;
    } else if (s) {
        c->slot_calls++;
    } else if (!priv) {
        c->libcurl_calls++;     /* libcurl's own handle closing a connection */
    } else {
        c->bad_private++;       /* a program would dereference this */
    }
}

/* CURLMOPT_SOCKETFUNCTION: look at the handle, keep epoll in step. */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp,
                     void *socketp)
{
    (void)socketp;
    caller *c = userp;
    if (c->poisoned) {
        c->poisoned_calls++;
        return 0;
    }
    c->socket_calls++;
    classify(c, easy);
    if (tu_epoll_watch(c->epfd, s, what) != 0)
        c->epoll_errors++;
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: remember the deadline; the loop serves it. */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    caller *c = userp;
    if (c->poisoned) {
        c->poisoned_calls++;
        return 0;
    }
    c->timer_calls++;
    c->timer_at = timeout_ms < 0 ? -1 : tu_now_ms() + timeout_ms;
    return 0;
}

/* A multi with the callbacks, and nslots slots split over the lbs (slot i
 * belongs to lb i % nlb). Attaches nothing. */
static void caller_init(caller *c, alt_lb *a, alt_lb *b, int nslots)
{
    memset(c, 0, sizeof *c);
    REQUIRE(nslots >= 1 && nslots <= MAXSLOTS);
    c->timer_at = -1;
    c->epfd = epoll_create1(EPOLL_CLOEXEC);
    REQUIRE(c->epfd >= 0);
    c->multi = curl_multi_init();
    REQUIRE(c->multi);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    c->lb[0] = a;
    c->lb[1] = b;
    c->nlb = b ? 2 : 1;
    c->nslots = nslots;
    for (int i = 0; i < nslots; i++) {
        c->slots[i].magic = MAGIC;
        c->slots[i].lbi = i % c->nlb;
        c->slots[i].easy = curl_easy_init();
        REQUIRE(c->slots[i].easy);
    }
}

static void attach_all(caller *c)
{
    for (int i = 0; i < c->nlb; i++)
        CHECK_EQ(alt_multi_attach(c->lb[i], c->multi), ALT_OK);
    c->attached = 1;
}

/* attach: attach_all(); else no lb in the multi, completions read with
 * curl_multi_info_read(). */
static void attach_or_plain(caller *c, int attach)
{
    if (attach)
        attach_all(c);
    else
        c->plain = 1;
}

static void start(caller *c, slot *s)
{
    if (s->lbi == PLAIN) {
        tu_setup_api(s->easy, c->plain_url, "ListTables", "{}", &s->reply,
                     &s->headers);
        curl_easy_setopt(s->easy, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
        CHECK_EQ(curl_multi_add_handle(c->multi, s->easy), CURLM_OK);
        s->busy = 1;
        c->added[PLAIN]++;
        return;
    }
    alt_lb *lb = c->lb[s->lbi];
    tu_setup_api(s->easy, alt_lb_url(lb), "ListTables", "{}", &s->reply,
                 &s->headers);
    curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
    CHECK_EQ(alt_curl_prepare_ex(lb, s->easy, ALT_IDEMPOTENT), ALT_OK);
    CHECK_EQ(curl_multi_add_handle(c->multi, s->easy), CURLM_OK);
    s->busy = 1;
    c->added[s->lbi]++;
}

static int in_flight(const caller *c)
{
    int n = 0;
    for (int i = 0; i < c->nslots; i++)
        n += c->slots[i].busy;
    return n;
}

static void top_up(caller *c)
{
    if (c->rounds) {
        /* Rounds: the slots are started in order, one every stagger_ms,
         * and the next round begins when the whole round is back. */
        if (c->round_started == c->nslots) {
            if (in_flight(c) > 0)
                return;
            c->round_started = 0;
        }
        long long now = tu_now_ms();
        while (c->round_started < c->nslots && c->budget[0] > 0
               && now >= c->next_start) {
            c->budget[0]--;
            start(c, &c->slots[c->round_started++]);
            c->next_start = now + c->stagger_ms;
            if (c->stagger_ms)
                break;
        }
        return;
    }
    for (int i = 0; i < c->nslots; i++) {
        slot *s = &c->slots[i];
        if (!s->busy && c->budget[s->lbi] > 0) {
            c->budget[s->lbi]--;
            start(c, s);
        }
    }
}

static slot *slot_of(caller *c, CURL *easy)
{
    char *priv = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    for (int i = 0; i < c->nslots; i++) {
        slot *s = &c->slots[i];
        if ((char *)s == priv && s->easy == easy && s->busy
            && s->magic == MAGIC)
            return s;
    }
    fprintf(stderr, "  foreign message: handle %p private %p\n",
            (void *)easy, (void *)priv);
    return NULL;
}

/* Reads every completion there is, through lb[li]. */
static void read_done(caller *c, int li)
{
    CURLMsg *m;
    int left;
    for (;;) {
        m = c->plain ? curl_multi_info_read(c->multi, &left)
                     : alt_multi_info_read(c->lb[li], &left);
        if (!m)
            break;
        slot *s = slot_of(c, m->easy_handle);
        if (!s) {
            c->foreign++;
            continue;
        }
        if (m->msg != CURLMSG_DONE) {
            c->not_done++;
            continue;
        }
        CURLcode result = m->data.result;
        alt_lb *lb = c->lb[s->lbi];
        curl_multi_remove_handle(c->multi, s->easy);
        if (lb && alt_curl_retry(lb, s->easy, result)) {
            REQUIRE(curl_multi_add_handle(c->multi, s->easy) == CURLM_OK);
            c->retried++;
            continue;
        }
        tu_collect(s->easy, &s->reply);
        curl_slist_free_all(s->headers);
        s->headers = NULL;
        s->busy = 0;
        c->done[s->lbi]++;
        if (result == CURLE_OK && s->reply.status == 200)
            c->ok200[s->lbi]++;
        else
            fprintf(stderr, "  request failed: %s, HTTP %ld\n",
                    curl_easy_strerror(result), s->reply.status);
        int idx = tu_node_index(s->reply.ip);
        c->per_node[s->lbi][idx >= 1 && idx <= 255 ? idx : 0]++;
    }
}

/* One turn: wait (at most cap ms) for a socket or the timer, tell libcurl,
 * read completions through lb[li], start requests while budgets last. */
static void turn(caller *c, int li, int cap)
{
    int wait = cap;
    if (c->timer_at >= 0) {
        long long left = c->timer_at - tu_now_ms();
        wait = left < 0 ? 0 : left < cap ? (int)left : cap;
    }
    struct epoll_event evs[32];
    int n = epoll_wait(c->epfd, evs, 32, wait);
    if (n < 0 && errno != EINTR)
        c->epoll_errors++;
    for (int i = 0; i < n; i++)
        CHECK_EQ(curl_multi_socket_action(c->multi, evs[i].data.fd,
                                          tu_epoll_select(evs[i].events),
                                          &c->running), CURLM_OK);
    if (c->timer_at >= 0 && tu_now_ms() >= c->timer_at) {
        c->timer_at = -1;
        CHECK_EQ(curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0,
                                          &c->running), CURLM_OK);
    }
    read_done(c, li);
    top_up(c);
}

/* Runs until the budgets are spent and nothing of the caller's runs
 * (bounded by max_ms); reads through lb[0], or both in turn. */
static void run_all(caller *c, int alternate, long max_ms)
{
    long long deadline = tu_now_ms() + max_ms;
    int k = 0;
    top_up(c);
    while ((c->budget[0] > 0 || c->budget[1] > 0 || in_flight(c) > 0)
           && tu_now_ms() < deadline)
        turn(c, alternate ? (k++ & 1) : 0, c->stagger_ms ? 1 : 20);
    CHECK_EQ(c->budget[0] + c->budget[1], 0);
    CHECK_EQ(in_flight(c), 0);
}

/* Turns the loop, starting nothing, until libcurl runs no transfer at all
 * (bounded by max_ms); returns whether it got there. */
static int settle(caller *c, long max_ms)
{
    long long deadline = tu_now_ms() + max_ms;
    for (;;) {
        c->running = -1;
        CHECK_EQ(curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0,
                                          &c->running), CURLM_OK);
        read_done(c, 0);
        if (c->running == 0 && in_flight(c) == 0)
            return 1;
        if (tu_now_ms() >= deadline)
            return 0;
        turn(c, 0, 20);
    }
}

static void caller_free_slots(caller *c)
{
    for (int i = 0; i < c->nslots; i++) {
        slot *s = &c->slots[i];
        if (s->busy)
            curl_multi_remove_handle(c->multi, s->easy);
        if (s->lbi != PLAIN)
            alt_curl_release(c->lb[s->lbi], s->easy);
        curl_slist_free_all(s->headers);
        curl_easy_cleanup(s->easy);
    }
    memset(c->slots, 0, sizeof c->slots);
    c->nslots = 0;
}

static void print_callbacks(const caller *c, const char *when)
{
    fprintf(stderr, "  %s: %ld timer, %ld socket callbacks (%ld for the "
            "caller's handles, %ld for the library's transfer, %ld for "
            "libcurl's own handle, %ld with a foreign private pointer)\n",
            when, c->timer_calls, c->socket_calls, c->slot_calls,
            c->internal_calls, c->libcurl_calls, c->bad_private);
}

/* A timeout action outside the loop (checked): how many transfers libcurl
 * says run. */
static int running_now(caller *c)
{
    int running = -1;
    CHECK_EQ(curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0,
                                      &running), CURLM_OK);
    return running;
}

/* The end, in the documented order: every lb detached (if attached), the
 * slots, the lbs, the multi, then the loop. */
static void caller_end(caller *c)
{
    if (c->attached)
        for (int i = 0; i < c->nlb; i++)
            alt_multi_detach(c->lb[i]);
    c->attached = 0;
    caller_free_slots(c);
    for (int i = 0; i < c->nlb; i++)
        alt_lb_free(c->lb[i]);
    CHECK_EQ(curl_multi_cleanup(c->multi), CURLM_OK);
    close(c->epfd);
}

/* ------------------------------------------------------------------------ */
/* The cluster                                                               */
/* ------------------------------------------------------------------------ */

/* Zero counters; every node answers /localnodes normally and is not hung. */
static void reset_cluster(void)
{
    REQUIRE(tc_cmd(cl, NULL, 0, "reset") == 0);
    for (int i = 1; i <= NNODES; i++) {
        REQUIRE(tc_cmd(cl, NULL, 0, "localnodes %d default", i) == 0);
        REQUIRE(tc_cmd(cl, NULL, 0, "unhang %d", i) == 0);
        REQUIRE(tc_cmd(cl, NULL, 0, "slow %d 0", i) == 0);
    }
}

/* A counter summed over nodes first..last. */
static long stat_range(int first, int last, const char *what)
{
    return tu_stat_range(cl, first, last, what);
}

/* A clean cluster, an lb seeded with node 1 that refreshes every active_ms
 * while requests flow, and a caller with nslots slots for it (nothing
 * attached). */
static alt_lb *lb_and_caller(caller *c, long active_ms, int nslots)
{
    reset_cluster();
    alt_lb *lb = tu_lb(tc_port(cl), 1, 1);
    REQUIRE(alt_lb_set_refresh_interval(lb, active_ms, 60000) == ALT_OK);
    caller_init(c, lb, NULL, nslots);
    return lb;
}

/* Prints the callbacks since timer0/socket0 were read (what: what ran
 * meanwhile) and checks that there were none. */
static void check_no_callbacks(const caller *c, long timer0, long socket0,
                               const char *what)
{
    fprintf(stderr, "  %s: %ld timer, %ld socket callbacks\n", what,
            c->timer_calls - timer0, c->socket_calls - socket0);
    CHECK_EQ(c->timer_calls, timer0);
    CHECK_EQ(c->socket_calls, socket0);
}

/* ------------------------------------------------------------------------ */
/* A3: the library's transfer in the caller's socket callback                */
/* ------------------------------------------------------------------------ */

static void socket_callback_private(void)
{
    caller c;
    alt_lb *lb = lb_and_caller(&c, 20, 4);
    attach_all(&c);
    c.budget[0] = 300;
    run_all(&c, 0, 15000);
    long ln = stat_range(1, NNODES, "localnodes");
    print_callbacks(&c, "300 requests");
    fprintf(stderr, "  %ld /localnodes, %ld of 300 answered 200\n", ln,
            c.ok200[0]);
    CHECK_EQ(c.ok200[0], 300);
    CHECK_EQ(c.done[0], c.added[0]);
    CHECK_EQ(c.foreign, 0);
    CHECK(ln >= 2);
    /* The library's transfer went through the socket callback, with a NULL
     * private pointer; the caller's handles never passed for it. */
    CHECK(c.internal_calls >= 1);
    CHECK_EQ(c.bad_private, 0);
    CHECK_EQ(c.slot_internal, 0);
    CHECK(c.slot_calls >= 300);
    CHECK_EQ(c.epoll_errors, 0);
    REQUIRE(c.internal_easy);
    CHECK_EQ(alt_multi_is_internal(lb, c.internal_easy), 1);
    for (int i = 0; i < c.nslots; i++)
        CHECK_EQ(alt_multi_is_internal(lb, c.slots[i].easy), 0);
    CHECK_EQ(alt_multi_is_internal(lb, NULL), 0);
    CHECK_EQ(alt_multi_is_internal(NULL, c.internal_easy), 0);

    /* An alt_lb that is not attached recognises nothing, nor does lb once
     * detached. */
    alt_lb *other = tu_lb(tc_port(cl), 2, 1);
    CHECK_EQ(alt_multi_is_internal(other, c.internal_easy), 0);
    CHECK_EQ(alt_multi_is_internal(other, c.slots[0].easy), 0);
    alt_lb_free(other);
    alt_multi_detach(lb);
    c.attached = 0;
    CHECK_EQ(alt_multi_is_internal(lb, c.internal_easy), 0);
    CHECK_EQ(alt_multi_is_internal(lb, c.slots[0].easy), 0);

    caller_end(&c);
}

/* ------------------------------------------------------------------------ */
/* A3: attach adds nothing                                                   */
/* ------------------------------------------------------------------------ */

static void attach_adds_nothing(void)
{
    caller c;
    alt_lb *lb = lb_and_caller(&c, 50, 3);

    long timer0 = c.timer_calls, socket0 = c.socket_calls;
    CHECK_EQ(alt_multi_attach(lb, c.multi), ALT_OK);
    c.attached = 1;
    check_no_callbacks(&c, timer0, socket0, "alt_multi_attach");
    CHECK(c.timer_at < 0);
    int running = running_now(&c);
    fprintf(stderr, "  after attach: %d running\n", running);
    CHECK_EQ(running, 0);

    /* A loop with nothing of the caller's running: alt_multi_info_read()
     * adds nothing either, however long it turns. */
    long long end = tu_now_ms() + 150;
    while (tu_now_ms() < end)
        turn(&c, 0, 20);
    CHECK_EQ(running_now(&c), 0);
    CHECK_EQ(c.timer_calls, timer0);
    CHECK_EQ(c.socket_calls, socket0);
    CHECK_EQ(stat_range(1, NNODES, "localnodes"), 0);

    /* The first prepare brings the first discovery with it. */
    start(&c, &c.slots[0]);
    start(&c, &c.slots[1]);
    running = running_now(&c);
    fprintf(stderr, "  after 2 prepares + adds: %d running\n", running);
    CHECK_EQ(running, 3);
    long long deadline = tu_now_ms() + 5000;
    while ((in_flight(&c) > 0 || stat_range(1, NNODES, "localnodes") < 1)
           && tu_now_ms() < deadline)
        turn(&c, 0, 20);
    long ln = stat_range(1, NNODES, "localnodes");
    fprintf(stderr, "  /localnodes after the first requests: %ld\n", ln);
    CHECK(ln >= 1);
    CHECK_EQ(c.ok200[0], 2);
    CHECK_EQ(c.foreign, 0);
    CHECK(settle(&c, 5000));
    char nodes[NNODES + 1][ALT_ADDR_MAX];
    CHECK_EQ(alt_lb_nodes(lb, nodes, NNODES + 1), NNODES);

    caller_end(&c);
}

/* ------------------------------------------------------------------------ */
/* A3: teardown                                                              */
/* ------------------------------------------------------------------------ */

/* Requests done, the loop kept turning (with a short refresh interval),
 * nothing of the library's in flight: detach and free call nothing. */
static void teardown_idle(void)
{
    caller c;
    alt_lb *lb = lb_and_caller(&c, 20, 4);
    attach_all(&c);
    c.budget[0] = 100;
    run_all(&c, 0, 10000);
    CHECK_EQ(c.ok200[0], 100);
    /* The caller's work is over; its loop still turns a while, reading
     * completions, as an event loop does: the library starts nothing. */
    CHECK(settle(&c, 5000));
    long long end = tu_now_ms() + 200;
    while (tu_now_ms() < end)
        turn(&c, 0, 20);
    CHECK(settle(&c, 0));
    fprintf(stderr, "  after 200 ms of idle turning: %d running\n",
            c.running);

    caller_free_slots(&c);
    long timer0 = c.timer_calls, socket0 = c.socket_calls;
    alt_multi_detach(lb);
    c.attached = 0;
    check_no_callbacks(&c, timer0, socket0, "alt_multi_detach");
    alt_lb_free(lb);
    check_no_callbacks(&c, timer0, socket0, "+ alt_lb_free");
    c.poisoned = 1;
    close(c.epfd);
    CHECK_EQ(curl_multi_cleanup(c.multi), CURLM_OK);
    fprintf(stderr, "  curl_multi_cleanup afterwards: %ld callbacks\n",
            c.poisoned_calls);

    /* A program that attaches and leaves before any request of its own,
     * in hiperfifo's order (its event loop freed first, then alt_lb_free()
     * without a detach, then curl_multi_cleanup()): nothing of the
     * library's ever ran, so nothing calls back. */
    lb = tu_lb(tc_port(cl), 1, 1);
    caller_init(&c, lb, NULL, 1);
    attach_all(&c);
    CHECK_EQ(running_now(&c), 0);
    caller_free_slots(&c);
    c.poisoned = 1;
    close(c.epfd);
    alt_lb_free(lb);
    CHECK_EQ(curl_multi_cleanup(c.multi), CURLM_OK);
    fprintf(stderr, "  attach, then leave (loop freed, alt_lb_free, "
            "curl_multi_cleanup): %ld timer, %ld socket callbacks before, "
            "%ld after the loop was freed\n", c.timer_calls, c.socket_calls,
            c.poisoned_calls);
    CHECK_EQ(c.timer_calls + c.socket_calls, 0);
    CHECK_EQ(c.poisoned_calls, 0);
}

/* The only seed hangs: the first discovery is in flight, and stays. */
static void teardown_refresh_in_flight(void)
{
    reset_cluster();
    REQUIRE(tc_cmd(cl, NULL, 0, "hang 1") == 0);
    alt_lb *lb = tu_lb(tc_port(cl), 1, 1);
    REQUIRE(alt_lb_set_discovery_timeout(lb, 5000, 20000) == ALT_OK);
    caller c;
    caller_init(&c, lb, NULL, 1);
    attach_all(&c);
    start(&c, &c.slots[0]); /* to the seed: hangs too */
    /* Until both requests are at the hung node, which answers neither,
     * the library's announced in the socket callback. */
    long long deadline = tu_now_ms() + 5000;
    while ((c.internal_calls < 1 || tc_stat(cl, 1, "open") < 2
            || tc_stat(cl, 1, "localnodes") < 1)
           && tu_now_ms() < deadline)
        turn(&c, 0, 20);
    print_callbacks(&c, "refresh in flight");
    REQUIRE(c.internal_calls >= 1);
    CHECK_EQ(tc_stat(cl, 1, "open"), 2);
    CHECK_EQ(stat_range(1, NNODES, "localnodes"), 1);
    CHECK_EQ(c.running, 2);
    CHECK_EQ(c.bad_private, 0);

    /* The caller gives up its own request... */
    curl_multi_remove_handle(c.multi, c.slots[0].easy);
    c.slots[0].busy = 0;
    /* ...and detaches while its callbacks still work. */
    long timer0 = c.timer_calls, socket0 = c.socket_calls;
    alt_multi_detach(lb);
    c.attached = 0;
    fprintf(stderr, "  alt_multi_detach with the refresh in flight: %ld "
            "timer, %ld socket callbacks\n", c.timer_calls - timer0,
            c.socket_calls - socket0);
    CHECK_EQ(running_now(&c), 0);
    caller_free_slots(&c);

    /* hiperfifo's order: the event loop goes first. */
    c.poisoned = 1;
    close(c.epfd);
    c.epfd = -1;
    alt_lb_free(lb);
    CHECK_EQ(curl_multi_cleanup(c.multi), CURLM_OK);
    fprintf(stderr, "  callbacks after the loop was freed (alt_lb_free, "
            "curl_multi_cleanup): %ld\n", c.poisoned_calls);
    CHECK_EQ(c.poisoned_calls, 0);
    REQUIRE(tc_cmd(cl, NULL, 0, "unhang 1") == 0);
}

/* ------------------------------------------------------------------------ */
/* A3: CURLMOPT_MAXCONNECTS                                                  */
/* ------------------------------------------------------------------------ */

#define ROUNDS 12

/* The rounds' start: node 1 the only node listed, answering after 20 ms;
 * an lb seeded with it (alt_lb_set_maxconnects(floor) if floor > 0) and
 * discovered; a caller of nslots slots started in rounds 1 ms apart, with
 * CURLMOPT_MAXCONNECTS own if own > 0; nothing attached. */
static void rounds_start(caller *c, int nslots, long floor, long own)
{
    reset_cluster();
    REQUIRE(tc_cmd(cl, NULL, 0, "localnodes 1 [\"127.0.0.1\"]") == 0);
    alt_lb *lb = tu_lb(tc_port(cl), 1, 1);
    if (floor > 0)
        CHECK_EQ(alt_lb_set_maxconnects(lb, floor), ALT_OK);
    CHECK_EQ(alt_lb_refresh(lb), ALT_OK);
    REQUIRE(tc_cmd(cl, NULL, 0, "slow 1 20") == 0);
    caller_init(c, lb, NULL, nslots);
    c->rounds = 1;
    c->stagger_ms = 1;
    if (own > 0)
        curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, own);
}

/* Rounds of 10 requests at once on one node, in 10-at-a-time's shape:
 * each round's handles leave the multi as they finish. The node answers
 * after 20 ms and the round's requests start 1 ms apart, so that they end
 * 1 ms apart too: libcurl closes an idle connection (one idle for 1 ms at
 * least) whenever a finishing transfer finds its pool over the limit, and
 * a pool below 10 then costs new connections every round. Returns the
 * connections the node accepted. floor > 0: alt_lb_set_maxconnects(floor);
 * own > 0: the caller sets CURLMOPT_MAXCONNECTS itself before attaching. */
static long one_node_rounds(long floor, long own, int attach,
                            const char *what)
{
    caller c;
    rounds_start(&c, 10, floor, own);
    attach_or_plain(&c, attach);
    c.budget[0] = ROUNDS * 10;
    run_all(&c, 0, 15000);
    CHECK_EQ(c.ok200[0], ROUNDS * 10);
    CHECK_EQ(c.foreign, 0);
    CHECK_EQ(c.per_node[0][1], ROUNDS * 10);
    long conns = stat_range(1, NNODES, "conns");
    long ln = stat_range(1, NNODES, "localnodes");
    fprintf(stderr, "  %s: %d rounds of 10 on 1 node: %ld connections "
            "accepted (%ld /localnodes)\n", what, ROUNDS, conns, ln);
    caller_end(&c);
    REQUIRE(tc_cmd(cl, NULL, 0, "slow 1 0") == 0);
    return conns;
}

static void maxconnects_floor(void)
{
    long with_floor = one_node_rounds(10, 0, 1, "attached, "
                                      "alt_lb_set_maxconnects(10)");
    /* 10 of the caller's, the blocking alt_lb_refresh()'s, the loop's
     * refresh transfer's. */
    CHECK(with_floor <= 10 + 2);
    one_node_rounds(0, 10, 1, "attached, caller's CURLMOPT_MAXCONNECTS 10");
    one_node_rounds(0, 0, 1, "attached, no pool size asked");
    /* Controls without the library in the multi: the measure sees a pool
     * below the concurrency (a pool of 4, what 0.1 set at attach). */
    one_node_rounds(0, 0, 0, "not attached, libcurl's default pool");
    long four = one_node_rounds(0, 4, 0, "not attached, caller's "
                                "CURLMOPT_MAXCONNECTS 4");
    CHECK(four > 10 + 2 + ROUNDS);
}

/* The same rounds, of 10 transfers of the caller's own to node 2 (GET /,
 * not through lb) and 1 request through lb to node 1, in one attached
 * multi: the pool the program needs is its own business, and it asks for
 * it with alt_lb_set_maxconnects(floor) (floor > 0), or sets
 * CURLMOPT_MAXCONNECTS itself before attaching (own > 0). Returns the
 * connections node 2 accepted. */
static long mixed_rounds(long floor, long own, const char *what)
{
    caller c;
    rounds_start(&c, 11, floor, own);
    REQUIRE(tc_cmd(cl, NULL, 0, "slow 2 20") == 0);
    snprintf(c.plain_url, sizeof c.plain_url, "http://127.0.0.2:%d/",
             tc_port(cl));
    for (int i = 1; i < 11; i++)
        c.slots[i].lbi = PLAIN;
    attach_all(&c);
    c.budget[0] = ROUNDS * 11;
    run_all(&c, 0, 15000);
    CHECK_EQ(c.ok200[0], ROUNDS);
    CHECK_EQ(c.ok200[PLAIN], ROUNDS * 10);
    CHECK_EQ(c.foreign, 0);
    CHECK_EQ(tc_stat(cl, 2, "health"), ROUNDS * 10);
    long conns = tc_stat(cl, 2, "conns");
    fprintf(stderr, "  %s: %d rounds of 10 of the caller's own + 1 through "
            "lb: node 2 accepted %ld connections for its 10 at a time\n",
            what, ROUNDS, conns);
    caller_end(&c);
    REQUIRE(tc_cmd(cl, NULL, 0, "slow 1 0") == 0);
    REQUIRE(tc_cmd(cl, NULL, 0, "slow 2 0") == 0);
    return conns;
}

static void maxconnects_floor_mixed(void)
{
    long with_floor = mixed_rounds(16, 0, "alt_lb_set_maxconnects(16)");
    CHECK(with_floor <= 10 + 1);
    /* Documented: a CURLMOPT_MAXCONNECTS set directly is replaced once lb
     * sizes the pool (libcurl cannot tell lb what it was). */
    mixed_rounds(0, 16, "caller's own CURLMOPT_MAXCONNECTS 16");
}

/* 8 nodes, 4 transfers at once, 1000 requests: every handle walks every
 * node, so 32 connections are needed; libcurl's default pool (4 per
 * handle) would churn. */
static long eight_nodes(int attach)
{
    reset_cluster();
    alt_lb *lb = tu_lb(tc_port(cl), 1, 1);
    CHECK_EQ(alt_lb_refresh(lb), ALT_OK);
    caller c;
    caller_init(&c, lb, NULL, 4);
    attach_or_plain(&c, attach);
    c.budget[0] = 1000;
    run_all(&c, 0, 15000);
    CHECK_EQ(c.ok200[0], 1000);
    CHECK_EQ(c.foreign, 0);
    long conns = stat_range(1, NNODES, "conns");
    long ln = stat_range(1, NNODES, "localnodes");
    fprintf(stderr, "  %s: 1000 requests, 4 at once, over 8 nodes: %ld "
            "connections accepted (%ld /localnodes)\n",
            attach ? "attached" : "not attached (libcurl's default pool)",
            conns, ln);
    caller_end(&c);
    return conns;
}

static void maxconnects_raised(void)
{
    long attached = eight_nodes(1);
    /* 32 for the caller, one per node for the refreshes, the blocking
     * alt_lb_refresh()'s. */
    CHECK(attached <= NNODES * 4 + NNODES + 1);
    long plain = eight_nodes(0);
    (void)plain;
}

/* ------------------------------------------------------------------------ */
/* A4: two alt_lb on one multi                                               */
/* ------------------------------------------------------------------------ */

/* lbA over nodes 1-2, lbB over nodes 3-4, refreshing every 50 ms while
 * requests flow, 4 slots each on one multi, completions read through lbA
 * only or through both in turn. */
static void two_lb(int alternate)
{
    reset_cluster();
    REQUIRE(tc_cmd(cl, NULL, 0,
                   "localnodes 1 [\"127.0.0.1\",\"127.0.0.2\"]") == 0);
    REQUIRE(tc_cmd(cl, NULL, 0,
                   "localnodes 2 [\"127.0.0.1\",\"127.0.0.2\"]") == 0);
    REQUIRE(tc_cmd(cl, NULL, 0,
                   "localnodes 3 [\"127.0.0.3\",\"127.0.0.4\"]") == 0);
    REQUIRE(tc_cmd(cl, NULL, 0,
                   "localnodes 4 [\"127.0.0.3\",\"127.0.0.4\"]") == 0);
    alt_lb *a = tu_lb(tc_port(cl), 1, 1);
    alt_lb *b = tu_lb(tc_port(cl), 3, 1);
    REQUIRE(alt_lb_set_refresh_interval(a, 50, 60000) == ALT_OK);
    REQUIRE(alt_lb_set_refresh_interval(b, 50, 60000) == ALT_OK);
    caller c;
    caller_init(&c, a, b, 8);
    attach_all(&c);

    /* Requests flow until each half has answered at least 3 more
     * /localnodes after the first 100 requests of each lb. */
    c.budget[0] = c.budget[1] = 100;
    run_all(&c, alternate, 10000);
    long a0 = stat_range(1, 2, "localnodes");
    long b0 = stat_range(3, 4, "localnodes");
    long long deadline = tu_now_ms() + 5000;
    int k = 0;
    while ((stat_range(1, 2, "localnodes") < a0 + 3
            || stat_range(3, 4, "localnodes") < b0 + 3)
           && tu_now_ms() < deadline) {
        c.budget[0] = c.budget[1] = 1000000; /* keep the slots busy */
        for (int i = 0; i < 10; i++)
            turn(&c, alternate ? (k++ & 1) : 0, 20);
    }
    c.budget[0] = c.budget[1] = 0;
    run_all(&c, alternate, 10000);
    long a1 = stat_range(1, 2, "localnodes");
    long b1 = stat_range(3, 4, "localnodes");
    fprintf(stderr, "  lbA: %ld requests (%ld on node 1, %ld on node 2, "
            "%ld elsewhere); lbB: %ld (%ld on node 3, %ld on node 4, %ld "
            "elsewhere)\n", c.done[0], c.per_node[0][1], c.per_node[0][2],
            c.done[0] - c.per_node[0][1] - c.per_node[0][2], c.done[1],
            c.per_node[1][3], c.per_node[1][4],
            c.done[1] - c.per_node[1][3] - c.per_node[1][4]);
    fprintf(stderr, "  /localnodes on nodes 1-2: %ld after the first 100 "
            "requests, %ld at the end; on nodes 3-4: %ld, then %ld; "
            "foreign messages %ld\n", a0, a1, b0, b1, c.foreign);
    CHECK_EQ(c.foreign, 0);
    CHECK_EQ(c.not_done, 0);
    for (int i = 0; i < 2; i++) {
        CHECK(c.added[i] >= 100);
        CHECK_EQ(c.done[i], c.added[i]);
        CHECK_EQ(c.ok200[i], c.added[i]);
    }
    CHECK_EQ(c.per_node[0][1] + c.per_node[0][2], c.done[0]);
    CHECK_EQ(c.per_node[1][3] + c.per_node[1][4], c.done[1]);
    CHECK(c.per_node[0][1] > 0 && c.per_node[0][2] > 0);
    CHECK(c.per_node[1][3] > 0 && c.per_node[1][4] > 0);
    CHECK_EQ(stat_range(1, 2, "api"), c.done[0]);
    CHECK_EQ(stat_range(3, 4, "api"), c.done[1]);
    CHECK_EQ(stat_range(5, NNODES, "api") + stat_range(5, NNODES,
                                                       "localnodes"), 0);
    /* Both kept refreshing, in the second half too. */
    CHECK(a0 >= 1 && b0 >= 1);
    CHECK(a1 >= a0 + 3);
    CHECK(b1 >= b0 + 3);
    char nodes[4][ALT_ADDR_MAX];
    CHECK_EQ(alt_lb_nodes(a, nodes, 4), 2);
    CHECK_EQ(alt_lb_nodes(b, nodes, 4), 2);
    /* Each recognises the other's transfer as the library's. */
    if (c.internal_easy) {
        CHECK_EQ(alt_multi_is_internal(a, c.internal_easy), 1);
        CHECK_EQ(alt_multi_is_internal(b, c.internal_easy), 1);
    }
    CHECK_EQ(c.bad_private, 0);

    CHECK(settle(&c, 5000));
    caller_end(&c);
}

static void two_lb_one_multi_read_a(void)
{
    two_lb(0);
}

static void two_lb_one_multi_alternate(void)
{
    two_lb(1);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    cl = tu_cluster("--nodes 8");
    RUN(socket_callback_private);
    RUN(attach_adds_nothing);
    RUN(teardown_idle);
    RUN(teardown_refresh_in_flight);
    RUN(maxconnects_floor);
    RUN(maxconnects_floor_mixed);
    RUN(maxconnects_raised);
    RUN(two_lb_one_multi_read_a);
    RUN(two_lb_one_multi_alternate);
    tc_stop(cl);
    curl_global_cleanup();
    return tu_finish();
}
