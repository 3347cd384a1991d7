/* Messages of NOTIFY frames are dispatched by name to handlers, which append
 * ACK actions.
 */
#ifndef SPOA_HANDLER_H
#define SPOA_HANDLER_H

#include "spoa/spop-t.h"

struct worker;

/* Result of a handler. Every NOTIFY gets its ACK whatever the result. */
enum handler_result {
	HANDLER_OK = 0,
	HANDLER_UNKNOWN,     /* no handler for this message name */
	HANDLER_ERROR,       /* malformed arguments: an error was set in the ACK */
};

/* Runs the handler of message <m> on worker <w>, appending actions to <ack>. */
enum handler_result handler_dispatch(struct worker *w, struct spop_msg *m,
				     struct spop_writer *ack);

/* The "route" and "route-tcp" messages (spoa/msg_route.c). <tcp> selects
 * the TLS passthrough lookup by SNI.
 */
enum handler_result msg_route(struct worker *w, struct spop_msg *m,
			      struct spop_writer *ack, int tcp);

#endif
