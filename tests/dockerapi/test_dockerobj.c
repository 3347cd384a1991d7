/* Shared Docker object readers: RFC 3339 times as Docker writes them (task
 * state times drive the convergence figures), label maps, a task's
 * addresses, published ports, members read by table, list answers and the
 * daemon's /version and /info.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/netaddr.h"
#include "common/arena.h"
#include "common/jscan.h"
#include "dockerapi/dockerobj.h"

static void init(struct jscan *s, const char *text)
{
	jscan_init(s, text, strlen(text));
}

/* A task's addresses: one per address, named after the network (its ID
 * without a name), what is not an address left out; a null or a value of
 * another type holds none.
 */
static void test_attachments(void **state)
{
	struct arena *a = arena_new(1024);
	struct model_netattach *n;
	size_t count;
	struct jscan s;
	char ip[NETADDR_STRLEN];

	(void)state;
	init(&s, "[{\"Network\":{\"ID\":\"n1\",\"Spec\":{\"Name\":\"web_net\"}},"
	     "\"Addresses\":[\"10.0.1.5/24\",\"garbage\",7,\"fd00::5/64\"]},"
	     "{\"Network\":{\"ID\":\"n2\"},\"Addresses\":[\"10.0.2.5/24\"]},"
	     "{\"Network\":{\"ID\":\"n3\",\"Spec\":{\"Name\":\"empty\"}},\"Addresses\":[]},"
	     "\"not an attachment\",{\"Addresses\":[\"10.0.3.5\"]}]");
	assert_int_equal(dockerobj_attachments(&s, a, &n, &count), 0);
	assert_int_equal(jscan_finish(&s), 0);
	assert_int_equal(count, 4);
	assert_string_equal(n[0].network, "web_net");
	assert_string_equal(n[0].network_id, "n1");
	assert_string_equal(netaddr_str(&n[0].addr, ip), "10.0.1.5");
	assert_string_equal(netaddr_str(&n[1].addr, ip), "fd00::5");
	assert_string_equal(n[2].network, "n2");
	assert_string_equal(netaddr_str(&n[2].addr, ip), "10.0.2.5");
	/* no network at all: NULL names it, which the table reads as any */
	assert_null(n[3].network);
	assert_null(n[3].network_id);

	init(&s, "null");
	assert_int_equal(dockerobj_attachments(&s, a, &n, &count), 0);
	assert_int_equal(count, 0);
	assert_null(n);
	init(&s, "{\"Addresses\":[\"10.0.0.1\"]}");
	assert_int_equal(dockerobj_attachments(&s, a, &n, &count), 0);
	assert_int_equal(count, 0);
	init(&s, "[{\"Addresses\":[\"10.0.0.1\",]}]");
	assert_int_equal(dockerobj_attachments(&s, a, &n, &count), -1);
	arena_free(a);
}

/* Published ports as Docker writes them, its defaults, and the ports left
 * out (an unknown protocol or mode, a number out of range).
 */
