/* The stats socket server: a unix socket and an optional TCP listener,
 * each accepted client speaking the commands of commands.h, one per line,
 * in HAProxy's runtime API manner:
 *
 * - by default a client sends one line, gets its answer followed by an
 *   empty line, and the connection closes (echo "show info" | socat ...);
 * - "prompt" switches the session to interactive mode: each answer is
 *   followed by "\n> " and the connection stays open until "quit", EOF or
 *   the idle timeout.
 *
 * Output goes out through a write watcher as the client reads it; long
 * listings are produced in parts, what one client may have waiting is
 * capped, and all clients together fill at most a few milliseconds of a
 * loop turn.
 */
#ifndef STATS_SERVER_H
#define STATS_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;

#define SERVER_MAX_CLIENTS 256
#define SERVER_OUT_MAX (64u << 20)    /* bytes one answer may leave unread */

/* Opens the unix socket <path> (mode <mode>; NULL: none) and the TCP
 * listener <tcp> ("HOST:PORT"; NULL: none), which must be a loopback
 * address unless <allow_remote>. Returns 0, or -1 with <err>.
 */
int server_start(struct ev_loop *loop, const char *path, unsigned mode, const char *tcp,
		 int allow_remote, char *err, size_t errlen);

/* Times a listener paused because accept(2) ran out of descriptors or
 * memory, since start.
 */
uint64_t server_accept_pauses(void);

/* Closes the listeners and every client; removes the socket file if it is
 * still the one this process created.
 */
void server_stop(void);

#endif
