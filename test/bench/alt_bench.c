/*
 * alt_bench: the benchmarks of issue 4. Run them all with test/bench/run.sh,
 * which starts the nginx/HAProxy servers this program talks to; the
 * subcommands here print the sections of its Markdown table.
 *
 *   alt_bench prepare    [runs=9] [calls=1000000]
 *   alt_bench throughput port=P proxy=PH [conc=1,8,64] [reps=3]
 *                        [requests=20000] [warmup=2000] [cpu=0] [modes=abcd]
 *                        [servers=PID,...] [quiet=0.1] [tries=6] [fake=HOST]
 *                        [refresh_ms=N]
 *   alt_bench conns      ports=3:P3,6:P6,16:P16 log=FILE [requests=20000]
 *                        [conc=8,64]
 *   alt_bench failover   port=PF pids=P1,P2,P3 mode=multi|writes|easy
 *                        [before=3] [after=8] [conc=8] [header=1]
 *
 * Every loop is bounded in count and in time. Nodes are 127.0.0.1..16.
 */
#define _GNU_SOURCE
#include "bench_util.h"
#include "cpu_load.h"
#include "malloc_count.h"

#include <alternator_lb.h>
#include <curl/curl.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define MAXNODE 16            /* servers are 127.0.0.1 .. 127.0.0.MAXNODE */
#define MAXRUNS 64
#define LOOP_DEADLINE_S 120.0 /* no measured loop may run longer */

static const char *fake_body = "{}";

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------ */

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6
           + (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double user_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double minimum(const double *v, int n)
{
    double m = v[0];
    for (int i = 1; i < n; i++)
        if (v[i] < m)
            m = v[i];
    return m;
}

/* The servers whose CPU time foreign_load() leaves out (given by PID). */
#define MAXSERVERS 16
static pid_t servers[MAXSERVERS];
static int nservers;

/* ------------------------------------------------------------------------ */
/* Part 1: alt_curl_prepare cost                                             */
/* ------------------------------------------------------------------------ */

/* An alt_lb whose rotation holds n nodes (127.0.x.y, n <= 2000). */
static alt_lb *prep_lb(struct responder *r, int n, bool sigv4, char *body,
                       size_t cap)
{
    size_t len = 0;
    len += (size_t)snprintf(body + len, cap - len, "[");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(body + len, cap - len, "%s\"127.0.%d.%d\"",
                                i ? "," : "", i / 250, i % 250 + 1);
    snprintf(body + len, cap - len, "]");
    atomic_store(&r->body, body);
    const char *seed = "127.0.0.1";
    alt_lb *lb = NULL;
    if (alt_lb_new(&lb, "http", r->port, &seed, 1) != ALT_OK)
        die("alt_lb_new");
    if (sigv4 && alt_lb_set_credentials(lb, "bench", "secret", NULL) != ALT_OK)
        die("alt_lb_set_credentials");
    alt_code rc = alt_lb_refresh(lb);
    if (rc != ALT_OK) {
        fprintf(stderr, "alt_lb_refresh: %s\n", alt_strerror(rc));
        exit(2);
    }
    size_t live = alt_lb_nodes(lb, NULL, 0);
    if (live != (size_t)n) {
        fprintf(stderr, "expected %d live nodes, got %zu\n", n, live);
        exit(2);
    }
    return lb;
}

#define PREP_HANDLES 8 /* handles each thread rotates, like a multi loop */

static long prep_bad; /* calls that did not return ALT_OK */

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ns per call, wall clock. *clean: the thread had the CPU to itself for at
 * least 97% of the run (on this shared machine another process may take it
 * away; such a run says nothing about the library). */
static double prep_loop(alt_lb *lb, CURL **h, long calls, bool *clean)
{
    long bad = 0;
    uint64_t c0 = thread_cpu_ns(), t0 = now_ns();
    for (long i = 0; i < calls; i++)
        if (alt_curl_prepare(lb, h[i & (PREP_HANDLES - 1)]) != ALT_OK)
            bad++;
    uint64_t t1 = now_ns(), c1 = thread_cpu_ns();
    if (bad)
        __atomic_add_fetch(&prep_bad, bad, __ATOMIC_RELAXED);
    *clean = (double)(c1 - c0) >= 0.97 * (double)(t1 - t0);
    return (double)(t1 - t0) / (double)calls;
}

struct prep_thread {
    alt_lb *lb;
    CURL *h[PREP_HANDLES];
    int cpu;
    long calls;
    double ns;
    bool clean;
    atomic_bool stop;
    pthread_barrier_t *bar;
};

static void *prep_thread_main(void *arg)
{
    struct prep_thread *t = arg;
    bool clean;
    pin_self(t->cpu);
    prep_loop(t->lb, t->h, 20000, &clean); /* first sight of each handle */
    pthread_barrier_wait(t->bar);
    for (;;) {
        pthread_barrier_wait(t->bar);
        if (atomic_load(&t->stop))
            break;
        t->ns = prep_loop(t->lb, t->h, t->calls, &t->clean);
        pthread_barrier_wait(t->bar);
    }
    return NULL;
}

static void new_handles(CURL **h, int n)
{
    for (int i = 0; i < n; i++)
        if (!(h[i] = curl_easy_init()))
            die("curl_easy_init");
}

static void free_handles(CURL **h, int n)
{
    for (int i = 0; i < n; i++)
        curl_easy_cleanup(h[i]);
}

static void print_alloc(unsigned long allocs, double calls)
{
    if (mc_available())
        printf(" %.3g |", (double)allocs / calls);
    else
        printf(" n/a |");
}

/* One row: single thread (threads 1) or two threads on CPUs 0 and 1, until
 * runs clean runs (at most 5 x runs attempts). */
static void prep_row(const char *label, alt_lb *lb, alt_lb *lb2, int threads,
                     int runs, long calls)
{
    double ns[MAXRUNS] = {0}, any[MAXRUNS] = {0};
    int got = 0, attempts = 0;
    unsigned long allocs;
    if (threads == 1) {
        CURL *h[PREP_HANDLES];
        bool clean;
        new_handles(h, PREP_HANDLES);
        pin_self(0);
        prep_loop(lb, h, 20000, &clean);
        mc_start();
        while (got < runs && attempts < 5 * runs) {
            attempts++;
            double v = prep_loop(lb, h, calls, &clean);
            if (attempts <= MAXRUNS)
                any[attempts - 1] = v;
            if (clean)
                ns[got++] = v;
        }
        allocs = mc_stop();
        free_handles(h, PREP_HANDLES);
    } else {
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, 3);
        struct prep_thread t[2];
        for (int i = 0; i < 2; i++) {
            memset(&t[i], 0, sizeof t[i]);
            t[i].lb = i && lb2 ? lb2 : lb;
            t[i].cpu = i;
            t[i].calls = calls;
            t[i].bar = &bar;
            atomic_init(&t[i].stop, false);
            new_handles(t[i].h, PREP_HANDLES);
        }
        pthread_t th[2];
        for (int i = 0; i < 2; i++)
            if (pthread_create(&th[i], NULL, prep_thread_main, &t[i]) != 0)
                die("pthread_create");
        pthread_barrier_wait(&bar);
        mc_start();
        for (;;) {
            if (got >= runs || attempts >= 5 * runs) {
                atomic_store(&t[0].stop, true);
                atomic_store(&t[1].stop, true);
                pthread_barrier_wait(&bar);
                break;
            }
            pthread_barrier_wait(&bar);
            pthread_barrier_wait(&bar);
            attempts++;
            if (attempts <= MAXRUNS)
                any[attempts - 1] = (t[0].ns + t[1].ns) / 2;
            if (t[0].clean && t[1].clean)
                ns[got++] = (t[0].ns + t[1].ns) / 2;
        }
        allocs = mc_stop();
        for (int i = 0; i < 2; i++) {
            pthread_join(th[i], NULL);
            free_handles(t[i].h, PREP_HANDLES);
        }
        pthread_barrier_destroy(&bar);
    }
    if (got == 0) { /* report the disturbed runs, marked */
        int n = attempts < MAXRUNS ? attempts : MAXRUNS;
        printf("| %s | %d | %.1f (disturbed) | %.1f |", label, threads,
               median(any, n), minimum(any, n));
    } else {
        printf("| %s | %d | %.1f | %.1f |", label, threads, median(ns, got),
               minimum(ns, got));
    }
    print_alloc(allocs, (double)calls * attempts * threads);
    printf(" %d/%d |\n", got, attempts);
    fflush(stdout);
}

