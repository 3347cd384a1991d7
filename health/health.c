/* Passive health: rings in, exclusions out.
 *
 * - hatargets (haproxyapi/) finds the HAProxies; each gets an evstream;
 * - each line goes through failline_parse(); a failure is matched to its
 *   task by (service, destination address) in an index rebuilt from each
 *   new table, and counted by the exclusion rules (exclude.c);
 * - connect timeouts to every task of a node make the node suspect
 *   (suspect.c): all its tasks are excluded at once, until Swarm says it
 *   is down;
 * - when the set of excluded tasks changes (a task excluded, an exclusion
 *   ended), a new overlay goes to the table build.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ev.h>

#include "common/arena.h"
#include "common/clock.h"
#include "common/kvout.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/prom.h"
#include "common/sbuf.h"
#include "haproxyapi/haproxy_cli.h"
#include "haproxyapi/hatargets.h"
#include "health/evstream.h"
#include "health/exclude.h"
#include "health/failline.h"
#include "health/health.h"
#include "health/suspect.h"
#include "health/traffic.h"
#include "routing/labels-t.h"
#include "routing/model.h"
#include "routing/overlay.h"
#include "routing/rtable.h"

#define HEALTH_TICK_S 1.0
/* How long an answer of an HAProxy's table of per-service traffic may
 * take: a table of 4096 entries is about 1 MB. */
#define HEALTH_TRAFFIC_TIMEOUT_MS 3000

/* A task address of a routed service, and the service's policy. The
 * port is part of the key: tasks may share an address (host mode, tests
 * on loopback).
 */
struct health_dst {
	const char *service;
	const char *task_id;
	const char *node_id;         /* NULL outside a swarm */
	struct netaddr addr;
	uint16_t port;
	const struct exclude_policy *policy;
};

struct health_stream {
	struct health *h;
	char *key;                   /* hatargets' key */
	struct evstream *s;
	struct haproxy_cli_addr addr;
	struct haproxy_cli_req *poll; /* "show table" in flight, or NULL */
	int64_t next_poll_ms;        /* monotonic */
};

struct health {
	struct ev_loop *loop;
	struct health_opts o;
	struct hatargets *targets;
	struct health_stream **streams;
	size_t nstreams;
	struct traffic *tr;
	struct exclude *x;
	struct suspect *sus;
	ev_timer tick;               /* resolution of tasks: targets */
	ev_timer expiry;             /* the next end of an exclusion */

	struct arena *ix_arena;      /* the index below, from the latest table */
	struct health_dst *ix;
	size_t nix;

	uint64_t lines, malformed, failures, unmatched, exclusions, publishes, suspicions;
};

/************************************************************************/
/*                     the index of task addresses                      */
/************************************************************************/

static int health_dst_cmp(const void *a, const void *b)
{
	const struct health_dst *x = a, *y = b;
	int d = strcmp(x->service, y->service);

	if (d)
		return d;
	if (x->addr.family != y->addr.family)
		return x->addr.family - y->addr.family;
	d = memcmp(x->addr.ip, y->addr.ip, sizeof(x->addr.ip));
	return d ? d : (int)x->port - (int)y->port;
}

static const struct health_dst *health_find(const struct health *h, const char *service,
					    const struct netaddr *addr, uint16_t port)
{
	struct health_dst key = { .service = service, .addr = *addr, .port = port };

	if (!h->nix)
		return NULL;
	return bsearch(&key, h->ix, h->nix, sizeof(*h->ix), health_dst_cmp);
}

