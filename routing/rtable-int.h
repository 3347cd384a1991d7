/* The routing table's internal layout and the functions the rtable*.c
 * files of this directory share (the build, the lookup, show, explain and
 * diff). Nothing outside routing/ includes it: everything else goes
 * through rtable.h.
 *
 * Everything lives in one arena and is read-only once rtable_build()
 * returns, except the per-worker state (round-robin slots and
 * counters), which each worker writes in its own cache-line-aligned block.
 */
#ifndef ROUTING_RTABLE_INT_H
#define ROUTING_RTABLE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/hash.h"
#include "common/netaddr.h"
#include "routing/balance.h"
#include "routing/labels-t.h"
#include "routing/model-t.h"
#include "routing/rtable.h"

struct arena;
struct ledger;
struct policy;
struct strmap;

/* Why a task cannot serve, counted per service for reasons. */
enum rt_unready {
	RT_TASK_READY = 0,
	RT_TASK_NOT_RUNNING,     /* current state is not running */
	RT_TASK_STOPPING,        /* desired state is not running */
	RT_TASK_NO_ADDRESS,      /* no address on the service's network */
	RT_TASK_STARTING,        /* health check has not passed yet */
	RT_TASK_UNHEALTHY,
	RT_TASK_UNREADY_KINDS
};

struct rt_task {
	const struct model_task *model;  /* the table's copy */
	const char *id;
	struct netaddr addr;
	uint16_t port;
	uint8_t host_mode;               /* at its node's address, on a port published in host mode */
	enum rt_unready unready;
	uint64_t key;                    /* balance_key() of the ID */
	const char *excluded;            /* ready but not picked: why (node down,
					  * passive health), else NULL */
	int64_t excluded_until_ms;       /* wall clock; 0 while its node is down */
};

struct rt_service {
	const struct model_service *model; /* the table's copy */
	const char *source;
	const char *name;
	const char *id;
	int status;                      /* enum rtable_svc_status */
	const char *reason;              /* why skipped or unrouted, or NULL */
	const char *owner;               /* stack, or "service:NAME" outside stacks */
	const char *refused_key;         /* host (or ledger key) refused to it, or NULL */
	struct labels_spec spec;
	const char *network;             /* network tasks are reached on, NULL: any */
	int host_mode;                   /* tasks reached at their node, on a port published in host mode */
	int has_vip;
	struct netaddr vip;
	uint32_t ntasks;
	uint32_t nready;
	uint32_t nexcluded;              /* ready tasks with <excluded> set */
	struct rt_task *tasks;           /* sorted by ID */
	uint32_t unready[RT_TASK_UNREADY_KINDS];
};

/* A route's flags, copied from the service that created it (the services
 * sharing a route agree on all of them).
 */
#define RT_F_REWRITE     0x01
#define RT_F_SSL_ONLY    0x02
#define RT_F_PASSTHROUGH 0x04
#define RT_F_IP_HASH     0x08
#define RT_F_VIP         0x10
#define RT_F_STICKY      0x20
#define RT_F_STICKY_MANAGED 0x40     /* HAProxy sets the sticky cookie */
#define RT_F_SSL_BACKEND 0x80        /* TLS to the tasks */
#define RT_F_SSL_VERIFY  0x100       /* ... verified against the operator's CA */
#define RT_F_ALL_EXCLUDED 0x200          /* every ready task is excluded: all are picked */

/* One server a route can pick: a ready task, or a service's VIP. 32
 * bytes, aligned: a pick never straddles two cache lines.
 */
struct rt_pick {
	_Alignas(32) struct netaddr addr;
	uint16_t port;
	uint32_t svc;                    /* index in rtable.svcs and rtable.names */
	const char *task_id;             /* NULL for a VIP */
};

#define RT_PATH_INLINE 16
#define RT_HOST_INLINE 39

/* A host + context root. Laid out for the request path: the first cache
 * line holds what matching and picking read, the second what some answers
 * need, the third what only rare answers and the stats socket read.
 */
struct rt_route {
	_Alignas(64) uint32_t path_len;
	uint32_t flags;
	uint32_t nredirects;
	uint32_t nwebsockets;
	struct balance_pool pool;
	const struct rt_pick *picks;     /* pool.n entries */
	char path_inl[RT_PATH_INLINE];   /* copy of <path> when it fits */

	const char *path;                /* context root, "/" for all */
	const uint64_t *keys;            /* pool.n task keys (balance_key()) */
	const struct rt_host *host;
	const char *primary_name;
	uint32_t primary;                /* first-created service: settings, counters */
	uint32_t first_member;           /* services sharing it, in rtable.members */
	uint32_t nmembers;
	uint32_t hsts_max_age;
	uint32_t sticky_len;
	const char *sticky;              /* cookie name when RT_F_STICKY */
	const uint64_t *macs;            /* pool.n managed cookie values (RT_F_STICKY_MANAGED) */

	const struct labels_redirect *redirects;
	const char *const *websockets;
	const char *no_task_reason;      /* set when pool.n == 0 */
};

/* A host name and its routes, stored in place in an open-addressing table:
 * a lookup reads one cache line per probe. An entry with <len> 0 is free.
 */
struct rt_host {
	_Alignas(64) uint32_t tag;       /* upper half of the name's hash */
	uint32_t len;
	uint32_t first_route;            /* routes sorted by path length, longest first */
	uint32_t nroutes;
	const char *name;                /* lowercase; the suffix after "*." for wildcards */
	uint8_t wildcard;
	char inl[RT_HOST_INLINE];        /* copy of <name> when it fits */
};

