/* Synchronous data-parallel training over MPI (include/nerve/mpi.h).
 *
 * Per global minibatch of `rows` rows, on every rank r of P:
 *   1. the rank's shard: rows split_range(rows, 1, r, P) of the batch (of
 *      the seeded shuffle, drawn identically on every rank);
 *   2. net_step_hooked(update = 0): forward, loss and backward with the
 *      rank's OpenMP threads; as soon as layer l's gradients are complete
 *      the hook posts MPI_Ialltoallv of layer l's bucket: rank s owns slice s
 *      of the whole gradient and gets the part of it in this bucket (layers from the top, always in
 * the same order, so every rank posts the same collectives in the same order, also a rank whose
 * step failed or that has no rows: it posts them after);
 *   3. MPI_Allgather of one status record per rank (status, message, stop
 *      request, loss, correct count): every rank learns the same outcome;
 *   4. if every rank succeeded: the owner of each slice sums the P
 *      contributions in rank order, acc = w_0 g_0, acc = acc + w_r g_r
 *      (axpby), w_r = n_r / rows rounded to float (the gradients are of each
 *      shard's mean loss; this makes them of the global mean), and
 *      one MPI_Allgatherv (in place) hands every slice to every rank;
 *   5. every rank applies the same optimizer step to the same bits.
 * MPI moves bytes only; no floating-point operation is left to it, so the
 * result depends on P but not on the MPI library, the network, the thread
 * count or timing. */
#include "nerve/mpi.h"

#include <math.h>
#include <limits.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batches.h"
#include "crc32.h"
#include "error.h"
#include "net_plan.h"
#include "plan.h"

#define UPDATE_CHUNK  16384

/* Exchanged by every rank at each agreement point; plain bytes (the ranks
 * of one job share a byte order and type sizes). */
typedef struct rank_rec {
    int32_t status; /* nerve_status of this rank's part */
    int32_t stop;   /* stop requested on this rank */
    uint64_t u[9];  /* epoch start: what the ranks must agree on; step: u[0] correct */
    double loss_sum;
    char msg[184];
} rank_rec;

typedef struct dp {
    nerve_net *net;
    MPI_Comm comm; /* a duplicate of the caller's, errors returned */
    int rank, P;
    size_t L;
    size_t *boff, *blen, *roff; /* per bucket (layer): range in grads, offset in rbuf */
    int *cnt, *displ;           /* [L x P]: slice sizes and starts within the bucket */
    int *rcnt, *rdispl;         /* [L x P]: my slice's size from each rank, where it lands */
    int *gcnt, *gdispl;         /* [P]: every rank's slice of the whole gradient */
    float *rbuf;                /* per bucket: P copies of my slice */
    MPI_Request *req_a2a;
    size_t posted; /* buckets posted this step: L-1 down to L-posted */
    int mpi_rc;    /* first MPI error of this step */
    rank_rec *all; /* P records */
} dp;

static void post_bucket(dp *d, size_t b) {
    const size_t P = (size_t)d->P;
    int rc = MPI_Ialltoallv(d->net->grads + d->boff[b], d->cnt + b * P, d->displ + b * P, MPI_FLOAT,
                            d->rbuf + d->roff[b], d->rcnt + b * P, d->rdispl + b * P, MPI_FLOAT,
                            d->comm, &d->req_a2a[b]);
    if (rc != MPI_SUCCESS && d->mpi_rc == MPI_SUCCESS) d->mpi_rc = rc;
}

/* Posts every bucket from the next one down to `layer`. */
static void post_down_to(dp *d, size_t layer) {
    while (d->posted < d->L && d->L - 1 - d->posted >= layer) {
        post_bucket(d, d->L - 1 - d->posted);
        d->posted++;
    }
}

static void on_ready(void *user, size_t layer) { post_down_to(user, layer); }

static nerve_status mpi_error(const char *fn, int rc) {
    char s[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, s, &len) != MPI_SUCCESS) snprintf(s, sizeof s, "code %d", rc);
    return error_set(NERVE_EIO, "%s: MPI error: %s", fn, s);
}

