/* Shared readers for Docker objects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/netaddr.h"
#include "common/arena.h"
#include "common/errlog.h"
#include "common/jscan.h"
#include "common/log.h"
#include "dockerapi/dockerobj.h"

#define LB_PREFIX "com.docker.lb."
#define DOCKEROBJ_MAX_ADDRS   32   /* addresses of one task */
#define DOCKEROBJ_MAX_PER_NET 8    /* addresses of one task on one network */
#define DOCKEROBJ_LIST_CHUNK  (64 * 1024)   /* arena chunks for a list's records */

/************************************************************************/
/*                               fields                                 */
/************************************************************************/

int dockerobj_enter(struct jscan *s, const char *why, const char **reason)
{
	if (jscan_peek(s) != JSCAN_OBJECT) {
		*reason = why;
		return jscan_skip(s) < 0 ? -1 : 0;
	}
	return jscan_enter_object(s) < 0 ? -1 : 1;
}

int dockerobj_str(struct jscan *s, struct arena *a, const char **out, const char **reason)
{
	struct jscan_str v;

	*out = NULL;
	if (jscan_null(s))
		return 0;
	if (jscan_peek(s) != JSCAN_STRING) {
		*reason = "a string field holds another type";
		return jscan_skip(s);
	}
	if (jscan_string(s, &v) < 0)
		return -1;
	*out = jscan_str_dup(a, &v);
	if (!*out)
		*reason = "a string is not valid UTF-8 or holds a NUL";
	return 0;
}

int dockerobj_next(struct jscan *s, struct arena *a, const char *const *names,
		   const char **const *strs, int *which, const char **reason)
{
	int rc, nstrs = 0;

	while (strs && strs[nstrs])
		nstrs++;
	while ((rc = jscan_next_known(s, names, which)) == 1) {
		if (*which >= nstrs)
			return 1;
		if (dockerobj_str(s, a, strs[*which], reason) < 0)
			return -1;
	}
	return rc;
}

struct dockerobj_str_ctx {
	struct arena *a;
	const char **out;
	const char **reason;
};

static int dockerobj_str_at(struct jscan *s, void *arg)
{
	struct dockerobj_str_ctx *c = arg;

	return dockerobj_str(s, c->a, c->out, c->reason);
}

int dockerobj_path_str(struct jscan *s, const char *const *path, struct arena *a,
		       const char **out, const char **reason)
{
	struct dockerobj_str_ctx c = { a, out, reason };

	*out = NULL;
	return jscan_path(s, path, dockerobj_str_at, &c);
}

int dockerobj_enum(struct jscan *s, const char *const *words, int *out)
{
	struct jscan_str v;

	*out = -1;
	if (jscan_peek(s) != JSCAN_STRING)
		return jscan_skip(s);
	if (jscan_string(s, &v) < 0)
		return -1;
	for (int i = 0; words[i]; i++) {
		if (jscan_str_eq(&v, words[i])) {
			*out = i;
			break;
		}
	}
	return 0;
}

/* Copies a string value into <buf> of <size> bytes: "" when it is of
 * another type, too long or not valid.
 */
static int dockerobj_copy(struct jscan *s, char *buf, size_t size)
{
	struct jscan_str v;

	buf[0] = '\0';
	if (jscan_peek(s) != JSCAN_STRING)
		return jscan_skip(s);
	if (jscan_string(s, &v) < 0)
		return -1;
	if (jscan_str_copy(&v, buf, size) < 0)
		buf[0] = '\0';
	return 0;
}

int dockerobj_int(struct jscan *s, int64_t *out, const char **reason)
{
	struct jscan try;

	if (jscan_null(s))
		return 0;
	if (jscan_peek(s) != JSCAN_NUMBER) {
		*reason = "a number field holds another type";
		return jscan_skip(s);
	}
	/* a fraction or an out-of-range integer is a bad field, not a syntax
	 * error: try on a copy, skip the value on the real scanner if it fails */
	try = *s;
	if (jscan_int64(&try, out) == 0) {
		*s = try;
		return 0;
	}
	*reason = "an integer field holds a fraction or is out of range";
	return jscan_skip(s);
}

