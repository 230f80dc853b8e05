#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include "testutil.h"

#include <stdio.h>
#include <sys/stat.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

const size_t test_sizes[] = {0,  1,  2,  3,  7,  8,  9,  15, 16,  17, 31,
                             32, 33, 47, 48, 49, 63, 64, 65, 100, 257};
const size_t test_sizes_count = sizeof test_sizes / sizeof test_sizes[0];

size_t test_supported_isas(nerve_isa *out) {
    size_t n = 0;
    for (int i = 0; i < NERVE_ISA_COUNT; i++)
        if (nerve_isa_supported((nerve_isa)i)) out[n++] = (nerve_isa)i;
    return n;
}

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void test_fill(float *x, size_t n, uint64_t seed, float lo, float hi) {
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        double u = (double)(splitmix64(&s) >> 40) / (double)(1ull << 24);
        x[i] = (float)(lo + (hi - lo) * u);
    }
}

size_t test_first_bit_mismatch(const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0) return i;
    return SIZE_MAX;
}

uint32_t test_ulp_diff(float a, float b) {
    if (isnan(a) && isnan(b)) return 0;
    if (isnan(a) || isnan(b)) return UINT32_MAX;
    int32_t ia, ib;
    memcpy(&ia, &a, 4);
    memcpy(&ib, &b, 4);
    /* map to a monotonic integer line */
    if (ia < 0) ia = INT32_MIN - ia;
    if (ib < 0) ib = INT32_MIN - ib;
    int64_t d = (int64_t)ia - (int64_t)ib;
    if (d < 0) d = -d;
    return d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

/* Layout: [64 bytes guard][offset floats][n floats][16 floats slack]; the
 * block start is recovered by rounding p down to 64 bytes (offset < 16). */
float *test_alloc(size_t n, size_t offset) {
    if (offset >= 16) return NULL;
    size_t bytes = (n + offset + 16) * sizeof(float);
    bytes = (bytes + 63) / 64 * 64;
    char *base = aligned_alloc(64, bytes + 64);
    if (!base) return NULL;
    return (float *)(base + 64) + offset;
}

void test_free(float *p) {
    if (!p) return;
    char *aligned = (char *)((uintptr_t)p & ~(uintptr_t)63);
    free(aligned - 64);
}

int test_tmpdir_make(char *dir, size_t cap, const char *tag) {
    int n = snprintf(dir, cap, "/tmp/nerve-test-%s-XXXXXX", tag);
    return n > 0 && (size_t)n < cap && mkdtemp(dir) != NULL;
}

int test_tmpdir_remove(const char *dir) {
    char cmd[512];
    chmod(dir, 0700); /* tests may have made it read-only */
    int n = snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return n > 0 && (size_t)n < sizeof cmd && system(cmd) == 0;
}

const char *test_tmp_path(const char *dir, const char *name) {
    static _Thread_local char buf[4][512];
    static _Thread_local int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}
