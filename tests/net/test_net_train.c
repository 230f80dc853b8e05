/* End-to-end learning: XOR with a 2-3-1 sigmoid network and MSE, and the
 * digits data set (data/digits.csv.gz, read here with zlib) to >= 95% accuracy
 * on a held-out split. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "nerve/nerve.h"
#include "testutil.h"

Test(net_train, xor_converges) {
    const size_t sizes[] = {2, 3, 1};
    const nerve_act acts[] = {NERVE_ACT_SIGMOID, NERVE_ACT_SIGMOID};
    nerve_net *net;
    cr_assert_eq(nerve_net_create(&net, 2, sizes, acts, NERVE_LOSS_MSE, 2024), NERVE_OK);
    nerve_opt o = nerve_opt_default(NERVE_OPT_SGD);
    o.lr = 2.0f;
    o.momentum = 0.9f;
    cr_assert_eq(nerve_net_set_optimizer(net, &o), NERVE_OK);
    const float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, y[4] = {0, 1, 1, 0};
    nerve_batch b = {.x = x, .y = y, .n = 4};
    float loss = 1, first = 0;
    for (int i = 0; i < 2000; i++) {
        cr_assert_eq(nerve_net_train_batch(net, &b, &loss), NERVE_OK);
        if (i == 0) first = loss;
    }
    cr_assert(loss < 0.01f, "XOR did not converge: loss %g (first %g)", (double)loss,
              (double)first);
    float out[4];
    cr_assert_eq(nerve_net_forward(net, x, 4, out), NERVE_OK);
    for (int i = 0; i < 4; i++)
        cr_assert(fabsf(out[i] - y[i]) < 0.2f, "XOR(%g, %g) = %g", (double)x[2 * i],
                  (double)x[2 * i + 1], (double)out[i]);
    nerve_net_free(net);
}

/* Online learning (batch 1, the GEMV path) converges on XOR too. */
Test(net_train, xor_online) {
    const size_t sizes[] = {2, 3, 1};
    const nerve_act acts[] = {NERVE_ACT_TANH, NERVE_ACT_SIGMOID};
    nerve_net *net;
    cr_assert_eq(nerve_net_create(&net, 2, sizes, acts, NERVE_LOSS_MSE, 7), NERVE_OK);
    nerve_opt o = nerve_opt_default(NERVE_OPT_ADAM);
    o.lr = 0.05f;
    cr_assert_eq(nerve_net_set_optimizer(net, &o), NERVE_OK);
    const float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, y[4] = {0, 1, 1, 0};
    for (int i = 0; i < 4000; i++) {
        nerve_batch b = {.x = x + 2 * (i % 4), .y = y + i % 4, .n = 1};
        cr_assert_eq(nerve_net_train_batch(net, &b, NULL), NERVE_OK);
    }
    float out[4];
    cr_assert_eq(nerve_net_forward(net, x, 4, out), NERVE_OK);
    for (int i = 0; i < 4; i++)
        cr_assert(fabsf(out[i] - y[i]) < 0.2f, "XOR[%d] = %g", i, (double)out[i]);
    nerve_net_free(net);
}

/* data/digits.csv.gz: 64 pixels 0..16 then the label, one sample a line. */
static size_t load_digits(float **x, int32_t **labels) {
    char path[512];
    snprintf(path, sizeof path, "%s/data/digits.csv.gz", NERVE_SOURCE_DIR);
    gzFile f = gzopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    size_t cap = 2048, n = 0;
    *x = malloc(cap * 64 * sizeof(float));
    *labels = malloc(cap * sizeof(int32_t));
    char line[1024];
    while (gzgets(f, line, sizeof line)) {
        if (line[0] == '\n' || line[0] == '\0') continue;
        cr_assert(n < cap);
        char *p = line, *e;
        for (int j = 0; j < 64; j++) {
            (*x)[n * 64 + j] = strtof(p, &e) / 16.0f;
            cr_assert(e != p && *e == ',', "digits line %zu, field %d", n + 1, j + 1);
            p = e + 1;
        }
        long lab = strtol(p, &e, 10);
        cr_assert(e != p && lab >= 0 && lab <= 9);
        (*labels)[n++] = (int32_t)lab;
    }
    gzclose(f);
    return n;
}

Test(net_train, digits_accuracy) {
    float *x;
    int32_t *labels;
    const size_t n = load_digits(&x, &labels);
    cr_assert_eq(n, 1797);
    /* every 5th sample held out: 359 test, 1438 train */
    float *xtr = malloc(n * 64 * sizeof(float)), *xte = malloc(n * 64 * sizeof(float));
    int32_t *ltr = malloc(n * sizeof(int32_t)), *lte = malloc(n * sizeof(int32_t));
    size_t ntr = 0, nte = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % 5 == 4) {
            memcpy(xte + nte * 64, x + i * 64, 64 * sizeof(float));
            lte[nte++] = labels[i];
        } else {
            memcpy(xtr + ntr * 64, x + i * 64, 64 * sizeof(float));
            ltr[ntr++] = labels[i];
        }
    }
    const size_t sizes[] = {64, 64, 10};
    const nerve_act acts[] = {NERVE_ACT_RELU, NERVE_ACT_IDENTITY};
    nerve_net *net;
    cr_assert_eq(nerve_net_create(&net, 2, sizes, acts, NERVE_LOSS_XENT, 1), NERVE_OK);
    nerve_opt o = nerve_opt_default(NERVE_OPT_SGD);
    o.lr = 0.1f;
    o.momentum = 0.9f;
    cr_assert_eq(nerve_net_set_optimizer(net, &o), NERVE_OK);
    nerve_dataset tr = {.x = xtr, .labels = ltr, .n = ntr, .in = 64, .out = 10};
    nerve_dataset te = {.x = xte, .labels = lte, .n = nte, .in = 64, .out = 10};
    nerve_epoch_opts eo = {.batch_size = 32, .shuffle = 1};
    nerve_eval r, ev;
    for (int e = 0; e < 20; e++) cr_assert_eq(nerve_net_train_epoch(net, &tr, &eo, &r), NERVE_OK);
    cr_assert_eq(nerve_net_evaluate(net, &te, &ev), NERVE_OK);
    cr_assert_eq(ev.n, 359);
    cr_assert(ev.accuracy >= 0.95, "digits test accuracy %.4f (train %.4f, loss %.4f)", ev.accuracy,
              r.accuracy, r.loss);
    cr_assert_eq(nerve_net_epoch_count(net), 20);
    free(x), free(labels), free(xtr), free(xte), free(ltr), free(lte);
    nerve_net_free(net);
}
