/* Passive health's per-task failure counts and exclusions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health/exclude.h"
#include "routing/overlay.h"

#define EXCLUDE_ID_MAX     128
#define EXCLUDE_REASON_MAX 160

/* A task that failed recently. <fails> holds the times of its last
 * failures, oldest first.
 */
struct exclude_task {
	char service[EXCLUDE_ID_MAX];
	char task_id[EXCLUDE_ID_MAX];
	int64_t fails[EXCLUDE_MAX_FAILS];
	unsigned nfails;
	int64_t fail_timeout_ms;
	int64_t until_ms;                  /* 0: not excluded */
	uint64_t exclusions;
	char reason[EXCLUDE_REASON_MAX];
};

/* A short list: only tasks with a failure younger than their
 * fail_timeout are kept, which is none at all in a healthy swarm.
 */
struct exclude {
	struct exclude_task *tasks;
	size_t n, cap;
};

int exclude_policy_parse(struct exclude_policy *p, const char *max_fails,
			 const char *fail_timeout, char *err, size_t errlen)
{
	int ret = 0;
	char *end;

	p->max_fails = EXCLUDE_DEFAULT_MAX_FAILS;
	p->fail_timeout_ms = EXCLUDE_DEFAULT_TIMEOUT_MS;
	if (max_fails) {
		long v;

		errno = 0;
		v = strtol(max_fails, &end, 10);
		while (*end == ' ')
			end++;
		if (errno || end == max_fails || *end || v < 0) {
			snprintf(err, errlen, "max_fails '%.32s' is not a number of failures", max_fails);
			ret = -1;
		} else {
			p->max_fails = v > EXCLUDE_MAX_FAILS ? EXCLUDE_MAX_FAILS : (unsigned)v;
		}
	}
	if (fail_timeout) {
		double v, unit = 1000;

		errno = 0;
		v = strtod(fail_timeout, &end);
		if (strcmp(end, "ms") == 0)
			unit = 1;
		else if (strcmp(end, "m") == 0)
			unit = 60000;
		else if (strcmp(end, "h") == 0)
			unit = 3600000;
		else if (*end && strcmp(end, "s") != 0)
			end = (char *)fail_timeout;
		if (errno || end == fail_timeout || !(v * unit >= 1) ||
		    v * unit > EXCLUDE_MAX_TIMEOUT_MS) {
			snprintf(err, errlen, "fail_timeout '%.32s' is not a time from 1ms to 1h "
				 "(e.g. 10s, 500ms)", fail_timeout);
			ret = -1;
		} else {
			p->fail_timeout_ms = (int64_t)(v * unit);
		}
	}
	return ret;
}

struct exclude *exclude_new(void)
{
	return calloc(1, sizeof(struct exclude));
}

void exclude_free(struct exclude *x)
{
	if (!x)
		return;
	free(x->tasks);
	free(x);
}

static struct exclude_task *exclude_get(struct exclude *x, const char *service, const char *id)
{
	struct exclude_task *t;

	for (size_t i = 0; i < x->n; i++)
		if (strcmp(x->tasks[i].task_id, id) == 0 && strcmp(x->tasks[i].service, service) == 0)
			return &x->tasks[i];
	if (strlen(id) >= EXCLUDE_ID_MAX || strlen(service) >= EXCLUDE_ID_MAX)
		return NULL;
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 8;
		struct exclude_task *tv = realloc(x->tasks, cap * sizeof(*tv));

		if (!tv)
			return NULL;
		x->tasks = tv;
		x->cap = cap;
	}
	t = &x->tasks[x->n++];
	memset(t, 0, sizeof(*t));
	strcpy(t->service, service);
	strcpy(t->task_id, id);
	return t;
}

