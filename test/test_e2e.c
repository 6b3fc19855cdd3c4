/*
 * End to end: real DynamoDB semantics (dynalite behind the stand-in cluster)
 * through the library, and SigV4 through a fake domain.
 *
 * - A table created through one node (plain libcurl to 127.0.0.1) is used
 *   through the library: the writes are spread over all nodes, and every
 *   item, every partition and the results of batch writes are read back
 *   from every node. The servers' own counters must agree with the nodes the
 *   client saw (CURLINFO_PRIMARY_IP): no hidden extra requests.
 * - With --auth: requests signed for dog.scylladb.com succeed on every node;
 *   a wrong secret, an unknown key or no signature are refused with the
 *   Alternator error on every node, and that costs nothing: the node list
 *   stays whole, no node leaves the rotation, nothing was written, and the
 *   good credentials keep working.
 */
#define _POSIX_C_SOURCE 200809L /* strtok_r */
#include "testutil.h"

#include <string.h>

#include <json-c/json.h>

#define FAKE "dog.scylladb.com"
#define KEY "alternator"
#define SECRET "secret_pass"

/* ------------------------------------------------------------------ JSON */

/* The value at a dot-separated path of object keys, or NULL. */
static json_object *jpath(json_object *o, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *k = strtok_r(buf, ".", &save); k && o;
         k = strtok_r(NULL, ".", &save))
        if (!json_object_object_get_ex(o, k, &o))
            return NULL;
    return o;
}

static const char *jstr(json_object *o, const char *path)
{
    json_object *v = jpath(o, path);
    return v && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v) : NULL;
}

static long jint(json_object *o, const char *path)
{
    json_object *v = jpath(o, path);
    return v && json_object_is_type(v, json_type_int)
               ? (long)json_object_get_int64(v) : -1;
}

/* Parses reply->body; NULL (and a failed check) when it is not JSON. */
static json_object *parsed(const tu_reply *r)
{
    json_object *o = json_tokener_parse(r->body);
    if (!o)
        fprintf(stderr, "  not JSON: %s\n", r->body);
    CHECK(o != NULL);
    return o;
}

/* "com.amazonaws.dynamodb.v20120810#X" -> whether X == type. */
static int is_error(const tu_reply *r, const char *type)
{
    json_object *o = json_tokener_parse(r->body);
    const char *t = o ? jstr(o, "__type") : NULL;
    const char *hash = t ? strchr(t, '#') : NULL;
    int yes = r->status == 400 && hash && strcmp(hash + 1, type) == 0
              && strncmp(t, "com.amazonaws.dynamodb.v20120810#", 33) == 0;
    if (!yes)
        fprintf(stderr, "  expected HTTP 400 %s, got %ld %s\n", type,
                r->status, r->body);
    json_object_put(o);
    return yes;
}

/* -------------------------------------------------------------- requests */

/* Through the library: one DynamoDB call; fills r (status, body, node). */
static CURLcode lb_call(alt_lb *lb, CURL *e, const char *op, const char *json,
                        tu_reply *r)
{
    struct curl_slist *h;
    tu_setup_api(e, alt_lb_url(lb), op, json, r, &h);
    CURLcode rc = alt_curl_perform(lb, e);
    tu_collect(e, r);
    curl_slist_free_all(h);
    if (rc != CURLE_OK)
        fprintf(stderr, "  %s: %s\n", op, curl_easy_strerror(rc));
    return rc;
}

/* Like lb_call, expecting 200; returns the node index (1..) or -1. */
static int lb_ok(alt_lb *lb, CURL *e, const char *op, const char *json,
                 tu_reply *r)
{
    if (lb_call(lb, e, op, json, r) != CURLE_OK || r->status != 200) {
        fprintf(stderr, "  %s -> HTTP %ld %s\n", op, r->status, r->body);
        CHECK_EQ(r->status, 200);
        return -1;
    }
    return tu_node_index(r->ip);
}

