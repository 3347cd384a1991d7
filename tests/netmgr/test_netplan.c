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

#define NOW     1000000
#define GRACE   5000
#define FOLD    1000

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
		[TWIN1] = { .id = "tw10000000000000000000007", .name = "twin", .swarm = 1 },
		[TWIN2] = { .id = "tw20000000000000000000008", .name = "twin", .swarm = 1 },
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
	struct netplan_use uses[] = { { "app_net", 2, 0 } };
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
	struct netplan_use uses[] = { { "app_net", 1, 0 }, { "swarm-spoa", 3, 0 } };
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
	struct netplan_use uses[] = { { "app_net", 0, NOW - 2000 } };
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
	struct netplan_use uses[] = { { "app_net", 0, NOW - 1000 } };
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
		{ "nosuch_net", 1, 0 }, { "bridge", 1, 0 }, { "ingress", 1, 0 }, { "twin", 1, 0 },
		{ "tw20000000000000000000008", 2, 0 }, { "idle_unknown", 0, NOW },
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
	struct netplan_use uses[] = { { "app_net", 1, 0 }, { "app0000000000000000000003", 2, 0 } };
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
	struct netplan_use uses[] = { { "app_net", 1, 0 } };
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
		{ "app_net", 0, NOW }, { "shop_default", 0, NOW + 600 },
		{ "tw10000000000000000000007", 0, NOW + 3000 },
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
		{ "app_net", 0, NOW }, { "shop_default", 0, NOW + 900 },
		{ "tw10000000000000000000007", 0, NOW + 1800 },
		{ "tw20000000000000000000008", 0, NOW + 2700 },
		{ "swarm-spoa_control", 0, NOW + 3600 }, { "swarm-spoa", 0, NOW + 4500 },
	};
	struct netplan_out out;

	(void)state;
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
}

/* Attachments and detachments due at once: one update does both. */
static void test_attach_and_detach_together(void **state)
{
	struct netplan_in in = base_in();
	const char *attached[] = { operator_nets[0], operator_nets[1], nets[APP].id };
	const char *managed[] = { nets[APP].id };
	struct netplan_use uses[] = { { "app_net", 0, NOW - GRACE }, { "shop_default", 1, 0 } };
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
