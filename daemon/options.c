/* Options: one table drives the parser, the environment names and --help. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "daemon/options.h"
#include "spoa/spop-t.h"

enum opt_kind {
	OPT_STR,
	OPT_STR_LIST,     /* repeatable; the environment takes a comma list */
	OPT_UINT,
	OPT_UINT_AUTO,    /* a number, or 'auto' (OPTIONS_AUTO) */
	OPT_OCTAL,
	OPT_FLAG,
};

struct opt_def {
	const char *name;
	const char *env;
	const char *arg;          /* metavariable for --help, NULL for flags */
	enum opt_kind kind;
	size_t offset;            /* field in struct options */
	size_t count_offset;      /* OPT_STR_LIST: the count field */
	unsigned max;             /* OPT_UINT upper bound */
	const char *help;
};

#define OFF(f) offsetof(struct options, f)

static const struct opt_def defs[] = {
	{ "listen", "SWARM_SPOA_LISTEN", "ADDR", OPT_STR_LIST, OFF(listen), OFF(nlisten), 0,
	  "SPOP listener: HOST:PORT, [V6]:PORT, :PORT or unix:PATH (repeatable;\n"
	  "default 127.0.0.1:12345)" },
	{ "routes", "SWARM_SPOA_ROUTES", "FILE", OPT_STR, OFF(routes_file), 0, 0,
	  "static routes file (JSON, see docs/routes-file.md); SIGHUP re-reads it" },
	{ "threads", "SWARM_SPOA_THREADS", "N", OPT_UINT, OFF(threads), 0, 256,
	  "worker threads (default: number of CPUs)" },
	{ "log-level", "SWARM_SPOA_LOG_LEVEL", "LEVEL", OPT_STR, OFF(log_level), 0, 0,
	  "error, warn, info (default) or debug" },
	{ "log-format", "SWARM_SPOA_LOG_FORMAT", "FMT", OPT_STR, OFF(log_format), 0, 0,
	  "logfmt (default) or json" },
	{ "max-frame-size", "SWARM_SPOA_MAX_FRAME_SIZE", "BYTES", OPT_UINT, OFF(max_frame_size), 0,
	  1024 * 1024, "largest SPOP frame accepted (default 16380)" },
	{ "idle-timeout", "SWARM_SPOA_IDLE_TIMEOUT", "SECONDS", OPT_UINT, OFF(idle_timeout_s), 0,
	  86400, "close an SPOP connection that sent no complete frame for this long\n"
	  "after its HELLO; above HAProxy's own idle limits (default 600; 0: never)" },
	{ "max-conns", "SWARM_SPOA_MAX_CONNS", "N", OPT_UINT, OFF(max_conns), 0, 1000000,
	  "SPOP connections open at once per --listen address; more are refused\n"
	  "(default 10000; 0: no cap)" },
	{ "spop-collect", "SWARM_SPOA_SPOP_COLLECT_US", "USEC", OPT_UINT_AUTO, OFF(spop_collect_us),
	  0, 10000, "a busy worker waits this long between two reads of its connections,\n"
	  "so that frames sent one by one are read and answered together; 0: read\n"
	  "at once; auto (default): 500 while HAProxy sends frames one by one\n"
	  "(3.1 and later), else 0" },
	{ "docker", "SWARM_SPOA_DOCKER", "URL", OPT_STR, OFF(docker), 0, 0,
	  "discover services from this Docker Engine: unix:///var/run/docker.sock,\n"
	  "tcp://HOST:PORT, https://HOST:PORT, or 'auto' (DOCKER_HOST, DOCKER_CERT_PATH,\n"
	  "DOCKER_TLS_VERIFY as the docker CLI reads them)" },
	{ "docker-mode", "SWARM_SPOA_DOCKER_MODE", "MODE", OPT_STR, OFF(docker_mode), 0, 0,
	  "auto (default: swarm services on a swarm manager, else containers),\n"
	  "swarm or containers" },
	{ "poll-fast", "SWARM_SPOA_POLL_FAST_MS", "MS", OPT_UINT, OFF(poll_fast_ms), 0, 60000,
	  "task polling interval while services converge (default 150)" },
	{ "poll-slow", "SWARM_SPOA_POLL_SLOW_MS", "MS", OPT_UINT, OFF(poll_slow_ms), 0, 600000,
	  "task polling interval when all is still (default 1000)" },
	{ "stats-socket", "SWARM_SPOA_STATS_SOCKET", "PATH", OPT_STR, OFF(stats_socket), 0, 0,
	  "stats/runtime unix socket, e.g. /run/swarm-spoa/stats.sock" },
	{ "stats-socket-mode", "SWARM_SPOA_STATS_SOCKET_MODE", "OCTAL", OPT_OCTAL,
	  OFF(stats_socket_mode), 0, 07777, "permissions of the stats socket (default 0600)" },
	{ "stats-listen", "SWARM_SPOA_STATS_LISTEN", "HOST:PORT", OPT_STR, OFF(stats_listen), 0, 0,
	  "also serve the stats commands over TCP (loopback only unless\n"
	  "--stats-allow-remote)" },
	{ "stats-allow-remote", "SWARM_SPOA_STATS_ALLOW_REMOTE", NULL, OPT_FLAG,
	  OFF(stats_allow_remote), 0, 0, "allow --stats-listen on a non-loopback address" },
	{ "metrics-listen", "SWARM_SPOA_METRICS_LISTEN", "HOST:PORT", OPT_STR, OFF(metrics_listen),
	  0, 0, "serve Prometheus metrics at http://HOST:PORT/metrics (loopback only\n"
	  "unless --metrics-allow-remote)" },
	{ "metrics-allow-remote", "SWARM_SPOA_METRICS_ALLOW_REMOTE", NULL, OPT_FLAG,
	  OFF(metrics_allow_remote), 0, 0, "allow --metrics-listen on a non-loopback address" },
	{ "service-cluster", "SWARM_SPOA_SERVICE_CLUSTER", "NAME", OPT_STR, OFF(service_cluster),
	  0, 0, "route only services whose com.docker.lb.service_cluster is NAME\n"
	  "(default: services without that label)" },
	{ "cookie-key-file", "SWARM_SPOA_COOKIE_KEY_FILE", "FILE", OPT_STR, OFF(cookie_key_file),
	  0, 0, "secret (16 to 4096 bytes, e.g. a Docker secret) keying the cookies of\n"
	  "swarm-spoa.sticky_managed; the same on every agent (default: random,\n"
	  "valid for this process only)" },
	{ "policy", "SWARM_SPOA_POLICY", "FILE", OPT_STR, OFF(policy_file), 0, 0,
	  "the operator's ownership policy: hosts pinned to stacks, who may use\n"
	  "wildcards, default_backend and which secrets (docs/security.md);\n"
	  "SIGHUP re-reads it" },
	{ "ledger", "SWARM_SPOA_LEDGER", "FILE", OPT_STR, OFF(ledger_file), 0, 0,
	  "keep the host claims (which stack claimed each host first) in FILE,\n"
	  "written atomically; agents sharing it agree (default: memory only)" },
	{ "claim-grace", "SWARM_SPOA_CLAIM_GRACE", "SECONDS", OPT_UINT, OFF(claim_grace_s), 0,
	  30 * 86400, "a host stays its owner's this long after its last service\n"
	  "is gone (default 86400)" },
	{ "manage-networks", "SWARM_SPOA_MANAGE_NETWORKS", NULL, OPT_FLAG, OFF(manage_networks), 0, 0,
	  "keep the proxy service attached to exactly the networks routed services\n"
	  "use, and remove stack networks it alone held (writes to the Docker API)" },
	{ "proxy-service", "SWARM_SPOA_PROXY_SERVICE", "NAME", OPT_STR, OFF(proxy_service), 0, 0,
	  "the HAProxy service (for --manage-networks and certificates)" },
	{ "network-grace", "SWARM_SPOA_NETWORK_GRACE", "SECONDS", OPT_UINT, OFF(network_grace_s),
	  0, 3600, "wait before detaching or removing an unused network (default 5)" },
	{ "network-updates", "SWARM_SPOA_NETWORK_UPDATES", "N", OPT_UINT, OFF(network_updates),
	  0, 1000, "update (restart) the proxy service for network changes at most N\n"
	  "times per --network-window, both agents together; 0: no limit (default 6)" },
	{ "network-window", "SWARM_SPOA_NETWORK_WINDOW", "SECONDS", OPT_UINT, OFF(network_window_s),
	  0, 86400, "the window of --network-updates (default 600)" },
	{ "haproxy-runtime", "SWARM_SPOA_HAPROXY_RUNTIME", "ADDR", OPT_STR_LIST, OFF(haproxy_runtime),
	  OFF(nhaproxy_runtime), 0,
	  "HAProxy runtime API to push certificates to and to read failed requests\n"
	  "from (passive health): unix:PATH, HOST:PORT or tasks:SERVICE:PORT\n"
	  "(every task of a swarm service; repeatable)" },
	{ "haproxy-runtime-ca", "SWARM_SPOA_HAPROXY_RUNTIME_CA", "FILE", OPT_STR,
	  OFF(haproxy_runtime_ca), 0, 0,
	  "speak TLS to every TCP --haproxy-runtime: HAProxy's certificate must\n"
	  "chain to this PEM CA (docs/security.md; needs --haproxy-runtime-cert)" },
	{ "haproxy-runtime-cert", "SWARM_SPOA_HAPROXY_RUNTIME_CERT", "FILE", OPT_STR,
	  OFF(haproxy_runtime_cert), 0, 0,
	  "the agent's client certificate (PEM) for TLS to the runtime API" },
	{ "haproxy-runtime-key", "SWARM_SPOA_HAPROXY_RUNTIME_KEY", "FILE", OPT_STR,
	  OFF(haproxy_runtime_key), 0, 0,
	  "its private key (PEM; default: in --haproxy-runtime-cert's file)" },
	{ "traffic-interval", "SWARM_SPOA_TRAFFIC_INTERVAL", "SECONDS", OPT_UINT,
	  OFF(traffic_interval_s), 0, 3600,
	  "read each HAProxy's per-service traffic table (show table) this often\n"
	  "(default 5; 0: never, no per-service traffic figures)" },
	{ "certs-dir", "SWARM_SPOA_CERTS_DIR", "DIR", OPT_STR, OFF(certs_dir), 0, 0,
	  "directory where certificate secrets are mounted (default /run/secrets)" },
	{ "default-cert", "SWARM_SPOA_DEFAULT_CERT", "FILE", OPT_STR, OFF(default_cert), 0, 0,
	  "PEM (certificate and key) served for unknown SNI names" },
	{ "crt-list", "SWARM_SPOA_CRT_LIST", "PATH", OPT_STR, OFF(crt_list), 0, 0,
	  "HAProxy crt-list the certificates are added to (default: the only\n"
	  "one HAProxy has)" },
	{ "manage-secrets", "SWARM_SPOA_MANAGE_SECRETS", NULL, OPT_FLAG, OFF(manage_secrets), 0, 0,
	  "mount the Docker secrets that certificate labels name into the\n"
	  "agent's own service, --agent-service (writes to the Docker API;\n"
	  "the agent tasks are replaced one by one)" },
	{ "agent-service", "SWARM_SPOA_AGENT_SERVICE", "NAME", OPT_STR, OFF(agent_service), 0, 0,
	  "the agent's own swarm service (for --manage-secrets)" },
};

