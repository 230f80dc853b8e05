/* Serializing a network into the model format (docs/model-format.md).
 *
 * Every value is written byte by byte in little-endian order, whatever the
 * host, so files move between machines unchanged. Floats are written as
 * their IEEE-754 binary32 bit patterns, doubles as binary64. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crc32.h"
#include "error.h"
#include "model_format.h"
#include "net_internal.h"

/* Bytes staged before each fwrite; the checksum runs over each chunk. */
#define SINK_CAP 65536

typedef struct sink {
    FILE *f;
    uint32_t crc;
    size_t n;
    int err; /* errno of the first failed write, 0 if none */
    uint8_t buf[SINK_CAP];
} sink;

static void sink_flush(sink *s) {
    if (s->n == 0 || s->err) {
        s->n = 0;
        return;
    }
    s->crc = crc32_update(s->crc, s->buf, s->n);
    errno = 0;
    if (fwrite(s->buf, 1, s->n, s->f) != s->n) s->err = errno ? errno : EIO;
    s->n = 0;
}

static void put_bytes(sink *s, const void *p, size_t n) {
    const uint8_t *b = p;
    while (n) {
        if (s->n == SINK_CAP) sink_flush(s);
        size_t k = SINK_CAP - s->n < n ? SINK_CAP - s->n : n;
        memcpy(s->buf + s->n, b, k);
        s->n += k;
        b += k;
        n -= k;
    }
}

static void put_u32(sink *s, uint32_t v) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put_bytes(s, b, 4);
}

static void put_u64(sink *s, uint64_t v) {
    put_u32(s, (uint32_t)v);
    put_u32(s, (uint32_t)(v >> 32));
}

static void put_f32(sink *s, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    put_u32(s, u);
}

static void put_f64(sink *s, double d) {
    uint64_t u;
    memcpy(&u, &d, 8);
    put_u64(s, u);
}

static void put_floats(sink *s, const float *p, size_t n) {
    for (size_t i = 0; i < n; i++) put_f32(s, p[i]);
}

/* One parameter-shaped array (params, opt_m or opt_v): per layer the
 * weights, then the bias, without the alignment padding. */
static void put_param_block(sink *s, const nerve_net *net, const float *base) {
    for (size_t l = 0; l < net->n_layers; l++) {
        size_t out = net->sizes[l + 1], in = net->sizes[l];
        put_floats(s, base + net->w_off[l], out * in);
        put_floats(s, base + net->b_off[l], out);
    }
}

/* The progress section is written with the training state when it says
 * more than a file without it would: a schedule, a run length, or an epoch
 * cut short. Without it a reader assumes {constant, 0} and no cut epoch, so
 * a model that has neither stays a version 1 file when nothing else needs
 * a section. */
static int has_progress(const nerve_net *net, int training) {
    return training && (net->sched.kind != NERVE_SCHEDULE_CONSTANT || net->sched.epochs != 0 ||
                        net->cut.rows != 0);
}

/* Sections of format 2 (docs/model-format.md, "Sections"). */
static uint32_t section_count(const nerve_net *net, int training) {
    return (net->in_shift != NULL) + (net->out_shift != NULL) + (net->class_names != NULL) +
           (uint32_t)has_progress(net, training) + (net->precision != NERVE_PRECISION_FP32);
}

static void put_section_header(sink *s, uint32_t id, uint32_t flags, uint64_t len) {
    put_u32(s, id);
    put_u32(s, flags);
    put_u64(s, len);
}

