/* Per-service traffic as HAProxy saw it: each agent reads the stick table
 * swarm-service-traffic (haproxy-conf/swarm-backends.cfg) of every HAProxy
 * it talks to, and adds to it the connection failures of the ring it
 * already streams for passive health. A service's figures are the sums
 * over those HAProxies. Main loop only.
 *
 * The table's gpc array, as swarm-backends.cfg fills it:
 *   gpc0-3  responses of the tasks by class: 2xx, 3xx, 4xx, 5xx
 *   gpc4-9  responses by time from the choice of the task to the response
 *           headers: <= 5, 25, 100, 500, 2500 ms, and above
 */
#ifndef HEALTH_TRAFFIC_H
#define HEALTH_TRAFFIC_H

#include <stddef.h>
#include <stdint.h>

struct sbuf;
struct traffic;

#define TRAFFIC_TABLE       "swarm-service-traffic"
#define TRAFFIC_NCLASSES    4
#define TRAFFIC_NBUCKETS    6      /* the last one has no upper bound */
#define TRAFFIC_GPC_BUCKETS 4      /* gpc index of the first bucket */
#define TRAFFIC_MAX_FAILED  4096   /* services whose connection failures are kept */

/* The bounds of the response time buckets, in milliseconds. */
extern const unsigned traffic_bucket_ms[TRAFFIC_NBUCKETS - 1];

struct traffic_figures {
	const char *service;
	uint64_t requests;                     /* http_req_cnt: forwarded to a task */
	uint64_t status[TRAFFIC_NCLASSES];     /* 2xx, 3xx, 4xx, 5xx */
	uint64_t buckets[TRAFFIC_NBUCKETS];    /* responses by time, not cumulative */
	uint64_t conn_failures;                /* refused, connect timeout, reset (SC, sC, SH) */
};

struct traffic_status {
	uint64_t polls, poll_failures, malformed;
	size_t targets, services;
	const char *last_error;                /* "" when the last poll went well */
};

struct traffic *traffic_new(void);
void traffic_free(struct traffic *tr);

/* Replaces what target <target> said with its answer to "show table
 * swarm-service-traffic" (<answer>, <len> bytes, any bytes). Returns 0, or
 * -1 with the reason in <err> (the answer is not a table dump, or memory
 * ran out): that target's previous figures are kept.
 */
int traffic_target_answer(struct traffic *tr, const char *target, const char *answer,
			  size_t len, char *err, size_t errlen);

/* A poll of <target> failed for <reason>: its previous figures are kept. */
void traffic_target_failed(struct traffic *tr, const char *target, const char *reason);

/* Forgets the figures of <target>, an HAProxy no longer talked to. */
void traffic_target_drop(struct traffic *tr, const char *target);

/* Counts a connection failure of <service> (a line of the ring). */
void traffic_conn_failure(struct traffic *tr, const char *service);

/* The figures of <service> in <out> (its name is <service>): 0, or -1 when
 * no HAProxy knows it. Valid until the next call that changes <tr>.
 */
int traffic_get(struct traffic *tr, const char *service, struct traffic_figures *out);

/* Calls <fn> for every service, by name. */
void traffic_each(struct traffic *tr, void (*fn)(void *arg, const struct traffic_figures *f),
		  void *arg);

void traffic_status(struct traffic *tr, struct traffic_status *st);

/* Appends a one-line summary of <f> to <out>: "req=12 2xx=5 ..." (text), or
 * a JSON object.
 */
void traffic_format(const struct traffic_figures *f, struct sbuf *out, int json);

#endif
