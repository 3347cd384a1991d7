/* Discovery: the state machine that keeps the service model in step with
 * the Docker Engine.
 *
 * One job runs at a time, a job being one or a few parallel requests:
 *   sync     GET /version (API negotiation), GET /info (mode, host name),
 *            the /events stream open, then the lists (networks, nodes,
 *            services; or containers), then the tasks of routed services.
 *            After start, every reconnection of the stream, every failure
 *            (with capped backoff), every DISC_RESYNC_MS, and on demand.
 *   refresh  what events said changed: single services, networks, nodes,
 *            or the container list.
 *   poll     GET /tasks of routed services: every poll_fast_ms (or slower
 *            when Docker answers slowly) for the services that are
 *            converging, all of them in one request; every poll_slow_ms
 *            (or slower when the answer is big) for all.
 * Swarm sends no task events, so polling is how task changes on any node
 * are seen; events only say when to poll fast. An answer identical to the
 * previous one is not parsed again, and a model identical to the previous
 * one is not handed over.
 *
 * Errors never reach the routing table: a failed job keeps the last good
 * state, marks discovery degraded and schedules a full sync.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ev.h>

#include "common/clock.h"
#include "common/errlog.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "common/strmap.h"
#include "discovery/containers.h"
#include "discovery/convergence.h"
#include "discovery/discovery.h"
#include "discovery/events.h"
#include "discovery/swarm.h"
#include "dockerapi/dockerapi.h"
#include "dockerapi/dockerhost.h"
#include "dockerapi/dockerobj.h"
#include "routing/model.h"

#define DISC_SMALL_TIMEOUT_MS   10000    /* /version, /info, one service */
#define DISC_LIST_TIMEOUT_MS    30000    /* lists: a slow daemon is a failing daemon */
#define DISC_BACKOFF_MIN_MS     500
#define DISC_BACKOFF_MAX_MS     10000
#define DISC_RESYNC_MS          300000   /* guard against events lost in transit */
#define DISC_RESYNC_NOEVENTS_MS 30000    /* the same without an event stream */
#define DISC_DEBOUNCE_MS        10       /* a stack deploy is a burst of events */
#define DISC_EVENTS_WAIT_MS     5000
#define DISC_FILTER_MAX_IDS     20       /* routed services polled by ID at most, when that
					    costs Docker less (it resolves each ID) */
#define DISC_CONVERGE_MAX_IDS   100      /* converging services filtered by ID at most, when
					    that costs Docker less than a full answer */
#define DISC_FILTER_MIN_FULL_MS 100      /* a full answer cheaper than that: never filter */
#define DISC_FOLLOW_MS          50       /* after a task's container event, a poll at once
					    and then this often for DISC_FOLLOW_WINDOW_MS */
#define DISC_FOLLOW_WINDOW_MS   250      /* the manager stores the task's new state up to
					    150 ms after the event (it batches them) */
#define DISC_SINGLE_MAX         8        /* above, refresh the whole service list */
#define DISC_SLOW_FACTOR        10       /* a full poll at most 1/10 of the time */
#define DISC_FAST_FACTOR        2        /* fast polls: Docker answers at most 1/2 of the time */
#define DISC_HEDGE_FACTOR       2        /* a converging poll that takes twice the shortest
					    recent answer is asked again */
#define DISC_POLL_COST_SAMPLES  4        /* polls whose duration sets the period */
#define DISC_RATE_WINDOW_MS     10000    /* the request rate shown is over 10-20 s */
#define DISC_MAX_REQS           8
#define DISC_ERRLOG_REPEAT_MS   60000
#define DISC_POLL_FAST_DEFAULT  150
#define DISC_POLL_SLOW_DEFAULT  1000

enum disc_want { WANT_AUTO = 0, WANT_SWARM, WANT_CONTAINERS };
enum disc_mode { MODE_NONE = 0, MODE_SWARM, MODE_CONTAINERS };
enum disc_job { JOB_NONE = 0, JOB_SYNC, JOB_REFRESH, JOB_POLL };
enum disc_step { STEP_VERSION = 0, STEP_INFO, STEP_EVENTS, STEP_LISTS, STEP_TASKS, STEP_END };

enum disc_kind {
	RK_VERSION, RK_INFO, RK_PROBE, RK_NETWORKS, RK_NODES, RK_SERVICES, RK_SERVICE,
	RK_TASKS, RK_CONTAINERS,
};

static const char *const kind_names[] = {
	[RK_VERSION] = "/version", [RK_INFO] = "/info", [RK_PROBE] = "/services (probe)",
	[RK_NETWORKS] = "/networks", [RK_NODES] = "/nodes", [RK_SERVICES] = "/services",
	[RK_SERVICE] = "/services/{id}", [RK_TASKS] = "/tasks", [RK_CONTAINERS] = "/containers/json",
};

_Static_assert(sizeof(kind_names) / sizeof(kind_names[0]) == DISCOVERY_REQUEST_KINDS,
	       "one answer histogram per kind of request");

const unsigned discovery_answer_bounds_ms[DISCOVERY_ANSWER_BUCKETS - 1] = {
	5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
};

/* One request of the current job. */
struct disc_req {
	struct discovery *d;
	struct dockerapi_req *req;
	enum disc_kind kind;
	char *service_id;           /* RK_SERVICE */
	char **ids;                 /* RK_TASKS: services it brings tasks for */
	size_t nids;                /* 0: every routed service */
	uint64_t path_hash;         /* RK_TASKS: which question, for the answer cache */
	size_t filter_ids;          /* RK_TASKS: service IDs in its filter, 0: unfiltered */
	char *path;                 /* RK_TASKS: the request's path, to ask it again */
	int hedged;                 /* RK_TASKS: asked twice, the first good answer counts */
	int hedge;                  /* the second of the two */
};

struct discovery {
	struct ev_loop *loop;
	void (*on_model)(void *arg, struct model *m);
	void *arg;
	struct dockerhost host;
	struct dockerapi *api;
	struct events *events;
	char events_version[16];    /* the stream's API version and mode */
	enum disc_mode events_mode;
	enum disc_want want;
	enum disc_mode mode;
	struct swarm *swarm;
	struct containers *ctrs;
	unsigned poll_fast_ms;
	unsigned poll_slow_ms;

	ev_timer work;
	ev_timer events_wait;
	ev_timer hedge;             /* a converging poll that waits too long is asked again */

	/* the job in flight */
	enum disc_job job;
	enum disc_step step;
	struct disc_req *reqs[DISC_MAX_REQS];
	size_t nreqs;
	int waiting_events;
	int job_failed;
	char job_err[256];
	int64_t job_start_ns;
	int64_t job_cpu_ns;
	int job_full_poll;

	/* work waiting for a job */
	int need_sync;
	int64_t sync_not_before;    /* monotonic ms */
	unsigned backoff_ms;
	struct strmap *dirty;       /* service IDs (owned copies) to refresh */
	int dirty_all_services;
	int dirty_networks;
	int dirty_nodes;
	int dirty_containers;
	int poll_asap;
	int64_t follow_until_ms;    /* monotonic: polled every DISC_FOLLOW_MS until then */
	int warned_no_events;
	int warned_mode;
	int changed;                /* state changed since the last publish */
	int64_t last_poll_ms;       /* monotonic, start of the last task poll */
	int64_t last_full_poll_ms;
	int64_t last_sync_mono_ms;
	unsigned full_poll_ms[DISC_POLL_COST_SAMPLES]; /* how long the last unfiltered polls took */
	unsigned full_polls;        /* unfiltered polls answered (counts <full_poll_ms>) */
	unsigned sub_poll_ms[DISC_POLL_COST_SAMPLES];  /* the same for polls filtered by ID */
	unsigned sub_poll_ids[DISC_POLL_COST_SAMPLES]; /* how many services each asked for */
	unsigned sub_polls;
	int64_t rate_mark_ms[2];    /* [0] the window before, [1] the current one (monotonic) */
	uint64_t rate_mark_n[2];    /* requests made at those times */
	uint64_t cache_path[2];     /* [0] full polls, [1] subset polls */
	uint64_t cache_body[2];
	char host_name[256];

