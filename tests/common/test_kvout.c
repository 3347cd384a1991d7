/* "key: value" answers (common/kvout.c): a value from outside (Docker's
 * error text, a path) stays on its one line in text, escaped as table
 * cells are (it was written raw: a newline in it forged a line of "show
 * info"), and is a JSON string as it is in JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/kvout.h"
#include "common/sbuf.h"

static void test_text_escapes_values(void **state)
{
	struct sbuf out = SBUF_INIT;
	struct kvout k;

	(void)state;
	kvout_begin(&k, &out, 0);
	kvout_str(&k, "last_docker_error", "bad\nforged: 1\x1b[2J");
	kvout_str(&k, "routes_file", NULL);
	kvout_str(&k, "name", "caf\xc3\xa9");
	kvout_u64(&k, "n", 3);
	kvout_end(&k);
	assert_string_equal(out.buf, "last_docker_error: bad\\x0aforged: 1\\x1b[2J\n"
			    "routes_file: -\nname: caf\xc3\xa9\nn: 3\n");
	sbuf_free(&out);
}

static void test_json_keeps_values(void **state)
{
	struct sbuf out = SBUF_INIT;
	struct kvout k;

	(void)state;
	kvout_begin(&k, &out, 1);
	kvout_str(&k, "e", "a\nb");
	kvout_str(&k, "f", NULL);
	kvout_end(&k);
	assert_string_equal(out.buf, "{\"e\":\"a\\u000ab\",\"f\":null}\n");
	sbuf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_escapes_values),
		cmocka_unit_test(test_json_keeps_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
