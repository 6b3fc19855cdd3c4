/*
 * Retries that never replay, connect timeouts retried, an overall deadline
 * (issue 7, findings B6, B7, B8), against the local cluster (dynalite
 * behind it) and SYN-dropping listeners (tu_blackhole_open).
 *
 * B6: node 2 in "drop" mode applies every POST and then resets the
 *     connection without answering. UpdateItem ... ADD cnt :one on an item
 *     of its own per call, so that the item's counter says how many times
 *     that call was applied. Without ALT_IDEMPOTENT a call that reached
 *     node 2 fails (CURLE_GOT_NOTHING / CURLE_RECV_ERROR) and is never sent
 *     to node 1 or 3 by the library; with ALT_IDEMPOTENT it goes on to
 *     another node and succeeds. Easy mode (alt_curl_perform[_ex]) and a
 *     multi loop (alt_curl_retry). Every attempt is accounted for with the
 *     nodes' "api" and "dropped" counters.
 *     libcurl itself sends a request again, to the same node, when a
 *     REUSED connection dies before any answer ("Connection died, retrying
 *     a fresh connect"): on another pooled connection to that node if it
 *     has one, else on a new one. That is measured per call through
 *     CURLOPT_DEBUGFUNCTION, not hidden: rounds alternate a warm pool (the
 *     dropped call goes out on a reused connection) and
 *     CURLOPT_FRESH_CONNECT (it cannot be), and each call's applications on
 *     node 2 must be 1 + libcurl's resends. Seen with 7.88 and 8.21: one
 *     resend in easy mode (one pooled connection per node), two in the
 *     multi (its pool also holds the connection of the library's own
 *     /localnodes transfer to node 2), none with FRESH_CONNECT.
 * B7: a node that drops SYNs (127.0.0.250, listed by /localnodes): its
 *     connect timeout is retried on another node, with the library's
 *     timeouts (alt_lb_set_timeouts) or the caller's own
 *     CURLOPT_CONNECTTIMEOUT_MS, in easy mode and in a multi loop; the node
 *     leaves the rotation at its first timeout; the request that met it
 *     cost the connect timeout, not the request timeout. Run it with every
 *     libcurl (7.88 and 8.21).
 * B8: alt_lb_set_timeouts(lb, 1000, 300) bounds the whole call, retries
 *     included: a retry gets what is left, and a call that found no node
 *     in time ends with CURLE_OPERATION_TIMEDOUT within ~1000 ms however
 *     many nodes are listed. A CURLOPT_TIMEOUT_MS the caller sets itself
 *     bounds each attempt only (the documented limitation). The rotation
 *     is the /localnodes order, and a fresh lb's first handle starts at
 *     its first node, so the walk is blackholes first, node 1 last.
 *
 * Build with -DOLD_API against the 0.1 library to run the same scenarios
 * through the old API (retries inside alt_multi_info_read, no flags, the
 * caller's own timeouts); not part of the repository's build.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#ifdef OLD_API
/* The 0.1 API: alt_curl_perform retried everything, alt_multi_info_read
 * retried behind the caller's back, no flags, no request timeouts. */
#define ALT_IDEMPOTENT 0x1u
#define alt_curl_prepare_ex(lb, e, f) ((void)(f), alt_curl_prepare((lb), (e)))
#define alt_curl_retry(lb, e, r) ((void)(lb), (void)(e), (void)(r), 0)
#define alt_curl_release(lb, e) ((void)(lb), (void)(e))
/* For test/support/testutil.c, compiled against the new header. */
CURLcode alt_curl_perform_ex(alt_lb *lb, CURL *easy, unsigned flags);
CURLcode alt_curl_perform_ex(alt_lb *lb, CURL *easy, unsigned flags)
{
    (void)flags;
    return alt_curl_perform(lb, easy);
}
static int in_rotation(alt_lb *lb, const char *addr)
{
    const char *n[64];
    size_t k = alt_lb_nodes(lb, n, 64);
    for (size_t i = 0; i < k && i < 64; i++)
        if (strcmp(n[i], addr) == 0)
            return 1;
    return 0;
}
#else
#define in_rotation tu_in_rotation
#endif

static tc_cluster *cl;
static int port;

#define CMD(...) REQUIRE(tc_cmd(cl, NULL, 0, __VA_ARGS__) == 0)

/* ------------------------------------------------------------------ probe */

/* What libcurl did during one call (all its attempts). */
typedef struct probe {
    int opened[256];  /* sockets opened to 127.0.0.<i> */
    int seq[16];      /* their order (last octets) */
    int nseq;
    int reused;       /* "Re-using existing connection" (7.88) / "Reusing" */
    int resends;      /* "Connection died, retrying a fresh connect" */
} probe;

static curl_socket_t open_sock(void *ud, curlsocktype purpose,
                               struct curl_sockaddr *a)
{
    (void)purpose;
    probe *p = ud;
    if (a->family == AF_INET) {
        const struct sockaddr_in *in = (const void *)&a->addr;
        uint32_t ip = ntohl(in->sin_addr.s_addr);
        if ((ip >> 8) == 0x7f0000u) {
            p->opened[ip & 255]++;
            if (p->nseq < 16)
                p->seq[p->nseq++] = (int)(ip & 255);
        }
    }
    return socket(a->family, a->socktype, a->protocol);
}

static int has(const char *data, size_t size, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= size; i++)
        if (memcmp(data + i, needle, n) == 0)
            return 1;
    return 0;
}

static int debug_cb(CURL *e, curl_infotype type, char *data, size_t size,
                    void *ud)
{
    (void)e;
    probe *p = ud;
    if (type == CURLINFO_TEXT) {
        if (has(data, size, "Connection died, retrying a fresh connect"))
            p->resends++;
        if (has(data, size, "Re-using existing")
            || has(data, size, "Reusing existing"))
            p->reused++;
    }
    return 0;
}

