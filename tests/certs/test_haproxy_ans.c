/* HAProxy's runtime API answers, as HAProxy 2.6.12 wrote them (recorded
 * with socat against haproxy -db): the verdict of each certificate command,
 * the transaction a "set" landed in (2.6 lets a "set" on one path update
 * another path's open transaction: guarded here), "show ssl cert" details
 * and the listings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "certs/haproxy_ans.h"
#include "certs/x509.h"

static enum haproxy_ans_status verdict(const char *ans, char *msg, size_t n)
{
	return haproxy_ans_result(ans, strlen(ans), msg, n);
}

static void test_verdicts(void **state)
{
	static const struct {
		const char *answer;
		enum haproxy_ans_status status;
	} cases[] = {
		{ "New empty certificate store '/swarm-spoa/a/1.pem'!\n\n", HAPROXY_ANS_OK },
		{ "Certificate '/swarm-spoa/a/1.pem' already exists!\n\n", HAPROXY_ANS_EXISTS },
		{ "Transaction created for certificate /swarm-spoa/a/1.pem!\n\n", HAPROXY_ANS_OK },
		{ "Transaction updated for certificate /swarm-spoa/mm.pem!\n\n", HAPROXY_ANS_OK },
		{ "unable to load certificate from file '/swarm-spoa/bad.pem'.\nCan't load the payload\n"
		  "Can't update /swarm-spoa/bad.pem!\n\n", HAPROXY_ANS_ERROR },
		{ "Committing /swarm-spoa/a/1.pem\nSuccess!\n\n", HAPROXY_ANS_OK },
		{ "inconsistencies between private key and certificate loaded '/swarm-spoa/mm.pem'.\n"
		  "Can't commit /swarm-spoa/mm.pem!\n\n", HAPROXY_ANS_ERROR },
		{ "The transaction must contain at least a certificate and a private key!\n"
		  "Can't commit /swarm-spoa/bad.pem!\n\n", HAPROXY_ANS_ERROR },
		{ "No ongoing transaction! !\nCan't commit /x.pem!\n\n", HAPROXY_ANS_NO_TRANSACTION },
		{ "No ongoing transaction!\n\n", HAPROXY_ANS_NO_TRANSACTION },
		{ "The ongoing transaction is about '/swarm-spoa/mm.pem' but you are trying to set "
		  "'/swarm-spoa/kf.pem'\nCan't commit /swarm-spoa/kf.pem!\n\n",
		  HAPROXY_ANS_OTHER_TRANSACTION },
		{ "Transaction aborted for certificate '/swarm-spoa/mm.pem'!\n\n", HAPROXY_ANS_OK },
		{ "Inserting certificate '/swarm-spoa/a.pem' in crt-list '/tmp/list.txt'.\nSuccess!\n\n",
		  HAPROXY_ANS_OK },
		{ "Can't edit the crt-list: certificate '/swarm-spoa/b/1.pem' is empty!\n\n",
		  HAPROXY_ANS_ERROR },
		{ "Can't edit the crt-list: crt-list '/nope' does not exist!\n\n", HAPROXY_ANS_NOT_FOUND },
		{ "Entry '/swarm-spoa/b/1.pem' deleted in crtlist '/tmp/list.txt'!\n\n", HAPROXY_ANS_OK },
		{ "Can't delete the entry: found the certificate '/swarm-spoa/b/1.pem' in several "
		  "entries, please specify a line number preceded by colons (3, 4, 5)!\n\n",
		  HAPROXY_ANS_ERROR },
		{ "Certificate '/swarm-spoa/bad.pem' deleted!\n\n", HAPROXY_ANS_OK },
		/* "deleted!" is in it, and yet it is a refusal */
		{ "Can't remove the certificate: certificate '/swarm-spoa/a.pem' in use, can't be "
		  "deleted!\n\n", HAPROXY_ANS_ERROR },
		{ "Can't remove the certificate: certificate '/swarm-spoa/bad.pem' doesn't exist!\n\n",
		  HAPROXY_ANS_NOT_FOUND },
		{ "Can't replace a certificate which is not referenced by the configuration!\n"
		  "Can't update /x.pem!\n\n", HAPROXY_ANS_NOT_FOUND },
		{ "Can't update the certificate!\nOperations on certificates are currently locked!\n\n",
		  HAPROXY_ANS_BUSY },
		{ "Permission denied\n\n", HAPROXY_ANS_DENIED },
		{ "Unknown command, but maybe one of the following ones is a better match:\n"
		  "  help [<command>] : list matching or all commands\n\n", HAPROXY_ANS_DENIED },
		{ "", HAPROXY_ANS_ERROR },
		{ "\n", HAPROXY_ANS_ERROR },
	};
	char msg[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum haproxy_ans_status st = verdict(cases[i].answer, msg, sizeof(msg));

		if (st != cases[i].status)
			fail_msg("case %zu: %s, expected %s: %s", i, haproxy_ans_status_name(st),
				 haproxy_ans_status_name(cases[i].status), cases[i].answer);
		assert_null(strchr(msg, '\n'));
	}
	verdict("inconsistencies between private key and certificate loaded '/p'.\n"
		"Can't commit /p!\n\n", msg, sizeof(msg));
	assert_string_equal(msg, "inconsistencies between private key and certificate loaded "
			    "'/p'. Can't commit /p!");
	verdict("", msg, sizeof(msg));
	assert_string_equal(msg, "empty answer");
	/* a short buffer is cut, still terminated */
	verdict("Permission denied\n", msg, 5);
	assert_string_equal(msg, "Perm");
}

