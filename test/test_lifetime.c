/*
 * Lifetimes, locks and limits (issue 7, findings D11-D16), against the
 * local cluster:
 *
 *  D11 nothing dangles on the caller's handle: after alt_curl_release()
 *      the handle is the caller's again (no CONNECT_TO, no SigV4, no
 *      timeouts of the library's; alt_curl_done() on it is a no-op; the
 *      library's memory stays flat over 100,000 handles) and works after
 *      alt_lb_free(); without release, cleanup, reset and a new CONNECT_TO
 *      are safe after alt_lb_free() (run it under ASan);
 *  D12 the addresses alt_lb_nodes() copies out outlive fake-domain changes
 *      and refreshes that churn the node registry;
 *  D13 node records reused (over 10,000 distinct addresses through a
 *      4096-record registry) while 4 threads send requests that fail on
 *      those nodes, some reported late (run it under TSan and ASan); every
 *      log line names a well-formed address, and each rotation holds the
 *      addresses of its answer, each once;
 *  D14 the log sink is never called with a library lock held: a sink that
 *      takes an application lock, held by another thread calling
 *      alt_lb_refresh(), does not deadlock (watchdog, no hang);
 *  D15 setters refuse what they cannot honour and a refused setter
 *      changes nothing; the /localnodes URL keeps a 128-character rack
 *      behind a 253-character fake domain and 128-character datacenter;
 *  D16 the refresher thread sleeps while the multi's refresh hangs after a
 *      node failure (context switches of the thread over 1 s).
 *
 * ./test_lifetime [NAME]: runs only the tests whose name contains NAME.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifdef OLD_API
/* Builds against the 0.1 library, to show the findings there: no release
 * (so "release" is the old program's "nothing"), alt_lb_nodes handing out
 * pointers into lb. */
#define alt_curl_release(lb, easy) ((void)(lb), (void)(easy))
size_t old_nodes_raw(const alt_lb *lb, const char **nodes, size_t max);
#endif

static tc_cluster *cl;
static int port;

#define CMD(...) REQUIRE(tc_cmd(cl, NULL, 0, __VA_ARGS__) == 0)

/* --------------------------------------------------------------- helpers */

static size_t discard(char *data, size_t size, size_t nmemb, void *ud)
{
    (void)data;
    (void)ud;
    return size * nmemb;
}

/* A plain GET url on easy as it stands (the caller's own request, no
 * library): only the URL, method, headers and the sink are set here. */
static CURLcode plain_get(CURL *easy, const char *url, tu_reply *r)
{
    memset(r, 0, sizeof *r);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, tu_write_reply);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(easy);
    tu_collect(easy, r);
    return rc;
}

/* A plain ListTables POST to url on easy (5 s timeout of the caller's). */
static CURLcode plain_list_tables(CURL *easy, const char *url, tu_reply *r)
{
    struct curl_slist *h;
    tu_setup_api(easy, url, "ListTables", "{}", r, &h);
    CURLcode rc = curl_easy_perform(easy);
    tu_collect(easy, r);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    curl_slist_free_all(h);
    return rc;
}

/* One ListTables through the library; frees its header list and unsets it
 * from the handle (so that later reuse never reads it). */
static CURLcode lb_list_tables(alt_lb *lb, CURL *easy, tu_reply *r)
{
    CURLcode rc = tu_list_tables(lb, easy, r);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    return rc;
}

static const char *node_url(int i, char buf[64])
{
    snprintf(buf, 64, "http://127.0.0.%d:%d/", i, port);
    return buf;
}

/* Which node index the last connection attempt of a handle went to; with
 * refuse_other > 0, attempts to any other node are cut client-side. */
typedef struct target_log {
    int last;
    int refuse_other;
} target_log;

static curl_socket_t open_sock(void *ud, curlsocktype purpose,
                               struct curl_sockaddr *a)
{
    (void)purpose;
    target_log *t = ud;
    t->last = -1;
    if (a->family == AF_INET) {
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)&a->addr)->sin_addr,
                  ip, sizeof ip);
        t->last = tu_node_index(ip);
    }
    if (t->refuse_other > 0 && t->last != t->refuse_other)
        return CURL_SOCKET_BAD;
    return socket(a->family, a->socktype, a->protocol);
}

static void watch(CURL *e, target_log *t)
{
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_sock);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
}

static size_t list_nodes(alt_lb *lb, char *buf, size_t size)
{
    char nodes[16][ALT_ADDR_MAX];
    size_t n = alt_lb_nodes(lb, nodes, 16), len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && i < 16; i++)
        len += (size_t)snprintf(buf + len, len < size ? size - len : 0,
                                "%s%s", i ? "," : "", nodes[i]);
    return n;
}

