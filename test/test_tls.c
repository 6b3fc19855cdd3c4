/*
 * HTTPS: every node serves one certificate for the fake domain; the
 * library's discovery and the caller's requests verify it against that name
 * while connecting to each node's address.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <string.h>
#include <unistd.h>

static tc_cluster *cl;
static char dir[] = "/tmp/alt-tls-XXXXXX";
static char cert[64], key[64];

static alt_lb *https_lb(const char *fake, const char *ca, int verify)
{
    const char *seeds[] = {"127.0.0.1"};
    alt_lb *lb = NULL;
    REQUIRE(alt_lb_new(&lb, "https", tc_port(cl), seeds, 1) == ALT_OK);
    REQUIRE(alt_lb_set_fake_domain(lb, fake) == ALT_OK);
    REQUIRE(alt_lb_set_tls(lb, ca, verify) == ALT_OK);
    REQUIRE(alt_lb_set_discovery_timeout(lb, 1000, 2000) == ALT_OK);
    /* 10 requests per node: exact round-robin order. */
    REQUIRE(alt_lb_set_choice(lb, ALT_CHOICE_ROUND_ROBIN) == ALT_OK);
    return lb;
}

/* Discovery and requests over TLS, verified against the fake domain. */
static void verified(void)
{
    alt_lb *lb = https_lb("dog.scylladb.com", cert, 1);
    CHECK_EQ(alt_lb_refresh(lb), ALT_OK);
    CHECK_EQ(alt_lb_nodes(lb, NULL, 0), 3);
    CHECK(strncmp(alt_lb_url(lb), "https://dog.scylladb.com:", 25) == 0);
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_CAINFO, cert);
    int seen[4] = {0};
    for (int i = 0; i < 30; i++) {
        tu_reply r;
        CHECK_EQ(tu_list_tables(lb, e, &r), CURLE_OK);
        CHECK_EQ(r.status, 200);
        int idx = tu_node_index(r.ip);
        if (idx >= 1 && idx <= 3)
            seen[idx]++;
    }
    CHECK(seen[1] == 10 && seen[2] == 10 && seen[3] == 10);
    curl_easy_cleanup(e);
    alt_lb_free(lb);
}

/* A certificate that does not name the fake domain, or a CA the library
 * does not trust, fails discovery; the seeds stay in rotation. */
static void refused(void)
{
    alt_lb *lb = https_lb("other.example", cert, 1);
    CHECK_EQ(alt_lb_refresh(lb), ALT_E_UNREACHABLE);
    CHECK_EQ(alt_lb_nodes(lb, NULL, 0), 1);
    alt_lb_free(lb);

    lb = https_lb("dog.scylladb.com", NULL, 1); /* system CAs only */
    CHECK_EQ(alt_lb_refresh(lb), ALT_E_UNREACHABLE);
    CHECK_EQ(alt_lb_nodes(lb, NULL, 0), 1);
    alt_lb_free(lb);
}

/* Verification off (test clusters): discovery works with any name. */
static void unverified(void)
{
    alt_lb *lb = https_lb("other.example", NULL, 0);
    CHECK_EQ(alt_lb_refresh(lb), ALT_OK);
    CHECK_EQ(alt_lb_nodes(lb, NULL, 0), 3);
    alt_lb_free(lb);
}

int main(void)
{
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout %s "
             "-out %s -subj /CN=dog.scylladb.com "
             "-addext subjectAltName=DNS:dog.scylladb.com 2>/dev/null",
             key, cert);
    REQUIRE(system(cmd) == 0);
    curl_global_init(CURL_GLOBAL_ALL);
    char args[256];
    snprintf(args, sizeof args, "--nodes 3 --tls %s:%s", cert, key);
    cl = tu_cluster(args);
    RUN(verified);
    RUN(refused);
    RUN(unverified);
    tc_stop(cl);
    curl_global_cleanup();
    unlink(cert);
    unlink(key);
    rmdir(dir);
    return tu_finish();
}
