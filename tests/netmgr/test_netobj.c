/* The network manager's Docker objects, from answers recorded on a real
 * dockerd (tests/fixtures/docker/netmgr_*.json: a pair deployed as stack "ssp5m" with
 * --manage-networks, two app stacks "ssp5ma" and "ssp5mb" on networks of
 * their own), then the shapes a daemon's answer may take: the older
 * Spec.Networks, missing fields, garbage.
 *
 * Guards issue 5: the spec sent back keeps everything but the networks
 * and the agents' labels (aliases included), so that an update never
 * changes what the operator set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "common/sbuf.h"
#include "netmgr/netobj.h"
#include "tests/lib/fixture.h"

#define APPS    "0ijb53nxa522k4ev9ik1e77k9"   /* ssp5m-apps, the operator's */
#define CONTROL "kyzvwn1npphlqkez170y4dfm8"   /* ssp5m_control, the pair's stack */
#define NET_A   "q8allmqupj00y7bzeuzl9mpfr"   /* ssp5ma_net */
#define NET_B   "ys8tuz0coupi2v419e9t5i2mx"   /* ssp5mb_net */

static const struct netplan_net *net_named(const struct netobj_nets *nets, const char *name)
{
	for (size_t i = 0; i < nets->n; i++)
		if (strcmp(nets->nets[i].name, name) == 0)
			return &nets->nets[i];
	fail_msg("no network %s", name);
	return NULL;
}

