/* nerve selftest: every bit-exact kernel check (nerve/selftest.h) of every
 * vector table this CPU supports against the scalar table, then a short
 * training run on the embedded digits with every supported table and 1 and
 * N threads: each must reach a sanity accuracy and all must end with
 * bit-identical weights (the reproducibility rule). Prints a table; exits 0
 * only if everything passed, 1 otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "common.h"

static const cli_option options[] = {
    {"threads", "N",
     "the second thread count of the training runs (default: all\n"
     "OpenMP threads; the first is always 1)"},
    {"verbose", NULL, "also print the message of every check that passed"},
};
#define N_OPTIONS (sizeof options / sizeof options[0])
#define GET(name) cli_value(options, N_OPTIONS, v, name)

/* The training check: 64-128-10 ReLU on 80% of the digits, SGD with
 * momentum, 5 epochs; it reaches about 96% on the held-out fifth, so 90% is
 * a bar that only a broken build misses. */
#define TRAIN_EPOCHS   5
#define TRAIN_HIDDEN   128
#define TRAIN_BATCH    32
#define TRAIN_LR       0.05f
#define TRAIN_MOMENTUM 0.9f
#define TRAIN_BAR      0.90
#define TRAIN_SEED     7

#define MSG_CAP 256

static size_t n_run, n_failed;

static void verdict(int ok) {
    n_run++;
    n_failed += !ok;
}

/* ---- kernel checks: one row per check, one column per vector table ------ */

static void kernel_checks(const nerve_isa *isas, size_t n_isas, int verbose) {
    size_t n = nerve_selftest_count();
    char msg[MSG_CAP];
    printf("%-28s", "kernel check (vs scalar)");
    for (size_t j = 0; j < n_isas; j++)
        printf(j + 1 < n_isas ? "  %-7s" : "  %s", nerve_isa_name(isas[j]));
    printf("\n");
    /* failures are listed after the table, with their messages */
    char(*fails)[MSG_CAP + 64] = calloc(n * n_isas + 1, sizeof *fails);
    size_t n_fails = 0;
    for (size_t i = 0; i < n; i++) {
        printf("%-28s", nerve_selftest_name(i));
        for (size_t j = 0; j < n_isas; j++) {
            bool passed = false;
            if (nerve_selftest_run(i, isas[j], &passed, msg, sizeof msg) != NERVE_OK)
                snprintf(msg, sizeof msg, "did not run: %s", nerve_last_error());
            int bad = !passed;
            verdict(!bad);
            printf(j + 1 < n_isas ? "  %-7s" : "  %s", bad ? "FAIL" : "pass");
            if ((bad || (verbose && msg[0])) && fails)
                snprintf(fails[n_fails++], sizeof fails[0], "%s %s %s: %s", bad ? "FAIL" : "note",
                         nerve_isa_name(isas[j]), nerve_selftest_name(i), msg[0] ? msg : "(no message)");
        }
        printf("\n");
        fflush(stdout);
    }
    for (size_t k = 0; k < n_fails; k++) printf("  %s\n", fails[k]);
    free(fails);
}

/* ---- training runs -------------------------------------------------------- */

typedef struct run_result {
    float *weights; /* every layer's weights then bias, concatenated */
    size_t n;
    double accuracy;
} run_result;

static int train_once(const nerve_data *tr, const nerve_data *te, run_result *r, char *msg,
                      size_t cap) {
    size_t sizes[] = {tr->in, TRAIN_HIDDEN, tr->out};
    nerve_act acts[] = {NERVE_ACT_RELU, NERVE_ACT_IDENTITY};
    nerve_net *net = NULL;
    nerve_status st = nerve_net_create(&net, 2, sizes, acts, NERVE_LOSS_XENT, TRAIN_SEED);
    nerve_opt o = nerve_opt_default(NERVE_OPT_SGD);
    o.lr = TRAIN_LR;
    o.momentum = TRAIN_MOMENTUM;
    if (st == NERVE_OK) st = nerve_net_set_optimizer(net, &o);
    nerve_dataset dtr = nerve_data_view(tr), dte = nerve_data_view(te);
    nerve_epoch_opts eo;
    memset(&eo, 0, sizeof eo);
    eo.batch_size = TRAIN_BATCH;
    eo.shuffle = 1;
    nerve_eval ev;
    for (int e = 0; e < TRAIN_EPOCHS && st == NERVE_OK; e++)
        st = nerve_net_train_epoch(net, &dtr, &eo, &ev);
    if (st == NERVE_OK) st = nerve_net_evaluate(net, &dte, &ev);
    if (st == NERVE_OK) {
        r->n = nerve_net_param_count(net);
        r->weights = malloc(r->n * sizeof(float));
        if (!r->weights) {
            st = NERVE_ENOMEM;
        } else {
            size_t k = 0;
            for (size_t l = 0; l < 2; l++) {
                size_t nw = sizes[l] * sizes[l + 1], nb = sizes[l + 1];
                memcpy(r->weights + k, nerve_net_weights(net, l), nw * sizeof(float));
                memcpy(r->weights + k + nw, nerve_net_bias(net, l), nb * sizeof(float));
                k += nw + nb;
            }
            r->accuracy = ev.accuracy;
        }
    }
    if (st != NERVE_OK)
        snprintf(msg, cap, "%s", st == NERVE_ENOMEM ? "out of memory" : nerve_last_error());
    nerve_net_free(net);
    return st == NERVE_OK ? 0 : -1;
}

