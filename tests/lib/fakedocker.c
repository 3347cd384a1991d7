/* Scripted Docker daemon for unit tests: one thread accepts, one thread per
 * connection answers one request and closes ("Connection: close"), except
 * streams, which stay open until dropped.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "tests/lib/fakedocker.h"

#define FAKE_MAX_STREAMS 16
#define FAKE_MAX_PATHS 4096

struct fakedocker {
	char path[108];
	int lfd;
	int stopping;
	pthread_t acceptor;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	int conns;                       /* connection threads alive */
	int streams[FAKE_MAX_STREAMS];   /* fds of open streams, -1 when free */
	char *paths[FAKE_MAX_PATHS];
	unsigned npaths;
	fake_handler handler;
	void *arg;
};

struct fake_conn {
	struct fakedocker *f;
	int fd;
};

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads the request head. Returns its length, or -1. */
static ssize_t read_head(int fd, char *buf, size_t size)
{
	size_t len = 0;

	while (len < size - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 5000) <= 0)
			return -1;
		r = recv(fd, buf + len, size - 1 - len, 0);
		if (r <= 0)
			return -1;
		len += (size_t)r;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			return (ssize_t)len;
	}
	return -1;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

static void *conn_main(void *p)
{
	struct fake_conn *c = p;
	struct fakedocker *f = c->f;
	struct fake_resp r = { 0 };
	char head[16384], method[16], path[8192], hdr[256];
	int slot = -1;

	if (read_head(c->fd, head, sizeof(head)) < 0 ||
	    sscanf(head, "%15s %8191s", method, path) != 2)
		goto out_close;

	pthread_mutex_lock(&f->lock);
	if (f->npaths < FAKE_MAX_PATHS)
		f->paths[f->npaths++] = strdup(path);
	f->handler(f->arg, method, path, &r);
	if (r.stream) {
		for (int i = 0; i < FAKE_MAX_STREAMS; i++) {
			if (f->streams[i] < 0) {
				f->streams[i] = c->fd;
				slot = i;
				break;
			}
		}
	}
	pthread_mutex_unlock(&f->lock);

	if (r.delay_ms)
		usleep(r.delay_ms * 1000);
	if (r.status == 0)
		goto out_close;
	if (r.stream) {
		snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			 "Connection: close\r\n\r\n");
		if (slot < 0 || write_all(c->fd, hdr, strlen(hdr)) < 0)
			goto out_unstream;
		/* lines are written by fakedocker_push(); wait for the end */
		for (;;) {
			char b[64];
			ssize_t n = recv(c->fd, b, sizeof(b), 0);

			if (n == 0 || (n < 0 && errno != EINTR))
				break;
		}
		goto out_unstream;
	}
	snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n", r.status, reason(r.status), r.len);
	if (write_all(c->fd, hdr, strlen(hdr)) == 0 && r.len)
		write_all(c->fd, r.body, r.len);
	goto out_close;

out_unstream:
	pthread_mutex_lock(&f->lock);
	if (slot >= 0 && f->streams[slot] == c->fd)
		f->streams[slot] = -1;
	pthread_mutex_unlock(&f->lock);
out_close:
	free(r.body);
	shutdown(c->fd, SHUT_RDWR);
	close(c->fd);
	pthread_mutex_lock(&f->lock);
	f->conns--;
	pthread_cond_broadcast(&f->idle);
	pthread_mutex_unlock(&f->lock);
	free(c);
	return NULL;
}

static void *accept_main(void *p)
{
	struct fakedocker *f = p;

	for (;;) {
		int fd = accept(f->lfd, NULL, NULL);
		struct fake_conn *c;
		pthread_t t;

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			return NULL;   /* the listener was shut down */
		}
		c = malloc(sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->f = f;
		c->fd = fd;
		pthread_mutex_lock(&f->lock);
		f->conns++;
		pthread_mutex_unlock(&f->lock);
		if (pthread_create(&t, NULL, conn_main, c) != 0) {
			close(fd);
			free(c);
			pthread_mutex_lock(&f->lock);
			f->conns--;
			pthread_mutex_unlock(&f->lock);
			continue;
		}
		pthread_detach(t);
	}
}

struct fakedocker *fakedocker_start(const char *path, fake_handler h, void *arg)
{
	struct fakedocker *f = calloc(1, sizeof(*f));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (!f || strlen(path) >= sizeof(sa.sun_path))
		goto out_free;
	snprintf(f->path, sizeof(f->path), "%s", path);
	strcpy(sa.sun_path, path);
	unlink(path);
	f->handler = h;
	f->arg = arg;
	for (int i = 0; i < FAKE_MAX_STREAMS; i++)
		f->streams[i] = -1;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->idle, NULL);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (f->lfd < 0)
		goto out_free;
	if (bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(f->lfd, 64) < 0)
		goto out_close;
	if (pthread_create(&f->acceptor, NULL, accept_main, f) != 0)
		goto out_close;
	return f;

out_close:
	close(f->lfd);
out_free:
	free(f);
	return NULL;
}

void fakedocker_push(struct fakedocker *f, const char *line)
{
	pthread_mutex_lock(&f->lock);
	for (int i = 0; i < FAKE_MAX_STREAMS; i++) {
		if (f->streams[i] < 0)
			continue;
		write_all(f->streams[i], line, strlen(line));
		write_all(f->streams[i], "\n", 1);
	}
	pthread_mutex_unlock(&f->lock);
}

void fakedocker_drop_streams(struct fakedocker *f)
{
	pthread_mutex_lock(&f->lock);
	for (int i = 0; i < FAKE_MAX_STREAMS; i++)
		if (f->streams[i] >= 0)
			shutdown(f->streams[i], SHUT_RDWR);
	pthread_mutex_unlock(&f->lock);
}

int fakedocker_streams(struct fakedocker *f)
{
	int n = 0;

	pthread_mutex_lock(&f->lock);
	for (int i = 0; i < FAKE_MAX_STREAMS; i++)
		n += f->streams[i] >= 0;
	pthread_mutex_unlock(&f->lock);
	return n;
}

unsigned fakedocker_count(struct fakedocker *f, const char *prefix)
{
	unsigned n = 0;

	pthread_mutex_lock(&f->lock);
	for (unsigned i = 0; i < f->npaths; i++)
		if (f->paths[i] && strncmp(f->paths[i], prefix, strlen(prefix)) == 0)
			n++;
	pthread_mutex_unlock(&f->lock);
	return n;
}

void fakedocker_stop(struct fakedocker *f)
{
	shutdown(f->lfd, SHUT_RDWR);
	close(f->lfd);
	pthread_join(f->acceptor, NULL);
	unlink(f->path);
	fakedocker_drop_streams(f);
	pthread_mutex_lock(&f->lock);
	while (f->conns > 0)
		pthread_cond_wait(&f->idle, &f->lock);
	pthread_mutex_unlock(&f->lock);
	for (unsigned i = 0; i < f->npaths; i++)
		free(f->paths[i]);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->idle);
	free(f);
}
