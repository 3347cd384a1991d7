/* The HAProxy runtime APIs an agent talks to.
 *
 * A task of a tasks:SERVICE:PORT group is reached on an address of a
 * network this agent is on when it has one (the pair's control network),
 * else on its first address; never through the routing mesh.
 */
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "common/arena.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/sbuf.h"
#include "dockerapi/dockerapi.h"
#include "dockerapi/dockerobj.h"
#include "dockerapi/dockerswarm.h"
#include "haproxyapi/haproxy_cli.h"
#include "haproxyapi/hatargets.h"

#define HATARGETS_REASON_MAX  256
#define HATARGETS_TIMEOUT_MS  10000
#define HATARGETS_MAX_BYTES   ((size_t)8 << 20)

struct hatarget {
	char *key;               /* the option, or "<group>/<task>/<ip>" */
	int group;               /* index in groups, -1 for a fixed address */
	int seen;
};

struct hatargets_grp {       /* tasks:SERVICE:PORT */
	struct hatargets *owner;
	char *spec;
	char *service;
	unsigned port;
	struct dockerapi_req *req;
	char last_error[HATARGETS_REASON_MAX];
	long tasks;
};

struct hatargets {
	struct ev_loop *loop;
	struct hatargets_opts o;
	struct hatarget **targets;
	size_t ntargets;
	struct hatargets_grp *groups;
	size_t ngroups;
	int64_t resolve_due_ms;
};

/* Offers <addr> to the owner and remembers it as <key> when kept.
 * Returns 0, or -1 when it was not kept.
 */
static int hatargets_add(struct hatargets *ts, const char *key, int group,
			 const struct haproxy_cli_addr *addr)
{
	struct hatarget **tv, *t;

	tv = realloc(ts->targets, (ts->ntargets + 1) * sizeof(*tv));
	if (!tv)
		return -1;
	ts->targets = tv;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	t->key = strdup(key);
	t->group = group;
	t->seen = 1;
	if (!t->key || ts->o.hooks->found(ts->o.arg, key, addr) < 0) {
		free(t->key);
		free(t);
		return -1;
	}
	ts->targets[ts->ntargets++] = t;
	return 0;
}

static void hatargets_remove(struct hatargets *ts, size_t i, int tell)
{
	struct hatarget *t = ts->targets[i];

	if (tell)
		ts->o.hooks->gone(ts->o.arg, t->key);
	free(t->key);
	free(t);
	memmove(&ts->targets[i], &ts->targets[i + 1],
		(ts->ntargets - i - 1) * sizeof(*ts->targets));
	ts->ntargets--;
}

/************************************************************************/
/*                          resolving tasks:                            */
/************************************************************************/

/* An IPv4 or IPv6 interface address of this host (this container). */
struct local_net {
	int family;
	unsigned char addr[16];
	unsigned char mask[16];
};

static size_t hatargets_local_nets(struct local_net *out, size_t max)
{
	struct ifaddrs *ifa, *i;
	size_t n = 0;

	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i && n < max; i = i->ifa_next) {
		if (!i->ifa_addr || !i->ifa_netmask)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			out[n].family = AF_INET;
			memcpy(out[n].addr, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
			memcpy(out[n].mask, &((struct sockaddr_in *)i->ifa_netmask)->sin_addr, 4);
			n++;
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			out[n].family = AF_INET6;
			memcpy(out[n].addr, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
			memcpy(out[n].mask, &((struct sockaddr_in6 *)i->ifa_netmask)->sin6_addr, 16);
			n++;
		}
	}
	freeifaddrs(ifa);
	return n;
}

