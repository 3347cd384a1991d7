/* The network manager's decisions: a pure function, see netplan.h. */
#include <stdlib.h>
#include <string.h>

#include "netmgr/netplan.h"
#include "routing/policy.h"

const char *netplan_state_name(enum netplan_state st)
{
	switch (st) {
	case NETPLAN_OPERATOR: return "operator";
	case NETPLAN_ATTACHED: return "attached";
	case NETPLAN_ATTACH: return "attach";
	case NETPLAN_GRACE: return "grace";
	case NETPLAN_DETACH: return "detach";
	case NETPLAN_DETACHED: return "detached";
	case NETPLAN_REMOVE: return "remove";
	case NETPLAN_MISSING: return "missing";
	case NETPLAN_REFUSED: return "refused";
	}
	return "?";
}

const struct netplan_net *netplan_resolve(const struct netplan_net *nets, size_t n,
					  const char *label, const char **why)
{
	const struct netplan_net *swarm = NULL, *local = NULL;
	size_t nswarm = 0;

	*why = NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(nets[i].id, label) == 0)
			return &nets[i];
	for (size_t i = 0; i < n; i++) {
		if (strcmp(nets[i].name, label) != 0)
			continue;
		if (nets[i].swarm) {
			swarm = &nets[i];
			nswarm++;
		} else {
			local = &nets[i];
		}
	}
	if (nswarm == 1)
		return swarm;
	if (nswarm > 1) {
		*why = "several swarm networks have this name: name it by ID";
		return NULL;
	}
	if (local)
		return local;
	*why = "no such network";
	return NULL;
}

int netplan_may_attach(const struct policy *policy, const struct netplan_net *n,
		       const char *owner, const char *stack, const char **why, unsigned *line)
{
	const struct policy_network *r = policy_network_rule(policy, n->name);

	*why = NULL;
	*line = 0;
	if (r) {
		/* the operator's word decides alone, own stack or not */
		if (owner && policy_owner_in(&r->owners, owner))
			return 1;
		*line = r->line;
		*why = "the operator's policy grants this network to other owners";
		return 0;
	}
	if (stack && n->stack && strcmp(stack, n->stack) == 0)
		return 1;
	*why = n->stack ? "a network of another stack: only the operator's policy can grant it" :
			  "a network of no stack: only the operator's policy can grant it";
	return 0;
}

/* Whether <id> is in the <n> strings of <list>. */
static int netplan_in_list(const char *const *list, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], id) == 0)
			return 1;
	return 0;
}

/* Whether the <n> strings of <a> and <b> are the same set (no duplicates). */
static int netplan_same_set(const char *const *a, size_t na, const char *const *b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (!netplan_in_list(b, nb, a[i]))
			return 0;
	return 1;
}

/* What routed services want of one network, all labels naming it merged. */
struct netplan_want {
	const struct netplan_net *net;
	unsigned users;
	int64_t due_ms;             /* users == 0: the end of its grace */
	int folds;                  /* an idle network the agents attached */
};

struct netplan_ctx {
	const struct netplan_in *in;
	struct netplan_out *out;
	struct netplan_want *wants;
	size_t nwants;
	/* the network of each entry of out->attached, NULL when not listed */
	const struct netplan_net **attached_nets;
};

/* Whether routed services name <w> now, or did less than the grace ago. */
static int netplan_active(const struct netplan_ctx *c, const struct netplan_want *w)
{
	return w->users || c->in->now_ms < w->due_ms;
}

static struct netplan_row *netplan_row(struct netplan_ctx *c, enum netplan_state st,
				       const char *id, const char *name, const char *reason)
{
	struct netplan_row *r = &c->out->rows[c->out->nrows++];

	memset(r, 0, sizeof(*r));
	r->state = st;
	r->id = id;
	r->name = name;
	r->reason = reason;
	return r;
}

static const struct netplan_net *netplan_find(const struct netplan_in *in, const char *target);

/* Whether the proxy is on <n> and the agents did not attach it: the
 * operator's, never refused nor touched.
 */
static int netplan_operator_net(const struct netplan_in *in, const struct netplan_net *n)
{
	if (netplan_in_list(in->managed, in->nmanaged, n->id))
		return 0;
	for (size_t i = 0; i < in->nattached; i++)
		if (netplan_find(in, in->attached[i]) == n)
			return 1;
	return 0;
}

static struct netplan_want *netplan_want_of(struct netplan_ctx *c, const struct netplan_net *n)
{
	for (size_t i = 0; i < c->nwants; i++)
		if (c->wants[i].net == n)
			return &c->wants[i];
	return NULL;
}

