/* Process wiring and the main loop. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ev.h>

#include "common/clock.h"
#include "common/errlog.h"
#include "common/log.h"
#include "certs/certs.h"
#include "discovery/discovery.h"
#include "discovery/netmgr.h"
#include "routing/model.h"
#include "routing/routesfile.h"
#include "routing/rtable.h"
#include "spoa/agent.h"
#include "spoa/conn.h"
#include "spoa/listener.h"
#include "spoa/options.h"
#include "spoa/tables.h"
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
static struct netmgr *netmgr;

struct discovery *agent_discovery(void)
{
	return discovery;
}

struct certs *agent_certs(void)
{
	return certs;
}

struct netmgr *agent_netmgr(void)
{
	return netmgr;
}

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
	};
	char err[256];

	if (!o->manage_networks)
		return 0;
	if (!discovery) {
		LOG(LL_ERROR, "agent", "--manage-networks needs Docker discovery (--docker)");
		return -1;
	}
	netmgr = netmgr_new(main_loop, discovery_dockerapi(discovery), &no, err, sizeof(err));
	if (!netmgr) {
		LOG(LL_ERROR, "agent", "cannot start the network manager", KVS("reason", err));
		return -1;
	}
	tables_subscribe(netmgr_on_table, netmgr);
	return 0;
}

struct ev_loop *agent_loop(void)
{
	return main_loop;
}

void agent_info(struct agent_info *ai)
{
	ai->version = SWARM_SPOA_VERSION;
	ai->started_ms = started_ms;
	ai->threads = nthreads;
	ai->routes_loaded_ms = routes_loaded_ms;
	ai->routes_file = opts ? opts->routes_file : NULL;
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

/* Discovery hands over every changed model; the provider name is the
 * model's source ("swarm" or "docker").
 */
static void on_discovered(void *arg, struct model *m)
{
	(void)arg;
	tables_update(m->source, m);
}

static int agent_start_services(const struct options *o)
{
	struct stats_opts so = {
		.socket_path = o->stats_socket,
		.socket_mode = o->stats_socket_mode,
		.tcp_listen = o->stats_listen,
		.allow_remote = o->stats_allow_remote,
		.metrics_listen = o->metrics_listen,
	};
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
	if (agent_start_certs(o) < 0 || agent_start_netmgr(o) < 0)
		return -1;
	if (stats_start(main_loop, &so, err, sizeof(err)) < 0) {
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
	if (opts->routes_file)
		agent_load_routes();
	else
		LOG(LL_INFO, "agent", "SIGHUP ignored: no routes file");
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

int agent_run(const struct options *o)
{
	struct rtable_build_opts bo;
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

	bo.nworkers = nthreads;
	bo.service_cluster = o->service_cluster;
	tables_init(&bo);
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

	ev_run(main_loop, 0);

	stats_stop();
	listener_stop();
	worker_stop_all(STOP_GRACE);
	netmgr_free(netmgr);
	netmgr = NULL;
	if (discovery) {
		discovery_free(discovery);
		discovery = NULL;
	}
	certs_free(certs);
	certs = NULL;
	tables_shutdown();
	LOG(LL_INFO, "agent", "stopped");
	return 0;
}
