/* Readers of swarm objects: nodes (recorded on a real dockerd, then the
 * states, roles and addresses a node can have), a service's published ports
 * and VIPs, a task's host-mode ports, and what makes an object unusable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/netaddr.h"
#include "common/arena.h"
#include "common/jscan.h"
#include "dockerapi/dockerobj.h"
#include "dockerapi/dockerswarm.h"
#include "tests/lib/fixture.h"

static struct arena *arena;

static int setup(void **state)
{
	(void)state;
	arena = arena_new(4096);
	return arena ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	arena_free(arena);
	return 0;
}

/* Reads <json> as one node; returns the reason it is unusable, or NULL. */
static const char *read_node(const char *json, struct model_node *n)
{
	const char *reason = NULL;
	struct jscan s;

	jscan_init(&s, json, strlen(json));
	assert_int_equal(dockerswarm_node(&s, arena, n, &reason), 0);
	assert_int_equal(jscan_finish(&s), 0);
	return reason;
}

static int node_rec(struct jscan *s, struct arena *a, void *rec, void *arg)
{
	const char *reason = NULL;

	(void)arg;
	if (dockerswarm_node(s, a, rec, &reason) < 0)
		return -1;
	return reason == NULL;
}

static void test_node_recorded(void **state)
{
	struct dockerobj_records r;
	struct model_node *n;
	char *json, err[128], ip[NETADDR_STRLEN];
	size_t len;

	(void)state;
	json = fixture_read("nodes.json", &len);
	assert_int_equal(dockerobj_collect(json, len, "node", sizeof(*n), node_rec, NULL, &r,
					   err, sizeof(err)), 0);
	free(json);
	assert_int_equal(r.n, 1);
	n = r.v;
	assert_string_equal(n->id, "jsv3tv3qsf8o18ua87itudgay");
	assert_string_equal(n->hostname, "vm");
	assert_string_equal(netaddr_str(&n->addr, ip), "127.0.0.1");
	assert_string_equal(netaddr_str(&n->manager_addr, ip), "127.0.0.1");
	assert_int_equal(n->state, MODEL_NODE_READY);
	assert_int_equal(n->availability, MODEL_AVAIL_ACTIVE);
	assert_int_equal(n->role, MODEL_ROLE_MANAGER);
	arena_free(r.arena);
}

/* The same node drained (docker node update --availability drain). */
static void test_node_drained(void **state)
{
	struct dockerobj_records r;
	struct model_node *n;
	char *json, err[128], ip[NETADDR_STRLEN];
	size_t len;

	(void)state;
	json = fixture_read("hostport_nodes_drain.json", &len);
	assert_int_equal(dockerobj_collect(json, len, "node", sizeof(*n), node_rec, NULL, &r,
					   err, sizeof(err)), 0);
	free(json);
	assert_int_equal(r.n, 1);
	n = r.v;
	assert_int_equal(n->availability, MODEL_AVAIL_DRAIN);
	assert_int_equal(n->state, MODEL_NODE_READY);
	assert_int_equal(n->role, MODEL_ROLE_MANAGER);
	assert_string_equal(netaddr_str(&n->addr, ip), "127.0.0.1");
	assert_string_equal(netaddr_str(&n->manager_addr, ip), "127.0.0.1");
	arena_free(r.arena);
}

static void test_node_variants(void **state)
{
	struct model_node n;
	char ip[NETADDR_STRLEN];

	(void)state;
	/* a worker: no manager address */
	assert_null(read_node("{\"ID\":\"w1\",\"Spec\":{\"Role\":\"worker\",\"Availability\":\"drain\"},"
			      "\"Description\":{\"Hostname\":\"w1.example\"},"
			      "\"Status\":{\"State\":\"down\",\"Addr\":\"192.0.2.7\"}}", &n));
	assert_int_equal(n.role, MODEL_ROLE_WORKER);
	assert_int_equal(n.availability, MODEL_AVAIL_DRAIN);
	assert_int_equal(n.state, MODEL_NODE_DOWN);
	assert_string_equal(netaddr_str(&n.addr, ip), "192.0.2.7");
	assert_int_equal(n.manager_addr.family, 0);

	/* a manager whose Status.Addr says nothing: its manager address does */
	assert_null(read_node("{\"ID\":\"m1\",\"Spec\":{\"Role\":\"manager\",\"Availability\":\"pause\"},"
			      "\"Status\":{\"State\":\"disconnected\",\"Addr\":\"0.0.0.0\"},"
			      "\"ManagerStatus\":{\"Leader\":true,\"Addr\":\"[fd00::1]:2377\"}}", &n));
	assert_int_equal(n.availability, MODEL_AVAIL_PAUSE);
	assert_int_equal(n.state, MODEL_NODE_DISCONNECTED);
	assert_string_equal(netaddr_str(&n.addr, ip), "0.0.0.0");
	assert_string_equal(netaddr_str(&n.manager_addr, ip), "fd00::1");
	assert_null(n.hostname);

	/* words Docker may add, and addresses that are none: unknown, unset */
	assert_null(read_node("{\"ID\":\"x\",\"Spec\":{\"Role\":\"observer\",\"Availability\":7},"
			      "\"Status\":{\"State\":\"unknown\",\"Addr\":\"not-an-ip\"},"
			      "\"ManagerStatus\":{\"Addr\":\"10.0.0.1:2377:1\"}}", &n));
	assert_int_equal(n.role, MODEL_ROLE_UNKNOWN);
	assert_int_equal(n.availability, MODEL_AVAIL_UNKNOWN);
	assert_int_equal(n.state, MODEL_NODE_UNKNOWN);
	assert_int_equal(n.addr.family, 0);
	assert_int_equal(n.manager_addr.family, 0);

	/* unusable */
	assert_string_equal(read_node("{\"Spec\":{}}", &n), "no ID");
	assert_string_equal(read_node("[\"ID\"]", &n), "not an object");
	assert_non_null(read_node("{\"ID\":\"x\",\"Description\":{\"Hostname\":5}}", &n));
}

