/* A hash map from strings to pointers, for the ID lookups of discovery
 * (services, networks, nodes by Docker ID) and the certificate manager's
 * names. Keys are borrowed: the caller keeps each key alive and unchanged
 * while it is in the map.
 */
#ifndef COMMON_STRMAP_H
#define COMMON_STRMAP_H

#include <stddef.h>

struct strmap;

/* Returns an empty map, or NULL when memory is exhausted. */
struct strmap *strmap_new(void);
void strmap_free(struct strmap *m);

/* Maps <key> to <val>, replacing any earlier value. Returns 0, or -1 when
 * memory is exhausted (the map is unchanged then).
 */
int strmap_put(struct strmap *m, const char *key, void *val);

/* Returns the value of <key> (<len> bytes, not NUL-terminated), or NULL. */
void *strmap_getn(const struct strmap *m, const char *key, size_t len);
void *strmap_get(const struct strmap *m, const char *key);

/* Removes <key>. Returns its value, or NULL when it was absent. */
void *strmap_del(struct strmap *m, const char *key);

size_t strmap_count(const struct strmap *m);
void strmap_clear(struct strmap *m);

/* Iterates: start with *<pos> = 0; returns 1 and sets <key>/<val> for each
 * entry, in no particular order, 0 at the end. The map must not change
 * during the iteration, but through strmap_del_current().
 */
int strmap_next(const struct strmap *m, size_t *pos, const char **key, void **val);

/* Removes the entry that strmap_next() just returned through <pos>, and
 * returns its value; the key may be freed afterwards. The iteration goes
 * on with <pos>: it still returns every other entry exactly once.
 */
void *strmap_del_current(struct strmap *m, size_t *pos);

#endif
