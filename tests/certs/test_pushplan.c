/* A sync's plan (certs/pushplan.c), replayed: what gets pushed, what
 * HAProxy serves already, the default certificate replaced in place, and
 * what is removed when: after the grace period, never the operator's,
 * never a name whose material the agent cannot read, never before the
 * routing table is complete, never the line serving a host whose new
 * certificate is still coming (make before break).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "certs/certset.h"
#include "certs/pushplan.h"
#include "common/arena.h"

#define NOW    1000000
#define GRACE  2000
#define OPERATOR_PEM "/etc/haproxy/default.pem"

/* One certificate of a test set. */
struct item_spec {
	const char *name;
	const char *filters;
	int ready;
};

/* A set of <n> certificates (the default too when <with_default>), each
 * at "/swarm-spoa/<name>/1<name>.pem".
 */
static struct certset *make_set(const struct item_spec *spec, size_t n, int with_default,
				int authoritative)
{
	struct certset *s = certset_new(n, with_default);
	char path[128];

	assert_non_null(s);
	s->n = n;
	s->authoritative = authoritative;
	for (size_t i = 0; i < n; i++) {
		struct certset_item *it = &s->items[i];

		it->name = arena_strdup(s->arena, spec[i].name);
		it->filters = arena_strdup(s->arena, spec[i].filters);
		snprintf(path, sizeof(path), CERTSET_PREFIX "%s/", spec[i].name);
		it->dir = arena_strdup(s->arena, path);
		it->ready = spec[i].ready;
		if (it->ready) {
			snprintf(path, sizeof(path), CERTSET_PREFIX "%s/1%s.pem", spec[i].name,
				 spec[i].name);
			it->path = arena_strdup(s->arena, path);
			it->serial = "01";
		}
	}
	if (with_default) {
		s->dflt->name = "default";
		s->dflt->filters = "";
		s->dflt->path = CERTSET_PREFIX "default/1.pem";
		s->dflt->ready = 1;
	}
	return s;
}

/* What HAProxy holds in a test. */
struct haproxy {
	struct pushplan_entry entries[256];
	size_t nentries;
	const char *stores[256];
	size_t nstores;
	char names[256][96];
	size_t nnames;
	const char *tx;
};

static const char *keep_name(struct haproxy *h, const char *fmt, unsigned i)
{
	assert_true(h->nnames < 256);
	snprintf(h->names[h->nnames], sizeof(h->names[0]), fmt, i, i);
	return h->names[h->nnames++];
}

static void add_line(struct haproxy *h, const char *path, const char *filters)
{
	assert_true(h->nentries < 256);
	h->entries[h->nentries].path = path;
	h->entries[h->nentries].filters = filters;
	h->entries[h->nentries].line = (unsigned)h->nentries + 1;
	h->nentries++;
}

static void add_store(struct haproxy *h, const char *path)
{
	assert_true(h->nstores < 256);
	h->stores[h->nstores++] = path;
}

/* A crt-list with the operator's default certificate first. */
static void fresh(struct haproxy *h)
{
	memset(h, 0, sizeof(*h));
	add_line(h, OPERATOR_PEM, "");
	add_store(h, OPERATOR_PEM);
}

static void plan(struct pushplan *pp, const struct certset *s, const struct haproxy *h,
		 int64_t now, struct pushplan_out *out)
{
	struct pushplan_in in = {
		.set = s,
		.entries = h->entries,
		.nentries = h->nentries,
		.stores = h->stores,
		.nstores = h->nstores,
		.tx = h->tx,
		.now_ms = now,
		.grace_ms = GRACE,
	};

	assert_int_equal(pushplan_decide(pp, &in, out), 0);
}

/* The number of ops of <kind> on <path>. */
static size_t ops_on(const struct pushplan_out *out, enum pushop_kind kind, const char *path)
{
	size_t n = 0;

	for (size_t i = 0; i < out->nops; i++)
		n += out->ops[i].kind == kind && strcmp(out->ops[i].path, path) == 0;
	return n;
}

static size_t ops_of(const struct pushplan_out *out, enum pushop_kind kind)
{
	size_t n = 0;

	for (size_t i = 0; i < out->nops; i++)
		n += out->ops[i].kind == kind;
	return n;
}

