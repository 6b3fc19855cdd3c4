/*
 * The request-aware path (alt_curl_prepare_request) against the local
 * cluster with SigV4 enforced, as Alternator checks it:
 *  - lean headers: no Accept, no Expect even for a body over 1 MiB, the
 *    caller's own headers kept, the signature accepted (libcurl 7.88 signs
 *    the removals as empty headers; the cluster, like ScyllaDB, takes a
 *    signed header that is missing as empty);
 *  - compression: a gzip body, signed over the compressed bytes, stored
 *    and read back intact;
 *  - key-route affinity: conditional writes of a key reach the node the
 *    independent oracle (test/oracle, Go's math/rand) names, the plan's
 *    next node when that one dies, the oracle's choice over the remaining
 *    nodes while it is out or delisted, and the first again once back;
 *    reads and plain writes spread as before;
 *  - the partition key learnt by DescribeTable in a multi loop, in easy
 *    mode (alt_lb_refresh) and with the thread.
 *
 * Expected nodes: the cluster's nodes are http://127.0.0.I:P, sorted by I
 * whatever P is, so the oracle's plan over five such URLs gives them:
 *   go run test/oracle/affinity_oracle.go -key S:key7 \
 *       -nodes http://127.0.0.1:8000,...,http://127.0.0.5:8000 \
 *       [-out http://127.0.0.3:8000]
 * printed these (first node numbers):
 *   key0: 4   key1: 1   key2: 5   key3: 4   key7: 3, then (its plan) 2
 *   with node 3 out of rotation or delisted:
 *   key0: 4   key1: 1   key2: 1   key3: 1   key7: 4
 */
#include <pthread.h>
#include <strings.h>
#include <string.h>

#include "testutil.h"

static tc_cluster *cluster;
static int port;

/* ------------------------------------------------------------- helpers */

/* What libcurl sent: the request headers of the last transfer. */
typedef struct sent {
    char headers[4096];
    size_t len;
} sent;

static int on_debug(CURL *easy, curl_infotype type, char *data, size_t size,
                    void *userp)
{
    (void)easy;
    sent *s = userp;
    if (type == CURLINFO_HEADER_OUT) {
        size_t n = size < sizeof s->headers - 1 ? size : sizeof s->headers - 1;
        memcpy(s->headers, data, n); /* one call per request's headers */
        s->headers[n] = '\0';
        s->len = n;
    }
    return 0;
}

/* Whether the request headers hold a line starting with name (case
 * insensitive), e.g. "Expect:". */
static int has_header(const sent *s, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = s->headers; p && *p; p = strchr(p, '\n')) {
        if (*p == '\n')
            p++;
        if (strncasecmp(p, name, n) == 0)
            return 1;
    }
    return 0;
}

static CURL *new_easy(tu_reply *r, sent *s)
{
    memset(r, 0, sizeof *r);
    memset(s, 0, sizeof *s);
    CURL *e = curl_easy_init();
    REQUIRE(e);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, tu_write_reply);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(e, CURLOPT_DEBUGDATA, s);
    curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
    return e;
}

static alt_lb *new_lb(void)
{
    alt_lb *lb = tu_lb(port, 1, 5);
    REQUIRE(alt_lb_set_credentials(lb, "alternator", "secret", NULL) == ALT_OK);
    REQUIRE(alt_lb_set_choice(lb, ALT_CHOICE_ROUND_ROBIN) == ALT_OK);
    alt_lb_set_logger(lb, tu_capture_log, NULL, ALT_LOG_DEBUG);
    return lb;
}

/* One request through alt_curl_perform_request(); its status. */
static long call(alt_lb *lb, CURL *e, tu_reply *r, const char *op,
                 const char *body)
{
    memset(r, 0, sizeof *r);
    CURLcode rc = alt_curl_perform_request(lb, e, op, body, strlen(body),
                                           NULL, 0);
    tu_collect(e, r);
    if (rc != CURLE_OK)
        fprintf(stderr, "  %s: %s\n", op, curl_easy_strerror(rc));
    return rc == CURLE_OK ? r->status : -1;
}

