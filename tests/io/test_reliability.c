/* Issue 11, the library side: saves that never destroy (FIFOs, device
 * nodes, sockets and directories refused, symbolic links followed, long
 * names, a directory that cannot be synced), steps that never lie (a NaN or
 * Inf stored by the optimizer is NERVE_ENUMERIC with parameters and state as
 * before the step; non-finite models never written), non-regular inputs
 * refused without blocking, outputs wider than the classes, and size
 * computations that cannot overflow. */
#define _GNU_SOURCE /* mknod */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <omp.h>

#include "net_internal.h"
#include "rng.h"
#include "testutil.h"
#include "nerve/nerve.h"

static char tmpdir[64];

static void make_tmpdir(void) { cr_assert(test_tmpdir_make(tmpdir, sizeof tmpdir, "rel")); }
static void remove_tmpdir(void) { cr_assert(test_tmpdir_remove(tmpdir)); }

TestSuite(rel, .init = make_tmpdir, .fini = remove_tmpdir, .timeout = 60);

static const char *tpath(const char *name) { return test_tmp_path(tmpdir, name); }

#define expect_status(call, want, what)                                                            \
    do {                                                                                           \
        nerve_status st_ = (call);                                                                 \
        cr_assert_eq(st_, (want), "%s: status %d, want %d (%s)", (what), (int)st_, (int)(want),    \
                     nerve_last_error());                                                          \
    } while (0)

static nerve_net *small_net(uint64_t seed) {
    size_t sizes[3] = {4, 8, 3};
    nerve_act acts[2] = {NERVE_ACT_TANH, NERVE_ACT_IDENTITY};
    nerve_net *net;
    expect_status(nerve_net_create(&net, 2, sizes, acts, NERVE_LOSS_XENT, seed), NERVE_OK,
                  "create");
    return net;
}

/* The bytes of a file; *n its length. */
static uint8_t *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    uint8_t *b = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) b = realloc(b, cap = cap ? 2 * cap : 4096);
        size_t r = fread(b + len, 1, cap - len, f);
        if (r == 0) break;
        len += r;
    }
    fclose(f);
    *n = len;
    return b;
}

/* Parameters (and optimizer state through a save with training state) of
 * two networks, bit for bit. */
static void assert_same_params(const nerve_net *a, const nerve_net *b) {
    cr_assert_eq(nerve_net_layers(a), nerve_net_layers(b));
    for (size_t l = 0; l < nerve_net_layers(a); l++) {
        size_t in = nerve_net_width(a, l), out = nerve_net_width(a, l + 1);
        cr_assert_eq(memcmp(nerve_net_weights((nerve_net *)a, l),
                            nerve_net_weights((nerve_net *)b, l), in * out * sizeof(float)),
                     0, "layer %zu weights differ", l);
        cr_assert_eq(memcmp(nerve_net_bias((nerve_net *)a, l), nerve_net_bias((nerve_net *)b, l),
                            out * sizeof(float)),
                     0, "layer %zu biases differ", l);
    }
}

/* ---- 1. saves never replace what is not a regular file -------------------------- */

Test(rel, save_refuses_fifo_device_socket) {
    nerve_net *net = small_net(1);
    cr_assert_eq(mkfifo(tpath("fifo"), 0600), 0);
    expect_status(nerve_net_save(net, tpath("fifo"), 1), NERVE_EIO, "fifo");
    cr_assert(strstr(nerve_last_error(), "FIFO"), "%s", nerve_last_error());
    struct stat sb;
    cr_assert_eq(lstat(tpath("fifo"), &sb), 0);
    cr_assert(S_ISFIFO(sb.st_mode), "the FIFO was replaced");

    /* a character device like /dev/null (1, 3), made here in the temp dir */
    if (mknod(tpath("null"), S_IFCHR | 0666, makedev(1, 3)) == 0) {
        expect_status(nerve_net_save(net, tpath("null"), 1), NERVE_EIO, "device");
        cr_assert(strstr(nerve_last_error(), "device"), "%s", nerve_last_error());
        cr_assert_eq(lstat(tpath("null"), &sb), 0);
        cr_assert(S_ISCHR(sb.st_mode), "the device node was replaced");
    } else {
        cr_assert_eq(errno, EPERM, "mknod: %s", strerror(errno)); /* not root: FIFO only */
    }

    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", tpath("sock"));
    cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    expect_status(nerve_net_save(net, tpath("sock"), 0), NERVE_EIO, "socket");
    cr_assert_eq(lstat(tpath("sock"), &sb), 0);
    cr_assert(S_ISSOCK(sb.st_mode), "the socket was replaced");
    close(s);
    nerve_net_free(net);
}

