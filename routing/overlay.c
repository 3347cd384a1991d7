/* The health overlay: a sorted array of excluded tasks in one arena. */
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "routing/overlay.h"

struct overlay *overlay_new(void)
{
	struct overlay *ov = calloc(1, sizeof(*ov));

	if (!ov)
		return NULL;
	ov->arena = arena_new(16 * 1024);
	if (!ov->arena) {
		free(ov);
		return NULL;
	}
	return ov;
}

void overlay_free(struct overlay *ov)
{
	if (!ov)
		return;
	arena_free(ov->arena);
	free(ov->tasks);
	free(ov);
}

int overlay_add(struct overlay *ov, const char *task_id, const char *reason, int64_t until_ms)
{
	struct overlay_task *e;
	char *id, *why;

	if (ov->n == ov->cap) {
		size_t cap = ov->cap ? ov->cap * 2 : 16;
		struct overlay_task *tv = realloc(ov->tasks, cap * sizeof(*tv));

		if (!tv)
			return -1;
		ov->tasks = tv;
		ov->cap = cap;
	}
	id = arena_strdup(ov->arena, task_id);
	why = arena_strdup(ov->arena, reason ? reason : "");
	if (!id || !why)
		return -1;
	e = &ov->tasks[ov->n++];
	e->task_id = id;
	e->reason = why;
	e->until_ms = until_ms;
	return 0;
}

static int overlay_cmp(const void *a, const void *b)
{
	const struct overlay_task *x = a, *y = b;
	int d = strcmp(x->task_id, y->task_id);

	/* the latest end first, so that the kept duplicate is that one */
	if (d)
		return d;
	return (x->until_ms < y->until_ms) - (x->until_ms > y->until_ms);
}

void overlay_seal(struct overlay *ov)
{
	size_t k = 0;

	if (!ov->n)
		return;
	qsort(ov->tasks, ov->n, sizeof(*ov->tasks), overlay_cmp);
	for (size_t i = 1; i < ov->n; i++)
		if (strcmp(ov->tasks[i].task_id, ov->tasks[k].task_id) != 0)
			ov->tasks[++k] = ov->tasks[i];
	ov->n = k + 1;
}

const struct overlay_task *overlay_find(const struct overlay *ov, const char *task_id)
{
	size_t lo = 0, hi;

	if (!ov || !task_id)
		return NULL;
	hi = ov->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = strcmp(task_id, ov->tasks[mid].task_id);

		if (!d)
			return &ov->tasks[mid];
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}