void health_on_table(void *arg, const struct rtable *t)
{
	struct health *h = arg;
	size_t n = rtable_service_count(t), cap = 0, k = 0;
	struct arena *a;
	struct health_dst *ix;

	for (size_t i = 0; i < n; i++) {
		struct rtable_service_view v;

		rtable_service_at(t, i, &v);
		if (v.status != RTABLE_SVC_ROUTED || !v.model || !v.spec ||
		    v.spec->mode != LABELS_MODE_TASK)
			continue;
		for (size_t j = 0; j < v.model->ntasks; j++)
			cap += v.model->tasks[j].nnets;
	}
	a = arena_new(64 * 1024);
	ix = a ? arena_alloc(a, (cap ? cap : 1) * sizeof(*ix)) : NULL;
	if (!ix) {
		arena_free(a);
		LOG(LL_ERROR, "health", "out of memory for the task index: keeping the previous one");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct rtable_service_view v;
		struct exclude_policy *p;
		const char *name;
		char err[160];

		rtable_service_at(t, i, &v);
		if (v.status != RTABLE_SVC_ROUTED || !v.model || !v.spec ||
		    v.spec->mode != LABELS_MODE_TASK || !v.model->ntasks)
			continue;
		p = arena_alloc(a, sizeof(*p));
		name = arena_strdup(a, v.name);
		if (!p || !name)
			goto out_oom;
		if (exclude_policy_parse(p, model_label(v.model, LABELS_PREFIX "max_fails"),
					 model_label(v.model, LABELS_PREFIX "fail_timeout"),
					 err, sizeof(err)) < 0)
			LOG(LL_WARN, "health", "bad passive health label, default used",
			    KVS("service", v.name), KVS("reason", err));
		for (size_t j = 0; j < v.model->ntasks; j++) {
			const struct model_task *mt = &v.model->tasks[j];
			uint16_t port = mt->port ? mt->port : v.spec->port;
			const char *id = NULL, *node = NULL;

			for (size_t l = 0; l < mt->nnets; l++) {
				if (!mt->nets[l].addr.family)
					continue;
				if (!id && !(id = arena_strdup(a, mt->id)))
					goto out_oom;
				if (mt->node_id && !node && !(node = arena_strdup(a, mt->node_id)))
					goto out_oom;
				ix[k++] = (struct health_dst){ name, id, node, mt->nets[l].addr, port, p };
			}
		}
	}
	qsort(ix, k, sizeof(*ix), health_dst_cmp);
	arena_free(h->ix_arena);
	h->ix_arena = a;
	h->ix = ix;
	h->nix = k;
	return;

out_oom:
	arena_free(a);
	LOG(LL_ERROR, "health", "out of memory for the task index: keeping the previous one");
}

/************************************************************************/
/*                         failures and exclusions                      */
/************************************************************************/

static void health_publish(struct health *h)
{
	struct overlay *ov = exclude_overlay(h->x);
	int64_t next = exclude_next_end(h->x);

	if (!ov) {
		LOG(LL_ERROR, "health", "out of memory for the health overlay");
		return;
	}
	h->publishes++;
	h->o.publish(h->o.arg, ov);
	ev_timer_stop(h->loop, &h->expiry);
	if (next) {
		int64_t wait = next - clock_wall_ms();

		ev_timer_set(&h->expiry, (wait > 0 ? wait : 0) / 1000.0 + 0.001, 0.0);
		ev_timer_start(h->loop, &h->expiry);
	}
}

/* After a connect timeout to a task of node <node>: when every routed
 * task of the node timed out lately, the node is suspect and all its tasks
 * are excluded. Returns 1 when some task was newly excluded.
 */
