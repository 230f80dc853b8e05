/* Backward compatibility: the model files written by nerve 0.1 (format 1) in
 * tests/models/ must load and predict, bit for bit, what 0.1 recorded in
 * tests/models/v1_expected.txt (tests/models/make_v1_models.c says how both
 * were made). Never regenerate them: a failure here means an upgrade would
 * break users' saved models. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nerve/nerve.h"

#define MODELS NERVE_SOURCE_DIR "/tests/models/"

static float *read_rows(FILE *f, size_t n, size_t w) {
    float *v = malloc(n * w * sizeof *v);
    cr_assert_not_null(v);
    for (size_t i = 0; i < n * w; i++) {
        unsigned u;
        cr_assert_eq(fscanf(f, "%8x", &u), 1, "v1_expected.txt: value %zu unreadable", i);
        uint32_t b = u;
        memcpy(&v[i], &b, 4);
    }
    return v;
}

/* Loads one recorded model and checks every output bit, through the
 * mutable and the const forward pass. Returns 0 at the end of the file. */
static int check_next(FILE *f, size_t *checked) {
    char name[64];
    size_t n, in, out;
    int r = fscanf(f, " model %63s %zu %zu %zu", name, &n, &in, &out);
    if (r == EOF) return 0;
    cr_assert_eq(r, 4, "v1_expected.txt: bad model line");
    float *x = read_rows(f, n, in), *want = read_rows(f, n, out);
    char path[512];
    snprintf(path, sizeof path, "%s%s", MODELS, name);

    FILE *mf = fopen(path, "rb");
    cr_assert_not_null(mf, "%s missing", path);
    unsigned char head[12];
    cr_assert_eq(fread(head, 1, 12, mf), 12u);
    fclose(mf);
    cr_assert_eq(head[8], 1, "%s is not a format 1 file: it must stay as 0.1 wrote it", name);

    nerve_net *net;
    cr_assert_eq(nerve_net_load(&net, path), NERVE_OK, "%s: %s", name, nerve_last_error());
    cr_assert_eq(nerve_net_width(net, 0), in);
    cr_assert_eq(nerve_net_width(net, nerve_net_layers(net)), out);
    float *got = malloc(n * out * sizeof *got);
    cr_assert_eq(nerve_net_forward(net, x, n, got), NERVE_OK);
    for (size_t i = 0; i < n * out; i++)
        cr_assert_eq(memcmp(&got[i], &want[i], 4), 0, "%s output %zu: %.9g, recorded %.9g", name, i,
                     (double)got[i], (double)want[i]);
    memset(got, 0, n * out * sizeof *got);
    cr_assert_eq(nerve_net_forward_const(net, x, n, got, NULL), NERVE_OK);
    cr_assert_eq(memcmp(got, want, n * out * sizeof *got), 0, "%s: forward_const differs", name);
    /* a format 1 file has no preprocessing: predict is the plain forward pass */
    memset(got, 0, n * out * sizeof *got);
    cr_assert_eq(nerve_net_predict(net, x, n, got), NERVE_OK, "%s", nerve_last_error());
    cr_assert_eq(memcmp(got, want, n * out * sizeof *got), 0, "%s: predict differs", name);
    cr_assert_eq(nerve_net_has_input_transform(net), 0);
    cr_assert_eq(nerve_net_class_name(net, 0), NULL);

    /* saved again, a model without new features stays a format 1 file */
    char again[] = "/tmp/nerve-compat-XXXXXX";
    int fd = mkstemp(again);
    cr_assert(fd >= 0);
    close(fd);
    cr_assert_eq(nerve_net_save(net, again, 1), NERVE_OK);
    mf = fopen(again, "rb");
    cr_assert_eq(fread(head, 1, 12, mf), 12u);
    fclose(mf);
    remove(again);
    cr_assert_eq(head[8], 1, "%s saved again: version %u", name, head[8]);

    free(got);
    free(x);
    free(want);
    nerve_net_free(net);
    (*checked)++;
    return 1;
}

Test(compat, v1_models_predict_as_recorded) {
    FILE *f = fopen(MODELS "v1_expected.txt", "r");
    cr_assert_not_null(f);
    size_t checked = 0;
    while (check_next(f, &checked)) {
    }
    fclose(f);
    cr_assert_eq(checked, 3, "three recorded models (digits, regression, training state)");
}

Test(compat, v1_training_state_still_resumes) {
    nerve_net *net;
    cr_assert_eq(nerve_net_load(&net, MODELS "v1_training.nrv"), NERVE_OK, "%s",
                 nerve_last_error());
    nerve_opt o = nerve_net_optimizer(net);
    cr_assert_eq(o.kind, NERVE_OPT_ADAM);
    cr_assert_eq(nerve_net_epoch_count(net), 4);
    cr_assert_eq(nerve_net_step_count(net), 48); /* 4 epochs of 12 batches */
    nerve_net_free(net);
}
