/* The runtime API dialogue of one step of a sync, as a pure function:
 * the answer to a command in, the next command or the outcome out. No
 * I/O, no clock: the caller sends the commands (haproxy_cli.h) and gives
 * the time.
 *
 * A certificate goes in as "new ssl cert" (unless its store exists), "set
 * ssl cert" with the PEM as payload, "show ssl cert *<path>" (the open
 * transaction holds what was sent, and it has not expired), "commit ssl
 * cert", "show ssl cert <path>" (HAProxy holds it), then "add ssl
 * crt-list" with its SNI filters. With HAProxy 2.6, a "set" while another
 * path's transaction is open updates that other transaction: the answer
 * names it, and it is aborted. Refused material is aborted, and its empty
 * store deleted. A store that already holds the content only gets its
 * crt-list line; the default certificate is replaced in place, never
 * added.
 */
#ifndef CERTS_PUSHOP_H
#define CERTS_PUSHOP_H

#include <stddef.h>
#include <stdint.h>
#include "certs/pushop-t.h"

struct certset_item;
struct sbuf;

enum pushop_verdict {
	PUSHOP_SEND = 0,         /* send the command, then give its answer */
	PUSHOP_SERVED,           /* HAProxy serves the item already */
	PUSHOP_PUSHED,           /* pushed: HAProxy serves the item now */
	PUSHOP_FAILED,           /* could not finish now: retried at the next sync */
	PUSHOP_REFUSED,          /* HAProxy refused the material: every HAProxy would */
	PUSHOP_REMOVED,          /* DEL_ENTRY, DEL_STORE: done */
	PUSHOP_KEPT,             /* DEL_ENTRY, DEL_STORE: HAProxy did not remove it */
};

struct pushop_result {
	enum pushop_verdict verdict;
	const char *reason;      /* FAILED, REFUSED, KEPT: why, in the op */
	const char *aborted;     /* SEND: the command aborts this other certificate's
				    transaction, which got the payload; else NULL */
};

/* Writes the first command of <op> into <cmd> (reset first). <crt_list>
 * is the crt-list the sync works on.
 */
void pushop_start(struct pushop *op, const char *crt_list, struct sbuf *cmd);

/* Reads the answer <ans> (<len> bytes, any bytes) to the last command of
 * <op>, whose item is <it> (NULL for the removals), and fills <res>; on
 * PUSHOP_SEND, the next command is in <cmd> (reset first). <now_s> is the
 * wall clock, in seconds.
 */
void pushop_answer(struct pushop *op, const struct certset_item *it, const char *crt_list,
		   const char *ans, size_t len, int64_t now_s, struct sbuf *cmd,
		   struct pushop_result *res);

#endif
