/* Run-time choice of the kernel table.
 *
 * Tables are ordered by level within one architecture (x86-64: scalar <
 * avx2 < avx512; AArch64: scalar < neon). At first use (pthread_once) the CPU
 * is detected, NERVE_MAX_ISA read, and the best supported table not above the
 * cap becomes active. nerve_set_max_isa() re-selects later. */
#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cpu_internal.h"
#include "error.h"
#include "table.h"
#include "private_abi.h"

static const char *const isa_names[NERVE_ISA_COUNT] = {"scalar", "avx2", "avx512", "neon"};
/* Level within its architecture; only compared between ISAs of one arch. */
static const int isa_level[NERVE_ISA_COUNT] = {0, 1, 2, 1};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static nerve_cpu_features features;
static const kernel_table *tables[NERVE_ISA_COUNT]; /* supported tables, else NULL */
static _Atomic(const kernel_table *) active_table;
static pthread_mutex_t reason_lock = PTHREAD_MUTEX_INITIALIZER;
static char reason[256];
static nerve_isa best_isa;

static bool isa_of_this_arch(nerve_isa isa) {
#if defined(__x86_64__)
    return isa == NERVE_ISA_SCALAR || isa == NERVE_ISA_AVX2 || isa == NERVE_ISA_AVX512;
#elif defined(__aarch64__)
    return isa == NERVE_ISA_SCALAR || isa == NERVE_ISA_NEON;
#else
    return isa == NERVE_ISA_SCALAR;
#endif
}

static const kernel_table *compiled_table(nerve_isa isa) {
    switch (isa) {
    case NERVE_ISA_SCALAR:
        return &kernels_scalar;
#if defined(NERVE_HAVE_AVX2)
    case NERVE_ISA_AVX2:
        return &kernels_avx2;
#endif
#if defined(NERVE_HAVE_AVX512)
    case NERVE_ISA_AVX512:
        return &kernels_avx512;
#endif
#if defined(NERVE_HAVE_NEON)
    case NERVE_ISA_NEON:
        return &kernels_neon;
#endif
    default:
        return NULL;
    }
}

/* The best supported ISA whose level is not above cap's. */
static nerve_isa pick(nerve_isa cap) {
    nerve_isa best = NERVE_ISA_SCALAR;
    if (!isa_of_this_arch(cap)) return best;
    for (int i = 0; i < NERVE_ISA_COUNT; i++) {
        nerve_isa isa = (nerve_isa)i;
        if (tables[i] && isa_of_this_arch(isa) && isa_level[i] <= isa_level[cap] &&
            isa_level[i] > isa_level[best])
            best = isa;
    }
    return best;
}

static void activate(nerve_isa isa, const char *why) {
    atomic_store(&active_table, tables[isa]);
    pthread_mutex_lock(&reason_lock);
    snprintf(reason, sizeof reason, "%s (%s; best supported %s)", isa_names[isa], why,
             isa_names[best_isa]);
    pthread_mutex_unlock(&reason_lock);
}

static void init(void) {
    cpu_detect(&features);
    for (int i = 0; i < NERVE_ISA_COUNT; i++) {
        const kernel_table *t = compiled_table((nerve_isa)i);
        tables[i] = (t && cpu_can_run(&features, (nerve_isa)i)) ? t : NULL;
    }
    best_isa = pick(
#if defined(__x86_64__)
        NERVE_ISA_AVX512
#elif defined(__aarch64__)
        NERVE_ISA_NEON
#else
        NERVE_ISA_SCALAR
#endif
    );

    const char *env = getenv("NERVE_MAX_ISA");
    char why[160] = "no cap";
    nerve_isa chosen = best_isa;
    if (env && *env) {
        nerve_isa cap;
        if (nerve_isa_from_name(env, &cap) != NERVE_OK) {
            fprintf(stderr,
                    "nerve: NERVE_MAX_ISA='%s' is not one of scalar, avx2, avx512, neon; "
                    "ignoring it\n",
                    env);
            snprintf(why, sizeof why, "NERVE_MAX_ISA='%.64s' not recognised, ignored", env);
        } else {
            chosen = pick(cap);
            if (!isa_of_this_arch(cap))
                snprintf(why, sizeof why, "NERVE_MAX_ISA=%s is not an ISA of this CPU architecture",
                         isa_names[cap]);
            else
                snprintf(why, sizeof why, "capped by NERVE_MAX_ISA=%s", isa_names[cap]);
        }
    }
    activate(chosen, why);
    const char *verbose = getenv("NERVE_VERBOSE");
    if (verbose && *verbose && strcmp(verbose, "0") != 0)
        fprintf(stderr, "nerve: cpu '%s', using %s kernels: %s\n", features.model,
                isa_names[chosen], reason); /* inside pthread_once: nobody else writes it */
}

