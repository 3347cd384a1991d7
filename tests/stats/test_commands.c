/* The stats socket's command parser and the commands it runs
 * (stats/commands.c, stats/show.c): every command and its json variant,
 * every malformed form answered with exactly one error line, and the
 * outputs a script reads (valid JSON, listings printed in parts).
 */
#include <sys/socket.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/errlog.h"
#include "common/kvout.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "routing/routesfile.h"
#include "routing/rtable.h"
#include "routing/tables.h"
#include "stats/commands.h"
#include "stats/stats.h"

static struct command cmd;
static char err[256];

static int parse(const char *s)
{
	err[0] = '\0';
	return commands_parse(s, strlen(s), &cmd, err, sizeof(err));
}

/* Runs <line> to completion; returns the output (caller frees) and the
 * number of steps it took in <*steps>.
 */
static char *run(const char *line, int *steps)
{
	struct commands_run r;
	struct sbuf out = SBUF_INIT;
	int n = 0;

	assert_int_equal(parse(line), 0);
	commands_run_begin(&r, &cmd);
	while (commands_run_step(&r, &out)) {
		n++;
		assert_true(n < 10000);
	}
	n++;
	commands_run_end(&r);
	if (steps)
		*steps = n;
	sbuf_putc(&out, '\0');
	return out.buf;
}

static json_t *run_json(const char *line)
{
	json_error_t je;
	char *out = run(line, NULL);
	json_t *j = json_loads(out, 0, &je);

	if (!j)
		fail_msg("'%s' did not answer JSON (%s): %s", line, je.text, out);
	free(out);
	return j;
}

/************************************************************************/
/*                                 syntax                               */
/************************************************************************/

static void test_split(void **state)
{
	(void)state;
	assert_int_equal(commands_split("show info", 9), 9);
	assert_int_equal(commands_split("show info;show stats", 20), 9);
	assert_int_equal(commands_split(";x", 2), 0);
	/* an escaped ';' does not split; an escape at the very end is kept */
	assert_int_equal(commands_split("a\\;b;c", 6), 4);
	assert_int_equal(commands_split("a\\", 2), 2);
}

struct valid_case {
	const char *line;
	enum commands_id id;
	int json;
	const char *service;
};

