/* One long-lived runtime API connection to an HAProxy, streaming a ring:
 * "set timeout cli 86400; show events <ring> -w -n" (HAProxy 2.6 and
 * later), one callback per line. On EOF or error (HAProxy restarted or
 * reloaded, the ring is unknown) it reconnects after a backoff that grows
 * from EVSTREAM_BACKOFF_MIN_MS to EVSTREAM_BACKOFF_MAX_MS and starts again
 * once a connection streamed for EVSTREAM_STABLE_MS. Lines written while
 * it was away are not read (-n): a lasting failure writes new ones.
 * Main loop only; nothing blocks.
 */
#ifndef HEALTH_EVSTREAM_H
#define HEALTH_EVSTREAM_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct evstream;
struct haproxy_cli_addr;

#define EVSTREAM_BACKOFF_MIN_MS  200
#define EVSTREAM_BACKOFF_MAX_MS  10000
#define EVSTREAM_STABLE_MS       5000
#define EVSTREAM_LINE_MAX        8192    /* longer lines are skipped */

struct evstream_status {
	const char *target;        /* the address's name */
	int connected;
	uint64_t connects;         /* connections made so far */
	uint64_t lines;            /* lines read */
	uint64_t skipped;          /* lines too long to read */
	const char *last_error;    /* "" when none */
};

/* Streams ring <ring> of the runtime API at <addr> (copied): <on_line>
 * gets each line without its LF (<line> valid during the call only).
 * Returns the stream, already connecting, or NULL when memory is
 * exhausted.
 */
struct evstream *evstream_new(struct ev_loop *loop, const struct haproxy_cli_addr *addr,
			      const char *ring,
			      void (*on_line)(void *arg, const char *line, size_t len), void *arg);

/* Closes the connection and frees <s>. NULL is accepted. */
void evstream_free(struct evstream *s);

void evstream_status(const struct evstream *s, struct evstream_status *st);

#endif
