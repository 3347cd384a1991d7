/* Plain Docker containers: JSON in, service model out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/netaddr.h"
#include "common/arena.h"
#include "common/clock.h"
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
#define CTR_MAX_ADDRS 32        /* addresses of one container */

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

/* One network of NetworkSettings.Networks, named <net> (NULL: a name we
 * cannot read): {"NetworkID", "IPAddress", "GlobalIPv6Address"}. Adds its
 * addresses to <tmp> (<max> at most).
 */
static int parse_network(struct jscan *s, struct arena *a, const char *net,
			 struct model_netattach *tmp, size_t max, size_t *n, const char **reason)
{
	static const char *const names[] = { "NetworkID", "IPAddress", "GlobalIPv6Address", NULL };
	const char *vals[3] = { NULL, NULL, NULL };
	const char **const strs[] = { &vals[0], &vals[1], &vals[2], NULL };
	int rc, which;

	rc = jscan_open_object(s);
	if (rc > 0)
		rc = dockerobj_next(s, a, names, strs, &which, reason);
	if (rc < 0)
		return -1;
	for (int i = 1; net && i < 3; i++) {
		if (!vals[i] || !*vals[i] || *n >= max)
			continue;
		if (netaddr_parse_cidr(&tmp[*n].addr, vals[i]) < 0)
			continue;
		tmp[*n].network = net;
		tmp[*n].network_id = vals[0] && *vals[0] ? vals[0] : NULL;
		(*n)++;
	}
	return 0;
}

