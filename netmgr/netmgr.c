/* The proxy network manager: the routing table in, Docker API updates of
 * the proxy service and network removals out (see netmgr.h).
 *
 * One look at a time, in stages:
 *   LOOK    GET /networks and GET /services/{proxy}, in parallel
 *   USERS   when a detached network may be removed: GET /services, then
 *           GET /networks/{id} of each such network (the re-check right
 *           before removing)
 *   UPDATE  POST /services/{id}/update?version=N with the new networks
 *   REMOVE  DELETE /networks/{id}, one after the other
 * then IDLE until the timer: a change in the table (after NETMGR_FOLD_MS),
 * a grace period ending, a detached network to check again, a retry, or
 * the guard.
 *
 * What the table names is followed by netuse.c, the decision is
 * netplan.c's, and "show networks" is written by netshow.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ev.h>

#include "common/arena.h"
#include "common/clock.h"
#include "common/errlog.h"
#include "common/log.h"
#include "common/prom.h"
#include "common/sbuf.h"
#include "dockerapi/dockerapi.h"
#include "netmgr/netmgr.h"
#include "netmgr/netobj.h"
#include "netmgr/netplan.h"
#include "netmgr/netshow.h"
#include "netmgr/netuse.h"
#include "routing/rtable.h"

#define NETMGR_TIMEOUT_MS       10000   /* one request */
#define NETMGR_LIST_TIMEOUT_MS  30000   /* GET /services, GET /networks */
#define NETMGR_RETRY_MIN_MS     1000    /* after a failure, doubling */
#define NETMGR_RETRY_MAX_MS     30000
#define NETMGR_WAIT_COMPLETE_MS 1000    /* the table is not complete yet */

enum netmgr_stage {
	NETMGR_IDLE = 0,
	NETMGR_LOOK,
	NETMGR_USERS,
	NETMGR_UPDATE,
	NETMGR_REMOVE,
};

/* A row of "show networks", copied out of a decision. */
struct netmgr_row {
	enum netplan_state state;
	const char *id;
	const char *name;
	int64_t due_ms;
	const char *reason;
	const char *owner;          /* REFUSED for whose the network is */
	const char *net_stack;
	unsigned policy_line;
	unsigned users;             /* routed services naming it, refused ones apart */
};

struct netmgr {
	struct ev_loop *loop;
	struct dockerapi *api;
	char *proxy;
	unsigned grace_ms;
	int (*table_complete)(void);
	const struct rtable *(*current_table)(void);
	const struct policy *(*policy)(void);
	const struct policy *last_policy;  /* compared only: the last one seen */
	unsigned max_updates;
	unsigned window_ms;
	int64_t start_ms;           /* first complete table, 0 before */

	struct netuse *uses;        /* the networks routed services name */
	size_t nuses;

	ev_timer timer;
	enum netmgr_stage stage;
	int64_t asked_ms;           /* a look asked for while busy, 0: none */
	struct dockerapi_req *req_nets;
	struct dockerapi_req *req_proxy;
	struct dockerapi_req *req;  /* USERS, UPDATE, REMOVE */

	/* the look under way */
	struct netobj_nets nets;
	struct netobj_proxy px;
	struct sbuf proxy_json;     /* the proxy's answer, its spec sent back */
	int have_nets, have_proxy;
	struct netplan_out plan;
	int have_plan;
	struct netplan_net **check; /* USERS: detached networks to check */
	size_t ncheck, checked;
	size_t next_remove;         /* REMOVE: next row of the plan */
	struct sbuf body;

	/* what "show networks" shows: the last decision */
	struct arena *show_arena;
	struct netmgr_row *rows;
	size_t nrows;
	uint64_t proxy_version;
	char proxy_id[80];
	char update_state[32];
	int64_t last_look_ms;       /* wall clock */
	int64_t last_update_ms;     /* wall clock of the last update this agent made */
	int64_t next_look_ms;       /* monotonic */
	int64_t held_since_ms;      /* detached networks waiting since, 0: none */
	int updated;                /* this look updated the proxy service */
	size_t nrefused;            /* networks refused to their users (last decision) */
	int held;                   /* an update waits for the rate limit */
	int64_t held_until_ms;      /* monotonic */
	size_t updates_in_window;   /* updates of the agents within the window */
	char last_error[256];
	int64_t last_error_ms;
	unsigned failures_in_row;

	uint64_t looks;
	uint64_t updates;
	uint64_t attached;
	uint64_t detached;
	uint64_t removed;
	uint64_t conflicts;
	uint64_t failures;
	uint64_t refusals;          /* (network, owner) refusals newly seen */
	uint64_t holds;             /* updates held by the rate limit */
};

/************************************************************************/
/*                               timing                                 */
/************************************************************************/

static void netmgr_look(struct netmgr *m);

