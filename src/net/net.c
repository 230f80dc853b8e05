/* Creating and freeing a network, its accessors, and the names of
 * activations and losses (from their lists, kernels.h). The layout of the
 * parameter block is described in net_internal.h; weight initialisation is
 * in init.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "loss.h"
#include "names.h"
#include "net_internal.h"
#include "net_plan.h"
#include "rng.h"

#define ACT_NAME_(E, name) [NERVE_ACT_##E] = #name,
static const char *const act_names[NERVE_ACT_COUNT] = {NERVE_ACT_LIST(ACT_NAME_)};
#undef ACT_NAME_

const char *nerve_act_name(nerve_act act) {
    return (unsigned)act < NERVE_ACT_COUNT ? act_names[act] : "unknown";
}

nerve_status nerve_act_from_name(const char *name, nerve_act *out) {
    CHECK_ARG(name != NULL && out != NULL, "nerve_act_from_name: null argument");
    int i = 0;
    nerve_status st = find_name("activation", name, act_names, NERVE_ACT_COUNT, &i);
    if (st == NERVE_OK) *out = (nerve_act)i;
    return st;
}

#define LOSS_NAME_(E, name, targets, mean, gscale) [NERVE_LOSS_##E] = #name,
static const char *const loss_names[NERVE_LOSS_COUNT] = {NERVE_LOSS_LIST(LOSS_NAME_)};
#undef LOSS_NAME_

const char *nerve_loss_name(nerve_loss loss) {
    return (unsigned)loss < NERVE_LOSS_COUNT ? loss_names[loss] : "unknown";
}

nerve_status nerve_loss_from_name(const char *name, nerve_loss *out) {
    CHECK_ARG(name != NULL && out != NULL, "nerve_loss_from_name: null argument");
    int i = 0;
    nerve_status st = find_name("loss", name, loss_names, NERVE_LOSS_COUNT, &i);
    if (st == NERVE_OK) *out = (nerve_loss)i;
    return st;
}

/* Every array of the parameter block starts on a 64-byte boundary. */
static size_t align16(size_t n) { return (n + 15) / 16 * 16; }

#define MAX_WIDTH  ((size_t)NET_MAX_WIDTH)
#define MAX_PARAMS ((size_t)NET_MAX_PARAMS)

nerve_status nerve_net_create(nerve_net **out, size_t n_layers, const size_t *sizes,
                              const nerve_act *acts, nerve_loss loss, uint64_t seed) {
    static const char fn[] = "nerve_net_create";
    CHECK_ARG(out != NULL, "%s: out is NULL", fn);
    *out = NULL;
    CHECK_ARG(n_layers >= 1, "%s: a network needs at least one layer (n_layers is 0)", fn);
    CHECK_ARG(n_layers <= NET_MAX_LAYERS, "%s: %zu layers is more than the %u supported", fn,
              n_layers, NET_MAX_LAYERS);
    CHECK_ARG(sizes != NULL, "%s: sizes is NULL", fn);
    CHECK_ARG(acts != NULL, "%s: acts is NULL", fn);
    CHECK_ARG((unsigned)loss < NERVE_LOSS_COUNT, "%s: invalid loss value %d", fn, (int)loss);
    size_t total = 0, alloc = 0;
    for (size_t i = 0; i <= n_layers; i++) {
        CHECK_ARG(sizes[i] >= 1, "%s: width %zu is 0", fn, i);
        CHECK_ARG(sizes[i] <= MAX_WIDTH, "%s: width %zu is %zu, more than the %zu supported", fn, i,
                  sizes[i], MAX_WIDTH);
    }
    for (size_t l = 0; l < n_layers; l++) {
        CHECK_ARG((unsigned)acts[l] < NERVE_ACT_COUNT,
                  "%s: invalid activation value %d for layer %zu", fn, (int)acts[l], l);
        const size_t w = sizes[l + 1] * sizes[l]; /* < 2^48 by MAX_WIDTH */
        CHECK_ARG(w <= MAX_PARAMS && total <= MAX_PARAMS - w - sizes[l + 1],
                  "%s: more than %zu parameters", fn, MAX_PARAMS);
        total += w + sizes[l + 1];
        alloc += align16(w) + align16(sizes[l + 1]);
    }
    if (loss_of(loss)->labels)
        CHECK_ARG(sizes[n_layers] >= 2,
                  "%s: loss %s takes class labels and needs at least 2 classes (output width %zu)",
                  fn, loss_of(loss)->name, sizes[n_layers]);

    nerve_net *net = calloc(1, sizeof *net);
    if (!net) return error_set(NERVE_ENOMEM, "%s: out of memory", fn);
    net->n_layers = n_layers;
    net->loss = loss;
    net->seed = seed;
    net->n_params = total;
    net->n_alloc = alloc;
    net->sizes = malloc((n_layers + 1) * sizeof *net->sizes);
    net->acts = malloc(n_layers * sizeof *net->acts);
    net->w_off = malloc(n_layers * sizeof *net->w_off);
    net->b_off = malloc(n_layers * sizeof *net->b_off);
    net->params = aligned_alloc(64, alloc * sizeof(float));
    net->grads = aligned_alloc(64, alloc * sizeof(float));
    if (!net->sizes || !net->acts || !net->w_off || !net->b_off || !net->params || !net->grads) {
        nerve_net_free(net);
        return error_set(NERVE_ENOMEM, "%s: out of memory for %zu parameters", fn, total);
    }
    memcpy(net->sizes, sizes, (n_layers + 1) * sizeof *sizes);
    memcpy(net->acts, acts, n_layers * sizeof *acts);
    size_t off = 0;
    for (size_t l = 0; l < n_layers; l++) {
        net->w_off[l] = off;
        off += align16(sizes[l + 1] * sizes[l]);
        net->b_off[l] = off;
        off += align16(sizes[l + 1]);
    }
    memset(net->params, 0, alloc * sizeof(float));
    memset(net->grads, 0, alloc * sizeof(float));
    net_init_weights(net);
    /* The shuffling generator gets its own stream: the seed's splitmix64
     * sequence shifted by a fixed odd constant (the first 64 bits of the
     * fractional part of pi), so it never replays the weight stream. */
    rng_seed(net->rng, seed ^ 0x243F6A8885A308D3ull);

    const nerve_opt sgd = nerve_opt_default(NERVE_OPT_SGD);
    nerve_status st = nerve_net_set_optimizer(net, &sgd);
    if (st != NERVE_OK) {
        nerve_net_free(net);
        return st;
    }
    *out = net;
    return NERVE_OK;
}

