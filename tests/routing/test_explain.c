/* "explain" and the "show" commands (routing/rtable_explain.c,
 * routing/rtable_show.c): what an operator reads to understand a routing
 * decision. Explain must say why the winner won and why the others lost,
 * and must not disturb routing (no counter, no round-robin step).
 */
#include <sys/socket.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/sbuf.h"
#include "routing/model.h"
#include "routing/rtable.h"
#include "tests/routing/fixture.h"

static char scratch[RTABLE_SCRATCH_SIZE];

struct ctx {
	struct model *m;
	struct rtable *t;
	struct sbuf out;
};

static int setup(void **state)
{
	static struct ctx c;
	struct model_service *s;

	c.m = fx_model();
	s = fx_service(c.m, "root", 1, "lb.hosts=site.example", "lb.port=80", NULL);
	fx_task(c.m, s, "root.1", "10.0.0.1", 0, NULL);
	s = fx_service(c.m, "app", 2, "lb.hosts=site.example", "lb.port=8080", "lb.context_root=/app",
		       "lb.context_root_rewrite=true", NULL);
	fx_task(c.m, s, "app.1", "10.0.1.1", 0, NULL);
	fx_task(c.m, s, "app.2", "10.0.1.2", 0, NULL);
	fx_task(c.m, s, "app.3", "10.0.1.3", 0, NULL)->health = MODEL_HEALTH_UNHEALTHY;
	s = fx_service(c.m, "appx", 3, "lb.hosts=site.example", "lb.port=80", "lb.context_root=/app/x/y", NULL);
	fx_task(c.m, s, "appx.1", "10.0.2.1", 0, NULL);
	s = fx_service(c.m, "w1", 4, "lb.hosts=*.example.org", "lb.port=80", NULL);
	fx_task(c.m, s, "w1.1", "10.0.3.1", 0, NULL);
	s = fx_service(c.m, "w2", 5, "lb.hosts=*.b.example.org", "lb.port=80", NULL);
	fx_task(c.m, s, "w2.1", "10.0.4.1", 0, NULL);
	s = fx_service(c.m, "sticky", 6, "lb.hosts=sticky.example", "lb.port=80",
		       "lb.sticky_session_cookie=SRV", "lb.ssl_cert=sticky_cert", "lb.ssl_key=sticky_key",
		       "swarm-spoa.sticky_managed=true", NULL);
	fx_task(c.m, s, "sticky.1", "10.0.5.1", 0, NULL);
	fx_task(c.m, s, "sticky.2", "10.0.5.2", 0, NULL);
	s = fx_service(c.m, "hashed", 7, "lb.hosts=hash.example", "lb.port=80", "lb.ip_hash=true", NULL);
	fx_task(c.m, s, "hashed.1", "10.0.6.1", 0, NULL);
	fx_service(c.m, "broken", 8, "lb.hosts=broken.example", "lb.port=99999", NULL);
	fx_service(c.m, "other", 9, NULL);
	/* names are not labels: a routes file (or a Docker answer) may hold
	 * any byte in them */
	s = fx_service(c.m, "ev\nFORGED\x1b[31m", 10, "lb.hosts=names.example", "lb.port=80", NULL);
	fx_task(c.m, s, "t.1\r\nFORGED", "10.0.7.1", 0, NULL);
	c.t = fx_build(c.m, 2, NULL);
	*state = &c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	rtable_free(c->t);
	model_free(c->m);
	sbuf_free(&c->out);
	return 0;
}

static const char *explain(struct ctx *c, const struct route_req *r, int json)
{
	sbuf_reset(&c->out);
	rtable_explain(c->t, r, &c->out, json);
	assert_false(c->out.oom);
	return c->out.buf;
}

#define assert_contains(hay, needle) do {						\
		if (!strstr((hay), (needle)))						\
			fail_msg("missing \"%s\" in:\n%s", (needle), (hay));		\
	} while (0)