/************************************************************************/
/*                                labels                                */
/************************************************************************/

int dockerobj_labels(struct jscan *s, struct arena *a, struct model_label **out, size_t *n,
		     const char **reason)
{
	struct jscan_str key, val;
	size_t i = 0;
	long count;
	int rc;

	*out = NULL;
	*n = 0;
	if (jscan_null(s))
		return 0;
	rc = dockerobj_enter(s, "labels are not an object", reason);
	if (rc <= 0)
		return rc;
	/* count first, to allocate once */
	count = jscan_count(s, JSCAN_OBJECT);
	*out = count > 0 ? arena_calloc(a, (size_t)count, sizeof(**out)) : NULL;
	if (count > 0 && !*out) {
		*reason = "out of memory";
		count = 0;
	}
	while ((rc = jscan_next_member(s, &key)) == 1) {
		const char *k, *v;

		if (jscan_peek(s) != JSCAN_STRING) {
			if (jscan_skip(s) < 0)
				return -1;
			continue;
		}
		if (jscan_string(s, &val) < 0)
			return -1;
		k = jscan_str_dup(a, &key);
		v = jscan_str_dup(a, &val);
		if (!k || !v) {
			*reason = "a label is not valid UTF-8 or holds a NUL";
			continue;
		}
		if ((long)i < count) {
			(*out)[i].key = k;
			(*out)[i].value = v;
			i++;
		}
	}
	*n = i;
	return rc < 0 ? -1 : 0;
}

const char *dockerobj_label(const struct model_label *labels, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(labels[i].key, key) == 0)
			return labels[i].value;
	return NULL;
}

int dockerobj_routed(const struct model_label *labels, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strncmp(labels[i].key, LB_PREFIX, sizeof(LB_PREFIX) - 1) == 0)
			return 1;
	return 0;
}

/************************************************************************/
/*                                times                                 */
/************************************************************************/

/* Reads <n> digits at <*p> into <out>. Returns 0 or -1. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int64_t dockerobj_time_ms(const char *s)
{
	struct tm tm = { 0 };
	int year, mon, day, hour, min, sec, ms = 0, off = 0;
	const char *p = s;
	int64_t t;

	if (!s || digits(&p, 4, &year) < 0 || *p++ != '-' || digits(&p, 2, &mon) < 0 ||
	    *p++ != '-' || digits(&p, 2, &day) < 0 || (*p != 'T' && *p != 't' && *p != ' '))
		return -1;
	p++;
	if (digits(&p, 2, &hour) < 0 || *p++ != ':' || digits(&p, 2, &min) < 0 ||
	    *p++ != ':' || digits(&p, 2, &sec) < 0)
		return -1;
	if (*p == '.') {
		int scale = 100, nd = 0;

		p++;
		while (*p >= '0' && *p <= '9') {
			if (nd < 3)
				ms += (*p - '0') * scale;
			scale /= 10;
			nd++;
			p++;
		}
		if (!nd)
			return -1;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh, om;

		p++;
		if (digits(&p, 2, &oh) < 0 || *p++ != ':' || digits(&p, 2, &om) < 0 || oh > 23 || om > 59)
			return -1;
		off = sign * (oh * 60 + om);
	} else {
		return -1;
	}
	if (*p || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
		return -1;
	if (year < 1970)
		return 0;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm);
	if (t < 0)
		return 0;
	return (t - (int64_t)off * 60) * 1000 + ms;
}

/************************************************************************/
/*                      a task's network addresses                      */
/************************************************************************/

/* The network of an attachment: {"ID", "Spec": {"Name"}}. */
static int dockerobj_network(struct jscan *s, struct arena *a, const char **id, const char **name)
{
	static const char *const names[] = { "ID", "Spec", NULL };
	static const char *const spec_name[] = { "Name", NULL };
	const char *why = NULL;   /* a network we cannot name still has addresses */
	const char **const strs[] = { id, NULL };
	int rc, which;

	rc = jscan_open_object(s);
	if (rc <= 0)
		return rc;
	while ((rc = dockerobj_next(s, a, names, strs, &which, &why)) == 1)
		if (dockerobj_path_str(s, spec_name, a, name, &why) < 0)
			return -1;
	return rc;
}

