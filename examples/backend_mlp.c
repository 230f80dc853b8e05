/* nerve as a kernel library: a two-hidden-layer MLP trained with the public
 * kernel API alone (kernels.h: nerve_linear_forward/backward, the losses,
 * nerve_act_backward and the optimizer updates), no nerve_net in the loop.
 *
 *   cc backend_mlp.c -lnerve -fopenmp -lz -lm -o backend_mlp && ./backend_mlp
 *
 * This is how another framework would use nerve as its CPU backend: it owns
 * the parameters, the activations kept for backward, the gradients and the
 * optimizer state, and calls one kernel per operation.
 *
 * The proof that the API is complete: the same data, initial weights and
 * optimizer given to nerve_net (which only supplies the initial weights and
 * the reference) must give bit-identical losses at every step and
 * bit-identical weights at the end, for SGD (momentum, Nesterov, weight
 * decay), AdamW and Adam, for MSE and cross-entropy, and for batches of one
 * (nerve_net's GEMV path). Built and run by the tests (tests/cli.cmake);
 * exits 1 on the first difference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nerve/nerve.h>

#define CHECK(call)                                                                                \
    do {                                                                                           \
        nerve_status st_ = (call);                                                                 \
        if (st_ != NERVE_OK) {                                                                     \
            fprintf(stderr, "%s failed: %s\n", #call, nerve_last_error());                         \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define LAYERS 3 /* two hidden layers and the output layer */

/* One layer's arrays, all owned by this program. */
typedef struct layer {
    size_t in, out;
    nerve_act act;
    float *w, *b;   /* parameters: W [out x in], b [out] */
    float *dw, *db; /* gradients */
    float *m[2];    /* optimizer state of W and b: SGD momentum / Adam first moment */
    float *v[2];    /* Adam second moment */
    float *z, *y;   /* pre-activation (NULL for identity) and output, [batch x out] */
} layer;

typedef struct model {
    layer l[LAYERS];
    nerve_loss loss;
    nerve_opt opt;
    float *d[2]; /* ping-pong gradients of the pre-activations */
    uint64_t step;
} model;

