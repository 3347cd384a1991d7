/* Swarm JSON to service model, from answers recorded on a real dockerd
 * (tests/fixtures/docker/), then the ways a daemon's answer can be wrong: malformed
 * entries (skipped, the others kept), malformed documents (refused, the
 * last good state kept), huge values, partial task updates, convergence
 * (fast while unsettled, stuck services fall back, many at once).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/sbuf.h"
#include "common/netaddr.h"
#include "discovery/swarm.h"
#include "routing/model.h"
#include "tests/lib/fixture.h"

#define WEB "n39a93ol26f5fclwtv4a7udo8"
#define API "myjgzfsk9oblru2dhevxqnsk2"
#define GLOBAL "5uzysp9bu3mcguksyq40mesxt"

static void load_fixture(struct swarm *sw, const char *name,
			 int (*fn)(struct swarm *, const char *, size_t, char *, size_t))
{
	size_t len;
	char *json = fixture_read(name, &len), err[256];

	if (fn(sw, json, len, err, sizeof(err)) != 0)
		fail_msg("%s: %s", name, err);
	free(json);
}

static int load_services_now(struct swarm *sw, const char *json, size_t len, char *err, size_t errlen)
{
	return swarm_load_services(sw, json, len, 1000, err, errlen);
}

static int load_tasks_all(struct swarm *sw, const char *json, size_t len, char *err, size_t errlen)
{
	return swarm_load_tasks(sw, json, len, NULL, 0, 1000, err, errlen);
}

/* The fixture swarm: web (4 replicas, health check), api (stack
 * "explore", an update in progress), global (no com.docker.lb label).
 */
static struct swarm *fixture_swarm(void)
{
	struct swarm *sw = swarm_new();

	assert_non_null(sw);
	load_fixture(sw, "networks.json", swarm_load_networks);
	load_fixture(sw, "nodes.json", swarm_load_nodes);
	load_fixture(sw, "services.json", load_services_now);
	load_fixture(sw, "tasks.json", load_tasks_all);
	return sw;
}

static const struct model_service *find_svc(const struct model *m, const char *id)
{
	for (size_t i = 0; i < m->nsvcs; i++)
		if (strcmp(m->svcs[i].id, id) == 0)
			return &m->svcs[i];
	return NULL;
}

static const struct model_task *find_task(const struct model_service *s, const char *id)
{
	for (size_t i = 0; i < s->ntasks; i++)
		if (strcmp(s->tasks[i].id, id) == 0)
			return &s->tasks[i];
	return NULL;
}

