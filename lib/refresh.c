/*
 * refresh.c: when a refresh is due, and the refreshes that block: the
 * caller's alt_lb_refresh() and the opt-in background thread.
 *
 * Due means: the active interval has passed and requests were prepared since
 * the last refresh began (lb->active), or the idle interval has passed, or
 * a node failed (alt__refresh_soon). Scheduled refreshes (the thread's and
 * the attached multi's) claim lb->busy_since, so one is in flight at a
 * time (unless its holder is stuck);
 * a refresh asked for by a failure comes no sooner than ALT_SOON_MS after
 * the last one began, so failing requests cannot start a storm.
 *
 * A blocking refresh runs on a job of its own with a private multi handle,
 * so that concurrent alt_lb_refresh() calls never wait for one another and
 * alt_lb_stop() can interrupt them with curl_multi_wakeup(), even while a
 * node holds the connection open without answering.
 */
#include "alt_private.h"

#include <stdlib.h>

#define ALT_SOON_MS 100

bool alt__refresh_due(alt_lb *lb, int64_t now)
{
    if (now >= atomic_load(&lb->due_idle))
        return true;
    return now >= atomic_load(&lb->due_active) && atomic_load(&lb->active);
}

/* A refresh begins now: the next ones are due an interval later. */
static void restart_intervals(alt_lb *lb)
{
    int64_t now = alt__now_ms();
    atomic_store(&lb->last_claim, now);
    atomic_store(&lb->active, false);
    atomic_store(&lb->due_active, now + atomic_load(&lb->active_ms));
    atomic_store(&lb->due_idle, now + atomic_load(&lb->idle_ms));
}

/* A claim older than this is taken over: its holder is stuck (a multi
 * whose loop stopped driving the refresh transfer). Two refreshes at once
 * are harmless, just wasteful. */
#define ALT_STALE_CLAIM_MS (4 * lb->total_timeout_ms + 1000)

bool alt__refresh_claim(alt_lb *lb)
{
    int64_t now = alt__now_ms();
    int64_t since = atomic_load(&lb->busy_since);
    if (since != 0 && now - since < ALT_STALE_CLAIM_MS)
        return false;
    if (!atomic_compare_exchange_strong(&lb->busy_since, &since, now))
        return false;
    restart_intervals(lb);
    return true;
}

static void wake_thread(alt_lb *lb)
{
    /* thread_job is set before the thread starts and kept until free. */
    alt__job *job = __atomic_load_n(&lb->thread_job, __ATOMIC_ACQUIRE);
    if (job)
        curl_multi_wakeup(job->multi);
}

void alt__refresh_release(alt_lb *lb)
{
    atomic_store(&lb->busy_since, 0);
    wake_thread(lb); /* it may have found a refresh due but claimed */
}

void alt__refresh_soon(alt_lb *lb)
{
    /* Due ALT_SOON_MS after the last refresh began, busy or idle. */
    int64_t when = atomic_load(&lb->last_claim) + ALT_SOON_MS;
    if (atomic_load(&lb->due_idle) > when)
        atomic_store(&lb->due_idle, when);
    if (atomic_load(&lb->due_active) > when)
        atomic_store(&lb->due_active, when);
    wake_thread(lb);
}

static bool stopped_since(alt_lb *lb, unsigned stops)
{
    return atomic_load(&lb->stops) != stops;
}

/* Runs one request of job on its private multi to its end;
 * CURLE_ABORTED_BY_CALLBACK when alt_lb_stop() was called since stops was
 * read. */
static CURLcode run_one(alt_lb *lb, alt__job *job, unsigned stops)
{
    CURLcode result = CURLE_ABORTED_BY_CALLBACK;
    if (curl_multi_add_handle(job->multi, job->easy) != CURLM_OK)
        return CURLE_FAILED_INIT;
    int running = 1;
    while (running && !stopped_since(lb, stops)) {
        if (curl_multi_perform(job->multi, &running) != CURLM_OK)
            break;
        if (running)
            curl_multi_poll(job->multi, NULL, 0, 1000, NULL);
    }
    int left;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(job->multi, &left)))
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == job->easy)
            result = msg->data.result;
    curl_multi_remove_handle(job->multi, job->easy);
    return result;
}

