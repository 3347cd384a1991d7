/* Ownership of hosts (routing/rtable_own.c, routing/ledger.c): labels come
 * from every team deploying to the swarm, so one stack's service must not
 * take another stack's host, path, redirect source, default backend or
 * secret. Each test below is a takeover that the table used to accept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/sbuf.h"
#include "routing/ledger.h"
#include "routing/model.h"
#include "routing/policy.h"
#include "routing/rtable.h"
#include "tests/routing/fixture.h"

#define T0 1764640000000LL       /* a wall clock, in ms */
#define GRACE 60000LL

/* A model as discovery makes them: services outside stacks are their own
 * owners there (the routes file's are the operator's).
 */
static struct model *own_model(void)
{
	struct model *m = fx_model();

	m->source = "swarm";
	return m;
}

static struct model_service *own_service(struct model *m, const char *stack, const char *name,
					 int64_t created, const char *hosts, const char *extra)
{
	struct model_service *s = fx_service(m, name, created, "lb.port=80", NULL);
	char addr[32];

	s->stack = stack;
	if (hosts)
		fx_label(m, s, "com.docker.lb.hosts", hosts);
	if (extra) {
		const char *eq = strchr(extra, '=');
		char key[128];

		snprintf(key, sizeof(key), "com.docker.lb.%.*s", (int)(eq - extra), extra);
		fx_label(m, s, key, eq + 1);
	}
	snprintf(addr, sizeof(addr), "10.0.0.%zu", m->nsvcs);
	fx_task(m, s, name, addr, 0, NULL);
	return s;
}

static struct rtable *own_build(const struct model *m, const struct ledger *l,
				const struct policy *p, int64_t now)
{
	const struct model *models[1] = { m };
	struct rtable_build_opts o = { .nworkers = 1, .policy = p, .ledger = l, .now_ms = now,
				       .claim_grace_ms = GRACE };
	struct rtable *t = rtable_build(models, 1, &o);

	assert_non_null(t);
	return t;
}

static struct ledger *own_ledger_copy(const struct rtable *t)
{
	const struct ledger *l = rtable_ledger(t, NULL, NULL);
	struct ledger *c = ledger_new();

	assert_non_null(c);
	for (size_t i = 0; i < ledger_count(l); i++)
		assert_int_equal(ledger_put(c, ledger_at(l, i)), 0);
	return c;
}

static struct policy *own_policy(const char *text)
{
	char err[256] = "";
	struct policy *p = policy_parse(text, strlen(text), err, sizeof(err));

	if (!p)
		fail_msg("policy refused: %s", err);
	return p;
}

static void assert_refused(const struct rtable *t, const char *name, const char *why)
{
	const char *reason;

	assert_int_equal(fx_status(t, name, &reason), RTABLE_SVC_SKIPPED);
	assert_non_null(reason);
	if (!strstr(reason, why))
		fail_msg("%s: reason \"%s\" lacks \"%s\"", name, reason, why);
}

/* evil's /login on the bank's host would win the longest-prefix match. */
static void test_path_under_other_host(void **state)
{
	struct model *m = own_model();
	struct rtable_info info;
	struct rtable *t;

	(void)state;
	own_service(m, "bank", "bank_web", 1, "bank.example.com", NULL);
	own_service(m, "evil", "evil_login", 2, "bank.example.com", "context_root=/login");
	own_service(m, "evil", "evil_site", 3, "evil.example.net", NULL);
	t = own_build(m, NULL, NULL, T0);
	assert_refused(t, "evil_login", "host bank.example.com belongs to stack bank (claimed ");
	assert_string_equal(fx_route(t, "bank.example.com", "/login").service, "bank_web");
	/* everything else keeps routing, the bad tenant's other host too */
	assert_string_equal(fx_route(t, "evil.example.net", "/").service, "evil_site");
	rtable_info(t, &info);
	assert_int_equal(info.refused, 1);
	assert_int_equal(info.skipped, 1);
	rtable_free(t);
	model_free(m);
}

/* A redirect source is a claim on its host. */
static void test_redirect_source(void **state)
{
	struct model *m = own_model();
	struct rtable *t;

	(void)state;
	own_service(m, "bank", "bank_web", 1, "bank.example.com", NULL);
	own_service(m, "evil", "evil_web", 2, "evil.example.net",
		    "redirects=http://bank.example.com/login,https://evil.example.net/phish");
	t = own_build(m, NULL, NULL, T0);
	assert_refused(t, "evil_web", "host bank.example.com belongs to stack bank");
	assert_int_equal(fx_route(t, "bank.example.com", "/login").action, ROUTE_FORWARD);
	assert_string_equal(fx_route(t, "bank.example.com", "/login").service, "bank_web");
	rtable_free(t);
	model_free(m);
}