static void dp_free(dp *d) {
    free(d->boff), free(d->blen), free(d->roff);
    free(d->cnt), free(d->displ), free(d->rcnt), free(d->rdispl);
    free(d->gcnt), free(d->gdispl), free(d->rbuf), free(d->req_a2a), free(d->all);
    if (d->comm != MPI_COMM_NULL) MPI_Comm_free(&d->comm);
}

/* Buckets and slices (local; the agreement comes after). */
static nerve_status dp_plan(const char *fn, dp *d) {
    const nerve_net *net = d->net;
    const size_t L = net->n_layers, P = (size_t)d->P;
    d->L = L;
    d->boff = malloc(L * sizeof *d->boff);
    d->blen = malloc(L * sizeof *d->blen);
    d->roff = malloc(L * sizeof *d->roff);
    d->cnt = malloc(L * P * sizeof *d->cnt);
    d->displ = malloc(L * P * sizeof *d->displ);
    d->rcnt = malloc(L * P * sizeof *d->rcnt);
    d->rdispl = malloc(L * P * sizeof *d->rdispl);
    d->req_a2a = malloc(L * sizeof *d->req_a2a);
    d->gcnt = malloc(P * sizeof *d->gcnt);
    d->gdispl = malloc(P * sizeof *d->gdispl);
    if (!d->boff || !d->blen || !d->roff || !d->cnt || !d->displ || !d->rcnt || !d->rdispl ||
        !d->req_a2a || !d->gcnt || !d->gdispl)
        return error_set(NERVE_ENOMEM, "%s: out of memory", fn);
    /* rank s owns slice s of the whole gradient (multiples of 16 floats):
     * one allgatherv returns all of them; each layer's bucket sends every
     * owner the part of its slice that lies in the bucket */
    if (net->n_alloc > INT_MAX)
        return error_set(NERVE_EUNSUPPORTED,
                         "%s: %zu gradient floats are more than MPI counts hold", fn, net->n_alloc);
    for (size_t s = 0; s < P; s++) {
        size_t g0, g1;
        split_range(net->n_alloc, 16, s, P, &g0, &g1);
        d->gcnt[s] = (int)(g1 - g0);
        d->gdispl[s] = (int)g0;
    }
    size_t rtotal = 0;
    for (size_t b = 0; b < L; b++) {
        d->boff[b] = net->w_off[b];
        d->blen[b] = (b + 1 < L ? net->w_off[b + 1] : net->n_alloc) - net->w_off[b];
        if (d->blen[b] > INT_MAX)
            return error_set(NERVE_EUNSUPPORTED,
                             "%s: layer %zu has %zu gradient floats, more than MPI counts hold", fn,
                             b, d->blen[b]);
        const size_t B0 = d->boff[b], B1 = B0 + d->blen[b];
        size_t m0 = 0, m1 = 0;
        for (size_t s = 0; s < P; s++) { /* owner s's part of this bucket */
            const size_t g0 = (size_t)d->gdispl[s], g1 = g0 + (size_t)d->gcnt[s];
            const size_t a = g0 > B0 ? g0 : B0, e = g1 < B1 ? g1 : B1;
            d->cnt[b * P + s] = e > a ? (int)(e - a) : 0;
            d->displ[b * P + s] = e > a ? (int)(a - B0) : 0;
            if (s == (size_t)d->rank && e > a) m0 = a - B0, m1 = e - B0;
        }
        for (size_t s = 0; s < P; s++) {
            d->rcnt[b * P + s] = (int)(m1 - m0);
            d->rdispl[b * P + s] = (int)(s * (m1 - m0));
        }
        d->roff[b] = rtotal;
        rtotal += P * (m1 - m0);
    }
    d->rbuf = malloc((rtotal ? rtotal : 1) * sizeof *d->rbuf);
    if (!d->rbuf) return error_set(NERVE_ENOMEM, "%s: out of memory for gradient slices", fn);
    return NERVE_OK;
}

