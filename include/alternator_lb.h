/*
 * alternator_lb: spread libcurl DynamoDB requests over every live node of a
 * ScyllaDB Alternator cluster.
 *
 * The program keeps its own easy handles and its own loop. Its request URL
 * names a fixed "fake domain" (alt_lb_url()); before each transfer
 * alt_curl_prepare() installs a CURLOPT_CONNECT_TO entry that connects that
 * URL to the next live node, round-robin. The Host header, the SigV4
 * signature and the TLS name stay those of the fake domain.
 *
 * The live node list is learnt from the seeds with Alternator's
 * GET /localnodes and refreshed while requests flow: inside the caller's
 * curl multi loop (alt_multi_attach), by a blocking call (alt_lb_refresh),
 * or by an opt-in background thread (alt_lb_start).
 *
 * A program that hands over its DynamoDB operation and JSON body instead
 * (alt_curl_prepare_request) gets the whole request prepared: headers,
 * optional gzip, and key-route affinity for LWT writes, compatible with
 * ScyllaDB's other Alternator clients.
 *
 * Global state: none. curl_global_init() is the caller's business and must
 * have been called before any function here is used.
 *
 * Strings passed in are copied; strings returned are owned by the library
 * and stay valid as documented at each function.
 *
 * Every function and type here exists since version 0.1.0, except those
 * marked "Since 0.2.0", "Since 0.3.0" or "Since 0.4.0". Changed in 0.2.0:
 * alt_multi_info_read() returns every transfer (retries are the caller's
 * call: alt_curl_retry()), alt_lb_nodes() copies, alt_multi_attach() adds
 * nothing by itself. Changed in 0.3.0: alt_curl_prepare() may pass over a
 * node measured slower (alt_lb_set_choice()); HTTP 5xx answers count
 * against a node (alt_lb_set_health()). Changed in 0.4.2:
 * alt_curl_prepare_request() stops reading a body once it knows where the
 * request goes, so a body malformed only past that point may go to its
 * key's node (the server refuses it there as anywhere).
 */
#ifndef ALTERNATOR_LB_H
#define ALTERNATOR_LB_H

#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>

#include "alternator_lb_version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(ALT_STATIC)
#define ALT_EXTERN
#elif defined(_WIN32)
#ifdef ALT_BUILDING_LIBRARY
#define ALT_EXTERN __declspec(dllexport)
#else
#define ALT_EXTERN __declspec(dllimport)
#endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#define ALT_EXTERN __attribute__((visibility("default")))
#else
#define ALT_EXTERN
#endif

/* The load balancer. Opaque; create with alt_lb_new(), free with
 * alt_lb_free(). */
typedef struct alt_lb alt_lb;

/*
 * Result codes. ALT_OK is 0; values are never renumbered, new ones are
 * appended. No error leaves an alt_lb unusable: after any failure the object
 * keeps its previous configuration and node list.
 */
typedef enum {
    ALT_OK = 0,
    ALT_E_INVALID_ARG,    /* NULL, out of range or malformed argument */
    ALT_E_NOMEM,          /* out of memory; nothing was changed */
    ALT_E_STATE,          /* not allowed now (see the function) */
    ALT_E_CURL,           /* libcurl refused an option or a multi call */
    ALT_E_THREAD,         /* a thread or lock could not be created */
    ALT_E_UNREACHABLE,    /* discovery: no node could be connected to */
    ALT_E_TIMEOUT,        /* discovery: a node did not answer in time */
    ALT_E_HTTP_STATUS,    /* discovery: /localnodes answered non-200 */
    ALT_E_BAD_RESPONSE,   /* discovery: not a JSON array of strings, or too big */
    ALT_E_EMPTY_LIST,     /* discovery: no valid node address in the answer */
    ALT_E_ABORTED,        /* discovery: stopped by alt_lb_stop()/alt_lb_free() */
    ALT_E_UNKNOWN         /* alt_lb_partition_key(): not known (yet). Since 0.4.0 */
} alt_code;

/* A static English description of code; never NULL (unknown codes get a
 * generic text). Thread-safe. */
ALT_EXTERN const char *alt_strerror(alt_code code);

/* The version of the library linked at run time, "MAJOR.MINOR.PATCH".
 * Compare with ALT_VERSION_STR from the header. Thread-safe. */
ALT_EXTERN const char *alt_version(void);

/* ------------------------------------------------------------------------ */
/* Creation and configuration                                                */
/* ------------------------------------------------------------------------ */

/*
 * Creates a load balancer for the nodes reachable at scheme://NODE:port/.
 *
 * scheme: "http" or "https". port: 1..65535, the Alternator port common to
 * all nodes. seeds: nseeds >= 1 node addresses (IPv4 literal, IPv6 literal
 * without brackets, or DNS host name; no port) used until the first
 * discovery and as a fall-back for discovery. All strings are copied.
 *
 * On success stores the new object in *out and returns ALT_OK. On failure
 * returns ALT_E_INVALID_ARG (NULL, port out of range, unknown scheme, empty or
 * malformed seed) or ALT_E_NOMEM, and leaves *out untouched.
 *
 * Configuration setters (fake domain, credentials, datacenter, logger, TLS,
 * discovery timeouts) must be called before the object is first used: before the first
 * alt_curl_prepare(), alt_curl_perform(), alt_lb_refresh(), alt_lb_start()
 * or alt_multi_attach(). After that they return ALT_E_STATE. They are not
 * thread-safe with one another.
 */
