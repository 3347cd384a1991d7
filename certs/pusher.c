/* Keeping one HAProxy's certificates in step with a set, through its
 * runtime API: the I/O of a sync. It reads what HAProxy holds, has
 * pushplan.c plan the sync and pushop.c conduct each step, and sends their
 * commands one at a time through haproxy_cli.c; it keeps the statuses,
 * the counters, the log and the timers.
 *
 * HAProxy 2.6 has a single certificate transaction for the whole process,
 * and "set ssl cert" on a path while another path's transaction is open
 * updates that other transaction: two agents pushing at once could commit
 * one certificate under the other's name. Every push therefore checks what
 * it got (pushop.h). Paths carry a hash of their content, so a path never
 * changes meaning.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ev.h>

#include "certs/certset.h"
#include "certs/haproxy_ans.h"
#include "haproxyapi/haproxy_cli.h"
#include "certs/pusher.h"
#include "certs/pushop.h"
#include "certs/pushplan.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "common/strmap.h"

#define PUSHER_RETRY_MS        1000    /* after a push that failed */
#define PUSHER_BACKOFF_MIN_MS  500     /* HAProxy unreachable: first retry */
#define PUSHER_BACKOFF_MAX_MS  30000
#define PUSHER_MAX_RUNS        4       /* back-to-back syncs while each changes something */
#define PUSHER_REASON_MAX      200
#define PUSHER_PATH_MAX        512

enum pusher_phase {
	PH_IDLE = 0,
	PH_LISTS,          /* show ssl crt-list: find the crt-list */
	PH_ENTRIES,        /* show ssl crt-list -n <list> */
	PH_STORES,         /* show ssl cert */
	PH_OPS,            /* the plan, one command at a time */
};

struct pusher_item_status {
	enum pusher_item_state state;
	char reason[PUSHER_REASON_MAX];
};

struct pusher {
	struct ev_loop *loop;
	struct haproxy_cli_addr addr;
	char crt_list[PUSHER_PATH_MAX];
	int crt_list_fixed;                 /* given by the operator */
	struct pusher_hooks hooks;
	void *arg;

	struct certset *set;                /* the latest */
	struct pusher_item_status *items;   /* set->n + 1 (the default last) */
	struct certset *run_set;            /* the one the sync under way works on */

	enum pusher_phase phase;
	struct haproxy_cli_req *req;
	ev_timer timer;
	int dirty;                          /* a new set came during the sync */
	unsigned runs;
	int changed;                        /* this sync changed something */
	int failed;                         /* this sync had a push fail */

	/* what HAProxy holds, read by the sync (strings owned) */
	struct pushplan_entry *entries;
	size_t nentries, centries;
	char **stores;
	size_t nstores, cstores;
	char tx[PUSHER_PATH_MAX];           /* the open transaction's path, "" when none */

	struct pushplan *plan;              /* what was unwanted, across syncs */
	struct pushplan_out out;            /* the sync's plan */
	size_t opi;                         /* its next op */
	int64_t grace_due_ms;               /* earliest removal waiting for its grace, 0: none */

	const char *state;
	char last_error[256];
	int64_t last_sync_ms;
	unsigned backoff_ms;
	struct pusher_counters n;
	struct sbuf cmd;
};

static void pusher_run(struct pusher *p);
static void pusher_op_next(struct pusher *p);

/************************************************************************/
/*                              utilities                               */
/************************************************************************/

/* Copies <src> into <dst> (<size> bytes), cut if it must be. */
static void pusher_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void pusher_entries_clear(struct pusher *p)
{
	for (size_t i = 0; i < p->nentries; i++) {
		free((char *)p->entries[i].path);
		free((char *)p->entries[i].filters);
	}
	p->nentries = 0;
}

static void pusher_stores_clear(struct pusher *p)
{
	for (size_t i = 0; i < p->nstores; i++)
		free(p->stores[i]);
	p->nstores = 0;
}

static const struct certset_item *pusher_op_item(const struct pusher *p, const struct pushop *op)
{
	if (op->kind != PUSHOP_PUSH && op->kind != PUSHOP_DEFAULT)
		return NULL;
	return op->item == p->run_set->n ? p->run_set->dflt : &p->run_set->items[op->item];
}

