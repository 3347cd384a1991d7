/* The routing table's listings on the stats socket ("show routes",
 * "show services", "show tasks"), printed in steps from a table held for
 * the listing (stats/show.c, routing/tables.c). Guards that a table retired
 * and replaced while a listing runs is still listed completely and freed
 * once the listing ends or is abandoned, that its request counters are
 * folded into the lifetime counters exactly once, without a dip while it
 * waits, and that each step stays small.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/log.h"
#include "common/sbuf.h"
#include "routing/routesfile.h"
#include "routing/rtable.h"
#include "routing/tables.h"
#include "stats/commands.h"

#define STEP_BYTES_MAX (96u << 10)   /* 32 kB per step, plus one part of 16 large rows */

static char scratch[RTABLE_SCRATCH_SIZE];

/* Publishes a table of <n> services named <prefix><i>, host <prefix><i>.test,
 * with <ntasks> tasks each.
 */
static void publish(const char *prefix, int n, int ntasks)
{
	struct sbuf js = SBUF_INIT;
	struct model *m;
	char err[256];

	sbuf_puts(&js, "{\"services\":[");
	for (int i = 0; i < n; i++) {
		sbuf_printf(&js, "%s{\"name\":\"%s%d\",\"labels\":{\"com.docker.lb.hosts\":"
			    "\"%s%d.test\",\"com.docker.lb.port\":\"80\"},\"tasks\":[",
			    i ? "," : "", prefix, i, prefix, i);
		for (int k = 0; k < ntasks; k++)
			sbuf_printf(&js, "%s{\"id\":\"%s%d.%d\",\"address\":\"10.%d.%d.%d\"}",
				    k ? "," : "", prefix, i, k, k, i / 256, i % 256);
		sbuf_puts(&js, "]}");
	}
	sbuf_puts(&js, "]}");
	m = routesfile_parse(js.buf, js.len, err, sizeof(err));
	if (!m)
		fail_msg("routes: %s", err);
	sbuf_free(&js);
	assert_int_equal(tables_update("file", m), 0);
}

struct listing {
	struct command cmd;
	struct commands_run run;
	struct sbuf out;
	int steps;
	int done;
};

static void start(struct listing *l, const char *line)
{
	char err[256];

	memset(l, 0, sizeof(*l));
	assert_int_equal(commands_parse(line, strlen(line), &l->cmd, err, sizeof(err)), 0);
	commands_run_begin(&l->run, &l->cmd);
}

/* Runs up to <n> steps; returns whether the listing is complete. */
static int step(struct listing *l, int n)
{
	while (!l->done && n--) {
		size_t len0 = l->out.len;

		l->done = !commands_run_step(&l->run, &l->out);
		l->steps++;
		assert_true(l->out.len - len0 <= STEP_BYTES_MAX);
	}
	return l->done;
}

/* Ends the listing; returns its output, owned by the caller. */
static char *finish(struct listing *l)
{
	commands_run_end(&l->run);
	sbuf_putc(&l->out, '\0');
	return l->out.buf;
}

static size_t retired_waiting(void)
{
	struct tables_status st;

	tables_status(&st);
	return st.retired_waiting;
}

struct totals {
	uint64_t all;
	uint64_t svc;              /* forwarded to <name> */
	const char *name;
};

static void sum_cb(void *arg, const char *service, const struct rtable_counters *c)
{
	struct totals *t = arg;

	if (!service)
		t->all = c->forwarded;
	else if (strcmp(service, t->name) == 0)
		t->svc += c->forwarded;
}

static struct totals forwarded(const char *name)
{
	struct totals t = { 0, 0, name };

	tables_counters(sum_cb, &t);
	return t;
}

/* Routes <n> requests for <host> on the current table, as a worker does. */
static void route(const char *host, int n)
{
	struct route_req req;
	struct route_answer ans;

	memset(&req, 0, sizeof(req));
	req.host = host;
	req.host_len = strlen(host);
	req.path = "/";
	req.path_len = 1;
	for (int i = 0; i < n; i++) {
		rtable_route(tables_current(), 0, &req, &ans, scratch);
		assert_int_equal(ans.action, ROUTE_FORWARD);
	}
}

static int setup(void **state)
{
	struct rtable_build_opts bo = { .nworkers = 1, .service_cluster = NULL };

	(void)state;
	log_set_level(LL_ERROR);
	tables_init(&bo);
	return 0;
}

/************************************************************************/
/*                                  tests                               */
/************************************************************************/

/* The stats layer's steps put together give the routing module's one-shot
 * output, in many steps for a large table.
 */
