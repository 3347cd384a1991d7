/* Docker objects of the network manager: networks, the proxy service, the
 * users of a network. Read and written with jansson (see netobj.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "common/arena.h"
#include "common/sbuf.h"
#include "dockerapi/dockerjson.h"
#include "dockerapi/dockerobj.h"
#include "netmgr/netobj.h"

#define NETOBJ_ARENA_CHUNK  4096
#define NETOBJ_MAX_LIST     4096   /* entries of a label list: far more than any proxy joins */

static int netobj_oom(char *err, size_t errlen)
{
	snprintf(err, errlen, "out of memory");
	return -1;
}

/************************************************************************/
/*                              networks                                */
/************************************************************************/

int netobj_networks(const char *json, size_t len, struct netobj_nets *out,
		    char *err, size_t errlen)
{
	json_t *root = dockerjson_load_list(json, len, "networks", err, errlen), *net;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!root)
		return -1;
	out->arena = arena_new(NETOBJ_ARENA_CHUNK);
	out->nets = out->arena ? arena_calloc(out->arena, json_array_size(root) + 1,
					      sizeof(*out->nets)) : NULL;
	if (!out->nets)
		goto out_oom;
	json_array_foreach(root, i, net) {
		struct netplan_net *n = &out->nets[out->n];
		const char *id = dockerjson_str(net, "Id"), *name = dockerjson_str(net, "Name");
		const char *stack = dockerjson_str(json_object_get(net, "Labels"), NETPLAN_STACK_LABEL);
		const char *scope = dockerjson_str(net, "Scope");

		if (!id || !name || !*id)
			continue;
		n->id = arena_strdup(out->arena, id);
		n->name = arena_strdup(out->arena, name);
		n->stack = stack && *stack ? arena_strdup(out->arena, stack) : NULL;
		if (!n->id || !n->name || (stack && *stack && !n->stack))
			goto out_oom;
		n->swarm = scope && strcmp(scope, "swarm") == 0;
		n->ingress = json_is_true(json_object_get(net, "Ingress"));
		out->n++;
	}
	json_decref(root);
	return 0;

out_oom:
	netobj_oom(err, errlen);
	json_decref(root);
	netobj_nets_free(out);
	return -1;
}

void netobj_nets_free(struct netobj_nets *out)
{
	arena_free(out->arena);
	out->arena = NULL;
	out->nets = NULL;
	out->n = 0;
}

/************************************************************************/
/*                           the proxy service                          */
/************************************************************************/

/* The networks of a service spec: TaskTemplate.Networks, or Spec.Networks
 * as services created with API versions before 1.25 have them.
 */
static json_t *netobj_spec_networks(json_t *spec)
{
	json_t *nets = json_object_get(json_object_get(spec, "TaskTemplate"), "Networks");

	if (json_is_array(nets) && json_array_size(nets))
		return nets;
	return json_object_get(spec, "Networks");
}

