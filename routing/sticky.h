/* Sticky sessions by cookie (com.docker.lb.sticky_session_cookie): the
 * cookie value names a task without revealing its ID, and is read back
 * from the request's Cookie header.
 */
#ifndef ROUTING_STICKY_H
#define ROUTING_STICKY_H

#include <stddef.h>
#include <stdint.h>

#define STICKY_VALUE_LEN 16      /* hex digits of a cookie value */

/* Writes the cookie value of the task whose key is <key> (balance_key() of
 * its ID) into <out>: 16 lowercase hex digits, not NUL-terminated.
 */
void sticky_format(uint64_t key, char *out);

/* Looks for cookie <name> (<name_len> bytes) in the Cookie header of
 * <len> bytes at <hdr>, starting the search at <*pos>. On success stores
 * the key its value carries in <*key>, moves <*pos> past it and returns 1;
 * returns 0 when no further well-formed occurrence exists. Values that are
 * not 16 hex digits (optionally quoted) are skipped.
 */
int sticky_parse(const char *hdr, size_t len, const char *name, size_t name_len,
		 size_t *pos, uint64_t *key);

#endif
