/*
 * Blame only the node, and recover (issue 7, C9 and C10).
 *
 * C9: trouble on the client's side is no node's fault:
 *  - transfers that time out while queued behind
 *    CURLMOPT_MAX_TOTAL_CONNECTIONS take no node out of rotation (those
 *    that got a connection and timed out waiting for the answer may: a
 *    node that does not answer in time is at fault);
 *  - nor do transfers that time out because the caller's multi loop
 *    stopped calling libcurl for a while (before they started, or while
 *    they were in flight);
 *  - nor do local errors: out of file descriptors (setrlimit +
 *    dup until EMFILE), through alt_curl_perform, through a multi, and in
 *    the library's own /localnodes transfer; once fds are back, every node
 *    answers at once;
 *  - the pools the library sizes stay within RLIMIT_NOFILE: 60 nodes,
 *    8 transfers at once and a limit of 256 fds run 2000 requests with no
 *    failure and no node out.
 * C10: after a blip where every node failed, traffic returns to every node
 * without alt_lb_refresh() (easy mode with no thread, with the background
 * thread, in a multi loop), and one refresh probes every node whose
 * back-off is over.
 *
 * A node taken out of rotation is seen in alt_lb_nodes() and in the log
 * ("node X failed (N in a row)"); which node answered in
 * CURLINFO_PRIMARY_IP and the cluster's per-node counters; whether a
 * transfer got a connection in an CURLOPT_OPENSOCKETFUNCTION.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define CMD(c, ...) REQUIRE(tc_cmd((c), NULL, 0, __VA_ARGS__) == 0)

/* The log line of a node taken out of (or kept in) rotation after a
 * fault: "node 127.0.0.2 failed (1 in a row): ...". */
#define FAULT " failed ("

static tc_cluster *cl3; /* 3 nodes */

/* ------------------------------------------------------------- helpers */

static alt_lb *new_lb(tc_cluster *c, int nodes)
{
    alt_lb *lb = tu_lb(tc_port(c), 1, 1);
    REQUIRE(alt_lb_set_logger(lb, tu_capture_log, NULL, ALT_LOG_DEBUG)
            == ALT_OK);
    REQUIRE(alt_lb_set_discovery_timeout(lb, 500, 1000) == ALT_OK);
    /* Nodes are slowed here only to keep requests waiting; which nodes get
     * traffic afterwards is checked in round-robin order (the load-aware
     * choice would rightly avoid a node still estimated slow). */
    REQUIRE(alt_lb_set_choice(lb, ALT_CHOICE_ROUND_ROBIN) == ALT_OK);
    /* The documented startup: spread from the first request. */
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    REQUIRE(alt_lb_nodes(lb, NULL, 0) == (size_t)nodes);
    return lb;
}

/* "verb I rest" for every node I in 1..n. */
static void all_nodes(tc_cluster *c, int n, const char *verb,
                      const char *rest)
{
    for (int i = 1; i <= n; i++)
        CMD(c, "%s %d%s", verb, i, rest);
}

/* Open file descriptors of this process (-1 if none is left to look). */
static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own */
}

/* Field `what` of every node 1..n from one `stats` reply. */
static void stats_all(tc_cluster *c, int n, const char *what, long *out)
{
    static char line[256 * 1024];
    REQUIRE(tc_cmd(c, line, sizeof line, "stats") == 0);
    for (int i = 1; i <= n; i++) {
        char key[32], field[64];
        snprintf(key, sizeof key, "{\"i\":%d,", i);
        snprintf(field, sizeof field, "\"%s\":", what);
        const char *o = strstr(line, key);
        REQUIRE(o != NULL);
        const char *end = strchr(o, '}');
        const char *f = strstr(o, field);
        REQUIRE(f != NULL && end != NULL && f < end);
        out[i] = strtol(f + strlen(field), NULL, 10);
    }
}

/* ---------------------------------------------------- a caller's multi */

typedef struct xfer {
    CURL *e;
    struct curl_slist *h;
    tu_reply r;
    int busy;
    CURLcode res;
    int opened;         /* sockets opened for it (when counted) */
    int node;           /* 127.0.0.<node> answered; 0: none */
    int fresh;          /* ended and not yet looked at */
} xfer;

static curl_socket_t open_sock(void *ud, curlsocktype purpose,
                               struct curl_sockaddr *a)
{
    (void)purpose;
    ((xfer *)ud)->opened++;
    return socket(a->family, a->socktype, a->protocol);
}

static void xfers_init(xfer *xs, int n, int count_opens)
{
    memset(xs, 0, (size_t)n * sizeof *xs);
    for (int k = 0; k < n; k++) {
        xs[k].e = curl_easy_init();
        REQUIRE(xs[k].e != NULL);
        if (count_opens) {
            curl_easy_setopt(xs[k].e, CURLOPT_OPENSOCKETFUNCTION, open_sock);
            curl_easy_setopt(xs[k].e, CURLOPT_OPENSOCKETDATA, &xs[k]);
        }
    }
}

