/* nerve C API in one page: load data, create a network, train it, save it,
 * load it back and predict.
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

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "api_example.nrv";

    /* 1. Data: the digits compiled into the library (64 pixels in [0, 1],
     *    10 classes), 20% held out for testing. */
    nerve_data *all, *train, *test;
    CHECK(nerve_data_load_digits(&all));
    CHECK(nerve_data_split(all, 0.2, /*seed=*/42, &train, &test));
    nerve_data_free(all);

    /* 2. Network: 64 -> 128 (ReLU) -> 10 logits, softmax cross-entropy. */
    size_t sizes[] = {64, 128, 10};
    nerve_act acts[] = {NERVE_ACT_RELU, NERVE_ACT_IDENTITY};
    nerve_net *net;
    CHECK(nerve_net_create(&net, 2, sizes, acts, NERVE_LOSS_XENT, /*seed=*/1));

    /* 3. Optimizer: SGD with momentum. */
    nerve_opt opt = nerve_opt_default(NERVE_OPT_SGD);
    opt.lr = 0.05f;
    opt.momentum = 0.9f;
    CHECK(nerve_net_set_optimizer(net, &opt));

    /* 4. Train: whole epochs over the data set in shuffled minibatches. */
    nerve_dataset tr = nerve_data_view(train), te = nerve_data_view(test);
    nerve_epoch_opts eo = {.batch_size = 32, .shuffle = 1};
    for (int epoch = 1; epoch <= 10; epoch++) {
        nerve_eval r, t;
        CHECK(nerve_net_train_epoch(net, &tr, &eo, &r));
        CHECK(nerve_net_evaluate(net, &te, &t));
        printf("epoch %2d  train loss %.4f  test accuracy %.2f%%\n", epoch, r.loss,
               100 * t.accuracy);
    }

    /* 5. Save (atomically, with the optimizer state so training could
     *    resume) and load it back. */
    CHECK(nerve_net_save(net, path, 1));
    nerve_net *loaded;
    CHECK(nerve_net_load(&loaded, path));

    /* 6. Predict: logits for the first test samples; the class is the
     *    largest. The reloaded network must give the very same numbers. */
    enum { N = 8 };
    float a[N * 10], b[N * 10];
    CHECK(nerve_net_forward(net, test->x, N, a));
    CHECK(nerve_net_forward(loaded, test->x, N, b));
    int failed = memcmp(a, b, sizeof a) != 0;
    for (int i = 0; i < N; i++) {
        int best = 0;
        for (int j = 1; j < 10; j++)
            if (b[i * 10 + j] > b[i * 10 + best]) best = j;
        printf("sample %d: predicted %d, label %d\n", i, best, (int)test->labels[i]);
    }
    nerve_eval final;
    CHECK(nerve_net_evaluate(loaded, &te, &final));
    printf("reloaded model: test accuracy %.2f%%%s\n", 100 * final.accuracy,
           failed ? " (DIFFERS from the saved network)" : "");

    nerve_net_free(loaded);
    nerve_net_free(net);
    nerve_data_free(train);
    nerve_data_free(test);
    /* 90%: a sanity bar; this recipe reaches about 97% */
    return failed || final.accuracy < 0.90;
}
