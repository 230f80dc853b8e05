/* The values a model file may hold: every parameter finite, and with the
 * training state every moment finite (second moments >= 0), Adam's beta
 * powers in [0, 1] and a cut epoch's loss sum finite and >= 0, which is
 * what model_read.c accepts. A network that fails this (a caller wrote NaN through
 * nerve_net_weights) is never written: the old file stays, and the message names the first bad
 * value. */
#include <math.h>

#include "error.h"
#include "model_format.h"
#include "net_internal.h"

static nerve_status check_block(const nerve_net *net, const float *base, int nonneg,
                                const char *what, const char *name) {
    for (size_t l = 0; l < net->n_layers; l++) {
        const size_t out = net->sizes[l + 1], in = net->sizes[l];
        const float *w = base + net->w_off[l], *b = base + net->b_off[l];
        for (size_t i = 0; i < out * in + out; i++) {
            const float v = i < out * in ? w[i] : b[i - out * in];
            if (!isfinite(v) || (nonneg && v < 0.0f))
                return error_set(NERVE_ENUMERIC,
                                 "%s: layer %zu %s %s %zu is %g; a model with non-finite values "
                                 "is not written",
                                 name, l, what, i < out * in ? "weight" : "bias",
                                 i < out * in ? i : i - out * in, (double)v);
        }
    }
    return NERVE_OK;
}

nerve_status model_check_finite(const nerve_net *net, int with_training_state, const char *name) {
    nerve_status st = check_block(net, net->params, 0, "parameter", name);
    if (st != NERVE_OK || !with_training_state) return st;
    if (net->opt_m && (st = check_block(net, net->opt_m, 0, "first moment", name)) != NERVE_OK)
        return st;
    if (net->opt_v && (st = check_block(net, net->opt_v, 1, "second moment", name)) != NERVE_OK)
        return st;
    if (!(net->beta1_pow >= 0.0 && net->beta1_pow <= 1.0 && net->beta2_pow >= 0.0 &&
          net->beta2_pow <= 1.0))
        return error_set(NERVE_ENUMERIC, "%s: the optimizer's beta powers are out of [0, 1]", name);
    if (!(isfinite(net->cut.loss_sum) && net->cut.loss_sum >= 0.0))
        return error_set(NERVE_ENUMERIC, "%s: the cut epoch's loss sum is %g", name,
                         net->cut.loss_sum);
    return NERVE_OK;
}
