/*
 * tail_bench: part 7 of the benchmarks (issue 8): tail latency with one slow
 * node. Run it with test/bench/run.sh (BENCH_PARTS=7), or alone:
 *
 *   tail_bench [req=health,list] [requests=20000] [requests_list=10000]
 *              [warmup=1000] [spread=20000] [nodes=6] [slow=6] [slow_ms=5]
 *              [conc=8] [max_s=6] [reps=3] [reps_list=1]
 *              [cluster_warmup=8] [cpu=N]
 *              [quiet=0.25] [tries=3] [budget_s=90] [parts=tail,spread]
 *              [loops=multi,easy] [warmup_s=0.5]
 *
 * Starts the local Alternator stand-in (test/cluster/alternator-cluster.js,
 * through test/support/cluster.c) with `nodes` nodes. For each kind of
 * request (GET /: the node answers by itself; ListTables: through the
 * stand-in's dynalite), each loop (a curl multi loop keeping `conc`
 * transfers in flight; an easy loop of alt_curl_perform() on one handle),
 * each cluster state (all nodes healthy; node `slow` answering `slow_ms`
 * late: the cluster's `slow I MS`) and each choice (ALT_CHOICE_ROUND_ROBIN,
 * ALT_CHOICE_LOAD_AWARE), runs `warmup` requests (and `warmup_s` seconds)
 * and then `requests` (`requests_list`) measured ones, at most max_s
 * seconds, timing each request on the client's clock; the whole pass
 * `reps` (`reps_list`) times, interleaved, reporting medians. Then, on the
 * healthy cluster with the load-aware choice, `spread` requests in the
 * multi loop, counted per node by the cluster. Prints Markdown sections
 * like alt_bench.
 *
 * Client and cluster are pinned to one CPU, `cpu` (default: the last; -1:
 * no pinning). On the 2-CPU VM this was built on, that is what gives
 * steady figures: with each on its own CPU every answer costs a cross-CPU
 * wake-up (twice the easy loop's latency), and another process on either
 * CPU shows in the tail; unpinned, the latency doubles or halves as the
 * scheduler moves them together or apart. A run during which other
 * processes used more than `quiet` cores is run again (up to `tries`, while
 * `budget_s` lasts). Every loop is bounded in count and in time.
 */
#define _GNU_SOURCE
#include <alternator_lb.h>
#include <curl/curl.h>

#include "bench_util.h"
#include "cluster.h"
#include "cpu_load.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXNODE 32

static const char *body = "{}";

static tc_cluster *cluster;

/* die()'s last words (bench_init). */
static void stop_cluster(void)
{
    tc_stop(cluster);
}

/* Load from the rest of the machine: the busy time of the CPU client and
 * cluster are pinned to (of all CPUs when not pinned), less this process's
 * and the cluster's. */
static pid_t cluster_pid;
static int snap_cpu = -1; /* the CPU client and cluster are pinned to */

static void snap(struct cpu_snap *s)
{
    cpu_snap(s, snap_cpu, &cluster_pid, cluster_pid > 0);
}

/* The cluster: this process's only child (tc_start forks it from the main
 * thread). */
