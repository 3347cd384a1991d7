/* Routing table lifecycle: models in, tables out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/errlog.h"
#include "common/fileio.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "routing/ledger.h"
#include "routing/model.h"
#include "routing/overlay.h"
#include "routing/policy.h"
#include "routing/snapshot.h"
#include "routing/tables.h"

#define TABLES_MAX_SOURCES 4
#define TABLES_MAX_SUBSCRIBERS 8
#define TOTALS_BUCKETS 1024

struct source_model {
	const char *source;
	struct model *model;
};

/* Counters of services whose tables were retired, by name. */
struct total {
	struct total *next;
	struct rtable_counters c;
	int64_t gone_since_ms;   /* when first seen missing from the current table */
	unsigned gone:1;         /* not in the current table */
	unsigned doomed:1;       /* chosen for removal by tables_prune() */
	char name[];
};

/* A table the main thread reads across loop turns (a stats listing), with
 * its number of holders. A retired table that is still held is freed by
 * its last tables_unhold() instead of by the snapshot release.
 */
struct hold {
	struct hold *next;
	struct rtable *table;
	unsigned holders;
	int released;            /* retired, no worker sees it, counters folded */
};

struct subscriber {
	void (*fn)(void *arg, const struct rtable *t);
	void *arg;
};

static struct rtable_build_opts build_opts;
static struct source_model sources[TABLES_MAX_SOURCES];
static struct overlay *health;               /* the latest health overlay, or NULL */
static struct subscriber subscribers[TABLES_MAX_SUBSCRIBERS];
static size_t nsubscribers;
static struct rtable *current;
static struct tables_status status;
static struct total *totals[TOTALS_BUCKETS];
static struct rtable_counters retired_all;   /* table-wide, retired tables */
static struct hold *holds;
static size_t held_released;                /* released tables waiting for their holders */
static int64_t last_prune_ms;

/* Ownership of hosts: the operator's policy, and the ledger file that
 * another agent (or the operator) may rewrite. The ledger a build reads is
 * the current table's, unless the file changed under us: then the file's.
 */
#define LEDGER_CHECK_MS 1000
static struct policy *policy;
static const char *ledger_path;
static struct ledger *ledger_read;          /* from the file, for the next build */
static struct fileio_stamp ledger_stamp;    /* of what we last wrote or read */
static int ledger_dirty;                    /* the current table's ledger is not on disk */
static int64_t ledger_due_ms;               /* a claim is released then */
static int64_t ledger_check_ms;

void tables_init(const struct rtable_build_opts *opts)
{
	build_opts = *opts;
}

static unsigned name_hash(const char *s)
{
	return (unsigned)(hash_str(HASH_SEED, s) % TOTALS_BUCKETS);
}

static void counters_add(struct rtable_counters *dst, const struct rtable_counters *src)
{
	dst->forwarded += src->forwarded;
	dst->redirected += src->redirected;
	dst->not_found += src->not_found;
	dst->no_task += src->no_task;
}

static struct total *total_get(const char *name)
{
	unsigned b = name_hash(name);
	struct total *t;

	for (t = totals[b]; t; t = t->next)
		if (strcmp(t->name, name) == 0)
			return t;
	t = calloc(1, sizeof(*t) + strlen(name) + 1);
	if (!t)
		return NULL;
	strcpy(t->name, name);
	t->next = totals[b];
	totals[b] = t;
	return t;
}

static struct hold *hold_find(const struct rtable *t)
{
	struct hold *h;

	for (h = holds; h; h = h->next)
		if (h->table == t)
			return h;
	return NULL;
}

/* Release callback of retired tables: no worker can touch their counters
 * any more, so they are folded into the lifetime totals now, even when a
 * holder delays the free: folding later would make the lifetime counters
 * drop (a counter reset to a scraper) for as long as a listing runs.
 */
static void table_release(void *p)
{
	struct rtable *t = p;
	struct rtable_counters all;
	size_t n = rtable_service_count(t);
	struct hold *h;

	for (size_t i = 0; i < n; i++) {
		struct rtable_service_view v;
		struct total *tot;

		rtable_service_at(t, i, &v);
		if (!v.counters.forwarded && !v.counters.redirected && !v.counters.no_task)
			continue;
		tot = total_get(v.name);
		if (tot)
			counters_add(&tot->c, &v.counters);
	}
	rtable_counters(t, &all);
	counters_add(&retired_all, &all);
	h = hold_find(t);
	if (h) {
		h->released = 1;
		held_released++;
		return;
	}
	rtable_free(t);
}

