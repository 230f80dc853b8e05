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

#include "bf16.h"
#include "cpu_internal.h"
#include "error.h"
#include "table.h"
#include "private_abi.h"
#if defined(NERVE_HAVE_AVX512BF16)
#include "gemm_avx512bf16.h"
#endif

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
/* The compiled tables (bf16 emulated) of the supported ISAs, whatever
 * tables[] holds; and the avx512 table with the vdpbf16ps kernels. */
static const kernel_table *emulated[NERVE_ISA_COUNT];
#if defined(NERVE_HAVE_AVX512BF16)
static kernel_table avx512_native;
#endif
static char bf16_why[1024] = "emulated";

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

/* ---- bf16: the native kernels, after a check ---------------------------
 * The vdpbf16ps micro-kernel replaces the avx512 table's emulation only if
 * it computes, on this CPU, exactly what the emulation computes: the cases
 * below are the awkward ones of simd/bf16.h (denormal operands and
 * accumulators, the flush boundary just under 2^-126 on both sides, ties,
 * overflow, infinities, NaN payloads in every position of the priority),
 * each run as a 1 x 1 tile of one pair, then a tile of mixed values. A CPU
 * whose instruction rounds differently keeps the emulation, and says why
 * (nerve_bf16_reason). */
typedef struct bf16_case {
    uint32_t c, b, a; /* accumulator; B and A pair words (B: first source) */
} bf16_case;
static const bf16_case bf16_cases[] = {
    {0x3f800000u, 0x3f800000u, 0x33800000u}, /* 1 + 2^-24 (odd product): tie to even */
    {0x3f800000u, 0x00003f80u, 0x0000b3c0u}, /* 1 - 1.5 2^-24 (even product) */
    {0x00800000u, 0x00800000u, 0xb3800000u}, /* 2^-126 - 2^-150: flushed to 0 */
    {0x00800000u, 0x00800000u, 0xb3000000u}, /* 2^-126 - 2^-151: rounds up to 2^-126 */
    {0x80800000u, 0x00000080u, 0x00003380u}, /* -(2^-126 - 2^-150) in the even half: -0 */
    {0x00c00000u, 0x00800000u, 0xbf800000u}, /* 1.5 2^-126 - 2^-126: denormal, flushed */
    {0x00400000u, 0x00000000u, 0x00000000u}, /* denormal accumulator: read as 0 */
    {0x3f800000u, 0x00403f80u, 0x3f803f80u}, /* denormal bf16 operand: read as 0 */
    {0x80000000u, 0x00000000u, 0x00000000u}, /* -0 + 0*0 */
    {0x7f000000u, 0x7f007f00u, 0x3f803f80u}, /* overflow to +inf */
    {0x3f800000u, 0x7f800000u, 0x00000000u}, /* inf * 0: default NaN */
    {0xff800000u, 0x7f800000u, 0x3f800000u}, /* inf - inf: default NaN */
    {0x7fa00001u, 0x7f817f82u, 0x7f837f84u}, /* NaN everywhere: B low wins */
    {0x7fa00001u, 0x3f807f82u, 0x7f837f84u}, /* then A low */
    {0x7fa00001u, 0x7f813f80u, 0x7f833f80u}, /* then B high */
    {0x7fa00001u, 0x3f803f80u, 0x7f833f80u}, /* then A high */
    {0x7fa00001u, 0x3f803f80u, 0x3f803f80u}, /* then the accumulator (signalling: quieted) */
};

/* table.h: 0 when the kernel matches bf16_dp_ref on every case, else the
 * first difference in why. */