static float *zeros(size_t n) {
    float *p = calloc(n ? n : 1, sizeof(float));
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

/* The model, with nerve_net's initial weights copied in. */
static void model_init(model *md, const size_t *sizes, const nerve_act *acts, nerve_loss loss,
                       const nerve_opt *opt, size_t max_batch, nerve_net *net) {
    memset(md, 0, sizeof *md);
    md->loss = loss;
    md->opt = *opt;
    size_t maxw = 0;
    for (int i = 0; i < LAYERS; i++) {
        layer *L = &md->l[i];
        L->in = sizes[i];
        L->out = sizes[i + 1];
        L->act = acts[i];
        L->w = zeros(L->out * L->in);
        L->b = zeros(L->out);
        memcpy(L->w, nerve_net_weights(net, (size_t)i), L->out * L->in * sizeof(float));
        memcpy(L->b, nerve_net_bias(net, (size_t)i), L->out * sizeof(float));
        L->dw = zeros(L->out * L->in);
        L->db = zeros(L->out);
        for (int k = 0; k < 2; k++) {
            L->m[k] = zeros(k ? L->out : L->out * L->in);
            L->v[k] = zeros(k ? L->out : L->out * L->in);
        }
        L->z = acts[i] == NERVE_ACT_IDENTITY ? NULL : zeros(max_batch * L->out);
        L->y = zeros(max_batch * L->out);
        if (L->out > maxw) maxw = L->out;
        if (L->in > maxw) maxw = L->in;
    }
    md->d[0] = zeros(max_batch * maxw);
    md->d[1] = zeros(max_batch * maxw);
}

static void model_free(model *md) {
    for (int i = 0; i < LAYERS; i++) {
        layer *L = &md->l[i];
        free(L->w), free(L->b), free(L->dw), free(L->db), free(L->z), free(L->y);
        for (int k = 0; k < 2; k++) free(L->m[k]), free(L->v[k]);
    }
    free(md->d[0]);
    free(md->d[1]);
}

/* One optimizer step of one parameter array (k: 0 weights, 1 biases). */
static void update(const model *md, layer *L, int k) {
    const size_t n = k ? L->out : L->out * L->in;
    float *w = k ? L->b : L->w;
    const float *g = k ? L->db : L->dw;
    const nerve_opt *o = &md->opt;
    if (o->kind == NERVE_OPT_SGD) {
        const nerve_sgd_params p = {.lr = o->lr,
                                    .momentum = o->momentum,
                                    .dampening = 0.0f,
                                    .weight_decay = o->weight_decay,
                                    .nesterov = o->nesterov};
        CHECK(nerve_sgd_update(n, w, g, L->m[k], &p, md->step));
    } else {
        const nerve_adam_params p = {.lr = o->lr,
                                     .beta1 = o->beta1,
                                     .beta2 = o->beta2,
                                     .eps = o->eps,
                                     .weight_decay = o->weight_decay};
        if (o->kind == NERVE_OPT_ADAMW)
            CHECK(nerve_adamw_update(n, w, g, L->m[k], L->v[k], &p, md->step));
        else
            CHECK(nerve_adam_update(n, w, g, L->m[k], L->v[k], &p, md->step));
    }
}

/* One training step on n samples: forward, loss, backward, update. */
static float train_step(model *md, const float *x, const float *y, const int32_t *labels,
                        size_t n) {
    /* forward: Y_l = act_l(Y_{l-1} W_l^T + b_l), keeping Z_l where backward needs it */
    const float *in = x;
    for (int i = 0; i < LAYERS; i++) {
        layer *L = &md->l[i];
        CHECK(nerve_linear_forward(n, L->in, L->out, in, L->w, L->b, L->act, L->z, L->y));
        in = L->y;
    }
    /* loss and its gradient with respect to the outputs (the mean loss's
     * gradient: scales computed in double and rounded once, as nerve_net) */
    layer *top = &md->l[LAYERS - 1];
    const size_t C = top->out;
    float loss, *d = md->d[0];
    if (md->loss == NERVE_LOSS_XENT)
        CHECK(
            nerve_loss_xent(n, C, top->y, C, labels, (float)(1.0 / (double)n), d, C, NULL, &loss));
    else
        CHECK(nerve_loss_mse(n, C, top->y, C, y, C, (float)(2.0 / ((double)n * (double)C)), d, C,
                             NULL, &loss));
    /* through the output activation: dZ = dY * act'(Z) */
    if (top->act != NERVE_ACT_IDENTITY)
        CHECK(nerve_act_backward(top->act, n * C, top->z, top->y, d, d));
    /* backward, top layer first; each call also gives the previous layer's
     * dZ (its activation derivative fused) */
    for (int i = LAYERS - 1; i >= 0; i--) {
        layer *L = &md->l[i];
        const layer *P = i ? &md->l[i - 1] : NULL;
        float *dprev = md->d[(LAYERS - i) % 2];
        CHECK(nerve_linear_backward(n, L->in, L->out, P ? P->y : x, L->w, d, L->dw, L->db, 0,
                                    P ? P->act : NERVE_ACT_IDENTITY, P ? P->z : NULL,
                                    P ? P->y : NULL, P ? dprev : NULL));
        d = dprev;
    }
    md->step++;
    for (int i = 0; i < LAYERS; i++) {
        update(md, &md->l[i], 0);
        update(md, &md->l[i], 1);
    }
    return loss;
}

static int same_bits(const float *a, const float *b, size_t n, const char *what, int li) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0) {
            fprintf(stderr, "FAIL: %s of layer %d differ at %zu: backend %.9g, nerve_net %.9g\n",
                    what, li, i, (double)a[i], (double)b[i]);
            return 0;
        }
    return 1;
}

/* Trains the backend model and a nerve_net side by side on the same batches;
 * returns 1 when every loss and every final weight agree bit for bit. */
