/* Line-oriented logging on stderr, logfmt or JSON. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

_Atomic int log_threshold = LL_INFO;
static _Atomic int log_format_cur = LOG_FMT_LOGFMT;
static _Atomic int log_fd = STDERR_FILENO;

static const char *const level_names[] = {
	[LL_ERROR] = "error",
	[LL_WARN]  = "warn",
	[LL_INFO]  = "info",
	[LL_DEBUG] = "debug",
};

/* A bounded line builder: output past the end is dropped, never overflows. */
struct line {
	char buf[4096];
	size_t len;
};

static void line_putc(struct line *l, char c)
{
	if (l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = c;
}

static void line_puts(struct line *l, const char *s, size_t n)
{
	size_t room = sizeof(l->buf) - 1 - l->len;

	if (n > room)
		n = room;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void line_printf(struct line *l, const char *fmt, ...)
{
	size_t room = sizeof(l->buf) - 1 - l->len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, room + 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	l->len += (size_t)n > room ? room : (size_t)n;
}

/* Writes <s> as a JSON string body (without quotes), escaping as needed. */
static void line_json_escape(struct line *l, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			line_putc(l, '\\');
			line_putc(l, (char)c);
		} else if (c < 0x20 || c == 0x7f) {
			line_printf(l, "\\u%04x", c);
		} else {
			line_putc(l, (char)c);
		}
	}
}

/* Writes a logfmt value: bare when it is a plain token, quoted otherwise. */
static void line_logfmt_value(struct line *l, const char *s, size_t n)
{
	int plain = n > 0;

	for (size_t i = 0; i < n && plain; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f)
			plain = 0;
	}
	if (plain) {
		line_puts(l, s, n);
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

void log_emit(enum log_level lvl, const char *subsys, const char *msg,
	      const struct log_kv *kv, size_t nkv)
{
	struct line l = { .len = 0 };
	struct timespec ts;
	struct tm tm;
	char tbuf[32];
	int json = atomic_load_explicit(&log_format_cur, memory_order_relaxed) == LOG_FMT_JSON;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);

	if (json) {
		line_printf(&l, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"subsys\":\"",
			    tbuf, ts.tv_nsec / 1000000, level_names[lvl]);
		line_json_escape(&l, subsys, strlen(subsys));
		line_puts(&l, "\",\"msg\":\"", 9);
		line_json_escape(&l, msg, strlen(msg));
		line_putc(&l, '"');
	} else {
		line_printf(&l, "ts=%s.%03ldZ level=%s subsys=%s msg=",
			    tbuf, ts.tv_nsec / 1000000, level_names[lvl], subsys);
		line_logfmt_value(&l, msg, strlen(msg));
	}

	for (size_t i = 0; i < nkv; i++) {
		const char *s;
		size_t n;

		if (kv[i].type == LOG_KV_NONE || !kv[i].key)
			continue;
		if (json) {
			line_puts(&l, ",\"", 2);
			line_json_escape(&l, kv[i].key, strlen(kv[i].key));
			line_puts(&l, "\":", 2);
		} else {
			line_putc(&l, ' ');
			line_puts(&l, kv[i].key, strlen(kv[i].key));
			line_putc(&l, '=');
		}
		if (kv[i].type == LOG_KV_INT) {
			line_printf(&l, "%lld", kv[i].i);
			continue;
		}
		kv_string(&kv[i], &s, &n);
		if (json) {
			line_putc(&l, '"');
			line_json_escape(&l, s, n);
			line_putc(&l, '"');
		} else {
			line_logfmt_value(&l, s, n);
		}
	}
	if (json)
		line_putc(&l, '}');
	l.buf[l.len++] = '\n';

	/* One write so concurrent lines never interleave; a short write to a
	 * full pipe loses the rest of this line only. */
	ssize_t w = write(atomic_load_explicit(&log_fd, memory_order_relaxed), l.buf, l.len);
	(void)w;
}

void log_set_level(enum log_level lvl)
{
	atomic_store_explicit(&log_threshold, (int)lvl, memory_order_relaxed);
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
