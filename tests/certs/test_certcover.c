/* Which hosts a certificate may be served for (certs/certcover.c, and its
 * use by certs/certident.c). Guards against a service attaching a
 * certificate to a host it was not issued for: before the check, the
 * certificate was pushed with an SNI filter for every host of the service,
 * whatever its names, and HAProxy served it there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "certs/certcover.h"
#include "certs/certident.h"
#include "certs/certset.h"
#include "common/arena.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "tests/certs/fixture.h"

static int covers(const char *pattern, const char *host)
{
	return certcover_name(pattern, strlen(pattern), host, strlen(host));
}

/* RFC 6125 as TLS clients apply it: exact names without case, one label
 * under a wildcard, nothing else. */
static void test_name(void **state)
{
	(void)state;
	assert_true(covers("shop.example.com", "shop.example.com"));
	assert_true(covers("Shop.EXAMPLE.com", "shop.example.com"));
	assert_true(covers("shop.example.com.", "shop.example.com"));
	assert_false(covers("shop.example.com", "www.shop.example.com"));
	assert_false(covers("shop.example.com", "hop.example.com"));
	assert_false(covers("shop.example.com", "shop.example.co"));
	/* a wildcard: exactly one label */
	assert_true(covers("*.example.com", "a.example.com"));
	assert_true(covers("*.Example.COM", "a.example.com"));
	assert_false(covers("*.example.com", "example.com"));
	assert_false(covers("*.example.com", "a.b.example.com"));
	assert_false(covers("*.example.com", ".example.com"));
	assert_false(covers("*.example.com", "a.example.org"));
	assert_false(covers("*.example.com", "aexample.com"));
	/* a wildcard route is covered by the same wildcard only */
	assert_true(covers("*.example.com", "*.example.com"));
	assert_false(covers("a.example.com", "*.example.com"));
	assert_false(covers("*.example.com", "*.a.example.com"));
	/* wildcards clients do not agree on cover nothing */
	assert_false(covers("*.com", "example.com"));
	assert_false(covers("*", "example"));
	assert_false(covers("f*.example.com", "foo.example.com"));
	assert_false(covers("a.*.example.com", "a.b.example.com"));
	assert_false(covers("**.example.com", "a.example.com"));
	assert_false(covers("*.*.example.com", "a.b.example.com"));
	assert_false(covers("*example.com", "aexample.com"));
	assert_false(covers("", "example.com"));
	assert_false(covers("example.com", ""));
	assert_false(covers(".", "example.com"));
	/* IDNs compare in their A-label form, as routing normalises hosts */
	assert_true(covers("xn--bcher-kva.example", "xn--bcher-kva.example"));
	assert_true(covers("*.xn--bcher-kva.example", "xn--caf-dma.xn--bcher-kva.example"));
	assert_false(covers("b\xc3\xbc" "cher.example", "xn--bcher-kva.example"));
}

/* A NUL inside a name (a crafted certificate) ends nothing early. */
static void test_name_with_nul(void **state)
{
	static const char pat[] = "shop.example.com\0.evil.test";

	(void)state;
	assert_false(certcover_name(pat, sizeof(pat) - 1, "shop.example.com", 16));
}

static void leaf(struct x509_info *x, const char *dns, unsigned ndns, const char *cn)
{
	memset(x, 0, sizeof(*x));
	snprintf(x->dns, sizeof(x->dns), "%s", dns);
	x->ndns = ndns;
	snprintf(x->cn, sizeof(x->cn), "%s", cn);
}

/* The DNS names decide; the common name only when there is none. */
static void test_host(void **state)
{
	struct x509_info x;

	(void)state;
	leaf(&x, "a.example,*.b.example", 2, "c.example");
	assert_true(certcover_host(&x, "a.example", 9));
	assert_true(certcover_host(&x, "x.b.example", 11));
	assert_false(certcover_host(&x, "c.example", 9));
	assert_false(certcover_host(&x, "b.example", 9));
	leaf(&x, "", 0, "c.example");
	assert_true(certcover_host(&x, "c.example", 9));
	assert_false(certcover_host(&x, "a.example", 9));
	leaf(&x, "", 0, "");
	assert_false(certcover_host(&x, "a.example", 9));
}