static pid_t find_child(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (f) {
        if (fscanf(f, "%ld", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    return (pid_t)pid;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n), in ms. */
static double pct_ms(const uint32_t *v, long n, double p)
{
    if (n <= 0)
        return 0;
    long k = (long)((double)n * p / 100.0 + 0.999999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return (double)v[k - 1] / 1000.0;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* Index x of "127.0.0.x" (1..MAXNODE), or 0. */
static int node_of(CURL *h)
{
    char *ip = NULL;
    if (curl_easy_getinfo(h, CURLINFO_PRIMARY_IP, &ip) != CURLE_OK || !ip
        || strncmp(ip, "127.0.0.", 8) != 0)
        return 0;
    int x = atoi(ip + 8);
    return x >= 1 && x <= MAXNODE ? x : 0;
}

struct req {
    CURL *h;
    struct curl_slist *headers;
    uint64_t t0;
    bool in_multi;
};

static bool health_req; /* req=health: GET / instead of ListTables */

static void req_init(struct req *r, const char *url)
{
    memset(r, 0, sizeof *r);
    if (!(r->h = curl_easy_init()))
        die("curl_easy_init");
    r->headers = curl_slist_append(NULL,
                                   "Content-Type: application/x-amz-json-1.0");
    r->headers = curl_slist_append(r->headers,
                                   "X-Amz-Target: DynamoDB_20120810.ListTables");
    if (!r->headers)
        die("curl_slist_append");
    curl_easy_setopt(r->h, CURLOPT_URL, url);
    if (!health_req) {
        curl_easy_setopt(r->h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(r->h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, r->headers);
    }
    curl_easy_setopt(r->h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(r->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(r->h, CURLOPT_PRIVATE, r);
}

static void req_free(struct req *r)
{
    curl_easy_cleanup(r->h);
    curl_slist_free_all(r->headers);
}

/* One configuration's run. */
struct run {
    /* in */
    alt_lb *lb;
    int conc;              /* 0: easy loop */
    long warmup, measure;  /* completions */
    double warmup_s;       /* the warm-up also lasts at least this long */
    double max_s;          /* the measured window's limit */
    /* out */
    uint32_t *lat_us;      /* measured requests' latencies */
    long n;                /* measured completions */
    long failed;           /* all completions that were not HTTP 200 */
    long per_node[MAXNODE + 1];     /* measured, by CURLINFO_PRIMARY_IP */
    long per_node_all[MAXNODE + 1]; /* warm-up included */
    double secs;           /* of the measured window */
    bool timed_out;        /* max_s ended the window */
    struct cpu_snap s0, s1; /* around the measured window */
    char first_error[160];
};

static void record(struct run *R, CURL *h, CURLcode res, uint64_t t0,
                   uint64_t t1, bool measuring)
{
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    int x = node_of(h);
    R->per_node_all[x]++;
    if (res != CURLE_OK || code != 200) {
        R->failed++;
        if (!R->first_error[0])
            snprintf(R->first_error, sizeof R->first_error, "%s (HTTP %ld)",
                     curl_easy_strerror(res), code);
    }
    if (measuring) {
        uint64_t us = (t1 - t0) / 1000;
        R->lat_us[R->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
        R->per_node[x]++;
    }
}

static void issue(CURLM *m, alt_lb *lb, struct req *r)
{
    r->t0 = now_ns();
    if (alt_curl_prepare_ex(lb, r->h, ALT_IDEMPOTENT) != ALT_OK)
        die("alt_curl_prepare failed");
    if (curl_multi_add_handle(m, r->h) != CURLM_OK)
        die("curl_multi_add_handle failed");
    r->in_multi = true;
}

/* A curl multi loop (perform/poll) with R->conc transfers in flight; a
 * request's latency runs from its prepare to the reading of its
 * completion. */
static void run_multi(struct run *R)
{
    CURLM *m = curl_multi_init();
    if (!m || alt_multi_attach(R->lb, m) != ALT_OK)
        die("curl_multi_init / alt_multi_attach");
    struct req *reqs = calloc((size_t)R->conc, sizeof *reqs);
    if (!reqs)
        die("out of memory");
    for (int i = 0; i < R->conc; i++)
        req_init(&reqs[i], alt_lb_url(R->lb));

    /* No more than target requests are started, so that the cluster's
     * counts are those of the loop. */
    long completed = 0, started = 0, inflight = 0;
    long target = LONG_MAX; /* known when the warm-up ends */
    bool measuring = R->warmup == 0 && R->warmup_s <= 0, stop = false;
    if (measuring)
        target = R->measure;
    uint64_t t_start = now_ns(), t_end = 0;
    uint64_t deadline = t_start + (uint64_t)((R->max_s + 30) * 1e9);
    snap(&R->s0);
    for (int i = 0; i < R->conc && started < target; i++, started++, inflight++)
        issue(m, R->lb, &reqs[i]);
    while (inflight > 0) {
        int running;
        curl_multi_perform(m, &running);
        bool added = false;
        CURLMsg *msg;
        int q;
        while ((msg = alt_multi_info_read(R->lb, &q))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *h = msg->easy_handle;
            CURLcode res = msg->data.result;
            struct req *r = NULL;
            curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&r);
            curl_multi_remove_handle(m, h);
            r->in_multi = false;
            inflight--;
            if (alt_curl_retry(R->lb, h, res)) { /* another node: again */
                if (curl_multi_add_handle(m, h) != CURLM_OK)
                    die("curl_multi_add_handle failed");
                r->in_multi = true;
                inflight++;
                added = true;
                continue;
            }
            uint64_t t1 = now_ns();
            completed++;
            record(R, h, res, r->t0, t1, measuring && !stop);
            if (!measuring && completed >= R->warmup
                && (double)(t1 - t_start) / 1e9 >= R->warmup_s) {
                measuring = true;
                target = completed + R->measure;
                t_start = t1;
                snap(&R->s0);
            }
            if (measuring && !stop
                && (completed == target
                    || (double)(t1 - t_start) / 1e9 >= R->max_s)) {
                t_end = t1;
                R->timed_out = completed < target;
                stop = true;
                snap(&R->s1);
            }
            if (!stop && started < target) {
                issue(m, R->lb, r);
                started++;
                inflight++;
                added = true;
            }
        }
        if (now_ns() > deadline) {
            fprintf(stderr, "tail_bench: loop deadline passed with %ld in "
                    "flight\n", inflight);
            break;
        }
        if (!added && inflight > 0)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    if (!t_end)
        snap(&R->s1);
    R->secs = (double)((t_end ? t_end : now_ns()) - t_start) / 1e9;
    for (int i = 0; i < R->conc; i++) {
        if (reqs[i].in_multi)
            curl_multi_remove_handle(m, reqs[i].h);
        alt_curl_release(R->lb, reqs[i].h);
        req_free(&reqs[i]);
    }
    free(reqs);
    alt_multi_detach(R->lb);
    curl_multi_cleanup(m);
}

/* Easy mode as documented: a blocking first discovery (done by the
 * caller), the background refresh thread, alt_curl_perform() on one
 * handle; a request's latency is that call's. */
static void run_easy(struct run *R)
{
    if (alt_lb_start(R->lb) != ALT_OK)
        die("alt_lb_start");
    struct req r;
    req_init(&r, alt_lb_url(R->lb));
    uint64_t t_start = now_ns();
    for (long i = 0; i < R->warmup
                     || (double)(now_ns() - t_start) / 1e9 < R->warmup_s; i++) {
        uint64_t t0 = now_ns();
        CURLcode res = alt_curl_perform_ex(R->lb, r.h, ALT_IDEMPOTENT);
        record(R, r.h, res, t0, now_ns(), false);
        if ((double)(now_ns() - t_start) / 1e9 > R->max_s + 30)
            die("easy loop: the warm-up did not end in time");
    }
    t_start = now_ns();
    uint64_t t1 = t_start;
    snap(&R->s0);
    while (R->n < R->measure) {
        uint64_t t0 = now_ns();
        CURLcode res = alt_curl_perform_ex(R->lb, r.h, ALT_IDEMPOTENT);
        t1 = now_ns();
        record(R, r.h, res, t0, t1, true);
        if ((double)(t1 - t_start) / 1e9 >= R->max_s) {
            R->timed_out = R->n < R->measure;
            break;
        }
    }
    snap(&R->s1);
    R->secs = (double)(t1 - t_start) / 1e9;
    alt_curl_release(R->lb, r.h);
    req_free(&r);
    alt_lb_stop(R->lb);
}

static alt_lb *make_lb(int port, int nodes, alt_choice choice)
{
    char addrs[MAXNODE][16];
    const char *seeds[MAXNODE];
    for (int i = 0; i < nodes; i++)
        seeds[i] = tc_addr(i + 1, addrs[i]);
    alt_lb *lb = NULL;
    if (alt_lb_new(&lb, "http", port, seeds, (size_t)nodes) != ALT_OK
        || alt_lb_set_choice(lb, choice) != ALT_OK)
        die("alt_lb_new / alt_lb_set_choice");
    /* Spread from the first request (see alt_curl_prepare()). */
    if (alt_lb_refresh(lb) != ALT_OK || alt_lb_nodes(lb, NULL, 0) != (size_t)nodes)
        die("the first discovery failed or did not list every node");
    return lb;
}

/* The cluster's per-node POST / counts since its last `reset`. */
static bool cluster_counts(int nodes, long *api)
{
    char reply[8192];
    if (tc_cmd(cluster, reply, sizeof reply, "stats") != 0)
        return false;
    /* {"nodes":[{"i":1,...,"api":N,...},...]}: the n-th "api" is node n's. */
    const char *p = reply;
    for (int i = 1; i <= nodes; i++) {
        const char *key = health_req ? "\"health\":" : "\"api\":";
        p = strstr(p, key);
        if (!p)
            return false;
        p += strlen(key);
        api[i] = strtol(p, NULL, 10);
    }
    return true;
}

struct result {
    const char *loop, *state, *choice;
    long n, failed;
    double rps, p50, p99, p999, share;
    double foreign;                /* others' CPU meanwhile, in cores */
    int attempts;
    /* Aggregated over repetitions (aggregate()): the medians above, and: */
    int reps;
    double p99_lo, p99_hi;
    uint32_t est_slow, est_others; /* the library's estimates, us */
    bool timed_out, counts_agree;
};

/* A run during which other processes used more than `quiet` cores is run
 * again, up to `tries` times in all, while the time budget lasts. */
static double quiet = 0.25;
static int tries = 3;
static uint64_t budget_end;
static double warmup_s = 0.5; /* each configuration's warm-up, at least */
static int reruns;

static void measure_once(struct result *out, int port, int nodes, int slow,
                         int conc, alt_choice choice, long warmup,
                         long measure, double max_s)
{
    if (tc_cmd(cluster, NULL, 0, "reset") != 0)
        die("cluster: reset failed");
    struct run R;
    memset(&R, 0, sizeof R);
    R.lb = make_lb(port, nodes, choice);
    R.conc = conc;
    R.warmup = warmup;
    R.warmup_s = warmup_s;
    R.measure = measure;
    R.max_s = max_s;
    if (!(R.lat_us = malloc((size_t)measure * sizeof *R.lat_us)))
        die("out of memory");
    if (conc > 0)
        run_multi(&R);
    else
        run_easy(&R);

    alt_node_stats st[MAXNODE];
    size_t ns = alt_lb_node_stats(R.lb, st, MAXNODE, sizeof st[0]);
    long api[MAXNODE + 1] = {0};
    bool agree = cluster_counts(nodes, api) && ns == (size_t)nodes;
    uint32_t others[MAXNODE];
    int nothers = 0;
    out->est_slow = 0;
    for (size_t i = 0; i < ns && i < MAXNODE; i++) {
        int x = atoi(st[i].addr + 8); /* "127.0.0.x" */
        if (x < 1 || x > nodes) {
            agree = false;
            continue;
        }
        /* client (PRIMARY_IP), library and cluster count each node alike */
        if ((long)st[i].requests != R.per_node_all[x] || api[x] != R.per_node_all[x])
            agree = false;
        if (x == slow)
            out->est_slow = st[i].latency_us;
        else
            others[nothers++] = st[i].latency_us;
    }
    if (!agree) {
        fprintf(stderr, "tail_bench: per-node counts differ:");
        for (int x = 1; x <= nodes; x++)
            fprintf(stderr, " %d: client %ld cluster %ld;", x,
                    R.per_node_all[x], api[x]);
        fprintf(stderr, "\n");
    }
    qsort(others, (size_t)nothers, sizeof others[0], cmp_u32);
    out->est_others = nothers ? others[nothers / 2] : 0;
    alt_lb_free(R.lb);

    qsort(R.lat_us, (size_t)R.n, sizeof R.lat_us[0], cmp_u32);
    out->n = R.n;
    out->failed = R.failed;
    out->rps = R.secs > 0 ? (double)R.n / R.secs : 0;
    out->p50 = pct_ms(R.lat_us, R.n, 50);
    out->p99 = pct_ms(R.lat_us, R.n, 99);
    out->p999 = pct_ms(R.lat_us, R.n, 99.9);
    out->share = R.n ? (double)R.per_node[slow] / (double)R.n : 0;
    out->foreign = foreign_load(&R.s0, &R.s1);
    out->timed_out = R.timed_out;
    out->counts_agree = agree;
    if (R.failed)
        fprintf(stderr, "tail_bench: %ld failed: %s\n", R.failed,
                R.first_error);
    fprintf(stderr, "  %-5s %-7s %-11s %6ld req %7.0f req/s  p50 %.3f  p99 "
            "%.3f  p99.9 %.3f ms  slow share %.4f  others %.2f%s\n",
            out->loop, out->state, out->choice, out->n, out->rps, out->p50,
            out->p99, out->p999, out->share, out->foreign,
            R.timed_out ? "  (time limit)" : "");
    free(R.lat_us);
}

static void one_config(struct result *out, int port, int nodes, int slow,
                       int conc, alt_choice choice, long warmup, long measure,
                       double max_s)
{
    /* Of the tries, the one least disturbed is kept. */
    struct result best;
    for (int attempt = 1;; attempt++) {
        struct result r = *out;
        measure_once(&r, port, nodes, slow, conc, choice, warmup, measure,
                     max_s);
        if (attempt == 1 || r.foreign < best.foreign)
            best = r;
        best.attempts = attempt;
        if (r.foreign <= quiet || attempt >= tries || now_ns() > budget_end)
            break;
        reruns++; /* someone else used the machine: not a fair sample */
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
    }
    *out = best;
}

/* The stand-in itself needs warming, off the clock: a fresh Node.js
 * process serves its first ~100,000 requests several times slower than
 * later ones (it compiles its hot paths), and the first configuration run
 * after one long warm-up loop still saw a second of 1-4 ms stalls (fresh
 * connections take code paths one loop warms only 48 times). So: rounds of
 * 0.5 s, each with a fresh alt_lb (new connections), alternating the
 * choices, until a round is no faster than the best before it (within 5%),
 * at least 6 rounds and at most max_s seconds. */
static long warm_cluster(int port, int nodes, int conc, double max_s)
{
    double best = 0;
    uint64_t t0 = now_ns();
    long failed = 0;
    fprintf(stderr, "tail_bench: warming the cluster (%s), requests/s:",
            health_req ? "GET /" : "ListTables");
    for (int round = 0;; round++) {
        struct run R;
        memset(&R, 0, sizeof R);
        R.lb = make_lb(port, nodes, round % 2 ? ALT_CHOICE_LOAD_AWARE
                                              : ALT_CHOICE_ROUND_ROBIN);
        R.conc = conc;
        R.measure = 200000;
        R.max_s = 0.5;
        if (!(R.lat_us = malloc((size_t)R.measure * sizeof *R.lat_us)))
            die("out of memory");
        run_multi(&R);
        alt_lb_free(R.lb);
        free(R.lat_us);
        failed += R.failed;
        double rps = R.secs > 0 ? (double)R.n / R.secs : 0;
        fprintf(stderr, " %.0f", rps);
        bool steady = round >= 5 && rps <= best * 1.05;
        best = rps > best ? rps : best;
        if (steady || (double)(now_ns() - t0) / 1e9 >= max_s)
            break;
    }
    fprintf(stderr, " (%.1f s)\n", (double)(now_ns() - t0) / 1e9);
    return failed;
}

/* The repetitions of one configuration: medians of the rates and
 * percentiles, the p99 range, the slow node's share of all measured
 * requests, the worst others' load, the failures and tries summed. */
#define MAXREPS 9
static struct result aggregate(const struct result *runs, int n)
{
    struct result a = runs[n - 1];
    double v[4][MAXREPS];
    double slow_reqs = 0;
    a.n = a.failed = 0;
    a.attempts = 0;
    a.foreign = 0;
    a.timed_out = false;
    a.counts_agree = true;
    a.p99_lo = a.p99_hi = runs[0].p99;
    for (int i = 0; i < n; i++) {
        const struct result *r = &runs[i];
        v[0][i] = r->rps;
        v[1][i] = r->p50;
        v[2][i] = r->p99;
        v[3][i] = r->p999;
        a.n += r->n;
        a.failed += r->failed;
        a.attempts += r->attempts;
        slow_reqs += r->share * (double)r->n;
        a.foreign = r->foreign > a.foreign ? r->foreign : a.foreign;
        a.timed_out = a.timed_out || r->timed_out;
        a.counts_agree = a.counts_agree && r->counts_agree;
        a.p99_lo = r->p99 < a.p99_lo ? r->p99 : a.p99_lo;
        a.p99_hi = r->p99 > a.p99_hi ? r->p99 : a.p99_hi;
    }
    a.rps = median(v[0], n);
    a.p50 = median(v[1], n);
    a.p99 = median(v[2], n);
    a.p999 = median(v[3], n);
    a.share = a.n ? slow_reqs / (double)a.n : 0;
    a.reps = n;
    return a;
}

static const struct result *healthy_of(const struct result *res, int nres,
                                       const struct result *r)
{
    for (int j = 0; j < nres; j++)
        if (!strcmp(res[j].loop, r->loop) && !strcmp(res[j].choice, r->choice)
            && !strcmp(res[j].state, "healthy"))
            return &res[j];
    return NULL;
}

static void print_tail(const char *title, const struct result *res, int nres)
{
    printf("%s\n\n", title);
    printf("| loop | cluster | choice | requests | requests/s | p50 ms | "
           "p99 ms%s | p99.9 ms | p99 vs healthy | slow node's share | "
           "estimates us (slow / others) | others' load | failed |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
           nres && res[0].reps > 1 ? " (range)" : "");
    for (int i = 0; i < nres; i++) {
        const struct result *r = &res[i], *h = healthy_of(res, nres, r);
        char vs[32] = "(base)";
        if (r != h && h && h->p99 > 0) {
            double q = r->p99 / h->p99;
            snprintf(vs, sizeof vs, q <= 1.2 ? "%.2fx" : "**%.2fx**", q);
        }
        char load[48], p99[48];
        if (r->attempts > r->reps)
            snprintf(load, sizeof load, "%.2f (%d re-run%s)", r->foreign,
                     r->attempts - r->reps, r->attempts - r->reps > 1 ? "s" : "");
        else
            snprintf(load, sizeof load, "%.2f", r->foreign);
        if (r->reps > 1)
            snprintf(p99, sizeof p99, "%.3f (%.3f-%.3f)", r->p99, r->p99_lo,
                     r->p99_hi);
        else
            snprintf(p99, sizeof p99, "%.3f", r->p99);
        printf("| %s | %s | %s | %ld%s | %.0f | %.3f | %s | %.3f | %s | "
               "%.2f%% | %u / %u | %s | %ld |\n", r->loop,
               !strcmp(r->state, "slow") ? "one node slow" : "healthy",
               r->choice, r->n, r->timed_out ? " (time limit)" : "", r->rps,
               r->p50, p99, r->p999, vs, r->share * 100, r->est_slow,
               r->est_others, load, r->failed);
    }
    printf("\nGoal (issue 8, part 1): with the slow node, the load-aware p99 "
           "within 1.2x of the healthy cluster's.");
    for (int i = 0; i < nres; i++) {
        const struct result *r = &res[i], *h = healthy_of(res, nres, r);
        if (strcmp(r->state, "slow") || !h || h->p99 <= 0)
            continue;
        double q = r->p99 / h->p99;
        printf(" %s, %s: %.2fx (%s).", r->loop, r->choice, q,
               q <= 1.2 ? "within" : "not within");
    }
    printf("\n\n");
}

struct spread_row {
    long total, failed, api[MAXNODE + 1];
    bool timed_out, lib_agree, ok;
};

/* `spread` requests on the healthy cluster in the multi loop with the
 * load-aware choice, counted per node by the cluster. */
static void measure_spread(struct spread_row *o, int port, int nodes,
                           int conc, long spread, double max_s)
{
    memset(o, 0, sizeof *o);
    if (tc_cmd(cluster, NULL, 0, "reset") != 0)
        die("cluster: reset failed");
    struct run R;
    memset(&R, 0, sizeof R);
    R.lb = make_lb(port, nodes, ALT_CHOICE_LOAD_AWARE);
    R.conc = conc;
    R.measure = spread;
    R.max_s = max_s;
    if (!(R.lat_us = malloc((size_t)spread * sizeof *R.lat_us)))
        die("out of memory");
    run_multi(&R);
    alt_node_stats st[MAXNODE];
    size_t ns = alt_lb_node_stats(R.lb, st, MAXNODE, sizeof st[0]);
    o->ok = cluster_counts(nodes, o->api);
    o->lib_agree = o->ok && ns == (size_t)nodes;
    for (size_t i = 0; i < ns && i < MAXNODE; i++) {
        int x = atoi(st[i].addr + 8);
        if (x < 1 || x > nodes || (long)st[i].requests != o->api[x])
            o->lib_agree = false;
    }
    for (int x = 1; x <= nodes; x++)
        o->total += o->api[x];
    o->failed = R.failed;
    o->timed_out = R.timed_out;
    alt_lb_free(R.lb);
    free(R.lat_us);
}

static void print_spread_row(const struct spread_row *o, const char *kind,
                             int nodes)
{
    long mn = LONG_MAX, mx = 0;
    for (int x = 1; x <= nodes; x++) {
        mn = o->api[x] < mn ? o->api[x] : mn;
        mx = o->api[x] > mx ? o->api[x] : mx;
    }
    double ratio = mn > 0 ? (double)mx / (double)mn : 0;
    printf("| %s | %d | %ld%s | ", kind, nodes, o->total,
           o->timed_out ? " (time limit)" : "");
    for (int x = 1; x <= nodes; x++)
        printf("%s%ld", x > 1 ? " " : "", o->api[x]);
    printf(" | %ld..%ld | %.4f | %s | %s | %ld |\n", mn, mx, ratio,
           o->ok && ratio <= 1.02 ? "yes" : "**no**",
           o->lib_agree ? "yes" : "**no**", o->failed);
    fprintf(stderr, "  spread (%s): %ld requests, %ld..%ld per node, %.4f\n",
            kind, o->total, mn, mx, ratio);
}

int main(int argc, char **argv)
{
    bench_init("tail_bench", 1, stop_cluster);
    long requests = arg_long(argc, argv, "requests", 20000);
    long requests_list = arg_long(argc, argv, "requests_list", 10000);
    long warmup = arg_long(argc, argv, "warmup", 1000);
    warmup_s = strtod(arg(argc, argv, "warmup_s", "0.5"), NULL);
    long spread = arg_long(argc, argv, "spread", 20000);
    double cluster_warmup = strtod(arg(argc, argv, "cluster_warmup", "8"), NULL);
    int nodes = (int)arg_long(argc, argv, "nodes", 6);
    int slow = (int)arg_long(argc, argv, "slow", 6);
    int slow_ms = (int)arg_long(argc, argv, "slow_ms", 5);
    int conc = (int)arg_long(argc, argv, "conc", 8);
    double max_s = strtod(arg(argc, argv, "max_s", "6"), NULL);
    int reps = (int)arg_long(argc, argv, "reps", 3);
    int reps_list = (int)arg_long(argc, argv, "reps_list", 1);
    /* Client and cluster share one CPU (default: the last one): see the
     * comment at the top. */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int cpu = (int)arg_long(argc, argv, "cpu", ncpu > 1 ? ncpu - 1 : -1);
    const char *parts = arg(argc, argv, "parts", "tail,spread");
    const char *kinds = arg(argc, argv, "req", "health,list");
    const char *loops = arg(argc, argv, "loops", "multi,easy");
    quiet = strtod(arg(argc, argv, "quiet", "0.25"), NULL);
    tries = (int)arg_long(argc, argv, "tries", 3);
    double budget_s = strtod(arg(argc, argv, "budget_s", "90"), NULL);
    if (nodes < 2 || nodes > MAXNODE || slow < 1 || slow > nodes
        || requests < 100 || requests_list < 100 || warmup < 0 || conc < 1 || conc > 1024
        || max_s <= 0 || slow_ms < 1 || spread < 0 || tries < 1
        || reps < 1 || reps > MAXREPS || reps_list < 1 || reps_list > MAXREPS)
        die("bad arguments (see the comment at the top of tail_bench.c)");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        die("curl_global_init");

    /* The cluster inherits the affinity of the thread that forks it, the
     * library's refresh thread that of the thread that starts it. */
    if (cpu >= 0 && !pin_self(cpu))
        cpu = -1;
    char args[64];
    snprintf(args, sizeof args, "--nodes %d", nodes);
    uint64_t t_boot = now_ns();
    if (!(cluster = tc_start(args)))
        die("cannot start the test cluster (test/deps.sh installs Node.js "
            "and its packages)");
    cluster_pid = find_child();
    snap_cpu = cpu;
    budget_end = now_ns() + (uint64_t)(budget_s * 1e9);
    int port = tc_port(cluster);
    fprintf(stderr, "tail_bench: %d-node cluster on port %d in %.2f s\n",
            nodes, port, (double)(now_ns() - t_boot) / 1e9);

    static const char *choice_names[] = {"load-aware", "round-robin"};
    /* Request kinds: GET / (Alternator's health check: the node answers
     * without the database) and ListTables (POST /, through dynalite). */
    static const struct {
        const char *key, *label;
        bool health;
    } kind[2] = {
        {"health", "GET / (the node's own health answer)", true},
        {"list", "ListTables (POST /, served by dynalite)", false},
    };
    static struct result runs[2][8][MAXREPS], res[2][8];
    int nres[2] = {0, 0};
    struct spread_row sp[2];
    bool did_spread[2] = {false, false};
    long failed = 0;
    bool agree = true;
    for (int k = 0; k < 2; k++) {
        if (!strstr(kinds, kind[k].key))
            continue;
        health_req = kind[k].health;
        if (cluster_warmup > 0)
            failed += warm_cluster(port, nodes, conc, cluster_warmup);
        if (strstr(parts, "tail")) {
            /* Interleaved: healthy then slow, round-robin then load-aware,
             * for each loop in turn; the whole pass repeated. */
            int nrep = kind[k].health ? reps : reps_list;
            for (int rep = 0; rep < nrep; rep++) {
                int i = 0;
                for (int loop = 0; loop < 2; loop++)
                    for (int st = 0; st < 2; st++) {
                        if (!strstr(loops, loop ? "easy" : "multi"))
                            continue;
                        if (tc_cmd(cluster, NULL, 0, "slow %d %d", slow,
                                   st ? slow_ms : 0) != 0)
                            die("cluster: slow failed");
                        for (int c = ALT_CHOICE_ROUND_ROBIN;
                             c >= ALT_CHOICE_LOAD_AWARE; c--, i++) {
                            struct result *r = &runs[k][i][rep];
                            r->loop = loop ? "easy" : "multi";
                            r->state = st ? "slow" : "healthy";
                            r->choice = choice_names[c];
                            one_config(r, port, nodes, slow, loop ? 0 : conc,
                                       (alt_choice)c, warmup,
                                       kind[k].health ? requests
                                                      : requests_list,
                                       max_s);
                        }
                    }
                nres[k] = i;
            }
            for (int i = 0; i < nres[k]; i++) {
                res[k][i] = aggregate(runs[k][i], nrep);
                failed += res[k][i].failed;
                agree = agree && res[k][i].counts_agree;
            }
            if (tc_cmd(cluster, NULL, 0, "slow %d 0", slow) != 0)
                die("cluster: slow failed");
        }
        if (strstr(parts, "spread") && spread > 0) {
            measure_spread(&sp[k], port, nodes, conc, spread, 2 * max_s);
            did_spread[k] = true;
            failed += sp[k].failed;
            agree = agree && sp[k].lib_agree;
        }
    }

    if (nres[0] || nres[1]) {
        char la[32];
        double l1 = 0, l5 = 0, l15 = 0;
        FILE *f = fopen("/proc/loadavg", "r");
        if (!f || fscanf(f, "%lf %lf %lf", &l1, &l5, &l15) != 3)
            l1 = l5 = l15 = 0;
        if (f)
            fclose(f);
        snprintf(la, sizeof la, "%.2f %.2f %.2f", l1, l5, l15);
        printf("### 7. Tail latency with one slow node\n\n");
        char where[96];
        if (cpu >= 0)
            snprintf(where, sizeof where, "sharing CPU %d with the client "
                     "(both pinned)", cpu);
        else
            snprintf(where, sizeof where, "client and cluster not pinned");
        printf("The local Alternator stand-in (test/cluster: all %d nodes in "
               "one Node.js process), %s; the slow node, 127.0.0.%d, delays "
               "every answer by %d ms (the cluster's `slow %d %d`). The "
               "stand-in is warmed up first, off the clock. Per "
               "configuration: a fresh alt_lb (after a blocking "
               "alt_lb_refresh()), a warm-up of %ld requests and %.1f s (the "
               "library's estimates count from a node's 4th answer), then "
               "%ld measured requests (GET /) or %ld (ListTables), at most "
               "%.0f s. multi: a curl multi loop keeping %d in flight, a "
               "request's latency from its alt_curl_prepare to the reading of "
               "its completion; easy: alt_curl_perform on one handle, with "
               "the background refresh thread. Client clock, nearest rank. "
               "The configurations run interleaved, passes: %d (GET /), %d "
               "(ListTables); medians over the passes, p99 with its range, "
               "requests in all. \"vs healthy\": median p99 / the "
               "healthy cluster's, same loop and choice. Slow node's share: "
               "of all measured requests (CURLINFO_PRIMARY_IP). Estimates: "
               "the library's latency estimates (alt_lb_node_stats) of the "
               "slow node / median of the others', at the end of the last "
               "pass. Others' load: the most CPU other processes used %s "
               "during a kept run, in cores; a run above %.2f is run again "
               "(up to %d tries while the time budget lasts, the least "
               "disturbed kept; %d re-runs in all). Load average at the end: "
               "%s.\n\n",
               nodes, where, slow, slow_ms, slow, slow_ms, warmup, warmup_s,
               requests, requests_list, max_s, conc, reps, reps_list,
               cpu >= 0 ? "on that CPU" : "on all CPUs", quiet, tries,
               reruns, la);
        for (int k = 0; k < 2; k++)
            if (nres[k]) {
                char title[128];
                snprintf(title, sizeof title, "Requests: %s.", kind[k].label);
                print_tail(title, res[k], nres[k]);
            }
        printf("Per-node request counts of the client, of the library "
               "(alt_lb_node_stats) and of the cluster %s.\n\n",
               agree ? "agreed in every configuration"
                     : "**disagreed** (see stderr)");
    }
    if (did_spread[0] || did_spread[1]) {
        printf("Spread on the healthy cluster with the load-aware choice: "
               "%ld requests in the multi loop at concurrency %d (fresh "
               "alt_lb after a blocking alt_lb_refresh(), no warm-up), "
               "counted per node by the cluster. Goal: max/min <= 1.02.\n\n",
               spread, conc);
        printf("| requests | nodes | counted | per node | min..max | max/min | "
               "within 1.02 | library's counts equal | failed |\n"
               "|---|---|---|---|---|---|---|---|---|\n");
        for (int k = 0; k < 2; k++)
            if (did_spread[k])
                print_spread_row(&sp[k], kind[k].health ? "GET /" : "ListTables",
                                 nodes);
        printf("\n");
    }
    fprintf(stderr, "tail_bench: %.1f s\n", (double)(now_ns() - t_boot) / 1e9);
    fflush(stdout);
    tc_stop(cluster);
    curl_global_cleanup();
    return failed || !agree ? 1 : 0;
}
