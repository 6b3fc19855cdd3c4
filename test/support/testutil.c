/* testutil.c: see testutil.h. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int tu_failures;

int tu_finish(void)
{
    if (tu_failures)
        fprintf(stderr, "0 passed, %d failed\n", tu_failures);
    else
        fprintf(stderr, "all checks passed\n");
    return tu_failures ? 1 : 0;
}

size_t tu_write_reply(char *data, size_t size, size_t nmemb, void *reply)
{
    tu_reply *r = reply;
    size_t n = size * nmemb;
    size_t room = sizeof r->body - 1 - r->len;
    memcpy(r->body + r->len, data, n < room ? n : room);
    r->len += n < room ? n : room;
    r->body[r->len] = '\0';
    return n;
}

void tu_setup_api(CURL *easy, const char *url, const char *op,
                  const char *json, tu_reply *reply,
                  struct curl_slist **headers)
{
    char target[128];
    snprintf(target, sizeof target, "X-Amz-Target: DynamoDB_20120810.%s", op);
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Content-Type: application/x-amz-json-1.0");
    h = curl_slist_append(h, target);
    *headers = h;
    memset(reply, 0, sizeof *reply);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(easy, CURLOPT_COPYPOSTFIELDS, json);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, tu_write_reply);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, reply);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 5000L);
}

void tu_collect(CURL *easy, tu_reply *reply)
{
    char *ip = NULL;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &reply->status);
    curl_easy_getinfo(easy, CURLINFO_PRIMARY_IP, &ip);
    snprintf(reply->ip, sizeof reply->ip, "%s", ip ? ip : "");
}

CURLcode tu_list_tables(alt_lb *lb, CURL *easy, tu_reply *reply)
{
    struct curl_slist *headers;
    tu_setup_api(easy, alt_lb_url(lb), "ListTables", "{}", reply, &headers);
    /* A read: safe to send again if a node dies while it is in flight. */
    CURLcode rc = alt_curl_perform_ex(lb, easy, ALT_IDEMPOTENT);
    tu_collect(easy, reply);
    curl_slist_free_all(headers);
    return rc;
}

CURLcode tu_plain_call(int port, const char *op, const char *json,
                       tu_reply *reply)
{
    char url[64];
    struct curl_slist *h;
    CURL *e = curl_easy_init();
    REQUIRE(e != NULL);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    tu_setup_api(e, url, op, json, reply, &h);
    CURLcode rc = curl_easy_perform(e);
    tu_collect(e, reply);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return rc;
}

long tu_stat_sum(tc_cluster *c, int n, const char *what)
{
    return tu_stat_range(c, 1, n, what);
}

long tu_stat_range(tc_cluster *c, int first, int last, const char *what)
{
    long sum = 0;
    for (int i = first; i <= last; i++) {
        long v = tc_stat(c, i, what);
        REQUIRE(v >= 0);
        sum += v;
    }
    return sum;
}

int tu_max_attempts(long long ms)
{
    int n = 1;
    long long backoff = 1000;
    while (ms >= backoff) {
        ms -= backoff;
        backoff *= 2;
        n++;
    }
    return n;
}

int tu_node_index(const char *ip)
{
    int i;
    if (sscanf(ip, "127.0.0.%d", &i) != 1)
        return -1;
    return i;
}

long long tu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tu_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void tu_log(void *userdata, alt_log_level level, const char *msg)
{
    fprintf(stderr, "  [%s %d] %s\n", userdata ? (const char *)userdata : "lb",
            (int)level, msg);
}

int tu_in_rotation(alt_lb *lb, const char *addr)
{
    char nodes[64][ALT_ADDR_MAX];
    size_t n = alt_lb_nodes(lb, nodes, 64);
    for (size_t i = 0; i < n && i < 64; i++)
        if (strcmp(nodes[i], addr) == 0)
            return 1;
    return 0;
}

char *tu_many_addresses(int k, int n)
{
    size_t cap = (size_t)n * 20 + 16, len = 0;
    char *s = malloc(cap);
    REQUIRE(s != NULL);
    s[len++] = '[';
    for (int j = 0; j < n; j++)
        len += (size_t)snprintf(s + len, cap - len, "%s\"127.%d.%d.%d\"",
                                j ? "," : "", k, j >> 8, j & 255);
    s[len++] = ']';
    s[len] = '\0';
    return s;
}

