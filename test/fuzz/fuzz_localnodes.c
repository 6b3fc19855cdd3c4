/*
 * Fuzz target for the parser of untrusted input: a /localnodes answer body.
 * Built with clang -fsanitize=fuzzer when ALT_FUZZ=ON; otherwise linked with
 * fuzz_replay.c, which runs it over the corpus and over bounded random
 * mutations of it as an ordinary test.
 */
#include "../../lib/alt_private.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static alt_lb *lb;
    if (!lb) {
        const char *seeds[] = {"127.0.0.1"};
        if (alt_lb_new(&lb, "http", 8000, seeds, 1) != ALT_OK)
            abort();
    }
    alt__node *out[64];
    size_t n = 0;
    alt_code rc = alt__parse_nodes(lb, (const char *)data, size, out, 64, &n);
    /* Whatever comes in: an answer either fails and yields nothing, or
     * yields valid, distinct, interned addresses. */
    if (rc != ALT_OK && n != 0)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (!alt__valid_host(out[i]->addr, strlen(out[i]->addr), true))
            abort();
        for (size_t j = 0; j < i; j++)
            if (out[i] == out[j])
                abort();
    }
    return 0;
}