static int node_of(const tu_reply *r)
{
    return tu_node_index(r->ip);
}

static void create_table(alt_lb *lb, const char *name)
{
    CURL *e;
    tu_reply r;
    sent s;
    char body[512];
    e = new_easy(&r, &s);
    snprintf(body, sizeof body,
             "{\"TableName\":\"%s\",\"KeySchema\":[{\"AttributeName\":\"pk\","
             "\"KeyType\":\"HASH\"}],\"AttributeDefinitions\":[{"
             "\"AttributeName\":\"pk\",\"AttributeType\":\"S\"}],"
             "\"BillingMode\":\"PAY_PER_REQUEST\"}", name);
    long st = call(lb, e, &r, "CreateTable", body);
    if (st != 200)
        fprintf(stderr, "  CreateTable: HTTP %ld %s\n", st, r.body);
    REQUIRE(st == 200);
    snprintf(body, sizeof body, "{\"TableName\":\"%s\"}", name);
    long long deadline = tu_now_ms() + 10000;
    for (int i = 0; i < 1000; i++) {
        REQUIRE(tu_now_ms() < deadline);
        REQUIRE(call(lb, e, &r, "DescribeTable", body) == 200);
        if (strstr(r.body, "\"TableStatus\":\"ACTIVE\""))
            break;
        tu_sleep_ms(50);
    }
    alt_curl_release(lb, e);
    curl_easy_cleanup(e);
}

/* A conditional PutItem (a read-modify-write) of key in table kvs. */
static void conditional_put(char *body, size_t size, const char *key, int v)
{
    snprintf(body, size,
             "{\"TableName\":\"kvs\",\"Item\":{\"v\":{\"N\":\"%d\"},"
             "\"pk\":{\"S\":\"%s\"}},"
             "\"ConditionExpression\":\"attribute_not_exists(nope)\"}", v, key);
}

/* Conditional writes of key: count of those served by node want. */
static int put_on(alt_lb *lb, CURL *e, const char *key, int n, int want)
{
    tu_reply r;
    char body[512];
    int hits = 0;
    for (int i = 0; i < n; i++) {
        conditional_put(body, sizeof body, key, i);
        CHECK_EQ(call(lb, e, &r, "PutItem", body), 200);
        hits += node_of(&r) == want;
        if (node_of(&r) != want)
            fprintf(stderr, "  %s went to node %d, not %d\n", key,
                    node_of(&r), want);
    }
    return hits;
}

/* ----------------------------------------------------------- the tests */