static void rec_fail(rank_rec *r, nerve_status st) {
    r->status = (int32_t)st;
    const char *m = nerve_last_error();
    snprintf(r->msg, sizeof r->msg, "%s", m && *m ? m : nerve_strerror(st));
}

/* Allgather of the records; then the first failing rank's status becomes
 * everyone's (with its message), NERVE_OK when none failed. */
static nerve_status agree(const char *fn, dp *d, const rank_rec *mine) {
    if (!d->all) return error_set(NERVE_ENOMEM, "%s: out of memory", fn);
    int rc = MPI_Allgather(mine, (int)sizeof *mine, MPI_BYTE, d->all, (int)sizeof *mine, MPI_BYTE,
                           d->comm);
    if (rc != MPI_SUCCESS) return mpi_error(fn, rc);
    for (int r = 0; r < d->P; r++)
        if (d->all[r].status != NERVE_OK) {
            char m[sizeof d->all[r].msg + 1];
            memcpy(m, d->all[r].msg, sizeof d->all[r].msg);
            m[sizeof d->all[r].msg] = '\0';
            const size_t k = strlen(fn); /* "fn: " said once */
            const char *tail =
                strncmp(m, fn, k) == 0 && m[k] == ':' && m[k + 1] == ' ' ? m + k + 2 : m;
            return error_set((nerve_status)d->all[r].status, "%s: rank %d of %d: %s", fn, r, d->P,
                             tail);
        }
    return NERVE_OK;
}

uint32_t nerve_net_checksum(const nerve_net *net) {
    if (!net) return 0;
    uint32_t c = crc32_update(0, net->params, net->n_alloc * sizeof(float));
    if (net->opt_m) c = crc32_update(c, net->opt_m, net->n_alloc * sizeof(float));
    if (net->opt_v) c = crc32_update(c, net->opt_v, net->n_alloc * sizeof(float));
    return crc32_update(c, &net->step, sizeof net->step);
}

static nerve_status check_replicas(const char *fn, const nerve_net *net, MPI_Comm comm,
                                   uint32_t *checksum) {
    int P, rc;
    if ((rc = MPI_Comm_size(comm, &P)) != MPI_SUCCESS) return mpi_error(fn, rc);
    uint32_t mine = nerve_net_checksum(net);
    uint32_t *all = malloc((size_t)P * sizeof *all);
    if (!all) return error_set(NERVE_ENOMEM, "%s: out of memory", fn);
    rc = MPI_Allgather(&mine, 1, MPI_UINT32_T, all, 1, MPI_UINT32_T, comm);
    if (rc != MPI_SUCCESS) {
        free(all);
        return mpi_error(fn, rc);
    }
    nerve_status st = NERVE_OK;
    for (int r = 1; r < P && st == NERVE_OK; r++)
        if (all[r] != all[0])
            st =
                error_set(NERVE_ENUMERIC,
                          "%s: the replicas differ: rank %d's weights and optimizer state have "
                          "checksum %08x, rank 0's %08x (after %llu steps)",
                          fn, r, (unsigned)all[r], (unsigned)all[0], (unsigned long long)net->step);
    if (st == NERVE_OK && checksum) *checksum = all[0];
    free(all);
    return st;
}

nerve_status nerve_net_check_replicas_mpi(const nerve_net *net, MPI_Comm comm, uint32_t *checksum) {
    static const char fn[] = "nerve_net_check_replicas_mpi";
    CHECK_ARG(net != NULL, "%s: net is NULL", fn);
    CHECK_ARG(comm != MPI_COMM_NULL, "%s: comm is MPI_COMM_NULL", fn);
    return check_replicas(fn, net, comm, checksum);
}