static void test_explain_paths(void **state)
{
	struct ctx *c = *state;
	struct route_req r;
	const char *txt;

	fx_req(&r, "Site.Example:8080", "/app/x.html");
	txt = explain(c, &r, 0);
	assert_contains(txt, "host     site.example: matched exactly\n");
	assert_contains(txt, "paths    on site.example for /app/x.html:\n");
	assert_contains(txt, "  /app/x/y                 not a prefix of the path\n");
	assert_contains(txt, "  /app                     matched: longest prefix on a segment boundary\n");
	assert_contains(txt, "  /                        also a prefix, but shorter than the matched one\n");
	assert_contains(txt, "route    site.example/app (exact match): context_root_rewrite\n");
	assert_contains(txt, "  services app (weight 100, 2/3 tasks ready)\n");
	assert_contains(txt, "  pick     round-robin: worker 0 at slot ");
	assert_contains(txt, "over 2 servers\n");
	assert_contains(txt, "path rewritten to /x");

	fx_req(&r, "site.example", "/apple");
	txt = explain(c, &r, 0);
	assert_contains(txt, "  /app                     is a prefix but not on a segment boundary\n");
	assert_contains(txt, "route    site.example (exact match)\n");
}

static void test_explain_hosts(void **state)
{
	struct ctx *c = *state;
	struct route_req r;
	const char *txt;

	fx_req(&r, "y.b.example.org", "/");
	txt = explain(c, &r, 0);
	assert_contains(txt, "host     y.b.example.org: no entry\n");
	assert_contains(txt, "host     *.b.example.org: matched: the most specific wildcard\n");
	assert_contains(txt, "host     *.example.org: also matches, but less specific\n");
	assert_contains(txt, "host     *.org: no entry\n");
	assert_contains(txt, "(wildcard match)");

	fx_req(&r, "nowhere.example", "/x");
	txt = explain(c, &r, 0);
	assert_contains(txt, "host     unknown host and no default backend\n");
	assert_contains(txt, "answer   404: no route for host nowhere.example\n");
}

/* context_root_rewrite's trailing-slash redirect, named as such. */
static void test_explain_slash_redirect(void **state)
{
	struct ctx *c = *state;
	struct route_req r;
	const char *txt;

	fx_req(&r, "site.example", "/app");
	txt = explain(c, &r, 0);
	assert_contains(txt, "answer   redirect 301 to /app/ (context_root_rewrite: no dot and no "
			"trailing slash, as Interlock)\n");
}

/* Explain predicts worker 0's next pick and changes nothing. */
static void test_explain_is_read_only(void **state)
{
	struct ctx *c = *state;
	struct rtable_counters cnt;
	struct route_answer a;
	struct route_req r;
	char predicted[32];
	const char *txt, *p;

	fx_req(&r, "site.example", "/app/q.css");
	for (int i = 0; i < 5; i++) {
		txt = explain(c, &r, 0);
		p = strstr(txt, "task app.");
		assert_non_null(p);
		snprintf(predicted, sizeof(predicted), "%.5s", p + 5);
		rtable_route(c->t, 0, &r, &a, scratch);
		assert_string_equal(a.task_id, predicted);
	}
	/* only the 5 routed requests were counted */
	rtable_counters(c->t, &cnt);
	assert_int_equal(cnt.forwarded, 5);
	assert_int_equal(cnt.not_found, 0);
}

static void test_explain_sticky_and_hash(void **state)
{
	struct ctx *c = *state;
	struct route_answer a;
	struct route_req r;
	char cookie[64];
	const char *txt;

	fx_req(&r, "sticky.example", "/");
	r.cookie = "SRV=0000000000000000";
	r.cookie_len = strlen(r.cookie);
	txt = explain(c, &r, 0);
	assert_contains(txt, "  cookie   SRV=0000000000000000 names no ready task");
	assert_contains(txt, "Set-Cookie: SRV=");

	fx_req(&r, "sticky.example", "/");
	rtable_route(c->t, 1, &r, &a, scratch);
	snprintf(cookie, sizeof(cookie), "%.20s", a.set_cookie);
	r.cookie = cookie;
	r.cookie_len = strlen(cookie);
	txt = explain(c, &r, 0);
	assert_contains(txt, "  pick     sticky cookie SRV=");
	assert_contains(txt, " is valid: task ");
	assert_contains(txt, a.task_id);

	fx_req(&r, "hash.example", "/");
	r.src.family = AF_INET;
	r.src.ip[0] = 192;
	r.src.ip[1] = 0;
	r.src.ip[2] = 2;
	r.src.ip[3] = 7;
	txt = explain(c, &r, 0);
	assert_contains(txt, "  pick     ip_hash of 192.0.2.7: weighted rendezvous hashing over 1 server\n");
}

