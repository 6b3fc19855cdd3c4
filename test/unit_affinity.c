/*
 * Unit tests of lib/affinity.c: the key hash, the Go math/rand emulation
 * and the query plan, against the vectors the other Alternator clients
 * publish (key-affinity.md), against the full reference generator, and
 * against a file of cases from the Go oracle (test/oracle), given as the
 * first argument:
 *
 *   unit_affinity test/oracle/vectors.txt
 */
#include "../lib/affinity.h"
#include "unit.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A check inside a loop: reports its first few failures only. */
#define CHECK_QUIET(c, ...)                                               \
    do {                                                                  \
        if (!(c)) {                                                       \
            if (failures < 20) {                                          \
                fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__,    \
                        __LINE__, #c);                                    \
                fprintf(stderr, __VA_ARGS__);                             \
                fputc('\n', stderr);                                      \
            }                                                             \
            failures++;                                                   \
        }                                                                 \
    } while (0)

#define GO_M INT64_C(2147483647)

static uint64_t splitmix(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static int64_t as_int64(uint64_t u)
{
    int64_t v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* ---- hashes --------------------------------------------------------- */

static void published_hashes(void)
{
    static const struct {
        char type;
        const char *value;
        size_t len;
        int64_t want;
    } cases[] = {
        {'S', "hello", 5, INT64_C(8815023923555918238)},
        {'S', "", 0, INT64_C(8849112093580131862)},
        {'S', "user_123", 8, INT64_C(-4025731529809423594)},
        {'S', "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf", 15,
         INT64_C(-8746014667889746860)},
        {'S', "12345", 5, INT64_C(-6122888897254035317)},
        {'N', "42", 2, INT64_C(-5061732451827723051)},
        {'N', "-12345", 6, INT64_C(2496798676881075539)},
        {'N', "3.14159", 7, INT64_C(2139945193071104172)},
        {'N', "1.23E10", 7, INT64_C(-8571981415737439826)},
        {'N', "12345", 5, INT64_C(-3190731486301745196)},
        {'B', "\x01\x02\x03", 3, INT64_C(5026299041734804437)},
        {'B', "", 0, INT64_C(8244620721157455449)},
        {'B', "\xff\x00\x80", 3, INT64_C(14533934253577680)},
        {'B', "12345", 5, INT64_C(-3752463870508600385)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_QUIET(alt__key_hash(cases[i].type, cases[i].value, cases[i].len)
                        == cases[i].want,
                    "%c #%zu", cases[i].type, i);

    CHECK(alt__murmur3_h1("", 0) == 0);
    CHECK(alt__murmur3_h1("\x01", 1) == INT64_C(8849112093580131862));
    CHECK(alt__murmur3_h1("hello", 5) == INT64_C(-3758069500696749310));
    CHECK(alt__murmur3_h1("\x01hello", 6) == INT64_C(8815023923555918238));
}

/* The key hash reads the type byte and the value in place: it must equal
 * the plain hash of the two joined, at every length around the blocks. */
static void streamed_key_hash(void)
{
    static uint8_t value[10240 + 1], joined[10240 + 2];
    uint64_t st = 7;
    for (size_t i = 0; i < sizeof value; i++)
        value[i] = (uint8_t)splitmix(&st);
    const char types[] = {'S', 'N', 'B'};
    for (size_t len = 0; len <= 10240; len = len < 200 ? len + 1 : len * 2 + 3) {
        for (int t = 0; t < 3; t++) {
            joined[0] = (uint8_t)(t + 1);
            memcpy(joined + 1, value, len);
            CHECK_QUIET(alt__key_hash(types[t], value, len)
                            == alt__murmur3_h1(joined, len + 1),
                        "len %zu type %c", len, types[t]);
        }
    }
    size_t big = 10240;
    joined[0] = 3;
    memcpy(joined + 1, value, big);
    CHECK(alt__key_hash('B', value, big) == alt__murmur3_h1(joined, big + 1));
    /* Tail bytes are unsigned: a sign-extending tail differs here. */
    CHECK(alt__murmur3_h1("\x80", 1) != alt__murmur3_h1("\x00", 1));
}

/* ---- the generator -------------------------------------------------- */

static void power_table(void)
{
    /* Plain modular arithmetic, not the library's folding. */
    uint64_t p = 1;
    for (int j = 0; j < 21; j++)
        p = p * 48271 % (uint64_t)GO_M;
    for (int i = 0; i < ALT__GORAND_LEN; i++) {
        CHECK_QUIET(alt__gorand_powers[i] == p, "power %d", i);
        p = p * 48271 % (uint64_t)GO_M * 48271 % (uint64_t)GO_M * 48271
            % (uint64_t)GO_M;
    }
}

/* One seed: the fast generator against Go's own seeding, draw for draw,
 * through the first ALT__GORAND_FAST, then with scratch attached at
 * attach_at (<= ALT__GORAND_FAST), to total draws. */
static void compare_int63(int64_t seed, unsigned attach_at, unsigned total)
{
    static alt__gorand_full ref, scratch;
    alt__gorand r;
    alt__gorand_full_seed(&ref, seed);
    alt__gorand_seed(&r, seed);
    for (unsigned k = 0; k < total; k++) {
        if (k == attach_at)
            alt__gorand_attach(&r, &scratch);
        int64_t want = alt__gorand_full_int63(&ref);
        CHECK_QUIET(want >= 0, "seed %" PRId64 " draw %u negative", seed, k);
        if (k == ALT__GORAND_FAST && attach_at > k) {
            CHECK_QUIET(alt__gorand_int63(&r) == -1 && r.draws == k,
                        "seed %" PRId64 ": draw %u without scratch", seed, k);
            alt__gorand_attach(&r, &scratch);
        }
        int64_t got = alt__gorand_int63(&r);
        CHECK_QUIET(got == want, "seed %" PRId64 " draw %u: %" PRId64 " != %" PRId64,
                    seed, k, got, want);
    }
}

/* Intn on both, the fast one given scratch only when it runs out: a
 * call that runs out must consume nothing. */
static void compare_intn(int64_t seed, int32_t n, unsigned calls)
{
    static alt__gorand_full ref, scratch;
    alt__gorand r;
    alt__gorand_full_seed(&ref, seed);
    alt__gorand_seed(&r, seed);
    for (unsigned i = 0; i < calls; i++) {
        int32_t want = alt__gorand_full_intn(&ref, n);
        int32_t got = alt__gorand_intn(&r, n);
        if (got == -1 && !r.full) {
            CHECK_QUIET(r.draws < ALT__GORAND_FAST + 1, "draws %u", r.draws);
            alt__gorand_attach(&r, &scratch);
            got = alt__gorand_intn(&r, n);
        }
        CHECK_QUIET(got == want && got >= 0 && got < n,
                    "seed %" PRId64 " n %" PRId32 " call %u: %" PRId32 " != %" PRId32,
                    seed, n, i, got, want);
    }
}

static void generators(void)
{
    const int64_t seeds[] = {
        0, -1, 1, INT64_MIN, INT64_MAX, INT64_MIN + 1, GO_M, -GO_M, 2 * GO_M,
        -2 * GO_M, GO_M * 4294967296, GO_M - 1, GO_M + 1, -(GO_M - 1),
        89482311, 89482311 + GO_M, 42, 123, 999, 12345,
        INT64_MAX - INT64_MAX % GO_M, INT64_MIN - INT64_MIN % GO_M,
    };
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        compare_int63(seeds[i], ALT__GORAND_FAST + 1, 1400);
        compare_int63(seeds[i], 0, 700);
        compare_int63(seeds[i], 300, 700);
        compare_int63(seeds[i], ALT__GORAND_FAST, 700);
    }
    uint64_t st = 1;
    for (int i = 0; i < 1000; i++)
        compare_int63(as_int64(splitmix(&st)), ALT__GORAND_FAST + 1, 620);

    /* Seeds that reduce to 0 are Go's 89482311. */
    alt__gorand a, b;
    alt__gorand_seed(&a, 0);
    alt__gorand_seed(&b, 89482311);
    CHECK(alt__gorand_int63(&a) == alt__gorand_int63(&b));
    alt__gorand_seed(&a, 3 * GO_M);
    CHECK(a.x0 == 89482311);

    /* Powers of two mask; n near 2^31 rejects about half the draws and
     * runs past the fast draws. */
    const int32_t ns[] = {1, 2, 3, 6, 7, 10, 64, 100, 4096, 4095,
                          (1 << 30) + 1, 1 << 30, INT32_MAX, 1610612736};
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
        for (size_t j = 0; j < sizeof ns / sizeof ns[0]; j++)
            compare_intn(seeds[i], ns[j], 800);
    for (int i = 0; i < 200; i++)
        compare_intn(as_int64(splitmix(&st)), (int32_t)(splitmix(&st) % INT32_MAX) + 1, 300);

    alt__gorand_seed(&a, 5);
    CHECK(alt__gorand_intn(&a, 0) == -1 && alt__gorand_intn(&a, -3) == -1);
}

/* ---- plans ---------------------------------------------------------- */

static void published_plans(void)
{
    /* Positions over node1..node10 as given (unsorted): node k is k-1. */
    static const struct {
        int64_t seed;
        size_t active, quarantined;
        uint32_t nodes[6];
    } cases[] = {
        {42, 10, 0, {6, 9, 5, 2, 7, 1}},
        {123, 10, 0, {6, 1, 4, 3, 10, 5}},
        {999, 10, 0, {5, 10, 4, 1, 2, 3}},
        {0, 10, 0, {5, 1, 2, 10, 6, 8}},
        {-1, 10, 0, {2, 5, 1, 3, 6, 10}},
        {12345, 10, 0, {4, 5, 1, 7, 6, 8}},
        {INT64_MAX, 10, 0, {2, 7, 8, 1, 10, 4}},
        {42, 6, 4, {6, 3, 1, 4, 2, 5}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t out[ALT__PLAN_MAX];
        size_t got = alt__plan(cases[i].seed, cases[i].active, cases[i].quarantined,
                               6, out);
        CHECK_QUIET(got == 6, "case %zu: %zu picks", i, got);
        for (size_t j = 0; j < 6 && j < got; j++)
            CHECK_QUIET(out[j] + 1 == cases[i].nodes[j], "case %zu pick %zu: node%u",
                        i, j, out[j] + 1);
        CHECK_QUIET(alt__plan_first(cases[i].seed, cases[i].active) + 1
                        == cases[i].nodes[0], "case %zu first", i);
    }
    /* 6 active + 4 quarantined, whole plan: the quarantined come last. */
    uint32_t out[ALT__PLAN_MAX];
    CHECK(alt__plan(42, 6, 4, 16, out) == 10);
    for (int j = 6; j < 10; j++)
        CHECK(out[j] >= 6 && out[j] < 10);

    /* Hosts a, b, c; seed 1 -> c, b, a. */
    CHECK(alt__plan(1, 3, 0, 3, out) == 3);
    CHECK(out[0] == 2 && out[1] == 1 && out[2] == 0);
}

static bool same_plan(int64_t seed, size_t na, size_t nq, size_t want)
{
    static uint32_t scratch[1 << 13];
    uint32_t got[ALT__PLAN_MAX], ref[ALT__PLAN_MAX];
    size_t n = alt__plan(seed, na, nq, want, got);
    size_t cap = want < ALT__PLAN_MAX ? want : ALT__PLAN_MAX;
    size_t m = alt__plan_reference(seed, na, nq, cap, ref, scratch,
                                   sizeof scratch / sizeof scratch[0]);
    size_t expect = na + nq < cap ? na + nq : cap;
    if (n != expect || m != expect)
        return false;
    if (memcmp(got, ref, n * sizeof got[0]) != 0)
        return false;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (got[i] == got[j] || got[i] >= na + nq)
                return false;
    return na == 0 || n == 0 || alt__plan_first(seed, na) == ref[0];
}

static void plans_against_reference(void)
{
    uint64_t st = 99;
    for (int i = 0; i < 2000; i++) {
        int64_t seed = as_int64(splitmix(&st));
        CHECK_QUIET(same_plan(seed, 4096, 0, 16), "4096 seed %" PRId64, seed);
        CHECK_QUIET(same_plan(seed, 4000, 96, 16), "4000+96 seed %" PRId64, seed);
    }
    for (int i = 0; i < 20000; i++) {
        int64_t seed = as_int64(splitmix(&st));
        size_t na = (size_t)(splitmix(&st) % 40);
        size_t nq = (size_t)(splitmix(&st) % 5 == 0 ? splitmix(&st) % 20 : 0);
        size_t want = (size_t)(splitmix(&st) % 20);
        CHECK_QUIET(same_plan(seed, na, nq, want), "seed %" PRId64 " %zu+%zu want %zu",
                    seed, na, nq, want);
    }
    for (size_t n = 1; n <= 300; n++)
        CHECK_QUIET(same_plan((int64_t)n * 7919, n, 0, 1), "n %zu", n);
    uint32_t out[ALT__PLAN_MAX + 4];
    CHECK(alt__plan(1, 0, 0, 16, out) == 0);
    CHECK(alt__plan(1, 100, 0, 100, out) == ALT__PLAN_MAX);
    CHECK(alt__plan(1, 0, 3, 16, out) == 3);
    CHECK(alt__plan_first(1, 0) == 0 && alt__plan_first(1, 1) == 0);
    /* Past Int31n's range the Go client would use Int63n: refused. */
    CHECK(alt__plan(1, (size_t)INT32_MAX + 1, 0, 1, out) == 0);
}

/* ---- the Go oracle's file ------------------------------------------- */

static char *next_token(char **p)
{
    char *s = *p;
    while (*s == ' ')
        s++;
    if (!*s)
        return NULL;
    char *e = s;
    while (*e && *e != ' ')
        e++;
    if (*e)
        *e++ = '\0';
    *p = e;
    return s;
}

static bool to_int64(const char *s, int64_t *out)
{
    if (!s)
        return false;
    char *end;
    long long v = strtoll(s, &end, 10);
    *out = v;
    return *s && !*end;
}

static bool to_size(const char *s, size_t *out)
{
    int64_t v;
    if (!to_int64(s, &v) || v < 0)
        return false;
    *out = (size_t)v;
    return true;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes in place ("-" is empty); false if not hex. */
static bool from_hex(char *s, size_t *len)
{
    if (!s)
        return false;
    if (strcmp(s, "-") == 0) {
        *len = 0;
        return true;
    }
    size_t n = strlen(s);
    if (n % 2)
        return false;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        s[i] = (char)(hi << 4 | lo);
    }
    *len = n / 2;
    return true;
}

static int by_bytes(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool oracle_murmur(char *p)
{
    char *bytes = next_token(&p);
    size_t len;
    int64_t want;
    if (!from_hex(bytes, &len) || !to_int64(next_token(&p), &want))
        return false;
    CHECK_QUIET(alt__murmur3_h1(bytes, len) == want, "murmur of %zu bytes", len);
    return true;
}

static bool oracle_int63(char *p)
{
    int64_t seed, v;
    size_t count;
    if (!to_int64(next_token(&p), &seed) || !to_size(next_token(&p), &count))
        return false;
    static alt__gorand_full ref, scratch;
    alt__gorand r;
    alt__gorand_full_seed(&ref, seed);
    alt__gorand_seed(&r, seed);
    for (size_t i = 0; i < count; i++) {
        if (!to_int64(next_token(&p), &v))
            return false;
        if (i == ALT__GORAND_FAST)
            alt__gorand_attach(&r, &scratch);
        int64_t fast = alt__gorand_int63(&r), full = alt__gorand_full_int63(&ref);
        CHECK_QUIET(fast == v && full == v, "int63 seed %" PRId64 " draw %zu", seed, i);
    }
    return true;
}

static bool oracle_intn(char *p)
{
    int64_t seed, n, v;
    size_t count;
    if (!to_int64(next_token(&p), &seed) || !to_int64(next_token(&p), &n)
        || n <= 0 || n > INT32_MAX || !to_size(next_token(&p), &count))
        return false;
    static alt__gorand_full ref, scratch;
    alt__gorand r;
    alt__gorand_full_seed(&ref, seed);
    alt__gorand_seed(&r, seed);
    for (size_t i = 0; i < count; i++) {
        if (!to_int64(next_token(&p), &v))
            return false;
        int32_t fast = alt__gorand_intn(&r, (int32_t)n);
        if (fast < 0) {
            alt__gorand_attach(&r, &scratch);
            fast = alt__gorand_intn(&r, (int32_t)n);
        }
        int32_t full = alt__gorand_full_intn(&ref, (int32_t)n);
        CHECK_QUIET(fast == v && full == v, "intn seed %" PRId64 " n %" PRId64 " call %zu",
                    seed, n, i);
    }
    return true;
}

#define ORACLE_MAX_NODES 1024

static bool oracle_plan(char *p, unsigned line)
{
    char *type = next_token(&p), *value = next_token(&p);
    int64_t hash;
    size_t len, n;
    if (!type || strlen(type) != 1 || !strchr("SNB", type[0]) || !from_hex(value, &len)
        || !to_int64(next_token(&p), &hash) || !to_size(next_token(&p), &n)
        || n > ORACLE_MAX_NODES)
        return false;
    CHECK_QUIET(alt__key_hash(type[0], value, len) == hash, "line %u: hash", line);

    static const char *active[ORACLE_MAX_NODES], *quarantined[ORACLE_MAX_NODES];
    size_t na = 0, nq = 0;
    for (size_t i = 0; i < n; i++) {
        char *url = next_token(&p), *state = next_token(&p);
        if (!url || !state)
            return false;
        if (strcmp(state, "A") == 0)
            active[na++] = url;
        else if (strcmp(state, "Q") == 0)
            quarantined[nq++] = url;
        else
            return false;
    }
    /* Byte-wise, as Go's sort.Strings: the caller's job, done here. */
    qsort(active, na, sizeof active[0], by_bytes);
    qsort(quarantined, nq, sizeof quarantined[0], by_bytes);

    size_t picks;
    if (!to_size(next_token(&p), &picks) || picks != n)
        return false;
    static uint32_t got[ORACLE_MAX_NODES], ref[ORACLE_MAX_NODES],
        scratch[ORACLE_MAX_NODES];
    size_t fast = alt__plan(hash, na, nq, picks, got);
    size_t full = alt__plan_reference(hash, na, nq, picks, ref, scratch, n);
    CHECK_QUIET(fast == (n < ALT__PLAN_MAX ? n : ALT__PLAN_MAX) && full == n,
                "line %u: %zu and %zu picks of %zu", line, fast, full, n);
    for (size_t i = 0; i < picks; i++) {
        const char *want = next_token(&p);
        if (!want)
            return false;
        if (i < full) {
            const char *url = ref[i] < na ? active[ref[i]] : quarantined[ref[i] - na];
            CHECK_QUIET(strcmp(url, want) == 0, "line %u pick %zu: %s, Go %s", line, i,
                        url, want);
        }
        if (i < fast)
            CHECK_QUIET(got[i] == ref[i], "line %u pick %zu: plan != reference", line, i);
    }
    if (na > 0)
        CHECK_QUIET(alt__plan_first(hash, na) == ref[0], "line %u: first", line);
    return true;
}

static void oracle_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return;
    }
    static char text[8 << 20];
    size_t size = fread(text, 1, sizeof text - 1, f);
    CHECK(feof(f) && !ferror(f)); /* the whole file fit */
    fclose(f);
    text[size] = '\0';

    unsigned line = 0, records = 0, plans = 0;
    for (char *p = text; p && *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        line++;
        char *rest = p;
        p = nl ? nl + 1 : NULL;
        if (rest[0] == '#' || rest[0] == '\0')
            continue;
        char *kind = next_token(&rest);
        bool ok;
        if (strcmp(kind, "murmur") == 0)
            ok = oracle_murmur(rest);
        else if (strcmp(kind, "int63") == 0)
            ok = oracle_int63(rest);
        else if (strcmp(kind, "intn") == 0)
            ok = oracle_intn(rest);
        else if (strcmp(kind, "plan") == 0)
            ok = oracle_plan(rest, line), plans++;
        else
            ok = false;
        CHECK_QUIET(ok, "%s:%u: malformed record", path, line);
        records++;
    }
    /* A file that checks nothing must not pass. */
    CHECK(plans >= 100);
    printf("unit_affinity: %u oracle records (%u plans) from %s\n", records, plans, path);
}

int main(int argc, char **argv)
{
    published_hashes();
    streamed_key_hash();
    power_table();
    generators();
    published_plans();
    plans_against_reference();
    if (argc > 1)
        oracle_file(argv[1]);
    else
        printf("unit_affinity: no oracle file given\n");
    if (failures) {
        fprintf(stderr, "unit_affinity: %d failures\n", failures);
        return 1;
    }
    printf("unit_affinity: ok\n");
    return 0;
}