ALT_EXTERN alt_code alt_lb_new(alt_lb **out, const char *scheme, int port,
                               const char *const *seeds, size_t nseeds);

/*
 * Frees lb: stops the background thread (alt_lb_stop()), detaches from a
 * multi handle (alt_multi_detach(): that multi must still exist, its
 * callbacks may be called, and the call must come from the thread that
 * drives it), and frees everything. NULL is a no-op. No
 * transfer that lb prepared may still be running, and no other thread may
 * be using lb. Handles lb prepared: see alt_curl_release().
 */
ALT_EXTERN void alt_lb_free(alt_lb *lb);

/*
 * The host name used in the request URL, the Host header, the SigV4
 * signature and for TLS certificate verification (so with https every node's
 * certificate must name it). Default "alt.invalid": a name that never
 * resolves, so a request that somehow escapes CONNECT_TO fails loudly.
 * Keep it short: libcurl 7.88 spends about 480 instructions per character
 * of the host name on every request (0.6% of a small request's client CPU).
 * host: a DNS host name or an IPv4 literal; copied.
 * Errors: ALT_E_INVALID_ARG, ALT_E_NOMEM, ALT_E_STATE (already in use).
 */
ALT_EXTERN alt_code alt_lb_set_fake_domain(alt_lb *lb, const char *host);

/*
 * Makes alt_curl_prepare() sign every request with SigV4: it sets
 * CURLOPT_AWS_SIGV4 "aws:amz:<region>:dynamodb", CURLOPT_USERNAME (key) and
 * CURLOPT_PASSWORD (secret) on each prepared handle. region NULL means
 * "us-east-1" (Alternator checks no region). Pass access_key NULL to turn
 * signing off again. Strings are copied.
 * Errors: ALT_E_INVALID_ARG (key without secret or an empty one),
 * ALT_E_NOMEM, ALT_E_STATE.
 */
ALT_EXTERN alt_code alt_lb_set_credentials(alt_lb *lb, const char *access_key,
                                           const char *secret_key,
                                           const char *region);

/*
 * How often the node list is refreshed: every active_ms while requests are
 * being prepared, every idle_ms otherwise. Defaults 1000 and 60000.
 * Requires 0 < active_ms <= idle_ms <= 86400000 (a day). May be called at
 * any time, from any thread; takes effect from the next refresh on.
 * Errors: ALT_E_INVALID_ARG (nothing changed).
 */
ALT_EXTERN alt_code alt_lb_set_refresh_interval(alt_lb *lb, long active_ms,
                                                long idle_ms);

/*
 * Limits of one /localnodes request: connect_ms to connect (default 1000),
 * total_ms for the whole request (default 2000). A node that accepts and
 * never answers is given up on after total_ms, and the next node is asked.
 * Errors: ALT_E_INVALID_ARG (<= 0, over a day, connect_ms > total_ms),
 * ALT_E_STATE.
 */
ALT_EXTERN alt_code alt_lb_set_discovery_timeout(alt_lb *lb, long connect_ms,
                                                 long total_ms);

/*
 * TLS for the library's own /localnodes requests over https (the caller's
 * handles are the caller's to configure). ca_file: a PEM bundle or NULL for
 * the system default; verify 0 turns peer and host verification off (test
 * clusters only). Certificates are checked against the fake domain.
 * Errors: ALT_E_NOMEM, ALT_E_STATE.
 */
ALT_EXTERN alt_code alt_lb_set_tls(alt_lb *lb, const char *ca_file,
                                   int verify);

/*
 * Restricts discovery to one datacenter and optionally one rack
 * (ScyllaDB 2025.1+: /localnodes?dc=..&rack=..). dc NULL = the answering
 * node's own datacenter; rack NULL = the whole datacenter. When an answer
 * comes back empty the scope is widened (rack, then dc, then none) and the
 * current list is kept. Strings are copied.
 * Errors: ALT_E_INVALID_ARG (rack without dc, characters other than
 * [A-Za-z0-9._-]), ALT_E_NOMEM, ALT_E_STATE.
 */
ALT_EXTERN alt_code alt_lb_set_datacenter(alt_lb *lb, const char *dc,
                                          const char *rack);

typedef enum {
    ALT_LOG_ERROR = 0,
    ALT_LOG_WARN = 1,
    ALT_LOG_INFO = 2,
    ALT_LOG_DEBUG = 3
} alt_log_level;

/* A log sink. msg is valid only during the call. Called from whichever
 * thread does the work (a refresh may run on the background thread), never
 * with a library lock held; from alt_curl_prepare() only on the thread
 * that drives an attached multi, when it starts or ends a refresh there. */
typedef void (*alt_log_fn)(void *userdata, alt_log_level level,
                           const char *msg);

/* Installs fn (NULL: silent, the default) for messages at or below
 * max_level. userdata is passed through untouched and not owned.
 * Errors: ALT_E_STATE. */
ALT_EXTERN alt_code alt_lb_set_logger(alt_lb *lb, alt_log_fn fn,
                                      void *userdata, alt_log_level max_level);

/* "scheme://fake-domain:port/": the URL to give CURLOPT_URL. Owned by lb,
 * valid until lb is freed or the fake domain is changed. Thread-safe once
 * configuration is over. NULL if lb is NULL. */
ALT_EXTERN const char *alt_lb_url(const alt_lb *lb);

/* Room for one node address and its terminating NUL. */
#define ALT_ADDR_MAX 256

