/* What "show info", "show stats", "show errors" and "show conns" print,
 * and the routing table's listings stepped through.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "certs/certs.h"
#include "common/clock.h"
#include "common/errlog.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "discovery/discovery.h"
#include "discovery/netmgr.h"
#include "routing/rtable.h"
#include "spoa/agent.h"
#include "spoa/spop.h"
#include "spoa/tables.h"
#include "spoa/worker.h"
#include "stats/commands.h"
#include "stats/counters.h"
#include "stats/show.h"
#include "stats/threadload.h"

#define ROWS_PER_STEP 64      /* rows of a snapshot printed per step */
/* A step of a routing table listing prints up to 256 rows, fewer when they
 * are large (a route in JSON is over a kilobyte): it stops at the end of
 * the part of 16 rows that passes 32 kB. That is well under a millisecond
 * of the main loop, and bounds what a client that reads slowly makes the
 * agent buffer (see SERVER_OUT_HIGH).
 */
#define TABLE_ROWS_PER_STEP  256
#define TABLE_ROWS_PER_PART  16
#define TABLE_BYTES_PER_STEP (32u << 10)

/************************************************************************/
/*                          "key: value" output                         */
/************************************************************************/

/* Fields of "show info" and friends: "key: value" lines, or one flat JSON
 * object with the same keys.
 */
struct kv {
	struct sbuf *out;
	int json;
	int n;
};

static void kv_key(struct kv *k, const char *key)
{
	if (k->json) {
		sbuf_puts(k->out, k->n++ ? ",\"" : "{\"");
		sbuf_puts(k->out, key);
		sbuf_puts(k->out, "\":");
	} else {
		sbuf_printf(k->out, "%s: ", key);
	}
}

static void kv_end_line(struct kv *k)
{
	if (!k->json)
		sbuf_putc(k->out, '\n');
}

static void kv_str(struct kv *k, const char *key, const char *v)
{
	kv_key(k, key);
	if (k->json)
		sbuf_json_cstr(k->out, v);
	else
		sbuf_puts(k->out, v ? v : "-");
	kv_end_line(k);
}

static void kv_u64(struct kv *k, const char *key, uint64_t v)
{
	kv_key(k, key);
	sbuf_printf(k->out, "%llu", (unsigned long long)v);
	kv_end_line(k);
}

static void kv_i64(struct kv *k, const char *key, int64_t v)
{
	kv_key(k, key);
	sbuf_printf(k->out, "%lld", (long long)v);
	kv_end_line(k);
}

/* Writes wall-clock <ms> as ISO 8601 UTC into <buf> (32 bytes), "-" for 0. */
static const char *show_time(int64_t ms, char *buf)
{
	struct tm tm;
	time_t sec = (time_t)(ms / 1000);
	size_t n;

	if (ms <= 0) {
		strcpy(buf, "-");
		return buf;
	}
	gmtime_r(&sec, &tm);
	n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, 32 - n, ".%03dZ", (int)(ms % 1000));
	return buf;
}

static void kv_time(struct kv *k, const char *key, int64_t ms)
{
	char buf[32];

	if (k->json && ms <= 0)
		kv_str(k, key, NULL);
	else
		kv_str(k, key, show_time(ms, buf));
}

static void kv_end(struct kv *k)
{
	if (k->json)
		sbuf_puts(k->out, k->n ? "}\n" : "{}\n");
}

/* Seconds since wall-clock <ms>, 0 when unknown or in the future. */
static int64_t show_age_s(int64_t ms, int64_t now)
{
	return ms > 0 && now > ms ? (now - ms) / 1000 : 0;
}

