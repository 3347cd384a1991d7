/* Request lookup (routing/rtable.c): which route a Host and a path reach,
 * and the answer built for it (redirects, HTTPS upgrade, path rewrite,
 * websocket, HSTS, virtual IPs, TLS passthrough by SNI).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/netaddr.h"
#include "routing/model.h"
#include "routing/rtable.h"
#include "tests/routing/fixture.h"

static char scratch[RTABLE_SCRATCH_SIZE];

struct ctx {
	struct model *m;
	struct rtable *t;
};

/* One task per service, at 10.0.<n>.1, so that the address says which
 * service answered.
 */
static void add(struct model *m, const char *name, int n, ...)
{
	struct model_service *s = fx_service(m, name, n, "lb.port=8080", NULL);
	const char *kv;
	char addr[32];
	va_list ap;

	va_start(ap, n);
	while ((kv = va_arg(ap, const char *))) {
		const char *eq = strchr(kv, '=');
		char key[96];

		snprintf(key, sizeof(key), "com.docker.lb.%.*s", (int)(eq - kv), kv);
		fx_label(m, s, key, eq + 1);
	}
	va_end(ap);
	snprintf(addr, sizeof(addr), "10.0.%d.1", n);
	fx_task(m, s, "t1", addr, 0, NULL);
}

static int setup(void **state)
{
	static struct ctx c;
	struct model_service *s;

	c.m = fx_model();
	add(c.m, "exact", 1, "hosts=www.example.org", NULL);
	add(c.m, "wild", 2, "hosts=*.example.org", NULL);
	add(c.m, "wild2", 3, "hosts=*.b.example.org", NULL);
	add(c.m, "root", 4, "hosts=site.example", NULL);
	add(c.m, "app", 5, "hosts=site.example", "context_root=/app", NULL);
	add(c.m, "appx", 6, "hosts=site.example", "context_root=/app/x", NULL);
	add(c.m, "only", 7, "hosts=only.example", "context_root=/only", NULL);
	add(c.m, "rw", 8, "hosts=rw.example", "context_root=/api", "context_root_rewrite=true", NULL);
	add(c.m, "secure", 9, "hosts=secure.example", "ssl_only=true", NULL);
	add(c.m, "pt", 10, "hosts=pt.example", "ssl_passthrough=true", NULL);
	add(c.m, "ws", 11, "hosts=ws.example", "websocket_endpoints=/socket,/live/", NULL);
	add(c.m, "hsts", 12, "hosts=hsts.example", "hsts=600", NULL);
	add(c.m, "idn", 13, "hosts=b\xc3\xbc" "cher.example", NULL);
	add(c.m, "redir", 14, "hosts=new.example",
	    "redirects=http://old.example,https://new.example;"
	    "http://new.example/legacy,https://new.example/v2;"
	    "http://slash.example,https://u.example/", NULL);
	add(c.m, "dflt", 15, "default_backend=true", NULL);
	s = fx_service(c.m, "vip", 16, "lb.hosts=vip.example", "lb.port=80", "lb.backend_mode=vip",
		       "lb.network=app_net", NULL);
	fx_task(c.m, s, "vip.1", "10.0.16.1", 0, "app_net");
	fx_vip(c.m, s, "10.255.0.9", "ingress");
	fx_vip(c.m, s, "10.0.16.100", "app_net");
	s = fx_service(c.m, "novip", 17, "lb.hosts=novip.example", "lb.port=80",
		       "lb.backend_mode=vip", NULL);
	fx_task(c.m, s, "novip.1", "10.0.17.1", 0, NULL);
	s = fx_service(c.m, "sick", 18, "lb.hosts=sick.example", "lb.port=80", NULL);
	s->has_healthcheck = 1;
	fx_task(c.m, s, "sick.1", "10.0.18.1", 0, NULL)->health = MODEL_HEALTH_STARTING;
	fx_task(c.m, s, "sick.2", "10.0.18.2", 0, NULL)->health = MODEL_HEALTH_UNHEALTHY;
	fx_task(c.m, s, "sick.3", "10.0.18.3", 0, NULL)->health = MODEL_HEALTH_STARTING;
	fx_service(c.m, "empty", 19, "lb.hosts=empty.example", "lb.port=80", NULL);
	c.t = fx_build(c.m, 1, NULL);
	*state = &c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	rtable_free(c->t);
	model_free(c->m);
	return 0;
}

