/* The SPOP connection state machine (spoa/conn.c), driven with frames over
 * a socketpair on a worker of the test's own: HELLO negotiation and its
 * errors, NOTIFY before HELLO, frames over the negotiated size, fragments,
 * HAPROXY-DISCONNECT, the idle timeout, healthchecks, pipelined NOTIFYs and
 * their ACKs, backpressure, and a peer that goes away while answers are
 * still queued. Every refusal is checked for its exact status code on the
 * wire (HAProxy's doc/SPOE.txt 3.5), the state the connection is left in,
 * and that it is freed once the peer closes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "common/clock.h"
#include "routing/rtable.h"
#include "spoa/conn.h"
#include "spoa/spop.h"

#define AGENT_MAX_FRAME SPOP_MAX_FRAME_SIZE
#define WAIT_MS 3000              /* bound on every wait for the agent */

/* ------------------------------------------------------------------------
 * Fixture: one worker, one connection, the test holding HAProxy's end
 * ------------------------------------------------------------------------ */

struct fx {
	struct worker w;
	_Atomic unsigned lconns;   /* the listener's count */
	struct conn *c;
	int peer;                  /* HAProxy's end, non-blocking */
	uint8_t in[1 << 16];       /* bytes read from the agent, not yet taken */
	size_t in_len;
};

static int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	int sv[2];

	assert_non_null(fx);
	signal(SIGPIPE, SIG_IGN);
	conn_max_frame = AGENT_MAX_FRAME;
	conn_idle_timeout = CONN_IDLE_TIMEOUT;
	fx->w.loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	fx->w.rbuf_cap = 64 * 1024 + AGENT_MAX_FRAME + SPOP_LEN_SIZE;
	fx->w.rbuf = malloc(fx->w.rbuf_cap);
	fx->w.obuf_cap = 64 * 1024 + AGENT_MAX_FRAME + SPOP_LEN_SIZE;
	fx->w.obuf = malloc(fx->w.obuf_cap);
	fx->w.scratch = malloc(RTABLE_SCRATCH_SIZE);
	assert_non_null(fx->w.loop);
	assert_non_null(fx->w.rbuf);
	assert_non_null(fx->w.obuf);
	assert_non_null(fx->w.scratch);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	fx->peer = sv[1];
	fx->lconns = 1;            /* counted by the acceptor before the handoff */
	fx->c = conn_new(&fx->w, sv[0], conn_max_frame, &fx->lconns);
	assert_non_null(fx->c);
	assert_int_equal(fx->c->state, CONN_ST_HELLO);
	*state = fx;
	return 0;
}

/* Closes HAProxy's end, lets the agent see it, and checks that the
 * connection was freed and uncounted.
 */
static void fx_close_peer(struct fx *fx)
{
	int64_t deadline = clock_mono_ms() + WAIT_MS;

	close(fx->peer);
	fx->peer = -1;
	while (fx->w.conns && clock_mono_ms() < deadline)
		ev_run(fx->w.loop, EVRUN_ONCE);
	assert_null(fx->w.conns);
	assert_int_equal(fx->lconns, 0);
	assert_int_equal(fx->w.nconns, 0);
	assert_int_equal(fx->w.stats.conns_closed, 1);
	fx->c = NULL;
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;

	if (fx->peer >= 0)
		fx_close_peer(fx);
	ev_loop_destroy(fx->w.loop);
	free(fx->w.rbuf);
	free(fx->w.obuf);
	free(fx->w.scratch);
	free(fx);
	return 0;
}

/* Runs the agent's loop once without blocking. */
static void fx_pump(struct fx *fx)
{
	ev_run(fx->w.loop, EVRUN_NOWAIT);
}

/* Writes <len> bytes to the agent, running its loop while the socket is
 * full.
 */
