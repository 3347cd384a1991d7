/* The SPOP listeners and the acceptor thread that hands new HAProxy
 * connections to the workers.
 */
#ifndef SPOA_LISTENER_H
#define SPOA_LISTENER_H

#include <stddef.h>
#include <stdint.h>

/* A unix SPOP listener's mode: HAProxy's user or group, never others. */
#define LISTENER_UNIX_MODE 0660

/* Opens a listening socket for <spec>: "HOST:PORT", "[V6]:PORT", ":PORT"
 * (all addresses), or "unix:PATH" (an existing socket file is replaced; mode
 * LISTENER_UNIX_MODE).
 * Returns the fd, or -1 with a reason in <err> (<errlen> bytes).
 */
int listener_open(const char *spec, char *err, size_t errlen);

/* Caps the connections open at once through each listener (0: no cap).
 * A connection over the cap gets AGENT-DISCONNECT (resource allocation
 * error) and is closed. Call before listener_start().
 */
void listener_set_max_conns(unsigned max);

/* Connections refused over the cap, and times a listener paused because
 * accept(2) ran out of descriptors or memory, since start. Any thread.
 */
uint64_t listener_refused(void);
uint64_t listener_accept_pauses(void);

/* Starts the acceptor thread over the sockets opened so far. Returns 0 or -1. */
int listener_start(void);

/* Stops accepting and closes the listening sockets (unix socket files are
 * removed).
 */
void listener_stop(void);

#endif
