/* echo-backend: the HTTP application behind HAProxy in the swarm tests, the
 * demo and the throughput benchmarks.
 *
 * A single-threaded libev HTTP/1.1 server: non-blocking sockets, keep-alive,
 * pipelined requests, request bodies (Content-Length or chunked) skipped.
 * Every answer is a small text/plain line telling what arrived:
 *
 *   name=<name> host=<Host> path=<target> xfp=<X-Forwarded-Proto> xff=<X-Forwarded-For>
 *
 * followed by " metadata=<$METADATA>" when that variable is set (what
 * Interlock's documentation examples tell their versions apart by).
 *
 *   GET /health          "ok"
 *   /status/<code>       that status code (200..599), with the usual line
 *   Upgrade: websocket   RFC 6455 handshake, then every data frame is echoed
 *
 * Two modes stand in for the applications of Interlock's examples:
 * --set-cookie NAME gives every request without that cookie a fresh
 * session value (an application with its own session cookie, what
 * com.docker.lb.sticky_session_cookie hashes), and --tls-cert/--tls-key
 * make it speak TLS only (an application behind ssl_passthrough).
 *
 * On SIGTERM/SIGINT it keeps serving for --grace seconds, new connections
 * included, answering with "Connection: close", then exits 0: the graceful
 * stop a well-behaved application offers during a rolling update.
 *
 * It reads bytes from anywhere, so every length is bounded and every parse
 * error ends in a 4xx (or a WebSocket close frame) and a lingering close.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <ev.h>
#ifdef ECHO_HAVE_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

#define ECHO_HEAD_MAX      16384           /* request line + headers */
#define ECHO_RBUF_INIT     ECHO_HEAD_MAX
#define ECHO_WS_FRAME_MAX  (1u << 20)      /* larger frames get close 1009 */
#define ECHO_WBUF_HIGH     (1u << 20)      /* stop reading past this much unsent */
#define ECHO_NAME_MAX      255
#define ECHO_LISTEN_MAX    16
#define ECHO_IDLE_TIMEOUT  120.0
#define ECHO_LINGER_TIMEOUT 2.0
#define ECHO_XFF_MAX       1024
#define ECHO_COOKIE_MAX    64

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum conn_state {
	CS_HEAD,        /* waiting for a request head */
	CS_BODY,        /* skipping <body_left> bytes of a Content-Length body */
	CS_CHUNK_SIZE,  /* chunked body: size line */
	CS_CHUNK_DATA,  /* chunked body: skipping <body_left> bytes of data */
	CS_CHUNK_CRLF,  /* chunked body: CRLF after the data */
	CS_TRAILER,     /* chunked body: trailer lines up to an empty one */
	CS_WS,          /* WebSocket frames */
	CS_CLOSING,     /* answer queued, input discarded, close once flushed */
};

struct conn {
	ev_io io;
	ev_timer timer;
	int fd;
	int events;                /* events <io> is started with, 0 if stopped */
	enum conn_state state;
	int lingering;             /* write side shut, draining input until EOF */
	char *rbuf;
	size_t rlen, rcap;
	char *wbuf;
	size_t wlen, woff, wcap;
	uint64_t body_left;
	ev_tstamp last_activity;
	ev_tstamp timeout;
#ifdef ECHO_HAVE_TLS
	SSL *ssl;                  /* NULL in plain HTTP mode */
	int ssl_want_write;        /* OpenSSL waits for the socket to be writable */
#endif
};

struct listener {
	ev_io io;
	int fd;
	char addr[INET6_ADDRSTRLEN + 8];
};

/* Parsed request head: pointers into the connection's read buffer. */
struct request {
	const char *method, *target, *host, *xfp, *wskey, *wsversion;
	size_t method_len, target_len, host_len, xfp_len, wskey_len, wsversion_len;
	char xff[ECHO_XFF_MAX];
	size_t xff_len;
	int http11;
	int conn_close, conn_keepalive;
	int upgrade_websocket;
	int has_app_cookie;        /* the --set-cookie cookie was sent */
	int has_cl, chunked, has_te;
	uint64_t content_length;
};

static struct ev_loop *loop;
static struct listener listeners[ECHO_LISTEN_MAX];
static int nlisteners;
static ev_timer accept_retry;
static ev_timer grace_timer;
static char name[ECHO_NAME_MAX + 1];
static double grace;
static int draining;
static char metadata[ECHO_NAME_MAX + 1];
static char cookie_name[ECHO_COOKIE_MAX + 1];
static uint64_t cookie_state;      /* xorshift64 state for session values */
#ifdef ECHO_HAVE_TLS
static SSL_CTX *ssl_ctx;
#endif

/********************************************************************/
/* SHA-1 (FIPS 180-4) and base64, for Sec-WebSocket-Accept          */
/********************************************************************/

static uint32_t rol32(uint32_t x, int n)
{
	return (x << n) | (x >> (32 - n));
}

static void sha1_block(uint32_t h[5], const unsigned char *p)
{
	uint32_t w[80], a, b, c, d, e, f, k, t;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (; i < 80; i++)
		w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4];
	for (i = 0; i < 80; i++) {
		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5A827999;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ED9EBA1;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8F1BBCDC;
		} else {
			f = b ^ c ^ d;
			k = 0xCA62C1D6;
		}
		t = rol32(a, 5) + f + e + k + w[i];
		e = d; d = c; c = rol32(b, 30); b = a; a = t;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
}