static void xfers_free(alt_lb *lb, xfer *xs, int n)
{
    for (int k = 0; k < n; k++) {
        REQUIRE(!xs[k].busy);
        alt_curl_release(lb, xs[k].e);
        curl_easy_cleanup(xs[k].e);
    }
}

/* A new multi with lb attached. */
static CURLM *attached_multi(alt_lb *lb)
{
    CURLM *m = curl_multi_init();
    REQUIRE(m != NULL);
    REQUIRE(alt_multi_attach(lb, m) == ALT_OK);
    return m;
}

/* The end of a multi test: the n transfers of xs freed, lb detached, the
 * multi and lb freed. */
static void multi_end(alt_lb *lb, CURLM *m, xfer *xs, int n)
{
    xfers_free(lb, xs, n);
    alt_multi_detach(lb);
    curl_multi_cleanup(m);
    alt_lb_free(lb);
}

/* Prepares x for a ListTables (a read) with a per-attempt timeout and adds
 * it to m. */
static void xfer_start(alt_lb *lb, CURLM *m, xfer *x, long timeout_ms)
{
    REQUIRE(!x->busy);
    tu_setup_api(x->e, alt_lb_url(lb), "ListTables", "{}", &x->r, &x->h);
    /* The request timeout through the library, as documented: it knows
     * then when a timeout fired late (a stall, or a wait in the queue). */
    REQUIRE(alt_lb_set_timeouts(lb, timeout_ms, 0) == ALT_OK);
    curl_easy_setopt(x->e, CURLOPT_PRIVATE, x);
    x->opened = 0;
    x->node = 0;
    x->fresh = 0;
    x->res = CURLE_OK;
    CHECK_EQ(alt_curl_prepare_ex(lb, x->e, ALT_IDEMPOTENT), ALT_OK);
    REQUIRE(curl_multi_add_handle(m, x->e) == CURLM_OK);
    x->busy = 1;
}

/* Reads every completion; a failure alt_curl_retry() sends elsewhere goes
 * on. Returns how many transfers ended; *retried counts the retries. */
static int xfers_read(alt_lb *lb, CURLM *m, long *retried)
{
    int ended = 0, left;
    CURLMsg *msg;
    while ((msg = alt_multi_info_read(lb, &left))) {
        REQUIRE(msg->msg == CURLMSG_DONE);
        CURL *e = msg->easy_handle;
        CURLcode res = msg->data.result;
        xfer *x = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)(void *)&x);
        REQUIRE(x != NULL && x->e == e && x->busy);
        curl_multi_remove_handle(m, e);
        if (alt_curl_retry(lb, e, res)) {
            REQUIRE(curl_multi_add_handle(m, e) == CURLM_OK);
            if (retried)
                (*retried)++;
            continue;
        }
        x->res = res;
        tu_collect(e, &x->r);
        int idx = tu_node_index(x->r.ip);
        x->node = res == CURLE_OK && x->r.status == 200 && idx > 0 ? idx : 0;
        curl_slist_free_all(x->h);
        x->h = NULL;
        x->busy = 0;
        x->fresh = 1;
        ended++;
    }
    return ended;
}

static int xfers_busy(const xfer *xs, int n)
{
    int b = 0;
    for (int k = 0; k < n; k++)
        b += xs[k].busy;
    return b;
}

/* One turn of the loop. */
static void turn(alt_lb *lb, CURLM *m, long *retried, int poll_ms)
{
    int running;
    curl_multi_perform(m, &running);
    xfers_read(lb, m, retried);
    curl_multi_poll(m, NULL, 0, poll_ms, NULL);
}

/* Drives m until every transfer of xs ended (bounded by max_ms). */
static void xfers_finish(alt_lb *lb, CURLM *m, xfer *xs, int n, long max_ms,
                         long *retried)
{
    long long deadline = tu_now_ms() + max_ms;
    while (xfers_busy(xs, n)) {
        REQUIRE(tu_now_ms() < deadline);
        turn(lb, m, retried, 10);
    }
}

/* Starts n transfers with timeout_ms and drives them to their end; the
 * number that succeeded, per node into seen[1..]. */
static int multi_batch(alt_lb *lb, CURLM *m, xfer *xs, int n, long timeout_ms,
                       int *seen)
{
    for (int k = 0; k < n; k++)
        xfer_start(lb, m, &xs[k], timeout_ms);
    xfers_finish(lb, m, xs, n, 10000, NULL);
    int ok = 0;
    for (int k = 0; k < n; k++) {
        xs[k].fresh = 0; /* looked at */
        if (xs[k].node) {
            ok++;
            if (seen)
                seen[xs[k].node]++;
        }
    }
    return ok;
}

/* n ListTables through alt_curl_perform on e; successes per node into
 * seen[1..]. */
