/* Stats socket commands: parsing and running. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/errlog.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "discovery/discovery.h"
#include "routing/rtable.h"
#include "spoa/agent.h"
#include "spoa/spop.h"
#include "spoa/tables.h"
#include "spoa/worker.h"
#include "stats/commands.h"
#include "stats/counters.h"
#include "stats/threadload.h"

#define ROWS_PER_STEP 256     /* rows of a snapshot printed per step */

/************************************************************************/
/*                               the syntax                             */
/************************************************************************/

struct commands_usage {
	const char *syntax;
	const char *what;
};

static const struct commands_usage usages[] = {
	{ "help", "this list" },
	{ "prompt", "toggle interactive mode: a \"> \" prompt, one command after the other" },
	{ "quit", "close the session" },
	{ "show info", "version, uptime, threads, Docker state, last sync, table generation and age" },
	{ "show stats", "SPOP counters per thread, errors by status code, load, lookups, latencies" },
	{ "show routes", "every host and path with its services, mode, flags and tasks" },
	{ "show services", "every service seen, routed or not, with the reason when skipped" },
	{ "show tasks <service>", "the tasks of a service: state, health, address, readiness" },
	{ "show errors", "the last bad labels, bad SPOP frames and Docker API errors" },
	{ "show conns", "HAProxy connections to the agent" },
	{ "explain <host> [<path>] [src <ip>] [cookie <name=value>] [method <verb>] [ssl]",
	  "which route a request matches, which task it gets, and why" },
	{ "set log-level <error|warn|info|debug>", "change the log level now" },
	{ "resync", "force a full resync with the Docker daemon" },
};

#define USAGE_SHOW_SIMPLE "show info|stats|routes|services|errors|conns [json]"
#define USAGE_SHOW_TASKS  "show tasks <service> [json]"
#define USAGE_EXPLAIN     "explain <host> [<path>] [src <ip>] [cookie <name=value>] " \
			  "[method <verb>] [ssl] [json]"
#define USAGE_SET_LEVEL   "set log-level <error|warn|info|debug> [json]"

size_t commands_split(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (line[i] == '\\')
			i++;
		else if (line[i] == ';')
			return i;
	}
	return len;
}

static int commands_fail(char *err, size_t errlen, const char *fmt, const char *a)
{
	snprintf(err, errlen, fmt, a);
	return -1;
}

/* Splits <s> into at most COMMANDS_MAX_WORDS words in <cmd->words>, with
 * <words> pointing at each. Returns the number of words, or -1 with <err>.
 */
static int commands_tokenize(const char *s, size_t len, struct command *cmd,
			     const char **words, char *err, size_t errlen)
{
	char *d = cmd->words;
	int n = 0, in_word = 0;

	if (len > COMMANDS_LINE_MAX) {
		snprintf(err, errlen, "command too long (more than %d bytes)", COMMANDS_LINE_MAX);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\' && i + 1 < len) {
			c = (unsigned char)s[++i];
		} else if (c == ' ' || c == '\t') {
			if (in_word) {
				*d++ = '\0';
				in_word = 0;
			}
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			snprintf(err, errlen, "invalid byte 0x%02x in command", c);
			return -1;
		}
		if (!in_word) {
			if (n == COMMANDS_MAX_WORDS) {
				snprintf(err, errlen, "too many words (more than %d)", COMMANDS_MAX_WORDS);
				return -1;
			}
			words[n++] = d;
			in_word = 1;
		}
		*d++ = (char)c;
	}
	if (in_word)
		*d = '\0';
	return n;
}

static int commands_is(const char *w, const char *kw)
{
	return strcmp(w, kw) == 0;
}

/* A method is an HTTP token. */
static int commands_valid_method(const char *m)
{
	if (!*m || strlen(m) > 32)
		return 0;
	for (; *m; m++)
		if (!strchr("!#$%&'*+-.^_`|~", *m) &&
		    !((*m >= '0' && *m <= '9') || (*m >= 'a' && *m <= 'z') || (*m >= 'A' && *m <= 'Z')))
			return 0;
	return 1;
}

