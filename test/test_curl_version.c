/*
 * Which libcurl the tests run against: prints the run-time library's
 * version (curl_version_info) and the compile-time header's (LIBCURL_VERSION)
 * and fails if their major.minor.patch differ, i.e. if the test binaries
 * were built with one libcurl's headers but load another libcurl.
 *
 * With ALT_EXPECT_CURL set (e.g. "8.21.0", as test/run-curl-vendor.sh
 * does), it also fails unless the run-time version starts with that string
 * (and does not go on with a digit there: "8.2" does not match "8.21.0").
 */
#include "testutil.h"

#include <string.h>

/* The line of /proc/self/maps that maps libcurl, for the log: which file
 * was loaded. Informational; empty where there is no /proc. */
static void print_loaded_file(void)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[4096];
    if (!maps)
        return;
    while (fgets(line, sizeof line, maps)) {
        const char *path = strchr(line, '/');
        if (path && strstr(path, "libcurl")) {
            fprintf(stderr, "libcurl loaded from:  %s", path);
            break;
        }
    }
    fclose(maps);
}

static void versions(void)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    REQUIRE(v != NULL && v->version != NULL);
    unsigned run = v->version_num & 0xffffffu;
    unsigned built = (unsigned)LIBCURL_VERSION_NUM & 0xffffffu;

    fprintf(stderr, "libcurl at run time:  %s (0x%06x), %s\n", v->version, run,
            v->ssl_version ? v->ssl_version : "no TLS");
    fprintf(stderr, "libcurl headers:      %s (0x%06x)\n", LIBCURL_VERSION,
            built);
    print_loaded_file();
    /* The same numbers on stdout, for scripts. */
    printf("curl_version_info %s LIBCURL_VERSION %s\n", v->version,
           LIBCURL_VERSION);

    if (run != built)
        fprintf(stderr, "run-time libcurl %u.%u.%u is not the %u.%u.%u the "
                "tests were compiled against\n", run >> 16, (run >> 8) & 0xff,
                run & 0xff, built >> 16, (built >> 8) & 0xff, built & 0xff);
    CHECK_EQ(run, built);

    const char *expect = getenv("ALT_EXPECT_CURL");
    if (expect && *expect) {
        size_t n = strlen(expect);
        int match = strncmp(v->version, expect, n) == 0
                    && !(v->version[n] >= '0' && v->version[n] <= '9');
        fprintf(stderr, "ALT_EXPECT_CURL=%s: %s\n", expect,
                match ? "matches" : "does NOT match the run-time libcurl");
        CHECK(match);
    }
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    RUN(versions);
    curl_global_cleanup();
    return tu_finish();
}
