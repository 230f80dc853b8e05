/* Optimizer settings and state: validation, PyTorch defaults, and the
 * per-step scalars handed to the table's sgd/adam kernels (table.h, opt_step).
 * The kinds come from NERVE_OPT_LIST (kernels.h); each kind runs the family
 * of its kernel column (optim_family, net_plan.h), defined here.
 *
 * Adam's bias corrections are 1 - beta^t. beta^t is kept in the network as a
 * double multiplied by beta once per step (never pow(), whose last bit is not
 * portable); the scalars derived from it are rounded to float once, so every
 * platform hands the kernels the same step_size and inv_sqrt_bc2. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "names.h"
#include "net_internal.h"
#include "net_plan.h"
#include "private_abi.h"

#define OPT_NAME_(E, name, kernel, lr, weight_decay) [NERVE_OPT_##E] = #name,
static const char *const opt_names[NERVE_OPT_COUNT] = {NERVE_OPT_LIST(OPT_NAME_)};
#undef OPT_NAME_

const char *nerve_opt_name(nerve_opt_kind kind) {
    return (unsigned)kind < NERVE_OPT_COUNT ? opt_names[kind] : "unknown";
}

nerve_status nerve_opt_from_name(const char *name, nerve_opt_kind *out) {
    CHECK_ARG(name != NULL && out != NULL, "nerve_opt_from_name: null argument");
    int i = 0;
    nerve_status st = find_name("optimizer", name, opt_names, NERVE_OPT_COUNT, &i);
    if (st == NERVE_OK) *out = (nerve_opt_kind)i;
    return st;
}

nerve_opt nerve_opt_default(nerve_opt_kind kind) {
    /* PyTorch 2.x defaults (torch.optim.SGD / Adam / AdamW): lr and weight
     * decay from the list. The Adam fields are filled for SGD too, so
     * switching kind alone gives sane values. */
    nerve_opt o = {.kind = kind,
                   .lr = 0.01f,
                   .momentum = 0.0f,
                   .nesterov = 0,
                   .weight_decay = 0.0f,
                   .beta1 = 0.9f,
                   .beta2 = 0.999f,
                   .eps = 1e-8f};
    switch (kind) {
#define OPT_DEFAULT_(E, name, kernel, lr_, weight_decay_)                                          \
    case NERVE_OPT_##E:                                                                            \
        o.lr = lr_;                                                                                \
        o.weight_decay = weight_decay_;                                                            \
        break;
        NERVE_OPT_LIST(OPT_DEFAULT_)
#undef OPT_DEFAULT_
    default:
        break;
    }
    return o;
}

static int finite_nonneg(float x) { return x >= 0.0f && isfinite(x); }

/* ---- the families: one per update kernel (the list's kernel column) ---- */

static nerve_status sgd_validate(const char *fn, const nerve_opt *o) {
    CHECK_ARG(finite_nonneg(o->momentum), "%s: momentum %g must be finite and >= 0", fn,
              (double)o->momentum);
    CHECK_ARG(o->nesterov == 0 || o->nesterov == 1, "%s: nesterov must be 0 or 1 (got %d)", fn,
              o->nesterov);
    CHECK_ARG(!o->nesterov || o->momentum > 0.0f, "%s: Nesterov momentum needs momentum > 0", fn);
    return NERVE_OK;
}

/* the momentum buffer, only when there is momentum */
static unsigned sgd_states(const nerve_opt *o) { return o->momentum != 0.0f; }

static void sgd_scalars(const nerve_opt *o, int first, double b1t, double b2t, opt_step *s) {
    (void)b1t, (void)b2t;
    *s = (opt_step){.lr = o->lr,
                    .momentum = o->momentum,
                    .dampening = 0.0f, /* PyTorch's default; not in nerve_opt */
                    .weight_decay = o->weight_decay,
                    .nesterov = o->nesterov,
                    .first = first};
}

static int sgd_update(const kernel_table *kt, size_t n, float *w, const float *g, float *m, float *v,
                      const opt_step *s, float *amax) {
    (void)v;
    return kt->sgd(n, w, g, m, s, amax);
}

static nerve_status adam_validate(const char *fn, const nerve_opt *o) {
    CHECK_ARG(o->beta1 >= 0.0f && o->beta1 < 1.0f, "%s: beta1 %g must be in [0, 1)", fn,
              (double)o->beta1);
    CHECK_ARG(o->beta2 >= 0.0f && o->beta2 < 1.0f, "%s: beta2 %g must be in [0, 1)", fn,
              (double)o->beta2);
    CHECK_ARG(finite_nonneg(o->eps), "%s: eps %g must be finite and >= 0", fn, (double)o->eps);
    return NERVE_OK;
}

/* the first and second moments m and v */
static unsigned adam_states(const nerve_opt *o) {
    (void)o;
    return 2;
}

