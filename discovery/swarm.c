/* Swarm state: the services, their tasks, and the networks and nodes that
 * discovery last read (dockerapi/dockerswarm.c reads them), joined into the
 * service model; and which services are converging.
 *
 * Each service owns an arena for its spec. Tasks arrive in batches (one per
 * GET /tasks answer) that several services share: a batch is freed when the
 * last service using it moves to a newer one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/jscan.h"
#include "common/strmap.h"
#include "discovery/swarm.h"
#include "dockerapi/dockerobj.h"
#include "dockerapi/dockerswarm.h"
#include "routing/model.h"

#define SWARM_STACK_LABEL "com.docker.stack.namespace"

struct swarm_batch {
	struct arena *arena;
	unsigned refs;
};

/* A routed service's tasks and how far they converged: carried over whole
 * to a newer spec of the service.
 */
struct swarm_tasks {
	struct swarm_batch *batch;      /* holds the tasks below */
	size_t n;
	struct dockerswarm_task **list; /* sorted by ID */
	int converged;
	int64_t until_ms;               /* fast polling allowed until then */
	int64_t since_ms;               /* seen not settled since then (0: settled) */
	int64_t polled_ms;              /* the last poll that brought its tasks */
	int64_t hint_after_ms;          /* hints are ignored until then */
};

struct swarm_service {
	struct dockerswarm_service obj; /* as Docker lists it, in <arena> */
	struct arena *arena;
	const char *stack;
	int routed;
	struct swarm_tasks tasks;
	size_t fill;                    /* scratch while loading tasks */
};

struct swarm {
	struct strmap *services;        /* ID -> struct swarm_service */
	struct arena *net_arena;
	struct strmap *networks;        /* ID -> name */
	struct arena *node_arena;
	struct model_node *nodes;       /* sorted by ID */
	size_t nnodes;
	uint64_t skipped;
};

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                 */
/* ------------------------------------------------------------------------ */

static void batch_put(struct swarm_batch *b)
{
	if (b && --b->refs == 0) {
		arena_free(b->arena);
		free(b);
	}
}

static void service_free(struct swarm_service *svc)
{
	batch_put(svc->tasks.batch);
	arena_free(svc->arena);
	free(svc);
}

struct swarm *swarm_new(void)
{
	struct swarm *sw = calloc(1, sizeof(*sw));

	if (!sw)
		return NULL;
	sw->services = strmap_new();
	sw->networks = strmap_new();
	if (!sw->services || !sw->networks) {
		swarm_free(sw);
		return NULL;
	}
	return sw;
}

static void swarm_clear_services(struct strmap *services)
{
	const char *key;
	void *val;
	size_t pos = 0;

	while (strmap_next(services, &pos, &key, &val))
		service_free(val);
	strmap_clear(services);
}

void swarm_free(struct swarm *sw)
{
	if (!sw)
		return;
	if (sw->services) {
		swarm_clear_services(sw->services);
		strmap_free(sw->services);
	}
	strmap_free(sw->networks);
	arena_free(sw->net_arena);
	arena_free(sw->node_arena);
	free(sw);
}

static void swarm_skip(struct swarm *sw, const char *what, const char *id, const char *reason)
{
	sw->skipped++;
	dockerobj_skipped("discovery", what, id, reason);
}

/* ------------------------------------------------------------------------ */
/* Services                                                                  */
/* ------------------------------------------------------------------------ */

/* Reads one service into a new record. Returns 0 with *<out> set (or NULL
 * when the entry was skipped), or -1 on a syntax error.
 */