static int health_node_check(struct health *h, const char *node, int64_t now_ms)
{
	const char **ids = NULL;
	size_t n = 0, cap = 0, newly = 0, total = 0;
	int64_t until;
	char reason[160];
	int probation = suspect_on_probation(h->sus, node, now_ms);

	if (suspect_until(h->sus, node, now_ms))
		return 0;
	/* the node's tasks, each once (a task is in the index once per
	 * address) */
	for (size_t i = 0; i < h->nix; i++) {
		const struct health_dst *d = &h->ix[i];
		size_t j;

		if (!d->node_id || strcmp(d->node_id, node) != 0)
			continue;
		for (j = 0; j < n && strcmp(ids[j], d->task_id) != 0; j++)
			;
		if (j < n)
			continue;
		if (n == cap) {
			const char **v = realloc(ids, (cap = cap ? 2 * cap : 16) * sizeof(*v));

			if (!v) {
				free(ids);
				return 0;
			}
			ids = v;
		}
		ids[n++] = d->task_id;
	}
	until = suspect_node(h->sus, node, ids, n, now_ms);
	free(ids);
	if (until <= 0)
		return 0;
	h->suspicions++;
	if (probation)
		snprintf(reason, sizeof(reason), "node %.32s stopped answering again on probation: "
			 "a connect timeout to one of its %zu tasks", node, n);
	else
		snprintf(reason, sizeof(reason), "node %.32s stopped answering: connect timeouts to all "
			 "its %zu tasks", node, n);
	for (size_t i = 0; i < h->nix; i++) {
		const struct health_dst *d = &h->ix[i];
		int rc;

		if (!d->node_id || strcmp(d->node_id, node) != 0)
			continue;
		rc = exclude_force(h->x, d->service, d->task_id, d->policy, now_ms, until, reason);
		total += rc >= 0;
		newly += rc > 0;
	}
	h->exclusions += newly;
	LOG(LL_WARN, "health", "node suspect: its tasks are excluded", KVS("node", node),
	    KVI("tasks", n), KVI("newly_excluded", newly), KVI("for_ms", until - now_ms));
	return total > 0;
}

/* Reads one line of a ring of failed requests received at <now_ms> (wall
 * clock).
 */
static void health_line(struct health *h, const char *line, size_t len, int64_t now_ms)
{
	const struct health_dst *d;
	struct failline fl;
	char what[NETADDR_STRLEN + 32], ip[NETADDR_STRLEN];
	int rc = failline_parse(line, len, &fl);

	h->lines++;
	if (rc < 0)
		h->malformed++;
	if (rc <= 0)
		return;
	h->failures++;
	if (fl.service[0])
		traffic_conn_failure(h->tr, fl.service);
	d = health_find(h, fl.service, &fl.dst, fl.port);
	if (!d) {
		/* a task gone since, a VIP, or a service without routes */
		h->unmatched++;
		return;
	}
	snprintf(what, sizeof(what), "%s to %s:%u", fl.ts, netaddr_str(&fl.dst, ip), fl.port);
	rc = exclude_failure(h->x, d->service, d->task_id, d->policy, now_ms, what);
	if (rc < 0) {
		LOG(LL_ERROR, "health", "out of memory for a failure", KVS("task", d->task_id));
		return;
	}
	if (rc) {
		h->exclusions++;
		LOG(LL_WARN, "health", "task excluded", KVS("service", d->service),
		    KVS("task", d->task_id), KVS("failure", what),
		    KVI("for_ms", d->policy->fail_timeout_ms));
	}
	/* "sC": the connection timed out, nothing answered at that address */
	if (d->policy->max_fails && strcmp(fl.ts, "sC") == 0 && d->node_id &&
	    suspect_timeout(h->sus, d->task_id, now_ms) == 0 &&
	    health_node_check(h, d->node_id, now_ms))
		rc = 1;
	if (rc)
		health_publish(h);
}

static void health_on_line(void *arg, const char *line, size_t len)
{
	health_line(arg, line, len, clock_wall_ms());
}

static void health_on_expiry(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct health *h = (struct health *)((char *)t - offsetof(struct health, expiry));

	(void)loop;
	(void)revents;
	suspect_expire(h->sus, clock_wall_ms());
	if (exclude_expire(h->x, clock_wall_ms())) {
		LOG(LL_INFO, "health", "exclusions ended", KVI("still_excluded", exclude_count(h->x)));
		health_publish(h);
		return;
	}
	/* woken early: wait for the next end */
	if (exclude_next_end(h->x)) {
		ev_timer_set(t, 0.05, 0.0);
		ev_timer_start(h->loop, t);
	}
}

