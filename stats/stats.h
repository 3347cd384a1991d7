/* The stats socket (HAProxy-runtime-API style commands over a unix socket
 * and an optional loopback TCP listener) and the Prometheus metrics page.
 * Runs on the agent's main loop.
 */
#ifndef STATS_STATS_H
#define STATS_STATS_H

#include <stddef.h>

struct ev_loop;

struct stats_opts {
	const char *socket_path;    /* unix socket, or NULL */
	unsigned socket_mode;       /* e.g. 0600 */
	const char *tcp_listen;     /* HOST:PORT, or NULL */
	int allow_remote;           /* tcp_listen may be a non-loopback address */
	const char *metrics_listen; /* HOST:PORT for GET /metrics, or NULL */
};

/* Opens the listeners and starts serving on <loop>. Returns 0, or -1 with a
 * reason in <err>.
 */
int stats_start(struct ev_loop *loop, const struct stats_opts *o, char *err, size_t errlen);

/* Closes listeners and client connections; removes the socket file. */
void stats_stop(void);

#endif