Test(rel, save_follows_symlink_and_replaces_target) {
    cr_assert_eq(mkdir(tpath("real"), 0700), 0);
    nerve_net *a = small_net(1), *b = small_net(2), *back;
    const char *target = tpath("real/m.nrv");
    expect_status(nerve_net_save(a, target, 1), NERVE_OK, "first");
    cr_assert_eq(symlink("real/m.nrv", tpath("link.nrv")), 0);
    expect_status(nerve_net_save(b, tpath("link.nrv"), 1), NERVE_OK, "through the link");
    struct stat sb;
    cr_assert_eq(lstat(tpath("link.nrv"), &sb), 0);
    cr_assert(S_ISLNK(sb.st_mode), "the link was replaced by a file");
    expect_status(nerve_net_load(&back, target), NERVE_OK, "target");
    assert_same_params(b, back);
    nerve_net_free(back);
    /* a link to a FIFO is refused like the FIFO; a dangling link too */
    cr_assert_eq(mkfifo(tpath("real/fifo"), 0600), 0);
    cr_assert_eq(symlink("real/fifo", tpath("lfifo")), 0);
    expect_status(nerve_net_save(b, tpath("lfifo"), 1), NERVE_EIO, "link to fifo");
    cr_assert_eq(symlink("real/missing", tpath("dangling")), 0);
    expect_status(nerve_net_save(b, tpath("dangling"), 1), NERVE_EIO, "dangling link");
    cr_assert_eq(lstat(tpath("dangling"), &sb), 0);
    cr_assert(S_ISLNK(sb.st_mode));
    nerve_net_free(a);
    nerve_net_free(b);
}

/* 14: a name near NAME_MAX: its "<name>.<pid>-<n>.tmp" would not fit. */
Test(rel, save_long_file_name) {
    char name[256];
    memset(name, 'm', 250);
    strcpy(name + 250, ".nrv"); /* 254 characters */
    nerve_net *net = small_net(1), *back;
    expect_status(nerve_net_save(net, tpath(name), 1), NERVE_OK, "254-character name");
    expect_status(nerve_net_load(&back, tpath(name)), NERVE_OK, "load");
    assert_same_params(net, back);
    nerve_net_free(back);
    nerve_net_free(net);
}

/* 6: a directory the process may write but not read (-wx): the rename
 * works, the directory cannot be opened for its fsync. The save succeeds
 * with the new file, as net.h says. Root ignores permissions, so the save
 * runs in a child that gave them up. */
