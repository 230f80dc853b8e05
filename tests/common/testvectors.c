/* See testvectors.h. The parser reads the whole file and walks it line by
 * line; every count is bounded before use, so a damaged file gives a message,
 * not a crash. */
#include "testvectors.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
fail(char *msg, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (cap) vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    return -1;
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    long len;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)len + 1)) != NULL) {
        if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
            free(buf);
            buf = NULL;
        } else {
            buf[len] = '\0';
        }
    }
    fclose(f);
    return buf;
}

/* Next line of *p (NUL-terminated in place), or NULL at the end. */
static char *next_line(char **p) {
    char *s = *p;
    if (!s || !*s) return NULL;
    char *nl = strchr(s, '\n');
    if (nl) {
        *nl = '\0';
        *p = nl + 1;
    } else {
        *p = s + strlen(s);
    }
    return s;
}

/* Optimizer lines, applied once the whole header is read (any order). */
typedef struct hyper {
    int have_kind, have_lr, nesterov;
    nerve_opt_kind kind;
    float lr, momentum, weight_decay;
} hyper;

/* 0: a header line, parsed; 1: not a header key; -1: error. */
static int parse_header(tv_case *c, hyper *h, const char *path, const char *key, const char *rest,
                        char *msg, size_t cap) {
    char nm[32];
    if (!strcmp(key, "name")) {
        if (sscanf(rest, "%63s", c->name) != 1) return fail(msg, cap, "%s: empty name", path);
    } else if (!strcmp(key, "layers")) {
        const char *p = rest;
        char *e;
        size_t k = 0;
        for (;;) {
            unsigned long v = strtoul(p, &e, 10);
            if (e == p) break;
            if (k > TV_MAX_LAYERS || v == 0 || v > 4096)
                return fail(msg, cap, "%s: layers: bad or too many widths", path);
            c->sizes[k++] = v;
            p = e;
        }
        if (k < 2) return fail(msg, cap, "%s: layers needs at least two widths", path);
        c->layers = k - 1;
    } else if (!strcmp(key, "activations")) {
        const char *p = rest;
        size_t k = 0;
        int used;
        while (sscanf(p, "%31s%n", nm, &used) == 1) {
            if (k >= TV_MAX_LAYERS || nerve_act_from_name(nm, &c->acts[k]) != NERVE_OK)
                return fail(msg, cap, "%s: activation '%s'", path, nm);
            k++;
            p += used;
        }
    } else if (!strcmp(key, "loss")) {
        if (sscanf(rest, "%31s", nm) != 1 || nerve_loss_from_name(nm, &c->loss) != NERVE_OK)
            return fail(msg, cap, "%s: bad loss", path);
    } else if (!strcmp(key, "batch")) {
        c->batch = strtoul(rest, NULL, 10);
    } else if (!strcmp(key, "steps")) {
        c->steps = strtoul(rest, NULL, 10);
    } else if (!strcmp(key, "optimizer")) {
        if (sscanf(rest, "%31s", nm) != 1 || nerve_opt_from_name(nm, &h->kind) != NERVE_OK)
            return fail(msg, cap, "%s: bad optimizer", path);
        h->have_kind = 1;
    } else if (!strcmp(key, "lr")) {
        h->lr = strtof(rest, NULL);
        h->have_lr = 1;
    } else if (!strcmp(key, "momentum")) {
        h->momentum = strtof(rest, NULL);
    } else if (!strcmp(key, "nesterov")) {
        h->nesterov = (int)strtol(rest, NULL, 10);
    } else if (!strcmp(key, "weight_decay")) {
        h->weight_decay = strtof(rest, NULL);
    } else {
        return 1; /* not a header key: a tensor */
    }
    return 0;
}

