/* See train_check.h. The data are made from integers only (splitmix64 bits
 * turned into floats by exact steps), so they are the same bits everywhere;
 * labels are the index of the largest of the first 5 inputs, a rule the
 * network can learn. The network mixes activations whose kernels use the
 * polynomial approximations (gelu, tanh) and softmax cross-entropy, trained
 * with AdamW on shuffled minibatches, so one checksum covers GEMM, the
 * elementwise kernels, the reductions, the optimizer and the epoch loop. */
#include "train_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "crc32.h"
#include "nerve/nerve.h"

#define N_SAMPLES 192 /* 6 minibatches of 32 per epoch */
#define N_IN      24
#define N_CLASSES 5
#define N_EPOCHS  3
#define SEED      20240607u

const char train_check_description[] =
    "24-48-32-5 gelu/tanh/identity, softmax cross-entropy, AdamW lr 0.01 wd 0.01, "
    "192 samples, batch 32, 3 shuffled epochs (18 steps), seed 20240607";

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Top 24 bits k -> (k - 2^23) / 2^23 in [-1, 1): exact in float. */
static float uniform_pm1(uint64_t *s) {
    int32_t k = (int32_t)(splitmix64(s) >> 40) - (1 << 23);
    return (float)k * (1.0f / 8388608.0f);
}

static void make_data(float *x, int32_t *labels) {
    uint64_t s = 0xDA7A5EEDull;
    for (size_t i = 0; i < N_SAMPLES; i++) {
        float *row = x + i * N_IN;
        for (size_t j = 0; j < N_IN; j++) row[j] = uniform_pm1(&s);
        int32_t best = 0;
        for (int32_t c = 1; c < N_CLASSES; c++)
            if (row[c] > row[best]) best = c;
        labels[i] = best;
    }
}

int train_check_run(int threads, train_result *out, char *msg, size_t cap) {
    static const size_t sizes[] = {N_IN, 48, 32, N_CLASSES};
    static const nerve_act acts[] = {NERVE_ACT_GELU, NERVE_ACT_TANH, NERVE_ACT_IDENTITY};
    float *x = malloc(N_SAMPLES * N_IN * sizeof(float));
    int32_t *labels = malloc(N_SAMPLES * sizeof(int32_t));
    nerve_net *net = NULL;
    int rc = -1;
    if (!x || !labels) {
        snprintf(msg, cap, "out of memory");
        goto out;
    }
    make_data(x, labels);
    omp_set_num_threads(threads);
    if (nerve_net_create(&net, 3, sizes, acts, NERVE_LOSS_XENT, SEED) != NERVE_OK) {
        snprintf(msg, cap, "nerve_net_create: %s", nerve_last_error());
        goto out;
    }
    nerve_opt opt = nerve_opt_default(NERVE_OPT_ADAMW);
    opt.lr = 0.01f;
    opt.weight_decay = 0.01f;
    if (nerve_net_set_optimizer(net, &opt) != NERVE_OK) {
        snprintf(msg, cap, "nerve_net_set_optimizer: %s", nerve_last_error());
        goto out;
    }
    const nerve_dataset data = {
        .x = x, .labels = labels, .n = N_SAMPLES, .in = N_IN, .out = N_CLASSES};
    const nerve_epoch_opts eo = {.batch_size = 32, .shuffle = 1};
    nerve_eval ev = {0};
    double first_loss = 0;
    for (int e = 0; e < N_EPOCHS; e++) {
        if (nerve_net_train_epoch(net, &data, &eo, &ev) != NERVE_OK) {
            snprintf(msg, cap, "nerve_net_train_epoch %d: %s", e, nerve_last_error());
            goto out;
        }
        if (e == 0) first_loss = ev.loss;
    }
    /* it must learn something, or the checksum would only prove determinism */
    if (!(ev.loss < 0.9 * first_loss)) {
        snprintf(msg, cap, "training loss went from %.6g (epoch 1) to %.6g (epoch %d)", first_loss,
                 ev.loss, N_EPOCHS);
        goto out;
    }
    uint32_t crc = 0;
    for (size_t l = 0; l < 3; l++) {
        crc = crc32_update(crc, nerve_net_weights(net, l), sizes[l] * sizes[l + 1] * sizeof(float));
        crc = crc32_update(crc, nerve_net_bias(net, l), sizes[l + 1] * sizeof(float));
    }
    out->crc = crc;
    out->last_loss = (float)ev.loss;
    out->steps = nerve_net_step_count(net);
    rc = 0;
out:
    nerve_net_free(net);
    free(x);
    free(labels);
    return rc;
}
