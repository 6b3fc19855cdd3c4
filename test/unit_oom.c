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

static bool fail_now(void)
{
    if (countdown > 0 && --countdown == 0) {
        failed = true;
        return true;
    }
    return false;
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

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    new_and_free();
    setters();
    answers();
    first_prepare();
    curl_global_cleanup();
    printf(failures ? "%d checks failed\n" : "all checks passed\n", failures);
    return failures != 0;
}