static void test_fixture_model(void **state)
{
	struct swarm *sw = fixture_swarm();
	struct model *m = swarm_model(sw);
	const struct model_service *web, *api, *glob;
	const struct model_task *t;
	struct swarm_counts c;
	char ip[NETADDR_STRLEN];

	(void)state;
	assert_non_null(m);
	assert_string_equal(m->source, "swarm");
	assert_int_equal(m->nsvcs, 3);
	/* sorted by ID, stable for diffs and digests */
	assert_string_equal(m->svcs[0].id, GLOBAL);
	assert_string_equal(m->svcs[1].id, API);
	assert_string_equal(m->svcs[2].id, WEB);

	web = find_svc(m, WEB);
	assert_string_equal(web->name, "ssp-explore-web");
	assert_null(web->stack);
	assert_true(web->has_healthcheck);
	assert_int_equal(web->created_ms, 1795664887802LL);
	assert_int_equal(web->nlabels, 3);
	assert_string_equal(model_label(web, "com.docker.lb.hosts"), "web.example.org");
	assert_string_equal(model_label(web, "com.docker.lb.port"), "8080");
	assert_int_equal(web->nvips, 1);
	assert_string_equal(web->vips[0].network, "ssp-explore-net");
	assert_string_equal(web->vips[0].network_id, "64b10570kbavk9j9zd6o6dqsd");
	assert_string_equal(netaddr_str(&web->vips[0].addr, ip), "10.0.2.2");
	assert_int_equal(web->ntasks, 4);
	t = find_task(web, "ro07z0zesvkz736t94gmos74t");
	assert_non_null(t);
	assert_string_equal(t->node, "vm");   /* the node's host name */
	assert_string_equal(t->state, "running");
	assert_true(t->running);
	assert_true(t->desired_running);
	assert_int_equal(t->health, MODEL_HEALTH_HEALTHY);
	assert_int_equal(t->port, 0);
	assert_int_equal(t->state_since_ms, 1795664890982LL);
	assert_int_equal(t->nnets, 1);
	assert_string_equal(t->nets[0].network, "ssp-explore-net");
	assert_string_equal(netaddr_str(&t->nets[0].addr, ip), "10.0.2.4");

	api = find_svc(m, API);
	assert_string_equal(api->stack, "explore");
	assert_false(api->has_healthcheck);
	assert_string_equal(model_label(api, "com.docker.lb.context_root"), "/api");
	assert_int_equal(api->ntasks, 2);
	/* the replacement waits (desired "ready"), the old one is stopping */
	t = find_task(api, "il14rc38fi7mrfdbd1hsl23e0");
	assert_string_equal(t->state, "ready");
	assert_false(t->running);
	assert_false(t->desired_running);
	t = find_task(api, "jfx95ulfpydw9b147thitxboe");
	assert_false(t->desired_running);

	/* not routed: listed, with VIPs, without tasks */
	glob = find_svc(m, GLOBAL);
	assert_false(glob->has_healthcheck);   /* Test: ["NONE"] */
	assert_int_equal(glob->nvips, 2);
	assert_string_equal(glob->vips[1].network, "ssp-explore-net2");
	assert_int_equal(glob->ntasks, 0);

	swarm_counts(sw, &c);
	assert_int_equal(c.services, 3);
	assert_int_equal(c.routed, 2);
	assert_int_equal(c.tasks, 6);
	assert_int_equal(c.networks, 4);
	assert_int_equal(c.nodes, 1);
	assert_int_equal(c.skipped, 0);
	model_free(m);
	swarm_free(sw);
}

#define HOSTPORT "nqxhkcxr0xkn1bpubifkuet5a"
#define HOSTPORT_NODE "l44puiaq0yjr629vfj9uwd7kz"

/* A service publishing tcp 80 and udp 53 in host mode on a single-node
 * swarm, recorded on dockerd 20.10: its ports and its task's, the node the
 * task runs on, and the node drained in a later answer.
 */
static void test_hostport_model(void **state)
{
	struct swarm *sw = swarm_new();
	struct model *m, *drained;
	const struct model_service *svc;
	const struct model_task *t;
	const struct model_node *node;
	char ip[NETADDR_STRLEN];

	(void)state;
	load_fixture(sw, "hostport_nodes.json", swarm_load_nodes);
	load_fixture(sw, "hostport_services.json", load_services_now);
	load_fixture(sw, "hostport_tasks.json", load_tasks_all);
	m = swarm_model(sw);
	assert_non_null(m);
	svc = find_svc(m, HOSTPORT);
	assert_non_null(svc);
	assert_int_equal(svc->nports, 2);
	assert_int_equal(svc->ports[0].target, 80);
	assert_int_equal(svc->ports[0].published, 50632);
	assert_int_equal(svc->ports[0].protocol, MODEL_PROTO_TCP);
	assert_int_equal(svc->ports[0].mode, MODEL_PUBLISH_HOST);
	assert_int_equal(svc->ports[1].target, 53);
	assert_int_equal(svc->ports[1].published, 23862);
	assert_int_equal(svc->ports[1].protocol, MODEL_PROTO_UDP);
	assert_int_equal(svc->nvips, 0);

	/* the task: its two ports (each listed twice by dockerd), no overlay
	 * address, and its node */
	assert_int_equal(svc->ntasks, 1);
	t = &svc->tasks[0];
	assert_true(t->running);
	assert_int_equal(t->nports, 2);
	assert_int_equal(t->ports[0].published, 50632);
	assert_int_equal(t->ports[0].mode, MODEL_PUBLISH_HOST);
	assert_int_equal(t->ports[1].protocol, MODEL_PROTO_UDP);
	assert_int_equal(t->nnets, 0);
	assert_int_equal(model_task_ready(svc, t, 0), MODEL_TASK_NO_ADDRESS);
	assert_string_equal(t->node_id, HOSTPORT_NODE);
	assert_string_equal(t->node, "vm");
	node = model_node(m, t->node_id);
	assert_non_null(node);
	assert_int_equal(m->nnodes, 1);
	assert_string_equal(node->hostname, "vm");
	assert_string_equal(netaddr_str(&node->addr, ip), "127.0.0.1");
	assert_string_equal(netaddr_str(&node->manager_addr, ip), "127.0.0.1");
	assert_int_equal(node->state, MODEL_NODE_READY);
	assert_int_equal(node->availability, MODEL_AVAIL_ACTIVE);
	assert_int_equal(node->role, MODEL_ROLE_MANAGER);

	/* the node drained: a model that differs, by its node only */
	load_fixture(sw, "hostport_nodes_drain.json", swarm_load_nodes);
	drained = swarm_model(sw);
	assert_int_equal(model_node(drained, HOSTPORT_NODE)->availability, MODEL_AVAIL_DRAIN);
	assert_true(model_digest(drained) != model_digest(m));
	model_free(drained);
	model_free(m);
	swarm_free(sw);
}

