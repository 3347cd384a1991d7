/* Swarm state: Engine API JSON in, service model out.
 *
 * Each service owns an arena for its spec. Tasks arrive in batches (one per
 * GET /tasks answer) that several services share: a batch is freed when the
 * last service using it moves to a newer one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/errlog.h"
#include "common/jscan.h"
#include "common/log.h"
#include "common/strmap.h"
#include "discovery/swarm.h"
#include "dockerapi/dockerobj.h"
#include "routing/model.h"

#define SWARM_STACK_LABEL "com.docker.stack.namespace"

struct swarm_batch {
	struct arena *arena;
	unsigned refs;
};

struct swarm_vip {
	const char *network_id;
	struct netaddr addr;
};

struct swarm_task {
	const char *id;
	const char *service_id;
	const char *node_id;
	const char *state;
	const char *desired;
	int64_t since_ms;
	size_t nnets;
	struct model_netattach *nets;   /* names from the attachment itself */
};

struct swarm_service {
	const char *id;
	struct arena *arena;            /* everything of the spec below */
	const char *name;
	const char *stack;
	int64_t created_ms;
	int has_healthcheck;
	int routed;
	int replicated;                 /* replica count known */
	int64_t replicas;
	int updating;                   /* a rolling update or rollback runs */
	size_t nlabels;
	struct model_label *labels;
	size_t nvips;
	struct swarm_vip *vips;

	struct swarm_batch *batch;      /* holds the tasks below */
	size_t ntasks;
	struct swarm_task **tasks;      /* sorted by ID */
	int tasks_known;                /* fetched since it became routed */
	int converged;
	int64_t converge_until_ms;      /* fast polling allowed until then */
	int64_t hint_after_ms;          /* hints are ignored until then */
	size_t fill;                    /* scratch while loading tasks */
};

struct swarm {
	struct strmap *services;        /* ID -> struct swarm_service */
	struct arena *net_arena;
	struct strmap *networks;        /* ID -> name */
	struct arena *node_arena;
	struct strmap *nodes;           /* ID -> host name */
	uint64_t skipped;
};

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                 */
/* ------------------------------------------------------------------------ */

static void batch_put(struct swarm_batch *b)
{
	if (b && --b->refs == 0) {
		arena_free(b->arena);
		free(b);
	}
}

static void service_free(struct swarm_service *svc)
{
	batch_put(svc->batch);
	arena_free(svc->arena);
	free(svc);
}

struct swarm *swarm_new(void)
{
	struct swarm *sw = calloc(1, sizeof(*sw));

	if (!sw)
		return NULL;
	sw->services = strmap_new();
	sw->networks = strmap_new();
	sw->nodes = strmap_new();
	if (!sw->services || !sw->networks || !sw->nodes) {
		swarm_free(sw);
		return NULL;
	}
	return sw;
}

static void swarm_clear_services(struct strmap *services)
{
	const char *key;
	void *val;
	size_t pos = 0;

	while (strmap_next(services, &pos, &key, &val))
		service_free(val);
	strmap_clear(services);
}

void swarm_free(struct swarm *sw)
{
	if (!sw)
		return;
	if (sw->services) {
		swarm_clear_services(sw->services);
		strmap_free(sw->services);
	}
	strmap_free(sw->networks);
	strmap_free(sw->nodes);
	arena_free(sw->net_arena);
	arena_free(sw->node_arena);
	free(sw);
}

/* ------------------------------------------------------------------------ */
/* Services                                                                  */
/* ------------------------------------------------------------------------ */

static void swarm_skip(struct swarm *sw, const char *what, const char *id, const char *reason)
{
	char subject[160];

	sw->skipped++;
	LOG(LL_WARN, "discovery", "skipping a malformed entry", KVS("kind", what),
	    KVS("id", id ? id : "(none)"), KVS("reason", reason));
	snprintf(subject, sizeof(subject), "%s %s", what, id ? id : "(no ID)");
	errlog_record(ERRLOG_DOCKER, subject, reason);
}

/* Healthcheck.Test: ["NONE"] disables the image's check, an empty test
 * inherits it (which swarm then enforces before "running").
 */
static int parse_healthcheck(struct jscan *s, struct swarm_service *svc)
{
	struct jscan_str key, v;
	int rc, el;

	if (jscan_null(s))
		return 0;
	if (jscan_peek(s) != JSCAN_OBJECT)
		return jscan_skip(s);
	if (jscan_enter_object(s) < 0)
		return -1;
	while ((rc = jscan_next_member(s, &key)) == 1) {
		if (!jscan_str_eq(&key, "Test") || jscan_peek(s) != JSCAN_ARRAY) {
			if (jscan_skip(s) < 0)
				return -1;
			continue;
		}
		if (jscan_enter_array(s) < 0)
			return -1;
		for (int i = 0; (el = jscan_next_element(s)) == 1; i++) {
			if (i == 0 && jscan_peek(s) == JSCAN_STRING) {
				if (jscan_string(s, &v) < 0)
					return -1;
				svc->has_healthcheck = !jscan_str_eq(&v, "NONE");
			} else if (jscan_skip(s) < 0) {
				return -1;
			}
		}
		if (el < 0)
			return -1;
	}
	return rc;
}

/* Walks object members down <path> (NULL-terminated member names) and
 * calls <fn> on the value found there; everything else is skipped.
 */
