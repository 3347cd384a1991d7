/* The acceptor and the worker threads (spoa/listener.c, spoa/worker.c)
 * with real sockets on 127.0.0.1: connections handed to the least loaded
 * worker through its inbox, "show conns" asked of the workers from another
 * thread, the per-listener connection cap (AGENT-DISCONNECT status 13, and
 * room again once a connection closes), and the graceful stop, which
 * answers a NOTIFY already received before AGENT-DISCONNECT status 0.
 * Runs under ThreadSanitizer in tests/run.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <cmocka.h>

#include "common/clock.h"
#include "spoa/listener.h"
#include "spoa/spop.h"
#include "spoa/worker.h"

#define NWORKERS 2
#define MAX_CONNS 3
#define WAIT_MS 3000              /* bound on every wait for the agent */

static int port;

/* ------------------------------------------------------------------------
 * HAProxy's side, blocking sockets with a receive timeout
 * ------------------------------------------------------------------------ */

static int client_connect(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = WAIT_MS / 1000 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	return fd;
}

static void send_all(int fd, const uint8_t *buf, size_t len)
{
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
}

/* Reads exactly <len> bytes. Returns 0, or -1 at EOF before the first one. */
static int recv_exact(int fd, uint8_t *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = read(fd, buf + off, len - off);

		if (n == 0 && off == 0)
			return -1;
		assert_true(n > 0);   /* neither a timeout nor EOF within a frame */
		off += (size_t)n;
	}
	return 0;
}

/* Reads one frame into <f> (payload in <buf>). Returns 0, or -1 at EOF. */
static int recv_frame(int fd, uint8_t *buf, size_t cap, struct spop_frame *f)
{
	enum spop_status st;
	uint32_t len;

	if (recv_exact(fd, (uint8_t *)&len, 4) < 0)
		return -1;
	len = ntohl(len);
	assert_true(len <= cap);
	assert_int_equal(recv_exact(fd, buf, len), 0);
	assert_int_equal(spop_frame_parse(buf, len, f, &st), 0);
	return 0;
}

static void expect_eof(int fd)
{
	uint8_t buf[256];
	struct spop_frame f;

	assert_int_equal(recv_frame(fd, buf, sizeof(buf), &f), -1);
}

/* Waits for AGENT-DISCONNECT with <status>, then EOF. */
static void expect_disconnect(int fd, enum spop_status status)
{
	const uint8_t *p, *end;
	uint8_t buf[512];
	struct spop_frame f;
	int seen = 0;

	assert_int_equal(recv_frame(fd, buf, sizeof(buf), &f), 0);
	assert_int_equal(f.type, SPOP_FRM_AGENT_DISCON);
	for (p = f.payload, end = f.payload + f.len; p < end; ) {
		struct spop_data v;
		const char *k;
		size_t klen;

		assert_int_equal(spop_string_decode(&p, end, &k, &klen), 0);
		assert_int_equal(spop_data_decode(&p, end, &v), 0);
		if (klen == 11 && memcmp(k, "status-code", 11) == 0) {
			assert_int_equal(v.u.uint, status);
			seen = 1;
		}
	}
	assert_true(seen);
	expect_eof(fd);
}

/* Connects and completes the handshake. */
static int client_hello(void)
{
	uint8_t buf[512];
	struct spop_writer wr;
	struct spop_frame f;
	int fd = client_connect();
	long n;

	spop_frame_begin(&wr, buf, sizeof(buf), SPOP_FRM_HAPROXY_HELLO, 0, 0);
	spop_put_kv_str(&wr, "supported-versions", "2.0", 3);
	spop_put_kv_uint32(&wr, "max-frame-size", 16380);
	spop_put_kv_str(&wr, "capabilities", "pipelining", 10);
	spop_put_kv_str(&wr, "engine-id", "test-engine", 11);
	n = spop_frame_end(&wr, sizeof(buf));
	assert_true(n > 0);
	send_all(fd, buf, (size_t)n);
	assert_int_equal(recv_frame(fd, buf, sizeof(buf), &f), 0);
	assert_int_equal(f.type, SPOP_FRM_AGENT_HELLO);
	return fd;
}

