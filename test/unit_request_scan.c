/*
 * Unit tests of lib/request_scan.c: operation names, the read-modify-write
 * rules of the Go client on bodies of every shape, the spans, the key's
 * bytes of each type, unescaping, base64, and bad input of every kind.
 * Every body is read from the end of a page followed by an inaccessible
 * one, so a read past its length faults even without a sanitizer.
 */
#define _GNU_SOURCE
#include "../lib/request_scan.h"
#include "unit.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHECK_CASE(c, what)                                               \
    do {                                                                  \
        if (!(c)) {                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s [%s]\n", __FILE__,   \
                    __LINE__, #c, what);                                  \
            failures++;                                                   \
        }                                                                 \
    } while (0)

/* ---- Guarded placement ------------------------------------------------ */

#define ARENA (256 * 1024)
static char *arena;

static void arena_init(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, ARENA + page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || mprotect(m + ARENA, page, PROT_NONE) != 0) {
        perror("mmap");
        exit(1);
    }
    arena = m;
}

/* A copy of s[0..n) whose last byte is the last readable one. */
static const char *place(const char *s, size_t n)
{
    if (n > ARENA)
        abort();
    memcpy(arena + ARENA - n, s, n);
    return arena + ARENA - n;
}

static bool scan_n(alt__op op, const char *body, size_t n, alt__scan *out)
{
    return alt__scan_request(op, place(body, n), n, NULL, out);
}

static bool scan(alt__op op, const char *body, alt__scan *out)
{
    return scan_n(op, body, strlen(body), out);
}

static bool span_is(const char *s, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(s, want, n) == 0;
}

/* ---- Operation names ------------------------------------------------- */

static const struct {
    const char *name;
    alt__op op;
    bool read;
    bool stream;
} ops[] = {
    {"GetItem", ALT__OP_GET_ITEM, true, false},
    {"PutItem", ALT__OP_PUT_ITEM, false, false},
    {"UpdateItem", ALT__OP_UPDATE_ITEM, false, false},
    {"DeleteItem", ALT__OP_DELETE_ITEM, false, false},
    {"Query", ALT__OP_QUERY, true, false},
    {"Scan", ALT__OP_SCAN, true, false},
    {"BatchGetItem", ALT__OP_BATCH_GET_ITEM, true, false},
    {"BatchWriteItem", ALT__OP_BATCH_WRITE_ITEM, false, false},
    {"TransactGetItems", ALT__OP_TRANSACT_GET_ITEMS, true, false},
    {"TransactWriteItems", ALT__OP_TRANSACT_WRITE_ITEMS, false, false},
    {"DescribeTable", ALT__OP_DESCRIBE_TABLE, true, false},
    {"ListTables", ALT__OP_LIST_TABLES, true, false},
    {"ExecuteStatement", ALT__OP_EXECUTE_STATEMENT, false, false},
    {"CreateTable", ALT__OP_CREATE_TABLE, false, false},
    {"DeleteTable", ALT__OP_DELETE_TABLE, false, false},
    {"UpdateTable", ALT__OP_UPDATE_TABLE, false, false},
    {"DescribeEndpoints", ALT__OP_DESCRIBE_ENDPOINTS, true, false},
    {"DescribeTimeToLive", ALT__OP_DESCRIBE_TIME_TO_LIVE, true, false},
    {"UpdateTimeToLive", ALT__OP_UPDATE_TIME_TO_LIVE, false, false},
    {"DescribeContinuousBackups", ALT__OP_DESCRIBE_CONTINUOUS_BACKUPS, true,
     false},
    {"TagResource", ALT__OP_TAG_RESOURCE, false, false},
    {"UntagResource", ALT__OP_UNTAG_RESOURCE, false, false},
    {"ListTagsOfResource", ALT__OP_LIST_TAGS_OF_RESOURCE, true, false},
    {"ListStreams", ALT__OP_LIST_STREAMS, true, true},
    {"DescribeStream", ALT__OP_DESCRIBE_STREAM, true, true},
    {"GetShardIterator", ALT__OP_GET_SHARD_ITERATOR, true, true},
    {"GetRecords", ALT__OP_GET_RECORDS, true, true},
};

static alt__op lookup(const char *s)
{
    size_t n = strlen(s);
    return alt__op_lookup(place(s, n), n);
}

static void op_names(void)
{
    size_t count = sizeof ops / sizeof ops[0];
    CHECK(count == (size_t)(ALT__OP_COUNT_ - 1));
    for (size_t i = 0; i < count; i++) {
        char full[128];
        CHECK_CASE(lookup(ops[i].name) == ops[i].op, ops[i].name);
        snprintf(full, sizeof full, "DynamoDB_20120810.%s", ops[i].name);
        CHECK_CASE(lookup(full) == (ops[i].stream ? ALT__OP_OTHER : ops[i].op),
                   full);
        snprintf(full, sizeof full, "DynamoDBStreams_20120810.%s",
                 ops[i].name);
        CHECK_CASE(lookup(full) == (ops[i].stream ? ops[i].op : ALT__OP_OTHER),
                   full);
        CHECK_CASE(alt__op_is_read(ops[i].op) == ops[i].read, ops[i].name);
        /* Every strict prefix and a longer name are other operations. */
        size_t n = strlen(ops[i].name);
        for (size_t k = 0; k < n; k++) {
            alt__op op = alt__op_lookup(place(ops[i].name, k), k);
            /* "GetItem" is no prefix of another name, but check anyway. */
            bool is_name = false;
            for (size_t j = 0; j < count; j++)
                if (strlen(ops[j].name) == k &&
                    memcmp(ops[j].name, ops[i].name, k) == 0)
                    is_name = true;
            CHECK_CASE(is_name || op == ALT__OP_OTHER, ops[i].name);
        }
        snprintf(full, sizeof full, "%sX", ops[i].name);
        CHECK_CASE(lookup(full) == ALT__OP_OTHER, full);
        /* Case matters. */
        snprintf(full, sizeof full, "%s", ops[i].name);
        full[0] = (char)(full[0] + 'a' - 'A');
        CHECK_CASE(lookup(full) == ALT__OP_OTHER, full);
    }
    CHECK(!alt__op_is_read(ALT__OP_OTHER));
    CHECK(!alt__op_is_read(ALT__OP_EXECUTE_STATEMENT));
    const char *bad[] = {
        "", "P", "putitem", "PUTITEM", "PutItem ", " PutItem",
        "DynamoDB_20120810.", "DynamoDB_20120810", "DynamoDB_20120810PutItem",
        "DynamoDB_20120811.PutItem", "DynamoDB_20120810..PutItem",
        "X.PutItem", ".PutItem", "dynamodb_20120810.PutItem",
        "DynamoDB_20120810.DynamoDB_20120810.PutItem", "GetItemX",
        "DynamoDBStreams_20120810.", "DescribeContinuousBackupsX",
        "DescribeContinuousBackup", "Put\0Item",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_CASE(lookup(bad[i]) == ALT__OP_OTHER, bad[i]);
    CHECK(alt__op_lookup("Put\0Item", 8) == ALT__OP_OTHER);
    CHECK(alt__op_lookup(NULL, 0) == ALT__OP_OTHER);
    CHECK(alt__op_lookup("PutItemXYZ", 7) == ALT__OP_PUT_ITEM);
}

/* ---- The rules ------------------------------------------------------- */

#define P ALT__OP_PUT_ITEM
#define U ALT__OP_UPDATE_ITEM
#define D ALT__OP_DELETE_ITEM
#define K "\"Key\":{\"p\":{\"S\":\"k\"}}"
#define I "\"Item\":{\"p\":{\"S\":\"k\"},\"a\":{\"N\":\"1\"}}"
#define T "\"TableName\":\"t\""

static const struct rule {
    alt__op op;
    const char *body;
    bool ok, rmw;
} rules[] = {
    /* PutItem (Go doesPutNeedReadBeforeWrite): Expected non-empty,
     * ConditionExpression non-empty, ReturnValues == ALL_OLD. */
    {P, "{" T "," I "}", true, false},
    {P, "{" I "," T "}", true, false},
    {P, "{" T "," I ",\"ConditionExpression\":\"attribute_not_exists(p)\"}",
     true, true},
    {P, "{\"ConditionExpression\":\"x\"," T "," I "}", true, true},
    {P, "{" T "," I ",\"ConditionExpression\":\"\"}", true, false},
    {P, "{" T "," I ",\"ConditionExpression\":null}", true, false},
    {P, "{" T "," I ",\"ConditionExpression\":\"\\u0020\"}", true, true},
    {P, "{" T "," I ",\"ConditionExpression\":1}", false, false},
    {P, "{" T "," I ",\"ConditionExpression\":{}}", false, false},
    {P, "{" T "," I ",\"ConditionExpression\":[\"x\"]}", false, false},
    {P, "{" T "," I ",\"ConditionExpression\":true}", false, false},
    {P, "{" T "," I ",\"Expected\":{}}", true, false},
    {P, "{" T "," I ",\"Expected\":{ \n }}", true, false},
    {P, "{" T "," I ",\"Expected\":null}", true, false},
    {P, "{" T "," I ",\"Expected\":{\"a\":{\"Exists\":false}}}", true, true},
    {P, "{" T "," I ",\"Expected\":{\"a\":null}}", true, true},
    {P, "{" T "," I ",\"Expected\":[]}", false, false},
    {P, "{" T "," I ",\"Expected\":\"a\"}", false, false},
    {P, "{" T "," I ",\"ReturnValues\":\"ALL_OLD\"}", true, true},
    {P, "{" T "," I ",\"ReturnValues\":\"ALL\\u005fOLD\"}", true, true},
    {P, "{" T "," I ",\"ReturnValues\":\"\\u0041\\u004C\\u004c_OLD\"}", true,
     true},
    {P, "{" T "," I ",\"ReturnValues\":\"NONE\"}", true, false},
    {P, "{" T "," I ",\"ReturnValues\":\"ALL_NEW\"}", true, false},
    {P, "{" T "," I ",\"ReturnValues\":\"UPDATED_OLD\"}", true, false},
    {P, "{" T "," I ",\"ReturnValues\":\"all_old\"}", true, false},
    {P, "{" T "," I ",\"ReturnValues\":\"ALL_OLD \"}", true, false},
    {P, "{" T "," I ",\"ReturnValues\":\"\"}", true, false},
    {P, "{" T "," I ",\"ReturnValues\":null}", true, false},
    {P, "{" T "," I ",\"ReturnValues\":\"ALL_OLDALL_OLDALL_OLDALL_OLD\"}", true,
     false},
    {P, "{" T "," I ",\"ReturnValues\":7}", false, false},
    {P, "{" T "," I ",\"ReturnValues\":\"ALL\\xOLD\"}", false, false},
    {P, "{" T "," I ",\"ReturnValues\":\"ALL\\u00\"}", false, false},
    /* Members PutItem has not: ignored, not even type-checked. */
    {P, "{" T "," I ",\"UpdateExpression\":\"SET a = :v\"}", true, false},
    {P, "{" T "," I ",\"UpdateExpression\":5}", true, false},
    {P, "{" T "," I ",\"AttributeUpdates\":{\"a\":{\"Action\":\"ADD\"}}}",
     true, false},
    {P, "{" T "," I "," K "}", true, false},
    {P, "{" T "," K "}", false, false},
    {P, "{" T ",\"ReturnValuesOnConditionCheckFailure\":\"ALL_OLD\"," I "}",
     true, false},
    /* The table and the item. */
    {P, "{" I "}", false, false},
    {P, "{\"TableName\":\"\"," I "}", false, false},
    {P, "{\"TableName\":null," I "}", false, false},
    {P, "{\"TableName\":7," I "}", false, false},
    {P, "{\"TableName\":[\"t\"]," I "}", false, false},
    {P, "{\"TableName\":{}," I "}", false, false},
    {P, "{" T "}", false, false},
    {P, "{" T ",\"Item\":null}", false, false},
    {P, "{" T ",\"Item\":[]}", false, false},
    {P, "{" T ",\"Item\":\"x\"}", false, false},
    {P, "{" T ",\"Item\":1}", false, false},
    {P, "{" T ",\"Item\":{}}", true, false},
    {P, "{" T "," T "," I "}", false, false},
    {P, "{" T "," I "," I "}", false, false},
    {P, "{" T "," I ",\"ConditionExpression\":\"a\","
        "\"ConditionExpression\":\"a\"}", false, false},
    {P, "{" T "," I ",\"ConditionExpression\":null,"
        "\"ConditionExpression\":\"a\"}", false, false},
    {P, "{" T "," I ",\"Expected\":{},\"Expected\":{}}", false, false},
    /* Escaped member names. */
    {P, "{\"Table\\u004eame\":\"t\"," I "}", true, false},
    {P, "{\"\\u0054\\u0061\\u0062\\u006c\\u0065\\u004e\\u0061\\u006d\\u0065\":"
        "\"t\"," I "}", true, false},
    {P, "{" T ",\"\\u0049tem\":{}}", true, false},
    {P, "{" T "," I ",\"Condition\\u0045xpression\":\"x\"}", true, true},
    {P, "{" T "," I ",\"\\u0045xpected\":{\"a\":{}}}", true, true},
    {P, "{" T "," I ",\"Return\\u0056alues\":\"ALL_OLD\"}", true, true},
    {P, "{" T "," I ",\"Condition\\u0045xpression \":\"x\"}", true, false},
    {P, "{" T "," I ",\"Condition\\xExpression\":\"x\"}", true, false},
    {P, "{" T "," I ",\"Condition\\\"Expression\":\"x\"}", true, false},
    {P, "{" T ",\"Table\\u004eame\":\"t\"," I "}", false, false},
    {P, "{\"tablename\":\"t\"," I "}", false, false},
    /* Whitespace everywhere, and around the body. */
    {P, " \t\r\n{ \"TableName\" \n:\t\"t\" , \"Item\" : { \"p\" : { \"S\" : "
        "\"k\" } , \"l\" : [ 1 , 2 ] } , \"ConditionExpression\" :\r\n\"x\" "
        "} \n\t ", true, true},
    /* Values skipped whatever they hold. */
    {P, "{\"ExpressionAttributeValues\":{\":v\":{\"S\":\"}{][\\\"\\\\\"},"
        "\":w\":{\"L\":[{\"M\":{\"a\":{\"N\":\"1\"}}},[],{}]}}," T "," I "}",
     true, false},
    {P, "{\"X\":[1,-0.5,1e10,1E+2,-0e-0,true,false,null,\"s\",{},[],"
        "{\"a\":[{}]}]," T "," I "}", true, false},
    {P, "{\"X\":\"\\\\\"," T "," I "}", true, false},
    {P, "{\"X\":\"\\\\\\\\\\\"\\\\\"," T "," I "}", true, false},
    {P, "{\"X\":\"a\\\"," T "," I "}", false, false},
    {P, "{\"X\":\"\xe3\x81\x93\xff\"," T "," I "}", true, false},
    {P, "{\"X\":\"\\ud800\\q\"," T "," I "}", true, false},
    /* Malformed. */
    {P, "", false, false},
    {P, " ", false, false},
    {P, "[]", false, false},
    {P, "null", false, false},
    {P, "\"x\"", false, false},
    {P, "{", false, false},
    {P, "{}", false, false},
    {P, "{" T "," I "}x", false, false},
    {P, "{" T "," I "}}", false, false},
    {P, "{" T "," I "}{}", false, false},
    {P, "{" T "," I ",}", false, false},
    {P, "{," T "," I "}", false, false},
    {P, "{" T ",," I "}", false, false},
    {P, "{" T " " I "}", false, false},
    {P, "{\"TableName\" \"t\"," I "}", false, false},
    {P, "{\"TableName\"::\"t\"," I "}", false, false},
    {P, "{TableName:\"t\"," I "}", false, false},
    {P, "{'TableName':'t'," I "}", false, false},
    {P, "{" T ",\"Item\":{\"p\":{\"S\":\"k\"}," I "}", false, false},
    {P, "{" T ",\"Item\":{\"p\"}}", false, false},
    {P, "{" T ",\"Item\":{\"p\":}}", false, false},
    {P, "{" T ",\"Item\":{\"p\":1,}}", false, false},
    {P, "{" T ",\"Item\":{\"p\":[1,]}}", false, false},
    {P, "{" T ",\"Item\":{\"p\":[,1]}}", false, false},
    {P, "{" T ",\"Item\":{\"p\":[1}}}", false, false},
    {P, "{" T ",\"Item\":{\"p\":{\"a\":1]}}", false, false},
    {P, "{" T ",\"Item\":{\"p\":{1:1}}}", false, false},
    {P, "{" T "," I ",\"X\":01}", false, false},
    {P, "{" T "," I ",\"X\":1.}", false, false},
    {P, "{" T "," I ",\"X\":.5}", false, false},
    {P, "{" T "," I ",\"X\":-}", false, false},
    {P, "{" T "," I ",\"X\":+1}", false, false},
    {P, "{" T "," I ",\"X\":1e}", false, false},
    {P, "{" T "," I ",\"X\":1e+}", false, false},
    {P, "{" T "," I ",\"X\":0x1}", false, false},
    {P, "{" T "," I ",\"X\":tru}", false, false},
    {P, "{" T "," I ",\"X\":truex}", false, false},
    {P, "{" T "," I ",\"X\":nul}", false, false},
    {P, "{" T "," I ",\"X\":False}", false, false},
    {P, "{" T "," I ",\"X\":NaN}", false, false},
    {P, "{" T "," I ",\"X\":}", false, false},
    {P, "{" T "," I ",\"X\"}", false, false},
    {P, "{" T "," I ",\"X\":\"}", false, false},
    {P, "{" T "," I ",\"X:1}", false, false},
    {P, "{\"TableName\":\"t," I "}", false, false},
    /* DeleteItem: like PutItem, from Key. */
    {D, "{" T "," K "}", true, false},
    {D, "{" T "," I "}", false, false},
    {D, "{" T "," K "," I "}", true, false},
    {D, "{" T "," K ",\"ConditionExpression\":\"attribute_exists(p)\"}", true,
     true},
    {D, "{" T "," K ",\"ConditionExpression\":\"\"}", true, false},
    {D, "{" T "," K ",\"Expected\":{\"p\":{\"Value\":{\"S\":\"k\"}}}}", true,
     true},
    {D, "{" T "," K ",\"Expected\":{}}", true, false},
    {D, "{" T "," K ",\"ReturnValues\":\"ALL_OLD\"}", true, true},
    {D, "{" T "," K ",\"ReturnValues\":\"NONE\"}", true, false},
    {D, "{" T "," K ",\"ReturnValues\":\"ALL_NEW\"}", true, false},
    {D, "{" T "," K ",\"UpdateExpression\":\"SET a = :v\"}", true, false},
    {D, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"Action\":\"ADD\"}}}", true,
     false},
    {D, "{" T ",\"Key\":null}", false, false},
    {D, "{" T ",\"Key\":[]}", false, false},
    {D, "{" T "," K "," K "}", false, false},
    /* UpdateItem (Go doesUpdateNeedReadBeforeWrite). */
    {U, "{" T "," K "}", true, false},
    {U, "{" T "," I "}", false, false},
    {U, "{" T "," K ",\"UpdateExpression\":\"SET a = :v\"}", true, true},
    {U, "{" T "," K ",\"UpdateExpression\":\"\"}", true, false},
    {U, "{" T "," K ",\"UpdateExpression\":null}", true, false},
    {U, "{" T "," K ",\"UpdateExpression\":1}", false, false},
    {U, "{" T "," K ",\"ConditionExpression\":\"a = :v\"}", true, true},
    {U, "{" T "," K ",\"Expected\":{\"a\":{\"Exists\":false}}}", true, true},
    {U, "{" T "," K ",\"Expected\":{}}", true, false},
    {U, "{" T "," K ",\"ReturnValues\":\"NONE\"}", true, false},
    {U, "{" T "," K ",\"ReturnValues\":\"UPDATED_NEW\"}", true, false},
    {U, "{" T "," K ",\"ReturnValues\":\"\"}", true, false},
    {U, "{" T "," K ",\"ReturnValues\":null}", true, false},
    {U, "{" T "," K ",\"ReturnValues\":\"ALL_OLD\"}", true, true},
    {U, "{" T "," K ",\"ReturnValues\":\"UPDATED_OLD\"}", true, true},
    {U, "{" T "," K ",\"ReturnValues\":\"ALL_NEW\"}", true, true},
    {U, "{" T "," K ",\"ReturnValues\":\"BOGUS\"}", true, true},
    {U, "{" T "," K ",\"ReturnValues\":\"none\"}", true, true},
    {U, "{" T "," K ",\"ReturnValues\":\"UPDATED_NEWUPDATED_NEWUPDATED\"}",
     true, true},
    {U, "{" T "," K ",\"ReturnValues\":\"\\u004eONE\"}", true, false},
    {U, "{" T "," K ",\"ReturnValues\":[]}", false, false},
    {U, "{" T "," K ",\"AttributeUpdates\":{}}", true, false},
    {U, "{" T "," K ",\"AttributeUpdates\":null}", true, false},
    {U, "{" T "," K ",\"AttributeUpdates\":[]}", false, false},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"Action\":\"PUT\","
        "\"Value\":{\"S\":\"x\"}}}}", true, false},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"Value\":{\"S\":\"x\"}}}}",
     true, false},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"Action\":\"ADD\","
        "\"Value\":{\"N\":\"1\"}}}}", true, true},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"Action\":\"ADD\"}}}", true,
     true},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"Value\":{\"N\":\"1\"},"
        "\"Action\":\"ADD\"}}}", true, true},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"Action\":\"DELETE\"}}}",
     true, false},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"Action\":\"DELETE\","
        "\"Value\":null}}}", true, false},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"Action\":\"DELETE\","
        "\"Value\":{\"SS\":[\"x\"]}}}}", true, true},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"Value\":{\"SS\":[\"x\"]},"
        "\"Action\":\"DELETE\"}}}", true, true},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"Action\":\"add\"}}}", true,
     false},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"Action\":\"\\u0041DD\"}}}",
     true, true},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"\\u0041ction\":\"ADD\"}}}",
     true, true},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"Action\":null}}}", true,
     false},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":null}}", true, false},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{}}}", true, false},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"Action\":\"PUT\"},"
        "\"b\":{\"Action\":\"ADD\"}}}", true, true},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"Action\":\"ADD\"},"
        "\"b\":{\"Action\":\"PUT\"}}}", true, true},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"Action\":\"PUT\","
        "\"Foo\":[1,{\"Action\":\"ADD\"}]}}}", true, false},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"Action\":\"ADD\"},"
        "\"b\":5}}", false, false},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"Action\":1}}}", false,
     false},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"Action\":\"DELETE\","
        "\"Value\":\"x\"}}}", false, false},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"Action\":\"PUT\","
        "\"Action\":\"ADD\"}}}", false, false},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"Action\":\"DELETE\","
        "\"Value\":null,\"Value\":{\"S\":\"x\"}}}}", false, false},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"Action\":null,"
        "\"Action\":\"ADD\"}}}", false, false},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"Action\":\"A\\qD\"}}}",
     false, false},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"Action\":\"ADD\",}}}",
     false, false},
    {U, "{" T "," K ",\"AttributeUpdates\":{\"a\":{\"Action\":\"ADD\"}}"
        ",\"AttributeUpdates\":{}}", false, false},
    /* Not single-item writes. */
    {ALT__OP_GET_ITEM, "{" T "," K "}", false, false},
    {ALT__OP_OTHER, "{" T "," K "}", false, false},
    {ALT__OP_BATCH_WRITE_ITEM, "{" T "," I "}", false, false},
    {ALT__OP_TRANSACT_WRITE_ITEMS, "{" T "," I "}", false, false},
    {ALT__OP_EXECUTE_STATEMENT, "{" T "," I "}", false, false},
    {ALT__OP_QUERY, "{" T "," K "}", false, false},
};

