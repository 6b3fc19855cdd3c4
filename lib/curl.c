/*
 * curl.c: the per-request path: prepare, done, retry, easy-mode perform,
 * release.
 *
 * alt_curl_prepare() is the product's hot loop: a lock-free table probe,
 * stores to the handle's own slot, loads of data that changes only on
 * refresh or on a node failure, one setopt. Nothing is written that another
 * thread's prepare reads or writes. Keep it that way; measure it with
 * test/bench before and after any change.
 */
#include "alt_private.h"

/* A second choice is taken only when the round-robin one looks at least
 * this many times costlier, and this many microseconds: a healthy cluster
 * keeps the plain round-robin spread through the jitter of its answers. */
#define ALT_SECOND_CHOICE_FACTOR 3
#define ALT_SECOND_CHOICE_MIN_US 2000

/* Whether latency estimate x is clearly above y (both known): 3 times
 * and 2 ms, or - a gap that large is no jitter - twice and 5 ms. */
static bool clearly_slower(uint64_t x, uint64_t y)
{
    return x != 0 && y != 0
           && ((x > y * ALT_SECOND_CHOICE_FACTOR
                && x - y >= ALT_SECOND_CHOICE_MIN_US)
               || (x > y * 2 && x - y >= 5000));
}

static uint32_t xorshift(uint32_t *state)
{
    uint32_t x = *state ? *state : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

/*
 * Power of two choices: b, fully in rotation, instead of the round-robin a
 * when a is clearly slower than b even with a's estimate decayed for the
 * time it was not refreshed. Transfers in flight are not compared: the
 * estimate (to the first answer byte) holds a node's queueing already,
 * and comparing counts too moved requests about in a healthy cluster
 * (max/min 1.04 over 20,000 requests on 16 nodes at concurrency 8).
 */
static bool second_is_better(const alt__node *a, const alt__node *b,
                             int64_t *now)
{
    if (atomic_load_explicit(&b->down_until, memory_order_relaxed) != 0)
        return false;
    uint64_t ea = alt__estimate(a), eb = alt__estimate(b);
    if (!clearly_slower(ea, eb))
        return false;
    if (*now == 0)
        *now = alt__now_ms();
    return clearly_slower(
        alt__decayed(ea, *now - atomic_load_explicit(&a->ewma_at,
                                                     memory_order_relaxed)),
        eb);
}

/*
 * Each handle walks the published set on its own counter, which starts
 * where the previous new handle's did plus one: handles spread over the
 * nodes like one shared round-robin, without a counter shared between
 * threads (that costs a cache-line transfer per request). Nodes out of
 * rotation are skipped (health.c); if all are out, the walk goes on
 * regardless. Then a second node, drawn at random by the handle, is taken
 * instead if it is clearly cheaper (second_is_better). Nothing here is
 * written that another thread reads: the estimates are written when
 * transfers are recorded.
 * Sequentially consistent loads (plain loads on x86): see find_spares() in
 * nodes.c.
 */
static alt__node *pick(alt_lb *lb, alt__slot *slot)
{
    size_t n = atomic_load(&lb->nlive);
    size_t first = (size_t)(slot->rr % n), idx = first, step = 0;
    int64_t now = 0;
    alt__node *node = atomic_load(&lb->live[idx]);
    while (alt__eligible(lb, node, &now) != ALT_TAKE) {
        if (++step == n) { /* all out: on regardless */
            idx = first;
            step = 0;
            node = atomic_load(&lb->live[idx]);
            break;
        }
        idx = idx + 1 == n ? 0 : idx + 1;
        node = atomic_load(&lb->live[idx]);
    }
    slot->rr += step + 1;
    if (n > 1 && !atomic_load_explicit(&lb->round_robin, memory_order_relaxed)) {
        /* Any other slot but node's, by a multiply rather than a division. */
        size_t other = idx + 1 + (size_t)(((uint64_t)xorshift(&slot->random)
                                           * (n - 1)) >> 32);
        alt__node *second = atomic_load(&lb->live[other < n ? other : other - n]);
        if (second != node && second_is_better(node, second, &now))
            node = second;
    }
    return node;
}

/*
 * The request timeouts of alt_lb_set_timeouts(): the first attempt starts
 * the request's clock, a retry gets what is left of it (alt_curl_retry()
 * checked that something is). Options the library set on the handle before
 * and that are off now go back to libcurl's default. Remembers what the
 * attempt got, for judging its timeout (health.c) and for release.
 */
static bool set_timeouts(alt_lb *lb, CURL *easy, alt__slot *slot, bool retry)
{
    long request_ms = atomic_load_explicit(&lb->request_ms, memory_order_relaxed);
    long connect_ms = atomic_load_explicit(&lb->connect_ms, memory_order_relaxed);
    if (!slot) {
        if (request_ms > 0)
            curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, request_ms);
        if (connect_ms > 0)
            curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
        return true;
    }
    if (request_ms > 0) {
        int64_t now = alt__fine_ms();
        if (!retry || !slot->deadline)
            slot->deadline = now + request_ms;
        else
            request_ms = slot->deadline > now ? (long)(slot->deadline - now)
                                              : 1;
    }
    if (connect_ms > request_ms && request_ms > 0)
        connect_ms = request_ms;
    slot->try_timeout = request_ms;
    slot->try_connect = connect_ms;
    if ((request_ms > 0 || slot->set_timeout)
        && curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, request_ms) != CURLE_OK)
        return false;
    if ((connect_ms > 0 || slot->set_connect)
        && curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, connect_ms)
               != CURLE_OK)
        return false;
    slot->set_timeout = request_ms > 0;
    slot->set_connect = connect_ms > 0;
    return true;
}

