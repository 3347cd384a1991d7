/* The routes file loader (routing/routesfile.c): the documented format,
 * its defaults, and a precise one-line reason for every mistake. A file
 * with any error must be refused as a whole (the agent then keeps the
 * routes it has).
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

#include "common/netaddr.h"
#include "routing/model.h"
#include "routing/routesfile.h"
#include "routing/rtable.h"
#include "tests/routing/fixture.h"

static const char full[] =
	"{\"services\": [\n"
	"  {\"name\": \"web\", \"id\": \"svc-web\", \"created\": \"2024-01-02T03:04:05Z\",\n"
	"   \"health_check\": true, \"stack\": \"shop\",\n"
	"   \"labels\": {\"com.docker.lb.hosts\": \"a.example\", \"com.docker.lb.port\": \"8080\"},\n"
	"   \"vips\": [{\"network\": \"net\", \"address\": \"10.0.0.2/24\"}],\n"
	"   \"tasks\": [\n"
	"     {\"id\": \"web.1\", \"address\": \"127.0.0.1\", \"port\": 8081, \"network\": \"net\",\n"
	"      \"state\": \"running\", \"desired_state\": \"running\", \"health\": \"healthy\", \"node\": \"n1\"},\n"
	"     {\"address\": \"::1\", \"state\": \"starting\", \"desired_state\": \"shutdown\", \"health\": \"starting\"}\n"
	"   ]},\n"
	"  {\"name\": \"api\"}\n"
	"]}\n";

static void test_full_file(void **state)
{
	char err[256], ip[NETADDR_STRLEN];
	struct model *m = routesfile_parse(full, strlen(full), err, sizeof(err));
	const struct model_service *s;
	const struct model_task *t;

	(void)state;
	if (!m)
		fail_msg("refused: %s", err);
	assert_string_equal(m->source, "file");
	assert_int_equal(m->nsvcs, 2);
	s = &m->svcs[0];
	assert_string_equal(s->name, "web");
	assert_string_equal(s->id, "svc-web");
	assert_string_equal(s->stack, "shop");
	assert_true(s->created_ms == 1704164645000LL);
	assert_int_equal(s->has_healthcheck, 1);
	assert_int_equal(s->nlabels, 2);
	assert_string_equal(model_label(s, "com.docker.lb.port"), "8080");
	assert_int_equal(s->nvips, 1);
	assert_string_equal(netaddr_str(&s->vips[0].addr, ip), "10.0.0.2");
	assert_string_equal(s->vips[0].network, "net");
	assert_int_equal(s->ntasks, 2);

	t = &s->tasks[0];
	assert_string_equal(t->id, "web.1");
	assert_string_equal(t->node, "n1");
	assert_int_equal(t->port, 8081);
	assert_int_equal(t->running, 1);
	assert_int_equal(t->desired_running, 1);
	assert_int_equal(t->health, MODEL_HEALTH_HEALTHY);
	assert_int_equal(t->nnets, 1);
	assert_string_equal(t->nets[0].network, "net");
	assert_string_equal(netaddr_str(&t->nets[0].addr, ip), "127.0.0.1");

	/* defaults: ID from name and position; no network = any network */
	t = &s->tasks[1];
	assert_string_equal(t->id, "web.2");
	assert_string_equal(t->state, "starting");
	assert_int_equal(t->running, 0);
	assert_int_equal(t->desired_running, 0);
	assert_int_equal(t->health, MODEL_HEALTH_STARTING);
	assert_int_equal(t->port, 0);
	assert_null(t->nets[0].network);
	assert_string_equal(netaddr_str(&t->nets[0].addr, ip), "::1");

	/* the second service: everything defaulted, ID = name */
	assert_string_equal(m->svcs[1].id, "api");
	assert_int_equal(m->svcs[1].ntasks, 0);
	assert_int_equal(m->svcs[1].nlabels, 0);
	model_free(m);
}

/* The file's services route: a task port wins over the label. */
static void test_routes_from_file(void **state)
{
	static const char text[] =
		"{\"services\":[{\"name\":\"web\",\"labels\":{\"com.docker.lb.hosts\":\"a.example\"},"
		"\"tasks\":[{\"address\":\"127.0.0.1\",\"port\":8081},{\"address\":\"127.0.0.1\",\"port\":8082}]}]}";
	char err[256], ip[NETADDR_STRLEN];
	struct model *m = routesfile_parse(text, strlen(text), err, sizeof(err));
	struct rtable *t;
	struct route_answer a;
	int seen = 0;

	(void)state;
	assert_non_null(m);
	t = fx_build(m, 1, NULL);
	model_free(m);
	for (int i = 0; i < 2; i++) {
		a = fx_route(t, "a.example", "/");
		assert_int_equal(a.action, ROUTE_FORWARD);
		assert_string_equal(netaddr_str(&a.dst, ip), "127.0.0.1");
		seen |= 1 << (a.port - 8081);
	}
	assert_int_equal(seen, 3);
	rtable_free(t);
}