#define NDEFS (sizeof(defs) / sizeof(defs[0]))

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s [OPTIONS]\n"
		"\n"
		"swarm-spoa answers HAProxy's SPOE \"route\" messages from a routing table kept\n"
		"in step with Docker Swarm service labels (com.docker.lb.*).\n"
		"\n"
		"Options (each also read from the environment variable shown):\n", prog);
	for (size_t i = 0; i < NDEFS; i++) {
		char head[64];
		const char *h = defs[i].help;

		snprintf(head, sizeof(head), "--%s%s%s", defs[i].name,
			 defs[i].arg ? " " : "", defs[i].arg ? defs[i].arg : "");
		fprintf(f, "  %-28s ", head);
		while (*h) {
			const char *nl = strchr(h, '\n');
			size_t n = nl ? (size_t)(nl - h) : strlen(h);

			fprintf(f, "%.*s\n", (int)n, h);
			h += n;
			if (*h == '\n') {
				h++;
				fprintf(f, "  %-28s ", "");
			}
		}
		fprintf(f, "  %-28s [%s]\n", "", defs[i].env);
	}
	fprintf(f,
		"  %-28s show this help\n"
		"  %-28s show the version\n"
		"\n"
		"Signals: SIGTERM/SIGINT stop gracefully, SIGHUP re-reads --routes.\n"
		"See swarm-spoa(8).\n", "--help", "--version");
}

