/* The metrics page: the registered sources' families, then the routing
 * tables' and the error log's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/errlog.h"
#include "common/prom.h"
#include "common/sbuf.h"
#include "routing/rtable.h"
#include "routing/tables.h"
#include "stats/httpd.h"
#include "stats/metrics.h"
#include "stats/server.h"
#include "stats/stats.h"

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
	metrics_gauge(out, "swarm_spoa_table_services_refused",
		      "Skipped services that claim a host, wildcard, default backend or secret "
		      "of another owner (docs/security.md).", (double)info.refused);
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

/* The stats socket's and the metrics page's own acceptors. */
static void metrics_listeners(struct sbuf *out)
{
	struct prom_label stats = { "listener", "stats" }, metrics = { "listener", "metrics" };

	prom_family(out, "swarm_spoa_stats_accept_pauses_total", PROM_COUNTER,
		    "Times a listener of the stats socket or the metrics page paused: no file "
		    "descriptor or memory left.");
	prom_sample_u64(out, "swarm_spoa_stats_accept_pauses_total", NULL, &stats, 1,
			server_accept_pauses());
	prom_sample_u64(out, "swarm_spoa_stats_accept_pauses_total", NULL, &metrics, 1,
			httpd_accept_pauses());
}

static void metrics_source(void *ctx, const struct stats_source *src)
{
	if (src->metrics)
		src->metrics(src->arg, ctx);
}

void metrics_render(struct sbuf *out)
{
	stats_source_each(metrics_source, out);
	metrics_requests(out);
	metrics_table(out, clock_wall_ms());
	metrics_errors(out);
	metrics_listeners(out);
}
