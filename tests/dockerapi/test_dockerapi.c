/* The Docker API client: version negotiation, error descriptions, and the
 * libcurl-on-libev transport against a scripted daemon on a unix socket
 * (answers, HTTP errors, oversized bodies, dropped connections, timeouts,
 * streams, cancellation, the read-only guard).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <ev.h>

#include "common/clock.h"
#include "common/sbuf.h"
#include "dockerapi/dockerapi.h"
#include "dockerapi/dockerhost.h"
#include "tests/lib/fakedocker.h"

/* ---- negotiation and helpers (no I/O) ---- */

static void test_negotiate(void **state)
{
	char v[16], err[256];

	(void)state;
	/* ours when the daemon is newer */
	assert_int_equal(dockerapi_negotiate("1.45", "1.24", v, sizeof(v), err, sizeof(err)), 0);
	assert_string_equal(v, DOCKERAPI_MAX_VERSION);
	assert_int_equal(dockerapi_negotiate("1.41", "1.12", v, sizeof(v), err, sizeof(err)), 0);
	assert_string_equal(v, "1.41");
	/* the daemon's when older, down to our minimum */
	assert_int_equal(dockerapi_negotiate("1.30", "1.12", v, sizeof(v), err, sizeof(err)), 0);
	assert_string_equal(v, "1.30");
	assert_int_equal(dockerapi_negotiate("1.24", NULL, v, sizeof(v), err, sizeof(err)), 0);
	assert_string_equal(v, "1.24");
	/* numeric, not lexical: 1.100 is newer than 1.41 */
	assert_int_equal(dockerapi_negotiate("1.100", "1.24", v, sizeof(v), err, sizeof(err)), 0);
	assert_string_equal(v, DOCKERAPI_MAX_VERSION);
	assert_int_equal(dockerapi_negotiate("1.9", "1.0", v, sizeof(v), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "older"));
	assert_int_equal(dockerapi_negotiate("1.23", "1.12", v, sizeof(v), err, sizeof(err)), -1);
	/* a daemon that dropped our newest version */
	assert_int_equal(dockerapi_negotiate("1.60", "1.44", v, sizeof(v), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "1.44"));
	/* garbage */
	assert_int_equal(dockerapi_negotiate(NULL, NULL, v, sizeof(v), err, sizeof(err)), -1);
	assert_int_equal(dockerapi_negotiate("", "", v, sizeof(v), err, sizeof(err)), -1);
	assert_int_equal(dockerapi_negotiate("v1.41", NULL, v, sizeof(v), err, sizeof(err)), -1);
	assert_int_equal(dockerapi_negotiate("1.41x", NULL, v, sizeof(v), err, sizeof(err)), -1);
	assert_int_equal(dockerapi_negotiate("1.41", "zz", v, sizeof(v), err, sizeof(err)), -1);
	assert_int_equal(dockerapi_negotiate("99999999999999999999.1", NULL, v, sizeof(v), err, sizeof(err)), -1);
}

static void test_describe(void **state)
{
	struct dockerapi_resp r = { 0 };
	char buf[256];

	(void)state;
	r.status = 503;
	r.body = "{\"message\":\"This node is not a swarm manager.\"}";
	r.len = strlen(r.body);
	dockerapi_describe(&r, buf, sizeof(buf));
	assert_string_equal(buf, "HTTP 503: This node is not a swarm manager.");
	/* not JSON: a printable excerpt */
	r.status = 502;
	r.body = "<html>\x01" "bad gateway</html>";
	r.len = strlen(r.body);
	dockerapi_describe(&r, buf, sizeof(buf));
	assert_string_equal(buf, "HTTP 502: <html>.bad gateway</html>");
	r.body = "";
	r.len = 0;
	dockerapi_describe(&r, buf, sizeof(buf));
	assert_string_equal(buf, "HTTP 502");
	r.error = "Couldn't connect to server";
	dockerapi_describe(&r, buf, sizeof(buf));
	assert_string_equal(buf, "Couldn't connect to server");
}

