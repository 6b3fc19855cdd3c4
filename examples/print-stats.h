/*
 * print-stats.h: the --stats table the examples print at the end: what
 * each node did (alt_lb_node_stats) and the load balancer's own counters
 * (alt_lb_get_stats). Shared by the example programs; include after
 * <alternator_lb.h>.
 */
#ifndef EXAMPLES_PRINT_STATS_H
#define EXAMPLES_PRINT_STATS_H

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

static void print_stats(const alt_lb *lb)
{
    static const char *state[] = {"active", "quarantined", "down"};
    alt_node_stats nodes[64];
    size_t n = alt_lb_node_stats(lb, nodes, 64, sizeof nodes[0]);
    printf("%-16s %-11s %9s %8s %6s %7s %6s %8s %8s %8s\n", "node", "state",
           "requests", "inflight", "failed", "5xx", "retried", "est_us",
           "p50_us", "p99_us");
    for (size_t i = 0; i < n && i < 64; i++) {
        const alt_node_stats *s = &nodes[i];
        printf("%-16s %-11s %9" PRIu64 " %8" PRIu64 " %6" PRIu64 " %7" PRIu64
               " %6" PRIu64 " %8" PRIu32 " %8" PRIu32 " %8" PRIu32 "\n",
               s->addr, state[s->state], s->requests, s->in_flight,
               s->conn_failures, s->http_5xx, s->retried, s->latency_us,
               s->p50_us, s->p99_us);
    }
    alt_lb_stats lbs;
    if (alt_lb_get_stats(lb, &lbs, sizeof lbs) == ALT_OK) {
        long long ago = (long long)time(NULL) - lbs.last_discovery_ms / 1000;
        printf("refreshes: %" PRIu64 " (%" PRIu64 " failed); nodes added %"
               PRIu64 ", removed %" PRIu64 "; last discovery ",
               lbs.refreshes, lbs.refreshes_failed, lbs.nodes_added,
               lbs.nodes_removed);
        if (lbs.last_discovery_ms)
            printf("%lld s ago\n", ago);
        else
            printf("never\n");
    }
}

#endif
