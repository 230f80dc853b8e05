/* Bad arguments to the public kernel library (kernels.h): every rejected
 * call returns NERVE_EINVAL, names the function in nerve_last_error(), and
 * leaves its outputs untouched; none crashes (the sanitizer build runs this
 * too). Covered: NULL pointers, unknown activations, sizes whose byte count
 * overflows, leading dimensions below the row width, labels out of range,
 * bad hyper-parameters and flags. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nerve/nerve.h"
#include "testutil.h"

#define HUGE_N (SIZE_MAX / 2) /* * sizeof(float) overflows */

static float out[64];

static void reset(void) {
    for (int i = 0; i < 64; i++) out[i] = 12345.0f;
}
/* the last error mentions `word` (any message when word is NULL) */
static int mentions(const char *word) { return !word || strstr(nerve_last_error(), word) != NULL; }
static int untouched(void) {
    for (int i = 0; i < 64; i++)
        if (out[i] != 12345.0f) return 0;
    return 1;
}

/* the call fails with EINVAL, a message naming `fn` (and `word` if given),
 * and `out` unchanged */
#define BAD(call, fn, word)                                                                        \
    do {                                                                                           \
        reset();                                                                                   \
        const nerve_status st_ = (call);                                                           \
        cr_assert_eq(st_, NERVE_EINVAL, "%s returned %d", #call, (int)st_);                        \
        cr_assert(strstr(nerve_last_error(), fn) != NULL, "%s: message '%s'", #call,               \
                  nerve_last_error());                                                             \
        cr_assert(mentions(word), "%s: message '%s' lacks '%s'", #call, nerve_last_error(),        \
                  word ? word : "");                                                               \
        cr_assert(untouched(), "%s wrote its output", #call);                                      \
    } while (0)

static const float in[64] = {1, 2, 3, 4};
static const char *const none = NULL;

Test(api_errors, activations) {
    BAD(nerve_act_forward((nerve_act)NERVE_ACT_COUNT, 4, in, out), "nerve_act_forward",
        "unknown activation");
    BAD(nerve_act_forward((nerve_act)-1, 4, in, out), "nerve_act_forward", "unknown activation");
    BAD(nerve_act_forward(NERVE_ACT_RELU, 4, NULL, out), "nerve_act_forward", "x is NULL");
    BAD(nerve_act_forward(NERVE_ACT_RELU, 4, in, NULL), "nerve_act_forward", "y is NULL");
    BAD(nerve_act_forward(NERVE_ACT_RELU, HUGE_N, in, out), "nerve_act_forward", "overflows");
    BAD(nerve_act_backward((nerve_act)99, 4, in, in, in, out), "nerve_act_backward", none);
    BAD(nerve_act_backward(NERVE_ACT_GELU, 4, in, NULL, in, out), "nerve_act_backward",
        "y is NULL");
    BAD(nerve_act_backward(NERVE_ACT_GELU, 4, in, in, NULL, out), "nerve_act_backward",
        "dy is NULL");
    BAD(nerve_act_backward(NERVE_ACT_GELU, 4, in, in, in, NULL), "nerve_act_backward",
        "dx is NULL");
    BAD(nerve_act_backward(NERVE_ACT_GELU, HUGE_N, in, in, in, out), "nerve_act_backward",
        "overflows");
    /* n == 0 needs no arrays */
    cr_assert_eq(nerve_act_forward(NERVE_ACT_RELU, 0, NULL, NULL), NERVE_OK);
    cr_assert_eq(nerve_act_backward(NERVE_ACT_RELU, 0, NULL, NULL, NULL, NULL), NERVE_OK);
}

Test(api_errors, softmax_and_losses) {
    const int32_t labels[4] = {0, 1, 2, 3}, bad_hi[2] = {0, 4}, bad_neg[2] = {-1, 0};
    BAD(nerve_softmax(2, 4, in, 3, out, 4), "nerve_softmax", "leading dimension of x");
    BAD(nerve_softmax(2, 4, in, 4, out, 2), "nerve_softmax", "leading dimension of y");
    BAD(nerve_softmax(2, 4, NULL, 4, out, 4), "nerve_softmax", "x is NULL");
    BAD(nerve_softmax(HUGE_N, 4, in, 4, out, 4), "nerve_softmax", "overflows");
    BAD(nerve_softmax(4, 4, out, 4, out, 8), "nerve_softmax", "in place");
    float mean = 12345.0f;
    BAD(nerve_loss_xent(2, 4, in, 4, bad_hi, 1.0f, out, 4, out + 32, &mean), "nerve_loss_xent",
        "label 4 of row 1");
    BAD(nerve_loss_xent(2, 4, in, 4, bad_neg, 1.0f, out, 4, out + 32, &mean), "nerve_loss_xent",
        "label -1 of row 0");
    cr_assert_eq(mean, 12345.0f);
    BAD(nerve_loss_xent(2, 4, in, 4, NULL, 1.0f, out, 4, NULL, NULL), "nerve_loss_xent",
        "labels is NULL");
    BAD(nerve_loss_xent(2, 4, in, 3, labels, 1.0f, out, 4, NULL, NULL), "nerve_loss_xent",
        "leading dimension");
    BAD(nerve_loss_xent(2, 4, in, 4, labels, 1.0f, out, 1, NULL, NULL), "nerve_loss_xent",
        "leading dimension of grad");
    BAD(nerve_loss_xent(0, 4, in, 4, labels, 1.0f, out, 4, NULL, NULL), "nerve_loss_xent", "empty");
    BAD(nerve_loss_xent(2, 4, out, 4, labels, 1.0f, out, 4, NULL, NULL), "nerve_loss_xent",
        "not in place");
    BAD(nerve_loss_mse(2, 4, in, 4, NULL, 4, 1.0f, out, 4, NULL, NULL), "nerve_loss_mse",
        "target is NULL");
    BAD(nerve_loss_mse(2, 4, NULL, 4, in, 4, 1.0f, out, 4, NULL, NULL), "nerve_loss_mse",
        "out is NULL");
    BAD(nerve_loss_mse(2, 4, in, 4, in, 2, 1.0f, out, 4, NULL, NULL), "nerve_loss_mse",
        "leading dimension of target");
    BAD(nerve_loss_mse(2, 0, in, 4, in, 4, 1.0f, out, 4, NULL, NULL), "nerve_loss_mse", "empty");
    BAD(nerve_loss_mse(HUGE_N, 4, in, 4, in, 4, 1.0f, out, 4, NULL, NULL), "nerve_loss_mse",
        "overflows");
}

Test(api_errors, optimizers) {
    float w[4] = {1, 2, 3, 4}, m[4] = {0}, v[4] = {0};
    const float g[4] = {1, 1, 1, 1};
    nerve_sgd_params sp = {0.1f, 0.9f, 0.0f, 0.0f, 0};
    const nerve_adam_params ap = {0.001f, 0.9f, 0.999f, 1e-8f, 0.0f};
    memcpy(out, w, sizeof w);
#define BAD_SGD(p, step, word)                                                                     \
    do {                                                                                           \
        cr_assert_eq(nerve_sgd_update(4, w, g, m, p, step), NERVE_EINVAL);                         \
        cr_assert(strstr(nerve_last_error(), word) != NULL, "'%s'", nerve_last_error());           \
        cr_assert(w[0] == 1 && m[0] == 0, "sgd touched w or m");                                   \
    } while (0)
    BAD_SGD(NULL, 1, "params is NULL");
    BAD_SGD(&sp, 0, "step is 0");
    sp.lr = -1;
    BAD_SGD(&sp, 1, "learning rate");
    sp.lr = NAN;
    BAD_SGD(&sp, 1, "learning rate");
    sp.lr = 0.1f;
    sp.momentum = -0.5f;
    BAD_SGD(&sp, 1, "momentum");
    sp.momentum = 0.0f;
    sp.nesterov = 1;
    BAD_SGD(&sp, 1, "Nesterov");
    sp.momentum = 0.9f;
    sp.dampening = 0.1f;
    BAD_SGD(&sp, 1, "Nesterov");
    sp.nesterov = 2;
    BAD_SGD(&sp, 1, "nesterov must be 0 or 1");
    sp.nesterov = 0;
    sp.dampening = INFINITY;
    BAD_SGD(&sp, 1, "dampening");
    sp.dampening = 0;
    sp.weight_decay = -1;
    BAD_SGD(&sp, 1, "weight decay");
    sp.weight_decay = 0;
    cr_assert_eq(nerve_sgd_update(4, w, g, NULL, &sp, 1),
                 NERVE_EINVAL); /* momentum needs a buffer */
    cr_assert(strstr(nerve_last_error(), "momentum_buf is NULL") != NULL);
    cr_assert_eq(nerve_sgd_update(4, NULL, g, m, &sp, 1), NERVE_EINVAL);
    cr_assert_eq(nerve_sgd_update(HUGE_N, w, g, m, &sp, 1), NERVE_EINVAL);
    sp.momentum = 0;
    cr_assert_eq(nerve_sgd_update(4, w, g, NULL, &sp, 1), NERVE_OK); /* plain SGD: no buffer */

    nerve_adam_params bad = ap;
    cr_assert_eq(nerve_adam_update(4, w, g, m, v, NULL, 1), NERVE_EINVAL);
    cr_assert_eq(nerve_adam_update(4, w, g, m, v, &ap, 0), NERVE_EINVAL);
    bad.beta1 = 1.0f;
    cr_assert_eq(nerve_adam_update(4, w, g, m, v, &bad, 1), NERVE_EINVAL);
    cr_assert(strstr(nerve_last_error(), "beta1") != NULL);
    bad = ap;
    bad.beta2 = -0.1f;
    cr_assert_eq(nerve_adamw_update(4, w, g, m, v, &bad, 1), NERVE_EINVAL);
    cr_assert(strstr(nerve_last_error(), "nerve_adamw_update: beta2") != NULL);
    bad = ap;
    bad.eps = -1;
    cr_assert_eq(nerve_adam_update(4, w, g, m, v, &bad, 1), NERVE_EINVAL);
    cr_assert_eq(nerve_adam_update(4, w, g, NULL, v, &ap, 1), NERVE_EINVAL);
    cr_assert(strstr(nerve_last_error(), "m is NULL") != NULL);
    cr_assert_eq(nerve_adam_update(4, w, g, m, NULL, &ap, 1), NERVE_EINVAL);
    cr_assert(m[0] == 0 && v[0] == 0);
}

Test(api_errors, linear) {
    const float x[64] = {0}, w[64] = {0};
    BAD(nerve_linear_forward(2, 4, 3, x, w, NULL, (nerve_act)42, NULL, out), "nerve_linear_forward",
        "unknown activation");
    BAD(nerve_linear_forward(2, 4, 3, NULL, w, NULL, NERVE_ACT_RELU, NULL, out),
        "nerve_linear_forward", "x is NULL");
    BAD(nerve_linear_forward(2, 4, 3, x, NULL, NULL, NERVE_ACT_RELU, NULL, out),
        "nerve_linear_forward", "w is NULL");
    BAD(nerve_linear_forward(2, 4, 3, x, w, NULL, NERVE_ACT_RELU, NULL, NULL),
        "nerve_linear_forward", "y is NULL");
    BAD(nerve_linear_forward(2, 4, 3, x, w, NULL, NERVE_ACT_RELU, out, out), "nerve_linear_forward",
        "different arrays");
    BAD(nerve_linear_forward(HUGE_N, 4, 3, x, w, NULL, NERVE_ACT_RELU, NULL, out),
        "nerve_linear_forward", "overflows");
    BAD(nerve_linear_forward(2, HUGE_N, 3, x, w, NULL, NERVE_ACT_RELU, NULL, out),
        "nerve_linear_forward", "overflows");
    BAD(nerve_linear_backward(2, 4, 3, x, w, x, out, NULL, 0, (nerve_act)-3, NULL, NULL, NULL),
        "nerve_linear_backward", "unknown activation");
    BAD(nerve_linear_backward(2, 4, 3, x, w, x, out, NULL, 2, NERVE_ACT_RELU, NULL, NULL, NULL),
        "nerve_linear_backward", "accumulate");
    BAD(nerve_linear_backward(2, 4, 3, x, w, NULL, out, NULL, 0, NERVE_ACT_RELU, NULL, NULL, NULL),
        "nerve_linear_backward", "dz is NULL");
    BAD(nerve_linear_backward(2, 4, 3, NULL, w, x, out, NULL, 0, NERVE_ACT_RELU, NULL, NULL, NULL),
        "nerve_linear_backward", "x is NULL");
    BAD(nerve_linear_backward(2, 4, 3, x, NULL, x, NULL, NULL, 0, NERVE_ACT_RELU, x, x, out),
        "nerve_linear_backward", "w is NULL");
    BAD(nerve_linear_backward(2, 4, 3, x, w, x, NULL, NULL, 0, NERVE_ACT_RELU, NULL, x, out),
        "nerve_linear_backward", "prev_z is NULL");
    BAD(nerve_linear_backward(2, 4, 3, x, w, x, NULL, NULL, 0, NERVE_ACT_TANH, x, NULL, out),
        "nerve_linear_backward", "prev_y is NULL");
    BAD(nerve_linear_backward(2, 4, 3, x, w, x, out, NULL, 0, NERVE_ACT_IDENTITY, NULL, NULL, out),
        "nerve_linear_backward", "same array");
    BAD(nerve_linear_backward(HUGE_N, 4, 3, x, w, x, out, NULL, 0, NERVE_ACT_RELU, NULL, NULL,
                              NULL),
        "nerve_linear_backward", "overflows");
    /* identity needs no prev_z / prev_y; nothing requested is fine */
    cr_assert_eq(
        nerve_linear_backward(2, 4, 3, x, w, x, NULL, NULL, 0, NERVE_ACT_IDENTITY, NULL, NULL, out),
        NERVE_OK);
    cr_assert_eq(nerve_linear_backward(2, 4, 3, NULL, NULL, x, NULL, NULL, 0, NERVE_ACT_RELU, NULL,
                                       NULL, NULL),
                 NERVE_OK);
    /* empty matrices need no pointers: out == 0 gives dX = act'(0) * 0 = 0 */
    float dx[8], pz[8] = {1, -1, 2, -2, 3, -3, 4, -4};
    memset(dx, 0xff, sizeof dx);
    cr_assert_eq(
        nerve_linear_backward(2, 4, 0, x, NULL, NULL, NULL, NULL, 0, NERVE_ACT_RELU, pz, pz, dx),
        NERVE_OK, "%s", nerve_last_error());
    for (int i = 0; i < 8; i++) cr_assert_eq(dx[i], 0.0f);
    cr_assert_eq(nerve_linear_forward(2, 0, 3, NULL, NULL, in, NERVE_ACT_RELU, NULL, out),
                 NERVE_OK);
    cr_assert(out[0] == 1 && out[1] == 2 && out[2] == 3 && out[3] == 1,
              "y = relu(b) with no inputs");
    cr_assert_eq(nerve_linear_forward(0, 4, 3, NULL, w, NULL, NERVE_ACT_RELU, NULL, NULL),
                 NERVE_OK);
}

Test(api_errors, blas1) {
    float r = 12345.0f;
    BAD(nerve_colsum(3, 4, in, 3, out, 0), "nerve_colsum", "leading dimension");
    BAD(nerve_colsum(3, 4, NULL, 4, out, 0), "nerve_colsum", "x is NULL");
    BAD(nerve_colsum(3, 4, in, 4, NULL, 0), "nerve_colsum", "y is NULL");
    BAD(nerve_colsum(3, 4, in, 4, out, -1), "nerve_colsum", "accumulate");
    BAD(nerve_colsum(3, HUGE_N, in, HUGE_N, out, 0), "nerve_colsum", "overflows");
    BAD(nerve_sum(4, NULL, &r), "nerve_sum", "x is NULL");
    BAD(nerve_sum(4, in, NULL), "nerve_sum", "result is NULL");
    BAD(nerve_sum(HUGE_N, in, &r), "nerve_sum", "overflows");
    BAD(nerve_dot(4, in, NULL, &r), "nerve_dot", "y is NULL");
    BAD(nerve_dot(4, in, in, NULL), "nerve_dot", "result is NULL");
    cr_assert_eq(r, 12345.0f);
    BAD(nerve_axpby(4, 1.0f, NULL, 0.0f, out), "nerve_axpby", "x is NULL");
    BAD(nerve_axpby(4, 1.0f, in, 0.0f, NULL), "nerve_axpby", "y is NULL");
    BAD(nerve_axpby(HUGE_N, 1.0f, in, 0.0f, out), "nerve_axpby", "overflows");
    cr_assert_eq(nerve_sum(0, NULL, &r), NERVE_OK);
    cr_assert_eq(r, 0.0f);
}

/* An update that stores a NaN or Inf is reported (NERVE_ENUMERIC with a
 * message), on every table and thread count: Adam with eps 0 on a zero
 * gradient divides 0 by 0 in element 37 only; SGD overflows in element 5. */
Test(api_errors, nonfinite_updates_reported) {
    nerve_isa isas[NERVE_ISA_COUNT];
    const size_t ni = test_supported_isas(isas);
    enum { N = 100 };
    for (size_t i = 0; i < ni; i++)
        for (int threads = 1; threads <= 3; threads += 2) {
            cr_assert_eq(nerve_set_max_isa(isas[i]), NERVE_OK);
            nerve_set_num_threads(threads);
            float w[N], g[N], m[N], v[N];
            for (int k = 0; k < N; k++) w[k] = 1.0f, g[k] = 0.5f, m[k] = v[k] = 0.0f;
            g[37] = 0.0f;
            const nerve_adam_params ap = {.lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 0.0f};
            cr_assert_eq(nerve_adam_update(N, w, g, m, v, &ap, 1), NERVE_ENUMERIC, "%s",
                         nerve_isa_name(isas[i]));
            cr_assert(strstr(nerve_last_error(), "NaN") != NULL, "%s", nerve_last_error());
            for (int k = 0; k < N; k++) w[k] = 1.0f, g[k] = 0.5f, m[k] = v[k] = 0.0f;
            cr_assert_eq(nerve_adam_update(N, w, g, m, v, &ap, 1), NERVE_OK, "%s",
                         nerve_last_error());
            g[5] = 3e38f;
            const nerve_sgd_params sp = {.lr = 10.0f};
            cr_assert_eq(nerve_sgd_update(N, w, g, NULL, &sp, 1), NERVE_ENUMERIC);
        }
    nerve_set_num_threads(0);
}
