/* The string map (common/strmap.c): lookups after growth and after many
 * removals (backward-shift deletion leaves no tombstone), iteration, and
 * deletion while iterating, which must neither skip an entry nor return
 * one twice, even when a cluster wraps past the end of the slot array:
 * the certificate manager sweeps its maps that way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/hash.h"
#include "common/strmap.h"

#define NKEYS 4096

static char keys[NKEYS][24];

static void make_keys(size_t n)
{
	for (size_t i = 0; i < n; i++)
		snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
}

/* A small deterministic generator: every run tests the same cases. */
static uint64_t rnd_state;

static uint64_t rnd(void)
{
	rnd_state = rnd_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return rnd_state >> 33;
}

/* The index of <key> in keys[], from its value. */
static size_t index_of(void *val)
{
	return (size_t)(uintptr_t)val - 1;
}

static struct strmap *filled(size_t n)
{
	struct strmap *m = strmap_new();

	assert_non_null(m);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(strmap_put(m, keys[i], (void *)(uintptr_t)(i + 1)), 0);
	assert_int_equal(strmap_count(m), n);
	return m;
}

static void test_put_get_del(void **state)
{
	struct strmap *m = strmap_new();
	char other[] = "alpha";
	int a, b;

	(void)state;
	assert_null(strmap_get(m, "alpha"));
	assert_null(strmap_del(m, "alpha"));
	assert_int_equal(strmap_put(m, "alpha", &a), 0);
	assert_int_equal(strmap_put(m, "", &b), 0);
	assert_ptr_equal(strmap_get(m, other), &a);
	assert_ptr_equal(strmap_get(m, ""), &b);
	assert_ptr_equal(strmap_getn(m, "alphabet", 5), &a);
	assert_null(strmap_getn(m, "alphabet", 4));
	/* a second put replaces the value, and the key it borrows */
	assert_int_equal(strmap_put(m, other, &b), 0);
	assert_int_equal(strmap_count(m), 2);
	assert_ptr_equal(strmap_get(m, "alpha"), &b);
	assert_ptr_equal(strmap_del(m, "alpha"), &b);
	assert_null(strmap_get(m, "alpha"));
	assert_int_equal(strmap_count(m), 1);
	strmap_clear(m);
	assert_int_equal(strmap_count(m), 0);
	assert_null(strmap_get(m, ""));
	strmap_free(m);
	strmap_free(NULL);
}

/* Growth keeps every entry; removing every other one (each removal shifts
 * its cluster back) leaves the rest reachable.
 */
static void test_growth_and_removals(void **state)
{
	struct strmap *m;

	(void)state;
	make_keys(NKEYS);
	m = filled(NKEYS);
	for (size_t i = 0; i < NKEYS; i++)
		assert_int_equal(index_of(strmap_get(m, keys[i])), i);
	for (size_t i = 0; i < NKEYS; i += 2)
		assert_int_equal(index_of(strmap_del(m, keys[i])), i);
	assert_int_equal(strmap_count(m), NKEYS / 2);
	for (size_t i = 0; i < NKEYS; i++) {
		if (i % 2)
			assert_int_equal(index_of(strmap_get(m, keys[i])), i);
		else
			assert_null(strmap_get(m, keys[i]));
	}
	strmap_free(m);
}

static void test_iteration(void **state)
{
	static unsigned seen[NKEYS];
	struct strmap *m, *empty = strmap_new();
	size_t pos = 0, n = 0;
	const char *key;
	void *val;

	(void)state;
	assert_int_equal(strmap_next(empty, &pos, &key, &val), 0);
	strmap_free(empty);
	make_keys(1000);
	m = filled(1000);
	memset(seen, 0, sizeof(seen));
	pos = 0;
	while (strmap_next(m, &pos, &key, &val)) {
		assert_string_equal(key, keys[index_of(val)]);
		seen[index_of(val)]++;
		n++;
	}
	assert_int_equal(n, 1000);
	for (size_t i = 0; i < 1000; i++)
		assert_int_equal(seen[i], 1);
	/* the end stays the end */
	assert_int_equal(strmap_next(m, &pos, &key, &val), 0);
	strmap_free(m);
}

/* Iterates over <m> (holding keys[0..n-1]), deleting the entries whose bit
 * is set in <del>; checks that each entry came exactly once and that what
 * is left is exactly the rest, all reachable.
 */
static void sweep_and_check(struct strmap *m, size_t n, const unsigned char *del)
{
	static unsigned seen[NKEYS];
	size_t pos = 0, left = 0;
	const char *key;
	void *val;

	memset(seen, 0, sizeof(seen));
	while (strmap_next(m, &pos, &key, &val)) {
		size_t i = index_of(val);

		assert_string_equal(key, keys[i]);
		seen[i]++;
		if (del[i])
			assert_ptr_equal(strmap_del_current(m, &pos), val);
	}
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(seen[i], 1);
		if (del[i]) {
			assert_null(strmap_get(m, keys[i]));
		} else {
			assert_int_equal(index_of(strmap_get(m, keys[i])), i);
			left++;
		}
	}
	assert_int_equal(strmap_count(m), left);
}

/* Deletion while iterating, random maps and random choices. */
static void test_delete_while_iterating(void **state)
{
	static unsigned char del[NKEYS];

	(void)state;
	make_keys(NKEYS);
	rnd_state = 42;
	for (int round = 0; round < 300; round++) {
		size_t n = 1 + rnd() % (round < 200 ? 40 : NKEYS);
		unsigned pct = (unsigned)(rnd() % 101);
		struct strmap *m = filled(n);

		for (size_t i = 0; i < n; i++)
			del[i] = rnd() % 100 < pct;
		sweep_and_check(m, n, del);
		strmap_free(m);
	}
}

/* Keys whose home slot in a 16-slot map is 14 or 15 make a cluster that
 * wraps past the end of the array: every subset of them is deleted while
 * iterating.
 */
static void test_delete_while_iterating_wrapped(void **state)
{
	static char wrap[7][24];
	unsigned char del[7];
	size_t found = 0;

	(void)state;
	for (unsigned i = 0; found < 7 && i < 100000; i++) {
		char k[24];

		snprintf(k, sizeof(k), "w%u", i);
		if ((hash_bytes(HASH_SEED, k, strlen(k)) & 15) >= 14)
			memcpy(wrap[found++], k, sizeof(k));
	}
	assert_int_equal(found, 7);
	memcpy(keys, wrap, sizeof(wrap));
	for (unsigned subset = 0; subset < 128; subset++) {
		/* seven entries: the map keeps its 16 slots */
		struct strmap *m = filled(7);

		for (size_t i = 0; i < 7; i++)
			del[i] = (subset >> i) & 1;
		sweep_and_check(m, 7, del);
		strmap_free(m);
	}
}

/* The certificate pusher's sweep: entries seen by the last plan keep
 * their record (their grace period runs on), the others go, however many.
 */
static void test_sweep_keeps_marked(void **state)
{
	static unsigned char del[NKEYS];
	struct strmap *m;

	(void)state;
	make_keys(200);
	for (size_t i = 0; i < 200; i++)
		del[i] = i < 150;   /* 150 gone, past any batch size */
	m = filled(200);
	sweep_and_check(m, 200, del);
	strmap_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_del),
		cmocka_unit_test(test_growth_and_removals),
		cmocka_unit_test(test_iteration),
		cmocka_unit_test(test_delete_while_iterating),
		cmocka_unit_test(test_delete_while_iterating_wrapped),
		cmocka_unit_test(test_sweep_keeps_marked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
