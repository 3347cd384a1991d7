/* Choosing one candidate among weighted candidates: smooth weighted
 * round-robin over a fixed cycle, and weighted rendezvous hashing.
 *
 * A pool is computed once when the routing table is built and read-only
 * afterwards; the only mutable state is a round-robin position that each
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
	uint32_t uniform;        /* every weight is equal */
	const uint32_t *weights; /* reduced weights (divided by their GCD), all > 0 */
	const uint32_t *cum;     /* cum[i] = weights[0] + ... + weights[i] */
	const uint64_t *keys;    /* identity of each candidate for hashing */
};

/* Fills <p> for the <n> candidates whose weights and keys are given;
 * weights must be > 0 and their sum must fit in 32 bits. The arrays it
 * keeps are allocated in <a>; <keys> is borrowed and must live as long as
 * the pool. Returns 0, or -1 when memory is exhausted.
 */
int balance_init(struct balance_pool *p, struct arena *a, const uint32_t *weights,
		 const uint64_t *keys, uint32_t n);

/* Returns the position in [0, total) where a worker starts, so that the
 * workers of one table do not all start on the same candidate.
 */
uint32_t balance_start(const struct balance_pool *p, unsigned worker, unsigned nworkers,
		       uint64_t seed);

/* Returns the candidate at round-robin position <pos> of the cycle. Over
 * one full cycle each candidate is returned exactly weights[i] times, and
 * consecutive positions are spread across candidates rather than bursted.
 */
uint32_t balance_rr_at(const struct balance_pool *p, uint32_t pos);

/* Returns the candidate at <*pos> and advances <*pos> (the caller's
 * per-worker position) to the next position of the cycle.
 */
static inline uint32_t balance_rr(const struct balance_pool *p, uint32_t *pos)
{
	/* relaxed: the worker owns <*pos>, "explain" may read it meanwhile */
	uint32_t cur = __atomic_load_n(pos, __ATOMIC_RELAXED);

	__atomic_store_n(pos, cur + 1 >= p->total ? 0 : cur + 1, __ATOMIC_RELAXED);
	return balance_rr_at(p, cur);
}

/* Returns the candidate that weighted rendezvous hashing gives to client
 * <h>: each candidate scores the client independently, so that removing one
 * moves only the clients it had.
 */
uint32_t balance_hash(const struct balance_pool *p, uint64_t h);

/* A 64-bit hash of the <len> bytes at <s>, stable across runs and builds:
 * the identity of a task for hashing and sticky cookies.
 */
uint64_t balance_key(const char *s, size_t len);

#endif
