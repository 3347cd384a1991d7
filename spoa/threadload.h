/* Per-thread load of the workers: the share of wall time each spent
 * outside its poller, over the whole run and over the last second (sampled
 * by a timer on the main loop).
 */
#ifndef SPOA_THREADLOAD_H
#define SPOA_THREADLOAD_H

struct ev_loop;

void threadload_start(struct ev_loop *loop);
void threadload_stop(void);

/* Load of worker <idx> in percent since it started. */
double threadload_lifetime(unsigned idx);

/* Load of worker <idx> in percent over the last sampling period, or -1
 * before two samples were taken.
 */
double threadload_recent(unsigned idx);

#endif
