/* Metrics collection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/errlog.h"
#include "common/sbuf.h"
#include "discovery/discovery.h"
#include "routing/rtable.h"
#include "spoa/agent.h"
#include "spoa/spop.h"
#include "spoa/tables.h"
#include "spoa/worker.h"
#include "stats/counters.h"
#include "stats/metrics.h"
#include "stats/prom.h"
#include "stats/threadload.h"

#define NS_PER_S 1e9

static void metrics_gauge(struct sbuf *out, const char *name, const char *help, double v)
{
	prom_family(out, name, PROM_GAUGE, help);
	prom_sample_f64(out, name, NULL, NULL, 0, v);
}

static void metrics_counter(struct sbuf *out, const char *name, const char *help, uint64_t v)
{
	prom_family(out, name, PROM_COUNTER, help);
	prom_sample_u64(out, name, NULL, NULL, 0, v);
}

/************************************************************************/
/*                                 process                              */
/************************************************************************/

static void metrics_process(struct sbuf *out)
{
	struct agent_info ai;
	struct prom_label version;

	agent_info(&ai);
	version = (struct prom_label){ "version", ai.version };
	prom_family(out, "swarm_spoa_build_info", PROM_GAUGE,
		    "Always 1; the label says which swarm-spoa version runs.");
	prom_sample_u64(out, "swarm_spoa_build_info", NULL, &version, 1, 1);
	metrics_gauge(out, "swarm_spoa_start_time_seconds",
		      "When the agent started, in seconds since the epoch.",
		      (double)ai.started_ms / 1000.0);
	metrics_gauge(out, "swarm_spoa_worker_threads", "Worker threads answering HAProxy.",
		      (double)ai.threads);
}

/************************************************************************/
/*                                   SPOP                               */
/************************************************************************/

static void metrics_spop(struct sbuf *out)
{
	uint64_t disc[SPOP_ERR_SLOTS], hist[COUNTERS_LAT_BUCKETS], cumul = 0;
	const char *hname = "swarm_spoa_notify_duration_seconds";
	unsigned nw = worker_count();

	for (size_t f = 0; f < counters_nfields; f++) {
		const struct counters_field *cf = &counters_fields[f];

		prom_family(out, cf->metric, cf->type, cf->help);
		prom_sample_u64(out, cf->metric, NULL, NULL, 0, counters_total(cf));
	}

	counters_disconnects(disc);
	metrics_counter(out, "swarm_spoa_spop_normal_disconnects_total",
			"AGENT-DISCONNECT frames sent with status 0 (normal close).", disc[0]);
	prom_family(out, "swarm_spoa_spop_errors_total", PROM_COUNTER,
		    "AGENT-DISCONNECT frames sent for a protocol error, by SPOP status code.");
	for (unsigned s = 1; s < SPOP_ERR_SLOTS; s++) {
		int st = counters_slot_status(s);
		char code[16];
		struct prom_label l[2];

		if (st > SPOP_ERR_RES && !disc[s])
			continue;
		if (st < 0)
			strcpy(code, "other");
		else
			snprintf(code, sizeof(code), "%d", st);
		l[0] = (struct prom_label){ "status", code };
		l[1] = (struct prom_label){ "reason", st < 0 ? "other status" :
					    spop_status_str((enum spop_status)st) };
		prom_sample_u64(out, "swarm_spoa_spop_errors_total", NULL, l, 2, disc[s]);
	}

	prom_family(out, "swarm_spoa_thread_busy_seconds_total", PROM_COUNTER,
		    "Time each worker thread spent outside its poller (rate() is its load).");
	for (unsigned i = 0; i < nw; i++) {
		const struct worker_stats *ws = &worker_get(i)->stats;
		char idx[16];
		struct prom_label l = { "thread", idx };

		snprintf(idx, sizeof(idx), "%u", i);
		prom_sample_f64(out, "swarm_spoa_thread_busy_seconds_total", NULL, &l, 1,
				(double)atomic_load_explicit(&ws->busy_ns, memory_order_relaxed) /
				NS_PER_S);
	}
	prom_family(out, "swarm_spoa_thread_load_ratio", PROM_GAUGE,
		    "Share of the last second each worker thread spent outside its poller.");
	for (unsigned i = 0; i < nw; i++) {
		double recent = threadload_recent(i);
		char idx[16];
		struct prom_label l = { "thread", idx };

		if (recent < 0)
			continue;
		snprintf(idx, sizeof(idx), "%u", i);
		prom_sample_f64(out, "swarm_spoa_thread_load_ratio", NULL, &l, 1, recent / 100.0);
	}

	/* Workers time each batch of NOTIFY frames and count every frame of
	 * it with the batch's average; the sum is the batches' total. */
	counters_latency(hist);
	prom_family(out, hname, PROM_HISTOGRAM,
		    "Agent time to answer one NOTIFY frame (average over its read batch).");
	for (unsigned b = 0; b < COUNTERS_LAT_BUCKETS; b++) {
		uint64_t le_ns = counters_latency_bound(b);
		char le[PROM_F64_LEN];
		struct prom_label l = { "le", le };

		cumul += hist[b];
		if (!le_ns)
			break;
		prom_f64((double)le_ns / NS_PER_S, le);
		prom_sample_u64(out, hname, "_bucket", &l, 1, cumul);
	}
	{
		struct prom_label inf = { "le", "+Inf" };

		prom_sample_u64(out, hname, "_bucket", &inf, 1, cumul);
		prom_sample_f64(out, hname, "_sum", NULL, 0,
				(double)counters_latency_sum_ns() / NS_PER_S);
		prom_sample_u64(out, hname, "_count", NULL, 0, cumul);
	}
}

