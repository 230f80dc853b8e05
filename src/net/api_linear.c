/* The public fused linear layer (kernels.h): the functions of src/net/linear.c
 * that nerve_net's training step runs, with nerve_net's batch-of-one path
 * (GEMV, src/net/forward.c and src/net/train.c) for n == 1, so a caller chaining
 * these calls reproduces nerve_net's bits. Workspace: the calling thread's
 * cached GEMM buffer (gemm_tls_workspace), so a call allocates only when it
 * needs more than any earlier call on this thread. */
#include <omp.h>
#include <string.h>

#include "api.h"
#include "error.h"
#include "gemm.h"
#include "linear.h"

/* Outputs [o0, o1) of one row, as forward.c's batch-of-one path:
 * z = W x (16-lane dots), z += b, y = act(z). */
static void fwd_one(const kernels *kt, size_t in, size_t o0, size_t o1, const float *x,
                    const float *w, const float *b, int act, float *z, float *y) {
    const size_t cols = o1 - o0;
    kt->gemv_n(cols, in, 1.0f, w + o0 * in, in, x, 0.0f, z + o0);
    if (b) kt->bias_add(1, cols, z + o0, cols, b + o0);
    if (act != ACT_IDENTITY || y != z) kt->act_fwd[act](cols, z + o0, y + o0);
}

nerve_status nerve_linear_forward(size_t n, size_t in, size_t out, const float *x, const float *w,
                                  const float *b, nerve_act act, float *z, float *y) {
    static const char fn[] = "nerve_linear_forward";
    nerve_status st;
    if ((st = api_check_act(fn, act)) || (st = api_check_matrix(fn, "x", x, n, in, in)) ||
        (st = api_check_matrix(fn, "w", w, out, in, in)) ||
        (st = api_check_matrix(fn, "y", y, n, out, out)) ||
        (z && (st = api_check_matrix(fn, "z", z, n, out, out))))
        return st;
    CHECK_ARG(z == NULL || z != y,
              "%s: z and y must be different arrays (pass z = NULL to "
              "compute y in place)",
              fn);
    if (n == 0 || out == 0) return NERVE_OK;
    const kernels *kt = kernels_active();
    float *zz = z ? z : y;
    if (in == 0) {
        /* no inputs: Z = b (or 0), then the activation */
        for (size_t i = 0; i < n; i++) {
            if (b)
                memcpy(zz + i * out, b, out * sizeof(float));
            else
                memset(zz + i * out, 0, out * sizeof(float));
        }
        if (act != NERVE_ACT_IDENTITY || z) kt->act_fwd[act](n * out, zz, y);
        return NERVE_OK;
    }
    if (n == 1) {
        int nt = gemm_threads(1, out, in);
        if ((size_t)nt > (out + 15) / 16) nt = (int)((out + 15) / 16);
        if (nt <= 1) {
            fwd_one(kt, in, 0, out, x, w, b, act, zz, y);
            return NERVE_OK;
        }
#pragma omp parallel num_threads(nt)
        {
            size_t o0, o1;
            split_range(out, 16, omp_get_thread_num(), omp_get_num_threads(), &o0, &o1);
            if (o1 > o0) fwd_one(kt, in, o0, o1, x, w, b, act, zz, y);
        }
        return NERVE_OK;
    }
    const int nt = gemm_threads(n, out, in);
    float *ws = gemm_tls_workspace(gemm_workspace_floats(kt, nt));
    if (!ws) return error_set(NERVE_ENOMEM, "%s: out of memory for the GEMM workspace", fn);
    linear_forward(kt, n, in, out, x, w, b, (int)act, z, y, ws, nt);
    return NERVE_OK;
}

typedef struct bwd_job {
    const kernels *kt;
    size_t n, in, out;
    const float *x, *w, *dz, *zp, *yp;
    float *dw, *db, *dx, *ws;
    int accumulate, prev_act;
} bwd_job;

/* Thread t's share of everything: n == 1 as train.c's batch-of-one path
 * (db by colsum, dW rows as products x * dz_o, dX by gemv_t then the
 * activation derivative), else linear.c's backward parts. */
