/* What changed between two tables, one event per difference: what the
 * agent logs when it publishes a new table. Services are matched by ID
 * and provider (IDs are unique within a provider), tasks by ID; both lists
 * are sorted, so the work is linear in the size of the tables.
 */
#include <stdio.h>
#include <string.h>

#include "common/netaddr.h"
#include "routing/rtable-int.h"

#define DIFF_DETAIL_MAX 512

typedef void (*diff_fn)(void *arg, const char *what, const char *service, const char *detail);

/* Returns the service of <t> with the ID and provider of <s>, or NULL. */
static const struct rt_service *diff_find(const struct rtable *t, const struct rt_service *s)
{
	long i;

	if (!t)
		return NULL;
	i = rtable_service_find_id(t, s->id, s->source);
	return i < 0 ? NULL : &t->svcs[i];
}

static void diff_summary(const struct rt_service *s, char *buf, size_t size)
{
	switch (s->status) {
	case RTABLE_SVC_ROUTED:
		snprintf(buf, size, "routed, %u/%u tasks ready, hosts %s%s", s->nready, s->ntasks,
			 s->spec.hosts_raw ? s->spec.hosts_raw : "(none)",
			 s->spec.default_backend ? ", default backend" : "");
		break;
	case RTABLE_SVC_SKIPPED:
		snprintf(buf, size, "skipped: %s", s->reason);
		break;
	default:
		snprintf(buf, size, "not routed%s%s", s->reason ? ": " : "", s->reason ? s->reason : "");
		break;
	}
}

static void diff_task(const struct rt_task *tk, char *buf, size_t size)
{
	char ip[NETADDR_STRLEN];

	if (tk->unready == RT_TASK_READY)
		snprintf(buf, size, "%s %s:%u ready", tk->id, netaddr_str(&tk->addr, ip), tk->port);
	else
		snprintf(buf, size, "%s (%s)", tk->id, rtable_unready_name(tk->unready));
}

/* Task events of a service present in both tables. */
static void diff_tasks(const struct rt_service *o, const struct rt_service *s, diff_fn fn, void *arg)
{
	char detail[DIFF_DETAIL_MAX];
	uint32_t i = 0, j = 0;

	while (i < o->ntasks || j < s->ntasks) {
		const struct rt_task *a = i < o->ntasks ? &o->tasks[i] : NULL;
		const struct rt_task *b = j < s->ntasks ? &s->tasks[j] : NULL;
		int d = !a ? 1 : !b ? -1 : strcmp(a->id, b->id);

		if (d < 0) {
			diff_task(a, detail, sizeof(detail));
			fn(arg, "task removed", s->name, detail);
			i++;
			continue;
		}
		if (d > 0) {
			diff_task(b, detail, sizeof(detail));
			fn(arg, "task added", s->name, detail);
			j++;
			continue;
		}
		if ((a->unready == RT_TASK_READY) != (b->unready == RT_TASK_READY)) {
			diff_task(b, detail, sizeof(detail));
			fn(arg, b->unready == RT_TASK_READY ? "task ready" : "task unready", s->name, detail);
		} else if (b->unready == RT_TASK_READY && !netaddr_equal(&a->addr, &b->addr)) {
			diff_task(b, detail, sizeof(detail));
			fn(arg, "task moved", s->name, detail);
		}
		i++;
		j++;
	}
}

void rtable_diff(const struct rtable *old, const struct rtable *cur,
		 void (*fn)(void *arg, const char *what, const char *service,
			    const char *detail),
		 void *arg)
{
	char detail[DIFF_DETAIL_MAX];

	for (uint32_t i = 0; i < cur->nsvcs; i++) {
		const struct rt_service *s = &cur->svcs[i];
		const struct rt_service *o = diff_find(old, s);

		if (!o) {
			diff_summary(s, detail, sizeof(detail));
			fn(arg, "service added", s->name, detail);
			if (s->status == RTABLE_SVC_SKIPPED)
				fn(arg, "service skipped", s->name, s->reason);
			continue;
		}
		if (s->status == RTABLE_SVC_SKIPPED) {
			if (o->status != RTABLE_SVC_SKIPPED || strcmp(o->reason, s->reason) != 0)
				fn(arg, "service skipped", s->name, s->reason);
		} else if (o->status == RTABLE_SVC_SKIPPED) {
			diff_summary(s, detail, sizeof(detail));
			fn(arg, "service recovered", s->name, detail);
		} else if (o->status != s->status) {
			diff_summary(s, detail, sizeof(detail));
			fn(arg, s->status == RTABLE_SVC_ROUTED ? "service routed" : "service unrouted",
			   s->name, detail);
		}
		diff_tasks(o, s, fn, arg);
	}
	if (!old)
		return;
	for (uint32_t i = 0; i < old->nsvcs; i++) {
		const struct rt_service *o = &old->svcs[i];

		if (!diff_find(cur, o)) {
			diff_summary(o, detail, sizeof(detail));
			fn(arg, "service removed", o->name, detail);
		}
	}
}
