/* Punycode encoder, RFC 3492 section 6.3, with the parameters of section 5
 * (base 36, tmin 1, tmax 26, skew 38, damp 700, initial bias 72, initial n
 * 128). Only encoding is needed: host names come from labels and requests
 * and are looked up in their encoded form.
 */
#include <stdint.h>

#include "routing/punycode.h"

#define PC_BASE         36
#define PC_TMIN         1
#define PC_TMAX         26
#define PC_SKEW         38
#define PC_DAMP         700
#define PC_INITIAL_BIAS 72
#define PC_INITIAL_N    0x80
#define PC_MAX_CP       0x10FFFF

/* Digit values 0..25 are 'a'..'z', 26..35 are '0'..'9' (lowercase output,
 * as host names are compared in lowercase).
 */
static char punycode_digit(uint32_t d)
{
	return d < 26 ? (char)('a' + d) : (char)('0' + d - 26);
}

/* Bias adaptation, RFC 3492 section 6.1. */
static uint32_t punycode_adapt(uint32_t delta, uint32_t numpoints, int firsttime)
{
	uint32_t k = 0;

	delta = firsttime ? delta / PC_DAMP : delta / 2;
	delta += delta / numpoints;
	while (delta > ((PC_BASE - PC_TMIN) * PC_TMAX) / 2) {
		delta /= PC_BASE - PC_TMIN;
		k += PC_BASE;
	}
	return k + (PC_BASE - PC_TMIN + 1) * delta / (delta + PC_SKEW);
}

int punycode_encode(const uint32_t *cp, size_t n, char *out, size_t outsz)
{
	uint32_t cur = PC_INITIAL_N, bias = PC_INITIAL_BIAS, delta = 0;
	size_t len = 0, basic = 0, handled;

	for (size_t i = 0; i < n; i++) {
		if (cp[i] > PC_MAX_CP)
			return -1;
		if (cp[i] < 0x80) {
			if (len + 1 >= outsz)
				return -1;
			out[len++] = (char)cp[i];
			basic++;
		}
	}
	handled = basic;
	if (basic > 0) {
		if (len + 1 >= outsz)
			return -1;
		out[len++] = '-';
	}

	while (handled < n) {
		uint32_t m = UINT32_MAX;

		/* the smallest code point not handled yet */
		for (size_t i = 0; i < n; i++)
			if (cp[i] >= cur && cp[i] < m)
				m = cp[i];
		if ((uint64_t)(m - cur) * (handled + 1) > UINT32_MAX - delta)
			return -1;
		delta += (m - cur) * (uint32_t)(handled + 1);
		cur = m;

		for (size_t i = 0; i < n; i++) {
			if (cp[i] < cur && ++delta == 0)
				return -1;
			if (cp[i] != cur)
				continue;
			/* emit delta as a generalized variable-length integer */
			uint32_t q = delta;

			for (uint32_t k = PC_BASE;; k += PC_BASE) {
				uint32_t t = k <= bias ? PC_TMIN :
					     k >= bias + PC_TMAX ? PC_TMAX : k - bias;

				if (q < t)
					break;
				if (len + 1 >= outsz)
					return -1;
				out[len++] = punycode_digit(t + (q - t) % (PC_BASE - t));
				q = (q - t) / (PC_BASE - t);
			}
			if (len + 1 >= outsz)
				return -1;
			out[len++] = punycode_digit(q);
			bias = punycode_adapt(delta, (uint32_t)(handled + 1), handled == basic);
			delta = 0;
			handled++;
		}
		delta++;
		cur++;
	}
	out[len] = '\0';
	return (int)len;
}
