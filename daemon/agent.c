/* The composition root: the agent's parts created, wired to each other
 * and to the stats socket, around the main loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <ev.h>

#include "certs/certs.h"
#include "common/clock.h"
#include "common/errlog.h"
#include "common/kvout.h"
#include "common/log.h"
#include "common/prom.h"
#include "common/sbuf.h"
#include "common/siphash.h"
#include "daemon/agent.h"
#include "daemon/options.h"
#include "discovery/discovery.h"
#include "discovery/discstats.h"
#include "dockerapi/dockerapi.h"
#include "dockerapi/dockerhost.h"
#include "haproxyapi/hachan.h"
#include "health/health.h"
#include "netmgr/netmgr.h"
#include "routing/model.h"
#include "routing/policy.h"
#include "routing/routesfile.h"
#include "routing/rtable.h"
#include "routing/tables.h"
#include "spoa/conn.h"
#include "spoa/listener.h"
#include "spoa/spopstats.h"
#include "spoa/threadload.h"
#include "spoa/worker.h"
#include "stats/stats.h"

#define STOP_GRACE 3.0   /* seconds for connections to say goodbye */

static const struct options *opts;
static struct ev_loop *main_loop;
static int64_t started_ms;
static int64_t routes_loaded_ms;
static unsigned nthreads;
static struct discovery *discovery;
static struct certs *certs;
static struct health *health;
static struct dockerapi *health_api;
static struct netmgr *netmgr;
static struct dockerapi *netmgr_api;   /* the network manager's own client */

/* Whether the routing table holds every service: with discovery, once a
 * full sync has been made.
 */
static int agent_table_complete(void)
{
	struct discovery_status st;

	if (!discovery)
		return 1;
	discovery_status(discovery, &st);
	return st.last_sync_ms != 0;
}

static int agent_start_certs(const struct options *o)
{
	struct certs_opts co = {
		.targets = o->haproxy_runtime,
		.ntargets = o->nhaproxy_runtime,
		.crt_list = o->crt_list,
		.certs_dir = o->certs_dir,
		.default_cert = o->default_cert,
		.docker = o->docker,
		.manage_secrets = o->manage_secrets,
		.agent_service = o->agent_service,
		.table_complete = agent_table_complete,
	};
	char err[256];

	if (!o->nhaproxy_runtime) {
		if (!o->default_cert && !o->manage_secrets)
			return 0;
		LOG(LL_ERROR, "agent", "--default-cert and --manage-secrets need --haproxy-runtime");
		return -1;
	}
	certs = certs_new(main_loop, &co, err, sizeof(err));
	if (!certs) {
		LOG(LL_ERROR, "agent", "cannot start the certificate manager", KVS("reason", err));
		return -1;
	}
	tables_subscribe(certs_on_table, certs);
	if (tables_current())
		certs_on_table(certs, tables_current());
	return 0;
}

/* A Docker Engine API client of its own for a part of the agent that
 * writes (discovery's stays read-only, so that it works through a
 * read-only socket proxy). Returns NULL with the reason in <err>.
 */
static struct dockerapi *agent_docker_client(const char *url, char *err, size_t errlen)
{
	struct dockerhost_env env;
	struct dockerhost host;

	dockerhost_env_get(&env);
	if (dockerhost_parse(&host, url, &env, err, errlen) < 0)
		return NULL;
	return dockerapi_new(main_loop, &host, err, errlen);
}

static void agent_health_publish(void *arg, struct overlay *ov)
{
	(void)arg;
	if (tables_set_health(ov) < 0)
		LOG(LL_ERROR, "agent", "cannot build the table with the health overlay");
}

/* TLS to the TCP runtime APIs, with the agent's client certificate: all
 * three files or none.
 */
static int agent_start_runtime_tls(const struct options *o)
{
	char err[PATH_MAX + 128];

	if (!o->haproxy_runtime_ca && !o->haproxy_runtime_cert && !o->haproxy_runtime_key)
		return 0;
	if (hachan_tls_set(o->haproxy_runtime_ca, o->haproxy_runtime_cert, o->haproxy_runtime_key,
			   err, sizeof(err)) < 0) {
		LOG(LL_ERROR, "agent", "cannot set up TLS to HAProxy's runtime API", KVS("reason", err));
		return -1;
	}
	LOG(LL_INFO, "agent", "TLS to HAProxy's runtime API over TCP",
	    KVS("ca", o->haproxy_runtime_ca), KVS("cert", o->haproxy_runtime_cert));
	return 0;
}

