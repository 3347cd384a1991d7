/* Service models: allocation, copies into a model, lookups, the readiness
 * rule and the digest.
 */
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/hash.h"
#include "routing/model.h"

struct model *model_new(const char *source)
{
	struct arena *a = arena_new(64 * 1024);
	struct model *m;

	if (!a)
		return NULL;
	m = arena_calloc(a, 1, sizeof(*m));
	if (!m) {
		arena_free(a);
		return NULL;
	}
	m->arena = a;
	m->source = source;
	return m;
}

void model_free(struct model *m)
{
	if (m)
		arena_free(m->arena);
}

/************************************************************************/
/*                          copies into a model                         */
/************************************************************************/

const char *model_strdup(struct model *m, const char *s, int *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = arena_strdup(m->arena, s);
	if (!d)
		*oom = 1;
	return d;
}

/* <n> elements of <size> bytes, copied from <src>, or NULL. */
static void *model_memdup(struct model *m, const void *src, size_t n, size_t size, int *oom)
{
	void *d;

	if (!n)
		return NULL;
	d = arena_alloc(m->arena, n * size);
	if (!d) {
		*oom = 1;
		return NULL;
	}
	memcpy(d, src, n * size);
	return d;
}

struct model_label *model_labels_dup(struct model *m, const struct model_label *l, size_t n,
				     int *oom)
{
	struct model_label *d = model_memdup(m, l, n, sizeof(*l), oom);

	for (size_t i = 0; d && i < n; i++) {
		d[i].key = model_strdup(m, l[i].key, oom);
		d[i].value = model_strdup(m, l[i].value, oom);
	}
	return d;
}

struct model_netattach *model_nets_dup(struct model *m, const struct model_netattach *a,
				       size_t n, int *oom)
{
	struct model_netattach *d = model_memdup(m, a, n, sizeof(*a), oom);

	for (size_t i = 0; d && i < n; i++) {
		d[i].network = model_strdup(m, a[i].network, oom);
		d[i].network_id = model_strdup(m, a[i].network_id, oom);
	}
	return d;
}

struct model_port *model_ports_dup(struct model *m, const struct model_port *p, size_t n,
				   int *oom)
{
	return model_memdup(m, p, n, sizeof(*p), oom);
}

/************************************************************************/
/*                               lookups                                */
/************************************************************************/

const char *model_label(const struct model_service *svc, const char *key)
{
	for (size_t i = 0; i < svc->nlabels; i++)
		if (strcmp(svc->labels[i].key, key) == 0)
			return svc->labels[i].value;
	return NULL;
}

static int model_node_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct model_node *)elem)->id);
}

const struct model_node *model_node(const struct model *m, const char *id)
{
	if (!id || !m->nnodes)
		return NULL;
	return bsearch(id, m->nodes, m->nnodes, sizeof(*m->nodes), model_node_cmp);
}

/************************************************************************/
/*                          the readiness rule                          */
/************************************************************************/

enum model_unready model_task_ready(const struct model_service *svc, const struct model_task *t,
				    int reachable)
{
	if (!t->running)
		return MODEL_TASK_NOT_RUNNING;
	if (!t->desired_running)
		return MODEL_TASK_STOPPING;
	if (!reachable)
		return MODEL_TASK_NO_ADDRESS;
	if (t->health == MODEL_HEALTH_UNHEALTHY)
		return MODEL_TASK_UNHEALTHY;
	/* with a health check, "starting" (or unknown) is not yet healthy */
	if (svc->has_healthcheck && t->health != MODEL_HEALTH_HEALTHY)
		return MODEL_TASK_STARTING;
	return MODEL_TASK_READY;
}

/************************************************************************/
/*                              the digest                              */
/************************************************************************/

static uint64_t model_hash_int(uint64_t h, int64_t v)
{
	return hash_bytes(h, &v, sizeof(v));
}

static uint64_t model_hash_addr(uint64_t h, const struct netaddr *a)
{
	return hash_bytes(h, a, sizeof(*a));
}

static uint64_t model_hash_nets(uint64_t h, const struct model_netattach *n, size_t count)
{
	h = model_hash_int(h, (int64_t)count);
	for (size_t i = 0; i < count; i++) {
		h = hash_str(h, n[i].network);
		h = hash_str(h, n[i].network_id);
		h = model_hash_addr(h, &n[i].addr);
	}
	return h;
}

static uint64_t model_hash_ports(uint64_t h, const struct model_port *p, size_t count)
{
	h = model_hash_int(h, (int64_t)count);
	for (size_t i = 0; i < count; i++)
		h = model_hash_int(h, (int64_t)p[i].target | (int64_t)p[i].published << 16 |
				   (int64_t)p[i].protocol << 32 | (int64_t)p[i].mode << 40);
	return h;
}

static uint64_t model_hash_task(uint64_t h, const struct model_task *t)
{
	h = hash_str(h, t->id);
	h = hash_str(h, t->node);
	h = hash_str(h, t->node_id);
	h = hash_str(h, t->state);
	h = model_hash_int(h, t->running | t->desired_running << 1 | (int)t->health << 2);
	h = model_hash_int(h, t->port);
	h = model_hash_int(h, t->state_since_ms);
	h = model_hash_nets(h, t->nets, t->nnets);
	return model_hash_ports(h, t->ports, t->nports);
}

static uint64_t model_hash_service(uint64_t h, const struct model_service *s)
{
	h = hash_str(h, s->id);
	h = hash_str(h, s->name);
	h = hash_str(h, s->stack);
	h = model_hash_int(h, s->has_healthcheck);
	h = model_hash_int(h, s->created_ms);
	h = model_hash_int(h, (int64_t)s->nlabels);
	for (size_t j = 0; j < s->nlabels; j++) {
		h = hash_str(h, s->labels[j].key);
		h = hash_str(h, s->labels[j].value);
	}
	h = model_hash_nets(h, s->vips, s->nvips);
	h = model_hash_ports(h, s->ports, s->nports);
	h = model_hash_int(h, (int64_t)s->ntasks);
	for (size_t j = 0; j < s->ntasks; j++)
		h = model_hash_task(h, &s->tasks[j]);
	return h;
}

static uint64_t model_hash_node(uint64_t h, const struct model_node *n)
{
	h = hash_str(h, n->id);
	h = hash_str(h, n->hostname);
	h = model_hash_addr(h, &n->addr);
	h = model_hash_addr(h, &n->manager_addr);
	return model_hash_int(h, n->state | n->availability << 8 | n->role << 16);
}

uint64_t model_digest(const struct model *m)
{
	uint64_t h = hash_str(0, m->source);

	h = model_hash_int(h, (int64_t)m->nsvcs);
	for (size_t i = 0; i < m->nsvcs; i++)
		h = model_hash_service(h, &m->svcs[i]);
	h = model_hash_int(h, (int64_t)m->nnodes);
	for (size_t i = 0; i < m->nnodes; i++)
		h = model_hash_node(h, &m->nodes[i]);
	return h;
}
