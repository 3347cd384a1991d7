/* Per-service traffic: the stick tables of the HAProxies, one snapshot per
 * HAProxy replaced at each poll, and the connection failures of the rings,
 * merged by service name when read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/sbuf.h"
#include "haproxyapi/hatable.h"
#include "health/traffic.h"

const unsigned traffic_bucket_ms[TRAFFIC_NBUCKETS - 1] = { 5, 25, 100, 500, 2500 };

/* What one HAProxy's table said at its last poll. */
struct traffic_target {
	char *key;
	struct arena *arena;          /* rows and their names */
	struct traffic_figures *rows;
	size_t n;
};

struct traffic_failed {
	char service[HATABLE_KEY_MAX + 1];
	uint64_t n;
};

struct traffic {
	struct traffic_target *targets;
	size_t ntargets;
	struct traffic_failed *failed;  /* sorted by name */
	size_t nfailed;
	struct traffic_figures *merged; /* by name; rebuilt when <dirty> */
	size_t nmerged, capmerged;
	int dirty;
	uint64_t polls, poll_failures, malformed;
	char last_error[160];
};

struct traffic *traffic_new(void)
{
	struct traffic *tr = calloc(1, sizeof(*tr));

	if (tr)
		tr->failed = calloc(TRAFFIC_MAX_FAILED, sizeof(*tr->failed));
	if (tr && !tr->failed) {
		free(tr);
		return NULL;
	}
	return tr;
}

static void traffic_target_free(struct traffic_target *t)
{
	free(t->key);
	arena_free(t->arena);
}

void traffic_free(struct traffic *tr)
{
	if (!tr)
		return;
	for (size_t i = 0; i < tr->ntargets; i++)
		traffic_target_free(&tr->targets[i]);
	free(tr->targets);
	free(tr->failed);
	free(tr->merged);
	free(tr);
}

static struct traffic_target *traffic_target_find(struct traffic *tr, const char *key)
{
	for (size_t i = 0; i < tr->ntargets; i++)
		if (strcmp(tr->targets[i].key, key) == 0)
			return &tr->targets[i];
	return NULL;
}

/************************************************************************/
/*                           reading an answer                          */
/************************************************************************/

struct traffic_parse {
	struct arena *a;
	struct traffic_figures *rows;
	size_t n, cap;
	int oom;
};

static void traffic_on_row(void *arg, const struct hatable_row *r)
{
	struct traffic_parse *p = arg;
	struct traffic_figures *f;

	if (p->oom)
		return;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct traffic_figures *v = realloc(p->rows, cap * sizeof(*v));

		if (!v) {
			p->oom = 1;
			return;
		}
		p->rows = v;
		p->cap = cap;
	}
	f = &p->rows[p->n];
	memset(f, 0, sizeof(*f));
	f->service = arena_strdup(p->a, r->key);
	if (!f->service) {
		p->oom = 1;
		return;
	}
	f->requests = r->http_req_cnt;
	for (unsigned i = 0; i < TRAFFIC_NCLASSES && i < r->ngpc; i++)
		f->status[i] = r->gpc[i];
	for (unsigned i = 0; i < TRAFFIC_NBUCKETS && TRAFFIC_GPC_BUCKETS + i < r->ngpc; i++)
		f->buckets[i] = r->gpc[TRAFFIC_GPC_BUCKETS + i];
	p->n++;
}

static int traffic_by_name(const void *a, const void *b)
{
	return strcmp(((const struct traffic_figures *)a)->service,
		      ((const struct traffic_figures *)b)->service);
}

