/*
 * Internal umbrella header: included first by every file of lib/.
 * Internal non-static symbols carry the alt__ prefix.
 *
 * Layers, each calling only downwards:
 *   registry  nodes.c     records, the address index, the published set
 *   decisions health.c    what an outcome says about a node; back-off
 *             handles.c   which node each easy handle was given
 *             discovery.c one /localnodes request and its answer
 *             schedule    refresh.c: when a refresh is due, who runs it
 *   fronts    curl.c      prepare, done, retry, perform, release
 *             multi.c     the caller's multi loop
 *             refresh.c   the blocking refresh and the thread
 * A lower layer that needs a refresh sets it due (alt__refresh_soon), it
 * never runs one.
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
#define ALT_MAX_NODES 4096          /* node records at once */
#define ALT_INDEX_SIZE 8192         /* address index slots (2 x records) */
#define ALT_MAX_LISTED 2048         /* entries taken from one answer */
#define ALT_MAX_ASKED 16            /* live nodes asked in one refresh */
#define ALT_MAX_BODY (256 * 1024)   /* bytes of one /localnodes answer */
#define ALT_MAX_HOST 253            /* DNS name length */
#define ALT_MAX_HANDLES (1u << 20)  /* distinct easy handles remembered */
#define ALT_MAX_ATTEMPTS 16         /* attempts of one request */
#define ALT_MAX_MS 86400000L        /* longest interval or timeout: a day */
#define ALT_HIST_BUCKETS 56         /* latency histogram: see health.c */
#define ALT_WARM_UP 4               /* answers before an estimate counts */
/* A latency estimate not refreshed by a sample halves every this many ms,
 * so that a node passed over for being slow gets a request now and then to
 * show whether it still is. */
#define ALT_ESTIMATE_HALF_LIFE_MS 256
#define ALT_MAX_TABLES 1024         /* tables whose partition key is kept */
#define ALT_MAX_KEY 2048            /* bytes of a partition key (DynamoDB's) */
#define ALT_MAX_OP 64               /* characters of an operation name */
/* Nodes out of rotation that an affine request's plan remembers; with
 * more out, its retries go the normal way (route.c). */
#define ALT_PLAN_OUT 64
/* DescribeTable requests started after one refresh round: a few, so that
 * a program naming many unknown tables cannot hold its refreshes up. */
#define ALT_DESCRIBES_PER_ROUND 4

/*
 * One node address, with its prebuilt CONNECT_TO list. Records are never
 * freed before alt_lb_free(), so a pointer to one held by libcurl or by a
 * racing reader always points to valid memory. Once ALT_MAX_NODES records
 * exist, one that nothing can use (see nodes.c) is given a new address.
 * Its text is read only by holders of a pin (a handle's slot, a discovery
 * job's target, lb->mu), which reuse waits for.
 */
typedef struct alt__node {
    struct curl_slist connect_to;   /* .data = "fake:port:addr:port" */
    struct alt__node *next;         /* registry chain; lb->mu */
    _Atomic int64_t down_until;     /* monotonic ms; 0 = in rotation */
    _Atomic unsigned failures;      /* consecutive faults */
    _Atomic bool trial;             /* a request on trial is out */
    _Atomic unsigned ejections;     /* taken out in a row: the back-off */
    char *addr;                     /* the address; shares text's block */
    char *text;                     /* block holding addr and connect_to */
    uint32_t hash;                  /* of addr; lb->mu */
    unsigned mark;                  /* dedup within one answer; lb->mu */
    bool listed;                    /* in the last accepted answer; lb->mu */
    bool seed;                      /* never reused */
    bool in_use;                    /* scratch of find_spares; lb->mu */
    uint16_t id;                    /* 0..ALT_MAX_NODES-1, for good */
    struct alt__node *spare_next;   /* spare list of alt__intern; lb->mu */
    _Atomic int64_t state_since;    /* CLOCK_REALTIME ms of the last change */

    /* Written when a transfer on the node is recorded (never by prepare,
     * which only reads ewma_us and ewma_at): a line of their own. */
    _Alignas(64) _Atomic uint64_t requests;  /* attempts recorded */
    _Atomic uint64_t conn_failures;          /* faults of the node's */
    _Atomic uint64_t http_5xx;
    _Atomic uint64_t retried;                /* failed here, sent elsewhere */
    _Atomic unsigned consecutive_5xx;
    _Atomic uint32_t ewma_us;                /* latency estimate; 0 none */
    _Atomic uint32_t samples;                /* answers it has seen */
    _Atomic int64_t ewma_at;                 /* ms of its last sample */
    _Atomic uint64_t hist[ALT_HIST_BUCKETS]; /* attempt times, log scale */
} alt__node;

