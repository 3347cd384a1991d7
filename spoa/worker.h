/* The worker threads: each runs its own libev loop and owns the SPOP
 * connections handed to it by the acceptor.
 */
#ifndef SPOA_WORKER_H
#define SPOA_WORKER_H

#include <stddef.h>
#include "spoa/worker-t.h"

/* Starts <n> workers. Returns 0, or -1 (logged) when a thread or its memory
 * cannot be created.
 */
int worker_start_all(unsigned n);

/* How long, in microseconds, a busy worker waits between two polls of its
 * sockets (0: polls again at once); with <worker_collect_auto>, only while
 * HAProxy is seen sending frames one by one. Set before worker_start_all().
 */
extern unsigned worker_collect_us;
extern int worker_collect_auto;

#define WORKER_COLLECT_AUTO_US        500    /* the interval of --spop-collect auto */
#define WORKER_COLLECT_WINDOW_FRAMES  500    /* frames that make a measure */
#define WORKER_COLLECT_WINDOW_MAX_NS  1000000000LL  /* fewer in that time: not busy */
#define WORKER_COLLECT_ON_NS          2000000000LL  /* then measured again, interval off */
#define WORKER_COLLECT_FRAMES_PER_READ 4     /* fewer per read: frames come one by one */

/* One step of the adaptive collect interval, at <now_ns> with the worker's
 * <frames> received and <reads> made so far. Off, it measures windows of
 * WORKER_COLLECT_WINDOW_FRAMES frames (a window that takes longer than
 * WORKER_COLLECT_WINDOW_MAX_NS starts again: the worker is not busy); a
 * window read with fewer than WORKER_COLLECT_FRAMES_PER_READ frames per read
 * turns it on for WORKER_COLLECT_ON_NS, after which it is off and measures
 * again. HAProxy 3.1+ sends each NOTIFY by itself (one read per frame for an
 * agent that keeps up), 2.6 and 3.0 batch them (10 or more per read): only
 * the first pays the interval. Returns 1 when <s->on> changed.
 */
int worker_collect_step(struct worker_collect *s, int64_t now_ns, uint64_t frames, uint64_t reads);

unsigned worker_count(void);
struct worker *worker_get(unsigned idx);

/* Hands the accepted socket <fd> to the least loaded worker, which
 * decrements <*listener_conns> (counted by the caller) when it closes it.
 * Thread-safe.
 */
void worker_dispatch(int fd, _Atomic unsigned *listener_conns);

/* Graceful stop: every connection answers what it has received, sends
 * AGENT-DISCONNECT and closes; waits up to <grace> seconds, then joins.
 */
void worker_stop_all(double grace);

/* Fills <*out> (malloc'ed, caller frees) with every connection of every
 * worker. Returns the count. Called off the workers (stats socket); each
 * worker answers between two batches.
 */
size_t worker_list_conns(struct conn_info **out);

#endif
