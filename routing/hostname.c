/* Host name normalisation and validation. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/utf8.h"
#include "routing/hostname.h"
#include "routing/punycode.h"

#define HOSTNAME_LABEL_MAX 63
#define HOSTNAME_LABEL_CPS 64   /* code points in one Unicode label, at most */

/* Maps the capital letters of the scripts host names commonly use to their
 * lowercase form. Full IDNA 2008 mapping (UTS #46) is out of scope: this
 * covers Latin-1, Latin Extended-A, Vietnamese, basic Greek and Cyrillic,
 * so that "Bücher" and "bücher" reach the same route.
 */
static uint32_t hostname_fold(uint32_t c)
{
	if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
		return c + 0x20;
	if ((c >= 0x100 && c <= 0x12F) || (c >= 0x132 && c <= 0x137) ||
	    (c >= 0x14A && c <= 0x177) || (c >= 0x1E00 && c <= 0x1E95) ||
	    (c >= 0x1EA0 && c <= 0x1EFF))
		return c & 1 ? c : c + 1;
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
		return c & 1 ? c + 1 : c;
	if (c == 0x178)
		return 0xFF;
	if (c >= 0x391 && c <= 0x3AB && c != 0x3A2)
		return c + 0x20;
	if (c >= 0x400 && c <= 0x40F)
		return c + 0x50;
	if (c >= 0x410 && c <= 0x42F)
		return c + 0x20;
	return c;
}

/* Appends the label of <len> bytes at <s> to <out> at <*pos>, lowercased
 * and punycode-encoded when it holds UTF-8. Returns 0, or -1 with <err>
 * filled.
 */
static int hostname_put_label(const char *s, size_t len, char *out, size_t outsz,
			      size_t *pos, char *err, size_t errlen)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t cps[HOSTNAME_LABEL_CPS];
	char puny[HOSTNAME_LABEL_MAX + 1];
	size_t ncp = 0, i;
	int ascii = 1, n;

	for (i = 0; i < len; i++)
		if (u[i] >= 0x80)
			ascii = 0;

	if (ascii) {
		if (*pos + len >= outsz)
			goto too_long;
		for (i = 0; i < len; i++) {
			char c = s[i];

			out[(*pos)++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
		}
		return 0;
	}

	for (i = 0; i < len;) {
		size_t used = utf8_decode(u + i, len - i, &cps[ncp]);

		if (!used) {
			snprintf(err, errlen, "invalid UTF-8 in host name");
			return -1;
		}
		if (ncp + 1 >= HOSTNAME_LABEL_CPS)
			goto label_too_long;
		cps[ncp] = cps[ncp] < 0x80 ?
			   (cps[ncp] >= 'A' && cps[ncp] <= 'Z' ? cps[ncp] + 32 : cps[ncp]) :
			   hostname_fold(cps[ncp]);
		ncp++;
		i += used;
	}
	n = punycode_encode(cps, ncp, puny, sizeof(puny) - 4);
	if (n < 0)
		goto label_too_long;
	if (*pos + 4 + (size_t)n >= outsz)
		goto too_long;
	memcpy(out + *pos, "xn--", 4);
	memcpy(out + *pos + 4, puny, (size_t)n);
	*pos += 4 + (size_t)n;
	return 0;

label_too_long:
	snprintf(err, errlen, "label longer than %d characters in host name", HOSTNAME_LABEL_MAX);
	return -1;
too_long:
	snprintf(err, errlen, "host name longer than %d characters", HOSTNAME_MAX);
	return -1;
}

/* Checks one normalised label against RFC 1123. */
static int hostname_check_label(const char *s, size_t len, char *err, size_t errlen)
{
	if (len == 0) {
		snprintf(err, errlen, "empty label in host name");
		return -1;
	}
	if (len > HOSTNAME_LABEL_MAX) {
		snprintf(err, errlen, "label longer than %d characters in host name",
			 HOSTNAME_LABEL_MAX);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')
			continue;
		if (c == '*')
			snprintf(err, errlen, "'*' is only allowed as the first label (\"*.example.org\")");
		else if ((unsigned char)c > 0x20 && (unsigned char)c < 0x7f)
			snprintf(err, errlen, "invalid character '%c' in host name", c);
		else
			snprintf(err, errlen, "invalid byte 0x%02x in host name", (unsigned char)c);
		return -1;
	}
	if (s[0] == '-' || s[len - 1] == '-') {
		snprintf(err, errlen, "label \"%.*s\" starts or ends with '-'", (int)len, s);
		return -1;
	}
	return 0;
}

int hostname_normalize(const char *in, size_t len, unsigned flags,
		       char *out, size_t outsz, char *err, size_t errlen)
{
	size_t pos = 0, i, label;

	if (len && in[len - 1] == '.')
		len--;
	if (len == 0) {
		snprintf(err, errlen, "empty host name");
		return -1;
	}
	if (outsz < 2) {
		snprintf(err, errlen, "host name longer than %d characters", HOSTNAME_MAX);
		return -1;
	}
	if (in[0] == '*') {
		if (!(flags & HOSTNAME_WILDCARD)) {
			snprintf(err, errlen, "wildcard not allowed here");
			return -1;
		}
		if (len < 3 || in[1] != '.') {
			snprintf(err, errlen, "a wildcard is \"*.\" followed by a name, as in \"*.example.org\"");
			return -1;
		}
		out[pos++] = '*';
		out[pos++] = '.';
		in += 2;
		len -= 2;
	}

	for (i = 0, label = 0; i <= len; i++) {
		size_t start;

		if (i < len && in[i] != '.')
			continue;
		start = pos;
		if (hostname_put_label(in + label, i - label, out, outsz, &pos, err, errlen) < 0)
			return -1;
		if (hostname_check_label(out + start, pos - start, err, errlen) < 0)
			return -1;
		if (i < len) {
			if (pos + 1 >= outsz)
				goto too_long;
			out[pos++] = '.';
		}
		label = i + 1;
	}
	if (pos > HOSTNAME_MAX)
		goto too_long;
	out[pos] = '\0';
	return (int)pos;

too_long:
	snprintf(err, errlen, "host name longer than %d characters", HOSTNAME_MAX);
	return -1;
}

size_t hostname_strip_port(const char *s, size_t len, size_t *start)
{
	size_t i;

	*start = 0;
	if (len && s[0] == '[') {
		for (i = 1; i < len && s[i] != ']'; i++)
			;
		*start = 1;
		return i - 1;
	}
	/* a ":digits" suffix; a bare IPv6 literal has more than one ':' */
	for (i = len; i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9'; i--)
		;
	if (i > 0 && s[i - 1] == ':' && memchr(s, ':', i - 1) == NULL)
		len = i - 1;
	if (len && s[len - 1] == '.')
		len--;
	return len;
}
