/* CRC-32 (IEEE 802.3, the checksum of zlib, gzip and PNG): reflected
 * polynomial 0xEDB88320, initial value and final XOR 0xFFFFFFFF.
 * crc32("123456789") == 0xCBF43926. */
#ifndef NERVE_SRC_CRC32_H
#define NERVE_SRC_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continues a checksum: start with crc = 0, feed the bytes in any number
 * of pieces; the value after the last piece is the CRC of the whole. */
uint32_t crc32_update(uint32_t crc, const void *data, size_t n);

#endif