static struct timespec realtime_in(long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Live heap bytes: the sanitizer's count when there is one, else glibc's. */
extern size_t __sanitizer_get_current_allocated_bytes(void)
    __attribute__((weak));

static long long heap_bytes(void)
{
    if (__sanitizer_get_current_allocated_bytes)
        return (long long)__sanitizer_get_current_allocated_bytes();
    struct mallinfo2 mi = mallinfo2();
    return (long long)(mi.uordblks + mi.hblkhd);
}

static long rss_kb(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    REQUIRE(f != NULL);
    REQUIRE(fscanf(f, "%ld %ld", &pages, &resident) == 2);
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* ------------------------------------------------------------------ D11 */

/* A handle that ran a request through lb, released, then lb freed: the
 * handle serves a plain request to a node, under ASan too. */
static void d11_reuse_after_release_and_free(void)
{
    alt_lb *lb = tu_lb(port, 1, 1);
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    CURL *e = curl_easy_init();
    REQUIRE(e != NULL);
    tu_reply r;
    for (int k = 0; k < 3; k++) { /* a connection to every node */
        CHECK_EQ(lb_list_tables(lb, e, &r), CURLE_OK);
        CHECK_EQ(r.status, 200);
    }
    alt_curl_release(lb, e);
    alt_lb_free(lb);

    char url[64], want[64];
    snprintf(want, sizeof want, "healthy: 127.0.0.1:%d", port);
    for (int k = 0; k < 2; k++) {
        CURLcode rc = plain_get(e, node_url(1, url), &r);
        fprintf(stderr, "  plain GET %s after release + alt_lb_free: %s, "
                "status %ld, from %s, \"%s\"\n", url, curl_easy_strerror(rc),
                r.status, r.ip, r.body);
        CHECK_EQ(rc, CURLE_OK);
        CHECK_EQ(r.status, 200);
        CHECK(strcmp(r.body, want) == 0);
        CHECK(strcmp(r.ip, "127.0.0.1") == 0);
    }
    curl_easy_cleanup(e);
}

/* Release unsets CONNECT_TO: the fake-domain URL no longer reaches a node
 * (it does on a handle not released: the check can fail). */
static void d11_release_unsets_connect_to(void)
{
    alt_lb *lb = tu_lb(port, 1, 1);
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    CURL *e = curl_easy_init(), *kept = curl_easy_init();
    tu_reply r;
    CHECK_EQ(lb_list_tables(lb, e, &r), CURLE_OK);
    CHECK_EQ(lb_list_tables(lb, kept, &r), CURLE_OK);
    alt_curl_release(lb, e);

    /* The caller's own resolution of the fake name, to a loopback address
     * where nothing listens (and no DNS query leaves the host). */
    char entry[64];
    snprintf(entry, sizeof entry, "alt.invalid:%d:127.0.0.250", port);
    struct curl_slist *resolve = curl_slist_append(NULL, entry);
    curl_easy_setopt(e, CURLOPT_RESOLVE, resolve);
    curl_easy_setopt(kept, CURLOPT_RESOLVE, resolve);
    long health0 = tu_stat_sum(cl, 3, "health");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 3000L);
    CURLcode rc = plain_get(e, alt_lb_url(lb), &r);
    long reached = tu_stat_sum(cl, 3, "health") - health0;
    fprintf(stderr, "  released handle, GET %s: %s (%ld node(s) reached)\n",
            alt_lb_url(lb), curl_easy_strerror(rc), reached);
    CHECK_EQ(rc, CURLE_COULDNT_CONNECT);
    CHECK_EQ(reached, 0);

    health0 = tu_stat_sum(cl, 3, "health");
    rc = plain_get(kept, alt_lb_url(lb), &r);
    reached = tu_stat_sum(cl, 3, "health") - health0;
    fprintf(stderr, "  handle not released, same GET: %s, status %ld, "
            "\"%s\"\n", curl_easy_strerror(rc), r.status, r.body);
    CHECK_EQ(rc, CURLE_OK);
    CHECK_EQ(reached, 1);
    alt_curl_release(lb, kept);
    curl_easy_cleanup(e);
    curl_easy_cleanup(kept);
    curl_slist_free_all(resolve);
    alt_lb_free(lb);
}

/* What the header allows after alt_lb_free() without release:
 * curl_easy_cleanup, curl_easy_reset then reuse, a new CONNECT_TO. */
static void d11_after_free_without_release(void)
{
    alt_lb *lb = tu_lb(port, 1, 1);
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    CURL *h[3];
    tu_reply r;
    for (int i = 0; i < 3; i++) {
        h[i] = curl_easy_init();
        REQUIRE(h[i] != NULL);
        CHECK_EQ(lb_list_tables(lb, h[i], &r), CURLE_OK);
        CHECK_EQ(r.status, 200);
    }
    alt_lb_free(lb);

    curl_easy_cleanup(h[0]);

    char url[64], want[96];
    curl_easy_reset(h[1]);
    CURLcode rc = plain_get(h[1], node_url(2, url), &r);
    snprintf(want, sizeof want, "healthy: 127.0.0.2:%d", port);
    fprintf(stderr, "  reset after alt_lb_free, GET %s: %s, \"%s\"\n", url,
            curl_easy_strerror(rc), r.body);
    CHECK_EQ(rc, CURLE_OK);
    CHECK(strcmp(r.body, want) == 0);

    char entry[96];
    snprintf(entry, sizeof entry, "alt.invalid:%d:127.0.0.3:%d", port, port);
    struct curl_slist *mine = curl_slist_append(NULL, entry);
    curl_easy_setopt(h[2], CURLOPT_CONNECT_TO, mine);
    snprintf(url, sizeof url, "http://alt.invalid:%d/", port);
    rc = plain_get(h[2], url, &r);
    snprintf(want, sizeof want, "healthy: alt.invalid:%d", port);
    fprintf(stderr, "  own CONNECT_TO after alt_lb_free, GET %s: %s, from "
            "%s, \"%s\"\n", url, curl_easy_strerror(rc), r.ip, r.body);
    CHECK_EQ(rc, CURLE_OK);
    CHECK(strcmp(r.body, want) == 0);
    CHECK(strcmp(r.ip, "127.0.0.3") == 0);
    curl_easy_cleanup(h[1]);
    curl_easy_cleanup(h[2]);
    curl_slist_free_all(mine);
}

/* Released, the handle is forgotten: reporting its refused connection
 * afterwards blames nobody (without release it takes the node out). */
static void d11_release_forgets(void)
{
    alt_lb *lb = tu_lb(port, 1, 1);
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    REQUIRE(alt_lb_nodes(lb, NULL, 0) == 3);
    CMD("kill %d", 2);
    int released_in = -1, kept_in = -1;
    for (int pass = 0; pass < 2; pass++) {
        CURL *e = curl_easy_init();
        target_log t = {0, 0};
        watch(e, &t);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 3000L);
        tu_reply r;
        CURLcode rc = CURLE_OK;
        for (int k = 0; k < 6; k++) {
            REQUIRE(alt_curl_prepare(lb, e) == ALT_OK);
            rc = plain_get(e, alt_lb_url(lb), &r);
            if (t.last == 2)
                break;
            alt_curl_done(lb, e, rc);
        }
        CHECK(t.last == 2); /* else node 2 is out already */
        if (t.last != 2) {
            alt_curl_release(lb, e);
            curl_easy_cleanup(e);
            continue;
        }
        CHECK_EQ(rc, CURLE_COULDNT_CONNECT);
        if (pass == 0)
            alt_curl_release(lb, e); /* then the report is no-one's */
        alt_curl_done(lb, e, rc);
        if (pass == 0)
            released_in = tu_in_rotation(lb, "127.0.0.2");
        else
            kept_in = tu_in_rotation(lb, "127.0.0.2");
        alt_curl_release(lb, e);
        curl_easy_cleanup(e);
    }
    fprintf(stderr, "  refused connection to node 2 reported after release: "
            "node 2 %s; reported without release: node 2 %s\n",
            released_in == 1 ? "in rotation" : released_in == 0 ? "OUT" : "-",
            kept_in == 1 ? "in rotation" : kept_in == 0 ? "out"
                                                        : "never reached");
    CHECK_EQ(released_in, 1);
    CHECK_EQ(kept_in, 0);
    CMD("revive %d", 2);
    alt_lb_free(lb);
}

/* 100,000 handles prepared and released: the heap stays flat. (glibc
 * hands freed handles' addresses out again, so without sanitizers the
 * handles are few distinct keys and this mostly checks that release leaks
 * nothing; under ASan, whose quarantine keeps addresses fresh, a library
 * that remembered released handles grows by megabytes here.) */
