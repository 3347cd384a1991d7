/* One step of a sync, its runtime API dialogue replayed with HAProxy
 * 2.6.12's answers (certs/pushop.c): a push end to end, a store that holds
 * the content already, a "set" that lands in another certificate's
 * transaction (HAProxy 2.6), another agent's material in the transaction,
 * expired and mismatched material refused and cleaned up, the default
 * certificate replaced in place, refusals of the socket, removals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "certs/certset-t.h"
#include "certs/pushop.h"
#include "certs/x509.h"
#include "common/sbuf.h"

#define LIST "/etc/haproxy/crt-list"
#define PATH "/swarm-spoa/shop/00000000000000aa.pem"
#define PEM  "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
#define NOW  1800000000   /* 2027-01-15, seconds */

static const struct certset_item item = {
	.name = "shop", .dir = "/swarm-spoa/shop/", .path = PATH, .pem = PEM,
	.pem_len = sizeof(PEM) - 1, .serial = "0A1B", .not_after = NOW + 86400,
	.filters = "shop.test www.shop.test", .ready = 1,
};

static const char held[] = "Filename: " PATH "\nStatus: Used\nSerial: 0A1B\n"
			   "notAfter: Jan 16 00:00:00 2027 GMT\n\n";
static const char held_other[] = "Filename: " PATH "\nStatus: Used\nSerial: 0C0C\n"
				 "notAfter: Jan 16 00:00:00 2027 GMT\n\n";
static const char tx_expired[] = "Filename: *" PATH "\nStatus: Unused\nSerial: 0A1B\n"
				 "notAfter: Jan  1 00:00:00 2020 GMT\n\n";

struct dialogue {
	struct pushop op;
	struct sbuf cmd;
	struct pushop_result res;
};

static void begin(struct dialogue *d, enum pushop_kind kind, int listed)
{
	memset(d, 0, sizeof(*d));
	d->op.kind = kind;
	d->op.path = kind == PUSHOP_DEFAULT ? "/etc/haproxy/default.pem" : PATH;
	d->op.listed = listed;
	d->op.line = 7;
	pushop_start(&d->op, LIST, &d->cmd);
}

/* Gives <ans> to the dialogue; returns its verdict. */
static enum pushop_verdict answer(struct dialogue *d, const char *ans)
{
	pushop_answer(&d->op, d->op.kind <= PUSHOP_DEFAULT ? &item : NULL, LIST, ans, strlen(ans),
		      NOW, &d->cmd, &d->res);
	return d->res.verdict;
}

static void expect_cmd(struct dialogue *d, const char *cmd)
{
	assert_int_equal(d->res.verdict, PUSHOP_SEND);
	assert_string_equal(d->cmd.buf, cmd);
}

static void test_push_end_to_end(void **state)
{
	struct dialogue d;

	(void)state;
	begin(&d, PUSHOP_PUSH, 0);
	assert_string_equal(d.cmd.buf, "new ssl cert " PATH);
	answer(&d, "New empty certificate store '" PATH "'!\n\n");
	expect_cmd(&d, "set ssl cert " PATH " <<\n" PEM "\n");
	answer(&d, "Transaction created for certificate " PATH "!\n\n");
	assert_null(d.res.aborted);
	expect_cmd(&d, "show ssl cert *" PATH);
	answer(&d, held);
	expect_cmd(&d, "commit ssl cert " PATH);
	answer(&d, "Committing " PATH "\nSuccess!\n\n");
	expect_cmd(&d, "show ssl cert " PATH);
	answer(&d, held);
	expect_cmd(&d, "add ssl crt-list " LIST " <<\n" PATH " shop.test www.shop.test\n\n");
	assert_int_equal(answer(&d, "Inserting certificate '" PATH "' in crt-list '" LIST
				"'.\nSuccess!\n\n"), PUSHOP_PUSHED);
	assert_null(d.res.reason);
	sbuf_free(&d.cmd);
}

/* The store exists (another agent, or a push cut short): only the line is
 * added when it holds the content; else the content is set again.
 */
static void test_store_listed(void **state)
{
	struct dialogue d;

	(void)state;
	begin(&d, PUSHOP_PUSH, 1);
	assert_string_equal(d.cmd.buf, "show ssl cert " PATH);
	answer(&d, held);
	expect_cmd(&d, "add ssl crt-list " LIST " <<\n" PATH " shop.test www.shop.test\n\n");
	sbuf_free(&d.cmd);

	begin(&d, PUSHOP_PUSH, 1);
	answer(&d, "Filename: " PATH "\nStatus: Empty\n\n");
	expect_cmd(&d, "set ssl cert " PATH " <<\n" PEM "\n");
	sbuf_free(&d.cmd);
}

/* HAProxy 2.6 put the payload into another path's open transaction: that
 * transaction is aborted and the push retried at the next sync.
 */
static void test_set_lands_elsewhere(void **state)
{
	struct dialogue d;

	(void)state;
	begin(&d, PUSHOP_PUSH, 0);
	answer(&d, "Certificate '" PATH "' already exists!\n\n");
	answer(&d, "Transaction updated for certificate /swarm-spoa/mm.pem!\n\n");
	expect_cmd(&d, "abort ssl cert /swarm-spoa/mm.pem");
	assert_string_equal(d.res.aborted, "/swarm-spoa/mm.pem");
	assert_int_equal(answer(&d, "Transaction aborted for certificate '/swarm-spoa/mm.pem'!\n\n"),
			 PUSHOP_FAILED);
	assert_string_equal(d.res.reason, "another certificate transaction was open in HAProxy");
	sbuf_free(&d.cmd);
}

/* The transaction holds another serial (another agent set it meanwhile):
 * never committed by this one.
 */