/* The status slot of an item of the run's set, if that set is still the
 * latest (a newer set has its own statuses, filled at its next sync).
 */
static struct pusher_item_status *pusher_slot(struct pusher *p, size_t item)
{
	if (p->run_set != p->set || !p->items)
		return NULL;
	return &p->items[item];
}

static void pusher_item_set(struct pusher *p, size_t item, enum pusher_item_state st,
			    const char *reason)
{
	struct pusher_item_status *s = pusher_slot(p, item);

	if (!s)
		return;
	s->state = st;
	pusher_copy(s->reason, sizeof(s->reason), reason ? reason : "");
}

/************************************************************************/
/*                          talking to HAProxy                          */
/************************************************************************/

static void pusher_on_answer(void *arg, const char *error, const char *ans, size_t len);

static void pusher_schedule(struct pusher *p, unsigned ms)
{
	ev_timer_stop(p->loop, &p->timer);
	ev_timer_set(&p->timer, ms / 1000.0, 0.0);
	ev_timer_start(p->loop, &p->timer);
}

/* The sync ends here, well or not. */
static void pusher_end_run(struct pusher *p, const char *error)
{
	unsigned next;

	pushplan_release(&p->out);
	p->opi = 0;
	certset_unref(p->run_set);
	p->run_set = NULL;
	p->phase = PH_IDLE;
	if (error) {
		if (strcmp(p->state, "unreachable") != 0 || strcmp(p->last_error, error) != 0)
			LOG(LL_WARN, "certs", "HAProxy runtime API unreachable",
			    KVS("target", p->addr.name), KVS("reason", error));
		pusher_copy(p->last_error, sizeof(p->last_error), error);
		p->state = "unreachable";
		p->n.failures++;
		p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : PUSHER_BACKOFF_MIN_MS;
		if (p->backoff_ms > PUSHER_BACKOFF_MAX_MS)
			p->backoff_ms = PUSHER_BACKOFF_MAX_MS;
		pusher_schedule(p, p->backoff_ms);
		return;
	}
	p->backoff_ms = 0;
	if (p->dirty || (p->changed && p->runs < PUSHER_MAX_RUNS)) {
		/* a new set, or check at once what was just done */
		p->runs = p->changed ? p->runs + 1 : 0;
		pusher_schedule(p, 0);
		return;
	}
	p->runs = 0;
	p->n.syncs++;
	p->last_sync_ms = clock_wall_ms();
	p->state = p->failed ? "degraded" : "synced";
	if (!p->failed)
		p->last_error[0] = '\0';
	next = p->failed ? PUSHER_RETRY_MS : PUSHER_CHECK_MS;
	if (p->grace_due_ms) {
		int64_t due = p->grace_due_ms - clock_mono_ms();

		if (due < 0)
			due = 0;
		if ((unsigned)due < next)
			next = (unsigned)due + 10;
	}
	pusher_schedule(p, next);
}

/* Sends the command in p->cmd. */
static void pusher_send(struct pusher *p)
{
	char err[256];

	if (p->cmd.oom) {
		pusher_end_run(p, "out of memory");
		return;
	}
	LOG(LL_DEBUG, "certs", "runtime API command", KVS("target", p->addr.name),
	    KVSN("command", p->cmd.buf, strcspn(p->cmd.buf, "\n")));
	p->n.commands++;
	p->req = haproxy_cli_send(p->loop, &p->addr, p->cmd.buf, p->cmd.len,
				  PUSHER_CMD_TIMEOUT_MS, pusher_on_answer, p, err, sizeof(err));
	if (!p->req)
		pusher_end_run(p, err);
}

__attribute__((format(printf, 2, 3)))
static void pusher_cmd(struct pusher *p, const char *fmt, ...)
{
	va_list ap;

	sbuf_reset(&p->cmd);
	va_start(ap, fmt);
	sbuf_vprintf(&p->cmd, fmt, ap);
	va_end(ap);
	pusher_send(p);
}

/************************************************************************/
/*                         reading HAProxy's state                      */
/************************************************************************/

static void pusher_on_list_name(void *arg, const char *name, size_t n, int in_tx)
{
	struct pusher *p = arg;

	(void)in_tx;
	/* keeps the first; the caller counts them */
	if (!p->crt_list[0] && n < sizeof(p->crt_list)) {
		memcpy(p->crt_list, name, n);
		p->crt_list[n] = '\0';
	}
}