static void lean_signed_headers(void)
{
    alt_lb *lb = new_lb();
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    tu_reply r;
    sent s = {{0}, 0};
    CURL *e = new_easy(&r, &s);
    struct curl_slist *mine = curl_slist_append(NULL, "X-Trace-Id: t-42");

    REQUIRE(alt_curl_prepare_request(lb, e, "DynamoDB_20120810.ListTables",
                                     "{}", 2, NULL, 0) == ALT_OK);
    CHECK_EQ(curl_easy_perform(e), CURLE_OK);
    tu_collect(e, &r);
    CHECK_EQ(r.status, 200);
    CHECK(strstr(r.body, "TableNames") != NULL);
    CHECK(!has_header(&s, "Accept:"));
    CHECK(!has_header(&s, "Expect:"));
    CHECK(has_header(&s, "Content-Type: application/x-amz-json-1.0"));
    CHECK(has_header(&s, "X-Amz-Target: DynamoDB_20120810.ListTables"));
    CHECK(has_header(&s, "Authorization: AWS4-HMAC-SHA256"));
    curl_off_t lean = 0;
    curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &lean);

    /* The caller's headers go too, signed. */
    memset(&r, 0, sizeof r);
    REQUIRE(alt_curl_prepare_request(lb, e, "ListTables", "{}", 2, mine, 0)
            == ALT_OK);
    CHECK_EQ(curl_easy_perform(e), CURLE_OK);
    tu_collect(e, &r);
    CHECK_EQ(r.status, 200);
    CHECK(has_header(&s, "X-Trace-Id: t-42"));
    CHECK(strstr(s.headers, "x-trace-id") != NULL); /* in SignedHeaders */

    /* The same request the way a program builds it by hand. */
    struct curl_slist *h;
    tu_setup_api(e, alt_lb_url(lb), "ListTables", "{}", &r, &h);
    REQUIRE(alt_curl_prepare(lb, e) == ALT_OK);
    CHECK_EQ(curl_easy_perform(e), CURLE_OK);
    tu_collect(e, &r);
    CHECK_EQ(r.status, 200);
    CHECK(has_header(&s, "Accept:"));
    curl_off_t plain = 0;
    curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &plain);
    curl_slist_free_all(h);
    fprintf(stderr, "  ListTables: %ld bytes lean, %ld bytes by hand\n",
            (long)lean, (long)plain);
    CHECK(lean < plain);

    /* Over 1 MiB: libcurl would send Expect: 100-continue and wait. */
    size_t big = (1u << 20) + 4096;
    char *body = malloc(big + 1);
    REQUIRE(body);
    int head = snprintf(body, big, "{\"TableName\":\"kvs\",\"Item\":{\"pk\":"
                                   "{\"S\":\"big\"},\"blob\":{\"S\":\"");
    memset(body + head, 'x', big - (size_t)head - 4);
    memcpy(body + big - 4, "\"}}}", 4);
    body[big] = '\0';
    s.headers[0] = '\0';
    memset(&r, 0, sizeof r);
    REQUIRE(alt_curl_prepare_request(lb, e, "PutItem", body, big, mine, 0)
            == ALT_OK);
    CHECK_EQ(curl_easy_perform(e), CURLE_OK);
    tu_collect(e, &r);
    /* Signed and accepted; the item itself is over DynamoDB's 400 KB. */
    CHECK(!strstr(r.body, "Signature") && !strstr(r.body, "signature"));
    CHECK(strstr(r.body, "ValidationException") || r.status == 200);
    CHECK(!has_header(&s, "Expect:"));
    fprintf(stderr, "  PutItem of %zu bytes: HTTP %ld, %.120s\n", big,
            r.status, r.body);
    free(body);

    alt_curl_release(lb, e);
    curl_easy_cleanup(e);
    curl_slist_free_all(mine);
    alt_lb_free(lb);
}

static void compressed_roundtrip(void)
{
    alt_lb *lb = new_lb();
    REQUIRE(alt_lb_set_compression(lb, 1, 1024) == ALT_OK);
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    REQUIRE(alt_lb_set_compression(lb, 6, 1024) == ALT_E_STATE);
    tu_reply r;
    sent s = {{0}, 0};
    CURL *e = new_easy(&r, &s);

    /* 6000 bytes of text that compresses, but not to nothing. */
    char value[6001];
    for (size_t i = 0; i < 6000; i++)
        value[i] = "abcdefghij klmnopqrstuvwxyz 0123456789"[(i * 7 + i / 13) % 38];
    value[6000] = '\0';
    char body[6300];
    snprintf(body, sizeof body, "{\"TableName\":\"kvs\",\"Item\":{\"pk\":{\"S\":"
             "\"zipped\"},\"text\":{\"S\":\"%s\"}}}", value);
    CHECK_EQ(call(lb, e, &r, "PutItem", body), 200);
    CHECK(has_header(&s, "Content-Encoding: gzip"));
    curl_off_t size = 0;
    curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &size);
    fprintf(stderr, "  PutItem of %zu bytes sent as %ld (headers included)\n",
            strlen(body), (long)size);
    CHECK(size > 0 && (size_t)size < strlen(body) / 2);

    CHECK_EQ(call(lb, e, &r, "GetItem", "{\"TableName\":\"kvs\",\"Key\":{\"pk\":"
                  "{\"S\":\"zipped\"}},\"ConsistentRead\":true}"), 200);
    CHECK(!has_header(&s, "Content-Encoding:")); /* under 1024 bytes */
    CHECK(strstr(r.body, value) != NULL);

    alt_curl_release(lb, e);
    curl_easy_cleanup(e);
    alt_lb_free(lb);
}

