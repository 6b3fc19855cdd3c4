/*
 * request_bench: part 8 of the benchmarks: the request-aware path,
 * alt_curl_prepare_request(). Run it with test/bench/run.sh (BENCH_PARTS=8),
 * or alone:
 *
 *   request_bench micro [runs=9] [calls=200000]
 *   request_bench cpu   port=P [conc=8] [passes=21] [requests=10000]
 *                       [warmup=1000] [cpu=0] [servers=PID,...]
 *                       [balanced=1 | unrouted=1 | sigv4=1 | tablelast=1]
 *   request_bench instr port=P how=hand|request [affinity=1] [requests=N]
 *   request_bench prep  how=hand|request [affinity=1] [calls=N]
 *   request_bench zip   port=P [conc=8] [cpu=0] [scale=1]
 *   request_bench bytes                 (starts the local cluster itself)
 *
 * instr and prep print nothing: run.sh runs them under callgrind (part
 *   8i), instr for 8b's loop, prep for the prepare alone.
 * micro: ns per call and allocations per call of the prepare alone (no
 *   server: an in-process /localnodes responder gives 6 nodes that need
 *   not exist). cpu and zip: a curl multi loop against nginx's 6-node
 *   cluster of run.sh (POST / answers a fixed body). bytes: the local
 *   Alternator stand-in (test/cluster, Node.js) through
 *   test/support/cluster.c, without and with SigV4 enforced.
 *
 * The items: see make_put(). Every loop is bounded in count and in time.
 */
#define _GNU_SOURCE
#include "bench_util.h"
#include "cluster.h"
#include "cpu_load.h"
#include "malloc_count.h"

#include <alternator_lb.h>
#include <curl/curl.h>

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXRUNS 64
#define NHANDLES 8          /* handles in rotation, like a multi loop */
#define NKEYS 64            /* distinct items (keys) per size */
#define LOOP_DEADLINE_S 30.0 /* no measured loop may run longer */
#define TABLE "bench"

/* ------------------------------------------------------------------------ */
/* The items                                                                 */
/* ------------------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void) /* xorshift64*: deterministic across runs */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}

static const char *const words[] = {
    "order", "shipped", "customer", "account", "payment", "pending",
    "warehouse", "delivery", "address", "street", "city", "country",
    "product", "category", "review", "rating", "the", "of", "and", "to",
    "with", "for", "on", "in", "is", "was", "by", "from", "new", "old",
    "price", "discount", "total", "quantity", "invoice", "refund", "return",
    "status", "created", "updated", "session", "device", "mobile",
    "browser", "region", "europe", "america", "asia", "blue", "red",
    "green", "large", "small", "medium", "express", "standard", "gift",
    "note", "please", "leave", "door", "call", "before", "arrival",
};
#define NWORDS (sizeof words / sizeof words[0])

/* n characters of text: words of the list above and, one word in six, a
 * number, separated by spaces. */
static void text(char *out, size_t n)
{
    size_t i = 0;
    while (i < n) {
        char w[24];
        int len;
        if (rnd() % 6 == 0)
            len = snprintf(w, sizeof w, "%u", (unsigned)(rnd() % 100000));
        else
            len = snprintf(w, sizeof w, "%s", words[rnd() % NWORDS]);
        for (int k = 0; k < len && i < n; k++)
            out[i++] = w[k];
        if (i < n)
            out[i++] = ' ';
    }
    if (n > 0 && out[n - 1] == ' ')
        out[n - 1] = 'x';
}

/* Base64 of n random bytes into out (4 * ((n + 2) / 3) characters). */
static size_t base64_random(char *out, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(rnd() & 0xffffff);
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = tab[(v >> 6) & 63];
        out[o++] = tab[v & 63];
    }
    return o;
}

/*
 * A conditional PutItem of about `size` bytes (exactly, when size >= 512):
 *   {"TableName":"bench","Item":{"pk":{"S":"user#000042"},
 *    "ver":{"N":"7"},"qty":{"N":"..."},"ts":{"N":"..."},
 *    "name":{"S":"two words"},"tags":{"SS":["w","w","w"]},
 *    "blob":{"B":"<base64 of random bytes: 1/6 of size>"},
 *    "text":{"S":"<words and numbers, the rest>"}},
 *   "ConditionExpression":"attribute_not_exists(pk) OR #v <= :v",
 *   "ExpressionAttributeNames":{"#v":"ver"},
 *   "ExpressionAttributeValues":{":v":{"N":"7"}}}
 * with "pk" first in the Item or (key_last) last. About a fifth of it is
 * incompressible (the base64 of random bytes: an image thumbnail, a token),
 * the rest text from a 64-word vocabulary with numbers (gzip gets text like
 * this to about 1/3, as it does English). Returns the length; buf is
 * NUL-terminated.
 */
#define PUT_FMT                                                               \
    "{\"TableName\":\"" TABLE "\",\"Item\":{%s%s%s,\"blob\":{\"B\":\"%s\"},"   \
    "\"text\":{\"S\":\"%s\"}%s%s},\"ConditionExpression\":"                     \
    "\"attribute_not_exists(pk) OR #v <= :v\",\"ExpressionAttributeNames\":"     \
    "{\"#v\":\"ver\"},\"ExpressionAttributeValues\":{\":v\":{\"N\":\"7\"}}}"