static void put_sections(sink *s, const nerve_net *net, int training) {
    const size_t in = net->sizes[0], out = net->sizes[net->n_layers];
    put_u32(s, section_count(net, training));
    if (net->in_shift) {
        put_section_header(s, MODEL_SEC_INPUT_TRANSFORM, MODEL_SECTION_REQUIRED, 8 * (uint64_t)in);
        put_floats(s, net->in_shift, in);
        put_floats(s, net->in_scale, in);
    }
    if (net->out_shift) {
        put_section_header(s, MODEL_SEC_OUTPUT_TRANSFORM, MODEL_SECTION_REQUIRED,
                           8 * (uint64_t)out);
        put_floats(s, net->out_shift, out);
        put_floats(s, net->out_scale, out);
    }
    if (net->class_names) {
        uint64_t len = 4;
        for (size_t k = 0; k < out; k++) len += 4 + strlen(net->class_names[k]);
        put_section_header(s, MODEL_SEC_CLASS_NAMES, 0, len);
        put_u32(s, (uint32_t)out);
        for (size_t k = 0; k < out; k++) {
            size_t n = strlen(net->class_names[k]); /* <= NET_MAX_NAME */
            put_u32(s, (uint32_t)n);
            put_bytes(s, net->class_names[k], n);
        }
    }
    if (has_progress(net, training)) {
        const net_cut_epoch *c = &net->cut;
        put_section_header(s, MODEL_SEC_PROGRESS, 0, MODEL_PROGRESS_BYTES);
        put_u32(s, (uint32_t)net->sched.kind);
        put_u32(s, (uint32_t)c->shuffle);
        put_u64(s, net->sched.epochs);
        put_u64(s, c->rows);
        put_u64(s, c->n);
        put_u64(s, c->batch);
        put_f64(s, c->loss_sum);
        put_u64(s, c->correct);
        for (int i = 0; i < 4; i++) put_u64(s, c->rng[i]);
    }
    if (net->precision != NERVE_PRECISION_FP32) { /* optional: inference is fp32 anyway */
        put_section_header(s, MODEL_SEC_PRECISION, 0, 4);
        put_u32(s, (uint32_t)net->precision);
    }
}

nerve_status model_write(const nerve_net *net, int with_training_state, FILE *f, const char *name) {
    if (net->n_layers > MODEL_MAX_LAYERS || net->n_params > MODEL_MAX_PARAMS)
        return error_set(NERVE_EINVAL, "%s: network exceeds the model file limits", name);
    for (size_t i = 0; i <= net->n_layers; i++)
        if (net->sizes[i] > MODEL_MAX_WIDTH)
            return error_set(NERVE_EINVAL, "%s: width %zu exceeds the model file limit", name,
                             net->sizes[i]);
    nerve_status fin = model_check_finite(net, with_training_state, name);
    if (fin != NERVE_OK) return fin;
    sink *s = malloc(sizeof *s); /* 64 KiB: too big for small thread stacks */
    if (!s) return error_set(NERVE_ENOMEM, "%s: out of memory", name);
    s->f = f;
    s->crc = 0;
    s->n = 0;
    s->err = 0;

    const int training = with_training_state != 0;
    put_bytes(s, MODEL_MAGIC, MODEL_MAGIC_LEN);
    const uint32_t sections = section_count(net, training);
    put_u32(s, sections ? MODEL_VERSION : MODEL_VERSION_1);
    put_u32(s, training ? MODEL_FLAG_TRAINING : 0u);
    put_u32(s, (uint32_t)net->n_layers);
    put_u32(s, (uint32_t)net->loss);
    put_u64(s, net->seed);
    for (size_t i = 0; i <= net->n_layers; i++) put_u32(s, (uint32_t)net->sizes[i]);
    for (size_t l = 0; l < net->n_layers; l++) put_u32(s, (uint32_t)net->acts[l]);
    const uint32_t n_buffers = net->opt_v ? 2u : net->opt_m ? 1u : 0u;
    if (training) {
        const nerve_opt *o = &net->opt;
        put_u32(s, (uint32_t)o->kind);
        put_u32(s, (uint32_t)o->nesterov);
        put_f32(s, o->lr);
        put_f32(s, o->momentum);
        put_f32(s, o->weight_decay);
        put_f32(s, o->beta1);
        put_f32(s, o->beta2);
        put_f32(s, o->eps);
        put_u64(s, net->step);
        put_u64(s, net->epoch);
        put_f64(s, net->beta1_pow);
        put_f64(s, net->beta2_pow);
        for (int i = 0; i < 4; i++) put_u64(s, net->rng[i]);
        put_u32(s, n_buffers);
    }
    if (sections) put_sections(s, net, training);
    put_param_block(s, net, net->params);
    if (training) {
        if (n_buffers >= 1) put_param_block(s, net, net->opt_m);
        if (n_buffers >= 2) put_param_block(s, net, net->opt_v);
    }
    sink_flush(s); /* the checksum covers everything before it */
    put_u32(s, s->crc);
    sink_flush(s);
    int err = s->err;
    free(s);
    if (err) return error_set(NERVE_EIO, "%s: write failed: %s", name, strerror(err));
    return NERVE_OK;
}
