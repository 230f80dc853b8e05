/* Backpropagation against finite differences: for every activation and both
 * losses, on small random networks, the gradients nerve computes (float) match
 * central differences of a double-precision forward pass written here,
 * independently of the library. Batch 3 (GEMM path) and batch 1 (GEMV path),
 * on every ISA this CPU supports. The forward outputs are checked against the
 * same double reference. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nerve.h"
#include "testutil.h"

#define L 3
static const size_t sizes[L + 1] = {5, 9, 7, 4};

static double act_d(nerve_act a, double x) {
    switch (a) {
    case NERVE_ACT_IDENTITY:
        return x;
    case NERVE_ACT_SIGMOID:
        return 1.0 / (1.0 + exp(-x));
    case NERVE_ACT_TANH:
        return tanh(x);
    case NERVE_ACT_RELU:
        return x > 0 ? x : 0.0;
    case NERVE_ACT_LEAKY_RELU:
        return x > 0 ? x : 0.01 * x;
    case NERVE_ACT_ELU:
        return x > 0 ? x : expm1(x);
    case NERVE_ACT_GELU:
        return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    case NERVE_ACT_SILU:
        return x / (1.0 + exp(-x));
    case NERVE_ACT_SOFTPLUS:
        return x > 20 ? x : log1p(exp(x));
    default:
        cr_assert_fail("bad activation");
        return 0;
    }
}

typedef struct ref {
    nerve_act acts[L];
    nerve_loss loss;
    double *w[L], *b[L];
} ref;

/* Mean loss of the batch in double; out (n x C) gets the network output. */
static double ref_loss(const ref *r, const float *x, const float *y, const int32_t *labels,
                       size_t n, double *outp) {
    double h[2][16];
    double total = 0;
    const size_t C = sizes[L];
    for (size_t s = 0; s < n; s++) {
        for (size_t j = 0; j < sizes[0]; j++) h[0][j] = x[s * sizes[0] + j];
        int cur = 0;
        for (size_t l = 0; l < L; l++) {
            for (size_t o = 0; o < sizes[l + 1]; o++) {
                double z = r->b[l][o];
                for (size_t i = 0; i < sizes[l]; i++) z += r->w[l][o * sizes[l] + i] * h[cur][i];
                h[cur ^ 1][o] = act_d(r->acts[l], z);
            }
            cur ^= 1;
        }
        const double *o = h[cur];
        if (outp)
            for (size_t j = 0; j < C; j++) outp[s * C + j] = o[j];
        if (r->loss == NERVE_LOSS_MSE) {
            for (size_t j = 0; j < C; j++) total += (o[j] - y[s * C + j]) * (o[j] - y[s * C + j]);
        } else {
            double m = o[0];
            for (size_t j = 1; j < C; j++) m = fmax(m, o[j]);
            double se = 0;
            for (size_t j = 0; j < C; j++) se += exp(o[j] - m);
            total += log(se) + m - o[labels[s]];
        }
    }
    return r->loss == NERVE_LOSS_MSE ? total / (double)(n * C) : total / (double)n;
}

typedef struct gc_param {
    nerve_isa isa;
    nerve_act act;
    nerve_loss loss;
    size_t n;
} gc_param;

/* One test per (ISA, activation); each runs both losses at both batch sizes. */
typedef struct gc_case {
    nerve_isa isa;
    nerve_act act;
} gc_case;

ParameterizedTestParameters(net_gradcheck, finite_differences) {
    static gc_case params[NERVE_ISA_COUNT * NERVE_ACT_COUNT];
    nerve_isa isas[NERVE_ISA_COUNT];
    size_t ni = test_supported_isas(isas), k = 0;
    for (size_t i = 0; i < ni; i++)
        for (int a = 0; a < NERVE_ACT_COUNT; a++) params[k++] = (gc_case){isas[i], (nerve_act)a};
    return cr_make_param_array(gc_case, params, k);
}

static void check_array(const char *what, size_t layer, const float *got, const double *want,
                        size_t cnt, const gc_param *p) {
    double m = 0;
    for (size_t i = 0; i < cnt; i++) m = fmax(m, fabs(want[i]));
    for (size_t i = 0; i < cnt; i++) {
        /* float gradients vs a double reference: relative 5e-4, with a floor
         * of 1% of the array's largest entry (float cancellation) */
        const double tol = 5e-4 * fmax(fabs(want[i]), 1e-2 * m) + 1e-9;
        cr_assert(fabs(got[i] - want[i]) <= tol,
                  "[%s %s %s n=%zu] %s%zu[%zu]: backprop %.9g, finite differences %.9g",
                  nerve_isa_name(p->isa), nerve_act_name(p->act), nerve_loss_name(p->loss), p->n,
                  what, layer, i, (double)got[i], want[i]);
    }
}

