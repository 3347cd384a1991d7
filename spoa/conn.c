/* SPOP connection state machine.
 *
 * Reads land in the worker's batch buffer, behind any partial frame left
 * over from the previous read; every complete frame is handled and its
 * answer appended to the worker's output batch, which is written with one
 * write(2) at the end of the batch. Only bytes the socket refuses are copied
 * into the connection's own output buffer, so an idle or keeping-up
 * connection holds no buffer memory.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/errlog.h"
#include "common/log.h"
#include "routing/snapshot.h"
#include "spoa/conn.h"
#include "spoa/handler.h"
#include "spoa/spop.h"

uint32_t conn_max_frame = SPOP_MAX_FRAME_SIZE;
double conn_idle_timeout = CONN_IDLE_TIMEOUT;

static void conn_on_read(struct ev_loop *loop, ev_io *io, int revents);
static void conn_on_write(struct ev_loop *loop, ev_io *io, int revents);
static void conn_on_timer(struct ev_loop *loop, ev_timer *t, int revents);

/* ------------------------------------------------------------------------
 * Setup and teardown
 * ------------------------------------------------------------------------ */

static void conn_describe_peer(struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char ip[INET6_ADDRSTRLEN];

	strcpy(c->peer, "?");
	if (getpeername(c->fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(c->peer, sizeof(c->peer), "%s:%u", ip, ntohs(sin->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		snprintf(c->peer, sizeof(c->peer), "[%s]:%u", ip, ntohs(sin6->sin6_port));
	} else if (ss.ss_family == AF_UNIX) {
		strcpy(c->peer, "unix");
	}
}

struct conn *conn_new(struct worker *w, int fd, uint32_t max_frame,
		      _Atomic unsigned *listener_conns)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		atomic_fetch_sub(listener_conns, 1);
		return NULL;
	}
	c->w = w;
	c->listener_conns = listener_conns;
	c->fd = fd;
	c->state = CONN_ST_HELLO;
	c->max_frame = max_frame;
	c->id = ++w->next_conn_id * 1000 + w->idx;
	c->since_ms = clock_wall_ms();
	conn_describe_peer(c);

	ev_io_init(&c->rio, conn_on_read, fd, EV_READ);
	ev_io_init(&c->wio, conn_on_write, fd, EV_WRITE);
	ev_timer_init(&c->timer, conn_on_timer, CONN_HELLO_TIMEOUT, 0.);
	c->rio.data = c->wio.data = c->timer.data = c;
	ev_io_start(w->loop, &c->rio);
	ev_timer_start(w->loop, &c->timer);

	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	atomic_fetch_add(&w->nconns, 1);
	STAT_INC(&w->stats, conns_accepted);
	STAT_INC(&w->stats, conns_cur);
	LOG(LL_DEBUG, "spoa", "connection accepted", KVI("conn", c->id), KVS("peer", c->peer),
	    KVI("worker", w->idx));
	return c;
}

/* Closes at once and frees <c>. */
static void conn_free(struct conn *c)
{
	struct worker *w = c->w;

	ev_io_stop(w->loop, &c->rio);
	ev_io_stop(w->loop, &c->wio);
	ev_timer_stop(w->loop, &c->timer);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	atomic_fetch_sub(&w->nconns, 1);
	atomic_fetch_sub(c->listener_conns, 1);
	STAT_INC(&w->stats, conns_closed);
	STAT_ADD(&w->stats, conns_cur, (uint64_t)-1);
	LOG(LL_DEBUG, "spoa", "connection closed", KVI("conn", c->id), KVS("peer", c->peer));
	free(c->in);
	c->in = NULL;
	free(c->out);
	c->out = NULL;
	free(c);
}

/* ------------------------------------------------------------------------
 * Output
 * ------------------------------------------------------------------------ */

/* Appends <len> bytes to the connection's pending output. Returns 0 or -1. */
static int conn_out_append(struct conn *c, const uint8_t *data, size_t len)
{
	size_t live = c->out_len - c->out_off;

	if (c->out_off && live + len > c->out_cap - c->out_off) {
		memmove(c->out, c->out + c->out_off, live);
		c->out_len = live;
		c->out_off = 0;
	}
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 16384;
		uint8_t *p;

		while (cap < c->out_len + len)
			cap *= 2;
		p = realloc(c->out, cap);
		if (!p)
			return -1;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	return 0;
}

static size_t conn_out_pending(const struct conn *c)
{
	return c->out_len - c->out_off;
}

/* Writes as much pending output as the socket takes. Returns 0, or -1 when
 * the socket failed (the caller closes).
 */
static int conn_out_write(struct conn *c)
{
	while (conn_out_pending(c)) {
		ssize_t n = write(c->fd, c->out + c->out_off, conn_out_pending(c));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		STAT_INC(&c->w->stats, writes);
		STAT_ADD(&c->w->stats, bytes_out, (uint64_t)n);
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	/* Give the buffer back once it is empty: a connection holds output
	 * memory only while HAProxy is behind reading it. */
	free(c->out);
	c->out = NULL;
	c->out_cap = 0;
	return 0;
}

/* Final step once a closing connection has nothing left to send: half-close
 * and drain what HAProxy still sends, so that our last frame is not lost to
 * a reset.
 */
static void conn_linger(struct conn *c)
{
	shutdown(c->fd, SHUT_WR);
	if (!ev_is_active(&c->rio))
		ev_io_start(c->w->loop, &c->rio);
}

/* Sends the worker's output batch for <c>: straight to the socket when
 * nothing is pending, otherwise behind the pending bytes. Manages the write
 * watcher and backpressure. Returns 0, or -1 when <c> was freed.
 */
static int conn_flush(struct conn *c)
{
	struct worker *w = c->w;
	struct ev_loop *loop = w->loop;

	if (w->obuf_len) {
		size_t off = 0;

		if (!conn_out_pending(c)) {
			while (off < w->obuf_len) {
				ssize_t n = write(c->fd, w->obuf + off, w->obuf_len - off);

				if (n < 0) {
					if (errno == EINTR)
						continue;
					if (errno == EAGAIN || errno == EWOULDBLOCK)
						break;
					w->obuf_len = 0;
					conn_free(c);
					return -1;
				}
				STAT_INC(&w->stats, writes);
				STAT_ADD(&w->stats, bytes_out, (uint64_t)n);
				off += (size_t)n;
			}
		}
		if (off < w->obuf_len &&
		    conn_out_append(c, w->obuf + off, w->obuf_len - off) < 0) {
			w->obuf_len = 0;
			LOG(LL_ERROR, "spoa", "out of memory for output", KVI("conn", c->id));
			conn_free(c);
			return -1;
		}
		w->obuf_len = 0;
	}

	if (conn_out_pending(c)) {
		if (!ev_is_active(&c->wio))
			ev_io_start(loop, &c->wio);
		if (!c->read_paused && conn_out_pending(c) > CONN_OUT_HIGH &&
		    c->state != CONN_ST_CLOSING) {
			c->read_paused = 1;
			ev_io_stop(loop, &c->rio);
			STAT_INC(&w->stats, backpressure);
		}
		return 0;
	}
	if (ev_is_active(&c->wio))
		ev_io_stop(loop, &c->wio);
	if (c->state == CONN_ST_CLOSING)
		conn_linger(c);
	return 0;
}

/* Makes sure the output batch can take one more frame of the negotiated
 * size, flushing it first if needed. Returns 0, or -1 when <c> was freed.
 */
static int conn_batch_room(struct conn *c)
{
	struct worker *w = c->w;

	if (w->obuf_cap - w->obuf_len >= (size_t)c->max_frame + SPOP_LEN_SIZE)
		return 0;
	return conn_flush(c);
}

/* ------------------------------------------------------------------------
 * Protocol
 * ------------------------------------------------------------------------ */

/* Ends the connection with AGENT-DISCONNECT <status> and <message>. Frames
 * already answered in this batch still go out first.
 */
static void conn_disconnect(struct conn *c, enum spop_status status, const char *message)
{
	struct worker *w = c->w;
	long n;

	if (c->state == CONN_ST_CLOSING)
		return;
	if (status != SPOP_ERR_NONE) {
		char subject[96];

		snprintf(subject, sizeof(subject), "conn %llu from %s",
			 (unsigned long long)c->id, c->peer);
		LOG(LL_WARN, "spoa", "protocol error, disconnecting", KVI("conn", c->id),
		    KVS("peer", c->peer), KVI("status", status), KVS("reason", message));
		errlog_record(ERRLOG_FRAME, subject, message);
	}
	STAT_INC(&w->stats, disconnects[status < SPOP_ERR_SLOTS - 1 ? status : SPOP_ERR_SLOTS - 1]);
	c->state = CONN_ST_CLOSING;
	c->in_len = 0;
	if (w->obuf_cap - w->obuf_len < 512)
		w->obuf_len = 0;  /* cannot happen with a sane batch size; the frame matters more */
	n = spop_encode_agent_disconnect(w->obuf + w->obuf_len, w->obuf_cap - w->obuf_len,
					 status, message);
	if (n > 0) {
		w->obuf_len += (size_t)n;
		STAT_INC(&w->stats, frames_out);
	}
	/* Stop handling input; the read watcher comes back to drain after the
	 * final frame is out. */
	ev_io_stop(w->loop, &c->rio);
	ev_timer_stop(w->loop, &c->timer);
	ev_timer_set(&c->timer, CONN_CLOSE_TIMEOUT, 0.);
	ev_timer_start(w->loop, &c->timer);
}

static void conn_on_hello(struct conn *c, const struct spop_frame *f)
{
	struct worker *w = c->w;
	struct spop_hello h;
	enum spop_status st;
	char reason[160];
	long n;

	if (spop_hello_parse(f, &h, &st) < 0) {
		snprintf(reason, sizeof(reason), "%s", spop_status_str(st));
		conn_disconnect(c, st, reason);
		return;
	}
	if (h.max_frame_size < c->max_frame)
		c->max_frame = h.max_frame_size;
	c->pipelining = h.pipelining;
	c->healthcheck = h.healthcheck;
	if (h.engine_id) {
		size_t len = h.engine_id_len < sizeof(c->engine_id) - 1 ?
			     h.engine_id_len : sizeof(c->engine_id) - 1;

		memcpy(c->engine_id, h.engine_id, len);
		c->engine_id[len] = '\0';
	}
	n = spop_encode_agent_hello(w->obuf + w->obuf_len, w->obuf_cap - w->obuf_len,
				    c->max_frame);
	if (n < 0) {
		conn_disconnect(c, SPOP_ERR_RES, "cannot encode AGENT-HELLO");
		return;
	}
	w->obuf_len += (size_t)n;
	STAT_INC(&w->stats, frames_out);
	ev_timer_stop(w->loop, &c->timer);
	if (c->healthcheck) {
		STAT_INC(&w->stats, healthchecks);
		/* SPOE.txt 3.2.5: after a healthcheck HELLO the agent may close
		 * without a DISCONNECT frame. */
		c->state = CONN_ST_CLOSING;
		ev_io_stop(w->loop, &c->rio);
		ev_timer_set(&c->timer, CONN_CLOSE_TIMEOUT, 0.);
		ev_timer_start(w->loop, &c->timer);
		return;
	}
	STAT_INC(&w->stats, hellos);
	c->state = CONN_ST_READY;
	c->last_frame = ev_now(w->loop);
	if (conn_idle_timeout > 0) {
		ev_timer_set(&c->timer, conn_idle_timeout, 0.);
		ev_timer_start(w->loop, &c->timer);
	}
	LOG(LL_DEBUG, "spoa", "handshake done", KVI("conn", c->id), KVS("peer", c->peer),
	    KVI("max_frame", c->max_frame), KVI("pipelining", c->pipelining),
	    KVS("engine", c->engine_id));
}

/* Answers one NOTIFY with one ACK, whatever the handlers do. Returns 0, or
 * -1 when the payload cannot be decoded (the connection is then closing).
 */
static int conn_on_notify(struct conn *c, const struct spop_frame *f)
{
	struct worker *w = c->w;
	size_t room = w->obuf_cap - w->obuf_len;
	struct spop_msg_iter it;
	struct spop_writer ack;
	struct spop_msg m;
	long n;
	int r;

	if (room > (size_t)c->max_frame + SPOP_LEN_SIZE)
		room = (size_t)c->max_frame + SPOP_LEN_SIZE;
	STAT_INC(&w->stats, notify);
	c->notify++;
	spop_frame_begin(&ack, w->obuf + w->obuf_len, room, SPOP_FRM_ACK,
			 f->stream_id, f->frame_id);
	spop_msg_iter_init(&it, f);
	while ((r = spop_msg_next(&it, &m)) > 0) {
		enum handler_result hr;

		STAT_INC(&w->stats, messages);
		hr = handler_dispatch(w, &m, &ack);
		spop_msg_done(&it, &m);
		if (hr == HANDLER_UNKNOWN)
			STAT_INC(&w->stats, messages_unknown);
		else if (hr == HANDLER_ERROR)
			STAT_INC(&w->stats, handler_errors);
	}
	if (r < 0) {
		conn_disconnect(c, SPOP_ERR_INVALID, "invalid NOTIFY payload");
		return -1;
	}
	n = spop_frame_end(&ack, c->max_frame);
	if (n < 0) {
		/* The actions did not fit in one frame: acknowledge with an
		 * error variable only, which always fits in 256 bytes. */
		spop_frame_begin(&ack, w->obuf + w->obuf_len, room, SPOP_FRM_ACK,
				 f->stream_id, f->frame_id);
		spop_put_set_var_str(&ack, SPOP_SCOPE_TXN, "action", 6, "error", 5);
		spop_put_set_var_str(&ack, SPOP_SCOPE_TXN, "reason", 6,
				     "answer larger than max-frame-size", 33);
		n = spop_frame_end(&ack, c->max_frame);
		STAT_INC(&w->stats, handler_errors);
		if (n < 0) {
			conn_disconnect(c, SPOP_ERR_RES, "cannot encode ACK");
			return -1;
		}
	}
	w->obuf_len += (size_t)n;
	STAT_INC(&w->stats, ack);
	STAT_INC(&w->stats, frames_out);
	return 0;
}

static void conn_on_haproxy_disconnect(struct conn *c, const struct spop_frame *f)
{
	struct spop_disconnect d;
	enum spop_status st;

	STAT_INC(&c->w->stats, haproxy_disconnects);
	if (spop_disconnect_parse(f, &d, &st) == 0)
		LOG(LL_DEBUG, "spoa", "HAProxy disconnects", KVI("conn", c->id),
		    KVI("status", d.status), KVSN("message", d.message, d.message_len));
	/* SPOE.txt 3.2.8: the agent answers with AGENT-DISCONNECT and closes. */
	conn_disconnect(c, SPOP_ERR_NONE, "normal");
}

/* Handles one complete frame of <len> bytes (no length prefix). */
static void conn_on_frame(struct conn *c, const uint8_t *buf, size_t len)
{
	struct spop_frame f;
	enum spop_status st;

	STAT_INC(&c->w->stats, frames_in);
	if (spop_frame_parse(buf, len, &f, &st) < 0) {
		conn_disconnect(c, st, "invalid frame header");
		return;
	}
	if (c->state == CONN_ST_HELLO) {
		if (f.type != SPOP_FRM_HAPROXY_HELLO)
			conn_disconnect(c, SPOP_ERR_INVALID, "expected HAPROXY-HELLO");
		else
			conn_on_hello(c, &f);
		return;
	}
	if (!(f.flags & SPOP_FL_FIN)) {
		conn_disconnect(c, SPOP_ERR_FRAG_NOT_SUPPORTED, "fragmentation not supported");
		return;
	}
	switch (f.type) {
	case SPOP_FRM_NOTIFY:
		conn_on_notify(c, &f);
		break;
	case SPOP_FRM_HAPROXY_DISCON:
		conn_on_haproxy_disconnect(c, &f);
		break;
	case SPOP_FRM_HAPROXY_HELLO:
		conn_disconnect(c, SPOP_ERR_INVALID, "HAPROXY-HELLO after handshake");
		break;
	case SPOP_FRM_UNSET:
		conn_disconnect(c, SPOP_ERR_FRAG_NOT_SUPPORTED, "fragmentation not supported");
		break;
	default:
		/* SPOE.txt 3.2.2: unknown frames may be silently skipped. */
		STAT_INC(&c->w->stats, frames_skipped);
		break;
	}
}

static unsigned lat_bucket(uint64_t ns)
{
	unsigned b = 0;

	ns >>= 6;
	while (ns && b < 23) {
		ns >>= 1;
		b++;
	}
	return b;
}

/* Handles every complete frame in <buf>. Returns the bytes consumed, or -1
 * when <c> was freed.
 */
static long conn_process(struct conn *c, const uint8_t *buf, size_t len)
{
	struct worker *w = c->w;
	uint64_t notify_before = c->notify;
	int64_t t0 = clock_mono_ns();
	size_t off = 0;

	w->table = snapshot_current();
	while (c->state != CONN_ST_CLOSING && len - off >= SPOP_LEN_SIZE) {
		uint32_t flen;

		memcpy(&flen, buf + off, 4);
		flen = ntohl(flen);
		if (flen > c->max_frame) {
			conn_disconnect(c, SPOP_ERR_TOO_BIG, "frame is too big");
			break;
		}
		if (len - off - SPOP_LEN_SIZE < flen)
			break;
		if (conn_batch_room(c) < 0)
			return -1;
		conn_on_frame(c, buf + off + SPOP_LEN_SIZE, flen);
		off += SPOP_LEN_SIZE + flen;
	}
	/* Only whole frames count as activity: a peer that trickles the
	 * bytes of a frame it never completes is as idle as a silent one. */
	if (off)
		c->last_frame = ev_now(w->loop);
	if (c->notify > notify_before) {
		uint64_t n = c->notify - notify_before;
		uint64_t spent = (uint64_t)(clock_mono_ns() - t0);

		STAT_ADD(&w->stats, lat_hist[lat_bucket(spent / n)], n);
		STAT_ADD(&w->stats, lat_sum_ns, spent);
	}
	w->table = NULL;
	return (long)off;
}

/* ------------------------------------------------------------------------
 * Event callbacks
 * ------------------------------------------------------------------------ */

/* Reads and discards input of a closing connection until EOF. */
static void conn_drain(struct conn *c)
{
	struct worker *w = c->w;

	for (;;) {
		ssize_t n = read(c->fd, w->rbuf, w->rbuf_cap);

		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		conn_free(c);
		return;
	}
}

/* Reads once, handles the complete frames and flushes the answers.
 * Returns 0, or -1 when <c> was freed.
 */
static int conn_read_batch(struct conn *c)
{
	struct worker *w = c->w;
	size_t off = c->in_len;
	ssize_t n;
	long used;

	do {
		n = read(c->fd, w->rbuf + off, w->rbuf_cap - off);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n <= 0) {
		if (c->state == CONN_ST_READY && n == 0)
			LOG(LL_DEBUG, "spoa", "HAProxy closed the connection", KVI("conn", c->id));
		conn_free(c);
		return -1;
	}
	STAT_INC(&w->stats, reads);
	STAT_ADD(&w->stats, bytes_in, (uint64_t)n);
	if (off)
		memcpy(w->rbuf, c->in, off);
	c->in_len = 0;

	used = conn_process(c, w->rbuf, off + (size_t)n);
	if (used < 0)
		return -1;
	if (c->state != CONN_ST_CLOSING && (size_t)used < off + (size_t)n) {
		size_t left = off + (size_t)n - (size_t)used;

		if (left > c->in_cap) {
			uint8_t *p = realloc(c->in, (size_t)conn_max_frame + SPOP_LEN_SIZE);

			if (!p) {
				conn_disconnect(c, SPOP_ERR_RES, "out of memory");
				return conn_flush(c);
			}
			c->in = p;
			c->in_cap = (size_t)conn_max_frame + SPOP_LEN_SIZE;
		}
		memcpy(c->in, w->rbuf + used, left);
		c->in_len = left;
	} else if (c->in && c->state == CONN_ST_READY) {
		/* No partial frame: give the carry buffer back. */
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
	return conn_flush(c);
}

static void conn_on_read(struct ev_loop *loop, ev_io *io, int revents)
{
	struct conn *c = io->data;

	(void)loop;
	(void)revents;
	if (c->state == CONN_ST_CLOSING) {
		conn_drain(c);
		return;
	}
	conn_read_batch(c);
}

static void conn_on_write(struct ev_loop *loop, ev_io *io, int revents)
{
	struct conn *c = io->data;

	(void)revents;
	if (conn_out_write(c) < 0) {
		conn_free(c);
		return;
	}
	if (c->read_paused && c->state != CONN_ST_CLOSING &&
	    conn_out_pending(c) <= CONN_OUT_LOW) {
		c->read_paused = 0;
		ev_io_start(loop, &c->rio);
	}
	if (conn_out_pending(c))
		return;
	ev_io_stop(loop, &c->wio);
	if (c->state == CONN_ST_CLOSING)
		conn_linger(c);
}

static void conn_on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct conn *c = t->data;

	(void)revents;
	if (c->state == CONN_ST_HELLO) {
		conn_disconnect(c, SPOP_ERR_TOUT, "no HAPROXY-HELLO in time");
		conn_flush(c);
		return;
	}
	if (c->state == CONN_ST_READY) {
		/* The deadline moves with every frame without touching the
		 * timer on the request path: when it fires early, it is set
		 * again for what is left. */
		ev_tstamp left = c->last_frame + conn_idle_timeout - ev_now(loop);

		if (left > 0.001) {
			ev_timer_set(&c->timer, left, 0.);
			ev_timer_start(loop, &c->timer);
			return;
		}
		STAT_INC(&c->w->stats, idle_timeouts);
		conn_disconnect(c, SPOP_ERR_TOUT, "idle timeout");
		conn_flush(c);
		return;
	}
	/* A closing connection that could not flush or drain in time. */
	conn_free(c);
}

void conn_stop(struct conn *c)
{
	if (c->state == CONN_ST_CLOSING)
		return;
	if (c->state == CONN_ST_HELLO) {
		conn_free(c);
		return;
	}
	/* Answer what already arrived before saying goodbye. */
	if (!c->read_paused && conn_read_batch(c) < 0)
		return;
	if (c->state == CONN_ST_CLOSING)
		return;
	conn_disconnect(c, SPOP_ERR_NONE, "agent is stopping");
	conn_flush(c);
}
