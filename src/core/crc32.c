/* Table-driven CRC-32, one byte per step (the "Sarwate" algorithm).
 *
 * The checksum is the remainder of the message polynomial (bits taken
 * least-significant first) times x^32, divided by the IEEE 802.3 generator
 * x^32+x^26+x^23+x^22+x^16+x^12+x^11+x^10+x^8+x^7+x^5+x^4+x^2+x+1, whose
 * bit-reversed coefficients are 0xEDB88320. table[b] is the remainder
 * contributed by byte b, so each step is crc = table[(crc ^ byte) & 0xff] ^
 * (crc >> 8). The register starts at 0xFFFFFFFF and is inverted at the end
 * (so leading zero bytes change the result). */
#include "crc32.h"
#include "private_abi.h"

#include <pthread.h>

/* The generator polynomial, bit-reversed (IEEE 802.3). */
#define CRC32_POLY 0xEDB88320u

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void make_table(void) {
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t r = b;
        for (int k = 0; k < 8; k++) r = (r & 1u) ? (r >> 1) ^ CRC32_POLY : r >> 1;
        table[b] = r;
    }
}

NERVE_PRIVATE uint32_t crc32_update(uint32_t crc, const void *data, size_t n) {
    pthread_once(&table_once, make_table);
    const unsigned char *p = data;
    uint32_t r = ~crc;
    for (size_t i = 0; i < n; i++) r = table[(r ^ p[i]) & 0xffu] ^ (r >> 8);
    return ~r;
}