static void test_other_material_in_transaction(void **state)
{
	struct dialogue d;

	(void)state;
	begin(&d, PUSHOP_PUSH, 0);
	answer(&d, "New empty certificate store '" PATH "'!\n\n");
	answer(&d, "Transaction created for certificate " PATH "!\n\n");
	answer(&d, held_other);
	expect_cmd(&d, "abort ssl cert " PATH);
	assert_int_equal(answer(&d, "Transaction aborted for certificate '" PATH "'!\n\n"),
			 PUSHOP_FAILED);
	sbuf_free(&d.cmd);
}

/* Expired by HAProxy's clock: refused, the transaction aborted and the
 * empty store deleted.
 */
static void test_expired_refused(void **state)
{
	struct dialogue d;

	(void)state;
	begin(&d, PUSHOP_PUSH, 0);
	answer(&d, "New empty certificate store '" PATH "'!\n\n");
	answer(&d, "Transaction created for certificate " PATH "!\n\n");
	answer(&d, tx_expired);
	expect_cmd(&d, "abort ssl cert " PATH);
	answer(&d, "Transaction aborted for certificate '" PATH "'!\n\n");
	expect_cmd(&d, "del ssl cert " PATH);
	assert_int_equal(answer(&d, "Certificate '" PATH "' deleted!\n\n"), PUSHOP_REFUSED);
	assert_string_equal(d.res.reason, "expired on 2020-01-01T00:00:00Z");
	sbuf_free(&d.cmd);
}

/* A key of another certificate: HAProxy refuses the commit. */
static void test_key_mismatch_refused(void **state)
{
	struct dialogue d;

	(void)state;
	begin(&d, PUSHOP_PUSH, 0);
	answer(&d, "New empty certificate store '" PATH "'!\n\n");
	answer(&d, "Transaction created for certificate " PATH "!\n\n");
	answer(&d, held);
	answer(&d, "inconsistencies between private key and certificate loaded '" PATH "'.\n"
		   "Can't commit " PATH "!\n\n");
	expect_cmd(&d, "abort ssl cert " PATH);
	answer(&d, "Transaction aborted for certificate '" PATH "'!\n\n");
	expect_cmd(&d, "del ssl cert " PATH);
	assert_int_equal(answer(&d, "Certificate '" PATH "' deleted!\n\n"), PUSHOP_REFUSED);
	assert_string_equal(d.res.reason, "the private key does not match the certificate");
	sbuf_free(&d.cmd);
}

/* Busy, or not an admin socket: the push fails, to be retried. */
static void test_busy_and_denied(void **state)
{
	struct dialogue d;

	(void)state;
	begin(&d, PUSHOP_PUSH, 0);
	answer(&d, "New empty certificate store '" PATH "'!\n\n");
	assert_int_equal(answer(&d, "Can't update the certificate!\nOperations on certificates "
				"are currently locked!\n\n"), PUSHOP_FAILED);
	sbuf_free(&d.cmd);
	begin(&d, PUSHOP_PUSH, 0);
	assert_int_equal(answer(&d, "Permission denied\n\n"), PUSHOP_FAILED);
	assert_string_equal(d.res.reason, "Permission denied");
	sbuf_free(&d.cmd);
}

/* The default certificate is replaced in place: no crt-list line added;
 * nothing at all when HAProxy holds it already.
 */
static void test_default(void **state)
{
	static const char dflt_held[] = "Filename: /etc/haproxy/default.pem\nStatus: Used\n"
					"Serial: 0A1B\n\n";
	struct dialogue d;

	(void)state;
	begin(&d, PUSHOP_DEFAULT, 0);
	assert_string_equal(d.cmd.buf, "show ssl cert /etc/haproxy/default.pem");
	assert_int_equal(answer(&d, dflt_held), PUSHOP_SERVED);
	sbuf_free(&d.cmd);

	begin(&d, PUSHOP_DEFAULT, 0);
	answer(&d, held_other);
	expect_cmd(&d, "set ssl cert /etc/haproxy/default.pem <<\n" PEM "\n");
	answer(&d, "Transaction updated for certificate /etc/haproxy/default.pem!\n\n");
	answer(&d, held);
	answer(&d, "Committing /etc/haproxy/default.pem\nSuccess!\n\n");
	expect_cmd(&d, "show ssl cert /etc/haproxy/default.pem");
	assert_int_equal(answer(&d, dflt_held), PUSHOP_PUSHED);
	sbuf_free(&d.cmd);
}

static void test_removals(void **state)
{
	struct dialogue d;

	(void)state;
	begin(&d, PUSHOP_DEL_ENTRY, 0);
	assert_string_equal(d.cmd.buf, "del ssl crt-list " LIST " " PATH ":7");
	assert_int_equal(answer(&d, "Entry '" PATH "' deleted in crtlist '" LIST "'!\n\n"),
			 PUSHOP_REMOVED);
	sbuf_free(&d.cmd);
	begin(&d, PUSHOP_DEL_STORE, 0);
	assert_string_equal(d.cmd.buf, "del ssl cert " PATH);
	assert_int_equal(answer(&d, "Can't remove the certificate: certificate '" PATH "' in use, "
				"can't be deleted!\n\n"), PUSHOP_KEPT);
	assert_non_null(strstr(d.res.reason, "in use"));
	sbuf_free(&d.cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_push_end_to_end),
		cmocka_unit_test(test_store_listed),
		cmocka_unit_test(test_set_lands_elsewhere),
		cmocka_unit_test(test_other_material_in_transaction),
		cmocka_unit_test(test_expired_refused),
		cmocka_unit_test(test_key_mismatch_refused),
		cmocka_unit_test(test_busy_and_denied),
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_removals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
