/* Writes valid inputs for the fuzzers into DIR/model, DIR/idx and DIR/csv
 * (scripts/fuzz.sh runs it before each fuzzing session): model files with
 * and without training state for every optimizer (and with the progress
 * section: a schedule and a cut epoch), IDX image/label pairs
 * raw and gzip, and CSV texts in the framing of fuzz_targets.h.
 *   make_seeds DIR */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "nerve/data.h"
#include "nerve/net.h"

static const char *dir;

static void die(const char *what) {
    fprintf(stderr, "make_seeds: %s: %s\n", what, nerve_last_error());
    exit(1);
}

static void put(const char *sub, const char *name, const void *a, size_t na, const void *b,
                size_t nb) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(a, 1, na, f) != na || (nb && fwrite(b, 1, nb, f) != nb) || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* gzip of a buffer, by zlib's deflate with gzip framing (windowBits 15 + 16). */
static size_t gz(const uint8_t *in, size_t n, uint8_t *out, size_t cap) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) exit(1);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) exit(1);
    size_t len = cap - zs.avail_out;
    deflateEnd(&zs);
    return len;
}

static void model_seeds(void) {
    static const struct {
        size_t layers, sizes[4];
        nerve_act acts[3];
        nerve_loss loss;
        nerve_opt_kind opt;
        float momentum;
    } nets[] = {
        {1, {2, 1}, {NERVE_ACT_IDENTITY}, NERVE_LOSS_MSE, NERVE_OPT_SGD, 0.0f},
        {2, {3, 4, 2}, {NERVE_ACT_RELU, NERVE_ACT_IDENTITY}, NERVE_LOSS_XENT, NERVE_OPT_ADAM, 0.0f},
        {3,
         {4, 3, 3, 2},
         {NERVE_ACT_TANH, NERVE_ACT_GELU, NERVE_ACT_SIGMOID},
         NERVE_LOSS_MSE,
         NERVE_OPT_SGD,
         0.9f},
        {2,
         {2, 5, 3},
         {NERVE_ACT_SILU, NERVE_ACT_SOFTPLUS},
         NERVE_LOSS_XENT,
         NERVE_OPT_ADAMW,
         0.0f},
    };
    for (size_t k = 0; k < sizeof nets / sizeof nets[0]; k++) {
        nerve_net *net;
        if (nerve_net_create(&net, nets[k].layers, nets[k].sizes, nets[k].acts, nets[k].loss,
                             42 + k))
            die("create");
        nerve_opt o = nerve_opt_default(nets[k].opt);
        o.momentum = nets[k].momentum;
        if (nerve_net_set_optimizer(net, &o)) die("optimizer");
        /* two steps, so the moment buffers and counters are not trivial */
        float x[8] = {0.5f, -1, 0.25f, 2, 1, 0, -0.5f, 1}, y[8] = {0};
        int32_t lab[2] = {1, 0};
        nerve_batch b = {x, NULL, NULL, 2};
        if (nets[k].loss == NERVE_LOSS_XENT)
            b.labels = lab;
        else
            b.y = y;
        for (int s = 0; s < 2; s++)
            if (nerve_net_train_batch(net, &b, NULL)) die("train");
        for (int t = 0; t < 2; t++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/model/net%zu%s.nrv", dir, k, t ? "-train" : "");
            if (nerve_net_save(net, path, t)) die("save");
        }
        /* format 2: the same network with its preprocessing sections */
        float sh[8], sc[8];
        for (size_t j = 0; j < 8; j++) sh[j] = 0.5f * (float)j - 1, sc[j] = 1.0f + (float)j;
        if (nerve_net_set_input_transform(net, sh, sc)) die("input transform");
        if (nets[k].loss == NERVE_LOSS_MSE) {
            if (nerve_net_set_output_transform(net, sh, sc)) die("output transform");
        } else {
            static const char *const names[8] = {"setosa", "versicolor", "virginica", "d",
                                                 "e",      "f",          "g",         "h"};
            if (nerve_net_set_class_names(net, names)) die("class names");
        }
        for (int t = 0; t < 2; t++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/model/net%zu-v2%s.nrv", dir, k, t ? "-train" : "");
            if (nerve_net_save(net, path, t)) die("save v2");
        }
        /* the progress section: a cosine schedule and an epoch the stop
         * flag cut after its first batch of one row */
        const nerve_schedule cos3 = {NERVE_SCHEDULE_COSINE, 3};
        if (nerve_net_set_schedule(net, &cos3)) die("schedule");
        nerve_dataset d = {
            x, b.y, b.labels, 2, nets[k].sizes[0], b.labels ? 2 : nets[k].sizes[nets[k].layers]};
        nerve_stop_flag stop = 1;
        nerve_epoch_opts eo = {.batch_size = 1, .shuffle = 1, .stop = &stop};
        if (nerve_net_train_epoch(net, &d, &eo, NULL)) die("cut epoch");
        char path[4096];
        snprintf(path, sizeof path, "%s/model/net%zu-progress.nrv", dir, k);
        if (nerve_net_save(net, path, 1)) die("save progress");
        nerve_net_free(net);
    }
}

