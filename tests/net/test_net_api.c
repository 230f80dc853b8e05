/* The network API: creation and its checks, the documented initialisation
 * (re-derived here from the generator's published definition), accessors,
 * optimizer settings, invalid arguments, NaN/Inf losses, inference entry
 * points and the epoch helpers. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nerve.h"
#include "testutil.h"

static nerve_net *make(size_t layers, const size_t *sizes, const nerve_act *acts, nerve_loss loss,
                       uint64_t seed) {
    nerve_net *net = NULL;
    cr_assert_eq(nerve_net_create(&net, layers, sizes, acts, loss, seed), NERVE_OK, "%s",
                 nerve_last_error());
    return net;
}

/* ---- initialisation -------------------------------------------------------- */

/* splitmix64 and xoshiro256** written again from their published definitions
 * (docs/architecture.md, "Initialisation"). */
static uint64_t sm64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
static uint64_t xo(uint64_t s[4]) {
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t, s[3] = rotl(s[3], 45);
    return r;
}

Test(net_api, init_follows_documented_generator) {
    const size_t sizes[] = {7, 5, 3, 2};
    const nerve_act acts[] = {NERVE_ACT_RELU, NERVE_ACT_TANH, NERVE_ACT_GELU};
    const uint64_t seed = 12345;
    nerve_net *net = make(3, sizes, acts, NERVE_LOSS_MSE, seed);
    uint64_t st = seed, s[4];
    for (int i = 0; i < 4; i++) s[i] = sm64(&st);
    for (size_t l = 0; l < 3; l++) {
        const size_t in = sizes[l], out = sizes[l + 1];
        const int he = acts[l] != NERVE_ACT_TANH;
        const double a = he ? sqrt(6.0 / (double)in) : sqrt(6.0 / (double)(in + out));
        const float *w = nerve_net_weights(net, l);
        for (size_t i = 0; i < in * out; i++) {
            const double u = (double)(int64_t)(xo(s) >> 40) / 8388608.0 - 1.0; /* [-1, 1) */
            const float want = (float)a * (float)u;
            cr_assert_eq(memcmp(&w[i], &want, 4), 0, "layer %zu weight %zu: %a, want %a", l, i,
                         (double)w[i], (double)want);
            cr_assert(fabs(w[i]) <= a);
        }
        const float *b = nerve_net_bias(net, l);
        for (size_t i = 0; i < out; i++) cr_assert_eq(b[i], 0.0f);
    }
    nerve_net_free(net);
}

Test(net_api, init_statistics) {
    /* a wide layer: the uniform bound is reached and the variance is a^2/3 */
    const size_t sizes[] = {400, 300, 10};
    const nerve_act acts[] = {NERVE_ACT_RELU, NERVE_ACT_SIGMOID};
    nerve_net *net = make(2, sizes, acts, NERVE_LOSS_XENT, 7);
    for (size_t l = 0; l < 2; l++) {
        const double a = l == 0 ? sqrt(6.0 / 400) : sqrt(6.0 / 310);
        const size_t n = sizes[l] * sizes[l + 1];
        const float *w = nerve_net_weights(net, l);
        double s = 0, s2 = 0, mx = 0;
        for (size_t i = 0; i < n; i++)
            s += w[i], s2 += (double)w[i] * w[i], mx = fmax(mx, fabs(w[i]));
        const double var = s2 / (double)n - (s / (double)n) * (s / (double)n);
        cr_assert(mx <= a && mx > 0.97 * a, "layer %zu: max |w| %g, bound %g", l, mx, a);
        cr_assert(fabs(var / (a * a / 3) - 1) < 0.1, "layer %zu: variance %g, want %g", l, var,
                  a * a / 3);
        cr_assert(fabs(s / (double)n) < 0.05 * a);
    }
    nerve_net_free(net);
}

Test(net_api, seeds) {
    const size_t sizes[] = {4, 6, 3};
    const nerve_act acts[] = {NERVE_ACT_SIGMOID, NERVE_ACT_IDENTITY};
    nerve_net *a = make(2, sizes, acts, NERVE_LOSS_XENT, 1),
              *b = make(2, sizes, acts, NERVE_LOSS_XENT, 1),
              *c = make(2, sizes, acts, NERVE_LOSS_XENT, 2);
    cr_assert_eq(memcmp(nerve_net_weights(a, 0), nerve_net_weights(b, 0), 24 * 4), 0);
    cr_assert_neq(memcmp(nerve_net_weights(a, 0), nerve_net_weights(c, 0), 24 * 4), 0);
    nerve_net_free(a), nerve_net_free(b), nerve_net_free(c);
}

