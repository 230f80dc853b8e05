/* Optimizer kernels of every ISA this CPU supports, for every kind of
 * NERVE_OPT_LIST (SGD with momentum/dampening/nesterov/weight decay, Adam,
 * AdamW), against PyTorch's update rules written here in double precision
 * (torch.optim.SGD / Adam / AdamW, single-tensor form), over several steps
 * and the awkward sizes. The kernel is called through the kind's family
 * (src/net/optim.c), as nerve_net calls it; the step's scalars are computed
 * here. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net_plan.h"
#include "testutil.h"

#define STEPS 6

/* ---- per kernel family (the list's kernel column): the step's scalars
 * from a configuration, PyTorch's rule on one element, and its bounds ---- */

/* SGD: the configuration as it is; step 1 initialises the momentum buffer. */
static void scalars_sgd(const opt_step *cfg, nerve_opt_kind kind, int t, opt_step *s) {
    (void)kind;
    *s = *cfg;
    s->first = t == 1;
}

/* One PyTorch SGD step in double on one parameter (m: the momentum buffer). */
static void ref_sgd(double *w, double g, double *m, double *v, const opt_step *s, int t) {
    (void)v, (void)t;
    if (s->weight_decay != 0) g += (double)s->weight_decay * *w;
    if (s->momentum != 0) {
        *m = s->first ? g : (double)s->momentum * *m + (1 - (double)s->dampening) * g;
        g = s->nesterov ? g + (double)s->momentum * *m : *m;
    }
    *w -= (double)s->lr * g;
}

/* Bound of w (which 0), m (1) or v (2) against the reference value r. */
static double tol_sgd(int which, double r) { return which == 2 ? 0 : 1e-6 * (fabs(r) + 1); }

/* Adam / AdamW: bias corrections of step t in double (pow is fine here: the
 * kernel takes the rounded scalars), decoupled decay for AdamW. */
static void scalars_adam(const opt_step *cfg, nerve_opt_kind kind, int t, opt_step *s) {
    *s = *cfg;
    s->step_size = (float)(cfg->lr / (1 - pow(cfg->beta1, t)));
    s->inv_sqrt_bc2 = (float)(1 / sqrt(1 - pow(cfg->beta2, t)));
    s->decoupled = kind == NERVE_OPT_ADAMW;
}

/* One PyTorch Adam/AdamW step (t from 1) in double. */
static void ref_adam(double *w, double g, double *m, double *v, const opt_step *s, int t) {
    const double lr = s->lr, b1 = s->beta1, b2 = s->beta2, wdecay = s->weight_decay;
    if (wdecay != 0) {
        if (s->decoupled)
            *w *= 1 - lr * wdecay;
        else
            g += wdecay * *w;
    }
    *m = *m + (1 - b1) * (g - *m);
    *v = b2 * *v + (1 - b2) * g * g;
    double bc1 = 1 - pow(b1, t), bc2 = 1 - pow(b2, t);
    *w -= lr / bc1 * *m / (sqrt(*v) / sqrt(bc2) + (double)s->eps);
}

/* m sums terms up to 0.1 in size; v is a sum of squares */
static double tol_adam(int which, double r) {
    return which == 0   ? 1e-6 * (fabs(r) + 1)
           : which == 1 ? 1e-6 * (fabs(r) + 0.1)
                        : 1e-5 * r + 1e-12;
}

/* ---- per kind: the configurations, named cfg_<name> ---- */

static const opt_step cfg_sgd[] = {
    {.lr = 0.1f},
    {.lr = 0.05f, .weight_decay = 0.01f},
    {.lr = 0.1f, .momentum = 0.9f},
    {.lr = 0.1f, .momentum = 0.9f, .dampening = 0.3f},
    {.lr = 0.02f, .momentum = 0.8f, .nesterov = 1, .weight_decay = 1e-3f},
};
static const opt_step cfg_adam[] = {
    {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f},
    {.lr = 1e-2f, .weight_decay = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f},
};
static const opt_step cfg_adamw[] = {
    {.lr = 1e-2f, .weight_decay = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f},
    {.lr = 1e-3f, .weight_decay = 0.01f, .beta1 = 0.8f, .beta2 = 0.99f, .eps = 1e-6f},
};

