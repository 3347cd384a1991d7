/* The JSON pull scanner: every value type, escapes and UTF-8, skipping
 * nested values, and the malformed inputs it must refuse (it reads what the
 * Docker daemon, or whatever answers on its socket, sends).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/arena.h"
#include "common/jscan.h"

static void init(struct jscan *s, const char *text)
{
	jscan_init(s, text, strlen(text));
}

/* Skips <text> as one value and checks that it is valid (or not). */
static int skip_all(const char *text)
{
	struct jscan s;

	init(&s, text);
	if (jscan_skip(&s) < 0)
		return -1;
	return jscan_finish(&s);
}

static void test_object_walk(void **state)
{
	struct jscan s;
	struct jscan_str key, v;
	int64_t n = 0;
	int b = 0, rc, seen = 0;

	(void)state;
	init(&s, " { \"a\" : \"x\", \"n\": -42, \"skip\": {\"deep\": [1, 2, {\"z\": null}]}, \"b\": true } ");
	assert_int_equal(jscan_enter_object(&s), 0);
	while ((rc = jscan_next_member(&s, &key)) == 1) {
		if (jscan_str_eq(&key, "a")) {
			assert_int_equal(jscan_string(&s, &v), 0);
			assert_int_equal(v.len, 1);
			assert_memory_equal(v.s, "x", 1);
			seen |= 1;
		} else if (jscan_str_eq(&key, "n")) {
			assert_int_equal(jscan_int64(&s, &n), 0);
			seen |= 2;
		} else if (jscan_str_eq(&key, "b")) {
			assert_int_equal(jscan_bool(&s, &b), 0);
			seen |= 4;
		} else {
			assert_int_equal(jscan_skip(&s), 0);
		}
	}
	assert_int_equal(rc, 0);
	assert_int_equal(jscan_finish(&s), 0);
	assert_int_equal(seen, 7);
	assert_int_equal(n, -42);
	assert_int_equal(b, 1);
}

