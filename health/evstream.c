/* A ring streamed over HAProxy's runtime API, reconnecting with backoff. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ev.h>

#include "common/clock.h"
#include "common/log.h"
#include "haproxyapi/hachan.h"
#include "haproxyapi/haproxy_cli.h"
#include "health/evstream.h"

#define EVSTREAM_RING_MAX 64

struct evstream {
	struct ev_loop *loop;
	ev_timer retry;
	struct hachan *ch;             /* NULL while waiting to reconnect */
	int connected;
	struct haproxy_cli_addr addr;
	char cmd[128];
	size_t cmd_len, sent;
	char line[EVSTREAM_LINE_MAX];
	size_t len;
	int skipping;                  /* inside a line too long to keep */
	unsigned backoff_ms;
	int64_t connected_ms;          /* monotonic, when the command went out */
	uint64_t connects, lines, skipped;
	char last_error[160];
	void (*on_line)(void *arg, const char *line, size_t len);
	void *arg;
};

static void evstream_connect(struct evstream *s);

/* Drops the connection and schedules the next attempt. */
static void evstream_fail(struct evstream *s, const char *why)
{
	int64_t now = clock_mono_ms();
	char reason[sizeof(s->last_error)];

	/* <why> may be the channel's own error text */
	snprintf(reason, sizeof(reason), "%s", why);
	why = reason;
	hachan_close(s->ch);
	s->ch = NULL;
	/* a connection that streamed a while was not a failing one */
	if (s->connected && now - s->connected_ms >= EVSTREAM_STABLE_MS)
		s->backoff_ms = 0;
	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : EVSTREAM_BACKOFF_MIN_MS;
	if (s->backoff_ms > EVSTREAM_BACKOFF_MAX_MS)
		s->backoff_ms = EVSTREAM_BACKOFF_MAX_MS;
	if (strcmp(s->last_error, why) != 0 || s->connected)
		LOG(LL_WARN, "health", "HAProxy event stream lost", KVS("target", s->addr.name),
		    KVS("reason", why), KVI("retry_ms", s->backoff_ms));
	snprintf(s->last_error, sizeof(s->last_error), "%s", why);
	s->connected = 0;
	s->len = 0;
	s->skipping = 0;
	ev_timer_set(&s->retry, s->backoff_ms / 1000.0, 0.0);
	ev_timer_start(s->loop, &s->retry);
}

static void evstream_lines(struct evstream *s, const char *buf, size_t n)
{
	while (n) {
		const char *lf = memchr(buf, '\n', n);
		size_t take = lf ? (size_t)(lf - buf) : n;

		if (!s->skipping && s->len + take >= sizeof(s->line)) {
			s->skipping = 1;
			s->skipped++;
		}
		if (!s->skipping) {
			memcpy(s->line + s->len, buf, take);
			s->len += take;
		}
		if (!lf)
			return;
		if (!s->skipping && s->len) {
			s->lines++;
			s->on_line(s->arg, s->line, s->len);
		}
		s->len = 0;
		s->skipping = 0;
		buf += take + 1;
		n -= take + 1;
	}
}

static void evstream_read(struct evstream *s)
{
	char buf[16384];

	for (;;) {
		ssize_t n = hachan_read(s->ch, buf, sizeof(buf));

		if (n > 0) {
			evstream_lines(s, buf, (size_t)n);
			continue;
		}
		if (n == 0) {
			evstream_fail(s, "HAProxy closed the connection");
			return;
		}
		if (errno != EAGAIN)
			evstream_fail(s, hachan_error(s->ch));
		return;
	}
}

static void evstream_write(struct evstream *s)
{
	while (s->sent < s->cmd_len) {
		ssize_t n = hachan_write(s->ch, s->cmd + s->sent, s->cmd_len - s->sent);

		if (n > 0) {
			s->sent += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			return;
		evstream_fail(s, n < 0 ? hachan_error(s->ch) : "short write");
		return;
	}
	/* No half-close: HAProxy would end the stream at the end of its
	 * input. */
	LOG(LL_INFO, "health", "HAProxy event stream open", KVS("target", s->addr.name),
	    KVI("tls", hachan_is_tls(&s->addr)));
	s->connected = 1;
	s->connected_ms = clock_mono_ms();
	s->connects++;
	s->last_error[0] = '\0';
	hachan_want(s->ch, EV_READ);
	evstream_read(s);
}

static void evstream_on_io(void *arg, int events)
{
	struct evstream *s = arg;

	if (events & HACHAN_ERROR) {
		evstream_fail(s, hachan_error(s->ch));
		return;
	}
	if (events & HACHAN_CONNECTED) {
		hachan_want(s->ch, EV_WRITE);
		evstream_write(s);
		return;
	}
	if ((events & EV_WRITE) && !s->connected) {
		evstream_write(s);
		return;
	}
	if (events & EV_READ)
		evstream_read(s);
}

static void evstream_connect(struct evstream *s)
{
	char err[256];

	s->sent = 0;
	s->ch = hachan_open(s->loop, &s->addr, evstream_on_io, s, err, sizeof(err));
	if (!s->ch)
		evstream_fail(s, err);
}

static void evstream_on_retry(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct evstream *s = (struct evstream *)((char *)t - offsetof(struct evstream, retry));

	(void)loop;
	(void)revents;
	evstream_connect(s);
}

struct evstream *evstream_new(struct ev_loop *loop, const struct haproxy_cli_addr *addr,
			      const char *ring,
			      void (*on_line)(void *arg, const char *line, size_t len), void *arg)
{
	struct evstream *s;

	if (strlen(ring) > EVSTREAM_RING_MAX)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->loop = loop;
	s->addr = *addr;
	s->on_line = on_line;
	s->arg = arg;
	s->cmd_len = (size_t)snprintf(s->cmd, sizeof(s->cmd),
				      "set timeout cli 86400; show events %s -w -n\n", ring);
	ev_timer_init(&s->retry, evstream_on_retry, 0.0, 0.0);
	evstream_connect(s);
	return s;
}

void evstream_free(struct evstream *s)
{
	if (!s)
		return;
	ev_timer_stop(s->loop, &s->retry);
	hachan_close(s->ch);
	free(s);
}

void evstream_status(const struct evstream *s, struct evstream_status *st)
{
	st->target = s->addr.name;
	st->connected = s->connected;
	st->connects = s->connects;
	st->lines = s->lines;
	st->skipped = s->skipped;
	st->last_error = s->last_error;
}
