/* rtable-bench: builds a routing table the size of a large swarm in memory
 * and measures what the agent pays for it: build time, memory, and the
 * latency of rtable_route() for host + path lookups.
 *
 *   rtable-bench [services [tasks-per-service [lookups]]]
 *
 * Defaults: 10000 services, 5 tasks each (50000 tasks), 2^21 lookups.
 * Half of the services answer "/" of a host, the other half "/api" of the
 * same host; 1% of the hosts are wildcards. Requests mix exact and
 * wildcard hosts, ports and case in the Host header, and deep paths. They
 * come from a ring of RING requests drawn at random over all hosts and are
 * turned into a struct route_req for each lookup, as the agent does from a
 * NOTIFY frame it has just read: the request bytes are warm, the table is
 * read at random.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/benchmodel.h"
#include "common/clock.h"
#include "common/netaddr.h"
#include "routing/model.h"
#include "routing/rtable.h"

#define BATCH 16
#define RING  65536

struct bench_req {
	char host[46];
	uint8_t host_len;
	uint8_t path;            /* index in paths[] */
};

static const char *const paths[] = {
	"/", "/index.html", "/api", "/api/v1/orders/12345", "/static/css/site.css",
	"/api/v2/users/42/profile", "/apiary", "/app/dashboard",
};
static size_t path_len[sizeof(paths) / sizeof(paths[0])];

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static void make_requests(struct bench_req *r, size_t n, size_t nhosts)
{
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		path_len[i] = strlen(paths[i]);
	for (size_t i = 0; i < n; i++) {
		size_t h = (size_t)(rng() % nhosts);
		uint64_t x = rng();

		if (h % 100 == 99)
			snprintf(r[i].host, sizeof(r[i].host), "tenant%u.w%zu.bench.example",
				 (unsigned)(x % 1000), h);
		else if (x & 1)
			snprintf(r[i].host, sizeof(r[i].host), "svc%zu.bench.example", h);
		else if (x & 2)
			snprintf(r[i].host, sizeof(r[i].host), "svc%zu.bench.example:443", h);
		else
			snprintf(r[i].host, sizeof(r[i].host), "SVC%zu.Bench.Example", h);
		r[i].host_len = (uint8_t)strlen(r[i].host);
		r[i].path = (uint8_t)((x >> 8) % (sizeof(paths) / sizeof(paths[0])));
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1));

	return (double)v[i];
}