/*
 * Copies the addresses of the nodes in rotation (listed by the last
 * discovery and not taken out after a failure; if every one is out, those
 * requests still go to) into addrs[0..max) and returns how many there are
 * in all, which may exceed max. addrs may be
 * NULL when max is 0. The copies are the caller's; nothing returned points
 * into lb. Thread-safe; takes lb's node lock briefly.
 */
ALT_EXTERN size_t alt_lb_nodes(const alt_lb *lb, char addrs[][ALT_ADDR_MAX],
                               size_t max);

/* ------------------------------------------------------------------------ */
/* Health and metrics                                                        */
/* ------------------------------------------------------------------------ */

/* A node's state. Since 0.3.0. */
typedef enum {
    ALT_NODE_ACTIVE = 0,      /* gets requests */
    ALT_NODE_QUARANTINED = 1, /* out after a fault, for a back-off; then one
                                 request on trial */
    ALT_NODE_DOWN = 2         /* out after several faults in a row; back
                                 only when a refresh's probe gets an
                                 answer: no request is spent on it */
} alt_node_state;

/*
 * When nodes leave the rotation. A node is quarantined after a connection
 * fault (see alt_curl_done()) or after max_5xx HTTP 5xx answers in a row
 * (a 5xx is never retried: the request reached the node; 4xx answers are
 * the request's fault and never count). It is out for a back-off of
 * backoff_min_ms, doubling with each time it is taken out in a row up to
 * backoff_max_ms, then gets one request on trial. After max_failures
 * faults in a row it is down: only the probes of refreshes
 * (alt_lb_refresh(), alt_lb_start()'s thread, an attached multi) ask it,
 * once its back-off is over, and an answer brings it back - its back-off
 * still doubling next time, until a request of yours gets an answer from
 * it. The nodes out stay below max_out_percent of the listed ones, except
 * that one may always be out (as Envoy does); one that fails beyond that
 * stays in rotation, since when that many look sick the client is the
 * likelier culprit.
 * Defaults: 5, 3, 1000, 30000, 50 (Envoy ejects after 5 consecutive 5xx;
 * ScyllaDB's C++ client marks a node down after 3 failures).
 * Requires max_5xx >= 1, max_failures >= 1, 1 <= backoff_min_ms <=
 * backoff_max_ms <= a day, max_out_percent <= 100. May be called at any
 * time, from any thread; applies to the next fault.
 * Errors: ALT_E_INVALID_ARG (nothing changed). Since 0.3.0.
 */
ALT_EXTERN alt_code alt_lb_set_health(alt_lb *lb, unsigned max_5xx,
                                      unsigned max_failures,
                                      long backoff_min_ms, long backoff_max_ms,
                                      unsigned max_out_percent);

/* How alt_curl_prepare() chooses. Since 0.3.0. */
typedef enum {
    /* Round-robin, except that a second node drawn at random is taken
     * instead when it is clearly cheaper: a latency estimate (request sent
     * to first answer byte, a moving average of the node's answers) at
     * least 3 times and 2 ms lower (or twice and 5 ms). The estimate holds
     * a node's queueing, so one that falls behind loses traffic too. A
     * slow node gets little traffic; a healthy cluster keeps the
     * round-robin spread. The default. */
    ALT_CHOICE_LOAD_AWARE = 0,
    /* Plain round-robin over the nodes in rotation. */
    ALT_CHOICE_ROUND_ROBIN = 1
} alt_choice;

/* Sets how nodes are chosen. May be called at any time, from any thread.
 * Errors: ALT_E_INVALID_ARG. Since 0.3.0. */
ALT_EXTERN alt_code alt_lb_set_choice(alt_lb *lb, alt_choice choice);

/*
 * What one node is doing: a copy, filled by alt_lb_node_stats(). Fields are
 * only ever appended, never moved: a program built against an older header
 * passes its own sizeof and gets the fields it knows. Counts start when the
 * node is first seen and count attempts reported through alt_curl_done()
 * (or alt_multi_info_read(), alt_curl_retry(), alt_curl_perform()).
 * Since 0.3.0.
 */
typedef struct alt_node_stats {
    char addr[ALT_ADDR_MAX];
    alt_node_state state;
    int64_t state_since_ms;     /* CLOCK_REALTIME ms of the last change;
                                   0: never changed */
    uint64_t requests;          /* attempts that ended here */
    uint64_t in_flight;         /* prepared here, not yet reported */
    uint64_t conn_failures;     /* faults: refused, reset, timed out... */
    uint64_t http_5xx;          /* answers with a 5xx status */
    uint64_t retried;           /* failed here, then sent elsewhere */
    uint32_t latency_us;        /* the moving estimate second choices use:
                                   request sent to first answer byte */
    uint32_t p50_us, p99_us;    /* of all attempts with an answer (a log
                                   histogram: within 25%) */
} alt_node_stats;

/*
 * Copies the statistics of the listed nodes (in the order of the last
 * answer) into out[0..max), each struct_size bytes apart (pass
 * sizeof(alt_node_stats)), and returns how many nodes there are, which may
 * exceed max. out may be NULL when max is 0. Thread-safe; never blocks
 * alt_curl_prepare() (it takes lb's node lock, which prepare does not).
 * Since 0.3.0.
 */
ALT_EXTERN size_t alt_lb_node_stats(const alt_lb *lb, alt_node_stats *out,
                                    size_t max, size_t struct_size);