/* Splits the comma list <s> into <*out> (in <a>). */
static int netobj_split(struct arena *a, const char *s, const char ***out, size_t *n)
{
	size_t most = 1;

	*out = NULL;
	*n = 0;
	if (!s || !*s)
		return 0;
	for (const char *p = s; *p; p++)
		most += *p == ',';
	if (most > NETOBJ_MAX_LIST)
		most = NETOBJ_MAX_LIST;
	*out = arena_calloc(a, most, sizeof(**out));
	if (!*out)
		return -1;
	for (const char *p = s; *p && *n < most;) {
		size_t l = strcspn(p, ",");

		if (l) {
			(*out)[*n] = arena_strndup(a, p, l);
			if (!(*out)[(*n)++])
				return -1;
		}
		p += l;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* Reads the comma list of wall-clock times <s> into <out>'s updates: at
 * most NETPLAN_UPDATES_MAX, anything but a positive decimal left out (the
 * label is the agents', but anyone updating the service may have touched
 * it). Returns 0 or -1.
 */
static int netobj_updates(struct arena *a, const char *s, struct netobj_proxy *out)
{
	out->updates_ms = arena_calloc(a, NETPLAN_UPDATES_MAX, sizeof(*out->updates_ms));
	if (!out->updates_ms)
		return -1;
	while (s && *s && out->nupdates < NETPLAN_UPDATES_MAX) {
		size_t l = strcspn(s, ",");
		int64_t v = 0;
		size_t i;

		for (i = 0; i < l && i < 18 && s[i] >= '0' && s[i] <= '9'; i++)
			v = v * 10 + (s[i] - '0');
		if (i == l && v > 0)
			out->updates_ms[out->nupdates++] = v;
		s += l;
		if (*s == ',')
			s++;
	}
	return 0;
}

int netobj_proxy(const char *json, size_t len, struct netobj_proxy *out, char *err, size_t errlen)
{
	json_t *root = dockerjson_load(json, len, err, errlen), *spec, *labels, *nets, *n, *status;
	const char *id, *name, *state;
	json_t *version;
	int64_t when;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!root)
		return -1;
	id = dockerjson_str(root, "ID");
	spec = json_object_get(root, "Spec");
	name = dockerjson_str(spec, "Name");
	version = json_object_get(json_object_get(root, "Version"), "Index");
	if (!id || !name || !json_is_integer(version) || json_integer_value(version) < 0 ||
	    !json_is_object(json_object_get(spec, "TaskTemplate"))) {
		snprintf(err, errlen, "unexpected service answer (no ID, name, version or task template)");
		goto out_fail;
	}
	out->arena = arena_new(NETOBJ_ARENA_CHUNK);
	if (!out->arena)
		goto out_oom;
	out->id = arena_strdup(out->arena, id);
	out->name = arena_strdup(out->arena, name);
	out->version = (uint64_t)json_integer_value(version);
	status = json_object_get(root, "UpdateStatus");
	state = dockerjson_str(status, "State");
	out->update_state = arena_strdup(out->arena, state ? state : "");
	when = dockerobj_time_ms(dockerjson_str(status, "CompletedAt"));
	if (when <= 0)
		when = dockerobj_time_ms(dockerjson_str(status, "StartedAt"));
	out->update_ms = when > 0 ? when : 0;
	if (!out->id || !out->name || !out->update_state)
		goto out_oom;

	nets = netobj_spec_networks(spec);
	out->attached = arena_calloc(out->arena, json_array_size(nets) + 1, sizeof(*out->attached));
	if (!out->attached)
		goto out_oom;
	json_array_foreach(nets, i, n) {
		const char *target = dockerjson_str(n, "Target");

		if (!target || !*target)
			continue;
		out->attached[out->nattached] = arena_strdup(out->arena, target);
		if (!out->attached[out->nattached++])
			goto out_oom;
	}
	labels = json_object_get(spec, "Labels");
	if (netobj_split(out->arena, dockerjson_str(labels, NETPLAN_MANAGED_LABEL),
			 &out->managed, &out->nmanaged) < 0 ||
	    netobj_split(out->arena, dockerjson_str(labels, NETPLAN_DETACHED_LABEL),
			 &out->detached, &out->ndetached) < 0 ||
	    netobj_updates(out->arena, dockerjson_str(labels, NETPLAN_UPDATES_LABEL), out) < 0)
		goto out_oom;
	json_decref(root);
	return 0;

out_oom:
	netobj_oom(err, errlen);
out_fail:
	json_decref(root);
	netobj_proxy_free(out);
	return -1;
}

void netobj_proxy_free(struct netobj_proxy *p)
{
	arena_free(p->arena);
	memset(p, 0, sizeof(*p));
}

/* Sets label <key> of <labels> to the comma list <ids>, or removes it. */
static int netobj_set_list(json_t *labels, const char *key, const char *const *ids, size_t n)
{
	struct sbuf list = SBUF_INIT;
	int rc;

	if (!n) {
		json_object_del(labels, key);   /* absent already is fine */
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		sbuf_printf(&list, "%s%s", i ? "," : "", ids[i]);
	rc = list.oom ? -1 : json_object_set_new(labels, key, json_string(list.buf));
	sbuf_free(&list);
	return rc;
}

int netobj_proxy_spec(const char *json, size_t len,
		      const char *const *attached, size_t nattached,
		      const char *const *managed, size_t nmanaged,
		      const char *const *detached, size_t ndetached,
		      const int64_t *updates, size_t nupdates,
		      struct sbuf *spec, char *err, size_t errlen)
{
	char times[NETPLAN_UPDATES_MAX][24];
	const char *tlist[NETPLAN_UPDATES_MAX];
	json_t *root = dockerjson_load(json, len, err, errlen);
	json_t *jspec, *tmpl, *old, *nets = NULL, *labels, *n;
	size_t i;
	int ret = -1;

	if (!root)
		return -1;
	if (nupdates > NETPLAN_UPDATES_MAX)
		nupdates = NETPLAN_UPDATES_MAX;
	for (size_t k = 0; k < nupdates; k++) {
		snprintf(times[k], sizeof(times[k]), "%lld", (long long)updates[k]);
		tlist[k] = times[k];
	}
	jspec = json_object_get(root, "Spec");
	tmpl = json_object_get(jspec, "TaskTemplate");
	if (!json_is_object(tmpl)) {
		snprintf(err, errlen, "unexpected service answer (no task template)");
		goto out;
	}
	old = netobj_spec_networks(jspec);
	nets = json_array();
	if (!nets)
		goto out_oom;
	for (size_t k = 0; k < nattached; k++) {
		json_t *entry = NULL;

		json_array_foreach(old, i, n) {
			const char *target = dockerjson_str(n, "Target");

			if (target && strcmp(target, attached[k]) == 0) {
				entry = json_incref(n);
				break;
			}
		}
		if (!entry)
			entry = json_pack("{s:s}", "Target", attached[k]);
		if (!entry || json_array_append_new(nets, entry) < 0)
			goto out_oom;
	}
	/* the older place goes: one list, where current Docker keeps it */
	json_object_del(jspec, "Networks");
	if (json_object_set(tmpl, "Networks", nets) < 0)
		goto out_oom;
	labels = dockerjson_labels(jspec);
	if (!labels ||
	    netobj_set_list(labels, NETPLAN_MANAGED_LABEL, managed, nmanaged) < 0 ||
	    netobj_set_list(labels, NETPLAN_DETACHED_LABEL, detached, ndetached) < 0 ||
	    netobj_set_list(labels, NETPLAN_UPDATES_LABEL, tlist, nupdates) < 0 ||
	    dockerjson_dump(jspec, spec) < 0)
		goto out_oom;
	ret = 0;
	goto out;

out_oom:
	netobj_oom(err, errlen);
out:
	json_decref(nets);
	json_decref(root);
	return ret;
}

/************************************************************************/
/*                         who uses a network                           */
/************************************************************************/

int netobj_count_users(const char *json, size_t len, struct netplan_net *const *nets, size_t n,
		       char *err, size_t errlen)
{
	json_t *root = dockerjson_load_list(json, len, "services", err, errlen), *svc;
	size_t i;

	if (!root)
		return -1;
	for (size_t k = 0; k < n; k++)
		nets[k]->services = nets[k]->stack_services = 0;
	json_array_foreach(root, i, svc) {
		json_t *spec = json_object_get(svc, "Spec"), *snets = netobj_spec_networks(spec), *sn;
		const char *stack = dockerjson_str(json_object_get(spec, "Labels"), NETPLAN_STACK_LABEL);
		size_t j;

		for (size_t k = 0; k < n; k++) {
			if (stack && nets[k]->stack && strcmp(stack, nets[k]->stack) == 0)
				nets[k]->stack_services++;
			json_array_foreach(snets, j, sn) {
				const char *target = dockerjson_str(sn, "Target");

				if (target && (strcmp(target, nets[k]->id) == 0 ||
					       strcmp(target, nets[k]->name) == 0)) {
					nets[k]->services++;
					break;
				}
			}
		}
	}
	json_decref(root);
	return 0;
}

int netobj_network_containers(const char *json, size_t len, unsigned *containers,
			      unsigned *lb, char *err, size_t errlen)
{
	json_t *root = dockerjson_load(json, len, err, errlen), *c, *v;
	const char *key;

	if (!root)
		return -1;
	if (!json_is_object(root) || !dockerjson_str(root, "Id")) {
		snprintf(err, errlen, "unexpected network answer (no ID)");
		json_decref(root);
		return -1;
	}
	*containers = *lb = 0;
	c = json_object_get(root, "Containers");
	json_object_foreach(c, key, v) {
		if (strncmp(key, "lb-", 3) == 0)
			(*lb)++;
		else
			(*containers)++;
	}
	json_decref(root);
	return 0;
}