/* Writes the 20-byte SHA-1 digest of <len> bytes at <data> into <out>. */
static void sha1(const void *data, size_t len, unsigned char out[20])
{
	uint32_t h[5] = { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0 };
	const unsigned char *p = data;
	unsigned char tail[128];
	size_t rest, tlen;
	uint64_t bits = (uint64_t)len * 8;
	int i;

	for (rest = len; rest >= 64; rest -= 64, p += 64)
		sha1_block(h, p);
	memset(tail, 0, sizeof(tail));
	memcpy(tail, p, rest);
	tail[rest] = 0x80;
	tlen = rest + 1 + 8 <= 64 ? 64 : 128;
	for (i = 0; i < 8; i++)
		tail[tlen - 1 - i] = (unsigned char)(bits >> (8 * i));
	sha1_block(h, tail);
	if (tlen == 128)
		sha1_block(h, tail + 64);
	for (i = 0; i < 20; i++)
		out[i] = (unsigned char)(h[i / 4] >> (24 - 8 * (i % 4)));
}

/* Writes the NUL-terminated base64 form of <len> bytes into <out>, which
 * holds at least 4 * ((len + 2) / 3) + 1 bytes.
 */
static void base64(const unsigned char *in, size_t len, char *out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;
	uint32_t v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*out++ = tab[v >> 18];
		*out++ = tab[(v >> 12) & 63];
		*out++ = tab[(v >> 6) & 63];
		*out++ = tab[v & 63];
	}
	if (i < len) {
		v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
		*out++ = tab[v >> 18];
		*out++ = tab[(v >> 12) & 63];
		*out++ = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		*out++ = '=';
	}
	*out = 0;
}

/********************************************************************/
/* Connections: buffers, events, closing                            */
/********************************************************************/

static void conn_io_cb(struct ev_loop *l, ev_io *w, int revents);
static void conn_timer_cb(struct ev_loop *l, ev_timer *w, int revents);

static void conn_free(struct conn *c)
{
	ev_io_stop(loop, &c->io);
	ev_timer_stop(loop, &c->timer);
	close(c->fd);
#ifdef ECHO_HAVE_TLS
	SSL_free(c->ssl);
#endif
	free(c->rbuf);
	free(c->wbuf);
	free(c);
}

/* recv() or SSL_read(): returns the bytes read, 0 at the end of the
 * stream, or -1 with errno (EAGAIN when TLS needs the socket again).
 * A lingering connection discards its input: raw bytes will do.
 */
static ssize_t conn_recv(struct conn *c, void *buf, size_t len)
{
#ifdef ECHO_HAVE_TLS
	int n;

	if (c->ssl && !c->lingering) {
		ERR_clear_error();
		n = SSL_read(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
		if (n > 0)
			return n;
		switch (SSL_get_error(c->ssl, n)) {
		case SSL_ERROR_ZERO_RETURN:
			return 0;
		case SSL_ERROR_WANT_WRITE:
			c->ssl_want_write = 1;
			/* fall through */
		case SSL_ERROR_WANT_READ:
			errno = EAGAIN;
			return -1;
		default:
			errno = EIO;
			return -1;
		}
	}
#endif
	return recv(c->fd, buf, len, 0);
}

/* send() or SSL_write(), with recv()'s conventions. */
static ssize_t conn_send(struct conn *c, const void *buf, size_t len)
{
#ifdef ECHO_HAVE_TLS
	int n;

	if (c->ssl) {
		ERR_clear_error();
		n = SSL_write(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
		if (n > 0)
			return n;
		switch (SSL_get_error(c->ssl, n)) {
		case SSL_ERROR_WANT_WRITE:
			c->ssl_want_write = 1;
			/* fall through */
		case SSL_ERROR_WANT_READ:
			errno = EAGAIN;
			return -1;
		default:
			errno = EPIPE;
			return -1;
		}
	}
#endif
	return send(c->fd, buf, len, MSG_NOSIGNAL);
}

/* Does the transport hold decrypted bytes that no read event announces? */
static int conn_pending(struct conn *c)
{
#ifdef ECHO_HAVE_TLS
	return c->ssl && !c->lingering && SSL_pending(c->ssl) > 0;
#else
	return 0;
#endif
}

/* Does OpenSSL wait for the socket to become writable? */
static int conn_tls_wants_write(const struct conn *c)
{
#ifdef ECHO_HAVE_TLS
	return c->ssl_want_write;
#else
	return 0;
#endif
}

/* Makes room for <n> more bytes of output. Returns a pointer to them, or
 * NULL when memory is exhausted.
 */
static char *conn_wreserve(struct conn *c, size_t n)
{
	size_t cap;
	char *nb;

	if (c->woff && c->woff == c->wlen)
		c->woff = c->wlen = 0;
	if (c->wcap - c->wlen >= n)
		return c->wbuf + c->wlen;
	if (c->woff) {
		memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
		c->wlen -= c->woff;
		c->woff = 0;
		if (c->wcap - c->wlen >= n)
			return c->wbuf + c->wlen;
	}
	cap = c->wcap ? c->wcap : 4096;
	while (cap - c->wlen < n)
		cap *= 2;
	nb = realloc(c->wbuf, cap);
	if (!nb)
		return NULL;
	c->wbuf = nb;
	c->wcap = cap;
	return nb + c->wlen;
}

static int conn_wappend(struct conn *c, const void *data, size_t len)
{
	char *p = conn_wreserve(c, len);

	if (!p)
		return -1;
	memcpy(p, data, len);
	c->wlen += len;
	return 0;
}

/* Starts or changes the io watcher so that it waits for <events>. */
static void conn_set_events(struct conn *c, int events)
{
	if (events == c->events)
		return;
	ev_io_stop(loop, &c->io);
	if (events) {
		ev_io_set(&c->io, c->fd, events);
		ev_io_start(loop, &c->io);
	}
	c->events = events;
}

/* Everything queued has been sent and the answer said "close": shut the
 * write side and keep reading until the peer closes, so that unread input
 * does not turn our close into a reset that destroys the answer in flight.
 */
static void conn_start_linger(struct conn *c)
{
#ifdef ECHO_HAVE_TLS
	if (c->ssl)
		SSL_shutdown(c->ssl);   /* close_notify, best effort */
#endif
	shutdown(c->fd, SHUT_WR);
	c->lingering = 1;
	c->state = CS_CLOSING;
	c->rlen = 0;
	c->timeout = ECHO_LINGER_TIMEOUT;
	c->last_activity = ev_now(loop);
	ev_timer_stop(loop, &c->timer);
	ev_timer_set(&c->timer, ECHO_LINGER_TIMEOUT, 0.);
	ev_timer_start(loop, &c->timer);
	conn_set_events(c, EV_READ);
}

/* Sends what is queued. Returns 0, or -1 when the connection was freed. */
static int conn_flush(struct conn *c)
{
	ssize_t n;

	while (c->woff < c->wlen) {
		n = conn_send(c, c->wbuf + c->woff, c->wlen - c->woff);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_free(c);
			return -1;
		}
		c->woff += (size_t)n;
	}
	if (c->woff == c->wlen) {
		c->woff = c->wlen = 0;
		if (c->state == CS_CLOSING) {
			if (!c->lingering)
				conn_start_linger(c);
			return 0;
		}
		conn_set_events(c, conn_tls_wants_write(c) ? EV_READ | EV_WRITE : EV_READ);
		return 0;
	}
	/* Backpressure: a peer that does not read its answers gets no more. */
	if (c->state == CS_CLOSING || c->wlen - c->woff > ECHO_WBUF_HIGH)
		conn_set_events(c, EV_WRITE);
	else
		conn_set_events(c, EV_READ | EV_WRITE);
	return 0;
}

/********************************************************************/
/* HTTP                                                             */
/********************************************************************/

static const char *http_reason(int code)
{
	switch (code) {
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 408: return "Request Timeout";
	case 413: return "Payload Too Large";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default:  return "Status";
	}
}

/* Queues a complete response. <keepalive> < 0 means "HTTP/1.0 keep-alive"
 * (the header must be spelled out), > 0 HTTP/1.1 keep-alive, 0 close.
 * <head_only> drops the body (HEAD requests) but keeps its length. Returns
 * 0, or -1 when memory is exhausted.
 */
static int http_respond(struct conn *c, int code, const char *body, size_t body_len,
			int keepalive, int head_only, const char *extra)
{
	size_t room = 192 + strlen(name) + strlen(extra) + body_len;
	const char *conn_hdr;
	char *p;
	int n;

	if (code == 204 || code == 304)
		body_len = 0;
	conn_hdr = !keepalive ? "Connection: close\r\n" :
		   keepalive < 0 ? "Connection: keep-alive\r\n" : "";
	p = conn_wreserve(c, room);
	if (!p)
		return -1;
	n = snprintf(p, room,
		     "HTTP/1.1 %d %s\r\n"
		     "Content-Type: text/plain\r\n"
		     "Content-Length: %zu\r\n"
		     "X-Echo-Name: %s\r\n"
		     "%s%s\r\n",
		     code, http_reason(code), body_len, name, extra, conn_hdr);
	if (n < 0 || (size_t)n >= room)
		return -1;
	if (!head_only && body_len)
		memcpy(p + n, body, body_len);
	c->wlen += (size_t)n + (head_only ? 0 : body_len);
	return 0;
}

/* Answers a malformed request with <code> and closes after it. */
static void http_reject(struct conn *c, int code)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%d %s\n", code, http_reason(code));

	http_respond(c, code, body, (size_t)n, 0, 0, "");
	c->state = CS_CLOSING;
}

