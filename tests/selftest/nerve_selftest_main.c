/* nerve_selftest: a plain program (no Criterion, no threads of its own)
 * that checks a build on the machine it runs on; statically linked, so it
 * also runs under qemu-aarch64, where dynamically linked programs hang at
 * their first pthread_create (scripts/test-neon.sh). For every kernel table
 * this CPU supports it runs:
 *   1. the vector-API check of the table's vec.h header against the scalar
 *      one (tests/selftest/vec_selftest.c over tests/vec/vec_check.c);
 *   2. every bit-exact kernel check of the public self-test
 *      (nerve/selftest.h) against the scalar table (the same checks
 *      tests/selftest/test_bitexact.c runs under Criterion);
 *   3. the PyTorch reference vectors through the public network API
 *      (tests/common/testvectors.c, shared with tests/net/test_net_vectors.c);
 *   4. a short seeded training run with 1 and N threads (train_check.c);
 *   5. inference on prepared weights against the unprepared pass, bit for
 *      bit, every batch size 1 .. 40 and 97 (infer_check.c);
 * and then requires every training checksum to be the same. It prints one
 * table row per check, then "weights-crc32 XXXXXXXX" (the checksum the
 * AArch64 run must reproduce from x86-64), and exits 0 only if all passed.
 *
 *   nerve_selftest [--vectors DIR] [--threads N]
 *     --vectors DIR  directory of the *.txt reference vectors
 *                    (default: tests/testvectors of the source tree)
 *     --threads N    the second thread count of the training run (default 2) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nerve.h"
#include "infer_check.h"
#include "testvectors.h"
#include "train_check.h"
#include "vec_selftest.h"

#ifndef NERVE_SOURCE_DIR
#define NERVE_SOURCE_DIR "."
#endif

static size_t n_checks, n_failed;

static void row(const char *check, const char *isa, int ok, const char *detail) {
    n_checks++;
    n_failed += !ok;
    printf("%-44s %-7s %-4s %s\n", check, isa, ok ? "ok" : "FAIL", detail ? detail : "");
    fflush(stdout);
}

static int usage(const char *argv0) {
    fprintf(stderr, "usage: %s [--vectors DIR] [--threads N]\n", argv0);
    return 2;
}

int main(int argc, char **argv) {
    const char *vectors = NERVE_SOURCE_DIR "/tests/testvectors";
    int threads = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--vectors") && i + 1 < argc) {
            vectors = argv[++i];
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads = atoi(argv[++i]);
            if (threads < 1 || threads > 1024) return usage(argv[0]);
        } else {
            return usage(argv[0]);
        }
    }

    nerve_isa isas[NERVE_ISA_COUNT];
    size_t n_isas = 0;
    for (int i = 0; i < NERVE_ISA_COUNT; i++)
        if (nerve_isa_supported((nerve_isa)i)) isas[n_isas++] = (nerve_isa)i;
    printf("nerve %s self-test: cpu '%s', tables:", NERVE_VERSION_STRING,
           nerve_cpu_features_get()->model);
    for (size_t i = 0; i < n_isas; i++) printf(" %s", nerve_isa_name(isas[i]));
    printf("\n\n%-44s %-7s %-4s %s\n", "check", "isa", "", "detail");

    char msg[512], what[128];

    /* 1 + 2: vector API and kernels, each table against scalar */
    for (size_t i = 0; i < n_isas; i++) {
        const char *name = nerve_isa_name(isas[i]);
        if (isas[i] == NERVE_ISA_SCALAR) continue; /* the reference itself */
        size_t bad = vec_selftest_run(isas[i], msg, sizeof msg);
        row("vector api (vec.h) vs scalar header", name, bad == 0, bad ? msg : NULL);
        for (size_t c = 0; c < nerve_selftest_count(); c++) {
            bool ok = false;
            if (nerve_selftest_run(c, isas[i], &ok, msg, sizeof msg) != NERVE_OK)
                snprintf(msg, sizeof msg, "did not run: %s", nerve_last_error());
            snprintf(what, sizeof what, "kernel %s vs scalar", nerve_selftest_name(c));
            row(what, name, ok, ok ? NULL : msg);
        }
    }

    /* 3: PyTorch reference vectors, every table */
    for (size_t f = 0; f < TV_FILE_COUNT; f++) {
        char path[1024];
        static tv_case tc;
        snprintf(path, sizeof path, "%s/%s", vectors, tv_files[f]);
        snprintf(what, sizeof what, "pytorch vectors %s", tv_files[f]);
        if (tv_parse(path, &tc, msg, sizeof msg) != 0) {
            row(what, "-", 0, msg);
            tv_free(&tc);
            continue;
        }
        for (size_t i = 0; i < n_isas; i++) {
            nerve_set_max_isa(isas[i]);
            int ok = nerve_isa_active() == isas[i] && tv_run(&tc, msg, sizeof msg) == 0;
            if (nerve_isa_active() != isas[i]) snprintf(msg, sizeof msg, "cannot select the table");
            row(what, nerve_isa_name(isas[i]), ok, ok ? NULL : msg);
        }
        tv_free(&tc);
    }

    /* 4: training, every table, 1 and `threads` threads: one checksum */
    int have_crc = 0, same = 1;
    uint32_t crc0 = 0;
    const int tcounts[2] = {1, threads};
    for (size_t i = 0; i < n_isas; i++)
        for (int t = 0; t < (threads > 1 ? 2 : 1); t++) {
            nerve_set_max_isa(isas[i]);
            train_result r;
            snprintf(what, sizeof what, "training run, %d thread%s", tcounts[t],
                     tcounts[t] > 1 ? "s" : "");
            if (train_check_run(tcounts[t], &r, msg, sizeof msg) != 0) {
                row(what, nerve_isa_name(isas[i]), 0, msg);
                same = 0;
                continue;
            }
            char detail[96];
            snprintf(detail, sizeof detail, "crc32 %08x, loss %.6f, %llu steps", (unsigned)r.crc,
                     (double)r.last_loss, (unsigned long long)r.steps);
            row(what, nerve_isa_name(isas[i]), 1, detail);
            if (!have_crc) {
                crc0 = r.crc;
                have_crc = 1;
            } else if (r.crc != crc0) {
                same = 0;
            }
        }
    row("training checksums identical (isas, threads)", "all", have_crc && same, NULL);

    /* 5: inference on prepared weights, every table, 1 and `threads` threads */
    for (size_t i = 0; i < n_isas; i++)
        for (int t = 0; t < (threads > 1 ? 2 : 1); t++) {
            nerve_set_max_isa(isas[i]);
            snprintf(what, sizeof what, "prepared inference = unprepared, %d thread%s",
                     tcounts[t], tcounts[t] > 1 ? "s" : "");
            const int ok = infer_check_run(tcounts[t], msg, sizeof msg) == 0;
            row(what, nerve_isa_name(isas[i]), ok, ok ? NULL : msg);
        }

    printf("\ntraining run: %s\n", train_check_description);
    if (have_crc && same) printf("weights-crc32 %08x\n", (unsigned)crc0);
    printf("%zu checks, %zu failed\n", n_checks, n_failed);
    return n_failed == 0 ? 0 : 1;
}
