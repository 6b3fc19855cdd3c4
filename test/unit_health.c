/*
 * Unit tests of lib/health.c and the choice in lib/curl.c without a
 * network: the latency estimate and histogram, HTTP 5xx outliers, the
 * quarantined and down states, the cap on nodes out, and the second choice
 * of alt_curl_prepare(). Linked against the library's objects, so it can
 * call the alt__ internals.
 */
#include "../lib/alt_private.h"
#include "unit.h"

#include <stdio.h>
#include <string.h>

/* An lb whose rotation is 10.0.0.1..n (nothing is contacted). */
static alt_lb *lb_of(int n, alt__node **nodes)
{
    const char *seed = "10.0.0.1";
    alt_lb *lb;
    if (alt_lb_new(&lb, "http", 8000, &seed, 1) != ALT_OK)
        return NULL;
    char body[4096];
    size_t len = (size_t)snprintf(body, sizeof body, "[");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(body + len, sizeof body - len, "%s\"10.0.0.%d\"",
                                i ? "," : "", i + 1);
    snprintf(body + len, sizeof body - len, "]");
    size_t got;
    if (alt__accept_nodes(lb, body, strlen(body), nodes, (size_t)n, &got)
        != ALT_OK || got != (size_t)n) {
        alt_lb_free(lb);
        return NULL;
    }
    return lb;
}

/* Records answers the way a transfer's end does. */
static void answers(alt__node *node, int count, uint64_t us)
{
    for (int i = 0; i < count; i++) {
        atomic_fetch_add(&node->requests, 1);
        alt__latency_sample(node, us);
    }
}

static void estimate(void)
{
    alt__node *nodes[2];
    alt_lb *lb = lb_of(2, nodes);
    CHECK(lb != NULL);
    if (!lb)
        return;
    alt__node *a = nodes[0];
    /* Warm-up: nothing counts yet, then the fastest of the first answers
     * (a cold first answer says nothing). */
    answers(a, 1, 17000);
    CHECK(alt__estimate(a) == 0);
    answers(a, ALT_WARM_UP - 2, 300);
    CHECK(alt__estimate(a) == 0);
    answers(a, 1, 300);
    CHECK(alt__estimate(a) == 300);
    /* One slow answer moves it an eighth of the way to at most twice the
     * estimate (+100 us). */
    answers(a, 1, 50000);
    CHECK(alt__estimate(a) == (7 * 300 + 700) / 8);
    answers(a, 1, 300);
    /* A node that turned slow: past 3x and +2 ms within a score. */
    int k = 0;
    while (alt__estimate(a) < 3 * 300 + 2000 && k < 40)
        answers(a, 1, 5000), k++;
    CHECK(k <= 20);
    /* Back to fast as quickly. */
    k = 0;
    while (alt__estimate(a) > 600 && k < 30)
        answers(a, 1, 300), k++;
    CHECK(k <= 8);
    alt_lb_free(lb);
}

static void histogram(void)
{
    alt__node *nodes[1];
    alt_lb *lb = lb_of(1, nodes);
    CHECK(lb != NULL);
    if (!lb)
        return;
    answers(nodes[0], 98, 1000);
    answers(nodes[0], 2, 100000);
    alt_node_stats st;
    CHECK(alt_lb_node_stats(lb, &st, 1, sizeof st) == 1);
    CHECK(strcmp(st.addr, "10.0.0.1") == 0);
    /* Within 25% of the true 1000 and 100000 us. */
    CHECK(st.p50_us >= 750 && st.p50_us <= 1250);
    CHECK(st.p99_us >= 75000 && st.p99_us <= 125000);
    CHECK(st.requests == 100);
    /* An older, smaller struct gets its prefix and nothing beyond. */
    unsigned char small[offsetof(alt_node_stats, requests) + 8];
    memset(small, 0xee, sizeof small);
    unsigned char buf[2][sizeof small];
    memset(buf, 0xee, sizeof buf);
    CHECK(alt_lb_node_stats(lb, (alt_node_stats *)(void *)buf, 1,
                            sizeof small) == 1);
    CHECK(buf[1][0] == 0xee); /* the second element untouched */
    CHECK(strcmp((char *)buf[0], "10.0.0.1") == 0);
    alt_lb_free(lb);
}

static void http_outliers(void)
{
    alt__node *nodes[4];
    alt_lb *lb = lb_of(4, nodes);
    CHECK(lb != NULL);
    if (!lb)
        return;
    CHECK(alt_lb_set_health(lb, 3, 3, 1000, 30000, 50) == ALT_OK);
    alt__node *a = nodes[0];
    int64_t now = alt__now_ms();
    /* 4xx never count; 5xx in a row do; a success clears the run. */
    alt__http_answer(lb, a, 400);
    alt__http_answer(lb, a, 503);
    alt__http_answer(lb, a, 500);
    alt__http_answer(lb, a, 200);
    alt__http_answer(lb, a, 500);
    alt__http_answer(lb, a, 500);
    CHECK(alt__node_state(lb, a, now) == ALT_NODE_ACTIVE);
    CHECK(atomic_load(&a->http_5xx) == 4);
    alt__http_answer(lb, a, 502);
    CHECK(alt__node_state(lb, a, alt__now_ms()) == ALT_NODE_QUARANTINED);
    CHECK(alt__eligible(lb, a, &now) == ALT_SKIP);
    alt_lb_free(lb);
}