static void fx_send(struct fx *fx, const uint8_t *buf, size_t len)
{
	int64_t deadline = clock_mono_ms() + WAIT_MS;
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(fx->peer, buf + off, len - off);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		assert_true(n < 0 && (errno == EAGAIN || errno == EINTR));
		assert_true(clock_mono_ms() < deadline);
		fx_pump(fx);
	}
	fx_pump(fx);
}

/* Reads what the agent sent into fx->in. Returns 1 when bytes came, 0 when
 * none were there, -1 at EOF.
 */
static int fx_read(struct fx *fx)
{
	ssize_t n = read(fx->peer, fx->in + fx->in_len, sizeof(fx->in) - fx->in_len);

	if (n > 0) {
		fx->in_len += (size_t)n;
		return 1;
	}
	if (n == 0)
		return -1;
	assert_true(errno == EAGAIN || errno == EINTR);
	return 0;
}

/* Waits for the agent's next frame, copies it (without its length) to
 * <buf> and returns its length; returns -1 at EOF with no frame pending.
 */
static long fx_recv(struct fx *fx, uint8_t *buf, size_t cap)
{
	int64_t deadline = clock_mono_ms() + WAIT_MS;

	for (;;) {
		if (fx->in_len >= SPOP_LEN_SIZE) {
			uint32_t flen;

			memcpy(&flen, fx->in, 4);
			flen = ntohl(flen);
			assert_true(flen <= cap && flen <= sizeof(fx->in) - SPOP_LEN_SIZE);
			if (fx->in_len >= SPOP_LEN_SIZE + flen) {
				memcpy(buf, fx->in + SPOP_LEN_SIZE, flen);
				fx->in_len -= SPOP_LEN_SIZE + flen;
				memmove(fx->in, fx->in + SPOP_LEN_SIZE + flen, fx->in_len);
				return (long)flen;
			}
		}
		if (fx_read(fx) < 0) {
			assert_int_equal(fx->in_len, 0);
			return -1;
		}
		assert_true(clock_mono_ms() < deadline);
		fx_pump(fx);
		if (fx->in_len < SPOP_LEN_SIZE) {
			struct pollfd p = { .fd = fx->peer, .events = POLLIN };

			/* The agent's timers need its loop to run: wait a little
			 * for our side, then run the loop again. */
			poll(&p, 1, 5);
		}
	}
}

/* Checks that the agent closed its side (after any frame taken already). */
static void fx_expect_eof(struct fx *fx)
{
	uint8_t buf[AGENT_MAX_FRAME];

	assert_int_equal(fx_recv(fx, buf, sizeof(buf)), -1);
}

/* ------------------------------------------------------------------------
 * Frames from HAProxy
 * ------------------------------------------------------------------------ */

struct hello_opts {
	const char *versions;       /* NULL: "2.0" */
	const char *caps;           /* NULL: "pipelining" */
	uint32_t mfs;               /* 0: 16380 */
	int no_vsn, no_mfs, no_cap;
	int caps_as_int;            /* "capabilities" with the wrong type */
	int healthcheck;
	int no_fin;
};

static void put_raw(struct spop_writer *wr, const void *p, size_t n)
{
	assert_true((size_t)(wr->end - wr->p) >= n);
	memcpy(wr->p, p, n);
	wr->p += n;
}

static size_t hello_frame(uint8_t *buf, size_t cap, const struct hello_opts *o)
{
	struct spop_writer wr;
	long n;

	spop_frame_begin(&wr, buf, cap, SPOP_FRM_HAPROXY_HELLO, 0, 0);
	if (!o->no_vsn) {
		const char *v = o->versions ? o->versions : "2.0";

		spop_put_kv_str(&wr, "supported-versions", v, strlen(v));
	}
	if (!o->no_mfs)
		spop_put_kv_uint32(&wr, "max-frame-size", o->mfs ? o->mfs : 16380);
	if (o->caps_as_int) {
		spop_put_kv_uint32(&wr, "capabilities", 1);
	} else if (!o->no_cap) {
		const char *c = o->caps ? o->caps : "pipelining";

		spop_put_kv_str(&wr, "capabilities", c, strlen(c));
	}
	if (o->healthcheck) {
		uint8_t t = SPOP_DATA_BOOL | SPOP_DATA_FL_TRUE;

		spop_put_string(&wr, "healthcheck", 11);
		put_raw(&wr, &t, 1);
	}
	spop_put_kv_str(&wr, "engine-id", "test-engine", 11);
	n = spop_frame_end(&wr, (uint32_t)cap);
	assert_true(n > 0);
	if (o->no_fin)
		memset(buf + SPOP_LEN_SIZE + 1, 0, 4);
	return (size_t)n;
}

