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
 * sockets (0: polls again at once). Set before worker_start_all().
 */
extern unsigned worker_collect_us;

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
