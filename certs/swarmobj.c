/* Docker objects of the certificate manager: configs, secrets, tasks and
 * the agent's own service. The answers are small (one service's tasks, one
 * config) and the service's spec is written back, so they are read with
 * jansson.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "certs/pem.h"
#include "certs/swarmobj.h"
#include "common/sbuf.h"
#include "dockerapi/dockerjson.h"

#define SWARMOBJ_MAX_SECRETS 256

/* The object of the list answer <list> whose "Spec"."Name" is <name>, or
 * NULL.
 */
static json_t *swarmobj_named(json_t *list, const char *name)
{
	json_t *obj;
	size_t i;

	json_array_foreach(list, i, obj) {
		const char *n = dockerjson_str(json_object_get(obj, "Spec"), "Name");

		if (n && strcmp(n, name) == 0)
			return obj;
	}
	return NULL;
}

int swarmobj_config_data(const char *json, size_t len, const char *name, struct sbuf *out,
			 char *err, size_t errlen)
{
	json_t *root = dockerjson_load_list(json, len, "configs", err, errlen), *cfg;
	const char *data;
	unsigned char *bin;
	size_t dlen;
	long got;
	int ret = -1;

	if (!root)
		return -1;
	cfg = swarmobj_named(root, name);
	if (!cfg) {
		ret = 0;
		goto out;
	}
	data = dockerjson_str(json_object_get(cfg, "Spec"), "Data");
	if (!data) {
		snprintf(err, errlen, "config %s has no data", name);
		goto out;
	}
	dlen = strlen(data);
	if (dlen / 4 * 3 > PEM_MAX_INPUT) {
		snprintf(err, errlen, "config %s is larger than 1 MB: not a certificate", name);
		goto out;
	}
	bin = malloc(dlen / 4 * 3 + 3);
	if (!bin) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	got = pem_base64_decode(data, dlen, bin, dlen / 4 * 3 + 3);
	if (got < 0) {
		snprintf(err, errlen, "config %s: its data is not base64", name);
		free(bin);
		goto out;
	}
	sbuf_reset(out);
	sbuf_add(out, (const char *)bin, (size_t)got);
	free(bin);
	ret = out->oom ? -1 : 1;
	if (out->oom)
		snprintf(err, errlen, "out of memory");
out:
	json_decref(root);
	return ret;
}

int swarmobj_secret_id(const char *json, size_t len, const char *name, char *id, size_t idlen,
		       char *err, size_t errlen)
{
	json_t *root = dockerjson_load_list(json, len, "secrets", err, errlen);
	const char *sid;
	int ret = 0;

	if (!root)
		return -1;
	sid = dockerjson_str(swarmobj_named(root, name), "ID");
	if (sid && strlen(sid) >= idlen) {
		snprintf(err, errlen, "secret %s has an overlong ID", name);
		ret = -1;
	} else if (sid) {
		strcpy(id, sid);
		ret = 1;
	}
	json_decref(root);
	return ret;
}

/************************************************************************/
/*                      the agent's own secrets                         */
/************************************************************************/

/* The entry of <want> named <name>, or NULL. */
static const struct swarmobj_secret *swarmobj_wanted(const struct swarmobj_secret *want, size_t n,
						     const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(want[i].name, name) == 0)
			return &want[i];
	return NULL;
}

/* Whether <name> is in the comma list <list>. */
static int swarmobj_in_list(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len == n && memcmp(p, name, n) == 0)
			return 1;
		p = comma ? comma + 1 : NULL;
	}
	return 0;
}

static json_t *swarmobj_secret_ref(const struct swarmobj_secret *s,
				   const struct swarmobj_owner *owner)
{
	char uid[16], gid[16];

	snprintf(uid, sizeof(uid), "%u", owner->uid);
	snprintf(gid, sizeof(gid), "%u", owner->gid);
	return json_pack("{s:{s:s,s:s,s:s,s:i},s:s,s:s}",
			 "File", "Name", s->name, "UID", uid, "GID", gid, "Mode", 0400,
			 "SecretID", s->id, "SecretName", s->name);
}

