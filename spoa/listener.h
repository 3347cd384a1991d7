/* The SPOP listeners and the acceptor thread that hands new HAProxy
 * connections to the workers.
 */
#ifndef SPOA_LISTENER_H
#define SPOA_LISTENER_H

#include <stddef.h>

/* Opens a listening socket for <spec>: "HOST:PORT", "[V6]:PORT", ":PORT"
 * (all addresses), or "unix:PATH" (an existing socket file is replaced).
 * Returns the fd, or -1 with a reason in <err> (<errlen> bytes).
 */
int listener_open(const char *spec, char *err, size_t errlen);

/* Starts the acceptor thread over the sockets opened so far. Returns 0 or -1. */
int listener_start(void);

/* Stops accepting and closes the listening sockets (unix socket files are
 * removed).
 */
void listener_stop(void);

#endif