static void test_every_command(void **state)
{
	static const struct valid_case cases[] = {
		{ "help", CMD_HELP, 0, NULL },
		{ "help json", CMD_HELP, 1, NULL },
		{ "prompt", CMD_PROMPT, 0, NULL },
		{ "quit", CMD_QUIT, 0, NULL },
		{ "show info", CMD_SHOW_INFO, 0, NULL },
		{ "show info json", CMD_SHOW_INFO, 1, NULL },
		{ "show stats", CMD_SHOW_STATS, 0, NULL },
		{ "show stat", CMD_SHOW_STATS, 0, NULL },
		{ "show stats json", CMD_SHOW_STATS, 1, NULL },
		{ "show routes", CMD_SHOW_ROUTES, 0, NULL },
		{ "show routes json", CMD_SHOW_ROUTES, 1, NULL },
		{ "show services", CMD_SHOW_SERVICES, 0, NULL },
		{ "show services json", CMD_SHOW_SERVICES, 1, NULL },
		{ "show tasks web", CMD_SHOW_TASKS, 0, "web" },
		{ "show tasks web json", CMD_SHOW_TASKS, 1, "web" },
		/* a service may be named json: arity decides */
		{ "show tasks json", CMD_SHOW_TASKS, 0, "json" },
		{ "show tasks json json", CMD_SHOW_TASKS, 1, "json" },
		{ "show errors", CMD_SHOW_ERRORS, 0, NULL },
		{ "show errors json", CMD_SHOW_ERRORS, 1, NULL },
		{ "show conns", CMD_SHOW_CONNS, 0, NULL },
		{ "show conns json", CMD_SHOW_CONNS, 1, NULL },
		{ "show certs", CMD_SHOW_CERTS, 0, NULL },
		{ "show certs json", CMD_SHOW_CERTS, 1, NULL },
		{ "show networks", CMD_SHOW_NETWORKS, 0, NULL },
		{ "show networks json", CMD_SHOW_NETWORKS, 1, NULL },
		{ "show health", CMD_SHOW_HEALTH, 0, NULL },
		{ "show health json", CMD_SHOW_HEALTH, 1, NULL },
		{ "resync", CMD_RESYNC, 0, NULL },
		{ "resync json", CMD_RESYNC, 1, NULL },
		{ "set log-level debug", CMD_SET_LOG_LEVEL, 0, NULL },
		{ "set log-level warn json", CMD_SET_LOG_LEVEL, 1, NULL },
		{ "explain web.test", CMD_EXPLAIN, 0, NULL },
		{ "explain web.test json", CMD_EXPLAIN, 1, NULL },
		{ "  \tshow   info\t ", CMD_SHOW_INFO, 0, NULL },
		{ "", CMD_EMPTY, 0, NULL },
		{ " \t ", CMD_EMPTY, 0, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (parse(cases[i].line) != 0)
			fail_msg("'%s' refused: %s", cases[i].line, err);
		assert_int_equal(cmd.id, cases[i].id);
		assert_int_equal(cmd.json, cases[i].json);
		if (cases[i].service)
			assert_string_equal(cmd.service, cases[i].service);
	}
	assert_int_equal(parse("set log-level ERROR"), 0);
	assert_int_equal(cmd.level, LL_ERROR);
}

static void test_explain_arguments(void **state)
{
	(void)state;
	assert_int_equal(parse("explain Web.Test /api/x?y=1&z src 10.1.2.3 cookie SRV=abc "
			       "cookie b=c method POST ssl json"), 0);
	assert_int_equal(cmd.id, CMD_EXPLAIN);
	assert_string_equal(cmd.host, "Web.Test");
	assert_string_equal(cmd.path, "/api/x");
	assert_string_equal(cmd.query, "y=1&z");
	assert_string_equal(cmd.cookie, "SRV=abc; b=c");
	assert_string_equal(cmd.method, "POST");
	assert_int_equal(cmd.ssl, 1);
	assert_int_equal(cmd.json, 1);
	assert_int_equal(cmd.src.family, AF_INET);

	/* options in any order, IPv6, no path */
	assert_int_equal(parse("explain h.test src ::1 ssl"), 0);
	assert_null(cmd.path);
	assert_null(cmd.cookie);
	assert_int_equal(cmd.src.family, AF_INET6);
	assert_int_equal(cmd.json, 0);

	/* "json" consumed as a value is not the json flag */
	assert_int_equal(parse("explain h.test method json"), 0);
	assert_string_equal(cmd.method, "json");
	assert_int_equal(cmd.json, 0);

	/* a backslash makes a blank part of a word */
	assert_int_equal(parse("explain h\\ x /a\\;b"), 0);
	assert_string_equal(cmd.host, "h x");
	assert_string_equal(cmd.path, "/a;b");
}

struct bad_case {
	const char *line;
	const char *message;   /* expected in the error */
	int json;              /* the error is to be given as JSON */
};

static void test_malformed_commands(void **state)
{
	static const struct bad_case cases[] = {
		{ "bogus", "unknown command 'bogus'", 0 },
		{ "SHOW INFO", "unknown command 'SHOW'", 0 },
		{ "bogus json", "unknown command 'bogus'", 1 },
		{ "show", "usage: show", 0 },
		{ "show nothing", "unknown 'show' command 'nothing'", 0 },
		{ "show info extra", "usage: show info [json]", 0 },
		{ "show info json json", "usage: show info [json]", 1 },
		{ "show routes please", "usage: show routes [json]", 0 },
		{ "show tasks", "usage: show tasks <service> [json]", 0 },
		{ "show tasks a b", "usage: show tasks", 0 },
		{ "show tasks a b json", "usage: show tasks", 1 },
		{ "explain", "usage: explain <host>", 0 },
		{ "explain json", "usage: explain <host>", 1 },
		{ "explain h src", "'src' needs a value", 0 },
		{ "explain h cookie", "'cookie' needs a value", 0 },
		{ "explain h method", "'method' needs a value", 0 },
		{ "explain h src 1.2.3", "invalid address '1.2.3' for src", 0 },
		{ "explain h src 10.0.0.0/8", "invalid address", 0 },
		{ "explain h src bad json", "invalid address 'bad'", 1 },
		{ "explain h cookie novalue", "invalid cookie 'novalue'", 0 },
		{ "explain h cookie =x", "invalid cookie", 0 },
		{ "explain h cookie a=b\\;c=d", "invalid cookie", 0 },
		{ "explain h method GE(T", "invalid method", 0 },
		{ "explain h /a /b", "path given twice", 0 },
		{ "explain h extra", "unexpected 'extra'", 0 },
		{ "explain h json /a", "unexpected 'json'", 0 },
		{ "set", "usage: set log-level", 0 },
		{ "set foo", "usage: set log-level", 0 },
		{ "set log-level", "usage: set log-level", 0 },
		{ "set log-level loud", "unknown log level 'loud'", 0 },
		{ "set log-level debug extra", "usage: set log-level", 0 },
		{ "help me", "usage: help [json]", 0 },
		{ "quit now", "usage: quit", 0 },
		{ "prompt json", "usage: prompt", 1 },
		{ "resync now", "usage: resync [json]", 0 },
		{ "show\x01info", "invalid byte 0x01", 0 },
		{ "show info\r", "invalid byte 0x0d", 0 },
		{ "\x7f", "invalid byte 0x7f", 0 },
		{ "\xff\xfe", "unknown command", 0 },
		{ "a b c d e f g h i j k l m n o p q", "too many words", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (parse(cases[i].line) == 0)
			fail_msg("'%s' accepted", cases[i].line);
		if (!strstr(err, cases[i].message))
			fail_msg("'%s': got '%s', want '%s'", cases[i].line, err, cases[i].message);
		/* one line, nothing else */
		assert_null(strchr(err, '\n'));
		assert_true(err[0] != '\0');
		assert_int_equal(cmd.json, cases[i].json);
	}
}

static void test_binary_and_long_input(void **state)
{
	char line[COMMANDS_LINE_MAX + 2];
	const char nul[] = "show\0info";

	(void)state;
	memset(line, 'a', sizeof(line));
	assert_int_equal(commands_parse(line, COMMANDS_LINE_MAX + 1, &cmd, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "command too long"));
	/* exactly the longest line is parsed (and is an unknown command) */
	assert_int_equal(commands_parse(line, COMMANDS_LINE_MAX, &cmd, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown command"));
	assert_true(strlen(err) < sizeof(err));
	assert_int_equal(commands_parse(nul, sizeof(nul) - 1, &cmd, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "invalid byte 0x00"));
}

static void test_error_forms(void **state)
{
	struct sbuf out = SBUF_INIT;

	(void)state;
	commands_error(&out, 0, "no such thing");
	assert_string_equal(out.buf, "error: no such thing\n");
	sbuf_reset(&out);
	commands_error(&out, 1, "bad \"quote\"\\");
	assert_string_equal(out.buf, "{\"error\":\"bad \\\"quote\\\"\\\\\"}\n");
	sbuf_free(&out);
}

/************************************************************************/
/*                      running, without a routing table                */
/************************************************************************/

static void test_table_commands_before_any_table(void **state)
{
	static const char *const lines[] = {
		"show routes", "show services", "show tasks web", "explain web.test /",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		char *out = run(lines[i], NULL);

		assert_string_equal(out, "error: no routing table yet\n");
		free(out);
	}
	json_t *j = run_json("show routes json");
	assert_string_equal(json_string_value(json_object_get(j, "error")), "no routing table yet");
	json_decref(j);
}

static void test_help(void **state)
{
	char *out = run("help", NULL);
	json_t *j;

	(void)state;
	for (const char *const *c = (const char *const[]){ "show info", "show stats", "show routes",
		"show services", "show tasks <service>", "show errors", "show conns", "explain <host>",
		"set log-level", "resync", "prompt", "quit", NULL }; *c; c++)
		if (!strstr(out, *c))
			fail_msg("help does not mention '%s'", *c);
	free(out);
	j = run_json("help json");
	assert_true(json_array_size(json_object_get(j, "commands")) >= 13);
	json_decref(j);
}

/* A part of the agent as the daemon registers it: a field in "show info"
 * and "show fake" answered in three parts.
 */
static void fake_info(void *arg, struct kvout *kv)
{
	kvout_str(kv, "fake_state", arg);
}

static int fake_show(void *arg, void **state, struct sbuf *out, int json)
{
	static int parts;

	if (!*state) {
		parts = 0;
		*state = &parts;
	}
	sbuf_printf(out, "part %d\n", ++parts);
	if (parts < 3)
		return 1;
	*state = NULL;
	return 0;
}

static struct stats_source fake_source = {
	.name = "conns", .arg = "ready", .info = fake_info, .show = fake_show,
};

static void test_show_info_sources(void **state)
{
	char *out = run("show info", NULL);
	json_t *j;
	int steps;

	(void)state;
	assert_non_null(strstr(out, "name: swarm-spoa\n"));
	assert_non_null(strstr(out, "table_generation: "));
	assert_null(strstr(out, "fake_state"));
	free(out);
	assert_int_equal(stats_add_source(&fake_source), 0);
	out = run("show info", NULL);
	assert_non_null(strstr(out, "fake_state: ready\n"));
	free(out);
	j = run_json("show info json");
	assert_string_equal(json_string_value(json_object_get(j, "fake_state")), "ready");
	assert_true(json_is_integer(json_object_get(j, "table_generation")));
	json_decref(j);
	/* "show conns" is answered by the source of that name, in parts */
	out = run("show conns", &steps);
	assert_string_equal(out, "part 1\npart 2\npart 3\n");
	assert_int_equal(steps, 3);
	free(out);
	stats_stop();
}

/* A command whose part of the agent does not run: one error line. */
static void test_show_without_sources(void **state)
{
	static const struct {
		const char *cmd;
		const char *error;
	} absent[] = {
		{ "show stats", "error: no SPOP workers in this process\n" },
		{ "show conns", "error: no SPOP workers in this process\n" },
		{ "show certs", "error: no certificate management in this agent "
				"(started without --haproxy-runtime)\n" },
		{ "show networks", "error: no network management in this agent "
				   "(started without --manage-networks)\n" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		char line[64];
		char *out = run(absent[i].cmd, NULL);
		json_t *j;

		assert_string_equal(out, absent[i].error);
		free(out);
		snprintf(line, sizeof(line), "%s json", absent[i].cmd);
		j = run_json(line);
		assert_non_null(strstr(absent[i].error,
				       json_string_value(json_object_get(j, "error"))));
		json_decref(j);
	}
}

/* Guards the chunked listing: the error ring is printed in several steps
 * and every entry comes out once, oldest first.
 */
static void test_show_errors_in_parts(void **state)
{
	char subject[32];
	int steps;
	char *out;
	json_t *j, *list;

	(void)state;
	errlog_record(ERRLOG_LABELS, "first", "dropped from the ring");
	for (int i = 0; i < ERRLOG_SIZE; i++) {
		snprintf(subject, sizeof(subject), "svc%d", i);
		errlog_record(i % 2 ? ERRLOG_DOCKER : ERRLOG_FRAME, subject, "it \"broke\"\tbadly");
	}
	out = run("show errors", &steps);
	assert_true(steps > 1);
	assert_null(strstr(out, "first"));
	assert_non_null(strstr(out, "svc0 "));
	assert_non_null(strstr(out, "svc127 "));
	assert_true(strstr(out, "svc0 ") < strstr(out, "svc127 "));
	free(out);

	j = run_json("show errors json");
	list = json_object_get(j, "errors");
	assert_int_equal(json_array_size(list), ERRLOG_SIZE);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "subject")), "svc0");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "message")),
			    "it \"broke\"\tbadly");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "kind")), "docker");
	assert_true(json_integer_value(json_object_get(json_object_get(j, "counts"), "labels")) >= 1);
	json_decref(j);
}

