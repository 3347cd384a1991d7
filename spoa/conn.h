/* One SPOP connection from HAProxy: framing, HELLO negotiation, NOTIFY
 * dispatch, batched writes with backpressure, DISCONNECT handling.
 */
#ifndef SPOA_CONN_H
#define SPOA_CONN_H

#include "spoa/worker-t.h"

/* Connections paused for backpressure resume below the low mark. */
#define CONN_OUT_HIGH (1024 * 1024)
#define CONN_OUT_LOW  (256 * 1024)
#define CONN_HELLO_TIMEOUT 5.0     /* seconds to send HAPROXY-HELLO */
#define CONN_CLOSE_TIMEOUT 2.0     /* seconds to flush a final frame */
/* Seconds a connection may go without a complete frame after its HELLO
 * (--idle-timeout). HAProxy must always be the one to close its idle
 * connections: 2.6 and 3.0 do after the engine's "timeout idle" (2m in
 * haproxy-conf/spoe-swarm.conf), 3.1 and later after the agents backend's
 * "timeout server" (3m in agents-local.cfg). An agent closing first races
 * a NOTIFY HAProxy may be sending at that moment, which then fails and is
 * asked again. Ten minutes leaves room over both.
 */
#define CONN_IDLE_TIMEOUT 600.0

/* Takes ownership of the connected, non-blocking socket <fd> and starts
 * serving it on worker <w>. <max_frame> is the largest frame the agent
 * accepts. <*listener_conns> (its listener's count, which includes it) is
 * decremented when the connection closes. Returns the connection, or NULL
 * (the fd is then closed and the count decremented).
 */
struct conn *conn_new(struct worker *w, int fd, uint32_t max_frame,
		      _Atomic unsigned *listener_conns);

/* Asks the connection to end gracefully: frames already received are
 * answered, then AGENT-DISCONNECT (status 0) is sent and the socket closed.
 */
void conn_stop(struct conn *c);

/* The agent's own max-frame-size (configurable, default SPOP_MAX_FRAME_SIZE). */
extern uint32_t conn_max_frame;

/* Seconds without a frame before a connection is closed (0: never);
 * default CONN_IDLE_TIMEOUT. Set before the workers start.
 */
extern double conn_idle_timeout;

#endif
