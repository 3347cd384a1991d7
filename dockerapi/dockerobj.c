/* Shared readers for Docker objects. */
#include <string.h>
#include <time.h>

#include "common/arena.h"
#include "common/jscan.h"
#include "dockerapi/dockerobj.h"

#define LB_PREFIX "com.docker.lb."

int dockerobj_str(struct jscan *s, struct arena *a, const char **out, const char **reason)
{
	struct jscan_str v;

	*out = NULL;
	if (jscan_null(s))
		return 0;
	if (jscan_peek(s) != JSCAN_STRING) {
		*reason = "a string field holds another type";
		return jscan_skip(s);
	}
	if (jscan_string(s, &v) < 0)
		return -1;
	*out = jscan_str_dup(a, &v);
	if (!*out)
		*reason = "a string is not valid UTF-8 or holds a NUL";
	return 0;
}

int dockerobj_int(struct jscan *s, int64_t *out, const char **reason)
{
	struct jscan try;

	if (jscan_null(s))
		return 0;
	if (jscan_peek(s) != JSCAN_NUMBER) {
		*reason = "a number field holds another type";
		return jscan_skip(s);
	}
	/* a fraction or an out-of-range integer is a bad field, not a syntax
	 * error: try on a copy, skip the value on the real scanner if it fails */
	try = *s;
	if (jscan_int64(&try, out) == 0) {
		*s = try;
		return 0;
	}
	*reason = "an integer field holds a fraction or is out of range";
	return jscan_skip(s);
}

int dockerobj_labels(struct jscan *s, struct arena *a, struct model_label **out, size_t *n,
		     const char **reason)
{
	struct jscan probe;
	struct jscan_str key, val;
	size_t count = 0, i = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (jscan_null(s))
		return 0;
	if (jscan_peek(s) != JSCAN_OBJECT) {
		*reason = "labels are not an object";
		return jscan_skip(s);
	}
	if (jscan_enter_object(s) < 0)
		return -1;
	/* count first, on a copy of the scanner, to allocate once */
	probe = *s;
	while (jscan_next_member(&probe, &key) == 1 && jscan_skip(&probe) == 0)
		count++;
	if (jscan_error(&probe)) {
		*s = probe;   /* the same syntax error on the real scanner */
		return -1;
	}
	if (count) {
		*out = arena_calloc(a, count, sizeof(**out));
		if (!*out) {
			*reason = "out of memory";
			*s = probe;   /* past the object */
			return 0;
		}
	}
	while ((rc = jscan_next_member(s, &key)) == 1) {
		const char *k, *v;

		if (jscan_peek(s) != JSCAN_STRING) {
			if (jscan_skip(s) < 0)
				return -1;
			continue;
		}
		if (jscan_string(s, &val) < 0)
			return -1;
		k = jscan_str_dup(a, &key);
		v = jscan_str_dup(a, &val);
		if (!k || !v) {
			*reason = "a label is not valid UTF-8 or holds a NUL";
			continue;
		}
		if (i < count) {
			(*out)[i].key = k;
			(*out)[i].value = v;
			i++;
		}
	}
	*n = i;
	return rc < 0 ? -1 : 0;
}

const char *dockerobj_label(const struct model_label *labels, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(labels[i].key, key) == 0)
			return labels[i].value;
	return NULL;
}

int dockerobj_routed(const struct model_label *labels, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strncmp(labels[i].key, LB_PREFIX, sizeof(LB_PREFIX) - 1) == 0)
			return 1;
	return 0;
}

/* Reads <n> digits at <*p> into <out>. Returns 0 or -1. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int64_t dockerobj_time_ms(const char *s)
{
	struct tm tm = { 0 };
	int year, mon, day, hour, min, sec, ms = 0, off = 0;
	const char *p = s;
	int64_t t;

	if (!s || digits(&p, 4, &year) < 0 || *p++ != '-' || digits(&p, 2, &mon) < 0 ||
	    *p++ != '-' || digits(&p, 2, &day) < 0 || (*p != 'T' && *p != 't' && *p != ' '))
		return -1;
	p++;
	if (digits(&p, 2, &hour) < 0 || *p++ != ':' || digits(&p, 2, &min) < 0 ||
	    *p++ != ':' || digits(&p, 2, &sec) < 0)
		return -1;
	if (*p == '.') {
		int scale = 100, nd = 0;

		p++;
		while (*p >= '0' && *p <= '9') {
			if (nd < 3)
				ms += (*p - '0') * scale;
			scale /= 10;
			nd++;
			p++;
		}
		if (!nd)
			return -1;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh, om;

		p++;
		if (digits(&p, 2, &oh) < 0 || *p++ != ':' || digits(&p, 2, &om) < 0 || oh > 23 || om > 59)
			return -1;
		off = sign * (oh * 60 + om);
	} else {
		return -1;
	}
	if (*p || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
		return -1;
	if (year < 1970)
		return 0;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm);
	if (t < 0)
		return 0;
	return (t - (int64_t)off * 60) * 1000 + ms;
}
