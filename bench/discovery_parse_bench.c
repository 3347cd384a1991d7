/* Parse cost of a big Docker answer: jansson (a tree of the whole document,
 * what a straightforward client does) against discovery's loaders (a pull
 * scan that keeps only the fields the model needs), on the same recorded
 * answers. Used by bench/discovery_bench.sh:
 *
 *   discovery_parse_bench SERVICES.json TASKS.json [RUNS]
 *
 * Prints, per loader, the median and best CPU time over RUNS (default 5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "common/log.h"
#include "discovery/swarm.h"
#include "routing/model.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, double *t, int runs, size_t bytes)
{
	qsort(t, (size_t)runs, sizeof(*t), dbl_cmp);
	printf("%-34s median %7.1f ms  best %7.1f ms  (%.1f MB)\n", what, t[runs / 2], t[0],
	       bytes / 1e6);
}

int main(int argc, char **argv)
{
	size_t slen, tlen;
	char *svcs, *tasks, err[256];
	int runs = argc > 3 ? atoi(argv[3]) : 5;
	double t[64];

	if (argc < 3 || runs < 1 || runs > 64) {
		fprintf(stderr, "usage: %s SERVICES.json TASKS.json [RUNS<=64]\n", argv[0]);
		return 2;
	}
	log_set_level(LL_ERROR);
	svcs = slurp(argv[1], &slen);
	tasks = slurp(argv[2], &tlen);

	for (int i = 0; i < runs; i++) {
		json_error_t je;
		double t0 = cpu_ms();
		json_t *j = json_loadb(tasks, tlen, 0, &je);

		if (!j) {
			fprintf(stderr, "jansson: %s\n", je.text);
			return 1;
		}
		json_decref(j);
		t[i] = cpu_ms() - t0;
	}
	report("jansson json_loadb /tasks", t, runs, tlen);

	for (int i = 0; i < runs; i++) {
		json_error_t je;
		double t0 = cpu_ms();
		json_t *j = json_loadb(svcs, slen, 0, &je);

		json_decref(j);
		t[i] = cpu_ms() - t0;
	}
	report("jansson json_loadb /services", t, runs, slen);

	for (int i = 0; i < runs; i++) {
		struct swarm *sw = swarm_new();
		double t0, t1;

		if (swarm_load_services(sw, svcs, slen, 0, err, sizeof(err)) < 0) {
			fprintf(stderr, "services: %s\n", err);
			return 1;
		}
		t0 = cpu_ms();
		if (swarm_load_tasks(sw, tasks, tlen, NULL, 0, 0, err, sizeof(err)) < 0) {
			fprintf(stderr, "tasks: %s\n", err);
			return 1;
		}
		t1 = cpu_ms();
		t[i] = t1 - t0;
		swarm_free(sw);
	}
	report("discovery swarm_load_tasks", t, runs, tlen);

	for (int i = 0; i < runs; i++) {
		struct swarm *sw = swarm_new();
		double t0 = cpu_ms();

		swarm_load_services(sw, svcs, slen, 0, err, sizeof(err));
		t[i] = cpu_ms() - t0;
		swarm_free(sw);
	}
	report("discovery swarm_load_services", t, runs, slen);

	{
		struct swarm *sw = swarm_new();
		struct model *m;

		swarm_load_services(sw, svcs, slen, 0, err, sizeof(err));
		swarm_load_tasks(sw, tasks, tlen, NULL, 0, 0, err, sizeof(err));
		for (int i = 0; i < runs; i++) {
			double t0 = cpu_ms();

			m = swarm_model(sw);
			t[i] = cpu_ms() - t0;
			model_free(m);
		}
		report("discovery swarm_model (build)", t, runs, 0);
		swarm_free(sw);
	}
	free(svcs);
	free(tasks);
	return 0;
}