static int cmd_prepare(int argc, char **argv)
{
    int runs = (int)arg_long(argc, argv, "runs", 9);
    long calls = arg_long(argc, argv, "calls", 1000000);
    if (runs < 1 || runs > MAXRUNS || calls < 1000)
        die("prepare: runs 1..64, calls >= 1000");

    /* The counter must see allocations, or its zeros mean nothing. */
    mc_start();
    CURL *probe = curl_easy_init();
    unsigned long probe_allocs = mc_stop();
    curl_easy_cleanup(probe);
    if (mc_available() && probe_allocs == 0)
        die("allocation counter sees nothing: interposition is broken");

    printf("### 1. alt_curl_prepare cost\n\n");
    printf("%ld calls per run, median and best of %d undisturbed runs (the "
           "thread had its CPU for at least 97%% of the run; others are run "
           "again, up to 5 x %d); %d easy handles per thread in rotation, no "
           "credentials; two threads pinned to CPUs 0 and 1 share one alt_lb "
           "(ns per call as seen by each thread). Allocations counted over "
           "all runs by interposing malloc/calloc/realloc; self-check: "
           "curl_easy_init() = %lu allocations.\n\n",
           calls, runs, runs, PREP_HANDLES, probe_allocs);
    printf("| live nodes | threads | ns/call (median) | ns/call (best) | "
           "allocations/call | undisturbed runs |\n|---|---|---|---|---|---|\n");

    /* The floor: the one setopt that prepare must make. */
    {
        static char text[] = "alternator.invalid:80:127.0.0.1:80";
        struct curl_slist one = {text, NULL};
        CURL *h = curl_easy_init();
        double ns[MAXRUNS] = {0};
        pin_self(0);
        mc_start();
        for (int r = 0; r < runs; r++) {
            uint64_t t0 = now_ns();
            for (long i = 0; i < calls; i++)
                curl_easy_setopt(h, CURLOPT_CONNECT_TO, &one);
            ns[r] = (double)(now_ns() - t0) / (double)calls;
        }
        unsigned long allocs = mc_stop();
        curl_easy_cleanup(h);
        printf("| (floor: curl_easy_setopt CONNECT_TO alone) | 1 | %.1f | "
               "%.1f |", median(ns, runs), minimum(ns, runs));
        print_alloc(allocs, (double)calls * runs);
        printf(" |\n");
    }

    struct responder r;
    responder_start(&r, "[]");
    static char body[64 * 1024];
    const int counts[] = {3, 100, 1000};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        alt_lb *lb = prep_lb(&r, counts[k], false, body, sizeof body);
        char label[32];
        snprintf(label, sizeof label, "%d", counts[k]);
        prep_row(label, lb, NULL, 1, runs, calls);
        prep_row(label, lb, NULL, 2, runs, calls);
        alt_lb_free(lb);
    }
    /* Not a target, but what a SigV4 user pays. */
    {
        alt_lb *lb = prep_lb(&r, 3, true, body, sizeof body);
        prep_row("3, with SigV4 credentials", lb, NULL, 1, runs, calls);
        alt_lb_free(lb);
    }
    /* What sharing costs: the same two threads, each with its own alt_lb. */
    {
        static char body2[1024];
        alt_lb *lb = prep_lb(&r, 3, false, body, sizeof body);
        alt_lb *lb2 = prep_lb(&r, 3, false, body2, sizeof body2);
        prep_row("3, one alt_lb per thread (reference: no sharing)", lb, lb2,
                 2, runs, calls);
        alt_lb_free(lb);
        alt_lb_free(lb2);
    }
    responder_stop(&r);
    pin_self(-1);
    if (prep_bad) {
        printf("\n**%ld alt_curl_prepare calls did not return ALT_OK.**\n",
               prep_bad);
        return 1;
    }
    printf("\n");
    return 0;
}