static void die(const char *prog, const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, "\nTry '%s --help'.\n", prog);
	exit(2);
}

static void set_value(struct options *o, const struct opt_def *d, const char *val,
		      const char *prog, const char *origin)
{
	char *base = (char *)o;
	char *end;
	unsigned long v;

	switch (d->kind) {
	case OPT_STR:
		*(const char **)(base + d->offset) = val;
		break;
	case OPT_STR_LIST: {
		size_t *n = (size_t *)(base + d->count_offset);
		const char **list = (const char **)(base + d->offset);

		if (*n >= OPTIONS_MAX_LISTEN)
			die(prog, "too many values for %s (max 16)", origin, "");
		list[(*n)++] = val;
		break;
	}
	case OPT_UINT_AUTO:
		if (!strcasecmp(val, "auto")) {
			*(unsigned *)(base + d->offset) = OPTIONS_AUTO;
			break;
		}
		/* fall through */
	case OPT_UINT:
	case OPT_OCTAL:
		errno = 0;
		v = strtoul(val, &end, d->kind == OPT_OCTAL ? 8 : 10);
		if (errno || *end || end == val || v > d->max || val[0] == '-')
			die(prog, "invalid value '%s' for %s", val, origin);
		*(unsigned *)(base + d->offset) = (unsigned)v;
		break;
	case OPT_FLAG:
		if (!val || !strcasecmp(val, "1") || !strcasecmp(val, "true") ||
		    !strcasecmp(val, "yes") || !strcasecmp(val, "on"))
			*(int *)(base + d->offset) = 1;
		else if (!strcasecmp(val, "0") || !strcasecmp(val, "false") ||
			 !strcasecmp(val, "no") || !strcasecmp(val, "off"))
			*(int *)(base + d->offset) = 0;
		else
			die(prog, "invalid value '%s' for %s (want true or false)", val, origin);
		break;
	}
}