static void rule_table(void)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const struct rule *r = &rules[i];
        alt__scan s;
        memset(&s, 0x5a, sizeof s);
        bool ok = scan(r->op, r->body, &s);
        CHECK_CASE(ok == r->ok, r->body);
        CHECK_CASE(s.rmw == (ok && r->rmw), r->body);
        CHECK_CASE(s.write == ok, r->body);
        if (!ok) {
            CHECK_CASE(!s.table && !s.item && !s.table_len && !s.item_len,
                       r->body);
            continue;
        }
        /* The spans lie inside the body placed at the arena's end. */
        size_t n = strlen(r->body);
        const char *b = arena + ARENA - n;
        CHECK_CASE(s.table > b && s.table + s.table_len < b + n, r->body);
        CHECK_CASE(s.item >= b && s.item + s.item_len <= b + n, r->body);
        CHECK_CASE(s.item_len >= 2 && s.item[0] == '{' &&
                       s.item[s.item_len - 1] == '}', r->body);
        CHECK_CASE(s.table[-1] == '"' && s.table[s.table_len] == '"', r->body);
    }
}

static void spans(void)
{
    alt__scan s;
    CHECK(scan(P, "{\"TableName\":\"my_table\",\"Item\":{\"p\":{\"S\":\"a\"}},"
                  "\"ConditionExpression\":\"x\"}", &s));
    CHECK(span_is(s.table, s.table_len, "my_table"));
    CHECK(span_is(s.item, s.item_len, "{\"p\":{\"S\":\"a\"}}"));
    CHECK(s.rmw && s.write);
    CHECK(scan(U, " { \"Key\" : { \"p\" : { \"N\" : \"1\" } } ,\n"
                  "\"TableName\" : \"a\\u002db\" } ", &s));
    CHECK(span_is(s.table, s.table_len, "a\\u002db"));
    CHECK(span_is(s.item, s.item_len, "{ \"p\" : { \"N\" : \"1\" } }"));
    CHECK(!s.rmw && s.write);
    unsigned char name[16];
    bool ok;
    size_t n = alt__json_unescape(s.table, s.table_len, name, sizeof name, &ok);
    CHECK(ok && n == 3 && memcmp(name, "a-b", 3) == 0);
    /* NULL body. */
    CHECK(!alt__scan_request(P, NULL, 0, NULL, &s));
    CHECK(!alt__scan_request(P, NULL, 10, NULL, &s));
}