/* The network an attached target or a label entry designates, or NULL
 * when the swarm lists no such network.
 */
static const struct netplan_net *netplan_find(const struct netplan_in *in, const char *target)
{
	const char *why;

	return netplan_resolve(in->nets, in->nnets, target, &why);
}

/* Whether the proxy will be on <n> after the update. */
static int netplan_will_have(const struct netplan_ctx *c, const struct netplan_net *n)
{
	for (size_t k = 0; k < c->out->nattached; k++)
		if (c->attached_nets[k] == n)
			return 1;
	return 0;
}

/* Puts <target> (network <n>, if listed) on the proxy after the update;
 * <managed>: as one the agents attached.
 */
static void netplan_keep(struct netplan_ctx *c, const char *target, const struct netplan_net *n,
			 int managed)
{
	struct netplan_out *out = c->out;

	c->attached_nets[out->nattached] = n;
	out->attached[out->nattached++] = target;
	if (managed)
		out->managed[out->nmanaged++] = n ? n->id : target;
}

/* Asks to decide again at <due_ms>. */
static void netplan_wake(struct netplan_ctx *c, int64_t due_ms)
{
	if (!c->out->next_ms || due_ms < c->out->next_ms)
		c->out->next_ms = due_ms;
}

static void netplan_grace_row(struct netplan_ctx *c, const struct netplan_net *n, int64_t due)
{
	netplan_row(c, NETPLAN_GRACE, n->id, n->name,
		    "no routed service names it: detached when the grace period ends")->due_ms = due;
	netplan_wake(c, due);
}

/* Merges the uses by network: a network named by its name and by its ID is
 * one want. A use that names nothing joinable gets its row here.
 */
static void netplan_collect_wants(struct netplan_ctx *c)
{
	const struct netplan_in *in = c->in;

	for (size_t i = 0; i < in->nuses; i++) {
		const struct netplan_use *u = &in->uses[i];
		const char *why;
		const struct netplan_net *n = netplan_resolve(in->nets, in->nnets, u->network, &why);
		struct netplan_want *w;

		if (n && n->ingress)
			why = "the ingress network: a service cannot name it";
		else if (n && !n->swarm)
			why = "not a swarm-scoped (overlay) network: a service cannot join it";
		if (!n || why) {
			/* only worth a row while someone names it */
			if (u->users)
				netplan_row(c, n ? NETPLAN_REFUSED : NETPLAN_MISSING, n ? n->id : NULL,
					    u->network, why)->users = u->users;
			continue;
		}
		if (!netplan_operator_net(in, n)) {
			unsigned line;

			if (!netplan_may_attach(in->policy, n, u->owner, u->stack, &why, &line)) {
				struct netplan_row *r;

				if (!u->users)
					continue;
				r = netplan_row(c, NETPLAN_REFUSED, n->id, n->name, why);
				r->users = u->users;
				r->owner = u->owner;
				r->net_stack = n->stack;
				r->policy_line = line;
				c->out->nrefused++;
				continue;
			}
		}
		w = netplan_want_of(c, n);
		if (!w) {
			w = &c->wants[c->nwants++];
			w->net = n;
			w->users = 0;
			w->due_ms = 0;
		}
		w->users += u->users;
		if (!u->users && u->idle_since_ms + (int64_t)in->grace_ms > w->due_ms)
			w->due_ms = u->idle_since_ms + in->grace_ms;
	}
}

/* Folds detachments into one update: once the first grace of a network
 * the agents attached ends, each one ending within <fold_ms> of the last
 * one folded is waited for too (`docker stack rm a b` removes the stacks
 * one after the other, and a busy manager may show them gone in tables
 * seconds apart), up to NETPLAN_FOLD_MAX times <fold_ms> after the first.
 * The folded graces all end with the last one.
 */
static void netplan_fold(struct netplan_ctx *c)
{
	const struct netplan_in *in = c->in;
	int64_t fold = (int64_t)in->fold_ms, first = 0, last, most;
	int grew = 1;

	for (size_t i = 0; i < c->nwants; i++) {
		struct netplan_want *w = &c->wants[i];

		w->folds = !w->users && w->due_ms &&
			   netplan_in_list(in->managed, in->nmanaged, w->net->id);
		if (w->folds && (!first || w->due_ms < first))
			first = w->due_ms;
	}
	if (!first)
		return;
	last = first;
	most = first + NETPLAN_FOLD_MAX * fold;
	while (grew) {
		grew = 0;
		for (size_t i = 0; i < c->nwants; i++) {
			const struct netplan_want *w = &c->wants[i];

			if (w->folds && w->due_ms > last && w->due_ms <= last + fold &&
			    w->due_ms <= most) {
				last = w->due_ms;
				grew = 1;
			}
		}
	}
	for (size_t i = 0; i < c->nwants; i++)
		if (c->wants[i].folds && c->wants[i].due_ms <= last)
			c->wants[i].due_ms = last;
}

