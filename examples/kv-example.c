/*
 * kv-example: a small key-value program on the DynamoDB API of a ScyllaDB
 * Alternator cluster, one blocking request at a time (libcurl "easy" mode),
 * through the request-aware path: alt_curl_perform_request() writes the
 * DynamoDB headers, may gzip the body, and sends the conditional writes of
 * a key to the node that key maps to.
 *
 *   kv-example [--scheme http|https] [--port PORT] [--fake-domain HOST]
 *              [--credentials KEY:SECRET] [--compress] [--stats] SEED...
 *
 * What it does, in the table kv_example (partition key "k", a string):
 *  1. CreateTable if the table does not exist yet, then DescribeTable until
 *     it is ACTIVE;
 *  2. PutItem of a few users, each only if it is not there yet
 *     (ConditionExpression attribute_not_exists(k));
 *  3. GetItem of each;
 *  4. UpdateItem ADD visits :one, a few times, on one user: a counter;
 *  5. GetItem of that counter.
 * Every request prints one line: operation, key, HTTP status, and the node
 * that served it. The conditional PutItem and the UpdateItem of a key all
 * go to one node (the key's); the reads go round the nodes.
 *
 * Run it twice against the same cluster and the conditional PutItems are
 * refused with ConditionalCheckFailedException (HTTP 400): the users are
 * already there. That is expected and printed as such.
 * Exit status 0 unless something else failed.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <alternator_lb.h>

#include "print-stats.h"

#define TABLE "kv_example"

static void usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "kv-example: %s\n", msg);
    fprintf(stderr,
            "usage: kv-example [--scheme http|https] [--port PORT] "
            "[--fake-domain HOST]\n"
            "                  [--credentials KEY:SECRET] [--compress] "
            "[--stats] SEED...\n"
            "  SEED: address of one or more Alternator nodes "
            "(IP or host name, no port)\n"
            "  --compress: gzip request bodies of 1024 bytes or more "
            "(ScyllaDB 2026.1+)\n"
            "  defaults: --scheme http --port 8000\n");
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

/* What came back from one request. */
struct reply {
    long status;        /* HTTP status; 0: no answer */
    char node[64];      /* the node that served it (CURLINFO_PRIMARY_IP) */
    char text[8192];    /* the response body (cut short if longer) */
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

/*
 * One DynamoDB request: operation (e.g. "PutItem") with the JSON body.
 * Returns 0 if it got an answer (whatever its status), -1 if not.
 *
 * alt_curl_perform_request() sets the URL, the body, the headers
 * (Content-Type, X-Amz-Target, then ours) and the node, runs the transfer,
 * and sends it again to another node if the first could not be reached.
 * The body is not copied: it must stay valid until the call returns, which
 * in easy mode it does (the gzip copy, with --compress, belongs to the
 * handle until alt_curl_release()). Our headers list is linked behind the
 * library's, not copied: it stays ours to free, after the last request.
 * Flags 0: a write here is sent again only when it surely never left;
 * reads (GetItem, DescribeTable) are retried anyway.
 */
static int request(alt_lb *lb, CURL *easy, struct curl_slist *headers,
                   struct reply *reply, const char *operation,
                   const char *body)
{
    reply->status = 0;
    reply->node[0] = '\0';
    reply->len = 0;
    reply->text[0] = '\0';
    CURLcode res = alt_curl_perform_request(lb, easy, operation, body,
                                            strlen(body), headers, 0);
    char *ip = NULL;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &reply->status);
    curl_easy_getinfo(easy, CURLINFO_PRIMARY_IP, &ip);
    snprintf(reply->node, sizeof reply->node, "%s", ip && *ip ? ip : "?");
    if (res != CURLE_OK) {
        snprintf(reply->text, sizeof reply->text, "%s",
                 curl_easy_strerror(res));
        reply->status = 0;
        return -1;
    }
    return 0;
}