/* ------------------------------------------------------------------------ */
/* A curl multi loop and an easy loop, shared by parts 2-5                   */
/* ------------------------------------------------------------------------ */

/* Client-side connection attempts by node (127.0.0.x), and time stamps of
 * attempts to one watched node after t0. */
struct tracker {
    long connects[MAXNODE + 1];
    int watch;
    uint64_t t0;
    int nstamps;
    double stamps[8192]; /* seconds after t0 */
};

static curl_socket_t open_sock(void *clientp, curlsocktype purpose,
                               struct curl_sockaddr *a)
{
    struct tracker *t = clientp;
    (void)purpose;
    if (a->family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)&a->addr;
        uint32_t ip = ntohl(in->sin_addr.s_addr);
        int x = (int)(ip & 0xff);
        if ((ip >> 8) == 0x7f0000 && x <= MAXNODE) {
            t->connects[x]++;
            if (x == t->watch && t->t0 && t->nstamps < 8192)
                t->stamps[t->nstamps++] = (double)(now_ns() - t->t0) / 1e9;
        }
    }
    return socket(a->family, a->socktype, a->protocol);
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

struct req {
    CURL *h;
    struct curl_slist *headers;
    bool in_multi;
};

static void req_init(struct req *r, const char *url, bool log_header,
                     struct tracker *track)
{
    memset(r, 0, sizeof *r);
    if (!(r->h = curl_easy_init()))
        die("curl_easy_init");
    r->headers = curl_slist_append(NULL,
                                   "Content-Type: application/x-amz-json-1.0");
    r->headers = curl_slist_append(r->headers,
                                   "X-Amz-Target: DynamoDB_20120810.ListTables");
    if (log_header) /* makes nginx log this request (conns, spread) */
        r->headers = curl_slist_append(r->headers, "X-Bench-Log: 1");
    if (!r->headers)
        die("curl_slist_append");
    CURL *h = r->h;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, fake_body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(fake_body));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_PRIVATE, r);
    if (track) {
        curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_sock);
        curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, track);
    }
}

static void req_free(struct req *r)
{
    curl_easy_cleanup(r->h);
    curl_slist_free_all(r->headers);
}

struct loop {
    /* in */
    const char *url;      /* mode a/c; mode b uses alt_lb_url(lb) */
    alt_lb *lb;           /* mode b: this library */
    int conc;
    long warmup, measure; /* completions, when duration_s == 0 */
    bool exact;           /* start no more than warmup + measure requests */
    double duration_s;    /* > 0: run for this long instead */
    double kill_at_s;     /* > 0: SIGKILL kill_pid then */
    pid_t kill_pid;
    bool log_header, writes; /* writes: not ALT_IDEMPOTENT */
    struct tracker *track;
    /* out */
    double secs, cpu;     /* of the measured window */
    double user;          /* the user-space part of cpu */
    double foreign;       /* other processes' load meanwhile, in cores */
    long completed, ok, failed, failed_after_kill, retried;
    uint64_t t_kill;
    int nfail_at;
    double fail_at[16];   /* seconds after the kill of the first failures */
    char first_error[160];
};

static void note_result(struct loop *L, CURL *h, CURLcode res)
{
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (res == CURLE_OK && code == 200) {
        L->ok++;
        return;
    }
    L->failed++;
    if (L->t_kill) {
        L->failed_after_kill++;
        if (L->nfail_at < 16)
            L->fail_at[L->nfail_at++] = (double)(now_ns() - L->t_kill) / 1e9;
    }
    if (!L->first_error[0])
        snprintf(L->first_error, sizeof L->first_error, "%s (HTTP %ld)",
                 curl_easy_strerror(res), code);
}

static void maybe_kill(struct loop *L, uint64_t t0)
{
    if (L->kill_at_s > 0 && !L->t_kill
        && (double)(now_ns() - t0) / 1e9 >= L->kill_at_s) {
        if (kill(L->kill_pid, SIGKILL) != 0)
            die("failover: cannot kill the node");
        L->t_kill = now_ns();
        if (L->track)
            L->track->t0 = L->t_kill;
    }
}

static bool issue(CURLM *m, struct loop *L, struct req *r)
{
    /* The fixed request stands for a read unless the loop says writes. */
    if (L->lb && alt_curl_prepare_ex(L->lb, r->h, L->writes ? 0 : ALT_IDEMPOTENT)
                     != ALT_OK)
        die("alt_curl_prepare failed");
    if (curl_multi_add_handle(m, r->h) != CURLM_OK)
        die("curl_multi_add_handle failed");
    r->in_multi = true;
    return true;
}

