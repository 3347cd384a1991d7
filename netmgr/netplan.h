/* The network manager's decisions (--manage-networks), as one pure
 * function of what the agents know: the networks routed services name in
 * com.docker.lb.network (with when each stopped being named), the proxy
 * service's networks and the labels where the agents record which of them
 * they attached, and the swarm's networks. No I/O and no clock: the caller
 * passes the time, so every decision can be replayed in a unit test.
 *
 * The rules:
 *   - The proxy keeps every network it has that the agents did not attach
 *     (the operator's: the stack's control network, the shared network).
 *   - A network that a routed service names is attached when it is not,
 *     and only when its stack (com.docker.stack.namespace) is the service's
 *     own, or the operator's policy grants it to the service's owner (a
 *     "network" rule, which decides alone when one matches the network's
 *     name). Labels are untrusted: one stack's label must not put the proxy
 *     on another stack's internal network. A refused service does not
 *     count as a user; a network the operator attached is not the agents'
 *     to refuse (the proxy stays on it, whoever names it).
 *   - A network the agents attached is detached once no routed service has
 *     named it for <grace_ms>; a service that names it again in time keeps
 *     it (a redeploy in flight is never hurt).
 *   - The proxy service is updated (its tasks restarted) at most
 *     <max_updates> times in any <window_ms>: a label flipped every few
 *     seconds cannot keep HAProxy restarting. The update times live in a
 *     label of the proxy service, shared by the agents like the others; a
 *     change held by the limit is made, with whatever else is pending then,
 *     once the oldest update of the window leaves it.
 *   - A network the agents detached that belongs to a stack
 *     (com.docker.stack.namespace) is removed once that stack has no
 *     service left and nothing uses it: no service names it, no container
 *     is on it. Anything else is never removed.
 *
 * Network IDs, names and labels are borrowed from the input; the output
 * points into it.
 */
#ifndef NETMGR_NETPLAN_H
#define NETMGR_NETPLAN_H

#include <stddef.h>
#include <stdint.h>

/* Labels of the proxy service, comma-separated network IDs: those the
 * agents attached, and those they detached and remove once unused. They
 * live on the service itself, so that both agents share them and they
 * survive agent restarts (and a rollback of the service restores them
 * along with its networks).
 */
#define NETPLAN_MANAGED_LABEL   "swarm-spoa.managed-networks"
#define NETPLAN_DETACHED_LABEL  "swarm-spoa.detached-networks"
#define NETPLAN_STACK_LABEL     "com.docker.stack.namespace"
/* Wall-clock milliseconds of the agents' updates of the proxy service
 * within the rate limit's window, comma-separated. */
#define NETPLAN_UPDATES_LABEL   "swarm-spoa.network-updates"
#define NETPLAN_UPDATES_MAX     64      /* times kept in the label at most */

struct policy;

/* A network of the swarm (GET /networks). */
struct netplan_net {
	const char *id;
	const char *name;
	const char *stack;          /* com.docker.stack.namespace, or NULL */
	int swarm;                  /* scope "swarm": a service can join it */
	int ingress;                /* the routing mesh's network: never joined */
	/* What uses it, filled by the caller before a removal (GET /services,
	 * GET /networks/{id}); unknown until <refs_known>. */
	int refs_known;
	unsigned services;          /* services whose spec names it */
	unsigned stack_services;    /* services of its stack */
	unsigned containers;        /* container endpoints on it */
};

/* A network named in com.docker.lb.network, now or lately. */
struct netplan_use {
	const char *network;        /* as labelled: a name or an ID */
	const char *owner;          /* of the services naming it: a stack, "service:NAME", ... */
	const char *stack;          /* their stack, NULL outside any */
	unsigned users;             /* routed services of <owner> naming it now */
	int64_t idle_since_ms;      /* when <users> dropped to 0 */
};

struct netplan_in {
	const struct netplan_net *nets;
	size_t nnets;
	const struct netplan_use *uses;
	size_t nuses;
	const char *const *attached;   /* the proxy's networks (TaskTemplate.Networks targets) */
	size_t nattached;
	const char *const *managed;    /* IDs of NETPLAN_MANAGED_LABEL */
	size_t nmanaged;
	const char *const *detached;   /* IDs of NETPLAN_DETACHED_LABEL */
	size_t ndetached;
	int64_t now_ms;
	/* A network of the managed label that no use mentions (the agent just
	 * started, or the service went while no agent ran) is idle since
	 * then. */
	int64_t start_ms;
	unsigned grace_ms;
	/* Detachments are folded into one service update: once the first
	 * grace ends, each grace ending within <fold_ms> of the last one
	 * folded is waited for too, up to NETPLAN_FOLD_MAX times <fold_ms>
	 * after the first; all of them end with the last one. */
	unsigned fold_ms;
	const struct policy *policy;   /* its "network" rules; NULL: none */
	/* The rate limit: the wall-clock times of the agents' updates
	 * (NETPLAN_UPDATES_LABEL), at most <max_updates> in any <window_ms>
	 * (0: no limit). */
	const int64_t *updates_ms;
	size_t nupdates;
	int64_t wall_ms;
	unsigned max_updates;
	unsigned window_ms;
};