/************************************************************************/
/*                      per-service traffic polls                       */
/************************************************************************/

static void health_on_poll(void *arg, const char *error, const char *answer, size_t len)
{
	struct health_stream *s = arg;
	char err[160];

	s->poll = NULL;
	if (error) {
		traffic_target_failed(s->h->tr, s->key, error);
		return;
	}
	if (traffic_target_answer(s->h->tr, s->key, answer, len, err, sizeof(err)) < 0)
		LOG(LL_DEBUG, "health", "cannot read the table of per-service traffic",
		    KVS("target", s->key), KVS("reason", err));
}

/* Asks <s>'s HAProxy for its table when due at <now> (monotonic): one
 * request in flight per HAProxy at most.
 */
static void health_poll(struct health_stream *s, int64_t now)
{
	static const char cmd[] = "show table " TRAFFIC_TABLE "\n";
	char err[160];

	unsigned every = s->h->o.traffic_interval_ms;

	if (!every || s->poll || now < s->next_poll_ms)
		return;
	s->next_poll_ms = now + every;
	s->poll = haproxy_cli_send(s->h->loop, &s->addr, cmd, sizeof(cmd) - 1,
				   HEALTH_TRAFFIC_TIMEOUT_MS, health_on_poll, s, err, sizeof(err));
	if (!s->poll)
		traffic_target_failed(s->h->tr, s->key, err);
}

static void health_on_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct health *h = (struct health *)((char *)t - offsetof(struct health, tick));

	int64_t now = clock_mono_ms();

	(void)loop;
	(void)revents;
	hatargets_tick(h->targets, now);
	for (size_t i = 0; i < h->nstreams; i++)
		health_poll(h->streams[i], now);
}

/************************************************************************/
/*                               targets                                */
/************************************************************************/

static int health_found(void *arg, const char *key, const struct haproxy_cli_addr *addr)
{
	struct health *h = arg;
	struct health_stream **sv, *s;

	sv = realloc(h->streams, (h->nstreams + 1) * sizeof(*sv));
	if (!sv)
		return -1;
	h->streams = sv;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->h = h;
	s->addr = *addr;
	s->key = strdup(key);
	s->s = s->key ? evstream_new(h->loop, addr, HEALTH_RING, health_on_line, h) : NULL;
	if (!s->s) {
		free(s->key);
		free(s);
		return -1;
	}
	/* the first poll at the next tick */
	s->next_poll_ms = clock_mono_ms();
	h->streams[h->nstreams++] = s;
	return 0;
}

static void health_drop(struct health *h, size_t i)
{
	struct health_stream *s = h->streams[i];

	if (s->poll)
		haproxy_cli_cancel(s->poll);
	traffic_target_drop(h->tr, s->key);
	evstream_free(s->s);
	free(s->key);
	free(s);
	memmove(&h->streams[i], &h->streams[i + 1], (h->nstreams - i - 1) * sizeof(*h->streams));
	h->nstreams--;
}

static void health_gone(void *arg, const char *key)
{
	struct health *h = arg;

	for (size_t i = 0; i < h->nstreams; i++) {
		if (strcmp(h->streams[i]->key, key) == 0) {
			health_drop(h, i);
			return;
		}
	}
}

static const struct hatargets_hooks health_hooks = {
	.found = health_found,
	.gone = health_gone,
};

