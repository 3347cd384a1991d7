/* "show table" answers (haproxyapi/hatable.c) as HAProxy 2.6, 3.0 and 3.2
 * print the table swarm-service-traffic of haproxy-conf, and what HAProxy
 * or a broken link could send instead: error messages, cut lines, keys
 * that are not service names, numbers that do not fit, random bytes.
 * Guards against a malformed answer crashing the agent or being counted
 * as traffic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "haproxyapi/hatable.h"

#define TABLE "swarm-service-traffic"
#define HEAD "# table: swarm-service-traffic, type: string, size:4096, used:2\n"

struct rows {
	size_t n;
	struct hatable_row r[8];
};

static void on_row(void *arg, const struct hatable_row *row)
{
	struct rows *rs = arg;

	assert_true(strlen(row->key) >= 1 && strlen(row->key) <= HATABLE_KEY_MAX);
	if (rs->n < 8)
		rs->r[rs->n] = *row;
	rs->n++;
}

static long parse(const char *s, struct rows *rs, uint64_t *bad)
{
	char err[200];

	memset(rs, 0, sizeof(*rs));
	*bad = 0;
	return hatable_parse(s, strlen(s), TABLE, on_row, rs, bad, err, sizeof(err));
}

static void test_versions(void **state)
{
	/* as printed by 2.6.12, 3.0.11 and 3.2.26 with swarm-backends.cfg */
	static const char *const answers[] = {
		HEAD
		"0x55f16a11f7a0: key=other use=0 exp=3599852 http_req_cnt=1 gpc0=1 gpc1=0 gpc2=0 "
		"gpc3=0 gpc4=0 gpc5=0 gpc6=1 gpc7=0 gpc8=0 gpc9=0\n"
		"0x55f16a126bf0: key=web_app use=0 exp=3599681 http_req_cnt=17 gpc0=7 gpc1=2 gpc2=5 "
		"gpc3=3 gpc4=17 gpc5=0 gpc6=0 gpc7=0 gpc8=0 gpc9=0\n\n",
		HEAD
		"0x7f02039eecf0: key=other use=0 exp=3599835 shard=0 http_req_cnt=1 gpc0=1 gpc1=0 "
		"gpc2=0 gpc3=0 gpc4=0 gpc5=0 gpc6=1 gpc7=0 gpc8=0 gpc9=0\n"
		"0x7f02039eebb0: key=web_app use=1 exp=3599554 shard=0 http_req_cnt=17 gpc0=7 "
		"gpc1=2 gpc2=5 gpc3=3 gpc4=17 gpc5=0 gpc6=0 gpc7=0 gpc8=0 gpc9=0\n\n",
	};
	struct rows rs;
	uint64_t bad;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(parse(answers[i], &rs, &bad), 2);
		assert_int_equal(bad, 0);
		assert_string_equal(rs.r[0].key, "other");
		assert_int_equal(rs.r[0].http_req_cnt, 1);
		assert_int_equal(rs.r[0].gpc[6], 1);
		assert_string_equal(rs.r[1].key, "web_app");
		assert_int_equal(rs.r[1].http_req_cnt, 17);
		assert_int_equal(rs.r[1].ngpc, 10);
		assert_int_equal(rs.r[1].gpc[0], 7);
		assert_int_equal(rs.r[1].gpc[1], 2);
		assert_int_equal(rs.r[1].gpc[2], 5);
		assert_int_equal(rs.r[1].gpc[3], 3);
		assert_int_equal(rs.r[1].gpc[4], 17);
	}
	/* an empty table; CRLF line ends; other data types are ignored */
	assert_int_equal(parse(HEAD "\n", &rs, &bad), 0);
	assert_int_equal(parse(HEAD "0x1: key=a use=0 exp=0 gpc0_rate(1000)=3 http_req_cnt=4 "
			       "gpc0=2 http_err_cnt=9\r\n", &rs, &bad), 1);
	assert_int_equal(bad, 0);
	assert_int_equal(rs.r[0].http_req_cnt, 4);
	assert_int_equal(rs.r[0].gpc[0], 2);
	/* the largest counter HAProxy could print */
	assert_int_equal(parse(HEAD "0x1: key=a http_req_cnt=18446744073709551615\n", &rs, &bad), 1);
	assert_true(rs.r[0].http_req_cnt == UINT64_MAX);
}

