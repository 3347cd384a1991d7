/* Readers of swarm services, tasks, nodes and networks. */
#include <string.h>

#include "common/arena.h"
#include "common/jscan.h"
#include "dockerapi/dockerobj.h"
#include "dockerapi/dockerswarm.h"

/************************************************************************/
/*                               services                               */
/************************************************************************/

/* Healthcheck.Test: ["NONE"] disables the image's check, another test
 * declares one; an empty test inherits the image's, which is not seen here.
 */
static int dockerswarm_healthcheck(struct jscan *s, void *arg)
{
	static const char *const names[] = { "Test", NULL };
	static const char *const none[] = { "NONE", NULL };
	struct dockerswarm_service *svc = arg;
	int rc, which, el, word;

	rc = jscan_open_object(s);
	if (rc <= 0)
		return rc;
	while ((rc = jscan_next_known(s, names, &which)) == 1) {
		if (jscan_peek(s) != JSCAN_ARRAY) {
			if (jscan_skip(s) < 0)
				return -1;
			continue;
		}
		if (jscan_enter_array(s) < 0)
			return -1;
		for (int i = 0; (el = jscan_next_element(s)) == 1; i++) {
			if (i == 0 && jscan_peek(s) == JSCAN_STRING) {
				if (dockerobj_enum(s, none, &word) < 0)
					return -1;
				svc->has_healthcheck = word != 0;
			} else if (jscan_skip(s) < 0) {
				return -1;
			}
		}
		if (el < 0)
			return -1;
	}
	return rc;
}

/* Spec.Mode: {"Replicated": {"Replicas": n}}, {"Global": {}}, or the job
 * modes, whose task counts cannot be predicted either.
 */
static int dockerswarm_mode(struct jscan *s, struct dockerswarm_service *svc, const char **reason)
{
	static const char *const names[] = { "Replicated", NULL };
	static const char *const replicas[] = { "Replicas", NULL };
	int rc, which;

	rc = jscan_open_object(s);
	if (rc <= 0)
		return rc;
	while ((rc = jscan_next_known(s, names, &which)) == 1) {
		int inner = jscan_open_object(s);

		if (inner < 0)
			return -1;
		if (inner == 0)
			continue;
		svc->replicated = 1;
		svc->replicas = 1;   /* Docker's default when Replicas is absent */
		while ((inner = jscan_next_known(s, replicas, &which)) == 1)
			if (dockerobj_int(s, &svc->replicas, reason) < 0)
				return -1;
		if (inner < 0)
			return -1;
	}
	return rc;
}

static int dockerswarm_spec(struct jscan *s, struct arena *a, struct dockerswarm_service *svc,
			    const char **reason)
{
	static const char *const names[] = { "Name", "Labels", "TaskTemplate", "Mode", NULL };
	static const char *const hc_path[] = { "ContainerSpec", "Healthcheck", NULL };
	int rc, which;

	if (jscan_peek(s) != JSCAN_OBJECT) {
		*reason = "Spec is not an object";
		return jscan_skip(s);
	}
	if (jscan_enter_object(s) < 0)
		return -1;
	while ((rc = jscan_next_known(s, names, &which)) == 1) {
		int r;

		switch (which) {
		case 0:
			r = dockerobj_str(s, a, &svc->name, reason);
			break;
		case 1:
			r = dockerobj_labels(s, a, &svc->labels, &svc->nlabels, reason);
			break;
		case 2:
			r = jscan_path(s, hc_path, dockerswarm_healthcheck, svc);
			break;
		default:
			r = dockerswarm_mode(s, svc, reason);
			break;
		}
		if (r < 0)
			return -1;
	}
	return rc;
}

