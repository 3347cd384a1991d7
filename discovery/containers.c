/* Plain Docker containers: JSON in, service model out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/clock.h"
#include "common/errlog.h"
#include "common/jscan.h"
#include "common/log.h"
#include "common/strmap.h"
#include "discovery/containers.h"
#include "dockerapi/dockerobj.h"
#include "routing/model.h"

#define COMPOSE_PROJECT "com.docker.compose.project"
#define COMPOSE_SERVICE "com.docker.compose.service"
#define SWARM_TASK_LABEL "com.docker.swarm.task.id"
#define EVENT_KEEP_MS 600000    /* forget start times of unseen containers */

struct ctr {
	const char *id;
	const char *name;              /* without the leading '/' */
	const char *state;
	const char *status;            /* "Up 5 minutes (healthy)" */
	int64_t created_ms;
	size_t nlabels;
	struct model_label *labels;
	size_t nnets;
	struct model_netattach *nets;
	const char *group;             /* "project-service" for Compose, else NULL */
};

struct ctr_event {
	int64_t when_ms;               /* wall clock of the last start / healthy */
	int64_t seen_ms;               /* monotonic, for forgetting */
	char id[];
};

struct containers {
	struct arena *arena;           /* the current list */
	struct ctr *list;
	size_t n;
	struct strmap *events;         /* container ID -> struct ctr_event */
	char host[256];
	uint64_t skipped;
};

struct containers *containers_new(void)
{
	struct containers *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->events = strmap_new();
	if (!c->events) {
		free(c);
		return NULL;
	}
	return c;
}

void containers_free(struct containers *c)
{
	const char *key;
	void *val;
	size_t pos = 0;

	if (!c)
		return;
	while (strmap_next(c->events, &pos, &key, &val))
		free(val);
	strmap_free(c->events);
	arena_free(c->arena);
	free(c);
}

void containers_set_host(struct containers *c, const char *hostname)
{
	snprintf(c->host, sizeof(c->host), "%s", hostname ? hostname : "");
}

size_t containers_count(const struct containers *c)
{
	return c->n;
}

