/* Listening sockets and the acceptor thread. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <ev.h>

#include "common/log.h"
#include "spoa/listener.h"
#include "spoa/worker.h"

#define LISTENER_MAX 16

struct listener {
	ev_io io;
	int fd;
	int is_unix;
	char path[108];
};

static struct listener listeners[LISTENER_MAX];
static size_t nlisteners;
static struct ev_loop *acceptor_loop;
static ev_async acceptor_stop;
static pthread_t acceptor_thread;
static int acceptor_running;

int listener_split_hostport(const char *spec, char *host, size_t hostlen, unsigned *port)
{
	const char *colon;
	size_t hl;
	char *end;
	long p;

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (!close || close[1] != ':')
			return -1;
		hl = (size_t)(close - spec - 1);
		if (hl >= hostlen)
			return -1;
		memcpy(host, spec + 1, hl);
		host[hl] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(spec, ':');
		if (!colon)
			return -1;
		hl = (size_t)(colon - spec);
		if (hl >= hostlen)
			return -1;
		memcpy(host, spec, hl);
		host[hl] = '\0';
		if (strcmp(host, "*") == 0)
			host[0] = '\0';
	}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || p < 0 || p > 65535)
		return -1;
	*port = (unsigned)p;
	return 0;
}

int listener_open_tcp(const char *spec, char *err, size_t errlen)
{
	struct addrinfo hints = { 0 }, *res = NULL, *ai;
	char host[256], portstr[8];
	unsigned port;
	int fd = -1, one = 1, rc;

	if (listener_split_hostport(spec, host, sizeof(host), &port) < 0) {
		snprintf(err, errlen, "bad address '%s' (want HOST:PORT, [V6]:PORT or unix:PATH)", spec);
		return -1;
	}
	snprintf(portstr, sizeof(portstr), "%u", port);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host[0] ? host : NULL, portstr, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "cannot resolve '%s': %s", spec, gai_strerror(rc));
		return -1;
	}
	/* With no host, prefer the IPv6 wildcard, which also takes IPv4. */
	for (ai = res; ai; ai = ai->ai_next) {
		if (!host[0] && ai->ai_family != AF_INET6 && ai->ai_next)
			continue;
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6 && !host[0]) {
			int zero = 0;

			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		}
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0)
			break;
		snprintf(err, errlen, "cannot listen on '%s': %s", spec, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0 && !err[0])
		snprintf(err, errlen, "cannot listen on '%s'", spec);
	return fd;
}

int listener_open_unix(const char *path, unsigned mode, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	mode_t old;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "unix socket path too long: %s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	unlink(path);
	/* Create the file with the final mode: no window where it is open. */
	old = umask(0777 & ~mode);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 1024) < 0) {
		umask(old);
		snprintf(err, errlen, "cannot listen on unix:%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	chmod(path, mode);
	return fd;
}

int listener_open(const char *spec, char *err, size_t errlen)
{
	int fd;

	err[0] = '\0';
	if (nlisteners >= LISTENER_MAX) {
		snprintf(err, errlen, "too many listeners (max %d)", LISTENER_MAX);
		return -1;
	}
	if (strncmp(spec, "unix:", 5) == 0) {
		fd = listener_open_unix(spec + 5, 0666, err, errlen);
		if (fd >= 0) {
			listeners[nlisteners].is_unix = 1;
			snprintf(listeners[nlisteners].path, sizeof(listeners[nlisteners].path),
				 "%s", spec + 5);
		}
	} else {
		fd = listener_open_tcp(spec, err, errlen);
	}
	if (fd >= 0)
		listeners[nlisteners++].fd = fd;
	return fd;
}

static void listener_on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
	struct listener *l = io->data;

	(void)loop;
	(void)revents;
	/* Take a burst (HAProxy reloads open many at once) but yield to the
	 * other listeners now and then. */
	for (int i = 0; i < 256; i++) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		int one = 1;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				LOG(LL_WARN, "spoa", "accept failed", KVS("error", strerror(errno)));
			return;
		}
		if (!l->is_unix) {
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		}
		worker_dispatch(fd);
	}
}

static void listener_on_stop(struct ev_loop *loop, ev_async *a, int revents)
{
	(void)a;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static void *listener_main(void *arg)
{
	(void)arg;
	ev_run(acceptor_loop, 0);
	return NULL;
}

int listener_start(void)
{
	acceptor_loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	if (!acceptor_loop)
		return -1;
	for (size_t i = 0; i < nlisteners; i++) {
		ev_io_init(&listeners[i].io, listener_on_accept, listeners[i].fd, EV_READ);
		listeners[i].io.data = &listeners[i];
		ev_io_start(acceptor_loop, &listeners[i].io);
	}
	ev_async_init(&acceptor_stop, listener_on_stop);
	ev_async_start(acceptor_loop, &acceptor_stop);
	if (pthread_create(&acceptor_thread, NULL, listener_main, NULL) != 0)
		return -1;
	acceptor_running = 1;
	return 0;
}

void listener_stop(void)
{
	if (acceptor_running) {
		ev_async_send(acceptor_loop, &acceptor_stop);
		pthread_join(acceptor_thread, NULL);
		acceptor_running = 0;
	}
	for (size_t i = 0; i < nlisteners; i++) {
		close(listeners[i].fd);
		if (listeners[i].is_unix)
			unlink(listeners[i].path);
	}
	nlisteners = 0;
}
