/* One certificate the labels ask for: a certificate name and, when apart,
 * a key name, with the hosts and services using it, and its state.
 */
#ifndef CERTS_CERTIDENT_T_H
#define CERTS_CERTIDENT_T_H

#include <stdint.h>
#include "certs/pem-t.h"

#define CERTIDENT_REASON_MAX 256

enum certident_state {
	CERTIDENT_LOADING = 0,   /* its material is being looked for */
	CERTIDENT_READY,         /* usable material in <pem> */
	CERTIDENT_MISSING,       /* a name found nowhere, or not a Docker name */
	CERTIDENT_REFUSED,       /* unusable material: not PEM, key not matching, expired,
				    covering none of its hosts */
};

struct certident {
	char *name;              /* cert, or cert+key */
	char *cert;              /* a reference (routing/certref.h): NAME (a secret),
				    config:NAME or file:NAME */
	char *key;               /* NULL: in the certificate's text */
	char *filters;           /* hosts, normalised, sorted, separated by ' ' */
	char *services;          /* service names, ", " */
	char *bad_reason;        /* a label that names no usable object: never looked for */
	char *served;            /* READY: the hosts of <filters> the certificate covers,
				    its SNI filters in HAProxy (certs/certcover.h) */
	int cover_refused;       /* REFUSED because it covers none of its hosts: the material
				    is kept, hosts may change */
	enum certident_state state;
	char reason[CERTIDENT_REASON_MAX];
	const char *source;      /* "file", "secret", "config", ... */
	struct pem_bundle pem;
	unsigned cert_version;   /* of the blobs the bundle was made from */
	unsigned key_version;
	uint64_t refused_hash;   /* content HAProxy refused */
	char refused_reason[CERTIDENT_REASON_MAX];
	enum certident_state reported_state;   /* the last state logged ... */
	char reported[CERTIDENT_REASON_MAX];   /* ... and its reason */
};

#endif