/* The load balancer's own counters. Fields are only ever appended.
 * Since 0.3.0. */
typedef struct alt_lb_stats {
    uint64_t refreshes;          /* rounds that put a list in rotation */
    uint64_t refreshes_failed;   /* rounds in which no node gave one */
    uint64_t nodes_added;        /* entered the list through a discovery */
    uint64_t nodes_removed;      /* left it */
    int64_t last_discovery_ms;   /* CLOCK_REALTIME ms; 0: never */
} alt_lb_stats;

/* Copies lb's counters into *out (struct_size: sizeof(alt_lb_stats)).
 * Thread-safe. Errors: ALT_E_INVALID_ARG. Since 0.3.0. */
ALT_EXTERN alt_code alt_lb_get_stats(const alt_lb *lb, alt_lb_stats *out,
                                     size_t struct_size);

/* ------------------------------------------------------------------------ */
/* Node discovery                                                            */
/* ------------------------------------------------------------------------ */

/*
 * Runs a discovery now and waits for it: asks the live nodes, then the seeds,
 * one after another, until one answers GET /localnodes with a usable list
 * (each bounded by alt_lb_set_discovery_timeout()), and puts that list in
 * rotation. On failure the current list is kept and the error of the last
 * node asked is returned: ALT_E_UNREACHABLE, ALT_E_TIMEOUT,
 * ALT_E_HTTP_STATUS, ALT_E_BAD_RESPONSE, ALT_E_EMPTY_LIST; also ALT_E_NOMEM,
 * ALT_E_CURL, ALT_E_ABORTED (alt_lb_stop() was called meanwhile).
 * Nodes that failed and whose back-off is over are asked first, all of
 * them (up to 16), and each that answers is back in rotation.
 * Thread-safe; concurrent calls run side by side, each on its own
 * connection, and none waits for another (so a log callback may take a lock
 * that a caller of alt_lb_refresh() holds).
 */
ALT_EXTERN alt_code alt_lb_refresh(alt_lb *lb);

/*
 * Starts a background thread that refreshes the list every active interval
 * while requests are prepared, every idle interval otherwise, and at once
 * after a node failed. For programs without a curl multi loop.
 * Errors: ALT_E_STATE (already started), ALT_E_THREAD, ALT_E_NOMEM,
 * ALT_E_CURL. Not thread-safe with alt_lb_stop().
 */
ALT_EXTERN alt_code alt_lb_start(alt_lb *lb);

/* Stops and joins the thread started by alt_lb_start(), and makes
 * alt_lb_refresh() calls in progress return ALT_E_ABORTED. Returns
 * promptly, also while a refresh is waiting on a node that does not
 * answer. */
ALT_EXTERN void alt_lb_stop(alt_lb *lb);

/* ------------------------------------------------------------------------ */
/* Per request                                                               */
/* ------------------------------------------------------------------------ */

/*
 * A request, from the library's point of view, is one call of
 * alt_curl_prepare() (or alt_curl_perform()) and the retries on other nodes
 * that follow it (alt_curl_retry()), until its final outcome. The library
 * keeps a small record per easy handle it has prepared (the node it was
 * given, the attempts so far); alt_curl_release() forgets it.
 */

/* Flags of alt_curl_prepare_ex() and alt_curl_perform_ex(). */
#define ALT_IDEMPOTENT 0x1u /* may be sent again after it may have reached
                               a node: reads (GetItem, Query, Scan, ...) and
                               writes that are safe to apply twice */

/*
 * Points easy at the next node for a new request: sets CURLOPT_CONNECT_TO
 * to a list owned by lb and, when credentials are set, the SigV4 options
 * (CURLOPT_AWS_SIGV4, CURLOPT_USERNAME, CURLOPT_PASSWORD); when
 * alt_lb_set_timeouts() gave a request timeout, also CURLOPT_TIMEOUT_MS and
 * CURLOPT_CONNECTTIMEOUT_MS. Touches no other option. The caller sets
 * CURLOPT_URL to alt_lb_url() (or a path below it).
 *
 * The list stays valid and unchanged while the transfer runs, also when a
 * refresh drops the node meanwhile; it stays installed on the handle after
 * the transfer (see alt_curl_release()).
 *
 * Choice: each easy handle walks the nodes in rotation in turn, starting one
 * node further than the handle first seen before it, and skips nodes taken
 * out after a failure; then, unless alt_lb_set_choice() said round-robin,
 * a second node drawn at random is taken instead when it is clearly
 * cheaper (see alt_choice). A quarantined node whose back-off is over is
 * given one request on trial ("half-open"): success puts it back, failure
 * doubles its back-off (see alt_lb_set_health()).
 *
 * Requests prepared before the first discovery go round-robin over the
 * seeds. To spread from the first request, call alt_lb_refresh() once
 * before starting any.
 *
 * O(1) in the number of nodes (while nodes are out of rotation, a walk past
 * them); allocates nothing except the first time a given easy handle is
 * seen (with credentials, libcurl copies the three SigV4 strings at every
 * call: 3 small allocations). Thread-safe: many threads may prepare at once,
 * each with its own handle, while a refresh replaces the list. Calls no
 * callback of the caller's, except libcurl's own from curl_multi_add_handle
 * when lb is attached to a multi and a refresh is due (see
 * alt_multi_attach()).
 *
 * Errors: ALT_E_INVALID_ARG, ALT_E_CURL (libcurl refused an option),
 * ALT_E_NOMEM (first sight of a handle, out of memory or past 2^20 handles
 * remembered; the handle is prepared all the same, but its failure will not
 * be attributed to a node nor retried).
 */
