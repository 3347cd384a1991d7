/* HAProxy runtime API answers to the certificate commands. */
#include <string.h>
#include <strings.h>

#include "certs/x509.h"
#include "certs/haproxy_ans.h"

/* The text that gives an answer's verdict away, checked in this order:
 * refusals that are not about the material first, then "Can't" (an error
 * with its reason), then what success looks like.
 */
static const struct {
	const char *needle;
	enum haproxy_ans_status status;
} ans_markers[] = {
	{ "Permission denied", HAPROXY_ANS_DENIED },
	{ "Unknown command", HAPROXY_ANS_DENIED },
	{ "currently locked", HAPROXY_ANS_BUSY },
	{ "No ongoing transaction", HAPROXY_ANS_NO_TRANSACTION },
	{ "The ongoing transaction is about", HAPROXY_ANS_OTHER_TRANSACTION },
	{ "already exists", HAPROXY_ANS_EXISTS },
	{ "does not exist", HAPROXY_ANS_NOT_FOUND },
	{ "doesn't exist", HAPROXY_ANS_NOT_FOUND },
	{ "Not found", HAPROXY_ANS_NOT_FOUND },
	{ "didn't find", HAPROXY_ANS_NOT_FOUND },
	{ "not referenced by the configuration", HAPROXY_ANS_NOT_FOUND },
};

static const char *const ans_success[] = {
	"Success!",
	"New empty certificate store",
	"Transaction created for certificate",
	"Transaction updated for certificate",
	"Transaction aborted for certificate",
	"deleted!",
	"deleted in crtlist",
};

static const char *ans_find(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	if (n > len)
		return NULL;
	for (size_t i = 0; i + n <= len; i++)
		if (s[i] == needle[0] && memcmp(s + i, needle, n) == 0)
			return s + i;
	return NULL;
}

/* Whether a line of the answer starts with <prefix>. */
static int ans_line_starts(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	for (size_t i = 0; i + n <= len; i++) {
		if ((i == 0 || s[i - 1] == '\n') && memcmp(s + i, prefix, n) == 0)
			return 1;
	}
	return 0;
}

static void ans_one_line(const char *ans, size_t len, char *msg, size_t msglen)
{
	size_t o = 0;
	int space = 0;

	if (!msglen)
		return;
	for (size_t i = 0; i < len && o + 1 < msglen; i++) {
		unsigned char c = (unsigned char)ans[i];

		if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
			space = o > 0;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			continue;
		if (space && o + 2 < msglen)
			msg[o++] = ' ';
		space = 0;
		msg[o++] = (char)c;
	}
	msg[o] = '\0';
}

enum haproxy_ans_status haproxy_ans_result(const char *ans, size_t len, char *msg, size_t msglen)
{
	ans_one_line(ans, len, msg, msglen);
	for (size_t i = 0; i < sizeof(ans_markers) / sizeof(ans_markers[0]); i++)
		if (ans_find(ans, len, ans_markers[i].needle))
			return ans_markers[i].status;
	if (ans_line_starts(ans, len, "Can't") || ans_find(ans, len, "unable to"))
		return HAPROXY_ANS_ERROR;
	for (size_t i = 0; i < sizeof(ans_success) / sizeof(ans_success[0]); i++)
		if (ans_find(ans, len, ans_success[i]))
			return HAPROXY_ANS_OK;
	if (msglen && !msg[0])
		strncpy(msg, "empty answer", msglen - 1);
	return HAPROXY_ANS_ERROR;
}

const char *haproxy_ans_status_name(enum haproxy_ans_status st)
{
	switch (st) {
	case HAPROXY_ANS_OK: return "ok";
	case HAPROXY_ANS_EXISTS: return "exists";
	case HAPROXY_ANS_NOT_FOUND: return "not found";
	case HAPROXY_ANS_NO_TRANSACTION: return "no transaction";
	case HAPROXY_ANS_OTHER_TRANSACTION: return "another transaction";
	case HAPROXY_ANS_BUSY: return "busy";
	case HAPROXY_ANS_DENIED: return "denied";
	case HAPROXY_ANS_ERROR: return "error";
	}
	return "?";
}

