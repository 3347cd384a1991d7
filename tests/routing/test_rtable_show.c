/* The listings in parts (rtable_show_*_part() in routing/rtable_show.c),
 * which the stats socket prints a few rows per loop turn. Guards that the
 * parts, whatever their size, put together are exactly the one-shot
 * output (same bytes, text columns aligned over the whole table, one
 * valid JSON document), that no part holds more rows than asked, and that
 * the header and the end of the document come once, in the right part.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/sbuf.h"
#include "routing/model.h"
#include "routing/rtable.h"
#include "tests/routing/fixture.h"

struct ctx {
	struct model *m;
	struct rtable *t;
	struct rtable *empty;
};

/* Every kind of row: a host with several paths, a route shared by two
 * weighted services (two text rows for one route), wildcards, sticky
 * sessions with certificates, a route without any task (503), unready
 * tasks, a skipped and an unrouted service, and names of every length so
 * that the columns are not all of the header's width.
 */
static int setup(void **state)
{
	static struct ctx c;
	struct model_service *s;
	struct model *none;

	c.m = fx_model();
	s = fx_service(c.m, "root", 1, "lb.hosts=site.example", "lb.port=80", NULL);
	fx_task(c.m, s, "root.1", "10.0.0.1", 0, NULL);
	s = fx_service(c.m, "application-with-a-long-name", 2, "lb.hosts=site.example",
		       "lb.port=8080", "lb.context_root=/app", "lb.context_root_rewrite=true", NULL);
	fx_task(c.m, s, "app.1", "10.0.1.1", 0, NULL);
	fx_task(c.m, s, "app.2", "10.0.1.2", 0, NULL);
	fx_task(c.m, s, "app.3", "10.0.1.3", 0, NULL)->health = MODEL_HEALTH_UNHEALTHY;
	s = fx_service(c.m, "stable", 3, "lb.hosts=canary.example", "lb.port=80", "lb.weight=90", NULL);
	fx_task(c.m, s, "stable.1", "10.0.2.1", 0, NULL);
	s = fx_service(c.m, "canary", 4, "lb.hosts=canary.example", "lb.port=80", "lb.weight=10", NULL);
	fx_task(c.m, s, "canary.1", "10.0.2.2", 0, NULL);
	s = fx_service(c.m, "w", 5, "lb.hosts=*.a-much-longer-wildcard-domain.example.org",
		       "lb.port=80", NULL);
	fx_task(c.m, s, "w.1", "10.0.3.1", 0, NULL);
	s = fx_service(c.m, "sticky", 6, "lb.hosts=sticky.example", "lb.port=80",
		       "lb.sticky_session_cookie=SRV", "lb.ssl_cert=sticky_cert",
		       "lb.ssl_key=sticky_key", NULL);
	fx_task(c.m, s, "sticky.1", "10.0.5.1", 0, NULL);
	fx_task(c.m, s, "sticky.2", "10.0.5.2", 0, NULL);
	fx_service(c.m, "idle", 7, "lb.hosts=idle.example", "lb.port=80", NULL);
	fx_service(c.m, "broken", 8, "lb.hosts=broken.example", "lb.port=99999", NULL);
	fx_service(c.m, "other", 9, NULL);
	c.t = fx_build(c.m, 2, NULL);
	none = fx_model();
	c.empty = fx_build(none, 1, NULL);
	model_free(none);
	*state = &c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	rtable_free(c->t);
	rtable_free(c->empty);
	model_free(c->m);
	return 0;
}

enum listing { ROUTES, SERVICES, TASKS };

static int part(enum listing l, const struct rtable *t, const char *service,
		struct rtable_show_cursor *cur, struct sbuf *out, int json, size_t max_rows)
{
	switch (l) {
	case ROUTES:
		return rtable_show_routes_part(t, cur, out, json, max_rows);
	case SERVICES:
		return rtable_show_services_part(t, cur, out, json, max_rows);
	default:
		return rtable_show_tasks_part(t, service, cur, out, json, max_rows);
	}
}

static void whole(enum listing l, const struct rtable *t, const char *service,
		  struct sbuf *out, int json)
{
	switch (l) {
	case ROUTES:
		rtable_show_routes(t, out, json);
		break;
	case SERVICES:
		rtable_show_services(t, out, json);
		break;
	default:
		assert_int_equal(rtable_show_tasks(t, service, out, json), 0);
		break;
	}
}

static size_t count_lines(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += s[i] == '\n';
	return n;
}

/* Prints listing <l> in parts of every size from 1 to past its length and
 * compares each result with the one-shot output. Returns the number of
 * parts of size 1.
 */
