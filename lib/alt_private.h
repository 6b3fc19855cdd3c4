/*
 * Internal umbrella header: included first by every file of lib/.
 * Internal non-static symbols carry the alt__ prefix.
 */
#ifndef ALT_PRIVATE_H
#define ALT_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alternator_lb.h"

/* Limits. A cluster has tens to hundreds of nodes. */
#define ALT_MAX_NODES 4096          /* distinct addresses ever interned */
#define ALT_MAX_LISTED 2048         /* entries taken from one answer */
#define ALT_MAX_ASKED 16            /* live nodes asked in one refresh */
#define ALT_MAX_BODY (256 * 1024)   /* bytes of one /localnodes answer */
#define ALT_MAX_HOST 253            /* DNS name length */
#define ALT_MAX_HANDLES (1u << 20)  /* distinct easy handles remembered */
#define ALT_BACKOFF_MIN_MS 1000
#define ALT_BACKOFF_MAX_MS 30000

/*
 * One node address, with its prebuilt CONNECT_TO list. Records are never
 * freed before alt_lb_free(), so a pointer to one handed to libcurl or held
 * by a racing reader always points to valid memory. Once ALT_MAX_NODES
 * addresses have been seen, a record nothing can still use (see
 * alt__intern) is reused for a new address; its previous strings are kept
 * until it is reused again.
 */
typedef struct alt__node {
    struct curl_slist connect_to;   /* .data = "fake:port:addr:port" */
    struct alt__node *next;         /* registry chain */
    _Atomic int64_t down_until;     /* monotonic ms; 0 = healthy */
    _Atomic unsigned failures;      /* consecutive connection failures */
    char *addr;                     /* the address; shares text's block */
    char *text;                     /* block holding addr and connect_to */
    char *old_text;                 /* the block before the last reuse */
    bool listed;                    /* in the last accepted answer; lb->mu */
    bool seed;                      /* never reused */
    bool in_use;                    /* scratch of alt__intern; lb->mu */
    struct alt__node *spare_next;   /* spare list of alt__intern; lb->mu */
} alt__node;

/* Marks a handle's slot while alt_curl_prepare() picks (see nodes.c). */
#define ALT_PICKING ((alt__node *)(uintptr_t)1)

/* Which node each easy handle was last pointed at. Slots are immortal too;
 * lookups are lock-free, inserts take lb->mu. */
typedef struct alt__slot {
    /* A cache line each: threads preparing their own handles must not
     * contend on a neighbour's slot. */
    _Alignas(64) const CURL *easy;
    _Atomic(alt__node *) node;      /* NULL once alt_curl_done() saw it */
    uint64_t rr;                    /* this handle's round-robin position */
    unsigned retries;               /* of the current request */
} alt__slot;

typedef struct alt__htab {
    struct alt__htab *retired;      /* older, smaller tables (freed last) */
    size_t mask;
    size_t used;
    /* Keys are kept here, beside the slot pointers: a probe that passes
     * other handles' entries reads only this array, which changes only when
     * a handle is first seen, and never those handles' slots, whose cache
     * lines their own threads write at every prepare. */
    struct alt__entry {
        _Atomic(const CURL *) easy; /* published after slot; never changes */
        alt__slot *slot;
    } entry[];
} alt__htab;

/* A /localnodes request in progress, on an easy handle of the library's. */
typedef struct alt__job {
    CURL *easy;
    _Atomic(alt__node *) target;    /* while a request runs, else NULL */
    alt__node **cand;               /* this round's candidates */
    size_t ncand, cand_cap;
    char *body;
    size_t len, cap;
    char errbuf[CURL_ERROR_SIZE];
    size_t attempt;                 /* candidates tried in this round */
} alt__job;

struct alt_lb {
    /* Read by every alt_curl_prepare(), written rarely: nothing here may
     * share a cache line with data written per request. */
    _Atomic bool active;                    /* prepared since last refresh */
    _Atomic size_t nlive;
    _Atomic(alt__node *) *live;             /* [ALT_MAX_LISTED] */
    size_t live_high;                       /* most slots ever published */
    _Atomic int64_t due_active;             /* ms: next refresh while busy */
    bool sigv4;
    _Atomic bool used;                      /* configuration is frozen */
    char *sigv4_param, *access_key, *secret_key;

    /* Starting points of new handles' round-robin, and the round-robin of
     * handles that have no slot (out of memory). */
    _Alignas(64) _Atomic uint64_t rr;

    /* Configuration (frozen once used). */
    bool https;
    int port;
    char *fake_domain;
    char *url;              /* scheme://fake:port/ */
    char *dc, *rack;
    char *ca_file;
    bool tls_verify;
    long connect_timeout_ms, total_timeout_ms;
    _Atomic long active_ms, idle_ms;
    alt_log_fn log_fn;
    void *log_ud;
    alt_log_level log_level;