static void pusher_on_entry(void *arg, const struct haproxy_ans_entry *e)
{
	struct pusher *p = arg;
	struct pushplan_entry *x;
	char *path, *filters;

	if (p->nentries == p->centries) {
		size_t ncap = p->centries ? p->centries * 2 : 32;
		struct pushplan_entry *n = realloc(p->entries, ncap * sizeof(*n));

		if (!n)
			return;
		p->entries = n;
		p->centries = ncap;
	}
	path = strndup(e->path, e->path_len);
	filters = strndup(e->filters, e->filters_len);
	if (!path || !filters) {
		free(path);
		free(filters);
		return;
	}
	x = &p->entries[p->nentries++];
	x->path = path;
	x->filters = filters;
	x->line = e->line;
}

static void pusher_on_store(void *arg, const char *name, size_t n, int in_tx)
{
	struct pusher *p = arg;
	char *path;

	if (in_tx) {
		if (n < sizeof(p->tx)) {
			memcpy(p->tx, name, n);
			p->tx[n] = '\0';
		}
		return;
	}
	if (p->nstores == p->cstores) {
		size_t ncap = p->cstores ? p->cstores * 2 : 32;
		char **v = realloc(p->stores, ncap * sizeof(*v));

		if (!v)
			return;
		p->stores = v;
		p->cstores = ncap;
	}
	path = strndup(name, n);
	if (path)
		p->stores[p->nstores++] = path;
}

/* What HAProxy holds is read: the plan. */
static void pusher_plan(struct pusher *p)
{
	struct pushplan_in in = {
		.set = p->run_set,
		.entries = p->entries,
		.nentries = p->nentries,
		.stores = (const char *const *)p->stores,
		.nstores = p->nstores,
		.tx = p->tx,
		.now_ms = clock_mono_ms(),
		.grace_ms = PUSHER_GRACE_MS,
	};

	if (pushplan_decide(p->plan, &in, &p->out) < 0) {
		pusher_end_run(p, "out of memory");
		return;
	}
	p->grace_due_ms = p->out.grace_due_ms;
	for (size_t i = 0; i <= p->run_set->n; i++)
		if (p->out.items[i].found)
			pusher_item_set(p, i, p->out.items[i].state, p->out.items[i].reason);
	p->phase = PH_OPS;
	pusher_op_next(p);
}

/************************************************************************/
/*                              running ops                             */
/************************************************************************/

static void pusher_op_next(struct pusher *p)
{
	if (p->opi >= p->out.nops) {
		pusher_end_run(p, NULL);
		return;
	}
	pushop_start(&p->out.ops[p->opi++], p->crt_list, &p->cmd);
	pusher_send(p);
}

/* The step <op> of certificate <it> ended with <res>. */
static void pusher_op_done(struct pusher *p, const struct pushop *op,
			   const struct certset_item *it, const struct pushop_result *res)
{
	switch (res->verdict) {
	case PUSHOP_SEND:
		break;
	case PUSHOP_SERVED:
		pusher_item_set(p, op->item, PUSHER_ITEM_OK, NULL);
		break;
	case PUSHOP_PUSHED:
		p->changed = 1;
		p->n.pushed++;
		pusher_item_set(p, op->item, PUSHER_ITEM_OK, NULL);
		LOG(LL_INFO, "certs", op->kind == PUSHOP_DEFAULT ? "default certificate replaced" :
		    "certificate added", KVS("target", p->addr.name), KVS("certificate", it->name),
		    KVS("path", op->path), KVS("sni", it->filters));
		break;
	case PUSHOP_FAILED:
		/* a push that could not finish now; the next sync retries it */
		p->failed = 1;
		p->n.failures++;
		snprintf(p->last_error, sizeof(p->last_error), "%s: %s", it->name, res->reason);
		pusher_item_set(p, op->item, PUSHER_ITEM_FAILED, res->reason);
		LOG(LL_INFO, "certs", "certificate push failed, retrying", KVS("target", p->addr.name),
		    KVS("certificate", it->name), KVS("reason", res->reason));
		break;
	case PUSHOP_REFUSED:
		p->failed = 1;
		pusher_item_set(p, op->item, PUSHER_ITEM_REFUSED, res->reason);
		if (p->hooks.refused)
			p->hooks.refused(p->arg, op->path, res->reason);
		break;
	case PUSHOP_REMOVED:
		p->changed = 1;
		if (op->kind == PUSHOP_DEL_ENTRY) {
			p->n.removed++;
			LOG(LL_INFO, "certs", "certificate line removed", KVS("target", p->addr.name),
			    KVS("path", op->path), KVI("line", op->line));
		} else {
			LOG(LL_DEBUG, "certs", "unused certificate store removed",
			    KVS("target", p->addr.name), KVS("path", op->path), KVS("result", res->reason));
		}
		break;
	case PUSHOP_KEPT:
		LOG(LL_DEBUG, "certs", op->kind == PUSHOP_DEL_ENTRY ? "crt-list line not removed" :
		    "unused certificate store not removed", KVS("target", p->addr.name),
		    KVS("path", op->path), KVS("reason", res->reason));
		break;
	}
}

