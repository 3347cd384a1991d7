/* JSON pull scanner: validating, allocation-free, in place.
 *
 * Containers are walked by the caller (jscan_enter_*, then the iterators),
 * so the scanner itself only needs one bit of state for them: whether the
 * container being walked has had an item yet. That bit is set on entering a
 * container and cleared when an item is returned or a container closes: a
 * container that closes was an item of its parent, so the parent is past
 * its first item too.
 */
#include <stdio.h>
#include <string.h>

#include "common/arena.h"
#include "common/jscan.h"
#include "common/utf8.h"

/* ------------------------------------------------------------------------ */
/* Errors and whitespace                                                     */
/* ------------------------------------------------------------------------ */

static int jscan_err(struct jscan *s, const char *what)
{
	if (!s->err) {
		s->err = 1;
		snprintf(s->errmsg, sizeof(s->errmsg), "%s at byte %zu", what,
			 (size_t)(s->p - s->start));
	}
	s->p = s->end;
	return -1;
}

const char *jscan_error(const struct jscan *s)
{
	return s->err ? s->errmsg : NULL;
}

static inline void jscan_ws(struct jscan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
		s->p++;
}

/* Returns the next non-blank byte without consuming it, or -1 at the end. */
static inline int jscan_next_byte(struct jscan *s)
{
	jscan_ws(s);
	return s->p < s->end ? (unsigned char)*s->p : -1;
}

void jscan_init(struct jscan *s, const char *buf, size_t len)
{
	memset(s, 0, sizeof(*s));
	s->p = buf;
	s->start = buf;
	s->end = buf + len;
}

/* ------------------------------------------------------------------------ */
/* Scalars                                                                   */
/* ------------------------------------------------------------------------ */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Consumes a string starting at the opening quote. */
static int jscan_scan_string(struct jscan *s, struct jscan_str *out)
{
	const char *p = s->p + 1, *end = s->end;
	int escaped = 0;

	for (;;) {
		/* Fast path: plain bytes are by far the most common. */
		while (p < end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
			p++;
		if (p >= end) {
			s->p = p;
			return jscan_err(s, "unterminated string");
		}
		if (*p == '"')
			break;
		if (*p != '\\') {
			s->p = p;
			return jscan_err(s, "control character in string");
		}
		escaped = 1;
		if (end - p < 2) {
			s->p = p;
			return jscan_err(s, "unterminated string");
		}
		switch (p[1]) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
			p += 2;
			break;
		case 'u':
			if (end - p < 6 || hexval(p[2]) < 0 || hexval(p[3]) < 0 ||
			    hexval(p[4]) < 0 || hexval(p[5]) < 0) {
				s->p = p;
				return jscan_err(s, "invalid \\u escape");
			}
			p += 6;
			break;
		default:
			s->p = p;
			return jscan_err(s, "invalid escape");
		}
	}
	if (out) {
		out->s = s->p + 1;
		out->len = (size_t)(p - (s->p + 1));
		out->escaped = escaped;
	}
	s->p = p + 1;
	return 0;
}

static int isdigit_(int c)
{
	return c >= '0' && c <= '9';
}

/* Moves <*pp> past one digit or more; fails when there is none. */
static inline int jscan_digits(struct jscan *s, const char **pp)
{
	const char *p = *pp;

	if (p >= s->end || !isdigit_(*p)) {
		s->p = p;
		return jscan_err(s, "invalid number");
	}
	while (p < s->end && isdigit_(*p))
		p++;
	*pp = p;
	return 0;
}

/* Consumes a number; <*integral> tells whether it had no fraction or
 * exponent.
 */
static int jscan_scan_number(struct jscan *s, int *integral)
{
	const char *p = s->p, *end = s->end;

	*integral = 1;
	if (p < end && *p == '-')
		p++;
	/* no leading zero: "0" alone, or digits from 1 */
	if (p < end && *p == '0')
		p++;
	else if (jscan_digits(s, &p) < 0)
		return -1;
	if (p < end && *p == '.') {
		*integral = 0;
		p++;
		if (jscan_digits(s, &p) < 0)
			return -1;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		*integral = 0;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (jscan_digits(s, &p) < 0)
			return -1;
	}
	s->p = p;
	return 0;
}

