/* The routing table's internal layout, shared by the rtable*.c files of
 * this directory and by nothing else: everything outside routing/ goes
 * through rtable.h.
 *
 * Everything lives in one arena and is read-only once rtable_build()
 * returns, except the per-worker state (round-robin positions and
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

#define RT_NONE UINT32_MAX

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

/* One server a route can pick: a ready task, or a service's VIP. */
struct rt_pick {
	struct netaddr addr;
	uint16_t port;
	uint32_t svc;                    /* index in rtable.svcs */
	const char *task_id;             /* NULL for a VIP */
	const char *svc_name;
	uint64_t key;
};

struct rt_route {
	const char *path;                /* context root, "/" for all */
	uint32_t path_len;
	uint32_t host;                   /* index in rtable.hosts */
	uint32_t flags;
	uint32_t primary;                /* first-created service: settings, counters */
	uint32_t first_member;           /* services sharing it, in rtable.members */
	uint32_t nmembers;
	uint32_t hsts_max_age;
	struct balance_pool pool;
	const struct rt_pick *picks;     /* pool.n entries */
	const char *sticky;              /* cookie name when RT_F_STICKY */
	uint32_t sticky_len;
	uint32_t nredirects;
	const struct labels_redirect *redirects;
	uint32_t nwebsockets;
	const char *const *websockets;
	const char *no_task_reason;      /* set when pool.n == 0 */
};

struct rt_host {
	const char *name;                /* lowercase; suffix without "*." for wildcards */
	uint32_t len;
	uint32_t wildcard;
	uint32_t first_route;            /* routes sorted by path length, longest first */
	uint32_t nroutes;
};

/* Open-addressing slot: <idx> is an index plus one, 0 for an empty slot. */
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
	struct rt_index by_name;
	struct rt_index by_id;

	uint32_t nhosts;                 /* including the default backend's */
	struct rt_host *hosts;           /* exact names, then wildcards, by name */
	uint32_t default_host;           /* index of the default backend's, or RT_NONE */
	struct rt_index exact;
	struct rt_index wild;

	uint32_t nroutes;
	struct rt_route *routes;
	uint32_t *members;

	/* per-worker state: worker w's block starts at wstate + w * wstride */
	unsigned char *wstate;
	size_t wstride;
	size_t rr_off;                   /* uint32_t position per route */
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