/* Same settings, a huge weight: a canary of another stack is refused; a
 * canary of the same stack shares the route by weight.
 */
static void test_weight_and_canary(void **state)
{
	struct model *m = own_model();
	struct rtable *t;
	unsigned canary = 0;

	(void)state;
	own_service(m, "bank", "bank_web", 1, "bank.example.com", NULL);
	own_service(m, "evil", "evil_web", 2, "bank.example.com", "weight=10000");
	own_service(m, "bank", "bank_canary", 3, "bank.example.com", "weight=25");
	own_service(m, "evil", "evil_pass", 4, "bank.example.com", "ssl_passthrough=true");
	t = own_build(m, NULL, NULL, T0);
	assert_refused(t, "evil_web", "belongs to stack bank");
	assert_refused(t, "evil_pass", "belongs to stack bank");
	assert_int_equal(fx_status(t, "bank_canary", NULL), RTABLE_SVC_ROUTED);
	for (int i = 0; i < 500; i++) {
		struct route_answer a = fx_route(t, "bank.example.com", "/");

		assert_int_equal(a.action, ROUTE_FORWARD);
		assert_string_not_equal(a.service, "evil_web");
		canary += strcmp(a.service, "bank_canary") == 0;
	}
	/* weights 100 and 25: a fifth of the requests */
	assert_int_equal(canary, 100);
	rtable_free(t);
	model_free(m);
}

/* Services outside stacks are each their own owner; the routes file's
 * services are the operator's, one owner.
 */
static void test_unstacked_owners(void **state)
{
	struct model *m = own_model(), *f = fx_model();
	struct rtable *t;

	(void)state;
	own_service(m, NULL, "web", 1, "shop.example.com", NULL);
	own_service(m, NULL, "api", 2, "shop.example.com", "context_root=/api");
	t = own_build(m, NULL, NULL, T0);
	assert_refused(t, "api", "host shop.example.com belongs to service web");
	rtable_free(t);

	own_service(f, NULL, "web", 1, "shop.example.com", NULL);
	own_service(f, NULL, "api", 2, "shop.example.com", "context_root=/api");
	t = own_build(f, NULL, NULL, T0);
	assert_string_equal(fx_route(t, "shop.example.com", "/api/x").service, "api");
	rtable_free(t);
	model_free(m);
	model_free(f);
}

/* The first claim is recorded: the owner recreated after the attacker's
 * service keeps its host. Without the ledger the attacker's older service
 * would win, which is what the ledger is for.
 */
static void test_ledger_keeps_owner(void **state)
{
	struct model *m1 = own_model(), *m2 = own_model();
	struct rtable *t1, *t2, *t3;
	struct ledger *l;
	const struct ledger_entry *e;
	int changed;

	(void)state;
	own_service(m1, "bank", "bank_web", 1, "bank.example.com", NULL);
	t1 = own_build(m1, NULL, NULL, T0);
	e = ledger_get(rtable_ledger(t1, &changed, NULL), "bank.example.com");
	assert_non_null(e);
	assert_true(changed);
	assert_string_equal(e->owner, "bank");
	assert_int_equal(e->since_ms, T0);
	l = own_ledger_copy(t1);

	own_service(m2, "evil", "evil_web", 2, "bank.example.com", NULL);
	own_service(m2, "bank", "bank_web", 3, "bank.example.com", NULL);
	t2 = own_build(m2, l, NULL, T0 + 1000);
	assert_refused(t2, "evil_web", "belongs to stack bank");
	assert_string_equal(fx_route(t2, "bank.example.com", "/").service, "bank_web");
	rtable_ledger(t2, &changed, NULL);
	assert_false(changed);

	t3 = own_build(m2, NULL, NULL, T0 + 1000);
	assert_refused(t3, "bank_web", "belongs to stack evil");
	rtable_free(t1);
	rtable_free(t2);
	rtable_free(t3);
	ledger_free(l);
	model_free(m1);
	model_free(m2);
}

