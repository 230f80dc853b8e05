/* Concurrency checks (issue 11), a plain program so that it runs under
 * ThreadSanitizer (scripts/test.sh) without Criterion's own threads:
 *   forward_const  nerve_net_forward_const on one network from 8 threads at
 *                  once, unprepared and prepared, each result bit-identical
 *                  to a lone call;
 *   forward_team   nerve_net_forward on a team of 3 (the packed pass, both of
 *                  its thread splits) against forward_const;
 *   two_nets       two networks trained at once from two threads (each with
 *                  its OpenMP team), weights bit-identical to training them
 *                  one after the other;
 *   stop_flag      the epoch's stop flag set from another thread: the epoch
 *                  ends early and is not counted;
 *   isa_reason     nerve_isa_reason read while another thread caps the ISA.
 * Usage: nerve_concurrency [CASE...] (no argument: all). Exit 0 when every
 * case passes; messages on stderr. */
#define _POSIX_C_SOURCE 200809L
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nerve/nerve.h"

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s:%d: ", __func__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            failures++;                                                                            \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static nerve_net *make_net(uint64_t seed, size_t in) {
    size_t sizes[4] = {in, 96, 48, 10};
    nerve_act acts[3] = {NERVE_ACT_RELU, NERVE_ACT_TANH, NERVE_ACT_IDENTITY};
    nerve_net *net = NULL;
    if (nerve_net_create(&net, 3, sizes, acts, NERVE_LOSS_XENT, seed) != NERVE_OK) return NULL;
    return net;
}

static int same_weights(nerve_net *a, nerve_net *b) {
    for (size_t l = 0; l < nerve_net_layers(a); l++) {
        size_t in = nerve_net_width(a, l), out = nerve_net_width(a, l + 1);
        if (memcmp(nerve_net_weights(a, l), nerve_net_weights(b, l), in * out * sizeof(float)) ||
            memcmp(nerve_net_bias(a, l), nerve_net_bias(b, l), out * sizeof(float)))
            return 0;
    }
    return 1;
}

/* ---- forward_const from 8 threads ---------------------------------------------------- */

enum { FC_THREADS = 8, FC_ROWS = 37, FC_REPS = 20 };

typedef struct fc_job {
    const nerve_net *net;
    const float *x;
    const float *want;
    int ok;
    size_t in;
} fc_job;

static void *fc_thread(void *arg) {
    fc_job *j = arg;
    float out[FC_ROWS * 10];
    float *scratch = malloc(nerve_net_forward_scratch_floats(j->net, FC_ROWS) * sizeof(float));
    j->ok = scratch != NULL;
    for (int r = 0; r < FC_REPS && j->ok; r++) {
        /* alternate caller scratch and per-call scratch, and 1-row GEMV calls */
        float *s = r & 1 ? NULL : scratch;
        if (nerve_net_forward_const(j->net, j->x, FC_ROWS, out, s) != NERVE_OK ||
            memcmp(out, j->want, sizeof out) != 0)
            j->ok = 0;
        float one[10];
        if (nerve_net_forward_const(j->net, j->x, 1, one, NULL) != NERVE_OK) j->ok = 0;
    }
    free(scratch);
    return NULL;
}

static void case_forward_const(void) {
    const size_t in = 64;
    nerve_net *net = make_net(7, in);
    CHECK(net, "create: %s", nerve_last_error());
    float *x = malloc(FC_ROWS * in * sizeof *x), want[FC_ROWS * 10];
    for (size_t i = 0; i < FC_ROWS * in; i++) x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    CHECK(nerve_net_forward_const(net, x, FC_ROWS, want, NULL) == NERVE_OK, "%s",
          nerve_last_error());
    int ok = 1;
    /* unprepared (W packed per call), then on the packed weights */
    for (int prepared = 0; prepared < 2; prepared++) {
        if (prepared) CHECK(nerve_net_prepare_inference(net) == NERVE_OK, "prepare");
        pthread_t th[FC_THREADS];
        fc_job jobs[FC_THREADS];
        for (int t = 0; t < FC_THREADS; t++) {
            jobs[t] = (fc_job){net, x, want, 0, in};
            CHECK(pthread_create(&th[t], NULL, fc_thread, &jobs[t]) == 0, "pthread_create");
        }
        for (int t = 0; t < FC_THREADS; t++) {
            pthread_join(th[t], NULL);
            ok &= jobs[t].ok;
        }
    }
    free(x);
    nerve_net_free(net);
    CHECK(ok, "a thread's forward_const differed from the lone call");
}

/* ---- nerve_net_forward with an OpenMP team ------------------------------------------- */

