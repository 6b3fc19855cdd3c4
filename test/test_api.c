/* The public API's argument checks, error texts and configuration rules. */
#include "testutil.h"

#include <stdint.h>
#include <string.h>

static const char *one[] = {"127.0.0.1"};

static void bad_arguments(void)
{
    alt_lb *lb = (alt_lb *)(uintptr_t)0x1; /* must stay untouched */
    alt_lb *const sentinel = lb;
    const char *empty[] = {""};
    const char *ported[] = {"127.0.0.1:8000"};
    const char *slash[] = {"a/b"};
    const char *space[] = {"a b"};
    const char *null_seed[] = {NULL};
    const char *bracketed[] = {"[::1]"};
    CHECK_EQ(alt_lb_new(NULL, "http", 8000, one, 1), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_new(&lb, NULL, 8000, one, 1), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_new(&lb, "ftp", 8000, one, 1), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_new(&lb, "HTTP", 8000, one, 1), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_new(&lb, "http", 0, one, 1), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_new(&lb, "http", 65536, one, 1), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_new(&lb, "http", -1, one, 1), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_new(&lb, "http", 8000, NULL, 1), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_new(&lb, "http", 8000, one, 0), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_new(&lb, "http", 8000, empty, 1), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_new(&lb, "http", 8000, ported, 1), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_new(&lb, "http", 8000, slash, 1), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_new(&lb, "http", 8000, space, 1), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_new(&lb, "http", 8000, null_seed, 1), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_new(&lb, "http", 8000, bracketed, 1), ALT_E_INVALID_ARG);
    CHECK(lb == sentinel);

    CHECK_EQ(alt_lb_set_fake_domain(NULL, "x"), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_refresh(NULL), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_start(NULL), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_curl_prepare(NULL, NULL), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_curl_perform(NULL, NULL), CURLE_BAD_FUNCTION_ARGUMENT);
    CHECK_EQ(alt_multi_attach(NULL, NULL), ALT_E_INVALID_ARG);
    CHECK(alt_multi_info_read(NULL, NULL) == NULL);
    CHECK(alt_lb_url(NULL) == NULL);
    alt_curl_done(NULL, NULL, CURLE_OK);
    alt_lb_stop(NULL);
    alt_multi_detach(NULL);
    alt_lb_free(NULL);
}

static void good_seeds(void)
{
    const char *seeds[] = {"10.0.0.1", "::1", "fe80::1", "node-1.example.com",
                           "localhost", "10.0.0.1"};
    alt_lb *lb = NULL;
    CHECK_EQ(alt_lb_new(&lb, "https", 8043, seeds, 6), ALT_OK);
    char nodes[8][ALT_ADDR_MAX];
    CHECK_EQ(alt_lb_nodes(lb, nodes, 8), 5); /* de-duplicated */
    CHECK(strcmp(alt_lb_url(lb), "https://alt.invalid:8043/") == 0);
    alt_lb_free(lb);
}

static void configuration(void)
{
    alt_lb *lb = NULL;
    REQUIRE(alt_lb_new(&lb, "http", 8000, one, 1) == ALT_OK);
    CHECK_EQ(alt_lb_set_fake_domain(lb, ""), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_fake_domain(lb, "::1"), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_fake_domain(lb, "a b"), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_fake_domain(lb, "dog.scylladb.com"), ALT_OK);
    CHECK(strcmp(alt_lb_url(lb), "http://dog.scylladb.com:8000/") == 0);
    CHECK_EQ(alt_lb_set_credentials(lb, "k", NULL, NULL), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_credentials(lb, "k", "", NULL), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_credentials(lb, "k", "s", ""), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_credentials(lb, "k", "s", NULL), ALT_OK);
    CHECK_EQ(alt_lb_set_refresh_interval(lb, 0, 10), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_refresh_interval(lb, 100, 10), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_refresh_interval(lb, 100, 1000), ALT_OK);
    CHECK_EQ(alt_lb_set_discovery_timeout(lb, 0, 10), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_discovery_timeout(lb, 20, 10), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_datacenter(lb, NULL, "r1"), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_datacenter(lb, "dc&x", NULL), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_datacenter(lb, "dc1", "rack1"), ALT_OK);

    /* Once in use, configuration is frozen but the object stays usable. */
    CURL *e = curl_easy_init();
    CHECK_EQ(alt_curl_prepare(lb, e), ALT_OK);
    CHECK_EQ(alt_lb_set_fake_domain(lb, "other.example"), ALT_E_STATE);
    CHECK_EQ(alt_lb_set_credentials(lb, "k", "s", NULL), ALT_E_STATE);
    CHECK(strcmp(alt_lb_url(lb), "http://dog.scylladb.com:8000/") == 0);
    CHECK_EQ(alt_lb_set_refresh_interval(lb, 200, 2000), ALT_OK);
    CHECK_EQ(alt_curl_prepare(lb, e), ALT_OK);
    alt_curl_done(lb, e, CURLE_OK);
    alt_curl_done(lb, e, CURLE_OK); /* twice is harmless */
    curl_easy_cleanup(e);
    alt_lb_free(lb);
}

