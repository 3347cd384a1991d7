/* The network manager's decisions (netplan_decide()), replayed: which
 * networks the proxy service gains and loses, when, and which it removes,
 * given the routed services' com.docker.lb.network labels, the proxy's
 * networks and labels, the grace state and what still uses a network.
 *
 * Guards issue 5: `docker stack rm` leaves no network behind, a redeploy
 * in flight is never hurt, the operator's networks are never touched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "netmgr/netplan.h"
#include "routing/policy.h"

#define NOW     1000000
#define GRACE   5000
#define FOLD    1000

/* <users> routed services of stack <stk> name network <net>; idle since
 * <idle> when none. */
#define USE(net, stk, n, idle) \
	{ .network = (net), .owner = (stk), .stack = (stk), .users = (n), .idle_since_ms = (idle) }

/* The swarm of the tests: the pair's control network and the shared
 * network (the operator's), two stacks' networks, a local bridge, the
 * ingress network, and two swarm networks with the same name.
 */
enum { CONTROL, SHARED, APP, SHOP, BRIDGE, INGRESS, TWIN1, TWIN2, NNETS };

static struct netplan_net nets[NNETS];

static void reset_nets(void)
{
	static const struct netplan_net init[NNETS] = {
		[CONTROL] = { .id = "ctl0000000000000000000001", .name = "swarm-spoa_control",
			      .stack = "swarm-spoa", .swarm = 1 },
		[SHARED] = { .id = "shr0000000000000000000002", .name = "swarm-spoa", .swarm = 1 },
		[APP] = { .id = "app0000000000000000000003", .name = "app_net", .stack = "app",
			  .swarm = 1 },
		[SHOP] = { .id = "shp0000000000000000000004", .name = "shop_default", .stack = "shop",
			   .swarm = 1 },
		[BRIDGE] = { .id = "brg0000000000000000000005", .name = "bridge" },
		[INGRESS] = { .id = "ing0000000000000000000006", .name = "ingress", .swarm = 1,
			      .ingress = 1 },
		[TWIN1] = { .id = "tw10000000000000000000007", .name = "twin", .stack = "twins",
			    .swarm = 1 },
		[TWIN2] = { .id = "tw20000000000000000000008", .name = "twin", .stack = "twins",
			    .swarm = 1 },
	};

	memcpy(nets, init, sizeof(nets));
}

static const char *const operator_nets[] = { "ctl0000000000000000000001",
					     "shr0000000000000000000002" };

/* An input with the operator's two networks attached, nothing managed. */
static struct netplan_in base_in(void)
{
	struct netplan_in in = {
		.nets = nets,
		.nnets = NNETS,
		.attached = operator_nets,
		.nattached = 2,
		.now_ms = NOW,
		.start_ms = NOW - 600000,
		.grace_ms = GRACE,
		.fold_ms = FOLD,
	};

	reset_nets();
	return in;
}

static const struct netplan_row *row_of(const struct netplan_out *out, const char *name)
{
	for (size_t i = 0; i < out->nrows; i++)
		if (strcmp(out->rows[i].name, name) == 0)
			return &out->rows[i];
	fail_msg("no row for %s", name);
	return NULL;
}

static int has(const char **list, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], id) == 0)
			return 1;
	return 0;
}

/* A routed service names a stack's network: attached (and recorded as the
 * agents'), the operator's networks kept.
 */
static void test_attach(void **state)
{
	struct netplan_in in = base_in();
	struct netplan_use uses[] = { USE("app_net", "app", 2, 0) };
	struct netplan_out out;

	(void)state;
	in.uses = uses;
	in.nuses = 1;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_true(netplan_update_needed(&out));
	assert_int_equal(out.nattach, 1);
	assert_int_equal(out.ndetach, 0);
	assert_int_equal(out.nattached, 3);
	assert_true(has(out.attached, out.nattached, nets[CONTROL].id));
	assert_true(has(out.attached, out.nattached, nets[SHARED].id));
	assert_true(has(out.attached, out.nattached, nets[APP].id));
	assert_int_equal(out.nmanaged, 1);
	assert_string_equal(out.managed[0], nets[APP].id);
	assert_int_equal(out.ndetached, 0);
	assert_true(out.labels_change);
	assert_int_equal(row_of(&out, "app_net")->state, NETPLAN_ATTACH);
	assert_int_equal(row_of(&out, "app_net")->users, 2);
	assert_int_equal(row_of(&out, "swarm-spoa_control")->state, NETPLAN_OPERATOR);
	assert_int_equal(out.next_ms, 0);
	netplan_release(&out);
}

