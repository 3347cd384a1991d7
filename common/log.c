/* Line-oriented logging on stderr, logfmt or JSON. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/utf8.h"

_Atomic int log_threshold = LL_INFO;
static _Atomic int log_format_cur = LOG_FMT_LOGFMT;
static _Atomic int log_fd = STDERR_FILENO;

static const char *const level_names[] = {
	[LL_ERROR] = "error",
	[LL_WARN]  = "warn",
	[LL_INFO]  = "info",
	[LL_DEBUG] = "debug",
};

/* A bounded line builder. Output past <LINE_BODY> bytes is refused and
 * latches <overflow>; the bytes after it are kept for what closes a line
 * (a quote, "truncated", the brace and the LF), so that a line cut short
 * is still one valid logfmt or JSON record.
 */
#define LINE_SIZE 4096
#define LINE_TAIL 32
#define LINE_BODY (LINE_SIZE - LINE_TAIL)

struct line {
	char buf[LINE_SIZE];
	size_t len;
	int overflow;
};

/* Appends all of <s> or, when it does not fit, nothing. */
static void line_put_all(struct line *l, const char *s, size_t n)
{
	if (l->overflow || n > LINE_BODY - l->len) {
		l->overflow = 1;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void line_putc(struct line *l, char c)
{
	line_put_all(l, &c, 1);
}

/* Appends from the reserved tail: only for what closes a line. */
static void line_close(struct line *l, const char *s)
{
	size_t n = strlen(s);

	if (n > LINE_SIZE - l->len)
		n = LINE_SIZE - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void line_printf(struct line *l, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	line_put_all(l, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Writes <s> as a JSON string body (without quotes), escaping as needed;
 * an escape or a character is written whole or not at all.
 */
static void line_json_escape(struct line *l, const char *s, size_t n)
{
	for (size_t i = 0; i < n && !l->overflow; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };

			line_put_all(l, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			line_printf(l, "\\u%04x", c);
		} else {
			/* a valid character whole; anything else byte by byte */
			size_t len = utf8_decode((const unsigned char *)s + i, n - i, NULL);

			if (!len)
				len = 1;
			line_put_all(l, s + i, len);
			i += len - 1;
		}
	}
}

/* Writes a logfmt value: bare when it is a plain token that fits, quoted
 * otherwise (a quoted value can be cut and closed).
 */
static void line_logfmt_value(struct line *l, const char *s, size_t n)
{
	int plain = n > 0 && n <= LINE_BODY - l->len;

	for (size_t i = 0; i < n && plain; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f)
			plain = 0;
	}
	if (plain) {
		line_put_all(l, s, n);
		return;
	}
	line_putc(l, '"');
	line_json_escape(l, s, n);
	line_putc(l, '"');
}

static void kv_string(const struct log_kv *kv, const char **s, size_t *n)
{
	if (kv->type == LOG_KV_STRN) {
		*s = kv->s ? kv->s : "";
		*n = kv->s ? kv->n : 0;
	} else {
		*s = kv->s ? kv->s : "";
		*n = strlen(*s);
	}
}

/* Appends field <kv>, or nothing when it does not fit whole. Returns 0,
 * or -1 when it did not fit.
 */
static int line_field(struct line *l, const struct log_kv *kv, int json)
{
	size_t mark = l->len;
	const char *s;
	size_t n;

	if (json) {
		line_put_all(l, ",\"", 2);
		line_json_escape(l, kv->key, strlen(kv->key));
		line_put_all(l, "\":", 2);
	} else {
		line_putc(l, ' ');
		line_put_all(l, kv->key, strlen(kv->key));
		line_putc(l, '=');
	}
	if (kv->type == LOG_KV_INT) {
		line_printf(l, "%lld", kv->i);
	} else {
		kv_string(kv, &s, &n);
		if (json) {
			line_putc(l, '"');
			line_json_escape(l, s, n);
			line_putc(l, '"');
		} else {
			line_logfmt_value(l, s, n);
		}
	}
	if (!l->overflow)
		return 0;
	l->len = mark;
	return -1;
}

void log_emit(enum log_level lvl, const char *subsys, const char *msg,
	      const struct log_kv *kv, size_t nkv)
{
	struct line l = { .len = 0, .overflow = 0 };
	struct timespec ts;
	struct tm tm;
	char tbuf[32];
	int json = atomic_load_explicit(&log_format_cur, memory_order_relaxed) == LOG_FMT_JSON;
	int truncated = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);

	if (json) {
		line_printf(&l, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"subsys\":\"",
			    tbuf, ts.tv_nsec / 1000000, level_names[lvl]);
		line_json_escape(&l, subsys, strlen(subsys));
		line_put_all(&l, "\",\"msg\":\"", 9);
		line_json_escape(&l, msg, strlen(msg));
		if (l.overflow) {
			/* The message alone is too long: close it as it is. */
			line_close(&l, "\"");
			truncated = 1;
		} else {
			line_putc(&l, '"');
		}
	} else {
		line_printf(&l, "ts=%s.%03ldZ level=%s subsys=%s msg=",
			    tbuf, ts.tv_nsec / 1000000, level_names[lvl], subsys);
		line_logfmt_value(&l, msg, strlen(msg));
		if (l.overflow) {
			line_close(&l, "\"");
			truncated = 1;
		}
	}

	for (size_t i = 0; i < nkv && !truncated; i++) {
		if (kv[i].type == LOG_KV_NONE || !kv[i].key)
			continue;
		if (line_field(&l, &kv[i], json) < 0)
			truncated = 1;
	}
	if (truncated)
		line_close(&l, json ? ",\"truncated\":true" : " truncated=true");
	line_close(&l, json ? "}\n" : "\n");

	/* One write so concurrent lines never interleave; a short write to a
	 * full pipe loses the rest of this line only. */
	ssize_t w = write(atomic_load_explicit(&log_fd, memory_order_relaxed), l.buf, l.len);
	(void)w;
}

void log_set_level(enum log_level lvl)
{
	atomic_store_explicit(&log_threshold, (int)lvl, memory_order_relaxed);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load_explicit(&log_threshold, memory_order_relaxed);
}

void log_set_format(enum log_format fmt)
{
	atomic_store_explicit(&log_format_cur, (int)fmt, memory_order_relaxed);
}

void log_set_fd(int fd)
{
	atomic_store_explicit(&log_fd, fd, memory_order_relaxed);
}

int log_level_parse(const char *name, enum log_level *lvl)
{
	if (!strcasecmp(name, "error") || !strcasecmp(name, "err"))
		*lvl = LL_ERROR;
	else if (!strcasecmp(name, "warn") || !strcasecmp(name, "warning"))
		*lvl = LL_WARN;
	else if (!strcasecmp(name, "info"))
		*lvl = LL_INFO;
	else if (!strcasecmp(name, "debug"))
		*lvl = LL_DEBUG;
	else
		return -1;
	return 0;
}

const char *log_level_name(enum log_level lvl)
{
	return level_names[lvl];
}

int log_format_parse(const char *name, enum log_format *fmt)
{
	if (!strcasecmp(name, "logfmt"))
		*fmt = LOG_FMT_LOGFMT;
	else if (!strcasecmp(name, "json"))
		*fmt = LOG_FMT_JSON;
	else
		return -1;
	return 0;
}