static void test_set_log_level(void **state)
{
	int fds[2];
	char buf[512];
	ssize_t n;
	char *out;
	json_t *j;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	log_set_fd(fds[1]);
	log_set_level(LL_INFO);
	out = run("set log-level error", NULL);
	assert_string_equal(out, "log level set to error (was info)\n");
	free(out);
	assert_int_equal(log_get_level(), LL_ERROR);
	/* the change itself is logged although info lines are now hidden */
	n = read(fds[0], buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "msg=\"log level changed\" from=info to=error"));

	j = run_json("set log-level debug json");
	assert_string_equal(json_string_value(json_object_get(j, "log_level")), "debug");
	assert_string_equal(json_string_value(json_object_get(j, "previous")), "error");
	json_decref(j);
	assert_int_equal(log_get_level(), LL_DEBUG);
	log_set_level(LL_ERROR);
	log_set_fd(STDERR_FILENO);
	close(fds[0]);
	close(fds[1]);
}

static void test_resync_without_discovery(void **state)
{
	char *out = run("resync", NULL);
	json_t *j;

	(void)state;
	assert_non_null(strstr(out, "error: no Docker discovery"));
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
	free(out);
	j = run_json("resync json");
	assert_non_null(json_object_get(j, "error"));
	json_decref(j);
}