static size_t check_parts(enum listing l, const struct rtable *t, const char *service, int json)
{
	struct sbuf ref = SBUF_INIT, got = SBUF_INIT;
	size_t parts_of_one = 0;
	json_error_t err;
	json_t *root;

	whole(l, t, service, &ref, json);
	assert_false(ref.oom);
	if (json) {
		root = json_loads(ref.buf, 0, &err);
		if (!root)
			fail_msg("invalid JSON (%s): %s", err.text, ref.buf);
		json_decref(root);
	}
	for (size_t max = 1; max <= 40; max++) {
		struct rtable_show_cursor cur;
		size_t nparts = 0;
		int more;

		memset(&cur, 0, sizeof(cur));
		sbuf_reset(&got);
		do {
			size_t len0 = got.len;
			const char *added;

			more = part(l, t, service, &cur, &got, json, max);
			assert_true(more == 0 || more == 1);
			nparts++;
			assert_true(nparts < 1000);
			/* a first part may add nothing (the widths are measured
			 * first): the buffer may still be NULL */
			added = got.len > len0 ? got.buf + len0 : "";
			/* text: rows and at most the header; JSON: one line, at the end */
			if (json)
				assert_int_equal(count_lines(added, got.len - len0), !more);
			else
				assert_true(count_lines(added, got.len - len0) <= max + 1);
		} while (more);
		/* a finished listing stays finished */
		assert_int_equal(part(l, t, service, &cur, &got, json, max), 0);
		if (got.len != ref.len || memcmp(got.buf, ref.buf, ref.len) != 0)
			fail_msg("parts of %zu rows differ from the one-shot output:\n%s\n---\n%s",
				 max, got.buf ? got.buf : "", ref.buf);
		if (max == 1)
			parts_of_one = nparts;
	}
	sbuf_free(&ref);
	sbuf_free(&got);
	return parts_of_one;
}

static void test_routes_in_parts(void **state)
{
	struct ctx *c = *state;

	/* text: a pass to measure and one to print over 7 rows (a row per
	 * service of a route); the last row's part ends the listing */
	assert_int_equal(check_parts(ROUTES, c->t, NULL, 0), 2 * 7);
	/* JSON: a row per route (6), nothing to measure */
	assert_int_equal(check_parts(ROUTES, c->t, NULL, 1), 6);
	/* nothing to list: the header, or an empty array, in one part */
	assert_int_equal(check_parts(ROUTES, c->empty, NULL, 0), 1);
	assert_int_equal(check_parts(ROUTES, c->empty, NULL, 1), 1);
}

static void test_services_in_parts(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(rtable_service_count(c->t), 9);
	assert_int_equal(check_parts(SERVICES, c->t, NULL, 0), 2 * 9);
	assert_int_equal(check_parts(SERVICES, c->t, NULL, 1), 9);
	assert_int_equal(check_parts(SERVICES, c->empty, NULL, 0), 1);
	assert_int_equal(check_parts(SERVICES, c->empty, NULL, 1), 1);
}

static void test_tasks_in_parts(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(check_parts(TASKS, c->t, "application-with-a-long-name", 0), 2 * 3);
	assert_int_equal(check_parts(TASKS, c->t, "application-with-a-long-name", 1), 3);
	/* a service without tasks: the header, or an empty array */
	assert_int_equal(check_parts(TASKS, c->t, "idle", 0), 1);
	assert_int_equal(check_parts(TASKS, c->t, "broken", 1), 1);
}

static void test_unknown_service(void **state)
{
	struct ctx *c = *state;
	struct rtable_show_cursor cur;
	struct sbuf out = SBUF_INIT;

	for (int json = 0; json < 2; json++) {
		memset(&cur, 0, sizeof(cur));
		assert_int_equal(rtable_show_tasks_part(c->t, "nosuch", &cur, &out, json, 5), -1);
		assert_int_equal(out.len, 0);
	}
}

/* The text columns are measured over the whole table before the first row
 * is printed: a wide cell far down shifts the header too.
 */
static void test_text_aligned_across_parts(void **state)
{
	struct ctx *c = *state;
	struct rtable_show_cursor cur;
	struct sbuf out = SBUF_INIT;
	const char *line;
	size_t off;

	memset(&cur, 0, sizeof(cur));
	while (rtable_show_routes_part(c->t, &cur, &out, 0, 1))
		;
	off = (size_t)(strstr(out.buf, "PATH") - out.buf);
	assert_int_equal(off, strlen("*.a-much-longer-wildcard-domain.example.org  "));
	for (line = strchr(out.buf, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
		assert_true(line[off - 1] == ' ');
		assert_true(line[off] == '/' || line[off] == ' ');
	}
	assert_non_null(strstr(out.buf, "\ncanary.example"));
	/* the second service of a shared route: a row without host and path */
	assert_non_null(strstr(out.buf, "\n                                             "
					 "      canary "));
	sbuf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes_in_parts),
		cmocka_unit_test(test_services_in_parts),
		cmocka_unit_test(test_tasks_in_parts),
		cmocka_unit_test(test_unknown_service),
		cmocka_unit_test(test_text_aligned_across_parts),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
