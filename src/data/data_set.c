/* The owning data set type: creation, views, seeded splits, standardization. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"
#include "error.h"
#include "rng.h"

void data_set_name(nerve_data *data, const char *name) {
    size_t n = strlen(name);
    if (n >= sizeof data->name) n = sizeof data->name - 1;
    memcpy(data->name, name, n);
    data->name[n] = '\0';
}

/* n * m without overflow; 0 on success. */
static int mul_ok(size_t a, size_t b, size_t *out) {
    if (a && b > SIZE_MAX / a) return 1;
    *out = a * b;
    return 0;
}

nerve_status nerve_data_create(nerve_data **out, size_t n, size_t in, size_t outs,
                               int classification, const char *name) {
    CHECK_ARG(out != NULL, "nerve_data_create: out is NULL");
    *out = NULL;
    CHECK_ARG(in >= 1 && outs >= 1, "nerve_data_create: in (%zu) and out (%zu) must be >= 1", in,
              outs);
    size_t nx, ny, bx, by;
    if (mul_ok(n, in, &nx) || mul_ok(nx, sizeof(float), &bx) ||
        mul_ok(n, classification ? 1 : outs, &ny) || mul_ok(ny, sizeof(float), &by))
        return error_set(NERVE_EINVAL, "nerve_data_create: %zu samples x %zu features overflow", n,
                         in);
    nerve_data *d = calloc(1, sizeof *d);
    if (!d) return error_set(NERVE_ENOMEM, "nerve_data_create: out of memory");
    d->x = calloc(nx ? nx : 1, sizeof(float));
    if (classification)
        d->labels = calloc(ny ? ny : 1, sizeof(int32_t));
    else
        d->y = calloc(ny ? ny : 1, sizeof(float));
    if (!d->x || (!d->labels && !d->y)) {
        nerve_data_free(d);
        return error_set(NERVE_ENOMEM, "nerve_data_create: cannot allocate %zu + %zu bytes", bx,
                         by);
    }
    d->n = n;
    d->in = in;
    d->out = outs;
    data_set_name(d, name ? name : "");
    *out = d;
    return NERVE_OK;
}

void nerve_data_free(nerve_data *data) {
    if (!data) return;
    free(data->x);
    free(data->labels);
    free(data->y);
    data_free_names(data);
    free(data);
}

void data_free_names(nerve_data *data) {
    if (!data->class_names) return;
    for (size_t k = 0; k < data->out; k++) free(data->class_names[k]);
    free(data->class_names);
    data->class_names = NULL;
}

nerve_status data_copy_names(nerve_data *dst, const nerve_data *src) {
    if (!src->class_names) return NERVE_OK;
    dst->class_names = calloc(src->out, sizeof *dst->class_names);
    if (!dst->class_names) return error_set(NERVE_ENOMEM, "%s: out of memory", src->name);
    for (size_t k = 0; k < src->out; k++) {
        size_t n = strlen(src->class_names[k]);
        dst->class_names[k] = malloc(n + 1);
        if (!dst->class_names[k]) {
            data_free_names(dst);
            return error_set(NERVE_ENOMEM, "%s: out of memory", src->name);
        }
        memcpy(dst->class_names[k], src->class_names[k], n + 1);
    }
    return NERVE_OK;
}

nerve_dataset nerve_data_view(const nerve_data *data) {
    nerve_dataset v;
    memset(&v, 0, sizeof v);
    if (!data) return v;
    v.x = data->x;
    v.y = data->y;
    v.labels = data->labels;
    v.n = data->n;
    v.in = data->in;
    v.out = data->out;
    return v;
}

/* Copies sample src_i of src to row dst_i of dst. */
static void copy_row(nerve_data *dst, size_t dst_i, const nerve_data *src, size_t src_i) {
    memcpy(dst->x + dst_i * dst->in, src->x + src_i * src->in, src->in * sizeof(float));
    if (src->labels)
        dst->labels[dst_i] = src->labels[src_i];
    else
        memcpy(dst->y + dst_i * dst->out, src->y + src_i * src->out, src->out * sizeof(float));
}