/* ---- creation and accessors ------------------------------------------------ */

Test(net_api, accessors) {
    const size_t sizes[] = {3, 5, 2};
    const nerve_act acts[] = {NERVE_ACT_ELU, NERVE_ACT_IDENTITY};
    nerve_net *net = make(2, sizes, acts, NERVE_LOSS_XENT, 9);
    cr_assert_eq(nerve_net_layers(net), 2);
    cr_assert_eq(nerve_net_width(net, 0), 3);
    cr_assert_eq(nerve_net_width(net, 2), 2);
    cr_assert_eq(nerve_net_width(net, 3), 0);
    cr_assert_eq(nerve_net_activation(net, 0), NERVE_ACT_ELU);
    cr_assert_eq(nerve_net_loss(net), NERVE_LOSS_XENT);
    cr_assert_eq(nerve_net_param_count(net), 3 * 5 + 5 + 5 * 2 + 2);
    cr_assert_null(nerve_net_weights(net, 2));
    cr_assert_null(nerve_net_bias(net, 2));
    cr_assert_null(nerve_net_weight_grad(net, 2));
    cr_assert_null(nerve_net_bias_grad(net, 2));
    cr_assert_eq(nerve_net_step_count(net), 0);
    cr_assert_eq(nerve_net_epoch_count(net), 0);
    /* a new network trains with plain SGD, lr 0.01 */
    nerve_opt o = nerve_net_optimizer(net);
    cr_assert_eq(o.kind, NERVE_OPT_SGD);
    cr_assert_eq(o.lr, 0.01f);
    cr_assert_eq(o.momentum, 0.0f);
    nerve_net_free(net);
    nerve_net_free(NULL);
}

Test(net_api, names) {
    for (int i = 0; i < NERVE_ACT_COUNT; i++) {
        nerve_act a;
        cr_assert_eq(nerve_act_from_name(nerve_act_name((nerve_act)i), &a), NERVE_OK);
        cr_assert_eq(a, (nerve_act)i);
    }
    cr_assert_str_eq(nerve_act_name(NERVE_ACT_LEAKY_RELU), "leaky_relu");
    cr_assert_str_eq(nerve_loss_name(NERVE_LOSS_XENT), "xent");
    cr_assert_str_eq(nerve_opt_name(NERVE_OPT_ADAMW), "adamw");
    cr_assert_str_eq(nerve_act_name((nerve_act)99), "unknown");
    nerve_act a;
    nerve_loss l;
    nerve_opt_kind k;
    cr_assert_eq(nerve_act_from_name("swish", &a), NERVE_EINVAL);
    cr_assert(strstr(nerve_last_error(), "swish") != NULL);
    cr_assert_eq(nerve_loss_from_name("MSE", &l), NERVE_OK);
    cr_assert_eq(l, NERVE_LOSS_MSE);
    cr_assert_eq(nerve_loss_from_name("hinge", &l), NERVE_EINVAL);
    cr_assert_eq(nerve_opt_from_name("Adam", &k), NERVE_OK);
    cr_assert_eq(k, NERVE_OPT_ADAM);
    cr_assert_eq(nerve_opt_from_name("rmsprop", &k), NERVE_EINVAL);
    cr_assert_eq(nerve_act_from_name(NULL, &a), NERVE_EINVAL);
}

Test(net_api, create_rejects_bad_arguments) {
    nerve_net *net = (nerve_net *)1;
    const size_t sizes[] = {3, 4, 2}, zero[] = {3, 0, 2}, one_class[] = {3, 4, 1};
    const nerve_act acts[] = {NERVE_ACT_RELU, NERVE_ACT_IDENTITY},
                    bad[] = {NERVE_ACT_RELU, (nerve_act)42};
    cr_assert_eq(nerve_net_create(&net, 0, sizes, acts, NERVE_LOSS_MSE, 1), NERVE_EINVAL);
    cr_assert_null(net);
    cr_assert_eq(nerve_net_create(&net, 2, NULL, acts, NERVE_LOSS_MSE, 1), NERVE_EINVAL);
    cr_assert_eq(nerve_net_create(&net, 2, sizes, NULL, NERVE_LOSS_MSE, 1), NERVE_EINVAL);
    cr_assert_eq(nerve_net_create(&net, 2, zero, acts, NERVE_LOSS_MSE, 1), NERVE_EINVAL);
    cr_assert(strstr(nerve_last_error(), "width 1") != NULL, "%s", nerve_last_error());
    cr_assert_eq(nerve_net_create(&net, 2, sizes, bad, NERVE_LOSS_MSE, 1), NERVE_EINVAL);
    cr_assert(strstr(nerve_last_error(), "activation") != NULL);
    cr_assert_eq(nerve_net_create(&net, 2, sizes, acts, (nerve_loss)5, 1), NERVE_EINVAL);
    cr_assert_eq(nerve_net_create(&net, 2, one_class, acts, NERVE_LOSS_XENT, 1), NERVE_EINVAL);
    cr_assert_eq(nerve_net_create(NULL, 2, sizes, acts, NERVE_LOSS_MSE, 1), NERVE_EINVAL);
    const size_t huge[] = {(size_t)1 << 20, (size_t)1 << 20, 2};
    cr_assert_eq(nerve_net_create(&net, 2, huge, acts, NERVE_LOSS_MSE, 1), NERVE_EINVAL);
}

