/* Stats socket commands: parsing and running. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/netaddr.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "routing/rtable.h"
#include "routing/tables.h"
#include "stats/commands.h"
#include "stats/show.h"
#include "stats/stats.h"

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
	{ "show certs", "certificates: source, hosts, expiry, state on each HAProxy, and why refused" },
	{ "show networks", "the proxy service's networks: who attached each, its users, grace timers" },
	{ "explain <host> [<path>] [src <ip>] [cookie <name=value>] [method <verb>] [ssl]",
	  "which route a request matches, which task it gets, and why" },
	{ "set log-level <error|warn|info|debug>", "change the log level now" },
	{ "resync", "force a full resync with the Docker daemon" },
};

#define USAGE_SHOW_SIMPLE "show info|stats|routes|services|errors|conns|certs|networks|health [json]"
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
		{ "certs", CMD_SHOW_CERTS },
		{ "networks", CMD_SHOW_NETWORKS },
		{ "health", CMD_SHOW_HEALTH },
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
			     "services, tasks, errors, conns, certs, networks or health)", w[1]);
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

/* One request, answered in one go: it reads a handful of routes. */
static void commands_explain(const struct command *cmd, struct sbuf *out)
{
	const struct rtable *t = tables_current();
	struct route_req req;

	if (!t) {
		commands_error(out, cmd->json, "no routing table yet");
		return;
	}
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
	if (stats_resync() < 0) {
		commands_error(out, cmd->json, "no Docker discovery in this agent (started without --docker)");
		return;
	}
	if (cmd->json)
		sbuf_puts(out, "{\"resync\":\"started\"}\n");
	else
		sbuf_puts(out, "full resync with the Docker daemon started\n");
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
		return show_errors_step(run, out);
	case CMD_SHOW_STATS:
	case CMD_SHOW_CONNS:
	case CMD_SHOW_CERTS:
	case CMD_SHOW_NETWORKS:
	case CMD_SHOW_HEALTH:
		return show_source_step(run, out);
	case CMD_HELP:
		commands_help(out, cmd->json);
		break;
	case CMD_SHOW_INFO:
		show_info(out, cmd->json);
		break;
	case CMD_SHOW_ROUTES:
	case CMD_SHOW_SERVICES:
	case CMD_SHOW_TASKS:
		return show_table_step(run, out);
	case CMD_EXPLAIN:
		commands_explain(cmd, out);
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
	if (run->table) {
		tables_unhold(run->table);
		run->table = NULL;
	}
	if (run->source) {
		if (run->state && run->source->show_abort)
			run->source->show_abort(run->source->arg, run->state);
		run->source = NULL;
		run->state = NULL;
	}
}
