/* What discovery shows of itself: the "show info" fields of the stats
 * socket and the metric families of the metrics page, both from
 * discovery_status().
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/clock.h"
#include "common/kvout.h"
#include "common/prom.h"
#include "common/sbuf.h"
#include "discovery/discovery.h"
#include "discovery/discstats.h"

/* The answer times of <request> ("/tasks"...) in <ds>. */
static const struct discovery_answers *discstats_answers(const struct discovery_status *ds,
							   const char *request)
{
	for (unsigned i = 0; i < DISCOVERY_REQUEST_KINDS; i++)
		if (strcmp(ds->answers[i].request, request) == 0)
			return &ds->answers[i];
	return &ds->answers[0];
}

void discstats_info(const struct discovery *d, struct kvout *k)
{
	struct discovery_status ds;
	int64_t now = clock_wall_ms();

	discovery_status(d, &ds);
	kvout_str(k, "docker_state", ds.state_name);
	kvout_str(k, "docker_endpoint", ds.endpoint);
	kvout_str(k, "docker_mode", ds.mode);
	kvout_str(k, "docker_api_version", ds.api_version[0] ? ds.api_version : NULL);
	kvout_time(k, "last_sync", ds.last_sync_ms);
	kvout_i64(k, "last_sync_age_sec", ds.last_sync_ms > 0 && now > ds.last_sync_ms ?
		  (now - ds.last_sync_ms) / 1000 : 0);
	kvout_u64(k, "last_sync_duration_us", ds.last_sync_ns / 1000);
	kvout_time(k, "last_change", ds.last_change_ms);
	kvout_time(k, "last_docker_error_time", ds.last_error_ms);
	kvout_str(k, "last_docker_error", ds.last_error[0] ? ds.last_error : NULL);
	kvout_u64(k, "docker_requests", ds.requests);
	kvout_u64(k, "docker_request_failures", ds.request_failures);
	kvout_u64(k, "docker_events", ds.events);
	kvout_u64(k, "docker_syncs", ds.syncs);
	kvout_u64(k, "docker_reconnects", ds.reconnects);
	kvout_u64(k, "docker_events_connected", ds.events_connected ? 1 : 0);
	kvout_u64(k, "docker_services", ds.services);
	kvout_u64(k, "docker_routed_services", ds.routed_services);
	kvout_u64(k, "docker_tasks", ds.tasks);
	kvout_u64(k, "docker_skipped_entries", ds.skipped_entries);
	kvout_f64(k, "docker_requests_per_sec", ds.requests_per_s);
	kvout_u64(k, "docker_poll_period_ms", ds.poll_period_ms);
	kvout_u64(k, "docker_converging_services", ds.converging_services);
	kvout_u64(k, "docker_stuck_services", ds.stuck_services);
	kvout_u64(k, "docker_full_poll_ms", ds.full_poll_ms);
	kvout_u64(k, "docker_filtered_poll_ms", ds.filtered_poll_ms);
	kvout_u64(k, "docker_filtered_poll_ids", ds.filtered_poll_ids);
	kvout_u64(k, "docker_hedged_polls", ds.hedged_polls);
	kvout_u64(k, "docker_hedge_wins", ds.hedge_wins);
	{
		const struct discovery_answers *a = discstats_answers(&ds, "/tasks");
		uint64_t slow = 0;

		/* bucket b holds the answers over bound b - 1 */
		for (unsigned b = 1; b < DISCOVERY_ANSWER_BUCKETS; b++)
			if (discovery_answer_bounds_ms[b - 1] >= 1000)
				slow += a->buckets[b];
		kvout_u64(k, "docker_tasks_answers", a->count);
		kvout_u64(k, "docker_tasks_answers_over_1s", slow);
		kvout_u64(k, "docker_tasks_answer_total_ms", a->sum_us / 1000);
	}
	kvout_u64(k, "convergence_last_ms", ds.convergence_last_ms);
	kvout_u64(k, "convergence_p50_ms", ds.convergence_p50_ms);
	kvout_u64(k, "convergence_p99_ms", ds.convergence_p99_ms);
	kvout_u64(k, "convergence_max_ms", ds.convergence_max_ms);
	kvout_u64(k, "convergence_samples", ds.convergence_samples);
}

#define NS_PER_S 1e9

static void discstats_gauge(struct sbuf *out, const char *name, const char *help, double v)
{
	prom_family(out, name, PROM_GAUGE, help);
	prom_sample_f64(out, name, NULL, NULL, 0, v);
}

static void discstats_counter(struct sbuf *out, const char *name, const char *help, uint64_t v)
{
	prom_family(out, name, PROM_COUNTER, help);
	prom_sample_u64(out, name, NULL, NULL, 0, v);
}

/* One histogram series per kind of request Docker answered at least once. */
static void discstats_answer_histogram(struct sbuf *out, const struct discovery_status *ds)
{
	static const char name[] = "swarm_spoa_docker_request_duration_seconds";

	prom_family(out, name, PROM_HISTOGRAM,
		    "Time Docker took to answer a request (or to fail it), by request.");
	for (unsigned i = 0; i < DISCOVERY_REQUEST_KINDS; i++) {
		const struct discovery_answers *a = &ds->answers[i];
		struct prom_label l[2] = { { "request", a->request }, { "le", NULL } };
		char le[PROM_F64_LEN];
		uint64_t cumul = 0;

		if (!a->count)
			continue;
		for (unsigned b = 0; b < DISCOVERY_ANSWER_BUCKETS; b++) {
			cumul += a->buckets[b];
			l[1].value = b < DISCOVERY_ANSWER_BUCKETS - 1 ?
				     prom_f64(discovery_answer_bounds_ms[b] / 1000.0, le) : "+Inf";
			prom_sample_u64(out, name, "_bucket", l, 2, cumul);
		}
		prom_sample_f64(out, name, "_sum", l, 1, (double)a->sum_us / 1e6);
		prom_sample_u64(out, name, "_count", l, 1, a->count);
	}
}