/* Bias corrections 1 - beta^t from beta^t in double, each scalar rounded
 * once to float (the file comment); AdamW decays the weights decoupled. */
static void adam_scalars(const nerve_opt *o, int first, double b1t, double b2t, opt_step *s) {
    (void)first;
    const double bc1 = 1.0 - b1t, bc2 = 1.0 - b2t;
    *s = (opt_step){.lr = o->lr,
                    .weight_decay = o->weight_decay,
                    .beta1 = o->beta1,
                    .beta2 = o->beta2,
                    .eps = o->eps,
                    .step_size = (float)((double)o->lr / bc1),
                    .inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2)),
                    .decoupled = o->kind == NERVE_OPT_ADAMW};
}

static int adam_update(const kernel_table *kt, size_t n, float *w, const float *g, float *m, float *v,
                       const opt_step *s, float *amax) {
    return kt->adam(n, w, g, m, v, s, amax);
}

/* ---- proving an update finite -------------------------------------------
 * nerve_net_train_batch promises that an update which would store a NaN or
 * an infinity leaves everything as before the step. Copying every block
 * aside first costs about a quarter of a small network's step, so the step
 * first tries to prove that the update cannot fail: from the largest
 * magnitudes of the weights and state (net->bound: what the kernels
 * reported storing at the last step, simd/table.h) and of the gradient
 * (kt->maxabs, taken while it is in cache), each family bounds every value
 * its kernel computes (simd/generic/optim.c), in double. Each float
 * operation is off by a relative 2^-24 at most and an element's chain has
 * fewer than 8 of them, so every bound is multiplied by SLACK after each
 * step of the formula. A step is proven when every bound is at most
 * PROOF_LIMIT = 2^100, far below FLT_MAX (about 2^128), so no float
 * intermediate can overflow on the way; NaN needs an infinity, 0/0 or the
 * root of a negative number, and none can occur. The comparisons are
 * written !(x <= limit) so that a NaN bound (0 * Inf) is never taken for a
 * proof. The bounds are loose (Adam's |m / d| <= |m| / eps is 10^8 times
 * what training sees) but they are recomputed from measured values every
 * step, so they never compound. */
#define SLACK       (1.0 + 0x1p-19)
#define PROOF_LIMIT 0x1p100

static int within(const double *x, int n) {
    for (int i = 0; i < n; i++)
        if (!(x[i] <= PROOF_LIMIT)) return 0;
    return 1;
}

/* sgd_one: g1 = g + wd w; v' = first ? g1 : (1 - dampening) g1 + mu v;
 * u = nesterov ? g1 + mu v' : v' (u = g1 without momentum); w' = w - lr u.
 * State 1 is the momentum buffer. */
static int sgd_bound(const opt_step *s, const float in[3], float g) {
    const double W = in[0], V = in[1];
    const double g1 = ((double)g + (double)s->weight_decay * W) * SLACK;
    double v1 = 0, u = g1;
    if (s->momentum != 0.0f) {
        const double mu = s->momentum, damp = fabs(1.0 - (double)s->dampening);
        v1 = s->first ? g1 : (damp * g1 + mu * V) * SLACK;
        u = s->nesterov ? (g1 + mu * v1) * SLACK : v1;
    }
    const double w1 = (W + (double)s->lr * u) * SLACK;
    const double b[4] = {g1, v1, u, w1};
    return within(b, 4);
}

/* adam_one: AdamW w1 = w (1 - lr wd), or Adam g1 = g + wd w;
 * m' = m + (1 - beta1)(g1 - m), at most max(|m|, |g1|) since 1 - beta1 is
 * in (0, 1]; v' = (1 - beta2) g1 g1 + beta2 v, at most max(v, g1^2) (v >= 0
 * always: the kernel keeps it so, and model files are checked for it);
 * d = sqrt(v') inv_sqrt_bc2 + eps >= eps, so |m' / d| <= |m'| / eps when
 * eps is a normal float (a denormal may be read as 0 under flush modes);
 * w' = w1 - step_size m' / d. */
static int adam_bound(const opt_step *s, const float in[3], float g) {
    const double W = in[0], M = in[1], V = in[2];
    if (!(s->eps >= FLT_MIN)) return 0;
    double w1 = W, g1 = g;
    if (s->weight_decay != 0.0f) {
        if (s->decoupled) {
            /* the kernel's factor is the float 1 - lr wd, two roundings
             * (or one fma) off: near lr wd = 1 only an absolute error
             * bound holds, 2^-23 (1 + lr wd) */
            const double lw = (double)s->lr * (double)s->weight_decay;
            w1 = W * (fabs(1.0 - lw) + 0x1p-22 * (1.0 + lw)) * SLACK;
        } else {
            g1 = ((double)g + (double)s->weight_decay * W) * SLACK;
        }
    }
    const double m1 = (M > g1 ? M : g1) * SLACK;
    const double v1 = (V > g1 * g1 ? V : g1 * g1) * SLACK;
    const double d = (sqrt(v1) * (double)s->inv_sqrt_bc2 + (double)s->eps) * SLACK;
    const double r = m1 / (double)s->eps * SLACK;
    const double w2 = (w1 + (double)s->step_size * r) * SLACK;
    const double b[6] = {w1, g1, m1, v1, d, w2};
    return within(b, 6);
}

