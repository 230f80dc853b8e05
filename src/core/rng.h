/* The library's portable pseudo-random generators, the only ones it has:
 * xoshiro256** (Blackman and Vigna, 2018) seeded through splitmix64, and the
 * splitmix64 stream of data splits. Only integer operations, so every
 * platform and compiler produces the same stream; floats are made from the
 * top 24 bits by exact integer -> float steps (docs/architecture.md,
 * "Initialisation"). */
#ifndef NERVE_SRC_RNG_H
#define NERVE_SRC_RNG_H

#include <stddef.h>
#include <stdint.h>

/* splitmix64: advances *state by the golden-ratio increment and returns the
 * mixed value (used to seed xoshiro from a single 64-bit seed). */
uint64_t rng_splitmix64(uint64_t *state);

/* Seeds the four state words with four consecutive splitmix64 outputs
 * started at `seed` (never all zero: splitmix64 is a bijection of a
 * counter, and four consecutive outputs cannot all be 0). */
void rng_seed(uint64_t s[4], uint64_t seed);

/* Next 64-bit output of xoshiro256**. */
uint64_t rng_next(uint64_t s[4]);

/* Uniform float in [-1, 1): k = top 24 bits of the next output (0 .. 2^24-1),
 * returns (2k - 2^24) * 2^-24, which is exact in float. */
float rng_uniform_pm1(uint64_t s[4]);

/* Uniform integer in [0, bound) without bias (bound >= 1): Lemire's
 * multiply-shift with rejection, on the top 32 bits when bound < 2^32. */
uint64_t rng_below(uint64_t s[4], uint64_t bound);

/* Fisher-Yates from the top: for i = n-1 down to 1, swap idx[i] with idx[j],
 * j = rng_below(s, i + 1). The epoch shuffle (src/net/batches.c). */
void rng_shuffle(uint64_t s[4], size_t *idx, size_t n);

/* The same walk drawn from a splitmix64 stream started at `seed`, each j by
 * modulo rejection (a draw below 2^64 mod (i + 1) is redrawn, then reduced
 * mod i + 1). nerve_data_split's shuffle, kept as it was in nerve 0.1 so a
 * seed splits a data set the same way in every version (the documented
 * digits figures depend on it). */
void rng_shuffle_splitmix(uint64_t seed, size_t *idx, size_t n);

#endif