/* Service names and task IDs reach the operator's terminal escaped: a
 * control byte in them can neither start a line of its own nor move the
 * cursor (explain printed them raw).
 */
static void test_explain_escapes_names(void **state)
{
	struct ctx *c = *state;
	struct route_req r;
	const char *txt;

	fx_req(&r, "names.example", "/");
	txt = explain(c, &r, 0);
	assert_contains(txt, "  services ev\\x0aFORGED\\x1b[31m (weight 100, 1/1 tasks ready)\n");
	assert_contains(txt, ", service ev\\x0aFORGED\\x1b[31m, task t.1\\x0d\\x0aFORGED\n");
	assert_null(strchr(txt, '\x1b'));
	assert_null(strchr(txt, '\r'));
	assert_null(strstr(txt, "\nFORGED"));
}

/* Interlock's sticky sessions: explain says the application's cookie
 * was hashed and that no cookie is set, or that none was there.
 */
static void test_explain_cookie_hash(void **state)
{
	struct ctx *c = *state, own = { 0 };
	struct model_service *s;
	struct route_req r;
	const char *txt;

	own.m = fx_model();
	s = fx_service(own.m, "app", 1, "lb.hosts=app.example", "lb.port=80",
		       "lb.sticky_session_cookie=session", NULL);
	fx_task(own.m, s, "app.1", "10.0.7.1", 0, NULL);
	fx_task(own.m, s, "app.2", "10.0.7.2", 0, NULL);
	own.t = fx_build(own.m, 1, NULL);

	fx_req(&r, "app.example", "/");
	r.cookie = "session=1510171444496686286";
	r.cookie_len = strlen(r.cookie);
	txt = explain(&own, &r, 0);
	assert_contains(txt, "  pick     cookie session of the application, value hashed "
			"(weighted rendezvous) over 2 servers: task app.");
	assert_contains(txt, ", no cookie set\n");
	assert_null(strstr(txt, "Set-Cookie"));
	txt = explain(&own, &r, 1);
	assert_contains(txt, "\"method\":\"cookie_hash\"");
	assert_contains(txt, "\"value\":\"1510171444496686286\",\"managed\":false,\"valid\":true");

	fx_req(&r, "app.example", "/");
	txt = explain(&own, &r, 0);
	assert_contains(txt, "  cookie   no session cookie in the request: balanced as usual\n");
	assert_contains(txt, "  pick     round-robin");
	rtable_free(own.t);
	model_free(own.m);
	sbuf_free(&own.out);
	(void)c;
}

static void test_explain_json(void **state)
{
	struct ctx *c = *state;
	struct route_req r;
	json_error_t err;
	json_t *root, *paths;
	const char *txt;

	fx_req(&r, "site.example", "/app/x.html");
	r.query = "a=1";
	r.query_len = 3;
	txt = explain(c, &r, 1);
	root = json_loads(txt, 0, &err);
	if (!root)
		fail_msg("invalid JSON (%s): %s", err.text, txt);
	assert_string_equal(json_string_value(json_object_get(root, "action")), "forward");
	assert_string_equal(json_string_value(json_object_get(json_object_get(root, "host"), "match")), "exact");
	paths = json_object_get(root, "paths");
	assert_int_equal(json_array_size(paths), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(paths, 1), "result")), "match");
	assert_string_equal(json_string_value(json_object_get(json_array_get(paths, 2), "result")), "shorter");
	assert_string_equal(json_string_value(json_object_get(json_object_get(root, "pick"), "method")),
			    "round_robin");
	assert_string_equal(json_string_value(json_object_get(root, "path")), "/x.html");
	json_decref(root);

	fx_req(&r, "nowhere.example", "/");
	root = json_loads(explain(c, &r, 1), 0, &err);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "action")), "not_found");
	assert_true(json_is_null(json_object_get(root, "route")));
	json_decref(root);
}