static void instrument(CURL *e, probe *p)
{
    memset(p, 0, sizeof *p);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_sock);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, p);
    curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, debug_cb);
    curl_easy_setopt(e, CURLOPT_DEBUGDATA, p);
    curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
}

static const char *seq_text(const probe *p, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < p->nseq && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s.%d", i ? "," : "",
                              p->seq[i]);
    return buf;
}

/* ------------------------------------------------------------- counters */

typedef struct snap {
    long api[4], dropped[4];
} snap;

static void take(snap *s)
{
    for (int i = 1; i <= 3; i++) {
        s->api[i] = tc_stat(cl, i, "api");
        s->dropped[i] = tc_stat(cl, i, "dropped");
        REQUIRE(s->api[i] >= 0 && s->dropped[i] >= 0);
    }
}

/* --------------------------------------------------------------- tables */

/* Straight to node 1, without the library. */
static long plain_call(const char *op, const char *json, tu_reply *r)
{
    REQUIRE(tu_plain_call(port, op, json, r) == CURLE_OK);
    return r->status;
}

static void create_table(void)
{
    tu_reply r;
    REQUIRE(plain_call("CreateTable",
                       "{\"TableName\":\"replay\",\"KeySchema\":[{"
                       "\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}],"
                       "\"AttributeDefinitions\":[{\"AttributeName\":\"pk\","
                       "\"AttributeType\":\"S\"}],"
                       "\"BillingMode\":\"PAY_PER_REQUEST\"}", &r) == 200);
    long long deadline = tu_now_ms() + 10000;
    for (int i = 0; i < 1000; i++) {
        REQUIRE(tu_now_ms() < deadline);
        plain_call("DescribeTable", "{\"TableName\":\"replay\"}", &r);
        if (strstr(r.body, "\"TableStatus\":\"ACTIVE\""))
            return;
        tu_sleep_ms(50);
    }
    REQUIRE(!"table never became ACTIVE");
}

static int next_item = 1;

static void update_json(char *buf, size_t len, int item)
{
    snprintf(buf, len,
             "{\"TableName\":\"replay\",\"Key\":{\"pk\":{\"S\":\"k%d\"}},"
             "\"UpdateExpression\":\"ADD cnt :one\","
             "\"ExpressionAttributeValues\":{\":one\":{\"N\":\"1\"}}}",
             item);
}

/* How many times the item's ADD was applied (0: never). */
static long item_count(int item)
{
    char json[128];
    tu_reply r;
    snprintf(json, sizeof json,
             "{\"TableName\":\"replay\",\"Key\":{\"pk\":{\"S\":\"k%d\"}},"
             "\"ConsistentRead\":true}", item);
    REQUIRE(plain_call("GetItem", json, &r) == 200);
    const char *c = strstr(r.body, "\"cnt\":{\"N\":\"");
    return c ? atol(c + 12) : 0;
}

/* --------------------------------------------------------------- helpers */

/* A load balancer seeded with node 1, after one discovery. */
static alt_lb *new_lb(size_t want_nodes)
{
    alt_lb *lb = tu_lb(port, 1, 1);
    REQUIRE(alt_lb_set_logger(lb, tu_capture_log, NULL, ALT_LOG_DEBUG) == ALT_OK);
    REQUIRE(alt_lb_set_discovery_timeout(lb, 300, 1000) == ALT_OK);
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    REQUIRE(alt_lb_nodes(lb, NULL, 0) == want_nodes);
    return lb;
}

/* The request timeouts of a call: the library's (new API), or the caller's
 * own on the handle (the 0.1 equivalent). */
static long old_request_ms, old_connect_ms;

static void lb_timeouts(alt_lb *lb, long request_ms, long connect_ms)
{
#ifdef OLD_API
    (void)lb;
    old_request_ms = request_ms;
    old_connect_ms = connect_ms;
#else
    REQUIRE(alt_lb_set_timeouts(lb, request_ms, connect_ms) == ALT_OK);
#endif
}

static void handle_timeouts(CURL *e)
{
    if (old_request_ms)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, old_request_ms);
    if (old_connect_ms)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, old_connect_ms);
}

static int broken_after_send(CURLcode rc)
{
    return rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR;
}

/* ------------------------------------------------- a caller's multi loop */

typedef struct mslot {
    CURL *e;
    tu_reply r;
    struct curl_slist *h;
    probe p;
    int busy, seq, retries, item;
    CURLcode rc;
    long long t0, dt;
    long start_ev, fail_ev; /* order of its first prepare, first failure */
} mslot;

typedef struct mloop mloop;
struct mloop {
    alt_lb *lb;
    CURLM *m;
    mslot *s;
    int conc;
    unsigned flags;
    /* Sets the request options of a new request (not the node). */
    void (*setup)(mloop *L, mslot *s);
    /* Sees the final outcome. */
    void (*done)(mloop *L, mslot *s);
    void *ud;
    long ev; /* event counter: prepares and failed attempts, in order */
};

/* Runs total requests, conc at once, each to its final outcome; retries
 * through alt_curl_retry(). Bounded by 15 s. */
