/* Plain Docker mode: GET /containers/json (recorded) to the service model,
 * Compose services grouped, swarm task containers left to swarm mode,
 * health from the status text, start times from events, bad input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/netaddr.h"
#include "discovery/containers.h"
#include "routing/model.h"
#include "tests/lib/fixture.h"

#define C1 "71b0e7c8e61ed4fbe49c5536b532964d3be86e0db6ca53de269117c7691b7af2"

static void test_fixture(void **state)
{
	struct containers *c = containers_new();
	size_t len;
	char *json = fixture_read("containers.json", &len), err[256], ip[NETADDR_STRLEN];
	struct model *m;
	const struct model_service *s;

	(void)state;
	assert_int_equal(containers_load(c, json, len, err, sizeof(err)), 0);
	containers_set_host(c, "vm");
	m = containers_model(c);
	assert_string_equal(m->source, "docker");
	assert_int_equal(m->nsvcs, 1);
	s = &m->svcs[0];
	assert_string_equal(s->id, C1);
	assert_string_equal(s->name, "ssp-explore-c1");
	assert_true(s->has_healthcheck);
	assert_int_equal(s->created_ms, 1795665431000LL);
	assert_string_equal(model_label(s, "com.docker.lb.hosts"), "c1.example.org");
	assert_int_equal(s->ntasks, 1);
	assert_string_equal(s->tasks[0].id, C1);
	assert_string_equal(s->tasks[0].node, "vm");
	assert_true(s->tasks[0].running);
	assert_true(s->tasks[0].desired_running);
	assert_int_equal(s->tasks[0].health, MODEL_HEALTH_HEALTHY);
	assert_int_equal(s->tasks[0].state_since_ms, 1795665431000LL);
	assert_int_equal(s->tasks[0].nnets, 1);
	assert_string_equal(s->tasks[0].nets[0].network, "bridge");
	assert_string_equal(netaddr_str(&s->tasks[0].nets[0].addr, ip), "172.17.0.2");
	model_free(m);

	/* a start event later than the creation dates the task's state */
	containers_note_event(c, C1, "start", 1795665500123LL);
	containers_note_event(c, C1, "exec_start: curl", 1795665600000LL);   /* ignored */
	m = containers_model(c);
	assert_int_equal(m->svcs[0].tasks[0].state_since_ms, 1795665500123LL);
	model_free(m);
	free(json);
	containers_free(c);
}

static void test_grouping_and_health(void **state)
{
	struct containers *c = containers_new();
	const char *doc =
		"[{\"Id\":\"c2\",\"Names\":[\"/proj-web-2\"],\"Created\":200,\"State\":\"running\","
		" \"Status\":\"Up 1 second (health: starting)\","
		" \"Labels\":{\"com.docker.compose.project\":\"proj\",\"com.docker.compose.service\":\"web\","
		"            \"com.docker.lb.hosts\":\"new.example.org\"},"
		" \"NetworkSettings\":{\"Networks\":{\"proj_default\":{\"NetworkID\":\"n1\",\"IPAddress\":\"172.18.0.3\","
		"   \"GlobalIPv6Address\":\"fd00::3\"}}}},"
		" {\"Id\":\"c1\",\"Names\":[\"/proj-web-1\"],\"Created\":100,\"State\":\"running\","
		" \"Status\":\"Up 2 hours (unhealthy)\","
		" \"Labels\":{\"com.docker.compose.project\":\"proj\",\"com.docker.compose.service\":\"web\","
		"            \"com.docker.lb.hosts\":\"old.example.org\"},"
		" \"NetworkSettings\":{\"Networks\":{\"proj_default\":{\"IPAddress\":\"172.18.0.2\"},"
		"   \"host\":{\"IPAddress\":\"\"}}}},"
		" {\"Id\":\"task1\",\"Names\":[\"/svc.1.abc\"],\"State\":\"running\","
		" \"Labels\":{\"com.docker.swarm.task.id\":\"abc\",\"com.docker.swarm.service.id\":\"s\"}},"
		" {\"Id\":\"plain\",\"Names\":null,\"State\":\"paused\",\"Status\":\"Up 3 minutes (Paused)\","
		" \"Labels\":null,\"NetworkSettings\":null},"
		" {\"Names\":[\"/no-id\"]},"
		" 42]";
	struct model *m;
	const struct model_service *web, *plain;
	char err[256];

	(void)state;
	assert_int_equal(containers_load(c, doc, strlen(doc), err, sizeof(err)), 0);
	assert_int_equal(containers_count(c), 3);    /* the swarm task and the bad entries left out */
	assert_int_equal(containers_skipped(c), 2);
	m = containers_model(c);
	assert_int_equal(m->nsvcs, 2);
	plain = &m->svcs[0];
	web = &m->svcs[1];
	assert_string_equal(plain->id, "plain");
	assert_string_equal(plain->name, "plain");   /* no name: its ID */
	assert_false(plain->has_healthcheck);
	assert_false(plain->tasks[0].running);
	assert_string_equal(web->id, "proj-web");
	assert_string_equal(web->name, "proj-web");
	assert_string_equal(web->stack, "proj");
	/* the newest container speaks for the group */
	assert_string_equal(model_label(web, "com.docker.lb.hosts"), "new.example.org");
	assert_true(web->has_healthcheck);
	assert_int_equal(web->ntasks, 2);
	assert_string_equal(web->tasks[0].id, "c1");
	assert_int_equal(web->tasks[0].health, MODEL_HEALTH_UNHEALTHY);
	assert_int_equal(web->tasks[0].nnets, 1);   /* the empty host address is left out */
	assert_string_equal(web->tasks[1].id, "c2");
	assert_int_equal(web->tasks[1].health, MODEL_HEALTH_STARTING);
	assert_int_equal(web->tasks[1].nnets, 2);
	assert_string_equal(web->tasks[1].nets[0].network_id, "n1");
	model_free(m);

	/* a refused document keeps the last good list */
	assert_int_equal(containers_load(c, "[{\"Id\":", 7, err, sizeof(err)), -1);
	assert_int_equal(containers_count(c), 3);
	assert_int_equal(containers_load(c, "[]", 2, err, sizeof(err)), 0);
	assert_int_equal(containers_count(c), 0);
	m = containers_model(c);
	assert_int_equal(m->nsvcs, 0);
	model_free(m);
	containers_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture),
		cmocka_unit_test(test_grouping_and_health),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
