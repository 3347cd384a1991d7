/* com.docker.lb.* label parsing (routing/labels.c). Every error reason is
 * checked word for word: it is what an operator reads in "show services"
 * to fix a label, so a vague or wrong one is a bug.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/arena.h"
#include "routing/labels.h"
#include "routing/model.h"
#include "tests/routing/fixture.h"

struct ctx {
	struct model *m;
	struct labels_spec spec;
	char err[512];
};

static int setup(void **state)
{
	static struct ctx c;

	memset(&c, 0, sizeof(c));
	c.m = fx_model();
	*state = &c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	model_free(c->m);
	return 0;
}

/* Parses a service with the single label <key>=<value>. */
static int parse1(struct ctx *c, const char *key, const char *value)
{
	struct model_service *s = fx_service(c->m, "svc", 0, NULL);

	fx_label(c->m, s, key, value);
	c->err[0] = '\0';
	return labels_parse(s, c->m->arena, &c->spec, c->err, sizeof(c->err));
}

/* Asserts that label <key>=<value> is refused with exactly <reason>. */
#define assert_refused(c, key, value, reason) do {				\
		assert_int_equal(parse1((c), (key), (value)), -1);		\
		assert_string_equal((c)->err, (reason));			\
	} while (0)

static void test_defaults(void **state)
{
	struct ctx *c = *state;
	struct model_service *s = fx_service(c->m, "plain", 0, "com.example.team=web", NULL);

	assert_int_equal(labels_parse(s, c->m->arena, &c->spec, c->err, sizeof(c->err)), 0);
	assert_int_equal(c->spec.nhosts, 0);
	assert_null(c->spec.hosts_raw);
	assert_int_equal(c->spec.port, 0);
	assert_string_equal(c->spec.context_root, "/");
	assert_int_equal(c->spec.weight, 100);
	assert_int_equal(c->spec.mode, LABELS_MODE_TASK);
	assert_false(c->spec.ssl_only || c->spec.ip_hash || c->spec.default_backend ||
		     c->spec.context_root_rewrite || c->spec.ssl_passthrough);
	assert_null(c->spec.sticky_cookie);
}

/* Every label at once, written the way Interlock users write them. */
static void test_all_labels(void **state)
{
	struct ctx *c = *state;
	struct model_service *s = fx_service(c->m, "full", 0,
		"lb.hosts=App.Example.org, *.Wild.example ,b.example.org.,",
		"lb.port= 8080 ",
		"lb.network=app_net",
		"lb.context_root=/app/",
		"lb.context_root_rewrite=TRUE",
		"lb.ssl_only=1",
		"lb.ssl_passthrough=False",
		"lb.ip_hash=true",
		"lb.default_backend=0",
		"lb.ssl_cert=app_cert",
		"lb.ssl_key=app_key",
		"lb.sticky_session_cookie=SRV",
		"lb.redirects=http://Old.Example:8080/Path/,https://new.example/ ; http://x.example,http://y.example/z",
		"lb.websocket_endpoints=/ws/, /socket",
		"lb.backend_mode=VIP",
		"lb.service_cluster=blue",
		"lb.weight=5",
		"lb.hsts=31536000",
		"lb.some_future_label=whatever",
		NULL);
	const struct labels_spec *sp = &c->spec;

	assert_int_equal(labels_parse(s, c->m->arena, &c->spec, c->err, sizeof(c->err)), 0);
	assert_int_equal(sp->nhosts, 3);
	assert_string_equal(sp->hosts[0], "app.example.org");
	assert_string_equal(sp->hosts[1], "*.wild.example");
	assert_string_equal(sp->hosts[2], "b.example.org");
	assert_int_equal(sp->port, 8080);
	assert_string_equal(sp->network, "app_net");
	assert_string_equal(sp->context_root, "/app");
	assert_int_equal(sp->context_root_len, 4);
	assert_true(sp->context_root_rewrite);
	assert_true(sp->ssl_only);
	assert_false(sp->ssl_passthrough);
	assert_true(sp->ip_hash);
	assert_false(sp->default_backend);
	assert_string_equal(sp->ssl_cert, "app_cert");
	assert_string_equal(sp->ssl_key, "app_key");
	assert_string_equal(sp->sticky_cookie, "SRV");
	assert_int_equal(sp->nredirects, 2);
	assert_string_equal(sp->redirects[0].src_host, "old.example");
	assert_memory_equal(sp->redirects[0].src_path, "/Path", 5);
	assert_int_equal(sp->redirects[0].src_path_len, 5);
	assert_string_equal(sp->redirects[0].target, "https://new.example/");
	assert_string_equal(sp->redirects[1].src_host, "x.example");
	assert_int_equal(sp->redirects[1].src_path_len, 0);
	assert_string_equal(sp->redirects[1].target, "http://y.example/z");
	assert_int_equal(sp->nwebsockets, 2);
	assert_string_equal(sp->websockets[0], "/ws");
	assert_string_equal(sp->websockets[1], "/socket");
	assert_int_equal(sp->mode, LABELS_MODE_VIP);
	assert_string_equal(sp->cluster, "blue");
	assert_int_equal(sp->weight, 5);
	assert_int_equal(sp->hsts_max_age, 31536000);
}

