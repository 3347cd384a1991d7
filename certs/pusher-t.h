/* What a pusher says of each certificate of its set. */
#ifndef CERTS_PUSHER_T_H
#define CERTS_PUSHER_T_H

enum pusher_item_state {
	PUSHER_ITEM_PENDING = 0,   /* not served by this HAProxy yet */
	PUSHER_ITEM_OK,            /* in the crt-list, its content checked */
	PUSHER_ITEM_REFUSED,       /* HAProxy refused the material */
	PUSHER_ITEM_FAILED,        /* the push failed; retried at the next sync */
	PUSHER_ITEM_NOT_READY,     /* the agent has no usable material for it */
};

#endif