static int swarm_read_service(struct swarm *sw, struct jscan *s, struct swarm_service **out)
{
	struct swarm_service *svc = calloc(1, sizeof(*svc));
	const char *reason = NULL;

	*out = NULL;
	if (svc)
		svc->arena = arena_new(2048);
	if (!svc || !svc->arena) {
		free(svc);
		return jscan_skip(s) < 0 ? -1 : 0;
	}
	if (dockerswarm_service(s, svc->arena, &svc->obj, &reason) < 0) {
		service_free(svc);
		return -1;
	}
	if (reason) {
		swarm_skip(sw, "service", svc->obj.id, reason);
		service_free(svc);
		return 0;
	}
	svc->stack = dockerobj_label(svc->obj.labels, svc->obj.nlabels, SWARM_STACK_LABEL);
	svc->routed = dockerobj_routed(svc->obj.labels, svc->obj.nlabels);
	*out = svc;
	return 0;
}

/* Carries the tasks and convergence of <old> over to <svc>, the same
 * service with a newer spec, or starts its convergence when it is new to
 * routing.
 */
static void service_adopt(struct swarm_service *svc, struct swarm_service *old, int64_t now_ms)
{
	if (old && old->routed && svc->routed) {
		svc->tasks = old->tasks;
		old->tasks.batch = NULL;
	} else if (svc->routed) {
		/* its tasks are unknown: fetch them on the next fast poll */
		svc->tasks.until_ms = now_ms + SWARM_CONVERGE_MS;
	}
	if (svc->routed && svc->obj.updating) {
		svc->tasks.converged = 0;
		if (svc->tasks.until_ms < now_ms + SWARM_CONVERGE_UPDATE_MS)
			svc->tasks.until_ms = now_ms + SWARM_CONVERGE_UPDATE_MS;
	}
}

struct swarm_services_load {
	struct swarm *sw;
	struct strmap *fresh;
};

static int swarm_add_service(struct jscan *s, void *arg)
{
	struct swarm_services_load *l = arg;
	struct swarm_service *svc, *dup;

	if (swarm_read_service(l->sw, s, &svc) < 0)
		return -1;
	if (!svc)
		return 0;
	/* the same ID twice: keep the later one */
	dup = strmap_del(l->fresh, svc->obj.id);
	if (dup)
		service_free(dup);
	if (strmap_put(l->fresh, svc->obj.id, svc) < 0) {
		service_free(svc);
		return -1;
	}
	return 0;
}

int swarm_load_services(struct swarm *sw, const char *json, size_t len, int64_t now_ms,
			char *err, size_t errlen)
{
	struct swarm_services_load l = { sw, strmap_new() };
	const char *key;
	void *val;
	size_t pos = 0;

	if (!l.fresh) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (dockerobj_list(json, len, "service", swarm_add_service, &l, err, errlen) < 0) {
		swarm_clear_services(l.fresh);
		strmap_free(l.fresh);
		return -1;
	}
	while (strmap_next(l.fresh, &pos, &key, &val))
		service_adopt(val, strmap_get(sw->services, key), now_ms);
	swarm_clear_services(sw->services);
	strmap_free(sw->services);
	sw->services = l.fresh;
	return 0;
}

