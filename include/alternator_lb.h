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
 * Global state: none. curl_global_init() is the caller's business and must
 * have been called before any function here is used.
 *
 * Strings passed in are copied; strings returned are owned by the library
 * and stay valid as documented at each function.
 *
 * Every function and type here exists since version 0.1.0.
 */
#ifndef ALTERNATOR_LB_H
#define ALTERNATOR_LB_H

#include <stddef.h>
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
    ALT_E_ABORTED         /* discovery: stopped by alt_lb_stop()/alt_lb_free() */
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
 * multi handle (alt_multi_detach(); that multi must still exist), and frees
 * everything. NULL is a no-op. No transfer that lb prepared may still be
 * running, and no other thread may be using lb.
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
 * Requires 0 < active_ms <= idle_ms. May be called at any time, from any
 * thread; takes effect from the next refresh on.
 * Errors: ALT_E_INVALID_ARG.
 */
ALT_EXTERN alt_code alt_lb_set_refresh_interval(alt_lb *lb, long active_ms,
                                                long idle_ms);

/*
 * Limits of one /localnodes request: connect_ms to connect (default 1000),
 * total_ms for the whole request (default 2000). A node that accepts and
 * never answers is given up on after total_ms, and the next node is asked.
 * Errors: ALT_E_INVALID_ARG (<= 0, connect_ms > total_ms), ALT_E_STATE.
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
 * with a library lock held, never from alt_curl_prepare(). */
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

/*
 * Copies up to max pointers to the addresses of the nodes currently in
 * rotation into nodes[] and returns how many there are in all (which may
 * exceed max); nodes may be NULL when max is 0. The strings are owned by
 * lb and stay valid until alt_lb_free(), with one exception: once 4096
 * distinct addresses have been seen, the record of a node long out of the
 * list is reused for a new address, and its string is freed when reused a
 * second time. Copy what you keep. Thread-safe.
 */
ALT_EXTERN size_t alt_lb_nodes(const alt_lb *lb, const char **nodes,
                               size_t max);

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
 * Thread-safe; concurrent blocking refreshes run one after another.
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

/* Stops and joins the thread started by alt_lb_start(). Returns promptly,
 * also while a refresh is waiting on a node that does not answer. A no-op
 * when not started. */
ALT_EXTERN void alt_lb_stop(alt_lb *lb);

/* ------------------------------------------------------------------------ */
/* Per request                                                               */
/* ------------------------------------------------------------------------ */

/*
 * Points easy at the next live node: sets CURLOPT_CONNECT_TO to a list owned
 * by lb and, when credentials are set, the SigV4 options. Touches no other
 * option. The list stays valid and unchanged until the transfer is over,
 * also when a refresh drops the node meanwhile (and until alt_lb_free() if
 * the transfer is never reported through alt_curl_done()).
 *
 * With credentials, libcurl copies the three SigV4 strings at every call
 * (3 small allocations, about 50 ns). Without, it does not clear SigV4
 * options set on the handle before (by you or by another alt_lb).
 *
 * Round-robin: each easy handle walks the live nodes in turn, starting one
 * node further than the handle first seen before it. So consecutive
 * requests on a handle go to different nodes, a set of handles spreads
 * over the nodes like one round-robin, and no counter is shared between
 * threads.
 * The caller sets CURLOPT_URL to alt_lb_url() (or a path below it).
 *
 * O(1) in the number of nodes; allocates nothing except the first time a
 * given easy handle is seen. Thread-safe: many threads may prepare at once,
 * each with its own handle, while a refresh replaces the list.
 *
 * When lb is attached to a multi and a refresh is due, this also adds the
 * refresh request to that multi (only from the thread that attached it;
 * inside a libcurl callback the add is deferred).
 *
 * Errors: ALT_E_INVALID_ARG, ALT_E_CURL (libcurl too old for an option),
 * ALT_E_NOMEM (first sight of a handle, out of memory or past 2^20 distinct
 * handles; the handle is prepared all the same, but its failure will not
 * be attributed to a node nor retried).
 */
ALT_EXTERN alt_code alt_curl_prepare(alt_lb *lb, CURL *easy);

