/* Readers of swarm services, tasks, nodes and networks. */
#include <string.h>

#include "common/netaddr.h"
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
		el = jscan_open_array(s);
		for (int i = 0; el == 1 && (el = jscan_next_element(s)) == 1; i++) {
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

		if (inner == 1) {
			svc->replicated = 1;
			svc->replicas = 1;   /* Docker's default when Replicas is absent */
		}
		while (inner == 1 && (inner = jscan_next_known(s, replicas, &which)) == 1)
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
	const char **const strs[] = { &svc->name, NULL };
	int rc, which, r;

	rc = dockerobj_enter(s, "Spec is not an object", reason);
	if (rc <= 0)
		return rc;
	while ((rc = dockerobj_next(s, a, names, strs, &which, reason)) == 1) {
		if (which == 1)
			r = dockerobj_labels(s, a, &svc->labels, &svc->nlabels, reason);
		else if (which == 2)
			r = jscan_path(s, hc_path, dockerswarm_healthcheck, svc);
		else
			r = dockerswarm_mode(s, svc, reason);
		if (r < 0)
			return -1;
	}
	return rc;
}

/* One Endpoint.VirtualIPs entry into <rec>, a struct model_netattach: one
 * we cannot read is left out, the service stays.
 */
static int dockerswarm_vip(struct jscan *s, struct arena *a, void *rec, void *arg)
{
	static const char *const names[] = { "NetworkID", "Addr", NULL };
	struct model_netattach *vip = rec;
	const char *addr = NULL, *why = NULL;
	const char **const strs[] = { &vip->network_id, &addr, NULL };
	int rc, which;

	rc = jscan_open_object(s);
	if (rc > 0)
		rc = dockerobj_next(s, a, names, strs, &which, &why);
	if (rc < 0)
		return -1;
	return vip->network_id && addr && netaddr_parse_cidr(&vip->addr, addr) == 0;
}

static int dockerswarm_endpoint(struct jscan *s, struct arena *a, struct dockerswarm_service *svc)
{
	static const char *const names[] = { "VirtualIPs", "Ports", NULL };
	void *v;
	int rc, which;

	rc = jscan_open_object(s);
	if (rc <= 0)
		return rc;
	while ((rc = jscan_next_known(s, names, &which)) == 1) {
		/* a repeated member: the last one wins, whole */
		if (which == 0) {
			if (dockerobj_array(s, a, sizeof(*svc->vips), dockerswarm_vip, NULL, &v,
					    &svc->nvips) < 0)
				return -1;
			svc->vips = v;
		} else if (dockerobj_ports(s, a, &svc->ports, &svc->nports) < 0) {
			return -1;
		}
	}
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
	const char **const strs[] = { &out->id, &created, NULL };
	int rc, which, r;

	memset(out, 0, sizeof(*out));
	rc = dockerobj_enter(s, "not an object", reason);
	if (rc <= 0)
		return rc;
	while ((rc = dockerobj_next(s, a, names, strs, &which, reason)) == 1) {
		if (which == 2)
			r = dockerswarm_spec(s, a, out, reason);
		else if (which == 3)
			r = dockerswarm_endpoint(s, a, out);
		else
			r = jscan_path(s, state, dockerswarm_update_state, out);
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
	const char **const strs[] = { &t->state, &ts, NULL };
	int rc, which;

	rc = dockerobj_enter(s, "Status is not an object", reason);
	if (rc <= 0)
		return rc;
	while ((rc = dockerobj_next(s, a, names, strs, &which, reason)) == 1)
		if (jscan_path(s, ports, dockerswarm_task_ports, &ctx) < 0)
			return -1;
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
	const char **const strs[] = { &out->id, &out->service_id, &out->node_id, &out->desired, NULL };
	int rc, which;

	memset(out, 0, sizeof(*out));
	rc = dockerobj_enter(s, "not an object", reason);
	if (rc <= 0)
		return rc;
	while ((rc = dockerobj_next(s, a, names, strs, &which, reason)) == 1)
		if ((which == 4 ? dockerswarm_status(s, a, out, reason) :
		     dockerobj_attachments(s, a, &out->nets, &out->nnets)) < 0)
			return -1;
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
	const char *end;

	if (!hostport)
		return;
	if (hostport[0] == '[') {
		end = strchr(hostport, ']');
		if (end && netaddr_parse(out, hostport + 1, (size_t)(end - hostport - 1)) < 0)
			out->family = 0;
		return;
	}
	end = strrchr(hostport, ':');
	if (netaddr_parse(out, hostport, end ? (size_t)(end - hostport) : strlen(hostport)) < 0)
		out->family = 0;
}

/* Spec: {"Role", "Availability"}, and Status: {"State", "Addr"}. Words
 * Docker may add later read as unknown.
 */
static int dockerswarm_node_part(struct jscan *s, struct arena *a, int status,
				 struct model_node *out, const char **addr, const char **reason)
{
	static const char *const spec[] = { "Role", "Availability", NULL };
	static const char *const stat[] = { "Addr", "State", NULL };
	/* in the order of their enums, after UNKNOWN */
	static const char *const roles[] = { "worker", "manager", NULL };
	static const char *const avails[] = { "active", "pause", "drain", NULL };
	static const char *const states[] = { "ready", "down", "disconnected", NULL };
	const char **const strs[] = { addr, NULL };
	int rc, which, word;

	rc = jscan_open_object(s);
	if (rc <= 0)
		return rc;
	while ((rc = dockerobj_next(s, a, status ? stat : spec, status ? strs : NULL,
				    &which, reason)) == 1) {
		if (dockerobj_enum(s, status ? states : which == 0 ? roles : avails, &word) < 0)
			return -1;
		if (status)
			out->state = (enum model_node_state)(word + 1);
		else if (which == 0)
			out->role = (enum model_node_role)(word + 1);
		else
			out->availability = (enum model_node_avail)(word + 1);
	}
	return rc;
}

int dockerswarm_node(struct jscan *s, struct arena *a, struct model_node *out,
		     const char **reason)
{
	static const char *const names[] = {
		"ID", "Spec", "Status", "Description", "ManagerStatus", NULL
	};
	static const char *const hostname[] = { "Hostname", NULL };
	static const char *const addr[] = { "Addr", NULL };
	const char *status_addr = NULL, *manager = NULL;
	const char **const strs[] = { &out->id, NULL };
	int rc, which, r;

	memset(out, 0, sizeof(*out));
	rc = dockerobj_enter(s, "not an object", reason);
	if (rc <= 0)
		return rc;
	while ((rc = dockerobj_next(s, a, names, strs, &which, reason)) == 1) {
		if (which <= 2)
			r = dockerswarm_node_part(s, a, which == 2, out, &status_addr, reason);
		else
			r = dockerobj_path_str(s, which == 3 ? hostname : addr, a,
					       which == 3 ? &out->hostname : &manager, reason);
		if (r < 0)
			return -1;
	}
	if (rc < 0)
		return -1;
	if (!*reason && (!out->id || !*out->id))
		*reason = "no ID";
	if (status_addr && netaddr_parse(&out->addr, status_addr, strlen(status_addr)) < 0)
		out->addr.family = 0;
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
	const char **const strs[] = { &out->id, &out->name, NULL };
	int rc, which;

	memset(out, 0, sizeof(*out));
	rc = dockerobj_enter(s, "not an object", reason);
	if (rc > 0)
		rc = dockerobj_next(s, a, names, strs, &which, reason);
	if (rc < 0)
		return -1;
	if (!*reason && (!out->id || !*out->id))
		*reason = "no ID";
	return 0;
}
