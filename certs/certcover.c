/* Which hosts a certificate covers. */
#include <stdio.h>
#include <string.h>

#include "certs/certcover.h"
#include "common/sbuf.h"

static int certcover_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* <a> and <b>, <n> bytes each, are equal without ASCII case. */
static int certcover_same(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (certcover_lower((unsigned char)a[i]) != certcover_lower((unsigned char)b[i]))
			return 0;
	return 1;
}

int certcover_name(const char *pattern, size_t plen, const char *host, size_t hlen)
{
	const char *dot;
	size_t slen;

	if (plen && pattern[plen - 1] == '.')
		plen--;
	if (!plen || !hlen || memchr(pattern, '\0', plen))
		return 0;
	if (pattern[0] != '*') {
		/* a '*' elsewhere (f*.example.com, a.*.example.com) is no
		 * wildcard clients agree on: it names nothing */
		if (memchr(pattern, '*', plen))
			return 0;
		return plen == hlen && certcover_same(pattern, host, plen);
	}
	/* "*.suffix": the suffix holds no other '*' and at least two labels,
	 * so *.com or *.co cover no name at all */
	if (plen < 3 || pattern[1] != '.' || memchr(pattern + 1, '*', plen - 1))
		return 0;
	slen = plen - 1;    /* ".suffix" */
	if (!memchr(pattern + 2, '.', plen - 2) || pattern[plen - 1] == '.')
		return 0;
	/* a wildcard route is covered by the very same wildcard only */
	if (host[0] == '*')
		return plen == hlen && certcover_same(pattern, host, plen);
	dot = memchr(host, '.', hlen);
	if (!dot || dot == host)
		return 0;
	return (size_t)(host + hlen - dot) == slen && certcover_same(dot, pattern + 1, slen);
}

int certcover_host(const struct x509_info *leaf, const char *host, size_t hlen)
{
	const char *p = leaf->dns;

	if (!leaf->ndns)
		return certcover_name(leaf->cn, strlen(leaf->cn), host, hlen);
	while (*p) {
		size_t n = strcspn(p, ",");

		if (certcover_name(p, n, host, hlen))
			return 1;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

size_t certcover_split(const struct x509_info *leaf, const char *hosts, struct sbuf *covered,
		       struct sbuf *uncovered)
{
	size_t ncovered = 0;

	for (const char *h = hosts ? hosts : ""; *h;) {
		size_t n = strcspn(h, " ");
		struct sbuf *to = uncovered;

		if (n && certcover_host(leaf, h, n)) {
			to = covered;
			ncovered++;
		}
		if (n) {
			if (to->len)
				sbuf_putc(to, ' ');
			sbuf_add(to, h, n);
		}
		h += n;
		while (*h == ' ')
			h++;
	}
	return ncovered;
}

const char *certcover_names(const struct x509_info *leaf, char *buf, size_t len)
{
	unsigned kept = 0;

	for (const char *p = leaf->dns; *p; p++)
		kept += p == leaf->dns || *p == ',';
	if (leaf->ndns > kept)
		snprintf(buf, len, "%s and %u more", kept ? leaf->dns : "", leaf->ndns - kept);
	else if (leaf->ndns)
		snprintf(buf, len, "%s", leaf->dns);
	else if (leaf->cn[0])
		snprintf(buf, len, "CN=%s", leaf->cn);
	else
		snprintf(buf, len, "no DNS name");
	return buf;
}