static const optim_family family_sgd = {sgd_validate, sgd_states, 0, sgd_scalars, sgd_update,
                                        sgd_bound};
static const optim_family family_adam = {adam_validate, adam_states, 1, adam_scalars, adam_update,
                                         adam_bound};

#define OPT_FAMILY_(E, name, kernel, lr, weight_decay) [NERVE_OPT_##E] = &family_##kernel,
static const optim_family *const families[NERVE_OPT_COUNT] = {NERVE_OPT_LIST(OPT_FAMILY_)};
#undef OPT_FAMILY_

const optim_family *optim_family_of(nerve_opt_kind kind) { return families[kind]; }

unsigned optim_state_count(const nerve_opt *o) { return families[o->kind]->states(o); }

static nerve_status validate(const nerve_opt *o) {
    static const char fn[] = "nerve_net_set_optimizer";
    CHECK_ARG((unsigned)o->kind < NERVE_OPT_COUNT, "%s: invalid optimizer kind %d", fn,
              (int)o->kind);
    CHECK_ARG(finite_nonneg(o->lr), "%s: learning rate %g must be finite and >= 0", fn,
              (double)o->lr);
    CHECK_ARG(finite_nonneg(o->weight_decay), "%s: weight decay %g must be finite and >= 0", fn,
              (double)o->weight_decay);
    return families[o->kind]->validate(fn, o);
}

static float *zeroed(size_t n) {
    float *p = aligned_alloc(64, n * sizeof(float));
    if (p) memset(p, 0, n * sizeof(float));
    return p;
}

nerve_status nerve_net_set_optimizer(nerve_net *net, const nerve_opt *opt) {
    CHECK_ARG(net != NULL, "nerve_net_set_optimizer: net is NULL");
    CHECK_ARG(opt != NULL, "nerve_net_set_optimizer: opt is NULL");
    nerve_status st = validate(opt);
    if (st != NERVE_OK) return st;
    const unsigned states = optim_state_count(opt);
    const int need_m = states >= 1, need_v = states >= 2;
    float *m = need_m ? zeroed(net->n_alloc) : NULL;
    float *v = need_v ? zeroed(net->n_alloc) : NULL;
    if ((need_m && !m) || (need_v && !v)) {
        free(m);
        free(v);
        return error_set(NERVE_ENOMEM, "nerve_net_set_optimizer: out of memory for the %s state",
                         opt_names[opt->kind]);
    }
    free(net->opt_m);
    free(net->opt_v);
    net->opt_m = m;
    net->opt_v = v;
    net->opt = *opt;
    net->bound_valid = 0; /* new state buffers */
    net->step = 0;
    net->beta1_pow = 1.0;
    net->beta2_pow = 1.0;
    return NERVE_OK;
}

nerve_opt nerve_net_optimizer(const nerve_net *net) {
    if (!net) return nerve_opt_default(NERVE_OPT_SGD);
    return net->opt;
}

nerve_status nerve_net_set_lr(nerve_net *net, float lr) {
    CHECK_ARG(net != NULL, "nerve_net_set_lr: net is NULL");
    CHECK_ARG(finite_nonneg(lr), "nerve_net_set_lr: learning rate %g must be finite and >= 0",
              (double)lr);
    net->opt.lr = lr;
    return NERVE_OK;
}

uint64_t nerve_net_step_count(const nerve_net *net) { return net ? net->step : 0; }

nerve_status nerve_net_set_schedule(nerve_net *net, const nerve_schedule *schedule) {
    CHECK_ARG(net != NULL, "nerve_net_set_schedule: net is NULL");
    CHECK_ARG(schedule != NULL, "nerve_net_set_schedule: schedule is NULL");
    CHECK_ARG((unsigned)schedule->kind < NERVE_SCHEDULE_COUNT,
              "nerve_net_set_schedule: invalid schedule kind %d", (int)schedule->kind);
    CHECK_ARG(schedule->kind != NERVE_SCHEDULE_COSINE || schedule->epochs >= 1,
              "nerve_net_set_schedule: a cosine schedule needs a horizon of at least 1 epoch");
    net->sched = *schedule;
    return NERVE_OK;
}