static void run_multi(mloop *L, int total)
{
    int started = 0, finished = 0;
    long long t0 = tu_now_ms();
    for (int i = 0; i < L->conc; i++)
        L->s[i].busy = 0;
    while (finished < total) {
        REQUIRE(tu_now_ms() - t0 < 15000);
        for (int i = 0; i < L->conc && started < total; i++) {
            mslot *s = &L->s[i];
            if (s->busy)
                continue;
            s->seq = started;
            s->retries = 0;
            s->start_ev = ++L->ev;
            s->fail_ev = 0;
            L->setup(L, s);
            instrument(s->e, &s->p);
            curl_easy_setopt(s->e, CURLOPT_PRIVATE, s);
            s->t0 = tu_now_ms();
            CHECK_EQ(alt_curl_prepare_ex(L->lb, s->e, L->flags), ALT_OK);
            REQUIRE(curl_multi_add_handle(L->m, s->e) == CURLM_OK);
            s->busy = 1;
            started++;
        }
        int running;
        CHECK_EQ(curl_multi_perform(L->m, &running), CURLM_OK);
        CURLMsg *msg;
        int left;
        while ((msg = alt_multi_info_read(L->lb, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *e = msg->easy_handle;
            CURLcode res = msg->data.result;
            mslot *s = NULL;
            curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)(void *)&s);
            REQUIRE(s != NULL && s->busy);
            curl_multi_remove_handle(L->m, e);
            if (res != CURLE_OK && !s->fail_ev)
                s->fail_ev = ++L->ev;
            if (alt_curl_retry(L->lb, e, res)) {
                s->retries++;
                REQUIRE(curl_multi_add_handle(L->m, e) == CURLM_OK);
                continue;
            }
            s->rc = res;
            s->dt = tu_now_ms() - s->t0;
            tu_collect(e, &s->r);
            L->done(L, s);
            curl_slist_free_all(s->h);
            s->h = NULL;
            s->busy = 0;
            finished++;
        }
        if (finished < total)
            curl_multi_poll(L->m, NULL, 0, 20, NULL);
    }
}

static void setup_list_tables(mloop *L, mslot *s)
{
    tu_setup_api(s->e, alt_lb_url(L->lb), "ListTables", "{}", &s->r, &s->h);
    handle_timeouts(s->e);
}

static void setup_update(mloop *L, mslot *s)
{
    char json[256];
    s->item = next_item++;
    update_json(json, sizeof json, s->item);
    tu_setup_api(s->e, alt_lb_url(L->lb), "UpdateItem", json, &s->r, &s->h);
}

static void done_nothing(mloop *L, mslot *s)
{
    (void)L;
    (void)s;
}

/* A multi with lb attached, and n fresh handles in s. */
static CURLM *mslots_new(alt_lb *lb, mslot *s, int n)
{
    CURLM *m = curl_multi_init();
    REQUIRE(m != NULL);
    REQUIRE(alt_multi_attach(lb, m) == ALT_OK);
    memset(s, 0, (size_t)n * sizeof *s);
    for (int i = 0; i < n; i++)
        REQUIRE((s[i].e = curl_easy_init()) != NULL);
    return m;
}

/* The handles released, lb freed, then the handles and the multi cleaned
 * up. */
static void mslots_free(alt_lb *lb, CURLM *m, mslot *s, int n)
{
    for (int i = 0; i < n; i++)
        alt_curl_release(lb, s[i].e);
    alt_lb_free(lb);
    for (int i = 0; i < n; i++)
        curl_easy_cleanup(s[i].e);
    curl_multi_cleanup(m);
}

/* ================================================================== B6 */

typedef struct call_rec {
    int item, fresh;
    CURLcode rc;
    long status;
    long api[4], dropped; /* deltas of this call; dropped: node 2's */
    long cnt;             /* how many times the item was applied */
    int retries_logged;
    char ip[64];
    probe p;
} call_rec;

/* One UpdateItem ... ADD through alt_curl_perform[_ex] on e. */
static void one_update(alt_lb *lb, CURL *e, unsigned flags, call_rec *c)
{
    char json[256];
    tu_reply r;
    struct curl_slist *h;
    c->item = next_item++;
    update_json(json, sizeof json, c->item);
    tu_setup_api(e, alt_lb_url(lb), "UpdateItem", json, &r, &h);
    instrument(e, &c->p);
    snap a, b;
    take(&a);
    tu_log_reset();
    c->rc = flags ? alt_curl_perform_ex(lb, e, flags) : alt_curl_perform(lb, e);
    c->retries_logged = tu_log_count("retrying on another node");
    take(&b);
    tu_collect(e, &r);
    curl_slist_free_all(h);
    c->status = r.status;
    snprintf(c->ip, sizeof c->ip, "%s", r.ip);
    for (int i = 1; i <= 3; i++)
        c->api[i] = b.api[i] - a.api[i];
    c->dropped = b.dropped[2] - a.dropped[2];
    CHECK_EQ(b.dropped[1] - a.dropped[1], 0);
    CHECK_EQ(b.dropped[3] - a.dropped[3], 0);
}

/* A fresh rotation of the three nodes and a fresh handle with a pooled
 * connection to each of them; then node 2 drops, and three calls (one per
 * node of the walk, so exactly one of them meets node 2). fresh: the calls
 * use CURLOPT_FRESH_CONNECT, so that libcurl has no reused connection to
 * resend on. */
static void easy_round(unsigned flags, int fresh, call_rec *c)
{
    CMD("undrop %d", 2);
    alt_lb *lb = new_lb(3);
    CURL *e = curl_easy_init();
    REQUIRE(e != NULL);
    int warm[4] = {0};
    for (int k = 0; k < 3; k++) {
        tu_reply r;
        REQUIRE(tu_list_tables(lb, e, &r) == CURLE_OK && r.status == 200);
        int idx = tu_node_index(r.ip);
        REQUIRE(idx >= 1 && idx <= 3);
        warm[idx]++;
    }
    REQUIRE(warm[1] == 1 && warm[2] == 1 && warm[3] == 1);
    CMD("drop %d", 2);
    if (fresh)
        curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    for (int k = 0; k < 3; k++) {
        c[k].fresh = fresh;
        one_update(lb, e, flags, &c[k]);
    }
    CMD("undrop %d", 2);
    alt_curl_release(lb, e);
    curl_easy_cleanup(e);
    alt_lb_free(lb);
}