/* Nesting: 128 containers inside one value are fine, 129 are not, and a
 * million are refused without a deep stack. */
static void nesting(void)
{
    static char body[16384];
    const char *head = "{" T "," I ",\"X\":";
    for (int depth = 126; depth <= 130; depth++) {
        for (int kind = 0; kind < 2; kind++) {
            size_t n = (size_t)sprintf(body, "%s", head);
            for (int d = 0; d < depth; d++)
                n += (size_t)sprintf(body + n, "%s",
                                     kind ? "{\"a\":" : "[");
            body[n++] = '1';
            for (int d = 0; d < depth; d++)
                body[n++] = kind ? '}' : ']';
            body[n++] = '}';
            alt__scan s;
            bool ok = scan_n(P, body, n, &s);
            CHECK(ok == (depth <= 128));
        }
    }
    /* Deep Item nesting, as DynamoDB's 32 levels of maps make it. */
    size_t n = (size_t)sprintf(body, "{" T ",\"Item\":{\"p\":{\"S\":\"k\"},"
                                     "\"m\":");
    for (int d = 0; d < 32; d++)
        n += (size_t)sprintf(body + n, "{\"M\":{\"a\":");
    n += (size_t)sprintf(body + n, "{\"S\":\"x\"}");
    for (int d = 0; d < 32; d++)
        n += (size_t)sprintf(body + n, "}}");
    n += (size_t)sprintf(body + n, "}}");
    alt__scan s;
    CHECK(scan_n(P, body, n, &s));
    /* A whole arena of open brackets, built in place against the guard. */
    size_t big = ARENA;
    char *b = arena;
    memcpy(b, "{\"X\":", 5);
    memset(b + 5, '[', big - 5);
    CHECK(!alt__scan_request(P, b, big, NULL, &s));
    memset(b + 5, '{', big - 5);
    CHECK(!alt__scan_request(P, b, big, NULL, &s));
}