CURLcode alt__set_sigv4(const alt_lb *lb, CURL *easy, bool on)
{
    CURLcode rc = curl_easy_setopt(easy, CURLOPT_AWS_SIGV4,
                                   on ? lb->sigv4_param : NULL);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(easy, CURLOPT_USERNAME,
                              on ? lb->access_key : NULL);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(easy, CURLOPT_PASSWORD,
                              on ? lb->secret_key : NULL);
    return rc;
}

alt_code alt__prepare(alt_lb *lb, CURL *easy, unsigned flags, bool retry,
                      bool in_loop)
{
    if (!lb || !easy || (flags & ~ALT_IDEMPOTENT))
        return ALT_E_INVALID_ARG;
    alt__freeze(lb);
    alt__slot *slot = alt__slot_for(lb, easy);
    if (slot && slot->req && !retry)
        slot->req->active = false; /* a request the caller built */
    return alt__prepare_slot(lb, easy, slot, flags, retry, in_loop, NULL);
}

alt_code alt__prepare_slot(alt_lb *lb, CURL *easy, alt__slot *slot,
                           unsigned flags, bool retry, bool in_loop,
                           const int64_t *seed)
{
    /* The mark keeps the picked node's record from being reused for
     * another address until the transfer is recorded (nodes.c). */
    alt__node *node;
    if (slot) {
        atomic_store(&slot->node, ALT_PICKING);
        if (!retry) {
            slot->attempts = 0;
            slot->flags = flags;
            slot->first_rr = slot->rr;
            slot->deadline = 0;
            slot->affine = seed != NULL;
            if (seed)
                slot->seed = *seed;
        } else {
            alt__req_link(slot, true);
        }
        slot->attempts++;
        slot->verdict = ALT_FINAL;
        node = slot->affine ? alt__route_pick(lb, slot, retry) : NULL;
        if (!node)
            node = pick(lb, slot);
    } else {
        /* Nothing would pin a picked record: a seed's is never reused. */
        node = lb->seeds[atomic_fetch_add_explicit(&lb->rr, 1,
                                                   memory_order_relaxed)
                         % lb->nseeds];
    }
    bool ok = curl_easy_setopt(easy, CURLOPT_CONNECT_TO, &node->connect_to)
              == CURLE_OK;
    if (ok && lb->sigv4) {
        ok = alt__set_sigv4(lb, easy, true) == CURLE_OK;
        if (slot)
            slot->set_sigv4 = true;
    }
    if (ok && (atomic_load_explicit(&lb->request_ms, memory_order_relaxed)
               || atomic_load_explicit(&lb->connect_ms, memory_order_relaxed)
               || (slot && (slot->set_timeout || slot->set_connect))))
        ok = set_timeouts(lb, easy, slot, retry);
    if (!ok) {
        if (slot)
            atomic_store(&slot->node, NULL);
        return ALT_E_CURL;
    }
    if (slot)
        atomic_store_explicit(&slot->node, node, memory_order_release);
    if (!atomic_load_explicit(&lb->active, memory_order_relaxed))
        atomic_store_explicit(&lb->active, true, memory_order_relaxed);
    if (in_loop && atomic_load_explicit(&lb->attached, memory_order_acquire)
        && pthread_equal(pthread_self(), lb->multi_thread))
        alt__multi_prepared(lb, slot);
    return slot ? ALT_OK : ALT_E_NOMEM;
}

alt_code alt_curl_prepare(alt_lb *lb, CURL *easy)
{
    return alt__prepare(lb, easy, 0, false, true);
}

alt_code alt_curl_prepare_ex(alt_lb *lb, CURL *easy, unsigned flags)
{
    return alt__prepare(lb, easy, flags, false, true);
}

alt__slot *alt__record(alt_lb *lb, CURL *easy, CURLcode result)
{
    alt__slot *slot = alt__slot_find(lb, easy);
    if (!slot)
        return NULL;
    alt__node *node = atomic_load_explicit(&slot->node, memory_order_acquire);
    if (!node || node == ALT_PICKING)
        return slot; /* recorded already */
    alt__outcome o = alt__classify(easy, result, slot->try_timeout,
                                   slot->try_connect, lb->curl7);
    slot->verdict = o.verdict;
    slot->last_node = node;
    atomic_fetch_add_explicit(&node->requests, 1, memory_order_relaxed);
    if (o.node_fault) {
        atomic_fetch_add_explicit(&node->conn_failures, 1,
                                  memory_order_relaxed);
        alt__node_failed(lb, node, true, curl_easy_strerror(result));
    } else if (result == CURLE_OK) {
        /* The node's part: from the request sent to the first byte of the
         * answer, without the connection's setup or the body's transfer. */
        curl_off_t sent = 0, first = 0;
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &sent);
        curl_easy_getinfo(easy, CURLINFO_STARTTRANSFER_TIME_T, &first);
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        /* Errors answer fast (or slow) for reasons of their own. */
        if (status < 400)
            alt__latency_sample(node, first > sent ? (uint64_t)(first - sent)
                                                   : 1);
        alt__http_answer(lb, node, status);
    }
    alt__req_link(slot, false);
    /* Last: until now the pin kept the record from being reused. */
    atomic_store(&slot->node, NULL);
    return slot;
}

