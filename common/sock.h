/* Listening sockets shared by every server of the agent: SPOP, the stats
 * socket and the metrics page.
 */
#ifndef COMMON_SOCK_H
#define COMMON_SOCK_H

#include <stddef.h>

/* Opens a listening TCP socket for "HOST:PORT", "[V6]:PORT",
 * ":PORT" or "*:PORT" (any address) with SO_REUSEADDR,
 * non-blocking and close-on-exec. Returns the fd, or -1 with <err>.
 */
int sock_listen_tcp(const char *spec, char *err, size_t errlen);

/* Opens a listening unix socket at <path> with <mode> (e.g. 0600). */
int sock_listen_unix(const char *path, unsigned mode, char *err, size_t errlen);

/* Whether the socket <fd> is bound to a loopback address (127.0.0.0/8,
 * ::1 or ::ffff:127.0.0.0/104), whatever the spelling it was opened with.
 */
int sock_bound_loopback(int fd);

/* How long an acceptor stops accepting after sock_accept_exhausted(). */
#define SOCK_ACCEPT_PAUSE 0.1

/* Whether accept(2) failing with <err> means the process or the system is
 * out of file descriptors or memory. The connection then stays queued and
 * the listener readable: accepting again at once fails the same way, in a
 * loop that burns a core. The acceptor stops watching the listener for
 * SOCK_ACCEPT_PAUSE seconds instead, and counts it.
 */
int sock_accept_exhausted(int err);

#endif
