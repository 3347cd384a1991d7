/* Building the table (routing/rtable_build.c): which services are routed,
 * which are skipped and why, conflicts between services sharing a host,
 * the network a service is reached on, task readiness, clusters, counters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/netaddr.h"
#include "common/sbuf.h"
#include "routing/model.h"
#include "routing/rtable.h"
#include "tests/routing/fixture.h"

static char scratch[RTABLE_SCRATCH_SIZE];

static void test_not_ours(void **state)
{
	struct model *m = fx_model();
	struct rtable *t;
	const char *why;

	(void)state;
	fx_service(m, "plain", 0, NULL);
	fx_service(m, "portonly", 0, "lb.port=80", NULL);
	fx_task(m, fx_service(m, "fallback", 0, "lb.default_backend=true", "lb.port=80", NULL),
		"f.1", "10.0.0.1", 0, NULL);
	fx_service(m, "nodefault", 0, "lb.default_backend=false", "lb.port=80", NULL);
	t = fx_build(m, 1, NULL);
	assert_int_equal(fx_status(t, "plain", &why), RTABLE_SVC_UNROUTED);
	assert_null(why);
	assert_int_equal(fx_status(t, "portonly", &why), RTABLE_SVC_UNROUTED);
	assert_null(why);
	/* a default backend needs no host */
	assert_int_equal(fx_status(t, "fallback", NULL), RTABLE_SVC_ROUTED);
	assert_int_equal(fx_status(t, "nodefault", NULL), RTABLE_SVC_UNROUTED);
	assert_string_equal(fx_route(t, "anything.example", "/").service, "fallback");
	rtable_free(t);
	model_free(m);
}

/* One service's bad labels never disturb the others. */
static void test_bad_labels_isolated(void **state)
{
	struct model *m = fx_model();
	struct rtable_info info;
	struct rtable *t;
	const char *why;

	(void)state;
	fx_task(m, fx_service(m, "good", 0, "lb.hosts=good.example", "lb.port=80", NULL),
		"g.1", "10.0.0.1", 0, NULL);
	fx_task(m, fx_service(m, "bad", 0, "lb.hosts=good2.example", "lb.port=http", NULL),
		"b.1", "10.0.0.2", 0, NULL);
	t = fx_build(m, 1, NULL);
	assert_int_equal(fx_status(t, "bad", &why), RTABLE_SVC_SKIPPED);
	assert_string_equal(why, "com.docker.lb.port: \"http\" is not a port number (1-65535)");
	assert_int_equal(fx_status(t, "good", NULL), RTABLE_SVC_ROUTED);
	assert_int_equal(fx_route(t, "good.example", "/").action, ROUTE_FORWARD);
	assert_int_equal(fx_route(t, "good2.example", "/").action, ROUTE_NOT_FOUND);
	rtable_info(t, &info);
	assert_int_equal(info.services, 2);
	assert_int_equal(info.routed, 1);
	assert_int_equal(info.skipped, 1);
	rtable_free(t);
	model_free(m);
}

static void test_port_required(void **state)
{
	struct model *m = fx_model();
	struct model_service *s;
	struct route_answer a;
	struct rtable *t;
	const char *why;

	(void)state;
	s = fx_service(m, "noport", 0, "lb.hosts=a.example", NULL);
	fx_task(m, s, "n.1", "10.0.0.1", 0, NULL);
	/* every task has its own port (routes file): the label may be omitted */
	s = fx_service(m, "ownports", 0, "lb.hosts=b.example", NULL);
	fx_task(m, s, "o.1", "127.0.0.1", 8081, NULL);
	s = fx_service(m, "empty", 0, "lb.hosts=c.example", NULL);
	/* a task port wins over the label */
	s = fx_service(m, "override", 0, "lb.hosts=d.example", "lb.port=80", NULL);
	fx_task(m, s, "d.1", "127.0.0.1", 9000, NULL);
	t = fx_build(m, 1, NULL);
	assert_int_equal(fx_status(t, "noport", &why), RTABLE_SVC_SKIPPED);
	assert_string_equal(why, "com.docker.lb.port is required: the container port to route to");
	assert_int_equal(fx_status(t, "empty", &why), RTABLE_SVC_SKIPPED);
	assert_int_equal(fx_status(t, "ownports", NULL), RTABLE_SVC_ROUTED);
	a = fx_route(t, "b.example", "/");
	assert_int_equal(a.port, 8081);
	a = fx_route(t, "d.example", "/");
	assert_int_equal(a.port, 9000);
	rtable_free(t);
	model_free(m);
}

