/* nerve in bench/peers/run.sh: the peer recipe (peer_common.h) through the
 * public API. fp32 only: bf16 training does not exist in nerve yet. */
#include <omp.h>

#include "nerve/nerve.h"
#include "peer_common.h"

int main(int argc, char **argv) {
    peer_args a;
    peer_data d;
    peer_parse(argc, argv, &a);
    peer_load(a.dir, &d);
    if (a.threads > 0) omp_set_num_threads(a.threads);
    nerve_act acts[8];
    for (size_t l = 0; l < a.n_layers; l++)
        acts[l] = l + 1 < a.n_layers ? NERVE_ACT_RELU : NERVE_ACT_IDENTITY;
    nerve_net *net;
    if (a.sizes[0] != d.d || nerve_net_create(&net, a.n_layers, a.sizes, acts, NERVE_LOSS_XENT, 1)) {
        fprintf(stderr, "nerve_train: %s\n", a.sizes[0] != d.d ? "input width" : nerve_last_error());
        return 1;
    }
    nerve_opt o = nerve_opt_default(NERVE_OPT_SGD);
    o.lr = 0.05f;
    o.momentum = 0.9f;
    nerve_net_set_optimizer(net, &o);
    size_t samples = 0;
    int complete = 1;
    const double t0 = peer_now();
    for (size_t e = 0; e < a.epochs && complete; e++)
        for (size_t pos = 0; pos + a.batch <= d.n_train; pos += a.batch) {
            nerve_batch b = {d.xtr + pos * d.d, NULL, d.ytr + pos, a.batch};
            float loss;
            if (nerve_net_train_batch(net, &b, &loss) != NERVE_OK) {
                fprintf(stderr, "nerve_train: %s\n", nerve_last_error());
                return 1;
            }
            samples += a.batch;
            if (peer_now() - t0 > a.max_seconds) {
                complete = 0;
                break;
            }
        }
    const double secs = peer_now() - t0;
    const size_t C = a.sizes[a.n_layers];
    float *logits = malloc(d.n_test * C * sizeof(float));
    if (!logits || nerve_net_forward(net, d.xte, d.n_test, logits) != NERVE_OK) return 1;
    char kernel[64];
    snprintf(kernel, sizeof kernel, "%s kernels", nerve_isa_name(nerve_isa_active()));
    peer_report("nerve", "fp32", &a, &d, samples, secs, peer_accuracy(logits, d.yte, d.n_test, C),
                complete, kernel);
    free(logits);
    nerve_net_free(net);
    return 0;
}
