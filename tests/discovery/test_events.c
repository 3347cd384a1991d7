/* Event lines recorded from /events (services, containers, networks, a
 * node drained), and the lines a stream may carry that are not events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "discovery/events.h"
#include "tests/lib/fixture.h"

static void test_recorded(void **state)
{
	size_t len, n = 0;
	char *text = fixture_read("events.txt", &len), err[128];
	char *line, *save = NULL;
	struct docker_event ev[8];

	(void)state;
	for (line = strtok_r(text, "\n", &save); line && n < 8; line = strtok_r(NULL, "\n", &save)) {
		if (events_parse(line, strlen(line), &ev[n], err, sizeof(err)) != 0)
			fail_msg("%s: %s", err, line);
		n++;
	}
	assert_int_equal(n, 5);
	assert_string_equal(ev[0].type, "service");
	assert_string_equal(ev[0].action, "update");
	assert_string_equal(ev[0].id, "n39a93ol26f5fclwtv4a7udo8");
	assert_string_equal(ev[0].name, "ssp-explore-web");
	assert_int_equal(ev[0].time_ns, 1795664901064379952LL);
	assert_string_equal(ev[1].type, "container");
	assert_string_equal(ev[1].action, "create");
	assert_string_equal(ev[1].service_id, "n39a93ol26f5fclwtv4a7udo8");
	assert_string_equal(ev[2].type, "network");
	assert_string_equal(ev[2].action, "connect");
	assert_int_equal(strlen(ev[2].container), 64);
	assert_string_equal(ev[4].action, "health_status: healthy");
	free(text);

	/* a node drained, then made active again */
	text = fixture_read("hostport_node_events.txt", &len);
	n = 0;
	for (line = strtok_r(text, "\n", &save); line && n < 8; line = strtok_r(NULL, "\n", &save)) {
		if (events_parse(line, strlen(line), &ev[n], err, sizeof(err)) != 0)
			fail_msg("%s: %s", err, line);
		n++;
	}
	assert_int_equal(n, 2);
	assert_string_equal(ev[0].type, "node");
	assert_string_equal(ev[0].action, "update");
	assert_string_equal(ev[0].id, "l44puiaq0yjr629vfj9uwd7kz");
	assert_string_equal(ev[0].name, "vm");
	free(text);
}

static void test_not_events(void **state)
{
	static const char *const bad[] = {
		"", "garbage", "{", "[]", "{\"Type\":\"service\"}", "{\"Action\":\"create\"}",
		"{\"Type\":1,\"Action\":\"x\"}", "{\"Type\":\"a\",\"Action\":\"b\"} trailing",
	};
	struct docker_event ev;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (events_parse(bad[i], strlen(bad[i]), &ev, err, sizeof(err)) == 0)
			fail_msg("accepted '%s'", bad[i]);
}

static void test_long_values_cut(void **state)
{
	char line[2048], err[128];
	struct docker_event ev;
	size_t n;

	(void)state;
	n = (size_t)snprintf(line, sizeof(line), "{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"");
	memset(line + n, 'a', 500);
	n += 500;
	n += (size_t)snprintf(line + n, sizeof(line) - n, "\",\"Attributes\":null},\"timeNano\":5}");
	assert_int_equal(events_parse(line, n, &ev, err, sizeof(err)), 0);
	assert_int_equal(strlen(ev.id), sizeof(ev.id) - 1);
	assert_int_equal(ev.time_ns, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recorded),
		cmocka_unit_test(test_not_events),
		cmocka_unit_test(test_long_values_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
