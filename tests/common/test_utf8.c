/* UTF-8 decoding and encoding (common/utf8.c): the one decoder behind host
 * names, JSON strings, log lines, metric labels and text tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/utf8.h"

static size_t dec(const char *s, size_t n, uint32_t *cp)
{
	return utf8_decode((const unsigned char *)s, n, cp);
}

static void test_valid(void **state)
{
	uint32_t cp;

	(void)state;
	assert_int_equal(dec("A", 1, &cp), 1);
	assert_int_equal(cp, 'A');
	assert_int_equal(dec("", 1, &cp), 1);       /* NUL is a character */
	assert_int_equal(cp, 0);
	assert_int_equal(dec("\xc3\xa9", 2, &cp), 2);
	assert_int_equal(cp, 0xe9);
	assert_int_equal(dec("\xe2\x82\xac", 3, &cp), 3);
	assert_int_equal(cp, 0x20ac);
	assert_int_equal(dec("\xf0\x9f\x98\x80", 4, &cp), 4);
	assert_int_equal(cp, 0x1f600);
	assert_int_equal(dec("\xf4\x8f\xbf\xbf", 4, &cp), 4);
	assert_int_equal(cp, 0x10ffff);
	assert_int_equal(dec("\xc3\xa9", 2, NULL), 2);
}

static void test_invalid(void **state)
{
	static const struct {
		const char *s;
		size_t n;
	} bad[] = {
		{ "\x80", 1 },                 /* stray continuation */
		{ "\xc0\xaf", 2 },             /* overlong '/' */
		{ "\xc1\xbf", 2 },
		{ "\xe0\x80\xaf", 3 },         /* overlong, three bytes */
		{ "\xf0\x80\x80\xaf", 4 },     /* overlong, four bytes */
		{ "\xed\xa0\x80", 3 },         /* surrogate U+D800 */
		{ "\xf4\x90\x80\x80", 4 },     /* U+110000 */
		{ "\xf5\x80\x80\x80", 4 },
		{ "\xff", 1 },
		{ "\xc3", 1 },                 /* truncated by the length */
		{ "\xe2\x82", 3 },             /* truncated by a NUL */
		{ "\xc3(", 2 },                /* not a continuation */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (dec(bad[i].s, bad[i].n, NULL) != 0)
			fail_msg("sequence %zu accepted", i);
}

/* Every scalar value goes through encode and back. */
static void test_round_trip(void **state)
{
	char buf[UTF8_MAX];

	(void)state;
	for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
		size_t n;
		uint32_t back;

		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		n = utf8_encode(buf, cp);
		assert_true(n >= 1 && n <= UTF8_MAX);
		assert_int_equal(utf8_decode((const unsigned char *)buf, n, &back), n);
		assert_int_equal(back, cp);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