	/* the last model handed over */
	int have_model;
	uint64_t model_digest;
	struct convergence *conv;

	/* status */
	enum discovery_state state;
	uint64_t events_seen;
	uint64_t hedged_polls;      /* polls asked a second time */
	uint64_t hedge_wins;        /* of which the second answer came first */
	uint64_t answer_buckets[DISCOVERY_REQUEST_KINDS][DISCOVERY_ANSWER_BUCKETS];
	uint64_t answer_sum_us[DISCOVERY_REQUEST_KINDS];
	uint64_t syncs;
	uint64_t models;
	int64_t last_sync_ms;
	int64_t last_change_ms;
	int64_t last_error_ms;
	char last_error[256];
	int64_t last_errlog_ms;
	uint64_t last_sync_ns;
	uint64_t last_sync_cpu_ns;
	size_t nsvcs;
	size_t ntasks;
};

static void disc_schedule(struct discovery *d);
static void disc_step_done(struct discovery *d);
static void disc_clear_dirty_services(struct discovery *d);

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------ */

static int64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------------------ */
/* State and status                                                          */
/* ------------------------------------------------------------------------ */

static const char *const state_names[] = {
	[DISCOVERY_CONNECTING] = "connecting",
	[DISCOVERY_SYNCED] = "synced",
	[DISCOVERY_DEGRADED] = "degraded",
};

static const char *mode_name(enum disc_mode m)
{
	return m == MODE_SWARM ? "swarm" : m == MODE_CONTAINERS ? "containers" : NULL;
}

/* Something went wrong talking to the daemon: keep what we have, say so. */
static void disc_degrade(struct discovery *d, const char *reason)
{
	int64_t now = clock_wall_ms();
	int repeat = strcmp(reason, d->last_error) == 0;

	if (d->state == DISCOVERY_SYNCED) {
		d->state = DISCOVERY_DEGRADED;
		LOG(LL_WARN, "discovery", "Docker unreachable or answering badly, keeping the last good model",
		    KVS("endpoint", d->host.endpoint), KVS("reason", reason));
	} else if (!repeat) {
		LOG(LL_WARN, "discovery", "Docker request failed", KVS("endpoint", d->host.endpoint),
		    KVS("state", state_names[d->state]), KVS("reason", reason));
	} else {
		LOG(LL_DEBUG, "discovery", "Docker request failed again", KVS("reason", reason));
	}
	if (!repeat || now - d->last_errlog_ms >= DISC_ERRLOG_REPEAT_MS) {
		errlog_record(ERRLOG_DOCKER, d->host.endpoint, reason);
		d->last_errlog_ms = now;
	}
	d->last_error_ms = now;
	snprintf(d->last_error, sizeof(d->last_error), "%s", reason);
}

/* Builds the model from the current state and hands it over if it differs
 * from the last one.
 */
static void disc_publish(struct discovery *d)
{
	struct model *m;
	uint64_t digest;
	int64_t now = clock_wall_ms();
	size_t ntasks = 0;

	d->changed = 0;
	if (d->mode == MODE_SWARM)
		m = swarm_model(d->swarm);
	else if (d->mode == MODE_CONTAINERS)
		m = containers_model(d->ctrs);
	else
		return;
	if (!m) {
		LOG(LL_ERROR, "discovery", "out of memory building the service model, keeping the last one");
		d->changed = 1;
		return;
	}
	digest = model_digest(m);
	if (d->have_model && digest == d->model_digest) {
		model_free(m);
		return;
	}
	convergence_model(d->conv, m, now);
	for (size_t i = 0; i < m->nsvcs; i++)
		ntasks += m->svcs[i].ntasks;
	d->have_model = 1;
	d->model_digest = digest;
	d->models++;
	d->last_change_ms = now;
	d->nsvcs = m->nsvcs;
	d->ntasks = ntasks;
	LOG(LL_DEBUG, "discovery", "model handed over", KVS("source", m->source),
	    KVI("services", m->nsvcs), KVI("tasks", ntasks));
	d->on_model(d->arg, m);
}

/* Settles the mode at the first sync. In auto mode it then sticks: a node
 * that stops answering as a swarm manager is most often a daemon shutting
 * down or restarting, and switching to containers mode would drop every
 * swarm route. The change is reported instead; the swarm requests then
 * fail and the last good table stays.
 */