/* ---- optimizer settings ---------------------------------------------------- */

Test(net_api, optimizer_defaults_and_validation) {
    nerve_opt s = nerve_opt_default(NERVE_OPT_SGD), a = nerve_opt_default(NERVE_OPT_ADAM),
              w = nerve_opt_default(NERVE_OPT_ADAMW);
    cr_assert_eq(s.lr, 0.01f);
    cr_assert_eq(s.momentum, 0.0f);
    cr_assert_eq(s.weight_decay, 0.0f);
    cr_assert_eq(a.lr, 0.001f);
    cr_assert_eq(a.beta1, 0.9f);
    cr_assert_eq(a.beta2, 0.999f);
    cr_assert_eq(a.eps, 1e-8f);
    cr_assert_eq(a.weight_decay, 0.0f);
    cr_assert_eq(w.weight_decay, 0.01f);
    cr_assert_eq(w.lr, 0.001f);

    const size_t sizes[] = {2, 2};
    const nerve_act acts[] = {NERVE_ACT_IDENTITY};
    nerve_net *net = make(1, sizes, acts, NERVE_LOSS_MSE, 1);
    struct {
        nerve_opt o;
        const char *why;
    } bad[] = {
        {{.kind = NERVE_OPT_SGD, .lr = -0.1f}, "learning rate"},
        {{.kind = NERVE_OPT_SGD, .lr = NAN}, "learning rate"},
        {{.kind = NERVE_OPT_SGD, .lr = 0.1f, .momentum = -1}, "momentum"},
        {{.kind = NERVE_OPT_SGD, .lr = 0.1f, .nesterov = 1}, "Nesterov"},
        {{.kind = NERVE_OPT_SGD, .lr = 0.1f, .weight_decay = -1}, "weight decay"},
        {{.kind = NERVE_OPT_ADAM, .lr = 0.1f, .beta1 = 1.0f, .beta2 = 0.9f}, "beta1"},
        {{.kind = NERVE_OPT_ADAM, .lr = 0.1f, .beta1 = 0.9f, .beta2 = -0.1f}, "beta2"},
        {{.kind = NERVE_OPT_ADAMW, .lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.9f, .eps = -1}, "eps"},
        {{.kind = (nerve_opt_kind)7, .lr = 0.1f}, "kind"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(nerve_net_set_optimizer(net, &bad[i].o), NERVE_EINVAL, "case %zu accepted", i);
        cr_assert(strstr(nerve_last_error(), bad[i].why) != NULL, "case %zu: '%s'", i,
                  nerve_last_error());
    }
    /* a rejected setting leaves the old one */
    cr_assert_eq(nerve_net_optimizer(net).kind, NERVE_OPT_SGD);
    cr_assert_eq(nerve_net_optimizer(net).lr, 0.01f);
    cr_assert_eq(nerve_net_set_optimizer(net, NULL), NERVE_EINVAL);
    cr_assert_eq(nerve_net_set_optimizer(net, &a), NERVE_OK);
    cr_assert_eq(nerve_net_optimizer(net).kind, NERVE_OPT_ADAM);
    nerve_net_free(net);
}

/* Plain SGD by hand on a 1-layer identity network: w -= lr * g exactly as
 * the gradient says; setting an optimizer resets the step count. */
Test(net_api, default_sgd_step_and_reset) {
    const size_t sizes[] = {3, 2};
    const nerve_act acts[] = {NERVE_ACT_IDENTITY};
    nerve_net *net = make(1, sizes, acts, NERVE_LOSS_MSE, 4);
    float w0[6], b0[2];
    memcpy(w0, nerve_net_weights(net, 0), sizeof w0);
    memcpy(b0, nerve_net_bias(net, 0), sizeof b0);
    const float x[6] = {1, 2, 3, -1, 0.5f, 2}, y[4] = {0.5f, -1, 2, 0};
    nerve_batch b = {.x = x, .y = y, .n = 2};
    float loss;
    cr_assert_eq(nerve_net_train_batch(net, &b, &loss), NERVE_OK);
    /* reference gradient in double: L = mean over 4 of (o - y)^2 */
    double gw[6] = {0}, gb[2] = {0}, l = 0;
    for (int s = 0; s < 2; s++)
        for (int o = 0; o < 2; o++) {
            double z = b0[o];
            for (int i = 0; i < 3; i++) z += (double)w0[o * 3 + i] * x[s * 3 + i];
            const double e = z - y[s * 2 + o];
            l += e * e / 4;
            gb[o] += 2 * e / 4;
            for (int i = 0; i < 3; i++) gw[o * 3 + i] += 2 * e / 4 * x[s * 3 + i];
        }
    cr_assert(fabs(loss - l) < 1e-5 * fabs(l));
    const float *w = nerve_net_weights(net, 0), *g = nerve_net_weight_grad(net, 0);
    for (int i = 0; i < 6; i++) {
        cr_assert(fabs(g[i] - gw[i]) < 1e-5 * (fabs(gw[i]) + 1e-3));
        cr_assert(fabs(w[i] - (w0[i] - 0.01 * gw[i])) < 1e-6, "w[%d]", i);
    }
    cr_assert(fabs(nerve_net_bias(net, 0)[1] - (b0[1] - 0.01 * gb[1])) < 1e-6);
    cr_assert_eq(nerve_net_step_count(net), 1);
    nerve_opt o = nerve_opt_default(NERVE_OPT_SGD);
    o.momentum = 0.5f;
    cr_assert_eq(nerve_net_set_optimizer(net, &o), NERVE_OK);
    cr_assert_eq(nerve_net_step_count(net), 0);
    nerve_net_free(net);
}

/* Setting an optimizer resets its state: two networks from the same seed, one
 * trained first with Adam for a few steps and then given a fresh Adam, then
 * both train the same batches: the later updates equal a fresh Adam's on the
 * second network's weights. */
Test(net_api, set_optimizer_resets_state) {
    const size_t sizes[] = {4, 5, 3};
    const nerve_act acts[] = {NERVE_ACT_TANH, NERVE_ACT_IDENTITY};
    nerve_net *a = make(2, sizes, acts, NERVE_LOSS_XENT, 3),
              *b = make(2, sizes, acts, NERVE_LOSS_XENT, 3);
    nerve_opt adam = nerve_opt_default(NERVE_OPT_ADAM);
    adam.lr = 0.05f;
    cr_assert_eq(nerve_net_set_optimizer(a, &adam), NERVE_OK);
    float x[8];
    int32_t lab[2] = {1, 2};
    test_fill(x, 8, 5, -1, 1);
    nerve_batch bt = {.x = x, .labels = lab, .n = 2};
    for (int i = 0; i < 3; i++) cr_assert_eq(nerve_net_train_batch(a, &bt, NULL), NERVE_OK);
    /* b gets a's weights, then both get a fresh Adam */
    for (size_t l = 0; l < 2; l++) {
        memcpy(nerve_net_weights(b, l), nerve_net_weights(a, l), sizes[l] * sizes[l + 1] * 4);
        memcpy(nerve_net_bias(b, l), nerve_net_bias(a, l), sizes[l + 1] * 4);
    }
    cr_assert_eq(nerve_net_set_optimizer(a, &adam), NERVE_OK);
    cr_assert_eq(nerve_net_set_optimizer(b, &adam), NERVE_OK);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(nerve_net_train_batch(a, &bt, NULL), NERVE_OK);
        cr_assert_eq(nerve_net_train_batch(b, &bt, NULL), NERVE_OK);
    }
    for (size_t l = 0; l < 2; l++)
        cr_assert_eq(
            memcmp(nerve_net_weights(a, l), nerve_net_weights(b, l), sizes[l] * sizes[l + 1] * 4),
            0);
    nerve_net_free(a), nerve_net_free(b);
}

