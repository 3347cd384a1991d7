/* What discovery knows about a swarm: services, their tasks, networks and
 * nodes, loaded from the Engine API's answers (read by dockerapi/
 * dockerswarm.c), and the service model that joins them: each task with
 * its service, its node (the model's nodes, kept current by node events)
 * and its published ports. Also tracks which services are converging
 * (tasks still moving after a change), which decides how fast tasks are
 * polled.
 *
 * Loaders return 0 when the document was usable: a malformed entry in it
 * is skipped (logged with its reason, counted) and the others are kept.
 * They return -1 with the reason in <err> when the document as a whole is
 * unusable (not JSON, not the expected shape): the state is then unchanged.
 *
 * Times: <now_ms> arguments are monotonic milliseconds.
 */
#ifndef DISCOVERY_SWARM_H
#define DISCOVERY_SWARM_H

#include <stddef.h>
#include <stdint.h>

struct model;
struct swarm;

/* How long a service is polled fast after an event says it changed, when
 * its tasks are not seen moving; and at most while Docker says a rolling
 * update is in progress.
 */
#define SWARM_CONVERGE_MS         30000
#define SWARM_CONVERGE_UPDATE_MS  600000
/* A service whose tasks Docker shows not settled (a task desired running
 * that is not running yet, fewer running than replicas) is polled fast for
 * as long as that lasts, up to this ceiling from the start of its
 * convergence: a saturated swarm takes minutes to start hundreds of tasks.
 * Past it the service is stuck (a task pending for lack of resources, a
 * crash loop) and polled every SWARM_STUCK_POLL_MS until it settles.
 */
#define SWARM_CONVERGE_MAX_MS     300000
#define SWARM_STUCK_POLL_MS       5000
/* After a task moved on its own (a container event, or a poll that saw it):
 * a short fast window, at most once per cooldown per service.
 */
#define SWARM_HINT_MS             3000
#define SWARM_HINT_COOLDOWN_MS    15000

struct swarm_counts {
	size_t services;
	size_t routed;            /* services with com.docker.lb.* labels */
	size_t tasks;             /* tasks of routed services */
	size_t networks;
	size_t nodes;
	uint64_t skipped;         /* malformed entries skipped since start */
};

/* Routed services by convergence, at a given time. */
struct swarm_converge_counts {
	size_t fast;              /* polled fast: converging */
	size_t stuck;             /* not settled past the ceiling: polled slowly */
};

struct swarm *swarm_new(void);
void swarm_free(struct swarm *sw);

/* Replaces every service with those of a GET /services answer. */
int swarm_load_services(struct swarm *sw, const char *json, size_t len, int64_t now_ms,
			char *err, size_t errlen);

/* Adds or replaces one service from a GET /services/{id} answer. */
int swarm_load_service(struct swarm *sw, const char *json, size_t len, int64_t now_ms,
		       char *err, size_t errlen);

/* Forgets service <id> (and its tasks). Returns 1 if it was known. */
int swarm_remove_service(struct swarm *sw, const char *id);

/* Replaces the networks / nodes with a GET /networks or /nodes answer. A
 * node's changes (down, drained, another address) are in the next model.
 */
int swarm_load_networks(struct swarm *sw, const char *json, size_t len, char *err, size_t errlen);
int swarm_load_nodes(struct swarm *sw, const char *json, size_t len, char *err, size_t errlen);

/* Replaces the tasks of services <ids> (<nids> of them; all routed services
 * when <nids> is 0) with the tasks for them in a GET /tasks answer; tasks
 * of other services in the answer are ignored. Then updates whether those
 * services converged.
 */
int swarm_load_tasks(struct swarm *sw, const char *json, size_t len,
		     const char *const *ids, size_t nids, int64_t now_ms,
		     char *err, size_t errlen);

/* Updates whether services <ids> (all routed ones when <nids> is 0)
 * converged, from the tasks already known: after an answer identical to
 * the last one, which is not loaded again.
 */
void swarm_settle(struct swarm *sw, const char *const *ids, size_t nids, int64_t now_ms);

/* Service <id> changed: polls it fast until its tasks settle, for <ms> at
 * most when the polls show them settled, else up to SWARM_CONVERGE_MAX_MS
 * counted from now.
 */
void swarm_converge(struct swarm *sw, const char *id, int64_t now_ms, int64_t ms);

/* A task of service <id> moved on its own (a container started, died or
 * changed health): poll it fast for SWARM_HINT_MS, unless that was done in
 * the last SWARM_HINT_COOLDOWN_MS. Returns 1 when the service is polled
 * fast now (a window opened, or it was converging already), 0 when not.
 */
int swarm_converge_hint(struct swarm *sw, const char *id, int64_t now_ms);

/* Same for every routed service (a node changed: tasks may move). */
void swarm_converge_hint_all(struct swarm *sw, int64_t now_ms);

/* Fills <ids> with up to <max> routed services whose tasks are due for a
 * poll now: the converging ones, and the stuck ones whose last poll is
 * SWARM_STUCK_POLL_MS old. Returns how many there are in all (may exceed
 * <max>). The strings stay valid until the next load or removal.
 */
size_t swarm_converging(const struct swarm *sw, int64_t now_ms, const char **ids, size_t max);

/* When the next stuck service is due for a poll, or -1 when none is stuck. */
int64_t swarm_stuck_due(const struct swarm *sw, int64_t now_ms);

void swarm_converge_counts(const struct swarm *sw, int64_t now_ms, struct swarm_converge_counts *c);

/* Same for every routed service. */
size_t swarm_routed(const struct swarm *sw, const char **ids, size_t max);

/* Returns a new model (source "swarm") of every service, with the tasks of
 * the routed ones, and of every node, or NULL when memory is exhausted.
 * The caller owns it.
 */
struct model *swarm_model(const struct swarm *sw);

void swarm_counts(const struct swarm *sw, struct swarm_counts *c);

#endif