/* Adds the addresses of ["10.0.1.5/24", ...] to <addrs> (<max> at most). */
static int dockerobj_addresses(struct jscan *s, struct netaddr *addrs, size_t max, size_t *n)
{
	struct jscan_str v;
	char buf[64];
	int el;

	el = jscan_open_array(s);
	if (el <= 0)
		return el;
	while ((el = jscan_next_element(s)) == 1) {
		if (jscan_peek(s) != JSCAN_STRING) {
			if (jscan_skip(s) < 0)
				return -1;
			continue;
		}
		if (jscan_string(s, &v) < 0)
			return -1;
		/* an address we cannot read is left out */
		if (*n < max && jscan_str_copy(&v, buf, sizeof(buf)) >= 0 &&
		    netaddr_parse_cidr(&addrs[*n], buf) == 0)
			(*n)++;
	}
	return el;
}

/* One NetworksAttachments entry: adds one attachment per address to <out>
 * (<max> at most).
 */
static int dockerobj_attachment(struct jscan *s, struct arena *a, struct model_netattach *out,
				size_t max, size_t *n)
{
	static const char *const names[] = { "Network", "Addresses", NULL };
	const char *net_id = NULL, *net_name = NULL;
	struct netaddr addrs[DOCKEROBJ_MAX_PER_NET];
	size_t naddrs = 0;
	int rc, which;

	rc = jscan_open_object(s);
	if (rc <= 0)
		return rc;
	while ((rc = jscan_next_known(s, names, &which)) == 1)
		if ((which == 0 ? dockerobj_network(s, a, &net_id, &net_name) :
		     dockerobj_addresses(s, addrs, DOCKEROBJ_MAX_PER_NET, &naddrs)) < 0)
			return -1;
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

int dockerobj_attachments(struct jscan *s, struct arena *a, struct model_netattach **out,
			  size_t *n)
{
	struct model_netattach tmp[DOCKEROBJ_MAX_ADDRS];
	size_t count = 0;
	int el;

	*out = NULL;
	*n = 0;
	el = jscan_open_array(s);
	if (el <= 0)
		return el;
	while ((el = jscan_next_element(s)) == 1)
		if (dockerobj_attachment(s, a, tmp, DOCKEROBJ_MAX_ADDRS, &count) < 0)
			return -1;
	if (el < 0)
		return -1;
	if (count) {
		*out = arena_alloc(a, count * sizeof(**out));
		if (!*out)
			return 0;   /* no address: the task is not routed */
		memcpy(*out, tmp, count * sizeof(**out));
		*n = count;
	}
	return 0;
}

/************************************************************************/
/*                            published ports                           */
/************************************************************************/

/* One PortConfig into <rec>, a struct model_port. */
static int dockerobj_port(struct jscan *s, struct arena *a, void *rec, void *arg)
{
	static const char *const names[] = {
		"TargetPort", "PublishedPort", "Protocol", "PublishMode", NULL
	};
	/* in the order of enum model_proto and enum model_publish */
	static const char *const protocols[] = { "tcp", "udp", "sctp", NULL };
	static const char *const modes[] = { "ingress", "host", NULL };
	struct model_port *p = rec;
	int64_t target = 0, published = 0;
	int rc, which, proto = MODEL_PROTO_TCP, mode = MODEL_PUBLISH_INGRESS;
	const char *why = NULL;

	rc = jscan_open_object(s);
	if (rc <= 0)
		return rc;
	while ((rc = jscan_next_known(s, names, &which)) == 1) {
		int r;

		switch (which) {
		case 0:
			r = dockerobj_int(s, &target, &why);
			break;
		case 1:
			r = dockerobj_int(s, &published, &why);
			break;
		case 2:
			r = dockerobj_enum(s, protocols, &proto);
			break;
		default:
			r = dockerobj_enum(s, modes, &mode);
			break;
		}
		if (r < 0)
			return -1;
	}
	if (rc < 0)
		return -1;
	if (why || proto < 0 || mode < 0 || target < 1 || target > 65535 ||
	    published < 0 || published > 65535)
		return 0;
	p->target = (uint16_t)target;
	p->published = (uint16_t)published;
	p->protocol = (enum model_proto)proto;
	p->mode = (enum model_publish)mode;
	return 1;
}

static int dockerobj_port_eq(const struct model_port *x, const struct model_port *y)
{
	return x->target == y->target && x->published == y->published &&
	       x->protocol == y->protocol && x->mode == y->mode;
}

int dockerobj_ports(struct jscan *s, struct arena *a, struct model_port **out, size_t *n)
{
	struct model_port *p;
	size_t kept = 0;
	void *v;
	int rc = dockerobj_array(s, a, sizeof(*p), dockerobj_port, NULL, &v, n);

	/* dockerd 20.10 lists each host-mode port of a task twice (recorded in
	 * tests/fixtures/docker/hostport_tasks.json): keep one of each */
	p = v;
	for (size_t i = 0; i < *n; i++) {
		size_t j = 0;

		while (j < kept && !dockerobj_port_eq(&p[j], &p[i]))
			j++;
		if (j == kept)
			p[kept++] = p[i];
	}
	*n = kept;
	*out = kept ? p : NULL;
	return rc;
}

/************************************************************************/
/*                               lists                                  */
/************************************************************************/

int dockerobj_list(const char *json, size_t len, const char *what, jscan_fn fn, void *arg,
		   char *err, size_t errlen)
{
	struct jscan s;
	int el;

	jscan_init(&s, json, len);
	if (jscan_enter_array(&s) < 0)
		goto out_bad;
	while ((el = jscan_next_element(&s)) == 1)
		if (fn(&s, arg) < 0)
			goto out_bad;
	if (el < 0 || jscan_finish(&s) < 0)
		goto out_bad;
	return 0;

out_bad:
	/* every failure of the scanner is recorded in it: the rest is <fn> */
	if (!jscan_error(&s))
		snprintf(err, errlen, "out of memory");
	else
		snprintf(err, errlen, "bad %s list: %s", what, jscan_error(&s));
	return -1;
}

int dockerobj_array(struct jscan *s, struct arena *a, size_t size, dockerobj_rec_fn fn,
		    void *arg, void **out, size_t *n)
{
	char *v;
	long count;
	int el;

	*out = NULL;
	*n = 0;
	el = jscan_open_array(s);
	if (el <= 0)
		return el;
	/* count first, to allocate once */
	count = jscan_count(s, JSCAN_ARRAY);
	v = count > 0 ? arena_calloc(a, (size_t)count, size) : NULL;
	while ((el = jscan_next_element(s)) == 1) {
		int keep = v ? fn(s, a, v + *n * size, arg) : jscan_skip(s);

		if (keep < 0)
			return -1;
		if (keep)
			(*n)++;
		else if (v)
			memset(v + *n * size, 0, size);
	}
	if (*n)
		*out = v;
	return el;
}

struct dockerobj_collect_ctx {
	size_t size;
	dockerobj_rec_fn fn;
	void *arg;
	struct arena *a;
	char *v;                  /* records so far, <n> of <cap> */
	size_t n, cap;
};

static int dockerobj_collect_one(struct jscan *s, void *arg)
{
	struct dockerobj_collect_ctx *c = arg;
	int keep;

	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		char *nv = realloc(c->v, ncap * c->size);

		if (!nv)
			return -1;
		c->v = nv;
		c->cap = ncap;
	}
	memset(c->v + c->n * c->size, 0, c->size);
	keep = c->fn(s, c->a, c->v + c->n * c->size, c->arg);
	if (keep < 0)
		return -1;
	c->n += (size_t)keep;
	return 0;
}