static void test_split(void **state)
{
	struct x509_info x;
	struct sbuf cov = SBUF_INIT, unc = SBUF_INIT;
	char names[64];

	(void)state;
	leaf(&x, "a.example,*.b.example", 2, "");
	assert_int_equal(certcover_split(&x, "a.example evil.test x.b.example y.x.b.example",
					 &cov, &unc), 2);
	assert_string_equal(cov.buf, "a.example x.b.example");
	assert_string_equal(unc.buf, "evil.test y.x.b.example");
	sbuf_free(&cov);
	sbuf_free(&unc);
	assert_int_equal(certcover_split(&x, "", &cov, &unc), 0);
	assert_int_equal(cov.len + unc.len, 0);
	assert_string_equal(certcover_names(&x, names, sizeof(names)), "a.example,*.b.example");
	leaf(&x, "a.example", 3, "");
	assert_string_equal(certcover_names(&x, names, sizeof(names)), "a.example and 2 more");
	leaf(&x, "", 0, "c.example");
	assert_string_equal(certcover_names(&x, names, sizeof(names)), "CN=c.example");
}

/* An identity of FX_CERT_SAN for <hosts> (NULL: the default certificate). */
static void ident(struct certident *id, const char *hosts)
{
	struct sbuf pem = SBUF_INIT;

	memset(id, 0, sizeof(*id));
	id->name = strdup("shop_cert");
	id->cert = strdup("shop_cert");
	id->filters = hosts ? strdup(hosts) : NULL;
	id->services = strdup("shop_web");
	sbuf_puts(&pem, FX_CERT_SAN FX_KEY);
	certident_build(id, &pem, NULL, 1, 0);
	sbuf_free(&pem);
}

/* The hosts it covers are served, the others left out with a reason;
 * the SNI filters pushed to HAProxy are the covered hosts only. */
static void test_ident_some_hosts(void **state)
{
	struct certident id;
	struct certset_item it;
	struct arena *a = arena_new(4096);

	(void)state;
	ident(&id, "bank.example evil.b.example shop.example xn--bcher-kva.example");
	assert_int_equal(id.state, CERTIDENT_READY);
	assert_string_equal(id.served, "evil.b.example shop.example xn--bcher-kva.example");
	assert_non_null(strstr(id.reason, "not served for bank.example: not covered by its names "
			       "(Shop.Example,*.b.example,xn--bcher-kva.example)"));
	memset(&it, 0, sizeof(it));
	assert_int_equal(certident_fill_item(&id, a, &it), 0);
	assert_true(it.ready);
	assert_string_equal(it.filters, "evil.b.example shop.example xn--bcher-kva.example");
	/* material that cannot be read now: what serves its hosts stays */
	id.state = CERTIDENT_MISSING;
	memset(&it, 0, sizeof(it));
	assert_int_equal(certident_fill_item(&id, a, &it), 0);
	assert_false(it.ready);
	assert_false(it.drop);
	assert_string_equal(it.filters, "bank.example evil.b.example shop.example "
			    "xn--bcher-kva.example");
	certident_clear(&id);
	arena_free(a);
}

/* None covered: refused with its reason, and whatever HAProxy holds
 * under its name goes. Hosts it covers later make it ready again, with
 * the same material. */
static void test_ident_no_host(void **state)
{
	struct certident id;
	struct certset_item it;
	struct arena *a = arena_new(4096);
	struct sbuf pem = SBUF_INIT;

	(void)state;
	ident(&id, "bank.example b.example a.x.b.example");
	assert_int_equal(id.state, CERTIDENT_REFUSED);
	assert_string_equal(id.reason, "covers none of its hosts (bank.example b.example "
			    "a.x.b.example): its names are Shop.Example,*.b.example,"
			    "xn--bcher-kva.example");
	assert_null(id.served);
	memset(&it, 0, sizeof(it));
	assert_int_equal(certident_fill_item(&id, a, &it), 0);
	assert_false(it.ready);
	assert_true(it.drop);
	assert_string_equal(it.filters, "");

	free(id.filters);
	id.filters = strdup("shop.example");
	/* what certident_evaluate() does for an identity refused for its hosts */
	id.state = CERTIDENT_READY;
	sbuf_puts(&pem, FX_CERT_SAN FX_KEY);
	certident_build(&id, &pem, NULL, 1, 0);
	assert_int_equal(id.state, CERTIDENT_READY);
	assert_string_equal(id.served, "shop.example");
	assert_string_equal(id.reason, "");
	sbuf_free(&pem);
	certident_clear(&id);

	/* a service with no host: nothing to serve it for */
	ident(&id, "");
	assert_int_equal(id.state, CERTIDENT_REFUSED);
	assert_non_null(strstr(id.reason, "name no host"));
	certident_clear(&id);
	arena_free(a);
}

/* The default certificate has no hosts: served for unknown names. */
static void test_ident_default(void **state)
{
	struct certident id;

	(void)state;
	ident(&id, NULL);
	assert_int_equal(id.state, CERTIDENT_READY);
	assert_string_equal(id.reason, "");
	certident_clear(&id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_name_with_nul),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_ident_some_hosts),
		cmocka_unit_test(test_ident_no_host),
		cmocka_unit_test(test_ident_default),
	};

	log_set_level(LL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