/* ---- training-call argument checks ------------------------------------------ */

Test(net_api, batch_rejects_bad_arguments) {
    const size_t sizes[] = {3, 4, 3};
    const nerve_act acts[] = {NERVE_ACT_RELU, NERVE_ACT_IDENTITY};
    nerve_net *xe = make(2, sizes, acts, NERVE_LOSS_XENT, 1),
              *ms = make(2, sizes, acts, NERVE_LOSS_MSE, 1);
    float x[6] = {0}, y[6] = {0};
    int32_t lab[2] = {0, 3}, ok[2] = {0, 2}, neg[2] = {-1, 0};
    float loss;
    nerve_batch b = {.x = x, .labels = ok, .n = 0};
    cr_assert_eq(nerve_net_train_batch(xe, &b, &loss), NERVE_EINVAL);
    cr_assert(strstr(nerve_last_error(), "n = 0") != NULL, "%s", nerve_last_error());
    b.n = 2;
    b.labels = lab;
    cr_assert_eq(nerve_net_train_batch(xe, &b, &loss), NERVE_EINVAL);
    cr_assert(strstr(nerve_last_error(), "label 3") != NULL, "%s", nerve_last_error());
    b.labels = neg;
    cr_assert_eq(nerve_net_gradients(xe, &b, &loss), NERVE_EINVAL);
    b.labels = ok;
    b.y = y;
    cr_assert_eq(nerve_net_train_batch(xe, &b, &loss), NERVE_EINVAL); /* both given */
    b.labels = NULL;
    cr_assert_eq(nerve_net_train_batch(xe, &b, &loss), NERVE_EINVAL); /* y for xent */
    cr_assert(strstr(nerve_last_error(), "labels") != NULL);
    cr_assert_eq(nerve_net_train_batch(ms, &b, &loss), NERVE_OK); /* y for mse */
    b.y = NULL;
    b.labels = ok;
    cr_assert_eq(nerve_net_train_batch(ms, &b, &loss), NERVE_EINVAL); /* labels for mse */
    b.labels = NULL;
    cr_assert_eq(nerve_net_train_batch(ms, &b, &loss), NERVE_EINVAL); /* neither */
    b.x = NULL;
    b.y = y;
    cr_assert_eq(nerve_net_train_batch(ms, &b, &loss), NERVE_EINVAL);
    cr_assert_eq(nerve_net_train_batch(NULL, &b, &loss), NERVE_EINVAL);
    cr_assert_eq(nerve_net_train_batch(ms, NULL, &loss), NERVE_EINVAL);
    float out[6];
    cr_assert_eq(nerve_net_forward(ms, x, 0, out), NERVE_EINVAL);
    cr_assert_eq(nerve_net_forward(ms, NULL, 2, out), NERVE_EINVAL);
    cr_assert_eq(nerve_net_forward(ms, x, 2, NULL), NERVE_EINVAL);
    cr_assert_eq(nerve_net_forward_const(ms, x, 0, out, NULL), NERVE_EINVAL);
    cr_assert_eq(nerve_net_step_count(ms), 1);
    nerve_net_free(xe), nerve_net_free(ms);
}

