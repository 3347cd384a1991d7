/* The stats socket's commands: parsing a command line into a command, and
 * running a command into text or JSON output, produced in parts so that a
 * long listing never holds the event loop.
 *
 * Syntax (HAProxy runtime API style): words separated by blanks, several
 * commands on one line separated by ';', a backslash makes the next
 * character literal ("\;", "\ ", "\\"). A command that ends with the word
 * "json" answers in JSON; so does its error, if any.
 */
#ifndef STATS_COMMANDS_H
#define STATS_COMMANDS_H

#include <stddef.h>
#include "common/log-t.h"
#include "common/netaddr-t.h"
#include "common/texttab.h"
#include "routing/rtable.h"

struct sbuf;
struct stats_source;

#define COMMANDS_LINE_MAX 4096    /* longest command line, without its LF */
#define COMMANDS_MAX_WORDS 16

enum commands_id {
	CMD_EMPTY = 0,       /* blank command: nothing to do */
	CMD_HELP,
	CMD_PROMPT,          /* toggles interactive mode (the session handles it) */
	CMD_QUIT,            /* closes the session (the session handles it) */
	CMD_SHOW_INFO,
	CMD_SHOW_STATS,
	CMD_SHOW_ROUTES,
	CMD_SHOW_SERVICES,
	CMD_SHOW_TASKS,
	CMD_SHOW_ERRORS,
	CMD_SHOW_CONNS,
	CMD_EXPLAIN,
	CMD_SET_LOG_LEVEL,
	CMD_RESYNC,
	CMD_SHOW_CERTS,
	CMD_SHOW_NETWORKS,
	CMD_SHOW_HEALTH,     /* the last one: tests check ids against it */
};

/* A parsed command. Its strings point into its own <words> buffer: a
 * command must not be copied by value.
 */
struct command {
	enum commands_id id;
	int json;                  /* "json" variant */
	const char *service;       /* show tasks */
	enum log_level level;      /* set log-level */
	const char *host;          /* explain */
	const char *path;          /* explain: without the query string, or NULL */
	const char *query;         /* explain: after '?', or NULL */
	const char *method;        /* explain, or NULL */
	const char *cookie;        /* explain: "a=b; c=d", or NULL */
	int ssl;                   /* explain: as if the request came over TLS */
	struct netaddr src;        /* explain: family 0 when not given */
	char words[COMMANDS_LINE_MAX + 1];
	char cookies[COMMANDS_LINE_MAX + 1];
};

/* Returns the length of the first command of the <len> bytes at <line>:
 * up to the first ';' that is not escaped, or all of it.
 */
size_t commands_split(const char *line, size_t len);

/* Parses the single command in the <len> bytes at <s> (no ';' split: see
 * commands_split()) into <cmd>. Returns 0, or -1 with a one-line message
 * in <err> (<errlen> bytes); <cmd->json> then says whether the command
 * asked for JSON, so that the error can be given in the same form.
 */
int commands_parse(const char *s, size_t len, struct command *cmd, char *err, size_t errlen);

/* Appends <msg> as the error answer of a command: "error: <msg>" or
 * {"error":"<msg>"} when <json>, followed by a LF.
 */
void commands_error(struct sbuf *out, int json, const char *msg);

/* A running command: what it has produced so far. */
struct commands_run {
	const struct command *cmd;
	unsigned started;
	size_t pos;                /* rows of <rows> already printed */
	size_t nrows;
	void *rows;                /* snapshot being printed, owned */
	struct texttab tab;        /* text columns of the snapshot */
	const struct stats_source *source; /* answering "show <name>", until its end */
	void *state;               /* the source's, between its parts */
	const struct rtable *table;        /* held (tables_hold) while listed */
	struct rtable_show_cursor cursor;  /* where the table's listing stands */
};

/* Prepares <run> for <cmd>, which must stay valid until
 * commands_run_end(). Every command but CMD_PROMPT and CMD_QUIT runs here.
 */
void commands_run_begin(struct commands_run *run, const struct command *cmd);

/* Appends the next part of the output to <out>. Returns 1 when more is to
 * come, 0 once the output is complete. Each call does a bounded amount of
 * work: listings come a few hundred rows at a time, those of the routing
 * table from a table held until the listing ends (or commands_run_end()),
 * so that the table listed is the one of the first part even when a newer
 * one replaces it meanwhile.
 */
int commands_run_step(struct commands_run *run, struct sbuf *out);

/* Releases what <run> holds; safe after a partial run. */
void commands_run_end(struct commands_run *run);

#endif
