/* nerve_net_set_lr: changes the learning rate and keeps the optimizer state
 * (what the CLI's cosine schedule relies on). A one-layer linear network
 * with MSE on one sample is small enough to follow by hand: the gradient of
 * (w.x + b - y)^2 is 2 r x for the weights and 2 r for the bias, r the
 * residual; PyTorch's SGD with momentum (buffer starts as the first
 * gradient, then v = m v + g; w -= lr v) and Adam (bias-corrected moments)
 * are written here in double precision. */
#include <criterion/criterion.h>
#include <math.h>

#include "nerve/nerve.h"

#define IN 3

static const float x[IN] = {0.5f, -1.0f, 2.0f};
static const float y[1] = {0.25f};

static nerve_net *make(void) {
    size_t sizes[] = {IN, 1};
    nerve_act acts[] = {NERVE_ACT_IDENTITY};
    nerve_net *net = NULL;
    cr_assert_eq(nerve_net_create(&net, 1, sizes, acts, NERVE_LOSS_MSE, 3), NERVE_OK);
    return net;
}

static void step(nerve_net *net) {
    nerve_batch b = {.x = x, .y = y, .n = 1};
    cr_assert_eq(nerve_net_train_batch(net, &b, NULL), NERVE_OK, "%s", nerve_last_error());
}

/* gradient of the squared residual at parameters p (IN weights, then bias) */
static void grad(const double *p, double *g) {
    double r = p[IN] - y[0];
    for (int i = 0; i < IN; i++) r += p[i] * x[i];
    for (int i = 0; i < IN; i++) g[i] = 2 * r * x[i];
    g[IN] = 2 * r;
}

static void load(nerve_net *net, double *p) {
    for (int i = 0; i < IN; i++) p[i] = nerve_net_weights(net, 0)[i];
    p[IN] = nerve_net_bias(net, 0)[0];
}

static void expect_params(nerve_net *net, const double *p, const char *what) {
    for (int i = 0; i <= IN; i++) {
        double got = i < IN ? nerve_net_weights(net, 0)[i] : nerve_net_bias(net, 0)[0];
        cr_assert(fabs(got - p[i]) <= 1e-6 * (fabs(p[i]) + 1),
                  "%s: parameter %d is %.9g, expected %.9g", what, i, got, p[i]);
    }
}

Test(set_lr, sgd_keeps_momentum) {
    nerve_net *net = make();
    nerve_opt o = nerve_opt_default(NERVE_OPT_SGD);
    o.lr = 0.1f;
    o.momentum = 0.9f;
    cr_assert_eq(nerve_net_set_optimizer(net, &o), NERVE_OK);
    double p[IN + 1], g[IN + 1], v[IN + 1] = {0};
    load(net, p);
    const double lrs[] = {0.1, 0.05, 0.02};
    for (int t = 0; t < 3; t++) {
        if (t > 0) cr_assert_eq(nerve_net_set_lr(net, (float)lrs[t]), NERVE_OK);
        step(net);
        grad(p, g);
        for (int i = 0; i <= IN; i++) {
            v[i] = t == 0 ? g[i] : 0.9 * v[i] + g[i];
            p[i] -= (double)(float)lrs[t] * v[i];
        }
        expect_params(net, p, "sgd");
    }
    cr_assert_eq(nerve_net_step_count(net), 3, "the step count restarted");
    cr_assert_eq(nerve_net_optimizer(net).lr, 0.02f);
    cr_assert_eq(nerve_net_optimizer(net).momentum, 0.9f, "other settings changed");
    nerve_net_free(net);
}

Test(set_lr, adam_keeps_moments_and_step) {
    nerve_net *net = make();
    nerve_opt o = nerve_opt_default(NERVE_OPT_ADAM);
    o.lr = 0.01f;
    cr_assert_eq(nerve_net_set_optimizer(net, &o), NERVE_OK);
    double p[IN + 1], g[IN + 1], m[IN + 1] = {0}, v[IN + 1] = {0};
    load(net, p);
    const double lrs[] = {0.01, 0.003, 0.001};
    for (int t = 1; t <= 3; t++) {
        if (t > 1) cr_assert_eq(nerve_net_set_lr(net, (float)lrs[t - 1]), NERVE_OK);
        step(net);
        grad(p, g);
        double b1 = (double)o.beta1, b2 = (double)o.beta2;
        for (int i = 0; i <= IN; i++) {
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
            double mh = m[i] / (1 - pow(b1, t)), vh = v[i] / (1 - pow(b2, t));
            p[i] -= (double)(float)lrs[t - 1] * mh / (sqrt(vh) + (double)o.eps);
        }
        expect_params(net, p, "adam");
    }
    nerve_net_free(net);
}

Test(set_lr, rejects_bad_rates) {
    nerve_net *net = make();
    cr_assert_eq(nerve_net_set_lr(net, -0.1f), NERVE_EINVAL);
    cr_assert_eq(nerve_net_set_lr(net, NAN), NERVE_EINVAL);
    cr_assert_eq(nerve_net_set_lr(net, INFINITY), NERVE_EINVAL);
    cr_assert_eq(nerve_net_set_lr(NULL, 0.1f), NERVE_EINVAL);
    cr_assert(nerve_last_error()[0] != '\0');
    cr_assert_eq(nerve_net_set_lr(net, 0.0f), NERVE_OK, "a zero rate is valid");
    nerve_net_free(net);
}
