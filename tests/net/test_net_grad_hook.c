/* The per-layer "gradients ready" hook of the training step
 * (net_step_hooked, src/net/net_plan.h), which data-parallel training uses to
 * start sending a layer's gradients while backward goes on: called once per
 * layer, from the top down, on the calling thread, and by then the layer's
 * gradients are final (the same bits the step ends with); not called when
 * the loss is not finite; the gradients equal those of a step without hook. */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nerve.h"
#include "net_plan.h"

#define MAXL 4

typedef struct rec {
    nerve_net *net;
    size_t calls, order[MAXL];
    float *snap[MAXL]; /* layer l's weight and bias gradients at its call */
    int on_caller;     /* every call on OpenMP thread 0 */
} rec;

static void ready(void *user, size_t l) {
    rec *r = user;
    if (r->calls < MAXL) r->order[r->calls] = l;
    r->calls++;
    if (omp_get_thread_num() != 0) r->on_caller = 0;
    const size_t in = nerve_net_width(r->net, l), out = nerve_net_width(r->net, l + 1);
    free(r->snap[l]);
    r->snap[l] = malloc((in * out + out) * sizeof(float));
    memcpy(r->snap[l], nerve_net_weight_grad(r->net, l), in * out * sizeof(float));
    memcpy(r->snap[l] + in * out, nerve_net_bias_grad(r->net, l), out * sizeof(float));
}

static nerve_net *make(size_t L, const size_t *sizes) {
    nerve_act acts[MAXL] = {NERVE_ACT_RELU, NERVE_ACT_TANH, NERVE_ACT_RELU, NERVE_ACT_IDENTITY};
    acts[L - 1] = NERVE_ACT_IDENTITY;
    nerve_net *net;
    cr_assert_eq(nerve_net_create(&net, L, sizes, acts, NERVE_LOSS_XENT, 3), NERVE_OK);
    return net;
}

static void run(size_t L, const size_t *sizes, size_t n, int threads) {
    omp_set_num_threads(threads);
    net_set_flops_per_thread(0); /* use every thread even on this small network */
    nerve_net *net = make(L, sizes), *ref = make(L, sizes);
    float *x = malloc(n * sizes[0] * sizeof(float));
    int32_t *lab = malloc(n * sizeof(int32_t));
    for (size_t i = 0; i < n * sizes[0]; i++) x[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
    for (size_t i = 0; i < n; i++) lab[i] = (int32_t)(i % sizes[L]);
    nerve_batch b = {.x = x, .labels = lab, .n = n};
    rec r = {.net = net, .on_caller = 1};
    const net_grad_hook hook = {.ready = ready, .user = &r};
    float loss, ref_loss;
    cr_assert_eq(net_step_hooked("test", net, &b, &loss, 0, NULL, &hook), NERVE_OK);
    cr_assert_eq(nerve_net_gradients(ref, &b, &ref_loss), NERVE_OK);
    cr_assert_eq(r.calls, L, "hook called %zu times for %zu layers", r.calls, L);
    cr_assert(r.on_caller, "hook called off the calling thread");
    for (size_t i = 0; i < L; i++) {
        const size_t l = L - 1 - i;
        cr_assert_eq(r.order[i], l, "call %zu was for layer %zu, want %zu", i, r.order[i], l);
        const size_t in = sizes[l], out = sizes[l + 1];
        cr_assert(memcmp(r.snap[l], nerve_net_weight_grad(net, l), in * out * sizeof(float)) == 0,
                  "layer %zu's weight gradient changed after its hook", l);
        cr_assert(memcmp(r.snap[l] + in * out, nerve_net_bias_grad(net, l), out * sizeof(float)) ==
                      0,
                  "layer %zu's bias gradient changed after its hook", l);
        cr_assert(memcmp(nerve_net_weight_grad(ref, l), nerve_net_weight_grad(net, l),
                         in * out * sizeof(float)) == 0,
                  "layer %zu: the hook changed the gradient", l);
        free(r.snap[l]);
    }
    cr_assert_eq(loss, ref_loss);
    /* a non-finite loss: no hook */
    x[0] = NAN;
    r.calls = 0;
    cr_assert_eq(net_step_hooked("test", net, &b, &loss, 0, NULL, &hook), NERVE_ENUMERIC);
    cr_assert_eq(r.calls, 0, "hook called although the loss is NaN");
    free(x), free(lab);
    nerve_net_free(net), nerve_net_free(ref);
    net_set_flops_per_thread(3.0e6); /* the default (src/net/plan.c) */
}

static const size_t deep[] = {20, 33, 17, 9, 5}, two[] = {20, 33, 5}, one[] = {20, 5};

Test(grad_hook, four_layers_threads) {
    for (int t = 1; t <= 3; t++) run(4, deep, 40, t);
}
Test(grad_hook, two_layers) { run(2, two, 40, 2); }
Test(grad_hook, one_layer) { run(1, one, 40, 2); }
Test(grad_hook, one_sample) { run(4, deep, 1, 2); }
