/* A byte channel to one HAProxy runtime API on the agent's libev loop:
 * a plain socket (unix or TCP), or, once hachan_tls_set() was called, TLS
 * with the agent's client certificate on every TCP address. HAProxy 2.6's
 * runtime API does not speak TLS itself: a "mode tcp" frontend that
 * requires a client certificate forwards to it (haproxy-conf/haproxy.cfg,
 * docs/security.md), so a client without the agents' certificate never
 * reaches the command parser.
 *
 * Its owner gets one HACHAN_CONNECTED (or HACHAN_ERROR) event, then the
 * EV_READ / EV_WRITE events it asks for with hachan_want(), and reads and
 * writes until they would block. Nothing blocks: the TLS handshake runs
 * on libcurl's multi-socket API (CURLOPT_CONNECT_ONLY) driven by the loop.
 * Main loop only.
 */
#ifndef HAPROXYAPI_HACHAN_H
#define HAPROXYAPI_HACHAN_H

#include <stddef.h>
#include <sys/types.h>

struct ev_loop;
struct hachan;
struct haproxy_cli_addr;

/* Events besides libev's EV_READ (0x01) and EV_WRITE (0x02). */
#define HACHAN_CONNECTED  0x1000
#define HACHAN_ERROR      0x2000

/* From now on, TCP addresses are reached over TLS: HAProxy's certificate
 * must chain to the CA in PEM file <ca> (its name is not checked: the CA is
 * the pair's own), and the agent presents the certificate of PEM file
 * <cert> with the private key of <key> (NULL: in <cert>). The files are
 * read at each connection, so a renewed certificate is used without a
 * restart. Returns 0, or -1 with the reason in <err> (a file that cannot
 * be read now). Call once at start-up, before any channel.
 */
int hachan_tls_set(const char *ca, const char *cert, const char *key, char *err, size_t errlen);

/* Whether a channel to <a> would speak TLS. */
int hachan_is_tls(const struct haproxy_cli_addr *a);

/* Connects to <a> (copied). <on_io> runs from the loop with HACHAN_CONNECTED
 * or HACHAN_ERROR once, then with the EV_READ / EV_WRITE events asked for;
 * it may close the channel. Returns the channel, or NULL with the reason in
 * <err> (<on_io> will not run).
 */
struct hachan *hachan_open(struct ev_loop *loop, const struct haproxy_cli_addr *a,
			   void (*on_io)(void *arg, int events), void *arg,
			   char *err, size_t errlen);

/* Which of EV_READ / EV_WRITE <ch> reports next (0: none). Connected
 * channels only.
 */
void hachan_want(struct hachan *ch, int events);

/* Reads up to <len> bytes into <buf>: returns how many, 0 at the end of the
 * stream, or -1 with errno EAGAIN (wait for EV_READ) or another errno
 * (hachan_error() says why). A TLS channel may hold bytes already read from
 * the socket: read until EAGAIN before waiting.
 */
ssize_t hachan_read(struct hachan *ch, void *buf, size_t len);

/* Writes up to <len> bytes of <buf>: returns how many, or -1 with errno
 * EAGAIN (wait for EV_WRITE) or another errno.
 */
ssize_t hachan_write(struct hachan *ch, const void *buf, size_t len);

/* Tells HAProxy nothing more will be written: a plain socket half-closes.
 * TLS cannot half-close through HAProxy's frontend, and needs not: the
 * runtime API closes after one command (or one payload's empty line).
 */
void hachan_end_write(struct hachan *ch);

/* Why the last failure happened ("" when none). Valid until the next call. */
const char *hachan_error(const struct hachan *ch);

/* Closes <ch> and frees it. NULL is accepted. Not from within libcurl. */
void hachan_close(struct hachan *ch);

#endif
