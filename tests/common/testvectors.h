/* The PyTorch reference vectors (tests/testvectors/<case>.txt, format in its
 * README), without Criterion: parsing, and running one case through the
 * public network API with comparisons against PyTorch's numbers. Used by the
 * Criterion test tests/net/test_net_vectors.c and by the static self-test program
 * (tests/selftest/, which runs them on NEON under qemu). */
#ifndef NERVE_TESTS_TESTVECTORS_H
#define NERVE_TESTS_TESTVECTORS_H

#include <stddef.h>

#include "nerve/nerve.h"

#define TV_MAX_TENSORS 256
#define TV_MAX_LAYERS  8

typedef struct tv_tensor {
    char name[64];
    size_t n;
    float *v;
} tv_tensor;

typedef struct tv_case {
    char name[64];
    size_t layers, sizes[TV_MAX_LAYERS + 1];
    nerve_act acts[TV_MAX_LAYERS];
    nerve_loss loss;
    size_t batch, steps;
    nerve_opt opt;
    tv_tensor t[TV_MAX_TENSORS];
    size_t nt;
} tv_case;

/* Every case file in tests/testvectors, by file name (tests/net/test_net_vectors.c
 * checks that the directory holds exactly these). */
static const char *const tv_files[] = {
    "relu_xent_sgd.txt",     "gelu_xent_adam.txt",           "online_sigmoid_mse.txt",
    "seed_sigmoid_mse.txt",  "silu_leaky_xent_nesterov.txt", "softplus_large_adam_wd.txt",
    "tanh_mse_momentum.txt", "elu_softplus_mse_adamw.txt",
};
#define TV_FILE_COUNT (sizeof tv_files / sizeof tv_files[0])

/* Parses `path` into *c (which the caller frees with tv_free, also after a
 * failure). Returns 0, or -1 with a message in msg (cap bytes). */
int tv_parse(const char *path, tv_case *c, char *msg, size_t cap);
void tv_free(tv_case *c);

/* The tensor whose name is printf(fmt, ...), e.g. tv_get(c, "dW%zu.%zu", l, s),
 * or NULL. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
const tv_tensor *
tv_get(const tv_case *c, const char *fmt, ...);

/* Runs the case with the active kernel table: loads the initial weights,
 * and for every step compares the forward output (relative 1e-5), the loss
 * (1e-5) and every gradient (1e-4) with PyTorch's, then the final weights
 * (1e-4). Each tolerance is relative to max(|want|, 1% of the tensor's
 * largest magnitude), so entries that cancel to almost nothing are not held
 * to more than float32 can give. Returns 0, or -1 with the first mismatch
 * described in msg. */
int tv_run(const tv_case *c, char *msg, size_t cap);

#endif