/* The service that answered <host><path> with a forward, or the action. */
static const char *who(const struct rtable *t, const char *host, const char *path)
{
	struct route_answer a = fx_route(t, host, path);

	switch (a.action) {
	case ROUTE_FORWARD:
		return a.service;
	case ROUTE_REDIRECT:
		return "REDIRECT";
	case ROUTE_NO_TASK:
		return "NO_TASK";
	default:
		return "NOT_FOUND";
	}
}

static void test_exact_before_wildcard(void **state)
{
	struct ctx *c = *state;

	assert_string_equal(who(c->t, "www.example.org", "/"), "exact");
	assert_string_equal(who(c->t, "foo.example.org", "/"), "wild");
	/* the most specific wildcard wins */
	assert_string_equal(who(c->t, "x.b.example.org", "/"), "wild2");
	/* a wildcard covers one or more leading labels */
	assert_string_equal(who(c->t, "a.x.b.example.org", "/"), "wild2");
	assert_string_equal(who(c->t, "deep.er.example.org", "/"), "wild");
	/* *.b.example.org does not cover b.example.org itself; *.example.org does */
	assert_string_equal(who(c->t, "b.example.org", "/"), "wild");
	/* nor does *.example.org cover example.org: unknown, default backend */
	assert_string_equal(who(c->t, "example.org", "/"), "dflt");
}

static void test_host_forms(void **state)
{
	struct ctx *c = *state;

	assert_string_equal(who(c->t, "WWW.Example.ORG", "/"), "exact");
	assert_string_equal(who(c->t, "www.example.org:8080", "/"), "exact");
	assert_string_equal(who(c->t, "www.example.org.", "/"), "exact");
	assert_string_equal(who(c->t, "www.example.org.:443", "/"), "exact");
	assert_string_equal(who(c->t, "FOO.EXAMPLE.ORG:80", "/"), "wild");
	/* IDN: UTF-8 in the Host is looked up as punycode, any case */
	assert_string_equal(who(c->t, "b\xc3\xbc" "cher.example", "/"), "idn");
	assert_string_equal(who(c->t, "B\xc3\x9c" "CHER.example:80", "/"), "idn");
	assert_string_equal(who(c->t, "xn--bcher-kva.example", "/"), "idn");
	/* an address literal or a broken name is just an unknown host */
	assert_string_equal(who(c->t, "[::1]:80", "/"), "dflt");
	assert_string_equal(who(c->t, "b\xc3(cher.example", "/"), "dflt");
	assert_string_equal(who(c->t, NULL, "/"), "dflt");
}

/* Longest context root on segment boundaries. */
static void test_paths(void **state)
{
	struct ctx *c = *state;

	assert_string_equal(who(c->t, "site.example", "/app"), "app");
	assert_string_equal(who(c->t, "site.example", "/app/"), "app");
	assert_string_equal(who(c->t, "site.example", "/app/y"), "app");
	assert_string_equal(who(c->t, "site.example", "/apple"), "root");
	assert_string_equal(who(c->t, "site.example", "/app/x"), "appx");
	assert_string_equal(who(c->t, "site.example", "/app/x/z"), "appx");
	assert_string_equal(who(c->t, "site.example", "/app/xy"), "app");
	assert_string_equal(who(c->t, "site.example", "/"), "root");
	assert_string_equal(who(c->t, "site.example", NULL), "root");
	/* paths are case-sensitive */
	assert_string_equal(who(c->t, "site.example", "/APP"), "root");
}

