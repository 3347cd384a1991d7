/* Nodes that stop answering as a whole. A request whose connection to a
 * task timed out (termination state "sC": no answer at all, not even a
 * refusal) marks the task unreachable. When every routed task of a node,
 * two at least, was unreachable within SUSPECT_WINDOW_MS, the node is
 * suspect for SUSPECT_HOLD_MS: all its tasks are excluded at once, and
 * none is tried again after its own fail_timeout, since a machine that
 * died answers none of them. Swarm declares such a node down within
 * about 45 s (a lost raft leader, the worst case measured), after which
 * its state excludes its tasks; SUSPECT_HOLD_MS outlasts that.
 *
 * When the suspicion ends, the node is on probation for
 * SUSPECT_PROBATION_MS: its tasks are picked again, and one of them timing
 * out is enough to make it suspect again (a node still dead that Swarm has
 * not declared down yet, one that came back half-way); through the
 * probation without a timeout, it is trusted again.
 *
 * One task that times out alone (a hung process on a live node) is left
 * to the per-task rules (exclude.h). Pure state: the caller gives the
 * time (wall clock, ms). Main loop only.
 */
#ifndef HEALTH_SUSPECT_H
#define HEALTH_SUSPECT_H

#include <stddef.h>
#include <stdint.h>

#define SUSPECT_WINDOW_MS 10000
#define SUSPECT_HOLD_MS   60000
#define SUSPECT_PROBATION_MS 30000
#define SUSPECT_TASKS_MAX 4096   /* unreachable tasks remembered; the oldest go first */
#define SUSPECT_NODES_MAX 256    /* suspect nodes at once */

struct suspect;

/* Returns an empty set, or NULL when memory is exhausted. */
struct suspect *suspect_new(void);
void suspect_free(struct suspect *s);

/* Records that a connection to task <task_id> timed out at <now_ms>.
 * Returns 0, or -1 when an ID is too long (nothing recorded).
 */
int suspect_timeout(struct suspect *s, const char *task_id, int64_t now_ms);

/* Decides whether the node holding the <n> routed tasks <tasks> (their
 * IDs, each once) becomes suspect at <now_ms>: every one of them timed
 * out within SUSPECT_WINDOW_MS, and n >= 2; or, on probation, one of them
 * timed out since its last suspicion ended. Returns when its suspicion
 * ends (wall clock) when it became suspect now, 0 when not (or when it is
 * suspect already: see suspect_until()), -1 when the set is full.
 */
int64_t suspect_node(struct suspect *s, const char *node_id, const char *const *tasks, size_t n,
		     int64_t now_ms);

/* When the suspicion of <node_id> ends, or 0 when it is not suspect. */
int64_t suspect_until(const struct suspect *s, const char *node_id, int64_t now_ms);

/* Whether <node_id> is on probation: its suspicion ended less than
 * SUSPECT_PROBATION_MS ago.
 */
int suspect_on_probation(const struct suspect *s, const char *node_id, int64_t now_ms);

/* Forgets suspicions whose probation ended and timeouts older than the
 * window.
 */
void suspect_expire(struct suspect *s, int64_t now_ms);

/* Nodes suspect now. */
size_t suspect_count(const struct suspect *s, int64_t now_ms);

#endif
