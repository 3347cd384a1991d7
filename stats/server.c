/* Stats socket: listeners, sessions, prompt mode, streamed output. */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <ev.h>

#include "common/log.h"
#include "common/sbuf.h"
#include "common/sock.h"
#include "stats/commands.h"
#include "stats/server.h"

#define SERVER_IN_SIZE   (COMMANDS_LINE_MAX + 2)  /* a line, an optional CR, the LF */
#define SERVER_OUT_HIGH  (64u << 10)  /* stop producing above this much unsent output */
#define SERVER_ACCEPT_BURST 64
#define SERVER_TIMEOUT_CMD     10.0   /* waiting for the command of a one-shot session */
#define SERVER_TIMEOUT_PROMPT 300.0   /* idle interactive session */
#define SERVER_TIMEOUT_WRITE   30.0   /* client not reading its answer */
#define SERVER_TIMEOUT_LINGER   2.0   /* for the client to close after our answer */
#define SERVER_TURN_BUDGET    0.002   /* of a loop turn, after which steps wait a turn */

enum client_state {
	CLIENT_READ = 0,   /* waiting for a line */
	CLIENT_RUN,        /* running the commands of a line */
	CLIENT_CLOSE,      /* flushing the output, then closing */
	CLIENT_LINGER,     /* output sent and shut: reading what the client still sends */
};

struct client {
	ev_io rio;
	ev_io wio;
	ev_timer timer;
	struct client *prev, *next;
	int fd;
	unsigned long id;
	enum client_state state;
	unsigned prompt:1;         /* interactive mode */
	unsigned discarding:1;     /* skipping the rest of an overlong line */
	unsigned eof:1;            /* the client shut its side */
	unsigned running:1;        /* <run> is producing output */
	char in[SERVER_IN_SIZE];
	size_t in_len;
	char line[SERVER_IN_SIZE]; /* the line whose commands run */
	size_t line_len, line_pos;
	struct command cmd;
	struct commands_run run;
	struct sbuf out;
	size_t out_off;            /* bytes of <out> already sent */
};

struct server_listener {
	ev_io io;
	ev_timer pause;            /* out of descriptors: accepting again later */
	int fd;
};

static struct ev_loop *server_loop;
static struct server_listener listeners[2];
static size_t nlisteners;
static struct client *clients;
static unsigned nclients;
static unsigned long next_client_id;
static unsigned server_turn;           /* ev_iteration() of the last step */
static char *socket_path;
static dev_t socket_dev;
static ino_t socket_ino;
static uint64_t server_npauses;
static ev_tstamp server_last_pause_log;

uint64_t server_accept_pauses(void)
{
	return server_npauses;
}

/************************************************************************/
/*                                 clients                              */
/************************************************************************/

