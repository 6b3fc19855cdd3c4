/*
 * Fuzz target for the request scanner (lib/request_scan.c): the input is a
 * PutItem, UpdateItem and DeleteItem body in turn, scanned whole and told
 * the key (alt__scan_with), and where one yields an Item/Key, the key's
 * bytes are read for a few attribute names. Also fed
 * raw to alt__key_bytes, alt__json_unescape and alt__op_lookup. Built with
 * clang -fsanitize=fuzzer when ALT_FUZZ=ON; otherwise linked with
 * fuzz_replay.c, which runs it over test/fuzz/corpus_request and bounded
 * random mutations of it as an ordinary test.
 */
#define _GNU_SOURCE
#include "../../lib/request_scan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const pks[] = {"pk", "p", "user_id", "", "a\"b",
                                  "caf\xc3\xa9"};

static bool inside(const char *s, size_t n, const char *b, size_t len)
{
    return s >= b && s <= b + len && n <= (size_t)(b + len - s);
}

/* The key's bytes of an Item, with invariants: at most cap, zero on
 * failure, and the same bytes again with exactly that capacity. */
static void key(const char *item, size_t item_len, const char *pk)
{
    unsigned char buf[64], again[64];
    size_t n = 99, n2 = 99;
    char t = 0, t2 = 0;
    bool ok = alt__key_bytes(item, item_len, pk, strlen(pk), &t, buf,
                             sizeof buf, &n);
    if (!ok) {
        if (n != 0)
            abort();
        return;
    }
    if (n > sizeof buf || (t != 'S' && t != 'N' && t != 'B'))
        abort();
    if (!alt__key_bytes(item, item_len, pk, strlen(pk), &t2, again, n, &n2) ||
        t2 != t || n2 != n || memcmp(buf, again, n) != 0)
        abort();
    if (n > 0 && alt__key_bytes(item, item_len, pk, strlen(pk), &t2, again,
                                n - 1, &n2))
        abort();
}

static bool zeroed(const alt__scan *s)
{
    return !s->table && !s->item && !s->table_len && !s->item_len &&
           !s->rmw && !s->write;
}

/* The spans of a scan that returned true lie in the body, quoted and
 * braced. */
static bool spans_ok(const alt__scan *s, const char *body, size_t size)
{
    return s->write && s->table_len &&
           inside(s->table, s->table_len, body, size) &&
           inside(s->item, s->item_len, body, size) && s->table != body &&
           s->table[-1] == '"' && s->table + s->table_len < body + size &&
           s->table[s->table_len] == '"' && s->item_len >= 2 &&
           s->item[0] == '{' && s->item[s->item_len - 1] == '}';
}

static int pk_calls;

static const char *pk_is_pk(void *ctx, const char *table, size_t table_len,
                            size_t *pk_len)
{
    (void)ctx;
    (void)table;
    (void)table_len;
    pk_calls++;
    *pk_len = 2;
    return "pk";
}

/* The scan told the key ("pk" for every table), in both modes: where the
 * whole walk (whole, NULL if it returned false) found a write, the same
 * write and key; anything it returns, well placed. */
static void stopping_early(alt__op op, const char *body, size_t size,
                           const alt__scan *whole)
{
    for (int rmw_only = 0; rmw_only < 2; rmw_only++) {
        alt__scan_with with = {pk_is_pk, NULL, rmw_only};
        alt__scan f;
        pk_calls = 0;
        bool ok = alt__scan_request(op, body, size, &with, &f);
        if (pk_calls > 1 || (ok && pk_calls != 1) ||
            (!ok && (whole || !zeroed(&f))))
            abort();
        if (!ok)
            continue;
        if (!spans_ok(&f, body, size))
            abort();
        if (!whole)
            continue;
        unsigned char a[64], b[64];
        size_t na = 99, nb = 99;
        char ta = 0, tb = 0;
        bool oa = alt__scan_key(whole, "pk", 2, &ta, a, sizeof a, &na);
        bool ob = alt__scan_key(&f, "pk", 2, &tb, b, sizeof b, &nb);
        if (f.table != whole->table || f.table_len != whole->table_len ||
            f.item != whole->item || f.item_len != whole->item_len ||
            (rmw_only && f.rmw != whole->rmw) || oa != ob || na != nb ||
            (oa && (ta != tb || memcmp(a, b, na) != 0)))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy: under ASan, a read one past the end is caught
     * (the replay driver passes a larger static buffer). */
    char *body = malloc(size ? size : 1);
    if (!body)
        return 0;
    memcpy(body, data, size);

    static const alt__op ops[] = {ALT__OP_PUT_ITEM, ALT__OP_UPDATE_ITEM,
                                  ALT__OP_DELETE_ITEM};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        alt__scan s;
        bool ok = alt__scan_request(ops[i], body, size, NULL, &s);
        stopping_early(ops[i], body, size, ok ? &s : NULL);
        if (!ok) {
            if (!zeroed(&s))
                abort();
            continue;
        }
        if (!spans_ok(&s, body, size))
            abort();
        /* A read-modify-write needs one of the members that make it. */
        if (s.rmw && !memmem(body, size, "Condition", 9) &&
            !memmem(body, size, "Expected", 8) &&
            !memmem(body, size, "Return", 6) &&
            !memmem(body, size, "Update", 6) && !memchr(body, '\\', size))
            abort();
        /* Deterministic (the recorded members included; the rest of the
         * member array is never written). */
        alt__scan s2;
        if (!alt__scan_request(ops[i], body, size, NULL, &s2) ||
            s2.table != s.table || s2.table_len != s.table_len ||
            s2.item != s.item || s2.item_len != s.item_len ||
            s2.rmw != s.rmw || s2.nmembers != s.nmembers)
            abort();
        for (unsigned m = 0; m < s.nmembers && m < ALT__SCAN_MEMBERS; m++)
            if (s2.member[m].name != s.member[m].name ||
                s2.member[m].name_len != s.member[m].name_len ||
                s2.member[m].value != s.member[m].value ||
                !inside(s.member[m].name, s.member[m].name_len, s.item,
                        s.item_len) ||
                !inside(s.member[m].value, 1, s.item, s.item_len))
                abort();
        for (size_t k = 0; k < sizeof pks / sizeof pks[0]; k++) {
            key(s.item, s.item_len, pks[k]);
            /* From the recorded members: the same as walking the Item. */
            unsigned char a[64], b[64];
            size_t na = 99, nb = 99;
            char ta = 0, tb = 0;
            bool oa = alt__key_bytes(s.item, s.item_len, pks[k],
                                     strlen(pks[k]), &ta, a, sizeof a, &na);
            bool ob = alt__scan_key(&s, pks[k], strlen(pks[k]), &tb, b,
                                    sizeof b, &nb);
            if (oa != ob || na != nb || (oa && (ta != tb || memcmp(a, b, na))))
                abort();
        }
    }

    /* Any bytes as an Item, a JSON string's contents, an operation. */
    key(body, size, "pk");
    unsigned char out[32];
    bool ok;
    size_t n = alt__json_unescape(body, size, out, sizeof out, &ok);
    if ((ok && n > sizeof out) || n > size)
        abort();
    alt__op op = alt__op_lookup(body, size);
    if (op < ALT__OP_OTHER || op >= ALT__OP_COUNT_)
        abort();
    free(body);
    return 0;
}
