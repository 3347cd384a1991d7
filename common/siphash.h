/* SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012): a keyed 64-bit pseudorandom function, for values a client must
 * not be able to compute without the key (sticky cookies naming a task).
 * hash.h is the unkeyed hash for everything else.
 */
#ifndef COMMON_SIPHASH_H
#define COMMON_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16

/* Returns SipHash-2-4 of the <len> bytes at <p> under the 16 bytes of
 * <key>, the 64-bit result read as the paper's little-endian output.
 */
uint64_t siphash24(const unsigned char key[SIPHASH_KEY_LEN], const void *p, size_t len);

#endif