static void d11_many_handles_flat(void)
{
    enum { WINDOW = 1000, ROUNDS = 100 };
    alt_lb *lb = tu_lb(port, 1, 3);
    static CURL *h[WINDOW];
    long long t0 = tu_now_ms(), heap0 = 0;
    long rss0 = 0, not_ok = 0;
    for (int round = -5; round < ROUNDS; round++) {
        REQUIRE(tu_now_ms() - t0 < 60000);
        if (round == 0) { /* after a warm-up */
            heap0 = heap_bytes();
            rss0 = rss_kb();
        }
        for (int i = 0; i < WINDOW; i++) {
            REQUIRE((h[i] = curl_easy_init()) != NULL);
            if (alt_curl_prepare(lb, h[i]) != ALT_OK)
                not_ok++;
        }
        for (int i = 0; i < WINDOW; i++) {
            alt_curl_release(lb, h[i]);
            curl_easy_cleanup(h[i]);
        }
    }
    long long grew = heap_bytes() - heap0;
    long rss_grew = rss_kb() - rss0;
    fprintf(stderr, "  %d handles prepared and released (%d at a time) in "
            "%lld ms: heap %+lld bytes, RSS %+ld KiB\n", WINDOW * ROUNDS,
            WINDOW, tu_now_ms() - t0, grew, rss_grew);
    CHECK_EQ(not_ok, 0);
    CHECK(grew < 256 * 1024);
    /* A sanitizer's allocator keeps freed memory in quarantine: RSS says
     * nothing there, its count of live bytes does. */
    if (!__sanitizer_get_current_allocated_bytes)
        CHECK(rss_grew < 8 * 1024);
    alt_lb_free(lb);
}

/* With credentials and request timeouts set, release takes them off: the
 * handle's next plain request is not signed (400 from a cluster that
 * checks signatures) and has no timeout of the library's. */
static void d11_release_clears_sigv4_and_timeouts(void)
{
    tc_cluster *ca = tu_cluster("--nodes 2 --auth k:s");
    int p = tc_port(ca);
    alt_lb *lb = tu_lb(p, 1, 1);
    REQUIRE(alt_lb_set_credentials(lb, "k", "s", NULL) == ALT_OK);
#ifndef OLD_API
    REQUIRE(alt_lb_set_timeouts(lb, 400, 300) == ALT_OK);
#endif
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    CURL *e = curl_easy_init(), *kept = curl_easy_init();
    tu_reply r;
    CHECK_EQ(lb_list_tables(lb, e, &r), CURLE_OK);
    CHECK_EQ(r.status, 200);
    CHECK_EQ(lb_list_tables(lb, kept, &r), CURLE_OK);
    CHECK_EQ(r.status, 200);
    alt_curl_release(lb, e);

    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", p);
    CURLcode rc = plain_list_tables(e, url, &r);
    fprintf(stderr, "  released: plain ListTables: %s, status %ld, %.90s\n",
            curl_easy_strerror(rc), r.status, r.body);
    CHECK_EQ(rc, CURLE_OK);
    CHECK_EQ(r.status, 400);
    CHECK(strstr(r.body, "MissingAuthenticationToken") != NULL);
    rc = plain_list_tables(kept, url, &r);
    fprintf(stderr, "  not released: plain ListTables: %s, status %ld\n",
            curl_easy_strerror(rc), r.status);
    CHECK_EQ(rc, CURLE_OK);
    CHECK_EQ(r.status, 200); /* still signed: the check above can fail */

#ifndef OLD_API
    /* Timeouts: node 1 answers after 700 ms, past the library's 400. */
    REQUIRE(tc_cmd(ca, NULL, 0, "slow 1 700") == 0);
    long long t0 = tu_now_ms();
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 0L); /* as the caller had it */
    rc = plain_get(e, url, &r);
    long long dt = tu_now_ms() - t0;
    fprintf(stderr, "  released: GET from a node answering in 700 ms: %s "
            "after %lld ms\n", curl_easy_strerror(rc), dt);
    CHECK_EQ(rc, CURLE_OK);
    CHECK_EQ(r.status, 200);
    /* The handle not released still carries the library's 400 ms (the
     * caller's own 5 s of tu_setup_api was overwritten by prepare). */
    alt_curl_prepare(lb, kept);
    t0 = tu_now_ms();
    rc = plain_get(kept, url, &r);
    dt = tu_now_ms() - t0;
    fprintf(stderr, "  prepared, not released: same GET: %s after %lld ms\n",
            curl_easy_strerror(rc), dt);
    CHECK_EQ(rc, CURLE_OPERATION_TIMEDOUT);
    REQUIRE(tc_cmd(ca, NULL, 0, "slow 1 0") == 0);
#endif
    alt_curl_release(lb, kept);
    curl_easy_cleanup(e);
    curl_easy_cleanup(kept);
    alt_lb_free(lb);
    tc_stop(ca);
}

/* ------------------------------------------------------------------ D12 */

#ifdef OLD_API
typedef const char *copy_t;
#define NODES(lb, arr, max) old_nodes_raw(lb, arr, max)
#else
typedef char copy_t[ALT_ADDR_MAX];
#define NODES(lb, arr, max) alt_lb_nodes(lb, arr, max)
#endif

/* Copies taken before two fake-domain changes are intact after them. */
static void d12_copies_survive_fake_domain(void)
{
    const char *seeds[] = {"127.0.0.1", "127.0.0.2", "127.0.0.3"};
    alt_lb *lb = NULL;
    REQUIRE(alt_lb_new(&lb, "http", port, seeds, 3) == ALT_OK);
    copy_t got[3];
    CHECK_EQ(NODES(lb, got, 3), 3);
    REQUIRE(alt_lb_set_fake_domain(lb, "first.example") == ALT_OK);
    REQUIRE(alt_lb_set_fake_domain(lb, "second.example") == ALT_OK);
    char url[96];
    snprintf(url, sizeof url, "http://second.example:%d/", port);
    CHECK(strcmp(alt_lb_url(lb), url) == 0);
    int intact = 0;
    for (int i = 0; i < 3; i++)
        intact += strcmp(got[i], seeds[i]) == 0;
    fprintf(stderr, "  after two alt_lb_set_fake_domain: %d of 3 copies "
            "intact\n", intact);
    CHECK_EQ(intact, 3);
    alt_lb_free(lb);
}

/* Copies of churned-out addresses are intact after four refreshes that
 * churn 8192 addresses through the registry; the copies are whole, also
 * for a 253-character host name; max is honoured. */