/* The curl multi loop of parts 2-5: conc transfers always in flight. */
static void run_multi(struct loop *L)
{
    CURLM *m = curl_multi_init();
    if (!m)
        die("curl_multi_init");
    if (L->lb && alt_multi_attach(L->lb, m) != ALT_OK)
        die("alt_multi_attach");
    const char *url = L->lb ? alt_lb_url(L->lb) : L->url;
    struct req *reqs = calloc((size_t)L->conc, sizeof *reqs);
    if (!reqs)
        die("out of memory");
    for (int i = 0; i < L->conc; i++)
        req_init(&reqs[i], url, L->log_header, L->track);

    bool timed = L->duration_s > 0;
    long target = L->warmup + L->measure;
    long cap = L->exact ? target : LONG_MAX;
    long started = 0, inflight = 0;
    uint64_t t0 = now_ns(), t_start = t0, t_end = 0;
    uint64_t deadline = t0 + (uint64_t)((timed ? L->duration_s + 30 : LOOP_DEADLINE_S) * 1e9);
    double c_start = cpu_s(), c_end = 0, u_start = user_s(), u_end = 0;
    struct cpu_snap s_start, s_end;
    cpu_snap(&s_start, -1, servers, nservers);
    bool measuring = timed || L->warmup == 0, stop = false;

    for (int i = 0; i < L->conc && started < cap; i++, started++, inflight++)
        issue(m, L, &reqs[i]);
    while (inflight > 0) {
        int running;
        curl_multi_perform(m, &running);
        bool added = false;
        CURLMsg *msg;
        int q;
        while ((msg = L->lb ? alt_multi_info_read(L->lb, &q)
                            : curl_multi_info_read(m, &q))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *h = msg->easy_handle;
            CURLcode res = msg->data.result;
            struct req *r = NULL;
            curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&r);
            curl_multi_remove_handle(m, h);
            r->in_multi = false;
            inflight--;
            if (L->lb && alt_curl_retry(L->lb, h, res)) {
                /* Re-prepared for another node: run it again. */
                if (curl_multi_add_handle(m, h) != CURLM_OK)
                    die("curl_multi_add_handle failed");
                r->in_multi = true;
                L->retried++;
                added = true;
                inflight++;
                continue;
            }
            L->completed++;
            note_result(L, h, res);
            if (!timed && !measuring && L->completed == L->warmup) {
                measuring = true;
                cpu_snap(&s_start, -1, servers, nservers);
                t_start = now_ns();
                c_start = cpu_s();
                u_start = user_s();
            }
            if (!timed && measuring && L->completed == target && !stop) {
                t_end = now_ns();
                c_end = cpu_s();
                u_end = user_s();
                cpu_snap(&s_end, -1, servers, nservers);
                stop = true;
            }
            if (!stop && started < cap) {
                added = issue(m, L, r);
                started++;
                inflight++;
            }
        }
        if (timed) {
            maybe_kill(L, t0);
            if (!stop && (double)(now_ns() - t0) / 1e9 >= L->duration_s) {
                t_end = now_ns();
                c_end = cpu_s();
                u_end = user_s();
                stop = true;
            }
        }
        if (now_ns() > deadline) {
            fprintf(stderr, "alt_bench: loop deadline passed with %ld in "
                    "flight\n", inflight);
            break;
        }
        if (!added && inflight > 0)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    if (!t_end || timed) {
        t_end = t_end ? t_end : now_ns();
        c_end = c_end ? c_end : cpu_s();
        u_end = u_end ? u_end : user_s();
        cpu_snap(&s_end, -1, servers, nservers);
    }
    L->foreign = foreign_load(&s_start, &s_end);
    L->secs = (double)(t_end - t_start) / 1e9;
    L->cpu = c_end - c_start;
    L->user = u_end - u_start;
    for (int i = 0; i < L->conc; i++) {
        if (reqs[i].in_multi)
            curl_multi_remove_handle(m, reqs[i].h);
        req_free(&reqs[i]);
    }
    free(reqs);
    if (L->lb)
        alt_multi_detach(L->lb);
    curl_multi_cleanup(m);
}

/* Easy mode: alt_curl_perform on one handle, one request after another. */
static void run_easy(struct loop *L)
{
    struct req r;
    req_init(&r, alt_lb_url(L->lb), L->log_header, L->track);
    bool timed = L->duration_s > 0;
    uint64_t t0 = now_ns();
    uint64_t deadline = t0 + (uint64_t)((timed ? L->duration_s + 30 : LOOP_DEADLINE_S) * 1e9);
    double c0 = cpu_s();
    for (;;) {
        if (!timed && L->completed >= L->measure)
            break;
        if (timed) {
            maybe_kill(L, t0);
            if ((double)(now_ns() - t0) / 1e9 >= L->duration_s)
                break;
        }
        if (now_ns() > deadline) {
            fprintf(stderr, "alt_bench: easy loop deadline passed\n");
            break;
        }
        CURLcode res = alt_curl_perform_ex(L->lb, r.h, ALT_IDEMPOTENT);
        L->completed++;
        note_result(L, r.h, res);
    }
    L->secs = (double)(now_ns() - t0) / 1e9;
    L->cpu = cpu_s() - c0;
    req_free(&r);
}