static void affinity_easy(void)
{
    alt_lb *lb = new_lb(), *lbz = new_lb();
    REQUIRE(alt_lb_set_partition_key(lb, "kvs", "pk") == ALT_OK);
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    REQUIRE(alt_lb_set_partition_key(lbz, "kvs", "pk") == ALT_OK);
    REQUIRE(alt_lb_set_compression(lbz, 1, 1024) == ALT_OK);
    REQUIRE(alt_lb_refresh(lbz) == ALT_OK);
    tu_reply r;
    sent s;
    CURL *e = new_easy(&r, &s);
    char buf[16];
    REQUIRE(alt_lb_partition_key(lb, "kvs", buf, sizeof buf) == ALT_OK);
    CHECK(strcmp(buf, "pk") == 0);

    CHECK_EQ(put_on(lb, e, "key0", 6, 4), 6);
    CHECK_EQ(put_on(lb, e, "key1", 6, 1), 6);
    CHECK_EQ(put_on(lb, e, "key2", 6, 5), 6);
    CHECK_EQ(put_on(lb, e, "key3", 6, 4), 6);
    CHECK_EQ(put_on(lb, e, "key7", 6, 3), 6);

    /* Plain writes and reads of the same key spread as before. */
    int plain[6] = {0}, reads[6] = {0};
    for (int i = 0; i < 25; i++) {
        CHECK_EQ(call(lb, e, &r, "PutItem", "{\"TableName\":\"kvs\",\"Item\":"
                      "{\"pk\":{\"S\":\"key7\"}}}"), 200);
        plain[node_of(&r)]++;
        CHECK_EQ(call(lb, e, &r, "GetItem", "{\"TableName\":\"kvs\",\"Key\":"
                      "{\"pk\":{\"S\":\"key7\"}}}"), 200);
        reads[node_of(&r)]++;
    }
    for (int i = 1; i <= 5; i++) {
        CHECK_EQ(plain[i], 5);
        CHECK_EQ(reads[i], 5);
    }
    /* Any-write mode routes the plain write too; none routes nothing. */
    REQUIRE(alt_lb_set_affinity(lb, ALT_AFFINITY_ANY_WRITE) == ALT_OK);
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(call(lb, e, &r, "PutItem", "{\"TableName\":\"kvs\",\"Item\":"
                      "{\"pk\":{\"S\":\"key7\"}}}"), 200);
        CHECK_EQ(node_of(&r), 3);
    }
    REQUIRE(alt_lb_set_affinity(lb, ALT_AFFINITY_NONE) == ALT_OK);
    int none[6] = {0};
    for (int i = 0; i < 10; i++) {
        char body[512];
        conditional_put(body, sizeof body, "key7", i);
        CHECK_EQ(call(lb, e, &r, "PutItem", body), 200);
        none[node_of(&r)]++;
    }
    for (int i = 1; i <= 5; i++)
        CHECK_EQ(none[i], 2);
    REQUIRE(alt_lb_set_affinity(lb, ALT_AFFINITY_RMW) == ALT_OK);

    /* Node 3 dies (still listed): the write in flight goes to the plan's
     * next node, 2; then, node 3 out, the oracle's choice over the other
     * four: 4. */
    REQUIRE(tc_cmd(cluster, NULL, 0, "kill 3") == 0);
    alt_node_stats st[8];
    CHECK_EQ(put_on(lb, e, "key7", 1, 2), 1);
    size_t n = alt_lb_node_stats(lb, st, 8, sizeof st[0]);
    for (size_t i = 0; i < n; i++)
        if (strcmp(st[i].addr, "127.0.0.3") == 0)
            CHECK_EQ(st[i].retried, 1);
    /* The same with a compressed body, on an lb that has not seen node 3
     * die: the retry on node 2 sends the same compressed, signed bytes. */
    {
        char text[3001], body[3300];
        for (size_t i = 0; i < 3000; i++)
            text[i] = "retry the same bytes "[i % 21];
        text[3000] = '\0';
        snprintf(body, sizeof body, "{\"TableName\":\"kvs\",\"Item\":{"
                 "\"pk\":{\"S\":\"key7\"},\"text\":{\"S\":\"%s\"}},"
                 "\"ConditionExpression\":\"attribute_not_exists(nope)\"}",
                 text);
        sent zs;
        tu_reply zr;
        CURL *z = new_easy(&zr, &zs);
        CHECK_EQ(call(lbz, z, &zr, "PutItem", body), 200);
        CHECK_EQ(node_of(&zr), 2);
        CHECK(has_header(&zs, "Content-Encoding: gzip"));
        CHECK_EQ(call(lb, e, &r, "GetItem", "{\"TableName\":\"kvs\",\"Key\":"
                      "{\"pk\":{\"S\":\"key7\"}},\"ConsistentRead\":true}"),
                 200);
        CHECK(strstr(r.body, text) != NULL);
        alt_curl_release(lbz, z);
        curl_easy_cleanup(z);
    }
    CHECK_EQ(put_on(lb, e, "key7", 6, 4), 6);
    /* The draw is over four nodes now, so other keys may move too, as
     * with the other clients: key1 stays on 1, key2 moves from 5 to 1. */
    CHECK_EQ(put_on(lb, e, "key1", 3, 1), 3);
    CHECK_EQ(put_on(lb, e, "key2", 3, 1), 3);

    /* Delisted, across a refresh: the same. */
    REQUIRE(tc_cmd(cluster, NULL, 0, "kill 3 0") == 0);
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    REQUIRE(tu_in_rotation(lb, "127.0.0.3") == 0);
    CHECK_EQ(put_on(lb, e, "key7", 6, 4), 6);
    CHECK_EQ(put_on(lb, e, "key3", 3, 1), 3);

    /* Back: listed again by a refresh, then in rotation once its back-off
     * is over and a probe found it up; key7 returns to node 3. */
    REQUIRE(tc_cmd(cluster, NULL, 0, "revive 3") == 0);
    long long deadline = tu_now_ms() + 10000;
    int back = 0;
    while (!back && tu_now_ms() < deadline) {
        REQUIRE(alt_lb_refresh(lb) == ALT_OK);
        alt_node_stats all[8];
        size_t k = alt_lb_node_stats(lb, all, 8, sizeof all[0]);
        for (size_t i = 0; i < k; i++)
            back |= strcmp(all[i].addr, "127.0.0.3") == 0
                    && all[i].state == ALT_NODE_ACTIVE;
        if (!back)
            tu_sleep_ms(100);
    }
    CHECK(back);
    CHECK_EQ(put_on(lb, e, "key7", 6, 3), 6);

    alt_curl_release(lb, e);
    curl_easy_cleanup(e);
    alt_lb_free(lb);
    alt_lb_free(lbz);
}