static int commands_parse_explain(struct command *cmd, const char **w, int n,
				  char *err, size_t errlen)
{
	size_t clen = 0;
	int json = 0;

	if (n < 2 || (n == 2 && cmd->json))
		return commands_fail(err, errlen, "usage: %s", USAGE_EXPLAIN);
	cmd->host = w[1];
	for (int i = 2; i < n; i++) {
		const char *a = w[i];

		if (a[0] == '/') {
			char *q;

			if (cmd->path)
				return commands_fail(err, errlen, "path given twice ('%s')", a);
			cmd->path = a;
			q = strchr(a, '?');
			if (q) {
				*q = '\0';
				cmd->query = q + 1;
			}
		} else if (commands_is(a, "ssl")) {
			cmd->ssl = 1;
		} else if (commands_is(a, "json") && i == n - 1) {
			json = 1;
		} else if (commands_is(a, "src") || commands_is(a, "cookie") ||
			   commands_is(a, "method")) {
			const char *v = i + 1 < n ? w[i + 1] : NULL;

			if (!v)
				return commands_fail(err, errlen, "'%s' needs a value", a);
			i++;
			if (commands_is(a, "src")) {
				if (netaddr_parse(&cmd->src, v, strlen(v)) < 0)
					return commands_fail(err, errlen,
						"invalid address '%s' for src (want an IPv4 or IPv6 address)", v);
			} else if (commands_is(a, "method")) {
				if (!commands_valid_method(v))
					return commands_fail(err, errlen, "invalid method '%s'", v);
				cmd->method = v;
			} else {
				size_t vlen = strlen(v);

				if (!strchr(v, '=') || v[0] == '=' || strchr(v, ';'))
					return commands_fail(err, errlen,
						"invalid cookie '%s' (want name=value)", v);
				/* <cookies> holds at most the line: it cannot overflow. */
				if (clen) {
					memcpy(cmd->cookies + clen, "; ", 2);
					clen += 2;
				}
				memcpy(cmd->cookies + clen, v, vlen);
				clen += vlen;
				cmd->cookies[clen] = '\0';
				cmd->cookie = cmd->cookies;
			}
		} else {
			return commands_fail(err, errlen,
				"unexpected '%s' (paths start with '/'; usage: " USAGE_EXPLAIN ")", a);
		}
	}
	cmd->id = CMD_EXPLAIN;
	cmd->json = json;
	return 0;
}

static int commands_parse_show(struct command *cmd, const char **w, int n,
			       char *err, size_t errlen)
{
	static const struct {
		const char *name;
		enum commands_id id;
	} simple[] = {
		{ "info", CMD_SHOW_INFO },
		{ "stats", CMD_SHOW_STATS },
		{ "stat", CMD_SHOW_STATS },
		{ "routes", CMD_SHOW_ROUTES },
		{ "services", CMD_SHOW_SERVICES },
		{ "errors", CMD_SHOW_ERRORS },
		{ "conns", CMD_SHOW_CONNS },
	};

	if (n < 2)
		return commands_fail(err, errlen, "usage: %s", USAGE_SHOW_SIMPLE "; " USAGE_SHOW_TASKS);
	if (commands_is(w[1], "tasks")) {
		if (n == 3 || (n == 4 && commands_is(w[3], "json"))) {
			cmd->id = CMD_SHOW_TASKS;
			cmd->service = w[2];
			cmd->json = n == 4;
			return 0;
		}
		return commands_fail(err, errlen, "usage: %s", USAGE_SHOW_TASKS);
	}
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		if (!commands_is(w[1], simple[i].name))
			continue;
		if (n > 3 || (n == 3 && !commands_is(w[2], "json"))) {
			snprintf(err, errlen, "usage: show %s [json]", simple[i].name);
			return -1;
		}
		cmd->id = simple[i].id;
		cmd->json = n == 3;
		return 0;
	}
	return commands_fail(err, errlen, "unknown 'show' command '%s' (want info, stats, routes, "
			     "services, tasks, errors or conns)", w[1]);
}

/* Commands without argument but an optional "json". */
static int commands_parse_bare(struct command *cmd, enum commands_id id, const char **w, int n,
			       int json_ok, char *err, size_t errlen)
{
	if (n == 1 || (n == 2 && json_ok && cmd->json)) {
		cmd->id = id;
		cmd->json = n == 2;
		return 0;
	}
	snprintf(err, errlen, "usage: %s%s", w[0], json_ok ? " [json]" : "");
	return -1;
}

