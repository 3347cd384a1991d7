/* Nodes that stop answering as a whole (health/suspect.c): suspect only
 * when every routed task of the node, two at least, timed out within the
 * window; for SUSPECT_HOLD_MS, once; then on probation, when one
 * timeout is enough; one hung task alone never makes its node suspect.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "health/suspect.h"

#define T0 1000000

static void test_all_tasks_time_out(void **state)
{
	struct suspect *s = suspect_new();
	const char *tasks[] = { "t1", "t2" };

	(void)state;
	assert_non_null(s);
	assert_int_equal(suspect_timeout(s, "t1", T0), 0);
	/* one of two: the other one still answers */
	assert_int_equal(suspect_node(s, "n1", tasks, 2, T0), 0);
	assert_int_equal(suspect_until(s, "n1", T0), 0);
	assert_int_equal(suspect_timeout(s, "t2", T0 + 300), 0);
	assert_int_equal(suspect_node(s, "n1", tasks, 2, T0 + 300), T0 + 300 + SUSPECT_HOLD_MS);
	assert_int_equal(suspect_until(s, "n1", T0 + 400), T0 + 300 + SUSPECT_HOLD_MS);
	assert_int_equal(suspect_count(s, T0 + 400), 1);
	/* suspect already: not again, the end does not move */
	assert_int_equal(suspect_timeout(s, "t1", T0 + 500), 0);
	assert_int_equal(suspect_node(s, "n1", tasks, 2, T0 + 500), 0);
	assert_int_equal(suspect_until(s, "n1", T0 + 500), T0 + 300 + SUSPECT_HOLD_MS);
	/* other nodes are not concerned */
	assert_int_equal(suspect_until(s, "n2", T0 + 500), 0);
	/* the end */
	suspect_expire(s, T0 + 300 + SUSPECT_HOLD_MS);
	assert_int_equal(suspect_until(s, "n1", T0 + 300 + SUSPECT_HOLD_MS), 0);
	assert_int_equal(suspect_count(s, T0 + 300 + SUSPECT_HOLD_MS), 0);
	suspect_free(s);
}

static void test_probation(void **state)
{
	struct suspect *s = suspect_new();
	const char *tasks[] = { "t1", "t2" };
	int64_t end = T0 + SUSPECT_HOLD_MS, again;

	(void)state;
	assert_int_equal(suspect_timeout(s, "t1", T0), 0);
	assert_int_equal(suspect_timeout(s, "t2", T0), 0);
	assert_int_equal(suspect_node(s, "n1", tasks, 2, T0), end);
	suspect_expire(s, end);
	assert_int_equal(suspect_count(s, end), 0);
	assert_true(suspect_on_probation(s, "n1", end));
	assert_false(suspect_on_probation(s, "n1", end - 1));
	/* on probation: one timeout of one task is enough */
	assert_int_equal(suspect_timeout(s, "t2", end + 1000), 0);
	again = suspect_node(s, "n1", tasks, 2, end + 1000);
	assert_int_equal(again, end + 1000 + SUSPECT_HOLD_MS);
	assert_int_equal(suspect_until(s, "n1", end + 1001), again);
	/* through a probation without a timeout: trusted, the usual rule again */
	suspect_expire(s, again + SUSPECT_PROBATION_MS);
	assert_int_equal(suspect_timeout(s, "t1", again + SUSPECT_PROBATION_MS + 1), 0);
	assert_int_equal(suspect_node(s, "n1", tasks, 2, again + SUSPECT_PROBATION_MS + 1), 0);
	/* a probation passes by the clock even before expiry forgets it */
	assert_int_equal(suspect_timeout(s, "a", T0), 0);
	assert_int_equal(suspect_timeout(s, "b", T0), 0);
	tasks[0] = "a";
	tasks[1] = "b";
	assert_int_equal(suspect_node(s, "n2", tasks, 2, T0), end);
	assert_int_equal(suspect_timeout(s, "a", end + SUSPECT_PROBATION_MS), 0);
	assert_int_equal(suspect_node(s, "n2", tasks, 2, end + SUSPECT_PROBATION_MS), 0);
	suspect_free(s);
}

static void test_one_task_or_old_timeouts(void **state)
{
	struct suspect *s = suspect_new();
	const char *one[] = { "t1" };
	const char *two[] = { "t1", "t2" };

	(void)state;
	/* a node with one routed task: that task's own rules decide */
	assert_int_equal(suspect_timeout(s, "t1", T0), 0);
	assert_int_equal(suspect_node(s, "n1", one, 1, T0), 0);
	/* timeouts further apart than the window are not one event */
	assert_int_equal(suspect_timeout(s, "t2", T0 + SUSPECT_WINDOW_MS), 0);
	assert_int_equal(suspect_node(s, "n1", two, 2, T0 + SUSPECT_WINDOW_MS), 0);
	/* forgotten after the window */
	suspect_expire(s, T0 + 2 * SUSPECT_WINDOW_MS);
	assert_int_equal(suspect_timeout(s, "t1", T0 + 2 * SUSPECT_WINDOW_MS + 1), 0);
	assert_int_equal(suspect_node(s, "n1", two, 2, T0 + 2 * SUSPECT_WINDOW_MS + 1), 0);
	suspect_free(s);
}

static void test_bounds(void **state)
{
	struct suspect *s = suspect_new();
	char id[200], node[16];
	const char *tasks[2];

	(void)state;
	memset(id, 'x', sizeof(id) - 1);
	id[sizeof(id) - 1] = 0;
	assert_int_equal(suspect_timeout(s, id, T0), -1);
	/* more timed-out tasks than remembered: the oldest go, no failure */
	for (int i = 0; i < SUSPECT_TASKS_MAX + 10; i++) {
		snprintf(id, sizeof(id), "task%d", i);
		assert_int_equal(suspect_timeout(s, id, T0 + i), 0);
	}
	tasks[0] = "task0";
	tasks[1] = "task1";
	assert_int_equal(suspect_node(s, "n1", tasks, 2, T0 + 5000), 0);
	tasks[0] = "task4100";
	tasks[1] = "task4101";
	assert_true(suspect_node(s, "n1", tasks, 2, T0 + 5000) > 0);
	/* more suspect nodes than kept: refused, not overwritten */
	for (int i = 2; i <= SUSPECT_NODES_MAX; i++) {
		snprintf(node, sizeof(node), "n%d", i);
		assert_true(suspect_node(s, node, tasks, 2, T0 + 5000) > 0);
	}
	assert_int_equal(suspect_node(s, "one-more", tasks, 2, T0 + 5000), -1);
	assert_int_equal(suspect_count(s, T0 + 5000), SUSPECT_NODES_MAX);
	suspect_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_tasks_time_out),
		cmocka_unit_test(test_probation),
		cmocka_unit_test(test_one_task_or_old_timeouts),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