/* A claim outlives its owner for the grace period, then is released. */
static void test_grace(void **state)
{
	struct model *m0 = own_model(), *m1 = own_model(), *m2 = own_model();
	struct ledger *l0, *l1, *l2;
	struct rtable *t;
	int64_t due;

	(void)state;
	own_service(m0, "bank", "bank_web", 1, "bank.example.com", NULL);
	t = own_build(m0, NULL, NULL, T0);
	l0 = own_ledger_copy(t);
	rtable_free(t);

	/* the bank's stack is removed: nobody claims its host */
	t = own_build(m1, l0, NULL, T0 + 1000);
	rtable_ledger(t, NULL, &due);
	assert_int_equal(due, T0 + 1000 + GRACE);
	assert_int_equal(ledger_get(rtable_ledger(t, NULL, NULL), "bank.example.com")->missing_ms,
			 T0 + 1000);
	l1 = own_ledger_copy(t);
	rtable_free(t);

	own_service(m2, "evil", "evil_web", 5, "bank.example.com", NULL);
	t = own_build(m2, l1, NULL, T0 + 1000 + GRACE - 1);
	assert_refused(t, "evil_web", "belongs to stack bank");
	assert_int_equal(fx_route(t, "bank.example.com", "/").action, ROUTE_NOT_FOUND);
	l2 = own_ledger_copy(t);
	rtable_free(t);

	t = own_build(m2, l2, NULL, T0 + 1000 + GRACE);
	assert_int_equal(fx_status(t, "evil_web", NULL), RTABLE_SVC_ROUTED);
	assert_string_equal(ledger_get(rtable_ledger(t, NULL, NULL), "bank.example.com")->owner,
			    "evil");
	rtable_free(t);

	/* the owner back within the grace: the claim is its own again */
	t = own_build(m0, l1, NULL, T0 + 2000);
	assert_int_equal(ledger_get(rtable_ledger(t, NULL, NULL), "bank.example.com")->missing_ms, 0);
	rtable_ledger(t, NULL, &due);
	assert_int_equal(due, 0);
	rtable_free(t);
	ledger_free(l0);
	ledger_free(l1);
	ledger_free(l2);
	model_free(m0);
	model_free(m1);
	model_free(m2);
}

static void test_wildcards(void **state)
{
	struct model *m = own_model();
	struct rtable *t;

	(void)state;
	own_service(m, "evil", "evil_tld", 1, "*.com", NULL);
	own_service(m, "b", "b_exact", 2, "x.example.org", NULL);
	own_service(m, "a", "a_wild", 3, "*.example.org", NULL);
	own_service(m, "c", "c_under", 4, "y.example.org", NULL);
	own_service(m, "c", "c_subwild", 5, "*.z.example.org", NULL);
	t = own_build(m, NULL, NULL, T0);
	assert_refused(t, "evil_tld", "wildcard host *.com covers a whole top-level domain");
	/* claimed before the wildcard: kept, exact names win */
	assert_string_equal(fx_route(t, "x.example.org", "/").service, "b_exact");
	assert_refused(t, "c_under", "host y.example.org is under *.example.org, which belongs to "
		       "stack a");
	assert_refused(t, "c_subwild", "is under *.example.org");
	assert_string_equal(fx_route(t, "y.example.org", "/").service, "a_wild");
	rtable_free(t);
	model_free(m);
}

static void test_default_backend(void **state)
{
	struct model *m = own_model();
	struct policy *p;
	struct rtable *t;

	(void)state;
	fx_task(m, fx_service(m, "first", 1, "lb.default_backend=true", "lb.port=80", NULL),
		"f.1", "10.0.1.1", 0, NULL);
	m->svcs[0].stack = "infra";
	fx_task(m, fx_service(m, "second", 2, "lb.default_backend=true", "lb.port=80", NULL),
		"s.1", "10.0.1.2", 0, NULL);
	m->svcs[1].stack = "evil";
	t = own_build(m, NULL, NULL, T0);
	assert_refused(t, "second", "the default_backend belongs to stack infra");
	rtable_free(t);

	p = own_policy("default_backend evil\n");
	t = own_build(m, NULL, p, T0);
	assert_refused(t, "first", "default_backend is not allowed for stack infra by the "
		       "operator's policy");
	assert_string_equal(fx_route(t, "unknown.example", "/").service, "second");
	rtable_free(t);
	policy_free(p);
	model_free(m);
}

/* The operator's policy pins hosts and wildcard domains, and says who may
 * use wildcards; a pin overrides the ledger.
 */
