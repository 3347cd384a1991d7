/* A byte channel to HAProxy's runtime API: plain socket or TLS. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <curl/curl.h>
#include <ev.h>

#include "haproxyapi/hachan.h"
#include "haproxyapi/haproxy_cli.h"

/* The TLS handshake has its own bound: the callers' deadlines are longer
 * (the event stream has none once it streams). */
#define HACHAN_TLS_CONNECT_MS 10000

struct hachan_tls {
	char ca[PATH_MAX];
	char cert[PATH_MAX];
	char key[PATH_MAX];
};

/* Set once at start-up, before the loop runs; read-only afterwards. */
static struct hachan_tls *hachan_tls;

struct hachan {
	struct ev_loop *loop;
	ev_io io;                  /* the owner's events, once connected */
	int fd;
	int connected;
	int want;
	void (*on_io)(void *arg, int events);
	void *arg;
	char name[HAPROXY_CLI_NAME_MAX];
	char error[CURL_ERROR_SIZE + HAPROXY_CLI_NAME_MAX];
	/* TLS only: the handshake on libcurl's multi-socket API */
	CURLM *multi;
	CURL *easy;
	ev_io curl_io;
	ev_timer curl_timer;
	int curl_fd;
	char curl_err[CURL_ERROR_SIZE];
};

/* ------------------------------------------------------------------------
 * Configuration
 * ------------------------------------------------------------------------ */

static int hachan_readable(const char *what, const char *path, char *err, size_t errlen)
{
	if (access(path, R_OK) == 0)
		return 0;
	snprintf(err, errlen, "cannot read the runtime API %s '%s': %s", what, path, strerror(errno));
	return -1;
}

int hachan_tls_set(const char *ca, const char *cert, const char *key, char *err, size_t errlen)
{
	struct hachan_tls *t;

	if (!ca || !cert) {
		snprintf(err, errlen, "TLS to the runtime API needs both a CA and a client certificate");
		return -1;
	}
	if (hachan_readable("CA", ca, err, errlen) < 0 ||
	    hachan_readable("client certificate", cert, err, errlen) < 0 ||
	    (key && hachan_readable("client key", key, err, errlen) < 0))
		return -1;
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((size_t)snprintf(t->ca, sizeof(t->ca), "%s", ca) >= sizeof(t->ca) ||
	    (size_t)snprintf(t->cert, sizeof(t->cert), "%s", cert) >= sizeof(t->cert) ||
	    (size_t)snprintf(t->key, sizeof(t->key), "%s", key ? key : cert) >= sizeof(t->key)) {
		snprintf(err, errlen, "runtime API TLS file name too long");
		free(t);
		return -1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "libcurl initialisation failed");
		free(t);
		return -1;
	}
	free(hachan_tls);
	hachan_tls = t;
	return 0;
}

int hachan_is_tls(const struct haproxy_cli_addr *a)
{
	return hachan_tls && a->ss.ss_family != AF_UNIX;
}

/* ------------------------------------------------------------------------
 * Events
 * ------------------------------------------------------------------------ */

static void hachan_on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct hachan *ch = (struct hachan *)((char *)w - offsetof(struct hachan, io));

	(void)loop;
	if (!ch->connected) {
		/* a plain socket's connect() has ended */
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		ev_io_stop(ch->loop, &ch->io);
		if (getsockopt(ch->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			soerr = errno;
		if (soerr) {
			snprintf(ch->error, sizeof(ch->error), "%s", strerror(soerr));
			ch->on_io(ch->arg, HACHAN_ERROR);
			return;
		}
		ch->connected = 1;
		ch->on_io(ch->arg, HACHAN_CONNECTED);
		return;
	}
	ch->on_io(ch->arg, revents & (EV_READ | EV_WRITE));
}

void hachan_want(struct hachan *ch, int events)
{
	events &= EV_READ | EV_WRITE;
	if (events == ch->want && (!events || ev_is_active(&ch->io)))
		return;
	ev_io_stop(ch->loop, &ch->io);
	ch->want = events;
	if (!events)
		return;
	ev_io_set(&ch->io, ch->fd, events);
	ev_io_start(ch->loop, &ch->io);
}

/* ------------------------------------------------------------------------
 * The TLS handshake, on libcurl's multi-socket API
 * ------------------------------------------------------------------------ */

static void hachan_tls_check(struct hachan *ch)
{
	CURLMsg *msg;
	int queued;
	curl_socket_t fd = CURL_SOCKET_BAD;

	while ((msg = curl_multi_info_read(ch->multi, &queued))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		ev_io_stop(ch->loop, &ch->curl_io);
		ev_timer_stop(ch->loop, &ch->curl_timer);
		if (msg->data.result != CURLE_OK) {
			snprintf(ch->error, sizeof(ch->error), "TLS: %s",
				 ch->curl_err[0] ? ch->curl_err : curl_easy_strerror(msg->data.result));
			ch->on_io(ch->arg, HACHAN_ERROR);
			return;
		}
		/* The easy handle stays in the multi: removing it would close
		 * a CONNECT_ONLY connection. */
		if (curl_easy_getinfo(ch->easy, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK ||
		    fd == CURL_SOCKET_BAD) {
			snprintf(ch->error, sizeof(ch->error), "TLS: no socket after the handshake");
			ch->on_io(ch->arg, HACHAN_ERROR);
			return;
		}
		ch->fd = fd;
		ch->connected = 1;
		ch->on_io(ch->arg, HACHAN_CONNECTED);
		return;
	}
}

static void hachan_tls_action(struct hachan *ch, curl_socket_t fd, int flags)
{
	int running;

	curl_multi_socket_action(ch->multi, fd, flags, &running);
	hachan_tls_check(ch);
}

static void hachan_on_curl_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct hachan *ch = (struct hachan *)((char *)w - offsetof(struct hachan, curl_io));

	(void)loop;
	hachan_tls_action(ch, ch->curl_fd, ((revents & EV_READ) ? CURL_CSELECT_IN : 0) |
					   ((revents & EV_WRITE) ? CURL_CSELECT_OUT : 0));
}

static void hachan_on_curl_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct hachan *ch = (struct hachan *)((char *)t - offsetof(struct hachan, curl_timer));

	(void)loop;
	(void)revents;
	hachan_tls_action(ch, CURL_SOCKET_TIMEOUT, 0);
}

