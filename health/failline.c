/* Lines of the ring of failed requests, read from their end. */
#include <stdio.h>
#include <string.h>

#include "common/netaddr.h"
#include "health/failline.h"

/* Finds the last token of <line>[0, *len) that starts with <key> (such as
 * "ts="), after a space or at the start: sets <*val>/<*vlen> to what
 * follows the key, and <*len> to where the token starts (so the next call
 * looks before it). Returns 0, or -1 when the last token is not <key>'s.
 */
static int failline_token(const char *line, size_t *len, const char *key,
			  const char **val, size_t *vlen)
{
	size_t end = *len, start, klen = strlen(key);

	while (end && (line[end - 1] == ' ' || line[end - 1] == '\r' || line[end - 1] == '\n'))
		end--;
	start = end;
	while (start && line[start - 1] != ' ')
		start--;
	if (end - start < klen || memcmp(line + start, key, klen) != 0)
		return -1;
	*val = line + start + klen;
	*vlen = end - start - klen;
	*len = start;
	return 0;
}

int failline_parse(const char *line, size_t len, struct failline *fl)
{
	const char *route, *dst, *st, *ts, *colon;
	size_t rlen, dlen, slen, tlen, alen;
	unsigned port = 0;
	int status = 0;

	memset(fl, 0, sizeof(*fl));
	if (failline_token(line, &len, "ts=", &ts, &tlen) < 0 ||
	    failline_token(line, &len, "st=", &st, &slen) < 0 ||
	    failline_token(line, &len, "dst=", &dst, &dlen) < 0 ||
	    failline_token(line, &len, "route=", &route, &rlen) < 0)
		return -1;
	if (tlen != 2 || slen == 0 || slen > 3)
		return -1;
	for (size_t i = 0; i < slen; i++) {
		if (st[i] < '0' || st[i] > '9')
			return st[0] == '-' && slen == 1 ? 0 : -1;
		status = status * 10 + (st[i] - '0');
	}
	fl->status = status;
	memcpy(fl->ts, ts, 2);
	/* "-": the request was not routed (not found, redirect, no task) */
	if (rlen == 0 || (rlen == 1 && route[0] == '-') || rlen >= sizeof(fl->service))
		return 0;
	/* a Docker service name has no control byte (nor a NUL to cut it) */
	for (size_t i = 0; i < rlen; i++)
		if ((unsigned char)route[i] < 0x21 || route[i] == 0x7f)
			return 0;
	memcpy(fl->service, route, rlen);

	colon = NULL;
	for (size_t i = dlen; i-- > 0;) {
		if (dst[i] == ':') {
			colon = dst + i;
			break;
		}
	}
	if (!colon || colon == dst)
		return 0;
	alen = (size_t)(colon - dst);
	for (const char *p = colon + 1; p < dst + dlen; p++) {
		if (*p < '0' || *p > '9' || port > 65535)
			return 0;
		port = port * 10 + (unsigned)(*p - '0');
	}
	if (!port || port > 65535)
		return 0;
	/* an IPv6 task address may come bracketed */
	if (alen >= 2 && dst[0] == '[' && dst[alen - 1] == ']') {
		dst++;
		alen -= 2;
	}
	if (netaddr_parse(&fl->dst, dst, alen) < 0)
		return 0;
	fl->port = (uint16_t)port;
	return (!strcmp(fl->ts, "SC") || !strcmp(fl->ts, "sC") || !strcmp(fl->ts, "SH")) ? 1 : 0;
}
