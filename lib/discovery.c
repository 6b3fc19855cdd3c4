/*
 * discovery.c: one GET /localnodes request on an easy handle of the
 * library's, the round of nodes asked in turn, and the validation of an
 * answer.
 *
 * The request goes to the fake-domain URL with the target node's CONNECT_TO
 * list, exactly like the caller's requests, so TLS is checked against the
 * same name. An answer is accepted only if it is a JSON array holding at
 * least one valid address; anything else keeps the current list.
 *
 * A round asks first every listed node whose back-off after a failure is
 * over (a probe: any HTTP answer puts it back in rotation), then up to
 * ALT_MAX_ASKED nodes in rotation, then the seeds, and ends at the first
 * usable list once the probes have been asked.
 *
 * Calls down into health.c and nodes.c.
 */
#include "alt_private.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    alt__job *job = userdata;
    size_t n = size * nmemb;
    if (n > ALT_MAX_BODY - job->len)
        return 0; /* too big: CURLE_WRITE_ERROR */
    if (job->len + n + 1 > job->cap) {
        size_t cap = job->cap ? job->cap : 4096;
        while (cap < job->len + n + 1)
            cap *= 2;
        char *body = realloc(job->body, cap);
        if (!body)
            return 0;
        job->body = body;
        job->cap = cap;
    }
    memcpy(job->body + job->len, data, n);
    job->len += n;
    job->body[job->len] = '\0';
    return n;
}

static CURLcode configure(alt_lb *lb, alt__job *job)
{
    CURL *easy = job->easy;
    CURLcode rc = CURLE_OK;
#define SET(opt, val) \
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, opt, val)
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, job);
    SET(CURLOPT_ERRORBUFFER, job->errbuf);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, lb->connect_timeout_ms);
    SET(CURLOPT_TIMEOUT_MS, lb->total_timeout_ms);
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SET(CURLOPT_USERAGENT, "alternator_lb/" ALT_VERSION_STR);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85 */
    SET(CURLOPT_PROTOCOLS_STR, lb->https ? "https" : "http");
#else
    SET(CURLOPT_PROTOCOLS, lb->https ? (long)CURLPROTO_HTTPS : (long)CURLPROTO_HTTP);
#endif
    /* A private pool (used when run on a private multi) of a few
     * connections keeps the usual targets warm. */
    SET(CURLOPT_MAXCONNECTS, 16L);
    if (lb->https) {
        if (lb->ca_file)
            SET(CURLOPT_CAINFO, lb->ca_file);
        SET(CURLOPT_SSL_VERIFYPEER, lb->tls_verify ? 1L : 0L);
        SET(CURLOPT_SSL_VERIFYHOST, lb->tls_verify ? 2L : 0L);
    }
#undef SET
    return rc;
}

void alt__job_free(alt__job *job)
{
    if (!job)
        return;
    if (job->easy)
        curl_easy_cleanup(job->easy);
    curl_multi_cleanup(job->multi);
    free(job->body);
    free(job->post);
    free(job->cand);
    free(job);
}

alt_code alt__job_new(alt_lb *lb, bool private_multi, alt__job **out)
{
    alt__job *job = calloc(1, sizeof *job);
    if (!job)
        return ALT_E_NOMEM;
    atomic_init(&job->target, NULL);
    CURLcode rc = CURLE_OUT_OF_MEMORY;
    if (!(job->easy = curl_easy_init())
        || (private_multi && !(job->multi = curl_multi_init()))
        || (rc = configure(lb, job)) != CURLE_OK) {
        if (rc != CURLE_OUT_OF_MEMORY)
            alt__log(lb, ALT_LOG_ERROR, "discovery handle setup: %s",
                     curl_easy_strerror(rc));
        alt__job_free(job);
        return rc == CURLE_OUT_OF_MEMORY ? ALT_E_NOMEM : ALT_E_CURL;
    }
    /* Listed for alt__node_busy() and alt_lb_stop() until alt_lb_free(). */
    job->next = atomic_load(&lb->jobs);
    while (!atomic_compare_exchange_weak(&lb->jobs, &job->next, job))
        ;
    *out = job;
    return ALT_OK;
}