/* The line every request prints; note says what to make of it. */
static void show(const char *operation, const char *key,
                 const struct reply *reply, const char *note)
{
    if (reply->status == 0)
        printf("%-13s %-10s failed: %s\n", operation, key, reply->text);
    else
        printf("%-13s %-10s HTTP %ld  node %s%*s%s\n", operation, key,
               reply->status, reply->node,
               note && *note ? 11 - (int)strlen(reply->node) : 0, "",
               note ? note : "");
}

/* Whether the answer is the DynamoDB error type (the __type ends with it). */
static int is_error(const struct reply *reply, const char *type)
{
    return reply->status == 400 && strstr(reply->text, type) != NULL;
}

/* The number attribute name of the item in the answer, or -1. A real
 * program would parse the JSON; this one only looks for "name":{"N":"..."}
 * (GetItem's "Item" and UpdateItem's "Attributes" both have that shape). */
static long number_attribute(const struct reply *reply, const char *name)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":{\"N\":\"", name);
    const char *p = strstr(reply->text, pattern);
    return p ? strtol(p + strlen(pattern), NULL, 10) : -1;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The table, unless it exists; then wait until it is ACTIVE (bounded). */
static int create_table(alt_lb *lb, CURL *easy, struct curl_slist *headers,
                        struct reply *reply)
{
    if (request(lb, easy, headers, reply, "CreateTable",
                "{\"TableName\":\"" TABLE "\","
                "\"KeySchema\":[{\"AttributeName\":\"k\",\"KeyType\":\"HASH\"}],"
                "\"AttributeDefinitions\":[{\"AttributeName\":\"k\","
                "\"AttributeType\":\"S\"}],"
                "\"BillingMode\":\"PAY_PER_REQUEST\"}") != 0) {
        show("CreateTable", TABLE, reply, NULL);
        return -1;
    }
    if (is_error(reply, "ResourceInUseException")) {
        show("CreateTable", TABLE, reply, "(exists already: fine)");
    } else if (reply->status != 200) {
        show("CreateTable", TABLE, reply, reply->text);
        return -1;
    } else {
        show("CreateTable", TABLE, reply, NULL);
    }

    /* A new table is CREATING for a moment; writes need it ACTIVE. */
    for (int attempt = 0; attempt < 100; attempt++) {   /* 10 s at most */
        if (request(lb, easy, headers, reply, "DescribeTable",
                    "{\"TableName\":\"" TABLE "\"}") != 0
            || reply->status != 200) {
            show("DescribeTable", TABLE, reply, reply->text);
            return -1;
        }
        int active = strstr(reply->text, "\"TableStatus\":\"ACTIVE\"") != NULL;
        show("DescribeTable", TABLE, reply, active ? "ACTIVE" : "not ACTIVE yet");
        if (active)
            return 0;
        sleep_ms(100);
    }
    fprintf(stderr, "kv-example: table %s not ACTIVE after 10 s\n", TABLE);
    return -1;
}

