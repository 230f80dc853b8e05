/* No allocation inside a training step: once a network has planned its
 * memory for a batch size, further steps of that size or smaller (GEMM and
 * GEMV paths, every optimizer) call no allocator. The test interposes the
 * C allocator (glibc's __libc_* entry points underneath) and counts calls
 * made by the testing thread while a flag is set. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <omp.h>
#include <stddef.h>
#include <stdlib.h>

#include "nerve/nerve.h"
#include "infer.h"
#include "testutil.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NERVE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define NERVE_ASAN 1
#endif

#ifdef NERVE_ASAN
/* AddressSanitizer owns the allocator; replacing it here would hand ASan
 * memory it did not allocate. The check runs in every non-sanitizer build. */
Test(net_alloc, steady_state_steps_do_not_allocate) {
    cr_skip_test("allocator interposition is not possible under AddressSanitizer");
}
Test(net_alloc, inference_plans_no_training_buffers) {
    cr_skip_test("allocator interposition is not possible under AddressSanitizer");
}
#else

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static _Thread_local int counting;
static _Thread_local size_t calls, bytes;

void *malloc(size_t n);
void *calloc(size_t a, size_t b);
void *realloc(void *p, size_t n);
void *aligned_alloc(size_t al, size_t n);
int posix_memalign(void **p, size_t al, size_t n);

void *malloc(size_t n) {
    calls += counting;
    bytes += counting ? n : 0;
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b) {
    calls += counting;
    bytes += counting ? a * b : 0;
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n) {
    calls += counting;
    bytes += counting ? n : 0;
    return __libc_realloc(p, n);
}
void *aligned_alloc(size_t al, size_t n) {
    calls += counting;
    bytes += counting ? n : 0;
    return __libc_memalign(al, n);
}
int posix_memalign(void **p, size_t al, size_t n) {
    calls += counting;
    bytes += counting ? n : 0;
    *p = __libc_memalign(al, n);
    return *p ? 0 : 12; /* ENOMEM */
}

Test(net_alloc, steady_state_steps_do_not_allocate) {
    omp_set_num_threads(1); /* only the calling thread's calls are counted */
    const size_t sizes[] = {50, 40, 30, 5};
    const nerve_act acts[] = {NERVE_ACT_RELU, NERVE_ACT_GELU, NERVE_ACT_IDENTITY};
    const nerve_opt_kind kinds[] = {NERVE_OPT_SGD, NERVE_OPT_ADAM, NERVE_OPT_ADAMW};
    for (size_t k = 0; k < 3; k++) {
        nerve_net *net;
        cr_assert_eq(nerve_net_create(&net, 3, sizes, acts, NERVE_LOSS_XENT, 3), NERVE_OK);
        nerve_opt o = nerve_opt_default(kinds[k]);
        o.momentum = kinds[k] == NERVE_OPT_SGD ? 0.9f : 0.0f;
        cr_assert_eq(nerve_net_set_optimizer(net, &o), NERVE_OK);
        float x[32 * 50], out[32 * 5];
        int32_t lab[32];
        test_fill(x, 32 * 50, 1, -1, 1);
        for (int i = 0; i < 32; i++) lab[i] = i % 5;
        nerve_batch b = {.x = x, .labels = lab, .n = 32};
        cr_assert_eq(nerve_net_train_batch(net, &b, NULL), NERVE_OK); /* plans */
        cr_assert_eq(nerve_net_forward(net, x, 32, out), NERVE_OK);
        /* the first inference allocates the packed weights (src/net/infer.c),
         * once; later ones repack in place after each training step */
        cr_assert_eq(nerve_net_forward(net, x, 1, out), NERVE_OK);
        calls = 0;
        counting = 1;
        const size_t ns[] = {32, 7, 1, 32, 2};
        for (size_t s = 0; s < 5; s++) {
            b.n = ns[s];
            nerve_status st = nerve_net_train_batch(net, &b, NULL);
            st |= nerve_net_gradients(net, &b, NULL);
            st |= nerve_net_forward(net, x, ns[s], out);
            cr_assert_eq(st, NERVE_OK);
        }
        counting = 0;
        cr_assert_eq(calls, 0, "%zu allocations in steady-state steps (%s)", calls,
                     nerve_opt_name(kinds[k]));
        nerve_net_free(net);
    }
}

/* Inference on a fresh network plans only what inference needs (plan.h,
 * src/net/infer.h): the packed weights (infer_packed_floats: the parameters,
 * each layer's outputs rounded up to the panel width), the two ping-pong
 * buffers and one staging area per thread (infer_buf_floats,
 * infer_work_floats), each rounded to 64 bytes, and at most 4 KiB of the
 * plan's own bookkeeping. Never the training buffers (Z and A of every
 * layer, the gradient ring, the row losses: here some 2.4 MiB) nor the GEMM
 * workspace the packed path does without (3.5 MiB with AVX-512): measured
 * here, the pass allocates within 4.1 KB of this budget. */
Test(net_alloc, inference_plans_no_training_buffers) {
    omp_set_num_threads(1);
    const size_t sizes[] = {50, 400, 400, 400, 10}, rows = 256;
    const nerve_act acts[] = {NERVE_ACT_RELU, NERVE_ACT_TANH, NERVE_ACT_GELU, NERVE_ACT_IDENTITY};
    nerve_net *net;
    cr_assert_eq(nerve_net_create(&net, 4, sizes, acts, NERVE_LOSS_XENT, 3), NERVE_OK);
    float *x = malloc(rows * 50 * sizeof(float)), *out = malloc(rows * 10 * sizeof(float));
    test_fill(x, rows * 50, 1, -1, 1);
    const kernel_table *kt = kernels_active();
    const size_t floats = infer_packed_floats(net, kt->nr) + 2 * infer_buf_floats(net, rows) +
                          infer_work_floats(net, kt, rows) + 4 * 16;
    const size_t allowed = floats * sizeof(float) + 4096;
    bytes = 0;
    counting = 1;
    nerve_status st = nerve_net_forward(net, x, rows, out);
    counting = 0;
    cr_assert_eq(st, NERVE_OK, "%s", nerve_last_error());
    cr_assert_leq(bytes, allowed, "inference allocated %zu bytes, more than the %zu it needs", bytes,
                  allowed);
    /* and a training step afterwards still works (it plans its own part) */
    int32_t labels[256];
    for (size_t i = 0; i < rows; i++) labels[i] = (int32_t)(i % 10);
    const nerve_batch b = {.x = x, .labels = labels, .n = rows};
    bytes = 0;
    counting = 1;
    st = nerve_net_train_batch(net, &b, NULL);
    counting = 0;
    cr_assert_eq(st, NERVE_OK, "%s", nerve_last_error());
    cr_assert_geq(bytes, rows * 400 * 3 * sizeof(float), "the training step planned too little");
    free(x), free(out);
    nerve_net_free(net);
}

/* The counter sees the library's allocations (so the test above can fail):
 * forward_const without scratch allocates its own. */
Test(net_alloc, counter_sees_library_allocations) {
    const size_t sizes[] = {4, 3};
    const nerve_act acts[] = {NERVE_ACT_IDENTITY};
    nerve_net *net;
    cr_assert_eq(nerve_net_create(&net, 1, sizes, acts, NERVE_LOSS_MSE, 3), NERVE_OK);
    float x[8] = {0}, out[6];
    calls = 0;
    counting = 1;
    cr_assert_eq(nerve_net_forward_const(net, x, 2, out, NULL), NERVE_OK);
    counting = 0;
    cr_assert_geq(calls, 1);
    nerve_net_free(net);
}
#endif
