/* The public fused linear layer (kernels.h): argument checks, the thread
 * count, then the very functions of src/net/linear.c that nerve_net's training
 * step runs (linear_forward_part with path LINEAR_ONE_DOT, as training's
 * forward; linear_grad_part and linear_backward_data_part, as train.c's
 * backward), so a caller chaining these calls reproduces nerve_net's bits.
 * Workspace: the calling thread's cached GEMM buffer (gemm_tls_workspace),
 * so a call allocates only when it needs more than any earlier call on this
 * thread. */
#include <omp.h>
#include <string.h>

#include "api.h"
#include "error.h"
#include "gemm.h"
#include "linear.h"
#include "omp_sync.h"

typedef struct fwd_job {
    const kernel_table *kt;
    size_t n, in, out;
    const float *x, *w, *b;
    int act;
    float *z, *y, *ws;
} fwd_job;

static void fwd_thread(const fwd_job *j, int t, int nt) {
    linear_forward_part(j->kt, j->n, j->in, j->out, j->x, j->w, j->b, j->act, LINEAR_ONE_DOT, j->z,
                        j->y, j->ws, t, nt, NULL);
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
    const kernel_table *kt = kernels_active();
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
    int nt;
    float *ws = NULL; /* the GEMV path of one row needs none */
    if (n == 1) {
        /* outputs split in 16-float units */
        nt = gemm_threads(1, out, in);
        if ((size_t)nt > (out + 15) / 16) nt = (int)((out + 15) / 16);
    } else {
        nt = gemm_threads(n, out, in);
        ws = gemm_tls_workspace(gemm_workspace_floats(kt, nt));
        if (!ws) return error_set(NERVE_ENOMEM, "%s: out of memory for the GEMM workspace", fn);
    }
    const fwd_job j = {kt, n, in, out, x, w, b, (int)act, z, y, ws};
    if (nt <= 1) {
        fwd_thread(&j, 0, 1);
        return NERVE_OK;
    }
    OMP_FORK(&j);
#pragma omp parallel num_threads(nt)
    {
        OMP_READ_SHARED_BEGIN();
        const fwd_job *jp = &j;
        OMP_READ_SHARED_END();
        OMP_ENTER(jp);
        fwd_thread(jp, omp_get_thread_num(), omp_get_num_threads());
        OMP_LEAVE(jp);
    }
    OMP_JOIN(&j);
    return NERVE_OK;
}

typedef struct bwd_job {
    const kernel_table *kt;
    size_t n, in, out;
    const float *x, *w, *dz, *zp, *yp;
    float *dw, *db, *dx, *ws;
    int accumulate, prev_act;
} bwd_job;

/* Thread t's share of everything, as train.c's backward of a layer: the
 * weight and bias gradients by linear_grad_block's blocks (no hook), then
 * dX. They write different arrays and read only the inputs, so no barrier
 * is needed between them; each thread uses only its slice of ws. */
static void bwd_thread(const bwd_job *j, int t, int nt) {
    if (j->dw || j->db)
        linear_grad_part(j->kt, j->n, j->in, j->out, j->x, j->dz, j->dw, j->db, j->accumulate, NULL,
                         j->ws, t, nt);
    if (j->dx)
        linear_backward_data_part(j->kt, j->n, j->in, j->out, j->w, j->dz, j->prev_act, j->zp,
                                  j->yp, j->dx, j->ws, t, nt);
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
            const kernel_table *kt0 = kernels_active();
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
    const kernel_table *kt = kernels_active();
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
    OMP_FORK(&j);
#pragma omp parallel num_threads(nt)
    {
        OMP_READ_SHARED_BEGIN();
        const bwd_job *jp = &j;
        OMP_READ_SHARED_END();
        OMP_ENTER(jp);
        bwd_thread(jp, omp_get_thread_num(), omp_get_num_threads());
        OMP_LEAVE(jp);
    }
    OMP_JOIN(&j);
    return NERVE_OK;
}
