/* nerve info: version, CPU, features, kernel tables and the one in use, threads. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "common.h"
#include "mpi_cli.h"

static const cli_option options[] = {
    {"isa", "ISA", HELP_ISA},
    {"threads", "N", HELP_THREADS},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

static int other_arch(nerve_isa isa) {
#if defined(__x86_64__)
    return isa == NERVE_ISA_NEON;
#elif defined(__aarch64__)
    return isa == NERVE_ISA_AVX2 || isa == NERVE_ISA_AVX512;
#else
    return isa != NERVE_ISA_SCALAR;
#endif
}

static void feature(char *buf, size_t cap, int have, const char *name) {
    if (!have) return;
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len, "%s%s", len ? " " : "", name);
}

int cmd_info(int argc, char **argv) {
    const char *v[N_OPTIONS];
    int rc = cli_parse("Usage: nerve info [options]\n\n"
                       "Prints the version, the CPU and its features, every kernel table with\n"
                       "whether this CPU supports it, the one in use and why, and the threads.",
                       options, N_OPTIONS, argc, argv, v);
    if (rc == CLI_HELP) return CLI_OK;
    if (rc != CLI_OK) return rc;
    if ((rc = cli_apply_isa(v[0])) != CLI_OK) return rc;
    if ((rc = cli_apply_threads(v[1])) != CLI_OK) return rc;
    if (cli_mpi_rank() != 0) return CLI_OK; /* under mpirun rank 0 speaks for all */

    const nerve_cpu_features *f = nerve_cpu_features_get();
    char feats[512] = "";
    feature(feats, sizeof feats, f->sse42, "sse4.2");
    feature(feats, sizeof feats, f->avx, "avx");
    feature(feats, sizeof feats, f->fma, "fma");
    feature(feats, sizeof feats, f->avx2, "avx2");
    feature(feats, sizeof feats, f->avx512f, "avx512f");
    feature(feats, sizeof feats, f->avx512bw, "avx512bw");
    feature(feats, sizeof feats, f->avx512dq, "avx512dq");
    feature(feats, sizeof feats, f->avx512vl, "avx512vl");
    feature(feats, sizeof feats, f->avx512_bf16, "avx512_bf16");
    feature(feats, sizeof feats, f->avx512_vnni, "avx512_vnni");
    feature(feats, sizeof feats, f->avx_vnni, "avx_vnni");
    feature(feats, sizeof feats, f->neon, "neon");
    feature(feats, sizeof feats, f->asimd_fp16, "asimd_fp16");
    char os[64] = "";
    feature(os, sizeof os, f->os_ymm, "ymm");
    feature(os, sizeof os, f->os_zmm, "zmm");

    printf("nerve %s\n", NERVE_VERSION_STRING);
    printf("cpu       %s (%s)\n", f->model[0] ? f->model : "unknown model",
           f->vendor[0] ? f->vendor : "unknown vendor");
    printf("features  %s\n", feats[0] ? feats : "(none detected)");
#if defined(__x86_64__)
    printf("os state  %s\n", os[0] ? os : "(no AVX register state enabled)");
#endif
    printf("kernel tables:\n");
    nerve_isa active = nerve_isa_active();
    for (int i = 0; i < NERVE_ISA_COUNT; i++) {
        nerve_isa isa = (nerve_isa)i;
        const char *state;
        if (other_arch(isa))
            state = "not for this architecture";
        else if (!nerve_isa_built(isa))
            state = "not built into this library";
        else if (!nerve_isa_supported(isa))
            state = "not supported by this CPU/OS";
        else
            state = "supported";
        char line[160];
        int len = snprintf(line, sizeof line, "  %-7s %-28s", nerve_isa_name(isa), state);
        size_t mr, nr;
        if (nerve_isa_gemm_tile(isa, &mr, &nr) == NERVE_OK && len > 0 && (size_t)len < sizeof line)
            len += snprintf(line + len, sizeof line - (size_t)len, " gemm tile %zux%zu", mr, nr);
        if (isa == active && len > 0 && (size_t)len < sizeof line)
            snprintf(line + len, sizeof line - (size_t)len, "   <- in use");
        for (size_t e = strlen(line); e > 0 && line[e - 1] == ' '; e--) line[e - 1] = '\0';
        printf("%s\n", line);
    }
    printf("in use    %s\n", nerve_isa_reason());
    printf("bf16      %s\n", nerve_bf16_reason());
    printf("threads   %d OpenMP threads (%ld cores online)\n", cli_threads(),
           sysconf(_SC_NPROCESSORS_ONLN));
    cli_mpi_info(stdout);
    return CLI_OK;
}
