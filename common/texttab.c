/* Aligned text tables with escaped cells. */
#include <stdio.h>

#include "common/sbuf.h"
#include "common/texttab.h"
#include "common/utf8.h"

/* Bytes <s> takes once escaped; writes them to <out> unless it is NULL. */
static size_t texttab_escape(struct sbuf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "-");
	size_t w = 0;

	while (*p) {
		const unsigned char *run = p;
		size_t n;

		/* A run of printable characters goes out in one piece. The
		 * string ends with a NUL, which no sequence continues over,
		 * so reading up to UTF8_MAX bytes stays within it. */
		while (*p && *p >= 0x20 && *p != 0x7f && *p != '\\' &&
		       (n = utf8_decode(p, UTF8_MAX, NULL)) != 0) {
			p += n;
		}
		if (p > run) {
			if (out)
				sbuf_add(out, (const char *)run, (size_t)(p - run));
			w += (size_t)(p - run);
			continue;
		}
		if (out)
			sbuf_printf(out, "\\x%02x", *p);
		w += 4;
		p++;
	}
	return w;
}

void texttab_init(struct texttab *t, size_t ncols, const char *const *head)
{
	t->ncols = ncols < TEXTTAB_MAX_COLS ? ncols : TEXTTAB_MAX_COLS;
	for (size_t i = 0; i < t->ncols; i++)
		t->width[i] = texttab_escape(NULL, head[i]);
}

void texttab_measure(struct texttab *t, const char *const *cells)
{
	for (size_t i = 0; i + 1 < t->ncols; i++) {
		size_t w = texttab_escape(NULL, cells[i]);

		if (w > t->width[i])
			t->width[i] = w;
	}
}

void texttab_row(const struct texttab *t, struct sbuf *out, const char *const *cells)
{
	for (size_t i = 0; i < t->ncols; i++) {
		size_t w = texttab_escape(out, cells[i]);

		if (i + 1 == t->ncols)
			break;
		for (; w < t->width[i] + 2; w++)
			sbuf_putc(out, ' ');
	}
	sbuf_putc(out, '\n');
}

size_t texttab_put(struct sbuf *out, const char *s)
{
	return texttab_escape(out, s);
}
