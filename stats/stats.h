/* The stats socket (HAProxy-runtime-API style commands over a unix socket
 * and an optional loopback TCP listener) and the Prometheus metrics page.
 * Runs on the agent's main loop.
 *
 * stats/ shows the routing tables itself (routing/tables.h); everything
 * else it shows comes from sources that the daemon registers: each part of
 * the agent (the SPOP workers, discovery, the certificate and network
 * managers, the process) reports on itself through them, so that stats/
 * knows none of those parts.
 */
#ifndef STATS_STATS_H
#define STATS_STATS_H

#include <stddef.h>

struct ev_loop;
struct kvout;
struct sbuf;

/* A part of the agent that the stats socket and the metrics page report
 * on. Every callback runs on the main loop and may be NULL.
 */
struct stats_source {
	const char *name;    /* "show <name>" runs <show>: "stats", "conns", "certs", "networks" */
	void *arg;           /* passed to every callback */

	/* Appends its fields to "show info". */
	void (*info)(void *arg, struct kvout *kv);

	/* Appends its metric families to the metrics page. */
	void (*metrics)(void *arg, struct sbuf *out);

	/* "show <name>": appends the next part of the answer to <out> (JSON
	 * when <json>). <*state> is NULL at the first call and is the
	 * callback's own between calls. Returns 1 while more is to come, 0
	 * once the answer is complete and <*state> released.
	 */
	int (*show)(void *arg, void **state, struct sbuf *out, int json);

	/* Releases the state of an answer abandoned before its end. */
	void (*show_abort)(void *arg, void *state);

	/* "show services": appends what the source knows of <service> (one
	 * line of text, or a JSON value) to <out> and returns 0, or returns
	 * -1 with nothing appended. The first source that has one is used.
	 */
	int (*service)(void *arg, const char *service, struct sbuf *out, int json);
};

#define STATS_MAX_SOURCES 8

struct stats_opts {
	const char *socket_path;    /* unix socket, or NULL */
	unsigned socket_mode;       /* e.g. 0600 */
	const char *tcp_listen;     /* HOST:PORT, or NULL */
	int allow_remote;           /* tcp_listen may be a non-loopback address */
	const char *metrics_listen; /* HOST:PORT for GET /metrics, or NULL */
	int metrics_allow_remote;   /* metrics_listen may be a non-loopback address */
	void (*resync)(void *arg);  /* "resync": a full Docker sync; NULL without discovery */
	void *resync_arg;
};

/* Registers <src>, which must stay valid until stats_stop(); sources are
 * shown in the order they were added. Returns 0, or -1 when there are
 * already STATS_MAX_SOURCES.
 */
int stats_add_source(const struct stats_source *src);

/* The registered source named <name>, or NULL. */
const struct stats_source *stats_source_find(const char *name);

/* Calls <fn> for each registered source, in order. */
void stats_source_each(void (*fn)(void *ctx, const struct stats_source *src), void *ctx);

/* The resync hook given to stats_start(), with its argument: 0, or -1 when
 * there is none.
 */
int stats_resync(void);

/* Opens the listeners and starts serving on <loop>. Returns 0, or -1 with a
 * reason in <err>.
 */
int stats_start(struct ev_loop *loop, const struct stats_opts *o, char *err, size_t errlen);

/* Closes listeners and client connections; removes the socket file; forgets
 * the sources.
 */
void stats_stop(void);

#endif
