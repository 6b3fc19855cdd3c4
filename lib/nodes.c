/*
 * nodes.c: the node registry, the live set and the round-robin pick.
 *
 * Every address seen is interned once as an alt__node holding its prebuilt
 * CONNECT_TO list; records are never freed before alt_lb_free(). The live
 * set is an array of node pointers published slot by slot and a count: a
 * reader racing a rewrite may pick a node that was just dropped, never freed
 * memory. Writers hold lb->mu.
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

size_t alt__canonical_host(const char *s, size_t len, char *out, size_t size)
{
    char buf[ALT_MAX_HOST + 1];
    unsigned char addr[16];
    if (len >= sizeof buf || len >= size)
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    int family = memchr(buf, ':', len) ? AF_INET6 : AF_INET;
    if (inet_pton(family, buf, addr) == 1
        && inet_ntop(family, addr, out, (socklen_t)size))
        return strlen(out);
    for (size_t i = 0; i <= len; i++) /* host names ignore case */
        out[i] = buf[i] >= 'A' && buf[i] <= 'Z' ? (char)(buf[i] - 'A' + 'a')
                                                : buf[i];
    return len;
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

/* One block "addr\0fake:port:addr:port\0", IPv6 addresses in brackets. */
static char *make_text(const alt_lb *lb, const char *addr, size_t len)
{
    bool v6 = memchr(addr, ':', len) != NULL;
    size_t size = 2 * len + strlen(lb->fake_domain) + 32;
    char *text = malloc(size);
    if (!text)
        return NULL;
    int head = snprintf(text, size, "%.*s", (int)len, addr);
    snprintf(text + head + 1, size - (size_t)head - 1, "%s:%d:%s%.*s%s:%d",
             lb->fake_domain, lb->port, v6 ? "[" : "", (int)len, addr,
             v6 ? "]" : "", lb->port);
    return text;
}

/* Points node at a new text block, keeping the previous one alive: a
 * transfer or a racing reader may still hold the old strings. */
static void set_text(alt__node *node, char *text)
{
    free(node->old_text);
    node->old_text = node->text;
    node->text = text;
    node->addr = text;
    __atomic_store_n(&node->connect_to.data, text + strlen(text) + 1,
                     __ATOMIC_RELEASE);
}

bool alt__node_busy(const alt_lb *lb, const alt__node *node)
{
    return node == atomic_load(&lb->block_job.target)
           || node == atomic_load(&lb->thread_job.target)
           || node == atomic_load(&lb->multi_job.target);
}

/*
 * Lists the records nothing can use any more on lb->spares. Nothing can use
 * a record that is neither listed nor a seed (so no live slot holds it:
 * publish() also rewrites the slots past the count), is the target of no
 * running discovery, and is in no handle's slot (a transfer not yet
 * reported done). A prepare racing us marks its slot ALT_PICKING before it
 * reads the live set (both sides sequentially consistent), so it either
 * picked from the current set or we wait for its pick to land in the slot.
 * Records found stay spare while lb->mu is held. Caller holds lb->mu.
 */
static void find_spares(alt_lb *lb)
{
    lb->spares_found = true;
    for (alt__node *n = lb->registry; n; n = n->next)
        n->in_use = n->listed || n->seed || alt__node_busy(lb, n);
    if (!alt__mark_handles_in_use(lb))
        return;
    for (alt__node *n = lb->registry; n; n = n->next)
        if (!n->in_use) {
            n->spare_next = lb->spares;
            lb->spares = n;
        }
}

void alt__intern_done(alt_lb *lb)
{
    lb->spares = NULL;
    lb->spares_found = false;
}

alt__node *alt__intern(alt_lb *lb, const char *addr, size_t len)
{
    for (alt__node *n = lb->registry; n; n = n->next)
        if (strncmp(n->addr, addr, len) == 0 && n->addr[len] == '\0')
            return n;
    char *text = make_text(lb, addr, len);
    if (!text)
        return NULL;
    alt__node *node;
    if (lb->nregistry < ALT_MAX_NODES) {
        if (!(node = calloc(1, sizeof *node))) {
            free(text);
            return NULL;
        }
        node->next = lb->registry;
        lb->registry = node;
        lb->nregistry++;
    } else {
        if (!lb->spares_found)
            find_spares(lb);
        if (!(node = lb->spares)) {
            free(text);
            return NULL;
        }
        lb->spares = node->spare_next;
        atomic_store(&node->down_until, 0);
        atomic_store(&node->failures, 0);
    }
    set_text(node, text);
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
        if (!(texts[i] = make_text(lb, n->addr, strlen(n->addr)))) {
            while (i > 0)
                free(texts[--i]);
            free(texts);
            return ALT_E_NOMEM;
        }
    i = 0;
    for (alt__node *n = lb->registry; n; n = n->next, i++)
        set_text(n, texts[i]);
    free(texts);
    return ALT_OK;
}

void alt__free_nodes(alt_lb *lb)
{
    alt__node *n = lb->registry;
    while (n) {
        alt__node *next = n->next;
        free(n->text);
        free(n->old_text);
        free(n);
        n = next;
    }
    lb->registry = NULL;
    lb->nregistry = 0;
}

/* Publishes nodes[0..n) as the live set. Slots past n that an earlier,
 * larger set used are refilled with current nodes, so that no slot keeps a
 * node that has left. Caller holds lb->mu. */
static void publish(alt_lb *lb, alt__node *const *nodes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        atomic_store(&lb->live[i], nodes[i]);
    for (size_t i = n; i < lb->live_high; i++)
        atomic_store(&lb->live[i], nodes[i % n]);
    if (n > lb->live_high)
        lb->live_high = n;
    atomic_store(&lb->nlive, n);
}

/* Live = listed nodes that have not failed since they last answered; all
 * listed ones if every one has, so the rotation is never empty. A failed
 * node comes back only through alt__node_ok(): the refresh asks it first
 * once its back-off is over (discovery.c), so that no caller's request is
 * spent finding out whether it is still down. Caller holds lb->mu. */
static void rebuild_locked(alt_lb *lb)
{
    alt__node *set[ALT_MAX_LISTED];
    size_t n = 0;
    for (alt__node *node = lb->registry; node; node = node->next) {
        if (!node->listed)
            continue;
        if (atomic_load(&node->failures) == 0 && n < ALT_MAX_LISTED)
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

alt__node *alt__pick(alt_lb *lb, alt__slot *slot)
{
    /* Each handle walks the live set on its own counter, which starts where
     * the previous new handle's did plus one: handles spread over the nodes
     * like one shared round-robin, without a counter shared between threads
     * (that costs a cache-line transfer per request). Sequentially
     * consistent loads (plain loads on x86): see reusable(). */
    size_t n = atomic_load(&lb->nlive);
    uint64_t i = slot ? slot->rr++
                      : atomic_fetch_add_explicit(&lb->rr, 1,
                                                  memory_order_relaxed);
    return atomic_load(&lb->live[i % n]);
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