static int is_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Case-insensitive: is <tok> one of the comma-separated tokens of the
 * <len> bytes at <v>?
 */
static int http_has_token(const char *v, size_t len, const char *tok)
{
	size_t tlen = strlen(tok), i = 0, s, e;

	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < len && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tlen && strncasecmp(v + s, tok, tlen) == 0)
			return 1;
	}
	return 0;
}

/* Is the last comma-separated token of <v> "chunked"? */
static int http_last_token_chunked(const char *v, size_t len)
{
	while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	return len >= 7 && strncasecmp(v + len - 7, "chunked", 7) == 0 &&
	       (len == 7 || v[len - 8] == ',' || v[len - 8] == ' ' || v[len - 8] == '\t');
}

/* Is there a cookie named <cookie_name> among the "a=b; c=d" pairs of the
 * <len> bytes at <v>?
 */
static int http_has_cookie(const char *v, size_t len)
{
	size_t nlen = strlen(cookie_name), i = 0;

	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ';'))
			i++;
		if (len - i > nlen && strncmp(v + i, cookie_name, nlen) == 0 && v[i + nlen] == '=')
			return 1;
		while (i < len && v[i] != ';')
			i++;
	}
	return 0;
}

#define HDR_IS(lit) (nlen == sizeof(lit) - 1 && strncasecmp(line, lit, nlen) == 0)

/* Parses the head in <head>[0..<len>) (the final empty line included).
 * Returns 0, or the status code to reject the request with.
 */
