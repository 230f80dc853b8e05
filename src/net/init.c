/* Weight initialisation (docs/architecture.md, "Initialisation").
 *
 * One xoshiro256** stream seeded with the network's seed fills the weight
 * matrices in order (layer 0 first, each row-major); biases are 0.
 *   - Glorot (Xavier) uniform, gain 1, for layers followed by identity,
 *     sigmoid or tanh: U(-a, a), a = sqrt(6 / (fan_in + fan_out));
 *   - He (Kaiming) uniform, gain sqrt(2), for the ReLU family (relu,
 *     leaky_relu, elu, gelu, silu, softplus): a = gain * sqrt(3 / fan_in)
 *     = sqrt(6 / fan_in) (PyTorch's kaiming_uniform_ with nonlinearity
 *     'relu'; the same gain for every member of the family).
 * Each weight is a * u with u = rng_uniform_pm1() (exact in float) and a
 * rounded once from double; the product is one IEEE multiplication, so the
 * weights are the same on every platform. */
#include <math.h>

#include "net_internal.h"
#include "net_plan.h"
#include "rng.h"

static int relu_family(nerve_act act) {
    return act != NERVE_ACT_IDENTITY && act != NERVE_ACT_SIGMOID && act != NERVE_ACT_TANH;
}

float net_init_bound(nerve_act act, size_t fan_in, size_t fan_out) {
    /* sqrt is correctly rounded (IEEE 754), so `a` is portable too. */
    const double a = relu_family(act) ? sqrt(6.0 / (double)fan_in)
                                      : sqrt(6.0 / ((double)fan_in + (double)fan_out));
    return (float)a;
}

void net_init_weights(nerve_net *net) {
    uint64_t s[4];
    rng_seed(s, net->seed);
    for (size_t l = 0; l < net->n_layers; l++) {
        const size_t in = net->sizes[l], out = net->sizes[l + 1];
        const float a = net_init_bound(net->acts[l], in, out);
        float *w = net->params + net->w_off[l];
        for (size_t i = 0; i < out * in; i++) w[i] = a * rng_uniform_pm1(s);
        float *b = net->params + net->b_off[l];
        for (size_t i = 0; i < out; i++) b[i] = 0.0f;
    }
}