/* A NaN or infinite loss is NERVE_ENUMERIC naming the step; nothing changes. */
Test(net_api, nonfinite_loss) {
    const size_t sizes[] = {3, 4, 2};
    /* identity layers: NaN and Inf inputs reach the loss unchanged */
    const nerve_act acts[] = {NERVE_ACT_IDENTITY, NERVE_ACT_IDENTITY};
    nerve_net *net = make(2, sizes, acts, NERVE_LOSS_MSE, 1);
    nerve_opt o = nerve_opt_default(NERVE_OPT_ADAM);
    cr_assert_eq(nerve_net_set_optimizer(net, &o), NERVE_OK);
    float x[6] = {1, 2, 3, 4, 5, 6}, y[4] = {0, 1, 0, 1};
    nerve_batch b = {.x = x, .y = y, .n = 2};
    cr_assert_eq(nerve_net_train_batch(net, &b, NULL), NERVE_OK);
    const size_t np = 3 * 4 + 4 + 4 * 2 + 2;
    float before[3 * 4 + 4 + 4 * 2 + 2], gbefore[3 * 4];
    memcpy(before, nerve_net_weights(net, 0), 12 * 4);
    memcpy(before + 12, nerve_net_bias(net, 0), 4 * 4);
    memcpy(before + 16, nerve_net_weights(net, 1), 8 * 4);
    memcpy(before + 24, nerve_net_bias(net, 1), 2 * 4);
    memcpy(gbefore, nerve_net_weight_grad(net, 0), sizeof gbefore);
    const float bad[2] = {NAN, INFINITY};
    for (int k = 0; k < 2; k++) {
        for (int n = 1; n <= 2; n++) { /* GEMV and GEMM paths */
            x[1] = bad[k];
            b.n = (size_t)n;
            float loss = 0;
            cr_assert_eq(nerve_net_train_batch(net, &b, &loss), NERVE_ENUMERIC);
            cr_assert(!isfinite(loss));
            cr_assert(strstr(nerve_last_error(), "step 2") != NULL, "%s", nerve_last_error());
            float after[3 * 4 + 4 + 4 * 2 + 2];
            memcpy(after, nerve_net_weights(net, 0), 12 * 4);
            memcpy(after + 12, nerve_net_bias(net, 0), 4 * 4);
            memcpy(after + 16, nerve_net_weights(net, 1), 8 * 4);
            memcpy(after + 24, nerve_net_bias(net, 1), 2 * 4);
            cr_assert_eq(memcmp(before, after, np * 4), 0, "weights changed by a failed step");
            cr_assert_eq(memcmp(gbefore, nerve_net_weight_grad(net, 0), sizeof gbefore), 0);
            cr_assert_eq(nerve_net_step_count(net), 1);
        }
    }
    /* infinite targets: the loss overflows */
    x[1] = 2;
    y[0] = INFINITY;
    b.n = 2;
    cr_assert_eq(nerve_net_train_batch(net, &b, NULL), NERVE_ENUMERIC);
    nerve_net_free(net);
}

