/* The agent process: wires options, tables, workers, listeners, discovery
 * and the stats socket around the main event loop.
 */
#ifndef SPOA_AGENT_H
#define SPOA_AGENT_H

#include <stdint.h>

struct options;
struct ev_loop;
struct discovery;
struct certs;
struct netmgr;

/* Runs the agent until SIGTERM/SIGINT. Returns the process exit status. */
int agent_run(const struct options *o);

/* Facts for "show info". */
struct agent_info {
	const char *version;
	int64_t started_ms;       /* wall clock */
	unsigned threads;
	int64_t routes_loaded_ms; /* last successful routes file load, 0 if none */
	const char *routes_file;
};
void agent_info(struct agent_info *ai);

/* The agent's main event loop (discovery, stats socket, timers). */
struct ev_loop *agent_loop(void);

/* The running discovery, or NULL when the agent has none. */
struct discovery *agent_discovery(void);

/* The certificate manager, or NULL when the agent pushes no certificates
 * (no --haproxy-runtime).
 */
struct certs *agent_certs(void);

/* The proxy network manager, or NULL without --manage-networks. */
struct netmgr *agent_netmgr(void);

#endif
