/* The PyTorch reference vectors (the .txt files of tests/testvectors, format
 * in its README): for every case and every ISA this CPU supports, the
 * network's outputs, losses, gradients of every step and the final weights
 * match PyTorch within float32 tolerances (rel 1e-5 forward, 1e-4 gradients
 * and weights). The vectors were computed by PyTorch, not by this code. The
 * parser and the comparisons live in tests/common/testvectors.c, shared with
 * the static self-test program that runs them under qemu (NEON). */
#define _POSIX_C_SOURCE 200809L /* opendir */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "nerve/nerve.h"
#include "testutil.h"
#include "testvectors.h"

typedef struct vec_param {
    nerve_isa isa;
    char file[48];
} vec_param;

ParameterizedTestParameters(net_vectors, match_pytorch) {
    static vec_param params[NERVE_ISA_COUNT * TV_FILE_COUNT];
    nerve_isa isas[NERVE_ISA_COUNT];
    size_t ni = test_supported_isas(isas), n = 0;
    for (size_t i = 0; i < ni; i++)
        for (size_t f = 0; f < TV_FILE_COUNT; f++) {
            params[n].isa = isas[i];
            snprintf(params[n].file, sizeof params[n].file, "%s", tv_files[f]);
            n++;
        }
    return cr_make_param_array(vec_param, params, n);
}

ParameterizedTest(vec_param *p, net_vectors, match_pytorch) {
    char path[512], msg[512];
    snprintf(path, sizeof path, "%s/tests/testvectors/%s", NERVE_SOURCE_DIR, p->file);
    static tv_case c;
    const int parsed = tv_parse(path, &c, msg, sizeof msg);
    if (parsed != 0) {
        tv_free(&c);
        cr_assert_fail("%s", msg);
    }
    cr_assert_eq(nerve_set_max_isa(p->isa), NERVE_OK);
    const int rc = tv_run(&c, msg, sizeof msg);
    tv_free(&c);
    cr_assert_eq(rc, 0, "[%s] %s", nerve_isa_name(p->isa), msg);
}

/* Every file in tests/testvectors is in the list (none silently left out). */
Test(net_vectors, all_files_listed) {
    char path[512];
    snprintf(path, sizeof path, "%s/tests/testvectors", NERVE_SOURCE_DIR);
    DIR *dir = opendir(path);
    cr_assert_not_null(dir, "cannot open %s", path);
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        const size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 4, ".txt") != 0) continue;
        int found = 0;
        for (size_t f = 0; f < TV_FILE_COUNT; f++) found |= !strcmp(e->d_name, tv_files[f]);
        cr_assert(found, "test vector %s is not run by this test", e->d_name);
        count++;
    }
    closedir(dir);
    cr_assert_eq(count, TV_FILE_COUNT);
}