static int jscan_literal(struct jscan *s, const char *lit, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
		return jscan_err(s, "invalid literal");
	s->p += n;
	return 0;
}

enum jscan_type jscan_peek(struct jscan *s)
{
	int c;

	if (s->err)
		return JSCAN_NONE;
	c = jscan_next_byte(s);
	switch (c) {
	case '{': return JSCAN_OBJECT;
	case '[': return JSCAN_ARRAY;
	case '"': return JSCAN_STRING;
	case 't': return JSCAN_TRUE;
	case 'f': return JSCAN_FALSE;
	case 'n': return JSCAN_NULL;
	default:
		return c == '-' || isdigit_(c) ? JSCAN_NUMBER : JSCAN_NONE;
	}
}

int jscan_string(struct jscan *s, struct jscan_str *out)
{
	if (s->err)
		return -1;
	if (jscan_next_byte(s) != '"')
		return jscan_err(s, "expected a string");
	return jscan_scan_string(s, out);
}

int jscan_int64(struct jscan *s, int64_t *out)
{
	const char *p;
	uint64_t v = 0;
	int neg = 0, integral;

	if (s->err)
		return -1;
	jscan_ws(s);
	p = s->p;
	if (jscan_peek(s) != JSCAN_NUMBER)
		return jscan_err(s, "expected a number");
	if (jscan_scan_number(s, &integral) < 0)
		return -1;
	if (!integral) {
		s->p = p;
		return jscan_err(s, "expected an integer");
	}
	if (*p == '-') {
		neg = 1;
		p++;
	}
	for (; p < s->p; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return jscan_err(s, "integer out of range");
		v = v * 10 + d;
	}
	if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
		return jscan_err(s, "integer out of range");
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int jscan_bool(struct jscan *s, int *out)
{
	switch (jscan_peek(s)) {
	case JSCAN_TRUE:
		*out = 1;
		return jscan_literal(s, "true", 4);
	case JSCAN_FALSE:
		*out = 0;
		return jscan_literal(s, "false", 5);
	default:
		return s->err ? -1 : jscan_err(s, "expected true or false");
	}
}

int jscan_null(struct jscan *s)
{
	if (jscan_peek(s) != JSCAN_NULL)
		return 0;
	return jscan_literal(s, "null", 4) == 0;
}

/* ------------------------------------------------------------------------ */
/* Containers                                                                */
/* ------------------------------------------------------------------------ */

/* Consumes <opener>, which starts the container expected. */
static inline int jscan_enter(struct jscan *s, int opener, const char *expected)
{
	if (s->err)
		return -1;
	if (jscan_next_byte(s) != opener)
		return jscan_err(s, expected);
	s->p++;
	s->first = 1;
	return 0;
}

int jscan_enter_object(struct jscan *s)
{
	return jscan_enter(s, '{', "expected an object");
}

int jscan_enter_array(struct jscan *s)
{
	return jscan_enter(s, '[', "expected an array");
}

/* Moves to the next item of the container being walked, which ends with
 * <closer>: past the ',' that separates it from the previous one. Returns
 * 1 with its first byte in <*c>, 0 after the closer, or -1.
 */
static inline int jscan_next_item(struct jscan *s, int closer, int *c)
{
	if (s->err)
		return -1;
	*c = jscan_next_byte(s);
	if (*c == closer) {
		s->p++;
		s->first = 0;
		return 0;
	}
	if (!s->first) {
		if (*c != ',')
			return jscan_err(s, closer == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
		s->p++;
		*c = jscan_next_byte(s);
	}
	s->first = 0;
	return 1;
}

int jscan_next_member(struct jscan *s, struct jscan_str *key)
{
	int c, rc = jscan_next_item(s, '}', &c);

	if (rc <= 0)
		return rc;
	if (c != '"')
		return jscan_err(s, "expected a member name");
	if (jscan_scan_string(s, key) < 0)
		return -1;
	if (jscan_next_byte(s) != ':')
		return jscan_err(s, "expected ':'");
	s->p++;
	return 1;
}

int jscan_next_element(struct jscan *s)
{
	int c;

	return jscan_next_item(s, ']', &c);
}

int jscan_open_object(struct jscan *s)
{
	if (jscan_peek(s) != JSCAN_OBJECT)
		return jscan_skip(s) < 0 ? -1 : 0;
	return jscan_enter_object(s) < 0 ? -1 : 1;
}

int jscan_open_array(struct jscan *s)
{
	if (jscan_peek(s) != JSCAN_ARRAY)
		return jscan_skip(s) < 0 ? -1 : 0;
	return jscan_enter_array(s) < 0 ? -1 : 1;
}

int jscan_next_known(struct jscan *s, const char *const *names, int *which)
{
	struct jscan_str key;
	int rc;

	while ((rc = jscan_next_member(s, &key)) == 1) {
		for (int i = 0; names[i]; i++) {
			if (jscan_str_eq(&key, names[i])) {
				*which = i;
				return 1;
			}
		}
		if (jscan_skip(s) < 0)
			return -1;
	}
	return rc;
}

int jscan_path(struct jscan *s, const char *const *path, jscan_fn fn, void *arg)
{
	const char *const name[2] = { path[0], NULL };
	int rc, which;

	if (!path[0])
		return fn(s, arg);
	rc = jscan_open_object(s);
	if (rc <= 0)
		return rc;
	while ((rc = jscan_next_known(s, name, &which)) == 1)
		if (jscan_path(s, path + 1, fn, arg) < 0)
			return -1;
	return rc;
}

long jscan_count(const struct jscan *s, enum jscan_type type)
{
	struct jscan probe = *s;
	struct jscan_str key;
	long n = 0;
	int rc;

	while ((rc = type == JSCAN_OBJECT ? jscan_next_member(&probe, &key) :
		     jscan_next_element(&probe)) == 1) {
		if (jscan_skip(&probe) < 0)
			return -1;
		n++;
	}
	return rc < 0 ? -1 : n;
}

int jscan_skip(struct jscan *s)
{
	char closers[JSCAN_MAX_DEPTH];
	int depth = 0, c, integral;

	if (s->err)
		return -1;
	for (;;) {
		/* a value starts here */
		c = jscan_next_byte(s);
		switch (c) {
		case '{':
		case '[':
			if (depth == JSCAN_MAX_DEPTH)
				return jscan_err(s, "nesting too deep");
			closers[depth++] = c == '{' ? '}' : ']';
			s->p++;
			if (jscan_next_byte(s) == closers[depth - 1]) {
				s->p++;
				depth--;
				goto after_value;
			}
			if (c == '[')
				continue;
			goto member_name;
		case '"':
			if (jscan_scan_string(s, NULL) < 0)
				return -1;
			goto after_value;
		case 't':
			if (jscan_literal(s, "true", 4) < 0)
				return -1;
			goto after_value;
		case 'f':
			if (jscan_literal(s, "false", 5) < 0)
				return -1;
			goto after_value;
		case 'n':
			if (jscan_literal(s, "null", 4) < 0)
				return -1;
			goto after_value;
		default:
			if (c != '-' && !isdigit_(c))
				return jscan_err(s, c < 0 ? "unexpected end of input" : "expected a value");
			if (jscan_scan_number(s, &integral) < 0)
				return -1;
			goto after_value;
		}
member_name:
		if (jscan_next_byte(s) != '"')
			return jscan_err(s, "expected a member name");
		if (jscan_scan_string(s, NULL) < 0)
			return -1;
		if (jscan_next_byte(s) != ':')
			return jscan_err(s, "expected ':'");
		s->p++;
		continue;
after_value:
		while (depth > 0) {
			c = jscan_next_byte(s);
			if (c == closers[depth - 1]) {
				s->p++;
				depth--;
				continue;
			}
			if (c != ',')
				return jscan_err(s, closers[depth - 1] == '}' ?
						 "expected ',' or '}'" : "expected ',' or ']'");
			s->p++;
			break;
		}
		if (depth == 0)
			return 0;
		if (closers[depth - 1] == '}')
			goto member_name;
	}
}

int jscan_finish(struct jscan *s)
{
	if (s->err)
		return -1;
	if (jscan_next_byte(s) != -1)
		return jscan_err(s, "trailing data after the document");
	return 0;
}

/* ------------------------------------------------------------------------ */
/* String decoding                                                           */
/* ------------------------------------------------------------------------ */

static unsigned hex4(const char *p)
{
	return (unsigned)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 | hexval(p[3]));
}

/* Decodes <str> into <out>, which has room for str->len bytes (decoding
 * never grows a string). Returns the decoded length, or -1.
 */
static long jscan_decode(const struct jscan_str *str, char *out)
{
	const char *p = str->s, *end = str->s + str->len;
	char *o = out;

	while (p < end) {
		uint32_t cp;

		if (*p != '\\') {
			size_t n = utf8_decode((const unsigned char *)p, (size_t)(end - p), NULL);

			/* a NUL would cut the C string short */
			if (!n || !*p)
				return -1;
			memcpy(o, p, n);
			o += n;
			p += n;
			continue;
		}
		/* escapes were validated by the scanner */
		switch (p[1]) {
		case 'b': *o++ = '\b'; p += 2; continue;
		case 'f': *o++ = '\f'; p += 2; continue;
		case 'n': *o++ = '\n'; p += 2; continue;
		case 'r': *o++ = '\r'; p += 2; continue;
		case 't': *o++ = '\t'; p += 2; continue;
		case 'u': break;
		default: *o++ = p[1]; p += 2; continue;
		}
		cp = hex4(p + 2);
		p += 6;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			unsigned lo;

			if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
				return -1;
			lo = hex4(p + 2);
			if (lo < 0xdc00 || lo > 0xdfff)
				return -1;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			p += 6;
		} else if ((cp >= 0xdc00 && cp <= 0xdfff) || cp == 0) {
			return -1;
		}
		o += utf8_encode(o, cp);
	}
	return o - out;
}