static size_t make_put(char *buf, size_t cap, size_t size, int key,
                       bool key_last)
{
    char keyattr[64], mid[1024], *blob, *txt;
    snprintf(keyattr, sizeof keyattr, "\"pk\":{\"S\":\"user#%06d\"}", key);
    char w1[16], w2[16];
    snprintf(w1, sizeof w1, "%s", words[rnd() % NWORDS]);
    snprintf(w2, sizeof w2, "%s", words[rnd() % NWORDS]);
    snprintf(mid, sizeof mid,
             "\"ver\":{\"N\":\"7\"},\"qty\":{\"N\":\"%u\"},\"ts\":{\"N\":"
             "\"%llu\"},\"name\":{\"S\":\"%s %s\"},\"tags\":{\"SS\":[\"%s\","
             "\"%s\",\"%s\"]}",
             (unsigned)(rnd() % 1000), 1700000000000ull + rnd() % 100000000u,
             w1, w2, words[rnd() % NWORDS], words[rnd() % NWORDS],
             words[rnd() % NWORDS]);
    size_t nblob = size / 6 / 4 * 3; /* raw bytes: base64 is 4/3 of it */
    if (!(blob = malloc(nblob / 3 * 4 + 8)) || !(txt = malloc(size + 1)))
        die("out of memory");
    size_t bl = base64_random(blob, nblob);
    blob[bl] = '\0';
    txt[0] = '\0';
    int base = snprintf(NULL, 0, PUT_FMT, key_last ? "" : keyattr,
                        key_last ? "" : ",", mid, blob, txt,
                        key_last ? "," : "", key_last ? keyattr : "");
    size_t tl = size > (size_t)base + 8 ? size - (size_t)base : 8;
    text(txt, tl);
    txt[tl] = '\0';
    int n = snprintf(buf, cap, PUT_FMT, key_last ? "" : keyattr,
                     key_last ? "" : ",", mid, blob, txt,
                     key_last ? "," : "", key_last ? keyattr : "");
    free(blob);
    free(txt);
    if (n < 0 || (size_t)n >= cap)
        die("item buffer too small");
    return (size_t)n;
}

static size_t make_get(char *buf, size_t cap, int key)
{
    int n = snprintf(buf, cap, "{\"TableName\":\"" TABLE "\",\"Key\":{\"pk\":"
                     "{\"S\":\"user#%06d\"}},\"ConsistentRead\":true}", key);
    return (size_t)n;
}

struct body {
    char *p;
    size_t len;
};

static void make_bodies(struct body *b, int n, size_t size, bool key_last,
                        bool get)
{
    for (int i = 0; i < n; i++) {
        size_t cap = size + 1024;
        if (!(b[i].p = malloc(cap)))
            die("out of memory");
        b[i].len = get ? make_get(b[i].p, cap, i)
                       : make_put(b[i].p, cap, size, i, key_last);
    }
}

/* The same bodies with TableName moved to the end, the order in which Go's
 * SDK (v2) writes a PutItem's members: the scan meets the Item before it
 * knows the table's key, so it walks the whole Item. */
static void table_last(struct body *b, int n)
{
    static const char t[] = "\"TableName\":\"" TABLE "\",";
    const size_t tl = sizeof t - 1;
    for (int i = 0; i < n; i++) {
        char *p = b[i].p;
        if (b[i].len < tl + 2 || memcmp(p + 1, t, tl) != 0)
            die("table_last: unexpected body");
        memmove(p + 1, p + 1 + tl, b[i].len - 1 - tl);
        size_t len = b[i].len - tl; /* ends with the body's '}' */
        memcpy(p + len - 1, ",", 1);
        memcpy(p + len, t, tl - 1); /* without its comma */
        p[len + tl - 1] = '}';
        b[i].len = len + tl;
    }
}

static void free_bodies(struct body *b, int n)
{
    for (int i = 0; i < n; i++)
        free(b[i].p);
}

/* What the in-process /localnodes responder of micro answers. */
static const char nodes6[] = "[\"127.0.0.1\",\"127.0.0.2\",\"127.0.0.3\","
                             "\"127.0.0.4\",\"127.0.0.5\",\"127.0.0.6\"]";

/* The table's partition key as the library is told it. cpu's unrouted=1
 * names one the items lack: every body is scanned to its end, no key is
 * found, and the requests go the normal way. */
static const char *bench_pk = "pk";

/* An alt_lb seeded with 127.0.0.1:port, partition key of TABLE known. */
static alt_lb *new_lb(int port, bool sigv4, alt_affinity aff, int zlevel,
                      bool refresh)
{
    const char *seed = "127.0.0.1";
    alt_lb *lb = NULL;
    if (alt_lb_new(&lb, "http", port, &seed, 1) != ALT_OK)
        die("alt_lb_new");
    if (sigv4 && alt_lb_set_credentials(lb, "bench", "secret", NULL) != ALT_OK)
        die("alt_lb_set_credentials");
    if (zlevel > 0 && alt_lb_set_compression(lb, zlevel, 1024) != ALT_OK)
        die("alt_lb_set_compression");
    if (alt_lb_set_partition_key(lb, TABLE, bench_pk) != ALT_OK
        || alt_lb_set_affinity(lb, aff) != ALT_OK)
        die("alt_lb_set_partition_key / affinity");
    if (refresh) {
        alt_code rc = alt_lb_refresh(lb);
        if (rc != ALT_OK) {
            fprintf(stderr, "alt_lb_refresh: %s\n", alt_strerror(rc));
            exit(2);
        }
    }
    return lb;
}

/* ------------------------------------------------------------------------ */
/* How a request is prepared                                                  */
/* ------------------------------------------------------------------------ */

enum how {
    PREPARE,      /* alt_curl_prepare() alone, the handle set up once */
    BY_HAND,      /* URL, POSTFIELDS, headers set by the caller, then
                     alt_curl_prepare_ex() */
    REQUEST,      /* alt_curl_prepare_request() */
};

/* The caller's own header lists of BY_HAND: the same headers the library
 * sends (Content-Type, X-Amz-Target, Accept removed). */
static struct curl_slist *hand_put, *hand_get;

static void hand_lists(void)
{
    hand_put = curl_slist_append(NULL, "Content-Type: application/x-amz-json-1.0");
    hand_put = curl_slist_append(hand_put, "X-Amz-Target: DynamoDB_20120810.PutItem");
    hand_put = curl_slist_append(hand_put, "Accept:");
    hand_get = curl_slist_append(NULL, "Content-Type: application/x-amz-json-1.0");
    hand_get = curl_slist_append(hand_get, "X-Amz-Target: DynamoDB_20120810.GetItem");
    hand_get = curl_slist_append(hand_get, "Accept:");
    if (!hand_put || !hand_get)
        die("curl_slist_append");
}

static long prep_bad;

static void prepare_one(enum how how, alt_lb *lb, CURL *h, bool get,
                        const struct body *b)
{
    alt_code rc;
    switch (how) {
    case PREPARE:
        rc = alt_curl_prepare(lb, h);
        break;
    case BY_HAND:
        curl_easy_setopt(h, CURLOPT_URL, alt_lb_url(lb));
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, b->p);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, get ? hand_get : hand_put);
        rc = alt_curl_prepare_ex(lb, h, get ? ALT_IDEMPOTENT : 0);
        break;
    default:
        rc = alt_curl_prepare_request(lb, h, get ? "GetItem" : "PutItem",
                                      b->p, b->len, NULL, 0);
        break;
    }
    if (rc != ALT_OK)
        prep_bad++;
}

