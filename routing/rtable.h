/* The routing table: every routable host and path, built from service
 * models in one go, immutable once built, published through snapshot.h.
 *
 * Return convention for this module: 0 on success, -1 on failure, except
 * where a function says otherwise.
 */
#ifndef ROUTING_RTABLE_H
#define ROUTING_RTABLE_H

#include <stddef.h>
#include <stdint.h>
#include "common/netaddr-t.h"
#include "common/texttab.h"
#include "routing/labels-t.h"
#include "routing/model-t.h"

struct overlay;
struct ledger;
struct policy;
struct rtable;
struct sbuf;

/* What a request looks like to the router. Every string is borrowed and is
 * not NUL-terminated; a NULL pointer means the field is absent.
 */
struct route_req {
	const char *host;        /* Host header (port allowed) or TLS SNI */
	size_t host_len;
	const char *path;        /* path without query string */
	size_t path_len;
	const char *query;       /* query string without '?', for redirects */
	size_t query_len;
	const char *method;
	size_t method_len;
	const char *cookie;      /* raw Cookie header */
	size_t cookie_len;
	int ssl;                 /* request came over TLS */
	int tcp;                 /* TLS passthrough lookup: only ssl_passthrough routes match */
	struct netaddr src;      /* client address, family 0 when unknown */
};

enum route_action {
	ROUTE_FORWARD = 0,       /* send to dst:port */
	ROUTE_REDIRECT,          /* answer <code> with Location <location> */
	ROUTE_NOT_FOUND,         /* no route: 404 */
	ROUTE_NO_TASK,           /* a route exists but no task can serve: 503 */
};

/* The decision. Pointers point into the table, into the request, or into
 * the caller's scratch buffer: valid until the caller's next quiescent point
 * and the next rtable_route() call with the same scratch buffer.
 */
struct route_answer {
	enum route_action action;
	struct netaddr dst;
	uint16_t port;
	const char *service;     /* matched service name, NULL if none */
	const char *path;        /* rewritten path (context_root_rewrite), or NULL to keep it */
	size_t path_len;
	const char *location;    /* redirect target */
	size_t location_len;
	int code;                /* redirect status: 301, 302, 307 or 308 */
	const char *set_cookie;  /* full Set-Cookie value for HAProxy to add, or NULL */
	size_t set_cookie_len;
	const char *task_id;     /* picked task, NULL if none */
	const char *backend;     /* "tls" or "tls-verify" (ssl_backend), NULL: plain HTTP */
	const char *sni;         /* TLS server name to the task (the request's host), or NULL */
	size_t sni_len;
	const char *reason;      /* human-readable reason for NOT_FOUND / NO_TASK */
	int websocket;           /* the path is one of the service's websocket endpoints */
	uint32_t hsts_max_age;   /* >0: send Strict-Transport-Security with this max-age */
};

/* Per-service state shown by "show services" and logged on change. */
enum rtable_svc_status {
	RTABLE_SVC_ROUTED = 0,   /* labels valid, in the table */
	RTABLE_SVC_UNROUTED,     /* no com.docker.lb.hosts label: not ours */
	RTABLE_SVC_SKIPPED,      /* bad labels: not in the table, see reason */
};

#define RTABLE_SCRATCH_SIZE 8192

#define RTABLE_COOKIE_KEY_LEN 16
/* The owner of the routes file's services that name no stack: the
 * operator, who wrote the file.
 */
#define RTABLE_OWNER_FILE "file:routes"

struct rtable_build_opts {
	unsigned nworkers;           /* reader threads: worker indexes 0..nworkers-1 */
	const char *service_cluster; /* route only services of this cluster; NULL/"" = the default cluster */
	const struct overlay *health; /* tasks passive health excludes, or NULL (read during the build only) */
	/* RTABLE_COOKIE_KEY_LEN bytes keying the values of managed sticky
	 * cookies (swarm-spoa.sticky_managed), the same on every agent of a
	 * deployment; NULL: all zeroes (tests only: anyone could forge them) */
	const unsigned char *cookie_key;
	/* Ownership of hosts (docs/security.md): all three may be NULL/0. */
	const struct policy *policy; /* the operator's policy */
	const struct ledger *ledger; /* claims so far: the previous table's ledger */
	int64_t now_ms;              /* wall clock of the build, for the ledger */
	int64_t claim_grace_ms;      /* a claim outlives its owner this long */
};

