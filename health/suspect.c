/* Nodes that stop answering as a whole (see suspect.h). */
#include <stdlib.h>
#include <string.h>

#include "health/suspect.h"

#define SUSPECT_ID_MAX 128

struct suspect_task {
	char id[SUSPECT_ID_MAX];
	int64_t last_ms;             /* the last timeout */
};

struct suspect_node {
	char id[SUSPECT_ID_MAX];
	int64_t until_ms;
};

/* Short lists: empty in a healthy swarm, a node's tasks while it dies. */
struct suspect {
	struct suspect_task tasks[SUSPECT_TASKS_MAX];
	size_t ntasks;
	struct suspect_node nodes[SUSPECT_NODES_MAX];
	size_t nnodes;
};

struct suspect *suspect_new(void)
{
	return calloc(1, sizeof(struct suspect));
}

void suspect_free(struct suspect *s)
{
	free(s);
}

static struct suspect_task *suspect_task_of(struct suspect *s, const char *id)
{
	for (size_t i = 0; i < s->ntasks; i++)
		if (strcmp(s->tasks[i].id, id) == 0)
			return &s->tasks[i];
	return NULL;
}

int suspect_timeout(struct suspect *s, const char *task_id, int64_t now_ms)
{
	struct suspect_task *t = suspect_task_of(s, task_id);

	if (strlen(task_id) >= SUSPECT_ID_MAX)
		return -1;
	if (!t) {
		if (s->ntasks == SUSPECT_TASKS_MAX) {
			/* full: the oldest timeout goes */
			size_t old = 0;

			for (size_t i = 1; i < s->ntasks; i++)
				if (s->tasks[i].last_ms < s->tasks[old].last_ms)
					old = i;
			t = &s->tasks[old];
		} else {
			t = &s->tasks[s->ntasks++];
		}
		strcpy(t->id, task_id);
	}
	t->last_ms = now_ms;
	return 0;
}

int64_t suspect_until(const struct suspect *s, const char *node_id, int64_t now_ms)
{
	for (size_t i = 0; i < s->nnodes; i++)
		if (strcmp(s->nodes[i].id, node_id) == 0)
			return s->nodes[i].until_ms > now_ms ? s->nodes[i].until_ms : 0;
	return 0;
}

/* Whether one of the <n> tasks <tasks> timed out after <since_ms>. */
static int suspect_failed_since(const struct suspect *s, const char *const *tasks, size_t n,
				int64_t since_ms)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < s->ntasks; j++)
			if (s->tasks[j].last_ms > since_ms && strcmp(s->tasks[j].id, tasks[i]) == 0)
				return 1;
	return 0;
}

int64_t suspect_node(struct suspect *s, const char *node_id, const char *const *tasks, size_t n,
		     int64_t now_ms)
{
	struct suspect_node *sn = NULL;

	if (strlen(node_id) >= SUSPECT_ID_MAX || suspect_until(s, node_id, now_ms))
		return 0;
	for (size_t i = 0; i < s->nnodes && !sn; i++)
		if (strcmp(s->nodes[i].id, node_id) == 0)
			sn = &s->nodes[i];
	if (sn && now_ms < sn->until_ms + SUSPECT_PROBATION_MS && suspect_failed_since(s, tasks, n, sn->until_ms)) {
		/* on probation: one task that does not answer is enough */
		sn->until_ms = now_ms + SUSPECT_HOLD_MS;
		return sn->until_ms;
	}
	if (n < 2)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct suspect_task *t = suspect_task_of(s, tasks[i]);

		if (!t || t->last_ms <= now_ms - SUSPECT_WINDOW_MS)
			return 0;
	}
	if (!sn) {
		if (s->nnodes == SUSPECT_NODES_MAX)
			return -1;
		sn = &s->nodes[s->nnodes++];
		strcpy(sn->id, node_id);
	}
	sn->until_ms = now_ms + SUSPECT_HOLD_MS;
	return sn->until_ms;
}

int suspect_on_probation(const struct suspect *s, const char *node_id, int64_t now_ms)
{
	for (size_t i = 0; i < s->nnodes; i++)
		if (strcmp(s->nodes[i].id, node_id) == 0)
			return s->nodes[i].until_ms <= now_ms &&
			       now_ms < s->nodes[i].until_ms + SUSPECT_PROBATION_MS;
	return 0;
}

void suspect_expire(struct suspect *s, int64_t now_ms)
{
	size_t k = 0;

	for (size_t i = 0; i < s->ntasks; i++)
		if (s->tasks[i].last_ms > now_ms - SUSPECT_WINDOW_MS)
			s->tasks[k++] = s->tasks[i];
	s->ntasks = k;
	k = 0;
	for (size_t i = 0; i < s->nnodes; i++)
		if (s->nodes[i].until_ms + SUSPECT_PROBATION_MS > now_ms)
			s->nodes[k++] = s->nodes[i];
	s->nnodes = k;
}

size_t suspect_count(const struct suspect *s, int64_t now_ms)
{
	size_t n = 0;

	for (size_t i = 0; i < s->nnodes; i++)
		n += s->nodes[i].until_ms > now_ms;
	return n;
}
