/* String map: open addressing with linear probing and backward-shift
 * deletion (no tombstones, so lookups stay short after many removals).
 *
 * Iteration goes over the slots twice. The first lap returns the entries
 * at or after their home slot, the second the entries whose probe wrapped
 * past the end of the array (home after their slot); these all lie in the
 * run of full slots at the start, so the second lap ends at the first
 * empty slot. Deleting the entry just returned shifts back only entries
 * that come later in its cluster; an entry that crosses the end of the
 * array on the way stops being a wrapped one and lands in a slot the first
 * lap has not reached yet. Looking at the deleted slot again therefore
 * returns every other entry exactly once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/strmap.h"

struct strmap_slot {
	const char *key;     /* NULL: empty */
	size_t len;
	uint64_t hash;
	void *val;
};

struct strmap {
	struct strmap_slot *slots;
	size_t cap;          /* power of two, or 0 before the first put */
	size_t count;
};

static uint64_t strmap_hash(const char *s, size_t len)
{
	return hash_bytes(HASH_SEED, s, len);
}

struct strmap *strmap_new(void)
{
	return calloc(1, sizeof(struct strmap));
}

void strmap_free(struct strmap *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m);
}

static struct strmap_slot *strmap_find(const struct strmap *m, const char *key, size_t len,
				       uint64_t h)
{
	size_t mask = m->cap - 1;

	if (!m->cap)
		return NULL;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct strmap_slot *sl = &m->slots[i];

		if (!sl->key)
			return NULL;
		if (sl->hash == h && sl->len == len && memcmp(sl->key, key, len) == 0)
			return sl;
	}
}

static void strmap_insert_slot(struct strmap_slot *slots, size_t cap, const struct strmap_slot *e)
{
	size_t mask = cap - 1, i = e->hash & mask;

	while (slots[i].key)
		i = (i + 1) & mask;
	slots[i] = *e;
}

static int strmap_grow(struct strmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 16;
	struct strmap_slot *ns;

	if (ncap > SIZE_MAX / sizeof(*ns))
		return -1;
	ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -1;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key)
			strmap_insert_slot(ns, ncap, &m->slots[i]);
	free(m->slots);
	m->slots = ns;
	m->cap = ncap;
	return 0;
}

int strmap_put(struct strmap *m, const char *key, void *val)
{
	struct strmap_slot e = { key, strlen(key), 0, val }, *sl;

	e.hash = strmap_hash(key, e.len);
	sl = strmap_find(m, key, e.len, e.hash);
	if (sl) {
		sl->key = key;
		sl->val = val;
		return 0;
	}
	/* keep the load at or below 1/2: probes stay short */
	if ((m->count + 1) * 2 > m->cap && strmap_grow(m) < 0)
		return -1;
	strmap_insert_slot(m->slots, m->cap, &e);
	m->count++;
	return 0;
}

void *strmap_getn(const struct strmap *m, const char *key, size_t len)
{
	struct strmap_slot *sl = strmap_find(m, key, len, strmap_hash(key, len));

	return sl ? sl->val : NULL;
}

void *strmap_get(const struct strmap *m, const char *key)
{
	return strmap_getn(m, key, strlen(key));
}

/* Empties slot <i> and moves later entries of its cluster back into the
 * hole when their home slot allows it.
 */
static void strmap_remove_slot(struct strmap *m, size_t i)
{
	size_t mask = m->cap - 1, j;

	for (j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
		size_t home = m->slots[j].hash & mask;

		/* the entry at j may move to i unless its home lies in (i, j] */
		if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	memset(&m->slots[i], 0, sizeof(m->slots[i]));
	m->count--;
}

void *strmap_del(struct strmap *m, const char *key)
{
	size_t len = strlen(key);
	struct strmap_slot *sl = strmap_find(m, key, len, strmap_hash(key, len));
	void *val;

	if (!sl)
		return NULL;
	val = sl->val;
	strmap_remove_slot(m, (size_t)(sl - m->slots));
	return val;
}

size_t strmap_count(const struct strmap *m)
{
	return m->count;
}

void strmap_clear(struct strmap *m)
{
	if (m->cap)
		memset(m->slots, 0, m->cap * sizeof(*m->slots));
	m->count = 0;
}

int strmap_next(const struct strmap *m, size_t *pos, const char **key, void **val)
{
	size_t mask = m->cap - 1;

	while (*pos < 2 * m->cap) {
		size_t i = *pos & mask;
		const struct strmap_slot *sl = &m->slots[i];
		int second_lap = *pos >= m->cap;

		if (!sl->key) {
			/* no wrapped entry lies past an empty slot */
			*pos = second_lap ? 2 * m->cap : *pos + 1;
			continue;
		}
		(*pos)++;
		if (((sl->hash & mask) > i) != second_lap)
			continue;
		*key = sl->key;
		*val = sl->val;
		return 1;
	}
	return 0;
}

void *strmap_del_current(struct strmap *m, size_t *pos)
{
	size_t i = (*pos - 1) & (m->cap - 1);
	void *val = m->slots[i].val;

	strmap_remove_slot(m, i);
	(*pos)--;   /* the slot again: it may hold a later entry now */
	return val;
}
