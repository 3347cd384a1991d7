/* Routes file loading (format: docs/routes-file.md).
 *
 * The JSON is validated completely before the model is returned; every
 * error names the element at fault ("services[2].tasks[0].port: ...") so
 * that an operator can fix the file from the log line alone.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/arena.h"
#include "common/netaddr.h"
#include "routing/model.h"
#include "routing/routesfile.h"

#define RF_SOURCE "file"

/* Where the parser is, for error messages. */
struct rf_ctx {
	struct model *m;
	char *err;
	size_t errlen;
	char where[128];
};

__attribute__((format(printf, 2, 3)))
static int rf_fail(struct rf_ctx *c, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->where[0])
		snprintf(c->err, c->errlen, "%s: %s", c->where, msg);
	else
		snprintf(c->err, c->errlen, "%s", msg);
	return -1;
}

static int rf_oom(struct rf_ctx *c)
{
	c->where[0] = '\0';
	return rf_fail(c, "out of memory");
}

/* Refuses keys of <obj> that are not in the NULL-terminated <known>: a
 * misspelt key would otherwise be silently ignored.
 */
static int rf_keys(struct rf_ctx *c, json_t *obj, const char *const *known)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		size_t i;

		for (i = 0; known[i]; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (!known[i])
			return rf_fail(c, "unknown key \"%.64s\"", key);
	}
	return 0;
}

/* Reads optional string member <key> of <obj> into <*out> (copied in the
 * model's arena). Returns 0, or -1 when it is not a string (or is empty
 * and <nonempty>). Strings never hold NUL: the parser refuses "\u0000".
 */
static int rf_str(struct rf_ctx *c, json_t *obj, const char *key, int nonempty, const char **out)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return rf_fail(c, "\"%s\" must be a string", key);
	if (nonempty && json_string_length(v) == 0)
		return rf_fail(c, "\"%s\" must not be empty", key);
	*out = arena_strndup(c->m->arena, json_string_value(v), json_string_length(v));
	return *out ? 0 : rf_oom(c);
}

/* Parses "2024-01-02T03:04:05[.frac](Z|+hh:mm|-hh:mm)" into ms since the
 * epoch. Returns 0 or -1.
 */
static int rf_rfc3339(const char *s, int64_t *ms)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec, n = 0, off = 0;
	long frac_ms = 0;
	time_t t;

	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
		return -1;
	s += n;
	if (*s != 'T' && *s != 't' && *s != ' ')
		return -1;
	s++;
	if (sscanf(s, "%2d:%2d:%2d%n", &h, &mi, &sec, &n) != 3 || n != 8)
		return -1;
	s += n;
	if (*s == '.') {
		long scale = 100;

		s++;
		if (*s < '0' || *s > '9')
			return -1;
		for (; *s >= '0' && *s <= '9'; s++, scale /= 10)
			frac_ms += (*s - '0') * scale;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int oh, om, sign = *s == '-' ? -1 : 1;

		if (sscanf(s + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5 || oh > 23 || om > 59)
			return -1;
		off = sign * (oh * 3600 + om * 60);
		s += 6;
	} else {
		return -1;
	}
	if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	*ms = ((int64_t)t - off) * 1000 + frac_ms;
	return 0;
}

static int rf_addr(struct rf_ctx *c, json_t *obj, struct netaddr *a)
{
	json_t *v = json_object_get(obj, "address");

	if (!v)
		return rf_fail(c, "\"address\" is required");
	if (!json_is_string(v) || netaddr_parse_cidr(a, json_string_value(v)) < 0)
		return rf_fail(c, "\"address\" must be an IPv4 or IPv6 address");
	return 0;
}

/************************************************************************/
/*                                 tasks                                */
/************************************************************************/

static int rf_task(struct rf_ctx *c, json_t *obj, const struct model_service *svc, size_t idx,
		   struct model_task *t)
{
	static const char *const known[] = {
		"id", "address", "port", "network", "network_id", "state", "desired_state",
		"health", "node", NULL,
	};
	static const char *const states[] = {
		"new", "pending", "assigned", "accepted", "preparing", "ready", "starting",
		"running", "complete", "shutdown", "failed", "rejected", "remove", "orphaned", NULL,
	};
	const char *desired = "running", *health = NULL;
	struct model_netattach *net;
	json_t *v;
	size_t i;

