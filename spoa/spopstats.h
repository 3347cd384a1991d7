/* The workers' SPOP counters as the stats socket and the metrics page show
 * them: summed across workers on demand (relaxed loads: a total is
 * approximate while workers run, never torn). Main thread only.
 */
#ifndef SPOA_SPOPSTATS_H
#define SPOA_SPOPSTATS_H

struct kvout;
struct sbuf;

#define SPOPSTATS_LAT_BUCKETS 24   /* size of worker_stats.lat_hist */

/* "show info": the open HAProxy connections. */
void spopstats_info(struct kvout *kv);

/* "show stats": every counter, total and per worker, the disconnects by
 * status, the lookups by outcome and the NOTIFY processing time.
 */
void spopstats_show_stats(struct sbuf *out, int json);

/* "show conns", a part per call (struct stats_source's show contract):
 * the workers are asked once for their connections, then the list is
 * printed a bounded number of rows at a time. spopstats_conns_abort()
 * releases the <state> of a listing left before its end.
 */
int spopstats_show_conns(void **state, struct sbuf *out, int json);
void spopstats_conns_abort(void *state);

/* The metric families of the workers: every counter, disconnects by
 * status, per-thread load and the NOTIFY processing time histogram.
 */
void spopstats_metrics(struct sbuf *out);

#endif