static int swarmobj_mounted(json_t *secrets, const char *name)
{
	json_t *s;
	size_t i;

	json_array_foreach(secrets, i, s) {
		const char *n = dockerjson_str(s, "SecretName");

		if (n && strcmp(n, name) == 0)
			return 1;
	}
	return 0;
}

int swarmobj_service_secrets(const char *json, size_t len, const struct swarmobj_secret *want,
			     size_t n, const struct swarmobj_owner *owner, struct sbuf *spec, char *id, size_t idlen,
			     uint64_t *version, unsigned *added, unsigned *removed,
			     char *err, size_t errlen)
{
	json_t *root = dockerjson_load(json, len, err, errlen);
	json_t *jspec, *cspec, *secrets, *labels, *kept = NULL, *s, *jversion;
	const char *sid, *managed;
	struct sbuf list = SBUF_INIT;
	size_t i;
	int ret = -1;

	*added = *removed = 0;
	if (!root)
		return -1;
	sid = dockerjson_str(root, "ID");
	jversion = json_object_get(json_object_get(root, "Version"), "Index");
	jspec = json_object_get(root, "Spec");
	cspec = json_object_get(json_object_get(jspec, "TaskTemplate"), "ContainerSpec");
	if (!sid || !json_is_object(cspec) || !json_is_integer(jversion)) {
		snprintf(err, errlen, "unexpected service answer (no ID, version or container spec)");
		goto out;
	}
	if (strlen(sid) >= idlen || n > SWARMOBJ_MAX_SECRETS) {
		snprintf(err, errlen, "overlong service ID or too many secrets");
		goto out;
	}
	strcpy(id, sid);
	*version = (uint64_t)json_integer_value(jversion);
	labels = json_object_get(jspec, "Labels");
	managed = dockerjson_str(labels, SWARMOBJ_MANAGED_LABEL);
	secrets = json_object_get(cspec, "Secrets");

	/* what stays: the operator's secrets, ours still wanted */
	kept = json_array();
	if (!kept)
		goto out_oom;
	json_array_foreach(secrets, i, s) {
		const char *name = dockerjson_str(s, "SecretName");
		int ours = name && managed && swarmobj_in_list(managed, name);

		if (ours && !swarmobj_wanted(want, n, name)) {
			(*removed)++;
			continue;
		}
		if (ours)
			sbuf_printf(&list, "%s%s", list.len ? "," : "", name);
		if (json_array_append(kept, s) < 0)
			goto out_oom;
	}
	/* what comes: wanted, not mounted, and known to Docker */
	for (i = 0; i < n; i++) {
		json_t *ref;

		if (!want[i].id || swarmobj_mounted(secrets, want[i].name))
			continue;
		ref = swarmobj_secret_ref(&want[i], owner);
		if (!ref || json_array_append_new(kept, ref) < 0)
			goto out_oom;
		sbuf_printf(&list, "%s%s", list.len ? "," : "", want[i].name);
		(*added)++;
	}
	if (!*added && !*removed) {
		ret = 0;
		goto out;
	}
	if (json_object_set(cspec, "Secrets", kept) < 0)
		goto out_oom;
	labels = dockerjson_labels(jspec);
	if (!labels || list.oom ||
	    json_object_set_new(labels, SWARMOBJ_MANAGED_LABEL,
				json_string(list.buf ? list.buf : "")) < 0 ||
	    dockerjson_dump(jspec, spec) < 0)
		goto out_oom;
	ret = 1;
	goto out;

out_oom:
	snprintf(err, errlen, "out of memory");
	ret = -1;
out:
	sbuf_free(&list);
	json_decref(kept);
	json_decref(root);
	return ret;
}
