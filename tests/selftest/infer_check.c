/* See infer_check.h. Inputs and biases come from integer steps (the same
 * bits everywhere); the widths sit around every table's tile (MR 4, 6, 8,
 * 12; NR 12, 16, 32) and vector width, with an input past KC so that the
 * K slices of a block are crossed. */
#include "infer_check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "nerve/nerve.h"
#include "plan.h"

#define MAX_ROWS 97

static float value(size_t i) { return (float)((int)((i * 7919u) % 401u) - 200) / 128.0f; }

int infer_check_run(int threads, char *msg, size_t cap) {
    static const size_t sizes[] = {300, 45, 13, 7};
    static const nerve_act acts[] = {NERVE_ACT_TANH, NERVE_ACT_RELU, NERVE_ACT_IDENTITY};
    nerve_net *net = NULL, *twin = NULL;
    float *x = malloc(MAX_ROWS * sizes[0] * sizeof(float));
    float *got = malloc(MAX_ROWS * sizes[3] * sizeof(float));
    float *want = malloc(MAX_ROWS * sizes[3] * sizeof(float));
    int rc = -1;
    if (!x || !got || !want) {
        snprintf(msg, cap, "out of memory");
        goto out;
    }
    if (nerve_net_create(&net, 3, sizes, acts, NERVE_LOSS_MSE, 11) != NERVE_OK ||
        nerve_net_create(&twin, 3, sizes, acts, NERVE_LOSS_MSE, 11) != NERVE_OK) {
        snprintf(msg, cap, "nerve_net_create: %s", nerve_last_error());
        goto out;
    }
    for (size_t l = 0; l < 3; l++) {
        float *b = nerve_net_bias(net, l), *bt = nerve_net_bias(twin, l);
        for (size_t j = 0; j < sizes[l + 1]; j++) b[j] = bt[j] = value(j + 31 * l) / 4.0f;
    }
    for (size_t i = 0; i < MAX_ROWS * sizes[0]; i++) x[i] = value(i);
    omp_set_num_threads(threads);
    net_set_flops_per_thread(0); /* a team of `threads` even for this small network */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && nerve_net_prepare_inference(net) != NERVE_OK) {
            snprintf(msg, cap, "nerve_net_prepare_inference: %s", nerve_last_error());
            goto out;
        }
        for (size_t k = 0; k <= 40; k++) {
            const size_t n = k < 40 ? k + 1 : MAX_ROWS, C = sizes[3];
            if (nerve_net_forward_const(twin, x, n, want, NULL) != NERVE_OK ||
                (pass == 0 ? nerve_net_forward(net, x, n, got)
                           : nerve_net_forward_const(net, x, n, got, NULL)) != NERVE_OK) {
                snprintf(msg, cap, "forward of %zu rows: %s", n, nerve_last_error());
                goto out;
            }
            if (memcmp(got, want, n * C * sizeof(float)) != 0) {
                size_t i = 0;
                while (memcmp(got + i, want + i, sizeof(float)) == 0) i++;
                snprintf(msg, cap, "%s of %zu rows: row %zu output %zu is %a, unprepared %a",
                         pass == 0 ? "forward" : "forward_const", n, i / C, i % C,
                         (double)got[i], (double)want[i]);
                goto out;
            }
        }
    }
    rc = 0;
out:
    net_set_flops_per_thread(3.0e6); /* the library's default (src/net/plan.c) */
    nerve_net_free(net);
    nerve_net_free(twin);
    free(x), free(got), free(want);
    return rc;
}