/* Marks a handle's slot while alt_curl_prepare() picks (see nodes.c). */
#define ALT_PICKING ((alt__node *)(uintptr_t)1)

/* How the last attempt of a request ended, as far as retrying goes. */
enum alt__verdict {
    ALT_FINAL = 0,      /* nothing to retry, or not allowed */
    ALT_UNSENT,         /* nothing was sent: safe anywhere */
    ALT_SENT_BROKEN     /* sent, then the connection broke: idempotent only */
};

/* Per easy handle: the node it was given and its request's progress.
 * Written by the thread using the handle; easy and free_next under lb->mu. */
typedef struct alt__slot {
    /* A cache line each: threads preparing their own handles must not
     * contend on a neighbour's slot. */
    _Alignas(64) _Atomic(const CURL *) easy;  /* NULL while free */
    _Atomic(alt__node *) node;      /* the attempt's; NULL once recorded */
    uint64_t rr;                    /* this handle's round-robin position */
    uint64_t first_rr;              /* rr at the request's first attempt */
    int64_t deadline;               /* ms (fine clock); 0 = none */
    unsigned attempts;              /* of the current request */
    unsigned flags;                 /* ALT_IDEMPOTENT */
    uint32_t random;                /* xorshift state: second choices */
    alt__node *last_node;           /* of the last attempt recorded */
    unsigned char verdict;          /* enum alt__verdict of the last one */
    long try_timeout, try_connect;  /* ms the library gave this attempt */
    bool set_sigv4, set_timeout, set_connect; /* what prepare set */
    bool affine;                    /* routed by its key (route.c) */
    int64_t seed;                   /* ... the key's hash */
    struct alt__req *req;           /* of alt_curl_prepare_request, or NULL */
    unsigned in_multi;              /* lb->multi_gen it is counted in, or 0 */
    struct alt__slot *free_next;
} alt__slot;

/* What alt_curl_prepare_request() keeps per handle (request.c): the
 * headers it installs, the compressed body, and the plan of a request
 * routed by its key (route.c). */
typedef struct alt__req {
    struct curl_slist hdr[5];       /* the last one links the caller's */
    unsigned last;                  /* hdr[last] is the last of them */
    struct curl_slist *headers;     /* the caller's, linked while a request
                                       of alt_curl_prepare_request() runs */
    bool active;                    /* the handle's request is one of those */
    char target[sizeof "X-Amz-Target: " + ALT_MAX_OP];
    unsigned char *zbuf;            /* the compressed body */
    size_t zcap;
    unsigned plan_gen;              /* lb->sorted_gen of the plan's set */
    unsigned plan_pos;              /* picks of the plan taken */
    unsigned nout;                  /* out[] entries, or ALT_PLAN_OUT + 1 */
    uint16_t out[ALT_PLAN_OUT];     /* sorted positions out, ascending */
} alt__req;

typedef struct alt__htab {
    struct alt__htab *retired;      /* older, smaller tables (freed last) */
    size_t mask;
    size_t used;
    /* Keys are kept here, beside the slot pointers: a probe that passes
     * other handles' entries reads only this array, never those handles'
     * slots, whose cache lines their own threads write at every prepare. */
    struct alt__entry {
        _Atomic(const CURL *) easy;
        _Atomic(alt__slot *) slot;
    } entry[];
} alt__htab;