static void ensure_init(void) { pthread_once(&init_once, init); }

const nerve_cpu_features *nerve_cpu_features_get(void) {
    ensure_init();
    return &features;
}

const char *nerve_isa_name(nerve_isa isa) {
    if ((unsigned)isa >= NERVE_ISA_COUNT) return "unknown";
    return isa_names[isa];
}

nerve_status nerve_isa_from_name(const char *name, nerve_isa *out) {
    CHECK_ARG(name != NULL && out != NULL, "nerve_isa_from_name: null argument");
    for (int i = 0; i < NERVE_ISA_COUNT; i++) {
        if (strcasecmp(name, isa_names[i]) == 0) {
            *out = (nerve_isa)i;
            return NERVE_OK;
        }
    }
    return error_set(NERVE_EINVAL, "unknown ISA '%.64s' (expected scalar, avx2, avx512 or neon)",
                     name);
}

bool nerve_isa_supported(nerve_isa isa) {
    ensure_init();
    return (unsigned)isa < NERVE_ISA_COUNT && tables[isa] != NULL;
}

nerve_isa nerve_isa_best(void) {
    ensure_init();
    return best_isa;
}

nerve_isa nerve_isa_active(void) {
    ensure_init();
    return atomic_load(&active_table)->isa;
}

nerve_status nerve_set_max_isa(nerve_isa cap) {
    CHECK_ARG((unsigned)cap < NERVE_ISA_COUNT, "nerve_set_max_isa: invalid ISA value %d", (int)cap);
    ensure_init();
    char why[96];
    if (isa_of_this_arch(cap))
        snprintf(why, sizeof why, "capped by nerve_set_max_isa(%s)", isa_names[cap]);
    else
        snprintf(why, sizeof why, "nerve_set_max_isa(%s): not an ISA of this CPU architecture",
                 isa_names[cap]);
    activate(pick(cap), why);
    return NERVE_OK;
}

const char *nerve_isa_reason(void) {
    ensure_init();
    /* activate() rewrites `reason` under the lock (nerve_set_max_isa may run
     * on another thread): the caller gets its own thread's copy, taken
     * under the same lock, valid until its next call. */
    static _Thread_local char copy[sizeof reason];
    pthread_mutex_lock(&reason_lock);
    memcpy(copy, reason, sizeof copy);
    pthread_mutex_unlock(&reason_lock);
    return copy;
}

bool nerve_isa_built(nerve_isa isa) {
    return (unsigned)isa < NERVE_ISA_COUNT && isa_of_this_arch(isa) && compiled_table(isa) != NULL;
}

nerve_status nerve_isa_gemm_tile(nerve_isa isa, size_t *mr, size_t *nr) {
    if (!mr || !nr) return error_set(NERVE_EINVAL, "nerve_isa_gemm_tile: mr and nr must not be NULL");
    if ((unsigned)isa >= NERVE_ISA_COUNT)
        return error_set(NERVE_EINVAL, "nerve_isa_gemm_tile: %d is not a nerve_isa", (int)isa);
    const kernel_table *kt = kernels_for(isa);
    if (!kt)
        return error_set(NERVE_EUNSUPPORTED, "nerve_isa_gemm_tile: the %s table is %s",
                         nerve_isa_name(isa),
                         nerve_isa_built(isa) ? "not supported by this CPU/OS" : "not built into this library");
    *mr = kt->mr, *nr = kt->nr;
    return NERVE_OK;
}

const kernel_table *kernels_for(nerve_isa isa) {
    ensure_init();
    return (unsigned)isa < NERVE_ISA_COUNT ? tables[isa] : NULL;
}

NERVE_PRIVATE const kernel_table *kernels_active(void) {
    ensure_init();
    return atomic_load(&active_table);
}
