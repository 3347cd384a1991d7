/* The agent's routing tables: keeps each provider's latest service model,
 * builds a new table when one changes, logs what changed, publishes it to
 * the workers and keeps lifetime counters across tables. Main thread only.
 */
#ifndef ROUTING_TABLES_H
#define ROUTING_TABLES_H

#include <stdint.h>
#include "routing/rtable.h"

struct model;
struct overlay;
struct policy;

struct tables_status {
	unsigned long generation;   /* tables published so far */
	int64_t published_ms;       /* wall clock of the current table */
	uint64_t build_ns;          /* how long the current table took to build */
	size_t retired_waiting;     /* old tables a worker or a listing may still read */
	uint64_t build_failures;
};

void tables_init(const struct rtable_build_opts *opts);

/* Ownership of hosts (docs/security.md): claims outlive their owner for
 * <claim_grace_ms>; <ledger_file> (NULL: none, the ledger lives in memory
 * only) is read now if it exists, written atomically whenever a claim
 * changes, and read again when someone else rewrites it. Call before the
 * first tables_update(). Returns 0, or -1 with the reason in <err> (the
 * file exists but cannot be read or parsed: starting without it would
 * hand hosts over).
 */
int tables_ownership(const char *ledger_file, int64_t claim_grace_ms, char *err, size_t errlen);

/* Replaces the operator's policy with <p> (taken over; NULL: none) and
 * rebuilds the table if there is one. Returns 0, or -1 when the table
 * could not be built: the previous policy then stays and <p> is freed.
 */
int tables_set_policy(struct policy *p);

/* The operator's policy in force (NULL: none), valid until the next
 * tables_set_policy(); main thread only.
 */
const struct policy *tables_policy(void);

/* Replaces the model of provider <source> (a static string such as "file"
 * or "swarm") with <m>, which it takes over (NULL removes the provider's
 * services), then builds and publishes a new table. Returns 0, or -1 when
 * the table could not be built: the previous table then stays in service.
 */
int tables_update(const char *source, struct model *m);

/* Replaces the health overlay (tasks passive health excludes) with <ov>,
 * which it takes over (NULL: none), then builds and publishes a new table.
 * Returns 0, or -1 when the table could not be built: the previous table
 * and overlay then stay.
 */
int tables_set_health(struct overlay *ov);

/* The current table (main thread only; NULL before the first publish).
 * The pointer is valid until the main loop runs on: a newer table may
 * retire it, and a retired table is freed once no worker reads it.
 */
const struct rtable *tables_current(void);

/* Returns the current table held for the caller, who may read it across
 * loop turns until the matching tables_unhold(), even after it is retired
 * (it is then freed by the last unhold). NULL before the first publish or
 * when memory is exhausted. Main thread only.
 */
const struct rtable *tables_hold(void);
void tables_unhold(const struct rtable *t);

void tables_status(struct tables_status *st);

/* Calls <fn> after each publish with the new table (network and
 * certificate managers follow the table this way). At most 8 subscribers.
 */
void tables_subscribe(void (*fn)(void *arg, const struct rtable *t), void *arg);

/* Lifetime request counters by service name (retired tables plus the
 * current one), then the table-wide totals with <service> NULL. A service
 * gone from the table keeps its own for TABLES_GONE_KEEP_MS (scrapers see
 * its last counts, a redeploy continues them), and only the
 * TABLES_GONE_MAX that went last are kept: with services churning, memory
 * stays bounded. The table-wide totals keep everything.
 */
void tables_counters(void (*fn)(void *arg, const char *service,
				const struct rtable_counters *c), void *arg);

/* Releases retired tables no worker can see, once a second prunes the
 * counters of services gone, rebuilds when a host claim is due for
 * release or the ledger file changed, retries a failed ledger write; call
 * periodically (every 100 ms).
 */
void tables_reclaim(void);

#define TABLES_GONE_KEEP_MS (10 * 60 * 1000)
#define TABLES_GONE_MAX 4096

/* Drops the counters of services gone from the current table for
 * TABLES_GONE_KEEP_MS as of <now_ms> (monotonic), then those that went
 * first beyond TABLES_GONE_MAX. Returns how many gone services keep
 * counters. tables_reclaim() calls it; exported for the tests' clock.
 */
size_t tables_prune(int64_t now_ms);

/* Frees everything at exit, after the workers stopped. */
void tables_shutdown(void);

#endif
