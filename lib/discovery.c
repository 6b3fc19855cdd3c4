/*
 * discovery.c: one GET /localnodes request on an easy handle of the
 * library's, and the validation of its answer.
 *
 * The request goes to the fake-domain URL with the target node's CONNECT_TO
 * list, exactly like the caller's requests, so TLS is checked against the
 * same name. An answer is accepted only if it is a JSON array holding at
 * least one valid address; anything else keeps the current list.
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

alt_code alt__job_init(alt_lb *lb, alt__job *job)
{
    if (job->easy)
        return ALT_OK;
    CURL *easy = curl_easy_init();
    if (!easy)
        return ALT_E_NOMEM;
    CURLcode rc = CURLE_OK;
#define SET(opt, val) \
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, opt, val)
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, job);
    SET(CURLOPT_PRIVATE, job);
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
    /* One connection per node of its own is plenty for one request a
     * second, and keeps it warm. */
    SET(CURLOPT_MAXCONNECTS, 16L);
    if (lb->https) {
        if (lb->ca_file)
            SET(CURLOPT_CAINFO, lb->ca_file);
        SET(CURLOPT_SSL_VERIFYPEER, lb->tls_verify ? 1L : 0L);
        SET(CURLOPT_SSL_VERIFYHOST, lb->tls_verify ? 2L : 0L);
    }
#undef SET
    if (rc != CURLE_OK) {
        alt__log(lb, ALT_LOG_ERROR, "discovery handle setup: %s",
                 curl_easy_strerror(rc));
        curl_easy_cleanup(easy);
        return rc == CURLE_OUT_OF_MEMORY ? ALT_E_NOMEM : ALT_E_CURL;
    }
    job->easy = easy;
    return ALT_OK;
}

void alt__job_cleanup(alt__job *job)
{
    if (job->easy)
        curl_easy_cleanup(job->easy);
    free(job->body);
    free(job->cand);
    memset(job, 0, sizeof *job);
}

alt_code alt__job_setup(alt_lb *lb, alt__job *job, alt__node *target)
{
    char url[512];
    int scope = atomic_load(&lb->scope);
    if (scope == 2)
        snprintf(url, sizeof url, "%slocalnodes?dc=%s&rack=%s", lb->url,
                 lb->dc, lb->rack);
    else if (scope == 1)
        snprintf(url, sizeof url, "%slocalnodes?dc=%s", lb->url, lb->dc);
    else
        snprintf(url, sizeof url, "%slocalnodes", lb->url);
    job->len = 0;
    job->errbuf[0] = '\0';
    if (curl_easy_setopt(job->easy, CURLOPT_URL, url) != CURLE_OK
        || curl_easy_setopt(job->easy, CURLOPT_CONNECT_TO, &target->connect_to)
               != CURLE_OK)
        return ALT_E_NOMEM;
    atomic_store(&job->target, target); /* not reusable while it runs */
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
    /* A snapshot: the live set shrinks as candidates fail during the round,
     * and walking it live would skip nodes. At most ALT_MAX_ASKED live
     * nodes, then the seeds: a round over a long list of nodes that drop
     * connections silently would otherwise take nodes x connect timeout. */
    alt_code rc = ALT_OK;
    pthread_mutex_lock(&lb->mu);
    size_t nlive = atomic_load(&lb->nlive);
    size_t n = nlive < ALT_MAX_ASKED ? nlive : ALT_MAX_ASKED;
    /* A failed node whose back-off is over is asked first: this request is
     * its probe, and an answer puts it back in rotation (alt__node_ok(); see
     * rebuild_locked()). One per round, so that a node still dead costs a
     * round one connection attempt at most. */
    int64_t now = alt__now_ms();
    alt__node *probe = NULL;
    for (alt__node *node = lb->registry; node && !probe; node = node->next)
        if (node->listed && atomic_load(&node->failures) > 0
            && atomic_load(&node->down_until) <= now)
            probe = node;
    size_t need = n + lb->nseeds + (probe != NULL);
    if (need > job->cand_cap) {
        alt__node **cand = realloc(job->cand, need * sizeof *cand);
        if (!cand) {
            rc = ALT_E_NOMEM;
            goto out;
        }
        job->cand = cand;
        job->cand_cap = need;
    }
    size_t start = atomic_fetch_add(&lb->refresh_rr, 1);
    job->ncand = 0;
    if (probe)
        job->cand[job->ncand++] = probe;
    for (size_t i = 0; i < n; i++)
        job->cand[job->ncand++] = atomic_load(&lb->live[(start + i) % nlive]);
    for (size_t i = 0; i < lb->nseeds; i++)
        if (!contains(job->cand, job->ncand, lb->seeds[i]))
            job->cand[job->ncand++] = lb->seeds[i];
out:
    job->attempt = 0;
    pthread_mutex_unlock(&lb->mu);
    return rc;
}

alt__node *alt__next_candidate(alt__job *job)
{
    /* Nodes that failed meanwhile are skipped; seeds are the last resort
     * and always asked. */
    int64_t now = alt__now_ms();
    while (job->attempt < job->ncand) {
        alt__node *node = job->cand[job->attempt++];
        if (node->seed || atomic_load(&node->down_until) <= now)
            return node;
    }
    return NULL;
}

