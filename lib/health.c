/*
 * health.c: what the end of a transfer says about its node, and which nodes
 * may get requests.
 *
 * The evidence is read from libcurl in ways that hold for every version
 * from 7.75 to 8.21 (checked on 7.88 and 8.21):
 *  - "nothing was sent" is CURLINFO_REQUEST_SIZE == 0: libcurl adds to it
 *    every request byte the socket took, and a retry of libcurl's own on a
 *    reused connection only adds more. Timings are no such signal: 8.21
 *    records a pretransfer time for every finished transfer.
 *  - "it tried to connect" is CURLINFO_NAMELOOKUP_TIME_T > 0: a transfer
 *    that timed out waiting for a connection slot of its multi
 *    (CURLMOPT_MAX_TOTAL_CONNECTIONS) never got as far as the name lookup.
 *    (8.21 reports 0 for a reused connection too, which sends at once.)
 *  - "the node refused" is CURLINFO_OS_ERRNO, and that the process can open
 *    a socket: a client out of file descriptors gets CURLE_COULDNT_CONNECT
 *    with errno 0 on a fresh handle, and with the errno of an earlier
 *    transfer on a reused one (7.88).
 *  - "the node was slow" is a timeout that fired on time: one that fired
 *    well after the timeout the library set (alt_lb_set_timeouts, the
 *    discovery's own) means the loop driving the transfer stalled, or it
 *    waited for a connection slot first. A CURLOPT_TIMEOUT of the caller's
 *    cannot be judged so; libcurl 8.6+ tells the queued part
 *    (CURLINFO_QUEUE_TIME_T). 7.x is the exception: see alt__classify.
 *
 * States (alt_node_state): active; quarantined, after a fault (a connection
 * fault, or max_5xx HTTP 5xx answers in a row): out for a back-off, then
 * one request on trial; down, after max_failures faults in a row: out
 * until a probe of the refresh (discovery.c) gets an answer, so that no
 * request is spent on it. The back-off doubles with each ejection in a row.
 * The nodes out stay below max_out_percent of the listed ones (one may
 * always be): one that fails beyond that stays in rotation, since when
 * that many look sick the client itself is the likelier culprit.
 *
 * Calls down into nodes.c only; a fault sets a refresh due.
 */
#include "alt_private.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

static bool network_errno(long err)
{
    switch (err) {
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EHOSTDOWN:
    case ETIMEDOUT:
        return true;
    default:
        return false; /* 0, EMFILE, ENFILE, ENOBUFS, EADDRNOTAVAIL, ... */
    }
}

/* Whether the process can open a socket right now: a refused-looking
 * failure while it cannot is the client's (7.88 even keeps the errno of
 * an earlier transfer of the handle when socket() fails). */