static void test_steps_equal_one_shot(void **state)
{
	static const char *const lines[] = {
		"show routes", "show routes json", "show services", "show services json",
		"show tasks big7", "show tasks big7 json",
	};
	struct listing l;
	char *out;

	(void)state;
	publish("big", 3000, 3);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct sbuf ref = SBUF_INIT;
		const struct rtable *t = tables_current();
		int json = strstr(lines[i], "json") != NULL;

		start(&l, lines[i]);
		while (!step(&l, 1))
			;
		out = finish(&l);
		if (strstr(lines[i], "routes")) {
			rtable_show_routes(t, &ref, json);
			assert_true(l.steps > 10);
		} else if (strstr(lines[i], "services")) {
			rtable_show_services(t, &ref, json);
			assert_true(l.steps > 10);
		} else {
			assert_int_equal(rtable_show_tasks(t, "big7", &ref, json), 0);
		}
		assert_int_equal(strlen(out), ref.len);
		assert_memory_equal(out, ref.buf, ref.len);
		if (json) {
			json_error_t je;
			json_t *j = json_loads(out, 0, &je);

			if (!j)
				fail_msg("'%s' is not one JSON document (%s)", lines[i], je.text);
			json_decref(j);
		}
		free(out);
		sbuf_free(&ref);
	}
	assert_int_equal(retired_waiting(), 0);
}

/* A table replaced in the middle of a listing: the listing goes on with
 * the old table to its end, the old table is freed after, its counters
 * count once, before and after.
 */
static void test_table_replaced_during_listing(void **state)
{
	struct listing l;
	json_t *j, *svcs;
	json_error_t je;
	char *out;
	struct totals before, during, after;

	(void)state;
	publish("old", 2000, 2);
	route("old5.test", 7);
	before = forwarded("old5");
	assert_int_equal(before.svc, 7);

	start(&l, "show services json");
	assert_false(step(&l, 3));
	/* no worker reads the old table any more: without the hold it would be
	 * freed right here, by the publish */
	publish("new", 10, 1);
	assert_int_equal(retired_waiting(), 1);
	during = forwarded("old5");
	assert_int_equal(during.svc, before.svc);
	assert_int_equal(during.all, before.all);
	route("new1.test", 2);

	while (!step(&l, 1))
		;
	/* released by the last step, not by commands_run_end() */
	assert_int_equal(retired_waiting(), 0);
	out = finish(&l);
	j = json_loads(out, 0, &je);
	if (!j)
		fail_msg("not one JSON document (%s)", je.text);
	svcs = json_object_get(j, "services");
	assert_int_equal(json_array_size(svcs), 2000);
	for (size_t i = 0; i < json_array_size(svcs); i++)
		assert_memory_equal(json_string_value(json_object_get(json_array_get(svcs, i), "name")),
				    "old", 3);
	json_decref(j);
	free(out);

	after = forwarded("old5");
	assert_int_equal(after.svc, 7);
	assert_int_equal(after.all, before.all + 2);

	/* a new listing sees the new table */
	start(&l, "show services json");
	while (!step(&l, 1))
		;
	out = finish(&l);
	assert_non_null(strstr(out, "\"new9\""));
	assert_null(strstr(out, "\"old"));
	free(out);
}

/* A client that goes away mid-listing (commands_run_end() early) lets its
 * table go; two listings of the same table keep it until the last ends;
 * listings of two tables each keep their own.
 */
static void test_abandoned_and_shared_holds(void **state)
{
	struct listing a, b, c;
	char *out;
	struct totals before;

	(void)state;
	publish("one", 1000, 1);
	route("one3.test", 5);
	before = forwarded("one3");

	start(&a, "show routes");
	assert_false(step(&a, 2));
	publish("two", 1000, 1);
	assert_int_equal(retired_waiting(), 1);   /* "one", retired, held by <a> */
	start(&b, "show routes json");
	assert_false(step(&b, 2));                 /* holds "two" */
	assert_int_equal(retired_waiting(), 1);
	start(&c, "show services");
	assert_false(step(&c, 1));                 /* holds "two" as well */
	publish("three", 10, 1);
	/* "one" and "two" both retired, both still listed */
	assert_int_equal(retired_waiting(), 2);
	assert_int_equal(forwarded("one3").svc, before.svc);

	free(finish(&a));                          /* abandoned: "one" goes */
	assert_int_equal(retired_waiting(), 1);
	free(finish(&b));                          /* abandoned: <c> still lists "two" */
	assert_int_equal(retired_waiting(), 1);
	while (!step(&c, 1))
		;
	assert_int_equal(retired_waiting(), 0);
	out = finish(&c);
	assert_non_null(strstr(out, "\ntwo999 "));
	assert_null(strstr(out, "three"));
	free(out);
	assert_int_equal(forwarded("one3").svc, before.svc);
	assert_int_equal(forwarded("one3").all, before.all);
}

static void test_unknown_service_releases_the_table(void **state)
{
	struct listing l;
	char *out;

	(void)state;
	publish("x", 3, 1);
	start(&l, "show tasks nosuch json");
	assert_true(step(&l, 1));
	publish("y", 3, 1);
	assert_int_equal(retired_waiting(), 0);
	out = finish(&l);
	assert_string_equal(out, "{\"error\":\"unknown service 'nosuch'\"}\n");
	free(out);
}

static int teardown(void **state)
{
	(void)state;
	tables_shutdown();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps_equal_one_shot),
		cmocka_unit_test(test_table_replaced_during_listing),
		cmocka_unit_test(test_abandoned_and_shared_holds),
		cmocka_unit_test(test_unknown_service_releases_the_table),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
