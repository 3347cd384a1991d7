/* libFuzzer target: HAProxy's answers to "show table" (haproxyapi/
 * hatable.c), any bytes, and the per-service sums built from them
 * (health/traffic.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "haproxyapi/hatable.h"
#include "health/traffic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_row(void *arg, const struct hatable_row *r)
{
	size_t n = strlen(r->key);

	(void)arg;
	if (!n || n > HATABLE_KEY_MAX || r->ngpc > HATABLE_GPC_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct traffic *tr;
	struct traffic_figures f;
	uint64_t bad = 0;
	char err[200];

	hatable_parse((const char *)data, size, TRAFFIC_TABLE, on_row, NULL, &bad, err,
		      sizeof(err));
	tr = traffic_new();
	if (!tr)
		return 0;
	traffic_target_answer(tr, "a", (const char *)data, size, err, sizeof(err));
	traffic_target_answer(tr, "b", (const char *)data, size, err, sizeof(err));
	if (traffic_get(tr, "web", &f) == 0 && strcmp(f.service, "web") != 0)
		abort();
	traffic_free(tr);
	return 0;
}