alt_code alt__job_setup(alt_lb *lb, alt__job *job, alt__node *target)
{
    job->len = 0;
    job->errbuf[0] = '\0';
    if (job->posted) { /* back from a DescribeTable (tables.c) */
        CURL *easy = job->easy;
        if (curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L) != CURLE_OK
            || curl_easy_setopt(easy, CURLOPT_HTTPHEADER,
                                (struct curl_slist *)NULL) != CURLE_OK
            || (lb->sigv4 && alt__set_sigv4(lb, easy, false) != CURLE_OK))
            return ALT_E_NOMEM;
        job->posted = false;
    }
    /* The target is pinned (alt__node_busy) under lb->mu, where records
     * are reused, so it cannot change address while the request runs. */
    pthread_mutex_lock(&lb->mu);
    atomic_store(&job->target, target);
    CURLcode rc = curl_easy_setopt(job->easy, CURLOPT_CONNECT_TO,
                                   &target->connect_to);
    pthread_mutex_unlock(&lb->mu);
    job->scope = atomic_load(&lb->scope);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(job->easy, CURLOPT_URL, lb->nodes_url[job->scope]);
    if (rc != CURLE_OK) {
        atomic_store(&job->target, NULL);
        return ALT_E_NOMEM;
    }
    return ALT_OK;
}

static bool contains(alt__node *const *nodes, size_t n, const alt__node *x)
{
    for (size_t i = 0; i < n; i++)
        if (nodes[i] == x)
            return true;
    return false;
}

alt_code alt__job_round(alt_lb *lb, alt__job *job)
{
    /* A snapshot: the set changes as candidates fail during the round, and
     * walking it live would skip nodes. */
    alt_code rc = ALT_OK;
    pthread_mutex_lock(&lb->mu);
    size_t nlive = atomic_load(&lb->nlive);
    size_t need = 2 * ALT_MAX_ASKED + lb->nseeds;
    if (need > job->cand_cap) {
        alt__node **cand = realloc(job->cand, need * sizeof *cand);
        if (!cand) {
            rc = ALT_E_NOMEM;
            goto out;
        }
        job->cand = cand;
        job->cand_cap = need;
    }
    int64_t now = alt__now_ms();
    size_t start = atomic_fetch_add(&lb->refresh_rr, 1);
    job->ncand = 0;
    for (size_t i = 0; i < nlive && job->ncand < ALT_MAX_ASKED; i++) {
        alt__node *node = atomic_load(&lb->live[(start + i) % nlive]);
        if (atomic_load(&node->failures) > 0 && !alt__node_out(node, now))
            job->cand[job->ncand++] = node;
    }
    job->nprobe = job->ncand;
    for (size_t i = 0, asked = 0; i < nlive && asked < ALT_MAX_ASKED; i++) {
        alt__node *node = atomic_load(&lb->live[(start + i) % nlive]);
        if (atomic_load(&node->failures) == 0) {
            job->cand[job->ncand++] = node;
            asked++;
        }
    }
    for (size_t i = 0; i < lb->nseeds; i++)
        if (!contains(job->cand, job->ncand, lb->seeds[i]))
            job->cand[job->ncand++] = lb->seeds[i];
out:
    job->attempt = 0;
    job->got_list = false;
    job->round_over = false;
    job->describes = 0;
    job->last = ALT_E_UNREACHABLE;
    pthread_mutex_unlock(&lb->mu);
    return rc;
}

void alt__round_done(alt_lb *lb, const alt__job *job)
{
    atomic_fetch_add(job->got_list ? &lb->refreshes : &lb->refreshes_failed, 1);
}

alt__node *alt__next_candidate(alt__job *job)
{
    /* Nodes that went out meanwhile are skipped; seeds are the last resort
     * and always asked. */
    int64_t now = alt__now_ms();
    while (job->attempt < job->ncand) {
        if (job->got_list && job->attempt >= job->nprobe)
            break;
        alt__node *node = job->cand[job->attempt++];
        if (node->seed || !alt__node_out(node, now))
            return node;
    }
    return NULL;
}

/* Validates and interns the addresses of a /localnodes body, and when
 * publish is set puts them in rotation. Invalid entries are dropped (and
 * logged); duplicates are kept once. The work that needs no lock (JSON,
 * validation, canonical forms) is done before taking lb->mu, which then
 * covers only the index lookups and the publication. */