int main(int argc, char **argv)
{
    const char *scheme = "http", *fake_domain = NULL, *credentials = NULL;
    int stats = 0, compress = 0;
    long port = 8000;
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
        if (strcmp(a, "--compress") == 0) {
            compress = 1;
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

    int exit_code = 1;
    alt_lb *lb = NULL;
    CURL *easy = NULL;
    struct curl_slist *headers = NULL;
    struct reply *reply = NULL;

    /* 1. The load balancer: seeds, then configuration, which must all come
     * before its first use. */
    alt_code rc = alt_lb_new(&lb, scheme, (int)port, seeds, nseeds);
    if (rc != ALT_OK) {
        fprintf(stderr, "kv-example: %s (is every SEED an IP address "
                "or host name without a port?)\n", alt_strerror(rc));
        exit_code = 2;
        goto out;
    }
    if (fake_domain && (rc = alt_lb_set_fake_domain(lb, fake_domain)) != ALT_OK) {
        fprintf(stderr, "kv-example: --fake-domain %s: %s\n", fake_domain,
                alt_strerror(rc));
        exit_code = 2;
        goto out;
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
            fprintf(stderr, "kv-example: --credentials: %s\n",
                    alt_strerror(rc));
            exit_code = 2;
            goto out;
        }
    }
    /* gzip at level 1 the bodies of 1 KiB or more (smaller ones gain
     * little); the signature covers the compressed bytes. Only ScyllaDB
     * 2026.1 and later accept compressed requests, hence an option. */
    if (compress && (rc = alt_lb_set_compression(lb, 1, 1024)) != ALT_OK) {
        fprintf(stderr, "kv-example: --compress: %s\n", alt_strerror(rc));
        exit_code = 2;
        goto out;
    }

    /* Key-route affinity (ALT_AFFINITY_RMW is the default; said here to be
     * seen): a write that reads before it writes - a conditional PutItem,
     * an UpdateItem with an UpdateExpression such as ADD - goes to the node
     * its partition key maps to, the node the other Alternator clients
     * pick for it too. Alternator runs such writes as lightweight
     * transactions (Paxos); when all of a key's go through one
     * coordinator they do not contend with one another across nodes.
     * Other requests (reads, batches, plain writes) are spread over the
     * nodes as usual. */
    alt_lb_set_affinity(lb, ALT_AFFINITY_RMW);
    /* For that the library must know which attribute is the table's
     * partition key. We know it: we create the table. Without this call
     * the library would learn it by itself, with a DescribeTable that the
     * first qualifying write queues and the next refresh runs (in easy
     * mode: the next alt_lb_refresh(), or alt_lb_start()'s thread); the
     * writes before that are spread like any other request. */
    alt_lb_set_partition_key(lb, TABLE, "k");
    /* A deadline for each whole request, retries on other nodes included,
     * and 1 s to connect before a request goes elsewhere. */
    alt_lb_set_timeouts(lb, 10000, 1000);

    /* 2. Learn the live nodes now. Without this the first requests would go
     * to the seeds only (so the key-routed writes would too: the library
     * maps keys over the nodes it knows). An easy-mode program that runs
     * for long would also call alt_lb_start(), or alt_lb_refresh() now and
     * then, to follow the cluster's changes. */
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

    /* 3. One easy handle for every request, so that its connections to the
     * nodes are reused. Headers of our own go in a list of our own. */
    easy = curl_easy_init();
    headers = curl_slist_append(NULL, "X-Client-Name: kv-example");
    reply = calloc(1, sizeof *reply);
    if (!easy || !headers || !reply) {
        fprintf(stderr, "kv-example: out of memory\n");
        goto out;
    }
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, reply);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);

    if (create_table(lb, easy, headers, reply) != 0)
        goto out;

    /* 4. Insert each user unless it is there. The conditional write runs
     * as an LWT, so it goes to the key's node. (On the 3-node test cluster
     * of demo.sh these three keys happen to map to three different nodes.)
     * Grace's bio makes her body big enough for --compress to gzip. */
    static const char *const users[] = {"alice", "dave", "grace"};
    const size_t nusers = sizeof users / sizeof users[0];
    char bio[1601];
    for (size_t i = 0; i < sizeof bio - 1; i++)
        bio[i] = "Grace keeps a very long biography. "[i % 35];
    bio[sizeof bio - 1] = '\0';
    char body[2048], extra[1700];
    for (size_t i = 0; i < nusers; i++) {
        extra[0] = '\0';
        if (strcmp(users[i], "grace") == 0)
            snprintf(extra, sizeof extra, ",\"bio\":{\"S\":\"%s\"}", bio);
        snprintf(body, sizeof body,
                 "{\"TableName\":\"" TABLE "\","
                 "\"Item\":{\"k\":{\"S\":\"%s\"},\"visits\":{\"N\":\"0\"}%s},"
                 "\"ConditionExpression\":\"attribute_not_exists(k)\"}",
                 users[i], extra);
        if (request(lb, easy, headers, reply, "PutItem", body) != 0) {
            show("PutItem", users[i], reply, NULL);
            goto out;
        }
        if (is_error(reply, "ConditionalCheckFailedException")) {
            show("PutItem", users[i], reply,
                 "(ConditionalCheckFailed: there already, fine)");
            continue;
        }
        if (reply->status != 200) {
            show("PutItem", users[i], reply, reply->text);
            goto out;
        }
        /* With --compress, what went on the wire is the gzip copy. */
        curl_off_t sent = 0;
        char note[96] = "";
        curl_easy_getinfo(easy, CURLINFO_SIZE_UPLOAD_T, &sent);
        if ((size_t)sent != strlen(body))
            snprintf(note, sizeof note, "(%zu-byte body sent gzipped: %ld bytes)",
                     strlen(body), (long)sent);
        show("PutItem", users[i], reply, note);
    }

    /* 5. Read each back. Reads are not key-routed: they go round the
     * nodes. ConsistentRead, so that a node other than the writer's sees
     * the write (for Alternator: a read at LOCAL_QUORUM). */
    for (size_t i = 0; i < nusers; i++) {
        snprintf(body, sizeof body,
                 "{\"TableName\":\"" TABLE "\",\"Key\":{\"k\":{\"S\":\"%s\"}},"
                 "\"ProjectionExpression\":\"k, visits\","
                 "\"ConsistentRead\":true}", users[i]);
        if (request(lb, easy, headers, reply, "GetItem", body) != 0
            || reply->status != 200 || !strstr(reply->text, "\"Item\"")) {
            show("GetItem", users[i], reply, reply->text);
            goto out;
        }
        char note[64];
        snprintf(note, sizeof note, "visits=%ld",
                 number_attribute(reply, "visits"));
        show("GetItem", users[i], reply, note);
    }

    /* 6. A counter: ADD is a read-modify-write, so it goes to alice's node,
     * the same one as her conditional PutItem. Not retried on another node
     * once sent (flags 0): adding twice would count twice. */
    long visits = -1;
    for (int i = 0; i < 5; i++) {
        if (request(lb, easy, headers, reply, "UpdateItem",
                    "{\"TableName\":\"" TABLE "\","
                    "\"Key\":{\"k\":{\"S\":\"alice\"}},"
                    "\"UpdateExpression\":\"ADD visits :one\","
                    "\"ExpressionAttributeValues\":{\":one\":{\"N\":\"1\"}},"
                    "\"ReturnValues\":\"UPDATED_NEW\"}") != 0
            || reply->status != 200) {
            show("UpdateItem", "alice", reply, reply->text);
            goto out;
        }
        visits = number_attribute(reply, "visits");
        char note[64];
        snprintf(note, sizeof note, "visits=%ld", visits);
        show("UpdateItem", "alice", reply, note);
    }

    /* 7. And the counter read back, from whichever node is next. */
    if (request(lb, easy, headers, reply, "GetItem",
                "{\"TableName\":\"" TABLE "\","
                "\"Key\":{\"k\":{\"S\":\"alice\"}},"
                "\"ProjectionExpression\":\"visits\","
                "\"ConsistentRead\":true}") != 0
        || reply->status != 200) {
        show("GetItem", "alice", reply, reply->text);
        goto out;
    }
    long read_back = number_attribute(reply, "visits");
    char note[64];
    snprintf(note, sizeof note, "visits=%ld", read_back);
    show("GetItem", "alice", reply, note);
    if (read_back != visits) {
        fprintf(stderr, "kv-example: read visits=%ld, the last ADD gave %ld\n",
                read_back, visits);
        goto out;
    }
    exit_code = 0;

out:
    if (stats && lb)
        print_stats(lb);
    /* Give the handle back before cleaning it up or freeing lb: that frees
     * what the library keeps for it (its header list, the gzip buffer, the
     * CONNECT_TO entry, all of which the handle points into) and unsets
     * those options. Then our own headers list is ours to free. */
    if (easy) {
        alt_curl_release(lb, easy);
        curl_easy_cleanup(easy);
    }
    curl_slist_free_all(headers);
    free(reply);
    alt_lb_free(lb);
    free(seeds);
    curl_global_cleanup();
    return exit_code;
}