static void bwd_thread(const bwd_job *j, int t, int nt) {
    const kernels *kt = j->kt;
    const size_t in = j->in, out = j->out;
    if (j->n == 1) {
        size_t r0, r1, c0, c1;
        split_range(out, 16, t, nt, &r0, &r1);
        split_range(in, 16, t, nt, &c0, &c1);
        if (j->db && r1 > r0) kt->colsum(1, r1 - r0, j->dz + r0, out, j->db + r0, j->accumulate);
        if (j->dw && r1 > r0) {
            if (j->accumulate) {
                const gemm_args g = {.m = r1 - r0,
                                     .n = in,
                                     .k = 1,
                                     .a = j->dz + r0,
                                     .a_rs = 1,
                                     .a_cs = out,
                                     .b = j->x,
                                     .b_rs = in,
                                     .b_cs = 1,
                                     .c = j->dw + r0 * in,
                                     .ldc = in,
                                     .accumulate = 1};
                gemm_part(kt, &g, NULL, j->ws + (size_t)t * gemm_thread_workspace_floats(kt), 0, 1);
            } else {
                for (size_t o = r0; o < r1; o++)
                    kt->axpby(in, j->dz[o], j->x, 0.0f, j->dw + o * in);
            }
        }
        if (j->dx && c1 > c0) {
            kt->gemv_t(out, c1 - c0, 1.0f, j->w + c0, in, j->dz, 0.0f, j->dx + c0);
            if (j->prev_act != ACT_IDENTITY)
                kt->act_bwd[j->prev_act](c1 - c0, j->zp + c0, j->yp + c0, j->dx + c0, j->dx + c0);
        }
        return;
    }
    if (j->dw) {
        linear_backward_part(kt, j->n, in, out, j->x, j->w, j->dz, j->dw, j->db, j->accumulate,
                             j->prev_act, j->zp, j->yp, j->dx, j->ws, t, nt);
        return;
    }
    if (j->db) {
        size_t c0, c1;
        split_range(out, 16, t, nt, &c0, &c1);
        if (c1 > c0) kt->colsum(j->n, c1 - c0, j->dz + c0, out, j->db + c0, j->accumulate);
    }
    if (j->dx)
        linear_backward_data_part(kt, j->n, in, out, j->w, j->dz, j->prev_act, j->zp, j->yp, j->dx,
                                  j->ws, t, nt);
}

nerve_status nerve_linear_backward(size_t n, size_t in, size_t out, const float *x, const float *w,
                                   const float *dz, float *dw, float *db, int accumulate,
                                   nerve_act prev_act, const float *prev_z, const float *prev_y,
                                   float *dx) {
    static const char fn[] = "nerve_linear_backward";
    nerve_status st;
    if ((st = api_check_act(fn, prev_act))) return st;
    CHECK_ARG(accumulate == 0 || accumulate == 1, "%s: accumulate must be 0 or 1 (got %d)", fn,
              accumulate);
    if ((st = api_check_matrix(fn, "dz", dz, n, out, out)) ||
        (dw && ((st = api_check_matrix(fn, "x", x, n, in, in)) ||
                (st = api_check_matrix(fn, "dw", dw, out, in, in)))) ||
        (db && (st = api_check_vector(fn, "db", db, out))) ||
        (dx && ((st = api_check_matrix(fn, "w", w, out, in, in)) ||
                (st = api_check_matrix(fn, "dx", dx, n, in, in)))) ||
        (dx && prev_act != NERVE_ACT_IDENTITY &&
         ((st = api_check_matrix(fn, "prev_z", prev_z, n, in, in)) ||
          (st = api_check_matrix(fn, "prev_y", prev_y, n, in, in)))))
        return st;
    CHECK_ARG(!(dx && dw && (void *)dx == (void *)dw), "%s: dx and dw are the same array", fn);
    if (n == 0) {
        /* no samples: the gradients are sums over no rows */
        if (!accumulate && dw && in && out) memset(dw, 0, out * in * sizeof(float));
        if (!accumulate && db && out) memset(db, 0, out * sizeof(float));
        return NERVE_OK;
    }
    if (out == 0) {
        /* dX = dZ W is a sum over no terms: 0, then the derivative, as the
         * GEMM driver does for k == 0 (w and dz may be NULL here) */
        if (dx && in) {
            const kernels *kt0 = kernels_active();
            memset(dx, 0, n * in * sizeof(float));
            if (prev_act != NERVE_ACT_IDENTITY)
                kt0->act_bwd[prev_act](n * in, prev_z, prev_y, dx, dx);
        }
        return NERVE_OK;
    }
    if (!dx || in == 0) dx = NULL;
    if (!dw || in == 0 || out == 0) dw = NULL;
    if (!db || out == 0) db = NULL;
    if (!dx && !dw && !db) return NERVE_OK;
    const kernels *kt = kernels_active();
    /* the larger of the two products sets the team */
    int nt = gemm_threads(n, in, out > 1 ? out : 1);
    if (n == 1 && (size_t)nt > (in > out ? in : out) / 16) nt = (int)((in > out ? in : out) / 16);
    if (nt < 1) nt = 1;
    float *ws = gemm_tls_workspace(gemm_workspace_floats(kt, nt));
    if (!ws) return error_set(NERVE_ENOMEM, "%s: out of memory for the GEMM workspace", fn);
    const bwd_job j = {kt,     n,  in, out, x,  w,          dz,           prev_z,
                       prev_y, dw, db, dx,  ws, accumulate, (int)prev_act};
    if (nt <= 1) {
        bwd_thread(&j, 0, 1);
        return NERVE_OK;
    }
#pragma omp parallel num_threads(nt)
    bwd_thread(&j, omp_get_thread_num(), omp_get_num_threads());
    return NERVE_OK;
}
