/* libFuzzer target for what the network manager reads from the Docker
 * daemon: each input is fed to every netobj reader (network list, the
 * proxy service, the service list, one network) and, when it reads as a
 * proxy service, its spec is written back with other networks and its
 * lists go through netplan_decide() against a fixed swarm. Readers must
 * refuse what they cannot use, never crash, leak or read out of bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/sbuf.h"
#include "netmgr/netobj.h"
#include "netmgr/netplan.h"

static const char base_networks[] =
	"[{\"Id\":\"ctl0000000000000000000001\",\"Name\":\"p_control\",\"Scope\":\"swarm\","
	"\"Labels\":{\"com.docker.stack.namespace\":\"p\"}},"
	"{\"Id\":\"app0000000000000000000003\",\"Name\":\"app_net\",\"Scope\":\"swarm\","
	"\"Labels\":{\"com.docker.stack.namespace\":\"app\"}},"
	"{\"Id\":\"brg0000000000000000000005\",\"Name\":\"bridge\",\"Scope\":\"local\"}]";

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json = (const char *)data;
	struct netobj_nets nets, fixed;
	struct netobj_proxy p;
	struct sbuf spec = SBUF_INIT;
	char err[256];
	unsigned containers, lb;

	if (netobj_networks(json, size, &nets, err, sizeof(err)) == 0) {
		struct netplan_net **all = calloc(nets.n + 1, sizeof(*all));

		if (!all)
			abort();
		for (size_t i = 0; i < nets.n; i++) {
			all[i] = &nets.nets[i];
			sink += strlen(nets.nets[i].id) + strlen(nets.nets[i].name) +
				(nets.nets[i].stack ? strlen(nets.nets[i].stack) : 0);
		}
		/* the same bytes as a service list, counted against themselves */
		netobj_count_users(json, size, all, nets.n, err, sizeof(err));
		free(all);
		netobj_nets_free(&nets);
	}
	netobj_network_containers(json, size, &containers, &lb, err, sizeof(err));

	if (netobj_proxy(json, size, &p, err, sizeof(err)) == 0) {
		struct netplan_use *uses = calloc(p.nattached + 1, sizeof(*uses));
		struct netplan_in in = { 0 };
		struct netplan_out out;

		if (!uses || netobj_networks(base_networks, sizeof(base_networks) - 1, &fixed,
					     err, sizeof(err)) < 0)
			abort();
		for (size_t i = 0; i < p.nattached; i++) {
			uses[i].network = p.attached[i];
			uses[i].users = (unsigned)(i % 3);
			uses[i].idle_since_ms = (int64_t)(i * 1000);
			uses[i].owner = i % 2 ? "ssp5m" : "service:x";
			uses[i].stack = i % 2 ? "ssp5m" : NULL;
		}
		in.nets = fixed.nets;
		in.nnets = fixed.n;
		in.uses = uses;
		in.nuses = p.nattached;
		in.attached = p.attached;
		in.nattached = p.nattached;
		in.managed = p.managed;
		in.nmanaged = p.nmanaged;
		in.detached = p.detached;
		in.ndetached = p.ndetached;
		in.now_ms = 5000;
		in.grace_ms = 3000;
		in.fold_ms = 1000;
		in.updates_ms = p.updates_ms;
		in.nupdates = p.nupdates;
		in.wall_ms = 1764640000000;
		in.max_updates = 2;
		in.window_ms = 600000;
		if (netplan_decide(&in, &out) == 0) {
			for (size_t i = 0; i < out.nrows; i++)
				sink += strlen(out.rows[i].name) + out.rows[i].state;
			netobj_proxy_spec(json, size, out.attached, out.nattached, out.managed,
					  out.nmanaged, out.detached, out.ndetached,
					  out.updates, out.nupdates, &spec,
					  err, sizeof(err));
			netplan_release(&out);
		}
		free(uses);
		netobj_nets_free(&fixed);
		netobj_proxy_free(&p);
	}
	sbuf_free(&spec);
	return 0;
}