/* A malformed body, a missing key, a table that does not exist: sent the
 * normal way, never an error of the library's; a body malformed only past
 * what routing reads: sent to its key's node. */
static void bad_bodies(void)
{
    alt_lb *lb = new_lb();
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    tu_reply r;
    sent s;
    CURL *e = new_easy(&r, &s);
    const char *bodies[] = {
        "{\"TableName\":\"kvs\",\"Item\":{\"pk\":{\"S\":\"x\"}",
        "{\"TableName\":\"kvs\",\"Item\":{\"other\":{\"S\":\"x\"}},"
        "\"ConditionExpression\":\"attribute_not_exists(nope)\"}",
        "{\"TableName\":\"nosuchtable\",\"Item\":{\"pk\":{\"S\":\"x\"}},"
        "\"ConditionExpression\":\"attribute_not_exists(nope)\"}",
        "not json at all"};
    int per[6] = {0};
    for (int round = 0; round < 5; round++)
        for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
            CHECK_EQ(call(lb, e, &r, "PutItem", bodies[i]), 400);
            per[node_of(&r)]++;
        }
    for (int i = 1; i <= 5; i++)
        CHECK_EQ(per[i], 4);
    /* The missing table was asked about, and stays unknown. */
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    char buf[64];
    CHECK_EQ(alt_lb_partition_key(lb, "nosuchtable", buf, sizeof buf),
             ALT_E_UNKNOWN);
    CHECK(tu_log_count("DescribeTable nosuchtable") >= 1);
    /* A plain write does not qualify in the read-modify-write mode: its
     * table is not even looked up to be learnt. */
    CHECK_EQ(call(lb, e, &r, "PutItem", "{\"TableName\":\"plainonly\","
                  "\"Item\":{\"pk\":{\"S\":\"x\"}}}"), 400);
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    CHECK_EQ(tu_log_count("DescribeTable plainonly"), 0);
    /* Malformed only past the key and the condition, where the scan has
     * stopped: routed by its key (key7's node, as in affinity_easy), and
     * refused there by the server. */
    REQUIRE(alt_lb_set_partition_key(lb, "kvs", "pk") == ALT_OK);
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(call(lb, e, &r, "PutItem", "{\"TableName\":\"kvs\",\"Item\":"
                      "{\"pk\":{\"S\":\"key7\"},\"v\":{\"N\":1x}},"
                      "\"ConditionExpression\":\"attribute_not_exists(nope)\"}"),
                 400);
        CHECK_EQ(node_of(&r), 3);
    }
    CHECK_EQ(alt_curl_prepare_request(lb, e, "Put Item", "{}", 2, NULL, 0),
             ALT_E_INVALID_ARG);
    CHECK_EQ(alt_curl_prepare_request(lb, e, "PutItem", NULL, 2, NULL, 0),
             ALT_E_INVALID_ARG);
    alt_curl_release(lb, e);
    curl_easy_cleanup(e);
    alt_lb_free(lb);
}