void alt_curl_done(alt_lb *lb, CURL *easy, CURLcode result)
{
    if (lb && easy)
        alt__record(lb, easy, result);
}

/* alt_curl_retry(); in_loop: a transfer of the caller's multi loop (not
 * of alt_curl_perform), counted as running there. */
static int retry(alt_lb *lb, CURL *easy, CURLcode result, bool in_loop)
{
    if (!lb || !easy)
        return 0;
    alt__slot *slot = alt__record(lb, easy, result);
    if (!slot || slot->verdict == ALT_FINAL
        || (slot->verdict == ALT_SENT_BROKEN
            && !(slot->flags & ALT_IDEMPOTENT)))
        return 0;
    /* Every node once: the walk has not come round, and no more attempts
     * than nodes. */
    size_t n = atomic_load(&lb->nlive);
    if (slot->attempts >= n || slot->attempts >= ALT_MAX_ATTEMPTS
        || slot->rr - slot->first_rr >= n)
        return 0;
    if (slot->deadline && alt__fine_ms() >= slot->deadline)
        return 0;
    alt__node *failed = slot->last_node;
    if (alt__prepare(lb, easy, slot->flags, true, in_loop) != ALT_OK)
        return 0;
    /* The record is never freed; reused meanwhile, the count goes to its
     * new address - as rare as harmless. */
    if (failed)
        atomic_fetch_add_explicit(&failed->retried, 1, memory_order_relaxed);
    alt__log(lb, ALT_LOG_INFO, "retrying on another node (attempt %u): %s",
             slot->attempts, curl_easy_strerror(result));
    return 1;
}

int alt_curl_retry(alt_lb *lb, CURL *easy, CURLcode result)
{
    return retry(lb, easy, result, true);
}

/* One connection per node in the handle's private pool (libcurl's default
 * is 5, which would close a connection on nearly every request), within
 * the file-descriptor limit and never below the caller's floor. */
static void size_easy_pool(alt_lb *lb, CURL *easy)
{
    long want = (long)atomic_load_explicit(&lb->nlive, memory_order_relaxed);
    long floor = atomic_load_explicit(&lb->maxconnects, memory_order_relaxed);
    if (want <= 5 && floor == 0)
        return;
    long budget = alt__fd_budget();
    if (want > budget)
        want = budget;
    if (want < floor)
        want = floor;
    if (want > 5 || floor > 0)
        curl_easy_setopt(easy, CURLOPT_MAXCONNECTS, want);
}

CURLcode alt_curl_perform_ex(alt_lb *lb, CURL *easy, unsigned flags)
{
    if (!lb || !easy)
        return CURLE_BAD_FUNCTION_ARGUMENT;
    alt_code rc = alt__prepare(lb, easy, flags, false, false);
    if (rc == ALT_E_INVALID_ARG || rc == ALT_E_CURL)
        return CURLE_BAD_FUNCTION_ARGUMENT;
    return alt__perform_prepared(lb, easy);
}

CURLcode alt__perform_prepared(alt_lb *lb, CURL *easy)
{
    CURLcode result;
    do {
        size_easy_pool(lb, easy);
        result = curl_easy_perform(easy);
    } while (retry(lb, easy, result, false));
    return result;
}

CURLcode alt_curl_perform(alt_lb *lb, CURL *easy)
{
    return alt_curl_perform_ex(lb, easy, 0);
}

void alt_curl_release(alt_lb *lb, CURL *easy)
{
    if (!lb || !easy)
        return;
    alt__slot *slot = alt__slot_find(lb, easy);
    if (!slot)
        return;
    curl_easy_setopt(easy, CURLOPT_CONNECT_TO, (struct curl_slist *)NULL);
    if (slot->set_sigv4)
        alt__set_sigv4(lb, easy, false);
    if (slot->set_timeout)
        curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 0L);
    if (slot->set_connect)
        curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 0L);
    if (slot->req) {
        /* They point into the record about to be freed. */
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, (char *)NULL);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
        curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
        alt__req_free(slot->req);
        slot->req = NULL;
    }
    if (atomic_load(&lb->attached)
        && pthread_equal(pthread_self(), lb->multi_thread)
        && slot->in_multi && slot->in_multi == lb->multi_gen
        && lb->multi_inflight > 0)
        lb->multi_inflight--;
    alt__slot_forget(lb, easy);
}
