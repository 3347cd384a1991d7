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
#include "common/sock.h"
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

int listener_open(const char *spec, char *err, size_t errlen)
{
	int fd;

	err[0] = '\0';
	if (nlisteners >= LISTENER_MAX) {
		snprintf(err, errlen, "too many listeners (max %d)", LISTENER_MAX);
		return -1;
	}
	if (strncmp(spec, "unix:", 5) == 0) {
		fd = sock_listen_unix(spec + 5, 0666, err, errlen);
		if (fd >= 0) {
			listeners[nlisteners].is_unix = 1;
			snprintf(listeners[nlisteners].path, sizeof(listeners[nlisteners].path),
				 "%s", spec + 5);
		}
	} else {
		fd = sock_listen_tcp(spec, err, errlen);
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
