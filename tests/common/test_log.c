/* The logger (common/log.c): one line per event in logfmt or JSON, level
 * checked before anything is formatted, and lines too long for the 4 kB
 * buffer cut between fields so that each stays one valid record.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/log.h"

static int fds[2];
static char line[16384];

static int setup(void **state)
{
	(void)state;
	if (pipe(fds) < 0)
		return -1;
	log_set_fd(fds[1]);
	log_set_level(LL_INFO);
	log_set_format(LOG_FMT_LOGFMT);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	log_set_fd(STDERR_FILENO);
	close(fds[0]);
	close(fds[1]);
	return 0;
}

/* Reads the one line written since the last call. */
static const char *read_line(void)
{
	ssize_t n = read(fds[0], line, sizeof(line) - 1);

	assert_true(n > 0);
	line[n] = '\0';
	assert_ptr_equal(strchr(line, '\n'), line + n - 1);
	return line;
}

static void test_logfmt_fields(void **state)
{
	const char *l;

	(void)state;
	LOG(LL_WARN, "spoa", "frame refused", KVS("peer", "127.0.0.1:4242"), KVI("status", 3),
	    KVS("reason", "frame is \"too\" big"), KVS("empty", ""), KVSN("cut", "abcdef", 3));
	l = read_line();
	assert_memory_equal(l, "ts=", 3);
	assert_non_null(strstr(l, " level=warn subsys=spoa msg=\"frame refused\" peer=127.0.0.1:4242"
			       " status=3 reason=\"frame is \\\"too\\\" big\" empty=\"\" cut=abc\n"));
}

static void test_json_fields(void **state)
{
	json_error_t je;
	json_t *j;

	(void)state;
	log_set_format(LOG_FMT_JSON);
	LOG(LL_ERROR, "discovery", "request failed", KVS("url", "/v1.41/tasks"), KVI("code", -1),
	    KVS("body", "line1\nline2\t\x01"));
	j = json_loads(read_line(), 0, &je);
	log_set_format(LOG_FMT_LOGFMT);
	if (!j)
		fail_msg("not JSON: %s: %s", je.text, line);
	assert_string_equal(json_string_value(json_object_get(j, "level")), "error");
	assert_string_equal(json_string_value(json_object_get(j, "subsys")), "discovery");
	assert_string_equal(json_string_value(json_object_get(j, "msg")), "request failed");
	assert_int_equal(json_integer_value(json_object_get(j, "code")), -1);
	assert_string_equal(json_string_value(json_object_get(j, "body")), "line1\nline2\t\x01");
	json_decref(j);
}

static int evaluated;

static const char *costly(void)
{
	evaluated++;
	return "x";
}

/* Guards "level-filtered before formatting": a hidden line evaluates none
 * of its arguments and writes nothing.
 */
static void test_level_filter_before_formatting(void **state)
{
	char c;

	(void)state;
	evaluated = 0;
	LOG(LL_DEBUG, "spoa", "per request detail", KVS("v", costly()));
	assert_int_equal(evaluated, 0);
	assert_false(log_enabled(LL_DEBUG));
	log_set_level(LL_DEBUG);
	assert_int_equal(log_get_level(), LL_DEBUG);
	LOG(LL_DEBUG, "spoa", "per request detail", KVS("v", costly()));
	assert_int_equal(evaluated, 1);
	read_line();
	log_set_level(LL_INFO);
	/* nothing else was written */
	LOG(LL_INFO, "t", "marker");
	assert_int_equal(read(fds[0], &c, 1), 1);
	assert_int_equal(c, 't');
	read_line();
}

static void fill(char *buf, size_t n, const char *unit)
{
	size_t ul = strlen(unit), i;

	for (i = 0; i + ul < n; i += ul)
		memcpy(buf + i, unit, ul);
	buf[i] = '\0';
}

/* Guards a cut line staying parseable: before, a long field was cut in
 * the middle and a JSON line lost its closing quote and brace.
 */
static void test_long_lines_stay_valid(void **state)
{
	static char big[6000];
	json_error_t je;
	json_t *j;
	const char *l;

	(void)state;
	fill(big, sizeof(big), "\xc3\xa9\"");    /* UTF-8 and quotes to escape */
	log_set_format(LOG_FMT_JSON);
	LOG(LL_INFO, "routing", "service skipped", KVS("service", "web"), KVS("reason", big),
	    KVI("after", 1));
	l = read_line();
	assert_true(strlen(l) <= 4096);
	j = json_loads(l, 0, &je);
	if (!j)
		fail_msg("cut JSON line invalid: %s", je.text);
	assert_string_equal(json_string_value(json_object_get(j, "service")), "web");
	assert_null(json_object_get(j, "reason"));
	assert_true(json_is_true(json_object_get(j, "truncated")));
	json_decref(j);

	/* a message longer than the line: cut inside, closed */
	LOG(LL_INFO, "routing", big);
	l = read_line();
	assert_true(strlen(l) <= 4096);
	j = json_loads(l, 0, &je);
	if (!j)
		fail_msg("cut JSON message invalid: %s", je.text);
	assert_true(json_is_true(json_object_get(j, "truncated")));
	json_decref(j);

	log_set_format(LOG_FMT_LOGFMT);
	LOG(LL_INFO, "routing", "service skipped", KVS("service", "web"), KVS("reason", big));
	l = read_line();
	assert_true(strlen(l) <= 4096);
	assert_non_null(strstr(l, " service=web truncated=true\n"));
	LOG(LL_INFO, "routing", big);
	l = read_line();
	assert_non_null(strstr(l, "\" truncated=true\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_logfmt_fields),
		cmocka_unit_test(test_json_fields),
		cmocka_unit_test(test_level_filter_before_formatting),
		cmocka_unit_test(test_long_lines_stay_valid),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