static bool can_open_socket(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* A timeout "fired late" when the transfer ended well after the timeout
 * the library gave it: the loop driving it was elsewhere (a stall), or it
 * waited for a connection slot first. Then nobody can say how fast the
 * node was. 0: the library does not know the timeout (the caller's own). */
static bool fired_late(curl_off_t total_us, long timeout_ms)
{
    return timeout_ms > 0
           && total_us / 1000 > (curl_off_t)timeout_ms * 3 / 2 + 250;
}

alt__outcome alt__classify(CURL *easy, CURLcode result, long timeout_ms,
                           long connect_ms, bool curl7)
{
    alt__outcome o = {false, ALT_FINAL};
    if (result == CURLE_OK)
        return o;
    long sent = 0;
    curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &sent);
    switch (result) {
    case CURLE_COULDNT_CONNECT: {
        long err = 0;
        curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &err);
        o.node_fault = network_errno(err) && can_open_socket();
        break;
    }
    case CURLE_COULDNT_RESOLVE_HOST:  /* a node named by a host name */
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
        o.node_fault = true;
        break;
    case CURLE_OPERATION_TIMEDOUT: {
        /* Nothing sent and no name lookup: the transfer was still queued
         * in the caller's multi, nobody's fault. (A reused connection
         * makes no lookup either, but sends at once.) */
        curl_off_t lookup = 0, total = 0;
        curl_easy_getinfo(easy, CURLINFO_NAMELOOKUP_TIME_T, &lookup);
        curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total);
        if (sent == 0 && lookup == 0)
            return o;
#if LIBCURL_VERSION_NUM >= 0x080600
        /* Mostly queued, then a slot and too little time left. */
        curl_off_t queued = 0;
        if (curl_easy_getinfo(easy, CURLINFO_QUEUE_TIME_T, &queued) == CURLE_OK
            && queued * 2 > total)
            return o;
#endif
        /* Otherwise the node did not connect or answer in time, unless the
         * timeout fired late. Before sending, the connect timeout is the
         * one that applies if the library set it and it is the shorter. */
        bool connect_timeout = sent == 0 && connect_ms > 0
                               && (timeout_ms == 0 || connect_ms < timeout_ms);
        if (fired_late(total, connect_timeout ? connect_ms : timeout_ms))
            return o;
        /* 7.x never times out a transfer while it waits for a connection
         * slot: once it gets one, it starts connecting and fails it at
         * once, like a connect that ran into its timeout. Only a connect
         * timeout the library set, or errno ETIMEDOUT (which 7.x sets when
         * its connect filter sees CURLOPT_CONNECTTIMEOUT pass, though not
         * always), tells the node's fault; else it may go elsewhere (it
         * sent nothing), but blames nobody. */
        if (sent == 0 && curl7 && !connect_timeout) {
            long err = 0;
            curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &err);
            if (err != ETIMEDOUT) {
                o.verdict = ALT_UNSENT;
                return o;
            }
        }
        o.node_fault = true;
        if (sent > 0)
            return o; /* a timeout is never retried after sending */
        break;
    }
    default:
        return o;
    }
    if (o.node_fault)
        o.verdict = sent == 0 ? ALT_UNSENT : ALT_SENT_BROKEN;
    return o;
}

void alt__set_down_until(alt_lb *lb, alt__node *node, int64_t until)
{
    int64_t was = atomic_exchange(&node->down_until, until);
    if ((was != 0) != (until != 0))
        atomic_fetch_add(&lb->nout, until != 0 ? 1 : (size_t)-1);
}

bool alt__node_out(const alt__node *node, int64_t now)
{
    return atomic_load_explicit(&node->down_until, memory_order_relaxed) > now;
}

static bool is_down(const alt_lb *lb, const alt__node *node)
{
    return atomic_load_explicit(&node->failures, memory_order_relaxed)
           >= atomic_load_explicit(&lb->max_failures, memory_order_relaxed);
}

alt_node_state alt__node_state(const alt_lb *lb, const alt__node *node,
                               int64_t now)
{
    if (atomic_load(&node->down_until) == 0)
        return ALT_NODE_ACTIVE;
    if (is_down(lb, node))
        return ALT_NODE_DOWN;
    return alt__node_out(node, now) || atomic_load(&node->trial)
           ? ALT_NODE_QUARANTINED : ALT_NODE_ACTIVE;
}

bool alt__in_rotation(const alt_lb *lb, const alt__node *node, int64_t now)
{
    return atomic_load_explicit(&node->down_until, memory_order_relaxed) == 0
           || alt__node_state(lb, node, now) == ALT_NODE_ACTIVE;
}

int alt__eligible(const alt_lb *lb, alt__node *node, int64_t *now)
{
    int64_t d = atomic_load_explicit(&node->down_until, memory_order_relaxed);
    if (d == 0)
        return ALT_TAKE;
    if (*now == 0)
        *now = alt__now_ms();
    /* Down: only a probe of the refresh brings it back (discovery.c). */
    if (d > *now || is_down(lb, node))
        return ALT_SKIP;
    /* Quarantined, the back-off over: one request on trial at a time. The
     * trial holds the node out again for the minimum back-off, so that a
     * trial never reported done does not keep it out for long. */
    if (!atomic_compare_exchange_strong(
            &node->down_until, &d,
            *now + atomic_load_explicit(&lb->backoff_min, memory_order_relaxed)))
        return ALT_SKIP;
    atomic_store(&node->trial, true);
    return ALT_TAKE;
}