ALT_EXTERN alt_code alt_curl_prepare(alt_lb *lb, CURL *easy);

/* alt_curl_prepare() with flags for this request (0 or ALT_IDEMPOTENT).
 * Since 0.2.0. */
ALT_EXTERN alt_code alt_curl_prepare_ex(alt_lb *lb, CURL *easy,
                                        unsigned flags);

/*
 * Tells lb how the transfer prepared on easy ended, so that a node at fault
 * is taken out of rotation. A node is at fault when it refused or reset the
 * connection, failed the TLS handshake, did not complete the TCP handshake
 * in time (a connect timeout), dropped the connection before answering, or
 * did not answer in time. Nobody is at fault for a transfer that timed out
 * while waiting for a connection slot of the caller's multi
 * (CURLMOPT_MAX_TOTAL_CONNECTIONS), for a timeout that fired well after
 * the one alt_lb_set_timeouts() gave the attempt (the loop driving it
 * stalled, or it waited for a slot first; a CURLOPT_TIMEOUT of your own
 * cannot be judged so), for a local error (EMFILE, ENFILE, out of memory),
 * or for a 4xx answer (5xx answers count as alt_lb_set_health() says).
 * With libcurl 7.x, a timeout during the TCP
 * handshake is the node's fault only when connect_ms of
 * alt_lb_set_timeouts() is what fired (a CURLOPT_CONNECTTIMEOUT of yours
 * only when 7.x reports errno ETIMEDOUT, which it does not always): 7.x
 * reports a transfer that spent its whole CURLOPT_TIMEOUT waiting for a
 * connection slot the same way. Such a request still goes elsewhere if
 * time is left. A node at
 * fault is out of rotation for a back-off (1 s, doubling per consecutive
 * fault up to 30 s), then gets one request on trial, and the next refresh
 * asks it first. Fewer than half of the listed nodes are out at once (one
 * may always be; see alt_lb_set_health()); one that fails beyond that
 * stays in rotation.
 *
 * alt_multi_info_read(), alt_curl_retry() and alt_curl_perform() call it
 * themselves. Calling it twice for one transfer, or for a handle lb never
 * prepared, is harmless - but not after alt_curl_retry() prepared the
 * handle again: the outcome would be taken for the new attempt's.
 * Thread-safe.
 */
ALT_EXTERN void alt_curl_done(alt_lb *lb, CURL *easy, CURLcode result);

/*
 * After the transfer on easy ended with result: records it (alt_curl_done())
 * and decides whether the request goes again to another node. It does when
 *  - result is a failure that sent nothing (CURLINFO_REQUEST_SIZE is 0) and
 *    is a node's fault or a connect timeout, or the request was prepared
 *    with ALT_IDEMPOTENT and the connection broke (not a timeout) after
 *    sending;
 *  - a node of the rotation has not been tried by this request yet (so
 *    every node is tried once before the failure is final, up to 16
 *    attempts);
 *  - the request timeout of alt_lb_set_timeouts(), if set, is not over.
 * Then easy is prepared for that node (CURLOPT_TIMEOUT_MS set to what is
 * left of the request timeout) and 1 is returned: run the transfer again,
 * with curl_easy_perform(), or by curl_multi_remove_handle() and
 * curl_multi_add_handle() - and count it as running in your loop. Otherwise
 * returns 0: result is final. The body must be resendable:
 * CURLOPT_POSTFIELDS (as SigV4 needs anyway), not a read callback.
 *
 * libcurl itself, with or without this library, sends a request once more
 * on a new connection when a reused connection turns out closed before any
 * answer; that is libcurl's behaviour, not a retry of this library's.
 *
 * Typical use:
 *     do result = curl_easy_perform(easy);
 *     while (alt_curl_retry(lb, easy, result));
 * or, in a completion loop (the message is gone once the handle is):
 *     CURLcode result = msg->data.result;
 *     curl_multi_remove_handle(multi, easy);
 *     if (alt_curl_retry(lb, easy, result)) {
 *         curl_multi_add_handle(multi, easy);
 *         still_running++;
 *         continue;
 *     }
 * Thread-safe as long as each thread uses its own easy handle.
 * Since 0.2.0.
 */
ALT_EXTERN int alt_curl_retry(alt_lb *lb, CURL *easy, CURLcode result);

/*
 * Easy mode: prepare, curl_easy_perform(), and alt_curl_retry() until the
 * outcome is final. Returns the result of the last attempt;
 * CURLE_BAD_FUNCTION_ARGUMENT for NULL arguments. Also sets the handle's
 * CURLOPT_MAXCONNECTS, when the number of nodes is above libcurl's default
 * (5) or alt_lb_set_maxconnects() asks, to the larger of the two, within
 * the file-descriptor limit: so that one connection per node stays in its
 * pool. Thread-safe as long as each thread uses its own easy handle.
 */
ALT_EXTERN CURLcode alt_curl_perform(alt_lb *lb, CURL *easy);

/* alt_curl_perform() with flags for this request (see alt_curl_prepare_ex).
 * Since 0.2.0. */
ALT_EXTERN CURLcode alt_curl_perform_ex(alt_lb *lb, CURL *easy,
                                        unsigned flags);

