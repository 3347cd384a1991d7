/* The certificates the agent wants every HAProxy to serve: one immutable
 * snapshot per change, shared by the pushers that work on it.
 */
#ifndef CERTS_CERTSET_T_H
#define CERTS_CERTSET_T_H

#include <stddef.h>
#include <stdint.h>

/* Every certificate the agent adds to HAProxy lives under this path (a
 * name in HAProxy's certificate store, not a file): whatever else the
 * crt-list holds belongs to the operator and is never touched.
 */
#define CERTSET_PREFIX "/swarm-spoa/"

struct arena;

struct certset_item {
	const char *name;        /* the ssl_cert name, "<ssl_cert>+<ssl_key>" when the key is apart */
	const char *dir;         /* CERTSET_PREFIX "<name>/", each ':' of the name a '=' (HAProxy
				    reads a ':' in a path as a line number): every path of this
				    name starts so */
	const char *path;        /* <dir><content hash>.pem; NULL when not ready */
	const char *pem;         /* the material to push (normalised PEM); NULL when not ready */
	size_t pem_len;
	const char *serial;      /* the leaf's serial, as HAProxy shows it */
	int64_t not_after;       /* seconds since the epoch */
	const char *filters;     /* SNI filters of its crt-list line, "" for the certificate's own names */
	int ready;               /* 0: the agent cannot read usable material now: entries of this
				    name are left as they are (another agent may have pushed them) */
	int drop;                /* not ready because the material covers none of its hosts:
				    entries of this name are removed all the same */
};

struct certset {
	unsigned refs;
	unsigned long generation;
	size_t n;
	struct certset_item *items;   /* sorted by name */
	struct certset_item *dflt;    /* --default-cert: replaces the crt-list's first certificate;
					 NULL when not given */
	int authoritative;            /* the routing table is complete: entries of names it
					 does not know may be removed */
	struct arena *arena;          /* owns the items and their strings */
};

#endif