/* Attached and named: nothing to do. A service naming an operator's
 * network changes nothing either, and an operator's network nobody names
 * stays.
 */
static void test_steady(void **state)
{
	struct netplan_in in = base_in();
	const char *attached[] = { operator_nets[0], operator_nets[1], nets[APP].id };
	const char *managed[] = { nets[APP].id };
	struct netplan_use uses[] = { USE("app_net", "app", 1, 0), USE("swarm-spoa", "swarm-spoa", 3, 0) };
	struct netplan_out out;

	(void)state;
	in.attached = attached;
	in.nattached = 3;
	in.managed = managed;
	in.nmanaged = 1;
	in.uses = uses;
	in.nuses = 2;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_false(netplan_update_needed(&out));
	assert_false(out.labels_change);
	assert_int_equal(row_of(&out, "app_net")->state, NETPLAN_ATTACHED);
	assert_int_equal(row_of(&out, "swarm-spoa")->state, NETPLAN_OPERATOR);
	assert_int_equal(row_of(&out, "swarm-spoa")->users, 3);
	assert_int_equal(row_of(&out, "swarm-spoa_control")->state, NETPLAN_OPERATOR);
	netplan_release(&out);

	/* nobody names anything: the operator's networks are never detached */
	in.attached = operator_nets;
	in.nattached = 2;
	in.managed = NULL;
	in.nmanaged = 0;
	in.nuses = 0;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_false(netplan_update_needed(&out));
	assert_int_equal(out.nattached, 2);
	netplan_release(&out);
}

/* The last service naming a network goes: the network stays attached for
 * the grace period, then is detached and, being a stack's, recorded for
 * removal. A service naming it again within the grace keeps it.
 */
static void test_grace_then_detach(void **state)
{
	struct netplan_in in = base_in();
	const char *attached[] = { operator_nets[0], operator_nets[1], nets[APP].id };
	const char *managed[] = { nets[APP].id };
	struct netplan_use uses[] = { USE("app_net", "app", 0, NOW - 2000) };
	struct netplan_out out;

	(void)state;
	in.attached = attached;
	in.nattached = 3;
	in.managed = managed;
	in.nmanaged = 1;
	in.uses = uses;
	in.nuses = 1;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_false(netplan_update_needed(&out));
	assert_int_equal(row_of(&out, "app_net")->state, NETPLAN_GRACE);
	assert_int_equal(row_of(&out, "app_net")->due_ms, NOW + 3000);
	assert_int_equal(out.next_ms, NOW + 3000);
	netplan_release(&out);

	/* the redeploy came back in time */
	uses[0].users = 1;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_false(netplan_update_needed(&out));
	assert_int_equal(row_of(&out, "app_net")->state, NETPLAN_ATTACHED);
	netplan_release(&out);

	/* it did not: detached once the grace is over, to be removed */
	uses[0].users = 0;
	in.now_ms = NOW + 3000;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_true(netplan_update_needed(&out));
	assert_int_equal(out.ndetach, 1);
	assert_int_equal(out.nattached, 2);
	assert_false(has(out.attached, out.nattached, nets[APP].id));
	assert_int_equal(out.nmanaged, 0);
	assert_int_equal(out.ndetached, 1);
	assert_string_equal(out.detached[0], nets[APP].id);
	assert_int_equal(row_of(&out, "app_net")->state, NETPLAN_DETACH);
	/* this very update detaches it: no removal before the next look */
	assert_int_equal(out.nremove, 0);
	assert_false(out.need_refs);
	netplan_release(&out);
}