/* Runs the DescribeTable requests due (tables.c) after a round. */
static void run_describes(alt_lb *lb, alt__job *job, unsigned stops)
{
    for (unsigned i = 0; i < ALT_DESCRIBES_PER_ROUND
                         && !stopped_since(lb, stops)
                         && alt__describe_setup(lb, job); i++) {
        CURLcode result = run_one(lb, job, stops);
        if (stopped_since(lb, stops)) {
            alt__describe_abort(lb, job);
            return;
        }
        alt__describe_finish(lb, job, result);
    }
}

/* Asks the round's candidates one after another, then runs the
 * DescribeTable requests due. */
static alt_code refresh_round(alt_lb *lb, alt__job *job, unsigned stops)
{
    alt_code rc = alt__job_round(lb, job);
    if (rc != ALT_OK)
        return rc;
    alt__node *target;
    while ((target = alt__next_candidate(job))) {
        if ((rc = alt__job_setup(lb, job, target)) != ALT_OK)
            return rc;
        CURLcode result = run_one(lb, job, stops);
        if (stopped_since(lb, stops)) {
            atomic_store(&job->target, NULL);
            return ALT_E_ABORTED;
        }
        if (alt__job_finish(lb, job, result) == ALT_E_NOMEM)
            return ALT_E_NOMEM;
    }
    alt__round_done(lb, job);
    run_describes(lb, job, stops);
    return job->got_list ? ALT_OK : job->last;
}

alt_code alt_lb_refresh(alt_lb *lb)
{
    if (!lb)
        return ALT_E_INVALID_ARG;
    alt__freeze(lb);
    unsigned stops = atomic_load(&lb->stops);
    pthread_mutex_lock(&lb->jobs_mu);
    alt__job *job = lb->idle_jobs;
    if (job)
        lb->idle_jobs = job->idle_next;
    pthread_mutex_unlock(&lb->jobs_mu);
    alt_code rc = job ? ALT_OK : alt__job_new(lb, true, &job);
    if (rc == ALT_OK) {
        /* It counts as the scheduled one: the documented start-up (this
         * call, then a multi loop or the thread) asks no second time. */
        restart_intervals(lb);
        rc = refresh_round(lb, job, stops);
        pthread_mutex_lock(&lb->jobs_mu);
        job->idle_next = lb->idle_jobs;
        lb->idle_jobs = job;
        pthread_mutex_unlock(&lb->jobs_mu);
    }
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
        long active = atomic_load(&lb->active_ms);
        int64_t wait = active;
        if (alt__refresh_due(lb, now)) {
            if (alt__refresh_claim(lb)) {
                alt_code rc = refresh_round(lb, lb->thread_job, stops);
                alt__refresh_release(lb);
                if (rc != ALT_OK && rc != ALT_E_ABORTED)
                    alt__log(lb, ALT_LOG_ERROR, "refresh failed: %s",
                             alt_strerror(rc));
                continue;
            }
            /* The attached multi's refresh runs: its release wakes us. */
        } else {
            /* Until the next due time; whether requests were prepared
             * (lb->active) is looked at every active interval. */
            int64_t idle = atomic_load(&lb->due_idle) - now;
            int64_t busy = atomic_load(&lb->due_active) - now;
            if (idle < wait)
                wait = idle;
            if (busy > 0 && busy < wait)
                wait = busy;
        }
        if (wait < 1)
            wait = 1;
        curl_multi_poll(lb->thread_job->multi, NULL, 0, (int)wait, NULL);
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
    if (!lb->thread_job) {
        alt__job *job;
        alt_code rc = alt__job_new(lb, true, &job);
        if (rc != ALT_OK)
            return rc;
        __atomic_store_n(&lb->thread_job, job, __ATOMIC_RELEASE);
    }
    lb->thread_stops = atomic_load(&lb->stops);
    if (pthread_create(&lb->thread, NULL, refresher, lb) != 0)
        return ALT_E_THREAD;
    lb->thread_running = true;
    return ALT_OK;
}

void alt_lb_stop(alt_lb *lb)
{
    if (!lb)
        return;
    atomic_fetch_add(&lb->stops, 1);
    for (alt__job *j = atomic_load(&lb->jobs); j; j = j->next)
        if (j->multi)
            curl_multi_wakeup(j->multi);
    if (lb->thread_running) {
        pthread_join(lb->thread, NULL);
        lb->thread_running = false;
    }
}
