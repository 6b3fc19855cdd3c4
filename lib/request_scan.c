/*
 * request_scan.c: the operation name, and a single pass over a write's JSON
 * body that finds its table, its Item/Key and whether it is a
 * read-modify-write, then the partition key's bytes. See request_scan.h.
 *
 * The walk checks the JSON structure of what it reads (objects, arrays,
 * strings, numbers and literals, nesting, trailing bytes), so that a body
 * cut short or spliced before the walk is done never yields a span. It
 * does not check what the server checks anyway in strings it only skips:
 * escapes, raw control characters, UTF-8. A string whose contents the
 * rules read (the key, the ReturnValues, an Action) is fully checked when
 * decoded. Told the table's partition key (alt__scan_with), the walk does
 * less: it leaves the Item/Key at its key and finds the object's end by
 * its brackets (object_rest()), and once it knows all routing needs it
 * reads no further.
 *
 * Everything is iterative with bounded state; every read is checked
 * against the end of the input. Standalone: no other part of the library.
 */
#include "request_scan.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* In a program's loop the scan's code is rarely still in the instruction
 * cache: one copy of the string scan and rare paths out of line measured
 * faster there than inlining them (bench 8b), though not in a tight loop.
 * What stays inlined is small. */
#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#define NOINLINE __attribute__((noinline))
#else
#define ALWAYS_INLINE inline
#define NOINLINE
#endif

#include <stdint.h>
#include <string.h>

/* Containers open at once inside one skipped value. DynamoDB allows 32
 * levels of nested attributes, each two JSON levels ({"M":{...}}), so 64
 * would refuse a legal item; past 128 the body is called malformed. */
#define MAX_DEPTH 128

/* ---- Operation names ------------------------------------------------- */

static const struct op_name {
    const char *name;
    unsigned char len;
    unsigned char op;
} op_names[] = {
    {"Scan", 4, ALT__OP_SCAN},
    {"Query", 5, ALT__OP_QUERY},
    {"GetItem", 7, ALT__OP_GET_ITEM},
    {"PutItem", 7, ALT__OP_PUT_ITEM},
    {"DeleteItem", 10, ALT__OP_DELETE_ITEM},
    {"UpdateItem", 10, ALT__OP_UPDATE_ITEM},
    {"ListTables", 10, ALT__OP_LIST_TABLES},
    {"GetRecords", 10, ALT__OP_GET_RECORDS},
    {"CreateTable", 11, ALT__OP_CREATE_TABLE},
    {"DeleteTable", 11, ALT__OP_DELETE_TABLE},
    {"UpdateTable", 11, ALT__OP_UPDATE_TABLE},
    {"TagResource", 11, ALT__OP_TAG_RESOURCE},
    {"ListStreams", 11, ALT__OP_LIST_STREAMS},
    {"BatchGetItem", 12, ALT__OP_BATCH_GET_ITEM},
    {"DescribeTable", 13, ALT__OP_DESCRIBE_TABLE},
    {"UntagResource", 13, ALT__OP_UNTAG_RESOURCE},
    {"BatchWriteItem", 14, ALT__OP_BATCH_WRITE_ITEM},
    {"DescribeStream", 14, ALT__OP_DESCRIBE_STREAM},
    {"TransactGetItems", 16, ALT__OP_TRANSACT_GET_ITEMS},
    {"ExecuteStatement", 16, ALT__OP_EXECUTE_STATEMENT},
    {"UpdateTimeToLive", 16, ALT__OP_UPDATE_TIME_TO_LIVE},
    {"GetShardIterator", 16, ALT__OP_GET_SHARD_ITERATOR},
    {"DescribeEndpoints", 17, ALT__OP_DESCRIBE_ENDPOINTS},
    {"TransactWriteItems", 18, ALT__OP_TRANSACT_WRITE_ITEMS},
    {"DescribeTimeToLive", 18, ALT__OP_DESCRIBE_TIME_TO_LIVE},
    {"ListTagsOfResource", 18, ALT__OP_LIST_TAGS_OF_RESOURCE},
    {"DescribeContinuousBackups", 25, ALT__OP_DESCRIBE_CONTINUOUS_BACKUPS},
};
#define OP_NAMES (sizeof op_names / sizeof op_names[0])

/* Where each length starts in op_names (sorted by length): a lookup
 * compares only the names of its length, at most five, and those by their
 * first byte before memcmp. Built on first use would need a lock or an
 * atomic; a constant table of 26 lengths is simpler. */
static const unsigned char by_len[27] = {
    /* 0-3 */ 0, 0, 0, 0,
    /* 4 */ 0, /* 5 */ 1, /* 6 */ 2, /* 7 */ 2, /* 8 */ 4, /* 9 */ 4,
    /* 10 */ 4, /* 11 */ 8, /* 12 */ 13, /* 13 */ 14, /* 14 */ 16,
    /* 15 */ 18, /* 16 */ 18, /* 17 */ 22, /* 18 */ 23, /* 19 */ 26,
    /* 20-24 */ 26, 26, 26, 26, 26, /* 25 */ 26, /* end */ 27,
};

static bool stream_op(alt__op op)
{
    return op == ALT__OP_LIST_STREAMS || op == ALT__OP_DESCRIBE_STREAM ||
           op == ALT__OP_GET_SHARD_ITERATOR || op == ALT__OP_GET_RECORDS;
}