/* Copies of environment lists, split in place; options point into them. */
static char *env_copies[sizeof(((struct options *)0)->listen) / sizeof(char *)];
static size_t nenv_copies;

/* Splits a comma list from the environment into a list option. The string
 * is duplicated once and lives until options_release().
 */
static void set_env_list(struct options *o, const struct opt_def *d, const char *val,
			 const char *prog)
{
	char *copy = strdup(val), *save = NULL, *tok;

	if (!copy || nenv_copies >= sizeof(env_copies) / sizeof(env_copies[0]))
		die(prog, "out of memory%s%s", "", "");
	env_copies[nenv_copies++] = copy;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (*tok)
			set_value(o, d, tok, prog, d->env);
	}
}

void options_release(void)
{
	while (nenv_copies) {
		free(env_copies[--nenv_copies]);
		env_copies[nenv_copies] = NULL;
	}
}

void options_parse(struct options *o, int argc, char **argv)
{
	struct option longopts[NDEFS + 3];
	const char *prog = argv[0];
	int from_cli_list[NDEFS] = { 0 };
	int c, idx;

	memset(o, 0, sizeof(*o));
	o->log_level = "info";
	o->log_format = "logfmt";
	o->max_frame_size = SPOP_MAX_FRAME_SIZE;
	o->idle_timeout_s = OPTIONS_IDLE_TIMEOUT;
	o->max_conns = OPTIONS_MAX_CONNS;
	o->spop_collect_us = OPTIONS_AUTO;
	o->docker_mode = "auto";
	o->poll_fast_ms = 150;
	o->poll_slow_ms = 1000;
	o->stats_socket_mode = 0600;
	o->network_grace_s = 5;
	o->network_updates = 6;
	o->network_window_s = 600;
	o->claim_grace_s = 86400;
	o->traffic_interval_s = OPTIONS_TRAFFIC_INTERVAL;
	o->certs_dir = "/run/secrets";

	for (size_t i = 0; i < NDEFS; i++) {
		const char *v = getenv(defs[i].env);

		if (!v || (!*v && defs[i].kind != OPT_STR))
			continue;
		if (defs[i].kind == OPT_STR_LIST)
			set_env_list(o, &defs[i], v, prog);
		else
			set_value(o, &defs[i], v, prog, defs[i].env);
	}

	for (size_t i = 0; i < NDEFS; i++) {
		longopts[i].name = defs[i].name;
		longopts[i].has_arg = defs[i].kind == OPT_FLAG ? no_argument : required_argument;
		longopts[i].flag = NULL;
		longopts[i].val = 256 + (int)i;
	}
	longopts[NDEFS] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[NDEFS + 1] = (struct option){ "version", no_argument, NULL, 'V' };
	longopts[NDEFS + 2] = (struct option){ NULL, 0, NULL, 0 };

	opterr = 0;
	while ((c = getopt_long(argc, argv, "hV", longopts, &idx)) != -1) {
		if (c == 'h') {
			usage(stdout, prog);
			exit(0);
		}
		if (c == 'V') {
			printf("swarm-spoa %s\n", SWARM_SPOA_VERSION);
			exit(0);
		}
		if (c < 256) {
			die(prog, "unknown or incomplete option '%s'%s",
			    argv[optind - 1] ? argv[optind - 1] : "?", "");
		}
		{
			const struct opt_def *d = &defs[c - 256];
			char origin[64];

			snprintf(origin, sizeof(origin), "--%s", d->name);
			/* The command line replaces a list from the environment. */
			if (d->kind == OPT_STR_LIST && !from_cli_list[c - 256]) {
				*(size_t *)((char *)o + d->count_offset) = 0;
				from_cli_list[c - 256] = 1;
			}
			set_value(o, d, optarg, prog, origin);
		}
	}
	if (optind < argc)
		die(prog, "unexpected argument '%s'%s", argv[optind], "");
	if (!o->nlisten)
		o->listen[o->nlisten++] = "127.0.0.1:12345";
	if (o->max_frame_size < SPOP_MIN_FRAME_SIZE)
		die(prog, "--max-frame-size must be at least 256%s%s", "", "");
	if (!o->network_window_s)
		die(prog, "--network-window must be at least 1 second%s%s", "", "");
}
