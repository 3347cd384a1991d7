/* Listening sockets and the acceptor thread. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <ev.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/sock.h"
#include "spoa/listener.h"
#include "spoa/spop.h"
#include "spoa/worker.h"

#define LISTENER_MAX 16

struct listener {
	ev_io io;
	ev_timer pause;            /* out of descriptors: accepting again later */
	int fd;
	int is_unix;
	_Atomic unsigned nconns;   /* open connections; their worker decrements */
	char path[108];
};

static struct listener listeners[LISTENER_MAX];
static size_t nlisteners;
static struct ev_loop *acceptor_loop;
static ev_async acceptor_stop;
static pthread_t acceptor_thread;
static int acceptor_running;
static unsigned listener_max_conns;
static int64_t listener_last_pause_log_ms;

/* Written by the acceptor thread only, read by the stats socket. */
static _Atomic uint64_t listener_nrefused;
static _Atomic uint64_t listener_npauses;

void listener_set_max_conns(unsigned max)
{
	listener_max_conns = max;
}

uint64_t listener_refused(void)
{
	return atomic_load_explicit(&listener_nrefused, memory_order_relaxed);
}

uint64_t listener_accept_pauses(void)
{
	return atomic_load_explicit(&listener_npauses, memory_order_relaxed);
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
		fd = sock_listen_unix(spec + 5, LISTENER_UNIX_MODE, err, errlen);
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

/* Over the cap: an AGENT-DISCONNECT that says why, then close. The frame
 * is small enough for any socket buffer; HAProxy counts the connection as
 * failed and tries another agent or connection.
 */
static void listener_refuse(int fd)
{
	uint8_t frame[128];
	long n = spop_encode_agent_disconnect(frame, sizeof(frame), SPOP_ERR_RES,
					      "too many connections");

	if (n > 0 && write(fd, frame, (size_t)n) < 0) {
		/* the peer is gone already: nothing to tell it */
	}
	close(fd);
	atomic_store_explicit(&listener_nrefused, listener_refused() + 1, memory_order_relaxed);
}

/* accept(2) found no descriptor or memory: stop watching <l> for a while
 * rather than being woken again at once for the same queued connection.
 */
static void listener_pause(struct listener *l, int err)
{
	int64_t now = clock_mono_ms();

	ev_io_stop(acceptor_loop, &l->io);
	ev_timer_set(&l->pause, SOCK_ACCEPT_PAUSE, 0.);
	ev_timer_start(acceptor_loop, &l->pause);
	atomic_store_explicit(&listener_npauses, listener_accept_pauses() + 1,
			      memory_order_relaxed);
	/* Once per 10 s at most: the counter says how often. */
	if (!listener_last_pause_log_ms || now - listener_last_pause_log_ms >= 10000) {
		listener_last_pause_log_ms = now;
		LOG(LL_WARN, "spoa", "accept failed, pausing the listener", KVS("error", strerror(err)),
		    KVI("pauses", listener_accept_pauses()));
	}
}

static void listener_on_resume(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct listener *l = t->data;

	(void)revents;
	ev_io_start(loop, &l->io);
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
			if (sock_accept_exhausted(errno))
				listener_pause(l, errno);
			else if (errno != EAGAIN && errno != EWOULDBLOCK)
				LOG(LL_WARN, "spoa", "accept failed", KVS("error", strerror(errno)));
			return;
		}
		if (listener_max_conns &&
		    atomic_load_explicit(&l->nconns, memory_order_relaxed) >= listener_max_conns) {
			listener_refuse(fd);
			continue;
		}
		if (!l->is_unix) {
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		}
		atomic_fetch_add(&l->nconns, 1);
		worker_dispatch(fd, &l->nconns);
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
		ev_timer_init(&listeners[i].pause, listener_on_resume, SOCK_ACCEPT_PAUSE, 0.);
		listeners[i].pause.data = &listeners[i];
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