int commands_parse(const char *s, size_t len, struct command *cmd, char *err, size_t errlen)
{
	const char *w[COMMANDS_MAX_WORDS];
	int n;

	memset(cmd, 0, offsetof(struct command, words));
	cmd->words[0] = '\0';
	cmd->cookies[0] = '\0';
	n = commands_tokenize(s, len, cmd, w, err, errlen);
	if (n < 0)
		return -1;
	if (n == 0) {
		cmd->id = CMD_EMPTY;
		return 0;
	}
	/* Errors are answered in JSON when the command asked for it. */
	cmd->json = n > 1 && commands_is(w[n - 1], "json");

	if (commands_is(w[0], "show"))
		return commands_parse_show(cmd, w, n, err, errlen);
	if (commands_is(w[0], "explain"))
		return commands_parse_explain(cmd, w, n, err, errlen);
	if (commands_is(w[0], "help"))
		return commands_parse_bare(cmd, CMD_HELP, w, n, 1, err, errlen);
	if (commands_is(w[0], "resync"))
		return commands_parse_bare(cmd, CMD_RESYNC, w, n, 1, err, errlen);
	if (commands_is(w[0], "prompt"))
		return commands_parse_bare(cmd, CMD_PROMPT, w, n, 0, err, errlen);
	if (commands_is(w[0], "quit"))
		return commands_parse_bare(cmd, CMD_QUIT, w, n, 0, err, errlen);
	if (commands_is(w[0], "set")) {
		if (n < 2 || !commands_is(w[1], "log-level"))
			return commands_fail(err, errlen, "usage: %s", USAGE_SET_LEVEL);
		if (n < 3 || n > 4 || (n == 4 && !cmd->json))
			return commands_fail(err, errlen, "usage: %s", USAGE_SET_LEVEL);
		if (log_level_parse(w[2], &cmd->level) < 0)
			return commands_fail(err, errlen,
				"unknown log level '%s' (want error, warn, info or debug)", w[2]);
		cmd->id = CMD_SET_LOG_LEVEL;
		cmd->json = n == 4;
		return 0;
	}
	return commands_fail(err, errlen, "unknown command '%s' (type 'help' for the list)", w[0]);
}

void commands_error(struct sbuf *out, int json, const char *msg)
{
	if (json) {
		sbuf_puts(out, "{\"error\":");
		sbuf_json_cstr(out, msg);
		sbuf_puts(out, "}\n");
	} else {
		sbuf_printf(out, "error: %s\n", msg);
	}
}

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
static const char *commands_time(int64_t ms, char *buf)
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
		kv_str(k, key, commands_time(ms, buf));
}

static void kv_end(struct kv *k)
{
	if (k->json)
		sbuf_puts(k->out, k->n ? "}\n" : "{}\n");
}

/* Seconds since wall-clock <ms>, 0 when unknown or in the future. */
static int64_t commands_age_s(int64_t ms, int64_t now)
{
	return ms > 0 && now > ms ? (now - ms) / 1000 : 0;
}

/************************************************************************/
/*                                commands                              */
/************************************************************************/

static void commands_help(struct sbuf *out, int json)
{
	const size_t n = sizeof(usages) / sizeof(usages[0]);

	if (json) {
		sbuf_puts(out, "{\"commands\":[");
		for (size_t i = 0; i < n; i++) {
			sbuf_puts(out, i ? ",{\"syntax\":" : "{\"syntax\":");
			sbuf_json_cstr(out, usages[i].syntax);
			sbuf_puts(out, ",\"description\":");
			sbuf_json_cstr(out, usages[i].what);
			sbuf_putc(out, '}');
		}
		sbuf_puts(out, "],\"json\":\"add 'json' at the end of a command for a JSON answer\"}\n");
		return;
	}
	sbuf_puts(out, "The following commands are valid at this level "
		  "(add \"json\" at the end of one for a JSON answer):\n");
	for (size_t i = 0; i < n; i++) {
		if (strlen(usages[i].syntax) > 36)
			sbuf_printf(out, "  %s\n  %-36s : %s\n", usages[i].syntax, "", usages[i].what);
		else
			sbuf_printf(out, "  %-36s : %s\n", usages[i].syntax, usages[i].what);
	}
}

