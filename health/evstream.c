/* A ring streamed over HAProxy's runtime API, reconnecting with backoff. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <ev.h>

#include "common/clock.h"
#include "common/log.h"
#include "haproxyapi/haproxy_cli.h"
#include "health/evstream.h"

#define EVSTREAM_RING_MAX 64

struct evstream {
	struct ev_loop *loop;
	ev_io io;
	ev_timer retry;
	int fd;                        /* -1 while waiting to reconnect */
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

	if (s->fd >= 0) {
		ev_io_stop(s->loop, &s->io);
		close(s->fd);
		s->fd = -1;
	}
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
		ssize_t n = read(s->fd, buf, sizeof(buf));

		if (n > 0) {
			evstream_lines(s, buf, (size_t)n);
			continue;
		}
		if (n == 0) {
			evstream_fail(s, "HAProxy closed the connection");
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			evstream_fail(s, strerror(errno));
		return;
	}
}

static void evstream_on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct evstream *s = (struct evstream *)((char *)w - offsetof(struct evstream, io));

	(void)loop;
	if (revents & EV_WRITE) {
		if (!s->connected) {
			int soerr = 0;
			socklen_t sl = sizeof(soerr);

			if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
				soerr = errno;
			if (soerr) {
				evstream_fail(s, strerror(soerr));
				return;
			}
		}
		while (s->sent < s->cmd_len) {
			ssize_t n = write(s->fd, s->cmd + s->sent, s->cmd_len - s->sent);

			if (n > 0) {
				s->sent += (size_t)n;
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return;
			evstream_fail(s, n < 0 ? strerror(errno) : "short write");
			return;
		}
		/* No half-close: HAProxy would end the stream at the end of
		 * its input. */
		if (!s->connected)
			LOG(LL_INFO, "health", "HAProxy event stream open", KVS("target", s->addr.name));
		s->connected = 1;
		s->connected_ms = clock_mono_ms();
		s->connects++;
		s->last_error[0] = '\0';
		ev_io_stop(s->loop, &s->io);
		ev_io_set(&s->io, s->fd, EV_READ);
		ev_io_start(s->loop, &s->io);
		return;
	}
	if (revents & EV_READ)
		evstream_read(s);
}

static void evstream_connect(struct evstream *s)
{
	int one = 1;

	s->sent = 0;
	s->fd = socket(s->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		evstream_fail(s, strerror(errno));
		return;
	}
	/* an HAProxy whose host vanished is noticed without traffic */
	if (s->addr.ss.ss_family != AF_UNIX) {
		int idle = 30, intvl = 10, cnt = 3;

		setsockopt(s->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		setsockopt(s->fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
		setsockopt(s->fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
		setsockopt(s->fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	}
	if (connect(s->fd, (const struct sockaddr *)&s->addr.ss, s->addr.len) < 0 &&
	    errno != EINPROGRESS) {
		evstream_fail(s, strerror(errno));
		return;
	}
	ev_io_init(&s->io, evstream_on_io, s->fd, EV_WRITE);
	ev_io_start(s->loop, &s->io);
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
	s->fd = -1;
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
	if (s->fd >= 0) {
		ev_io_stop(s->loop, &s->io);
		close(s->fd);
	}
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