void discstats_metrics(const struct discovery *d, struct sbuf *out)
{
	static const struct {
		enum discovery_state st;
		const char *name;
	} states[] = {
		{ DISCOVERY_CONNECTING, "connecting" },
		{ DISCOVERY_SYNCED, "synced" },
		{ DISCOVERY_DEGRADED, "degraded" },
	};
	struct discovery_status ds;

	discovery_status(d, &ds);
	prom_family(out, "swarm_spoa_discovery_state", PROM_GAUGE,
		    "1 for the state discovery is in: connecting (no sync yet), synced, degraded "
		    "(Docker unreachable or failing: the last good table is kept).");
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		struct prom_label l = { "state", states[i].name };

		prom_sample_u64(out, "swarm_spoa_discovery_state", NULL, &l, 1, ds.state == states[i].st);
	}
	discstats_gauge(out, "swarm_spoa_docker_sync_duration_seconds",
		      "Wall time of the last full Docker sync.", (double)ds.last_sync_ns / NS_PER_S);
	discstats_gauge(out, "swarm_spoa_docker_sync_cpu_seconds",
		      "Agent CPU time spent on the last full Docker sync.",
		      (double)ds.last_sync_cpu_ns / NS_PER_S);
	discstats_gauge(out, "swarm_spoa_docker_last_sync_timestamp_seconds",
		      "When the last full Docker sync succeeded, in seconds since the epoch (0: never).",
		      (double)ds.last_sync_ms / 1000.0);
	discstats_counter(out, "swarm_spoa_docker_syncs_total", "Full Docker syncs.", ds.syncs);
	discstats_counter(out, "swarm_spoa_docker_requests_total", "Docker Engine API requests.",
			ds.requests);
	discstats_counter(out, "swarm_spoa_docker_request_failures_total",
			"Docker Engine API requests that failed (transport, HTTP status or bad body).",
			ds.request_failures);
	discstats_counter(out, "swarm_spoa_docker_events_total", "Docker events received.", ds.events);
	discstats_counter(out, "swarm_spoa_docker_hedged_polls_total",
			"Polls of converging services asked a second time, the first answer being slow.",
			ds.hedged_polls);
	discstats_counter(out, "swarm_spoa_docker_hedge_wins_total",
			"Hedged polls whose second request answered first.", ds.hedge_wins);
	discstats_answer_histogram(out, &ds);
	discstats_counter(out, "swarm_spoa_docker_reconnects_total",
			"Reconnections of the Docker event stream.", ds.reconnects);
	discstats_counter(out, "swarm_spoa_docker_models_total",
			"Changed service models handed to the routing table.", ds.models);
	discstats_counter(out, "swarm_spoa_docker_skipped_entries_total",
			"Malformed entries in Docker's answers, skipped (the others were kept).",
			ds.skipped_entries);
	discstats_gauge(out, "swarm_spoa_docker_events_connected",
		      "1 while the Docker event stream is open.", ds.events_connected ? 1 : 0);
	discstats_gauge(out, "swarm_spoa_docker_services", "Services in the last Docker model.",
		      (double)ds.services);
	discstats_gauge(out, "swarm_spoa_docker_routed_services",
		      "Services of the last Docker model with com.docker.lb.* labels.",
		      (double)ds.routed_services);
	discstats_gauge(out, "swarm_spoa_docker_tasks", "Tasks in the last Docker model.",
		      (double)ds.tasks);
	discstats_gauge(out, "swarm_spoa_docker_poll_period_seconds",
		      "Period of the task polls now: fast while services converge, stretched so that "
		      "Docker spends at most half of the time answering them.",
		      (double)ds.poll_period_ms / 1000.0);
	discstats_gauge(out, "swarm_spoa_docker_converging_services",
		      "Routed services polled fast: Docker shows tasks desired running not running yet.",
		      (double)ds.converging_services);
	discstats_gauge(out, "swarm_spoa_docker_stuck_services",
		      "Routed services still not settled past the fast-polling ceiling (a task pending "
		      "for lack of resources, a crash loop): polled every few seconds.",
		      (double)ds.stuck_services);
	discstats_gauge(out, "swarm_spoa_convergence_lag_seconds",
		      "Last seen delay from a task state change in Docker to the routing table.",
		      (double)ds.convergence_last_ms / 1000.0);
	discstats_gauge(out, "swarm_spoa_convergence_lag_p50_seconds",
		      "Median delay from a task state change in Docker to the routing table, over "
		      "the tasks measured recently.", (double)ds.convergence_p50_ms / 1000.0);
	discstats_gauge(out, "swarm_spoa_convergence_lag_p99_seconds",
		      "99th percentile of the delay from a task state change in Docker to the "
		      "routing table, over the tasks measured recently.",
		      (double)ds.convergence_p99_ms / 1000.0);
	discstats_gauge(out, "swarm_spoa_convergence_lag_max_seconds",
		      "Largest delay seen from a task state change in Docker to the routing table.",
		      (double)ds.convergence_max_ms / 1000.0);
	discstats_counter(out, "swarm_spoa_convergence_samples_total",
			"Task state changes whose delay to the routing table was measured.",
			ds.convergence_samples);
}