static void test_ports(void **state)
{
	struct arena *a = arena_new(1024);
	struct model_port *p;
	size_t n;
	struct jscan s;

	(void)state;
	init(&s, "[{\"Protocol\":\"tcp\",\"TargetPort\":80,\"PublishedPort\":30080,\"PublishMode\":\"host\"},"
	     "{\"Protocol\":\"udp\",\"TargetPort\":53,\"PublishedPort\":30053,\"PublishMode\":\"host\"},"
	     "{\"TargetPort\":8080,\"PublishedPort\":30000},"
	     "{\"Protocol\":\"sctp\",\"TargetPort\":9,\"PublishMode\":\"ingress\"},"
	     "{\"Protocol\":\"quic\",\"TargetPort\":443,\"PublishedPort\":443},"
	     "{\"TargetPort\":80,\"PublishedPort\":80,\"PublishMode\":\"mesh\"},"
	     "{\"TargetPort\":70000,\"PublishedPort\":80},{\"TargetPort\":80,\"PublishedPort\":-1},"
	     "{\"PublishedPort\":80},{\"TargetPort\":\"80\"},{\"TargetPort\":1.5},[80],null]");
	assert_int_equal(dockerobj_ports(&s, a, &p, &n), 0);
	assert_int_equal(jscan_finish(&s), 0);
	assert_int_equal(n, 4);
	assert_int_equal(p[0].target, 80);
	assert_int_equal(p[0].published, 30080);
	assert_int_equal(p[0].protocol, MODEL_PROTO_TCP);
	assert_int_equal(p[0].mode, MODEL_PUBLISH_HOST);
	assert_int_equal(p[1].protocol, MODEL_PROTO_UDP);
	assert_int_equal(p[1].published, 30053);
	/* Docker's defaults: tcp, through the routing mesh */
	assert_int_equal(p[2].target, 8080);
	assert_int_equal(p[2].protocol, MODEL_PROTO_TCP);
	assert_int_equal(p[2].mode, MODEL_PUBLISH_INGRESS);
	assert_int_equal(p[3].protocol, MODEL_PROTO_SCTP);
	assert_int_equal(p[3].published, 0);

	/* the same port twice (as dockerd lists a task's host-mode ports): once */
	init(&s, "[{\"TargetPort\":80,\"PublishedPort\":30080,\"PublishMode\":\"host\"},"
	     "{\"TargetPort\":80,\"PublishedPort\":30080,\"PublishMode\":\"host\"},"
	     "{\"TargetPort\":80,\"PublishedPort\":30080,\"PublishMode\":\"host\",\"Protocol\":\"udp\"}]");
	assert_int_equal(dockerobj_ports(&s, a, &p, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(p[1].protocol, MODEL_PROTO_UDP);

	init(&s, "null");
	assert_int_equal(dockerobj_ports(&s, a, &p, &n), 0);
	assert_int_equal(n, 0);
	assert_null(p);
	init(&s, "{}");
	assert_int_equal(dockerobj_ports(&s, a, &p, &n), 0);
	assert_int_equal(n, 0);
	init(&s, "[{\"TargetPort\":80}");
	assert_int_equal(dockerobj_ports(&s, a, &p, &n), -1);
	arena_free(a);
}

/* Members by table: strings straight into their fields, the others to the
 * caller in document order, unknown ones skipped.
 */
static void test_next(void **state)
{
	static const char *const names[] = { "ID", "Name", "Spec", "Count", NULL };
	struct arena *a = arena_new(1024);
	const char *id = NULL, *name = NULL, *reason = NULL;
	const char **const strs[] = { &id, &name, NULL };
	struct jscan s;
	int which, rc, seen = 0;
	int64_t count = 0;

	(void)state;
	init(&s, "{\"Other\":[1],\"Spec\":{\"ID\":\"inner\"},\"ID\":\"abc\",\"Count\":3,\"Name\":null}");
	assert_int_equal(dockerobj_enter(&s, "not an object", &reason), 1);
	while ((rc = dockerobj_next(&s, a, names, strs, &which, &reason)) == 1) {
		seen = seen * 10 + which;
		if (which == 3)
			assert_int_equal(dockerobj_int(&s, &count, &reason), 0);
		else
			assert_int_equal(jscan_skip(&s), 0);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(jscan_finish(&s), 0);
	assert_int_equal(seen, 23);
	assert_string_equal(id, "abc");
	assert_null(name);
	assert_int_equal(count, 3);
	assert_null(reason);

	/* a string of another type is a reason, not an error */
	init(&s, "{\"ID\":42}");
	assert_int_equal(dockerobj_enter(&s, "not an object", &reason), 1);
	assert_int_equal(dockerobj_next(&s, a, names, strs, &which, &reason), 0);
	assert_non_null(reason);

	/* not an object: consumed, with the caller's reason */
	reason = NULL;
	init(&s, "[1,2]");
	assert_int_equal(dockerobj_enter(&s, "Spec is not an object", &reason), 0);
	assert_string_equal(reason, "Spec is not an object");
	assert_int_equal(jscan_finish(&s), 0);
	arena_free(a);
}

static void test_enum_and_path(void **state)
{
	static const char *const words[] = { "ready", "down", NULL };
	static const char *const path[] = { "Description", "Hostname", NULL };
	struct arena *a = arena_new(1024);
	const char *host, *reason = NULL;
	struct jscan s;
	int w;

	(void)state;
	init(&s, "\"down\"");
	assert_int_equal(dockerobj_enum(&s, words, &w), 0);
	assert_int_equal(w, 1);
	init(&s, "\"unknown\"");
	assert_int_equal(dockerobj_enum(&s, words, &w), 0);
	assert_int_equal(w, -1);
	init(&s, "{\"ready\":1}");
	assert_int_equal(dockerobj_enum(&s, words, &w), 0);
	assert_int_equal(w, -1);
	assert_int_equal(jscan_finish(&s), 0);

	init(&s, "{\"Description\":{\"Hostname\":\"vm\"}}");
	assert_int_equal(dockerobj_path_str(&s, path, a, &host, &reason), 0);
	assert_string_equal(host, "vm");
	init(&s, "{\"Description\":{}}");
	assert_int_equal(dockerobj_path_str(&s, path, a, &host, &reason), 0);
	assert_null(host);
	arena_free(a);
}

struct keep_even {
	int calls;
};

/* Keeps the even numbers of a list; a 13 stops it without a syntax error. */
static int read_even(struct jscan *s, struct arena *a, void *rec, void *arg)
{
	struct keep_even *k = arg;
	int64_t *v = rec;

	(void)a;
	k->calls++;
	assert_int_equal(*v, 0);   /* records come zeroed */
	if (jscan_int64(s, v) < 0)
		return -1;
	if (*v == 13)
		return -1;
	return *v % 2 == 0;
}

static void test_lists(void **state)
{
	static const char *const bad[] = { "", "{}", "[1,", "[1] 2", "<html>" };
	struct dockerobj_records r;
	struct keep_even k = { 0 };
	char err[128];
	int64_t *v;

	(void)state;
	assert_int_equal(dockerobj_collect("[1,2,3,4,6]", 11, "number", sizeof(int64_t), read_even,
					   &k, &r, err, sizeof(err)), 0);
	assert_int_equal(k.calls, 5);
	assert_int_equal(r.n, 3);
	v = r.v;
	assert_true(v[0] == 2 && v[1] == 4 && v[2] == 6);
	arena_free(r.arena);

	assert_int_equal(dockerobj_collect("[]", 2, "number", sizeof(int64_t), read_even, &k, &r,
					   err, sizeof(err)), 0);
	assert_int_equal(r.n, 0);
	assert_null(r.v);
	arena_free(r.arena);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(dockerobj_collect(bad[i], strlen(bad[i]), "number", sizeof(int64_t),
						   read_even, &k, &r, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "bad number list: "));
		assert_null(r.arena);
	}
	/* the reader gave up without a syntax error: memory */
	assert_int_equal(dockerobj_collect("[2,13,4]", 8, "number", sizeof(int64_t), read_even, &k,
					   &r, err, sizeof(err)), -1);
	assert_string_equal(err, "out of memory");
}

/* /version and /info: what decides the API version and the mode. */
static void test_daemon(void **state)
{
	struct dockerobj_info info;
	char api[16], min[16], err[128];
	static const char info_json[] =
		"{\"ID\":\"x\",\"Name\":\"vm\",\"Swarm\":{\"NodeID\":\"n\",\"LocalNodeState\":\"active\","
		"\"ControlAvailable\":true,\"RemoteManagers\":null}}";
	static const char worker[] =
		"{\"Name\":\"w1\",\"Swarm\":{\"LocalNodeState\":\"active\",\"ControlAvailable\":false}}";
	static const char alone[] = "{\"Name\":\"vm\",\"Swarm\":{\"LocalNodeState\":\"inactive\"}}";
	static const char version[] =
		"{\"Version\":\"20.10.24\",\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\"}";
	static const char odd[] = "{\"ApiVersion\":\"1.41.0000000000000000\",\"MinAPIVersion\":1}";

	(void)state;
	assert_int_equal(dockerobj_version(version, strlen(version), api, min, sizeof(api),
					   err, sizeof(err)), 0);
	assert_string_equal(api, "1.41");
	assert_string_equal(min, "1.12");
	/* too long for the buffer, or of another type: "" */
	assert_int_equal(dockerobj_version(odd, strlen(odd), api, min, sizeof(api), err,
					   sizeof(err)), 0);
	assert_string_equal(api, "");
	assert_string_equal(min, "");
	assert_int_equal(dockerobj_version("[]", 2, api, min, sizeof(api), err, sizeof(err)), -1);
	assert_true(strlen(err) > 0);

	assert_int_equal(dockerobj_info(info_json, sizeof(info_json) - 1, &info, err, sizeof(err)), 0);
	assert_string_equal(info.name, "vm");
	assert_true(info.swarm_active);
	assert_true(info.swarm_manager);
	assert_int_equal(dockerobj_info(worker, sizeof(worker) - 1, &info, err, sizeof(err)), 0);
	assert_true(info.swarm_active);
	assert_false(info.swarm_manager);
	assert_int_equal(dockerobj_info(alone, strlen(alone), &info, err, sizeof(err)), 0);
	assert_false(info.swarm_active);
	assert_int_equal(dockerobj_info("{\"Name\":\"vm\"", 12, &info, err, sizeof(err)), -1);
}

static void test_time(void **state)
{
	(void)state;
	assert_int_equal(dockerobj_time_ms("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(dockerobj_time_ms("2024-01-02T03:04:05Z"), 1704164645000LL);
	/* nanoseconds are cut to milliseconds, never rounded up */
	assert_int_equal(dockerobj_time_ms("2024-01-02T03:04:05.999999999Z"), 1704164645999LL);
	assert_int_equal(dockerobj_time_ms("2024-01-02T03:04:05.5Z"), 1704164645500LL);
	/* offsets */
	assert_int_equal(dockerobj_time_ms("2024-01-02T04:04:05+01:00"), 1704164645000LL);
	assert_int_equal(dockerobj_time_ms("2024-01-01T22:34:05.000-04:30"), 1704164645000LL);
	/* Go's zero time: unknown */
	assert_int_equal(dockerobj_time_ms("0001-01-01T00:00:00Z"), 0);
	/* malformed */
	assert_int_equal(dockerobj_time_ms(""), -1);
	assert_int_equal(dockerobj_time_ms(NULL), -1);
	assert_int_equal(dockerobj_time_ms("2024-01-02"), -1);
	assert_int_equal(dockerobj_time_ms("2024-01-02T03:04:05"), -1);
	assert_int_equal(dockerobj_time_ms("2024-13-02T03:04:05Z"), -1);
	assert_int_equal(dockerobj_time_ms("2024-01-02T25:04:05Z"), -1);
	assert_int_equal(dockerobj_time_ms("2024-01-02T03:04:05.Z"), -1);
	assert_int_equal(dockerobj_time_ms("2024-01-02T03:04:05Zjunk"), -1);
	assert_int_equal(dockerobj_time_ms("2024-01-02T03:04:05+0100"), -1);
	assert_int_equal(dockerobj_time_ms("yesterday"), -1);
}

static void test_labels(void **state)
{
	struct arena *a = arena_new(1024);
	struct model_label *l;
	const char *reason = NULL;
	struct jscan s;
	size_t n;
	const char *doc = "{\"com.docker.lb.hosts\":\"a.example.org\",\"num\":3,\"x\":\"y\"}";

	(void)state;
	jscan_init(&s, doc, strlen(doc));
	assert_int_equal(dockerobj_labels(&s, a, &l, &n, &reason), 0);
	assert_null(reason);
	/* a non-string value is left out */
	assert_int_equal(n, 2);
	assert_string_equal(dockerobj_label(l, n, "x"), "y");
	assert_null(dockerobj_label(l, n, "num"));
	assert_true(dockerobj_routed(l, n));
	assert_false(dockerobj_routed(l + 1, 1));

	jscan_init(&s, "null", 4);
	assert_int_equal(dockerobj_labels(&s, a, &l, &n, &reason), 0);
	assert_int_equal(n, 0);

	jscan_init(&s, "[\"a\"]", 5);
	assert_int_equal(dockerobj_labels(&s, a, &l, &n, &reason), 0);
	assert_non_null(reason);

	jscan_init(&s, "{\"a\":\"b\",}", 10);
	assert_int_equal(dockerobj_labels(&s, a, &l, &n, &reason), -1);
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_attachments),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_next),
		cmocka_unit_test(test_enum_and_path),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_daemon),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
