/* Reading the pieces that Docker objects share (strings kept in an arena,
 * label maps, RFC 3339 times, CIDR addresses) from a jscan walk.
 *
 * An entry of a list is skipped, not the whole list, when one of its
 * fields is unusable: readers consume the value in any case and report a
 * field they could not use through <*reason> (a static string). They
 * return -1 only for a syntax error, which ends the whole document.
 */
#ifndef DOCKERAPI_DOCKEROBJ_H
#define DOCKERAPI_DOCKEROBJ_H

#include <stddef.h>
#include <stdint.h>
#include "routing/model-t.h"

struct arena;
struct jscan;

/* Reads a string into <a>. A null leaves *<out> NULL without a reason. */
int dockerobj_str(struct jscan *s, struct arena *a, const char **out, const char **reason);

/* Reads an integer; null leaves *<out> unchanged. */
int dockerobj_int(struct jscan *s, int64_t *out, const char **reason);

/* Reads a {"key": "value"} map (or null: none) into an array in <a>. A
 * label whose value is not a string is left out.
 */
int dockerobj_labels(struct jscan *s, struct arena *a, struct model_label **out, size_t *n,
		     const char **reason);

/* Returns the value of <key> in <labels>, or NULL. */
const char *dockerobj_label(const struct model_label *labels, size_t n, const char *key);

/* Whether one of <labels> starts with "com.docker.lb.": the service is
 * meant for the router (valid or not: the routing table judges).
 */
int dockerobj_routed(const struct model_label *labels, size_t n);

/* Milliseconds since the epoch of an RFC 3339 time as Docker writes it
 * ("2024-05-01T10:00:00.123456789Z", offsets allowed). Returns 0 for
 * Go's zero time and anything before 1970, -1 when malformed.
 */
int64_t dockerobj_time_ms(const char *s);

#endif