static void d12_copies_survive_churn(void)
{
    /* A 253-character host name, copied whole (this lb is freed before
     * anything could try to resolve it). */
    alt_lb *lb = tu_lb(port, 1, 1);
    char longname[254], body[512];
    memset(longname, 'h', 253);
    longname[63] = longname[127] = longname[191] = '.';
    longname[253] = '\0';
    snprintf(body, sizeof body, "[\"127.0.0.1\",\"%s\"]", longname);
    CMD("localnodes %d %s", 1, body);
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    copy_t two[3];
#ifndef OLD_API
    memset(two, 'z', sizeof two);
#endif
    CHECK_EQ(NODES(lb, two, 2), 2);
    CHECK(strcmp(two[0], "127.0.0.1") == 0);
    CHECK(strlen(two[1]) == 253 && strcmp(two[1], longname) == 0);
#ifndef OLD_API
    CHECK(two[2][0] == 'z'); /* max 2: the third is untouched */
    CHECK_EQ(alt_lb_nodes(lb, two, 1), 2);
    CHECK_EQ(alt_lb_nodes(lb, NULL, 0), 2);
#endif
    alt_lb_free(lb);

    lb = tu_lb(port, 1, 1); /* node 1 answers: nothing else is listening */
    REQUIRE(alt_lb_set_discovery_timeout(lb, 500, 2000) == ALT_OK);
    /* Answer 0 of 2048 new addresses: keep copies of some of them. */
    char *many = tu_many_addresses(60, 2048);
    CMD("localnodes %d %s", 1, many);
    free(many);
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    enum { KEEP = 8 };
    copy_t kept[KEEP];
    char snap[KEEP][ALT_ADDR_MAX];
    size_t nk = NODES(lb, kept, KEEP);
    REQUIRE(nk >= KEEP);
    for (int i = 0; i < KEEP; i++)
        snprintf(snap[i], sizeof snap[i], "%.255s", kept[i]);
    for (int k = 1; k <= 4; k++) {
        many = tu_many_addresses(60 + k, 2048);
        CMD("localnodes %d %s", 1, many);
        free(many);
        alt_code rc = alt_lb_refresh(lb);
        char first[ALT_ADDR_MAX] = "", prefix[32];
        snprintf(prefix, sizeof prefix, "127.%d.", 60 + k);
#ifndef OLD_API
        char one[1][ALT_ADDR_MAX];
        if (alt_lb_nodes(lb, one, 1) >= 1)
            snprintf(first, sizeof first, "%s", one[0]);
        CHECK(strncmp(first, prefix, strlen(prefix)) == 0);
#endif
        fprintf(stderr, "  churn refresh %d: %s, first node %s\n", k,
                alt_strerror(rc), first);
        CHECK_EQ(rc, ALT_OK);
    }
    int intact = 0;
    for (int i = 0; i < KEEP; i++)
        intact += strcmp(kept[i], snap[i]) == 0
                  && strncmp(snap[i], "127.60.", 7) == 0;
    fprintf(stderr, "  after 4 churning refreshes (8192 new addresses): %d "
            "of %d copies intact (%s ...)\n", intact, KEEP, snap[0]);
    CHECK_EQ(intact, KEEP);
    CMD("localnodes %d default", 1);
    alt_lb_free(lb);
}

/* ------------------------------------------------------------------ D13 */

#define D13_SENDERS 4
#define D13_ANSWERS 100000
#define D13_PREFIXES 210 /* 127.40.x.y ... 127.249.x.y, then again */

static struct {
    alt_lb *lb;
    atomic_int stop;
    atomic_long requests[D13_SENDERS];
    atomic_long ok;
    atomic_long logs, checked, bad;
    atomic_long hold_ms;    /* odd senders report this late */
} d13;

/* An address at the start of s: 127.a.b.c followed by ' ', ':' or NUL. */
static int addr_ok(const char *s)
{
    int a, b, c, d, n = 0;
    if (sscanf(s, "%d.%d.%d.%d%n", &a, &b, &c, &d, &n) != 4)
        return 0;
    if (a != 127 || b < 0 || b > 255 || c < 0 || c > 255 || d < 0 || d > 255)
        return 0;
    return s[n] == ' ' || s[n] == ':' || s[n] == '\0';
}

#define RELAXED_ADD(counter, v) \
    atomic_fetch_add_explicit(&(counter), (v), memory_order_relaxed)

/* Every message naming a node must name a well-formed address. Relaxed
 * counters: the sink must not order the threads for ThreadSanitizer (an
 * application's sink need not). */
static void d13_log(void *ud, alt_log_level level, const char *msg)
{
    (void)ud;
    (void)level;
    RELAXED_ADD(d13.logs, 1);
    const char *a = NULL;
    if (strncmp(msg, "node ", 5) == 0)
        a = msg + 5;
    else if (strncmp(msg, "/localnodes from ", 17) == 0)
        a = msg + 17;
    if (!a)
        return;
    RELAXED_ADD(d13.checked, 1);
    if (!addr_ok(a) && RELAXED_ADD(d13.bad, 1) < 5)
        fprintf(stderr, "  malformed address in log: %.120s\n", msg);
}

static void *d13_sender(void *arg)
{
    int id = (int)(intptr_t)arg;
    CURL *e = curl_easy_init();
    REQUIRE(e != NULL);
    curl_easy_setopt(e, CURLOPT_URL, alt_lb_url(d13.lb));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 2000L);
    long long deadline = tu_now_ms() + 20000;
    for (long k = 0; k < 1000000 && !atomic_load(&d13.stop)
                     && tu_now_ms() < deadline; k++) {
        CURLcode rc;
        if (id % 2 == 0) {
            rc = alt_curl_perform(d13.lb, e);
        } else {
            /* Reported late, after the answer its node came from was
             * replaced; then a pause (the handle untouched) while the
             * next answers may reuse records. */
            alt_curl_prepare(d13.lb, e);
            rc = curl_easy_perform(e);
            long hold = atomic_load(&d13.hold_ms);
            for (long t = 0; t < hold && !atomic_load(&d13.stop); t += 10)
                tu_sleep_ms(10);
            alt_curl_done(d13.lb, e, rc);
            for (long t = 0; t < hold && !atomic_load(&d13.stop); t += 10)
                tu_sleep_ms(10);
        }
        RELAXED_ADD(d13.requests[id], 1);
        if (rc == CURLE_OK)
            RELAXED_ADD(d13.ok, 1);
    }
    alt_curl_release(d13.lb, e);
    curl_easy_cleanup(e);
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Checks the whole rotation: returns how many addresses are in it more
 * than once; *foreign counts those not starting with prefix. */
static int rotation_check(alt_lb *lb, const char *prefix, int *foreign)
{
    static char all[2048][ALT_ADDR_MAX];
    static const char *sorted[2048];
    size_t n = alt_lb_nodes(lb, all, 2048);
    CHECK(n >= 1 && n <= 2048);
    if (n > 2048)
        n = 2048;
    for (size_t i = 0; i < n; i++) {
        sorted[i] = all[i];
        *foreign += strncmp(all[i], prefix, strlen(prefix)) != 0;
    }
    qsort(sorted, n, sizeof *sorted, cmp_str);
    int dups = 0;
    for (size_t i = 1; i < n; i++)
        dups += strcmp(sorted[i - 1], sorted[i]) == 0;
    return dups;
}

