/* lb.c: the alt_lb object: creation, configuration setters, lifetime. */
#include "alt_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t alt__now_ms(void)
{
    struct timespec ts;
#ifdef CLOCK_MONOTONIC_COARSE
    /* A few ns through the vDSO, and 1-4 ms resolution is plenty here. */
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
    clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void alt__freeze(alt_lb *lb)
{
    if (!atomic_load_explicit(&lb->used, memory_order_relaxed))
        atomic_store(&lb->used, true);
}

static bool frozen(const alt_lb *lb)
{
    return atomic_load(&lb->used);
}

/* Replaces *slot with a copy of s (NULL allowed); *slot is unchanged on
 * failure. */
static alt_code set_string(char **slot, const char *s)
{
    char *copy = NULL;
    if (s && !(copy = strdup(s)))
        return ALT_E_NOMEM;
    free(*slot);
    *slot = copy;
    return ALT_OK;
}

static alt_code build_url(alt_lb *lb, const char *host)
{
    const char *scheme = lb->https ? "https" : "http";
    size_t len = strlen(scheme) + strlen(host) + 16;
    char *url = malloc(len);
    if (!url)
        return ALT_E_NOMEM;
    snprintf(url, len, "%s://%s:%d/", scheme, host, lb->port);
    free(lb->url);
    lb->url = url;
    return ALT_OK;
}

alt_code alt_lb_new(alt_lb **out, const char *scheme, int port,
                    const char *const *seeds, size_t nseeds)
{
    if (!out || !scheme || !seeds || nseeds == 0 || port < 1 || port > 65535)
        return ALT_E_INVALID_ARG;
    bool https;
    if (strcmp(scheme, "http") == 0)
        https = false;
    else if (strcmp(scheme, "https") == 0)
        https = true;
    else
        return ALT_E_INVALID_ARG;
    if (nseeds > ALT_MAX_LISTED)
        return ALT_E_INVALID_ARG;
    for (size_t i = 0; i < nseeds; i++)
        if (!seeds[i] || !alt__valid_host(seeds[i], strlen(seeds[i]), true))
            return ALT_E_INVALID_ARG;

    alt_lb *lb = calloc(1, sizeof *lb);
    if (!lb)
        return ALT_E_NOMEM;
    lb->https = https;
    lb->port = port;
    lb->tls_verify = true;
    lb->connect_timeout_ms = 1000;
    lb->total_timeout_ms = 2000;
    atomic_init(&lb->active_ms, 1000);
    atomic_init(&lb->idle_ms, 60000);
    atomic_init(&lb->scope, 0);
    bool mu = false, block_mu = false;
    alt_code rc = ALT_E_NOMEM;

    if (pthread_mutex_init(&lb->mu, NULL) != 0)
        goto fail_thread;
    mu = true;
    if (pthread_mutex_init(&lb->block_mu, NULL) != 0)
        goto fail_thread;
    block_mu = true;

    lb->live = calloc(ALT_MAX_LISTED, sizeof *lb->live);
    lb->seeds = calloc(nseeds, sizeof *lb->seeds);
    lb->block_multi = curl_multi_init();
    lb->thread_multi = curl_multi_init();
    if (!lb->live || !lb->seeds || !lb->block_multi || !lb->thread_multi
        || set_string(&lb->fake_domain, "alt.invalid") != ALT_OK
        || build_url(lb, lb->fake_domain) != ALT_OK)
        goto fail;
    for (size_t i = 0; i < nseeds; i++) {
        char canon[ALT_MAX_HOST + 1];
        size_t len = alt__canonical_host(seeds[i], strlen(seeds[i]), canon,
                                         sizeof canon);
        alt__node *node = alt__intern(lb, canon, len);
        if (!node)
            goto fail;
        node->seed = true;
        size_t j;
        for (j = 0; j < lb->nseeds && lb->seeds[j] != node; j++)
            ;
        if (j == lb->nseeds)
            lb->seeds[lb->nseeds++] = node;
    }
    /* Until the first discovery, the seeds are the rotation. */
    if ((rc = alt__set_listed(lb, lb->seeds, lb->nseeds)) != ALT_OK)
        goto fail;
    *out = lb;
    return ALT_OK;

fail_thread:
    rc = ALT_E_THREAD;
fail:
    if (block_mu)
        pthread_mutex_destroy(&lb->block_mu);
    if (mu)
        pthread_mutex_destroy(&lb->mu);
    alt__free_nodes(lb);
    curl_multi_cleanup(lb->block_multi);
    curl_multi_cleanup(lb->thread_multi);
    free(lb->live);
    free(lb->seeds);
    free(lb->fake_domain);
    free(lb->url);
    free(lb);
    return rc;
}

void alt_lb_free(alt_lb *lb)
{
    if (!lb)
        return;
    alt_lb_stop(lb);
    alt_multi_detach(lb);
    alt__job_cleanup(&lb->block_job);
    alt__job_cleanup(&lb->thread_job);
    alt__job_cleanup(&lb->multi_job);
    curl_multi_cleanup(lb->block_multi);
    curl_multi_cleanup(lb->thread_multi);
    alt__free_handles(lb);
    alt__free_nodes(lb);
    pthread_mutex_destroy(&lb->block_mu);
    pthread_mutex_destroy(&lb->mu);
    free(lb->live);
    free(lb->seeds);
    free(lb->fake_domain);
    free(lb->url);
    free(lb->dc);
    free(lb->rack);
    free(lb->ca_file);
    free(lb->sigv4_param);
    free(lb->access_key);
    free(lb->secret_key);
    free(lb);
}

alt_code alt_lb_set_fake_domain(alt_lb *lb, const char *host)
{
    if (!lb || !host || !alt__valid_host(host, strlen(host), false))
        return ALT_E_INVALID_ARG;
    if (frozen(lb))
        return ALT_E_STATE;
    char *old = lb->fake_domain;
    lb->fake_domain = NULL;
    alt_code rc = set_string(&lb->fake_domain, host);
    if (rc == ALT_OK && (rc = alt__build_connect_to(lb)) == ALT_OK)
        rc = build_url(lb, host);
    if (rc != ALT_OK) {
        /* Put the old name back; its connect_to texts are rebuilt in place
         * and cannot fail for lack of memory (see alt__build_connect_to). */
        free(lb->fake_domain);
        lb->fake_domain = old;
        alt__build_connect_to(lb);
        return rc;
    }
    free(old);
    return ALT_OK;
}

alt_code alt_lb_set_credentials(alt_lb *lb, const char *access_key,
                                const char *secret_key, const char *region)
{
    if (!lb)
        return ALT_E_INVALID_ARG;
    if (frozen(lb))
        return ALT_E_STATE;
    if (!access_key) {
        lb->sigv4 = false;
        return ALT_OK;
    }
    if (!*access_key || !secret_key || !*secret_key || (region && !*region))
        return ALT_E_INVALID_ARG;
    char *param = NULL, *key = NULL, *secret = NULL;
    if (!region)
        region = "us-east-1";
    size_t len = strlen(region) + sizeof "aws:amz::dynamodb";
    if (!(param = malloc(len)) || set_string(&key, access_key) != ALT_OK
        || set_string(&secret, secret_key) != ALT_OK) {
        free(param);
        free(key);
        free(secret);
        return ALT_E_NOMEM;
    }
    snprintf(param, len, "aws:amz:%s:dynamodb", region);
    free(lb->sigv4_param);
    free(lb->access_key);
    free(lb->secret_key);
    lb->sigv4_param = param;
    lb->access_key = key;
    lb->secret_key = secret;
    lb->sigv4 = true;
    return ALT_OK;
}

alt_code alt_lb_set_refresh_interval(alt_lb *lb, long active_ms, long idle_ms)
{
    if (!lb || active_ms <= 0 || idle_ms < active_ms)
        return ALT_E_INVALID_ARG;
    atomic_store(&lb->active_ms, active_ms);
    atomic_store(&lb->idle_ms, idle_ms);
    return ALT_OK;
}

alt_code alt_lb_set_discovery_timeout(alt_lb *lb, long connect_ms,
                                      long total_ms)
{
    if (!lb || connect_ms <= 0 || total_ms <= 0 || connect_ms > total_ms)
        return ALT_E_INVALID_ARG;
    if (frozen(lb))
        return ALT_E_STATE;
    lb->connect_timeout_ms = connect_ms;
    lb->total_timeout_ms = total_ms;
    return ALT_OK;
}

alt_code alt_lb_set_tls(alt_lb *lb, const char *ca_file, int verify)
{
    if (!lb)
        return ALT_E_INVALID_ARG;
    if (frozen(lb))
        return ALT_E_STATE;
    alt_code rc = set_string(&lb->ca_file, ca_file);
    if (rc == ALT_OK)
        lb->tls_verify = verify != 0;
    return rc;
}

static bool valid_topology_name(const char *s)
{
    if (!*s || strlen(s) > 128)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
              || (*s >= '0' && *s <= '9') || *s == '.' || *s == '_'
              || *s == '-'))
            return false;
    return true;
}

