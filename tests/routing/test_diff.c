/* Differences between two tables (routing/rtable_diff.c): the events the
 * agent logs when it publishes a table. A missed event hides a change
 * from the operator; a spurious one floods the log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "routing/model.h"
#include "routing/rtable.h"
#include "tests/routing/fixture.h"

struct events {
	int n;
	char line[32][256];
};

static void collect(void *arg, const char *what, const char *service, const char *detail)
{
	struct events *e = arg;

	if (e->n < 32)
		snprintf(e->line[e->n], sizeof(e->line[0]), "%s|%s|%s", what, service, detail ? detail : "");
	e->n++;
}

static int has(const struct events *e, const char *line)
{
	for (int i = 0; i < e->n && i < 32; i++)
		if (strcmp(e->line[i], line) == 0)
			return 1;
	return 0;
}

#define assert_event(e, l) do {							\
		if (!has((e), (l))) {							\
			for (int i_ = 0; i_ < (e)->n; i_++)				\
				fprintf(stderr, "  event: %s\n", (e)->line[i_]);	\
			fail_msg("missing event %s", (l));				\
		}									\
	} while (0)

static struct model *base(void)
{
	struct model *m = fx_model();
	struct model_service *s = fx_service(m, "web", 1, "lb.hosts=a.example", "lb.port=80", NULL);

	fx_task(m, s, "web.1", "10.0.0.1", 0, NULL);
	fx_task(m, s, "web.2", "10.0.0.2", 0, NULL);
	fx_service(m, "db", 2, NULL);
	return m;
}

static void diff(struct model *before, struct model *after, struct events *e)
{
	struct rtable *a = before ? fx_build(before, 1, NULL) : NULL;
	struct rtable *b = fx_build(after, 1, NULL);

	memset(e, 0, sizeof(*e));
	rtable_diff(a, b, collect, e);
	rtable_free(a);
	rtable_free(b);
}

static void test_first_table(void **state)
{
	struct model *m = base();
	struct events e;

	(void)state;
	diff(NULL, m, &e);
	assert_int_equal(e.n, 2);
	assert_event(&e, "service added|web|routed, 2/2 tasks ready, hosts a.example");
	assert_event(&e, "service added|db|not routed");
	model_free(m);
}

static void test_no_change_no_event(void **state)
{
	struct model *a = base(), *b = base();
	struct events e;

	(void)state;
	diff(a, b, &e);
	assert_int_equal(e.n, 0);
	model_free(a);
	model_free(b);
}

static void test_tasks(void **state)
{
	struct model *a = base(), *b = base();
	struct model_service *s = &b->svcs[0];
	struct events e;

	(void)state;
	s->tasks[0].health = MODEL_HEALTH_UNHEALTHY;     /* web.1 unready */
	s->tasks[1].id = "web.3";                         /* web.2 gone, web.3 new */
	diff(a, b, &e);
	assert_int_equal(e.n, 3);
	assert_event(&e, "task unready|web|web.1 (unhealthy)");
	assert_event(&e, "task removed|web|web.2 10.0.0.2:80 ready");
	assert_event(&e, "task added|web|web.3 10.0.0.2:80 ready");

	diff(b, a, &e);
	assert_event(&e, "task ready|web|web.1 10.0.0.1:80 ready");
	model_free(a);
	model_free(b);
}

static void test_services(void **state)
{
	struct model *a = base(), *b = base();
	struct events e;

	(void)state;
	/* web gets a bad label, db disappears, api appears skipped */
	fx_label(b, &b->svcs[0], "com.docker.lb.port", "eighty");
	b->svcs[1].id = b->svcs[1].name = "api";
	fx_label(b, &b->svcs[1], "com.docker.lb.hosts", "x_y");
	diff(a, b, &e);
	assert_event(&e, "service skipped|web|com.docker.lb.port: \"eighty\" is not a port number (1-65535)");
	assert_event(&e, "service removed|db|not routed");
	assert_event(&e, "service added|api|skipped: com.docker.lb.hosts: \"x_y\" is not a valid host name: "
		     "invalid character '_' in host name");
	assert_event(&e, "service skipped|api|com.docker.lb.hosts: \"x_y\" is not a valid host name: "
		     "invalid character '_' in host name");

	/* and back: web recovers */
	diff(b, a, &e);
	assert_event(&e, "service recovered|web|routed, 2/2 tasks ready, hosts a.example");
	assert_event(&e, "service removed|api|skipped: com.docker.lb.hosts: \"x_y\" is not a valid host name: "
		     "invalid character '_' in host name");
	assert_event(&e, "service added|db|not routed");
	model_free(a);
	model_free(b);
}

/* A service that starts or stops being ours is reported once. */
static void test_routed_unrouted(void **state)
{
	struct model *a = base(), *b = base();
	struct events e;

	(void)state;
	fx_label(b, &b->svcs[1], "com.docker.lb.hosts", "db.example");
	fx_label(b, &b->svcs[1], "com.docker.lb.port", "5432");
	diff(a, b, &e);
	assert_int_equal(e.n, 1);
	assert_event(&e, "service routed|db|routed, 0/0 tasks ready, hosts db.example");
	diff(b, a, &e);
	assert_int_equal(e.n, 1);
	assert_event(&e, "service unrouted|db|not routed");
	model_free(a);
	model_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_table),
		cmocka_unit_test(test_no_change_no_event),
		cmocka_unit_test(test_tasks),
		cmocka_unit_test(test_services),
		cmocka_unit_test(test_routed_unrouted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
