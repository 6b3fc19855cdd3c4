/* lb.c: the alt_lb object: creation, configuration setters, lifetime. */
#include "alt_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

int64_t alt__fine_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t alt__wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long alt__fd_budget(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY
        || rl.rlim_cur > (rlim_t)1 << 20)
        return 1L << 19;
    long budget = (long)rl.rlim_cur / 2;
    return budget < 4 ? 4 : budget;
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

/* The URLs that depend on the configuration: [0] scheme://host:port/,
 * [1..3] its /localnodes for the scopes none, dc, dc and rack. All or
 * nothing; free them with free_urls(). */
#define NURLS 4

static void free_urls(char *urls[NURLS])
{
    for (int i = 0; i < NURLS; i++) {
        free(urls[i]);
        urls[i] = NULL;
    }
}

static alt_code build_urls(const alt_lb *lb, const char *host, const char *dc,
                           const char *rack, char *urls[NURLS])
{
    const char *scheme = lb->https ? "https" : "http";
    size_t len = strlen(scheme) + strlen(host) + (dc ? strlen(dc) : 0)
                 + (rack ? strlen(rack) : 0) + 64;
    memset(urls, 0, NURLS * sizeof *urls);
    for (int i = 0; i < NURLS; i++)
        if (!(urls[i] = malloc(len))) {
            free_urls(urls);
            return ALT_E_NOMEM;
        }
    snprintf(urls[0], len, "%s://%s:%d/", scheme, host, lb->port);
    snprintf(urls[1], len, "%slocalnodes", urls[0]);
    snprintf(urls[2], len, "%slocalnodes?dc=%s", urls[0], dc ? dc : "");
    snprintf(urls[3], len, "%slocalnodes?dc=%s&rack=%s", urls[0],
             dc ? dc : "", rack ? rack : "");
    return ALT_OK;
}

