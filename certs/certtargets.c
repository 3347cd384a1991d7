/* The HAProxy runtime APIs certificates are pushed to.
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

#include "certs/certapi.h"
#include "certs/certset.h"
#include "certs/certtargets.h"
#include "certs/haproxy_cli.h"
#include "certs/pusher.h"
#include "certs/swarmobj.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/sbuf.h"
#include "dockerapi/dockerapi.h"

#define CERTTARGETS_REASON_MAX 256

struct certtarget {
	char *key;               /* the option, or "<group>/<task>/<ip>" */
	int group;               /* index in groups, -1 for a fixed address */
	struct pusher *pusher;
	int seen;
};

struct certtargets_grp {     /* tasks:SERVICE:PORT */
	struct certtargets *owner;
	char *spec;
	char *service;
	unsigned port;
	struct dockerapi_req *req;
	char last_error[CERTTARGETS_REASON_MAX];
	long tasks;
};

struct certtargets {
	struct ev_loop *loop;
	struct certtargets_opts o;
	struct certtarget **targets;
	size_t ntargets;
	struct certtargets_grp *groups;
	size_t ngroups;
	int64_t resolve_due_ms;
	struct certset *set;     /* the latest, for the targets found later */
};

static struct certtarget *certtargets_add(struct certtargets *ts, const char *key, int group,
					  const struct haproxy_cli_addr *addr)
{
	struct certtarget **tv, *t;

	tv = realloc(ts->targets, (ts->ntargets + 1) * sizeof(*tv));
	if (!tv)
		return NULL;
	ts->targets = tv;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->key = strdup(key);
	t->group = group;
	t->pusher = pusher_new(ts->loop, addr, ts->o.crt_list, ts->o.hooks, ts->o.arg);
	if (!t->key || !t->pusher) {
		free(t->key);
		pusher_free(t->pusher);
		free(t);
		return NULL;
	}
	ts->targets[ts->ntargets++] = t;
	if (ts->set)
		pusher_update(t->pusher, ts->set);
	return t;
}