/* A frame of <type> (NOTIFY, or any other to test the agent with) holding
 * one message without arguments, named <name> or, when <name> is NULL,
 * <name_len> bytes of 'x'. <flags> replaces the frame's flags.
 */
static size_t notify_frame(uint8_t *buf, size_t cap, uint64_t sid, uint64_t fid,
			   const char *name, size_t name_len, uint32_t flags,
			   uint8_t type)
{
	struct spop_writer wr;
	uint8_t nargs = 0;
	uint32_t be = htonl(flags);
	long n;

	spop_frame_begin(&wr, buf, cap, type, sid, fid);
	if (name) {
		spop_put_string(&wr, name, name_len);
	} else {
		char *x = malloc(name_len);

		assert_non_null(x);
		memset(x, 'x', name_len);
		spop_put_string(&wr, x, name_len);
		free(x);
	}
	put_raw(&wr, &nargs, 1);
	n = spop_frame_end(&wr, (uint32_t)cap);
	assert_true(n > 0);
	memcpy(buf + SPOP_LEN_SIZE + 1, &be, 4);
	return (size_t)n;
}

static size_t haproxy_disconnect_frame(uint8_t *buf, size_t cap)
{
	struct spop_writer wr;
	long n;

	spop_frame_begin(&wr, buf, cap, SPOP_FRM_HAPROXY_DISCON, 0, 0);
	spop_put_kv_uint32(&wr, "status-code", 0);
	spop_put_kv_str(&wr, "message", "normal", 6);
	n = spop_frame_end(&wr, (uint32_t)cap);
	assert_true(n > 0);
	return (size_t)n;
}

/* ------------------------------------------------------------------------
 * Frames from the agent
 * ------------------------------------------------------------------------ */

/* Finds <key> among the KV items of <f>'s payload. Returns 1 and fills <*v>,
 * or 0.
 */
static int frame_kv(const struct spop_frame *f, const char *key, struct spop_data *v)
{
	const uint8_t *p = f->payload, *end = f->payload + f->len;

	while (p < end) {
		const char *k;
		size_t klen;

		assert_int_equal(spop_string_decode(&p, end, &k, &klen), 0);
		assert_int_equal(spop_data_decode(&p, end, v), 0);
		if (klen == strlen(key) && memcmp(k, key, klen) == 0)
			return 1;
	}
	return 0;
}

/* Waits for the next frame, checks its type and parses it into <*f>
 * (pointing into <buf>).
 */
static void expect_frame(struct fx *fx, uint8_t *buf, size_t cap, uint8_t type,
			 struct spop_frame *f)
{
	enum spop_status st;
	long n = fx_recv(fx, buf, cap);

	assert_true(n > 0);
	assert_int_equal(spop_frame_parse(buf, (size_t)n, f, &st), 0);
	assert_int_equal(f->type, type);
	assert_true(f->flags & SPOP_FL_FIN);
}

