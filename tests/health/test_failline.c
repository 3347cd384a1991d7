/* The lines of the ring of failed requests (health/failline.c), as HAProxy
 * 2.6, 3.0 and 3.2 write them with haproxy-conf's log-format: only SC, sC
 * and SH are failures of the destination; the application's 5xx, client
 * aborts and server timeouts never are. Guards against a task excluded
 * for a client's fault.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/netaddr.h"
#include "health/failline.h"

#define HEAD "127.0.0.1:44548 [01/Dec/2026:23:35:01.115] http swarm-tasks/task 0/0/1/0/1 "

static int parse(const char *line, struct failline *fl)
{
	return failline_parse(line, strlen(line), fl);
}

static void test_failures(void **state)
{
	struct failline fl;
	char ip[NETADDR_STRLEN];

	(void)state;
	/* lines from HAProxy 3.2.26 with the shipped log-format */
	assert_int_equal(parse(HEAD "503 217 - - SC-- 1/1/0/0/1 0/0 \"GET / HTTP/1.1\" "
			       "route=dead dst=127.0.0.1:18099 st=503 ts=SC", &fl), 1);
	assert_string_equal(fl.service, "dead");
	assert_string_equal(netaddr_str(&fl.dst, ip), "127.0.0.1");
	assert_int_equal(fl.port, 18099);
	assert_int_equal(fl.status, 503);
	assert_string_equal(fl.ts, "SC");
	assert_int_equal(parse(HEAD "502 209 - - SH-- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\" "
			       "route=dead dst=127.0.0.1:18081 st=502 ts=SH\n", &fl), 1);
	assert_int_equal(parse(HEAD "503 217 - - sC-- 1/1/0/0/1 0/0 \"GET / HTTP/1.1\" "
			       "route=web_app dst=10.0.1.7:8080 st=503 ts=sC\r\n", &fl), 1);
	assert_string_equal(fl.service, "web_app");
	/* an IPv6 task, bracketed or not */
	assert_int_equal(parse("x route=v6 dst=fd00::5:80 st=503 ts=SC", &fl), 1);
	assert_string_equal(netaddr_str(&fl.dst, ip), "fd00::5");
	assert_int_equal(fl.port, 80);
	assert_int_equal(parse("x route=v6 dst=[fd00::5]:80 st=503 ts=SC", &fl), 1);
	assert_string_equal(netaddr_str(&fl.dst, ip), "fd00::5");
}

static void test_not_failures(void **state)
{
	struct failline fl;

	(void)state;
	/* the application's own 500 and 404 */
	assert_int_equal(parse(HEAD "500 152 - - ---- 1/1/0/0/0 0/0 \"GET /500 HTTP/1.1\" "
			       "route=web dst=127.0.0.1:18080 st=500 ts=--", &fl), 0);
	assert_int_equal(fl.status, 500);
	assert_int_equal(parse("x route=web dst=127.0.0.1:18080 st=404 ts=--", &fl), 0);
	/* client aborts and slow clients, server timeouts */
	assert_int_equal(parse("x route=web dst=127.0.0.1:18080 st=400 ts=cH", &fl), 0);
	assert_int_equal(parse("x route=web dst=127.0.0.1:18080 st=200 ts=CD", &fl), 0);
	assert_int_equal(parse("x route=web dst=127.0.0.1:18080 st=504 ts=sH", &fl), 0);
	assert_int_equal(parse("x route=web dst=127.0.0.1:18080 st=502 ts=SD", &fl), 0);
	assert_int_equal(parse("x route=web dst=127.0.0.1:18080 st=502 ts=PH", &fl), 0);
	/* not routed: HAProxy prints an unset variable as "-" */
	assert_int_equal(parse("x route=- dst=-:- st=503 ts=SC", &fl), 0);
	assert_int_equal(parse("x route=web dst=-:- st=503 ts=SC", &fl), 0);
	assert_int_equal(parse("x route=web dst=127.0.0.1:0 st=503 ts=SC", &fl), 0);
	assert_int_equal(parse("x route=web dst=127.0.0.1:99999 st=503 ts=SC", &fl), 0);
	assert_int_equal(parse("x route=web dst=nothost:80 st=503 ts=SC", &fl), 0);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"", "\n", "ts=SC", "route=web dst=1.2.3.4:80 ts=SC st=503",
		"route=web dst=1.2.3.4:80 st=503 ts=SCX", "route=web dst=1.2.3.4:80 st=5x3 ts=SC",
		"route=web dst=1.2.3.4:80 st= ts=SC", "route=web dst=1.2.3.4:80 st=5030 ts=SC",
		"<133>Dec  1 23:35:01 haproxy[1]: something else entirely",
	};
	struct failline fl;
	char big[400];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], &fl), -1);
	/* a service name longer than any Docker name is not one */
	memset(big, 'a', sizeof(big));
	memcpy(big, "route=", 6);
	snprintf(big + 300, sizeof(big) - 300, " dst=1.2.3.4:80 st=503 ts=SC");
	assert_int_equal(parse(big, &fl), 0);
	/* a NUL or control byte in the service name (found by fuzz_failline) */
	assert_int_equal(failline_parse("x route=\0web dst=1.2.3.4:80 st=503 ts=SC", 40, &fl), 0);
	assert_int_equal(parse("x route=w\x01b dst=1.2.3.4:80 st=503 ts=SC", &fl), 0);
	/* no terminator needed: the length bounds the read */
	assert_int_equal(failline_parse("route=a dst=1.2.3.4:80 st=503 ts=SCgarbage", 35, &fl), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_not_failures),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