static void print_call(int k, const call_rec *c)
{
    char seq[96];
    fprintf(stderr, "  call %2d (%s): %s, HTTP %ld from %s; api +%ld/+%ld/+%ld,"
            " node 2 dropped +%ld; libcurl reused %d, resent %d; sockets "
            "[%s]; item applied %ld time(s); library retries %d\n",
            k, c->fresh ? "fresh" : "pooled", curl_easy_strerror(c->rc),
            c->status, c->ip[0] ? c->ip : "-", c->api[1], c->api[2],
            c->api[3], c->dropped, c->p.reused, c->p.resends,
            seq_text(&c->p, seq, sizeof seq), c->cnt, c->retries_logged);
}

/* rounds easy_round()s (pooled, fresh, pooled, ...) with flags, 3 calls
 * each into c; then how many times each call's item was applied, and the
 * calls printed. */
static void easy_rounds(unsigned flags, int rounds, call_rec *c)
{
    memset(c, 0, (size_t)rounds * 3 * sizeof *c);
    for (int round = 0; round < rounds; round++)
        easy_round(flags, round & 1, &c[round * 3]);
    for (int k = 0; k < rounds * 3; k++) {
        c[k].cnt = item_count(c[k].item);
        print_call(k, &c[k]);
    }
}

/* B6, easy mode, no flag: 4 rounds of 3 calls (pooled, fresh, pooled,
 * fresh), 12 calls, 4 of them meet node 2. */
static void b6_easy_not_idempotent(void)
{
    enum { ROUNDS = 4, N = ROUNDS * 3 };
    call_rec c[N];
    easy_rounds(0, ROUNDS, c);
    int ok = 0, hits = 0, resends = 0;
    long cnt_sum = 0, dropped_sum = 0, api_sum = 0, failed_applied = 0;
    for (int k = 0; k < N; k++) {
        long others = c[k].api[1] + c[k].api[3];
        cnt_sum += c[k].cnt;
        dropped_sum += c[k].dropped;
        api_sum += c[k].api[1] + c[k].api[2] + c[k].api[3];
        resends += c[k].p.resends;
        /* Every attempt on node 2 was applied and then dropped. */
        CHECK_EQ(c[k].api[2], c[k].dropped);
        /* The database saw exactly the attempts the nodes counted. */
        CHECK_EQ(c[k].cnt, c[k].api[1] + c[k].api[2] + c[k].api[3]);
        if (c[k].fresh) {
            CHECK_EQ(c[k].p.resends, 0);
            CHECK_EQ(c[k].p.reused, 0);
        } else {
            CHECK(c[k].p.reused >= 1);
        }
        if (c[k].api[2] > 0) {
            hits++;
            failed_applied += c[k].cnt;
            /* The failure is the caller's: not sent to node 1 or 3. */
            CHECK(broken_after_send(c[k].rc));
            CHECK_EQ(others, 0);
            CHECK_EQ(c[k].retries_logged, 0);
            /* Node 2 applied it once, plus once per resend of libcurl's
             * own (at most one here: the handle's pool holds one
             * connection to node 2, and the resend opens a new one). */
            CHECK_EQ(c[k].api[2], 1 + c[k].p.resends);
            CHECK(c[k].p.resends <= 1);
        } else {
            CHECK_EQ(c[k].rc, CURLE_OK);
            CHECK_EQ(c[k].status, 200);
            CHECK_EQ(others, 1);
            CHECK_EQ(c[k].p.resends, 0);
            CHECK_EQ(c[k].cnt, 1);
        }
        if (c[k].rc == CURLE_OK && c[k].status == 200)
            ok++;
    }
    fprintf(stderr, "  %d calls: %d ok, %d failed; %d met node 2, libcurl "
            "resends %d; items applied %ld (%ld of them by the calls that met "
            "node 2); node 2 dropped %ld; node api total %ld\n", N, ok,
            N - ok, hits, resends, cnt_sum, failed_applied, dropped_sum,
            api_sum);
    CHECK_EQ(hits, ROUNDS);
    CHECK_EQ(ok, N - ROUNDS);
    /* Each success applied once, each failure once per attempt node 2
     * dropped. */
    CHECK_EQ(cnt_sum, ok + dropped_sum);
    CHECK_EQ(cnt_sum, api_sum);
}

/* B6, easy mode, ALT_IDEMPOTENT: the call that met node 2 goes on to
 * another node and succeeds. */
static void b6_easy_idempotent(void)
{
    enum { ROUNDS = 2, N = ROUNDS * 3 };
    call_rec c[N];
    easy_rounds(ALT_IDEMPOTENT, ROUNDS, c);
    int ok = 0, hits = 0;
    long cnt_sum = 0, dropped_sum = 0;
    for (int k = 0; k < N; k++) {
        long others = c[k].api[1] + c[k].api[3];
        cnt_sum += c[k].cnt;
        dropped_sum += c[k].dropped;
        CHECK_EQ(c[k].rc, CURLE_OK);
        CHECK_EQ(c[k].status, 200);
        ok += c[k].rc == CURLE_OK && c[k].status == 200;
        CHECK_EQ(c[k].api[2], c[k].dropped);
        CHECK_EQ(c[k].cnt, c[k].api[1] + c[k].api[2] + c[k].api[3]);
        CHECK_EQ(others, 1);
        CHECK(tu_node_index(c[k].ip) == 1 || tu_node_index(c[k].ip) == 3);
        if (c[k].fresh)
            CHECK_EQ(c[k].p.resends, 0);
        if (c[k].api[2] > 0) {
            hits++;
            CHECK_EQ(c[k].api[2], 1 + c[k].p.resends);
            CHECK_EQ(c[k].retries_logged, 1);
            CHECK_EQ(c[k].cnt, c[k].api[2] + 1);
        } else {
            CHECK_EQ(c[k].retries_logged, 0);
            CHECK_EQ(c[k].cnt, 1);
        }
    }
    fprintf(stderr, "  %d idempotent calls: %d ok, %d met node 2 and went on; "
            "items applied %ld = %d + %ld dropped on node 2\n", N, ok, hits,
            cnt_sum, ok, dropped_sum);
    CHECK_EQ(hits, ROUNDS);
    CHECK_EQ(ok, N);
    CHECK_EQ(cnt_sum, ok + dropped_sum);
}