static void commands_show_info(struct sbuf *out, int json)
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
	up = commands_age_s(ai.started_ms, now);
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
		kv_i64(&k, "last_sync_age_sec", commands_age_s(ds.last_sync_ms, now));
		kv_u64(&k, "last_sync_duration_us", ds.last_sync_ns / 1000);
		kv_time(&k, "last_change", ds.last_change_ms);
		kv_time(&k, "last_docker_error_time", ds.last_error_ms);
		kv_str(&k, "last_docker_error", ds.last_error[0] ? ds.last_error : NULL);
		kv_u64(&k, "docker_requests", ds.requests);
		kv_u64(&k, "docker_request_failures", ds.request_failures);
		kv_u64(&k, "docker_events", ds.events);
		kv_u64(&k, "docker_syncs", ds.syncs);
		kv_u64(&k, "docker_reconnects", ds.reconnects);
		kv_u64(&k, "convergence_last_ms", ds.convergence_last_ms);
		kv_u64(&k, "convergence_max_ms", ds.convergence_max_ms);
	} else {
		kv_str(&k, "docker_state", "disabled");
	}

	kv_u64(&k, "table_generation", ts.generation);
	kv_time(&k, "table_published", ts.published_ms);
	kv_i64(&k, "table_age_sec", commands_age_s(ts.published_ms, now));
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
static const char *commands_dur(uint64_t ns, char *buf, size_t len)
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

static void commands_lookups_cb(void *arg, const char *service, const struct rtable_counters *c)
{
	struct lookups *l = arg;

	if (!service)
		l->total = *c;
}

static const double quantiles[] = { 0.5, 0.9, 0.99, 0.999 };
static const char *const quantile_names[] = { "p50", "p90", "p99", "p99.9" };
static const char *const quantile_keys[] = { "p50", "p90", "p99", "p999" };
#define NQUANTILES (sizeof(quantiles) / sizeof(quantiles[0]))

static void commands_stats_json(struct sbuf *out, const uint64_t *disc, const uint64_t *hist,
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

		sbuf_printf(out, "\"%s_le_ns\":", quantile_keys[q]);
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

static void commands_stats_text(struct sbuf *out, const uint64_t *disc, const uint64_t *hist,
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
				    commands_dur(counters_latency_bound(COUNTERS_LAT_BUCKETS - 2),
						 buf, sizeof(buf)));
		else
			sbuf_printf(out, "  %-6s < %s\n", quantile_names[q],
				    commands_dur(v, buf, sizeof(buf)));
	}
	for (unsigned b = 0; b < COUNTERS_LAT_BUCKETS; b++) {
		uint64_t le = counters_latency_bound(b);

		if (!hist[b])
			continue;
		if (le)
			sbuf_printf(out, "  < %-10s %llu\n", commands_dur(le, buf, sizeof(buf)),
				    (unsigned long long)hist[b]);
		else
			sbuf_printf(out, "  >= %-9s %llu\n",
				    commands_dur(counters_latency_bound(b - 1), buf, sizeof(buf)),
				    (unsigned long long)hist[b]);
	}
}

static void commands_show_stats(struct sbuf *out, int json)
{
	uint64_t disc[SPOP_ERR_SLOTS], hist[COUNTERS_LAT_BUCKETS];
	struct lookups lk = { { 0, 0, 0, 0 } };

	counters_disconnects(disc);
	counters_latency(hist);
	tables_counters(commands_lookups_cb, &lk);
	if (json)
		commands_stats_json(out, disc, hist, &lk.total);
	else
		commands_stats_text(out, disc, hist, &lk.total);
}

/* Commands that read the routing table produce their output in one go:
 * the main loop may release a retired table as soon as it runs again.
 */
static void commands_table(const struct command *cmd, struct sbuf *out)
{
	const struct rtable *t = tables_current();

	if (!t) {
		commands_error(out, cmd->json, "no routing table yet");
		return;
	}
	switch (cmd->id) {
	case CMD_SHOW_ROUTES:
		rtable_show_routes(t, out, cmd->json);
		break;
	case CMD_SHOW_SERVICES:
		rtable_show_services(t, out, cmd->json);
		break;
	case CMD_SHOW_TASKS:
		if (rtable_show_tasks(t, cmd->service, out, cmd->json) < 0) {
			char msg[COMMANDS_LINE_MAX + 64];

			snprintf(msg, sizeof(msg), "unknown service '%s'", cmd->service);
			commands_error(out, cmd->json, msg);
		}
		break;
	case CMD_EXPLAIN: {
		struct route_req req;

		memset(&req, 0, sizeof(req));
		req.host = cmd->host;
		req.host_len = strlen(cmd->host);
		if (cmd->path) {
			req.path = cmd->path;
			req.path_len = strlen(cmd->path);
		}
		if (cmd->query) {
			req.query = cmd->query;
			req.query_len = strlen(cmd->query);
		}
		if (cmd->method) {
			req.method = cmd->method;
			req.method_len = strlen(cmd->method);
		}
		if (cmd->cookie) {
			req.cookie = cmd->cookie;
			req.cookie_len = strlen(cmd->cookie);
		}
		req.ssl = cmd->ssl;
		req.src = cmd->src;
		rtable_explain(t, &req, out, cmd->json);
		break;
	}
	default:
		break;
	}
}