/* Whether <ip> (text) is on a network this agent has an address on. */
static int hatargets_on_local_net(const char *ip, const struct local_net *nets, size_t nnets)
{
	unsigned char a[16];
	int family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	size_t len = family == AF_INET ? 4 : 16;

	if (inet_pton(family, ip, a) != 1)
		return 0;
	for (size_t i = 0; i < nnets; i++) {
		size_t k;

		if (nets[i].family != family)
			continue;
		for (k = 0; k < len; k++)
			if ((a[k] & nets[i].mask[k]) != (nets[i].addr[k] & nets[i].mask[k]))
				break;
		if (k == len)
			return 1;
	}
	return 0;
}

/* The address chosen for one task while an answer is read. */
struct task_pick {
	char task[80];
	char ip[NETADDR_STRLEN];
	int local;               /* on a network of ours */
};

struct resolve_ctx {
	struct task_pick picks[256];
	size_t n;
	struct local_net nets[32];
	size_t nnets;
};

static void hatargets_on_task_addr(void *arg, const char *task, const char *network,
				     const char *cidr)
{
	struct resolve_ctx *rc = arg;
	struct task_pick *p = NULL;
	char ip[NETADDR_STRLEN];
	const char *slash = strchr(cidr, '/');
	size_t iplen = slash ? (size_t)(slash - cidr) : strlen(cidr);
	int local;

	/* The routing mesh is no way to reach one task. */
	if (strcmp(network, "ingress") == 0 || iplen >= sizeof(ip) || strlen(task) >= 80)
		return;
	memcpy(ip, cidr, iplen);
	ip[iplen] = '\0';
	local = hatargets_on_local_net(ip, rc->nets, rc->nnets);
	for (size_t i = 0; i < rc->n; i++)
		if (strcmp(rc->picks[i].task, task) == 0)
			p = &rc->picks[i];
	if (!p) {
		if (rc->n == sizeof(rc->picks) / sizeof(rc->picks[0]))
			return;
		p = &rc->picks[rc->n++];
		snprintf(p->task, sizeof(p->task), "%s", task);
	} else if (p->local || !local) {
		return;   /* keeps a first choice that is as good */
	}
	snprintf(p->ip, sizeof(p->ip), "%s", ip);
	p->local = local;
}

/* Keeps the target of task pick <p> of group <gi>, made if new. */
static void hatargets_keep_task(struct hatargets *ts, int gi, const struct task_pick *p)
{
	struct hatargets_grp *g = &ts->groups[gi];
	struct haproxy_cli_addr addr;
	char key[256], spec[64], err[HATARGETS_REASON_MAX];

	snprintf(key, sizeof(key), "%s/%s/%s", g->spec, p->task, p->ip);
	for (size_t k = 0; k < ts->ntargets; k++) {
		if (strcmp(ts->targets[k]->key, key) == 0) {
			ts->targets[k]->seen = 1;
			return;
		}
	}
	snprintf(spec, sizeof(spec), strchr(p->ip, ':') ? "[%s]:%u" : "%s:%u", p->ip, g->port);
	if (haproxy_cli_addr_parse(&addr, spec, err, sizeof(err)) < 0)
		return;
	snprintf(addr.name, sizeof(addr.name), "%s (task %.12s)", spec, p->task);
	if (hatargets_add(ts, key, gi, &addr) < 0)
		return;
	LOG(LL_INFO, ts->o.subsystem, "HAProxy task found", KVS("target", addr.name),
	    KVS("service", g->service), KVS("network_local", p->local ? "yes" : "no"));
}

