/* Fixture files for the discovery tests. */
#include <stdio.h>
#include <stdlib.h>

#include "common/sbuf.h"
#include "tests/lib/fixture.h"

char *fixture_read(const char *name, size_t *len)
{
	char path[1024];
	FILE *f;
	long n;
	char *buf;

	snprintf(path, sizeof(path), "%s/%s", DOCKER_FIXTURES, name);
	f = fopen(path, "rb");
	if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		fprintf(stderr, "cannot read fixture %s\n", path);
		abort();
	}
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "cannot read fixture %s\n", path);
		abort();
	}
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

void fixture_many_services(size_t n, const char *state, struct sbuf *svcs, struct sbuf *tasks)
{
	sbuf_putc(svcs, '[');
	sbuf_putc(tasks, '[');
	for (size_t i = 0; i < n; i++) {
		sbuf_printf(svcs, "%s{\"ID\":\"s%04zu\",\"Spec\":{\"Name\":\"s%04zu\","
			    "\"Labels\":{\"com.docker.lb.hosts\":\"s%04zu.test\",\"com.docker.lb.port\":\"80\"},"
			    "\"Mode\":{\"Replicated\":{\"Replicas\":1}}}}", i ? "," : "", i, i, i);
		sbuf_printf(tasks, "%s{\"ID\":\"t%04zu\",\"ServiceID\":\"s%04zu\",\"DesiredState\":\"running\","
			    "\"Status\":{\"State\":\"%s\",\"Timestamp\":\"2024-01-01T00:00:00Z\"}}",
			    i ? "," : "", i, i, state);
	}
	sbuf_putc(svcs, ']');
	sbuf_putc(tasks, ']');
}
