/*
 * Allocation-failure injection: every allocation that creating, configuring
 * and feeding an alt_lb makes is failed in turn (the nth one, for n = 1, 2,
 * ... until the operation no longer allocates that many). Each time the
 * operation must report ALT_E_NOMEM (or a documented error), change
 * nothing, leak nothing, and leave the object usable.
 *
 * malloc & co. are defined here, so they take the place of glibc's for the
 * whole process (libcurl and json-c included), and forward to glibc's own
 * __libc_* entry points. Built only without sanitizers, which bring their
 * own allocator.
 */
#define _GNU_SOURCE
#include "../lib/alt_private.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t nmemb, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *ptr);

static long countdown;  /* > 0: the allocation that brings it to 0 fails */
static long live;       /* allocations minus frees while counting */
static bool counting, failed;
static bool sticky;     /* every allocation after that one fails too */

static bool fail_now(void)
{
    if (countdown > 0 && --countdown == 0) {
        failed = true;
        return true;
    }
    return sticky && failed && countdown == 0;
}

static void *counted(void *p)
{
    if (p && counting)
        live++;
    return p;
}

void *malloc(size_t size)
{
    return fail_now() ? NULL : counted(__libc_malloc(size));
}

void *calloc(size_t nmemb, size_t size)
{
    return fail_now() ? NULL : counted(__libc_calloc(nmemb, size));
}

void *realloc(void *ptr, size_t size)
{
    if (fail_now())
        return NULL;
    void *p = __libc_realloc(ptr, size);
    return ptr ? p : counted(p);
}

void *aligned_alloc(size_t alignment, size_t size)
{
    return fail_now() ? NULL : counted(__libc_memalign(alignment, size));
}

int posix_memalign(void **memptr, size_t alignment, size_t size)
{
    if (fail_now())
        return ENOMEM;
    void *p = counted(__libc_memalign(alignment, size));
    if (!p)
        return ENOMEM;
    *memptr = p;
    return 0;
}

void free(void *ptr)
{
    if (ptr && counting)
        live--;
    __libc_free(ptr);
}