static void test_array_walk(void **state)
{
	struct jscan s;
	int64_t v, sum = 0;
	int rc, count = 0;

	(void)state;
	init(&s, "[1,2 , 3,\n4]");
	assert_int_equal(jscan_enter_array(&s), 0);
	while ((rc = jscan_next_element(&s)) == 1) {
		assert_int_equal(jscan_int64(&s, &v), 0);
		sum += v;
		count++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(count, 4);
	assert_int_equal(sum, 10);

	init(&s, "[]");
	assert_int_equal(jscan_enter_array(&s), 0);
	assert_int_equal(jscan_next_element(&s), 0);
	assert_int_equal(jscan_finish(&s), 0);

	/* nested empty containers keep the comma logic of their parent */
	init(&s, "[[],{},[[]],1]");
	assert_int_equal(jscan_enter_array(&s), 0);
	count = 0;
	while ((rc = jscan_next_element(&s)) == 1) {
		assert_int_equal(jscan_skip(&s), 0);
		count++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(count, 4);
}

static void test_valid_values(void **state)
{
	static const char *const ok[] = {
		"0", "-0", "12", "-1.5", "1e9", "1E+2", "2.5e-3", "true", "false", "null",
		"\"\"", "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", "\"\\u00e9\\ud83d\\ude00\"",
		"{}", "[]", "{\"a\":[{}, [], \"x\", 1, null]}", " \t\r\n[ 1 ] \n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (skip_all(ok[i]) != 0)
			fail_msg("refused valid JSON: %s", ok[i]);
	}
}

static void test_invalid_values(void **state)
{
	static const char *const bad[] = {
		"", " ", "{", "[", "}", "]", "[1,]", "[,1]", "[1 2]", "{\"a\"}", "{\"a\":}",
		"{\"a\":1,}", "{a:1}", "{\"a\":1]", "[1}", "01", "-", "1.", ".5", "1e", "+1",
		"tru", "nul", "falsey", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"",
		"\"tab\there\"", "[1] 2", "{\"a\":1}}", "'a'", "NaN", "Infinity",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (skip_all(bad[i]) == 0)
			fail_msg("accepted invalid JSON: '%s'", bad[i]);
	}
}

static void test_depth_limit(void **state)
{
	char deep[JSCAN_MAX_DEPTH * 2 + 8];
	size_t n = 0;

	(void)state;
	/* exactly the limit is fine, one more is refused, and neither
	 * recurses on the C stack */
	for (int i = 0; i < JSCAN_MAX_DEPTH; i++)
		deep[n++] = '[';
	for (int i = 0; i < JSCAN_MAX_DEPTH; i++)
		deep[n++] = ']';
	deep[n] = '\0';
	assert_int_equal(skip_all(deep), 0);

	n = 0;
	for (int i = 0; i <= JSCAN_MAX_DEPTH; i++)
		deep[n++] = '[';
	for (int i = 0; i <= JSCAN_MAX_DEPTH; i++)
		deep[n++] = ']';
	deep[n] = '\0';
	assert_int_equal(skip_all(deep), -1);
}

static void test_integers(void **state)
{
	struct jscan s;
	int64_t v;

	(void)state;
	init(&s, "9223372036854775807");
	assert_int_equal(jscan_int64(&s, &v), 0);
	assert_true(v == INT64_MAX);
	init(&s, "-9223372036854775808");
	assert_int_equal(jscan_int64(&s, &v), 0);
	assert_true(v == INT64_MIN);
	init(&s, "9223372036854775808");
	assert_int_equal(jscan_int64(&s, &v), -1);
	init(&s, "99999999999999999999999");
	assert_int_equal(jscan_int64(&s, &v), -1);
	init(&s, "1.5");
	assert_int_equal(jscan_int64(&s, &v), -1);
	init(&s, "\"1\"");
	assert_int_equal(jscan_int64(&s, &v), -1);
	assert_non_null(jscan_error(&s));
}

static void test_string_decoding(void **state)
{
	struct arena *a = arena_new(1024);
	struct jscan s;
	struct jscan_str v;
	char buf[16];

	(void)state;
	init(&s, "\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\/\"");
	assert_int_equal(jscan_string(&s, &v), 0);
	assert_true(v.escaped);
	assert_string_equal(jscan_str_dup(a, &v), "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" /");

	/* raw UTF-8 passes, invalid UTF-8 and NUL are refused */
	init(&s, "\"h\xc3\xa9llo\"");
	assert_int_equal(jscan_string(&s, &v), 0);
	assert_string_equal(jscan_str_dup(a, &v), "h\xc3\xa9llo");
	init(&s, "\"bad \xc3\x28\"");
	assert_int_equal(jscan_string(&s, &v), 0);
	assert_null(jscan_str_dup(a, &v));
	init(&s, "\"overlong \xc0\xaf\"");
	assert_int_equal(jscan_string(&s, &v), 0);
	assert_null(jscan_str_dup(a, &v));
	init(&s, "\"nul \\u0000 inside\"");
	assert_int_equal(jscan_string(&s, &v), 0);
	assert_null(jscan_str_dup(a, &v));
	init(&s, "\"lone \\ud800 surrogate\"");
	assert_int_equal(jscan_string(&s, &v), 0);
	assert_null(jscan_str_dup(a, &v));
	init(&s, "\"low \\udc00 first\"");
	assert_int_equal(jscan_string(&s, &v), 0);
	assert_null(jscan_str_dup(a, &v));

	/* bounded copies */
	init(&s, "\"0123456789abcdef\"");
	assert_int_equal(jscan_string(&s, &v), 0);
	assert_int_equal(jscan_str_copy(&v, buf, sizeof(buf)), -1);
	{
		char exact[17];

		/* the NUL needs the 17th byte */
		assert_int_equal(jscan_str_copy(&v, exact, sizeof(exact)), 16);
		assert_string_equal(exact, "0123456789abcdef");
	}
	init(&s, "\"\\u0041BC\"");
	assert_int_equal(jscan_string(&s, &v), 0);
	assert_int_equal(jscan_str_copy(&v, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "ABC");
	assert_true(jscan_str_eq(&v, "ABC"));
	assert_false(jscan_str_eq(&v, "ABCD"));
	assert_true(jscan_str_prefix(&v, "AB"));
	arena_free(a);
}

/* The member iterator: known names by index, in document order, the
 * others skipped whatever they hold; an escaped key matches its decoding.
 */
static void test_known_members(void **state)
{
	static const char *const names[] = { "ID", "Spec", "Name", NULL };
	struct jscan s;
	int which, rc, order[8], n = 0;

	(void)state;
	init(&s, "{\"Version\":{\"Index\":[1,{\"ID\":2}]},\"Name\":\"x\",\"\\u0049D\":\"y\","
	     "\"Other\":null,\"Spec\":{\"Name\":\"z\"},\"Name\":3}");
	assert_int_equal(jscan_enter_object(&s), 0);
	while ((rc = jscan_next_known(&s, names, &which)) == 1) {
		assert_true(n < 8);
		order[n++] = which;
		assert_int_equal(jscan_skip(&s), 0);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(jscan_finish(&s), 0);
	assert_int_equal(n, 4);
	assert_int_equal(order[0], 2);
	assert_int_equal(order[1], 0);   /* "\u0049D" is "ID" */
	assert_int_equal(order[2], 1);
	assert_int_equal(order[3], 2);

	/* no known member at all: the whole object is skipped */
	init(&s, "{\"a\":[1,2],\"b\":{\"ID\":1}}");
	assert_int_equal(jscan_enter_object(&s), 0);
	assert_int_equal(jscan_next_known(&s, names, &which), 0);
	assert_int_equal(jscan_finish(&s), 0);

	/* a syntax error in a skipped value ends the walk */
	init(&s, "{\"a\":[1,,2],\"ID\":1}");
	assert_int_equal(jscan_enter_object(&s), 0);
	assert_int_equal(jscan_next_known(&s, names, &which), -1);
	assert_non_null(jscan_error(&s));
}

static void test_open_object(void **state)
{
	static const char *const none[] = { NULL };
	struct jscan s;
	int which;

	(void)state;
	init(&s, "{\"a\":1}");
	assert_int_equal(jscan_open_object(&s), 1);
	assert_int_equal(jscan_next_known(&s, none, &which), 0);
	assert_int_equal(jscan_finish(&s), 0);
	/* optional members: null and other types are consumed, no error */
	init(&s, "null");
	assert_int_equal(jscan_open_object(&s), 0);
	assert_int_equal(jscan_finish(&s), 0);
	init(&s, "[{\"a\":1}]");
	assert_int_equal(jscan_open_object(&s), 0);
	assert_int_equal(jscan_finish(&s), 0);
	init(&s, "[1,]");
	assert_int_equal(jscan_open_object(&s), -1);
}

static int path_string(struct jscan *s, void *arg)
{
	struct jscan_str v;
	char *out = arg;

	if (jscan_peek(s) != JSCAN_STRING)
		return jscan_skip(s);
	if (jscan_string(s, &v) < 0)
		return -1;
	return jscan_str_copy(&v, out, 32) < 0 ? -1 : 0;
}

static int path_fail(struct jscan *s, void *arg)
{
	(void)s;
	(void)arg;
	return -1;
}

/* Reads <path> of <doc> as a string into <out>; returns what jscan_path()
 * and then jscan_finish() said.
 */
static int read_path(const char *doc, const char *const *path, char *out)
{
	struct jscan s;

	out[0] = '\0';
	init(&s, doc);
	if (jscan_path(&s, path, path_string, out) < 0)
		return -1;
	return jscan_finish(&s);
}

static void test_path(void **state)
{
	static const char *const path[] = { "Description", "Hostname", NULL };
	static const char *const itself[] = { NULL };
	char out[32];
	struct jscan s;

	(void)state;
	assert_int_equal(read_path("{\"ID\":\"n\",\"Description\":{\"Platform\":{\"Hostname\":\"no\"},"
				   "\"Hostname\":\"vm\",\"x\":[1]},\"Status\":{}}", path, out), 0);
	assert_string_equal(out, "vm");
	/* missing, null or not an object on the way: nothing read, no error */
	assert_int_equal(read_path("{\"ID\":\"n\"}", path, out), 0);
	assert_string_equal(out, "");
	assert_int_equal(read_path("{\"Description\":null}", path, out), 0);
	assert_string_equal(out, "");
	assert_int_equal(read_path("{\"Description\":[\"Hostname\"]}", path, out), 0);
	assert_string_equal(out, "");
	assert_int_equal(read_path("\"Hostname\"", path, out), 0);
	assert_string_equal(out, "");
	/* a repeated member is read each time: the last one wins */
	assert_int_equal(read_path("{\"Description\":{\"Hostname\":\"a\"},"
				   "\"Description\":{\"Hostname\":\"b\"}}", path, out), 0);
	assert_string_equal(out, "b");
	/* the empty path is the value itself */
	assert_int_equal(read_path("\"itself\"", itself, out), 0);
	assert_string_equal(out, "itself");
	/* errors: a syntax error anywhere in the value, a failing reader */
	assert_int_equal(read_path("{\"Description\":{\"Hostname\":\"vm\"},\"x\":[1,]}", path, out), -1);
	init(&s, "{\"Description\":{\"Hostname\":\"vm\"}}");
	assert_int_equal(jscan_path(&s, path, path_fail, NULL), -1);
}

static void test_sticky_error(void **state)
{
	struct jscan s;
	struct jscan_str key;

	(void)state;
	init(&s, "{\"a\" 1}");
	assert_int_equal(jscan_enter_object(&s), 0);
	assert_int_equal(jscan_next_member(&s, &key), -1);
	assert_non_null(jscan_error(&s));
	assert_non_null(strstr(jscan_error(&s), "byte"));
	/* every later call fails too */
	assert_int_equal(jscan_skip(&s), -1);
	assert_int_equal(jscan_peek(&s), JSCAN_NONE);
	assert_int_equal(jscan_finish(&s), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_object_walk),
		cmocka_unit_test(test_array_walk),
		cmocka_unit_test(test_valid_values),
		cmocka_unit_test(test_invalid_values),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_string_decoding),
		cmocka_unit_test(test_known_members),
		cmocka_unit_test(test_open_object),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_sticky_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
