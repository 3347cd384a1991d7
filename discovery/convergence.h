/* Convergence: how long a task takes from the state change Docker reports
 * to the routing table that serves it. Each model handed over is compared
 * with the one before: a task ready in it that was not ready before is
 * measured from the time Docker says it entered its state to now.
 */
#ifndef DISCOVERY_CONVERGENCE_H
#define DISCOVERY_CONVERGENCE_H

#include <stdint.h>

struct model;
struct convergence;

/* The percentiles are over the last CONVERGENCE_WINDOW tasks measured. */
#define CONVERGENCE_WINDOW 512

struct convergence_stats {
	uint64_t last_ms;           /* the last task measured */
	uint64_t max_ms;            /* since start */
	uint64_t p50_ms;
	uint64_t p99_ms;
	uint64_t samples;           /* tasks measured since start */
};

/* Returns an empty measure, or NULL when memory is exhausted. */
struct convergence *convergence_new(void);
void convergence_free(struct convergence *c);

/* Measures the tasks of <m>, handed over at <now_ms> (wall clock), that
 * became ready since the previous model, and remembers <m>'s ready tasks
 * for the next one. The first model measures nothing: every task is new
 * to it, but nothing converged.
 */
void convergence_model(struct convergence *c, const struct model *m, int64_t now_ms);

void convergence_stats(const struct convergence *c, struct convergence_stats *st);

#endif