static void d13_record_reuse_race(void)
{
    memset(&d13, 0, sizeof d13);
    alt_lb *lb = d13.lb = tu_lb(port, 1, 1); /* the seed, node 1, answers */
    REQUIRE(alt_lb_set_logger(lb, d13_log, NULL, ALT_LOG_DEBUG) == ALT_OK);
    REQUIRE(alt_lb_set_discovery_timeout(lb, 500, 2000) == ALT_OK);
    /* The first answer before the senders start. */
    char *body = tu_many_addresses(40, 2048);
    CMD("localnodes %d %s", 1, body);
    free(body);
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);

    pthread_t th[D13_SENDERS];
    for (int i = 0; i < D13_SENDERS; i++)
        REQUIRE(pthread_create(&th[i], NULL, d13_sender, (void *)(intptr_t)i)
                == 0);
    /* New answers for 3 s (at least 6 answers, at most 10 s). */
    long long t0 = tu_now_ms();
    int answers = 1, wrong = 0, dups = 0;
    long long slowest = 0;
    for (int k = 1; k < D13_ANSWERS
                    && (tu_now_ms() - t0 < 3000 || answers < 6)
                    && tu_now_ms() - t0 < 10000; k++) {
        int octet = 40 + k % D13_PREFIXES;
        body = tu_many_addresses(octet, 2048);
        CMD("localnodes %d %s", 1, body);
        free(body);
        long long t1 = tu_now_ms();
        alt_code rc = alt_lb_refresh(lb);
        if (tu_now_ms() - t1 > slowest)
            slowest = tu_now_ms() - t1;
        atomic_store(&d13.hold_ms, slowest * 2 < 20 ? 20
                                   : slowest * 2 > 1500 ? 1500 : slowest * 2);
        CHECK_EQ(rc, ALT_OK);
        /* What is in rotation is from this answer only, each address
         * once. */
        char prefix[16];
        snprintf(prefix, sizeof prefix, "127.%d.", octet);
        int w = 0, d = rotation_check(lb, prefix, &w);
        if (d && !dups)
            fprintf(stderr, "  answer %d: %d address(es) twice in rotation\n",
                    k, d);
        dups += d;
        wrong += w;
        answers++;
    }
    long long churn_ms = tu_now_ms() - t0;
    atomic_store(&d13.stop, 1);
    for (int i = 0; i < D13_SENDERS; i++) {
        struct timespec until = realtime_in(20000);
        int jr = pthread_timedjoin_np(th[i], NULL, &until);
        REQUIRE(jr == 0);
    }
    long req = 0;
    fprintf(stderr, "  requests per sender (perform, late done, ...):");
    for (int i = 0; i < D13_SENDERS; i++) {
        req += atomic_load(&d13.requests[i]);
        fprintf(stderr, " %ld", atomic_load(&d13.requests[i]));
        CHECK(atomic_load(&d13.requests[i]) > 0);
    }
    fprintf(stderr, "\n");
    fprintf(stderr, "  %d answers of 2048 addresses (%d distinct) in %lld ms "
            "(slowest refresh %lld ms) while %d threads sent %ld requests "
            "(%ld ok); %ld log lines, %ld naming a node, %ld malformed; "
            "rotations: %d foreign address(es), %d duplicate(s)\n", answers,
            (answers < D13_PREFIXES ? answers : D13_PREFIXES) * 2048, churn_ms, slowest, D13_SENDERS, req,
            atomic_load(&d13.ok), atomic_load(&d13.logs),
            atomic_load(&d13.checked), atomic_load(&d13.bad), wrong, dups);
    CHECK(answers * 2048 > 10000);
    CHECK(atomic_load(&d13.checked) > 0);
    CHECK_EQ(atomic_load(&d13.bad), 0);
    CHECK_EQ(wrong, 0);
    CHECK_EQ(dups, 0);

    /* Still serving: the real list comes back and requests succeed. */
    CMD("localnodes %d default", 1);
    CHECK_EQ(alt_lb_refresh(lb), ALT_OK);
    char buf[256];
    size_t n = list_nodes(lb, buf, sizeof buf);
    fprintf(stderr, "  afterwards: %zu nodes: %s\n", n, buf);
    CHECK(strcmp(buf, "127.0.0.1,127.0.0.2,127.0.0.3") == 0);
    CURL *e = curl_easy_init();
    tu_reply r;
    CHECK_EQ(lb_list_tables(lb, e, &r), CURLE_OK);
    CHECK_EQ(r.status, 200);
    alt_curl_release(lb, e);
    curl_easy_cleanup(e);
    alt_lb_free(lb);
}

/* ------------------------------------------------------------------ D14 */

static struct {
    pthread_mutex_t app;        /* the application's lock (recursive) */
    alt_lb *lb;
    atomic_int holding;         /* thread 1 holds app */
    atomic_int other_waiting;   /* thread 2's sink is waiting for app */
    atomic_long msgs[2];
    alt_code rc[2];
    atomic_int done[2];
} d14;

static _Thread_local int d14_who = -1;

static void d14_sink(void *ud, alt_log_level level, const char *msg)
{
    (void)ud;
    (void)level;
    (void)msg;
    if (d14_who == 1)
        atomic_store(&d14.other_waiting, 1);
    pthread_mutex_lock(&d14.app);
    if (d14_who == 0 || d14_who == 1)
        atomic_fetch_add(&d14.msgs[d14_who], 1);
    pthread_mutex_unlock(&d14.app);
}

static void *d14_holder(void *arg)
{
    (void)arg;
    d14_who = 0;
    pthread_mutex_lock(&d14.app);
    atomic_store(&d14.holding, 1);
    /* Until thread 2 is inside its refresh and logging. */
    long long deadline = tu_now_ms() + 5000;
    while (!atomic_load(&d14.other_waiting) && tu_now_ms() < deadline)
        tu_sleep_ms(1);
    d14.rc[0] = alt_lb_refresh(d14.lb);
    pthread_mutex_unlock(&d14.app);
    atomic_store(&d14.done[0], 1);
    return NULL;
}

static void *d14_other(void *arg)
{
    (void)arg;
    d14_who = 1;
    d14.rc[1] = alt_lb_refresh(d14.lb);
    atomic_store(&d14.done[1], 1);
    return NULL;
}

