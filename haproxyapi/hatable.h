/* Reading HAProxy's "show table <name>" answer: one line per entry,
 *
 *     # table: swarm-service-traffic, type: string, size:4096, used:2
 *     0x55f16a11f7a0: key=web_app use=0 exp=3599852 http_req_cnt=3 gpc0=2 gpc1=0 ...
 *
 * as HAProxy 2.6, 3.0 (with " shard=0" after exp) and 3.2 print it. Only
 * the key, http_req_cnt and the gpc array are kept. The answer comes from
 * a process the agent does not control and the keys from requests: a line
 * that does not read as an entry is counted and skipped, never trusted.
 */
#ifndef HAPROXYAPI_HATABLE_H
#define HAPROXYAPI_HATABLE_H

#include <stddef.h>
#include <stdint.h>

#define HATABLE_KEY_MAX 64     /* haproxy-conf: "type string len 64" */
#define HATABLE_GPC_MAX 16     /* gpc(0) to gpc(15) are kept */

struct hatable_row {
	char key[HATABLE_KEY_MAX + 1];
	uint64_t http_req_cnt;
	uint64_t gpc[HATABLE_GPC_MAX];
	unsigned ngpc;             /* 1 + the highest gpc index read */
};

/* Reads the <len> bytes of <answer> (any bytes), the answer to "show table
 * <table>": calls <fn> for each well-formed entry, with a row valid during
 * the call. A key must be 1 to HATABLE_KEY_MAX printable bytes with no
 * space, quote or backslash (HAProxy escapes the others); an entry without
 * http_req_cnt, or with a number that does not fit, is malformed. Adds the
 * malformed lines to <*malformed>. Returns the number of entries, or -1
 * with the reason in <err> when the answer is not a dump of <table>
 * (an unknown table, a refused command).
 */
long hatable_parse(const char *answer, size_t len, const char *table,
		   void (*fn)(void *arg, const struct hatable_row *row), void *arg,
		   uint64_t *malformed, char *err, size_t errlen);

#endif
