/* Epoch-level helpers over an in-memory data set: one training pass in
 * minibatches (batches.h: optionally shuffled with the network's own
 * generator) and forward-only evaluation (mean loss, accuracy). */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batches.h"
#include "error.h"
#include "loss.h"
#include "net_plan.h"
#include "plan.h"
#include "private_abi.h"
#include "rng.h"

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
    net->bf16_w_valid = 0;
    net->bound_valid = 0;
}

/* The update of the step on rows [r_fail, ...) stored a NaN or Inf: back to
 * the pass's start (row r0), then the steps before it again (the same
 * batches of the same pass: bit-identical), and the error naming the
 * failing step. */
static nerve_status replay(const char *fn, nerve_net *net, const epoch_snapshot *snap,
                           epoch_batches *it, size_t r0, size_t r_fail, float bad_loss,
                           size_t bad_rows) {
    snapshot_restore(net, snap);
    batches_seek(it, r0);
    nerve_batch b;
    size_t r, rows;
    while (batches_next(it, &b, &r, &rows) && r < r_fail) {
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

/* ---- a cut epoch and its continuation (net_plan.h) ---- */

NERVE_PRIVATE nerve_status epoch_check(const char *fn, const nerve_net *net, size_t n, size_t bs, int shuffle) {
    const net_cut_epoch *c = &net->cut;
    if (c->rows == 0) return NERVE_OK;
    const int sh = shuffle != 0;
    if (c->n == n && c->batch == bs && c->shuffle == sh) return NERVE_OK;
    const char *what = c->n != n ? "rows" : c->batch != bs ? "batch size" : "shuffling";
    return error_set(NERVE_EINVAL,
                     "%s: epoch %llu was cut short after %llu of %llu rows (batches of %llu, %s); "
                     "it continues only with the same %s (this pass: %zu rows, batches of %zu, "
                     "%s), or after nerve_net_discard_epoch",
                     fn, (unsigned long long)net->epoch + 1, (unsigned long long)c->rows,
                     (unsigned long long)c->n, (unsigned long long)c->batch,
                     c->shuffle ? "shuffled" : "in order", what, n, bs,
                     sh ? "shuffled" : "in order");
}

NERVE_PRIVATE void epoch_begin(nerve_net *net, size_t n, size_t *perm, epoch_pass *p) {
    const net_cut_epoch *c = &net->cut;
    memset(p, 0, sizeof *p);
    p->base_lr = net->opt.lr;
    if (c->rows) { /* continuing: where it stopped, with its sums */
        p->r0 = (size_t)c->rows;
        p->loss_sum = c->loss_sum;
        p->correct = (size_t)c->correct;
        memcpy(p->rng0, c->rng, sizeof p->rng0);
    } else {
        memcpy(p->rng0, net->rng, sizeof p->rng0);
    }
    if (perm) {
        for (size_t i = 0; i < n; i++) perm[i] = i;
        if (c->rows) { /* the same draw again; net->rng is already past it */
            uint64_t s[4];
            memcpy(s, c->rng, sizeof s);
            rng_shuffle(s, perm, n);
        } else {
            rng_shuffle(net->rng, perm, n);
        }
    }
    /* the schedule's rate for the whole epoch; a valid rate (finite, >= 0)
     * since the base rate is */
    net->opt.lr = nerve_net_epoch_lr(net, net->epoch);
}

NERVE_PRIVATE void epoch_end(nerve_net *net, const epoch_pass *p, size_t n, size_t bs, int shuffle, size_t seen,
               double loss_sum, size_t correct, nerve_status st, int cut) {
    net->opt.lr = p->base_lr;
    net_cut_epoch *c = &net->cut;
    if (st == NERVE_OK && seen == n) { /* complete */
        memset(c, 0, sizeof *c);
        net->epoch++;
    } else if (st == NERVE_OK && cut) { /* seen > r0: the pass trained a batch */
        c->rows = seen;
        c->n = n;
        c->batch = bs;
        c->shuffle = shuffle != 0;
        if (c->shuffle)
            memcpy(c->rng, p->rng0, sizeof c->rng);
        else
            memset(c->rng, 0, sizeof c->rng);
        c->loss_sum = loss_sum;
        c->correct = correct;
    } else if (seen > p->r0) { /* failed after training: the epoch is given up */
        memset(c, 0, sizeof *c);
    } /* failed at this pass's first step: all as before the call */
}

nerve_epoch_progress nerve_net_epoch_progress(const nerve_net *net) {
    nerve_epoch_progress e = {0, 0, 0, 0};
    if (net && net->cut.rows) {
        e.rows = net->cut.rows;
        e.n = net->cut.n;
        e.batch = net->cut.batch;
        e.shuffle = net->cut.shuffle;
    }
    return e;
}

void nerve_net_discard_epoch(nerve_net *net) {
    if (net) memset(&net->cut, 0, sizeof net->cut);
}

nerve_status nerve_net_train_epoch(nerve_net *net, const nerve_dataset *data,
                                   const nerve_epoch_opts *opts, nerve_eval *result) {
    static const char fn[] = "nerve_net_train_epoch";
    nerve_status st = check_dataset(fn, net, data);
    if (st != NERVE_OK) return st;
    const nerve_epoch_opts def = {0};
    if (!opts) opts = &def;
    const size_t n = data->n, C = net->sizes[net->n_layers], L = net->n_layers;
    const int cls = data->labels != NULL;

    epoch_batches it;
    if ((st = batches_init(&it, fn, data, opts->batch_size, opts->shuffle, 0, 1)) != NERVE_OK)
        return st;
    if ((st = epoch_check(fn, net, n, it.bs, opts->shuffle)) != NERVE_OK) {
        batches_free(&it);
        return st;
    }

    /* The state at the start of the pass: if an update stores a NaN or
     * Inf, it is restored and the pass's earlier steps replayed (the same
     * batches give the same bits), which leaves the network exactly as
     * before the failing step without copying anything aside per step. */
    epoch_snapshot snap;
    if ((st = snapshot_take(net, &snap)) != NERVE_OK) {
        batches_free(&it);
        return error_set(st, "%s: out of memory for the epoch's snapshot", fn);
    }
    epoch_pass pass;
    epoch_begin(net, n, it.perm, &pass);
    batches_seek(&it, pass.r0);
    double loss_sum = pass.loss_sum;
    size_t seen = pass.r0, correct = pass.correct, r, rows;
    int cut = 0;
    nerve_batch b;
    st = NERVE_OK;
    while (batches_next(&it, &b, &r, &rows)) {
        float loss;
        int update_failed = 0;
        st = net_step(fn, net, &b, &loss, 1, &update_failed); /* rows checked with the data set */
        if (update_failed) {
            st = replay(fn, net, &snap, &it, pass.r0, r, loss, rows);
            break;
        }
        if (st != NERVE_OK) break;
        loss_sum += (double)loss * (double)rows;
        seen += rows;
        /* the step's forward outputs are still in the plan */
        if (cls) correct += count_correct(net->plan->a[L - 1], b.labels, rows, C);
        if (opts->progress)
            opts->progress(opts->progress_user, seen, n, (float)(loss_sum / (double)seen));
        if (opts->stop && atomic_load_explicit(opts->stop, memory_order_relaxed)) {
            cut = 1;
            break;
        }
    }
    free(snap.buf);
    batches_free(&it);
    if (result) {
        result->n = seen;
        result->loss = seen ? loss_sum / (double)seen : 0.0;
        result->accuracy = cls && seen ? (double)correct / (double)seen : 0.0;
    }
    epoch_end(net, &pass, n, it.bs, opts->shuffle, seen, loss_sum, correct, st, cut);
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
        /* check_dataset: labels exactly when the loss takes them */
        loss_run(kernels_active(), net->loss, rows, C, out, cls ? NULL : data->y + r * C,
                 cls ? data->labels + r : NULL, 1.0f, NULL, row_loss);
        if (cls) correct += count_correct(out, data->labels + r, rows, C);
        for (size_t j = 0; j < rows; j++) loss_sum += (double)row_loss[j];
    }
    free(out), free(row_loss);
    if (st != NERVE_OK) {
        error_prefix("%s", fn);
        return st;
    }
    result->n = n;
    result->loss = loss_sum / loss_count(net->loss, n, C);
    result->accuracy = cls ? (double)correct / (double)n : 0.0;
    return NERVE_OK;
}
