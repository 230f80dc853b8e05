/* Tabular data end to end through the library (issue 14): a generated CSV
 * with features of very different scales, text labels and a regression
 * target far from 0; standardization fitted on the training part and stored
 * in the model; predictions from raw features in the training process and
 * through the saved and reloaded model, bit for bit; and the pixel scale as
 * an input transform trains the very weights nerve 0.1 trained. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "nerve/nerve.h"

static char tmpdir[64];
static void make_tmpdir(void) { cr_assert(test_tmpdir_make(tmpdir, sizeof tmpdir, "tabular")); }
static void remove_tmpdir(void) { cr_assert(test_tmpdir_remove(tmpdir)); }
TestSuite(tabular, .init = make_tmpdir, .fini = remove_tmpdir);

static void ok(nerve_status st, const char *what) {
    cr_assert_eq(st, NERVE_OK, "%s: %s", what, nerve_last_error());
}

/* splitmix64-driven uniform in [0, 1) and a Box-Muller normal. */
static uint64_t sm_state;
static double unif(void) {
    uint64_t z = (sm_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1p-53;
}
static double gauss(void) {
    double u = unif() + 1e-300, v = unif();
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* nf features, feature j scaled by 10^(-1 + 4j/(nf-1)) around an offset;
 * classification: 3 named clusters; regression: y = 25000 + 3000 * linear. */
static const char *write_csv(const char *name, size_t n, size_t nf, int regression) {
    const char *path = test_tmp_path(tmpdir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    sm_state = 12345;
    static const char *const names[3] = {"setosa", "versicolor", "virginica"};
    double centers[3][32], w[32];
    for (int c = 0; c < 3; c++)
        for (size_t j = 0; j < nf; j++) centers[c][j] = 1.5 * gauss();
    for (size_t j = 0; j < nf; j++) w[j] = gauss();
    for (size_t j = 0; j < nf; j++) fprintf(f, "f%zu,", j);
    fprintf(f, "%s\n", regression ? "price" : "species");
    for (size_t i = 0; i < n; i++) {
        int c = (int)(i % 3);
        double lin = 0;
        for (size_t j = 0; j < nf; j++) {
            double s = pow(10.0, -1.0 + 4.0 * (double)j / (double)(nf - 1));
            double z = (regression ? 0 : centers[c][j]) + gauss();
            lin += w[j] * z;
            fprintf(f, "%.7g,", s * (z + 3));
        }
        if (regression)
            fprintf(f, "%.2f\n", 25000 + 3000 * lin / 3 + 100 * gauss());
        else
            fprintf(f, "%s\n", names[c]);
    }
    cr_assert_eq(fclose(f), 0);
    return path;
}

/* Trains a fresh network the way the CLI does and checks that predictions
 * on raw rows made now equal those of the reloaded model, bit for bit. */
static void train_and_reload(int regression) {
    nerve_csv_opts o = {.targets = regression ? 1u : 0u};
    nerve_data *all, *train, *held;
    ok(nerve_data_load_csv(&all, write_csv("t.csv", 600, 13, regression), &o), "load");
    ok(nerve_data_split(all, 0.2, 1, &train, &held), "split");
    size_t sizes[3] = {13, 64, regression ? 1u : 3u};
    nerve_act acts[2] = {NERVE_ACT_RELU, NERVE_ACT_IDENTITY};
    nerve_net *net;
    ok(nerve_net_create(&net, 2, sizes, acts, regression ? NERVE_LOSS_MSE : NERVE_LOSS_XENT, 1),
       "create");
    float mean[13], sd[13];
    ok(nerve_data_feature_stats(train, mean, sd), "stats");
    cr_assert_gt(sd[12] / sd[0], 1000.0f, "features of very different scales");
    ok(nerve_net_set_input_transform(net, mean, sd), "input transform");
    if (regression) {
        float tm, ts;
        ok(nerve_data_target_stats(train, &tm, &ts), "target stats");
        cr_assert_gt(tm, 20000.0f, "a target with a large offset");
        ok(nerve_net_set_output_transform(net, &tm, &ts), "output transform");
    } else {
        cr_assert_not_null(train->class_names);
        ok(nerve_net_set_class_names(net, (const char *const *)train->class_names), "names");
    }
    /* the training rows in network units, through the model's transform */
    ok(nerve_net_transform_inputs(net, train->x, train->n, train->x), "transform x");
    if (regression) ok(nerve_net_transform_targets(net, train->y, train->n, train->y), "y");
    nerve_opt opt = nerve_opt_default(NERVE_OPT_ADAM);
    opt.lr = 0.01f;
    ok(nerve_net_set_optimizer(net, &opt), "opt");
    nerve_dataset v = nerve_data_view(train);
    nerve_epoch_opts eo = {.batch_size = 16, .shuffle = 1};
    for (int e = 0; e < 15; e++) ok(nerve_net_train_epoch(net, &v, &eo, NULL), "epoch");

    const size_t k = sizes[2], n = held->n;
    float *now = malloc(n * k * sizeof *now), *later = malloc(n * k * sizeof *later);
    ok(nerve_net_predict(net, held->x, n, now), "predict");
    const char *model = test_tmp_path(tmpdir, "m.nrv");
    ok(nerve_net_save(net, model, 1), "save");
    nerve_net *back;
    ok(nerve_net_load(&back, model), "load model");
    ok(nerve_net_predict(back, held->x, n, later), "predict reloaded");
    cr_assert_eq(test_first_bit_mismatch(now, later, n * k), SIZE_MAX,
                 "reloaded model predicts other bits");
    /* and the learning bar, from raw held-out features */
    if (regression) {
        double mean_y = 0, res = 0, tot = 0;
        for (size_t i = 0; i < n; i++) mean_y += held->y[i];
        mean_y /= (double)n;
        for (size_t i = 0; i < n; i++) {
            res += pow(later[i] - held->y[i], 2);
            tot += pow(held->y[i] - mean_y, 2);
        }
        cr_assert_geq(1 - res / tot, 0.9, "R^2 %g", 1 - res / tot);
    } else {
        size_t correct = 0;
        for (size_t i = 0; i < n; i++) {
            size_t best = 0;
            for (size_t j = 1; j < k; j++)
                if (later[i * k + j] > later[i * k + best]) best = j;
            correct += best == (size_t)held->labels[i];
        }
        cr_assert_geq((double)correct / (double)n, 0.9, "accuracy %zu of %zu", correct, n);
        cr_assert_str_eq(nerve_net_class_name(back, 2), "virginica");
    }
    free(now);
    free(later);
    nerve_net_free(net);
    nerve_net_free(back);
    nerve_data_free(all);
    nerve_data_free(train);
    nerve_data_free(held);
}

Test(tabular, classes_predict_bit_identically_after_reload) { train_and_reload(0); }
Test(tabular, regression_predicts_bit_identically_after_reload) { train_and_reload(1); }

/* digits: raw pixels through the stored transform (/ 16) train exactly the
 * weights that the loader's own scaling trained in nerve 0.1. */
Test(tabular, pixel_transform_trains_the_0_1_weights) {
    nerve_data *scaled, *raw;
    nerve_csv_opts o = {.raw_pixels = 1};
    ok(nerve_data_load(&scaled, NULL, "digits", NULL), "digits");
    ok(nerve_data_load(&raw, NULL, "digits", &o), "raw digits");
    size_t sizes[3] = {64, 32, 10};
    nerve_act acts[2] = {NERVE_ACT_RELU, NERVE_ACT_IDENTITY};
    nerve_net *a, *b;
    ok(nerve_net_create(&a, 2, sizes, acts, NERVE_LOSS_XENT, 7), "a");
    ok(nerve_net_create(&b, 2, sizes, acts, NERVE_LOSS_XENT, 7), "b");
    float shift[64], scale[64];
    for (int j = 0; j < 64; j++) shift[j] = 0, scale[j] = 16;
    ok(nerve_net_set_input_transform(b, shift, scale), "transform");
    ok(nerve_net_transform_inputs(b, raw->x, raw->n, raw->x), "apply");
    cr_assert_eq(memcmp(raw->x, scaled->x, raw->n * 64 * sizeof(float)), 0);
    nerve_dataset va = nerve_data_view(scaled), vb = nerve_data_view(raw);
    nerve_epoch_opts eo = {.batch_size = 64, .shuffle = 1};
    for (int e = 0; e < 2; e++) {
        ok(nerve_net_train_epoch(a, &va, &eo, NULL), "epoch a");
        ok(nerve_net_train_epoch(b, &vb, &eo, NULL), "epoch b");
    }
    for (size_t l = 0; l < 2; l++)
        cr_assert_eq(memcmp(nerve_net_weights(a, l), nerve_net_weights(b, l),
                            sizes[l] * sizes[l + 1] * sizeof(float)),
                     0, "layer %zu", l);
    nerve_net_free(a);
    nerve_net_free(b);
    nerve_data_free(scaled);
    nerve_data_free(raw);
}