typedef int (*value_fn)(struct jscan *s, struct swarm_service *svc, const char **reason);

static int parse_path(struct jscan *s, const char *const *path, value_fn fn,
		      struct swarm_service *svc, const char **reason)
{
	struct jscan_str key;
	int rc;

	if (!*path)
		return fn(s, svc, reason);
	if (jscan_null(s))
		return 0;
	if (jscan_peek(s) != JSCAN_OBJECT)
		return jscan_skip(s);
	if (jscan_enter_object(s) < 0)
		return -1;
	while ((rc = jscan_next_member(s, &key)) == 1) {
		if (jscan_str_eq(&key, path[0])) {
			if (parse_path(s, path + 1, fn, svc, reason) < 0)
				return -1;
		} else if (jscan_skip(s) < 0) {
			return -1;
		}
	}
	return rc;
}

static int on_healthcheck(struct jscan *s, struct swarm_service *svc, const char **reason)
{
	(void)reason;
	return parse_healthcheck(s, svc);
}

/* Spec.Mode: {"Replicated": {"Replicas": n}}, {"Global": {}}, or the job
 * modes, whose task counts we cannot predict either.
 */
static int parse_mode(struct jscan *s, struct swarm_service *svc, const char **reason)
{
	struct jscan_str key, k2;
	int rc, rc2;

	if (jscan_null(s))
		return 0;
	if (jscan_peek(s) != JSCAN_OBJECT)
		return jscan_skip(s);
	if (jscan_enter_object(s) < 0)
		return -1;
	while ((rc = jscan_next_member(s, &key)) == 1) {
		if (!jscan_str_eq(&key, "Replicated") || jscan_peek(s) != JSCAN_OBJECT) {
			if (jscan_skip(s) < 0)
				return -1;
			continue;
		}
		svc->replicated = 1;
		svc->replicas = 1;   /* Docker's default when Replicas is absent */
		if (jscan_enter_object(s) < 0)
			return -1;
		while ((rc2 = jscan_next_member(s, &k2)) == 1) {
			if (jscan_str_eq(&k2, "Replicas")) {
				if (dockerobj_int(s, &svc->replicas, reason) < 0)
					return -1;
			} else if (jscan_skip(s) < 0) {
				return -1;
			}
		}
		if (rc2 < 0)
			return -1;
	}
	return rc;
}

static int parse_spec(struct jscan *s, struct swarm_service *svc, const char **reason)
{
	static const char *const hc_path[] = { "ContainerSpec", "Healthcheck", NULL };
	struct jscan_str key;
	int rc;

	if (jscan_peek(s) != JSCAN_OBJECT) {
		*reason = "Spec is not an object";
		return jscan_skip(s);
	}
	if (jscan_enter_object(s) < 0)
		return -1;
	while ((rc = jscan_next_member(s, &key)) == 1) {
		int r;

		if (jscan_str_eq(&key, "Name"))
			r = dockerobj_str(s, svc->arena, &svc->name, reason);
		else if (jscan_str_eq(&key, "Labels"))
			r = dockerobj_labels(s, svc->arena, &svc->labels, &svc->nlabels, reason);
		else if (jscan_str_eq(&key, "TaskTemplate"))
			r = parse_path(s, hc_path, on_healthcheck, svc, reason);
		else if (jscan_str_eq(&key, "Mode"))
			r = parse_mode(s, svc, reason);
		else
			r = jscan_skip(s);
		if (r < 0)
			return -1;
	}
	return rc;
}

static int parse_vip(struct jscan *s, struct swarm_service *svc, struct swarm_vip *vip)
{
	struct jscan_str key;
	const char *addr = NULL, *why = NULL;
	int rc;

	if (jscan_peek(s) != JSCAN_OBJECT)
		return jscan_skip(s);
	if (jscan_enter_object(s) < 0)
		return -1;
	while ((rc = jscan_next_member(s, &key)) == 1) {
		int r;

		if (jscan_str_eq(&key, "NetworkID"))
			r = dockerobj_str(s, svc->arena, &vip->network_id, &why);
		else if (jscan_str_eq(&key, "Addr"))
			r = dockerobj_str(s, svc->arena, &addr, &why);
		else
			r = jscan_skip(s);
		if (r < 0)
			return -1;
	}
	/* a VIP we cannot read is left out, the service stays */
	if (rc == 0 && (!vip->network_id || !addr || netaddr_parse_cidr(&vip->addr, addr) < 0))
		vip->addr.family = 0;
	return rc;
}

static int parse_endpoint(struct jscan *s, struct swarm_service *svc, const char **reason)
{
	struct jscan_str key;
	struct jscan probe;
	size_t count = 0;
	int rc, el;

	(void)reason;
	if (jscan_null(s))
		return 0;
	if (jscan_peek(s) != JSCAN_OBJECT)
		return jscan_skip(s);
	if (jscan_enter_object(s) < 0)
		return -1;
	while ((rc = jscan_next_member(s, &key)) == 1) {
		if (!jscan_str_eq(&key, "VirtualIPs") || jscan_peek(s) != JSCAN_ARRAY) {
			if (jscan_skip(s) < 0)
				return -1;
			continue;
		}
		if (jscan_enter_array(s) < 0)
			return -1;
		probe = *s;
		while (jscan_next_element(&probe) == 1 && jscan_skip(&probe) == 0)
			count++;
		/* a repeated "VirtualIPs" key: the last one wins, whole */
		svc->nvips = 0;
		svc->vips = count ? arena_calloc(svc->arena, count, sizeof(*svc->vips)) : NULL;
		if (count && !svc->vips)
			count = 0;
		while ((el = jscan_next_element(s)) == 1) {
			struct swarm_vip vip = { 0 };

			if (parse_vip(s, svc, &vip) < 0)
				return -1;
			if (vip.addr.family && svc->nvips < count)
				svc->vips[svc->nvips++] = vip;
		}
		if (el < 0)
			return -1;
	}
	return rc;
}

