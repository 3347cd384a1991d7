/* A bump allocator for data that lives and dies together (a routing table,
 * one provider's service model). Nothing is freed alone; arena_free()
 * releases everything at once.
 */
#ifndef COMMON_ARENA_H
#define COMMON_ARENA_H

#include <stddef.h>

struct arena;

/* Returns a new arena whose chunks are at least <chunk> bytes, or NULL when
 * memory is exhausted. The caller owns it and releases it with arena_free().
 */
struct arena *arena_new(size_t chunk);
void arena_free(struct arena *a);

/* Returns <size> bytes aligned for any type, or NULL. Owned by <a>. */
void *arena_alloc(struct arena *a, size_t size);

/* Same as arena_alloc() but zeroed. */
void *arena_calloc(struct arena *a, size_t n, size_t size);

/* Returns a NUL-terminated copy of the <n> bytes at <s>, or NULL. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);

/* Returns the bytes handed out so far plus chunk overhead. */
size_t arena_size(const struct arena *a);

#endif