int tv_parse(const char *path, tv_case *c, char *msg, size_t cap) {
    memset(c, 0, sizeof *c);
    char *text = read_text(path);
    if (!text) return fail(msg, cap, "cannot read %s", path);
    char *cur = text, *line = next_line(&cur);
    int rc = 0;
    hyper hp = {0};
    if (!line || strncmp(line, "nerve-testvector 1", 18) != 0) {
        rc = fail(msg, cap, "%s: bad magic", path);
        goto out;
    }
    while ((line = next_line(&cur)) != NULL) {
        char key[64];
        int off = 0;
        if (sscanf(line, "%63s %n", key, &off) != 1) continue;
        const char *rest = line + off;
        int h = parse_header(c, &hp, path, key, rest, msg, cap);
        if (h < 0) {
            rc = -1;
            goto out;
        }
        if (h == 0) continue;
        /* a tensor: NAME NDIM DIM... then one line of values */
        if (c->nt >= TV_MAX_TENSORS) {
            rc = fail(msg, cap, "%s: more than %d tensors", path, TV_MAX_TENSORS);
            goto out;
        }
        tv_tensor *t = &c->t[c->nt];
        snprintf(t->name, sizeof t->name, "%s", key);
        char *e;
        unsigned long nd = strtoul(rest, &e, 10);
        size_t n = 1;
        if (nd < 1 || nd > 4) {
            rc = fail(msg, cap, "%s: tensor %s: bad rank", path, key);
            goto out;
        }
        for (unsigned long i = 0; i < nd; i++) {
            char *s = e;
            unsigned long d = strtoul(s, &e, 10);
            if (e == s || d == 0 || d > (1ul << 20) || n > (1ul << 24) / d) {
                rc = fail(msg, cap, "%s: tensor %s: bad shape", path, key);
                goto out;
            }
            n *= d;
        }
        char *vals = next_line(&cur);
        if (!vals) {
            rc = fail(msg, cap, "%s: tensor %s has no values", path, key);
            goto out;
        }
        if (!(t->v = malloc(n * sizeof(float)))) {
            rc = fail(msg, cap, "%s: out of memory", path);
            goto out;
        }
        t->n = n;
        c->nt++;
        char *p = vals;
        for (size_t i = 0; i < n; i++) {
            t->v[i] = strtof(p, &e);
            if (e == p) {
                rc = fail(msg, cap, "%s: tensor %s: value %zu missing", path, key, i);
                goto out;
            }
            p = e;
        }
    }
    if (!hp.have_kind || !hp.have_lr || c->layers < 1 || c->batch < 1 || c->steps < 1) {
        rc = fail(msg, cap, "%s: incomplete header", path);
        goto out;
    }
    c->opt = nerve_opt_default(hp.kind);
    c->opt.lr = hp.lr;
    c->opt.momentum = hp.momentum;
    c->opt.nesterov = hp.nesterov;
    c->opt.weight_decay = hp.weight_decay; /* the file states any decay it used */
out:
    free(text);
    return rc;
}

void tv_free(tv_case *c) {
    for (size_t i = 0; i < c->nt; i++) free(c->t[i].v);
    c->nt = 0;
}

const tv_tensor *tv_get(const tv_case *c, const char *fmt, ...) {
    char name[sizeof c->t[0].name];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < c->nt; i++)
        if (!strcmp(c->t[i].name, name)) return &c->t[i];
    return NULL;
}

/* Largest |v[i]|. Written with a comparison rather than fmax: gcc 12 for
 * aarch64 crashes (internal compiler error in vect_transform_reduction) when
 * it vectorizes the fmax reduction at -O3. */
static double max_abs(const float *v, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        const double a = fabs((double)v[i]);
        if (a > m) m = a;
    }
    return m;
}

/* |got - want| <= rel * max(|want|, floor) for every element. */
static int close_all(const float *got, const tv_tensor *want, double rel, double floor,
                     const char *cs, char *msg, size_t cap) {
    for (size_t i = 0; i < want->n; i++) {
        const double w = want->v[i], g = got[i];
        const double tol = rel * fmax(fabs(w), floor);
        if (!(fabs(g - w) <= tol))
            return fail(msg, cap, "%s: %s[%zu] = %.9g, PyTorch %.9g (tol %.3g)", cs, want->name, i,
                        g, w, tol);
    }
    return 0;
}

