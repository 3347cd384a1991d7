/* libFuzzer target for the metrics listener's HTTP request parser
 * (stats/httpd.c): anything on the metrics port, including pipelined
 * requests. A parsed head must lie inside the input and its fields inside
 * the head.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stats/httpd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct httpd_request req;

	while (size) {
		long n = httpd_parse(buf, size, &req);

		if (n <= 0)
			break;
		if ((size_t)n > size)
			abort();
		if (req.method < buf || req.method + req.method_len > buf + n ||
		    req.path < buf || req.path + req.path_len > buf + n || req.path[0] != '/' ||
		    req.minor < 0 || req.minor > 9)
			abort();
		buf += n;
		size -= (size_t)n;
	}
	return 0;
}