/* A /localnodes request in progress, on an easy handle of the library's.
 * Jobs are never freed before alt_lb_free(): lb->jobs lists them all. */
typedef struct alt__job {
    CURL *easy;
    CURLM *multi;                   /* private, for blocking runs; or NULL */
    _Atomic(alt__node *) target;    /* while a request runs, else NULL */
    alt__node **cand;               /* this round's candidates */
    size_t ncand, cand_cap;
    size_t nprobe;                  /* the first nprobe are probes */
    size_t attempt;                 /* candidates tried in this round */
    bool got_list;                  /* this round has accepted a list */
    int scope;                      /* of the request running */
    alt_code last;                  /* error of the last failed attempt */
    char *body;
    size_t len, cap;
    struct alt__table *table;       /* whose DescribeTable runs, or NULL */
    bool posted;                    /* the handle is set up for a POST */
    bool round_over;                /* its /localnodes part, in multi.c */
    unsigned describes;             /* started after this round */
    char *post;                     /* DescribeTable's body */
    struct alt__req req;            /* ... and its headers (request.c) */
    char errbuf[CURL_ERROR_SIZE];
    struct alt__job *next;          /* lb->jobs */
    struct alt__job *idle_next;     /* lb->idle_jobs */
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
    bool curl7;                             /* libcurl 7.x at run time */
    _Atomic bool used;                      /* configuration is frozen */
    char *sigv4_param, *access_key, *secret_key;
    _Atomic long request_ms, connect_ms;    /* alt_lb_set_timeouts */
    _Atomic bool attached;                  /* multi_thread is set */
    _Atomic bool round_robin;               /* no second choices */
    pthread_t multi_thread;
    /* The published set again, in the order key-route affinity draws from
     * (route.c); a seqlock: sorted_gen is odd while it is rewritten. */
    _Atomic(alt__node *) *sorted;           /* [ALT_MAX_LISTED] */
    _Atomic size_t nsorted;
    _Atomic unsigned sorted_gen;
    _Atomic size_t nout;                    /* records with down_until != 0 */
    _Atomic int affinity;                   /* alt_affinity */
    _Atomic(struct alt__table *) *tables;   /* [ALT_TABLE_SLOTS] (tables.c) */
    int z_level;                            /* alt_lb_set_compression */
    size_t z_min;

    /* Starting points of new handles' round-robin, and the round-robin of
     * handles that have no slot (out of memory). */
    _Alignas(64) _Atomic uint64_t rr;

    /* Configuration (frozen once used). */
    _Alignas(64) bool https;
    int port;
    char *fake_domain;
    char *url;              /* scheme://fake:port/ */
    char *nodes_url[3];     /* /localnodes by scope: none, dc, dc+rack */
    char *dc, *rack;
    char *ca_file;
    bool tls_verify;
    long connect_timeout_ms, total_timeout_ms;
    _Atomic long active_ms, idle_ms;
    _Atomic long maxconnects;               /* alt_lb_set_maxconnects */
    /* alt_lb_set_health */
    _Atomic unsigned max_5xx, max_failures, max_out_percent;
    _Atomic long backoff_min, backoff_max;
    alt_log_fn log_fn;
    void *log_ud;
    alt_log_level log_level;

    /* Nodes: writers hold mu. */
    pthread_mutex_t mu;
    alt__node *registry;
    size_t nregistry;
    alt__node **index;                      /* [ALT_INDEX_SIZE] by address */
    unsigned mark;                          /* last dedup generation */
    char *last_answer;                      /* the body last put in rotation */
    size_t last_len;
    alt__node **sort_tmp;                   /* [ALT_MAX_LISTED] */
    alt__node *spares;                      /* reusable records found */
    bool spares_found;                      /* ... by this parse already */
    alt__node **seeds;
    size_t nseeds;
    _Atomic(alt__htab *) handles;
    _Atomic size_t nhandles;
    alt__slot *free_slots;

    /* Counters of alt_lb_get_stats. */
    _Atomic uint64_t refreshes, refreshes_failed, nodes_added, nodes_removed;
    _Atomic int64_t last_discovery;         /* CLOCK_REALTIME ms; 0 never */

    /* Partition keys (tables.c) and idle deflate streams (request.c). */
    pthread_mutex_t tables_mu;
    size_t ntables;
    struct alt__pk *retired_pks;
    pthread_mutex_t z_mu;
    struct alt__zstream *zfree;

    /* Refresh scheduling. */
    _Atomic int64_t due_idle;               /* ms: next refresh when idle */
    _Atomic int64_t last_claim;             /* ms: the last refresh began */
    _Atomic int64_t busy_since;             /* ms: a scheduled refresh's claim */
    _Atomic int scope;                      /* 2 rack, 1 dc, 0 none */
    _Atomic size_t refresh_rr;              /* rotates discovery targets */

    /* Discovery jobs. Blocking refreshes take an idle job (or make one),
     * each with a private multi that alt_lb_stop() can wake. */
    _Atomic(alt__job *) jobs;               /* all, append-only */
    pthread_mutex_t jobs_mu;                /* idle_jobs only */
    alt__job *idle_jobs;
    _Atomic unsigned stops;                 /* alt_lb_stop() calls so far */
    unsigned thread_stops;                  /* stops when the thread began */
    bool thread_running;
    pthread_t thread;
    alt__job *thread_job;

    /* Attached multi: used only on the thread that drives it. */
    CURLM *multi;
    alt_lb *peer;                           /* ring of lbs on this multi */
    alt_lb *attached_next;                  /* multi.c's list of all */
    alt__job *multi_job;
    bool multi_job_added;                   /* multi_job->easy is in multi */
    bool multi_pending;                     /* an add was refused; retry it */
    unsigned multi_gen;                     /* attachments so far */
    size_t multi_inflight;                  /* caller's transfers running */
    size_t multi_inflight_high;
    long multi_maxconn;                     /* CURLMOPT_MAXCONNECTS set */
};

