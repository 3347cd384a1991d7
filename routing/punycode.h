/* Punycode (RFC 3492): the ASCII encoding of internationalised host labels
 * ("bücher" -> "bcher-kva"), as IDNA puts after the "xn--" prefix.
 */
#ifndef ROUTING_PUNYCODE_H
#define ROUTING_PUNYCODE_H

#include <stddef.h>
#include <stdint.h>

/* Encodes the <n> code points at <cp> into <out> (<outsz> bytes, NUL
 * terminated on success). Only the encoding is done: no "xn--" prefix, no
 * case mapping. Returns the length written, or -1 when <out> is too small,
 * a code point is invalid (above U+10FFFF) or the counters would overflow.
 */
int punycode_encode(const uint32_t *cp, size_t n, char *out, size_t outsz);

#endif