/* The tensor or a failure message naming it. */
#define NEED(dst, ...)                                                                             \
    do {                                                                                           \
        char nm_[64];                                                                              \
        snprintf(nm_, sizeof nm_, __VA_ARGS__);                                                    \
        if (!((dst) = tv_get(c, "%s", nm_))) {                                                     \
            rc = fail(msg, cap, "%s: tensor %s missing", c->name, nm_);                            \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

int tv_run(const tv_case *c, char *msg, size_t cap) {
    int rc = 0;
    nerve_net *net = NULL;
    const size_t C = c->sizes[c->layers];
    float *out = malloc(c->batch * C * sizeof(float));
    int32_t *labels = malloc(c->batch * sizeof(int32_t));
    const tv_tensor *t, *u;
    if (!out || !labels) {
        rc = fail(msg, cap, "%s: out of memory", c->name);
        goto out;
    }
    if (nerve_net_create(&net, c->layers, c->sizes, c->acts, c->loss, 1) != NERVE_OK) {
        rc = fail(msg, cap, "%s: nerve_net_create: %s", c->name, nerve_last_error());
        goto out;
    }
    for (size_t l = 0; l < c->layers; l++) {
        NEED(t, "W%zu", l);
        NEED(u, "b%zu", l);
        if (t->n != c->sizes[l] * c->sizes[l + 1] || u->n != c->sizes[l + 1]) {
            rc = fail(msg, cap, "%s: layer %zu: initial weights of the wrong size", c->name, l);
            goto out;
        }
        memcpy(nerve_net_weights(net, l), t->v, t->n * sizeof(float));
        memcpy(nerve_net_bias(net, l), u->v, u->n * sizeof(float));
    }
    if (nerve_net_set_optimizer(net, &c->opt) != NERVE_OK) {
        rc = fail(msg, cap, "%s: nerve_net_set_optimizer: %s", c->name, nerve_last_error());
        goto out;
    }
    for (size_t s = 0; s < c->steps; s++) {
        const tv_tensor *x, *y, *o, *lo;
        NEED(x, "X.%zu", s);
        NEED(y, "Y.%zu", s);
        NEED(o, "out.%zu", s);
        NEED(lo, "loss.%zu", s);
        const size_t ywant = c->loss == NERVE_LOSS_XENT ? c->batch : c->batch * C;
        if (x->n != c->batch * c->sizes[0] || y->n != ywant || o->n != c->batch * C) {
            rc = fail(msg, cap, "%s: step %zu: tensors of the wrong size", c->name, s);
            goto out;
        }
        nerve_batch b = {.x = x->v, .n = c->batch};
        if (c->loss == NERVE_LOSS_XENT) {
            for (size_t i = 0; i < c->batch; i++) labels[i] = (int32_t)y->v[i];
            b.labels = labels;
        } else {
            b.y = y->v;
        }
        /* forward with the weights before this step */
        if (nerve_net_forward(net, x->v, c->batch, out) != NERVE_OK) {
            rc = fail(msg, cap, "%s: nerve_net_forward: %s", c->name, nerve_last_error());
            goto out;
        }
        if ((rc = close_all(out, o, 1e-5, max_abs(o->v, o->n) * 1e-2, c->name, msg, cap))) goto out;
        float loss = NAN;
        if (nerve_net_train_batch(net, &b, &loss) != NERVE_OK) {
            rc = fail(msg, cap, "%s: nerve_net_train_batch: %s", c->name, nerve_last_error());
            goto out;
        }
        if ((rc = close_all(&loss, lo, 1e-5, 1e-6, c->name, msg, cap))) goto out;
        for (size_t l = 0; l < c->layers; l++) {
            NEED(t, "dW%zu.%zu", l, s);
            NEED(u, "db%zu.%zu", l, s);
            if ((rc = close_all(nerve_net_weight_grad(net, l), t, 1e-4, max_abs(t->v, t->n) * 1e-2,
                                c->name, msg, cap)))
                goto out;
            if ((rc = close_all(nerve_net_bias_grad(net, l), u, 1e-4, max_abs(u->v, u->n) * 1e-2,
                                c->name, msg, cap)))
                goto out;
        }
    }
    if (nerve_net_step_count(net) != c->steps) {
        rc = fail(msg, cap, "%s: step count %llu, want %zu", c->name,
                  (unsigned long long)nerve_net_step_count(net), c->steps);
        goto out;
    }
    for (size_t l = 0; l < c->layers; l++) {
        NEED(t, "W%zu.final", l);
        NEED(u, "b%zu.final", l);
        if ((rc = close_all(nerve_net_weights(net, l), t, 1e-4, max_abs(t->v, t->n) * 1e-2, c->name,
                            msg, cap)))
            goto out;
        if ((rc = close_all(nerve_net_bias(net, l), u, 1e-4, fmax(max_abs(u->v, u->n), 1e-3) * 1e-2,
                            c->name, msg, cap)))
            goto out;
    }
out:
    nerve_net_free(net);
    free(out);
    free(labels);
    return rc;
}