static int http_parse_head(char *head, size_t len, struct request *rq)
{
	char *end = head + len, *line, *eol, *p, *sp;
	size_t nlen, vlen, llen;
	const char *v;

	memset(rq, 0, sizeof(*rq));
	line = head;
	/* RFC 9112 2.2: ignore empty lines before the request line. */
	while (line < end && (*line == '\r' || *line == '\n'))
		line++;
	eol = memchr(line, '\n', (size_t)(end - line));
	if (!eol)
		return 400;
	llen = (size_t)(eol - line);
	if (llen && line[llen - 1] == '\r')
		llen--;

	sp = memchr(line, ' ', llen);
	if (!sp || sp == line)
		return 400;
	for (p = line; p < sp; p++)
		if (!is_tchar((unsigned char)*p))
			return 400;
	rq->method = line;
	rq->method_len = (size_t)(sp - line);
	p = sp + 1;
	sp = memchr(p, ' ', (size_t)(line + llen - p));
	if (!sp || sp == p)
		return 400;
	rq->target = p;
	rq->target_len = (size_t)(sp - p);
	for (; p < sp; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return 400;
	v = sp + 1;
	vlen = (size_t)(line + llen - v);
	if (vlen != 8 || memcmp(v, "HTTP/1.", 7) != 0)
		return vlen == 8 && memcmp(v, "HTTP/", 5) == 0 ? 505 : 400;
	if (v[7] == '1')
		rq->http11 = 1;
	else if (v[7] != '0')
		return 505;

	for (line = eol + 1; line < end; line = eol + 1) {
		eol = memchr(line, '\n', (size_t)(end - line));
		if (!eol)
			return 400;
		llen = (size_t)(eol - line);
		if (llen && line[llen - 1] == '\r')
			llen--;
		if (!llen)
			break;
		if (*line == ' ' || *line == '\t')
			return 400;   /* obsolete line folding */
		p = memchr(line, ':', llen);
		if (!p || p == line)
			return 400;
		nlen = (size_t)(p - line);
		for (sp = line; sp < p; sp++)
			if (!is_tchar((unsigned char)*sp))
				return 400;
		for (p++; p < line + llen && (*p == ' ' || *p == '\t'); p++)
			;
		v = p;
		vlen = (size_t)(line + llen - p);
		while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		for (p = (char *)v; p < v + vlen; p++)
			if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
				return 400;

		if (HDR_IS("host")) {
			if (rq->host)
				return 400;
			rq->host = v;
			rq->host_len = vlen;
		} else if (HDR_IS("x-forwarded-proto")) {
			rq->xfp = v;
			rq->xfp_len = vlen;
		} else if (HDR_IS("x-forwarded-for")) {
			/* Several lines are one list (RFC 9110 5.3). */
			if (rq->xff_len + 2 + vlen >= sizeof(rq->xff))
				return 431;
			if (rq->xff_len) {
				memcpy(rq->xff + rq->xff_len, ", ", 2);
				rq->xff_len += 2;
			}
			memcpy(rq->xff + rq->xff_len, v, vlen);
			rq->xff_len += vlen;
		} else if (HDR_IS("connection")) {
			rq->conn_close |= http_has_token(v, vlen, "close");
			rq->conn_keepalive |= http_has_token(v, vlen, "keep-alive");
		} else if (HDR_IS("upgrade")) {
			rq->upgrade_websocket |= http_has_token(v, vlen, "websocket");
		} else if (HDR_IS("cookie")) {
			rq->has_app_cookie |= cookie_name[0] && http_has_cookie(v, vlen);
		} else if (HDR_IS("sec-websocket-key")) {
			rq->wskey = v;
			rq->wskey_len = vlen;
		} else if (HDR_IS("sec-websocket-version")) {
			rq->wsversion = v;
			rq->wsversion_len = vlen;
		} else if (HDR_IS("content-length")) {
			uint64_t cl = 0;
			size_t i;

			if (!vlen || vlen > 18)
				return 400;
			for (i = 0; i < vlen; i++) {
				if (v[i] < '0' || v[i] > '9')
					return 400;
				cl = cl * 10 + (uint64_t)(v[i] - '0');
			}
			if (rq->has_cl && cl != rq->content_length)
				return 400;
			rq->has_cl = 1;
			rq->content_length = cl;
		} else if (HDR_IS("transfer-encoding")) {
			rq->has_te = 1;
			rq->chunked = http_last_token_chunked(v, vlen);
		}
	}
	if (rq->has_te && !rq->http11)
		return 400;
	if (rq->has_te && !rq->chunked)
		return 501;
	return 0;
}

/* Appends "<key>=<value or ->" and a separator to <buf> at <*off>. */
static void echo_field(char *buf, size_t *off, const char *key, const char *v, size_t vlen,
		       char sep)
{
	size_t klen = strlen(key);

	memcpy(buf + *off, key, klen);
	*off += klen;
	buf[(*off)++] = '=';
	if (vlen) {
		memcpy(buf + *off, v, vlen);
		*off += vlen;
	} else {
		buf[(*off)++] = '-';
	}
	buf[(*off)++] = sep;
}

static int http_target_is(const struct request *rq, const char *path)
{
	size_t len = strlen(path);

	return rq->target_len >= len && memcmp(rq->target, path, len) == 0 &&
	       (rq->target_len == len || rq->target[len] == '?');
}

/* Answers the WebSocket opening handshake (RFC 6455 4.2.2). */
static void ws_accept(struct conn *c, const struct request *rq)
{
	char keybuf[128], accept[32], resp[160];
	unsigned char digest[20];
	int n;

	if (rq->wskey_len == 0 || rq->wskey_len > sizeof(keybuf) - sizeof(WS_GUID) ||
	    (rq->wsversion_len != 2 || memcmp(rq->wsversion, "13", 2) != 0)) {
		http_reject(c, 400);
		return;
	}
	memcpy(keybuf, rq->wskey, rq->wskey_len);
	memcpy(keybuf + rq->wskey_len, WS_GUID, sizeof(WS_GUID) - 1);
	sha1(keybuf, rq->wskey_len + sizeof(WS_GUID) - 1, digest);
	base64(digest, sizeof(digest), accept);
	n = snprintf(resp, sizeof(resp),
		     "HTTP/1.1 101 Switching Protocols\r\n"
		     "Upgrade: websocket\r\n"
		     "Connection: Upgrade\r\n"
		     "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
	if (conn_wappend(c, resp, (size_t)n) < 0) {
		c->state = CS_CLOSING;
		return;
	}
	c->state = CS_WS;
	c->timeout = ECHO_IDLE_TIMEOUT;
}

/* Handles one parsed request head and sets the state that follows it. */
static void http_handle(struct conn *c, char *head, size_t len)
{
	char body[ECHO_HEAD_MAX + 2 * ECHO_NAME_MAX + 96];
	char extra[ECHO_COOKIE_MAX + 64] = "";
	struct request rq;
	size_t off = 0;
	int code, keepalive, head_only;

	code = http_parse_head(head, len, &rq);
	if (code) {
		http_reject(c, code);
		return;
	}

	if (rq.upgrade_websocket && rq.http11 && !draining) {
		if (rq.method_len != 3 || memcmp(rq.method, "GET", 3) != 0 ||
		    rq.has_te || rq.content_length) {
			http_reject(c, 400);
			return;
		}
		ws_accept(c, &rq);
		return;
	}

	keepalive = draining || rq.conn_close ? 0 :
		    rq.http11 ? 1 : rq.conn_keepalive ? -1 : 0;
	/* Both framings at once smell of smuggling: answer, then close. */
	if (rq.has_te && rq.has_cl)
		keepalive = 0;
	head_only = rq.method_len == 4 && memcmp(rq.method, "HEAD", 4) == 0;

	code = 200;
	if (http_target_is(&rq, "/health")) {
		memcpy(body, "ok\n", 3);
		off = 3;
	} else {
		if (rq.target_len > 8 && memcmp(rq.target, "/status/", 8) == 0) {
			const char *d = rq.target + 8;
			size_t rest = rq.target_len - 8;

			if (rest >= 3 && d[0] >= '2' && d[0] <= '5' && d[1] >= '0' && d[1] <= '9' &&
			    d[2] >= '0' && d[2] <= '9' && (rest == 3 || d[3] == '?' || d[3] == '/'))
				code = (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');
		}
		echo_field(body, &off, "name", name, strlen(name), ' ');
		echo_field(body, &off, "host", rq.host, rq.host_len, ' ');
		echo_field(body, &off, "path", rq.target, rq.target_len, ' ');
		echo_field(body, &off, "xfp", rq.xfp, rq.xfp_len, ' ');
		echo_field(body, &off, "xff", rq.xff, rq.xff_len, metadata[0] ? ' ' : '\n');
		if (metadata[0])
			echo_field(body, &off, "metadata", metadata, strlen(metadata), '\n');
	}
	if (cookie_name[0] && !rq.has_app_cookie) {
		/* xorshift64: a new session value for every new client */
		cookie_state ^= cookie_state << 13;
		cookie_state ^= cookie_state >> 7;
		cookie_state ^= cookie_state << 17;
		snprintf(extra, sizeof(extra), "Set-Cookie: %s=%016llx; Path=/\r\n",
			 cookie_name, (unsigned long long)cookie_state);
	}
	if (http_respond(c, code, body, off, keepalive, head_only, extra) < 0) {
		c->state = CS_CLOSING;
		return;
	}

	if (!keepalive)
		c->state = CS_CLOSING;
	else if (rq.has_te) {
		c->state = CS_CHUNK_SIZE;
	} else if (rq.content_length) {
		c->state = CS_BODY;
		c->body_left = rq.content_length;
	} else {
		c->state = CS_HEAD;
	}
}

/* Looks for the empty line ending a head in <buf>[0..<len>). Returns the
 * head's length including that line, or 0 when it is not complete yet.
 */
static size_t http_head_len(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;

	/* Leading empty lines are skipped by the parser, not ends of a head. */
	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		p++;
		if (p < end && *p == '\n')
			return (size_t)(p + 1 - buf);
		if (p + 1 < end && p[0] == '\r' && p[1] == '\n')
			return (size_t)(p + 2 - buf);
		if (p + 1 >= end)
			break;
	}
	return 0;
}

/********************************************************************/
/* WebSocket frames (RFC 6455 5)                                    */
/********************************************************************/

/* Queues a frame with <opcode> and <len> bytes of payload, FIN as <fin>. */
static int ws_send_frame(struct conn *c, int fin, int opcode, const char *payload, size_t len)
{
	unsigned char hdr[10];
	size_t hlen = 2;

	hdr[0] = (unsigned char)((fin ? 0x80 : 0) | opcode);
	if (len < 126) {
		hdr[1] = (unsigned char)len;
	} else if (len <= 0xffff) {
		hdr[1] = 126;
		hdr[2] = (unsigned char)(len >> 8);
		hdr[3] = (unsigned char)len;
		hlen = 4;
	} else {
		int i;

		hdr[1] = 127;
		for (i = 0; i < 8; i++)
			hdr[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
		hlen = 10;
	}
	if (conn_wappend(c, hdr, hlen) < 0 || conn_wappend(c, payload, len) < 0)
		return -1;
	return 0;
}

static void ws_close(struct conn *c, unsigned status)
{
	char p[2] = { (char)(status >> 8), (char)status };

	ws_send_frame(c, 1, 0x8, p, 2);
	c->state = CS_CLOSING;
}

/* Handles the frames at the start of <buf>[0..<len>). Returns how many
 * bytes were consumed; 0 with the state still CS_WS means "need more".
 * <*need> receives the size of the incomplete frame when it is known.
 */
static size_t ws_handle(struct conn *c, char *buf, size_t len, size_t *need)
{
	unsigned char *p = (unsigned char *)buf;
	uint64_t plen;
	size_t hlen = 2, i;
	int fin, opcode;
	unsigned char *mask, *payload;

	if (len < 2)
		return 0;
	fin = p[0] & 0x80;
	opcode = p[0] & 0x0f;
	if ((p[0] & 0x70) || !(p[1] & 0x80) ||
	    (opcode > 0x2 && opcode < 0x8) || opcode > 0xa ||
	    (opcode >= 0x8 && (!fin || (p[1] & 0x7f) > 125))) {
		ws_close(c, 1002);
		return len;
	}
	plen = p[1] & 0x7f;
	if (plen == 126) {
		if (len < 4)
			return 0;
		plen = (uint64_t)p[2] << 8 | p[3];
		hlen = 4;
	} else if (plen == 127) {
		if (len < 10)
			return 0;
		for (plen = 0, i = 0; i < 8; i++)
			plen = plen << 8 | p[2 + i];
		hlen = 10;
	}
	if (plen > ECHO_WS_FRAME_MAX) {
		ws_close(c, 1009);
		return len;
	}
	if (len < hlen + 4 + plen) {
		*need = hlen + 4 + (size_t)plen;
		return 0;
	}
	mask = p + hlen;
	payload = mask + 4;
	for (i = 0; i < plen; i++)
		payload[i] ^= mask[i & 3];

	switch (opcode) {
	case 0x0: case 0x1: case 0x2:
		if (ws_send_frame(c, fin, opcode, (char *)payload, (size_t)plen) < 0)
			c->state = CS_CLOSING;
		break;
	case 0x8:
		/* Echo the status code back, as the closing handshake wants. */
		ws_send_frame(c, 1, 0x8, (char *)payload, plen >= 2 ? 2 : 0);
		c->state = CS_CLOSING;
		break;
	case 0x9:
		if (ws_send_frame(c, 1, 0xa, (char *)payload, (size_t)plen) < 0)
			c->state = CS_CLOSING;
		break;
	default:  /* pong: nothing to do */
		break;
	}
	return hlen + 4 + (size_t)plen;
}

/********************************************************************/
/* Input processing                                                 */
/********************************************************************/

/* Consumes as much of the read buffer as the current state allows. */
static void conn_process(struct conn *c)
{
	size_t pos = 0, avail, n, need;
	char *p, *eol;

	while (pos < c->rlen || c->state == CS_CLOSING) {
		p = c->rbuf + pos;
		avail = c->rlen - pos;
		switch (c->state) {
		case CS_HEAD:
			n = http_head_len(p, avail);
			if (!n) {
				if (avail >= ECHO_HEAD_MAX)
					http_reject(c, 431);
				goto out;
			}
			http_handle(c, p, n);
			pos += n;
			break;
		case CS_BODY:
		case CS_CHUNK_DATA:
			n = avail < c->body_left ? avail : (size_t)c->body_left;
			c->body_left -= n;
			pos += n;
			if (!c->body_left)
				c->state = c->state == CS_BODY ? CS_HEAD : CS_CHUNK_CRLF;
			break;
		case CS_CHUNK_SIZE:
		case CS_CHUNK_CRLF:
		case CS_TRAILER:
			eol = memchr(p, '\n', avail);
			if (!eol) {
				if (avail > 1024)
					c->state = CS_CLOSING;
				goto out;
			}
			n = (size_t)(eol - p);
			if (n && p[n - 1] == '\r')
				n--;
			pos += (size_t)(eol - p) + 1;
			if (c->state == CS_CHUNK_CRLF) {
				c->state = n ? CS_CLOSING : CS_CHUNK_SIZE;
			} else if (c->state == CS_TRAILER) {
				if (!n)
					c->state = CS_HEAD;
			} else {
				uint64_t size = 0;
				size_t i, digits = 0;

				for (i = 0; i < n; i++, digits++) {
					int d = p[i] >= '0' && p[i] <= '9' ? p[i] - '0' :
						(p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'f' ?
						(p[i] | 0x20) - 'a' + 10 : -1;

					if (d < 0)
						break;
					if (digits >= 15) {
						c->state = CS_CLOSING;
						goto out;
					}
					size = size << 4 | (uint64_t)d;
				}
				if (!digits || (i < n && p[i] != ';' && p[i] != ' ' && p[i] != '\t')) {
					c->state = CS_CLOSING;
					goto out;
				}
				c->state = size ? CS_CHUNK_DATA : CS_TRAILER;
				c->body_left = size;
			}
			break;
		case CS_WS:
			need = 0;
			n = ws_handle(c, p, avail, &need);
			if (!n) {
				/* Grow the buffer to hold the whole frame (bounded above). */
				if (need > c->rcap) {
					char *nb = realloc(c->rbuf, need);

					if (!nb) {
						c->state = CS_CLOSING;
						break;
					}
					c->rbuf = nb;
					c->rcap = need;
				}
				goto out;
			}
			pos += n;
			break;
		case CS_CLOSING:
			pos = c->rlen;
			goto out;
		}
	}
out:
	if (pos >= c->rlen)
		c->rlen = 0;
	else if (pos) {
		memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
		c->rlen -= pos;
	}
}

static void conn_io_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct conn *c = (struct conn *)w;
	ssize_t n;

	c->last_activity = ev_now(l);
#ifdef ECHO_HAVE_TLS
	/* TLS reads may need the socket writable, and writes readable: with
	 * TLS, every event tries both.
	 */
	c->ssl_want_write = 0;
	if (c->ssl)
		revents |= EV_READ;
#endif
	while (revents & EV_READ) {
		if (c->rlen == c->rcap)
			c->rlen = 0;   /* only in CS_CLOSING: input is discarded */
		n = conn_recv(c, c->rbuf + c->rlen, c->rcap - c->rlen);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			/* Peer gone (or half-closed): finish sending, then close. */
			if (c->lingering || c->woff == c->wlen) {
				conn_free(c);
				return;
			}
			c->state = CS_CLOSING;
			c->lingering = 1;
			c->rlen = 0;
			conn_set_events(c, EV_WRITE);
		} else if (n > 0) {
			if (c->lingering) {
				c->rlen = 0;
				return;
			}
			c->rlen += (size_t)n;
			conn_process(c);
		}
		/* Decrypted bytes already read from the socket raise no event. */
		if (n <= 0 || !conn_pending(c) || c->rlen == c->rcap)
			break;
	}
	if (conn_flush(c) < 0)
		return;
	if (c->lingering && c->woff == c->wlen && c->events == EV_WRITE) {
		/* Peer closed and everything was sent. */
		conn_free(c);
	}
}

/* Closes connections idle for longer than their timeout (libev's "lazy
 * timer" pattern: activity only stamps <last_activity>).
 */
static void conn_timer_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	struct conn *c = (struct conn *)((char *)w - offsetof(struct conn, timer));
	ev_tstamp left = c->last_activity + c->timeout - ev_now(l);

	if (left > 0.001) {
		ev_timer_set(w, left, 0.);
		ev_timer_start(l, w);
		return;
	}
	conn_free(c);
}

/********************************************************************/
/* Listeners, signals, main                                         */
/********************************************************************/

static void accept_retry_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	int i;

	for (i = 0; i < nlisteners; i++)
		ev_io_start(l, &listeners[i].io);
}

