/* Docker answers read whole with jansson: the small ones that are walked
 * in several ways or written back (a service's spec, sent with an update).
 * The big lists go through jscan (dockerobj.h) instead.
 */
#ifndef DOCKERAPI_DOCKERJSON_H
#define DOCKERAPI_DOCKERJSON_H

#include <stddef.h>

struct json_t;
struct sbuf;

/* Parses the answer <json> (any bytes: whatever answers on the socket).
 * Returns its root, which the caller releases with json_decref(), or NULL
 * with the reason in <err>.
 */
struct json_t *dockerjson_load(const char *json, size_t len, char *err, size_t errlen);

/* The same for a list answer: NULL with the reason in <err> too when it is
 * not an array (<what>: "configs", "networks", ...).
 */
struct json_t *dockerjson_load_list(const char *json, size_t len, const char *what,
				    char *err, size_t errlen);

/* The string member <key> of <obj>, or NULL (not an object, no such
 * member, not a string).
 */
const char *dockerjson_str(struct json_t *obj, const char *key);

/* The "Labels" object of the spec <spec>, which gets an empty one when it
 * has none. Returns NULL when memory is exhausted.
 */
struct json_t *dockerjson_labels(struct json_t *spec);

/* Writes <spec> as compact JSON into <out>, replacing what it held (the
 * body of an update). Returns 0, or -1 when memory is exhausted.
 */
int dockerjson_dump(struct json_t *spec, struct sbuf *out);

#endif
