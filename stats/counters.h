/* The workers' SPOP counters as the stats socket and the metrics page read
 * them: one table of named fields over struct worker_stats, summed across
 * workers on demand (relaxed loads: a total is approximate while workers
 * run, never torn).
 */
#ifndef STATS_COUNTERS_H
#define STATS_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#include "spoa/spop-t.h"
#include "stats/prom.h"

struct worker_stats;

#define COUNTERS_LAT_BUCKETS 24   /* size of worker_stats.lat_hist */

struct counters_field {
	const char *key;          /* name in "show stats" */
	const char *metric;       /* Prometheus family name */
	enum prom_type type;      /* PROM_COUNTER or PROM_GAUGE */
	const char *help;
	size_t offset;            /* of the _Atomic uint64_t in struct worker_stats */
};

extern const struct counters_field counters_fields[];
extern const size_t counters_nfields;

/* Value of field <f> in <ws>. */
uint64_t counters_read(const struct worker_stats *ws, const struct counters_field *f);

/* Sum of field <f> over every worker. */
uint64_t counters_total(const struct counters_field *f);

/* Sums over every worker: AGENT-DISCONNECT frames by status slot (slot
 * SPOP_ERR_SLOTS - 1 counts any other status), and the NOTIFY processing
 * time histogram.
 */
void counters_disconnects(uint64_t out[SPOP_ERR_SLOTS]);
void counters_latency(uint64_t out[COUNTERS_LAT_BUCKETS]);

/* Total time the workers spent answering NOTIFY frames, in nanoseconds. */
uint64_t counters_latency_sum_ns(void);

/* Upper bound in nanoseconds of latency bucket <i>, exclusive; 0 for the
 * last bucket, which has none.
 */
uint64_t counters_latency_bound(unsigned i);

/* The status code counted in disconnect slot <slot>, or -1 for the slot
 * of other codes.
 */
int counters_slot_status(unsigned slot);

/* Returns the smallest bucket upper bound below which a fraction <q> of
 * the <hist> samples fall, 0 when there is no sample, UINT64_MAX when it
 * is the unbounded last bucket.
 */
uint64_t counters_quantile(const uint64_t hist[COUNTERS_LAT_BUCKETS], double q);

#endif