static int disc_set_mode(struct discovery *d, enum disc_mode mode)
{
	if (d->mode != MODE_NONE) {
		if (mode != d->mode && !d->warned_mode) {
			LOG(LL_WARN, "discovery", "the node's swarm role changed since start, keeping the mode: "
			    "restart the agent (or set --docker-mode) to switch",
			    KVS("mode", mode_name(d->mode)), KVS("node_now", mode_name(mode)));
			d->warned_mode = 1;
		} else if (mode == d->mode) {
			d->warned_mode = 0;
		}
		return 0;
	}
	LOG(LL_INFO, "discovery", "Docker mode", KVS("mode", mode_name(mode)),
	    KVS("endpoint", d->host.endpoint));
	if (mode == MODE_SWARM)
		d->swarm = swarm_new();
	else
		d->ctrs = containers_new();
	if (!d->swarm && !d->ctrs)
		return -1;
	if (d->ctrs)
		containers_set_host(d->ctrs, d->host_name);
	d->mode = mode;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Requests                                                                  */
/* ------------------------------------------------------------------------ */

static void disc_req_free(struct disc_req *q)
{
	for (size_t i = 0; i < q->nids; i++)
		free(q->ids[i]);
	free(q->ids);
	free(q->service_id);
	free(q->path);
	free(q);
}

static void disc_job_fail(struct discovery *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void disc_job_fail(struct discovery *d, const char *fmt, ...)
{
	va_list ap;

	if (d->job_failed)
		return;   /* the first failure explains the job */
	d->job_failed = 1;
	va_start(ap, fmt);
	vsnprintf(d->job_err, sizeof(d->job_err), fmt, ap);
	va_end(ap);
}

static void disc_handle(struct disc_req *q, const struct dockerapi_resp *r);

static void disc_req_forget(struct discovery *d, const struct disc_req *q)
{
	for (size_t i = 0; i < d->nreqs; i++) {
		if (d->reqs[i] == q) {
			d->reqs[i] = d->reqs[--d->nreqs];
			break;
		}
	}
}

/* Counts one answer of Docker (or failure) in the histogram of its kind. */
static void disc_answer_time(struct discovery *d, enum disc_kind kind, uint64_t ns)
{
	unsigned b = 0;

	while (b < DISCOVERY_ANSWER_BUCKETS - 1 && ns > discovery_answer_bounds_ms[b] * UINT64_C(1000000))
		b++;
	d->answer_buckets[kind][b]++;
	d->answer_sum_us[kind] += ns / 1000;
}

/* The other request of a hedged poll still in flight, or NULL. */
static struct disc_req *disc_hedge_partner(const struct discovery *d)
{
	for (size_t i = 0; i < d->nreqs; i++)
		if (d->reqs[i]->kind == RK_TASKS && d->reqs[i]->hedged)
			return d->reqs[i];
	return NULL;
}

static void disc_on_resp(void *arg, const struct dockerapi_resp *r)
{
	struct disc_req *q = arg;
	struct discovery *d = q->d;
	struct disc_req *partner = NULL;
	int64_t t0 = 0;

	disc_req_forget(d, q);
	q->req = NULL;
	disc_answer_time(d, q->kind, r->duration_ns);
	if (q->hedged && (partner = disc_hedge_partner(d)) != NULL) {
		if (r->error || r->status != 200) {
			/* the other one, still in flight, answers for both */
			LOG(LL_DEBUG, "discovery", "Docker answer dropped, the same poll is in flight",
			    KVI("status", r->status), KVS("error", r->error));
			disc_req_free(q);
			return;
		}
		/* the first good answer counts: the other would be older news
		 * (when it was asked first) or the same, later */
		disc_req_forget(d, partner);
		dockerapi_cancel(partner->req);
		disc_req_free(partner);
		if (q->hedge)
			d->hedge_wins++;
	}
	if (log_enabled(LL_DEBUG))
		t0 = clock_mono_ns();
	disc_handle(q, r);
	LOG(LL_DEBUG, "discovery", "Docker answer", KVS("request", kind_names[q->kind]),
	    KVI("ids", q->filter_ids), KVI("status", r->status), KVI("bytes", r->len),
	    KVI("ms", r->duration_ns / 1000000),
	    KVI("parse_us", t0 ? (clock_mono_ns() - t0) / 1000 : 0));
	disc_req_free(q);
	if (d->nreqs == 0 && !d->waiting_events)
		disc_step_done(d);
}

/* Sends request <kind> on <path> for the current job. Takes <q> over (may
 * be NULL: a plain request). Returns 0, or -1 with the job failed.
 */
static int disc_send(struct discovery *d, enum disc_kind kind, const char *path,
		     int unversioned, unsigned timeout_ms, struct disc_req *q)
{
	struct dockerapi_call call = { 0 };
	char err[256];

	if (!q)
		q = calloc(1, sizeof(*q));
	if (!q) {
		disc_job_fail(d, "out of memory");
		return -1;
	}
	if (d->nreqs == DISC_MAX_REQS) {
		disc_req_free(q);
		disc_job_fail(d, "too many requests in one job");
		return -1;
	}
	q->d = d;
	q->kind = kind;
	call.path = path;
	call.unversioned = unversioned;
	call.timeout_ms = timeout_ms;
	call.on_done = disc_on_resp;
	call.arg = q;
	q->req = dockerapi_send(d->api, &call, err, sizeof(err));
	if (!q->req) {
		disc_req_free(q);
		disc_job_fail(d, "%s", err);
		return -1;
	}
	d->reqs[d->nreqs++] = q;
	return 0;
}

/* Whether <r> is a usable 200 answer; fails the job otherwise. */
static int disc_ok(struct discovery *d, const struct disc_req *q, const struct dockerapi_resp *r)
{
	char why[256];

	if (!r->error && r->status == 200)
		return 1;
	dockerapi_describe(r, why, sizeof(why));
	disc_job_fail(d, "GET %s: %s", kind_names[q->kind], why);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Answers                                                                   */
/* ------------------------------------------------------------------------ */

static void disc_on_version(struct discovery *d, const struct dockerapi_resp *r)
{
	char api[64], min_api[64], err[200], version[16];

	if (dockerobj_version(r->body, r->len, api, min_api, sizeof(api), err, sizeof(err)) < 0) {
		disc_job_fail(d, "GET /version: bad answer: %s", err);
		return;
	}
	if (dockerapi_negotiate(api, min_api, version, sizeof(version), err, sizeof(err)) < 0) {
		disc_job_fail(d, "%s", err);
		return;
	}
	if (strcmp(version, dockerapi_version(d->api)) != 0) {
		LOG(LL_INFO, "discovery", "Docker API version negotiated", KVS("version", version),
		    KVS("daemon", api));
		dockerapi_set_version(d->api, version);
	}
}

static void disc_on_info(struct discovery *d, const struct disc_req *q, const struct dockerapi_resp *r)
{
	struct dockerobj_info info;
	char err[200];
	enum disc_mode mode;

	if (r->error || r->status != 200) {
		/* A socket proxy may forbid /info. Forced modes do without it;
		 * auto asks the service list instead (a manager answers it). */
		if (!r->error && r->status >= 400 && r->status < 500) {
			LOG(LL_DEBUG, "discovery", "GET /info refused", KVI("status", r->status));
			if (d->want == WANT_AUTO)
				disc_send(d, RK_PROBE,
					  "/services?filters=%7B%22id%22%3A%7B%22swarm-spoa-probe%22%3Atrue%7D%7D",
					  0, DISC_SMALL_TIMEOUT_MS, NULL);
			else if (disc_set_mode(d, d->want == WANT_SWARM ? MODE_SWARM : MODE_CONTAINERS) < 0)
				disc_job_fail(d, "out of memory");
			return;
		}
		disc_ok(d, q, r);
		return;
	}
	if (dockerobj_info(r->body, r->len, &info, err, sizeof(err)) < 0) {
		disc_job_fail(d, "GET /info: bad answer: %s", err);
		return;
	}
	snprintf(d->host_name, sizeof(d->host_name), "%s", info.name);
	if (d->want == WANT_SWARM)
		mode = MODE_SWARM;
	else if (d->want == WANT_CONTAINERS)
		mode = MODE_CONTAINERS;
	else
		mode = info.swarm_active && info.swarm_manager ? MODE_SWARM : MODE_CONTAINERS;
	if (d->want == WANT_AUTO && info.swarm_active && !info.swarm_manager && d->mode == MODE_NONE)
		LOG(LL_WARN, "discovery", "this node is a swarm worker: only managers list services, "
		    "following this node's containers instead");
	if (disc_set_mode(d, mode) < 0)
		disc_job_fail(d, "out of memory");
	if (d->ctrs)
		containers_set_host(d->ctrs, d->host_name);
}

static void disc_on_probe(struct discovery *d, const struct disc_req *q, const struct dockerapi_resp *r)
{
	enum disc_mode mode;

	if (!r->error && r->status == 200)
		mode = MODE_SWARM;
	else if (!r->error && r->status == 503)
		mode = MODE_CONTAINERS;   /* "This node is not a swarm manager" */
	else {
		disc_ok(d, q, r);
		return;
	}
	if (disc_set_mode(d, mode) < 0)
		disc_job_fail(d, "out of memory");
}

static void disc_on_tasks(struct discovery *d, struct disc_req *q, const struct dockerapi_resp *r)
{
	int subset = q->nids > 0;
	uint64_t body;
	char err[256];

	if (!r->error && r->status == 404 && q->filter_ids) {
		/* a service of the filter was removed meanwhile: its event is
		 * on its way; refresh the list to be sure */
		d->dirty_all_services = 1;
		return;
	}
	if (!disc_ok(d, q, r))
		return;
	if (!q->filter_ids) {
		d->full_poll_ms[d->full_polls++ % DISC_POLL_COST_SAMPLES] =
			(unsigned)(r->duration_ns / 1000000);
	} else {
		d->sub_poll_ids[d->sub_polls % DISC_POLL_COST_SAMPLES] = (unsigned)q->filter_ids;
		d->sub_poll_ms[d->sub_polls++ % DISC_POLL_COST_SAMPLES] =
			(unsigned)(r->duration_ns / 1000000);
	}
	body = hash_bytes(0, r->body, r->len);
	if (d->cache_path[subset] == q->path_hash && d->cache_body[subset] == body) {
		/* the same answer to the same question: nothing moved, but a
		 * service an event marked as converging may be settled already */
		swarm_settle(d->swarm, (const char *const *)q->ids, q->nids, clock_mono_ms());
		return;
	}
	if (swarm_load_tasks(d->swarm, r->body, r->len, (const char *const *)q->ids, q->nids,
			     clock_mono_ms(), err, sizeof(err)) < 0) {
		d->cache_path[subset] = 0;
		disc_job_fail(d, "GET /tasks: %s", err);
		return;
	}
	d->cache_path[subset] = q->path_hash;
	d->cache_body[subset] = body;
	d->changed = 1;
}

static void disc_on_service(struct discovery *d, struct disc_req *q, const struct dockerapi_resp *r)
{
	char err[256];

	if (!r->error && r->status == 404) {
		if (swarm_remove_service(d->swarm, q->service_id)) {
			d->changed = 1;
			d->cache_path[0] = d->cache_path[1] = 0;
		}
		return;
	}
	if (!disc_ok(d, q, r))
		return;
	if (swarm_load_service(d->swarm, r->body, r->len, clock_mono_ms(), err, sizeof(err)) < 0) {
		disc_job_fail(d, "GET /services/%s: %s", q->service_id, err);
		return;
	}
	d->changed = 1;
	d->cache_path[0] = d->cache_path[1] = 0;
}

static void disc_handle(struct disc_req *q, const struct dockerapi_resp *r)
{
	struct discovery *d = q->d;
	char err[256];
	int rc = 0;

	switch (q->kind) {
	case RK_VERSION:
		if (disc_ok(d, q, r))
			disc_on_version(d, r);
		return;
	case RK_INFO:
		disc_on_info(d, q, r);
		return;
	case RK_PROBE:
		disc_on_probe(d, q, r);
		return;
	case RK_TASKS:
		disc_on_tasks(d, q, r);
		return;
	case RK_SERVICE:
		disc_on_service(d, q, r);
		return;
	default:
		break;
	}
	if (!disc_ok(d, q, r))
		return;
	switch (q->kind) {
	case RK_NETWORKS:
		rc = swarm_load_networks(d->swarm, r->body, r->len, err, sizeof(err));
		break;
	case RK_NODES:
		rc = swarm_load_nodes(d->swarm, r->body, r->len, err, sizeof(err));
		break;
	case RK_SERVICES:
		rc = swarm_load_services(d->swarm, r->body, r->len, clock_mono_ms(), err, sizeof(err));
		d->cache_path[0] = d->cache_path[1] = 0;
		break;
	case RK_CONTAINERS:
		rc = containers_load(d->ctrs, r->body, r->len, err, sizeof(err));
		break;
	default:
		return;
	}
	if (rc < 0)
		disc_job_fail(d, "GET %s: %s", kind_names[q->kind], err);
	else
		d->changed = 1;
}

/* ------------------------------------------------------------------------ */
/* Jobs                                                                      */
/* ------------------------------------------------------------------------ */

static int disc_unfiltered(const struct discovery *d, size_t nids);

/* Gives <q> copies of the service IDs <ids>. Returns 0, or -1 when out of
 * memory (<q> then holds those copied so far).
 */
static int disc_req_set_ids(struct disc_req *q, const char *const *ids, size_t nids)
{
	q->ids = calloc(nids ? nids : 1, sizeof(*q->ids));
	for (size_t i = 0; q->ids && i < nids; i++)
		if ((q->ids[q->nids] = strdup(ids[i])))
			q->nids++;
	return q->ids && q->nids == nids ? 0 : -1;
}

/* Sends GET /tasks for services <ids>, filtered by their IDs; or, with
 * <ids> NULL, for every routed service: unfiltered when <all>, else by
 * their IDs or not, whichever is expected to cost Docker less.
 */
static void disc_send_tasks(struct discovery *d, const char *const *ids, size_t nids, int all)
{
	struct disc_req *q = calloc(1, sizeof(*q));
	struct sbuf filters = SBUF_INIT, path = SBUF_INIT;
	const char *routed[DISC_FILTER_MAX_IDS];
	size_t nrouted = 0;

	if (!q) {
		disc_job_fail(d, "out of memory");
		return;
	}
	if (!ids) {
		/* all routed: by ID when few and cheaper, else everything
		 * that should run */
		nrouted = swarm_routed(d->swarm, routed, DISC_FILTER_MAX_IDS);
		if (nrouted == 0) {
			free(q);   /* no routed service, no task to know */
			return;
		}
		if (!all && nrouted <= DISC_FILTER_MAX_IDS && !disc_unfiltered(d, nrouted)) {
			ids = routed;
			nids = nrouted;
		} else {
			nids = 0;
		}
	} else if (disc_req_set_ids(q, ids, nids) < 0) {
		disc_req_free(q);
		disc_job_fail(d, "out of memory");
		return;
	}
	sbuf_puts(&filters, "{\"desired-state\":{\"running\":true}");
	q->filter_ids = nids;
	if (nids) {
		sbuf_puts(&filters, ",\"service\":{");
		for (size_t i = 0; i < nids; i++)
			sbuf_printf(&filters, "%s\"%s\":true", i ? "," : "", ids[i]);
		sbuf_putc(&filters, '}');
	}
	sbuf_putc(&filters, '}');
	sbuf_puts(&path, "/tasks?filters=");
	dockerapi_urlencode(&path, filters.buf ? filters.buf : "");
	if (filters.oom || path.oom) {
		disc_req_free(q);
		disc_job_fail(d, "out of memory");
	} else {
		q->path_hash = hash_str(1, path.buf);
		q->path = strdup(path.buf);
		if (!q->path) {
			disc_req_free(q);
			disc_job_fail(d, "out of memory");
		} else {
			disc_send(d, RK_TASKS, q->path, 0, DISC_LIST_TIMEOUT_MS, q);
		}
	}
	sbuf_free(&filters);
	sbuf_free(&path);
}

static const char *disc_events_filter(enum disc_mode mode)
{
	/* Container events of swarm tasks are the cheap, local hint that a
	 * task moved; exec_* health probes are excluded by the event list. */
	if (mode == MODE_SWARM)
		return "{\"type\":{\"service\":true,\"network\":true,\"node\":true,\"secret\":true,"
		       "\"config\":true,\"container\":true},"
		       "\"event\":{\"create\":true,\"update\":true,\"remove\":true,\"destroy\":true,"
		       "\"start\":true,\"die\":true,\"health_status\":true}}";
	return "{\"type\":{\"container\":true,\"network\":true},"
	       "\"event\":{\"start\":true,\"die\":true,\"destroy\":true,\"health_status\":true,"
	       "\"pause\":true,\"unpause\":true,\"rename\":true,\"update\":true,"
	       "\"connect\":true,\"disconnect\":true}}";
}

/* Starts sync step <d->step>. Sends nothing when the step has nothing to
 * do (the caller then moves on).
 */
static void disc_sync_step(struct discovery *d)
{
	switch (d->step) {
	case STEP_VERSION:
		disc_send(d, RK_VERSION, "/version", 1, DISC_SMALL_TIMEOUT_MS, NULL);
		break;
	case STEP_INFO:
		disc_send(d, RK_INFO, "/info", 0, DISC_SMALL_TIMEOUT_MS, NULL);
		break;
	case STEP_EVENTS:
		if (events_is_open(d->events) && d->events_mode == d->mode &&
		    strcmp(d->events_version, dockerapi_version(d->api)) == 0)
			break;
		/* (re)open now rather than after the stream's own backoff */
		if (events_start(d->events, disc_events_filter(d->mode)) < 0) {
			disc_job_fail(d, "out of memory");
			break;
		}
		d->events_mode = d->mode;
		snprintf(d->events_version, sizeof(d->events_version), "%s", dockerapi_version(d->api));
		d->waiting_events = 1;
		ev_timer_set(&d->events_wait, DISC_EVENTS_WAIT_MS / 1000.0, 0.0);
		ev_timer_start(d->loop, &d->events_wait);
		break;
	case STEP_LISTS:
		if (d->mode == MODE_CONTAINERS) {
			disc_send(d, RK_CONTAINERS, "/containers/json", 0, DISC_LIST_TIMEOUT_MS, NULL);
			break;
		}
		if (disc_send(d, RK_NETWORKS, "/networks", 0, DISC_LIST_TIMEOUT_MS, NULL) == 0 &&
		    disc_send(d, RK_NODES, "/nodes", 0, DISC_LIST_TIMEOUT_MS, NULL) == 0)
			disc_send(d, RK_SERVICES, "/services", 0, DISC_LIST_TIMEOUT_MS, NULL);
		d->dirty_networks = d->dirty_nodes = d->dirty_containers = 0;
		disc_clear_dirty_services(d);
		break;
	case STEP_TASKS:
		if (d->mode == MODE_SWARM && swarm_routed(d->swarm, NULL, 0) > 0) {
			/* unfiltered: also measures what that costs Docker,
			 * against which every poll by ID is weighed */
			d->last_poll_ms = d->last_full_poll_ms = clock_mono_ms();
			disc_send_tasks(d, NULL, 0, 1);
		}
		break;
	case STEP_END:
		break;
	}
}

static void disc_clear_dirty_services(struct discovery *d)
{
	const char *key;
	void *val;
	size_t pos = 0;

	while (strmap_next(d->dirty, &pos, &key, &val))
		free(val);
	strmap_clear(d->dirty);
	d->dirty_all_services = 0;
}

static void disc_job_start(struct discovery *d, enum disc_job job)
{
	d->job = job;
	d->job_failed = 0;
	d->job_err[0] = '\0';
	d->job_start_ns = clock_mono_ns();
	d->job_cpu_ns = thread_cpu_ns();
}

static void disc_sync_start(struct discovery *d)
{
	d->need_sync = 0;
	disc_job_start(d, JOB_SYNC);
	d->step = STEP_VERSION;
	disc_sync_step(d);
	if (d->nreqs == 0 && !d->waiting_events)
		disc_step_done(d);
}

static void disc_refresh_start(struct discovery *d)
{
	disc_job_start(d, JOB_REFRESH);
	if (d->mode == MODE_CONTAINERS) {
		d->dirty_containers = 0;
		disc_send(d, RK_CONTAINERS, "/containers/json", 0, DISC_LIST_TIMEOUT_MS, NULL);
		return;
	}
	if (d->dirty_networks) {
		d->dirty_networks = 0;
		disc_send(d, RK_NETWORKS, "/networks", 0, DISC_LIST_TIMEOUT_MS, NULL);
	}
	if (d->dirty_nodes) {
		d->dirty_nodes = 0;
		disc_send(d, RK_NODES, "/nodes", 0, DISC_LIST_TIMEOUT_MS, NULL);
	}
	/* refreshed services then converge: poll their tasks right away */
	d->poll_asap = d->dirty_all_services || strmap_count(d->dirty) > 0;
	if (d->dirty_all_services || strmap_count(d->dirty) > DISC_SINGLE_MAX) {
		d->dirty_all_services = 0;
		disc_send(d, RK_SERVICES, "/services", 0, DISC_LIST_TIMEOUT_MS, NULL);
	} else {
		const char *key;
		void *val;
		size_t pos = 0;

		while (strmap_next(d->dirty, &pos, &key, &val) && !d->job_failed) {
			struct disc_req *q = calloc(1, sizeof(*q));
			char path[200];

			if (!q || !(q->service_id = strdup(key))) {
				free(q);
				disc_job_fail(d, "out of memory");
				break;
			}
			/* IDs come from the daemon's events: keep the path clean */
			if (strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") !=
			    strlen(key) || strlen(key) > 100) {
				disc_req_free(q);
				continue;
			}
			snprintf(path, sizeof(path), "/services/%s", key);
			disc_send(d, RK_SERVICE, path, 0, DISC_SMALL_TIMEOUT_MS, q);
		}
	}
	disc_clear_dirty_services(d);
}

int discovery_poll_unfiltered(const unsigned *sub_ms, const unsigned *sub_ids, unsigned nsub,
			      const unsigned *all_ms, unsigned nall, size_t nids)
{
	if (nids > DISC_CONVERGE_MAX_IDS)
		return 1;
	if (nall == 0)
		return 1;   /* the next answer measures it */
	if (discovery_poll_period(0, 1, all_ms, nall) < DISC_FILTER_MIN_FULL_MS)
		return 1;   /* nothing to save, and a busy manager resolves IDs slowly */
	if (nsub == 0)
		return 0;   /* the next answer measures it */
	return discovery_filtered_cost(sub_ms, sub_ids, nsub, nids) >
	       discovery_poll_period(0, 1, all_ms, nall);
}

/* Whether a poll of <nids> services asks for all tasks (see
 * discovery_poll_unfiltered()).
 */
static int disc_unfiltered(const struct discovery *d, size_t nids)
{
	return discovery_poll_unfiltered(d->sub_poll_ms, d->sub_poll_ids, d->sub_polls,
					 d->full_poll_ms, d->full_polls, nids);
}

/* The effective slow interval: a big swarm's answer is polled less often,
 * so that polling never takes more than 1/DISC_SLOW_FACTOR of the time; by
 * ID or unfiltered, as disc_send_tasks() asks it. The cost is the shortest
 * of the last DISC_POLL_COST_SAMPLES answers of that kind: a big answer is
 * slow every time, whereas one answer that waited (a manager without a
 * leader holds requests until a new one is elected, tens of seconds) says
 * nothing of the cost, and stretching the period by ten times that wait
 * would leave the tasks Swarm reschedules meanwhile unseen for minutes.
 */
static int64_t disc_slow_ms(const struct discovery *d)
{
	size_t nrouted = d->mode == MODE_SWARM ? swarm_routed(d->swarm, NULL, 0) : 0;
	unsigned cost;

	if (nrouted == 0 || nrouted > DISC_FILTER_MAX_IDS || disc_unfiltered(d, nrouted))
		return discovery_poll_period(d->poll_slow_ms, DISC_SLOW_FACTOR, d->full_poll_ms, d->full_polls);
	cost = (unsigned)discovery_filtered_cost(d->sub_poll_ms, d->sub_poll_ids, d->sub_polls, nrouted);
	return discovery_poll_period(d->poll_slow_ms, DISC_SLOW_FACTOR, &cost, 1);
}

/* Whether the poll of <nconv> converging services asks for all tasks. */
static int disc_fast_full(const struct discovery *d, size_t nconv)
{
	return disc_unfiltered(d, nconv);
}

/* The effective fast interval, for a poll of all tasks when <full>, else
 * of the converging services only: Docker spends at most
 * 1/DISC_FAST_FACTOR of the time answering them. However many services
 * converge, one request per period covers them all.
 */
static int64_t disc_fast_ms(const struct discovery *d, size_t nconv)
{
	int64_t cost;

	if (disc_fast_full(d, nconv))
		return discovery_poll_period(d->poll_fast_ms, DISC_FAST_FACTOR, d->full_poll_ms, d->full_polls);
	cost = discovery_filtered_cost(d->sub_poll_ms, d->sub_poll_ids, d->sub_polls, nconv);
	return cost * DISC_FAST_FACTOR > d->poll_fast_ms ? cost * DISC_FAST_FACTOR : d->poll_fast_ms;
}

/* The least time between two polls: only what Docker's answer times ask. */
static int64_t disc_asap_gap_ms(const struct discovery *d, size_t nconv)
{
	if (disc_fast_full(d, nconv))
		return discovery_poll_period(0, DISC_FAST_FACTOR, d->full_poll_ms, d->full_polls);
	return DISC_FAST_FACTOR * discovery_filtered_cost(d->sub_poll_ms, d->sub_poll_ids, d->sub_polls, nconv);
}

int64_t discovery_filtered_cost(const unsigned *cost_ms, const unsigned *ids, unsigned n, size_t nids)
{
	int64_t best = -1, widest = 0;
	size_t most = 0;

	if (n > DISC_POLL_COST_SAMPLES)
		n = DISC_POLL_COST_SAMPLES;
	for (unsigned i = 0; i < n; i++) {
		size_t asked = ids[i] ? ids[i] : 1;
		int64_t est = (int64_t)cost_ms[i] * (int64_t)(nids > asked ? nids : asked) / (int64_t)asked;

		if (asked > most) {
			most = asked;
			widest = est;
		}
		if (asked * 2 >= nids && (best < 0 || est < best))
			best = est;
	}
	return best >= 0 ? best : widest;
}

int64_t discovery_poll_period(unsigned base_ms, unsigned factor, const unsigned *cost_ms, unsigned n)
{
	int64_t period = base_ms, cost = 0;

	if (n > DISC_POLL_COST_SAMPLES)
		n = DISC_POLL_COST_SAMPLES;
	for (unsigned i = 0; i < n; i++)
		if (i == 0 || cost_ms[i] < cost)
			cost = cost_ms[i];
	if (cost * factor > period)
		period = cost * factor;
	return period;
}

static int64_t disc_hedge_ms(const struct discovery *d, size_t filter_ids);

static void disc_poll_start(struct discovery *d, int64_t now)
{
	const char *conv[DISC_CONVERGE_MAX_IDS];
	size_t nconv;

	disc_job_start(d, JOB_POLL);
	d->poll_asap = 0;
	d->last_poll_ms = now;
	if (d->mode == MODE_CONTAINERS) {
		d->last_full_poll_ms = now;
		disc_send(d, RK_CONTAINERS, "/containers/json", 0, DISC_LIST_TIMEOUT_MS, NULL);
		return;
	}
	nconv = swarm_converging(d->swarm, now, conv, DISC_CONVERGE_MAX_IDS);
	d->job_full_poll = nconv == 0 || disc_fast_full(d, nconv) ||
			   now - d->last_full_poll_ms >= disc_slow_ms(d);
	if (d->job_full_poll) {
		d->last_full_poll_ms = now;
		disc_send_tasks(d, NULL, 0, 0);
	} else {
		disc_send_tasks(d, conv, nconv, 0);
	}
	if (nconv > 0 && d->nreqs == 1 && d->reqs[0]->kind == RK_TASKS) {
		ev_timer_set(&d->hedge, (double)disc_hedge_ms(d, d->reqs[0]->filter_ids) / 1000.0, 0.0);
		ev_timer_start(d->loop, &d->hedge);
	}
}

/* How long a poll of converging services waits for its answer before it is
 * asked again (<filter_ids> IDs, 0: unfiltered): DISC_HEDGE_FACTOR times
 * what that question cost Docker recently, and at least the fast period.
 * A busy manager answers the same question in 50 ms or in 8 s (measured
 * while it creates services); every task stored meanwhile waits for that
 * answer, then for the next poll.
 */
static int64_t disc_hedge_ms(const struct discovery *d, size_t filter_ids)
{
	int64_t cost = filter_ids ?
		discovery_filtered_cost(d->sub_poll_ms, d->sub_poll_ids, d->sub_polls, filter_ids) :
		discovery_poll_period(0, 1, d->full_poll_ms, d->full_polls);

	cost *= DISC_HEDGE_FACTOR;
	return cost > (int64_t)d->poll_fast_ms ? cost : (int64_t)d->poll_fast_ms;
}

/* The poll of converging services waited past disc_hedge_ms(): the same
 * question again, at most two in flight; the first good answer counts and
 * cancels the other (disc_on_resp()).
 */
static void disc_on_hedge(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct discovery *d = t->data;
	struct disc_req *first, *q;

	(void)loop;
	(void)revents;
	if (d->job != JOB_POLL || d->job_failed || d->nreqs != 1)
		return;
	first = d->reqs[0];
	if (first->kind != RK_TASKS || first->hedged || !first->path)
		return;
	q = calloc(1, sizeof(*q));
	if (!q || (first->ids && disc_req_set_ids(q, (const char *const *)first->ids, first->nids) < 0) ||
	    !(q->path = strdup(first->path))) {
		if (q)
			disc_req_free(q);
		return;   /* no second request; the first one is still in flight */
	}
	q->path_hash = first->path_hash;
	q->filter_ids = first->filter_ids;
	q->hedged = q->hedge = 1;
	if (disc_send(d, RK_TASKS, q->path, 0, DISC_LIST_TIMEOUT_MS, q) < 0)
		return;
	first->hedged = 1;
	d->hedged_polls++;
	LOG(LL_DEBUG, "discovery", "Docker answers slowly, poll asked again",
	    KVI("ids", first->filter_ids),
	    KVI("waited_ms", (clock_mono_ns() - d->job_start_ns) / 1000000));
}

/* Rolls the request-rate window over every DISC_RATE_WINDOW_MS. */
static void disc_rate_mark(struct discovery *d, int64_t now)
{
	struct dockerapi_stats as;

	if (d->rate_mark_ms[1] && now - d->rate_mark_ms[1] < DISC_RATE_WINDOW_MS)
		return;
	dockerapi_stats(d->api, &as);
	d->rate_mark_ms[0] = d->rate_mark_ms[1];
	d->rate_mark_n[0] = d->rate_mark_n[1];
	d->rate_mark_ms[1] = now;
	d->rate_mark_n[1] = as.requests;
}

static void disc_job_end(struct discovery *d)
{
	enum disc_job job = d->job;
	int64_t now = clock_mono_ms();

	d->job = JOB_NONE;
	ev_timer_stop(d->loop, &d->events_wait);
	ev_timer_stop(d->loop, &d->hedge);
	d->waiting_events = 0;
	disc_rate_mark(d, now);
	if (d->job_failed) {
		disc_degrade(d, d->job_err);
		d->need_sync = 1;
		d->sync_not_before = now + d->backoff_ms;
		d->backoff_ms = d->backoff_ms * 2 > DISC_BACKOFF_MAX_MS ? DISC_BACKOFF_MAX_MS : d->backoff_ms * 2;
		disc_schedule(d);
		return;
	}
	if (job == JOB_SYNC) {
		enum discovery_state was = d->state;
		struct swarm_counts sc = { 0 };

		d->state = DISCOVERY_SYNCED;
		d->backoff_ms = DISC_BACKOFF_MIN_MS;
		d->syncs++;
		d->last_sync_ms = clock_wall_ms();
		d->last_sync_mono_ms = now;
		if (d->changed)
			disc_publish(d);
		d->last_sync_ns = (uint64_t)(clock_mono_ns() - d->job_start_ns);
		d->last_sync_cpu_ns = (uint64_t)(thread_cpu_ns() - d->job_cpu_ns);
		if (d->swarm)
			swarm_counts(d->swarm, &sc);
		LOG(was == DISCOVERY_SYNCED ? LL_DEBUG : LL_INFO, "discovery",
		    was == DISCOVERY_DEGRADED ? "Docker back, full sync done" : "full sync done",
		    KVS("mode", mode_name(d->mode)), KVS("api", dockerapi_version(d->api)),
		    KVI("services", d->swarm ? sc.services : containers_count(d->ctrs)),
		    KVI("routed", sc.routed), KVI("tasks", d->swarm ? sc.tasks : containers_count(d->ctrs)),
		    KVI("duration_ms", d->last_sync_ns / 1000000), KVI("cpu_ms", d->last_sync_cpu_ns / 1000000),
		    KVI("events", events_is_open(d->events)));
		if (!events_is_open(d->events) && !d->warned_no_events) {
			LOG(LL_WARN, "discovery", "no event stream: following changes by polling only");
			d->warned_no_events = 1;
		} else if (events_is_open(d->events)) {
			d->warned_no_events = 0;
		}
	} else if (d->changed) {
		disc_publish(d);
	}
	disc_schedule(d);
}

/* Moves the job on once its requests are answered. */
static void disc_step_done(struct discovery *d)
{
	if (d->job_failed || d->job != JOB_SYNC) {
		disc_job_end(d);
		return;
	}
	while (d->nreqs == 0 && !d->waiting_events && !d->job_failed) {
		if (d->step == STEP_END) {
			disc_job_end(d);
			return;
		}
		d->step++;
		disc_sync_step(d);
	}
	if (d->job_failed && d->nreqs == 0 && !d->waiting_events)
		disc_job_end(d);
}

/* ------------------------------------------------------------------------ */
/* Scheduling                                                                */
/* ------------------------------------------------------------------------ */

static int disc_dirty(const struct discovery *d)
{
	return d->dirty_all_services || d->dirty_networks || d->dirty_nodes || d->dirty_containers ||
	       strmap_count(d->dirty) > 0;
}

/* When the next task poll is due (monotonic ms), or -1 for none. Without
 * an event stream, each slow poll also looks at the services.
 */
static int64_t disc_next_poll(struct discovery *d, int64_t now)
{
	int64_t slow = disc_slow_ms(d), at, stuck;
	size_t nconv;

	if (d->mode == MODE_CONTAINERS)
		return d->last_poll_ms + slow;
	if (d->mode != MODE_SWARM)
		return -1;
	if (d->poll_asap) {
		/* now, unless Docker answers slowly: a burst of events must
		 * not take it past the load bound of the fast period */
		nconv = swarm_converging(d->swarm, now, NULL, 0);
		at = d->last_poll_ms + disc_asap_gap_ms(d, nconv);
		return at > now ? at : now;
	}
	if (!events_is_open(d->events))
		return d->last_poll_ms + slow;
	if (swarm_routed(d->swarm, NULL, 0) == 0)
		return -1;
	nconv = swarm_converging(d->swarm, now, NULL, 0);
	if (nconv > 0) {
		at = d->last_poll_ms + disc_fast_ms(d, nconv);
		if (d->last_poll_ms < d->follow_until_ms) {
			/* after a container event, as Docker's answer times allow */
			int64_t gap = disc_asap_gap_ms(d, nconv);
			int64_t follow = d->last_poll_ms + (gap > DISC_FOLLOW_MS ? gap : DISC_FOLLOW_MS);

			if (follow < at)
				at = follow;
		}
		return at;
	}
	at = d->last_full_poll_ms + slow;
	stuck = swarm_stuck_due(d->swarm, now);
	return stuck >= 0 && stuck < at ? stuck : at;
}

static void disc_arm(struct discovery *d, int64_t at, int64_t now)
{
	double delay = at > now ? (double)(at - now) / 1000.0 : 0.0;

	ev_timer_stop(d->loop, &d->work);
	ev_timer_set(&d->work, delay, 0.0);
	ev_timer_start(d->loop, &d->work);
}

static void disc_schedule(struct discovery *d)
{
	int64_t now = clock_mono_ms(), at, poll;
	int64_t resync_every = events_is_open(d->events) ? DISC_RESYNC_MS : DISC_RESYNC_NOEVENTS_MS;

	if (d->job != JOB_NONE)
		return;   /* the job's end schedules again */
	if (d->need_sync) {
		disc_arm(d, d->sync_not_before, now);
		return;
	}
	if (d->changed || disc_dirty(d)) {
		disc_arm(d, now + (d->changed && !disc_dirty(d) ? 0 : DISC_DEBOUNCE_MS), now);
		return;
	}
	at = d->last_sync_mono_ms + resync_every;
	poll = disc_next_poll(d, now);
	if (poll >= 0 && poll < at)
		at = poll;
	disc_arm(d, at, now);
}

static void disc_on_work(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct discovery *d = t->data;
	int64_t now = clock_mono_ms(), poll;

	(void)loop;
	(void)revents;
	if (d->job != JOB_NONE)
		return;
	if (d->need_sync) {
		if (now < d->sync_not_before) {
			disc_schedule(d);
			return;
		}
		disc_sync_start(d);
		return;
	}
	if (d->changed && !disc_dirty(d))
		disc_publish(d);
	if (now - d->last_sync_mono_ms >= (events_is_open(d->events) ? DISC_RESYNC_MS : DISC_RESYNC_NOEVENTS_MS)) {
		disc_sync_start(d);
		return;
	}
	if (disc_dirty(d)) {
		disc_refresh_start(d);
		if (d->nreqs == 0)
			disc_job_end(d);
		return;
	}
	poll = disc_next_poll(d, now);
	if (poll >= 0 && poll <= now) {
		if (d->mode == MODE_SWARM && !events_is_open(d->events) && !d->poll_asap) {
			d->dirty_all_services = 1;   /* no events: look at services too */
			d->last_poll_ms = now;
		}
		if (d->dirty_all_services) {
			disc_refresh_start(d);
		} else {
			disc_poll_start(d, now);
		}
		if (d->nreqs == 0)
			disc_job_end(d);
		return;
	}
	disc_schedule(d);
}

/* ------------------------------------------------------------------------ */
/* Events                                                                    */
/* ------------------------------------------------------------------------ */

static void disc_events_advance(struct discovery *d)
{
	if (!d->waiting_events)
		return;
	d->waiting_events = 0;
	ev_timer_stop(d->loop, &d->events_wait);
	if (d->nreqs == 0)
		disc_step_done(d);
}

static void disc_on_events_wait(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct discovery *d = t->data;

	(void)loop;
	(void)revents;
	LOG(LL_WARN, "discovery", "the event stream did not open in time, going on without it");
	disc_events_advance(d);
}

static void disc_on_open(void *arg)
{
	struct discovery *d = arg;

	if (d->waiting_events) {
		disc_events_advance(d);
		return;
	}
	/* a reconnection: events may have been missed meanwhile */
	d->need_sync = 1;
	d->sync_not_before = 0;
	disc_schedule(d);
}

static void disc_on_lost(void *arg, long status, const char *reason, unsigned retry_ms)
{
	struct discovery *d = arg;
	char msg[sizeof(d->last_error)];

	snprintf(msg, sizeof(msg), "event stream lost: %.200s", reason);
	if (status >= 400 && status < 500) {
		/* refused for good (a proxy that forbids /events): polling only */
		LOG(LL_WARN, "discovery", "event stream refused, following changes by polling",
		    KVS("reason", reason), KVI("retry_ms", retry_ms));
		snprintf(d->last_error, sizeof(d->last_error), "%s", msg);
		d->last_error_ms = clock_wall_ms();
	} else {
		LOG(LL_WARN, "discovery", "event stream lost", KVS("reason", reason),
		    KVI("retry_ms", retry_ms));
		if (!d->waiting_events)
			disc_degrade(d, msg);
	}
	if (d->waiting_events)
		disc_events_advance(d);
	else
		disc_schedule(d);
}

static void disc_mark_service(struct discovery *d, const char *id)
{
	char *copy;

	if (!id[0] || strmap_get(d->dirty, id))
		return;
	copy = strdup(id);
	if (!copy || strmap_put(d->dirty, copy, copy) < 0) {
		free(copy);
		d->dirty_all_services = 1;
	}
}

static void disc_on_event(void *arg, const struct docker_event *ev)
{
	struct discovery *d = arg;
	int64_t now = clock_mono_ms();

	d->events_seen++;
	LOG(LL_DEBUG, "discovery", "event", KVS("type", ev->type), KVS("action", ev->action),
	    KVS("id", ev->id), KVS("name", ev->name));
	if (d->mode == MODE_SWARM) {
		if (strcmp(ev->type, "service") == 0) {
			if (strcmp(ev->action, "remove") == 0) {
				if (swarm_remove_service(d->swarm, ev->id)) {
					d->changed = 1;
					d->cache_path[0] = d->cache_path[1] = 0;
				}
				/* an answer in flight may still list it: check after */
				if (d->job != JOB_NONE)
					disc_mark_service(d, ev->id);
			} else {
				disc_mark_service(d, ev->id);
				swarm_converge(d->swarm, ev->id, now, SWARM_CONVERGE_MS);
			}
		} else if (strcmp(ev->type, "network") == 0) {
			d->dirty_networks = 1;
		} else if (strcmp(ev->type, "node") == 0) {
			/* tasks move when nodes come and go; most node updates
			 * are heartbeats of its description: a hint, not more */
			d->dirty_nodes = 1;
			swarm_converge_hint_all(d->swarm, now);
		} else if (strcmp(ev->type, "container") == 0 && ev->service_id[0]) {
			if (swarm_converge_hint(d->swarm, ev->service_id, now)) {
				d->poll_asap = 1;
				d->follow_until_ms = now + DISC_FOLLOW_WINDOW_MS;
			}
		}
	} else if (d->mode == MODE_CONTAINERS) {
		if (strcmp(ev->type, "container") == 0) {
			containers_note_event(d->ctrs, ev->id, ev->action,
					      ev->time_ns > 0 ? ev->time_ns / 1000000 : clock_wall_ms());
			d->dirty_containers = 1;
		} else if (strcmp(ev->type, "network") == 0) {
			d->dirty_containers = 1;
		}
	}
	disc_schedule(d);
}

/* ------------------------------------------------------------------------ */
/* Public API                                                                */
/* ------------------------------------------------------------------------ */

struct discovery *discovery_new(struct ev_loop *loop, const struct discovery_opts *o,
				void (*on_model)(void *arg, struct model *m), void *arg,
				char *err, size_t errlen)
{
	static const struct events_handlers handlers = {
		.on_open = disc_on_open,
		.on_event = disc_on_event,
		.on_lost = disc_on_lost,
	};
	struct dockerhost_env env;
	struct discovery *d;

	d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!o->mode || !*o->mode || strcmp(o->mode, "auto") == 0) {
		d->want = WANT_AUTO;
	} else if (strcmp(o->mode, "swarm") == 0) {
		d->want = WANT_SWARM;
	} else if (strcmp(o->mode, "containers") == 0) {
		d->want = WANT_CONTAINERS;
	} else {
		snprintf(err, errlen, "invalid Docker mode '%s' (auto, swarm or containers)", o->mode);
		goto out_free;
	}
	dockerhost_env_get(&env);
	if (dockerhost_parse(&d->host, o->url, &env, err, errlen) < 0)
		goto out_free;
	d->poll_fast_ms = o->poll_fast_ms ? o->poll_fast_ms : DISC_POLL_FAST_DEFAULT;
	d->poll_slow_ms = o->poll_slow_ms ? o->poll_slow_ms : DISC_POLL_SLOW_DEFAULT;
	if (d->poll_fast_ms > d->poll_slow_ms)
		d->poll_fast_ms = d->poll_slow_ms;
	d->loop = loop;
	d->on_model = on_model;
	d->arg = arg;
	d->backoff_ms = DISC_BACKOFF_MIN_MS;
	d->state = DISCOVERY_CONNECTING;
	d->dirty = strmap_new();
	d->conv = convergence_new();
	if (!d->dirty || !d->conv) {
		snprintf(err, errlen, "out of memory");
		goto out_free_dirty;
	}
	d->api = dockerapi_new(loop, &d->host, err, errlen);
	if (!d->api)
		goto out_free_dirty;
	d->events = events_new(loop, d->api, &handlers, d);
	if (!d->events) {
		snprintf(err, errlen, "out of memory");
		goto out_free_api;
	}
	ev_timer_init(&d->work, disc_on_work, 0.0, 0.0);
	d->work.data = d;
	ev_timer_init(&d->events_wait, disc_on_events_wait, 0.0, 0.0);
	d->events_wait.data = d;
	ev_timer_init(&d->hedge, disc_on_hedge, 0.0, 0.0);
	d->hedge.data = d;
	if (d->host.tls && !d->host.tls_verify)
		LOG(LL_WARN, "discovery", "TLS to the Docker daemon without verifying its certificate, "
		    "as SWARM_SPOA_DOCKER_TLS_INSECURE asks: anyone on the path can pose as the daemon",
		    KVS("endpoint", d->host.endpoint));
	LOG(LL_INFO, "discovery", "starting", KVS("endpoint", d->host.endpoint),
	    KVS("mode", o->mode ? o->mode : "auto"), KVI("poll_fast_ms", d->poll_fast_ms),
	    KVI("poll_slow_ms", d->poll_slow_ms));
	d->need_sync = 1;
	disc_schedule(d);
	return d;

out_free_api:
	dockerapi_free(d->api);
out_free_dirty:
	strmap_free(d->dirty);
	convergence_free(d->conv);
out_free:
	free(d);
	return NULL;
}

void discovery_resync(struct discovery *d)
{
	LOG(LL_INFO, "discovery", "full resync requested");
	d->need_sync = 1;
	d->sync_not_before = 0;
	disc_schedule(d);
}

void discovery_status(const struct discovery *d, struct discovery_status *st)
{
	struct dockerapi_stats as;
	struct convergence_stats cs;
	struct swarm_counts sc = { 0 };

	memset(st, 0, sizeof(*st));
	dockerapi_stats(d->api, &as);
	st->state = d->state;
	st->state_name = state_names[d->state];
	st->endpoint = d->host.endpoint;
	st->mode = mode_name(d->mode);
	snprintf(st->api_version, sizeof(st->api_version), "%s", dockerapi_version(d->api));
	st->last_sync_ms = d->last_sync_ms;
	st->last_change_ms = d->last_change_ms;
	st->last_error_ms = d->last_error_ms;
	snprintf(st->last_error, sizeof(st->last_error), "%s", d->last_error);
	st->requests = as.requests;
	st->request_failures = as.failures;
	st->events = d->events_seen;
	st->hedged_polls = d->hedged_polls;
	st->hedge_wins = d->hedge_wins;
	for (unsigned k = 0; k < DISCOVERY_REQUEST_KINDS; k++) {
		struct discovery_answers *a = &st->answers[k];

		a->request = kind_names[k];
		memcpy(a->buckets, d->answer_buckets[k], sizeof(a->buckets));
		for (unsigned b = 0; b < DISCOVERY_ANSWER_BUCKETS; b++)
			a->count += a->buckets[b];
		a->sum_us = d->answer_sum_us[k];
	}
	st->syncs = d->syncs;
	st->reconnects = events_reconnects(d->events);
	st->models = d->models;
	st->last_sync_ns = d->last_sync_ns;
	st->last_sync_cpu_ns = d->last_sync_cpu_ns;
	convergence_stats(d->conv, &cs);
	st->convergence_last_ms = cs.last_ms;
	st->convergence_max_ms = cs.max_ms;
	st->convergence_p50_ms = cs.p50_ms;
	st->convergence_p99_ms = cs.p99_ms;
	st->convergence_samples = cs.samples;
	st->services = d->nsvcs;
	st->tasks = d->ntasks;
	st->events_connected = events_is_open(d->events);
	{
		int64_t now = clock_mono_ms();
		int i = d->rate_mark_ms[0] ? 0 : 1;

		if (d->rate_mark_ms[i] && now > d->rate_mark_ms[i])
			st->requests_per_s = (double)(as.requests - d->rate_mark_n[i]) * 1000.0 /
					     (double)(now - d->rate_mark_ms[i]);
		st->poll_period_ms = (uint64_t)disc_slow_ms(d);
		st->full_poll_ms = (uint64_t)discovery_poll_period(0, 1, d->full_poll_ms, d->full_polls);
		if (d->sub_polls) {
			st->filtered_poll_ms = d->sub_poll_ms[(d->sub_polls - 1) % DISC_POLL_COST_SAMPLES];
			st->filtered_poll_ids = d->sub_poll_ids[(d->sub_polls - 1) % DISC_POLL_COST_SAMPLES];
		}
		if (d->swarm) {
			struct swarm_converge_counts cc;

			swarm_converge_counts(d->swarm, now, &cc);
			st->converging_services = cc.fast;
			st->stuck_services = cc.stuck;
			if (cc.fast)
				st->poll_period_ms = (uint64_t)disc_fast_ms(d, cc.fast);
		}
	}
	if (d->swarm) {
		swarm_counts(d->swarm, &sc);
		st->routed_services = sc.routed;
		st->skipped_entries = sc.skipped;
	} else if (d->ctrs) {
		st->skipped_entries = containers_skipped(d->ctrs);
	}
}

void discovery_free(struct discovery *d)
{
	const char *key;
	void *val;
	size_t pos = 0;

	if (!d)
		return;
	ev_timer_stop(d->loop, &d->work);
	ev_timer_stop(d->loop, &d->events_wait);
	ev_timer_stop(d->loop, &d->hedge);
	events_free(d->events);
	for (size_t i = 0; i < d->nreqs; i++) {
		dockerapi_cancel(d->reqs[i]->req);
		disc_req_free(d->reqs[i]);
	}
	dockerapi_free(d->api);
	swarm_free(d->swarm);
	containers_free(d->ctrs);
	while (strmap_next(d->dirty, &pos, &key, &val))
		free(val);
	strmap_free(d->dirty);
	convergence_free(d->conv);
	free(d);
}
