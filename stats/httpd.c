/* Minimal HTTP/1.1 server for the metrics page. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <ev.h>

#include "common/log.h"
#include "common/sbuf.h"
#include "common/sock.h"
#include "stats/httpd.h"
#include "stats/metrics.h"

#define HTTPD_TIMEOUT 30.0        /* idle keep-alive, or sending one answer */
#define HTTPD_ACCEPT_BURST 32

struct hclient {
	ev_io rio;
	ev_io wio;
	ev_timer timer;
	struct hclient *prev, *next;
	int fd;
	unsigned closing:1;           /* close once the answer is out */
	char in[HTTPD_HEAD_MAX];
	size_t in_len;
	struct sbuf out;
	size_t out_off;
};

static struct ev_loop *httpd_loop;
static ev_io httpd_io;
static ev_timer httpd_pause;      /* out of descriptors: accepting again later */
static int httpd_fd = -1;
static struct hclient *hclients;
static unsigned nhclients;
static uint64_t httpd_npauses;
static ev_tstamp httpd_last_pause_log;

uint64_t httpd_accept_pauses(void)
{
	return httpd_npauses;
}

/************************************************************************/
/*                                 parsing                              */
/************************************************************************/

static int httpd_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Trims blanks around [<*s>, <*s> + <*n>). */
static void httpd_trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/* True when the comma-separated list <v> holds token <tok>. */
static int httpd_list_has(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok);

	while (n) {
		const char *comma = memchr(v, ',', n);
		size_t el = comma ? (size_t)(comma - v) : n;
		const char *e = v;
		size_t en = el;

		httpd_trim(&e, &en);
		if (en == tl && strncasecmp(e, tok, tl) == 0)
			return 1;
		if (!comma)
			break;
		v = comma + 1;
		n -= el + 1;
	}
	return 0;
}

