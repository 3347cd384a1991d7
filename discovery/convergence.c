/* Convergence measures of the models discovery hands over. */
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/log.h"
#include "common/strmap.h"
#include "discovery/convergence.h"
#include "routing/model.h"

#define CONVERGENCE_MAX_LAG_MS (3600 * 1000)   /* older: a state time we cannot trust */

struct convergence {
	int have_model;
	struct arena *ready_arena;  /* task IDs ready in the last model */
	struct strmap *ready;
	uint32_t lags[CONVERGENCE_WINDOW];
	size_t nlags;
	size_t lag_pos;
	uint64_t last;
	uint64_t max;
	uint64_t samples;
};

struct convergence *convergence_new(void)
{
	return calloc(1, sizeof(struct convergence));
}

void convergence_free(struct convergence *c)
{
	if (!c)
		return;
	strmap_free(c->ready);
	arena_free(c->ready_arena);
	free(c);
}

static void convergence_add(struct convergence *c, uint64_t lag)
{
	c->last = lag;
	if (lag > c->max)
		c->max = lag;
	c->samples++;
	c->lags[c->lag_pos] = lag > UINT32_MAX ? UINT32_MAX : (uint32_t)lag;
	c->lag_pos = (c->lag_pos + 1) % CONVERGENCE_WINDOW;
	if (c->nlags < CONVERGENCE_WINDOW)
		c->nlags++;
}

/* Whether the routing table takes <t>. The table reaches a task at its
 * address on the service's network, which depends on labels and on the
 * other tasks: an address on any network is the best guess from here (a
 * task with none is refused whatever the network).
 */
static int convergence_ready(const struct model_service *s, const struct model_task *t)
{
	int reachable = 0;

	for (size_t i = 0; i < t->nnets && !reachable; i++)
		reachable = t->nets[i].addr.family != 0;
	return model_task_ready(s, t, reachable) == MODEL_TASK_READY;
}

void convergence_model(struct convergence *c, const struct model *m, int64_t now_ms)
{
	struct arena *a = arena_new(16 * 1024);
	struct strmap *ready = strmap_new();

	if (!a || !ready) {
		arena_free(a);
		strmap_free(ready);
		return;
	}
	for (size_t i = 0; i < m->nsvcs; i++) {
		const struct model_service *s = &m->svcs[i];

		for (size_t j = 0; j < s->ntasks; j++) {
			const struct model_task *t = &s->tasks[j];
			char *id;

			if (!convergence_ready(s, t))
				continue;
			id = arena_strdup(a, t->id);
			if (!id || strmap_put(ready, id, id) < 0)
				continue;
			if (!c->have_model || (c->ready && strmap_get(c->ready, t->id)))
				continue;
			if (t->state_since_ms > 0 && now_ms >= t->state_since_ms &&
			    now_ms - t->state_since_ms < CONVERGENCE_MAX_LAG_MS) {
				uint64_t lag = (uint64_t)(now_ms - t->state_since_ms);

				convergence_add(c, lag);
				LOG(LL_DEBUG, "discovery", "task routable", KVS("service", s->name),
				    KVS("task", t->id), KVI("lag_ms", lag));
			}
		}
	}
	strmap_free(c->ready);
	arena_free(c->ready_arena);
	c->ready = ready;
	c->ready_arena = a;
	c->have_model = 1;
}

static int convergence_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void convergence_stats(const struct convergence *c, struct convergence_stats *st)
{
	uint32_t sorted[CONVERGENCE_WINDOW];

	memset(st, 0, sizeof(*st));
	st->last_ms = c->last;
	st->max_ms = c->max;
	st->samples = c->samples;
	if (!c->nlags)
		return;
	memcpy(sorted, c->lags, c->nlags * sizeof(*sorted));
	qsort(sorted, c->nlags, sizeof(*sorted), convergence_cmp);
	st->p50_ms = sorted[(c->nlags - 1) / 2];
	st->p99_ms = sorted[(c->nlags - 1) * 99 / 100];
}