static void test_not_found(void **state)
{
	struct ctx *c = *state;
	struct route_answer a;
	struct model *m = fx_model();
	struct rtable *t;

	/* a known host with no matching path is a 404, not the default backend */
	a = fx_route(c->t, "only.example", "/other");
	assert_int_equal(a.action, ROUTE_NOT_FOUND);
	assert_string_equal(a.reason, "no route for path /other on host only.example");
	a = fx_route(c->t, "only.example", "/onlyx");
	assert_int_equal(a.action, ROUTE_NOT_FOUND);

	add(m, "one", 1, "hosts=one.example", NULL);
	t = fx_build(m, 1, NULL);
	a = fx_route(t, "Nowhere.example:8080", "/");
	assert_int_equal(a.action, ROUTE_NOT_FOUND);
	assert_string_equal(a.reason, "no route for host Nowhere.example");
	assert_null(a.service);
	a = fx_route(t, NULL, "/");
	assert_string_equal(a.reason, "no Host header and no default backend");
	/* control bytes from the request never reach the reason */
	a = fx_route(t, "bad\x01host\"x", "/");
	assert_string_equal(a.reason, "no route for host bad?host?x");
	rtable_free(t);
	model_free(m);
}

static void test_rewrite(void **state)
{
	struct ctx *c = *state;
	struct route_answer a;

	a = fx_route(c->t, "rw.example", "/api/users/1.json");
	assert_int_equal(a.action, ROUTE_FORWARD);
	assert_int_equal(a.path_len, 13);
	assert_memory_equal(a.path, "/users/1.json", 13);
	a = fx_route(c->t, "rw.example", "/api/users/");
	assert_int_equal(a.action, ROUTE_FORWARD);
	assert_int_equal(a.path_len, 7);
	assert_memory_equal(a.path, "/users/", 7);
	a = fx_route(c->t, "rw.example", "/api/");
	assert_int_equal(a.path_len, 1);
	assert_memory_equal(a.path, "/", 1);
	/* a dot anywhere in the path: no slash redirect, as "[^.]*" has it */
	a = fx_route(c->t, "rw.example", "/api/v1.2/users");
	assert_int_equal(a.action, ROUTE_FORWARD);
	assert_int_equal(a.path_len, 11);
	assert_memory_equal(a.path, "/v1.2/users", 11);
	/* no rewrite: the path is kept (NULL) */
	a = fx_route(c->t, "site.example", "/app/y");
	assert_null(a.path);
}

/* Interlock's "rewrite ^([^.]*[^/])$ $1/ permanent": the context root
 * itself, and every dotless path without a trailing slash, get a 301 to
 * the same path with one, query kept, for any method.
 */
static void test_rewrite_slash_redirect(void **state)
{
	struct ctx *c = *state;
	struct route_answer a;
	struct route_req r;

	a = fx_route(c->t, "rw.example", "/api");
	assert_int_equal(a.action, ROUTE_REDIRECT);
	assert_int_equal(a.code, 301);
	assert_string_equal(a.location, "/api/");
	assert_int_equal(a.location_len, 5);
	assert_string_equal(a.service, "rw");
	a = fx_route(c->t, "rw.example", "/api/users/1");
	assert_int_equal(a.action, ROUTE_REDIRECT);
	assert_string_equal(a.location, "/api/users/1/");

	fx_req(&r, "rw.example", "/api");
	r.query = "q=1&r=2";
	r.query_len = 7;
	r.method = "POST";
	r.method_len = 4;
	rtable_route(c->t, 0, &r, &a, scratch);
	assert_int_equal(a.action, ROUTE_REDIRECT);
	assert_int_equal(a.code, 301);
	assert_string_equal(a.location, "/api/?q=1&r=2");

	/* without context_root_rewrite, nothing of the sort */
	a = fx_route(c->t, "site.example", "/app/y");
	assert_int_equal(a.action, ROUTE_FORWARD);
}

/* ssl_backend: the answer names the TLS backend and the server name to
 * send, the request's host without its port.
 */
