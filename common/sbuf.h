/* A growable byte buffer for text built off the hot path (stats socket
 * output, JSON, explain reports).
 */
#ifndef COMMON_SBUF_H
#define COMMON_SBUF_H

#include <stdarg.h>
#include <stddef.h>
#include "common/sbuf-t.h"

void sbuf_free(struct sbuf *b);
void sbuf_reset(struct sbuf *b);

void sbuf_add(struct sbuf *b, const char *s, size_t n);
void sbuf_puts(struct sbuf *b, const char *s);
void sbuf_putc(struct sbuf *b, char c);
__attribute__((format(printf, 2, 3)))
void sbuf_printf(struct sbuf *b, const char *fmt, ...);
void sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap);

/* Appends <n> bytes of <s> as a quoted JSON string. */
void sbuf_json_str(struct sbuf *b, const char *s, size_t n);
/* Same for a NUL-terminated string; NULL becomes JSON null. */
void sbuf_json_cstr(struct sbuf *b, const char *s);

#endif