static int on_update_state(struct jscan *s, struct swarm_service *svc, const char **reason)
{
	struct jscan_str v;

	(void)reason;
	if (jscan_peek(s) != JSCAN_STRING)
		return jscan_skip(s);
	if (jscan_string(s, &v) < 0)
		return -1;
	svc->updating = jscan_str_eq(&v, "updating") || jscan_str_eq(&v, "rollback_started");
	return 0;
}

/* Parses one service object into a new record. Returns 0 with *<out> set
 * (or NULL when the entry was skipped), or -1 on a syntax error.
 */
static int parse_service(struct swarm *sw, struct jscan *s, struct swarm_service **out)
{
	static const char *const upd_path[] = { "State", NULL };
	struct swarm_service *svc;
	struct jscan_str key;
	const char *reason = NULL, *created = NULL;
	int rc;

	*out = NULL;
	if (jscan_peek(s) != JSCAN_OBJECT) {
		swarm_skip(sw, "service", NULL, "not an object");
		return jscan_skip(s);
	}
	svc = calloc(1, sizeof(*svc));
	if (!svc)
		return jscan_skip(s) < 0 ? -1 : 0;
	svc->arena = arena_new(2048);
	if (!svc->arena) {
		free(svc);
		return jscan_skip(s) < 0 ? -1 : 0;
	}
	if (jscan_enter_object(s) < 0)
		goto out_free;
	while ((rc = jscan_next_member(s, &key)) == 1) {
		int r;

		if (jscan_str_eq(&key, "ID"))
			r = dockerobj_str(s, svc->arena, &svc->id, &reason);
		else if (jscan_str_eq(&key, "CreatedAt"))
			r = dockerobj_str(s, svc->arena, &created, &reason);
		else if (jscan_str_eq(&key, "Spec"))
			r = parse_spec(s, svc, &reason);
		else if (jscan_str_eq(&key, "Endpoint"))
			r = parse_endpoint(s, svc, &reason);
		else if (jscan_str_eq(&key, "UpdateStatus"))
			r = parse_path(s, upd_path, on_update_state, svc, &reason);
		else
			r = jscan_skip(s);
		if (r < 0)
			goto out_free;
	}
	if (rc < 0)
		goto out_free;
	if (!reason && (!svc->id || !*svc->id))
		reason = "no ID";
	if (!reason && (!svc->name || !*svc->name))
		reason = "no Spec.Name";
	if (reason) {
		swarm_skip(sw, "service", svc->id, reason);
		service_free(svc);
		return 0;
	}
	svc->created_ms = created ? dockerobj_time_ms(created) : 0;
	if (svc->created_ms < 0)
		svc->created_ms = 0;
	svc->stack = dockerobj_label(svc->labels, svc->nlabels, SWARM_STACK_LABEL);
	svc->routed = dockerobj_routed(svc->labels, svc->nlabels);
	*out = svc;
	return 0;

out_free:
	service_free(svc);
	return -1;
}

/* Carries the tasks and convergence of <old> over to <svc>, the same
 * service with a newer spec, or starts its convergence when it is new to
 * routing.
 */
static void service_adopt(struct swarm_service *svc, struct swarm_service *old, int64_t now_ms)
{
	if (old && old->routed && svc->routed) {
		svc->batch = old->batch;
		old->batch = NULL;
		svc->ntasks = old->ntasks;
		svc->tasks = old->tasks;
		svc->tasks_known = old->tasks_known;
		svc->converged = old->converged;
		svc->converge_until_ms = old->converge_until_ms;
		svc->hint_after_ms = old->hint_after_ms;
	} else if (svc->routed) {
		/* its tasks are unknown: fetch them on the next fast poll */
		svc->converge_until_ms = now_ms + SWARM_CONVERGE_MS;
	}
	if (svc->routed && svc->updating) {
		svc->converged = 0;
		if (svc->converge_until_ms < now_ms + SWARM_CONVERGE_UPDATE_MS)
			svc->converge_until_ms = now_ms + SWARM_CONVERGE_UPDATE_MS;
	}
}

static void set_err(char *err, size_t errlen, const struct jscan *s, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, jscan_error(s) ? jscan_error(s) : "invalid JSON");
}