/* Builds two services on one host and returns the reason the second was
 * skipped (NULL when both are routed). <a> is created before <b>.
 */
static const char *conflict(const char *a_label, const char *b_label, char *buf, size_t size)
{
	struct model *m = fx_model();
	struct model_service *s;
	struct rtable *t;
	const char *why = NULL;

	s = fx_service(m, "first", 1000, "lb.hosts=a.example,*.w.example", "lb.port=80", a_label, NULL);
	fx_task(m, s, "f.1", "10.0.0.1", 0, NULL);
	s = fx_service(m, "second", 2000, "lb.hosts=a.example,*.W.example", "lb.port=81", b_label, NULL);
	fx_task(m, s, "s.1", "10.0.0.2", 0, NULL);
	t = fx_build(m, 1, NULL);
	assert_int_equal(fx_status(t, "first", NULL), RTABLE_SVC_ROUTED);
	if (fx_status(t, "second", &why) == RTABLE_SVC_SKIPPED) {
		snprintf(buf, size, "%s", why);
		why = buf;
		/* the loser has no route left, even on hosts with no conflict */
		assert_string_equal(fx_route(t, "x.w.example", "/").service, "first");
	} else {
		why = NULL;
	}
	rtable_free(t);
	model_free(m);
	return why;
}

static void test_conflicts(void **state)
{
	char buf[512];

	(void)state;
	/* same settings: a canary pair sharing the route */
	assert_null(conflict("lb.weight=10", "lb.weight=90", buf, sizeof(buf)));
	assert_null(conflict("lb.ssl_only=true", "lb.ssl_only=TRUE", buf, sizeof(buf)));
	assert_null(conflict("lb.websocket_endpoints=/ws", "lb.hsts=10", buf, sizeof(buf)));

	assert_string_equal(conflict("lb.ssl_only=true", "lb.ssl_only=false", buf, sizeof(buf)),
			    "conflicts with service first on a.example: different ssl_only (true there, false here)"
			    "; services sharing a host and path must agree, the first created keeps it");
	assert_string_equal(conflict("lb.context_root_rewrite=true", "lb.weight=1", buf, sizeof(buf)),
			    "conflicts with service first on a.example: different context_root_rewrite (true there, false here)"
			    "; services sharing a host and path must agree, the first created keeps it");
	assert_string_equal(conflict("lb.ssl_passthrough=true", "lb.weight=1", buf, sizeof(buf)),
			    "conflicts with service first on a.example: different ssl_passthrough (true there, false here)"
			    "; services sharing a host and path must agree, the first created keeps it");
	assert_string_equal(conflict("lb.sticky_session_cookie=A", "lb.sticky_session_cookie=B", buf, sizeof(buf)),
			    "conflicts with service first on a.example: different sticky_session_cookie (A there, B here)"
			    "; services sharing a host and path must agree, the first created keeps it");
	assert_string_equal(conflict("lb.ip_hash=true", "lb.weight=1", buf, sizeof(buf)),
			    "conflicts with service first on a.example: different ip_hash (true there, false here)"
			    "; services sharing a host and path must agree, the first created keeps it");
	assert_string_equal(conflict("lb.backend_mode=vip", "lb.backend_mode=task", buf, sizeof(buf)),
			    "conflicts with service first on a.example: different backend_mode (vip there, task here)"
			    "; services sharing a host and path must agree, the first created keeps it");
	assert_string_equal(conflict("lb.redirects=http://a.example/x,http://b.example", "lb.weight=1", buf, sizeof(buf)),
			    "conflicts with service first on a.example: different redirects (other pairs there, these here)"
			    "; services sharing a host and path must agree, the first created keeps it");
	assert_string_equal(conflict("lb.weight=1", "lb.ip_hash=true", buf, sizeof(buf)),
			    "conflicts with service first on a.example: different ip_hash (false there, true here)"
			    "; services sharing a host and path must agree, the first created keeps it");
	assert_string_equal(conflict("lb.ssl_backend=true", "lb.weight=1", buf, sizeof(buf)),
			    "conflicts with service first on a.example: different ssl_backend (true there, false here)"
			    "; services sharing a host and path must agree, the first created keeps it");
	/* different context roots do not conflict */
	assert_null(conflict("lb.ssl_only=true", "lb.context_root=/b", buf, sizeof(buf)));
}

