/* The material certificates are made of: the content of one name (a
 * secret, a config or a file), wherever it was found. A name may serve as
 * a certificate and as a key.
 */
#ifndef CERTS_CERTBLOB_T_H
#define CERTS_CERTBLOB_T_H

#include <stdint.h>
#include "certs/certsrc-t.h"
#include "common/sbuf-t.h"
#include "routing/certref-t.h"

#define CERTBLOB_REASON_MAX 256

struct certblob_store;
struct dockerapi_req;

enum certblob_state {
	CERTBLOB_NEW = 0,        /* to be looked for */
	CERTBLOB_QUEUED,         /* waiting for a free Docker lookup */
	CERTBLOB_LOOKING,        /* asking Docker */
	CERTBLOB_FILE,           /* read from <certs_dir>/<name> (a secret's mount, or a file) */
	CERTBLOB_CONFIG,         /* read from the Docker config <name> */
	CERTBLOB_SECRET,         /* a Docker secret that is not mounted into the agent */
	CERTBLOB_MISSING,        /* found nowhere */
	CERTBLOB_ERROR,          /* could not be read or asked for */
};

/* One name's material, of one kind. Read-only outside certblob.c. */
struct certblob {
	char *key;                         /* "<kind>:<name>": the store's key */
	const char *name;                  /* in <key> */
	enum certref_kind kind;            /* where it may be found: nowhere else */
	enum certblob_state state;
	struct sbuf data;                  /* FILE, CONFIG: the content */
	unsigned version;                  /* changes with the data */
	char reason[CERTBLOB_REASON_MAX];  /* SECRET, MISSING, ERROR: why it cannot be used */
	char secret_id[128];               /* SECRET: its Docker ID */

	struct certblob_store *owner;
	struct certsrc_stamp stamp;        /* FILE: what the file was when read */
	int64_t looked_ms;                 /* monotonic: end of the last lookup */
	struct dockerapi_req *req;
	int used;                          /* asked for since the last recheck */
};

#endif