static void test_networks(void **state)
{
	size_t len;
	char *json = fixture_read("netmgr_networks.json", &len), err[256];
	struct netobj_nets nets;
	const struct netplan_net *n;

	(void)state;
	assert_int_equal(netobj_networks(json, len, &nets, err, sizeof(err)), 0);
	assert_int_equal(nets.n, 9);
	n = net_named(&nets, "ssp5ma_net");
	assert_string_equal(n->id, NET_A);
	assert_string_equal(n->stack, "ssp5ma");
	assert_true(n->swarm);
	assert_false(n->ingress);
	assert_false(n->refs_known);
	n = net_named(&nets, "ssp5m-apps");
	assert_null(n->stack);
	assert_true(n->swarm);
	assert_true(net_named(&nets, "ingress")->ingress);
	assert_false(net_named(&nets, "bridge")->swarm);
	assert_false(net_named(&nets, "docker_gwbridge")->swarm);
	netobj_nets_free(&nets);
	free(json);

	assert_int_equal(netobj_networks("{}", 2, &nets, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an array"));
	assert_int_equal(netobj_networks("[{\"Id\":", 7, &nets, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "malformed JSON"));
	/* entries without an ID or a name are left out, the others kept */
	json = "[{\"Name\":\"x\"},{\"Id\":\"i\"},{\"Id\":\"j\",\"Name\":\"y\",\"Scope\":\"swarm\","
	       "\"Labels\":{\"com.docker.stack.namespace\":\"\"}}]";
	assert_int_equal(netobj_networks(json, strlen(json), &nets, err, sizeof(err)), 0);
	assert_int_equal(nets.n, 1);
	assert_null(nets.nets[0].stack);
	netobj_nets_free(&nets);
}

static void test_proxy(void **state)
{
	size_t len;
	char *json = fixture_read("netmgr_proxy.json", &len), err[256];
	struct netobj_proxy p;

	(void)state;
	assert_int_equal(netobj_proxy(json, len, &p, err, sizeof(err)), 0);
	assert_string_equal(p.name, "ssp5m_haproxy");
	assert_string_equal(p.id, "ght9xxk49cgqu0jt39rtr6vpc");
	assert_true(p.version > 0);
	assert_int_equal(p.nattached, 4);
	assert_string_equal(p.attached[0], APPS);
	assert_string_equal(p.attached[1], CONTROL);
	assert_int_equal(p.nmanaged, 2);
	assert_string_equal(p.managed[0], NET_B);
	assert_string_equal(p.managed[1], NET_A);
	assert_int_equal(p.ndetached, 0);
	assert_string_equal(p.update_state, "completed");
	/* CompletedAt, 2026-11-26T05:25:51.417Z */
	assert_int_equal(p.update_ms, 1795670751417LL);
	netobj_proxy_free(&p);
	free(json);

	/* a service created with an API before 1.25: Spec.Networks; labels
	 * with empty entries */
	json = "{\"ID\":\"s1\",\"Version\":{\"Index\":7},\"Spec\":{\"Name\":\"p\","
	       "\"Labels\":{\"swarm-spoa.managed-networks\":\"a,,b,\","
	       "\"swarm-spoa.detached-networks\":\"c\","
	       "\"swarm-spoa.network-updates\":\"1764640000000,,x,-5,0,99999999999999999999,17\"},"
	       "\"TaskTemplate\":{},\"Networks\":[{\"Target\":\"n1\"},{\"Aliases\":[]}]}}";
	assert_int_equal(netobj_proxy(json, strlen(json), &p, err, sizeof(err)), 0);
	/* the update times: what is not a positive number is left out */
	assert_int_equal(p.nupdates, 2);
	assert_int_equal(p.updates_ms[0], 1764640000000LL);
	assert_int_equal(p.updates_ms[1], 17);
	assert_int_equal(p.version, 7);
	assert_int_equal(p.nattached, 1);
	assert_string_equal(p.attached[0], "n1");
	assert_int_equal(p.nmanaged, 2);
	assert_string_equal(p.managed[1], "b");
	assert_int_equal(p.ndetached, 1);
	assert_string_equal(p.update_state, "");
	assert_int_equal(p.update_ms, 0);
	netobj_proxy_free(&p);

	json = "{\"ID\":\"s1\",\"Version\":{\"Index\":7},\"Spec\":{\"Name\":\"p\"}}";
	assert_int_equal(netobj_proxy(json, strlen(json), &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "task template"));
	json = "{\"ID\":\"s1\",\"Version\":{\"Index\":-1},\"Spec\":{\"Name\":\"p\",\"TaskTemplate\":{}}}";
	assert_int_equal(netobj_proxy(json, strlen(json), &p, err, sizeof(err)), -1);
	assert_int_equal(netobj_proxy("[]", 2, &p, err, sizeof(err)), -1);
	assert_int_equal(netobj_proxy("\x01", 1, &p, err, sizeof(err)), -1);
}

/* The spec sent back: the networks given, in order, the existing entries
 * as they were (aliases), the new ones as bare targets; the labels set or
 * removed; everything else untouched.
 */
static void test_proxy_spec(void **state)
{
	size_t len;
	char *json = fixture_read("netmgr_proxy.json", &len), err[256];
	const char *attached[] = { APPS, CONTROL, NET_B, "newnet00000000000000000001" };
	const char *managed[] = { NET_B, "newnet00000000000000000001" };
	const char *detached[] = { NET_A };
	struct sbuf spec = SBUF_INIT;
	json_t *root, *orig, *got, *nets, *labels;
	json_error_t je;

	(void)state;
	const int64_t updates[] = { 1764640000000, 1764640060000 };

	assert_int_equal(netobj_proxy_spec(json, len, attached, 4, managed, 2, detached, 1,
					   updates, 2, &spec, err, sizeof(err)), 0);
	got = json_loads(spec.buf, 0, &je);
	assert_non_null(got);
	root = json_loads(json, 0, &je);
	orig = json_object_get(root, "Spec");
	assert_non_null(orig);

	nets = json_object_get(json_object_get(got, "TaskTemplate"), "Networks");
	assert_int_equal(json_array_size(nets), 4);
	assert_string_equal(json_string_value(json_object_get(json_array_get(nets, 0), "Target")), APPS);
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_array_get(nets, 1),
									     "Aliases"), 0)),
			    "haproxy");
	assert_string_equal(json_string_value(json_object_get(json_array_get(nets, 3), "Target")),
			    "newnet00000000000000000001");
	assert_int_equal(json_object_size(json_array_get(nets, 3)), 1);
	assert_null(json_object_get(got, "Networks"));

	labels = json_object_get(got, "Labels");
	assert_string_equal(json_string_value(json_object_get(labels, "swarm-spoa.managed-networks")),
			    NET_B ",newnet00000000000000000001");
	assert_string_equal(json_string_value(json_object_get(labels, "swarm-spoa.detached-networks")),
			    NET_A);
	assert_string_equal(json_string_value(json_object_get(labels, "swarm-spoa.network-updates")),
			    "1764640000000,1764640060000");
	assert_string_equal(json_string_value(json_object_get(labels, "com.docker.stack.namespace")),
			    "ssp5m");

	/* the rest as it was */
	assert_true(json_equal(json_object_get(got, "Mode"), json_object_get(orig, "Mode")));
	assert_true(json_equal(json_object_get(got, "UpdateConfig"), json_object_get(orig, "UpdateConfig")));
	assert_true(json_equal(json_object_get(got, "EndpointSpec"), json_object_get(orig, "EndpointSpec")));
	assert_true(json_equal(json_object_get(json_object_get(got, "TaskTemplate"), "ContainerSpec"),
			       json_object_get(json_object_get(orig, "TaskTemplate"), "ContainerSpec")));
	json_decref(got);

	/* nothing managed any more: the labels go */
	assert_int_equal(netobj_proxy_spec(json, len, attached, 2, NULL, 0, NULL, 0, NULL, 0,
					   &spec, err, sizeof(err)), 0);
	got = json_loads(spec.buf, 0, &je);
	labels = json_object_get(got, "Labels");
	assert_null(json_object_get(labels, "swarm-spoa.network-updates"));
	assert_null(json_object_get(labels, "swarm-spoa.managed-networks"));
	assert_null(json_object_get(labels, "swarm-spoa.detached-networks"));
	assert_int_equal(json_array_size(json_object_get(json_object_get(got, "TaskTemplate"),
							 "Networks")), 2);
	json_decref(got);
	json_decref(root);
	free(json);

	/* the older Spec.Networks moves to TaskTemplate.Networks, no labels yet */
	json = "{\"ID\":\"s1\",\"Version\":{\"Index\":7},\"Spec\":{\"Name\":\"p\",\"TaskTemplate\":{},"
	       "\"Networks\":[{\"Target\":\"n1\",\"Aliases\":[\"x\"]}]}}";
	attached[0] = "n1";
	attached[1] = "n2";
	assert_int_equal(netobj_proxy_spec(json, strlen(json), attached, 2, attached + 1, 1, NULL, 0,
					   NULL, 0, &spec, err, sizeof(err)), 0);
	assert_string_equal(spec.buf, "{\"Name\":\"p\",\"TaskTemplate\":{\"Networks\":"
			    "[{\"Target\":\"n1\",\"Aliases\":[\"x\"]},{\"Target\":\"n2\"}]},"
			    "\"Labels\":{\"swarm-spoa.managed-networks\":\"n2\"}}");
	assert_int_equal(netobj_proxy_spec("{}", 2, attached, 2, NULL, 0, NULL, 0, NULL, 0,
					   &spec, err, sizeof(err)), -1);
	sbuf_free(&spec);
}