static void test_urlencode(void **state)
{
	struct sbuf b = SBUF_INIT;

	(void)state;
	dockerapi_urlencode(&b, "{\"type\":{\"service\":true}} a/b~c");
	assert_string_equal(b.buf, "%7B%22type%22%3A%7B%22service%22%3Atrue%7D%7D%20a%2Fb~c");
	sbuf_free(&b);
}

/* ---- transport ---- */

struct server {
	char sock[108];
	struct fakedocker *fake;
	/* what the next answers are */
	int status;
	const char *body;
	size_t big;            /* >0: a body of this many bytes */
	unsigned delay_ms;
	int drop;              /* close without answering */
	char last_method[16];
	char last_path[256];
};

static void handler(void *arg, const char *method, const char *path, struct fake_resp *r)
{
	struct server *s = arg;

	snprintf(s->last_method, sizeof(s->last_method), "%s", method);
	snprintf(s->last_path, sizeof(s->last_path), "%s", path);
	if (strncmp(path, "/v1.41/events", 13) == 0 || strncmp(path, "/events", 7) == 0) {
		r->stream = 1;
		r->status = 200;
		return;
	}
	r->delay_ms = s->delay_ms;
	if (s->drop)
		return;
	r->status = s->status;
	if (s->big) {
		r->body = malloc(s->big);
		memset(r->body, ' ', s->big);
		r->body[0] = '[';
		r->body[s->big - 1] = ']';
		r->len = s->big;
	} else if (s->body) {
		r->body = strdup(s->body);
		r->len = strlen(s->body);
	}
}

struct result {
	int done;
	long status;
	char body[256];
	size_t len;
	char error[256];
	int opened;
	int lines;
	char line[3][64];
};

static void on_done(void *arg, const struct dockerapi_resp *r)
{
	struct result *res = arg;

	res->done = 1;
	res->status = r->status;
	res->len = r->len;
	snprintf(res->body, sizeof(res->body), "%s", r->body);
	snprintf(res->error, sizeof(res->error), "%s", r->error ? r->error : "");
}

static void on_open(void *arg, long status)
{
	struct result *res = arg;

	res->opened = (int)status;
}

static void on_line(void *arg, const char *line, size_t len)
{
	struct result *res = arg;

	if (res->lines < 3)
		snprintf(res->line[res->lines], sizeof(res->line[0]), "%.*s", (int)len, line);
	res->lines++;
}

/* Runs <loop> until *<flag> is non-zero or <seconds> pass. */
static void run_until(struct ev_loop *loop, const int *flag, double seconds)
{
	int64_t deadline = clock_mono_ms() + (int64_t)(seconds * 1000);

	while (!*flag && clock_mono_ms() < deadline) {
		ev_run(loop, EVRUN_NOWAIT);
		usleep(1000);
	}
}

struct fixture {
	struct server srv;
	struct ev_loop *loop;
	struct dockerapi *api;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct dockerhost_env env = { 0 };
	struct dockerhost h;
	char url[200], err[256];

	snprintf(fx->srv.sock, sizeof(fx->srv.sock), "/tmp/ssp-fakedocker-%d.sock", (int)getpid());
	fx->srv.status = 200;
	fx->srv.fake = fakedocker_start(fx->srv.sock, handler, &fx->srv);
	if (!fx->srv.fake)
		return -1;
	snprintf(url, sizeof(url), "unix://%s", fx->srv.sock);
	if (dockerhost_parse(&h, url, &env, err, sizeof(err)) < 0)
		return -1;
	fx->loop = ev_loop_new(EVFLAG_AUTO);
	fx->api = dockerapi_new(fx->loop, &h, err, sizeof(err));
	if (!fx->api)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	dockerapi_free(fx->api);
	ev_loop_destroy(fx->loop);
	fakedocker_stop(fx->srv.fake);
	free(fx);
	return 0;
}

static struct dockerapi_req *send_get(struct fixture *fx, const char *path, struct result *res,
				      unsigned timeout_ms, size_t max)
{
	struct dockerapi_call c = {
		.path = path, .timeout_ms = timeout_ms, .max_bytes = max,
		.on_done = on_done, .on_open = on_open, .arg = res,
	};
	char err[256];
	struct dockerapi_req *r = dockerapi_send(fx->api, &c, err, sizeof(err));

	assert_non_null(r);
	return r;
}

