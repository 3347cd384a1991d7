/* The routing table's internal layout, shared by the rtable*.c files of
 * this directory and by nothing else: everything outside routing/ goes
 * through rtable.h.
 *
 * Everything lives in one arena and is read-only once rtable_build()
 * returns, except the per-worker state (round-robin slots and
 * counters), which each worker writes in its own cache-line-aligned block.
 */
#ifndef ROUTING_RTABLE_T_H
#define ROUTING_RTABLE_T_H

#include <stddef.h>
#include <stdint.h>

#include "common/netaddr.h"
#include "routing/balance.h"
#include "routing/labels-t.h"
#include "routing/model-t.h"

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
	enum rt_unready unready;
	uint64_t key;                    /* balance_key() of the ID */
};

struct rt_service {
	const struct model_service *model; /* the table's copy */
	const char *source;
	const char *name;
	const char *id;
	int status;                      /* enum rtable_svc_status */
	const char *reason;              /* why skipped or unrouted, or NULL */
	struct labels_spec spec;
	const char *network;             /* network tasks are reached on, NULL: any */
	int has_vip;
	struct netaddr vip;
	uint32_t ntasks;
	uint32_t nready;
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
	uint32_t nrouted, nskipped;
	int64_t built_ms;
	uint64_t build_ns;
};

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

#endif