/* Builds a table from the services of <nmodels> models (any of them may be
 * NULL). Labels are parsed and validated; a service with bad labels is
 * skipped with its reason recorded in the table. Each worker gets private
 * round-robin state. A ready task is excluded from the picks while its
 * node is down or disconnected, or while <opts>' health overlay lists it;
 * a route whose ready tasks are all excluded picks among them all anyway.
 *
 * Returns the new table, owned by the caller (release with rtable_free()),
 * or NULL when memory is exhausted. The models may be freed afterwards.
 */
struct rtable *rtable_build(const struct model *const *models, size_t nmodels,
			    const struct rtable_build_opts *opts);
void rtable_free(struct rtable *t);

/* Decides where <req> goes. <worker> is the calling thread's index;
 * <scratch> is a per-thread buffer of RTABLE_SCRATCH_SIZE bytes used for
 * built strings (redirect locations, cookies). Never fails: a request that
 * matches nothing is ROUTE_NOT_FOUND. Lock-free and allocation-free.
 */
void rtable_route(const struct rtable *t, unsigned worker,
		  const struct route_req *req, struct route_answer *ans,
		  char *scratch);

/* Counters kept per worker and summed on read (relaxed, approximate while
 * workers run).
 */
struct rtable_counters {
	uint64_t forwarded;
	uint64_t redirected;
	uint64_t not_found;
	uint64_t no_task;
};

/* Table-wide numbers for "show info" and the metrics page. */
struct rtable_info {
	size_t services;         /* all services seen */
	size_t routed;           /* services in the table */
	size_t skipped;          /* services refused for bad labels */
	size_t refused;          /* of those, refused a host or secret another owner holds */
	size_t hosts;            /* host names (exact + wildcard) */
	size_t routes;           /* host+path entries */
	size_t tasks;            /* tasks that can serve now */
	size_t memory;           /* bytes held by the table */
	int64_t built_ms;        /* wall clock at build */
	uint64_t build_ns;       /* build duration */
};
void rtable_info(const struct rtable *t, struct rtable_info *info);

/* The ledger of host claims that <t> was built with, for the caller to
 * keep: the input of the next build, and what is written to the ledger
 * file. Owned by <t>. <changed> (may be NULL) is set when it differs from
 * the build's input; <due_ms> (may be NULL) to the wall clock at which a
 * claim will be released (0: none pending): a build then releases it.
 */
const struct ledger *rtable_ledger(const struct rtable *t, int *changed, int64_t *due_ms);

/* Iteration over services, for "show services", "show tasks", metrics. */
size_t rtable_service_count(const struct rtable *t);
struct rtable_service_view {
	const char *id;
	const char *name;
	const char *source;      /* provider that reported it */
	enum rtable_svc_status status;
	const char *reason;      /* why skipped; for an unrouted service of another
				  * cluster, "served by cluster X"; else NULL */
	const char *hosts;       /* as labelled, NULL if none */
	const char *owner;       /* stack, or "service:NAME" outside stacks; NULL if not routable */
	const char *mode;        /* "task" or "vip" */
	size_t ntasks;           /* tasks known */
	size_t nready;           /* tasks that can serve */
	const struct model_service *model; /* the table's copy of the provider data */
	struct rtable_counters counters;   /* requests routed to this service */
	const char *ssl_cert;    /* validated com.docker.lb.ssl_cert, NULL if none or not routed */
	const char *ssl_key;     /* validated com.docker.lb.ssl_key, NULL if none or not routed */
	/* The labels as routing parsed them, in the table: what a module
	 * following the table reads instead of the raw labels, so that it
	 * sees every label exactly as routing does. Complete for a routed
	 * service; empty for an unrouted one or one with bad labels. */
	const struct labels_spec *spec;
	const char *network;     /* the network routing reaches the tasks on: the network
				  * label, else the one their tasks attach to; NULL: any */
};
/* Fills <v> for service <i> (0 <= i < rtable_service_count()). */
void rtable_service_at(const struct rtable *t, size_t i, struct rtable_service_view *v);
/* Returns the index of the service named (or with ID) <name>, or -1. */
long rtable_service_find(const struct rtable *t, const char *name);