static void test_hosts(void **state)
{
	struct ctx *c = *state;

	/* the same host twice (any case) is one host */
	assert_int_equal(parse1(c, "com.docker.lb.hosts", "a.example,A.EXAMPLE"), 0);
	assert_int_equal(c->spec.nhosts, 1);
	assert_int_equal(parse1(c, "com.docker.lb.hosts", "b\xc3\xbc" "cher.example"), 0);
	assert_string_equal(c->spec.hosts[0], "xn--bcher-kva.example");

	assert_refused(c, "com.docker.lb.hosts", "", "com.docker.lb.hosts: no host name");
	assert_refused(c, "com.docker.lb.hosts", " , ", "com.docker.lb.hosts: no host name");
	assert_refused(c, "com.docker.lb.hosts", "ok.example,my_app.example",
		       "com.docker.lb.hosts: \"my_app.example\" is not a valid host name: "
		       "invalid character '_' in host name");
	assert_refused(c, "com.docker.lb.hosts", "a.*.example",
		       "com.docker.lb.hosts: \"a.*.example\" is not a valid host name: "
		       "'*' is only allowed as the first label (\"*.example.org\")");
	assert_refused(c, "com.docker.lb.hosts", "http://a.example",
		       "com.docker.lb.hosts: \"http://a.example\" is not a valid host name: "
		       "invalid character ':' in host name");
}

/* CR, LF or any control byte in a com.docker.lb.* value would end up in a
 * header or a log line: the service is refused.
 */
static void test_control_bytes(void **state)
{
	struct ctx *c = *state;

	assert_refused(c, "com.docker.lb.hosts", "a.example\r\nX-Injected: 1",
		       "com.docker.lb.hosts: control byte 0x0d at offset 9 of the value");
	assert_refused(c, "com.docker.lb.context_root", "/app\n",
		       "com.docker.lb.context_root: control byte 0x0a at offset 4 of the value");
	assert_refused(c, "com.docker.lb.sticky_session_cookie", "a\tb",
		       "com.docker.lb.sticky_session_cookie: control byte 0x09 at offset 1 of the value");
	/* unknown com.docker.lb labels are checked too, DEL included */
	assert_refused(c, "com.docker.lb.future", "x\x7f",
		       "com.docker.lb.future: control byte 0x7f at offset 1 of the value");
	/* labels outside com.docker.lb.* are none of our business */
	assert_int_equal(parse1(c, "com.example.notes", "line1\nline2"), 0);
}

static void test_port(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(parse1(c, "com.docker.lb.port", "1"), 0);
	assert_int_equal(c->spec.port, 1);
	assert_int_equal(parse1(c, "com.docker.lb.port", "65535"), 0);
	assert_int_equal(c->spec.port, 65535);
	assert_refused(c, "com.docker.lb.port", "0",
		       "com.docker.lb.port: \"0\" is not a port number (1-65535)");
	assert_refused(c, "com.docker.lb.port", "65536",
		       "com.docker.lb.port: \"65536\" is not a port number (1-65535)");
	assert_refused(c, "com.docker.lb.port", "80a",
		       "com.docker.lb.port: \"80a\" is not a port number (1-65535)");
	assert_refused(c, "com.docker.lb.port", "-1",
		       "com.docker.lb.port: \"-1\" is not a port number (1-65535)");
	assert_refused(c, "com.docker.lb.port", "99999999999",
		       "com.docker.lb.port: \"99999999999\" is not a port number (1-65535)");
}

