/* Passive health: every agent streams the ring of failed requests of
 * every HAProxy (haproxy-conf: ring swarm-failures), counts the failures
 * of each task (refused, connect timeout, reset before any response: see
 * failline.h), excludes the tasks that fail max_fails times within
 * fail_timeout (exclude.h, labels com.docker.lb.max_fails and
 * com.docker.lb.fail_timeout), and hands the exclusions to the table
 * build as a health overlay through <publish>. A request that fails
 * through any HAProxy keeps every agent from choosing that task.
 * Main loop only.
 */
#ifndef HEALTH_HEALTH_H
#define HEALTH_HEALTH_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct dockerapi;
struct health;
struct kvout;
struct overlay;
struct rtable;
struct sbuf;

#define HEALTH_RING "swarm-failures"

struct health_opts {
	const char *const *targets;   /* --haproxy-runtime */
	size_t ntargets;
	struct dockerapi *docker;     /* for tasks:SERVICE:PORT targets, or NULL */
	/* How often each HAProxy's per-service traffic table is read (0:
	 * never: no traffic figures, connection failures still counted). */
	unsigned traffic_interval_ms;
	/* Takes over <ov> (the tasks excluded now) for the next table; the
	 * table that results comes back through health_on_table(). */
	void (*publish)(void *arg, struct overlay *ov);
	void *arg;
};

/* Starts streaming from every target of <o>. Returns NULL with the reason
 * in <err> on a bad target or when memory is exhausted.
 */
struct health *health_new(struct ev_loop *loop, const struct health_opts *o,
			  char *err, size_t errlen);
void health_free(struct health *h);

/* Follows the table: which task each service's addresses belong to, and
 * each service's max_fails and fail_timeout (a tables_subscribe()
 * callback).
 */
void health_on_table(void *arg, const struct rtable *t);

/* "show info" fields, metric families, and "show health". */
void health_info(const struct health *h, struct kvout *kv);
void health_metrics(const struct health *h, struct sbuf *out);
void health_show(const struct health *h, struct sbuf *out, int json);

/* "show services": appends the traffic HAProxy saw for <service> to <out>
 * (one line of text, or a JSON object), summed over the HAProxies of the
 * agent. Returns 0, or -1 (nothing appended) when none of them knows it.
 */
int health_service(const struct health *h, const char *service, struct sbuf *out, int json);

#endif
