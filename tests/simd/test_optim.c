/* Optimizer kernels (SGD with momentum/dampening/nesterov/weight decay, Adam,
 * AdamW) of every ISA this CPU supports, against PyTorch's update rules
 * written here in double precision (torch.optim.SGD / Adam / AdamW,
 * single-tensor form), over several steps and the awkward sizes. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define STEPS 6

static const opt_step sgd_cfg[] = {
    {.lr = 0.1f},
    {.lr = 0.05f, .weight_decay = 0.01f},
    {.lr = 0.1f, .momentum = 0.9f},
    {.lr = 0.1f, .momentum = 0.9f, .dampening = 0.3f},
    {.lr = 0.02f, .momentum = 0.8f, .nesterov = 1, .weight_decay = 1e-3f},
};

/* One PyTorch SGD step in double on one parameter. */
static void sgd_ref(double *w, double g, double *v, const opt_step *s, int first) {
    if (s->weight_decay != 0) g += (double)s->weight_decay * *w;
    if (s->momentum != 0) {
        *v = first ? g : (double)s->momentum * *v + (1 - (double)s->dampening) * g;
        g = s->nesterov ? g + (double)s->momentum * *v : *v;
    }
    *w -= (double)s->lr * g;
}

ParameterizedTestParameters(optim, sgd) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

ParameterizedTest(nerve_isa *isa, optim, sgd) {
    const kernels *kt = kernels_for(*isa);
    for (size_t c = 0; c < sizeof sgd_cfg / sizeof sgd_cfg[0]; c++)
        for (size_t si = 0; si < test_sizes_count; si++) {
            const size_t n = test_sizes[si];
            float *w = test_alloc(n + 1, 1), *v = test_alloc(n + 1, 2), *g = test_alloc(n, 3);
            double *wd = malloc((n + 1) * sizeof(double)), *vd = malloc((n + 1) * sizeof(double));
            test_fill(w, n, 1 + n, -1, 1);
            for (size_t i = 0; i < n; i++) wd[i] = w[i], vd[i] = 0;
            w[n] = v[n] = 99.0f;
            for (int t = 0; t < STEPS; t++) {
                opt_step s = sgd_cfg[c];
                s.first = t == 0;
                test_fill(g, n, 100 * (uint64_t)t + n, -1, 1);
                kt->sgd(n, w, g, v, &s);
                for (size_t i = 0; i < n; i++) sgd_ref(&wd[i], g[i], &vd[i], &s, t == 0);
            }
            cr_assert(w[n] == 99.0f && v[n] == 99.0f, "wrote past the end");
            for (size_t i = 0; i < n; i++) {
                cr_assert(fabs(w[i] - wd[i]) <= 1e-6 * (fabs(wd[i]) + 1),
                          "%s sgd config %zu n=%zu w[%zu]: %.9g vs %.9g", kt->name, c, n, i,
                          (double)w[i], wd[i]);
                if (sgd_cfg[c].momentum != 0)
                    cr_assert(fabs(v[i] - vd[i]) <= 1e-6 * (fabs(vd[i]) + 1), "%s sgd v[%zu]",
                              kt->name, i);
            }
            test_free(w);
            test_free(v);
            test_free(g);
            free(wd);
            free(vd);
        }
}

ParameterizedTestParameters(optim, sgd_buffer_rules) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

/* momentum == 0 never touches v (it may be NULL-sized); the first step with
 * momentum sets v = g exactly (plus weight decay). */
ParameterizedTest(nerve_isa *isa, optim, sgd_buffer_rules) {
    const kernels *kt = kernels_for(*isa);
    float w[20], g[20], v[20];
    for (int i = 0; i < 20; i++) w[i] = (float)i * 0.5f, g[i] = 1.0f - (float)i * 0.25f, v[i] = NAN;
    opt_step plain = {.lr = 0.5f};
    kt->sgd(20, w, g, v, &plain);
    for (int i = 0; i < 20; i++) {
        cr_assert(isnan(v[i]));
        cr_assert_eq(w[i], fmaf(-0.5f, g[i], (float)i * 0.5f));
    }
    opt_step first = {.lr = 0.5f, .momentum = 0.9f, .dampening = 0.5f, .first = 1};
    kt->sgd(20, w, g, v, &first);
    for (int i = 0; i < 20; i++) cr_assert_eq(v[i], g[i], "first step: v = g (no dampening)");
}

