/*
 * nodes.c: the node registry, the live set and the round-robin pick.
 *
 * Every address ever seen is interned once as an immortal alt__node holding
 * its prebuilt CONNECT_TO list. The live set is an array of node pointers
 * published slot by slot with release stores and a count: a reader racing a
 * rewrite may pick a node that was just dropped, never a freed one, because
 * nothing is freed before alt_lb_free(). Writers hold lb->mu.
 */
#include "alt_private.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9');
}

/* RFC 1123 host name: dot-separated labels of letters, digits and inner
 * hyphens, 1..63 each, 253 in all; the last label not all digits (else
 * "1.2.3" would be taken for a short-form IPv4 address by the resolver). */
static bool valid_dns_name(const char *s, size_t len)
{
    if (len == 0 || len > ALT_MAX_HOST)
        return false;
    size_t label = 0;
    bool all_digits = true;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return false;
            label = 0;
            all_digits = true;
            continue;
        }
        if (!is_alnum(c) && !(c == '-' && label > 0))
            return false;
        if (c < '0' || c > '9')
            all_digits = false;
        if (++label > 63)
            return false;
    }
    return label > 0 && s[len - 1] != '-' && !all_digits;
}

bool alt__valid_host(const char *s, size_t len, bool allow_ipv6)
{
    char buf[ALT_MAX_HOST + 1];
    unsigned char addr[16];
    if (len == 0 || len > ALT_MAX_HOST || memchr(s, '\0', len))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, addr) == 1)
        return true;
    if (memchr(buf, ':', len))
        return allow_ipv6 && inet_pton(AF_INET6, buf, addr) == 1;
    return valid_dns_name(buf, len);
}

/* "fake:port:addr:port", IPv6 addresses in brackets. */
static char *connect_to_text(const alt_lb *lb, const char *addr)
{
    bool v6 = strchr(addr, ':') != NULL;
    size_t len = strlen(lb->fake_domain) + strlen(addr) + 32;
    char *text = malloc(len);
    if (text)
        snprintf(text, len, "%s:%d:%s%s%s:%d", lb->fake_domain, lb->port,
                 v6 ? "[" : "", addr, v6 ? "]" : "", lb->port);
    return text;
}

alt__node *alt__intern(alt_lb *lb, const char *addr, size_t len)
{
    for (alt__node *n = lb->registry; n; n = n->next)
        if (strlen(n->addr) == len && memcmp(n->addr, addr, len) == 0)
            return n;
    if (lb->nregistry >= ALT_MAX_NODES)
        return NULL; /* the caller tells: it may hold lb->mu */
    alt__node *node = calloc(1, sizeof *node + len + 1);
    if (!node)
        return NULL;
    memcpy(node->addr, addr, len);
    if (!(node->connect_to.data = connect_to_text(lb, node->addr))) {
        free(node);
        return NULL;
    }
    node->next = lb->registry;
    lb->registry = node;
    lb->nregistry++;
    return node;
}

alt_code alt__build_connect_to(alt_lb *lb)
{
    /* All or nothing: build every new text before replacing any. */
    size_t i = 0;
    char **texts = calloc(lb->nregistry + 1, sizeof *texts);
    if (!texts)
        return ALT_E_NOMEM;
    for (alt__node *n = lb->registry; n; n = n->next, i++)
        if (!(texts[i] = connect_to_text(lb, n->addr))) {
            while (i > 0)
                free(texts[--i]);
            free(texts);
            return ALT_E_NOMEM;
        }
    i = 0;
    for (alt__node *n = lb->registry; n; n = n->next, i++) {
        free(n->connect_to.data);
        n->connect_to.data = texts[i];
    }
    free(texts);
    return ALT_OK;
}

void alt__free_nodes(alt_lb *lb)
{
    alt__node *n = lb->registry;
    while (n) {
        alt__node *next = n->next;
        free(n->connect_to.data);
        free(n);
        n = next;
    }
    lb->registry = NULL;
    lb->nregistry = 0;
}

/* Publishes nodes[0..n) as the live set. Caller holds lb->mu. */
static void publish(alt_lb *lb, alt__node *const *nodes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        atomic_store_explicit(&lb->live[i], nodes[i], memory_order_release);
    atomic_store_explicit(&lb->nlive, n, memory_order_release);
}

/* Live = listed nodes out of back-off; all listed ones if every one is in
 * back-off, so the rotation is never empty. Caller holds lb->mu. */
static void rebuild_locked(alt_lb *lb)
{
    int64_t now = alt__now_ms();
    alt__node *set[ALT_MAX_LISTED];
    size_t n = 0;
    for (alt__node *node = lb->registry; node; node = node->next) {
        if (!node->listed)
            continue;
        if (atomic_load(&node->down_until) <= now && n < ALT_MAX_LISTED)
            set[n++] = node;
    }
    if (n == 0) {
        for (alt__node *node = lb->registry; node; node = node->next)
            if (node->listed && n < ALT_MAX_LISTED)
                set[n++] = node;
    }
    if (n > 0)
        publish(lb, set, n);
}

void alt__rebuild_live(alt_lb *lb)
{
    pthread_mutex_lock(&lb->mu);
    rebuild_locked(lb);
    pthread_mutex_unlock(&lb->mu);
}

alt_code alt__set_listed(alt_lb *lb, alt__node *const *nodes, size_t n)
{
    if (n == 0)
        return ALT_E_EMPTY_LIST;
    pthread_mutex_lock(&lb->mu);
    for (alt__node *node = lb->registry; node; node = node->next)
        node->listed = false;
    for (size_t i = 0; i < n; i++)
        nodes[i]->listed = true;
    rebuild_locked(lb);
    pthread_mutex_unlock(&lb->mu);
    return ALT_OK;
}

alt__node *alt__pick(alt_lb *lb)
{
    size_t n = atomic_load_explicit(&lb->nlive, memory_order_acquire);
    uint64_t i = atomic_fetch_add_explicit(&lb->rr, 1, memory_order_relaxed);
    return atomic_load_explicit(&lb->live[i % n], memory_order_acquire);
}

void alt__node_failed(alt_lb *lb, alt__node *node, bool refresh_soon)
{
    /* Transfers in flight to a dead node all fail at once: count one. */
    if (atomic_load(&node->down_until) > alt__now_ms())
        return;
    unsigned failures = atomic_fetch_add(&node->failures, 1);
    int64_t backoff = ALT_BACKOFF_MIN_MS;
    for (unsigned i = 0; i < failures && backoff < ALT_BACKOFF_MAX_MS; i++)
        backoff *= 2;
    if (backoff > ALT_BACKOFF_MAX_MS)
        backoff = ALT_BACKOFF_MAX_MS;
    atomic_store(&node->down_until, alt__now_ms() + backoff);
    alt__rebuild_live(lb);
    if (refresh_soon)
        alt__refresh_soon(lb);
    alt__log(lb, ALT_LOG_WARN, "node %s failed (%u in a row): out of rotation "
             "for %lld ms", node->addr, failures + 1, (long long)backoff);
}

void alt__node_ok(alt_lb *lb, alt__node *node)
{
    if (atomic_load_explicit(&node->failures, memory_order_relaxed) == 0)
        return;
    atomic_store(&node->failures, 0);
    atomic_store(&node->down_until, 0);
    alt__rebuild_live(lb);
    alt__log(lb, ALT_LOG_INFO, "node %s answers again", node->addr);
}