/* Without the library: straight to node 1 (http://127.0.0.1:port/). */
static long plain_call(int port, const char *op, const char *json, tu_reply *r)
{
    CHECK_EQ(tu_plain_call(port, op, json, r), CURLE_OK);
    return r->status;
}

static const char *create_table_json(const char *table, char *buf, size_t len)
{
    snprintf(buf, len,
             "{\"TableName\":\"%s\","
             "\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"},"
             "{\"AttributeName\":\"sk\",\"KeyType\":\"RANGE\"}],"
             "\"AttributeDefinitions\":[{\"AttributeName\":\"pk\","
             "\"AttributeType\":\"S\"},{\"AttributeName\":\"sk\","
             "\"AttributeType\":\"N\"}],"
             "\"BillingMode\":\"PAY_PER_REQUEST\"}",
             table);
    return buf;
}

/* Polls DescribeTable (through lb, or plain to node 1 when lb is NULL)
 * until the table is ACTIVE; at most 10 s. */
static int wait_active(int port, alt_lb *lb, CURL *e, const char *table)
{
    char json[128];
    snprintf(json, sizeof json, "{\"TableName\":\"%s\"}", table);
    long long deadline = tu_now_ms() + 10000;
    for (int i = 0; i < 1000 && tu_now_ms() < deadline; i++) {
        tu_reply r;
        if (lb)
            lb_call(lb, e, "DescribeTable", json, &r);
        else
            plain_call(port, "DescribeTable", json, &r);
        json_object *o = r.status == 200 ? json_tokener_parse(r.body) : NULL;
        const char *status = o ? jstr(o, "Table.TableStatus") : NULL;
        int active = status && strcmp(status, "ACTIVE") == 0;
        json_object_put(o);
        if (active)
            return 1;
        tu_sleep_ms(50);
    }
    return 0;
}

/* --------------------------------------------------------- data, no auth */

#define NITEMS 30

static void put_item_json(char *buf, size_t len, const char *pk, int sk,
                          const char *val)
{
    snprintf(buf, len,
             "{\"TableName\":\"e2e\",\"Item\":{\"pk\":{\"S\":\"%s\"},"
             "\"sk\":{\"N\":\"%d\"},\"val\":{\"S\":\"%s\"}}}",
             pk, sk, val);
}

/* Checks a Query answer: exactly the sort keys want[0..n) in order, each
 * with val "v<sk>". */
static void check_query(const tu_reply *r, const int *want, int n)
{
    json_object *o = parsed(r);
    if (!o)
        return;
    CHECK_EQ(jint(o, "Count"), n);
    json_object *items = jpath(o, "Items");
    CHECK(items && json_object_is_type(items, json_type_array));
    if (items && json_object_is_type(items, json_type_array)) {
        CHECK_EQ(json_object_array_length(items), n);
        for (int k = 0; k < n && k < (int)json_object_array_length(items); k++) {
            json_object *it = json_object_array_get_idx(items, (size_t)k);
            const char *sk = jstr(it, "sk.N");
            char want_sk[16], want_val[32];
            snprintf(want_sk, sizeof want_sk, "%d", want[k]);
            snprintf(want_val, sizeof want_val, "v%d", want[k]);
            CHECK(sk && strcmp(sk, want_sk) == 0);
            const char *val = jstr(it, "val.S");
            CHECK(val && strcmp(val, want_val) == 0);
        }
    }
    json_object_put(o);
}