/* One multi round: a fresh rotation, three handles warmed up on the three
 * nodes (one pooled connection each in the multi), node 2 drops, the
 * handles run one UpdateItem each at once, each on the next node of its
 * walk (so exactly one meets node 2). */
static void multi_round(unsigned flags, int fresh)
{
    CMD("undrop %d", 2);
    long conns0 = tc_stat(cl, 2, "conns");
    long lnw0 = tu_stat_sum(cl, 3, "localnodes");
    alt_lb *lb = new_lb(3);
    mslot s[3];
    CURLM *m = mslots_new(lb, s, 3);
    mloop L = {lb, m, s, 3, ALT_IDEMPOTENT, setup_list_tables, done_nothing,
               NULL, 0};
    old_request_ms = old_connect_ms = 0;
    run_multi(&L, 3);
    int warm[4] = {0};
    for (int i = 0; i < 3; i++) {
        REQUIRE(s[i].rc == CURLE_OK && s[i].r.status == 200);
        int idx = tu_node_index(s[i].r.ip);
        REQUIRE(idx >= 1 && idx <= 3);
        warm[idx]++;
    }
    REQUIRE(warm[1] == 1 && warm[2] == 1 && warm[3] == 1);

    CMD("drop %d", 2);
    long ln0 = tu_stat_sum(cl, 3, "localnodes");
    fprintf(stderr, "  warm-up: node 2 accepted %ld connection(s), "
            "/localnodes asked %ld time(s) (1 by alt_lb_refresh)\n",
            tc_stat(cl, 2, "conns") - conns0, ln0 - lnw0);
    for (int i = 0; i < 3; i++)
        if (fresh)
            curl_easy_setopt(s[i].e, CURLOPT_FRESH_CONNECT, 1L);
    L.flags = flags;
    L.setup = setup_update;
    snap a, b;
    take(&a);
    tu_log_reset();
    run_multi(&L, 3);
    take(&b);
    CMD("undrop %d", 2);

    long api1 = b.api[1] - a.api[1], api2 = b.api[2] - a.api[2],
         api3 = b.api[3] - a.api[3], dropped = b.dropped[2] - a.dropped[2];
    int ok = 0, failed = 0, retried = 0, resends = 0;
    long cnt_sum = 0;
    for (int i = 0; i < 3; i++) {
        long cnt = item_count(s[i].item);
        char seq[96];
        fprintf(stderr, "  %s%s transfer %d: %s, HTTP %ld from %s; "
                "alt_curl_retry said 1 %d time(s); libcurl reused %d, resent "
                "%d; sockets [%s]; item applied %ld time(s)\n",
                flags ? "idempotent" : "plain", fresh ? " fresh" : " pooled",
                i, curl_easy_strerror(s[i].rc), s[i].r.status,
                s[i].r.ip[0] ? s[i].r.ip : "-", s[i].retries, s[i].p.reused,
                s[i].p.resends, seq_text(&s[i].p, seq, sizeof seq), cnt);
        cnt_sum += cnt;
        resends += s[i].p.resends;
        if (fresh)
            CHECK_EQ(s[i].p.resends, 0);
        if (s[i].rc == CURLE_OK && s[i].r.status == 200) {
            ok++;
            CHECK(strcmp(s[i].r.ip, "127.0.0.2") != 0);
            if (!s[i].retries)
                CHECK_EQ(s[i].p.resends, 0);
            if (s[i].retries) {
                retried++;
                /* Applied on node 2 (and again per libcurl resend), then
                 * once where it succeeded. */
                CHECK_EQ(cnt, dropped + 1);
            } else {
                CHECK_EQ(cnt, 1);
            }
        } else {
            failed++;
            CHECK(broken_after_send(s[i].rc));
            CHECK_EQ(strcmp(s[i].r.ip, "127.0.0.2"), 0);
            CHECK_EQ(s[i].retries, 0);
            CHECK_EQ(cnt, 1 + s[i].p.resends);
            CHECK_EQ(cnt, dropped);
        }
    }
    fprintf(stderr, "  %s%s multi round: %d ok, %d failed, %d retried by "
            "alt_curl_retry; api +%ld/+%ld/+%ld, node 2 dropped +%ld, "
            "libcurl resends %d; items applied %ld; /localnodes asked %ld "
            "time(s) meanwhile\n",
            flags ? "idempotent" : "plain", fresh ? " fresh" : " pooled", ok,
            failed, retried, api1, api2, api3, dropped, resends, cnt_sum,
            tu_stat_sum(cl, 3, "localnodes") - ln0);
    CHECK_EQ(api2, dropped);
    /* Node 2 applied one attempt, plus one per resend of libcurl's own: a
     * transfer whose reused connection died goes again on another pooled
     * connection to the same node if there is one (the multi's pool may
     * hold two to node 2: the warm-up's and the library's /localnodes
     * transfer's, which uses the same fake domain and CONNECT_TO), and
     * then on a new one. */
    CHECK(dropped >= 1);
    CHECK_EQ(dropped, 1 + resends);
    CHECK_EQ(cnt_sum, api1 + api2 + api3);
    if (flags) {
        CHECK_EQ(ok, 3);
        CHECK_EQ(retried, 1);
        CHECK_EQ(api1 + api3, 3);
        CHECK_EQ(tu_log_count("retrying on another node"), 1);
    } else {
        CHECK_EQ(ok, 2);
        CHECK_EQ(failed, 1);
        CHECK_EQ(retried, 0);
        /* Nothing that reached node 2 was sent to node 1 or 3. */
        CHECK_EQ(api1 + api3, 2);
        CHECK_EQ(tu_log_count("retrying on another node"), 0);
    }
    CHECK_EQ(cnt_sum, ok + dropped);
    mslots_free(lb, m, s, 3);
}

