/* The training precision in model files (docs/model-format.md, section 5):
 * fp32 models are written as before (no section; version 1 when nothing
 * else needs sections), a bf16 model carries an optional section holding
 * the precision, loads back with it, and resumed bf16 training is
 * bit-identical to uninterrupted training; hostile precision sections are
 * refused. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32.h"
#include "model_format.h"
#include "net_internal.h"
#include "nerve/nerve.h"
#include "testutil.h"

static uint32_t ld32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void st32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void fix_crc(uint8_t *b, size_t n) { st32(b + n - 4, crc32_update(0, b, n - 4)); }

/* The model file of net as bytes (model_write into memory). */
static uint8_t *to_bytes(const nerve_net *net, int training, size_t *n) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    cr_assert_eq(model_write(net, training, f, "mem"), NERVE_OK, "%s", nerve_last_error());
    cr_assert_eq(fclose(f), 0);
    *n = len;
    return (uint8_t *)buf;
}

static nerve_net *small_net(void) {
    const size_t sz[3] = {6, 5, 3};
    const nerve_act ac[2] = {NERVE_ACT_RELU, NERVE_ACT_IDENTITY};
    nerve_net *net;
    cr_assert_eq(nerve_net_create(&net, 2, sz, ac, NERVE_LOSS_XENT, 9), NERVE_OK);
    return net;
}

/* Header of the 2-layer net without training state: 36 + 8L bytes, then
 * (version 2) the section count. */
#define SECTIONS_AT (36 + 8 * 2)

Test(model_precision, fp32_writes_no_section_bf16_an_optional_one) {
    nerve_net *net = small_net();
    size_t n32, n16;
    uint8_t *b32 = to_bytes(net, 0, &n32);
    cr_assert_eq(ld32(b32 + 8), 1u, "an fp32 model without sections stays a version 1 file");
    cr_assert_eq(nerve_net_set_precision(net, NERVE_PRECISION_BF16), NERVE_OK);
    uint8_t *b16 = to_bytes(net, 0, &n16);
    cr_assert_eq(ld32(b16 + 8), 2u);
    cr_assert_eq(n16, n32 + 4 + 16 + 4, "section count, one section header, a u32");
    const uint8_t *sec = b16 + SECTIONS_AT;
    cr_assert_eq(ld32(sec), 1u, "one section");
    cr_assert_eq(ld32(sec + 4), 5u, "id 5");
    cr_assert_eq(ld32(sec + 8), 0u, "optional: a reader that does not know it skips it");
    cr_assert_eq(ld32(sec + 12), 4u);
    cr_assert_eq(ld32(sec + 16), 0u, "length high word");
    cr_assert_eq(ld32(sec + 20), 1u, "NERVE_PRECISION_BF16");
    /* the parameters follow unchanged: the same bytes as the fp32 file's */
    cr_assert(!memcmp(b16 + SECTIONS_AT + 24, b32 + SECTIONS_AT, n32 - SECTIONS_AT - 4));
    nerve_net *back;
    cr_assert_eq(model_read_mem(b16, n16, "bf16", &back), NERVE_OK, "%s", nerve_last_error());
    cr_assert_eq(nerve_net_precision(back), NERVE_PRECISION_BF16);
    nerve_net_free(back);
    cr_assert_eq(model_read_mem(b32, n32, "fp32", &back), NERVE_OK);
    cr_assert_eq(nerve_net_precision(back), NERVE_PRECISION_FP32);
    nerve_net_free(back);
    free(b32);
    free(b16);
    nerve_net_free(net);
}

