/* Certificate references (routing/certref.c): the one kind of object a
 * certificate label names, from the label alone. Guards the resolution
 * rule: before it, a bare name was a file, a config or a secret,
 * whichever was found first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "routing/certref.h"

static void test_kinds(void **state)
{
	static const struct {
		const char *value;
		enum certref_kind kind;
		const char *name;
		int explicit_kind;
	} ok[] = {
		{ "shop_cert", CERTREF_SECRET, "shop_cert", 0 },   /* Interlock: a secret */
		{ "secret:shop_cert", CERTREF_SECRET, "shop_cert", 1 },
		{ "config:shop_pem", CERTREF_CONFIG, "shop_pem", 1 },
		{ "file:shop.pem", CERTREF_FILE, "shop.pem", 1 },
		{ "config:config:x", CERTREF_CONFIG, "config:x", 1 },   /* the name is checked later */
	};
	struct certref r;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(certref_parse(ok[i].value, &r, err, sizeof(err)), 0);
		assert_int_equal(r.kind, ok[i].kind);
		assert_string_equal(r.name, ok[i].name);
		assert_int_equal(r.explicit_kind, ok[i].explicit_kind);
	}
	assert_string_equal(certref_kind_name(CERTREF_SECRET), "secret");
	assert_string_equal(certref_kind_name(CERTREF_CONFIG), "config");
	assert_string_equal(certref_kind_name(CERTREF_FILE), "file");
}

/* Anything else is refused, never guessed. */
static void test_refused(void **state)
{
	static const struct {
		const char *value;
		const char *err;
	} bad[] = {
		{ "Config:x", "\"Config\" is not a kind of certificate source" },
		{ "volume:x", "\"volume\" is not a kind of certificate source" },
		{ ":x", "\"\" is not a kind of certificate source" },
		{ "config:", "\"config:\" names no config after the kind" },
		{ "secret:", "\"secret:\" names no secret after the kind" },
	};
	struct certref r;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(certref_parse(bad[i].value, &r, err, sizeof(err)), -1);
		assert_non_null(strstr(err, bad[i].err));
		assert_string_equal(r.name, bad[i].value);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