alt__op alt__op_lookup(const char *name, size_t len)
{
    static const char ddb[] = "DynamoDB_20120810.";
    static const char streams[] = "DynamoDBStreams_20120810.";
    int prefix = 0; /* 1: DynamoDB_, 2: DynamoDBStreams_ */
    if (!name)
        return ALT__OP_OTHER;
    if (len > sizeof ddb - 1 && name[0] == 'D' && name[8] == '_' &&
        memcmp(name, ddb, sizeof ddb - 1) == 0) {
        name += sizeof ddb - 1;
        len -= sizeof ddb - 1;
        prefix = 1;
    } else if (len > sizeof streams - 1 && name[0] == 'D' &&
               memcmp(name, streams, sizeof streams - 1) == 0) {
        name += sizeof streams - 1;
        len -= sizeof streams - 1;
        prefix = 2;
    }
    if (len < 4 || len > 25)
        return ALT__OP_OTHER;
    for (unsigned i = by_len[len]; i < by_len[len + 1]; i++) {
        const struct op_name *e = &op_names[i];
        if (e->name[0] == name[0] && memcmp(e->name, name, len) == 0) {
            alt__op op = (alt__op)e->op;
            /* The streams API has its own target prefix. */
            if (prefix && (prefix == 2) != stream_op(op))
                return ALT__OP_OTHER;
            return op;
        }
    }
    return ALT__OP_OTHER;
}

bool alt__op_is_read(alt__op op)
{
    switch (op) {
    case ALT__OP_GET_ITEM:
    case ALT__OP_QUERY:
    case ALT__OP_SCAN:
    case ALT__OP_BATCH_GET_ITEM:
    case ALT__OP_TRANSACT_GET_ITEMS:
    case ALT__OP_DESCRIBE_TABLE:
    case ALT__OP_LIST_TABLES:
    case ALT__OP_DESCRIBE_ENDPOINTS:
    case ALT__OP_DESCRIBE_TIME_TO_LIVE:
    case ALT__OP_DESCRIBE_CONTINUOUS_BACKUPS:
    case ALT__OP_LIST_TAGS_OF_RESOURCE:
    case ALT__OP_LIST_STREAMS:
    case ALT__OP_DESCRIBE_STREAM:
    case ALT__OP_GET_SHARD_ITERATOR:
    case ALT__OP_GET_RECORDS:
        return true;
    default:
        return false;
    }
}

/* ---- Lexing ---------------------------------------------------------- */