static void certtargets_remove(struct certtargets *ts, size_t i)
{
	struct certtarget *t = ts->targets[i];

	pusher_free(t->pusher);
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

static size_t certtargets_local_nets(struct local_net *out, size_t max)
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
static int certtargets_on_local_net(const char *ip, const struct local_net *nets, size_t nnets)
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

static void certtargets_on_task_addr(void *arg, const char *task, const char *network,
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
	local = certtargets_on_local_net(ip, rc->nets, rc->nnets);
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
static void certtargets_keep_task(struct certtargets *ts, int gi, const struct task_pick *p)
{
	struct certtargets_grp *g = &ts->groups[gi];
	struct haproxy_cli_addr addr;
	char key[256], spec[64], err[CERTTARGETS_REASON_MAX];
	struct certtarget *t = NULL;

	snprintf(key, sizeof(key), "%s/%s/%s", g->spec, p->task, p->ip);
	for (size_t k = 0; k < ts->ntargets; k++)
		if (strcmp(ts->targets[k]->key, key) == 0)
			t = ts->targets[k];
	if (!t) {
		snprintf(spec, sizeof(spec), strchr(p->ip, ':') ? "[%s]:%u" : "%s:%u", p->ip, g->port);
		if (haproxy_cli_addr_parse(&addr, spec, err, sizeof(err)) < 0)
			return;
		snprintf(addr.name, sizeof(addr.name), "%s (task %.12s)", spec, p->task);
		t = certtargets_add(ts, key, gi, &addr);
		if (!t)
			return;
		LOG(LL_INFO, "certs", "HAProxy task found", KVS("target", addr.name),
		    KVS("service", g->service), KVS("network_local", p->local ? "yes" : "no"));
	}
	t->seen = 1;
}

static void certtargets_on_tasks(void *arg, const struct dockerapi_resp *r)
{
	struct certtargets_grp *g = arg;
	struct certtargets *ts = g->owner;
	int gi = (int)(g - ts->groups);
	struct resolve_ctx *rc;
	char err[CERTTARGETS_REASON_MAX], why[160];
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
	rc->nnets = certtargets_local_nets(rc->nets, sizeof(rc->nets) / sizeof(rc->nets[0]));
	ntasks = swarmobj_tasks(r->body, r->len, certtargets_on_task_addr, rc, err, sizeof(err));
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
			certtargets_keep_task(ts, gi, &rc->picks[i]);
	free(rc);
	for (size_t i = ts->ntargets; i-- > 0;) {
		if (ts->targets[i]->group != gi || ts->targets[i]->seen)
			continue;
		LOG(LL_INFO, "certs", "HAProxy task gone", KVS("target", ts->targets[i]->key));
		certtargets_remove(ts, i);
	}
}

static void certtargets_resolve(struct certtargets *ts)
{
	for (size_t i = 0; i < ts->ngroups; i++) {
		struct certtargets_grp *g = &ts->groups[i];
		struct sbuf filter = SBUF_INIT;
		char err[CERTTARGETS_REASON_MAX];

		if (g->req)
			continue;
		sbuf_puts(&filter, "{\"desired-state\":[\"running\"],\"service\":[");
		sbuf_json_cstr(&filter, g->service);
		sbuf_puts(&filter, "]}");
		g->req = filter.oom ? NULL : certapi_get(ts->o.api, "/tasks", filter.buf,
							 certtargets_on_tasks, g, err, sizeof(err));
		if (!g->req)
			snprintf(g->last_error, sizeof(g->last_error), "%s",
				 filter.oom ? "out of memory" : err);
		sbuf_free(&filter);
	}
}

void certtargets_tick(struct certtargets *ts, int64_t now_ms)
{
	if (!ts->ngroups || now_ms < ts->resolve_due_ms)
		return;
	ts->resolve_due_ms = now_ms + CERTTARGETS_RESOLVE_MS;
	certtargets_resolve(ts);
}

/************************************************************************/
/*                             start and stop                           */
/************************************************************************/

static int certtargets_add_group(struct certtargets *ts, const char *spec, char *err, size_t errlen)
{
	const char *svc = spec + strlen("tasks:");
	const char *colon = strrchr(svc, ':');
	struct certtargets_grp *gv, *g;
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

struct certtargets *certtargets_new(struct ev_loop *loop, const struct certtargets_opts *o,
				    char *err, size_t errlen)
{
	struct certtargets *ts = calloc(1, sizeof(*ts));

	if (!ts) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ts->loop = loop;
	ts->o = *o;
	for (size_t i = 0; i < o->nspecs; i++) {
		const char *spec = o->specs[i];
		struct haproxy_cli_addr addr;

		if (strncmp(spec, "tasks:", 6) == 0) {
			if (certtargets_add_group(ts, spec, err, errlen) < 0)
				goto out_free;
			continue;
		}
		if (haproxy_cli_addr_parse(&addr, spec, err, errlen) < 0)
			goto out_free;
		if (!certtargets_add(ts, spec, -1, &addr)) {
			snprintf(err, errlen, "out of memory");
			goto out_free;
		}
	}
	certtargets_tick(ts, clock_mono_ms());
	return ts;

out_free:
	certtargets_free(ts);
	return NULL;
}

void certtargets_free(struct certtargets *ts)
{
	if (!ts)
		return;
	while (ts->ntargets)
		certtargets_remove(ts, ts->ntargets - 1);
	free(ts->targets);
	for (size_t i = 0; i < ts->ngroups; i++) {
		if (ts->groups[i].req)
			dockerapi_cancel(ts->groups[i].req);
		free(ts->groups[i].spec);
		free(ts->groups[i].service);
	}
	free(ts->groups);
	certset_unref(ts->set);
	free(ts);
}

void certtargets_update(struct certtargets *ts, struct certset *set)
{
	certset_unref(ts->set);
	ts->set = certset_ref(set);
	for (size_t i = 0; i < ts->ntargets; i++)
		pusher_update(ts->targets[i]->pusher, set);
}

size_t certtargets_count(const struct certtargets *ts)
{
	return ts->ntargets;
}

const struct pusher *certtargets_pusher(const struct certtargets *ts, size_t i)
{
	return ts->targets[i]->pusher;
}

size_t certtargets_ngroups(const struct certtargets *ts)
{
	return ts->ngroups;
}

void certtargets_group(const struct certtargets *ts, size_t g, struct certtargets_group *out)
{
	out->spec = ts->groups[g].spec;
	out->tasks = ts->groups[g].tasks;
	out->last_error = ts->groups[g].last_error;
}
