/*
 * multi-poll: the alternator-example requests, several at a time, in a
 * curl_multi_poll() loop. After one blocking alt_lb_refresh() at startup,
 * the load balancer lives inside that loop: it adds its own node-discovery
 * request (GET /localnodes) to the multi handle when one is due, so no
 * thread is needed. A request that failed where another node can take it
 * is sent there with alt_curl_retry().
 *
 *   multi-poll [--scheme http|https] [--port PORT] [--requests N]
 *              [--concurrency C] [--fake-domain HOST]
 *              [--credentials KEY:SECRET] [--stats] SEED...
 *
 * Exit status 0 only if every request answered 200.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <alternator_lb.h>

#include "print-stats.h"

static void usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "multi-poll: %s\n", msg);
    fprintf(stderr,
            "usage: multi-poll [--scheme http|https] [--port PORT] "
            "[--requests N] [--concurrency C]\n"
            "                  [--fake-domain HOST] "
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

/* One transfer slot: an easy handle reused for request after request. */
struct slot {
    CURL *easy;
    long request; /* the request number it is running */
};

/* This example only looks at the status: drop the bodies. */
static size_t discard(char *data, size_t size, size_t nmemb, void *userdata)
{
    (void)data;
    (void)userdata;
    return size * nmemb;
}

/* Points the slot's handle at the next node and starts it. */
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
        fprintf(stderr, "multi-poll: %s\n", alt_strerror(rc));
        return 2;
    }

    /* A deadline for each whole request, retries on other nodes included,
     * and a connect timeout so that a node that drops packets costs 1 s
     * before the request goes elsewhere. */
    alt_lb_set_timeouts(lb, 10000, 1000);

    /* Learn every node before the first request, so that requests spread
     * from the first one (without it they go to the seeds until the first
     * discovery, which then runs inside the loop, has answered). */
    if ((rc = alt_lb_refresh(lb)) != ALT_OK)
        fprintf(stderr, "multi-poll: discovery failed (%s); starting with "
                "the seeds\n", alt_strerror(rc));

    /* The caller's multi handle. Attached, lb runs its later refreshes as
     * small transfers of its own inside this multi. */
    CURLM *multi = curl_multi_init();
    if (!multi || (rc = alt_multi_attach(lb, multi)) != ALT_OK) {
        fprintf(stderr, "multi-poll: cannot attach: %s\n", alt_strerror(rc));
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
        /* CURLOPT_PRIVATE is ours: the library's own transfers never
         * reach this program through alt_multi_info_read(). */
        curl_easy_setopt(e, CURLOPT_PRIVATE, &slots[k]);
    }

    long started = 0, finished = 0, ok = 0;
    /* One request on every slot to begin with. */
    for (long k = 0; k < concurrency && started < requests; k++)
        if (start(lb, multi, &slots[k], ++started) != 0)
            finished++;

    while (finished < requests) {
        /* Drive the transfers, handle what finished (and start the next
         * requests), then sleep until there is something to do. Reading the
         * completions before sleeping matters: a transfer that ended in
         * this curl_multi_perform() must not wait for the poll's timeout. */
        int running;
        CURLMcode mc = curl_multi_perform(multi, &running);
        if (mc != CURLM_OK) {
            fprintf(stderr, "multi-poll: %s\n", curl_multi_strerror(mc));
            break;
        }
        /* alt_multi_info_read() instead of curl_multi_info_read(): it also
         * tells lb how each transfer went (a node that cannot be reached
         * leaves the rotation) and runs a refresh when one is due. */
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
             * it; run it again. */
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
            /* Reuse the handle for the next request, on the next node. */
            if (started < requests && start(lb, multi, s, ++started) != 0)
                finished++;
        }
        if (finished < requests
            && (mc = curl_multi_poll(multi, NULL, 0, 1000, NULL)) != CURLM_OK) {
            fprintf(stderr, "multi-poll: %s\n", curl_multi_strerror(mc));
            break;
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

    /* Teardown: detach first (it removes a refresh of lb's still in
     * flight), give the handles back, then free what is left. */
    alt_multi_detach(lb);
    for (long k = 0; k < concurrency; k++) {
        curl_multi_remove_handle(multi, slots[k].easy);
        alt_curl_release(lb, slots[k].easy);
        curl_easy_cleanup(slots[k].easy);
    }
    curl_multi_cleanup(multi);
    alt_lb_free(lb);
    curl_slist_free_all(headers);
    free(slots);
    free(seeds);
    curl_global_cleanup();
    return ok == requests ? 0 : 1;
}