/* The networks the proxy has: kept, or detached when the agents attached
 * them and no routed service has named them for the grace period.
 */
static void netplan_attached(struct netplan_ctx *c)
{
	const struct netplan_in *in = c->in;
	struct netplan_out *out = c->out;

	for (size_t i = 0; i < in->nattached; i++) {
		const char *target = in->attached[i];
		const struct netplan_net *n = netplan_find(in, target);
		const char *id = n ? n->id : target;
		struct netplan_want *w = n ? netplan_want_of(c, n) : NULL;
		int64_t since_start = in->start_ms + in->grace_ms;

		if (netplan_in_list(out->attached, out->nattached, target))
			continue;   /* listed twice: once is enough */
		if (!netplan_in_list(in->managed, in->nmanaged, id)) {
			netplan_keep(c, target, n, 0);
			netplan_row(c, NETPLAN_OPERATOR, id, n ? n->name : target,
				    "attached by the operator: never detached")->users = w ? w->users : 0;
			continue;
		}
		if (n && ((w && netplan_active(c, w)) || (!w && in->now_ms < since_start))) {
			netplan_keep(c, target, n, 1);
			if (w && w->users)
				netplan_row(c, NETPLAN_ATTACHED, id, n->name,
					    "named by routed services")->users = w->users;
			else
				netplan_grace_row(c, n, w ? w->due_ms : since_start);
			continue;
		}
		out->ndetach++;
		netplan_row(c, NETPLAN_DETACH, id, n ? n->name : target,
			    n ? "no routed service has named it for the grace period" :
				"the swarm no longer lists it");
		if (n && n->stack && !netplan_in_list(out->detached, out->ndetached, n->id))
			out->detached[out->ndetached++] = n->id;
	}
}

/* Networks named by routed services that the proxy lacks. Only a network
 * named now is attached: one in its grace period only keeps an attachment.
 */
static void netplan_attach(struct netplan_ctx *c)
{
	struct netplan_out *out = c->out;

	for (size_t i = 0; i < c->nwants; i++) {
		const struct netplan_want *w = &c->wants[i];

		if (!w->users || netplan_will_have(c, w->net))
			continue;
		netplan_keep(c, w->net->id, w->net, 1);
		out->nattach++;
		netplan_row(c, NETPLAN_ATTACH, w->net->id, w->net->name,
			    "named by a routed service")->users = w->users;
	}
}

/* The networks the agents detached earlier: forgotten once gone, attached
 * again, or owned by a live stack again; removed once nothing uses them.
 * Those detached by this very update wait for the next look: the proxy's
 * old tasks still hold them.
 */
static void netplan_detached(struct netplan_ctx *c)
{
	const struct netplan_in *in = c->in;
	struct netplan_out *out = c->out;

	for (size_t i = 0; i < in->ndetached; i++) {
		const char *id = in->detached[i];
		const struct netplan_net *n = NULL;
		const struct netplan_want *w;

		for (size_t k = 0; k < in->nnets && !n; k++)
			if (strcmp(in->nets[k].id, id) == 0)
				n = &in->nets[k];
		if (!n || !n->stack || netplan_in_list(out->detached, out->ndetached, id) ||
		    netplan_will_have(c, n))
			continue;
		w = netplan_want_of(c, n);
		if (w && netplan_active(c, w)) {
			/* named again lately: a redeploy may be under way */
			out->detached[out->ndetached++] = id;
			netplan_row(c, NETPLAN_DETACHED, id, n->name,
				    "detached by the agents, named again lately: kept for the grace period");
			netplan_wake(c, w->due_ms);
			continue;
		}
		if (!n->refs_known) {
			out->need_refs = 1;
			out->detached[out->ndetached++] = id;
			netplan_row(c, NETPLAN_DETACHED, id, n->name,
				    "detached by the agents: checking what still uses it");
			continue;
		}
		if (n->stack_services || n->services)
			continue;   /* its stack is back, or something else uses it: not ours */
		out->detached[out->ndetached++] = id;
		if (n->containers) {
			netplan_row(c, NETPLAN_DETACHED, id, n->name,
				    "detached by the agents: tasks or containers are still on it");
			continue;
		}
		netplan_row(c, NETPLAN_REMOVE, id, n->name, "its stack was removed and nothing uses it");
		out->nremove++;
	}
}

