/*
 * handles.c: which node each easy handle was last prepared for.
 *
 * libcurl has no getter for CURLOPT_CONNECT_TO and reports no primary IP
 * after a refused connection, so alt_curl_done() needs this to know which
 * node failed. An open-addressing table of immortal slots keyed by the CURL
 * pointer: the steady state (a handle seen before) is a lock-free probe and
 * one atomic store; only the first sight of a handle takes lb->mu, and
 * growing the table keeps the old one (retired, freed by alt_lb_free), so a
 * reader probing it never touches freed memory.
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

static alt__slot *find(alt__htab *t, const CURL *easy)
{
    if (!t)
        return NULL;
    for (size_t i = hash_ptr(easy) & t->mask;; i = (i + 1) & t->mask) {
        const CURL *key = atomic_load_explicit(&t->entry[i].easy,
                                               memory_order_acquire);
        if (!key)
            return NULL;
        if (key == easy)
            return t->entry[i].slot;
    }
}

static void put(alt__htab *t, alt__slot *s)
{
    size_t i = hash_ptr(s->easy) & t->mask;
    while (atomic_load_explicit(&t->entry[i].easy, memory_order_relaxed))
        i = (i + 1) & t->mask;
    t->entry[i].slot = s;
    atomic_store_explicit(&t->entry[i].easy, s->easy, memory_order_release);
    t->used++;
}

static alt__htab *new_table(size_t size)
{
    alt__htab *t = calloc(1, sizeof *t + size * sizeof t->entry[0]);
    if (t)
        t->mask = size - 1;
    return t;
}

/* First sight of a handle: insert under lb->mu, growing at half full. */
static alt__slot *insert(alt_lb *lb, const CURL *easy)
{
    alt__slot *s = NULL;
    pthread_mutex_lock(&lb->mu);
    alt__htab *t = atomic_load(&lb->handles);
    if ((s = find(t, easy)))
        goto out;
    if (lb->nhandles >= ALT_MAX_HANDLES)
        goto out;
    if (!t || (t->used + 1) * 2 > t->mask + 1) {
        alt__htab *bigger = new_table(t ? (t->mask + 1) * 2 : 64);
        if (!bigger)
            goto out;
        for (size_t i = 0; t && i <= t->mask; i++) {
            alt__slot *old = atomic_load_explicit(&t->entry[i].easy,
                                                  memory_order_relaxed)
                             ? t->entry[i].slot : NULL;
            if (old)
                put(bigger, old);
        }
        bigger->retired = t;
        atomic_store_explicit(&lb->handles, bigger, memory_order_release);
        t = bigger;
    }
    if (!(s = aligned_alloc(_Alignof(alt__slot), sizeof *s)))
        goto out;
    s->easy = easy;
    atomic_init(&s->node, NULL);
    s->rr = atomic_fetch_add(&lb->rr, 1); /* see alt__pick */
    put(t, s);
    atomic_fetch_add(&lb->nhandles, 1);
out:
    pthread_mutex_unlock(&lb->mu);
    return s;
}

alt__slot *alt__slot_find(alt_lb *lb, const CURL *easy)
{
    return find(atomic_load_explicit(&lb->handles, memory_order_acquire),
                easy);
}

alt__slot *alt__slot_for(alt_lb *lb, const CURL *easy)
{
    alt__slot *s = alt__slot_find(lb, easy);
    return s ? s : insert(lb, easy);
}

alt__node *alt__take(alt_lb *lb, const CURL *easy)
{
    alt__slot *s = alt__slot_find(lb, easy);
    alt__node *node = s ? atomic_exchange(&s->node, NULL) : NULL;
    return node == ALT_PICKING ? NULL : node;
}

/* A pick lasts nanoseconds unless its thread is preempted: wait that long,
 * not for a preempted thread. */
#define PICK_WAIT_SPINS 100000

bool alt__mark_handles_in_use(alt_lb *lb)
{
    alt__htab *t = atomic_load(&lb->handles);
    for (size_t i = 0; t && i <= t->mask; i++) {
        alt__slot *s = atomic_load(&t->entry[i].easy) ? t->entry[i].slot
                                                      : NULL;
        if (!s)
            continue;
        alt__node *node = atomic_load(&s->node);
        for (int spins = 0; node == ALT_PICKING; spins++) {
            if (spins == PICK_WAIT_SPINS)
                return false;
            if (spins % 64 == 63)
                sched_yield();
            node = atomic_load(&s->node);
        }
        if (node)
            node->in_use = true;
    }
    return true;
}

void alt__free_handles(alt_lb *lb)
{
    alt__htab *t = atomic_load(&lb->handles);
    if (t) {
        for (size_t i = 0; i <= t->mask; i++)
            free(t->entry[i].slot);
    }
    while (t) {
        alt__htab *older = t->retired;
        free(t);
        t = older;
    }
    atomic_store(&lb->handles, NULL);
}
