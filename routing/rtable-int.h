/* Functions shared by the rtable*.c files of this directory (the build,
 * the lookup, show, explain and diff); nothing outside routing/ uses them.
 */
#ifndef ROUTING_RTABLE_INT_H
#define ROUTING_RTABLE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "routing/rtable-t.h"
#include "routing/rtable.h"

/* The start of a caller's scratch buffer holds a request's host once
 * converted to punycode; strings built for an answer go after it.
 */
#define RT_SCRATCH_HOST 512

/* Host names are hashed from their last byte to their first, folding ASCII
 * case on the way: one pass over a request's Host yields the hash of the
 * whole name and of every suffix that follows a dot, which are the keys of
 * the exact and the wildcard indexes.
 */
#define RT_HASH_SEED  0xcbf29ce484222325ULL
#define RT_HASH_PRIME 0x100000001b3ULL

static inline unsigned char rt_lower(unsigned char c)
{
	return (unsigned char)(c - 'A') < 26 ? (unsigned char)(c | 0x20) : c;
}

static inline uint64_t rt_hash_step(uint64_t h, unsigned char c)
{
	return (h ^ rt_lower(c)) * RT_HASH_PRIME;
}

static inline uint64_t rt_hash_final(uint64_t h)
{
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ULL;
	h ^= h >> 32;
	return h;
}

/* Hash of a whole host name (or wildcard suffix) of <len> bytes. */
static inline uint64_t rt_host_hash(const char *s, size_t len)
{
	uint64_t h = RT_HASH_SEED;

	while (len)
		h = rt_hash_step(h, (unsigned char)s[--len]);
	return rt_hash_final(h);
}

/* Case-sensitive hash of a service name or ID, for the lookup indexes. */
static inline uint64_t rt_str_hash(const char *s)
{
	uint64_t h = RT_HASH_SEED;

	while (*s)
		h = (h ^ (unsigned char)*s++) * RT_HASH_PRIME;
	return rt_hash_final(h);
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

/* Returns the host entry named <name> (<len> bytes, any case) in the exact
 * index, or in the wildcard index when <wildcard> (then <name> is the
 * suffix after "*."), or NULL.
 */
const struct rt_host *rtable_host_get(const struct rtable *t, const char *name, size_t len,
				      int wildcard);

/* Returns the index of the service whose ID is <id>, or -1. */
long rtable_service_find_id(const struct rtable *t, const char *id);

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
	uint32_t rr_pos;     /* round-robin position used */
	int cookie_seen;     /* the sticky cookie was present */
	uint64_t cookie_key; /* its last well-formed value */
};

/* Picks a server of route <r> (which has at least one) for <req>: a valid
 * sticky cookie first, then ip_hash when the client address is known, else
 * round-robin at <*pos>, which is advanced only when <advance> is set.
 * Returns the index in r->picks and fills <pi>.
 */
uint32_t rtable_pick(const struct rt_route *r, uint32_t *pos, int advance,
		     const struct route_req *req, struct rt_pick_info *pi);

/* A decision and how it was reached. */
struct rt_decision {
	struct rt_match m;
	struct rt_pick_info pi;
	const struct rt_pick *pick;      /* set for ROUTE_FORWARD */
};

/* Decides where <req> goes, as rtable_route() does, without counting:
 * <rr> is the per-route round-robin positions of one worker, advanced only
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