static void netmgr_on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct netmgr *m = (struct netmgr *)((char *)t - offsetof(struct netmgr, timer));

	(void)loop;
	(void)revents;
	if (m->stage != NETMGR_IDLE)
		return;
	if (!m->start_ms) {
		/* Nothing is decided before the table holds every service:
		 * an incomplete one looks like services gone. */
		const struct rtable *cur = m->table_complete() ? m->current_table() : NULL;

		if (cur) {
			netmgr_on_table(m, cur);
			return;
		}
		m->next_look_ms = clock_mono_ms() + NETMGR_WAIT_COMPLETE_MS;
		ev_timer_set(&m->timer, NETMGR_WAIT_COMPLETE_MS / 1000.0, 0.0);
		ev_timer_start(m->loop, &m->timer);
		return;
	}
	netmgr_look(m);
}

/* Asks for a look at <at_ms> (monotonic) or earlier. While a look is under
 * way, the request waits for its end.
 */
static void netmgr_look_at(struct netmgr *m, int64_t at_ms)
{
	int64_t now = clock_mono_ms();

	if (m->stage != NETMGR_IDLE) {
		if (!m->asked_ms || at_ms < m->asked_ms)
			m->asked_ms = at_ms;
		return;
	}
	if (ev_is_active(&m->timer) && m->next_look_ms <= at_ms)
		return;
	ev_timer_stop(m->loop, &m->timer);
	m->next_look_ms = at_ms > now ? at_ms : now;
	ev_timer_set(&m->timer, (double)(m->next_look_ms - now) / 1000.0, 0.0);
	ev_timer_start(m->loop, &m->timer);
}

/* The look is over: the next one at the earliest of what asks for one. */
static void netmgr_idle(struct netmgr *m, int64_t retry_ms)
{
	int64_t now = clock_mono_ms(), at = now + NETMGR_GUARD_MS;

	m->stage = NETMGR_IDLE;
	if (retry_ms && now + retry_ms < at)
		at = now + retry_ms;
	if (m->asked_ms && m->asked_ms < at)
		at = m->asked_ms;
	m->asked_ms = 0;
	if (m->have_plan && m->plan.next_ms && m->plan.next_ms < at)
		at = m->plan.next_ms;
	if (m->have_plan && m->plan.ndetached) {
		int64_t wait;

		if (!m->held_since_ms)
			m->held_since_ms = now;
		wait = now - m->held_since_ms < 60000 ? NETMGR_REMOVE_RETRY_MS : NETMGR_REMOVE_SLOW_MS;
		if (now + wait < at)
			at = now + wait;
	} else if (m->have_plan) {
		m->held_since_ms = 0;
	}
	ev_timer_stop(m->loop, &m->timer);
	netmgr_look_at(m, at);
}

/************************************************************************/
/*                               failures                               */
/************************************************************************/

/* Records a failure of this look (<what> failed: <why>) and retries later,
 * backing off.
 */
static void netmgr_fail(struct netmgr *m, const char *what, const char *why)
{
	char msg[256];
	unsigned retry = NETMGR_RETRY_MIN_MS;

	snprintf(msg, sizeof(msg), "%s: %s", what, why);
	m->failures++;
	if (strcmp(m->last_error, msg) != 0) {
		LOG(LL_WARN, "netmgr", "cannot manage the proxy's networks, retrying",
		    KVS("service", m->proxy), KVS("reason", msg));
		errlog_record(ERRLOG_DOCKER, m->proxy, msg);
	}
	snprintf(m->last_error, sizeof(m->last_error), "%s", msg);
	m->last_error_ms = clock_wall_ms();
	/* the backoff rules: not the grace timers of a decision half made */
	if (m->have_plan) {
		netplan_release(&m->plan);
		m->have_plan = 0;
	}
	for (unsigned i = 0; i < m->failures_in_row && retry < NETMGR_RETRY_MAX_MS; i++)
		retry *= 2;
	if (retry > NETMGR_RETRY_MAX_MS)
		retry = NETMGR_RETRY_MAX_MS;
	m->failures_in_row++;
	netmgr_idle(m, retry);
}

static void netmgr_ok(struct netmgr *m)
{
	m->failures_in_row = 0;
	m->last_error[0] = '\0';
}

/* Whether <r> failed (no answer, or not a 2xx one); then it is described
 * in <why>.
 */
static int netmgr_failed(const struct dockerapi_resp *r, char *why, size_t whylen)
{
	if (!r->error && r->status >= 200 && r->status <= 299)
		return 0;
	dockerapi_describe(r, why, whylen);
	return 1;
}

/************************************************************************/
/*                        following the table                           */
/************************************************************************/