static alt_code take_answer(alt_lb *lb, const char *body, size_t len,
                            alt__node **out, size_t max, size_t *n,
                            bool publish)
{
    *n = 0;
    /* A list of strings needs depth 1; depth 2 lets a stray array or object
     * entry be dropped like any invalid entry; deeper nesting is hostile. */
    json_tokener *tok = json_tokener_new_ex(3);
    if (!tok)
        return ALT_E_NOMEM;
    json_object *root = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t parsed = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    const char *bad = NULL;
    if (!root || jerr != json_tokener_success)
        bad = "bad JSON";
    for (; !bad && parsed < len; parsed++)
        if (!strchr(" \t\r\n", body[parsed]))
            bad = "trailing data after JSON";
    if (!bad && !json_object_is_type(root, json_type_array))
        bad = "not a JSON array";
    if (bad) {
        alt__log(lb, ALT_LOG_WARN, "/localnodes: %s%s%s%s", bad,
                 jerr != json_tokener_success ? " (" : "",
                 jerr != json_tokener_success ? json_tokener_error_desc(jerr)
                                              : "",
                 jerr != json_tokener_success ? ")" : "");
        json_object_put(root);
        return ALT_E_BAD_RESPONSE;
    }

    size_t count = json_object_array_length(root), dropped = 0, full = 0;
    size_t nvalid = 0;
    /* Canonical forms, one after another: at most ALT_MAX_HOST + 1 bytes
     * each, and an IP literal's canonical form at most 46. */
    size_t room = (count < max ? count : max) * (ALT_MAX_HOST + 1);
    if (room > len + 48 * count)
        room = len + 48 * count;
    char *canon = malloc(room + 1);
    size_t *at = malloc((count < max ? count : max) * sizeof *at + 1);
    if (!canon || !at) {
        free(canon);
        free(at);
        json_object_put(root);
        return ALT_E_NOMEM;
    }
    size_t used = 0;
    for (size_t i = 0; i < count; i++) {
        json_object *item = json_object_array_get_idx(root, i);
        size_t clen = 0;
        if (json_object_is_type(item, json_type_string)) {
            if (nvalid == max) {
                dropped += count - i;
                break;
            }
            clen = alt__canonical_host(
                json_object_get_string(item),
                (size_t)json_object_get_string_len(item), true, canon + used,
                room - used);
        }
        if (clen == 0) {
            dropped++; /* not a string, or not a valid address */
            continue;
        }
        at[nvalid++] = used;
        used += clen + 1;
    }
    json_object_put(root);

    alt_code rc = ALT_OK;
    pthread_mutex_lock(&lb->mu);
    unsigned mark = ++lb->mark ? lb->mark : ++lb->mark; /* never 0 */
    for (size_t i = 0; i < nvalid; i++) {
        const char *addr = canon + at[i];
        alt__node *node = alt__intern(lb, addr, strlen(addr));
        if (!node) {
            if (lb->nregistry < ALT_MAX_NODES) {
                rc = ALT_E_NOMEM;
                break;
            }
            full++; /* no record can be reused right now */
            continue;
        }
        if (node->mark != mark) {
            node->mark = mark;
            out[(*n)++] = node;
        }
    }
    alt__intern_done(lb);
    if (publish && rc == ALT_OK && *n > 0) {
        size_t before = atomic_load(&lb->nlive);
        size_t added = alt__set_listed_locked(lb, out, *n);
        atomic_fetch_add(&lb->nodes_added, added);
        atomic_fetch_add(&lb->nodes_removed, before - (*n - added));
    }
    pthread_mutex_unlock(&lb->mu);
    free(canon);
    free(at);
    if (full)
        alt__log(lb, ALT_LOG_WARN, "/localnodes: node registry full (%d "
                 "addresses, all in use): ignored %zu new ones", ALT_MAX_NODES,
                 full);
    if (dropped)
        alt__log(lb, ALT_LOG_WARN, "/localnodes: dropped %zu of %zu entries "
                 "(not a valid address, or over the limit of %zu)", dropped,
                 count, max);
    if (rc == ALT_OK && *n == 0)
        rc = ALT_E_EMPTY_LIST;
    return rc;
}

alt_code alt__parse_nodes(alt_lb *lb, const char *body, size_t len,
                          alt__node **out, size_t max, size_t *n)
{
    return take_answer(lb, body, len, out, max, n, false);
}

