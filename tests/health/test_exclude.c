/* Passive health's rules (health/exclude.c), NGINX's and Interlock's:
 * max_fails failures within fail_timeout exclude a task for fail_timeout,
 * then it is picked again and one new failure starts the count again;
 * max_fails 0 disables; failures of requests sent before the exclusion do
 * not extend it. Guards against a flapping task kept in, or dropped for
 * good.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "health/exclude.h"
#include "routing/overlay.h"

static void test_policy(void **state)
{
	struct exclude_policy p;
	char err[160];

	(void)state;
	assert_int_equal(exclude_policy_parse(&p, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(p.max_fails, 1);
	assert_int_equal(p.fail_timeout_ms, 10000);
	assert_int_equal(exclude_policy_parse(&p, "3", "30s", err, sizeof(err)), 0);
	assert_int_equal(p.max_fails, 3);
	assert_int_equal(p.fail_timeout_ms, 30000);
	assert_int_equal(exclude_policy_parse(&p, "0", "5", err, sizeof(err)), 0);
	assert_int_equal(p.max_fails, 0);
	assert_int_equal(p.fail_timeout_ms, 5000);
	assert_int_equal(exclude_policy_parse(&p, "1000", "500ms", err, sizeof(err)), 0);
	assert_int_equal(p.max_fails, EXCLUDE_MAX_FAILS);
	assert_int_equal(p.fail_timeout_ms, 500);
	assert_int_equal(exclude_policy_parse(&p, NULL, "2m", err, sizeof(err)), 0);
	assert_int_equal(p.fail_timeout_ms, 120000);
	assert_int_equal(exclude_policy_parse(&p, "-1", "10x", err, sizeof(err)), -1);
	assert_int_equal(p.max_fails, 1);
	assert_int_equal(p.fail_timeout_ms, 10000);
	assert_int_equal(exclude_policy_parse(&p, "two", NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "max_fails"));
	assert_int_equal(exclude_policy_parse(&p, NULL, "2h", err, sizeof(err)), -1);
	assert_int_equal(exclude_policy_parse(&p, NULL, "0s", err, sizeof(err)), -1);
	assert_int_equal(exclude_policy_parse(&p, NULL, "", err, sizeof(err)), -1);
}

static void test_one_failure(void **state)
{
	struct exclude_policy p = { 1, 10000 };
	struct exclude *x = exclude_new();
	struct overlay *ov;

	(void)state;
	assert_int_equal(exclude_failure(x, "web", "t1", &p, 1000, "SC to 10.0.0.1:80"), 1);
	assert_int_equal(exclude_count(x), 1);
	assert_int_equal(exclude_next_end(x), 11000);
	/* failures of requests sent earlier change nothing */
	assert_int_equal(exclude_failure(x, "web", "t1", &p, 1500, "SC to 10.0.0.1:80"), 0);
	assert_int_equal(exclude_next_end(x), 11000);
	ov = exclude_overlay(x);
	assert_non_null(overlay_find(ov, "t1"));
	assert_int_equal(overlay_find(ov, "t1")->until_ms, 11000);
	assert_non_null(strstr(overlay_find(ov, "t1")->reason, "1 failure in 10000ms (last: SC to"));
	overlay_free(ov);
	assert_int_equal(exclude_expire(x, 10999), 0);
	assert_int_equal(exclude_expire(x, 11000), 1);
	assert_int_equal(exclude_count(x), 0);
	assert_int_equal(exclude_next_end(x), 0);
	/* back in; the next failure excludes it again */
	assert_int_equal(exclude_failure(x, "web", "t1", &p, 12000, "SH to 10.0.0.1:80"), 1);
	assert_int_equal(exclude_next_end(x), 22000);
	exclude_free(x);
}

/* A task excluded because its node stopped answering: extended to the
 * node's end, never shortened; a task not excluded yet counts as newly
 * excluded.
 */
static void test_force(void **state)
{
	struct exclude_policy p = { 1, 10000 };
	struct exclude *x = exclude_new();
	struct overlay *ov;

	(void)state;
	assert_int_equal(exclude_failure(x, "web", "t1", &p, 1000, "sC to 10.0.0.1:80"), 1);
	assert_int_equal(exclude_force(x, "web", "t1", &p, 1200, 61200, "node n1 stopped"), 0);
	assert_int_equal(exclude_force(x, "web", "t2", &p, 1200, 61200, "node n1 stopped"), 1);
	assert_int_equal(exclude_count(x), 2);
	assert_int_equal(exclude_next_end(x), 61200);
	/* never shortened */
	assert_int_equal(exclude_force(x, "web", "t2", &p, 1300, 5000, "shorter"), 0);
	ov = exclude_overlay(x);
	assert_int_equal(overlay_find(ov, "t1")->until_ms, 61200);
	assert_string_equal(overlay_find(ov, "t2")->reason, "node n1 stopped");
	overlay_free(ov);
	/* the per-task fail_timeout no longer ends it */
	assert_int_equal(exclude_expire(x, 11000), 0);
	assert_int_equal(exclude_expire(x, 61200), 2);
	assert_int_equal(exclude_count(x), 0);
	exclude_free(x);
}

static void test_max_fails_window(void **state)
{
	struct exclude_policy p = { 3, 10000 };
	struct exclude *x = exclude_new();

	(void)state;
	assert_int_equal(exclude_failure(x, "web", "t1", &p, 0, "SC"), 0);
	assert_int_equal(exclude_failure(x, "web", "t1", &p, 5000, "SC"), 0);
	/* the first one is older than fail_timeout: two in the window */
	assert_int_equal(exclude_failure(x, "web", "t1", &p, 10000, "SC"), 0);
	assert_int_equal(exclude_count(x), 0);
	assert_int_equal(exclude_failure(x, "web", "t1", &p, 12000, "SC"), 1);
	assert_int_equal(exclude_next_end(x), 22000);
	/* another task of the same service, and a same ID elsewhere, count apart */
	assert_int_equal(exclude_failure(x, "web", "t2", &p, 12000, "SC"), 0);
	assert_int_equal(exclude_failure(x, "api", "t1", &p, 12000, "SC"), 0);
	/* the count starts again after the exclusion */
	assert_int_equal(exclude_expire(x, 22000), 1);
	assert_int_equal(exclude_failure(x, "web", "t1", &p, 22001, "SC"), 0);
	/* old failures are forgotten */
	assert_int_equal(exclude_expire(x, 60000), 0);
	assert_int_equal(exclude_failure(x, "web", "t2", &p, 60001, "SC"), 0);
	assert_int_equal(exclude_failure(x, "web", "t2", &p, 60002, "SC"), 0);
	assert_int_equal(exclude_failure(x, "web", "t2", &p, 60003, "SC"), 1);
	exclude_free(x);
}

static void test_disabled(void **state)
{
	struct exclude_policy p = { 0, 10000 };
	struct exclude *x = exclude_new();

	(void)state;
	for (int i = 0; i < 100; i++)
		assert_int_equal(exclude_failure(x, "web", "t1", &p, i, "SC"), 0);
	assert_int_equal(exclude_count(x), 0);
	exclude_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_one_failure),
		cmocka_unit_test(test_force),
		cmocka_unit_test(test_max_fails_window),
		cmocka_unit_test(test_disabled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