static void pusher_op_answer(struct pusher *p, const char *ans, size_t len)
{
	struct pushop *op = &p->out.ops[p->opi - 1];
	const struct certset_item *it = pusher_op_item(p, op);
	struct pushop_result res;

	pushop_answer(op, it, p->crt_list, ans, len, clock_wall_ms() / 1000, &p->cmd, &res);
	if (res.verdict != PUSHOP_SEND) {
		pusher_op_done(p, op, it, &res);
		pusher_op_next(p);
		return;
	}
	if (res.aborted)
		LOG(LL_WARN, "certs", "another certificate transaction was open in HAProxy; "
		    "aborted it", KVS("target", p->addr.name), KVS("transaction", res.aborted),
		    KVS("certificate", it->name));
	pusher_send(p);
}

/************************************************************************/
/*                                 sync                                 */
/************************************************************************/

static void pusher_on_answer(void *arg, const char *error, const char *ans, size_t len)
{
	struct pusher *p = arg;
	char msg[PUSHER_REASON_MAX];
	long n;

	p->req = NULL;
	if (error) {
		pusher_end_run(p, error);
		return;
	}
	switch (p->phase) {
	case PH_IDLE:
		break;
	case PH_LISTS:
		p->crt_list[0] = '\0';
		n = haproxy_ans_names(ans, len, pusher_on_list_name, p);
		if (n != 1) {
			haproxy_ans_result(ans, len, msg, sizeof(msg));
			p->crt_list[0] = '\0';
			pusher_end_run(p, n < 0 ? msg : n == 0 ?
				       "HAProxy has no crt-list (bind ... ssl crt-list <file>)" :
				       "HAProxy has several crt-lists: name one with --crt-list");
			return;
		}
		p->phase = PH_ENTRIES;
		pusher_cmd(p, "show ssl crt-list -n %s", p->crt_list);
		return;
	case PH_ENTRIES:
		pusher_entries_clear(p);
		if (haproxy_ans_crtlist(ans, len, pusher_on_entry, p) < 0) {
			char why[PUSHER_PATH_MAX + PUSHER_REASON_MAX];

			haproxy_ans_result(ans, len, msg, sizeof(msg));
			snprintf(why, sizeof(why), "crt-list %.300s: %s", p->crt_list, msg);
			if (!p->crt_list_fixed)
				p->crt_list[0] = '\0';
			pusher_end_run(p, why);
			return;
		}
		p->phase = PH_STORES;
		pusher_cmd(p, "show ssl cert");
		return;
	case PH_STORES:
		pusher_stores_clear(p);
		p->tx[0] = '\0';
		if (haproxy_ans_names(ans, len, pusher_on_store, p) < 0) {
			haproxy_ans_result(ans, len, msg, sizeof(msg));
			pusher_end_run(p, msg);
			return;
		}
		pusher_plan(p);
		return;
	case PH_OPS:
		pusher_op_answer(p, ans, len);
		return;
	}
}

static void pusher_run(struct pusher *p)
{
	if (p->phase != PH_IDLE || !p->set)
		return;
	p->dirty = 0;
	p->changed = 0;
	p->failed = 0;
	p->run_set = certset_ref(p->set);
	p->state = "syncing";
	if (p->crt_list[0]) {
		p->phase = PH_ENTRIES;
		pusher_cmd(p, "show ssl crt-list -n %s", p->crt_list);
	} else {
		p->phase = PH_LISTS;
		pusher_cmd(p, "show ssl crt-list");
	}
}