nerve_status nerve_data_split(const nerve_data *src, double fraction, uint64_t seed,
                              nerve_data **rest, nerve_data **held) {
    CHECK_ARG(rest != NULL && held != NULL, "nerve_data_split: output pointer is NULL");
    *rest = *held = NULL;
    CHECK_ARG(src != NULL, "nerve_data_split: src is NULL");
    CHECK_ARG(src->labels || src->y,
              "nerve_data_split: %s holds features only (no labels or targets)", src->name);
    CHECK_ARG(fraction > 0.0 && fraction < 1.0, "nerve_data_split: fraction %g is not in (0, 1)",
              fraction);
    size_t n_held = (size_t)floor(fraction * (double)src->n);
    CHECK_ARG(n_held >= 1 && n_held < src->n,
              "nerve_data_split: holding out %g of %zu samples leaves an empty part", fraction,
              src->n);
    size_t *order = malloc(src->n * sizeof *order);
    if (!order) return error_set(NERVE_ENOMEM, "nerve_data_split: out of memory");
    for (size_t i = 0; i < src->n; i++) order[i] = i;
    rng_shuffle_splitmix(seed, order, src->n);
    int cls = src->labels != NULL;
    char name[sizeof src->name + 16];
    nerve_data *a = NULL, *b = NULL;
    snprintf(name, sizeof name, "%s (rest)", src->name);
    nerve_status st = nerve_data_create(&a, src->n - n_held, src->in, src->out, cls, name);
    if (st == NERVE_OK) {
        snprintf(name, sizeof name, "%s (held out)", src->name);
        st = nerve_data_create(&b, n_held, src->in, src->out, cls, name);
    }
    if (st != NERVE_OK) {
        nerve_data_free(a);
        free(order);
        return st;
    }
    if ((st = data_copy_names(a, src)) != NERVE_OK || (st = data_copy_names(b, src)) != NERVE_OK) {
        nerve_data_free(a);
        nerve_data_free(b);
        free(order);
        return st;
    }
    for (size_t i = 0; i < n_held; i++) copy_row(b, i, src, order[i]);
    for (size_t i = n_held; i < src->n; i++) copy_row(a, i - n_held, src, order[i]);
    free(order);
    *rest = a;
    *held = b;
    return NERVE_OK;
}

nerve_status nerve_data_standardize(nerve_data *fit, nerve_data *other) {
    CHECK_ARG(fit != NULL, "nerve_data_standardize: fit is NULL");
    CHECK_ARG(fit->n > 0, "nerve_data_standardize: fit has no samples");
    CHECK_ARG(!other || other->in == fit->in,
              "nerve_data_standardize: feature counts differ (%zu vs %zu)", fit->in,
              other ? other->in : 0);
    size_t in = fit->in;
    double *mean = calloc(2 * in, sizeof(double));
    if (!mean) return error_set(NERVE_ENOMEM, "nerve_data_standardize: out of memory");
    double *scale = mean + in;
    /* two passes in double: mean, then the mean squared deviation */
    for (size_t i = 0; i < fit->n; i++)
        for (size_t j = 0; j < in; j++) mean[j] += fit->x[i * in + j];
    for (size_t j = 0; j < in; j++) mean[j] /= (double)fit->n;
    for (size_t i = 0; i < fit->n; i++)
        for (size_t j = 0; j < in; j++) {
            double d = fit->x[i * in + j] - mean[j];
            scale[j] += d * d;
        }
    for (size_t j = 0; j < in; j++) {
        double sd = sqrt(scale[j] / (double)fit->n);
        scale[j] = sd > 0 ? 1.0 / sd : 1.0;
    }
    nerve_data *sets[2] = {fit, other};
    for (int k = 0; k < 2; k++) {
        nerve_data *d = sets[k];
        if (!d) continue;
        for (size_t i = 0; i < d->n; i++)
            for (size_t j = 0; j < in; j++)
                d->x[i * in + j] = (float)((d->x[i * in + j] - mean[j]) * scale[j]);
    }
    free(mean);
    return NERVE_OK;
}

/* Mean and population standard deviation of w columns over n rows, in
 * double (two passes), rounded to float; sd 1 where it is 0 or tiny. */
static void column_stats(const float *v, size_t n, size_t w, float *mean, float *sd) {
    for (size_t j = 0; j < w; j++) {
        double m = 0, q = 0;
        for (size_t i = 0; i < n; i++) m += v[i * w + j];
        m /= (double)n;
        for (size_t i = 0; i < n; i++) {
            double d = v[i * w + j] - m;
            q += d * d;
        }
        double s = sqrt(q / (double)n);
        float fs = (float)s;
        mean[j] = (float)m;
        /* 1e-30: dividing by less would overflow ordinary values */
        sd[j] = isfinite(fs) && fs >= 1e-30f ? fs : 1.0f;
    }
}

nerve_status nerve_data_feature_stats(const nerve_data *fit, float *mean, float *sd) {
    CHECK_ARG(fit != NULL && mean != NULL && sd != NULL, "nerve_data_feature_stats: NULL argument");
    CHECK_ARG(fit->n > 0, "nerve_data_feature_stats: %s has no samples", fit->name);
    column_stats(fit->x, fit->n, fit->in, mean, sd);
    return NERVE_OK;
}

nerve_status nerve_data_target_stats(const nerve_data *fit, float *mean, float *sd) {
    CHECK_ARG(fit != NULL && mean != NULL && sd != NULL, "nerve_data_target_stats: NULL argument");
    CHECK_ARG(fit->y != NULL, "nerve_data_target_stats: %s has %s, not regression targets",
              fit->name, fit->labels ? "class labels" : "features only");
    CHECK_ARG(fit->n > 0, "nerve_data_target_stats: %s has no samples", fit->name);
    column_stats(fit->y, fit->n, fit->out, mean, sd);
    return NERVE_OK;
}
