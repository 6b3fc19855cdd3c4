/*
 * handles.c: which node each easy handle was given, and its request's
 * progress (alt__slot).
 *
 * libcurl has no getter for CURLOPT_CONNECT_TO and reports no primary IP
 * after a refused connection, so alt_curl_done() needs this to know which
 * node failed. An open-addressing table keyed by the CURL pointer: the
 * steady state (a handle seen before) is a lock-free probe; the first sight
 * of a handle and alt_curl_release() take lb->mu.
 *
 * Slots are never freed before alt_lb_free(); a released one goes on a free
 * list for the next new handle. Removal shifts later entries back (no
 * tombstones), so a lock-free probe racing it may miss an entry, or read a
 * slot pointer just moved; it checks the slot's own key, and a miss is
 * looked up again under lb->mu. A table outgrown is kept (retired) until
 * alt_lb_free(), so a probe never touches freed memory.
 *
 * Calls nothing above it.
 */
#include "alt_private.h"

#include <sched.h>
#include <stdlib.h>

static size_t hash_ptr(const CURL *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

/* The entry index of easy, or of the empty entry that ends its probe. */
static size_t probe(alt__htab *t, const CURL *easy)
{
    size_t i = hash_ptr(easy) & t->mask;
    for (;; i = (i + 1) & t->mask) {
        const CURL *key = atomic_load_explicit(&t->entry[i].easy,
                                               memory_order_acquire);
        if (!key || key == easy)
            return i;
    }
}

static alt__slot *find(alt__htab *t, const CURL *easy)
{
    if (!t)
        return NULL;
    alt__slot *s = atomic_load_explicit(&t->entry[probe(t, easy)].slot,
                                        memory_order_acquire);
    /* A removal may have moved another handle's slot here meanwhile. */
    if (s && atomic_load_explicit(&s->easy, memory_order_acquire) == easy)
        return s;
    return NULL;
}

static void put(alt__htab *t, alt__slot *s)
{
    const CURL *easy = atomic_load_explicit(&s->easy, memory_order_relaxed);
    size_t i = probe(t, easy);
    atomic_store_explicit(&t->entry[i].slot, s, memory_order_release);
    atomic_store_explicit(&t->entry[i].easy, easy, memory_order_release);
    t->used++;
}

static alt__htab *new_table(size_t size)
{
    alt__htab *t = calloc(1, sizeof *t + size * sizeof t->entry[0]);
    if (t)
        t->mask = size - 1;
    return t;
}

static alt__slot *find_locked(alt_lb *lb, const CURL *easy)
{
    pthread_mutex_lock(&lb->mu);
    alt__slot *s = find(atomic_load(&lb->handles), easy);
    pthread_mutex_unlock(&lb->mu);
    return s;
}

/* First sight of a handle: insert under lb->mu, growing at half full. */
static alt__slot *insert(alt_lb *lb, const CURL *easy)
{
    alt__slot *s = NULL;
    pthread_mutex_lock(&lb->mu);
    alt__htab *t = atomic_load(&lb->handles);
    if ((s = find(t, easy)))
        goto out;
    if (atomic_load(&lb->nhandles) >= ALT_MAX_HANDLES)
        goto out;
    if (!t || (t->used + 1) * 2 > t->mask + 1) {
        alt__htab *bigger = new_table(t ? (t->mask + 1) * 2 : 64);
        if (!bigger)
            goto out;
        for (size_t i = 0; t && i <= t->mask; i++) {
            alt__slot *old = atomic_load(&t->entry[i].easy)
                             ? atomic_load(&t->entry[i].slot) : NULL;
            if (old)
                put(bigger, old);
        }
        bigger->retired = t;
        atomic_store_explicit(&lb->handles, bigger, memory_order_release);
        t = bigger;
    }
    if ((s = lb->free_slots)) {
        lb->free_slots = s->free_next;
    } else {
        if (!(s = aligned_alloc(_Alignof(alt__slot), sizeof *s)))
            goto out;
        atomic_init(&s->easy, NULL);
    }
    /* Field by field: a racing probe may be reading a reused slot's key. */
    atomic_store(&s->node, NULL);
    s->rr = atomic_fetch_add(&lb->rr, 1); /* see alt__pick in curl.c */
    s->first_rr = s->rr;
    s->deadline = 0;
    s->attempts = 0;
    s->flags = 0;
    s->verdict = ALT_FINAL;
    s->try_timeout = s->try_connect = 0;
    s->random = (uint32_t)hash_ptr(easy) | 1;
    s->last_node = NULL;
    s->set_sigv4 = s->set_timeout = s->set_connect = false;
    s->affine = false;
    s->req = NULL;
    s->in_multi = 0;
    s->free_next = NULL;
    atomic_store_explicit(&s->easy, easy, memory_order_release);
    put(t, s);
    atomic_fetch_add(&lb->nhandles, 1);
out:
    pthread_mutex_unlock(&lb->mu);
    return s;
}

alt__slot *alt__slot_find(alt_lb *lb, const CURL *easy)
{
    alt__slot *s = find(atomic_load_explicit(&lb->handles,
                                             memory_order_acquire), easy);
    return s ? s : find_locked(lb, easy);
}

alt__slot *alt__slot_for(alt_lb *lb, const CURL *easy)
{
    alt__slot *s = find(atomic_load_explicit(&lb->handles,
                                             memory_order_acquire), easy);
    return s ? s : insert(lb, easy);
}

void alt__slot_forget(alt_lb *lb, const CURL *easy)
{
    pthread_mutex_lock(&lb->mu);
    alt__htab *t = atomic_load(&lb->handles);
    alt__slot *s = find(t, easy);
    if (!s)
        goto out;
    size_t i = probe(t, easy);
    /* Backward shift, as in nodes.c's index: entries after the hole that
     * would no longer be found move into it. */
    for (size_t j = i;;) {
        atomic_store(&t->entry[i].easy, NULL);
        for (;;) {
            j = (j + 1) & t->mask;
            const CURL *key = atomic_load(&t->entry[j].easy);
            if (!key)
                goto freed;
            size_t home = hash_ptr(key) & t->mask;
            if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
                continue;
            break;
        }
        atomic_store(&t->entry[i].slot, atomic_load(&t->entry[j].slot));
        atomic_store(&t->entry[i].easy, atomic_load(&t->entry[j].easy));
        i = j;
    }
freed:
    atomic_store(&t->entry[i].slot, NULL);
    t->used--;
    atomic_store(&s->easy, NULL);
    atomic_store(&s->node, NULL);
    s->free_next = lb->free_slots;
    lb->free_slots = s;
    atomic_fetch_sub(&lb->nhandles, 1);
out:
    pthread_mutex_unlock(&lb->mu);
}

/* A pick lasts nanoseconds unless its thread is preempted, which a busy
 * machine does for a time slice or a few: wait up to this long (yielding)
 * before giving up reusing records for this answer. */
#define PICK_WAIT_MS 100

bool alt__mark_handles_in_use(alt_lb *lb)
{
    alt__htab *t = atomic_load(&lb->handles);
    for (size_t i = 0; t && i <= t->mask; i++) {
        alt__slot *s = atomic_load(&t->entry[i].easy)
                       ? atomic_load(&t->entry[i].slot) : NULL;
        if (!s)
            continue;
        alt__node *node = atomic_load(&s->node);
        for (int64_t until = 0; node == ALT_PICKING;
             node = atomic_load(&s->node)) {
            int64_t now = alt__fine_ms();
            if (!until)
                until = now + PICK_WAIT_MS;
            else if (now > until)
                return false;
            sched_yield();
        }
        if (node)
            node->in_use = true;
    }
    return true;
}

void alt__in_flight(alt_lb *lb, uint32_t *count)
{
    alt__htab *t = atomic_load(&lb->handles);
    for (size_t i = 0; t && i <= t->mask; i++) {
        alt__slot *s = atomic_load(&t->entry[i].easy)
                       ? atomic_load(&t->entry[i].slot) : NULL;
        alt__node *node = s ? atomic_load(&s->node) : NULL;
        if (node && node != ALT_PICKING)
            count[node->id]++;
    }
}

void alt__free_handles(alt_lb *lb)
{
    alt__htab *t = atomic_load(&lb->handles);
    if (t) {
        for (size_t i = 0; i <= t->mask; i++)
            if (atomic_load(&t->entry[i].easy)) {
                alt__slot *s = atomic_load(&t->entry[i].slot);
                alt__req_free(s->req);
                free(s);
            }
    }
    while (t) {
        alt__htab *older = t->retired;
        free(t);
        t = older;
    }
    atomic_store(&lb->handles, NULL);
    while (lb->free_slots) {
        alt__slot *next = lb->free_slots->free_next;
        free(lb->free_slots);
        lb->free_slots = next;
    }
}