static int failures;
#define CHECK(c)                                                          \
    do {                                                                  \
        if (!(c)) {                                                       \
            fprintf(stderr, "%s:%d (allocation %ld): CHECK failed: %s\n", \
                    __FILE__, __LINE__, n, #c);                           \
            failures++;                                                   \
        }                                                                 \
    } while (0)

static void arm(long n)
{
    countdown = n;
    failed = false;
    sticky = false;
}

/* Allocation n fails, and every one after it until arm(0). */
static void arm_from(long n)
{
    arm(n);
    sticky = n > 0;
}

/* arm_from(n) if from_n_on, else arm(n). */
static void arm_mode(long n, bool from_n_on)
{
    if (from_n_on)
        arm_from(n);
    else
        arm(n);
}

static const char *seeds[] = {"10.0.0.1", "node-2.example", "::1"};

/* alt_lb_new fails cleanly at every allocation, then succeeds. */
static void new_and_free(void)
{
    long n;
    for (n = 1;; n++) {
        alt_lb *lb = (alt_lb *)(uintptr_t)0x1;
        live = 0;
        counting = true;
        arm(n);
        alt_code rc = alt_lb_new(&lb, "http", 8000, seeds, 3);
        bool hit = failed;
        arm(0);
        if (rc == ALT_OK)
            alt_lb_free(lb);
        counting = false;
        CHECK(live == 0);
        if (!hit) {
            CHECK(rc == ALT_OK);
            break;
        }
        CHECK(rc == ALT_E_NOMEM || rc == ALT_E_THREAD);
        CHECK(rc == ALT_OK || lb == (alt_lb *)(uintptr_t)0x1);
    }
    printf("alt_lb_new: %ld allocations, each failed once\n", n - 1);
}

/* Setters keep the old value when they cannot allocate. */
static void setters(void)
{
    long n;
    for (n = 1;; n++) {
        alt_lb *lb;
        if (alt_lb_new(&lb, "https", 8443, seeds, 3) != ALT_OK)
            abort();
        arm(n);
        alt_code a = alt_lb_set_fake_domain(lb, "dog.scylladb.com");
        alt_code b = alt_lb_set_credentials(lb, "key", "secret", "eu-west-1");
        alt_code c = alt_lb_set_datacenter(lb, "dc1", "rack1");
        alt_code d = alt_lb_set_tls(lb, "/etc/ssl/certs/ca-certificates.crt", 1);
        bool hit = failed;
        arm(0);
        CHECK(a == ALT_OK || a == ALT_E_NOMEM);
        CHECK(b == ALT_OK || b == ALT_E_NOMEM);
        CHECK(c == ALT_OK || c == ALT_E_NOMEM);
        CHECK(d == ALT_OK || d == ALT_E_NOMEM);
        const char *url = alt_lb_url(lb);
        if (a == ALT_OK)
            CHECK(strcmp(url, "https://dog.scylladb.com:8443/") == 0);
        else
            CHECK(strcmp(url, "https://alt.invalid:8443/") == 0);
        /* Every record's CONNECT_TO text names the fake domain in force. */
        const char *fake = a == ALT_OK ? "dog.scylladb.com:" : "alt.invalid:";
        for (size_t i = 0; i < lb->nseeds; i++)
            CHECK(strncmp(lb->seeds[i]->connect_to.data, fake,
                          strlen(fake)) == 0);
        CHECK(b != ALT_OK || lb->sigv4);
        alt_lb_free(lb);
        if (!hit)
            break;
    }
    printf("setters: %ld allocations, each failed once\n", n - 1);
}

/* A /localnodes answer that cannot be taken in keeps the list as it was. */
static void answers(void)
{
    const char *body = "[\"10.1.0.1\",\"10.1.0.2\",\"::2\",\"node-9.example\"]";
    long n;
    for (n = 1;; n++) {
        alt_lb *lb;
        if (alt_lb_new(&lb, "http", 8000, seeds, 3) != ALT_OK)
            abort();
        alt__node *out[8];
        size_t got = 0;
        arm(n);
        alt_code rc = alt__parse_nodes(lb, body, strlen(body), out, 8, &got);
        if (rc == ALT_OK)
            rc = alt__set_listed(lb, out, got);
        bool hit = failed;
        arm(0);
        size_t live_nodes = alt_lb_nodes(lb, NULL, 0);
        if (rc == ALT_OK) {
            CHECK(live_nodes == 4);
        } else {
            CHECK(rc == ALT_E_NOMEM || rc == ALT_E_BAD_RESPONSE);
            CHECK(live_nodes == 3); /* the seeds, untouched */
        }
        /* Usable afterwards: the same answer is taken in full. */
        CHECK(alt__parse_nodes(lb, body, strlen(body), out, 8, &got) == ALT_OK
              && got == 4);
        alt_lb_free(lb);
        if (!hit)
            break;
    }
    printf("/localnodes answer: %ld allocations, each failed once\n", n - 1);
}

/* The first sight of a handle allocates; if it cannot, the handle is still
 * prepared (CONNECT_TO set) and ALT_E_NOMEM says its outcome won't count. */
static void first_prepare(void)
{
    long n;
    for (n = 1;; n++) {
        alt_lb *lb;
        if (alt_lb_new(&lb, "http", 8000, seeds, 3) != ALT_OK)
            abort();
        CURL *e = curl_easy_init();
        arm(n);
        alt_code rc = alt_curl_prepare(lb, e);
        bool hit = failed;
        arm(0);
        CHECK(rc == ALT_OK || rc == ALT_E_NOMEM || rc == ALT_E_CURL);
        CHECK(alt_curl_prepare(lb, e) == ALT_OK); /* and then it works */
        alt_curl_done(lb, e, CURLE_OK);
        curl_easy_cleanup(e);
        alt_lb_free(lb);
        if (!hit)
            break;
    }
    printf("first alt_curl_prepare of a handle: %ld allocations, each failed "
           "once\n", n - 1);
}

/* The request-aware path, compressing and routing by key: each allocation
 * of the first call failed in turn, then the call works. A table named for
 * the first time is added (and its key set) under the same injection. */
static void first_prepare_request(void)
{
    char body[2048];
    int len = snprintf(body, sizeof body,
                       "{\"TableName\":\"tbl\",\"Item\":{\"pk\":{\"S\":"
                       "\"k\"},\"text\":{\"S\":\"%01500d\"}},"
                       "\"ConditionExpression\":\"attribute_exists(pk)\"}", 7);
    long n;
    for (n = 1;; n++) {
        alt_lb *lb;
        if (alt_lb_new(&lb, "http", 8000, seeds, 3) != ALT_OK
            || alt_lb_set_compression(lb, 1, 1024) != ALT_OK)
            abort();
        CURL *e = curl_easy_init();
        arm(n);
        alt_code key = alt_lb_set_partition_key(lb, "tbl", "pk");
        alt_code rc = alt_curl_prepare_request(lb, e, "PutItem", body,
                                               (size_t)len, NULL, 0);
        bool hit = failed;
        arm(0);
        CHECK(key == ALT_OK || key == ALT_E_NOMEM);
        CHECK(rc == ALT_OK || rc == ALT_E_NOMEM || rc == ALT_E_CURL);
        if (key != ALT_OK)
            CHECK(alt_lb_set_partition_key(lb, "tbl", "pk") == ALT_OK);
        CHECK(alt_curl_prepare_request(lb, e, "PutItem", body, (size_t)len,
                                       NULL, 0) == ALT_OK);
        alt__slot *slot = alt__slot_find(lb, e);
        CHECK(slot && slot->affine && slot->req && slot->req->zbuf);
        alt_curl_release(lb, e);
        curl_easy_cleanup(e);
        alt_lb_free(lb);
        if (!hit)
            break;
    }
    printf("first alt_curl_prepare_request (gzip, routed): %ld allocations, "
           "each failed once\n", n - 1);
}

/* ------------------------------------------------------------------------ */
/* Every setter, each allocation failed in turn                             */
/* ------------------------------------------------------------------------ */

static const char *str_or(const char *s)
{
    return s ? s : "(null)";
}

/* All that a setter may change, as text (no allocation). */
static void describe(const alt_lb *lb, char *out, size_t size)
{
    size_t len = 0;
#define ADD(...)                                                          \
    len += (size_t)snprintf(out + len, len < size ? size - len : 0,       \
                            __VA_ARGS__)
    ADD("url=%s\n", str_or(lb->url));
    for (int i = 0; i < 3; i++)
        ADD("nodes_url[%d]=%s\n", i, str_or(lb->nodes_url[i]));
    ADD("fake=%s dc=%s rack=%s scope=%d\n", str_or(lb->fake_domain),
        str_or(lb->dc), str_or(lb->rack), atomic_load(&lb->scope));
    ADD("ca=%s verify=%d\n", str_or(lb->ca_file), (int)lb->tls_verify);
    ADD("sigv4=%d param=%s key=%s secret=%s\n", (int)lb->sigv4,
        str_or(lb->sigv4_param), str_or(lb->access_key),
        str_or(lb->secret_key));
    ADD("discovery=%ld/%ld refresh=%ld/%ld timeouts=%ld/%ld maxconn=%ld\n",
        lb->connect_timeout_ms, lb->total_timeout_ms,
        atomic_load(&lb->active_ms), atomic_load(&lb->idle_ms),
        atomic_load(&lb->request_ms), atomic_load(&lb->connect_ms),
        atomic_load(&lb->maxconnects));
    ADD("log_ud=%p level=%d\n", lb->log_ud, (int)lb->log_level);
    ADD("nregistry=%zu nlive=%zu\n", lb->nregistry, atomic_load(&lb->nlive));
    for (const alt__node *n = lb->registry; n; n = n->next)
        ADD("node %s | %s | %u | listed %d\n", n->addr, n->connect_to.data,
            n->hash, (int)n->listed);
    for (size_t i = 0; i < atomic_load(&lb->nlive); i++)
        ADD("live %s\n", atomic_load(&lb->live[i])->addr);
#undef ADD
    if (len >= size)
        abort();
}

static int ud_a, ud_b;

static void log_a(void *ud, alt_log_level level, const char *msg)
{
    (void)ud;
    (void)level;
    (void)msg;
}

static void log_b(void *ud, alt_log_level level, const char *msg)
{
    (void)ud;
    (void)level;
    (void)msg;
}

/* An lb with every setting away from its default, and more node records
 * than the seeds (a new fake domain rewrites every record's text). */
static alt_lb *configured(void)
{
    alt_lb *lb;
    const char *body = "[\"10.1.0.1\",\"10.1.0.2\",\"::2\",\"node-9.example\"]";
    alt__node *out[8];
    size_t got;
    if (alt_lb_new(&lb, "https", 8443, seeds, 3) != ALT_OK
        || alt_lb_set_fake_domain(lb, "old-name.example") != ALT_OK
        || alt_lb_set_credentials(lb, "old-key", "old-secret", "eu-west-1")
               != ALT_OK
        || alt_lb_set_datacenter(lb, "dc-old", "rack-old") != ALT_OK
        || alt_lb_set_tls(lb, "/old/ca.pem", 1) != ALT_OK
        || alt_lb_set_logger(lb, log_a, &ud_a, ALT_LOG_WARN) != ALT_OK
        || alt_lb_set_refresh_interval(lb, 500, 5000) != ALT_OK
        || alt_lb_set_discovery_timeout(lb, 300, 900) != ALT_OK
        || alt_lb_set_timeouts(lb, 700, 200) != ALT_OK
        || alt_lb_set_maxconnects(lb, 12) != ALT_OK
        || alt__parse_nodes(lb, body, strlen(body), out, 8, &got) != ALT_OK
        || alt__set_listed(lb, out, got) != ALT_OK)
        abort();
    return lb;
}

/* Whether every record's CONNECT_TO text starts with prefix. */
static bool texts_start(const alt_lb *lb, const char *prefix)
{
    size_t k = 0;
    for (const alt__node *n = lb->registry; n; n = n->next, k++)
        if (strncmp(n->connect_to.data, prefix, strlen(prefix)) != 0)
            return false;
    return k == lb->nregistry && k == 7;
}

static alt_code call_fake(alt_lb *lb)
{
    return alt_lb_set_fake_domain(lb, "new-name.example");
}

static bool new_fake(const alt_lb *lb)
{
    return strcmp(lb->fake_domain, "new-name.example") == 0
           && strcmp(lb->url, "https://new-name.example:8443/") == 0
           && strcmp(lb->nodes_url[2], "https://new-name.example:8443/"
                     "localnodes?dc=dc-old&rack=rack-old") == 0
           && texts_start(lb, "new-name.example:8443:");
}

static alt_code call_credentials(alt_lb *lb)
{
    return alt_lb_set_credentials(lb, "new-key", "new-secret", "us-west-2");
}

static bool new_credentials(const alt_lb *lb)
{
    return lb->sigv4
           && strcmp(lb->sigv4_param, "aws:amz:us-west-2:dynamodb") == 0
           && strcmp(lb->access_key, "new-key") == 0
           && strcmp(lb->secret_key, "new-secret") == 0;
}

static alt_code call_credentials_off(alt_lb *lb)
{
    return alt_lb_set_credentials(lb, NULL, NULL, NULL);
}

static bool new_credentials_off(const alt_lb *lb)
{
    return !lb->sigv4;
}

static alt_code call_datacenter(alt_lb *lb)
{
    return alt_lb_set_datacenter(lb, "dc-new", "rack-new");
}

static bool new_datacenter(const alt_lb *lb)
{
    return strcmp(lb->dc, "dc-new") == 0 && strcmp(lb->rack, "rack-new") == 0
           && atomic_load(&lb->scope) == 2
           && strcmp(lb->url, "https://old-name.example:8443/") == 0
           && strcmp(lb->nodes_url[0],
                     "https://old-name.example:8443/localnodes") == 0
           && strcmp(lb->nodes_url[1], "https://old-name.example:8443/"
                     "localnodes?dc=dc-new") == 0
           && strcmp(lb->nodes_url[2], "https://old-name.example:8443/"
                     "localnodes?dc=dc-new&rack=rack-new") == 0;
}

static alt_code call_datacenter_off(alt_lb *lb)
{
    return alt_lb_set_datacenter(lb, NULL, NULL);
}

static bool new_datacenter_off(const alt_lb *lb)
{
    return !lb->dc && !lb->rack && atomic_load(&lb->scope) == 0;
}

static alt_code call_tls(alt_lb *lb)
{
    return alt_lb_set_tls(lb, "/new/ca.pem", 0);
}

static bool new_tls(const alt_lb *lb)
{
    return lb->ca_file && strcmp(lb->ca_file, "/new/ca.pem") == 0
           && !lb->tls_verify;
}

static alt_code call_logger(alt_lb *lb)
{
    return alt_lb_set_logger(lb, log_b, &ud_b, ALT_LOG_DEBUG);
}

static bool new_logger(const alt_lb *lb)
{
    return lb->log_fn == log_b && lb->log_ud == &ud_b
           && lb->log_level == ALT_LOG_DEBUG;
}

static alt_code call_refresh_interval(alt_lb *lb)
{
    return alt_lb_set_refresh_interval(lb, 700, 7000);
}

static bool new_refresh_interval(const alt_lb *lb)
{
    return atomic_load(&lb->active_ms) == 700
           && atomic_load(&lb->idle_ms) == 7000;
}

static alt_code call_discovery_timeout(alt_lb *lb)
{
    return alt_lb_set_discovery_timeout(lb, 400, 1200);
}

static bool new_discovery_timeout(const alt_lb *lb)
{
    return lb->connect_timeout_ms == 400 && lb->total_timeout_ms == 1200;
}

static alt_code call_timeouts(alt_lb *lb)
{
    return alt_lb_set_timeouts(lb, 900, 300);
}

static bool new_timeouts(const alt_lb *lb)
{
    return atomic_load(&lb->request_ms) == 900
           && atomic_load(&lb->connect_ms) == 300;
}

static alt_code call_maxconnects(alt_lb *lb)
{
    return alt_lb_set_maxconnects(lb, 34);
}

static bool new_maxconnects(const alt_lb *lb)
{
    return atomic_load(&lb->maxconnects) == 34;
}

static const struct setter_case {
    const char *name;
    alt_code (*call)(alt_lb *lb);
    bool (*applied)(const alt_lb *lb);
} setter_cases[] = {
    {"alt_lb_set_fake_domain", call_fake, new_fake},
    {"alt_lb_set_credentials", call_credentials, new_credentials},
    {"alt_lb_set_credentials(NULL)", call_credentials_off, new_credentials_off},
    {"alt_lb_set_datacenter", call_datacenter, new_datacenter},
    {"alt_lb_set_datacenter(NULL)", call_datacenter_off, new_datacenter_off},
    {"alt_lb_set_tls", call_tls, new_tls},
    {"alt_lb_set_logger", call_logger, new_logger},
    {"alt_lb_set_refresh_interval", call_refresh_interval,
     new_refresh_interval},
    {"alt_lb_set_discovery_timeout", call_discovery_timeout,
     new_discovery_timeout},
    {"alt_lb_set_timeouts", call_timeouts, new_timeouts},
    {"alt_lb_set_maxconnects", call_maxconnects, new_maxconnects},
};

static char before_text[16384], after_text[16384];

/* Prints the first line where two descriptions differ. */
static void show_difference(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    while (a > before_text && a[-1] != '\n') {
        a--;
        b--;
    }
    fprintf(stderr, "    before: %.*s\n    after:  %.*s\n",
            (int)strcspn(a, "\n"), a, (int)strcspn(b, "\n"), b);
}

/* Whether lb's description (after_text, taken now) is before_text; prints
 * the first difference if not. */
static bool same_as_before(const alt_lb *lb)
{
    describe(lb, after_text, sizeof after_text);
    if (strcmp(before_text, after_text) == 0)
        return true;
    show_difference(before_text, after_text);
    return false;
}

/* After the failure of allocation n inside the setter, a request prepared
 * on the object goes out as it would have before: its CONNECT_TO text
 * names the old fake domain. */
static void prepared_as_before(const struct setter_case *c, long n,
                               bool from_n_on)
{
    alt_lb *lb = configured();
    arm_mode(n, from_n_on);
    alt_code rc = c->call(lb);
    arm(0);
    CHECK(rc == ALT_E_NOMEM);
    CURL *e = curl_easy_init();
    if (!e)
        abort();
    CHECK(alt_curl_prepare(lb, e) == ALT_OK);
    alt__slot *slot = alt__slot_find(lb, e);
    alt__node *node = slot ? atomic_load(&slot->node) : NULL;
    CHECK(node && node != ALT_PICKING
          && strncmp(node->connect_to.data, "old-name.example:8443:",
                     strlen("old-name.example:8443:")) == 0);
    CHECK(strcmp(alt_lb_url(lb), "https://old-name.example:8443/") == 0);
    alt_curl_release(lb, e);
    curl_easy_cleanup(e);
    alt_lb_free(lb);
}

/* Every setter: each allocation it makes failed in turn, alone, then
 * together with every allocation after it (a clean-up path that allocates
 * fails too). A failed setter reports ALT_E_NOMEM and changes nothing
 * (every field it could touch, every record's CONNECT_TO text), leaks
 * nothing, and works when called again; one that succeeds applied all of
 * its value. */
static void every_setter_mode(bool from_n_on)
{
    for (size_t k = 0; k < sizeof setter_cases / sizeof *setter_cases; k++) {
        const struct setter_case *c = &setter_cases[k];
        long n, nomem = 0;
        for (n = 1;; n++) {
            live = 0;
            counting = true;
            alt_lb *lb = configured();
            describe(lb, before_text, sizeof before_text);
            alt_log_fn fn_before = lb->log_fn;
            arm_mode(n, from_n_on);
            alt_code rc = c->call(lb);
            bool hit = failed;
            arm(0);
            if (rc == ALT_OK) {
                CHECK(c->applied(lb));
            } else {
                nomem++;
                CHECK(rc == ALT_E_NOMEM);
                CHECK(same_as_before(lb));
                CHECK(lb->log_fn == fn_before);
                CHECK(c->call(lb) == ALT_OK && c->applied(lb));
            }
            alt_lb_free(lb);
            counting = false;
            CHECK(live == 0);
            if (rc != ALT_OK)
                prepared_as_before(c, n, from_n_on);
            if (!hit)
                break;
        }
        printf("%s: %ld allocation(s), each failed %s (%ld ALT_E_NOMEM)\n",
               c->name, n - 1, from_n_on ? "with all after it" : "once",
               nomem);
    }
}

static void every_setter(void)
{
    every_setter_mode(false);
    every_setter_mode(true);
}

/* Arguments a setter cannot honour are refused and change nothing; after
 * first use the configuration setters refuse with ALT_E_STATE and change
 * nothing, the run-time ones still work. */
static void refused_setters(void)
{
    long n = 0; /* for CHECK */
    char host254[256], name129[131];
    memset(host254, 'a', 254);
    host254[63] = host254[127] = host254[191] = '.';
    host254[254] = '\0';
    memset(name129, 'r', 129);
    name129[129] = '\0';
    alt_lb *lb = configured();
    describe(lb, before_text, sizeof before_text);
    const alt_code bad[] = {
        alt_lb_set_fake_domain(lb, "bad name"),
        alt_lb_set_fake_domain(lb, host254),
        alt_lb_set_fake_domain(lb, "::1"),
        alt_lb_set_fake_domain(lb, NULL),
        alt_lb_set_credentials(lb, "k", NULL, NULL),
        alt_lb_set_credentials(lb, "", "s", NULL),
        alt_lb_set_credentials(lb, "k", "", NULL),
        alt_lb_set_credentials(lb, "k", "s", ""),
        alt_lb_set_datacenter(lb, NULL, "rack"),
        alt_lb_set_datacenter(lb, "bad dc", NULL),
        alt_lb_set_datacenter(lb, name129, NULL),
        alt_lb_set_datacenter(lb, "dc", name129),
        alt_lb_set_datacenter(lb, "dc", "r&ck=x"),
        alt_lb_set_refresh_interval(lb, 1000, LONG_MAX),
        alt_lb_set_refresh_interval(lb, 1000, 1L << 32),
        alt_lb_set_refresh_interval(lb, 1L << 32, 1L << 32),
        alt_lb_set_refresh_interval(lb, 1000, 86400001),
        alt_lb_set_refresh_interval(lb, 0, 1000),
        alt_lb_set_refresh_interval(lb, -5, 1000),
        alt_lb_set_refresh_interval(lb, 2000, 1000),
        alt_lb_set_discovery_timeout(lb, 0, 1000),
        alt_lb_set_discovery_timeout(lb, 1000, 0),
        alt_lb_set_discovery_timeout(lb, 2000, 1000),
        alt_lb_set_discovery_timeout(lb, 1000, 86400001),
        alt_lb_set_discovery_timeout(lb, 1000, LONG_MAX),
        alt_lb_set_timeouts(lb, -1, 0),
        alt_lb_set_timeouts(lb, 0, -1),
        alt_lb_set_timeouts(lb, 86400001, 0),
        alt_lb_set_timeouts(lb, 0, 86400001),
        alt_lb_set_timeouts(lb, LONG_MAX, 0),
        alt_lb_set_timeouts(lb, 100, 200),
        alt_lb_set_maxconnects(lb, -1),
        alt_lb_set_maxconnects(lb, 1000001),
        alt_lb_set_maxconnects(lb, LONG_MAX),
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        n = (long)i; /* reported as "allocation" i: the call's index */
        CHECK(bad[i] == ALT_E_INVALID_ARG);
    }
    n = 0;
    CHECK(same_as_before(lb));

    /* First use freezes the configuration. */
    alt__freeze(lb);
    const alt_code frozen[] = {
        call_fake(lb), call_credentials(lb), call_credentials_off(lb),
        call_datacenter(lb), call_datacenter_off(lb), call_tls(lb),
        call_logger(lb), call_discovery_timeout(lb),
    };
    for (size_t i = 0; i < sizeof frozen / sizeof *frozen; i++) {
        n = (long)i;
        CHECK(frozen[i] == ALT_E_STATE);
    }
    n = 0;
    CHECK(same_as_before(lb));
    CHECK(call_refresh_interval(lb) == ALT_OK && new_refresh_interval(lb));
    CHECK(call_timeouts(lb) == ALT_OK && new_timeouts(lb));
    CHECK(call_maxconnects(lb) == ALT_OK && new_maxconnects(lb));
    alt_lb_free(lb);
    printf("refused setters: %zu invalid calls, %zu after first use, nothing "
           "changed\n", sizeof bad / sizeof *bad,
           sizeof frozen / sizeof *frozen);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    new_and_free();
    setters();
    every_setter();
    refused_setters();
    answers();
    first_prepare();
    first_prepare_request();
    curl_global_cleanup();
    printf(failures ? "%d checks failed\n" : "all checks passed\n", failures);
    return failures != 0;
}
