/* The workers' SPOP counters by name, and what "show stats", "show conns",
 * "show info" and the metrics page print of them.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/kvout.h"
#include "common/prom.h"
#include "common/sbuf.h"
#include "common/texttab.h"
#include "routing/tables.h"
#include "spoa/listener.h"
#include "spoa/spop.h"
#include "spoa/spopstats.h"
#include "spoa/threadload.h"
#include "spoa/worker.h"

#define NS_PER_S 1e9
#define CONNS_ROWS_PER_STEP 64   /* rows of "show conns" printed per step */

/* One counter of struct worker_stats, by name. */
struct spopstats_field {
	const char *key;          /* name in "show stats" */
	const char *metric;       /* Prometheus family name */
	enum prom_type type;      /* PROM_COUNTER or PROM_GAUGE */
	const char *help;
	size_t offset;            /* of the _Atomic uint64_t in struct worker_stats */
};

#define C(field, metric, help) \
	{ #field, "swarm_spoa_spop_" metric "_total", PROM_COUNTER, help, \
	  offsetof(struct worker_stats, field) }
#define G(field, metric, help) \
	{ #field, "swarm_spoa_spop_" metric, PROM_GAUGE, help, offsetof(struct worker_stats, field) }

static const struct spopstats_field spopstats_fields[] = {
	G(conns_cur, "connections", "HAProxy connections to the agent now open."),
	C(conns_accepted, "connections_accepted", "HAProxy connections accepted."),
	C(conns_closed, "connections_closed", "HAProxy connections closed."),
	C(hellos, "hellos", "HAPROXY-HELLO frames answered."),
	C(healthchecks, "healthchecks", "Health-check HELLO exchanges (option spop-check)."),
	C(frames_in, "frames_received", "SPOP frames received."),
	C(frames_out, "frames_sent", "SPOP frames sent."),
	C(notify, "notify_frames", "NOTIFY frames received."),
	C(ack, "ack_frames", "ACK frames sent."),
	C(messages, "messages", "SPOE messages handled."),
	C(messages_unknown, "messages_unknown", "SPOE messages with a name the agent does not handle."),
	C(handler_errors, "handler_errors", "Messages answered with an error (bad arguments)."),
	C(haproxy_disconnects, "haproxy_disconnects", "HAPROXY-DISCONNECT frames received."),
	C(frames_skipped, "frames_skipped", "Frames of an unknown type, skipped."),
	C(bytes_in, "received_bytes", "Bytes read from HAProxy connections."),
	C(bytes_out, "sent_bytes", "Bytes written to HAProxy connections."),
	C(reads, "reads", "read(2) calls on HAProxy connections."),
	C(writes, "writes", "write(2) calls on HAProxy connections."),
	C(backpressure, "backpressure_pauses",
	  "Times reading paused because HAProxy read the answers slowly."),
	C(idle_timeouts, "idle_timeouts",
	  "Connections closed after --idle-timeout without a complete frame."),
	G(collect_on, "collecting_workers",
	  "Worker threads now waiting --spop-collect between reads."),
	C(collect_periods, "collect_periods",
	  "Times --spop-collect auto set the interval (frames arriving one by one)."),
};

static const size_t spopstats_nfields = sizeof(spopstats_fields) / sizeof(spopstats_fields[0]);

static uint64_t spopstats_load(const _Atomic uint64_t *p)
{
	return atomic_load_explicit(p, memory_order_relaxed);
}

static uint64_t spopstats_read(const struct worker_stats *ws, const struct spopstats_field *f)
{
	return spopstats_load((const _Atomic uint64_t *)(const void *)((const char *)ws + f->offset));
}

static uint64_t spopstats_total(const struct spopstats_field *f)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < worker_count(); i++)
		sum += spopstats_read(&worker_get(i)->stats, f);
	return sum;
}

static void spopstats_disconnects(uint64_t out[SPOP_ERR_SLOTS])
{
	for (unsigned s = 0; s < SPOP_ERR_SLOTS; s++)
		out[s] = 0;
	for (unsigned i = 0; i < worker_count(); i++)
		for (unsigned s = 0; s < SPOP_ERR_SLOTS; s++)
			out[s] += spopstats_load(&worker_get(i)->stats.disconnects[s]);
}

