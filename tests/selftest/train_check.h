/* A short seeded training run through the public API whose result, a CRC-32
 * of the final weights, must be the same bit for bit on every ISA, for every
 * thread count and on every machine (scripts/test-neon.sh compares the
 * AArch64 value, run under qemu, with the x86-64 one). */
#ifndef NERVE_SELFTEST_TRAIN_CHECK_H
#define NERVE_SELFTEST_TRAIN_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "nerve/cpu.h"

typedef struct train_result {
    uint32_t crc;    /* CRC-32 of every layer's weights then bias, raw bytes */
    float last_loss; /* mean training loss of the last epoch */
    uint64_t steps;  /* optimizer steps taken */
} train_result;

/* Trains the fixed network on the fixed synthetic data with the active
 * kernel table and `threads` OpenMP threads. Returns 0, or -1 with a message
 * in msg (cap bytes). */
int train_check_run(int threads, train_result *out, char *msg, size_t cap);

/* What train_check_run trains, in words (printed with the checksum). */
extern const char train_check_description[];

#endif
