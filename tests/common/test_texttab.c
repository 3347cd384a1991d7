/* Aligned text tables (common/texttab.c): widths from headings and
 * cells, the last column unpadded, and cells from outside escaped so that
 * a label with a line feed or a terminal escape cannot forge a row.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/sbuf.h"
#include "common/texttab.h"

static void test_alignment(void **state)
{
	static const char *const head[] = { "NAME", "HOSTS", "REASON" };
	struct texttab t;
	struct sbuf out = SBUF_INIT;

	(void)state;
	texttab_init(&t, 3, head);
	texttab_measure(&t, (const char *const[]){ "web-frontend", NULL, "a long last cell" });
	texttab_measure(&t, (const char *const[]){ "api", "api.example.com", "" });
	texttab_row(&t, &out, head);
	texttab_row(&t, &out, (const char *const[]){ "web-frontend", NULL, "a long last cell" });
	texttab_row(&t, &out, (const char *const[]){ "api", "api.example.com", "" });
	assert_string_equal(out.buf,
			    "NAME          HOSTS            REASON\n"
			    "web-frontend  -                a long last cell\n"
			    "api           api.example.com  \n");
	sbuf_free(&out);
}

/* Guards the forged-row attack: "\n" and ESC in a label become text. */
static void test_escaping(void **state)
{
	static const char *const head[] = { "NAME", "HOSTS" };
	const char *evil = "x\nbank  routed\x1b[2J\\";
	struct texttab t;
	struct sbuf out = SBUF_INIT;

	(void)state;
	texttab_init(&t, 2, head);
	texttab_measure(&t, (const char *const[]){ evil, "h" });
	texttab_row(&t, &out, (const char *const[]){ evil, "h" });
	assert_string_equal(out.buf, "x\\x0abank  routed\\x1b[2J\\x5c  h\n");
	assert_int_equal(t.width[0], strlen("x\\x0abank  routed\\x1b[2J\\x5c"));
	sbuf_reset(&out);
	/* valid UTF-8 passes, invalid bytes are escaped */
	assert_int_equal(texttab_put(&out, "caf\xc3\xa9 \xff"), 10);
	assert_string_equal(out.buf, "caf\xc3\xa9 \\xff");
	sbuf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alignment),
		cmocka_unit_test(test_escaping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
