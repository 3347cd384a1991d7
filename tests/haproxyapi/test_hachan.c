/* The byte channel to HAProxy's runtime API: a plain channel connects from
 * the loop (never within hachan_open()), carries bytes both ways and ends;
 * the TLS configuration refuses what it cannot read; a TLS channel that
 * cannot connect reports why through HACHAN_ERROR. The TLS exchange with a
 * real HAProxy is integration_runtime_tls's.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cmocka.h>
#include <ev.h>

#include "haproxyapi/hachan.h"
#include "haproxyapi/haproxy_cli.h"

struct run {
	struct ev_loop *loop;
	struct hachan *ch;
	int events[16];
	int nevents;
	char got[64];
	size_t len;
	int eof;
	char error[256];
};

static void on_io(void *arg, int events)
{
	struct run *r = arg;

	if (r->nevents < 16)
		r->events[r->nevents++] = events;
	if (events & HACHAN_ERROR) {
		snprintf(r->error, sizeof(r->error), "%s", hachan_error(r->ch));
		ev_break(r->loop, EVBREAK_ALL);
		return;
	}
	if (events & HACHAN_CONNECTED) {
		assert_int_equal(hachan_write(r->ch, "ping\n", 5), 5);
		hachan_end_write(r->ch);
		hachan_want(r->ch, EV_READ);
		return;
	}
	if (events & EV_READ) {
		for (;;) {
			ssize_t n = hachan_read(r->ch, r->got + r->len, sizeof(r->got) - 1 - r->len);

			if (n > 0) {
				r->len += (size_t)n;
				continue;
			}
			if (n == 0) {
				r->eof = 1;
				hachan_want(r->ch, 0);
				ev_break(r->loop, EVBREAK_ALL);
			}
			return;
		}
	}
}

static void on_deadline(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
	fail_msg("the channel did not finish within 5 s");
}

static void run_loop(struct run *r)
{
	ev_timer deadline;

	ev_timer_init(&deadline, on_deadline, 5.0, 0.0);
	ev_timer_start(r->loop, &deadline);
	ev_run(r->loop, 0);
	ev_timer_stop(r->loop, &deadline);
}

static void test_plain_unix(void **state)
{
	struct run r = { .loop = ev_loop_new(EVFLAG_AUTO) };
	struct haproxy_cli_addr a;
	char path[64], spec[80], err[256], buf[16];
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int lfd, cfd;
	ssize_t n;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/test-hachan-%d.sock", (int)getpid());
	unlink(path);
	strcpy(un.sun_path, path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&un, sizeof(un)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	snprintf(spec, sizeof(spec), "unix:%s", path);
	assert_int_equal(haproxy_cli_addr_parse(&a, spec, err, sizeof(err)), 0);
	assert_false(hachan_is_tls(&a));

	r.ch = hachan_open(r.loop, &a, on_io, &r, err, sizeof(err));
	assert_non_null(r.ch);
	/* a unix socket connects at once; the event still comes from the loop */
	assert_int_equal(r.nevents, 0);
	cfd = accept(lfd, NULL, NULL);
	assert_true(cfd >= 0);
	ev_run(r.loop, EVRUN_ONCE);
	assert_true(r.nevents >= 1);
	assert_int_equal(r.events[0], HACHAN_CONNECTED);
	/* the command, then the half-close */
	n = read(cfd, buf, sizeof(buf));
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "ping\n", 5);
	assert_int_equal(read(cfd, buf, sizeof(buf)), 0);
	assert_int_equal(write(cfd, "pong\n", 5), 5);
	close(cfd);
	run_loop(&r);
	assert_true(r.eof);
	assert_int_equal(r.len, 5);
	assert_memory_equal(r.got, "pong\n", 5);
	assert_string_equal(hachan_error(r.ch), "");

	hachan_close(r.ch);
	close(lfd);
	unlink(path);
	ev_loop_destroy(r.loop);
}

static void test_plain_refused(void **state)
{
	struct run r = { .loop = ev_loop_new(EVFLAG_AUTO) };
	struct haproxy_cli_addr a;
	char err[256];

	(void)state;
	/* nothing listens on port 1 of the loopback */
	assert_int_equal(haproxy_cli_addr_parse(&a, "127.0.0.1:1", err, sizeof(err)), 0);
	r.ch = hachan_open(r.loop, &a, on_io, &r, err, sizeof(err));
	assert_non_null(r.ch);
	run_loop(&r);
	assert_int_equal(r.events[0], HACHAN_ERROR);
	assert_string_equal(r.error, strerror(ECONNREFUSED));
	hachan_close(r.ch);
	ev_loop_destroy(r.loop);
}

/* Runs last: the TLS configuration is the process's from then on. */
static void test_tls(void **state)
{
	struct run r = { .loop = ev_loop_new(EVFLAG_AUTO) };
	struct haproxy_cli_addr tcp, unx;
	char err[256];

	(void)state;
	assert_int_equal(haproxy_cli_addr_parse(&tcp, "127.0.0.1:1", err, sizeof(err)), 0);
	assert_int_equal(haproxy_cli_addr_parse(&unx, "unix:/nonexistent.sock", err, sizeof(err)), 0);

	assert_int_equal(hachan_tls_set("/nonexistent/ca.pem", "/dev/null", NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot read the runtime API CA '/nonexistent/ca.pem'"));
	assert_int_equal(hachan_tls_set("/dev/null", NULL, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "needs both"));
	assert_int_equal(hachan_tls_set("/dev/null", "/dev/null", "/nonexistent.key", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "client key"));
	assert_false(hachan_is_tls(&tcp));

	assert_int_equal(hachan_tls_set("/dev/null", "/dev/null", NULL, err, sizeof(err)), 0);
	assert_true(hachan_is_tls(&tcp));
	assert_false(hachan_is_tls(&unx));

	/* refused before any handshake: said through the event, "TLS:" first */
	r.ch = hachan_open(r.loop, &tcp, on_io, &r, err, sizeof(err));
	assert_non_null(r.ch);
	assert_int_equal(r.nevents, 0);
	run_loop(&r);
	assert_int_equal(r.events[0], HACHAN_ERROR);
	assert_true(strncmp(r.error, "TLS: ", 5) == 0);
	hachan_close(r.ch);
	ev_loop_destroy(r.loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_unix),
		cmocka_unit_test(test_plain_refused),
		cmocka_unit_test(test_tls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