/* A fresh HAProxy: every ready certificate pushed, in order, a store that
 * exists already reused; the certificate not ready only reported.
 */
static void test_fresh_pushes(void **state)
{
	static const struct item_spec spec[] = {
		{ "a", "a.test", 1 }, { "b", "b.test www.b.test", 1 }, { "c", "c.test", 0 },
	};
	struct certset *s = make_set(spec, 3, 0, 1);
	struct pushplan *pp = pushplan_new();
	struct pushplan_out out;
	struct haproxy h;

	(void)state;
	fresh(&h);
	add_store(&h, s->items[1].path);   /* a push that died before its line */
	plan(pp, s, &h, NOW, &out);
	assert_int_equal(out.nops, 2);
	assert_int_equal(out.ops[0].kind, PUSHOP_PUSH);
	assert_int_equal(out.ops[0].item, 0);
	assert_string_equal(out.ops[0].path, s->items[0].path);
	assert_false(out.ops[0].listed);
	assert_int_equal(out.ops[1].item, 1);
	assert_true(out.ops[1].listed);
	assert_int_equal(out.items[0].state, PUSHER_ITEM_PENDING);
	assert_int_equal(out.items[2].state, PUSHER_ITEM_NOT_READY);
	assert_true(out.items[2].found);
	assert_false(out.items[3].found);
	assert_int_equal(out.grace_due_ms, 0);
	pushplan_release(&out);
	pushplan_free(pp);
	certset_unref(s);
}

/* A line with the same path and filters is served; a line of the same
 * path with other filters is not: the new line is pushed and the old one
 * removed after its grace.
 */
static void test_served_and_filters(void **state)
{
	static const struct item_spec spec[] = { { "a", "a.test", 1 }, { "b", "b.test", 1 } };
	struct certset *s = make_set(spec, 2, 0, 1);
	struct pushplan *pp = pushplan_new();
	struct pushplan_out out;
	struct haproxy h;

	(void)state;
	fresh(&h);
	add_line(&h, s->items[0].path, "a.test");
	add_line(&h, s->items[1].path, "old.b.test");
	add_store(&h, s->items[0].path);
	add_store(&h, s->items[1].path);
	plan(pp, s, &h, NOW, &out);
	assert_int_equal(out.items[0].state, PUSHER_ITEM_OK);
	assert_int_equal(out.items[1].state, PUSHER_ITEM_PENDING);
	assert_int_equal(out.nops, 1);
	assert_int_equal(ops_on(&out, PUSHOP_PUSH, s->items[1].path), 1);
	assert_int_equal(out.grace_due_ms, NOW + GRACE);
	pushplan_release(&out);

	/* the new line is in: the old one goes once its grace is over */
	add_line(&h, s->items[1].path, "b.test");
	plan(pp, s, &h, NOW + GRACE - 1, &out);
	assert_int_equal(out.nops, 0);
	assert_int_equal(out.items[1].state, PUSHER_ITEM_OK);
	pushplan_release(&out);
	plan(pp, s, &h, NOW + GRACE, &out);
	assert_int_equal(out.nops, 1);
	assert_int_equal(out.ops[0].kind, PUSHOP_DEL_ENTRY);
	assert_int_equal(out.ops[0].line, 3);
	/* the store stays: a line still uses it */
	assert_int_equal(ops_of(&out, PUSHOP_DEL_STORE), 0);
	pushplan_release(&out);
	pushplan_free(pp);
	certset_unref(s);
}

/* The default certificate replaces the crt-list's first line, only when
 * that line is the operator's.
 */