/* ------------------------------------------------------------------------ */
/* micro: ns and allocations per call                                        */
/* ------------------------------------------------------------------------ */

/* ns per call of the thread's CPU time (CLOCK_THREAD_CPUTIME_ID: on this
 * shared machine the wall clock counts other processes' turns too);
 * *clean: the thread had the CPU for >= 97% of the wall time. */
static double micro_loop(enum how how, alt_lb *lb, CURL **h, bool get,
                         const struct body *b, long calls, bool *clean)
{
    uint64_t c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), t0 = now_ns();
    for (long i = 0; i < calls; i++)
        prepare_one(how, lb, h[i & (NHANDLES - 1)], get, &b[i & (NKEYS - 1)]);
    uint64_t t1 = now_ns(), c1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    *clean = (double)(c1 - c0) >= 0.97 * (double)(t1 - t0);
    return (double)(c1 - c0) / (double)calls;
}

static void micro_row(const char *label, enum how how, alt_lb *lb, bool get,
                      const struct body *b, int runs, long calls,
                      double *out_median)
{
    CURL *h[NHANDLES];
    double ns[MAXRUNS], any[MAXRUNS];
    int got = 0, attempts = 0;
    bool clean;
    for (int i = 0; i < NHANDLES; i++)
        if (!(h[i] = curl_easy_init()))
            die("curl_easy_init");
    if (how == PREPARE) /* set up once, as alt_bench's part 1 */
        for (int i = 0; i < NHANDLES; i++) {
            curl_easy_setopt(h[i], CURLOPT_URL, alt_lb_url(lb));
            curl_easy_setopt(h[i], CURLOPT_POSTFIELDS, b[i].p);
            curl_easy_setopt(h[i], CURLOPT_HTTPHEADER, hand_put);
        }
    micro_loop(how, lb, h, get, b, 20000, &clean); /* first sight, warm */
    mc_start();
    uint64_t until = now_ns() + 1000000000u; /* re-runs: within 1 s */
    while (got < runs && attempts < 3 * runs && attempts < MAXRUNS
           && (attempts < runs || now_ns() < until)) {
        double v = micro_loop(how, lb, h, get, b, calls, &clean);
        any[attempts++] = v;
        if (clean)
            ns[got++] = v;
    }
    unsigned long allocs = mc_stop();
    for (int i = 0; i < NHANDLES; i++) {
        alt_curl_release(lb, h[i]);
        curl_easy_cleanup(h[i]);
    }
    /* Fewer than 3 undisturbed runs: the median of all, marked. */
    double med = got >= 3 ? median(ns, got) : median(any, attempts);
    double best = any[0];
    for (int i = 1; i < attempts; i++)
        best = any[i] < best ? any[i] : best;
    *out_median = med;
    printf("| %s | %.0f%s | %.0f |", label, med, got >= 3 ? "" : " (all runs)",
           best);
    if (mc_available())
        printf(" %.2f |", (double)allocs / ((double)calls * attempts));
    else
        printf(" n/a |");
    printf(" %d/%d |\n", got, attempts);
    fflush(stdout);
}

static int cmd_micro(int argc, char **argv)
{
    int runs = (int)arg_long(argc, argv, "runs", 9);
    long calls = arg_long(argc, argv, "calls", 200000);
    if (runs < 1 || runs > 12 || calls < 1000)
        die("micro: runs 1..12, calls >= 1000");
    pin_self(0);
    hand_lists();
    static struct body first[NKEYS], last[NKEYS], tlast[NKEYS], get[NKEYS];
    make_bodies(first, NKEYS, 1024, false, false);
    make_bodies(last, NKEYS, 1024, true, false);
    make_bodies(tlast, NKEYS, 1024, false, false);
    table_last(tlast, NKEYS);
    make_bodies(get, NKEYS, 0, false, true);

    struct responder r;
    responder_start(&r, nodes6);
    printf("### 8a. The request-aware prepare: ns and allocations per call\n\n");
    printf("One thread pinned to CPU 0, %d easy handles in rotation, 6 live "
           "nodes (an in-process /localnodes responder: nothing is sent). "
           "%ld calls per run, median of %d runs during which the thread had "
           "its CPU for at least 97%% of the time (others run again, up to 3 x "
           "%d runs, while the row's first second lasts; with fewer than 3 such runs the median of all, "
           "marked). ns = the thread's CPU time (CLOCK_THREAD_CPUTIME_ID) per "
           "call, which other processes' turns on the CPU do not inflate. The "
           "PutItem: %zu bytes, conditional (`attribute_not_exists(pk) OR "
           "#v <= :v`), %d different keys in rotation, table's partition key "
           "set with alt_lb_set_partition_key() so that key-route affinity "
           "(the default, RMW) scans the body, hashes the key and draws the "
           "node; the GetItem: %zu bytes. \"by hand\" = the caller sets "
           "CURLOPT_URL, POSTFIELDSIZE, POSTFIELDS and its HTTPHEADER list "
           "(the same three headers), then alt_curl_prepare_ex(). "
           "Allocations per call over all runs (malloc_count.c).\n\n",
           NHANDLES, calls, runs, runs, first[0].len, NKEYS, get[0].len);
    for (int creds = 0; creds < 2; creds++) {
        alt_lb *lb = new_lb(r.port, creds, ALT_AFFINITY_RMW, 0, true);
        alt_lb *none = new_lb(r.port, creds, ALT_AFFINITY_NONE, 0, true);
        double base, v;
        printf("%s\n\n| prepare | ns/call (median) | ns/call (best) | "
               "allocations/call | undisturbed runs |\n|---|---|---|---|---|\n",
               creds ? "With SigV4 credentials (alt_lb_set_credentials: "
                       "libcurl copies the three AWS_SIGV4/USERPWD strings "
                       "at every call):"
                     : "Without credentials:");
        micro_row("alt_curl_prepare (baseline; handle set up once)", PREPARE,
                  lb, false, first, runs, calls, &base);
        micro_row("by hand: 4 setopts + alt_curl_prepare_ex, 1 KB PutItem",
                  BY_HAND, lb, false, first, runs, calls, &v);
        micro_row("alt_curl_prepare_request, 1 KB conditional PutItem, key "
                  "first", REQUEST, lb, false, first, runs, calls, &v);
        micro_row("alt_curl_prepare_request, same, key last in the Item",
                  REQUEST, lb, false, last, runs, calls, &v);
        micro_row("alt_curl_prepare_request, key first, TableName last (Go "
                  "SDK v2's order)", REQUEST, lb, false, tlast, runs, calls,
                  &v);
        micro_row("alt_curl_prepare_request, key first, affinity NONE",
                  REQUEST, none, false, first, runs, calls, &v);
        micro_row("alt_curl_prepare_request, GetItem", REQUEST, lb, true, get,
                  runs, calls, &v);
        printf("\n");
        alt_lb_free(lb);
        alt_lb_free(none);
    }
    responder_stop(&r);
    free_bodies(first, NKEYS);
    free_bodies(last, NKEYS);
    free_bodies(tlast, NKEYS);
    free_bodies(get, NKEYS);
    if (prep_bad) {
        printf("**%ld prepare calls did not return ALT_OK.**\n\n", prep_bad);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* A curl multi loop (cpu, zip)                                               */
/* ------------------------------------------------------------------------ */

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* What one request put on the wire, from CURLOPT_DEBUGFUNCTION. */
struct wire {
    long header, data;
};

static int on_debug(CURL *h, curl_infotype type, char *data, size_t size,
                    void *ud)
{
    struct wire *w = ud;
    (void)h;
    (void)data;
    if (type == CURLINFO_HEADER_OUT)
        w->header += (long)size;
    else if (type == CURLINFO_DATA_OUT)
        w->data += (long)size;
    return 0;
}

/* Counts what h puts on the wire into w (zeroed); the answer is discarded. */
static void count_wire(CURL *h, struct wire *w, long timeout_ms)
{
    memset(w, 0, sizeof *w);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, w);
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
}

/* Performs h: the HTTP status (-1: no answer), the request's size in
 * *reqsize. */
static long perform_sized(CURL *h, long *reqsize)
{
    CURLcode res = curl_easy_perform(h);
    long code = 0;
    curl_off_t rs = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &rs);
    *reqsize = (long)rs;
    return res == CURLE_OK ? code : -1;
}

