/* Reading and validating a model file (docs/model-format.md).
 *
 * The file is untrusted. Reading goes in three steps, and nothing is
 * allocated from a size in the file before that size has been checked
 * against the limits and against the real length of the file:
 *   1. the header: signature, version, flags, every count and enum value,
 *      the optimizer kind and its number of moment buffers; from them the
 *      exact file length, compared with the real one;
 *   2. the CRC-32 over everything but the last 4 bytes;
 *   3. the network is created and filled, and each value checked (finite
 *      parameters, valid optimizer settings, consistent counters). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crc32.h"
#include "error.h"
#include "loss.h"
#include "model_format.h"
#include "net_internal.h"
#include "net_plan.h"

/* Bytes read at once while checksumming and converting arrays. */
#define CHUNK 65536

/* Where the bytes come from: a memory buffer or a stdio file. */
typedef struct source {
    const uint8_t *mem;
    FILE *f;
    uint64_t len, pos;
    const char *name;
} source;

/* Reads n bytes at the current position. Running past the end is
 * NERVE_EFORMAT ("truncated"), a failing read NERVE_EIO. */
static nerve_status src_read(source *s, void *dst, size_t n) {
    if (n > s->len - s->pos)
        return error_set(NERVE_EFORMAT, "%s: file truncated at byte %llu (expected at least %llu)",
                         s->name, (unsigned long long)s->len,
                         (unsigned long long)s->pos + (unsigned long long)n);
    if (s->mem) {
        memcpy(dst, s->mem + s->pos, n);
    } else {
        errno = 0;
        if (fread(dst, 1, n, s->f) != n) {
            if (ferror(s->f))
                return error_set(NERVE_EIO, "%s: read failed: %s", s->name,
                                 strerror(errno ? errno : EIO));
            return error_set(NERVE_EFORMAT, "%s: file truncated at byte %llu while reading",
                             s->name, (unsigned long long)s->pos);
        }
    }
    s->pos += n;
    return NERVE_OK;
}

static nerve_status src_seek(source *s, uint64_t pos) {
    if (!s->mem && fseeko(s->f, (off_t)pos, SEEK_SET) != 0)
        return error_set(NERVE_EIO, "%s: seek failed: %s", s->name, strerror(errno));
    s->pos = pos;
    return NERVE_OK;
}

