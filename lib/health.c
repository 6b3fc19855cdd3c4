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
 *    that waited for a connection slot of its multi
 *    (CURLMOPT_MAX_TOTAL_CONNECTIONS) never got as far as the name lookup.
 *    (8.21 reports 0 for a reused connection too, which sends at once.)
 *    7.x is the exception: see alt__classify.
 *  - "the node refused" is CURLINFO_OS_ERRNO: a failed connect() reports
 *    the network's errno, while a client out of file descriptors gets
 *    CURLE_COULDNT_CONNECT with errno 0 (7.88 and 8.21 alike).
 *
 * A timeout is judged by when the caller's loop last called in (see
 * alt__classify): a stalled loop times out healthy nodes' transfers.
 *
 * A node at fault leaves the rotation for a back-off, then gets one request
 * on trial. At most half of the listed nodes are out for good at once: one
 * that fails beyond that is out "softly", used only when no other node can
 * take a request, since when more look dead the client itself is the
 * likelier culprit.
 *
 * Calls down into nodes.c only; a fault sets a refresh due.
 */
#include "alt_private.h"

#include <errno.h>

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

alt__outcome alt__classify(const alt_lb *lb, CURL *easy, CURLcode result,
                           int64_t loop_gap_ms)
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
        o.node_fault = network_errno(err);
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
         * makes no lookup either, but sends at once.) Otherwise the node
         * did not connect or answer in time, unless the loop driving the
         * transfer was away for more than half of its life: then it may
         * have stalled, and the answer may be waiting unread. */
        curl_off_t lookup = 0, total = 0;
        curl_easy_getinfo(easy, CURLINFO_NAMELOOKUP_TIME_T, &lookup);
        curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total);
        if ((sent == 0 && lookup == 0)
            || (loop_gap_ms >= 0 && loop_gap_ms * 2000 > (int64_t)total))
            return o;
        /* libcurl 7.x never times out a transfer while it waits for a
         * connection slot: once it gets one, it starts connecting and fails
         * it at once, just like a connect that hit CURLOPT_TIMEOUT. Only
         * the handshake's own timeout (CURLOPT_CONNECTTIMEOUT) is told
         * apart there, by errno ETIMEDOUT; the rest is the caller's
         * deadline, spent queued or not: nobody's fault, and over. */
        if (sent == 0 && lb->curl7) {
            long err = 0;
            curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &err);
            if (err != ETIMEDOUT)
                return o;
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

bool alt__node_out(const alt__node *node, int64_t now)
{
    return atomic_load_explicit(&node->down_until, memory_order_relaxed) > now;
}

int alt__eligible(alt__node *node, int64_t *now)
{
    int64_t d = atomic_load_explicit(&node->down_until, memory_order_relaxed);
    if (d == 0)
        return ALT_TAKE;
    if (*now == 0)
        *now = alt__now_ms();
    if (d > *now)
        return atomic_load_explicit(&node->soft, memory_order_relaxed)
               ? ALT_IF_NONE_BETTER : ALT_SKIP;
    /* The back-off is over: one request on trial at a time. The trial
     * holds the node out again for the minimum back-off, so that a trial
     * never reported done does not keep it out for long. */
    if (!atomic_compare_exchange_strong(&node->down_until, &d,
                                        *now + ALT_BACKOFF_MIN_MS))
        return ALT_SKIP;
    atomic_store(&node->trial, true);
    return ALT_TAKE;
}

/* Whether one more node may be taken out for good (not soft). Caller
 * holds lb->mu. */
static bool may_take_out(alt_lb *lb, int64_t now)
{
    size_t n = atomic_load(&lb->nlive), out = 0;
    for (size_t i = 0; i < n; i++) {
        const alt__node *node = atomic_load(&lb->live[i]);
        out += alt__node_out(node, now) && !atomic_load(&node->soft);
    }
    return out + 1 <= n / 2;
}

void alt__node_failed(alt_lb *lb, alt__node *node, bool refresh_soon)
{
    int64_t now = alt__now_ms();
    bool was_trial = atomic_exchange(&node->trial, false);
    /* Transfers in flight to a dead node all fail at once: count one. */
    if (!was_trial && alt__node_out(node, now))
        return;
    unsigned failures = atomic_fetch_add(&node->failures, 1) + 1;
    int64_t backoff = ALT_BACKOFF_MIN_MS;
    for (unsigned i = 1; i < failures && backoff < ALT_BACKOFF_MAX_MS; i++)
        backoff *= 2;
    if (backoff > ALT_BACKOFF_MAX_MS)
        backoff = ALT_BACKOFF_MAX_MS;
    /* Out either way for the back-off; soft when half of the nodes are
     * out already, so that it still gets requests if all else fails. */
    pthread_mutex_lock(&lb->mu);
    bool soft = (!was_trial || atomic_load(&node->soft))
                && !may_take_out(lb, now);
    atomic_store(&node->soft, soft);
    atomic_store(&node->down_until, now + backoff);
    pthread_mutex_unlock(&lb->mu);
    if (refresh_soon)
        alt__refresh_soon(lb);
    alt__log(lb, ALT_LOG_WARN, "node %s failed (%u in a row): out of "
             "rotation for %lld ms%s", node->addr, failures,
             (long long)backoff,
             soft ? ", used only if no other node is left (half of the "
                    "nodes are out already)" : "");
}

void alt__node_ok(alt_lb *lb, alt__node *node)
{
    if (atomic_load_explicit(&node->failures, memory_order_relaxed) == 0
        && atomic_load_explicit(&node->down_until, memory_order_relaxed) == 0)
        return;
    atomic_store(&node->failures, 0);
    atomic_store(&node->down_until, 0);
    atomic_store(&node->trial, false);
    atomic_store(&node->soft, false);
    alt__log(lb, ALT_LOG_INFO, "node %s answers again", node->addr);
}