static void pusher_on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct pusher *p = (struct pusher *)((char *)t - offsetof(struct pusher, timer));

	(void)loop;
	(void)revents;
	pusher_run(p);
}

/************************************************************************/
/*                              interface                               */
/************************************************************************/

struct pusher *pusher_new(struct ev_loop *loop, const struct haproxy_cli_addr *addr,
			  const char *crt_list, const struct pusher_hooks *hooks, void *arg)
{
	struct pusher *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->plan = pushplan_new();
	if (!p->plan) {
		free(p);
		return NULL;
	}
	p->loop = loop;
	p->addr = *addr;
	if (crt_list && *crt_list) {
		snprintf(p->crt_list, sizeof(p->crt_list), "%s", crt_list);
		p->crt_list_fixed = 1;
	}
	if (hooks)
		p->hooks = *hooks;
	p->arg = arg;
	p->state = "pending";
	ev_timer_init(&p->timer, pusher_on_timer, 0.0, 0.0);
	return p;
}

void pusher_free(struct pusher *p)
{
	if (!p)
		return;
	if (p->req)
		haproxy_cli_cancel(p->req);
	ev_timer_stop(p->loop, &p->timer);
	pushplan_release(&p->out);
	pusher_entries_clear(p);
	free(p->entries);
	pusher_stores_clear(p);
	free(p->stores);
	pushplan_free(p->plan);
	certset_unref(p->run_set);
	certset_unref(p->set);
	free(p->items);
	sbuf_free(&p->cmd);
	free(p);
}

void pusher_update(struct pusher *p, struct certset *set)
{
	struct pusher_item_status *items = calloc(set->n + 1, sizeof(*items));

	/* Statuses carry over by path: a push already checked stays so. */
	if (items && p->set && p->items) {
		struct strmap *old_paths = strmap_new();

		for (size_t j = 0; old_paths && j < p->set->n; j++)
			if (p->set->items[j].ready)
				strmap_put(old_paths, p->set->items[j].path, (void *)(intptr_t)(j + 1));
		for (size_t i = 0; old_paths && i < set->n; i++) {
			const struct certset_item *it = &set->items[i];
			long j;

			if (!it->ready)
				continue;
			j = (long)(intptr_t)strmap_get(old_paths, it->path) - 1;
			if (j >= 0 && strcmp(p->set->items[j].filters, it->filters) == 0)
				items[i] = p->items[j];
		}
		strmap_free(old_paths);
		if (set->dflt && p->set->dflt && set->dflt->ready && p->set->dflt->ready &&
		    strcmp(set->dflt->serial, p->set->dflt->serial) == 0)
			items[set->n] = p->items[p->set->n];
	}
	free(p->items);
	p->items = items;
	certset_unref(p->set);
	p->set = certset_ref(set);
	if (p->phase != PH_IDLE) {
		p->dirty = 1;
		return;
	}
	if (p->backoff_ms)   /* unreachable: its own timer retries */
		return;
	pusher_schedule(p, 0);
}

void pusher_status(const struct pusher *p, struct pusher_status *st)
{
	st->target = p->addr.name;
	st->state = p->state;
	st->last_error = p->last_error;
	st->crt_list = p->crt_list;
	st->last_sync_ms = p->last_sync_ms;
	st->n = p->n;
}

enum pusher_item_state pusher_item(const struct pusher *p, size_t i, const char **reason)
{
	*reason = "";
	if (!p->set || !p->items || i > p->set->n)
		return PUSHER_ITEM_PENDING;
	*reason = p->items[i].reason;
	return p->items[i].state;
}

const char *pusher_item_state_name(enum pusher_item_state st)
{
	switch (st) {
	case PUSHER_ITEM_PENDING: return "pending";
	case PUSHER_ITEM_OK: return "ok";
	case PUSHER_ITEM_REFUSED: return "refused";
	case PUSHER_ITEM_FAILED: return "failed";
	case PUSHER_ITEM_NOT_READY: return "-";
	}
	return "?";
}
