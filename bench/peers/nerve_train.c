/* nerve in bench/peers/run.sh: the peer recipe (peer_common.h) through the
 * public API.
 *
 *   nerve_train DATA_DIR SIZES BATCH EPOCHS THREADS MAX_SECONDS [bf16]
 *
 * bf16: nerve_net_set_precision(NERVE_PRECISION_BF16), mixed precision (fp32
 * master weights and optimizer state, bf16 operands of the three products,
 * fp32 accumulation) on vdpbf16ps or its exact emulation (nerve_isa_bf16). */
#include "peer_common.h" /* first: it sets _POSIX_C_SOURCE (clock_gettime) */

#include <string.h>

#include <omp.h>

#include "nerve/nerve.h"

/* Trains and evaluates: 0, or 1 with the reason on stderr. */
static int train(const peer_args *a, const peer_data *d, int bf16) {
    nerve_act acts[8];
    for (size_t l = 0; l < a->n_layers; l++)
        acts[l] = l + 1 < a->n_layers ? NERVE_ACT_RELU : NERVE_ACT_IDENTITY;
    if (a->sizes[0] != d->d) {
        fprintf(stderr, "nerve_train: input width %zu, the data has %zu\n", a->sizes[0], d->d);
        return 1;
    }
    nerve_net *net = NULL;
    float *logits = NULL;
    int rc = 1;
    if (nerve_net_create(&net, a->n_layers, a->sizes, acts, NERVE_LOSS_XENT, 1) != NERVE_OK)
        goto fail;
    nerve_opt o = nerve_opt_default(NERVE_OPT_SGD);
    o.lr = 0.05f;
    o.momentum = 0.9f;
    if (nerve_net_set_optimizer(net, &o) != NERVE_OK) goto fail;
    if (bf16 && nerve_net_set_precision(net, NERVE_PRECISION_BF16) != NERVE_OK) goto fail;
    size_t samples = 0;
    int complete = 1;
    const double t0 = peer_now();
    for (size_t e = 0; e < a->epochs && complete; e++)
        for (size_t pos = 0; pos + a->batch <= d->n_train; pos += a->batch) {
            nerve_batch b = {d->xtr + pos * d->d, NULL, d->ytr + pos, a->batch};
            float loss;
            if (nerve_net_train_batch(net, &b, &loss) != NERVE_OK) goto fail;
            samples += a->batch;
            if (peer_now() - t0 > a->max_seconds) {
                complete = 0;
                break;
            }
        }
    const double secs = peer_now() - t0;
    const size_t C = a->sizes[a->n_layers];
    logits = malloc((d->n_test ? d->n_test : 1) * C * sizeof(float));
    if (!logits) {
        fprintf(stderr, "nerve_train: out of memory\n");
        goto done;
    }
    if (nerve_net_forward(net, d->xte, d->n_test, logits) != NERVE_OK) goto fail;
    /* the precision as the network reports it, not as asked */
    const nerve_precision prec = nerve_net_precision(net);
    char kernel[96];
    const nerve_isa isa = nerve_isa_active();
    if (prec == NERVE_PRECISION_BF16)
        snprintf(kernel, sizeof kernel, "%s kernels, bf16 products by %s", nerve_isa_name(isa),
                 nerve_isa_bf16(isa));
    else
        snprintf(kernel, sizeof kernel, "%s kernels", nerve_isa_name(isa));
    peer_report("nerve", nerve_precision_name(prec), a, d, samples, secs,
                peer_accuracy(logits, d->yte, d->n_test, C), complete, kernel);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "nerve_train: %s\n", nerve_last_error());
done:
    free(logits);
    nerve_net_free(net);
    return rc;
}

int main(int argc, char **argv) {
    peer_args a;
    peer_data d;
    const int bf16 = argc == 8 && strcmp(argv[7], "bf16") == 0;
    if (argc == 8 && !bf16) {
        fprintf(stderr, "usage: %s DATA_DIR SIZES BATCH EPOCHS THREADS MAX_SECONDS [bf16]\n",
                argv[0]);
        return 2;
    }
    peer_parse(bf16 ? 7 : argc, argv, &a);
    peer_load(a.dir, &d);
    if (a.threads > 0) omp_set_num_threads(a.threads);
    const int rc = train(&a, &d, bf16);
    peer_free(&d);
    return rc;
}
