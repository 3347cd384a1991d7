/* Discovery on the stats socket and the metrics page. */
#ifndef DISCOVERY_DISCSTATS_H
#define DISCOVERY_DISCSTATS_H

struct discovery;
struct kvout;
struct sbuf;

/* The state, the Docker endpoint, the counters and the convergence
 * figures of <d>: as "show info" fields into <kv>, as metric families into
 * <out>.
 */
void discstats_info(const struct discovery *d, struct kvout *kv);
void discstats_metrics(const struct discovery *d, struct sbuf *out);

#endif
