/*
 * Self-test of the C cluster driver (cluster.c) against the stand-in
 * cluster, using libcurl.  Build by hand, e.g.:
 *
 *   gcc -std=c11 -Wall -Wextra -Wpedantic -g -fsanitize=address,undefined \
 *       -DTC_CLUSTER_DIR="\"$PWD/test/cluster\"" \
 *       test/support/cluster-selftest.c test/support/cluster.c -lcurl \
 *       -o /tmp/cluster-selftest && /tmp/cluster-selftest
 *
 * With the argument "orphan" it starts a cluster and then sleeps, so that
 * a test can kill -9 it and check that the cluster goes away.
 */
#define _POSIX_C_SOURCE 200809L
#include "cluster.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int passed, failed;

#define CHECK(cond)                                                       \
    do {                                                                  \
        if (cond) {                                                       \
            passed++;                                                     \
        } else {                                                          \
            failed++;                                                     \
            fprintf(stderr, "%s:%d: FAIL: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                 \
    } while (0)

struct buf {
    char d[65536];
    size_t n;
};

static size_t on_data(char *p, size_t sz, size_t nm, void *u)
{
    struct buf *b = u;
    size_t n = sz * nm;
    size_t room = sizeof b->d - 1 - b->n;
    memcpy(b->d + b->n, p, n < room ? n : room);
    b->n += n < room ? n : room;
    b->d[b->n] = '\0';
    return n;
}

/* One request on handle h (reused: keep-alive).  Returns HTTP status, or 0
 * on a transport error. */
static long req(CURL *h, int node, int port, const char *path, const char *target,
                const char *body, struct buf *out, long timeout_ms)
{
    char url[128], addr[16], th[160];
    struct curl_slist *hdr = NULL;
    snprintf(url, sizeof url, "http://%s:%d%s", tc_addr(node, addr), port, path);
    out->n = 0;
    out->d[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    if (target) {
        snprintf(th, sizeof th, "X-Amz-Target: DynamoDB_20120810.%s", target);
        hdr = curl_slist_append(hdr, "Content-Type: application/x-amz-json-1.0");
        hdr = curl_slist_append(hdr, th);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdr);
    long code = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "orphan") == 0) {
        tc_cluster *c = tc_start("--nodes 2");
        if (!c)
            return 1;
        printf("STARTED %d\n", tc_port(c));
        fflush(stdout);
        pause();
        return 0;
    }

    curl_global_init(CURL_GLOBAL_DEFAULT);
    tc_cluster *c = tc_start("--nodes 3 --topology 'dc1:r1,dc1:r2,dc2:r1'");
    CHECK(c != NULL);
    if (!c)
        return 1;
    int port = tc_port(c);
    CHECK(port > 0);
    char reply[256];
    struct buf b;
    CURL *h = curl_easy_init();

    CHECK(req(h, 1, port, "/localnodes", NULL, NULL, &b, 2000) == 200);
    CHECK(strcmp(b.d, "[\"127.0.0.1\",\"127.0.0.2\"]") == 0);
    CHECK(req(h, 2, port, "/localnodes?dc=dc2", NULL, NULL, &b, 2000) == 200);
    CHECK(strcmp(b.d, "[\"127.0.0.3\"]") == 0);

    CHECK(req(h, 1, port, "/", "CreateTable",
              "{\"TableName\":\"tbl\",\"KeySchema\":[{\"AttributeName\":\"p\",\"KeyType\":\"HASH\"}],"
              "\"AttributeDefinitions\":[{\"AttributeName\":\"p\",\"AttributeType\":\"S\"}],"
              "\"BillingMode\":\"PAY_PER_REQUEST\"}", &b, 5000) == 200);
    CHECK(req(h, 2, port, "/", "PutItem",
              "{\"TableName\":\"tbl\",\"Item\":{\"p\":{\"S\":\"k\"},\"v\":{\"N\":\"42\"}}}", &b, 5000) == 200);
    CHECK(req(h, 3, port, "/", "GetItem",
              "{\"TableName\":\"tbl\",\"Key\":{\"p\":{\"S\":\"k\"}}}", &b, 5000) == 200);
    CHECK(strstr(b.d, "\"v\":{\"N\":\"42\"}") != NULL);

    /* keep-alive: several requests, one connection per node */
    CHECK(tc_cmd(c, NULL, 0, "reset") == 0);
    for (int k = 0; k < 5; k++)
        CHECK(req(h, 1, port, "/", "ListTables", "{}", &b, 2000) == 200);
    CHECK(tc_stat(c, 1, "api") == 5);
    CHECK(tc_stat(c, 1, "conns") == 0); /* reused the connection of CreateTable */
    CHECK(tc_stat(c, 1, "open") == 1);
    CHECK(tc_stat(c, 1, "health") == 0);
    CHECK(tc_stat(c, 1, "up") == 1);
    CHECK(tc_stat(c, 9, "api") == -1);
    CHECK(tc_stat(c, 1, "nope") == -1);

    /* kill closes open connections and refuses new ones; the node stays
     * listed for the delist delay (20 s by default), `kill I 0` drops it */
    CHECK(tc_cmd(c, reply, sizeof reply, "kill %d", 1) == 0);
    CHECK(strcmp(reply, "OK") == 0);
    CHECK(tc_stat(c, 1, "open") == 0);
    CHECK(tc_stat(c, 1, "up") == 0);
    CHECK(req(h, 1, port, "/", NULL, NULL, &b, 2000) == 0);
    CHECK(req(h, 2, port, "/localnodes", NULL, NULL, &b, 2000) == 200);
    CHECK(strcmp(b.d, "[\"127.0.0.1\",\"127.0.0.2\"]") == 0);
    CHECK(tc_stat(c, 1, "listed") == 1);
    CHECK(tc_cmd(c, NULL, 0, "kill 1 0") == 0);
    CHECK(req(h, 2, port, "/localnodes", NULL, NULL, &b, 2000) == 200);
    CHECK(strcmp(b.d, "[\"127.0.0.2\"]") == 0);
    CHECK(tc_stat(c, 1, "listed") == 0);
    CHECK(tc_cmd(c, NULL, 0, "revive 1") == 0);
    CHECK(tc_stat(c, 1, "listed") == 1);
    CHECK(req(h, 1, port, "/", NULL, NULL, &b, 2000) == 200);
    CHECK(strncmp(b.d, "healthy: 127.0.0.1:", 19) == 0);

    /* hang on an existing keep-alive connection */
    CHECK(req(h, 2, port, "/", NULL, NULL, &b, 2000) == 200);
    CHECK(tc_cmd(c, NULL, 0, "hang 2") == 0);
    CHECK(req(h, 2, port, "/", NULL, NULL, &b, 500) == 0);
    CHECK(tc_stat(c, 2, "hung") == 1);
    CHECK(tc_stat(c, 2, "listed") == 1); /* hung: listed for ever by default */
    CHECK(tc_cmd(c, NULL, 0, "hang 2 0") == 0);
    CHECK(tc_stat(c, 2, "listed") == 0);
    CHECK(tc_cmd(c, NULL, 0, "unhang 2") == 0);
    CHECK(tc_stat(c, 2, "listed") == 1);
    CHECK(req(h, 2, port, "/", NULL, NULL, &b, 2000) == 200);

    /* fail */
    CHECK(tc_cmd(c, NULL, 0, "fail 3 500") == 0);
    CHECK(req(h, 3, port, "/", "ListTables", "{}", &b, 2000) == 500);
    CHECK(strstr(b.d, "#InternalServerError") != NULL);
    CHECK(tc_cmd(c, NULL, 0, "fail 3 0") == 0);

    /* errors and add */
    CHECK(tc_cmd(c, reply, sizeof reply, "kill 42") == -1);
    CHECK(strncmp(reply, "ERR ", 4) == 0);
    CHECK(tc_cmd(c, reply, sizeof reply, "add") == 0);
    CHECK(strcmp(reply, "OK 4") == 0);
    CHECK(req(h, 4, port, "/", "ListTables", "{}", &b, 2000) == 200);
    CHECK(strcmp(b.d, "{\"TableNames\":[\"tbl\"]}") == 0);
    CHECK(tc_cmd(c, reply, 8, "stats") == 0);
    CHECK(strlen(reply) == 7);

    curl_easy_cleanup(h);
    tc_stop(c);
    tc_stop(NULL);

    /* auth */
    c = tc_start("--nodes 2 --auth key:secret");
    CHECK(c != NULL);
    if (c) {
        h = curl_easy_init();
        CHECK(req(h, 1, tc_port(c), "/", "ListTables", "{}", &b, 2000) == 400);
        CHECK(strstr(b.d, "#MissingAuthenticationTokenException") != NULL);
        curl_easy_setopt(h, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:dynamodb");
        curl_easy_setopt(h, CURLOPT_USERPWD, "key:secret");
        CHECK(req(h, 2, tc_port(c), "/", "ListTables", "{}", &b, 2000) == 200);
        curl_easy_setopt(h, CURLOPT_USERPWD, "key:wrong");
        CHECK(req(h, 2, tc_port(c), "/", "ListTables", "{}", &b, 2000) == 400);
        CHECK(strstr(b.d, "#UnrecognizedClientException") != NULL);
        curl_easy_cleanup(h);
        tc_stop(c);
    }

    curl_global_cleanup();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
