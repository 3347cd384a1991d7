/* What a certificate label (com.docker.lb.ssl_cert / ssl_key) names. */
#ifndef ROUTING_CERTREF_T_H
#define ROUTING_CERTREF_T_H

#include <stddef.h>

/* The one kind of object a certificate name stands for. The kind comes
 * from the label alone, never from what exists in Docker: an object
 * created later under the same name, of another kind, is never read.
 */
enum certref_kind {
	CERTREF_SECRET = 0,      /* "NAME" or "secret:NAME": a Docker secret, read where it is
				    mounted into the agent (--certs-dir/NAME) */
	CERTREF_CONFIG,          /* "config:NAME": a Docker config, read through the Engine API */
	CERTREF_FILE,            /* "file:NAME": the file --certs-dir/NAME, nothing else */
};

struct certref {
	enum certref_kind kind;
	const char *name;        /* points into the label value, after the kind */
	int explicit_kind;       /* the value spelt the kind out */
};

#endif