static int netplan_cmp_ms(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The rate limit: keeps the update times within the window (a time ahead
 * of this clock counts as within, another manager's clock may be ahead,
 * but not one more than a window ahead: that one is garbage)
 * and, when <max_updates> are, holds the update until the oldest of those
 * that must go leaves the window. The rows of the held changes say so.
 */
static void netplan_limit(struct netplan_ctx *c)
{
	const struct netplan_in *in = c->in;
	struct netplan_out *out = c->out;
	int64_t release;
	size_t keep;

	for (size_t i = 0; i < in->nupdates; i++)
		if (in->updates_ms[i] > in->wall_ms - (int64_t)in->window_ms &&
		    in->updates_ms[i] <= in->wall_ms + (int64_t)in->window_ms)
			out->updates[out->nupdates++] = in->updates_ms[i];
	qsort(out->updates, out->nupdates, sizeof(*out->updates), netplan_cmp_ms);
	/* bounded whatever the label says: only the newest count */
	keep = NETPLAN_UPDATES_MAX - 1;
	if (in->max_updates && in->max_updates < keep)
		keep = in->max_updates;
	if (out->nupdates > keep) {
		memmove(out->updates, out->updates + (out->nupdates - keep),
			keep * sizeof(*out->updates));
		out->nupdates = keep;
	}
	out->nrecent = out->nupdates;
	if (!(out->nattach || out->ndetach))
		return;
	if (in->max_updates && out->nrecent >= in->max_updates) {
		/* the update that makes room: the max_updates-th newest leaves */
		release = out->updates[out->nrecent - in->max_updates] + in->window_ms;
		out->held = 1;
		out->held_until_ms = in->now_ms + (release > in->wall_ms ? release - in->wall_ms : 0);
		netplan_wake(c, out->held_until_ms);
		for (size_t i = 0; i < out->nrows; i++) {
			struct netplan_row *r = &out->rows[i];

			if (r->state == NETPLAN_ATTACH)
				r->reason = "named by a routed service: attached when the rate limit allows";
			else if (r->state == NETPLAN_DETACH)
				r->reason = "no routed service names it: detached when the rate limit allows";
			else
				continue;
			r->due_ms = out->held_until_ms;
		}
		return;
	}
	out->updates[out->nupdates++] = in->wall_ms;
}

int netplan_decide(const struct netplan_in *in, struct netplan_out *out)
{
	struct netplan_ctx c = { .in = in, .out = out };
	size_t most = in->nattached + in->nuses;

	memset(out, 0, sizeof(*out));
	/* a row per attached network, two per use (refused, or attached),
	 * one per detached network */
	out->rows = calloc(in->nattached + 2 * in->nuses + in->ndetached + 1, sizeof(*out->rows));
	out->attached = calloc(most + 1, sizeof(*out->attached));
	out->managed = calloc(most + 1, sizeof(*out->managed));
	out->detached = calloc(in->ndetached + in->nattached + 1, sizeof(*out->detached));
	c.wants = calloc(in->nuses + 1, sizeof(*c.wants));
	c.attached_nets = calloc(most + 1, sizeof(*c.attached_nets));
	out->updates = calloc(in->nupdates + 1, sizeof(*out->updates));
	if (!out->rows || !out->attached || !out->managed || !out->detached || !c.wants ||
	    !c.attached_nets || !out->updates) {
		free(c.wants);
		free(c.attached_nets);
		netplan_release(out);
		return -1;
	}
	netplan_collect_wants(&c);
	netplan_fold(&c);
	netplan_attached(&c);
	netplan_attach(&c);
	netplan_detached(&c);
	netplan_limit(&c);
	out->labels_change = !netplan_same_set(out->managed, out->nmanaged, in->managed, in->nmanaged) ||
			     !netplan_same_set(out->detached, out->ndetached, in->detached, in->ndetached);
	free(c.wants);
	free(c.attached_nets);
	return 0;
}

void netplan_release(struct netplan_out *out)
{
	free(out->rows);
	out->rows = NULL;
	free(out->attached);
	out->attached = NULL;
	free(out->managed);
	out->managed = NULL;
	free(out->detached);
	out->detached = NULL;
	free(out->updates);
	out->updates = NULL;
	out->nupdates = 0;
	out->nrows = out->nattached = out->nmanaged = out->ndetached = 0;
}
