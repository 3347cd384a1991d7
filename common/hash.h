/* The agent's one non-cryptographic hash, for hash tables, digests of
 * Docker answers and balancing keys. Not for anything an attacker must not
 * predict (sticky cookies are keyed elsewhere).
 *
 * hash_bytes() reads eight bytes at a time and ends with MurmurHash3's
 * finaliser, so every input bit affects every output bit: the low bits
 * can index a table directly.
 */
#ifndef COMMON_HASH_H
#define COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define HASH_SEED 0xcbf29ce484222325ULL

/* MurmurHash3's 64-bit finaliser. */
static inline uint64_t hash_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* Hash of the <n> bytes at <p>, chained from <seed> (HASH_SEED, or the
 * hash of what came before).
 */
static inline uint64_t hash_bytes(uint64_t seed, const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL);

	while (n >= 8) {
		uint64_t w;

		memcpy(&w, b, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 29;
		b += 8;
		n -= 8;
	}
	while (n--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return hash_mix(h);
}

/* Hash of the NUL-terminated <s> chained from <seed>. NULL and "" hash
 * differently, and the length is part of the hash, so chaining "ab", "c"
 * differs from "a", "bc".
 */
static inline uint64_t hash_str(uint64_t seed, const char *s)
{
	return s ? hash_bytes(seed, s, strlen(s)) : hash_bytes(seed, "\xff", 1);
}

#endif