static void request_settings(void)
{
    alt_lb *lb = NULL;
    REQUIRE(alt_lb_new(&lb, "http", 8000, one, 1) == ALT_OK);
    char buf[8];
    CHECK_EQ(alt_lb_set_affinity(lb, (alt_affinity)3), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_affinity(NULL, ALT_AFFINITY_NONE), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_affinity(lb, ALT_AFFINITY_ANY_WRITE), ALT_OK);
    CHECK_EQ(alt_lb_set_compression(lb, 10, 0), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_compression(lb, -1, 0), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_compression(lb, 6, 100), ALT_OK);
    CHECK_EQ(alt_lb_set_partition_key(lb, "ab", "pk"), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_partition_key(lb, "a/b", "pk"), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_partition_key(lb, NULL, "pk"), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_set_partition_key(lb, "users", ""), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_partition_key(lb, "users", buf, sizeof buf), ALT_E_UNKNOWN);
    CHECK_EQ(alt_lb_set_partition_key(lb, "users", "user_id"), ALT_OK);
    CHECK_EQ(alt_lb_partition_key(lb, "users", buf, 7), ALT_E_INVALID_ARG);
    CHECK_EQ(alt_lb_partition_key(lb, "users", buf, 8), ALT_OK);
    CHECK(strcmp(buf, "user_id") == 0);
    CHECK_EQ(alt_lb_set_partition_key(lb, "users", "id"), ALT_OK);
    CHECK_EQ(alt_lb_partition_key(lb, "users", buf, sizeof buf), ALT_OK);
    CHECK(strcmp(buf, "id") == 0);
    CHECK_EQ(alt_lb_set_partition_key(lb, "users", NULL), ALT_OK);
    CHECK_EQ(alt_lb_partition_key(lb, "users", buf, sizeof buf), ALT_E_UNKNOWN);
    /* 1024 tables at most. */
    alt_code rc = ALT_OK;
    for (int i = 0; i < 1100 && rc == ALT_OK; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%04d", i);
        rc = alt_lb_set_partition_key(lb, name, "k");
        if (rc != ALT_OK)
            CHECK_EQ(i, 1023); /* "users" is one */
    }
    CHECK_EQ(rc, ALT_E_STATE);
    CHECK_EQ(alt_lb_set_partition_key(lb, "users", "again"), ALT_OK);

    CURL *e = curl_easy_init();
    REQUIRE(e);
    CHECK_EQ(alt_curl_prepare_request(lb, e, "", "{}", 2, NULL, 0),
             ALT_E_INVALID_ARG);
    CHECK_EQ(alt_curl_prepare_request(lb, e, "Put\nItem", "{}", 2, NULL, 0),
             ALT_E_INVALID_ARG);
    CHECK_EQ(alt_curl_prepare_request(lb, e, NULL, "{}", 2, NULL, 0),
             ALT_E_INVALID_ARG);
    CHECK_EQ(alt_curl_prepare_request(lb, e, "PutItem", "{}", 2, NULL, 2),
             ALT_E_INVALID_ARG);
    char longop[80];
    memset(longop, 'A', 60);
    longop[60] = '\0'; /* with DynamoDB_20120810. over 64 */
    CHECK_EQ(alt_curl_prepare_request(lb, e, longop, "{}", 2, NULL, 0),
             ALT_E_INVALID_ARG);
    CHECK_EQ(alt_curl_prepare_request(lb, e, "PutItem", "{}", 2, NULL, 0),
             ALT_OK);
    CHECK_EQ(alt_lb_set_compression(lb, 1, 100), ALT_E_STATE);
    alt_curl_release(lb, e);
    curl_easy_cleanup(e);
    alt_lb_free(lb);
}

static void strings(void)
{
    for (int c = ALT_OK; c <= ALT_E_UNKNOWN; c++) {
        const char *s = alt_strerror((alt_code)c);
        CHECK(s && *s && strcmp(s, "unknown alt_code") != 0);
    }
    CHECK(strcmp(alt_strerror((alt_code)999), "unknown alt_code") == 0);
    CHECK(strcmp(alt_version(), ALT_VERSION_STR) == 0);
    CHECK(ALT_VERSION_NUM == ((ALT_VERSION_MAJOR << 16)
                              | (ALT_VERSION_MINOR << 8) | ALT_VERSION_PATCH));
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    RUN(bad_arguments);
    RUN(good_seeds);
    RUN(configuration);
    RUN(request_settings);
    RUN(strings);
    curl_global_cleanup();
    return tu_finish();
}