static void test_count_users(void **state)
{
	size_t len, nlen;
	char *json = fixture_read("netmgr_services.json", &len), err[256];
	char *njson = fixture_read("netmgr_networks.json", &nlen);
	struct netobj_nets nets;
	struct netplan_net *check[3];

	(void)state;
	assert_int_equal(netobj_networks(njson, nlen, &nets, err, sizeof(err)), 0);
	check[0] = (struct netplan_net *)net_named(&nets, "ssp5ma_net");
	check[1] = (struct netplan_net *)net_named(&nets, "ssp5m_control");
	check[2] = (struct netplan_net *)net_named(&nets, "ssp5m-apps");
	assert_int_equal(netobj_count_users(json, len, check, 3, err, sizeof(err)), 0);
	/* ssp5ma_web, ssp5ma_api and the proxy name it; two services are its stack's */
	assert_int_equal(check[0]->services, 3);
	assert_int_equal(check[0]->stack_services, 2);
	/* the proxy and the agents */
	assert_int_equal(check[1]->services, 2);
	assert_int_equal(check[1]->stack_services, 2);
	/* the shared network has no stack */
	assert_int_equal(check[2]->services, 1);
	assert_int_equal(check[2]->stack_services, 0);
	assert_int_equal(netobj_count_users("{}", 2, check, 3, err, sizeof(err)), -1);
	netobj_nets_free(&nets);
	free(json);
	free(njson);
}

static void test_network_containers(void **state)
{
	size_t len;
	char *json = fixture_read("netmgr_network.json", &len), err[256];
	unsigned containers, lb;

	(void)state;
	assert_int_equal(netobj_network_containers(json, len, &containers, &lb, err, sizeof(err)), 0);
	assert_int_equal(containers, 4);
	assert_int_equal(lb, 1);
	free(json);
	json = "{\"Id\":\"x\",\"Containers\":null}";
	assert_int_equal(netobj_network_containers(json, strlen(json), &containers, &lb,
						   err, sizeof(err)), 0);
	assert_int_equal(containers + lb, 0);
	assert_int_equal(netobj_network_containers("{\"message\":\"no\"}", 16, &containers, &lb,
						   err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_networks),
		cmocka_unit_test(test_proxy),
		cmocka_unit_test(test_proxy_spec),
		cmocka_unit_test(test_count_users),
		cmocka_unit_test(test_network_containers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
