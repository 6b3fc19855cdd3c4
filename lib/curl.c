/*
 * curl.c: the per-request path: prepare, done, and easy-mode perform with
 * retries on another node.
 *
 * alt_curl_prepare() is the product's hot loop: a lock-free table probe,
 * two stores and an increment on the handle's own slot, loads of data that
 * changes only on refresh, one setopt and a coarse clock read. Nothing is
 * written that another thread's prepare reads or writes. Keep it that way; measure it with test/bench before and after any
 * change.
 */
#include "alt_private.h"

bool alt__connection_failure(CURL *easy, CURLcode result, bool *retriable)
{
    *retriable = false;
    switch (result) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SSL_CONNECT_ERROR:
        *retriable = true; /* nothing was sent */
        return true;
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR: {
        long header_bytes = 0;
        curl_easy_getinfo(easy, CURLINFO_HEADER_SIZE, &header_bytes);
        *retriable = header_bytes == 0; /* reset before any response byte */
        return true;
    }
    case CURLE_OPERATION_TIMEDOUT: {
        /* A connect timeout sent nothing; a timeout after sending may have
         * reached the server, so it is not retried (but still counts
         * against the node). */
        curl_off_t pretransfer = 0;
        curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
        *retriable = pretransfer == 0;
        return true;
    }
    default:
        return false;
    }
}

alt_code alt__prepare(alt_lb *lb, CURL *easy, bool retry)
{
    if (!lb || !easy)
        return ALT_E_INVALID_ARG;
    alt__freeze(lb);
    /* The mark keeps the picked node's record from being reused for
     * another address until the transfer is reported done (nodes.c). */
    alt__slot *slot = alt__slot_for(lb, easy);
    if (slot) {
        atomic_store(&slot->node, ALT_PICKING);
        slot->retries = retry ? slot->retries + 1 : 0;
    }
    alt__node *node = alt__pick(lb, slot);
    if (curl_easy_setopt(easy, CURLOPT_CONNECT_TO, &node->connect_to) != CURLE_OK
        || (lb->sigv4
            && (curl_easy_setopt(easy, CURLOPT_AWS_SIGV4, lb->sigv4_param) != CURLE_OK
                || curl_easy_setopt(easy, CURLOPT_USERNAME, lb->access_key) != CURLE_OK
                || curl_easy_setopt(easy, CURLOPT_PASSWORD, lb->secret_key) != CURLE_OK))) {
        if (slot)
            atomic_store(&slot->node, NULL);
        return ALT_E_CURL;
    }
    if (slot)
        atomic_store_explicit(&slot->node, node, memory_order_release);
    if (!atomic_load_explicit(&lb->active, memory_order_relaxed))
        atomic_store_explicit(&lb->active, true, memory_order_relaxed);
    if (atomic_load_explicit(&lb->attached, memory_order_acquire)
        && pthread_equal(pthread_self(), lb->multi_thread))
        alt__multi_prepared(lb);
    return slot ? ALT_OK : ALT_E_NOMEM;
}

alt_code alt_curl_prepare(alt_lb *lb, CURL *easy)
{
    return alt__prepare(lb, easy, false);
}

void alt_curl_done(alt_lb *lb, CURL *easy, CURLcode result)
{
    if (!lb || !easy)
        return;
    alt__node *node = alt__take(lb, easy);
    if (!node)
        return;
    bool retriable;
    if (alt__connection_failure(easy, result, &retriable))
        alt__node_failed(lb, node, true);
    else if (result == CURLE_OK)
        alt__node_ok(lb, node);
}

CURLcode alt_curl_perform(alt_lb *lb, CURL *easy)
{
    if (!lb || !easy)
        return CURLE_BAD_FUNCTION_ARGUMENT;
    size_t tries = atomic_load(&lb->nlive);
    CURLcode result = CURLE_OK;
    for (size_t i = 0; i < tries; i++) {
        alt_code rc = alt__prepare(lb, easy, i > 0);
        if (rc == ALT_E_INVALID_ARG || rc == ALT_E_CURL)
            return CURLE_BAD_FUNCTION_ARGUMENT;
        /* A private pool of one connection per node (libcurl's default is
         * 5, which would close a connection on nearly every request). */
        size_t n = atomic_load_explicit(&lb->nlive, memory_order_relaxed);
        if (n > 5)
            curl_easy_setopt(easy, CURLOPT_MAXCONNECTS, (long)n);
        result = curl_easy_perform(easy);
        bool retriable;
        bool failed = alt__connection_failure(easy, result, &retriable);
        alt_curl_done(lb, easy, result);
        if (!failed || !retriable || i + 1 == tries)
            break;
        alt__log(lb, ALT_LOG_INFO, "retrying on another node: %s",
                 curl_easy_strerror(result));
    }
    return result;
}