static void test_convergence(void **state)
{
	struct swarm *sw = fixture_swarm();
	const char *ids[8];
	size_t n;

	(void)state;
	/* web runs its 4 replicas: settled; api is mid-update */
	n = swarm_converging(sw, 2000, ids, 8);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], API);
	/* a service event on web: fast polling until its tasks settle */
	swarm_converge(sw, WEB, 2000, 30000);
	assert_int_equal(swarm_converging(sw, 2000, ids, 8), 2);
	{
		size_t len;
		char *json = fixture_read("tasks.json", &len), err[256];
		const char *only[] = { WEB };

		assert_int_equal(swarm_load_tasks(sw, json, len, only, 1, 2100, err, sizeof(err)), 0);
		free(json);
	}
	assert_int_equal(swarm_converging(sw, 2100, ids, 8), 1);
	/* the cap: a service that never settles is stuck after it, polled
	 * every SWARM_STUCK_POLL_MS (it was last polled at 1000) */
	{
		const char *only[] = { API };
		int64_t t = 1000 + SWARM_CONVERGE_UPDATE_MS + 1;
		struct swarm_converge_counts cc;

		assert_int_equal(swarm_converging(sw, t, ids, 8), 1);
		assert_string_equal(ids[0], API);
		swarm_settle(sw, only, 1, t);
		assert_int_equal(swarm_converging(sw, t + 1, ids, 8), 0);
		assert_int_equal(swarm_stuck_due(sw, t + 1), t + SWARM_STUCK_POLL_MS);
		swarm_converge_counts(sw, t + 1, &cc);
		assert_int_equal(cc.fast, 0);
		assert_int_equal(cc.stuck, 1);
	}
	/* global services are not routed here: never converging */
	swarm_converge(sw, GLOBAL, 2000, 30000);
	assert_int_equal(swarm_converging(sw, 2100, ids, 8), 1);
	/* an event on a service whose tasks do not move: the next answer,
	 * identical, settles it without being loaded again (api, stuck, was
	 * polled just before: not due) */
	{
		const char *api[] = { API };

		swarm_settle(sw, api, 1, 649000);
	}
	swarm_converge(sw, WEB, 650000, 30000);
	assert_int_equal(swarm_converging(sw, 650000, ids, 8), 1);
	{
		const char *only[] = { WEB };

		swarm_settle(sw, only, 1, 650100);
	}
	assert_int_equal(swarm_converging(sw, 650100, ids, 8), 0);

	/* a container event: a short window, not renewed during the cooldown
	 * (a crash-looping task must not keep polling fast) */
	{
		const char *api[] = { API };

		swarm_settle(sw, api, 1, 699000);
	}
	assert_int_equal(swarm_converge_hint(sw, WEB, 700000), 1);
	assert_int_equal(swarm_converging(sw, 700000 + SWARM_HINT_MS - 1, ids, 8), 1);
	assert_int_equal(swarm_converging(sw, 700000 + SWARM_HINT_MS, ids, 8), 0);
	assert_int_equal(swarm_converge_hint(sw, WEB, 700000 + SWARM_HINT_MS + 1), 0);
	assert_int_equal(swarm_converging(sw, 700000 + SWARM_HINT_MS + 1, ids, 8), 0);
	assert_int_equal(swarm_converge_hint(sw, WEB, 700000 + SWARM_HINT_COOLDOWN_MS), 1);
	/* not routed: no window */
	assert_int_equal(swarm_converge_hint(sw, GLOBAL, 700000), 0);
	assert_int_equal(swarm_converge_hint(sw, "unknown", 700000), 0);
	/* routed list */
	n = swarm_routed(sw, ids, 8);
	assert_int_equal(n, 2);
	assert_int_equal(swarm_routed(sw, NULL, 0), 2);
	swarm_free(sw);
}

