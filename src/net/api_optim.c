/* Public optimizer updates over caller-owned arrays (kernels.h): validation,
 * then the per-step scalars and the update kernel of the kind's family
 * (src/net/optim.c, optim_family: the very code nerve_net runs, so a caller
 * stepping its own arrays gets nerve_net's bits), split across threads by
 * 16-float blocks (the kernels are elementwise). */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "api.h"
#include "error.h"
#include "net_plan.h"

#define OPT_GRAIN 16384

/* beta^t as nerve_net keeps it: t sequential multiplications in double from
 * 1 (never pow(), whose last bit is not portable). A per-thread cache of the
 * last (beta, t) of each of two slots makes consecutive steps O(1); the
 * value is the same sequential product either way. */
static double beta_pow(float beta, uint64_t t) {
    static _Thread_local struct {
        float beta;
        uint64_t t;
        double pow;
    } cache[2];
    static _Thread_local unsigned next;
    int slot = -1;
    for (int i = 0; i < 2; i++)
        if (cache[i].t != 0 && memcmp(&cache[i].beta, &beta, sizeof beta) == 0 && cache[i].t <= t)
            slot = i;
    double p = 1.0;
    uint64_t k = 0;
    if (slot >= 0) {
        p = cache[slot].pow;
        k = cache[slot].t;
    } else {
        slot = (int)(next++ & 1u);
    }
    for (; k < t; k++) p *= (double)beta;
    cache[slot].beta = beta;
    cache[slot].t = t;
    cache[slot].pow = p;
    return p;
}

static int finite_nonneg(float x) { return x >= 0.0f && isfinite(x); }

typedef struct opt_job {
    const kernel_table *kt;
    const optim_family *f;
    float *w, *m, *v; /* m, v: the state arrays the family uses, else NULL */
    const float *g;
    const opt_step *s;
} opt_job;

/* Nonzero when the kernel stored a NaN or Inf (checked in its own pass). */
static int opt_range(const opt_job *j, size_t b, size_t e) {
    return j->f->update(j->kt, e - b, j->w + b, j->g + b, j->m ? j->m + b : NULL,
                        j->v ? j->v + b : NULL, j->s, NULL);
}

/* NERVE_ENUMERIC (with a message naming fn) when any element came out
 * non-finite; the arrays then hold the update as computed. */
static nerve_status run_opt(const char *fn, const opt_job *j, size_t n) {
    if (n == 0) return NERVE_OK;
    const int nt = api_threads(n, OPT_GRAIN);
    int bad = 0;
    if (nt <= 1) {
        bad = opt_range(j, 0, n);
    } else {
#pragma omp parallel num_threads(nt) reduction(| : bad)
        {
            size_t b, e;
            split_range(n, 16, omp_get_thread_num(), omp_get_num_threads(), &b, &e);
            if (e > b) bad |= opt_range(j, b, e);
        }
    }
    if (bad)
        return error_set(NERVE_ENUMERIC,
                         "%s: the update stored a NaN or Inf (in the parameters or the "
                         "optimizer state)",
                         fn);
    return NERVE_OK;
}