static void test_ssl_backend(void **state)
{
	struct model *m = fx_model();
	struct model_service *s;
	struct route_answer a;
	struct rtable *t;

	(void)state;
	s = fx_service(m, "tls", 1, "lb.hosts=tls.example", "lb.port=443", "lb.ssl_backend=true", NULL);
	fx_task(m, s, "tls.1", "10.0.9.1", 0, NULL);
	s = fx_service(m, "strict", 2, "lb.hosts=strict.example", "lb.port=443", "lb.ssl_backend=true",
		       "lb.ssl_backend_tls_verify=required", NULL);
	fx_task(m, s, "strict.1", "10.0.9.2", 0, NULL);
	s = fx_service(m, "plain", 3, "lb.hosts=plain.example", "lb.port=80",
		       "lb.ssl_backend_tls_verify=required", NULL);
	fx_task(m, s, "plain.1", "10.0.9.3", 0, NULL);
	t = fx_build(m, 1, NULL);

	a = fx_route(t, "TLS.example:8443", "/x");
	assert_int_equal(a.action, ROUTE_FORWARD);
	assert_string_equal(a.backend, "tls");
	assert_int_equal(a.sni_len, 11);
	assert_memory_equal(a.sni, "TLS.example", 11);
	a = fx_route(t, "strict.example", "/");
	assert_string_equal(a.backend, "tls-verify");
	/* the verification mode alone means nothing (as with Interlock) */
	a = fx_route(t, "plain.example", "/");
	assert_int_equal(a.action, ROUTE_FORWARD);
	assert_null(a.backend);
	assert_null(a.sni);
	rtable_free(t);
	model_free(m);
}

static void test_ssl_only(void **state)
{
	struct ctx *c = *state;
	struct route_answer a;
	struct route_req r;

	fx_req(&r, "secure.example:80", "/a/b");
	r.query = "x=1&y=2";
	r.query_len = 7;
	rtable_route(c->t, 0, &r, &a, scratch);
	assert_int_equal(a.action, ROUTE_REDIRECT);
	assert_int_equal(a.code, 301);
	assert_string_equal(a.location, "https://secure.example/a/b?x=1&y=2");
	assert_int_equal(a.location_len, strlen("https://secure.example/a/b?x=1&y=2"));

	r.method = "HEAD";
	r.method_len = 4;
	rtable_route(c->t, 0, &r, &a, scratch);
	assert_int_equal(a.code, 301);
	/* other methods keep their method and body: 308 */
	r.method = "POST";
	rtable_route(c->t, 0, &r, &a, scratch);
	assert_int_equal(a.code, 308);
	r.method = "PUT";
	r.method_len = 3;
	rtable_route(c->t, 0, &r, &a, scratch);
	assert_int_equal(a.code, 308);

	r.ssl = 1;
	rtable_route(c->t, 0, &r, &a, scratch);
	assert_int_equal(a.action, ROUTE_FORWARD);
	assert_string_equal(a.service, "secure");
}

/* A path too long for the scratch buffer still gets a valid redirect. */
static void test_ssl_only_long_path(void **state)
{
	struct ctx *c = *state;
	static char path[RTABLE_SCRATCH_SIZE + 100];
	struct route_answer a;

	path[0] = '/';
	memset(path + 1, 'p', sizeof(path) - 2);
	path[sizeof(path) - 1] = '\0';
	a = fx_route(c->t, "secure.example", path);
	assert_int_equal(a.action, ROUTE_REDIRECT);
	assert_string_equal(a.location, "https://secure.example/");
}

static void test_passthrough(void **state)
{
	struct ctx *c = *state;
	struct route_answer a;
	struct route_req r;

	/* plain HTTP to a passthrough host: upgrade like ssl_only */
	a = fx_route(c->t, "pt.example", "/x");
	assert_int_equal(a.action, ROUTE_REDIRECT);
	assert_int_equal(a.code, 301);
	assert_string_equal(a.location, "https://pt.example/x");

	/* SNI lookup: path ignored, only passthrough routes */
	fx_req(&r, "PT.example", NULL);
	r.tcp = 1;
	rtable_route(c->t, 0, &r, &a, scratch);
	assert_int_equal(a.action, ROUTE_FORWARD);
	assert_string_equal(a.service, "pt");
	fx_req(&r, "www.example.org", NULL);
	r.tcp = 1;
	rtable_route(c->t, 0, &r, &a, scratch);
	assert_int_equal(a.action, ROUTE_NOT_FOUND);
	assert_string_equal(a.reason, "no TLS passthrough route for host www.example.org");
}

