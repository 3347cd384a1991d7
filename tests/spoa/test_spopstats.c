/* What the stats socket and the metrics page show of the SPOP workers
 * (spoa/spopstats.c), in a process with no worker running: every status
 * code and latency bucket is listed, the JSON forms parse, and the metric
 * families follow the exposition format.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/kvout.h"
#include "common/sbuf.h"
#include "spoa/spopstats.h"
#include "tests/lib/promcheck.h"

static json_t *parse(const struct sbuf *out)
{
	json_error_t je;
	json_t *j = json_loads(out->buf, 0, &je);

	if (!j)
		fail_msg("not JSON (%s): %s", je.text, out->buf);
	return j;
}

static void test_show_stats(void **state)
{
	struct sbuf out = SBUF_INIT;
	json_t *j;

	(void)state;
	spopstats_show_stats(&out, 0);
	assert_non_null(strstr(out.buf, "notify"));
	assert_non_null(strstr(out.buf, "AGENT-DISCONNECT by status"));
	assert_non_null(strstr(out.buf, "frame is too big"));
	assert_non_null(strstr(out.buf, "Lookups"));
	sbuf_reset(&out);
	spopstats_show_stats(&out, 1);
	j = parse(&out);
	assert_true(json_is_object(json_object_get(j, "total")));
	assert_int_equal(json_array_size(json_object_get(j, "threads")), 0);
	/* every status code HAProxy defines is listed, 0..13 */
	assert_int_equal(json_array_size(json_object_get(j, "disconnects")), 14);
	assert_true(json_is_object(json_object_get(j, "lookups")));
	assert_int_equal(json_array_size(json_object_get(json_object_get(j, "notify_latency"),
							  "buckets")), SPOPSTATS_LAT_BUCKETS);
	json_decref(j);
	sbuf_free(&out);
}

static void test_show_conns(void **state)
{
	struct sbuf out = SBUF_INIT;
	void *st = NULL;
	json_t *j;

	(void)state;
	assert_int_equal(spopstats_show_conns(&st, &out, 0), 0);
	assert_null(st);
	assert_non_null(strstr(out.buf, "PEER"));
	sbuf_reset(&out);
	assert_int_equal(spopstats_show_conns(&st, &out, 1), 0);
	j = parse(&out);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 0);
	json_decref(j);
	sbuf_free(&out);
}

static void test_info(void **state)
{
	struct sbuf out = SBUF_INIT;
	struct kvout kv;

	(void)state;
	kvout_begin(&kv, &out, 0);
	spopstats_info(&kv);
	kvout_end(&kv);
	assert_string_equal(out.buf, "spop_connections: 0\nspop_conns_refused: 0\n"
			    "spop_accept_pauses: 0\n");
	sbuf_free(&out);
}

static void test_metrics(void **state)
{
	struct sbuf out = SBUF_INIT;
	const char *why;

	(void)state;
	spopstats_metrics(&out);
	why = check_exposition(out.buf);
	if (why)
		fail_msg("invalid exposition: %s", why);
	assert_non_null(strstr(out.buf, "\nswarm_spoa_spop_errors_total{status=\"3\","
			       "reason=\"frame is too big\"} 0\n"));
	assert_non_null(strstr(out.buf, "\nswarm_spoa_notify_duration_seconds_bucket"
			       "{le=\"+Inf\"} 0\n"));
	assert_non_null(strstr(out.buf, "# HELP swarm_spoa_spop_connections "));
	assert_non_null(strstr(out.buf, "# HELP swarm_spoa_spop_notify_frames_total "));
	assert_non_null(strstr(out.buf, "\nswarm_spoa_spop_connections_refused_total 0\n"));
	assert_non_null(strstr(out.buf, "\nswarm_spoa_spop_accept_pauses_total 0\n"));
	assert_non_null(strstr(out.buf, "\nswarm_spoa_spop_idle_timeouts_total 0\n"));
	sbuf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_show_stats),
		cmocka_unit_test(test_show_conns),
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_metrics),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
