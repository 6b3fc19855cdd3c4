/*
 * multi.c: refreshes inside the caller's curl multi loop.
 *
 * The library's /localnodes transfer is one easy handle (lb->multi_job)
 * that it adds to the caller's multi when a refresh is due and takes back
 * in alt_multi_info_read(), which hides its completion from the caller.
 * It is added from alt_curl_prepare(), or from alt_multi_info_read() while
 * transfers of the caller's run: a loop that stops when its own transfers
 * are done, or that disarms its timer when libcurl says nothing runs, never
 * waits for it. Inside a libcurl callback libcurl refuses
 * curl_multi_add_handle with CURLM_RECURSIVE_API_CALL; the add is then
 * retried from the next call.
 *
 * Several alt_lb may share one multi. libcurl offers no way to tag a multi
 * handle, so a process-wide list of attached alt_lb finds the others at
 * attach time; the alt_lb on one multi then form a ring (lb->peer), walked
 * only by the thread that drives that multi.
 *
 * Calls down into discovery.c, refresh.c's schedule, curl.c's recording.
 */
#include "alt_private.h"

static pthread_mutex_t attached_mu = PTHREAD_MUTEX_INITIALIZER;
static alt_lb *attached_list; /* every attached alt_lb, by attached_next */

/* ------------------------------------------------------------------------ */
/* The connection pool                                                       */
/* ------------------------------------------------------------------------ */

/*
 * Keeps one pooled connection per node for every transfer of the caller's
 * that ran at once (+1 for the refresh), summed over the ring. libcurl's
 * default is too small once there are more than 4 nodes: 4 per added handle
 * (7.88), or 4 per transfer running (8.x), which trims the pool as
 * transfers end. Never below that default nor the caller's floor; raised
 * only; never above half the file-descriptor limit except for the caller's
 * own floor. Sized once a transfer of the caller's was seen, so that an
 * attached multi keeps the caller's own setting until then. Retried later
 * if refused (inside a callback).
 */
static void size_pool(alt_lb *lb)
{
    long want = 0, floor = 0, handles = 1, have = 0;
    alt_lb *m = lb;
    do {
        long transfers = (long)m->multi_inflight_high;
        want += (long)atomic_load(&m->nlive) * (transfers + 1) + 1;
        handles += transfers;
        long f = atomic_load(&m->maxconnects);
        if (f > floor)
            floor = f;
        if (m->multi_maxconn > have)
            have = m->multi_maxconn;
    } while ((m = m->peer) != lb);
    if (handles == 1)
        return;
    long budget = alt__fd_budget();
    if (want < 4 * handles)
        want = 4 * handles;
    if (want > budget)
        want = budget;
    if (want < floor)
        want = floor;
    if (want <= have)
        return;
    if (curl_multi_setopt(lb->multi, CURLMOPT_MAXCONNECTS, want) != CURLM_OK)
        return;
    m = lb;
    do
        m->multi_maxconn = want;
    while ((m = m->peer) != lb);
}

/* ------------------------------------------------------------------------ */
/* The refresh transfer                                                      */
/* ------------------------------------------------------------------------ */

static bool ring_busy(const alt_lb *lb)
{
    const alt_lb *m = lb;
    do
        if (m->multi_inflight > 0)
            return true;
    while ((m = m->peer) != lb);
    return false;
}

/* Starts the next attempt of the current round, or ends the round and
 * starts the DescribeTable requests due (tables.c), one after another. A
 * round that may not add its next request now is given up. */
static void start_attempt(alt_lb *lb, bool may_add)
{
    alt__job *job = lb->multi_job;
    alt__node *target = job->round_over ? NULL : alt__next_candidate(job);
    if (!target && !job->round_over) {
        job->round_over = true;
        alt__round_done(lb, job);
        if (!job->got_list)
            alt__log(lb, ALT_LOG_ERROR, "refresh failed: no node answered "
                     "with a usable list; keeping %zu nodes",
                     atomic_load(&lb->nlive));
        size_pool(lb);
    }
    if (!may_add) {
        /* No transfer of the caller's keeps the loop turning: give the
         * round up (and the claim, for the thread), due again soon if it
         * was cut short. */
        lb->multi_pending = false;
        alt__refresh_release(lb);
        if (target)
            alt__refresh_soon(lb);
        return;
    }
    bool describe = false;
    if (!target) {
        describe = job->describes < ALT_DESCRIBES_PER_ROUND
                   && alt__describe_setup(lb, job);
        if (!describe) {
            lb->multi_pending = false;
            alt__refresh_release(lb);
            return;
        }
        job->describes++;
    }
    CURLMcode mc = CURLM_OK;
    if ((!describe && alt__job_setup(lb, job, target) != ALT_OK)
        || (mc = curl_multi_add_handle(lb->multi, job->easy)) != CURLM_OK) {
        /* Retried from the next call: CURLM_RECURSIVE_API_CALL inside a
         * callback, or a transient failure. */
        if (describe) {
            alt__describe_abort(lb, job);
            job->describes--;
        } else {
            atomic_store(&job->target, NULL);
            job->attempt--;
        }
        if (mc != CURLM_RECURSIVE_API_CALL && mc != CURLM_OK)
            alt__log(lb, ALT_LOG_WARN, "cannot add the refresh transfer: %s",
                     curl_multi_strerror(mc));
        lb->multi_pending = true;
        return;
    }
    lb->multi_pending = false;
    lb->multi_job_added = true;
}

