/*
 * What the unit tests (test/unit_*.c) share: a failure counter and CHECK(),
 * which reports a failed condition with its file and line on stderr and
 * counts it. A test's main() returns non-zero when failures is not 0.
 * (unit_oom.c has its own CHECK, which also prints the allocation number.)
 */
#ifndef ALT_TEST_UNIT_H
#define ALT_TEST_UNIT_H

#include <stdio.h>

static int failures;

#define CHECK(c)                                                          \
    do {                                                                  \
        if (!(c)) {                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,        \
                    __LINE__, #c);                                        \
            failures++;                                                   \
        }                                                                 \
    } while (0)

#endif