/* A network named only lately (idle, within its grace) is never attached:
 * the grace keeps an attachment, it does not make one.
 */
static void test_idle_never_attaches(void **state)
{
	struct netplan_in in = base_in();
	struct netplan_use uses[] = { USE("app_net", "app", 0, NOW - 1000) };
	struct netplan_out out;

	(void)state;
	in.uses = uses;
	in.nuses = 1;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_false(netplan_update_needed(&out));
	assert_false(has(out.attached, out.nattached, nets[APP].id));
	netplan_release(&out);
}

/* After an agent restart no use mentions a managed network: the grace
 * runs from the start, then it goes. A network the swarm no longer lists
 * is dropped from the spec at once.
 */
static void test_restart_and_forgotten(void **state)
{
	struct netplan_in in = base_in();
	const char *attached[] = { operator_nets[0], operator_nets[1], nets[SHOP].id,
				   "gone000000000000000000009" };
	const char *managed[] = { nets[SHOP].id, "gone000000000000000000009" };
	struct netplan_out out;

	(void)state;
	in.attached = attached;
	in.nattached = 4;
	in.managed = managed;
	in.nmanaged = 2;
	in.start_ms = NOW - 1000;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(out.ndetach, 1);
	assert_int_equal(row_of(&out, "gone000000000000000000009")->state, NETPLAN_DETACH);
	assert_int_equal(row_of(&out, "shop_default")->state, NETPLAN_GRACE);
	assert_int_equal(row_of(&out, "shop_default")->due_ms, NOW + 4000);
	assert_true(has(out.attached, out.nattached, nets[SHOP].id));
	/* a network not listed is nobody's to remove */
	assert_int_equal(out.ndetached, 0);
	netplan_release(&out);

	in.start_ms = NOW - GRACE;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(out.ndetach, 2);
	assert_int_equal(out.nattached, 2);
	assert_int_equal(out.ndetached, 1);
	assert_string_equal(out.detached[0], nets[SHOP].id);
	netplan_release(&out);
}

/* Labels naming what a service cannot join: reported, never attached. */
static void test_missing_and_refused(void **state)
{
	struct netplan_in in = base_in();
	struct netplan_use uses[] = {
		USE("nosuch_net", "app", 1, 0), USE("bridge", "app", 1, 0), USE("ingress", "app", 1, 0), USE("twin", "twins", 1, 0),
		USE("tw20000000000000000000008", "twins", 2, 0), USE("idle_unknown", "app", 0, NOW),
	};
	struct netplan_out out;
	const char *why;

	(void)state;
	in.uses = uses;
	in.nuses = 6;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(row_of(&out, "nosuch_net")->state, NETPLAN_MISSING);
	assert_int_equal(row_of(&out, "bridge")->state, NETPLAN_REFUSED);
	assert_int_equal(row_of(&out, "ingress")->state, NETPLAN_REFUSED);
	/* an ambiguous name is missing, its reason says to use the ID ... */
	assert_int_equal(row_of(&out, "twin")->state, NETPLAN_MISSING);
	assert_non_null(strstr(row_of(&out, "twin")->reason, "by ID"));
	/* ... which works */
	assert_int_equal(out.nattach, 1);
	assert_true(has(out.attached, out.nattached, nets[TWIN2].id));
	for (size_t i = 0; i < out.nrows; i++)
		assert_string_not_equal(out.rows[i].name, "idle_unknown");
	netplan_release(&out);

	assert_ptr_equal(netplan_resolve(nets, NNETS, "swarm-spoa", &why), &nets[SHARED]);
	assert_ptr_equal(netplan_resolve(nets, NNETS, nets[APP].id, &why), &nets[APP]);
	assert_null(netplan_resolve(nets, NNETS, "app", &why));
	assert_string_equal(why, "no such network");
}

/* One network named by its name and by its ID: one want, users summed. */
static void test_name_and_id(void **state)
{
	struct netplan_in in = base_in();
	struct netplan_use uses[] = { USE("app_net", "app", 1, 0), USE("app0000000000000000000003", "app", 2, 0) };
	struct netplan_out out;

	(void)state;
	in.uses = uses;
	in.nuses = 2;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(out.nattach, 1);
	assert_int_equal(row_of(&out, "app_net")->users, 3);
	netplan_release(&out);
}