nerve_status nerve_sgd_update(size_t n, float *w, const float *g, float *momentum_buf,
                              const nerve_sgd_params *p, uint64_t step) {
    static const char fn[] = "nerve_sgd_update";
    nerve_status st;
    CHECK_ARG(p != NULL, "%s: params is NULL", fn);
    CHECK_ARG(step >= 1, "%s: step is 0 (steps count from 1)", fn);
    CHECK_ARG(finite_nonneg(p->lr), "%s: learning rate %g must be finite and >= 0", fn,
              (double)p->lr);
    CHECK_ARG(finite_nonneg(p->momentum), "%s: momentum %g must be finite and >= 0", fn,
              (double)p->momentum);
    CHECK_ARG(isfinite(p->dampening), "%s: dampening %g must be finite", fn, (double)p->dampening);
    CHECK_ARG(finite_nonneg(p->weight_decay), "%s: weight decay %g must be finite and >= 0", fn,
              (double)p->weight_decay);
    CHECK_ARG(p->nesterov == 0 || p->nesterov == 1, "%s: nesterov must be 0 or 1 (got %d)", fn,
              p->nesterov);
    CHECK_ARG(!p->nesterov || (p->momentum > 0.0f && p->dampening == 0.0f),
              "%s: Nesterov momentum needs momentum > 0 and zero dampening", fn);
    if ((st = api_check_vector(fn, "w", w, n)) || (st = api_check_vector(fn, "g", g, n)) ||
        (p->momentum != 0.0f && (st = api_check_vector(fn, "momentum_buf", momentum_buf, n))))
        return st;
    /* the scalars of nerve_net's SGD (src/net/optim.c), plus the dampening
     * that nerve_opt does not have */
    const nerve_opt o = {.kind = NERVE_OPT_SGD,
                         .lr = p->lr,
                         .momentum = p->momentum,
                         .nesterov = p->nesterov,
                         .weight_decay = p->weight_decay};
    const optim_family *f = optim_family_of(o.kind);
    opt_step s;
    f->scalars(&o, step == 1, 1.0, 1.0, &s);
    s.dampening = p->dampening;
    const opt_job j = {kernels_active(), f, w, momentum_buf, NULL, g, &s};
    return run_opt(fn, &j, n);
}

static nerve_status adam_common(const char *fn, nerve_opt_kind kind, size_t n, float *w,
                                const float *g, float *m, float *v, const nerve_adam_params *p,
                                uint64_t step) {
    nerve_status st;
    CHECK_ARG(p != NULL, "%s: params is NULL", fn);
    CHECK_ARG(step >= 1, "%s: step is 0 (steps count from 1)", fn);
    CHECK_ARG(finite_nonneg(p->lr), "%s: learning rate %g must be finite and >= 0", fn,
              (double)p->lr);
    CHECK_ARG(finite_nonneg(p->weight_decay), "%s: weight decay %g must be finite and >= 0", fn,
              (double)p->weight_decay);
    CHECK_ARG(p->beta1 >= 0.0f && p->beta1 < 1.0f, "%s: beta1 %g must be in [0, 1)", fn,
              (double)p->beta1);
    CHECK_ARG(p->beta2 >= 0.0f && p->beta2 < 1.0f, "%s: beta2 %g must be in [0, 1)", fn,
              (double)p->beta2);
    CHECK_ARG(finite_nonneg(p->eps), "%s: eps %g must be finite and >= 0", fn, (double)p->eps);
    if ((st = api_check_vector(fn, "w", w, n)) || (st = api_check_vector(fn, "g", g, n)) ||
        (st = api_check_vector(fn, "m", m, n)) || (st = api_check_vector(fn, "v", v, n)))
        return st;
    /* the scalars of nerve_net's Adam / AdamW (src/net/optim.c), from beta^t in
     * double */
    const nerve_opt o = {.kind = kind,
                         .lr = p->lr,
                         .weight_decay = p->weight_decay,
                         .beta1 = p->beta1,
                         .beta2 = p->beta2,
                         .eps = p->eps};
    const double b1t = beta_pow(p->beta1, step), b2t = beta_pow(p->beta2, step);
    const optim_family *f = optim_family_of(kind);
    opt_step s;
    f->scalars(&o, step == 1, b1t, b2t, &s);
    const opt_job j = {kernels_active(), f, w, m, v, g, &s};
    return run_opt(fn, &j, n);
}

nerve_status nerve_adam_update(size_t n, float *w, const float *g, float *m, float *v,
                               const nerve_adam_params *p, uint64_t step) {
    return adam_common("nerve_adam_update", NERVE_OPT_ADAM, n, w, g, m, v, p, step);
}

nerve_status nerve_adamw_update(size_t n, float *w, const float *g, float *m, float *v,
                                const nerve_adam_params *p, uint64_t step) {
    return adam_common("nerve_adamw_update", NERVE_OPT_ADAMW, n, w, g, m, v, p, step);
}
