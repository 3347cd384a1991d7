/* The agent's Prometheus metrics: every counter and gauge of the workers,
 * the routing tables, discovery and the error log, as one page of the text
 * exposition format (see prom.h). Names start with swarm_spoa_; the list is
 * in docs/operations.md.
 */
#ifndef STATS_METRICS_H
#define STATS_METRICS_H

struct sbuf;

/* Appends the whole page to <out>. Main thread only: it reads the current
 * routing table.
 */
void metrics_render(struct sbuf *out);

#endif