/*
 * Gives easy back: unsets what alt_curl_prepare() set on it (CURLOPT_CONNECT_TO,
 * and the SigV4 and timeout options when it set them; after
 * alt_curl_prepare_request() also CURLOPT_HTTPHEADER and
 * CURLOPT_POSTFIELDS, and the method goes back to GET) and forgets it, so
 * that lb keeps no record of it. Call it when you stop using easy with lb:
 * before curl_easy_cleanup() of a handle you will not reuse (or lb keeps
 * its small record until alt_lb_free()), and before using easy without lb.
 * No transfer may be running on easy. A handle lb never prepared is left
 * alone. Thread-safe as long as each thread uses its own easy handle.
 *
 * After alt_lb_free(), a handle lb prepared and did not release may only be
 * cleaned up (curl_easy_cleanup), reset (curl_easy_reset), or given a new
 * CURLOPT_CONNECT_TO (and, after alt_curl_prepare_request(), new
 * CURLOPT_HTTPHEADER and CURLOPT_POSTFIELDS) before its next transfer:
 * what they pointed to was freed.
 * Since 0.2.0.
 */
ALT_EXTERN void alt_curl_release(alt_lb *lb, CURL *easy);

/*
 * Request timeouts, for requests prepared from now on. request_ms bounds a
 * whole request, retries on other nodes included: its first attempt gets
 * CURLOPT_TIMEOUT_MS = request_ms, a retry gets what is left, and no retry
 * starts once it is over. connect_ms bounds each connection attempt
 * (CURLOPT_CONNECTTIMEOUT_MS), so that a node that drops SYNs costs that
 * much before the request goes elsewhere. 0 leaves the option alone.
 * Defaults: 0 and 0.
 *
 * libcurl offers no way to read an option back, so a CURLOPT_TIMEOUT you set
 * on the handle yourself bounds each attempt, not the request. Set it here
 * instead. May be called at any time, from any thread; applies to requests
 * prepared after it.
 * Errors: ALT_E_INVALID_ARG (negative, over 24 hours, or connect_ms >
 * request_ms when both are set). Since 0.2.0.
 */
ALT_EXTERN alt_code alt_lb_set_timeouts(alt_lb *lb, long request_ms,
                                        long connect_ms);

/*
 * The least connection-pool size lb leaves when it sizes a pool: the
 * attached multi's CURLMOPT_MAXCONNECTS and the CURLOPT_MAXCONNECTS of
 * handles run by alt_curl_perform(). libcurl offers no way to read those
 * options back, so if you want a pool of your own size, give it here
 * instead of setting the option yourself: lb never sets either below n,
 * nor above it when its own need is smaller. 0 (the default) means
 * libcurl's default. Errors: ALT_E_INVALID_ARG (n < 0 or over 1,000,000).
 * May be called at any time, from any thread; applies from the next time
 * lb sizes a pool.
 * Since 0.2.0.
 */
ALT_EXTERN alt_code alt_lb_set_maxconnects(alt_lb *lb, long n);

/* ------------------------------------------------------------------------ */
/* The request-aware path (since 0.4.0)                                      */
/* ------------------------------------------------------------------------ */

/*
 * Prepares easy completely for one DynamoDB request and points it at a
 * node: for programs that build the DynamoDB JSON themselves and want the
 * library to see it. Sets
 *  - CURLOPT_URL to alt_lb_url();
 *  - CURLOPT_POSTFIELDSIZE_LARGE and CURLOPT_POSTFIELDS to body (len
 *    bytes, not copied: it must stay valid and unchanged until the
 *    transfer and every retry of it are over, as for CURLOPT_POSTFIELDS;
 *    the option stays set after that, as libcurl's options do, so set
 *    your own before you reuse the handle for another request), or to a
 *    gzip copy of it owned by the handle's record when
 *    alt_lb_set_compression() says so;
 *  - CURLOPT_HTTPHEADER to the library's headers for this request -
 *    Content-Type: application/x-amz-json-1.0, X-Amz-Target, and
 *    Content-Encoding: gzip when compressed - followed by your own list
 *    of headers (may be NULL; tracing headers, for instance). Your list is
 *    linked, not copied: keep it valid and unchanged until the transfer
 *    and its retries are over (its outcome recorded: alt_multi_info_read(),
 *    alt_curl_done(), alt_curl_perform_request()); then the library's
 *    nodes no longer link it, and you may free it. Do not repeat the library's
 *    headers in it. The Accept and Expect headers libcurl would add are
 *    removed (Alternator reads neither; Expect would make libcurl wait
 *    for a 100 Continue before a body over 1 MiB);
 *  - and then everything alt_curl_prepare_ex() sets (node, SigV4,
 *    timeouts).
 * The handle keeps its other options (write callback, CURLOPT_PRIVATE, ...)
 * but must not be set up for an upload (CURLOPT_UPLOAD) or a custom method.
 *
 * operation: "PutItem" or the full "DynamoDB_20120810.PutItem" (of
 * [A-Za-z0-9_.], at most 64 characters with that prefix). Reads (GetItem,
 * BatchGetItem, Query, Scan, TransactGetItems, Describe* and List*) are
 * retried after a broken connection as if ALT_IDEMPOTENT were given; for
 * other operations flags decides, as for alt_curl_prepare_ex().
 *
 * The node: a PutItem, UpdateItem or DeleteItem that qualifies under
 * alt_lb_set_affinity() and whose table's partition key is known goes to
 * the node its key maps to (see alt_affinity), and its retries follow the
 * same plan as the other Alternator clients'. Any other request goes as
 * alt_curl_prepare() sends it. Finding the key scans the body once,
 * without building a JSON tree, and stops once it knows the table, the
 * key and (in the read-modify-write mode) that the write qualifies: with
 * the TableName before the Item/Key, the attributes after the key are
 * only skipped by their brackets, and nothing after that point is read.
 * A body without the key, or malformed where the scan reads it, goes the
 * normal way; one malformed only past that point may go to its key's
 * node. The library never rejects a body: the server judges it, wherever
 * it goes.
 *
 * Retries (alt_curl_retry(), alt_curl_perform_request()) send exactly the
 * same bytes and headers again. Everything this call allocates belongs to the
 * handle's record and is reused by the next call on the handle: the steady
 * state allocates nothing of the library's, except a larger compression
 * buffer when a body outgrows it (libcurl copies the URL string at every
 * call, and the three SigV4 strings when credentials are set).
 * alt_curl_release() frees it and unsets CURLOPT_HTTPHEADER and
 * CURLOPT_POSTFIELDS, which point into it (alt_lb_free() frees those not
 * released).
 *
 * Thread-safety and callbacks: as alt_curl_prepare(). Errors:
 * ALT_E_INVALID_ARG (NULL, bad operation, flags, body NULL with len > 0),
 * ALT_E_CURL, ALT_E_NOMEM (out of memory for the handle's record: nothing
 * is prepared, unlike alt_curl_prepare()). Out of memory for compression,
 * the body goes uncompressed. Since 0.4.0.
 */