alt_code alt__accept_nodes(alt_lb *lb, const char *body, size_t len,
                           alt__node **out, size_t max, size_t *n)
{
    /* A refresh nearly always gets the answer it got last time: the same
     * bytes change nothing (its nodes are listed, so none was reused). */
    pthread_mutex_lock(&lb->mu);
    bool same = lb->last_answer && lb->last_len == len
                && memcmp(lb->last_answer, body, len) == 0;
    if (same) {
        *n = atomic_load(&lb->nlive);
        for (size_t i = 0; i < *n && i < max; i++)
            out[i] = atomic_load(&lb->live[i]);
    }
    pthread_mutex_unlock(&lb->mu);
    if (same)
        return ALT_OK;
    alt_code rc = take_answer(lb, body, len, out, max, n, true);
    char *copy = rc == ALT_OK ? malloc(len ? len : 1) : NULL;
    if (copy)
        memcpy(copy, body, len);
    pthread_mutex_lock(&lb->mu);
    if (rc == ALT_OK) { /* no copy: the next answer is parsed in full */
        free(lb->last_answer);
        lb->last_answer = copy;
        lb->last_len = len;
    }
    pthread_mutex_unlock(&lb->mu);
    return rc;
}

static alt_code curl_failure(alt_lb *lb, alt__job *job, alt__node *target,
                             CURLcode result)
{
    alt__log(lb, ALT_LOG_WARN, "/localnodes from %s failed: %s",
             target->addr,
             job->errbuf[0] ? job->errbuf : curl_easy_strerror(result));
    /* Out of rotation if it is the node's fault, but no extra refresh:
     * this round goes on to the next candidate anyway. */
    if (alt__classify(job->easy, result, lb->total_timeout_ms,
                      lb->connect_timeout_ms, lb->curl7).node_fault)
        alt__node_failed(lb, target, false, "no answer to /localnodes");
    switch (result) {
    case CURLE_OPERATION_TIMEDOUT: return ALT_E_TIMEOUT;
    case CURLE_WRITE_ERROR: return ALT_E_BAD_RESPONSE; /* over the cap */
    case CURLE_OUT_OF_MEMORY: return ALT_E_NOMEM;
    default: return ALT_E_UNREACHABLE;
    }
}

static alt_code finish(alt_lb *lb, alt__job *job, alt__node *target,
                       CURLcode result)
{
    if (result != CURLE_OK)
        return curl_failure(lb, job, target, result);
    alt__node_ok(lb, target, true); /* it answered */
    if (job->got_list)
        return ALT_OK; /* a probe after the list was taken */
    long status = 0;
    curl_easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        alt__log(lb, ALT_LOG_WARN, "/localnodes from %s: HTTP %ld",
                 target->addr, status);
        return ALT_E_HTTP_STATUS;
    }
    alt__node *found[ALT_MAX_LISTED];
    size_t n;
    alt_code rc = alt__accept_nodes(lb, job->body ? job->body : "", job->len,
                                    found, ALT_MAX_LISTED, &n);
    if (rc == ALT_E_EMPTY_LIST) {
        int scope = job->scope;
        if (scope > 0) {
            /* Once per scope, however many rounds were asking in it. */
            int expected = scope;
            atomic_compare_exchange_strong(&lb->scope, &expected, scope - 1);
            alt__log(lb, ALT_LOG_WARN, "/localnodes from %s: no node in %s "
                     "%s; widening the scope", target->addr,
                     scope == 2 ? "rack" : "datacenter",
                     scope == 2 ? lb->rack : lb->dc);
        } else {
            alt__log(lb, ALT_LOG_WARN, "/localnodes from %s: no usable node; "
                     "keeping the current list", target->addr);
        }
    }
    if (rc != ALT_OK)
        return rc;
    job->got_list = true;
    atomic_store(&lb->last_discovery, alt__wall_ms());
    alt__log(lb, ALT_LOG_DEBUG, "/localnodes from %s: %zu nodes",
             target->addr, n);
    return ALT_OK;
}

alt_code alt__job_finish(alt_lb *lb, alt__job *job, CURLcode result)
{
    /* Still pinned while finish() reads its address. */
    alt__node *target = atomic_load(&job->target);
    alt_code rc = finish(lb, job, target, result);
    if (rc != ALT_OK)
        job->last = rc;
    atomic_store(&job->target, NULL);
    return rc;
}