static void test_policy_pins(void **state)
{
	struct model *m = own_model();
	struct policy *p;
	struct rtable *t;

	(void)state;
	own_service(m, "evil", "evil_web", 1, "bank.example.com", NULL);
	own_service(m, "bank", "bank_web", 2, "bank.example.com", NULL);
	own_service(m, "evil", "evil_sub", 3, "login.bank.example.com", NULL);
	own_service(m, "shop", "shop_wild", 4, "*.shop.example.com", NULL);
	own_service(m, "infra", "infra_wild", 5, "*.infra.example.com", NULL);
	own_service(m, "team", "team_local", 6, "*.local", NULL);
	p = own_policy("# pins\n"
		       "host bank.example.com bank\n"
		       "host *.bank.example.com bank   # the whole domain\n"
		       "host *.local team\n"
		       "wildcard infra\n");
	t = own_build(m, NULL, p, T0);
	assert_refused(t, "evil_web", "host bank.example.com is reserved by the operator's policy "
		       "(line 2) for stack bank");
	assert_refused(t, "evil_sub", "host login.bank.example.com is reserved by the operator's "
		       "policy (line 3)");
	assert_string_equal(fx_route(t, "bank.example.com", "/").service, "bank_web");
	assert_refused(t, "shop_wild", "wildcard host *.shop.example.com is not allowed for stack "
		       "shop by the operator's policy");
	assert_int_equal(fx_status(t, "infra_wild", NULL), RTABLE_SVC_ROUTED);
	/* a one-label wildcard, granted by a pin */
	assert_int_equal(fx_status(t, "team_local", NULL), RTABLE_SVC_ROUTED);
	rtable_free(t);
	policy_free(p);
	model_free(m);
}

/* A host the policy shares between two stacks: their services share its
 * routes only if they agree on the weight.
 */
static void test_policy_shared_weight(void **state)
{
	struct model *m = own_model();
	struct policy *p = own_policy("host shared.example.com a b\n");
	struct rtable *t;

	(void)state;
	own_service(m, "a", "a_web", 1, "shared.example.com", NULL);
	own_service(m, "b", "b_web", 2, "shared.example.com", NULL);
	own_service(m, "b", "b_heavy", 3, "shared.example.com", "weight=9000");
	t = own_build(m, NULL, p, T0);
	assert_int_equal(fx_status(t, "b_web", NULL), RTABLE_SVC_ROUTED);
	assert_refused(t, "b_heavy", "conflicts with service a_web on shared.example.com: "
		       "different weight (the services are of different owners)");
	rtable_free(t);
	policy_free(p);
	model_free(m);
}

/* Certificates come from the service's own stack's secrets. */
static void test_secrets(void **state)
{
	struct model *m = own_model();
	struct policy *p;
	struct rtable *t;

	(void)state;
	own_service(m, "bank", "bank_web", 1, "bank.example.com", "ssl_cert=bank_cert");
	own_service(m, "evil", "evil_web", 2, "evil.example.net", "ssl_cert=bank_cert");
	own_service(m, "evil", "evil_key", 3, "evil2.example.net", "ssl_key=bank_web_key");
	own_service(m, "evil", "evil_own", 4, "evil3.example.net", "ssl_cert=evil_cert");
	own_service(m, "evil", "evil_ext", 5, "evil4.example.net", "ssl_cert=wildcard.pem");
	/* a kind in front of the name changes nothing of whose it is */
	own_service(m, "evil", "evil_cfg", 6, "evil5.example.net", "ssl_cert=config:bank_cert");
	own_service(m, "evil", "evil_file", 7, "evil6.example.net", "ssl_key=file:bank_key");
	own_service(m, "evil", "evil_ocfg", 8, "evil7.example.net", "ssl_cert=config:evil_pem");
	t = own_build(m, NULL, NULL, T0);
	assert_int_equal(fx_status(t, "bank_web", NULL), RTABLE_SVC_ROUTED);
	assert_refused(t, "evil_web", "com.docker.lb.ssl_cert: \"bank_cert\" is a secret of stack "
		       "bank, not of stack evil");
	assert_refused(t, "evil_key", "com.docker.lb.ssl_key: \"bank_web_key\" is a secret of "
		       "stack bank");
	assert_int_equal(fx_status(t, "evil_own", NULL), RTABLE_SVC_ROUTED);
	assert_refused(t, "evil_cfg", "com.docker.lb.ssl_cert: \"bank_cert\" is a secret of stack "
		       "bank, not of stack evil");
	assert_refused(t, "evil_file", "com.docker.lb.ssl_key: \"bank_key\" is a secret of stack "
		       "bank");
	assert_int_equal(fx_status(t, "evil_ocfg", NULL), RTABLE_SVC_ROUTED);
	/* a secret made outside any stack: allowed unless the policy says */
	assert_int_equal(fx_status(t, "evil_ext", NULL), RTABLE_SVC_ROUTED);
	rtable_free(t);

	p = own_policy("secret wildcard.pem infra\nsecret shared_* evil\nsecrets own-stack\n");
	t = own_build(m, NULL, p, T0);
	assert_refused(t, "evil_ext", "\"wildcard.pem\" is granted to others by the operator's "
		       "policy (line 1)");
	assert_int_equal(fx_status(t, "evil_own", NULL), RTABLE_SVC_ROUTED);
	rtable_free(t);
	policy_free(p);

	p = own_policy("secrets own-stack\n");
	t = own_build(m, NULL, p, T0);
	assert_refused(t, "evil_ext", "is not a secret of stack evil and the operator's policy "
		       "grants it to nobody");
	rtable_free(t);
	policy_free(p);
	model_free(m);
}