/* Validates and interns the addresses of a /localnodes body. Invalid entries
 * are dropped (and logged); duplicates are kept once. */
alt_code alt__parse_nodes(alt_lb *lb, const char *body, size_t len,
                          alt__node **out, size_t max, size_t *n)
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
    if (!root || jerr != json_tokener_success) {
        alt__log(lb, ALT_LOG_WARN, "/localnodes: bad JSON (%s)",
                 json_tokener_error_desc(jerr));
        json_object_put(root);
        return ALT_E_BAD_RESPONSE;
    }
    for (; parsed < len; parsed++)
        if (!strchr(" \t\r\n", body[parsed])) {
            alt__log(lb, ALT_LOG_WARN, "/localnodes: trailing data after JSON");
            json_object_put(root);
            return ALT_E_BAD_RESPONSE;
        }
    if (!json_object_is_type(root, json_type_array)) {
        alt__log(lb, ALT_LOG_WARN, "/localnodes: not a JSON array");
        json_object_put(root);
        return ALT_E_BAD_RESPONSE;
    }
    size_t count = json_object_array_length(root), dropped = 0, full = 0;
    alt_code rc = ALT_OK;
    pthread_mutex_lock(&lb->mu);
    for (size_t i = 0; i < count; i++) {
        json_object *item = json_object_array_get_idx(root, i);
        if (!json_object_is_type(item, json_type_string)) {
            dropped++;
            continue;
        }
        const char *s = json_object_get_string(item);
        size_t slen = (size_t)json_object_get_string_len(item);
        if (!alt__valid_host(s, slen, true)) {
            dropped++;
            continue;
        }
        if (*n == max) {
            dropped += count - i;
            break;
        }
        char canon[ALT_MAX_HOST + 1];
        slen = alt__canonical_host(s, slen, canon, sizeof canon);
        alt__node *node = alt__intern(lb, canon, slen);
        if (!node) {
            if (lb->nregistry < ALT_MAX_NODES) {
                rc = ALT_E_NOMEM;
                break;
            }
            full++; /* no record can be reused right now */
            continue;
        }
        if (!contains(out, *n, node))
            out[(*n)++] = node;
    }
    alt__intern_done(lb);
    pthread_mutex_unlock(&lb->mu);
    json_object_put(root);
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

static alt_code curl_failure(alt_lb *lb, alt__job *job, CURLcode result)
{
    bool retriable;
    alt__log(lb, ALT_LOG_WARN, "/localnodes from %s failed: %s",
             job->target->addr,
             job->errbuf[0] ? job->errbuf : curl_easy_strerror(result));
    /* Out of rotation, but no extra refresh: this round goes on to the
     * next candidate anyway. */
    if (alt__connection_failure(job->easy, result, &retriable))
        alt__node_failed(lb, job->target, false);
    switch (result) {
    case CURLE_OPERATION_TIMEDOUT: return ALT_E_TIMEOUT;
    case CURLE_WRITE_ERROR: return ALT_E_BAD_RESPONSE; /* over the cap */
    case CURLE_OUT_OF_MEMORY: return ALT_E_NOMEM;
    default: return ALT_E_UNREACHABLE;
    }
}

static alt_code finish(alt_lb *lb, alt__job *job, CURLcode result)
{
    if (result != CURLE_OK)
        return curl_failure(lb, job, result);
    alt__node_ok(lb, job->target);
    long status = 0;
    curl_easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        alt__log(lb, ALT_LOG_WARN, "/localnodes from %s: HTTP %ld",
                 job->target->addr, status);
        return ALT_E_HTTP_STATUS;
    }
    alt__node *found[ALT_MAX_LISTED];
    size_t n;
    alt_code rc = alt__parse_nodes(lb, job->body ? job->body : "", job->len,
                                   found, ALT_MAX_LISTED, &n);
    if (rc == ALT_E_EMPTY_LIST) {
        int scope = atomic_load(&lb->scope);
        if (scope > 0) {
            atomic_store(&lb->scope, scope - 1);
            alt__log(lb, ALT_LOG_WARN, "/localnodes from %s: no node in %s "
                     "%s; widening the scope", job->target->addr,
                     scope == 2 ? "rack" : "datacenter",
                     scope == 2 ? lb->rack : lb->dc);
        } else {
            alt__log(lb, ALT_LOG_WARN, "/localnodes from %s: no usable node; "
                     "keeping the current list", job->target->addr);
        }
    }
    if (rc != ALT_OK)
        return rc;
    alt__set_listed(lb, found, n);
    alt__log(lb, ALT_LOG_DEBUG, "/localnodes from %s: %zu nodes",
             job->target->addr, n);
    return ALT_OK;
}

alt_code alt__job_finish(alt_lb *lb, alt__job *job, CURLcode result)
{
    alt_code rc = finish(lb, job, result);
    atomic_store(&job->target, NULL);
    return rc;
}
