/* Functions shared by the rtable*.c files of this directory (the build,
 * the lookup, show, explain and diff); nothing outside routing/ uses them.
 */
#ifndef ROUTING_RTABLE_INT_H
#define ROUTING_RTABLE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/hash.h"
#include "routing/rtable-t.h"
#include "routing/rtable.h"

/* The start of a caller's scratch buffer holds a request's host once
 * converted to punycode; strings built for an answer go after it.
 */
#define RT_SCRATCH_HOST 512

/* Host names are hashed and compared eight bytes at a time, ASCII case
 * folded on the fly: a request's Host is never copied to be lowercased.
 */
#define RT_HASH_SEED 0x243f6a8885a308d3ULL
#define RT_HASH_K1   0xa0761d6478bd642fULL
#define RT_HASH_K2   0xe7037ed1a0b428dbULL
#define RT_HIGH_BITS 0x8080808080808080ULL

static inline unsigned char rt_lower(unsigned char c)
{
	return (unsigned char)(c - 'A') < 26 ? (unsigned char)(c | 0x20) : c;
}

static inline uint64_t rt_load8(const char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

static inline uint32_t rt_load4(const char *p)
{
	uint32_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/* Lowercases the ASCII capitals among the 8 bytes of <x>: bytes whose low
 * seven bits lie in 'A'..'Z' and whose top bit is clear get 0x20 added.
 * No carry crosses a byte.
 */
static inline uint64_t rt_fold8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ULL;
	uint64_t low7 = x & (0x7f * ones);
	uint64_t ge_a = low7 + (0x80 - 'A') * ones;
	uint64_t gt_z = low7 + (0x80 - 'Z' - 1) * ones;

	return x | (((ge_a ^ gt_z) & ~x & RT_HIGH_BITS) >> 2);
}

static inline uint64_t rt_mum(uint64_t a, uint64_t b)
{
	__uint128_t m = (__uint128_t)a * b;

	return (uint64_t)m ^ (uint64_t)(m >> 64);
}

/* Hash of the <len> bytes at <s>, ASCII case folded. <*bits> receives
 * the OR of every byte read (bit 7 set: the name is not ASCII).
 */
static inline uint64_t rt_host_hash_bits(const char *s, size_t len, uint64_t *bits)
{
	uint64_t h = RT_HASH_SEED ^ len, w;

	if (len >= 8) {
		size_t i;

		*bits = 0;
		for (i = 0; i + 8 < len; i += 8) {
			w = rt_load8(s + i);
			*bits |= w;
			h = rt_mum(h ^ rt_fold8(w), RT_HASH_K1);
		}
		/* the last 8 bytes, overlapping the previous word if need be */
		w = rt_load8(s + len - 8);
	} else if (len >= 4) {
		w = rt_load4(s) | (uint64_t)rt_load4(s + len - 4) << 32;
	} else if (len) {
		w = (uint64_t)(unsigned char)s[0] | (uint64_t)(unsigned char)s[len / 2] << 8 |
		    (uint64_t)(unsigned char)s[len - 1] << 16;
	} else {
		w = 0;
	}
	*bits = len >= 8 ? *bits | w : w;
	return rt_mum(h ^ rt_fold8(w), RT_HASH_K2);
}

static inline uint64_t rt_host_hash(const char *s, size_t len)
{
	uint64_t bits;

	return rt_host_hash_bits(s, len, &bits);
}

/* Compares request bytes <req> (any case) with the lowercase <name>, both
 * <len> bytes long.
 */
static inline int rt_name_equal(const char *req, const char *name, size_t len)
{
	if (len >= 8) {
		size_t i;

		for (i = 0; i + 8 < len; i += 8)
			if (rt_fold8(rt_load8(req + i)) != rt_load8(name + i))
				return 0;
		return rt_fold8(rt_load8(req + len - 8)) == rt_load8(name + len - 8);
	}
	for (size_t i = 0; i < len; i++)
		if (rt_lower((unsigned char)req[i]) != (unsigned char)name[i])
			return 0;
	return 1;
}

/* Case-sensitive hash of a service name or ID, for the lookup indexes. */
static inline uint64_t rt_str_hash(const char *s)
{
	return hash_str(HASH_SEED, s);
}

/* Per-worker state of worker <w>. */
static inline uint32_t *rt_worker_rr(const struct rtable *t, unsigned w)
{
	return (uint32_t *)(void *)(t->wstate + w * t->wstride + t->rr_off);
}

static inline struct rt_svc_counters *rt_worker_counters(const struct rtable *t, unsigned w)
{
	return (struct rt_svc_counters *)(void *)(t->wstate + w * t->wstride + t->cnt_off);
}

static inline uint64_t *rt_worker_not_found(const struct rtable *t, unsigned w)
{
	return (uint64_t *)(void *)(t->wstate + w * t->wstride + t->nf_off);
}

/* Returns the host entry named <name> (<len> bytes, any case, ASCII) in
 * the exact table, or in the wildcard table when <wildcard> (then <name>
 * is the suffix after "*."), or NULL.
 */
const struct rt_host *rtable_host_get(const struct rtable *t, const char *name, size_t len,
				      int wildcard);

/* Returns the index of the service whose ID is <id> and whose provider is
 * <source> (any when NULL), or -1.
 */
long rtable_service_find_id(const struct rtable *t, const char *id, const char *source);

/* Resolves the host and path of <req> into <m>: exact name, then the most
 * specific wildcard, then the default backend; then the longest context
 * root on a segment boundary (or, for TLS passthrough lookups, the host's
 * passthrough route). <scratch> (RTABLE_SCRATCH_SIZE bytes) receives the
 * host when it must be converted to punycode.
 */
void rtable_match(const struct rtable *t, const struct route_req *req, char *scratch,
		  struct rt_match *m);

/* How a task was chosen, for the answer and for explain. */
enum rt_pick_how {
	RT_PICK_RR = 0,      /* round-robin */
	RT_PICK_HASH,        /* ip_hash */
	RT_PICK_COOKIE,      /* the request's sticky cookie names a ready task */
};

struct rt_pick_info {
	enum rt_pick_how how;
	uint32_t rr_slot;    /* round-robin slot used */
	int cookie_seen;     /* the sticky cookie was present */
	uint64_t cookie_key; /* its last well-formed value */
};

/* Picks a server of route <r> (which has at least one) for <req>: a valid
 * sticky cookie first, then ip_hash when the client address is known, else
 * round-robin from slot <*slot>, which is advanced only when <advance> is
 * set.
 * Returns the index in r->picks and fills <pi>.
 */
uint32_t rtable_pick(const struct rt_route *r, uint32_t *slot, int advance,
		     const struct route_req *req, struct rt_pick_info *pi);

/* A decision and how it was reached. */
struct rt_decision {
	struct rt_match m;
	struct rt_pick_info pi;
	const struct rt_pick *pick;      /* set for ROUTE_FORWARD */
};

/* Decides where <req> goes, as rtable_route() does, without counting:
 * <rr> is the per-route round-robin slots of one worker, advanced only
 * when <advance> is set. Fills <ans> and <d>.
 */
void rtable_decide(const struct rtable *t, uint32_t *rr, int advance,
		   const struct route_req *req, struct route_answer *ans, char *scratch,
		   struct rt_decision *d);

/* Returns the "host" text of entry <h> for display: "*." + suffix for a
 * wildcard, "(default)" for the default backend, into <buf> (HOSTNAME_MAX
 * + 8 bytes).
 */
const char *rtable_host_name(const struct rtable *t, const struct rt_host *h, char *buf);

/* Returns "task" or "vip". */
const char *rtable_mode_name(const struct rt_service *s);

/* Returns a short description of why a task is not ready, or "ready". */
const char *rtable_unready_name(enum rt_unready u);

#endif
