/* A sync's plan: a pure function, see pushplan.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/certset.h"
#include "certs/pushplan.h"
#include "common/strmap.h"

/* A line or store the set does not want, and since when. */
struct pushplan_unwanted {
	int64_t since_ms;
	int seen;                     /* found unwanted by the plan under way */
	char key[];                   /* "e:<path>:<line>" or "s:<path>" */
};

struct pushplan {
	struct strmap *unwanted;      /* key -> struct pushplan_unwanted */
};

/* A crt-list line while a plan is made. */
struct pushplan_line {
	int keep;                     /* wanted, or not ours to remove */
	int deleting;                 /* a DEL_ENTRY op is planned */
	long next;                    /* the next line of the same path, -1: none */
};

/* A plan being made. */
struct pushplan_work {
	struct pushplan *pp;
	const struct pushplan_in *in;
	struct pushplan_out *out;
	size_t cops;
	struct pushplan_line *lines;  /* one per input entry */
	struct strmap *by_path;       /* path -> 1 + index of its first line */
	struct strmap *stores;        /* path -> 1 + index of its first listing */
	struct strmap *item_paths;    /* the ready items' paths */
	struct strmap *pending;       /* hosts of the items not ready (keys owned) */
};

/************************************************************************/
/*                     what was unwanted, since when                    */
/************************************************************************/

struct pushplan *pushplan_new(void)
{
	struct pushplan *pp = calloc(1, sizeof(*pp));

	if (!pp)
		return NULL;
	pp->unwanted = strmap_new();
	if (!pp->unwanted) {
		free(pp);
		return NULL;
	}
	return pp;
}

void pushplan_free(struct pushplan *pp)
{
	size_t pos = 0;
	const char *key;
	void *val;

	if (!pp)
		return;
	while (strmap_next(pp->unwanted, &pos, &key, &val))
		free(val);
	strmap_free(pp->unwanted);
	free(pp);
}

/* Returns when <key> was first found unwanted (now if just now), and marks
 * it seen in this plan.
 */
static int64_t pushplan_unwanted_since(struct pushplan *pp, const char *key, int64_t now)
{
	struct pushplan_unwanted *u = strmap_get(pp->unwanted, key);

	if (!u) {
		u = malloc(sizeof(*u) + strlen(key) + 1);
		if (!u)
			return now;
		strcpy(u->key, key);
		u->since_ms = now;
		if (strmap_put(pp->unwanted, u->key, u) < 0) {
			free(u);
			return now;
		}
	}
	u->seen = 1;
	return u->since_ms;
}

/* Forgets what is wanted again or gone, and clears the marks of the rest:
 * their grace runs on.
 */
static void pushplan_unwanted_sweep(struct pushplan *pp)
{
	size_t pos = 0;
	const char *key;
	void *val;

	while (strmap_next(pp->unwanted, &pos, &key, &val)) {
		struct pushplan_unwanted *u = val;

		if (u->seen) {
			u->seen = 0;
			continue;
		}
		strmap_del_current(pp->unwanted, &pos);
		free(u);
	}
}

/* Whether <key> has been unwanted for the grace period; when not yet,
 * keeps the earliest end of a grace in the output.
 */
static int pushplan_grace_over(struct pushplan_work *w, const char *key)
{
	int64_t now = w->in->now_ms, since = pushplan_unwanted_since(w->pp, key, now);
	int64_t due = since + w->in->grace_ms;

	if (now >= due)
		return 1;
	if (!w->out->grace_due_ms || due < w->out->grace_due_ms)
		w->out->grace_due_ms = due;
	return 0;
}

/************************************************************************/
/*                          what HAProxy holds                          */
/************************************************************************/

/* The index of the first crt-list line of <path>, or -1. */
static long pushplan_first_line(const struct pushplan_work *w, const char *path)
{
	return (long)(intptr_t)strmap_get(w->by_path, path) - 1;
}

/* Chains the crt-list lines by path, in their order, and indexes the
 * stores by path.
 */
static int pushplan_index(struct pushplan_work *w)
{
	const struct pushplan_in *in = w->in;
	long *last = calloc(in->nentries ? in->nentries : 1, sizeof(*last));

	if (!last)
		return -1;
	for (size_t i = 0; i < in->nentries; i++) {
		long first = pushplan_first_line(w, in->entries[i].path);

		w->lines[i].next = -1;
		if (first < 0) {
			if (strmap_put(w->by_path, in->entries[i].path, (void *)(intptr_t)(i + 1)) < 0)
				goto out_free;
			last[i] = (long)i;
			continue;
		}
		/* the tail of the chain is remembered at its head */
		w->lines[last[first]].next = (long)i;
		last[first] = (long)i;
	}
	free(last);
	for (size_t i = 0; i < in->nstores; i++)
		if (!strmap_get(w->stores, in->stores[i]) &&
		    strmap_put(w->stores, in->stores[i], (void *)(intptr_t)(i + 1)) < 0)
			return -1;
	return 0;

out_free:
	free(last);
	return -1;
}

