/* Optimizer settings and state: validation, PyTorch defaults, and the
 * per-step scalars handed to the table's sgd/adam kernels (table.h, opt_step).
 * The kinds come from NERVE_OPT_LIST (kernels.h); each kind runs the family
 * of its kernel column (optim_family, net_plan.h), defined here.
 *
 * Adam's bias corrections are 1 - beta^t. beta^t is kept in the network as a
 * double multiplied by beta once per step (never pow(), whose last bit is not
 * portable); the scalars derived from it are rounded to float once, so every
 * platform hands the kernels the same step_size and inv_sqrt_bc2. */
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
                      const opt_step *s) {
    (void)v;
    return kt->sgd(n, w, g, m, s);
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
                       const opt_step *s) {
    return kt->adam(n, w, g, m, v, s);
}

static const optim_family family_sgd = {sgd_validate, sgd_states, 0, sgd_scalars, sgd_update};
static const optim_family family_adam = {adam_validate, adam_states, 1, adam_scalars, adam_update};

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

NERVE_PRIVATE size_t optim_undo_floats(const nerve_net *net) {
    return net->n_alloc * (1u + (net->opt_m != NULL) + (net->opt_v != NULL));
}

NERVE_PRIVATE int optim_update(const kernel_table *kt, nerve_net *net, const optim_pending *p, size_t off, size_t n) {
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
    return families[net->opt.kind]->update(kt, n, w, g, m, v, &p->s);
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