/* Asserts that <text> is refused with exactly <reason>. */
static void refused(const char *text, const char *reason)
{
	char err[256];
	struct model *m = routesfile_parse(text, strlen(text), err, sizeof(err));

	if (m)
		fail_msg("accepted: %s", text);
	assert_string_equal(err, reason);
}

static void test_errors(void **state)
{
	(void)state;
	refused("[]", "the file must hold a JSON object with a \"services\" array");
	refused("{}", "\"services\" must be an array");
	refused("{\"services\":[],\"servics\":[]}", "unknown key \"servics\"");
	refused("{\"services\":[1]}", "services[0]: must be an object");
	refused("{\"services\":[{}]}", "services[0]: \"name\" is required");
	refused("{\"services\":[{\"name\":\"\"}]}", "services[0]: \"name\" must not be empty");
	refused("{\"services\":[{\"name\":7}]}", "services[0]: \"name\" must be a string");
	refused("{\"services\":[{\"name\":\"web\",\"lables\":{}}]}", "services[0] (web): unknown key \"lables\"");
	refused("{\"services\":[{\"name\":\"web\",\"labels\":{\"com.docker.lb.port\":8080}}]}",
		"services[0] (web): label \"com.docker.lb.port\" must be a string");
	refused("{\"services\":[{\"name\":\"web\",\"labels\":[]}]}",
		"services[0] (web): \"labels\" must be an object of strings");
	refused("{\"services\":[{\"name\":\"web\",\"health_check\":\"yes\"}]}",
		"services[0] (web): \"health_check\" must be true or false");
	refused("{\"services\":[{\"name\":\"web\",\"created\":\"yesterday\"}]}",
		"services[0] (web): \"created\" must be an RFC 3339 time such as 2024-05-01T12:00:00Z");
	refused("{\"services\":[{\"name\":\"web\",\"tasks\":{}}]}",
		"services[0] (web): \"tasks\" must be an array");
	refused("{\"services\":[{\"name\":\"web\",\"tasks\":[{\"address\":\"10.0.0.1\"},{\"port\":80}]}]}",
		"services[0] (web).tasks[1]: \"address\" is required");
	refused("{\"services\":[{\"name\":\"web\",\"tasks\":[{\"address\":\"10.0.0.300\"}]}]}",
		"services[0] (web).tasks[0]: \"address\" must be an IPv4 or IPv6 address");
	refused("{\"services\":[{\"name\":\"web\",\"tasks\":[{\"address\":\"10.0.0.1\",\"port\":0}]}]}",
		"services[0] (web).tasks[0]: \"port\" must be an integer from 1 to 65535");
	refused("{\"services\":[{\"name\":\"web\",\"tasks\":[{\"address\":\"10.0.0.1\",\"port\":\"80\"}]}]}",
		"services[0] (web).tasks[0]: \"port\" must be an integer from 1 to 65535");
	refused("{\"services\":[{\"name\":\"web\",\"tasks\":[{\"address\":\"10.0.0.1\",\"health\":\"ok\"}]}]}",
		"services[0] (web).tasks[0]: \"health\" must be healthy, unhealthy, starting or none");
	refused("{\"services\":[{\"name\":\"web\",\"tasks\":[{\"address\":\"10.0.0.1\",\"state\":\"up\"}]}]}",
		"services[0] (web).tasks[0]: \"state\" \"up\" is not a Docker task state (running, starting, shutdown...)");
	refused("{\"services\":[{\"name\":\"web\",\"tasks\":[{\"address\":\"10.0.0.1\",\"desired_state\":\"on\"}]}]}",
		"services[0] (web).tasks[0]: \"desired_state\" \"on\" is not a Docker task state");
	refused("{\"services\":[{\"name\":\"web\",\"tasks\":[{\"address\":\"10.0.0.1\",\"adress\":\"x\"}]}]}",
		"services[0] (web).tasks[0]: unknown key \"adress\"");
	refused("{\"services\":[{\"name\":\"web\",\"vips\":[{\"network\":\"n\"}]}]}",
		"services[0] (web).vips[0]: \"address\" is required");
	refused("{\"services\":[{\"name\":\"web\",\"tasks\":[{\"id\":\"x\",\"address\":\"10.0.0.1\"},"
		"{\"id\":\"x\",\"address\":\"10.0.0.2\"}]}]}",
		"services[0] (web): two tasks have the ID \"x\"");
	refused("{\"services\":[{\"name\":\"web\"},{\"name\":\"api\"},{\"name\":\"web\"}]}",
		"two services are named \"web\"");
	/* IDs are unique too, and an ID defaults to the service name */
	refused("{\"services\":[{\"name\":\"a\",\"id\":\"x\"},{\"name\":\"b\",\"id\":\"x\"}]}",
		"two services have the ID \"x\"");
	refused("{\"services\":[{\"name\":\"a\",\"id\":\"b\"},{\"name\":\"b\"}]}",
		"two services have the ID \"b\"");
}