alt_code alt_lb_set_datacenter(alt_lb *lb, const char *dc, const char *rack)
{
    if (!lb || (rack && !dc) || (dc && !valid_topology_name(dc))
        || (rack && !valid_topology_name(rack)))
        return ALT_E_INVALID_ARG;
    if (frozen(lb))
        return ALT_E_STATE;
    char *d = NULL, *r = NULL;
    if (set_string(&d, dc) != ALT_OK || set_string(&r, rack) != ALT_OK) {
        free(d);
        return ALT_E_NOMEM;
    }
    free(lb->dc);
    free(lb->rack);
    lb->dc = d;
    lb->rack = r;
    atomic_store(&lb->scope, r ? 2 : d ? 1 : 0);
    return ALT_OK;
}

alt_code alt_lb_set_logger(alt_lb *lb, alt_log_fn fn, void *userdata,
                           alt_log_level max_level)
{
    if (!lb)
        return ALT_E_INVALID_ARG;
    if (frozen(lb))
        return ALT_E_STATE;
    lb->log_fn = fn;
    lb->log_ud = userdata;
    lb->log_level = max_level;
    return ALT_OK;
}

const char *alt_lb_url(const alt_lb *lb)
{
    return lb ? lb->url : NULL;
}

size_t alt_lb_nodes(const alt_lb *lb, const char **nodes, size_t max)
{
    if (!lb)
        return 0;
    alt_lb *mut = (alt_lb *)(uintptr_t)lb; /* the mutex, not the object */
    pthread_mutex_lock(&mut->mu);
    size_t n = atomic_load(&lb->nlive);
    for (size_t i = 0; i < n && i < max && nodes; i++)
        nodes[i] = atomic_load(&lb->live[i])->addr;
    pthread_mutex_unlock(&mut->mu);
    return n;
}
