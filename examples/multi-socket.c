/*
 * multi-socket: the alternator-example requests, several at a time, driven
 * by curl_multi_socket_action() from an epoll loop - the shape of programs
 * built on an event library (libuv, libevent, ...). The load balancer needs
 * nothing special here: when it adds its own discovery request to the multi
 * handle, libcurl announces it through the timer callback like any other.
 * What the program does for it: one alt_lb_refresh() at startup, the
 * completions through alt_multi_info_read() and alt_curl_retry(), and
 * alt_multi_detach() while its event loop still works.
 *
 *   multi-socket [--scheme http|https] [--port PORT] [--requests N]
 *                [--concurrency C] [--fake-domain HOST]
 *                [--credentials KEY:SECRET] [--stats] SEED...
 *
 * Linux (epoll). Exit status 0 only if every request answered 200.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <alternator_lb.h>

#include "print-stats.h"

static void usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "multi-socket: %s\n", msg);
    fprintf(stderr,
            "usage: multi-socket [--scheme http|https] [--port PORT] "
            "[--requests N] [--concurrency C]\n"
            "                    [--fake-domain HOST] "
            "[--credentials KEY:SECRET] [--stats] SEED...\n"
            "  defaults: --scheme http --port 8000 --requests 20 "
            "--concurrency 4\n");
    exit(2);
}

static long number(const char *opt, const char *s, long min, long max)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < min || v > max) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s wants a number from %ld to %ld", opt,
                 min, max);
        usage(msg);
    }
    return v;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The event loop's state. */
struct loop {
    int epfd;
    long long deadline; /* when libcurl wants its timeout action; -1: none */
};

/* CURLMOPT_SOCKETFUNCTION: libcurl says which sockets to watch for what. */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp,
                     void *socketp)
{
    struct loop *loop = userp;
    (void)easy;
    (void)socketp;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(loop->epfd, EPOLL_CTL_DEL, s, NULL);
        return 0;
    }
    struct epoll_event ev = {0};
    ev.data.fd = s;
    if (what & CURL_POLL_IN)
        ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT)
        ev.events |= EPOLLOUT;
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, s, &ev) != 0 && errno == ENOENT)
        epoll_ctl(loop->epfd, EPOLL_CTL_ADD, s, &ev);
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: only remember it; never call libcurl from here. */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct loop *loop = userp;
    (void)multi;
    loop->deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    return 0;
}

/* One transfer slot: an easy handle reused for request after request. */
struct slot {
    CURL *easy;
    long request;
};

static size_t discard(char *data, size_t size, size_t nmemb, void *userdata)
{
    (void)data;
    (void)userdata;
    return size * nmemb;
}

