/* Host names as routes and requests carry them: normalisation to the one
 * form the routing table compares (lowercase ASCII, IDN as punycode, no
 * trailing dot, no port) and validation against RFC 1123.
 */
#ifndef ROUTING_HOSTNAME_H
#define ROUTING_HOSTNAME_H

#include <stddef.h>

#define HOSTNAME_MAX 253

/* Flags for hostname_normalize(). */
#define HOSTNAME_WILDCARD 0x1    /* accept "*.suffix" (one leading "*" label) */

/* Normalises the <len> bytes at <in> into <out> (<outsz> bytes, NUL
 * terminated): the trailing dot is dropped, ASCII letters are lowercased,
 * labels holding UTF-8 are case-folded (common Latin, Greek and Cyrillic
 * capitals) and encoded as "xn--" punycode, then every label is checked
 * against RFC 1123 (1 to 63 letters, digits or '-', not starting or ending
 * with '-') and the whole name against the 253-byte limit.
 *
 * Returns the length written, or -1 with a one-line reason in <err>
 * (<errlen> bytes).
 */
int hostname_normalize(const char *in, size_t len, unsigned flags,
		       char *out, size_t outsz, char *err, size_t errlen);

/* Finds the host part of a Host header or SNI value of <len> bytes at <s>:
 * drops a ":port" suffix, the brackets of "[v6]:port" and a trailing dot.
 * Sets <*start> and returns the length of the host part (may be 0).
 */
size_t hostname_strip_port(const char *s, size_t len, size_t *start);

#endif
