/* Which networks routed services name (netmgr/netuse.c): users counted
 * per network, the label read as routing reads it, a network no longer
 * named idle from then on and forgotten once idle long enough, and only
 * networks the labels name (not the one a service's tasks happen to be
 * on).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "netmgr/netuse.h"
#include "routing/model.h"
#include "routing/rtable.h"
#include "tests/routing/fixture.h"

/* Services a and b of stack app naming app_net (a with blanks around
 * it), c naming none, its tasks on network "inferred"; or c alone. With
 * <others>, also d of stack evil and e of no stack naming app_net: uses
 * are per owner, since each owner may or may not have the proxy join it.
 */
static struct rtable *table_of(int named, int others)
{
	struct model *m = fx_model();
	struct rtable *t;

	if (named) {
		fx_service(m, "a", 0, "lb.hosts=a.test", "lb.port=80", "lb.network= app_net ",
			   NULL)->stack = "app";
		fx_service(m, "b", 0, "lb.hosts=b.test", "lb.port=80", "lb.network=app_net",
			   NULL)->stack = "app";
	}
	if (others) {
		fx_service(m, "d", 0, "lb.hosts=d.test", "lb.port=80", "lb.network=app_net",
			   NULL)->stack = "evil";
		fx_service(m, "e", 0, "lb.hosts=e.test", "lb.port=80", "lb.network=app_net", NULL);
	}
	fx_service(m, "c", 0, "lb.hosts=c.test", "lb.port=80", NULL);
	for (size_t i = 0; i < m->nsvcs; i++)
		fx_task(m, &m->svcs[i], m->svcs[i].name, "10.0.0.5", 0,
			i + 1 == m->nsvcs ? "inferred" : "app_net");
	t = fx_build(m, 1, NULL);
	model_free(m);
	return t;
}

static struct rtable *table(int named)
{
	return table_of(named, 0);
}

static void test_follow(void **state)
{
	struct rtable *t1 = table(1), *t2 = table(0);
	struct netuse *uses = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(netuse_follow(&uses, &n, t1, 1000, 5000), 1);
	assert_int_equal(n, 1);
	assert_string_equal(uses[0].network, "app_net");
	assert_int_equal(uses[0].users, 2);
	assert_string_equal(uses[0].services, "a,b");
	assert_ptr_equal(netuse_find(uses, n, "app_net", NULL, NULL), &uses[0]);
	assert_ptr_equal(netuse_find(uses, n, "other", "app_net", NULL), &uses[0]);
	assert_null(netuse_find(uses, n, "inferred", NULL, NULL));
	/* the same table: nothing changed */
	assert_int_equal(netuse_follow(&uses, &n, t1, 2000, 5000), 0);
	/* no longer named: idle from now on, not a user any more */
	assert_int_equal(netuse_follow(&uses, &n, t2, 3000, 5000), 1);
	assert_int_equal(n, 1);
	assert_int_equal(uses[0].users, 0);
	assert_int_equal(uses[0].idle_since_ms, 3000);
	assert_null(netuse_find(uses, n, "app_net", NULL, NULL));
	assert_int_equal(netuse_follow(&uses, &n, t2, 8000, 5000), 0);
	assert_int_equal(n, 1);
	/* forgotten once idle for longer */
	assert_int_equal(netuse_follow(&uses, &n, t2, 8001, 5000), 0);
	assert_int_equal(n, 0);
	/* named again */
	assert_int_equal(netuse_follow(&uses, &n, t1, 9000, 5000), 1);
	assert_int_equal(uses[0].idle_since_ms, 0);
	netuse_free(uses, n);
	rtable_free(t1);
	rtable_free(t2);
}

/* One use per owner naming a network, with the owner's stack. */
static void test_owners(void **state)
{
	struct rtable *t = table_of(1, 1);
	struct netuse *uses = NULL;
	const struct netuse *u;
	size_t n = 0;

	(void)state;
	assert_int_equal(netuse_follow(&uses, &n, t, 1000, 5000), 1);
	assert_int_equal(n, 3);
	u = netuse_find(uses, n, "app_net", NULL, "app");
	assert_non_null(u);
	assert_int_equal(u->users, 2);
	assert_string_equal(u->stack, "app");
	assert_string_equal(u->services, "a,b");
	u = netuse_find(uses, n, "app_net", NULL, "evil");
	assert_non_null(u);
	assert_int_equal(u->users, 1);
	assert_string_equal(u->stack, "evil");
	/* the fixture's model is the routes file's: outside a stack, e's
	 * owner is the file */
	u = netuse_find(uses, n, "app_net", NULL, "file:routes");
	assert_non_null(u);
	assert_null(u->stack);
	assert_string_equal(u->services, "e");
	assert_null(netuse_find(uses, n, "app_net", NULL, "nobody"));
	/* the others gone: their uses idle, app's stays */
	rtable_free(t);
	t = table_of(1, 0);
	assert_int_equal(netuse_follow(&uses, &n, t, 2000, 5000), 1);
	assert_int_equal(n, 3);
	assert_null(netuse_find(uses, n, "app_net", NULL, "evil"));
	assert_int_equal(netuse_find(uses, n, "app_net", NULL, "app")->users, 2);
	netuse_free(uses, n);
	rtable_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_follow),
		cmocka_unit_test(test_owners),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
