/* The growable byte buffer of sbuf.h. */
#ifndef COMMON_SBUF_T_H
#define COMMON_SBUF_T_H

#include <stddef.h>

struct sbuf {
	char *buf;      /* NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
	int oom;        /* set once an allocation failed; later appends are dropped */
};

#define SBUF_INIT { NULL, 0, 0, 0 }

#endif