static void accept_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct listener *li = (struct listener *)w;
	struct conn *c;
	int fd, one = 1, i, budget = 64;

	while (budget--) {
		fd = accept4(li->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* Out of descriptors: pause accepting rather than spin. */
				for (i = 0; i < nlisteners; i++)
					ev_io_stop(l, &listeners[i].io);
				ev_timer_set(&accept_retry, 0.1, 0.);
				ev_timer_start(l, &accept_retry);
			}
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = calloc(1, sizeof(*c));
		if (c)
			c->rbuf = malloc(ECHO_RBUF_INIT);
		if (!c || !c->rbuf) {
			if (c)
				free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->rcap = ECHO_RBUF_INIT;
		c->state = CS_HEAD;
		c->timeout = ECHO_IDLE_TIMEOUT;
		c->last_activity = ev_now(l);
#ifdef ECHO_HAVE_TLS
		if (ssl_ctx) {
			c->ssl = SSL_new(ssl_ctx);
			if (!c->ssl || !SSL_set_fd(c->ssl, fd)) {
				SSL_free(c->ssl);
				free(c->rbuf);
				free(c);
				close(fd);
				continue;
			}
			SSL_set_accept_state(c->ssl);
		}
#endif
		ev_init(&c->io, conn_io_cb);
		conn_set_events(c, EV_READ);
		ev_timer_init(&c->timer, conn_timer_cb, ECHO_IDLE_TIMEOUT, 0.);
		ev_timer_start(l, &c->timer);
	}
}

