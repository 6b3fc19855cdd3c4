/*
 * request_scan.h: what the library reads from a DynamoDB request on the hot
 * path, without building a JSON tree: the operation named by the
 * X-Amz-Target, whether a single-item write qualifies for key-route
 * affinity, its table, and the bytes of its partition key to hash.
 *
 * Nothing here allocates, recurses, or reads outside the (pointer, length)
 * it is given; a body need not be NUL-terminated. Bad input of any kind is
 * only a "no": the request then goes round-robin, and the server answers
 * it as it will.
 *
 * The rules of what qualifies are those of the Go client
 * (alternator-client-golang sdkv2/helper.go, does*NeedReadBeforeWrite and
 * getPkHash), which the other ScyllaDB clients share: see
 * request_scan.c for each one.
 */
#ifndef ALT_REQUEST_SCAN_H
#define ALT_REQUEST_SCAN_H

#include <stdbool.h>
#include <stddef.h>

/* DynamoDB_20120810 operations (and the DynamoDBStreams_20120810 ones
 * Alternator serves). Values are internal: never stored or sent. */
typedef enum alt__op {
    ALT__OP_OTHER = 0,
    ALT__OP_GET_ITEM,
    ALT__OP_PUT_ITEM,
    ALT__OP_UPDATE_ITEM,
    ALT__OP_DELETE_ITEM,
    ALT__OP_QUERY,
    ALT__OP_SCAN,
    ALT__OP_BATCH_GET_ITEM,
    ALT__OP_BATCH_WRITE_ITEM,
    ALT__OP_TRANSACT_GET_ITEMS,
    ALT__OP_TRANSACT_WRITE_ITEMS,
    ALT__OP_DESCRIBE_TABLE,
    ALT__OP_LIST_TABLES,
    ALT__OP_EXECUTE_STATEMENT,
    ALT__OP_CREATE_TABLE,
    ALT__OP_DELETE_TABLE,
    ALT__OP_UPDATE_TABLE,
    ALT__OP_DESCRIBE_ENDPOINTS,
    ALT__OP_DESCRIBE_TIME_TO_LIVE,
    ALT__OP_UPDATE_TIME_TO_LIVE,
    ALT__OP_DESCRIBE_CONTINUOUS_BACKUPS,
    ALT__OP_TAG_RESOURCE,
    ALT__OP_UNTAG_RESOURCE,
    ALT__OP_LIST_TAGS_OF_RESOURCE,
    ALT__OP_LIST_STREAMS,            /* DynamoDBStreams_20120810 */
    ALT__OP_DESCRIBE_STREAM,         /* DynamoDBStreams_20120810 */
    ALT__OP_GET_SHARD_ITERATOR,      /* DynamoDBStreams_20120810 */
    ALT__OP_GET_RECORDS,             /* DynamoDBStreams_20120810 */
    ALT__OP_COUNT_
} alt__op;

/* The operation of an X-Amz-Target value, or of its part after the dot:
 * "PutItem" and "DynamoDB_20120810.PutItem" are both ALT__OP_PUT_ITEM; the
 * stream operations also under "DynamoDBStreams_20120810.". Case matters;
 * anything else is ALT__OP_OTHER. name need not be NUL-terminated. */
alt__op alt__op_lookup(const char *name, size_t len);

/* True for operations that change nothing, so that sending one twice is
 * harmless (GetItem, Query, Scan, BatchGetItem, TransactGetItems,
 * Describe*, List*, the stream reads). ExecuteStatement is not: PartiQL
 * may write. ALT__OP_OTHER is not. */
bool alt__op_is_read(alt__op op);

/* What alt__scan_request() found. The spans point into the body given. */
#define ALT__SCAN_MEMBERS 32

typedef struct alt__scan {
    const char *table;      /* TableName's contents between the quotes, */
    size_t table_len;       /* still escaped (alt__json_unescape); not 0 */
    const char *item;       /* Item (PutItem) or Key (Update/DeleteItem): */
    size_t item_len;        /* the object's text, braces included */
    bool rmw;               /* a read-modify-write (LWT) by the Go rules */
    bool write;             /* a single-item write with table and item */
    /* The Item/Key's members as the scan passed them, for alt__scan_key();
     * nmembers is ALT__SCAN_MEMBERS + 1 when there were more. */
    unsigned nmembers;
    struct {
        const char *name;   /* raw, still escaped */
        size_t name_len;
        const char *value;  /* where its value starts */
    } member[ALT__SCAN_MEMBERS];
} alt__scan;

