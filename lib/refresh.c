/*
 * refresh.c: when a refresh is due, and the refreshes that block: the
 * caller's alt_lb_refresh() and the opt-in background thread.
 *
 * Due means: the active interval has passed and requests were prepared since
 * the last refresh began (lb->active), or the idle interval has passed, or
 * a node failed (alt__refresh_soon). Scheduled refreshes (the thread's and
 * the attached multi's) claim lb->refresh_busy, so at most one is in flight.
 *
 * A blocking refresh runs on a private multi handle so that alt_lb_stop()
 * can interrupt it at once with curl_multi_wakeup(), even while a node holds
 * the connection open without answering.
 */
#include "alt_private.h"

#include <stdlib.h>

bool alt__refresh_due(alt_lb *lb, int64_t now)
{
    if (now >= atomic_load(&lb->due_idle))
        return true;
    return now >= atomic_load(&lb->due_active) && atomic_load(&lb->active);
}

bool alt__refresh_claim(alt_lb *lb)
{
    bool expected = false;
    if (!atomic_compare_exchange_strong(&lb->refresh_busy, &expected, true))
        return false;
    int64_t now = alt__now_ms();
    atomic_store(&lb->active, false);
    atomic_store(&lb->due_active, now + atomic_load(&lb->active_ms));
    atomic_store(&lb->due_idle, now + atomic_load(&lb->idle_ms));
    return true;
}

void alt__refresh_release(alt_lb *lb)
{
    atomic_store(&lb->refresh_busy, false);
}

void alt__refresh_soon(alt_lb *lb)
{
    atomic_store(&lb->due_active, 0);
    atomic_store(&lb->due_idle, 0);
    curl_multi_wakeup(lb->thread_multi);
}

static bool stopped_since(alt_lb *lb, unsigned stops)
{
    return atomic_load(&lb->stops) != stops;
}

/* Runs one request of job on multi to its end; CURLE_ABORTED_BY_CALLBACK
 * when alt_lb_stop() was called since stops was read. */
static CURLcode run_one(alt_lb *lb, alt__job *job, CURLM *multi,
                        unsigned stops)
{
    CURLcode result = CURLE_ABORTED_BY_CALLBACK;
    if (curl_multi_add_handle(multi, job->easy) != CURLM_OK)
        return CURLE_FAILED_INIT;
    int running = 1;
    while (running && !stopped_since(lb, stops)) {
        if (curl_multi_perform(multi, &running) != CURLM_OK)
            break;
        if (running)
            curl_multi_poll(multi, NULL, 0, 1000, NULL);
    }
    int left;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(multi, &left)))
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == job->easy)
            result = msg->data.result;
    curl_multi_remove_handle(multi, job->easy);
    return result;
}

/* Asks the candidates one after another until one gives a usable list. */
static alt_code refresh_round(alt_lb *lb, alt__job *job, CURLM *multi,
                              unsigned stops)
{
    alt_code rc = alt__job_init(lb, job);
    if (rc != ALT_OK)
        return rc;
    if ((rc = alt__job_round(lb, job)) != ALT_OK)
        return rc;
    rc = ALT_E_UNREACHABLE;
    alt__node *target;
    while ((target = alt__next_candidate(job))) {
        if ((rc = alt__job_setup(lb, job, target)) != ALT_OK)
            break;
        CURLcode result = run_one(lb, job, multi, stops);
        if (stopped_since(lb, stops)) {
            atomic_store(&job->target, NULL);
            return ALT_E_ABORTED;
        }
        rc = alt__job_finish(lb, job, result);
        if (rc == ALT_OK || rc == ALT_E_NOMEM)
            break;
    }
    return rc;
}

alt_code alt_lb_refresh(alt_lb *lb)
{
    if (!lb)
        return ALT_E_INVALID_ARG;
    alt__freeze(lb);
    pthread_mutex_lock(&lb->block_mu);
    alt_code rc = refresh_round(lb, &lb->block_job, lb->block_multi,
                                atomic_load(&lb->stops));
    pthread_mutex_unlock(&lb->block_mu);
    if (rc != ALT_OK)
        alt__log(lb, ALT_LOG_ERROR, "refresh failed: %s", alt_strerror(rc));
    return rc;
}

static void *refresher(void *arg)
{
    alt_lb *lb = arg;
    unsigned stops = lb->thread_stops;
    while (!stopped_since(lb, stops)) {
        int64_t now = alt__now_ms();
        if (alt__refresh_due(lb, now) && alt__refresh_claim(lb)) {
            alt_code rc = refresh_round(lb, &lb->thread_job, lb->thread_multi,
                                        stops);
            alt__refresh_release(lb);
            if (rc != ALT_OK && rc != ALT_E_ABORTED)
                alt__log(lb, ALT_LOG_ERROR, "refresh failed: %s",
                         alt_strerror(rc));
            continue;
        }
        /* Sleep until the idle refresh, looking for activity every active
         * interval; a failure or alt_lb_stop() wakes us at once. */
        int64_t wait = atomic_load(&lb->due_idle) - now;
        long active = atomic_load(&lb->active_ms);
        if (wait > active)
            wait = active;
        if (wait < 1)
            wait = 1;
        curl_multi_poll(lb->thread_multi, NULL, 0, (int)wait, NULL);
    }
    return NULL;
}

alt_code alt_lb_start(alt_lb *lb)
{
    if (!lb)
        return ALT_E_INVALID_ARG;
    if (lb->thread_running)
        return ALT_E_STATE;
    alt__freeze(lb);
    alt_code rc = alt__job_init(lb, &lb->thread_job);
    if (rc != ALT_OK)
        return rc;
    lb->thread_stops = atomic_load(&lb->stops);
    if (pthread_create(&lb->thread, NULL, refresher, lb) != 0)
        return ALT_E_THREAD;
    lb->thread_running = true;
    return ALT_OK;
}

void alt_lb_stop(alt_lb *lb)
{
    if (!lb || !lb->thread_running)
        return;
    atomic_fetch_add(&lb->stops, 1);
    curl_multi_wakeup(lb->thread_multi);
    curl_multi_wakeup(lb->block_multi);
    pthread_join(lb->thread, NULL);
    lb->thread_running = false;
}