/************************************************************************/
/*                       running, with a routing table                  */
/************************************************************************/

static const char routes[] =
	"{\"services\":["
	"{\"name\":\"web\",\"labels\":{\"com.docker.lb.hosts\":\"web.test\",\"com.docker.lb.port\":\"8080\"},"
	" \"tasks\":[{\"id\":\"web.1\",\"address\":\"10.0.0.5\"},"
	"            {\"id\":\"web.2\",\"address\":\"10.0.0.6\",\"state\":\"starting\"}]},"
	"{\"name\":\"api\",\"labels\":{\"com.docker.lb.hosts\":\"web.test\",\"com.docker.lb.port\":\"9000\","
	"  \"com.docker.lb.context_root\":\"/api\"},"
	" \"tasks\":[{\"id\":\"api.1\",\"address\":\"10.0.1.5\"}]},"
	"{\"name\":\"bad\",\"labels\":{\"com.docker.lb.hosts\":\"bad host\",\"com.docker.lb.port\":\"80\"}}"
	"]}";

static void load_table(void)
{
	struct rtable_build_opts bo = { .nworkers = 1, .service_cluster = NULL };
	struct model *m = routesfile_parse(routes, sizeof(routes) - 1, err, sizeof(err));

	if (!m)
		fail_msg("routes: %s", err);
	tables_init(&bo);
	assert_int_equal(tables_update("file", m), 0);
}