/* The first created keeps the route, whatever the name order; equal
 * creation times fall back to names.
 */
static void test_conflict_order(void **state)
{
	struct model *m = fx_model();
	struct rtable *t;
	const char *why;

	(void)state;
	fx_service(m, "aaa", 2000, "lb.hosts=a.example", "lb.port=80", "lb.ssl_only=true", NULL);
	fx_service(m, "zzz", 1000, "lb.hosts=a.example", "lb.port=80", NULL);
	fx_service(m, "m1", 5000, "lb.hosts=m.example", "lb.port=80", NULL);
	fx_service(m, "m0", 5000, "lb.hosts=m.example", "lb.port=80", "lb.ip_hash=true", NULL);
	fx_service(m, "w1", 3000, "lb.hosts=*.x.example", "lb.port=80", "lb.context_root=/p", NULL);
	fx_service(m, "w2", 4000, "lb.hosts=*.X.example", "lb.port=80", "lb.context_root=/p/",
		   "lb.ip_hash=1", NULL);
	fx_service(m, "d1", 7000, "lb.default_backend=true", "lb.port=80", NULL);
	fx_service(m, "d2", 8000, "lb.default_backend=true", "lb.port=80", "lb.ssl_only=true", NULL);
	fx_service(m, "d3", 9000, "lb.default_backend=true", "lb.port=80", NULL);
	t = fx_build(m, 1, NULL);
	assert_int_equal(fx_status(t, "zzz", NULL), RTABLE_SVC_ROUTED);
	assert_int_equal(fx_status(t, "aaa", &why), RTABLE_SVC_SKIPPED);
	assert_string_equal(why, "conflicts with service zzz on a.example: different ssl_only (false there, true here)"
			    "; services sharing a host and path must agree, the first created keeps it");
	assert_int_equal(fx_status(t, "m0", NULL), RTABLE_SVC_ROUTED);
	assert_int_equal(fx_status(t, "m1", &why), RTABLE_SVC_SKIPPED);
	assert_string_equal(why, "conflicts with service m0 on m.example: different ip_hash (true there, false here)"
			    "; services sharing a host and path must agree, the first created keeps it");
	assert_int_equal(fx_status(t, "w2", &why), RTABLE_SVC_SKIPPED);
	assert_string_equal(why, "conflicts with service w1 on *.x.example/p: different ip_hash (false there, true here)"
			    "; services sharing a host and path must agree, the first created keeps it");
	/* two default backends: same rule */
	assert_int_equal(fx_status(t, "d1", NULL), RTABLE_SVC_ROUTED);
	assert_int_equal(fx_status(t, "d3", NULL), RTABLE_SVC_ROUTED);
	assert_int_equal(fx_status(t, "d2", &why), RTABLE_SVC_SKIPPED);
	assert_string_equal(why, "conflicts with service d1 as default backend: different ssl_only (false there, true here)"
			    "; services sharing a host and path must agree, the first created keeps it");
	rtable_free(t);
	model_free(m);
}

