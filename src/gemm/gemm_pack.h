/* Packing of GEMM operands into the micro-kernel's panel layout (table.h):
 * a panel of width W (MR for A, NR for B) and depth kc is stored as kc
 * groups of W floats, dst[p*W + x], lanes x >= width zero-filled.
 *
 * Both operands are the same operation seen through strides: element
 * (x, p) of the panel is src[x*xs + p*ps]
 *   A panel: x = row i, p = k index  -> xs = a_rs, ps = a_cs
 *   B panel: x = col j, p = k index  -> xs = b_cs, ps = b_rs
 * Pure data movement (no arithmetic), so it cannot affect the bits of the
 * result; it only has to be fast. The transposing case (ps == 1) is the
 * table's gemm_pack_t kernel, so kt is the table of the product. The
 * elements are 32-bit words (pack_word, table.h): floats for gemm.c, bf16
 * pair words for gemm_bf16.c, whose panels are the same layout with W =
 * bf16_mr / bf16_nr and kc counted in pairs. */
#ifndef NERVE_SRC_GEMM_PACK_H
#define NERVE_SRC_GEMM_PACK_H

#include <stddef.h>

#include "table.h"

void gemm_pack_panel(const kernel_table *kt, const pack_word *src, size_t xs, size_t ps,
                     size_t width, size_t kc, size_t w, pack_word *dst);

/* Packs lanes [0, width) as ceil(width / w) consecutive panels (panel q at
 * dst + q*w*kc, the last one zero-padded): the same result as one
 * gemm_pack_panel per panel, but when xs == 1 it walks the source a few rows
 * at a time across all panels (panel by panel would touch kc rows of a large
 * stride for every panel, a TLB miss per row); when ps == 1 it packs a
 * panel at a time, prefetching the next panel's source rows as it goes. */
void gemm_pack_block(const kernel_table *kt, const pack_word *src, size_t xs, size_t ps,
                     size_t width, size_t kc, size_t w, pack_word *dst);

/* All of a B operand of k steps and n lanes packed as the drivers' prepacked
 * layout (gemm_prepack_b, gemm_bf16_prepack_b): slices of kc_max steps
 * (the last one shorter) one after another, each ceil(n / w) panels
 * (gemm_pack_block), round_up(n, w) * k words in all. */
void gemm_pack_slices(const kernel_table *kt, const pack_word *src, size_t xs, size_t ps, size_t n,
                      size_t k, size_t kc_max, size_t w, pack_word *dst);

#endif