static inline const char *skip_ws(const char *p, const char *end)
{
    /* Bodies from SDKs are compact: test the common case first. */
    while (p < end && (unsigned char)*p <= ' ' &&
           (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

/* High bit of each byte of x that is zero, no false positives (the exact
 * test of "Bit Twiddling Hacks"). */
static inline uint64_t zero_bytes(uint64_t x)
{
    const uint64_t lo7 = 0x7f7f7f7f7f7f7f7fu;
    return ~(((x & lo7) + lo7) | x | lo7);
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SWAR_LE 1
#endif

/* p is inside a string, not just after a backslash: returns just past the
 * closing quote, or NULL if the input ends first. Escapes are stepped
 * over, not checked. string_end() without a window: for a long string past
 * it, for a string that object_rest() leaves open at a block's end, and
 * for builds without SSE2. A byte loop costs about 1 ns a byte, 8
 * bytes a step a fraction of that. */
static NOINLINE const char *string_tail(const char *p, const char *end)
{
    const char *from = p;
    size_t n = (size_t)(end - p), i = 0;
    while (i < n) {
#ifdef __SSE2__
        /* Sixteen bytes at a time where there are that many: a quote or a
         * backslash in a compare, a mask, and its lowest bit. */
        if (n - i >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
            unsigned qm = (unsigned)_mm_movemask_epi8(
                _mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
            unsigned m = qm | (unsigned)_mm_movemask_epi8(
                                  _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
            if (!m) {
                i += 16;
                if (i >= 64)
                    goto long_string;
                continue;
            }
            i += (size_t)__builtin_ctz(m);
            if (qm & m & (~m + 1))
                return p + i + 1;
            i += 2; /* an escape: the backslash and the byte it escapes */
            continue;
        }
#endif
        if (n - i >= 8) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            uint64_t q = zero_bytes(w ^ 0x2222222222222222u);  /* '"' */
            uint64_t m = q | zero_bytes(w ^ 0x5c5c5c5c5c5c5c5cu); /* '\\' */
            if (!m) {
                i += 8;
                if (i >= 64)
                    goto long_string;
                continue;
            }
#ifdef SWAR_LE
            /* The lowest flagged byte is the first in memory. */
            size_t at = i + ((size_t)__builtin_ctzll(m) >> 3);
            if (q & m & (~m + 1))
                return p + at + 1;
            i = at;
#else
            while (p[i] != '"' && p[i] != '\\')
                i++;
#endif
        } else {
            while (i < n && p[i] != '"' && p[i] != '\\')
                i++;
            if (i == n)
                return NULL;
        }
        if (p[i] == '"')
            return p + i + 1;
        i += 2; /* an escape: the backslash and the byte it escapes */
    }
    return NULL;

long_string:
    /* Long values (base64, text): memchr's vector loop, then whether the
     * quote found is escaped. */
    p += i;
    for (;;) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q)
            return NULL;
        /* Escaped iff an odd run of backslashes precedes it. Runs are
         * disjoint, so all the counting is linear in the string. */
        const char *b = q;
        while (b > from && b[-1] == '\\')
            b--;
        if (((q - b) & 1) == 0)
            return q + 1;
        p = q + 1;
    }
}

/*
 * The input, and where its quotes and backslashes are in a window of 64
 * bytes. Finding a string's end is the chain the whole walk waits on: each
 * token starts where the previous one ended. With the window, the end of
 * a name or a short value is a shift and a bit scan of masks already
 * computed, not a load, compares and a gather of its bytes; one window
 * serves every string that ends in its 64 bytes.
 */
typedef struct lexer {
    const char *end;
#ifdef __SSE2__
    uintptr_t base;         /* the window: 64 bytes from base, */
    uint64_t quote, bslash; /* bit i for base[i] */
#endif
} lexer;

static inline void lexer_init(lexer *z, const char *end)
{
    z->end = end;
#ifdef __SSE2__
    /* No window yet: every position of the input is outside this one. */
    z->base = (uintptr_t)end + 64;
    z->quote = z->bslash = 0;
#endif
}

#ifdef __SSE2__
/* 64 bytes from p as four vectors. Where fewer than 64 are left before
 * end, those of a copy padded with zeros (no quote, backslash or bracket):
 * the last bytes of a body are read in blocks too. */
typedef struct bytes64 {
    __m128i v[4];
} bytes64;

static ALWAYS_INLINE void load64(bytes64 *b, const char *p, const char *end)
{
    size_t left = (size_t)(end - p);
    char pad[64];
    const char *from = p;
    if (left < 64) {
        memset(pad, 0, sizeof pad);
        memcpy(pad, p, left);
        from = pad;
    }
    const __m128i *v = (const __m128i *)(const void *)from;
    for (int i = 0; i < 4; i++)
        b->v[i] = _mm_loadu_si128(v + i);
}

/* Bit i set where byte i of the block equals c. */
static ALWAYS_INLINE uint64_t mask64(const bytes64 *b, char c)
{
    const __m128i cv = _mm_set1_epi8(c);
    uint64_t m = 0;
    for (int i = 0; i < 4; i++)
        m |= (uint64_t)(unsigned)_mm_movemask_epi8(
                 _mm_cmpeq_epi8(b->v[i], cv)) << (16 * i);
    return m;
}

/* Moves the window to p. */
static ALWAYS_INLINE void window(lexer *z, const char *p)
{
    bytes64 b;
    load64(&b, p, z->end);
    z->quote = mask64(&b, '"');
    z->bslash = mask64(&b, '\\');
    z->base = (uintptr_t)p;
}
#endif

/* p is just past an opening quote: returns just past the closing one, or
 * NULL if the input ends first. Escapes are stepped over, not checked. */
#ifdef __SSE2__
static NOINLINE const char *string_end(lexer *z, const char *p)
#else
static ALWAYS_INLINE const char *string_end(lexer *z, const char *p)
#endif
{
#ifdef __SSE2__
    /* Integers, not pointers: no window is a base past the input. */
    uintptr_t off = (uintptr_t)p - z->base;
    for (;;) {
        if (off >= 64) {
            window(z, p);
            off = 0;
        }
        uint64_t m = (z->quote | z->bslash) >> off;
        if (!m) {
            /* Nothing in the rest of the window: the input ends inside
             * it, or the string goes on past it (string_tail(): a long
             * value, or a short one that starts near the window's end). */
            if ((uintptr_t)z->end - z->base <= 64)
                return NULL;
            return string_tail(p + (64 - off), z->end);
        }
        unsigned at = (unsigned)__builtin_ctzll(m);
        if (z->quote >> (off + at) & 1)
            return p + at + 1;
        /* An escape: the backslash and the byte after it. */
        if ((size_t)(z->end - p) <= at + 1)
            return NULL;
        p += at + 2;
        off += at + 2;
    }
#else
    return string_tail(p, z->end);
#endif
}

static const char *digits_end(const char *p, const char *end)
{
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    return p;
}

/* A JSON number at p: returns its end, or NULL. */
static const char *number_end(const char *p, const char *end)
{
    if (p < end && *p == '-')
        p++;
    if (p == end)
        return NULL;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        p = digits_end(p + 1, end);
    else
        return NULL;
    if (p < end && *p == '.') {
        const char *d = digits_end(p + 1, end);
        if (d == p + 1)
            return NULL;
        p = d;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        const char *d = digits_end(p, end);
        if (d == p)
            return NULL;
        p = d;
    }
    return p;
}

static const char *literal_end(const char *p, const char *end,
                               const char *word, size_t n)
{
    if ((size_t)(end - p) < n || memcmp(p, word, n) != 0)
        return NULL;
    return p + n;
}

static const char *null_end(const char *p, const char *end)
{
    return literal_end(p, end, "null", 4);
}

/* One JSON value at p (leading whitespace allowed): returns its end, or
 * NULL if it is malformed, cut short or nested deeper than MAX_DEPTH. */
static const char *skip_value(lexer *z, const char *p)
{
    const char *end = z->end;
    char closer[MAX_DEPTH];
    unsigned depth = 0;

value:
    p = skip_ws(p, end);
    if (p == end)
        return NULL;
    /* Strings and objects are nearly all of DynamoDB JSON: plain branches
     * for them predict better than a jump table. */
    if (*p == '"') {
        p = string_end(z, p + 1);
        goto after;
    }
    switch (*p) {
    case '{':
    case '[': {
        char close = *p == '{' ? '}' : ']';
        p = skip_ws(p + 1, end);
        if (p == end)
            return NULL;
        if (*p == close) {
            p++;
            break;
        }
        if (depth == MAX_DEPTH)
            return NULL;
        closer[depth++] = close;
        if (close == ']')
            goto value;
        goto member;
    }
    case 't':
        p = literal_end(p, end, "true", 4);
        break;
    case 'f':
        p = literal_end(p, end, "false", 5);
        break;
    case 'n':
        p = null_end(p, end);
        break;
    default:
        p = number_end(p, end);
        break;
    }
after:
    if (!p)
        return NULL;
    /* After a value: a comma, or the ends of the containers it closes. */
    while (depth) {
        p = skip_ws(p, end);
        if (p == end)
            return NULL;
        if (*p == ',') {
            p++;
            if (closer[depth - 1] == ']')
                goto value;
            goto member;
        }
        if (*p != closer[depth - 1])
            return NULL;
        p++;
        depth--;
    }
    return p;

member:
    p = skip_ws(p, end);
    if (p == end || *p != '"')
        return NULL;
    p = string_end(z, p + 1);
    if (!p)
        return NULL;
    p = skip_ws(p, end);
    if (p == end || *p != ':')
        return NULL;
    p++;
    goto value;
}

static NOINLINE int next_member_slow(lexer *z, const char **pp, bool *first,
                                     const char **name, size_t *name_len);

/*
 * Steps through the members of an object whose '{' has been passed.
 * Returns 1 with the member's raw name and *pp at its value, 0 at the end
 * of the object (*pp just past the '}'), -1 if malformed. *first is the
 * caller's state: true before the first member.
 */
static ALWAYS_INLINE int next_member(lexer *z, const char **pp, bool *first,
                                     const char **name, size_t *name_len)
{
    const char *end = z->end;
    const char *p = *pp;
    /* Compact JSON, as SDKs write it: ,"name": with no space around. */
    if (end - p >= 3 && (*first ? p[0] == '"' : p[0] == ',' && p[1] == '"')) {
        const char *s = *first ? p + 1 : p + 2;
        const char *q = string_end(z, s);
        if (q && q < end && *q == ':' && q + 1 < end
            && (unsigned char)q[1] > ' ') {
            *first = false;
            *name = s;
            *name_len = (size_t)(q - 1 - s);
            *pp = q + 1;
            return 1;
        }
    }
    if (p < end && *p == '}') {
        *pp = p + 1;
        return 0;
    }
    return next_member_slow(z, pp, first, name, name_len);
}

/* The rest of next_member(): whitespace, and every error. */
static int next_member_slow(lexer *z, const char **pp, bool *first,
                            const char **name, size_t *name_len)
{
    const char *end = z->end;
    const char *p = *pp;
    p = skip_ws(p, end);
    if (p == end)
        return -1;
    if (*p == '}') {
        /* Before the first member or after one; never after a comma,
         * where a quote is expected below. */
        *pp = p + 1;
        return 0;
    }
    if (!*first) {
        if (*p != ',')
            return -1;
        p = skip_ws(p + 1, end);
        if (p == end)
            return -1;
    }
    *first = false;
    if (*p != '"')
        return -1;
    const char *q = string_end(z, p + 1);
    if (!q)
        return -1;
    *name = p + 1;
    *name_len = (size_t)(q - 1 - (p + 1));
    p = skip_ws(q, end);
    if (p == end || *p != ':')
        return -1;
    p = skip_ws(p + 1, end);
    if (p == end)
        return -1;
    *pp = p;
    return 1;
}

/* ---- Unescaping ------------------------------------------------------ */

static int hex4(const char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    return v;
}

static size_t utf8_put(uint32_t cp, unsigned char u[4])
{
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | cp >> 6);
        u[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | cp >> 12);
        u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    u[0] = (unsigned char)(0xF0 | cp >> 18);
    u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    u[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * The escape at s (s[0] == '\\'): its UTF-8 bytes into u, the input it
 * takes into *used. Returns the byte count, 0 if it is not a valid escape.
 * Surrogates follow Go's encoding/json (unquote): a high one followed by
 * \u and a low one is one character; any other surrogate is U+FFFD, and
 * the escape after a lone high one is read on its own.
 */
static NOINLINE size_t decode_escape(const char *s, const char *end,
                                     unsigned char u[4], size_t *used)
{
    if (end - s < 2)
        return 0;
    *used = 2;
    switch (s[1]) {
    case '"':
    case '\\':
    case '/':
        u[0] = (unsigned char)s[1];
        return 1;
    case 'b': u[0] = '\b'; return 1;
    case 'f': u[0] = '\f'; return 1;
    case 'n': u[0] = '\n'; return 1;
    case 'r': u[0] = '\r'; return 1;
    case 't': u[0] = '\t'; return 1;
    case 'u':
        break;
    default:
        return 0;
    }
    if (end - s < 6)
        return 0;
    int cp = hex4(s + 2);
    if (cp < 0)
        return 0;
    *used = 6;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        int lo = -1;
        if (end - s >= 12 && s[6] == '\\' && s[7] == 'u')
            lo = hex4(s + 8);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
            *used = 12;
            return utf8_put(0x10000 + ((uint32_t)(cp - 0xD800) << 10) +
                                (uint32_t)(lo - 0xDC00), u);
        }
        cp = 0xFFFD;
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        cp = 0xFFFD;
    }
    return utf8_put((uint32_t)cp, u);
}

size_t alt__json_unescape(const char *s, size_t len, unsigned char *out,
                          size_t cap, bool *ok)
{
    const char *end = s + len;
    size_t n = 0;
    bool good = true;
    while (s < end) {
        unsigned char c = (unsigned char)*s;
        if (c == '\\') {
            unsigned char u[4];
            size_t used, k = decode_escape(s, end, u, &used);
            if (!k) {
                good = false;
                break;
            }
            for (size_t i = 0; i < k; i++, n++)
                if (n < cap)
                    out[n] = u[i];
            s += used;
        } else if (c < 0x20 || c == '"') {
            good = false;
            break;
        } else {
            if (n < cap)
                out[n] = c;
            n++;
            s++;
        }
    }
    *ok = good && n <= cap;
    return n;
}

/* name_is() for a name that holds a backslash: unescaped as it is
 * compared. A bad escape makes the names unequal. */
static NOINLINE bool name_is_escaped(const char *s, size_t n,
                                     const char *want, size_t wn)
{
    const char *end = s + n;
    size_t w = 0;
    while (s < end) {
        const char *bs = memchr(s, '\\', (size_t)(end - s));
        size_t run = (size_t)((bs ? bs : end) - s);
        if (run > wn - w || memcmp(s, want + w, run) != 0)
            return false;
        w += run;
        s += run;
        if (!bs)
            break;
        unsigned char u[4];
        size_t used, k = decode_escape(s, end, u, &used);
        if (!k || k > wn - w || memcmp(u, want + w, k) != 0)
            return false;
        w += k;
        s += used;
    }
    return w == wn;
}

/* Whether the raw (escaped) string contents s equal want. A raw name
 * without a backslash is its own text, and one with a backslash is longer
 * than the text it stands for: only then is it unescaped. Names are
 * short: a byte loop, no calls. */
static inline bool name_is(const char *s, size_t n, const char *want,
                           size_t wn)
{
    if (n < wn)
        return false;
    bool same = n == wn;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\')
            return name_is_escaped(s, n, want, wn);
        same = same && s[i] == want[i];
    }
    return same;
}

/* The contents of a short enum-like string value (ReturnValues, Action),
 * unescaped into buf[16]. Returns its length, SIZE_MAX if it is malformed
 * within its first 16 bytes; any value longer returns 17: it is none of
 * the values the rules name, whatever else is wrong with it. */
#define WORD_CAP 16
static NOINLINE size_t word(const char *s, size_t n, char buf[WORD_CAP])
{
    if (!memchr(s, '\\', n)) {
        if (n > WORD_CAP)
            n = WORD_CAP + 1;
        else
            memcpy(buf, s, n);
        return n;
    }
    bool ok;
    size_t k = alt__json_unescape(s, n, (unsigned char *)buf, WORD_CAP, &ok);
    if (ok)
        return k;
    return k > WORD_CAP ? WORD_CAP + 1 : SIZE_MAX;
}

static bool word_is(const char *w, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n == k && memcmp(w, lit, k) == 0;
}

/* ---- The request ----------------------------------------------------- */

/* Top-level members the rules read. */
enum member {
    M_OTHER = -1,
    M_TABLE,                /* TableName */
    M_ITEM,                 /* Item (PutItem) or Key (Update/DeleteItem) */
    M_CONDITION,            /* ConditionExpression */
    M_EXPECTED,             /* Expected */
    M_RETURN,               /* ReturnValues */
    M_UPDATE,               /* UpdateExpression (UpdateItem) */
    M_ATTR_UPDATES,         /* AttributeUpdates (UpdateItem) */
};

/* member_of() names these by index, in its switch and after it: keep the
 * order. */
static const struct {
    const char *name;
    size_t len;
    enum member m;
} members[] = {
    {"Key", 3, M_ITEM},   /* index 0: not for PutItem */
    {"Item", 4, M_ITEM},  /* index 1: PutItem only */
    {"TableName", 9, M_TABLE},
    {"ConditionExpression", 19, M_CONDITION},
    {"Expected", 8, M_EXPECTED},
    {"ReturnValues", 12, M_RETURN},
    {"UpdateExpression", 16, M_UPDATE},
    {"AttributeUpdates", 16, M_ATTR_UPDATES},
};

/* Which member a raw name is, for op. Names the op does not have (a Key in
 * a PutItem, an UpdateExpression in a DeleteItem) are other members: the
 * server ignores them, and so does the Go client, whose input structs
 * cannot hold them. */
static enum member member_of(alt__op op, const char *s, size_t n)
{
    size_t i;
    /* Raw bytes first, by length (a constant memcmp is a few loads): the
     * fast path; escaped names are rare. */
#define IS(k, lit) (i = (k), memcmp(s, lit, sizeof lit - 1) == 0)
    switch (n) {
    case 3: if (IS(0, "Key")) goto found; break;
    case 4: if (IS(1, "Item")) goto found; break;
    case 8: if (IS(4, "Expected")) goto found; break;
    case 9: if (IS(2, "TableName")) goto found; break;
    case 12: if (IS(5, "ReturnValues")) goto found; break;
    case 16:
        if (IS(6, "UpdateExpression") || IS(7, "AttributeUpdates"))
            goto found;
        break;
    case 19: if (IS(3, "ConditionExpression")) goto found; break;
    default: break;
    }
#undef IS
    if (!memchr(s, '\\', n))
        return M_OTHER;
    for (i = 0; i < sizeof members / sizeof members[0]; i++)
        if (name_is(s, n, members[i].name, members[i].len))
            goto found;
    return M_OTHER;
found:
    if (i == 0 && op == ALT__OP_PUT_ITEM)
        return M_OTHER;
    if (i == 1 && op != ALT__OP_PUT_ITEM)
        return M_OTHER;
    if ((members[i].m == M_UPDATE || members[i].m == M_ATTR_UPDATES) &&
        op != ALT__OP_UPDATE_ITEM)
        return M_OTHER;
    return members[i].m;
}

/* A string value at p: its raw contents into *s, *n; returns its end. */
static const char *string_value(lexer *z, const char *p, const char **s,
                                size_t *n)
{
    if (*p != '"')
        return NULL;
    const char *q = string_end(z, p + 1);
    if (!q)
        return NULL;
    *s = p + 1;
    *n = (size_t)(q - 1 - (p + 1));
    return q;
}

/*
 * AttributeUpdates at p (an object): whether an entry makes the update a
 * read-modify-write. Go (doesUpdateNeedReadBeforeWrite): an Action of ADD,
 * or of DELETE with a Value (non-nil: present and not null). An entry that
 * is null is Go's zero struct: no Action. Returns the end, or NULL.
 */
static NOINLINE const char *attribute_updates(lexer *z, const char *p,
                                              bool *rmw)
{
    const char *end = z->end;
    bool first = true;
    const char *name;
    size_t name_len;
    int r;
    p++; /* '{' */
    while ((r = next_member(z, &p, &first, &name, &name_len)) > 0) {
        const char *q = null_end(p, end);
        if (q) {
            p = q;
            continue;
        }
        if (*p != '{')
            return NULL;
        p++;
        bool efirst = true, has_action = false, seen_value = false;
        bool has_value = false;
        char action[WORD_CAP];
        size_t action_len = 0;
        while ((r = next_member(z, &p, &efirst, &name, &name_len)) > 0) {
            if (name_is(name, name_len, "Action", 6)) {
                if (has_action)
                    return NULL;
                has_action = true;
                if ((q = null_end(p, end)) != NULL) {
                    p = q;
                    continue;
                }
                const char *s;
                size_t n;
                if (!(p = string_value(z, p, &s, &n)))
                    return NULL;
                action_len = word(s, n, action);
                if (action_len == SIZE_MAX)
                    return NULL;
            } else if (name_is(name, name_len, "Value", 5)) {
                if (seen_value)
                    return NULL;
                seen_value = true;
                if ((q = null_end(p, end)) != NULL) {
                    p = q;
                    continue;
                }
                if (*p != '{')
                    return NULL; /* an AttributeValue is an object */
                has_value = true;
                if (!(p = skip_value(z, p)))
                    return NULL;
            } else if (!(p = skip_value(z, p))) {
                return NULL;
            }
        }
        if (r < 0)
            return NULL;
        if (word_is(action, action_len, "ADD") ||
            (has_value && word_is(action, action_len, "DELETE")))
            *rmw = true;
    }
    return r < 0 ? NULL : p;
}

/*
 * An attribute's value in an Item or Key as SDKs write it, compactly:
 * {"S":"..."} (one member whose value is a string). Returns its end, or
 * NULL for any other shape, left to skip_value(). Checks as much as
 * skip_value() would: the type's name and the string are followed as
 * strings, the rest byte by byte.
 */
static const char *compact_attribute(lexer *z, const char *p)
{
    const char *end = z->end;
    if (end - p < 8 || p[0] != '{' || p[1] != '"')
        return NULL;
    const char *q = string_end(z, p + 2);
    if (!q || end - q < 4 || q[0] != ':' || q[1] != '"')
        return NULL;
    q = string_end(z, q + 2);
    if (!q || q == end || *q != '}')
        return NULL;
    return q + 1;
}

/* ---- The rest of an Item past its key --------------------------------- */

/*
 * object_rest(z, p): p is inside an object, outside any string, at a
 * member's value or after it; returns just past the '}' that closes the
 * object, or NULL if the input ends first (or a ']' closes it). Only
 * strings and brackets are followed: what lies in between is not checked,
 * as the scan is done with the object once it has passed the key (see
 * alt__scan_request()). '[' and ']' are '{' and '}' less 0x20, and no
 * other byte becomes either with that bit set: one compare counts both
 * kinds.
 */
#ifdef __SSE2__
/* Bit i of the result is the parity of bits 0..i of x: for the quotes of a
 * block, set from a string's opening quote up to its closing one. */
static ALWAYS_INLINE uint64_t prefix_xor(uint64_t x)
{
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    return x;
}

/* The quotes of quote (bit i: block[i]) that no odd run of backslashes
 * escapes. Runs are counted in memory, back to from at most (a block
 * starts outside any string, so in JSON no run crosses into it; from
 * only keeps other input in bounds); they are disjoint, so the counting
 * is linear in the input. Only for a block with a backslash. */
static NOINLINE uint64_t unescaped(const char *block, const char *from,
                                   uint64_t quote)
{
    for (uint64_t m = quote; m; m &= m - 1) {
        unsigned i = (unsigned)__builtin_ctzll(m);
        const char *b = block + i;
        while (b > from && b[-1] == '\\')
            b--;
        if ((block + i - b) & 1)
            quote &= ~((uint64_t)1 << i);
    }
    return quote;
}

/* 64 bytes at a time: the block's unescaped quotes tell where strings
 * are, and the brackets outside them count. A string still open at the
 * block's end (it opened in the block) is followed to its end by
 * string_tail(), memchr's vector loop for a long one, and the next block
 * starts past it: no state is carried from block to block. Measured
 * faster in bench 8b's loop than stepping from string to string with
 * string_end(), which makes a call and a few branches per string. */
static NOINLINE const char *object_rest(lexer *z, const char *p)
{
    const char *from = p, *end = z->end;
    uint64_t depth = 1;
    while (p < end) {
        bytes64 b;
        load64(&b, p, end);
        uint64_t quote = mask64(&b, '"');
        uint64_t bslash = mask64(&b, '\\');
        if (bslash)
            quote = unescaped(p, from, quote);
        uint64_t in = prefix_xor(quote);
        for (int i = 0; i < 4; i++)
            b.v[i] = _mm_or_si128(b.v[i], _mm_set1_epi8(0x20));
        uint64_t opens = mask64(&b, '{') & ~in;
        uint64_t closes = mask64(&b, '}') & ~in;
        for (uint64_t m = opens | closes; m; m &= m - 1) {
            unsigned i = (unsigned)__builtin_ctzll(m);
            depth += 1 - 2 * (closes >> i & 1); /* unsigned: wraps to -1 */
            if (depth == 0)
                return p[i] == '}' ? p + i + 1 : NULL;
        }
        if (in >> 63) {
            /* Its last quote opened a string that goes on. */
            unsigned at = 63 - (unsigned)__builtin_clzll(quote);
            if (!(p = string_tail(p + at + 1, end)))
                return NULL;
        } else if ((size_t)(end - p) <= 64) {
            return NULL; /* the last block, and the object still open */
        } else {
            p += 64;
        }
    }
    return NULL;
}
#else
/* From string to string: each stepped over as everywhere, the brackets
 * between them counted. In DynamoDB JSON little else lies between. */
static NOINLINE const char *object_rest(lexer *z, const char *p)
{
    const char *end = z->end;
    size_t depth = 1;
    while (p < end) {
        char c = *p++;
        if (c == '"') {
            if (!(p = string_end(z, p)))
                return NULL;
        } else if ((c | 0x20) == '{') {
            depth++;
        } else if ((c | 0x20) == '}' && --depth == 0) {
            return c == '}' ? p : NULL;
        }
    }
    return NULL;
}
#endif

/* The Item/Key object at p, its members recorded in out as they are
 * passed (up to ALT__SCAN_MEMBERS), so that finding the key later needs no
 * second walk. Given the partition key's name (pk not NULL), the members
 * after the first of that name are only skipped (object_rest()), and
 * *keyed is set. Returns its end, or NULL. */
static const char *item_members(lexer *z, const char *p, const char *pk,
                                size_t pk_len, alt__scan *out, bool *keyed)
{
    bool first = true;
    const char *name;
    size_t name_len;
    int r;
    out->nmembers = 0;
    p++; /* '{' */
    while ((r = next_member(z, &p, &first, &name, &name_len)) > 0) {
        if (out->nmembers < ALT__SCAN_MEMBERS) {
            out->member[out->nmembers].name = name;
            out->member[out->nmembers].name_len = name_len;
            out->member[out->nmembers].value = p;
        }
        if (out->nmembers <= ALT__SCAN_MEMBERS)
            out->nmembers++;
        const char *q = compact_attribute(z, p);
        if (pk && name_is(name, name_len, pk, pk_len)) {
            *keyed = true;
            /* The key, often the last member. */
            if (q && q < z->end && *q == '}')
                return q + 1;
            return object_rest(z, q ? q : p);
        }
        if (!(p = q ? q : skip_value(z, p)))
            return NULL;
    }
    return r < 0 ? NULL : p;
}

/* The value of the first recorded member of an Item/Key named pk, or
 * NULL (also when it may be past the recorded ones). */
static const char *recorded(const alt__scan *out, const char *pk,
                            size_t pk_len)
{
    for (unsigned i = 0; i < out->nmembers && i < ALT__SCAN_MEMBERS; i++)
        if (name_is(out->member[i].name, out->member[i].name_len, pk, pk_len))
            return out->member[i].value;
    return NULL;
}

bool alt__scan_request(alt__op op, const char *body, size_t len,
                       const alt__scan_with *with, alt__scan *out)
{
    /* Not the member array: only what is recorded is ever read. */
    out->table = out->item = NULL;
    out->table_len = out->item_len = 0;
    out->rmw = out->write = false;
    out->nmembers = 0;
    if (op != ALT__OP_PUT_ITEM && op != ALT__OP_UPDATE_ITEM &&
        op != ALT__OP_DELETE_ITEM)
        return false;
    if (!body)
        return false;
    const char *p = body, *end = body + len;
    lexer lx, *z = &lx;
    lexer_init(z, end);
    p = skip_ws(p, end);
    if (p == end || *p != '{')
        return false;
    p++;

    const char *table = NULL, *item = NULL, *name, *pk = NULL;
    size_t table_len = 0, item_len = 0, name_len, pk_len = 0;
    unsigned seen = 0;
    bool first = true, rmw = false, keyed = false;
    int r;
    while ((r = next_member(z, &p, &first, &name, &name_len)) > 0) {
        enum member m = member_of(op, name, name_len);
        if (m == M_OTHER) {
            if (!(p = skip_value(z, p)))
                return false;
            continue;
        }
        /* A member given twice: the server and Go's decoder would not
         * agree on which counts, so neither do we. */
        if (seen & 1u << m)
            return false;
        seen |= 1u << m;
        /* null is Go's nil: absent. */
        const char *q = null_end(p, end);
        if (q) {
            p = q;
            continue;
        }
        const char *s;
        size_t n;
        switch (m) {
        case M_TABLE:
            if (!(p = string_value(z, p, &table, &table_len)))
                return false;
            /* After the Item/Key: its key is among the recorded members,
             * or not known to be. */
            if (item && with && with->pk_of && table_len
                && (pk = with->pk_of(with->ctx, table, table_len, &pk_len)))
                keyed = recorded(out, pk, pk_len) != NULL;
            break;
        case M_ITEM:
            if (*p != '{')
                return false;
            item = p;
            /* Before it: the walk may leave the Item/Key at its key. */
            if (table_len && with && with->pk_of)
                pk = with->pk_of(with->ctx, table, table_len, &pk_len);
            if (!(p = item_members(z, p, pk, pk_len, out, &keyed)))
                return false;
            item_len = (size_t)(p - item);
            break;
        case M_CONDITION:
        case M_UPDATE:
            /* Go: !isEmptyString(ConditionExpression) for all three;
             * !isEmptyString(UpdateExpression) for UpdateItem. "" is no
             * expression (only "" decodes to nothing). */
            if (!(p = string_value(z, p, &s, &n)))
                return false;
            if (n)
                rmw = true;
            break;
        case M_EXPECTED: {
            /* Go: len(Expected) != 0; {} is none. */
            if (*p != '{')
                return false;
            q = skip_ws(p + 1, end);
            if (q < end && *q != '}')
                rmw = true;
            if (!(p = skip_value(z, p)))
                return false;
            break;
        }
        case M_RETURN: {
            /* Go: Put/DeleteItem qualify for ReturnValues == ALL_OLD only;
             * UpdateItem for any value but "", NONE and UPDATED_NEW
             * (unknown ones included). Compared after unescaping. */
            char w[WORD_CAP];
            if (!(p = string_value(z, p, &s, &n)))
                return false;
            size_t k = word(s, n, w);
            if (k == SIZE_MAX)
                return false;
            if (op == ALT__OP_UPDATE_ITEM)
                rmw |= k != 0 && !word_is(w, k, "NONE") &&
                       !word_is(w, k, "UPDATED_NEW");
            else
                rmw |= word_is(w, k, "ALL_OLD");
            break;
        }
        case M_ATTR_UPDATES:
            if (*p != '{')
                return false;
            if (!(p = attribute_updates(z, p, &rmw)))
                return false;
            break;
        case M_OTHER:
            break;
        }
        /* All the routing needs is known (every rule only ever turns rmw
         * on): the rest is not read. */
        if (keyed && table_len && (rmw || !with->rmw_only))
            goto known;
    }
    if (r < 0 || skip_ws(p, end) != end)
        return false;
    /* Go: no hash without a table name (tableName != "") and a key map. */
    if (!table || !table_len || !item)
        return false;
known:
    out->table = table;
    out->table_len = table_len;
    out->item = item;
    out->item_len = item_len;
    out->rmw = rmw;
    out->write = true;
    return true;
}

/* ---- The key --------------------------------------------------------- */

static const signed char b64[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,
    ['G'] = 7,  ['H'] = 8,  ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12,
    ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18,
    ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30,
    ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
    ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
    ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54,
    ['2'] = 55, ['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60,
    ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
}; /* value + 1; 0 is not in the alphabet */

/*
 * Decodes the raw (escaped) contents of a JSON string as standard base64
 * with padding: a multiple of four characters, '=' only as the last one or
 * two. Escapes are read as the characters they stand for ("\/" is '/', as
 * some encoders write it). Unused low bits of the last character need not
 * be zero: Go's StdEncoding and the server take them, and they change no
 * decoded byte.
 */
static NOINLINE bool base64_decode(const char *s, size_t len,
                                   unsigned char *buf, size_t cap, size_t *n)
{
    const char *end = s + len;
    uint32_t acc = 0;
    unsigned k = 0, pad = 0;
    size_t o = 0;
    while (s < end) {
        unsigned char c = (unsigned char)*s;
        if (c == '\\') {
            unsigned char u[4];
            size_t used;
            if (decode_escape(s, end, u, &used) != 1)
                return false;
            c = u[0];
            s += used;
        } else {
            s++;
        }
        if (c == '=') {
            pad++;
            continue;
        }
        if (pad || !b64[c])
            return false;
        acc = acc << 6 | (uint32_t)(b64[c] - 1);
        if (++k == 4) {
            if (cap - o < 3)
                return false;
            buf[o++] = (unsigned char)(acc >> 16);
            buf[o++] = (unsigned char)(acc >> 8);
            buf[o++] = (unsigned char)acc;
            acc = 0;
            k = 0;
        }
    }
    if (k == 0 && pad == 0) {
        /* whole groups */
    } else if (k == 2 && pad == 2) {
        if (cap - o < 1)
            return false;
        buf[o++] = (unsigned char)(acc >> 4);
    } else if (k == 3 && pad == 1) {
        if (cap - o < 2)
            return false;
        buf[o++] = (unsigned char)(acc >> 10);
        buf[o++] = (unsigned char)(acc >> 2);
    } else {
        return false;
    }
    *n = o;
    return true;
}

/* A JSON string's raw contents as they are, when that is what unescaping
 * gives: no backslash and no control character (the quote cannot be
 * there). The key of nearly every request; anything else is left to
 * alt__json_unescape(). */
static bool plain_copy(const char *s, size_t len, unsigned char *buf,
                       size_t cap, size_t *n)
{
    if (len > cap)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == '\\')
            return false;
        buf[i] = c;
    }
    *n = len;
    return true;
}