struct health *health_new(struct ev_loop *loop, const struct health_opts *o,
			  char *err, size_t errlen)
{
	struct health *h = calloc(1, sizeof(*h));
	struct hatargets_opts ho = {
		.specs = o->targets,
		.nspecs = o->ntargets,
		.api = o->docker,
		.subsystem = "health",
		.hooks = &health_hooks,
	};

	if (!h || !(h->x = exclude_new()) || !(h->sus = suspect_new()) ||
	    !(h->tr = traffic_new())) {
		if (h) {
			exclude_free(h->x);
			suspect_free(h->sus);
		}
		free(h);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->loop = loop;
	h->o = *o;
	ev_timer_init(&h->expiry, health_on_expiry, 0.0, 0.0);
	ev_timer_init(&h->tick, health_on_tick, HEALTH_TICK_S, HEALTH_TICK_S);
	ho.arg = h;
	h->targets = hatargets_new(loop, &ho, err, errlen);
	if (!h->targets) {
		health_free(h);
		return NULL;
	}
	ev_timer_start(loop, &h->tick);
	return h;
}

void health_free(struct health *h)
{
	if (!h)
		return;
	ev_timer_stop(h->loop, &h->tick);
	ev_timer_stop(h->loop, &h->expiry);
	hatargets_free(h->targets);
	while (h->nstreams)
		health_drop(h, h->nstreams - 1);
	free(h->streams);
	exclude_free(h->x);
	suspect_free(h->sus);
	traffic_free(h->tr);
	arena_free(h->ix_arena);
	free(h);
}

/************************************************************************/
/*                              reporting                               */
/************************************************************************/

static size_t health_connected(const struct health *h)
{
	size_t n = 0;

	for (size_t i = 0; i < h->nstreams; i++) {
		struct evstream_status st;

		evstream_status(h->streams[i]->s, &st);
		n += st.connected != 0;
	}
	return n;
}

void health_info(const struct health *h, struct kvout *kv)
{
	kvout_u64(kv, "HealthStreams", h->nstreams);
	kvout_u64(kv, "HealthStreamsConnected", health_connected(h));
	kvout_u64(kv, "HealthFailures", h->failures);
	kvout_u64(kv, "HealthExcludedTasks", exclude_count(h->x));
	kvout_u64(kv, "HealthSuspectNodes", suspect_count(h->sus, clock_wall_ms()));
}

struct health_prom_ctx {
	struct sbuf *out;
	int64_t now_ms;
	int family;
};

static void health_prom_excluded(void *arg, const struct exclude_view *v)
{
	struct health_prom_ctx *c = arg;
	struct prom_label l[3] = {
		{ "service", v->service }, { "task", v->task_id }, { "reason", v->reason },
	};

	prom_sample_f64(c->out, "swarm_spoa_task_excluded_until_seconds", NULL, l, 3,
			(double)v->until_ms / 1000.0);
}

static void health_metrics_traffic(const struct health *h, struct sbuf *out);

void health_metrics(const struct health *h, struct sbuf *out)
{
	struct health_prom_ctx c = { out, clock_wall_ms(), 0 };

	prom_single_u64(out, "swarm_spoa_health_streams_connected", PROM_GAUGE,
			"HAProxy rings of failed requests this agent streams now.",
			health_connected(h));
	prom_single_u64(out, "swarm_spoa_health_lines", PROM_COUNTER,
			"Lines read from the rings of failed requests.",
			h->lines);
	prom_single_u64(out, "swarm_spoa_health_failures", PROM_COUNTER,
			"Failures of a destination (SC, sC, SH) read from the rings.",
			h->failures);
	prom_single_u64(out, "swarm_spoa_health_exclusions", PROM_COUNTER,
			"Times a task was excluded by passive health.",
			h->exclusions);
	prom_single_u64(out, "swarm_spoa_health_node_suspicions", PROM_COUNTER,
			"Times every task of a node timed out and the node's tasks were excluded.",
			h->suspicions);
	prom_single_u64(out, "swarm_spoa_health_suspect_nodes", PROM_GAUGE,
			"Nodes whose tasks are all excluded now because none of them answers.",
			suspect_count(h->sus, c.now_ms));
	prom_family(out, "swarm_spoa_task_excluded_until_seconds", PROM_GAUGE,
		    "Tasks passive health excludes now, with why, and when that ends (Unix time).");
	exclude_each(h->x, health_prom_excluded, &c);
	health_metrics_traffic(h, out);
}

static void health_prom_traffic(void *arg, const struct traffic_figures *f)
{
	static const char *const classes[TRAFFIC_NCLASSES] = { "2xx", "3xx", "4xx", "5xx" };
	struct health_prom_ctx *c = arg;
	struct prom_label l[2] = { { "service", f->service }, { NULL, NULL } };
	uint64_t cum = 0;

	switch (c->family) {
	case 0:
		prom_sample_u64(c->out, "swarm_spoa_service_http_requests", "_total", l, 1,
				f->requests);
		break;
	case 1:
		l[1].name = "code";
		for (int k = 0; k < TRAFFIC_NCLASSES; k++) {
			l[1].value = classes[k];
			prom_sample_u64(c->out, "swarm_spoa_service_http_responses", "_total", l, 2,
					f->status[k]);
		}
		break;
	case 2:
		prom_sample_u64(c->out, "swarm_spoa_service_connection_failures", "_total", l, 1,
				f->conn_failures);
		break;
	default:
		l[1].name = "le";
		for (int b = 0; b < TRAFFIC_NBUCKETS; b++) {
			char le[PROM_F64_LEN];

			cum += f->buckets[b];
			l[1].value = b < TRAFFIC_NBUCKETS - 1 ?
				prom_f64(traffic_bucket_ms[b] / 1000.0, le) : "+Inf";
			prom_sample_u64(c->out, "swarm_spoa_service_response_time_seconds", "_bucket",
					l, 2, cum);
		}
		prom_sample_u64(c->out, "swarm_spoa_service_response_time_seconds", "_count", l, 1,
				cum);
		break;
	}
}

/* The per-service figures of the HAProxies' tables and rings, summed over
 * the HAProxies this agent talks to.
 */
static void health_metrics_traffic(const struct health *h, struct sbuf *out)
{
	static const struct {
		const char *name;
		enum prom_type type;
		const char *help;
	} fam[] = {
		{ "swarm_spoa_service_http_requests", PROM_COUNTER,
		  "Requests HAProxy forwarded to the service's tasks (its table, summed over the HAProxies read)." },
		{ "swarm_spoa_service_http_responses", PROM_COUNTER,
		  "Responses of the service's tasks, by status class." },
		{ "swarm_spoa_service_connection_failures", PROM_COUNTER,
		  "Requests that got no response: connection refused, connect timeout, reset (SC, sC, SH)." },
		{ "swarm_spoa_service_response_time_seconds", PROM_HISTOGRAM,
		  "Time from the choice of a task to its response headers (no _sum)." },
	};
	struct health_prom_ctx c = { out, clock_wall_ms(), 0 };
	struct traffic_status st;

	traffic_status(h->tr, &st);
	prom_single_u64(out, "swarm_spoa_service_traffic_polls", PROM_COUNTER,
			"Reads of the HAProxies' per-service traffic tables; failed ones.",
			st.polls);
	prom_single_u64(out, "swarm_spoa_service_traffic_poll_failures", PROM_COUNTER,
			"Reads of the per-service traffic tables that failed (no answer, not a table).",
			st.poll_failures);
	for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
		prom_family(out, fam[i].name, fam[i].type, fam[i].help);
		c.family = (int)i;
		traffic_each(h->tr, health_prom_traffic, &c);
	}
}