/* ---- Every prefix ---------------------------------------------------- */

static const char *valid_bodies[] = {
    "{\"TableName\":\"orders\",\"Item\":{\"pk\":{\"S\":\"user#1\"},\"sk\":"
    "{\"N\":\"17\"},\"tags\":{\"SS\":[\"a\",\"b\"]},\"m\":{\"M\":{\"x\":"
    "{\"L\":[{\"N\":\"1\"},{\"BOOL\":true},{\"NULL\":true}]}}},\"s\":"
    "{\"S\":\"}{\\\"][\\\\\"}},\"ConditionExpression\":"
    "\"attribute_not_exists(pk)\",\"ExpressionAttributeValues\":{},"
    "\"ReturnValues\":\"ALL_OLD\",\"X\":[-1.5e3,true,false,null]}",
    "{\"TableName\":\"t\",\"Key\":{\"pk\":{\"B\":\"AAEC/w==\"}},"
    "\"UpdateExpression\":\"SET a = :v\",\"AttributeUpdates\":{\"a\":"
    "{\"Action\":\"DELETE\",\"Value\":{\"S\":\"x\"}}}}",
    " { \"Table\\u004eame\" : \"t\" , \"Key\" : { \"pk\" : { \"N\" : \"0\" } }"
    " , \"Expected\" : { \"a\" : { \"Exists\" : false } } } ",
};

static void prefixes(void)
{
    alt__op op_of[] = {P, U, D};
    for (size_t i = 0; i < sizeof valid_bodies / sizeof valid_bodies[0]; i++) {
        const char *body = valid_bodies[i];
        size_t len = strlen(body);
        alt__scan full;
        CHECK_CASE(scan(op_of[i], body, &full) && full.rmw, body);
        char item[1024];
        size_t item_len = full.item_len;
        memcpy(item, full.item, item_len);
        char type;
        unsigned char want[64];
        size_t want_n;
        CHECK_CASE(alt__key_bytes(item, item_len, "pk", 2, &type, want,
                                  sizeof want, &want_n), body);
        /* The object is complete once its last '}' is in. */
        size_t complete = len;
        while (complete && body[complete - 1] == ' ')
            complete--;
        for (size_t k = 0; k <= len; k++) {
            alt__scan s;
            bool ok = scan_n(op_of[i], body, k, &s);
            CHECK_CASE(ok == (k >= complete), body);
            if (ok)
                CHECK(s.rmw == full.rmw && s.table_len == full.table_len &&
                      s.item_len == full.item_len);
        }
        /* The key of an Item cut anywhere: never a read past the cut, and
         * when found, the same bytes (a key-first Item has it early). */
        for (size_t m = 0; m <= item_len; m++) {
            char t = 0;
            unsigned char buf[64];
            size_t n = 99;
            bool ok = alt__key_bytes(place(item, m), m, "pk", 2, &t, buf,
                                     sizeof buf, &n);
            CHECK(n <= sizeof buf);
            if (ok)
                CHECK(t == type && n == want_n && memcmp(buf, want, n) == 0);
            else
                CHECK(n == 0);
        }
    }
}

/* ---- The key --------------------------------------------------------- */

static bool key(const char *item, const char *pk, char *type,
                unsigned char *buf, size_t cap, size_t *n)
{
    size_t len = strlen(item);
    return alt__key_bytes(place(item, len), len, pk, strlen(pk), type, buf,
                          cap, n);
}

/* The key {"<type>":"<json>"} of an Item with other members around it. */
static bool key_of(const char *type_and_value, char *type, unsigned char *buf,
                   size_t cap, size_t *n)
{
    char item[8192];
    snprintf(item, sizeof item,
             "{\"a\":{\"S\":\"pk\"},\"pk\":{%s},\"z\":{\"N\":\"1\"}}",
             type_and_value);
    return key(item, "pk", type, buf, cap, n);
}

static bool bytes_are(const unsigned char *b, size_t n, const char *want,
                      size_t wn)
{
    return n == wn && memcmp(b, want, n) == 0;
}
#define BYTES(b, n, lit) bytes_are(b, n, lit, sizeof lit - 1)

static void key_strings(void)
{
    char t = 0;
    unsigned char b[64];
    size_t n;
    CHECK(key_of("\"S\":\"hello\"", &t, b, sizeof b, &n) && t == 'S' &&
          BYTES(b, n, "hello"));
    CHECK(key_of("\"S\":\"\"", &t, b, sizeof b, &n) && t == 'S' && n == 0);
    CHECK(key_of("\"S\":\"caf\\u00e9\"", &t, b, sizeof b, &n) &&
          BYTES(b, n, "caf\xc3\xa9"));
    CHECK(key_of("\"S\":\"caf\\u00E9\"", &t, b, sizeof b, &n) &&
          BYTES(b, n, "caf\xc3\xa9"));
    CHECK(key_of("\"S\":\"caf\xc3\xa9\"", &t, b, sizeof b, &n) &&
          BYTES(b, n, "caf\xc3\xa9"));
    CHECK(key_of("\"S\":\"\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1"
                 "\xe3\x81\xaf\"", &t, b, sizeof b, &n) &&
          BYTES(b, n, "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1"
                      "\xe3\x81\xaf"));
    CHECK(key_of("\"S\":\"\\u3053\\u3093\"", &t, b, sizeof b, &n) &&
          BYTES(b, n, "\xe3\x81\x93\xe3\x82\x93"));
    CHECK(key_of("\"S\":\"\\u0000\\u007f\\u0080\\u07ff\\u0800\\uffff\"", &t,
                 b, sizeof b, &n) &&
          BYTES(b, n, "\x00\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"));
    /* Surrogates, as Go's encoding/json (checked with Go 1.19). */
    CHECK(key_of("\"S\":\"\\ud83d\\ude00\"", &t, b, sizeof b, &n) &&
          BYTES(b, n, "\xf0\x9f\x98\x80"));
    CHECK(key_of("\"S\":\"\\uDBFF\\uDFFF\"", &t, b, sizeof b, &n) &&
          BYTES(b, n, "\xf4\x8f\xbf\xbf"));
    CHECK(key_of("\"S\":\"\\ud800\"", &t, b, sizeof b, &n) &&
          BYTES(b, n, "\xef\xbf\xbd"));
    CHECK(key_of("\"S\":\"a\\ud800\"", &t, b, sizeof b, &n) &&
          BYTES(b, n, "a\xef\xbf\xbd"));
    CHECK(key_of("\"S\":\"\\udc00\"", &t, b, sizeof b, &n) &&
          BYTES(b, n, "\xef\xbf\xbd"));
    CHECK(key_of("\"S\":\"\\ude00\\ud83d\"", &t, b, sizeof b, &n) &&
          BYTES(b, n, "\xef\xbf\xbd\xef\xbf\xbd"));
    CHECK(key_of("\"S\":\"\\ud800\\u0041\"", &t, b, sizeof b, &n) &&
          BYTES(b, n, "\xef\xbf\xbd" "A"));
    CHECK(key_of("\"S\":\"\\ud800\\ud83d\\ude00\"", &t, b, sizeof b, &n) &&
          BYTES(b, n, "\xef\xbf\xbd\xf0\x9f\x98\x80"));
    CHECK(key_of("\"S\":\"\\ud800x\\udc00\"", &t, b, sizeof b, &n) &&
          BYTES(b, n, "\xef\xbf\xbdx\xef\xbf\xbd"));
    CHECK(!key_of("\"S\":\"\\ud800\\u12\"", &t, b, sizeof b, &n) && n == 0);
    CHECK(!key_of("\"S\":\"\\ud800\\\"", &t, b, sizeof b, &n));
    /* Every simple escape. */
    CHECK(key_of("\"S\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", &t, b, sizeof b, &n) &&
          BYTES(b, n, "\"\\/\b\f\n\r\t"));
    CHECK(!key_of("\"S\":\"\\a\"", &t, b, sizeof b, &n));
    CHECK(!key_of("\"S\":\"\\x41\"", &t, b, sizeof b, &n));
    CHECK(!key_of("\"S\":\"\\u00g0\"", &t, b, sizeof b, &n));
    CHECK(!key_of("\"S\":\"\\U0041\"", &t, b, sizeof b, &n));
    CHECK(!key_of("\"S\":\"a\tb\"", &t, b, sizeof b, &n));
    CHECK(!key_of("\"S\":\"a\nb\"", &t, b, sizeof b, &n));
    /* Raw bytes are kept as they are (see alt__json_unescape). */
    CHECK(key_of("\"S\":\"\xff\x7f\"", &t, b, sizeof b, &n) &&
          BYTES(b, n, "\xff\x7f"));
    /* N: the text as written. */
    CHECK(key_of("\"N\":\"42\"", &t, b, sizeof b, &n) && t == 'N' &&
          BYTES(b, n, "42"));
    CHECK(key_of("\"N\":\"-1.50E+3\"", &t, b, sizeof b, &n) && t == 'N' &&
          BYTES(b, n, "-1.50E+3"));
    CHECK(key_of("\"N\":\"1.0\"", &t, b, sizeof b, &n) && BYTES(b, n, "1.0"));
    CHECK(key_of("\"N\":\"\\u0031\"", &t, b, sizeof b, &n) && BYTES(b, n, "1"));
    CHECK(!key_of("\"N\":42", &t, b, sizeof b, &n));
    /* Capacity: exactly enough, one short. */
    CHECK(key_of("\"S\":\"hello\"", &t, b, 5, &n) && n == 5);
    CHECK(!key_of("\"S\":\"hello\"", &t, b, 4, &n) && n == 0);
    CHECK(key_of("\"S\":\"\\u00e9\"", &t, b, 2, &n) && n == 2);
    CHECK(!key_of("\"S\":\"\\u00e9\"", &t, b, 1, &n));
    CHECK(!key_of("\"S\":\"\\ud83d\\ude00\"", &t, b, 3, &n));
    CHECK(key_of("\"S\":\"\"", &t, b, 0, &n) && n == 0);
    CHECK(!key_of("\"N\":\"1\"", &t, NULL, 0, &n));
    /* The type's name escaped, whitespace around. */
    CHECK(key_of(" \"\\u0053\" : \"x\" ", &t, b, sizeof b, &n) && t == 'S' &&
          BYTES(b, n, "x"));
    CHECK(key_of("\"\\u004e\":\"7\"", &t, b, sizeof b, &n) && t == 'N');
    /* Compact up to the value, then whitespace: still the key. */
    CHECK(key_of("\"S\":\"x\" ", &t, b, sizeof b, &n) && t == 'S' &&
          BYTES(b, n, "x"));
    CHECK(key_of("\"N\":\"12\"\r\n", &t, b, sizeof b, &n) && t == 'N' &&
          BYTES(b, n, "12"));
    CHECK(key_of("\"B\":\"QQ==\"\t", &t, b, sizeof b, &n) && t == 'B' &&
          BYTES(b, n, "A"));
    CHECK(!key_of("\"S\":\"x\",\"N\":\"1\"", &t, b, sizeof b, &n) && n == 0);
    CHECK(!key_of("\"S\":\"x\" ,\"N\":\"1\"", &t, b, sizeof b, &n));
    CHECK(key_of("\"\\u0042\":\"QQ==\"", &t, b, sizeof b, &n) && t == 'B' &&
          BYTES(b, n, "A"));
}

