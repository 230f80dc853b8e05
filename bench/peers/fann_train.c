/* FANN 2.2 (libfann-dev) in bench/peers/run.sh, as close to the peer recipe
 * (peer_common.h) as FANN allows:
 *  - minibatches: fann_train_epoch in FANN_TRAIN_BATCH mode on a view of B
 *    samples is one gradient step over that minibatch (FANN has no
 *    minibatch API); FANN's batch mode has no momentum, so plain SGD with
 *    lr 0.05 (FANN divides the summed slopes by the batch size);
 *  - activations: FANN 2.2 has no ReLU (FANN_LINEAR_PIECE clips to [0, 1])
 *    and no softmax cross-entropy: hidden layers FANN_SIGMOID, output
 *    FANN_SIGMOID on one-hot targets, MSE (FANN_ERRORFUNC_LINEAR);
 *  - one thread (FANN is not threaded), float build (floatfann).
 * Same widths, same data, same order, same epochs. */
#include "peer_common.h" /* first: it sets _POSIX_C_SOURCE */

#include <floatfann.h>

int main(int argc, char **argv) {
    peer_args a;
    peer_data d;
    peer_parse(argc, argv, &a);
    peer_load(a.dir, &d);
    unsigned int layers[8];
    for (size_t i = 0; i <= a.n_layers; i++) layers[i] = (unsigned int)a.sizes[i];
    struct fann *ann = fann_create_standard_array((unsigned int)a.n_layers + 1, layers);
    if (!ann || a.sizes[0] != d.d) {
        fprintf(stderr, "fann_train: cannot create the network\n");
        return 1;
    }
    fann_set_activation_function_hidden(ann, FANN_SIGMOID);
    fann_set_activation_function_output(ann, FANN_SIGMOID);
    fann_set_training_algorithm(ann, FANN_TRAIN_BATCH);
    fann_set_train_error_function(ann, FANN_ERRORFUNC_LINEAR);
    fann_set_learning_rate(ann, 0.05f);
    fann_randomize_weights(ann, -0.1f, 0.1f);
    const size_t C = a.sizes[a.n_layers];
    /* the whole training set as FANN rows (pointer arrays into one block) */
    struct fann_train_data *all = fann_create_train(1, (unsigned int)d.d, (unsigned int)C);
    fann_type **in = malloc(d.n_train * sizeof *in), **out = malloc(d.n_train * sizeof *out);
    fann_type *outs = calloc(d.n_train * C, sizeof *outs);
    if (!all || !in || !out || !outs) return 1;
    for (size_t i = 0; i < d.n_train; i++) {
        in[i] = d.xtr + i * d.d;
        out[i] = outs + i * C;
        out[i][d.ytr[i]] = 1.0f;
    }
    size_t samples = 0;
    int complete = 1;
    const double t0 = peer_now();
    for (size_t e = 0; e < a.epochs && complete; e++)
        for (size_t pos = 0; pos + a.batch <= d.n_train; pos += a.batch) {
            struct fann_train_data view = *all; /* a view of B rows: no copy */
            view.num_data = (unsigned int)a.batch;
            view.input = in + pos;
            view.output = out + pos;
            fann_train_epoch(ann, &view);
            samples += a.batch;
            if (peer_now() - t0 > a.max_seconds) {
                complete = 0;
                break;
            }
        }
    const double secs = peer_now() - t0;
    float *logits = malloc(d.n_test * C * sizeof(float));
    for (size_t i = 0; i < d.n_test; i++)
        memcpy(logits + i * C, fann_run(ann, d.xte + i * d.d), C * sizeof(float));
    peer_report("fann", "fp32", &a, &d, samples, secs, peer_accuracy(logits, d.yte, d.n_test, C),
                complete, "FANN 2.2 floatfann, scalar C, 1 thread, sigmoid + MSE, no momentum");
    return 0;
}