int dockerobj_collect(const char *json, size_t len, const char *what, size_t size,
		      dockerobj_rec_fn fn, void *arg, struct dockerobj_records *out,
		      char *err, size_t errlen)
{
	/* a list is not counted first: that would walk it twice */
	struct dockerobj_collect_ctx c = { .size = size, .fn = fn, .arg = arg };
	int rc = -1;

	memset(out, 0, sizeof(*out));
	c.a = arena_new(DOCKEROBJ_LIST_CHUNK);
	if (!c.a) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (dockerobj_list(json, len, what, dockerobj_collect_one, &c, err, errlen) < 0)
		goto out_free;
	/* the records move to the arena, where their strings are */
	out->v = c.n ? arena_alloc(c.a, c.n * size) : NULL;
	if (c.n && !out->v) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	if (c.n)
		memcpy(out->v, c.v, c.n * size);
	out->n = c.n;
	out->arena = c.a;
	c.a = NULL;
	rc = 0;
out_free:
	arena_free(c.a);
	free(c.v);
	return rc;
}

void dockerobj_skipped(const char *subsys, const char *what, const char *id, const char *reason)
{
	char subject[160];

	LOG(LL_WARN, subsys, "skipping a malformed entry", KVS("kind", what),
	    KVS("id", id ? id : "(none)"), KVS("reason", reason));
	snprintf(subject, sizeof(subject), "%s %s", what, id ? id : "(no ID)");
	errlog_record(ERRLOG_DOCKER, subject, reason);
}

