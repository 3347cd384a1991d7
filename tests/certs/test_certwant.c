/* Which certificates a routing table asks for (certs/certwant.c): one
 * identity per certificate and key pair, the hosts of all its services
 * merged, TLS passthrough services left out, names that are not Docker
 * names flagged (never used as paths), and a digest that ignores what
 * does not matter to certificates (tasks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "certs/certident.h"
#include "certs/certwant.h"
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

static void free_idents(struct certident *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		certident_clear(&ids[i]);
	free(ids);
}

#define SVC(name, labels, task) \
	"{\"name\":\"" name "\",\"labels\":{\"com.docker.lb.port\":\"80\"," labels "}," \
	"\"tasks\":[{\"id\":\"" task "\",\"address\":\"10.0.0.5\"}]}"

static const char four[] = "{\"services\":["
	SVC("shop", "\"com.docker.lb.hosts\":\"www.shop.test,Shop.test\","
	    "\"com.docker.lb.ssl_cert\":\"shop_cert\",\"com.docker.lb.ssl_key\":\"shop_key\"", "t1") ","
	SVC("shop-api", "\"com.docker.lb.hosts\":\"api.shop.test,shop.test\","
	    "\"com.docker.lb.ssl_cert\":\"shop_cert\",\"com.docker.lb.ssl_key\":\"shop_key\"", "t2") ","
	SVC("blog", "\"com.docker.lb.hosts\":\"blog.test\",\"com.docker.lb.ssl_cert\":\"blog_pem\","
	    "\"com.docker.lb.ssl_key\":\"blog_pem\"", "t3") ","
	SVC("pass", "\"com.docker.lb.hosts\":\"pass.test\",\"com.docker.lb.ssl_cert\":\"pass_cert\","
	    "\"com.docker.lb.ssl_passthrough\":\"true\"", "t4") ","
	SVC("plain", "\"com.docker.lb.hosts\":\"plain.test\"", "t5") "]}";

/* Two services sharing a pair make one identity with both's hosts; a
 * certificate that holds its key is named by it alone; passthrough and
 * plain services ask for nothing.
 */
static void test_idents(void **state)
{
	struct rtable *t = table(four);
	struct certident *ids;
	size_t n;

	(void)state;
	assert_int_equal(certwant_idents(t, &ids, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ids[0].name, "blog_pem");
	assert_string_equal(ids[0].cert, "blog_pem");
	assert_null(ids[0].key);
	assert_string_equal(ids[0].filters, "blog.test");
	assert_string_equal(ids[0].services, "blog");
	assert_string_equal(ids[1].name, "shop_cert+shop_key");
	assert_string_equal(ids[1].key, "shop_key");
	assert_string_equal(ids[1].filters, "api.shop.test shop.test www.shop.test");
	assert_string_equal(ids[1].services, "shop, shop-api");
	assert_null(ids[1].bad_name);
	assert_int_equal(ids[1].state, CERTIDENT_LOADING);
	free_idents(ids, n);
	rtable_free(t);
}

/* A name that could be a path is flagged and shown flattened. */
static void test_bad_name(void **state)
{
	static const char json[] = "{\"services\":["
		SVC("evil", "\"com.docker.lb.hosts\":\"evil.test\","
		    "\"com.docker.lb.ssl_cert\":\"..\\/x\"", "t1") "]}";
	struct rtable *t = table(json);
	struct certident *ids;
	size_t n;

	(void)state;
	assert_int_equal(certwant_idents(t, &ids, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0].bad_name, "../x");
	assert_string_equal(ids[0].name, ".._x");
	free_idents(ids, n);
	rtable_free(t);
}

/* Tasks do not change the digest; hosts, names and passthrough do. */
static void test_hash(void **state)
{
	static const char moved[] = "{\"services\":["
		SVC("blog", "\"com.docker.lb.hosts\":\"blog.test\",\"com.docker.lb.ssl_cert\":"
		    "\"blog_pem\"", "t9") "]}";
	static const char base[] = "{\"services\":["
		SVC("blog", "\"com.docker.lb.hosts\":\"blog.test\",\"com.docker.lb.ssl_cert\":"
		    "\"blog_pem\"", "t1") "]}";
	static const char hosts[] = "{\"services\":["
		SVC("blog", "\"com.docker.lb.hosts\":\"blog.test,www.blog.test\","
		    "\"com.docker.lb.ssl_cert\":\"blog_pem\"", "t1") "]}";
	static const char pass[] = "{\"services\":["
		SVC("blog", "\"com.docker.lb.hosts\":\"blog.test\",\"com.docker.lb.ssl_cert\":"
		    "\"blog_pem\",\"com.docker.lb.ssl_passthrough\":\"true\"", "t1") "]}";
	struct rtable *t[4] = { table(base), table(moved), table(hosts), table(pass) };

	(void)state;
	assert_true(certwant_hash(t[0]) == certwant_hash(t[1]));
	assert_true(certwant_hash(t[0]) != certwant_hash(t[2]));
	assert_true(certwant_hash(t[0]) != certwant_hash(t[3]));
	for (int i = 0; i < 4; i++)
		rtable_free(t[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idents),
		cmocka_unit_test(test_bad_name),
		cmocka_unit_test(test_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