/* The key's type and bytes from the AttributeValue at p (the value of the
 * key's member, which ends before z->end). */
static bool key_value(lexer *z, const char *p, char *type, unsigned char *buf,
                      size_t cap, size_t *n)
{
    const char *end = z->end;
    const char *name, *s;
    size_t name_len, len;
    char t;
    const char *q = NULL;
    if (end - p >= 7 && p[0] == '{' && p[1] == '"' && p[3] == '"' &&
        p[4] == ':' && p[5] == '"' &&
        (p[2] == 'S' || p[2] == 'N' || p[2] == 'B'))
        q = string_end(z, p + 6);
    if (q && q < end && *q == '}') {
        /* As SDKs write it: {"S":"..."}, nothing between the tokens. */
        t = p[2];
        s = p + 6;
        len = (size_t)(q - 1 - s);
    } else {
        if (p == end || *p != '{')
            return false;
        p++;
        bool vfirst = true;
        if (next_member(z, &p, &vfirst, &name, &name_len) <= 0)
            return false;
        if (name_len == 1 && (*name == 'S' || *name == 'N' || *name == 'B'))
            t = *name;
        else if (name_is(name, name_len, "S", 1))
            t = 'S';
        else if (name_is(name, name_len, "N", 1))
            t = 'N';
        else if (name_is(name, name_len, "B", 1))
            t = 'B';
        else
            return false; /* SS, NS, BS, M, L, NULL, BOOL: no affinity */
        if (!(p = string_value(z, p, &s, &len)))
            return false;
        /* Exactly one member: {"S":"a","N":"1"} is no AttributeValue. */
        if (next_member(z, &p, &vfirst, &name, &name_len) != 0)
            return false;
    }
    size_t got = 0;
    if (t == 'B') {
        if (!base64_decode(s, len, buf, cap, &got))
            return false;
    } else if (!plain_copy(s, len, buf, cap, &got)) {
        bool ok;
        got = alt__json_unescape(s, len, buf, cap, &ok);
        if (!ok)
            return false;
    }
    *type = t;
    *n = got;
    return true;
}