uint64_t containers_skipped(const struct containers *c)
{
	return c->skipped;
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                   */
/* ------------------------------------------------------------------------ */

static int parse_names(struct jscan *s, struct arena *a, struct ctr *ct, const char **reason)
{
	int el, first = 1;

	if (jscan_null(s))
		return 0;
	if (jscan_peek(s) != JSCAN_ARRAY) {
		*reason = "Names is not an array";
		return jscan_skip(s);
	}
	if (jscan_enter_array(s) < 0)
		return -1;
	while ((el = jscan_next_element(s)) == 1) {
		const char *name = NULL;

		if (!first) {
			if (jscan_skip(s) < 0)
				return -1;
			continue;
		}
		first = 0;
		if (dockerobj_str(s, a, &name, reason) < 0)
			return -1;
		if (name)
			ct->name = name[0] == '/' ? name + 1 : name;
	}
	return el;
}

/* NetworkSettings.Networks: {"name": {"NetworkID", "IPAddress",
 * "GlobalIPv6Address"}, ...}
 */
static int parse_networks(struct jscan *s, struct arena *a, struct ctr *ct, const char **reason)
{
	struct model_netattach tmp[32];
	struct jscan_str key, k2, k3;
	size_t n = 0;
	int rc, rc2, rc3;

	if (jscan_null(s))
		return 0;
	if (jscan_peek(s) != JSCAN_OBJECT)
		return jscan_skip(s);
	if (jscan_enter_object(s) < 0)
		return -1;
	while ((rc = jscan_next_member(s, &key)) == 1) {
		if (!jscan_str_eq(&key, "Networks") || jscan_peek(s) != JSCAN_OBJECT) {
			if (jscan_skip(s) < 0)
				return -1;
			continue;
		}
		if (jscan_enter_object(s) < 0)
			return -1;
		while ((rc2 = jscan_next_member(s, &k2)) == 1) {
			const char *net = jscan_str_dup(a, &k2), *net_id = NULL, *v4 = NULL, *v6 = NULL;

			if (jscan_peek(s) != JSCAN_OBJECT) {
				if (jscan_skip(s) < 0)
					return -1;
				continue;
			}
			if (jscan_enter_object(s) < 0)
				return -1;
			while ((rc3 = jscan_next_member(s, &k3)) == 1) {
				int r;

				if (jscan_str_eq(&k3, "NetworkID"))
					r = dockerobj_str(s, a, &net_id, reason);
				else if (jscan_str_eq(&k3, "IPAddress"))
					r = dockerobj_str(s, a, &v4, reason);
				else if (jscan_str_eq(&k3, "GlobalIPv6Address"))
					r = dockerobj_str(s, a, &v6, reason);
				else
					r = jscan_skip(s);
				if (r < 0)
					return -1;
			}
			if (rc3 < 0)
				return -1;
			if (!net)
				continue;
			for (int i = 0; i < 2; i++) {
				const char *ip = i ? v6 : v4;

				if (!ip || !*ip || n >= 32)
					continue;
				if (netaddr_parse_cidr(&tmp[n].addr, ip) < 0)
					continue;
				tmp[n].network = net;
				tmp[n].network_id = net_id && *net_id ? net_id : NULL;
				n++;
			}
		}
		if (rc2 < 0)
			return -1;
	}
	if (rc < 0)
		return -1;
	if (n) {
		ct->nets = arena_alloc(a, n * sizeof(*ct->nets));
		if (!ct->nets)
			return 0;
		memcpy(ct->nets, tmp, n * sizeof(*ct->nets));
		ct->nnets = n;
	}
	return 0;
}

/* Returns 1 with <ct> filled, 0 when the entry is skipped, -1 on a syntax
 * error.
 */
static int parse_container(struct containers *c, struct jscan *s, struct arena *a, struct ctr *ct)
{
	struct jscan_str key;
	const char *reason = NULL;
	int64_t created = 0;
	int rc;

	memset(ct, 0, sizeof(*ct));
	if (jscan_peek(s) != JSCAN_OBJECT) {
		reason = "not an object";
		if (jscan_skip(s) < 0)
			return -1;
		goto out_skip;
	}
	if (jscan_enter_object(s) < 0)
		return -1;
	while ((rc = jscan_next_member(s, &key)) == 1) {
		int r;

		if (jscan_str_eq(&key, "Id"))
			r = dockerobj_str(s, a, &ct->id, &reason);
		else if (jscan_str_eq(&key, "Names"))
			r = parse_names(s, a, ct, &reason);
		else if (jscan_str_eq(&key, "State"))
			r = dockerobj_str(s, a, &ct->state, &reason);
		else if (jscan_str_eq(&key, "Status"))
			r = dockerobj_str(s, a, &ct->status, &reason);
		else if (jscan_str_eq(&key, "Created"))
			r = dockerobj_int(s, &created, &reason);
		else if (jscan_str_eq(&key, "Labels"))
			r = dockerobj_labels(s, a, &ct->labels, &ct->nlabels, &reason);
		else if (jscan_str_eq(&key, "NetworkSettings"))
			r = parse_networks(s, a, ct, &reason);
		else
			r = jscan_skip(s);
		if (r < 0)
			return -1;
	}
	if (rc < 0)
		return -1;
	if (!reason && (!ct->id || !*ct->id))
		reason = "no Id";
	if (reason)
		goto out_skip;
	if (!ct->name || !*ct->name)
		ct->name = ct->id;
	if (!ct->state)
		ct->state = "unknown";
	ct->created_ms = created > 0 && created < INT64_MAX / 1000 ? created * 1000 : 0;
	return 1;

out_skip:
	c->skipped++;
	LOG(LL_WARN, "discovery", "skipping a malformed entry", KVS("kind", "container"),
	    KVS("id", ct->id ? ct->id : "(none)"), KVS("reason", reason));
	errlog_record(ERRLOG_DOCKER, ct->id ? ct->id : "container (no Id)", reason);
	return 0;
}

int containers_load(struct containers *c, const char *json, size_t len, char *err, size_t errlen)
{
	struct arena *a = arena_new(32 * 1024);
	struct ctr *list = NULL;
	size_t n = 0, cap = 0;
	struct jscan s;
	int el;

	if (!a) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	jscan_init(&s, json, len);
	if (jscan_enter_array(&s) < 0)
		goto out_bad;
	while ((el = jscan_next_element(&s)) == 1) {
		struct ctr ct;
		int r = parse_container(c, &s, a, &ct);

		if (r < 0)
			goto out_bad;
		/* swarm tasks belong to swarm mode: their routing labels are
		 * on their service, which this mode does not see */
		if (r == 0 || dockerobj_label(ct.labels, ct.nlabels, SWARM_TASK_LABEL))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct ctr *nl = realloc(list, ncap * sizeof(*nl));

			if (!nl) {
				snprintf(err, errlen, "out of memory");
				goto out_free;
			}
			list = nl;
			cap = ncap;
		}
		list[n++] = ct;
	}
	if (el < 0 || jscan_finish(&s) < 0)
		goto out_bad;
	/* the list lives in the arena with its strings */
	if (n) {
		struct ctr *kept = arena_alloc(a, n * sizeof(*kept));

		if (!kept) {
			snprintf(err, errlen, "out of memory");
			goto out_free;
		}
		memcpy(kept, list, n * sizeof(*kept));
		free(list);
		list = kept;
	} else {
		free(list);
		list = NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const char *proj = dockerobj_label(list[i].labels, list[i].nlabels, COMPOSE_PROJECT);
		const char *svc = dockerobj_label(list[i].labels, list[i].nlabels, COMPOSE_SERVICE);

		if (proj && *proj && svc && *svc) {
			size_t len2 = strlen(proj) + strlen(svc) + 2;
			char *g = arena_alloc(a, len2);

			if (g) {
				snprintf(g, len2, "%s-%s", proj, svc);
				list[i].group = g;
			}
		}
	}
	arena_free(c->arena);
	c->arena = a;
	c->list = list;
	c->n = n;

	/* forget start times of containers long gone */
	{
		int64_t now = clock_mono_ms();
		const char *key;
		void *val;
		size_t pos = 0, ndrop = 0;
		const char *drop[64];

		while (strmap_next(c->events, &pos, &key, &val) && ndrop < 64) {
			const struct ctr_event *ce = val;

			if (now - ce->seen_ms > EVENT_KEEP_MS)
				drop[ndrop++] = key;
		}
		for (size_t i = 0; i < ndrop; i++)
			free(strmap_del(c->events, drop[i]));
	}
	return 0;

out_bad:
	snprintf(err, errlen, "bad container list: %s", jscan_error(&s) ? jscan_error(&s) : "invalid JSON");
out_free:
	free(list);
	arena_free(a);
	return -1;
}