	if (!json_is_object(obj))
		return rf_fail(c, "must be an object");
	if (rf_keys(c, obj, known) < 0)
		return -1;
	t->state = "running";
	if (rf_str(c, obj, "id", 1, &t->id) < 0 || rf_str(c, obj, "node", 1, &t->node) < 0 ||
	    rf_str(c, obj, "state", 1, &t->state) < 0 ||
	    rf_str(c, obj, "desired_state", 1, &desired) < 0 ||
	    rf_str(c, obj, "health", 1, &health) < 0)
		return -1;
	if (!t->id) {
		char id[300];

		snprintf(id, sizeof(id), "%s.%zu", svc->name, idx + 1);
		t->id = arena_strdup(c->m->arena, id);
		if (!t->id)
			return rf_oom(c);
	}
	for (i = 0; states[i] && strcmp(states[i], t->state) != 0; i++)
		;
	if (!states[i])
		return rf_fail(c, "\"state\" \"%.32s\" is not a Docker task state (running, starting, shutdown...)",
			       t->state);
	for (i = 0; states[i] && strcmp(states[i], desired) != 0; i++)
		;
	if (!states[i])
		return rf_fail(c, "\"desired_state\" \"%.32s\" is not a Docker task state", desired);
	t->running = strcmp(t->state, "running") == 0;
	t->desired_running = strcmp(desired, "running") == 0;

	if (!health || strcmp(health, "none") == 0)
		t->health = MODEL_HEALTH_NONE;
	else if (strcmp(health, "healthy") == 0)
		t->health = MODEL_HEALTH_HEALTHY;
	else if (strcmp(health, "unhealthy") == 0)
		t->health = MODEL_HEALTH_UNHEALTHY;
	else if (strcmp(health, "starting") == 0)
		t->health = MODEL_HEALTH_STARTING;
	else
		return rf_fail(c, "\"health\" must be healthy, unhealthy, starting or none");

	v = json_object_get(obj, "port");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65535)
			return rf_fail(c, "\"port\" must be an integer from 1 to 65535");
		t->port = (uint16_t)json_integer_value(v);
	}

	net = arena_calloc(c->m->arena, 1, sizeof(*net));
	if (!net)
		return rf_oom(c);
	if (rf_addr(c, obj, &net->addr) < 0 ||
	    rf_str(c, obj, "network", 1, &net->network) < 0 ||
	    rf_str(c, obj, "network_id", 1, &net->network_id) < 0)
		return -1;
	t->nnets = 1;
	t->nets = net;
	return 0;
}