static void test_networks(void **state)
{
	struct model *m = fx_model();
	struct model_service *s;
	struct model_task *tk;
	struct route_answer a;
	struct rtable *t;
	char ip[NETADDR_STRLEN];
	const char *why;

	(void)state;
	/* the ingress mesh network is never used */
	s = fx_service(m, "one", 0, "lb.hosts=one.example", "lb.port=80", NULL);
	tk = fx_task(m, s, "one.1", "10.255.0.5", 0, "ingress");
	fx_task_net(m, tk, "10.1.0.5", "app_net");
	/* two networks and no label: ambiguous */
	s = fx_service(m, "two", 0, "lb.hosts=two.example", "lb.port=80", NULL);
	tk = fx_task(m, s, "two.1", "10.2.0.5", 0, "net_b");
	fx_task_net(m, tk, "10.3.0.5", "net_a");
	/* the same with the label */
	s = fx_service(m, "chosen", 0, "lb.hosts=chosen.example", "lb.port=80", "lb.network=net_b", NULL);
	tk = fx_task(m, s, "chosen.1", "10.3.0.6", 0, "net_a");
	fx_task_net(m, tk, "10.2.0.6", "net_b");
	/* the label may give the network ID */
	s = fx_service(m, "byid", 0, "lb.hosts=byid.example", "lb.port=80", "lb.network=n0id", NULL);
	tk = fx_task(m, s, "byid.1", "10.3.0.7", 0, "net_a");
	fx_task_net(m, tk, "10.2.0.7", "net_b");
	tk->nets[1].network_id = "n0id";
	/* a labelled network the task is not on: not ready */
	s = fx_service(m, "elsewhere", 0, "lb.hosts=elsewhere.example", "lb.port=80", "lb.network=net_c", NULL);
	fx_task(m, s, "e.1", "10.3.0.8", 0, "net_a");
	/* an old task (desired shutdown) still showing the previous network */
	s = fx_service(m, "moved", 0, "lb.hosts=moved.example", "lb.port=80", NULL);
	fx_task(m, s, "moved.1", "10.4.0.1", 0, "new_net");
	tk = fx_task(m, s, "moved.0", "10.5.0.1", 0, "old_net");
	tk->running = tk->desired_running = 0;
	t = fx_build(m, 1, NULL);

	a = fx_route(t, "one.example", "/");
	assert_string_equal(netaddr_str(&a.dst, ip), "10.1.0.5");
	assert_int_equal(fx_status(t, "two", &why), RTABLE_SVC_SKIPPED);
	assert_string_equal(why, "tasks attach to several networks (net_a, net_b): set com.docker.lb.network");
	a = fx_route(t, "chosen.example", "/");
	assert_string_equal(netaddr_str(&a.dst, ip), "10.2.0.6");
	a = fx_route(t, "byid.example", "/");
	assert_string_equal(netaddr_str(&a.dst, ip), "10.2.0.7");
	a = fx_route(t, "elsewhere.example", "/");
	assert_int_equal(a.action, ROUTE_NO_TASK);
	assert_string_equal(a.reason, "no task of service elsewhere is ready (1 no address on the network)");
	assert_int_equal(fx_status(t, "moved", NULL), RTABLE_SVC_ROUTED);
	a = fx_route(t, "moved.example", "/");
	assert_string_equal(netaddr_str(&a.dst, ip), "10.4.0.1");
	rtable_free(t);
	model_free(m);
}

/* Interlock's host mode: no network, the label port published in host
 * mode: the task is reached at its node's address and the published port.
 */
