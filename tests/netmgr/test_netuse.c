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
#include "routing/routesfile.h"
#include "routing/rtable.h"

static struct rtable *table(const char *json)
{
	struct rtable_build_opts bo = { .nworkers = 1 };
	char err[256];
	struct model *m = routesfile_parse(json, strlen(json), err, sizeof(err));
	const struct model *mm[1] = { m };
	struct rtable *t;

	if (!m)
		fail_msg("%s", err);
	t = rtable_build(mm, 1, &bo);
	model_free(m);
	assert_non_null(t);
	return t;
}

#define SVC(name, host, net) \
	"{\"name\":\"" name "\",\"labels\":{\"com.docker.lb.hosts\":\"" host "\"," \
	"\"com.docker.lb.port\":\"80\"" net "},\"tasks\":[{\"id\":\"t-" name "\"," \
	"\"address\":\"10.0.0.5\",\"network\":\"inferred\"}]}"

static void test_follow(void **state)
{
	static const char named[] = "{\"services\":["
		SVC("a", "a.test", ",\"com.docker.lb.network\":\" app_net \"") ","
		SVC("b", "b.test", ",\"com.docker.lb.network\":\"app_net\"") ","
		SVC("c", "c.test", "") "]}";
	static const char none[] = "{\"services\":[" SVC("c", "c.test", "") "]}";
	struct rtable *t1 = table(named), *t2 = table(none);
	struct netuse *uses = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(netuse_follow(&uses, &n, t1, 1000, 5000), 1);
	assert_int_equal(n, 1);
	assert_string_equal(uses[0].network, "app_net");
	assert_int_equal(uses[0].users, 2);
	assert_string_equal(uses[0].services, "a,b");
	assert_ptr_equal(netuse_find(uses, n, "app_net", NULL), &uses[0]);
	assert_ptr_equal(netuse_find(uses, n, "other", "app_net"), &uses[0]);
	assert_null(netuse_find(uses, n, "inferred", NULL));
	/* the same table: nothing changed */
	assert_int_equal(netuse_follow(&uses, &n, t1, 2000, 5000), 0);
	/* no longer named: idle from now on, not a user any more */
	assert_int_equal(netuse_follow(&uses, &n, t2, 3000, 5000), 1);
	assert_int_equal(n, 1);
	assert_int_equal(uses[0].users, 0);
	assert_int_equal(uses[0].idle_since_ms, 3000);
	assert_null(netuse_find(uses, n, "app_net", NULL));
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_follow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