nerve_schedule nerve_net_schedule(const nerve_net *net) {
    const nerve_schedule none = {NERVE_SCHEDULE_CONSTANT, 0};
    return net ? net->sched : none;
}

/* pi to double precision (M_PI is not C11) */
#define PI 3.14159265358979323846

float nerve_net_epoch_lr(const nerve_net *net, uint64_t epoch) {
    if (!net) return 0.0f;
    const float lr = net->opt.lr;
    const uint64_t E = net->sched.epochs;
    if (net->sched.kind != NERVE_SCHEDULE_COSINE || E == 0) return lr;
    /* past the horizon: the curve's end, 0 (not back up the cosine) */
    const uint64_t e = epoch < E ? epoch : E;
    /* the expression the tool used before the schedule moved here, so its
     * runs keep their bits. cos() is the C library's, the one libm call of
     * training: the same on every ISA and thread count of one system; a
     * last-bit difference between C libraries reaches the float rate only
     * when the double lies next to a float rounding boundary */
    return (float)((double)lr * 0.5 * (1.0 + cos(PI * (double)e / (double)E)));
}

NERVE_PRIVATE void optim_prepare(const nerve_net *net, optim_pending *p) {
    const nerve_opt *o = &net->opt;
    const optim_family *f = families[o->kind];
    p->beta1_pow = net->beta1_pow;
    p->beta2_pow = net->beta2_pow;
    if (f->betas) {
        p->beta1_pow *= (double)o->beta1;
        p->beta2_pow *= (double)o->beta2;
    }
    f->scalars(o, net->step == 0, p->beta1_pow, p->beta2_pow, &p->s);
}

/* The bounds measured from the values themselves: max |x| of each array
 * (over n_alloc: the gaps between layers hold zeros). A negative second
 * moment (impossible through the kernels and refused in model files) would
 * break adam_bound's square root, so it makes the bound infinite. */
NERVE_PRIVATE void optim_bound_prepare(nerve_net *net, const kernel_table *kt) {
    if (net->bound_valid) return;
    const size_t na = net->n_alloc;
    net->bound[0] = kt->maxabs(na, net->params);
    net->bound[1] = net->opt_m ? kt->maxabs(na, net->opt_m) : 0.0f;
    net->bound[2] = net->opt_v ? kt->maxabs(na, net->opt_v) : 0.0f;
    if (net->opt_v)
        for (size_t i = 0; i < na; i++)
            if (net->opt_v[i] < 0.0f) net->bound[2] = INFINITY;
    net->bound_valid = 1;
}

NERVE_PRIVATE int optim_bound(const nerve_net *net, const optim_pending *p, float g) {
    return families[net->opt.kind]->bound(&p->s, net->bound, g);
}

NERVE_PRIVATE void optim_bound_commit(nerve_net *net, const float amax[3]) {
    memcpy(net->bound, amax, sizeof net->bound);
    net->bound_valid = 1;
}

NERVE_PRIVATE size_t optim_undo_floats(const nerve_net *net) {
    return net->n_alloc * (1u + (net->opt_m != NULL) + (net->opt_v != NULL));
}

NERVE_PRIVATE int optim_update(const kernel_table *kt, nerve_net *net, const optim_pending *p, size_t off, size_t n,
                               float *amax) {
    if (n == 0) return 0;
    const size_t na = net->n_alloc;
    float *w = net->params + off, *m = net->opt_m ? net->opt_m + off : NULL;
    float *v = net->opt_v ? net->opt_v + off : NULL;
    const float *g = net->grads + off;
    if (p->undo) {
        memcpy(p->undo + off, w, n * sizeof(float));
        if (m) memcpy(p->undo + na + off, m, n * sizeof(float));
        if (v) memcpy(p->undo + 2 * na + off, v, n * sizeof(float));
    }
    return families[net->opt.kind]->update(kt, n, w, g, m, v, &p->s, amax);
}

NERVE_PRIVATE void optim_rollback(nerve_net *net, const optim_pending *p) {
    const size_t na = net->n_alloc;
    for (size_t l = 0; l < net->n_layers; l++) {
        const size_t off[2] = {net->w_off[l], net->b_off[l]};
        const size_t len[2] = {net->sizes[l] * net->sizes[l + 1], net->sizes[l + 1]};
        for (int k = 0; k < 2; k++) {
            const size_t o = off[k], bytes = len[k] * sizeof(float);
            memcpy(net->params + o, p->undo + o, bytes);
            if (net->opt_m) memcpy(net->opt_m + o, p->undo + na + o, bytes);
            if (net->opt_v) memcpy(net->opt_v + o, p->undo + 2 * na + o, bytes);
        }
    }
}

NERVE_PRIVATE void optim_commit(nerve_net *net, const optim_pending *p) {
    net->step++;
    net->beta1_pow = p->beta1_pow;
    net->beta2_pow = p->beta2_pow;
}
