/* Tasks that are ready but not picked (routing/rtable_build.c with
 * routing/overlay.c): tasks on a node Swarm reports down or disconnected,
 * or drained,
 * tasks the health overlay lists, and a route whose every ready task is
 * excluded, which picks among them all rather than answer 503. Guards
 * against a dead node's tasks being picked until Swarm reschedules them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/arena.h"
#include "common/netaddr.h"
#include "common/sbuf.h"
#include "routing/model.h"
#include "routing/overlay.h"
#include "routing/rtable.h"
#include "tests/routing/fixture.h"


/* Gives <m> nodes n1 (ready), n2 (<n2_state>), n3 (ready), sorted by ID. */
static void three_nodes(struct model *m, enum model_node_state n2_state)
{
	m->nodes = arena_calloc(m->arena, 3, sizeof(*m->nodes));
	assert_non_null(m->nodes);
	m->nnodes = 3;
	m->nodes[0] = (struct model_node){ .id = "n1", .hostname = "node-1", .state = MODEL_NODE_READY };
	m->nodes[1] = (struct model_node){ .id = "n2", .hostname = "node-2", .state = n2_state };
	m->nodes[2] = (struct model_node){ .id = "n3", .hostname = "node-3", .state = MODEL_NODE_READY };
}

/* A service "web" on web.example with tasks w.1 on n1, w.2 on n2, w.3 on n3. */
static struct model *web_model(enum model_node_state n2_state)
{
	struct model *m = fx_model();
	struct model_service *s = fx_service(m, "web", 0, "lb.hosts=web.example", "lb.port=80", NULL);

	three_nodes(m, n2_state);
	fx_task(m, s, "w.1", "10.0.0.1", 0, NULL)->node_id = "n1";
	fx_task(m, s, "w.2", "10.0.0.2", 0, NULL)->node_id = "n2";
	fx_task(m, s, "w.3", "10.0.0.3", 0, NULL)->node_id = "n3";
	return m;
}

static struct rtable *build_with(const struct model *m, const struct overlay *ov)
{
	const struct model *models[1] = { m };
	struct rtable_build_opts o = { .nworkers = 1, .health = ov };
	struct rtable *t = rtable_build(models, 1, &o);

	assert_non_null(t);
	return t;
}

/* Counts the picks of each task over <n> requests: w.1, w.2, w.3. */
static void count_picks(const struct rtable *t, unsigned n, unsigned counts[3])
{
	memset(counts, 0, 3 * sizeof(*counts));
	for (unsigned i = 0; i < n; i++) {
		struct route_answer a = fx_route(t, "web.example", "/");

		assert_int_equal(a.action, ROUTE_FORWARD);
		assert_non_null(a.task_id);
		counts[a.task_id[2] - '1']++;
	}
}

/* Asserts that <n> requests pick w.1, w.2, w.3 <a>, <b>, <c> times. */
static void assert_picks(const struct rtable *t, unsigned n, unsigned a, unsigned b, unsigned c)
{
	unsigned counts[3];

	count_picks(t, n, counts);
	assert_int_equal(counts[0], a);
	assert_int_equal(counts[1], b);
	assert_int_equal(counts[2], c);
}

static void test_node_down(void **state)
{
	static const enum model_node_state gone[] = { MODEL_NODE_DOWN, MODEL_NODE_DISCONNECTED };
	unsigned counts[3];

	(void)state;
	for (size_t k = 0; k < 2; k++) {
		struct model *m = web_model(gone[k]);
		struct rtable *t = build_with(m, NULL);
		struct sbuf out = SBUF_INIT;

		assert_picks(t, 30, 15, 0, 15);
		assert_int_equal(rtable_show_tasks(t, "web", &out, 0), 0);
		assert_non_null(strstr(out.buf, k ? "while node node-2 is disconnected" :
					       "while node node-2 is down"));
		sbuf_free(&out);
		rtable_free(t);
		model_free(m);
	}
	/* a node that is back is trusted again at the next build */
	{
		struct model *m = web_model(MODEL_NODE_READY);
		struct rtable *t = build_with(m, NULL);

		count_picks(t, 30, counts);
		assert_int_equal(counts[1], 10);
		rtable_free(t);
		model_free(m);
	}
}

static void test_node_drained(void **state)
{
	struct model *m = web_model(MODEL_NODE_READY);
	struct sbuf out = SBUF_INIT;
	unsigned counts[3];
	struct rtable *t;

	(void)state;
	m->nodes[1].availability = MODEL_AVAIL_DRAIN;
	t = build_with(m, NULL);
	assert_picks(t, 30, 15, 0, 15);
	assert_int_equal(rtable_show_tasks(t, "web", &out, 0), 0);
	assert_non_null(strstr(out.buf, "while node node-2 is drained"));
	sbuf_free(&out);
	rtable_free(t);
	/* paused: Swarm leaves its tasks running, so are they picked */
	m->nodes[1].availability = MODEL_AVAIL_PAUSE;
	t = build_with(m, NULL);
	count_picks(t, 30, counts);
	assert_int_equal(counts[1], 10);
	rtable_free(t);
	/* every node drained: the tasks serve until their replacements run */
	for (size_t i = 0; i < 3; i++)
		m->nodes[i].availability = MODEL_AVAIL_DRAIN;
	t = build_with(m, NULL);
	assert_picks(t, 30, 10, 10, 10);
	rtable_free(t);
	model_free(m);
}

