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
#include "routing/rtable.h"
#include "tests/routing/fixture.h"

/* A table of the services of <m>, each with one task (<task>). */
static struct rtable *table(struct model *m, const char *task)
{
	struct rtable *t;

	for (size_t i = 0; i < m->nsvcs; i++)
		fx_task(m, &m->svcs[i], task, "10.0.0.5", 0, NULL);
	t = fx_build(m, 1, NULL);
	model_free(m);
	return t;
}

static void free_idents(struct certident *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		certident_clear(&ids[i]);
	free(ids);
}

/* Two services sharing a pair make one identity with both's hosts; a
 * certificate that holds its key is named by it alone; passthrough and
 * plain services ask for nothing.
 */
static void test_idents(void **state)
{
	struct model *m = fx_model();
	struct rtable *t;
	struct certident *ids;
	size_t n;

	(void)state;
	fx_service(m, "shop", 0, "lb.hosts=www.shop.test,Shop.test", "lb.port=80",
		   "lb.ssl_cert=shop_cert", "lb.ssl_key=shop_key", NULL);
	fx_service(m, "shop-api", 0, "lb.hosts=api.shop.test,shop.test", "lb.port=80",
		   "lb.ssl_cert=shop_cert", "lb.ssl_key=shop_key", NULL);
	fx_service(m, "blog", 0, "lb.hosts=blog.test", "lb.port=80", "lb.ssl_cert=blog_pem",
		   "lb.ssl_key=blog_pem", NULL);
	fx_service(m, "pass", 0, "lb.hosts=pass.test", "lb.port=80", "lb.ssl_cert=pass_cert",
		   "lb.ssl_passthrough=true", NULL);
	fx_service(m, "plain", 0, "lb.hosts=plain.test", "lb.port=80", NULL);
	t = table(m, "t1");
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
	assert_null(ids[1].bad_reason);
	assert_int_equal(ids[1].state, CERTIDENT_LOADING);
	free_idents(ids, n);
	rtable_free(t);
}

/* A name that could be a path is flagged and shown flattened. */
static void test_bad_name(void **state)
{
	struct model *m = fx_model();
	struct rtable *t;
	struct certident *ids;
	size_t n;

	(void)state;
	fx_service(m, "evil", 0, "lb.hosts=evil.test", "lb.port=80", "lb.ssl_cert=../x", NULL);
	t = table(m, "t1");
	assert_int_equal(certwant_idents(t, &ids, &n), 0);
	assert_int_equal(n, 1);
	assert_non_null(strstr(ids[0].bad_reason, "\"../x\" is not a Docker secret or config name"));
	assert_string_equal(ids[0].name, ".._x");
	free_idents(ids, n);
	rtable_free(t);
}

/* A label names one kind of object: "secret:x" and "x" are the same
 * certificate, "config:x" another one; an unknown kind is refused with
 * its reason, never looked for.
 */
static void test_kinds(void **state)
{
	struct model *m = fx_model();
	struct rtable *t;
	struct certident *ids;
	size_t n;

	(void)state;
	fx_service(m, "a", 0, "lb.hosts=a.test", "lb.port=80", "lb.ssl_cert=shop_cert",
		   "lb.ssl_key=secret:shop_cert", NULL);
	fx_service(m, "b", 0, "lb.hosts=b.test", "lb.port=80", "lb.ssl_cert=secret:shop_cert", NULL);
	fx_service(m, "c", 0, "lb.hosts=c.test", "lb.port=80", "lb.ssl_cert=config:shop_cert",
		   "lb.ssl_key=shop_key", NULL);
	fx_service(m, "d", 0, "lb.hosts=d.test", "lb.port=80", "lb.ssl_cert=volume:shop_cert", NULL);
	fx_service(m, "e", 0, "lb.hosts=e.test", "lb.port=80", "lb.ssl_cert=file:e.pem", NULL);
	t = table(m, "t1");
	assert_int_equal(certwant_idents(t, &ids, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(ids[0].name, "config:shop_cert+shop_key");
	assert_string_equal(ids[0].cert, "config:shop_cert");
	assert_string_equal(ids[0].key, "shop_key");
	assert_string_equal(ids[1].name, "file:e.pem");
	assert_string_equal(ids[2].name, "shop_cert");
	assert_null(ids[2].key);
	assert_string_equal(ids[2].filters, "a.test b.test");
	assert_string_equal(ids[3].name, "volume_shop_cert");
	assert_non_null(strstr(ids[3].bad_reason, "\"volume\" is not a kind of certificate source"));
	free_idents(ids, n);
	rtable_free(t);
}

/* A table of service blog with a certificate, <hosts>, <extra> label
 * (NULL: none) and its task <task>.
 */
static struct rtable *blog(const char *hosts, const char *extra, const char *task)
{
	struct model *m = fx_model();

	fx_service(m, "blog", 0, hosts, "lb.port=80", "lb.ssl_cert=blog_pem", extra, NULL);
	return table(m, task);
}

/* Tasks do not change the digest; hosts and passthrough do. */
static void test_hash(void **state)
{
	struct rtable *t[4] = {
		blog("lb.hosts=blog.test", NULL, "t1"),
		blog("lb.hosts=blog.test", NULL, "t9"),
		blog("lb.hosts=blog.test,www.blog.test", NULL, "t1"),
		blog("lb.hosts=blog.test", "lb.ssl_passthrough=true", "t1"),
	};

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
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
