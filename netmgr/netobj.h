/* The Docker objects the network manager reads and writes: the swarm's
 * networks, the proxy service (its networks, its labels, its spec sent back
 * with other networks), and who uses a network before it is removed.
 *
 * Each reader takes one answer of the Engine API (any bytes: whatever
 * answers on the socket) and returns 0, or -1 with the reason in <err>.
 * The answers are small but for GET /services, which is read only before a
 * removal; they are read with jansson.
 */
#ifndef NETMGR_NETOBJ_H
#define NETMGR_NETOBJ_H

#include <stddef.h>
#include <stdint.h>
#include "netmgr/netplan.h"

struct arena;
struct sbuf;

/* GET /networks. */
struct netobj_nets {
	struct arena *arena;        /* owns everything below */
	struct netplan_net *nets;
	size_t n;
};

/* Fills <out> (released with netobj_nets_free()). A network without an ID
 * or a name is left out.
 */
int netobj_networks(const char *json, size_t len, struct netobj_nets *out,
		    char *err, size_t errlen);
void netobj_nets_free(struct netobj_nets *out);

/* GET /services/{id} of the proxy service. */
struct netobj_proxy {
	struct arena *arena;        /* owns everything below */
	const char *id;
	const char *name;
	uint64_t version;           /* for POST /services/{id}/update?version= */
	const char **attached;      /* TaskTemplate.Networks (or the older Spec.Networks) targets */
	size_t nattached;
	const char **managed;       /* NETPLAN_MANAGED_LABEL, split */
	size_t nmanaged;
	const char **detached;      /* NETPLAN_DETACHED_LABEL, split */
	size_t ndetached;
	int64_t *updates_ms;        /* NETPLAN_UPDATES_LABEL: wall-clock times, at most
				     * NETPLAN_UPDATES_MAX, entries that are not one left out */
	size_t nupdates;
	const char *update_state;   /* UpdateStatus.State, "" when none */
	int64_t update_ms;          /* its CompletedAt, else StartedAt (wall clock), 0 if none */
};

int netobj_proxy(const char *json, size_t len, struct netobj_proxy *out, char *err, size_t errlen);
void netobj_proxy_free(struct netobj_proxy *p);

/* Writes into <spec> the proxy service's spec (from its GET
 * /services/{id} answer <json>) with the networks <attached> (targets: an
 * entry the spec has for a target is kept as it is, aliases included; the
 * others are added as {"Target": id}), the two labels set to <managed>
 * and <detached> (removed when empty), and NETPLAN_UPDATES_LABEL to the
 * <nupdates> times at <updates> (removed when none). Everything else is
 * left as it is.
 */
int netobj_proxy_spec(const char *json, size_t len,
		      const char *const *attached, size_t nattached,
		      const char *const *managed, size_t nmanaged,
		      const char *const *detached, size_t ndetached,
		      const int64_t *updates, size_t nupdates,
		      struct sbuf *spec, char *err, size_t errlen);

/* GET /services: for each of the <n> networks <nets> points to, counts
 * the services whose spec names it (by ID or name) and the services of its
 * stack, into their <services> and <stack_services>.
 */
int netobj_count_users(const char *json, size_t len, struct netplan_net *const *nets, size_t n,
		       char *err, size_t errlen);

/* GET /networks/{id}: the number of container endpoints on it (this node's
 * only), and of load balancer endpoints ("lb-<name>"): a node keeps one on
 * a swarm network until its last task there has finished leaving it.
 */
int netobj_network_containers(const char *json, size_t len, unsigned *containers,
			      unsigned *lb, char *err, size_t errlen);

#endif
