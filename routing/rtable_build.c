/* Building the routing table from service models.
 *
 * The build runs on the main thread, off the request path, and produces a
 * table that is never modified afterwards (but for per-worker state):
 *
 *   1. every service is copied into the table's arena and its labels are
 *      parsed; services that are not ours or whose labels are invalid are
 *      kept (for "show services") but get no route;
 *   2. the remaining services claim their (host, path) keys in creation
 *      order: a service whose settings disagree with the first claimant of
 *      one of its keys is skipped as a whole, others share the route;
 *   3. the claims are laid out in flat arrays with open-addressing indexes,
 *      and each route gets the weighted pool of servers it picks from.
 *
 * Temporary structures live in a second arena freed at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/clock.h"
#include "routing/balance.h"
#include "routing/hostname.h"
#include "routing/labels.h"
#include "routing/ledger.h"
#include "routing/model.h"
#include "routing/overlay.h"
#include "routing/rtable-int.h"
#include "routing/sticky.h"

#define RB_REASON_MAX   512
#define RB_STRBLOCK     65536  /* strings are packed in blocks of this size */
#define RB_INTERN       1024   /* repeated strings remembered */
#define RB_MAX_NETWORKS 8      /* network names quoted in a reason */
#define RB_INGRESS      "ingress"

/* A (host, path) key a service claims. <host> is NULL for the default
 * backend.
 */
struct rb_key {
	const char *host;
	size_t host_len;
	int wildcard;
	const char *path;
	size_t path_len;
};

struct rb_route {
	struct rb_route *next;           /* next route of the same host */
	const char *path;
	size_t path_len;
	uint32_t nmembers;
	uint32_t cap;
	uint32_t *members;               /* service indexes, first claimant first */
};

struct rb_host {
	const char *name;
	uint32_t len;
	uint32_t wildcard;
	uint64_t hash;
	struct rb_route *routes;
	uint32_t nroutes;
};

struct rb_ctx {
	struct rtable *t;
	struct arena *a;                 /* the table's */
	struct arena *tmp;               /* freed when the build ends */
	int oom;
	uint32_t hmask;
	struct rb_host **hslots;         /* open addressing over <hosts> */
	uint32_t nhosts;
	struct rb_host **hosts;
	struct rb_host *deflt;
	uint32_t nroutes;
	uint32_t nrefs;
	char *strs;                      /* free room in the current string block */
	size_t strs_left;
	const char *intern[RB_INTERN];   /* copies of network names, states, nodes */
	const struct overlay *health;    /* tasks passive health excludes, or NULL */
	unsigned char cookie_key[RTABLE_COOKIE_KEY_LEN];
	struct rt_own own;               /* who owns which host */
	char err[RB_REASON_MAX];
};

static uint32_t rb_pow2(size_t n)
{
	uint32_t p = 2;

	while (p < n)
		p <<= 1;
	return p;
}

/* Copies <s> into the table. Strings are packed end to end in blocks
 * rather than aligned one by one: tens of thousands of task IDs add up.
 */
static const char *rb_dup(struct rb_ctx *c, const char *s)
{
	size_t n;
	char *d;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	if (n > c->strs_left) {
		size_t size = n > RB_STRBLOCK ? n : RB_STRBLOCK;

		c->strs = arena_alloc(c->a, size);
		if (!c->strs) {
			c->strs_left = 0;
			c->oom = 1;
			return NULL;
		}
		c->strs_left = size;
	}
	d = c->strs;
	memcpy(d, s, n);
	c->strs += n;
	c->strs_left -= n;
	return d;
}

/* Copies <s> once for all its occurrences: for the strings that every task
 * repeats (network names, states, nodes, label keys).
 */
static const char *rb_intern(struct rb_ctx *c, const char *s)
{
	const char **slot;

	if (!s)
		return NULL;
	slot = &c->intern[hash_str(HASH_SEED, s) & (RB_INTERN - 1)];
	if (!*slot || strcmp(*slot, s) != 0)
		*slot = rb_dup(c, s);
	return *slot;
}

/************************************************************************/
/*                        copying provider data                         */
/************************************************************************/

static struct model_netattach *rb_copy_nets(struct rb_ctx *c, const struct model_netattach *src,
					    size_t n)
{
	struct model_netattach *d;

	if (!n)
		return NULL;
	d = arena_alloc(c->a, n * sizeof(*d));
	if (!d) {
		c->oom = 1;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		d[i].network = rb_intern(c, src[i].network);
		d[i].network_id = rb_intern(c, src[i].network_id);
		d[i].addr = src[i].addr;
	}
	return d;
}

/* Deep-copies <src> into the table's arena: show and explain read it after
 * the provider's model is gone.
 */
static const struct model_service *rb_copy_service(struct rb_ctx *c, const struct model_service *src)
{
	struct model_service *d = arena_alloc(c->a, sizeof(*d));

	if (!d) {
		c->oom = 1;
		return NULL;
	}
	*d = *src;
	d->id = rb_dup(c, src->id);
	d->name = rb_dup(c, src->name);
	d->stack = rb_dup(c, src->stack);
	d->labels = NULL;
	d->tasks = NULL;
	if (src->nlabels) {
		d->labels = arena_alloc(c->a, src->nlabels * sizeof(*d->labels));
		if (!d->labels) {
			c->oom = 1;
			return NULL;
		}
		for (size_t i = 0; i < src->nlabels; i++) {
			d->labels[i].key = rb_intern(c, src->labels[i].key ? src->labels[i].key : "");
			d->labels[i].value = rb_dup(c, src->labels[i].value ? src->labels[i].value : "");
		}
	}
	d->vips = rb_copy_nets(c, src->vips, src->nvips);
	if (src->ntasks) {
		d->tasks = arena_alloc(c->a, src->ntasks * sizeof(*d->tasks));
		if (!d->tasks) {
			c->oom = 1;
			return NULL;
		}
		for (size_t i = 0; i < src->ntasks; i++) {
			const struct model_task *s = &src->tasks[i];
			struct model_task *t = &d->tasks[i];

			*t = *s;
			t->id = rb_dup(c, s->id ? s->id : "");
			t->node = rb_intern(c, s->node);
			t->state = rb_intern(c, s->state);
			t->nets = rb_copy_nets(c, s->nets, s->nnets);
		}
	}
	return c->oom ? NULL : d;
}

/************************************************************************/
/*                        one service's own view                        */
/************************************************************************/

/* An attachment (or VIP) serves network <net>: it names it (or its ID), or
 * it names no network at all. Without <net>, any attachment but the
 * ingress routing mesh's.
 */
static int rb_attach_ok(const struct model_netattach *n, const char *net)
{
	if (!n->network)
		return 1;
	if (!net)
		return strcmp(n->network, RB_INGRESS) != 0;
	return strcmp(n->network, net) == 0 || (n->network_id && strcmp(n->network_id, net) == 0);
}

