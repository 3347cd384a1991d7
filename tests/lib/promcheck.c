/* A checker for the Prometheus text exposition format 0.0.4, for the tests
 * of every metrics page the agent writes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/promcheck.h"

/************************************************************************/
/*              a checker for the text exposition format 0.0.4          */
/************************************************************************/

#define CHECK_MAX_SERIES 4096

struct checker {
	char family[128];          /* current family */
	char type[256];
	char seen_families[256][128];
	size_t nfamilies;
	char *series[CHECK_MAX_SERIES];
	size_t nseries;
	/* histogram state of the current series of the family (its labels
	 * other than le: each label set has its own buckets, _sum, _count) */
	char hist_labels[1024];
	double last_le;
	double last_bucket;
	double inf_bucket;
	int has_inf;
	char why[256];
};

static int check_fail(struct checker *c, const char *line, const char *what)
{
	snprintf(c->why, sizeof(c->why), "%s in line: %.120s", what, line);
	return -1;
}

static int check_name_char(char ch, int first)
{
	return ch == '_' || ch == ':' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (!first && ch >= '0' && ch <= '9');
}

/* Parses a sample value as Prometheus does. */
static int check_value(const char *s, double *v)
{
	char *end;

	if (!strcmp(s, "+Inf")) {
		*v = INFINITY;
		return 0;
	}
	if (!strcmp(s, "-Inf")) {
		*v = -INFINITY;
		return 0;
	}
	if (!strcmp(s, "NaN")) {
		*v = NAN;
		return 0;
	}
	*v = strtod(s, &end);
	return *s && !*end && !strchr(s, 'x') && !strchr(s, 'X') ? 0 : -1;
}

static int check_family_end(struct checker *c, const char *line)
{
	if (!strcmp(c->type, "histogram") && c->family[0] && !c->has_inf)
		return check_fail(c, line, "histogram without a +Inf bucket");
	return 0;
}

static int check_comment(struct checker *c, const char *line)
{
	char kind[8], name[128], rest[256];

	if (sscanf(line, "# %7s %127s %255[^\n]", kind, name, rest) < 2)
		return 0;   /* a plain comment */
	if (!strcmp(kind, "HELP")) {
		if (strcmp(name, c->family) != 0) {
			if (check_family_end(c, line) < 0)
				return -1;
			for (size_t i = 0; i < c->nfamilies; i++)
				if (!strcmp(c->seen_families[i], name))
					return check_fail(c, line, "family given twice");
			snprintf(c->family, sizeof(c->family), "%s", name);
			snprintf(c->seen_families[c->nfamilies++], 128, "%s", name);
			c->type[0] = '\0';
			c->hist_labels[0] = '\0';
			c->has_inf = 0;
			c->last_le = -INFINITY;
			c->last_bucket = 0;
		}
		return 0;
	}
	if (!strcmp(kind, "TYPE")) {
		if (strcmp(name, c->family) != 0)
			return check_fail(c, line, "TYPE not right after its HELP");
		if (c->type[0])
			return check_fail(c, line, "TYPE given twice");
		if (strcmp(rest, "counter") && strcmp(rest, "gauge") && strcmp(rest, "histogram") &&
		    strcmp(rest, "summary") && strcmp(rest, "untyped"))
			return check_fail(c, line, "unknown type");
		snprintf(c->type, sizeof(c->type), "%s", rest);
	}
	return 0;
}