/* Passive health runs wherever the agent talks to HAProxy's runtime API:
 * the same targets as the certificates.
 */
static int agent_start_health(const struct options *o)
{
	struct health_opts ho = {
		.targets = o->haproxy_runtime,
		.ntargets = o->nhaproxy_runtime,
		.traffic_interval_ms = o->traffic_interval_s * 1000u,
		.publish = agent_health_publish,
	};
	char err[256];

	if (!o->nhaproxy_runtime)
		return 0;
	for (size_t i = 0; i < o->nhaproxy_runtime && o->docker && !health_api; i++) {
		if (strncmp(o->haproxy_runtime[i], "tasks:", 6) != 0)
			continue;
		health_api = agent_docker_client(o->docker, err, sizeof(err));
		if (!health_api) {
			LOG(LL_ERROR, "agent", "cannot start passive health", KVS("reason", err));
			return -1;
		}
	}
	ho.docker = health_api;
	health = health_new(main_loop, &ho, err, sizeof(err));
	if (!health) {
		LOG(LL_ERROR, "agent", "cannot start passive health", KVS("reason", err));
		return -1;
	}
	tables_subscribe(health_on_table, health);
	if (tables_current())
		health_on_table(health, tables_current());
	return 0;
}

/* --manage-networks: the proxy service follows the networks routed
 * services name. Refuses to start without what it needs.
 */
static int agent_start_netmgr(const struct options *o)
{
	struct netmgr_opts no = {
		.proxy_service = o->proxy_service,
		.grace_s = o->network_grace_s,
		.table_complete = agent_table_complete,
		.current_table = tables_current,
		.policy = tables_policy,
		.max_updates = o->network_updates,
		.window_s = o->network_window_s,
	};
	char err[256];

	if (!o->manage_networks)
		return 0;
	if (!discovery) {
		LOG(LL_ERROR, "agent", "--manage-networks needs Docker discovery (--docker)");
		return -1;
	}
	netmgr_api = agent_docker_client(o->docker, err, sizeof(err));
	if (netmgr_api)
		netmgr = netmgr_new(main_loop, netmgr_api, &no, err, sizeof(err));
	if (!netmgr) {
		LOG(LL_ERROR, "agent", "cannot start the network manager", KVS("reason", err));
		return -1;
	}
	tables_subscribe(netmgr_on_table, netmgr);
	return 0;
}

/* Loads the routes file into the "file" provider. On failure the previous
 * routes stay. Returns 0 or -1.
 */
static int agent_load_routes(void)
{
	char err[256];
	struct model *m = routesfile_load(opts->routes_file, err, sizeof(err));

	if (!m) {
		LOG(LL_ERROR, "routes", "cannot load routes file, keeping the current routes",
		    KVS("file", opts->routes_file), KVS("reason", err));
		errlog_record(ERRLOG_CONFIG, opts->routes_file, err);
		return -1;
	}
	if (tables_update("file", m) < 0)
		return -1;
	routes_loaded_ms = clock_wall_ms();
	LOG(LL_INFO, "routes", "routes file loaded", KVS("file", opts->routes_file),
	    KVI("services", m->nsvcs));
	return 0;
}

/* Loads the ownership policy file. At start a bad file stops the agent; on
 * SIGHUP it keeps the current policy. Returns 0 or -1.
 */
static int agent_load_policy(void)
{
	char err[256];
	struct policy *p = policy_load(opts->policy_file, err, sizeof(err));

	if (!p) {
		LOG(LL_ERROR, "routing", "cannot load the policy file, keeping the current policy",
		    KVS("file", opts->policy_file), KVS("reason", err));
		errlog_record(ERRLOG_CONFIG, opts->policy_file, err);
		return -1;
	}
	if (tables_set_policy(p) < 0)
		return -1;
	LOG(LL_INFO, "routing", "policy file loaded", KVS("file", opts->policy_file),
	    KVI("hosts", p->nhosts));
	return 0;
}

/* Discovery hands over every changed model; the provider name is the
 * model's source ("swarm" or "docker").
 */
static void on_discovered(void *arg, struct model *m)
{
	(void)arg;
	tables_update(m->source, m);
}

/************************************************************************/
/*                 what the stats socket and metrics show               */
/************************************************************************/

