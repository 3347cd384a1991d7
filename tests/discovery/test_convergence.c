/* Convergence measures: a task is measured once, when it first becomes
 * ready in a model handed over, from the time Docker says it entered its
 * state; only tasks the routing table takes count (one with no address
 * does not), and the first model measures nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/netaddr.h"
#include "discovery/convergence.h"
#include "routing/model.h"

#define NOW 1800000000000LL

struct one {
	struct model m;
	struct model_service svc;
	struct model_task tasks[3];
	struct model_netattach net;
};

/* Three running tasks that entered their state 100, 200 and 300 ms before
 * NOW, each with an address.
 */
static void one_init(struct one *o)
{
	static const char *const ids[] = { "t1", "t2", "t3" };

	memset(o, 0, sizeof(*o));
	o->net.network = "net";
	netaddr_parse(&o->net.addr, "10.0.0.5", 8);
	for (int i = 0; i < 3; i++)
		o->tasks[i] = (struct model_task){ .id = ids[i], .state = "running", .running = 1,
						   .desired_running = 1,
						   .state_since_ms = NOW - 100 * (i + 1),
						   .nnets = 1, .nets = &o->net };
	o->svc = (struct model_service){ .id = "s", .name = "web", .ntasks = 3, .tasks = o->tasks };
	o->m = (struct model){ .source = "swarm", .nsvcs = 1, .svcs = &o->svc };
}

static void test_measures(void **state)
{
	struct convergence *c = convergence_new();
	struct convergence_stats st;
	struct one o;

	(void)state;
	assert_non_null(c);
	/* at start every task is new, but nothing converged */
	one_init(&o);
	o.svc.ntasks = 1;
	convergence_model(c, &o.m, NOW);
	convergence_stats(c, &st);
	assert_int_equal(st.samples, 0);

	/* t2 ready; t3 runs but has no address: the table refuses it */
	o.svc.ntasks = 3;
	o.tasks[2].nnets = 0;
	convergence_model(c, &o.m, NOW);
	convergence_stats(c, &st);
	assert_int_equal(st.samples, 1);
	assert_int_equal(st.last_ms, 200);

	/* the same again: nothing new */
	convergence_model(c, &o.m, NOW + 50);
	convergence_stats(c, &st);
	assert_int_equal(st.samples, 1);

	/* t3 gets its address: measured now */
	o.tasks[2].nnets = 1;
	convergence_model(c, &o.m, NOW);
	convergence_stats(c, &st);
	assert_int_equal(st.samples, 2);
	assert_int_equal(st.last_ms, 300);
	assert_int_equal(st.max_ms, 300);
	assert_int_equal(st.p50_ms, 200);
	assert_int_equal(st.p99_ms, 200);

	/* a task that leaves and comes back healthy is measured again; one
	 * whose health check has not passed is not ready */
	o.svc.has_healthcheck = 1;
	o.tasks[0].health = MODEL_HEALTH_STARTING;
	convergence_model(c, &o.m, NOW);
	o.tasks[0].health = MODEL_HEALTH_HEALTHY;
	convergence_model(c, &o.m, NOW + 1000);
	convergence_stats(c, &st);
	assert_int_equal(st.samples, 3);
	assert_int_equal(st.last_ms, 1100);
	assert_int_equal(st.max_ms, 1100);
	convergence_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_measures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