static void data_on_every_node(void)
{
    tc_cluster *cl = tu_cluster("--nodes 3");
    int port = tc_port(cl);
    char json[1024];
    tu_reply r;

    /* The table is created through node 1 only, without the library. */
    CHECK_EQ(plain_call(port, "CreateTable",
                        create_table_json("e2e", json, sizeof json), &r), 200);
    REQUIRE(wait_active(port, NULL, NULL, "e2e"));
    REQUIRE(tc_cmd(cl, NULL, 0, "reset") == 0);

    alt_lb *lb = tu_lb(port, 1, 1);
    /* Each item from each node in turn: exact round-robin order (the
     * load-aware second choice would follow the operations' latencies). */
    REQUIRE(alt_lb_set_choice(lb, ALT_CHOICE_ROUND_ROBIN) == ALT_OK);
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    char nodes[8][ALT_ADDR_MAX];
    CHECK_EQ(alt_lb_nodes(lb, nodes, 8), 3);
    CURL *e = curl_easy_init();
    REQUIRE(e != NULL);
    long answered[4] = {0}; /* requests per node, as the client saw them */

    /* PutItem: 30 items in 3 partitions, spread over the nodes. */
    int put_by[4] = {0};
    for (int i = 0; i < NITEMS; i++) {
        char pk[8], val[16];
        snprintf(pk, sizeof pk, "p%d", i % 3);
        snprintf(val, sizeof val, "v%d", i);
        put_item_json(json, sizeof json, pk, i, val);
        int node = lb_ok(lb, e, "PutItem", json, &r);
        CHECK(node >= 1 && node <= 3);
        if (node >= 1 && node <= 3) {
            put_by[node]++;
            answered[node]++;
        }
    }
    fprintf(stderr, "  PutItem x%d answered by nodes 1/2/3: %d/%d/%d\n",
            NITEMS, put_by[1], put_by[2], put_by[3]);
    CHECK_EQ(put_by[1], NITEMS / 3);
    CHECK_EQ(put_by[2], NITEMS / 3);
    CHECK_EQ(put_by[3], NITEMS / 3);

    /* GetItem: each item three times in a row, i.e. from each node. */
    int seen_everywhere = 0;
    for (int i = 0; i < NITEMS; i++) {
        int seen[4] = {0};
        for (int k = 0; k < 3; k++) {
            snprintf(json, sizeof json,
                     "{\"TableName\":\"e2e\",\"ConsistentRead\":true,"
                     "\"Key\":{\"pk\":{\"S\":\"p%d\"},\"sk\":{\"N\":\"%d\"}}}",
                     i % 3, i);
            int node = lb_ok(lb, e, "GetItem", json, &r);
            if (node < 1 || node > 3)
                continue;
            answered[node]++;
            json_object *o = parsed(&r);
            const char *val = o ? jstr(o, "Item.val.S") : NULL;
            char want[16];
            snprintf(want, sizeof want, "v%d", i);
            if (val && strcmp(val, want) == 0)
                seen[node] = 1;
            else
                fprintf(stderr, "  GetItem %d from node %d: %s\n", i, node,
                        r.body);
            json_object_put(o);
        }
        seen_everywhere += seen[1] && seen[2] && seen[3];
    }
    CHECK_EQ(seen_everywhere, NITEMS);

    /* Query: each partition from each node, in sort-key order. */
    for (int p = 0; p < 3; p++) {
        int want[NITEMS / 3];
        for (int k = 0; k < NITEMS / 3; k++)
            want[k] = p + 3 * k;
        int from[4] = {0};
        for (int k = 0; k < 3; k++) {
            snprintf(json, sizeof json,
                     "{\"TableName\":\"e2e\",\"ConsistentRead\":true,"
                     "\"KeyConditionExpression\":\"pk = :p\","
                     "\"ExpressionAttributeValues\":{\":p\":{\"S\":\"p%d\"}}}",
                     p);
            int node = lb_ok(lb, e, "Query", json, &r);
            if (node < 1 || node > 3)
                continue;
            answered[node]++;
            from[node] = 1;
            check_query(&r, want, NITEMS / 3);
        }
        CHECK(from[1] && from[2] && from[3]);
    }

    /* BatchWriteItem: 20 puts in one call, then 5 deletes and 5 puts. */
    char *batch = malloc(8192);
    REQUIRE(batch != NULL);
    size_t len = (size_t)snprintf(batch, 8192,
                                  "{\"RequestItems\":{\"e2e\":[");
    for (int k = 0; k < 20; k++)
        len += (size_t)snprintf(batch + len, 8192 - len,
                                "%s{\"PutRequest\":{\"Item\":{\"pk\":{\"S\":"
                                "\"batch\"},\"sk\":{\"N\":\"%d\"},\"val\":"
                                "{\"S\":\"v%d\"}}}}",
                                k ? "," : "", k, k);
    snprintf(batch + len, 8192 - len, "]}}");
    int node = lb_ok(lb, e, "BatchWriteItem", batch, &r);
    if (node >= 1 && node <= 3)
        answered[node]++;
    json_object *o = parsed(&r);
    json_object *unprocessed = o ? jpath(o, "UnprocessedItems") : NULL;
    CHECK(unprocessed && json_object_object_length(unprocessed) == 0);
    json_object_put(o);

    len = (size_t)snprintf(batch, 8192, "{\"RequestItems\":{\"e2e\":[");
    for (int k = 0; k < 5; k++)
        len += (size_t)snprintf(batch + len, 8192 - len,
                                "{\"DeleteRequest\":{\"Key\":{\"pk\":{\"S\":"
                                "\"batch\"},\"sk\":{\"N\":\"%d\"}}}},"
                                "{\"PutRequest\":{\"Item\":{\"pk\":{\"S\":"
                                "\"batch\"},\"sk\":{\"N\":\"%d\"},\"val\":"
                                "{\"S\":\"v%d\"}}}}%s",
                                k, 100 + k, 100 + k, k < 4 ? "," : "");
    snprintf(batch + len, 8192 - len, "]}}");
    node = lb_ok(lb, e, "BatchWriteItem", batch, &r);
    if (node >= 1 && node <= 3)
        answered[node]++;
    o = parsed(&r);
    unprocessed = o ? jpath(o, "UnprocessedItems") : NULL;
    CHECK(unprocessed && json_object_object_length(unprocessed) == 0);
    json_object_put(o);
    free(batch);

    int want[20], from[4] = {0};
    for (int k = 0; k < 15; k++)
        want[k] = 5 + k;
    for (int k = 0; k < 5; k++)
        want[15 + k] = 100 + k;
    for (int k = 0; k < 3; k++) {
        node = lb_ok(lb, e, "Query",
                     "{\"TableName\":\"e2e\",\"ConsistentRead\":true,"
                     "\"KeyConditionExpression\":\"pk = :p\","
                     "\"ExpressionAttributeValues\":{\":p\":{\"S\":\"batch\"}}}",
                     &r);
        if (node < 1 || node > 3)
            continue;
        answered[node]++;
        from[node] = 1;
        check_query(&r, want, 20);
    }
    CHECK(from[1] && from[2] && from[3]);

    /* The servers saw exactly the requests the client saw, node by node:
     * no retries, no request escaping the rotation. */
    for (int i = 1; i <= 3; i++) {
        long api = tc_stat(cl, i, "api");
        fprintf(stderr, "  node %d: %ld API requests (client saw %ld)\n", i,
                api, answered[i]);
        CHECK_EQ(api, answered[i]);
        CHECK(api > 0);
    }
    CHECK_EQ(alt_lb_nodes(lb, nodes, 8), 3);

    curl_easy_cleanup(e);
    alt_lb_free(lb);
    tc_stop(cl);
}