static void agent_source_info(void *arg, struct kvout *kv)
{
	int64_t now = clock_wall_ms();
	int64_t up = now > started_ms ? (now - started_ms) / 1000 : 0;
	char uptime[64];

	snprintf(uptime, sizeof(uptime), "%lldd %02lldh%02lldm%02llds", (long long)(up / 86400),
		 (long long)(up / 3600 % 24), (long long)(up / 60 % 60), (long long)(up % 60));
	kvout_str(kv, "version", SWARM_SPOA_VERSION);
	kvout_i64(kv, "pid", getpid());
	kvout_time(kv, "started", started_ms);
	kvout_str(kv, "uptime", uptime);
	kvout_i64(kv, "uptime_sec", up);
	kvout_u64(kv, "threads", nthreads);
	kvout_str(kv, "routes_file", opts->routes_file);
	kvout_time(kv, "routes_loaded", routes_loaded_ms);
	if (discovery)
		discstats_info(discovery, kv);
	else
		kvout_str(kv, "docker_state", "disabled");
}

static void agent_source_metrics(void *arg, struct sbuf *out)
{
	struct prom_label version = { "version", SWARM_SPOA_VERSION };

	prom_family(out, "swarm_spoa_build_info", PROM_GAUGE,
		    "Always 1; the label says which swarm-spoa version runs.");
	prom_sample_u64(out, "swarm_spoa_build_info", NULL, &version, 1, 1);
	prom_family(out, "swarm_spoa_start_time_seconds", PROM_GAUGE,
		    "When the agent started, in seconds since the epoch.");
	prom_sample_f64(out, "swarm_spoa_start_time_seconds", NULL, NULL, 0,
			(double)started_ms / 1000.0);
	prom_family(out, "swarm_spoa_worker_threads", PROM_GAUGE, "Worker threads answering HAProxy.");
	prom_sample_u64(out, "swarm_spoa_worker_threads", NULL, NULL, 0, nthreads);
	spopstats_metrics(out);
	prom_family(out, "swarm_spoa_discovery_enabled", PROM_GAUGE,
		    "1 when the agent follows a Docker daemon (--docker), else 0.");
	prom_sample_u64(out, "swarm_spoa_discovery_enabled", NULL, NULL, 0, discovery != NULL);
	if (discovery)
		discstats_metrics(discovery, out);
}

static void agent_source_spop_info(void *arg, struct kvout *kv)
{
	spopstats_info(kv);
}

static int agent_show_stats(void *arg, void **state, struct sbuf *out, int json)
{
	spopstats_show_stats(out, json);
	return 0;
}

static int agent_show_conns(void *arg, void **state, struct sbuf *out, int json)
{
	return spopstats_show_conns(state, out, json);
}

static void agent_conns_abort(void *arg, void *state)
{
	spopstats_conns_abort(state);
}

static int agent_show_certs(void *arg, void **state, struct sbuf *out, int json)
{
	certs_show(arg, out, json);
	return 0;
}

static int agent_show_networks(void *arg, void **state, struct sbuf *out, int json)
{
	netmgr_show(arg, out, json);
	return 0;
}

static int agent_show_health(void *arg, void **state, struct sbuf *out, int json)
{
	health_show(arg, out, json);
	return 0;
}

static void agent_health_info(void *arg, struct kvout *kv)
{
	health_info(arg, kv);
}

static int agent_health_service(void *arg, const char *service, struct sbuf *out, int json)
{
	return health_service(arg, service, out, json);
}

static void agent_health_metrics(void *arg, struct sbuf *out)
{
	health_metrics(arg, out);
}

static void agent_resync(void *arg)
{
	discovery_resync(arg);
}

/* In the order "show info" lists them. */
static struct stats_source source_agent = {
	.info = agent_source_info, .metrics = agent_source_metrics,
};
static struct stats_source source_stats = {
	.name = "stats", .info = agent_source_spop_info, .show = agent_show_stats,
};
static struct stats_source source_conns = {
	.name = "conns", .show = agent_show_conns, .show_abort = agent_conns_abort,
};
static struct stats_source source_certs = { .name = "certs", .show = agent_show_certs };
static void agent_networks_metrics(void *arg, struct sbuf *out)
{
	netmgr_metrics(arg, out);
}

static struct stats_source source_networks = {
	.name = "networks", .show = agent_show_networks, .metrics = agent_networks_metrics,
};
static struct stats_source source_health = {
	.name = "health", .show = agent_show_health, .info = agent_health_info,
	.metrics = agent_health_metrics, .service = agent_health_service,
};