static int easy_batch(alt_lb *lb, CURL *e, int n, int *seen)
{
    int ok = 0;
    for (int k = 0; k < n; k++) {
        tu_reply r;
        if (tu_list_tables(lb, e, &r) == CURLE_OK && r.status == 200) {
            ok++;
            int idx = tu_node_index(r.ip);
            if (seen && idx > 0)
                seen[idx]++;
        }
    }
    return ok;
}

static int nodes_seen(const int *seen, int n)
{
    int k = 0;
    for (int i = 1; i <= n; i++)
        k += seen[i] > 0;
    return k;
}

/* ------------------------------------------------ C9: queued timeouts */

/* 12 transfers with a 200 ms timeout on a multi that allows 2 connections
 * in all, every node answering in 300 ms: all time out. blockers: 2
 * transfers with a long timeout are added first and hold both connections
 * for 300 ms, so that none of the 12 ever gets one: no node may be blamed.
 * Otherwise the first two added get a connection, send, and time out
 * waiting for the answer: only those may count against a node. Returns
 * the lb, still attached to *mp. */
static alt_lb *queue_behind(int blockers, CURLM **mp)
{
    alt_lb *lb = new_lb(cl3, 3);
    CURLM *m = curl_multi_init();
    REQUIRE(m != NULL);
    REQUIRE(curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, 2L)
            == CURLM_OK);
    REQUIRE(alt_multi_attach(lb, m) == ALT_OK);
    enum { N = 12, B = 2 };
    xfer xs[N + B];
    xfers_init(xs, N + B, 1);

    all_nodes(cl3, 3, "slow", " 300");
    tu_log_reset();
    long long t0 = tu_now_ms();
    if (blockers)
        for (int k = N; k < N + B; k++)
            xfer_start(lb, m, &xs[k], 5000);
    for (int k = 0; k < N; k++)
        xfer_start(lb, m, &xs[k], 200);
    long retried = 0;
    xfers_finish(lb, m, xs, blockers ? N + B : N, 10000, &retried);
    int timedout = 0, queued = 0;
    for (int k = 0; k < N; k++) {
        long size = 0;
        curl_easy_getinfo(xs[k].e, CURLINFO_REQUEST_SIZE, &size);
        timedout += xs[k].res == CURLE_OPERATION_TIMEDOUT;
        queued += xs[k].opened == 0 && size == 0;
    }
    size_t in = alt_lb_nodes(lb, NULL, 0);
    int faults = tu_log_count(FAULT);
    fprintf(stderr, "  12 transfers (timeout 200 ms) %s, 2 connections, "
                    "nodes answer in 300 ms: %d timed out, %d never opened "
                    "a connection nor sent, in %lld ms; %ld retried; nodes "
                    "in rotation %zu, node faults logged %d\n",
            blockers ? "behind 2 long ones" : "alone", timedout, queued,
            tu_now_ms() - t0, retried, in, faults);
    if (faults)
        tu_log_dump();
    CHECK_EQ(timedout, N);
    CHECK_EQ(retried, 0);
    if (blockers) {
        CHECK_EQ(xs[N].node > 0 && xs[N + 1].node > 0, 1);
        CHECK_EQ(queued, N);
        CHECK_EQ(in, 3);
        CHECK_EQ(faults, 0);
    } else {
        /* How many got a slot depends on timing (libcurl hands the two
         * connections on as transfers time out); only those may count. */
        CHECK(faults <= N - queued);
    }
    all_nodes(cl3, 3, "slow", " 0");
    xfers_free(lb, xs, N + B);
    *mp = m;
    return lb;
}

static void queued_timeouts(void)
{
    CURLM *m;
    alt_lb *lb = queue_behind(0, &m);
    multi_end(lb, m, NULL, 0);

    lb = queue_behind(1, &m);
    /* The same multi, the nodes fast again: requests succeed on every
     * node at once. */
    enum { N = 12 };
    xfer xs[N];
    xfers_init(xs, N, 0);
    int seen[4] = {0};
    int ok = multi_batch(lb, m, xs, N, 5000, seen);
    fprintf(stderr, "  then, nodes fast: %d of 12 ok, per node %d/%d/%d\n",
            ok, seen[1], seen[2], seen[3]);
    CHECK_EQ(ok, N);
    CHECK_EQ(nodes_seen(seen, 3), 3);
    CHECK_EQ(tu_log_count(FAULT), 0);
    multi_end(lb, m, xs, N);
}

/* ------------------------------------------------- C9: a stalled loop */

/* 8 transfers with a 500 ms timeout; the loop stops calling libcurl for
 * 1.5 s, then goes on. mid_flight: the transfers were driven until they
 * were waiting for their answers (nodes answer in 300 ms); otherwise
 * they were only added. */
