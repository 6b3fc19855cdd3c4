/*
 * nodes.c: the node registry and the published set.
 *
 * Every address seen is interned once as an alt__node holding its prebuilt
 * CONNECT_TO list, found again through an open-addressing index keyed by
 * the address. Records are never freed before alt_lb_free(). The set of
 * listed nodes is published for alt_curl_prepare() as an array of node
 * pointers, slot by slot, and a count: a reader racing a rewrite may pick a
 * node that was just dropped, never freed memory. Writers hold lb->mu.
 *
 * Calls nothing above it.
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

/* A dotted-quad IPv4 literal in the one spelling inet_pton accepts (four
 * parts of 0..255, no leading zeros), so that it is its own canonical
 * form. A large answer is mostly these: this is a fraction of inet_pton's
 * cost. */
static bool is_ipv4(const char *s, size_t len)
{
    unsigned parts = 0, value = 0, digits = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            if (digits == 0 || value > 255 || ++parts > 4)
                return false;
            value = digits = 0;
        } else if (s[i] >= '0' && s[i] <= '9') {
            if (digits == 1 && value == 0)
                return false; /* a leading zero */
            value = value * 10 + (unsigned)(s[i] - '0');
            if (++digits > 3)
                return false;
        } else {
            return false;
        }
    }
    return parts == 4;
}

size_t alt__canonical_host(const char *s, size_t len, bool allow_ipv6,
                           char *out, size_t size)
{
    char buf[ALT_MAX_HOST + 1];
    unsigned char addr[16];
    if (len == 0 || len > ALT_MAX_HOST || len >= size)
        return 0;
    if (is_ipv4(s, len)) {
        memcpy(out, s, len);
        out[len] = '\0';
        return len;
    }
    if (memchr(s, '\0', len))
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (memchr(buf, ':', len)) {
        if (!allow_ipv6 || inet_pton(AF_INET6, buf, addr) != 1
            || !inet_ntop(AF_INET6, addr, out, (socklen_t)size))
            return 0;
        return strlen(out);
    }
    if (!valid_dns_name(buf, len))
        return 0;
    for (size_t i = 0; i <= len; i++) /* host names ignore case */
        out[i] = buf[i] >= 'A' && buf[i] <= 'Z' ? (char)(buf[i] - 'A' + 'a')
                                                : buf[i];
    return len;
}

bool alt__valid_host(const char *s, size_t len, bool allow_ipv6)
{
    char out[ALT_MAX_HOST + 1];
    return alt__canonical_host(s, len, allow_ipv6, out, sizeof out) > 0;
}

/* ------------------------------------------------------------------------ */
/* The address index                                                         */
/* ------------------------------------------------------------------------ */