int haproxy_ans_transaction(const char *ans, size_t len, char *path, size_t pathlen)
{
	static const char *const heads[] = {
		"Transaction created for certificate ",
		"Transaction updated for certificate ",
	};

	for (size_t h = 0; h < 2; h++) {
		const char *p = ans_find(ans, len, heads[h]), *end, *e;

		if (!p)
			continue;
		p += strlen(heads[h]);
		end = ans + len;
		e = p;
		while (e < end && *e != '\n' && *e != '\r')
			e++;
		if (e > p && e[-1] == '!')
			e--;
		if (e == p || (size_t)(e - p) >= pathlen)
			return -1;
		memcpy(path, p, (size_t)(e - p));
		path[e - p] = '\0';
		return 0;
	}
	return -1;
}

/************************************************************************/
/*                          show ssl cert <path>                        */
/************************************************************************/

/* Reads 1 to <maxdig> digits at <*p> (after blanks when <blanks>). */
static int ans_num(const char **p, const char *end, int blanks, int maxdig, int *out)
{
	int digits = 0;

	while (blanks && *p < end && **p == ' ')
		(*p)++;
	*out = 0;
	while (*p < end && **p >= '0' && **p <= '9' && digits < maxdig) {
		*out = *out * 10 + (**p - '0');
		(*p)++;
		digits++;
	}
	return digits ? 0 : -1;
}

static int ans_char(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return -1;
	(*p)++;
	return 0;
}

int64_t haproxy_ans_time(const char *s, size_t len)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	const char *p = s, *end = s + len;
	int mon = 0, day, hour, min, sec, year;

	while (p < end && *p == ' ')
		p++;
	if (end - p < 3)
		return -1;
	for (int m = 0; m < 12; m++)
		if (memcmp(p, months + 3 * m, 3) == 0)
			mon = m + 1;
	if (!mon)
		return -1;
	p += 3;
	if (ans_num(&p, end, 1, 2, &day) < 0 || ans_num(&p, end, 1, 2, &hour) < 0 ||
	    ans_char(&p, end, ':') < 0 || ans_num(&p, end, 0, 2, &min) < 0 ||
	    ans_char(&p, end, ':') < 0 || ans_num(&p, end, 0, 2, &sec) < 0 ||
	    ans_num(&p, end, 1, 4, &year) < 0)
		return -1;
	while (p < end && *p == ' ')
		p++;
	if (end - p < 3 || memcmp(p, "GMT", 3) != 0)
		return -1;
	if (!x509_valid_date(year, mon, day, hour, min, sec))
		return -1;
	return x509_timegm(year, mon, day, hour, min, sec);
}

/* Copies the value of a "Key: value" line into <out>, control bytes dropped. */
static void ans_copy(const char *v, size_t n, char *out, size_t outsz)
{
	size_t o = 0;

	while (n && v[0] == ' ') {
		v++;
		n--;
	}
	for (size_t i = 0; i < n && o + 1 < outsz; i++)
		if ((unsigned char)v[i] >= 0x20 && v[i] != 0x7f)
			out[o++] = v[i];
	out[o] = '\0';
}

int haproxy_ans_cert(const char *ans, size_t len, struct haproxy_ans_cert *c)
{
	const char *p = ans, *end = ans + len;
	int seen_filename = 0;

	memset(c, 0, sizeof(*c));
	c->not_before = c->not_after = -1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end, *colon;
		size_t klen;

		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon) {
			const char *v = colon + 1;
			size_t vlen = (size_t)(eol - v);

			klen = (size_t)(colon - p);
			if (vlen && v[vlen - 1] == '\r')
				vlen--;
#define KEY_IS(k) (klen == strlen(k) && strncasecmp(p, k, klen) == 0)
			if (KEY_IS("Filename")) {
				/* a chain's certificates come as "Chain Filename" */
				if (seen_filename)
					break;
				seen_filename = 1;
			} else if (KEY_IS("Status") && !c->status[0]) {
				ans_copy(v, vlen, c->status, sizeof(c->status));
			} else if (KEY_IS("Serial") && !c->serial[0]) {
				ans_copy(v, vlen, c->serial, sizeof(c->serial));
			} else if ((KEY_IS("notBefore") || KEY_IS("Not Before")) && c->not_before < 0) {
				c->not_before = haproxy_ans_time(v, vlen);
			} else if ((KEY_IS("notAfter") || KEY_IS("Not After")) && c->not_after < 0) {
				c->not_after = haproxy_ans_time(v, vlen);
			} else if (KEY_IS("Subject") && !c->subject[0]) {
				ans_copy(v, vlen, c->subject, sizeof(c->subject));
			} else if (KEY_IS("Subject Alternative Name") && !c->san[0]) {
				ans_copy(v, vlen, c->san, sizeof(c->san));
			} else if (KEY_IS("Chain Filename")) {
				break;
			}
#undef KEY_IS
		}
		p = nl ? nl + 1 : end;
	}
	return seen_filename ? 0 : -1;
}