int exclude_failure(struct exclude *x, const char *service, const char *task_id,
		    const struct exclude_policy *p, int64_t now_ms, const char *what)
{
	struct exclude_task *t;
	unsigned recent = 0;

	if (!p->max_fails)
		return 0;
	t = exclude_get(x, service, task_id);
	if (!t)
		return -1;
	t->fail_timeout_ms = p->fail_timeout_ms;
	if (t->until_ms > now_ms)
		return 0;
	t->until_ms = 0;
	if (t->nfails == EXCLUDE_MAX_FAILS) {
		memmove(t->fails, t->fails + 1, (EXCLUDE_MAX_FAILS - 1) * sizeof(*t->fails));
		t->nfails--;
	}
	t->fails[t->nfails++] = now_ms;
	for (unsigned i = 0; i < t->nfails; i++)
		if (t->fails[i] > now_ms - p->fail_timeout_ms)
			recent++;
	if (recent < p->max_fails)
		return 0;
	t->until_ms = now_ms + p->fail_timeout_ms;
	t->nfails = 0;
	t->exclusions++;
	snprintf(t->reason, sizeof(t->reason), "%u failure%s in %lldms (last: %s)", recent,
		 recent > 1 ? "s" : "", (long long)p->fail_timeout_ms, what ? what : "-");
	return 1;
}

int exclude_force(struct exclude *x, const char *service, const char *task_id,
		  const struct exclude_policy *p, int64_t now_ms, int64_t until_ms,
		  const char *reason)
{
	struct exclude_task *t = exclude_get(x, service, task_id);
	int was;

	if (!t)
		return -1;
	t->fail_timeout_ms = p->fail_timeout_ms;
	was = t->until_ms > now_ms;
	if (was && t->until_ms >= until_ms)
		return 0;
	if (!was) {
		t->nfails = 0;
		t->exclusions++;
	}
	t->until_ms = until_ms;
	snprintf(t->reason, sizeof(t->reason), "%s", reason);
	return !was;
}

size_t exclude_expire(struct exclude *x, int64_t now_ms)
{
	size_t ended = 0, k = 0;

	for (size_t i = 0; i < x->n; i++) {
		struct exclude_task *t = &x->tasks[i];
		unsigned keep = 0;

		if (t->until_ms && t->until_ms <= now_ms) {
			t->until_ms = 0;
			ended++;
		}
		for (unsigned j = 0; j < t->nfails; j++)
			if (t->fails[j] > now_ms - t->fail_timeout_ms)
				t->fails[keep++] = t->fails[j];
		t->nfails = keep;
		if (!t->until_ms && !t->nfails)
			continue;   /* forgotten */
		if (k != i)
			x->tasks[k] = *t;
		k++;
	}
	x->n = k;
	return ended;
}

int64_t exclude_next_end(const struct exclude *x)
{
	int64_t next = 0;

	for (size_t i = 0; i < x->n; i++)
		if (x->tasks[i].until_ms && (!next || x->tasks[i].until_ms < next))
			next = x->tasks[i].until_ms;
	return next;
}

size_t exclude_count(const struct exclude *x)
{
	size_t n = 0;

	for (size_t i = 0; i < x->n; i++)
		n += x->tasks[i].until_ms != 0;
	return n;
}

void exclude_each(const struct exclude *x, void (*fn)(void *arg, const struct exclude_view *v),
		  void *arg)
{
	for (size_t i = 0; i < x->n; i++) {
		const struct exclude_task *t = &x->tasks[i];
		struct exclude_view v = { t->service, t->task_id, t->reason, t->until_ms, t->exclusions };

		if (t->until_ms)
			fn(arg, &v);
	}
}

struct overlay *exclude_overlay(const struct exclude *x)
{
	struct overlay *ov = overlay_new();

	if (!ov)
		return NULL;
	for (size_t i = 0; i < x->n; i++) {
		const struct exclude_task *t = &x->tasks[i];

		if (t->until_ms && overlay_add(ov, t->task_id, t->reason, t->until_ms) < 0) {
			overlay_free(ov);
			return NULL;
		}
	}
	overlay_seal(ov);
	return ov;
}
