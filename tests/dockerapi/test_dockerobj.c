/* Shared Docker object readers: RFC 3339 times as Docker writes them (task
 * state times drive the convergence figures), label maps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/arena.h"
#include "common/jscan.h"
#include "dockerapi/dockerobj.h"

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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