/* Whether a line of <path> stays after this plan. */
static int pushplan_path_in_entries(const struct pushplan_work *w, const char *path)
{
	for (long i = pushplan_first_line(w, path); i >= 0; i = w->lines[i].next)
		if (!w->lines[i].deleting)
			return 1;
	return 0;
}

/* Whether a line of <path> is removed by this plan. */
static int pushplan_path_deleted(const struct pushplan_work *w, const char *path)
{
	for (long i = pushplan_first_line(w, path); i >= 0; i = w->lines[i].next)
		if (w->lines[i].deleting)
			return 1;
	return 0;
}

/* Fills the pending hosts with the SNI names of the items that are not
 * ready: their certificate is coming (a secret being mounted, a config
 * being read) or was refused. Whatever serves these names now stays
 * until it comes.
 */
static int pushplan_pending_hosts(struct pushplan_work *w)
{
	const struct certset *s = w->in->set;

	for (size_t i = 0; i < s->n; i++) {
		const char *h = s->items[i].filters;

		if (s->items[i].ready)
			continue;
		while (h && *h) {
			size_t len = strcspn(h, " ");
			char *name;

			if (!strmap_getn(w->pending, h, len)) {
				name = strndup(h, len);
				if (!name || strmap_put(w->pending, name, name) < 0) {
					free(name);
					return -1;
				}
			}
			h += len;
			while (*h == ' ')
				h++;
		}
	}
	return 0;
}

/* Whether crt-list line <x> serves one of the pending hosts. */
static int pushplan_serves_pending(const struct pushplan_work *w, const struct pushplan_entry *x)
{
	for (const char *h = x->filters; *h;) {
		size_t len = strcspn(h, " ");

		if (strmap_getn(w->pending, h, len))
			return 1;
		h += len;
		while (*h == ' ')
			h++;
	}
	return 0;
}

/* Whether the set lets this agent remove what HAProxy holds at <path>
 * (one of ours): not for a name whose material the agent cannot read
 * (its entries may well be right), nor for an unknown name while the
 * routing table is incomplete.
 */
static int pushplan_may_remove(const struct certset *s, const char *path)
{
	const struct certset_item *it;
	const char *name;
	size_t len;

	if (certset_path_name(path, strlen(path), &name, &len) < 0)
		return 0;
	it = certset_find(s, name, len);
	if (it)
		return it->ready || it->drop;
	return s->authoritative;
}

/************************************************************************/
/*                                the plan                              */
/************************************************************************/

static struct pushop *pushplan_op(struct pushplan_work *w, enum pushop_kind kind, size_t item,
				  const char *path, unsigned line)
{
	struct pushplan_out *out = w->out;
	struct pushop *op;

	if (out->nops == w->cops) {
		size_t ncap = w->cops ? w->cops * 2 : 16;
		struct pushop *n = realloc(out->ops, ncap * sizeof(*n));

		if (!n)
			return NULL;
		out->ops = n;
		w->cops = ncap;
	}
	op = &out->ops[out->nops++];
	*op = (struct pushop){ .kind = kind, .item = item, .path = path, .line = line };
	return op;
}

static void pushplan_item(struct pushplan_work *w, size_t i, enum pusher_item_state st,
			  const char *reason)
{
	w->out->items[i].found = 1;
	w->out->items[i].state = st;
	w->out->items[i].reason = reason;
}

/* 1. every ready certificate: served, or pushed */
static int pushplan_pushes(struct pushplan_work *w)
{
	const struct certset *s = w->in->set;

	for (size_t i = 0; i < s->n; i++) {
		const struct certset_item *it = &s->items[i];
		struct pushop *op;
		long e;

		if (!it->ready) {
			pushplan_item(w, i, PUSHER_ITEM_NOT_READY, NULL);
			continue;
		}
		if (strmap_put(w->item_paths, it->path, (void *)it) < 0)
			return -1;
		for (e = pushplan_first_line(w, it->path); e >= 0; e = w->lines[e].next)
			if (!w->lines[e].keep && strcmp(w->in->entries[e].filters, it->filters) == 0)
				break;
		if (e >= 0) {
			w->lines[e].keep = 1;
			pushplan_item(w, i, PUSHER_ITEM_OK, NULL);
			continue;
		}
		pushplan_item(w, i, PUSHER_ITEM_PENDING, NULL);
		op = pushplan_op(w, PUSHOP_PUSH, i, it->path, 0);
		if (!op)
			return -1;
		op->listed = strmap_get(w->stores, it->path) != NULL;
	}
	return 0;
}

