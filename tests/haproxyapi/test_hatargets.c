/* The HAProxy runtime APIs an agent talks to: the running tasks of the
 * HAProxy service and their addresses, read from the Engine API's task
 * list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "haproxyapi/hatargets.h"

struct addrs {
	size_t n;
	char line[8][128];
};

static void on_addr(void *arg, const char *task, const char *network, const char *addr)
{
	struct addrs *a = arg;

	assert_true(a->n < 8);
	snprintf(a->line[a->n++], 128, "%s %s %s", task, network, addr);
}

static void test_tasks(void **state)
{
	static const char tasks[] =
		"[{\"ID\":\"t1\",\"Status\":{\"State\":\"running\"},\"DesiredState\":\"running\","
		"\"NetworksAttachments\":[{\"Network\":{\"ID\":\"n0\",\"Spec\":{\"Name\":\"ingress\"}},"
		"\"Addresses\":[\"10.0.0.5/24\"]},{\"Network\":{\"Spec\":{\"Name\":\"sp_control\"}},"
		"\"Addresses\":[\"10.0.9.3/24\",\"fd00::3/64\"]},{\"Network\":{\"ID\":\"n9\"},"
		"\"Addresses\":[\"garbage\",\"10.0.8.1/24\"]}]},"
		"{\"ID\":\"t2\",\"Status\":{\"State\":\"starting\"},\"NetworksAttachments\":"
		"[{\"Network\":{\"Spec\":{\"Name\":\"sp_control\"}},\"Addresses\":[\"10.0.9.4/24\"]}]},"
		"{\"ID\":\"t3\",\"Status\":{\"State\":\"running\"}}]";
	struct addrs a;
	char err[256];

	(void)state;
	memset(&a, 0, sizeof(a));
	assert_int_equal(hatargets_tasks(tasks, strlen(tasks), on_addr, &a, err, sizeof(err)), 2);
	assert_int_equal(a.n, 4);
	assert_string_equal(a.line[0], "t1 ingress 10.0.0.5");
	assert_string_equal(a.line[1], "t1 sp_control 10.0.9.3");
	assert_string_equal(a.line[2], "t1 sp_control fd00::3");
	/* a network without a name goes by its ID; what is no address is left out */
	assert_string_equal(a.line[3], "t1 n9 10.0.8.1");
	assert_int_equal(hatargets_tasks("{}", 2, on_addr, &a, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tasks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
