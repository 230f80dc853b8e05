/* Inference on prepared weights (src/net/infer.c): every layer's W^T packed once
 * into the micro-kernel's B panels, and the forward pass that streams them.
 *
 * The packed weights (net->packed, for the tables whose NR is
 * net->packed_nr): layer l, in = sizes[l], out = sizes[l+1], is
 * ceil(out / NR) panels; panel q holds outputs [q NR, q NR + NR) as `in`
 * rows of NR floats (row p: W[q NR + j][p] for j < NR, zeros past `out`),
 * the B panel of gemm_ukr_fn (table.h) over the whole depth. Panels start
 * every infer_panel_stride(in, NR) floats (64-byte aligned), layers one
 * after another from net->packed. Memory: sum over layers of
 * ceil(out / NR) * infer_panel_stride(in, NR) floats, i.e. the weights
 * rounded up to NR outputs per layer (784-256-128-10 with AVX-512's NR 32:
 * 237,568 floats for 234,752 weights, 928 KiB).
 *
 * Every output is the chain of the batch-invariance rule (net.h): one fma
 * chain over k in increasing order from 0, then + bias, then the
 * activation, whatever the batch, the thread count and the ISA; so the
 * packed path gives the same bits as the unprepared one (fwd_run packing W
 * per call). */
#ifndef NERVE_SRC_INFER_H
#define NERVE_SRC_INFER_H

#include <stddef.h>

#include "net_internal.h"
#include "table.h"

/* The largest MR the pass supports (scratch bounds; every table's is <= 12). */
#define INFER_MAX_MR 16

/* Floats from one panel to the next: in * nr rounded up to 16 (64 bytes). */
size_t infer_panel_stride(size_t in, size_t nr);
/* Floats of the packed weights of `net` for panels of width nr. */
size_t infer_packed_floats(const nerve_net *net, size_t nr);

/* Makes net->packed hold the weights packed for kt's NR (rebuilt when the
 * weights changed since, net->packed_valid == 0, or when packed for another
 * NR). NERVE_ENOMEM (message set) when the memory cannot be had; the
 * network is then left without packed weights. */
nerve_status infer_prepare(nerve_net *net, const kernel_table *kt);
/* The packed weights if valid and usable with kt, else NULL. */
const float *infer_weights(const nerve_net *net, const kernel_table *kt);

/* Scratch of a pass of at most n rows with kt: two ping-pong buffers shared
 * by the team (infer_buf_floats each: n rows at the stride of the widest
 * hidden layer, on every table) and one staging area per thread
 * (infer_work_floats: a K slice of a row block's A tiles, or one tile of
 * the whole depth; with kt NULL a bound over every table, for
 * nerve_net_forward_scratch_floats). */
size_t infer_buf_floats(const nerve_net *net, size_t n);
size_t infer_work_floats(const nerve_net *net, const kernel_table *kt, size_t n);

/* One forward pass of n >= 1 rows on the packed weights pk. buf[0], buf[1]:
 * infer_buf_floats(net, n) floats each; work: nt areas of
 * infer_work_floats(net, kt, n) floats; all 64-byte aligned. */
typedef struct infer_pass {
    const kernel_table *kt;
    const nerve_net *net;
    const float *pk;
    const float *x; /* n x sizes[0] */
    size_t n;
    float *buf[2];
    float *work;
    float *out; /* n x sizes[n_layers] */
} infer_pass;

/* Runs the pass as thread t of nt (call from every thread of a parallel
 * region of nt threads, or t = 0, nt = 1). */
void infer_run(const infer_pass *p, int t, int nt);

#endif