/* The packed pass on 3 threads (src/net/infer.c): few rows of a wide network
 * (the threads share each layer's panels, a barrier between layers) and
 * many rows (each thread its own rows through all layers; 400 rows are 136 +
 * 132 + 132 at AVX-512's 4-row steps, so a share ends mid-tile), each output
 * bit-identical to nerve_net_forward_const on the calling thread. */
static void case_forward_team(void) {
    const size_t sizes[4] = {1024, 512, 64, 10}, rows[] = {3, 40, 400};
    const nerve_act acts[3] = {NERVE_ACT_RELU, NERVE_ACT_GELU, NERVE_ACT_IDENTITY};
    nerve_net *net = NULL;
    CHECK(nerve_net_create(&net, 3, sizes, acts, NERVE_LOSS_XENT, 5) == NERVE_OK, "create");
    float *x = malloc(400 * 1024 * sizeof *x), *want = malloc(400 * 10 * sizeof *want),
          *got = malloc(400 * 10 * sizeof *got);
    CHECK(x && want && got, "out of memory");
    for (size_t i = 0; i < 400 * 1024; i++) x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    const int threads = nerve_get_num_threads();
    nerve_set_num_threads(3);
    int ok = 1;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        ok &= nerve_net_forward(net, x, rows[r], got) == NERVE_OK; /* prepares */
        ok &= nerve_net_forward_const(net, x, rows[r], want, NULL) == NERVE_OK;
        ok &= memcmp(got, want, rows[r] * 10 * sizeof *got) == 0;
    }
    nerve_set_num_threads(threads);
    free(x), free(want), free(got);
    nerve_net_free(net);
    CHECK(ok, "nerve_net_forward on 3 threads differed from forward_const");
}

/* ---- two networks trained at once ------------------------------------------------------- */

typedef struct train_job {
    nerve_net *net;
    const nerve_data *data;
    int epochs;
    nerve_status st;
} train_job;

static void *train_thread(void *arg) {
    train_job *j = arg;
    omp_set_num_threads(2); /* this thread's own team */
    nerve_opt o = nerve_opt_default(NERVE_OPT_ADAM);
    j->st = nerve_net_set_optimizer(j->net, &o);
    nerve_dataset view = nerve_data_view(j->data);
    nerve_epoch_opts eo = {.batch_size = 64, .shuffle = 1};
    for (int e = 0; e < j->epochs && j->st == NERVE_OK; e++)
        j->st = nerve_net_train_epoch(j->net, &view, &eo, NULL);
    return NULL;
}

static void case_two_nets(void) {
    nerve_data *d = NULL;
    CHECK(nerve_data_load_digits(&d) == NERVE_OK, "%s", nerve_last_error());
    for (size_t i = 0; i < d->n * d->in; i++) d->x[i] *= 0.0625f;
    nerve_net *a = make_net(1, d->in), *b = make_net(2, d->in);
    nerve_net *ra = make_net(1, d->in), *rb = make_net(2, d->in);
    CHECK(a && b && ra && rb, "create");
    train_job ja = {a, d, 2, NERVE_OK}, jb = {b, d, 2, NERVE_OK};
    train_job jra = {ra, d, 2, NERVE_OK}, jrb = {rb, d, 2, NERVE_OK};
    train_thread(&jra); /* references, one after the other */
    train_thread(&jrb);
    pthread_t ta, tb;
    CHECK(pthread_create(&ta, NULL, train_thread, &ja) == 0, "pthread_create");
    CHECK(pthread_create(&tb, NULL, train_thread, &jb) == 0, "pthread_create");
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK(ja.st == NERVE_OK && jb.st == NERVE_OK && jra.st == NERVE_OK && jrb.st == NERVE_OK,
          "training failed");
    CHECK(same_weights(a, ra) && same_weights(b, rb),
          "networks trained at once differ from trained alone");
    nerve_net_free(a), nerve_net_free(b), nerve_net_free(ra), nerve_net_free(rb);
    nerve_data_free(d);
}

/* ---- nerve_net_train_batch on a team: the guard's shared maxima (train.c) ----------------- */

/* Steps on 3 threads give the bits of steps on 1; the guard publishes its
 * maxima through atomics and reads them after a barrier. */
