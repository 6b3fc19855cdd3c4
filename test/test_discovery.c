/* Discovery: /localnodes learnt from seeds, validated, and never emptied. */
#include "testutil.h"

#include <string.h>

static tc_cluster *cl;

static size_t live(alt_lb *lb, char out[][ALT_ADDR_MAX], size_t max)
{
    return alt_lb_nodes(lb, out, max);
}

static int has(char nodes[][ALT_ADDR_MAX], size_t n, const char *addr)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(nodes[i], addr) == 0)
            return 1;
    return 0;
}

/* One seed is enough to learn all three nodes. */
static void learns_all_nodes(void)
{
    alt_lb *lb = tu_lb(tc_port(cl), 2, 1);
    char nodes[8][ALT_ADDR_MAX];
    CHECK_EQ(live(lb, nodes, 8), 1);
    CHECK_EQ(alt_lb_refresh(lb), ALT_OK);
    size_t n = live(lb, nodes, 8);
    CHECK_EQ(n, 3);
    CHECK(has(nodes, n, "127.0.0.1") && has(nodes, n, "127.0.0.2")
          && has(nodes, n, "127.0.0.3"));
    alt_lb_free(lb);
}

/* Requests go round-robin to every node. */
static void round_robin(void)
{
    alt_lb *lb = tu_lb(tc_port(cl), 1, 1);
    /* Exact order: without the load-aware second choice (test_health). */
    REQUIRE(alt_lb_set_choice(lb, ALT_CHOICE_ROUND_ROBIN) == ALT_OK);
    REQUIRE(alt_lb_refresh(lb) == ALT_OK);
    CURL *e = curl_easy_init();
    int count[4] = {0};
    for (int i = 0; i < 30; i++) {
        tu_reply r;
        CHECK_EQ(tu_list_tables(lb, e, &r), CURLE_OK);
        CHECK_EQ(r.status, 200);
        int idx = tu_node_index(r.ip);
        if (idx >= 1 && idx <= 3)
            count[idx]++;
    }
    CHECK_EQ(count[1], 10);
    CHECK_EQ(count[2], 10);
    CHECK_EQ(count[3], 10);
    curl_easy_cleanup(e);
    alt_lb_free(lb);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    cl = tu_cluster("--nodes 3");
    RUN(learns_all_nodes);
    RUN(round_robin);
    tc_stop(cl);
    curl_global_cleanup();
    return tu_finish();
}