static void commands_set_log_level(const struct command *cmd, struct sbuf *out)
{
	enum log_level old = log_get_level();
	const struct log_kv kv[] = {
		KVS("from", log_level_name(old)), KVS("to", log_level_name(cmd->level)),
	};

	log_set_level(cmd->level);
	/* An operator's change of the logging itself is always logged, even
	 * when the new level hides info lines. */
	log_emit(LL_INFO, "stats", "log level changed", kv, 2);
	if (cmd->json)
		sbuf_printf(out, "{\"log_level\":\"%s\",\"previous\":\"%s\"}\n",
			    log_level_name(cmd->level), log_level_name(old));
	else
		sbuf_printf(out, "log level set to %s (was %s)\n",
			    log_level_name(cmd->level), log_level_name(old));
}

static void commands_resync(const struct command *cmd, struct sbuf *out)
{
	struct discovery *d = agent_discovery();

	if (!d) {
		commands_error(out, cmd->json, "no Docker discovery in this agent (started without --docker)");
		return;
	}
	discovery_resync(d);
	LOG(LL_INFO, "stats", "full Docker resync requested");
	if (cmd->json)
		sbuf_puts(out, "{\"resync\":\"started\"}\n");
	else
		sbuf_puts(out, "full resync with the Docker daemon started\n");
}

/************************************************************************/
/*                    listings printed a few rows a step                */
/************************************************************************/

/* "show errors": the ring is copied once, then printed in parts. */
static int commands_errors_step(struct commands_run *run, struct sbuf *out)
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

		commands_time(x->when_ms, when);
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

static const char *commands_conn_state(enum conn_state st)
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
static int commands_conns_step(struct commands_run *run, struct sbuf *out)
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
				    commands_conn_state(x->state), x->max_frame,
				    x->pipelining ? "true" : "false", age,
				    (unsigned long long)x->notify, x->out_pending);
		} else {
			sbuf_printf(out, "%-8llu  %-6u  %-*s  %-*s  %-7s  %-9u  %-10s  %-8lld  %-12llu  %zu\n",
				    (unsigned long long)x->id, x->worker, (int)run->width[0], x->peer,
				    (int)run->width[1], x->engine_id[0] ? x->engine_id : "-",
				    commands_conn_state(x->state), x->max_frame,
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

/************************************************************************/
/*                                dispatch                              */
/************************************************************************/

void commands_run_begin(struct commands_run *run, const struct command *cmd)
{
	memset(run, 0, sizeof(*run));
	run->cmd = cmd;
}

int commands_run_step(struct commands_run *run, struct sbuf *out)
{
	const struct command *cmd = run->cmd;

	switch (cmd->id) {
	case CMD_SHOW_ERRORS:
		return commands_errors_step(run, out);
	case CMD_SHOW_CONNS:
		return commands_conns_step(run, out);
	case CMD_HELP:
		commands_help(out, cmd->json);
		break;
	case CMD_SHOW_INFO:
		commands_show_info(out, cmd->json);
		break;
	case CMD_SHOW_STATS:
		commands_show_stats(out, cmd->json);
		break;
	case CMD_SHOW_ROUTES:
	case CMD_SHOW_SERVICES:
	case CMD_SHOW_TASKS:
	case CMD_EXPLAIN:
		commands_table(cmd, out);
		break;
	case CMD_SET_LOG_LEVEL:
		commands_set_log_level(cmd, out);
		break;
	case CMD_RESYNC:
		commands_resync(cmd, out);
		break;
	case CMD_EMPTY:
	case CMD_PROMPT:
	case CMD_QUIT:
		break;
	}
	return 0;
}

void commands_run_end(struct commands_run *run)
{
	free(run->rows);
	run->rows = NULL;
	run->nrows = run->pos = 0;
}
