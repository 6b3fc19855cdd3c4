/*
 * alternator-example: DynamoDB requests spread over every node of a ScyllaDB
 * Alternator cluster, one blocking request at a time (libcurl "easy" mode).
 *
 *   alternator-example [--scheme http|https] [--port PORT] [--requests N]
 *                      [--fake-domain HOST] [--credentials KEY:SECRET]
 *                      [--stats]
 *                      SEED...
 *
 * It learns the cluster's nodes from the seeds (GET /localnodes), then sends
 * N ListTables requests. Each one goes to the next live node, round-robin,
 * and the program prints which node answered and with what HTTP status.
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
        fprintf(stderr, "alternator-example: %s\n", msg);
    fprintf(stderr,
            "usage: alternator-example [--scheme http|https] [--port PORT] "
            "[--requests N]\n"
            "                          [--fake-domain HOST] "
            "[--credentials KEY:SECRET] [--stats] SEED...\n"
            "  SEED: address of one or more Alternator nodes "
            "(IP or host name, no port)\n"
            "  defaults: --scheme http --port 8000 --requests 20\n");
    exit(2);
}

/* A decimal integer in [min, max], or a usage error naming the option. */
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

/* The response body, kept to show it when the status is not 200. */
struct reply {
    char text[512];
    size_t len;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct reply *r = userdata;
    size_t n = size * nmemb, room = sizeof r->text - 1 - r->len;
    memcpy(r->text + r->len, data, n < room ? n : room);
    r->len += n < room ? n : room;
    r->text[r->len] = '\0';
    return n;
}

int main(int argc, char **argv)
{
    const char *scheme = "http", *fake_domain = NULL, *credentials = NULL;
    int stats = 0;
    long port = 8000, requests = 20;
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
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            usage(NULL);
        if (strcmp(a, "--stats") == 0) {
            stats = 1;
            continue;
        }
        if (i + 1 >= argc) {
            char msg[128];
            snprintf(msg, sizeof msg, "%s needs a value", a);
            usage(msg);
        }
        const char *v = argv[++i];
        if (strcmp(a, "--scheme") == 0)
            scheme = v;
        else if (strcmp(a, "--port") == 0)
            port = number(a, v, 1, 65535);
        else if (strcmp(a, "--requests") == 0)
            requests = number(a, v, 1, 1000000);
        else if (strcmp(a, "--fake-domain") == 0)
            fake_domain = v;
        else if (strcmp(a, "--credentials") == 0)
            credentials = v;
        else {
            char msg[128];
            snprintf(msg, sizeof msg, "unknown option %.100s", a);
            usage(msg);
        }
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        usage("--scheme must be http or https");
    if (nseeds == 0)
        usage("give at least one SEED node address");

    /* libcurl's global state is the program's business, not the library's. */
    curl_global_init(CURL_GLOBAL_DEFAULT);

    /* 1. The load balancer: seeds, then optional configuration. */
    alt_lb *lb = NULL;
    alt_code rc = alt_lb_new(&lb, scheme, (int)port, seeds, nseeds);
    if (rc != ALT_OK) {
        fprintf(stderr, "alternator-example: %s (is every SEED an IP address "
                "or host name without a port?)\n", alt_strerror(rc));
        return 2;
    }
    if (fake_domain && (rc = alt_lb_set_fake_domain(lb, fake_domain)) != ALT_OK) {
        fprintf(stderr, "alternator-example: --fake-domain %s: %s\n",
                fake_domain, alt_strerror(rc));
        return 2;
    }
    if (credentials) {
        /* KEY:SECRET. Alternator: the key is a role name, the secret its
         * salted hash. Requests are then signed with SigV4. */
        const char *colon = strchr(credentials, ':');
        char key[256];
        if (!colon || colon == credentials || colon[1] == '\0'
            || (size_t)(colon - credentials) >= sizeof key)
            usage("--credentials wants KEY:SECRET");
        memcpy(key, credentials, (size_t)(colon - credentials));
        key[colon - credentials] = '\0';
        if ((rc = alt_lb_set_credentials(lb, key, colon + 1, NULL)) != ALT_OK) {
            fprintf(stderr, "alternator-example: --credentials: %s\n",
                    alt_strerror(rc));
            return 2;
        }
    }

    /* 2. Learn the live nodes now. Without this the first requests would go
     * to the seeds only; with alt_lb_start() or a multi loop the list would
     * also be kept up to date while the program runs. */
    rc = alt_lb_refresh(lb);
    char nodes[64][ALT_ADDR_MAX];
    size_t n = alt_lb_nodes(lb, nodes, 64);
    if (rc != ALT_OK)
        printf("discovery failed (%s); using the %zu seed(s)\n",
               alt_strerror(rc), n);
    else
        printf("discovered %zu node(s):", n);
    for (size_t i = 0; i < n && i < 64; i++)
        printf(" %s", nodes[i]);
    printf("\n");

    /* 3. An ordinary libcurl DynamoDB request, aimed at alt_lb_url() (the
     * fake domain). The headers go in CURLOPT_HTTPHEADER and the body in
     * CURLOPT_POSTFIELDS so that SigV4 signs both. */
    CURL *easy = curl_easy_init();
    struct curl_slist *headers = NULL;
    headers = curl_slist_append(headers, "Content-Type: application/x-amz-json-1.0");
    headers = curl_slist_append(headers, "X-Amz-Target: DynamoDB_20120810.ListTables");
    if (!easy || !headers) {
        fprintf(stderr, "alternator-example: out of memory\n");
        return 1;
    }
    struct reply reply;
    curl_easy_setopt(easy, CURLOPT_URL, alt_lb_url(lb));
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, "{}");
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &reply);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    /* A deadline for each whole request, retries on other nodes included
     * (a CURLOPT_TIMEOUT set on the handle would bound each attempt), and
     * a connect timeout so that a node that drops packets costs 1 s before
     * the request goes elsewhere. */
    alt_lb_set_timeouts(lb, 10000, 1000);

    long ok = 0;
    for (long i = 1; i <= requests; i++) {
        reply.len = 0;
        reply.text[0] = '\0';
        /* 4. alt_curl_perform_ex() = pick the next node
         * (CURLOPT_CONNECT_TO), curl_easy_perform(), and a retry on another
         * node if this one could not be reached. ListTables is a read, so
         * ALT_IDEMPOTENT lets it go elsewhere also when a node died after
         * receiving it; a write that must not be applied twice would use
         * alt_curl_perform() (retried only when provably not sent). */
        CURLcode res = alt_curl_perform_ex(lb, easy, ALT_IDEMPOTENT);
        long status = 0;
        char *ip = NULL;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(easy, CURLINFO_PRIMARY_IP, &ip);
        if (res != CURLE_OK) {
            printf("request %ld/%ld: failed: %s\n", i, requests,
                   curl_easy_strerror(res));
            continue;
        }
        printf("request %ld/%ld: node %s HTTP %ld\n", i, requests,
               ip && *ip ? ip : "?", status);
        if (status == 200)
            ok++;
        else
            printf("  %s\n", reply.text);
    }
    printf("%ld of %ld requests answered 200\n", ok, requests);
    if (stats)
        print_stats(lb);

    /* 5. Give the handle back before freeing lb: it holds lb's CONNECT_TO
     * list, which alt_lb_free() frees. */
    alt_curl_release(lb, easy);
    curl_slist_free_all(headers);
    curl_easy_cleanup(easy);
    alt_lb_free(lb);
    free(seeds);
    curl_global_cleanup();
    return ok == requests ? 0 : 1;
}