void show_info(struct sbuf *out, int json)
{
	struct kv k = { out, json, 0 };
	struct agent_info ai;
	struct tables_status ts;
	const struct rtable *t = tables_current();
	struct discovery *d = agent_discovery();
	int64_t now = clock_wall_ms();
	uint64_t errors = 0, conns = 0;
	char uptime[64];
	int64_t up;

	agent_info(&ai);
	tables_status(&ts);
	for (unsigned i = 0; i < worker_count(); i++)
		conns += atomic_load_explicit(&worker_get(i)->stats.conns_cur, memory_order_relaxed);
	for (int e = 0; e < ERRLOG_KINDS; e++)
		errors += errlog_count((enum errlog_kind)e);
	up = show_age_s(ai.started_ms, now);
	snprintf(uptime, sizeof(uptime), "%lldd %02lldh%02lldm%02llds", (long long)(up / 86400),
		 (long long)(up / 3600 % 24), (long long)(up / 60 % 60), (long long)(up % 60));

	kv_str(&k, "name", "swarm-spoa");
	kv_str(&k, "version", ai.version);
	kv_i64(&k, "pid", getpid());
	kv_time(&k, "started", ai.started_ms);
	kv_str(&k, "uptime", uptime);
	kv_i64(&k, "uptime_sec", up);
	kv_u64(&k, "threads", ai.threads);
	kv_u64(&k, "spop_connections", conns);
	kv_str(&k, "log_level", log_level_name(log_get_level()));
	kv_str(&k, "routes_file", ai.routes_file);
	kv_time(&k, "routes_loaded", ai.routes_loaded_ms);

	if (d) {
		struct discovery_status ds;

		discovery_status(d, &ds);
		kv_str(&k, "docker_state", ds.state_name);
		kv_str(&k, "docker_endpoint", ds.endpoint);
		kv_str(&k, "docker_mode", ds.mode);
		kv_str(&k, "docker_api_version", ds.api_version[0] ? ds.api_version : NULL);
		kv_time(&k, "last_sync", ds.last_sync_ms);
		kv_i64(&k, "last_sync_age_sec", show_age_s(ds.last_sync_ms, now));
		kv_u64(&k, "last_sync_duration_us", ds.last_sync_ns / 1000);
		kv_time(&k, "last_change", ds.last_change_ms);
		kv_time(&k, "last_docker_error_time", ds.last_error_ms);
		kv_str(&k, "last_docker_error", ds.last_error[0] ? ds.last_error : NULL);
		kv_u64(&k, "docker_requests", ds.requests);
		kv_u64(&k, "docker_request_failures", ds.request_failures);
		kv_u64(&k, "docker_events", ds.events);
		kv_u64(&k, "docker_syncs", ds.syncs);
		kv_u64(&k, "docker_reconnects", ds.reconnects);
		kv_u64(&k, "docker_events_connected", ds.events_connected ? 1 : 0);
		kv_u64(&k, "docker_services", ds.services);
		kv_u64(&k, "docker_routed_services", ds.routed_services);
		kv_u64(&k, "docker_tasks", ds.tasks);
		kv_u64(&k, "docker_skipped_entries", ds.skipped_entries);
		kv_u64(&k, "convergence_last_ms", ds.convergence_last_ms);
		kv_u64(&k, "convergence_p50_ms", ds.convergence_p50_ms);
		kv_u64(&k, "convergence_p99_ms", ds.convergence_p99_ms);
		kv_u64(&k, "convergence_max_ms", ds.convergence_max_ms);
		kv_u64(&k, "convergence_samples", ds.convergence_samples);
	} else {
		kv_str(&k, "docker_state", "disabled");
	}

	kv_u64(&k, "table_generation", ts.generation);
	kv_time(&k, "table_published", ts.published_ms);
	kv_i64(&k, "table_age_sec", show_age_s(ts.published_ms, now));
	kv_u64(&k, "table_build_us", ts.build_ns / 1000);
	kv_u64(&k, "table_build_failures", ts.build_failures);
	kv_u64(&k, "tables_retired_waiting", ts.retired_waiting);
	if (t) {
		struct rtable_info info;

		rtable_info(t, &info);
		kv_u64(&k, "services", info.services);
		kv_u64(&k, "services_routed", info.routed);
		kv_u64(&k, "services_skipped", info.skipped);
		kv_u64(&k, "hosts", info.hosts);
		kv_u64(&k, "routes", info.routes);
		kv_u64(&k, "tasks_ready", info.tasks);
		kv_u64(&k, "table_memory_bytes", info.memory);
	}
	kv_u64(&k, "errors_recorded", errors);
	kv_end(&k);
}