static void grace_over_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	fprintf(stderr, "echo-backend: [%s] grace period over, exiting\n", name);
	ev_break(l, EVBREAK_ALL);
}

static void stop_cb(struct ev_loop *l, ev_signal *w, int revents)
{
	if (draining)
		return;
	draining = 1;
	fprintf(stderr, "echo-backend: [%s] signal %d, serving with Connection: close for %g s\n",
		name, w->signum, grace);
	ev_timer_set(&grace_timer, grace, 0.);
	ev_timer_start(l, &grace_timer);
}

/* Binds a listener on "HOST:PORT", "[V6]:PORT", ":PORT" or "*:PORT".
 * Returns 0, or -1 with a message on stderr.
 */
static int listen_on(const char *spec)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	struct listener *li;
	char host[256], *port;
	const char *colon;
	size_t hlen;
	int fd = -1, one = 1, err;

	if (nlisteners == ECHO_LISTEN_MAX) {
		fprintf(stderr, "echo-backend: too many --listen\n");
		return -1;
	}
	colon = strrchr(spec, ':');
	if (!colon || !colon[1])
		goto bad;
	if (spec[0] == '[') {
		if (colon == spec || colon[-1] != ']')
			goto bad;
		hlen = (size_t)(colon - 1 - (spec + 1));
		spec++;
	} else {
		hlen = (size_t)(colon - spec);
	}
	if (hlen >= sizeof(host))
		goto bad;
	memcpy(host, spec, hlen);
	host[hlen] = 0;
	port = (char *)colon + 1;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	err = getaddrinfo(hlen && strcmp(host, "*") ? host : NULL, port, &hints, &res);
	if (err) {
		fprintf(stderr, "echo-backend: --listen %s: %s\n", spec, gai_strerror(err));
		return -1;
	}
	li = &listeners[nlisteners];
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto sys_err;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (res->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 4096) < 0)
		goto sys_err;
	if (res->ai_family == AF_INET6) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, a, sizeof(a));
		snprintf(li->addr, sizeof(li->addr), "[%s]:%s", a, port);
	} else {
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, a, sizeof(a));
		snprintf(li->addr, sizeof(li->addr), "%s:%s", a, port);
	}
	freeaddrinfo(res);
	li->fd = fd;
	ev_io_init(&li->io, accept_cb, fd, EV_READ);
	ev_io_start(loop, &li->io);
	nlisteners++;
	return 0;