/* Waits for AGENT-HELLO and returns the max-frame-size it announced. */
static uint32_t expect_agent_hello(struct fx *fx)
{
	uint8_t buf[AGENT_MAX_FRAME];
	struct spop_frame f;
	struct spop_data v;

	expect_frame(fx, buf, sizeof(buf), SPOP_FRM_AGENT_HELLO, &f);
	assert_true(frame_kv(&f, "version", &v));
	assert_int_equal(v.type, SPOP_DATA_STR);
	assert_int_equal(v.u.str.len, 3);
	assert_memory_equal(v.u.str.ptr, "2.0", 3);
	assert_true(frame_kv(&f, "max-frame-size", &v));
	assert_int_equal(v.type, SPOP_DATA_UINT32);
	return (uint32_t)v.u.uint;
}

/* Waits for AGENT-DISCONNECT and checks its status code, then that the
 * agent closed its side, the connection's state and the counter of that
 * status.
 */
static void expect_disconnect(struct fx *fx, enum spop_status status)
{
	uint8_t buf[AGENT_MAX_FRAME];
	struct spop_frame f;
	struct spop_data v;

	expect_frame(fx, buf, sizeof(buf), SPOP_FRM_AGENT_DISCON, &f);
	assert_true(frame_kv(&f, "status-code", &v));
	assert_int_equal(v.type, SPOP_DATA_UINT32);
	assert_int_equal(v.u.uint, status);
	assert_true(frame_kv(&f, "message", &v));
	assert_int_equal(v.type, SPOP_DATA_STR);
	fx_expect_eof(fx);
	assert_non_null(fx->w.conns);
	assert_int_equal(fx->c->state, CONN_ST_CLOSING);
	assert_int_equal(fx->w.stats.disconnects[status], 1);
}

static void do_hello(struct fx *fx, uint32_t mfs, uint32_t want_mfs)
{
	struct hello_opts o = { .mfs = mfs };
	uint8_t buf[512];

	fx_send(fx, buf, hello_frame(buf, sizeof(buf), &o));
	assert_int_equal(expect_agent_hello(fx), want_mfs);
	assert_int_equal(fx->c->state, CONN_ST_READY);
	assert_int_equal(fx->c->max_frame, want_mfs);
	assert_true(fx->c->pipelining);
	assert_string_equal(fx->c->engine_id, "test-engine");
	assert_int_equal(fx->w.stats.hellos, 1);
}

/* ------------------------------------------------------------------------
 * HELLO
 * ------------------------------------------------------------------------ */

/* Each broken HAPROXY-HELLO gets AGENT-DISCONNECT with the status SPOE.txt
 * names for it, and the connection never becomes READY.
 */
static void test_hello_refused(void **state)
{
	const struct { struct hello_opts o; enum spop_status want; } cases[] = {
		{ { .no_cap = 1 }, SPOP_ERR_NO_CAP },
		{ { .caps_as_int = 1 }, SPOP_ERR_INVALID },
		{ { .no_vsn = 1 }, SPOP_ERR_NO_VSN },
		{ { .versions = "1.0" }, SPOP_ERR_BAD_VSN },
		{ { .no_mfs = 1 }, SPOP_ERR_NO_FRAME_SIZE },
		{ { .mfs = SPOP_MIN_FRAME_SIZE - 1 }, SPOP_ERR_BAD_FRAME_SIZE },
		{ { .no_fin = 1 }, SPOP_ERR_FRAG_NOT_SUPPORTED },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx *fx;
		uint8_t buf[512];

		fx_setup((void **)&fx);
		fx_send(fx, buf, hello_frame(buf, sizeof(buf), &cases[i].o));
		expect_disconnect(fx, cases[i].want);
		assert_int_equal(fx->w.stats.hellos, 0);
		fx_teardown((void **)&fx);
	}
	(void)state;
}

/* Capabilities the agent does not know are not an error: the connection
 * works, without pipelining.
 */
static void test_hello_unknown_capabilities(void **state)
{
	struct fx *fx = *state;
	struct hello_opts o = { .caps = "async,fragmentation" };
	uint8_t buf[512];

	fx_send(fx, buf, hello_frame(buf, sizeof(buf), &o));
	assert_int_equal(expect_agent_hello(fx), AGENT_MAX_FRAME);
	assert_int_equal(fx->c->state, CONN_ST_READY);
	assert_false(fx->c->pipelining);
}