static void test_booleans(void **state)
{
	static const char *const names[] = {
		"context_root_rewrite", "ssl_only", "ssl_passthrough", "ip_hash", "default_backend",
	};
	struct ctx *c = *state;

	assert_int_equal(labels_bool("TRUE"), 1);
	assert_int_equal(labels_bool("True"), 1);
	assert_int_equal(labels_bool("1"), 1);
	assert_int_equal(labels_bool("false"), 0);
	assert_int_equal(labels_bool("FALSE"), 0);
	assert_int_equal(labels_bool("0"), 0);
	assert_int_equal(labels_bool("yes"), -1);
	assert_int_equal(labels_bool("on"), -1);
	assert_int_equal(labels_bool(""), -1);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char key[64], reason[128];

		snprintf(key, sizeof(key), "com.docker.lb.%s", names[i]);
		snprintf(reason, sizeof(reason), "com.docker.lb.%s: \"yes\" is not a boolean (true or false)",
			 names[i]);
		assert_refused(c, key, "yes", reason);
	}
	assert_refused(c, "com.docker.lb.ssl_only", "truetrue",
		       "com.docker.lb.ssl_only: \"truetrue\" is not a boolean (true or false)");
}

static void test_context_root(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(parse1(c, "com.docker.lb.context_root", "/"), 0);
	assert_string_equal(c->spec.context_root, "/");
	assert_int_equal(parse1(c, "com.docker.lb.context_root", "///"), 0);
	assert_string_equal(c->spec.context_root, "/");
	assert_int_equal(parse1(c, "com.docker.lb.context_root", "/a/b//"), 0);
	assert_string_equal(c->spec.context_root, "/a/b");
	assert_refused(c, "com.docker.lb.context_root", "app",
		       "com.docker.lb.context_root: \"app\" must start with '/'");
	assert_refused(c, "com.docker.lb.context_root", "/my app",
		       "com.docker.lb.context_root: \"/my app\" must not contain spaces, control bytes, '?', '#', ';' or ','");
	assert_refused(c, "com.docker.lb.context_root", "/app?x=1",
		       "com.docker.lb.context_root: \"/app?x=1\" must not contain spaces, control bytes, '?', '#', ';' or ','");
	/* the context root is a managed cookie's Path: no attribute smuggled in */
	assert_refused(c, "com.docker.lb.context_root", "/a;Domain=evil.example",
		       "com.docker.lb.context_root: \"/a;Domain=evil.example\" must not contain spaces, control bytes, '?', '#', ';' or ','");
	assert_refused(c, "com.docker.lb.context_root", "/a,b",
		       "com.docker.lb.context_root: \"/a,b\" must not contain spaces, control bytes, '?', '#', ';' or ','");
}

static void test_names(void **state)
{
	struct ctx *c = *state;

	assert_refused(c, "com.docker.lb.network", "my net",
		       "com.docker.lb.network: \"my net\" is not a name (no spaces, commas or semicolons)");
	assert_refused(c, "com.docker.lb.ssl_cert", "a,b",
		       "com.docker.lb.ssl_cert: \"a,b\" is not a name (no spaces, commas or semicolons)");
	assert_refused(c, "com.docker.lb.ssl_key", "k;x",
		       "com.docker.lb.ssl_key: \"k;x\" is not a name (no spaces, commas or semicolons)");
	assert_refused(c, "com.docker.lb.service_cluster", "a b",
		       "com.docker.lb.service_cluster: \"a b\" is not a name (no spaces, commas or semicolons)");
	/* an empty label is an unset label */
	assert_int_equal(parse1(c, "com.docker.lb.ssl_cert", ""), 0);
	assert_null(c->spec.ssl_cert);
}

static void test_sticky_cookie(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(parse1(c, "com.docker.lb.sticky_session_cookie", "session_id-1.x"), 0);
	assert_string_equal(c->spec.sticky_cookie, "session_id-1.x");
	assert_refused(c, "com.docker.lb.sticky_session_cookie", "my cookie",
		       "com.docker.lb.sticky_session_cookie: \"my cookie\" is not a valid cookie name (RFC 6265 token)");
	assert_refused(c, "com.docker.lb.sticky_session_cookie", "a=b",
		       "com.docker.lb.sticky_session_cookie: \"a=b\" is not a valid cookie name (RFC 6265 token)");
	assert_refused(c, "com.docker.lb.sticky_session_cookie", "a;b",
		       "com.docker.lb.sticky_session_cookie: \"a;b\" is not a valid cookie name (RFC 6265 token)");
	assert_refused(c, "com.docker.lb.sticky_session_cookie", "caf\xc3\xa9",
		       "com.docker.lb.sticky_session_cookie: \"caf\xc3\xa9\" is not a valid cookie name (RFC 6265 token)");
}