static long rss_kb(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* What the agent does with the arguments of a "route" message. */
static inline void fill_req(struct route_req *q, const struct bench_req *r)
{
	memset(q, 0, sizeof(*q));
	q->host = r->host;
	q->host_len = r->host_len;
	q->path = paths[r->path];
	q->path_len = path_len[r->path];
	q->method = "GET";
	q->method_len = 3;
}

int main(int argc, char **argv)
{
	size_t nsvcs = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
	size_t ntasks = argc > 2 ? strtoul(argv[2], NULL, 10) : 5;
	size_t nlook = argc > 3 ? strtoul(argv[3], NULL, 10) : (size_t)1 << 21;
	struct rtable_build_opts opts = { .nworkers = 1 };
	static char scratch[RTABLE_SCRATCH_SIZE];
	struct bench_req *raw;
	struct rtable_info info;
	struct rtable *t;
	struct model *m;
	uint64_t builds[11], *single, *batched, sink = 0, overhead[1001];
	size_t nbatches, found = 0;
	long rss0, rss1;
	int64_t t0, t1;

	if (nsvcs < 2 || ntasks < 1 || nlook < BATCH * 100) {
		fprintf(stderr, "usage: %s [services>=2 [tasks-per-service>=1 [lookups>=1600]]]\n", argv[0]);
		return 2;
	}
	m = benchmodel_make(nsvcs, ntasks, BENCHMODEL_INGRESS);
	const struct model *models[1] = { m };

	/* build: the median of 11, the last table is kept */
	for (int i = 0; i < 11; i++) {
		t0 = clock_mono_ns();
		t = rtable_build(models, 1, &opts);
		t1 = clock_mono_ns();
		if (!t) {
			fprintf(stderr, "out of memory\n");
			return 1;
		}
		builds[i] = (uint64_t)(t1 - t0);
		rtable_free(t);
	}
	qsort(builds, 11, sizeof(builds[0]), cmp_u64);
	rss0 = rss_kb();
	t = rtable_build(models, 1, &opts);
	rss1 = rss_kb();
	rtable_info(t, &info);

	raw = calloc(RING, sizeof(*raw));
	single = calloc(nlook, sizeof(*single));
	nbatches = nlook / BATCH;
	batched = calloc(nbatches, sizeof(*batched));
	if (!raw || !single || !batched) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	make_requests(raw, RING, (nsvcs + 1) / 2);

	/* warm up, and check that the lookups find what they should */
	for (size_t i = 0; i < RING; i++) {
		struct route_answer a;
		struct route_req q;

		fill_req(&q, &raw[i]);
		rtable_route(t, 0, &q, &a, scratch);
		found += a.action == ROUTE_FORWARD;
	}

	/* cost of reading the clock, subtracted from single timings */
	for (int i = 0; i < 1001; i++) {
		int64_t a = clock_mono_ns();

		overhead[i] = (uint64_t)(clock_mono_ns() - a);
	}
	qsort(overhead, 1001, sizeof(overhead[0]), cmp_u64);

	/* batches of BATCH lookups between two clock reads: the clock costs
	 * about 1/BATCH of its price per lookup
	 */
	for (size_t b = 0; b < nbatches; b++) {
		struct route_answer a;
		int64_t s = clock_mono_ns();

		for (size_t i = b * BATCH; i < (b + 1) * BATCH; i++) {
			struct route_req q;

			fill_req(&q, &raw[i % RING]);
			rtable_route(t, 0, &q, &a, scratch);
			sink += a.port;
		}
		batched[b] = (uint64_t)(clock_mono_ns() - s);
	}
	/* one lookup between two clock reads: shows the tail */
	for (size_t i = 0; i < nlook; i++) {
		struct route_answer a;
		struct route_req q;
		int64_t s;
		uint64_t d;

		fill_req(&q, &raw[i % RING]);
		s = clock_mono_ns();
		rtable_route(t, 0, &q, &a, scratch);
		d = (uint64_t)(clock_mono_ns() - s);
		single[i] = d > overhead[500] ? d - overhead[500] : 0;
		sink += a.port;
	}
	/* throughput over the whole array */
	t0 = clock_mono_ns();
	for (size_t i = 0; i < nlook; i++) {
		struct route_answer a;
		struct route_req q;

		fill_req(&q, &raw[i % RING]);
		rtable_route(t, 0, &q, &a, scratch);
		sink += a.port;
	}
	t1 = clock_mono_ns();

	qsort(batched, nbatches, sizeof(*batched), cmp_u64);
	qsort(single, nlook, sizeof(*single), cmp_u64);

	printf("rtable-bench: %zu services, %zu tasks, %zu hosts, %zu routes, %zu lookups (%.1f%% forwarded)\n",
	       info.services, info.tasks, info.hosts, info.routes, nlook, 100.0 * (double)found / RING);
	printf("%-28s %12s %12s %12s\n", "", "median", "p99", "p99.9");
	printf("%-28s %9.2f ms %9.2f ms %12s\n", "build (11 runs)", builds[5] / 1e6, builds[10] / 1e6, "(max)");
	printf("%-28s %9.0f ns %9.0f ns %9.0f ns\n", "lookup, batches of 16",
	       pct(batched, nbatches, 0.5) / BATCH, pct(batched, nbatches, 0.99) / BATCH,
	       pct(batched, nbatches, 0.999) / BATCH);
	printf("%-28s %9.0f ns %9.0f ns %9.0f ns\n", "lookup, one at a time",
	       pct(single, nlook, 0.5), pct(single, nlook, 0.99), pct(single, nlook, 0.999));
	printf("%-28s %9.0f ns   (%.2f M lookups/s)\n", "lookup, mean over all",
	       (double)(t1 - t0) / (double)nlook, (double)nlook / ((double)(t1 - t0) / 1e9) / 1e6);
	printf("%-28s %9.1f MB   (RSS grew %.1f MB)\n", "table memory (arena)",
	       info.memory / 1048576.0, (rss1 - rss0) / 1024.0);
	printf("clock read overhead %llu ns, subtracted from single lookups; checksum %llu\n",
	       (unsigned long long)overhead[500], (unsigned long long)sink);

	rtable_free(t);
	model_free(m);
	free(raw);
	free(single);
	free(batched);
	return 0;
}