static void test_service_endpoint(void **state)
{
	static const char doc[] =
		"{\"ID\":\"s1\",\"Spec\":{\"Name\":\"web\",\"EndpointSpec\":{\"Mode\":\"vip\"}},"
		"\"Endpoint\":{\"Spec\":{},\"Ports\":[{\"Protocol\":\"tcp\",\"TargetPort\":80,"
		"\"PublishedPort\":30080,\"PublishMode\":\"host\"},{\"Protocol\":\"tcp\",\"TargetPort\":443,"
		"\"PublishedPort\":443,\"PublishMode\":\"ingress\"}],"
		"\"VirtualIPs\":[{\"NetworkID\":\"ingress0\",\"Addr\":\"10.0.0.7/24\"},"
		"{\"NetworkID\":\"n1\",\"Addr\":\"bad\"},{\"Addr\":\"10.0.1.2/24\"}]}}";
	struct dockerswarm_service svc;
	const char *reason = NULL;
	struct jscan s;

	(void)state;
	jscan_init(&s, doc, sizeof(doc) - 1);
	assert_int_equal(dockerswarm_service(&s, arena, &svc, &reason), 0);
	assert_null(reason);
	assert_int_equal(svc.nports, 2);
	assert_int_equal(svc.ports[0].mode, MODEL_PUBLISH_HOST);
	assert_int_equal(svc.ports[0].published, 30080);
	assert_int_equal(svc.ports[1].mode, MODEL_PUBLISH_INGRESS);
	assert_int_equal(svc.ports[1].target, 443);
	/* a VIP without a network or an address is left out */
	assert_int_equal(svc.nvips, 1);
	assert_string_equal(svc.vips[0].network_id, "ingress0");
	assert_null(svc.vips[0].network);   /* joined by the caller */
}

static void test_task_ports(void **state)
{
	static const char doc[] =
		"{\"ID\":\"t1\",\"ServiceID\":\"s1\",\"NodeID\":\"n1\",\"DesiredState\":\"running\","
		"\"Status\":{\"State\":\"running\",\"PortStatus\":{\"Ports\":[{\"Protocol\":\"udp\","
		"\"TargetPort\":53,\"PublishedPort\":30053,\"PublishMode\":\"host\"}]}}}";
	struct dockerswarm_task t;
	const char *reason = NULL;
	struct jscan s;

	(void)state;
	jscan_init(&s, doc, sizeof(doc) - 1);
	assert_int_equal(dockerswarm_task(&s, arena, &t, &reason), 0);
	assert_null(reason);
	assert_string_equal(t.node_id, "n1");
	assert_int_equal(t.nports, 1);
	assert_int_equal(t.ports[0].protocol, MODEL_PROTO_UDP);
	assert_int_equal(t.ports[0].published, 30053);
	assert_int_equal(t.nnets, 0);

	/* what makes a task unusable */
	jscan_init(&s, "{\"ID\":\"t2\"}", 11);
	reason = NULL;
	assert_int_equal(dockerswarm_task(&s, arena, &t, &reason), 0);
	assert_string_equal(reason, "no Status.State");
	jscan_init(&s, "{\"ID\":\"t3\",\"Status\":\"running\"}", 31);
	reason = NULL;
	assert_int_equal(dockerswarm_task(&s, arena, &t, &reason), 0);
	assert_string_equal(reason, "Status is not an object");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_recorded),
		cmocka_unit_test(test_node_drained),
		cmocka_unit_test(test_node_variants),
		cmocka_unit_test(test_service_endpoint),
		cmocka_unit_test(test_task_ports),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
