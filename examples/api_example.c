/* nerve C API in one page: load data, create a network, store its input
 * transform, train it, save it, load it back and predict from raw features.
 *
 *   cc api_example.c -lnerve -fopenmp -lz -lm -o api_example
 *   ./api_example [model.nrv]
 *
 * Built and run by the tests (tests/cli.cmake), so it stays in step with the
 * API: it exits 1 if anything fails or the reloaded model predicts
 * differently from the one that was saved. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nerve/nerve.h>

/* Prints the library's message for a failed call and leaves. */
#define CHECK(call)                                                                                \
    do {                                                                                           \
        nerve_status st_ = (call);                                                                 \
        if (st_ != NERVE_OK) {                                                                     \
            fprintf(stderr, "%s failed: %s\n", #call, nerve_last_error());                         \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* Fraction of rows whose largest output is the label. */
static double accuracy(const float *out, const int32_t *labels, size_t n, size_t k) {
    size_t correct = 0;
    for (size_t i = 0; i < n; i++) {
        size_t best = 0;
        for (size_t j = 1; j < k; j++)
            if (out[i * k + j] > out[i * k + best]) best = j;
        correct += best == (size_t)labels[i];
    }
    return (double)correct / (double)n;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "api_example.nrv";

    /* 1. Data: the digits compiled into the library, raw pixels 0..16
     *    (raw_pixels), 10 classes, 20% held out for testing. */
    nerve_csv_opts raw = {.raw_pixels = 1};
    nerve_data *all, *train, *test;
    CHECK(nerve_data_load(&all, NULL, "digits", &raw));
    CHECK(nerve_data_split(all, 0.2, /*seed=*/42, &train, &test));
    nerve_data_free(all);

    /* 2. Network: 64 -> 128 (ReLU) -> 10 logits, softmax cross-entropy. */
    size_t sizes[] = {64, 128, 10};
    nerve_act acts[] = {NERVE_ACT_RELU, NERVE_ACT_IDENTITY};
    nerve_net *net;
    CHECK(nerve_net_create(&net, 2, sizes, acts, NERVE_LOSS_XENT, /*seed=*/1));

    /* 3. The input transform lives in the model: x_net = (x - 0) / 16 for
     *    every pixel (for tabular data: nerve_data_feature_stats(train, ...)
     *    gives the mean and deviation to standardize with). The training data
     *    go through the same transform that nerve_net_predict applies. */
    float shift[64], scale[64];
    for (int j = 0; j < 64; j++) shift[j] = 0.0f, scale[j] = 16.0f;
    CHECK(nerve_net_set_input_transform(net, shift, scale));
    CHECK(nerve_net_transform_inputs(net, train->x, train->n, train->x));

    /* 4. Optimizer: SGD with momentum. */
    nerve_opt opt = nerve_opt_default(NERVE_OPT_SGD);
    opt.lr = 0.05f;
    opt.momentum = 0.9f;
    CHECK(nerve_net_set_optimizer(net, &opt));

    /* 5. Train: whole epochs over the data set in shuffled minibatches; test
     *    accuracy from the raw test features. */
    nerve_dataset tr = nerve_data_view(train);
    nerve_epoch_opts eo = {.batch_size = 32, .shuffle = 1};
    float *a = malloc(test->n * 10 * sizeof *a), *b = malloc(test->n * 10 * sizeof *b);
    if (!a || !b) return 1;
    for (int epoch = 1; epoch <= 10; epoch++) {
        nerve_eval r;
        CHECK(nerve_net_train_epoch(net, &tr, &eo, &r));
        CHECK(nerve_net_predict(net, test->x, test->n, a));
        printf("epoch %2d  train loss %.4f  test accuracy %.2f%%\n", epoch, r.loss,
               100 * accuracy(a, test->labels, test->n, 10));
    }

    /* 6. Save (atomically, with the transform, and the optimizer state so
     *    training could resume) and load it back. */
    CHECK(nerve_net_save(net, path, 1));
    nerve_net *loaded;
    CHECK(nerve_net_load(&loaded, path));

    /* 7. Predict from raw pixels: the reloaded network must give the very
     *    same numbers. The class is the largest logit. */
    CHECK(nerve_net_predict(loaded, test->x, test->n, b));
    int failed = memcmp(a, b, test->n * 10 * sizeof *a) != 0;
    for (int i = 0; i < 8; i++) {
        int best = 0;
        for (int j = 1; j < 10; j++)
            if (b[i * 10 + j] > b[i * 10 + best]) best = j;
        printf("sample %d: predicted %d, label %d\n", i, best, (int)test->labels[i]);
    }
    double final = accuracy(b, test->labels, test->n, 10);
    printf("reloaded model: test accuracy %.2f%%%s\n", 100 * final,
           failed ? " (DIFFERS from the saved network)" : "");

    free(a);
    free(b);
    nerve_net_free(loaded);
    nerve_net_free(net);
    nerve_data_free(train);
    nerve_data_free(test);
    /* 90%: a sanity bar; this recipe reaches about 97% */
    return failed || final < 0.90;
}