static int agent_start_stats(const struct options *o, char *err, size_t errlen)
{
	struct stats_opts so = {
		.socket_path = o->stats_socket,
		.socket_mode = o->stats_socket_mode,
		.tcp_listen = o->stats_listen,
		.allow_remote = o->stats_allow_remote,
		.metrics_listen = o->metrics_listen,
		.metrics_allow_remote = o->metrics_allow_remote,
		.resync = discovery ? agent_resync : NULL,
		.resync_arg = discovery,
	};

	stats_add_source(&source_agent);
	stats_add_source(&source_stats);
	stats_add_source(&source_conns);
	if (certs) {
		source_certs.arg = certs;
		stats_add_source(&source_certs);
	}
	if (netmgr) {
		source_networks.arg = netmgr;
		stats_add_source(&source_networks);
	}
	if (health) {
		source_health.arg = health;
		stats_add_source(&source_health);
	}
	if (stats_start(main_loop, &so, err, errlen) < 0)
		return -1;
	threadload_start(main_loop);
	return 0;
}

static int agent_start_services(const struct options *o)
{
	char err[256];

	if (o->docker) {
		struct discovery_opts dopts = {
			.url = o->docker,
			.mode = o->docker_mode,
			.poll_fast_ms = o->poll_fast_ms,
			.poll_slow_ms = o->poll_slow_ms,
		};

		discovery = discovery_new(main_loop, &dopts, on_discovered, NULL, err, sizeof(err));
		if (!discovery) {
			LOG(LL_ERROR, "agent", "cannot start discovery", KVS("reason", err));
			return -1;
		}
	}
	if (agent_start_runtime_tls(o) < 0 || agent_start_certs(o) < 0 ||
	    agent_start_health(o) < 0 || agent_start_netmgr(o) < 0)
		return -1;
	if (agent_start_stats(o, err, sizeof(err)) < 0) {
		LOG(LL_ERROR, "agent", "cannot start the stats socket", KVS("reason", err));
		return -1;
	}
	return 0;
}

static void on_sighup(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	if (opts->policy_file)
		agent_load_policy();
	if (opts->routes_file)
		agent_load_routes();
	else if (!opts->policy_file)
		LOG(LL_INFO, "agent", "SIGHUP ignored: no routes or policy file");
}

static void on_sigterm(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	LOG(LL_INFO, "agent", "stopping", KVI("signal", w->signum));
	ev_break(loop, EVBREAK_ALL);
}

static void on_reclaim(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	tables_reclaim();
}

static unsigned cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}

static int agent_setup_logging(void)
{
	enum log_level lvl;
	enum log_format fmt;

	if (log_level_parse(opts->log_level, &lvl) < 0) {
		fprintf(stderr, "swarm-spoa: invalid log level '%s'\n", opts->log_level);
		return -1;
	}
	if (log_format_parse(opts->log_format, &fmt) < 0) {
		fprintf(stderr, "swarm-spoa: invalid log format '%s'\n", opts->log_format);
		return -1;
	}
	log_set_level(lvl);
	log_set_format(fmt);
	return 0;
}

/* The key of managed sticky cookies (swarm-spoa.sticky_managed), for the
 * table builds: read from --cookie-key-file, the same secret on every
 * agent so that each one recognises the others' cookies and a restart
 * keeps them; else random, valid for this process only.
 */
static unsigned char cookie_key[RTABLE_COOKIE_KEY_LEN];

#define AGENT_COOKIE_SECRET_MIN 16
#define AGENT_COOKIE_SECRET_MAX 4096

