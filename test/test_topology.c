/*
 * Datacenter and rack scope of discovery (alt_lb_set_datacenter), against
 * a cluster of two datacenters: nodes 1 (dc1/r1), 2 (dc1/r2), 3 and 4
 * (dc2/r1). An empty answer widens the scope and keeps the list.
 */
#include "testutil.h"

#include <string.h>

static tc_cluster *cl;

/* Whether the nodes in rotation are exactly 127.0.0.<d> for the digits d
 * of want (in any order). */
static int nodes_are(alt_lb *lb, const char *want)
{
    char nodes[16][ALT_ADDR_MAX];
    size_t n = alt_lb_nodes(lb, nodes, 16);
    char got[256] = "";
    int mask_got = 0, mask_want = 0;
    for (size_t i = 0; i < n && i < 16; i++) {
        mask_got |= 1 << tu_node_index(nodes[i]);
        strcat(got, nodes[i]);
        strcat(got, " ");
    }
    for (const char *p = want; *p; p++)
        if (*p >= '1' && *p <= '9')
            mask_want |= 1 << (*p - '0');
    if (mask_got != mask_want)
        fprintf(stderr, "  nodes: %s(want %s)\n", got, want);
    return mask_got == mask_want;
}

static alt_lb *lb_at(int seed, const char *dc, const char *rack)
{
    alt_lb *lb = tu_lb(tc_port(cl), seed, 1);
    REQUIRE(alt_lb_set_datacenter(lb, dc, rack) == ALT_OK);
    return lb;
}

static void own_datacenter_by_default(void)
{
    alt_lb *lb = lb_at(3, NULL, NULL);
    CHECK_EQ(alt_lb_refresh(lb), ALT_OK);
    CHECK(nodes_are(lb, "34"));
    alt_lb_free(lb);
}

static void chosen_datacenter(void)
{
    alt_lb *lb = lb_at(1, "dc2", NULL);
    CHECK_EQ(alt_lb_refresh(lb), ALT_OK);
    CHECK(nodes_are(lb, "34"));
    alt_lb_free(lb);
}

static void chosen_rack(void)
{
    alt_lb *lb = lb_at(1, "dc1", "r2");
    CHECK_EQ(alt_lb_refresh(lb), ALT_OK);
    CHECK(nodes_are(lb, "2"));
    alt_lb_free(lb);
}

/* Unknown rack: [] keeps the seed, then the datacenter is used; unknown
 * datacenter: [] again, then the answering node's own datacenter. */
static void widens_on_empty(void)
{
    alt_lb *lb = lb_at(2, "dc1", "nosuchrack");
    CHECK_EQ(alt_lb_refresh(lb), ALT_E_EMPTY_LIST);
    CHECK(nodes_are(lb, "2"));
    CHECK_EQ(alt_lb_refresh(lb), ALT_OK);
    CHECK(nodes_are(lb, "12"));
    alt_lb_free(lb);

    lb = lb_at(3, "nosuchdc", NULL);
    CHECK_EQ(alt_lb_refresh(lb), ALT_E_EMPTY_LIST);
    CHECK(nodes_are(lb, "3"));
    CHECK_EQ(alt_lb_refresh(lb), ALT_OK);
    CHECK(nodes_are(lb, "34"));
    alt_lb_free(lb);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    cl = tu_cluster("--topology dc1:r1,dc1:r2,dc2:r1,dc2:r1");
    RUN(own_datacenter_by_default);
    RUN(chosen_datacenter);
    RUN(chosen_rack);
    RUN(widens_on_empty);
    tc_stop(cl);

    /* A server before 2025.1 ignores the query: the seed's whole dc. */
    cl = tu_cluster("--topology dc1:r1,dc1:r2,dc2:r1,dc2:r1 --old-server");
    alt_lb *lb = lb_at(1, "dc1", "r2");
    CHECK_EQ(alt_lb_refresh(lb), ALT_OK);
    CHECK(nodes_are(lb, "12"));
    alt_lb_free(lb);
    tc_stop(cl);
    curl_global_cleanup();
    return tu_finish();
}