static void log_change(void *arg, const char *what, const char *service, const char *detail)
{
	(void)arg;
	LOG(LL_INFO, "routing", what, KVS("service", service), KVS("detail", detail));
	/* "show errors" lists services refused for their labels. */
	if (strcmp(what, "service skipped") == 0)
		errlog_record(ERRLOG_LABELS, service, detail);
}

/* Writes the current table's ledger to the ledger file when it changed.
 * A failure is logged and retried at the next tick: the table in service
 * does not depend on it.
 */
static void tables_ledger_save(void)
{
	struct sbuf text = SBUF_INIT;
	char err[256];

	if (!ledger_path || !ledger_dirty || !current)
		return;
	ledger_format(rtable_ledger(current, NULL, NULL), &text);
	if (text.oom) {
		LOG(LL_ERROR, "routing", "cannot write the ledger", KVS("reason", "out of memory"));
	} else if (fileio_write_atomic(ledger_path, text.buf, text.len, &ledger_stamp, err,
				       sizeof(err)) < 0) {
		LOG(LL_ERROR, "routing", "cannot write the ledger", KVS("file", ledger_path),
		    KVS("reason", err));
		errlog_record(ERRLOG_CONFIG, ledger_path, err);
	} else {
		ledger_dirty = 0;
	}
	sbuf_free(&text);
}

static int tables_publish_new(void)
{
	const struct model *models[TABLES_MAX_SOURCES];
	int64_t t0 = clock_mono_ns();
	struct rtable *t;
	struct rtable_info info;

	int ledger_changed;

	for (size_t i = 0; i < TABLES_MAX_SOURCES; i++)
		models[i] = sources[i].model;
	build_opts.health = health;
	build_opts.policy = policy;
	build_opts.ledger = ledger_read ? ledger_read : current ? rtable_ledger(current, NULL, NULL) : NULL;
	build_opts.now_ms = clock_wall_ms();
	t = rtable_build(models, TABLES_MAX_SOURCES, &build_opts);
	build_opts.ledger = NULL;
	if (!t) {
		status.build_failures++;
		LOG(LL_ERROR, "routing", "cannot build routing table, keeping the previous one");
		return -1;
	}
	rtable_ledger(t, &ledger_changed, &ledger_due_ms);
	ledger_dirty |= ledger_changed;
	ledger_free(ledger_read);
	ledger_read = NULL;
	rtable_diff(current, t, log_change, NULL);
	current = t;
	status.generation = snapshot_publish(t, table_release);
	status.published_ms = clock_wall_ms();
	status.build_ns = (uint64_t)(clock_mono_ns() - t0);
	rtable_info(t, &info);
	LOG(LL_DEBUG, "routing", "table published", KVI("generation", status.generation),
	    KVI("services", info.services), KVI("routes", info.routes), KVI("tasks", info.tasks),
	    KVI("build_us", status.build_ns / 1000));
	for (size_t i = 0; i < nsubscribers; i++)
		subscribers[i].fn(subscribers[i].arg, t);
	tables_ledger_save();
	return 0;
}

int tables_update(const char *source, struct model *m)
{
	struct source_model *slot = NULL, *free_slot = NULL;
	struct model *old;

	for (size_t i = 0; i < TABLES_MAX_SOURCES; i++) {
		if (sources[i].source && strcmp(sources[i].source, source) == 0)
			slot = &sources[i];
		else if (!sources[i].source && !free_slot)
			free_slot = &sources[i];
	}
	if (!slot) {
		if (!free_slot) {
			model_free(m);
			return -1;
		}
		slot = free_slot;
		slot->source = source;
	}
	old = slot->model;
	slot->model = m;
	if (tables_publish_new() < 0) {
		slot->model = old;
		model_free(m);
		return -1;
	}
	model_free(old);
	return 0;
}