static void test_not_a_table(void **state)
{
	struct rows rs;
	uint64_t bad;
	char err[200];

	(void)state;
	/* the answers of HAProxy to a table it does not have, of a refused
	 * command, nothing at all, and another table's dump */
	assert_int_equal(parse("Unknown table\n\n", &rs, &bad), -1);
	assert_int_equal(parse("Permission denied\n\n", &rs, &bad), -1);
	assert_int_equal(parse("", &rs, &bad), -1);
	assert_int_equal(parse("# table: swarm-service-traffic-2, type: string\n", &rs, &bad), -1);
	assert_int_equal(rs.n, 0);
	assert_int_equal(hatable_parse("Unknown\x01table\n", 14, TABLE, on_row, &rs, &bad, err,
				       sizeof(err)), -1);
	assert_non_null(strstr(err, "Unknown?table"));
}

static void test_malformed_lines(void **state)
{
	static const char *const lines[] = {
		"0x1: use=0 exp=0 http_req_cnt=1\n",                 /* no key */
		"0x1: key=a use=0 exp=0 gpc0=1\n",                    /* no http_req_cnt */
		"0x1: key= http_req_cnt=1\n",                         /* empty key */
		"0x1: key=a\"b http_req_cnt=1\n",                     /* quote */
		"0x1: key=a\\x01 http_req_cnt=1\n",                   /* backslash */
		"0x1: key=a\xc3\xa9 http_req_cnt=1\n",                /* not ASCII */
		"0x1: key=a http_req_cnt=18446744073709551616\n",     /* above UINT64_MAX */
		"0x1: key=a http_req_cnt=-1\n",
		"0x1: key=a http_req_cnt=1x\n",
		"0x1: key=a http_req_cnt=\n",
		"0x1: key=a http_req_cnt=1 gpc0=99999999999999999999\n",
		"0x1: key=a key=b http_req_cnt=1\n",                  /* two keys */
		"0x1: key=a http_req_cnt=1 http_req_cnt=2\n",
		"0x1: key=a http_req_cnt=1 garbage\n",                /* a token without '=' */
		"0x1 key=a http_req_cnt=1\n",                         /* no ": " */
		": key=a http_req_cnt=1\n",
		"0x1:\n",
		"key=a http_req_cnt=1\n",
		/* a key of 65 bytes */
		"0x1: key=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa http_req_cnt=1\n",
		"0x1: key=a http_req_c",                              /* cut */
	};
	char buf[512];
	struct rows rs;
	uint64_t bad;

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		/* between two good lines: only the bad one is lost */
		snprintf(buf, sizeof(buf), HEAD "0x2: key=x http_req_cnt=1\n%s"
			 "0x3: key=y http_req_cnt=2\n", lines[i]);
		if (lines[i][strlen(lines[i]) - 1] != '\n')
			snprintf(buf, sizeof(buf), HEAD "0x2: key=x http_req_cnt=1\n%s", lines[i]);
		assert_true(parse(buf, &rs, &bad) >= 1);
		assert_int_equal(bad, 1);
		assert_string_equal(rs.r[0].key, "x");
	}
	/* a 64-byte key is a key; indexes past HATABLE_GPC_MAX are ignored */
	assert_int_equal(parse(HEAD "0x1: key=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			       "aaaaaaaaa http_req_cnt=1 gpc99=5 gpc184467440737095516150=1\n",
			       &rs, &bad), 1);
	assert_int_equal(bad, 0);
	assert_int_equal(rs.r[0].ngpc, 0);
}

/* Bounded random input: the answer's header then random bytes, and
 * good lines with random bytes flipped. Nothing may crash (ASan/UBSan
 * builds check the reads) and every row passed on has a valid key.
 */
static void test_random(void **state)
{
	static const char good[] = HEAD
		"0x7f02039eebb0: key=web_app use=1 exp=3599554 shard=0 http_req_cnt=17 gpc0=7 "
		"gpc1=2 gpc2=5 gpc3=3 gpc4=17 gpc5=0 gpc6=0 gpc7=0 gpc8=0 gpc9=0\n";
	unsigned seed = 12345;
	char buf[sizeof(good) + 64], err[200];
	struct rows rs;
	uint64_t bad;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		size_t len = sizeof(good) - 1;

		memcpy(buf, good, len);
		for (int k = 0; k < 1 + i % 8; k++) {
			seed = seed * 1103515245u + 12345u;
			buf[sizeof(HEAD) - 1 + (seed >> 8) % (len - sizeof(HEAD) + 1)] =
				(char)(seed >> 16);
		}
		if (i % 3 == 0)
			len -= (seed >> 4) % 40;
		memset(&rs, 0, sizeof(rs));
		assert_true(hatable_parse(buf, len, TABLE, on_row, &rs, &bad, err,
					  sizeof(err)) >= 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_not_a_table),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