static void test_transaction_path(void **state)
{
	static const char created[] = "Transaction created for certificate /swarm-spoa/a/1.pem!\n\n";
	static const char updated[] = "Transaction updated for certificate /swarm-spoa/mm.pem!\n";
	char path[64];

	(void)state;
	assert_int_equal(haproxy_ans_transaction(created, strlen(created), path, sizeof(path)), 0);
	assert_string_equal(path, "/swarm-spoa/a/1.pem");
	/* what the collision check reads: the set landed in another path */
	assert_int_equal(haproxy_ans_transaction(updated, strlen(updated), path, sizeof(path)), 0);
	assert_string_equal(path, "/swarm-spoa/mm.pem");
	assert_int_equal(haproxy_ans_transaction(created, strlen(created), path, 8), -1);
	assert_int_equal(haproxy_ans_transaction("Success!\n", 9, path, sizeof(path)), -1);
	assert_int_equal(haproxy_ans_transaction("Transaction created for certificate !", 37,
						 path, sizeof(path)), -1);
}

static void test_show_cert(void **state)
{
	static const char used[] =
		"Filename: /tmp/tlsx/default.pem\n"
		"Status: Used\n"
		"Serial: 2D8E517ED4D096E176B42AE6D0D77A82D9C947\n"
		"notBefore: Nov 26 04:15:13 2026 GMT\n"
		"notAfter: Dec  6 04:15:13 2026 GMT\n"
		"Subject Alternative Name: DNS:a.example\n"
		"Algorithm: RSA2048\n"
		"SHA1 FingerPrint: D18C9D7FAB89B399D1818F39AA4FAADFE34D9FAE\n"
		"Subject: /CN=default.local\n"
		"Issuer: /CN=default.local\n"
		"Chain Filename: /tmp/tlsx/default.pem\n"
		"Serial: 0102\n"
		"notAfter: Jan  1 00:00:00 2030 GMT\n"
		"OCSP Response Key: \n\n";
	static const char empty[] = "Filename: /swarm-spoa/mm.pem\nStatus: Empty\nOCSP Response Key: \n\n";
	static const char missing[] = "Can't display the certificate: Not found or the certificate "
				      "is a bundle!\n\n";
	struct haproxy_ans_cert c;

	(void)state;
	assert_int_equal(haproxy_ans_cert(used, strlen(used), &c), 0);
	assert_string_equal(c.status, "Used");
	/* the first certificate's, not its chain's */
	assert_string_equal(c.serial, "2D8E517ED4D096E176B42AE6D0D77A82D9C947");
	assert_int_equal(c.not_before, x509_timegm(2026, 11, 26, 4, 15, 13));
	assert_int_equal(c.not_after, x509_timegm(2026, 12, 6, 4, 15, 13));
	assert_string_equal(c.subject, "/CN=default.local");
	assert_string_equal(c.san, "DNS:a.example");

	assert_int_equal(haproxy_ans_cert(empty, strlen(empty), &c), 0);
	assert_string_equal(c.status, "Empty");
	assert_string_equal(c.serial, "");
	assert_int_equal(c.not_after, -1);

	assert_int_equal(haproxy_ans_cert(missing, strlen(missing), &c), -1);
	assert_int_equal(haproxy_ans_cert("", 0, &c), -1);
}

static void test_times(void **state)
{
	(void)state;
	assert_int_equal(haproxy_ans_time("Dec 26 04:15:13 2026 GMT", 24),
			 x509_timegm(2026, 12, 26, 4, 15, 13));
	assert_int_equal(haproxy_ans_time(" Jan  1 00:00:00 1970 GMT", 25), 0);
	assert_int_equal(haproxy_ans_time("Dec 26 04:15:13 2026", 20), -1);
	assert_int_equal(haproxy_ans_time("Foo 26 04:15:13 2026 GMT", 24), -1);
	assert_int_equal(haproxy_ans_time("Dec 32 04:15:13 2026 GMT", 24), -1);
	assert_int_equal(haproxy_ans_time("Dec 26 04-15-13 2026 GMT", 24), -1);
	assert_int_equal(haproxy_ans_time("Dec", 3), -1);
	assert_int_equal(haproxy_ans_time("", 0), -1);
}

