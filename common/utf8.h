/* UTF-8, strictly: what host names, JSON strings from Docker, log lines
 * and metric labels accept.
 */
#ifndef COMMON_UTF8_H
#define COMMON_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Longest sequence utf8_encode() writes. */
#define UTF8_MAX 4

/* Decodes the sequence at <s> (<n> > 0 bytes available) into <*cp> (may be
 * NULL). Returns its length, or 0 when it is not valid UTF-8: a stray or
 * truncated sequence, an overlong form, a surrogate, a value above
 * U+10FFFF. NUL is a valid sequence of length 1.
 */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Writes code point <cp> (at most U+10FFFF, not a surrogate) to <out>.
 * Returns the number of bytes written (1 to UTF8_MAX).
 */
size_t utf8_encode(char *out, uint32_t cp);

#endif