static void d14_sink_takes_app_lock(void)
{
    memset(&d14, 0, sizeof d14);
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    REQUIRE(pthread_mutex_init(&d14.app, &attr) == 0);
    pthread_mutexattr_destroy(&attr);
    /* The first seed, asked first, refuses: a refresh logs for sure. */
    const char *seeds[] = {"127.0.0.9", "127.0.0.1"};
    REQUIRE(alt_lb_new(&d14.lb, "http", port, seeds, 2) == ALT_OK);
    REQUIRE(alt_lb_set_logger(d14.lb, d14_sink, NULL, ALT_LOG_DEBUG) == ALT_OK);
    REQUIRE(alt_lb_set_discovery_timeout(d14.lb, 500, 2000) == ALT_OK);

    pthread_t t1, t2;
    long long t0 = tu_now_ms();
    REQUIRE(pthread_create(&t1, NULL, d14_holder, NULL) == 0);
    while (!atomic_load(&d14.holding) && tu_now_ms() - t0 < 5000)
        tu_sleep_ms(1);
    REQUIRE(atomic_load(&d14.holding));
    REQUIRE(pthread_create(&t2, NULL, d14_other, NULL) == 0);

    /* Watchdog: a deadlock shows as threads that never end. */
    struct timespec until = realtime_in(8000);
    int j1 = pthread_timedjoin_np(t1, NULL, &until);
    int j2 = pthread_timedjoin_np(t2, NULL, &until);
    long long dt = tu_now_ms() - t0;
    fprintf(stderr, "  thread 1 (holds the app lock, refreshes): %s, %s; "
            "thread 2 (logs into a sink that needs it): %s, %s; sink "
            "waited: %s; %ld + %ld messages; %lld ms\n",
            j1 == 0 ? "ended" : "STUCK",
            j1 == 0 ? alt_strerror(d14.rc[0]) : "-",
            j2 == 0 ? "ended" : "STUCK",
            j2 == 0 ? alt_strerror(d14.rc[1]) : "-",
            atomic_load(&d14.other_waiting) ? "yes" : "no",
            atomic_load(&d14.msgs[0]), atomic_load(&d14.msgs[1]), dt);
    CHECK(atomic_load(&d14.other_waiting)); /* the scenario happened */
    CHECK_EQ(j1, 0);
    CHECK_EQ(j2, 0);
    if (j1 != 0 || j2 != 0) {
        fprintf(stderr, "  DEADLOCK: leaving the threads and lb behind\n");
        return;
    }
    CHECK_EQ(d14.rc[0], ALT_OK);
    CHECK_EQ(d14.rc[1], ALT_OK);
    CHECK(atomic_load(&d14.msgs[1]) >= 1);
    alt_lb_free(d14.lb);
    pthread_mutex_destroy(&d14.app);
}

/* ------------------------------------------------------------------ D15 */

/* Refused intervals leave the ones in force: the thread refreshes every
 * 250 ms as set before. */
static void d15_refresh_interval_bounds(void)
{
    alt_lb *lb = tu_lb(port, 1, 1);
    CHECK_EQ(alt_lb_set_refresh_interval(lb, 250, 250), ALT_OK);
    CHECK_EQ(alt_lb_set_refresh_interval(lb, 1000, LONG_MAX), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_refresh_interval(lb, 1000, 1L << 32), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_refresh_interval(lb, 1L << 32, 1L << 32),
             ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_refresh_interval(lb, 1000, 86400001), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_refresh_interval(lb, LONG_MAX, LONG_MAX),
             ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_refresh_interval(lb, 0, 1000), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_refresh_interval(lb, -1, 1000), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_refresh_interval(lb, 500, 400), ALT_E_INVALID_ARG);
    alt_lb *other = tu_lb(port, 1, 1);
    CHECK_EQ(alt_lb_set_refresh_interval(other, 86400000, 86400000), ALT_OK);
    CHECK_EQ(alt_lb_set_refresh_interval(other, 1, 1), ALT_OK);
    alt_lb_free(other);

    long before = tu_stat_sum(cl, 3, "localnodes");
    REQUIRE(alt_lb_start(lb) == ALT_OK);
    long long t0 = tu_now_ms();
    while (tu_now_ms() - t0 < 1500)
        tu_sleep_ms(50);
    long n = tu_stat_sum(cl, 3, "localnodes") - before;
    alt_lb_stop(lb);
    fprintf(stderr, "  after refused intervals: %ld refreshes in 1500 ms "
            "(every 250 ms: about 7)\n", n);
    CHECK(n >= 4 && n <= 10);
    alt_lb_free(lb);
}

#ifndef OLD_API
static void d15_timeouts_maxconnects_bounds(void)
{
    alt_lb *lb = tu_lb(port, 1, 1);
    CHECK_EQ(alt_lb_set_timeouts(lb, 86400000, 86400000), ALT_OK);
    CHECK_EQ(alt_lb_set_timeouts(lb, 0, 0), ALT_OK);
    CHECK_EQ(alt_lb_set_timeouts(lb, 0, 500), ALT_OK);
    CHECK_EQ(alt_lb_set_timeouts(lb, 300, 200), ALT_OK);
    CHECK_EQ(alt_lb_set_timeouts(lb, -1, 0), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_timeouts(lb, 0, -1), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_timeouts(lb, 86400001, 0), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_timeouts(lb, 0, 86400001), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_timeouts(lb, LONG_MAX, 0), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_timeouts(lb, 100, 200), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_maxconnects(lb, -1), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_maxconnects(lb, 1000001), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_maxconnects(lb, LONG_MAX), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_maxconnects(lb, 1000000), ALT_OK);
    CHECK_EQ(alt_lb_set_maxconnects(lb, 0), ALT_OK);
    CHECK_EQ(alt_lb_set_discovery_timeout(lb, 0, 1000), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_discovery_timeout(lb, 1000, 0), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_discovery_timeout(lb, 2000, 1000), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_discovery_timeout(lb, 1000, 86400001),
             ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_discovery_timeout(lb, 1000, 86400000), ALT_OK);

    /* The refused timeouts left 300 ms in force: a node answering in
     * 800 ms times the request out at about 300 ms. */
    CMD("slow %d 800", 1);
    CURL *e = curl_easy_init();
    struct curl_slist *h;
    tu_reply r;
    tu_setup_api(e, alt_lb_url(lb), "ListTables", "{}", &r, &h);
    long long t0 = tu_now_ms();
    CURLcode rc = alt_curl_perform(lb, e);
    long long dt = tu_now_ms() - t0;
    CMD("slow %d 0", 1);
    fprintf(stderr, "  after refused timeouts, a request to a node answering "
            "in 800 ms: %s after %lld ms\n", curl_easy_strerror(rc), dt);
    CHECK_EQ(rc, CURLE_OPERATION_TIMEDOUT);
    CHECK(dt >= 250 && dt < 750);
    alt_curl_release(lb, e);
    curl_easy_cleanup(e);
    curl_slist_free_all(h);
    alt_lb_free(lb);
}
#endif

/* 253-character fake domain, 128-character dc and racks. */
static char d15_fake[254], d15_dc[129], d15_rack1[129], d15_rack2[129],
    d15_rack129[130];

static void d15_names(void)
{
    memset(d15_fake, 'f', 253);
    d15_fake[63] = d15_fake[127] = d15_fake[191] = '.';
    d15_fake[253] = '\0';
    memset(d15_dc, 'd', 128);
    d15_dc[128] = '\0';
    memset(d15_rack1, 'r', 128);
    d15_rack1[128] = '\0';
    d15_rack1[127] = '1';
    memcpy(d15_rack2, d15_rack1, sizeof d15_rack2);
    d15_rack2[127] = '2';
    memset(d15_rack129, 'r', 129);
    d15_rack129[129] = '\0';
}