bool alt__key_bytes(const char *item, size_t item_len, const char *pk,
                    size_t pk_len, char *type, unsigned char *buf,
                    size_t cap, size_t *n)
{
    *n = 0;
    if (!item || (!pk && pk_len))
        return false;
    const char *p = item, *end = item + item_len, *name;
    size_t name_len;
    bool first = true;
    int r;
    lexer lx, *z = &lx;
    lexer_init(z, end);
    p = skip_ws(p, end);
    if (p == end || *p != '{')
        return false;
    p++;
    /* The first member of that name: the Item/Key span was checked whole
     * by alt__scan_request, and the server keeps one key per item. */
    while ((r = next_member(z, &p, &first, &name, &name_len)) > 0) {
        if (name_is(name, name_len, pk ? pk : "", pk_len))
            return key_value(z, p, type, buf, cap, n);
        if (!(p = skip_value(z, p)))
            return false;
    }
    return false;
}

bool alt__scan_key(const alt__scan *scan, const char *pk, size_t pk_len,
                   char *type, unsigned char *buf, size_t cap, size_t *n)
{
    const char *value = recorded(scan, pk, pk_len);
    if (!value && scan->nmembers > ALT__SCAN_MEMBERS)
        return alt__key_bytes(scan->item, scan->item_len, pk, pk_len, type,
                              buf, cap, n);
    *n = 0;
    lexer lx, *z = &lx;
    lexer_init(z, scan->item + scan->item_len);
    return value && key_value(z, value, type, buf, cap, n);
}