void netmgr_on_table(void *arg, const struct rtable *t)
{
	struct netmgr *m = arg;
	int64_t now = clock_mono_ms();
	int changed;

	if (!m->table_complete())
		return;   /* the timer looks again soon */
	changed = netuse_follow(&m->uses, &m->nuses, t, now,
				(int64_t)m->grace_ms + NETMGR_GUARD_MS);
	if (changed < 0)
		return;   /* memory exhausted: the guard looks again */
	if (!m->start_ms) {
		m->start_ms = now;
		changed = 1;
	}
	/* a new policy (SIGHUP) may grant or take networks: look soon (a
	 * policy at the freed one's address waits for the guard) */
	if (m->policy && m->policy() != m->last_policy) {
		m->last_policy = m->policy();
		changed = 1;
	}
	if (changed)
		netmgr_look_at(m, now + NETMGR_FOLD_MS);
}

/************************************************************************/
/*                             the decision                             */
/************************************************************************/

/* Whether the last decision shown refused <id> to <owner> already. */
static int netmgr_was_refused(const struct netmgr *m, const char *id, const char *owner)
{
	for (size_t i = 0; i < m->nrows; i++) {
		const struct netmgr_row *r = &m->rows[i];

		if (r->state == NETPLAN_REFUSED && r->owner && r->id && strcmp(r->id, id) == 0 &&
		    strcmp(r->owner, owner) == 0)
			return 1;
	}
	return 0;
}

static const char *netmgr_row_services(const struct netmgr *m, const struct netplan_row *row);

/* Logs the refusals that the last decision did not show yet (once each,
 * not at every look), in the log and "show errors".
 */
static void netmgr_log_refusals(struct netmgr *m)
{
	for (size_t i = 0; i < m->plan.nrows; i++) {
		const struct netplan_row *r = &m->plan.rows[i];
		char msg[512];

		if (r->state != NETPLAN_REFUSED || !r->owner || netmgr_was_refused(m, r->id, r->owner))
			continue;
		m->refusals++;
		LOG(LL_WARN, "netmgr", "network refused: the proxy service is not attached to it",
		    KVS("network", r->name), KVS("id", r->id), KVS("network_stack", r->net_stack),
		    KVS("owner", r->owner), KVS("named_by", netmgr_row_services(m, r)),
		    KVS("reason", r->reason), KVI("policy_line", r->policy_line));
		snprintf(msg, sizeof(msg), "com.docker.lb.network: network %s%s%s%s not attached for %s: %s",
			 r->name, r->net_stack ? " (stack " : "", r->net_stack ? r->net_stack : "",
			 r->net_stack ? ")" : "", r->owner, r->reason);
		errlog_record(ERRLOG_LABELS, r->owner, msg);
	}
}

static void netmgr_keep_rows(struct netmgr *m)
{
	struct arena *a = arena_new(4096);
	struct netmgr_row *rows = a ? arena_calloc(a, m->plan.nrows + 1, sizeof(*rows)) : NULL;

	if (!rows) {
		arena_free(a);
		return;
	}
	netmgr_log_refusals(m);
	for (size_t i = 0; i < m->plan.nrows; i++) {
		const struct netplan_row *r = &m->plan.rows[i];

		rows[i].state = r->state;
		rows[i].id = r->id ? arena_strdup(a, r->id) : NULL;
		rows[i].name = arena_strdup(a, r->name ? r->name : "-");
		rows[i].due_ms = r->due_ms;
		rows[i].reason = r->reason;
		rows[i].owner = r->owner ? arena_strdup(a, r->owner) : NULL;
		rows[i].net_stack = r->net_stack ? arena_strdup(a, r->net_stack) : NULL;
		rows[i].policy_line = r->policy_line;
		rows[i].users = r->users;
		if (!rows[i].name || (r->id && !rows[i].id) || (r->owner && !rows[i].owner) ||
		    (r->net_stack && !rows[i].net_stack)) {
			arena_free(a);   /* the last rows stay shown */
			return;
		}
	}
	arena_free(m->show_arena);
	m->show_arena = a;
	m->rows = rows;
	m->nrows = m->plan.nrows;
}

/* The use behind a row: of the row's owner when it is a refusal, else the
 * first of an owner the network is not refused to (a refused owner is no
 * user of it). NULL when none.
 */
static const struct netuse *netmgr_row_use(const struct netmgr *m, const char *name,
					   const char *id, const char *owner)
{
	for (size_t i = 0; i < m->nuses; i++) {
		const struct netuse *u = &m->uses[i];

		if (!u->users || !((name && strcmp(u->network, name) == 0) ||
				   (id && strcmp(u->network, id) == 0)))
			continue;
		if (owner ? strcmp(u->owner, owner) == 0 : !id || !netmgr_was_refused(m, id, u->owner))
			return u;
	}
	return NULL;
}

/* The services naming <row>'s network, for the log. */
static const char *netmgr_row_services(const struct netmgr *m, const struct netplan_row *row)
{
	const struct netuse *u = netmgr_row_use(m, row->name, row->id, row->owner);

	return u ? u->services : NULL;
}

static void netmgr_update(struct netmgr *m);
static void netmgr_remove_next(struct netmgr *m);
static void netmgr_check_users(struct netmgr *m);