/* ------------------------------------------------------------------ SigV4 */

/* An lb on the auth cluster; key NULL: no credentials. */
static alt_lb *auth_lb(int port, const char *key, const char *secret,
                       const char *region)
{
    alt_lb *lb = tu_lb(port, 2, 1);
    /* Every node signs: 3 requests each, in exact round-robin order. */
    CHECK_EQ(alt_lb_set_choice(lb, ALT_CHOICE_ROUND_ROBIN), ALT_OK);
    CHECK_EQ(alt_lb_set_fake_domain(lb, FAKE), ALT_OK);
    if (key)
        CHECK_EQ(alt_lb_set_credentials(lb, key, secret, region), ALT_OK);
    /* /localnodes needs no signature. */
    CHECK_EQ(alt_lb_refresh(lb), ALT_OK);
    char nodes[8][ALT_ADDR_MAX];
    CHECK_EQ(alt_lb_nodes(lb, nodes, 8), 3);
    return lb;
}

/* n ListTables through lb, expecting error type err (NULL: 200 and table
 * listed); returns how many answered as expected, by[] per node. */
static int list_tables(alt_lb *lb, CURL *e, int n, const char *err,
                       const char *table, int by[4])
{
    int good = 0;
    for (int i = 0; i < n; i++) {
        tu_reply r;
        if (lb_call(lb, e, "ListTables", "{}", &r) != CURLE_OK)
            continue;
        int node = tu_node_index(r.ip);
        if (node >= 1 && node <= 3)
            by[node]++;
        if (err) {
            good += is_error(&r, err);
            continue;
        }
        if (r.status == 200 && strstr(r.body, table))
            good++;
        else
            fprintf(stderr, "  ListTables: HTTP %ld %s\n", r.status, r.body);
    }
    return good;
}