/************************************************************************/
/*                                requests                              */
/************************************************************************/

struct svc_count {
	const char *name;
	struct rtable_counters c;
};

struct svc_counts {
	struct svc_count *v;
	size_t n, cap;
	uint64_t not_found;
	int oom;
};

static void metrics_collect(void *arg, const char *service, const struct rtable_counters *c)
{
	struct svc_counts *sc = arg;

	if (!service) {
		sc->not_found = c->not_found;
		return;
	}
	if (sc->n == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 64;
		struct svc_count *v = realloc(sc->v, cap * sizeof(*v));

		if (!v) {
			sc->oom = 1;
			return;
		}
		sc->v = v;
		sc->cap = cap;
	}
	sc->v[sc->n].name = service;
	sc->v[sc->n].c = *c;
	sc->n++;
}

static int metrics_by_name(const void *a, const void *b)
{
	return strcmp(((const struct svc_count *)a)->name, ((const struct svc_count *)b)->name);
}

static void metrics_requests(struct sbuf *out)
{
	static const char *const outcomes[] = { "forwarded", "redirected", "no_task" };
	struct svc_counts sc = { 0 };
	const char *name = "swarm_spoa_requests_total";

	/* Names point into the current table or the lifetime totals, both
	 * stable until the loop runs again. */
	tables_counters(metrics_collect, &sc);
	if (sc.n)
		qsort(sc.v, sc.n, sizeof(*sc.v), metrics_by_name);
	prom_family(out, name, PROM_COUNTER,
		    "Requests routed, by service and outcome (forwarded, redirected, no_task: "
		    "a route but no task to serve).");
	for (size_t i = 0; i < sc.n; i++) {
		struct rtable_counters c = sc.v[i].c;
		uint64_t v[3];

		/* Two services of one name (from two providers) make one series. */
		while (i + 1 < sc.n && strcmp(sc.v[i + 1].name, sc.v[i].name) == 0) {
			i++;
			c.forwarded += sc.v[i].c.forwarded;
			c.redirected += sc.v[i].c.redirected;
			c.no_task += sc.v[i].c.no_task;
		}
		v[0] = c.forwarded;
		v[1] = c.redirected;
		v[2] = c.no_task;
		for (int o = 0; o < 3; o++) {
			struct prom_label l[2] = {
				{ "service", sc.v[i].name }, { "outcome", outcomes[o] },
			};

			prom_sample_u64(out, name, NULL, l, 2, v[o]);
		}
	}
	metrics_counter(out, "swarm_spoa_requests_not_found_total",
			"Requests that matched no route (answered 404).", sc.not_found);
	free(sc.v);
}