/* One Endpoint.VirtualIPs entry; one we cannot read keeps family 0. */
static int dockerswarm_vip(struct jscan *s, struct arena *a, struct model_netattach *vip)
{
	static const char *const names[] = { "NetworkID", "Addr", NULL };
	const char *addr = NULL, *why = NULL;
	int rc, which;

	rc = jscan_open_object(s);
	if (rc <= 0)
		return rc;
	while ((rc = jscan_next_known(s, names, &which)) == 1)
		if (dockerobj_str(s, a, which == 0 ? &vip->network_id : &addr, &why) < 0)
			return -1;
	/* a VIP we cannot read is left out, the service stays */
	if (rc == 0 && (!vip->network_id || !addr || netaddr_parse_cidr(&vip->addr, addr) < 0))
		vip->addr.family = 0;
	return rc;
}

static int dockerswarm_vips(struct jscan *s, struct arena *a, struct dockerswarm_service *svc)
{
	struct jscan probe;
	size_t count = 0;
	int el;

	if (jscan_peek(s) != JSCAN_ARRAY)
		return jscan_skip(s);
	if (jscan_enter_array(s) < 0)
		return -1;
	probe = *s;
	while (jscan_next_element(&probe) == 1 && jscan_skip(&probe) == 0)
		count++;
	/* a repeated "VirtualIPs" key: the last one wins, whole */
	svc->nvips = 0;
	svc->vips = count ? arena_calloc(a, count, sizeof(*svc->vips)) : NULL;
	if (count && !svc->vips)
		count = 0;
	while ((el = jscan_next_element(s)) == 1) {
		struct model_netattach vip = { 0 };

		if (dockerswarm_vip(s, a, &vip) < 0)
			return -1;
		if (vip.addr.family && svc->nvips < count)
			svc->vips[svc->nvips++] = vip;
	}
	return el;
}

static int dockerswarm_endpoint(struct jscan *s, struct arena *a, struct dockerswarm_service *svc)
{
	static const char *const names[] = { "VirtualIPs", "Ports", NULL };
	int rc, which;

	rc = jscan_open_object(s);
	if (rc <= 0)
		return rc;
	while ((rc = jscan_next_known(s, names, &which)) == 1)
		if ((which == 0 ? dockerswarm_vips(s, a, svc) :
		     dockerobj_ports(s, a, &svc->ports, &svc->nports)) < 0)
			return -1;
	return rc;
}

/* UpdateStatus.State */
static int dockerswarm_update_state(struct jscan *s, void *arg)
{
	static const char *const moving[] = { "updating", "rollback_started", NULL };
	struct dockerswarm_service *svc = arg;
	int state;

	if (dockerobj_enum(s, moving, &state) < 0)
		return -1;
	svc->updating = state >= 0;
	return 0;
}

int dockerswarm_service(struct jscan *s, struct arena *a, struct dockerswarm_service *out,
			const char **reason)
{
	static const char *const names[] = {
		"ID", "CreatedAt", "Spec", "Endpoint", "UpdateStatus", NULL
	};
	static const char *const state[] = { "State", NULL };
	const char *created = NULL;
	int rc, which;

	memset(out, 0, sizeof(*out));
	if (jscan_peek(s) != JSCAN_OBJECT) {
		*reason = "not an object";
		return jscan_skip(s);
	}
	if (jscan_enter_object(s) < 0)
		return -1;
	while ((rc = jscan_next_known(s, names, &which)) == 1) {
		int r;

		switch (which) {
		case 0:
			r = dockerobj_str(s, a, &out->id, reason);
			break;
		case 1:
			r = dockerobj_str(s, a, &created, reason);
			break;
		case 2:
			r = dockerswarm_spec(s, a, out, reason);
			break;
		case 3:
			r = dockerswarm_endpoint(s, a, out);
			break;
		default:
			r = jscan_path(s, state, dockerswarm_update_state, out);
			break;
		}
		if (r < 0)
			return -1;
	}
	if (rc < 0)
		return -1;
	if (!*reason && (!out->id || !*out->id))
		*reason = "no ID";
	if (!*reason && (!out->name || !*out->name))
		*reason = "no Spec.Name";
	out->created_ms = created ? dockerobj_time_ms(created) : 0;
	if (out->created_ms < 0)
		out->created_ms = 0;
	return 0;
}

