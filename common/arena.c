/* Bump allocator in linked chunks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"

struct arena_chunk {
	struct arena_chunk *next;
	size_t size;
	size_t used;
	_Alignas(max_align_t) unsigned char data[];
};

struct arena {
	struct arena_chunk *head;
	size_t chunk;
	size_t total;
};

#define ARENA_ALIGN (_Alignof(max_align_t))

struct arena *arena_new(size_t chunk)
{
	struct arena *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->chunk = chunk < 1024 ? 1024 : chunk;
	return a;
}

void arena_free(struct arena *a)
{
	struct arena_chunk *c, *next;

	if (!a)
		return;
	for (c = a->head; c; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}

void *arena_alloc(struct arena *a, size_t size)
{
	struct arena_chunk *c = a->head;
	size_t need = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	void *p;

	if (size > SIZE_MAX / 2)
		return NULL;
	if (!c || c->size - c->used < need) {
		size_t csize = need > a->chunk ? need : a->chunk;

		c = malloc(sizeof(*c) + csize);
		if (!c)
			return NULL;
		c->size = csize;
		c->used = 0;
		c->next = a->head;
		a->head = c;
		a->total += sizeof(*c) + csize;
	}
	p = c->data + c->used;
	c->used += need;
	return p;
}

void *arena_calloc(struct arena *a, size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size)
		return NULL;
	p = arena_alloc(a, n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

size_t arena_size(const struct arena *a)
{
	return a->total;
}