static void idx_seeds(void) {
    /* 3 images of 2 x 2, labels 0..2; framing: flags, 2-byte split, files */
    uint8_t img[] = {0, 0, 8, 3,   0, 0,   0, 3,   0,   0, 0,   2, 0,  0,
                     0, 2, 0, 255, 1, 128, 7, 200, 254, 3, 100, 0, 77, 255};
    uint8_t lab[] = {0, 0, 8, 1, 0, 0, 0, 3, 2, 0, 1};
    uint8_t buf[512], gi[256], gl[256];
    buf[0] = 0;
    buf[1] = 0;
    buf[2] = sizeof img;
    memcpy(buf + 3, img, sizeof img);
    put("idx", "pair", buf, 3 + sizeof img, lab, sizeof lab);
    size_t ni = gz(img, sizeof img, gi, sizeof gi), nl = gz(lab, sizeof lab, gl, sizeof gl);
    buf[2] = (uint8_t)ni;
    memcpy(buf + 3, gi, ni);
    put("idx", "pair-gz", buf, 3 + ni, gl, nl);
    buf[0] = 1; /* single file */
    put("idx", "single", buf, 3, img, sizeof img);
}

static void csv_seeds(void) {
    static const struct {
        uint8_t opt[3];
        const char *text;
    } c[] = {
        {{0, 4, 0}, "a,b,label\n1.5,-2,3\n0.25,1e3,0\n"},
        {{1, 4, 0}, "1,2,0\r\n3,4,1\r\n\r\n5,6,2\r\n"},
        {{2 | 3 << 2, 4, 2}, "\"x\"|\"y\"|t1|t2\n1|2|3.5|-4\n5|6|7|8\n"},
        {{0x10, 5, 1 << 2}, "0,5,13\n1,16,0\n"},
        {{0, 4, 0}, "x,y,label\n1,2,setosa\n3,4,\"virginica\"\n5,6,setosa\n"},
        {{0x80, 4, 0}, "label,x\nb,1\na,2\n3,3\n"},
        {{3 << 5, 4, 0}, "1,a\n2,b\n3,3\n"},
        {{0, 4, 0x10}, "x\n1\n2.5\n"}, /* features only */
        {{0, 4, 0x10}, "1,2\n3,4\n"},
    };
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        char name[32];
        snprintf(name, sizeof name, "csv%zu", k);
        put("csv", name, c[k].opt, 3, c[k].text, strlen(c[k].text));
    }
    /* the first 20 digits rows, gzip */
    nerve_data *d;
    if (nerve_data_load_digits(&d)) die("digits");
    char text[8192];
    size_t n = 0;
    for (size_t i = 0; i < 20; i++) {
        for (size_t j = 0; j < 64; j++)
            n += (size_t)snprintf(text + n, sizeof text - n, "%d,", (int)(d->x[i * 64 + j] * 16));
        n += (size_t)snprintf(text + n, sizeof text - n, "%d\n", (int)d->labels[i]);
    }
    nerve_data_free(d);
    static uint8_t g[8192];
    size_t ng = gz((const uint8_t *)text, n, g, sizeof g);
    const uint8_t opt[3] = {1, 4, 2 << 2};
    put("csv", "digits20-gz", opt, 3, g, ng);
    put("csv", "digits20", opt, 3, text, n);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds DIR\n");
        return 2;
    }
    dir = argv[1];
    const char *subs[3] = {"model", "idx", "csv"};
    for (int i = 0; i < 3; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, subs[i]);
        mkdir(dir, 0777);
        mkdir(path, 0777);
    }
    model_seeds();
    idx_seeds();
    csv_seeds();
    return 0;
}
