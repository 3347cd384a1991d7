/* The metrics page (common/prom.c, stats/metrics.c): the exposition writer's
 * escaping and number forms, and the whole page checked line by line
 * against the rules of the Prometheus text format 0.0.4, with the request
 * counters of a real routing table.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/log.h"
#include "common/prom.h"
#include "common/sbuf.h"
#include "routing/routesfile.h"
#include "routing/rtable.h"
#include "routing/tables.h"
#include "stats/metrics.h"
#include "stats/stats.h"
#include "tests/lib/promcheck.h"


/************************************************************************/
/*                                the writer                            */
/************************************************************************/

static void expect_label(const char *in, const char *want)
{
	struct sbuf out = SBUF_INIT;

	prom_escape_label(&out, in);
	assert_string_equal(out.buf ? out.buf : "", want);
	sbuf_free(&out);
}

static void test_label_escaping(void **state)
{
	(void)state;
	expect_label("plain", "plain");
	expect_label("a\\b\"c\nd", "a\\\\b\\\"c\\nd");
	expect_label("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3");
	/* invalid UTF-8 becomes U+FFFD, byte by byte */
	expect_label("a\xff" "b", "a\xef\xbf\xbd" "b");
	expect_label("\xc0\x80", "\xef\xbf\xbd\xef\xbf\xbd");                 /* overlong */
	expect_label("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  /* surrogate */
	expect_label("\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd");                  /* cut short */
	expect_label("\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* > U+10FFFF */
	expect_label("", "");
}

static void test_number_forms(void **state)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{ 0, "0" }, { -3, "-3" }, { 1.5, "1.5" }, { 0.1, "0.1" }, { 1e-9, "1e-09" },
		{ 6.4e-08, "6.4e-08" }, { 1795665305.861, "1795665305.861" },
		{ 9007199254740991.0, "9007199254740991" }, { 1e300, "1e+300" },
	};
	char buf[PROM_F64_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		prom_f64(cases[i].v, buf);
		assert_string_equal(buf, cases[i].want);
		assert_true(strtod(buf, NULL) == cases[i].v);
	}
	assert_string_equal(prom_f64(INFINITY, buf), "+Inf");
	assert_string_equal(prom_f64(-INFINITY, buf), "-Inf");
	assert_string_equal(prom_f64(NAN, buf), "NaN");
	/* every double reads back exactly */
	for (double v = 1e-12; v < 1e12; v *= 3.7) {
		prom_f64(v, buf);
		assert_true(strtod(buf, NULL) == v);
	}
}

static void test_family_and_samples(void **state)
{
	struct sbuf out = SBUF_INIT;
	struct prom_label l[2] = { { "service", "we\"b" }, { "outcome", "forwarded" } };

	(void)state;
	prom_family(&out, "x_total", PROM_COUNTER, "Help with \\ and\nnewline.");
	prom_sample_u64(&out, "x_total", NULL, l, 2, 18446744073709551615ULL);
	prom_sample_f64(&out, "x_total", NULL, NULL, 0, 0.25);
	prom_family(&out, "h", PROM_HISTOGRAM, "h");
	prom_sample_u64(&out, "h", "_count", NULL, 0, 3);
	assert_string_equal(out.buf,
		"# HELP x_total Help with \\\\ and\\nnewline.\n"
		"# TYPE x_total counter\n"
		"x_total{service=\"we\\\"b\",outcome=\"forwarded\"} 18446744073709551615\n"
		"x_total 0.25\n"
		"# HELP h h\n"
		"# TYPE h histogram\n"
		"h_count 3\n");
	sbuf_free(&out);
}

