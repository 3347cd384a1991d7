/* The table lifecycle's lifetime counters (routing/tables.c): the counts
 * of a service gone from the table are kept for TABLES_GONE_KEEP_MS, then
 * dropped, and never more than TABLES_GONE_MAX of them, so that memory
 * stays bounded while services come and go (they were kept forever).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/clock.h"
#include "common/log.h"
#include "routing/rtable.h"
#include "routing/snapshot.h"
#include "routing/tables.h"
#include "tests/routing/fixture.h"

/* A table with "web" and, unless NULL, service <name> (host <name>.test). */
static void publish(const char *name)
{
	struct model *m = fx_model();
	struct model_service *s = fx_service(m, "web", 1, "lb.hosts=web.test", "lb.port=80", NULL);
	char host[64];

	fx_task(m, s, "web.1", "10.0.0.1", 0, NULL);
	if (name) {
		snprintf(host, sizeof(host), "lb.hosts=%s.test", name);
		s = fx_service(m, name, 2, host, "lb.port=80", NULL);
		fx_task(m, s, "t.1", "10.0.0.2", 0, NULL);
	}
	assert_int_equal(tables_update("file", m), 0);
	/* No worker reads tables here: the replaced one is released at once.
	 * Not tables_reclaim(), whose own pruning runs on the real clock. */
	snapshot_reclaim();
}

static void route(const char *name)
{
	char host[64];
	struct route_answer a;

	snprintf(host, sizeof(host), "%s.test", name);
	a = fx_route(tables_current(), host, "/");
	assert_int_equal(a.action, ROUTE_FORWARD);
}

#define UNSET UINT64_MAX      /* a service not listed */

struct seen {
	const char *name;
	uint64_t forwarded;       /* of <name>, or UNSET when not listed */
	uint64_t total;           /* table-wide */
};

static void seen_cb(void *arg, const char *service, const struct rtable_counters *c)
{
	struct seen *s = arg;

	if (!service)
		s->total = c->forwarded;
	else if (strcmp(service, s->name) == 0)
		s->forwarded = c->forwarded;
}

static struct seen counted(const char *name)
{
	struct seen s = { name, UNSET, 0 };

	tables_counters(seen_cb, &s);
	return s;
}

static void test_gone_service_kept_then_dropped(void **state)
{
	int64_t t0;
	struct seen s;

	(void)state;
	publish("old");
	route("old");
	route("old");
	route("web");
	publish(NULL);              /* "old" is gone; its table released */
	t0 = clock_mono_ms();
	assert_int_equal(tables_prune(t0), 1);
	s = counted("old");
	assert_int_equal(s.forwarded, 2);
	assert_int_equal(tables_prune(t0 + TABLES_GONE_KEEP_MS - 2000), 1);
	assert_int_equal(counted("old").forwarded, 2);

	assert_int_equal(tables_prune(t0 + TABLES_GONE_KEEP_MS), 0);
	s = counted("old");
	assert_true(s.forwarded == UNSET);
	/* the table-wide total keeps what it counted */
	assert_int_equal(s.total, 3);
	/* a service still routed keeps its counts however old they are */
	publish(NULL);
	assert_int_equal(tables_prune(t0 + 100 * TABLES_GONE_KEEP_MS), 0);
	assert_int_equal(counted("web").forwarded, 1);
}

static void test_back_before_the_end_continues(void **state)
{
	int64_t t0 = clock_mono_ms();

	(void)state;
	publish("again");
	route("again");
	publish(NULL);
	assert_int_equal(tables_prune(t0), 1);
	publish("again");
	assert_int_equal(tables_prune(t0 + 1000), 0);
	route("again");
	/* back: it does not count as gone, however long it then stays */
	assert_int_equal(tables_prune(t0 + 2 * TABLES_GONE_KEEP_MS), 0);
	assert_int_equal(counted("again").forwarded, 2);
	publish(NULL);
	assert_int_equal(tables_prune(t0 + 2 * TABLES_GONE_KEEP_MS), 1);
}

/* A table with "web" and services <prefix>-<first>.. (<n> of them). */
static void publish_many(unsigned first, unsigned n)
{
	struct model *m = fx_model();
	struct model_service *s = fx_service(m, "web", 1, "lb.hosts=web.test", "lb.port=80", NULL);
	char name[32], host[64];

	fx_task(m, s, "web.1", "10.0.0.1", 0, NULL);
	for (unsigned i = first; i < first + n; i++) {
		snprintf(name, sizeof(name), "churn-%u", i);
		snprintf(host, sizeof(host), "lb.hosts=churn-%u.test", i);
		s = fx_service(m, name, 2, host, "lb.port=80", NULL);
		fx_task(m, s, "t.1", "10.0.0.2", 0, NULL);
	}
	assert_int_equal(tables_update("file", m), 0);
	snapshot_reclaim();
}

static void test_churn_stays_bounded(void **state)
{
	const unsigned batch = 60, rounds = (TABLES_GONE_MAX + 100) / 60 + 1;
	int64_t t0 = clock_mono_ms() + 3 * TABLES_GONE_KEEP_MS;
	size_t kept = 0;
	char name[32];

	(void)state;
	/* <batch> services at a time come, serve once and go */
	for (unsigned r = 0; r < rounds; r++) {
		publish_many(r * batch, batch);
		for (unsigned i = r * batch; i < (r + 1) * batch; i++) {
			snprintf(name, sizeof(name), "churn-%u", i);
			route(name);
		}
		publish(NULL);
		kept = tables_prune(t0 + r);
		assert_true(kept <= TABLES_GONE_MAX);
	}
	assert_int_equal(kept, TABLES_GONE_MAX);
	/* the first to go are the first dropped */
	assert_true(counted("churn-0").forwarded == UNSET);
	snprintf(name, sizeof(name), "churn-%u", batch - 1);
	assert_true(counted(name).forwarded == UNSET);
	snprintf(name, sizeof(name), "churn-%u", rounds * batch - 1);
	assert_int_equal(counted(name).forwarded, 1);
	snprintf(name, sizeof(name), "churn-%u", (rounds - 1) * batch);
	assert_int_equal(counted(name).forwarded, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gone_service_kept_then_dropped),
		cmocka_unit_test(test_back_before_the_end_continues),
		cmocka_unit_test(test_churn_stays_bounded),
	};
	struct rtable_build_opts bo = { .nworkers = 1, .service_cluster = NULL };
	int rc;

	log_set_level(LL_ERROR);
	tables_init(&bo);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	tables_shutdown();
	return rc;
}
