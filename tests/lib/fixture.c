/* Fixture files for the discovery tests. */
#include <stdio.h>
#include <stdlib.h>

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