static void test_default(void **state)
{
	struct certset *s = make_set(NULL, 0, 1, 1);
	struct pushplan *pp = pushplan_new();
	struct pushplan_out out;
	struct haproxy h;

	(void)state;
	fresh(&h);
	plan(pp, s, &h, NOW, &out);
	assert_int_equal(out.nops, 1);
	assert_int_equal(out.ops[0].kind, PUSHOP_DEFAULT);
	assert_int_equal(out.ops[0].item, 0);
	assert_string_equal(out.ops[0].path, OPERATOR_PEM);
	assert_false(out.items[0].found);
	pushplan_release(&out);

	memset(&h, 0, sizeof(h));
	plan(pp, s, &h, NOW, &out);
	assert_int_equal(out.nops, 0);
	assert_int_equal(out.items[0].state, PUSHER_ITEM_FAILED);
	assert_string_equal(out.items[0].reason,
			    "the crt-list is empty: no default certificate to replace");
	pushplan_release(&out);

	add_line(&h, CERTSET_PREFIX "x/1.pem", "x.test");
	s->authoritative = 0;   /* x stays: only the default is looked at */
	plan(pp, s, &h, NOW, &out);
	assert_int_equal(out.nops, 0);
	assert_string_equal(out.items[0].reason,
			    "the crt-list's first line is not the default certificate");
	pushplan_release(&out);
	pushplan_free(pp);
	certset_unref(s);
}

/* A name the set no longer has: its line, after the grace, and its store
 * with it; the operator's lines and stores and the open transaction's
 * store are never touched.
 */
static void test_unknown_removed_after_grace(void **state)
{
	struct certset *s = make_set(NULL, 0, 0, 1);
	struct pushplan *pp = pushplan_new();
	struct pushplan_out out;
	struct haproxy h;
	const char *gone = CERTSET_PREFIX "gone/1.pem", *tx = CERTSET_PREFIX "tx/1.pem";

	(void)state;
	fresh(&h);
	add_line(&h, "/etc/haproxy/other.pem", "other.test");
	add_store(&h, "/etc/haproxy/other.pem");
	add_line(&h, gone, "gone.test");
	add_store(&h, gone);
	add_store(&h, tx);
	h.tx = tx;
	plan(pp, s, &h, NOW, &out);
	assert_int_equal(out.nops, 0);
	assert_int_equal(out.grace_due_ms, NOW + GRACE);
	pushplan_release(&out);
	plan(pp, s, &h, NOW + GRACE, &out);
	assert_int_equal(out.nops, 2);
	assert_int_equal(ops_on(&out, PUSHOP_DEL_ENTRY, gone), 1);
	/* its last line goes now: the store was unwanted as long */
	assert_int_equal(ops_on(&out, PUSHOP_DEL_STORE, gone), 1);
	assert_int_equal(out.ops[0].kind, PUSHOP_DEL_ENTRY);
	assert_int_equal(out.grace_due_ms, 0);
	pushplan_release(&out);
	pushplan_free(pp);
	certset_unref(s);
}

/* Before the routing table is complete, a name the set does not know may
 * be one it will know: nothing of it is removed. Nor is anything of a
 * name whose material the agent cannot read now.
 */
static void test_nothing_removed_without_knowing(void **state)
{
	static const struct item_spec spec[] = { { "unread", "u.test", 0 } };
	struct certset *s = make_set(spec, 1, 0, 0);
	struct pushplan *pp = pushplan_new();
	struct pushplan_out out;
	struct haproxy h;

	(void)state;
	fresh(&h);
	add_line(&h, CERTSET_PREFIX "later/1.pem", "later.test");
	add_store(&h, CERTSET_PREFIX "later/1.pem");
	add_line(&h, CERTSET_PREFIX "unread/1old.pem", "u.test");
	add_store(&h, CERTSET_PREFIX "unread/1old.pem");
	add_store(&h, CERTSET_PREFIX "unread/2old.pem");
	plan(pp, s, &h, NOW, &out);
	pushplan_release(&out);
	plan(pp, s, &h, NOW + 10 * GRACE, &out);
	assert_int_equal(out.nops, 0);
	assert_int_equal(out.grace_due_ms, 0);
	pushplan_release(&out);
	pushplan_free(pp);
	certset_unref(s);
}

/* A rotation: the new certificate of a host is not ready (its secret is
 * being mounted); the line of another name serving that host stays until
 * it is, then goes after its grace.
 */