/* The smaller of the two max-frame-sizes wins, and is what AGENT-HELLO
 * announces.
 */
static void test_hello_frame_size_smaller(void **state)
{
	do_hello(*state, 1024, 1024);
}

static void test_hello_frame_size_larger(void **state)
{
	do_hello(*state, 65536, AGENT_MAX_FRAME);
}

/* A healthcheck HELLO is answered, then the agent closes without
 * AGENT-DISCONNECT (SPOE.txt 3.2.5).
 */
static void test_hello_healthcheck(void **state)
{
	struct fx *fx = *state;
	struct hello_opts o = { .healthcheck = 1 };
	uint8_t buf[512];

	fx_send(fx, buf, hello_frame(buf, sizeof(buf), &o));
	assert_int_equal(expect_agent_hello(fx), AGENT_MAX_FRAME);
	fx_expect_eof(fx);
	assert_int_equal(fx->c->state, CONN_ST_CLOSING);
	assert_int_equal(fx->w.stats.healthchecks, 1);
	assert_int_equal(fx->w.stats.hellos, 0);
}

static void test_notify_before_hello(void **state)
{
	struct fx *fx = *state;
	uint8_t buf[256];

	fx_send(fx, buf, notify_frame(buf, sizeof(buf), 1, 1, "route", 5, SPOP_FL_FIN,
				      SPOP_FRM_NOTIFY));
	expect_disconnect(fx, SPOP_ERR_INVALID);
	assert_int_equal(fx->w.stats.notify, 0);
}

/* Before HELLO the limit is the agent's own max-frame-size. */
static void test_too_big_before_hello(void **state)
{
	struct fx *fx = *state;
	uint32_t len = htonl(AGENT_MAX_FRAME + 1);

	fx_send(fx, (const uint8_t *)&len, 4);
	expect_disconnect(fx, SPOP_ERR_TOO_BIG);
}

/* ------------------------------------------------------------------------
 * After HELLO
 * ------------------------------------------------------------------------ */

/* A frame of exactly the negotiated size is answered; one byte more is
 * refused with "frame is too big" before its payload even arrives.
 */
static void test_frame_size_limit(void **state)
{
	struct fx *fx = *state;
	uint8_t buf[2048], ack[256];
	struct spop_frame f;
	uint32_t len;
	size_t n, head;

	do_hello(fx, 1024, 1024);
	/* NOTIFY header: type, flags, sid 1, fid 1 (7 bytes), the name's
	 * length varint (2 bytes here), the name, nargs (1 byte). */
	head = 7 + 2 + 1;
	n = notify_frame(buf, sizeof(buf), 1, 1, NULL, 1024 - head, SPOP_FL_FIN, SPOP_FRM_NOTIFY);
	assert_int_equal(n, SPOP_LEN_SIZE + 1024);
	fx_send(fx, buf, n);
	expect_frame(fx, ack, sizeof(ack), SPOP_FRM_ACK, &f);
	assert_int_equal(f.stream_id, 1);
	assert_int_equal(f.frame_id, 1);
	assert_int_equal(fx->w.stats.messages_unknown, 1);

	len = htonl(1025);
	fx_send(fx, (const uint8_t *)&len, 4);
	expect_disconnect(fx, SPOP_ERR_TOO_BIG);
}

/* SPOP fragmentation is not supported: a NOTIFY without FIN, or a frame of
 * type 0 (a continuation), ends the connection with status 10.
 */
static void test_fragment_refused(void **state)
{
	struct fx *fx = *state;
	uint8_t buf[256];

	do_hello(fx, 16380, AGENT_MAX_FRAME);
	fx_send(fx, buf, notify_frame(buf, sizeof(buf), 1, 1, "route", 5, 0, SPOP_FRM_NOTIFY));
	expect_disconnect(fx, SPOP_ERR_FRAG_NOT_SUPPORTED);
	assert_int_equal(fx->w.stats.notify, 0);
}