struct rt_hosttab {
	uint32_t mask;
	struct rt_host *e;               /* mask + 1 entries */
};

/* Open-addressing slot of the service indexes: <idx> is an index plus
 * one, 0 for an empty slot.
 */
struct rt_slot {
	uint32_t hash;
	uint32_t idx;
};

struct rt_index {
	uint32_t mask;
	struct rt_slot *slots;
};

/* Per-worker counters of one service. */
struct rt_svc_counters {
	uint64_t forwarded;
	uint64_t redirected;
	uint64_t no_task;
};

struct rtable {
	struct arena *arena;
	unsigned nworkers;

	uint32_t nsvcs;
	struct rt_service *svcs;         /* sorted by name, then source and ID */
	const char **names;              /* svcs[i].name, packed for the request path */
	struct rt_index by_name;
	struct rt_index by_id;

	struct rt_hosttab exact;         /* exact names */
	struct rt_hosttab wild;          /* wildcards, by suffix */
	const struct rt_host *deflt;     /* the default backend's routes, or NULL */

	uint32_t nroutes;
	struct rt_route *routes;         /* host by host, hosts sorted by name */
	uint32_t *members;

	/* per-worker state: worker w's block starts at wstate + w * wstride */
	unsigned char *wstate;
	size_t wstride;
	size_t rr_off;                   /* uint32_t round-robin slot per route */
	size_t cnt_off;                  /* struct rt_svc_counters per service */
	size_t nf_off;                   /* uint64_t not-found counter */

	size_t nexact, nwild, ntasks_ready;
	uint32_t nrouted, nskipped, nrefused;

	struct ledger *ledger;           /* who owns which host after this build */
	int ledger_changed;              /* differs from the build's input ledger */
	int64_t ledger_due_ms;           /* a claim is released then; 0: none pending */
	int64_t built_ms;
	uint64_t build_ns;
};

/* Ownership questions of one build (rtable_own.c). */
struct rt_own {
	const struct policy *policy;     /* may be NULL */
	const struct ledger *old;        /* the build's input, may be NULL */
	struct ledger *next;             /* the ledger this build makes */
	struct strmap *stacks;           /* stacks present or owning a host */
	unsigned char *seen;             /* entries of <old> their owner still claims */
	int64_t now_ms, grace_ms;
	int changed;
	int64_t due_ms;
};

/* Prepares <o> for the services of <t> (already read) from the policy and
 * ledger of <opts>. Returns 0, or -1 when memory is exhausted.
 */
int rtable_own_begin(struct rt_own *o, const struct rtable_build_opts *opts,
		     const struct rtable *t, struct arena *tmp);
/* <owner> still claims ledger key <key> (a host, "*.domain" or
 * LEDGER_DEFAULT): call for every key of every candidate service first.
 */
void rtable_own_seen(struct rt_own *o, const char *key, const char *owner);
/* Carries the input ledger over: claims whose owner has been gone for the
 * grace period are released. Returns 0, or -1 when memory is exhausted.
 */
int rtable_own_age(struct rt_own *o);
/* Returns 0 when <owner> may claim <key>, or -1 with the reason in <err>. */
int rtable_own_check(const struct rt_own *o, const char *owner, const char *key,
		     char *err, size_t errlen);
/* Returns 0 when the secrets and configs <s> names are its own to use, or
 * -1 with the reason in <err>.
 */
int rtable_own_secrets(const struct rt_own *o, const struct rt_service *s, char *err,
		       size_t errlen);
/* Records that <owner>'s routed service claims <key>. Returns 0, or -1
 * when memory is exhausted.
 */
int rtable_own_commit(struct rt_own *o, const char *key, const char *owner);
/* Hands the new ledger to <t>, or drops it when the build fails. */
void rtable_own_end(struct rt_own *o, struct rtable *t);
void rtable_own_abort(struct rt_own *o);

/* How the host of a request was resolved. */
enum rt_host_match {
	RT_MATCH_NONE = 0,
	RT_MATCH_EXACT,
	RT_MATCH_WILDCARD,
	RT_MATCH_DEFAULT,
};

/* What rtable_match() found for a request. */
struct rt_match {
	const char *host;                /* host without port; lowercase when <folded> */
	size_t host_len;
	enum rt_host_match kind;
	const struct rt_host *entry;     /* NULL when kind is RT_MATCH_NONE */
	const struct rt_route *route;    /* NULL when no path matched */
	const char *path;                /* request path, "/" when absent */
	size_t path_len;
	int bad_host;                    /* the Host was not a valid name */
};

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

/* How a task was chosen, for the answer and for explain. */
enum rt_pick_how {
	RT_PICK_RR = 0,      /* round-robin */
	RT_PICK_HASH,        /* ip_hash */
	RT_PICK_COOKIE,      /* the request's managed sticky cookie names a ready task */
	RT_PICK_COOKIE_HASH, /* consistent hash of the application's sticky cookie */
};

struct rt_pick_info {
	enum rt_pick_how how;
	uint32_t rr_slot;    /* round-robin slot used */
	int cookie_seen;     /* the sticky cookie was present */
	uint64_t cookie_key; /* managed: its last well-formed value */
	const char *cookie_val; /* application's cookie: its value, in the request */
	size_t cookie_val_len;
};

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

/* Returns a short description of why a task is not ready, or "ready". */
const char *rtable_unready_name(enum rt_unready u);

#endif
