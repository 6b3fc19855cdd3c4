/*
 * multi.c: refreshes inside the caller's curl multi loop.
 *
 * The library's /localnodes transfer is one easy handle (lb->multi_job) that
 * it adds to the caller's multi when a refresh is due and takes back in
 * alt_multi_info_read(), which hides its completion from the caller. Inside
 * a libcurl callback libcurl refuses curl_multi_add_handle with
 * CURLM_RECURSIVE_API_CALL; the refresh then simply stays due and is added by
 * the next call made from outside a callback.
 */
#include "alt_private.h"

/* Keeps one pooled connection per node for every handle the caller runs
 * (+1 for the refresh): libcurl's default, 4 per added handle, is too small
 * once there are more than 4 nodes. Never below that default, since setting
 * the option replaces it. Raised only; retried later if refused (inside a
 * callback). */
static void size_pool(alt_lb *lb)
{
    size_t handles = atomic_load(&lb->nhandles) + 1;
    size_t want = atomic_load(&lb->nlive) * handles + 1;
    if (want < 4 * handles)
        want = 4 * handles;
    if (want > 100000)
        want = 100000;
    lb->pool_handles = handles - 1;
    if ((long)want <= lb->multi_maxconn)
        return;
    if (curl_multi_setopt(lb->multi, CURLMOPT_MAXCONNECTS, (long)want) == CURLM_OK)
        lb->multi_maxconn = (long)want;
    else
        lb->pool_handles = 0;
}

/* Starts the next attempt of the current round, or ends the round. */
static void start_attempt(alt_lb *lb)
{
    alt__job *job = &lb->multi_job;
    alt__node *target = alt__next_candidate(job);
    if (!target) {
        alt__log(lb, ALT_LOG_ERROR, "refresh failed: no node answered with a "
                 "usable list; keeping %zu nodes", atomic_load(&lb->nlive));
        lb->multi_pending = false;
        alt__refresh_release(lb);
        return;
    }
    CURLMcode mc = CURLM_OK;
    if (alt__job_setup(lb, job, target) != ALT_OK
        || (mc = curl_multi_add_handle(lb->multi, job->easy)) != CURLM_OK) {
        /* Retried from the next call: CURLM_RECURSIVE_API_CALL inside a
         * callback, or a transient failure. */
        job->attempt--;
        if (mc != CURLM_RECURSIVE_API_CALL)
            alt__log(lb, ALT_LOG_WARN, "cannot add the refresh transfer: %s",
                     curl_multi_strerror(mc));
        lb->multi_pending = true;
        return;
    }
    lb->multi_pending = false;
    lb->multi_job_added = true;
}

static void kick(alt_lb *lb)
{
    if (!lb->multi || lb->multi_job_added)
        return;
    if (lb->multi_pending) {
        start_attempt(lb);
        return;
    }
    if (!alt__refresh_due(lb, alt__now_ms()) || !alt__refresh_claim(lb))
        return;
    if (alt__job_round(lb, &lb->multi_job) != ALT_OK) {
        alt__refresh_release(lb);
        return;
    }
    size_pool(lb);
    start_attempt(lb);
}

void alt__multi_prepared(alt_lb *lb)
{
    if (atomic_load_explicit(&lb->nhandles, memory_order_relaxed)
        != lb->pool_handles)
        size_pool(lb);
    if (alt__now_ms() >= atomic_load_explicit(&lb->due_active,
                                              memory_order_relaxed))
        kick(lb);
}

alt_code alt_multi_attach(alt_lb *lb, CURLM *multi)
{
    if (!lb || !multi)
        return ALT_E_INVALID_ARG;
    if (lb->multi)
        return lb->multi == multi ? ALT_OK : ALT_E_STATE;
    alt__freeze(lb);
    alt_code rc = alt__job_init(lb, &lb->multi_job);
    if (rc != ALT_OK)
        return rc;
    lb->multi = multi;
    lb->multi_thread = pthread_self();
    atomic_store(&lb->attached, true);
    lb->multi_maxconn = 0;
    size_pool(lb);
    kick(lb);
    return ALT_OK;
}

static void finish_job(alt_lb *lb, CURLcode result)
{
    alt__job *job = &lb->multi_job;
    curl_multi_remove_handle(lb->multi, job->easy);
    lb->multi_job_added = false;
    alt_code rc = alt__job_finish(lb, job, result);
    if (rc == ALT_OK || rc == ALT_E_NOMEM) {
        alt__refresh_release(lb);
        size_pool(lb);
        return;
    }
    start_attempt(lb); /* the next candidate of this round */
}

/*
 * A transfer that failed before reaching any server (see
 * alt__connection_failure) goes again to another node, as in
 * alt_curl_perform(), while there are nodes it has not tried: the caller
 * sees only the end. Returns NULL when it went again, else the message to
 * give the caller (msg, or a copy if the handle had to leave the multi).
 */
static CURLMsg *retry_elsewhere(alt_lb *lb, CURLMsg *msg)
{
    CURL *easy = msg->easy_handle;
    bool retriable;
    if (!alt__connection_failure(easy, msg->data.result, &retriable)
        || !retriable)
        return msg;
    alt__slot *slot = alt__slot_find(lb, easy);
    if (!slot || !atomic_load(&slot->node)
        || slot->retries + 1 >= atomic_load(&lb->nlive))
        return msg;
    lb->retry_msg = *msg;
    alt_curl_done(lb, easy, msg->data.result);
    curl_multi_remove_handle(lb->multi, easy);
    if (alt__prepare(lb, easy, true) != ALT_OK
        || curl_multi_add_handle(lb->multi, easy) != CURLM_OK)
        return &lb->retry_msg;
    alt__log(lb, ALT_LOG_INFO, "retrying on another node: %s",
             curl_easy_strerror(lb->retry_msg.data.result));
    return NULL;
}

CURLMsg *alt_multi_info_read(alt_lb *lb, int *msgs_in_queue)
{
    int dummy;
    if (!msgs_in_queue)
        msgs_in_queue = &dummy;
    *msgs_in_queue = 0;
    if (!lb || !lb->multi)
        return NULL;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(lb->multi, msgs_in_queue))) {
        if (msg->easy_handle == lb->multi_job.easy) {
            if (msg->msg == CURLMSG_DONE)
                finish_job(lb, msg->data.result);
            continue;
        }
        if (msg->msg != CURLMSG_DONE)
            return msg;
        if (!(msg = retry_elsewhere(lb, msg)))
            continue;
        alt_curl_done(lb, msg->easy_handle, msg->data.result);
        return msg;
    }
    if (atomic_load(&lb->nhandles) != lb->pool_handles)
        size_pool(lb);
    kick(lb);
    return NULL;
}

void alt_multi_detach(alt_lb *lb)
{
    if (!lb || !lb->multi)
        return;
    if (lb->multi_job_added)
        curl_multi_remove_handle(lb->multi, lb->multi_job.easy);
    atomic_store(&lb->multi_job.target, NULL);
    if (lb->multi_job_added || lb->multi_pending) {
        /* Cut short: due again at once, wherever refreshes run next. */
        alt__refresh_release(lb);
        alt__refresh_soon(lb);
    }
    lb->multi_job_added = false;
    lb->multi_pending = false;
    atomic_store(&lb->attached, false);
    lb->multi = NULL;
}
