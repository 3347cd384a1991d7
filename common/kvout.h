/* "key: value" answers for people and the same as one flat JSON object for
 * scripts: "show info" and the sections the agent's parts add to it.
 */
#ifndef COMMON_KVOUT_H
#define COMMON_KVOUT_H

#include <stdint.h>

struct sbuf;

struct kvout {
	struct sbuf *out;
	int json;
	int n;                   /* fields written so far */
};

/* Starts an answer on <out>, in JSON when <json>. */
void kvout_begin(struct kvout *k, struct sbuf *out, int json);

/* One field each. A NULL string is "-" in text and null in JSON; a time
 * is wall-clock milliseconds written in ISO 8601 UTC, 0 for unknown.
 */
void kvout_str(struct kvout *k, const char *key, const char *v);
void kvout_u64(struct kvout *k, const char *key, uint64_t v);
void kvout_i64(struct kvout *k, const char *key, int64_t v);
/* A rate or a ratio, with two decimals. */
void kvout_f64(struct kvout *k, const char *key, double v);
void kvout_time(struct kvout *k, const char *key, int64_t ms);

/* Closes the JSON object (text needs nothing). */
void kvout_end(struct kvout *k);

#endif