static nerve_status check_dataset(const char *fn, const nerve_net *net, const nerve_dataset *d) {
    CHECK_ARG(d != NULL, "%s: data is NULL", fn);
    const size_t in = net->sizes[0], C = net->sizes[net->n_layers];
    CHECK_ARG(d->in == in, "%s: the data has %zu features but the network takes %zu inputs", fn,
              d->in, in);
    CHECK_ARG(d->out == C, "%s: the data has %zu %s but the network has %zu outputs", fn, d->out,
              d->labels ? "classes" : "targets", C);
    return net_check_samples(fn, net, "data", d->x, d->y, d->labels, d->n);
}

static size_t count_correct(const float *out, const int32_t *labels, size_t n, size_t C) {
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        const float *o = out + i * C;
        size_t best = 0;
        for (size_t j = 1; j < C; j++)
            if (o[j] > o[best]) best = j;
        ok += best == (size_t)labels[i];
    }
    return ok;
}

/* Step 4 and 5 of the file comment, once every rank's gradients arrived. */
static nerve_status combine_and_update(const char *fn, dp *d, const size_t *shard, size_t rows) {
    nerve_net *net = d->net;
    const kernel_table *kt = kernels_active();
    const size_t P = (size_t)d->P;
    int rc = MPI_SUCCESS;
    for (size_t i = 0; i < d->L; i++) {
        const size_t b = d->L - 1 - i; /* the order they were posted in */
        if ((rc = MPI_Wait(&d->req_a2a[b], MPI_STATUS_IGNORE)) != MPI_SUCCESS) break;
        const size_t m = (size_t)d->rcnt[b * P];
        float *dst = net->grads + d->boff[b] + (size_t)d->displ[b * P + (size_t)d->rank];
        int first = 1;
        for (size_t r = 0; r < P; r++) {
            if (shard[r] == 0) continue;
            const float w = (float)((double)shard[r] / (double)rows);
            kt->axpby(m, w, d->rbuf + d->roff[b] + r * m, first ? 0.0f : 1.0f, dst);
            first = 0;
        }
    }
    /* one exchange for all layers: fewer synchronisations per step */
    if (rc == MPI_SUCCESS)
        rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, net->grads, d->gcnt, d->gdispl,
                            MPI_FLOAT, d->comm);
    if (rc != MPI_SUCCESS) return mpi_error(fn, rc);

    /* the update as nerve_net_train_batch makes it (src/net/train.c, the
     * guarded update): proven finite from max |gradient| and the tracked
     * magnitudes, or else old values copied aside per block and put back if
     * it stores a NaN or Inf. The same on every rank: the ranks apply
     * identical updates to identical state. */
    optim_pending p = {0};
    optim_prepare(net, &p);
    nerve_status st = plan_ensure_undo(net, optim_undo_floats(net));
    if (st != NERVE_OK) return st;
    optim_bound_prepare(net, kt);
    float gmax = 0.0f;
    for (size_t l = 0; l < d->L; l++) {
        const size_t out = net->sizes[l + 1], nw = out * net->sizes[l];
        gmax = fmaxf(gmax, fmaxf(kt->maxabs(nw, net->grads + net->w_off[l]),
                                 kt->maxabs(out, net->grads + net->b_off[l])));
    }
    const int proven = optim_bound(net, &p, gmax);
    p.undo = proven ? NULL : net->plan->undo;
    if (!proven) net->guard_copies++;
    net->packed_valid = 0;
    net->bf16_w_valid = 0;
    int bad = 0;
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f; /* the largest magnitudes stored */
    const int nt = omp_get_max_threads();
    for (size_t l = 0; l < d->L; l++) {
        const size_t out = net->sizes[l + 1], nw = out * net->sizes[l];
        const size_t chunks = (nw + UPDATE_CHUNK - 1) / UPDATE_CHUNK;
        /* elementwise: any split gives the same bits */
#pragma omp parallel for schedule(static) num_threads(nt) if (chunks > 1 && nt > 1) \
    reduction(| : bad) reduction(max : a0, a1, a2)
        for (size_t k = 0; k < chunks; k++) {
            const size_t o = k * UPDATE_CHUNK;
            float am[3] = {0.0f, 0.0f, 0.0f};
            bad |= optim_update(kt, net, &p, net->w_off[l] + o,
                                nw - o < UPDATE_CHUNK ? nw - o : UPDATE_CHUNK, am);
            a0 = fmaxf(a0, am[0]), a1 = fmaxf(a1, am[1]), a2 = fmaxf(a2, am[2]);
        }
        float am[3] = {a0, a1, a2};
        bad |= optim_update(kt, net, &p, net->b_off[l], out, am);
        a0 = am[0], a1 = am[1], a2 = am[2];
    }
    if (bad) {
        net->bound_valid = 0;
        if (proven) /* only with stale bounds: see nerve_net_train_batch */
            return error_set(NERVE_ENUMERIC, OPTIM_STALE_BOUNDS, fn,
                             (unsigned long long)net->step + 1);
        optim_rollback(net, &p);
        return error_set(NERVE_ENUMERIC,
                         "%s: the optimizer update produced NaN or Inf at optimizer step %llu; "
                         "parameters and optimizer state left as before this step",
                         fn, (unsigned long long)net->step + 1);
    }
    const float amax[3] = {a0, a1, a2};
    optim_bound_commit(net, amax);
    optim_commit(net, &p);
    return NERVE_OK;
}