/* Whether node may be taken out: the nodes out stay below
 * max_out_percent of the listed ones, except that one may always be (as
 * Envoy does). Caller holds lb->mu. */
static bool may_take_out(alt_lb *lb, const alt__node *node, int64_t now)
{
    size_t n = atomic_load(&lb->nlive), out = 0;
    for (size_t i = 0; i < n; i++) {
        const alt__node *o = atomic_load(&lb->live[i]);
        out += o != node && alt__node_out(o, now);
    }
    return out == 0 || (out + 1) * 100 < n * atomic_load(&lb->max_out_percent);
}

void alt__node_failed(alt_lb *lb, alt__node *node, bool refresh_soon,
                      const char *why)
{
    int64_t now = alt__now_ms();
    bool was_trial = atomic_exchange(&node->trial, false);
    /* Transfers in flight to a dead node all fail at once: count one. */
    if (!was_trial && alt__node_out(node, now))
        return;
    unsigned failures = atomic_fetch_add(&node->failures, 1) + 1;
    pthread_mutex_lock(&lb->mu);
    bool out = was_trial || may_take_out(lb, node, now);
    unsigned ejections = 0;
    int64_t backoff = 0;
    if (out) {
        /* Each ejection in a row doubles the back-off; only an answer to a
         * request of the caller's ends the row (alt__node_ok). */
        ejections = atomic_fetch_add(&node->ejections, 1) + 1;
        backoff = atomic_load(&lb->backoff_min);
        int64_t most = atomic_load(&lb->backoff_max);
        for (unsigned i = 1; i < ejections && backoff < most; i++)
            backoff *= 2;
        if (backoff > most)
            backoff = most;
        alt__set_down_until(lb, node, now + backoff);
    }
    pthread_mutex_unlock(&lb->mu);
    if (out && (ejections == 1 || failures == atomic_load(&lb->max_failures)))
        atomic_store(&node->state_since, alt__wall_ms());
    if (refresh_soon)
        alt__refresh_soon(lb);
    if (out)
        alt__log(lb, ALT_LOG_WARN, "node %s failed (%s; %u in a row): %s "
                 "for %lld ms", node->addr, why, failures,
                 is_down(lb, node) ? "down, until a probe answers"
                                   : "out of rotation",
                 (long long)backoff);
    else
        alt__log(lb, ALT_LOG_WARN, "node %s failed (%s; %u in a row): kept "
                 "in rotation, as many nodes as may be are out", node->addr,
                 why, failures);
}

void alt__node_ok(alt_lb *lb, alt__node *node, bool probe)
{
    int64_t was_out = atomic_load_explicit(&node->down_until,
                                           memory_order_relaxed);
    if (was_out == 0
        && atomic_load_explicit(&node->failures, memory_order_relaxed) == 0
        && (probe || atomic_load_explicit(&node->ejections,
                                          memory_order_relaxed) == 0))
        return;
    /* A probe's answer shows the node up, not that its requests succeed
     * (it may answer /localnodes and fail every request): back in
     * rotation, its run of ejections (the back-off) going on. An answer to
     * a request of the caller's ends both runs. */
    atomic_store(&node->failures, 0);
    if (!probe)
        atomic_store(&node->ejections, 0);
    if (!was_out)
        return;
    alt__set_down_until(lb, node, 0);
    atomic_store(&node->trial, false);
    atomic_store(&node->state_since, alt__wall_ms());
    alt__log(lb, ALT_LOG_INFO, "node %s answers again", node->addr);
}

/* ------------------------------------------------------------------------ */
/* Latency                                                                   */
/* ------------------------------------------------------------------------ */

/* Histogram buckets: two per power of two of microseconds (bucket 2k for
 * [2^k, 1.5 * 2^k), 2k+1 for [1.5 * 2^k, 2^(k+1))), 2^27 us (134 s) and
 * beyond in the last. */
static unsigned bucket_of(uint64_t us)
{
    if (us < 1)
        us = 1;
    unsigned k = 63 - (unsigned)__builtin_clzll(us);
    unsigned b = 2 * k + (k > 0 ? (unsigned)(us >> (k - 1)) & 1 : 0);
    return b < ALT_HIST_BUCKETS ? b : ALT_HIST_BUCKETS - 1;
}