static void client_free(struct client *c)
{
	ev_io_stop(server_loop, &c->rio);
	ev_io_stop(server_loop, &c->wio);
	ev_timer_stop(server_loop, &c->timer);
	close(c->fd);
	if (c->running)
		commands_run_end(&c->run);
	sbuf_free(&c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	nclients--;
	LOG(LL_DEBUG, "stats", "client closed", KVI("client", c->id));
	free(c);
}

static size_t client_pending(const struct client *c)
{
	return c->out.len - c->out_off;
}

static void client_timeout(struct client *c)
{
	if (c->state == CLIENT_LINGER)
		c->timer.repeat = SERVER_TIMEOUT_LINGER;
	else if (client_pending(c))
		c->timer.repeat = SERVER_TIMEOUT_WRITE;
	else if (c->prompt)
		c->timer.repeat = SERVER_TIMEOUT_PROMPT;
	else
		c->timer.repeat = SERVER_TIMEOUT_CMD;
	ev_timer_again(server_loop, &c->timer);
}

/* Writes what the socket takes. Returns 0, or -1 when the client is gone. */
static int client_flush(struct client *c)
{
	while (client_pending(c)) {
		ssize_t n = write(c->fd, c->out.buf + c->out_off, client_pending(c));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		c->out_off += (size_t)n;
		client_timeout(c);
	}
	sbuf_reset(&c->out);
	c->out_off = 0;
	return 0;
}

/* What follows every answer, as HAProxy's CLI does it: an empty line, and
 * in interactive mode the prompt once the line's last command is done.
 */
static void client_post_command(struct client *c)
{
	int last = c->line_pos >= c->line_len;

	sbuf_puts(&c->out, c->prompt && last ? "\n> " : "\n");
}

/* Starts the next command of the current line. Returns 1 when one was
 * started or answered, 0 when the line is done.
 */
static int client_next_command(struct client *c)
{
	const char *s = c->line + c->line_pos;
	size_t seg, avail = c->line_len - c->line_pos;
	char err[256];

	if (c->line_pos >= c->line_len)
		return 0;
	seg = commands_split(s, avail);
	c->line_pos += seg + (seg < avail);   /* and the ';' */
	if (commands_parse(s, seg, &c->cmd, err, sizeof(err)) < 0) {
		commands_error(&c->out, c->cmd.json, err);
		client_post_command(c);
		return 1;
	}
	switch (c->cmd.id) {
	case CMD_EMPTY:
		/* "a;;b": nothing between the separators */
		if (c->line_pos >= c->line_len && c->prompt)
			sbuf_puts(&c->out, "\n> ");
		return 1;
	case CMD_QUIT:
		c->line_pos = c->line_len;
		c->prompt = 0;
		c->state = CLIENT_CLOSE;
		return 0;
	case CMD_PROMPT:
		c->prompt = !c->prompt;
		client_post_command(c);
		return 1;
	default:
		LOG(LL_DEBUG, "stats", "command", KVI("client", c->id), KVSN("line", s, seg));
		commands_run_begin(&c->run, &c->cmd);
		c->running = 1;
		return 1;
	}
}

/* Takes the next complete line out of the input into <line>. Returns 1 when
 * there is one, 0 when more input is needed, -1 when the line is too long.
 */
static int client_take_line(struct client *c)
{
	char *lf;
	size_t n;

	for (;;) {
		lf = memchr(c->in, '\n', c->in_len);
		if (c->discarding) {
			if (!lf) {
				c->in_len = 0;
				return 0;
			}
			c->discarding = 0;
			n = (size_t)(lf - c->in) + 1;
			memmove(c->in, c->in + n, c->in_len - n);
			c->in_len -= n;
			continue;
		}
		break;
	}
	if (!lf) {
		if (c->in_len == sizeof(c->in))
			return -1;
		if (!c->eof || !c->in_len)
			return 0;
		/* EOF after a last line without its LF: take it as it is. */
		n = c->in_len;
		memcpy(c->line, c->in, n);
		c->line_len = n;
		c->in_len = 0;
	} else {
		n = (size_t)(lf - c->in);
		memcpy(c->line, c->in, n);
		c->line_len = n;
		n++;
		memmove(c->in, c->in + n, c->in_len - n);
		c->in_len -= n;
	}
	if (c->line_len && c->line[c->line_len - 1] == '\r')
		c->line_len--;
	c->line_pos = 0;
	return 1;
}

/* A line made of blanks only. */
static int client_line_blank(const struct client *c)
{
	for (size_t i = 0; i < c->line_len; i++)
		if (c->line[i] != ' ' && c->line[i] != '\t')
			return 0;
	return 1;
}

/* Whether a client may take a production step now. Once the current loop
 * turn has run SERVER_TURN_BUDGET since the loop came back from poll, the
 * next steps wait for the next turn, so that many clients listing at once
 * do not add up to one long turn the rest of the loop waits for; the first
 * step of a turn always runs, so that the stats socket always moves on.
 */
static int server_may_step(void)
{
	unsigned turn = ev_iteration(server_loop);

	if (turn != server_turn) {
		server_turn = turn;
		return 1;
	}
	return ev_time() - ev_now(server_loop) <= SERVER_TURN_BUDGET;
}

/* Moves the session forward: at most one production step per call, so
 * that many clients share the loop; the write watcher calls again while
 * there is work left.
 */
static void client_work(struct client *c)
{
	int budget = 1;

	for (;;) {
		if (c->state == CLIENT_READ) {
			int r = client_take_line(c);

			if (r < 0) {
				commands_error(&c->out, 0, "line too long (more than 4096 bytes)");
				c->in_len = 0;
				if (c->prompt) {
					c->discarding = 1;
					sbuf_puts(&c->out, "\n> ");
					continue;
				}
				sbuf_putc(&c->out, '\n');
				c->state = CLIENT_CLOSE;
				break;
			}
			if (r == 0) {
				if (c->eof)
					c->state = CLIENT_CLOSE;
				break;
			}
			if (client_line_blank(c)) {
				/* HAProxy's CLI: a blank line ends a one-shot session
				 * and prompts again in interactive mode. */
				if (!c->prompt) {
					c->state = CLIENT_CLOSE;
					break;
				}
				sbuf_puts(&c->out, "\n> ");
				continue;
			}
			c->state = CLIENT_RUN;
			continue;
		}
		if (c->state != CLIENT_RUN)
			break;
		if (!c->running) {
			if (client_next_command(c))
				continue;
			if (c->state == CLIENT_RUN)
				c->state = c->prompt ? CLIENT_READ : CLIENT_CLOSE;
			continue;
		}
		if (client_pending(c) >= SERVER_OUT_HIGH || !budget || !server_may_step())
			break;
		budget--;
		if (!commands_run_step(&c->run, &c->out)) {
			commands_run_end(&c->run);
			c->running = 0;
			client_post_command(c);
		}
		if (client_pending(c) > SERVER_OUT_MAX) {
			/* Only a listing produced whole can get here. */
			c->out.len = c->out_off + SERVER_OUT_MAX;
			sbuf_puts(&c->out, "\nerror: output truncated (more than 64 MB)\n\n");
			if (c->running) {
				commands_run_end(&c->run);
				c->running = 0;
			}
			c->state = CLIENT_CLOSE;
		}
	}

	if (client_flush(c) < 0) {
		client_free(c);
		return;
	}
	if (c->state == CLIENT_CLOSE && !client_pending(c)) {
		/* Closing a socket with unread input resets it, and the client
		 * may lose the answer: shut our side, then read until the client
		 * closes too (or the linger timeout). */
		if (c->eof || shutdown(c->fd, SHUT_WR) < 0) {
			client_free(c);
			return;
		}
		c->state = CLIENT_LINGER;
		c->in_len = 0;
		client_timeout(c);
		ev_io_stop(server_loop, &c->wio);
		ev_io_start(server_loop, &c->rio);
		return;
	}
	/* Read only while waiting for a line: a client that sends more during
	 * a long answer is held back by its socket buffer. */
	if (c->state == CLIENT_READ && !c->eof)
		ev_io_start(server_loop, &c->rio);
	else
		ev_io_stop(server_loop, &c->rio);
	if (client_pending(c) || (c->state == CLIENT_RUN && c->running))
		ev_io_start(server_loop, &c->wio);
	else
		ev_io_stop(server_loop, &c->wio);
}

static void client_on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client *c = w->data;
	ssize_t n;

	(void)loop;
	(void)revents;
	if (c->state == CLIENT_LINGER) {
		char discard[4096];

		n = read(c->fd, discard, sizeof(discard));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			client_free(c);
		return;
	}
	if (c->in_len == sizeof(c->in)) {
		/* cannot happen: a full buffer is a refused line */
		client_work(c);
		return;
	}
	n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		client_free(c);
		return;
	}
	if (n == 0)
		c->eof = 1;
	c->in_len += (size_t)n;
	client_timeout(c);
	client_work(c);
}