static void test_get_versioned(void **state)
{
	struct fixture *fx = *state;
	struct result res = { 0 };
	struct dockerapi_stats st;

	fx->srv.body = "{\"ok\":true}";
	dockerapi_set_version(fx->api, "1.41");
	send_get(fx, "/info", &res, 2000, 0);
	run_until(fx->loop, &res.done, 5);
	assert_true(res.done);
	assert_int_equal(res.status, 200);
	assert_string_equal(res.body, "{\"ok\":true}");
	assert_string_equal(res.error, "");
	assert_int_equal(res.opened, 200);
	assert_string_equal(fx->srv.last_path, "/v1.41/info");
	assert_string_equal(fx->srv.last_method, "GET");

	/* unversioned: GET /version before negotiation */
	memset(&res, 0, sizeof(res));
	{
		struct dockerapi_call c = { .path = "/version", .unversioned = 1, .timeout_ms = 2000,
					    .on_done = on_done, .arg = &res };
		char err[128];

		assert_non_null(dockerapi_send(fx->api, &c, err, sizeof(err)));
	}
	run_until(fx->loop, &res.done, 5);
	assert_string_equal(fx->srv.last_path, "/version");
	dockerapi_stats(fx->api, &st);
	assert_int_equal(st.requests, 2);
	assert_int_equal(st.failures, 0);
	assert_int_equal(st.in_flight, 0);
}

static void test_http_error(void **state)
{
	struct fixture *fx = *state;
	struct result res = { 0 };
	struct dockerapi_stats st;

	fx->srv.status = 503;
	fx->srv.body = "{\"message\":\"This node is not a swarm manager.\"}";
	send_get(fx, "/services", &res, 2000, 0);
	run_until(fx->loop, &res.done, 5);
	assert_true(res.done);
	/* a complete answer: no transport error, the status says it */
	assert_int_equal(res.status, 503);
	assert_string_equal(res.error, "");
	dockerapi_stats(fx->api, &st);
	assert_int_equal(st.failures, 1);
}

static void test_too_large(void **state)
{
	struct fixture *fx = *state;
	struct result res = { 0 };

	/* bigger than the bound: refused, whether or not Content-Length
	 * announced it */
	fx->srv.big = 300000;
	send_get(fx, "/tasks", &res, 5000, 100000);
	run_until(fx->loop, &res.done, 5);
	assert_true(res.done);
	assert_string_not_equal(res.error, "");

	/* at the bound: fine */
	memset(&res, 0, sizeof(res));
	fx->srv.big = 100000;
	send_get(fx, "/tasks", &res, 5000, 100000);
	run_until(fx->loop, &res.done, 5);
	assert_string_equal(res.error, "");
	assert_int_equal(res.len, 100000);
}

static void test_dropped_and_timeout(void **state)
{
	struct fixture *fx = *state;
	struct result res = { 0 };

	fx->srv.drop = 1;
	send_get(fx, "/services", &res, 2000, 0);
	run_until(fx->loop, &res.done, 5);
	assert_true(res.done);
	assert_int_equal(res.status, 0);
	assert_string_not_equal(res.error, "");

	/* a daemon that does not answer in time */
	memset(&res, 0, sizeof(res));
	fx->srv.drop = 0;
	fx->srv.delay_ms = 1500;
	send_get(fx, "/services", &res, 200, 0);
	run_until(fx->loop, &res.done, 5);
	assert_true(res.done);
	assert_non_null(strstr(res.error, "imeout") ? strstr(res.error, "imeout") : strstr(res.error, "timed out"));
}

static void test_socket_missing(void **state)
{
	struct fixture *fx = *state;
	struct dockerhost_env env = { 0 };
	struct dockerhost h;
	struct dockerapi *api;
	struct result res = { 0 };
	struct dockerapi_call c = { .path = "/version", .unversioned = 1, .timeout_ms = 2000,
				    .on_done = on_done, .arg = &res };
	char err[256];

	assert_int_equal(dockerhost_parse(&h, "unix:///nonexistent/docker.sock", &env, err, sizeof(err)), 0);
	api = dockerapi_new(fx->loop, &h, err, sizeof(err));
	assert_non_null(api);
	assert_non_null(dockerapi_send(api, &c, err, sizeof(err)));
	run_until(fx->loop, &res.done, 5);
	assert_true(res.done);
	assert_int_equal(res.status, 0);
	assert_string_not_equal(res.error, "");
	dockerapi_free(api);
}