static int httpd_request_line(const char *s, size_t n, struct httpd_request *req)
{
	const char *sp1 = memchr(s, ' ', n), *sp2, *target;
	size_t tlen, i;

	if (!sp1 || sp1 == s)
		return -1;
	req->method = s;
	req->method_len = (size_t)(sp1 - s);
	for (i = 0; i < req->method_len; i++)
		if (!httpd_tchar((unsigned char)s[i]))
			return -1;
	target = sp1 + 1;
	sp2 = memchr(target, ' ', n - (size_t)(target - s));
	if (!sp2 || sp2 == target || *target != '/')
		return -1;
	tlen = (size_t)(sp2 - target);
	for (i = 0; i < tlen; i++)
		if ((unsigned char)target[i] <= 0x20 || target[i] == 0x7f)
			return -1;
	req->path = target;
	req->path_len = tlen;
	for (i = 0; i < tlen; i++) {
		if (target[i] == '?' || target[i] == '#') {
			req->path_len = i;
			break;
		}
	}
	s = sp2 + 1;
	n -= (size_t)(s - req->method);
	if (n != 8 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9')
		return -1;
	req->minor = s[7] - '0';
	return 0;
}

long httpd_parse(const char *buf, size_t len, struct httpd_request *req)
{
	const char *p = buf, *end = buf + len;
	int close_tok = 0, keep_tok = 0, first = 1;

	memset(req, 0, sizeof(*req));
	for (;;) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		size_t n;

		if (!lf)
			return 0;
		n = (size_t)(lf - p);
		if (n && p[n - 1] == '\r')
			n--;
		if (first) {
			if (httpd_request_line(p, n, req) < 0)
				return -1;
			first = 0;
		} else if (n == 0) {
			p = lf + 1;
			break;
		} else {
			const char *colon = memchr(p, ':', n), *v;
			size_t nl, vl;

			if (!colon || colon == p)
				return -1;
			nl = (size_t)(colon - p);
			for (size_t i = 0; i < nl; i++)
				if (!httpd_tchar((unsigned char)p[i]))
					return -1;   /* also refuses obsolete line folding */
			v = colon + 1;
			vl = n - nl - 1;
			for (size_t i = 0; i < vl; i++)
				if (((unsigned char)v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f)
					return -1;
			httpd_trim(&v, &vl);
			if (nl == 10 && strncasecmp(p, "connection", 10) == 0) {
				close_tok |= httpd_list_has(v, vl, "close");
				keep_tok |= httpd_list_has(v, vl, "keep-alive");
			} else if (nl == 14 && strncasecmp(p, "content-length", 14) == 0) {
				if (!vl)
					return -1;
				for (size_t i = 0; i < vl; i++) {
					if (v[i] < '0' || v[i] > '9')
						return -1;
					if (v[i] != '0')
						req->has_body = 1;
				}
			} else if (nl == 17 && strncasecmp(p, "transfer-encoding", 17) == 0) {
				req->has_body = 1;
			}
		}
		p = lf + 1;
	}
	req->keep_alive = req->minor >= 1 ? !close_tok : keep_tok && !close_tok;
	return (long)(p - buf);
}

/************************************************************************/
/*                               connections                            */
/************************************************************************/

static void hclient_free(struct hclient *c)
{
	ev_io_stop(httpd_loop, &c->rio);
	ev_io_stop(httpd_loop, &c->wio);
	ev_timer_stop(httpd_loop, &c->timer);
	close(c->fd);
	sbuf_free(&c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		hclients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	nhclients--;
	free(c);
}

/* Arms the one deadline of <c>, <secs> from now. Deadlines are never
 * pushed back by progress: a client that trickles its request or reads
 * its answer a byte at a time is cut as surely as a silent one.
 */
static void hclient_deadline(struct hclient *c, double secs)
{
	ev_timer_stop(httpd_loop, &c->timer);
	ev_timer_set(&c->timer, secs, 0.);
	ev_timer_start(httpd_loop, &c->timer);
}

static void hclient_respond(struct hclient *c, int status, const char *reason,
			    const struct httpd_request *req, const char *extra)
{
	struct sbuf body = SBUF_INIT;
	const char *ctype = "text/plain; charset=utf-8";
	int head_only = req && req->method_len == 4 && memcmp(req->method, "HEAD", 4) == 0;

	if (status == 200) {
		metrics_render(&body);
		ctype = "text/plain; version=0.0.4; charset=utf-8";
	} else {
		sbuf_printf(&body, "%d %s%s\n", status, reason,
			    status == 404 ? ": the metrics are at /metrics" : "");
	}
	if (!req || !req->keep_alive)
		c->closing = 1;
	sbuf_printf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		    "Cache-Control: no-store\r\n%s%s\r\n", status, reason, ctype, body.len,
		    extra ? extra : "", c->closing ? "Connection: close\r\n" : "");
	if (!head_only && body.len)
		sbuf_add(&c->out, body.buf, body.len);
	if (body.oom || c->out.oom) {
		sbuf_reset(&c->out);
		c->out.oom = 0;
		sbuf_puts(&c->out, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
			  "Connection: close\r\n\r\n");
		c->closing = 1;
	}
	sbuf_free(&body);
	hclient_deadline(c, HTTPD_TIMEOUT);
}

/* Answers the next request in the input, if a whole head is there.
 * Returns 1 when one was answered, 0 when more input is needed.
 */
static int hclient_serve(struct hclient *c)
{
	struct httpd_request req;
	long n = httpd_parse(c->in, c->in_len, &req);

	if (n == 0) {
		if (c->in_len < sizeof(c->in))
			return 0;
		hclient_respond(c, 431, "Request Header Fields Too Large", NULL, NULL);
		return 1;
	}
	if (n < 0 || req.has_body) {
		hclient_respond(c, 400, "Bad Request", NULL, NULL);
		return 1;
	}
	if (req.path_len != 8 || memcmp(req.path, "/metrics", 8) != 0)
		hclient_respond(c, 404, "Not Found", &req, NULL);
	else if ((req.method_len == 3 && memcmp(req.method, "GET", 3) == 0) ||
		 (req.method_len == 4 && memcmp(req.method, "HEAD", 4) == 0))
		hclient_respond(c, 200, "OK", &req, NULL);
	else
		hclient_respond(c, 405, "Method Not Allowed", &req, "Allow: GET, HEAD\r\n");
	memmove(c->in, c->in + n, c->in_len - (size_t)n);
	c->in_len -= (size_t)n;
	return 1;
}

/* Sends what the socket takes, then answers the next pipelined request
 * once the previous answer is out. Frees <c> when it is done.
 */
static void hclient_work(struct hclient *c)
{
	for (;;) {
		while (c->out_off < c->out.len) {
			ssize_t n = write(c->fd, c->out.buf + c->out_off, c->out.len - c->out_off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				ev_io_stop(httpd_loop, &c->rio);
				ev_io_start(httpd_loop, &c->wio);
				return;
			}
			if (n < 0) {
				hclient_free(c);
				return;
			}
			c->out_off += (size_t)n;
		}
		sbuf_reset(&c->out);
		c->out_off = 0;
		ev_io_stop(httpd_loop, &c->wio);
		if (c->closing) {
			hclient_free(c);
			return;
		}
		if (!hclient_serve(c))
			break;
	}
	/* Waiting again: idle until a byte comes, or the rest of a head
	 * already begun. */
	hclient_deadline(c, c->in_len ? HTTPD_HEAD_TIMEOUT : HTTPD_TIMEOUT);
	ev_io_start(httpd_loop, &c->rio);
}

static void hclient_on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct hclient *c = w->data;
	ssize_t n;

	(void)loop;
	(void)revents;
	n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		hclient_free(c);
		return;
	}
	/* The first bytes of a request: the whole head must follow in time. */
	if (!c->in_len)
		hclient_deadline(c, HTTPD_HEAD_TIMEOUT);
	c->in_len += (size_t)n;
	if (hclient_serve(c))
		hclient_work(c);
}