/* ssl_backend and its verification mode, as Interlock spelt them. */
static void test_ssl_backend(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(parse1(c, "com.docker.lb.ssl_backend", "true"), 0);
	assert_true(c->spec.ssl_backend);
	assert_false(c->spec.ssl_backend_verify);
	assert_int_equal(parse1(c, "com.docker.lb.ssl_backend_tls_verify", "required"), 0);
	assert_true(c->spec.ssl_backend_verify);
	assert_int_equal(parse1(c, "com.docker.lb.ssl_backend_tls_verify", "None"), 0);
	assert_false(c->spec.ssl_backend_verify);
	assert_refused(c, "com.docker.lb.ssl_backend", "yes",
		       "com.docker.lb.ssl_backend: \"yes\" is not a boolean (true or false)");
	assert_refused(c, "com.docker.lb.ssl_backend_tls_verify", "optional",
		       "com.docker.lb.ssl_backend_tls_verify: \"optional\" is not \"none\" or \"required\"");
}

/* swarm-spoa.sticky_managed: our label, read only with the cookie name. */
static void test_sticky_managed(void **state)
{
	struct ctx *c = *state;
	struct model_service *s;

	assert_int_equal(parse1(c, "com.docker.lb.sticky_session_cookie", "SRV"), 0);
	assert_false(c->spec.sticky_managed);
	s = fx_service(c->m, "m", 0, "lb.sticky_session_cookie=SRV", "swarm-spoa.sticky_managed=true", NULL);
	assert_int_equal(labels_parse(s, c->m->arena, &c->spec, c->err, sizeof(c->err)), 0);
	assert_true(c->spec.sticky_managed);
	assert_string_equal(c->spec.sticky_cookie, "SRV");
	assert_refused(c, "swarm-spoa.sticky_managed", "true",
		       "swarm-spoa.sticky_managed needs com.docker.lb.sticky_session_cookie: the name of the cookie");
	assert_refused(c, "swarm-spoa.sticky_managed", "yes",
		       "swarm-spoa.sticky_managed: \"yes\" is not a boolean (true or false)");
	assert_refused(c, "swarm-spoa.sticky_managed", "a\rb",
		       "swarm-spoa.sticky_managed: control byte 0x0d at offset 1 of the value");
	/* not in Interlock's namespace: com.docker.lb.sticky_managed means nothing */
	assert_int_equal(parse1(c, "com.docker.lb.sticky_managed", "true"), 0);
	assert_false(c->spec.sticky_managed);
	assert_int_equal(parse1(c, "swarm-spoa.sticky_managed", "false"), 0);
}

static void test_redirects(void **state)
{
	struct ctx *c = *state;

	assert_refused(c, "com.docker.lb.redirects", "http://a.example",
		       "com.docker.lb.redirects: \"http://a.example\" is not a \"source,target\" pair");
	assert_refused(c, "com.docker.lb.redirects", "http://a,http://b,http://c",
		       "com.docker.lb.redirects: \"http://a,http://b,http://c\" is not a \"source,target\" pair");
	assert_refused(c, "com.docker.lb.redirects", "ftp://a.example,http://b.example",
		       "com.docker.lb.redirects: \"ftp://a.example\" is not an absolute http:// or https:// URL");
	assert_refused(c, "com.docker.lb.redirects", "http://a.example,/relative",
		       "com.docker.lb.redirects: \"/relative\" is not an absolute http:// or https:// URL");
	assert_refused(c, "com.docker.lb.redirects", "http://a.example,http://b.example/?x=1",
		       "com.docker.lb.redirects: \"http://b.example/?x=1\" must be scheme://host[:port][/path] (no spaces, query or fragment)");
	assert_refused(c, "com.docker.lb.redirects", "http:///path,http://b.example",
		       "com.docker.lb.redirects: \"http:///path\" has no host");
	assert_refused(c, "com.docker.lb.redirects", "http://a_b.example,http://b.example",
		       "com.docker.lb.redirects: \"http://a_b.example\" has an invalid host name: "
		       "invalid character '_' in host name");
	/* pairs are separated by ';', empty pairs ignored */
	assert_int_equal(parse1(c, "com.docker.lb.redirects", "http://a.example,http://b.example;"), 0);
	assert_int_equal(c->spec.nredirects, 1);
}