static void spopstats_latency(uint64_t out[SPOPSTATS_LAT_BUCKETS])
{
	for (unsigned b = 0; b < SPOPSTATS_LAT_BUCKETS; b++)
		out[b] = 0;
	for (unsigned i = 0; i < worker_count(); i++)
		for (unsigned b = 0; b < SPOPSTATS_LAT_BUCKETS; b++)
			out[b] += spopstats_load(&worker_get(i)->stats.lat_hist[b]);
}

static uint64_t spopstats_latency_sum_ns(void)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < worker_count(); i++)
		sum += spopstats_load(&worker_get(i)->stats.lat_sum_ns);
	return sum;
}

/* The workers put a time t in bucket 0 when t < 64 ns, in bucket b when
 * 2^(b+5) <= t < 2^(b+6), and everything from 2^28 ns on in the last one.
 */
static uint64_t spopstats_latency_bound(unsigned i)
{
	return i + 1 < SPOPSTATS_LAT_BUCKETS ? (uint64_t)1 << (i + 6) : 0;
}

static int spopstats_slot_status(unsigned slot)
{
	return slot + 1 < SPOP_ERR_SLOTS ? (int)slot : -1;
}

static uint64_t spopstats_quantile(const uint64_t hist[SPOPSTATS_LAT_BUCKETS], double q)
{
	uint64_t total = 0, seen = 0;

	for (unsigned b = 0; b < SPOPSTATS_LAT_BUCKETS; b++)
		total += hist[b];
	if (!total)
		return 0;
	for (unsigned b = 0; b < SPOPSTATS_LAT_BUCKETS; b++) {
		seen += hist[b];
		if ((double)seen >= q * (double)total)
			return b + 1 < SPOPSTATS_LAT_BUCKETS ? spopstats_latency_bound(b) : UINT64_MAX;
	}
	return UINT64_MAX;
}

/************************************************************************/
/*                               "show stats"                           */
/************************************************************************/

/* Prints a duration in nanoseconds the way people read it. */
static const char *spopstats_dur(uint64_t ns, char *buf, size_t len)
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

static const double quantiles[] = { 0.5, 0.9, 0.99, 0.999 };
static const char *const quantile_names[] = { "p50", "p90", "p99", "p99.9" };
static const char *const quantile_keys[] = { "p50", "p90", "p99", "p999" };
#define NQUANTILES (sizeof(quantiles) / sizeof(quantiles[0]))

static void spopstats_stats_json(struct sbuf *out, const uint64_t *disc, const uint64_t *hist,
				const struct rtable_counters *lk)
{
	unsigned nw = worker_count();

	sbuf_puts(out, "{\"total\":{");
	for (size_t f = 0; f < spopstats_nfields; f++)
		sbuf_printf(out, "%s\"%s\":%llu", f ? "," : "", spopstats_fields[f].key,
			    (unsigned long long)spopstats_total(&spopstats_fields[f]));
	sbuf_printf(out, ",\"conns_refused\":%llu,\"accept_pauses\":%llu},\"threads\":[",
		    (unsigned long long)listener_refused(),
		    (unsigned long long)listener_accept_pauses());
	for (unsigned i = 0; i < nw; i++) {
		const struct worker_stats *ws = &worker_get(i)->stats;
		double recent = threadload_recent(i);

		sbuf_printf(out, "%s{\"thread\":%u", i ? "," : "", i);
		for (size_t f = 0; f < spopstats_nfields; f++)
			sbuf_printf(out, ",\"%s\":%llu", spopstats_fields[f].key,
				    (unsigned long long)spopstats_read(ws, &spopstats_fields[f]));
		sbuf_printf(out, ",\"load_pct\":%.1f,\"load_recent_pct\":", threadload_lifetime(i));
		if (recent < 0)
			sbuf_puts(out, "null}");
		else
			sbuf_printf(out, "%.1f}", recent);
	}
	sbuf_puts(out, "],\"disconnects\":[");
	for (unsigned s = 0, first = 1; s < SPOP_ERR_SLOTS; s++) {
		int st = spopstats_slot_status(s);

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
		uint64_t v = spopstats_quantile(hist, quantiles[q]);

		sbuf_printf(out, "\"%s_lt_ns\":", quantile_keys[q]);
		if (v == UINT64_MAX)
			sbuf_puts(out, "null,");
		else
			sbuf_printf(out, "%llu,", (unsigned long long)v);
	}
	sbuf_puts(out, "\"buckets\":[");
	for (unsigned b = 0; b < SPOPSTATS_LAT_BUCKETS; b++) {
		uint64_t le = spopstats_latency_bound(b);

		sbuf_puts(out, b ? ",{\"lt_ns\":" : "{\"lt_ns\":");
		if (le)
			sbuf_printf(out, "%llu", (unsigned long long)le);
		else
			sbuf_puts(out, "null");
		sbuf_printf(out, ",\"count\":%llu}", (unsigned long long)hist[b]);
	}
	sbuf_puts(out, "]}}\n");
}