static void stall_once(int mid_flight)
{
    alt_lb *lb = new_lb(cl3, 3);
    CURLM *m = attached_multi(lb);
    enum { N = 8 };
    xfer xs[N];
    xfers_init(xs, N, 1);
    /* Warm: a connection to every node in the multi's pool. */
    REQUIRE(multi_batch(lb, m, xs, N, 5000, NULL) == N);

    if (mid_flight)
        all_nodes(cl3, 3, "slow", " 300");
    tu_log_reset();
    for (int k = 0; k < N; k++)
        xfer_start(lb, m, &xs[k], 500);
    int sent = 0;
    if (mid_flight) {
        /* Until every request went out (bounded). */
        long long deadline = tu_now_ms() + 250;
        while (tu_now_ms() < deadline) {
            turn(lb, m, NULL, 10);
            sent = 0;
            for (int k = 0; k < N; k++) {
                long size = 0;
                curl_easy_getinfo(xs[k].e, CURLINFO_REQUEST_SIZE, &size);
                sent += size > 0;
            }
            if (sent == N)
                break;
        }
        CHECK_EQ(sent, N);
        CHECK_EQ(xfers_busy(xs, N), N);
    }
    long long t_stall = tu_now_ms();
    tu_sleep_ms(1500); /* the program "did something else" */
    long retried = 0;
    xfers_finish(lb, m, xs, N, 10000, &retried);
    int timedout = 0, ok = 0;
    for (int k = 0; k < N; k++) {
        timedout += xs[k].res == CURLE_OPERATION_TIMEDOUT;
        ok += xs[k].node > 0;
    }
    size_t in = alt_lb_nodes(lb, NULL, 0);
    int faults = tu_log_count(FAULT);
    fprintf(stderr, "  stall of 1.5 s %s: %d timed out, %d ok, %ld retried, "
                    "all ended %lld ms after the stall began; nodes in "
                    "rotation %zu, node faults logged %d\n",
            mid_flight ? "with the requests sent" : "right after adding",
            timedout, ok, retried, tu_now_ms() - t_stall, in, faults);
    if (faults)
        tu_log_dump();
    /* Sent, then left unread for three times their timeout: they all
     * time out. Only added: libcurl starts their clock when first driven
     * (7.88, 8.21), so they may well succeed; either way no blame. */
    if (mid_flight)
        CHECK_EQ(timedout, N);
    CHECK_EQ(timedout + ok, N);
    CHECK_EQ(in, 3);
    CHECK_EQ(faults, 0);

    if (mid_flight)
        all_nodes(cl3, 3, "slow", " 0");
    int seen[4] = {0};
    CHECK_EQ(multi_batch(lb, m, xs, N, 5000, seen), N);
    CHECK_EQ(nodes_seen(seen, 3), 3);

    multi_end(lb, m, xs, N);
}

static void stalled_loop_not_driven(void)
{
    stall_once(0);
}

static void stalled_loop_mid_flight(void)
{
    stall_once(1);
}

/* ------------------------------------------ C9: out of file descriptors */

#define MAX_DUPS 4096

static struct rlimit saved_limit;

static void limit_fds(rlim_t n)
{
    REQUIRE(getrlimit(RLIMIT_NOFILE, &saved_limit) == 0);
    struct rlimit rl = saved_limit;
    REQUIRE(rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= n);
    rl.rlim_cur = n;
    REQUIRE(setrlimit(RLIMIT_NOFILE, &rl) == 0);
}

static void restore_fds(void)
{
    REQUIRE(setrlimit(RLIMIT_NOFILE, &saved_limit) == 0);
}

/* Opens descriptors until EMFILE; how many, into fds. */
static int exhaust_fds(int *fds)
{
    int n = 0;
    for (;;) {
        REQUIRE(n < MAX_DUPS);
        int fd = dup(STDERR_FILENO);
        if (fd < 0) {
            REQUIRE(errno == EMFILE);
            return n;
        }
        fds[n++] = fd;
    }
}

static void close_fds(int *fds, int n)
{
    for (int k = 0; k < n; k++)
        close(fds[k]);
}

/* "/localnodes from 127.0.0.<i> failed: ..." lines in the log. */
static int localnodes_failures(void)
{
    int n = 0;
    for (int i = 1; i <= 3; i++) {
        char needle[64];
        snprintf(needle, sizeof needle, "/localnodes from 127.0.0.%d failed",
                 i);
        n += tu_log_count(needle);
    }
    return n;
}

static int local_failure(CURLcode rc)
{
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_OUT_OF_MEMORY;
}