/* `docker stack rm`: the network the agents detached waits for its users
 * to be counted, then is removed when nothing uses it; never when its
 * stack is back, another service names it or a container sits on it.
 */
static void test_removal(void **state)
{
	struct netplan_in in = base_in();
	const char *detached[] = { nets[APP].id };
	struct netplan_out out;

	(void)state;
	in.detached = detached;
	in.ndetached = 1;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_true(out.need_refs);
	assert_int_equal(out.nremove, 0);
	assert_int_equal(row_of(&out, "app_net")->state, NETPLAN_DETACHED);
	assert_int_equal(out.ndetached, 1);
	assert_false(out.labels_change);
	netplan_release(&out);

	nets[APP].refs_known = 1;
	in.now_ms++;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_false(out.need_refs);
	assert_int_equal(out.nremove, 1);
	assert_int_equal(row_of(&out, "app_net")->state, NETPLAN_REMOVE);
	assert_false(netplan_update_needed(&out));
	netplan_release(&out);

	/* the old proxy task still sits on it: kept, tried again */
	nets[APP].containers = 1;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(out.nremove, 0);
	assert_int_equal(row_of(&out, "app_net")->state, NETPLAN_DETACHED);
	assert_int_equal(out.ndetached, 1);
	netplan_release(&out);

	/* the stack was deployed again: its network, not ours any more */
	nets[APP].containers = 0;
	nets[APP].stack_services = 2;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(out.nremove, 0);
	assert_int_equal(out.ndetached, 0);
	assert_true(out.labels_change);
	netplan_release(&out);

	/* another service names it */
	nets[APP].stack_services = 0;
	nets[APP].services = 1;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(out.nremove, 0);
	assert_int_equal(out.ndetached, 0);
	netplan_release(&out);

	/* removed meanwhile (by the other agent): forgotten */
	nets[APP].services = 0;
	in.nnets = APP;   /* APP and after are not listed */
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(out.ndetached, 0);
	assert_int_equal(out.nremove, 0);
	netplan_release(&out);
}

/* A detached network named again before its removal: attached again, no
 * longer to remove; named lately but not now: kept for the grace period.
 */
static void test_redeploy_before_removal(void **state)
{
	struct netplan_in in = base_in();
	const char *detached[] = { nets[APP].id };
	struct netplan_use uses[] = { USE("app_net", "app", 1, 0) };
	struct netplan_out out;

	(void)state;
	nets[APP].refs_known = 1;
	in.detached = detached;
	in.ndetached = 1;
	in.uses = uses;
	in.nuses = 1;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(out.nattach, 1);
	assert_int_equal(out.nremove, 0);
	assert_int_equal(out.ndetached, 0);
	assert_int_equal(out.nmanaged, 1);
	netplan_release(&out);

	uses[0].users = 0;
	uses[0].idle_since_ms = NOW - 100;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(out.nattach, 0);
	assert_int_equal(out.nremove, 0);
	assert_int_equal(out.ndetached, 1);
	assert_int_equal(row_of(&out, "app_net")->state, NETPLAN_DETACHED);
	assert_int_equal(out.next_ms, NOW - 100 + GRACE);
	netplan_release(&out);
}

/* Graces that end close together are folded into one update; one that
 * ends later is not waited for.
 */
