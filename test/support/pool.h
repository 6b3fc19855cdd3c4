/*
 * A caller's pool of ListTables requests on one curl multi handle, as the
 * multi-loop tests drive it whatever their loop (poll, epoll, libuv):
 * start requests on idle slots, read completions with alt_multi_info_read(),
 * send failures elsewhere with alt_curl_retry() and tally the rest,
 * checking that every message is one of the pool's.
 */
#ifndef ALT_TEST_POOL_H
#define ALT_TEST_POOL_H

#include "testutil.h"

#define TU_POOL_MAX 16

typedef struct tu_slot {
    unsigned magic;             /* CURLINFO_PRIVATE points here */
    CURL *easy;
    struct curl_slist *headers;
    tu_reply reply;
    int busy;
} tu_slot;

typedef struct tu_pool {
    alt_lb *lb;
    CURLM *multi;
    int conc;                   /* slots in use, <= TU_POOL_MAX */
    tu_slot slots[TU_POOL_MAX];
    long added;                 /* requests the pool added */
    long done;                  /* CURLMSG_DONE returned for them */
    long ok200;                 /* CURLE_OK with HTTP 200 */
    long failed;                /* result != CURLE_OK */
    long retried;               /* sent to another node (alt_curl_retry) */
    long foreign;               /* messages whose handle is not a slot's */
    long not_done;              /* messages other than CURLMSG_DONE */
    long per_node[256];         /* by 127.0.0.<i> answering; [0]: none */
} tu_pool;

/* Creates conc easy handles for requests through multi (not attached
 * here). */
void tu_pool_init(tu_pool *p, alt_lb *lb, CURLM *multi, int conc);
/* Prepares slot s (a read: ALT_IDEMPOTENT) and adds it to the multi. */
void tu_pool_start(tu_pool *p, tu_slot *s);
/* Starts requests on idle slots while *budget > 0, counting it down. */
void tu_pool_top_up(tu_pool *p, long *budget);
/* Reads every completion there is and tallies it. */
void tu_pool_read(tu_pool *p);
int tu_pool_in_flight(const tu_pool *p);
/* Checks that every message was the pool's and each request came back
 * exactly once. */
void tu_pool_check(const tu_pool *p);
/* Takes the slots still busy out of the multi and frees the handles; the
 * multi and lb are the caller's. */
void tu_pool_cleanup(tu_pool *p);

#endif