int swarm_load_services(struct swarm *sw, const char *json, size_t len, int64_t now_ms,
			char *err, size_t errlen)
{
	struct strmap *fresh = strmap_new();
	struct jscan s;
	const char *key;
	void *val;
	size_t pos = 0;
	int el;

	if (!fresh) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	jscan_init(&s, json, len);
	if (jscan_enter_array(&s) < 0)
		goto out_bad;
	while ((el = jscan_next_element(&s)) == 1) {
		struct swarm_service *svc;

		if (parse_service(sw, &s, &svc) < 0)
			goto out_bad;
		if (!svc)
			continue;
		val = strmap_get(fresh, svc->id);
		if (val) {
			/* the same ID twice: keep the later one */
			strmap_del(fresh, svc->id);
			service_free(val);
		}
		if (strmap_put(fresh, svc->id, svc) < 0) {
			service_free(svc);
			snprintf(err, errlen, "out of memory");
			goto out_free;
		}
	}
	if (el < 0 || jscan_finish(&s) < 0)
		goto out_bad;

	while (strmap_next(fresh, &pos, &key, &val))
		service_adopt(val, strmap_get(sw->services, key), now_ms);
	swarm_clear_services(sw->services);
	strmap_free(sw->services);
	sw->services = fresh;
	return 0;

out_bad:
	set_err(err, errlen, &s, "bad service list");
out_free:
	swarm_clear_services(fresh);
	strmap_free(fresh);
	return -1;
}