static void client_on_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client *c = w->data;

	(void)loop;
	(void)revents;
	if (client_flush(c) < 0) {
		client_free(c);
		return;
	}
	client_work(c);
}

static void client_on_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct client *c = t->data;

	(void)loop;
	(void)revents;
	LOG(LL_DEBUG, "stats", "client timed out", KVI("client", c->id));
	client_free(c);
}

static void client_new(int fd)
{
	struct client *c;

	if (nclients >= SERVER_MAX_CLIENTS || !(c = calloc(1, sizeof(*c)))) {
		static const char msg[] = "error: too many stats clients\n\n";
		ssize_t w = write(fd, msg, sizeof(msg) - 1);

		(void)w;
		LOG(LL_WARN, "stats", "client refused", KVS("reason", "too many clients"),
		    KVI("max", SERVER_MAX_CLIENTS));
		close(fd);
		return;
	}
	c->fd = fd;
	c->id = ++next_client_id;
	ev_io_init(&c->rio, client_on_read, fd, EV_READ);
	ev_io_init(&c->wio, client_on_write, fd, EV_WRITE);
	ev_init(&c->timer, client_on_timeout);
	c->rio.data = c->wio.data = c->timer.data = c;
	c->next = clients;
	if (clients)
		clients->prev = c;
	clients = c;
	nclients++;
	LOG(LL_DEBUG, "stats", "client connected", KVI("client", c->id));
	client_timeout(c);
	ev_io_start(server_loop, &c->rio);
}

