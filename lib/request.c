/*
 * request.c: alt_curl_prepare_request(), the request-aware path: the
 * DynamoDB headers, the body (compressed when asked), and the key that
 * routes a qualifying write (route.c).
 *
 * Per handle it keeps one record (alt__req): the header list nodes it
 * installs, whose last one links the caller's list, and the compressed
 * body's buffer. Both are reused by the next request on the handle, so
 * the steady state allocates nothing here; the record goes with
 * alt_curl_release() or alt_lb_free().
 *
 * Deflate streams cost some 270 KB each at level 6: a few are kept for
 * the whole alt_lb and lent to whichever thread compresses, under
 * lb->z_mu (a compressed body takes microseconds anyway).
 */
#include "alt_private.h"

#include "affinity.h"
#include "request_scan.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct alt__zstream {
    z_stream z;
    struct alt__zstream *next;
} alt__zstream;

void alt__req_free(alt__req *req)
{
    if (req) {
        free(req->zbuf);
        free(req);
    }
}

void alt__free_zstreams(alt_lb *lb)
{
    while (lb->zfree) {
        alt__zstream *next = lb->zfree->next;
        deflateEnd(&lb->zfree->z);
        free(lb->zfree);
        lb->zfree = next;
    }
}

static alt__zstream *zstream_take(alt_lb *lb)
{
    pthread_mutex_lock(&lb->z_mu);
    alt__zstream *s = lb->zfree;
    if (s)
        lb->zfree = s->next;
    pthread_mutex_unlock(&lb->z_mu);
    if (s && deflateReset(&s->z) == Z_OK)
        return s;
    if (s) { /* never seen: zlib refuses a reset only of a broken stream */
        deflateEnd(&s->z);
        free(s);
    }
    if (!(s = calloc(1, sizeof *s)))
        return NULL;
    /* windowBits 15 + 16: a gzip wrapper, as Content-Encoding: gzip says. */
    if (deflateInit2(&s->z, lb->z_level, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        free(s);
        return NULL;
    }
    return s;
}

static void zstream_give(alt_lb *lb, alt__zstream *s)
{
    pthread_mutex_lock(&lb->z_mu);
    s->next = lb->zfree;
    lb->zfree = s;
    pthread_mutex_unlock(&lb->z_mu);
}

/* Compresses body into req->zbuf: its length, or 0 to send body as it is
 * (out of memory, or it does not shrink). */
static size_t compress_body(alt_lb *lb, alt__req *req, const char *body,
                            size_t len)
{
    if (len > UINT32_MAX / 2)
        return 0;
    alt__zstream *s = zstream_take(lb);
    if (!s)
        return 0;
    size_t bound = deflateBound(&s->z, (uLong)len);
    if (bound > req->zcap) {
        unsigned char *buf = realloc(req->zbuf, bound);
        if (!buf) {
            zstream_give(lb, s);
            return 0;
        }
        req->zbuf = buf;
        req->zcap = bound;
    }
    s->z.next_in = (unsigned char *)(uintptr_t)body;
    s->z.avail_in = (uInt)len;
    s->z.next_out = req->zbuf;
    s->z.avail_out = (uInt)req->zcap;
    int rc = deflate(&s->z, Z_FINISH);
    size_t out = (size_t)s->z.total_out;
    zstream_give(lb, s);
    return rc == Z_STREAM_END && out < len ? out : 0;
}

/* route_key()'s alt__pk_of: the partition key of a table already known,
 * looked up without adding it (a request that does not qualify must not
 * make the library learn its table). */
struct pk_ctx {
    alt_lb *lb;
    alt__table *table;
    const alt__pk *pk;
};

static const char *pk_of(void *ctx, const char *table, size_t table_len,
                         size_t *pk_len)
{
    struct pk_ctx *c = ctx;
    c->table = alt__table_find(c->lb, table, table_len);
    c->pk = c->table ? atomic_load_explicit(&c->table->pk,
                                            memory_order_acquire)
                     : NULL;
    *pk_len = c->pk ? c->pk->len : 0;
    return c->pk ? c->pk->name : NULL;
}

/* The key's hash of a write that qualifies under lb's affinity mode and
 * whose table's partition key is known: true and *seed, else false. */
static bool route_key(alt_lb *lb, alt__op op, const char *body, size_t len,
                      int64_t *seed)
{
    int mode = atomic_load_explicit(&lb->affinity, memory_order_relaxed);
    alt__scan scan;
    struct pk_ctx c = {lb, NULL, NULL};
    alt__scan_with with = {pk_of, &c, mode == ALT_AFFINITY_RMW};
    if (mode == ALT_AFFINITY_NONE || !body
        || !alt__scan_request(op, body, len, &with, &scan) || !scan.write
        || (mode == ALT_AFFINITY_RMW && !scan.rmw))
        return false;
    /* Where pk_of() ran (the scan reached both the TableName and the
     * Item/Key), the same table, and the key the scan stopped at. */
    const alt__pk *pk = c.pk;
    if (!c.table) {
        alt__table *table = alt__table_get(lb, scan.table, scan.table_len);
        pk = table ? atomic_load_explicit(&table->pk, memory_order_acquire)
                   : NULL;
    }
    unsigned char key[ALT_MAX_KEY];
    size_t n;
    char type;
    if (!pk || !alt__scan_key(&scan, pk->name, pk->len, &type, key,
                              sizeof key, &n))
        return false;
    *seed = alt__key_hash(type, key, n);
    return true;
}

static bool valid_op(const char *op, size_t len)
{
    if (len == 0 || len > ALT_MAX_OP)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = op[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '.'))
            return false;
    }
    return true;
}

