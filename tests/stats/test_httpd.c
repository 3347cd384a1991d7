/* The metrics listener's request parser (stats/httpd.c): what a Prometheus
 * server, curl or a port scanner sends, and where the head ends when
 * requests are pipelined.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "stats/httpd.h"

static struct httpd_request req;

static long parse(const char *s)
{
	return httpd_parse(s, strlen(s), &req);
}

static void test_prometheus_scrape(void **state)
{
	const char *s = "GET /metrics HTTP/1.1\r\nHost: 10.0.0.1:9110\r\n"
			"User-Agent: Prometheus/2.45.0\r\nAccept: text/plain;version=0.0.4;q=1,*/*;q=0.1\r\n"
			"Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n";

	(void)state;
	assert_int_equal(parse(s), (long)strlen(s));
	assert_int_equal(req.method_len, 3);
	assert_memory_equal(req.method, "GET", 3);
	assert_int_equal(req.path_len, 8);
	assert_memory_equal(req.path, "/metrics", 8);
	assert_int_equal(req.minor, 1);
	assert_true(req.keep_alive);
	assert_false(req.has_body);
}

static void test_connection_semantics(void **state)
{
	(void)state;
	assert_true(parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n") > 0);
	assert_false(req.keep_alive);
	assert_true(parse("GET / HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n") > 0);
	assert_false(req.keep_alive);
	assert_true(parse("GET / HTTP/1.0\r\n\r\n") > 0);
	assert_false(req.keep_alive);
	assert_true(parse("GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n") > 0);
	assert_true(req.keep_alive);
	/* bare LF line ends, as some scripts send */
	assert_true(parse("HEAD /metrics HTTP/1.1\n\n") > 0);
	assert_memory_equal(req.method, "HEAD", 4);
}

static void test_query_is_not_path(void **state)
{
	(void)state;
	assert_true(parse("GET /metrics?name[]=x HTTP/1.1\r\n\r\n") > 0);
	assert_int_equal(req.path_len, 8);
	assert_true(parse("GET /metrics#frag HTTP/1.1\r\n\r\n") > 0);
	assert_int_equal(req.path_len, 8);
	assert_true(parse("GET /metricsx HTTP/1.1\r\n\r\n") > 0);
	assert_int_equal(req.path_len, 9);
}

static void test_incomplete_head(void **state)
{
	(void)state;
	assert_int_equal(parse(""), 0);
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\n"), 0);
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n"), 0);
	assert_int_equal(parse("GET /metr"), 0);
}

static void test_bodies_are_flagged(void **state)
{
	(void)state;
	assert_true(parse("POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello") > 0);
	assert_true(req.has_body);
	assert_true(parse("GET /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n") > 0);
	assert_false(req.has_body);
	assert_true(parse("GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n") > 0);
	assert_true(req.has_body);
}

static void test_malformed_heads(void **state)
{
	static const char *const bad[] = {
		"\r\n\r\n",
		"GET\r\n\r\n",
		"GET /metrics\r\n\r\n",
		"GET  /metrics HTTP/1.1\r\n\r\n",
		"GET /metrics HTTP/2.0\r\n\r\n",
		"GET /metrics HTTP/1.1 extra\r\n\r\n",
		"GET metrics HTTP/1.1\r\n\r\n",
		"GET http://x/metrics HTTP/1.1\r\n\r\n",
		"G(T /metrics HTTP/1.1\r\n\r\n",
		"GET /met\x01rics HTTP/1.1\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nNoColon\r\n\r\n",
		"GET /metrics HTTP/1.1\r\n: empty name\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nBad Name: x\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
		("GET /metrics HTTP/1.1\r\nHost: a\x01" "b\r\n\r\n"),
		"GET /metrics HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nContent-Length:\r\n\r\n",
		"\x16\x03\x01\x02\x05\x01\x03\xfc\x03\x03\n\n",   /* a TLS ClientHello */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i]) != -1)
			fail_msg("accepted malformed head %zu", i);
}

/* Guards pipelining: the returned length is exactly the first head, so
 * the second request is parsed from where it starts.
 */
static void test_pipelined_requests(void **state)
{
	const char *two = "GET /metrics HTTP/1.1\r\n\r\nGET /other HTTP/1.1\r\nConnection: close\r\n\r\n";
	long n;

	(void)state;
	n = parse(two);
	assert_int_equal(n, 25);
	assert_int_equal(httpd_parse(two + n, strlen(two) - (size_t)n, &req),
			 (long)(strlen(two) - (size_t)n));
	assert_memory_equal(req.path, "/other", 6);
	assert_false(req.keep_alive);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prometheus_scrape),
		cmocka_unit_test(test_connection_semantics),
		cmocka_unit_test(test_query_is_not_path),
		cmocka_unit_test(test_incomplete_head),
		cmocka_unit_test(test_bodies_are_flagged),
		cmocka_unit_test(test_malformed_heads),
		cmocka_unit_test(test_pipelined_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
