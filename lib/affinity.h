/*
 * affinity.h: key-route affinity, the node choice every Alternator client
 * of the fleet shares (see the note key-affinity.md): the hash of a
 * partition key value, Go's math/rand seeded by it, and the query plan the
 * Go client draws from it. Byte for byte compatible with
 * alternator-client-golang; nothing here allocates or takes a lock, and
 * every function is safe to call from any thread.
 *
 * Standalone: depends on nothing else of lib/.
 */
#ifndef ALT_AFFINITY_H
#define ALT_AFFINITY_H

#include <stddef.h>
#include <stdint.h>

/* MurmurHash3 x64_128 with seed 0, the h1 half as a signed integer. The
 * tail bytes are taken unsigned (Go's int64(byte)), unlike the token
 * function of Cassandra and ScyllaDB, which sign-extends them. */
int64_t alt__murmur3_h1(const void *data, size_t len);

/* The affinity hash of one key value: Murmur3 h1 of the type byte (1 for
 * 'S', 2 for 'N', 3 for 'B') followed by the value. The value is already
 * decoded: the unescaped UTF-8 of a string, the number text exactly as
 * written, the base64-decoded bytes of a binary. type must be one of the
 * three (another type gets no affinity: the caller decides that). */
int64_t alt__key_hash(char type, const void *value, size_t len);

/* Go's math/rand generator (rand.New(rand.NewSource(seed))), exact.
 *
 * Go seeds 607 words with ~1800 modular multiplications. The k-th draw
 * (k = 0, 1, ...) only ever reads words the seeding wrote or draws that
 * came before it, and for k < ALT__GORAND_FAST every one of those can be
 * computed on demand from a table: so a draw costs a handful of
 * multiplications and the struct holds no state but the seed and a count.
 * From draw ALT__GORAND_FAST on it needs the whole 607-word state: that
 * lives in caller-provided scratch (alt__gorand_full), attached with
 * alt__gorand_attach(). Without it such a draw returns -1 (see below).
 * A query plan of ALT__PLAN_MAX picks over fewer than 2^31 nodes reaches
 * it only after hundreds of rejected draws, each less likely than 2^-19:
 * never in practice, but alt__plan() still gets it right. */
#define ALT__GORAND_LEN 607
#define ALT__GORAND_FAST 607

/* The full generator, as Go's rngSource: also the reference the fast one
 * is tested against. ~4.9 KB. */
typedef struct alt__gorand_full {
    int tap;
    int feed;
    int64_t vec[ALT__GORAND_LEN];
} alt__gorand_full;

typedef struct alt__gorand {
    uint32_t x0;             /* the seed reduced as Go does: 1..2^31-2 */
    uint32_t draws;          /* draws taken so far */
    alt__gorand_full *full;  /* scratch for draws >= ALT__GORAND_FAST */
} alt__gorand;

/* 48271^(21+3i) mod 2^31-1: takes the reduced seed to the first of the
 * three Lehmer values seeding word i. Generated (see affinity.c); visible
 * so that the unit test can recompute it. */
extern const uint32_t alt__gorand_powers[ALT__GORAND_LEN];

void alt__gorand_seed(alt__gorand *r, int64_t seed);
/* Gives r the scratch it needs beyond ALT__GORAND_FAST draws; it must
 * outlive r's use. May be called at any point of r's stream. */
void alt__gorand_attach(alt__gorand *r, alt__gorand_full *scratch);
/* Go's Int63(): 0..2^63-1; -1 for a draw beyond the fast ones without
 * scratch attached (the draw is not consumed). */
int64_t alt__gorand_int63(alt__gorand *r);
/* Go's Intn(n) for 0 < n <= 2^31-1 (that is Int31n): 0..n-1; -1 as for
 * alt__gorand_int63, or for n <= 0. */
int32_t alt__gorand_intn(alt__gorand *r, int32_t n);

/* Go's own seeding and draws, 607 words and all: slow (microseconds). */
void alt__gorand_full_seed(alt__gorand_full *g, int64_t seed);
int64_t alt__gorand_full_int63(alt__gorand_full *g);
int32_t alt__gorand_full_intn(alt__gorand_full *g, int32_t n);

/* Most picks a plan gives (ALT_MAX_ATTEMPTS of alt_private.h). */
#define ALT__PLAN_MAX 16

/* The Go client's query plan (NewLazyQueryPlanWithSortedSeed, Next):
 * the nodes are positions, 0..n_active-1 the active nodes sorted byte-wise,
 * n_active..n_active+n_quarantined-1 the quarantined ones sorted on their
 * own. Each pick is idx = Intn(remaining) of one generator seeded with
 * seed, takes the node at idx and moves the last one into idx; every
 * active node comes before any quarantined one. Writes the first
 * min(want, total, ALT__PLAN_MAX) picks to out and returns how many.
 * Needs no memory of size n: any total below 2^31 works. */
size_t alt__plan(int64_t seed, size_t n_active, size_t n_quarantined,
                 size_t want, uint32_t *out);
/* The same with the full generator and no cap on want, but it needs
 * n_active + n_quarantined words of scratch: the reference for tests.
 * Returns 0 if the scratch is too small. */
size_t alt__plan_reference(int64_t seed, size_t n_active, size_t n_quarantined,
                           size_t want, uint32_t *out, uint32_t *scratch,
                           size_t scratch_len);
/* The first pick alone, for n_active >= 1 (the hot path): as
 * alt__plan(seed, n_active, 0, 1, &first). */
uint32_t alt__plan_first(int64_t seed, size_t n_active);

#endif