int health_service(const struct health *h, const char *service, struct sbuf *out, int json)
{
	struct traffic_figures f;

	if (traffic_get(h->tr, service, &f) < 0)
		return -1;
	traffic_format(&f, out, json);
	return 0;
}

struct health_show_ctx {
	struct sbuf *out;
	int json;
	int first;
};

static void health_show_excluded(void *arg, const struct exclude_view *v)
{
	struct health_show_ctx *c = arg;
	char when[CLOCK_ISO8601_LEN];

	clock_iso8601(v->until_ms, when);
	if (!c->json) {
		sbuf_printf(c->out, "excluded %s task %s until %s: %s\n", v->service, v->task_id,
			    when, v->reason);
		return;
	}
	sbuf_puts(c->out, c->first ? "{\"service\":" : ",{\"service\":");
	c->first = 0;
	sbuf_json_cstr(c->out, v->service);
	sbuf_puts(c->out, ",\"task\":");
	sbuf_json_cstr(c->out, v->task_id);
	sbuf_puts(c->out, ",\"until\":");
	sbuf_json_cstr(c->out, when);
	sbuf_puts(c->out, ",\"reason\":");
	sbuf_json_cstr(c->out, v->reason);
	sbuf_printf(c->out, ",\"exclusions\":%llu}", (unsigned long long)v->exclusions);
}