static void test_make_before_break(void **state)
{
	static const struct item_spec coming[] = { { "new", "shop.test", 0 } };
	static const struct item_spec ready[] = { { "new", "shop.test", 1 } };
	struct certset *s = make_set(coming, 1, 0, 1);
	struct pushplan *pp = pushplan_new();
	struct pushplan_out out;
	struct haproxy h;
	const char *old = CERTSET_PREFIX "old/1.pem";

	(void)state;
	fresh(&h);
	add_line(&h, old, "shop.test");
	add_store(&h, old);
	plan(pp, s, &h, NOW, &out);
	pushplan_release(&out);
	plan(pp, s, &h, NOW + 10 * GRACE, &out);
	assert_int_equal(out.nops, 0);
	pushplan_release(&out);
	certset_unref(s);

	s = make_set(ready, 1, 0, 1);
	plan(pp, s, &h, NOW + 11 * GRACE, &out);
	assert_int_equal(out.nops, 1);
	assert_int_equal(out.ops[0].kind, PUSHOP_PUSH);
	pushplan_release(&out);
	/* its grace starts when it stops serving a host still coming */
	add_line(&h, s->items[0].path, "shop.test");
	plan(pp, s, &h, NOW + 12 * GRACE - 1, &out);
	assert_int_equal(out.nops, 0);
	pushplan_release(&out);
	plan(pp, s, &h, NOW + 12 * GRACE, &out);
	assert_int_equal(ops_on(&out, PUSHOP_DEL_ENTRY, old), 1);
	assert_int_equal(ops_on(&out, PUSHOP_DEL_STORE, old), 1);
	pushplan_release(&out);
	pushplan_free(pp);
	certset_unref(s);
}

/* A line wanted again before its grace ended is forgotten: its grace
 * starts over the next time it is unwanted.
 */
static void test_wanted_again(void **state)
{
	static const struct item_spec spec[] = { { "a", "a.test", 1 } };
	struct certset *with = make_set(spec, 1, 0, 1), *without = make_set(NULL, 0, 0, 1);
	struct pushplan *pp = pushplan_new();
	struct pushplan_out out;
	struct haproxy h;

	(void)state;
	fresh(&h);
	add_line(&h, with->items[0].path, "a.test");
	add_store(&h, with->items[0].path);
	plan(pp, without, &h, NOW, &out);
	pushplan_release(&out);
	plan(pp, with, &h, NOW + GRACE / 2, &out);
	assert_int_equal(out.nops, 0);
	pushplan_release(&out);
	plan(pp, without, &h, NOW + GRACE, &out);
	assert_int_equal(out.nops, 0);
	assert_int_equal(out.grace_due_ms, NOW + 2 * GRACE);
	pushplan_release(&out);
	pushplan_free(pp);
	certset_unref(with);
	certset_unref(without);
}

/* Past 64 records forgotten in one plan, the records of lines still
 * unwanted must keep their start: 70 lines of one name went away (another
 * agent removed them) while 10 of another are still waiting. They go when
 * their grace, started at the first plan, ends.
 */
static void test_many_forgotten_keep_the_rest(void **state)
{
	struct certset *s = make_set(NULL, 0, 0, 1);
	struct pushplan *pp = pushplan_new();
	struct pushplan_out out;
	struct haproxy h;

	(void)state;
	fresh(&h);
	for (unsigned i = 0; i < 70; i++)
		add_line(&h, keep_name(&h, CERTSET_PREFIX "gone%u/%u.pem", i), "g.test");
	for (unsigned i = 0; i < 10; i++)
		add_line(&h, keep_name(&h, CERTSET_PREFIX "stay%u/%u.pem", i), "s.test");
	plan(pp, s, &h, NOW, &out);
	assert_int_equal(out.nops, 0);
	pushplan_release(&out);
	/* the 70 are gone from HAProxy; the 10 stay */
	memmove(&h.entries[1], &h.entries[71], 10 * sizeof(h.entries[0]));
	h.nentries = 11;
	plan(pp, s, &h, NOW + GRACE / 2, &out);
	assert_int_equal(out.nops, 0);
	pushplan_release(&out);
	plan(pp, s, &h, NOW + GRACE, &out);
	assert_int_equal(ops_of(&out, PUSHOP_DEL_ENTRY), 10);
	pushplan_release(&out);
	pushplan_free(pp);
	certset_unref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_pushes),
		cmocka_unit_test(test_served_and_filters),
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_unknown_removed_after_grace),
		cmocka_unit_test(test_nothing_removed_without_knowing),
		cmocka_unit_test(test_make_before_break),
		cmocka_unit_test(test_wanted_again),
		cmocka_unit_test(test_many_forgotten_keep_the_rest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