static int start(alt_lb *lb, CURLM *multi, struct slot *s, long request)
{
    s->request = request;
    /* ListTables is a read: ALT_IDEMPOTENT lets alt_curl_retry() send it
     * elsewhere also if a node died after receiving it. */
    if (alt_curl_prepare_ex(lb, s->easy, ALT_IDEMPOTENT) != ALT_OK
        || curl_multi_add_handle(multi, s->easy) != CURLM_OK) {
        printf("request %ld: could not be started\n", request);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *scheme = "http", *fake_domain = NULL, *credentials = NULL;
    int stats = 0;
    long port = 8000, requests = 20, concurrency = 4;
    const char **seeds = calloc((size_t)argc, sizeof *seeds);
    size_t nseeds = 0;
    if (!seeds)
        return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            seeds[nseeds++] = a;
            continue;
        }
        if (strcmp(a, "--help") == 0)
            usage(NULL);
        if (strcmp(a, "--stats") == 0) {
            stats = 1;
            continue;
        }
        if (i + 1 >= argc)
            usage("an option needs a value");
        const char *v = argv[++i];
        if (strcmp(a, "--scheme") == 0)
            scheme = v;
        else if (strcmp(a, "--port") == 0)
            port = number(a, v, 1, 65535);
        else if (strcmp(a, "--requests") == 0)
            requests = number(a, v, 1, 1000000);
        else if (strcmp(a, "--concurrency") == 0)
            concurrency = number(a, v, 1, 1000);
        else if (strcmp(a, "--fake-domain") == 0)
            fake_domain = v;
        else if (strcmp(a, "--credentials") == 0)
            credentials = v;
        else
            usage("unknown option");
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        usage("--scheme must be http or https");
    if (nseeds == 0)
        usage("give at least one SEED node address");

    curl_global_init(CURL_GLOBAL_DEFAULT);

    alt_lb *lb = NULL;
    alt_code rc = alt_lb_new(&lb, scheme, (int)port, seeds, nseeds);
    if (rc == ALT_OK && fake_domain)
        rc = alt_lb_set_fake_domain(lb, fake_domain);
    if (rc == ALT_OK && credentials) {
        char key[256];
        const char *colon = strchr(credentials, ':');
        if (!colon || colon == credentials || colon[1] == '\0'
            || (size_t)(colon - credentials) >= sizeof key)
            usage("--credentials wants KEY:SECRET");
        memcpy(key, credentials, (size_t)(colon - credentials));
        key[colon - credentials] = '\0';
        rc = alt_lb_set_credentials(lb, key, colon + 1, NULL);
    }
    if (rc != ALT_OK) {
        fprintf(stderr, "multi-socket: %s\n", alt_strerror(rc));
        return 2;
    }

    /* A deadline for each whole request, retries included, and a connect
     * timeout so that a node that drops packets costs 1 s. */
    alt_lb_set_timeouts(lb, 10000, 1000);
    /* Learn every node before the first request, so that requests spread
     * from the first one. */
    if ((rc = alt_lb_refresh(lb)) != ALT_OK)
        fprintf(stderr, "multi-socket: discovery failed (%s); starting with "
                "the seeds\n", alt_strerror(rc));

    struct loop loop = {epoll_create1(0), -1};
    CURLM *multi = curl_multi_init();
    if (loop.epfd < 0 || !multi)
        return 1;
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, &loop);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, &loop);
    /* Attached, lb adds its later refreshes to this multi (from
     * alt_curl_prepare() or alt_multi_info_read()); libcurl announces them
     * through on_timer() and on_socket() like any transfer. Its transfer's
     * CURLINFO_PRIVATE is NULL (alt_multi_is_internal() tells). */
    if ((rc = alt_multi_attach(lb, multi)) != ALT_OK) {
        fprintf(stderr, "multi-socket: cannot attach: %s\n", alt_strerror(rc));
        return 1;
    }

    struct curl_slist *headers = NULL;
    headers = curl_slist_append(headers, "Content-Type: application/x-amz-json-1.0");
    headers = curl_slist_append(headers, "X-Amz-Target: DynamoDB_20120810.ListTables");
    struct slot *slots = calloc((size_t)concurrency, sizeof *slots);
    if (!headers || !slots)
        return 1;
    for (long k = 0; k < concurrency; k++) {
        CURL *e = slots[k].easy = curl_easy_init();
        if (!e)
            return 1;
        curl_easy_setopt(e, CURLOPT_URL, alt_lb_url(lb));
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "{}");
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(e, CURLOPT_PRIVATE, &slots[k]);
    }

    long started = 0, finished = 0, ok = 0;
    for (long k = 0; k < concurrency && started < requests; k++)
        if (start(lb, multi, &slots[k], ++started) != 0)
            finished++;

    while (finished < requests) {
        /* Wait for socket activity or libcurl's timeout, whichever first. */
        int wait = 1000;
        if (loop.deadline >= 0) {
            long long left = loop.deadline - now_ms();
            wait = left < 0 ? 0 : left < 1000 ? (int)left : 1000;
        }
        struct epoll_event evs[16];
        int nev = epoll_wait(loop.epfd, evs, 16, wait);
        if (nev < 0 && errno != EINTR) {
            perror("multi-socket: epoll_wait");
            break;
        }
        int running;
        for (int k = 0; k < nev; k++) {
            int mask = 0;
            if (evs[k].events & (EPOLLIN | EPOLLHUP))
                mask |= CURL_CSELECT_IN;
            if (evs[k].events & EPOLLOUT)
                mask |= CURL_CSELECT_OUT;
            if (evs[k].events & EPOLLERR)
                mask |= CURL_CSELECT_ERR;
            curl_multi_socket_action(multi, evs[k].data.fd, mask, &running);
        }
        if (loop.deadline >= 0 && now_ms() >= loop.deadline) {
            loop.deadline = -1;
            curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }

        /* Completions: alt_multi_info_read() hides the library's own
         * transfers and records how each of ours went. */
        CURLMsg *msg;
        int queued;
        while ((msg = alt_multi_info_read(lb, &queued))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *e = msg->easy_handle;
            CURLcode res = msg->data.result;
            char *priv = NULL, *ip = NULL;
            long status = 0;
            curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
            struct slot *s = (struct slot *)(void *)priv;
            curl_multi_remove_handle(multi, e);
            /* A failure another node can take: the handle is prepared for
             * it; adding it again sets a 0 ms timer like any add. */
            if (alt_curl_retry(lb, e, res)) {
                if (curl_multi_add_handle(multi, e) == CURLM_OK)
                    continue;
                res = CURLE_FAILED_INIT;
            }
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
            curl_easy_getinfo(e, CURLINFO_PRIMARY_IP, &ip);
            finished++;
            if (res != CURLE_OK)
                printf("request %ld/%ld: failed: %s\n", s->request, requests,
                       curl_easy_strerror(res));
            else
                printf("request %ld/%ld: node %s HTTP %ld\n", s->request,
                       requests, ip && *ip ? ip : "?", status);
            if (res == CURLE_OK && status == 200)
                ok++;
            /* Adding the handle again sets a 0 ms timer: the loop's next
             * turn starts it. */
            if (started < requests && start(lb, multi, s, ++started) != 0)
                finished++;
        }
    }

    char nodes[64][ALT_ADDR_MAX];
    size_t n = alt_lb_nodes(lb, nodes, 64);
    printf("%ld of %ld requests answered 200; %zu node(s) in rotation:", ok,
           requests, n);
    for (size_t i = 0; i < n && i < 64; i++)
        printf(" %s", nodes[i]);
    printf("\n");
    if (stats)
        print_stats(lb);

    /* Teardown, in this order: detach while the event loop still works
     * (removing a refresh of lb's still in flight calls on_socket and
     * on_timer, as any curl_multi_remove_handle does), give the handles
     * back, then free the multi and the event loop. */
    alt_multi_detach(lb);
    for (long k = 0; k < concurrency; k++) {
        curl_multi_remove_handle(multi, slots[k].easy);
        alt_curl_release(lb, slots[k].easy);
        curl_easy_cleanup(slots[k].easy);
    }
    curl_multi_cleanup(multi);
    close(loop.epfd);
    alt_lb_free(lb);
    curl_slist_free_all(headers);
    free(slots);
    free(seeds);
    curl_global_cleanup();
    return ok == requests ? 0 : 1;
}