static void hatargets_on_tasks(void *arg, const struct dockerapi_resp *r)
{
	struct hatargets_grp *g = arg;
	struct hatargets *ts = g->owner;
	int gi = (int)(g - ts->groups);
	struct resolve_ctx *rc;
	char err[HATARGETS_REASON_MAX], why[160];
	long ntasks;

	g->req = NULL;
	if (r->error || r->status < 200 || r->status > 299) {
		dockerapi_describe(r, why, sizeof(why));
		snprintf(g->last_error, sizeof(g->last_error), "cannot list the tasks of %.64s: %s",
			 g->service, why);
		return;   /* the targets found before stay */
	}
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return;
	rc->nnets = hatargets_local_nets(rc->nets, sizeof(rc->nets) / sizeof(rc->nets[0]));
	ntasks = hatargets_tasks(r->body, r->len, hatargets_on_task_addr, rc, err, sizeof(err));
	if (ntasks < 0) {
		snprintf(g->last_error, sizeof(g->last_error), "%s", err);
		free(rc);
		return;
	}
	g->tasks = ntasks;
	g->last_error[0] = '\0';
	for (size_t i = 0; i < ts->ntargets; i++)
		if (ts->targets[i]->group == gi)
			ts->targets[i]->seen = 0;
	for (size_t i = 0; i < rc->n; i++)
		if (rc->picks[i].ip[0])
			hatargets_keep_task(ts, gi, &rc->picks[i]);
	free(rc);
	for (size_t i = ts->ntargets; i-- > 0;) {
		if (ts->targets[i]->group != gi || ts->targets[i]->seen)
			continue;
		LOG(LL_INFO, ts->o.subsystem, "HAProxy task gone", KVS("target", ts->targets[i]->key));
		hatargets_remove(ts, i, 1);
	}
}

/* GET /tasks?filters=<running tasks of the group's service>, without a
 * version prefix: tasks read the same in every API version.
 */
static void hatargets_resolve(struct hatargets *ts)
{
	for (size_t i = 0; i < ts->ngroups; i++) {
		struct hatargets_grp *g = &ts->groups[i];
		struct dockerapi_call call = {
			.unversioned = 1,
			.timeout_ms = HATARGETS_TIMEOUT_MS,
			.max_bytes = HATARGETS_MAX_BYTES,
			.on_done = hatargets_on_tasks,
			.arg = g,
		};
		struct sbuf filter = SBUF_INIT, url = SBUF_INIT;
		char err[HATARGETS_REASON_MAX];

		if (g->req)
			continue;
		sbuf_puts(&filter, "{\"desired-state\":[\"running\"],\"service\":[");
		sbuf_json_cstr(&filter, g->service);
		sbuf_puts(&filter, "]}");
		sbuf_puts(&url, "/tasks?filters=");
		if (!filter.oom)
			dockerapi_urlencode(&url, filter.buf);
		if (filter.oom || url.oom) {
			snprintf(g->last_error, sizeof(g->last_error), "out of memory");
			goto next;
		}
		call.path = url.buf;
		g->req = dockerapi_send(ts->o.api, &call, err, sizeof(err));
		if (!g->req)
			snprintf(g->last_error, sizeof(g->last_error), "%s", err);
next:
		sbuf_free(&filter);
		sbuf_free(&url);
	}
}

void hatargets_tick(struct hatargets *ts, int64_t now_ms)
{
	if (!ts->ngroups || now_ms < ts->resolve_due_ms)
		return;
	ts->resolve_due_ms = now_ms + HATARGETS_RESOLVE_MS;
	hatargets_resolve(ts);
}

/************************************************************************/
/*                        reading the task list                         */
/************************************************************************/

struct hatargets_tasks_ctx {
	struct arena *a;
	void (*fn)(void *arg, const char *task, const char *network, const char *addr);
	void *arg;
	long running;
};

static int hatargets_task(struct jscan *s, void *arg)
{
	struct hatargets_tasks_ctx *c = arg;
	struct dockerswarm_task t;
	const char *reason = NULL;
	char ip[NETADDR_STRLEN];

	if (dockerswarm_task(s, c->a, &t, &reason) < 0)
		return -1;
	if (reason || strcmp(t.state, "running") != 0)
		return 0;
	c->running++;
	for (size_t i = 0; i < t.nnets; i++)
		c->fn(c->arg, t.id, t.nets[i].network ? t.nets[i].network : "",
		      netaddr_str(&t.nets[i].addr, ip));
	return 0;
}