int tu_epoll_watch(int epfd, curl_socket_t s, int what)
{
    if (what == CURL_POLL_REMOVE) {
        /* The socket may be closed already: epoll dropped it then. */
        if (epoll_ctl(epfd, EPOLL_CTL_DEL, s, NULL) != 0 && errno != EBADF
            && errno != ENOENT)
            return -1;
        return 0;
    }
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.data.fd = s;
    if (what & CURL_POLL_IN)
        ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT)
        ev.events |= EPOLLOUT;
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, s, &ev) != 0
        && (errno != ENOENT || epoll_ctl(epfd, EPOLL_CTL_ADD, s, &ev) != 0))
        return -1;
    return 0;
}

int tu_epoll_select(unsigned events)
{
    int flags = 0;
    if (events & (EPOLLIN | EPOLLHUP))
        flags |= CURL_CSELECT_IN;
    if (events & EPOLLOUT)
        flags |= CURL_CSELECT_OUT;
    if (events & EPOLLERR)
        flags |= CURL_CSELECT_ERR;
    return flags;
}

tc_cluster *tu_cluster(const char *args)
{
    tc_cluster *c = tc_start(args);
    REQUIRE(c != NULL);
    return c;
}

alt_lb *tu_lb(int port, int first, int n)
{
    char addrs[64][16];
    const char *seeds[64];
    REQUIRE(n > 0 && n <= 64);
    for (int i = 0; i < n; i++)
        seeds[i] = tc_addr(first + i, addrs[i]);
    alt_lb *lb = NULL;
    REQUIRE(alt_lb_new(&lb, "http", port, seeds, (size_t)n) == ALT_OK);
    return lb;
}

static struct {
    pthread_mutex_t mu;
    char text[256 * 1024];
    size_t len;
} capture = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};

void tu_capture_log(void *userdata, alt_log_level level, const char *msg)
{
    (void)userdata;
    pthread_mutex_lock(&capture.mu);
    if (getenv("ALT_TEST_VERBOSE"))
        fprintf(stderr, "  [lb %d] %.300s\n", (int)level, msg);
    int n = snprintf(capture.text + capture.len,
                     sizeof capture.text - capture.len, "%d %s\n",
                     (int)level, msg);
    if (n > 0) {
        capture.len += (size_t)n;
        if (capture.len >= sizeof capture.text)
            capture.len = sizeof capture.text - 1;
    }
    pthread_mutex_unlock(&capture.mu);
}

void tu_log_reset(void)
{
    pthread_mutex_lock(&capture.mu);
    capture.len = 0;
    capture.text[0] = '\0';
    pthread_mutex_unlock(&capture.mu);
}

int tu_log_count(const char *needle)
{
    int n = 0;
    pthread_mutex_lock(&capture.mu);
    for (const char *p = capture.text; (p = strstr(p, needle));
         p += strlen(needle))
        n++;
    pthread_mutex_unlock(&capture.mu);
    return n;
}

void tu_log_dump(void)
{
    pthread_mutex_lock(&capture.mu);
    fprintf(stderr, "  log was:\n%.4000s\n", capture.text);
    pthread_mutex_unlock(&capture.mu);
}

struct tu_blackhole {
    int listener;
    int fillers[8];
};

/* Whether a fresh connection to addr:port completes within ms. */
static int connects_within(const struct sockaddr_in *a, int ms)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    REQUIRE(fd >= 0);
    int done = connect(fd, (const struct sockaddr *)a, sizeof *a) == 0;
    if (!done && errno == EINPROGRESS) {
        struct pollfd p = {fd, POLLOUT, 0};
        done = poll(&p, 1, ms) == 1;
    }
    close(fd);
    return done;
}

tu_blackhole *tu_blackhole_open(const char *addr, int port)
{
    tu_blackhole *b = calloc(1, sizeof *b);
    REQUIRE(b != NULL);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    REQUIRE(inet_pton(AF_INET, addr, &a.sin_addr) == 1);
    b->listener = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(b->listener >= 0);
    int one = 1;
    setsockopt(b->listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(b->listener, (struct sockaddr *)&a, sizeof a) != 0
        || listen(b->listener, 0) != 0) {
        fprintf(stderr, "tu_blackhole_open: %s:%d: %s\n", addr, port,
                strerror(errno));
        exit(1);
    }
    /* With a backlog of 0 the accept queue holds one connection; further
     * handshakes are left unanswered. Fill it, then check. */
    for (int i = 0; i < 8; i++) {
        b->fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        REQUIRE(b->fillers[i] >= 0);
        (void)connect(b->fillers[i], (struct sockaddr *)&a, sizeof a);
    }
    tu_sleep_ms(50);
    REQUIRE(!connects_within(&a, 200));
    return b;
}

void tu_blackhole_close(tu_blackhole *b)
{
    if (!b)
        return;
    for (int i = 0; i < 8; i++)
        close(b->fillers[i]);
    close(b->listener);
    free(b);
}