static void test_continuation_refused(void **state)
{
	struct fx *fx = *state;
	uint8_t buf[256];

	do_hello(fx, 16380, AGENT_MAX_FRAME);
	fx_send(fx, buf, notify_frame(buf, sizeof(buf), 1, 1, "route", 5, SPOP_FL_FIN,
				      SPOP_FRM_UNSET));
	expect_disconnect(fx, SPOP_ERR_FRAG_NOT_SUPPORTED);
}

static void test_second_hello_refused(void **state)
{
	struct fx *fx = *state;
	struct hello_opts o = { 0 };
	uint8_t buf[512];

	do_hello(fx, 16380, AGENT_MAX_FRAME);
	fx_send(fx, buf, hello_frame(buf, sizeof(buf), &o));
	expect_disconnect(fx, SPOP_ERR_INVALID);
}

/* HAPROXY-DISCONNECT is answered with AGENT-DISCONNECT status 0, then the
 * agent closes its side and frees the connection when HAProxy closes.
 */
static void test_haproxy_disconnect(void **state)
{
	struct fx *fx = *state;
	uint8_t buf[256];

	do_hello(fx, 16380, AGENT_MAX_FRAME);
	fx_send(fx, buf, haproxy_disconnect_frame(buf, sizeof(buf)));
	expect_disconnect(fx, SPOP_ERR_NONE);
	assert_int_equal(fx->w.stats.haproxy_disconnects, 1);
	fx_close_peer(fx);
}

/* A frame type the agent does not know is skipped, not fatal. */
static void test_unknown_frame_skipped(void **state)
{
	struct fx *fx = *state;
	uint8_t buf[256], ack[256];
	struct spop_frame f;
	size_t n;

	do_hello(fx, 16380, AGENT_MAX_FRAME);
	n = notify_frame(buf, sizeof(buf), 1, 1, "x", 1, SPOP_FL_FIN, 42);
	n += notify_frame(buf + n, sizeof(buf) - n, 2, 5, "x", 1, SPOP_FL_FIN, SPOP_FRM_NOTIFY);
	fx_send(fx, buf, n);
	expect_frame(fx, ack, sizeof(ack), SPOP_FRM_ACK, &f);
	assert_int_equal(f.stream_id, 2);
	assert_int_equal(f.frame_id, 5);
	assert_int_equal(fx->w.stats.frames_skipped, 1);
	assert_int_equal(fx->c->state, CONN_ST_READY);
}

/* No complete frame for --idle-timeout after HELLO: AGENT-DISCONNECT
 * status 2 (timeout).
 */
static void test_idle_timeout(void **state)
{
	struct fx *fx = *state;
	int64_t t0;

	conn_idle_timeout = 0.2;
	/* Timed from before the HELLO: a lower bound that a loaded machine
	 * cannot break. */
	t0 = clock_mono_ms();
	do_hello(fx, 16380, AGENT_MAX_FRAME);
	expect_disconnect(fx, SPOP_ERR_TOUT);
	assert_true(clock_mono_ms() - t0 >= 190);
	assert_int_equal(fx->w.stats.idle_timeouts, 1);
}

/* Every complete frame moves the idle deadline: a NOTIFY 0.3 s into a 2 s
 * idle timeout puts the disconnect at least 2 s after that NOTIFY (the
 * margin is for a loaded machine, which must not make the NOTIFY late).
 */
