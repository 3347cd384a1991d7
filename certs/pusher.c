/* Keeping one HAProxy's certificates in step with a set, through its
 * runtime API.
 *
 * HAProxy 2.6 has a single certificate transaction for the whole process,
 * and "set ssl cert" on a path while another path's transaction is open
 * updates that other transaction: two agents pushing at once could commit
 * one certificate under the other's name. Every push therefore checks what
 * it got: the "set" answer names the transaction's path (another one: it
 * is aborted and the push retried), the open transaction must hold the
 * serial that was sent, and after the commit the store must hold it. Paths
 * carry a hash of their content, so a path never changes meaning.
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
#include "certs/haproxy_cli.h"
#include "certs/pusher.h"
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

enum op_kind {
	OP_PUSH = 0,       /* a certificate of the set, into the store and the crt-list */
	OP_DEFAULT,        /* the default certificate, replaced in place */
	OP_DEL_ENTRY,      /* a crt-list line */
	OP_DEL_STORE,      /* a certificate of ours no line uses */
};

enum op_step {
	ST_START = 0,
	ST_NEW,            /* new ssl cert */
	ST_SET,            /* set ssl cert <<payload */
	ST_CHECK_TX,       /* show ssl cert *<path> */
	ST_COMMIT,
	ST_VERIFY,         /* show ssl cert <path> */
	ST_ADD,            /* add ssl crt-list */
	ST_ABORT_OTHER,    /* a "set" landed in another path's transaction */
	ST_ABORT_REFUSED,  /* the material was refused: drop its transaction */
	ST_DEL_REFUSED,    /* ... and its empty store */
};

struct pusher_entry {
	char *path;
	char *filters;
	unsigned line;
	int keep;          /* wanted, or not ours to remove */
	int deleting;      /* a DEL_ENTRY op is planned */
	long next;         /* the next line of the same path, -1: none */
};

struct pusher_op {
	enum op_kind kind;
	enum op_step step;
	size_t item;                        /* OP_PUSH / OP_DEFAULT: index in the set */
	char *path;                         /* owned */
	unsigned line;                      /* OP_DEL_ENTRY */
	int listed;                         /* OP_PUSH: the store exists already */
	char reason[PUSHER_REASON_MAX];     /* refusal under way */
};

struct pusher_item_status {
	enum pusher_item_state state;
	char reason[PUSHER_REASON_MAX];
};

/* An entry or store the set does not want, and since when. */
struct pusher_unwanted {
	int64_t since_ms;
	int seen;
	char key[];
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

	struct pusher_entry *entries;
	size_t nentries, centries;
	struct strmap *by_path;             /* path -> 1 + index of its first line */
	struct strmap *stores;              /* path -> (void *)1 */
	char tx[PUSHER_PATH_MAX];           /* the open transaction's path, "" when none */

	struct pusher_op *ops;
	size_t nops, cops, opi;

	struct strmap *unwanted;            /* key -> struct pusher_unwanted */
	int64_t grace_due_ms;               /* earliest removal waiting for its grace, 0: none */