static void hclient_on_write(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	hclient_work(w->data);
}

static void hclient_on_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	hclient_free(t->data);
}

static void httpd_on_resume(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	ev_io_start(loop, &httpd_io);
}

/* See sock_accept_exhausted(): wait instead of spinning on the listener. */
static void httpd_pause_accept(int err)
{
	ev_tstamp now = ev_now(httpd_loop);

	ev_io_stop(httpd_loop, &httpd_io);
	ev_timer_start(httpd_loop, &httpd_pause);
	httpd_npauses++;
	if (!httpd_last_pause_log || now - httpd_last_pause_log >= 10.) {
		httpd_last_pause_log = now;
		LOG(LL_WARN, "metrics", "accept failed, pausing the listener",
		    KVS("reason", strerror(err)), KVI("pauses", httpd_npauses));
	}
}

static void httpd_on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	for (int i = 0; i < HTTPD_ACCEPT_BURST; i++) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct hclient *c;

		if (fd < 0) {
			if (sock_accept_exhausted(errno))
				httpd_pause_accept(errno);
			else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
				 errno != ECONNABORTED)
				LOG(LL_WARN, "metrics", "accept failed", KVS("reason", strerror(errno)));
			return;
		}
		if (nhclients >= HTTPD_MAX_CLIENTS || !(c = calloc(1, sizeof(*c)))) {
			LOG(LL_WARN, "metrics", "connection refused", KVS("reason", "too many clients"),
			    KVI("max", HTTPD_MAX_CLIENTS));
			close(fd);
			continue;
		}
		c->fd = fd;
		ev_io_init(&c->rio, hclient_on_read, fd, EV_READ);
		ev_io_init(&c->wio, hclient_on_write, fd, EV_WRITE);
		ev_init(&c->timer, hclient_on_timeout);
		c->rio.data = c->wio.data = c->timer.data = c;
		c->next = hclients;
		if (hclients)
			hclients->prev = c;
		hclients = c;
		nhclients++;
		hclient_deadline(c, HTTPD_TIMEOUT);
		ev_io_start(httpd_loop, &c->rio);
	}
}

int httpd_start(struct ev_loop *loop, const char *addr, int allow_remote, char *err,
		size_t errlen)
{
	err[0] = '\0';
	httpd_loop = loop;
	httpd_fd = sock_listen_tcp(addr, err, errlen);
	if (httpd_fd < 0)
		return -1;
	if (!allow_remote && !sock_bound_loopback(httpd_fd)) {
		snprintf(err, errlen, "refusing the metrics listener on '%s': not a loopback "
			 "address (the page tells anyone who reaches it every service and host; "
			 "add --metrics-allow-remote to allow it)", addr);
		close(httpd_fd);
		httpd_fd = -1;
		return -1;
	}
	ev_io_init(&httpd_io, httpd_on_accept, httpd_fd, EV_READ);
	ev_io_start(loop, &httpd_io);
	ev_timer_init(&httpd_pause, httpd_on_resume, SOCK_ACCEPT_PAUSE, 0.);
	LOG(LL_INFO, "metrics", "metrics listener ready", KVS("listen", addr));
	return 0;
}

void httpd_stop(void)
{
	if (httpd_fd < 0)
		return;
	ev_io_stop(httpd_loop, &httpd_io);
	ev_timer_stop(httpd_loop, &httpd_pause);
	close(httpd_fd);
	httpd_fd = -1;
	while (hclients)
		hclient_free(hclients);
}