static void send_notify(int fd, uint64_t sid, uint64_t fid)
{
	uint8_t buf[64], nargs = 0;
	struct spop_writer wr;
	long n;

	spop_frame_begin(&wr, buf, sizeof(buf), SPOP_FRM_NOTIFY, sid, fid);
	spop_put_string(&wr, "route", 5);
	*wr.p++ = nargs;
	n = spop_frame_end(&wr, sizeof(buf));
	assert_true(n > 0);
	send_all(fd, buf, (size_t)n);
}

/* ------------------------------------------------------------------------
 * The workers' counters, read from this thread
 * ------------------------------------------------------------------------ */

static uint64_t closed_total(void)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < worker_count(); i++)
		n += atomic_load(&worker_get(i)->stats.conns_closed);
	return n;
}

/* Waits until <count>() reaches <n>, and checks it does not pass it. */
static void wait_count(uint64_t (*count)(void), uint64_t n)
{
	int64_t deadline = clock_mono_ms() + WAIT_MS;

	while (count() < n) {
		struct timespec ts = { 0, 2000000 };

		assert_true(clock_mono_ms() < deadline);
		nanosleep(&ts, NULL);
	}
	assert_int_equal(count(), n);
}

/* ------------------------------------------------------------------------
 * Tests, in order, on one agent
 * ------------------------------------------------------------------------ */

static int agent_setup(void **state)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char err[256];
	int fd;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	listener_set_max_conns(MAX_CONNS);
	fd = listener_open("127.0.0.1:0", err, sizeof(err));
	if (fd < 0)
		fail_msg("listener_open: %s", err);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	assert_int_equal(worker_start_all(NWORKERS), 0);
	assert_int_equal(listener_start(), 0);
	return 0;
}

static int agent_teardown(void **state)
{
	(void)state;
	listener_stop();
	return 0;
}

static int clients[MAX_CONNS + 1];

/* Two connections go to two different workers (the least loaded), and
 * "show conns" collects both from the workers' threads.
 */
static void test_dispatch_least_loaded(void **state)
{
	struct conn_info *ci = NULL;
	size_t n;

	(void)state;
	clients[0] = client_hello();
	clients[1] = client_hello();
	assert_int_equal(atomic_load(&worker_get(0)->nconns), 1);
	assert_int_equal(atomic_load(&worker_get(1)->nconns), 1);

	n = worker_list_conns(&ci);
	assert_int_equal(n, 2);
	assert_int_not_equal(ci[0].worker, ci[1].worker);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(ci[i].state, CONN_ST_READY);
		assert_string_equal(ci[i].engine_id, "test-engine");
		assert_true(ci[i].pipelining);
	}
	free(ci);
}

/* Over MAX_CONNS: AGENT-DISCONNECT status 13 and close; once one closes,
 * the next connection is served.
 */
static void test_connection_cap(void **state)
{
	int over;

	(void)state;
	clients[2] = client_hello();
	over = client_connect();
	expect_disconnect(over, SPOP_ERR_RES);
	close(over);
	/* counted after the close that the client saw */
	wait_count(listener_refused, 1);

	close(clients[0]);
	wait_count(closed_total, 1);
	clients[0] = client_hello();
	assert_int_equal(listener_refused(), 1);
}

struct stopper {
	pthread_t thread;
	_Atomic int done;
};

static void *stop_workers(void *arg)
{
	struct stopper *s = arg;

	worker_stop_all(WAIT_MS / 1000.0);
	atomic_store(&s->done, 1);
	return NULL;
}

/* The graceful stop: a NOTIFY already sent is answered, then every
 * connection gets AGENT-DISCONNECT status 0 and is closed by the agent;
 * the workers exit once HAProxy has closed.
 */