static int check_sample(struct checker *c, const char *line)
{
	const char *p = line;
	char name[128], labels[1024] = "", others[1024] = "", le[64] = "", value[64];
	size_t n = 0, ln = 0;
	double v;

	while (check_name_char(*p, n == 0) && n < sizeof(name) - 1)
		name[n++] = *p++;
	name[n] = '\0';
	if (!n)
		return check_fail(c, line, "bad metric name");
	if (*p == '{') {
		char lnames[8][64];
		int nl = 0;

		p++;
		while (*p != '}') {
			const char *lstart = p;
			char lname[64];
			size_t k = 0, vs;

			while (check_name_char(*p, k == 0) && *p != ':' && k < sizeof(lname) - 1)
				lname[k++] = *p++;
			lname[k] = '\0';
			if (!k || *p++ != '=' || *p++ != '"')
				return check_fail(c, line, "bad label");
			for (int i = 0; i < nl; i++)
				if (!strcmp(lnames[i], lname))
					return check_fail(c, line, "label given twice");
			if (nl < 8)
				snprintf(lnames[nl++], 64, "%s", lname);
			vs = 0;
			while (*p != '"') {
				if (!*p || *p == '\n')
					return check_fail(c, line, "unterminated label value");
				if (*p == '\\') {
					p++;
					if (*p != '\\' && *p != '"' && *p != 'n')
						return check_fail(c, line, "bad escape in label value");
				}
				if (!strcmp(lname, "le") && vs < sizeof(le) - 1)
					le[vs++] = *p;
				p++;
			}
			if (!strcmp(lname, "le"))
				le[vs] = '\0';
			p++;
			if (strcmp(lname, "le") != 0 &&
			    strlen(others) + (size_t)(p - lstart) + 2 < sizeof(others)) {
				strncat(others, lstart, (size_t)(p - lstart));
				strcat(others, ",");
			}
			if (*p == ',')
				p++;
			else if (*p != '}')
				return check_fail(c, line, "bad label list");
		}
		ln = (size_t)(p + 1 - line) - n;
		snprintf(labels, sizeof(labels), "%.*s", (int)ln, line + n);
		p++;
	}
	if (*p++ != ' ')
		return check_fail(c, line, "no blank before the value");
	if (sscanf(p, "%63s", value) != 1 || check_value(value, &v) < 0)
		return check_fail(c, line, "bad value");

	if (!strcmp(c->type, "histogram")) {
		size_t fl = strlen(c->family);

		if (strncmp(name, c->family, fl) != 0)
			return check_fail(c, line, "sample outside its family");
		if (strcmp(others, c->hist_labels) != 0) {
			/* the next series: the one before must be whole */
			if (c->hist_labels[0] && !c->has_inf)
				return check_fail(c, line, "histogram series without a +Inf bucket");
			snprintf(c->hist_labels, sizeof(c->hist_labels), "%s", others);
			c->has_inf = 0;
			c->last_le = -INFINITY;
			c->last_bucket = 0;
		}
		if (!strcmp(name + fl, "_bucket")) {
			double bound;

			if (!le[0] || check_value(le, &bound) < 0)
				return check_fail(c, line, "bucket without a valid le");
			if (bound <= c->last_le)
				return check_fail(c, line, "buckets not in increasing le order");
			if (v < c->last_bucket)
				return check_fail(c, line, "bucket counts decrease");
			c->last_le = bound;
			c->last_bucket = v;
			if (isinf(bound)) {
				c->has_inf = 1;
				c->inf_bucket = v;
			}
		} else if (!strcmp(name + fl, "_count")) {
			if (!c->has_inf || c->inf_bucket != v)
				return check_fail(c, line, "_count differs from the +Inf bucket");
		} else if (strcmp(name + fl, "_sum") != 0) {
			return check_fail(c, line, "sample outside its family");
		}
	} else {
		if (strcmp(name, c->family) != 0)
			return check_fail(c, line, "sample outside its family");
		if (!strcmp(c->type, "counter") && (v < 0 || isnan(v)))
			return check_fail(c, line, "negative counter");
	}
	if (!c->type[0])
		return check_fail(c, line, "sample before its TYPE");
	{
		char *key = malloc(strlen(name) + strlen(labels) + 1);

		strcpy(key, name);
		strcat(key, labels);
		for (size_t i = 0; i < c->nseries; i++)
			if (!strcmp(c->series[i], key)) {
				free(key);
				return check_fail(c, line, "series given twice");
			}
		if (c->nseries == CHECK_MAX_SERIES) {
			free(key);
			return check_fail(c, line, "more series than the checker holds");
		}
		c->series[c->nseries++] = key;
	}
	return 0;
}

const char *check_exposition(const char *page)
{
	static struct checker c;
	const char *p = page;
	int rc = 0;

	for (size_t i = 0; i < c.nseries; i++)
		free(c.series[i]);
	memset(&c, 0, sizeof(c));
	if (!*page || page[strlen(page) - 1] != '\n')
		return "the page does not end with a LF";
	while (*p && rc == 0) {
		const char *lf = strchr(p, '\n');
		char line[2048];

		snprintf(line, sizeof(line), "%.*s", (int)(lf - p), p);
		if (line[0] == '#')
			rc = check_comment(&c, line);
		else if (line[0])
			rc = check_sample(&c, line);
		p = lf + 1;
	}
	if (rc == 0)
		rc = check_family_end(&c, "end of page");
	return rc ? c.why : NULL;
}