static pid_t servers[16];
static int nservers;

struct mloop {
    alt_lb *lb;
    enum how how;
    const struct body *b; /* nkeys bodies */
    int nkeys;
    int conc;
    long warmup, measure;
    bool time_prepare; /* wall time around each measured prepare */
    /* out */
    double cpu, secs, foreign;
    double prepare_ns; /* per measured prepare, when time_prepare */
    long failed, reqsize; /* CURLINFO_REQUEST_SIZE of the last request */
    long connects;        /* new connections while measuring */
    char first_error[128];
};

/* conc transfers in flight until warmup + measure completed; client CPU
 * (CLOCK_PROCESS_CPUTIME_ID) of the measured ones. */
static void run_multi(struct mloop *L)
{
    CURLM *m = curl_multi_init();
    CURL *h[64];
    if (!m || L->conc > 64)
        die("curl_multi_init");
    if (alt_multi_attach(L->lb, m) != ALT_OK)
        die("alt_multi_attach");
    for (int i = 0; i < L->conc; i++) {
        if (!(h[i] = curl_easy_init()))
            die("curl_easy_init");
        curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(h[i], CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h[i], CURLOPT_TIMEOUT_MS, 10000L);
    }
    long target = L->warmup + L->measure, started = 0, done = 0, inflight = 0;
    uint64_t prep_total = 0;
    long prep_count = 0;
    uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)(LOOP_DEADLINE_S * 1e9);
    uint64_t c_start = clock_ns(CLOCK_PROCESS_CPUTIME_ID), c_end = 0;
    uint64_t t_start = t0, t_end = 0;
    struct cpu_snap s0, s1;
    cpu_snap(&s0, -1, servers, nservers);
    for (int i = 0; i < L->conc && started < target; i++) {
        prepare_one(L->how, L->lb, h[i], false, &L->b[started % L->nkeys]);
        curl_multi_add_handle(m, h[i]);
        started++;
        inflight++;
    }
    while (inflight > 0) {
        int running, q;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        bool added = false;
        while ((msg = alt_multi_info_read(L->lb, &q))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *e = msg->easy_handle;
            CURLcode res = msg->data.result;
            curl_multi_remove_handle(m, e);
            inflight--;
            if (alt_curl_retry(L->lb, e, res)) {
                curl_multi_add_handle(m, e);
                inflight++;
                added = true;
                continue;
            }
            long code = 0;
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
            if (res != CURLE_OK || code != 200) {
                if (!L->failed++)
                    snprintf(L->first_error, sizeof L->first_error,
                             "%s (HTTP %ld)", curl_easy_strerror(res), code);
            }
            curl_off_t rs = 0;
            curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &rs);
            L->reqsize = (long)rs;
            long nc = 0;
            curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &nc);
            if (done >= L->warmup)
                L->connects += nc;
            if (++done == L->warmup) {
                t_start = now_ns();
                c_start = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
                cpu_snap(&s0, -1, servers, nservers);
            }
            if (done == target) {
                t_end = now_ns();
                c_end = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
                cpu_snap(&s1, -1, servers, nservers);
            }
            if (started < target) {
                bool timed = L->time_prepare && done >= L->warmup;
                uint64_t p0 = timed ? now_ns() : 0;
                prepare_one(L->how, L->lb, e, false,
                            &L->b[started % L->nkeys]);
                if (timed) {
                    prep_total += now_ns() - p0;
                    prep_count++;
                }
                curl_multi_add_handle(m, e);
                started++;
                inflight++;
                added = true;
            }
        }
        if (now_ns() > deadline) {
            fprintf(stderr, "request_bench: loop deadline passed\n");
            break;
        }
        if (!added && inflight > 0)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    if (!t_end) {
        t_end = now_ns();
        c_end = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
        cpu_snap(&s1, -1, servers, nservers);
    }
    long measured = done - L->warmup > 0 ? done - L->warmup : 1;
    L->cpu = (double)(c_end - c_start) / 1e3 / (double)measured; /* us */
    L->secs = (double)(t_end - t_start) / 1e9;
    L->foreign = foreign_load(&s0, &s1);
    L->prepare_ns = prep_count ? (double)prep_total / (double)prep_count : 0;
    for (int i = 0; i < L->conc; i++) {
        curl_multi_remove_handle(m, h[i]);
        alt_curl_release(L->lb, h[i]);
        curl_easy_cleanup(h[i]);
    }
    alt_multi_detach(L->lb);
    curl_multi_cleanup(m);
}

