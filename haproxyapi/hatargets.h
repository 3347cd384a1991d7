/* The HAProxy runtime APIs an agent talks to: the fixed addresses of
 * --haproxy-runtime (unix:PATH, IP:PORT), and the running tasks of each
 * tasks:SERVICE:PORT, re-resolved through the Docker Engine API every
 * HATARGETS_RESOLVE_MS. The owner hears of each target found and of each
 * target gone through hooks, and keeps its own per-target state (the
 * certificate pushers, the health event streams). Main loop only.
 */
#ifndef HAPROXYAPI_HATARGETS_H
#define HAPROXYAPI_HATARGETS_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct dockerapi;
struct haproxy_cli_addr;
struct hatargets;

#define HATARGETS_RESOLVE_MS 3000   /* tasks:SERVICE:PORT */

struct hatargets_hooks {
	/* Target <key> was found at <addr> (valid during the call): returns
	 * 0 when the owner keeps it, -1 when it could not (memory): it is
	 * then offered again at the next resolution. */
	int (*found)(void *arg, const char *key, const struct haproxy_cli_addr *addr);
	/* Target <key>, kept before, is gone. */
	void (*gone)(void *arg, const char *key);
};

struct hatargets_opts {
	const char *const *specs;     /* --haproxy-runtime */
	size_t nspecs;
	struct dockerapi *api;        /* for tasks:, or NULL */
	const char *subsystem;        /* names the owner in log lines: "certs", "health" */
	const struct hatargets_hooks *hooks;
	void *arg;                    /* of the hooks */
};

/* Returns the targets of <o> on <loop>: the fixed ones are passed to the
 * <found> hook before it returns, the tasks: ones once resolved. NULL with
 * the reason in <err> on a bad address, tasks: without Docker, or when
 * memory is exhausted.
 */
struct hatargets *hatargets_new(struct ev_loop *loop, const struct hatargets_opts *o,
				char *err, size_t errlen);

/* Cancels any resolution in flight and frees <ts>, without calling the
 * hooks. NULL is accepted.
 */
void hatargets_free(struct hatargets *ts);

/* Re-resolves the tasks: addresses when due at <now_ms> (monotonic). */
void hatargets_tick(struct hatargets *ts, int64_t now_ms);

/* A tasks:SERVICE:PORT address, for the stats socket. */
struct hatargets_group {
	const char *spec;
	long tasks;                   /* running tasks in the last answer */
	const char *last_error;       /* "" when the last resolution went well */
};
size_t hatargets_ngroups(const struct hatargets *ts);
void hatargets_group(const struct hatargets *ts, size_t g, struct hatargets_group *out);

/* Reads an Engine API answer to GET /tasks?filters=... (any bytes): calls
 * <fn> for every address of every task whose current state is "running":
 * the task's ID, the network's name (its ID when it has none), the address
 * ("10.0.1.5"). Returns the number of running tasks, or -1 with the reason
 * in <err>.
 */
long hatargets_tasks(const char *json, size_t len,
		     void (*fn)(void *arg, const char *task, const char *network, const char *addr),
		     void *arg, char *err, size_t errlen);

#endif