/* Whether Swarm rolled an update of the proxy back (or paused it) lately:
 * the same update again would fail the same way, so it waits. The times
 * are the service's own, so both agents wait alike.
 */
static int netmgr_rolled_back(const struct netmgr *m)
{
	const char *st = m->px.update_state;

	if (strncmp(st, "rollback_", 9) != 0 && strcmp(st, "paused") != 0)
		return 0;
	return !m->px.update_ms || clock_wall_ms() - m->px.update_ms < NETMGR_ROLLBACK_WAIT_MS;
}

static void netmgr_decide(struct netmgr *m)
{
	struct netplan_use *uses = calloc(m->nuses + 1, sizeof(*uses));
	struct netplan_in in = {
		.nets = m->nets.nets,
		.nnets = m->nets.n,
		.uses = uses,
		.nuses = m->nuses,
		.attached = m->px.attached,
		.nattached = m->px.nattached,
		.managed = m->px.managed,
		.nmanaged = m->px.nmanaged,
		.detached = m->px.detached,
		.ndetached = m->px.ndetached,
		.now_ms = clock_mono_ms(),
		.start_ms = m->start_ms,
		.grace_ms = m->grace_ms,
		.fold_ms = NETMGR_DETACH_FOLD_MS,
		.policy = m->policy ? m->policy() : NULL,
		.updates_ms = m->px.updates_ms,
		.nupdates = m->px.nupdates,
		.wall_ms = clock_wall_ms(),
		.max_updates = m->max_updates,
		.window_ms = m->window_ms,
	};
	int rc;

	if (!uses) {
		netmgr_fail(m, "deciding", "out of memory");
		return;
	}
	for (size_t i = 0; i < m->nuses; i++) {
		uses[i].network = m->uses[i].network;
		uses[i].owner = m->uses[i].owner;
		uses[i].stack = m->uses[i].stack;
		uses[i].users = m->uses[i].users;
		uses[i].idle_since_ms = m->uses[i].idle_since_ms;
	}
	if (m->have_plan)
		netplan_release(&m->plan);
	rc = netplan_decide(&in, &m->plan);
	free(uses);
	m->have_plan = rc == 0;
	if (rc < 0) {
		netmgr_fail(m, "deciding", "out of memory");
		return;
	}
	netmgr_keep_rows(m);
	m->nrefused = m->plan.nrefused;
	m->updates_in_window = m->plan.nrecent;
	if (m->plan.held && !m->held) {
		m->holds++;
		LOG(LL_WARN, "netmgr", "network changes held by the rate limit: the proxy service is "
		    "updated when the window allows", KVS("service", m->proxy),
		    KVI("updates", m->plan.nrecent), KVI("max_updates", m->max_updates),
		    KVI("window_s", m->window_ms / 1000),
		    KVI("held_ms", m->plan.held_until_ms - in.now_ms),
		    KVI("attach", m->plan.nattach), KVI("detach", m->plan.ndetach));
	}
	m->held = m->plan.held;
	m->held_until_ms = m->plan.held_until_ms;
	if (m->plan.need_refs) {
		netmgr_check_users(m);
		return;
	}
	if (netplan_update_needed(&m->plan)) {
		if (!netmgr_rolled_back(m)) {
			netmgr_update(m);
			return;
		}
		if (strcmp(m->last_error, "rolled back") != 0) {
			LOG(LL_WARN, "netmgr", "Swarm rolled the last update of the proxy service back: "
			    "trying again later", KVS("service", m->proxy),
			    KVS("update_state", m->px.update_state));
			errlog_record(ERRLOG_DOCKER, m->proxy, "Swarm rolled the last network update back "
				      "(docker service ps shows why the new tasks failed)");
			snprintf(m->last_error, sizeof(m->last_error), "rolled back");
		}
		netmgr_idle(m, NETMGR_ROLLBACK_WAIT_MS);
		return;
	}
	m->next_remove = 0;
	netmgr_remove_next(m);
}

/************************************************************************/
/*                     LOOK: the networks, the proxy                    */
/************************************************************************/

static void netmgr_looked(struct netmgr *m)
{
	if (m->req_nets || m->req_proxy)
		return;   /* the other answer is still to come */
	if (!m->have_nets || !m->have_proxy)
		return;   /* failed: netmgr_fail() took over */
	m->proxy_version = m->px.version;
	snprintf(m->proxy_id, sizeof(m->proxy_id), "%s", m->px.id);
	snprintf(m->update_state, sizeof(m->update_state), "%s", m->px.update_state);
	m->last_look_ms = clock_wall_ms();
	netmgr_decide(m);
}

/* One of the two answers failed: the look ends once the other is in. */
static void netmgr_look_failed(struct netmgr *m, const char *what, const char *why)
{
	if (m->req_nets) {
		dockerapi_cancel(m->req_nets);
		m->req_nets = NULL;
	}
	if (m->req_proxy) {
		dockerapi_cancel(m->req_proxy);
		m->req_proxy = NULL;
	}
	netmgr_fail(m, what, why);
}

