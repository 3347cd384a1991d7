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

/* Takes ownership of the connected, non-blocking socket <fd> and starts
 * serving it on worker <w>. <max_frame> is the largest frame the agent
 * accepts. Returns the connection, or NULL (the fd is then closed).
 */
struct conn *conn_new(struct worker *w, int fd, uint32_t max_frame);

/* Asks the connection to end gracefully: frames already received are
 * answered, then AGENT-DISCONNECT (status 0) is sent and the socket closed.
 */
void conn_stop(struct conn *c);

/* The agent's own max-frame-size (configurable, default SPOP_MAX_FRAME_SIZE). */
extern uint32_t conn_max_frame;

#endif