sys_err:
	fprintf(stderr, "echo-backend: --listen %s: %s\n", spec, strerror(errno));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return -1;
bad:
	fprintf(stderr, "echo-backend: --listen wants HOST:PORT or [IPV6]:PORT, not '%s'\n", spec);
	return -1;
}

/* Makes every connection speak TLS with the PEM certificate chain in
 * <cert> and the key in <key>. Returns 0, or -1 with a message on stderr.
 */
static int tls_setup(const char *cert, const char *key)
{
#ifdef ECHO_HAVE_TLS
	ssl_ctx = SSL_CTX_new(TLS_server_method());
	if (!ssl_ctx ||
	    SSL_CTX_use_certificate_chain_file(ssl_ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ssl_ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ssl_ctx) != 1) {
		fprintf(stderr, "echo-backend: TLS with %s and %s: %s\n", cert, key,
			ERR_error_string(ERR_get_error(), NULL));
		return -1;
	}
	/* conn_flush() retries from a buffer that may have moved or grown. */
	SSL_CTX_set_mode(ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return 0;
#else
	fprintf(stderr, "echo-backend: built without OpenSSL, no --tls-cert %s\n", cert);
	(void)key;
	return -1;
#endif
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: echo-backend [--listen HOST:PORT]... [--name NAME] [--grace SECONDS]\n"
		"                    [--set-cookie NAME] [--tls-cert FILE [--tls-key FILE]]\n"
		"\n"
		"A small HTTP/1.1 server for tests: every answer is one line,\n"
		"  name=<name> host=<Host> path=<target> xfp=<X-Forwarded-Proto> xff=<X-Forwarded-For>\n"
		"and \" metadata=$METADATA\" when that variable is set.\n"
		"GET /health answers \"ok\", /status/<code> answers <code>, and\n"
		"\"Upgrade: websocket\" gets a WebSocket that echoes every frame.\n"
		"\n"
		"  --listen HOST:PORT  listen there (repeatable; [::]:PORT for IPv6;\n"
		"                      default 0.0.0.0:8080)\n"
		"  --name NAME         name in every answer (default: $TASK_NAME, else the\n"
		"                      host name)\n"
		"  --grace SECONDS     on SIGTERM/SIGINT keep serving that long, new\n"
		"                      connections included, with Connection: close,\n"
		"                      then exit 0 (default 0)\n"
		"  --set-cookie NAME   answer a request without the cookie NAME with\n"
		"                      Set-Cookie: NAME=<new random value>; Path=/\n"
		"  --tls-cert FILE     speak TLS only, with this PEM certificate (chain)\n"
		"  --tls-key FILE      and this PEM key (default: the --tls-cert file)\n"
		"  --tls-not-needed    accepted for compatibility; plain HTTP only\n"
		"  --help              this text\n");
}

