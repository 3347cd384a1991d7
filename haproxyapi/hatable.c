/* "show table" answers, line by line, token by token. */
#include <stdio.h>
#include <string.h>

#include "haproxyapi/hatable.h"

/* Reads the decimal digits <s>[0, <n>) into <*v>. Returns 0, or -1 when it
 * is empty, not all digits, or above UINT64_MAX.
 */
static int hatable_u64(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	if (!n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9 || x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

static int hatable_key(struct hatable_row *r, const char *s, size_t n)
{
	if (!n || n > HATABLE_KEY_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
			return -1;
	}
	memcpy(r->key, s, n);
	r->key[n] = '\0';
	return 0;
}

/* One entry line <s>[0, <n>), without its LF: "0x...: key=K tok=V ...".
 * Returns 0 with <r> filled, or -1 when malformed.
 */
static int hatable_line(const char *s, size_t n, struct hatable_row *r)
{
	const char *end = s + n, *p;
	int have_key = 0, have_req = 0;

	memset(r, 0, sizeof(*r));
	p = memchr(s, ':', n);
	if (!p || p == s || p + 1 == end || p[1] != ' ')
		return -1;
	p += 2;
	while (p < end) {
		const char *tok = p, *eq;
		size_t tlen;

		while (p < end && *p != ' ')
			p++;
		tlen = (size_t)(p - tok);
		while (p < end && *p == ' ')
			p++;
		eq = memchr(tok, '=', tlen);
		if (!eq)
			return -1;
		if (eq - tok == 3 && !memcmp(tok, "key", 3)) {
			if (have_key || hatable_key(r, eq + 1, (size_t)(tok + tlen - eq - 1)) < 0)
				return -1;
			have_key = 1;
		} else if (eq - tok == 12 && !memcmp(tok, "http_req_cnt", 12)) {
			if (have_req || hatable_u64(eq + 1, (size_t)(tok + tlen - eq - 1),
						    &r->http_req_cnt) < 0)
				return -1;
			have_req = 1;
		} else if (eq - tok > 3 && !memcmp(tok, "gpc", 3) &&
			   tok[3] >= '0' && tok[3] <= '9') {
			uint64_t idx;

			/* "gpcN=": "gpc0_rate=" is not all digits up to the "=" */
			if (hatable_u64(tok + 3, (size_t)(eq - tok - 3), &idx) < 0)
				continue;
			if (idx >= HATABLE_GPC_MAX)
				continue;
			if (hatable_u64(eq + 1, (size_t)(tok + tlen - eq - 1), &r->gpc[idx]) < 0)
				return -1;
			if (idx + 1 > r->ngpc)
				r->ngpc = (unsigned)idx + 1;
		}
	}
	return have_key && have_req ? 0 : -1;
}

long hatable_parse(const char *answer, size_t len, const char *table,
		   void (*fn)(void *arg, const struct hatable_row *row), void *arg,
		   uint64_t *malformed, char *err, size_t errlen)
{
	const char *p = answer, *end = answer + len;
	char head[HATABLE_KEY_MAX + 32];
	size_t hlen;
	long rows = 0;

	/* "# table: NAME, type: ..." first; anything else is an error message */
	hlen = (size_t)snprintf(head, sizeof(head), "# table: %s,", table);
	if (hlen >= sizeof(head) || len < hlen || memcmp(answer, head, hlen) != 0) {
		const char *nl = memchr(answer, '\n', len);
		int shown = (int)((nl ? (size_t)(nl - answer) : len) > 120 ? 120 :
				  (nl ? (size_t)(nl - answer) : len));

		snprintf(err, errlen, "not a dump of table %s: %.*s", table, shown, answer);
		for (int i = 0; err[i]; i++)
			if ((unsigned char)err[i] < 0x20 || (unsigned char)err[i] > 0x7e)
				err[i] = '?';
		return -1;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct hatable_row r;

		if (n && p[n - 1] == '\r')
			n--;
		if (n && p[0] != '#') {
			if (hatable_line(p, n, &r) == 0) {
				fn(arg, &r);
				rows++;
			} else {
				(*malformed)++;
			}
		}
		p = nl ? nl + 1 : end;
	}
	return rows;
}