/************************************************************************/
/*                              listings                                */
/************************************************************************/

static int ans_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

/* Finds the next line of the answer that is not blank, from <*cur> up to
 * <end>: its start in <*line>, its length without the line end in <*n>;
 * <*cur> moves past it. Returns 0 when there is none.
 */
static int ans_next_line(const char **cur, const char *end, const char **line, size_t *n)
{
	while (*cur < end) {
		const char *nl = memchr(*cur, '\n', (size_t)(end - *cur));

		*line = *cur;
		*n = (size_t)((nl ? nl : end) - *cur);
		*cur = nl ? nl + 1 : end;
		if (*n && (*line)[*n - 1] == '\r')
			(*n)--;
		if (!ans_blank(*line, *n))
			return 1;
	}
	return 0;
}

long haproxy_ans_crtlist(const char *ans, size_t len,
			 void (*fn)(void *arg, const struct haproxy_ans_entry *e), void *arg)
{
	const char *cur = ans, *end = ans + len, *p;
	long count = 0;
	int first = 1;
	size_t n;

	while (ans_next_line(&cur, end, &p, &n)) {
		const char *q, *tok_end;
		struct haproxy_ans_entry e;

		/* A listing starts with "# <list>"; anything else first is an
		 * error message. */
		if (first && p[0] != '#')
			return -1;
		first = 0;
		if (p[0] == '#')
			continue;
		memset(&e, 0, sizeof(e));
		e.options = e.filters = "";
		tok_end = memchr(p, ' ', n);
		if (!tok_end)
			tok_end = p + n;
		e.path = p;
		e.path_len = (size_t)(tok_end - p);
		/* "<path>:<line>" with -n */
		for (q = tok_end; q > p && q[-1] >= '0' && q[-1] <= '9'; q--)
			;
		if (q > p + 1 && q < tok_end && q[-1] == ':' && tok_end - q <= 9) {
			unsigned line = 0;

			for (const char *d = q; d < tok_end; d++)
				line = line * 10 + (unsigned)(*d - '0');
			e.line = line;
			e.path_len = (size_t)(q - 1 - p);
		}
		q = tok_end;
		while (q < p + n && *q == ' ')
			q++;
		if (q < p + n && *q == '[') {
			const char *close = memchr(q, ']', (size_t)(p + n - q));

			if (!close)
				return -1;
			e.options = q;
			e.options_len = (size_t)(close + 1 - q);
			q = close + 1;
			while (q < p + n && *q == ' ')
				q++;
		}
		e.filters = q;
		e.filters_len = (size_t)(p + n - q);
		while (e.filters_len && e.filters[e.filters_len - 1] == ' ')
			e.filters_len--;
		if (fn)
			fn(arg, &e);
		count++;
	}
	return first ? -1 : count;
}

long haproxy_ans_names(const char *ans, size_t len,
		       void (*fn)(void *arg, const char *name, size_t n, int in_tx), void *arg)
{
	const char *cur = ans, *end = ans + len, *p;
	long count = 0;
	int in_tx = 0;
	size_t n;

	while (ans_next_line(&cur, end, &p, &n)) {
		if (p[0] == '#') {
			in_tx = n >= 13 && memcmp(p, "# transaction", 13) == 0;
		} else {
			/* names hold no blank; a line with one is a message */
			if (memchr(p, ' ', n) || memchr(p, '\t', n))
				return -1;
			if (in_tx && p[0] == '*') {
				p++;
				n--;
			}
			if (fn && n)
				fn(arg, p, n, in_tx);
			count++;
		}
	}
	return count;
}