int main(int argc, char **argv)
{
	static ev_signal sigterm, sigint;
	const char *env, *tls_cert = NULL, *tls_key = NULL;
	char *end;
	int i, j;

	signal(SIGPIPE, SIG_IGN);
	loop = ev_default_loop(EVFLAG_AUTO);
	if (!loop) {
		fprintf(stderr, "echo-backend: cannot initialise libev\n");
		return 1;
	}

	env = getenv("TASK_NAME");
	if (env && *env)
		snprintf(name, sizeof(name), "%s", env);
	else if (gethostname(name, sizeof(name) - 1) < 0 || !name[0])
		snprintf(name, sizeof(name), "echo");

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = NULL, *eq;
		char opt[32];

		/* "--opt=value" as well as "--opt value" */
		eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
		if (eq && (size_t)(eq - arg) < sizeof(opt)) {
			memcpy(opt, arg, (size_t)(eq - arg));
			opt[eq - arg] = 0;
			val = eq + 1;
			arg = opt;
		}
		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(arg, "--tls-not-needed")) {
			continue;
		}
		if (!val) {
			if (i + 1 >= argc) {
				fprintf(stderr, "echo-backend: unknown option or missing value: %s\n", arg);
				usage(stderr);
				return 2;
			}
			val = argv[++i];
		}
		if (!strcmp(arg, "--listen")) {
			if (listen_on(val) < 0)
				return 1;
		} else if (!strcmp(arg, "--name")) {
			snprintf(name, sizeof(name), "%s", val);
		} else if (!strcmp(arg, "--grace")) {
			grace = strtod(val, &end);
			if (*end || end == val || !(grace >= 0 && grace <= 86400)) {
				fprintf(stderr, "echo-backend: --grace wants seconds, not '%s'\n", val);
				return 2;
			}
		} else if (!strcmp(arg, "--set-cookie")) {
			for (j = 0; val[j] && is_tchar((unsigned char)val[j]); j++)
				;
			if (!j || val[j] || j > ECHO_COOKIE_MAX) {
				fprintf(stderr, "echo-backend: --set-cookie wants a cookie name, not '%s'\n", val);
				return 2;
			}
			snprintf(cookie_name, sizeof(cookie_name), "%s", val);
		} else if (!strcmp(arg, "--tls-cert")) {
			tls_cert = val;
		} else if (!strcmp(arg, "--tls-key")) {
			tls_key = val;
		} else {
			fprintf(stderr, "echo-backend: unknown option: %s\n", arg);
			usage(stderr);
			return 2;
		}
	}
	if (tls_key && !tls_cert) {
		fprintf(stderr, "echo-backend: --tls-key without --tls-cert\n");
		return 2;
	}
	if (tls_cert && tls_setup(tls_cert, tls_key ? tls_key : tls_cert) < 0)
		return 1;
	if (cookie_name[0] && (getrandom(&cookie_state, sizeof(cookie_state), 0) !=
			       (ssize_t)sizeof(cookie_state) || !cookie_state))
		cookie_state = (uint64_t)getpid() << 32 ^ (uint64_t)ev_time() ^ 0x9e3779b97f4a7c15ull;
	env = getenv("METADATA");
	if (env)
		snprintf(metadata, sizeof(metadata), "%s", env);
	for (j = 0; metadata[j]; j++)
		if ((unsigned char)metadata[j] <= 0x20 || metadata[j] == 0x7f)
			metadata[j] = '_';
	/* The name goes into headers and bodies verbatim: keep it printable. */
	for (j = 0; name[j]; j++)
		if ((unsigned char)name[j] <= 0x20 || name[j] == 0x7f)
			name[j] = '_';
	if (!nlisteners && listen_on("0.0.0.0:8080") < 0)
		return 1;

	ev_init(&accept_retry, accept_retry_cb);
	ev_init(&grace_timer, grace_over_cb);
	ev_signal_init(&sigterm, stop_cb, SIGTERM);
	ev_signal_start(loop, &sigterm);
	ev_signal_init(&sigint, stop_cb, SIGINT);
	ev_signal_start(loop, &sigint);

	for (i = 0; i < nlisteners; i++)
		fprintf(stderr, "echo-backend: [%s] listening on %s\n", name, listeners[i].addr);
	ev_run(loop, 0);
	return 0;
}