static void b6_multi(void)
{
    multi_round(0, 0);
    multi_round(0, 1);
    multi_round(ALT_IDEMPOTENT, 0);
    multi_round(ALT_IDEMPOTENT, 1);
}

/* ================================================================== B7 */

#define BH "127.0.0.250"

static void list_with_blackhole(int on)
{
    for (int i = 1; i <= 3; i++) {
        if (on)
            CMD("localnodes %d [\"127.0.0.1\",\"127.0.0.2\",\"127.0.0.3\","
                "\"" BH "\"]", i);
        else
            CMD("localnodes %d default", i);
    }
}

/* Whether a connect timeout is sure to be blamed on the node (header,
 * alt_curl_done): always with the library's own connect timeout; with a
 * CURLOPT_CONNECTTIMEOUT of the caller's only from libcurl 8 on, since 7.x
 * reports it like a transfer that waited out its CURLOPT_TIMEOUT for a
 * connection slot (its errno ETIMEDOUT comes only sometimes). The request
 * goes elsewhere either way. */
static int blame_is_known(int lib_timeouts)
{
    return lib_timeouts
           || curl_version_info(CURLVERSION_NOW)->version_num >= 0x080000;
}

/* What B7's 40 requests met, easy mode or multi. */
typedef struct b7_req {
    int hit;
    long start_ev, fail_ev;
} b7_req;

typedef struct b7_stats {
    int lib_timeouts;
    int ok, hits, out_after_first;
    long long hit_dt_min, hit_dt_max, other_dt_max;
    b7_req req[40];
} b7_stats;

/* A fresh lb with the blackhole in its rotation and, with lib_timeouts,
 * the library's alt_lb_set_timeouts(3000, 200); st zeroed for it. */
static alt_lb *b7_start(int lib_timeouts, b7_stats *st)
{
    alt_lb *lb = new_lb(4);
    REQUIRE(in_rotation(lb, BH));
    old_request_ms = old_connect_ms = 0;
    if (lib_timeouts)
        lb_timeouts(lb, 3000, 200);
    memset(st, 0, sizeof *st);
    st->lib_timeouts = lib_timeouts;
    st->out_after_first = -1;
    st->hit_dt_min = 1000000;
    return lb;
}

static const char *b7_mode(int lib_timeouts)
{
    return lib_timeouts ? "alt_lb_set_timeouts(3000, 200)"
                        : "caller's CONNECTTIMEOUT 200";
}

/* Request k's final outcome after dt ms, into st: an ok, or a hit of the
 * blackhole (p opened a socket to it; retries >= 0: how often
 * alt_curl_retry said 1, for the log). */
static void b7_count(b7_stats *st, alt_lb *lb, int k, CURLcode rc,
                     const tu_reply *r, long long dt, const probe *p,
                     int retries)
{
    if (rc == CURLE_OK && r->status == 200)
        st->ok++;
    else
        fprintf(stderr, "  request %d: %s, HTTP %ld after %lld ms\n", k,
                curl_easy_strerror(rc), r->status, dt);
    if (p->opened[250]) {
        char seq[96], said[64] = "";
        st->hits++;
        if (dt < st->hit_dt_min)
            st->hit_dt_min = dt;
        if (dt > st->hit_dt_max)
            st->hit_dt_max = dt;
        if (st->hits == 1)
            st->out_after_first = !in_rotation(lb, BH);
        if (retries >= 0)
            snprintf(said, sizeof said, ", alt_curl_retry said 1 %d time(s)",
                     retries);
        fprintf(stderr, "  request %d met " BH ": %s from %s in %lld ms, "
                "sockets [%s]%s\n", k, curl_easy_strerror(rc),
                r->ip[0] ? r->ip : "-", dt, seq_text(p, seq, sizeof seq),
                said);
    } else if (dt > st->other_dt_max) {
        st->other_dt_max = dt;
    }
}

/* 40 ListTables (no flag) through alt_curl_perform. lib_timeouts: the
 * library's alt_lb_set_timeouts(3000, 200); else the caller's own
 * CURLOPT_CONNECTTIMEOUT_MS 200 only. */
static void b7_easy(int lib_timeouts)
{
    b7_stats st;
    alt_lb *lb = b7_start(lib_timeouts, &st);
    CURL *e = curl_easy_init();
    REQUIRE(e != NULL);
    probe p;
    tu_log_reset();
    long long t0 = tu_now_ms();
    for (int k = 0; k < 40; k++) {
        REQUIRE(tu_now_ms() - t0 < 15000);
        tu_reply r;
        struct curl_slist *h;
        tu_setup_api(e, alt_lb_url(lb), "ListTables", "{}", &r, &h);
        if (lib_timeouts)
            handle_timeouts(e);
        else
            curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 200L);
        instrument(e, &p);
        long long t = tu_now_ms();
        CURLcode rc = alt_curl_perform(lb, e);
        long long dt = tu_now_ms() - t;
        tu_collect(e, &r);
        curl_slist_free_all(h);
        b7_count(&st, lb, k, rc, &r, dt, &p, -1);
    }
    long long elapsed = tu_now_ms() - t0;
    int failed_logged = tu_log_count("node " BH " failed");
    int retries = tu_log_count("retrying on another node");
    fprintf(stderr, "  easy, %s: 40 requests in %lld ms: %d ok; %d met the "
            "blackhole (%lld..%lld ms each; others at most %lld ms); out of "
            "rotation after the first: %d; failures logged %d, retries "
            "logged %d\n", b7_mode(lib_timeouts), elapsed, st.ok, st.hits,
            st.hits ? st.hit_dt_min : 0, st.hit_dt_max, st.other_dt_max,
            st.out_after_first, failed_logged, retries);
    CHECK_EQ(st.ok, 40);
    CHECK(st.hits >= 1);
    CHECK(st.hits <= tu_max_attempts(elapsed));
    if (blame_is_known(lib_timeouts)) {
        CHECK_EQ(st.out_after_first, 1);
        CHECK_EQ(failed_logged, st.hits);
    }
    CHECK_EQ(retries, st.hits);
    /* The connect timeout, not the request timeout. */
    CHECK(st.hits == 0 || st.hit_dt_min >= 180);
    CHECK(st.hit_dt_max < 1000);
    alt_curl_release(lb, e);
    curl_easy_cleanup(e);
    alt_lb_free(lb);
}

