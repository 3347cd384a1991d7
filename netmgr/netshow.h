/* "show networks": the proxy service, the manager's state and counters,
 * then each network it has or routed services name, with its state,
 * users, grace timer and reason; as text (Docker's strings escaped) or
 * as JSON.
 */
#ifndef NETMGR_NETSHOW_H
#define NETMGR_NETSHOW_H

#include <stddef.h>
#include <stdint.h>
#include "netmgr/netplan.h"

struct sbuf;

/* One network, as the last decision left it. */
struct netshow_row {
	enum netplan_state state;
	const char *id;             /* NULL when MISSING */
	const char *name;
	int64_t due_ms;             /* GRACE: when it gets detached (monotonic), 0: none */
	const char *reason;
	unsigned users;             /* routed services naming it now */
	const char *services;       /* the first few of them, NULL: none */
	const char *owner;          /* REFUSED for whose it is: the owner refused, */
	const char *net_stack;      /* the network's stack, */
	unsigned policy_line;       /* the policy line that decided (0: none) */
};

struct netshow_in {
	const char *proxy;          /* --proxy-service */
	const char *proxy_id;       /* "" until looked at */
	uint64_t proxy_version;
	const char *update_state;   /* the service's UpdateStatus.State, "" when none */
	const char *state;          /* "idle", "looking", ... */
	unsigned grace_s;
	int64_t next_look_ms;       /* monotonic, -1: none scheduled */
	uint64_t looks, updates, attached, detached, removed, conflicts, failures;
	const char *last_error;     /* "" when none */
	int64_t last_error_ms;      /* wall clock */
	int64_t last_look_ms;       /* wall clock, 0: never */
	int64_t last_update_ms;     /* wall clock, 0: never */
	unsigned max_updates;       /* the rate limit (0: none) */
	unsigned window_s;
	size_t updates_in_window;
	int64_t held_until_ms;      /* monotonic, 0: no update held */
	size_t refused;             /* networks refused for whose they are */
	uint64_t refusals, holds;
	const struct netshow_row *rows;
	size_t nrows;
	int64_t now_ms;             /* monotonic */
};

/* Appends the listing of <in> to <out>. */
void netshow_render(const struct netshow_in *in, struct sbuf *out, int json);

#endif