Test(rel, save_in_write_only_directory_succeeds) {
    const char *dir = tpath("wx");
    cr_assert_eq(mkdir(dir, 0700), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/m.nrv", dir);
    nerve_net *a = small_net(1), *b = small_net(2), *back;
    expect_status(nerve_net_save(a, path, 1), NERVE_OK, "first");
    if (geteuid() == 0) {
        cr_assert_eq(chmod(tmpdir, 0711), 0); /* the child must reach wx/ */
        cr_assert_eq(chown(dir, 65534, 65534), 0);
        cr_assert_eq(chown(path, 65534, 65534), 0);
    }
    cr_assert_eq(chmod(dir, 0300), 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(3);
        if (open(dir, O_RDONLY | O_DIRECTORY) >= 0) _exit(4); /* the premise */
        _exit(nerve_net_save(b, path, 1) == NERVE_OK ? 0 : 1);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert_eq(chmod(dir, 0700), 0);
    cr_assert(WIFEXITED(status), "child status 0x%x", (unsigned)status);
    cr_assert_eq(WEXITSTATUS(status), 0, "save in a -wx directory: exit %d", WEXITSTATUS(status));
    expect_status(nerve_net_load(&back, path), NERVE_OK, "load");
    assert_same_params(b, back);
    nerve_net_free(back);
    nerve_net_free(a);
    nerve_net_free(b);
}

/* ---- 2. steps that never lie ----------------------------------------------------- */

/* A 3-4-2 network whose first input is always 0: the weights reading it get
 * a zero gradient, so with Adam and eps = 0 their update is 0 / 0. */
static nerve_net *zero_input_net(void) {
    size_t sizes[3] = {3, 4, 2};
    nerve_act acts[2] = {NERVE_ACT_TANH, NERVE_ACT_IDENTITY};
    nerve_net *net;
    expect_status(nerve_net_create(&net, 2, sizes, acts, NERVE_LOSS_XENT, 5), NERVE_OK, "create");
    return net;
}

static const float zx[12] = {0, 1, 2, 0, -1, 0.5f, 0, 0.25f, -2, 0, 3, 1};
static const int32_t zl[4] = {0, 1, 1, 0};

/* The next step on zx/zl must be NERVE_ENUMERIC naming it, and change
 * nothing: parameters, optimizer state, step count (compared through saves
 * with training state, byte for byte). */
static void check_rollback(nerve_net *net) {
    const nerve_batch b = {.x = zx, .labels = zl, .n = 4};
    const char *before = tpath("before.nrv"), *after = tpath("after.nrv");
    expect_status(nerve_net_save(net, before, 1), NERVE_OK, "save before");
    const uint64_t step = nerve_net_step_count(net);
    float loss;
    expect_status(nerve_net_train_batch(net, &b, &loss), NERVE_ENUMERIC, "bad step");
    const char *m = nerve_last_error();
    cr_assert(strstr(m, "optimizer") && strstr(m, "as before"), "%s", m);
    char want[64];
    snprintf(want, sizeof want, "step %llu", (unsigned long long)step + 1);
    cr_assert(strstr(m, want), "message does not name the step (%s): %s", want, m);
    cr_assert(isfinite(loss));
    cr_assert_eq(nerve_net_step_count(net), step);
    expect_status(nerve_net_save(net, after, 1), NERVE_OK, "save after");
    size_t n0, n1;
    uint8_t *x0 = slurp(before, &n0), *x1 = slurp(after, &n1);
    cr_assert_eq(n0, n1);
    cr_assert_eq(memcmp(x0, x1, n0), 0, "parameters or optimizer state changed by the bad step");
    free(x0);
    free(x1);
}

Test(rel, adam_eps0_nan_step_rolled_back) {
    nerve_net *net = zero_input_net();
    nerve_opt o = nerve_opt_default(NERVE_OPT_ADAM);
    o.eps = 0.0f;
    expect_status(nerve_net_set_optimizer(net, &o), NERVE_OK, "set");
    check_rollback(net);
    nerve_net_free(net);
}

/* SGD with momentum and weight decay, after good steps (momentum buffer
 * filled): a huge weight on the always-zero input does not change the
 * loss, but w - lr * (wd * w + g) overflows to -Inf. */
Test(rel, sgd_overflow_step_rolled_back) {
    nerve_net *net = zero_input_net();
    nerve_opt o = nerve_opt_default(NERVE_OPT_SGD);
    o.lr = 0.5f;
    o.momentum = 0.9f;
    o.weight_decay = 0.5f;
    expect_status(nerve_net_set_optimizer(net, &o), NERVE_OK, "set");
    const nerve_batch b = {.x = zx, .labels = zl, .n = 4};
    for (int i = 0; i < 3; i++)
        expect_status(nerve_net_train_batch(net, &b, NULL), NERVE_OK, "good step");
    nerve_net_weights(net, 0)[0] = 3.0e38f; /* row 0, input 0 (always 0) */
    expect_status(nerve_net_set_lr(net, 10.0f), NERVE_OK, "lr");
    check_rollback(net);
    /* a sane rate again: training goes on from the kept state */
    nerve_net_weights(net, 0)[0] = 0.5f;
    expect_status(nerve_net_set_lr(net, 0.1f), NERVE_OK, "lr");
    expect_status(nerve_net_train_batch(net, &b, NULL), NERVE_OK, "step after");
    cr_assert_eq(nerve_net_step_count(net), 4);
    nerve_net_free(net);
}

/* nerve_net_train_epoch (no copy per step: a snapshot per epoch and a
 * replay): Adam with beta1 = beta2 = eps = 0 makes m = g and v = g^2, so a
 * zero gradient is 0 / 0. The first batch has every input nonzero (a good
 * step), the second has input 0 at 0: step 2 fails, and the network must
 * be exactly as after step 1 (compared with a network given only batch 1,
 * through saves with training state). */
Test(rel, epoch_rollback_after_good_step) {
    const float x[12] = {1, 2, -1, 0.5f, -2, 1, 0, 1, 2, 0, -1, 0.5f};
    const int32_t lab[4] = {0, 1, 1, 0};
    nerve_opt o = nerve_opt_default(NERVE_OPT_ADAM);
    o.beta1 = 0.0f;
    o.beta2 = 0.0f;
    o.eps = 0.0f;
    for (int shuffle = 0; shuffle < 2; shuffle++) {
        nerve_net *a = zero_input_net(), *b = zero_input_net();
        expect_status(nerve_net_set_optimizer(a, &o), NERVE_OK, "set a");
        expect_status(nerve_net_set_optimizer(b, &o), NERVE_OK, "set b");
        const nerve_dataset d = {.x = x, .labels = lab, .n = 4, .in = 3, .out = 2};
        nerve_epoch_opts eo = {.batch_size = 2};
        nerve_eval ev;
        eo.shuffle = shuffle; /* shuffled: only "rolled back, not counted" is checked */
        nerve_status st = nerve_net_train_epoch(a, &d, &eo, &ev);
        if (shuffle && st == NERVE_OK) { /* the order put both zero-input rows first? */
            nerve_net_free(a);
            nerve_net_free(b);
            continue;
        }
        cr_assert_eq(st, NERVE_ENUMERIC, "status %d: %s", (int)st, nerve_last_error());
        const char *m = nerve_last_error();
        cr_assert(strstr(m, "as before"), "%s", m);
        const uint64_t steps = nerve_net_step_count(a);
        cr_assert_leq(steps, 1);
        cr_assert_eq(nerve_net_epoch_count(a), 0);
        if (!shuffle) {
            cr_assert(strstr(m, "step 2"), "%s", m);
            const nerve_batch b1 = {.x = x, .labels = lab, .n = 2};
            expect_status(nerve_net_train_batch(b, &b1, NULL), NERVE_OK, "reference step");
            expect_status(nerve_net_save(a, tpath("a.nrv"), 1), NERVE_OK, "save a");
            expect_status(nerve_net_save(b, tpath("b.nrv"), 1), NERVE_OK, "save b");
            size_t n0, n1;
            uint8_t *x0 = slurp(tpath("a.nrv"), &n0), *x1 = slurp(tpath("b.nrv"), &n1);
            cr_assert(n0 == n1 && memcmp(x0, x1, n0) == 0,
                      "the epoch's failed step did not leave the state after step 1");
            free(x0);
            free(x1);
        }
        nerve_net_free(a);
        nerve_net_free(b);
    }
}

/* A shuffled epoch whose third step fails: the replay must walk the same
 * shuffled batches, so the state kept is exactly that of the epoch's first
 * two batches stepped one by one. The shuffle is predicted from a copy of
 * the network's generator (rng.h); the rows of the third batch get input 0
 * zero, which makes that step 0 / 0 (Adam with beta1 = beta2 = eps = 0, as
 * above) and no other. */
Test(rel, shuffled_epoch_rollback_replays_the_same_batches) {
    enum { N = 10, BS = 3, IN = 3 };
    nerve_opt o = nerve_opt_default(NERVE_OPT_ADAM);
    o.beta1 = 0.0f;
    o.beta2 = 0.0f;
    o.eps = 0.0f;
    nerve_net *a = zero_input_net(), *b = zero_input_net();
    expect_status(nerve_net_set_optimizer(a, &o), NERVE_OK, "set a");
    expect_status(nerve_net_set_optimizer(b, &o), NERVE_OK, "set b");
    size_t perm[N];
    for (size_t i = 0; i < N; i++) perm[i] = i;
    uint64_t s[4];
    memcpy(s, a->rng, sizeof s);
    rng_shuffle(s, perm, N); /* s: the generator after the epoch's draw */
    float x[N * IN];
    int32_t lab[N];
    for (size_t i = 0; i < N; i++) {
        x[i * IN] = 0.5f + 0.125f * (float)i;
        x[i * IN + 1] = 1.0f - 0.25f * (float)i;
        x[i * IN + 2] = (float)(i % 3) - 0.75f;
        lab[i] = (int32_t)(i % 2);
    }
    for (size_t k = 2 * BS; k < 3 * BS; k++) x[perm[k] * IN] = 0.0f;
    const nerve_dataset d = {.x = x, .labels = lab, .n = N, .in = IN, .out = 2};
    const nerve_epoch_opts eo = {.batch_size = BS, .shuffle = 1};
    nerve_eval ev;
    cr_assert_eq(nerve_net_train_epoch(a, &d, &eo, &ev), NERVE_ENUMERIC, "%s", nerve_last_error());
    cr_assert(strstr(nerve_last_error(), "step 3"), "%s", nerve_last_error());
    cr_assert_eq(nerve_net_step_count(a), 2);
    cr_assert_eq(nerve_net_epoch_count(a), 0);
    for (size_t k = 0; k < 2; k++) { /* the reference: batches 1 and 2 of the shuffle */
        float bx[BS * IN];
        int32_t bl[BS];
        for (size_t i = 0; i < BS; i++) {
            memcpy(bx + i * IN, x + perm[k * BS + i] * IN, sizeof(float) * IN);
            bl[i] = lab[perm[k * BS + i]];
        }
        const nerve_batch bb = {.x = bx, .labels = bl, .n = BS};
        expect_status(nerve_net_train_batch(b, &bb, NULL), NERVE_OK, "reference step");
    }
    memcpy(b->rng, s, sizeof s);
    expect_status(nerve_net_save(a, tpath("a.nrv"), 1), NERVE_OK, "save a");
    expect_status(nerve_net_save(b, tpath("b.nrv"), 1), NERVE_OK, "save b");
    size_t n0, n1;
    uint8_t *x0 = slurp(tpath("a.nrv"), &n0), *x1 = slurp(tpath("b.nrv"), &n1);
    cr_assert(n0 == n1 && memcmp(x0, x1, n0) == 0,
              "the replay did not leave the state after the shuffle's first two batches");
    free(x0);
    free(x1);
    nerve_net_free(a);
    nerve_net_free(b);
}

/* Every thread count gives the same failure and the same kept state. */
Test(rel, rollback_with_many_threads) {
    size_t sizes[3] = {300, 200, 10};
    nerve_act acts[2] = {NERVE_ACT_RELU, NERVE_ACT_IDENTITY};
    nerve_net *net;
    expect_status(nerve_net_create(&net, 2, sizes, acts, NERVE_LOSS_XENT, 3), NERVE_OK, "create");
    nerve_opt o = nerve_opt_default(NERVE_OPT_ADAM);
    o.eps = 0.0f;
    expect_status(nerve_net_set_optimizer(net, &o), NERVE_OK, "set");
    enum { N = 64 };
    float *x = calloc(N * 300, sizeof *x);
    int32_t lab[N];
    for (size_t i = 0; i < N; i++) {
        lab[i] = (int32_t)(i % 10);
        for (size_t j = 1; j < 300; j++) x[i * 300 + j] = (float)((i * 7 + j * 3) % 11) / 11.0f;
    }
    const nerve_batch b = {.x = x, .labels = lab, .n = N};
    const char *before = tpath("b.nrv"), *after = tpath("a.nrv");
    expect_status(nerve_net_save(net, before, 1), NERVE_OK, "save");
    for (int t = 1; t <= 4; t++) {
        omp_set_num_threads(t);
        expect_status(nerve_net_train_batch(net, &b, NULL), NERVE_ENUMERIC, "bad step");
        expect_status(nerve_net_save(net, after, 1), NERVE_OK, "save after");
        size_t n0, n1;
        uint8_t *x0 = slurp(before, &n0), *x1 = slurp(after, &n1);
        cr_assert(n0 == n1 && memcmp(x0, x1, n0) == 0, "%d threads: state changed", t);
        free(x0);
        free(x1);
    }
    free(x);
    nerve_net_free(net);
}

Test(rel, nonfinite_model_never_written) {
    nerve_net *net = small_net(1);
    const char *p = tpath("m.nrv");
    expect_status(nerve_net_save(net, p, 1), NERVE_OK, "good save");
    size_t n0;
    uint8_t *good = slurp(p, &n0);
    nerve_net_bias(net, 1)[2] = NAN;
    expect_status(nerve_net_save(net, p, 1), NERVE_ENUMERIC, "NaN bias");
    cr_assert(strstr(nerve_last_error(), "layer 1") && strstr(nerve_last_error(), "bias 2"), "%s",
              nerve_last_error());
    nerve_net_bias(net, 1)[2] = 0;
    nerve_net_weights(net, 0)[5] = -INFINITY;
    expect_status(nerve_net_save(net, p, 0), NERVE_ENUMERIC, "-Inf weight");
    size_t n1;
    uint8_t *now = slurp(p, &n1);
    cr_assert(n0 == n1 && memcmp(good, now, n0) == 0, "the good file changed");
    free(good);
    free(now);
    nerve_net_free(net);
}

/* ---- 3. non-regular inputs are refused without blocking ---------------------------- */

Test(rel, fifo_inputs_refused_without_blocking) {
    cr_assert_eq(mkfifo(tpath("f"), 0600), 0);
    nerve_net *net;
    nerve_data *d, *t;
    expect_status(nerve_net_load(&net, tpath("f")), NERVE_EIO, "model");
    cr_assert(strstr(nerve_last_error(), "not a regular file"), "%s", nerve_last_error());
    expect_status(nerve_data_load_csv(&d, tpath("f"), NULL), NERVE_EIO, "csv");
    cr_assert(strstr(nerve_last_error(), "not a regular file"), "%s", nerve_last_error());
    /* an IDX directory whose member is a FIFO */
    cr_assert_eq(mkdir(tpath("idx"), 0700), 0);
    static const char *const names[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    for (int i = 0; i < 4; i++) {
        char p[200];
        snprintf(p, sizeof p, "idx/%s", names[i]);
        cr_assert_eq(mkfifo(tpath(p), 0600), 0);
    }
    nerve_status st = nerve_data_load_idx_dir(&d, &t, tpath("idx"));
    cr_assert_neq(st, NERVE_OK);
    (void)st;
}

/* ---- 4. outputs vs classes ---------------------------------------------------------- */

Test(rel, more_outputs_than_classes) {
    nerve_net *net = small_net(1); /* 3 outputs */
    const float x[8] = {1, 2, 3, 4, -1, 0, 1, 0};
    const int32_t lab[2] = {0, 1};
    const nerve_dataset d = {.x = x, .labels = lab, .n = 2, .in = 4, .out = 2}; /* 2 classes */
    nerve_eval ev;
    expect_status(nerve_net_evaluate(net, &d, &ev), NERVE_OK, "evaluate");
    cr_assert_eq(ev.n, 2);
    expect_status(nerve_net_train_epoch(net, &d, NULL, &ev), NERVE_OK, "train");
    /* more classes than outputs stays an error */
    const nerve_dataset wide = {.x = x, .labels = lab, .n = 2, .in = 4, .out = 4};
    expect_status(nerve_net_evaluate(net, &wide, &ev), NERVE_EINVAL, "4 classes, 3 outputs");
    nerve_net_free(net);
}

/* ---- 5. sizes on public inputs never overflow ----------------------------------------- */

Test(rel, forward_scratch_sizes_saturate) {
    nerve_net *net = small_net(1);
    /* the scratch is per chunk of at most 1024 rows: any n needs at most
     * what 1024 rows need (this used to divide by zero for SIZE_MAX) */
    const size_t full = nerve_net_forward_scratch_floats(net, 1024);
    cr_assert_leq(nerve_net_forward_scratch_floats(net, SIZE_MAX), full);
    cr_assert_leq(nerve_net_forward_scratch_floats(net, SIZE_MAX - 1), full);
    cr_assert_leq(nerve_net_forward_scratch_floats(net, SIZE_MAX / 2 + 1), full);
    cr_assert_gt(nerve_net_forward_scratch_floats(net, SIZE_MAX), 0);
    const size_t one = nerve_net_forward_scratch_floats(net, 1);
    cr_assert(one > 0 && one <= full);
    cr_assert(nerve_net_forward_scratch_floats(net, 5000) >= one);
    float x[4] = {0}, out[3];
    expect_status(nerve_net_forward_const(net, x, SIZE_MAX, out, NULL), NERVE_EINVAL, "SIZE_MAX");
    expect_status(nerve_net_forward(net, x, SIZE_MAX, out), NERVE_EINVAL, "forward SIZE_MAX");
    nerve_data *d;
    cr_assert_neq(nerve_data_create(&d, SIZE_MAX, 4, 3, 1, "x"), NERVE_OK, "data SIZE_MAX");
    cr_assert_neq(nerve_data_create(&d, (size_t)1 << 40, (size_t)1 << 30, 3, 1, "x"), NERVE_OK,
                  "data n x in overflows");
    nerve_net_free(net);
}

/* 14: a delimiter that is part of a number ('e' would split 1e5). */
Test(rel, csv_delimiter_e_refused) {
    FILE *f = fopen(tpath("e.csv"), "w");
    cr_assert_not_null(f);
    fputs("1e5e1\n2e5e0\n", f);
    fclose(f);
    nerve_data *d;
    for (int i = 0; i < 2; i++) {
        nerve_csv_opts o = {.delimiter = i ? 'E' : 'e'};
        expect_status(nerve_data_load_csv(&d, tpath("e.csv"), &o), NERVE_EINVAL, "delimiter e");
    }
}

/* 14: temporary files of killed saves (a process that no longer exists)
 * are removed by the next save; this process's own and other names stay. */
Test(rel, stale_temp_files_removed) {
    nerve_net *net = small_net(1);
    const char *p = tpath("m.nrv");
    FILE *f = fopen(tpath("m.nrv.2147483646-0.tmp"), "w"); /* above any pid_max */
    cr_assert_not_null(f);
    fputs("stale", f);
    fclose(f);
    char own[64];
    snprintf(own, sizeof own, "m.nrv.%ld-999.tmp", (long)getpid());
    f = fopen(tpath(own), "w");
    fclose(f);
    f = fopen(tpath("m.nrv.keep"), "w");
    fclose(f);
    expect_status(nerve_net_save(net, p, 1), NERVE_OK, "save");
    struct stat sb;
    cr_assert_neq(stat(tpath("m.nrv.2147483646-0.tmp"), &sb), 0, "the stale file is still there");
    cr_assert_eq(stat(tpath(own), &sb), 0, "this process's temporary file was removed");
    cr_assert_eq(stat(tpath("m.nrv.keep"), &sb), 0);
    nerve_net_free(net);
}