static void b7_setup(mloop *L, mslot *s)
{
    b7_stats *st = L->ud;
    setup_list_tables(L, s);
    if (!st->lib_timeouts)
        curl_easy_setopt(s->e, CURLOPT_CONNECTTIMEOUT_MS, 200L);
}

static void b7_done(mloop *L, mslot *s)
{
    b7_stats *st = L->ud;
    REQUIRE(s->seq >= 0 && s->seq < 40);
    st->req[s->seq].start_ev = s->start_ev;
    st->req[s->seq].fail_ev = s->fail_ev;
    st->req[s->seq].hit = s->p.opened[250] != 0;
    b7_count(st, L->lb, s->seq, s->rc, &s->r, s->dt, &s->p, s->retries);
}

/* 40 ListTables (no flag), 4 at a time, in a multi loop with
 * alt_curl_retry. */
static void b7_multi(int lib_timeouts)
{
    b7_stats st;
    alt_lb *lb = b7_start(lib_timeouts, &st);
    mslot s[4];
    CURLM *m = mslots_new(lb, s, 4);
    mloop L = {lb, m, s, 4, 0, b7_setup, b7_done, &st, 0};
    tu_log_reset();
    long long t0 = tu_now_ms();
    run_multi(&L, 40);
    long long elapsed = tu_now_ms() - t0;
    int failed_logged = tu_log_count("node " BH " failed");
    /* The first connect timeout seen by the loop; transfers prepared
     * before it may have gone there too (one per slot at most: a slot
     * waits on its blackholed transfer), none prepared after it, except
     * on trial after a back-off. */
    long first_fail = 0;
    for (int i = 0; i < 40; i++)
        if (st.req[i].hit && st.req[i].fail_ev
            && (!first_fail || st.req[i].fail_ev < first_fail))
            first_fail = st.req[i].fail_ev;
    int early = 0, late = 0;
    for (int i = 0; i < 40; i++)
        if (st.req[i].hit) {
            if (st.req[i].start_ev < first_fail)
                early++;
            else
                late++;
        }
    fprintf(stderr, "  multi x4, %s: 40 requests in %lld ms: %d ok; %d met "
            "the blackhole (%d prepared before its first timeout was seen, "
            "%d after; %lld..%lld ms each; others at most %lld ms); out of "
            "rotation after the first: %d; failures logged %d\n",
            b7_mode(lib_timeouts), elapsed, st.ok, st.hits, early, late,
            st.hits ? st.hit_dt_min : 0, st.hit_dt_max, st.other_dt_max,
            st.out_after_first, failed_logged);
    CHECK_EQ(st.ok, 40);
    CHECK(st.hits >= 1);
    CHECK(first_fail > 0);
    CHECK(early >= 1 && early <= 4);
    if (blame_is_known(lib_timeouts)) {
        CHECK(late <= tu_max_attempts(elapsed) - 1);
        CHECK_EQ(st.out_after_first, 1);
        CHECK(failed_logged >= 1);
    }
    CHECK(st.hits == 0 || st.hit_dt_min >= 180);
    CHECK(st.hit_dt_max < 1000);
    mslots_free(lb, m, s, 4);
}

static void b7_connect_timeouts(void)
{
    tu_blackhole *bh = tu_blackhole_open(BH, port);
    list_with_blackhole(1);
    b7_easy(1);
    b7_easy(0);
    b7_multi(1);
    b7_multi(0);
    list_with_blackhole(0);
    tu_blackhole_close(bh);
}

/* ================================================================== B8 */

#define NBH 6 /* 127.0.0.241 .. 246 */

/* Node 1 answers /localnodes with nbh blackholes, then itself. */
static void list_blackholes_then_1(int nbh)
{
    char body[512];
    size_t o = 0;
    o += (size_t)snprintf(body + o, sizeof body - o, "[");
    for (int i = 0; i < nbh; i++)
        o += (size_t)snprintf(body + o, sizeof body - o, "\"127.0.0.%d\",",
                              241 + i);
    snprintf(body + o, sizeof body - o, "\"127.0.0.1\"]");
    CMD("localnodes %d %s", 1, body);
}

typedef struct one_call {
    CURLcode rc;
    long status;
    long long dt;
    curl_off_t last_attempt_us; /* CURLINFO_TOTAL_TIME_T: the last attempt */
    long api1;                  /* node 1's api counter delta */
    probe p;
} one_call;

/* One ListTables (no flag) through alt_curl_perform on a fresh lb whose
 * rotation is nbh blackholes then node 1. request_ms/connect_ms: through
 * lb_timeouts (lib) or set on the handle by the caller (!lib). */
