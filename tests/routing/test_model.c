/* The service model: the one readiness rule (every reason, in its order),
 * node lookup, copies into a model, and a digest that changes with every
 * field a provider fills, nodes and published ports included, so that a
 * change is never lost as "the same model".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/netaddr.h"
#include "common/arena.h"
#include "routing/model.h"

static void test_task_ready(void **state)
{
	struct model_service svc = { .id = "s" };
	struct model_task t = { .id = "t", .running = 1, .desired_running = 1 };

	(void)state;
	assert_int_equal(model_task_ready(&svc, &t, 1), MODEL_TASK_READY);
	assert_int_equal(model_task_ready(&svc, &t, 0), MODEL_TASK_NO_ADDRESS);
	/* with a health check, only a healthy task serves */
	svc.has_healthcheck = 1;
	assert_int_equal(model_task_ready(&svc, &t, 1), MODEL_TASK_STARTING);
	t.health = MODEL_HEALTH_STARTING;
	assert_int_equal(model_task_ready(&svc, &t, 1), MODEL_TASK_STARTING);
	t.health = MODEL_HEALTH_HEALTHY;
	assert_int_equal(model_task_ready(&svc, &t, 1), MODEL_TASK_READY);
	/* unhealthy is unhealthy with or without a declared check (a plain
	 * container's image may carry one) */
	t.health = MODEL_HEALTH_UNHEALTHY;
	assert_int_equal(model_task_ready(&svc, &t, 1), MODEL_TASK_UNHEALTHY);
	svc.has_healthcheck = 0;
	assert_int_equal(model_task_ready(&svc, &t, 1), MODEL_TASK_UNHEALTHY);
	/* the first reason wins: not running, then stopping, then no address */
	assert_int_equal(model_task_ready(&svc, &t, 0), MODEL_TASK_NO_ADDRESS);
	t.desired_running = 0;
	assert_int_equal(model_task_ready(&svc, &t, 0), MODEL_TASK_STOPPING);
	t.running = 0;
	assert_int_equal(model_task_ready(&svc, &t, 0), MODEL_TASK_NOT_RUNNING);
}

static void test_node_lookup(void **state)
{
	struct model_node nodes[] = { { .id = "a" }, { .id = "m" }, { .id = "z" } };
	struct model m = { .source = "swarm", .nnodes = 3, .nodes = nodes };
	struct model none = { .source = "docker" };

	(void)state;
	assert_ptr_equal(model_node(&m, "a"), &nodes[0]);
	assert_ptr_equal(model_node(&m, "m"), &nodes[1]);
	assert_ptr_equal(model_node(&m, "z"), &nodes[2]);
	assert_null(model_node(&m, "b"));
	assert_null(model_node(&m, NULL));
	assert_null(model_node(&none, "a"));
}

static void test_copies(void **state)
{
	struct model *m = model_new("test");
	struct model_label l[] = { { "k1", "v1" }, { "k2", "v2" } };
	struct model_netattach n[] = { { .network = "net", .network_id = NULL } };
	struct model_port p[] = { { 80, 8080, MODEL_PROTO_TCP, MODEL_PUBLISH_HOST } };
	struct model_label *lc;
	struct model_netattach *nc;
	struct model_port *pc;
	int oom = 0;

	(void)state;
	assert_non_null(m);
	lc = model_labels_dup(m, l, 2, &oom);
	nc = model_nets_dup(m, n, 1, &oom);
	pc = model_ports_dup(m, p, 1, &oom);
	assert_false(oom);
	assert_string_equal(lc[1].value, "v2");
	assert_ptr_not_equal(lc[1].value, l[1].value);
	assert_string_equal(nc[0].network, "net");
	assert_null(nc[0].network_id);
	assert_int_equal(pc[0].published, 8080);
	assert_int_equal(pc[0].mode, MODEL_PUBLISH_HOST);
	/* nothing to copy: NULL, not an error */
	assert_null(model_labels_dup(m, NULL, 0, &oom));
	assert_null(model_strdup(m, NULL, &oom));
	assert_false(oom);
	model_free(m);
}