static void test_stop_answers_then_disconnects(void **state)
{
	struct stopper s = { .done = 0 };
	uint8_t buf[512];
	struct spop_frame f;

	(void)state;
	send_notify(clients[1], 5, 8);
	assert_int_equal(recv_frame(clients[1], buf, sizeof(buf), &f), 0);
	assert_int_equal(f.type, SPOP_FRM_ACK);
	send_notify(clients[1], 6, 9);
	assert_int_equal(pthread_create(&s.thread, NULL, stop_workers, &s), 0);

	assert_int_equal(recv_frame(clients[1], buf, sizeof(buf), &f), 0);
	assert_int_equal(f.type, SPOP_FRM_ACK);
	assert_int_equal(f.stream_id, 6);
	assert_int_equal(f.frame_id, 9);
	for (int i = 0; i < MAX_CONNS; i++) {
		expect_disconnect(clients[i], SPOP_ERR_NONE);
		close(clients[i]);
	}
	assert_int_equal(pthread_join(s.thread, NULL), 0);
	assert_true(atomic_load(&s.done));
	wait_count(closed_total, 1 + MAX_CONNS);
}

/* --spop-collect auto: windows of frames read one by one turn the interval
 * on for a period, batched frames (HAProxy 2.6's 10 or more per read) and
 * a worker that is not busy leave it off; after the period it is off and
 * measures again.
 */
static void test_collect_step(void **state)
{
	struct worker_collect s = { 0 };
	int64_t t = 5000000000LL, ms = 1000000;
	uint64_t f = 0, r = 0;

	(void)state;
	/* not busy: 499 frames in a second, one per read, then a new window */
	assert_int_equal(worker_collect_step(&s, t, f, r), 0);   /* first window */
	f += 499, r += 499;
	assert_int_equal(worker_collect_step(&s, t + 999 * ms, f, r), 0);
	assert_int_equal(worker_collect_step(&s, t + 1000 * ms, f, r), 0);
	assert_int_equal(s.since_ns, t + 1000 * ms);
	t += 1000 * ms;
	/* batched: 600 frames in 50 reads, still off */
	f += 600, r += 50;
	assert_int_equal(worker_collect_step(&s, t + 10 * ms, f, r), 0);
	assert_false(s.on);
	t += 10 * ms;
	/* at the bound: 4 frames per read is a batch */
	f += 500, r += 125;
	assert_int_equal(worker_collect_step(&s, t + 10 * ms, f, r), 0);
	t += 10 * ms;
	/* frame by frame (1.5 per read): on */
	f += 600, r += 400;
	assert_int_equal(worker_collect_step(&s, t + 10 * ms, f, r), 1);
	assert_true(s.on);
	t += 10 * ms;
	/* on for the period whatever the reads show (collecting batches them) */
	f += 6000, r += 100;
	assert_int_equal(worker_collect_step(&s, t + WORKER_COLLECT_ON_NS - 1, f, r), 0);
	assert_true(s.on);
	assert_int_equal(worker_collect_step(&s, t + WORKER_COLLECT_ON_NS, f, r), 1);
	assert_false(s.on);
	t += WORKER_COLLECT_ON_NS;
	/* measured again from there: HAProxy now batches, stays off */
	f += 499, r += 499;   /* not a window yet */
	assert_int_equal(worker_collect_step(&s, t + 5 * ms, f, r), 0);
	f += 2001, r += 1;   /* 2,500 frames in 500 reads */
	assert_int_equal(worker_collect_step(&s, t + 6 * ms, f, r), 0);
	assert_false(s.on);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collect_step),
		cmocka_unit_test(test_dispatch_least_loaded),
		cmocka_unit_test(test_connection_cap),
		cmocka_unit_test(test_stop_answers_then_disconnects),
	};

	return cmocka_run_group_tests(tests, agent_setup, agent_teardown);
}