nerve_status nerve_net_train_epoch_mpi(nerve_net *net, const nerve_dataset *data,
                                       const nerve_epoch_opts *opts, nerve_eval *result,
                                       MPI_Comm comm) {
    static const char fn[] = "nerve_net_train_epoch_mpi";
    CHECK_ARG(net != NULL, "%s: net is NULL", fn);
    CHECK_ARG(comm != MPI_COMM_NULL, "%s: comm is MPI_COMM_NULL", fn);
    const nerve_epoch_opts def = {0};
    if (!opts) opts = &def;

    dp d;
    memset(&d, 0, sizeof d);
    d.net = net;
    d.comm = MPI_COMM_NULL;
    int rc = MPI_Comm_dup(comm, &d.comm);
    if (rc != MPI_SUCCESS) return mpi_error(fn, rc);
    MPI_Comm_set_errhandler(d.comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(d.comm, &d.rank);
    MPI_Comm_size(d.comm, &d.P);
    const size_t P = (size_t)d.P;
    d.all = malloc(P * sizeof *d.all); /* before anything can fail: agree() needs it */

    /* local checks and allocations, then one agreement */
    rank_rec mine;
    memset(&mine, 0, sizeof mine);
    nerve_status st = check_dataset(fn, net, data);
    const size_t n = st == NERVE_OK ? data->n : 0;
    const size_t C = net->sizes[net->n_layers], L = net->n_layers;
    const int cls = st == NERVE_OK && data->labels != NULL;
    size_t *shard = malloc(P * sizeof *shard);
    epoch_batches it; /* this rank's shard of every batch */
    memset(&it, 0, sizeof it);
    if (st == NERVE_OK) st = dp_plan(fn, &d);
    if (st == NERVE_OK && !shard) st = error_set(NERVE_ENOMEM, "%s: out of memory", fn);
    if (st == NERVE_OK)
        st = batches_init(&it, fn, data, opts->batch_size, opts->shuffle, (size_t)d.rank, P);
    if (st == NERVE_OK) st = epoch_check(fn, net, n, it.bs, opts->shuffle);
    if (st != NERVE_OK) rec_fail(&mine, st);
    mine.u[0] = n;
    mine.u[1] = it.bs;
    mine.u[2] = (uint64_t)(opts->shuffle != 0);
    mine.u[3] = net->n_alloc;
    mine.u[4] = nerve_net_checksum(net);
    mine.u[5] = net->epoch;
    mine.u[6] = net->rng[0] ^ net->rng[1] ^ net->rng[2] ^ net->rng[3];
    mine.u[7] = (uint64_t)cls;
    mine.u[8] = net->cut.rows;
    st = agree(fn, &d, &mine);
    if (st == NERVE_OK) {
        static const char *const what[9] = {"data size",
                                            "batch size",
                                            "shuffling",
                                            "network shape",
                                            "weights and optimizer state (checksum)",
                                            "epoch count",
                                            "shuffling generator",
                                            "kind of targets",
                                            "rows done of a cut epoch"};
        for (int r = 1; r < d.P && st == NERVE_OK; r++)
            for (int k = 0; k < 9 && st == NERVE_OK; k++)
                if (d.all[r].u[k] != d.all[0].u[k])
                    st = error_set(NERVE_EINVAL,
                                   "%s: rank %d and rank 0 differ in %s (%llu vs %llu): every rank "
                                   "must train the same network on the same data",
                                   fn, r, what[k], (unsigned long long)d.all[r].u[k],
                                   (unsigned long long)d.all[0].u[k]);
    }
    if (st != NERVE_OK) {
        batches_free(&it);
        free(shard);
        dp_free(&d);
        return st;
    }

    /* the same draw, rate and continuation of a cut epoch on every rank as
     * nerve_net_train_epoch (src/net/epoch.c) */
    epoch_pass pass;
    epoch_begin(net, n, it.perm, &pass);
    batches_seek(&it, pass.r0);

    const net_grad_hook hook = {.ready = on_ready, .user = &d};
    double loss_sum = pass.loss_sum;
    size_t seen = pass.r0, correct = pass.correct;
    int stop = 0;
    nerve_batch b;
    size_t r, rows;
    while (st == NERVE_OK && !stop && batches_next(&it, &b, &r, &rows)) {
        for (size_t k = 0; k < P; k++) {
            size_t a, e;
            split_range(rows, 1, k, P, &a, &e);
            shard[k] = e - a;
        }
        const size_t lrows = b.n;
        memset(&mine, 0, sizeof mine);
        d.posted = 0;
        d.mpi_rc = MPI_SUCCESS;
        float loss = 0;
        nerve_status lst = NERVE_OK;
        if (lrows) lst = net_step_hooked(fn, net, &b, &loss, 0, NULL, &hook);
        post_down_to(&d, 0); /* whatever the step did not post (failure, no rows) */
        if (lst == NERVE_OK && d.mpi_rc != MPI_SUCCESS) lst = mpi_error(fn, d.mpi_rc);
        if (lst != NERVE_OK) {
            rec_fail(&mine, lst);
        } else if (lrows) {
            mine.loss_sum = (double)loss * (double)lrows;
            if (cls) mine.u[0] = count_correct(net->plan->a[L - 1], b.labels, lrows, C);
        }
        mine.stop = opts->stop && *opts->stop;
        st = agree(fn, &d, &mine);
        if (st != NERVE_OK) { /* complete the posted exchanges, leave the weights */
            /* one by one: GCC 12 misreads MPICH's MPI_STATUSES_IGNORE in MPI_Waitall */
            for (size_t k = 0; k < L; k++) MPI_Wait(&d.req_a2a[k], MPI_STATUS_IGNORE);
            break;
        }
        if ((st = combine_and_update(fn, &d, shard, rows)) != NERVE_OK) break;
        for (size_t k = 0; k < P; k++) {
            loss_sum += d.all[k].loss_sum;
            correct += d.all[k].u[0];
            stop |= d.all[k].stop != 0;
        }
        seen += rows;
        if (opts->progress)
            opts->progress(opts->progress_user, seen, n, (float)(loss_sum / (double)seen));
#ifndef NDEBUG
        if (net->step % NERVE_MPI_CHECK_EVERY == 0) st = check_replicas(fn, net, d.comm, NULL);
#endif
    }
    batches_free(&it);
    free(shard);
    if (st == NERVE_OK) st = check_replicas(fn, net, d.comm, NULL);
    dp_free(&d);
    if (result) {
        result->n = seen;
        result->loss = seen ? loss_sum / (double)seen : 0.0;
        result->accuracy = cls && seen ? (double)correct / (double)seen : 0.0;
    }
    epoch_end(net, &pass, n, it.bs, opts->shuffle, seen, loss_sum, correct, st, stop);
    return st;
}
