#define _GNU_SOURCE
#include "bench_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *prog_name = "bench";
static int first_arg_index = 1;
static void (*die_hook)(void);

void bench_init(const char *prog, int first_arg, void (*at_die)(void))
{
    prog_name = prog;
    first_arg_index = first_arg;
    die_hook = at_die;
}

void die(const char *what)
{
    fprintf(stderr, "%s: %s\n", prog_name, what);
    if (die_hook)
        die_hook();
    exit(2);
}

bool pin_self(int cpu)
{
    if (cpu < 0)
        return false;
    int rc = EINVAL;
    if (cpu < CPU_SETSIZE) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    }
    if (rc != 0)
        fprintf(stderr, "%s: cannot pin to CPU %d: %s\n", prog_name, cpu,
                strerror(rc));
    return rc == 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define MEDIAN_MAX 64

double median(const double *v, int n)
{
    double s[MEDIAN_MAX];
    if (n <= 0)
        return 0;
    if (n > MEDIAN_MAX)
        n = MEDIAN_MAX;
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

const char *arg(int argc, char **argv, const char *key, const char *def)
{
    size_t len = strlen(key);
    for (int i = first_arg_index; i < argc; i++)
        if (strncmp(argv[i], key, len) == 0 && argv[i][len] == '=')
            return argv[i] + len + 1;
    return def;
}

long arg_long(int argc, char **argv, const char *key, long def)
{
    const char *v = arg(argc, argv, key, NULL);
    return v ? strtol(v, NULL, 10) : def;
}

int parse_list(const char *s, long *out, int max)
{
    int n = 0;
    while (s && *s && n < max) {
        char *end;
        out[n++] = strtol(s, &end, 10);
        s = *end == ',' ? end + 1 : NULL;
    }
    return n;
}

#define PIDS_MAX 64

int parse_pids(const char *s, pid_t *out, int max)
{
    long v[PIDS_MAX];
    int n = parse_list(s, v, max < PIDS_MAX ? max : PIDS_MAX);
    for (int i = 0; i < n; i++)
        out[i] = (pid_t)v[i];
    return n;
}

static void *responder_main(void *p)
{
    struct responder *r = p;
    while (!atomic_load(&r->stop)) {
        struct pollfd pf = {r->fd, POLLIN, 0};
        if (poll(&pf, 1, 100) <= 0)
            continue;
        int c = accept(r->fd, NULL, NULL);
        if (c < 0)
            continue;
        char buf[4096];
        size_t got = 0;
        uint64_t until = now_ns() + 2000000000u;
        while (got < sizeof buf - 1 && now_ns() < until) {
            struct pollfd q = {c, POLLIN, 0};
            if (poll(&q, 1, 100) <= 0)
                continue;
            ssize_t n = recv(c, buf + got, sizeof buf - 1 - got, 0);
            if (n <= 0)
                break;
            got += (size_t)n;
            buf[got] = '\0';
            if (strstr(buf, "\r\n\r\n"))
                break;
        }
        const char *body = atomic_load(&r->body);
        char head[256];
        int hl = snprintf(head, sizeof head,
                          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                          strlen(body));
        if (send(c, head, (size_t)hl, MSG_NOSIGNAL) == hl)
            (void)!send(c, body, strlen(body), MSG_NOSIGNAL);
        close(c);
    }
    return NULL;
}

void responder_start(struct responder *r, const char *body)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (r->fd < 0 || bind(r->fd, (struct sockaddr *)&a, sizeof a) != 0
        || listen(r->fd, 16) != 0
        || getsockname(r->fd, (struct sockaddr *)&a, &len) != 0)
        die("responder: cannot listen on 127.0.0.1");
    r->port = ntohs(a.sin_port);
    atomic_store(&r->stop, false);
    atomic_store(&r->body, body);
    if (pthread_create(&r->thread, NULL, responder_main, r) != 0)
        die("responder: pthread_create");
}

void responder_stop(struct responder *r)
{
    atomic_store(&r->stop, true);
    pthread_join(r->thread, NULL);
    close(r->fd);
}