static void test_host_mode(void **state)
{
	struct model *m = fx_model();
	struct model_service *s;
	struct model_task *tk;
	struct route_answer a;
	struct rtable *t;
	struct sbuf out = SBUF_INIT;
	char ip[NETADDR_STRLEN];

	(void)state;
	fx_node(m, "n2", "192.0.2.12", NULL);
	fx_node(m, "n1", "0.0.0.0", "192.0.2.11");   /* a manager's Status.Addr */
	s = fx_service(m, "demo", 0, "lb.hosts=demo.example", "lb.port=8080", NULL);
	tk = fx_task(m, s, "demo.1", "10.0.0.1", 0, NULL);
	fx_task_host_port(m, tk, "n1", 8080, 30001);
	/* the other port of the task is not the label's */
	s = fx_service(m, "other", 0, "lb.hosts=other.example", "lb.port=80", NULL);
	tk = fx_task(m, s, "other.1", "10.0.0.2", 0, NULL);
	fx_task_host_port(m, tk, "n2", 8080, 30002);
	/* on a node the model does not know */
	s = fx_service(m, "lost", 0, "lb.hosts=lost.example", "lb.port=8080", NULL);
	tk = fx_task(m, s, "lost.1", "10.0.0.3", 0, NULL);
	fx_task_host_port(m, tk, "n9", 8080, 30003);
	/* a stack's default network does not matter... */
	s = fx_service(m, "both", 0, "lb.hosts=both.example", "lb.port=8080", NULL);
	tk = fx_task(m, s, "both.1", "10.0.0.4", 0, NULL);
	fx_task_host_port(m, tk, "n2", 8080, 30004);
	fx_task_net(m, tk, "10.9.0.4", "stack_default");
	fx_task_net(m, tk, "10.8.0.4", "shared");
	/* ...but a network the labels name wins */
	s = fx_service(m, "named", 0, "lb.hosts=named.example", "lb.port=8080", "lb.network=app_net", NULL);
	tk = fx_task(m, s, "named.1", "10.0.0.5", 0, NULL);
	fx_task_host_port(m, tk, "n2", 8080, 30005);
	fx_task_net(m, tk, "10.9.0.5", "app_net");
	t = fx_build(m, 1, NULL);

	a = fx_route(t, "demo.example", "/");
	assert_int_equal(a.action, ROUTE_FORWARD);
	assert_string_equal(netaddr_str(&a.dst, ip), "192.0.2.11");
	assert_int_equal(a.port, 30001);
	a = fx_route(t, "other.example", "/");
	assert_int_equal(a.action, ROUTE_NO_TASK);
	assert_string_equal(a.reason, "no task of service other is ready (1 no address on the network)");
	assert_int_equal(fx_route(t, "lost.example", "/").action, ROUTE_NO_TASK);
	a = fx_route(t, "both.example", "/");
	assert_string_equal(netaddr_str(&a.dst, ip), "192.0.2.12");
	assert_int_equal(a.port, 30004);
	a = fx_route(t, "named.example", "/");
	assert_string_equal(netaddr_str(&a.dst, ip), "10.9.0.5");
	assert_int_equal(a.port, 8080);

	/* show routes and explain say how the task is reached */
	rtable_show_routes(t, &out, 0);
	assert_non_null(strstr(out.buf, "demo.1=192.0.2.11:30001(host mode)"));
	assert_non_null(strstr(out.buf, "named.1=10.9.0.5:8080\n"));
	sbuf_reset(&out);
	{
		struct route_req r;

		fx_req(&r, "demo.example", "/");
		rtable_explain(t, &r, &out, 0);
	}
	assert_non_null(strstr(out.buf, "task demo.1 in host mode"));
	sbuf_free(&out);
	rtable_free(t);
	model_free(m);
}