ALT_EXTERN alt_code alt_curl_prepare_request(alt_lb *lb, CURL *easy,
                                             const char *operation,
                                             const char *body, size_t len,
                                             struct curl_slist *headers,
                                             unsigned flags);

/* alt_curl_prepare_request(), then the transfer and its retries, as
 * alt_curl_perform(): for easy mode. body and headers must stay valid
 * until it returns; after that the caller's list may be freed (the
 * handle's CURLOPT_POSTFIELDS still points at body: see
 * alt_curl_prepare_request()). Returns what alt_curl_perform() returns;
 * CURLE_BAD_FUNCTION_ARGUMENT where alt_curl_prepare_request() would give
 * ALT_E_INVALID_ARG or ALT_E_CURL, CURLE_OUT_OF_MEMORY where it would give
 * ALT_E_NOMEM. Thread-safe as long as each thread uses its own easy
 * handle; calls only the handle's own callbacks, on the calling thread.
 * Since 0.4.0. */
ALT_EXTERN CURLcode alt_curl_perform_request(alt_lb *lb, CURL *easy,
                                             const char *operation,
                                             const char *body, size_t len,
                                             struct curl_slist *headers,
                                             unsigned flags);

/*
 * Key-route affinity: which writes go to the node their partition key
 * maps to, so that the Paxos rounds of one partition's lightweight
 * transactions (conditional writes) do not contend across coordinators.
 * The choice is the one the ScyllaDB Alternator clients for Go, Java, C++
 * and the others make: for the same key and the same nodes, the same node,
 * byte for byte (Murmur3 of the key, Go's math/rand seeded with it over
 * the node URLs sorted byte-wise; nodes out of rotation after the others;
 * retries take the same generator's next nodes). Since 0.4.0.
 */
typedef enum {
    ALT_AFFINITY_NONE = 0,      /* every request goes the normal way */
    /* Writes that read before writing, which Alternator always runs as
     * LWT: PutItem and DeleteItem with a ConditionExpression, Expected or
     * ReturnValues ALL_OLD; UpdateItem with an UpdateExpression, a
     * ConditionExpression, Expected, ReturnValues other than NONE or
     * UPDATED_NEW, or AttributeUpdates with ADD or a DELETE of values.
     * The default. */
    ALT_AFFINITY_RMW = 1,
    /* Every PutItem, UpdateItem and DeleteItem (for a cluster whose
     * write isolation is always_use_lwt). */
    ALT_AFFINITY_ANY_WRITE = 2
} alt_affinity;

/* Sets the affinity mode of alt_curl_prepare_request(). Batches,
 * transactions, PartiQL and reads never qualify. May be called at any
 * time, from any thread; applies to requests prepared after it.
 * Errors: ALT_E_INVALID_ARG. Since 0.4.0. */
ALT_EXTERN alt_code alt_lb_set_affinity(alt_lb *lb, alt_affinity mode);

/*
 * The partition key's attribute name of table, for key-route affinity.
 * attribute NULL: learn it. Unless set, it is learnt anyway the first time
 * a request for table qualifies: a DescribeTable (signed with the
 * credentials of alt_lb_set_credentials(), so they need the right to
 * describe the table) runs with the next refresh - inside an attached
 * multi, on alt_lb_start()'s thread, or in alt_lb_refresh() - and its
 * KeySchema's HASH element is kept. Until it is known, that table's
 * requests go the normal way; a failed DescribeTable is tried again with
 * later refreshes, 1 s after the first failure, doubling up to 60 s.
 * Strings are copied. At most 1024 tables are remembered; requests for
 * others go the normal way. May be called at any time, from any thread.
 * Errors: ALT_E_INVALID_ARG (table NULL or not a DynamoDB table name: 3
 * to 255 of [A-Za-z0-9_.-]; attribute empty or over 255 bytes),
 * ALT_E_NOMEM, ALT_E_STATE (1024 tables known).
 * Since 0.4.0.
 */