static void spopstats_stats_text(struct sbuf *out, const uint64_t *disc, const uint64_t *hist,
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
	for (size_t f = 0; f < spopstats_nfields; f++) {
		sbuf_printf(out, "%-22s %14llu", spopstats_fields[f].key,
			    (unsigned long long)spopstats_total(&spopstats_fields[f]));
		for (unsigned i = 0; i < nw; i++)
			sbuf_printf(out, " %14llu", (unsigned long long)
				    spopstats_read(&worker_get(i)->stats, &spopstats_fields[f]));
		sbuf_putc(out, '\n');
	}
	sbuf_printf(out, "%-22s %14llu\n%-22s %14llu\n", "conns_refused",
		    (unsigned long long)listener_refused(), "accept_pauses",
		    (unsigned long long)listener_accept_pauses());
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
		int st = spopstats_slot_status(s);

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

	for (unsigned b = 0; b < SPOPSTATS_LAT_BUCKETS; b++)
		total += hist[b];
	sbuf_printf(out, "\nNOTIFY processing time (%llu frames)\n", (unsigned long long)total);
	for (size_t q = 0; q < NQUANTILES && total; q++) {
		uint64_t v = spopstats_quantile(hist, quantiles[q]);

		if (v == UINT64_MAX)
			sbuf_printf(out, "  %-6s >= %s\n", quantile_names[q],
				    spopstats_dur(spopstats_latency_bound(SPOPSTATS_LAT_BUCKETS - 2),
						 buf, sizeof(buf)));
		else
			sbuf_printf(out, "  %-6s < %s\n", quantile_names[q],
				    spopstats_dur(v, buf, sizeof(buf)));
	}
	for (unsigned b = 0; b < SPOPSTATS_LAT_BUCKETS; b++) {
		uint64_t le = spopstats_latency_bound(b);

		if (!hist[b])
			continue;
		if (le)
			sbuf_printf(out, "  < %-10s %llu\n", spopstats_dur(le, buf, sizeof(buf)),
				    (unsigned long long)hist[b]);
		else
			sbuf_printf(out, "  >= %-9s %llu\n",
				    spopstats_dur(spopstats_latency_bound(b - 1), buf, sizeof(buf)),
				    (unsigned long long)hist[b]);
	}
}

struct lookups {
	struct rtable_counters total;
};

static void spopstats_lookups_cb(void *arg, const char *service, const struct rtable_counters *c)
{
	struct lookups *l = arg;

	if (!service)
		l->total = *c;
}

void spopstats_show_stats(struct sbuf *out, int json)
{
	uint64_t disc[SPOP_ERR_SLOTS], hist[SPOPSTATS_LAT_BUCKETS];
	struct lookups lk = { { 0, 0, 0, 0 } };

	spopstats_disconnects(disc);
	spopstats_latency(hist);
	tables_counters(spopstats_lookups_cb, &lk);
	if (json)
		spopstats_stats_json(out, disc, hist, &lk.total);
	else
		spopstats_stats_text(out, disc, hist, &lk.total);
}