static void key_others(void)
{
    char t;
    unsigned char b[64];
    size_t n;
    const char *no[] = {
        "\"SS\":[\"a\"]", "\"NS\":[\"1\"]", "\"BS\":[\"QQ==\"]",
        "\"M\":{\"a\":{\"S\":\"x\"}}", "\"L\":[{\"S\":\"x\"}]",
        "\"NULL\":true", "\"BOOL\":true", "\"S\":1", "\"S\":null",
        "\"S\":[\"a\"]", "\"S\":{\"S\":\"a\"}", "\"S\":\"a\",\"N\":\"1\"",
        "\"S\":\"a\",\"S\":\"a\"", "\"N\":\"1\",\"S\":\"a\"", "",
        "\"s\":\"a\"", "\"X\":\"a\"", "\"\":\"a\"", "\"S \":\"a\"",
        "\"S\":\"a\",", "\"S\" \"a\"", "\"S\":\"a", "\"S\":\"a\",\"X\":[]",
        "\"\\u0053\\u0053\":[\"a\"]",
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        n = 99;
        CHECK_CASE(!key_of(no[i], &t, b, sizeof b, &n), no[i]);
        CHECK_CASE(n == 0, no[i]);
    }
    /* The pk's value is no object. */
    CHECK(!key("{\"pk\":\"a\"}", "pk", &t, b, sizeof b, &n));
    CHECK(!key("{\"pk\":null}", "pk", &t, b, sizeof b, &n));
    CHECK(!key("{\"pk\":[{\"S\":\"a\"}]}", "pk", &t, b, sizeof b, &n));
    /* Missing. */
    CHECK(!key("{}", "pk", &t, b, sizeof b, &n));
    CHECK(!key("{\"a\":{\"S\":\"x\"}}", "pk", &t, b, sizeof b, &n));
    CHECK(!key("{\"pk \":{\"S\":\"x\"}}", "pk", &t, b, sizeof b, &n));
    CHECK(!key("{\"PK\":{\"S\":\"x\"}}", "pk", &t, b, sizeof b, &n));
    CHECK(!key("{\"p\":{\"S\":\"x\"}}", "pk", &t, b, sizeof b, &n));
    CHECK(!key("{\"a\":{\"pk\":{\"S\":\"x\"}}}", "pk", &t, b, sizeof b, &n));
    CHECK(!key("{\"a\":{\"S\":\"\\\"pk\\\":{\\\"S\\\":\\\"x\\\"}\"}}", "pk",
               &t, b, sizeof b, &n));
    CHECK(!key("", "pk", &t, b, sizeof b, &n));
    CHECK(!key("[]", "pk", &t, b, sizeof b, &n));
    CHECK(!key("{\"a\":{\"S\":\"x\"},}", "pk", &t, b, sizeof b, &n));
    CHECK(!key("{\"a\":[}", "pk", &t, b, sizeof b, &n));
    CHECK(!alt__key_bytes(NULL, 0, "pk", 2, &t, b, sizeof b, &n));
    /* Found first, last, after nested values holding its name, escaped. */
    const char *found[] = {
        "{\"pk\":{\"S\":\"v\"},\"a\":{\"N\":\"1\"}}",
        "{\"a\":{\"N\":\"1\"},\"b\":{\"M\":{\"pk\":{\"S\":\"no\"}}},"
        "\"c\":{\"L\":[{\"S\":\"}]\\\"pk\\\"\"}]},\"pk\":{\"S\":\"v\"}}",
        " { \"a\" : { \"N\" : \"1\" } , \"pk\" : { \"S\" : \"v\" } } ",
        "{\"\\u0070k\":{\"S\":\"v\"}}",
        "{\"p\\u006b\":{\"S\":\"v\"}}",
        "{\"\\u0070\\u006B\":{\"S\":\"v\"}}",
        "{\"pk\":{\"S\":\"v\"},\"pk\":{\"S\":\"w\"}}",
        "{\"pk\":{\"S\":\"v\"},\"rest\":[ cut",
    };
    for (size_t i = 0; i < sizeof found / sizeof found[0]; i++) {
        CHECK_CASE(key(found[i], "pk", &t, b, sizeof b, &n) && t == 'S' &&
                       BYTES(b, n, "v"), found[i]);
    }
    /* Attribute names with escapes and UTF-8, and the empty name. */
    CHECK(key("{\"caf\\u00e9\":{\"N\":\"5\"}}", "caf\xc3\xa9", &t, b, sizeof b,
              &n) && BYTES(b, n, "5"));
    CHECK(key("{\"caf\xc3\xa9\":{\"N\":\"5\"}}", "caf\xc3\xa9", &t, b, sizeof b,
              &n) && BYTES(b, n, "5"));
    CHECK(!key("{\"caf\\u00e9\":{\"N\":\"5\"}}", "cafe", &t, b, sizeof b, &n));
    CHECK(key("{\"a\\\"b\":{\"N\":\"5\"}}", "a\"b", &t, b, sizeof b, &n));
    CHECK(key("{\"\\ud83d\\ude00\":{\"N\":\"5\"}}", "\xf0\x9f\x98\x80", &t, b,
              sizeof b, &n));
    CHECK(key("{\"x\":{\"N\":\"1\"},\"\":{\"N\":\"5\"}}", "", &t, b, sizeof b,
              &n) && BYTES(b, n, "5"));
    CHECK(!key("{\"a\\qb\":{\"N\":\"5\"}}", "a\\qb", &t, b, sizeof b, &n));
    CHECK(!key("{\"a\\qb\":{\"N\":\"5\"}}", "aqb", &t, b, sizeof b, &n));
    /* An escaped backslash is one byte: raw equality is no match. */
    CHECK(!key("{\"a\\\\b\":{\"N\":\"5\"}}", "a\\\\b", &t, b, sizeof b, &n));
    CHECK(key("{\"a\\\\b\":{\"N\":\"5\"}}", "a\\b", &t, b, sizeof b, &n));
    /* The pk name has a NUL in it. */
    const char *nul = "{\"a\\u0000b\":{\"N\":\"5\"}}";
    CHECK(alt__key_bytes(nul, strlen(nul), "a\0b", 3, &t, b, sizeof b, &n) &&
          BYTES(b, n, "5"));
}

/* ---- Base64 ---------------------------------------------------------- */

static size_t b64_encode(const unsigned char *in, size_t n, char *out)
{
    static const char a[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? a[v & 63] : '=';
    }
    out[o] = 0;
    return o;
}