/* Starts a due refresh, or the attempt a refused add left pending. */
static void kick(alt_lb *lb)
{
    if (lb->multi_job_added)
        return;
    if (lb->multi_pending) {
        start_attempt(lb, true);
        return;
    }
    if (!alt__refresh_due(lb, alt__now_ms()) || !alt__refresh_claim(lb))
        return;
    if (alt__job_round(lb, lb->multi_job) != ALT_OK) {
        alt__refresh_release(lb);
        return;
    }
    size_pool(lb);
    start_attempt(lb, true);
}

static void finish_job(alt_lb *lb, CURLcode result)
{
    alt__job *job = lb->multi_job;
    curl_multi_remove_handle(lb->multi, job->easy);
    lb->multi_job_added = false;
    if (job->table)
        alt__describe_finish(lb, job, result);
    else if (alt__job_finish(lb, job, result) == ALT_E_NOMEM) {
        job->attempt = job->ncand; /* end the round */
        job->got_list = false;
    }
    /* The next attempt, or the end of the round; an attempt waits for a
     * transfer of the caller's to keep the loop turning. */
    start_attempt(lb, ring_busy(lb));
}

/* ------------------------------------------------------------------------ */
/* The caller's side                                                         */
/* ------------------------------------------------------------------------ */

void alt__multi_prepared(alt_lb *lb, alt__slot *slot)
{
    if (slot && slot->in_multi != lb->multi_gen) {
        slot->in_multi = lb->multi_gen;
        if (++lb->multi_inflight > lb->multi_inflight_high) {
            lb->multi_inflight_high = lb->multi_inflight;
            size_pool(lb);
        }
    }
    if (lb->multi_pending
        || alt__now_ms() >= atomic_load_explicit(&lb->due_active,
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
    if (!lb->multi_job) {
        alt_code rc = alt__job_new(lb, false, &lb->multi_job);
        if (rc != ALT_OK)
            return rc;
    }

    lb->multi = multi;
    lb->multi_thread = pthread_self();
    lb->multi_inflight = lb->multi_inflight_high = 0;
    if (++lb->multi_gen == 0) /* counts in slots of an earlier attachment */
        lb->multi_gen = 1;    /* must not match; 0 means none */
    lb->multi_maxconn = 0;
    lb->peer = lb;
    pthread_mutex_lock(&attached_mu);
    for (alt_lb *o = attached_list; o; o = o->attached_next)
        if (o->multi == multi) {
            lb->peer = o->peer;
            o->peer = lb;
            lb->multi_maxconn = o->multi_maxconn;
            break;
        }
    lb->attached_next = attached_list;
    attached_list = lb;
    pthread_mutex_unlock(&attached_mu);
    atomic_store(&lb->attached, true);
    return ALT_OK;
}

/* The alt_lb of the ring whose refresh transfer easy is, or NULL. */
static alt_lb *job_owner(alt_lb *lb, const CURL *easy)
{
    alt_lb *m = lb;
    do
        if (m->multi_job && m->multi_job->easy == easy)
            return m;
    while ((m = m->peer) != lb);
    return NULL;
}

int alt_multi_is_internal(const alt_lb *lb, const CURL *easy)
{
    return lb && lb->multi && easy
           && job_owner((alt_lb *)(uintptr_t)lb, easy) != NULL;
}

/* Records a caller's transfer in the alt_lb of the ring that prepared it. */
static void record(alt_lb *lb, CURL *easy, CURLcode result)
{
    alt_lb *m = lb;
    do {
        alt__slot *slot = alt__record(m, easy, result);
        if (slot) {
            if (slot->in_multi == m->multi_gen) {
                slot->in_multi = 0;
                if (m->multi_inflight > 0)
                    m->multi_inflight--;
            }
            return;
        }
    } while ((m = m->peer) != lb);
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
        alt_lb *owner = job_owner(lb, msg->easy_handle);
        if (owner) {
            if (msg->msg == CURLMSG_DONE)
                finish_job(owner, msg->data.result);
            continue;
        }
        if (msg->msg == CURLMSG_DONE)
            record(lb, msg->easy_handle, msg->data.result);
        return msg;
    }
    /* Drained: start what is due, while the caller's transfers run. */
    if (ring_busy(lb)) {
        alt_lb *m = lb;
        do
            kick(m);
        while ((m = m->peer) != lb);
    }
    return NULL;
}

void alt_multi_detach(alt_lb *lb)
{
    if (!lb || !lb->multi)
        return;
    if (lb->multi_job_added)
        curl_multi_remove_handle(lb->multi, lb->multi_job->easy);
    if (lb->multi_job && lb->multi_job->table)
        alt__describe_abort(lb, lb->multi_job);
    if (lb->multi_job)
        atomic_store(&lb->multi_job->target, NULL);
    if (lb->multi_job_added || lb->multi_pending) {
        /* Cut short: due again at once, wherever refreshes run next. */
        alt__refresh_release(lb);
        alt__refresh_soon(lb);
    }
    lb->multi_job_added = false;
    lb->multi_pending = false;
    pthread_mutex_lock(&attached_mu);
    for (alt_lb **p = &attached_list; *p; p = &(*p)->attached_next)
        if (*p == lb) {
            *p = lb->attached_next;
            break;
        }
    alt_lb *prev = lb;
    while (prev->peer != lb)
        prev = prev->peer;
    prev->peer = lb->peer;
    lb->peer = lb;
    pthread_mutex_unlock(&attached_mu);
    atomic_store(&lb->attached, false);
    lb->multi = NULL;
}
