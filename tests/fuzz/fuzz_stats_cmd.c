/* libFuzzer target for the stats socket's command parser
 * (stats/commands.c): the input is what a client sends, split into lines
 * and commands as the session does; every command that parses is also run
 * against a small routing table, so that explain and the listings see
 * hostile hosts, paths and cookies too.
 *
 * Invariants: a refused command has one non-empty error line; a parsed one
 * has a known id and what its id needs; no output holds a NUL byte.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/sbuf.h"
#include "routing/routesfile.h"
#include "routing/tables.h"
#include "stats/commands.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char routes[] =
	"{\"services\":["
	"{\"name\":\"web\",\"labels\":{\"com.docker.lb.hosts\":\"web.test,*.web.test\","
	"  \"com.docker.lb.port\":\"8080\",\"com.docker.lb.sticky_session_cookie\":\"SRV\"},"
	" \"tasks\":[{\"id\":\"web.1\",\"address\":\"10.0.0.5\"},{\"id\":\"web.2\",\"address\":\"fd00::6\"}]},"
	"{\"name\":\"api\",\"labels\":{\"com.docker.lb.hosts\":\"web.test\",\"com.docker.lb.port\":\"9000\","
	"  \"com.docker.lb.context_root\":\"/api\",\"com.docker.lb.context_root_rewrite\":\"true\","
	"  \"com.docker.lb.ip_hash\":\"true\"},"
	" \"tasks\":[{\"id\":\"api.1\",\"address\":\"10.0.1.5\"}]},"
	"{\"name\":\"secure\",\"labels\":{\"com.docker.lb.hosts\":\"secure.test\",\"com.docker.lb.port\":\"443\","
	"  \"com.docker.lb.ssl_only\":\"true\",\"com.docker.lb.redirects\":\"http://old.test,https://secure.test\"},"
	" \"tasks\":[]},"
	"{\"name\":\"bad\",\"labels\":{\"com.docker.lb.hosts\":\"bad host\"}}"
	"]}";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct rtable_build_opts bo = { .nworkers = 1, .service_cluster = NULL };
	char err[256];
	struct model *m;

	(void)argc;
	(void)argv;
	log_set_fd(open("/dev/null", O_WRONLY | O_CLOEXEC));
	m = routesfile_parse(routes, sizeof(routes) - 1, err, sizeof(err));
	if (!m) {
		fprintf(stderr, "fuzz_stats_cmd: routes: %s\n", err);
		abort();
	}
	tables_init(&bo);
	if (tables_update("file", m) < 0)
		abort();
	return 0;
}

static void run_command(const struct command *cmd)
{
	struct commands_run r;
	struct sbuf out = SBUF_INIT;
	int steps = 0;

	if (cmd->id == CMD_PROMPT || cmd->id == CMD_QUIT || cmd->id == CMD_EMPTY)
		return;
	commands_run_begin(&r, cmd);
	while (commands_run_step(&r, &out))
		if (++steps > 100000)
			abort();
	commands_run_end(&r);
	if (out.buf && strlen(out.buf) != out.len)
		abort();
	sbuf_free(&out);
	/* the threshold is global: keep it where the logs stay quiet */
	log_set_level(LL_ERROR);
}

static void check_line(const char *line, size_t len)
{
	static struct command cmd;
	char err[256];
	size_t pos = 0;

	while (pos <= len) {
		size_t seg = commands_split(line + pos, len - pos);

		if (commands_parse(line + pos, seg, &cmd, err, sizeof(err)) < 0) {
			if (!err[0] || strchr(err, '\n'))
				abort();
		} else {
			if (cmd.id > CMD_SHOW_HEALTH)
				abort();
			if (cmd.id == CMD_SHOW_TASKS && !cmd.service)
				abort();
			if (cmd.id == CMD_EXPLAIN && (!cmd.host || (cmd.path && cmd.path[0] != '/')))
				abort();
			run_command(&cmd);
		}
		pos += seg + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		size_t n = lf ? (size_t)(lf - p) : (size_t)(end - p);

		if (n && p[n - 1] == '\r')
			n--;
		if (n <= COMMANDS_LINE_MAX + 1)
			check_line(p, n);
		p += (lf ? (size_t)(lf - p) + 1 : n);
		if (!lf)
			break;
	}
	return 0;
}