static void case_train_batch_team(void) {
    nerve_data *d = NULL;
    CHECK(nerve_data_load_digits(&d) == NERVE_OK, "%s", nerve_last_error());
    for (size_t i = 0; i < d->n * d->in; i++) d->x[i] *= 0.0625f;
    nerve_net *a = make_net(4, d->in), *b = make_net(4, d->in);
    CHECK(a && b, "create");
    nerve_opt o = nerve_opt_default(NERVE_OPT_SGD);
    o.momentum = 0.9f;
    CHECK(nerve_net_set_optimizer(a, &o) == NERVE_OK && nerve_net_set_optimizer(b, &o) == NERVE_OK,
          "optimizer");
    for (int t = 1; t <= 3; t += 2) {
        omp_set_num_threads(t);
        nerve_net *net = t == 1 ? a : b;
        for (size_t r = 0; r + 64 <= d->n && r < 640; r += 64) {
            const nerve_batch bt = {.x = d->x + r * d->in, .labels = d->labels + r, .n = 64};
            CHECK(nerve_net_train_batch(net, &bt, NULL) == NERVE_OK, "%s", nerve_last_error());
        }
    }
    CHECK(same_weights(a, b), "3 threads differ from 1");
    nerve_net_free(a), nerve_net_free(b);
    nerve_data_free(d);
}

/* ---- the stop flag from another thread --------------------------------------------------- */

typedef struct stop_job {
    nerve_stop_flag *flag;
    atomic_int *batches; /* progress callbacks seen */
} stop_job;

/* After the third batch the training thread waits until the stopper thread
 * has set the flag, so the epoch is cut however the two threads are
 * scheduled (on a loaded machine the stopper could otherwise first run after
 * the whole epoch); the flag is still set by the other thread. */
static nerve_stop_flag *wait_flag;

static void count_batch(void *user, size_t done, size_t total, float loss) {
    (void)done, (void)total, (void)loss;
    if (atomic_fetch_add((atomic_int *)user, 1) + 1 == 3)
        while (!atomic_load(wait_flag)) {
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
}

static void *stopper(void *arg) {
    stop_job *j = arg;
    while (atomic_load(j->batches) < 3) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    atomic_store(j->flag, 1);
    return NULL;
}

static void case_stop_flag(void) {
    nerve_data *d = NULL;
    CHECK(nerve_data_load_digits(&d) == NERVE_OK, "%s", nerve_last_error());
    nerve_net *net = make_net(3, d->in);
    CHECK(net, "create");
    nerve_stop_flag flag = 0;
    atomic_int batches = 0;
    stop_job j = {&flag, &batches};
    wait_flag = &flag;
    nerve_dataset view = nerve_data_view(d);
    nerve_epoch_opts eo = {.batch_size = 8,
                           .shuffle = 1,
                           .progress = count_batch,
                           .progress_user = &batches,
                           .stop = &flag};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, stopper, &j) == 0, "pthread_create");
    nerve_eval ev;
    nerve_status st = NERVE_OK;
    /* up to 50 epochs: the flag is set during the first */
    for (int e = 0; e < 50 && st == NERVE_OK && !atomic_load(&flag); e++)
        st = nerve_net_train_epoch(net, &view, &eo, &ev);
    pthread_join(th, NULL);
    CHECK(st == NERVE_OK, "%s", nerve_last_error());
    CHECK(ev.n < d->n, "the epoch was not cut short (%zu of %zu)", ev.n, d->n);
    CHECK(nerve_net_epoch_count(net) == 0, "a cut epoch was counted");
    nerve_net_free(net);
    nerve_data_free(d);
}

/* ---- nerve_isa_reason while another thread caps the ISA ------------------------------------ */

static void *capper(void *arg) {
    (void)arg;
    for (int i = 0; i < 200; i++) nerve_set_max_isa(i & 1 ? NERVE_ISA_SCALAR : nerve_isa_best());
    return NULL;
}

static void case_isa_reason(void) {
    pthread_t th;
    CHECK(pthread_create(&th, NULL, capper, NULL) == 0, "pthread_create");
    size_t total = 0;
    for (int i = 0; i < 200; i++) total += strlen(nerve_isa_reason());
    pthread_join(th, NULL);
    nerve_set_max_isa(nerve_isa_best());
    CHECK(total > 0, "empty reasons");
}

int main(int argc, char **argv) {
    static const struct {
        const char *name;
        void (*fn)(void);
    } cases[] = {{"forward_const", case_forward_const},
                 {"forward_team", case_forward_team},
                 {"two_nets", case_two_nets},
                 {"train_batch_team", case_train_batch_team},
                 {"stop_flag", case_stop_flag},
                 {"isa_reason", case_isa_reason}};
    const size_t n = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n; i++) {
        int want = argc < 2;
        for (int a = 1; a < argc; a++) want |= strcmp(argv[a], cases[i].name) == 0;
        if (!want) continue;
        int before = failures;
        cases[i].fn();
        printf("%s %s\n", failures == before ? "ok  " : "FAIL", cases[i].name);
    }
    return failures ? 1 : 0;
}
