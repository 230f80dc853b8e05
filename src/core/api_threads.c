/* The library's thread count (nerve_set_num_threads / nerve_get_num_threads)
 * and the argument checks and thread policy of the public kernels (api.h). */
#include "api.h"

#include <omp.h>
#include <stdatomic.h>
#include <stdint.h>

#include "error.h"

static atomic_int lib_threads;           /* 0: OpenMP's default */
static atomic_size_t grain_scale = 1024; /* tests only: api_set_grain_scale */

nerve_status nerve_set_num_threads(int nthreads) {
    CHECK_ARG(nthreads >= 0,
              "nerve_set_num_threads: %d threads (expected >= 1, or 0 for OpenMP's "
              "default)",
              nthreads);
    atomic_store(&lib_threads, nthreads);
    return NERVE_OK;
}

int lib_max_threads(void) {
    const int t = atomic_load(&lib_threads);
    if (t > 0) return t;
    const int o = omp_get_max_threads();
    return o < 1 ? 1 : o;
}

int nerve_get_num_threads(void) { return lib_max_threads(); }

size_t api_set_grain_scale(size_t scale) {
    return atomic_exchange(&grain_scale, scale ? scale : 1024);
}

int api_threads(size_t work, size_t grain) {
    if (omp_in_parallel()) return 1;
    const int max = lib_max_threads();
    if (max <= 1) return 1;
    size_t g = grain / 1024 * atomic_load(&grain_scale);
    if (g < 1) g = 1;
    const size_t useful = work / g;
    if (useful <= 1) return 1;
    return useful < (size_t)max ? (int)useful : max;
}

nerve_status api_check_matrix(const char *fn, const char *name, const void *p, size_t rows,
                              size_t cols, size_t ld) {
    CHECK_ARG(ld >= cols, "%s: leading dimension of %s is %zu, less than its %zu columns", fn, name,
              ld, cols);
    if (rows == 0 || cols == 0) return NERVE_OK;
    CHECK_ARG(p != NULL, "%s: %s is NULL", fn, name);
    const size_t lim = SIZE_MAX / sizeof(float);
    CHECK_ARG(cols <= lim && rows - 1 <= (lim - cols) / ld,
              "%s: %s of %zu rows x %zu (leading dimension %zu) overflows the address space", fn,
              name, rows, cols, ld);
    return NERVE_OK;
}

nerve_status api_check_vector(const char *fn, const char *name, const void *p, size_t n) {
    if (n == 0) return NERVE_OK;
    CHECK_ARG(p != NULL, "%s: %s is NULL", fn, name);
    CHECK_ARG(n <= SIZE_MAX / sizeof(float), "%s: %s of %zu floats overflows the address space", fn,
              name, n);
    return NERVE_OK;
}

nerve_status api_check_act(const char *fn, nerve_act act) {
    CHECK_ARG((unsigned)act < NERVE_ACT_COUNT, "%s: unknown activation %d (expected 0..%d)", fn,
              (int)act, NERVE_ACT_COUNT - 1);
    return NERVE_OK;
}
