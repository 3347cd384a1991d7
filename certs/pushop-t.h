/* One step of a sync of HAProxy's certificates: a certificate pushed,
 * the default certificate replaced, a crt-list line or a certificate
 * store removed; and where its dialogue with the runtime API stands.
 */
#ifndef CERTS_PUSHOP_T_H
#define CERTS_PUSHOP_T_H

#include <stddef.h>

#define PUSHOP_REASON_MAX 200

enum pushop_kind {
	PUSHOP_PUSH = 0,         /* a certificate of the set, into the store and the crt-list */
	PUSHOP_DEFAULT,          /* the default certificate, replaced in place */
	PUSHOP_DEL_ENTRY,        /* a crt-list line */
	PUSHOP_DEL_STORE,        /* a certificate of ours no line uses */
};

enum pushop_step {
	PUSHOP_ST_START = 0,     /* show ssl cert <path>: held already? */
	PUSHOP_ST_NEW,           /* new ssl cert */
	PUSHOP_ST_SET,           /* set ssl cert <<payload */
	PUSHOP_ST_CHECK_TX,      /* show ssl cert *<path> */
	PUSHOP_ST_COMMIT,
	PUSHOP_ST_VERIFY,        /* show ssl cert <path> */
	PUSHOP_ST_ADD,           /* add ssl crt-list */
	PUSHOP_ST_ABORT_OTHER,   /* a "set" landed in another path's transaction */
	PUSHOP_ST_ABORT_REFUSED, /* the material was refused: drop its transaction */
	PUSHOP_ST_DEL_REFUSED,   /* ... and its empty store */
	PUSHOP_ST_DELETE,        /* DEL_ENTRY, DEL_STORE: the one command */
};

struct pushop {
	enum pushop_kind kind;
	enum pushop_step step;
	size_t item;                        /* PUSH, DEFAULT: index in the set, set->n
					       for the default */
	const char *path;                   /* borrowed from what the plan was made of */
	unsigned line;                      /* DEL_ENTRY: its line in the crt-list */
	int listed;                         /* PUSH: HAProxy has the store already */
	char reason[PUSHOP_REASON_MAX];     /* a refusal under way, or why it ended so */
};

#endif