int traffic_target_answer(struct traffic *tr, const char *target, const char *answer,
			  size_t len, char *err, size_t errlen)
{
	struct traffic_parse p = { 0 };
	struct traffic_target *t = traffic_target_find(tr, target);
	struct traffic_figures *rows;
	long n;

	tr->polls++;
	p.a = arena_new(16 * 1024);
	if (!p.a)
		goto out_oom;
	n = hatable_parse(answer, len, TRAFFIC_TABLE, traffic_on_row, &p, &tr->malformed,
			  err, errlen);
	if (n < 0)
		goto out_fail;
	if (p.oom)
		goto out_oom;
	/* HAProxy lists its entries in no particular order; one name per
	 * table, but the key may have been cut to "len 64" */
	if (p.n)
		qsort(p.rows, p.n, sizeof(*p.rows), traffic_by_name);
	rows = arena_alloc(p.a, (p.n ? p.n : 1) * sizeof(*rows));
	if (!rows)
		goto out_oom;
	if (p.n)
		memcpy(rows, p.rows, p.n * sizeof(*rows));   /* no rows: p.rows is NULL */
	free(p.rows);
	if (!t) {
		struct traffic_target *v = realloc(tr->targets, (tr->ntargets + 1) * sizeof(*v));
		char *key = strdup(target);

		if (!v || !key) {
			if (v)
				tr->targets = v;
			free(key);
			arena_free(p.a);
			snprintf(err, errlen, "out of memory");
			goto out_count;
		}
		tr->targets = v;
		t = &tr->targets[tr->ntargets++];
		memset(t, 0, sizeof(*t));
		t->key = key;
	}
	arena_free(t->arena);
	t->arena = p.a;
	t->rows = rows;
	t->n = p.n;
	tr->dirty = 1;
	tr->last_error[0] = '\0';
	return 0;

out_oom:
	snprintf(err, errlen, "out of memory");
out_fail:
	free(p.rows);
	arena_free(p.a);
out_count:
	tr->poll_failures++;
	snprintf(tr->last_error, sizeof(tr->last_error), "%s: %s", target, err);
	return -1;
}

void traffic_target_failed(struct traffic *tr, const char *target, const char *reason)
{
	tr->polls++;
	tr->poll_failures++;
	snprintf(tr->last_error, sizeof(tr->last_error), "%s: %s", target, reason);
}

void traffic_target_drop(struct traffic *tr, const char *target)
{
	struct traffic_target *t = traffic_target_find(tr, target);
	size_t i;

	if (!t)
		return;
	i = (size_t)(t - tr->targets);
	traffic_target_free(t);
	memmove(t, t + 1, (tr->ntargets - i - 1) * sizeof(*t));
	tr->ntargets--;
	tr->dirty = 1;
}

/************************************************************************/
/*                         connection failures                          */
/************************************************************************/

static int traffic_failed_cmp(const void *key, const void *elt)
{
	return strcmp(key, ((const struct traffic_failed *)elt)->service);
}

void traffic_conn_failure(struct traffic *tr, const char *service)
{
	struct traffic_failed *f;
	size_t lo = 0, hi = tr->nfailed;

	if (strlen(service) > HATABLE_KEY_MAX)
		return;
	f = bsearch(service, tr->failed, tr->nfailed, sizeof(*f), traffic_failed_cmp);
	if (f) {
		f->n++;
		tr->dirty = 1;
		return;
	}
	/* past TRAFFIC_MAX_FAILED services, the failures of new ones are
	 * not counted by service (the ring's own counters still see them) */
	if (tr->nfailed == TRAFFIC_MAX_FAILED)
		return;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(tr->failed[mid].service, service) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(&tr->failed[lo + 1], &tr->failed[lo], (tr->nfailed - lo) * sizeof(*tr->failed));
	snprintf(tr->failed[lo].service, sizeof(tr->failed[lo].service), "%s", service);
	tr->failed[lo].n = 1;
	tr->nfailed++;
	tr->dirty = 1;
}

/************************************************************************/
/*                                reading                               */
/************************************************************************/

static struct traffic_figures *traffic_merged_add(struct traffic *tr, const char *service)
{
	struct traffic_figures *f;

	if (tr->nmerged == tr->capmerged) {
		size_t cap = tr->capmerged ? tr->capmerged * 2 : 64;
		struct traffic_figures *v = realloc(tr->merged, cap * sizeof(*v));

		if (!v)
			return NULL;
		tr->merged = v;
		tr->capmerged = cap;
	}
	f = &tr->merged[tr->nmerged++];
	memset(f, 0, sizeof(*f));
	f->service = service;
	return f;
}

/* Every row of every target and every failure count, then the rows of
 * one name added up. On a shortage of memory, what fitted is kept.
 */
static void traffic_merge(struct traffic *tr)
{
	size_t k = 0;

	if (!tr->dirty)
		return;
	tr->dirty = 0;
	tr->nmerged = 0;
	for (size_t i = 0; i < tr->ntargets; i++) {
		for (size_t j = 0; j < tr->targets[i].n; j++) {
			struct traffic_figures *f = traffic_merged_add(tr, NULL);

			if (!f)
				break;
			*f = tr->targets[i].rows[j];
		}
	}
	for (size_t i = 0; i < tr->nfailed; i++) {
		struct traffic_figures *f = traffic_merged_add(tr, tr->failed[i].service);

		if (!f)
			break;
		f->conn_failures = tr->failed[i].n;
	}
	if (!tr->nmerged)
		return;
	qsort(tr->merged, tr->nmerged, sizeof(*tr->merged), traffic_by_name);
	for (size_t i = 1; i < tr->nmerged; i++) {
		struct traffic_figures *d = &tr->merged[k], *s = &tr->merged[i];

		if (strcmp(d->service, s->service) != 0) {
			tr->merged[++k] = *s;
			continue;
		}
		d->requests += s->requests;
		d->conn_failures += s->conn_failures;
		for (int c = 0; c < TRAFFIC_NCLASSES; c++)
			d->status[c] += s->status[c];
		for (int b = 0; b < TRAFFIC_NBUCKETS; b++)
			d->buckets[b] += s->buckets[b];
	}
	tr->nmerged = k + 1;
}

