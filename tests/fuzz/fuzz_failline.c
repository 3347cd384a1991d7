/* libFuzzer target: lines of HAProxy's ring of failed requests
 * (health/failline.c), any bytes, read from their end; and the label
 * values of max_fails and fail_timeout (health/exclude.c).
 *
 * Input: a selector byte, then the line (or the two label values, split
 * at the first NUL).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "health/exclude.h"
#include "health/failline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct failline fl;
	struct exclude_policy p;
	char err[160], *a, *b;
	int rc;

	if (!size)
		return 0;
	if (data[0] & 1) {
		a = malloc(size);
		if (!a)
			return 0;
		memcpy(a, data + 1, size - 1);
		a[size - 1] = '\0';
		b = a + strlen(a);
		if (b < a + size - 1)
			b++;
		exclude_policy_parse(&p, a, b, err, sizeof(err));
		if (p.max_fails > EXCLUDE_MAX_FAILS || p.fail_timeout_ms < 1 ||
		    p.fail_timeout_ms > EXCLUDE_MAX_TIMEOUT_MS)
			abort();
		free(a);
		return 0;
	}
	rc = failline_parse((const char *)data + 1, size - 1, &fl);
	if (rc < -1 || rc > 1 || (rc == 1 && (!fl.service[0] || !fl.port || !fl.dst.family)))
		abort();
	return 0;
}