char *jscan_str_dup(struct arena *a, const struct jscan_str *str)
{
	char *out = arena_alloc(a, str->len + 1);
	long n;

	if (!out)
		return NULL;
	n = jscan_decode(str, out);
	if (n < 0)
		return NULL;
	out[n] = '\0';
	return out;
}

long jscan_str_copy(const struct jscan_str *str, char *buf, size_t size)
{
	char tmp[512];
	long n;

	if (size == 0)
		return -1;
	if (!str->escaped) {
		if (str->len >= size)
			return -1;
		n = jscan_decode(str, buf);
	} else {
		if (str->len > sizeof(tmp))
			return -1;
		n = jscan_decode(str, tmp);
		if (n < 0 || (size_t)n >= size)
			return -1;
		memcpy(buf, tmp, (size_t)n);
	}
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

int jscan_str_eq(const struct jscan_str *str, const char *lit)
{
	char buf[128];
	size_t n = strlen(lit);

	if (!str->escaped)
		return str->len == n && memcmp(str->s, lit, n) == 0;
	if (jscan_str_copy(str, buf, sizeof(buf)) < 0)
		return 0;
	return strcmp(buf, lit) == 0;
}

int jscan_str_prefix(const struct jscan_str *str, const char *prefix)
{
	char buf[256];
	size_t n = strlen(prefix);

	if (!str->escaped)
		return str->len >= n && memcmp(str->s, prefix, n) == 0;
	if (jscan_str_copy(str, buf, sizeof(buf)) < 0)
		return 0;
	return strncmp(buf, prefix, n) == 0;
}