/************************************************************************/
/*                              routing table                           */
/************************************************************************/

static void metrics_table(struct sbuf *out, int64_t now)
{
	const struct rtable *t = tables_current();
	struct tables_status ts;
	struct rtable_info info;

	tables_status(&ts);
	memset(&info, 0, sizeof(info));
	if (t)
		rtable_info(t, &info);

	prom_family(out, "swarm_spoa_table_services", PROM_GAUGE,
		    "Services in the current table, by status (routed; skipped for bad labels; "
		    "unrouted: no com.docker.lb.hosts label).");
	{
		struct prom_label l = { "status", "routed" };
		size_t unrouted = info.services - info.routed - info.skipped;

		prom_sample_u64(out, "swarm_spoa_table_services", NULL, &l, 1, info.routed);
		l.value = "skipped";
		prom_sample_u64(out, "swarm_spoa_table_services", NULL, &l, 1, info.skipped);
		l.value = "unrouted";
		prom_sample_u64(out, "swarm_spoa_table_services", NULL, &l, 1,
				info.services >= info.routed + info.skipped ? unrouted : 0);
	}
	metrics_gauge(out, "swarm_spoa_table_hosts", "Host names in the current table.",
		      (double)info.hosts);
	metrics_gauge(out, "swarm_spoa_table_routes", "Host and path routes in the current table.",
		      (double)info.routes);
	metrics_gauge(out, "swarm_spoa_table_tasks", "Tasks that can serve in the current table.",
		      (double)info.tasks);
	metrics_gauge(out, "swarm_spoa_table_memory_bytes", "Memory held by the current table.",
		      (double)info.memory);
	metrics_gauge(out, "swarm_spoa_table_generation",
		      "Routing tables published since start (the current table's number).",
		      (double)ts.generation);
	metrics_gauge(out, "swarm_spoa_table_published_timestamp_seconds",
		      "When the current table was published, in seconds since the epoch.",
		      (double)ts.published_ms / 1000.0);
	metrics_gauge(out, "swarm_spoa_table_age_seconds", "Age of the current table.",
		      ts.published_ms > 0 && now > ts.published_ms ?
		      (double)(now - ts.published_ms) / 1000.0 : 0.0);
	metrics_gauge(out, "swarm_spoa_table_build_duration_seconds",
		      "How long building the current table took.", (double)ts.build_ns / NS_PER_S);
	metrics_counter(out, "swarm_spoa_table_build_failures_total",
			"Tables that could not be built (the previous one stayed).",
			ts.build_failures);
	metrics_gauge(out, "swarm_spoa_table_retired_waiting",
		      "Replaced tables a worker or a stats listing may still read, not yet freed.",
		      (double)ts.retired_waiting);
}

/************************************************************************/
/*                                discovery                             */
/************************************************************************/

