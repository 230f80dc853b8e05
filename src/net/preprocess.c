/* The preprocessing a model carries (net.h, "preprocessing carried by the
 * model"): input and output transforms, class names, and nerve_net_predict.
 *
 * The transforms are plain scalar loops of one IEEE operation per step
 * (subtract then divide; multiply then add), compiled with
 * -ffp-contract=off like everything else, so they give the same bits on
 * every ISA and thread count. They cost nothing next to the first layer's
 * product, which reads every input once per output. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "loss.h"
#include "net_internal.h"

void net_free_preprocessing(nerve_net *net) {
    free(net->in_shift); /* in_scale lives in the same block */
    free(net->out_shift);
    if (net->class_names) {
        for (size_t k = 0; k < net->sizes[net->n_layers]; k++) free(net->class_names[k]);
        free(net->class_names);
    }
    net->in_shift = net->in_scale = net->out_shift = net->out_scale = NULL;
    net->class_names = NULL;
}

const char *net_bad_class_name(const char *name, size_t len) {
    if (len == 0) return "is empty";
    if (len > NET_MAX_NAME) return "is longer than 255 bytes";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 32 || c == 127) return "contains a control character";
    }
    return NULL;
}

/* Validates and copies w shifts and scales into a new block (shift, then
 * scale); *block NULL when both are NULL. */
static nerve_status copy_transform(const char *fn, size_t w, const float *shift, const float *scale,
                                   float **block) {
    *block = NULL;
    CHECK_ARG((shift == NULL) == (scale == NULL), "%s: give both shift and scale, or neither", fn);
    if (!shift) return NERVE_OK;
    for (size_t j = 0; j < w; j++) {
        CHECK_ARG(isfinite(shift[j]), "%s: shift %zu is not finite", fn, j);
        CHECK_ARG(isfinite(scale[j]) && scale[j] > 0.0f,
                  "%s: scale %zu is %g (must be finite and > 0)", fn, j, (double)scale[j]);
    }
    float *b = malloc(2 * w * sizeof *b);
    if (!b) return error_set(NERVE_ENOMEM, "%s: out of memory", fn);
    memcpy(b, shift, w * sizeof *b);
    memcpy(b + w, scale, w * sizeof *b);
    *block = b;
    return NERVE_OK;
}

nerve_status nerve_net_set_input_transform(nerve_net *net, const float *shift, const float *scale) {
    static const char fn[] = "nerve_net_set_input_transform";
    CHECK_ARG(net != NULL, "%s: net is NULL", fn);
    float *b;
    nerve_status st = copy_transform(fn, net->sizes[0], shift, scale, &b);
    if (st != NERVE_OK) return st;
    free(net->in_shift);
    net->in_shift = b;
    net->in_scale = b ? b + net->sizes[0] : NULL;
    return NERVE_OK;
}

nerve_status nerve_net_set_output_transform(nerve_net *net, const float *shift,
                                            const float *scale) {
    static const char fn[] = "nerve_net_set_output_transform";
    CHECK_ARG(net != NULL, "%s: net is NULL", fn);
    CHECK_ARG(!shift || !loss_of(net->loss)->labels,
              "%s: an output transform is for regression: the loss %s takes class labels", fn,
              loss_of(net->loss)->name);
    const size_t w = net->sizes[net->n_layers];
    float *b;
    nerve_status st = copy_transform(fn, w, shift, scale, &b);
    if (st != NERVE_OK) return st;
    free(net->out_shift);
    net->out_shift = b;
    net->out_scale = b ? b + w : NULL;
    return NERVE_OK;
}

int nerve_net_has_input_transform(const nerve_net *net) { return net && net->in_shift; }
int nerve_net_has_output_transform(const nerve_net *net) { return net && net->out_shift; }
const float *nerve_net_input_shift(const nerve_net *net) { return net ? net->in_shift : NULL; }
const float *nerve_net_input_scale(const nerve_net *net) { return net ? net->in_scale : NULL; }
const float *nerve_net_output_shift(const nerve_net *net) { return net ? net->out_shift : NULL; }
const float *nerve_net_output_scale(const nerve_net *net) { return net ? net->out_scale : NULL; }

/* (v - shift) / scale over n rows of w; non-finite results are refused. */
static nerve_status apply_forward(const char *fn, const char *what, const float *shift,
                                  const float *scale, const float *v, size_t n, size_t w,
                                  float *dst) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < w; j++) {
            float r = v[i * w + j];
            if (shift) {
                float d = r - shift[j];
                r = d / scale[j];
            }
            if (!isfinite(r))
                return error_set(NERVE_EINVAL, "%s: row %zu %s %zu is %g%s", fn, i, what, j,
                                 (double)v[i * w + j],
                                 shift ? " (not finite once transformed)" : "");
            dst[i * w + j] = r;
        }
    return NERVE_OK;
}