/************************************************************************/
/*                                listeners                             */
/************************************************************************/

static void server_on_resume(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct server_listener *l = t->data;

	(void)revents;
	ev_io_start(loop, &l->io);
}

/* See sock_accept_exhausted(): wait instead of spinning on the listener. */
static void server_pause(struct server_listener *l, int err)
{
	ev_tstamp now = ev_now(server_loop);

	ev_io_stop(server_loop, &l->io);
	ev_timer_start(server_loop, &l->pause);
	server_npauses++;
	if (!server_last_pause_log || now - server_last_pause_log >= 10.) {
		server_last_pause_log = now;
		LOG(LL_WARN, "stats", "accept failed, pausing the listener",
		    KVS("reason", strerror(err)), KVI("pauses", server_npauses));
	}
}

static void server_on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct server_listener *l = w->data;

	(void)loop;
	(void)revents;
	for (int i = 0; i < SERVER_ACCEPT_BURST; i++) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (sock_accept_exhausted(errno))
				server_pause(l, errno);
			else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
				 errno != ECONNABORTED)
				LOG(LL_WARN, "stats", "accept failed", KVS("reason", strerror(errno)));
			return;
		}
		client_new(fd);
	}
}

static void server_add_listener(int fd)
{
	struct server_listener *l = &listeners[nlisteners++];

	l->fd = fd;
	ev_io_init(&l->io, server_on_accept, fd, EV_READ);
	l->io.data = l;
	ev_timer_init(&l->pause, server_on_resume, SOCK_ACCEPT_PAUSE, 0.);
	l->pause.data = l;
	ev_io_start(server_loop, &l->io);
}

static int server_open_tcp(const char *spec, int allow_remote, char *err, size_t errlen)
{
	int fd;

	err[0] = '\0';
	fd = sock_listen_tcp(spec, err, errlen);
	if (fd < 0)
		return -1;
	if (!allow_remote && !sock_bound_loopback(fd)) {
		snprintf(err, errlen, "refusing the stats listener on '%s': not a loopback address "
			 "(the stats commands are unauthenticated; add --stats-allow-remote to "
			 "allow it)", spec);
		close(fd);
		return -1;
	}
	return fd;
}

static int server_open_unix(const char *path, unsigned mode, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	fd = sock_listen_unix(path, mode, err, errlen);
	if (fd < 0)
		return -1;
	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	socket_path = strdup(path);
	socket_dev = st.st_dev;
	socket_ino = st.st_ino;
	return fd;
}

int server_start(struct ev_loop *loop, const char *path, unsigned mode, const char *tcp,
		 int allow_remote, char *err, size_t errlen)
{
	int fd;

	server_loop = loop;
	if (path) {
		char octal[16];

		fd = server_open_unix(path, mode, err, errlen);
		if (fd < 0)
			return -1;
		server_add_listener(fd);
		snprintf(octal, sizeof(octal), "%04o", mode);
		LOG(LL_INFO, "stats", "stats socket ready", KVS("path", path), KVS("mode", octal));
	}
	if (tcp) {
		fd = server_open_tcp(tcp, allow_remote, err, errlen);
		if (fd < 0) {
			server_stop();
			return -1;
		}
		server_add_listener(fd);
		LOG(LL_INFO, "stats", "stats listener ready", KVS("listen", tcp));
	}
	return 0;
}

void server_stop(void)
{
	struct stat st;

	for (size_t i = 0; i < nlisteners; i++) {
		ev_io_stop(server_loop, &listeners[i].io);
		ev_timer_stop(server_loop, &listeners[i].pause);
		close(listeners[i].fd);
	}
	nlisteners = 0;
	while (clients)
		client_free(clients);
	/* A newer agent may have taken the path over: leave its socket. */
	if (socket_path && stat(socket_path, &st) == 0 && st.st_dev == socket_dev &&
	    st.st_ino == socket_ino)
		unlink(socket_path);
	free(socket_path);
	socket_path = NULL;
}