static void key_binary(void)
{
    unsigned char all[256], got[300];
    char text[400], kv[600];
    size_t n;
    char t;
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    /* All byte values, in every position of a group, at each length. */
    for (size_t shift = 0; shift < 3; shift++) {
        for (size_t len = 0; len + shift <= 256; len += 37) {
            b64_encode(all + shift, len, text);
            snprintf(kv, sizeof kv, "\"B\":\"%s\"", text);
            CHECK(key_of(kv, &t, got, sizeof got, &n) && t == 'B' &&
                  n == len && memcmp(got, all + shift, len) == 0);
        }
    }
    b64_encode(all, 256, text);
    snprintf(kv, sizeof kv, "\"B\":\"%s\"", text);
    CHECK(key_of(kv, &t, got, sizeof got, &n) && n == 256 &&
          memcmp(got, all, 256) == 0);
    CHECK(key_of(kv, &t, got, 256, &n) && n == 256);
    CHECK(!key_of(kv, &t, got, 255, &n) && n == 0);
    /* Each length 0..5 and its padding; exact capacity and one short. */
    for (size_t len = 0; len <= 5; len++) {
        b64_encode(all + 250, len, text);
        snprintf(kv, sizeof kv, "\"B\":\"%s\"", text);
        CHECK(key_of(kv, &t, got, len, &n) && n == len &&
              memcmp(got, all + 250, len) == 0);
        if (len)
            CHECK(!key_of(kv, &t, got, len - 1, &n));
    }
    /* The published vectors' inputs. */
    CHECK(key_of("\"B\":\"AQID\"", &t, got, sizeof got, &n) &&
          BYTES(got, n, "\x01\x02\x03"));
    CHECK(key_of("\"B\":\"/wCA\"", &t, got, sizeof got, &n) &&
          BYTES(got, n, "\xff\x00\x80"));
    CHECK(key_of("\"B\":\"MTIzNDU=\"", &t, got, sizeof got, &n) &&
          BYTES(got, n, "12345"));
    CHECK(key_of("\"B\":\"\"", &t, got, sizeof got, &n) && n == 0);
    /* Escapes stand for their characters ("\/" is how some write '/'). */
    CHECK(key_of("\"B\":\"\\/wCA\"", &t, got, sizeof got, &n) &&
          BYTES(got, n, "\xff\x00\x80"));
    CHECK(key_of("\"B\":\"\\u0041QID\"", &t, got, sizeof got, &n) &&
          BYTES(got, n, "\x01\x02\x03"));
    CHECK(key_of("\"B\":\"QQ\\u003d=\"", &t, got, sizeof got, &n) &&
          BYTES(got, n, "A"));
    /* Unused low bits set: the same byte (Go's StdEncoding agrees). */
    CHECK(key_of("\"B\":\"QR==\"", &t, got, sizeof got, &n) &&
          BYTES(got, n, "A"));
    CHECK(key_of("\"B\":\"QUJ=\"", &t, got, sizeof got, &n) &&
          BYTES(got, n, "AB"));
    const char *bad[] = {
        "QQ", "QQ=", "QUI", "Q", "Q===", "====", "=", "QQ==QQ==", "QQ=A",
        "Q=Q=", "QUJD=", "QUJDR", "Q!==", "QU D", "QUJD ", " QUJD", "QUJD\\n",
        "QU-_", "QUJ\\u00e9", "QUJ\\u0000", "QUJ\\ud800", "QUJ\\q", "QUJ\\",
        "\xc3\xa9QUJ",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(kv, sizeof kv, "\"B\":\"%s\"", bad[i]);
        n = 99;
        CHECK_CASE(!key_of(kv, &t, got, sizeof got, &n) && n == 0, bad[i]);
    }
}

/* ---- Unescaping ------------------------------------------------------ */

static void unescape(void)
{
    unsigned char out[16];
    bool ok;
    size_t n;
    n = alt__json_unescape(place("abc", 3), 3, out, sizeof out, &ok);
    CHECK(ok && n == 3 && memcmp(out, "abc", 3) == 0);
    n = alt__json_unescape("", 0, out, 0, &ok);
    CHECK(ok && n == 0);
    /* Too long: the full length, cap bytes written, not ok. */
    memset(out, 0, sizeof out);
    n = alt__json_unescape(place("abcdef", 6), 6, out, 4, &ok);
    CHECK(!ok && n == 6 && memcmp(out, "abcd", 4) == 0 && out[4] == 0);
    memset(out, 0, sizeof out);
    n = alt__json_unescape(place("\\u00e9\\u00e9", 12), 12, out, 3, &ok);
    CHECK(!ok && n == 4 && out[3] == 0);
    n = alt__json_unescape(place("\\u00e9", 6), 6, out, 2, &ok);
    CHECK(ok && n == 2);
    /* Malformed: a return within cap tells it from too long. */
    const char *bad[] = {"\\", "a\\", "\\u", "\\u1", "\\u12", "\\u123",
                         "\\u123g", "\\x", "\\'", "\"", "a\"b", "\x1f",
                         "\\ud800\\u", "\\ud800\\u12"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len = strlen(bad[i]);
        n = alt__json_unescape(place(bad[i], len), len, out, sizeof out, &ok);
        CHECK_CASE(!ok && n <= sizeof out, bad[i]);
    }
    n = alt__json_unescape(place("\x7f\x80\xff", 3), 3, out, sizeof out, &ok);
    CHECK(ok && n == 3 && memcmp(out, "\x7f\x80\xff", 3) == 0);
}

/* ---- Stopping early (alt__scan_with) ---------------------------------- */

/* An alt__pk_of that knows one table's partition key ("pk"), or every
 * table's when table is NULL, and counts its calls. */
struct pk_book {
    const char *table; /* raw; NULL: any */
    const char *pk;    /* NULL: unknown */
    int calls;
    const char *asked; /* the raw table name of the last call */
    size_t asked_len;
};

static const char *book_pk(void *ctx, const char *table, size_t table_len,
                           size_t *pk_len)
{
    struct pk_book *b = ctx;
    b->calls++;
    b->asked = table;
    b->asked_len = table_len;
    if (!b->pk || (b->table && !span_is(table, table_len, b->table)))
        return NULL;
    *pk_len = strlen(b->pk);
    return b->pk;
}

static bool scan_with(alt__op op, const char *body, size_t n, bool rmw_only,
                      struct pk_book *book, alt__scan *out)
{
    alt__scan_with with = {book_pk, book, rmw_only};
    return alt__scan_request(op, place(body, n), n, &with, out);
}

/* The key found from a scan's recorded members, as a string. */
static bool key_is(const alt__scan *s, const char *want)
{
    char t;
    unsigned char b[64];
    size_t n;
    return want && alt__scan_key(s, "pk", 2, &t, b, sizeof b, &n) &&
           bytes_are(b, n, want, strlen(want));
}