/* explain names the refused claims on the host it is asked about. */
static void test_explain_refused(void **state)
{
	struct model *m = own_model();
	struct sbuf out = SBUF_INIT;
	struct route_req r;
	struct rtable *t;

	(void)state;
	own_service(m, "bank", "bank_web", 1, "bank.example.com", NULL);
	own_service(m, "evil", "evil_login", 2, "bank.example.com", "context_root=/login");
	t = own_build(m, NULL, NULL, T0);
	fx_req(&r, "bank.example.com", "/login");
	rtable_explain(t, &r, &out, 0);
	assert_non_null(strstr(out.buf, "refused  service evil_login: host bank.example.com "
			       "belongs to stack bank"));
	sbuf_reset(&out);
	rtable_explain(t, &r, &out, 1);
	assert_non_null(strstr(out.buf, "\"refused\":[{\"service\":\"evil_login\""));
	sbuf_free(&out);
	rtable_free(t);
	model_free(m);
}

/* The ledger file: written sorted, read back the same, refused whole when
 * one line is bad.
 */
static void test_ledger_file(void **state)
{
	struct ledger *l = ledger_new(), *r;
	struct sbuf a = SBUF_INIT, b = SBUF_INIT;
	struct ledger_entry e1 = { "z.example.com", "shop", T0, 0 };
	struct ledger_entry e2 = { "*.example.org", "service:web", T0 + 5, T0 + 9 };
	struct ledger_entry e3 = { LEDGER_DEFAULT, "file:routes", 1, 0 };
	static const char *const bad[] = {
		"",
		"# something else\n",
		"# swarm-spoa host ledger v1\nBank.example.com bank 1 0\n",
		"# swarm-spoa host ledger v1\nbank.example.com bank 1\n",
		"# swarm-spoa host ledger v1\nbank.example.com bank 1 0 extra\n",
		"# swarm-spoa host ledger v1\nbank.example.com ba/nk 1 0\n",
		"# swarm-spoa host ledger v1\nbank.example.com bank -1 0\n",
		"# swarm-spoa host ledger v1\nbank.example.com bank 1 0\nbank.example.com evil 0 0\n",
		"# swarm-spoa host ledger v1\nbank.example.com bank\x01 1 0\n",
	};
	char err[256];

	(void)state;
	assert_int_equal(ledger_put(l, &e1), 0);
	assert_int_equal(ledger_put(l, &e2), 0);
	assert_int_equal(ledger_put(l, &e3), 0);
	ledger_format(l, &a);
	assert_string_equal(a.buf, "# swarm-spoa host ledger v1\n"
			    "*.example.org service:web 1764640000005 1764640000009\n"
			    "default_backend file:routes 1 0\n"
			    "z.example.com shop 1764640000000 0\n");
	r = ledger_parse(a.buf, a.len, err, sizeof(err));
	assert_non_null(r);
	ledger_format(r, &b);
	assert_string_equal(a.buf, b.buf);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ledger *x = ledger_parse(bad[i], strlen(bad[i]), err, sizeof(err));

		if (x)
			fail_msg("ledger %zu accepted", i);
		assert_non_null(strstr(err, "line "));
	}
	ledger_free(l);
	ledger_free(r);
	sbuf_free(&a);
	sbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_under_other_host),
		cmocka_unit_test(test_redirect_source),
		cmocka_unit_test(test_weight_and_canary),
		cmocka_unit_test(test_unstacked_owners),
		cmocka_unit_test(test_ledger_keeps_owner),
		cmocka_unit_test(test_grace),
		cmocka_unit_test(test_wildcards),
		cmocka_unit_test(test_default_backend),
		cmocka_unit_test(test_policy_pins),
		cmocka_unit_test(test_policy_shared_weight),
		cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_explain_refused),
		cmocka_unit_test(test_ledger_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