static void fd_exhaustion(void)
{
    alt_lb *lb = new_lb(cl3, 3);
    /* Refreshes due every 50 ms from this one on. */
    REQUIRE(alt_lb_set_refresh_interval(lb, 50, 60000) == ALT_OK);
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    /* Handles and the multi are made while descriptors are there (a multi
     * holds a wake-up pair; a used easy handle keeps its own multi). */
    CURL *e = curl_easy_init();
    REQUIRE(e != NULL);
    int seen[4] = {0};
    REQUIRE(easy_batch(lb, e, 3, seen) == 3);
    CURLM *m = attached_multi(lb);
    enum { N = 4 };
    xfer xs[N];
    xfers_init(xs, N, 0);

    int before = count_fds();
    REQUIRE(before > 0 && before < 100);
    limit_fds(128);
    static int fds[MAX_DUPS];
    int nfds = exhaust_fds(fds);
    tu_log_reset();

    /* Easy mode: fresh connections are needed and cannot be made. */
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    CURLcode easy_rc[3];
    int easy_local = 0;
    for (int k = 0; k < 3; k++) {
        tu_reply r;
        easy_rc[k] = tu_list_tables(lb, e, &r);
        easy_local += local_failure(easy_rc[k]);
    }
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 0L);
    /* A handle never used before (libcurl may need descriptors for its
     * own multi first). */
    CURL *e2 = curl_easy_init();
    CURLcode new_rc = CURLE_FAILED_INIT;
    if (e2) {
        tu_reply r;
        new_rc = tu_list_tables(lb, e2, &r);
    }

    /* A multi with an empty pool: the caller's transfers and the library's
     * /localnodes transfer (due every 50 ms here) fail alike. */
    long retried = 0;
    int batches = 0, multi_local = 0, multi_total = 0;
    long long deadline = tu_now_ms() + 3000;
    for (;;) {
        for (int k = 0; k < N; k++)
            xfer_start(lb, m, &xs[k], 2000);
        xfers_finish(lb, m, xs, N, 10000, &retried);
        for (int k = 0; k < N; k++)
            multi_local += local_failure(xs[k].res);
        multi_total += N;
        batches++;
        if (localnodes_failures() > 0 || batches == 100
            || tu_now_ms() > deadline)
            break;
        curl_multi_poll(m, NULL, 0, 20, NULL);
    }

    int ln_multi = localnodes_failures();
    /* A blocking refresh: the nodes it has no pooled connection to fail. */
    alt_code refresh_rc = alt_lb_refresh(lb);
    int ln_refresh = localnodes_failures() - ln_multi;

    size_t in = alt_lb_nodes(lb, NULL, 0);
    int faults = tu_log_count(FAULT);
    close_fds(fds, nfds);
    long long t_back = tu_now_ms();

    fprintf(stderr, "  %d fds open, limit 128, %d more opened until EMFILE\n",
            before, nfds);
    fprintf(stderr, "  alt_curl_perform: %s / %s / %s; on a new handle: %s\n",
            curl_easy_strerror(easy_rc[0]), curl_easy_strerror(easy_rc[1]),
            curl_easy_strerror(easy_rc[2]), curl_easy_strerror(new_rc));
    fprintf(stderr, "  multi: %d of %d failed locally (%s) in %d "
                    "batch(es), %ld retried; alt_lb_refresh: %s\n",
            multi_local, multi_total, curl_easy_strerror(xs[0].res), batches,
            retried, alt_strerror(refresh_rc));
    fprintf(stderr, "  /localnodes attempts failed: %d in the multi, %d in "
                    "alt_lb_refresh; nodes in rotation %zu, node faults "
                    "logged %d\n", ln_multi, ln_refresh, in, faults);
    if (faults)
        tu_log_dump();
    CHECK_EQ(easy_local, 3);
    CHECK(new_rc != CURLE_OK);
    CHECK_EQ(multi_local, multi_total);
    CHECK_EQ(in, 3);
    CHECK_EQ(faults, 0);
    /* The library's own transfer was tried under the limit, and failed. */
    CHECK(ln_multi >= 1);

    /* Descriptors back: every node answers at once, no back-off. */
    memset(seen, 0, sizeof seen);
    int ok_easy = easy_batch(lb, e, 3, seen);
    int easy_nodes = nodes_seen(seen, 3);
    memset(seen, 0, sizeof seen);
    int ok_multi = multi_batch(lb, m, xs, N, 5000, seen);
    int multi_nodes = nodes_seen(seen, 3);
    long long dt = tu_now_ms() - t_back;
    fprintf(stderr, "  fds closed: easy %d/3 ok on %d nodes, multi %d/%d ok "
                    "on %d nodes, in %lld ms\n", ok_easy, easy_nodes,
            ok_multi, N, multi_nodes, dt);
    CHECK_EQ(ok_easy, 3);
    CHECK_EQ(easy_nodes, 3);
    CHECK_EQ(ok_multi, N);
    CHECK_EQ(multi_nodes, 3);
    CHECK(dt < 1000); /* a node out would have had a 1 s back-off */
    restore_fds();

    if (e2) {
        alt_curl_release(lb, e2);
        curl_easy_cleanup(e2);
    }
    alt_curl_release(lb, e);
    curl_easy_cleanup(e);
    multi_end(lb, m, xs, N);
}

/* ------------------------------ C9: pools bounded by the fd limit */