static void early_stop(void)
{
    struct {
        alt__op op;
        const char *body;
        bool rmw_only;
        bool ok;      /* with the key known */
        bool rmw;
        const char *key;
    } cases[] = {
        /* Past the key, the Item's members are not checked... */
        {P, "{\"TableName\":\"t\",\"Item\":{\"pk\":{\"S\":\"k\"},\"x\":{\"N\":1x"
            "},\"y\":[,]},\"ConditionExpression\":\"c\"}", true, true, true,
         "k"},
        /* ...but its end is found: brackets in strings do not count. */
        {P, "{\"TableName\":\"t\",\"Item\":{\"pk\":{\"S\":\"k\"},\"x\":{\"S\":"
            "\"}}]\\\"}\"}},\"ConditionExpression\":\"c\"}", true, true, true,
         "k"},
        /* With rmw known, nothing after is read. */
        {P, "{\"TableName\":\"t\",\"Item\":{\"pk\":{\"S\":\"k\"}},"
            "\"ConditionExpression\":\"c\",\"TableName\":\"u\",,,", true, true,
         true, "k"},
        {U, "{\"TableName\":\"t\",\"ReturnValues\":\"ALL_NEW\",\"Key\":{\"pk\""
            ":{\"N\":\"7\"}},[", true, true, true, "7"},
        /* Any write: nothing after the Item/Key is read. */
        {D, "{\"TableName\":\"t\",\"Key\":{\"pk\":{\"B\":\"YWI=\"}}garbage",
         false, true, false, "ab"},
        /* Until rmw is known it reads on: garbage before it is refused. */
        {P, "{\"TableName\":\"t\",\"Item\":{\"pk\":{\"S\":\"k\"}},\"X\":tru,"
            "\"ConditionExpression\":\"c\"}", true, false, false, NULL},
        {P, "{\"TableName\":\"t\",\"Item\":{\"pk\":{\"S\":\"k\"}},\"X\":true,"
            "\"ConditionExpression\":\"c\"}x", true, true, true, "k"},
        /* The Item/Key must end with a '}'. */
        {P, "{\"TableName\":\"t\",\"Item\":{\"pk\":{\"S\":\"k\"},\"x\":1],"
            "\"ConditionExpression\":\"c\"}", true, false, false, NULL},
        /* A body cut inside the skipped part is still cut. */
        {P, "{\"TableName\":\"t\",\"Item\":{\"pk\":{\"S\":\"k\"},\"x\":{\"S\":"
            "\"}}}}}}", true, false, false, NULL},
        /* The TableName after the Item: the key among the recorded
         * members, the Item checked whole. */
        {P, "{\"ConditionExpression\":\"c\",\"Item\":{\"a\":{\"S\":\"1\"},"
            "\"pk\":{\"S\":\"k\"}},\"TableName\":\"t\",!", true, true, true,
         "k"},
        {P, "{\"ConditionExpression\":\"c\",\"Item\":{\"pk\":{\"S\":\"k\"},"
            "\"a\":{\"N\":1x}},\"TableName\":\"t\"}", true, false, false,
         NULL},
        {P, "{\"ConditionExpression\":\"c\",\"Item\":{\"a\":{\"S\":\"1\"}},"
            "\"TableName\":\"t\",!", true, false, false, NULL},
        /* An escaped name is the key's name too. */
        {P, "{\"TableName\":\"t\",\"Item\":{\"p\\u006b\":{\"S\":\"e\"},\"x\":"
            "[}},\"ConditionExpression\":\"c\"}", true, true, true, "e"},
        /* No key in the Item: no early stop. */
        {P, "{\"TableName\":\"t\",\"Item\":{\"a\":{\"S\":\"1\"}},"
            "\"ConditionExpression\":\"c\"}x", true, false, false, NULL},
        /* A member given twice before the stop is refused, after it not
         * seen. */
        {P, "{\"TableName\":\"t\",\"TableName\":\"t\",\"Item\":{\"pk\":{\"S\":"
            "\"k\"}},\"ConditionExpression\":\"c\"}", true, false, false,
         NULL},
        {P, "{\"TableName\":\"t\",\"Item\":{\"pk\":{\"S\":\"k\"}},"
            "\"ConditionExpression\":\"c\",\"Item\":{}}", true, true, true,
         "k"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *body = cases[i].body;
        size_t n = strlen(body);
        struct pk_book book = {NULL, "pk", 0, NULL, 0};
        alt__scan s, full;
        bool ok = scan_with(cases[i].op, body, n, cases[i].rmw_only, &book,
                            &s);
        CHECK_CASE(ok == cases[i].ok, body);
        CHECK_CASE(book.calls <= 1 &&
                       (!ok || (book.calls == 1 &&
                                span_is(book.asked, book.asked_len, "t"))),
                   body);
        if (ok) {
            CHECK_CASE(s.write && s.rmw == cases[i].rmw &&
                           span_is(s.table, s.table_len, "t"),
                       body);
            CHECK_CASE(key_is(&s, cases[i].key), body);
        } else {
            CHECK_CASE(!s.write && !s.table && !s.item, body);
        }
        /* Without the key known, every one of them is checked whole. */
        bool whole = scan_n(cases[i].op, body, n, &full);
        CHECK_CASE(!whole || (ok && full.rmw == s.rmw &&
                              full.item_len == s.item_len), body);
        /* The key not known (or another table's): the same as whole. */
        struct pk_book none = {NULL, NULL, 0, NULL, 0};
        struct pk_book other = {"u", "pk", 0, NULL, 0};
        CHECK_CASE(scan_with(cases[i].op, body, n, true, &none, &s) == whole,
                   body);
        CHECK_CASE(scan_with(cases[i].op, body, n, false, &other, &s) ==
                       whole, body);
    }
    /* pk_of is not called without a TableName, nor for an empty one. */
    struct pk_book book = {NULL, "pk", 0, NULL, 0};
    alt__scan s;
    const char *no_table = "{\"Item\":{\"pk\":{\"S\":\"k\"}}}";
    const char *empty = "{\"TableName\":\"\",\"Item\":{\"pk\":{\"S\":\"k\"}}}";
    CHECK(!scan_with(P, no_table, strlen(no_table), false, &book, &s));
    CHECK(!scan_with(P, empty, strlen(empty), false, &book, &s));
    CHECK(book.calls == 0);
}

/* ---- Stopping early: the same answers on generated bodies -------------- */

/* Well-formed bodies of every shape the rules read, from a fixed seed:
 * members in any order, whitespace or not, strings of 0 to 150 bytes with
 * escapes, brackets and backslash runs anywhere (so that the skipped part
 * crosses 64-byte blocks at every offset), nested attributes. */
struct gen {
    char *b;
    size_t n, cap;
    uint64_t r;
};

static unsigned below(struct gen *g, unsigned n)
{
    g->r ^= g->r << 13;
    g->r ^= g->r >> 7;
    g->r ^= g->r << 17;
    return (unsigned)(g->r % n);
}

static void put(struct gen *g, const char *s)
{
    size_t k = strlen(s);
    if (g->n + k < g->cap) {
        memcpy(g->b + g->n, s, k);
        g->n += k;
    }
}

static void ws(struct gen *g)
{
    static const char *const spaces[] = {" ", "\n", "\t ", "\r\n  "};
    if (below(g, 5) == 0)
        put(g, spaces[below(g, 4)]);
}

static void gen_string(struct gen *g)
{
    static const char *const bits[] = {
        "a", "Z", "0", " ", "{", "}", "[", "]", ":", ",", "\\\"", "\\\\",
        "\\\\\\\"", "\\\\\\\\", "\\/", "\\n", "\\u00e9", "\xc3\xa9", "'",
    };
    unsigned len = below(g, 4) == 0 ? below(g, 150) : below(g, 12);
    put(g, "\"");
    for (unsigned i = 0; i < len; i++)
        put(g, below(g, 3) ? "x" : bits[below(g, sizeof bits / sizeof bits[0])]);
    put(g, "\"");
}

static void gen_attr(struct gen *g, int depth);

static void gen_members(struct gen *g, int depth, bool item)
{
    /* Sometimes more members than alt__scan records (32). */
    unsigned n = below(g, item ? (below(g, 10) ? 7 : 40) : 4);
    int key_at = item && below(g, 7) ? (int)below(g, n + 1) : -1;
    put(g, "{");
    ws(g);
    for (unsigned i = 0; i <= n; i++) {
        bool key = (int)i == key_at;
        if (i == n && !key)
            break;
        if (i > 0) {
            put(g, ",");
            ws(g);
        }
        if (key) {
            static const char *const keys[] = {
                "{\"S\":\"k1\"}", "{\"N\":\"-12.5e3\"}", "{\"B\":\"YWI=\"}",
                "{ \"S\" : \"caf\\u00e9\" }", "{\"S\":\"a\\\"b\\\\\"}",
            };
            put(g, below(g, 4) ? "\"pk\"" : "\"p\\u006b\"");
            ws(g);
            put(g, ":");
            ws(g);
            put(g, keys[below(g, sizeof keys / sizeof keys[0])]);
        } else {
            if (below(g, 8) == 0)
                put(g, "\"pk\"");   /* nested: not the key */
            else
                gen_string(g);
            ws(g);
            put(g, ":");
            ws(g);
            gen_attr(g, depth + 1);
        }
        ws(g);
    }
    put(g, "}");
}

static void gen_attr(struct gen *g, int depth)
{
    switch (depth > 3 ? 0 : below(g, 7)) {
    case 0: put(g, "{\"S\":"); gen_string(g); put(g, "}"); break;
    case 1: put(g, "{\"N\":\"42\"}"); break;
    case 2: put(g, "{\"BOOL\":true}"); break;
    case 3:
        put(g, "{\"SS\":[");
        gen_string(g);
        put(g, ",");
        ws(g);
        gen_string(g);
        put(g, "]}");
        break;
    case 4: put(g, "{\"M\":"); gen_members(g, depth, false); put(g, "}"); break;
    case 5:
        put(g, "{\"L\":[");
        gen_attr(g, depth + 1);
        put(g, ",");
        gen_attr(g, depth + 1);
        put(g, "]}");
        break;
    default: put(g, "{\"NULL\":true}"); break;
    }
}

/* One body for op; returns its length. */
static size_t gen_body(struct gen *g, alt__op op)
{
    static const char *const returns[] = {"\"ALL_OLD\"", "\"NONE\"",
                                          "\"UPDATED_NEW\"", "\"ALL_NEW\""};
    unsigned order[6] = {0, 1, 2, 3, 4, 5};
    for (unsigned i = 5; i > 0; i--) {
        unsigned j = below(g, i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    g->n = 0;
    ws(g);
    put(g, "{");
    bool any = false;
    for (unsigned i = 0; i < 6; i++) {
        unsigned m = order[i];
        bool present = m <= 1 ? below(g, 12) != 0 : below(g, 2) != 0;
        if (!present)
            continue;
        if (any)
            put(g, ",");
        any = true;
        ws(g);
        switch (m) {
        case 0:
            put(g, below(g, 8) ? "\"TableName\":" : "\"Table\\u004eame\":");
            ws(g);
            put(g, "\"tbl\"");
            break;
        case 1:
            if (below(g, 8))
                put(g, op == P ? "\"Item\":" : "\"Key\":");
            else
                put(g, op == P ? "\"It\\u0065m\":" : "\"K\\u0065y\":");
            ws(g);
            gen_members(g, 0, true);
            break;
        case 2:
            put(g, "\"ConditionExpression\":");
            put(g, below(g, 4) ? "\"attribute_exists(a)\"" : "\"\"");
            break;
        case 3: put(g, "\"ReturnValues\":"); put(g, returns[below(g, 4)]); break;
        case 4:
            put(g, "\"ExpressionAttributeValues\":{\":v\":");
            gen_attr(g, 0);
            put(g, "}");
            break;
        default:
            put(g, "\"X\":[null,false,-0.5e-3,");
            gen_string(g);
            put(g, ",{}]");
            break;
        }
        ws(g);
    }
    put(g, "}");
    ws(g);
    return g->n;
}

static bool same_key(const alt__scan *a, const alt__scan *b)
{
    char ta = 0, tb = 0;
    unsigned char ka[64], kb[64];
    size_t na = 99, nb = 99;
    bool oa = alt__scan_key(a, "pk", 2, &ta, ka, sizeof ka, &na);
    bool ob = alt__scan_key(b, "pk", 2, &tb, kb, sizeof kb, &nb);
    return oa == ob && na == nb && ta == tb && memcmp(ka, kb, na) == 0;
}

static void early_stop_generated(void)
{
    static char buf[32768];
    struct gen g = {buf, 0, sizeof buf, 0x243f6a8885a308d3u};
    const alt__op op_of[] = {P, U, D};
    int stopped = 0, routable = 0;
    for (int i = 0; i < 6000; i++) {
        alt__op op = op_of[i % 3];
        size_t len = gen_body(&g, op);
        alt__scan full, fast;
        bool whole = scan_n(op, buf, len, &full);
        routable += whole;
        for (int rmw_only = 0; rmw_only < 2; rmw_only++) {
            /* One time in eight the key is not known: no stop. */
            struct pk_book book = {NULL, i % 8 == 5 ? NULL : "pk", 0, NULL, 0};
            bool ok = scan_with(op, buf, len, rmw_only, &book, &fast);
            CHECK_CASE(ok == whole, buf);
            CHECK_CASE(book.calls <= 1 && (!ok || book.calls == 1), buf);
            if (!ok || !whole)
                continue;
            CHECK_CASE(fast.table == full.table &&
                           fast.table_len == full.table_len &&
                           fast.item == full.item &&
                           fast.item_len == full.item_len && fast.write &&
                           (!rmw_only || fast.rmw == full.rmw) &&
                           same_key(&fast, &full),
                       buf);
        }
        if (!whole || i % 8)
            continue;
        /* Every prefix: once the stop is reached the rest is not read,
         * and never before the Item/Key has ended. (The arena holds one
         * placement at a time: what the whole body gave is copied.) */
        struct pk_book book = {NULL, "pk", 0, NULL, 0};
        bool fast_ok = scan_with(op, buf, len, true, &book, &fast);
        CHECK_CASE(fast_ok, buf);
        if (!fast_ok)
            continue;
        size_t item_end = (size_t)(full.item - (arena + ARENA - len)) +
                          full.item_len;
        char want_t = 0;
        unsigned char want[64];
        size_t want_n = 0;
        bool want_ok = alt__scan_key(&fast, "pk", 2, &want_t, want,
                                     sizeof want, &want_n);
        bool want_rmw = fast.rmw;
        size_t complete = len;
        while (buf[complete - 1] != '}')
            complete--;
        bool was = false;
        for (size_t k = 0; k < len; k++) {
            alt__scan s;
            book.calls = 0;
            bool ok = scan_with(op, buf, k, true, &book, &s);
            CHECK_CASE(book.calls <= 1 && (!ok || book.calls == 1), buf);
            CHECK_CASE(!was || ok, buf);
            was = ok;
            if (!ok)
                continue;
            stopped += k == complete - 1;
            char t = 0;
            unsigned char b[64];
            size_t n = 0;
            bool key_ok = alt__scan_key(&s, "pk", 2, &t, b, sizeof b, &n);
            CHECK_CASE(k >= item_end && s.rmw == want_rmw &&
                           s.table_len == full.table_len &&
                           s.item_len == full.item_len && key_ok == want_ok &&
                           t == want_t && n == want_n &&
                           memcmp(b, want, n) == 0,
                       buf);
        }
    }
    /* The generator reaches both kinds. */
    CHECK(routable > 2000 && stopped > 50);
}

/* ---- A realistic request --------------------------------------------- */

static void realistic(void)
{
    const char *body =
        "{\"TableName\":\"users\",\"Item\":{"
        "\"name\":{\"S\":\"Ada Lovelace\"},\"age\":{\"N\":\"36\"},"
        "\"user_id\":{\"S\":\"user_123\"},"
        "\"avatar\":{\"B\":\"iVBORw0KGgo=\"},\"tags\":{\"SS\":[\"a\",\"b\"]},"
        "\"scores\":{\"NS\":[\"1\",\"2.5\"]},\"active\":{\"BOOL\":true},"
        "\"gone\":{\"NULL\":true},\"addr\":{\"M\":{\"city\":{\"S\":\"London\"},"
        "\"zip\":{\"S\":\"N1 9GU\"}}},\"list\":{\"L\":[{\"S\":\"x\"},"
        "{\"N\":\"1\"}]}},\"ConditionExpression\":"
        "\"attribute_not_exists(user_id)\",\"ReturnConsumedCapacity\":"
        "\"TOTAL\"}";
    alt__scan s;
    CHECK(scan(P, body, &s) && s.rmw && s.write);
    CHECK(span_is(s.table, s.table_len, "users"));
    char t;
    unsigned char b[64];
    size_t n;
    CHECK(alt__key_bytes(s.item, s.item_len, "user_id", 7, &t, b, sizeof b,
                         &n) && t == 'S' && BYTES(b, n, "user_123"));
    CHECK(alt__key_bytes(s.item, s.item_len, "avatar", 6, &t, b, sizeof b,
                         &n) && t == 'B' &&
          BYTES(b, n, "\x89PNG\r\n\x1a\n"));
    CHECK(alt__key_bytes(s.item, s.item_len, "age", 3, &t, b, sizeof b, &n) &&
          t == 'N' && BYTES(b, n, "36"));
    CHECK(!alt__key_bytes(s.item, s.item_len, "tags", 4, &t, b, sizeof b, &n));
    CHECK(!alt__key_bytes(s.item, s.item_len, "city", 4, &t, b, sizeof b, &n));
    /* The same from the members the scan recorded. */
    CHECK(scan(P, body, &s) && s.nmembers == 10);
    CHECK(alt__scan_key(&s, "user_id", 7, &t, b, sizeof b, &n) && t == 'S' &&
          BYTES(b, n, "user_123"));
    CHECK(alt__scan_key(&s, "age", 3, &t, b, sizeof b, &n) && t == 'N' &&
          BYTES(b, n, "36"));
    CHECK(!alt__scan_key(&s, "tags", 4, &t, b, sizeof b, &n) && n == 0);
    CHECK(!alt__scan_key(&s, "city", 4, &t, b, sizeof b, &n));
    /* Rewritten as a DeleteItem's Key, it is no Key of a PutItem. */
    CHECK(!scan(D, body, &s));
}

/* More members than the scan records: the key is found by a walk. */
static void many_members(void)
{
    char body[4096];
    size_t at = (size_t)snprintf(body, sizeof body,
                                 "{\"TableName\":\"users\",\"Item\":{");
    for (int i = 0; i < 40; i++)
        at += (size_t)snprintf(body + at, sizeof body - at,
                               "%s\"a%d\":{\"S\":\"v%d\"}", i ? "," : "", i,
                               i);
    snprintf(body + at, sizeof body - at, "}}");
    alt__scan s;
    char t;
    unsigned char b[16];
    size_t n;
    CHECK(scan(P, body, &s) && s.nmembers == ALT__SCAN_MEMBERS + 1);
    CHECK(alt__scan_key(&s, "a35", 3, &t, b, sizeof b, &n) && t == 'S' &&
          BYTES(b, n, "v35"));
    CHECK(alt__scan_key(&s, "a3", 2, &t, b, sizeof b, &n) && BYTES(b, n, "v3"));
    CHECK(!alt__scan_key(&s, "a40", 3, &t, b, sizeof b, &n));
}

/*
 * The scanner reads string ends off 64-byte windows of quote and backslash
 * masks: escapes at every offset of a window, across its edge, strings
 * that run past it, and a backslash as the input's last byte.
 */
static void window_edges(void)
{
    char body[512], value[256], want[256];
    for (size_t k = 0; k <= 140; k++) {
        /* a...a\"b\\c: the escaped quote and backslash move through the
         * windows as k grows, past the 64-byte edge twice. */
        memset(value, 'a', k);
        strcpy(value + k, "\\\"b\\\\c");
        memset(want, 'a', k);
        memcpy(want + k, "\"b\\c", 4);
        int len = snprintf(body, sizeof body,
                           "{\"TableName\":\"tbl\",\"Item\":{\"pk\":{\"S\":"
                           "\"%s\"},\"z\":{\"N\":\"1\"}},"
                           "\"ConditionExpression\":\"c\"}", value);
        alt__scan s;
        char t;
        unsigned char b[256];
        size_t n;
        CHECK_CASE(scan_n(P, body, (size_t)len, &s) && s.rmw &&
                       s.nmembers == 2 &&
                       span_is(s.table, s.table_len, "tbl"),
                   body);
        CHECK_CASE(alt__scan_key(&s, "pk", 2, &t, b, sizeof b, &n) &&
                       t == 'S' && n == k + 4 && memcmp(b, want, n) == 0,
                   body);
        /* Ending in a backslash, at every length around the windows. */
        CHECK_CASE(!scan_n(P, body, (size_t)(strstr(body, "\\\\c") - body + 1),
                           &s),
                   body);
    }
    /* A backslash as the last byte of inputs of 63, 64 and 65 bytes. */
    for (size_t len = 63; len <= 65; len++) {
        size_t at = (size_t)snprintf(body, sizeof body, "{\"TableName\":\"");
        memset(body + at, 'x', len - at - 1);
        body[len - 1] = '\\';
        alt__scan s;
        CHECK(!scan_n(P, body, len, &s));
    }
}

int main(void)
{
    arena_init();
    op_names();
    rule_table();
    spans();
    nesting();
    prefixes();
    key_strings();
    key_others();
    key_binary();
    unescape();
    realistic();
    many_members();
    window_edges();
    early_stop();
    early_stop_generated();
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("request_scan: all passed (%zu rule cases)\n",
           sizeof rules / sizeof rules[0]);
    return 0;
}