void containers_note_event(struct containers *c, const char *id, const char *action, int64_t when_ms)
{
	struct ctr_event *ce;

	if (strcmp(action, "start") != 0 && strcmp(action, "health_status: healthy") != 0 &&
	    strcmp(action, "unpause") != 0)
		return;
	ce = strmap_get(c->events, id);
	if (!ce) {
		ce = malloc(sizeof(*ce) + strlen(id) + 1);
		if (!ce)
			return;
		strcpy(ce->id, id);
		if (strmap_put(c->events, ce->id, ce) < 0) {
			free(ce);
			return;
		}
	}
	ce->when_ms = when_ms;
	ce->seen_ms = clock_mono_ms();
}

/* ------------------------------------------------------------------------ */
/* The model                                                                 */
/* ------------------------------------------------------------------------ */

static enum model_health status_health(const char *status, int *has_check)
{
	*has_check = 1;
	if (status && strstr(status, "(healthy)"))
		return MODEL_HEALTH_HEALTHY;
	if (status && strstr(status, "(unhealthy)"))
		return MODEL_HEALTH_UNHEALTHY;
	if (status && strstr(status, "(health: starting)"))
		return MODEL_HEALTH_STARTING;
	*has_check = 0;
	return MODEL_HEALTH_NONE;
}

/* Sort key: the group (Compose service) or the container ID. */
static const char *ctr_key(const struct ctr *ct)
{
	return ct->group ? ct->group : ct->id;
}

static int ctr_cmp(const void *a, const void *b)
{
	const struct ctr *x = *(const struct ctr *const *)a;
	const struct ctr *y = *(const struct ctr *const *)b;
	int d = strcmp(ctr_key(x), ctr_key(y));

	return d ? d : strcmp(x->id, y->id);
}

static const char *dup_(struct arena *a, const char *s, int *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = arena_strdup(a, s);
	if (!d)
		*oom = 1;
	return d;
}