static void pool_within_fd_limit(void)
{
    enum { NODES = 60, CONC = 8, TOTAL = 2000 };
    long long t_start = tu_now_ms();
    tc_cluster *c = tu_cluster("--nodes 60");
    alt_lb *lb = new_lb(c, NODES);
    fprintf(stderr, "  60-node cluster up and discovered in %lld ms\n",
            tu_now_ms() - t_start);
    REQUIRE(tc_cmd(c, NULL, 0, "reset") == 0);
    CURLM *m = attached_multi(lb);
    xfer xs[CONC];
    xfers_init(xs, CONC, 0);
    limit_fds(256);
    tu_log_reset();

    static long per_node[NODES + 1];
    memset(per_node, 0, sizeof per_node);
    long started = 0, ended = 0, failed = 0, retried = 0;
    int max_fds = 0, fd_looks = 0, fd_blind = 0;
    CURLcode first_failure = CURLE_OK;
    long long t0 = tu_now_ms();
    while (ended < TOTAL) {
        REQUIRE(tu_now_ms() - t0 < 30000);
        for (int k = 0; k < CONC && started < TOTAL; k++)
            if (!xs[k].busy) {
                xfer_start(lb, m, &xs[k], 5000);
                started++;
            }
        int running;
        curl_multi_perform(m, &running);
        xfers_read(lb, m, &retried);
        for (int k = 0; k < CONC; k++) {
            if (!xs[k].fresh)
                continue;
            xs[k].fresh = 0;
            if (xs[k].node >= 1 && xs[k].node <= NODES)
                per_node[xs[k].node]++;
            else {
                failed++;
                if (first_failure == CURLE_OK)
                    first_failure = xs[k].res;
            }
            ended++;
        }
        /* Every 20 requests, the descriptors open. */
        if (fd_looks * 20 <= ended) {
            int f = count_fds();
            fd_looks++;
            if (f < 0)
                fd_blind++;
            else if (f > max_fds)
                max_fds = f;
        }
        curl_multi_poll(m, NULL, 0, 20, NULL);
    }
    long long dt = tu_now_ms() - t0;
    size_t in = alt_lb_nodes(lb, NULL, 0);
    int faults = tu_log_count(FAULT);
    long lo = TOTAL, hi = 0;
    for (int i = 1; i <= NODES; i++) {
        lo = per_node[i] < lo ? per_node[i] : lo;
        hi = per_node[i] > hi ? per_node[i] : hi;
    }
    static long conns[NODES + 1], open_now[NODES + 1];
    stats_all(c, NODES, "conns", conns);
    stats_all(c, NODES, "open", open_now);
    long conns_sum = 0, open_sum = 0, conns_hi = 0;
    for (int i = 1; i <= NODES; i++) {
        conns_sum += conns[i];
        open_sum += open_now[i];
        conns_hi = conns[i] > conns_hi ? conns[i] : conns_hi;
    }
    fprintf(stderr, "  60 nodes, %d at once, fd limit 256: %ld requests in "
                    "%lld ms, %ld failed (first: %s), %ld retried; nodes in "
                    "rotation %zu, node faults logged %d; per node %ld..%ld\n",
            CONC, ended, dt, failed, curl_easy_strerror(first_failure),
            retried, in, faults, lo, hi);
    fprintf(stderr, "  most fds open at once: %d (%d looks, %d found no fd "
                    "to look with); server side: %ld connections accepted "
                    "(most on one node %ld), %ld open now\n", max_fds,
            fd_looks, fd_blind, conns_sum, conns_hi, open_sum);
    if (faults)
        tu_log_dump();
    CHECK_EQ(ended, TOTAL);
    CHECK_EQ(failed, 0);
    CHECK_EQ(in, NODES);
    CHECK_EQ(faults, 0);
    CHECK_EQ(fd_blind, 0);
    CHECK(max_fds > 0 && max_fds < 256);
    CHECK(lo >= 1); /* every node had its share */
    restore_fds();
    multi_end(lb, m, xs, CONC);
    tc_stop(c);
}

/* ------------------------------------------------ C10: after a blip */

enum { MAXN = 8 };

/* Where the requests after the revival went. */
typedef struct spread {
    int total, window;          /* requests; the last `window` of them */
    int done, ok, failed;
    int per_node[MAXN];         /* all */
    int last[MAXN];             /* the last `window` */
    long long first_ms[MAXN];   /* first answer after the revival; -1 */
    long long t0;               /* the revival */
} spread;

static void spread_init(spread *s, int total, int window)
{
    memset(s, 0, sizeof *s);
    s->total = total;
    s->window = window;
    for (int i = 0; i < MAXN; i++)
        s->first_ms[i] = -1;
    s->t0 = tu_now_ms();
}

static void spread_add(spread *s, int node)
{
    if (node >= 1 && node < MAXN) {
        s->ok++;
        s->per_node[node]++;
        if (s->first_ms[node] < 0)
            s->first_ms[node] = tu_now_ms() - s->t0;
        if (s->done >= s->total - s->window)
            s->last[node]++;
    } else {
        s->failed++;
    }
    s->done++;
}

/* Reports and checks: every node answered again within back_ms, and each
 * took at least 20% of the last window. */
