/* Epoch-level helpers over an in-memory data set: one training pass in
 * minibatches (optionally shuffled with the network's own generator) and
 * forward-only evaluation (mean loss, accuracy). */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "net_plan.h"
#include "plan.h"
#include "rng.h"

#define DEFAULT_BATCH 32
/* Rows per forward pass of nerve_net_evaluate (memory bound for big sets). */
#define EVAL_CHUNK 1024

static nerve_status check_dataset(const char *fn, const nerve_net *net, const nerve_dataset *d) {
    CHECK_ARG(net != NULL, "%s: net is NULL", fn);
    CHECK_ARG(d != NULL, "%s: data is NULL", fn);
    const size_t in = net->sizes[0], C = net->sizes[net->n_layers];
    CHECK_ARG(d->in == in, "%s: the data has %zu features but the network takes %zu inputs", fn,
              d->in, in);
    /* classes: a network with C outputs takes any labels < C (checked per
     * sample), so data with fewer classes is fine; targets must match */
    if (d->labels)
        CHECK_ARG(d->out <= C, "%s: the data has %zu classes but the network has %zu outputs", fn,
                  d->out, C);
    else
        CHECK_ARG(d->out == C, "%s: the data has %zu targets but the network has %zu outputs", fn,
                  d->out, C);
    return net_check_samples(fn, net, "data", d->x, d->y, d->labels, d->n);
}

/* Index of the largest of o[0..C) (the first one on ties; NaN never wins). */
static size_t argmax(const float *o, size_t C) {
    size_t best = 0;
    for (size_t j = 1; j < C; j++)
        if (o[j] > o[best]) best = j;
    return best;
}

static size_t count_correct(const float *out, const int32_t *labels, size_t n, size_t C) {
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) ok += argmax(out + i * C, C) == (size_t)labels[i];
    return ok;
}

/* Batch rows [r, r + rows) of the epoch: gathered through perm into
 * bx/by/bl when shuffling, else a view of the data. */
static void make_batch(const nerve_dataset *data, const size_t *perm, size_t r, size_t rows,
                       float *bx, float *by, int32_t *bl, nerve_batch *b) {
    const size_t in = data->in, C = data->out;
    const int cls = data->labels != NULL;
    *b = (nerve_batch){.n = rows};
    if (perm) {
        for (size_t i = 0; i < rows; i++) {
            const size_t s = perm[r + i];
            memcpy(bx + i * in, data->x + s * in, in * sizeof *bx);
            if (cls)
                bl[i] = data->labels[s];
            else
                memcpy(by + i * C, data->y + s * C, C * sizeof *by);
        }
        b->x = bx, b->y = by, b->labels = bl;
    } else {
        b->x = data->x + r * in;
        b->y = cls ? NULL : data->y + r * C;
        b->labels = cls ? data->labels + r : NULL;
    }
}

/* Parameters, optimizer state and counters at the start of an epoch. */
typedef struct epoch_snapshot {
    float *buf; /* params, then opt_m, then opt_v: n_alloc floats each */
    uint64_t step;
    double beta1_pow, beta2_pow;
} epoch_snapshot;

static nerve_status snapshot_take(const nerve_net *net, epoch_snapshot *s) {
    const size_t na = net->n_alloc, bytes = na * sizeof(float);
    s->buf = malloc(optim_undo_floats(net) * sizeof(float));
    if (!s->buf) return NERVE_ENOMEM;
    float *q = s->buf;
    memcpy(q, net->params, bytes);
    if (net->opt_m) memcpy(q += na, net->opt_m, bytes);
    if (net->opt_v) memcpy(q += na, net->opt_v, bytes);
    s->step = net->step;
    s->beta1_pow = net->beta1_pow;
    s->beta2_pow = net->beta2_pow;
    return NERVE_OK;
}

static void snapshot_restore(nerve_net *net, const epoch_snapshot *s) {
    const size_t na = net->n_alloc, bytes = na * sizeof(float);
    const float *q = s->buf;
    memcpy(net->params, q, bytes);
    if (net->opt_m) memcpy(net->opt_m, q += na, bytes);
    if (net->opt_v) memcpy(net->opt_v, q += na, bytes);
    net->step = s->step;
    net->beta1_pow = s->beta1_pow;
    net->beta2_pow = s->beta2_pow;
    net->packed_valid = 0; /* the weights changed */
}

/* The update of the step on rows [r_fail, ...) stored a NaN or Inf: back to
 * the epoch's start, then the steps before it again (bit-identical), and
 * the error naming the failing step. */
static nerve_status replay(const char *fn, nerve_net *net, const epoch_snapshot *snap,
                           const nerve_dataset *data, const size_t *perm, size_t r_fail, size_t bs,
                           float *bx, float *by, int32_t *bl, float bad_loss, size_t bad_rows) {
    snapshot_restore(net, snap);
    for (size_t r = 0; r < r_fail; r += bs) {
        const size_t rows = r_fail - r < bs ? r_fail - r : bs;
        nerve_batch b;
        make_batch(data, perm, r, rows, bx, by, bl, &b);
        float loss;
        int failed = 0;
        nerve_status st = net_step(fn, net, &b, &loss, 1, &failed);
        if (st != NERVE_OK || failed) /* cannot happen: the same step succeeded before */
            return error_set(NERVE_ENUMERIC, "%s: replaying the epoch after a failed step failed",
                             fn);
    }
    return error_set(NERVE_ENUMERIC,
                     "%s: the optimizer update produced NaN or Inf at optimizer step %llu "
                     "(epoch %llu, batch of %zu; loss %g); parameters and optimizer state left "
                     "as before this step",
                     fn, (unsigned long long)net->step + 1, (unsigned long long)net->epoch + 1,
                     bad_rows, (double)bad_loss);
}

