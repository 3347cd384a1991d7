/* Certificate files: names that cannot leave the directory, reads that
 * are bounded, stamps that change with the content.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "certs/certsrc.h"
#include "certs/pem.h"
#include "common/sbuf.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/certsrc-test-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *name, const char *text, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
}

static void test_names(void **state)
{
	char long_name[80];

	(void)state;
	assert_true(certsrc_valid_name("shop_cert"));
	assert_true(certsrc_valid_name("a.b-c_d.pem"));
	assert_true(certsrc_valid_name("0"));
	/* names that would leave the directory, or are not Docker names */
	assert_false(certsrc_valid_name(""));
	assert_false(certsrc_valid_name(".."));
	assert_false(certsrc_valid_name("../etc/passwd"));
	assert_false(certsrc_valid_name("a/b"));
	assert_false(certsrc_valid_name(".hidden"));
	assert_false(certsrc_valid_name("-x"));
	assert_false(certsrc_valid_name("a b"));
	assert_false(certsrc_valid_name("caf\xc3\xa9"));
	memset(long_name, 'a', 65);
	long_name[65] = '\0';
	assert_false(certsrc_valid_name(long_name));
	long_name[64] = '\0';
	assert_true(certsrc_valid_name(long_name));
}

static void test_read_and_stamp(void **state)
{
	struct sbuf out = SBUF_INIT;
	struct certsrc_stamp st, st2;
	char err[256];

	(void)state;
	write_file("c", "first", 5);
	assert_int_equal(certsrc_read(dir, "c", &out, &st, err, sizeof(err)), 1);
	assert_int_equal(out.len, 5);
	assert_memory_equal(out.buf, "first", 5);
	assert_int_equal(certsrc_stat(dir, "c", &st2, err, sizeof(err)), 1);
	assert_memory_equal(&st, &st2, sizeof(st));
	/* rewritten: another inode or size, so another stamp */
	write_file("c.tmp", "second!", 7);
	{
		char a[256], b[256];

		snprintf(a, sizeof(a), "%s/c.tmp", dir);
		snprintf(b, sizeof(b), "%s/c", dir);
		assert_int_equal(rename(a, b), 0);
	}
	assert_int_equal(certsrc_stat(dir, "c", &st2, err, sizeof(err)), 1);
	assert_memory_not_equal(&st, &st2, sizeof(st));
	assert_int_equal(certsrc_read(dir, "c", &out, &st, err, sizeof(err)), 1);
	assert_int_equal(out.len, 7);

	assert_int_equal(certsrc_read(dir, "absent", &out, &st, err, sizeof(err)), 0);
	assert_int_equal(certsrc_stat(dir, "absent", &st, err, sizeof(err)), 0);
	sbuf_free(&out);
}

static void test_refused_files(void **state)
{
	struct sbuf out = SBUF_INIT;
	struct certsrc_stamp st;
	char err[256], path[256];
	char *big;

	(void)state;
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(certsrc_read(dir, "sub", &out, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(certsrc_stat(dir, "sub", &st, err, sizeof(err)), -1);

	big = calloc(1, PEM_MAX_INPUT + 1);
	assert_non_null(big);
	write_file("big", big, PEM_MAX_INPUT + 1);
	free(big);
	assert_int_equal(certsrc_read(dir, "big", &out, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "larger than 1 MB"));
	sbuf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_read_and_stamp),
		cmocka_unit_test(test_refused_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
