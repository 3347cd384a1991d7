/* Sticky sessions by cookie (com.docker.lb.sticky_session_cookie).
 *
 * As Interlock: the application's own cookie of that name is read from
 * the request, and its value is hashed onto the route's tasks (the caller
 * uses balance_hash(): consistent, only a lost task's values move). The
 * proxy sets no cookie.
 *
 * With swarm-spoa.sticky_managed: HAProxy sets the cookie; its value is
 * a keyed MAC of the task ID (SipHash-2-4 under the deployment's cookie
 * key), so it names a task without revealing its ID, and a client cannot
 * make one up for a task it was never sent to.
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

/* Finds the first cookie named <name> (<name_len> bytes, compared without
 * regard to case, as NGINX's $cookie_<name> does) in the Cookie header of
 * <len> bytes at <hdr>. Returns 1 and points <*val>/<*val_len> at its value
 * (in <hdr>, as sent, spaces around it dropped) when it is there and not
 * empty, else 0.
 */
int sticky_value(const char *hdr, size_t len, const char *name, size_t name_len,
		 const char **val, size_t *val_len);

/* Returns the hash a cookie value of <len> bytes at <val> is balanced by. */
uint64_t sticky_value_hash(const char *val, size_t len);

/* Returns the managed cookie value of task <id> under <key> (16 bytes):
 * what sticky_format() prints and sticky_parse() reads back.
 */
uint64_t sticky_mac(const unsigned char *key, const char *id);

#endif