/************************************************************************/
/*                         the daemon itself                            */
/************************************************************************/

/* Reads <json>, a document of one object, calling <fn> with <arg> once
 * inside it to walk its members.
 */
static int dockerobj_document(const char *json, size_t len, jscan_fn fn, void *arg,
			      char *err, size_t errlen)
{
	struct jscan s;

	jscan_init(&s, json, len);
	if (jscan_enter_object(&s) < 0 || fn(&s, arg) < 0 || jscan_finish(&s) < 0) {
		snprintf(err, errlen, "%s", jscan_error(&s) ? jscan_error(&s) : "not a JSON object");
		return -1;
	}
	return 0;
}

struct dockerobj_version_ctx {
	char *out[2];
	size_t size;
};

static int dockerobj_version_members(struct jscan *s, void *arg)
{
	static const char *const names[] = { "ApiVersion", "MinAPIVersion", NULL };
	struct dockerobj_version_ctx *c = arg;
	int rc, which;

	while ((rc = jscan_next_known(s, names, &which)) == 1)
		if (dockerobj_copy(s, c->out[which], c->size) < 0)
			return -1;
	return rc;
}

int dockerobj_version(const char *json, size_t len, char *api, char *min_api, size_t size,
		      char *err, size_t errlen)
{
	struct dockerobj_version_ctx c = { { api, min_api }, size };

	api[0] = min_api[0] = '\0';
	return dockerobj_document(json, len, dockerobj_version_members, &c, err, errlen);
}

/* The "Swarm" object of /info. */
static int dockerobj_info_swarm(struct jscan *s, struct dockerobj_info *out)
{
	static const char *const names[] = { "LocalNodeState", "ControlAvailable", NULL };
	static const char *const active[] = { "active", NULL };
	int rc, which, state;

	rc = jscan_open_object(s);
	if (rc <= 0)
		return rc;
	while ((rc = jscan_next_known(s, names, &which)) == 1) {
		if (which == 0) {
			if (dockerobj_enum(s, active, &state) < 0)
				return -1;
			out->swarm_active = state == 0;
		} else if (jscan_peek(s) == JSCAN_TRUE || jscan_peek(s) == JSCAN_FALSE) {
			if (jscan_bool(s, &out->swarm_manager) < 0)
				return -1;
		} else if (jscan_skip(s) < 0) {
			return -1;
		}
	}
	return rc;
}

static int dockerobj_info_members(struct jscan *s, void *arg)
{
	static const char *const names[] = { "Name", "Swarm", NULL };
	struct dockerobj_info *out = arg;
	int rc, which;

	while ((rc = jscan_next_known(s, names, &which)) == 1)
		if ((which == 0 ? dockerobj_copy(s, out->name, sizeof(out->name)) :
		     dockerobj_info_swarm(s, out)) < 0)
			return -1;
	return rc;
}

int dockerobj_info(const char *json, size_t len, struct dockerobj_info *out,
		   char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	return dockerobj_document(json, len, dockerobj_info_members, out, err, errlen);
}
