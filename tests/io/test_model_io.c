/* Model files: CRC-32 against zlib, round trips for every activation, loss
 * and optimizer, bit-identical resumed training (at an epoch's end, and from
 * inside an epoch the stop flag cut, under a cosine schedule), the
 * documented byte layout
 * (a file built by hand from docs/model-format.md, checksummed with zlib),
 * truncation at every byte, every single-bit flip, hostile headers and
 * values, and the atomic save's I/O errors. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "crc32.h"
#include "model_format.h"
#include "net_internal.h"
#include "testutil.h"
#include "nerve/net.h"

/* ---- helpers ------------------------------------------------------------ */

static char tmpdir[64];

static void make_tmpdir(void) { cr_assert(test_tmpdir_make(tmpdir, sizeof tmpdir, "model")); }
static void remove_tmpdir(void) { cr_assert(test_tmpdir_remove(tmpdir)); }

TestSuite(model, .init = make_tmpdir, .fini = remove_tmpdir);

static const char *tpath(const char *name) { return test_tmp_path(tmpdir, name); }

static uint8_t *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)len + 1);
    cr_assert_eq(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

static void write_all(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(b, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

/* Number of entries in tmpdir other than . and .. */
static size_t dir_entries(void) {
    DIR *d = opendir(tmpdir);
    cr_assert_not_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void expect_status(nerve_status got, nerve_status want, const char *what) {
    cr_assert_eq(got, want, "%s: status %d (%s), want %d", what, got, nerve_last_error(), want);
}

/* Little-endian stores and the CRC, by zlib (independent of src/core/crc32.c). */
static void st32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t ld32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void st64(uint8_t *p, uint64_t v) {
    st32(p, (uint32_t)v);
    st32(p + 4, (uint32_t)(v >> 32));
}
static void stf(uint8_t *p, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    st32(p, u);
}
static void fix_crc(uint8_t *b, size_t n) { st32(b + n - 4, (uint32_t)crc32(0, b, (uInt)(n - 4))); }

/* Synthetic data: n samples, `in` features, labels or targets. */
typedef struct {
    float *x, *y;
    int32_t *lab;
    size_t n, in, out;
} data;

static data make_data(size_t n, size_t in, size_t out, int cls, uint64_t seed) {
    data d = {malloc(n * in * sizeof(float)),
              cls ? NULL : malloc(n * out * sizeof(float)),
              cls ? malloc(n * sizeof(int32_t)) : NULL,
              n,
              in,
              out};
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n * in; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull; /* Knuth's MMIX LCG */
        d.x[i] = (float)((int)(s >> 40) % 2001 - 1000) / 1000.0f;
    }
    for (size_t i = 0; i < n; i++) {
        if (cls)
            d.lab[i] = (int32_t)((d.x[i * in] > 0) + (d.x[i * in + 1] > 0.5f)) % (int32_t)out;
        else
            for (size_t k = 0; k < out; k++) d.y[i * out + k] = d.x[i * in + k % in] * 0.5f - 0.1f;
    }
    return d;
}

static void free_data(data *d) {
    free(d->x);
    free(d->y);
    free(d->lab);
}

static nerve_dataset view(const data *d) {
    nerve_dataset v = {d->x, d->y, d->lab, d->n, d->in, d->out};
    return v;
}

static void train_epochs(nerve_net *net, const data *d, int epochs) {
    nerve_dataset v = view(d);
    nerve_epoch_opts o = {.batch_size = 7, .shuffle = 1};
    for (int e = 0; e < epochs; e++)
        expect_status(nerve_net_train_epoch(net, &v, &o, NULL), NERVE_OK, "epoch");
}

/* Every saved field of a and b bit-identical (training state if `ts`). */
static void assert_same_net(const nerve_net *a, const nerve_net *b, int ts) {
    cr_assert_eq(a->n_layers, b->n_layers);
    cr_assert_eq(a->loss, b->loss);
    cr_assert_eq(a->seed, b->seed);
    for (size_t i = 0; i <= a->n_layers; i++) cr_assert_eq(a->sizes[i], b->sizes[i]);
    for (size_t l = 0; l < a->n_layers; l++) cr_assert_eq(a->acts[l], b->acts[l]);
    for (size_t l = 0; l < a->n_layers; l++) {
        size_t nw = a->sizes[l + 1] * a->sizes[l], nb = a->sizes[l + 1];
        cr_assert_eq(memcmp(a->params + a->w_off[l], b->params + b->w_off[l], nw * 4), 0, "W%zu",
                     l);
        cr_assert_eq(memcmp(a->params + a->b_off[l], b->params + b->b_off[l], nb * 4), 0, "b%zu",
                     l);
        if (!ts) continue;
        const float *bufs[2][2] = {{a->opt_m, b->opt_m}, {a->opt_v, b->opt_v}};
        for (int k = 0; k < 2; k++) {
            cr_assert_eq(bufs[k][0] == NULL, bufs[k][1] == NULL, "buffer %d presence", k);
            if (!bufs[k][0]) continue;
            cr_assert_eq(memcmp(bufs[k][0] + a->w_off[l], bufs[k][1] + b->w_off[l], nw * 4), 0);
            cr_assert_eq(memcmp(bufs[k][0] + a->b_off[l], bufs[k][1] + b->b_off[l], nb * 4), 0);
        }
    }
    if (!ts) return;
    cr_assert_eq(memcmp(&a->opt, &b->opt, sizeof a->opt), 0, "optimizer settings");
    cr_assert_eq(a->step, b->step);
    cr_assert_eq(a->epoch, b->epoch);
    cr_assert_eq(memcmp(&a->beta1_pow, &b->beta1_pow, 8), 0);
    cr_assert_eq(memcmp(&a->beta2_pow, &b->beta2_pow, 8), 0);
    cr_assert_eq(memcmp(a->rng, b->rng, sizeof a->rng), 0);
    cr_assert_eq(a->sched.kind, b->sched.kind, "schedule");
    cr_assert_eq(a->sched.epochs, b->sched.epochs, "schedule horizon");
    cr_assert_eq(memcmp(&a->cut, &b->cut, sizeof a->cut), 0, "cut epoch");
}

/* ---- CRC-32 --------------------------------------------------------------- */

Test(model, crc32_matches_zlib) {
    cr_assert_eq(crc32_update(0, "123456789", 9), 0xCBF43926u, "the CRC-32 check value");
    cr_assert_eq(crc32_update(0, "", 0), 0u);
    uint8_t buf[1000];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(i * 131 + (i >> 3));
    for (size_t n = 0; n <= sizeof buf; n += 97) {
        uint32_t want = (uint32_t)crc32(0, buf, (uInt)n);
        cr_assert_eq(crc32_update(0, buf, n), want, "n = %zu", n);
        /* in two pieces */
        uint32_t two = crc32_update(crc32_update(0, buf, n / 3), buf + n / 3, n - n / 3);
        cr_assert_eq(two, want, "split n = %zu", n);
    }
}

/* ---- round trips ------------------------------------------------------------ */

/* Trains a net briefly with `opt` and checks save/load with and without
 * training state. */
static void round_trip(size_t L, const size_t *sizes, const nerve_act *acts, nerve_loss loss,
                       nerve_opt opt, uint64_t seed) {
    nerve_net *net, *back;
    expect_status(nerve_net_create(&net, L, sizes, acts, loss, seed), NERVE_OK, "create");
    expect_status(nerve_net_set_optimizer(net, &opt), NERVE_OK, "optimizer");
    data d = make_data(23, sizes[0], sizes[L], loss == NERVE_LOSS_XENT, seed);
    train_epochs(net, &d, 2);
    for (int ts = 0; ts < 2; ts++) {
        const char *p = tpath("rt.nrv");
        expect_status(nerve_net_save(net, p, ts), NERVE_OK, "save");
        expect_status(nerve_net_load(&back, p), NERVE_OK, "load");
        assert_same_net(net, back, ts);
        if (!ts) { /* no training state: the defaults of nerve_net_create */
            nerve_opt def = nerve_opt_default(NERVE_OPT_SGD);
            cr_assert_eq(memcmp(&back->opt, &def, sizeof def), 0);
            cr_assert_eq(back->step, 0);
            cr_assert_eq(back->epoch, 0);
        }
        /* file length as the format says */
        size_t n;
        uint8_t *b = read_all(p, &n);
        size_t P = nerve_net_param_count(net);
        size_t B = ts ? (net->opt_v ? 2 : net->opt_m ? 1 : 0) : 0;
        cr_assert_eq(n, 36 + 8 * L + (ts ? 100 : 0) + 4 * P * (1 + B) + 4, "length %zu", n);
        free(b);
        nerve_net_free(back);
    }
    free_data(&d);
    nerve_net_free(net);
}

Test(model, round_trip_every_activation_loss_optimizer) {
    nerve_opt opts[5] = {nerve_opt_default(NERVE_OPT_SGD), nerve_opt_default(NERVE_OPT_SGD),
                         nerve_opt_default(NERVE_OPT_SGD), nerve_opt_default(NERVE_OPT_ADAM),
                         nerve_opt_default(NERVE_OPT_ADAMW)};
    opts[1].momentum = 0.9f;
    opts[2].momentum = 0.5f;
    opts[2].nesterov = 1;
    opts[2].weight_decay = 1e-3f;
    opts[3].weight_decay = 1e-4f;
    for (int a = 0; a < NERVE_ACT_COUNT; a++)
        for (int loss = 0; loss < NERVE_LOSS_COUNT; loss++) {
            int k = (a + loss) % 5;
            size_t sizes[3] = {4, 5, 3};
            nerve_act acts[2] = {(nerve_act)a, (nerve_act)((a + 3) % NERVE_ACT_COUNT)};
            round_trip(2, sizes, acts, (nerve_loss)loss, opts[k], (uint64_t)(a * 7 + loss));
        }
    /* every optimizer on one shape too, and a 1-layer and a 4-layer net */
    for (int k = 0; k < 5; k++) {
        size_t s1[2] = {3, 2};
        nerve_act a1[1] = {NERVE_ACT_IDENTITY};
        round_trip(1, s1, a1, NERVE_LOSS_MSE, opts[k], 100 + (uint64_t)k);
        size_t s4[5] = {6, 8, 7, 5, 4};
        nerve_act a4[4] = {NERVE_ACT_RELU, NERVE_ACT_TANH, NERVE_ACT_GELU, NERVE_ACT_IDENTITY};
        round_trip(4, s4, a4, NERVE_LOSS_XENT, opts[k], 200 + (uint64_t)k);
    }
}

/* 4 epochs straight == 2 epochs, save with training state, load, 2 more. */
Test(model, resume_is_bit_identical) {
    nerve_opt opts[4] = {nerve_opt_default(NERVE_OPT_ADAM), nerve_opt_default(NERVE_OPT_SGD),
                         nerve_opt_default(NERVE_OPT_ADAMW), nerve_opt_default(NERVE_OPT_SGD)};
    opts[1].momentum = 0.9f;
    opts[1].nesterov = 1;
    opts[0].lr = 0.01f;
    for (int k = 0; k < 4; k++) {
        size_t sizes[4] = {5, 16, 9, 3};
        nerve_act acts[3] = {NERVE_ACT_RELU, NERVE_ACT_TANH, NERVE_ACT_IDENTITY};
        nerve_loss loss = k == 3 ? NERVE_LOSS_MSE : NERVE_LOSS_XENT;
        data d = make_data(61, 5, 3, loss == NERVE_LOSS_XENT, 9);
        nerve_net *a, *b, *c;
        expect_status(nerve_net_create(&a, 3, sizes, acts, loss, 77), NERVE_OK, "create a");
        expect_status(nerve_net_set_optimizer(a, &opts[k]), NERVE_OK, "opt a");
        train_epochs(a, &d, 4);

        expect_status(nerve_net_create(&b, 3, sizes, acts, loss, 77), NERVE_OK, "create b");
        expect_status(nerve_net_set_optimizer(b, &opts[k]), NERVE_OK, "opt b");
        train_epochs(b, &d, 2);
        expect_status(nerve_net_save(b, tpath("half.nrv"), 1), NERVE_OK, "save");
        nerve_net_free(b);
        expect_status(nerve_net_load(&c, tpath("half.nrv")), NERVE_OK, "load");
        cr_assert_eq(nerve_net_epoch_count(c), 2);
        train_epochs(c, &d, 2);
        cr_assert_eq(nerve_net_epoch_count(c), 4);
        assert_same_net(a, c, 1);

        /* without the training state the continuation differs: the test can fail */
        expect_status(nerve_net_create(&b, 3, sizes, acts, loss, 77), NERVE_OK, "create b");
        expect_status(nerve_net_set_optimizer(b, &opts[k]), NERVE_OK, "opt b");
        train_epochs(b, &d, 2);
        expect_status(nerve_net_save(b, tpath("half.nrv"), 0), NERVE_OK, "save");
        nerve_net_free(b);
        expect_status(nerve_net_load(&b, tpath("half.nrv")), NERVE_OK, "load");
        expect_status(nerve_net_set_optimizer(b, &opts[k]), NERVE_OK, "opt again");
        train_epochs(b, &d, 2);
        size_t P = a->sizes[1] * a->sizes[0];
        cr_assert_neq(memcmp(a->params + a->w_off[0], b->params + b->w_off[0], P * 4), 0,
                      "optimizer %d: a fresh optimizer state gave the same weights", k);
        nerve_net_free(a);
        nerve_net_free(b);
        nerve_net_free(c);
        free_data(&d);
    }
}

/* ---- the documented layout ----------------------------------------------------- */

/* The 60-byte example of docs/model-format.md, built by hand. */
static size_t doc_example(uint8_t *b) {
    memcpy(b, "\x89NRV\r\n\x1a\n", 8);
    st32(b + 8, 1);
    st32(b + 12, 0);
    st32(b + 16, 1);
    st32(b + 20, 0);
    st64(b + 24, 0);
    st32(b + 32, 2);
    st32(b + 36, 1);
    st32(b + 40, 0);
    stf(b + 44, 1.0f);
    stf(b + 48, -2.0f);
    stf(b + 52, 0.5f);
    fix_crc(b, 60);
    return 60;
}

Test(model, documented_example_loads) {
    uint8_t b[60];
    doc_example(b);
    cr_assert_eq(b[44 + 3], 0x3F, "1.0f little-endian ends in 3F");
    write_all(tpath("doc.nrv"), b, sizeof b);
    nerve_net *net;
    expect_status(nerve_net_load(&net, tpath("doc.nrv")), NERVE_OK, "load");
    cr_assert_eq(nerve_net_layers(net), 1);
    cr_assert_eq(nerve_net_width(net, 0), 2);
    cr_assert_eq(nerve_net_width(net, 1), 1);
    cr_assert_eq(nerve_net_weights(net, 0)[0], 1.0f);
    cr_assert_eq(nerve_net_weights(net, 0)[1], -2.0f);
    cr_assert_eq(nerve_net_bias(net, 0)[0], 0.5f);
    float x[2] = {3.0f, 0.25f}, y;
    expect_status(nerve_net_forward(net, x, 1, &y), NERVE_OK, "forward");
    cr_assert_eq(y, 3.0f - 0.5f + 0.5f);
    /* and the writer produces exactly these bytes */
    expect_status(nerve_net_save(net, tpath("again.nrv"), 0), NERVE_OK, "save");
    size_t n;
    uint8_t *w = read_all(tpath("again.nrv"), &n);
    cr_assert_eq(n, 60);
    cr_assert_eq(memcmp(w, b, 60), 0, "writer differs from the documented bytes");
    free(w);
    nerve_net_free(net);
}

Test(model, training_section_layout) {
    size_t sizes[2] = {2, 3};
    nerve_act acts[1] = {NERVE_ACT_SIGMOID};
    nerve_net *net;
    expect_status(nerve_net_create(&net, 1, sizes, acts, NERVE_LOSS_XENT, 0x1122334455667788ull),
                  NERVE_OK, "c");
    nerve_opt o = nerve_opt_default(NERVE_OPT_ADAMW);
    o.lr = 0.125f;
    expect_status(nerve_net_set_optimizer(net, &o), NERVE_OK, "opt");
    data d = make_data(10, 2, 3, 1, 3);
    train_epochs(net, &d, 1);
    expect_status(nerve_net_save(net, tpath("t.nrv"), 1), NERVE_OK, "save");
    size_t n;
    uint8_t *b = read_all(tpath("t.nrv"), &n);
    cr_assert_eq(ld32(b + 12), 1u, "training flag");
    cr_assert_eq(ld32(b + 20), 1u, "xent");
    cr_assert_eq(ld32(b + 24), 0x55667788u);
    cr_assert_eq(ld32(b + 28), 0x11223344u);
    cr_assert_eq(ld32(b + 40), (uint32_t)NERVE_ACT_SIGMOID);
    const uint8_t *t = b + 44; /* H0 = 36 + 8L */
    cr_assert_eq(ld32(t), 2u, "adamw");
    uint32_t lr;
    float half = 0.125f;
    memcpy(&lr, &half, 4);
    cr_assert_eq(ld32(t + 8), lr);
    cr_assert_eq(ld32(t + 32), 2u, "steps: 10 samples in batches of 7");
    cr_assert_eq(ld32(t + 40), 1u, "epochs");
    cr_assert_eq(ld32(t + 64), (uint32_t)net->rng[0]);
    cr_assert_eq(ld32(t + 96), 2u, "m and v");
    /* the first weight right after the section, the first m after the parameters */
    float w0;
    uint32_t u = ld32(t + 100);
    memcpy(&w0, &u, 4);
    cr_assert_eq(w0, nerve_net_weights(net, 0)[0]);
    u = ld32(t + 100 + 4 * 9);
    memcpy(&w0, &u, 4);
    cr_assert_eq(w0, net->opt_m[0]);
    cr_assert_eq(ld32(b + n - 4), (uint32_t)crc32(0, b, (uInt)(n - 4)));
    free(b);
    free_data(&d);
    nerve_net_free(net);
}

/* ---- damaged files -------------------------------------------------------------- */

/* A small file with training state (Adam: m and v). */
static uint8_t *small_file(size_t *n) {
    size_t sizes[3] = {3, 2, 2};
    nerve_act acts[2] = {NERVE_ACT_ELU, NERVE_ACT_IDENTITY};
    nerve_net *net;
    expect_status(nerve_net_create(&net, 2, sizes, acts, NERVE_LOSS_XENT, 5), NERVE_OK, "create");
    nerve_opt o = nerve_opt_default(NERVE_OPT_ADAM);
    expect_status(nerve_net_set_optimizer(net, &o), NERVE_OK, "opt");
    data d = make_data(9, 3, 2, 1, 4);
    train_epochs(net, &d, 1);
    free_data(&d);
    expect_status(nerve_net_save(net, tpath("small.nrv"), 1), NERVE_OK, "save");
    nerve_net_free(net);
    return read_all(tpath("small.nrv"), n);
}

Test(model, truncated_at_every_byte) {
    size_t n;
    uint8_t *b = small_file(&n);
    for (size_t cut = 0; cut < n; cut++) {
        /* through memory (exact-size copy: ASan catches any over-read) */
        uint8_t *c = malloc(cut ? cut : 1);
        memcpy(c, b, cut);
        nerve_net *net = (nerve_net *)1;
        expect_status(model_read_mem(c, cut, "cut", &net), NERVE_EFORMAT, "truncated");
        cr_assert_null(net);
        const char *m = nerve_last_error();
        cr_assert(strstr(m, "truncated"), "cut %zu: %s", cut, m);
        if (cut >= 52 + 100) { /* past the header (H = 152) the message has both lengths */
            char want[96];
            snprintf(want, sizeof want, "file truncated at byte %zu (expected %zu)", cut, n);
            cr_assert(strstr(m, want), "cut %zu: '%s' lacks '%s'", cut, m, want);
        }
        free(c);
    }
    /* and through a file, for a few cuts */
    for (size_t cut = 0; cut < n; cut += 37) {
        write_all(tpath("cut.nrv"), b, cut);
        nerve_net *net;
        expect_status(nerve_net_load(&net, tpath("cut.nrv")), NERVE_EFORMAT, "file cut");
    }
    /* one byte too many */
    uint8_t *big = malloc(n + 1);
    memcpy(big, b, n);
    big[n] = 0;
    nerve_net *net;
    expect_status(model_read_mem(big, n + 1, "long", &net), NERVE_EFORMAT, "trailing");
    cr_assert(strstr(nerve_last_error(), "trailing"), "%s", nerve_last_error());
    free(big);
    free(b);
}

Test(model, every_single_bit_flip_rejected) {
    size_t n;
    uint8_t *b = small_file(&n);
    for (size_t i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit++) {
            b[i] ^= (uint8_t)(1u << bit);
            nerve_net *net = (nerve_net *)1;
            nerve_status st = model_read_mem(b, n, "flip", &net);
            cr_assert_eq(st, NERVE_EFORMAT, "byte %zu bit %d: status %d (%s)", i, bit, st,
                         nerve_last_error());
            cr_assert_null(net);
            b[i] ^= (uint8_t)(1u << bit);
        }
    /* a flip in the parameters is caught by the checksum */
    b[n - 20] ^= 1;
    nerve_net *net;
    expect_status(model_read_mem(b, n, "flip", &net), NERVE_EFORMAT, "param flip");
    cr_assert(strstr(nerve_last_error(), "checksum mismatch"), "%s", nerve_last_error());
    free(b);
}

/* Patches one field of a valid file, fixes the CRC, expects EFORMAT + message. */
static void hostile(const uint8_t *good, size_t n, size_t at, uint32_t v, size_t width,
                    const char *want) {
    uint8_t *b = malloc(n);
    memcpy(b, good, n);
    if (width == 4)
        st32(b + at, v);
    else
        b[at] = (uint8_t)v;
    fix_crc(b, n);
    nerve_net *net = (nerve_net *)1;
    nerve_status st = model_read_mem(b, n, "hostile", &net);
    cr_assert_eq(st, NERVE_EFORMAT, "offset %zu = %u: status %d (%s)", at, v, st,
                 nerve_last_error());
    cr_assert_null(net);
    cr_assert(strstr(nerve_last_error(), want), "offset %zu = %u: '%s' lacks '%s'", at, v,
              nerve_last_error(), want);
    free(b);
}

Test(model, hostile_headers) {
    size_t n;
    uint8_t *b = small_file(&n); /* L = 2: widths at 32, 36, 40; acts at 44, 48; H0 = 52 */
    hostile(b, n, 0, 'X', 1, "bad signature");
    hostile(b, n, 8, 3, 4, "unsupported format version 3 (this library reads 1 to 2)");
    hostile(b, n, 8, 0, 4, "unsupported format version 0");
    hostile(b, n, 12, 3, 4, "unknown flags");
    hostile(b, n, 16, 0, 4, "layer count 0");
    hostile(b, n, 16, 0xFFFFFFFFu, 4, "layer count 4294967295");
    hostile(b, n, 20, 2, 4, "loss 2");
    hostile(b, n, 36, 0xFFFFFFFFu, 4, "width 4294967295");
    hostile(b, n, 36, 0, 4, "width 0");
    hostile(b, n, 36, 1u << 24, 4, "truncated"); /* a valid width, but the file is short */
    hostile(b, n, 40, 1, 4, "needs >= 2 classes");
    hostile(b, n, 48, NERVE_ACT_COUNT, 4, "activation 9");
    hostile(b, n, 52, NERVE_OPT_COUNT, 4, "optimizer kind 3");
    hostile(b, n, 56, 2, 4, "Nesterov");
    hostile(b, n, 52 + 96, 1, 4, "moment buffers");
    hostile(b, n, 52 + 96, 0xFFFFFFFFu, 4, "moment buffers");

    /* the parameter limit: widths 2^24 x 2^24 x ... in a tiny file */
    uint8_t h[64];
    doc_example(h);
    st32(h + 16, 3);
    uint8_t big[80] = {0};
    memcpy(big, h, 32);
    for (int i = 0; i < 4; i++) st32(big + 32 + 4 * i, 1u << 24);
    fix_crc(big, sizeof big);
    nerve_net *net;
    expect_status(model_read_mem(big, sizeof big, "big", &net), NERVE_EFORMAT, "param limit");
    cr_assert(strstr(nerve_last_error(), "parameters"), "%s", nerve_last_error());
    free(b);
}

/* A float field of the training section or the parameters, set to v. */
static void hostile_float(const uint8_t *good, size_t n, size_t at, float v, const char *want) {
    uint32_t u;
    memcpy(&u, &v, 4);
    hostile(good, n, at, u, 4, want);
}

Test(model, hostile_values) {
    size_t n;
    uint8_t *b = small_file(&n);
    const size_t t = 52, params = t + 100, P = 3 * 2 + 2 + 2 * 2 + 2;
    hostile_float(b, n, t + 8, -1.0f, "learning rate");
    hostile_float(b, n, t + 8, NAN, "learning rate");
    hostile_float(b, n, t + 20, 1.0f, "beta1");
    hostile_float(b, n, t + 24, -0.5f, "beta2");
    hostile_float(b, n, t + 28, INFINITY, "eps");
    hostile_float(b, n, params, NAN, "parameter weight value 0");
    hostile_float(b, n, params + 4 * 7, INFINITY, "layer 0 parameter bias value 1");
    hostile_float(b, n, params + 4 * P, -INFINITY, "first moment");
    hostile_float(b, n, params + 8 * P + 4, -1.0f, "second moment");
    /* counters: beta^t must be 1 before the first step and < 1 after */
    uint8_t *c = malloc(n);
    memcpy(c, b, n);
    st64(c + t + 32, 0); /* step 0, but beta^t < 1 */
    fix_crc(c, n);
    nerve_net *net;
    expect_status(model_read_mem(c, n, "c", &net), NERVE_EFORMAT, "step/beta mismatch");
    cr_assert(strstr(nerve_last_error(), "does not fit step count"), "%s", nerve_last_error());
    memcpy(c, b, n);
    double two = 2.0;
    uint64_t u;
    memcpy(&u, &two, 8);
    st64(c + t + 56, u);
    fix_crc(c, n);
    expect_status(model_read_mem(c, n, "c", &net), NERVE_EFORMAT, "beta2^t = 2");
    memcpy(c, b, n);
    memset(c + t + 64, 0, 32);
    fix_crc(c, n);
    expect_status(model_read_mem(c, n, "c", &net), NERVE_EFORMAT, "rng zero");
    cr_assert(strstr(nerve_last_error(), "generator"), "%s", nerve_last_error());
    /* the unchanged file still loads (the helpers above changed only copies) */
    expect_status(model_read_mem(b, n, "good", &net), NERVE_OK, "good");
    nerve_net_free(net);
    free(c);
    free(b);
}

Test(model, not_a_model_file) {
    nerve_net *net;
    write_all(tpath("text.nrv"), "hello, world\n", 13);
    expect_status(nerve_net_load(&net, tpath("text.nrv")), NERVE_EFORMAT, "text");
    cr_assert(strstr(nerve_last_error(), "bad signature"), "%s", nerve_last_error());
    write_all(tpath("empty.nrv"), "", 0);
    expect_status(nerve_net_load(&net, tpath("empty.nrv")), NERVE_EFORMAT, "empty");
    cr_assert(strstr(nerve_last_error(), "truncated at byte 0"), "%s", nerve_last_error());
}

/* ---- I/O errors and atomicity ------------------------------------------------------ */

Test(model, eio_for_unwritable_paths) {
    size_t sizes[2] = {2, 2};
    nerve_act acts[1] = {NERVE_ACT_RELU};
    nerve_net *net, *back;
    expect_status(nerve_net_create(&net, 1, sizes, acts, NERVE_LOSS_MSE, 1), NERVE_OK, "create");
    /* a directory that does not exist */
    expect_status(nerve_net_save(net, tpath("no/such/dir/m.nrv"), 0), NERVE_EIO, "missing dir");
    const char *m = nerve_last_error();
    cr_assert(strstr(m, "No such file or directory") && strstr(m, "no/such/dir/m.nrv"), "%s", m);
    /* a directory as the target: rename fails, the temporary file is removed */
    cr_assert_eq(mkdir(tpath("adir"), 0700), 0);
    expect_status(nerve_net_save(net, tpath("adir"), 0), NERVE_EIO, "directory target");
    cr_assert(strstr(nerve_last_error(), "adir"), "%s", nerve_last_error());
    cr_assert_eq(dir_entries(), 1, "a temporary file was left behind");
    /* loading: missing file, a directory */
    expect_status(nerve_net_load(&back, tpath("missing.nrv")), NERVE_EIO, "missing");
    cr_assert(strstr(nerve_last_error(), "No such file"), "%s", nerve_last_error());
    expect_status(nerve_net_load(&back, tpath("adir")), NERVE_EIO, "load dir");
    expect_status(nerve_net_save(NULL, tpath("x"), 0), NERVE_EINVAL, "null net");
    expect_status(nerve_net_load(NULL, tpath("x")), NERVE_EINVAL, "null out");
    nerve_net_free(net);
}

/* A "full disk" via RLIMIT_FSIZE (writes past the limit fail with EFBIG;
 * Criterion runs each test in its own process): the old file survives
 * intact and no temporary file is left. */
Test(model, full_disk_keeps_old_file) {
    size_t sizes[3] = {20, 30, 4};
    nerve_act acts[2] = {NERVE_ACT_TANH, NERVE_ACT_IDENTITY};
    nerve_net *small, *large, *back;
    expect_status(nerve_net_create(&small, 1, sizes + 1, acts, NERVE_LOSS_MSE, 1), NERVE_OK,
                  "small");
    expect_status(nerve_net_create(&large, 2, sizes, acts, NERVE_LOSS_MSE, 2), NERVE_OK, "large");
    const char *p = tpath("m.nrv");
    expect_status(nerve_net_save(small, p, 1), NERVE_OK, "first save");
    size_t n0;
    uint8_t *before = read_all(p, &n0);

    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 1000; /* the large model is ~3 KB */
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    nerve_status st = nerve_net_save(large, p, 1);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", nerve_last_error());
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    cr_assert_eq(st, NERVE_EIO, "status %d (%s)", st, msg);
    cr_assert(strstr(msg, "File too large") && strstr(msg, "m.nrv"), "%s", msg);

    size_t n1;
    uint8_t *after = read_all(p, &n1);
    cr_assert_eq(n1, n0);
    cr_assert_eq(memcmp(before, after, n0), 0, "the old file changed");
    cr_assert_eq(dir_entries(), 1, "a temporary file was left behind");
    expect_status(nerve_net_load(&back, p), NERVE_OK, "old file loads");
    assert_same_net(small, back, 1);
    /* and with room again the new model replaces it */
    expect_status(nerve_net_save(large, p, 1), NERVE_OK, "second save");
    nerve_net_free(back);
    expect_status(nerve_net_load(&back, p), NERVE_OK, "new file loads");
    assert_same_net(large, back, 1);
    free(before);
    free(after);
    nerve_net_free(small);
    nerve_net_free(large);
    nerve_net_free(back);
}

Test(model, save_relative_path) {
    size_t sizes[2] = {2, 3};
    nerve_act acts[1] = {NERVE_ACT_SILU};
    nerve_net *net, *back;
    expect_status(nerve_net_create(&net, 1, sizes, acts, NERVE_LOSS_XENT, 3), NERVE_OK, "create");
    cr_assert_eq(chdir(tmpdir), 0);
    expect_status(nerve_net_save(net, "rel.nrv", 1), NERVE_OK, "relative save");
    expect_status(nerve_net_load(&back, "rel.nrv"), NERVE_OK, "relative load");
    assert_same_net(net, back, 1);
    nerve_net_free(net);
    nerve_net_free(back);
}

/* ---- format 2: sections (input/output transforms, class names) ------------ */

/* A 3-4-2 network with every section: an mse model with both transforms
 * (reg) or an xent model with an input transform and class names. */
static nerve_net *v2_net(int reg, int ts) {
    size_t sizes[3] = {3, 4, 2};
    nerve_act acts[2] = {NERVE_ACT_TANH, NERVE_ACT_IDENTITY};
    nerve_net *net;
    expect_status(nerve_net_create(&net, 2, sizes, acts, reg ? NERVE_LOSS_MSE : NERVE_LOSS_XENT, 3),
                  NERVE_OK, "create");
    if (ts) {
        nerve_opt o = nerve_opt_default(NERVE_OPT_ADAM);
        expect_status(nerve_net_set_optimizer(net, &o), NERVE_OK, "opt");
        data d = make_data(9, 3, 2, !reg, 4);
        train_epochs(net, &d, 1);
        free_data(&d);
    }
    const float sh[3] = {100.0f, -0.5f, 0.0f}, sc[3] = {250.0f, 0.125f, 1.0f};
    expect_status(nerve_net_set_input_transform(net, sh, sc), NERVE_OK, "input transform");
    if (reg) {
        const float osh[2] = {10000.0f, -3.0f}, osc[2] = {42.5f, 0.01f};
        expect_status(nerve_net_set_output_transform(net, osh, osc), NERVE_OK, "output");
    } else {
        const char *names[2] = {"setosa", "Iris virginica"};
        expect_status(nerve_net_set_class_names(net, names), NERVE_OK, "names");
    }
    return net;
}

static uint8_t *v2_file(int reg, int ts, size_t *n) {
    nerve_net *net = v2_net(reg, ts);
    expect_status(nerve_net_save(net, tpath("v2.nrv"), ts), NERVE_OK, "save");
    nerve_net_free(net);
    return read_all(tpath("v2.nrv"), n);
}

Test(model, v2_round_trip_predicts_identically) {
    for (int reg = 0; reg < 2; reg++)
        for (int ts = 0; ts < 2; ts++) {
            nerve_net *net = v2_net(reg, ts), *back;
            expect_status(nerve_net_save(net, tpath("v2.nrv"), ts), NERVE_OK, "save");
            size_t n;
            uint8_t *b = read_all(tpath("v2.nrv"), &n);
            cr_assert_eq(ld32(b + 8), 2u, "a model with sections is a format 2 file");
            free(b);
            expect_status(nerve_net_load(&back, tpath("v2.nrv")), NERVE_OK, "load");
            assert_same_net(net, back, ts);
            cr_assert_eq(memcmp(back->in_shift, net->in_shift, 6 * sizeof(float)), 0);
            if (reg) {
                cr_assert_eq(memcmp(back->out_shift, net->out_shift, 4 * sizeof(float)), 0);
                cr_assert_null(nerve_net_class_name(back, 0));
            } else {
                cr_assert_str_eq(nerve_net_class_name(back, 0), "setosa");
                cr_assert_str_eq(nerve_net_class_name(back, 1), "Iris virginica");
                cr_assert_null(nerve_net_class_name(back, 2));
                cr_assert_eq(nerve_net_has_output_transform(back), 0);
            }
            float x[5 * 3], a[5 * 2], c[5 * 2];
            for (int i = 0; i < 15; i++) x[i] = 100.0f + 37.0f * (float)(i % 7) - (float)i;
            expect_status(nerve_net_predict(net, x, 5, a), NERVE_OK, "predict");
            expect_status(nerve_net_predict(back, x, 5, c), NERVE_OK, "predict back");
            cr_assert_eq(memcmp(a, c, sizeof a), 0, "reloaded predictions differ");
            /* predict = transform, forward, inverse output transform */
            float xn[15], f[10];
            expect_status(nerve_net_transform_inputs(net, x, 5, xn), NERVE_OK, "transform");
            for (int i = 0; i < 15; i++) {
                float d = x[i] - net->in_shift[i % 3];
                float want = d / net->in_scale[i % 3];
                cr_assert_eq(memcmp(&xn[i], &want, 4), 0, "input transform of %d", i);
            }
            expect_status(nerve_net_forward(net, xn, 5, f), NERVE_OK, "forward");
            for (int i = 0; i < 10 && reg; i++) {
                float p = f[i] * net->out_scale[i % 2];
                p = p + net->out_shift[i % 2];
                cr_assert_eq(memcmp(&a[i], &p, 4), 0, "output transform of %d", i);
            }
            if (!reg) cr_assert_eq(memcmp(a, f, sizeof a), 0);
            nerve_net_free(back);
            nerve_net_free(net);
        }
}

/* The file with one more section of `len` payload bytes inserted first in
 * the table (count at offset at), CRC fixed. */
static uint8_t *with_section(const uint8_t *b, size_t n, size_t at, uint32_t id, uint32_t flags,
                             const void *payload, uint32_t len, size_t *out_n) {
    size_t m = n + 16 + len;
    uint8_t *c = malloc(m);
    memcpy(c, b, at + 4);
    st32(c + at, ld32(b + at) + 1);
    st32(c + at + 4, id);
    st32(c + at + 8, flags);
    st64(c + at + 12, len);
    if (len) memcpy(c + at + 20, payload, len);
    memcpy(c + at + 20 + len, b + at + 4, n - at - 4);
    fix_crc(c, m);
    *out_n = m;
    return c;
}

Test(model, v2_unknown_sections_optional_skipped_required_refused) {
    size_t n, m;
    uint8_t *b = v2_file(0, 1, &n);
    const size_t count_at = 36 + 8 * 2 + 100; /* after the training state */
    cr_assert_eq(ld32(b + count_at), 2u, "input transform + class names");
    const char junk[7] = "future";
    nerve_net *net;
    /* an optional section from the future: skipped, the model loads and predicts */
    uint8_t *c = with_section(b, n, count_at, 999, 0x6, junk, sizeof junk, &m);
    expect_status(model_read_mem(c, m, "optional", &net), NERVE_OK, "unknown optional section");
    cr_assert_str_eq(nerve_net_class_name(net, 1), "Iris virginica");
    cr_assert(nerve_net_has_input_transform(net));
    nerve_net_free(net);
    free(c);
    /* an empty optional one, too */
    c = with_section(b, n, count_at, 1000, 0, NULL, 0, &m);
    expect_status(model_read_mem(c, m, "empty", &net), NERVE_OK, "empty optional section");
    nerve_net_free(net);
    free(c);
    /* a required one: refused, naming the section and the version this reader knows */
    c = with_section(b, n, count_at, 1000, 1, junk, sizeof junk, &m);
    net = (nerve_net *)1;
    expect_status(model_read_mem(c, m, "required", &net), NERVE_EFORMAT, "unknown required");
    cr_assert_null(net);
    cr_assert(strstr(nerve_last_error(), "needs section id 1000") &&
                  strstr(nerve_last_error(), "model format version 2"),
              "%s", nerve_last_error());
    free(c);
    /* a known one twice */
    const uint8_t *names = b + count_at + 4 + 16 + 24 + 16; /* after the input transform */
    uint32_t nlen = (uint32_t)(4 + 4 + 6 + 4 + 14);
    c = with_section(b, n, count_at, 3, 0, names, nlen, &m);
    expect_status(model_read_mem(c, m, "twice", &net), NERVE_EFORMAT, "duplicate");
    cr_assert(strstr(nerve_last_error(), "appears twice"), "%s", nerve_last_error());
    free(c);
    /* a section longer than the file */
    c = malloc(n);
    memcpy(c, b, n);
    st64(c + count_at + 12, 1u << 30);
    fix_crc(c, n);
    expect_status(model_read_mem(c, n, "long", &net), NERVE_EFORMAT, "long section");
    cr_assert(strstr(nerve_last_error(), "truncated"), "%s", nerve_last_error());
    free(c);
    free(b);
}

Test(model, v2_truncated_and_flipped_everywhere) {
    for (int reg = 0; reg < 2; reg++) {
        size_t n;
        uint8_t *b = v2_file(reg, reg, &n);
        for (size_t cut = 0; cut < n; cut++) {
            uint8_t *c = malloc(cut ? cut : 1);
            memcpy(c, b, cut);
            nerve_net *net = (nerve_net *)1;
            expect_status(model_read_mem(c, cut, "cut", &net), NERVE_EFORMAT, "truncated");
            cr_assert_null(net);
            cr_assert(strstr(nerve_last_error(), "truncated"), "cut %zu: %s", cut,
                      nerve_last_error());
            free(c);
        }
        for (size_t i = 0; i < n; i++)
            for (int bit = 0; bit < 8; bit++) {
                b[i] ^= (uint8_t)(1u << bit);
                nerve_net *net = (nerve_net *)1;
                nerve_status st = model_read_mem(b, n, "flip", &net);
                cr_assert_eq(st, NERVE_EFORMAT, "byte %zu bit %d: %d (%s)", i, bit, st,
                             nerve_last_error());
                cr_assert_null(net);
                b[i] ^= (uint8_t)(1u << bit);
            }
        free(b);
    }
}

Test(model, v2_hostile_section_values) {
    size_t n;
    uint8_t *b = v2_file(0, 0, &n);
    const size_t sec = 36 + 16 + 4; /* first section header (input transform) */
    const size_t pay = sec + 16;    /* its payload: 3 shifts, 3 scales */
    hostile_float(b, n, pay + 12, 0.0f, "scale 0 is 0");
    hostile_float(b, n, pay + 16, -1.0f, "scale 1 is -1");
    hostile_float(b, n, pay + 4, INFINITY, "shift 1 is not finite");
    hostile(b, n, sec + 8, 20, 4, "input transform of 20 bytes"); /* length field low word */
    const size_t names = pay + 24;                                /* class names header */
    hostile(b, n, names + 16, 3, 4, "3 class names for 2 outputs");
    hostile(b, n, names + 20, 7, 4, "class name 0"); /* a length past the name */
    hostile(b, n, names + 24, 1, 1, "control character");
    /* the same name twice: "setosa" -> "Iris v" ... keep the lengths, copy bytes */
    uint8_t *c = malloc(n);
    memcpy(c, b, n);
    memcpy(c + names + 24 + 6 + 4, "setosa", 6);
    memcpy(c + names + 24 + 6 + 4 + 6, "\0", 0);
    fix_crc(c, n);
    nerve_net *net;
    /* "setosa" then "setosaginica": distinct, loads */
    expect_status(model_read_mem(c, n, "names", &net), NERVE_OK, "distinct names");
    nerve_net_free(net);
    st32(c + names + 24 + 6, 6); /* second name 6 bytes, 8 left over: rejected */
    fix_crc(c, n);
    expect_status(model_read_mem(c, n, "names", &net), NERVE_EFORMAT, "left-over bytes");
    free(c);
    /* an output transform in an xent model */
    size_t m;
    const float ot[4] = {0, 0, 1, 1};
    c = with_section(b, n, 36 + 16, 2, 1, ot, sizeof ot, &m);
    expect_status(model_read_mem(c, m, "xent out", &net), NERVE_EFORMAT, "output transform xent");
    cr_assert(strstr(nerve_last_error(), "only for target values"), "%s", nerve_last_error());
    free(c);
    free(b);
}

Test(model, preprocessing_api_checks) {
    nerve_net *net = v2_net(0, 0);
    const float sh[3] = {0, 0, 0}, bad[3] = {1, 0, 1};
    expect_status(nerve_net_set_input_transform(net, sh, bad), NERVE_EINVAL, "scale 0");
    expect_status(nerve_net_set_input_transform(net, sh, NULL), NERVE_EINVAL, "half");
    expect_status(nerve_net_set_output_transform(net, sh, sh), NERVE_EINVAL, "xent output");
    const char *dup[2] = {"a", "a"}, *ctl[2] = {"a", "b\n"}, *empty[2] = {"", "b"};
    expect_status(nerve_net_set_class_names(net, dup), NERVE_EINVAL, "duplicate");
    expect_status(nerve_net_set_class_names(net, ctl), NERVE_EINVAL, "control");
    expect_status(nerve_net_set_class_names(net, empty), NERVE_EINVAL, "empty");
    cr_assert_str_eq(nerve_net_class_name(net, 0), "setosa", "failed calls change nothing");
    float x[3] = {3e38f, 0, 0}, out[2];
    const float neg[3] = {-3e38f, 0, 0}, one[3] = {1, 1, 1};
    expect_status(nerve_net_set_input_transform(net, neg, one), NERVE_OK, "huge shift");
    expect_status(nerve_net_predict(net, x, 1, out), NERVE_EINVAL, "overflowing input");
    cr_assert(strstr(nerve_last_error(), "row 0 feature 0"), "%s", nerve_last_error());
    expect_status(nerve_net_set_input_transform(net, NULL, NULL), NERVE_OK, "clear");
    expect_status(nerve_net_set_class_names(net, NULL), NERVE_OK, "clear names");
    expect_status(nerve_net_save(net, tpath("plain.nrv"), 0), NERVE_OK, "save");
    size_t n;
    uint8_t *b = read_all(tpath("plain.nrv"), &n);
    cr_assert_eq(ld32(b + 8), 1u, "nothing new: still a format 1 file");
    free(b);
    nerve_net_free(net);
}

/* The version 2 example of docs/model-format.md, byte by byte: the
 * documented 60-byte file plus a one-section table before W. */
Test(model, documented_v2_example_loads) {
    uint8_t v1[60], b[96];
    doc_example(v1);
    memcpy(b, v1, 44); /* up to and including the activation */
    st32(b + 8, 2);
    static const uint8_t table[36] = {1,  0, 0, 0, 1, 0, 0,    0,    1, 0, 0,    0,
                                      16, 0, 0, 0, 0, 0, 0,    0,    0, 0, 0xC8, 0x42,
                                      0,  0, 0, 0, 0, 0, 0x48, 0x42, 0, 0, 0x80, 0x3F};
    memcpy(b + 44, table, sizeof table);
    memcpy(b + 80, v1 + 44, 16); /* W, b and the old CRC, fixed below */
    fix_crc(b, sizeof b);
    write_all(tpath("doc2.nrv"), b, sizeof b);
    nerve_net *net;
    expect_status(nerve_net_load(&net, tpath("doc2.nrv")), NERVE_OK, "load");
    cr_assert_eq(nerve_net_input_shift(net)[0], 100.0f);
    cr_assert_eq(nerve_net_input_scale(net)[0], 50.0f);
    float x[2] = {250.0f, 0.25f}, y;
    expect_status(nerve_net_predict(net, x, 1, &y), NERVE_OK, "predict");
    cr_assert_eq(y, 3.0f - 0.5f + 0.5f, "(250 - 100) / 50 = 3: y = 3 - 2 * 0.25 + 0.5");
    expect_status(nerve_net_save(net, tpath("again2.nrv"), 0), NERVE_OK, "save");
    size_t n;
    uint8_t *w = read_all(tpath("again2.nrv"), &n);
    cr_assert_eq(n, 96);
    cr_assert_eq(memcmp(w, b, 96), 0, "writer differs from the documented bytes");
    free(w);
    nerve_net_free(net);
}

/* ---- an epoch cut short, the schedule, the progress section ---------------- */

/* A progress callback that sets the stop flag once `after` rows of the epoch
 * are done, as Ctrl-C between two minibatches does in the tool. */
typedef struct stop_at {
    nerve_stop_flag flag;
    size_t after;
} stop_at;

static void stop_when(void *user, size_t done, size_t total, float loss) {
    (void)total, (void)loss;
    stop_at *s = user;
    if (done >= s->after) s->flag = 1;
}

/* The recipe of the cut tests: 61 rows in batches of 7 (the last one 5). */
static nerve_net *cut_net(nerve_opt opt, nerve_loss loss) {
    size_t sizes[4] = {5, 16, 9, 3};
    nerve_act acts[3] = {NERVE_ACT_RELU, NERVE_ACT_TANH, NERVE_ACT_IDENTITY};
    nerve_net *net;
    expect_status(nerve_net_create(&net, 3, sizes, acts, loss, 77), NERVE_OK, "create");
    expect_status(nerve_net_set_optimizer(net, &opt), NERVE_OK, "optimizer");
    const nerve_schedule cos4 = {NERVE_SCHEDULE_COSINE, 4};
    expect_status(nerve_net_set_schedule(net, &cos4), NERVE_OK, "schedule");
    return net;
}

/* Trains epoch 1 whole and epoch 2 up to a stop after `rows` rows. */
static void train_then_cut(nerve_net *net, const data *d, int shuffle, size_t rows) {
    nerve_dataset v = view(d);
    nerve_epoch_opts o = {.batch_size = 7, .shuffle = shuffle};
    expect_status(nerve_net_train_epoch(net, &v, &o, NULL), NERVE_OK, "epoch 1");
    stop_at s = {0, rows};
    o.progress = stop_when;
    o.progress_user = &s;
    o.stop = &s.flag;
    nerve_eval r;
    expect_status(nerve_net_train_epoch(net, &v, &o, &r), NERVE_OK, "cut epoch 2");
    cr_assert_eq(r.n, rows, "the stop came after %zu rows", r.n);
    cr_assert_eq(nerve_net_epoch_count(net), 1, "a cut epoch is not counted");
}

/* 4 epochs straight == 1 epoch, 3 batches of the second, stop, save with
 * training state, load, go on to 4 epochs: the same bits (weights,
 * optimizer state, generator, counters) and the same report of the cut
 * epoch, under a cosine schedule, shuffled or not, SGD with momentum and
 * Adam, classes and targets. Giving the cut epoch up instead (what 0.2
 * did: a new epoch with the steps kept) ends elsewhere. */
Test(model, cut_epoch_resumes_bit_identically) {
    nerve_opt opts[2] = {nerve_opt_default(NERVE_OPT_SGD), nerve_opt_default(NERVE_OPT_ADAM)};
    opts[0].lr = 0.05f;
    opts[0].momentum = 0.9f;
    for (int k = 0; k < 2; k++)
        for (int shuffle = 0; shuffle < 2; shuffle++) {
            const nerve_loss loss = k ? NERVE_LOSS_MSE : NERVE_LOSS_XENT;
            data d = make_data(61, 5, 3, loss == NERVE_LOSS_XENT, 9);
            nerve_dataset v = view(&d);
            nerve_epoch_opts o = {.batch_size = 7, .shuffle = shuffle};
            nerve_net *a = cut_net(opts[k], loss);
            nerve_eval ra[4];
            for (int e = 0; e < 4; e++)
                expect_status(nerve_net_train_epoch(a, &v, &o, &ra[e]), NERVE_OK, "straight");

            nerve_net *b = cut_net(opts[k], loss), *c;
            train_then_cut(b, &d, shuffle, 21);
            nerve_epoch_progress p = nerve_net_epoch_progress(b);
            cr_assert(p.rows == 21 && p.n == 61 && p.batch == 7 && p.shuffle == shuffle,
                      "progress %llu of %llu, batch %llu", (unsigned long long)p.rows,
                      (unsigned long long)p.n, (unsigned long long)p.batch);
            cr_assert_eq(nerve_net_optimizer(b).lr, opts[k].lr, "the base rate is kept");
            expect_status(nerve_net_save(b, tpath("cut.nrv"), 1), NERVE_OK, "save");
            expect_status(nerve_net_load(&c, tpath("cut.nrv")), NERVE_OK, "load");
            assert_same_net(b, c, 1);
            nerve_net_free(b);
            nerve_eval rc;
            expect_status(nerve_net_train_epoch(c, &v, &o, &rc), NERVE_OK, "rest of epoch 2");
            cr_assert_eq(nerve_net_epoch_count(c), 2);
            cr_assert_eq(nerve_net_epoch_progress(c).rows, 0);
            cr_assert(rc.n == 61 && memcmp(&rc.loss, &ra[1].loss, 8) == 0 &&
                          memcmp(&rc.accuracy, &ra[1].accuracy, 8) == 0,
                      "the continued epoch reports n %zu loss %.17g, the straight one %.17g", rc.n,
                      rc.loss, ra[1].loss);
            for (int e = 2; e < 4; e++)
                expect_status(nerve_net_train_epoch(c, &v, &o, NULL), NERVE_OK, "epochs 3, 4");
            assert_same_net(a, c, 1);
            nerve_net_free(c);

            /* the test can fail: a new epoch instead of the cut one's rest */
            b = cut_net(opts[k], loss);
            train_then_cut(b, &d, shuffle, 21);
            nerve_net_discard_epoch(b);
            cr_assert_eq(nerve_net_epoch_progress(b).rows, 0);
            while (nerve_net_epoch_count(b) < 4)
                expect_status(nerve_net_train_epoch(b, &v, &o, NULL), NERVE_OK, "new epochs");
            const size_t P = a->sizes[1] * a->sizes[0];
            cr_assert_neq(memcmp(a->params + a->w_off[0], b->params + b->w_off[0], P * 4), 0,
                          "giving the cut epoch up changed nothing");
            nerve_net_free(a);
            nerve_net_free(b);
            free_data(&d);
        }
}

/* A cut epoch continues only as it began; a refusal changes nothing. */
Test(model, cut_epoch_refuses_other_batch_rows_or_order) {
    data d = make_data(61, 5, 3, 1, 9);
    nerve_net *net = cut_net(nerve_opt_default(NERVE_OPT_ADAM), NERVE_LOSS_XENT);
    train_then_cut(net, &d, 1, 14);
    const size_t na = net->n_alloc;
    float *before = malloc(na * sizeof *before);
    memcpy(before, net->params, na * sizeof *before);
    const uint64_t steps = nerve_net_step_count(net);
    nerve_dataset v = view(&d);
    const struct {
        size_t batch, n;
        int shuffle;
        const char *what;
    } bad[3] = {
        {8, 61, 1, "same batch size"}, {7, 60, 1, "same rows"}, {7, 61, 0, "same shuffling"}};
    for (int i = 0; i < 3; i++) {
        nerve_dataset w = v;
        w.n = bad[i].n;
        nerve_epoch_opts o = {.batch_size = bad[i].batch, .shuffle = bad[i].shuffle};
        expect_status(nerve_net_train_epoch(net, &w, &o, NULL), NERVE_EINVAL, bad[i].what);
        cr_assert(strstr(nerve_last_error(), bad[i].what) &&
                      strstr(nerve_last_error(), "after 14 of 61 rows"),
                  "%s", nerve_last_error());
        cr_assert_eq(memcmp(before, net->params, na * sizeof *before), 0, "weights changed");
        cr_assert_eq(nerve_net_step_count(net), steps);
        cr_assert_eq(nerve_net_epoch_progress(net).rows, 14);
    }
    /* given up: any batch size starts a new epoch */
    nerve_net_discard_epoch(net);
    nerve_epoch_opts o = {.batch_size = 8, .shuffle = 0};
    nerve_eval r;
    expect_status(nerve_net_train_epoch(net, &v, &o, &r), NERVE_OK, "after discarding");
    cr_assert(r.n == 61 && nerve_net_epoch_count(net) == 2);
    free(before);
    free_data(&d);
    nerve_net_free(net);
}

/* The cosine schedule's rates (the formula of net.h, written out here), the
 * rate an epoch really trains at (a constant-rate twin given that rate by
 * hand gets the same weights), and its argument checks. */
Test(model, cosine_schedule_rates) {
    const double pi = 3.14159265358979323846;
    size_t sizes[3] = {5, 8, 3};
    nerve_act acts[2] = {NERVE_ACT_TANH, NERVE_ACT_IDENTITY};
    nerve_net *a, *b;
    expect_status(nerve_net_create(&a, 2, sizes, acts, NERVE_LOSS_XENT, 4), NERVE_OK, "a");
    expect_status(nerve_net_create(&b, 2, sizes, acts, NERVE_LOSS_XENT, 4), NERVE_OK, "b");
    nerve_opt o = nerve_opt_default(NERVE_OPT_SGD);
    o.lr = 0.05f;
    o.momentum = 0.9f;
    expect_status(nerve_net_set_optimizer(a, &o), NERVE_OK, "opt a");
    expect_status(nerve_net_set_optimizer(b, &o), NERVE_OK, "opt b");
    cr_assert_eq(nerve_net_schedule(a).kind, NERVE_SCHEDULE_CONSTANT, "the default");
    cr_assert_eq(nerve_net_epoch_lr(a, 7), 0.05f, "constant: the optimizer's rate");
    const nerve_schedule cos3 = {NERVE_SCHEDULE_COSINE, 3};
    expect_status(nerve_net_set_schedule(a, &cos3), NERVE_OK, "cosine");
    for (uint64_t e = 0; e < 6; e++) {
        const double t = (double)(e < 3 ? e : 3) / 3.0;
        const float want = (float)(0.05 * 0.5 * (1.0 + cos(pi * t)));
        cr_assert_eq(nerve_net_epoch_lr(a, e), want, "epoch %llu: %g, want %g",
                     (unsigned long long)e, (double)nerve_net_epoch_lr(a, e), (double)want);
    }
    data d = make_data(40, 5, 3, 1, 2);
    nerve_dataset v = view(&d);
    nerve_epoch_opts eo = {.batch_size = 8, .shuffle = 1};
    for (uint64_t e = 0; e < 3; e++) {
        expect_status(nerve_net_set_lr(b, nerve_net_epoch_lr(a, e)), NERVE_OK, "rate by hand");
        expect_status(nerve_net_train_epoch(a, &v, &eo, NULL), NERVE_OK, "scheduled");
        expect_status(nerve_net_train_epoch(b, &v, &eo, NULL), NERVE_OK, "by hand");
        cr_assert_eq(nerve_net_optimizer(a).lr, 0.05f, "the base rate after the epoch");
    }
    cr_assert_eq(memcmp(a->params, b->params, a->n_alloc * sizeof(float)), 0,
                 "the scheduled epochs did not train at the scheduled rates");
    const nerve_schedule zero = {NERVE_SCHEDULE_COSINE, 0}, bogus = {(nerve_schedule_kind)7, 3};
    expect_status(nerve_net_set_schedule(a, &zero), NERVE_EINVAL, "cosine over 0 epochs");
    expect_status(nerve_net_set_schedule(a, &bogus), NERVE_EINVAL, "unknown kind");
    expect_status(nerve_net_set_schedule(a, NULL), NERVE_EINVAL, "NULL");
    expect_status(nerve_net_set_schedule(NULL, &cos3), NERVE_EINVAL, "NULL net");
    cr_assert_eq(nerve_net_schedule(a).epochs, 3, "a refused schedule changes nothing");
    nerve_net_free(a);
    nerve_net_free(b);
    free_data(&d);
}

/* The progress section (id 4) at the documented offsets; only written when
 * it says something; refused when its values are impossible. */
Test(model, progress_section_layout_and_hostile_values) {
    data d = make_data(61, 5, 3, 1, 9);
    nerve_net *net = cut_net(nerve_opt_default(NERVE_OPT_ADAM), NERVE_LOSS_XENT);
    train_then_cut(net, &d, 1, 14);
    expect_status(nerve_net_save(net, tpath("p.nrv"), 1), NERVE_OK, "save");
    size_t n;
    uint8_t *b = read_all(tpath("p.nrv"), &n);
    const size_t count_at = 36 + 8 * 3 + 100, q = count_at + 4 + 16; /* q: the payload */
    cr_assert_eq(ld32(b + 8), 2u, "a progress section makes a format 2 file");
    cr_assert_eq(ld32(b + count_at), 1u, "one section");
    cr_assert_eq(ld32(b + count_at + 4), 4u, "id 4");
    cr_assert_eq(ld32(b + count_at + 8), 0u, "optional");
    cr_assert_eq(ld32(b + count_at + 12), 88u, "88 bytes");
    cr_assert_eq(ld32(b + q), 1u, "cosine");
    cr_assert_eq(ld32(b + q + 4), 1u, "shuffled");
    cr_assert_eq(ld32(b + q + 8), 4u, "over 4 epochs");
    cr_assert_eq(ld32(b + q + 16), 14u, "14 rows done");
    cr_assert_eq(ld32(b + q + 24), 61u, "of 61");
    cr_assert_eq(ld32(b + q + 32), 7u, "in batches of 7");
    uint64_t bits;
    memcpy(&bits, &net->cut.loss_sum, 8);
    cr_assert_eq(ld32(b + q + 40), (uint32_t)bits, "loss sum");
    cr_assert(ld32(b + q + 48) <= 14u, "correct rows");
    cr_assert_eq(ld32(b + q + 56), (uint32_t)net->cut.rng[0], "generator before the shuffle");
    cr_assert_eq(net->cut.rng[0] == net->rng[0] && net->cut.rng[1] == net->rng[1], 0,
                 "the saved generator is the one before the epoch's shuffle");
    nerve_net *back = (nerve_net *)1;
    /* impossible values, each alone (the CRC fixed) */
    const struct {
        size_t at;
        uint64_t v;
        const char *want;
    } bad[] = {
        {q, 2, "schedule kind 2"},
        {q + 4, 2, "shuffle flag 2"},
        {q + 16, 15, "is not possible"},                    /* not whole batches */
        {q + 16, 63, "is not possible"},                    /* past the end */
        {q + 32, 0, "is not possible"},                     /* batch 0 */
        {q + 48, 15, "is not possible"},                    /* more correct than rows */
        {q + 40, 0x7FF8000000000000ull, "is not possible"}, /* NaN loss sum */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *c = malloc(n);
        memcpy(c, b, n);
        if (bad[i].at == q || bad[i].at == q + 4)
            st32(c + bad[i].at, (uint32_t)bad[i].v);
        else
            st64(c + bad[i].at, bad[i].v);
        fix_crc(c, n);
        expect_status(model_read_mem(c, n, "bad", &back), NERVE_EFORMAT, bad[i].want);
        cr_assert(strstr(nerve_last_error(), bad[i].want), "%zu: %s", i, nerve_last_error());
        cr_assert_null(back);
        free(c);
    }
    /* cosine over 0 epochs; no cut epoch with leftovers; shuffled without a state */
    uint8_t *c = malloc(n);
    memcpy(c, b, n);
    st64(c + q + 8, 0);
    fix_crc(c, n);
    expect_status(model_read_mem(c, n, "cos0", &back), NERVE_EFORMAT, "cosine over 0");
    memcpy(c, b, n);
    st64(c + q + 16, 0);
    fix_crc(c, n);
    expect_status(model_read_mem(c, n, "leftovers", &back), NERVE_EFORMAT, "rows 0, rest not");
    cr_assert(strstr(nerve_last_error(), "not 0"), "%s", nerve_last_error());
    memcpy(c, b, n);
    for (int i = 0; i < 4; i++) st64(c + q + 56 + 8 * i, 0);
    fix_crc(c, n);
    expect_status(model_read_mem(c, n, "rng0", &back), NERVE_EFORMAT, "shuffled, no state");
    /* the wrong length */
    memcpy(c, b, n);
    st64(c + count_at + 12, 80);
    fix_crc(c, n);
    expect_status(model_read_mem(c, n, "len", &back), NERVE_EFORMAT, "80 bytes");
    cr_assert(strstr(nerve_last_error(), "progress section of 80 bytes"), "%s", nerve_last_error());
    free(c);
    /* only with training state: a file without it carries no section 4 */
    expect_status(nerve_net_save(net, tpath("w.nrv"), 0), NERVE_OK, "save weights only");
    free(b);
    b = read_all(tpath("w.nrv"), &n);
    cr_assert_eq(ld32(b + 8), 1u, "weights only: no section, format 1");
    free(b);
    uint8_t payload[88];
    memset(payload, 0, sizeof payload);
    size_t m, v2n;
    uint8_t *v2 = v2_file(0, 0, &v2n);
    uint8_t *w = with_section(v2, v2n, 36 + 16, 4, 0, payload, 88, &m);
    expect_status(model_read_mem(w, m, "no ts", &back), NERVE_EFORMAT, "section 4 without T");
    cr_assert(strstr(nerve_last_error(), "without training state"), "%s", nerve_last_error());
    free(w);
    free(v2);
    /* the defaults say nothing: a net with training state and neither a
     * schedule nor a cut epoch is still a format 1 file */
    nerve_net_discard_epoch(net);
    const nerve_schedule none = {NERVE_SCHEDULE_CONSTANT, 0};
    expect_status(nerve_net_set_schedule(net, &none), NERVE_OK, "constant");
    expect_status(nerve_net_save(net, tpath("d.nrv"), 1), NERVE_OK, "save defaults");
    b = read_all(tpath("d.nrv"), &n);
    cr_assert_eq(ld32(b + 8), 1u, "nothing to say: format 1");
    free(b);
    nerve_net_free(net);
    free_data(&d);
}