	const char *state;
	char last_error[256];
	int64_t last_sync_ms;
	unsigned backoff_ms;
	uint64_t syncs, commands, failures, pushed, removed;
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

static char *pusher_strndup(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static void pusher_entries_clear(struct pusher *p)
{
	strmap_clear(p->by_path);
	for (size_t i = 0; i < p->nentries; i++) {
		free(p->entries[i].path);
		free(p->entries[i].filters);
	}
	p->nentries = 0;
}

/* The index of the first crt-list line of <path>, or -1. */
static long pusher_first_line(const struct pusher *p, const char *path)
{
	return (long)(intptr_t)strmap_get(p->by_path, path) - 1;
}

/* Chains the crt-list lines by path, in their order. */
static int pusher_index_entries(struct pusher *p)
{
	long *last = calloc(p->nentries ? p->nentries : 1, sizeof(*last));

	if (!last)
		return -1;
	for (size_t i = 0; i < p->nentries; i++) {
		long first = pusher_first_line(p, p->entries[i].path);

		p->entries[i].next = -1;
		if (first < 0) {
			if (strmap_put(p->by_path, p->entries[i].path, (void *)(intptr_t)(i + 1)) < 0) {
				free(last);
				return -1;
			}
			last[i] = (long)i;
			continue;
		}
		/* the tail of the chain is remembered at its head */
		p->entries[last[first]].next = (long)i;
		last[first] = (long)i;
	}
	free(last);
	return 0;
}

static void pusher_stores_clear(struct pusher *p)
{
	size_t pos = 0;
	const char *key;
	void *val;

	while (strmap_next(p->stores, &pos, &key, &val))
		free((char *)key);
	strmap_clear(p->stores);
}

static void pusher_ops_clear(struct pusher *p)
{
	for (size_t i = 0; i < p->nops; i++)
		free(p->ops[i].path);
	p->nops = p->opi = 0;
}

static struct pusher_op *pusher_op_add(struct pusher *p, enum op_kind kind, size_t item,
				       const char *path, unsigned line)
{
	struct pusher_op *op;

	if (p->nops == p->cops) {
		size_t ncap = p->cops ? p->cops * 2 : 16;
		struct pusher_op *n = realloc(p->ops, ncap * sizeof(*n));

		if (!n)
			return NULL;
		p->ops = n;
		p->cops = ncap;
	}
	op = &p->ops[p->nops];
	memset(op, 0, sizeof(*op));
	op->path = strdup(path);
	if (!op->path)
		return NULL;
	op->kind = kind;
	op->item = item;
	op->line = line;
	p->nops++;
	return op;
}

static const struct certset_item *pusher_op_item(const struct pusher *p, const struct pusher_op *op)
{
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

	pusher_ops_clear(p);
	certset_unref(p->run_set);
	p->run_set = NULL;
	p->phase = PH_IDLE;
	if (error) {
		if (strcmp(p->state, "unreachable") != 0 || strcmp(p->last_error, error) != 0)
			LOG(LL_WARN, "certs", "HAProxy runtime API unreachable",
			    KVS("target", p->addr.name), KVS("reason", error));
		pusher_copy(p->last_error, sizeof(p->last_error), error);
		p->state = "unreachable";
		p->failures++;
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
	p->syncs++;
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

static void pusher_send(struct pusher *p)
{
	char err[256];

	p->commands++;
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
	if (p->cmd.oom) {
		pusher_end_run(p, "out of memory");
		return;
	}
	LOG(LL_DEBUG, "certs", "runtime API command", KVS("target", p->addr.name),
	    KVSN("command", p->cmd.buf, strcspn(p->cmd.buf, "\n")));
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
	struct pusher_entry *x;

	if (p->nentries == p->centries) {
		size_t ncap = p->centries ? p->centries * 2 : 32;
		struct pusher_entry *n = realloc(p->entries, ncap * sizeof(*n));

		if (!n)
			return;
		p->entries = n;
		p->centries = ncap;
	}
	x = &p->entries[p->nentries];
	memset(x, 0, sizeof(*x));
	x->path = pusher_strndup(e->path, e->path_len);
	x->filters = pusher_strndup(e->filters, e->filters_len);
	if (!x->path || !x->filters) {
		free(x->path);
		free(x->filters);
		return;
	}
	x->line = e->line;
	p->nentries++;
}

static void pusher_on_store(void *arg, const char *name, size_t n, int in_tx)
{
	struct pusher *p = arg;
	char *key;

	if (in_tx) {
		if (n < sizeof(p->tx)) {
			memcpy(p->tx, name, n);
			p->tx[n] = '\0';
		}
		return;
	}
	key = pusher_strndup(name, n);
	if (!key)
		return;
	if (strmap_get(p->stores, key) || strmap_put(p->stores, key, (void *)1) < 0)
		free(key);
}

/************************************************************************/
/*                                 plan                                 */
/************************************************************************/

/* Returns when <key> was first found unwanted (now if just now), and marks
 * it seen in this plan.
 */
static int64_t pusher_unwanted_since(struct pusher *p, const char *key, int64_t now)
{
	struct pusher_unwanted *u = strmap_get(p->unwanted, key);

	if (!u) {
		u = malloc(sizeof(*u) + strlen(key) + 1);
		if (!u)
			return now;
		strcpy(u->key, key);
		u->since_ms = now;
		if (strmap_put(p->unwanted, u->key, u) < 0) {
			free(u);
			return now;
		}
	}
	u->seen = 1;
	return u->since_ms;
}

/* Forgets what is wanted again or gone, and clears the marks. */
static void pusher_unwanted_sweep(struct pusher *p)
{
	size_t pos = 0;
	const char *key;
	void *val;
	struct pusher_unwanted *gone[64];
	size_t ngone;

	do {
		ngone = 0;
		pos = 0;
		while (strmap_next(p->unwanted, &pos, &key, &val)) {
			struct pusher_unwanted *u = val;

			if (!u->seen && ngone < 64)
				gone[ngone++] = u;
			u->seen = 0;
		}
		for (size_t i = 0; i < ngone; i++) {
			strmap_del(p->unwanted, gone[i]->key);
			free(gone[i]);
		}
	} while (ngone == 64);
}

/* Whether the set lets this agent remove what HAProxy holds at <path>
 * (one of ours): not for a name whose material the agent cannot read (its
 * entries may well be right), nor for an unknown name while the routing
 * table is incomplete.
 */
static int pusher_may_remove(const struct certset *s, const char *path)
{
	const struct certset_item *it;
	const char *name;
	size_t len;

	if (certset_path_name(path, strlen(path), &name, &len) < 0)
		return 0;
	it = certset_find(s, name, len);
	if (it)
		return it->ready;
	return s->authoritative;
}

static int pusher_grace_over(struct pusher *p, const char *key, int64_t now)
{
	int64_t since = pusher_unwanted_since(p, key, now);

	if (now - since >= PUSHER_GRACE_MS)
		return 1;
	if (!p->grace_due_ms || since + PUSHER_GRACE_MS < p->grace_due_ms)
		p->grace_due_ms = since + PUSHER_GRACE_MS;
	return 0;
}

static int pusher_path_in_entries(const struct pusher *p, const char *path)
{
	for (long i = pusher_first_line(p, path); i >= 0; i = p->entries[i].next)
		if (!p->entries[i].deleting)
			return 1;
	return 0;
}

/* Whether a line of <path> is removed by this plan. */
static int pusher_path_deleted(const struct pusher *p, const char *path)
{
	for (long i = pusher_first_line(p, path); i >= 0; i = p->entries[i].next)
		if (p->entries[i].deleting)
			return 1;
	return 0;
}

/* Fills <hosts> with the SNI names of the items that are not ready: their
 * certificate is coming (a secret being mounted, a config being read) or
 * was refused. Whatever serves these names now stays until it comes: a
 * rotation makes before it breaks, and a bad new certificate leaves the
 * last good one in place. Keys are allocated; free them with the map.
 */
static int pusher_pending_hosts(const struct certset *s, struct strmap *hosts)
{
	for (size_t i = 0; i < s->n; i++) {
		const char *h = s->items[i].filters;

		if (s->items[i].ready)
			continue;
		while (h && *h) {
			size_t len = strcspn(h, " ");
			char *name = pusher_strndup(h, len);

			if (!name)
				return -1;
			if (strmap_get(hosts, name) || strmap_put(hosts, name, name) < 0)
				free(name);
			h += len;
			while (*h == ' ')
				h++;
		}
	}
	return 0;
}

static void pusher_hosts_free(struct strmap *hosts)
{
	size_t pos = 0;
	const char *key;
	void *val;

	if (!hosts)
		return;
	while (strmap_next(hosts, &pos, &key, &val))
		free(val);
	strmap_free(hosts);
}

/* Whether a crt-list line serves one of <hosts>. */
static int pusher_serves_any(const struct pusher_entry *x, const struct strmap *hosts)
{
	for (const char *h = x->filters; *h;) {
		size_t len = strcspn(h, " ");

		if (strmap_getn(hosts, h, len))
			return 1;
		h += len;
		while (*h == ' ')
			h++;
	}
	return 0;
}

static int pusher_plan(struct pusher *p)
{
	const struct certset *s = p->run_set;
	int64_t now = clock_mono_ms();
	struct strmap *item_paths = strmap_new();
	struct strmap *pending = strmap_new();
	size_t pos = 0;
	const char *key;
	void *val;
	char k[PUSHER_PATH_MAX + 32];

	if (!item_paths || !pending || pusher_pending_hosts(s, pending) < 0)
		goto out_oom;
	p->grace_due_ms = 0;

	/* 1. every ready certificate: served, or pushed */
	for (size_t i = 0; i < s->n; i++) {
		const struct certset_item *it = &s->items[i];
		struct pusher_entry *found = NULL;

		if (!it->ready) {
			pusher_item_set(p, i, PUSHER_ITEM_NOT_READY, NULL);
			continue;
		}
		strmap_put(item_paths, it->path, (void *)it);
		for (long e = pusher_first_line(p, it->path); e >= 0; e = p->entries[e].next) {
			struct pusher_entry *x = &p->entries[e];

			if (!x->keep && strcmp(x->filters, it->filters) == 0) {
				found = x;
				break;
			}
		}
		if (found) {
			found->keep = 1;
			pusher_item_set(p, i, PUSHER_ITEM_OK, NULL);
			continue;
		}
		pusher_item_set(p, i, PUSHER_ITEM_PENDING, NULL);
		if (!pusher_op_add(p, OP_PUSH, i, it->path, 0))
			goto out_oom;
		p->ops[p->nops - 1].listed = strmap_get(p->stores, it->path) != NULL;
	}

	/* 2. the default certificate: the crt-list's first line */
	if (s->dflt && s->dflt->ready) {
		if (!p->nentries) {
			pusher_item_set(p, s->n, PUSHER_ITEM_FAILED,
					"the crt-list is empty: no default certificate to replace");
		} else if (strncmp(p->entries[0].path, CERTSET_PREFIX, strlen(CERTSET_PREFIX)) == 0) {
			pusher_item_set(p, s->n, PUSHER_ITEM_FAILED,
					"the crt-list's first line is not the default certificate");
		} else if (!pusher_op_add(p, OP_DEFAULT, s->n, p->entries[0].path, 0)) {
			goto out_oom;
		}
	}

	/* 3. lines of ours the set does not want, after their grace */
	for (size_t e = 0; e < p->nentries; e++) {
		struct pusher_entry *x = &p->entries[e];

		if (x->keep || !pusher_may_remove(s, x->path))
			continue;
		if (pusher_serves_any(x, pending)) {
			x->keep = 1;
			continue;
		}
		snprintf(k, sizeof(k), "e:%s:%u", x->path, x->line);
		if (!pusher_grace_over(p, k, now))
			continue;
		x->deleting = 1;
		if (!pusher_op_add(p, OP_DEL_ENTRY, 0, x->path, x->line))
			goto out_oom;
	}

	/* 4. certificates of ours no line uses any more */
	while (strmap_next(p->stores, &pos, &key, &val)) {
		if (pusher_path_in_entries(p, key) || strcmp(key, p->tx) == 0 ||
		    strmap_get(item_paths, key) || !pusher_may_remove(s, key))
			continue;
		snprintf(k, sizeof(k), "s:%s", key);
		/* a store whose last line goes now was unwanted as long */
		if (!pusher_grace_over(p, k, now) && !pusher_path_deleted(p, key))
			continue;
		if (!pusher_op_add(p, OP_DEL_STORE, 0, key, 0))
			goto out_oom;
	}
	pusher_unwanted_sweep(p);
	strmap_free(item_paths);
	pusher_hosts_free(pending);
	return 0;

out_oom:
	strmap_free(item_paths);
	pusher_hosts_free(pending);
	return -1;
}

/************************************************************************/
/*                              running ops                             */
/************************************************************************/

static void pusher_refuse(struct pusher *p, struct pusher_op *op, const char *reason)
{
	pusher_copy(op->reason, sizeof(op->reason), reason);
	op->step = ST_ABORT_REFUSED;
	pusher_cmd(p, "abort ssl cert %s", op->path);
}

/* A push that could not finish now; the next sync retries it. */
static void pusher_op_failed(struct pusher *p, struct pusher_op *op, const char *reason)
{
	const struct certset_item *it = pusher_op_item(p, op);

	p->failed = 1;
	p->failures++;
	snprintf(p->last_error, sizeof(p->last_error), "%s: %s", it->name, reason);
	pusher_item_set(p, op->item, PUSHER_ITEM_FAILED, reason);
	LOG(LL_INFO, "certs", "certificate push failed, retrying", KVS("target", p->addr.name),
	    KVS("certificate", it->name), KVS("reason", reason));
	pusher_op_next(p);
}

static void pusher_op_pushed(struct pusher *p, struct pusher_op *op)
{
	const struct certset_item *it = pusher_op_item(p, op);

	p->changed = 1;
	p->pushed++;
	pusher_item_set(p, op->item, PUSHER_ITEM_OK, NULL);
	LOG(LL_INFO, "certs", op->kind == OP_DEFAULT ? "default certificate replaced" :
	    "certificate added", KVS("target", p->addr.name), KVS("certificate", it->name),
	    KVS("path", op->path), KVS("sni", it->filters));
	pusher_op_next(p);
}

static void pusher_send_set(struct pusher *p, struct pusher_op *op)
{
	const struct certset_item *it = pusher_op_item(p, op);

	op->step = ST_SET;
	/* the PEM ends with a LF; one more makes the empty line that ends
	 * the payload */
	pusher_cmd(p, "set ssl cert %s <<\n%.*s\n", op->path, (int)it->pem_len, it->pem);
}

/* Answers to the steps of OP_PUSH and OP_DEFAULT. */
static void pusher_push_answer(struct pusher *p, struct pusher_op *op, const char *ans, size_t len)
{
	const struct certset_item *it = pusher_op_item(p, op);
	struct haproxy_ans_cert c;
	enum haproxy_ans_status st;
	char msg[PUSHER_REASON_MAX], tx[PUSHER_PATH_MAX], reason[PUSHER_REASON_MAX + 64];

	st = haproxy_ans_result(ans, len, msg, sizeof(msg));
	if (st == HAPROXY_ANS_DENIED) {
		pusher_op_failed(p, op, msg);
		return;
	}
	switch (op->step) {
	case ST_START:
		/* "show ssl cert <path>": does HAProxy hold this content already? */
		if (haproxy_ans_cert(ans, len, &c) == 0 && strcmp(c.status, "Empty") != 0 &&
		    strcmp(c.serial, it->serial) == 0) {
			if (op->kind == OP_DEFAULT) {
				pusher_item_set(p, op->item, PUSHER_ITEM_OK, NULL);
				pusher_op_next(p);
				return;
			}
			op->step = ST_ADD;
			break;
		}
		pusher_send_set(p, op);
		return;
	case ST_NEW:
		if (st != HAPROXY_ANS_OK && st != HAPROXY_ANS_EXISTS) {
			pusher_op_failed(p, op, msg);
			return;
		}
		pusher_send_set(p, op);
		return;
	case ST_SET:
		if (st == HAPROXY_ANS_OK) {
			if (haproxy_ans_transaction(ans, len, tx, sizeof(tx)) == 0 &&
			    strcmp(tx, op->path) != 0) {
				/* The payload went into another certificate's
				 * transaction (HAProxy 2.6): that transaction
				 * is spoilt, drop it, retry later. */
				LOG(LL_WARN, "certs", "another certificate transaction was open in "
				    "HAProxy; aborted it", KVS("target", p->addr.name),
				    KVS("transaction", tx), KVS("certificate", it->name));
				pusher_copy(op->reason, sizeof(op->reason), tx);
				op->step = ST_ABORT_OTHER;
				pusher_cmd(p, "abort ssl cert %s", tx);
				return;
			}
			op->step = ST_CHECK_TX;
			pusher_cmd(p, "show ssl cert *%s", op->path);
			return;
		}
		if (st == HAPROXY_ANS_BUSY || st == HAPROXY_ANS_NOT_FOUND ||
		    st == HAPROXY_ANS_OTHER_TRANSACTION) {
			pusher_op_failed(p, op, msg);
			return;
		}
		snprintf(reason, sizeof(reason), "HAProxy cannot load it: %s", msg);
		pusher_refuse(p, op, reason);
		return;
	case ST_CHECK_TX:
		if (haproxy_ans_cert(ans, len, &c) < 0) {
			pusher_op_failed(p, op, "the transaction went away before its commit");
			return;
		}
		if (strcmp(c.serial, it->serial) != 0) {
			pusher_copy(op->reason, sizeof(op->reason), op->path);
			op->step = ST_ABORT_OTHER;
			pusher_cmd(p, "abort ssl cert %s", op->path);
			return;
		}
		if (c.not_after >= 0 && c.not_after < clock_wall_ms() / 1000) {
			char when[32];

			snprintf(reason, sizeof(reason), "expired on %s",
				 x509_time_str(c.not_after, when, sizeof(when)));
			pusher_refuse(p, op, reason);
			return;
		}
		op->step = ST_COMMIT;
		pusher_cmd(p, "commit ssl cert %s", op->path);
		return;
	case ST_COMMIT:
		if (st == HAPROXY_ANS_OK || st == HAPROXY_ANS_NO_TRANSACTION) {
			/* no transaction: another agent committed it; check */
			op->step = ST_VERIFY;
			pusher_cmd(p, "show ssl cert %s", op->path);
			return;
		}
		if (st == HAPROXY_ANS_BUSY || st == HAPROXY_ANS_OTHER_TRANSACTION) {
			pusher_op_failed(p, op, msg);
			return;
		}
		if (strstr(msg, "inconsistencies between private key and certificate"))
			snprintf(reason, sizeof(reason), "the private key does not match the certificate");
		else if (strstr(msg, "at least a certificate and a private key"))
			snprintf(reason, sizeof(reason), "HAProxy cannot load the private key");
		else
			snprintf(reason, sizeof(reason), "HAProxy refused it: %s", msg);
		pusher_refuse(p, op, reason);
		return;
	case ST_VERIFY:
		if (haproxy_ans_cert(ans, len, &c) < 0 || strcmp(c.status, "Empty") == 0 ||
		    strcmp(c.serial, it->serial) != 0) {
			pusher_op_failed(p, op, "HAProxy does not hold the certificate after its commit");
			return;
		}
		if (op->kind == OP_DEFAULT) {
			pusher_op_pushed(p, op);
			return;
		}
		op->step = ST_ADD;
		break;
	case ST_ADD:
		if (st != HAPROXY_ANS_OK) {
			pusher_op_failed(p, op, msg);
			return;
		}
		pusher_op_pushed(p, op);
		return;
	case ST_ABORT_OTHER:
		pusher_op_failed(p, op, "another certificate transaction was open in HAProxy");
		return;
	case ST_ABORT_REFUSED:
		if (op->kind == OP_DEFAULT) {
			goto refused;
		}
		op->step = ST_DEL_REFUSED;
		pusher_cmd(p, "del ssl cert %s", op->path);
		return;
	case ST_DEL_REFUSED:
		goto refused;
	}
	/* ST_ADD from ST_START or ST_VERIFY */
	/* the payload form: the only one that takes SNI filters (2.6); an
	 * empty line ends it */
	if (it->filters[0])
		pusher_cmd(p, "add ssl crt-list %s <<\n%s %s\n\n", p->crt_list, op->path,
			   it->filters);
	else
		pusher_cmd(p, "add ssl crt-list %s <<\n%s\n\n", p->crt_list, op->path);
	return;

refused:
	p->failed = 1;
	pusher_item_set(p, op->item, PUSHER_ITEM_REFUSED, op->reason);
	if (p->hooks.refused)
		p->hooks.refused(p->arg, op->path, op->reason);
	pusher_op_next(p);
}

static void pusher_op_start(struct pusher *p, struct pusher_op *op)
{
	switch (op->kind) {
	case OP_PUSH:
		if (op->listed) {
			op->step = ST_START;
			pusher_cmd(p, "show ssl cert %s", op->path);
		} else {
			op->step = ST_NEW;
			pusher_cmd(p, "new ssl cert %s", op->path);
		}
		return;
	case OP_DEFAULT:
		op->step = ST_START;
		pusher_cmd(p, "show ssl cert %s", op->path);
		return;
	case OP_DEL_ENTRY:
		pusher_cmd(p, "del ssl crt-list %s %s:%u", p->crt_list, op->path, op->line);
		return;
	case OP_DEL_STORE:
		pusher_cmd(p, "del ssl cert %s", op->path);
		return;
	}
}

static void pusher_op_next(struct pusher *p)
{
	if (p->opi >= p->nops) {
		pusher_end_run(p, NULL);
		return;
	}
	pusher_op_start(p, &p->ops[p->opi++]);
}

static void pusher_op_answer(struct pusher *p, const char *ans, size_t len)
{
	struct pusher_op *op = &p->ops[p->opi - 1];
	char msg[PUSHER_REASON_MAX];
	enum haproxy_ans_status st;

	switch (op->kind) {
	case OP_PUSH:
	case OP_DEFAULT:
		pusher_push_answer(p, op, ans, len);
		return;
	case OP_DEL_ENTRY:
		st = haproxy_ans_result(ans, len, msg, sizeof(msg));
		if (st == HAPROXY_ANS_OK) {
			p->changed = 1;
			p->removed++;
			LOG(LL_INFO, "certs", "certificate line removed", KVS("target", p->addr.name),
			    KVS("path", op->path), KVI("line", op->line));
		} else {
			LOG(LL_DEBUG, "certs", "crt-list line not removed", KVS("target", p->addr.name),
			    KVS("path", op->path), KVS("reason", msg));
		}
		break;
	case OP_DEL_STORE:
		st = haproxy_ans_result(ans, len, msg, sizeof(msg));
		if (st == HAPROXY_ANS_OK)
			p->changed = 1;
		LOG(LL_DEBUG, "certs", "unused certificate store removed", KVS("target", p->addr.name),
		    KVS("path", op->path), KVS("result", msg));
		break;
	}
	pusher_op_next(p);
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
		if (pusher_index_entries(p) < 0) {
			pusher_end_run(p, "out of memory");
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
		if (pusher_plan(p) < 0) {
			pusher_end_run(p, "out of memory");
			return;
		}
		p->phase = PH_OPS;
		pusher_op_next(p);
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
	p->stores = strmap_new();
	p->unwanted = strmap_new();
	p->by_path = strmap_new();
	if (!p->stores || !p->unwanted || !p->by_path)
		goto out_free;
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

out_free:
	strmap_free(p->stores);
	strmap_free(p->unwanted);
	strmap_free(p->by_path);
	free(p);
	return NULL;
}

void pusher_free(struct pusher *p)
{
	size_t pos = 0;
	const char *key;
	void *val;

	if (!p)
		return;
	if (p->req)
		haproxy_cli_cancel(p->req);
	ev_timer_stop(p->loop, &p->timer);
	pusher_ops_clear(p);
	free(p->ops);
	pusher_entries_clear(p);
	free(p->entries);
	strmap_free(p->by_path);
	pusher_stores_clear(p);
	strmap_free(p->stores);
	while (strmap_next(p->unwanted, &pos, &key, &val))
		free(val);
	strmap_free(p->unwanted);
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
	memset(st, 0, sizeof(*st));
	st->target = p->addr.name;
	st->state = p->state;
	st->last_error = p->last_error;
	st->crt_list = p->crt_list;
	st->last_sync_ms = p->last_sync_ms;
	st->syncs = p->syncs;
	st->commands = p->commands;
	st->failures = p->failures;
	st->pushed = p->pushed;
	st->removed = p->removed;
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