/* ---- inference ------------------------------------------------------------- */

Test(net_api, forward_paths_agree) {
    const size_t sizes[] = {20, 33, 17, 4};
    const nerve_act acts[] = {NERVE_ACT_GELU, NERVE_ACT_SIGMOID, NERVE_ACT_IDENTITY};
    nerve_net *net = make(3, sizes, acts, NERVE_LOSS_XENT, 8);
    enum { N = 2100 }; /* more rows than one pass takes: several chunks */
    float *x = malloc(N * 20 * 4), *o1 = malloc(N * 4 * 4), *o2 = malloc(N * 4 * 4);
    test_fill(x, N * 20, 1, -1, 1);
    cr_assert_eq(nerve_net_forward(net, x, N, o1), NERVE_OK);
    /* const with its own scratch and with caller scratch: identical bits */
    cr_assert_eq(nerve_net_forward_const(net, x, N, o2, NULL), NERVE_OK);
    cr_assert_eq(test_first_bit_mismatch(o1, o2, N * 4), SIZE_MAX);
    const size_t sf = nerve_net_forward_scratch_floats(net, N);
    float *scratch = malloc(sf * 4);
    memset(o2, 0, N * 16);
    cr_assert_eq(nerve_net_forward_const(net, x, N, o2, scratch), NERVE_OK);
    cr_assert_eq(test_first_bit_mismatch(o1, o2, N * 4), SIZE_MAX);
    /* any n > 1 gives every row the same bits (GEMM chains per element) */
    cr_assert_eq(nerve_net_forward(net, x + 20 * 5, 7, o2), NERVE_OK);
    cr_assert_eq(test_first_bit_mismatch(o1 + 4 * 5, o2, 7 * 4), SIZE_MAX);
    /* n == 1 (GEMV) agrees closely */
    for (size_t r = 0; r < 5; r++) {
        cr_assert_eq(nerve_net_forward(net, x + 20 * r, 1, o2), NERVE_OK);
        float o3[4];
        cr_assert_eq(nerve_net_forward_const(net, x + 20 * r, 1, o3, NULL), NERVE_OK);
        cr_assert_eq(test_first_bit_mismatch(o2, o3, 4), SIZE_MAX);
        for (int j = 0; j < 4; j++)
            cr_assert(fabsf(o2[j] - o1[r * 4 + j]) <= 1e-5f * (fabsf(o1[r * 4 + j]) + 1e-2f));
    }
    /* a weight write takes effect at the next call */
    nerve_net_bias(net, 2)[1] += 1.0f;
    cr_assert_eq(nerve_net_forward(net, x, 3, o2), NERVE_OK);
    for (int r = 0; r < 3; r++) cr_assert(fabsf(o2[r * 4 + 1] - (o1[r * 4 + 1] + 1.0f)) < 1e-5f);
    free(x), free(o1), free(o2), free(scratch);
    nerve_net_free(net);
}

/* ---- epoch helpers ----------------------------------------------------------- */

static size_t calls;
static void progress(void *user, size_t done, size_t total, float loss) {
    (void)loss;
    cr_assert_eq(total, 100);
    cr_assert(done > 0 && done <= total);
    *(int *)user += 1;
    calls++;
}