/* Once the transfer is over, the caller's header list may go: the handle,
 * reused for a request built by hand, no longer reaches it. */
static void headers_after_transfer(void)
{
    alt_lb *lb = new_lb();
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    tu_reply r;
    sent s;
    CURL *e = new_easy(&r, &s);
    struct curl_slist *mine = curl_slist_append(NULL, "X-Trace-Id: freed-after");
    REQUIRE(mine);
    CHECK_EQ(alt_curl_perform_request(lb, e, "ListTables", "{}", 2, mine, 0),
             CURLE_OK);
    CHECK(has_header(&s, "X-Trace-Id: freed-after"));
    curl_slist_free_all(mine);
    memset(&r, 0, sizeof r);
    memset(&s, 0, sizeof s);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "{}");
    CHECK_EQ(alt_curl_perform(lb, e), CURLE_OK);
    tu_collect(e, &r);
    CHECK_EQ(r.status, 200);
    CHECK(!has_header(&s, "X-Trace-Id"));
    alt_curl_release(lb, e);
    curl_easy_cleanup(e);
    alt_lb_free(lb);
}

/* A node back from quarantine takes one routed request on trial; another
 * one for the same key meanwhile goes where the plan goes without it. And
 * a routed request retried after a refused connection carries the
 * caller's headers again. */