static void test_fold(void **state)
{
	struct netplan_in in = base_in();
	const char *attached[] = { operator_nets[0], operator_nets[1], nets[APP].id,
				   nets[SHOP].id, nets[TWIN1].id };
	const char *managed[] = { nets[APP].id, nets[SHOP].id, nets[TWIN1].id };
	struct netplan_use uses[] = {
		USE("app_net", "app", 0, NOW), USE("shop_default", "shop", 0, NOW + 600),
		USE("tw10000000000000000000007", "twins", 0, NOW + 3000),
	};
	struct netplan_out out;

	(void)state;
	in.attached = attached;
	in.nattached = 5;
	in.managed = managed;
	in.nmanaged = 3;
	in.uses = uses;
	in.nuses = 3;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(out.next_ms, NOW + 600 + GRACE);
	netplan_release(&out);

	in.now_ms = NOW + 600 + GRACE;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(out.ndetach, 2);
	assert_int_equal(row_of(&out, "twin")->state, NETPLAN_GRACE);
	assert_int_equal(out.next_ms, NOW + 3000 + GRACE);
	/* only stack networks are recorded for removal */
	assert_int_equal(out.ndetached, 2);
	assert_true(has(out.detached, out.ndetached, nets[APP].id));
	assert_true(has(out.detached, out.ndetached, nets[SHOP].id));
	netplan_release(&out);
}

/* Folding chains: each grace ending within the fold of the last one folded
 * is waited for, and all end together; the chain stops at
 * NETPLAN_FOLD_MAX folds after the first.
 */
static void test_fold_chain(void **state)
{
	struct netplan_in in = base_in();
	const char *managed[] = { nets[APP].id, nets[SHOP].id, nets[TWIN1].id,
				  nets[TWIN2].id, nets[CONTROL].id, nets[SHARED].id };
	struct netplan_use uses[] = {
		USE("app_net", "app", 0, NOW), USE("shop_default", "shop", 0, NOW + 900),
		USE("tw10000000000000000000007", "twins", 0, NOW + 1800),
		USE("tw20000000000000000000008", "twins", 0, NOW + 2700),
		USE("swarm-spoa_control", "swarm-spoa", 0, NOW + 3600), USE("swarm-spoa", "swarm-spoa", 0, NOW + 4500),
	};
	struct netplan_out out;
	char err[128];
	/* the shared network is of no stack: the agents attached it for the
	 * services of stack swarm-spoa by the policy's grant */
	struct policy *pol = policy_parse("network swarm-spoa swarm-spoa\n", 30, err, sizeof(err));

	(void)state;
	assert_non_null(pol);
	in.policy = pol;
	in.attached = managed;
	in.nattached = 3;
	in.managed = managed;
	in.nmanaged = 3;
	in.uses = uses;
	in.nuses = 3;
	/* three graces 900 ms apart: one detach, when the last one ends */
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(out.next_ms, NOW + 1800 + GRACE);
	netplan_release(&out);
	in.now_ms = NOW + GRACE + 100;   /* the first grace is over, the chain is not */
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(out.ndetach, 0);
	assert_int_equal(row_of(&out, "app_net")->state, NETPLAN_GRACE);
	assert_int_equal(row_of(&out, "app_net")->due_ms, NOW + 1800 + GRACE);
	assert_int_equal(out.next_ms, NOW + 1800 + GRACE);
	netplan_release(&out);
	in.now_ms = NOW + 1800 + GRACE;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(out.ndetach, 3);
	netplan_release(&out);

	/* six: the chain stops 4 folds after the first */
	in.now_ms = NOW;
	in.nattached = in.nmanaged = in.nuses = 6;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(out.next_ms, NOW + 3600 + GRACE);
	netplan_release(&out);
	in.now_ms = NOW + 3600 + GRACE;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(out.ndetach, 5);
	assert_int_equal(row_of(&out, "swarm-spoa")->state, NETPLAN_GRACE);
	assert_int_equal(out.next_ms, NOW + 4500 + GRACE);
	netplan_release(&out);
	policy_free(pol);
}

/* Attachments and detachments due at once: one update does both. */
static void test_attach_and_detach_together(void **state)
{
	struct netplan_in in = base_in();
	const char *attached[] = { operator_nets[0], operator_nets[1], nets[APP].id };
	const char *managed[] = { nets[APP].id };
	struct netplan_use uses[] = { USE("app_net", "app", 0, NOW - GRACE), USE("shop_default", "shop", 1, 0) };
	struct netplan_out out;

	(void)state;
	in.attached = attached;
	in.nattached = 3;
	in.managed = managed;
	in.nmanaged = 1;
	in.uses = uses;
	in.nuses = 2;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(out.nattach, 1);
	assert_int_equal(out.ndetach, 1);
	assert_int_equal(out.nattached, 3);
	assert_true(has(out.attached, out.nattached, nets[SHOP].id));
	assert_int_equal(out.nmanaged, 1);
	assert_string_equal(out.managed[0], nets[SHOP].id);
	netplan_release(&out);
}