static void test_bad_json(void **state)
{
	static const char truncated[] = "{\"services\": [";
	static const char dup[] = "{\"services\":[],\"services\":[]}";
	/* a NUL inside a string would cut names and labels short */
	static const char nul[] = "{\"services\":[{\"name\":\"a\\u0000b\"}]}";
	char err[256];

	(void)state;
	assert_null(routesfile_parse(truncated, strlen(truncated), err, sizeof(err)));
	assert_memory_equal(err, "line 1, column ", 15);
	assert_null(routesfile_parse(dup, strlen(dup), err, sizeof(err)));
	assert_non_null(strstr(err, "duplicate object key"));
	assert_null(routesfile_parse(nul, strlen(nul), err, sizeof(err)));
	assert_non_null(strstr(err, "\\u0000 is not allowed"));
	assert_null(routesfile_parse("", 0, err, sizeof(err)));
	assert_null(routesfile_parse("\xff\xfe", 2, err, sizeof(err)));
}

static void test_rfc3339(void **state)
{
	static const struct { const char *in; long long ms; } ok[] = {
		{ "2024-01-02T03:04:05Z", 1704164645000LL },
		{ "2024-01-02T03:04:05.5Z", 1704164645500LL },
		{ "2024-01-02T03:04:05.123456789Z", 1704164645123LL },
		{ "2024-01-02T04:04:05+01:00", 1704164645000LL },
		{ "2024-01-02T02:34:05-00:30", 1704164645000LL },
	};
	static const char *const bad[] = {
		"2024-01-02", "2024-01-02T03:04:05", "2024-13-02T03:04:05Z", "2024-01-02T03:04:05Zjunk",
		"2024-01-02T03:04:05.Z", "2024-01-02T03:04:05+1:00",
	};
	char text[256], err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct model *m;

		snprintf(text, sizeof(text), "{\"services\":[{\"name\":\"a\",\"created\":\"%s\"}]}", ok[i].in);
		m = routesfile_parse(text, strlen(text), err, sizeof(err));
		if (!m)
			fail_msg("%s: %s", ok[i].in, err);
		if (m->svcs[0].created_ms != ok[i].ms)
			fail_msg("%s: %lld, want %lld", ok[i].in, (long long)m->svcs[0].created_ms, ok[i].ms);
		model_free(m);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "{\"services\":[{\"name\":\"a\",\"created\":\"%s\"}]}", bad[i]);
		if (routesfile_parse(text, strlen(text), err, sizeof(err)))
			fail_msg("accepted %s", bad[i]);
	}
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/swarm-spoa-routes-XXXXXX", err[512];
	struct model *m;
	int fd = mkstemp(path);
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(full, f);
	fclose(f);
	m = routesfile_load(path, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(m->nsvcs, 2);
	model_free(m);

	/* errors name the file */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"services\":[{\"name\":1}]}", f);
	fclose(f);
	assert_null(routesfile_load(path, err, sizeof(err)));
	assert_memory_equal(err, path, strlen(path));
	assert_string_equal(err + strlen(path), ": services[0]: \"name\" must be a string");
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\n\"services\": [\n,]}", f);
	fclose(f);
	assert_null(routesfile_load(path, err, sizeof(err)));
	assert_memory_equal(err, path, strlen(path));
	assert_memory_equal(err + strlen(path), ": line 3, column", 16);
	unlink(path);

	assert_null(routesfile_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_routes_from_file),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_bad_json),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_load_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