/* One request alone, easy mode, with the debug callback: what went on the
 * wire. Returns the HTTP status. */
static long one_request(alt_lb *lb, enum how how, bool get,
                        const struct body *b, struct wire *w, long *reqsize)
{
    CURL *h = curl_easy_init();
    if (!h)
        die("curl_easy_init");
    count_wire(h, w, 10000L);
    prepare_one(how, lb, h, get, b);
    long code = perform_sized(h, reqsize);
    alt_curl_release(lb, h);
    curl_easy_cleanup(h);
    return code;
}

/* ------------------------------------------------------------------------ */
/* cpu: client CPU per request at concurrency 8, by hand vs request-aware    */
/* ------------------------------------------------------------------------ */

/*
 * Conditional PutItems whose keys key-route affinity sends to each of the
 * 6 nodes alike, per_node each, found by sending candidates once and
 * reading CURLINFO_PRIMARY_IP. A few keys drawn as they come load the
 * nodes unevenly (the 64 of make_bodies(): 8 to 13 a node), which changes
 * the loop's CPU per request apart from what preparing costs; a workload
 * of many keys evens out, as these do by construction. Returns how many
 * it found (6 * per_node unless candidates ran out).
 */
static int balanced_bodies(int port, int per_node, struct body *out)
{
    alt_lb *lb = new_lb(port, false, ALT_AFFINITY_RMW, 0, true);
    CURL *e = curl_easy_init();
    if (!e)
        die("curl_easy_init");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    int count[7] = {0}, n = 0;
    for (int k = 0; k < 4000 && n < 6 * per_node; k++) {
        struct body b = {malloc(2048), 0};
        if (!b.p)
            die("out of memory");
        b.len = make_put(b.p, 2048, 1024, k, false);
        char *ip = NULL;
        int node = 0;
        if (alt_curl_perform_request(lb, e, "PutItem", b.p, b.len, NULL, 0)
                == CURLE_OK
            && curl_easy_getinfo(e, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK
            && ip && strncmp(ip, "127.0.0.", 8) == 0)
            node = atoi(ip + 8);
        if (node >= 1 && node <= 6 && count[node] < per_node) {
            count[node]++;
            out[n++] = b;
        } else {
            free(b.p);
        }
    }
    alt_curl_release(lb, e);
    curl_easy_cleanup(e);
    alt_lb_free(lb);
    return n;
}

static int cmd_cpu(int argc, char **argv)
{
    int port = (int)arg_long(argc, argv, "port", 0);
    int conc = (int)arg_long(argc, argv, "conc", 8);
    int passes = (int)arg_long(argc, argv, "passes", 21);
    long requests = arg_long(argc, argv, "requests", 10000);
    long warmup = arg_long(argc, argv, "warmup", 1000);
    pin_self((int)arg_long(argc, argv, "cpu", 0));
    nservers = parse_pids(arg(argc, argv, "servers", ""), servers, 16);
    bool balanced = arg_long(argc, argv, "balanced", 0) != 0;
    bool unrouted = arg_long(argc, argv, "unrouted", 0) != 0;
    bool sigv4 = arg_long(argc, argv, "sigv4", 0) != 0;
    bool tlast = arg_long(argc, argv, "tablelast", 0) != 0;
    if (!port || passes < 1 || passes > MAXRUNS || conc < 1 || conc > 64
        || balanced + unrouted + sigv4 + tlast > 1)
        die("cpu: port= needed; passes 1..64; conc 1..64; at most one of "
            "balanced, unrouted, sigv4, tablelast");
    if (unrouted)
        bench_pk = "no_such_attribute"; /* make_put() writes no such one */
    hand_lists();
    static struct body b[NKEYS];
    int nkeys = NKEYS;
    if (balanced)
        nkeys = balanced_bodies(port, NKEYS / 6, b);
    else
        make_bodies(b, NKEYS, 1024, false, false);
    if (tlast)
        table_last(b, nkeys);
    if (nkeys < 6)
        die("cpu: no keys");

    double ratio[MAXRUNS], cpu_h[MAXRUNS], cpu_r[MAXRUNS];
    long failed = 0, size_h = 0, size_r = 0;
    printf("### 8b%s. Client CPU per request at concurrency %d: request-aware "
           "vs by hand%s\n\n",
           balanced ? "'" : unrouted ? "''" : sigv4 ? "-sigv4"
           : tlast ? "-tablelast" : "", conc,
           balanced ? ", keys spread evenly over the nodes"
           : unrouted ? ", every body scanned but none routed"
           : tlast ? ", TableName last in the body"
           : sigv4 ? ", both signed with SigV4" : "");
    if (sigv4)
        printf("As 8b, with credentials set (alt_lb_set_credentials): libcurl "
               "signs every request of both sides (AWS_SIGV4), as it must "
               "for a cluster with alternator_enforce_authorization on. "
               "nginx does not check the signatures.\n\n");
    if (unrouted)
        printf("The table's partition key given to the library is \"%s\", "
               "an attribute the items lack: the request-aware side scans "
               "every body whole (with no key to stop at, to its end: more "
               "than 8b's scan, which stops past the key and the "
               "condition), finds no key, and sends the request the normal "
               "way, as by hand does: the scan's worst case for this "
               "body, without routing by key.\n\n",
               bench_pk);
    if (tlast)
        printf("The bodies of 8b with TableName moved to the end, the order "
               "in which Go's SDK (v2) writes a PutItem's members: the scan "
               "meets the Item before it knows the table's partition key, "
               "so it walks the whole Item, and stops at TableName.\n\n");
    if (balanced)
        printf("The keys: %d conditional PutItems, %d for each node, found by "
               "sending candidates once (balanced_bodies()): the nodes get "
               "the same load, as with a workload of many keys; the 64 keys "
               "above load them 8 to 13.\n\n", nkeys, nkeys / 6);
    printf("A curl multi loop (alt_multi_attach, alt_multi_info_read) keeping "
           "%d PutItems in flight against run.sh's nginx, 6 nodes; %ld "
           "requests of warm-up, then %ld measured; client CPU = "
           "CLOCK_PROCESS_CPUTIME_ID (user + system) per request. by hand = "
           "the caller sets CURLOPT_URL, POSTFIELDSIZE, POSTFIELDS and "
           "HTTPHEADER (Content-Type, X-Amz-Target, Accept removed) then "
           "alt_curl_prepare_ex(); request-aware = alt_curl_prepare_request()"
           " with key-route affinity (the conditional PutItem of %zu bytes, "
           "%d keys, each routed to its node%s). Both send the same bytes "
           "(CURLINFO_REQUEST_SIZE below). The two run back to back in each "
           "pass (order alternating); ratio = request-aware / by hand within "
           "the pass. Others = CPU used by other processes meanwhile, in "
           "cores.\n\n", conc, warmup, requests, b[0].len, nkeys,
           unrouted ? " in 8b; here none is" : "");
    printf("| pass | by hand: us/request | request-aware: us/request | "
           "ratio | requests/s (hand, aware) | others (hand, aware) | "
           "new connections (hand, aware) |\n"
           "|---|---|---|---|---|---|---|\n");
    /* The passes, then one more of each side with each prepare timed (not
     * in the ratios: the clock reads would be in both sides' CPU). */
    double prep_ns[2] = {0, 0};
    for (int p = 0; p <= passes; p++) {
        struct mloop L[2];
        for (int k = 0; k < 2; k++) {
            int which = p % 2 ? 1 - k : k; /* 0: by hand, 1: request-aware */
            struct mloop *l = &L[which];
            memset(l, 0, sizeof *l);
            l->time_prepare = p == passes;
            l->lb = new_lb(port, sigv4, ALT_AFFINITY_RMW, 0, true);
            l->how = which ? REQUEST : BY_HAND;
            l->b = b;
            l->nkeys = nkeys;
            l->conc = conc;
            l->warmup = warmup;
            l->measure = requests;
            run_multi(l);
            alt_lb_free(l->lb);
            failed += l->failed;
            if (l->failed)
                fprintf(stderr, "request_bench: %ld failed: %s\n", l->failed,
                        l->first_error);
        }
        if (p == passes) {
            prep_ns[0] = L[0].prepare_ns;
            prep_ns[1] = L[1].prepare_ns;
            break;
        }
        cpu_h[p] = L[0].cpu;
        cpu_r[p] = L[1].cpu;
        ratio[p] = L[1].cpu / L[0].cpu;
        size_h = L[0].reqsize;
        size_r = L[1].reqsize;
        printf("| %d | %.2f | %.2f | %.3f | %.0f, %.0f | %.2f, %.2f | "
               "%ld, %ld |\n",
               p + 1, L[0].cpu, L[1].cpu, ratio[p],
               (double)requests / L[0].secs, (double)requests / L[1].secs,
               L[0].foreign, L[1].foreign, L[0].connects, L[1].connects);
        fflush(stdout);
    }
    printf("\nMedian: by hand %.2f us, request-aware %.2f us per request; "
           "median ratio %.3f (goal: within 3%%). Request size (headers + "
           "body): by hand %ld, request-aware %ld bytes. Failed: %ld.\n\n",
           median(cpu_h, passes), median(cpu_r, passes),
           median(ratio, passes), size_h, size_r, failed);
    printf("The prepare alone in this loop (one more pass of each side, each "
           "prepare_one() timed with CLOCK_MONOTONIC; not in the ratios): by "
           "hand %.0f ns, request-aware %.0f ns, the difference %.1f%% of the "
           "by-hand request's CPU.\n\n", prep_ns[0], prep_ns[1],
           100.0 * (prep_ns[1] - prep_ns[0]) / 1e3 / median(cpu_h, passes));
    free_bodies(b, nkeys);
    return failed || prep_bad ? 1 : 0;
}

/* One side of cmd_cpu alone (how=hand or how=request), printing nothing:
 * run.sh runs it under callgrind with two request counts, whose difference
 * is the marginal instruction count per request, free of the machine's
 * noise. */
static int cmd_instr(int argc, char **argv)
{
    struct mloop l;
    memset(&l, 0, sizeof l);
    int port = (int)arg_long(argc, argv, "port", 0);
    const char *how = arg(argc, argv, "how", "");
    l.conc = (int)arg_long(argc, argv, "conc", 8);
    l.measure = arg_long(argc, argv, "requests", 2000);
    l.warmup = arg_long(argc, argv, "warmup", 500);
    if (!port || l.conc < 1 || l.conc > 64
        || (strcmp(how, "hand") != 0 && strcmp(how, "request") != 0))
        die("instr: port= and how=hand|request needed; conc 1..64");
    hand_lists();
    static struct body b[NKEYS];
    make_bodies(b, NKEYS, 1024, false, false);
    bool affinity = arg_long(argc, argv, "affinity", 1) != 0;
    l.lb = new_lb(port, false, affinity ? ALT_AFFINITY_RMW : ALT_AFFINITY_NONE,
                  0, true);
    l.how = strcmp(how, "hand") == 0 ? BY_HAND : REQUEST;
    l.b = b;
    l.nkeys = NKEYS;
    run_multi(&l);
    alt_lb_free(l.lb);
    free_bodies(b, NKEYS);
    if (l.failed)
        fprintf(stderr, "request_bench: %ld failed: %s\n", l.failed,
                l.first_error);
    return l.failed ? 1 : 0;
}

/* The prepare alone, calls times, as 8a's rows (no server: the in-process
 * responder), printing nothing: under callgrind with two call counts, the
 * difference is the instructions per prepare, which, unlike a loop's
 * (how many polls a request takes depends on timing), does not vary. */
static int cmd_prep(int argc, char **argv)
{
    const char *how = arg(argc, argv, "how", "");
    long calls = arg_long(argc, argv, "calls", 10000);
    bool affinity = arg_long(argc, argv, "affinity", 1) != 0;
    if ((strcmp(how, "hand") != 0 && strcmp(how, "request") != 0)
        || calls < 1)
        die("prep: how=hand|request needed; calls >= 1");
    hand_lists();
    static struct body b[NKEYS];
    make_bodies(b, NKEYS, 1024, false, false);
    struct responder r;
    responder_start(&r, nodes6);
    alt_lb *lb = new_lb(r.port, false,
                        affinity ? ALT_AFFINITY_RMW : ALT_AFFINITY_NONE, 0,
                        true);
    CURL *h[NHANDLES];
    for (int i = 0; i < NHANDLES; i++)
        if (!(h[i] = curl_easy_init()))
            die("curl_easy_init");
    bool clean;
    micro_loop(strcmp(how, "hand") == 0 ? BY_HAND : REQUEST, lb, h, false, b,
               calls, &clean);
    for (int i = 0; i < NHANDLES; i++) {
        alt_curl_release(lb, h[i]);
        curl_easy_cleanup(h[i]);
    }
    alt_lb_free(lb);
    responder_stop(&r);
    free_bodies(b, NKEYS);
    return prep_bad ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* zip: compression off / level 1 / level 6                                   */
/* ------------------------------------------------------------------------ */

static int cmd_zip(int argc, char **argv)
{
    int port = (int)arg_long(argc, argv, "port", 0);
    int conc = (int)arg_long(argc, argv, "conc", 8);
    double scale = strtod(arg(argc, argv, "scale", "1"), NULL);
    pin_self((int)arg_long(argc, argv, "cpu", 0));
    nservers = parse_pids(arg(argc, argv, "servers", ""), servers, 16);
    if (!port || conc < 1 || conc > 64 || scale <= 0)
        die("zip: port= needed");
    const size_t sizes[] = {1024, 10 * 1024, 100 * 1024};
    const long e2e_n[] = {6000, 3000, 600};    /* end-to-end requests */
    const long prep_n[] = {20000, 4000, 300};  /* prepare-only calls */
    const int levels[] = {0, 1, 6};
    long failed = 0;

    printf("### 8c. Request compression: bytes on the wire and client CPU\n\n");
    printf("Conditional PutItems of 1, 10 and 100 KB (make_put() in "
           "request_bench.c: a few short attributes, a sixth of the size as "
           "base64 of random bytes - incompressible - and the rest text of "
           "words from a 64-word vocabulary with one number in six: it "
           "gzips like English, to about a third), %d different items per "
           "size. alt_lb_set_compression(lb, level, 1024). Headers and body = "
           "what libcurl handed to the socket (CURLOPT_DEBUGFUNCTION, "
           "HEADER_OUT and DATA_OUT) for one request, on the wire = their sum "
           "(HTTP/1.1 over plain TCP); REQUEST_SIZE = CURLINFO_REQUEST_SIZE "
           "of the same request: libcurl 7.88 counts the headers, and the "
           "body only when it went out in the headers' buffer (a "
           "POSTFIELDS body under 64 KB): the uncompressed 100 KB body is "
           "not in it. Prepare = CPU of "
           "alt_curl_prepare_request() alone (CLOCK_PROCESS_CPUTIME_ID over "
           "%ld/%ld/%ld calls, 8 handles); end to end = client CPU per "
           "request in the multi loop at concurrency %d against nginx "
           "(%ld/%ld/%ld requests after 200 of warm-up). No SigV4.\n\n",
           NKEYS, prep_n[0], prep_n[1], prep_n[2], conc, e2e_n[0], e2e_n[1],
           e2e_n[2]);
    printf("| item | compression | body bytes sent | headers | on the wire "
           "| vs off | REQUEST_SIZE | prepare: us/call | prepare: "
           "allocations/call | end to end: client us/request | requests/s "
           "|\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t s = 0; s < 3; s++) {
        static struct body b[NKEYS];
        make_bodies(b, NKEYS, sizes[s], false, false);
        long off_size = 0;
        for (size_t l = 0; l < 3; l++) {
            alt_lb *lb = new_lb(port, false, ALT_AFFINITY_RMW, levels[l], true);
            struct wire w;
            long rs = 0, wire;
            long st = one_request(lb, REQUEST, false, &b[0], &w, &rs);
            wire = w.header + w.data;
            if (st != 200) {
                failed++;
                fprintf(stderr, "request_bench: zip: HTTP %ld\n", st);
            }
            if (l == 0)
                off_size = wire;
            /* prepare alone */
            CURL *h[NHANDLES];
            for (int i = 0; i < NHANDLES; i++)
                if (!(h[i] = curl_easy_init()))
                    die("curl_easy_init");
            long n = (long)((double)prep_n[s] * scale);
            if (n < 50)
                n = 50;
            for (long i = 0; i < NHANDLES * 4; i++) /* warm: buffers grown */
                prepare_one(REQUEST, lb, h[i % NHANDLES], false, &b[i % NKEYS]);
            mc_start();
            uint64_t c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
            uint64_t until = now_ns() + 10000000000u;
            long i = 0;
            for (; i < n && (i % 64 || now_ns() < until); i++)
                prepare_one(REQUEST, lb, h[i % NHANDLES], false, &b[i % NKEYS]);
            double prep_us = (double)(clock_ns(CLOCK_PROCESS_CPUTIME_ID) - c0)
                             / 1e3 / (double)i;
            double allocs = (double)mc_stop() / (double)i;
            for (int k = 0; k < NHANDLES; k++) {
                alt_curl_release(lb, h[k]);
                curl_easy_cleanup(h[k]);
            }
            /* end to end */
            struct mloop L;
            memset(&L, 0, sizeof L);
            L.lb = lb;
            L.how = REQUEST;
            L.b = b;
            L.nkeys = NKEYS;
            L.conc = conc;
            L.warmup = 200;
            L.measure = (long)((double)e2e_n[s] * scale);
            if (L.measure < 100)
                L.measure = 100;
            run_multi(&L);
            failed += L.failed;
            if (L.failed)
                fprintf(stderr, "request_bench: zip: %ld failed: %s\n",
                        L.failed, L.first_error);
            char level[16];
            snprintf(level, sizeof level, levels[l] ? "level %d" : "off",
                     levels[l]);
            printf("| %zu KB (%zu bytes) | %s | %ld | %ld | %ld | %.1f%% | %ld "
                   "| %.2f | ", sizes[s] / 1024, b[0].len, level, w.data,
                   w.header, wire,
                   off_size ? 100.0 * (double)wire / (double)off_size : 0.0,
                   rs, prep_us);
            if (mc_available())
                printf("%.2f", allocs);
            else
                printf("n/a");
            printf(" | %.2f | %.0f |\n", L.cpu, (double)L.measure / L.secs);
            fflush(stdout);
            alt_lb_free(lb);
        }
        free_bodies(b, NKEYS);
    }
    printf("\n");
    if (failed)
        printf("**%ld requests failed.**\n\n", failed);
    return failed || prep_bad ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* bytes: bytes per request before / after, against the local cluster        */
/* ------------------------------------------------------------------------ */

/* "before": the way test/support/testutil.c's tu_setup_api() builds a
 * request (Content-Type and X-Amz-Target, libcurl's Accept: * / * left in,
 * CURLOPT_COPYPOSTFIELDS), then alt_curl_prepare(). */
static long before_request(alt_lb *lb, const char *op, const char *json,
                           struct wire *w, long *reqsize)
{
    CURL *h = curl_easy_init();
    char target[128];
    snprintf(target, sizeof target, "X-Amz-Target: DynamoDB_20120810.%s", op);
    struct curl_slist *hd = curl_slist_append(NULL,
        "Content-Type: application/x-amz-json-1.0");
    hd = curl_slist_append(hd, target);
    if (!h || !hd)
        die("out of memory");
    curl_easy_setopt(h, CURLOPT_URL, alt_lb_url(lb));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, json);
    count_wire(h, w, 5000L);
    if (alt_curl_prepare(lb, h) != ALT_OK)
        die("alt_curl_prepare");
    long code = perform_sized(h, reqsize);
    curl_easy_cleanup(h);
    curl_slist_free_all(hd);
    return code;
}

static int bytes_pass(bool auth)
{
    tc_cluster *c = tc_start(auth ? "--nodes 3 --auth bench:secret"
                                  : "--nodes 3");
    if (!c)
        die("cannot start the test cluster (test/deps.sh installs Node.js "
            "and its packages; ALT_CLUSTER_DIR=test/cluster)");
    int port = tc_port(c);
    alt_lb *lb = new_lb(port, auth, ALT_AFFINITY_RMW, 0, true);
    int bad = 0;
    struct wire w;
    long rs;
    const char *create =
        "{\"TableName\":\"" TABLE "\",\"KeySchema\":[{\"AttributeName\":\"pk\","
        "\"KeyType\":\"HASH\"}],\"AttributeDefinitions\":[{\"AttributeName\":"
        "\"pk\",\"AttributeType\":\"S\"}],\"BillingMode\":\"PAY_PER_REQUEST\"}";
    long st = before_request(lb, "CreateTable", create, &w, &rs);
    if (st != 200) {
        fprintf(stderr, "request_bench: CreateTable: HTTP %ld\n", st);
        bad++;
    }
    static struct body put[1], get[1];
    make_bodies(put, 1, 1024, false, false);
    make_bodies(get, 1, 0, false, true);
    const char *ops[2] = {"GetItem", "PutItem"};
    const struct body *bodies[2] = {get, put};
    /* PutItem first, so that GetItem finds the item. */
    long bsize[2], asize[2], bhead[2], ahead[2];
    for (int k = 1; k >= 0; k--) {
        st = before_request(lb, ops[k], bodies[k]->p, &w, &bsize[k]);
        bhead[k] = w.header;
        if (st != 200) {
            fprintf(stderr, "request_bench: %s before: HTTP %ld\n", ops[k], st);
            bad++;
        }
        st = one_request(lb, REQUEST, k == 0, bodies[k], &w, &asize[k]);
        ahead[k] = w.header;
        if (st != 200) {
            fprintf(stderr, "request_bench: %s after: HTTP %ld\n", ops[k], st);
            bad++;
        }
    }
    for (int k = 0; k < 2; k++)
        printf("| %s | %s | %zu | %ld (%ld) | %ld (%ld) | %+ld |\n", ops[k],
               auth ? "SigV4 (cluster --auth)" : "none", bodies[k]->len,
               bsize[k], bhead[k], asize[k], ahead[k], asize[k] - bsize[k]);
    fflush(stdout);
    free_bodies(put, 1);
    free_bodies(get, 1);
    alt_lb_free(lb);
    tc_stop(c);
    return bad;
}

static int cmd_bytes(void)
{
    printf("### 8d. Bytes per request (CURLINFO_REQUEST_SIZE), before and "
           "after\n\n");
    printf("Against the local Alternator stand-in (test/cluster, 3 nodes; "
           "with `--auth` for the SigV4 rows, which it verifies as "
           "Alternator does); every request answered 200. before = built as "
           "test/support/testutil.c's tu_setup_api() does (Content-Type and "
           "X-Amz-Target in an HTTPHEADER list, libcurl's default `Accept: "
           "*/*` left in, CURLOPT_COPYPOSTFIELDS) then alt_curl_prepare(); "
           "after = alt_curl_prepare_request() (no Accept; with SigV4 "
           "libcurl 7.88 still lists the removed header as `accept;` in "
           "SignedHeaders). REQUEST_SIZE counts the request line, the "
           "headers and the body; the headers alone (CURLINFO_HEADER_OUT) "
           "in brackets. The PutItem is the 1 KB conditional one of 8a, the "
           "GetItem a consistent read of its key. No compression.\n\n");
    printf("| request | auth | body bytes | before: bytes (headers) | after: "
           "bytes (headers) | after - before |\n|---|---|---|---|---|---|\n");
    int bad = bytes_pass(false) + bytes_pass(true);
    printf("\n");
    if (bad)
        printf("**%d requests were not answered 200.**\n\n", bad);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: request_bench micro|cpu|instr|prep|zip|bytes "
                "[key=value...]\n(run them with test/bench/run.sh)\n");
        return 2;
    }
    bench_init("request_bench", 2, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        die("curl_global_init");
    int rc;
    if (strcmp(argv[1], "micro") == 0)
        rc = cmd_micro(argc, argv);
    else if (strcmp(argv[1], "cpu") == 0)
        rc = cmd_cpu(argc, argv);
    else if (strcmp(argv[1], "instr") == 0)
        rc = cmd_instr(argc, argv);
    else if (strcmp(argv[1], "prep") == 0)
        rc = cmd_prep(argc, argv);
    else if (strcmp(argv[1], "zip") == 0)
        rc = cmd_zip(argc, argv);
    else if (strcmp(argv[1], "bytes") == 0)
        rc = cmd_bytes();
    else
        die("unknown subcommand");
    curl_slist_free_all(hand_put);
    curl_slist_free_all(hand_get);
    curl_global_cleanup();
    return rc;
}
