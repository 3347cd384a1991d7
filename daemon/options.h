/* Command line and SWARM_SPOA_* environment. */
#ifndef DAEMON_OPTIONS_H
#define DAEMON_OPTIONS_H

#include <stddef.h>

#define OPTIONS_MAX_LISTEN 16
#define OPTIONS_IDLE_TIMEOUT 600     /* --idle-timeout: see CONN_IDLE_TIMEOUT */
#define OPTIONS_MAX_CONNS 10000      /* --max-conns */
#define OPTIONS_TRAFFIC_INTERVAL 5   /* --traffic-interval, seconds */
#define OPTIONS_AUTO (~0u)           /* an OPT_UINT_AUTO option set to 'auto' */

struct options {
	const char *listen[OPTIONS_MAX_LISTEN];
	size_t nlisten;
	const char *routes_file;        /* static routes (JSON), or NULL */
	unsigned threads;               /* worker threads; 0 = number of CPUs */
	const char *log_level;
	const char *log_format;
	unsigned max_frame_size;
	unsigned idle_timeout_s;        /* SPOP connection without a frame; 0 = never */
	unsigned max_conns;             /* SPOP connections per listener; 0 = no cap */
	unsigned spop_collect_us;       /* a busy worker's wait between polls, or OPTIONS_AUTO */

	const char *docker;             /* Docker Engine URL, "auto", or NULL: no discovery */
	const char *docker_mode;        /* "auto", "swarm" or "containers" */
	unsigned poll_fast_ms;          /* task polling while services converge */
	unsigned poll_slow_ms;          /* task polling when all is still */

	const char *stats_socket;       /* unix socket path, or NULL */
	unsigned stats_socket_mode;
	const char *stats_listen;       /* optional TCP HOST:PORT */
	int stats_allow_remote;         /* allow a non-loopback stats_listen */
	const char *metrics_listen;     /* Prometheus HOST:PORT, or NULL */
	int metrics_allow_remote;       /* allow a non-loopback metrics_listen */

	const char *service_cluster;    /* com.docker.lb.service_cluster served by this agent */
	const char *cookie_key_file;    /* secret keying managed sticky cookies, or NULL: random */
	int manage_networks;            /* attach/detach the proxy service to networks */
	const char *proxy_service;      /* HAProxy service name (network and certificate management) */
	unsigned network_grace_s;       /* wait before detaching/removing a network */
	unsigned network_updates;       /* proxy updates per window at most (0: no limit) */
	unsigned network_window_s;      /* the window of network_updates */
	const char *policy_file;        /* the operator's ownership policy, or NULL */
	const char *ledger_file;        /* where host claims are kept, or NULL */
	unsigned claim_grace_s;         /* a host claim outlives its owner this long */

	const char *haproxy_runtime[OPTIONS_MAX_LISTEN]; /* HAProxy runtime APIs: certificates, passive health */
	size_t nhaproxy_runtime;
	const char *haproxy_runtime_ca;   /* TLS to TCP runtime APIs: HAProxy's CA, */
	const char *haproxy_runtime_cert; /* the agent's certificate, */
	const char *haproxy_runtime_key;  /* and its key (NULL: in the certificate's file) */
	unsigned traffic_interval_s;    /* per-service traffic reads (0: none) */
	const char *certs_dir;          /* where certificate secrets are mounted */
	const char *default_cert;       /* PEM for unknown SNI */
	const char *crt_list;           /* HAProxy crt-list the certificates go to (NULL: the only one) */
	int manage_secrets;             /* mount the secrets certificates need into agent_service */
	const char *agent_service;      /* the agent's own swarm service (for manage_secrets) */
};

/* Fills <o> from the environment, then from <argv>. Prints help or version
 * and exits for --help/--version; prints the error and exits with status 2
 * on a bad option. Strings point into argv/environ.
 */
void options_parse(struct options *o, int argc, char **argv);

/* Frees what options_parse() copied; the options are unusable afterwards. */
void options_release(void);

#endif