/* The policy of <text>, asserted to parse. */
static struct policy *pol_of(const char *text)
{
	char err[128];
	struct policy *p = policy_parse(text, strlen(text), err, sizeof(err));

	if (!p)
		fail_msg("policy: %s", err);
	return p;
}

/* Guards against one stack's label putting the proxy on another stack's
 * network: refused, with a row saying for whom and whose the network is,
 * and no update. A service outside any stack is refused a stack network.
 */
static void test_other_stack_refused(void **state)
{
	struct netplan_in in = base_in();
	struct netplan_use uses[] = {
		USE("shop_default", "evil", 2, 0),
		{ .network = "app_net", .owner = "service:loner", .users = 1 },
		USE("tw10000000000000000000007", "app", 1, 0),
	};
	struct netplan_out out;
	const struct netplan_row *r;

	(void)state;
	in.uses = uses;
	in.nuses = 3;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(out.nattach, 0);
	assert_false(netplan_update_needed(&out));
	assert_int_equal(out.nrefused, 3);
	assert_int_equal(out.nattached, 2);
	r = row_of(&out, "shop_default");
	assert_int_equal(r->state, NETPLAN_REFUSED);
	assert_string_equal(r->owner, "evil");
	assert_string_equal(r->net_stack, "shop");
	assert_int_equal(r->users, 2);
	assert_int_equal(r->policy_line, 0);
	assert_non_null(strstr(r->reason, "another stack"));
	r = row_of(&out, "app_net");
	assert_string_equal(r->owner, "service:loner");
	assert_int_equal(r->state, NETPLAN_REFUSED);
	assert_int_equal(row_of(&out, "twin")->state, NETPLAN_REFUSED);
	netplan_release(&out);

	/* its own stack's network is attached, the others still refused */
	uses[0].owner = uses[0].stack = "shop";
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(out.nattach, 1);
	assert_int_equal(out.nrefused, 2);
	assert_int_equal(row_of(&out, "shop_default")->state, NETPLAN_ATTACH);
	assert_true(has(out.managed, out.nmanaged, nets[SHOP].id));
	netplan_release(&out);
}

/* A network of no stack only by the policy's grant; a network rule decides
 * alone, own stack or not.
 */
static void test_policy_grants(void **state)
{
	struct netplan_in in = base_in();
	struct netplan_use uses[] = {
		USE("swarm-spoa", "app", 1, 0), USE("app_net", "app", 1, 0),
		USE("app_net", "shop", 1, 0),
	};
	struct netplan_out out;
	struct policy *pol;

	(void)state;
	in.nattached = 1;   /* the proxy is on its control network only */
	in.uses = uses;
	in.nuses = 1;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(out.nattach, 0);
	assert_non_null(strstr(row_of(&out, "swarm-spoa")->reason, "no stack"));
	assert_null(row_of(&out, "swarm-spoa")->net_stack);
	netplan_release(&out);

	pol = pol_of("network swarm-spoa app\n");
	in.policy = pol;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(out.nattach, 1);
	assert_int_equal(row_of(&out, "swarm-spoa")->state, NETPLAN_ATTACH);
	netplan_release(&out);
	policy_free(pol);

	/* granted to others by a prefix rule: refused, the line given */
	pol = pol_of("# ops only\nnetwork swarm* ops\nnetwork app_net shop\n");
	in.policy = pol;
	in.nuses = 3;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(row_of(&out, "swarm-spoa")->state, NETPLAN_REFUSED);
	assert_int_equal(row_of(&out, "swarm-spoa")->policy_line, 2);
	/* app_net: the rule gives it to shop, and takes it from app */
	assert_int_equal(out.nattach, 1);
	assert_int_equal(out.nrefused, 2);
	for (size_t i = 0; i < out.nrows; i++) {
		const struct netplan_row *r = &out.rows[i];

		if (strcmp(r->name, "app_net") != 0)
			continue;
		if (r->state == NETPLAN_REFUSED) {
			assert_string_equal(r->owner, "app");
			assert_int_equal(r->policy_line, 3);
		} else {
			assert_int_equal(r->state, NETPLAN_ATTACH);
			assert_int_equal(r->users, 1);
		}
	}
	netplan_release(&out);
	policy_free(pol);
}

