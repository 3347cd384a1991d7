/* The operator's ownership policy file (routing/policy.c): what each rule
 * means, which host rule covers a name, and that a file with one bad line
 * is refused whole with the line named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "routing/policy.h"

static struct policy *pol(const char *text)
{
	char err[256] = "";
	struct policy *p = policy_parse(text, strlen(text), err, sizeof(err));

	if (!p)
		fail_msg("refused: %s", err);
	return p;
}

static void test_rules(void **state)
{
	struct policy *p = pol("# the operator's grants\r\n"
			       "\n"
			       "host  Shop.Example.com\tshop shop-canary\n"
			       "host *.shop.example.com shop   # every name under it\n"
			       "host *.example.com infra\n"
			       "host bücher.example bookshop\n"
			       "wildcard infra service:edge\n"
			       "default_backend\n"
			       "secret shop_* shop\n"
			       "secret tls.pem *\n"
			       "secrets own-stack");
	const struct policy_host *h;
	const struct policy_secret *s;

	(void)state;
	assert_int_equal(p->nhosts, 4);
	h = policy_host_rule(p, "shop.example.com");
	assert_non_null(h);
	assert_int_equal(h->line, 3);
	assert_true(policy_owner_in(&h->owners, "shop-canary"));
	assert_false(policy_owner_in(&h->owners, "evil"));
	/* the most specific domain covers names and wildcards under it */
	assert_int_equal(policy_host_rule(p, "a.b.shop.example.com")->line, 4);
	assert_int_equal(policy_host_rule(p, "*.shop.example.com")->line, 4);
	assert_int_equal(policy_host_rule(p, "*.x.shop.example.com")->line, 4);
	assert_int_equal(policy_host_rule(p, "api.example.com")->line, 5);
	assert_int_equal(policy_host_rule(p, "*.example.com")->line, 5);
	/* a domain pattern does not cover the domain itself */
	assert_null(policy_host_rule(p, "example.com"));
	assert_null(policy_host_rule(p, "example.org"));
	assert_int_equal(policy_host_rule(p, "xn--bcher-kva.example")->line, 6);
	assert_true(p->wildcard_set);
	assert_true(policy_owner_in(&p->wildcard, "service:edge"));
	assert_false(policy_owner_in(&p->wildcard, "edge"));
	/* "default_backend" with nobody: nobody may */
	assert_true(p->default_set);
	assert_int_equal(p->deflt.n, 0);
	assert_false(policy_owner_in(&p->deflt, "infra"));
	s = policy_secret_rule(p, "shop_cert");
	assert_non_null(s);
	assert_int_equal(s->line, 9);
	assert_null(policy_secret_rule(p, "shop"));
	s = policy_secret_rule(p, "tls.pem");
	assert_true(policy_owner_in(&s->owners, "anyone"));
	assert_null(policy_secret_rule(p, "tls.pem2"));
	assert_true(p->secrets_own_stack);
	policy_free(p);

	p = pol("");
	assert_int_equal(p->nhosts, 0);
	assert_int_equal(p->nnetworks, 0);
	assert_null(policy_network_rule(p, "shop_net"));
	assert_false(p->wildcard_set);
	assert_null(policy_host_rule(p, "a.example.com"));
	policy_free(p);
}