void nerve_net_free(nerve_net *net) {
    if (!net) return;
    net_free_preprocessing(net); /* reads sizes: first */
    plan_free(net->plan);
    free(net->sizes);
    free(net->acts);
    free(net->w_off);
    free(net->b_off);
    free(net->params);
    free(net->grads);
    free(net->opt_m);
    free(net->opt_v);
    free(net->packed);
    free(net);
}

size_t nerve_net_layers(const nerve_net *net) { return net ? net->n_layers : 0; }

size_t nerve_net_width(const nerve_net *net, size_t i) {
    return net && i <= net->n_layers ? net->sizes[i] : 0;
}

nerve_act nerve_net_activation(const nerve_net *net, size_t layer) {
    return net && layer < net->n_layers ? net->acts[layer] : NERVE_ACT_COUNT;
}

nerve_loss nerve_net_loss(const nerve_net *net) { return net ? net->loss : NERVE_LOSS_COUNT; }

size_t nerve_net_param_count(const nerve_net *net) { return net ? net->n_params : 0; }

float *nerve_net_weights(nerve_net *net, size_t layer) {
    if (!net || layer >= net->n_layers) return NULL;
    net->packed_valid = 0; /* the caller may write through the pointer */
    net->bf16_w_valid = 0;
    net->bound_valid = 0;
    return net->params + net->w_off[layer];
}

float *nerve_net_bias(nerve_net *net, size_t layer) {
    if (!net || layer >= net->n_layers) return NULL;
    net->bound_valid = 0; /* the caller may write through the pointer */
    return net->params + net->b_off[layer];
}

const float *nerve_net_weight_grad(const nerve_net *net, size_t layer) {
    return net && layer < net->n_layers ? net->grads + net->w_off[layer] : NULL;
}

const float *nerve_net_bias_grad(const nerve_net *net, size_t layer) {
    return net && layer < net->n_layers ? net->grads + net->b_off[layer] : NULL;
}

uint64_t nerve_net_epoch_count(const nerve_net *net) { return net ? net->epoch : 0; }

/* ---- precision of the training step (net.h) ---- */

static const char *const precision_names[NERVE_PRECISION_COUNT] = {"fp32", "bf16"};

const char *nerve_precision_name(nerve_precision precision) {
    return (unsigned)precision < NERVE_PRECISION_COUNT ? precision_names[precision] : "unknown";
}

nerve_status nerve_precision_from_name(const char *name, nerve_precision *out) {
    CHECK_ARG(name != NULL && out != NULL, "nerve_precision_from_name: null argument");
    for (int i = 0; i < NERVE_PRECISION_COUNT; i++)
        if (strcasecmp(name, precision_names[i]) == 0) {
            *out = (nerve_precision)i;
            return NERVE_OK;
        }
    return error_set(NERVE_EINVAL, "unknown precision '%.64s' (expected fp32 or bf16)", name);
}

nerve_status nerve_net_set_precision(nerve_net *net, nerve_precision precision) {
    CHECK_ARG(net != NULL, "nerve_net_set_precision: net is NULL");
    CHECK_ARG((unsigned)precision < NERVE_PRECISION_COUNT,
              "nerve_net_set_precision: %d is not a nerve_precision", (int)precision);
    net->precision = precision; /* the step plans its bf16 buffers when it first needs them */
    return NERVE_OK;
}

nerve_precision nerve_net_precision(const nerve_net *net) {
    return net ? net->precision : NERVE_PRECISION_FP32;
}