struct entries {
	size_t n;
	char path[8][64];
	unsigned line[8];
	char options[8][64];
	char filters[8][64];
};

static void on_entry(void *arg, const struct haproxy_ans_entry *e)
{
	struct entries *x = arg;

	assert_true(x->n < 8);
	snprintf(x->path[x->n], 64, "%.*s", (int)e->path_len, e->path);
	x->line[x->n] = e->line;
	snprintf(x->options[x->n], 64, "%.*s", (int)e->options_len, e->options);
	snprintf(x->filters[x->n], 64, "%.*s", (int)e->filters_len, e->filters);
	x->n++;
}

static void test_crtlist(void **state)
{
	static const char numbered[] =
		"# /tmp/tlsx/list.txt\n"
		"/tmp/tlsx/default.pem:1\n"
		"/swarm-spoa/a.pem:2\n"
		"/swarm-spoa/b/1.pem:5 [ssl-min-ver TLSv1.2] d.example !x.d.example\n"
		"/swarm-spoa/w/2.pem:12 *.w.example w.example \n\n";
	static const char plain[] = "# /l\n/a.pem\n/b.pem b.example\n\n";
	struct entries x;

	(void)state;
	memset(&x, 0, sizeof(x));
	assert_int_equal(haproxy_ans_crtlist(numbered, strlen(numbered), on_entry, &x), 4);
	assert_string_equal(x.path[0], "/tmp/tlsx/default.pem");
	assert_int_equal(x.line[0], 1);
	assert_string_equal(x.path[2], "/swarm-spoa/b/1.pem");
	assert_int_equal(x.line[2], 5);
	assert_string_equal(x.options[2], "[ssl-min-ver TLSv1.2]");
	assert_string_equal(x.filters[2], "d.example !x.d.example");
	assert_int_equal(x.line[3], 12);
	assert_string_equal(x.filters[3], "*.w.example w.example");

	memset(&x, 0, sizeof(x));
	assert_int_equal(haproxy_ans_crtlist(plain, strlen(plain), on_entry, &x), 2);
	assert_int_equal(x.line[0], 0);
	assert_string_equal(x.path[1], "/b.pem");
	assert_string_equal(x.filters[1], "b.example");

	assert_int_equal(haproxy_ans_crtlist("didn't find the specified filename\n\n", 36, on_entry,
					     &x), -1);
	assert_int_equal(haproxy_ans_crtlist("", 0, on_entry, &x), -1);
	assert_int_equal(haproxy_ans_crtlist("# /l\n/a.pem [alpn h2\n", 21, on_entry, &x), -1);
	/* an empty list is a list */
	assert_int_equal(haproxy_ans_crtlist("# /l\n\n", 6, NULL, NULL), 0);
}

struct names {
	size_t n;
	char name[8][64];
	int tx[8];
};

static void on_name(void *arg, const char *name, size_t n, int in_tx)
{
	struct names *x = arg;

	assert_true(x->n < 8);
	snprintf(x->name[x->n], 64, "%.*s", (int)n, name);
	x->tx[x->n++] = in_tx;
}

static void test_names(void **state)
{
	static const char stores[] =
		"# transaction\n*/swarm-spoa/a.pem\n"
		"# filename\n/swarm-spoa/a.pem\n/swarm-spoa/b/1.pem\n/tmp/tlsx/default.pem\n\n";
	static const char lists[] = "/tmp/tlsx/list.txt\n\n";
	struct names x;

	(void)state;
	memset(&x, 0, sizeof(x));
	assert_int_equal(haproxy_ans_names(stores, strlen(stores), on_name, &x), 4);
	assert_string_equal(x.name[0], "/swarm-spoa/a.pem");
	assert_int_equal(x.tx[0], 1);
	assert_string_equal(x.name[3], "/tmp/tlsx/default.pem");
	assert_int_equal(x.tx[3], 0);
	memset(&x, 0, sizeof(x));
	assert_int_equal(haproxy_ans_names(lists, strlen(lists), on_name, &x), 1);
	assert_string_equal(x.name[0], "/tmp/tlsx/list.txt");
	assert_int_equal(haproxy_ans_names("Permission denied\n\n", 19, on_name, &x), -1);
	assert_int_equal(haproxy_ans_names("", 0, on_name, &x), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_transaction_path),
		cmocka_unit_test(test_show_cert),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_crtlist),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