static void training_checks(const nerve_isa *isas, size_t n_isas, int threads) {
    nerve_data *all = NULL, *tr = NULL, *te = NULL;
    char msg[MSG_CAP];
    nerve_status st = nerve_data_load_digits(&all);
    if (st == NERVE_OK) st = nerve_data_split(all, 0.2, TRAIN_SEED, &tr, &te);
    nerve_data_free(all);
    printf("\ntraining: digits %zu-%d-10 relu, sgd lr %g momentum %g, batch %d, %d epochs\n",
           tr ? tr->in : (size_t)64, TRAIN_HIDDEN, (double)TRAIN_LR, (double)TRAIN_MOMENTUM,
           TRAIN_BATCH, TRAIN_EPOCHS);
    if (st != NERVE_OK) {
        printf("  FAIL loading the digits: %s\n", nerve_last_error());
        verdict(0);
        return;
    }
    nerve_isa prior = nerve_isa_active();
    int prior_threads = nerve_get_num_threads();
    int counts[2] = {1, threads};
    size_t n_counts = threads > 1 ? 2 : 1;
    run_result first = {NULL, 0, 0};
    int first_set = 0;
    for (size_t j = 0; j < n_isas; j++)
        for (size_t t = 0; t < n_counts; t++) {
            nerve_set_max_isa(isas[j]);
            nerve_set_num_threads(counts[t]);
            run_result r = {NULL, 0, 0};
            msg[0] = '\0';
            int ok = train_once(tr, te, &r, msg, sizeof msg) == 0;
            int acc_ok = ok && r.accuracy >= TRAIN_BAR;
            int same = 1;
            if (ok && first_set)
                same = r.n == first.n && memcmp(r.weights, first.weights, r.n * sizeof(float)) == 0;
            verdict(acc_ok);
            verdict(same);
            printf("  %-7s %d thread%s  ", nerve_isa_name(isas[j]), counts[t],
                   counts[t] > 1 ? "s" : " ");
            if (!ok)
                printf("FAIL  %s\n", msg);
            else
                printf("%-4s  val accuracy %.2f%% (bar %.0f%%)   %s  weights %s\n",
                       acc_ok ? "pass" : "FAIL", 100 * r.accuracy, 100 * TRAIN_BAR,
                       same ? "pass" : "FAIL",
                       !first_set ? "(the reference)"
                       : same     ? "bit-identical to the reference"
                                  : "DIFFER from the reference");
            fflush(stdout);
            if (ok && !first_set) {
                first = r;
                first_set = 1;
            } else {
                free(r.weights);
            }
        }
    free(first.weights);
    nerve_set_max_isa(prior);
    nerve_set_num_threads(prior_threads);
    nerve_data_free(tr);
    nerve_data_free(te);
}

int cmd_selftest(int argc, char **argv) {
    const char *v[N_OPTIONS];
    int rc =
        cli_parse("Usage: nerve selftest [options]\n\n"
                  "Checks every kernel of every vector table this CPU supports bit for bit\n"
                  "against the scalar table, then trains a small network on the digits with\n"
                  "every supported table and 1 and N threads: each run must reach a sanity\n"
                  "accuracy and all must give bit-identical weights. Exits 0 only if all pass.",
                  options, N_OPTIONS, argc, argv, v);
    if (rc == CLI_HELP) return CLI_OK;
    if (rc != CLI_OK) return rc;
    if ((rc = cli_apply_threads(GET("threads"))) != CLI_OK) return rc;
    int threads = cli_threads();

    nerve_isa all[NERVE_ISA_COUNT], vec[NERVE_ISA_COUNT];
    size_t n_all = 0, n_vec = 0;
    for (int i = 0; i < NERVE_ISA_COUNT; i++)
        if (nerve_isa_supported((nerve_isa)i)) {
            all[n_all++] = (nerve_isa)i;
            if (i != NERVE_ISA_SCALAR) vec[n_vec++] = (nerve_isa)i;
        }
    printf("nerve %s selftest on %s\n\n", NERVE_VERSION_STRING, nerve_cpu_features_get()->model);
    if (n_vec)
        kernel_checks(vec, n_vec, GET("verbose") != NULL);
    else
        printf("kernel checks: this CPU runs only the scalar table, the reference itself\n");
    training_checks(all, n_all, threads);

    printf("\n%zu checks, %zu failed: %s\n", n_run, n_failed, n_failed ? "FAIL" : "all passed");
    return n_failed ? CLI_FAIL : CLI_OK;
}