/* One PyTorch Adam/AdamW step (t from 1) in double. */
static void adam_ref(double *w, double g, double *m, double *v, double lr, double b1, double b2,
                     double eps, double wdecay, int decoupled, int t) {
    if (wdecay != 0) {
        if (decoupled)
            *w *= 1 - lr * wdecay;
        else
            g += wdecay * *w;
    }
    *m = *m + (1 - b1) * (g - *m);
    *v = b2 * *v + (1 - b2) * g * g;
    double bc1 = 1 - pow(b1, t), bc2 = 1 - pow(b2, t);
    *w -= lr / bc1 * *m / (sqrt(*v) / sqrt(bc2) + eps);
}

ParameterizedTestParameters(optim, adam) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

ParameterizedTest(nerve_isa *isa, optim, adam) {
    const kernels *kt = kernels_for(*isa);
    const struct {
        float lr, wd;
        int decoupled;
    } cfg[] = {{1e-3f, 0, 0}, {1e-2f, 0.1f, 0}, {1e-2f, 0.1f, 1}};
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    for (size_t c = 0; c < 3; c++)
        for (size_t si = 0; si < test_sizes_count; si++) {
            const size_t n = test_sizes[si];
            float *w = test_alloc(n + 1, 1), *m = test_alloc(n + 1, 2), *v = test_alloc(n + 1, 3);
            float *g = test_alloc(n, 1);
            double *wd = malloc((n + 1) * 8), *md = malloc((n + 1) * 8), *vd = malloc((n + 1) * 8);
            test_fill(w, n, 7 + n, -1, 1);
            for (size_t i = 0; i < n; i++) wd[i] = w[i], md[i] = vd[i] = 0, m[i] = v[i] = 0;
            w[n] = m[n] = v[n] = 99.0f;
            for (int t = 1; t <= STEPS; t++) {
                opt_step s = {.lr = cfg[c].lr,
                              .weight_decay = cfg[c].wd,
                              .decoupled = cfg[c].decoupled,
                              .beta1 = b1,
                              .beta2 = b2,
                              .eps = eps};
                s.step_size = (float)(cfg[c].lr / (1 - pow(b1, t)));
                s.inv_sqrt_bc2 = (float)(1 / sqrt(1 - pow(b2, t)));
                test_fill(g, n, 300 * (uint64_t)t + n, -1, 1);
                if (t == 3 && n > 5) g[5] = 0; /* a zero gradient: m/denom stays finite */
                kt->adam(n, w, g, m, v, &s);
                for (size_t i = 0; i < n; i++)
                    adam_ref(&wd[i], g[i], &md[i], &vd[i], cfg[c].lr, b1, b2, eps, cfg[c].wd,
                             cfg[c].decoupled, t);
            }
            cr_assert(w[n] == 99.0f && m[n] == 99.0f && v[n] == 99.0f, "wrote past the end");
            for (size_t i = 0; i < n; i++) {
                cr_assert(fabs(w[i] - wd[i]) <= 1e-6 * (fabs(wd[i]) + 1),
                          "%s adam config %zu n=%zu w[%zu]: %.9g vs %.9g", kt->name, c, n, i,
                          (double)w[i], wd[i]);
                cr_assert(fabs(m[i] - md[i]) <=
                              1e-6 * (fabs(md[i]) + 0.1) /* m sums terms up to 0.1 in size */,
                          "%s adam config %zu n=%zu m[%zu]: %.9g vs %.9g", kt->name, c, n, i,
                          (double)m[i], md[i]);
                cr_assert(fabs(v[i] - vd[i]) <= 1e-5 * vd[i] + 1e-12,
                          "%s adam v[%zu]: %.9g vs %.9g", kt->name, i, (double)v[i], vd[i]);
            }
            test_free(w);
            test_free(m);
            test_free(v);
            test_free(g);
            free(wd);
            free(md);
            free(vd);
        }
}
