/* Writes the nerve 0.1 (model format 1) compatibility files of tests/models/
 * and the predictions they must give. Run ONCE, with the 0.1 code, on
 * 2026-12-01 (commit "tests/models: nerve 0.1 model files ..."); the files
 * it wrote are committed and tests/io/test_model_compat.c checks on every run
 * that today's library still loads them and predicts the recorded bits.
 * Do not regenerate them with newer code: that would defeat their purpose.
 *
 *   make_v1_models DIR
 *
 * Files:
 *   v1_digits.nrv     64-32-10 relu classifier (xent) trained 3 epochs on the
 *                     embedded digits (pixels / 16), no training state
 *   v1_regression.nrv 3-8-2 tanh regression (mse) trained on a synthetic set
 *   v1_training.nrv   5-6-3 gelu classifier, adam, saved with training state
 *   v1_expected.txt   for each model: its name, n, in, out, then n rows of
 *                     inputs and n rows of outputs of nerve_net_forward, every
 *                     float as the 8 hex digits of its IEEE-754 bits
 *   v1_digits_inputs.csv  the digits inputs as raw pixels 0..16 (for
 *                     `nerve predict --scale 0.0625`, recorded by the CLI test) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nerve.h"

#define CHECK(call)                                                                                \
    do {                                                                                           \
        if ((call) != NERVE_OK) {                                                                  \
            fprintf(stderr, "%s: %s\n", #call, nerve_last_error());                                \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static const char *dir;

static const char *path(const char *name) {
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", dir, name);
    return buf;
}

/* Deterministic inputs in [lo, hi): an LCG (Knuth's MMIX constants). */
static void fill(float *x, size_t n, uint64_t seed, float lo, float hi) {
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = lo + (hi - lo) * (float)(s >> 40) / 16777216.0f;
    }
}

static void put_hex(FILE *f, const float *v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        fprintf(f, i ? " %08x" : "%08x", (unsigned)u);
    }
    fputc('\n', f);
}

static void record(FILE *f, const char *name, const float *x, size_t n) {
    nerve_net *net;
    CHECK(nerve_net_load(&net, path(name)));
    size_t in = nerve_net_width(net, 0), out = nerve_net_width(net, nerve_net_layers(net));
    float *y = malloc(n * out * sizeof *y);
    CHECK(nerve_net_forward(net, x, n, y));
    fprintf(f, "model %s %zu %zu %zu\n", name, n, in, out);
    for (size_t i = 0; i < n; i++) put_hex(f, x + i * in, in);
    for (size_t i = 0; i < n; i++) put_hex(f, y + i * out, out);
    free(y);
    nerve_net_free(net);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_v1_models DIR\n");
        return 2;
    }
    dir = argv[1];
    FILE *exp = fopen(path("v1_expected.txt"), "w");
    if (!exp) return 1;

    /* 1. digits classifier */
    nerve_data *all, *tr, *te;
    CHECK(nerve_data_load_digits(&all));
    CHECK(nerve_data_split(all, 0.2, 7, &tr, &te));
    size_t s1[] = {64, 32, 10};
    nerve_act a1[] = {NERVE_ACT_RELU, NERVE_ACT_IDENTITY};
    nerve_net *n1;
    CHECK(nerve_net_create(&n1, 2, s1, a1, NERVE_LOSS_XENT, 3));
    nerve_opt o = nerve_opt_default(NERVE_OPT_SGD);
    o.lr = 0.05f;
    o.momentum = 0.9f;
    CHECK(nerve_net_set_optimizer(n1, &o));
    nerve_dataset v = nerve_data_view(tr);
    nerve_epoch_opts eo = {.batch_size = 32, .shuffle = 1};
    for (int e = 0; e < 3; e++) CHECK(nerve_net_train_epoch(n1, &v, &eo, NULL));
    CHECK(nerve_net_save(n1, path("v1_digits.nrv"), 0));
    nerve_net_free(n1);
    enum { ND = 12 };
    record(exp, "v1_digits.nrv", te->x, ND);
    FILE *csv = fopen(path("v1_digits_inputs.csv"), "w");
    if (!csv) return 1;
    for (size_t i = 0; i < ND; i++)
        for (size_t j = 0; j < 64; j++)
            fprintf(csv, "%g%c", (double)(te->x[i * 64 + j] * 16.0f), j == 63 ? '\n' : ',');
    fclose(csv);

    /* 2. regression */
    enum { NR = 200 };
    float *x = malloc(NR * 3 * sizeof *x), *y = malloc(NR * 2 * sizeof *y);
    fill(x, NR * 3, 11, -1.0f, 1.0f);
    for (size_t i = 0; i < NR; i++) {
        y[2 * i] = x[3 * i] * 0.7f - x[3 * i + 1] * x[3 * i + 2];
        y[2 * i + 1] = x[3 * i + 1] * 0.3f + 0.25f;
    }
    size_t s2[] = {3, 8, 2};
    nerve_act a2[] = {NERVE_ACT_TANH, NERVE_ACT_IDENTITY};
    nerve_net *n2;
    CHECK(nerve_net_create(&n2, 2, s2, a2, NERVE_LOSS_MSE, 5));
    o = nerve_opt_default(NERVE_OPT_SGD);
    o.lr = 0.1f;
    CHECK(nerve_net_set_optimizer(n2, &o));
    nerve_dataset v2 = {x, y, NULL, NR, 3, 2};
    eo.batch_size = 16;
    for (int e = 0; e < 5; e++) CHECK(nerve_net_train_epoch(n2, &v2, &eo, NULL));
    CHECK(nerve_net_save(n2, path("v1_regression.nrv"), 0));
    nerve_net_free(n2);
    float xr[7 * 3];
    fill(xr, 7 * 3, 99, -1.5f, 1.5f);
    record(exp, "v1_regression.nrv", xr, 7);

    /* 3. classifier saved with Adam training state */
    enum { NT = 120 };
    float *xt = malloc(NT * 5 * sizeof *xt);
    int32_t *lt = malloc(NT * sizeof *lt);
    fill(xt, NT * 5, 23, -2.0f, 2.0f);
    for (size_t i = 0; i < NT; i++)
        lt[i] = xt[5 * i] + xt[5 * i + 3] > 0.5f ? 2 : xt[5 * i + 1] > 0 ? 1 : 0;
    size_t s3[] = {5, 6, 3};
    nerve_act a3[] = {NERVE_ACT_GELU, NERVE_ACT_IDENTITY};
    nerve_net *n3;
    CHECK(nerve_net_create(&n3, 2, s3, a3, NERVE_LOSS_XENT, 9));
    o = nerve_opt_default(NERVE_OPT_ADAM);
    o.lr = 0.01f;
    CHECK(nerve_net_set_optimizer(n3, &o));
    nerve_dataset v3 = {xt, NULL, lt, NT, 5, 3};
    eo.batch_size = 10;
    for (int e = 0; e < 4; e++) CHECK(nerve_net_train_epoch(n3, &v3, &eo, NULL));
    CHECK(nerve_net_save(n3, path("v1_training.nrv"), 1));
    nerve_net_free(n3);
    float xs[5 * 5];
    fill(xs, 5 * 5, 31, -2.0f, 2.0f);
    record(exp, "v1_training.nrv", xs, 5);

    fclose(exp);
    free(x);
    free(y);
    free(xt);
    free(lt);
    nerve_data_free(all);
    nerve_data_free(tr);
    nerve_data_free(te);
    return 0;
}