static void netmgr_on_nets(void *arg, const struct dockerapi_resp *r)
{
	struct netmgr *m = arg;
	char why[256];

	m->req_nets = NULL;
	if (netmgr_failed(r, why, sizeof(why)) ||
	    netobj_networks(r->body, r->len, &m->nets, why, sizeof(why)) < 0) {
		netmgr_look_failed(m, "listing networks", why);
		return;
	}
	m->have_nets = 1;
	netmgr_looked(m);
}

static void netmgr_on_proxy(void *arg, const struct dockerapi_resp *r)
{
	struct netmgr *m = arg;
	char why[256];

	m->req_proxy = NULL;
	if (netmgr_failed(r, why, sizeof(why))) {
		if (r->status == 404)
			snprintf(why, sizeof(why), "no such service (--proxy-service)");
		netmgr_look_failed(m, "reading the proxy service", why);
		return;
	}
	sbuf_reset(&m->proxy_json);
	sbuf_add(&m->proxy_json, r->body, r->len);
	if (m->proxy_json.oom) {
		netmgr_look_failed(m, "reading the proxy service", "out of memory");
		return;
	}
	if (netobj_proxy(r->body, r->len, &m->px, why, sizeof(why)) < 0) {
		netmgr_look_failed(m, "reading the proxy service", why);
		return;
	}
	m->have_proxy = 1;
	netmgr_looked(m);
}

static struct dockerapi_req *netmgr_get(struct netmgr *m, const char *path, unsigned timeout_ms,
					void (*on_done)(void *, const struct dockerapi_resp *),
					char *why, size_t whylen)
{
	struct dockerapi_call c = {
		.path = path,
		.timeout_ms = timeout_ms,
		.on_done = on_done,
		.arg = m,
	};

	return dockerapi_send(m->api, &c, why, whylen);
}

static void netmgr_look(struct netmgr *m)
{
	struct sbuf path = SBUF_INIT;
	char why[256];

	netobj_nets_free(&m->nets);
	netobj_proxy_free(&m->px);
	m->have_nets = m->have_proxy = 0;
	m->updated = 0;
	m->stage = NETMGR_LOOK;
	m->looks++;
	sbuf_puts(&path, "/services/");
	dockerapi_urlencode(&path, m->proxy);
	if (path.oom) {
		sbuf_free(&path);
		netmgr_fail(m, "looking", "out of memory");
		return;
	}
	m->req_nets = netmgr_get(m, "/networks", NETMGR_LIST_TIMEOUT_MS, netmgr_on_nets,
				 why, sizeof(why));
	if (m->req_nets)
		m->req_proxy = netmgr_get(m, path.buf, NETMGR_TIMEOUT_MS, netmgr_on_proxy,
					  why, sizeof(why));
	sbuf_free(&path);
	if (!m->req_nets || !m->req_proxy)
		netmgr_look_failed(m, "looking", why);
}

/************************************************************************/
/*                 USERS: what still uses a detached network            */
/************************************************************************/

static void netmgr_check_next(struct netmgr *m);

static void netmgr_on_network(void *arg, const struct dockerapi_resp *r)
{
	struct netmgr *m = arg;
	struct netplan_net *n = m->check[m->checked];
	unsigned lb;
	char why[256];

	m->req = NULL;
	if (r->status == 404) {
		/* gone already (the other agent, or the operator) */
		n->refs_known = 1;
		n->services = 1;   /* nothing to remove */
	} else if (netmgr_failed(r, why, sizeof(why))) {
		netmgr_fail(m, "inspecting a detached network", why);
		return;
	} else if (netobj_network_containers(r->body, r->len, &n->containers, &lb, why,
					     sizeof(why)) < 0) {
		netmgr_fail(m, "inspecting a detached network", why);
		return;
	} else {
		/* This node's load balancer endpoint goes a moment after its
		 * last task left the network: removing the network before
		 * makes the leaving task fail ("unknown network"). Should
		 * one linger, it is not waited for past a minute. */
		if (!m->held_since_ms || clock_mono_ms() - m->held_since_ms < 60000)
			n->containers += lb;
		n->refs_known = 1;
	}
	m->checked++;
	netmgr_check_next(m);
}

static void netmgr_check_next(struct netmgr *m)
{
	char path[256], why[256];

	while (m->checked < m->ncheck && m->check[m->checked]->services +
	       m->check[m->checked]->stack_services) {
		/* used: no need to look for containers */
		m->check[m->checked++]->refs_known = 1;
	}
	if (m->checked == m->ncheck) {
		free(m->check);
		m->check = NULL;
		m->ncheck = 0;
		netmgr_decide(m);
		return;
	}
	snprintf(path, sizeof(path), "/networks/%s", m->check[m->checked]->id);
	m->req = netmgr_get(m, path, NETMGR_TIMEOUT_MS, netmgr_on_network, why, sizeof(why));
	if (!m->req)
		netmgr_fail(m, "inspecting a detached network", why);
}

