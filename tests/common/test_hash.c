/* The agent's hash (common/hash.h): chaining keeps boundaries, NULL and ""
 * differ, every byte and length counts, and the low bits spread well
 * enough to index tables directly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/hash.h"

static void test_distinct(void **state)
{
	(void)state;
	assert_true(hash_str(HASH_SEED, NULL) != hash_str(HASH_SEED, ""));
	assert_true(hash_str(hash_str(HASH_SEED, "ab"), "c") !=
		    hash_str(hash_str(HASH_SEED, "a"), "bc"));
	assert_true(hash_bytes(HASH_SEED, "\0", 1) != hash_bytes(HASH_SEED, "\0\0", 2));
	assert_true(hash_bytes(1, "x", 1) != hash_bytes(2, "x", 1));
	assert_int_equal(hash_str(HASH_SEED, "web"), hash_bytes(HASH_SEED, "web", 3));
}

/* Flipping any bit of a 16-byte key changes about half the output bits. */
static void test_avalanche(void **state)
{
	unsigned char key[16] = "0123456789abcdef";
	uint64_t base = hash_bytes(HASH_SEED, key, sizeof(key));

	(void)state;
	for (size_t bit = 0; bit < sizeof(key) * 8; bit++) {
		int changed;

		key[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		changed = __builtin_popcountll(base ^ hash_bytes(HASH_SEED, key, sizeof(key)));
		key[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		if (changed < 16 || changed > 48)
			fail_msg("bit %zu changes %d output bits", bit, changed);
	}
}

/* Service names of one stack ("app_web1", "app_web2", ...) into 256 slots
 * by their low bits: no slot gets more than three times its share.
 */
static void test_low_bits_spread(void **state)
{
	unsigned slots[256] = { 0 };
	char name[32];

	(void)state;
	for (unsigned i = 0; i < 25600; i++) {
		snprintf(name, sizeof(name), "app_web%u", i);
		slots[hash_str(HASH_SEED, name) & 255]++;
	}
	for (unsigned s = 0; s < 256; s++)
		assert_true(slots[s] > 33 && slots[s] < 300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_distinct),
		cmocka_unit_test(test_avalanche),
		cmocka_unit_test(test_low_bits_spread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