static void fill_task(const struct containers *c, struct arena *a, const struct ctr *ct,
		      struct model_task *t, int *has_check, int *oom)
{
	const struct ctr_event *ce = strmap_get(c->events, ct->id);

	t->id = dup_(a, ct->id, oom);
	t->node = c->host[0] ? dup_(a, c->host, oom) : NULL;
	t->state = dup_(a, ct->state, oom);
	t->running = strcmp(ct->state, "running") == 0;
	/* a plain container has no desired state: running is what it wants */
	t->desired_running = t->running;
	t->health = status_health(ct->status, has_check);
	t->state_since_ms = ce && ce->when_ms > ct->created_ms ? ce->when_ms : ct->created_ms;
	if (ct->nnets) {
		t->nets = arena_calloc(a, ct->nnets, sizeof(*t->nets));
		if (!t->nets) {
			*oom = 1;
			return;
		}
		for (size_t i = 0; i < ct->nnets; i++) {
			t->nets[i].network = dup_(a, ct->nets[i].network, oom);
			t->nets[i].network_id = dup_(a, ct->nets[i].network_id, oom);
			t->nets[i].addr = ct->nets[i].addr;
		}
		t->nnets = ct->nnets;
	}
}

/* Fills <svc> from the containers sorted[from..to) (one group). */
static void fill_service(const struct containers *c, struct arena *a, const struct ctr *const *sorted,
			 size_t from, size_t to, struct model_service *svc, int *oom)
{
	const struct ctr *lead = sorted[from];

	/* the newest container speaks for a group (labels, creation time) */
	for (size_t i = from + 1; i < to; i++)
		if (sorted[i]->created_ms > lead->created_ms)
			lead = sorted[i];
	svc->id = dup_(a, lead->group ? lead->group : lead->id, oom);
	svc->name = dup_(a, lead->group ? lead->group : lead->name, oom);
	svc->stack = dup_(a, dockerobj_label(lead->labels, lead->nlabels, COMPOSE_PROJECT), oom);
	svc->created_ms = lead->created_ms;
	if (lead->nlabels) {
		svc->labels = arena_calloc(a, lead->nlabels, sizeof(*svc->labels));
		if (!svc->labels) {
			*oom = 1;
			return;
		}
		for (size_t i = 0; i < lead->nlabels; i++) {
			svc->labels[i].key = dup_(a, lead->labels[i].key, oom);
			svc->labels[i].value = dup_(a, lead->labels[i].value, oom);
		}
		svc->nlabels = lead->nlabels;
	}
	svc->tasks = arena_calloc(a, to - from, sizeof(*svc->tasks));
	if (!svc->tasks) {
		*oom = 1;
		return;
	}
	for (size_t i = from; i < to; i++) {
		int has_check;

		fill_task(c, a, sorted[i], &svc->tasks[i - from], &has_check, oom);
		svc->has_healthcheck |= has_check;
	}
	svc->ntasks = to - from;
}

struct model *containers_model(const struct containers *c)
{
	const struct ctr **sorted = c->n ? malloc(c->n * sizeof(*sorted)) : NULL;
	struct model *m;
	size_t ngroups = 0, i, j;
	int oom = 0;

	if (c->n && !sorted)
		return NULL;
	m = model_new("docker");
	if (!m)
		goto out_free;
	for (i = 0; i < c->n; i++)
		sorted[i] = &c->list[i];
	if (c->n > 1)
		qsort(sorted, c->n, sizeof(*sorted), ctr_cmp);
	for (i = 0; i < c->n; i++)
		if (i == 0 || strcmp(ctr_key(sorted[i]), ctr_key(sorted[i - 1])) != 0)
			ngroups++;
	if (ngroups) {
		m->svcs = arena_calloc(m->arena, ngroups, sizeof(*m->svcs));
		if (!m->svcs)
			goto out_free_model;
	}
	for (i = 0; i < c->n && !oom; i = j) {
		for (j = i + 1; j < c->n && strcmp(ctr_key(sorted[j]), ctr_key(sorted[i])) == 0; j++)
			;
		fill_service(c, m->arena, sorted, i, j, &m->svcs[m->nsvcs++], &oom);
	}
	if (oom)
		goto out_free_model;
	free(sorted);
	return m;

out_free_model:
	model_free(m);
out_free:
	free(sorted);
	return NULL;
}