int swarm_load_service(struct swarm *sw, const char *json, size_t len, int64_t now_ms,
		       char *err, size_t errlen)
{
	struct swarm_service *svc, *old;
	struct jscan s;

	jscan_init(&s, json, len);
	if (swarm_read_service(sw, &s, &svc) < 0 || (svc && jscan_finish(&s) < 0)) {
		if (svc)
			service_free(svc);
		snprintf(err, errlen, "bad service: %s", jscan_error(&s) ? jscan_error(&s) : "invalid JSON");
		return -1;
	}
	if (!svc) {
		snprintf(err, errlen, "bad service: entry skipped");
		return -1;
	}
	old = strmap_get(sw->services, svc->obj.id);
	service_adopt(svc, old, now_ms);
	if (strmap_put(sw->services, svc->obj.id, svc) < 0) {
		service_free(svc);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (old)
		service_free(old);
	return 0;
}

int swarm_remove_service(struct swarm *sw, const char *id)
{
	struct swarm_service *svc = strmap_del(sw->services, id);

	if (!svc)
		return 0;
	service_free(svc);
	return 1;
}

/* ------------------------------------------------------------------------ */
/* Networks and nodes                                                        */
/* ------------------------------------------------------------------------ */

struct swarm_names_load {
	struct swarm *sw;
	struct arena *a;
	struct strmap *names;
};

static int swarm_add_network(struct jscan *s, void *arg)
{
	struct swarm_names_load *l = arg;
	struct dockerswarm_network net;
	const char *reason = NULL;

	if (dockerswarm_network(s, l->a, &net, &reason) < 0)
		return -1;
	if (reason) {
		swarm_skip(l->sw, "network", net.id, reason);
		return 0;
	}
	return strmap_put(l->names, net.id, (void *)(net.name && *net.name ? net.name : net.id));
}

int swarm_load_networks(struct swarm *sw, const char *json, size_t len, char *err, size_t errlen)
{
	struct swarm_names_load l = { sw, arena_new(8192), strmap_new() };

	if (!l.a || !l.names) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	if (dockerobj_list(json, len, "network", swarm_add_network, &l, err, errlen) < 0)
		goto out_free;
	arena_free(sw->net_arena);
	strmap_free(sw->networks);
	sw->net_arena = l.a;
	sw->networks = l.names;
	return 0;

out_free:
	arena_free(l.a);
	strmap_free(l.names);
	return -1;
}

static int swarm_read_node(struct jscan *s, struct arena *a, void *rec, void *arg)
{
	struct swarm *sw = arg;
	struct model_node *node = rec;
	const char *reason = NULL;

	if (dockerswarm_node(s, a, node, &reason) < 0)
		return -1;
	if (reason) {
		swarm_skip(sw, "node", node->id, reason);
		return 0;
	}
	return 1;
}

static int node_cmp(const void *a, const void *b)
{
	return strcmp(((const struct model_node *)a)->id, ((const struct model_node *)b)->id);
}

int swarm_load_nodes(struct swarm *sw, const char *json, size_t len, char *err, size_t errlen)
{
	struct dockerobj_records r;
	struct model_node *nodes;
	size_t kept = 0;

	if (dockerobj_collect(json, len, "node", sizeof(*nodes), swarm_read_node, sw, &r,
			      err, errlen) < 0)
		return -1;
	/* sorted for model_node(); a repeated ID keeps one of its entries */
	nodes = r.v;
	if (r.n > 1)
		qsort(nodes, r.n, sizeof(*nodes), node_cmp);
	for (size_t i = 0; i < r.n; i++)
		if (kept == 0 || strcmp(nodes[kept - 1].id, nodes[i].id) != 0)
			nodes[kept++] = nodes[i];
	arena_free(sw->node_arena);
	sw->node_arena = r.arena;
	sw->nodes = nodes;
	sw->nnodes = kept;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Tasks                                                                     */
/* ------------------------------------------------------------------------ */

static int service_hint(struct swarm_service *svc, int64_t now_ms);
static void service_unsettled(struct swarm_service *svc, int64_t now_ms);

static int task_cmp(const void *a, const void *b)
{
	const struct dockerswarm_task *x = *(const struct dockerswarm_task *const *)a;
	const struct dockerswarm_task *y = *(const struct dockerswarm_task *const *)b;

	return strcmp(x->id, y->id);
}

static int task_transitional(const struct dockerswarm_task *t)
{
	static const char *const states[] = {
		"new", "allocated", "pending", "assigned", "accepted", "preparing", "ready",
		"starting", NULL
	};

	for (size_t i = 0; states[i]; i++)
		if (strcmp(t->state, states[i]) == 0)
			return 1;
	return 0;
}

/* Tasks settled: as many running as wanted, none on its way. */
static void service_check_converged(struct swarm_service *svc)
{
	int64_t running = 0;

	for (size_t i = 0; i < svc->tasks.n; i++) {
		const struct dockerswarm_task *t = svc->tasks.list[i];

		if (strcmp(t->desired, "running") != 0)
			continue;
		if (task_transitional(t)) {
			svc->tasks.converged = 0;
			return;
		}
		running += strcmp(t->state, "running") == 0;
	}
	svc->tasks.converged = !svc->obj.updating &&
			 (!svc->obj.replicated || running >= svc->obj.replicas);
}

/* Whether <svc> takes the tasks of this load. */
static int task_target(const struct swarm_service *svc, const char *const *ids, size_t nids)
{
	if (nids == 0)
		return svc->routed;
	for (size_t i = 0; i < nids; i++)
		if (strcmp(ids[i], svc->obj.id) == 0)
			return 1;
	return 0;
}

void swarm_settle(struct swarm *sw, const char *const *ids, size_t nids, int64_t now_ms)
{
	const char *key;
	void *val;
	size_t pos = 0;

	while (strmap_next(sw->services, &pos, &key, &val)) {
		struct swarm_service *svc = val;

		if (!task_target(svc, ids, nids))
			continue;
		svc->tasks.polled_ms = now_ms;
		service_check_converged(svc);
		if (svc->tasks.converged) {
			svc->tasks.until_ms = 0;
			svc->tasks.since_ms = 0;
		} else {
			service_unsettled(svc, now_ms);
		}
	}
}

struct swarm_tasks_load {
	struct swarm *sw;
	const char *const *ids;
	size_t nids;
};

/* Keeps the tasks of the services this load is for. */
static int swarm_read_task(struct jscan *s, struct arena *a, void *rec, void *arg)
{
	struct swarm_tasks_load *l = arg;
	struct dockerswarm_task *t = rec;
	struct swarm_service *svc;
	const char *reason = NULL;

	if (dockerswarm_task(s, a, t, &reason) < 0)
		return -1;
	if (!reason && (!t->service_id || !*t->service_id))
		reason = "no ServiceID";
	if (reason) {
		swarm_skip(l->sw, "task", t->id, reason);
		return 0;
	}
	svc = strmap_get(l->sw->services, t->service_id);
	return svc && task_target(svc, l->ids, l->nids);
}

int swarm_load_tasks(struct swarm *sw, const char *json, size_t len,
		     const char *const *ids, size_t nids, int64_t now_ms,
		     char *err, size_t errlen)
{
	struct swarm_tasks_load l = { sw, ids, nids };
	struct swarm_batch *batch = calloc(1, sizeof(*batch));
	struct dockerobj_records r;
	struct dockerswarm_task *tasks, **slots;
	const char *key;
	void *val;
	size_t n, pos, used = 0;

	if (!batch) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (dockerobj_collect(json, len, "task", sizeof(*tasks), swarm_read_task, &l, &r,
			      err, errlen) < 0) {
		free(batch);
		return -1;
	}
	batch->arena = r.arena;
	tasks = r.v;
	n = r.n;

	/* Group by service: count, carve each service's slice out of one
	 * array in the batch, fill, sort. */
	pos = 0;
	while (strmap_next(sw->services, &pos, &key, &val))
		((struct swarm_service *)val)->fill = 0;
	for (size_t i = 0; i < n; i++)
		((struct swarm_service *)strmap_get(sw->services, tasks[i].service_id))->fill++;
	slots = n ? arena_alloc(batch->arena, n * sizeof(*slots)) : NULL;
	if (n && !slots) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	pos = 0;
	while (strmap_next(sw->services, &pos, &key, &val)) {
		struct swarm_service *svc = val;

		if (!task_target(svc, ids, nids))
			continue;
		batch_put(svc->tasks.batch);
		svc->tasks.batch = batch;
		batch->refs++;
		svc->tasks.list = slots ? slots + used : NULL;
		used += svc->fill;
		svc->tasks.n = 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct swarm_service *svc = strmap_get(sw->services, tasks[i].service_id);

		svc->tasks.list[svc->tasks.n++] = &tasks[i];
	}
	pos = 0;
	while (strmap_next(sw->services, &pos, &key, &val)) {
		struct swarm_service *svc = val;

		if (task_target(svc, ids, nids) && svc->tasks.n > 1)
			qsort(svc->tasks.list, svc->tasks.n, sizeof(*svc->tasks.list), task_cmp);
	}
	swarm_settle(sw, ids, nids, now_ms);
	if (!batch->refs) {
		arena_free(batch->arena);
		free(batch);
	}
	return 0;

out_free:
	arena_free(batch->arena);
	free(batch);
	return -1;
}

/* ------------------------------------------------------------------------ */
/* Convergence                                                               */
/* ------------------------------------------------------------------------ */

/* Docker shows the tasks of <svc> not settled: poll it fast for as long
 * as that lasts, up to the ceiling counted from when it was first seen so.
 * Tasks that start late on a busy swarm (or on another node, raising no
 * event here) are then seen within a fast period, not at the next slow
 * full poll.
 */
static void service_unsettled(struct swarm_service *svc, int64_t now_ms)
{
	int64_t ceiling = svc->obj.updating ? SWARM_CONVERGE_UPDATE_MS : SWARM_CONVERGE_MAX_MS;

	if (!svc->tasks.since_ms)
		svc->tasks.since_ms = now_ms;
	if (svc->tasks.until_ms < svc->tasks.since_ms + ceiling)
		svc->tasks.until_ms = svc->tasks.since_ms + ceiling;
}

/* Not settled past its ceiling. */
static int service_stuck(const struct swarm_service *svc, int64_t now_ms)
{
	return !svc->tasks.converged && svc->tasks.since_ms && svc->tasks.until_ms <= now_ms;
}

/* A task of <svc> moved without a change of the service: poll it fast
 * for a short while. At most one such window per SWARM_HINT_COOLDOWN_MS:
 * a task crash-looping must not keep the agent polling fast for good.
 */
static int service_hint(struct swarm_service *svc, int64_t now_ms)
{
	if (now_ms < svc->tasks.hint_after_ms)
		return 0;
	svc->tasks.hint_after_ms = now_ms + SWARM_HINT_COOLDOWN_MS;
	svc->tasks.converged = 0;
	if (svc->tasks.until_ms < now_ms + SWARM_HINT_MS)
		svc->tasks.until_ms = now_ms + SWARM_HINT_MS;
	return 1;
}

int swarm_converge_hint(struct swarm *sw, const char *id, int64_t now_ms)
{
	struct swarm_service *svc = strmap_get(sw->services, id);

	if (!svc || !svc->routed)
		return 0;
	if (service_hint(svc, now_ms))
		return 1;
	return !svc->tasks.converged && svc->tasks.until_ms > now_ms;
}

void swarm_converge(struct swarm *sw, const char *id, int64_t now_ms, int64_t ms)
{
	struct swarm_service *svc = strmap_get(sw->services, id);

	if (!svc)
		return;
	svc->tasks.converged = 0;
	svc->tasks.since_ms = 0;   /* a change of the service: a new convergence */
	if (svc->tasks.until_ms < now_ms + ms)
		svc->tasks.until_ms = now_ms + ms;
}

void swarm_converge_hint_all(struct swarm *sw, int64_t now_ms)
{
	const char *key;
	void *val;
	size_t pos = 0;

	while (strmap_next(sw->services, &pos, &key, &val))
		if (((struct swarm_service *)val)->routed)
			service_hint(val, now_ms);
}

/* Fills <ids> with up to <max> routed services (only those due for a poll
 * when <converging>: converging, or stuck and not polled for
 * SWARM_STUCK_POLL_MS) and returns how many there are in all.
 */
static size_t swarm_list(const struct swarm *sw, int converging, int64_t now_ms,
			 const char **ids, size_t max)
{
	const char *key;
	void *val;
	size_t pos = 0, n = 0;

	while (strmap_next(sw->services, &pos, &key, &val)) {
		const struct swarm_service *svc = val;

		if (!svc->routed)
			continue;
		if (converging && (svc->tasks.converged || svc->tasks.until_ms <= now_ms) &&
		    !(service_stuck(svc, now_ms) && svc->tasks.polled_ms + SWARM_STUCK_POLL_MS <= now_ms))
			continue;
		if (n < max)
			ids[n] = svc->obj.id;
		n++;
	}
	return n;
}

size_t swarm_converging(const struct swarm *sw, int64_t now_ms, const char **ids, size_t max)
{
	return swarm_list(sw, 1, now_ms, ids, max);
}

size_t swarm_routed(const struct swarm *sw, const char **ids, size_t max)
{
	return swarm_list(sw, 0, 0, ids, max);
}

int64_t swarm_stuck_due(const struct swarm *sw, int64_t now_ms)
{
	const char *key;
	void *val;
	size_t pos = 0;
	int64_t due = -1;

	while (strmap_next(sw->services, &pos, &key, &val)) {
		const struct swarm_service *svc = val;
		int64_t at = svc->tasks.polled_ms + SWARM_STUCK_POLL_MS;

		if (svc->routed && service_stuck(svc, now_ms) && (due < 0 || at < due))
			due = at;
	}
	return due;
}

void swarm_converge_counts(const struct swarm *sw, int64_t now_ms, struct swarm_converge_counts *c)
{
	const char *key;
	void *val;
	size_t pos = 0;

	memset(c, 0, sizeof(*c));
	while (strmap_next(sw->services, &pos, &key, &val)) {
		const struct swarm_service *svc = val;

		if (!svc->routed || svc->tasks.converged)
			continue;
		if (svc->tasks.until_ms > now_ms)
			c->fast++;
		else if (service_stuck(svc, now_ms))
			c->stuck++;
	}
}

/* ------------------------------------------------------------------------ */
/* The model                                                                 */
/* ------------------------------------------------------------------------ */

static int svc_cmp(const void *a, const void *b)
{
	const struct swarm_service *x = *(const struct swarm_service *const *)a;
	const struct swarm_service *y = *(const struct swarm_service *const *)b;

	return strcmp(x->obj.id, y->obj.id);
}

static void model_fill_task(struct model *m, const struct swarm_service *svc,
			    const struct dockerswarm_task *t, struct model_task *mt, int *oom)
{
	const struct model_node *node = model_node(m, t->node_id);

	mt->id = model_strdup(m, t->id, oom);
	mt->node_id = node ? node->id : model_strdup(m, t->node_id, oom);
	mt->node = node && node->hostname && *node->hostname ? node->hostname : mt->node_id;
	mt->state = model_strdup(m, t->state, oom);
	mt->running = strcmp(t->state, "running") == 0;
	mt->desired_running = strcmp(t->desired, "running") == 0;
	/* Swarm reports a task with a health check "running" only once the
	 * check passed, and fails it when the check fails: running is healthy. */
	if (!svc->obj.has_healthcheck)
		mt->health = MODEL_HEALTH_NONE;
	else if (mt->running)
		mt->health = MODEL_HEALTH_HEALTHY;
	else if (strcmp(t->state, "starting") == 0)
		mt->health = MODEL_HEALTH_STARTING;
	else
		mt->health = MODEL_HEALTH_UNHEALTHY;
	mt->state_since_ms = t->since_ms;
	mt->nets = model_nets_dup(m, t->nets, t->nnets, oom);
	mt->nnets = mt->nets ? t->nnets : 0;
	mt->ports = model_ports_dup(m, t->ports, t->nports, oom);
	mt->nports = mt->ports ? t->nports : 0;
}

static void model_fill_service(const struct swarm *sw, struct model *m,
			       const struct swarm_service *svc, struct model_service *ms, int *oom)
{
	const struct dockerswarm_service *o = &svc->obj;

	ms->id = model_strdup(m, o->id, oom);
	ms->name = model_strdup(m, o->name, oom);
	ms->stack = model_strdup(m, svc->stack, oom);
	ms->has_healthcheck = o->has_healthcheck;
	ms->created_ms = o->created_ms;
	ms->labels = model_labels_dup(m, o->labels, o->nlabels, oom);
	ms->nlabels = ms->labels ? o->nlabels : 0;
	ms->vips = model_nets_dup(m, o->vips, o->nvips, oom);
	ms->nvips = ms->vips ? o->nvips : 0;
	for (size_t i = 0; i < ms->nvips; i++) {
		const char *name = strmap_get(sw->networks, o->vips[i].network_id);

		/* an unknown network keeps its ID as name: it then matches no
		 * com.docker.lb.network by mistake */
		ms->vips[i].network = name ? model_strdup(m, name, oom) : ms->vips[i].network_id;
	}
	ms->ports = model_ports_dup(m, o->ports, o->nports, oom);
	ms->nports = ms->ports ? o->nports : 0;
	if (svc->routed && svc->tasks.n) {
		ms->tasks = arena_calloc(m->arena, svc->tasks.n, sizeof(*ms->tasks));
		if (!ms->tasks) {
			*oom = 1;
			return;
		}
		for (size_t i = 0; i < svc->tasks.n; i++)
			model_fill_task(m, svc, svc->tasks.list[i], &ms->tasks[i], oom);
		ms->ntasks = svc->tasks.n;
	}
}

static void model_fill_nodes(const struct swarm *sw, struct model *m, int *oom)
{
	if (!sw->nnodes)
		return;
	m->nodes = arena_alloc(m->arena, sw->nnodes * sizeof(*m->nodes));
	if (!m->nodes) {
		*oom = 1;
		return;
	}
	for (size_t i = 0; i < sw->nnodes; i++) {
		m->nodes[i] = sw->nodes[i];
		m->nodes[i].id = model_strdup(m, sw->nodes[i].id, oom);
		m->nodes[i].hostname = model_strdup(m, sw->nodes[i].hostname, oom);
	}
	m->nnodes = sw->nnodes;
}

struct model *swarm_model(const struct swarm *sw)
{
	size_t n = strmap_count(sw->services), i = 0, pos = 0;
	struct swarm_service **list = n ? malloc(n * sizeof(*list)) : NULL;
	struct model *m;
	const char *key;
	void *val;
	int oom = 0;

	if (n && !list)
		return NULL;
	m = model_new("swarm");
	if (!m)
		goto out_free_list;
	while (strmap_next(sw->services, &pos, &key, &val))
		list[i++] = val;
	if (n > 1)
		qsort(list, n, sizeof(*list), svc_cmp);
	/* nodes first: tasks refer to them */
	model_fill_nodes(sw, m, &oom);
	if (n) {
		m->svcs = arena_calloc(m->arena, n, sizeof(*m->svcs));
		if (!m->svcs)
			goto out_free_model;
	}
	for (i = 0; i < n && !oom; i++)
		model_fill_service(sw, m, list[i], &m->svcs[i], &oom);
	if (oom)
		goto out_free_model;
	m->nsvcs = n;
	free(list);
	return m;

out_free_model:
	model_free(m);
out_free_list:
	free(list);
	return NULL;
}

void swarm_counts(const struct swarm *sw, struct swarm_counts *c)
{
	const char *key;
	void *val;
	size_t pos = 0;

	memset(c, 0, sizeof(*c));
	c->services = strmap_count(sw->services);
	c->networks = strmap_count(sw->networks);
	c->nodes = sw->nnodes;
	c->skipped = sw->skipped;
	while (strmap_next(sw->services, &pos, &key, &val)) {
		const struct swarm_service *svc = val;

		if (svc->routed) {
			c->routed++;
			c->tasks += svc->tasks.n;
		}
	}
}
