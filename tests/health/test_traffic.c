/* Per-service traffic (health/traffic.c): the figures of several
 * HAProxies' tables added up by service, with the connection failures of
 * the rings; a failed or malformed poll keeps a target's last figures; a
 * target dropped takes its figures with it. Guards the sums shown by
 * "show services" and the metrics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/sbuf.h"
#include "health/traffic.h"

#define HEAD "# table: swarm-service-traffic, type: string, size:4096, used:2\n"

static int answer(struct traffic *tr, const char *target, const char *s)
{
	char err[200];

	return traffic_target_answer(tr, target, s, strlen(s), err, sizeof(err));
}

static uint64_t requests(struct traffic *tr, const char *service)
{
	struct traffic_figures f;

	return traffic_get(tr, service, &f) == 0 ? f.requests : UINT64_MAX;
}

static void test_sums(void **state)
{
	struct traffic *tr = traffic_new();
	struct traffic_figures f;
	struct traffic_status st;

	(void)state;
	assert_non_null(tr);
	assert_int_equal(answer(tr, "h1", HEAD
		"0x1: key=web use=0 exp=1 http_req_cnt=10 gpc0=6 gpc1=1 gpc2=2 gpc3=1 gpc4=8 "
		"gpc5=1 gpc6=0 gpc7=0 gpc8=0 gpc9=1\n"
		"0x2: key=api use=0 exp=1 http_req_cnt=3 gpc0=3 gpc4=3\n"), 0);
	assert_int_equal(answer(tr, "h2", HEAD
		"0x1: key=web use=0 exp=1 shard=0 http_req_cnt=5 gpc0=5 gpc4=5\n"), 0);
	traffic_conn_failure(tr, "web");
	traffic_conn_failure(tr, "web");
	traffic_conn_failure(tr, "gone");
	assert_int_equal(traffic_get(tr, "web", &f), 0);
	assert_string_equal(f.service, "web");
	assert_int_equal(f.requests, 15);
	assert_int_equal(f.status[0], 11);
	assert_int_equal(f.status[1], 1);
	assert_int_equal(f.status[2], 2);
	assert_int_equal(f.status[3], 1);
	assert_int_equal(f.buckets[0], 13);
	assert_int_equal(f.buckets[1], 1);
	assert_int_equal(f.buckets[5], 1);
	assert_int_equal(f.conn_failures, 2);
	assert_int_equal(requests(tr, "api"), 3);
	/* known by its failures only */
	assert_int_equal(traffic_get(tr, "gone", &f), 0);
	assert_int_equal(f.requests, 0);
	assert_int_equal(f.conn_failures, 1);
	assert_int_equal(traffic_get(tr, "nobody", &f), -1);

	/* a new answer replaces the target's figures, it does not add */
	assert_int_equal(answer(tr, "h2", HEAD "0x1: key=web http_req_cnt=7 gpc0=7\n"), 0);
	assert_int_equal(requests(tr, "web"), 17);
	/* an error or a malformed answer keeps them */
	assert_int_equal(answer(tr, "h2", "Unknown table\n"), -1);
	traffic_target_failed(tr, "h2", "connection refused");
	assert_int_equal(requests(tr, "web"), 17);
	traffic_status(tr, &st);
	assert_int_equal(st.targets, 2);
	assert_int_equal(st.poll_failures, 2);
	assert_non_null(strstr(st.last_error, "h2: connection refused"));
	/* a malformed line is counted, the others are read */
	assert_int_equal(answer(tr, "h2", HEAD "0x1: key=web http_req_cnt=7\n0x2: key=\n"), 0);
	traffic_status(tr, &st);
	assert_int_equal(st.malformed, 1);
	assert_string_equal(st.last_error, "");

	/* an HAProxy gone takes its figures */
	traffic_target_drop(tr, "h1");
	assert_int_equal(requests(tr, "web"), 7);
	assert_int_equal(traffic_get(tr, "api", &f), -1);
	traffic_free(tr);
}

static void test_format(void **state)
{
	struct traffic_figures f = {
		.service = "web", .requests = 12, .status = { 5, 0, 4, 3 },
		.buckets = { 10, 1, 0, 0, 0, 1 }, .conn_failures = 1,
	};
	struct sbuf out = SBUF_INIT;

	(void)state;
	traffic_format(&f, &out, 0);
	assert_string_equal(out.buf, "req=12 2xx=5 3xx=0 4xx=4 5xx=3 conn_fail=1 p50<=5ms p99>2500ms");
	sbuf_reset(&out);
	traffic_format(&f, &out, 1);
	assert_string_equal(out.buf, "{\"requests\":12,\"2xx\":5,\"3xx\":0,\"4xx\":4,\"5xx\":3,"
			    "\"conn_failures\":1,\"response_ms\":{\"le_5\":10,\"le_25\":11,"
			    "\"le_100\":11,\"le_500\":11,\"le_2500\":11,\"count\":12}}");
	sbuf_free(&out);
}

/* Services past TRAFFIC_MAX_FAILED: the failures of new ones are not
 * counted by service, memory stays bounded, the first ones go on. */
static void test_failures_bounded(void **state)
{
	struct traffic *tr = traffic_new();
	struct traffic_figures f;
	char name[32];

	(void)state;
	for (int i = 0; i < TRAFFIC_MAX_FAILED + 10; i++) {
		snprintf(name, sizeof(name), "svc-%05d", i);
		traffic_conn_failure(tr, name);
	}
	traffic_conn_failure(tr, "svc-00000");
	assert_int_equal(traffic_get(tr, "svc-00000", &f), 0);
	assert_int_equal(f.conn_failures, 2);
	snprintf(name, sizeof(name), "svc-%05d", TRAFFIC_MAX_FAILED + 5);
	assert_int_equal(traffic_get(tr, name, &f), -1);
	traffic_free(tr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sums),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_failures_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
