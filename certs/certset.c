/* Certificate sets. */
#include <stdlib.h>
#include <string.h>

#include "certs/certset.h"
#include "common/arena.h"

struct certset *certset_new(size_t n, int with_default)
{
	struct arena *a = arena_new(16384);
	struct certset *s;

	if (!a)
		return NULL;
	s = arena_calloc(a, 1, sizeof(*s));
	if (!s)
		goto out_free;
	s->arena = a;
	s->refs = 1;
	s->items = arena_calloc(a, n ? n : 1, sizeof(*s->items));
	if (!s->items)
		goto out_free;
	if (with_default) {
		s->dflt = arena_calloc(a, 1, sizeof(*s->dflt));
		if (!s->dflt)
			goto out_free;
	}
	return s;

out_free:
	arena_free(a);
	return NULL;
}

struct certset *certset_ref(struct certset *s)
{
	s->refs++;
	return s;
}

void certset_unref(struct certset *s)
{
	if (!s || --s->refs)
		return;
	arena_free(s->arena);
}

static int certset_item_same(const struct certset_item *a, const struct certset_item *b)
{
	return strcmp(a->name, b->name) == 0 && a->ready == b->ready && a->drop == b->drop &&
	       strcmp(a->filters, b->filters) == 0 &&
	       (!a->ready || strcmp(a->path, b->path) == 0);
}

int certset_same(const struct certset *a, const struct certset *b)
{
	if (!a || !b || a->n != b->n || a->authoritative != b->authoritative ||
	    !a->dflt != !b->dflt)
		return 0;
	if (a->dflt && !certset_item_same(a->dflt, b->dflt))
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (!certset_item_same(&a->items[i], &b->items[i]))
			return 0;
	return 1;
}

/* Compares item name <m> with the <len> bytes of a path's name at <name>,
 * where each ':' of a name is a '=' (certident_dir()). No character a
 * name may hold sorts between the two, so the items' order holds.
 */
static int certset_name_cmp(const char *m, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < len && m[i]; i++) {
		unsigned char a = m[i] == ':' ? '=' : (unsigned char)m[i];
		unsigned char b = (unsigned char)name[i];

		if (a != b)
			return a < b ? -1 : 1;
	}
	if (i == len)
		return m[i] ? 1 : 0;
	return -1;
}

const struct certset_item *certset_find(const struct certset *s, const char *name, size_t len)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = certset_name_cmp(s->items[mid].name, name, len);

		if (c == 0)
			return &s->items[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int certset_path_name(const char *path, size_t path_len, const char **name, size_t *len)
{
	size_t plen = strlen(CERTSET_PREFIX);
	const char *slash;

	if (path_len <= plen || memcmp(path, CERTSET_PREFIX, plen) != 0)
		return -1;
	slash = memchr(path + plen, '/', path_len - plen);
	if (!slash || slash == path + plen)
		return -1;
	*name = path + plen;
	*len = (size_t)(slash - *name);
	return 0;
}