static const char *svc_json(const char *id, const char *name, const char *extra_spec)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf),
		 "{\"ID\":\"%s\",\"Version\":{\"Index\":1},\"CreatedAt\":\"2024-01-02T03:04:05.5Z\","
		 "\"Spec\":{\"Name\":\"%s\",\"Labels\":{\"com.docker.lb.hosts\":\"%s.example.org\"}%s,"
		 "\"Mode\":{\"Replicated\":{\"Replicas\":1}}}}",
		 id, name, name, extra_spec);
	return buf;
}

static void test_malformed_entries(void **state)
{
	struct swarm *sw = swarm_new();
	struct swarm_counts c;
	struct sbuf_like { char b[16384]; size_t n; } doc = { .n = 0 };
	struct model *m;
	char err[256];

	(void)state;
#define ADD(s) (doc.n += (size_t)snprintf(doc.b + doc.n, sizeof(doc.b) - doc.n, "%s", (s)))
	ADD("[");
	ADD(svc_json("aaa", "good1", ""));
	ADD(",{\"Spec\":{\"Name\":\"no-id\"}}");                         /* no ID */
	ADD(",{\"ID\":\"bbb\",\"Spec\":\"not an object\"}");             /* bad Spec */
	ADD(",{\"ID\":\"ccc\",\"Spec\":{\"Labels\":{}}}");               /* no name */
	ADD(",{\"ID\":42,\"Spec\":{\"Name\":\"numeric-id\"}}");          /* ID of the wrong type */
	ADD(",{\"ID\":\"ddd\",\"Spec\":{\"Name\":\"x\",\"Mode\":{\"Replicated\":{\"Replicas\":1.5}}}}");
	ADD(",{\"ID\":\"eee\",\"Spec\":{\"Name\":\"bad\\udc00utf\"}}");  /* lone surrogate */
	ADD(",[1,2,3]");                                                   /* not an object */
	ADD(",null");
	ADD(",");
	ADD(svc_json("fff", "good2", ",\"Unknown\":{\"deep\":[[[[{\"x\":[true,false,null]}]]]]}"));
	ADD("]");
#undef ADD
	assert_int_equal(swarm_load_services(sw, doc.b, doc.n, 0, err, sizeof(err)), 0);
	swarm_counts(sw, &c);
	assert_int_equal(c.services, 2);
	assert_int_equal(c.skipped, 8);
	m = swarm_model(sw);
	assert_int_equal(m->nsvcs, 2);
	assert_string_equal(m->svcs[0].name, "good1");
	assert_int_equal(m->svcs[0].created_ms, 1704164645500LL);
	assert_string_equal(m->svcs[1].name, "good2");
	model_free(m);
	swarm_free(sw);
}

/* A repeated "VirtualIPs" key: the last array wins, whole (the first one's
 * entries must not leave holes in the second). */
