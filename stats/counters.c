/* Worker counters by name, for "show stats" and the metrics page. */
#include <stdatomic.h>
#include <stddef.h>

#include "spoa/worker.h"
#include "stats/counters.h"

#define C(field, metric, help) \
	{ #field, "swarm_spoa_spop_" metric "_total", PROM_COUNTER, help, \
	  offsetof(struct worker_stats, field) }
#define G(field, metric, help) \
	{ #field, "swarm_spoa_spop_" metric, PROM_GAUGE, help, offsetof(struct worker_stats, field) }

const struct counters_field counters_fields[] = {
	G(conns_cur, "connections", "HAProxy connections to the agent now open."),
	C(conns_accepted, "connections_accepted", "HAProxy connections accepted."),
	C(conns_closed, "connections_closed", "HAProxy connections closed."),
	C(hellos, "hellos", "HAPROXY-HELLO frames answered."),
	C(healthchecks, "healthchecks", "Health-check HELLO exchanges (option spop-check)."),
	C(frames_in, "frames_received", "SPOP frames received."),
	C(frames_out, "frames_sent", "SPOP frames sent."),
	C(notify, "notify_frames", "NOTIFY frames received."),
	C(ack, "ack_frames", "ACK frames sent."),
	C(messages, "messages", "SPOE messages handled."),
	C(messages_unknown, "messages_unknown", "SPOE messages with a name the agent does not handle."),
	C(handler_errors, "handler_errors", "Messages answered with an error (bad arguments)."),
	C(haproxy_disconnects, "haproxy_disconnects", "HAPROXY-DISCONNECT frames received."),
	C(frames_skipped, "frames_skipped", "Frames of an unknown type, skipped."),
	C(bytes_in, "received_bytes", "Bytes read from HAProxy connections."),
	C(bytes_out, "sent_bytes", "Bytes written to HAProxy connections."),
	C(reads, "reads", "read(2) calls on HAProxy connections."),
	C(writes, "writes", "write(2) calls on HAProxy connections."),
	C(backpressure, "backpressure_pauses",
	  "Times reading paused because HAProxy read the answers slowly."),
};

const size_t counters_nfields = sizeof(counters_fields) / sizeof(counters_fields[0]);

static uint64_t counters_load(const _Atomic uint64_t *p)
{
	return atomic_load_explicit(p, memory_order_relaxed);
}

uint64_t counters_read(const struct worker_stats *ws, const struct counters_field *f)
{
	return counters_load((const _Atomic uint64_t *)(const void *)((const char *)ws + f->offset));
}

uint64_t counters_total(const struct counters_field *f)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < worker_count(); i++)
		sum += counters_read(&worker_get(i)->stats, f);
	return sum;
}

void counters_disconnects(uint64_t out[SPOP_ERR_SLOTS])
{
	for (unsigned s = 0; s < SPOP_ERR_SLOTS; s++)
		out[s] = 0;
	for (unsigned i = 0; i < worker_count(); i++)
		for (unsigned s = 0; s < SPOP_ERR_SLOTS; s++)
			out[s] += counters_load(&worker_get(i)->stats.disconnects[s]);
}

void counters_latency(uint64_t out[COUNTERS_LAT_BUCKETS])
{
	for (unsigned b = 0; b < COUNTERS_LAT_BUCKETS; b++)
		out[b] = 0;
	for (unsigned i = 0; i < worker_count(); i++)
		for (unsigned b = 0; b < COUNTERS_LAT_BUCKETS; b++)
			out[b] += counters_load(&worker_get(i)->stats.lat_hist[b]);
}

uint64_t counters_latency_sum_ns(void)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < worker_count(); i++)
		sum += counters_load(&worker_get(i)->stats.lat_sum_ns);
	return sum;
}

/* The workers put a time t in bucket 0 when t < 64 ns, in bucket b when
 * 2^(b+5) <= t < 2^(b+6), and everything from 2^28 ns on in the last one.
 */
uint64_t counters_latency_bound(unsigned i)
{
	return i + 1 < COUNTERS_LAT_BUCKETS ? (uint64_t)1 << (i + 6) : 0;
}

int counters_slot_status(unsigned slot)
{
	return slot + 1 < SPOP_ERR_SLOTS ? (int)slot : -1;
}

uint64_t counters_quantile(const uint64_t hist[COUNTERS_LAT_BUCKETS], double q)
{
	uint64_t total = 0, seen = 0;

	for (unsigned b = 0; b < COUNTERS_LAT_BUCKETS; b++)
		total += hist[b];
	if (!total)
		return 0;
	for (unsigned b = 0; b < COUNTERS_LAT_BUCKETS; b++) {
		seen += hist[b];
		if ((double)seen >= q * (double)total)
			return b + 1 < COUNTERS_LAT_BUCKETS ? counters_latency_bound(b) : UINT64_MAX;
	}
	return UINT64_MAX;
}