static int rf_strcmp_p(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Refuses a repeated value among the <n> strings of <v> (sorted in
 * place, they are copies of pointers). Returns the repeated one or NULL.
 */
static const char *rf_duplicate(const char **v, size_t n)
{
	qsort(v, n, sizeof(*v), rf_strcmp_p);
	for (size_t i = 1; i < n; i++)
		if (strcmp(v[i - 1], v[i]) == 0)
			return v[i];
	return NULL;
}

/************************************************************************/
/*                                services                              */
/************************************************************************/

static int rf_service(struct rf_ctx *c, json_t *obj, size_t idx, struct model_service *s)
{
	static const char *const known[] = {
		"name", "id", "created", "health_check", "labels", "vips", "tasks", "stack", NULL,
	};
	const char *created = NULL, *key;
	json_t *v, *item;
	size_t i, n;

	snprintf(c->where, sizeof(c->where), "services[%zu]", idx);
	if (!json_is_object(obj))
		return rf_fail(c, "must be an object");
	if (!json_object_get(obj, "name"))
		return rf_fail(c, "\"name\" is required");
	if (rf_str(c, obj, "name", 1, &s->name) < 0)
		return -1;
	snprintf(c->where, sizeof(c->where), "services[%zu] (%.48s)", idx, s->name);
	if (rf_keys(c, obj, known) < 0 || rf_str(c, obj, "id", 1, &s->id) < 0 ||
	    rf_str(c, obj, "stack", 1, &s->stack) < 0 || rf_str(c, obj, "created", 1, &created) < 0)
		return -1;
	if (!s->id)
		s->id = s->name;
	if (created && rf_rfc3339(created, &s->created_ms) < 0)
		return rf_fail(c, "\"created\" must be an RFC 3339 time such as 2024-05-01T12:00:00Z");

	v = json_object_get(obj, "health_check");
	if (v) {
		if (!json_is_boolean(v))
			return rf_fail(c, "\"health_check\" must be true or false");
		s->has_healthcheck = json_is_true(v);
	}

	v = json_object_get(obj, "labels");
	if (v) {
		if (!json_is_object(v))
			return rf_fail(c, "\"labels\" must be an object of strings");
		s->labels = arena_calloc(c->m->arena, json_object_size(v) + 1, sizeof(*s->labels));
		if (!s->labels)
			return rf_oom(c);
		json_object_foreach(v, key, item) {
			struct model_label *l = &s->labels[s->nlabels];

			if (!json_is_string(item))
				return rf_fail(c, "label \"%.64s\" must be a string", key);
			if (!*key)
				return rf_fail(c, "a label has an empty name");
			l->key = arena_strdup(c->m->arena, key);
			l->value = arena_strdup(c->m->arena, json_string_value(item));
			if (!l->key || !l->value)
				return rf_oom(c);
			s->nlabels++;
		}
	}

	v = json_object_get(obj, "vips");
	if (v) {
		static const char *const vip_known[] = { "network", "network_id", "address", NULL };

		if (!json_is_array(v))
			return rf_fail(c, "\"vips\" must be an array");
		n = json_array_size(v);
		s->vips = arena_calloc(c->m->arena, n + 1, sizeof(*s->vips));
		if (!s->vips)
			return rf_oom(c);
		json_array_foreach(v, i, item) {
			struct model_netattach *a = &s->vips[i];

			snprintf(c->where, sizeof(c->where), "services[%zu] (%.48s).vips[%zu]", idx, s->name, i);
			if (!json_is_object(item))
				return rf_fail(c, "must be an object");
			if (rf_keys(c, item, vip_known) < 0 || rf_addr(c, item, &a->addr) < 0 ||
			    rf_str(c, item, "network", 1, &a->network) < 0 ||
			    rf_str(c, item, "network_id", 1, &a->network_id) < 0)
				return -1;
		}
		s->nvips = n;
	}

	v = json_object_get(obj, "tasks");
	if (v) {
		const char **ids, *dup;

		if (!json_is_array(v))
			return rf_fail(c, "\"tasks\" must be an array");
		n = json_array_size(v);
		s->tasks = arena_calloc(c->m->arena, n + 1, sizeof(*s->tasks));
		ids = arena_alloc(c->m->arena, (n + 1) * sizeof(*ids));
		if (!s->tasks || !ids)
			return rf_oom(c);
		json_array_foreach(v, i, item) {
			snprintf(c->where, sizeof(c->where), "services[%zu] (%.48s).tasks[%zu]", idx, s->name, i);
			if (rf_task(c, item, s, i, &s->tasks[i]) < 0)
				return -1;
			ids[i] = s->tasks[i].id;
		}
		s->ntasks = n;
		snprintf(c->where, sizeof(c->where), "services[%zu] (%.48s)", idx, s->name);
		dup = rf_duplicate(ids, n);
		if (dup)
			return rf_fail(c, "two tasks have the ID \"%.64s\"", dup);
	}
	return 0;
}

static struct model *rf_model(json_t *root, char *err, size_t errlen)
{
	static const char *const known[] = { "services", NULL };
	struct rf_ctx c = { .err = err, .errlen = errlen };
	const char **names, **ids, *dup;
	json_t *svcs, *item;
	size_t i, n;

	c.m = model_new(RF_SOURCE);
	if (!c.m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!json_is_object(root)) {
		rf_fail(&c, "the file must hold a JSON object with a \"services\" array");
		goto out_free_model;
	}
	if (rf_keys(&c, root, known) < 0)
		goto out_free_model;
	svcs = json_object_get(root, "services");
	if (!json_is_array(svcs)) {
		rf_fail(&c, "\"services\" must be an array");
		goto out_free_model;
	}
	n = json_array_size(svcs);
	c.m->svcs = arena_calloc(c.m->arena, n + 1, sizeof(*c.m->svcs));
	names = arena_alloc(c.m->arena, (n + 1) * sizeof(*names));
	ids = arena_alloc(c.m->arena, (n + 1) * sizeof(*ids));
	if (!c.m->svcs || !names || !ids) {
		rf_oom(&c);
		goto out_free_model;
	}
	json_array_foreach(svcs, i, item) {
		if (rf_service(&c, item, i, &c.m->svcs[i]) < 0)
			goto out_free_model;
		names[i] = c.m->svcs[i].name;
		ids[i] = c.m->svcs[i].id;
	}
	c.m->nsvcs = n;
	c.where[0] = '\0';
	dup = rf_duplicate(names, n);
	if (dup) {
		rf_fail(&c, "two services are named \"%.64s\"", dup);
		goto out_free_model;
	}
	/* IDs identify services from one table to the next */
	dup = rf_duplicate(ids, n);
	if (dup) {
		rf_fail(&c, "two services have the ID \"%.64s\"", dup);
		goto out_free_model;
	}
	return c.m;

out_free_model:
	model_free(c.m);
	return NULL;
}

struct model *routesfile_parse(const char *text, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	struct model *m;

	if (!root) {
		snprintf(err, errlen, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	m = rf_model(root, err, errlen);
	json_decref(root);
	return m;
}

struct model *routesfile_load(const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	struct model *m;
	char why[200];

	if (!root) {
		if (jerr.line > 0)
			snprintf(err, errlen, "%s: line %d, column %d: %s", path, jerr.line, jerr.column,
				 jerr.text);
		else
			snprintf(err, errlen, "%s", jerr.text);
		return NULL;
	}
	m = rf_model(root, why, sizeof(why));
	json_decref(root);
	if (!m)
		snprintf(err, errlen, "%s: %s", path, why);
	return m;
}