static void test_repeated_virtual_ips(void **state)
{
	static const char doc[] =
		"[{\"ID\":\"vvv\",\"Version\":{\"Index\":1},\"CreatedAt\":\"2024-01-02T03:04:05.5Z\","
		"\"Spec\":{\"Name\":\"vips\",\"Labels\":{\"com.docker.lb.hosts\":\"vips.example.org\"},"
		"\"Mode\":{\"Replicated\":{\"Replicas\":1}}},"
		"\"Endpoint\":{\"VirtualIPs\":[{\"NetworkID\":\"n1\",\"Addr\":\"10.0.1.2/24\"}],"
		"\"VirtualIPs\":[{\"NetworkID\":\"n2\",\"Addr\":\"10.0.2.2/24\"},"
		"{\"NetworkID\":\"n3\",\"Addr\":\"10.0.3.2/24\"}]}}]";
	struct swarm *sw = swarm_new();
	struct model *m;
	char err[256];

	(void)state;
	assert_int_equal(swarm_load_services(sw, doc, sizeof(doc) - 1, 0, err, sizeof(err)), 0);
	m = swarm_model(sw);
	assert_int_equal(m->nsvcs, 1);
	assert_int_equal(m->svcs[0].nvips, 2);
	assert_string_equal(m->svcs[0].vips[0].network_id, "n2");
	assert_string_equal(m->svcs[0].vips[1].network_id, "n3");
	model_free(m);
	swarm_free(sw);
}

static void test_bad_documents_keep_state(void **state)
{
	static const char *const bad[] = {
		"", "{}", "null", "[", "[{\"ID\":\"a\"", "[{\"ID\":\"a\",}]", "<html>502</html>",
		"[]garbage", "[{\"ID\":\"x\",\"Spec\":{\"Name\":\"y\"}}] [",
	};
	struct swarm *sw = fixture_swarm();
	struct model *before = swarm_model(sw), *after;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = strlen(bad[i]);

		assert_int_equal(swarm_load_services(sw, bad[i], len, 0, err, sizeof(err)), -1);
		assert_int_equal(swarm_load_tasks(sw, bad[i], len, NULL, 0, 0, err, sizeof(err)), -1);
		assert_int_equal(swarm_load_networks(sw, bad[i], len, err, sizeof(err)), -1);
		assert_int_equal(swarm_load_nodes(sw, bad[i], len, err, sizeof(err)), -1);
		assert_int_equal(swarm_load_service(sw, bad[i], len, 0, err, sizeof(err)), -1);
		assert_true(strlen(err) > 0);
	}
	/* the model is exactly what it was */
	after = swarm_model(sw);
	assert_int_equal(after->nsvcs, before->nsvcs);
	for (size_t i = 0; i < after->nsvcs; i++) {
		assert_string_equal(after->svcs[i].id, before->svcs[i].id);
		assert_int_equal(after->svcs[i].ntasks, before->svcs[i].ntasks);
		assert_int_equal(after->svcs[i].nvips, before->svcs[i].nvips);
	}
	model_free(before);
	model_free(after);
	swarm_free(sw);
}