void spopstats_info(struct kvout *kv)
{
	uint64_t conns = 0;

	for (unsigned i = 0; i < worker_count(); i++)
		conns += atomic_load_explicit(&worker_get(i)->stats.conns_cur, memory_order_relaxed);
	kvout_u64(kv, "spop_connections", conns);
	kvout_u64(kv, "spop_conns_refused", listener_refused());
	kvout_u64(kv, "spop_accept_pauses", listener_accept_pauses());
}

/************************************************************************/
/*                               "show conns"                           */
/************************************************************************/

/* The connections of every worker, copied once, printed in parts. */
struct spopstats_conns {
	struct conn_info *list;
	size_t n, pos;
	int64_t now;               /* ages are as of the first part */
	struct texttab tab;        /* text: column widths, from a first pass */
};

static const char *const spopstats_conns_head[] = {
	"ID", "THREAD", "PEER", "ENGINE", "STATE", "MAX_FRAME", "PIPELINING", "AGE_SEC",
	"NOTIFY", "OUT_PENDING", "BUFFERED",
};
#define SPOPSTATS_CONNS_COLS (sizeof(spopstats_conns_head) / sizeof(spopstats_conns_head[0]))

/* The numbers of a row of "show conns", as text. */
struct spopstats_conn_cells {
	char id[24], thread[12], max_frame[12], age[24], notify[24], out_pending[24], buffered[24];
	const char *cell[SPOPSTATS_CONNS_COLS];
};

static const char *spopstats_conn_state(enum conn_state st)
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

/* Fills <c> for connection <x>, <age> seconds old. The peer and the
 * engine ID (HAProxy's, so from outside) are escaped by texttab.
 */
static void spopstats_conn_cells(struct spopstats_conn_cells *c, const struct conn_info *x,
				 long long age)
{
	snprintf(c->id, sizeof(c->id), "%llu", (unsigned long long)x->id);
	snprintf(c->thread, sizeof(c->thread), "%u", x->worker);
	snprintf(c->max_frame, sizeof(c->max_frame), "%u", x->max_frame);
	snprintf(c->age, sizeof(c->age), "%lld", age);
	snprintf(c->notify, sizeof(c->notify), "%llu", (unsigned long long)x->notify);
	snprintf(c->out_pending, sizeof(c->out_pending), "%zu", x->out_pending);
	snprintf(c->buffered, sizeof(c->buffered), "%zu", x->buffered);
	c->cell[0] = c->id;
	c->cell[1] = c->thread;
	c->cell[2] = x->peer;
	c->cell[3] = x->engine_id[0] ? x->engine_id : NULL;
	c->cell[4] = spopstats_conn_state(x->state);
	c->cell[5] = c->max_frame;
	c->cell[6] = x->pipelining ? "yes" : "no";
	c->cell[7] = c->age;
	c->cell[8] = c->notify;
	c->cell[9] = c->out_pending;
	c->cell[10] = c->buffered;
}

static long long spopstats_conn_age(const struct conn_info *x, int64_t now)
{
	return x->since_ms > 0 && now > x->since_ms ? (now - x->since_ms) / 1000 : 0;
}