static void deadline_call(int nbh, int lib, long request_ms, long connect_ms,
                          long slow_ms, one_call *c)
{
    memset(c, 0, sizeof *c);
    list_blackholes_then_1(nbh);
    alt_lb *lb = new_lb((size_t)nbh + 1);
    CMD("localnodes %d default", 1);
    CMD("slow %d %ld", 1, slow_ms);
    old_request_ms = old_connect_ms = 0;
    if (lib)
        lb_timeouts(lb, request_ms, connect_ms);
    CURL *e = curl_easy_init();
    REQUIRE(e != NULL);
    tu_reply r;
    struct curl_slist *h;
    tu_setup_api(e, alt_lb_url(lb), "ListTables", "{}", &r, &h);
    if (lib) {
        handle_timeouts(e);
    } else {
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, request_ms);
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    }
    instrument(e, &c->p);
    long a1 = tc_stat(cl, 1, "api");
    long long t = tu_now_ms();
    c->rc = alt_curl_perform(lb, e);
    c->dt = tu_now_ms() - t;
    c->api1 = tc_stat(cl, 1, "api") - a1;
    tu_collect(e, &r);
    c->status = r.status;
    c->last_attempt_us = 0;
    curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &c->last_attempt_us);
    curl_slist_free_all(h);
    char seq[96];
    fprintf(stderr, "  %d blackholes then node 1, %s(%ld, %ld): %s, HTTP %ld "
            "in %lld ms (last attempt %ld ms), sockets [%s], node 1 api "
            "+%ld\n", nbh, lib ? "alt_lb_set_timeouts" : "caller's own "
            "TIMEOUT/CONNECTTIMEOUT", request_ms, connect_ms,
            curl_easy_strerror(c->rc), c->status, c->dt,
            (long)(c->last_attempt_us / 1000), seq_text(&c->p, seq, sizeof seq),
            c->api1);
    CMD("slow %d 0", 1);
    alt_curl_release(lb, e);
    curl_easy_cleanup(e);
    alt_lb_free(lb);
}

/* The node of attempt k (0-based) in a walk over nbh blackholes then node
 * 1, starting at the first. */
static int walk_node(int k, int nbh)
{
    return k < nbh ? 241 + k : 1;
}

static void check_walk(const probe *p, int attempts, int nbh)
{
    CHECK_EQ(p->nseq, attempts);
    for (int k = 0; k < p->nseq && k < attempts; k++)
        CHECK_EQ(p->seq[k], walk_node(k, nbh));
}

static void b8_deadline(void)
{
    tu_blackhole *bh[NBH];
    for (int i = 0; i < NBH; i++) {
        char a[16];
        snprintf(a, sizeof a, "127.0.0.%d", 241 + i);
        bh[i] = tu_blackhole_open(a, port);
    }
    one_call c;

    /* 3 blackholes, node 1 last: 3 x 300 ms, node 1 gets the ~100 ms left
     * and answers in time. */
    deadline_call(3, 1, 1000, 300, 0, &c);
    CHECK_EQ(c.rc, CURLE_OK);
    CHECK_EQ(c.status, 200);
    check_walk(&c.p, 4, 3);
    CHECK(c.dt >= 3 * 300 - 30);
    CHECK(c.dt <= 1300);
    CHECK_EQ(c.api1, 1);

    /* The same, node 1 answering after 500 ms: the retry gets only what is
     * left of the 1000 ms (about 100), not a fresh 1000 (which would end
     * at 3 x 300 + 500 = 1400 ms with an answer), so the call ends at the
     * deadline with CURLE_OPERATION_TIMEDOUT. */
    deadline_call(3, 1, 1000, 300, 500, &c);
    CHECK_EQ(c.rc, CURLE_OPERATION_TIMEDOUT);
    check_walk(&c.p, 4, 3);
    CHECK_EQ(c.api1, 1);
    CHECK(c.dt >= 1000 - 30);
    CHECK(c.dt <= 1300);
    CHECK(c.last_attempt_us <= 250000);

    /* 6 blackholes, node 1 last: no node answered within 1000 ms, however
     * many are listed: 300 + 300 + 300 + 100, CURLE_OPERATION_TIMEDOUT. */
    deadline_call(NBH, 1, 1000, 300, 0, &c);
    CHECK_EQ(c.rc, CURLE_OPERATION_TIMEDOUT);
    check_walk(&c.p, 4, NBH);
    CHECK_EQ(c.api1, 0);
    CHECK(c.dt >= 1000 - 30);
    CHECK(c.dt <= 1300);

    /* The documented limitation: the caller's own CURLOPT_TIMEOUT_MS (400)
     * bounds each attempt, not the call. With CONNECTTIMEOUT 300, three
     * blackholes cost 3 x 300 ms, then node 1 answers: the call takes more
     * than the caller's 400 ms, and at most attempts x 400 ms. */
    deadline_call(3, 0, 400, 300, 0, &c);
    CHECK_EQ(c.rc, CURLE_OK);
    CHECK_EQ(c.status, 200);
    check_walk(&c.p, 4, 3);
    CHECK(c.dt >= 3 * 300 - 30);
    CHECK(c.dt <= 4 * 400);
    CHECK(c.dt <= 3 * 300 + 300);

    for (int i = 0; i < NBH; i++)
        tu_blackhole_close(bh[i]);
}

static int want(int argc, char **argv, const char *part)
{
    if (argc < 2)
        return 1;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], part) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_ALL);
    fprintf(stderr, "  libcurl %s\n", curl_version_info(CURLVERSION_NOW)->version);
    cl = tu_cluster("--nodes 3");
    port = tc_port(cl);
    create_table();
    /* Optional arguments: the parts to run (b6, b7, b8); default all. */
    if (want(argc, argv, "b6")) {
        RUN(b6_easy_not_idempotent);
        RUN(b6_easy_idempotent);
        RUN(b6_multi);
    }
    if (want(argc, argv, "b7"))
        RUN(b7_connect_timeouts);
    if (want(argc, argv, "b8"))
        RUN(b8_deadline);
    tc_stop(cl);
    curl_global_cleanup();
    return tu_finish();
}