/************************************************************************/
/*                                tasks                                 */
/************************************************************************/

struct dockerswarm_task_ctx {
	struct arena *a;
	struct dockerswarm_task *t;
};

/* Status.PortStatus.Ports */
static int dockerswarm_task_ports(struct jscan *s, void *arg)
{
	struct dockerswarm_task_ctx *c = arg;

	return dockerobj_ports(s, c->a, &c->t->ports, &c->t->nports);
}

static int dockerswarm_status(struct jscan *s, struct arena *a, struct dockerswarm_task *t,
			      const char **reason)
{
	static const char *const names[] = { "State", "Timestamp", "PortStatus", NULL };
	static const char *const ports[] = { "Ports", NULL };
	struct dockerswarm_task_ctx ctx = { a, t };
	const char *ts = NULL;
	int rc, which;

	if (jscan_peek(s) != JSCAN_OBJECT) {
		*reason = "Status is not an object";
		return jscan_skip(s);
	}
	if (jscan_enter_object(s) < 0)
		return -1;
	while ((rc = jscan_next_known(s, names, &which)) == 1) {
		int r;

		if (which == 0)
			r = dockerobj_str(s, a, &t->state, reason);
		else if (which == 1)
			r = dockerobj_str(s, a, &ts, reason);
		else
			r = jscan_path(s, ports, dockerswarm_task_ports, &ctx);
		if (r < 0)
			return -1;
	}
	if (ts) {
		t->since_ms = dockerobj_time_ms(ts);
		if (t->since_ms < 0)
			t->since_ms = 0;
	}
	return rc;
}

int dockerswarm_task(struct jscan *s, struct arena *a, struct dockerswarm_task *out,
		     const char **reason)
{
	static const char *const names[] = {
		"ID", "ServiceID", "NodeID", "DesiredState", "Status", "NetworksAttachments", NULL
	};
	int rc, which;

	memset(out, 0, sizeof(*out));
	if (jscan_peek(s) != JSCAN_OBJECT) {
		*reason = "not an object";
		return jscan_skip(s);
	}
	if (jscan_enter_object(s) < 0)
		return -1;
	while ((rc = jscan_next_known(s, names, &which)) == 1) {
		int r;

		switch (which) {
		case 0:
			r = dockerobj_str(s, a, &out->id, reason);
			break;
		case 1:
			r = dockerobj_str(s, a, &out->service_id, reason);
			break;
		case 2:
			r = dockerobj_str(s, a, &out->node_id, reason);
			break;
		case 3:
			r = dockerobj_str(s, a, &out->desired, reason);
			break;
		case 4:
			r = dockerswarm_status(s, a, out, reason);
			break;
		default:
			r = dockerobj_attachments(s, a, &out->nets, &out->nnets);
			break;
		}
		if (r < 0)
			return -1;
	}
	if (rc < 0)
		return -1;
	if (!*reason && (!out->id || !*out->id))
		*reason = "no ID";
	if (!*reason && !out->state)
		*reason = "no Status.State";
	if (!out->desired)
		out->desired = "";
	return 0;
}

/************************************************************************/
/*                                nodes                                 */
/************************************************************************/

/* The host of "10.0.0.5:2377" or "[fd00::5]:2377" into <out>. */
static void dockerswarm_host(const char *hostport, struct netaddr *out)
{
	const char *colon;

	if (!hostport)
		return;
	if (hostport[0] == '[') {
		colon = strchr(hostport, ']');
		if (colon && netaddr_parse(out, hostport + 1, (size_t)(colon - hostport - 1)) < 0)
			out->family = 0;
		return;
	}
	colon = strrchr(hostport, ':');
	if (netaddr_parse(out, hostport, colon ? (size_t)(colon - hostport) : strlen(hostport)) < 0)
		out->family = 0;
}

