/* Certificate sets: creation, sharing, lookup. */
#ifndef CERTS_CERTSET_H
#define CERTS_CERTSET_H

#include "certs/certset-t.h"

/* Returns an empty set with room for <n> items (and the default when
 * <with_default>) allocated in its own arena, with one reference held by
 * the caller, or NULL when memory is exhausted.
 */
struct certset *certset_new(size_t n, int with_default);

struct certset *certset_ref(struct certset *s);

/* Drops a reference; the last one frees the set. NULL is accepted. */
void certset_unref(struct certset *s);

/* Whether a pusher would do the same with <a> as with <b>: the same items
 * with the same hosts and content, the same default, as authoritative.
 * NULL is never the same.
 */
int certset_same(const struct certset *a, const struct certset *b);

/* Returns the item whose name <name> (<len> bytes) is, or NULL. */
const struct certset_item *certset_find(const struct certset *s, const char *name, size_t len);

/* Returns the name part of a path under CERTSET_PREFIX ("/swarm-spoa/<name>/<hash>.pem")
 * in <*name> and <*len>, or -1 when <path> is not one of ours.
 */
int certset_path_name(const char *path, size_t path_len, const char **name, size_t *len);

#endif
