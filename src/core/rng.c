/* xoshiro256** and splitmix64; see rng.h. */
#include "rng.h"

uint64_t rng_splitmix64(uint64_t *state) {
    /* Constants of splitmix64 (Steele, Lea, Flood 2014): the increment is
     * 2^64 / golden ratio, the multipliers are Stafford's "mix13". */
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void rng_seed(uint64_t s[4], uint64_t seed) {
    uint64_t st = seed;
    for (int i = 0; i < 4; i++) s[i] = rng_splitmix64(&st);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_next(uint64_t s[4]) {
    /* xoshiro256** 1.0: scrambler (rotl(s1 * 5, 7) * 9), shifts 17 and 45. */
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float rng_uniform_pm1(uint64_t s[4]) {
    const int64_t k = (int64_t)(rng_next(s) >> 40); /* 0 .. 2^24 - 1 */
    /* 2k - 2^24 lies in [-2^24, 2^24 - 2]: an integer of at most 25 bits
     * whose lowest bit is 0, so it is exact in a 24-bit float mantissa; the
     * scale by 2^-24 is exact too. */
    return (float)(2 * k - (1 << 24)) * 0x1p-24f;
}

uint64_t rng_below(uint64_t s[4], uint64_t bound) {
    if (bound <= 1) return 0;
    if (bound <= UINT32_MAX) {
        /* Lemire 2019: m = x * bound (x 32 bits); reject the low part below
         * 2^32 mod bound so every result has the same number of preimages. */
        const uint64_t b = bound;
        const uint64_t threshold = (uint64_t)(-(uint32_t)b) % b; /* 2^32 mod bound */
        for (;;) {
            const uint64_t x = rng_next(s) >> 32;
            const uint64_t m = x * b;
            if ((m & 0xFFFFFFFFull) >= threshold) return m >> 32;
        }
    }
    /* Huge bounds: plain rejection on the smallest power-of-two mask. */
    uint64_t mask = bound - 1;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    for (;;) {
        const uint64_t x = rng_next(s) & mask;
        if (x < bound) return x;
    }
}

void rng_shuffle(uint64_t s[4], size_t *idx, size_t n) {
    for (size_t i = n; i-- > 1;) {
        const size_t j = (size_t)rng_below(s, (uint64_t)i + 1);
        const size_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

/* Uniform in [0, bound) by rejection: draws below 2^64 mod bound are
 * redrawn, so every residue is equally likely. */
static uint64_t splitmix_below(uint64_t *state, uint64_t bound) {
    const uint64_t threshold = (0 - bound) % bound;
    for (;;) {
        const uint64_t r = rng_splitmix64(state);
        if (r >= threshold) return r % bound;
    }
}

void rng_shuffle_splitmix(uint64_t seed, size_t *idx, size_t n) {
    uint64_t st = seed;
    for (size_t i = n; i-- > 1;) {
        const size_t j = (size_t)splitmix_below(&st, (uint64_t)i + 1);
        const size_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}