/* Table-wide counters (all services, plus not-found). */
void rtable_counters(const struct rtable *t, struct rtable_counters *c);

/* Text for the stats socket. <json> selects JSON output instead of the
 * aligned text table. Each appends the whole listing to <out>.
 */
void rtable_show_routes(const struct rtable *t, struct sbuf *out, int json);
void rtable_show_services(const struct rtable *t, struct sbuf *out, int json);
/* Returns -1 (and appends nothing) when <service> is unknown. */
int rtable_show_tasks(const struct rtable *t, const char *service, struct sbuf *out, int json);


/* Where a listing printed in parts stands. Zero it before the first part;
 * it holds no resource, so a listing may be abandoned after any part. Its
 * fields belong to rtable_show.c.
 */
struct rtable_show_cursor {
	const struct rtable *table;   /* the table of the first part */
	int stage;
	size_t pos;                   /* next route, service or task */
	size_t sub;                   /* "show routes" text: next service of the route */
	long service;                 /* "show tasks": the service listed */
	struct texttab tab;           /* text: column widths, from a first pass */
	/* "show services": what other parts know of a service (the traffic
	 * HAProxy saw), appended to <out> as one line of text or a JSON
	 * value; returns -1 when there is nothing. NULL: nothing to add. */
	int (*service_extra)(void *arg, const char *service, struct sbuf *out, int json);
	void *service_extra_arg;
};

/* The same listings in parts, for a caller that must not hold its thread
 * for the whole of a large table: each call appends at most <max_rows>
 * (at least 1) rows to <out>, the header before the first one and the end
 * of the JSON document after the last. The concatenated parts are the
 * output of the one-shot form. Text columns are aligned by a first pass
 * over the rows, which also counts against <max_rows>; service counters
 * are read as each row is printed, so a counter that outgrows its column
 * meanwhile shifts the rest of its row.
 *
 * <t> must stay valid and be the same table from the first part to the
 * last. Returns 1 while more is to come, 0 once the listing is complete;
 * rtable_show_tasks_part() returns -1 (and appends nothing) at its first
 * part when <service> is unknown.
 */
int rtable_show_routes_part(const struct rtable *t, struct rtable_show_cursor *cur,
			    struct sbuf *out, int json, size_t max_rows);
int rtable_show_services_part(const struct rtable *t, struct rtable_show_cursor *cur,
			      struct sbuf *out, int json, size_t max_rows);
int rtable_show_tasks_part(const struct rtable *t, const char *service,
			   struct rtable_show_cursor *cur, struct sbuf *out, int json,
			   size_t max_rows);

/* Explains how <req> would be routed without touching any counter or
 * round-robin state: the route that matched, the task that would be picked
 * and why, and why the other candidates did not match.
 */
void rtable_explain(const struct rtable *t, const struct route_req *req,
		    struct sbuf *out, int json);

/* Calls <fn> once per difference between <old> (may be NULL) and <cur>:
 * service added, removed, skipped (with reason), recovered, task added,
 * task removed, task ready/unready. <what> is a short event name such as
 * "service added"; <service> and <detail> describe it.
 */
void rtable_diff(const struct rtable *old, const struct rtable *cur,
		 void (*fn)(void *arg, const char *what, const char *service,
			    const char *detail),
		 void *arg);

#endif