static void test_huge_values(void **state)
{
	struct swarm *sw = swarm_new();
	size_t big = 200000, n = 0;
	char *doc = malloc(big + 4096), err[256];
	struct model *m;

	(void)state;
	/* a 200 kB label value and a label map of 2000 entries are kept; an
	 * out-of-range replica count only skips its service */
	n += (size_t)sprintf(doc + n, "[{\"ID\":\"big\",\"Spec\":{\"Name\":\"big\",\"Labels\":{\"com.docker.lb.hosts\":\"");
	memset(doc + n, 'h', big);
	n += big;
	n += (size_t)sprintf(doc + n, "\"}}},{\"ID\":\"huge\",\"Spec\":{\"Name\":\"huge\",\"Mode\":{\"Replicated\":"
			     "{\"Replicas\":123456789012345678901234567890}}}},"
			     "{\"ID\":\"neg\",\"Spec\":{\"Name\":\"neg\",\"Mode\":{\"Replicated\":{\"Replicas\":-1}}}}]");
	assert_int_equal(swarm_load_services(sw, doc, n, 0, err, sizeof(err)), 0);
	m = swarm_model(sw);
	assert_int_equal(m->nsvcs, 2);
	assert_string_equal(m->svcs[0].name, "big");
	assert_int_equal(strlen(model_label(&m->svcs[0], "com.docker.lb.hosts")), big);
	model_free(m);

	n = (size_t)sprintf(doc, "[{\"ID\":\"many\",\"Spec\":{\"Name\":\"many\",\"Labels\":{");
	for (int i = 0; i < 2000; i++)
		n += (size_t)sprintf(doc + n, "%s\"label.%d\":\"v%d\"", i ? "," : "", i, i);
	n += (size_t)sprintf(doc + n, "}}}]");
	assert_int_equal(swarm_load_services(sw, doc, n, 0, err, sizeof(err)), 0);
	m = swarm_model(sw);
	assert_int_equal(m->nsvcs, 1);
	assert_int_equal(m->svcs[0].nlabels, 2000);
	assert_string_equal(model_label(&m->svcs[0], "label.1999"), "v1999");
	model_free(m);
	free(doc);
	swarm_free(sw);
}

static void test_tasks_partial_and_malformed(void **state)
{
	struct swarm *sw = fixture_swarm();
	const char *only[] = { WEB };
	const char *doc =
		"[{\"ID\":\"t1\",\"ServiceID\":\"" WEB "\",\"NodeID\":\"unknown-node\",\"DesiredState\":\"running\","
		"\"Status\":{\"State\":\"running\",\"Timestamp\":\"bad time\"},"
		"\"NetworksAttachments\":[{\"Network\":{\"ID\":\"n1\",\"Spec\":{\"Name\":\"net1\"}},"
		"\"Addresses\":[\"garbage\",\"10.9.0.5/24\",\"fd00::5/64\",42]}]},"
		"{\"ID\":\"t2\",\"ServiceID\":\"" WEB "\",\"DesiredState\":\"running\"},"              /* no Status */
		"{\"ServiceID\":\"" WEB "\",\"Status\":{\"State\":\"running\"}},"                     /* no ID */
		"{\"ID\":\"t3\",\"ServiceID\":\"" API "\",\"Status\":{\"State\":\"running\"}},"       /* not asked for */
		"{\"ID\":\"t4\",\"ServiceID\":\"gone\",\"Status\":{\"State\":\"running\"}}]";          /* unknown service */
	struct model *m;
	const struct model_service *web, *api;
	char err[256], ip[NETADDR_STRLEN];

	(void)state;
	assert_int_equal(swarm_load_tasks(sw, doc, strlen(doc), only, 1, 5000, err, sizeof(err)), 0);
	m = swarm_model(sw);
	web = find_svc(m, WEB);
	api = find_svc(m, API);
	/* web's tasks replaced by the one good task; api's untouched */
	assert_int_equal(web->ntasks, 1);
	assert_string_equal(web->tasks[0].id, "t1");
	assert_string_equal(web->tasks[0].node, "unknown-node");   /* no host name known */
	assert_int_equal(web->tasks[0].state_since_ms, 0);
	assert_int_equal(web->tasks[0].nnets, 2);
	assert_string_equal(netaddr_str(&web->tasks[0].nets[0].addr, ip), "10.9.0.5");
	assert_string_equal(netaddr_str(&web->tasks[0].nets[1].addr, ip), "fd00::5");
	assert_string_equal(web->tasks[0].nets[1].network, "net1");
	assert_int_equal(api->ntasks, 2);
	model_free(m);

	/* an empty answer for web: no tasks left */
	assert_int_equal(swarm_load_tasks(sw, "[]", 2, only, 1, 5000, err, sizeof(err)), 0);
	m = swarm_model(sw);
	assert_int_equal(find_svc(m, WEB)->ntasks, 0);
	assert_int_equal(find_svc(m, API)->ntasks, 2);
	model_free(m);
	swarm_free(sw);
}