int spopstats_show_conns(void **state, struct sbuf *out, int json)
{
	struct spopstats_conn_cells cells;
	struct spopstats_conns *st = *state;
	size_t end;

	if (!st) {
		st = calloc(1, sizeof(*st));
		if (!st) {
			sbuf_puts(out, json ? "{\"error\":\"out of memory\"}\n" : "error: out of memory\n");
			return 0;
		}
		*state = st;
		st->n = worker_list_conns(&st->list);
		st->now = clock_wall_ms();
		if (json) {
			sbuf_printf(out, "{\"count\":%zu,\"conns\":[", st->n);
		} else {
			texttab_init(&st->tab, SPOPSTATS_CONNS_COLS, spopstats_conns_head);
			for (size_t i = 0; i < st->n; i++) {
				spopstats_conn_cells(&cells, &st->list[i],
						     spopstats_conn_age(&st->list[i], st->now));
				texttab_measure(&st->tab, cells.cell);
			}
			texttab_row(&st->tab, out, spopstats_conns_head);
		}
	}
	end = st->pos + CONNS_ROWS_PER_STEP < st->n ? st->pos + CONNS_ROWS_PER_STEP : st->n;
	for (; st->pos < end; st->pos++) {
		const struct conn_info *x = &st->list[st->pos];
		long long age = spopstats_conn_age(x, st->now);

		if (json) {
			sbuf_printf(out, "%s{\"id\":%llu,\"thread\":%u,\"peer\":", st->pos ? "," : "",
				    (unsigned long long)x->id, x->worker);
			sbuf_json_cstr(out, x->peer);
			sbuf_puts(out, ",\"engine_id\":");
			sbuf_json_cstr(out, x->engine_id[0] ? x->engine_id : NULL);
			sbuf_printf(out, ",\"state\":\"%s\",\"max_frame_size\":%u,\"pipelining\":%s,"
				    "\"age_sec\":%lld,\"notify\":%llu,\"out_pending\":%zu,"
				    "\"buffered\":%zu}",
				    spopstats_conn_state(x->state), x->max_frame,
				    x->pipelining ? "true" : "false", age,
				    (unsigned long long)x->notify, x->out_pending, x->buffered);
		} else {
			spopstats_conn_cells(&cells, x, age);
			texttab_row(&st->tab, out, cells.cell);
		}
	}
	if (st->pos < st->n)
		return 1;
	if (json)
		sbuf_puts(out, "]}\n");
	spopstats_conns_abort(st);
	*state = NULL;
	return 0;
}

void spopstats_conns_abort(void *state)
{
	struct spopstats_conns *st = state;

	if (!st)
		return;
	free(st->list);
	free(st);
}

/************************************************************************/
/*                               metrics page                           */
/************************************************************************/

static void spopstats_counter(struct sbuf *out, const char *name, const char *help, uint64_t v)
{
	prom_family(out, name, PROM_COUNTER, help);
	prom_sample_u64(out, name, NULL, NULL, 0, v);
}

void spopstats_metrics(struct sbuf *out)
{
	uint64_t disc[SPOP_ERR_SLOTS], hist[SPOPSTATS_LAT_BUCKETS], cumul = 0;
	const char *hname = "swarm_spoa_notify_duration_seconds";
	unsigned nw = worker_count();

	for (size_t f = 0; f < spopstats_nfields; f++) {
		const struct spopstats_field *cf = &spopstats_fields[f];

		prom_family(out, cf->metric, cf->type, cf->help);
		prom_sample_u64(out, cf->metric, NULL, NULL, 0, spopstats_total(cf));
	}

	spopstats_counter(out, "swarm_spoa_spop_connections_refused_total",
			  "HAProxy connections refused over --max-conns.", listener_refused());
	spopstats_counter(out, "swarm_spoa_spop_accept_pauses_total",
			  "Times the SPOP acceptor paused: no file descriptor or memory left.",
			  listener_accept_pauses());
	spopstats_disconnects(disc);
	spopstats_counter(out, "swarm_spoa_spop_normal_disconnects_total",
			"AGENT-DISCONNECT frames sent with status 0 (normal close).", disc[0]);
	prom_family(out, "swarm_spoa_spop_errors_total", PROM_COUNTER,
		    "AGENT-DISCONNECT frames sent for a protocol error, by SPOP status code.");
	for (unsigned s = 1; s < SPOP_ERR_SLOTS; s++) {
		int st = spopstats_slot_status(s);
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
	spopstats_latency(hist);
	prom_family(out, hname, PROM_HISTOGRAM,
		    "Agent time to answer one NOTIFY frame (average over its read batch).");
	for (unsigned b = 0; b < SPOPSTATS_LAT_BUCKETS; b++) {
		uint64_t le_ns = spopstats_latency_bound(b);
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
				(double)spopstats_latency_sum_ns() / NS_PER_S);
		prom_sample_u64(out, hname, "_count", NULL, 0, cumul);
	}
}