/* The checker must be able to say no, or its approval means nothing. */
static void test_checker_refuses_bad_pages(void **state)
{
	static const char *const bad[] = {
		"# HELP a x\n# TYPE a gauge\na 1",                                   /* no final LF */
		"# HELP a x\n# TYPE a gauge\na 1\n# HELP a x\n# TYPE a gauge\na 2\n", /* family twice */
		"# HELP a x\n# TYPE a gauge\na 1\na 2\n",                             /* series twice */
		"# HELP a x\n# TYPE a gauge\nb 1\n",                                  /* wrong family */
		"# HELP a x\n# TYPE a gauge\na{l=\"\\t\"} 1\n",                        /* bad escape */
		"# HELP a x\n# TYPE a gauge\na{l=\"x} 1\n",                           /* unterminated */
		"# HELP a x\n# TYPE a gauge\na one\n",                                /* bad value */
		"# HELP a x\n# TYPE a counter\na -1\n",                               /* negative counter */
		"# HELP a x\n# TYPE a gauge\na{l=\"1\",l=\"2\"} 1\n",                   /* label twice */
		("# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"2\"} 1\n"
		 "h_bucket{le=\"+Inf\"} 2\nh_count 2\n"),                              /* decreasing */
		"# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_count 2\n",  /* no +Inf */
		"# HELP h x\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 3\n", /* count */
		"# HELP a x\n# TYPE a wat\na 1\n",                                    /* type */
		("# HELP h x\n# TYPE h histogram\nh_bucket{r=\"a\",le=\"1\"} 2\n"
		 "h_bucket{r=\"b\",le=\"1\"} 1\nh_bucket{r=\"b\",le=\"+Inf\"} 1\n"
		 "h_count{r=\"b\"} 1\n"),                                              /* series a unended */
		("# HELP h x\n# TYPE h histogram\nh_bucket{r=\"a\",le=\"+Inf\"} 2\n"
		 "h_count{r=\"a\"} 2\nh_bucket{r=\"b\",le=\"+Inf\"} 1\n"
		 "h_count{r=\"b\"} 2\n"),                                              /* count of b */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!check_exposition(bad[i]))
			fail_msg("checker accepted bad page %zu", i);
	assert_null(check_exposition("# HELP h x\n# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\n"
				     "h_bucket{le=\"+Inf\"} 2\nh_count 2\n"));
	/* one series per label set, each with its buckets, _sum and _count */
	assert_null(check_exposition("# HELP h x\n# TYPE h histogram\n"
				     "h_bucket{r=\"a\",le=\"0.5\"} 1\nh_bucket{r=\"a\",le=\"+Inf\"} 2\n"
				     "h_sum{r=\"a\"} 1.5\nh_count{r=\"a\"} 2\n"
				     "h_bucket{r=\"b\",le=\"0.5\"} 0\nh_bucket{r=\"b\",le=\"+Inf\"} 1\n"
				     "h_sum{r=\"b\"} 3\nh_count{r=\"b\"} 1\n"));
}

/************************************************************************/
/*                                the page                              */
/************************************************************************/

static char *render(void)
{
	struct sbuf out = SBUF_INIT;
	const char *why;

	metrics_render(&out);
	assert_false(out.oom);
	why = check_exposition(out.buf);
	if (why)
		fail_msg("invalid exposition: %s", why);
	return out.buf;
}

static void expect_line(const char *page, const char *line)
{
	char *want = malloc(strlen(line) + 3);

	sprintf(want, "\n%s\n", line);
	if (!strstr(page, want))
		fail_msg("line '%s' missing from the page", line);
	free(want);
}

/* A part of the agent as the daemon registers it: its families come
 * first on the page.
 */
static void fake_metrics(void *arg, struct sbuf *out)
{
	prom_family(out, "swarm_spoa_fake_ready", PROM_GAUGE, "A registered source's gauge.");
	prom_sample_u64(out, "swarm_spoa_fake_ready", NULL, NULL, 0, 1);
}

static struct stats_source fake_source = { .metrics = fake_metrics };

