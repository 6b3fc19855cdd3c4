/*
 * Test driver for the local Alternator stand-in cluster.  See cluster.h.
 */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define TC_START_TIMEOUT_MS 15000
#define TC_CMD_TIMEOUT_MS 30000
#define TC_STOP_TIMEOUT_MS 5000

struct tc_cluster {
    pid_t pid;
    int in_fd;   /* write end: child's stdin */
    int out_fd;  /* read end: child's stdout */
    int port;
    int control;
    char *buf;   /* bytes read from the child, not yet consumed */
    size_t blen, bcap;
    char *line;  /* last line read */
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

/* Reads one line (without '\n') into c->line, waiting at most timeout_ms.
 * Returns 0, or -1 on EOF/error/timeout. */
static int read_line(tc_cluster *c, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        char *nl = c->blen ? memchr(c->buf, '\n', c->blen) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - c->buf);
            char *l = malloc(n + 1);
            if (!l)
                return -1;
            memcpy(l, c->buf, n);
            l[n] = '\0';
            if (n && l[n - 1] == '\r')
                l[n - 1] = '\0';
            memmove(c->buf, nl + 1, c->blen - n - 1);
            c->blen -= n + 1;
            free(c->line);
            c->line = l;
            return 0;
        }
        long long left = deadline - now_ms();
        if (left <= 0) {
            fprintf(stderr, "tc: timed out waiting for the cluster\n");
            return -1;
        }
        struct pollfd p = { c->out_fd, POLLIN, 0 };
        int r = poll(&p, 1, (int)left);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            continue;
        if (c->bcap - c->blen < 4096) {
            size_t ncap = c->bcap ? c->bcap * 2 : 8192;
            char *nb = realloc(c->buf, ncap);
            if (!nb)
                return -1;
            c->buf = nb;
            c->bcap = ncap;
        }
        ssize_t got = read(c->out_fd, c->buf + c->blen, c->bcap - c->blen);
        if (got < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        if (got == 0) {
            fprintf(stderr, "tc: the cluster closed its output (exited?)\n");
            return -1;
        }
        c->blen += (size_t)got;
    }
}

static int write_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Splits `args` into words (quotes group, no escapes).  Returns a
 * NULL-terminated array of malloc'ed strings after `nfixed` empty slots. */
static char **split_args(const char *args, int nfixed, int *count)
{
    size_t cap = (size_t)nfixed + 2 + (args ? strlen(args) / 2 + 1 : 0);
    char **v = calloc(cap, sizeof *v);
    int n = nfixed;
    if (!v)
        return NULL;
    const char *p = args ? args : "";
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        char *w = malloc(strlen(p) + 1);
        size_t k = 0;
        if (!w)
            break;
        while (*p && *p != ' ' && *p != '\t') {
            if (*p == '"' || *p == '\'') {
                char q = *p++;
                while (*p && *p != q)
                    w[k++] = *p++;
                if (*p)
                    p++;
            } else {
                w[k++] = *p++;
            }
        }
        w[k] = '\0';
        v[n++] = w;
    }
    v[n] = NULL;
    *count = n;
    return v;
}

static void free_args(char **v, int from, int n)
{
    if (!v)
        return;
    for (int i = from; i < n; i++)
        free(v[i]);
    free(v);
}

static int parse_kv(const char *line, const char *key)
{
    const char *p = strstr(line, key);
    if (!p)
        return -1;
    return atoi(p + strlen(key));
}

tc_cluster *tc_start(const char *args)
{
    const char *dir = getenv("ALT_CLUSTER_DIR");
#ifdef TC_CLUSTER_DIR
    if (!dir || !*dir)
        dir = TC_CLUSTER_DIR;
#endif
    if (!dir || !*dir) {
        fprintf(stderr, "tc_start: set ALT_CLUSTER_DIR or compile with -DTC_CLUSTER_DIR=\"...\"\n");
        return NULL;
    }
    const char *nodebin = getenv("ALT_CLUSTER_NODE");
    if (!nodebin || !*nodebin)
        nodebin = "node";

    size_t slen = strlen(dir) + sizeof "/alternator-cluster.js";
    char *script = malloc(slen);
    if (!script)
        return NULL;
    snprintf(script, slen, "%s/alternator-cluster.js", dir);
    if (access(script, R_OK) != 0) {
        fprintf(stderr, "tc_start: cannot read %s: %s\n", script, strerror(errno));
        free(script);
        return NULL;
    }

    int argc = 0;
    char **argv = split_args(args, 2, &argc);
    if (!argv) {
        free(script);
        return NULL;
    }
    argv[0] = (char *)nodebin;
    argv[1] = script;

    /* A dead cluster must not kill the test through SIGPIPE. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
        sa.sa_handler = SIG_IGN;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0;
        sigaction(SIGPIPE, &sa, NULL);
    }

    int in[2], out[2];
    if (pipe(in) != 0) {
        perror("tc_start: pipe");
        free(script);
        free_args(argv, 2, argc);
        return NULL;
    }
    if (pipe(out) != 0) {
        perror("tc_start: pipe");
        close(in[0]);
        close(in[1]);
        free(script);
        free_args(argv, 2, argc);
        return NULL;
    }
    /* Our ends must not leak into other children (they would keep the
     * cluster's stdin open). */
    set_cloexec(in[1]);
    set_cloexec(out[0]);

    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("tc_start: fork");
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        free(script);
        free_args(argv, 2, argc);
        return NULL;
    }
    if (pid == 0) {
#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
        if (getppid() != parent)
            _exit(127);
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
            _exit(127);
        long maxfd = sysconf(_SC_OPEN_MAX);
        if (maxfd < 0 || maxfd > 4096)
            maxfd = 4096;
        for (int fd = 3; fd < maxfd; fd++)
            close(fd);
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], argv);
        fprintf(stderr, "tc_start: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    free(script);
    free_args(argv, 2, argc);

    tc_cluster *c = calloc(1, sizeof *c);
    if (!c) {
        close(in[1]);
        close(out[0]);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return NULL;
    }
    c->pid = pid;
    c->in_fd = in[1];
    c->out_fd = out[0];

    long long deadline = now_ms() + TC_START_TIMEOUT_MS;
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0 || read_line(c, (int)left) != 0) {
            fprintf(stderr, "tc_start: the cluster did not become ready\n");
            tc_stop(c);
            return NULL;
        }
        if (strncmp(c->line, "READY ", 6) == 0)
            break;
    }
    c->port = parse_kv(c->line, " port=");
    c->control = parse_kv(c->line, " control=");
    if (c->port <= 0) {
        fprintf(stderr, "tc_start: bad READY line: %s\n", c->line);
        tc_stop(c);
        return NULL;
    }
    return c;
}