/* NetworkSettings: {"Networks": {"name": {...}, ...}} */
static int parse_networks(struct jscan *s, struct arena *a, struct ctr *ct, const char **reason)
{
	static const char *const names[] = { "Networks", NULL };
	struct model_netattach tmp[CTR_MAX_ADDRS];
	struct jscan_str key;
	size_t n = 0;
	int rc, inner, which;

	rc = jscan_open_object(s);
	if (rc <= 0)
		return rc;
	while ((rc = jscan_next_known(s, names, &which)) == 1) {
		inner = jscan_open_object(s);
		if (inner < 0)
			return -1;
		while (inner == 1 && (inner = jscan_next_member(s, &key)) == 1)
			if (parse_network(s, a, jscan_str_dup(a, &key), tmp, CTR_MAX_ADDRS, &n, reason) < 0)
				return -1;
		if (inner < 0)
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

/* Reads one container into <rec> (a struct ctr). Returns 1 when it is
 * kept, 0 when skipped (malformed, or a swarm task), -1 on a syntax error.
 */
static int parse_container(struct jscan *s, struct arena *a, void *rec, void *arg)
{
	static const char *const names[] = {
		"Id", "State", "Status", "Names", "Created", "Labels", "NetworkSettings", NULL
	};
	struct containers *c = arg;
	struct ctr *ct = rec;
	const char *reason = NULL;
	const char **const strs[] = { &ct->id, &ct->state, &ct->status, NULL };
	int64_t created = 0;
	int rc, which, r;

	rc = dockerobj_enter(s, "not an object", &reason);
	while (rc == 1 && (rc = dockerobj_next(s, a, names, strs, &which, &reason)) == 1) {
		if (which == 3)
			r = parse_names(s, a, ct, &reason);
		else if (which == 4)
			r = dockerobj_int(s, &created, &reason);
		else if (which == 5)
			r = dockerobj_labels(s, a, &ct->labels, &ct->nlabels, &reason);
		else
			r = parse_networks(s, a, ct, &reason);
		if (r < 0)
			return -1;
	}
	if (rc < 0)
		return -1;
	if (!reason && (!ct->id || !*ct->id))
		reason = "no Id";
	if (reason) {
		c->skipped++;
		dockerobj_skipped("discovery", "container", ct->id, reason);
		return 0;
	}
	/* swarm tasks belong to swarm mode: their routing labels are on their
	 * service, which this mode does not see */
	if (dockerobj_label(ct->labels, ct->nlabels, SWARM_TASK_LABEL))
		return 0;
	if (!ct->name || !*ct->name)
		ct->name = ct->id;
	if (!ct->state)
		ct->state = "unknown";
	ct->created_ms = created > 0 && created < INT64_MAX / 1000 ? created * 1000 : 0;
	return 1;
}

/* Forgets the start times of containers long gone. */
static void containers_forget_events(struct containers *c)
{
	int64_t now = clock_mono_ms();
	const char *key, *drop[64];
	void *val;
	size_t pos = 0, ndrop = 0;

	while (strmap_next(c->events, &pos, &key, &val) && ndrop < 64) {
		const struct ctr_event *ce = val;

		if (now - ce->seen_ms > EVENT_KEEP_MS)
			drop[ndrop++] = key;
	}
	for (size_t i = 0; i < ndrop; i++)
		free(strmap_del(c->events, drop[i]));
}

int containers_load(struct containers *c, const char *json, size_t len, char *err, size_t errlen)
{
	struct dockerobj_records r;
	struct ctr *list;

	if (dockerobj_collect(json, len, "container", sizeof(*list), parse_container, c, &r,
			      err, errlen) < 0)
		return -1;
	list = r.v;
	for (size_t i = 0; i < r.n; i++) {
		const char *proj = dockerobj_label(list[i].labels, list[i].nlabels, COMPOSE_PROJECT);
		const char *svc = dockerobj_label(list[i].labels, list[i].nlabels, COMPOSE_SERVICE);

		if (proj && *proj && svc && *svc) {
			size_t len2 = strlen(proj) + strlen(svc) + 2;
			char *g = arena_alloc(r.arena, len2);

			if (g) {
				snprintf(g, len2, "%s-%s", proj, svc);
				list[i].group = g;
			}
		}
	}
	arena_free(c->arena);
	c->arena = r.arena;
	c->list = list;
	c->n = r.n;
	containers_forget_events(c);
	return 0;
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

static void fill_task(const struct containers *c, struct model *m, const struct ctr *ct,
		      struct model_task *t, int *has_check, int *oom)
{
	const struct ctr_event *ce = strmap_get(c->events, ct->id);

	t->id = model_strdup(m, ct->id, oom);
	t->node = c->host[0] ? model_strdup(m, c->host, oom) : NULL;
	t->state = model_strdup(m, ct->state, oom);
	t->running = strcmp(ct->state, "running") == 0;
	/* a plain container has no desired state: running is what it wants */
	t->desired_running = t->running;
	t->health = status_health(ct->status, has_check);
	t->state_since_ms = ce && ce->when_ms > ct->created_ms ? ce->when_ms : ct->created_ms;
	t->nets = model_nets_dup(m, ct->nets, ct->nnets, oom);
	t->nnets = t->nets ? ct->nnets : 0;
}

/* Fills <svc> from the containers sorted[from..to) (one group). */
static void fill_service(const struct containers *c, struct model *m, const struct ctr *const *sorted,
			 size_t from, size_t to, struct model_service *svc, int *oom)
{
	const struct ctr *lead = sorted[from];

	/* the newest container speaks for a group (labels, creation time) */
	for (size_t i = from + 1; i < to; i++)
		if (sorted[i]->created_ms > lead->created_ms)
			lead = sorted[i];
	svc->id = model_strdup(m, lead->group ? lead->group : lead->id, oom);
	svc->name = model_strdup(m, lead->group ? lead->group : lead->name, oom);
	svc->stack = model_strdup(m, dockerobj_label(lead->labels, lead->nlabels, COMPOSE_PROJECT), oom);
	svc->created_ms = lead->created_ms;
	svc->labels = model_labels_dup(m, lead->labels, lead->nlabels, oom);
	svc->nlabels = svc->labels ? lead->nlabels : 0;
	svc->tasks = arena_calloc(m->arena, to - from, sizeof(*svc->tasks));
	if (!svc->tasks) {
		*oom = 1;
		return;
	}
	for (size_t i = from; i < to; i++) {
		int has_check;

		fill_task(c, m, sorted[i], &svc->tasks[i - from], &has_check, oom);
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
		fill_service(c, m, sorted, i, j, &m->svcs[m->nsvcs++], &oom);
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