Test(model_precision, hostile_sections_refused) {
    nerve_net *net = small_net();
    nerve_net_set_precision(net, NERVE_PRECISION_BF16);
    size_t n;
    uint8_t *b = to_bytes(net, 0, &n);
    const size_t value_at = SECTIONS_AT + 20;
    nerve_net *back = NULL;
    /* a precision this library does not know */
    st32(b + value_at, 7);
    fix_crc(b, n);
    cr_assert_eq(model_read_mem(b, n, "m.nrv", &back), NERVE_EFORMAT);
    cr_assert(strstr(nerve_last_error(), "precision 7") != NULL, "%s", nerve_last_error());
    cr_assert_null(back);
    /* a section of 8 bytes (1, then 0) */
    uint8_t *e = malloc(n + 4);
    memcpy(e, b, value_at);
    st32(e + SECTIONS_AT + 12, 8);
    st32(e + value_at, 1);
    st32(e + value_at + 4, 0);
    memcpy(e + value_at + 8, b + value_at + 4, n - value_at - 4);
    fix_crc(e, n + 4);
    cr_assert_eq(model_read_mem(e, n + 4, "m.nrv", &back), NERVE_EFORMAT);
    cr_assert(strstr(nerve_last_error(), "precision section of 8 bytes") != NULL, "%s",
              nerve_last_error());
    free(e);
    free(b);
    /* twice */
    size_t m = n + 20;
    uint8_t *c = malloc(m), *d = to_bytes(net, 0, &n);
    memcpy(c, d, SECTIONS_AT);
    st32(c + SECTIONS_AT, 2);
    memcpy(c + SECTIONS_AT + 4, d + SECTIONS_AT + 4, 20);
    memcpy(c + SECTIONS_AT + 24, d + SECTIONS_AT + 4, n - SECTIONS_AT - 4);
    fix_crc(c, m);
    cr_assert_eq(model_read_mem(c, m, "m.nrv", &back), NERVE_EFORMAT);
    cr_assert(strstr(nerve_last_error(), "appears twice") != NULL, "%s", nerve_last_error());
    free(c);
    free(d);
    nerve_net_free(net);
}

/* Two epochs, save with the training state, load, one more: the same bits
 * as three epochs in a row, in bf16 (the file carries the precision, so the
 * resumed run multiplies as the first did). */
Test(model_precision, resumed_bf16_training_is_bit_identical) {
    nerve_data *d;
    cr_assert_eq(nerve_data_load_digits(&d), NERVE_OK);
    const nerve_dataset ds = nerve_data_view(d);
    const nerve_epoch_opts eo = {.batch_size = 64, .shuffle = 1};
    const size_t sz[3] = {64, 33, 10};
    const nerve_act ac[2] = {NERVE_ACT_TANH, NERVE_ACT_IDENTITY};
    nerve_net *a, *b;
    cr_assert_eq(nerve_net_create(&a, 2, sz, ac, NERVE_LOSS_XENT, 21), NERVE_OK);
    nerve_net_set_precision(a, NERVE_PRECISION_BF16);
    nerve_opt o = nerve_opt_default(NERVE_OPT_ADAM);
    nerve_net_set_optimizer(a, &o);
    nerve_eval r;
    for (int e = 0; e < 2; e++) cr_assert_eq(nerve_net_train_epoch(a, &ds, &eo, &r), NERVE_OK);
    size_t n;
    uint8_t *bytes = to_bytes(a, 1, &n);
    cr_assert_eq(model_read_mem(bytes, n, "checkpoint", &b), NERVE_OK, "%s", nerve_last_error());
    cr_assert_eq(nerve_net_precision(b), NERVE_PRECISION_BF16);
    cr_assert_eq(nerve_net_train_epoch(a, &ds, &eo, &r), NERVE_OK);
    cr_assert_eq(nerve_net_train_epoch(b, &ds, &eo, &r), NERVE_OK);
    for (size_t l = 0; l < 2; l++) {
        const size_t nw = sz[l] * sz[l + 1];
        cr_assert_eq(test_first_bit_mismatch(nerve_net_weights(a, l), nerve_net_weights(b, l), nw),
                     SIZE_MAX, "layer %zu", l);
    }
    /* and the same run in fp32 ends elsewhere: the precision was used */
    nerve_net_set_precision(b, NERVE_PRECISION_FP32);
    cr_assert_eq(nerve_net_train_epoch(a, &ds, &eo, &r), NERVE_OK);
    cr_assert_eq(nerve_net_train_epoch(b, &ds, &eo, &r), NERVE_OK);
    cr_assert_neq(
        test_first_bit_mismatch(nerve_net_weights(a, 0), nerve_net_weights(b, 0), 64 * 33),
        SIZE_MAX);
    free(bytes);
    nerve_net_free(a);
    nerve_net_free(b);
    nerve_data_free(d);
}