#define TARGET "X-Amz-Target: "
#define API "DynamoDB_20120810."

/* libcurl sends "Expect: 100-continue" with a POST body over 1 MiB. */
#define EXPECT_THRESHOLD (1024 * 1024)

/* A removal costs nothing but with libcurl 7.x and SigV4, whose
 * signature lists it ("accept;" in SignedHeaders: still 6 bytes less than
 * the header). The texts are constants or req->target. */
void alt__request_headers(alt__req *req, const char *op, size_t oplen,
                          bool gzip, size_t size, struct curl_slist *headers)
{
    static const char content_type[] =
        "Content-Type: application/x-amz-json-1.0";
    static const char encoding[] = "Content-Encoding: gzip";
    static const char no_accept[] = "Accept:", no_expect[] = "Expect:";
    char *t = req->target;
    memcpy(t, TARGET, sizeof TARGET - 1);
    t += sizeof TARGET - 1;
    if (!memchr(op, '.', oplen)) {
        memcpy(t, API, sizeof API - 1);
        t += sizeof API - 1;
    }
    memcpy(t, op, oplen);
    t[oplen] = '\0';
    size_t n = 0;
    req->hdr[n++].data = (char *)(uintptr_t)content_type;
    req->hdr[n++].data = req->target;
    if (gzip)
        req->hdr[n++].data = (char *)(uintptr_t)encoding;
    req->hdr[n++].data = (char *)(uintptr_t)no_accept;
    if (size > EXPECT_THRESHOLD)
        req->hdr[n++].data = (char *)(uintptr_t)no_expect;
    for (size_t i = 0; i + 1 < n; i++)
        req->hdr[i].next = &req->hdr[i + 1];
    req->last = (unsigned)(n - 1);
    req->headers = headers;
    req->hdr[n - 1].next = headers;
}

/* The caller's list is needed only while its request runs: once the
 * outcome is recorded, the handle (which keeps CURLOPT_HTTPHEADER pointing
 * at hdr) no longer reaches it, so that the caller may free it then. */
void alt__req_link(alt__slot *slot, bool link)
{
    alt__req *req = slot->req;
    if (req && req->active)
        req->hdr[req->last].next = link ? req->headers : NULL;
}

/* in_loop: as alt__prepare()'s. */
static alt_code prepare_request(alt_lb *lb, CURL *easy, const char *operation,
                                const char *body, size_t len,
                                struct curl_slist *headers, unsigned flags,
                                bool in_loop)
{
    size_t oplen = operation ? strnlen(operation, ALT_MAX_OP + 1) : 0;
    /* The target header is sized for the short name plus the prefix. */
    if (!lb || !easy || (flags & ~ALT_IDEMPOTENT) || (!body && len > 0)
        || !valid_op(operation, oplen)
        || (!memchr(operation, '.', oplen)
            && oplen + sizeof API - 1 > ALT_MAX_OP))
        return ALT_E_INVALID_ARG;
    alt__freeze(lb);
    alt__slot *slot = alt__slot_for(lb, easy);
    alt__req *req = slot ? slot->req : NULL;
    if (slot && !req && !(req = slot->req = calloc(1, sizeof *req)))
        return ALT_E_NOMEM;
    if (!slot)
        return ALT_E_NOMEM;

    alt__op op = alt__op_lookup(operation, oplen);
    if (alt__op_is_read(op))
        flags |= ALT_IDEMPOTENT;
    int64_t seed;
    bool affine = route_key(lb, op, body, len, &seed);

    const char *data = body ? body : "";
    size_t size = len;
    bool gzip = false;
    if (lb->z_level > 0 && len >= lb->z_min && len > 0) {
        size_t z = compress_body(lb, req, body, len);
        if (z > 0) {
            data = (const char *)req->zbuf;
            size = z;
            gzip = true;
        }
    }
    alt__request_headers(req, operation, oplen, gzip, size, headers);
    req->active = true;
    if (curl_easy_setopt(easy, CURLOPT_URL, lb->url) != CURLE_OK
        || curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                            (curl_off_t)size) != CURLE_OK
        || curl_easy_setopt(easy, CURLOPT_POSTFIELDS, data) != CURLE_OK
        || curl_easy_setopt(easy, CURLOPT_HTTPHEADER, req->hdr) != CURLE_OK)
        return ALT_E_CURL;
    return alt__prepare_slot(lb, easy, slot, flags, false, in_loop,
                             affine ? &seed : NULL);
}

alt_code alt_curl_prepare_request(alt_lb *lb, CURL *easy,
                                  const char *operation, const char *body,
                                  size_t len, struct curl_slist *headers,
                                  unsigned flags)
{
    return prepare_request(lb, easy, operation, body, len, headers, flags,
                           true);
}

CURLcode alt_curl_perform_request(alt_lb *lb, CURL *easy,
                                  const char *operation, const char *body,
                                  size_t len, struct curl_slist *headers,
                                  unsigned flags)
{
    alt_code rc = prepare_request(lb, easy, operation, body, len, headers,
                                  flags, false);
    if (rc != ALT_OK)
        return rc == ALT_E_NOMEM ? CURLE_OUT_OF_MEMORY
                                 : CURLE_BAD_FUNCTION_ARGUMENT;
    return alt__perform_prepared(lb, easy);
}