/* log.c */
void alt__log(const alt_lb *lb, alt_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* lb.c */
int64_t alt__now_ms(void);       /* coarse: a few ms resolution, cheap */
int64_t alt__fine_ms(void);      /* CLOCK_MONOTONIC */
int64_t alt__wall_ms(void);      /* CLOCK_REALTIME, for people to read */
void alt__freeze(alt_lb *lb);
/* Connections a pool may keep: half the file-descriptor limit. */
long alt__fd_budget(void);

/* nodes.c: validation, registry, the published set. */
bool alt__valid_host(const char *s, size_t len, bool allow_ipv6);
/* The one spelling of a valid host (IPv6 literals as inet_ntop writes
 * them, so "0:0::1" and "::1" are one node; names in lower case) into out;
 * its length, or 0 if s is not a valid host or does not fit. */
size_t alt__canonical_host(const char *s, size_t len, bool allow_ipv6,
                           char *out, size_t size);
/* NULL when out of memory or when the registry is full and no record can
 * be reused. Caller holds lb->mu (except in alt_lb_new), and calls
 * alt__intern_done() before releasing it. */
alt__node *alt__intern(alt_lb *lb, const char *addr, size_t len);
void alt__intern_done(alt_lb *lb);
alt_code alt__set_listed(alt_lb *lb, alt__node *const *nodes, size_t n);
/* Returns how many of nodes were not listed before. */
size_t alt__set_listed_locked(alt_lb *lb, alt__node *const *nodes, size_t n);
/* New texts for every record under a new fake domain: all or nothing.
 * texts receives nregistry blocks for alt__commit_texts(). */
alt_code alt__make_texts(const alt_lb *lb, const char *fake, char ***texts);
void alt__commit_texts(alt_lb *lb, char **texts);
void alt__free_nodes(alt_lb *lb);

/* health.c: outcomes, faults, back-off, who may be picked. */
typedef struct alt__outcome {
    bool node_fault;                /* the node is to blame */
    unsigned char verdict;          /* enum alt__verdict */
} alt__outcome;
/* timeout_ms, connect_ms: the timeouts the library gave the attempt, 0
 * where it gave none (see fired_late in health.c); curl7: libcurl 7.x at
 * run time. */
alt__outcome alt__classify(CURL *easy, CURLcode result, long timeout_ms,
                           long connect_ms, bool curl7);
/* Whether node may get a request now: ALT_TAKE or ALT_SKIP. Claims the
 * trial of a quarantined node whose back-off is over. *now is read lazily
 * (0 = not yet). */
enum { ALT_SKIP, ALT_TAKE };
int alt__eligible(const alt_lb *lb, alt__node *node, int64_t *now);
alt_node_state alt__node_state(const alt_lb *lb, const alt__node *node,
                               int64_t now);
/* alt__node_state() is ALT_NODE_ACTIVE: in rotation, or quarantined with
 * its back-off over and no trial out. */
bool alt__in_rotation(const alt_lb *lb, const alt__node *node, int64_t now);
/* why: for the log ("connection refused", "HTTP 503, 5 in a row"). */
void alt__node_failed(alt_lb *lb, alt__node *node, bool refresh_soon,
                      const char *why);
/* probe: the answer was to a refresh's request, not to one of the
 * caller's (see health.c). */
void alt__node_ok(alt_lb *lb, alt__node *node, bool probe);
void alt__latency_sample(alt__node *node, uint64_t us);
/* The latency estimate in us; 0 while too few answers made it. */
uint64_t alt__estimate(const alt__node *node);
/* est as it stands idle_ms after its last sample. */
uint64_t alt__decayed(uint64_t est, int64_t idle_ms);
void alt__http_answer(alt_lb *lb, alt__node *node, long status);
uint64_t alt__bucket_mid(unsigned bucket); /* its middle, in microseconds */
bool alt__node_out(const alt__node *node, int64_t now);
/* Sets node->down_until, keeping lb->nout (records not fully in
 * rotation) exact. */
void alt__set_down_until(alt_lb *lb, alt__node *node, int64_t until);

/* handles.c: which node each easy handle was given. */
alt__slot *alt__slot_find(alt_lb *lb, const CURL *easy);   /* or NULL */
alt__slot *alt__slot_for(alt_lb *lb, const CURL *easy);    /* adds it */
void alt__slot_forget(alt_lb *lb, const CURL *easy);
/* Sets in_use on every node a handle may still use; false while some
 * prepare is picking (nothing may be reused then). Caller holds lb->mu. */
bool alt__mark_handles_in_use(alt_lb *lb);
void alt__free_handles(alt_lb *lb);
/* Adds to count[node id] the handles whose transfer on that node is
 * prepared and not yet recorded. Caller holds lb->mu. */
void alt__in_flight(alt_lb *lb, uint32_t *count);

/* discovery.c: one /localnodes request and its answer. */
alt_code alt__job_new(alt_lb *lb, bool private_multi, alt__job **out);
void alt__job_free(alt__job *job);
alt_code alt__job_setup(alt_lb *lb, alt__job *job, alt__node *target);
alt_code alt__job_finish(alt_lb *lb, alt__job *job, CURLcode result);
alt_code alt__job_round(alt_lb *lb, alt__job *job);
/* The next node to ask in this round, or NULL when the round is over. */
alt__node *alt__next_candidate(alt__job *job);
/* Counts a round that ran to its end. */
void alt__round_done(alt_lb *lb, const alt__job *job);
bool alt__node_busy(alt_lb *lb, const alt__node *node);
alt_code alt__parse_nodes(alt_lb *lb, const char *body, size_t len,
                          alt__node **out, size_t max, size_t *n);
/* alt__parse_nodes(), and the list put in rotation under the same hold of
 * lb->mu, so that a concurrent answer cannot reuse its records. */
alt_code alt__accept_nodes(alt_lb *lb, const char *body, size_t len,
                           alt__node **out, size_t max, size_t *n);

/* refresh.c: when a refresh is due, and who runs it. */
bool alt__refresh_due(alt_lb *lb, int64_t now);
bool alt__refresh_claim(alt_lb *lb);
void alt__refresh_release(alt_lb *lb);
void alt__refresh_soon(alt_lb *lb);

/* multi.c: called by alt_curl_prepare() on the thread that attached. */
void alt__multi_prepared(alt_lb *lb, alt__slot *slot);

/* curl.c */
/* in_loop: for a transfer of the caller's multi loop, if attached. */
alt_code alt__prepare(alt_lb *lb, CURL *easy, unsigned flags, bool retry,
                      bool in_loop);
/* alt__prepare() of a handle whose slot (may be NULL) the caller found,
 * after alt__freeze(); seed: the key's hash of a request routed by its
 * key, or NULL. */
alt_code alt__prepare_slot(alt_lb *lb, CURL *easy, alt__slot *slot,
                           unsigned flags, bool retry, bool in_loop,
                           const int64_t *seed);
/* The transfer prepared on easy, and its retries, as alt_curl_perform(). */
CURLcode alt__perform_prepared(alt_lb *lb, CURL *easy);
/* Sets (on) or unsets the SigV4 options: lb's credentials, or none. */
CURLcode alt__set_sigv4(const alt_lb *lb, CURL *easy, bool on);
/* Records the outcome of the attempt on easy; its slot, or NULL. */
alt__slot *alt__record(alt_lb *lb, CURL *easy, CURLcode result);

/* route.c: the node of a request routed by its key, or NULL for the
 * normal choice. Sets the order of the sorted set (nodes.c). */
alt__node *alt__route_pick(alt_lb *lb, alt__slot *slot, bool retry);
int alt__url_cmp(const alt__node *a, const alt__node *b);

/* request.c */
void alt__req_free(alt__req *req);
/* Builds in req the header list of a DynamoDB request: Content-Type,
 * X-Amz-Target, Content-Encoding when gzip, the removals of Accept and
 * (for a body over libcurl's threshold) Expect, then headers. */
void alt__request_headers(alt__req *req, const char *op, size_t oplen,
                          bool gzip, size_t size, struct curl_slist *headers);
/* Links (an attempt starts) or unlinks (it was recorded) the caller's
 * header list after the library's; a no-op unless the handle's request
 * came from alt_curl_prepare_request(). */
void alt__req_link(alt__slot *slot, bool link);
void alt__free_zstreams(alt_lb *lb);

/* tables.c: partition keys by table, and the DescribeTable that learns
 * them, run by the refresh drivers after a round (see refresh.c). */
#define ALT_TABLE_SLOTS (2 * ALT_MAX_TABLES)
typedef struct alt__pk {
    struct alt__pk *retired;        /* lb->retired_pks */
    size_t len;
    char name[];                    /* NUL-terminated */
} alt__pk;
typedef struct alt__table {
    _Atomic(alt__pk *) pk;          /* NULL until known */
    int64_t describe_at;            /* ms; 0: not to learn; lb->tables_mu */
    unsigned failures;              /* describes failed in a row; ditto */
    uint32_t hash;
    size_t len;
    char name[];                    /* NUL-terminated */
} alt__table;
/* The table named (len bytes, unescaped), added (to be learnt) if new;
 * NULL when the name is not a valid table name, or no room. */
alt__table *alt__table_get(alt_lb *lb, const char *name, size_t len);
/* The table named (len bytes as given: a name that is no valid table
 * name, escaped JSON included, is simply not found), if it is known;
 * never adds one. Lock-free. */
alt__table *alt__table_find(alt_lb *lb, const char *name, size_t len);
void alt__free_tables(alt_lb *lb);
/* Starts the next due DescribeTable on job, to a node in rotation: true
 * if one was set up (job->table set), false when none is due. */
bool alt__describe_setup(alt_lb *lb, alt__job *job);
/* Ends the describe running on job: takes its answer or backs off. */
void alt__describe_finish(alt_lb *lb, alt__job *job, CURLcode result);
/* Gives back a describe set up but not run: due again at once. */
void alt__describe_abort(alt_lb *lb, alt__job *job);

#endif /* ALT_PRIVATE_H */