static int hachan_curl_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct hachan *ch = userp;
	int events = 0;

	(void)easy;
	(void)socketp;
	ev_io_stop(ch->loop, &ch->curl_io);
	if (what == CURL_POLL_REMOVE || ch->connected)
		return 0;
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	ch->curl_fd = fd;
	ev_io_set(&ch->curl_io, fd, events);
	ev_io_start(ch->loop, &ch->curl_io);
	return 0;
}

static int hachan_curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct hachan *ch = userp;

	(void)multi;
	ev_timer_stop(ch->loop, &ch->curl_timer);
	if (timeout_ms < 0)
		return 0;
	/* 0: as soon as the loop runs again, never from within libcurl */
	ev_timer_set(&ch->curl_timer, timeout_ms / 1000.0, 0.0);
	ev_timer_start(ch->loop, &ch->curl_timer);
	return 0;
}

/* The same keepalive as a plain channel's: libcurl sets the idle time and
 * the interval, not the count. */
static int hachan_curl_sockopt(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	int cnt = 3;

	(void)arg;
	if (purpose == CURLSOCKTYPE_IPCXN)
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	return CURL_SOCKOPT_OK;
}

static int hachan_tls_start(struct hachan *ch, const struct haproxy_cli_addr *a, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN], url[INET6_ADDRSTRLEN + 32];
	int port;

	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)&a->ss;

		inet_ntop(AF_INET, &in4->sin_addr, host, sizeof(host));
		port = ntohs(in4->sin_port);
		snprintf(url, sizeof(url), "https://%s:%d/", host, port);
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(url, sizeof(url), "https://[%s]:%d/", host, port);
	}
	ch->multi = curl_multi_init();
	ch->easy = curl_easy_init();
	if (!ch->multi || !ch->easy) {
		snprintf(err, errlen, "%s: out of memory for TLS", a->name);
		return -1;
	}
	curl_multi_setopt(ch->multi, CURLMOPT_SOCKETFUNCTION, hachan_curl_socket_cb);
	curl_multi_setopt(ch->multi, CURLMOPT_SOCKETDATA, ch);
	curl_multi_setopt(ch->multi, CURLMOPT_TIMERFUNCTION, hachan_curl_timer_cb);
	curl_multi_setopt(ch->multi, CURLMOPT_TIMERDATA, ch);
	curl_easy_setopt(ch->easy, CURLOPT_URL, url);
	curl_easy_setopt(ch->easy, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(ch->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(ch->easy, CURLOPT_PROXY, "");
	curl_easy_setopt(ch->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)HACHAN_TLS_CONNECT_MS);
	curl_easy_setopt(ch->easy, CURLOPT_ERRORBUFFER, ch->curl_err);
	curl_easy_setopt(ch->easy, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(ch->easy, CURLOPT_CAINFO, hachan_tls->ca);
	curl_easy_setopt(ch->easy, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(ch->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	/* HAProxy tasks are reached by address; the pair's own CA is what
	 * says a peer is one of its HAProxies. */
	curl_easy_setopt(ch->easy, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(ch->easy, CURLOPT_SSLCERT, hachan_tls->cert);
	curl_easy_setopt(ch->easy, CURLOPT_SSLKEY, hachan_tls->key);
	/* an HAProxy whose host vanished is noticed without traffic */
	curl_easy_setopt(ch->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(ch->easy, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(ch->easy, CURLOPT_TCP_KEEPINTVL, 10L);
	curl_easy_setopt(ch->easy, CURLOPT_SOCKOPTFUNCTION, hachan_curl_sockopt);
	ev_io_init(&ch->curl_io, hachan_on_curl_io, 0, EV_READ);
	ev_timer_init(&ch->curl_timer, hachan_on_curl_timer, 0.0, 0.0);
	if (curl_multi_add_handle(ch->multi, ch->easy) != CURLM_OK) {
		snprintf(err, errlen, "%s: cannot start TLS", a->name);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * Channels
 * ------------------------------------------------------------------------ */

static int hachan_plain_start(struct hachan *ch, const struct haproxy_cli_addr *a, char *err, size_t errlen)
{
	ch->fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ch->fd < 0) {
		snprintf(err, errlen, "%s: socket: %s", a->name, strerror(errno));
		return -1;
	}
	if (a->ss.ss_family != AF_UNIX) {
		int one = 1, idle = 30, intvl = 10, cnt = 3;

		setsockopt(ch->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		setsockopt(ch->fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
		setsockopt(ch->fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
		setsockopt(ch->fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	}
	if (connect(ch->fd, (const struct sockaddr *)&a->ss, a->len) < 0 && errno != EINPROGRESS) {
		snprintf(err, errlen, "%s: %s", a->name, strerror(errno));
		return -1;
	}
	/* writable once connected (a unix socket at once): reported from the
	 * loop, never from within hachan_open() */
	ev_io_set(&ch->io, ch->fd, EV_WRITE);
	ev_io_start(ch->loop, &ch->io);
	return 0;
}

struct hachan *hachan_open(struct ev_loop *loop, const struct haproxy_cli_addr *a,
			   void (*on_io)(void *arg, int events), void *arg,
			   char *err, size_t errlen)
{
	struct hachan *ch = calloc(1, sizeof(*ch));

	if (!ch) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ch->loop = loop;
	ch->fd = -1;
	ch->on_io = on_io;
	ch->arg = arg;
	snprintf(ch->name, sizeof(ch->name), "%s", a->name);
	ev_io_init(&ch->io, hachan_on_io, 0, EV_WRITE);
	if ((hachan_is_tls(a) ? hachan_tls_start(ch, a, err, errlen)
			      : hachan_plain_start(ch, a, err, errlen)) < 0)
		goto out_close;
	return ch;

out_close:
	hachan_close(ch);
	return NULL;
}

/* What a TLS read or write returned, as read(2) and write(2) say it. */
static ssize_t hachan_tls_result(struct hachan *ch, CURLcode rc, size_t n)
{
	if (rc == CURLE_OK)
		return (ssize_t)n;
	if (rc == CURLE_AGAIN) {
		errno = EAGAIN;
		return -1;
	}
	snprintf(ch->error, sizeof(ch->error), "TLS: %s",
		 ch->curl_err[0] ? ch->curl_err : curl_easy_strerror(rc));
	errno = EIO;
	return -1;
}

/* The same for a plain socket's: EWOULDBLOCK as EAGAIN, the error kept.
 * Returns 1 when interrupted (call again).
 */
static int hachan_plain_failed(struct hachan *ch)
{
	if (errno == EINTR)
		return 1;
	if (errno == EWOULDBLOCK)
		errno = EAGAIN;
	if (errno != EAGAIN)
		snprintf(ch->error, sizeof(ch->error), "%s", strerror(errno));
	return 0;
}

ssize_t hachan_read(struct hachan *ch, void *buf, size_t len)
{
	ssize_t n;

	if (ch->easy) {
		size_t got = 0;
		CURLcode rc = curl_easy_recv(ch->easy, buf, len, &got);

		return hachan_tls_result(ch, rc, got);
	}
	while ((n = read(ch->fd, buf, len)) < 0 && hachan_plain_failed(ch))
		;
	return n;
}

ssize_t hachan_write(struct hachan *ch, const void *buf, size_t len)
{
	ssize_t n;

	if (ch->easy) {
		size_t put = 0;
		CURLcode rc = curl_easy_send(ch->easy, buf, len, &put);

		return hachan_tls_result(ch, rc, put);
	}
	while ((n = write(ch->fd, buf, len)) < 0 && hachan_plain_failed(ch))
		;
	return n;
}

void hachan_end_write(struct hachan *ch)
{
	if (!ch->easy)
		shutdown(ch->fd, SHUT_WR);
}

const char *hachan_error(const struct hachan *ch)
{
	return ch->error;
}

void hachan_close(struct hachan *ch)
{
	if (!ch)
		return;
	ev_io_stop(ch->loop, &ch->io);
	if (ch->multi || ch->easy) {
		ev_io_stop(ch->loop, &ch->curl_io);
		ev_timer_stop(ch->loop, &ch->curl_timer);
		/* libcurl closes the socket */
		if (ch->multi && ch->easy)
			curl_multi_remove_handle(ch->multi, ch->easy);
		curl_easy_cleanup(ch->easy);
		curl_multi_cleanup(ch->multi);
	} else if (ch->fd >= 0) {
		close(ch->fd);
	}
	free(ch);
}