Test(net_api, epochs) {
    const size_t sizes[] = {6, 12, 3};
    const nerve_act acts[] = {NERVE_ACT_TANH, NERVE_ACT_IDENTITY};
    nerve_net *a = make(2, sizes, acts, NERVE_LOSS_XENT, 11),
              *b = make(2, sizes, acts, NERVE_LOSS_XENT, 11);
    float x[100 * 6];
    int32_t lab[100];
    test_fill(x, 600, 2, -1, 1);
    for (int i = 0; i < 100; i++) lab[i] = x[i * 6] > 0 ? (x[i * 6 + 1] > 0 ? 2 : 1) : 0;
    nerve_dataset d = {.x = x, .labels = lab, .n = 100, .in = 6, .out = 3};
    int count = 0;
    nerve_epoch_opts eo = {
        .batch_size = 16, .shuffle = 1, .progress = progress, .progress_user = &count};
    nerve_eval r1, r2;
    cr_assert_eq(nerve_net_train_epoch(a, &d, &eo, &r1), NERVE_OK, "%s", nerve_last_error());
    cr_assert_eq(count, 7); /* ceil(100 / 16) batches */
    cr_assert_eq(r1.n, 100);
    cr_assert_eq(nerve_net_epoch_count(a), 1);
    cr_assert_eq(nerve_net_step_count(a), 7);
    /* same seed, same options: same result, bit for bit */
    cr_assert_eq(nerve_net_train_epoch(b, &d, &eo, &r2), NERVE_OK);
    cr_assert_eq(r1.loss, r2.loss);
    cr_assert_eq(memcmp(nerve_net_weights(a, 0), nerve_net_weights(b, 0), 72 * 4), 0);
    /* shuffling differs from the unshuffled order */
    nerve_net *c = make(2, sizes, acts, NERVE_LOSS_XENT, 11);
    eo.shuffle = 0;
    cr_assert_eq(nerve_net_train_epoch(c, &d, &eo, &r2), NERVE_OK);
    cr_assert_neq(memcmp(nerve_net_weights(a, 0), nerve_net_weights(c, 0), 72 * 4), 0);
    /* learning happens: accuracy after 30 epochs */
    eo.progress = NULL;
    for (int e = 0; e < 30; e++) cr_assert_eq(nerve_net_train_epoch(c, &d, &eo, &r2), NERVE_OK);
    nerve_eval ev;
    cr_assert_eq(nerve_net_evaluate(c, &d, &ev), NERVE_OK);
    cr_assert_eq(ev.n, 100);
    cr_assert(ev.accuracy > 0.85, "accuracy %g", ev.accuracy);
    cr_assert(ev.loss < r1.loss);
    /* evaluate's loss is the mean of the per-sample losses of forward's logits */
    float out[300];
    cr_assert_eq(nerve_net_forward(c, x, 100, out), NERVE_OK);
    double l = 0;
    size_t ok = 0;
    for (int i = 0; i < 100; i++) {
        double m = fmax(out[i * 3], fmax(out[i * 3 + 1], out[i * 3 + 2])), se = 0;
        size_t best = 0;
        for (int j = 0; j < 3; j++) {
            se += exp(out[i * 3 + j] - m);
            if (out[i * 3 + j] > out[i * 3 + best]) best = (size_t)j;
        }
        l += log(se) + m - out[i * 3 + lab[i]];
        ok += best == (size_t)lab[i];
    }
    cr_assert(fabs(ev.loss - l / 100) < 1e-5 * fabs(l / 100));
    cr_assert_eq(ev.accuracy, (double)ok / 100);
    /* the stop flag ends the epoch after the current batch, uncounted */
    nerve_stop_flag stop = 1;
    eo.stop = &stop;
    const uint64_t ep = nerve_net_epoch_count(c);
    cr_assert_eq(nerve_net_train_epoch(c, &d, &eo, &r2), NERVE_OK);
    cr_assert_eq(r2.n, 16);
    cr_assert_eq(nerve_net_epoch_count(c), ep);
    /* dimension mismatches */
    nerve_dataset bad = d;
    bad.in = 5;
    cr_assert_eq(nerve_net_train_epoch(c, &bad, NULL, NULL), NERVE_EINVAL);
    cr_assert(strstr(nerve_last_error(), "5 features") != NULL, "%s", nerve_last_error());
    bad = d;
    bad.out = 4;
    cr_assert_eq(nerve_net_evaluate(c, &bad, &ev), NERVE_EINVAL);
    bad = d;
    bad.n = 0;
    cr_assert_eq(nerve_net_evaluate(c, &bad, &ev), NERVE_EINVAL);
    bad = d;
    lab[50] = 3;
    cr_assert_eq(nerve_net_train_epoch(c, &bad, NULL, NULL), NERVE_EINVAL);
    cr_assert(strstr(nerve_last_error(), "sample 50") != NULL, "%s", nerve_last_error());
    nerve_net_free(a), nerve_net_free(b), nerve_net_free(c);
}