int tables_set_health(struct overlay *ov)
{
	struct overlay *old = health;

	health = ov;
	if (tables_publish_new() < 0) {
		health = old;
		overlay_free(ov);
		return -1;
	}
	overlay_free(old);
	return 0;
}

const struct rtable *tables_current(void)
{
	return current;
}

const struct rtable *tables_hold(void)
{
	struct hold *h;

	if (!current)
		return NULL;
	h = hold_find(current);
	if (!h) {
		h = calloc(1, sizeof(*h));
		if (!h)
			return NULL;
		h->table = current;
		h->next = holds;
		holds = h;
	}
	h->holders++;
	return current;
}

void tables_unhold(const struct rtable *t)
{
	struct hold **pp, *h;

	for (pp = &holds; (h = *pp); pp = &h->next)
		if (h->table == t)
			break;
	/* an unhold without its hold would free a table someone reads */
	if (!h || !h->holders)
		abort();
	if (--h->holders)
		return;
	*pp = h->next;
	if (h->released) {
		held_released--;
		rtable_free(h->table);
	}
	free(h);
}

void tables_status(struct tables_status *st)
{
	*st = status;
	st->retired_waiting = snapshot_reclaim() + held_released;
}

void tables_subscribe(void (*fn)(void *arg, const struct rtable *t), void *arg)
{
	if (nsubscribers < TABLES_MAX_SUBSCRIBERS)
		subscribers[nsubscribers++] = (struct subscriber){ fn, arg };
}

void tables_counters(void (*fn)(void *arg, const char *service,
				const struct rtable_counters *c), void *arg)
{
	size_t n = current ? rtable_service_count(current) : 0;
	struct rtable_counters all = retired_all, cur;

	/* Services of the current table, with what retired tables counted. */
	for (size_t i = 0; i < n; i++) {
		struct rtable_service_view v;
		struct rtable_counters c;
		struct total *tot;

		rtable_service_at(current, i, &v);
		c = v.counters;
		for (tot = totals[name_hash(v.name)]; tot; tot = tot->next)
			if (strcmp(tot->name, v.name) == 0)
				counters_add(&c, &tot->c);
		fn(arg, v.name, &c);
	}
	/* Services that are gone keep their lifetime counters. */
	for (size_t b = 0; b < TOTALS_BUCKETS; b++) {
		for (struct total *tot = totals[b]; tot; tot = tot->next) {
			if (current && rtable_service_find(current, tot->name) >= 0)
				continue;
			fn(arg, tot->name, &tot->c);
		}
	}
	if (current) {
		rtable_counters(current, &cur);
		counters_add(&all, &cur);
	}
	fn(arg, NULL, &all);
}

static int total_older(const void *a, const void *b)
{
	const struct total *x = *(const struct total *const *)a;
	const struct total *y = *(const struct total *const *)b;

	return (x->gone_since_ms > y->gone_since_ms) - (x->gone_since_ms < y->gone_since_ms);
}

/* Over TABLES_GONE_MAX services gone: marks the <excess> that went first. */
static void tables_doom_oldest(size_t ngone, size_t excess)
{
	struct total **list = malloc(ngone * sizeof(*list));
	size_t n = 0;

	if (!list)
		return;   /* the next prune tries again */
	for (size_t b = 0; b < TOTALS_BUCKETS; b++)
		for (struct total *t = totals[b]; t; t = t->next)
			if (t->gone && n < ngone)
				list[n++] = t;
	qsort(list, n, sizeof(*list), total_older);
	for (size_t i = 0; i < excess && i < n; i++)
		list[i]->doomed = 1;
	free(list);
}

size_t tables_prune(int64_t now_ms)
{
	size_t ngone = 0, kept = 0;

	for (size_t b = 0; b < TOTALS_BUCKETS; b++) {
		for (struct total **pp = &totals[b], *t; (t = *pp);) {
			if (current && rtable_service_find(current, t->name) >= 0) {
				t->gone = 0;
			} else if (!t->gone) {
				t->gone = 1;
				t->gone_since_ms = now_ms;
			} else if (now_ms - t->gone_since_ms >= TABLES_GONE_KEEP_MS) {
				*pp = t->next;
				free(t);
				continue;
			}
			ngone += t->gone;
			pp = &t->next;
		}
	}
	if (ngone <= TABLES_GONE_MAX)
		return ngone;
	tables_doom_oldest(ngone, ngone - TABLES_GONE_MAX);
	for (size_t b = 0; b < TOTALS_BUCKETS; b++) {
		for (struct total **pp = &totals[b], *t; (t = *pp);) {
			if (t->doomed) {
				*pp = t->next;
				free(t);
				continue;
			}
			kept += t->gone;
			pp = &t->next;
		}
	}
	return kept;
}