/* Puts urls in place and the old ones in urls, for free_urls(). */
static void swap_urls(alt_lb *lb, char *urls[NURLS])
{
    char *old[NURLS] = {lb->url, lb->nodes_url[0], lb->nodes_url[1],
                        lb->nodes_url[2]};
    lb->url = urls[0];
    for (int i = 0; i < 3; i++)
        lb->nodes_url[i] = urls[i + 1];
    memcpy(urls, old, sizeof old);
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
    lb->curl7 = curl_version_info(CURLVERSION_NOW)->version_num < 0x080000;
    lb->port = port;
    lb->tls_verify = true;
    lb->connect_timeout_ms = 1000;
    lb->total_timeout_ms = 2000;
    atomic_init(&lb->active_ms, 1000);
    atomic_init(&lb->idle_ms, 60000);
    atomic_init(&lb->scope, 0);
    atomic_init(&lb->max_5xx, 5);
    atomic_init(&lb->max_failures, 3);
    atomic_init(&lb->backoff_min, 1000);
    atomic_init(&lb->backoff_max, 30000);
    atomic_init(&lb->max_out_percent, 50);
    atomic_init(&lb->affinity, ALT_AFFINITY_RMW);
    lb->z_min = 1024;
    alt_code rc = ALT_E_NOMEM;
    char *urls[NURLS] = {0};
    pthread_mutex_t *mutexes[] = {&lb->mu, &lb->jobs_mu, &lb->tables_mu,
                                  &lb->z_mu};
    size_t nmutexes = 0;

    for (; nmutexes < sizeof mutexes / sizeof *mutexes; nmutexes++)
        if (pthread_mutex_init(mutexes[nmutexes], NULL) != 0)
            goto fail_thread;

    lb->live = calloc(ALT_MAX_LISTED, sizeof *lb->live);
    lb->sorted = calloc(ALT_MAX_LISTED, sizeof *lb->sorted);
    lb->sort_tmp = calloc(ALT_MAX_LISTED, sizeof *lb->sort_tmp);
    lb->tables = calloc(ALT_TABLE_SLOTS, sizeof *lb->tables);
    lb->index = calloc(ALT_INDEX_SIZE, sizeof *lb->index);
    lb->seeds = calloc(nseeds, sizeof *lb->seeds);
    if (!lb->live || !lb->sorted || !lb->sort_tmp || !lb->tables || !lb->index
        || !lb->seeds
        || set_string(&lb->fake_domain, "alt.invalid") != ALT_OK
        || build_urls(lb, lb->fake_domain, NULL, NULL, urls) != ALT_OK)
        goto fail;
    swap_urls(lb, urls);
    for (size_t i = 0; i < nseeds; i++) {
        char canon[ALT_MAX_HOST + 1];
        size_t len = alt__canonical_host(seeds[i], strlen(seeds[i]), true,
                                         canon, sizeof canon);
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
    while (nmutexes > 0)
        pthread_mutex_destroy(mutexes[--nmutexes]);
    alt__free_nodes(lb);
    swap_urls(lb, urls);
    free_urls(urls);
    free(lb->live);
    free(lb->sorted);
    free(lb->sort_tmp);
    free(lb->tables);
    free(lb->index);
    free(lb->seeds);
    free(lb->fake_domain);
    free(lb);
    return rc;
}

void alt_lb_free(alt_lb *lb)
{
    if (!lb)
        return;
    alt_lb_stop(lb);
    alt_multi_detach(lb);
    alt__job *job = atomic_load(&lb->jobs);
    while (job) {
        alt__job *next = job->next;
        alt__job_free(job);
        job = next;
    }
    alt__free_handles(lb);
    alt__free_nodes(lb);
    alt__free_tables(lb);
    alt__free_zstreams(lb);
    pthread_mutex_destroy(&lb->z_mu);
    pthread_mutex_destroy(&lb->tables_mu);
    pthread_mutex_destroy(&lb->jobs_mu);
    pthread_mutex_destroy(&lb->mu);
    char *urls[NURLS] = {0};
    swap_urls(lb, urls);
    free_urls(urls);
    free(lb->live);
    free(lb->sorted);
    free(lb->sort_tmp);
    free(lb->index);
    free(lb->seeds);
    free(lb->last_answer);
    free(lb->fake_domain);
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
    /* Everything new is built before anything is replaced. */
    char *copy = NULL, *urls[NURLS], **texts = NULL;
    if (set_string(&copy, host) != ALT_OK)
        return ALT_E_NOMEM;
    if (build_urls(lb, host, lb->dc, lb->rack, urls) != ALT_OK) {
        free(copy);
        return ALT_E_NOMEM;
    }
    if (alt__make_texts(lb, host, &texts) != ALT_OK) {
        free_urls(urls);
        free(copy);
        return ALT_E_NOMEM;
    }
    alt__commit_texts(lb, texts);
    swap_urls(lb, urls);
    free_urls(urls);
    free(lb->fake_domain);
    lb->fake_domain = copy;
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
    if (!lb || active_ms <= 0 || idle_ms < active_ms || idle_ms > ALT_MAX_MS)
        return ALT_E_INVALID_ARG;
    atomic_store(&lb->active_ms, active_ms);
    atomic_store(&lb->idle_ms, idle_ms);
    return ALT_OK;
}

alt_code alt_lb_set_discovery_timeout(alt_lb *lb, long connect_ms,
                                      long total_ms)
{
    if (!lb || connect_ms <= 0 || total_ms <= 0 || connect_ms > total_ms
        || total_ms > ALT_MAX_MS)
        return ALT_E_INVALID_ARG;
    if (frozen(lb))
        return ALT_E_STATE;
    lb->connect_timeout_ms = connect_ms;
    lb->total_timeout_ms = total_ms;
    return ALT_OK;
}

alt_code alt_lb_set_timeouts(alt_lb *lb, long request_ms, long connect_ms)
{
    if (!lb || request_ms < 0 || connect_ms < 0 || request_ms > ALT_MAX_MS
        || connect_ms > ALT_MAX_MS
        || (request_ms > 0 && connect_ms > request_ms))
        return ALT_E_INVALID_ARG;
    atomic_store(&lb->request_ms, request_ms);
    atomic_store(&lb->connect_ms, connect_ms);
    return ALT_OK;
}

alt_code alt_lb_set_health(alt_lb *lb, unsigned max_5xx, unsigned max_failures,
                           long backoff_min_ms, long backoff_max_ms,
                           unsigned max_out_percent)
{
    if (!lb || max_5xx < 1 || max_failures < 1 || backoff_min_ms < 1
        || backoff_max_ms < backoff_min_ms || backoff_max_ms > ALT_MAX_MS
        || max_out_percent > 100)
        return ALT_E_INVALID_ARG;
    atomic_store(&lb->max_5xx, max_5xx);
    atomic_store(&lb->max_failures, max_failures);
    atomic_store(&lb->backoff_min, backoff_min_ms);
    atomic_store(&lb->backoff_max, backoff_max_ms);
    atomic_store(&lb->max_out_percent, max_out_percent);
    return ALT_OK;
}

alt_code alt_lb_set_choice(alt_lb *lb, alt_choice choice)
{
    if (!lb || (choice != ALT_CHOICE_LOAD_AWARE
                && choice != ALT_CHOICE_ROUND_ROBIN))
        return ALT_E_INVALID_ARG;
    atomic_store(&lb->round_robin, choice == ALT_CHOICE_ROUND_ROBIN);
    return ALT_OK;
}

alt_code alt_lb_set_affinity(alt_lb *lb, alt_affinity mode)
{
    if (!lb || (mode != ALT_AFFINITY_NONE && mode != ALT_AFFINITY_RMW
                && mode != ALT_AFFINITY_ANY_WRITE))
        return ALT_E_INVALID_ARG;
    atomic_store(&lb->affinity, (int)mode);
    return ALT_OK;
}

alt_code alt_lb_set_compression(alt_lb *lb, int level, size_t min_bytes)
{
    if (!lb || level < 0 || level > 9)
        return ALT_E_INVALID_ARG;
    if (frozen(lb))
        return ALT_E_STATE;
    lb->z_level = level;
    lb->z_min = min_bytes;
    return ALT_OK;
}

alt_code alt_lb_set_maxconnects(alt_lb *lb, long n)
{
    if (!lb || n < 0 || n > 1000000)
        return ALT_E_INVALID_ARG;
    atomic_store(&lb->maxconnects, n);
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
    char *d = NULL, *r = NULL, *urls[NURLS];
    if (set_string(&d, dc) != ALT_OK || set_string(&r, rack) != ALT_OK
        || build_urls(lb, lb->fake_domain, dc, rack, urls) != ALT_OK) {
        free(d);
        free(r);
        return ALT_E_NOMEM;
    }
    /* alt_lb_url() stays the same string: the caller may hold it. */
    free(urls[0]);
    urls[0] = lb->url;
    swap_urls(lb, urls);
    urls[0] = NULL;
    free_urls(urls);
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

size_t alt_lb_nodes(const alt_lb *lb, char addrs[][ALT_ADDR_MAX], size_t max)
{
    if (!lb)
        return 0;
    alt_lb *mut = (alt_lb *)(uintptr_t)lb; /* the mutex, not the object */
    int64_t now = alt__now_ms();
    size_t count = 0;
    pthread_mutex_lock(&mut->mu);
    size_t n = atomic_load(&lb->nlive);
    /* The nodes requests go to: those in rotation; if none, every listed
     * one (as alt_curl_prepare picks). */
    for (int pass = 0; pass < 2 && count == 0; pass++)
        for (size_t i = 0; i < n; i++) {
            const alt__node *node = atomic_load(&lb->live[i]);
            if (pass == 0 && alt__node_out(node, now))
                continue;
            if (count < max && addrs)
                snprintf(addrs[count], ALT_ADDR_MAX, "%s", node->addr);
            count++;
        }
    pthread_mutex_unlock(&mut->mu);
    return count;
}

/* p of 100: the middle of the histogram bucket holding that share. */
static uint32_t percentile(const uint64_t *hist, uint64_t total, unsigned p)
{
    if (total == 0)
        return 0;
    uint64_t want = (total * p + 99) / 100, seen = 0;
    for (unsigned b = 0; b < ALT_HIST_BUCKETS; b++)
        if ((seen += hist[b]) >= want) {
            uint64_t us = alt__bucket_mid(b);
            return us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
        }
    return 0;
}

size_t alt_lb_node_stats(const alt_lb *lb, alt_node_stats *out, size_t max,
                         size_t struct_size)
{
    if (!lb || (max && (!out || struct_size == 0)))
        return 0;
    alt_lb *mut = (alt_lb *)(uintptr_t)lb; /* the mutex, not the object */
    int64_t now = alt__now_ms();
    uint32_t *flight = max ? calloc(ALT_MAX_NODES, sizeof *flight) : NULL;
    pthread_mutex_lock(&mut->mu);
    if (flight)
        alt__in_flight(mut, flight);
    size_t n = atomic_load(&lb->nlive);
    for (size_t i = 0; i < n && i < max; i++) {
        const alt__node *node = atomic_load(&lb->live[i]);
        alt_node_stats st;
        memset(&st, 0, sizeof st);
        snprintf(st.addr, sizeof st.addr, "%s", node->addr);
        st.state = alt__node_state(lb, node, now);
        st.state_since_ms = atomic_load(&node->state_since);
        st.requests = atomic_load(&node->requests);
        st.conn_failures = atomic_load(&node->conn_failures);
        st.http_5xx = atomic_load(&node->http_5xx);
        st.retried = atomic_load(&node->retried);
        st.latency_us = atomic_load(&node->ewma_us);
        uint64_t hist[ALT_HIST_BUCKETS], total = 0;
        for (unsigned b = 0; b < ALT_HIST_BUCKETS; b++)
            total += hist[b] = atomic_load(&node->hist[b]);
        st.p50_us = percentile(hist, total, 50);
        st.p99_us = percentile(hist, total, 99);
        st.in_flight = flight ? flight[node->id] : 0;
        memcpy((char *)out + i * struct_size, &st,
               struct_size < sizeof st ? struct_size : sizeof st);
    }
    pthread_mutex_unlock(&mut->mu);
    free(flight);
    return n;
}

alt_code alt_lb_get_stats(const alt_lb *lb, alt_lb_stats *out,
                          size_t struct_size)
{
    if (!lb || !out || struct_size == 0)
        return ALT_E_INVALID_ARG;
    alt_lb_stats st = {
        atomic_load(&lb->refreshes), atomic_load(&lb->refreshes_failed),
        atomic_load(&lb->nodes_added), atomic_load(&lb->nodes_removed),
        atomic_load(&lb->last_discovery)};
    memcpy(out, &st, struct_size < sizeof st ? struct_size : sizeof st);
    return ALT_OK;
}