ALT_EXTERN alt_code alt_lb_set_partition_key(alt_lb *lb, const char *table,
                                             const char *attribute);

/* Copies the partition key's attribute name of table, as set or learnt,
 * into buf (size bytes, NUL-terminated). Thread-safe. Errors:
 * ALT_E_INVALID_ARG (NULL, or size too small: nothing written),
 * ALT_E_UNKNOWN (not known yet). Since 0.4.0. */
ALT_EXTERN alt_code alt_lb_partition_key(alt_lb *lb, const char *table,
                                         char *buf, size_t size);

/*
 * Request compression of alt_curl_prepare_request(): a body of at least
 * min_bytes is sent gzip-compressed at zlib level (1..9; 0 turns
 * compression off), with Content-Encoding: gzip, and the signature covers
 * the compressed bytes, as Alternator verifies them. A body that does not
 * shrink is sent as it is. Off by default: ScyllaDB accepts compressed
 * request bodies from version 2026.1 on; older versions reject them.
 * Suggested: level 1 (see the README's figures), min_bytes 1024.
 * Configuration, like alt_lb_set_credentials(): only before lb is first
 * used. Errors: ALT_E_INVALID_ARG (level over 9), ALT_E_STATE.
 * Since 0.4.0.
 */
ALT_EXTERN alt_code alt_lb_set_compression(alt_lb *lb, int level,
                                           size_t min_bytes);

/* ------------------------------------------------------------------------ */
/* Inside the caller's curl multi loop                                       */
/* ------------------------------------------------------------------------ */

/*
 * Runs refreshes inside multi: when one is due, lb adds its own small
 * /localnodes transfer to multi, from your next alt_curl_prepare() or
 * alt_multi_info_read() on this thread (never from alt_multi_attach()
 * itself, so it may come before your callbacks are set). Works with
 * curl_multi_perform/curl_multi_poll loops and with
 * curl_multi_socket_action loops alike: the added transfer is announced
 * through your timer and socket callbacks as usual.
 *
 * The library's transfer:
 *  - has CURLINFO_PRIVATE NULL; alt_multi_is_internal() recognises it
 *    (libcurl 8.x's own internal transfers show a NULL private pointer in
 *    socket callbacks too);
 *  - never reaches you through alt_multi_info_read(), and is added only
 *    while transfers of yours run (or from alt_curl_prepare()), so a loop
 *    that stops when its own transfers are done never waits for it;
 *  - is removed by alt_multi_detach() and alt_lb_free(), which may then
 *    call your socket and timer callbacks (as curl_multi_remove_handle()
 *    does): call them while those callbacks still work, before you free
 *    your event loop.
 *
 * Connection pool: once a transfer of yours was prepared on this multi,
 * sets CURLMOPT_MAXCONNECTS to nodes x (your transfers at once + 1) + 1,
 * never below libcurl 7.88's default (4 per transfer) nor
 * alt_lb_set_maxconnects(), never above half the file-descriptor limit
 * (RLIMIT_NOFILE) otherwise, and raises it as nodes or transfers grow.
 *
 * Several alt_lb may be attached to one multi (several clusters from one
 * loop): alt_multi_info_read() of any of them hides the transfers of all
 * of them and records each outcome in the alt_lb that prepared it.
 *
 * Use alt_multi_info_read() instead of curl_multi_info_read(), and call
 * alt_multi_detach() (or alt_lb_free()) before curl_multi_cleanup(). Call
 * it, and every alt_multi_* function, from the thread that drives multi,
 * and not from inside a libcurl callback; so too alt_lb_free() of an
 * attached lb. Prepare the transfers of yours on that thread too: those
 * prepared elsewhere are not seen as running there (so refreshes wait for
 * a prepare on it), and one prepared there counts as running until its
 * completion is read, released, or prepared again.
 * Errors: ALT_E_INVALID_ARG, ALT_E_STATE (attached to another multi),
 * ALT_E_NOMEM, ALT_E_CURL.
 */
ALT_EXTERN alt_code alt_multi_attach(alt_lb *lb, CURLM *multi);

/*
 * Drop-in for curl_multi_info_read(): consumes the completions of the
 * library's own transfers, records the outcome of the caller's
 * (alt_curl_done()), and returns the next message of the caller's, or
 * NULL. Every transfer of the caller's is returned exactly once; a failure
 * worth another node is returned too, and alt_curl_retry() is how to send
 * it there. *msgs_in_queue may count a message of the library's still
 * queued; loop until NULL as usual. Starts a due refresh (see
 * alt_multi_attach()). When lb is not attached it returns NULL and sets
 * *msgs_in_queue to 0.
 */
ALT_EXTERN CURLMsg *alt_multi_info_read(alt_lb *lb, int *msgs_in_queue);

/* Whether easy is a transfer of the library's on lb's multi (of lb or of
 * another alt_lb attached to the same multi): for socket or timer
 * callbacks that look at CURLINFO_PRIVATE. 0 when lb is not attached.
 * Since 0.2.0. */
ALT_EXTERN int alt_multi_is_internal(const alt_lb *lb, const CURL *easy);

/* Removes lb's transfer from the attached multi if one is running (see
 * alt_multi_attach() for the callbacks that may fire) and forgets the
 * multi. A no-op when not attached. From the thread that drives the multi,
 * not from inside a libcurl callback. */
ALT_EXTERN void alt_multi_detach(alt_lb *lb);

#ifdef __cplusplus
}
#endif

#endif /* ALTERNATOR_LB_H */