/* An alt_lb over the nodes answering on port, seeded with 127.0.0.1. */
static alt_lb *node_lb(int port)
{
    const char *seed = "127.0.0.1";
    alt_lb *lb = NULL;
    if (alt_lb_new(&lb, "http", port, &seed, 1) != ALT_OK)
        die("alt_lb_new");
    return lb;
}

/* ------------------------------------------------------------------------ */
/* Part 2: throughput, a/b/c interleaved                                     */
/* ------------------------------------------------------------------------ */

static int cmd_throughput(int argc, char **argv)
{
    int port = (int)arg_long(argc, argv, "port", 0);
    int proxy = (int)arg_long(argc, argv, "proxy", 0);
    int reps = (int)arg_long(argc, argv, "reps", 3);
    long requests = arg_long(argc, argv, "requests", 20000);
    long warmup = arg_long(argc, argv, "warmup", 2000);
    int cpu = (int)arg_long(argc, argv, "cpu", 0);
    int nodes = (int)arg_long(argc, argv, "nodes", 6);
    const char *modes = arg(argc, argv, "modes", "abcd");
    const char *fake = arg(argc, argv, "fake", NULL); /* (b)'s fake domain */
    long refresh_ms = arg_long(argc, argv, "refresh_ms", 0); /* (b), 0: default */
    /* A run during which other processes used more than quiet cores is run
     * again (after a pause), up to tries times. */
    double quiet = strtod(arg(argc, argv, "quiet", "0.1"), NULL);
    int tries = (int)arg_long(argc, argv, "tries", 6);
    nservers = parse_pids(arg(argc, argv, "servers", ""), servers, MAXSERVERS);
    long conc[8];
    int nconc = parse_list(arg(argc, argv, "conc", "1,8,64"), conc, 8);
    if (!port || !proxy || reps < 1 || reps > MAXRUNS || requests < 100)
        die("throughput: port=, proxy= needed; reps 1..64");
    pin_self(cpu);

    char direct[64], via_proxy[64];
    snprintf(direct, sizeof direct, "http://127.0.0.1:%d/", port);
    snprintf(via_proxy, sizeof via_proxy, "http://127.0.0.1:%d/", proxy);
    /* d: (b) with a fake domain as long as "127.0.0.1" (a diagnostic: the
     * fake domain's length costs client CPU inside libcurl). */
    enum { NMODES = 4 };
    const char *names[NMODES] = {
        "(a) plain libcurl, one node",
        "(b) alternator_lb, 6 nodes",
        "(c) HAProxy round-robin, 6 nodes",
        "(b') alternator_lb, fake domain a.invalid",
    };

    static double rps[8][NMODES][MAXRUNS], cpu10k[8][NMODES][MAXRUNS],
        user10k[8][NMODES][MAXRUNS], others[8][NMODES][MAXRUNS];
    long errors[8][NMODES];
    int reruns = 0, noisy = 0;
    memset(errors, 0, sizeof errors);
    for (int k = 0; k < nconc; k++)
        for (int rep = 0; rep < reps; rep++)
            for (int mode = 0; mode < NMODES; mode++) {
                if (!strchr(modes, 'a' + mode)) {
                    rps[k][mode][rep] = cpu10k[k][mode][rep] = 0;
                    user10k[k][mode][rep] = 0;
                    others[k][mode][rep] = 0;
                    continue;
                }
                struct loop L;
                for (int attempt = 1;; attempt++) {
                    memset(&L, 0, sizeof L);
                    L.conc = (int)conc[k];
                    L.warmup = warmup;
                    L.measure = requests;
                    L.url = mode == 2 ? via_proxy : direct;
                    if (mode == 1 || mode == 3) {
                        L.lb = node_lb(port);
                        const char *f = mode == 3 ? "a.invalid" : fake;
                        if (f && alt_lb_set_fake_domain(L.lb, f) != ALT_OK)
                            die("alt_lb_set_fake_domain");
                        if (refresh_ms > 0
                            && alt_lb_set_refresh_interval(L.lb, refresh_ms,
                                   refresh_ms > 60000 ? refresh_ms : 60000)
                                   != ALT_OK)
                            die("alt_lb_set_refresh_interval");
                    }
                    run_multi(&L);
                    if (L.lb) {
                        size_t live = alt_lb_nodes(L.lb, NULL, 0);
                        if (live != (size_t)nodes)
                            fprintf(stderr, "alt_bench: %s: rotation had %zu "
                                    "nodes, not %d\n", names[mode], live, nodes);
                        alt_lb_free(L.lb);
                    }
                    fprintf(stderr, "  c=%-3ld rep %d %-42s %8.0f req/s  %6.3f "
                            "CPU s/10k  (others: %.2f cores)\n", conc[k],
                            rep + 1, names[mode], (double)requests / L.secs,
                            L.cpu / (double)requests * 10000, L.foreign);
                    if (L.foreign <= quiet || attempt >= tries)
                        break;
                    /* Someone else used the machine: not a fair sample. */
                    reruns++;
                    sleep_ms(1000L * attempt);
                }
                if (L.foreign > quiet)
                    noisy++;
                rps[k][mode][rep] = (double)requests / L.secs;
                cpu10k[k][mode][rep] = L.cpu / (double)requests * 10000;
                user10k[k][mode][rep] = L.user / (double)requests * 10000;
                others[k][mode][rep] = L.foreign;
                errors[k][mode] += L.failed;
                if (L.failed)
                    fprintf(stderr, "alt_bench: %s c=%ld: %ld failed: %s\n",
                            names[mode], conc[k], L.failed, L.first_error);
            }

    printf("### 2. Throughput through a curl multi loop (loopback nginx)\n\n");
    printf("%ld requests per run after %ld of warm-up; %d runs per "
           "configuration, interleaved a,b,c,b'; median. Client pinned to CPU "
           "%d, servers to the other. CPU = client user+system seconds "
           "(getrusage) per 10,000 requests. A run during which other "
           "processes on this shared machine used more than %.2f of a CPU "
           "was run again (%d re-runs; %d runs kept above that after %d "
           "tries).\n\n", requests, warmup, reps, cpu, quiet, reruns, noisy,
           tries);
    printf("| concurrency | configuration | requests/s | client CPU s per "
           "10k | failed |\n|---|---|---|---|---|\n");
    for (int k = 0; k < nconc; k++)
        for (int mode = 0; mode < NMODES; mode++)
            printf("| %ld | %s | %.0f | %.3f | %ld |\n", conc[k], names[mode],
                   median(rps[k][mode], reps), median(cpu10k[k][mode], reps),
                   errors[k][mode]);
    printf("\nRatios: median over the %d repetitions of the ratio within "
           "each (the configurations of one repetition ran back to back).\n",
           reps);
    printf("\n| concurrency | throughput b/a | throughput b/c | client CPU "
           "per request b/a | throughput b'/a | throughput b'/c | client CPU "
           "per request b'/a |\n|---|---|---|---|---|---|---|\n");
    /* Ratios: the median over repetitions of the ratio within each
     * repetition (a, b, c and b' ran back to back), which a change of the
     * VM's speed between repetitions does not skew. */
    for (int k = 0; k < nconc; k++) {
        double r[6][MAXRUNS];
        for (int rep = 0; rep < reps; rep++) {
            double a = rps[k][0][rep], ca = cpu10k[k][0][rep];
            r[0][rep] = rps[k][1][rep] / a;
            r[1][rep] = rps[k][1][rep] / rps[k][2][rep];
            r[2][rep] = cpu10k[k][1][rep] / ca;
            r[3][rep] = rps[k][3][rep] / a;
            r[4][rep] = rps[k][3][rep] / rps[k][2][rep];
            r[5][rep] = cpu10k[k][3][rep] / ca;
        }
        printf("| %ld | %.3f | %.2f | %.3f | %.3f | %.2f | %.3f |\n", conc[k],
               median(r[0], reps), median(r[1], reps), median(r[2], reps),
               median(r[3], reps), median(r[4], reps), median(r[5], reps));
    }
    printf("\nAll runs (requests/s; client CPU s/10k, of which user space "
           "(the kernel splits user/system by ticks: indicative only); other "
           "processes' load in CPUs):\n\n");
    for (int k = 0; k < nconc; k++)
        for (int mode = 0; mode < NMODES; mode++) {
            printf("- c=%ld %s:", conc[k], names[mode]);
            for (int rep = 0; rep < reps; rep++)
                printf(" %.0f (%.3f, %.3f; %.2f)", rps[k][mode][rep],
                       cpu10k[k][mode][rep], user10k[k][mode][rep],
                       others[k][mode][rep]);
            printf("\n");
        }
    printf("\n");
    fflush(stdout);
    long total = 0;
    for (int k = 0; k < nconc; k++)
        for (int mode = 0; mode < NMODES; mode++)
            total += errors[k][mode];
    return total ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Parts 3 and 4: connections and spread, counted by the servers             */
/* ------------------------------------------------------------------------ */

/* What nginx logged (see run.sh: one line for the first request of every
 * connection and for every request carrying X-Bench-Log). */
struct srv_counts {
    long reqs[MAXNODE + 1];   /* POSTs carrying X-Bench-Log */
    long conns[MAXNODE + 1];  /* connections accepted that served a request */
    long refresh_conns[MAXNODE + 1]; /* ... whose first was /localnodes */
};

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

static void read_log(const char *path, long from, int port,
                     struct srv_counts *c)
{
    memset(c, 0, sizeof *c);
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot open the nginx log");
    fseek(f, from, SEEK_SET);
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char addr[64], method[16], uri[256], hdr[16];
        int p;
        unsigned long conn, nreq;
        if (sscanf(line, "%63s %d %lu %lu %15s %255s %15s", addr, &p, &conn,
                   &nreq, method, uri, hdr) != 7 || p != port)
            continue;
        struct in_addr in;
        if (inet_pton(AF_INET, addr, &in) != 1)
            continue;
        uint32_t ip = ntohl(in.s_addr);
        int x = (int)(ip & 0xff);
        if ((ip >> 8) != 0x7f0000 || x < 1 || x > MAXNODE)
            continue;
        if (nreq == 1) {
            c->conns[x]++;
            if (strncmp(uri, "/localnodes", 11) == 0)
                c->refresh_conns[x]++;
        }
        if (strcmp(method, "POST") == 0 && strcmp(hdr, "1") == 0)
            c->reqs[x]++;
    }
    fclose(f);
}