static int rb_strcmp_p(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Adds <name> to the <*n> distinct names of <names>. Only <max> are kept;
 * past that <*n> keeps counting (possibly repeats): enough to say "...".
 */
static void rb_add_name(const char **names, size_t *n, size_t max, const char *name)
{
	for (size_t i = 0; i < *n && i < max; i++)
		if (strcmp(names[i], name) == 0)
			return;
	if (*n < max)
		names[*n] = name;
	(*n)++;
}

/* The port <mt> publishes <port> (TCP) on in host mode on its node, or 0. */
static uint16_t rb_host_port(const struct model_task *mt, uint16_t port)
{
	for (size_t i = 0; i < mt->nports; i++) {
		const struct model_port *p = &mt->ports[i];

		if (p->mode == MODEL_PUBLISH_HOST && p->protocol == MODEL_PROTO_TCP &&
		    p->target == port && p->published)
			return p->published;
	}
	return 0;
}

/* Interlock's host mode: a service that names no network and whose tasks
 * publish the label port in host mode is reached at each task's node
 * address and published port, whatever overlay networks (a stack's
 * default one) its tasks are also on.
 */
static int rb_host_mode(const struct rt_service *s)
{
	const struct model_service *m = s->model;

	if (s->spec.network || s->spec.mode == LABELS_MODE_VIP || !s->spec.port)
		return 0;
	for (size_t i = 0; i < m->ntasks; i++)
		if (rb_host_port(&m->tasks[i], s->spec.port))
			return 1;
	return 0;
}

/* Chooses the network <s>'s tasks are reached on: none in host mode, the
 * network label, else the one network (other than ingress) its tasks
 * attach to. Returns 0, or -1 with a reason in c->err when the tasks
 * attach to several.
 */
static int rb_network(struct rb_ctx *c, struct rt_service *s)
{
	const struct model_service *m = s->model;
	const char *names[RB_MAX_NETWORKS];
	size_t n = 0, any_desired = 0, len;

	s->network = s->spec.network;
	s->host_mode = rb_host_mode(s);
	if (s->network || s->host_mode)
		return 0;
	for (size_t i = 0; i < m->ntasks; i++)
		any_desired |= (size_t)m->tasks[i].desired_running;
	for (size_t i = 0; i < m->ntasks; i++) {
		const struct model_task *t = &m->tasks[i];

		/* old tasks may still show a network the service has left */
		if (any_desired && !t->desired_running)
			continue;
		for (size_t j = 0; j < t->nnets; j++)
			if (t->nets[j].network && strcmp(t->nets[j].network, RB_INGRESS) != 0)
				rb_add_name(names, &n, RB_MAX_NETWORKS, t->nets[j].network);
	}
	if (n == 0 && s->spec.mode == LABELS_MODE_VIP)
		for (size_t i = 0; i < m->nvips; i++)
			if (m->vips[i].network && strcmp(m->vips[i].network, RB_INGRESS) != 0)
				rb_add_name(names, &n, RB_MAX_NETWORKS, m->vips[i].network);
	if (n <= 1) {
		s->network = n ? names[0] : NULL;
		return 0;
	}

	len = (size_t)snprintf(c->err, sizeof(c->err), "tasks attach to several networks (");
	qsort(names, n < RB_MAX_NETWORKS ? n : RB_MAX_NETWORKS, sizeof(names[0]), rb_strcmp_p);
	for (size_t i = 0; i < n && i < RB_MAX_NETWORKS && len < sizeof(c->err); i++)
		len += (size_t)snprintf(c->err + len, sizeof(c->err) - len, "%s%s",
					i ? ", " : "", names[i]);
	if (n > RB_MAX_NETWORKS && len < sizeof(c->err))
		len += (size_t)snprintf(c->err + len, sizeof(c->err) - len, ", ...");
	if (len < sizeof(c->err))
		snprintf(c->err + len, sizeof(c->err) - len, "): set " LABELS_PREFIX "network");
	return -1;
}

static int rb_task_cmp(const void *a, const void *b, void *base)
{
	const struct model_task *x = &((const struct model_task *)base)[*(const uint32_t *)a];
	const struct model_task *y = &((const struct model_task *)base)[*(const uint32_t *)b];

	return strcmp(x->id, y->id);
}

/* rt_unready counts the reasons of model_task_ready(), value for value. */
_Static_assert(RT_TASK_READY == (int)MODEL_TASK_READY &&
	       RT_TASK_NOT_RUNNING == (int)MODEL_TASK_NOT_RUNNING &&
	       RT_TASK_STOPPING == (int)MODEL_TASK_STOPPING &&
	       RT_TASK_NO_ADDRESS == (int)MODEL_TASK_NO_ADDRESS &&
	       RT_TASK_STARTING == (int)MODEL_TASK_STARTING &&
	       RT_TASK_UNHEALTHY == (int)MODEL_TASK_UNHEALTHY &&
	       RT_TASK_UNREADY_KINDS == (int)MODEL_TASK_UNREADY_KINDS,
	       "rt_unready and model_unready differ");

/* A node address HAProxy can connect to: Status.Addr, or for a manager
 * whose Status.Addr is 0.0.0.0 the host of its ManagerStatus.Addr.
 */
static int rb_node_addr(const struct model_node *n, struct netaddr *out)
{
	static const uint8_t zero[16];

	if (n->addr.family && memcmp(n->addr.ip, zero, sizeof(zero)) != 0) {
		*out = n->addr;
		return 1;
	}
	if (n->manager_addr.family && memcmp(n->manager_addr.ip, zero, sizeof(zero)) != 0) {
		*out = n->manager_addr;
		return 1;
	}
	return 0;
}

/* Task <mt> of a service in host mode: at its node's address, on the port
 * it publishes <port> on. Returns 1, or 0 when it cannot be reached so.
 */
static int rb_task_host_mode(const struct model *m, const struct model_task *mt, uint16_t port,
			     struct rt_task *t)
{
	const struct model_node *n = m ? model_node(m, mt->node_id) : NULL;
	uint16_t published = rb_host_port(mt, port);

	if (!published || !n || !rb_node_addr(n, &t->addr))
		return 0;
	t->port = published;
	t->host_mode = 1;
	return 1;
}

/* Why ready task <t> of <s> (model <m>: its nodes) must not be picked, or
 * NULL: its node is down or disconnected (until it is back), or drained
 * (Swarm is stopping its tasks: the node event says so before the task
 * poll does), or passive health excludes it (until the overlay's time).
 * Services in VIP mode are left alone: their tasks are never picked one by
 * one. A service whose every ready task is excluded still picks among
 * them, so a drained node's last tasks serve until their replacements run.
 */
static const char *rb_excluded(struct rb_ctx *c, const struct rt_service *s,
			       const struct model *m, struct rt_task *t)
{
	const struct model_task *mt = t->model;
	const struct model_node *node;
	const struct overlay_task *ot;

	if (s->spec.mode == LABELS_MODE_VIP)
		return NULL;
	node = m && mt->node_id ? model_node(m, mt->node_id) : NULL;
	if (node && (node->state == MODEL_NODE_DOWN || node->state == MODEL_NODE_DISCONNECTED)) {
		snprintf(c->err, sizeof(c->err), "node %s is %s",
			 node->hostname ? node->hostname : node->id,
			 node->state == MODEL_NODE_DOWN ? "down" : "disconnected");
		t->excluded_until_ms = 0;
		return rb_intern(c, c->err);
	}
	if (node && node->availability == MODEL_AVAIL_DRAIN) {
		snprintf(c->err, sizeof(c->err), "node %s is drained",
			 node->hostname ? node->hostname : node->id);
		t->excluded_until_ms = 0;
		return rb_intern(c, c->err);
	}
	ot = overlay_find(c->health, mt->id);
	if (ot) {
		t->excluded_until_ms = ot->until_ms;
		return rb_dup(c, ot->reason);
	}
	return NULL;
}

/* Sets up the tasks of <s> (of model <mod>), sorted by ID, with their
 * address on the service's network, whether they can serve, and whether a
 * ready one is excluded from the picks.
 */
static void rb_tasks(struct rb_ctx *c, struct rt_service *s, const struct model *mod)
{
	const struct model_service *m = s->model;
	int vip = s->spec.mode == LABELS_MODE_VIP;
	uint32_t *order;

	s->ntasks = (uint32_t)m->ntasks;
	if (!s->ntasks)
		return;
	s->tasks = arena_calloc(c->a, s->ntasks, sizeof(*s->tasks));
	order = arena_alloc(c->tmp, s->ntasks * sizeof(*order));
	if (!s->tasks || !order) {
		c->oom = 1;
		return;
	}
	for (uint32_t i = 0; i < s->ntasks; i++)
		order[i] = i;
	qsort_r(order, s->ntasks, sizeof(*order), rb_task_cmp, (void *)m->tasks);

	for (uint32_t i = 0; i < s->ntasks; i++) {
		const struct model_task *mt = &m->tasks[order[i]];
		struct rt_task *t = &s->tasks[i];
		const struct model_netattach *att = NULL;

		t->model = mt;
		t->id = mt->id;
		t->key = balance_key(mt->id, strlen(mt->id));
		t->port = mt->port ? mt->port : s->spec.port;
		if (s->host_mode) {
			rb_task_host_mode(mod, mt, s->spec.port, t);
		} else {
			for (size_t j = 0; j < mt->nnets && !att; j++)
				if (mt->nets[j].addr.family && rb_attach_ok(&mt->nets[j], s->network))
					att = &mt->nets[j];
			if (att)
				t->addr = att->addr;
		}

		t->unready = (enum rt_unready)model_task_ready(m, mt, att || vip || t->host_mode);
		s->unready[t->unready]++;
		if (t->unready != RT_TASK_READY)
			continue;
		s->nready++;
		t->excluded = rb_excluded(c, s, mod, t);
		if (t->excluded)
			s->nexcluded++;
	}
}

/* Copies the service value of label <key> without surrounding spaces. */
static const char *rb_trimmed(char *buf, size_t size, const char *v)
{
	size_t len;

	while (*v == ' ')
		v++;
	len = strlen(v);
	while (len && v[len - 1] == ' ')
		len--;
	snprintf(buf, size, "%.*s", (int)len, v);
	return buf;
}

/* Fills <s> from provider service <src>: copy, labels, network, tasks and
 * the status before conflicts are looked at.
 */
static void rb_service(struct rb_ctx *c, struct rt_service *s, const struct model_service *src,
		       const struct model *mod, const char *cluster)
{
	const struct model_service *m = rb_copy_service(c, src);
	const char *hosts, *dflt, *cl;
	int candidate = 0;
	char buf[256];

	labels_init(&s->spec);
	s->status = RTABLE_SVC_UNROUTED;
	if (!m)
		return;
	s->model = m;
	s->source = mod->source ? mod->source : "";
	s->name = m->name ? m->name : m->id ? m->id : "";
	s->id = m->id ? m->id : s->name;
	/* the owner of what it claims: its stack, else the service itself;
	 * the routes file is the operator's own, one owner */
	if (m->stack && *m->stack) {
		s->owner = m->stack;
	} else if (strcmp(s->source, "file") == 0) {
		s->owner = RTABLE_OWNER_FILE;
	} else {
		snprintf(c->err, sizeof(c->err), "service:%s", s->name);
		s->owner = rb_dup(c, c->err);
	}

	hosts = model_label(m, LABELS_PREFIX "hosts");
	dflt = model_label(m, LABELS_PREFIX "default_backend");
	cl = model_label(m, LABELS_PREFIX "service_cluster");
	if (cl)
		cl = rb_trimmed(buf, sizeof(buf), cl);
	if (cl && !*cl)
		cl = NULL;

	if (!hosts && !dflt) {
		/* not ours: no reason, nothing to fix */
	} else if ((cl || cluster) && (!cl || !cluster || strcmp(cl, cluster) != 0)) {
		snprintf(c->err, sizeof(c->err), cl ? "served by cluster %s" :
			 "served by the default cluster (no " LABELS_PREFIX "service_cluster)", cl);
		s->reason = rb_dup(c, c->err);
	} else if (labels_parse(m, c->a, &s->spec, c->err, sizeof(c->err)) < 0) {
		s->status = RTABLE_SVC_SKIPPED;
		s->reason = rb_dup(c, c->err);
		labels_init(&s->spec);
		s->spec.hosts_raw = hosts;
	} else if (s->spec.nhosts || s->spec.default_backend) {
		candidate = 1;
	}

	if (candidate && rb_network(c, s) < 0) {
		s->status = RTABLE_SVC_SKIPPED;
		s->reason = rb_dup(c, c->err);
		candidate = 0;
	}
	rb_tasks(c, s, mod);
	if (!candidate)
		return;

	if (!s->spec.port) {
		int all = s->ntasks > 0 && s->spec.mode == LABELS_MODE_TASK;

		for (uint32_t i = 0; i < s->ntasks && all; i++)
			all = s->tasks[i].model->port != 0;
		if (!all) {
			s->status = RTABLE_SVC_SKIPPED;
			s->reason = rb_dup(c, LABELS_PREFIX "port is required: "
					      "the container port to route to");
			return;
		}
	}
	if (s->spec.mode == LABELS_MODE_VIP) {
		for (size_t i = 0; i < m->nvips; i++) {
			if (m->vips[i].addr.family && rb_attach_ok(&m->vips[i], s->network)) {
				s->vip = m->vips[i].addr;
				s->has_vip = 1;
				break;
			}
		}
	}
	s->status = RTABLE_SVC_ROUTED;
}

/************************************************************************/
/*                         claiming host + path                         */
/************************************************************************/

static struct rb_host *rb_host_get(struct rb_ctx *c, const struct rb_key *k, int create)
{
	uint64_t h;
	uint32_t i;

	if (!k->host) {
		if (!c->deflt && create) {
			c->deflt = arena_calloc(c->tmp, 1, sizeof(*c->deflt));
			if (!c->deflt)
				c->oom = 1;
			else
				c->deflt->name = "";
		}
		return c->deflt;
	}
	h = rt_host_hash(k->host, k->host_len) ^ (uint64_t)k->wildcard;
	for (i = (uint32_t)h & c->hmask;; i = (i + 1) & c->hmask) {
		struct rb_host *e = c->hslots[i];

		if (!e)
			break;
		if (e->hash == h && e->wildcard == (uint32_t)k->wildcard && e->len == k->host_len &&
		    memcmp(e->name, k->host, k->host_len) == 0)
			return e;
	}
	if (!create)
		return NULL;
	struct rb_host *e = arena_calloc(c->tmp, 1, sizeof(*e));

	if (!e) {
		c->oom = 1;
		return NULL;
	}
	e->name = k->host;
	e->len = (uint32_t)k->host_len;
	e->wildcard = (uint32_t)k->wildcard;
	e->hash = h;
	c->hslots[i] = e;
	c->hosts[c->nhosts++] = e;
	return e;
}

static struct rb_route *rb_route_get(struct rb_host *h, const char *path, size_t len)
{
	for (struct rb_route *r = h->routes; r; r = r->next)
		if (r->path_len == len && memcmp(r->path, path, len) == 0)
			return r;
	return NULL;
}

static int rb_streq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static const char *rb_bool(int b)
{
	return b ? "true" : "false";
}

/* Returns the name of the routing setting on which <a> and <b> disagree,
 * or NULL when they can share a route. <*va> and <*vb> receive how each
 * has it, for the operator.
 */
static const char *rb_differs(const struct labels_spec *a, const struct labels_spec *b,
			      const char **va, const char **vb)
{
	if (a->context_root_rewrite != b->context_root_rewrite) {
		*va = rb_bool(a->context_root_rewrite);
		*vb = rb_bool(b->context_root_rewrite);
		return "context_root_rewrite";
	}
	if (a->ssl_only != b->ssl_only) {
		*va = rb_bool(a->ssl_only);
		*vb = rb_bool(b->ssl_only);
		return "ssl_only";
	}
	if (a->ssl_passthrough != b->ssl_passthrough) {
		*va = rb_bool(a->ssl_passthrough);
		*vb = rb_bool(b->ssl_passthrough);
		return "ssl_passthrough";
	}
	if (!rb_streq(a->sticky_cookie, b->sticky_cookie)) {
		*va = a->sticky_cookie ? a->sticky_cookie : "unset";
		*vb = b->sticky_cookie ? b->sticky_cookie : "unset";
		return "sticky_session_cookie";
	}
	if (a->sticky_managed != b->sticky_managed) {
		*va = rb_bool(a->sticky_managed);
		*vb = rb_bool(b->sticky_managed);
		return LABELS_OWN_PREFIX "sticky_managed";
	}
	if (a->ip_hash != b->ip_hash) {
		*va = rb_bool(a->ip_hash);
		*vb = rb_bool(b->ip_hash);
		return "ip_hash";
	}
	if (a->ssl_backend != b->ssl_backend) {
		*va = rb_bool(a->ssl_backend);
		*vb = rb_bool(b->ssl_backend);
		return "ssl_backend";
	}
	if (a->ssl_backend && a->ssl_backend_verify != b->ssl_backend_verify) {
		*va = a->ssl_backend_verify ? "required" : "none";
		*vb = b->ssl_backend_verify ? "required" : "none";
		return "ssl_backend_tls_verify";
	}
	if (a->mode != b->mode) {
		*va = a->mode == LABELS_MODE_VIP ? "vip" : "task";
		*vb = b->mode == LABELS_MODE_VIP ? "vip" : "task";
		return "backend_mode";
	}
	*va = "other pairs";
	*vb = "these";
	if (a->nredirects != b->nredirects)
		return "redirects";
	for (size_t i = 0; i < a->nredirects; i++)
		if (strcmp(a->redirects[i].src, b->redirects[i].src) != 0 ||
		    strcmp(a->redirects[i].target, b->redirects[i].target) != 0)
			return "redirects";
	return NULL;
}

/* Lists the keys service <s> claims into <keys> (room for nhosts +
 * nredirects + 1). Returns how many.
 */
static size_t rb_keys(const struct rt_service *s, struct rb_key *keys)
{
	const struct labels_spec *sp = &s->spec;
	size_t n = 0;

	for (size_t i = 0; i < sp->nhosts; i++) {
		const char *h = sp->hosts[i];
		int wild = h[0] == '*';

		keys[n++] = (struct rb_key){ wild ? h + 2 : h, strlen(h) - (wild ? 2 : 0), wild,
					     sp->context_root, sp->context_root_len };
	}
	/* a redirect source is served by the service even when it is not one
	 * of its hosts, so that the redirect can answer
	 */
	for (size_t i = 0; i < sp->nredirects; i++) {
		const struct labels_redirect *rd = &sp->redirects[i];
		struct rb_key k = { rd->src_host, strlen(rd->src_host), 0,
				    rd->src_path_len ? rd->src_path : "/",
				    rd->src_path_len ? rd->src_path_len : 1 };
		size_t j;

		for (j = 0; j < n; j++)
			if (!keys[j].wildcard && keys[j].host_len == k.host_len &&
			    memcmp(keys[j].host, k.host, k.host_len) == 0 &&
			    keys[j].path_len == k.path_len && memcmp(keys[j].path, k.path, k.path_len) == 0)
				break;
		if (j == n)
			keys[n++] = k;
	}
	if (sp->default_backend)
		keys[n++] = (struct rb_key){ NULL, 0, 0, sp->context_root, sp->context_root_len };
	return n;
}

/* The ledger's name of key <k>: "*.domain" for a wildcard (the hosts of a
 * spec keep their "*."), LEDGER_DEFAULT for the default backend.
 */
static const char *rb_key_owned(const struct rb_key *k)
{
	if (!k->host)
		return LEDGER_DEFAULT;
	return k->wildcard ? k->host - 2 : k->host;
}

/* Skips service <s>, refused <key> (NULL: a secret) by ownership. */
static void rb_refuse(struct rb_ctx *c, struct rt_service *s, const char *key)
{
	s->status = RTABLE_SVC_SKIPPED;
	s->reason = rb_dup(c, c->err);
	s->refused_key = key ? rb_dup(c, key) : NULL;
	c->t->nrefused++;
}

/* Claims the keys of service <idx> unless another owner holds one of them,
 * or a service with different settings does; then the service is skipped
 * with the reason.
 */
static void rb_claim(struct rb_ctx *c, uint32_t idx, struct rb_key *keys)
{
	struct rt_service *s = &c->t->svcs[idx];
	size_t n = rb_keys(s, keys);

	for (size_t i = 0; i < n; i++) {
		const char *key = rb_key_owned(&keys[i]);

		if (rtable_own_check(&c->own, s->owner, key, c->err, sizeof(c->err)) < 0) {
			rb_refuse(c, s, key);
			return;
		}
	}
	if (rtable_own_secrets(&c->own, s, c->err, sizeof(c->err)) < 0) {
		rb_refuse(c, s, NULL);
		return;
	}

	for (size_t i = 0; i < n; i++) {
		struct rb_host *h = rb_host_get(c, &keys[i], 0);
		struct rb_route *r = h ? rb_route_get(h, keys[i].path, keys[i].path_len) : NULL;
		const struct rt_service *owner;
		const char *what, *va, *vb;

		if (!r)
			continue;
		owner = &c->t->svcs[r->members[0]];
		what = rb_differs(&owner->spec, &s->spec, &va, &vb);
		/* a canary's share is its owner's choice: owners sharing a host
		 * by the policy's leave must agree on it */
		if (!what && strcmp(owner->owner, s->owner) != 0 && owner->spec.weight != s->spec.weight)
			what = "weight (the services are of different owners)";
		if (!what)
			continue;
		/* Interlock served both with the first's settings; we keep the
		 * first and say so, with both values: the operator sees why
		 * this one gets no traffic.
		 */
		if (keys[i].host)
			snprintf(c->err, sizeof(c->err),
				 "conflicts with service %s on %s%.*s%.*s: different %s (%s there, %s here); "
				 "services sharing a host and path must agree, the first created keeps it",
				 owner->name, keys[i].wildcard ? "*." : "",
				 (int)keys[i].host_len, keys[i].host,
				 keys[i].path_len > 1 ? (int)keys[i].path_len : 0, keys[i].path, what,
				 va, vb);
		else
			snprintf(c->err, sizeof(c->err),
				 "conflicts with service %s as default backend%s%.*s: different %s "
				 "(%s there, %s here); services sharing a host and path must agree, "
				 "the first created keeps it",
				 owner->name, keys[i].path_len > 1 ? " on " : "",
				 keys[i].path_len > 1 ? (int)keys[i].path_len : 0, keys[i].path, what,
				 va, vb);
		s->status = RTABLE_SVC_SKIPPED;
		s->reason = rb_dup(c, c->err);
		return;
	}

	for (size_t i = 0; i < n; i++) {
		struct rb_host *h = rb_host_get(c, &keys[i], 1);
		struct rb_route *r;

		if (!h)
			return;
		r = rb_route_get(h, keys[i].path, keys[i].path_len);
		if (!r) {
			r = arena_calloc(c->tmp, 1, sizeof(*r));
			if (!r) {
				c->oom = 1;
				return;
			}
			r->path = keys[i].path;
			r->path_len = keys[i].path_len;
			r->next = h->routes;
			h->routes = r;
			h->nroutes++;
			c->nroutes++;
		}
		if (r->nmembers == r->cap) {
			uint32_t cap = r->cap ? r->cap * 2 : 2;
			uint32_t *m = arena_alloc(c->tmp, cap * sizeof(*m));

			if (!m) {
				c->oom = 1;
				return;
			}
			if (r->nmembers)
				memcpy(m, r->members, r->nmembers * sizeof(*m));
			r->members = m;
			r->cap = cap;
		}
		r->members[r->nmembers++] = idx;
		c->nrefs++;
		if (rtable_own_commit(&c->own, rb_key_owned(&keys[i]), s->owner) < 0) {
			c->oom = 1;
			return;
		}
	}
}

/************************************************************************/
/*                               layout                                 */
/************************************************************************/

/* Creation order for claims: created first, then by name, then by ID. */
static int rb_created_cmp(const void *a, const void *b, void *base)
{
	const struct rt_service *x = &((const struct rt_service *)base)[*(const uint32_t *)a];
	const struct rt_service *y = &((const struct rt_service *)base)[*(const uint32_t *)b];
	int d;

	if (x->model->created_ms != y->model->created_ms)
		return x->model->created_ms < y->model->created_ms ? -1 : 1;
	d = strcmp(x->name, y->name);
	return d ? d : strcmp(x->id, y->id);
}

static int rb_host_cmp(const void *a, const void *b)
{
	const struct rb_host *x = *(const struct rb_host *const *)a;
	const struct rb_host *y = *(const struct rb_host *const *)b;

	if (x->wildcard != y->wildcard)
		return (int)x->wildcard - (int)y->wildcard;
	return strcmp(x->name, y->name);
}

/* Longest path first, so that the first match is the longest prefix. */
static int rb_route_cmp(const void *a, const void *b)
{
	const struct rb_route *x = *(const struct rb_route *const *)a;
	const struct rb_route *y = *(const struct rb_route *const *)b;

	if (x->path_len != y->path_len)
		return x->path_len > y->path_len ? -1 : 1;
	return strcmp(x->path, y->path);
}

static int rb_index_init(struct rb_ctx *c, struct rt_index *ix, size_t n)
{
	uint32_t size = rb_pow2(n * 2);

	ix->mask = size - 1;
	ix->slots = arena_calloc(c->a, size, sizeof(*ix->slots));
	if (!ix->slots)
		c->oom = 1;
	return ix->slots ? 0 : -1;
}

static void rb_index_put(struct rt_index *ix, uint64_t h, uint32_t idx)
{
	uint32_t i = (uint32_t)h & ix->mask;

	while (ix->slots[i].idx)
		i = (i + 1) & ix->mask;
	ix->slots[i].hash = (uint32_t)(h >> 32);
	ix->slots[i].idx = idx + 1;
}

/* Returns <size> zeroed bytes aligned on <align> (a power of two, at most
 * 64): the arena only guarantees the alignment of max_align_t.
 */
static void *rb_alloc_aligned(struct rb_ctx *c, size_t size, size_t align)
{
	unsigned char *p = arena_calloc(c->a, 1, size + align - 1);

	if (!p) {
		c->oom = 1;
		return NULL;
	}
	return (void *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
}

/* Appends ", <name>" style lists and counts to a no-task reason. */
static void rb_no_task_reason(struct rb_ctx *c, struct rt_route *r)
{
	const struct rtable *t = c->t;
	uint32_t counts[RT_TASK_UNREADY_KINDS] = { 0 }, ntasks = 0;
	size_t len = 0, cap = sizeof(c->err);
	const struct rt_service *p = &t->svcs[r->primary];

	for (uint32_t i = 0; i < r->nmembers; i++) {
		const struct rt_service *s = &t->svcs[t->members[r->first_member + i]];

		ntasks += s->ntasks;
		for (int k = 0; k < RT_TASK_UNREADY_KINDS; k++)
			counts[k] += s->unready[k];
	}
	if (r->flags & RT_F_VIP) {
		int any_vip = 0;

		for (uint32_t i = 0; i < r->nmembers; i++)
			any_vip |= t->svcs[t->members[r->first_member + i]].has_vip;
		if (!any_vip) {
			snprintf(c->err, cap, "service %s has no virtual IP%s%s (backend_mode=vip)",
				 p->name, p->network ? " on network " : "", p->network ? p->network : "");
			r->no_task_reason = rb_dup(c, c->err);
			return;
		}
	}

	len += (size_t)snprintf(c->err + len, cap - len, ntasks ? "no task of service%s " :
				"service%s ", r->nmembers > 1 ? "s" : "");
	for (uint32_t i = 0; i < r->nmembers && len < cap; i++) {
		if (i == 3) {
			len += (size_t)snprintf(c->err + len, cap - len, ", ...");
			break;
		}
		len += (size_t)snprintf(c->err + len, cap - len, "%s%s", i ? ", " : "",
					t->svcs[t->members[r->first_member + i]].name);
	}
	if (!ntasks) {
		if (len < cap)
			snprintf(c->err + len, cap - len, r->nmembers > 1 ? " have no task" : " has no task");
		r->no_task_reason = rb_dup(c, c->err);
		return;
	}
	if (len < cap)
		len += (size_t)snprintf(c->err + len, cap - len, " is ready (");
	for (int k = RT_TASK_READY + 1, first = 1; k < RT_TASK_UNREADY_KINDS && len < cap; k++) {
		if (!counts[k])
			continue;
		len += (size_t)snprintf(c->err + len, cap - len, "%s%u %s", first ? "" : ", ",
					counts[k], rtable_unready_name((enum rt_unready)k));
		first = 0;
	}
	/* only in VIP mode: ready tasks of a service that has no VIP */
	if (counts[RT_TASK_READY] && len < cap)
		len += (size_t)snprintf(c->err + len, cap - len, "%s%u ready without a virtual IP",
					c->err[len - 1] != '(' ? ", " : "", counts[RT_TASK_READY]);
	if (len < cap)
		snprintf(c->err + len, cap - len, ")");
	r->no_task_reason = rb_dup(c, c->err);
}

/* Fills the servers route <r> picks from. Services whose weight is 0 get
 * traffic only when no other service of the route can serve.
 */
static void rb_pool(struct rb_ctx *c, struct rt_route *r)
{
	struct rtable *t = c->t;
	uint32_t n = 0, k = 0, *weights, usable = 0, ready = 0;
	struct rt_pick *picks;
	uint64_t *keys;
	int vip = (r->flags & RT_F_VIP) != 0, weighted = 0, all;

	/* Excluded tasks are left out unless that leaves none: a route
	 * whose every ready task failed is better served by all of them
	 * than answered 503 (NGINX would say "no live upstreams"). */
	for (uint32_t i = 0; i < r->nmembers && !vip; i++) {
		const struct rt_service *s = &t->svcs[t->members[r->first_member + i]];

		ready += s->nready;
		usable += s->nready - s->nexcluded;
	}
	all = !vip && ready && !usable;
	if (all)
		r->flags |= RT_F_ALL_EXCLUDED;
	for (uint32_t i = 0; i < r->nmembers; i++) {
		const struct rt_service *s = &t->svcs[t->members[r->first_member + i]];
		uint32_t cnt = vip ? (s->has_vip && s->nready) :
			       all ? s->nready : s->nready - s->nexcluded;

		if (cnt && s->spec.weight)
			weighted = 1;
	}
	for (uint32_t i = 0; i < r->nmembers; i++) {
		const struct rt_service *s = &t->svcs[t->members[r->first_member + i]];

		if (weighted && !s->spec.weight)
			continue;
		n += vip ? (s->has_vip && s->nready) : all ? s->nready : s->nready - s->nexcluded;
	}
	if (!n) {
		balance_init(&r->pool, c->a, NULL, 0);
		rb_no_task_reason(c, r);
		return;
	}

	picks = rb_alloc_aligned(c, n * sizeof(*picks), _Alignof(struct rt_pick));
	keys = arena_alloc(c->a, n * sizeof(*keys));
	weights = arena_alloc(c->tmp, n * sizeof(*weights));
	if (!picks || !keys || !weights) {
		c->oom = 1;
		return;
	}
	for (uint32_t i = 0; i < r->nmembers; i++) {
		uint32_t si = t->members[r->first_member + i];
		const struct rt_service *s = &t->svcs[si];
		uint32_t w = weighted ? s->spec.weight : 1;

		if (weighted && !s->spec.weight)
			continue;
		if (vip) {
			if (!s->has_vip || !s->nready)
				continue;
			picks[k] = (struct rt_pick){ s->vip, s->spec.port, si, NULL };
			keys[k] = balance_key(s->id, strlen(s->id));
			/* Interlock canary semantics: share in proportion to tasks */
			weights[k++] = w * s->nready;
			continue;
		}
		for (uint32_t j = 0; j < s->ntasks; j++) {
			const struct rt_task *tk = &s->tasks[j];

			if (tk->unready != RT_TASK_READY || (tk->excluded && !all))
				continue;
			picks[k] = (struct rt_pick){ tk->addr, tk->port, si, tk->id };
			keys[k] = tk->key;
			weights[k++] = w;
		}
	}
	r->picks = picks;
	r->keys = keys;
	if (balance_init(&r->pool, c->a, weights, n) < 0)
		c->oom = 1;
	if (r->flags & RT_F_STICKY_MANAGED) {
		uint64_t *macs = arena_alloc(c->a, n * sizeof(*macs));

		if (!macs) {
			c->oom = 1;
			return;
		}
		/* a VIP pick is named by its service */
		for (uint32_t i = 0; i < n; i++)
			macs[i] = sticky_mac(c->cookie_key, picks[i].task_id ? picks[i].task_id :
					     t->svcs[picks[i].svc].id);
		r->macs = macs;
	}
}

/* The websocket endpoints of every service of route <r>, without
 * duplicates (each service's own are distinct already): a set in the
 * temporary arena keeps it linear in the number of endpoints.
 */
static void rb_websockets(struct rb_ctx *c, struct rt_route *r)
{
	const struct rtable *t = c->t;
	const struct labels_spec *first = &t->svcs[t->members[r->first_member]].spec;
	size_t total = 0;
	const char **eps, **set;
	uint32_t mask;

	for (uint32_t i = 0; i < r->nmembers; i++)
		total += t->svcs[t->members[r->first_member + i]].spec.nwebsockets;
	if (!total)
		return;
	if (total == first->nwebsockets) {
		r->websockets = first->websockets;
		r->nwebsockets = (uint32_t)total;
		return;
	}
	mask = rb_pow2(total * 2) - 1;
	eps = arena_alloc(c->a, total * sizeof(*eps));
	set = arena_calloc(c->tmp, (size_t)mask + 1, sizeof(*set));
	if (!eps || !set) {
		c->oom = 1;
		return;
	}
	for (uint32_t i = 0; i < r->nmembers; i++) {
		const struct labels_spec *sp = &t->svcs[t->members[r->first_member + i]].spec;

		for (size_t j = 0; j < sp->nwebsockets; j++) {
			const char *ep = sp->websockets[j];
			uint32_t k = (uint32_t)hash_str(HASH_SEED, ep) & mask;

			while (set[k] && strcmp(set[k], ep) != 0)
				k = (k + 1) & mask;
			if (!set[k])
				set[k] = eps[r->nwebsockets++] = ep;
		}
	}
	r->websockets = eps;
}

static void rb_route_settings(struct rb_ctx *c, struct rt_route *r, const struct rb_route *b,
			      const struct rt_host *host)
{
	const struct rt_service *p = &c->t->svcs[b->members[0]];
	const struct labels_spec *sp = &p->spec;

	r->path = b->path;
	r->path_len = (uint32_t)b->path_len;
	if (b->path_len <= RT_PATH_INLINE)
		memcpy(r->path_inl, b->path, b->path_len);
	r->host = host;
	r->primary = b->members[0];
	r->primary_name = p->name;
	r->first_member = c->nrefs;
	r->nmembers = b->nmembers;
	memcpy(c->t->members + c->nrefs, b->members, b->nmembers * sizeof(*b->members));
	c->nrefs += b->nmembers;
	r->flags = (sp->context_root_rewrite ? RT_F_REWRITE : 0) |
		   (sp->ssl_only ? RT_F_SSL_ONLY : 0) |
		   (sp->ssl_passthrough ? RT_F_PASSTHROUGH : 0) |
		   (sp->ip_hash ? RT_F_IP_HASH : 0) |
		   (sp->mode == LABELS_MODE_VIP ? RT_F_VIP : 0) |
		   (sp->sticky_cookie ? RT_F_STICKY : 0) |
		   (sp->sticky_cookie && sp->sticky_managed ? RT_F_STICKY_MANAGED : 0) |
		   (sp->ssl_backend ? RT_F_SSL_BACKEND : 0) |
		   (sp->ssl_backend && sp->ssl_backend_verify ? RT_F_SSL_VERIFY : 0);
	r->hsts_max_age = sp->hsts_max_age;
	if (sp->sticky_cookie) {
		r->sticky = sp->sticky_cookie;
		r->sticky_len = (uint32_t)strlen(sp->sticky_cookie);
	}
	r->nredirects = (uint32_t)sp->nredirects;
	r->redirects = sp->redirects;
	rb_websockets(c, r);
	rb_pool(c, r);
}

/* Returns the free entry of <tab> where the name hashed <h> goes. */
static struct rt_host *rb_tab_slot(struct rt_hosttab *tab, uint64_t h)
{
	uint32_t i = (uint32_t)h & tab->mask;

	while (tab->e[i].len)
		i = (i + 1) & tab->mask;
	return &tab->e[i];
}

static int rb_tab_init(struct rb_ctx *c, struct rt_hosttab *tab, size_t n)
{
	uint32_t size = rb_pow2(n * 2);

	tab->mask = size - 1;
	tab->e = rb_alloc_aligned(c, size * sizeof(*tab->e), 64);
	return tab->e ? 0 : -1;
}

/* Lays out hosts and routes from the claims: hosts go straight into their
 * table's entry, routes host after host in the order hosts sort by name.
 */
static void rb_layout(struct rb_ctx *c)
{
	struct rtable *t = c->t;
	uint32_t nh = c->nhosts + (c->deflt ? 1 : 0), ri = 0, nexact = 0, nwild = 0;
	struct rb_route **sorted;
	struct rt_host *deflt = NULL;
	size_t maxroutes = 0;

	for (uint32_t i = 0; i < c->nhosts; i++) {
		if (c->hosts[i]->wildcard)
			nwild++;
		else
			nexact++;
	}
	t->routes = rb_alloc_aligned(c, (c->nroutes ? c->nroutes : 1) * sizeof(*t->routes), 64);
	t->members = arena_alloc(c->a, (c->nrefs ? c->nrefs : 1) * sizeof(*t->members));
	if (c->deflt)
		deflt = rb_alloc_aligned(c, sizeof(*deflt), 64);
	if (!t->routes || !t->members || (c->deflt && !deflt) ||
	    rb_tab_init(c, &t->exact, nexact) < 0 || rb_tab_init(c, &t->wild, nwild) < 0) {
		c->oom = 1;
		return;
	}
	t->nexact = nexact;
	t->nwild = nwild;
	qsort(c->hosts, c->nhosts, sizeof(*c->hosts), rb_host_cmp);
	if (c->deflt)
		c->hosts[c->nhosts] = c->deflt;
	for (uint32_t i = 0; i < nh; i++)
		if (c->hosts[i]->nroutes > maxroutes)
			maxroutes = c->hosts[i]->nroutes;
	sorted = arena_alloc(c->tmp, (maxroutes ? maxroutes : 1) * sizeof(*sorted));
	if (!sorted) {
		c->oom = 1;
		return;
	}

	c->nrefs = 0;
	for (uint32_t i = 0; i < nh && !c->oom; i++) {
		const struct rb_host *b = c->hosts[i];
		struct rt_host *h;
		uint64_t hash = 0;
		uint32_t n = 0;

		if (b == c->deflt) {
			h = deflt;
		} else {
			hash = rt_host_hash(b->name, b->len);
			h = rb_tab_slot(b->wildcard ? &t->wild : &t->exact, hash);
		}
		h->tag = (uint32_t)(hash >> 32);
		h->name = b->len ? rb_dup(c, b->name) : "";
		h->len = b->len;
		if (b->len <= RT_HOST_INLINE)
			memcpy(h->inl, b->name, b->len);
		h->wildcard = (uint8_t)b->wildcard;
		h->first_route = ri;
		h->nroutes = b->nroutes;
		for (struct rb_route *r = b->routes; r; r = r->next)
			sorted[n++] = r;
		qsort(sorted, n, sizeof(*sorted), rb_route_cmp);
		for (uint32_t j = 0; j < n; j++)
			rb_route_settings(c, &t->routes[ri++], sorted[j], h);
	}
	/* every claim must have become exactly one route */
	if (!c->oom && ri != c->nroutes)
		abort();
	t->deflt = deflt;
	t->nroutes = ri;
}

/* Allocates the per-worker blocks, each starting on its own cache line,
 * and spreads the workers' round-robin starting slots.
 */
static void rb_workers(struct rb_ctx *c)
{
	struct rtable *t = c->t;
	size_t rr = (t->nroutes * sizeof(uint32_t) + 63) & ~(size_t)63;
	size_t cnt = (t->nsvcs * sizeof(struct rt_svc_counters) + 63) & ~(size_t)63;
	uint64_t seed = (uint64_t)clock_mono_ns();
	unsigned char *raw;

	t->rr_off = 0;
	t->cnt_off = rr;
	t->nf_off = rr + cnt;
	t->wstride = rr + cnt + 64;
	/* 64 more bytes to start the first block on a cache line */
	raw = arena_calloc(c->a, 1, t->nworkers * t->wstride + 64);
	if (!raw) {
		c->oom = 1;
		return;
	}
	t->wstate = (unsigned char *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
	for (unsigned w = 0; w < t->nworkers; w++) {
		uint32_t *pos = rt_worker_rr(t, w);

		for (uint32_t i = 0; i < t->nroutes; i++)
			pos[i] = balance_start(&t->routes[i].pool, w, t->nworkers,
					       seed ^ ((uint64_t)i * 0x9e3779b97f4a7c15ULL));
	}
}

/* A provider's service and the provider's name, sorted together. */
struct rb_origin {
	const struct model_service *svc;
	const struct model *model;
	const char *source;
};

static int rb_name_cmp(const void *a, const void *b)
{
	const struct rb_origin *x = a, *y = b;
	const char *xn = x->svc->name ? x->svc->name : x->svc->id ? x->svc->id : "";
	const char *yn = y->svc->name ? y->svc->name : y->svc->id ? y->svc->id : "";
	int d = strcmp(xn, yn);

	if (d)
		return d;
	d = strcmp(x->model->source ? x->model->source : "", y->model->source ? y->model->source : "");
	return d ? d : strcmp(x->svc->id ? x->svc->id : "", y->svc->id ? y->svc->id : "");
}

struct rtable *rtable_build(const struct model *const *models, size_t nmodels,
			    const struct rtable_build_opts *opts)
{
	int64_t start = clock_mono_ns();
	struct rb_ctx c = { 0 };
	struct rtable *t;
	struct rb_origin *order;
	uint32_t *created, nkeys = 1, maxkeys = 1, n = 0;
	struct rb_key *keys;
	const char *cluster = opts && opts->service_cluster && *opts->service_cluster ?
			      opts->service_cluster : NULL;

	c.a = arena_new(256 * 1024);
	c.tmp = arena_new(256 * 1024);
	if (!c.a || !c.tmp)
		goto out_free_arenas;
	t = arena_calloc(c.a, 1, sizeof(*t));
	if (!t)
		goto out_free_arenas;
	c.t = t;
	c.health = opts ? opts->health : NULL;
	t->arena = c.a;
	t->nworkers = opts && opts->nworkers ? opts->nworkers : 1;

	for (size_t i = 0; i < nmodels; i++)
		if (models[i])
			n += (uint32_t)models[i]->nsvcs;
	t->nsvcs = n;
	t->svcs = arena_calloc(c.a, n ? n : 1, sizeof(*t->svcs));
	order = arena_alloc(c.tmp, (n ? n : 1) * sizeof(*order));
	created = arena_alloc(c.tmp, (n ? n : 1) * sizeof(*created));
	if (!t->svcs || !order || !created)
		goto out_free_arenas;
	if (opts && opts->cookie_key)
		memcpy(c.cookie_key, opts->cookie_key, sizeof(c.cookie_key));

	/* services sorted by name: a stable order for show and find */
	n = 0;
	for (size_t i = 0; i < nmodels; i++)
		for (size_t j = 0; models[i] && j < models[i]->nsvcs; j++)
			order[n++] = (struct rb_origin){ &models[i]->svcs[j], models[i],
							 models[i]->source };
	qsort(order, n, sizeof(*order), rb_name_cmp);

	for (uint32_t i = 0; i < n && !c.oom; i++) {
		struct rt_service *s = &t->svcs[i];

		rb_service(&c, s, order[i].svc, order[i].model, cluster);
		if (s->status == RTABLE_SVC_ROUTED) {
			uint32_t k = (uint32_t)(s->spec.nhosts + s->spec.nredirects + 1);

			nkeys += k;
			if (k > maxkeys)
				maxkeys = k;
		}
	}
	t->names = arena_alloc(c.a, (n ? n : 1) * sizeof(*t->names));
	if (c.oom || !t->names)
		goto out_free_arenas;
	for (uint32_t i = 0; i < n; i++)
		t->names[i] = t->svcs[i].name;

	/* claims, first created first */
	c.hmask = rb_pow2((size_t)nkeys * 2) - 1;
	c.hslots = arena_calloc(c.tmp, c.hmask + 1, sizeof(*c.hslots));
	c.hosts = arena_alloc(c.tmp, (nkeys + 1) * sizeof(*c.hosts));
	keys = arena_alloc(c.tmp, maxkeys * sizeof(*keys));
	if (!c.hslots || !c.hosts || !keys)
		goto out_free_arenas;
	/* claims their owner still makes keep the ledger's entries alive */
	if (rtable_own_begin(&c.own, opts, t, c.tmp) < 0)
		goto out_free_arenas;
	for (uint32_t i = 0; i < n; i++) {
		const struct rt_service *s = &t->svcs[i];
		size_t nk;

		if (s->status != RTABLE_SVC_ROUTED)
			continue;
		nk = rb_keys(s, keys);
		for (size_t j = 0; j < nk; j++)
			rtable_own_seen(&c.own, rb_key_owned(&keys[j]), s->owner);
	}
	if (rtable_own_age(&c.own) < 0)
		goto out_free_arenas;
	{
		uint32_t m = 0;

		for (uint32_t i = 0; i < n; i++)
			if (t->svcs[i].status == RTABLE_SVC_ROUTED)
				created[m++] = i;
		qsort_r(created, m, sizeof(*created), rb_created_cmp, t->svcs);
		for (uint32_t i = 0; i < m && !c.oom; i++)
			rb_claim(&c, created[i], keys);
	}
	if (c.oom)
		goto out_free_arenas;

	rb_layout(&c);
	if (c.oom)
		goto out_free_arenas;
	rb_workers(&c);
	if (c.oom)
		goto out_free_arenas;

	if (rb_index_init(&c, &t->by_name, n) < 0 || rb_index_init(&c, &t->by_id, n) < 0)
		goto out_free_arenas;
	for (uint32_t i = 0; i < n; i++) {
		const struct rt_service *s = &t->svcs[i];

		rb_index_put(&t->by_name, rt_str_hash(s->name), i);
		rb_index_put(&t->by_id, rt_str_hash(s->id), i);
		if (s->status == RTABLE_SVC_ROUTED) {
			t->nrouted++;
			t->ntasks_ready += s->nready;
		} else if (s->status == RTABLE_SVC_SKIPPED) {
			t->nskipped++;
		}
	}

	rtable_own_end(&c.own, t);
	arena_free(c.tmp);
	t->built_ms = clock_wall_ms();
	t->build_ns = (uint64_t)(clock_mono_ns() - start);
	return t;

out_free_arenas:
	rtable_own_abort(&c.own);
	arena_free(c.tmp);
	arena_free(c.a);
	return NULL;
}
