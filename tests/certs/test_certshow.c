/* "show certs" (certs/certshow.c): the aligned listing and its JSON twin.
 * A certificate's reason comes from outside (a Docker error, HAProxy's
 * answer, a label's value): a line feed or a terminal escape in it is
 * shown as text and cannot forge a row.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <ev.h>
#include <jansson.h>

#include "certs/certident.h"
#include "certs/certshow.h"
#include "certs/certtargets.h"
#include "common/sbuf.h"

struct fixture {
	struct certtargets *targets;
	struct certident ids[2];
	struct certident dflt;
};

static int setup(void **state)
{
	static const char *const specs[] = { "unix:/nonexistent/admin.sock" };
	struct certtargets_opts o = { .specs = specs, .nspecs = 1 };
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	if (!f)
		return -1;
	/* no set is handed over: nothing is ever sent */
	f->targets = certtargets_new(EV_DEFAULT, &o, err, sizeof(err));
	if (!f->targets)
		return -1;
	f->dflt.name = strdup("default");
	f->dflt.source = "file";
	f->dflt.state = CERTIDENT_LOADING;
	f->ids[0].name = strdup("blog_pem");
	f->ids[0].cert = strdup("blog_pem");
	f->ids[0].filters = strdup("blog.test www.blog.test");
	f->ids[0].services = strdup("blog");
	f->ids[0].source = "config";
	f->ids[0].state = CERTIDENT_MISSING;
	snprintf(f->ids[0].reason, sizeof(f->ids[0].reason),
		 "cannot look for blog_pem in Docker: 500\nbank  file  bank.test\x1b[2J");
	f->ids[1].name = strdup("shop_cert+shop_key");
	f->ids[1].cert = strdup("shop_cert");
	f->ids[1].key = strdup("shop_key");
	f->ids[1].source = "-";
	f->ids[1].state = CERTIDENT_LOADING;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	certtargets_free(f->targets);
	certident_clear(&f->ids[0]);
	certident_clear(&f->ids[1]);
	certident_clear(&f->dflt);
	free(f);
	return 0;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_text(void **state)
{
	struct fixture *f = *state;
	struct certshow_in in = { .dflt = &f->dflt, .ids = f->ids, .nids = 2,
				  .targets = f->targets };
	struct sbuf out = SBUF_INIT;

	certshow_render(&in, &out, 0);
	/* no line is forged by the reason */
	assert_int_equal(count_lines(out.buf), 7);
	assert_null(strchr(out.buf, '\x1b'));
	assert_string_equal(out.buf,
		"NAME                SOURCE  HOSTS                    NOT_AFTER  STATUS   "
		"TARGETS                               REASON\n"
		"default             file    -                        -          loading  "
		"unix:/nonexistent/admin.sock=pending  -\n"
		"blog_pem            config  blog.test www.blog.test  -          missing  "
		"unix:/nonexistent/admin.sock=pending  cannot look for blog_pem in Docker: "
		"500\\x0abank  file  bank.test\\x1b[2J\n"
		"shop_cert+shop_key  -       -                        -          loading  "
		"unix:/nonexistent/admin.sock=pending  -\n"
		"\n"
		"TARGET                        STATE    CRT_LIST  LAST_SYNC  PUSHED  REMOVED  ERROR\n"
		"unix:/nonexistent/admin.sock  pending  -         -          0       0        -\n");
	sbuf_free(&out);
}

static void test_json(void **state)
{
	struct fixture *f = *state;
	struct certshow_in in = { .ids = f->ids, .nids = 2, .targets = f->targets };
	struct sbuf out = SBUF_INIT;
	json_error_t je;
	json_t *j, *c;

	certshow_render(&in, &out, 1);
	j = json_loads(out.buf, 0, &je);
	assert_non_null(j);
	c = json_array_get(json_object_get(j, "certificates"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "name")), "blog_pem");
	assert_string_equal(json_string_value(json_object_get(c, "status")), "missing");
	assert_string_equal(json_string_value(json_object_get(c, "reason")), f->ids[0].reason);
	assert_int_equal(json_array_size(json_object_get(c, "hosts")), 2);
	assert_int_equal(json_array_size(json_object_get(j, "certificates")), 2);
	assert_int_equal(json_array_size(json_object_get(j, "targets")), 1);
	json_decref(j);
	sbuf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