static int traffic_figures_cmp(const void *key, const void *elt)
{
	return strcmp(key, ((const struct traffic_figures *)elt)->service);
}

int traffic_get(struct traffic *tr, const char *service, struct traffic_figures *out)
{
	const struct traffic_figures *f;

	traffic_merge(tr);
	f = tr->nmerged ? bsearch(service, tr->merged, tr->nmerged, sizeof(*f),
				  traffic_figures_cmp) : NULL;
	if (!f)
		return -1;
	*out = *f;
	return 0;
}

void traffic_each(struct traffic *tr, void (*fn)(void *arg, const struct traffic_figures *f),
		  void *arg)
{
	traffic_merge(tr);
	for (size_t i = 0; i < tr->nmerged; i++)
		fn(arg, &tr->merged[i]);
}

void traffic_status(struct traffic *tr, struct traffic_status *st)
{
	traffic_merge(tr);
	st->polls = tr->polls;
	st->poll_failures = tr->poll_failures;
	st->malformed = tr->malformed;
	st->targets = tr->ntargets;
	st->services = tr->nmerged;
	st->last_error = tr->last_error;
}

/* The upper bound of the bucket holding the <q>-th quantile of the
 * responses of <f>, in ms: 0 without responses, -1 above the last bound.
 */
static long traffic_quantile_ms(const struct traffic_figures *f, double q)
{
	uint64_t total = 0, seen = 0;

	for (int b = 0; b < TRAFFIC_NBUCKETS; b++)
		total += f->buckets[b];
	if (!total)
		return 0;
	for (int b = 0; b < TRAFFIC_NBUCKETS - 1; b++) {
		seen += f->buckets[b];
		if ((double)seen >= q * (double)total)
			return traffic_bucket_ms[b];
	}
	return -1;
}

static void traffic_format_quantile(struct sbuf *out, const char *name, long ms)
{
	if (ms > 0)
		sbuf_printf(out, " %s<=%ldms", name, ms);
	else if (ms < 0)
		sbuf_printf(out, " %s>%ums", name, traffic_bucket_ms[TRAFFIC_NBUCKETS - 2]);
}

void traffic_format(const struct traffic_figures *f, struct sbuf *out, int json)
{
	uint64_t cum = 0;

	if (!json) {
		sbuf_printf(out, "req=%llu 2xx=%llu 3xx=%llu 4xx=%llu 5xx=%llu conn_fail=%llu",
			    (unsigned long long)f->requests, (unsigned long long)f->status[0],
			    (unsigned long long)f->status[1], (unsigned long long)f->status[2],
			    (unsigned long long)f->status[3], (unsigned long long)f->conn_failures);
		traffic_format_quantile(out, "p50", traffic_quantile_ms(f, 0.5));
		traffic_format_quantile(out, "p99", traffic_quantile_ms(f, 0.99));
		return;
	}
	sbuf_printf(out, "{\"requests\":%llu,\"2xx\":%llu,\"3xx\":%llu,\"4xx\":%llu,\"5xx\":%llu,"
		    "\"conn_failures\":%llu,\"response_ms\":{",
		    (unsigned long long)f->requests, (unsigned long long)f->status[0],
		    (unsigned long long)f->status[1], (unsigned long long)f->status[2],
		    (unsigned long long)f->status[3], (unsigned long long)f->conn_failures);
	/* cumulative, as the metrics' histogram */
	for (int b = 0; b < TRAFFIC_NBUCKETS; b++) {
		cum += f->buckets[b];
		if (b < TRAFFIC_NBUCKETS - 1)
			sbuf_printf(out, "%s\"le_%u\":%llu", b ? "," : "", traffic_bucket_ms[b],
				    (unsigned long long)cum);
		else
			sbuf_printf(out, ",\"count\":%llu", (unsigned long long)cum);
	}
	sbuf_puts(out, "}}");
}