static void metrics_discovery(struct sbuf *out)
{
	static const struct {
		enum discovery_state st;
		const char *name;
	} states[] = {
		{ DISCOVERY_CONNECTING, "connecting" },
		{ DISCOVERY_SYNCED, "synced" },
		{ DISCOVERY_DEGRADED, "degraded" },
	};
	struct discovery *d = agent_discovery();
	struct discovery_status ds;

	metrics_gauge(out, "swarm_spoa_discovery_enabled",
		      "1 when the agent follows a Docker daemon (--docker), else 0.", d ? 1 : 0);
	if (!d)
		return;
	discovery_status(d, &ds);
	prom_family(out, "swarm_spoa_discovery_state", PROM_GAUGE,
		    "1 for the state discovery is in: connecting (no sync yet), synced, degraded "
		    "(Docker unreachable or failing: the last good table is kept).");
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		struct prom_label l = { "state", states[i].name };

		prom_sample_u64(out, "swarm_spoa_discovery_state", NULL, &l, 1, ds.state == states[i].st);
	}
	metrics_gauge(out, "swarm_spoa_docker_sync_duration_seconds",
		      "Wall time of the last full Docker sync.", (double)ds.last_sync_ns / NS_PER_S);
	metrics_gauge(out, "swarm_spoa_docker_sync_cpu_seconds",
		      "Agent CPU time spent on the last full Docker sync.",
		      (double)ds.last_sync_cpu_ns / NS_PER_S);
	metrics_gauge(out, "swarm_spoa_docker_last_sync_timestamp_seconds",
		      "When the last full Docker sync succeeded, in seconds since the epoch (0: never).",
		      (double)ds.last_sync_ms / 1000.0);
	metrics_counter(out, "swarm_spoa_docker_syncs_total", "Full Docker syncs.", ds.syncs);
	metrics_counter(out, "swarm_spoa_docker_requests_total", "Docker Engine API requests.",
			ds.requests);
	metrics_counter(out, "swarm_spoa_docker_request_failures_total",
			"Docker Engine API requests that failed (transport, HTTP status or bad body).",
			ds.request_failures);
	metrics_counter(out, "swarm_spoa_docker_events_total", "Docker events received.", ds.events);
	metrics_counter(out, "swarm_spoa_docker_reconnects_total",
			"Reconnections of the Docker event stream.", ds.reconnects);
	metrics_counter(out, "swarm_spoa_docker_models_total",
			"Changed service models handed to the routing table.", ds.models);
	metrics_counter(out, "swarm_spoa_docker_skipped_entries_total",
			"Malformed entries in Docker's answers, skipped (the others were kept).",
			ds.skipped_entries);
	metrics_gauge(out, "swarm_spoa_docker_events_connected",
		      "1 while the Docker event stream is open.", ds.events_connected ? 1 : 0);
	metrics_gauge(out, "swarm_spoa_docker_services", "Services in the last Docker model.",
		      (double)ds.services);
	metrics_gauge(out, "swarm_spoa_docker_routed_services",
		      "Services of the last Docker model with com.docker.lb.* labels.",
		      (double)ds.routed_services);
	metrics_gauge(out, "swarm_spoa_docker_tasks", "Tasks in the last Docker model.",
		      (double)ds.tasks);
	metrics_gauge(out, "swarm_spoa_convergence_lag_seconds",
		      "Last seen delay from a task state change in Docker to the routing table.",
		      (double)ds.convergence_last_ms / 1000.0);
	metrics_gauge(out, "swarm_spoa_convergence_lag_p50_seconds",
		      "Median delay from a task state change in Docker to the routing table, over "
		      "the tasks measured recently.", (double)ds.convergence_p50_ms / 1000.0);
	metrics_gauge(out, "swarm_spoa_convergence_lag_p99_seconds",
		      "99th percentile of the delay from a task state change in Docker to the "
		      "routing table, over the tasks measured recently.",
		      (double)ds.convergence_p99_ms / 1000.0);
	metrics_gauge(out, "swarm_spoa_convergence_lag_max_seconds",
		      "Largest delay seen from a task state change in Docker to the routing table.",
		      (double)ds.convergence_max_ms / 1000.0);
	metrics_counter(out, "swarm_spoa_convergence_samples_total",
			"Task state changes whose delay to the routing table was measured.",
			ds.convergence_samples);
}

/************************************************************************/
/*                                  errors                              */
/************************************************************************/

static void metrics_errors(struct sbuf *out)
{
	prom_family(out, "swarm_spoa_errors_total", PROM_COUNTER,
		    "Errors recorded for \"show errors\", by kind (labels, frame, docker, cert, config).");
	for (int k = 0; k < ERRLOG_KINDS; k++) {
		struct prom_label l = { "kind", errlog_kind_name((enum errlog_kind)k) };

		prom_sample_u64(out, "swarm_spoa_errors_total", NULL, &l, 1,
				errlog_count((enum errlog_kind)k));
	}
}

void metrics_render(struct sbuf *out)
{
	metrics_process(out);
	metrics_spop(out);
	metrics_requests(out);
	metrics_table(out, clock_wall_ms());
	metrics_discovery(out);
	metrics_errors(out);
}