/* The operator's networks are not the agents' to refuse: whoever names
 * them, the proxy stays on them, and no refusal shows.
 */
static void test_operator_network_not_refused(void **state)
{
	struct netplan_in in = base_in();
	struct netplan_use uses[] = { USE("swarm-spoa", "evil", 2, 0) };
	struct netplan_out out;

	(void)state;
	in.uses = uses;
	in.nuses = 1;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(out.nrefused, 0);
	assert_int_equal(row_of(&out, "swarm-spoa")->state, NETPLAN_OPERATOR);
	assert_int_equal(row_of(&out, "swarm-spoa")->users, 2);
	assert_false(netplan_update_needed(&out));
	netplan_release(&out);
}

/* A refused owner does not keep a network the agents attached for
 * another: once its own users are gone for the grace, it is detached.
 */
static void test_refused_do_not_keep(void **state)
{
	struct netplan_in in = base_in();
	const char *attached[] = { operator_nets[0], operator_nets[1], nets[APP].id };
	const char *managed[] = { nets[APP].id };
	struct netplan_use uses[] = {
		USE("app_net", "app", 0, NOW - GRACE - 1), USE("app_net", "evil", 3, 0),
	};
	struct netplan_out out;

	(void)state;
	in.attached = attached;
	in.nattached = 3;
	in.managed = managed;
	in.nmanaged = 1;
	in.uses = uses;
	in.nuses = 2;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(out.ndetach, 1);
	assert_int_equal(out.nrefused, 1);
	netplan_release(&out);
}

#define WALL    1764640000000LL
#define WINDOW  600000

/* Guards against a label flipped every few seconds keeping HAProxy
 * restarting: at most max_updates in any window; the change waits for
 * the oldest update to leave it, and the rows say so.
 */
static void test_rate_limit(void **state)
{
	struct netplan_in in = base_in();
	struct netplan_use uses[] = { USE("app_net", "app", 1, 0) };
	int64_t updates[] = { WALL - 500000, WALL - 100000, WALL - 700000,
			      WALL + 10LL * WINDOW };
	struct netplan_out out;
	const struct netplan_row *r;

	(void)state;
	in.uses = uses;
	in.nuses = 1;
	in.updates_ms = updates;
	in.nupdates = 4;   /* one too old, one garbage from the future */
	in.wall_ms = WALL;
	in.max_updates = 2;
	in.window_ms = WINDOW;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_int_equal(out.nattach, 1);
	assert_true(out.held);
	assert_false(netplan_update_needed(&out));
	assert_int_equal(out.nrecent, 2);
	/* the older of the two leaves the window in 100 s */
	assert_int_equal(out.held_until_ms, NOW + 100000);
	assert_int_equal(out.next_ms, NOW + 100000);
	r = row_of(&out, "app_net");
	assert_int_equal(r->state, NETPLAN_ATTACH);
	assert_int_equal(r->due_ms, NOW + 100000);
	assert_non_null(strstr(r->reason, "rate limit"));
	netplan_release(&out);

	/* 100 s later: made, and recorded with the one still in the window */
	in.now_ms = NOW + 100000;
	in.wall_ms = WALL + 100000;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_false(out.held);
	assert_true(netplan_update_needed(&out));
	assert_int_equal(out.nrecent, 1);
	assert_int_equal(out.nupdates, 2);
	assert_int_equal(out.updates[0], WALL - 100000);
	assert_int_equal(out.updates[1], WALL + 100000);
	netplan_release(&out);

	/* no limit */
	in.now_ms = NOW;
	in.wall_ms = WALL;
	in.max_updates = 0;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_true(netplan_update_needed(&out));
	netplan_release(&out);

	/* nothing to change: nothing held, whatever the window holds */
	in.max_updates = 1;
	in.nuses = 0;
	assert_int_equal(netplan_decide(&in, &out), 0);
	assert_false(out.held);
	assert_int_equal(out.next_ms, 0);
	netplan_release(&out);
}

