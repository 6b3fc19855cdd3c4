/*
 * accept_bench: what accepting a large /localnodes answer costs, next to
 * json-c's parse of the same bytes alone (issue 7, finding 17). Linked with
 * the library's objects, so that it can call the step a refresh runs when
 * an answer arrives (alt__accept_nodes) without a network.
 *
 *   accept_bench [n=2048] [runs=21]
 *
 * Rows: json-c parse alone; parse + accept of n addresses seen for the
 * first time; the same answer again (the steady state of a refresh: the
 * same bytes are recognised); the same nodes in another order (parsed and
 * looked up in full); an answer where half the addresses are new (churn).
 * Median and worst of runs, in microseconds, and the ratio to json-c's
 * median.
 */
#include "../../lib/alt_private.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ["10.<k>.x.y" for the first half, "10.<k2>.x.y" for the second]: n
 * distinct addresses, in order, or last first if reversed. */
static char *list_of(int k, int k2, int n, int reversed)
{
    size_t cap = (size_t)n * 24 + 16, len = 0;
    char *s = malloc(cap);
    if (!s)
        exit(1);
    s[len++] = '[';
    for (int i = 0; i < n; i++) {
        int j = reversed ? n - 1 - i : i;
        len += (size_t)snprintf(s + len, cap - len, "%s\"10.%d.%d.%d\"",
                                i ? "," : "", j < n / 2 ? k : k2, j >> 8,
                                j & 255);
    }
    s[len++] = ']';
    s[len] = '\0';
    return s;
}

/* ["10.<k>.x.y", ...]: n distinct addresses, a different set per k. */
static char *body_of(int k, int n)
{
    return list_of(k, k, n, 0);
}

/* The addresses of body_of(k, n), last first: the same nodes, other bytes. */
static char *reversed_of(int k, int n)
{
    return list_of(k, k, n, 1);
}

/* ["10.<k>.x.y" for the first half, "10.<k2>.x.y" for the second]. */
static char *half_of(int k, int k2, int n)
{
    return list_of(k, k2, n, 0);
}

static double json_only(const char *body)
{
    double t0 = now_us();
    json_tokener *tok = json_tokener_new_ex(3);
    json_object *o = json_tokener_parse_ex(tok, body, (int)strlen(body));
    json_tokener_free(tok);
    json_object_put(o);
    return now_us() - t0;
}

static alt__node *found[ALT_MAX_LISTED];

static double accept_once(alt_lb *lb, const char *body, int n)
{
    size_t got = 0;
    double t0 = now_us();
    alt_code rc = alt__accept_nodes(lb, body, strlen(body), found,
                                    ALT_MAX_LISTED, &got);
    double dt = now_us() - t0;
    if (rc != ALT_OK || got != (size_t)n) {
        fprintf(stderr, "accept failed: %s, %zu of %d\n", alt_strerror(rc),
                got, n);
        exit(1);
    }
    return dt;
}

static void row(const char *what, double *v, int runs, double base)
{
    qsort(v, (size_t)runs, sizeof *v, cmp);
    double med = v[runs / 2];
    printf("| %s | %.0f | %.0f | %s%.2f |\n", what, med, v[runs - 1],
           base > 0 ? "" : "", base > 0 ? med / base : 1.0);
}

int main(int argc, char **argv)
{
    int n = 2048, runs = 21;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "n=", 2) == 0)
            n = atoi(argv[i] + 2);
        else if (strncmp(argv[i], "runs=", 5) == 0)
            runs = atoi(argv[i] + 5);
    }
    if (n < 1 || n > ALT_MAX_LISTED || runs < 1 || runs > 1000) {
        fprintf(stderr, "usage: accept_bench [n=1..%d] [runs=1..1000]\n",
                ALT_MAX_LISTED);
        return 2;
    }
    double *json = calloc((size_t)runs, sizeof *json);
    double *first = calloc((size_t)runs, sizeof *first);
    double *again = calloc((size_t)runs, sizeof *again);
    double *churn = calloc((size_t)runs, sizeof *churn);
    double *order = calloc((size_t)runs, sizeof *order);
    if (!json || !first || !again || !churn || !order)
        return 1;
    char *same = body_of(1, n), *rev = reversed_of(1, n);
    for (int r = 0; r < runs; r++)
        json[r] = json_only(same);
    for (int r = 0; r < runs; r++) {
        const char *seed = "10.0.0.1";
        alt_lb *lb;
        if (alt_lb_new(&lb, "http", 8000, &seed, 1) != ALT_OK)
            return 1;
        first[r] = accept_once(lb, same, n);
        again[r] = accept_once(lb, same, n);
        order[r] = accept_once(lb, rev, n);
        /* Half new, then the other half new: records get reused once the
         * registry (ALT_MAX_NODES) is full. */
        char *h = half_of(1, 2 + r, n);
        churn[r] = accept_once(lb, h, n);
        free(h);
        alt_lb_free(lb);
    }
    double base = json[0];
    qsort(json, (size_t)runs, sizeof *json, cmp);
    base = json[runs / 2];
    printf("### Accepting a /localnodes answer of %d addresses (%d runs, "
           "microseconds)\n\n", n, runs);
    printf("| step | median | worst | / json-c parse |\n|---|---|---|---|\n");
    row("json-c parse alone", json, runs, base);
    row("parse + accept, all new", first, runs, base);
    row("the same answer again (same bytes: nothing to do)", again, runs, base);
    row("the same nodes in another order (parsed in full)", order, runs, base);
    row("parse + accept, half new", churn, runs, base);
    free(same);
    free(rev);
    free(order);
    free(json);
    free(first);
    free(again);
    free(churn);
    return 0;
}
