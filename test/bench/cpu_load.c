#define _GNU_SOURCE
#include "cpu_load.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double ticks_to_s(unsigned long long ticks)
{
    static long hz;
    if (!hz)
        hz = sysconf(_SC_CLK_TCK);
    return (double)ticks / (double)(hz > 0 ? hz : 100);
}

/* utime + stime of /proc/PID/stat. */
static double proc_cpu_s(const char *path)
{
    char buf[1024];
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* after the command name */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                     &ut, &st) != 2)
        return 0;
    return ticks_to_s(ut + st);
}

void cpu_snap(struct cpu_snap *s, int cpu, const pid_t *srv, int nsrv)
{
    struct timespec ts;
    memset(s, 0, sizeof *s);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    s->t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    FILE *f = fopen("/proc/stat", "r");
    if (f) {
        char want[16], line[256];
        if (cpu >= 0)
            snprintf(want, sizeof want, "cpu%d ", cpu);
        else
            snprintf(want, sizeof want, "cpu ");
        size_t wl = strlen(want);
        while (fgets(line, sizeof line, f)) {
            unsigned long long v[8] = {0};
            if (strncmp(line, want, wl) != 0)
                continue;
            /* user nice system idle iowait irq softirq steal */
            if (sscanf(line + wl, "%llu %llu %llu %llu %llu %llu %llu %llu",
                       &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
                       &v[7]) == 8)
                s->busy = ticks_to_s(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
            break;
        }
        fclose(f);
    }
    s->mine = proc_cpu_s("/proc/self/stat");
    for (int i = 0; i < nsrv; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)srv[i]);
        s->srv += proc_cpu_s(path);
    }
}

double foreign_load(const struct cpu_snap *a, const struct cpu_snap *b)
{
    double wall = (double)(b->t - a->t) / 1e9;
    double other = (b->busy - a->busy) - (b->mine - a->mine) - (b->srv - a->srv);
    return wall > 0 ? (other > 0 ? other : 0) / wall : 0;
}