static void check_case(const gc_param *p) {
    cr_assert_eq(nerve_set_max_isa(p->isa), NERVE_OK);
    nerve_act acts[L] = {p->act, p->act, p->loss == NERVE_LOSS_XENT ? NERVE_ACT_IDENTITY : p->act};
    nerve_net *net;
    const uint64_t seed = 100 + (uint64_t)p->act * 7 + (uint64_t)p->loss;
    cr_assert_eq(nerve_net_create(&net, L, sizes, acts, p->loss, seed), NERVE_OK);
    const size_t n = p->n, C = sizes[L];
    ref r = {.loss = p->loss};
    memcpy(r.acts, acts, sizeof acts);
    for (size_t l = 0; l < L; l++) {
        const size_t nw = sizes[l] * sizes[l + 1];
        float *b = nerve_net_bias(net, l);
        /* non-zero biases so they matter */
        test_fill(b, sizes[l + 1], seed * 3 + l, -0.5f, 0.5f);
        const float *w = nerve_net_weights(net, l);
        r.w[l] = malloc(nw * sizeof(double));
        r.b[l] = malloc(sizes[l + 1] * sizeof(double));
        for (size_t i = 0; i < nw; i++) r.w[l][i] = w[i];
        for (size_t i = 0; i < sizes[l + 1]; i++) r.b[l][i] = b[i];
    }
    float x[3 * 5], y[3 * 4];
    int32_t labels[3] = {2, 0, 3};
    test_fill(x, n * sizes[0], seed + 11, -2.0f, 2.0f);
    test_fill(y, n * C, seed + 13, -1.0f, 1.0f);
    nerve_batch b = {.x = x, .n = n};
    if (p->loss == NERVE_LOSS_MSE)
        b.y = y;
    else
        b.labels = labels;
    float loss;
    cr_assert_eq(nerve_net_gradients(net, &b, &loss), NERVE_OK, "%s", nerve_last_error());
    cr_assert_eq(nerve_net_step_count(net), 0, "nerve_net_gradients must not step");

    double outd[3 * 4];
    const double ld = ref_loss(&r, x, y, labels, n, outd);
    cr_assert(fabs(loss - ld) <= 1e-5 * fmax(fabs(ld), 1e-3), "loss %.9g vs reference %.9g",
              (double)loss, ld);
    float out[3 * 4];
    cr_assert_eq(nerve_net_forward(net, x, n, out), NERVE_OK);
    double om = 0;
    for (size_t i = 0; i < n * C; i++) om = fmax(om, fabs(outd[i]));
    for (size_t i = 0; i < n * C; i++)
        cr_assert(fabs(out[i] - outd[i]) <= 1e-5 * fmax(fabs(outd[i]), 1e-2 * om) + 1e-9,
                  "out[%zu] = %.9g, reference %.9g", i, (double)out[i], outd[i]);

    for (size_t l = 0; l < L; l++) {
        for (int isb = 0; isb < 2; isb++) {
            double *arr = isb ? r.b[l] : r.w[l];
            const size_t cnt = isb ? sizes[l + 1] : sizes[l] * sizes[l + 1];
            double *fd = malloc(cnt * sizeof(double));
            for (size_t i = 0; i < cnt; i++) {
                const double keep = arr[i], h = 1e-6;
                arr[i] = keep + h;
                const double lp = ref_loss(&r, x, y, labels, n, NULL);
                arr[i] = keep - h;
                const double lm = ref_loss(&r, x, y, labels, n, NULL);
                arr[i] = keep;
                fd[i] = (lp - lm) / (2 * h);
            }
            check_array(isb ? "db" : "dW", l,
                        isb ? nerve_net_bias_grad(net, l) : nerve_net_weight_grad(net, l), fd, cnt,
                        p);
            free(fd);
        }
    }
    for (size_t l = 0; l < L; l++) {
        free(r.w[l]);
        free(r.b[l]);
    }
    nerve_net_free(net);
}

ParameterizedTest(gc_case *c, net_gradcheck, finite_differences) {
    const size_t ns[2] = {3, 1};
    for (int lo = 0; lo < NERVE_LOSS_COUNT; lo++)
        for (int b = 0; b < 2; b++) {
            const gc_param p = {c->isa, c->act, (nerve_loss)lo, ns[b]};
            check_case(&p);
        }
}