/* Reads the ledger file at <ledger_path> into <ledger_read> when it is not
 * what we last wrote or read. Returns 1 when it was read, 0 when nothing
 * changed, -1 with the reason in <err>.
 */
static int tables_ledger_read(char *err, size_t errlen)
{
	struct sbuf text = SBUF_INIT;
	struct fileio_stamp st;
	struct ledger *l;
	int rc = fileio_stat(ledger_path, &st);

	if (rc <= 0 || fileio_same(&st, &ledger_stamp))
		return 0;
	rc = fileio_read(ledger_path, LEDGER_FILE_MAX, &text, &st, err, errlen);
	if (rc <= 0) {
		sbuf_free(&text);
		return rc;
	}
	ledger_stamp = st;
	l = ledger_parse(text.buf ? text.buf : "", text.len, err, errlen);
	sbuf_free(&text);
	if (!l)
		return -1;
	ledger_free(ledger_read);
	ledger_read = l;
	return 1;
}

int tables_ownership(const char *ledger_file, int64_t claim_grace_ms, char *err, size_t errlen)
{
	char why[256];

	build_opts.claim_grace_ms = claim_grace_ms;
	ledger_path = ledger_file;
	if (ledger_path && tables_ledger_read(why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", ledger_path, why);
		return -1;
	}
	return 0;
}

int tables_set_policy(struct policy *p)
{
	struct policy *old = policy;

	policy = p;
	if (current && tables_publish_new() < 0) {
		policy = old;
		policy_free(p);
		return -1;
	}
	policy_free(old);
	return 0;
}

const struct policy *tables_policy(void)
{
	return policy;
}

void tables_reclaim(void)
{
	int64_t mono = clock_mono_ms();
	int64_t now = clock_wall_ms();
	char err[256];

	snapshot_reclaim();
	if (mono - last_prune_ms >= 1000) {
		last_prune_ms = mono;
		tables_prune(mono);
	}
	if (!current)
		return;
	if (ledger_path && now >= ledger_check_ms) {
		int rc;

		ledger_check_ms = now + LEDGER_CHECK_MS;
		rc = tables_ledger_read(err, sizeof(err));
		if (rc < 0) {
			/* keep ours: a half-written file cannot happen (rename),
			 * so this is an operator's edit to fix */
			LOG(LL_ERROR, "routing", "ledger file refused, keeping the ledger in memory",
			    KVS("file", ledger_path), KVS("reason", err));
			errlog_record(ERRLOG_CONFIG, ledger_path, err);
		} else if (rc > 0) {
			LOG(LL_INFO, "routing", "ledger file changed, rebuilding",
			    KVS("file", ledger_path));
			tables_publish_new();
			return;
		}
		/* a failed write is retried at this pace, not at every tick */
		tables_ledger_save();
	}
	if (ledger_due_ms && now >= ledger_due_ms)
		tables_publish_new();
}

void tables_shutdown(void)
{
	ledger_free(ledger_read);
	ledger_read = NULL;
	policy_free(policy);
	policy = NULL;
	for (size_t i = 0; i < TABLES_MAX_SOURCES; i++) {
		model_free(sources[i].model);
		sources[i].model = NULL;
	}
	overlay_free(health);
	health = NULL;
	for (size_t b = 0; b < TOTALS_BUCKETS; b++) {
		struct total *t, *next;

		for (t = totals[b]; t; t = next) {
			next = t->next;
			free(t);
		}
		totals[b] = NULL;
	}
	/* The stats clients, which hold tables, are closed by now. */
	while (holds) {
		struct hold *h = holds;

		holds = h->next;
		if (h->released)
			rtable_free(h->table);
		free(h);
	}
	held_released = 0;
}