/* Prints a duration in nanoseconds the way people read it. */
static const char *show_dur(uint64_t ns, char *buf, size_t len)
{
	if (ns < 1000)
		snprintf(buf, len, "%lluns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.1fus", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.1fms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.2fs", (double)ns / 1e9);
	return buf;
}

struct lookups {
	struct rtable_counters total;
};

static void show_lookups_cb(void *arg, const char *service, const struct rtable_counters *c)
{
	struct lookups *l = arg;

	if (!service)
		l->total = *c;
}

static const double quantiles[] = { 0.5, 0.9, 0.99, 0.999 };
static const char *const quantile_names[] = { "p50", "p90", "p99", "p99.9" };
static const char *const quantile_keys[] = { "p50", "p90", "p99", "p999" };
#define NQUANTILES (sizeof(quantiles) / sizeof(quantiles[0]))

static void show_stats_json(struct sbuf *out, const uint64_t *disc, const uint64_t *hist,
				const struct rtable_counters *lk)
{
	unsigned nw = worker_count();

	sbuf_puts(out, "{\"total\":{");
	for (size_t f = 0; f < counters_nfields; f++)
		sbuf_printf(out, "%s\"%s\":%llu", f ? "," : "", counters_fields[f].key,
			    (unsigned long long)counters_total(&counters_fields[f]));
	sbuf_puts(out, "},\"threads\":[");
	for (unsigned i = 0; i < nw; i++) {
		const struct worker_stats *ws = &worker_get(i)->stats;
		double recent = threadload_recent(i);

		sbuf_printf(out, "%s{\"thread\":%u", i ? "," : "", i);
		for (size_t f = 0; f < counters_nfields; f++)
			sbuf_printf(out, ",\"%s\":%llu", counters_fields[f].key,
				    (unsigned long long)counters_read(ws, &counters_fields[f]));
		sbuf_printf(out, ",\"load_pct\":%.1f,\"load_recent_pct\":", threadload_lifetime(i));
		if (recent < 0)
			sbuf_puts(out, "null}");
		else
			sbuf_printf(out, "%.1f}", recent);
	}
	sbuf_puts(out, "],\"disconnects\":[");
	for (unsigned s = 0, first = 1; s < SPOP_ERR_SLOTS; s++) {
		int st = counters_slot_status(s);

		if (!disc[s] && (st < 0 || st > SPOP_ERR_RES))
			continue;
		sbuf_printf(out, "%s{\"status\":", first ? "" : ",");
		first = 0;
		if (st < 0)
			sbuf_puts(out, "\"other\"");
		else
			sbuf_printf(out, "%d", st);
		sbuf_puts(out, ",\"reason\":");
		sbuf_json_cstr(out, st < 0 ? "other status" : spop_status_str((enum spop_status)st));
		sbuf_printf(out, ",\"count\":%llu}", (unsigned long long)disc[s]);
	}
	sbuf_printf(out, "],\"lookups\":{\"forwarded\":%llu,\"redirected\":%llu,"
		    "\"not_found\":%llu,\"no_task\":%llu},\"notify_latency\":{",
		    (unsigned long long)lk->forwarded, (unsigned long long)lk->redirected,
		    (unsigned long long)lk->not_found, (unsigned long long)lk->no_task);
	for (size_t q = 0; q < NQUANTILES; q++) {
		uint64_t v = counters_quantile(hist, quantiles[q]);

		sbuf_printf(out, "\"%s_lt_ns\":", quantile_keys[q]);
		if (v == UINT64_MAX)
			sbuf_puts(out, "null,");
		else
			sbuf_printf(out, "%llu,", (unsigned long long)v);
	}
	sbuf_puts(out, "\"buckets\":[");
	for (unsigned b = 0; b < COUNTERS_LAT_BUCKETS; b++) {
		uint64_t le = counters_latency_bound(b);

		sbuf_puts(out, b ? ",{\"lt_ns\":" : "{\"lt_ns\":");
		if (le)
			sbuf_printf(out, "%llu", (unsigned long long)le);
		else
			sbuf_puts(out, "null");
		sbuf_printf(out, ",\"count\":%llu}", (unsigned long long)hist[b]);
	}
	sbuf_puts(out, "]}}\n");
}

static void show_stats_text(struct sbuf *out, const uint64_t *disc, const uint64_t *hist,
				const struct rtable_counters *lk)
{
	unsigned nw = worker_count();
	uint64_t total = 0;
	char buf[32];

	sbuf_printf(out, "%-22s %14s", "SPOP", "total");
	for (unsigned i = 0; i < nw; i++) {
		snprintf(buf, sizeof(buf), "thread%u", i);
		sbuf_printf(out, " %14s", buf);
	}
	sbuf_putc(out, '\n');
	for (size_t f = 0; f < counters_nfields; f++) {
		sbuf_printf(out, "%-22s %14llu", counters_fields[f].key,
			    (unsigned long long)counters_total(&counters_fields[f]));
		for (unsigned i = 0; i < nw; i++)
			sbuf_printf(out, " %14llu", (unsigned long long)
				    counters_read(&worker_get(i)->stats, &counters_fields[f]));
		sbuf_putc(out, '\n');
	}
	sbuf_printf(out, "%-22s %14s", "load_pct", "");
	for (unsigned i = 0; i < nw; i++)
		sbuf_printf(out, " %14.1f", threadload_lifetime(i));
	sbuf_printf(out, "\n%-22s %14s", "load_recent_pct", "");
	for (unsigned i = 0; i < nw; i++) {
		double r = threadload_recent(i);

		if (r < 0)
			sbuf_printf(out, " %14s", "-");
		else
			sbuf_printf(out, " %14.1f", r);
	}

	sbuf_puts(out, "\n\nAGENT-DISCONNECT by status\n");
	for (unsigned s = 0; s < SPOP_ERR_SLOTS; s++) {
		int st = counters_slot_status(s);

		if (!disc[s] && (st < 0 || st > SPOP_ERR_RES))
			continue;
		if (st < 0)
			sbuf_printf(out, "  %-6s %-40s %llu\n", "other", "other status",
				    (unsigned long long)disc[s]);
		else
			sbuf_printf(out, "  %-6d %-40s %llu\n", st,
				    spop_status_str((enum spop_status)st), (unsigned long long)disc[s]);
	}

	sbuf_printf(out, "\nLookups\n  forwarded   %llu\n  redirected  %llu\n"
		    "  not_found   %llu\n  no_task     %llu\n",
		    (unsigned long long)lk->forwarded, (unsigned long long)lk->redirected,
		    (unsigned long long)lk->not_found, (unsigned long long)lk->no_task);

	for (unsigned b = 0; b < COUNTERS_LAT_BUCKETS; b++)
		total += hist[b];
	sbuf_printf(out, "\nNOTIFY processing time (%llu frames)\n", (unsigned long long)total);
	for (size_t q = 0; q < NQUANTILES && total; q++) {
		uint64_t v = counters_quantile(hist, quantiles[q]);

		if (v == UINT64_MAX)
			sbuf_printf(out, "  %-6s >= %s\n", quantile_names[q],
				    show_dur(counters_latency_bound(COUNTERS_LAT_BUCKETS - 2),
						 buf, sizeof(buf)));
		else
			sbuf_printf(out, "  %-6s < %s\n", quantile_names[q],
				    show_dur(v, buf, sizeof(buf)));
	}
	for (unsigned b = 0; b < COUNTERS_LAT_BUCKETS; b++) {
		uint64_t le = counters_latency_bound(b);

		if (!hist[b])
			continue;
		if (le)
			sbuf_printf(out, "  < %-10s %llu\n", show_dur(le, buf, sizeof(buf)),
				    (unsigned long long)hist[b]);
		else
			sbuf_printf(out, "  >= %-9s %llu\n",
				    show_dur(counters_latency_bound(b - 1), buf, sizeof(buf)),
				    (unsigned long long)hist[b]);
	}
}

void show_certs(struct sbuf *out, int json)
{
	const struct certs *c = agent_certs();

	if (!c) {
		commands_error(out, json, "no certificate management in this agent "
			       "(started without --haproxy-runtime)");
		return;
	}
	certs_show(c, out, json);
}

void show_networks(struct sbuf *out, int json)
{
	const struct netmgr *m = agent_netmgr();

	if (!m) {
		commands_error(out, json, "no network management in this agent "
			       "(started without --manage-networks)");
		return;
	}
	netmgr_show(m, out, json);
}

void show_stats(struct sbuf *out, int json)
{
	uint64_t disc[SPOP_ERR_SLOTS], hist[COUNTERS_LAT_BUCKETS];
	struct lookups lk = { { 0, 0, 0, 0 } };

	counters_disconnects(disc);
	counters_latency(hist);
	tables_counters(show_lookups_cb, &lk);
	if (json)
		show_stats_json(out, disc, hist, &lk.total);
	else
		show_stats_text(out, disc, hist, &lk.total);
}

/************************************************************************/
/*                    listings printed a few rows a step                */
/************************************************************************/

/* "show errors": the ring is copied once, then printed in parts. */
int show_errors_step(struct commands_run *run, struct sbuf *out)
{
	const struct errlog_entry *e;
	int json = run->cmd->json;
	size_t end;

	if (!run->started) {
		run->rows = malloc(ERRLOG_SIZE * sizeof(struct errlog_entry));
		if (!run->rows) {
			commands_error(out, json, "out of memory");
			return 0;
		}
		run->nrows = errlog_snapshot(run->rows, ERRLOG_SIZE);
		run->started = 1;
		e = run->rows;
		run->width[0] = strlen("SUBJECT");
		for (size_t i = 0; i < run->nrows; i++)
			if (strlen(e[i].subject) > run->width[0])
				run->width[0] = strlen(e[i].subject);
		if (json) {
			sbuf_puts(out, "{\"counts\":{");
			for (int k = 0; k < ERRLOG_KINDS; k++)
				sbuf_printf(out, "%s\"%s\":%llu", k ? "," : "",
					    errlog_kind_name((enum errlog_kind)k),
					    (unsigned long long)errlog_count((enum errlog_kind)k));
			sbuf_puts(out, "},\"errors\":[");
		} else {
			sbuf_printf(out, "%-24s  %-6s  %-*s  %s\n", "TIME", "KIND",
				    (int)run->width[0], "SUBJECT", "MESSAGE");
		}
	}
	e = run->rows;
	end = run->pos + ROWS_PER_STEP < run->nrows ? run->pos + ROWS_PER_STEP : run->nrows;
	for (; run->pos < end; run->pos++) {
		const struct errlog_entry *x = &e[run->pos];
		char when[32];

		show_time(x->when_ms, when);
		if (json) {
			sbuf_printf(out, "%s{\"time\":\"%s\",\"time_ms\":%lld,\"kind\":\"%s\",\"subject\":",
				    run->pos ? "," : "", when, (long long)x->when_ms,
				    errlog_kind_name(x->kind));
			sbuf_json_cstr(out, x->subject);
			sbuf_puts(out, ",\"message\":");
			sbuf_json_cstr(out, x->message);
			sbuf_putc(out, '}');
		} else {
			sbuf_printf(out, "%-24s  %-6s  %-*s  %s\n", when, errlog_kind_name(x->kind),
				    (int)run->width[0], x->subject, x->message);
		}
	}
	if (run->pos < run->nrows)
		return 1;
	if (json)
		sbuf_puts(out, "]}\n");
	return 0;
}

static const char *show_conn_state(enum conn_state st)
{
	switch (st) {
	case CONN_ST_HELLO:
		return "hello";
	case CONN_ST_READY:
		return "ready";
	default:
		return "closing";
	}
}

/* "show conns": the workers are asked once for their connections, then
 * the list is printed in parts.
 */
int show_conns_step(struct commands_run *run, struct sbuf *out)
{
	int json = run->cmd->json;
	int64_t now = clock_wall_ms();
	const struct conn_info *c;
	size_t end;

	if (!run->started) {
		struct conn_info *list = NULL;

		run->nrows = worker_list_conns(&list);
		run->rows = list;
		run->started = 1;
		run->width[0] = strlen("PEER");
		run->width[1] = strlen("ENGINE");
		for (size_t i = 0; i < run->nrows; i++) {
			if (strlen(list[i].peer) > run->width[0])
				run->width[0] = strlen(list[i].peer);
			if (strlen(list[i].engine_id) > run->width[1])
				run->width[1] = strlen(list[i].engine_id);
		}
		if (json)
			sbuf_printf(out, "{\"count\":%zu,\"conns\":[", run->nrows);
		else
			sbuf_printf(out, "%-8s  %-6s  %-*s  %-*s  %-7s  %-9s  %-10s  %-8s  %-12s  %s\n",
				    "ID", "THREAD", (int)run->width[0], "PEER", (int)run->width[1],
				    "ENGINE", "STATE", "MAX_FRAME", "PIPELINING", "AGE_SEC",
				    "NOTIFY", "OUT_PENDING");
	}
	c = run->rows;
	end = run->pos + ROWS_PER_STEP < run->nrows ? run->pos + ROWS_PER_STEP : run->nrows;
	for (; run->pos < end; run->pos++) {
		const struct conn_info *x = &c[run->pos];
		long long age = x->since_ms > 0 && now > x->since_ms ? (now - x->since_ms) / 1000 : 0;

		if (json) {
			sbuf_printf(out, "%s{\"id\":%llu,\"thread\":%u,\"peer\":", run->pos ? "," : "",
				    (unsigned long long)x->id, x->worker);
			sbuf_json_cstr(out, x->peer);
			sbuf_puts(out, ",\"engine_id\":");
			sbuf_json_cstr(out, x->engine_id[0] ? x->engine_id : NULL);
			sbuf_printf(out, ",\"state\":\"%s\",\"max_frame_size\":%u,\"pipelining\":%s,"
				    "\"age_sec\":%lld,\"notify\":%llu,\"out_pending\":%zu}",
				    show_conn_state(x->state), x->max_frame,
				    x->pipelining ? "true" : "false", age,
				    (unsigned long long)x->notify, x->out_pending);
		} else {
			sbuf_printf(out, "%-8llu  %-6u  %-*s  %-*s  %-7s  %-9u  %-10s  %-8lld  %-12llu  %zu\n",
				    (unsigned long long)x->id, x->worker, (int)run->width[0], x->peer,
				    (int)run->width[1], x->engine_id[0] ? x->engine_id : "-",
				    show_conn_state(x->state), x->max_frame,
				    x->pipelining ? "yes" : "no", age,
				    (unsigned long long)x->notify, x->out_pending);
		}
	}
	if (run->pos < run->nrows)
		return 1;
	if (json)
		sbuf_puts(out, "]}\n");
	return 0;
}

/* The table is held rather than copied: a listing of 10,000 services would
 * otherwise copy tens of megabytes, and a held table costs nothing until
 * a newer one replaces it.
 */
static int show_table_part(struct commands_run *run, struct sbuf *out)
{
	const struct command *cmd = run->cmd;
	int more;

	switch (cmd->id) {
	case CMD_SHOW_ROUTES:
		return rtable_show_routes_part(run->table, &run->cursor, out, cmd->json,
					       TABLE_ROWS_PER_PART);
	case CMD_SHOW_SERVICES:
		return rtable_show_services_part(run->table, &run->cursor, out, cmd->json,
						 TABLE_ROWS_PER_PART);
	default:
		more = rtable_show_tasks_part(run->table, cmd->service, &run->cursor, out,
					      cmd->json, TABLE_ROWS_PER_PART);
		if (more < 0) {
			char msg[COMMANDS_LINE_MAX + 64];

			snprintf(msg, sizeof(msg), "unknown service '%s'", cmd->service);
			commands_error(out, cmd->json, msg);
			more = 0;
		}
		return more;
	}
}

int show_table_step(struct commands_run *run, struct sbuf *out)
{
	const struct command *cmd = run->cmd;
	size_t len0 = out->len;
	int more = 1;

	if (!run->started) {
		run->started = 1;
		if (!tables_current()) {
			commands_error(out, cmd->json, "no routing table yet");
			return 0;
		}
		run->table = tables_hold();
		if (!run->table) {
			commands_error(out, cmd->json, "out of memory");
			return 0;
		}
	}
	for (size_t rows = 0; more && rows < TABLE_ROWS_PER_STEP &&
	     out->len - len0 < TABLE_BYTES_PER_STEP; rows += TABLE_ROWS_PER_PART)
		more = show_table_part(run, out);
	if (!more) {
		tables_unhold(run->table);
		run->table = NULL;
	}
	return more;
}
