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

/* Whether node may be taken out for good (not softly): at most half of
 * the listed nodes are. Caller holds lb->mu. */
static bool may_take_out(alt_lb *lb, const alt__node *node, int64_t now)
{
    size_t n = atomic_load(&lb->nlive), out = 0;
    for (size_t i = 0; i < n; i++) {
        const alt__node *o = atomic_load(&lb->live[i]);
        out += o != node && alt__node_out(o, now) && !atomic_load(&o->soft);
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
    bool soft = !may_take_out(lb, node, now);
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