static void affine_trial(void)
{
    alt_lb *lb = new_lb();
    REQUIRE(alt_lb_set_partition_key(lb, "kvs", "pk") == ALT_OK);
    REQUIRE(alt_lb_set_health(lb, 5, 3, 200, 200, 50) == ALT_OK);
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    tu_reply r, rb;
    sent s, sb;
    CURL *e = new_easy(&r, &s), *eb = new_easy(&rb, &sb);
    char body[512], bodyb[512];
    CHECK_EQ(put_on(lb, e, "key7", 1, 3), 1);

    REQUIRE(tc_cmd(cluster, NULL, 0, "kill 3") == 0);
    struct curl_slist *mine = curl_slist_append(NULL, "X-Trace-Id: retried");
    REQUIRE(mine);
    conditional_put(body, sizeof body, "key7", 100);
    memset(&r, 0, sizeof r);
    CHECK_EQ(alt_curl_perform_request(lb, e, "PutItem", body, strlen(body),
                                      mine, 0), CURLE_OK);
    tu_collect(e, &r);
    CHECK_EQ(r.status, 200);
    CHECK_EQ(node_of(&r), 2);
    CHECK(has_header(&s, "X-Trace-Id: retried")); /* the retry's headers */
    curl_slist_free_all(mine);

    REQUIRE(tc_cmd(cluster, NULL, 0, "revive 3") == 0);
    tu_sleep_ms(400); /* the 200 ms back-off is over; no refresh runs */
    conditional_put(body, sizeof body, "key7", 101);
    conditional_put(bodyb, sizeof bodyb, "key7", 102);
    REQUIRE(alt_curl_prepare_request(lb, e, "PutItem", body, strlen(body),
                                     NULL, 0) == ALT_OK);
    REQUIRE(alt_curl_prepare_request(lb, eb, "PutItem", bodyb, strlen(bodyb),
                                     NULL, 0) == ALT_OK);
    memset(&r, 0, sizeof r);
    memset(&rb, 0, sizeof rb);
    CURLcode ra = curl_easy_perform(e), rcb = curl_easy_perform(eb);
    alt_curl_done(lb, e, ra);
    alt_curl_done(lb, eb, rcb);
    tu_collect(e, &r);
    tu_collect(eb, &rb);
    CHECK_EQ(ra, CURLE_OK);
    CHECK_EQ(rcb, CURLE_OK);
    CHECK_EQ(node_of(&r), 3);  /* the trial */
    CHECK_EQ(node_of(&rb), 4); /* the plan without node 3 */
    CHECK_EQ(put_on(lb, e, "key7", 3, 3), 3); /* the trial brought it back */

    alt_curl_release(lb, e);
    alt_curl_release(lb, eb);
    curl_easy_cleanup(e);
    curl_easy_cleanup(eb);
    alt_lb_free(lb);
}

/* Whether lb knows kvs's partition key. */
static int learnt(alt_lb *lb)
{
    char buf[16];
    return alt_lb_partition_key(lb, "kvs", buf, sizeof buf) == ALT_OK
           && strcmp(buf, "pk") == 0;
}

static void learn_easy(void)
{
    alt_lb *lb = new_lb();
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    tu_reply r;
    sent s;
    CURL *e = new_easy(&r, &s);
    int per[6] = {0};
    for (int i = 0; i < 5; i++) {
        char body[512];
        conditional_put(body, sizeof body, "key2", i);
        CHECK_EQ(call(lb, e, &r, "PutItem", body), 200);
        per[node_of(&r)]++;
    }
    for (int i = 1; i <= 5; i++) /* not known yet: round-robin */
        CHECK_EQ(per[i], 1);
    CHECK(!learnt(lb));
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    CHECK(learnt(lb));
    CHECK_EQ(put_on(lb, e, "key2", 6, 5), 6);
    alt_curl_release(lb, e);
    curl_easy_cleanup(e);
    alt_lb_free(lb);
}

static void learn_thread(void)
{
    alt_lb *lb = new_lb();
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    REQUIRE(alt_lb_start(lb) == ALT_OK);
    tu_reply r;
    sent s;
    CURL *e = new_easy(&r, &s);
    long long deadline = tu_now_ms() + 10000;
    int requests = 0;
    while (!learnt(lb) && tu_now_ms() < deadline && requests < 500) {
        char body[512];
        conditional_put(body, sizeof body, "key0", requests++);
        CHECK_EQ(call(lb, e, &r, "PutItem", body), 200);
        tu_sleep_ms(10);
    }
    CHECK(learnt(lb));
    fprintf(stderr, "  thread: learnt after %d requests\n", requests);
    CHECK_EQ(put_on(lb, e, "key0", 6, 4), 6);
    alt_lb_stop(lb);
    alt_curl_release(lb, e);
    curl_easy_cleanup(e);
    alt_lb_free(lb);
}