/* A model with one service, one task and one node, every field set. */
struct one {
	struct model m;
	struct model_service svc;
	struct model_task task;
	struct model_label label;
	struct model_netattach net, vip;
	struct model_port tport, sport;
	struct model_node node;
};

static void one_init(struct one *o)
{
	memset(o, 0, sizeof(*o));
	o->label = (struct model_label){ "com.docker.lb.hosts", "a.example.org" };
	o->net = (struct model_netattach){ .network = "net", .network_id = "n1" };
	netaddr_parse(&o->net.addr, "10.0.0.5", 8);
	o->vip = o->net;
	netaddr_parse(&o->vip.addr, "10.0.0.2", 8);
	o->tport = (struct model_port){ 80, 30080, MODEL_PROTO_TCP, MODEL_PUBLISH_HOST };
	o->sport = o->tport;
	o->task = (struct model_task){ .id = "t1", .node = "vm", .node_id = "node1", .state = "running",
				       .running = 1, .desired_running = 1, .state_since_ms = 5,
				       .nnets = 1, .nets = &o->net, .nports = 1, .ports = &o->tport };
	o->svc = (struct model_service){ .id = "s1", .name = "web", .created_ms = 1,
					 .nlabels = 1, .labels = &o->label, .nvips = 1, .vips = &o->vip,
					 .nports = 1, .ports = &o->sport, .ntasks = 1, .tasks = &o->task };
	o->node = (struct model_node){ .id = "node1", .hostname = "vm", .state = MODEL_NODE_READY,
				       .availability = MODEL_AVAIL_ACTIVE, .role = MODEL_ROLE_MANAGER };
	netaddr_parse(&o->node.addr, "192.0.2.1", 9);
	o->m = (struct model){ .source = "swarm", .nsvcs = 1, .svcs = &o->svc,
			       .nnodes = 1, .nodes = &o->node };
}

static void test_digest(void **state)
{
	struct one a, b;
	uint64_t base;

	(void)state;
	one_init(&a);
	one_init(&b);
	base = model_digest(&a.m);
	/* equal content, other memory: equal digests */
	assert_true(model_digest(&b.m) == base);

#define CHANGES(stmt) do { one_init(&b); stmt; assert_true(model_digest(&b.m) != base); } while (0)
	CHANGES(b.m.source = "docker");
	CHANGES(b.svc.name = "web2");
	CHANGES(b.svc.has_healthcheck = 1);
	CHANGES(b.label.value = "b.example.org");
	CHANGES(netaddr_parse(&b.vip.addr, "10.0.0.3", 8));
	CHANGES(b.task.state = "starting");
	CHANGES(b.task.health = MODEL_HEALTH_HEALTHY);
	CHANGES(b.task.node_id = "node2");
	CHANGES(b.task.nnets = 0);
	CHANGES(b.net.network = "other");
	/* published ports, of the task and of the service */
	CHANGES(b.tport.published = 30081);
	CHANGES(b.tport.protocol = MODEL_PROTO_UDP);
	CHANGES(b.task.nports = 0);
	CHANGES(b.sport.mode = MODEL_PUBLISH_INGRESS);
	CHANGES(b.sport.target = 81);
	/* nodes: a node going down or draining is a change */
	CHANGES(b.node.state = MODEL_NODE_DOWN);
	CHANGES(b.node.availability = MODEL_AVAIL_DRAIN);
	CHANGES(b.node.role = MODEL_ROLE_WORKER);
	CHANGES(b.node.hostname = "vm2");
	CHANGES(netaddr_parse(&b.node.addr, "192.0.2.2", 9));
	CHANGES(netaddr_parse(&b.node.manager_addr, "192.0.2.1", 9));
	CHANGES(b.m.nnodes = 0);
#undef CHANGES
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_task_ready),
		cmocka_unit_test(test_node_lookup),
		cmocka_unit_test(test_copies),
		cmocka_unit_test(test_digest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
