/*
 * tables.c: the partition key of each table, for key-route affinity, and
 * the DescribeTable requests that learn it.
 *
 * Tables live in an open-addressing array of ALT_TABLE_SLOTS pointers,
 * twice the most tables kept, so that a probe always ends. Entries are
 * added under lb->tables_mu and never removed before alt_lb_free(): a
 * request's lookup is lock-free. A partition key, once published, is
 * never freed before alt_lb_free() either; one replaced by
 * alt_lb_set_partition_key() goes on a list (lb->retired_pks).
 *
 * A table to learn is due (describe_at) from its first qualifying request.
 * The refresh drivers run its DescribeTable after their /localnodes round
 * (refresh.c, multi.c), on the same easy handle, to a node in rotation,
 * signed like the caller's requests. While one runs the table is leased
 * (describe_at in the future), so that two drivers never ask at once; a
 * failure backs off 1 s, doubling up to 60 s.
 */
#include "alt_private.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000
#define MAX_NAME 255

/* DynamoDB's table names: 3 to 255 of [A-Za-z0-9_.-]. Nothing else is
 * kept, and nothing in them needs escaping in JSON. */
static bool valid_table(const char *s, size_t len)
{
    if (len < 3 || len > MAX_NAME)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

static uint32_t hash_name(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* The slot holding the table, or the empty slot where it would go. */
static size_t probe(alt_lb *lb, const char *name, size_t len, uint32_t h,
                    alt__table **found)
{
    size_t i = h & (ALT_TABLE_SLOTS - 1);
    for (;; i = (i + 1) & (ALT_TABLE_SLOTS - 1)) {
        alt__table *t = atomic_load_explicit(&lb->tables[i],
                                             memory_order_acquire);
        if (!t || (t->hash == h && t->len == len
                   && memcmp(t->name, name, len) == 0)) {
            *found = t;
            return i;
        }
    }
}

/* Finds or adds the table; a new one is to be learnt when learn is set. */
static alt__table *table_get(alt_lb *lb, const char *name, size_t len,
                             bool learn)
{
    uint32_t h = hash_name(name, len);
    alt__table *t;
    probe(lb, name, len, h, &t);
    if (t)
        return t;
    pthread_mutex_lock(&lb->tables_mu);
    size_t at = probe(lb, name, len, h, &t);
    if (!t && lb->ntables < ALT_MAX_TABLES
        && (t = calloc(1, sizeof *t + len + 1))) {
        atomic_init(&t->pk, NULL);
        t->hash = h;
        t->len = len;
        memcpy(t->name, name, len);
        t->describe_at = learn ? alt__now_ms() : 0;
        atomic_store_explicit(&lb->tables[at], t, memory_order_release);
        lb->ntables++;
        if (learn)
            alt__refresh_soon(lb);
    }
    pthread_mutex_unlock(&lb->tables_mu);
    return t;
}

alt__table *alt__table_get(alt_lb *lb, const char *name, size_t len)
{
    return valid_table(name, len) ? table_get(lb, name, len, true) : NULL;
}

alt__table *alt__table_find(alt_lb *lb, const char *name, size_t len)
{
    alt__table *t = NULL;
    if (len > 0 && len <= MAX_NAME)
        probe(lb, name, len, hash_name(name, len), &t);
    return t;
}

void alt__free_tables(alt_lb *lb)
{
    for (size_t i = 0; lb->tables && i < ALT_TABLE_SLOTS; i++) {
        alt__table *t = atomic_load(&lb->tables[i]);
        if (t) {
            free(atomic_load(&t->pk));
            free(t);
        }
    }
    while (lb->retired_pks) {
        alt__pk *next = lb->retired_pks->retired;
        free(lb->retired_pks);
        lb->retired_pks = next;
    }
    free(lb->tables);
    lb->tables = NULL;
}

/* Publishes pk (NULL: none) as t's. Caller holds lb->tables_mu. */
static void set_pk(alt_lb *lb, alt__table *t, alt__pk *pk)
{
    alt__pk *old = atomic_exchange(&t->pk, pk);
    if (old) {
        old->retired = lb->retired_pks;
        lb->retired_pks = old;
    }
}

static alt__pk *new_pk(const char *name, size_t len)
{
    alt__pk *pk = malloc(sizeof *pk + len + 1);
    if (pk) {
        pk->retired = NULL;
        pk->len = len;
        memcpy(pk->name, name, len);
        pk->name[len] = '\0';
    }
    return pk;
}

alt_code alt_lb_set_partition_key(alt_lb *lb, const char *table,
                                  const char *attribute)
{
    size_t alen = attribute ? strlen(attribute) : 0;
    if (!lb || !table || !valid_table(table, strlen(table))
        || (attribute && (alen == 0 || alen > MAX_NAME)))
        return ALT_E_INVALID_ARG;
    alt__pk *pk = NULL;
    if (attribute && !(pk = new_pk(attribute, alen)))
        return ALT_E_NOMEM;
    alt__table *t = table_get(lb, table, strlen(table), false);
    if (!t) {
        free(pk);
        pthread_mutex_lock(&lb->tables_mu);
        bool full = lb->ntables == ALT_MAX_TABLES;
        pthread_mutex_unlock(&lb->tables_mu);
        return full ? ALT_E_STATE : ALT_E_NOMEM;
    }
    pthread_mutex_lock(&lb->tables_mu);
    set_pk(lb, t, pk);
    t->failures = 0;
    t->describe_at = pk ? 0 : alt__now_ms();
    pthread_mutex_unlock(&lb->tables_mu);
    if (!pk)
        alt__refresh_soon(lb);
    return ALT_OK;
}

alt_code alt_lb_partition_key(alt_lb *lb, const char *table, char *buf,
                              size_t size)
{
    if (!lb || !table || !buf)
        return ALT_E_INVALID_ARG;
    size_t len = strlen(table);
    alt__table *t = NULL;
    if (valid_table(table, len))
        probe(lb, table, len, hash_name(table, len), &t);
    const alt__pk *pk = t ? atomic_load_explicit(&t->pk, memory_order_acquire)
                          : NULL;
    if (!pk)
        return ALT_E_UNKNOWN;
    if (pk->len >= size)
        return ALT_E_INVALID_ARG;
    memcpy(buf, pk->name, pk->len + 1);
    return ALT_OK;
}

/* ------------------------------------------------------------------------ */
/* DescribeTable                                                             */
/* ------------------------------------------------------------------------ */

/* Takes the lease of a table due to be learnt, or NULL. */
static alt__table *take_due(alt_lb *lb, int64_t now)
{
    alt__table *due = NULL;
    pthread_mutex_lock(&lb->tables_mu);
    for (size_t i = 0; lb->ntables && i < ALT_TABLE_SLOTS && !due; i++) {
        alt__table *t = atomic_load(&lb->tables[i]);
        if (t && t->describe_at != 0 && t->describe_at <= now
            && !atomic_load(&t->pk))
            due = t;
    }
    if (due) /* another driver leaves it alone until this one is over */
        due->describe_at = now + 4 * lb->total_timeout_ms + 1000;
    pthread_mutex_unlock(&lb->tables_mu);
    return due;
}

/* A node in rotation, in turn with the refreshes' targets. */
static alt__node *describe_target(alt_lb *lb, int64_t now)
{
    size_t n = atomic_load(&lb->nlive);
    size_t start = atomic_fetch_add(&lb->refresh_rr, 1);
    for (size_t i = 0; i < n; i++) {
        alt__node *node = atomic_load(&lb->live[(start + i) % n]);
        if (alt__in_rotation(lb, node, now))
            return node;
    }
    return n ? atomic_load(&lb->live[start % n]) : NULL;
}

static CURLcode set_request(alt_lb *lb, alt__job *job)
{
    size_t len = strlen(job->post);
    alt__request_headers(&job->req, "DescribeTable", 13, false, len, NULL);
    CURL *easy = job->easy;
    CURLcode rc = CURLE_OK;
#define SET(opt, val) \
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, opt, val)
    SET(CURLOPT_URL, lb->url);
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    SET(CURLOPT_POSTFIELDS, job->post);
    SET(CURLOPT_HTTPHEADER, job->req.hdr);
#undef SET
    if (rc == CURLE_OK && lb->sigv4)
        rc = alt__set_sigv4(lb, easy, true);
    return rc;
}

bool alt__describe_setup(alt_lb *lb, alt__job *job)
{
    int64_t now = alt__now_ms();
    alt__table *t = take_due(lb, now);
    if (!t)
        return false;
    char *post = realloc(job->post, t->len + sizeof "{\"TableName\":\"\"}");
    if (!post) {
        job->table = t;
        alt__describe_abort(lb, job);
        return false;
    }
    job->post = post;
    sprintf(post, "{\"TableName\":\"%s\"}", t->name);
    job->len = 0;
    job->errbuf[0] = '\0';
    job->posted = true;
    job->table = t;
    /* Pinned under lb->mu, as in alt__job_setup(). */
    pthread_mutex_lock(&lb->mu);
    alt__node *target = describe_target(lb, now);
    atomic_store(&job->target, target);
    CURLcode rc = target ? curl_easy_setopt(job->easy, CURLOPT_CONNECT_TO,
                                            &target->connect_to)
                         : CURLE_COULDNT_CONNECT;
    pthread_mutex_unlock(&lb->mu);
    if (rc == CURLE_OK)
        rc = set_request(lb, job);
    if (rc != CURLE_OK) {
        alt__describe_abort(lb, job);
        return false;
    }
    return true;
}

void alt__describe_abort(alt_lb *lb, alt__job *job)
{
    pthread_mutex_lock(&lb->tables_mu);
    if (job->table->describe_at != 0)
        job->table->describe_at = alt__now_ms();
    pthread_mutex_unlock(&lb->tables_mu);
    job->table = NULL;
    atomic_store(&job->target, NULL);
}

/* The HASH element's AttributeName of a DescribeTable answer, or NULL. */
static alt__pk *hash_key(const char *body, size_t len)
{
    json_tokener *tok = json_tokener_new_ex(16);
    if (!tok)
        return NULL;
    json_object *root = json_tokener_parse_ex(tok, body, (int)len);
    json_tokener_free(tok);
    json_object *table, *schema;
    alt__pk *pk = NULL;
    if (root && json_object_object_get_ex(root, "Table", &table)
        && json_object_object_get_ex(table, "KeySchema", &schema)
        && json_object_is_type(schema, json_type_array)) {
        for (size_t i = 0; !pk && i < json_object_array_length(schema); i++) {
            json_object *e = json_object_array_get_idx(schema, i), *type,
                        *name;
            if (json_object_object_get_ex(e, "KeyType", &type)
                && json_object_is_type(type, json_type_string)
                && strcmp(json_object_get_string(type), "HASH") == 0
                && json_object_object_get_ex(e, "AttributeName", &name)
                && json_object_is_type(name, json_type_string)) {
                size_t n = (size_t)json_object_get_string_len(name);
                if (n > 0 && n <= MAX_NAME)
                    pk = new_pk(json_object_get_string(name), n);
            }
        }
    }
    json_object_put(root);
    return pk;
}

void alt__describe_finish(alt_lb *lb, alt__job *job, CURLcode result)
{
    alt__table *t = job->table;
    alt__node *target = atomic_load(&job->target);
    long status = 0;
    alt__pk *pk = NULL;
    if (result == CURLE_OK) {
        curl_easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status == 200)
            pk = hash_key(job->body ? job->body : "", job->len);
    } else if (alt__classify(job->easy, result, lb->total_timeout_ms,
                             lb->connect_timeout_ms, lb->curl7).node_fault) {
        alt__node_failed(lb, target, false, "no answer to DescribeTable");
    }
    pthread_mutex_lock(&lb->tables_mu);
    bool wanted = t->describe_at != 0; /* not set by the caller meanwhile */
    if (pk && wanted) {
        set_pk(lb, t, pk);
        t->failures = 0;
        t->describe_at = 0;
    } else if (wanted) {
        int64_t backoff = BACKOFF_MIN_MS;
        for (unsigned i = 0; i < t->failures && backoff < BACKOFF_MAX_MS; i++)
            backoff *= 2;
        t->failures++;
        t->describe_at = alt__now_ms()
                         + (backoff < BACKOFF_MAX_MS ? backoff : BACKOFF_MAX_MS);
    }
    pthread_mutex_unlock(&lb->tables_mu);
    if (pk && wanted) {
        alt__log(lb, ALT_LOG_INFO, "table %s: partition key %s", t->name,
                 pk->name);
    } else if (wanted) {
        char why[64];
        if (result != CURLE_OK)
            snprintf(why, sizeof why, "%s", curl_easy_strerror(result));
        else if (status != 200)
            snprintf(why, sizeof why, "HTTP %ld", status);
        else
            snprintf(why, sizeof why, "no HASH key in the answer");
        alt__log(lb, ALT_LOG_WARN, "DescribeTable %s on %s failed (%s); its "
                 "requests go the normal way", t->name,
                 target ? target->addr : "no node", why);
    }
    if (pk && !wanted)
        free(pk);
    job->table = NULL;
    atomic_store(&job->target, NULL);
}