/* Fills cookie_key. Returns 0, or -1 with the reason in <err>. */
static int agent_cookie_key(const char *path, char *err, size_t errlen)
{
	static const unsigned char lo[SIPHASH_KEY_LEN] = "swarm-spoa.key.0";
	static const unsigned char hi[SIPHASH_KEY_LEN] = "swarm-spoa.key.1";
	unsigned char secret[AGENT_COOKIE_SECRET_MAX + 1];
	uint64_t k0, k1;
	ssize_t n;
	size_t len = 0;
	int fd;

	if (!path) {
		if (getrandom(cookie_key, sizeof(cookie_key), 0) != (ssize_t)sizeof(cookie_key)) {
			snprintf(err, errlen, "getrandom: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (len < sizeof(secret) && (n = read(fd, secret + len, sizeof(secret) - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (len > AGENT_COOKIE_SECRET_MAX || len < AGENT_COOKIE_SECRET_MIN) {
		snprintf(err, errlen, "%s: the secret must hold %d to %d bytes", path,
			 AGENT_COOKIE_SECRET_MIN, AGENT_COOKIE_SECRET_MAX);
		return -1;
	}
	/* any secret of any length into 128 bits: two PRF outputs of it */
	k0 = siphash24(lo, secret, len);
	k1 = siphash24(hi, secret, len);
	memcpy(cookie_key, &k0, sizeof(k0));
	memcpy(cookie_key + sizeof(k0), &k1, sizeof(k1));
	memset(secret, 0, sizeof(secret));
	return 0;
}

int agent_run(const struct options *o)
{
	struct rtable_build_opts bo = { 0 };
	ev_signal sig_hup, sig_term, sig_int;
	ev_timer reclaim;
	sigset_t all, old;
	char err[256];

	opts = o;
	started_ms = clock_wall_ms();
	if (agent_setup_logging() < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	conn_max_frame = o->max_frame_size;
	conn_idle_timeout = o->idle_timeout_s;
	listener_set_max_conns(o->max_conns);
	worker_collect_auto = o->spop_collect_us == OPTIONS_AUTO;
	worker_collect_us = worker_collect_auto ? WORKER_COLLECT_AUTO_US : o->spop_collect_us;
	nthreads = o->threads ? o->threads : cpu_count();

	main_loop = ev_default_loop(EVFLAG_AUTO);
	if (!main_loop) {
		LOG(LL_ERROR, "agent", "cannot create the event loop");
		return 1;
	}

	for (size_t i = 0; i < o->nlisten; i++) {
		if (listener_open(o->listen[i], err, sizeof(err)) < 0) {
			LOG(LL_ERROR, "agent", "cannot listen", KVS("reason", err));
			return 1;
		}
	}

	if (agent_cookie_key(o->cookie_key_file, err, sizeof(err)) < 0) {
		LOG(LL_ERROR, "agent", "cannot read the cookie key", KVS("reason", err));
		return 1;
	}
	bo.nworkers = nthreads;
	bo.service_cluster = o->service_cluster;
	bo.cookie_key = cookie_key;
	tables_init(&bo);
	if (tables_ownership(o->ledger_file, (int64_t)o->claim_grace_s * 1000, err,
			     sizeof(err)) < 0) {
		LOG(LL_ERROR, "agent", "cannot read the ledger", KVS("reason", err));
		return 1;
	}
	if (o->policy_file && agent_load_policy() < 0)
		return 1;
	if (o->routes_file) {
		if (agent_load_routes() < 0)
			return 1;
	} else if (tables_update("file", NULL) < 0) {
		return 1;
	}

	/* Workers and the acceptor inherit a blocked signal mask: signals are
	 * handled by the main loop only. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (worker_start_all(nthreads) < 0 || listener_start() < 0) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		LOG(LL_ERROR, "agent", "cannot start threads");
		return 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	ev_signal_init(&sig_hup, on_sighup, SIGHUP);
	ev_signal_init(&sig_term, on_sigterm, SIGTERM);
	ev_signal_init(&sig_int, on_sigterm, SIGINT);
	ev_signal_start(main_loop, &sig_hup);
	ev_signal_start(main_loop, &sig_term);
	ev_signal_start(main_loop, &sig_int);
	ev_timer_init(&reclaim, on_reclaim, 0.1, 0.1);
	ev_timer_start(main_loop, &reclaim);
	if (agent_start_services(o) < 0) {
		listener_stop();
		worker_stop_all(STOP_GRACE);
		return 1;
	}

	LOG(LL_INFO, "agent", "started", KVS("version", SWARM_SPOA_VERSION),
	    KVI("threads", nthreads), KVS("listen", o->listen[0]),
	    KVI("listeners", o->nlisten), KVI("pid", getpid()));
	if (!o->cookie_key_file)
		LOG(LL_INFO, "agent", "no --cookie-key-file: managed sticky cookies are valid "
		    "for this agent process only");

	ev_run(main_loop, 0);

	threadload_stop();
	stats_stop();
	listener_stop();
	worker_stop_all(STOP_GRACE);
	netmgr_free(netmgr);
	netmgr = NULL;
	dockerapi_free(netmgr_api);
	netmgr_api = NULL;
	if (discovery) {
		discovery_free(discovery);
		discovery = NULL;
	}
	certs_free(certs);
	certs = NULL;
	health_free(health);
	health = NULL;
	dockerapi_free(health_api);
	health_api = NULL;
	tables_shutdown();
	LOG(LL_INFO, "agent", "stopped");
	return 0;
}
