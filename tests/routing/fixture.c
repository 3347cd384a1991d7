/* Routing test fixtures. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/netaddr.h"
#include "routing/model.h"
#include "tests/routing/fixture.h"

static char fx_scratch[RTABLE_SCRATCH_SIZE];

static void *fx_need(void *p)
{
	if (!p) {
		fprintf(stderr, "fixture: out of memory\n");
		abort();
	}
	return p;
}

struct model *fx_model(void)
{
	struct model *m = fx_need(model_new("file"));

	m->svcs = fx_need(arena_calloc(m->arena, FX_MAX_SERVICES, sizeof(*m->svcs)));
	return m;
}

void fx_label(struct model *m, struct model_service *s, const char *key, const char *value)
{
	for (size_t i = 0; i < s->nlabels; i++) {
		if (strcmp(s->labels[i].key, key) == 0) {
			s->labels[i].value = fx_need(arena_strdup(m->arena, value));
			return;
		}
	}
	if (s->nlabels == FX_MAX_LABELS)
		abort();
	s->labels[s->nlabels].key = fx_need(arena_strdup(m->arena, key));
	s->labels[s->nlabels].value = fx_need(arena_strdup(m->arena, value));
	s->nlabels++;
}

struct model_service *fx_service(struct model *m, const char *name, int64_t created_ms, ...)
{
	struct model_service *s;
	const char *kv;
	va_list ap;

	if (m->nsvcs == FX_MAX_SERVICES)
		abort();
	s = &m->svcs[m->nsvcs++];
	s->name = fx_need(arena_strdup(m->arena, name));
	s->id = s->name;
	s->created_ms = created_ms;
	s->labels = fx_need(arena_calloc(m->arena, FX_MAX_LABELS, sizeof(*s->labels)));
	s->tasks = fx_need(arena_calloc(m->arena, FX_MAX_TASKS, sizeof(*s->tasks)));
	s->vips = fx_need(arena_calloc(m->arena, 8, sizeof(*s->vips)));
	va_start(ap, created_ms);
	while ((kv = va_arg(ap, const char *))) {
		const char *eq = strchr(kv, '=');
		char key[128];

		if (!eq)
			abort();
		if (strncmp(kv, "lb.", 3) == 0)
			snprintf(key, sizeof(key), "com.docker.lb.%.*s", (int)(eq - kv - 3), kv + 3);
		else
			snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
		fx_label(m, s, key, eq + 1);
	}
	va_end(ap);
	return s;
}

static void fx_attach(struct model *m, struct model_netattach *n, const char *addr,
		      const char *network)
{
	if (netaddr_parse(&n->addr, addr, strlen(addr)) < 0)
		abort();
	n->network = network ? fx_need(arena_strdup(m->arena, network)) : NULL;
}

struct model_task *fx_task(struct model *m, struct model_service *s, const char *id,
			   const char *addr, uint16_t port, const char *network)
{
	struct model_task *t;

	if (s->ntasks == FX_MAX_TASKS)
		abort();
	t = &s->tasks[s->ntasks++];
	t->id = fx_need(arena_strdup(m->arena, id));
	t->state = "running";
	t->running = 1;
	t->desired_running = 1;
	t->port = port;
	t->nets = fx_need(arena_calloc(m->arena, 4, sizeof(*t->nets)));
	t->nnets = 1;
	fx_attach(m, &t->nets[0], addr, network);
	return t;
}

void fx_task_net(struct model *m, struct model_task *t, const char *addr, const char *network)
{
	if (t->nnets == 4)
		abort();
	fx_attach(m, &t->nets[t->nnets++], addr, network);
}

void fx_task_host_port(struct model *m, struct model_task *t, const char *node_id,
		       uint16_t target, uint16_t published)
{
	t->nnets = 0;
	t->node_id = fx_need(arena_strdup(m->arena, node_id));
	t->node = t->node_id;
	t->ports = fx_need(arena_calloc(m->arena, 1, sizeof(*t->ports)));
	t->ports[0] = (struct model_port){ .target = target, .published = published,
					   .protocol = MODEL_PROTO_TCP, .mode = MODEL_PUBLISH_HOST };
	t->nports = 1;
}

struct model_node *fx_node(struct model *m, const char *id, const char *addr, const char *manager)
{
	struct model_node *nodes = fx_need(arena_calloc(m->arena, m->nnodes + 1, sizeof(*nodes)));
	size_t at = 0;

	while (at < m->nnodes && strcmp(m->nodes[at].id, id) < 0)
		at++;
	if (m->nnodes) {
		memcpy(nodes, m->nodes, at * sizeof(*nodes));
		memcpy(nodes + at + 1, m->nodes + at, (m->nnodes - at) * sizeof(*nodes));
	}
	m->nodes = nodes;
	m->nnodes++;
	nodes[at].id = fx_need(arena_strdup(m->arena, id));
	nodes[at].state = MODEL_NODE_READY;
	if (netaddr_parse(&nodes[at].addr, addr, strlen(addr)) < 0)
		abort();
	if (manager && netaddr_parse(&nodes[at].manager_addr, manager, strlen(manager)) < 0)
		abort();
	return &nodes[at];
}

void fx_vip(struct model *m, struct model_service *s, const char *addr, const char *network)
{
	fx_attach(m, &s->vips[s->nvips++], addr, network);
}

struct rtable *fx_build(const struct model *m, unsigned nworkers, const char *cluster)
{
	const struct model *models[1] = { m };
	struct rtable_build_opts o = { .nworkers = nworkers, .service_cluster = cluster };

	return fx_need(rtable_build(models, 1, &o));
}

void fx_req(struct route_req *r, const char *host, const char *path)
{
	memset(r, 0, sizeof(*r));
	r->host = host;
	r->host_len = host ? strlen(host) : 0;
	r->path = path;
	r->path_len = path ? strlen(path) : 0;
	r->method = "GET";
	r->method_len = 3;
}

struct route_answer fx_route(const struct rtable *t, const char *host, const char *path)
{
	struct route_answer ans;
	struct route_req r;

	fx_req(&r, host, path);
	rtable_route(t, 0, &r, &ans, fx_scratch);
	return ans;
}

enum rtable_svc_status fx_status(const struct rtable *t, const char *name, const char **reason)
{
	long i = rtable_service_find(t, name);
	struct rtable_service_view v;

	if (i < 0) {
		fprintf(stderr, "fixture: no service %s\n", name);
		abort();
	}
	rtable_service_at(t, (size_t)i, &v);
	if (reason)
		*reason = v.reason;
	return v.status;
}