/* A multi loop in the shape of libcurl's 10-at-a-time example: up to 10
 * transfers at once, completions read after each perform. */
static void learn_multi(void)
{
    alt_lb *lb = new_lb();
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    CURLM *multi = curl_multi_init();
    REQUIRE(multi && alt_multi_attach(lb, multi) == ALT_OK);
    enum { SLOTS = 10, TOTAL = 600 };
    CURL *easy[SLOTS];
    tu_reply r[SLOTS];
    sent s[SLOTS];
    char body[SLOTS][512];
    int started = 0, finished = 0, learnt_at = -1, routed = 0, after = 0;
    for (int i = 0; i < SLOTS; i++) {
        easy[i] = new_easy(&r[i], &s[i]);
        curl_easy_setopt(easy[i], CURLOPT_PRIVATE, &r[i]);
    }
    long long deadline = tu_now_ms() + 20000;
    int running = 0;
    for (int i = 0; i < SLOTS; i++) {
        conditional_put(body[i], sizeof body[i], "key1", started++);
        memset(&r[i], 0, sizeof r[i]);
        REQUIRE(alt_curl_prepare_request(lb, easy[i], "PutItem", body[i],
                                         strlen(body[i]), NULL, 0) == ALT_OK);
        curl_multi_add_handle(multi, easy[i]);
    }
    while (finished < started && tu_now_ms() < deadline) {
        curl_multi_perform(multi, &running);
        CURLMsg *m;
        int left;
        while ((m = alt_multi_info_read(lb, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            CURL *done = m->easy_handle;
            CURLcode res = m->data.result;
            curl_multi_remove_handle(multi, done);
            int i = 0;
            while (easy[i] != done)
                i++;
            tu_collect(done, &r[i]);
            CHECK_EQ(res, CURLE_OK);
            CHECK_EQ(r[i].status, 200);
            finished++;
            if (learnt_at >= 0 && started > learnt_at + SLOTS) {
                after++;
                routed += node_of(&r[i]) == 1;
            }
            if (learnt_at < 0 && learnt(lb))
                learnt_at = started;
            if (started < TOTAL && (learnt_at < 0 || after < 30)) {
                conditional_put(body[i], sizeof body[i], "key1", started++);
                memset(&r[i], 0, sizeof r[i]);
                REQUIRE(alt_curl_prepare_request(lb, done, "PutItem", body[i],
                                                 strlen(body[i]), NULL, 0)
                        == ALT_OK);
                curl_multi_add_handle(multi, done);
            }
        }
        if (finished < started)
            curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    fprintf(stderr, "  multi: learnt after %d requests; then %d of %d on "
            "node 1\n", learnt_at, routed, after);
    CHECK(learnt_at >= 0);
    CHECK(after >= 20);
    CHECK_EQ(routed, after);
    for (int i = 0; i < SLOTS; i++) {
        alt_curl_release(lb, easy[i]);
        curl_easy_cleanup(easy[i]);
    }
    alt_multi_detach(lb);
    curl_multi_cleanup(multi);
    alt_lb_free(lb);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    cluster = tu_cluster("--nodes 5 --auth alternator:secret");
    port = tc_port(cluster);
    {
        alt_lb *lb = new_lb();
        REQUIRE(alt_lb_refresh(lb) == ALT_OK);
        create_table(lb, "kvs");
        alt_lb_free(lb);
    }
    RUN(lean_signed_headers);
    RUN(compressed_roundtrip);
    RUN(bad_bodies);
    RUN(learn_easy);
    RUN(learn_thread);
    RUN(learn_multi);
    RUN(headers_after_transfer);
    RUN(affine_trial);  /* kills and revives node 3 */
    RUN(affinity_easy); /* last: kills and revives node 3 */
    tc_stop(cluster);
    curl_global_cleanup();
    return tu_finish();
}
