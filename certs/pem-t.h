/* A certificate chain and its key as pem.h reads them. */
#ifndef CERTS_PEM_T_H
#define CERTS_PEM_T_H

#include <stddef.h>
#include <stdint.h>
#include "certs/x509-t.h"

#define PEM_MAX_INPUT   ((size_t)1 << 20)   /* per text; a chain is a few kB */
#define PEM_MAX_CERTS   16                  /* leaf plus intermediates */

struct pem_bundle {
	char *text;              /* normalised PEM, NUL-terminated, owned (malloc) */
	size_t len;
	unsigned ncerts;
	struct x509_info leaf;   /* the first certificate: the one HAProxy serves */
	uint64_t hash;           /* FNV-1a 64 of <text>: names the content */
};

#endif