static void spread_check(const spread *s, int nodes, long long back_ms,
                         const char *what)
{
    long long back = 0;
    for (int i = 1; i <= nodes; i++)
        back = s->first_ms[i] < 0 || back < 0 ? -1
               : s->first_ms[i] > back ? s->first_ms[i] : back;
    fprintf(stderr, "  %s: %d requests after the revival in %lld ms, %d "
                    "failed; first answer per node at", what, s->done,
            tu_now_ms() - s->t0, s->failed);
    for (int i = 1; i <= nodes; i++)
        fprintf(stderr, " %lld", s->first_ms[i]);
    fprintf(stderr, " ms; all %d:", s->done);
    for (int i = 1; i <= nodes; i++)
        fprintf(stderr, " %d", s->per_node[i]);
    fprintf(stderr, "; the last %d:", s->window);
    for (int i = 1; i <= nodes; i++)
        fprintf(stderr, " %d", s->last[i]);
    fprintf(stderr, "\n");
    CHECK_EQ(s->done, s->total);
    CHECK_EQ(s->failed, 0);
    CHECK(back >= 0 && back <= back_ms);
    for (int i = 1; i <= nodes; i++)
        CHECK(s->last[i] * 5 >= s->window);
}

/* Waits until request k of a paced run is due: one every PACE_MS after
 * the revival. */
#define PACE_MS 8

static void pace(const spread *s, int k)
{
    long long due = s->t0 + (long long)k * PACE_MS;
    long long now = tu_now_ms();
    if (due > now)
        tu_sleep_ms((long)(due - now));
}

/* Kills all three nodes, sends a few requests (they fail), revives them. */
static void blip(alt_lb *lb, CURL *e)
{
    all_nodes(cl3, 3, "kill", "");
    int failed = 0;
    for (int k = 0; k < 3; k++) {
        tu_reply r;
        failed += tu_list_tables(lb, e, &r) != CURLE_OK;
    }
    size_t in = alt_lb_nodes(lb, NULL, 0);
    int faults = tu_log_count(FAULT);
    all_nodes(cl3, 3, "revive", "");
    fprintf(stderr, "  all 3 killed: %d of 3 requests failed, %d node "
                    "faults logged, %zu node(s) left in rotation; revived\n",
            failed, faults, in);
    CHECK_EQ(failed, 3);
    CHECK(in >= 1);
}

static void easy_paced(alt_lb *lb, CURL *e, spread *s)
{
    long long deadline = s->t0 + 20000;
    for (int k = 0; k < s->total; k++) {
        REQUIRE(tu_now_ms() < deadline);
        pace(s, k);
        tu_reply r;
        CURLcode rc = tu_list_tables(lb, e, &r);
        spread_add(s, rc == CURLE_OK && r.status == 200
                          ? tu_node_index(r.ip) : 0);
    }
}

/* A blip in easy mode (with the background thread or not), then total
 * requests paced after the revival: every node back within back_ms, and
 * a share of the last window each. */
static void blip_easy_mode(int thread, int total, int window,
                           long long back_ms, const char *what)
{
    alt_lb *lb = new_lb(cl3, 3);
    if (thread)
        REQUIRE(alt_lb_start(lb) == ALT_OK);
    CURL *e = curl_easy_init();
    REQUIRE(easy_batch(lb, e, 3, NULL) == 3);
    tu_log_reset();
    blip(lb, e);
    spread s;
    spread_init(&s, total, window);
    easy_paced(lb, e, &s);
    spread_check(&s, 3, back_ms, what);
    CHECK_EQ(alt_lb_nodes(lb, NULL, 0), 3);
    if (thread)
        alt_lb_stop(lb);
    alt_curl_release(lb, e);
    curl_easy_cleanup(e);
    alt_lb_free(lb);
}

/* Easy mode, no thread, no refresh after the first: 400 requests over
 * ~3 s after the revival. */
static void blip_easy(void)
{
    blip_easy_mode(0, 400, 200, 2500, "easy mode");
}

/* The same with the background thread: back within ~2 s. */
static void blip_thread(void)
{
    blip_easy_mode(1, 300, 120, 2000, "easy mode with the thread");
}