#define NETPLAN_FOLD_MAX 4   /* a chain of folds waits at most this many <fold_ms> */

enum netplan_state {
	NETPLAN_OPERATOR = 0,       /* attached by the operator: never touched */
	NETPLAN_ATTACHED,           /* attached by the agents, named by routed services */
	NETPLAN_ATTACH,             /* to attach now */
	NETPLAN_GRACE,              /* attached by the agents, no longer named: detached at <due_ms> */
	NETPLAN_DETACH,             /* to detach now */
	NETPLAN_DETACHED,           /* detached by the agents, to remove once unused */
	NETPLAN_REMOVE,             /* to remove now: its stack is gone, nothing uses it */
	NETPLAN_MISSING,            /* named by a routed service, no such network */
	NETPLAN_REFUSED,            /* named, but a service cannot join it, or may not */
};

/* One line of "show networks", and the reason behind each action. */
struct netplan_row {
	enum netplan_state state;
	const char *id;             /* NULL when MISSING */
	const char *name;           /* the network's name, or the label's value */
	unsigned users;             /* routed services naming it now */
	int64_t due_ms;             /* GRACE: when it gets detached; ATTACH, DETACH held
				     * by the rate limit: when they are made */
	const char *reason;         /* static text */
	/* REFUSED because of whose it is: the owner refused (borrowed from
	 * the use), the network's stack, the policy line that decided (0:
	 * none) */
	const char *owner;
	const char *net_stack;
	unsigned policy_line;
};

struct netplan_out {
	struct netplan_row *rows;
	size_t nrows;
	/* the proxy's networks after the update: the targets kept, then the
	 * IDs attached */
	const char **attached;
	size_t nattached;
	const char **managed;       /* the labels after the update */
	size_t nmanaged;
	const char **detached;
	size_t ndetached;
	size_t nattach;             /* networks attached and detached by the update */
	size_t ndetach;
	size_t nremove;             /* REMOVE rows */
	int labels_change;          /* the labels differ from the input's */
	/* DETACHED networks wait for their users to be counted: fill
	 * <refs_known> and the counts, then decide again. */
	int need_refs;
	int64_t next_ms;            /* when to decide again (a grace ending), 0: no need */
	size_t nrefused;            /* REFUSED rows for whose the network is */
	/* The rate limit: an update is needed but <max_updates> were made
	 * within the window; it is made at <held_until_ms> (monotonic). */
	int held;
	int64_t held_until_ms;
	size_t nrecent;             /* updates within the window, before this one */
	/* NETPLAN_UPDATES_LABEL after an update made now: the times within
	 * the window, then <wall_ms> */
	int64_t *updates;
	size_t nupdates;
};

/* Decides, from <in>, what the proxy service's networks and labels become
 * and which networks to remove. Fills <out>, which the caller releases
 * with netplan_release(). Returns 0, or -1 when memory is exhausted.
 */
int netplan_decide(const struct netplan_in *in, struct netplan_out *out);
void netplan_release(struct netplan_out *out);

/* Whether the spec of the proxy service must be updated now: a network to
 * attach or detach that the rate limit does not hold (label-only changes
 * wait for the next one).
 */
static inline int netplan_update_needed(const struct netplan_out *out)
{
	return (out->nattach || out->ndetach) && !out->held;
}

/* "attached", "grace", ... as "show networks" prints them. */
const char *netplan_state_name(enum netplan_state st);

/* Finds the network a label names (<label>: an ID or a name) among <nets>.
 * A name matches a swarm network first; two swarm networks of that name
 * are ambiguous. Returns the network, or NULL with *<why> saying why
 * (static text).
 */
const struct netplan_net *netplan_resolve(const struct netplan_net *nets, size_t n,
					  const char *label, const char **why);

/* Whether a service of <owner> (of <stack>, NULL outside any) may have the
 * proxy attached to network <n> under <policy> (NULL: none). Returns 1, or
 * 0 with *<why> saying why (static text) and *<line> the policy line that
 * decided (0: none).
 */
int netplan_may_attach(const struct policy *policy, const struct netplan_net *n,
		       const char *owner, const char *stack, const char **why, unsigned *line);

#endif