/* The cluster sees the rack: nodes 1 and 3 in rack 1, node 2 in rack 2;
 * an lb scoped to rack 2 learns node 2 alone. Setters that refuse (too
 * long, rack without dc) leave the scope as it was. */
static void d15_long_scope_cluster(void)
{
    d15_names();
    char args[1024];
    snprintf(args, sizeof args, "--nodes 3 --topology %s:%s,%s:%s,%s:%s",
             d15_dc, d15_rack1, d15_dc, d15_rack2, d15_dc, d15_rack1);
    tc_cluster *ct = tu_cluster(args);
    alt_lb *lb = tu_lb(tc_port(ct), 1, 1);
    REQUIRE(alt_lb_set_logger(lb, tu_capture_log, NULL, ALT_LOG_DEBUG) == ALT_OK);
    CHECK_EQ(alt_lb_set_fake_domain(lb, d15_fake), ALT_OK);
    CHECK_EQ(alt_lb_set_datacenter(lb, d15_dc, d15_rack2), ALT_OK);
    char longer[300];
    snprintf(longer, sizeof longer, "x%s", d15_fake);
    CHECK_EQ(alt_lb_set_fake_domain(lb, longer), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_datacenter(lb, d15_dc, d15_rack129), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_datacenter(lb, NULL, d15_rack1), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_datacenter(lb, d15_dc, "bad rack"), ALT_E_INVALID_ARG);
    char url[300];
    snprintf(url, sizeof url, "http://%s:%d/", d15_fake, tc_port(ct));
    CHECK(strcmp(alt_lb_url(lb), url) == 0);

    tu_log_reset();
    alt_code rc = alt_lb_refresh(lb);
    char buf[256];
    size_t n = list_nodes(lb, buf, sizeof buf);
    fprintf(stderr, "  fake domain %zu chars, dc %zu, rack %zu: refresh %s, "
            "%zu node(s): %s; scope widened: %s\n", strlen(d15_fake),
            strlen(d15_dc), strlen(d15_rack2), alt_strerror(rc), n, buf,
            tu_log_count("widening") ? "yes" : "no");
    CHECK_EQ(rc, ALT_OK);
    CHECK(strcmp(buf, "127.0.0.2") == 0);
    CHECK_EQ(tu_log_count("widening"), 0);

    /* And requests through that long name work. */
    CURL *e = curl_easy_init();
    tu_reply r;
    CHECK_EQ(lb_list_tables(lb, e, &r), CURLE_OK);
    CHECK_EQ(r.status, 200);
    CHECK(strcmp(r.ip, "127.0.0.2") == 0);
    alt_curl_release(lb, e);
    curl_easy_cleanup(e);
    alt_lb_free(lb);
    tc_stop(ct);
}

/* A one-shot HTTP server that records the request it gets. */
typedef struct capture_srv {
    int fd, port;
    char req[4096];
    size_t len;
    const char *answer;
} capture_srv;

static void *capture_serve(void *arg)
{
    capture_srv *s = arg;
    struct pollfd p = {s->fd, POLLIN, 0};
    if (poll(&p, 1, 5000) != 1)
        return NULL;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    long long deadline = tu_now_ms() + 5000;
    while (s->len < sizeof s->req - 1 && !strstr(s->req, "\r\n\r\n")
           && tu_now_ms() < deadline) {
        struct pollfd q = {c, POLLIN, 0};
        if (poll(&q, 1, 500) != 1)
            continue;
        ssize_t got = read(c, s->req + s->len, sizeof s->req - 1 - s->len);
        if (got <= 0)
            break;
        s->len += (size_t)got;
        s->req[s->len] = '\0';
    }
    char head[256];
    int hl = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: "
                      "application/json\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n", strlen(s->answer));
    if (write(c, head, (size_t)hl) < 0 || write(c, s->answer,
                                                strlen(s->answer)) < 0)
        fprintf(stderr, "  capture server: write: %s\n", strerror(errno));
    close(c);
    return NULL;
}

/* The request line the server gets carries dc and rack whole, and the Host
 * header the whole fake domain. */
static void d15_long_scope_request_line(void)
{
    d15_names();
    capture_srv s;
    memset(&s, 0, sizeof s);
    s.answer = "[\"127.0.0.1\"]";
    s.fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(s.fd >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    REQUIRE(bind(s.fd, (struct sockaddr *)&a, sizeof a) == 0);
    REQUIRE(listen(s.fd, 4) == 0);
    REQUIRE(getsockname(s.fd, (struct sockaddr *)&a, &alen) == 0);
    s.port = ntohs(a.sin_port);
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, capture_serve, &s) == 0);

    const char *seeds[] = {"127.0.0.1"};
    alt_lb *lb = NULL;
    REQUIRE(alt_lb_new(&lb, "http", s.port, seeds, 1) == ALT_OK);
    REQUIRE(alt_lb_set_fake_domain(lb, d15_fake) == ALT_OK);
    REQUIRE(alt_lb_set_datacenter(lb, d15_dc, d15_rack2) == ALT_OK);
    REQUIRE(alt_lb_set_discovery_timeout(lb, 2000, 4000) == ALT_OK);
    alt_code rc = alt_lb_refresh(lb);
    struct timespec until = realtime_in(10000);
    REQUIRE(pthread_timedjoin_np(th, NULL, &until) == 0);
    close(s.fd);

    char line[1024], host[512];
    snprintf(line, sizeof line, "GET /localnodes?dc=%s&rack=%s HTTP/1.1\r\n",
             d15_dc, d15_rack2);
    snprintf(host, sizeof host, "\r\nHost: %s:%d\r\n", d15_fake, s.port);
    const char *eol = strstr(s.req, "\r\n");
    fprintf(stderr, "  refresh: %s; request line (%d chars): %.*s ... %.40s\n",
            alt_strerror(rc), eol ? (int)(eol - s.req) : -1, 40, s.req,
            eol && eol - s.req > 40 ? eol - 40 : "");
    CHECK_EQ(rc, ALT_OK);
    CHECK(strncmp(s.req, line, strlen(line)) == 0);
    CHECK(strstr(s.req, host) != NULL);
    alt_lb_free(lb);
}

/* ------------------------------------------------------------------ D16 */

#define MAXTASKS 256

static int list_tasks(int *tids, int max)
{
    DIR *d = opendir("/proc/self/task");
    REQUIRE(d != NULL);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < max)
        if (de->d_name[0] >= '0' && de->d_name[0] <= '9')
            tids[n++] = atoi(de->d_name);
    closedir(d);
    return n;
}