static void test_stream(void **state)
{
	struct fixture *fx = *state;
	struct result res = { 0 };
	struct dockerapi_call c = { .path = "/events", .unversioned = 1, .on_line = on_line,
				    .on_open = on_open, .on_done = on_done, .arg = &res };
	char err[128];
	int64_t deadline;

	assert_non_null(dockerapi_send(fx->api, &c, err, sizeof(err)));
	run_until(fx->loop, &res.opened, 5);
	assert_int_equal(res.opened, 200);
	deadline = clock_mono_ms() + 5000;
	while (fakedocker_streams(fx->srv.fake) < 1 && clock_mono_ms() < deadline)
		usleep(1000);
	fakedocker_push(fx->srv.fake, "{\"a\":1}");
	fakedocker_push(fx->srv.fake, "{\"b\":2}\r");
	fakedocker_push(fx->srv.fake, "");
	fakedocker_push(fx->srv.fake, "{\"c\":3}");
	deadline = clock_mono_ms() + 5000;
	while (res.lines < 3 && clock_mono_ms() < deadline) {
		ev_run(fx->loop, EVRUN_NOWAIT);
		usleep(1000);
	}
	/* empty lines are skipped, CR before LF removed */
	assert_int_equal(res.lines, 3);
	assert_string_equal(res.line[0], "{\"a\":1}");
	assert_string_equal(res.line[1], "{\"b\":2}");
	assert_string_equal(res.line[2], "{\"c\":3}");
	assert_false(res.done);
	fakedocker_drop_streams(fx->srv.fake);
	run_until(fx->loop, &res.done, 5);
	assert_true(res.done);
}

static void test_cancel(void **state)
{
	struct fixture *fx = *state;
	struct result res = { 0 }, other = { 0 };
	struct dockerapi_req *r;
	struct dockerapi_stats st;

	fx->srv.delay_ms = 200;
	fx->srv.body = "[]";
	r = send_get(fx, "/services", &res, 2000, 0);
	send_get(fx, "/tasks", &other, 2000, 0);
	ev_run(fx->loop, EVRUN_NOWAIT);
	dockerapi_cancel(r);
	run_until(fx->loop, &other.done, 5);
	assert_true(other.done);
	/* the cancelled one never calls back */
	run_until(fx->loop, &res.done, 0.5);
	assert_false(res.done);
	dockerapi_stats(fx->api, &st);
	assert_int_equal(st.in_flight, 0);
}

static void test_read_only(void **state)
{
	struct fixture *fx = *state;
	struct result res = { 0 };
	struct dockerapi_call c = { .method = "POST", .path = "/services/x/update?version=3",
				    .body = "{}", .body_len = 2, .timeout_ms = 2000,
				    .on_done = on_done, .arg = &res };
	char err[256];

	/* writes are refused before anything is sent */
	assert_null(dockerapi_send(fx->api, &c, err, sizeof(err)));
	assert_non_null(strstr(err, "read-only"));
	c.method = "DELETE";
	assert_null(dockerapi_send(fx->api, &c, err, sizeof(err)));
	assert_int_equal(fakedocker_count(fx->srv.fake, ""), 0);

	/* the network manager turns them on */
	dockerapi_allow_writes(fx->api, 1);
	c.method = "POST";
	fx->srv.body = "{\"Warnings\":null}";
	assert_non_null(dockerapi_send(fx->api, &c, err, sizeof(err)));
	run_until(fx->loop, &res.done, 5);
	assert_int_equal(res.status, 200);
	assert_string_equal(fx->srv.last_method, "POST");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_negotiate),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_urlencode),
		cmocka_unit_test_setup_teardown(test_get_versioned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dropped_and_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