static void test_table_commands(void **state)
{
	char *out;
	json_t *j;

	(void)state;
	load_table();

	out = run("show routes", NULL);
	assert_non_null(strstr(out, "web.test"));
	assert_non_null(strstr(out, "/api"));
	free(out);
	j = run_json("show routes json");
	assert_true(json_is_object(j));
	json_decref(j);

	out = run("show services", NULL);
	assert_non_null(strstr(out, "skipped"));
	assert_non_null(strstr(out, "bad host"));
	free(out);
	j = run_json("show services json");
	assert_int_equal(json_array_size(json_object_get(j, "services")), 3);
	json_decref(j);

	out = run("show tasks web", NULL);
	assert_non_null(strstr(out, "web.1"));
	assert_non_null(strstr(out, "10.0.0.6"));
	free(out);
	j = run_json("show tasks web json");
	assert_int_equal(json_array_size(json_object_get(j, "tasks")), 2);
	json_decref(j);

	out = run("show tasks nope", NULL);
	assert_string_equal(out, "error: unknown service 'nope'\n");
	free(out);
	j = run_json("show tasks nope json");
	assert_string_equal(json_string_value(json_object_get(j, "error")), "unknown service 'nope'");
	json_decref(j);

	out = run("explain WEB.test:8080 /api/v1 src 192.0.2.1", NULL);
	assert_non_null(strstr(out, "api.1"));
	assert_non_null(strstr(out, "10.0.1.5"));
	free(out);
	out = run("explain web.test /api/v1 json", NULL);
	assert_non_null(strstr(out, "\"api.1\""));
	free(out);
	j = run_json("explain web.test /api/v1 json");
	assert_true(json_is_object(j));
	json_decref(j);

	out = run("show info", NULL);
	assert_non_null(strstr(out, "services: 3\n"));
	assert_non_null(strstr(out, "services_skipped: 1\n"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_every_command),
		cmocka_unit_test(test_explain_arguments),
		cmocka_unit_test(test_malformed_commands),
		cmocka_unit_test(test_binary_and_long_input),
		cmocka_unit_test(test_error_forms),
		cmocka_unit_test(test_table_commands_before_any_table),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_show_info_sources),
		cmocka_unit_test(test_show_without_sources),
		cmocka_unit_test(test_show_errors_in_parts),
		cmocka_unit_test(test_set_log_level),
		cmocka_unit_test(test_resync_without_discovery),
		cmocka_unit_test(test_table_commands),
	};

	log_set_level(LL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