uint64_t alt__estimate(const alt__node *node)
{
    return atomic_load_explicit(&node->samples, memory_order_relaxed)
                   >= ALT_WARM_UP
               ? atomic_load_explicit(&node->ewma_us, memory_order_relaxed)
               : 0;
}

uint64_t alt__bucket_mid(unsigned b)
{
    uint64_t base = (uint64_t)1 << (b / 2);
    return b % 2 ? base * 7 / 4 : base * 5 / 4;
}

uint64_t alt__decayed(uint64_t est, int64_t idle_ms)
{
    int64_t halvings = idle_ms / ALT_ESTIMATE_HALF_LIFE_MS;
    return halvings <= 0 ? est : halvings >= 63 ? 0 : est >> halvings;
}

/*
 * The latency estimate a second choice compares. The first ALT_WARM_UP
 * answers of a node give the fastest of them (a cold first answer, a
 * pause, say nothing about the node), and second choices ignore the
 * estimate until then (alt__estimate). After that, a moving average that
 * goes half way to a faster sample and an eighth of the way to a slower
 * one, taken at most at twice the estimate (+100 us): a server's tail (a
 * pause, a run of heavier requests, a client that was not scheduled)
 * cannot take a node's traffic away, and a node that turned slow loses it
 * within a score of answers. A node that was passed over had its estimate
 * decay meanwhile (alt__decayed, as second choices saw it): its next
 * answer starts from there, and one no slower than the estimate before the
 * decay is taken as it is - so a node that recovered, or was only measured
 * at a bad moment, is back at its first answer, and one still slow is
 * avoided again at once. Written by whichever thread records; a lost
 * update between two threads costs one sample.
 */
void alt__latency_sample(alt__node *node, uint64_t us)
{
    if (us > UINT32_MAX / 4)
        us = UINT32_MAX / 4;
    uint64_t old = atomic_load_explicit(&node->ewma_us, memory_order_relaxed);
    int64_t now = alt__now_ms();
    uint64_t est;
    uint32_t seen = atomic_fetch_add_explicit(&node->samples, 1,
                                              memory_order_relaxed);
    if (old == 0) {
        est = us;
    } else if (seen < ALT_WARM_UP) {
        est = us < old ? us : old;
    } else {
        uint64_t now_est = alt__decayed(
            old, now - atomic_load_explicit(&node->ewma_at,
                                            memory_order_relaxed));
        if (us < now_est)
            est = (now_est + us) / 2;
        else if (us <= old)
            est = us;
        else
            est = (7 * old + (us < 2 * old + 100 ? us : 2 * old + 100)) / 8;
    }
    atomic_store_explicit(&node->ewma_us, est ? (uint32_t)est : 1,
                          memory_order_relaxed);
    atomic_store_explicit(&node->ewma_at, now, memory_order_relaxed);
    atomic_fetch_add_explicit(&node->hist[bucket_of(us)], 1,
                              memory_order_relaxed);
}

/* What a recorded HTTP answer says: a 5xx counts towards an outlier
 * ejection (max_5xx in a row, or one during a trial), anything else clears
 * the count. Never retried: the request reached the node. */
void alt__http_answer(alt_lb *lb, alt__node *node, long status)
{
    if (status < 500) {
        if (atomic_load_explicit(&node->consecutive_5xx, memory_order_relaxed))
            atomic_store(&node->consecutive_5xx, 0);
        alt__node_ok(lb, node, false);
        return;
    }
    atomic_fetch_add_explicit(&node->http_5xx, 1, memory_order_relaxed);
    unsigned run = atomic_fetch_add(&node->consecutive_5xx, 1) + 1;
    if (run >= atomic_load(&lb->max_5xx) || atomic_load(&node->trial)) {
        atomic_store(&node->consecutive_5xx, 0);
        char why[48];
        snprintf(why, sizeof why, "HTTP %ld, %u in a row", status, run);
        alt__node_failed(lb, node, false, why);
    }
}