/*
 * Tells lb how the transfer prepared on easy ended. A connection-level
 * failure (could not connect or resolve, connection reset or closed before
 * any response byte, connect timeout) or a timeout takes the node out of
 * rotation and brings the next refresh forward. After a back-off period
 * (1 s, doubling per consecutive failure up to 30 s) a refresh asks that
 * node first; when it answers, it is back in rotation. So no caller's
 * request is spent finding out whether it is still down.
 * HTTP statuses are not failures here. Calling it twice for one transfer,
 * or for a handle lb never prepared, is harmless. alt_multi_info_read() calls
 * it itself for every transfer it returns. Thread-safe.
 */
ALT_EXTERN void alt_curl_done(alt_lb *lb, CURL *easy, CURLcode result);

/*
 * Easy mode: prepare + curl_easy_perform + done. A connection-level failure
 * (see alt_curl_done(); not a timeout after sending, not after response
 * bytes) is retried on another node, up to the number of live nodes; the
 * body must be resendable (CURLOPT_POSTFIELDS, not a read callback). Also raises the handle's
 * CURLOPT_MAXCONNECTS to the number of live nodes (if above 5) so that one
 * connection per node stays in its pool. Returns curl_easy_perform()'s result
 * of the last try; CURLE_BAD_FUNCTION_ARGUMENT for NULL arguments.
 * Thread-safe as long as each thread uses its own easy handle.
 */
ALT_EXTERN CURLcode alt_curl_perform(alt_lb *lb, CURL *easy);

/* ------------------------------------------------------------------------ */
/* Inside the caller's curl multi loop                                       */
/* ------------------------------------------------------------------------ */

/*
 * Runs refreshes inside multi: when one is due, lb adds its own small
 * /localnodes transfer to multi (from alt_curl_prepare() or
 * alt_multi_info_read()), and the first discovery is due at once. Works with
 * curl_multi_perform/curl_multi_poll loops and with curl_multi_socket_action
 * loops alike: the added transfer is announced through the multi's timer
 * callback as usual.
 *
 * The library has no timer of its own: a due refresh starts from the
 * caller's next alt_curl_prepare() or alt_multi_info_read(). A loop that
 * sleeps with no transfer at all therefore does not refresh while idle (and
 * has nothing to balance then); the next request catches up.
 *
 * Also sets CURLMOPT_MAXCONNECTS to (live nodes x handles prepared + 1) and
 * raises it as either grows, so that connections to every node stay pooled.
 *
 * The caller must then read completions with alt_multi_info_read() instead
 * of curl_multi_info_read(), and call alt_multi_detach() (or alt_lb_free())
 * before curl_multi_cleanup(). Call it from the thread that drives multi.
 * Errors: ALT_E_INVALID_ARG, ALT_E_STATE (attached to another multi),
 * ALT_E_NOMEM, ALT_E_CURL.
 */
ALT_EXTERN alt_code alt_multi_attach(alt_lb *lb, CURLM *multi);

/*
 * Drop-in for curl_multi_info_read(): consumes the completions of lb's own
 * transfers, records the outcome of the caller's (alt_curl_done()), and
 * returns the next message of the caller's, or NULL. *msgs_in_queue may
 * count a message of lb's still queued; loop until NULL as usual. Starts a
 * due refresh. Call it only from the thread that drives the multi. When lb is
 * not attached it returns NULL and sets *msgs_in_queue to 0.
 *
 * A transfer lb prepared that failed at connection level before any
 * response byte (as retried by alt_curl_perform()) is not returned: it is
 * removed, prepared for another node and added again, up to the number of
 * live nodes in all, and returned when it ends. Its body must therefore be
 * resendable: CURLOPT_POSTFIELDS (which SigV4 signing needs anyway), not a
 * read callback. The message returned for a transfer whose retry could not
 * be started points to storage in lb, valid until the next call.
 */
ALT_EXTERN CURLMsg *alt_multi_info_read(alt_lb *lb, int *msgs_in_queue);

/* Removes lb's transfers still in the attached multi and forgets it. A no-op
 * when not attached. Call it from the thread that drives the multi. */
ALT_EXTERN void alt_multi_detach(alt_lb *lb);

#ifdef __cplusplus
}
#endif

#endif /* ALTERNATOR_LB_H */