/* The thread's voluntary context switches (-1 if it is gone). */
static long voluntary_switches(int tid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/status", tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "voluntary_ctxt_switches:", 24) == 0)
            v = atol(line + 24);
    fclose(f);
    return v;
}

static void d16_refresher_sleeps(void)
{
    alt_lb *lb = tu_lb(port, 1, 1);
    REQUIRE(alt_lb_set_logger(lb, tu_capture_log, NULL, ALT_LOG_DEBUG) == ALT_OK);
    REQUIRE(alt_lb_set_discovery_timeout(lb, 500, 15000) == ALT_OK);
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    REQUIRE(alt_lb_nodes(lb, NULL, 0) == 3);
    CURLM *multi = curl_multi_init();
    REQUIRE(alt_multi_attach(lb, multi) == ALT_OK);

    /* Every node hangs: the multi's refresh, once started, waits. */
    long asked0[4];
    for (int i = 1; i <= 3; i++) {
        CMD("hang %d", i);
        asked0[i] = tc_stat(cl, i, "localnodes");
    }
    CURL *e1 = curl_easy_init();
    curl_easy_setopt(e1, CURLOPT_URL, alt_lb_url(lb));
    curl_easy_setopt(e1, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e1, CURLOPT_TIMEOUT_MS, 15000L);
    REQUIRE(alt_curl_prepare(lb, e1) == ALT_OK); /* a refresh is due */
    REQUIRE(curl_multi_add_handle(multi, e1) == CURLM_OK);
    long long t0 = tu_now_ms();
    int running = 0, busy = 0;
    while (!busy && tu_now_ms() - t0 < 5000) {
        curl_multi_perform(multi, &running);
        int q;
        while (alt_multi_info_read(lb, &q))
            ;
        curl_multi_poll(multi, NULL, 0, 20, NULL);
        for (int i = 1; i <= 3; i++)
            if (tc_stat(cl, i, "localnodes") > asked0[i])
                busy = i;
    }
    REQUIRE(busy > 0); /* the multi's refresh waits on a hung node */
    /* Another node dies (its refused connection will be the failure). */
    int victim = busy == 3 ? 2 : 3;
    CMD("kill %d", victim);

    int before[MAXTASKS], after[MAXTASKS], fresh[8], nfresh = 0;
    int nb = list_tasks(before, MAXTASKS);
    REQUIRE(alt_lb_start(lb) == ALT_OK);
    int na = list_tasks(after, MAXTASKS);
    for (int i = 0; i < na && nfresh < 8; i++) {
        int seen = 0;
        for (int j = 0; j < nb; j++)
            seen |= after[i] == before[j];
        if (!seen)
            fresh[nfresh++] = after[i];
    }
    REQUIRE(nfresh >= 1);

    /* One node failure: a refused connection to the dead node, reported.
     * Attempts that would go to a hung node are cut before connecting (and
     * not reported). */
    tu_log_reset();
    CURL *e2 = curl_easy_init();
    target_log t = {0, victim};
    watch(e2, &t);
    tu_reply r2;
    CURLcode rc = CURLE_OK;
    for (int k = 0; k < 6; k++) {
        REQUIRE(alt_curl_prepare(lb, e2) == ALT_OK);
        curl_easy_setopt(e2, CURLOPT_TIMEOUT_MS, 2000L);
        rc = plain_get(e2, alt_lb_url(lb), &r2);
        if (t.last == victim)
            break;
    }
    REQUIRE(t.last == victim);
    alt_curl_done(lb, e2, rc);
    CHECK_EQ(rc, CURLE_COULDNT_CONNECT);
    char failed_msg[64];
    snprintf(failed_msg, sizeof failed_msg, "node 127.0.0.%d failed", victim);
    CHECK_EQ(tu_log_count(failed_msg), 1);

    /* One second of the main loop; the thread is to sleep meanwhile. */
    long v0[8], v1[8], wakeups = 0;
    for (int i = 0; i < nfresh; i++)
        v0[i] = voluntary_switches(fresh[i]);
    t0 = tu_now_ms();
    while (tu_now_ms() - t0 < 1000) {
        curl_multi_perform(multi, &running);
        int q;
        while (alt_multi_info_read(lb, &q))
            ;
        curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    long long window = tu_now_ms() - t0;
    for (int i = 0; i < nfresh; i++) {
        v1[i] = voluntary_switches(fresh[i]);
        if (v0[i] >= 0 && v1[i] >= 0)
            wakeups += v1[i] - v0[i];
    }
    fprintf(stderr, "  refresher thread (%d new task(s), tid %d): %ld "
            "wakeups in %lld ms after node %d failed, while the multi's "
            "refresh hangs on node %d\n", nfresh, fresh[0], wakeups, window,
            victim, busy);
    CHECK(wakeups < 30);

    long long ts = tu_now_ms();
    alt_lb_stop(lb);
    fprintf(stderr, "  alt_lb_stop: %lld ms\n", tu_now_ms() - ts);
    curl_multi_remove_handle(multi, e1);
    alt_multi_detach(lb);
    curl_multi_cleanup(multi);
    for (int i = 1; i <= 3; i++)
        CMD("unhang %d", i);
    CMD("revive %d", victim);
    alt_curl_release(lb, e1);
    alt_curl_release(lb, e2);
    curl_easy_cleanup(e1);
    curl_easy_cleanup(e2);
    alt_lb_free(lb);
}

/* ------------------------------------------------------------------ main */

static const char *only;

#define MAYBE_RUN(fn)                                                       \
    do {                                                                    \
        if (!only || strstr(#fn, only))                                     \
            RUN(fn);                                                        \
    } while (0)

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : NULL;
    curl_global_init(CURL_GLOBAL_ALL);
    cl = tu_cluster("--nodes 3");
    port = tc_port(cl);
    MAYBE_RUN(d11_reuse_after_release_and_free);
    MAYBE_RUN(d11_release_unsets_connect_to);
    MAYBE_RUN(d11_after_free_without_release);
    MAYBE_RUN(d11_release_forgets);
    MAYBE_RUN(d11_many_handles_flat);
    MAYBE_RUN(d11_release_clears_sigv4_and_timeouts);
    MAYBE_RUN(d12_copies_survive_fake_domain);
    MAYBE_RUN(d12_copies_survive_churn);
    MAYBE_RUN(d13_record_reuse_race);
    MAYBE_RUN(d14_sink_takes_app_lock);
    MAYBE_RUN(d15_refresh_interval_bounds);
#ifndef OLD_API
    MAYBE_RUN(d15_timeouts_maxconnects_bounds);
#endif
    MAYBE_RUN(d15_long_scope_cluster);
    MAYBE_RUN(d15_long_scope_request_line);
    MAYBE_RUN(d16_refresher_sleeps);
    tc_stop(cl);
    curl_global_cleanup();
    return tu_finish();
}