static void netmgr_on_services(void *arg, const struct dockerapi_resp *r)
{
	struct netmgr *m = arg;
	char why[256];

	m->req = NULL;
	if (netmgr_failed(r, why, sizeof(why)) ||
	    netobj_count_users(r->body, r->len, m->check, m->ncheck, why, sizeof(why)) < 0) {
		netmgr_fail(m, "listing services", why);
		return;
	}
	m->checked = 0;
	netmgr_check_next(m);
}

/* Counts the users of every DETACHED network whose users are unknown. */
static void netmgr_check_users(struct netmgr *m)
{
	char why[256];

	free(m->check);
	m->ncheck = 0;
	m->check = calloc(m->plan.nrows + 1, sizeof(*m->check));
	if (!m->check) {
		netmgr_fail(m, "checking detached networks", "out of memory");
		return;
	}
	for (size_t i = 0; i < m->plan.nrows; i++) {
		const struct netplan_row *row = &m->plan.rows[i];

		if (row->state != NETPLAN_DETACHED || !row->id)
			continue;
		for (size_t k = 0; k < m->nets.n; k++) {
			struct netplan_net *n = &m->nets.nets[k];

			if (strcmp(n->id, row->id) == 0 && !n->refs_known)
				m->check[m->ncheck++] = n;
		}
	}
	if (!m->ncheck) {
		/* Cannot happen (a DETACHED row is one of the networks): were
		 * it to, count every network as used, which decides without. */
		for (size_t k = 0; k < m->nets.n; k++) {
			m->nets.nets[k].refs_known = 1;
			m->nets.nets[k].services = 1;
		}
		netmgr_decide(m);
		return;
	}
	m->stage = NETMGR_USERS;
	m->req = netmgr_get(m, "/services", NETMGR_LIST_TIMEOUT_MS, netmgr_on_services,
			    why, sizeof(why));
	if (!m->req)
		netmgr_fail(m, "listing services", why);
}

/************************************************************************/
/*                     UPDATE: the proxy's networks                     */
/************************************************************************/

static void netmgr_log_changes(struct netmgr *m)
{
	for (size_t i = 0; i < m->plan.nrows; i++) {
		const struct netplan_row *r = &m->plan.rows[i];
		const char *svcs = netmgr_row_services(m, r);

		if (r->state == NETPLAN_ATTACH) {
			m->attached++;
			LOG(LL_INFO, "netmgr", "network attached to the proxy service",
			    KVS("network", r->name), KVS("id", r->id), KVS("service", m->proxy),
			    KVS("reason", r->reason), KVS("named_by", svcs), KVI("users", r->users));
		} else if (r->state == NETPLAN_DETACH) {
			m->detached++;
			LOG(LL_INFO, "netmgr", "network detached from the proxy service",
			    KVS("network", r->name), KVS("id", r->id), KVS("service", m->proxy),
			    KVS("reason", r->reason), KVI("grace_s", m->grace_ms / 1000));
		}
	}
}

static int netmgr_out_of_sequence(const struct dockerapi_resp *r)
{
	return r->status >= 400 && r->body && strstr(r->body, "out of sequence");
}

static void netmgr_on_update(void *arg, const struct dockerapi_resp *r)
{
	struct netmgr *m = arg;
	char why[256];

	m->req = NULL;
	if (netmgr_out_of_sequence(r)) {
		/* The other agent (or the operator) updated it since we read
		 * it: look again at what it is now, soon, with jitter so that
		 * two agents do not keep colliding. */
		m->conflicts++;
		LOG(LL_DEBUG, "netmgr", "proxy service updated meanwhile, looking again",
		    KVS("service", m->proxy), KVI("version", m->px.version));
		netmgr_idle(m, 100 + (unsigned)(clock_mono_ns() % 400));
		return;
	}
	if (netmgr_failed(r, why, sizeof(why))) {
		netmgr_fail(m, "updating the proxy service", why);
		return;
	}
	m->updates++;
	m->last_update_ms = clock_wall_ms();
	netmgr_ok(m);
	netmgr_log_changes(m);
	m->updated = 1;
	LOG(LL_INFO, "netmgr", "proxy service updated: its tasks are replaced per its update_config",
	    KVS("service", m->proxy), KVI("version", m->px.version),
	    KVI("attached", m->plan.nattach), KVI("detached", m->plan.ndetach),
	    KVI("networks", m->plan.nattached));
	m->next_remove = 0;
	netmgr_remove_next(m);
}

/* Moves to <stage> with a <method> request on <path> (<body>: NULL when
 * none); when it cannot be sent, the look fails with <what>.
 */