    /* Nodes: writers hold mu. */
    pthread_mutex_t mu;
    alt__node *registry;
    size_t nregistry;
    alt__node *spares;                      /* reusable records found */
    bool spares_found;                      /* ... by this parse already */
    alt__node **seeds;
    size_t nseeds;
    _Atomic(alt__htab *) handles;
    _Atomic size_t nhandles;

    /* Refresh scheduling. */
    _Atomic int64_t due_idle;               /* ms: next refresh when idle */
    _Atomic bool refresh_busy;              /* one scheduled refresh at a time */
    _Atomic int scope;                      /* 2 rack, 1 dc, 0 none */
    _Atomic size_t refresh_rr;              /* rotates discovery targets */

    /* Blocking refreshes: alt_lb_refresh() under block_mu, and the
     * background thread, each on a private multi that stop can wake. */
    pthread_mutex_t block_mu;
    alt__job block_job;
    CURLM *block_multi;
    alt__job thread_job;
    CURLM *thread_multi;
    _Atomic unsigned stops;                 /* alt_lb_stop() calls so far */
    unsigned thread_stops;                  /* stops when the thread began */
    bool thread_running;
    pthread_t thread;

    /* Attached multi: used only on the thread that attached it. */
    CURLM *multi;
    pthread_t multi_thread;
    _Atomic bool attached;          /* multi_thread is set: prepare may kick */
    alt__job multi_job;
    bool multi_job_added;           /* multi_job.easy is in multi */
    bool multi_pending;             /* an add was refused; retry it */
    CURLMsg retry_msg;              /* a failure whose retry could not start */
    long multi_maxconn;             /* CURLMOPT_MAXCONNECTS we set */
    size_t pool_handles;            /* nhandles it was sized for */
};

/* log.c */
void alt__log(const alt_lb *lb, alt_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* lb.c */
int64_t alt__now_ms(void);
void alt__freeze(alt_lb *lb);

/* nodes.c: validation, registry, live set, pick, health. */
bool alt__valid_host(const char *s, size_t len, bool allow_ipv6);
/* The one spelling of a valid host (IP literals as inet_ntop writes them,
 * so "0:0::1" and "::1" are one node; names in lower case) into out; its
 * length, 0 if too long. */
size_t alt__canonical_host(const char *s, size_t len, char *out, size_t size);
/* NULL when out of memory or when the registry is full (ALT_MAX_NODES) and
 * no record can be reused. Caller holds lb->mu (except in alt_lb_new), and
 * calls alt__intern_done() before releasing it. */
alt__node *alt__intern(alt_lb *lb, const char *addr, size_t len);
void alt__intern_done(alt_lb *lb);
alt_code alt__set_listed(alt_lb *lb, alt__node *const *nodes, size_t n);
void alt__rebuild_live(alt_lb *lb);
alt__node *alt__pick(alt_lb *lb, alt__slot *slot);
bool alt__node_busy(const alt_lb *lb, const alt__node *node);
void alt__node_failed(alt_lb *lb, alt__node *node, bool refresh_soon);
void alt__node_ok(alt_lb *lb, alt__node *node);
alt_code alt__build_connect_to(alt_lb *lb);
void alt__free_nodes(alt_lb *lb);

/* handles.c: which node each easy handle was given. */
alt__slot *alt__slot_find(alt_lb *lb, const CURL *easy);   /* or NULL */
alt__slot *alt__slot_for(alt_lb *lb, const CURL *easy);    /* adds it */
/* Sets in_use on every node a handle may still use; false while some
 * prepare is picking (nothing may be reused then). Caller holds lb->mu. */
bool alt__mark_handles_in_use(alt_lb *lb);
alt__node *alt__take(alt_lb *lb, const CURL *easy);
void alt__free_handles(alt_lb *lb);

/* discovery.c: one /localnodes request and its answer. */
alt_code alt__job_init(alt_lb *lb, alt__job *job);
void alt__job_cleanup(alt__job *job);
alt_code alt__job_setup(alt_lb *lb, alt__job *job, alt__node *target);
alt_code alt__job_finish(alt_lb *lb, alt__job *job, CURLcode result);
alt_code alt__job_round(alt_lb *lb, alt__job *job);
alt_code alt__parse_nodes(alt_lb *lb, const char *body, size_t len,
                          alt__node **out, size_t max, size_t *n);
alt__node *alt__next_candidate(alt__job *job);

/* refresh.c: when a refresh is due; the blocking and threaded refresh. */
bool alt__refresh_due(alt_lb *lb, int64_t now);
bool alt__refresh_claim(alt_lb *lb);
void alt__refresh_release(alt_lb *lb);
void alt__refresh_soon(alt_lb *lb);

/* multi.c: called by alt_curl_prepare() on the thread that attached. */
void alt__multi_prepared(alt_lb *lb);

/* curl.c */
bool alt__connection_failure(CURL *easy, CURLcode result, bool *retriable);
/* alt_curl_prepare(); retry: the same request again, elsewhere. */
alt_code alt__prepare(alt_lb *lb, CURL *easy, bool retry);

#endif /* ALT_PRIVATE_H */