static int run_case(const char *name, const nerve_data *data, const nerve_act *acts,
                    nerve_loss loss, const nerve_opt *opt) {
    const size_t sizes[LAYERS + 1] = {data->in, 48, 24, data->out};
    static const size_t batches[] = {32, 32, 1, 17, 64, 5, 1, 40};
    const size_t nb = sizeof batches / sizeof batches[0], max_batch = 64;
    nerve_net *net;
    CHECK(nerve_net_create(&net, LAYERS, sizes, acts, loss, /*seed=*/7));
    CHECK(nerve_net_set_optimizer(net, opt));
    model md;
    model_init(&md, sizes, acts, loss, opt, max_batch, net);

    /* regression targets for MSE: one-hot rows of the labels */
    float *onehot = zeros(data->n * data->out);
    for (size_t i = 0; i < data->n; i++) onehot[i * data->out + (size_t)data->labels[i]] = 1.0f;

    int ok = 1;
    size_t pos = 0;
    for (size_t s = 0; s < nb && ok; s++) {
        const size_t n = batches[s];
        if (pos + n > data->n) pos = 0;
        const float *x = data->x + pos * data->in;
        const float *y = loss == NERVE_LOSS_MSE ? onehot + pos * data->out : NULL;
        const int32_t *lab = loss == NERVE_LOSS_XENT ? data->labels + pos : NULL;
        const nerve_batch b = {.x = x, .y = y, .labels = lab, .n = n};
        float ref;
        CHECK(nerve_net_train_batch(net, &b, &ref));
        const float got = train_step(&md, x, y, lab, n);
        if (memcmp(&got, &ref, sizeof got) != 0) {
            fprintf(stderr, "FAIL %s: step %zu loss %.9g, nerve_net %.9g\n", name, s + 1,
                    (double)got, (double)ref);
            ok = 0;
        }
        pos += n;
    }
    for (int i = 0; i < LAYERS && ok; i++) {
        const layer *L = &md.l[i];
        ok = same_bits(L->w, nerve_net_weights(net, (size_t)i), L->out * L->in, "weights", i) &&
             same_bits(L->b, nerve_net_bias(net, (size_t)i), L->out, "biases", i);
    }
    printf("%-34s %zu steps: %s\n", name, nb, ok ? "bit-identical to nerve_net" : "DIFFERENT");
    free(onehot);
    model_free(&md);
    nerve_net_free(net);
    return ok;
}

int main(void) {
    nerve_data *data;
    CHECK(nerve_data_load_digits(&data));
    printf("kernels %s, %d threads\n", nerve_isa_name(nerve_isa_active()), nerve_get_num_threads());

    nerve_opt sgd = nerve_opt_default(NERVE_OPT_SGD);
    sgd.lr = 0.05f;
    sgd.momentum = 0.9f;
    sgd.nesterov = 1;
    sgd.weight_decay = 1e-4f;
    nerve_opt adamw = nerve_opt_default(NERVE_OPT_ADAMW);
    adamw.lr = 0.01f;
    nerve_opt adam = nerve_opt_default(NERVE_OPT_ADAM);
    adam.lr = 0.003f;
    adam.weight_decay = 1e-3f;

    const nerve_act a1[LAYERS] = {NERVE_ACT_RELU, NERVE_ACT_TANH, NERVE_ACT_IDENTITY};
    const nerve_act a2[LAYERS] = {NERVE_ACT_GELU, NERVE_ACT_SIGMOID, NERVE_ACT_IDENTITY};
    const nerve_act a3[LAYERS] = {NERVE_ACT_SILU, NERVE_ACT_ELU, NERVE_ACT_SOFTPLUS};
    const nerve_act a4[LAYERS] = {NERVE_ACT_LEAKY_RELU, NERVE_ACT_SOFTPLUS, NERVE_ACT_SIGMOID};
    int ok = 1;
    ok &= run_case("relu,tanh xent sgd+nesterov", data, a1, NERVE_LOSS_XENT, &sgd);
    ok &= run_case("gelu,sigmoid mse adamw", data, a2, NERVE_LOSS_MSE, &adamw);
    ok &= run_case("silu,elu,softplus xent adam", data, a3, NERVE_LOSS_XENT, &adam);
    ok &= run_case("leaky_relu,softplus,sigmoid mse sgd", data, a4, NERVE_LOSS_MSE, &sgd);
    nerve_data_free(data);
    return ok ? 0 : 1;
}
