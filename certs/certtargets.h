/* The HAProxy runtime APIs certificates are pushed to, one pusher each,
 * as haproxyapi/hatargets.h finds them: a task that starts gets the
 * current set, a task gone is forgotten. Main loop only.
 */
#ifndef CERTS_CERTTARGETS_H
#define CERTS_CERTTARGETS_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct certset;
struct dockerapi;
struct pusher;
struct pusher_hooks;

struct certtargets;

struct certtargets_opts {
	const char *const *specs;     /* --haproxy-runtime */
	size_t nspecs;
	const char *crt_list;         /* --crt-list, or NULL */
	struct dockerapi *api;        /* for tasks:, or NULL */
	const struct pusher_hooks *hooks;
	void *arg;                    /* of the hooks */
};

/* Returns the targets of <o> on <loop> (tasks: resolved at once), or NULL
 * with the reason in <err> (a bad address, tasks: without Docker, memory).
 */
struct certtargets *certtargets_new(struct ev_loop *loop, const struct certtargets_opts *o,
				    char *err, size_t errlen);

/* Stops every pusher and request, and frees <ts>. NULL is accepted. */
void certtargets_free(struct certtargets *ts);

/* Hands <set> to every pusher, and to those of tasks found later. */
void certtargets_update(struct certtargets *ts, struct certset *set);

/* Re-resolves the tasks: addresses when due at <now_ms> (monotonic). */
void certtargets_tick(struct certtargets *ts, int64_t now_ms);

size_t certtargets_count(const struct certtargets *ts);
const struct pusher *certtargets_pusher(const struct certtargets *ts, size_t i);

/* A tasks:SERVICE:PORT address, for "show certs". */
struct certtargets_group {
	const char *spec;
	long tasks;                   /* running tasks in the last answer */
	const char *last_error;       /* "" when the last resolution went well */
};
size_t certtargets_ngroups(const struct certtargets *ts);
void certtargets_group(const struct certtargets *ts, size_t g, struct certtargets_group *out);

#endif
