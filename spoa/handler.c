/* Dispatch of NOTIFY messages by name. */
#include <string.h>

#include "spoa/handler.h"

enum handler_result handler_dispatch(struct worker *w, struct spop_msg *m,
				     struct spop_writer *ack)
{
	/* Two names only: a switch on the length beats any table. */
	switch (m->name_len) {
	case 5:
		if (memcmp(m->name, "route", 5) == 0)
			return msg_route(w, m, ack, 0);
		break;
	case 9:
		if (memcmp(m->name, "route-tcp", 9) == 0)
			return msg_route(w, m, ack, 1);
		break;
	}
	return HANDLER_UNKNOWN;
}