int bf16_ukr_differs(gemm_bf16_ukr_fn ukr, size_t mr, size_t nr, char *why, size_t cap) {
    enum { KQ = 3, MAXR = 16, MAXC = 32 };
    uint32_t a[MAXR * KQ], b[KQ * MAXC];
    float c[MAXR * MAXC];
    if (mr > MAXR || nr > MAXC) return snprintf(why, cap, "tile %zux%zu too large", mr, nr), 1;
    for (size_t i = 0; i < sizeof bf16_cases / sizeof bf16_cases[0]; i++) {
        const bf16_case *t = &bf16_cases[i];
        memset(a, 0, sizeof a);
        memset(b, 0, sizeof b);
        a[0] = t->a;
        b[0] = t->b;
        c[0] = bf16_f32(t->c);
        ukr(1, a, 1, mr, b, nr, c, nr, 1, 1, 1);
        const uint32_t want = bf16_dp_ref(t->c, t->b, t->a), got = bf16_bits(c[0]);
        if (got != want)
            return snprintf(why, cap,
                            "acc %08x + B %08x . A %08x: vdpbf16ps gives %08x, the reference %08x",
                            (unsigned)t->c, (unsigned)t->b, (unsigned)t->a, (unsigned)got,
                            (unsigned)want),
                   1;
    }
    /* a whole tile over KQ pairs: every case's words mixed across rows and columns */
    const size_t nc = sizeof bf16_cases / sizeof bf16_cases[0];
    for (size_t i = 0; i < mr; i++)
        for (size_t q = 0; q < KQ; q++) a[i + q * mr] = bf16_cases[(i * 5 + q) % nc].a;
    for (size_t q = 0; q < KQ; q++)
        for (size_t j = 0; j < nr; j++) b[q * nr + j] = bf16_cases[(j * 3 + q * 7) % nc].b;
    for (size_t i = 0; i < mr * nr; i++) c[i] = bf16_f32(bf16_cases[(i * 11) % nc].c);
    uint32_t want[MAXR * MAXC];
    for (size_t i = 0; i < mr; i++)
        for (size_t j = 0; j < nr; j++) {
            uint32_t s = bf16_bits(c[i * nr + j]);
            for (size_t q = 0; q < KQ; q++) s = bf16_dp_ref(s, b[q * nr + j], a[i + q * mr]);
            want[i * nr + j] = s;
        }
    ukr(KQ, a, 1, mr, b, nr, c, nr, mr, nr, 1);
    for (size_t i = 0; i < mr * nr; i++)
        if (bf16_bits(c[i]) != want[i])
            return snprintf(why, cap, "a %zux%zu tile, element %zu: vdpbf16ps gives %08x, the "
                            "reference %08x", mr, nr, i, (unsigned)bf16_bits(c[i]),
                            (unsigned)want[i]),
                   1;
    return 0;
}

/* The x86 emulation with the FPU's DAZ and flush to zero (MXCSR), one fma
 * per step, for table `isa` when it reproduces the reference: a copy of the
 * table with that micro-kernel, in *copy. Writes what it decided to why
 * (capacity cap) and returns whether it attached it. */
#if defined(NERVE_HAVE_AVX2) || defined(NERVE_HAVE_AVX512)
static int bf16_attach_ftz(nerve_isa isa, gemm_bf16_ukr_fn ukr, kernel_table *copy, char *why,
                           size_t cap) {
    const kernel_table *t = tables[isa];
    if (!t) return 0;
    char diff[160];
    if (bf16_ukr_differs(ukr, t->bf16_mr, t->bf16_nr, diff, sizeof diff)) {
        snprintf(why, cap, "%s emulated (the FPU's flush to zero differs: %s)", isa_names[isa],
                 diff);
        return 0;
    }
    *copy = *t;
    copy->gemm_bf16_ukr = ukr;
    copy->bf16_impl = "emulated-ftz";
    tables[isa] = copy;
    snprintf(why, cap, "%s emulated with the FPU's DAZ/FTZ", isa_names[isa]);
    return 1;
}
#endif