static void netmgr_write(struct netmgr *m, enum netmgr_stage stage, const char *method,
			 const char *path, const struct sbuf *body,
			 void (*on_done)(void *, const struct dockerapi_resp *), const char *what)
{
	struct dockerapi_call c = {
		.method = method,
		.path = path,
		.body = body ? body->buf : NULL,
		.body_len = body ? body->len : 0,
		.timeout_ms = NETMGR_TIMEOUT_MS,
		.on_done = on_done,
		.arg = m,
	};
	char why[256];

	m->stage = stage;
	m->req = dockerapi_send(m->api, &c, why, sizeof(why));
	if (!m->req)
		netmgr_fail(m, what, why);
}

static void netmgr_update(struct netmgr *m)
{
	char why[256], path[256];

	if (netobj_proxy_spec(m->proxy_json.buf, m->proxy_json.len,
			      m->plan.attached, m->plan.nattached,
			      m->plan.managed, m->plan.nmanaged,
			      m->plan.detached, m->plan.ndetached,
			      m->plan.updates, m->plan.nupdates,
			      &m->body, why, sizeof(why)) < 0) {
		netmgr_fail(m, "writing the proxy service's spec", why);
		return;
	}
	snprintf(path, sizeof(path), "/services/%s/update?version=%llu", m->px.id,
		 (unsigned long long)m->px.version);
	netmgr_write(m, NETMGR_UPDATE, "POST", path, &m->body, netmgr_on_update,
		     "updating the proxy service");
}

/************************************************************************/
/*                     REMOVE: networks nothing uses                    */
/************************************************************************/

static const struct netplan_net *netmgr_net(const struct netmgr *m, const char *id)
{
	for (size_t k = 0; k < m->nets.n; k++)
		if (strcmp(m->nets.nets[k].id, id) == 0)
			return &m->nets.nets[k];
	return NULL;
}

static void netmgr_on_delete(void *arg, const struct dockerapi_resp *r)
{
	struct netmgr *m = arg;
	const struct netplan_row *row = &m->plan.rows[m->next_remove];
	const struct netplan_net *n = netmgr_net(m, row->id);
	char why[256];

	m->req = NULL;
	m->next_remove++;
	if (r->status == 404) {
		LOG(LL_DEBUG, "netmgr", "network already removed", KVS("network", row->name),
		    KVS("id", row->id));
	} else if (netmgr_failed(r, why, sizeof(why))) {
		/* Usually the proxy's old tasks still hold it: Swarm says so
		 * until they stopped. The next look tries again. */
		LOG(LL_INFO, "netmgr", "network not removed yet, trying again",
		    KVS("network", row->name), KVS("id", row->id), KVS("reason", why));
	} else {
		m->removed++;
		LOG(LL_INFO, "netmgr", "network removed", KVS("network", row->name),
		    KVS("id", row->id), KVS("stack", n ? n->stack : NULL),
		    KVS("reason", "detached from the proxy, its stack was removed and nothing uses it"));
	}
	netmgr_remove_next(m);
}

static void netmgr_remove_next(struct netmgr *m)
{
	char path[256];

	while (m->next_remove < m->plan.nrows && m->plan.rows[m->next_remove].state != NETPLAN_REMOVE)
		m->next_remove++;
	if (m->next_remove == m->plan.nrows) {
		netmgr_ok(m);
		/* after an update, a look at what it made of the service */
		netmgr_idle(m, m->updated ? NETMGR_FOLD_MS : 0);
		return;
	}
	snprintf(path, sizeof(path), "/networks/%s", m->plan.rows[m->next_remove].id);
	netmgr_write(m, NETMGR_REMOVE, "DELETE", path, NULL, netmgr_on_delete,
		     "removing a network");
}

/************************************************************************/
/*                              lifecycle                               */
/************************************************************************/