int tc_port(const tc_cluster *c)
{
    return c ? c->port : -1;
}

int tc_control_port(const tc_cluster *c)
{
    return c ? c->control : -1;
}

const char *tc_addr(int i, char buf[16])
{
    snprintf(buf, 16, "127.0.0.%d", i & 255);
    return buf;
}

/* Sends a command and reads its reply into c->line. */
static int vcmd(tc_cluster *c, const char *fmt, va_list ap)
{
    if (!c || c->in_fd < 0)
        return -1;
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return -1;
    char *s = malloc((size_t)n + 2);
    if (!s)
        return -1;
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    if (memchr(s, '\n', (size_t)n)) {
        fprintf(stderr, "tc_cmd: a command cannot contain a newline\n");
        free(s);
        return -1;
    }
    s[n] = '\n';
    s[n + 1] = '\0';
    int r = write_all(c->in_fd, s, (size_t)n + 1);
    free(s);
    if (r != 0 || read_line(c, TC_CMD_TIMEOUT_MS) != 0)
        return -1;
    return strncmp(c->line, "OK", 2) == 0 && (c->line[2] == '\0' || c->line[2] == ' ') ? 0 : -1;
}

int tc_cmd(tc_cluster *c, char *reply, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vcmd(c, fmt, ap);
    va_end(ap);
    if (reply && len) {
        const char *l = (c && c->line) ? c->line : "";
        if (r != 0 && (!c || !c->line))
            l = "ERR I/O failure";
        size_t n = strlen(l);
        if (n >= len)
            n = len - 1;
        memcpy(reply, l, n);
        reply[n] = '\0';
    }
    return r;
}

static int do_cmd(tc_cluster *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vcmd(c, fmt, ap);
    va_end(ap);
    return r;
}

long tc_stat(tc_cluster *c, int i, const char *what)
{
    if (!c || !what || do_cmd(c, "stats") != 0)
        return -1;
    char key[32];
    snprintf(key, sizeof key, "{\"i\":%d,", i);
    const char *o = strstr(c->line, key);
    if (!o)
        return -1;
    const char *end = strchr(o, '}');
    if (!end)
        return -1;
    size_t wl = strlen(what);
    for (const char *p = o; p && p < end; p = strchr(p + 1, '"')) {
        if (p[0] == '"' && strncmp(p + 1, what, wl) == 0 && p[1 + wl] == '"' && p[2 + wl] == ':') {
            const char *v = p + 3 + wl;
            if (strncmp(v, "true", 4) == 0)
                return 1;
            if (strncmp(v, "false", 5) == 0)
                return 0;
            char *e;
            long x = strtol(v, &e, 10);
            return e == v ? -1 : x;
        }
    }
    return -1;
}

void tc_stop(tc_cluster *c)
{
    if (!c)
        return;
    if (c->in_fd >= 0) {
        (void)write_all(c->in_fd, "quit\n", 5);
        close(c->in_fd);  /* EOF: exits even if quit was not read */
        c->in_fd = -1;
    }
    if (c->pid > 0) {
        long long deadline = now_ms() + TC_STOP_TIMEOUT_MS;
        int done = 0;
        while (!done) {
            pid_t r = waitpid(c->pid, NULL, WNOHANG);
            if (r == c->pid || (r < 0 && errno != EINTR)) {
                done = 1;
                break;
            }
            if (now_ms() >= deadline)
                break;
            struct timespec ts = { 0, 10 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
        if (!done) {
            fprintf(stderr, "tc_stop: cluster did not exit, killing it\n");
            kill(c->pid, SIGKILL);
            while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR) {
            }
        }
    }
    if (c->out_fd >= 0)
        close(c->out_fd);
    free(c->buf);
    free(c->line);
    free(c);
}