static void test_page_without_table(void **state)
{
	char *page = render();
	static const char *const families[] = {
		"swarm_spoa_fake_ready", "swarm_spoa_requests_total",
		"swarm_spoa_requests_not_found_total", "swarm_spoa_table_services",
		"swarm_spoa_table_routes", "swarm_spoa_table_tasks", "swarm_spoa_table_generation",
		"swarm_spoa_table_age_seconds", "swarm_spoa_errors_total",
	};

	(void)state;
	assert_null(strstr(page, "swarm_spoa_fake_ready"));
	free(page);
	assert_int_equal(stats_add_source(&fake_source), 0);
	page = render();
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		char help[160];

		snprintf(help, sizeof(help), "# HELP %s ", families[i]);
		if (!strstr(page, help))
			fail_msg("family %s missing", families[i]);
	}
	expect_line(page, "swarm_spoa_fake_ready 1");
	expect_line(page, "swarm_spoa_requests_not_found_total 0");
	free(page);
	stats_stop();
}

static const char routes[] =
	"{\"services\":["
	"{\"name\":\"web\",\"labels\":{\"com.docker.lb.hosts\":\"web.test\",\"com.docker.lb.port\":\"8080\"},"
	" \"tasks\":[{\"id\":\"web.1\",\"address\":\"10.0.0.5\"}]},"
	"{\"name\":\"idle\",\"labels\":{\"com.docker.lb.hosts\":\"idle.test\",\"com.docker.lb.port\":\"80\"},"
	" \"tasks\":[{\"id\":\"idle.1\",\"address\":\"10.0.0.9\",\"state\":\"starting\"}]},"
	"{\"name\":\"bad\",\"labels\":{\"com.docker.lb.hosts\":\"bad host\"}}"
	"]}";

static void route(const char *host)
{
	static char scratch[RTABLE_SCRATCH_SIZE];
	struct route_req req = { 0 };
	struct route_answer ans;

	req.host = host;
	req.host_len = strlen(host);
	req.path = "/";
	req.path_len = 1;
	rtable_route(tables_current(), 0, &req, &ans, scratch);
}

static void test_page_with_table(void **state)
{
	struct rtable_build_opts bo = { .nworkers = 1, .service_cluster = NULL };
	char err[256];
	struct model *m = routesfile_parse(routes, sizeof(routes) - 1, err, sizeof(err));
	char *page;

	(void)state;
	if (!m)
		fail_msg("routes: %s", err);
	tables_init(&bo);
	assert_int_equal(tables_update("file", m), 0);
	route("web.test");
	route("web.test");
	route("idle.test");
	route("nope.test");

	page = render();
	expect_line(page, "swarm_spoa_requests_total{service=\"web\",outcome=\"forwarded\"} 2");
	expect_line(page, "swarm_spoa_requests_total{service=\"web\",outcome=\"redirected\"} 0");
	expect_line(page, "swarm_spoa_requests_total{service=\"idle\",outcome=\"no_task\"} 1");
	expect_line(page, "swarm_spoa_requests_not_found_total 1");
	expect_line(page, "swarm_spoa_table_services{status=\"routed\"} 2");
	expect_line(page, "swarm_spoa_table_services{status=\"skipped\"} 1");
	expect_line(page, "swarm_spoa_table_tasks 1");
	expect_line(page, "swarm_spoa_table_generation 1");
	free(page);

	/* A new table keeps the lifetime counts of the old one once released. */
	m = routesfile_parse(routes, sizeof(routes) - 1, err, sizeof(err));
	assert_int_equal(tables_update("file", m), 0);
	tables_reclaim();
	route("web.test");
	page = render();
	expect_line(page, "swarm_spoa_requests_total{service=\"web\",outcome=\"forwarded\"} 3");
	expect_line(page, "swarm_spoa_table_generation 2");
	free(page);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_number_forms),
		cmocka_unit_test(test_family_and_samples),
		cmocka_unit_test(test_checker_refuses_bad_pages),
		cmocka_unit_test(test_page_without_table),
		cmocka_unit_test(test_page_with_table),
	};

	log_set_level(LL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
