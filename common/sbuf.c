/* Growable text buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sbuf.h"

void sbuf_free(struct sbuf *b)
{
	free(b->buf);
	b->buf = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}

void sbuf_reset(struct sbuf *b)
{
	b->len = 0;
	if (b->buf)
		b->buf[0] = '\0';
}

/* Makes room for <n> more bytes plus the terminating NUL. */
static int sbuf_reserve(struct sbuf *b, size_t n)
{
	size_t need = b->len + n + 1;
	size_t cap;
	char *p;

	if (b->oom)
		return -1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	p = realloc(b->buf, cap);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->buf = p;
	b->cap = cap;
	return 0;
}

void sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	if (sbuf_reserve(b, n) < 0)
		return;
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

void sbuf_puts(struct sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

void sbuf_putc(struct sbuf *b, char c)
{
	sbuf_add(b, &c, 1);
}

void sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0 || sbuf_reserve(b, (size_t)n) < 0)
		return;
	vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sbuf_vprintf(b, fmt, ap);
	va_end(ap);
}

void sbuf_json_str(struct sbuf *b, const char *s, size_t n)
{
	sbuf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			sbuf_putc(b, '\\');
			sbuf_putc(b, (char)c);
		} else if (c < 0x20 || c == 0x7f) {
			sbuf_printf(b, "\\u%04x", c);
		} else {
			sbuf_putc(b, (char)c);
		}
	}
	sbuf_putc(b, '"');
}

void sbuf_json_cstr(struct sbuf *b, const char *s)
{
	if (!s)
		sbuf_puts(b, "null");
	else
		sbuf_json_str(b, s, strlen(s));
}