static void test_idle_timeout_moves(void **state)
{
	struct fx *fx = *state;
	uint8_t buf[256], ack[256];
	struct spop_frame f;
	int64_t t0, t1;

	conn_idle_timeout = 2.0;
	do_hello(fx, 16380, AGENT_MAX_FRAME);
	t0 = clock_mono_ms();
	/* Let time pass with the agent's loop running: nothing may come. */
	while (clock_mono_ms() - t0 < 300) {
		struct pollfd p = { .fd = fx->peer, .events = POLLIN };

		fx_pump(fx);
		assert_int_equal(poll(&p, 1, 10), 0);
	}
	t1 = clock_mono_ms();
	fx_send(fx, buf, notify_frame(buf, sizeof(buf), 3, 3, "route", 5, SPOP_FL_FIN,
				      SPOP_FRM_NOTIFY));
	expect_frame(fx, ack, sizeof(ack), SPOP_FRM_ACK, &f);
	expect_disconnect(fx, SPOP_ERR_TOUT);
	assert_true(clock_mono_ms() - t1 >= 1950);
}

/* A NOTIFY whose message announces arguments it does not carry: status 4,
 * and no ACK for it.
 */
static void test_notify_bad_payload(void **state)
{
	struct fx *fx = *state;
	uint8_t buf[256], nargs = 2;
	struct spop_writer wr;
	long n;

	do_hello(fx, 16380, AGENT_MAX_FRAME);
	spop_frame_begin(&wr, buf, sizeof(buf), SPOP_FRM_NOTIFY, 1, 1);
	spop_put_string(&wr, "route", 5);
	put_raw(&wr, &nargs, 1);
	n = spop_frame_end(&wr, sizeof(buf));
	assert_true(n > 0);
	fx_send(fx, buf, (size_t)n);
	expect_disconnect(fx, SPOP_ERR_INVALID);
	assert_int_equal(fx->w.stats.ack, 0);
}

/* ------------------------------------------------------------------------
 * NOTIFY and ACK: pipelining, backpressure, a peer that goes away
 * ------------------------------------------------------------------------ */

/* Several NOTIFYs in one write: one ACK each, with their stream and frame
 * ids, in the order they came.
 */
static void test_pipelined_notify(void **state)
{
	static const uint64_t ids[][2] = { { 1, 1 }, { 7, 3 }, { 2, 900 }, { 300, 2 } };
	struct fx *fx = *state;
	uint8_t buf[1024], ack[256];
	size_t n = 0;

	do_hello(fx, 16380, AGENT_MAX_FRAME);
	for (size_t i = 0; i < 4; i++)
		n += notify_frame(buf + n, sizeof(buf) - n, ids[i][0], ids[i][1], "route", 5,
				  SPOP_FL_FIN, SPOP_FRM_NOTIFY);
	fx_send(fx, buf, n);
	for (size_t i = 0; i < 4; i++) {
		struct spop_frame f;

		expect_frame(fx, ack, sizeof(ack), SPOP_FRM_ACK, &f);
		assert_int_equal(f.stream_id, ids[i][0]);
		assert_int_equal(f.frame_id, ids[i][1]);
		assert_true(f.len > 0);   /* "no routing table yet" as an error action */
	}
	assert_int_equal(fx->w.stats.notify, 4);
	assert_int_equal(fx->w.stats.ack, 4);
	assert_int_equal(fx->c->notify, 4);
}

/* Sends NOTIFYs without reading the ACKs until the agent stops reading.
 * Returns how many were sent.
 */
static size_t flood_until_paused(struct fx *fx)
{
	uint8_t buf[64 * 64];
	size_t one, sent = 0;

	one = notify_frame(buf, 64, 1, 1, "route", 5, SPOP_FL_FIN, SPOP_FRM_NOTIFY);
	for (size_t i = 1; i < 64; i++)
		notify_frame(buf + i * one, 64, 1, i + 1, "route", 5, SPOP_FL_FIN, SPOP_FRM_NOTIFY);
	/* Bounded: the ACKs of 200000 NOTIFYs are well over CONN_OUT_HIGH. */
	while (!fx->c->read_paused && sent < 200000) {
		ssize_t n = write(fx->peer, buf, 64 * one);

		if (n < 0) {
			assert_true(errno == EAGAIN);
			n = 0;
		}
		/* Whole frames only: top up a partial write. */
		if (n % (ssize_t)one)
			fx_send(fx, buf + n, one - (size_t)(n % (ssize_t)one));
		sent += ((size_t)n + one - 1) / one;
		fx_pump(fx);
	}
	return sent;
}

