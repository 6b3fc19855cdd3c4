/*
 * Unit tests of the /localnodes answer checks (lib/nodes.c, lib/discovery.c)
 * without a network: address validation, parsing, de-duplication, caps.
 * Linked against the library's objects, so it can call the alt__ internals.
 */
#include "../lib/alt_private.h"
#include "unit.h"

#include <stdio.h>
#include <string.h>

static bool valid(const char *s)
{
    return alt__valid_host(s, strlen(s), true);
}

static void hosts(void)
{
    const char *good[] = {"10.0.0.1", "255.255.255.255", "::1", "fe80::1",
                          "2001:db8::8a2e:370:7334", "::ffff:10.0.0.1",
                          "localhost", "node-1.dc1.example.com", "a", "x1",
                          "a.b-c.d", "xn--bcher-kva.example"};
    const char *bad[] = {"", " ", "a b", "a/b", "10.0.0.1:8000", "[::1]",
                         "::1::2", "http://x", "-a", "a-", "a..b", ".a",
                         "a.-b", "1.2.3", "256.1.1.1", "10.0.0.1 ",
                         "fe80::1%eth0", "a_b", "a.b.", "caf\xc3\xa9",
                         "x\ny", "1234"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        if (!valid(good[i])) {
            fprintf(stderr, "rejected good host '%s'\n", good[i]);
            failures++;
        }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (valid(bad[i])) {
            fprintf(stderr, "accepted bad host '%s'\n", bad[i]);
            failures++;
        }
    char label[80], name[300];
    memset(label, 'a', 63);
    label[63] = '\0';
    CHECK(valid(label));
    memset(label, 'a', 64);
    label[64] = '\0';
    CHECK(!valid(label));
    snprintf(name, sizeof name, "%.63s.%.63s.%.63s.%.61s", label, label,
             label, label); /* 253 characters */
    CHECK(strlen(name) == 253 && valid(name));
    strcat(name, "a");
    CHECK(!valid(name));
    CHECK(!alt__valid_host("a\0b", 3, true)); /* NUL inside */
    CHECK(!alt__valid_host("::1", 3, false)); /* IPv6 not allowed there */
}

static alt_code parse(alt_lb *lb, const char *body, size_t *n,
                      alt__node **out, size_t max)
{
    return alt__parse_nodes(lb, body, strlen(body), out, max, n);
}

static void answers(void)
{
    const char *seeds[] = {"127.0.0.1"};
    alt_lb *lb;
    CHECK(alt_lb_new(&lb, "http", 8000, seeds, 1) == ALT_OK);
    alt__node *out[8];
    size_t n;

    CHECK(parse(lb, "[\"10.0.0.1\",\"10.0.0.2\"]", &n, out, 8) == ALT_OK);
    CHECK(n == 2 && strcmp(out[0]->addr, "10.0.0.1") == 0);
    CHECK(strcmp(out[0]->connect_to.data,
                 "alt.invalid:8000:10.0.0.1:8000") == 0);
    CHECK(out[0]->connect_to.next == NULL);

    /* Duplicates kept once; invalid entries dropped, valid ones kept. */
    CHECK(parse(lb, " [\"10.0.0.2\", 7, \"bad host\", null, \"10.0.0.2\","
                    " [\"10.0.0.3\"], {\"a\":1}, \"::1\"] \n", &n, out, 8)
          == ALT_OK);
    CHECK(n == 2 && strcmp(out[0]->addr, "10.0.0.2") == 0);
    CHECK(strcmp(out[1]->connect_to.data,
                 "alt.invalid:8000:[::1]:8000") == 0);

    /* The same address is always the same record. */
    alt__node *first = out[0];
    CHECK(parse(lb, "[\"10.0.0.2\"]", &n, out, 8) == ALT_OK && out[0] == first);

    /* IP literals are compared in one spelling. */
    CHECK(parse(lb, "[\"0:0::1\",\"::1\",\"0::0:1\"]", &n, out, 8) == ALT_OK);
    CHECK(n == 1 && strcmp(out[0]->addr, "::1") == 0);
    CHECK(parse(lb, "[\"Node-1.Example\",\"node-1.example\"]", &n, out, 8)
          == ALT_OK);
    CHECK(n == 1 && strcmp(out[0]->addr, "node-1.example") == 0);

    const char *rejected[][2] = {
        {"", "bad"}, {"garbage", "bad"}, {"{}", "bad"}, {"\"x\"", "bad"},
        {"[\"10.0.0.1\"", "bad"}, {"[\"10.0.0.1\"] x", "bad"},
        {"[[[[\"10.0.0.1\"]]]]", "bad"}, {"[]", "empty"}, {"[1,2]", "empty"},
        {"[\"a b\",\"a/b\",\"\"]", "empty"}, {"[\"a\\u0000b\"]", "empty"},
        {"[\"10.0.0.1:8000\"]", "empty"}, {"null", "bad"}};
    for (size_t i = 0; i < sizeof rejected / sizeof *rejected; i++) {
        alt_code want = strcmp(rejected[i][1], "bad") == 0
                            ? ALT_E_BAD_RESPONSE : ALT_E_EMPTY_LIST;
        alt_code got = parse(lb, rejected[i][0], &n, out, 8);
        if (got != want || n != 0) {
            fprintf(stderr, "body '%s': got %d (n=%zu), want %d\n",
                    rejected[i][0], (int)got, n, (int)want);
            failures++;
        }
    }

    /* At most max entries are taken. */
    CHECK(parse(lb, "[\"10.1.0.1\",\"10.1.0.2\",\"10.1.0.3\"]", &n, out, 2)
          == ALT_OK && n == 2);
    alt_lb_free(lb);
}

/* The fake domain goes into every record's CONNECT_TO text, old and new. */
static void fake_domain(void)
{
    const char *seeds[] = {"10.0.0.1", "fe80::2"};
    alt_lb *lb;
    CHECK(alt_lb_new(&lb, "https", 443, seeds, 2) == ALT_OK);
    CHECK(alt_lb_set_fake_domain(lb, "dog.scylladb.com") == ALT_OK);
    CHECK(strcmp(lb->seeds[0]->connect_to.data,
                 "dog.scylladb.com:443:10.0.0.1:443") == 0);
    CHECK(strcmp(lb->seeds[1]->connect_to.data,
                 "dog.scylladb.com:443:[fe80::2]:443") == 0);
    alt_lb_free(lb);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    hosts();
    answers();
    fake_domain();
    curl_global_cleanup();
    fprintf(stderr, failures ? "%d checks failed\n" : "all checks passed\n",
            failures);
    return failures != 0;
}