void health_show(const struct health *h, struct sbuf *out, int json)
{
	struct health_show_ctx c = { out, json, 1 };
	struct traffic_status ts;

	if (json)
		sbuf_puts(out, "{\"streams\":[");
	for (size_t i = 0; i < h->nstreams; i++) {
		struct evstream_status st;

		evstream_status(h->streams[i]->s, &st);
		if (!json) {
			sbuf_printf(out, "stream %s %s connects=%llu lines=%llu%s%s\n", st.target,
				    st.connected ? "connected" : "down",
				    (unsigned long long)st.connects, (unsigned long long)st.lines,
				    st.last_error[0] ? " last_error=" : "", st.last_error);
			continue;
		}
		sbuf_puts(out, i ? ",{\"target\":" : "{\"target\":");
		sbuf_json_cstr(out, st.target);
		sbuf_printf(out, ",\"connected\":%s,\"connects\":%llu,\"lines\":%llu,\"last_error\":",
			    st.connected ? "true" : "false", (unsigned long long)st.connects,
			    (unsigned long long)st.lines);
		sbuf_json_cstr(out, st.last_error[0] ? st.last_error : NULL);
		sbuf_putc(out, '}');
	}
	if (json)
		sbuf_printf(out, "],\"lines\":%llu,\"malformed\":%llu,\"failures\":%llu,"
			    "\"unmatched\":%llu,\"exclusions\":%llu,\"excluded\":[",
			    (unsigned long long)h->lines, (unsigned long long)h->malformed,
			    (unsigned long long)h->failures, (unsigned long long)h->unmatched,
			    (unsigned long long)h->exclusions);
	else
		sbuf_printf(out, "lines=%llu malformed=%llu failures=%llu unmatched=%llu "
			    "exclusions=%llu\n", (unsigned long long)h->lines,
			    (unsigned long long)h->malformed, (unsigned long long)h->failures,
			    (unsigned long long)h->unmatched, (unsigned long long)h->exclusions);
	exclude_each(h->x, health_show_excluded, &c);
	traffic_status(h->tr, &ts);
	if (!json) {
		sbuf_printf(out, "traffic polls=%llu failures=%llu malformed=%llu services=%zu%s%s\n",
			    (unsigned long long)ts.polls, (unsigned long long)ts.poll_failures,
			    (unsigned long long)ts.malformed, ts.services,
			    ts.last_error[0] ? " last_error=" : "", ts.last_error);
		return;
	}
	sbuf_printf(out, "],\"traffic\":{\"polls\":%llu,\"failures\":%llu,\"malformed\":%llu,"
		    "\"services\":%zu,\"last_error\":", (unsigned long long)ts.polls,
		    (unsigned long long)ts.poll_failures, (unsigned long long)ts.malformed,
		    ts.services);
	sbuf_json_cstr(out, ts.last_error[0] ? ts.last_error : NULL);
	sbuf_puts(out, "}}\n");
}