static void test_websockets_mode_weight_hsts(void **state)
{
	struct ctx *c = *state;

	assert_refused(c, "com.docker.lb.websocket_endpoints", "/ws,socket",
		       "com.docker.lb.websocket_endpoints: \"socket\" is not a path (starts with '/', no spaces, '?', '#', ';' or ',')");
	assert_int_equal(parse1(c, "com.docker.lb.backend_mode", "task"), 0);
	assert_int_equal(c->spec.mode, LABELS_MODE_TASK);
	/* Interlock's documentation spells task mode "default" too */
	assert_int_equal(parse1(c, "com.docker.lb.backend_mode", "vip"), 0);
	assert_int_equal(c->spec.mode, LABELS_MODE_VIP);
	assert_int_equal(parse1(c, "com.docker.lb.backend_mode", "default"), 0);
	assert_int_equal(c->spec.mode, LABELS_MODE_TASK);
	assert_int_equal(parse1(c, "com.docker.lb.backend_mode", "Default"), 0);
	assert_int_equal(c->spec.mode, LABELS_MODE_TASK);
	assert_refused(c, "com.docker.lb.backend_mode", "dnsrr",
		       "com.docker.lb.backend_mode: \"dnsrr\" is not \"task\", \"default\" or \"vip\"");
	assert_int_equal(parse1(c, "com.docker.lb.weight", "0"), 0);
	assert_int_equal(c->spec.weight, 0);
	assert_int_equal(parse1(c, "com.docker.lb.weight", "10000"), 0);
	assert_int_equal(c->spec.weight, 10000);
	assert_refused(c, "com.docker.lb.weight", "10001",
		       "com.docker.lb.weight: \"10001\" is not an integer from 0 to 10000");
	assert_refused(c, "com.docker.lb.weight", "1.5",
		       "com.docker.lb.weight: \"1.5\" is not an integer from 0 to 10000");
	assert_refused(c, "com.docker.lb.hsts", "-1",
		       "com.docker.lb.hsts: \"-1\" is not a max-age in seconds (0-999999999)");
}

/* A long bad value is quoted truncated, so that reasons stay one line of
 * reasonable length.
 */
static void test_long_value_truncated(void **state)
{
	struct ctx *c = *state;
	char value[300];

	memset(value, '9', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	assert_int_equal(parse1(c, "com.docker.lb.weight", value), -1);
	assert_true(strstr(c->err, "...\" is not an integer") != NULL);
	assert_true(strlen(c->err) < 200);
}

/* Labels are written by any tenant: sizes and counts are bounded, and
 * duplicates are found without comparing every pair (a 40,000-name hosts
 * label used to stall every rebuild for seconds).
 */
static void test_caps(void **state)
{
	struct ctx *c = *state;
	static char v[LABELS_VALUE_MAX + 64];
	size_t n = 0;

	/* any com.docker.lb.* value, known or not */
	memset(v, 'a', LABELS_VALUE_MAX + 1);
	v[LABELS_VALUE_MAX + 1] = '\0';
	assert_refused(c, "com.docker.lb.anything", v,
		       "com.docker.lb.anything: value longer than 16384 bytes");
	v[LABELS_VALUE_MAX] = '\0';
	assert_int_equal(parse1(c, "com.docker.lb.anything", v), 0);

	for (int i = 0; i < LABELS_HOSTS_MAX; i++)
		n += (size_t)sprintf(v + n, "h%d.example,", i);
	assert_int_equal(parse1(c, "com.docker.lb.hosts", v), 0);
	assert_int_equal(c->spec.nhosts, LABELS_HOSTS_MAX);
	sprintf(v + n, "one-more.example");
	assert_refused(c, "com.docker.lb.hosts", v, "com.docker.lb.hosts: more than 100 host names");

	/* duplicates count once, in any case */
	for (n = 0; n + 16 < LABELS_VALUE_MAX;)
		n += (size_t)sprintf(v + n, "%s", (n / 12) % 2 ? "A.example.c," : "a.example.c,");
	assert_int_equal(parse1(c, "com.docker.lb.hosts", v), 0);
	assert_int_equal(c->spec.nhosts, 1);

	for (n = 0; n + 16 < LABELS_VALUE_MAX;)
		n += (size_t)sprintf(v + n, "/ws,/live/,");
	assert_int_equal(parse1(c, "com.docker.lb.websocket_endpoints", v), 0);
	assert_int_equal(c->spec.nwebsockets, 2);
	n = 0;
	for (int i = 0; i <= LABELS_WEBSOCKETS_MAX; i++)
		n += (size_t)sprintf(v + n, "/w%d,", i);
	assert_refused(c, "com.docker.lb.websocket_endpoints", v,
		       "com.docker.lb.websocket_endpoints: more than 32 paths");

	n = 0;
	for (int i = 0; i <= LABELS_REDIRECTS_MAX; i++)
		n += (size_t)sprintf(v + n, "http://a%d.example,https://b.example;", i);
	assert_refused(c, "com.docker.lb.redirects", v,
		       "com.docker.lb.redirects: more than 32 redirects");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_labels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hosts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_booleans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_context_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sticky_cookie, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sticky_managed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ssl_backend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redirects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_websockets_mode_weight_hsts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_value_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