int swarm_load_service(struct swarm *sw, const char *json, size_t len, int64_t now_ms,
		       char *err, size_t errlen)
{
	struct swarm_service *svc, *old;
	struct jscan s;

	jscan_init(&s, json, len);
	if (parse_service(sw, &s, &svc) < 0 || (svc && jscan_finish(&s) < 0)) {
		if (svc)
			service_free(svc);
		set_err(err, errlen, &s, "bad service");
		return -1;
	}
	if (!svc) {
		snprintf(err, errlen, "bad service: entry skipped");
		return -1;
	}
	old = strmap_get(sw->services, svc->id);
	service_adopt(svc, old, now_ms);
	if (strmap_put(sw->services, svc->id, svc) < 0) {
		service_free(svc);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (old)
		service_free(old);
	return 0;
}

int swarm_remove_service(struct swarm *sw, const char *id)
{
	struct swarm_service *svc = strmap_del(sw->services, id);

	if (!svc)
		return 0;
	service_free(svc);
	return 1;
}

/* ------------------------------------------------------------------------ */
/* Networks and nodes                                                        */
/* ------------------------------------------------------------------------ */

/* Loads a list of objects into an ID -> name map: <idkey> and the name at
 * <namepath> (member names) of each object.
 */
static int load_names(struct swarm *sw, const char *json, size_t len, const char *what,
		      const char *idkey, const char *const *namepath,
		      struct arena **arenap, struct strmap **mapp, char *err, size_t errlen)
{
	struct arena *a = arena_new(8192);
	struct strmap *m = strmap_new();
	struct jscan s;
	int el;

	if (!a || !m) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	jscan_init(&s, json, len);
	if (jscan_enter_array(&s) < 0)
		goto out_bad;
	while ((el = jscan_next_element(&s)) == 1) {
		const char *id = NULL, *name = NULL, *reason = NULL;
		struct jscan_str key;
		int rc;

		if (jscan_peek(&s) != JSCAN_OBJECT) {
			swarm_skip(sw, what, NULL, "not an object");
			if (jscan_skip(&s) < 0)
				goto out_bad;
			continue;
		}
		if (jscan_enter_object(&s) < 0)
			goto out_bad;
		while ((rc = jscan_next_member(&s, &key)) == 1) {
			int r;

			if (jscan_str_eq(&key, idkey)) {
				r = dockerobj_str(&s, a, &id, &reason);
			} else if (jscan_str_eq(&key, namepath[0])) {
				/* descend to the name, one object per level */
				const char *const *p = namepath + 1;
				struct jscan_str k2;
				int depth = 0, rc2;

				r = 0;
				while (*p && r == 0) {
					if (jscan_peek(&s) != JSCAN_OBJECT) {
						r = jscan_skip(&s);
						break;
					}
					if (jscan_enter_object(&s) < 0)
						goto out_bad;
					depth++;
					while ((rc2 = jscan_next_member(&s, &k2)) == 1 &&
					       !jscan_str_eq(&k2, *p))
						if (jscan_skip(&s) < 0)
							goto out_bad;
					if (rc2 < 0)
						goto out_bad;
					if (rc2 == 0) {
						depth--;   /* that object ended: no name */
						break;
					}
					p++;
				}
				if (!*p && r == 0)
					r = dockerobj_str(&s, a, &name, &reason);
				/* finish the objects we entered */
				for (; depth > 0 && r == 0; depth--) {
					while ((rc2 = jscan_next_member(&s, &k2)) == 1)
						if (jscan_skip(&s) < 0)
							goto out_bad;
					if (rc2 < 0)
						goto out_bad;
				}
			} else {
				r = jscan_skip(&s);
			}
			if (r < 0)
				goto out_bad;
		}
		if (rc < 0)
			goto out_bad;
		if (!reason && (!id || !*id))
			reason = "no ID";
		if (reason) {
			swarm_skip(sw, what, id, reason);
			continue;
		}
		if (strmap_put(m, id, (void *)(name && *name ? name : id)) < 0) {
			snprintf(err, errlen, "out of memory");
			goto out_free;
		}
	}
	if (el < 0 || jscan_finish(&s) < 0)
		goto out_bad;
	arena_free(*arenap);
	strmap_free(*mapp);
	*arenap = a;
	*mapp = m;
	return 0;

out_bad:
	snprintf(err, errlen, "bad %s list: %s", what, jscan_error(&s) ? jscan_error(&s) : "invalid JSON");
out_free:
	arena_free(a);
	strmap_free(m);
	return -1;
}

int swarm_load_networks(struct swarm *sw, const char *json, size_t len, char *err, size_t errlen)
{
	static const char *const name[] = { "Name", NULL };

	return load_names(sw, json, len, "network", "Id", name, &sw->net_arena, &sw->networks,
			  err, errlen);
}

int swarm_load_nodes(struct swarm *sw, const char *json, size_t len, char *err, size_t errlen)
{
	static const char *const name[] = { "Description", "Hostname", NULL };

	return load_names(sw, json, len, "node", "ID", name, &sw->node_arena, &sw->nodes,
			  err, errlen);
}

/* ------------------------------------------------------------------------ */
/* Tasks                                                                     */
/* ------------------------------------------------------------------------ */

struct task_vec {
	struct swarm_task *v;
	size_t n, cap;
};

static int parse_status(struct jscan *s, struct arena *a, struct swarm_task *t, const char **reason)
{
	struct jscan_str key;
	const char *ts = NULL;
	int rc;

	if (jscan_peek(s) != JSCAN_OBJECT) {
		*reason = "Status is not an object";
		return jscan_skip(s);
	}
	if (jscan_enter_object(s) < 0)
		return -1;
	while ((rc = jscan_next_member(s, &key)) == 1) {
		int r;

		if (jscan_str_eq(&key, "State"))
			r = dockerobj_str(s, a, &t->state, reason);
		else if (jscan_str_eq(&key, "Timestamp"))
			r = dockerobj_str(s, a, &ts, reason);
		else
			r = jscan_skip(s);
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

/* One NetworksAttachments entry: {"Network": {"ID", "Spec": {"Name"}},
 * "Addresses": ["10.0.1.5/24", ...]}, one model_netattach per address.
 */
static int parse_attachment(struct jscan *s, struct arena *a, struct model_netattach *out,
			    size_t max, size_t *n)
{
	struct jscan_str key, k2, k3, v;
	const char *net_id = NULL, *net_name = NULL, *why = NULL;
	struct netaddr addrs[8];
	size_t naddrs = 0;
	int rc, rc2, rc3, el;

	if (jscan_peek(s) != JSCAN_OBJECT)
		return jscan_skip(s);
	if (jscan_enter_object(s) < 0)
		return -1;
	while ((rc = jscan_next_member(s, &key)) == 1) {
		if (jscan_str_eq(&key, "Network") && jscan_peek(s) == JSCAN_OBJECT) {
			if (jscan_enter_object(s) < 0)
				return -1;
			while ((rc2 = jscan_next_member(s, &k2)) == 1) {
				int r = 0;

				if (jscan_str_eq(&k2, "ID")) {
					r = dockerobj_str(s, a, &net_id, &why);
				} else if (jscan_str_eq(&k2, "Spec") && jscan_peek(s) == JSCAN_OBJECT) {
					if (jscan_enter_object(s) < 0)
						return -1;
					while ((rc3 = jscan_next_member(s, &k3)) == 1) {
						if (jscan_str_eq(&k3, "Name"))
							r = dockerobj_str(s, a, &net_name, &why);
						else
							r = jscan_skip(s);
						if (r < 0)
							return -1;
					}
					r = rc3;
				} else {
					r = jscan_skip(s);
				}
				if (r < 0)
					return -1;
			}
			if (rc2 < 0)
				return -1;
		} else if (jscan_str_eq(&key, "Addresses") && jscan_peek(s) == JSCAN_ARRAY) {
			if (jscan_enter_array(s) < 0)
				return -1;
			while ((el = jscan_next_element(s)) == 1) {
				char buf[64];

				if (jscan_peek(s) != JSCAN_STRING) {
					if (jscan_skip(s) < 0)
						return -1;
					continue;
				}
				if (jscan_string(s, &v) < 0)
					return -1;
				/* an address we cannot read is left out */
				if (naddrs < 8 && jscan_str_copy(&v, buf, sizeof(buf)) >= 0 &&
				    netaddr_parse_cidr(&addrs[naddrs], buf) == 0)
					naddrs++;
			}
			if (el < 0)
				return -1;
		} else if (jscan_skip(s) < 0) {
			return -1;
		}
	}
	if (rc < 0)
		return -1;
	for (size_t i = 0; i < naddrs && *n < max; i++) {
		out[*n].network = net_name && *net_name ? net_name : net_id;
		out[*n].network_id = net_id;
		out[*n].addr = addrs[i];
		(*n)++;
	}
	return 0;
}

static int parse_attachments(struct jscan *s, struct arena *a, struct swarm_task *t)
{
	struct model_netattach tmp[32];
	size_t n = 0;
	int el;

	if (jscan_null(s))
		return 0;
	if (jscan_peek(s) != JSCAN_ARRAY)
		return jscan_skip(s);
	if (jscan_enter_array(s) < 0)
		return -1;
	while ((el = jscan_next_element(s)) == 1)
		if (parse_attachment(s, a, tmp, 32, &n) < 0)
			return -1;
	if (el < 0)
		return -1;
	if (n) {
		t->nets = arena_alloc(a, n * sizeof(*t->nets));
		if (!t->nets)
			return 0;
		memcpy(t->nets, tmp, n * sizeof(*t->nets));
		t->nnets = n;
	}
	return 0;
}

/* Parses one task into <t>. Returns 1 when it is usable, 0 when skipped,
 * -1 on a syntax error.
 */
static int parse_task(struct swarm *sw, struct jscan *s, struct arena *a, struct swarm_task *t)
{
	struct jscan_str key;
	const char *reason = NULL;
	int rc;

	memset(t, 0, sizeof(*t));
	if (jscan_peek(s) != JSCAN_OBJECT) {
		swarm_skip(sw, "task", NULL, "not an object");
		return jscan_skip(s) < 0 ? -1 : 0;
	}
	if (jscan_enter_object(s) < 0)
		return -1;
	while ((rc = jscan_next_member(s, &key)) == 1) {
		int r;

		if (jscan_str_eq(&key, "ID"))
			r = dockerobj_str(s, a, &t->id, &reason);
		else if (jscan_str_eq(&key, "ServiceID"))
			r = dockerobj_str(s, a, &t->service_id, &reason);
		else if (jscan_str_eq(&key, "NodeID"))
			r = dockerobj_str(s, a, &t->node_id, &reason);
		else if (jscan_str_eq(&key, "DesiredState"))
			r = dockerobj_str(s, a, &t->desired, &reason);
		else if (jscan_str_eq(&key, "Status"))
			r = parse_status(s, a, t, &reason);
		else if (jscan_str_eq(&key, "NetworksAttachments"))
			r = parse_attachments(s, a, t);
		else
			r = jscan_skip(s);
		if (r < 0)
			return -1;
	}
	if (rc < 0)
		return -1;
	if (!reason && (!t->id || !*t->id))
		reason = "no ID";
	if (!reason && (!t->service_id || !*t->service_id))
		reason = "no ServiceID";
	if (!reason && !t->state)
		reason = "no Status.State";
	if (reason) {
		swarm_skip(sw, "task", t->id, reason);
		return 0;
	}
	if (!t->desired)
		t->desired = "";
	return 1;
}

static int service_hint(struct swarm_service *svc, int64_t now_ms);

static int task_cmp(const void *a, const void *b)
{
	const struct swarm_task *x = *(const struct swarm_task *const *)a;
	const struct swarm_task *y = *(const struct swarm_task *const *)b;

	return strcmp(x->id, y->id);
}

static int task_transitional(const struct swarm_task *t)
{
	static const char *const states[] = {
		"new", "allocated", "pending", "assigned", "accepted", "preparing", "ready",
		"starting", NULL
	};

	for (size_t i = 0; states[i]; i++)
		if (strcmp(t->state, states[i]) == 0)
			return 1;
	return 0;
}

/* Tasks settled: as many running as wanted, none on its way. */
static void service_check_converged(struct swarm_service *svc)
{
	int64_t running = 0;

	for (size_t i = 0; i < svc->ntasks; i++) {
		const struct swarm_task *t = svc->tasks[i];

		if (strcmp(t->desired, "running") != 0)
			continue;
		if (task_transitional(t)) {
			svc->converged = 0;
			return;
		}
		running += strcmp(t->state, "running") == 0;
	}
	svc->converged = !svc->updating && (!svc->replicated || running >= svc->replicas);
}

/* Whether <svc> takes the tasks of this load. */
static int task_target(const struct swarm_service *svc, const char *const *ids, size_t nids)
{
	if (nids == 0)
		return svc->routed;
	for (size_t i = 0; i < nids; i++)
		if (strcmp(ids[i], svc->id) == 0)
			return 1;
	return 0;
}

void swarm_settle(struct swarm *sw, const char *const *ids, size_t nids, int64_t now_ms)
{
	const char *key;
	void *val;
	size_t pos = 0;

	while (strmap_next(sw->services, &pos, &key, &val)) {
		struct swarm_service *svc = val;

		if (!task_target(svc, ids, nids))
			continue;
		service_check_converged(svc);
		if (svc->converged)
			svc->converge_until_ms = 0;
		else if (svc->converge_until_ms <= now_ms)
			/* moved without an event we saw (on another node) */
			service_hint(svc, now_ms);
	}
}

int swarm_load_tasks(struct swarm *sw, const char *json, size_t len,
		     const char *const *ids, size_t nids, int64_t now_ms,
		     char *err, size_t errlen)
{
	struct swarm_batch *batch = calloc(1, sizeof(*batch));
	struct task_vec vec = { 0 };
	struct swarm_task **slots;
	struct jscan s;
	const char *key;
	void *val;
	size_t pos;
	int el;

	if (!batch || !(batch->arena = arena_new(64 * 1024))) {
		free(batch);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	jscan_init(&s, json, len);
	if (jscan_enter_array(&s) < 0)
		goto out_bad;
	while ((el = jscan_next_element(&s)) == 1) {
		struct swarm_task t;
		struct swarm_service *svc;
		int r = parse_task(sw, &s, batch->arena, &t);

		if (r < 0)
			goto out_bad;
		if (r == 0)
			continue;
		svc = strmap_get(sw->services, t.service_id);
		if (!svc || !task_target(svc, ids, nids))
			continue;
		if (vec.n == vec.cap) {
			size_t ncap = vec.cap ? vec.cap * 2 : 64;
			struct swarm_task *nv = realloc(vec.v, ncap * sizeof(*nv));

			if (!nv) {
				snprintf(err, errlen, "out of memory");
				goto out_free;
			}
			vec.v = nv;
			vec.cap = ncap;
		}
		vec.v[vec.n++] = t;
	}
	if (el < 0 || jscan_finish(&s) < 0)
		goto out_bad;

	/* Group by service: count, carve each service's slice out of one
	 * array in the batch, fill, sort. */
	pos = 0;
	while (strmap_next(sw->services, &pos, &key, &val))
		((struct swarm_service *)val)->fill = 0;
	for (size_t i = 0; i < vec.n; i++)
		((struct swarm_service *)strmap_get(sw->services, vec.v[i].service_id))->fill++;
	slots = vec.n ? arena_alloc(batch->arena, vec.n * sizeof(*slots)) : NULL;
	if (vec.n && !slots) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	{
		/* persistent copies of the tasks, in the batch */
		struct swarm_task *stored = vec.n ? arena_alloc(batch->arena, vec.n * sizeof(*stored)) : NULL;
		size_t used = 0;

		if (vec.n && !stored) {
			snprintf(err, errlen, "out of memory");
			goto out_free;
		}
		pos = 0;
		while (strmap_next(sw->services, &pos, &key, &val)) {
			struct swarm_service *svc = val;

			if (!task_target(svc, ids, nids))
				continue;
			batch_put(svc->batch);
			svc->batch = batch;
			batch->refs++;
			svc->tasks = slots ? slots + used : NULL;
			used += svc->fill;
			svc->ntasks = 0;
			svc->tasks_known = 1;
		}
		for (size_t i = 0; i < vec.n; i++) {
			struct swarm_service *svc = strmap_get(sw->services, vec.v[i].service_id);

			stored[i] = vec.v[i];
			svc->tasks[svc->ntasks++] = &stored[i];
		}
	}
	pos = 0;
	while (strmap_next(sw->services, &pos, &key, &val)) {
		struct swarm_service *svc = val;

		if (task_target(svc, ids, nids) && svc->ntasks > 1)
			qsort(svc->tasks, svc->ntasks, sizeof(*svc->tasks), task_cmp);
	}
	swarm_settle(sw, ids, nids, now_ms);
	free(vec.v);
	if (!batch->refs) {
		arena_free(batch->arena);
		free(batch);
	}
	return 0;

out_bad:
	set_err(err, errlen, &s, "bad task list");
out_free:
	free(vec.v);
	arena_free(batch->arena);
	free(batch);
	return -1;
}

/* ------------------------------------------------------------------------ */
/* Convergence                                                               */
/* ------------------------------------------------------------------------ */

/* A task of <svc> moved without a change of the service: poll it fast
 * for a short while. At most one such window per SWARM_HINT_COOLDOWN_MS:
 * a task crash-looping must not keep the agent polling fast for good.
 */
static int service_hint(struct swarm_service *svc, int64_t now_ms)
{
	if (now_ms < svc->hint_after_ms)
		return 0;
	svc->hint_after_ms = now_ms + SWARM_HINT_COOLDOWN_MS;
	svc->converged = 0;
	if (svc->converge_until_ms < now_ms + SWARM_HINT_MS)
		svc->converge_until_ms = now_ms + SWARM_HINT_MS;
	return 1;
}

int swarm_converge_hint(struct swarm *sw, const char *id, int64_t now_ms)
{
	struct swarm_service *svc = strmap_get(sw->services, id);

	return svc && svc->routed && service_hint(svc, now_ms);
}

void swarm_converge(struct swarm *sw, const char *id, int64_t now_ms, int64_t ms)
{
	struct swarm_service *svc = strmap_get(sw->services, id);

	if (!svc)
		return;
	svc->converged = 0;
	if (svc->converge_until_ms < now_ms + ms)
		svc->converge_until_ms = now_ms + ms;
}

void swarm_converge_hint_all(struct swarm *sw, int64_t now_ms)
{
	const char *key;
	void *val;
	size_t pos = 0;

	while (strmap_next(sw->services, &pos, &key, &val))
		if (((struct swarm_service *)val)->routed)
			service_hint(val, now_ms);
}

size_t swarm_converging(const struct swarm *sw, int64_t now_ms, const char **ids, size_t max)
{
	const char *key;
	void *val;
	size_t pos = 0, n = 0;

	while (strmap_next(sw->services, &pos, &key, &val)) {
		const struct swarm_service *svc = val;

		if (!svc->routed || svc->converged || svc->converge_until_ms <= now_ms)
			continue;
		if (n < max)
			ids[n] = svc->id;
		n++;
	}
	return n;
}

size_t swarm_routed(const struct swarm *sw, const char **ids, size_t max)
{
	const char *key;
	void *val;
	size_t pos = 0, n = 0;

	while (strmap_next(sw->services, &pos, &key, &val)) {
		const struct swarm_service *svc = val;

		if (!svc->routed)
			continue;
		if (n < max)
			ids[n] = svc->id;
		n++;
	}
	return n;
}

/* ------------------------------------------------------------------------ */
/* The model                                                                 */
/* ------------------------------------------------------------------------ */

static int svc_cmp(const void *a, const void *b)
{
	const struct swarm_service *x = *(const struct swarm_service *const *)a;
	const struct swarm_service *y = *(const struct swarm_service *const *)b;

	return strcmp(x->id, y->id);
}

static const char *dup_or_null(struct arena *a, const char *s, int *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = arena_strdup(a, s);
	if (!d)
		*oom = 1;
	return d;
}

static void model_task_fill(const struct swarm *sw, struct arena *a, const struct swarm_service *svc,
			    const struct swarm_task *t, struct model_task *mt, int *oom)
{
	const char *node = t->node_id ? strmap_get(sw->nodes, t->node_id) : NULL;

	mt->id = dup_or_null(a, t->id, oom);
	mt->node = dup_or_null(a, node ? node : t->node_id, oom);
	mt->state = dup_or_null(a, t->state, oom);
	mt->running = strcmp(t->state, "running") == 0;
	mt->desired_running = strcmp(t->desired, "running") == 0;
	/* Swarm reports a task with a health check "running" only once the
	 * check passed, and fails it when the check fails: running is healthy. */
	if (!svc->has_healthcheck)
		mt->health = MODEL_HEALTH_NONE;
	else if (mt->running)
		mt->health = MODEL_HEALTH_HEALTHY;
	else if (strcmp(t->state, "starting") == 0)
		mt->health = MODEL_HEALTH_STARTING;
	else
		mt->health = MODEL_HEALTH_UNHEALTHY;
	mt->state_since_ms = t->since_ms;
	if (t->nnets) {
		mt->nets = arena_calloc(a, t->nnets, sizeof(*mt->nets));
		if (!mt->nets) {
			*oom = 1;
			return;
		}
		for (size_t k = 0; k < t->nnets; k++) {
			mt->nets[k].network = dup_or_null(a, t->nets[k].network, oom);
			mt->nets[k].network_id = dup_or_null(a, t->nets[k].network_id, oom);
			mt->nets[k].addr = t->nets[k].addr;
		}
		mt->nnets = t->nnets;
	}
}

static void model_service_fill(const struct swarm *sw, struct arena *a,
			       const struct swarm_service *svc, struct model_service *ms, int *oom)
{
	ms->id = dup_or_null(a, svc->id, oom);
	ms->name = dup_or_null(a, svc->name, oom);
	ms->stack = dup_or_null(a, svc->stack, oom);
	ms->has_healthcheck = svc->has_healthcheck;
	ms->created_ms = svc->created_ms;
	if (svc->nlabels) {
		ms->labels = arena_calloc(a, svc->nlabels, sizeof(*ms->labels));
		if (!ms->labels) {
			*oom = 1;
			return;
		}
		for (size_t i = 0; i < svc->nlabels; i++) {
			ms->labels[i].key = dup_or_null(a, svc->labels[i].key, oom);
			ms->labels[i].value = dup_or_null(a, svc->labels[i].value, oom);
		}
		ms->nlabels = svc->nlabels;
	}
	if (svc->nvips) {
		ms->vips = arena_calloc(a, svc->nvips, sizeof(*ms->vips));
		if (!ms->vips) {
			*oom = 1;
			return;
		}
		for (size_t i = 0; i < svc->nvips; i++) {
			const char *name = strmap_get(sw->networks, svc->vips[i].network_id);

			/* an unknown network keeps its ID as name: it then
			 * matches no com.docker.lb.network by mistake */
			ms->vips[i].network = dup_or_null(a, name ? name : svc->vips[i].network_id, oom);
			ms->vips[i].network_id = dup_or_null(a, svc->vips[i].network_id, oom);
			ms->vips[i].addr = svc->vips[i].addr;
		}
		ms->nvips = svc->nvips;
	}
	if (svc->routed && svc->ntasks) {
		ms->tasks = arena_calloc(a, svc->ntasks, sizeof(*ms->tasks));
		if (!ms->tasks) {
			*oom = 1;
			return;
		}
		for (size_t i = 0; i < svc->ntasks; i++)
			model_task_fill(sw, a, svc, svc->tasks[i], &ms->tasks[i], oom);
		ms->ntasks = svc->ntasks;
	}
}

struct model *swarm_model(const struct swarm *sw)
{
	size_t n = strmap_count(sw->services), i = 0, pos = 0;
	struct swarm_service **list = n ? malloc(n * sizeof(*list)) : NULL;
	struct model *m;
	const char *key;
	void *val;
	int oom = 0;

	if (n && !list)
		return NULL;
	m = model_new("swarm");
	if (!m)
		goto out_free_list;
	while (strmap_next(sw->services, &pos, &key, &val))
		list[i++] = val;
	if (n > 1)
		qsort(list, n, sizeof(*list), svc_cmp);
	if (n) {
		m->svcs = arena_calloc(m->arena, n, sizeof(*m->svcs));
		if (!m->svcs)
			goto out_free_model;
	}
	for (i = 0; i < n && !oom; i++)
		model_service_fill(sw, m->arena, list[i], &m->svcs[i], &oom);
	if (oom)
		goto out_free_model;
	m->nsvcs = n;
	free(list);
	return m;

out_free_model:
	model_free(m);
out_free_list:
	free(list);
	return NULL;
}

void swarm_counts(const struct swarm *sw, struct swarm_counts *c)
{
	const char *key;
	void *val;
	size_t pos = 0;

	memset(c, 0, sizeof(*c));
	c->services = strmap_count(sw->services);
	c->networks = strmap_count(sw->networks);
	c->nodes = strmap_count(sw->nodes);
	c->skipped = sw->skipped;
	while (strmap_next(sw->services, &pos, &key, &val)) {
		const struct swarm_service *svc = val;

		if (svc->routed) {
			c->routed++;
			c->tasks += svc->ntasks;
		}
	}
}