/* nginx writes a log line after it has sent the answer: wait for them. */
static void wait_log(const char *path, long from, int port, long expect,
                     struct srv_counts *c)
{
    uint64_t until = now_ns() + 5000000000u;
    for (;;) {
        read_log(path, from, port, c);
        long total = 0;
        for (int i = 1; i <= MAXNODE; i++)
            total += c->reqs[i];
        if (total >= expect || now_ns() > until)
            break;
        sleep_ms(20);
    }
    sleep_ms(100); /* any straggling connection line */
    read_log(path, from, port, c);
}

struct conns_row {
    char mode[24];
    int nodes, conc;
    long requests, failed;
    long conns, refresh_conns, client_conns;
    long reqs[MAXNODE + 1], node_conns[MAXNODE + 1];
    double secs;
};

static void print_conns(const struct conns_row *r)
{
    long mn = LONG_MAX, mx = 0, total = 0;
    for (int i = 1; i <= r->nodes; i++) {
        if (r->reqs[i] < mn)
            mn = r->reqs[i];
        if (r->reqs[i] > mx)
            mx = r->reqs[i];
        total += r->reqs[i];
    }
    long bound = (long)r->nodes * r->conc;
    printf("| %s | %d | %d | %ld | %ld | %ld | %ld | %ld | %s | %ld..%ld | "
           "%.4f | %ld |\n", r->mode, r->nodes, r->conc, total,
           r->conns - r->refresh_conns, r->refresh_conns, r->client_conns,
           bound, r->conns - r->refresh_conns <= bound ? "yes" : "**NO**",
           mn, mx, mn ? (double)mx / (double)mn : 0.0, r->failed);
}

