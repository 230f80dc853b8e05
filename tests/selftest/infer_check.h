/* Inference on prepared weights (src/infer.c) against the unprepared pass
 * (nerve_net_forward_const on a twin network: W packed per call, the
 * training forward), bit for bit, through the public API with the active
 * kernel table: so the AArch64 run under qemu (scripts/test-neon.sh) covers
 * the packed path with NEON's 8 x 12 tile too. */
#ifndef NERVE_SELFTEST_INFER_CHECK_H
#define NERVE_SELFTEST_INFER_CHECK_H

#include <stddef.h>

/* Every batch size 1 .. 40 and 97 on a network of odd widths, with
 * nerve_net_forward on `threads` OpenMP threads and with
 * nerve_net_forward_const after nerve_net_prepare_inference. Returns 0, or
 * -1 with the first difference in msg (cap bytes). */
int infer_check_run(int threads, char *msg, size_t cap);

#endif