static void bf16_attach(void) {
    char part[3][320] = {"", "", ""};
#if defined(NERVE_HAVE_AVX2)
    static kernel_table avx2_ftz;
    bf16_attach_ftz(NERVE_ISA_AVX2, bf16_gemm_ukr_ftz__avx2, &avx2_ftz, part[0], sizeof part[0]);
#endif
#if defined(NERVE_HAVE_AVX512)
    int native = 0;
#if defined(NERVE_HAVE_AVX512BF16)
    /* NERVE_BF16_KERNEL=emulated keeps the emulation (the same bits; on a CPU
     * where vdpbf16ps issues slowly the DAZ/FTZ emulation can be faster) */
    const char *want = getenv("NERVE_BF16_KERNEL");
    const int refuse = want && *want && strcasecmp(want, "emulated") == 0;
    if (want && *want && !refuse && strcasecmp(want, "vdpbf16ps") != 0)
        fprintf(stderr, "nerve: NERVE_BF16_KERNEL='%.64s' is not vdpbf16ps or emulated; "
                        "ignoring it\n", want);
    if (refuse)
        snprintf(part[2], sizeof part[2], "vdpbf16ps not used (NERVE_BF16_KERNEL=emulated)");
    if (tables[NERVE_ISA_AVX512] && features.avx512_bf16 && !refuse) {
        char diff[160];
        if (bf16_ukr_differs(bf16_gemm_12x32__avx512bf16, BF16N_MR, BF16N_NR, diff,
                             sizeof diff)) {
            snprintf(part[2], sizeof part[2], "vdpbf16ps not used: it differs from the reference "
                     "(%s)", diff);
        } else {
            avx512_native = *tables[NERVE_ISA_AVX512];
            avx512_native.bf16_cvt_rows = bf16_cvt_rows__avx512bf16;
            avx512_native.bf16_cvt_cols = bf16_cvt_cols__avx512bf16;
            avx512_native.gemm_bf16_ukr = bf16_gemm_12x32__avx512bf16;
            avx512_native.bf16_mr = BF16N_MR;
            avx512_native.bf16_nr = BF16N_NR;
            avx512_native.bf16_mc = BF16N_MC;
            avx512_native.bf16_kc = BF16N_KC;
            avx512_native.bf16_nc = BF16N_NC;
            avx512_native.bf16_impl = "vdpbf16ps";
            tables[NERVE_ISA_AVX512] = &avx512_native;
            native = 1;
            snprintf(part[1], sizeof part[1],
                     "avx512 vdpbf16ps (AVX512_BF16; matches the reference on the start-up cases)");
        }
    }
#endif
    static kernel_table avx512_ftz;
    if (!native)
        bf16_attach_ftz(NERVE_ISA_AVX512, bf16_gemm_ukr_ftz__avx512, &avx512_ftz, part[1],
                        sizeof part[1]);
#endif
    /* e.g. "avx2 emulated with the FPU's DAZ/FTZ; avx512 vdpbf16ps (...); scalar emulated" */
    size_t len = 0;
    bf16_why[0] = '\0';
    for (int i = 0; i < 3; i++)
        if (part[i][0] && len < sizeof bf16_why)
            len += (size_t)snprintf(bf16_why + len, sizeof bf16_why - len, "%s%s",
                                    len ? "; " : "", part[i]);
    if (len < sizeof bf16_why)
        snprintf(bf16_why + len, sizeof bf16_why - len, "%s%s", len ? "; " : "",
#if defined(__x86_64__) && !defined(NERVE_HAVE_AVX512BF16)
                 "scalar emulated (this library has no AVX512_BF16 kernels)"
#else
                 "scalar emulated"
#endif
#if defined(__aarch64__)
                 ", neon emulated"
#endif
        );
}

static void init(void) {
    cpu_detect(&features);
    for (int i = 0; i < NERVE_ISA_COUNT; i++) {
        const kernel_table *t = compiled_table((nerve_isa)i);
        tables[i] = (t && cpu_can_run(&features, (nerve_isa)i)) ? t : NULL;
        emulated[i] = tables[i];
    }
    bf16_attach();
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

const kernel_table *kernels_emulated(nerve_isa isa) {
    ensure_init();
    return (unsigned)isa < NERVE_ISA_COUNT ? emulated[isa] : NULL;
}

const char *nerve_isa_bf16(nerve_isa isa) {
    const kernel_table *kt = kernels_for(isa);
    return kt ? kt->bf16_impl : NULL;
}

const char *nerve_bf16_reason(void) {
    ensure_init();
    return bf16_why; /* written once, inside pthread_once */
}
