/* Replays every input saved in tests/fuzz/regressions/<target>/ (crashes the
 * fuzzers once found, and hand-made hostile inputs) through the same code
 * path as the libFuzzer harnesses (tests/fuzz/fuzz_targets.h). A regression
 * shows up as a crash here, or as a sanitizer report in the ASan stage of
 * scripts/test.sh. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_targets.h"

typedef nerve_status (*target_fn)(const uint8_t *, size_t);

static void replay(const char *target, target_fn fn) {
    char dirpath[1024];
    snprintf(dirpath, sizeof dirpath, "%s/tests/fuzz/regressions/%s", NERVE_SOURCE_DIR, target);
    DIR *d = opendir(dirpath);
    cr_assert_not_null(d, "missing %s", dirpath);
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dirpath, e->d_name);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "%s", path);
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        /* exact size, so ASan sees any read past the input */
        uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
        cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
        fclose(f);
        nerve_status st = fn(buf, (size_t)n);
        cr_assert(st == NERVE_OK || st == NERVE_EFORMAT || st == NERVE_EINVAL || st == NERVE_ENOMEM,
                  "%s: unexpected status %d", path, st);
        cr_assert(st == NERVE_OK || nerve_last_error()[0], "%s: failure without a message", path);
        free(buf);
        count++;
    }
    closedir(d);
    cr_assert_gt(count, 0, "no inputs in %s", dirpath);
}

Test(fuzz_regressions, model) { replay("model", fuzz_model_one); }
Test(fuzz_regressions, idx) { replay("idx", fuzz_idx_one); }
Test(fuzz_regressions, csv) { replay("csv", fuzz_csv_one); }