struct netmgr *netmgr_new(struct ev_loop *loop, struct dockerapi *api,
			  const struct netmgr_opts *o, char *err, size_t errlen)
{
	struct netmgr *m;

	if (!o->proxy_service || !*o->proxy_service) {
		snprintf(err, errlen, "--manage-networks needs --proxy-service, the HAProxy service's name");
		return NULL;
	}
	if (!api || !o->table_complete || !o->current_table) {
		snprintf(err, errlen, "--manage-networks needs Docker discovery (--docker)");
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m || !(m->proxy = strdup(o->proxy_service))) {
		free(m);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->loop = loop;
	m->api = api;
	m->grace_ms = o->grace_s * 1000;
	m->table_complete = o->table_complete;
	m->current_table = o->current_table;
	m->policy = o->policy;
	m->max_updates = o->max_updates;
	m->window_ms = o->window_s * 1000;
	ev_timer_init(&m->timer, netmgr_on_timer, 0.0, 0.0);
	dockerapi_allow_writes(api, 1);
	LOG(LL_INFO, "netmgr", "managing the proxy service's networks", KVS("service", m->proxy),
	    KVI("grace_s", o->grace_s), KVS("label", NETPLAN_MANAGED_LABEL),
	    KVI("max_updates", o->max_updates), KVI("window_s", o->window_s));
	/* a first look once the table is complete, even if no table comes */
	netmgr_look_at(m, clock_mono_ms() + NETMGR_WAIT_COMPLETE_MS);
	return m;
}

void netmgr_free(struct netmgr *m)
{
	if (!m)
		return;
	ev_timer_stop(m->loop, &m->timer);
	if (m->req_nets)
		dockerapi_cancel(m->req_nets);
	if (m->req_proxy)
		dockerapi_cancel(m->req_proxy);
	if (m->req)
		dockerapi_cancel(m->req);
	netuse_free(m->uses, m->nuses);
	free(m->check);
	if (m->have_plan)
		netplan_release(&m->plan);
	netobj_nets_free(&m->nets);
	netobj_proxy_free(&m->px);
	sbuf_free(&m->proxy_json);
	sbuf_free(&m->body);
	arena_free(m->show_arena);
	free(m->proxy);
	free(m);
}

/************************************************************************/
/*                            show networks                             */
/************************************************************************/

static const char *netmgr_stage_name(enum netmgr_stage st)
{
	switch (st) {
	case NETMGR_IDLE: return "idle";
	case NETMGR_LOOK: return "looking";
	case NETMGR_USERS: return "checking";
	case NETMGR_UPDATE: return "updating";
	case NETMGR_REMOVE: return "removing";
	}
	return "?";
}

void netmgr_show(const struct netmgr *m, struct sbuf *out, int json)
{
	struct netshow_row *rows = calloc(m->nrows + 1, sizeof(*rows));
	struct netshow_in in = {
		.proxy = m->proxy,
		.proxy_id = m->proxy_id,
		.proxy_version = m->proxy_version,
		.update_state = m->update_state,
		.state = netmgr_stage_name(m->stage),
		.grace_s = m->grace_ms / 1000,
		.next_look_ms = m->stage == NETMGR_IDLE && ev_is_active(&m->timer) ?
				m->next_look_ms : -1,
		.looks = m->looks,
		.updates = m->updates,
		.attached = m->attached,
		.detached = m->detached,
		.removed = m->removed,
		.conflicts = m->conflicts,
		.failures = m->failures,
		.last_error = m->last_error,
		.last_error_ms = m->last_error_ms,
		.last_look_ms = m->last_look_ms,
		.last_update_ms = m->last_update_ms,
		.max_updates = m->max_updates,
		.window_s = m->window_ms / 1000,
		.updates_in_window = m->updates_in_window,
		.held_until_ms = m->held ? m->held_until_ms : 0,
		.refused = m->nrefused,
		.refusals = m->refusals,
		.holds = m->holds,
		.rows = rows,
		.nrows = m->nrows,
		.now_ms = clock_mono_ms(),
	};

	if (!rows) {
		sbuf_puts(out, json ? "{\"error\":\"out of memory\"}\n" : "error: out of memory\n");
		return;
	}
	for (size_t i = 0; i < m->nrows; i++) {
		const struct netmgr_row *r = &m->rows[i];
		const struct netuse *u = netmgr_row_use(m, r->name, r->id, r->owner);

		rows[i].state = r->state;
		rows[i].id = r->id;
		rows[i].name = r->name;
		rows[i].due_ms = r->due_ms;
		rows[i].reason = r->reason;
		rows[i].owner = r->owner;
		rows[i].net_stack = r->net_stack;
		rows[i].policy_line = r->policy_line;
		rows[i].users = r->users;
		rows[i].services = u ? u->services : NULL;
	}
	netshow_render(&in, out, json);
	free(rows);
}

void netmgr_metrics(const struct netmgr *m, struct sbuf *out)
{
	prom_single_u64(out, "swarm_spoa_netmgr_networks_refused", PROM_GAUGE,
			"Networks named by routed services that the proxy is not attached to: "
			"another stack's, or not granted by the policy (one per network and owner)",
			m->nrefused);
	prom_single_u64(out, "swarm_spoa_netmgr_network_refusals", PROM_COUNTER,
			"Refusals of a network to an owner, counted when first seen",
			m->refusals);
	prom_single_u64(out, "swarm_spoa_netmgr_proxy_updates", PROM_COUNTER,
			"Updates of the proxy service made by this agent (each restarts its tasks)",
			m->updates);
	prom_single_u64(out, "swarm_spoa_netmgr_proxy_updates_in_window", PROM_GAUGE,
			"Updates of the proxy service by the agents within the rate limit's window",
			m->updates_in_window);
	prom_single_u64(out, "swarm_spoa_netmgr_update_held", PROM_GAUGE,
			"1 while network changes wait for the rate limit",
			m->held ? 1 : 0);
	prom_single_u64(out, "swarm_spoa_netmgr_update_holds", PROM_COUNTER,
			"Times network changes were held by the rate limit",
			m->holds);
}