static void test_redirects(void **state)
{
	struct ctx *c = *state;
	struct route_answer a;
	struct route_req r;

	fx_req(&r, "OLD.example:8080", "/some/path");
	r.query = "q=1";
	r.query_len = 3;
	rtable_route(c->t, 0, &r, &a, scratch);
	assert_int_equal(a.action, ROUTE_REDIRECT);
	assert_int_equal(a.code, 302);
	assert_string_equal(a.location, "https://new.example/some/path?q=1");
	assert_string_equal(a.service, "redir");

	a = fx_route(c->t, "new.example", "/legacy/a/b");
	assert_int_equal(a.code, 302);
	assert_string_equal(a.location, "https://new.example/v2/a/b");
	a = fx_route(c->t, "new.example", "/legacy");
	assert_string_equal(a.location, "https://new.example/v2");
	/* not under /legacy on a segment boundary: served */
	assert_string_equal(who(c->t, "new.example", "/legacyx"), "redir");
	assert_string_equal(who(c->t, "new.example", "/"), "redir");
	/* a target ending in '/' gets no double slash */
	a = fx_route(c->t, "slash.example", "/a");
	assert_string_equal(a.location, "https://u.example/a");
	a = fx_route(c->t, "slash.example", "/");
	assert_string_equal(a.location, "https://u.example/");
}

static void test_websocket_and_hsts(void **state)
{
	struct ctx *c = *state;
	struct route_answer a;
	struct route_req r;

	assert_int_equal(fx_route(c->t, "ws.example", "/socket").websocket, 1);
	assert_int_equal(fx_route(c->t, "ws.example", "/socket/room/1").websocket, 1);
	assert_int_equal(fx_route(c->t, "ws.example", "/live").websocket, 1);
	assert_int_equal(fx_route(c->t, "ws.example", "/sockets").websocket, 0);
	assert_int_equal(fx_route(c->t, "ws.example", "/").websocket, 0);

	fx_req(&r, "hsts.example", "/");
	r.ssl = 1;
	rtable_route(c->t, 0, &r, &a, scratch);
	assert_int_equal(a.hsts_max_age, 600);
	/* never over plain HTTP, where browsers ignore it */
	assert_int_equal(fx_route(c->t, "hsts.example", "/").hsts_max_age, 0);
}

static void test_vip_mode(void **state)
{
	struct ctx *c = *state;
	struct route_answer a;
	char ip[NETADDR_STRLEN];

	a = fx_route(c->t, "vip.example", "/");
	assert_int_equal(a.action, ROUTE_FORWARD);
	assert_string_equal(netaddr_str(&a.dst, ip), "10.0.16.100");
	assert_int_equal(a.port, 80);
	assert_null(a.task_id);
	assert_string_equal(a.service, "vip");

	a = fx_route(c->t, "novip.example", "/");
	assert_int_equal(a.action, ROUTE_NO_TASK);
	assert_string_equal(a.reason, "service novip has no virtual IP (backend_mode=vip)");
}

static void test_no_task_reasons(void **state)
{
	struct ctx *c = *state;
	struct route_answer a;

	a = fx_route(c->t, "sick.example", "/");
	assert_int_equal(a.action, ROUTE_NO_TASK);
	assert_string_equal(a.service, "sick");
	assert_string_equal(a.reason, "no task of service sick is ready (2 starting, 1 unhealthy)");
	a = fx_route(c->t, "empty.example", "/");
	assert_int_equal(a.action, ROUTE_NO_TASK);
	assert_string_equal(a.reason, "service empty has no task");
}

static void test_forward_fields(void **state)
{
	struct ctx *c = *state;
	struct route_answer a = fx_route(c->t, "www.example.org", "/x");
	char ip[NETADDR_STRLEN];

	assert_int_equal(a.action, ROUTE_FORWARD);
	assert_string_equal(netaddr_str(&a.dst, ip), "10.0.1.1");
	assert_int_equal(a.port, 8080);
	assert_string_equal(a.task_id, "t1");
	assert_null(a.set_cookie);
	assert_null(a.reason);
	assert_null(a.location);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_before_wildcard),
		cmocka_unit_test(test_host_forms),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_rewrite),
		cmocka_unit_test(test_rewrite_slash_redirect),
		cmocka_unit_test(test_ssl_backend),
		cmocka_unit_test(test_ssl_only),
		cmocka_unit_test(test_ssl_only_long_path),
		cmocka_unit_test(test_passthrough),
		cmocka_unit_test(test_redirects),
		cmocka_unit_test(test_websocket_and_hsts),
		cmocka_unit_test(test_vip_mode),
		cmocka_unit_test(test_no_task_reasons),
		cmocka_unit_test(test_forward_fields),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