static void states_and_cap(void)
{
    alt__node *nodes[6];
    alt_lb *lb = lb_of(6, nodes);
    CHECK(lb != NULL);
    if (!lb)
        return;
    CHECK(alt_lb_set_health(lb, 5, 2, 1, 1, 50) == ALT_OK);
    alt__node *a = nodes[0], *b = nodes[1], *c = nodes[2];
    alt__node_failed(lb, a, false, "test");
    int64_t now = alt__now_ms();
    CHECK(alt__node_state(lb, a, now) == ALT_NODE_QUARANTINED);
    /* The 1 ms back-off over: one request on trial. */
    int64_t later = now + 5;
    CHECK(alt__eligible(lb, a, &later) == ALT_TAKE);
    CHECK(atomic_load(&a->trial));
    /* The trial fails: two in a row, down: no trial any more, only a
     * probe (a refresh's answer, alt__node_ok) brings it back. */
    alt__node_failed(lb, a, false, "test");
    CHECK(alt__node_state(lb, a, alt__now_ms()) == ALT_NODE_DOWN);
    int64_t much_later = alt__now_ms() + 60000;
    CHECK(alt__eligible(lb, a, &much_later) == ALT_SKIP);
    /* The cap: below 50% of 6 nodes, so 2 out; a third stays in. */
    alt__node_failed(lb, b, false, "test");
    alt__node_failed(lb, c, false, "test");
    now = alt__now_ms();
    CHECK(alt__node_state(lb, b, now) == ALT_NODE_QUARANTINED);
    CHECK(alt__node_state(lb, c, now) == ALT_NODE_ACTIVE);
    CHECK(alt__eligible(lb, c, &now) == ALT_TAKE);
    CHECK(atomic_load(&c->failures) == 1);
    /* A probe's answer brings a back, its run of ejections going on. */
    CHECK(alt_lb_set_health(lb, 5, 3, 1000, 30000, 50) == ALT_OK);
    alt__node_ok(lb, a, true);
    CHECK(alt__node_state(lb, a, alt__now_ms()) == ALT_NODE_ACTIVE);
    alt__node_ok(lb, b, false);
    now = alt__now_ms();
    alt__node_failed(lb, a, false, "test"); /* the third ejection: 4 s */
    int64_t out_for = atomic_load(&a->down_until) - now;
    CHECK(out_for >= 3990 && out_for <= 4100);
    /* An answer to a request ends both runs. */
    alt__node_ok(lb, a, false);
    CHECK(atomic_load(&a->ejections) == 0 && atomic_load(&a->failures) == 0);
    /* Always one may be out, however small the share. */
    CHECK(alt_lb_set_health(lb, 5, 3, 1000, 30000, 0) == ALT_OK);
    alt__node_failed(lb, a, false, "test");
    CHECK(alt__node_state(lb, a, alt__now_ms()) == ALT_NODE_QUARANTINED);
    CHECK(alt_lb_set_health(lb, 0, 3, 1000, 30000, 50) == ALT_E_INVALID_ARG);
    CHECK(alt_lb_set_health(lb, 5, 0, 1000, 30000, 50) == ALT_E_INVALID_ARG);
    CHECK(alt_lb_set_health(lb, 5, 3, 0, 30000, 50) == ALT_E_INVALID_ARG);
    CHECK(alt_lb_set_health(lb, 5, 3, 2000, 1000, 50) == ALT_E_INVALID_ARG);
    CHECK(alt_lb_set_health(lb, 5, 3, 1000, 86400001, 50) == ALT_E_INVALID_ARG);
    CHECK(alt_lb_set_health(lb, 5, 3, 1000, 30000, 101) == ALT_E_INVALID_ARG);
    alt_lb_free(lb);
}

/* 6 nodes, one of them 25x slower: the second choice steers requests away
 * from it, and a healthy set keeps exact round-robin. */
static void second_choice(void)
{
    alt__node *nodes[6];
    alt_lb *lb = lb_of(6, nodes);
    CHECK(lb != NULL);
    if (!lb)
        return;
    CURL *e = curl_easy_init();
    int seen[6] = {0};
    for (int i = 0; i < 6; i++)
        answers(nodes[i], ALT_WARM_UP + 2, 200);
    for (int r = 0; r < 600; r++) {
        CHECK(alt_curl_prepare(lb, e) == ALT_OK);
        alt__slot *s = alt__slot_find(lb, e);
        alt__node *n = atomic_load(&s->node);
        for (int i = 0; i < 6; i++)
            seen[i] += n == nodes[i];
        atomic_store(&s->node, NULL); /* as if recorded, without counts */
    }
    for (int i = 0; i < 6; i++)
        CHECK(seen[i] == 100);
    memset(seen, 0, sizeof seen);
    answers(nodes[3], 30, 5000); /* a score of answers to tell */
    for (int r = 0; r < 600; r++) {
        CHECK(alt_curl_prepare(lb, e) == ALT_OK);
        alt__slot *s = alt__slot_find(lb, e);
        alt__node *n = atomic_load(&s->node);
        for (int i = 0; i < 6; i++)
            seen[i] += n == nodes[i];
        atomic_store(&s->node, NULL);
    }
    fprintf(stderr, "  one node 25x slower: %d %d %d [%d] %d %d of 600\n",
            seen[0], seen[1], seen[2], seen[3], seen[4], seen[5]);
    CHECK(seen[3] == 0); /* no time passed: its estimate did not decay */
    for (int i = 0; i < 6; i++)
        if (i != 3)
            CHECK(seen[i] >= 100 && seen[i] <= 150);
    alt_curl_release(lb, e);
    curl_easy_cleanup(e);
    alt_lb_free(lb);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    estimate();
    histogram();
    http_outliers();
    states_and_cap();
    second_choice();
    curl_global_cleanup();
    if (failures)
        fprintf(stderr, "unit_health: %d checks failed\n", failures);
    else
        fprintf(stderr, "unit_health: all checks passed\n");
    return failures != 0;
}
