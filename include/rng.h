/* Our own seeded random numbers, so that weights and data do not depend on the C library.
   xoshiro256** seeded through splitmix64; normals by Box-Muller in double. */
#ifndef RNG_H
#define RNG_H
#include <stdint.h>

typedef struct { uint64_t s[4]; } Rng;

void rng_seed(Rng *r, uint64_t seed);
/* An independent stream for a purpose, e.g. rng_stream(seed, "init") vs (seed, "data"). */
void rng_seed_stream(Rng *r, uint64_t seed, uint64_t stream);
uint64_t rng_next(Rng *r);
double rng_uniform(Rng *r);              /* [0, 1) with 53 random bits */
double rng_normal(Rng *r);               /* N(0, 1) */
uint32_t rng_below(Rng *r, uint32_t n);  /* uniform integer in [0, n), unbiased */
void rng_shuffle(Rng *r, int32_t *a, int n);  /* Fisher-Yates */
#endif
