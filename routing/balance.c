/* Weighted task selection.
 *
 * Round-robin: the cycle has <total> slots, one per unit of reduced
 * weight, laid out candidate after candidate ([0, w0) for the first one,
 * [w0, w0 + w1) for the next...). A worker walks the slots with a stride
 * <step> coprime with <total> and close to total / phi: the walk visits
 * every slot exactly once per cycle (exact proportions), consecutive slots
 * land far apart (spread, not bursts), and a pick costs an addition, a
 * comparison and, with unequal weights, a binary search. No per-candidate
 * state is updated.
 *
 * Hashing: weighted rendezvous (highest random weight). Each candidate
 * draws u in (0, 1) from hash(client, candidate) and scores -w / ln(u);
 * the highest score wins. With equal weights the score is monotonic in u
 * and the raw hash decides.
 */
#include <math.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/hash.h"
#include "routing/balance.h"

static uint32_t balance_gcd(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

uint64_t balance_key(const char *s, size_t len)
{
	return hash_bytes(HASH_SEED, s, len);
}

int balance_init(struct balance_pool *p, struct arena *a, const uint32_t *weights, uint32_t n)
{
	uint32_t g = 0, *cum;
	uint64_t sum = 0, scale = 1;

	p->n = n;
	p->unit = 1;
	p->total = 0;
	p->step = 1;
	p->cum = NULL;
	if (n == 0)
		return 0;
	cum = arena_alloc(a, n * sizeof(*cum));
	if (!cum)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		g = balance_gcd(weights[i], g);
		sum += weights[i];
	}
	sum /= g;
	/* 10000 x 200000 tasks would not fit: keep proportions, roughly */
	while (sum / scale > 0x7fffffffu)
		scale *= 2;
	sum = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t w = weights[i] / g / scale;

		if (w == 0)
			w = 1;
		if (w != 1)
			p->unit = 0;
		sum += w;
		cum[i] = (uint32_t)sum;
	}
	p->cum = cum;
	p->total = (uint32_t)sum;

	/* the integer nearest to total / phi that is coprime with total */
	p->step = (uint32_t)((double)p->total * 0.6180339887498949 + 0.5);
	if (p->step == 0)
		p->step = 1;
	while (balance_gcd(p->step, p->total) != 1)
		p->step++;
	return 0;
}

uint32_t balance_start(const struct balance_pool *p, unsigned worker, unsigned nworkers,
		       uint64_t seed)
{
	if (p->total == 0)
		return 0;
	return (uint32_t)((hash_mix(seed) % p->total +
			   (uint64_t)p->total * worker / (nworkers ? nworkers : 1)) % p->total);
}

uint32_t balance_hash(const struct balance_pool *p, const uint64_t *keys, uint64_t h)
{
	uint32_t best = 0;

	if (p->unit) {
		uint64_t top = 0;

		for (uint32_t i = 0; i < p->n; i++) {
			uint64_t s = hash_mix(h ^ keys[i]);

			if (i == 0 || s > top) {
				top = s;
				best = i;
			}
		}
		return best;
	}

	double top = -1.0;

	for (uint32_t i = 0; i < p->n; i++) {
		uint64_t s = hash_mix(h ^ keys[i]);
		/* 53 random bits into (0, 1), never 0 or 1 */
		double u = ((double)(s >> 11) + 0.5) / 9007199254740992.0;
		uint32_t w = p->cum[i] - (i ? p->cum[i - 1] : 0);
		double score = -(double)w / log(u);

		if (score > top) {
			top = score;
			best = i;
		}
	}
	return best;
}