long hatargets_tasks(const char *json, size_t len,
		     void (*fn)(void *arg, const char *task, const char *network, const char *addr),
		     void *arg, char *err, size_t errlen)
{
	struct hatargets_tasks_ctx c = { arena_new(16 * 1024), fn, arg, 0 };
	int rc;

	if (!c.a) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = dockerobj_list(json, len, "task", hatargets_task, &c, err, errlen);
	arena_free(c.a);
	return rc < 0 ? -1 : c.running;
}

/************************************************************************/
/*                             start and stop                           */
/************************************************************************/

static int hatargets_add_group(struct hatargets *ts, const char *spec, char *err, size_t errlen)
{
	const char *svc = spec + strlen("tasks:");
	const char *colon = strrchr(svc, ':');
	struct hatargets_grp *gv, *g;
	char *end;
	long port;

	if (!colon || colon == svc) {
		snprintf(err, errlen, "bad '%s' (want tasks:SERVICE:PORT)", spec);
		return -1;
	}
	port = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || port < 1 || port > 65535) {
		snprintf(err, errlen, "bad port in '%s' (want tasks:SERVICE:PORT)", spec);
		return -1;
	}
	if (!ts->o.api) {
		snprintf(err, errlen, "'%s' needs the Docker Engine API (--docker)", spec);
		return -1;
	}
	gv = realloc(ts->groups, (ts->ngroups + 1) * sizeof(*gv));
	if (!gv)
		goto out_oom;
	ts->groups = gv;
	g = &ts->groups[ts->ngroups];
	memset(g, 0, sizeof(*g));
	g->owner = ts;
	g->spec = strdup(spec);
	g->service = strndup(svc, (size_t)(colon - svc));
	g->port = (unsigned)port;
	if (!g->spec || !g->service) {
		free(g->spec);
		free(g->service);
		goto out_oom;
	}
	ts->ngroups++;
	return 0;
out_oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

struct hatargets *hatargets_new(struct ev_loop *loop, const struct hatargets_opts *o,
				char *err, size_t errlen)
{
	struct hatargets *ts = calloc(1, sizeof(*ts));

	if (!ts) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ts->loop = loop;
	ts->o = *o;
	if (!ts->o.subsystem)
		ts->o.subsystem = "haproxyapi";
	/* groups first: the hooks may read them when told of a fixed target */
	for (size_t i = 0; i < o->nspecs; i++)
		if (strncmp(o->specs[i], "tasks:", 6) == 0 &&
		    hatargets_add_group(ts, o->specs[i], err, errlen) < 0)
			goto out_free;
	for (size_t i = 0; i < o->nspecs; i++) {
		const char *spec = o->specs[i];
		struct haproxy_cli_addr addr;

		if (strncmp(spec, "tasks:", 6) == 0)
			continue;
		if (haproxy_cli_addr_parse(&addr, spec, err, errlen) < 0)
			goto out_free;
		if (hatargets_add(ts, spec, -1, &addr) < 0) {
			snprintf(err, errlen, "out of memory");
			goto out_free;
		}
	}
	hatargets_tick(ts, clock_mono_ms());
	return ts;

out_free:
	hatargets_free(ts);
	return NULL;
}

void hatargets_free(struct hatargets *ts)
{
	if (!ts)
		return;
	while (ts->ntargets)
		hatargets_remove(ts, ts->ntargets - 1, 0);
	free(ts->targets);
	for (size_t i = 0; i < ts->ngroups; i++) {
		if (ts->groups[i].req)
			dockerapi_cancel(ts->groups[i].req);
		free(ts->groups[i].spec);
		free(ts->groups[i].service);
	}
	free(ts->groups);
	free(ts);
}

size_t hatargets_ngroups(const struct hatargets *ts)
{
	return ts->ngroups;
}

void hatargets_group(const struct hatargets *ts, size_t g, struct hatargets_group *out)
{
	out->spec = ts->groups[g].spec;
	out->tasks = ts->groups[g].tasks;
	out->last_error = ts->groups[g].last_error;
}