/* HAProxy that reads slowly: once the output queued on the connection is
 * over CONN_OUT_HIGH the agent stops reading; every NOTIFY still gets its
 * ACK, and reading resumes as the output drains.
 */
static void test_backpressure(void **state)
{
	struct fx *fx = *state;
	uint8_t ack[256];
	size_t sent, got = 0;
	int64_t deadline;

	do_hello(fx, 16380, AGENT_MAX_FRAME);
	sent = flood_until_paused(fx);
	assert_true(fx->c->read_paused);
	assert_int_equal(fx->w.stats.backpressure, 1);
	assert_true(fx->c->out_len - fx->c->out_off > CONN_OUT_HIGH);

	deadline = clock_mono_ms() + 10 * WAIT_MS;
	while (got < sent) {
		struct spop_frame f;

		expect_frame(fx, ack, sizeof(ack), SPOP_FRM_ACK, &f);
		got++;
		assert_true(clock_mono_ms() < deadline);
	}
	assert_false(fx->c->read_paused);
	assert_int_equal(fx->w.stats.ack, sent);
	assert_null(fx->c->out);   /* the output buffer is given back once empty */
}

/* HAProxy closes while ACKs are still queued on the connection: the
 * connection is freed with its buffers, and the counts go down.
 */
static void test_peer_gone_with_output_queued(void **state)
{
	struct fx *fx = *state;

	do_hello(fx, 16380, AGENT_MAX_FRAME);
	flood_until_paused(fx);
	assert_non_null(fx->c->out);
	fx_close_peer(fx);
}

/* conn_stop() (the agent stopping) answers what already arrived, then
 * says AGENT-DISCONNECT status 0.
 */
static void test_stop_answers_first(void **state)
{
	struct fx *fx = *state;
	uint8_t buf[256], ack[256];
	struct spop_frame f;

	do_hello(fx, 16380, AGENT_MAX_FRAME);
	assert_int_equal(write(fx->peer, buf,
			       notify_frame(buf, sizeof(buf), 9, 4, "route", 5, SPOP_FL_FIN,
					    SPOP_FRM_NOTIFY)) > 0, 1);
	conn_stop(fx->c);
	expect_frame(fx, ack, sizeof(ack), SPOP_FRM_ACK, &f);
	assert_int_equal(f.stream_id, 9);
	assert_int_equal(f.frame_id, 4);
	expect_disconnect(fx, SPOP_ERR_NONE);
}

/* Before HELLO, conn_stop() just closes. */
static void test_stop_before_hello(void **state)
{
	struct fx *fx = *state;

	conn_stop(fx->c);
	assert_null(fx->w.conns);
	assert_int_equal(fx->lconns, 0);
	fx_expect_eof(fx);
	close(fx->peer);
	fx->peer = -1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_refused),
		T(test_hello_unknown_capabilities),
		T(test_hello_frame_size_smaller),
		T(test_hello_frame_size_larger),
		T(test_hello_healthcheck),
		T(test_notify_before_hello),
		T(test_too_big_before_hello),
		T(test_frame_size_limit),
		T(test_fragment_refused),
		T(test_continuation_refused),
		T(test_second_hello_refused),
		T(test_haproxy_disconnect),
		T(test_unknown_frame_skipped),
		T(test_idle_timeout),
		T(test_idle_timeout_moves),
		T(test_notify_bad_payload),
		T(test_pipelined_notify),
		T(test_backpressure),
		T(test_peer_gone_with_output_queued),
		T(test_stop_answers_first),
		T(test_stop_before_hello),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