nerve_status nerve_net_transform_inputs(const nerve_net *net, const float *x, size_t n,
                                        float *x_net) {
    static const char fn[] = "nerve_net_transform_inputs";
    CHECK_ARG(net != NULL, "%s: net is NULL", fn);
    CHECK_ARG(n == 0 || (x != NULL && x_net != NULL), "%s: x or x_net is NULL", fn);
    return apply_forward(fn, "feature", net->in_shift, net->in_scale, x, n, net->sizes[0], x_net);
}

nerve_status nerve_net_transform_targets(const nerve_net *net, const float *y, size_t n,
                                         float *y_net) {
    static const char fn[] = "nerve_net_transform_targets";
    CHECK_ARG(net != NULL, "%s: net is NULL", fn);
    CHECK_ARG(n == 0 || (y != NULL && y_net != NULL), "%s: y or y_net is NULL", fn);
    return apply_forward(fn, "target", net->out_shift, net->out_scale, y, n,
                         net->sizes[net->n_layers], y_net);
}

nerve_status nerve_net_predict(const nerve_net *net, const float *x, size_t n, float *out) {
    static const char fn[] = "nerve_net_predict";
    CHECK_ARG(net != NULL, "%s: net is NULL", fn);
    CHECK_ARG(n >= 1, "%s: n is 0 (no samples)", fn);
    CHECK_ARG(x != NULL && out != NULL, "%s: x or out is NULL", fn);
    const size_t in = net->sizes[0], w = net->sizes[net->n_layers];
    CHECK_ARG(n <= SIZE_MAX / sizeof(float) / in, "%s: n = %zu is too large", fn, n);
    const float *xin = x;
    float *tmp = NULL;
    nerve_status st = NERVE_OK;
    if (net->in_shift) {
        tmp = malloc(n * in * sizeof *tmp);
        if (!tmp) return error_set(NERVE_ENOMEM, "%s: out of memory for %zu rows", fn, n);
        st = apply_forward(fn, "feature", net->in_shift, net->in_scale, x, n, in, tmp);
        xin = tmp;
    }
    if (st == NERVE_OK) st = nerve_net_forward_const(net, xin, n, out, NULL);
    free(tmp);
    if (st != NERVE_OK || !net->out_shift) return st;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < w; k++) {
            float p = out[i * w + k] * net->out_scale[k];
            out[i * w + k] = p + net->out_shift[k];
        }
    return NERVE_OK;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

nerve_status nerve_net_set_class_names(nerve_net *net, const char *const *names) {
    static const char fn[] = "nerve_net_set_class_names";
    CHECK_ARG(net != NULL, "%s: net is NULL", fn);
    const size_t k = net->sizes[net->n_layers];
    char **copy = NULL;
    if (names) {
        for (size_t i = 0; i < k; i++) {
            CHECK_ARG(names[i] != NULL, "%s: name %zu is NULL", fn, i);
            size_t len = strnlen(names[i], NET_MAX_NAME + 1);
            const char *bad = net_bad_class_name(names[i], len);
            CHECK_ARG(!bad, "%s: name %zu %s", fn, i, bad);
        }
        const char **sorted = malloc(k * sizeof *sorted);
        copy = calloc(k, sizeof *copy);
        if (!sorted || !copy) {
            free(sorted);
            free(copy);
            return error_set(NERVE_ENOMEM, "%s: out of memory", fn);
        }
        memcpy(sorted, names, k * sizeof *sorted);
        qsort(sorted, k, sizeof *sorted, cmp_str);
        for (size_t i = 1; i < k; i++)
            if (strcmp(sorted[i - 1], sorted[i]) == 0) {
                nerve_status st = error_set(NERVE_EINVAL, "%s: class name \"%.64s\" appears twice",
                                            fn, sorted[i]);
                free(sorted);
                free(copy);
                return st;
            }
        free(sorted);
        for (size_t i = 0; i < k; i++) {
            size_t len = strlen(names[i]);
            copy[i] = malloc(len + 1);
            if (!copy[i]) {
                for (size_t j = 0; j < i; j++) free(copy[j]);
                free(copy);
                return error_set(NERVE_ENOMEM, "%s: out of memory", fn);
            }
            memcpy(copy[i], names[i], len + 1);
        }
    }
    if (net->class_names) {
        for (size_t i = 0; i < k; i++) free(net->class_names[i]);
        free(net->class_names);
    }
    net->class_names = copy;
    return NERVE_OK;
}

const char *nerve_net_class_name(const nerve_net *net, size_t k) {
    if (!net || !net->class_names || k >= net->sizes[net->n_layers]) return NULL;
    return net->class_names[k];
}
