/* Service models: allocation and label lookup. */
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "routing/model.h"

struct model *model_new(const char *source)
{
	struct arena *a = arena_new(64 * 1024);
	struct model *m;

	if (!a)
		return NULL;
	m = arena_calloc(a, 1, sizeof(*m));
	if (!m) {
		arena_free(a);
		return NULL;
	}
	m->arena = a;
	m->source = source;
	return m;
}

void model_free(struct model *m)
{
	if (m)
		arena_free(m->arena);
}

const char *model_label(const struct model_service *svc, const char *key)
{
	for (size_t i = 0; i < svc->nlabels; i++)
		if (strcmp(svc->labels[i].key, key) == 0)
			return svc->labels[i].value;
	return NULL;
}