/* running && desired running && (health check ? healthy : not unhealthy) */
static void test_readiness(void **state)
{
	static const struct {
		int running, desired, hc;
		enum model_health health;
		int ready;
	} cases[] = {
		{ 1, 1, 0, MODEL_HEALTH_NONE, 1 },
		{ 1, 1, 0, MODEL_HEALTH_STARTING, 1 },
		{ 1, 1, 0, MODEL_HEALTH_HEALTHY, 1 },
		{ 1, 1, 0, MODEL_HEALTH_UNHEALTHY, 0 },
		{ 1, 1, 1, MODEL_HEALTH_NONE, 0 },
		{ 1, 1, 1, MODEL_HEALTH_STARTING, 0 },
		{ 1, 1, 1, MODEL_HEALTH_HEALTHY, 1 },
		{ 1, 1, 1, MODEL_HEALTH_UNHEALTHY, 0 },
		{ 0, 1, 0, MODEL_HEALTH_NONE, 0 },
		{ 1, 0, 0, MODEL_HEALTH_NONE, 0 },
		{ 0, 0, 1, MODEL_HEALTH_HEALTHY, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct model *m = fx_model();
		struct model_service *s = fx_service(m, "svc", 0, "lb.hosts=a.example", "lb.port=80", NULL);
		struct model_task *tk = fx_task(m, s, "svc.1", "10.0.0.1", 0, NULL);
		struct rtable_service_view v;
		struct rtable *t;

		s->has_healthcheck = cases[i].hc;
		tk->running = cases[i].running;
		tk->desired_running = cases[i].desired;
		tk->health = cases[i].health;
		t = fx_build(m, 1, NULL);
		rtable_service_at(t, 0, &v);
		if (v.nready != (size_t)cases[i].ready)
			fail_msg("case %zu: ready %zu, want %d", i, v.nready, cases[i].ready);
		assert_int_equal(fx_route(t, "a.example", "/").action,
				 cases[i].ready ? ROUTE_FORWARD : ROUTE_NO_TASK);
		rtable_free(t);
		model_free(m);
	}
}

static void test_clusters(void **state)
{
	struct model *m = fx_model();
	struct rtable *t;
	const char *why;

	(void)state;
	fx_service(m, "plain", 0, "lb.hosts=p.example", "lb.port=80", NULL);
	fx_service(m, "blue", 0, "lb.hosts=b.example", "lb.port=80", "lb.service_cluster=blue", NULL);
	fx_service(m, "green", 0, "lb.hosts=g.example", "lb.port=80", "lb.service_cluster=green", NULL);

	t = fx_build(m, 1, NULL);
	assert_int_equal(fx_status(t, "plain", NULL), RTABLE_SVC_ROUTED);
	assert_int_equal(fx_status(t, "blue", &why), RTABLE_SVC_UNROUTED);
	assert_string_equal(why, "served by cluster blue");
	rtable_free(t);

	t = fx_build(m, 1, "");
	assert_int_equal(fx_status(t, "plain", NULL), RTABLE_SVC_ROUTED);
	assert_int_equal(fx_status(t, "green", NULL), RTABLE_SVC_UNROUTED);
	rtable_free(t);

	t = fx_build(m, 1, "blue");
	assert_int_equal(fx_status(t, "blue", NULL), RTABLE_SVC_ROUTED);
	assert_int_equal(fx_status(t, "green", &why), RTABLE_SVC_UNROUTED);
	assert_string_equal(why, "served by cluster green");
	assert_int_equal(fx_status(t, "plain", &why), RTABLE_SVC_UNROUTED);
	assert_string_equal(why, "served by the default cluster (no com.docker.lb.service_cluster)");
	rtable_free(t);
	model_free(m);
}

/* The table keeps its own copy of the provider data: the model may be
 * freed right after the build (the agent does so).
 */
static void test_views_survive_model(void **state)
{
	struct model *m = fx_model();
	struct model_service *s;
	struct rtable_service_view v;
	struct rtable_info info;
	struct rtable *t;
	long i;

	(void)state;
	s = fx_service(m, "web", 0, "lb.hosts=a.example,b.example", "lb.port=80", "lb.context_root=/x", NULL);
	s->id = "svcid123";
	fx_task(m, s, "web.2", "10.0.0.2", 0, NULL);
	fx_task(m, s, "web.1", "10.0.0.1", 0, NULL)->node = "node-1";
	fx_service(m, "other", 0, NULL);
	t = fx_build(m, 2, NULL);
	model_free(m);

	assert_int_equal(rtable_service_count(t), 2);
	i = rtable_service_find(t, "web");
	assert_true(i >= 0);
	assert_int_equal(rtable_service_find(t, "svcid123"), i);
	assert_int_equal(rtable_service_find(t, "nope"), -1);
	rtable_service_at(t, (size_t)i, &v);
	assert_string_equal(v.name, "web");
	assert_string_equal(v.id, "svcid123");
	assert_string_equal(v.source, "file");
	assert_string_equal(v.hosts, "a.example,b.example");
	assert_string_equal(v.mode, "task");
	assert_int_equal(v.ntasks, 2);
	assert_int_equal(v.nready, 2);
	assert_null(v.reason);
	assert_null(v.ssl_cert);
	assert_string_equal(v.model->name, "web");
	assert_string_equal(model_label(v.model, "com.docker.lb.port"), "80");
	assert_string_equal(v.model->tasks[1].node, "node-1");

	rtable_info(t, &info);
	assert_int_equal(info.services, 2);
	assert_int_equal(info.routed, 1);
	assert_int_equal(info.hosts, 2);
	assert_int_equal(info.routes, 2);
	assert_int_equal(info.tasks, 2);
	assert_true(info.memory > 0);
	assert_true(info.built_ms > 0);
	assert_true(info.build_ns > 0);
	assert_int_equal(fx_route(t, "b.example", "/x/y").action, ROUTE_FORWARD);
	rtable_free(t);
}

/* The TLS side reads the validated certificate names of routed services. */
static void test_cert_names(void **state)
{
	struct model *m = fx_model();
	struct rtable_service_view v;
	struct rtable *t;

	(void)state;
	fx_service(m, "tls", 0, "lb.hosts=t.example", "lb.port=443", "lb.ssl_cert=t_cert",
		   "lb.ssl_key=t_key", NULL);
	fx_service(m, "bad", 0, "lb.hosts=b.example", "lb.port=0", "lb.ssl_cert=b_cert", NULL);
	t = fx_build(m, 1, NULL);
	rtable_service_at(t, (size_t)rtable_service_find(t, "tls"), &v);
	assert_string_equal(v.ssl_cert, "t_cert");
	assert_string_equal(v.ssl_key, "t_key");
	/* a skipped service's certificate is not in use */
	rtable_service_at(t, (size_t)rtable_service_find(t, "bad"), &v);
	assert_null(v.ssl_cert);
	rtable_free(t);
	model_free(m);
}

static void test_counters(void **state)
{
	struct model *m = fx_model();
	struct rtable_counters c;
	struct rtable_service_view v;
	struct route_answer a;
	struct route_req r;
	struct rtable *t;

	(void)state;
	fx_task(m, fx_service(m, "web", 0, "lb.hosts=a.example", "lb.port=80", NULL),
		"w.1", "10.0.0.1", 0, NULL);
	fx_service(m, "down", 0, "lb.hosts=d.example", "lb.port=80", "lb.ssl_only=true", NULL);
	t = fx_build(m, 3, NULL);
	for (unsigned w = 0; w < 3; w++) {
		fx_req(&r, "a.example", "/");
		rtable_route(t, w, &r, &a, scratch);
		rtable_route(t, w, &r, &a, scratch);
		fx_req(&r, "d.example", "/");
		rtable_route(t, w, &r, &a, scratch);      /* redirected */
		r.ssl = 1;
		rtable_route(t, w, &r, &a, scratch);      /* no task */
		fx_req(&r, "x.example", "/");
		rtable_route(t, w, &r, &a, scratch);      /* not found */
	}
	rtable_counters(t, &c);
	assert_int_equal(c.forwarded, 6);
	assert_int_equal(c.redirected, 3);
	assert_int_equal(c.no_task, 3);
	assert_int_equal(c.not_found, 3);
	rtable_service_at(t, (size_t)rtable_service_find(t, "web"), &v);
	assert_int_equal(v.counters.forwarded, 6);
	assert_int_equal(v.counters.no_task, 0);
	rtable_service_at(t, (size_t)rtable_service_find(t, "down"), &v);
	assert_int_equal(v.counters.redirected, 3);
	assert_int_equal(v.counters.no_task, 3);
	rtable_free(t);
	model_free(m);
}

static void test_empty_and_null_models(void **state)
{
	struct model *m = fx_model();
	const struct model *models[3] = { NULL, m, NULL };
	struct rtable_build_opts o = { .nworkers = 0 };
	struct route_answer a;
	struct route_req r;
	struct rtable *t;

	(void)state;
	t = rtable_build(NULL, 0, NULL);
	assert_non_null(t);
	assert_int_equal(rtable_service_count(t), 0);
	a = fx_route(t, "a.example", "/");
	assert_int_equal(a.action, ROUTE_NOT_FOUND);
	assert_string_equal(a.reason, "no route for host a.example");
	rtable_free(t);

	fx_task(m, fx_service(m, "web", 0, "lb.hosts=a.example", "lb.port=80", NULL),
		"w.1", "10.0.0.1", 0, NULL);
	t = rtable_build(models, 3, &o);
	assert_non_null(t);
	fx_req(&r, "a.example", "/");
	rtable_route(t, 0, &r, &a, scratch);
	assert_int_equal(a.action, ROUTE_FORWARD);
	rtable_free(t);
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_ours),
		cmocka_unit_test(test_bad_labels_isolated),
		cmocka_unit_test(test_port_required),
		cmocka_unit_test(test_conflicts),
		cmocka_unit_test(test_conflict_order),
		cmocka_unit_test(test_networks),
		cmocka_unit_test(test_host_mode),
		cmocka_unit_test(test_readiness),
		cmocka_unit_test(test_clusters),
		cmocka_unit_test(test_views_survive_model),
		cmocka_unit_test(test_cert_names),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_empty_and_null_models),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