static uint32_t hash_addr(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

#define INDEX_MASK (ALT_INDEX_SIZE - 1)

static size_t index_find(const alt_lb *lb, const char *addr, size_t len,
                         uint32_t h)
{
    size_t i = h & INDEX_MASK;
    for (alt__node *n; (n = lb->index[i]); i = (i + 1) & INDEX_MASK)
        if (n->hash == h && strncmp(n->addr, addr, len) == 0
            && n->addr[len] == '\0')
            return i;
    return i; /* the empty slot where it would go */
}

/* Linear probing without tombstones: the entries after the hole that
 * would no longer be found move back into it. */
static void index_remove(alt_lb *lb, const alt__node *node)
{
    size_t i = index_find(lb, node->addr, strlen(node->addr), node->hash);
    if (lb->index[i] != node)
        return;
    for (size_t j = i;;) {
        lb->index[i] = NULL;
        for (;;) {
            j = (j + 1) & INDEX_MASK;
            if (!lb->index[j])
                return;
            size_t home = lb->index[j]->hash & INDEX_MASK;
            /* Stays if its home lies cyclically in (i, j]. */
            if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
                continue;
            break;
        }
        lb->index[i] = lb->index[j];
        i = j;
    }
}

/* ------------------------------------------------------------------------ */
/* Records                                                                   */
/* ------------------------------------------------------------------------ */

/* One block "addr\0fake:port:addr:port\0", IPv6 addresses in brackets.
 * Put together with memcpy: a large first answer makes thousands. */
static char *make_text(const char *fake, int port, const char *addr,
                       size_t len)
{
    char digits[8];
    size_t nd = (size_t)snprintf(digits, sizeof digits, "%d", port);
    size_t nf = strlen(fake);
    bool v6 = memchr(addr, ':', len) != NULL;
    char *text = malloc(2 * len + nf + 2 * nd + 8);
    if (!text)
        return NULL;
    char *p = text;
#define PUT(src, n) (memcpy(p, (src), (n)), p += (n))
    PUT(addr, len);
    *p++ = '\0';
    PUT(fake, nf);
    *p++ = ':';
    PUT(digits, nd);
    *p++ = ':';
    if (v6)
        *p++ = '[';
    PUT(addr, len);
    if (v6)
        *p++ = ']';
    *p++ = ':';
    PUT(digits, nd);
    *p = '\0';
#undef PUT
    return text;
}

/* Only while nothing can read the record's text: a new record, one found
 * spare, or before first use. */
static void set_text(alt__node *node, char *text)
{
    free(node->text);
    node->text = text;
    node->addr = text;
    node->connect_to.data = text + strlen(text) + 1;
    node->hash = hash_addr(text, strlen(text));
}

bool alt__node_busy(alt_lb *lb, const alt__node *node)
{
    for (alt__job *j = atomic_load(&lb->jobs); j; j = j->next)
        if (atomic_load(&j->target) == node)
            return true;
    return false;
}

/*
 * Lists the records nothing can use any more on lb->spares. Nothing can use
 * a record that is neither listed nor a seed (so no live slot holds it:
 * publish() also rewrites the slots past the count), is not in the answer
 * being taken (lb->mark), is the target of no discovery job (their targets
 * are set under lb->mu), and is in no handle's slot (a transfer not yet
 * reported done). A prepare racing us marks its
 * slot ALT_PICKING before it reads the live set (both sides sequentially
 * consistent), so it either picked from the current set or we wait for its
 * pick to land in the slot. Records found stay spare while lb->mu is held.
 * Caller holds lb->mu.
 */
static void find_spares(alt_lb *lb)
{
    lb->spares_found = true;
    for (alt__node *n = lb->registry; n; n = n->next)
        n->in_use = n->listed || n->seed || n->mark == lb->mark
                    || alt__node_busy(lb, n);
    if (!alt__mark_handles_in_use(lb))
        return;
    for (alt__node *n = lb->registry; n; n = n->next)
        if (!n->in_use) {
            n->spare_next = lb->spares;
            lb->spares = n;
        }
}

/* A record given a new address starts its statistics afresh. A racing
 * writer (a transfer recorded late) may leave one stray count. */
static void reset_stats(alt__node *node)
{
    atomic_store(&node->state_since, 0);
    atomic_store(&node->requests, 0);
    atomic_store(&node->conn_failures, 0);
    atomic_store(&node->http_5xx, 0);
    atomic_store(&node->retried, 0);
    atomic_store(&node->consecutive_5xx, 0);
    atomic_store(&node->ewma_us, 0);
    atomic_store(&node->samples, 0);
    atomic_store(&node->ewma_at, 0);
    for (int i = 0; i < ALT_HIST_BUCKETS; i++)
        atomic_store(&node->hist[i], 0);
}

void alt__intern_done(alt_lb *lb)
{
    lb->spares = NULL;
    lb->spares_found = false;
}

alt__node *alt__intern(alt_lb *lb, const char *addr, size_t len)
{
    uint32_t h = hash_addr(addr, len);
    size_t at = index_find(lb, addr, len, h);
    if (lb->index[at])
        return lb->index[at];
    char *text = make_text(lb->fake_domain, lb->port, addr, len);
    if (!text)
        return NULL;
    alt__node *node;
    if (lb->nregistry < ALT_MAX_NODES) {
        if (!(node = calloc(1, sizeof *node))) {
            free(text);
            return NULL;
        }
        node->next = lb->registry;
        node->id = (uint16_t)lb->nregistry;
        lb->registry = node;
        lb->nregistry++;
    } else {
        if (!lb->spares_found)
            find_spares(lb);
        /* A spare the answer has named since it was found is taken. */
        while ((node = lb->spares) && node->mark == lb->mark)
            lb->spares = node->spare_next;
        if (!node) {
            free(text);
            return NULL;
        }
        lb->spares = node->spare_next;
        index_remove(lb, node);
        alt__set_down_until(lb, node, 0);
        atomic_store(&node->failures, 0);
        atomic_store(&node->trial, false);
        atomic_store(&node->ejections, 0);
        reset_stats(node);
        node->mark = 0;
        at = index_find(lb, addr, len, h); /* the removal moved entries */
    }
    set_text(node, text);
    lb->index[at] = node;
    return node;
}

alt_code alt__make_texts(const alt_lb *lb, const char *fake, char ***texts)
{
    size_t i = 0;
    char **t = calloc(lb->nregistry + 1, sizeof *t);
    if (!t)
        return ALT_E_NOMEM;
    for (alt__node *n = lb->registry; n; n = n->next, i++)
        if (!(t[i] = make_text(fake, lb->port, n->addr, strlen(n->addr)))) {
            while (i > 0)
                free(t[--i]);
            free(t);
            return ALT_E_NOMEM;
        }
    *texts = t;
    return ALT_OK;
}

void alt__commit_texts(alt_lb *lb, char **texts)
{
    size_t i = 0;
    pthread_mutex_lock(&lb->mu); /* alt_lb_nodes() may be reading */
    for (alt__node *n = lb->registry; n; n = n->next, i++)
        set_text(n, texts[i]);
    pthread_mutex_unlock(&lb->mu);
    free(texts);
}

void alt__free_nodes(alt_lb *lb)
{
    alt__node *n = lb->registry;
    while (n) {
        alt__node *next = n->next;
        free(n->text);
        free(n);
        n = next;
    }
    lb->registry = NULL;
    lb->nregistry = 0;
}

/* ------------------------------------------------------------------------ */
/* The published set                                                         */
/* ------------------------------------------------------------------------ */

/*
 * The same set in the order key-route affinity draws from (route.c): the
 * nodes' URLs "scheme://host:port" sorted byte-wise, an IPv6 host in
 * brackets, as the other Alternator clients sort them. Scheme and port are
 * common to all, so "host:" (or "[host]:") decides: "10.0.0.10:" sorts
 * before "10.0.0.1:". Two such texts of different hosts differ before
 * either ends (only an IPv6 host holds a ':', and it starts with '['), so
 * comparing up to the end of the first decides.
 */
static int url_char(const alt__node *node, size_t len, bool v6, size_t i)
{
    if (!v6)
        return i < len ? (unsigned char)node->addr[i] : ':';
    if (i == 0)
        return '[';
    if (i <= len)
        return (unsigned char)node->addr[i - 1];
    return i == len + 1 ? ']' : ':';
}

int alt__url_cmp(const alt__node *a, const alt__node *b)
{
    size_t la = strlen(a->addr), lb = strlen(b->addr);
    bool va = strchr(a->addr, ':') != NULL, vb = strchr(b->addr, ':') != NULL;
    for (size_t i = 0, end = la + (va ? 3 : 1); i < end; i++) {
        int ca = url_char(a, la, va, i), cb = url_char(b, lb, vb, i);
        if (ca != cb)
            return ca - cb;
    }
    return 0;
}

static int url_order(const void *a, const void *b)
{
    return alt__url_cmp(*(alt__node *const *)a, *(alt__node *const *)b);
}

/* A seqlock: readers retry while lb->sorted_gen is odd or changed. Caller
 * holds lb->mu. */
static void publish_sorted(alt_lb *lb, alt__node *const *nodes, size_t n)
{
    memcpy(lb->sort_tmp, nodes, n * sizeof *nodes);
    qsort(lb->sort_tmp, n, sizeof *lb->sort_tmp, url_order);
    atomic_fetch_add(&lb->sorted_gen, 1);
    for (size_t i = 0; i < n; i++)
        atomic_store(&lb->sorted[i], lb->sort_tmp[i]);
    atomic_store(&lb->nsorted, n);
    atomic_fetch_add(&lb->sorted_gen, 1);
}

/* Publishes nodes[0..n) as the set alt_curl_prepare() picks from. Slots
 * past n that an earlier, larger set used are refilled with current nodes,
 * so that no slot keeps a node that has left. Caller holds lb->mu. */
static void publish(alt_lb *lb, alt__node *const *nodes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        atomic_store(&lb->live[i], nodes[i]);
    for (size_t i = n; i < lb->live_high; i++)
        atomic_store(&lb->live[i], nodes[i % n]);
    if (n > lb->live_high)
        lb->live_high = n;
    atomic_store(&lb->nlive, n);
    publish_sorted(lb, nodes, n);
}

/* Every listed node is published, in the answer's order; health decides
 * at pick time which of them get requests (health.c). */
size_t alt__set_listed_locked(alt_lb *lb, alt__node *const *nodes, size_t n)
{
    size_t old = atomic_load(&lb->nlive), added = 0;
    for (size_t i = 0; i < n; i++)
        added += !nodes[i]->listed;
    for (size_t i = 0; i < old; i++)
        atomic_load(&lb->live[i])->listed = false;
    for (size_t i = 0; i < n; i++)
        nodes[i]->listed = true;
    publish(lb, nodes, n);
    return added;
}

alt_code alt__set_listed(alt_lb *lb, alt__node *const *nodes, size_t n)
{
    if (n == 0)
        return ALT_E_EMPTY_LIST;
    pthread_mutex_lock(&lb->mu);
    alt__set_listed_locked(lb, nodes, n);
    pthread_mutex_unlock(&lb->mu);
    return ALT_OK;
}
