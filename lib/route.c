/*
 * route.c: the node of a request routed by its partition key (key-route
 * affinity), as the other Alternator clients choose it.
 *
 * The nodes are the published set sorted by URL (lb->sorted, nodes.c).
 * Nodes in rotation come first, in that order, then the others
 * (quarantined or down), in that order too; Go's math/rand, seeded with
 * the key's hash, draws the first node from the ones in rotation, and a
 * retry the plan's next (affinity.c). In rotation is what alt_node_stats
 * calls active: a quarantined node whose back-off is over counts, and the
 * request that draws it claims its one trial (claim()); while the trial
 * runs the node is out, and a request that drew it goes the normal way. The set a request's plan was drawn
 * over is remembered by its generation and the positions that were out,
 * so that a retry follows the same plan even after the failed node went
 * out. When the set was replaced meanwhile, or the plan runs out, the
 * retry goes the normal way (curl.c).
 *
 * Reads lb->sorted under its seqlock, without a lock; writes only the
 * handle's own record (and a node's trial, as alt__eligible() does).
 */
#include "alt_private.h"

#include "affinity.h"

#include <sched.h>

/* Waits out a rewrite of the sorted set (a few stores under lb->mu). */
static size_t sorted_begin(alt_lb *lb, unsigned *gen)
{
    unsigned g;
    while ((g = atomic_load(&lb->sorted_gen)) & 1)
        sched_yield(); /* the writer may have been preempted */
    *gen = g;
    return atomic_load(&lb->nsorted);
}

static bool sorted_still(alt_lb *lb, unsigned gen)
{
    return atomic_load(&lb->sorted_gen) == gen;
}

/* The sorted position of the plan's position pos: the pos-th node in
 * rotation, or the (pos - in rotation)-th out. */
static size_t position(const alt__req *req, uint32_t pos, size_t n)
{
    size_t active = n - req->nout;
    if (pos >= active)
        return req->out[pos - active];
    size_t at = pos;
    for (unsigned i = 0; i < req->nout; i++)
        if (req->out[i] <= at)
            at++;
    return at;
}

/* A node back from quarantine takes one request on trial at a time, as
 * in the normal choice (alt__eligible): false if another has it. */
static bool claim(alt_lb *lb, alt__node *node)
{
    int64_t now = 0;
    return atomic_load_explicit(&node->down_until, memory_order_relaxed) == 0
           || alt__eligible(lb, node, &now) == ALT_TAKE;
}

static alt__node *first_pick(alt_lb *lb, alt__slot *slot, alt__req *req)
{
    for (;;) {
        unsigned gen;
        size_t n = sorted_begin(lb, &gen);
        if (n == 0)
            return NULL;
        req->nout = 0;
        if (atomic_load_explicit(&lb->nout, memory_order_relaxed) != 0) {
            int64_t now = alt__now_ms();
            for (size_t i = 0; i < n; i++) {
                alt__node *x = atomic_load(&lb->sorted[i]);
                if (alt__in_rotation(lb, x, now))
                    continue;
                if (req->nout == ALT_PLAN_OUT) {
                    req->nout = ALT_PLAN_OUT + 1;
                    return NULL;
                }
                req->out[req->nout++] = (uint16_t)i;
            }
        }
        uint32_t pos;
        if (req->nout == 0)
            pos = alt__plan_first(slot->seed, n);
        else
            alt__plan(slot->seed, n - req->nout, req->nout, 1, &pos);
        alt__node *node = atomic_load(&lb->sorted[position(req, pos, n)]);
        if (sorted_still(lb, gen)) {
            req->plan_gen = gen;
            req->plan_pos = 1;
            return claim(lb, node) ? node : NULL;
        }
    }
}

static alt__node *next_pick(alt_lb *lb, alt__slot *slot, alt__req *req)
{
    unsigned gen;
    size_t n = sorted_begin(lb, &gen);
    if (req->nout > ALT_PLAN_OUT || gen != req->plan_gen || n == 0)
        return NULL;
    uint32_t plan[ALT_MAX_ATTEMPTS];
    size_t len = alt__plan(slot->seed, n - req->nout, req->nout,
                           ALT_MAX_ATTEMPTS, plan);
    int64_t now = alt__now_ms();
    while (req->plan_pos < len) {
        alt__node *node = atomic_load(
            &lb->sorted[position(req, plan[req->plan_pos++], n)]);
        /* Out since the plan was drawn (the node that just failed, for
         * one): the plan's next. */
        if (alt__in_rotation(lb, node, now) && claim(lb, node))
            return sorted_still(lb, gen) ? node : NULL;
    }
    return NULL;
}

alt__node *alt__route_pick(alt_lb *lb, alt__slot *slot, bool retry)
{
    alt__req *req = slot->req;
    if (!req)
        return NULL;
    return retry ? next_pick(lb, slot, req) : first_pick(lb, slot, req);
}