nerve_status nerve_net_train_epoch(nerve_net *net, const nerve_dataset *data,
                                   const nerve_epoch_opts *opts, nerve_eval *result) {
    static const char fn[] = "nerve_net_train_epoch";
    nerve_status st = check_dataset(fn, net, data);
    if (st != NERVE_OK) return st;
    const nerve_epoch_opts def = {0};
    if (!opts) opts = &def;
    const size_t n = data->n, in = data->in, C = net->sizes[net->n_layers], L = net->n_layers;
    const size_t bs = opts->batch_size ? (opts->batch_size < n ? opts->batch_size : n)
                                       : (DEFAULT_BATCH < n ? DEFAULT_BATCH : n);
    const int cls = data->labels != NULL;

    size_t *perm = NULL;
    float *bx = NULL, *by = NULL;
    int32_t *bl = NULL;
    if (opts->shuffle) {
        perm = malloc(n * sizeof *perm);
        bx = malloc(bs * in * sizeof *bx);
        by = cls ? NULL : malloc(bs * C * sizeof *by);
        bl = cls ? malloc(bs * sizeof *bl) : NULL;
        if (!perm || !bx || (cls ? !bl : !by)) {
            free(perm), free(bx), free(by), free(bl);
            return error_set(NERVE_ENOMEM, "%s: out of memory for shuffled batches", fn);
        }
        for (size_t i = 0; i < n; i++) perm[i] = i;
        rng_shuffle(net->rng, perm, n);
    }

    /* The state at the start of the epoch: if an update stores a NaN or
     * Inf, it is restored and the epoch's earlier steps replayed (the same
     * batches give the same bits), which leaves the network exactly as
     * before the failing step without copying anything aside per step. */
    epoch_snapshot snap;
    if ((st = snapshot_take(net, &snap)) != NERVE_OK) {
        free(perm), free(bx), free(by), free(bl);
        return error_set(st, "%s: out of memory for the epoch's snapshot", fn);
    }
    double loss_sum = 0;
    size_t seen = 0, correct = 0;
    st = NERVE_OK;
    for (size_t r = 0; r < n; r += bs) {
        const size_t rows = n - r < bs ? n - r : bs;
        nerve_batch b;
        make_batch(data, perm, r, rows, bx, by, bl, &b);
        float loss;
        int update_failed = 0;
        st = net_step(fn, net, &b, &loss, 1, &update_failed); /* rows checked with the data set */
        if (update_failed) {
            st = replay(fn, net, &snap, data, perm, r, bs, bx, by, bl, loss, rows);
            break;
        }
        if (st != NERVE_OK) break;
        loss_sum += (double)loss * (double)rows;
        seen += rows;
        /* the step's forward outputs are still in the plan */
        if (cls) correct += count_correct(net->plan->a[L - 1], b.labels, rows, C);
        if (opts->progress)
            opts->progress(opts->progress_user, seen, n, (float)(loss_sum / (double)seen));
        if (opts->stop && atomic_load_explicit(opts->stop, memory_order_relaxed)) break;
    }
    free(snap.buf);
    free(perm), free(bx), free(by), free(bl);
    if (result) {
        result->n = seen;
        result->loss = seen ? loss_sum / (double)seen : 0.0;
        result->accuracy = cls && seen ? (double)correct / (double)seen : 0.0;
    }
    if (st == NERVE_OK && seen == n) net->epoch++;
    return st;
}

nerve_status nerve_net_evaluate(nerve_net *net, const nerve_dataset *data, nerve_eval *result) {
    static const char fn[] = "nerve_net_evaluate";
    nerve_status st = check_dataset(fn, net, data);
    if (st != NERVE_OK) return st;
    CHECK_ARG(result != NULL, "%s: result is NULL", fn);
    const size_t n = data->n, in = data->in, C = net->sizes[net->n_layers];
    const int cls = data->labels != NULL;
    /* chunks of sizes differing by at most one row (split_range); outputs do
     * not depend on the chunking (batch invariance, net.h) */
    const size_t chunks = n / EVAL_CHUNK + (n % EVAL_CHUNK != 0);
    const size_t chunk = n / chunks + (n % chunks != 0);
    float *out = malloc(chunk * C * sizeof *out), *row_loss = malloc(chunk * sizeof *row_loss);
    if (!out || !row_loss) {
        free(out), free(row_loss);
        return error_set(NERVE_ENOMEM, "%s: out of memory", fn);
    }
    double loss_sum = 0;
    size_t correct = 0;
    for (size_t i = 0; i < chunks && st == NERVE_OK; i++) {
        size_t r, r1;
        split_range(n, 1, i, chunks, &r, &r1);
        const size_t rows = r1 - r;
        st = nerve_net_forward(net, data->x + r * in, rows, out);
        if (st != NERVE_OK) break;
        const kernels *kt = kernels_active();
        if (cls) {
            kt->loss_xent(rows, C, out, data->labels + r, 1.0f, NULL, row_loss);
            correct += count_correct(out, data->labels + r, rows, C);
        } else {
            kt->loss_mse(rows, C, out, data->y + r * C, 1.0f, NULL, row_loss);
        }
        for (size_t j = 0; j < rows; j++) loss_sum += (double)row_loss[j];
    }
    free(out), free(row_loss);
    if (st != NERVE_OK) {
        error_prefix("%s", fn);
        return st;
    }
    result->n = n;
    result->loss = loss_sum / (cls ? (double)n : (double)n * (double)C);
    result->accuracy = cls ? (double)correct / (double)n : 0.0;
    return NERVE_OK;
}