static void test_service_updates(void **state)
{
	struct swarm *sw = fixture_swarm();
	struct model *m;
	char err[256];
	const char *one = "{\"ID\":\"" WEB "\",\"Spec\":{\"Name\":\"renamed\",\"Labels\":{"
			  "\"com.docker.lb.hosts\":\"new.example.org\"}}}";

	(void)state;
	/* GET /services/{id}: the spec changes, the tasks stay */
	assert_int_equal(swarm_load_service(sw, one, strlen(one), 0, err, sizeof(err)), 0);
	m = swarm_model(sw);
	assert_int_equal(m->nsvcs, 3);
	assert_string_equal(find_svc(m, WEB)->name, "renamed");
	assert_string_equal(model_label(find_svc(m, WEB), "com.docker.lb.hosts"), "new.example.org");
	assert_int_equal(find_svc(m, WEB)->ntasks, 4);
	model_free(m);

	/* losing its com.docker.lb labels drops its tasks */
	one = "{\"ID\":\"" WEB "\",\"Spec\":{\"Name\":\"plain\"}}";
	assert_int_equal(swarm_load_service(sw, one, strlen(one), 0, err, sizeof(err)), 0);
	m = swarm_model(sw);
	assert_int_equal(find_svc(m, WEB)->ntasks, 0);
	model_free(m);

	assert_int_equal(swarm_remove_service(sw, API), 1);
	assert_int_equal(swarm_remove_service(sw, API), 0);
	m = swarm_model(sw);
	assert_int_equal(m->nsvcs, 2);
	assert_null(find_svc(m, API));
	model_free(m);

	/* the full list again: services are back with their new specs */
	load_fixture(sw, "services.json", load_services_now);
	m = swarm_model(sw);
	assert_int_equal(m->nsvcs, 3);
	assert_string_equal(find_svc(m, WEB)->name, "ssp-explore-web");
	model_free(m);
	swarm_free(sw);
}

/* A synthetic swarm of <n> routed services of one replica each, created
 * at 1000, whose tasks Docker shows in <state>.
 */
static struct swarm *many_swarm(size_t n, const char *state)
{
	struct swarm *sw = swarm_new();
	struct sbuf svcs = SBUF_INIT, tasks = SBUF_INIT;
	char err[256];