/* Every line of a text table has its columns at the same offsets. */
static void test_show_routes(void **state)
{
	struct ctx *c = *state;
	json_error_t err;
	json_t *root;
	const char *line;
	size_t off;

	sbuf_reset(&c->out);
	rtable_show_routes(c->t, &c->out, 0);
	line = c->out.buf;
	assert_memory_equal(line, "HOST ", 5);
	off = (size_t)(strstr(line, "PATH") - line);
	assert_contains(c->out.buf, "app.1=10.0.1.1:8080 app.2=10.0.1.2:8080 app.3(unhealthy)");
	assert_contains(c->out.buf, "2/3 ready");
	assert_contains(c->out.buf, "sticky_cert/sticky_key");
	for (line = strchr(line, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
		if (*line != ' ') {
			assert_true(line[off - 1] == ' ');
			assert_true(line[off] == '/');
		}
	}
	sbuf_reset(&c->out);
	rtable_show_routes(c->t, &c->out, 1);
	root = json_loads(c->out.buf, 0, &err);
	if (!root)
		fail_msg("invalid JSON (%s): %s", err.text, c->out.buf);
	/* site.example has 3 paths, *.example.org, *.b.example.org, sticky, hash,
	 * names */
	assert_int_equal(json_array_size(json_object_get(root, "routes")), 8);
	json_decref(root);
	assert_contains(c->out.buf, "\"ssl_cert\":\"sticky_cert\",\"ssl_key\":\"sticky_key\"");
}

static void test_show_services_and_tasks(void **state)
{
	struct ctx *c = *state;
	json_error_t err;
	json_t *root, *svcs;

	sbuf_reset(&c->out);
	rtable_show_services(c->t, &c->out, 0);
	assert_memory_equal(c->out.buf, "NAME ", 5);
	assert_contains(c->out.buf, "com.docker.lb.port: \"99999\" is not a port number (1-65535)");
	sbuf_reset(&c->out);
	rtable_show_services(c->t, &c->out, 1);
	root = json_loads(c->out.buf, 0, &err);
	if (!root)
		fail_msg("invalid JSON (%s): %s", err.text, c->out.buf);
	svcs = json_object_get(root, "services");
	assert_int_equal(json_array_size(svcs), rtable_service_count(c->t));
	/* sorted by name: app, appx, broken... */
	assert_string_equal(json_string_value(json_object_get(json_array_get(svcs, 0), "name")), "app");
	assert_string_equal(json_string_value(json_object_get(json_array_get(svcs, 0), "status")), "routed");
	assert_string_equal(json_string_value(json_object_get(json_array_get(svcs, 2), "name")), "broken");
	assert_string_equal(json_string_value(json_object_get(json_array_get(svcs, 2), "status")), "skipped");
	json_decref(root);

	sbuf_reset(&c->out);
	assert_int_equal(rtable_show_tasks(c->t, "nosuch", &c->out, 0), -1);
	assert_int_equal(c->out.len, 0);
	assert_int_equal(rtable_show_tasks(c->t, "app", &c->out, 0), 0);
	assert_memory_equal(c->out.buf, "ID ", 3);
	assert_contains(c->out.buf, "app.3");
	assert_contains(c->out.buf, "unhealthy");
	sbuf_reset(&c->out);
	assert_int_equal(rtable_show_tasks(c->t, "app", &c->out, 1), 0);
	root = json_loads(c->out.buf, 0, &err);
	if (!root)
		fail_msg("invalid JSON (%s): %s", err.text, c->out.buf);
	assert_int_equal(json_array_size(json_object_get(root, "tasks")), 3);
	assert_true(json_is_false(json_object_get(json_array_get(json_object_get(root, "tasks"), 2), "ready")));
	json_decref(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_explain_paths),
		cmocka_unit_test(test_explain_hosts),
		cmocka_unit_test(test_explain_is_read_only),
		cmocka_unit_test(test_explain_sticky_and_hash),
		cmocka_unit_test(test_explain_escapes_names),
		cmocka_unit_test(test_explain_cookie_hash),
		cmocka_unit_test(test_explain_slash_redirect),
		cmocka_unit_test(test_explain_json),
		cmocka_unit_test(test_show_routes),
		cmocka_unit_test(test_show_services_and_tasks),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
