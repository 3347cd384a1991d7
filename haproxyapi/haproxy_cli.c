/* HAProxy runtime API client: one command per connection on libev. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <ev.h>

#include "haproxyapi/hachan.h"
#include "haproxyapi/haproxy_cli.h"
#include "common/sbuf.h"

struct haproxy_cli_req {
	struct ev_loop *loop;
	ev_timer timer;
	struct hachan *ch;
	int connected;
	struct sbuf out;          /* command still to send */
	size_t sent;
	struct sbuf in;           /* answer so far */
	haproxy_cli_done_fn done;
	void *arg;
	char name[HAPROXY_CLI_NAME_MAX];
};

int haproxy_cli_addr_parse(struct haproxy_cli_addr *a, const char *spec, char *err, size_t errlen)
{
	const char *path = NULL, *colon;
	char host[64];
	size_t hl;
	long port;
	char *end;

	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", spec);
	if (strncmp(spec, "unix:", 5) == 0)
		path = spec + 5;
	else if (spec[0] == '/')
		path = spec;
	if (path) {
		struct sockaddr_un *un = (struct sockaddr_un *)&a->ss;

		if (!*path || strlen(path) >= sizeof(un->sun_path)) {
			snprintf(err, errlen, "bad unix socket path in '%s'", spec);
			return -1;
		}
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, path);
		a->len = sizeof(*un);
		return 0;
	}
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (!close || close[1] != ':')
			goto bad;
		hl = (size_t)(close - spec - 1);
		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, spec + 1, hl);
		colon = close + 1;
	} else {
		colon = strrchr(spec, ':');
		if (!colon)
			goto bad;
		hl = (size_t)(colon - spec);
		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, spec, hl);
	}
	host[hl] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port < 1 || port > 65535)
		goto bad;
	{
		struct sockaddr_in *in4 = (struct sockaddr_in *)&a->ss;
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;

		if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
			in4->sin_family = AF_INET;
			in4->sin_port = htons((uint16_t)port);
			a->len = sizeof(*in4);
			return 0;
		}
		memset(&a->ss, 0, sizeof(a->ss));
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons((uint16_t)port);
			a->len = sizeof(*in6);
			return 0;
		}
	}
bad:
	snprintf(err, errlen, "bad HAProxy runtime API address '%s' (want unix:PATH, "
		 "IPv4:PORT, [IPv6]:PORT or tasks:SERVICE:PORT)", spec);
	return -1;
}

static void cli_free(struct haproxy_cli_req *r)
{
	ev_timer_stop(r->loop, &r->timer);
	hachan_close(r->ch);
	sbuf_free(&r->out);
	sbuf_free(&r->in);
	free(r);
}

static void cli_finish(struct haproxy_cli_req *r, const char *error)
{
	haproxy_cli_done_fn done = r->done;
	void *arg = r->arg;
	char why[384];

	hachan_want(r->ch, 0);
	ev_timer_stop(r->loop, &r->timer);
	if (error) {
		snprintf(why, sizeof(why), "%s: %s", r->name, error);
		done(arg, why, "", 0);
	} else {
		done(arg, NULL, r->in.buf ? r->in.buf : "", r->in.len);
	}
	cli_free(r);
}

static void cli_on_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct haproxy_cli_req *r = (struct haproxy_cli_req *)((char *)t -
				     offsetof(struct haproxy_cli_req, timer));

	(void)loop;
	(void)revents;
	cli_finish(r, r->connected ? "no complete answer in time" : "connection timed out");
}

static void cli_read(struct haproxy_cli_req *r)
{
	char buf[16384];

	for (;;) {
		ssize_t n = hachan_read(r->ch, buf, sizeof(buf));

		if (n > 0) {
			if (r->in.len + (size_t)n > HAPROXY_CLI_MAX_ANSWER) {
				cli_finish(r, "answer too large");
				return;
			}
			sbuf_add(&r->in, buf, (size_t)n);
			if (r->in.oom) {
				cli_finish(r, "out of memory for the answer");
				return;
			}
			continue;
		}
		if (n == 0) {
			cli_finish(r, NULL);
			return;
		}
		if (errno == EAGAIN)
			return;
		/* HAProxy resets a connection it closes with unread input: what
		 * it wrote before is the answer. */
		if ((errno == ECONNRESET || errno == EIO) && r->in.len) {
			cli_finish(r, NULL);
			return;
		}
		cli_finish(r, hachan_error(r->ch));
		return;
	}
}

static void cli_write(struct haproxy_cli_req *r)
{
	while (r->sent < r->out.len) {
		ssize_t n = hachan_write(r->ch, r->out.buf + r->sent, r->out.len - r->sent);

		if (n > 0) {
			r->sent += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			return;
		cli_finish(r, n < 0 ? hachan_error(r->ch) : "short write");
		return;
	}
	/* All sent: HAProxy answers, then closes. (A payload must end with
	 * its empty line: at the end of input HAProxy drops an unfinished
	 * one without a word.) */
	hachan_end_write(r->ch);
	hachan_want(r->ch, EV_READ);
	/* TLS may hold answer bytes read with the handshake's last record */
	cli_read(r);
}

static void cli_on_io(void *arg, int events)
{
	struct haproxy_cli_req *r = arg;

	if (events & HACHAN_ERROR) {
		cli_finish(r, hachan_error(r->ch));
		return;
	}
	if (events & HACHAN_CONNECTED) {
		r->connected = 1;
		hachan_want(r->ch, EV_WRITE);
		cli_write(r);
		return;
	}
	if (events & EV_WRITE) {
		cli_write(r);
		return;
	}
	if (events & EV_READ)
		cli_read(r);
}

struct haproxy_cli_req *haproxy_cli_send(struct ev_loop *loop, const struct haproxy_cli_addr *a,
					 const char *cmd, size_t len, unsigned timeout_ms,
					 haproxy_cli_done_fn done, void *arg,
					 char *err, size_t errlen)
{
	struct haproxy_cli_req *r = calloc(1, sizeof(*r));

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->loop = loop;
	r->done = done;
	r->arg = arg;
	snprintf(r->name, sizeof(r->name), "%s", a->name);
	sbuf_add(&r->out, cmd, len);
	if (!len || cmd[len - 1] != '\n')
		sbuf_putc(&r->out, '\n');
	if (r->out.oom) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	r->ch = hachan_open(loop, a, cli_on_io, r, err, errlen);
	if (!r->ch)
		goto out_free;
	ev_timer_init(&r->timer, cli_on_timeout, timeout_ms / 1000.0, 0.0);
	ev_timer_start(loop, &r->timer);
	return r;

out_free:
	sbuf_free(&r->out);
	free(r);
	return NULL;
}

void haproxy_cli_cancel(struct haproxy_cli_req *r)
{
	cli_free(r);
}