	assert_non_null(sw);
	fixture_many_services(n, state, &svcs, &tasks);
	assert_false(svcs.oom || tasks.oom);
	if (swarm_load_services(sw, svcs.buf, svcs.len, 1000, err, sizeof(err)) < 0 ||
	    swarm_load_tasks(sw, tasks.buf, tasks.len, NULL, 0, 1100, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	sbuf_free(&svcs);
	sbuf_free(&tasks);
	return sw;
}

/* Issue 15: tasks that start late on a saturated swarm were found by the
 * slow full poll, 25-34 s after they ran, since a service was polled fast
 * for 30 s after its event only. A service whose tasks Docker shows not
 * settled is polled fast for as long as that lasts, up to a ceiling.
 */
static void test_converge_while_unsettled(void **state)
{
	struct swarm *sw = many_swarm(1, "preparing");
	struct swarm_converge_counts cc;
	const char *ids[4], *only[] = { "s0000" };

	(void)state;
	/* 90 s after its creation, its task still preparing: still fast */
	swarm_settle(sw, only, 1, 90000);
	assert_int_equal(swarm_converging(sw, 91100, ids, 4), 1);
	assert_string_equal(ids[0], "s0000");
	swarm_converge_counts(sw, 91100, &cc);
	assert_int_equal(cc.fast, 1);
	assert_int_equal(cc.stuck, 0);
	assert_int_equal(swarm_stuck_due(sw, 91100), -1);
	/* the ceiling counts from the first poll that saw it unsettled (1100) */
	swarm_settle(sw, only, 1, 1100 + SWARM_CONVERGE_MAX_MS - 1);
	assert_int_equal(swarm_converging(sw, 1100 + SWARM_CONVERGE_MAX_MS - 1, ids, 4), 1);
	swarm_converge_counts(sw, 1100 + SWARM_CONVERGE_MAX_MS, &cc);
	assert_int_equal(cc.fast, 0);
	assert_int_equal(cc.stuck, 1);
	swarm_free(sw);
}

/* A task that never starts (pending for lack of resources) must not keep
 * the agent polling fast for good: past the ceiling, one poll every
 * SWARM_STUCK_POLL_MS; a new event on the service starts over.
 */
static void test_converge_stuck_falls_back(void **state)
{
	struct swarm *sw = many_swarm(1, "pending");
	const char *ids[4], *only[] = { "s0000" };
	int64_t t = 1100 + SWARM_CONVERGE_MAX_MS;

	(void)state;
	swarm_settle(sw, only, 1, t - 10);
	/* not due until SWARM_STUCK_POLL_MS after its last poll */
	assert_int_equal(swarm_converging(sw, t, ids, 4), 0);
	assert_int_equal(swarm_stuck_due(sw, t), t - 10 + SWARM_STUCK_POLL_MS);
	assert_int_equal(swarm_converging(sw, t - 10 + SWARM_STUCK_POLL_MS, ids, 4), 1);
	swarm_settle(sw, only, 1, t + 5000);
	assert_int_equal(swarm_converging(sw, t + 5001, ids, 4), 0);
	assert_int_equal(swarm_converging(sw, t + 5000 + SWARM_STUCK_POLL_MS, ids, 4), 1);
	/* a service event: fast again, and a new ceiling once seen unsettled */
	swarm_converge(sw, "s0000", t + 6000, SWARM_CONVERGE_MS);
	assert_int_equal(swarm_converging(sw, t + 6001, ids, 4), 1);
	swarm_settle(sw, only, 1, t + 6100);
	assert_int_equal(swarm_converging(sw, t + 6100 + SWARM_CONVERGE_MS + 60000, ids, 4), 1);
	/* its task runs at last: settled, nothing due, nothing stuck */
	{
		const char *json = "[{\"ID\":\"t0000\",\"ServiceID\":\"s0000\",\"DesiredState\":\"running\","
				   "\"Status\":{\"State\":\"running\",\"Timestamp\":\"2024-01-01T00:00:00Z\"}}]";
		char err[256];

		assert_int_equal(swarm_load_tasks(sw, json, strlen(json), only, 1, t + 70000, err, sizeof(err)), 0);
	}
	assert_int_equal(swarm_converging(sw, t + 70001, ids, 4), 0);
	assert_int_equal(swarm_stuck_due(sw, t + 70001), -1);
	swarm_free(sw);
}

/* 500 services converging at once are listed in one call (discovery then
 * makes one request for all of them: unfiltered past DISC_FILTER_MAX_IDS),
 * and all settle from one answer.
 */
static void test_converge_many(void **state)
{
	struct swarm *sw = many_swarm(500, "starting");
	const char *ids[20];
	struct swarm_converge_counts cc;

	(void)state;
	assert_int_equal(swarm_converging(sw, 60000, ids, 20), 500);
	swarm_converge_counts(sw, 60000, &cc);
	assert_int_equal(cc.fast, 500);
	swarm_free(sw);
	sw = many_swarm(500, "running");
	assert_int_equal(swarm_converging(sw, 2000, ids, 20), 0);
	swarm_free(sw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_model),
		cmocka_unit_test(test_hostport_model),
		cmocka_unit_test(test_convergence),
		cmocka_unit_test(test_converge_while_unsettled),
		cmocka_unit_test(test_converge_stuck_falls_back),
		cmocka_unit_test(test_converge_many),
		cmocka_unit_test(test_malformed_entries),
		cmocka_unit_test(test_repeated_virtual_ips),
		cmocka_unit_test(test_bad_documents_keep_state),
		cmocka_unit_test(test_huge_values),
		cmocka_unit_test(test_tasks_partial_and_malformed),
		cmocka_unit_test(test_service_updates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
