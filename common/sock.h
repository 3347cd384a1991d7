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

#endif