static void sigv4_on_every_node(void)
{
    tc_cluster *cl = tu_cluster("--nodes 3 --auth " KEY ":" SECRET);
    int port = tc_port(cl);
    char json[1024];
    tu_reply r;
    CURL *e = curl_easy_init();
    REQUIRE(e != NULL);

    alt_lb *good = auth_lb(port, KEY, SECRET, NULL);
    char want_url[64];
    snprintf(want_url, sizeof want_url, "http://" FAKE ":%d/", port);
    CHECK(strcmp(alt_lb_url(good), want_url) == 0);

    /* Signed writes and reads, over every node. */
    CHECK(lb_ok(good, e, "CreateTable",
                create_table_json("auth", json, sizeof json), &r) > 0);
    REQUIRE(wait_active(port, good, e, "auth"));
    int put_by[4] = {0}, read_by[4] = {0};
    for (int i = 0; i < 9; i++) {
        snprintf(json, sizeof json,
                 "{\"TableName\":\"auth\",\"Item\":{\"pk\":{\"S\":\"k\"},"
                 "\"sk\":{\"N\":\"%d\"},\"val\":{\"S\":\"signed-%d\"}}}",
                 i, i);
        int node = lb_ok(good, e, "PutItem", json, &r);
        if (node >= 1 && node <= 3)
            put_by[node]++;
    }
    for (int i = 0; i < 9; i++) {
        snprintf(json, sizeof json,
                 "{\"TableName\":\"auth\",\"ConsistentRead\":true,"
                 "\"Key\":{\"pk\":{\"S\":\"k\"},\"sk\":{\"N\":\"%d\"}}}", i);
        int node = lb_ok(good, e, "GetItem", json, &r);
        json_object *o = parsed(&r);
        char want[32];
        snprintf(want, sizeof want, "signed-%d", i);
        const char *val = o ? jstr(o, "Item.val.S") : NULL;
        if (node >= 1 && node <= 3 && val && strcmp(val, want) == 0)
            read_by[node]++;
        json_object_put(o);
    }
    CHECK(put_by[1] == 3 && put_by[2] == 3 && put_by[3] == 3);
    CHECK(read_by[1] == 3 && read_by[2] == 3 && read_by[3] == 3);
    int by[4] = {0};
    CHECK_EQ(list_tables(good, e, 9, NULL, "\"auth\"", by), 9);
    CHECK(by[1] == 3 && by[2] == 3 && by[3] == 3);

    /* Alternator checks no region: another one signs just as well. */
    alt_lb *region = auth_lb(port, KEY, SECRET, "eu-west-1");
    int rby[4] = {0};
    CHECK_EQ(list_tables(region, e, 6, NULL, "\"auth\"", rby), 6);
    CHECK(rby[1] == 2 && rby[2] == 2 && rby[3] == 2);
    alt_lb_free(region);

    /* A wrong secret: refused by every node, HTTP 400, and harmless. */
    REQUIRE(tc_cmd(cl, NULL, 0, "reset") == 0);
    alt_lb *bad = auth_lb(port, KEY, "wrong_pass", NULL);
    int bby[4] = {0};
    CHECK_EQ(list_tables(bad, e, 30, "UnrecognizedClientException", NULL, bby),
             30);
    fprintf(stderr, "  wrong secret: refused by nodes 1/2/3: %d/%d/%d\n",
            bby[1], bby[2], bby[3]);
    CHECK(bby[1] == 10 && bby[2] == 10 && bby[3] == 10);
    /* A refused write writes nothing. */
    CHECK_EQ(lb_call(bad, e, "PutItem",
                     "{\"TableName\":\"auth\",\"Item\":{\"pk\":{\"S\":\"k\"},"
                     "\"sk\":{\"N\":\"0\"},\"val\":{\"S\":\"forged\"}}}", &r),
             CURLE_OK);
    CHECK(is_error(&r, "UnrecognizedClientException"));
    /* Still three nodes in rotation, and the requests keep going round. */
    char nodes[8][ALT_ADDR_MAX];
    CHECK_EQ(alt_lb_nodes(bad, nodes, 8), 3);
    int again[4] = {0};
    CHECK_EQ(list_tables(bad, e, 3, "UnrecognizedClientException", NULL,
                         again), 3);
    CHECK(again[1] == 1 && again[2] == 1 && again[3] == 1);
    CHECK_EQ(alt_lb_refresh(bad), ALT_OK);
    CHECK_EQ(alt_lb_nodes(bad, nodes, 8), 3);
    /* The refused requests did reach the nodes (not a client-side error). */
    for (int i = 1; i <= 3; i++)
        CHECK_EQ(tc_stat(cl, i, "api"), 11 + (i == tu_node_index(r.ip)));
    alt_lb_free(bad);

    /* An unknown key, and no signature at all. */
    alt_lb *nobody = auth_lb(port, "nobody", SECRET, NULL);
    int nby[4] = {0};
    CHECK_EQ(list_tables(nobody, e, 3, "UnrecognizedClientException", NULL,
                         nby), 3);
    alt_lb_free(nobody);
    /* A fresh handle: an lb without credentials leaves the SigV4 options
     * of a handle alone (alt_curl_prepare() touches no other option), so
     * one signed before would still be signed. */
    alt_lb *unsigned_lb = auth_lb(port, NULL, NULL, NULL);
    CURL *plain = curl_easy_init();
    REQUIRE(plain != NULL);
    int uby[4] = {0};
    CHECK_EQ(list_tables(unsigned_lb, plain, 3,
                         "MissingAuthenticationTokenException", NULL, uby), 3);
    CHECK(uby[1] == 1 && uby[2] == 1 && uby[3] == 1);
    CHECK_EQ(alt_lb_nodes(unsigned_lb, nodes, 8), 3);
    curl_easy_cleanup(plain);
    alt_lb_free(unsigned_lb);

    /* Nothing was lost: the data is intact and the good key still works on
     * every node. */
    for (int k = 0; k < 3; k++) {
        int node = lb_ok(good, e, "GetItem",
                         "{\"TableName\":\"auth\",\"ConsistentRead\":true,"
                         "\"Key\":{\"pk\":{\"S\":\"k\"},\"sk\":{\"N\":\"0\"}}}",
                         &r);
        CHECK(node >= 1 && node <= 3);
        json_object *o = parsed(&r);
        const char *val = o ? jstr(o, "Item.val.S") : NULL;
        CHECK(val && strcmp(val, "signed-0") == 0);
        json_object_put(o);
    }
    int gby[4] = {0};
    CHECK_EQ(list_tables(good, e, 3, NULL, "\"auth\"", gby), 3);
    CHECK(gby[1] == 1 && gby[2] == 1 && gby[3] == 1);
    CHECK_EQ(alt_lb_nodes(good, nodes, 8), 3);

    alt_lb_free(good);
    curl_easy_cleanup(e);
    tc_stop(cl);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    RUN(data_on_every_node);
    RUN(sigv4_on_every_node);
    curl_global_cleanup();
    return tu_finish();
}
