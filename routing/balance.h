/* Choosing one candidate among weighted candidates: smooth weighted
 * round-robin over a fixed cycle, and weighted rendezvous hashing.
 *
 * A pool is computed once when the routing table is built and read-only
 * afterwards; the only mutable state is a round-robin slot that each
 * worker owns.
 */
#ifndef ROUTING_BALANCE_H
#define ROUTING_BALANCE_H

#include <stddef.h>
#include <stdint.h>

struct arena;

struct balance_pool {
	uint32_t n;              /* candidates */
	uint32_t total;          /* length of the round-robin cycle: sum of reduced weights */
	uint32_t step;           /* stride through the cycle, coprime with <total> */
	uint32_t unit;           /* every reduced weight is 1: slot i is candidate i */
	const uint32_t *cum;     /* cum[i] = sum of the reduced weights of 0..i */
};

/* Fills <p> for the <n> candidates whose weights are given; weights must
 * be > 0. Weights are divided by their greatest common divisor (and scaled
 * down if their sum would not fit in 31 bits). The array it keeps is
 * allocated in <a>. Returns 0, or -1 when memory is exhausted.
 */
int balance_init(struct balance_pool *p, struct arena *a, const uint32_t *weights, uint32_t n);

/* Returns the slot in [0, total) where a worker starts, so that the
 * workers of one table (and successive tables) do not all start on the
 * same candidate.
 */
uint32_t balance_start(const struct balance_pool *p, unsigned worker, unsigned nworkers,
		       uint64_t seed);

/* Returns the candidate that owns slot <slot> of the cycle. */
static inline uint32_t balance_owner(const struct balance_pool *p, uint32_t slot)
{
	uint32_t lo = 0, hi = p->n - 1;

	if (p->unit)
		return slot;
	/* the first candidate whose cumulative weight is above <slot> */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (p->cum[mid] > slot)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* Returns the candidate at the worker's slot <*slot> and moves the slot
 * <step> further round the cycle. Over one cycle (<total> calls) each
 * candidate is returned exactly as many times as its reduced weight, and
 * consecutive calls are spread across candidates rather than bursted.
 */
static inline uint32_t balance_rr(const struct balance_pool *p, uint32_t *slot)
{
	/* relaxed: the worker owns <*slot>, "explain" may read it meanwhile */
	uint32_t cur = __atomic_load_n(slot, __ATOMIC_RELAXED);
	uint32_t next = cur + p->step;

	if (next >= p->total)
		next -= p->total;
	__atomic_store_n(slot, next, __ATOMIC_RELAXED);
	return balance_owner(p, cur);
}

/* Returns the candidate that weighted rendezvous hashing gives to client
 * <h>, <keys> being the candidates' identities (balance_key()): each
 * candidate scores the client independently, so that removing one moves
 * only the clients it had.
 */
uint32_t balance_hash(const struct balance_pool *p, const uint64_t *keys, uint64_t h);

/* A 64-bit hash of the <len> bytes at <s>, stable across runs and builds:
 * the identity of a task for hashing and sticky cookies.
 */
uint64_t balance_key(const char *s, size_t len);

#endif