/* "network" rules: who the proxy may join a network for. */
static void test_network_rules(void **state)
{
	struct policy *p = pol("# shared networks\n"
			       "network shared-apps *\n"
			       "network bank_* bank bank-canary\n"
			       "network bank_public shop\n"
			       "network\tedge_net  service:edge   # one service\n");
	const struct policy_network *r;

	(void)state;
	assert_int_equal(p->nnetworks, 4);
	r = policy_network_rule(p, "shared-apps");
	assert_non_null(r);
	assert_int_equal(r->line, 2);
	assert_true(policy_owner_in(&r->owners, "anyone"));
	assert_null(policy_network_rule(p, "shared-apps2"));
	assert_null(policy_network_rule(p, "shared"));
	/* in file order: the prefix of line 3 shadows line 4 */
	r = policy_network_rule(p, "bank_public");
	assert_int_equal(r->line, 3);
	assert_true(policy_owner_in(&r->owners, "bank-canary"));
	assert_false(policy_owner_in(&r->owners, "shop"));
	assert_int_equal(policy_network_rule(p, "bank_")->line, 3);
	assert_null(policy_network_rule(p, "bank"));
	r = policy_network_rule(p, "edge_net");
	assert_int_equal(r->line, 5);
	assert_true(policy_owner_in(&r->owners, "service:edge"));
	assert_false(policy_owner_in(&r->owners, "edge"));
	assert_null(policy_network_rule(NULL, "edge_net"));
	policy_free(p);
}

static void test_refused(void **state)
{
	static const struct {
		const char *text;
		const char *err;
	} cases[] = {
		{ "hots a.example.com shop\n", "line 1: unknown rule \"hots\"" },
		{ "\nhost a.example.com\n", "line 2: host needs a pattern and at least one owner" },
		{ "host a_b.example.com shop\n", "line 1: \"a_b.example.com\": invalid character '_'" },
		{ "host a.*.example.com shop\n", "line 1: \"a.*.example.com\"" },
		{ "host a.example.com sh/op\n", "line 1: \"sh/op\" is not an owner" },
		{ "host a.example.com service:\n", "line 1: \"service:\" is not an owner" },
		{ "host a.example.com -shop\n", "line 1: \"-shop\" is not an owner" },
		{ "host a.example.com x\nhost A.example.com y\n",
		  "line 2: host a.example.com already given on line 1" },
		{ "wildcard a\nwildcard b\n", "line 2: wildcard given twice" },
		{ "secret bad/name x\n", "line 1: \"bad/name\" is not a secret name" },
		{ "secret * x\n", "line 1: \"*\" is not a secret name" },
		{ "secrets none\n", "line 1: secrets takes own-stack or any" },
		{ "\n\nnetwork shop_net\n", "line 3: network needs a name and at least one owner" },
		{ "network bad/net x\n", "line 1: \"bad/net\" is not a network name" },
		{ "network * x\n", "line 1: \"*\" is not a network name" },
		{ "network a b c\nnetwork x y;z\n", "line 2: \"y;z\" is not an owner" },
		{ "networks a\n", "line 1: unknown rule \"networks\"" },
		{ "host a.example.com x\x1b[2J\n", "line 1: control byte 0x1b" },
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy *p = policy_parse(cases[i].text, strlen(cases[i].text), err, sizeof(err));

		if (p)
			fail_msg("case %zu accepted", i);
		if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
			fail_msg("case %zu: \"%s\" is not \"%s...\"", i, err, cases[i].err);
	}
}

/* Bounded: too many owners on a line, a line too long, a file too large. */
static void test_limits(void **state)
{
	size_t big = POLICY_FILE_MAX + 1;
	char *text = malloc(big + 1);
	char err[256];
	size_t n = 0;

	(void)state;
	assert_non_null(text);
	n += (size_t)sprintf(text, "host a.example.com");
	for (int i = 0; i <= POLICY_OWNERS_MAX; i++)
		n += (size_t)sprintf(text + n, " s%d", i);
	assert_null(policy_parse(text, n, err, sizeof(err)));
	assert_string_equal(err, "line 1: more than 64 owners");

	memset(text, ' ', POLICY_LINE_MAX + 1);
	assert_null(policy_parse(text, POLICY_LINE_MAX + 1, err, sizeof(err)));
	assert_string_equal(err, "line 1: longer than 4096 bytes");

	memset(text, '\n', big);
	assert_null(policy_parse(text, big, err, sizeof(err)));
	assert_string_equal(err, "larger than 1048576 bytes");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_network_rules),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