static uint32_t le32(const uint8_t *b) {
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static uint64_t le64(const uint8_t *b) { return (uint64_t)le32(b) | (uint64_t)le32(b + 4) << 32; }
static float f32_of(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static double f64_of(uint64_t u) {
    double d;
    memcpy(&d, &u, 8);
    return d;
}

static nerve_status get_u32(source *s, uint32_t *v) {
    uint8_t b[4];
    nerve_status st = src_read(s, b, 4);
    if (st == NERVE_OK) *v = le32(b);
    return st;
}
#define TRY(expr)                                                                                  \
    do {                                                                                           \
        nerve_status try_st_ = (expr);                                                             \
        if (try_st_ != NERVE_OK) return try_st_;                                                   \
    } while (0)

/* Everything the header says, validated. */
typedef struct header {
    uint32_t flags, n_layers, loss;
    uint64_t seed;
    size_t *sizes; /* n_layers + 1 */
    nerve_act *acts;
    uint64_t n_params;
    /* training state */
    nerve_opt opt;
    uint64_t step, epoch;
    double beta1_pow, beta2_pow;
    uint64_t rng[4];
    uint32_t n_buffers;
    uint64_t params_at; /* offset of the first parameter */
    /* format 2: payloads of the known sections, NULL when absent */
    uint32_t version;
    uint8_t *sec[MODEL_SEC_COUNT]; /* indexed by MODEL_SEC_* */
    uint64_t sec_len[MODEL_SEC_COUNT];
} header;

static void header_free(header *h) {
    free(h->sizes);
    free(h->acts);
    h->sizes = NULL;
    h->acts = NULL;
    for (int i = 0; i < MODEL_SEC_COUNT; i++) {
        free(h->sec[i]);
        h->sec[i] = NULL;
    }
}

/* Format 2: the section table (docs/model-format.md, "Sections"). Known
 * sections are read into memory (each no longer than the bytes really left
 * before the parameters); unknown ones are skipped, unless required. */
static nerve_status read_sections(source *s, header *h) {
    uint32_t count;
    TRY(get_u32(s, &count));
    if (count > MODEL_MAX_SECTIONS)
        return error_set(NERVE_EFORMAT, "%s: %u sections (at most %u)", s->name, count,
                         MODEL_MAX_SECTIONS);
    /* what must follow the sections: parameters, moment buffers, checksum */
    const uint64_t tail = 4 * h->n_params * (1 + (uint64_t)h->n_buffers) + MODEL_CRC_BYTES;
    const uint64_t w_in = h->sizes[0], w_out = h->sizes[h->n_layers];
    for (uint32_t i = 0; i < count; i++) {
        uint8_t b[MODEL_SECTION_HEADER_BYTES];
        TRY(src_read(s, b, sizeof b));
        uint32_t id = le32(b), flags = le32(b + 4);
        uint64_t len = le64(b + 8);
        uint64_t left = s->len - s->pos; /* src_read keeps pos <= len */
        if (left < tail || len > left - tail)
            return error_set(
                NERVE_EFORMAT,
                "%s: file truncated: section %u (id %u) of %llu bytes runs past its end", s->name,
                i, id, (unsigned long long)len);
        int known = id >= MODEL_SEC_INPUT_TRANSFORM && id < MODEL_SEC_COUNT;
        if (!known) {
            if (flags & MODEL_SECTION_REQUIRED)
                return error_set(NERVE_EFORMAT,
                                 "%s: needs section id %u, which this library (model format "
                                 "version %u) does not know: written by a newer nerve?",
                                 s->name, id, MODEL_VERSION);
            TRY(src_seek(s, s->pos + len)); /* optional: skipped */
            continue;
        }
        if (h->sec[id])
            return error_set(NERVE_EFORMAT, "%s: section id %u appears twice", s->name, id);
        if (id == MODEL_SEC_INPUT_TRANSFORM && len != 8 * w_in)
            return error_set(NERVE_EFORMAT,
                             "%s: input transform of %llu bytes for %llu inputs (expected %llu)",
                             s->name, (unsigned long long)len, (unsigned long long)w_in,
                             (unsigned long long)(8 * w_in));
        if (id == MODEL_SEC_OUTPUT_TRANSFORM && len != 8 * w_out)
            return error_set(NERVE_EFORMAT,
                             "%s: output transform of %llu bytes for %llu outputs (expected %llu)",
                             s->name, (unsigned long long)len, (unsigned long long)w_out,
                             (unsigned long long)(8 * w_out));
        if (id == MODEL_SEC_OUTPUT_TRANSFORM && loss_of((nerve_loss)h->loss)->labels)
            return error_set(NERVE_EFORMAT,
                             "%s: output transform in a %s model (only for target values)", s->name,
                             nerve_loss_name((nerve_loss)h->loss));
        if (id == MODEL_SEC_PRECISION && len != 4)
            return error_set(NERVE_EFORMAT, "%s: precision section of %llu bytes (expected 4)",
                             s->name, (unsigned long long)len);
        if (id == MODEL_SEC_CLASS_NAMES && len < 4)
            return error_set(NERVE_EFORMAT, "%s: class names section of %llu bytes", s->name,
                             (unsigned long long)len);
        if (id == MODEL_SEC_PROGRESS && len != MODEL_PROGRESS_BYTES)
            return error_set(NERVE_EFORMAT, "%s: progress section of %llu bytes (expected %u)",
                             s->name, (unsigned long long)len, MODEL_PROGRESS_BYTES);
        if (id == MODEL_SEC_PROGRESS && !(h->flags & MODEL_FLAG_TRAINING))
            return error_set(NERVE_EFORMAT, "%s: progress section in a file without training state",
                             s->name);
        /* len <= the file's length, which is in memory or on disk */
        h->sec[id] = malloc(len ? (size_t)len : 1);
        if (!h->sec[id]) return error_set(NERVE_ENOMEM, "%s: out of memory", s->name);
        h->sec_len[id] = len;
        TRY(src_read(s, h->sec[id], (size_t)len));
    }
    return NERVE_OK;
}

static nerve_status read_training_header(source *s, header *h) {
    uint8_t b[MODEL_TRAINING_BYTES];
    TRY(src_read(s, b, sizeof b));
    uint32_t kind = le32(b), nesterov = le32(b + 4);
    if (kind >= NERVE_OPT_COUNT)
        return error_set(NERVE_EFORMAT, "%s: optimizer kind %u is not valid (0 to %d)", s->name,
                         kind, NERVE_OPT_COUNT - 1);
    if (nesterov > 1)
        return error_set(NERVE_EFORMAT, "%s: Nesterov flag %u is not 0 or 1", s->name, nesterov);
    nerve_opt *o = &h->opt;
    o->kind = (nerve_opt_kind)kind;
    o->nesterov = (int)nesterov;
    o->lr = f32_of(le32(b + 8));
    o->momentum = f32_of(le32(b + 12));
    o->weight_decay = f32_of(le32(b + 16));
    o->beta1 = f32_of(le32(b + 20));
    o->beta2 = f32_of(le32(b + 24));
    o->eps = f32_of(le32(b + 28));
    h->step = le64(b + 32);
    h->epoch = le64(b + 40);
    h->beta1_pow = f64_of(le64(b + 48));
    h->beta2_pow = f64_of(le64(b + 56));
    for (int i = 0; i < 4; i++) h->rng[i] = le64(b + 64 + 8 * i);
    h->n_buffers = le32(b + 96);
    /* SGD keeps a momentum buffer only when momentum != 0; Adam keeps m and v */
    uint32_t want = optim_state_count(o);
    if (h->n_buffers != want)
        return error_set(NERVE_EFORMAT, "%s: %u moment buffers, but optimizer %s needs %u", s->name,
                         h->n_buffers, nerve_opt_name(o->kind), want);
    return NERVE_OK;
}

/* Step 1: the header, and the file length it implies. */
static nerve_status read_header(source *s, header *h) {
    memset(h, 0, sizeof *h);
    uint8_t b[MODEL_FIXED_BYTES];
    size_t have = s->len < MODEL_MAGIC_LEN ? (size_t)s->len : MODEL_MAGIC_LEN;
    TRY(src_read(s, b, have));
    if (memcmp(b, MODEL_MAGIC, have) != 0)
        return error_set(NERVE_EFORMAT, "%s: not a nerve model file (bad signature)", s->name);
    TRY(src_read(s, b + have, MODEL_FIXED_BYTES - have));
    uint32_t version = le32(b + 8);
    if (version < MODEL_VERSION_1 || version > MODEL_VERSION)
        return error_set(NERVE_EFORMAT,
                         "%s: unsupported format version %u (this library reads %u to %u)", s->name,
                         version, MODEL_VERSION_1, MODEL_VERSION);
    h->version = version;
    h->flags = le32(b + 12);
    if (h->flags & ~MODEL_FLAG_TRAINING)
        return error_set(NERVE_EFORMAT, "%s: unknown flags 0x%08x", s->name, h->flags);
    h->n_layers = le32(b + 16);
    if (h->n_layers < 1 || h->n_layers > MODEL_MAX_LAYERS)
        return error_set(NERVE_EFORMAT, "%s: layer count %u is not in [1, %u]", s->name,
                         h->n_layers, MODEL_MAX_LAYERS);
    h->loss = le32(b + 20);
    if (h->loss >= NERVE_LOSS_COUNT)
        return error_set(NERVE_EFORMAT, "%s: loss %u is not valid (0 to %d)", s->name, h->loss,
                         NERVE_LOSS_COUNT - 1);
    h->seed = le64(b + 24);

    /* widths and activations: n_layers <= MODEL_MAX_LAYERS bounds these */
    const uint32_t nl = h->n_layers;
    h->sizes = malloc((nl + 1) * sizeof *h->sizes);
    h->acts = malloc(nl * sizeof *h->acts);
    if (!h->sizes || !h->acts) return error_set(NERVE_ENOMEM, "%s: out of memory", s->name);
    for (uint32_t i = 0; i <= nl; i++) {
        uint32_t w;
        TRY(get_u32(s, &w));
        if (w < 1 || w > MODEL_MAX_WIDTH)
            return error_set(NERVE_EFORMAT, "%s: layer width %u (index %u) is not in [1, %llu]",
                             s->name, w, i, (unsigned long long)MODEL_MAX_WIDTH);
        h->sizes[i] = w;
    }
    if (loss_of((nerve_loss)h->loss)->labels && h->sizes[nl] < 2)
        return error_set(NERVE_EFORMAT, "%s: loss %s with output width %zu (needs >= 2 classes)",
                         s->name, nerve_loss_name((nerve_loss)h->loss), h->sizes[nl]);
    uint64_t total = 0;
    for (uint32_t l = 0; l < nl; l++) {
        uint32_t a;
        TRY(get_u32(s, &a));
        if (a >= NERVE_ACT_COUNT)
            return error_set(NERVE_EFORMAT, "%s: layer %u activation %u is not valid (0 to %d)",
                             s->name, l, a, NERVE_ACT_COUNT - 1);
        h->acts[l] = (nerve_act)a;
        /* widths <= 2^24: the product fits easily in 64 bits */
        total += (uint64_t)h->sizes[l + 1] * h->sizes[l] + h->sizes[l + 1];
        if (total > MODEL_MAX_PARAMS)
            return error_set(NERVE_EFORMAT, "%s: more than %llu parameters (limit) by layer %u",
                             s->name, (unsigned long long)MODEL_MAX_PARAMS, l);
    }
    h->n_params = total;
    if (h->flags & MODEL_FLAG_TRAINING) TRY(read_training_header(s, h));
    if (version >= 2) TRY(read_sections(s, h));
    h->params_at = s->pos;

    /* parameters, the moment buffers, the checksum: at most 3 * 2^31 * 4
     * bytes plus the header, far from overflowing 64 bits */
    uint64_t expect = s->pos + 4 * h->n_params * (1 + (uint64_t)h->n_buffers) + MODEL_CRC_BYTES;
    if (s->len < expect)
        return error_set(NERVE_EFORMAT, "%s: file truncated at byte %llu (expected %llu)", s->name,
                         (unsigned long long)s->len, (unsigned long long)expect);
    if (s->len > expect)
        return error_set(NERVE_EFORMAT, "%s: file has %llu bytes, expected %llu (trailing data)",
                         s->name, (unsigned long long)s->len, (unsigned long long)expect);
    return NERVE_OK;
}

/* Step 2: CRC-32 over bytes [0, len - 4) against the stored one. */
static nerve_status check_crc(source *s, uint8_t *chunk) {
    TRY(src_seek(s, 0));
    uint32_t crc = 0;
    uint64_t body = s->len - MODEL_CRC_BYTES;
    while (s->pos < body) {
        size_t n = body - s->pos < CHUNK ? (size_t)(body - s->pos) : CHUNK;
        TRY(src_read(s, chunk, n));
        crc = crc32_update(crc, chunk, n);
    }
    uint32_t stored;
    TRY(get_u32(s, &stored));
    if (stored != crc)
        return error_set(NERVE_EFORMAT, "%s: checksum mismatch (stored 0x%08x, computed 0x%08x)",
                         s->name, stored, crc);
    return NERVE_OK;
}

/* Reads n floats into dst; each must be finite (and >= 0 when nonneg). */
static nerve_status read_floats(source *s, uint8_t *chunk, float *dst, size_t n, int nonneg,
                                const char *what, size_t layer) {
    size_t done = 0;
    while (done < n) {
        size_t k = n - done < CHUNK / 4 ? n - done : CHUNK / 4;
        TRY(src_read(s, chunk, 4 * k));
        for (size_t i = 0; i < k; i++) {
            float v = f32_of(le32(chunk + 4 * i));
            if (!isfinite(v) || (nonneg && v < 0.0f))
                return error_set(NERVE_EFORMAT,
                                 "%s: layer %zu %s value %zu is %g (must be finite%s)", s->name,
                                 layer, what, done + i, (double)v, nonneg ? " and >= 0" : "");
            dst[done + i] = v;
        }
        done += k;
    }
    return NERVE_OK;
}

static nerve_status read_block(source *s, uint8_t *chunk, nerve_net *net, float *base, int nonneg,
                               const char *what) {
    for (size_t l = 0; l < net->n_layers; l++) {
        size_t out = net->sizes[l + 1], in = net->sizes[l];
        char label[64];
        snprintf(label, sizeof label, "%s weight", what);
        TRY(read_floats(s, chunk, base + net->w_off[l], out * in, nonneg, label, l));
        snprintf(label, sizeof label, "%s bias", what);
        TRY(read_floats(s, chunk, base + net->b_off[l], out, nonneg, label, l));
    }
    return NERVE_OK;
}

/* The counters and generator state of a training-state section. */
static nerve_status check_counters(const source *s, const header *h) {
    const double p[2] = {h->beta1_pow, h->beta2_pow};
    for (int i = 0; i < 2; i++) {
        if (!(p[i] >= 0.0 && p[i] <= 1.0))
            return error_set(NERVE_EFORMAT, "%s: beta%d^step = %g is not in [0, 1]", s->name, i + 1,
                             p[i]);
        /* Adam: beta^t is 1 before the first step, and < 1 after (beta < 1) */
        if (optim_family_of(h->opt.kind)->betas && (h->step == 0) != (p[i] == 1.0))
            return error_set(NERVE_EFORMAT, "%s: beta%d^step = %g does not fit step count %llu",
                             s->name, i + 1, p[i], (unsigned long long)h->step);
    }
    if ((h->rng[0] | h->rng[1] | h->rng[2] | h->rng[3]) == 0)
        return error_set(NERVE_EFORMAT, "%s: shuffling generator state is all zero", s->name);
    return NERVE_OK;
}

/* The progress section (docs/model-format.md, "Progress"): the schedule and
 * an epoch cut short, each field checked against what the library itself
 * could have written. */
static nerve_status fill_progress(const source *s, const uint8_t *p, nerve_net *net) {
    const uint32_t kind = le32(p), shuffle = le32(p + 4);
    nerve_schedule sched = {(nerve_schedule_kind)0, le64(p + 8)};
    net_cut_epoch c;
    memset(&c, 0, sizeof c);
    c.rows = le64(p + 16);
    c.n = le64(p + 24);
    c.batch = le64(p + 32);
    c.loss_sum = f64_of(le64(p + 40));
    c.correct = le64(p + 48);
    for (int i = 0; i < 4; i++) c.rng[i] = le64(p + 56 + 8 * i);
    if (kind >= NERVE_SCHEDULE_COUNT)
        return error_set(NERVE_EFORMAT, "%s: schedule kind %u is not valid (0 to %d)", s->name,
                         kind, NERVE_SCHEDULE_COUNT - 1);
    sched.kind = (nerve_schedule_kind)kind;
    if (sched.kind == NERVE_SCHEDULE_COSINE && sched.epochs == 0)
        return error_set(NERVE_EFORMAT, "%s: cosine schedule over 0 epochs", s->name);
    if (shuffle > 1)
        return error_set(NERVE_EFORMAT, "%s: cut epoch shuffle flag %u is not 0 or 1", s->name,
                         shuffle);
    c.shuffle = (int)shuffle;
    const int rng_zero = (c.rng[0] | c.rng[1] | c.rng[2] | c.rng[3]) == 0;
    if (c.rows == 0) {
        if (c.n || c.batch || c.correct || c.shuffle || !rng_zero || c.loss_sum != 0.0)
            return error_set(NERVE_EFORMAT, "%s: no cut epoch, but its fields are not 0", s->name);
    } else {
        /* whole batches of at least one row, the epoch not finished */
        if (!(c.batch >= 1 && c.batch <= c.n && c.rows < c.n && c.rows % c.batch == 0))
            return error_set(NERVE_EFORMAT,
                             "%s: cut epoch after %llu of %llu rows in batches of %llu is not "
                             "possible",
                             s->name, (unsigned long long)c.rows, (unsigned long long)c.n,
                             (unsigned long long)c.batch);
        if (!(isfinite(c.loss_sum) && c.loss_sum >= 0.0) || c.correct > c.rows)
            return error_set(NERVE_EFORMAT,
                             "%s: cut epoch's loss sum %g or correct count %llu "
                             "is not possible",
                             s->name, c.loss_sum, (unsigned long long)c.correct);
        if (c.shuffle == rng_zero) /* shuffled: a real state (never all zero); else none */
            return error_set(NERVE_EFORMAT,
                             "%s: cut epoch's generator state does not fit its "
                             "shuffle flag",
                             s->name);
    }
    net->sched = sched;
    net->cut = c;
    return NERVE_OK;
}

/* A library argument check on file values is a format error of the file. */
static nerve_status as_format(const source *s, nerve_status st) {
    if (st == NERVE_EINVAL) {
        error_prefix("%s", s->name);
        return NERVE_EFORMAT;
    }
    return st;
}

/* A transform section: w shifts then w scales. */
static nerve_status fill_transform(const source *s, const uint8_t *p, size_t w, nerve_net *net,
                                   int output) {
    float *v = malloc(2 * w * sizeof *v);
    if (!v) return error_set(NERVE_ENOMEM, "%s: out of memory", s->name);
    for (size_t i = 0; i < 2 * w; i++) v[i] = f32_of(le32(p + 4 * i));
    nerve_status st = output ? nerve_net_set_output_transform(net, v, v + w)
                             : nerve_net_set_input_transform(net, v, v + w);
    free(v);
    return as_format(s, st);
}

/* The class names section: u32 count (= outputs), then per name u32 length
 * and its bytes, exactly filling the section. */
static nerve_status fill_names(const source *s, const uint8_t *p, uint64_t len, nerve_net *net) {
    const size_t k = net->sizes[net->n_layers];
    if (le32(p) != k)
        return error_set(NERVE_EFORMAT, "%s: %u class names for %zu outputs", s->name, le32(p), k);
    /* each name takes at least 5 bytes: k <= len / 5, so this is bounded by the file */
    if (k > (len - 4) / 5)
        return error_set(NERVE_EFORMAT, "%s: class names section too short for %zu names", s->name,
                         k);
    char **names = calloc(k, sizeof *names);
    if (!names) return error_set(NERVE_ENOMEM, "%s: out of memory", s->name);
    nerve_status st = NERVE_OK;
    uint64_t pos = 4;
    for (size_t i = 0; i < k && st == NERVE_OK; i++) {
        uint32_t n = len - pos >= 4 ? le32(p + pos) : 0;
        if (len - pos < 4 || n > NET_MAX_NAME || n > len - pos - 4) {
            st = error_set(NERVE_EFORMAT, "%s: class name %zu runs past its section", s->name, i);
            break;
        }
        const char *bad = net_bad_class_name((const char *)p + pos + 4, n);
        if (bad) {
            st = error_set(NERVE_EFORMAT, "%s: class name %zu %s", s->name, i, bad);
            break;
        }
        names[i] = malloc((size_t)n + 1);
        if (!names[i]) {
            st = error_set(NERVE_ENOMEM, "%s: out of memory", s->name);
            break;
        }
        memcpy(names[i], p + pos + 4, n);
        names[i][n] = '\0';
        pos += 4 + (uint64_t)n;
    }
    if (st == NERVE_OK && pos != len)
        st = error_set(NERVE_EFORMAT, "%s: %llu bytes after the class names in their section",
                       s->name, (unsigned long long)(len - pos));
    if (st == NERVE_OK)
        st = as_format(s, nerve_net_set_class_names(net, (const char *const *)names));
    for (size_t i = 0; i < k; i++) free(names[i]);
    free(names);
    return st;
}

/* Step 3: build the network from a validated header. */
static nerve_status fill_net(source *s, const header *h, uint8_t *chunk, nerve_net *net) {
    TRY(src_seek(s, h->params_at));
    TRY(read_block(s, chunk, net, net->params, 0, "parameter"));
    if (h->sec[MODEL_SEC_INPUT_TRANSFORM])
        TRY(fill_transform(s, h->sec[MODEL_SEC_INPUT_TRANSFORM], net->sizes[0], net, 0));
    if (h->sec[MODEL_SEC_OUTPUT_TRANSFORM])
        TRY(fill_transform(s, h->sec[MODEL_SEC_OUTPUT_TRANSFORM], net->sizes[net->n_layers], net,
                           1));
    if (h->sec[MODEL_SEC_CLASS_NAMES])
        TRY(fill_names(s, h->sec[MODEL_SEC_CLASS_NAMES], h->sec_len[MODEL_SEC_CLASS_NAMES], net));
    if (h->sec[MODEL_SEC_PRECISION]) {
        const uint32_t p = le32(h->sec[MODEL_SEC_PRECISION]);
        if (p >= NERVE_PRECISION_COUNT)
            return error_set(NERVE_EFORMAT, "%s: training precision %u is not known (0 fp32, 1 bf16)",
                             s->name, p);
        net->precision = (nerve_precision)p;
    }
    if (!(h->flags & MODEL_FLAG_TRAINING)) return NERVE_OK;
    nerve_status st = nerve_net_set_optimizer(net, &h->opt);
    if (st == NERVE_EINVAL) {
        error_prefix("%s: training state", s->name);
        return NERVE_EFORMAT;
    }
    if (st != NERVE_OK) return st;
    TRY(check_counters(s, h));
    if (h->n_buffers >= 1) TRY(read_block(s, chunk, net, net->opt_m, 0, "first moment"));
    if (h->n_buffers >= 2) TRY(read_block(s, chunk, net, net->opt_v, 1, "second moment"));
    net->step = h->step;
    net->epoch = h->epoch;
    net->beta1_pow = h->beta1_pow;
    net->beta2_pow = h->beta2_pow;
    memcpy(net->rng, h->rng, sizeof net->rng);
    if (h->sec[MODEL_SEC_PROGRESS]) TRY(fill_progress(s, h->sec[MODEL_SEC_PROGRESS], net));
    return NERVE_OK;
}

static nerve_status model_read(source *s, nerve_net **out) {
    *out = NULL;
    header h;
    nerve_status st = read_header(s, &h);
    uint8_t *chunk = NULL;
    nerve_net *net = NULL;
    if (st == NERVE_OK) {
        chunk = malloc(CHUNK);
        if (!chunk) st = error_set(NERVE_ENOMEM, "%s: out of memory", s->name);
    }
    if (st == NERVE_OK) st = check_crc(s, chunk);
    if (st == NERVE_OK) {
        st = nerve_net_create(&net, h.n_layers, h.sizes, h.acts, (nerve_loss)h.loss, h.seed);
        if (st == NERVE_EINVAL) { /* the header checks should make this unreachable */
            error_prefix("%s", s->name);
            st = NERVE_EFORMAT;
        }
    }
    if (st == NERVE_OK) st = fill_net(s, &h, chunk, net);
    free(chunk);
    header_free(&h);
    if (st != NERVE_OK) {
        nerve_net_free(net);
        return st;
    }
    *out = net;
    return NERVE_OK;
}

nerve_status model_read_mem(const uint8_t *buf, size_t len, const char *name, nerve_net **out) {
    source s = {buf ? buf : (const uint8_t *)"", NULL, len, 0, name};
    return model_read(&s, out);
}

nerve_status model_read_file(FILE *f, uint64_t len, const char *name, nerve_net **out) {
    source s = {NULL, f, len, 0, name};
    return model_read(&s, out);
}
