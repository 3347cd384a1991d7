/* What "show info" and "show errors" print, the routing table's listings
 * stepped through, and the answers of the registered sources.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/errlog.h"
#include "common/kvout.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "common/texttab.h"
#include "routing/rtable.h"
#include "routing/tables.h"
#include "stats/httpd.h"
#include "stats/commands.h"
#include "stats/show.h"
#include "stats/server.h"
#include "stats/stats.h"

#define ROWS_PER_STEP 64      /* rows of "show errors" printed per step */
/* A step of a routing table listing prints up to 256 rows, fewer when they
 * are large (a route in JSON is over a kilobyte): it stops at the end of
 * the part of 16 rows that passes 32 kB. That is well under a millisecond
 * of the main loop, and bounds what a client that reads slowly makes the
 * agent buffer (see SERVER_OUT_HIGH).
 */
#define TABLE_ROWS_PER_STEP  256
#define TABLE_ROWS_PER_PART  16
#define TABLE_BYTES_PER_STEP (32u << 10)

/* Seconds since wall-clock <ms>, 0 when unknown or in the future. */
static int64_t show_age_s(int64_t ms, int64_t now)
{
	return ms > 0 && now > ms ? (now - ms) / 1000 : 0;
}

struct show_info_ctx {
	struct kvout *kv;
};

static void show_info_source(void *ctx, const struct stats_source *src)
{
	struct show_info_ctx *c = ctx;

	if (src->info)
		src->info(src->arg, c->kv);
}

void show_info(struct sbuf *out, int json)
{
	struct kvout k;
	struct show_info_ctx ctx = { &k };
	struct tables_status ts;
	const struct rtable *t = tables_current();
	int64_t now = clock_wall_ms();
	uint64_t errors = 0;

	tables_status(&ts);
	for (int e = 0; e < ERRLOG_KINDS; e++)
		errors += errlog_count((enum errlog_kind)e);

	kvout_begin(&k, out, json);
	kvout_str(&k, "name", "swarm-spoa");
	stats_source_each(show_info_source, &ctx);
	kvout_str(&k, "log_level", log_level_name(log_get_level()));
	kvout_u64(&k, "table_generation", ts.generation);
	kvout_time(&k, "table_published", ts.published_ms);
	kvout_i64(&k, "table_age_sec", show_age_s(ts.published_ms, now));
	kvout_u64(&k, "table_build_us", ts.build_ns / 1000);
	kvout_u64(&k, "table_build_failures", ts.build_failures);
	kvout_u64(&k, "tables_retired_waiting", ts.retired_waiting);
	if (t) {
		struct rtable_info info;

		rtable_info(t, &info);
		kvout_u64(&k, "services", info.services);
		kvout_u64(&k, "services_routed", info.routed);
		kvout_u64(&k, "services_skipped", info.skipped);
		kvout_u64(&k, "services_refused", info.refused);
		kvout_u64(&k, "hosts", info.hosts);
		kvout_u64(&k, "routes", info.routes);
		kvout_u64(&k, "tasks_ready", info.tasks);
		kvout_u64(&k, "table_memory_bytes", info.memory);
	}
	kvout_u64(&k, "errors_recorded", errors);
	kvout_u64(&k, "stats_accept_pauses", server_accept_pauses());
	kvout_u64(&k, "metrics_accept_pauses", httpd_accept_pauses());
	kvout_end(&k);
}

/* The source that answers "show <name>", with the reason given when the
 * agent runs without it.
 */
static const struct {
	enum commands_id id;
	const char *source;
	const char *absent;
} show_sources[] = {
	{ CMD_SHOW_STATS, "stats", "no SPOP workers in this process" },
	{ CMD_SHOW_CONNS, "conns", "no SPOP workers in this process" },
	{ CMD_SHOW_CERTS, "certs", "no certificate management in this agent "
				   "(started without --haproxy-runtime)" },
	{ CMD_SHOW_NETWORKS, "networks", "no network management in this agent "
					 "(started without --manage-networks)" },
	{ CMD_SHOW_HEALTH, "health", "no passive health in this agent "
				     "(started without --haproxy-runtime)" },
};

int show_source_step(struct commands_run *run, struct sbuf *out)
{
	const struct command *cmd = run->cmd;

	if (!run->started) {
		run->started = 1;
		for (size_t i = 0; i < sizeof(show_sources) / sizeof(show_sources[0]); i++) {
			if (show_sources[i].id != cmd->id)
				continue;
			run->source = stats_source_find(show_sources[i].source);
			if (!run->source || !run->source->show) {
				run->source = NULL;
				commands_error(out, cmd->json, show_sources[i].absent);
				return 0;
			}
		}
		if (!run->source)
			return 0;
	}
	if (run->source->show(run->source->arg, &run->state, out, cmd->json))
		return 1;
	run->source = NULL;
	return 0;
}

/************************************************************************/
/*                    listings printed a few rows a step                */
/************************************************************************/

/* "show errors": the ring is copied once, then printed in parts. */
static const char *const errors_head[] = { "TIME", "KIND", "SUBJECT", "MESSAGE" };

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
		texttab_init(&run->tab, 4, errors_head);
		for (size_t i = 0; i < run->nrows; i++) {
			char when[CLOCK_ISO8601_LEN];

			texttab_measure(&run->tab, (const char *const[]){
				clock_iso8601(e[i].when_ms, when), errlog_kind_name(e[i].kind),
				e[i].subject, "" });
		}
		if (json) {
			sbuf_puts(out, "{\"counts\":{");
			for (int k = 0; k < ERRLOG_KINDS; k++)
				sbuf_printf(out, "%s\"%s\":%llu", k ? "," : "",
					    errlog_kind_name((enum errlog_kind)k),
					    (unsigned long long)errlog_count((enum errlog_kind)k));
			sbuf_puts(out, "},\"errors\":[");
		} else {
			texttab_row(&run->tab, out, errors_head);
		}
	}
	e = run->rows;
	end = run->pos + ROWS_PER_STEP < run->nrows ? run->pos + ROWS_PER_STEP : run->nrows;
	for (; run->pos < end; run->pos++) {
		const struct errlog_entry *x = &e[run->pos];
		char when[CLOCK_ISO8601_LEN];

		clock_iso8601(x->when_ms, when);
		if (json) {
			sbuf_printf(out, "%s{\"time\":\"%s\",\"time_ms\":%lld,\"kind\":\"%s\",\"subject\":",
				    run->pos ? "," : "", when, (long long)x->when_ms,
				    errlog_kind_name(x->kind));
			sbuf_json_cstr(out, x->subject);
			sbuf_puts(out, ",\"message\":");
			sbuf_json_cstr(out, x->message);
			sbuf_putc(out, '}');
		} else {
			texttab_row(&run->tab, out, (const char *const[]){
				when, errlog_kind_name(x->kind), x->subject, x->message });
		}
	}
	if (run->pos < run->nrows)
		return 1;
	if (json)
		sbuf_puts(out, "]}\n");
	return 0;
}

struct show_extra_ctx {
	const struct stats_source *src;
};

static void show_find_extra(void *ctx, const struct stats_source *src)
{
	struct show_extra_ctx *c = ctx;

	if (!c->src && src->service)
		c->src = src;
}

/* The "show services" column of the first source that has one. */
static void show_service_extra(struct rtable_show_cursor *cur)
{
	struct show_extra_ctx c = { NULL };

	stats_source_each(show_find_extra, &c);
	cur->service_extra = c.src ? c.src->service : NULL;
	cur->service_extra_arg = c.src ? c.src->arg : NULL;
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
		show_service_extra(&run->cursor);
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