/* Regression data set: mse loss, accuracy 0. */
Test(net_api, evaluate_regression) {
    const size_t sizes[] = {2, 8, 1};
    const nerve_act acts[] = {NERVE_ACT_TANH, NERVE_ACT_IDENTITY};
    nerve_net *net = make(2, sizes, acts, NERVE_LOSS_MSE, 5);
    float x[40], y[20];
    test_fill(x, 40, 3, -1, 1);
    for (int i = 0; i < 20; i++) y[i] = x[2 * i] * x[2 * i + 1];
    nerve_dataset d = {.x = x, .y = y, .n = 20, .in = 2, .out = 1};
    nerve_eval ev;
    cr_assert_eq(nerve_net_evaluate(net, &d, &ev), NERVE_OK);
    float out[20];
    cr_assert_eq(nerve_net_forward(net, x, 20, out), NERVE_OK);
    double l = 0;
    for (int i = 0; i < 20; i++) l += ((double)out[i] - y[i]) * ((double)out[i] - y[i]);
    cr_assert(fabs(ev.loss - l / 20) < 1e-5 * l / 20);
    cr_assert_eq(ev.accuracy, 0.0);
    nerve_net_free(net);
}

/* nerve_net_set_lr changes the rate only: the step count and the momentum
 * survive (a schedule), and the next step uses the new rate. */
Test(net_api, set_lr_keeps_state) {
    const size_t sizes[] = {3, 4, 2};
    const nerve_act acts[] = {NERVE_ACT_TANH, NERVE_ACT_IDENTITY};
    nerve_net *a = make(2, sizes, acts, NERVE_LOSS_MSE, 6),
              *b = make(2, sizes, acts, NERVE_LOSS_MSE, 6);
    nerve_opt o = nerve_opt_default(NERVE_OPT_SGD);
    o.lr = 0.1f;
    o.momentum = 0.9f;
    cr_assert_eq(nerve_net_set_optimizer(a, &o), NERVE_OK);
    o.lr = 0.05f;
    cr_assert_eq(nerve_net_set_optimizer(b, &o), NERVE_OK);
    float x[6], y[4];
    test_fill(x, 6, 1, -1, 1);
    test_fill(y, 4, 2, -1, 1);
    nerve_batch bt = {.x = x, .y = y, .n = 2};
    /* a: two steps at 0.1, then 0.05; b: the same with its own rate changed */
    for (int i = 0; i < 2; i++) cr_assert_eq(nerve_net_train_batch(a, &bt, NULL), NERVE_OK);
    cr_assert_eq(nerve_net_set_lr(b, 0.1f), NERVE_OK);
    for (int i = 0; i < 2; i++) cr_assert_eq(nerve_net_train_batch(b, &bt, NULL), NERVE_OK);
    cr_assert_eq(nerve_net_set_lr(a, 0.05f), NERVE_OK);
    cr_assert_eq(nerve_net_set_lr(b, 0.05f), NERVE_OK);
    cr_assert_eq(nerve_net_step_count(a), 2);
    cr_assert_eq(nerve_net_optimizer(a).momentum, 0.9f);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(nerve_net_train_batch(a, &bt, NULL), NERVE_OK);
        cr_assert_eq(nerve_net_train_batch(b, &bt, NULL), NERVE_OK);
    }
    cr_assert_eq(memcmp(nerve_net_weights(a, 0), nerve_net_weights(b, 0), 12 * 4), 0);
    cr_assert_eq(nerve_net_step_count(a), 4);
    cr_assert_eq(nerve_net_set_lr(a, -1.0f), NERVE_EINVAL);
    cr_assert_eq(nerve_net_set_lr(a, INFINITY), NERVE_EINVAL);
    cr_assert_eq(nerve_net_set_lr(NULL, 0.1f), NERVE_EINVAL);
    cr_assert_eq(nerve_net_optimizer(a).lr, 0.05f);
    /* setting the same rate mid-run changes nothing (momentum kept) */
    nerve_net *c = make(2, sizes, acts, NERVE_LOSS_MSE, 6),
              *d = make(2, sizes, acts, NERVE_LOSS_MSE, 6);
    o.lr = 0.1f;
    cr_assert_eq(nerve_net_set_optimizer(c, &o), NERVE_OK);
    cr_assert_eq(nerve_net_set_optimizer(d, &o), NERVE_OK);
    for (int i = 0; i < 4; i++) {
        if (i == 2) cr_assert_eq(nerve_net_set_lr(c, 0.1f), NERVE_OK);
        cr_assert_eq(nerve_net_train_batch(c, &bt, NULL), NERVE_OK);
        cr_assert_eq(nerve_net_train_batch(d, &bt, NULL), NERVE_OK);
    }
    cr_assert_eq(memcmp(nerve_net_weights(c, 0), nerve_net_weights(d, 0), 12 * 4), 0);
    nerve_net_free(a), nerve_net_free(b), nerve_net_free(c), nerve_net_free(d);
}
