/* Listening sockets (TCP v4/v6 and unix) and the acceptor thread that hands
 * new HAProxy connections to the workers.
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

/* Parses "HOST:PORT", "[V6]:PORT", ":PORT" or "*:PORT" into <host> (empty
 * for any address; <hostlen> bytes) and <*port>. Returns 0 or -1. Shared by
 * every TCP listener of the agent.
 */
int listener_split_hostport(const char *spec, char *host, size_t hostlen, unsigned *port);

/* Opens a listening TCP socket for "HOST:PORT" (see above) with SO_REUSEADDR,
 * non-blocking and close-on-exec. Returns the fd, or -1 with <err>.
 */
int listener_open_tcp(const char *spec, char *err, size_t errlen);

/* Opens a listening unix socket at <path> with <mode> (e.g. 0600). */
int listener_open_unix(const char *path, unsigned mode, char *err, size_t errlen);

#endif
