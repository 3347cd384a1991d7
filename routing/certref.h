/* Certificate references: the value of com.docker.lb.ssl_cert or ssl_key
 * read as one kind of object and a name. Interlock's labels name Docker
 * secrets, so a bare name is a secret; a config or a plain file is named
 * with its kind ("config:NAME", "file:NAME"). Read by the ownership
 * checks of the table build (the name is what belongs to a stack) and by
 * the certificate manager (the kind says where the material is).
 */
#ifndef ROUTING_CERTREF_H
#define ROUTING_CERTREF_H

#include <stddef.h>
#include "routing/certref-t.h"

/* Reads the label value <value> into <ref> (whose name points into
 * <value>). A value with a ':' must start with "secret:", "config:" or
 * "file:", and a name must follow. Returns 0, or -1 with the reason in
 * <err>; <ref> then holds the whole value as a secret name.
 */
int certref_parse(const char *value, struct certref *ref, char *err, size_t errlen);

/* "secret", "config" or "file". */
const char *certref_kind_name(enum certref_kind kind);

#endif
