/* The generator module (src/core/rng.c): both shuffles against references written
 * here from their published definitions (splitmix64: Steele, Lea, Flood
 * 2014; xoshiro256**: Blackman and Vigna 2018; Lemire's bounded draw 2019),
 * and nerve_data_split holding out exactly the rows that the splitmix64
 * shuffle of docs/architecture.md puts first. The streams are documented
 * outputs (a seed gives the same network, epoch order and data split in
 * every version), so they are checked against an independent statement of
 * them rather than against the library itself. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nerve.h"
#include "rng.h"

static uint64_t ref_splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t ref_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t ref_xoshiro(uint64_t s[4]) {
    const uint64_t result = ref_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t;
    s[3] = ref_rotl(s[3], 45);
    return result;
}

/* Lemire's nearly divisionless draw on 32-bit words (bound < 2^32). */
static uint64_t ref_lemire(uint64_t s[4], uint32_t bound) {
    for (;;) {
        const uint64_t m = (ref_xoshiro(s) >> 32) * bound;
        if ((uint32_t)m >= (uint32_t)(-bound) % bound) return m >> 32;
    }
}

Test(rng, epoch_shuffle_matches_reference) {
    const size_t n = 1000;
    size_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    uint64_t s[4], r[4], x = 12345;
    for (int i = 0; i < 4; i++) r[i] = ref_splitmix(&x);
    rng_seed(s, 12345);
    cr_assert_eq(memcmp(s, r, sizeof s), 0, "seeding differs from four splitmix64 outputs");
    for (size_t i = 0; i < n; i++) a[i] = b[i] = i;
    rng_shuffle(s, a, n);
    for (size_t i = n - 1; i > 0; i--) {
        const size_t j = (size_t)ref_lemire(r, (uint32_t)(i + 1)), t = b[i];
        b[i] = b[j], b[j] = t;
    }
    for (size_t i = 0; i < n; i++) cr_assert_eq(a[i], b[i], "position %zu", i);
    cr_assert_eq(memcmp(s, r, sizeof s), 0, "the generators drew differently");
    /* n = 0 and 1 leave the array (and the generator) alone */
    rng_shuffle(s, a, 0);
    rng_shuffle(s, a, 1);
    cr_assert_eq(memcmp(s, r, sizeof s), 0);
    free(a), free(b);
}

/* nerve_data_split(src, f, seed): the splitmix64 shuffle from `seed`, each
 * swap partner by modulo rejection; the first floor(f * n) shuffled rows
 * are held out, in that order. */
Test(rng, data_split_matches_reference) {
    const size_t n = 257;
    nerve_data *src;
    cr_assert_eq(nerve_data_create(&src, n, 1, 1, 0, "ramp"), NERVE_OK);
    for (size_t i = 0; i < n; i++) src->x[i] = (float)i, src->y[i] = 0.0f;
    size_t order[257];
    for (size_t i = 0; i < n; i++) order[i] = i;
    uint64_t x = 42;
    for (size_t i = n - 1; i > 0; i--) {
        const uint64_t bound = i + 1, threshold = (0 - bound) % bound;
        uint64_t v;
        do v = ref_splitmix(&x);
        while (v < threshold);
        const size_t j = (size_t)(v % bound), t = order[i];
        order[i] = order[j], order[j] = t;
    }
    nerve_data *rest, *held;
    cr_assert_eq(nerve_data_split(src, 0.2, 42, &rest, &held), NERVE_OK, "%s", nerve_last_error());
    const size_t nh = (size_t)floor(0.2 * (double)n);
    cr_assert_eq(held->n, nh);
    for (size_t i = 0; i < nh; i++) cr_assert_eq(held->x[i], (float)order[i], "held row %zu", i);
    for (size_t i = nh; i < n; i++)
        cr_assert_eq(rest->x[i - nh], (float)order[i], "rest row %zu", i - nh);
    nerve_data_free(src), nerve_data_free(rest), nerve_data_free(held);
}