/* A label flipped every 3 s for an hour: the proxy is updated at most
 * max_updates times in any window.
 */
static void test_rate_limit_flapping(void **state)
{
	struct netplan_in in = base_in();
	struct netplan_use uses[] = { USE("app_net", "app", 1, 0) };
	const char *attached[] = { operator_nets[0], operator_nets[1], nets[APP].id };
	const char *managed[] = { nets[APP].id };
	int64_t updates[NETPLAN_UPDATES_MAX];
	size_t nupdates = 0, made = 0, most = 0;
	int on = 0;

	(void)state;
	in.uses = uses;
	in.nuses = 1;
	in.grace_ms = 0;
	in.max_updates = 6;
	in.window_ms = WINDOW;
	for (int64_t t = 0; t < 3600000; t += 3000) {
		struct netplan_out out;
		size_t inwin = 0;

		/* the label flips: named, then not */
		uses[0].users = (t / 3000) % 2 == 0;
		uses[0].idle_since_ms = uses[0].users ? 0 : NOW + t;
		in.now_ms = NOW + t;
		in.wall_ms = WALL + t;
		in.attached = attached;
		in.nattached = on ? 3 : 2;
		in.managed = managed;
		in.nmanaged = on ? 1 : 0;
		in.updates_ms = updates;
		in.nupdates = nupdates;
		assert_int_equal(netplan_decide(&in, &out), 0);
		if (netplan_update_needed(&out)) {
			made++;
			on = out.nmanaged == 1;
			memcpy(updates, out.updates, out.nupdates * sizeof(*updates));
			nupdates = out.nupdates;
		}
		for (size_t i = 0; i < nupdates; i++)
			inwin += updates[i] > WALL + t - WINDOW;
		if (inwin > most)
			most = inwin;
		netplan_release(&out);
	}
	assert_true(most <= 6);
	/* an hour is six windows: at most 6 updates each */
	assert_true(made <= 6 * 6 + 6);
	assert_true(made >= 6);
}

/* The attach rule alone. */
static void test_may_attach(void **state)
{
	struct policy *pol = pol_of("network shop_default shop infra\n");
	const char *why;
	unsigned line;

	(void)state;
	reset_nets();
	assert_true(netplan_may_attach(NULL, &nets[APP], "app", "app", &why, &line));
	assert_null(why);
	assert_false(netplan_may_attach(NULL, &nets[APP], "service:x", NULL, &why, &line));
	assert_false(netplan_may_attach(NULL, &nets[SHARED], "app", "app", &why, &line));
	assert_true(netplan_may_attach(pol, &nets[SHOP], "infra", "infra", &why, &line));
	assert_true(netplan_may_attach(pol, &nets[SHOP], "shop", "shop", &why, &line));
	assert_false(netplan_may_attach(pol, &nets[SHOP], "app", "app", &why, &line));
	assert_int_equal(line, 1);
	policy_free(pol);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attach),
		cmocka_unit_test(test_steady),
		cmocka_unit_test(test_grace_then_detach),
		cmocka_unit_test(test_idle_never_attaches),
		cmocka_unit_test(test_restart_and_forgotten),
		cmocka_unit_test(test_missing_and_refused),
		cmocka_unit_test(test_name_and_id),
		cmocka_unit_test(test_removal),
		cmocka_unit_test(test_redeploy_before_removal),
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_fold_chain),
		cmocka_unit_test(test_attach_and_detach_together),
		cmocka_unit_test(test_other_stack_refused),
		cmocka_unit_test(test_policy_grants),
		cmocka_unit_test(test_operator_network_not_refused),
		cmocka_unit_test(test_refused_do_not_keep),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_rate_limit_flapping),
		cmocka_unit_test(test_may_attach),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
