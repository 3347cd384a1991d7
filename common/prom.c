/* Prometheus text exposition format 0.0.4. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/prom.h"
#include "common/sbuf.h"
#include "common/utf8.h"

static const char *const type_names[] = {
	[PROM_COUNTER]   = "counter",
	[PROM_GAUGE]     = "gauge",
	[PROM_HISTOGRAM] = "histogram",
};

void prom_escape_label(struct sbuf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	while (n) {
		size_t len = utf8_decode(p, n, NULL);

		if (!len) {
			sbuf_add(out, "\xef\xbf\xbd", 3);   /* U+FFFD */
			p++;
			n--;
			continue;
		}
		if (*p == '\\')
			sbuf_add(out, "\\\\", 2);
		else if (*p == '"')
			sbuf_add(out, "\\\"", 2);
		else if (*p == '\n')
			sbuf_add(out, "\\n", 2);
		else
			sbuf_add(out, (const char *)p, len);
		p += len;
		n -= len;
	}
}

/* HELP text escapes only backslash and newline. */
static void prom_escape_help(struct sbuf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			sbuf_add(out, "\\\\", 2);
		else if (*s == '\n')
			sbuf_add(out, "\\n", 2);
		else
			sbuf_putc(out, *s);
	}
}

void prom_family(struct sbuf *out, const char *name, enum prom_type type, const char *help)
{
	sbuf_printf(out, "# HELP %s ", name);
	prom_escape_help(out, help);
	sbuf_printf(out, "\n# TYPE %s %s\n", name, type_names[type]);
}

void prom_single_u64(struct sbuf *out, const char *name, enum prom_type type,
		     const char *help, uint64_t value)
{
	prom_family(out, name, type, help);
	prom_sample_u64(out, name, type == PROM_COUNTER ? "_total" : NULL, NULL, 0, value);
}

static void prom_head(struct sbuf *out, const char *name, const char *suffix,
		      const struct prom_label *labels, unsigned nlabels)
{
	sbuf_puts(out, name);
	if (suffix)
		sbuf_puts(out, suffix);
	if (nlabels) {
		sbuf_putc(out, '{');
		for (unsigned i = 0; i < nlabels; i++) {
			if (i)
				sbuf_putc(out, ',');
			sbuf_puts(out, labels[i].name);
			sbuf_add(out, "=\"", 2);
			prom_escape_label(out, labels[i].value ? labels[i].value : "");
			sbuf_putc(out, '"');
		}
		sbuf_putc(out, '}');
	}
	sbuf_putc(out, ' ');
}

/* The shortest of %.15g, %.16g and %.17g that reads back as <v>: 0.1
 * stays "0.1" instead of "0.10000000000000001".
 */
static void prom_shortest(double v, char *buf, size_t len)
{
	for (int prec = 15; prec < 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
	snprintf(buf, len, "%.17g", v);
}

const char *prom_f64(double v, char *buf)
{
	if (isnan(v))
		strcpy(buf, "NaN");
	else if (isinf(v))
		strcpy(buf, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 9007199254740992.0)
		snprintf(buf, PROM_F64_LEN, "%.0f", v);
	else
		prom_shortest(v, buf, PROM_F64_LEN);
	return buf;
}

/* Appends prom_f64(<v>) to <out>. */
static void prom_format_f64(struct sbuf *out, double v)
{
	char buf[PROM_F64_LEN];

	sbuf_puts(out, prom_f64(v, buf));
}

void prom_sample_u64(struct sbuf *out, const char *name, const char *suffix,
		     const struct prom_label *labels, unsigned nlabels, uint64_t value)
{
	prom_head(out, name, suffix, labels, nlabels);
	sbuf_printf(out, "%llu\n", (unsigned long long)value);
}

void prom_sample_f64(struct sbuf *out, const char *name, const char *suffix,
		     const struct prom_label *labels, unsigned nlabels, double value)
{
	prom_head(out, name, suffix, labels, nlabels);
	prom_format_f64(out, value);
	sbuf_putc(out, '\n');
}
