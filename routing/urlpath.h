/* URL path prefixes as context roots, websocket endpoints and redirect
 * sources use them.
 */
#ifndef ROUTING_URLPATH_H
#define ROUTING_URLPATH_H

#include <stddef.h>

/* Returns 1 when the <len> bytes of <path> are <root> (<root_len> bytes,
 * without a trailing '/' unless it is "/") or lie below it on a segment
 * boundary: "/app" covers "/app", "/app/" and "/app/x" but not "/apple".
 * "/" and the empty root cover every path.
 */
static inline int urlpath_under(const char *path, size_t len, const char *root, size_t root_len)
{
	if (root_len <= 1)
		return 1;
	if (len < root_len)
		return 0;
	/* context roots are short: a byte loop beats a call to memcmp() */
	for (size_t i = 0; i < root_len; i++)
		if (path[i] != root[i])
			return 0;
	return len == root_len || path[root_len] == '/';
}

#endif