static int cmd_conns(int argc, char **argv)
{
    const char *log = arg(argc, argv, "log", NULL);
    long requests = arg_long(argc, argv, "requests", 20000);
    long conc[8];
    int nconc = parse_list(arg(argc, argv, "conc", "8,64"), conc, 8);
    const char *ports = arg(argc, argv, "ports", NULL);
    if (!log || !ports)
        die("conns: log= and ports= needed");
    int nn[8], pp[8], nsets = 0;
    for (const char *s = ports; s && *s && nsets < 8;) {
        if (sscanf(s, "%d:%d", &nn[nsets], &pp[nsets]) != 2
            || nn[nsets] < 1 || nn[nsets] > MAXNODE)
            die("conns: ports=N:PORT,...");
        nsets++;
        s = strchr(s, ',');
        if (s)
            s++;
    }

    static struct conns_row rows[128];
    int nrows = 0, bad = 0;
    for (int s = 0; s < nsets; s++)
        for (int v = 0; v <= 2 * nconc; v++) {
            /* v < nconc: multi from a cold start; v < 2 nconc: multi after
             * a first blocking discovery; v == 2 nconc: easy mode */
            int k = v % nconc;
            bool easy = v == 2 * nconc, warm = v >= nconc && !easy;
            struct conns_row *row = &rows[nrows++];
            memset(row, 0, sizeof *row);
            struct tracker track;
            memset(&track, 0, sizeof track);
            struct loop L;
            memset(&L, 0, sizeof L);
            L.lb = node_lb(pp[s]);
            L.measure = requests;
            L.exact = true;
            L.log_header = true;
            L.track = &track;
            long from = file_size(log);
            if (!easy) {
                L.conc = (int)conc[k];
                snprintf(row->mode, sizeof row->mode, "%s",
                         warm ? "multi, warm" : "multi");
                if (warm && alt_lb_refresh(L.lb) != ALT_OK)
                    die("discovery failed");
                run_multi(&L);
            } else {
                /* Easy mode as documented: a first blocking discovery, then
                 * the background thread keeps the list fresh. */
                L.conc = 1;
                snprintf(row->mode, sizeof row->mode, "easy");
                if (alt_lb_refresh(L.lb) != ALT_OK || alt_lb_start(L.lb) != ALT_OK)
                    die("easy mode: discovery or thread failed");
                run_easy(&L);
                alt_lb_stop(L.lb);
            }
            size_t live = alt_lb_nodes(L.lb, NULL, 0);
            alt_lb_free(L.lb); /* closes the library's own connections */
            if (live != (size_t)nn[s])
                fprintf(stderr, "alt_bench: rotation had %zu nodes, not %d\n",
                        live, nn[s]);
            struct srv_counts c;
            wait_log(log, from, pp[s], L.completed, &c);
            row->nodes = nn[s];
            row->conc = L.conc;
            row->requests = L.completed;
            row->failed = L.failed;
            row->secs = L.secs;
            for (int i = 1; i <= MAXNODE; i++) {
                row->conns += c.conns[i];
                row->refresh_conns += c.refresh_conns[i];
                row->client_conns += track.connects[i];
                row->reqs[i] = c.reqs[i];
                row->node_conns[i] = c.conns[i];
                if (i > nn[s] && (c.reqs[i] || c.conns[i]))
                    bad++; /* a node outside the cluster got traffic */
            }
            if (L.failed)
                fprintf(stderr, "alt_bench: %s %d nodes: %ld failed: %s\n",
                        row->mode, nn[s], L.failed, L.first_error);
            fprintf(stderr, "  %-11s nodes=%-2d c=%-2d %ld requests in %.2f s, "
                    "%ld connections\n", row->mode, nn[s], L.conc,
                    L.completed, L.secs, row->conns);
        }

    printf("### 3. Connections, and 4. spread, counted by the servers\n\n");
    printf("%ld requests per run. \"multi\": a curl multi loop from a cold "
           "start (the first discovery runs in the loop, so the first "
           "requests all go to the seed, 127.0.0.1); \"multi, warm\": the "
           "same after a blocking alt_lb_refresh(); \"easy\": "
           "alt_curl_perform() on one handle after alt_lb_refresh(), with "
           "the background refresh thread. \"caller conns\" = TCP connections nginx accepted "
           "whose first request was a DynamoDB POST; \"refresh conns\" = "
           "those whose first request was the library's /localnodes; "
           "\"client opened\" = the caller handles' connects seen by "
           "CURLOPT_OPENSOCKETFUNCTION (cross-check). Bound = nodes x "
           "concurrency. Spread = max/min of the POSTs each node served.\n\n",
           requests);
    printf("| mode | nodes | concurrency | requests served | caller conns | "
           "refresh conns | client opened | bound | within | requests per "
           "node min..max | spread max/min | failed |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < nrows; i++)
        print_conns(&rows[i]);
    printf("\nRequests per node (4. spread), and connections per node "
           "(all, refresh included):\n\n");
    for (int i = 0; i < nrows; i++) {
        printf("- %s, %d nodes, c=%d:", rows[i].mode, rows[i].nodes,
               rows[i].conc);
        for (int n = 1; n <= rows[i].nodes; n++)
            printf(" %ld", rows[i].reqs[n]);
        printf("; connections per node:");
        for (int n = 1; n <= rows[i].nodes; n++)
            printf(" %ld", rows[i].node_conns[n]);
        printf("\n");
    }
    printf("\n");
    if (bad)
        printf("**%d runs sent traffic to an address outside the cluster.**\n\n",
               bad);
    fflush(stdout);
    long failed = 0;
    for (int i = 0; i < nrows; i++)
        failed += rows[i].failed;
    return bad || failed ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Part 5: failover                                                          */
/* ------------------------------------------------------------------------ */

static int cmd_failover(int argc, char **argv)
{
    int port = (int)arg_long(argc, argv, "port", 0);
    const char *mode = arg(argc, argv, "mode", "multi");
    double before = (double)arg_long(argc, argv, "before", 3);
    double after = (double)arg_long(argc, argv, "after", 8);
    int conc = (int)arg_long(argc, argv, "conc", 8);
    long pids[3];
    if (!port || parse_list(arg(argc, argv, "pids", ""), pids, 3) != 3)
        die("failover: port= and pids=P1,P2,P3 needed");

    static struct tracker track;
    memset(&track, 0, sizeof track);
    track.watch = 3; /* 127.0.0.3 is killed */
    struct loop L;
    memset(&L, 0, sizeof L);
    L.lb = node_lb(port);
    L.duration_s = before + after;
    L.kill_at_s = before;
    L.kill_pid = (pid_t)pids[2];
    L.track = &track;
    bool easy = strcmp(mode, "easy") == 0;
    if (easy) {
        L.conc = 1;
        if (alt_lb_refresh(L.lb) != ALT_OK || alt_lb_start(L.lb) != ALT_OK)
            die("easy mode: discovery or thread failed");
        run_easy(&L);
        alt_lb_stop(L.lb);
    } else {
        L.conc = conc;
        L.writes = strcmp(mode, "writes") == 0;
        run_multi(&L);
    }
    alt_lb_free(L.lb);

    /* The first burst ends at the first gap of 300 ms without an attempt;
     * attempts after it are the back-off probes. */
    int burst = 0;
    while (burst < track.nstamps
           && (burst == 0 || track.stamps[burst] - track.stamps[burst - 1] < 0.3))
        burst++;
    if (arg_long(argc, argv, "header", 0)) {
        printf("### 5. Failover: 3 nodes, 127.0.0.3 SIGKILLed after %.0f s "
               "of load, %.0f s more\n\n", before, after);
        printf("multi = curl multi loop at concurrency %d, requests marked "
               "ALT_IDEMPOTENT (reads), failures sent elsewhere with "
               "alt_curl_retry; writes = the same loop without ALT_IDEMPOTENT "
               "(a request the dead node may have received fails rather "
               "than being sent twice); easy = alt_curl_perform_ex(reads) on "
               "one handle with the background refresh thread. /localnodes on "
               "the survivors keeps listing the dead node (worst case). "
               "Attempts = connections the caller's handles tried to open to "
               "the dead node after the kill; retries = alt_curl_retry "
               "calls that sent a request elsewhere.\n\n", conc);
        printf("| mode | requests ok | failed | failures at (s after kill) | "
               "retries | attempts on dead node | first burst: "
               "attempts, last at | later attempts at (s after kill) |\n"
               "|---|---|---|---|---|---|---|---|\n");
    }
    printf("| %s | %ld | %ld |", mode, L.ok, L.failed);
    for (int i = 0; i < L.nfail_at; i++)
        printf(" %.3f", L.fail_at[i]);
    if (L.failed_after_kill > L.nfail_at)
        printf(" ...");
    if (L.failed > L.failed_after_kill)
        printf(" (%ld before the kill)", L.failed - L.failed_after_kill);
    printf(" | %ld | %d | %d, %.1f ms |", L.retried, track.nstamps, burst,
           burst ? track.stamps[burst - 1] * 1000 : 0.0);
    for (int i = burst; i < track.nstamps && i < burst + 12; i++)
        printf(" %.3f", track.stamps[i]);
    if (track.nstamps > burst + 12)
        printf(" ...");
    printf(" |\n");
    if (L.failed)
        fprintf(stderr, "  failover %s: first error: %s\n", mode,
                L.first_error);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: alt_bench prepare|throughput|conns|failover "
                "[key=value...]\n(run them all with test/bench/run.sh)\n");
        return 2;
    }
    bench_init("alt_bench", 2, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        die("curl_global_init");
    int rc;
    if (strcmp(argv[1], "prepare") == 0)
        rc = cmd_prepare(argc, argv);
    else if (strcmp(argv[1], "throughput") == 0)
        rc = cmd_throughput(argc, argv);
    else if (strcmp(argv[1], "conns") == 0)
        rc = cmd_conns(argc, argv);
    else if (strcmp(argv[1], "failover") == 0)
        rc = cmd_failover(argc, argv);
    else
        die("unknown subcommand");
    curl_global_cleanup();
    return rc;
}