/* 2. the default certificate: the crt-list's first line */
static int pushplan_default(struct pushplan_work *w)
{
	const struct certset *s = w->in->set;
	const struct pushplan_in *in = w->in;

	if (!s->dflt || !s->dflt->ready)
		return 0;
	if (!in->nentries)
		pushplan_item(w, s->n, PUSHER_ITEM_FAILED,
			      "the crt-list is empty: no default certificate to replace");
	else if (strncmp(in->entries[0].path, CERTSET_PREFIX, strlen(CERTSET_PREFIX)) == 0)
		pushplan_item(w, s->n, PUSHER_ITEM_FAILED,
			      "the crt-list's first line is not the default certificate");
	else if (!pushplan_op(w, PUSHOP_DEFAULT, s->n, in->entries[0].path, 0))
		return -1;
	return 0;
}

/* 3. lines of ours the set does not want, after their grace */
static int pushplan_lines(struct pushplan_work *w)
{
	const struct pushplan_in *in = w->in;
	char k[600];

	for (size_t e = 0; e < in->nentries; e++) {
		const struct pushplan_entry *x = &in->entries[e];

		if (w->lines[e].keep || !pushplan_may_remove(in->set, x->path))
			continue;
		if (pushplan_serves_pending(w, x)) {
			w->lines[e].keep = 1;
			continue;
		}
		snprintf(k, sizeof(k), "e:%s:%u", x->path, x->line);
		if (!pushplan_grace_over(w, k))
			continue;
		w->lines[e].deleting = 1;
		if (!pushplan_op(w, PUSHOP_DEL_ENTRY, 0, x->path, x->line))
			return -1;
	}
	return 0;
}

/* 4. certificates of ours no line uses any more */
static int pushplan_stores(struct pushplan_work *w)
{
	const struct pushplan_in *in = w->in;
	char k[600];

	for (size_t i = 0; i < in->nstores; i++) {
		const char *path = in->stores[i];

		if ((size_t)(intptr_t)strmap_get(w->stores, path) != i + 1)
			continue;   /* listed twice */
		if (pushplan_path_in_entries(w, path) || (in->tx && strcmp(path, in->tx) == 0) ||
		    strmap_get(w->item_paths, path) || !pushplan_may_remove(in->set, path))
			continue;
		snprintf(k, sizeof(k), "s:%s", path);
		/* a store whose last line goes now was unwanted as long */
		if (!pushplan_path_deleted(w, path) && !pushplan_grace_over(w, k))
			continue;
		if (!pushplan_op(w, PUSHOP_DEL_STORE, 0, path, 0))
			return -1;
	}
	return 0;
}

static void pushplan_work_free(struct pushplan_work *w)
{
	size_t pos = 0;
	const char *key;
	void *val;

	free(w->lines);
	strmap_free(w->by_path);
	strmap_free(w->stores);
	strmap_free(w->item_paths);
	if (w->pending) {
		while (strmap_next(w->pending, &pos, &key, &val))
			free(val);
		strmap_free(w->pending);
	}
}

int pushplan_decide(struct pushplan *pp, const struct pushplan_in *in, struct pushplan_out *out)
{
	struct pushplan_work w = { .pp = pp, .in = in, .out = out };

	memset(out, 0, sizeof(*out));
	out->items = calloc(in->set->n + 1, sizeof(*out->items));
	w.lines = calloc(in->nentries ? in->nentries : 1, sizeof(*w.lines));
	w.by_path = strmap_new();
	w.stores = strmap_new();
	w.item_paths = strmap_new();
	w.pending = strmap_new();
	if (!out->items || !w.lines || !w.by_path || !w.stores || !w.item_paths || !w.pending ||
	    pushplan_index(&w) < 0 || pushplan_pending_hosts(&w) < 0 ||
	    pushplan_pushes(&w) < 0 || pushplan_default(&w) < 0 ||
	    pushplan_lines(&w) < 0 || pushplan_stores(&w) < 0)
		goto out_oom;
	pushplan_unwanted_sweep(pp);
	pushplan_work_free(&w);
	return 0;

out_oom:
	pushplan_work_free(&w);
	pushplan_release(out);
	return -1;
}

void pushplan_release(struct pushplan_out *out)
{
	free(out->ops);
	free(out->items);
	memset(out, 0, sizeof(*out));
}