static const struct {
    const char *name;
    const opt_step *cfg;
    size_t n_cfg;
    void (*scalars)(const opt_step *cfg, nerve_opt_kind kind, int t, opt_step *s);
    void (*ref)(double *w, double g, double *m, double *v, const opt_step *s, int t);
    double (*tol)(int which, double r);
} kinds[NERVE_OPT_COUNT] = {
#define OPT_ENTRY_(E, name_, kernel, lr, weight_decay)                                             \
    [NERVE_OPT_##E] = {.name = #name_,                                                             \
                       .cfg = cfg_##name_,                                                         \
                       .n_cfg = sizeof cfg_##name_ / sizeof cfg_##name_[0],                        \
                       .scalars = scalars_##kernel,                                                \
                       .ref = ref_##kernel,                                                        \
                       .tol = tol_##kernel},
    NERVE_OPT_LIST(OPT_ENTRY_)
#undef OPT_ENTRY_
};

typedef struct isa_opt {
    nerve_isa isa;
    nerve_opt_kind kind;
} isa_opt;

ParameterizedTestParameters(optim, matches_pytorch) {
    static isa_opt p[NERVE_ISA_COUNT * NERVE_OPT_COUNT];
    nerve_isa isas[NERVE_ISA_COUNT];
    const size_t ni = test_supported_isas(isas);
    size_t n = 0;
    for (size_t i = 0; i < ni; i++)
        for (int k = 0; k < NERVE_OPT_COUNT; k++) p[n++] = (isa_opt){isas[i], (nerve_opt_kind)k};
    return cr_make_param_array(isa_opt, p, n);
}

/* STEPS steps of every configuration of the kind from zeroed state, then w
 * and both state arrays against the reference (arrays the kind does not
 * use stay 0 in both); a guard element after each array. */
ParameterizedTest(isa_opt *c, optim, matches_pytorch) {
    const kernel_table *kt = kernels_for(c->isa);
    const optim_family *f = optim_family_of(c->kind);
    const char *name = kinds[c->kind].name;
    cr_assert_str_eq(nerve_opt_name(c->kind), name);
    for (size_t ci = 0; ci < kinds[c->kind].n_cfg; ci++)
        for (size_t si = 0; si < test_sizes_count; si++) {
            const size_t n = test_sizes[si];
            float *w = test_alloc(n + 1, 1), *m = test_alloc(n + 1, 2), *v = test_alloc(n + 1, 3);
            float *g = test_alloc(n, 1);
            double *wd = malloc((n + 1) * 8), *md = malloc((n + 1) * 8), *vd = malloc((n + 1) * 8);
            cr_assert(wd && md && vd);
            test_fill(w, n, 7 + n, -1, 1);
            for (size_t i = 0; i < n; i++) wd[i] = w[i], md[i] = vd[i] = 0, m[i] = v[i] = 0;
            w[n] = m[n] = v[n] = 99.0f;
            for (int t = 1; t <= STEPS; t++) {
                opt_step s;
                kinds[c->kind].scalars(&kinds[c->kind].cfg[ci], c->kind, t, &s);
                test_fill(g, n, 300 * (uint64_t)t + n, -1, 1);
                if (t == 3 && n > 5) g[5] = 0; /* a zero gradient: Adam's m/denom stays finite */
                float amax[3] = {0, 0, 0};
                cr_assert_eq(f->update(kt, n, w, g, m, v, &s, amax), 0, "%s %s: non-finite",
                             kt->name, name);
                /* the magnitudes it reports storing: exactly the largest */
                const float *arr[3] = {w, m, v};
                for (int a = 0; a < 3; a++) {
                    float mx = 0.0f;
                    for (size_t i = 0; i < n; i++) mx = fabsf(arr[a][i]) > mx ? fabsf(arr[a][i]) : mx;
                    cr_assert_eq(memcmp(&mx, &amax[a], sizeof mx), 0,
                                 "%s %s step %d n=%zu: amax[%d] = %a, the largest stored %a",
                                 kt->name, name, t, n, a, (double)amax[a], (double)mx);
                }
                for (size_t i = 0; i < n; i++)
                    kinds[c->kind].ref(&wd[i], g[i], &md[i], &vd[i], &s, t);
            }
            cr_assert(w[n] == 99.0f && m[n] == 99.0f && v[n] == 99.0f, "%s %s wrote past the end",
                      kt->name, name);
            const float *got[3] = {w, m, v};
            const double *want[3] = {wd, md, vd};
            for (int a = 0; a < 3; a++)
                for (size_t i = 0; i < n; i++)
                    cr_assert(fabs(got[a][i] - want[a][i]) <= kinds[c->kind].tol(a, want[a][i]),
                              "%s %s config %zu n=%zu %c[%zu]: %.9g vs %.9g", kt->name, name, ci, n,
                              "wmv"[a], i, (double)got[a][i], want[a][i]);
            test_free(w);
            test_free(m);
            test_free(v);
            test_free(g);
            free(wd);
            free(md);
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
    const kernel_table *kt = kernels_for(*isa);
    float w[20], g[20], v[20];
    for (int i = 0; i < 20; i++) w[i] = (float)i * 0.5f, g[i] = 1.0f - (float)i * 0.25f, v[i] = NAN;
    opt_step plain = {.lr = 0.5f};
    kt->sgd(20, w, g, v, &plain, NULL);
    for (int i = 0; i < 20; i++) {
        cr_assert(isnan(v[i]));
        cr_assert_eq(w[i], fmaf(-0.5f, g[i], (float)i * 0.5f));
    }
    opt_step first = {.lr = 0.5f, .momentum = 0.9f, .dampening = 0.5f, .first = 1};
    kt->sgd(20, w, g, v, &first, NULL);
    for (int i = 0; i < 20; i++) cr_assert_eq(v[i], g[i], "first step: v = g (no dampening)");
}