static void test_overlay_excludes(void **state)
{
	struct model *m = web_model(MODEL_NODE_READY);
	struct overlay *ov = overlay_new();
	struct sbuf out = SBUF_INIT;
	struct route_req req;
	struct rtable *t;

	(void)state;
	assert_non_null(ov);
	assert_int_equal(overlay_add(ov, "w.3", "1 failure (SC) in 10s", 1000), 0);
	assert_int_equal(overlay_add(ov, "other.9", "1 failure (SH) in 10s", 2000), 0);
	overlay_seal(ov);
	t = build_with(m, ov);
	assert_picks(t, 20, 10, 10, 0);

	assert_int_equal(rtable_show_tasks(t, "web", &out, 1), 0);
	assert_non_null(strstr(out.buf, "\"excluded\":{\"reason\":\"1 failure (SC) in 10s\","
				       "\"until\":\"1970-01-01T00:00:01.000Z\"}"));
	sbuf_reset(&out);
	fx_req(&req, "web.example", "/");
	rtable_explain(t, &req, &out, 0);
	assert_non_null(strstr(out.buf, "excluded task w.3 of web: 1 failure (SC) in 10s, until "
				       "1970-01-01T00:00:01.000Z"));
	assert_null(strstr(out.buf, "picked anyway"));
	sbuf_free(&out);
	rtable_free(t);
	overlay_free(ov);
	model_free(m);
}

static void test_all_excluded(void **state)
{
	struct model *m = web_model(MODEL_NODE_DOWN);
	struct overlay *ov = overlay_new();
	struct sbuf out = SBUF_INIT;
	struct route_req req;
	struct rtable *t;

	(void)state;
	assert_int_equal(overlay_add(ov, "w.1", "1 failure (SC) in 10s", 1000), 0);
	assert_int_equal(overlay_add(ov, "w.3", "1 failure (SH) in 10s", 1000), 0);
	overlay_seal(ov);
	t = build_with(m, ov);
	/* no usable task left: every ready one is picked rather than a 503 */
	assert_picks(t, 30, 10, 10, 10);
	fx_req(&req, "web.example", "/");
	rtable_explain(t, &req, &out, 1);
	assert_non_null(strstr(out.buf, "\"all_excluded\":true"));
	sbuf_free(&out);
	rtable_free(t);
	overlay_free(ov);
	model_free(m);
}

static void test_vip_ignores_overlay(void **state)
{
	struct model *m = fx_model();
	struct model_service *s = fx_service(m, "api", 0, "lb.hosts=api.example", "lb.port=80",
					     "lb.backend_mode=vip", NULL);
	struct overlay *ov = overlay_new();
	struct route_answer a;
	struct rtable *t;
	char ip[NETADDR_STRLEN];

	(void)state;
	fx_vip(m, s, "10.0.9.9", NULL);
	fx_task(m, s, "a.1", "10.0.0.1", 0, NULL);
	assert_int_equal(overlay_add(ov, "a.1", "1 failure (SC) in 10s", 1000), 0);
	overlay_seal(ov);
	t = build_with(m, ov);
	a = fx_route(t, "api.example", "/");
	assert_int_equal(a.action, ROUTE_FORWARD);
	assert_string_equal(netaddr_str(&a.dst, ip), "10.0.9.9");
	rtable_free(t);
	overlay_free(ov);
	model_free(m);
}

static void test_overlay_find(void **state)
{
	struct overlay *ov = overlay_new();
	const struct overlay_task *e;

	(void)state;
	assert_null(overlay_find(NULL, "x"));
	assert_int_equal(overlay_add(ov, "b", "first", 1000), 0);
	assert_int_equal(overlay_add(ov, "a", "only", 500), 0);
	assert_int_equal(overlay_add(ov, "b", "later", 3000), 0);
	assert_int_equal(overlay_add(ov, "b", "earlier", 2000), 0);
	overlay_seal(ov);
	assert_int_equal(ov->n, 2);
	e = overlay_find(ov, "b");
	assert_non_null(e);
	/* a task listed twice keeps the later end */
	assert_int_equal(e->until_ms, 3000);
	assert_string_equal(e->reason, "later");
	assert_string_equal(overlay_find(ov, "a")->reason, "only");
	assert_null(overlay_find(ov, "c"));
	assert_null(overlay_find(ov, NULL));
	overlay_free(ov);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_down),
		cmocka_unit_test(test_node_drained),
		cmocka_unit_test(test_overlay_excludes),
		cmocka_unit_test(test_all_excluded),
		cmocka_unit_test(test_vip_ignores_overlay),
		cmocka_unit_test(test_overlay_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