/* The same in a multi loop (refreshes inside it), two at a time. */
static void blip_multi(void)
{
    alt_lb *lb = new_lb(cl3, 3);
    CURLM *m = attached_multi(lb);
    enum { CONC = 2 };
    xfer xs[CONC];
    xfers_init(xs, CONC, 0);
    REQUIRE(multi_batch(lb, m, xs, CONC, 5000, NULL) == CONC);
    tu_log_reset();

    all_nodes(cl3, 3, "kill", "");
    int failed = CONC - multi_batch(lb, m, xs, CONC, 5000, NULL);
    failed += CONC - multi_batch(lb, m, xs, CONC, 5000, NULL);
    size_t in = alt_lb_nodes(lb, NULL, 0);
    fprintf(stderr, "  all 3 killed: %d of %d requests failed, %d node "
                    "faults logged, %zu node(s) left in rotation; revived\n",
            failed, 2 * CONC, tu_log_count(FAULT), in);
    CHECK_EQ(failed, 2 * CONC);
    all_nodes(cl3, 3, "revive", "");

    spread s;
    spread_init(&s, 300, 120);
    int started = 0;
    long long deadline = s.t0 + 20000;
    while (s.done < s.total) {
        REQUIRE(tu_now_ms() < deadline);
        for (int k = 0; k < CONC && started < s.total; k++)
            if (!xs[k].busy
                && tu_now_ms() >= s.t0 + (long long)started * PACE_MS) {
                xfer_start(lb, m, &xs[k], 5000);
                started++;
            }
        turn(lb, m, NULL, 2);
        for (int k = 0; k < CONC; k++)
            if (xs[k].fresh) {
                xs[k].fresh = 0;
                if (!xs[k].node)
                    fprintf(stderr, "  request %d failed: %s, status %ld, "
                                    "%lld ms after the revival\n", s.done,
                            curl_easy_strerror(xs[k].res), xs[k].r.status,
                            tu_now_ms() - s.t0);
                spread_add(&s, xs[k].node);
            }
    }
    spread_check(&s, 3, 2000, "multi loop");
    CHECK_EQ(alt_lb_nodes(lb, NULL, 0), 3);
    multi_end(lb, m, xs, CONC);
}

/* 5 nodes, 2 killed and taken out, both revived: once their back-off is
 * over, one alt_lb_refresh() asks both and puts both back. */
static void probes_in_one_refresh(void)
{
    tc_cluster *c = tu_cluster("--nodes 5");
    alt_lb *lb = new_lb(c, 5);
    CURL *e = curl_easy_init();
    REQUIRE(easy_batch(lb, e, 5, NULL) == 5);
    CMD(c, "kill %d", 2);
    CMD(c, "kill %d", 4);
    tu_log_reset();
    int sent = 0;
    long long t0 = tu_now_ms();
    while ((tu_in_rotation(lb, "127.0.0.2") || tu_in_rotation(lb, "127.0.0.4"))
           && sent < 20 && tu_now_ms() - t0 < 5000)
        sent += easy_batch(lb, e, 1, NULL);
    long long t_out = tu_now_ms();
    fprintf(stderr, "  nodes 2 and 4 killed: out of rotation after %d "
                    "requests (all ok), %zu left\n", sent,
            alt_lb_nodes(lb, NULL, 0));
    REQUIRE(!tu_in_rotation(lb, "127.0.0.2"));
    REQUIRE(!tu_in_rotation(lb, "127.0.0.4"));
    CHECK_EQ(alt_lb_nodes(lb, NULL, 0), 3);
    CMD(c, "revive %d", 2);
    CMD(c, "revive %d", 4);

    /* No request meanwhile (a request would take one of them on trial):
     * wait for the back-off to end. */
    while (alt_lb_nodes(lb, NULL, 0) != 5 && tu_now_ms() - t_out < 3000)
        tu_sleep_ms(20);
    long long waited = tu_now_ms() - t_out;
    CHECK_EQ(alt_lb_nodes(lb, NULL, 0), 5);
    CMD(c, "reset");
    tu_log_reset();
    alt_code rc = alt_lb_refresh(lb);
    long asked[6];
    stats_all(c, 5, "localnodes", asked);
    int back2 = tu_log_count("node 127.0.0.2 answers again");
    int back4 = tu_log_count("node 127.0.0.4 answers again");
    fprintf(stderr, "  back-off over %lld ms after: one refresh: %s, "
                    "/localnodes per node %ld/%ld/%ld/%ld/%ld; \"answers "
                    "again\" logged for 2: %d, for 4: %d\n", waited,
            alt_strerror(rc), asked[1], asked[2], asked[3], asked[4],
            asked[5], back2, back4);
    CHECK_EQ(rc, ALT_OK);
    CHECK_EQ(asked[2], 1);
    CHECK_EQ(asked[4], 1);
    CHECK_EQ(back2, 1);
    CHECK_EQ(back4, 1);
    int seen[6] = {0};
    CHECK_EQ(easy_batch(lb, e, 10, seen), 10);
    fprintf(stderr, "  then 10 requests: %d/%d/%d/%d/%d\n", seen[1],
            seen[2], seen[3], seen[4], seen[5]);
    for (int i = 1; i <= 5; i++)
        CHECK_EQ(seen[i], 2);
    alt_curl_release(lb, e);
    curl_easy_cleanup(e);
    alt_lb_free(lb);
    tc_stop(c);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    cl3 = tu_cluster("--nodes 3");
    RUN(queued_timeouts);
    RUN(stalled_loop_not_driven);
    RUN(stalled_loop_mid_flight);
    RUN(fd_exhaustion);
    RUN(pool_within_fd_limit);
    RUN(blip_easy);
    RUN(blip_thread);
    RUN(blip_multi);
    RUN(probes_in_one_refresh);
    tc_stop(cl3);
    curl_global_cleanup();
    return tu_finish();
}
