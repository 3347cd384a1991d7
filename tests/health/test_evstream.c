/* The ring streamed over HAProxy's runtime API: the command it sends, one
 * callback per line (split across reads or not), lines too long skipped
 * and counted, and a lost connection said in the status and retried.
 * Guards the error path that keeps the channel's own error text after the
 * channel is closed (a refused TCP connection), which AddressSanitizer
 * checks here.
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
#include <sys/socket.h>
#include <sys/un.h>
#include <cmocka.h>
#include <ev.h>

#include "haproxyapi/haproxy_cli.h"
#include "health/evstream.h"

struct seen {
	struct ev_loop *loop;
	char lines[8][64];
	int n;
	int want;
};

static void on_line(void *arg, const char *line, size_t len)
{
	struct seen *s = arg;

	if (s->n < 8)
		snprintf(s->lines[s->n], sizeof(s->lines[0]), "%.*s", (int)len, line);
	if (++s->n == s->want)
		ev_break(s->loop, EVBREAK_ALL);
}

static void on_deadline(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

/* Runs <loop> until something breaks it, or 5 s. */
static void run_bounded(struct ev_loop *loop)
{
	ev_timer deadline;

	ev_timer_init(&deadline, on_deadline, 5.0, 0.0);
	ev_timer_start(loop, &deadline);
	ev_run(loop, 0);
	ev_timer_stop(loop, &deadline);
}

static void test_lines(void **state)
{
	struct seen seen = { .loop = ev_loop_new(EVFLAG_AUTO), .want = 3 };
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct haproxy_cli_addr a;
	struct evstream_status st;
	struct evstream *s;
	char path[64], spec[80], err[128], cmd[256], *longline;
	int lfd, cfd;
	ssize_t n;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/test-evstream-%d.sock", (int)getpid());
	unlink(path);
	strcpy(un.sun_path, path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&un, sizeof(un)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	snprintf(spec, sizeof(spec), "unix:%s", path);
	assert_int_equal(haproxy_cli_addr_parse(&a, spec, err, sizeof(err)), 0);

	s = evstream_new(seen.loop, &a, "swarm-failures", on_line, &seen);
	assert_non_null(s);
	cfd = accept(lfd, NULL, NULL);
	assert_true(cfd >= 0);
	/* the command goes out from the loop */
	ev_run(seen.loop, EVRUN_ONCE);
	n = read(cfd, cmd, sizeof(cmd) - 1);
	assert_true(n > 0);
	cmd[n] = '\0';
	assert_string_equal(cmd, "set timeout cli 86400; show events swarm-failures -w -n\n");

	/* a line in two writes, one too long to keep, another */
	longline = malloc(EVSTREAM_LINE_MAX + 10);
	memset(longline, 'x', EVSTREAM_LINE_MAX + 9);
	longline[EVSTREAM_LINE_MAX + 9] = '\n';
	assert_int_equal(write(cfd, "first ha", 8), 8);
	assert_int_equal(write(cfd, "lf\n", 3), 3);
	assert_int_equal(write(cfd, longline, EVSTREAM_LINE_MAX + 10), EVSTREAM_LINE_MAX + 10);
	assert_int_equal(write(cfd, "second\nthird\n", 13), 13);
	free(longline);
	run_bounded(seen.loop);
	assert_int_equal(seen.n, 3);
	assert_string_equal(seen.lines[0], "first half");
	assert_string_equal(seen.lines[1], "second");
	assert_string_equal(seen.lines[2], "third");
	evstream_status(s, &st);
	assert_true(st.connected);
	assert_int_equal(st.lines, 3);
	assert_int_equal(st.skipped, 1);
	assert_string_equal(st.last_error, "");

	/* HAProxy goes away: said, and retried */
	close(cfd);
	close(lfd);
	unlink(path);
	ev_run(seen.loop, EVRUN_ONCE);
	evstream_status(s, &st);
	assert_false(st.connected);
	assert_string_equal(st.last_error, "HAProxy closed the connection");

	evstream_free(s);
	ev_loop_destroy(seen.loop);
}

static void test_refused(void **state)
{
	struct seen seen = { .loop = ev_loop_new(EVFLAG_AUTO) };
	struct haproxy_cli_addr a;
	struct evstream_status st;
	struct evstream *s;
	char err[128];
	int i;

	(void)state;
	/* nothing listens on port 1 of the loopback: refused after connect() */
	assert_int_equal(haproxy_cli_addr_parse(&a, "127.0.0.1:1", err, sizeof(err)), 0);
	s = evstream_new(seen.loop, &a, "swarm-failures", on_line, &seen);
	assert_non_null(s);
	for (i = 0; i < 50; i++) {
		ev_run(seen.loop, EVRUN_ONCE);
		evstream_status(s, &st);
		if (st.last_error[0])
			break;
	}
	assert_string_equal(st.last_error, strerror(ECONNREFUSED));
	assert_false(st.connected);
	assert_int_equal(st.connects, 0);
	evstream_free(s);
	ev_loop_destroy(seen.loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