/* Spec: {"Role", "Availability"} */
static int dockerswarm_node_spec(struct jscan *s, struct model_node *out)
{
	static const char *const names[] = { "Role", "Availability", NULL };
	/* in the order of enum model_node_role and enum model_node_avail, after UNKNOWN */
	static const char *const roles[] = { "worker", "manager", NULL };
	static const char *const avails[] = { "active", "pause", "drain", NULL };
	int rc, which, word;

	rc = jscan_open_object(s);
	if (rc <= 0)
		return rc;
	while ((rc = jscan_next_known(s, names, &which)) == 1) {
		if (dockerobj_enum(s, which == 0 ? roles : avails, &word) < 0)
			return -1;
		if (which == 0)
			out->role = (enum model_node_role)(word + 1);
		else
			out->availability = (enum model_node_avail)(word + 1);
	}
	return rc;
}

/* Status: {"State", "Addr"} */
static int dockerswarm_node_status(struct jscan *s, struct arena *a, struct model_node *out,
				   const char **reason)
{
	static const char *const names[] = { "State", "Addr", NULL };
	/* in the order of enum model_node_state, after UNKNOWN */
	static const char *const states[] = { "ready", "down", "disconnected", NULL };
	const char *addr = NULL;
	int rc, which, word;

	rc = jscan_open_object(s);
	if (rc <= 0)
		return rc;
	while ((rc = jscan_next_known(s, names, &which)) == 1) {
		if (which == 0) {
			if (dockerobj_enum(s, states, &word) < 0)
				return -1;
			out->state = (enum model_node_state)(word + 1);
		} else if (dockerobj_str(s, a, &addr, reason) < 0) {
			return -1;
		}
	}
	if (addr && netaddr_parse(&out->addr, addr, strlen(addr)) < 0)
		out->addr.family = 0;
	return rc;
}

int dockerswarm_node(struct jscan *s, struct arena *a, struct model_node *out,
		     const char **reason)
{
	static const char *const names[] = {
		"ID", "Spec", "Description", "Status", "ManagerStatus", NULL
	};
	static const char *const hostname[] = { "Hostname", NULL };
	static const char *const addr[] = { "Addr", NULL };
	const char *manager = NULL;
	int rc, which;

	memset(out, 0, sizeof(*out));
	if (jscan_peek(s) != JSCAN_OBJECT) {
		*reason = "not an object";
		return jscan_skip(s);
	}
	if (jscan_enter_object(s) < 0)
		return -1;
	while ((rc = jscan_next_known(s, names, &which)) == 1) {
		int r;

		switch (which) {
		case 0:
			r = dockerobj_str(s, a, &out->id, reason);
			break;
		case 1:
			r = dockerswarm_node_spec(s, out);
			break;
		case 2:
			r = dockerobj_path_str(s, hostname, a, &out->hostname, reason);
			break;
		case 3:
			r = dockerswarm_node_status(s, a, out, reason);
			break;
		default:
			r = dockerobj_path_str(s, addr, a, &manager, reason);
			break;
		}
		if (r < 0)
			return -1;
	}
	if (rc < 0)
		return -1;
	if (!*reason && (!out->id || !*out->id))
		*reason = "no ID";
	dockerswarm_host(manager, &out->manager_addr);
	return 0;
}

/************************************************************************/
/*                               networks                               */
/************************************************************************/

int dockerswarm_network(struct jscan *s, struct arena *a, struct dockerswarm_network *out,
			const char **reason)
{
	static const char *const names[] = { "Id", "Name", NULL };
	int rc, which;

	memset(out, 0, sizeof(*out));
	if (jscan_peek(s) != JSCAN_OBJECT) {
		*reason = "not an object";
		return jscan_skip(s);
	}
	if (jscan_enter_object(s) < 0)
		return -1;
	while ((rc = jscan_next_known(s, names, &which)) == 1)
		if (dockerobj_str(s, a, which == 0 ? &out->id : &out->name, reason) < 0)
			return -1;
	if (rc < 0)
		return -1;
	if (!*reason && (!out->id || !*out->id))
		*reason = "no ID";
	return 0;
}