/* The partition key's name (unescaped) of the table whose TableName is
 * table (raw, still escaped), or NULL when it is not known. */
typedef const char *alt__pk_of(void *ctx, const char *table,
                               size_t table_len, size_t *pk_len);

/* What the caller knows, so that alt__scan_request() may stop early. */
typedef struct alt__scan_with {
    alt__pk_of *pk_of;  /* called at most once, with ctx; may be NULL */
    void *ctx;
    bool rmw_only;      /* only a read-modify-write is of use */
} alt__scan_with;

/*
 * Walks the body of a PutItem, UpdateItem or DeleteItem once. True if it is
 * one JSON object (whitespace around it allowed) with a non-empty string
 * TableName and an object Item (PutItem) or Key (Update/DeleteItem); then
 * write is true and rmw says whether it qualifies in the read-modify-write
 * mode. False, with *out zeroed, for other operations, malformed JSON, a
 * missing table or item, a member the rules read that has the wrong JSON
 * type, or one of them given twice. JSON null counts as absent, as a nil
 * field does in Go.
 *
 * with (may be NULL: the whole body is checked) lets the walk stop once
 * it knows all that routing needs:
 *  - the table's partition key, from with->pk_of() once the TableName and
 *    the Item/Key are reached. When the TableName comes first, the walk
 *    leaves the Item/Key at the first member of that name: the members
 *    after it are skipped by matching brackets outside strings, not
 *    checked (nor recorded);
 *  - then, with the key found (the TableName first) or among the recorded
 *    members (the TableName after the Item/Key), and rmw true or
 *    with->rmw_only false, the walk returns true at once: nothing after
 *    that point is read.
 * So a body that is malformed, cut short, or has a member the rules read
 * given twice or of the wrong type only past that point may yield true
 * (the server refuses it, wherever the request goes; with->rmw_only
 * false, rmw may miss a later member). Any body the whole walk accepts
 * gives the same table, item and write, the same rmw when
 * with->rmw_only, and alt__scan_key() the same key for that name.
 */
bool alt__scan_request(alt__op op, const char *body, size_t len,
                       const alt__scan_with *with, alt__scan *out);

/*
 * The partition key in an Item/Key object's text (an alt__scan span, or any
 * bytes): the first top-level member named pk (pk_len bytes, unescaped),
 * whose value must be an object of exactly one member "S", "N" or "B"
 * with a JSON string value. Sets *type to 'S', 'N' or 'B' and writes the
 * bytes hashed after the type byte into buf: S the unescaped UTF-8, N the
 * unescaped number text as written, B the base64-decoded bytes (standard
 * alphabet, padded). *n is their count, at most cap. False (*n = 0) if the
 * member is absent, of another type, malformed, or longer than cap.
 */
bool alt__key_bytes(const char *item, size_t item_len, const char *pk,
                    size_t pk_len, char *type, unsigned char *buf,
                    size_t cap, size_t *n);

/* alt__key_bytes() of a scan's Item/Key, from the members the scan
 * recorded: no second walk of the object. */
bool alt__scan_key(const alt__scan *scan, const char *pk, size_t pk_len,
                   char *type, unsigned char *buf, size_t cap, size_t *n);

/*
 * Unescapes the contents of a JSON string (between the quotes) into UTF-8,
 * as Go's encoding/json does: \uXXXX surrogate pairs combine, a lone
 * surrogate becomes U+FFFD. Writes at most cap bytes; returns the length
 * of the whole unescaped text, which may exceed cap. *ok is false if the
 * text does not fit in cap, or holds a bad escape, a raw quote or a raw
 * control character; a return above cap tells the first case. Other
 * bytes are copied as they are (invalid UTF-8 included).
 */
size_t alt__json_unescape(const char *s, size_t len, unsigned char *out,
                          size_t cap, bool *ok);

#endif
