/* The certificate manager: labels in, certificate sets out to every
 * HAProxy.
 *
 * Three layers:
 * - blobs: the content of one secret, config or file name, wherever it was
 *   found (a name may serve as a certificate and as a key);
 * - idents: one certificate the labels ask for (a certificate name and, when
 *   apart, a key name), with the hosts and services using it, and its state;
 * - the set (certset.h): what the idents make, handed to every pusher,
 *   one per HAProxy runtime API target.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ev.h>

#include "certs/certs.h"
#include "certs/certset.h"
#include "certs/certsrc.h"
#include "certs/haproxy_cli.h"
#include "certs/pem.h"
#include "certs/pusher.h"
#include "certs/secretmount.h"
#include "certs/swarmobj.h"
#include "common/arena.h"
#include "common/clock.h"
#include "common/errlog.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "common/strmap.h"
#include "dockerapi/dockerapi.h"
#include "dockerapi/dockerhost.h"
#include "routing/labels.h"
#include "routing/model.h"
#include "routing/rtable.h"

#define CERTS_MAX_LOOKUPS   8          /* Docker lookups in flight */
#define CERTS_DOCKER_TIMEOUT_MS 10000
#define CERTS_DOCKER_MAX_BYTES ((size_t)8 << 20)
#define CERTS_REASON_MAX    256
#define CERTS_DEFAULT_NAME  "default"
#define CERTS_TASK_ADDRS    16         /* addresses kept per task while resolving */

enum blob_state {
	BLOB_NEW = 0,        /* to be looked for */
	BLOB_QUEUED,         /* waiting for a free Docker lookup */
	BLOB_LOOKING,        /* asking Docker */
	BLOB_FILE,           /* read from <certs_dir>/<name> */
	BLOB_CONFIG,         /* read from the Docker config <name> */
	BLOB_SECRET,         /* a Docker secret that is not mounted into the agent */
	BLOB_MISSING,        /* found nowhere */
	BLOB_ERROR,          /* could not be read or asked for */
};

struct certs;

struct blob {
	struct certs *owner;
	char *name;
	enum blob_state state;
	struct sbuf data;
	struct certsrc_stamp stamp;
	char reason[CERTS_REASON_MAX];
	char secret_id[128];
	int64_t looked_ms;       /* monotonic: end of the last lookup */
	struct dockerapi_req *req;
	int step;                /* lookup: 0 configs, 1 secrets */
	unsigned version;        /* changes with the data */
	int used;
};

enum ident_state {
	ID_LOADING = 0,
	ID_READY,
	ID_MISSING,
	ID_REFUSED,
};

struct ident {
	char *name;              /* cert, or cert+key */
	char *cert;
	char *key;               /* NULL: in the certificate's text */
	char *filters;           /* hosts, normalised, sorted, separated by ' ' */
	char *services;          /* service names, ", " */
	enum ident_state state;
	char reason[CERTS_REASON_MAX];
	const char *source;      /* "file", "secret", "config", ... */
	struct pem_bundle pem;
	unsigned cert_version;   /* of the blobs the bundle was made from */
	unsigned key_version;
	uint64_t refused_hash;   /* content HAProxy refused */
	char refused_reason[CERTS_REASON_MAX];
	enum ident_state reported_state;   /* the last state logged ... */
	char reported[CERTS_REASON_MAX];   /* ... and its reason */
	int invalid;             /* a name is not a Docker name: never looked for */
};

struct target {
	char *key;               /* the option, or "<group>/<task>" */
	int group;               /* index in groups, -1 for a fixed address */
	struct pusher *pusher;
	int seen;
};

struct group {               /* tasks:SERVICE:PORT */
	struct certs *owner;
	char *spec;
	char *service;
	unsigned port;
	struct dockerapi_req *req;
	char last_error[CERTS_REASON_MAX];
	long tasks;
	int64_t resolved_ms;     /* wall clock of the last answer */
};

struct certs {
	struct ev_loop *loop;
	struct certs_opts o;
	struct dockerhost host;
	struct dockerapi *api;
	struct secretmount *mount;

	struct strmap *blobs;    /* name -> struct blob */
	unsigned lookups;        /* in flight */

	struct ident *ids;       /* sorted by name */
	size_t nids;
	int have_table;
	uint64_t table_hash;

	struct ident dflt;       /* --default-cert */
	int has_default;
	struct sbuf dflt_data;
	struct certsrc_stamp dflt_stamp;

	struct target **targets;
	size_t ntargets;
	struct group *groups;
	size_t ngroups;
	int64_t resolve_due_ms;

	struct certset *set;
	unsigned long generation;
	ev_timer tick;
};

static void certs_publish(struct certs *c);
static void certs_lookup_start(struct certs *c, struct blob *b);

/************************************************************************/
/*                                 blobs                                */
/************************************************************************/

static struct blob *blob_get(struct certs *c, const char *name)
{
	struct blob *b = strmap_get(c->blobs, name);

	if (b)
		return b;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->name = strdup(name);
	if (!b->name || strmap_put(c->blobs, b->name, b) < 0) {
		free(b->name);
		free(b);
		return NULL;
	}
	b->owner = c;
	return b;
}

static void blob_free(struct blob *b)
{
	if (b->req)
		dockerapi_cancel(b->req);
	if (b->state == BLOB_LOOKING)
		b->owner->lookups--;
	sbuf_free(&b->data);
	free(b->name);
	free(b);
}

static void blob_set(struct blob *b, enum blob_state st, const char *reason)
{
	b->state = st;
	snprintf(b->reason, sizeof(b->reason), "%s", reason ? reason : "");
}

/* Looks at the file first: a mounted secret, or a file in --certs-dir. */
static void blob_load(struct certs *c, struct blob *b)
{
	char err[CERTS_REASON_MAX];
	int rc = certsrc_read(c->o.certs_dir, b->name, &b->data, &b->stamp, err, sizeof(err));

	if (rc > 0) {
		b->version++;
		blob_set(b, BLOB_FILE, NULL);
		return;
	}
	if (rc < 0) {
		blob_set(b, BLOB_ERROR, err);
		return;
	}
	if (!c->api) {
		snprintf(err, sizeof(err), "no file %s/%s", c->o.certs_dir, b->name);
		blob_set(b, BLOB_MISSING, err);
		b->looked_ms = clock_mono_ms();
		return;
	}
	b->step = 0;
	blob_set(b, BLOB_QUEUED, NULL);
	certs_lookup_start(c, b);
}

/************************************************************************/
/*                      Docker configs and secrets                       */
/************************************************************************/

static void certs_evaluate_all(struct certs *c);
static void certs_start_queued(struct certs *c);

static void certs_lookup_done(struct certs *c, struct blob *b)
{
	b->req = NULL;
	b->looked_ms = clock_mono_ms();
	c->lookups--;
	certs_evaluate_all(c);
	certs_publish(c);
	certs_start_queued(c);
}

static void certs_on_lookup(void *arg, const struct dockerapi_resp *r)
{
	struct blob *b = arg;
	struct certs *c = b->owner;
	char err[CERTS_REASON_MAX], why[160];
	int rc;

	if (r->error || r->status < 200 || r->status > 299) {
		dockerapi_describe(r, why, sizeof(why));
		snprintf(err, sizeof(err), "cannot look for %s in Docker: %s", b->name, why);
		blob_set(b, BLOB_ERROR, err);
		certs_lookup_done(c, b);
		return;
	}
	if (b->step == 0) {
		rc = swarmobj_config_data(r->body, r->len, b->name, &b->data, err, sizeof(err));
		if (rc > 0) {
			b->version++;
			blob_set(b, BLOB_CONFIG, NULL);
		} else if (rc < 0) {
			blob_set(b, BLOB_ERROR, err);
		} else {
			/* not a config: a secret? the next lookup says */
			b->step = 1;
			c->lookups--;
			b->req = NULL;
			blob_set(b, BLOB_QUEUED, NULL);
			certs_lookup_start(c, b);
			return;
		}
		certs_lookup_done(c, b);
		return;
	}
	rc = swarmobj_secret_id(r->body, r->len, b->name, b->secret_id, sizeof(b->secret_id),
				err, sizeof(err));
	if (rc > 0) {
		if (c->mount)
			snprintf(err, sizeof(err), "secret %s is not mounted into the agent yet: "
				 "mounting it into service %s (the agents restart with it)",
				 b->name, c->o.agent_service);
		else
			snprintf(err, sizeof(err), "secret %s is not mounted into the agent at %s/%s: "
				 "add it to the agent's service, or run the agent with --manage-secrets",
				 b->name, c->o.certs_dir, b->name);
		blob_set(b, BLOB_SECRET, err);
	} else if (rc < 0) {
		blob_set(b, BLOB_ERROR, err);
	} else {
		snprintf(err, sizeof(err), "no secret or config named %s (and no file %s/%s)",
			 b->name, c->o.certs_dir, b->name);
		blob_set(b, BLOB_MISSING, err);
	}
	certs_lookup_done(c, b);
}

static void certs_lookup_start(struct certs *c, struct blob *b)
{
	struct dockerapi_call call = { 0 };
	struct sbuf filter = SBUF_INIT, path = SBUF_INIT;
	char err[CERTS_REASON_MAX];

	if (c->lookups >= CERTS_MAX_LOOKUPS)
		return;   /* stays queued: the next lookup to end starts it */
	/* names are [A-Za-z0-9_.-]: nothing to escape in the JSON. The
	 * "name" filter also matches other names (Docker 20.10 has no "names"
	 * for configs): the answer is searched for the exact one. */
	sbuf_printf(&filter, "{\"name\":[\"%s\"]}", b->name);
	sbuf_puts(&path, b->step == 0 ? "/configs?filters=" : "/secrets?filters=");
	dockerapi_urlencode(&path, filter.buf);
	call.path = path.buf;
	call.unversioned = 1;
	call.timeout_ms = CERTS_DOCKER_TIMEOUT_MS;
	call.max_bytes = CERTS_DOCKER_MAX_BYTES;
	call.on_done = certs_on_lookup;
	call.arg = b;
	b->req = dockerapi_send(c->api, &call, err, sizeof(err));
	sbuf_free(&filter);
	sbuf_free(&path);
	if (!b->req) {
		blob_set(b, BLOB_ERROR, err);
		b->looked_ms = clock_mono_ms();
		return;
	}
	c->lookups++;
	b->state = BLOB_LOOKING;
}

static void certs_start_queued(struct certs *c)
{
	size_t pos = 0;
	const char *key;
	void *val;

	while (c->lookups < CERTS_MAX_LOOKUPS && strmap_next(c->blobs, &pos, &key, &val)) {
		struct blob *b = val;

		if (b->state == BLOB_QUEUED)
			certs_lookup_start(c, b);
	}
}

/************************************************************************/
/*                                idents                                */
/************************************************************************/

static void ident_clear(struct ident *id)
{
	free(id->name);
	free(id->cert);
	free(id->key);
	free(id->filters);
	free(id->services);
	pem_bundle_free(&id->pem);
	memset(id, 0, sizeof(*id));
}

static const char *blob_source(const struct blob *b)
{
	switch (b->state) {
	case BLOB_FILE:
		return "file";
	case BLOB_CONFIG:
		return "config";
	case BLOB_SECRET:
		return "secret";
	default:
		return "-";
	}
}

/* Logs a refusal once per reason, and lists it in "show errors". */
static void ident_report(struct ident *id)
{
	/* a lookup under way is no news: the outcome is */
	if (id->state == ID_LOADING ||
	    (id->reported_state == id->state && strcmp(id->reported, id->reason) == 0))
		return;
	id->reported_state = id->state;
	snprintf(id->reported, sizeof(id->reported), "%s", id->reason);
	if (id->state == ID_READY) {
		char when[32];

		LOG(LL_INFO, "certs", "certificate ready", KVS("certificate", id->name),
		    KVS("source", id->source), KVS("subject", id->pem.leaf.cn),
		    KVS("not_after", x509_time_str(id->pem.leaf.not_after, when, sizeof(when))),
		    KVS("hosts", id->filters));
		return;
	}
	if (id->state != ID_MISSING && id->state != ID_REFUSED)
		return;
	LOG(LL_WARN, "certs", id->state == ID_REFUSED ? "certificate refused" :
	    "certificate unavailable", KVS("certificate", id->name),
	    KVS("services", id->services), KVS("reason", id->reason));
	errlog_record(ERRLOG_CERT, id->name, id->reason);
}

static int ident_set(struct ident *id, enum ident_state st, const char *reason)
{
	int changed = id->state != st || strcmp(id->reason, reason ? reason : "") != 0;

	id->state = st;
	snprintf(id->reason, sizeof(id->reason), "%s", reason ? reason : "");
	ident_report(id);
	return changed;
}

/* Makes <id> from its blobs' data (from <cert_text> and <key_text> for the
 * default certificate). Returns whether its state changed.
 */
static int ident_build(struct ident *id, const struct sbuf *cert, const struct sbuf *key,
		       unsigned cv, unsigned kv)
{
	char err[CERTS_REASON_MAX], when[32];
	struct pem_bundle b;
	int64_t now = clock_wall_ms() / 1000;

	if ((id->state == ID_READY || id->state == ID_REFUSED) && id->cert_version == cv &&
	    id->key_version == kv && (id->pem.text || id->state == ID_REFUSED)) {
		/* same material: only time can change the verdict */
		if (id->state == ID_READY && id->pem.leaf.not_after < now) {
			snprintf(err, sizeof(err), "expired on %s",
				 x509_time_str(id->pem.leaf.not_after, when, sizeof(when)));
			return ident_set(id, ID_REFUSED, err);
		}
		return 0;
	}
	id->cert_version = cv;
	id->key_version = kv;
	pem_bundle_free(&id->pem);
	if (pem_bundle_load(&b, cert->buf ? cert->buf : "", cert->len,
			    key ? (key->buf ? key->buf : "") : NULL, key ? key->len : 0,
			    err, sizeof(err)) < 0)
		return ident_set(id, ID_REFUSED, err);
	if (b.leaf.not_after < now) {
		snprintf(err, sizeof(err), "expired on %s",
			 x509_time_str(b.leaf.not_after, when, sizeof(when)));
		pem_bundle_free(&b);
		return ident_set(id, ID_REFUSED, err);
	}
	if (id->refused_hash && id->refused_hash == b.hash) {
		pem_bundle_free(&b);
		return ident_set(id, ID_REFUSED, id->refused_reason);
	}
	id->pem = b;
	return ident_set(id, ID_READY, NULL);
}

/* Brings <id> up to date with its blobs. Returns whether it changed. */
static int ident_evaluate(struct certs *c, struct ident *id)
{
	struct blob *cb = blob_get(c, id->cert);
	struct blob *kb = id->key ? blob_get(c, id->key) : NULL;
	struct blob *bs[2] = { cb, kb };

	if (!cb || (id->key && !kb))
		return ident_set(id, ID_MISSING, "out of memory");
	for (int i = 0; i < 2; i++) {
		struct blob *b = bs[i];

		if (!b)
			continue;
		b->used = 1;
		if (b->state == BLOB_NEW)
			blob_load(c, b);
	}
	for (int i = 0; i < 2; i++) {
		struct blob *b = bs[i];

		if (!b)
			continue;
		if (b->state == BLOB_QUEUED || b->state == BLOB_LOOKING) {
			id->source = "-";
			return ident_set(id, ID_LOADING, "looking for it in Docker");
		}
		if (b->state != BLOB_FILE && b->state != BLOB_CONFIG) {
			id->source = blob_source(b);
			return ident_set(id, ID_MISSING, b->reason);
		}
	}
	id->source = !kb || strcmp(blob_source(cb), blob_source(kb)) == 0 ? blob_source(cb) :
		     "file+config";
	/* a mounted secret is a file: say "secret" when it comes from one */
	if (strcmp(c->o.certs_dir, "/run/secrets") == 0 && strcmp(id->source, "file") == 0)
		id->source = "secret";
	return ident_build(id, &cb->data, kb ? &kb->data : NULL, cb->version,
			   kb ? kb->version : 0);
}

static void certs_evaluate_all(struct certs *c)
{
	for (size_t i = 0; i < c->nids; i++)
		if (!c->ids[i].invalid)
			ident_evaluate(c, &c->ids[i]);
}

/* The name of the certificate that <cert> and <key> make, into <buf>. */
static void ident_name(char *buf, size_t len, const char *cert, const char *key)
{
	if (key && strcmp(key, cert) != 0)
		snprintf(buf, len, "%s+%s", cert, key);
	else
		snprintf(buf, len, "%s", cert);
}

/************************************************************************/
/*                           following tables                           */
/************************************************************************/

/* One service asking for a certificate, while a table is read. */
struct want {
	const char *name;        /* in the arena */
	const char *cert;
	const char *key;
	const char *service;
	const char *const *hosts;
	size_t nhosts;
	const char *invalid;     /* a name is not a valid secret or config name */
};

static int want_cmp(const void *a, const void *b)
{
	return strcmp(((const struct want *)a)->name, ((const struct want *)b)->name);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Builds the sorted, unique, space-separated hosts and the service list of
 * the <n> wants at <w> (one certificate). Returns 0 or -1 (memory).
 */
static int certs_merge(const struct want *w, size_t n, char **filters, char **services)
{
	size_t total = 0, k = 0;
	const char **all;
	struct sbuf f = SBUF_INIT, s = SBUF_INIT;

	for (size_t i = 0; i < n; i++)
		total += w[i].nhosts;
	all = calloc(total ? total : 1, sizeof(*all));
	if (!all)
		return -1;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < w[i].nhosts; j++)
			all[k++] = w[i].hosts[j];
	qsort(all, total, sizeof(*all), str_cmp);
	for (size_t i = 0; i < total; i++) {
		if (i && strcmp(all[i], all[i - 1]) == 0)
			continue;
		sbuf_printf(&f, "%s%s", f.len ? " " : "", all[i]);
	}
	for (size_t i = 0; i < n; i++)
		sbuf_printf(&s, "%s%s", i ? ", " : "", w[i].service);
	free(all);
	*filters = strdup(f.buf ? f.buf : "");
	*services = strdup(s.buf ? s.buf : "");
	sbuf_free(&f);
	sbuf_free(&s);
	if (!*filters || !*services) {
		free(*filters);
		free(*services);
		return -1;
	}
	return 0;
}

static struct ident *certs_find_ident(struct ident *ids, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(ids[mid].name, name);

		if (cmp == 0)
			return &ids[mid];
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Reads the wants of <t> into <out> (allocated in <a>). Returns how many,
 * or -1.
 */
static long certs_read_table(const struct rtable *t, struct arena *a, struct want **out)
{
	size_t n = rtable_service_count(t), k = 0;
	struct want *w = arena_calloc(a, n ? n : 1, sizeof(*w));

	if (!w)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct rtable_service_view v;
		struct labels_spec spec;
		char err[256], name[2 * CERTSRC_NAME_MAX + 2];

		rtable_service_at(t, i, &v);
		if (v.status != RTABLE_SVC_ROUTED || !v.ssl_cert)
			continue;
		if (labels_parse(v.model, a, &spec, err, sizeof(err)) < 0 || spec.ssl_passthrough)
			continue;
		if (!certsrc_valid_name(v.ssl_cert) || (v.ssl_key && !certsrc_valid_name(v.ssl_key))) {
			w[k].invalid = !certsrc_valid_name(v.ssl_cert) ? v.ssl_cert : v.ssl_key;
			/* shown, never used as a path: made printable and flat */
			snprintf(name, sizeof(name), "%.64s", w[k].invalid);
			for (char *q = name; *q; q++)
				if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					    "0123456789_.-", *q))
					*q = '_';
		} else {
			ident_name(name, sizeof(name), v.ssl_cert, v.ssl_key);
		}
		w[k].name = arena_strdup(a, name);
		w[k].cert = arena_strdup(a, v.ssl_cert);
		w[k].key = v.ssl_key && strcmp(v.ssl_key, v.ssl_cert) != 0 ?
			   arena_strdup(a, v.ssl_key) : NULL;
		w[k].service = arena_strdup(a, v.name);
		w[k].hosts = spec.hosts;
		w[k].nhosts = spec.nhosts;
		if (!w[k].name || !w[k].cert || !w[k].service || (v.ssl_key && !w[k].key &&
		    strcmp(v.ssl_key, v.ssl_cert) != 0))
			return -1;
		k++;
	}
	qsort(w, k, sizeof(*w), want_cmp);
	*out = w;
	return (long)k;
}

/* A digest of what certificates the table asks for: most tables differ from
 * the last one only in tasks, and then nothing here has to be done.
 */
static uint64_t certs_table_hash(const struct rtable *t)
{
	uint64_t h = HASH_SEED;
	size_t n = rtable_service_count(t);

	for (size_t i = 0; i < n; i++) {
		struct rtable_service_view v;

		rtable_service_at(t, i, &v);
		if (v.status != RTABLE_SVC_ROUTED || !v.ssl_cert)
			continue;
		h = hash_str(h, v.name);
		h = hash_str(h, v.ssl_cert);
		h = hash_str(h, v.ssl_key);
		h = hash_str(h, v.hosts);
		h = hash_str(h, model_label(v.model, "com.docker.lb.ssl_passthrough"));
	}
	return h;
}

/* Moves what <old> learnt (material, state, refusals) into <id>, a new
 * ident of the same name.
 */
static void ident_take(struct ident *id, struct ident *old)
{
	id->state = old->state;
	memcpy(id->reason, old->reason, sizeof(id->reason));
	id->source = old->source;
	id->pem = old->pem;
	memset(&old->pem, 0, sizeof(old->pem));
	id->cert_version = old->cert_version;
	id->key_version = old->key_version;
	id->refused_hash = old->refused_hash;
	memcpy(id->refused_reason, old->refused_reason, sizeof(id->refused_reason));
	id->reported_state = old->reported_state;
	memcpy(id->reported, old->reported, sizeof(id->reported));
}

void certs_on_table(void *arg, const struct rtable *t)
{
	struct certs *c = arg;
	struct arena *a;
	struct want *w;
	struct ident *ids = NULL;
	size_t nids = 0;
	long n;
	uint64_t h = certs_table_hash(t);

	if (c->have_table && h == c->table_hash) {
		certs_publish(c);   /* the table may have become complete */
		return;
	}
	a = arena_new(65536);
	if (!a)
		goto out_oom;
	n = certs_read_table(t, a, &w);
	if (n < 0)
		goto out_free_arena;
	ids = calloc(n ? (size_t)n : 1, sizeof(*ids));
	if (!ids)
		goto out_free_arena;
	/* the new idents, from scratch: the current ones stay intact until
	 * nothing can fail any more */
	for (long i = 0; i < n;) {
		long j = i + 1;
		struct ident *id = &ids[nids++];

		while (j < n && strcmp(w[j].name, w[i].name) == 0)
			j++;
		id->name = strdup(w[i].name);
		id->cert = strdup(w[i].cert);
		id->key = w[i].key ? strdup(w[i].key) : NULL;
		id->source = "-";
		id->invalid = w[i].invalid != NULL;
		if (!id->name || !id->cert || (w[i].key && !id->key) ||
		    certs_merge(&w[i], (size_t)(j - i), &id->filters, &id->services) < 0)
			goto out_free_ids;
		i = j;
	}
	for (size_t i = 0; i < nids; i++) {
		struct ident *old = certs_find_ident(c->ids, c->nids, ids[i].name);

		if (old)
			ident_take(&ids[i], old);
	}
	for (size_t i = 0; i < c->nids; i++)
		ident_clear(&c->ids[i]);
	free(c->ids);
	c->ids = ids;
	c->nids = nids;
	c->have_table = 1;
	c->table_hash = h;
	for (long i = 0, k = 0; i < n; i++) {
		char why[CERTS_REASON_MAX];

		if (i && strcmp(w[i].name, w[i - 1].name) == 0)
			continue;
		if (w[i].invalid) {
			snprintf(why, sizeof(why), "\"%s\" is not a Docker secret or config name "
				 "(letters, digits, '_', '.', '-')", w[i].invalid);
			ident_set(&c->ids[k], ID_MISSING, why);
		}
		k++;
	}
	arena_free(a);
	certs_evaluate_all(c);
	certs_publish(c);
	return;

out_free_ids:
	for (size_t i = 0; i < nids; i++)
		ident_clear(&ids[i]);
	free(ids);
out_free_arena:
	arena_free(a);
out_oom:
	LOG(LL_ERROR, "certs", "out of memory following the routing table; certificates unchanged");
}

/************************************************************************/
/*                             the default                              */
/************************************************************************/

static int certs_load_default(struct certs *c, char *err, size_t errlen)
{
	struct certsrc_stamp st;
	char dir[4096];
	const char *slash = strrchr(c->o.default_cert, '/');
	const char *base = slash ? slash + 1 : c->o.default_cert;
	int rc;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - c->o.default_cert) : 1,
		 slash ? c->o.default_cert : ".");
	if (slash == c->o.default_cert)
		snprintf(dir, sizeof(dir), "/");
	rc = certsrc_read(dir, base, &c->dflt_data, &st, err, errlen);
	if (rc == 0)
		snprintf(err, errlen, "no file %s", c->o.default_cert);
	if (rc <= 0)
		return -1;
	if (memcmp(&st, &c->dflt_stamp, sizeof(st)) != 0)
		c->dflt.cert_version++;
	c->dflt_stamp = st;
	return 0;
}

static int certs_default_changed(struct certs *c)
{
	char err[CERTS_REASON_MAX];

	if (!c->has_default)
		return 0;
	if (certs_load_default(c, err, sizeof(err)) < 0)
		return ident_set(&c->dflt, ID_MISSING, err);
	c->dflt.source = "file";
	return ident_build(&c->dflt, &c->dflt_data, NULL, c->dflt.cert_version, 0);
}

/************************************************************************/
/*                              the set                                 */
/************************************************************************/

static int certs_fill_item(struct arena *a, struct certset_item *it, const struct ident *id)
{
	char path[512];

	it->name = arena_strdup(a, id->name);
	it->filters = arena_strdup(a, id->filters ? id->filters : "");
	snprintf(path, sizeof(path), "%s%s/", CERTSET_PREFIX, id->name);
	it->dir = arena_strdup(a, path);
	if (!it->name || !it->filters || !it->dir)
		return -1;
	if (id->state != ID_READY)
		return 0;
	snprintf(path, sizeof(path), "%s%s/%016llx.pem", CERTSET_PREFIX, id->name,
		 (unsigned long long)id->pem.hash);
	it->path = arena_strdup(a, path);
	it->pem = arena_strndup(a, id->pem.text, id->pem.len);
	it->pem_len = id->pem.len;
	it->serial = arena_strdup(a, id->pem.leaf.serial);
	it->not_after = id->pem.leaf.not_after;
	if (!it->path || !it->pem || !it->serial)
		return -1;
	it->ready = 1;
	return 0;
}

static int certs_item_same(const struct certset_item *a, const struct certset_item *b)
{
	return strcmp(a->name, b->name) == 0 && a->ready == b->ready &&
	       strcmp(a->filters, b->filters) == 0 &&
	       (!a->ready || strcmp(a->path, b->path) == 0);
}

static int certs_set_same(const struct certset *a, const struct certset *b)
{
	if (!a || !b || a->n != b->n || a->authoritative != b->authoritative ||
	    !a->dflt != !b->dflt)
		return 0;
	if (a->dflt && !certs_item_same(a->dflt, b->dflt))
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (!certs_item_same(&a->items[i], &b->items[i]))
			return 0;
	return 1;
}

static void certs_publish(struct certs *c)
{
	struct certset *s;

	if (!c->have_table)
		return;
	s = certset_new(c->nids, c->has_default);
	if (!s)
		goto out_oom;
	s->n = c->nids;
	for (size_t i = 0; i < c->nids; i++)
		if (certs_fill_item(s->arena, &s->items[i], &c->ids[i]) < 0)
			goto out_free;
	if (c->has_default && certs_fill_item(s->arena, s->dflt, &c->dflt) < 0)
		goto out_free;
	s->authoritative = !c->o.table_complete || c->o.table_complete();
	if (certs_set_same(s, c->set)) {
		certset_unref(s);
		return;
	}
	s->generation = ++c->generation;
	certset_unref(c->set);
	c->set = s;
	LOG(LL_DEBUG, "certs", "certificate set changed", KVI("generation", s->generation),
	    KVI("certificates", s->n), KVI("targets", c->ntargets));
	for (size_t i = 0; i < c->ntargets; i++)
		pusher_update(c->targets[i]->pusher, s);
	return;

out_free:
	certset_unref(s);
out_oom:
	LOG(LL_ERROR, "certs", "out of memory building the certificate set");
}

/* HAProxy refused the material at <path>: every HAProxy would. */
static void certs_on_refused(void *arg, const char *path, const char *reason)
{
	struct certs *c = arg;
	const char *name;
	size_t len;
	struct ident *id = NULL;

	if (certset_path_name(path, strlen(path), &name, &len) == 0) {
		for (size_t i = 0; i < c->nids; i++) {
			if (strlen(c->ids[i].name) == len && memcmp(c->ids[i].name, name, len) == 0)
				id = &c->ids[i];
		}
	} else if (c->has_default) {
		id = &c->dflt;
	}
	if (!id || id->state != ID_READY)
		return;
	id->refused_hash = id->pem.hash;
	snprintf(id->refused_reason, sizeof(id->refused_reason), "%s", reason);
	pem_bundle_free(&id->pem);
	ident_set(id, ID_REFUSED, reason);
	certs_publish(c);
}

/************************************************************************/
/*                               targets                                */
/************************************************************************/

static struct target *certs_add_target(struct certs *c, const char *key, int group,
				       const struct haproxy_cli_addr *addr)
{
	static const struct pusher_hooks hooks = { .refused = certs_on_refused };
	struct target **tv, *t;

	tv = realloc(c->targets, (c->ntargets + 1) * sizeof(*tv));
	if (!tv)
		return NULL;
	c->targets = tv;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->key = strdup(key);
	t->group = group;
	t->pusher = pusher_new(c->loop, addr, c->o.crt_list, &hooks, c);
	if (!t->key || !t->pusher) {
		free(t->key);
		pusher_free(t->pusher);
		free(t);
		return NULL;
	}
	c->targets[c->ntargets++] = t;
	if (c->set)
		pusher_update(t->pusher, c->set);
	return t;
}

static void certs_remove_target(struct certs *c, size_t i)
{
	struct target *t = c->targets[i];

	pusher_free(t->pusher);
	free(t->key);
	free(t);
	memmove(&c->targets[i], &c->targets[i + 1], (c->ntargets - i - 1) * sizeof(*c->targets));
	c->ntargets--;
}

/* An IPv4 or IPv6 interface address of this host (this container). */
struct local_net {
	int family;
	unsigned char addr[16];
	unsigned char mask[16];
};

static size_t certs_local_nets(struct local_net *out, size_t max)
{
	struct ifaddrs *ifa, *i;
	size_t n = 0;

	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i && n < max; i = i->ifa_next) {
		if (!i->ifa_addr || !i->ifa_netmask)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			out[n].family = AF_INET;
			memcpy(out[n].addr, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
			memcpy(out[n].mask, &((struct sockaddr_in *)i->ifa_netmask)->sin_addr, 4);
			n++;
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			out[n].family = AF_INET6;
			memcpy(out[n].addr, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
			memcpy(out[n].mask, &((struct sockaddr_in6 *)i->ifa_netmask)->sin6_addr, 16);
			n++;
		}
	}
	freeifaddrs(ifa);
	return n;
}

/* Whether <ip> (text) is on a network this agent has an address on. */
static int certs_on_local_net(const char *ip, const struct local_net *nets, size_t nnets)
{
	unsigned char a[16];
	int family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	size_t len = family == AF_INET ? 4 : 16;

	if (inet_pton(family, ip, a) != 1)
		return 0;
	for (size_t i = 0; i < nnets; i++) {
		size_t k;

		if (nets[i].family != family)
			continue;
		for (k = 0; k < len; k++)
			if ((a[k] & nets[i].mask[k]) != (nets[i].addr[k] & nets[i].mask[k]))
				break;
		if (k == len)
			return 1;
	}
	return 0;
}

/* The addresses of one task while an answer is read. */
struct task_pick {
	char task[80];
	char ip[NETADDR_STRLEN];
	int local;               /* on a network of ours */
};

struct resolve_ctx {
	struct task_pick picks[256];
	size_t n;
	struct local_net nets[32];
	size_t nnets;
};

static void certs_on_task_addr(void *arg, const char *task, const char *network, const char *cidr)
{
	struct resolve_ctx *rc = arg;
	struct task_pick *p = NULL;
	char ip[NETADDR_STRLEN];
	const char *slash = strchr(cidr, '/');
	size_t iplen = slash ? (size_t)(slash - cidr) : strlen(cidr);
	int local;

	/* The routing mesh is no way to reach one task. */
	if (strcmp(network, "ingress") == 0 || iplen >= sizeof(ip) || strlen(task) >= 80)
		return;
	memcpy(ip, cidr, iplen);
	ip[iplen] = '\0';
	local = certs_on_local_net(ip, rc->nets, rc->nnets);
	for (size_t i = 0; i < rc->n; i++)
		if (strcmp(rc->picks[i].task, task) == 0)
			p = &rc->picks[i];
	if (!p) {
		if (rc->n == sizeof(rc->picks) / sizeof(rc->picks[0]))
			return;
		p = &rc->picks[rc->n++];
		snprintf(p->task, sizeof(p->task), "%s", task);
	} else if (p->local || !local) {
		return;   /* keeps a first choice that is as good */
	}
	snprintf(p->ip, sizeof(p->ip), "%s", ip);
	p->local = local;
}

static void certs_on_tasks(void *arg, const struct dockerapi_resp *r)
{
	struct group *g = arg;
	struct certs *c = g->owner;
	int gi = (int)(g - c->groups);
	struct resolve_ctx *rc;
	char err[CERTS_REASON_MAX], why[160];
	long ntasks;

	g->req = NULL;
	if (r->error || r->status < 200 || r->status > 299) {
		dockerapi_describe(r, why, sizeof(why));
		snprintf(g->last_error, sizeof(g->last_error), "cannot list the tasks of %.64s: %s",
			 g->service, why);
		return;   /* the targets found before stay */
	}
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return;
	rc->nnets = certs_local_nets(rc->nets, sizeof(rc->nets) / sizeof(rc->nets[0]));
	ntasks = swarmobj_tasks(r->body, r->len, certs_on_task_addr, rc, err, sizeof(err));
	if (ntasks < 0) {
		snprintf(g->last_error, sizeof(g->last_error), "%s", err);
		free(rc);
		return;
	}
	g->tasks = ntasks;
	g->resolved_ms = clock_wall_ms();
	g->last_error[0] = '\0';
	for (size_t i = 0; i < c->ntargets; i++)
		if (c->targets[i]->group == gi)
			c->targets[i]->seen = 0;
	for (size_t i = 0; i < rc->n; i++) {
		struct task_pick *p = &rc->picks[i];
		struct haproxy_cli_addr addr;
		char key[256], spec[64], name[HAPROXY_CLI_NAME_MAX];
		struct target *t = NULL;

		if (!p->ip[0])
			continue;
		snprintf(key, sizeof(key), "%s/%s/%s", g->spec, p->task, p->ip);
		for (size_t k = 0; k < c->ntargets; k++)
			if (strcmp(c->targets[k]->key, key) == 0)
				t = c->targets[k];
		if (!t) {
			snprintf(spec, sizeof(spec), strchr(p->ip, ':') ? "[%s]:%u" : "%s:%u",
				 p->ip, g->port);
			if (haproxy_cli_addr_parse(&addr, spec, err, sizeof(err)) < 0)
				continue;
			snprintf(name, sizeof(name), "%s (task %.12s)", spec, p->task);
			snprintf(addr.name, sizeof(addr.name), "%s", name);
			t = certs_add_target(c, key, gi, &addr);
			if (!t)
				continue;
			LOG(LL_INFO, "certs", "HAProxy task found", KVS("target", name),
			    KVS("service", g->service), KVS("network_local", p->local ? "yes" : "no"));
		}
		t->seen = 1;
	}
	free(rc);
	for (size_t i = c->ntargets; i-- > 0;) {
		if (c->targets[i]->group != gi || c->targets[i]->seen)
			continue;
		LOG(LL_INFO, "certs", "HAProxy task gone", KVS("target", c->targets[i]->key));
		certs_remove_target(c, i);
	}
}

static void certs_resolve(struct certs *c)
{
	for (size_t i = 0; i < c->ngroups; i++) {
		struct group *g = &c->groups[i];
		struct dockerapi_call call = { 0 };
		struct sbuf filter = SBUF_INIT, path = SBUF_INIT;
		char err[CERTS_REASON_MAX];

		if (g->req)
			continue;
		sbuf_puts(&filter, "{\"desired-state\":[\"running\"],\"service\":[");
		sbuf_json_cstr(&filter, g->service);
		sbuf_puts(&filter, "]}");
		sbuf_puts(&path, "/tasks?filters=");
		dockerapi_urlencode(&path, filter.buf);
		call.path = path.buf;
		call.unversioned = 1;
		call.timeout_ms = CERTS_DOCKER_TIMEOUT_MS;
		call.max_bytes = CERTS_DOCKER_MAX_BYTES;
		call.on_done = certs_on_tasks;
		call.arg = g;
		g->req = dockerapi_send(c->api, &call, err, sizeof(err));
		if (!g->req)
			snprintf(g->last_error, sizeof(g->last_error), "%s", err);
		sbuf_free(&filter);
		sbuf_free(&path);
	}
}

/************************************************************************/
/*                               the tick                               */
/************************************************************************/

/* Files change (a secret remounted, a file rewritten), names appear
 * (a config created after the label), certificates expire: all are
 * looked at once a second.
 */
static void certs_recheck_blobs(struct certs *c)
{
	int64_t now = clock_mono_ms();
	size_t pos = 0;
	const char *key;
	void *val;
	struct blob *unused[64];
	size_t nunused = 0;

	while (strmap_next(c->blobs, &pos, &key, &val)) {
		struct blob *b = val;
		struct certsrc_stamp st;
		char err[CERTS_REASON_MAX];
		int rc;

		if (!b->used) {
			if (b->state != BLOB_LOOKING && nunused < 64)
				unused[nunused++] = b;
			continue;
		}
		b->used = 0;    /* marked again by the idents that use it */
		switch (b->state) {
		case BLOB_FILE:
			rc = certsrc_stat(c->o.certs_dir, b->name, &st, err, sizeof(err));
			if (rc <= 0 || memcmp(&st, &b->stamp, sizeof(st)) != 0)
				blob_set(b, BLOB_NEW, NULL);
			break;
		case BLOB_SECRET:
		case BLOB_MISSING:
		case BLOB_ERROR:
			rc = certsrc_stat(c->o.certs_dir, b->name, &st, err, sizeof(err));
			if (rc > 0 || now - b->looked_ms >= CERTS_LOOKUP_RETRY_MS)
				blob_set(b, BLOB_NEW, NULL);
			break;
		default:
			break;   /* configs do not change: a new name is a new config */
		}
	}
	for (size_t i = 0; i < nunused; i++) {
		strmap_del(c->blobs, unused[i]->name);
		blob_free(unused[i]);
	}
}

/* --manage-secrets: the secrets in use that are not mounted, and those
 * that are (files) and must stay.
 */
static void certs_secret_wants(struct certs *c)
{
	struct swarmobj_secret *want;
	size_t n = 0, pos = 0;
	const char *key;
	void *val;

	if (!c->mount)
		return;
	want = calloc(strmap_count(c->blobs) + 1, sizeof(*want));
	if (!want)
		return;
	while (strmap_next(c->blobs, &pos, &key, &val)) {
		struct blob *b = val;

		if (b->state == BLOB_SECRET && b->secret_id[0]) {
			want[n].name = b->name;
			want[n++].id = b->secret_id;
		} else if (b->state == BLOB_FILE) {
			want[n].name = b->name;
			want[n++].id = NULL;
		}
	}
	secretmount_want(c->mount, want, n);
	free(want);
}

static void certs_on_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct certs *c = (struct certs *)((char *)t - offsetof(struct certs, tick));
	int64_t now = clock_mono_ms();

	(void)loop;
	(void)revents;
	certs_recheck_blobs(c);
	certs_evaluate_all(c);
	certs_default_changed(c);
	certs_start_queued(c);
	certs_secret_wants(c);
	certs_publish(c);
	if (c->ngroups && now >= c->resolve_due_ms) {
		c->resolve_due_ms = now + CERTS_RESOLVE_MS;
		certs_resolve(c);
	}
}

/************************************************************************/
/*                             start and stop                           */
/************************************************************************/

static int certs_add_group(struct certs *c, const char *spec, char *err, size_t errlen)
{
	const char *svc = spec + strlen("tasks:");
	const char *colon = strrchr(svc, ':');
	struct group *gv, *g;
	char *end;
	long port;

	if (!colon || colon == svc) {
		snprintf(err, errlen, "bad '%s' (want tasks:SERVICE:PORT)", spec);
		return -1;
	}
	port = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || port < 1 || port > 65535) {
		snprintf(err, errlen, "bad port in '%s' (want tasks:SERVICE:PORT)", spec);
		return -1;
	}
	if (!c->api) {
		snprintf(err, errlen, "'%s' needs the Docker Engine API (--docker)", spec);
		return -1;
	}
	gv = realloc(c->groups, (c->ngroups + 1) * sizeof(*gv));
	if (!gv)
		goto oom;
	c->groups = gv;
	g = &c->groups[c->ngroups];
	memset(g, 0, sizeof(*g));
	g->owner = c;
	g->spec = strdup(spec);
	g->service = strndup(svc, (size_t)(colon - svc));
	g->port = (unsigned)port;
	if (!g->spec || !g->service) {
		free(g->spec);
		free(g->service);
		goto oom;
	}
	c->ngroups++;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static int certs_add_targets(struct certs *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->o.ntargets; i++) {
		const char *spec = c->o.targets[i];
		struct haproxy_cli_addr addr;

		if (strncmp(spec, "tasks:", 6) == 0) {
			if (certs_add_group(c, spec, err, errlen) < 0)
				return -1;
			continue;
		}
		if (haproxy_cli_addr_parse(&addr, spec, err, errlen) < 0)
			return -1;
		if (!certs_add_target(c, spec, -1, &addr)) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

static int certs_open_docker(struct certs *c, char *err, size_t errlen)
{
	struct dockerhost_env env;

	dockerhost_env_get(&env);
	if (dockerhost_parse(&c->host, c->o.docker, &env, err, errlen) < 0)
		return -1;
	c->api = dockerapi_new(c->loop, &c->host, err, errlen);
	if (!c->api)
		return -1;
	if (c->o.manage_secrets) {
		if (!c->o.agent_service || !*c->o.agent_service) {
			snprintf(err, errlen, "--manage-secrets needs the agent's own service "
				 "(--agent-service)");
			return -1;
		}
		dockerapi_allow_writes(c->api, 1);
		c->mount = secretmount_new(c->loop, c->api, c->o.agent_service);
		if (!c->mount) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

struct certs *certs_new(struct ev_loop *loop, const struct certs_opts *o, char *err, size_t errlen)
{
	struct certs *c = calloc(1, sizeof(*c));

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->loop = loop;
	c->o = *o;
	if (!c->o.certs_dir)
		c->o.certs_dir = "/run/secrets";
	if (c->o.crt_list && strpbrk(c->o.crt_list, " \t\n")) {
		snprintf(err, errlen, "the crt-list path must not contain blanks");
		goto out_free;
	}
	c->blobs = strmap_new();
	if (!c->blobs) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	if (!o->ntargets) {
		snprintf(err, errlen, "no HAProxy runtime API to push certificates to "
			 "(--haproxy-runtime)");
		goto out_free;
	}
	if (o->docker && certs_open_docker(c, err, errlen) < 0)
		goto out_free;
	if (o->manage_secrets && !o->docker) {
		snprintf(err, errlen, "--manage-secrets needs the Docker Engine API (--docker)");
		goto out_free;
	}
	if (o->default_cert) {
		c->has_default = 1;
		c->dflt.name = strdup(CERTS_DEFAULT_NAME);
		c->dflt.cert = strdup(o->default_cert);
		c->dflt.source = "file";
		if (!c->dflt.name || !c->dflt.cert) {
			snprintf(err, errlen, "out of memory");
			goto out_free;
		}
		if (certs_load_default(c, err, errlen) < 0)
			goto out_free;
		certs_default_changed(c);
		if (c->dflt.state != ID_READY) {
			snprintf(err, errlen, "--default-cert %s: %s", o->default_cert, c->dflt.reason);
			goto out_free;
		}
	}
	if (certs_add_targets(c, err, errlen) < 0)
		goto out_free;
	ev_timer_init(&c->tick, certs_on_tick, CERTS_TICK_MS / 1000.0, CERTS_TICK_MS / 1000.0);
	ev_timer_start(loop, &c->tick);
	if (c->ngroups)
		certs_resolve(c);
	c->resolve_due_ms = clock_mono_ms() + CERTS_RESOLVE_MS;
	LOG(LL_INFO, "certs", "certificate manager started", KVI("targets", o->ntargets),
	    KVS("certs_dir", c->o.certs_dir), KVS("default_cert", o->default_cert),
	    KVS("crt_list", o->crt_list ? o->crt_list : "auto"),
	    KVS("manage_secrets", o->manage_secrets ? "yes" : "no"));
	return c;

out_free:
	certs_free(c);
	return NULL;
}

void certs_free(struct certs *c)
{
	size_t pos = 0;
	const char *key;
	void *val;

	if (!c)
		return;
	ev_timer_stop(c->loop, &c->tick);
	while (c->ntargets)
		certs_remove_target(c, c->ntargets - 1);
	free(c->targets);
	for (size_t i = 0; i < c->ngroups; i++) {
		if (c->groups[i].req)
			dockerapi_cancel(c->groups[i].req);
		free(c->groups[i].spec);
		free(c->groups[i].service);
	}
	free(c->groups);
	if (c->blobs) {
		while (strmap_next(c->blobs, &pos, &key, &val))
			blob_free(val);
		strmap_free(c->blobs);
	}
	for (size_t i = 0; i < c->nids; i++)
		ident_clear(&c->ids[i]);
	free(c->ids);
	ident_clear(&c->dflt);
	sbuf_free(&c->dflt_data);
	secretmount_free(c->mount);
	if (c->api)
		dockerapi_free(c->api);
	certset_unref(c->set);
	free(c);
}

/************************************************************************/
/*                              show certs                              */
/************************************************************************/

static const char *ident_state_name(enum ident_state st)
{
	switch (st) {
	case ID_LOADING: return "loading";
	case ID_READY: return "ready";
	case ID_MISSING: return "missing";
	case ID_REFUSED: return "refused";
	}
	return "?";
}

/* The state of <id> (item <i> of the set) over every HAProxy, with the
 * first reason found.
 */
static const char *certs_overall(const struct certs *c, const struct ident *id, size_t i,
				 const char **reason)
{
	int ok = 0, pending = 0, failed = 0;

	*reason = id->reason;
	if (id->state != ID_READY)
		return ident_state_name(id->state);
	for (size_t k = 0; k < c->ntargets; k++) {
		const char *why;
		enum pusher_item_state st = pusher_item(c->targets[k]->pusher, i, &why);

		if (st == PUSHER_ITEM_OK) {
			ok++;
		} else if (st == PUSHER_ITEM_FAILED || st == PUSHER_ITEM_REFUSED) {
			if (!failed++)
				*reason = why;
		} else {
			pending++;
		}
	}
	if (failed)
		return "failed";
	if (pending || !ok)
		return "pending";
	return "ok";
}

static void certs_show_targets_of(const struct certs *c, size_t i, struct sbuf *out, int json)
{
	for (size_t k = 0; k < c->ntargets; k++) {
		struct pusher_status ps;
		const char *why;
		enum pusher_item_state st = pusher_item(c->targets[k]->pusher, i, &why);

		pusher_status(c->targets[k]->pusher, &ps);
		if (json) {
			sbuf_puts(out, k ? ",{\"target\":" : "{\"target\":");
			sbuf_json_cstr(out, ps.target);
			sbuf_printf(out, ",\"status\":\"%s\",\"reason\":",
				    pusher_item_state_name(st));
			sbuf_json_cstr(out, why[0] ? why : NULL);
			sbuf_putc(out, '}');
		} else {
			sbuf_printf(out, "%s%s=%s", k ? " " : "", ps.target,
				    pusher_item_state_name(st));
		}
	}
	if (!json && !c->ntargets)
		sbuf_puts(out, "-");
}

struct show_row {
	const struct ident *id;
	size_t item;                /* index in the set (nids for the default) */
};

static void certs_show_json(const struct certs *c, const struct show_row *rows, size_t n,
			    struct sbuf *out)
{
	char when[32];

	sbuf_puts(out, "{\"certificates\":[");
	for (size_t r = 0; r < n; r++) {
		const struct ident *id = rows[r].id;
		const char *reason, *overall = certs_overall(c, id, rows[r].item, &reason);
		int ready = id->state == ID_READY;

		sbuf_puts(out, r ? ",{\"name\":" : "{\"name\":");
		sbuf_json_cstr(out, id->name);
		sbuf_puts(out, ",\"cert\":");
		sbuf_json_cstr(out, id->cert);
		sbuf_puts(out, ",\"key\":");
		sbuf_json_cstr(out, id->key);
		sbuf_puts(out, ",\"source\":");
		sbuf_json_cstr(out, id->source ? id->source : "-");
		sbuf_puts(out, ",\"services\":");
		sbuf_json_cstr(out, id->services);
		sbuf_puts(out, ",\"hosts\":[");
		for (const char *h = id->filters; h && *h;) {
			size_t len = strcspn(h, " ");

			sbuf_puts(out, h == id->filters ? "" : ",");
			sbuf_json_str(out, h, len);
			h += len;
			while (*h == ' ')
				h++;
		}
		sbuf_printf(out, "],\"state\":\"%s\",\"status\":\"%s\",\"reason\":",
			    ident_state_name(id->state), overall);
		sbuf_json_cstr(out, reason && reason[0] ? reason : NULL);
		sbuf_puts(out, ",\"subject\":");
		sbuf_json_cstr(out, ready ? id->pem.leaf.cn : NULL);
		sbuf_puts(out, ",\"dns_names\":");
		sbuf_json_cstr(out, ready ? id->pem.leaf.dns : NULL);
		sbuf_puts(out, ",\"serial\":");
		sbuf_json_cstr(out, ready ? id->pem.leaf.serial : NULL);
		sbuf_puts(out, ",\"not_after\":");
		sbuf_json_cstr(out, ready ? x509_time_str(id->pem.leaf.not_after, when,
							  sizeof(when)) : NULL);
		if (ready)
			sbuf_printf(out, ",\"path\":\"%s%s/%016llx.pem\"", CERTSET_PREFIX, id->name,
				    (unsigned long long)id->pem.hash);
		sbuf_puts(out, ",\"targets\":[");
		certs_show_targets_of(c, rows[r].item, out, 1);
		sbuf_puts(out, "]}");
	}
	sbuf_puts(out, "],\"targets\":[");
	for (size_t k = 0; k < c->ntargets; k++) {
		struct pusher_status ps;

		pusher_status(c->targets[k]->pusher, &ps);
		sbuf_puts(out, k ? ",{\"target\":" : "{\"target\":");
		sbuf_json_cstr(out, ps.target);
		sbuf_printf(out, ",\"state\":\"%s\",\"crt_list\":", ps.state);
		sbuf_json_cstr(out, ps.crt_list[0] ? ps.crt_list : NULL);
		sbuf_puts(out, ",\"last_sync\":");
		sbuf_json_cstr(out, ps.last_sync_ms ? x509_time_str(ps.last_sync_ms / 1000, when,
								     sizeof(when)) : NULL);
		sbuf_printf(out, ",\"syncs\":%llu,\"commands\":%llu,\"failures\":%llu,"
			    "\"pushed\":%llu,\"removed\":%llu,\"last_error\":",
			    (unsigned long long)ps.syncs, (unsigned long long)ps.commands,
			    (unsigned long long)ps.failures, (unsigned long long)ps.pushed,
			    (unsigned long long)ps.removed);
		sbuf_json_cstr(out, ps.last_error[0] ? ps.last_error : NULL);
		sbuf_putc(out, '}');
	}
	sbuf_puts(out, "],\"groups\":[");
	for (size_t g = 0; g < c->ngroups; g++) {
		sbuf_puts(out, g ? ",{\"spec\":" : "{\"spec\":");
		sbuf_json_cstr(out, c->groups[g].spec);
		sbuf_printf(out, ",\"tasks\":%ld,\"last_error\":", c->groups[g].tasks);
		sbuf_json_cstr(out, c->groups[g].last_error[0] ? c->groups[g].last_error : NULL);
		sbuf_putc(out, '}');
	}
	sbuf_puts(out, "]");
	if (c->mount) {
		struct secretmount_status ms;

		secretmount_status(c->mount, &ms);
		sbuf_puts(out, ",\"secret_mounts\":{\"service\":");
		sbuf_json_cstr(out, ms.service);
		sbuf_printf(out, ",\"state\":\"%s\",\"updates\":%llu,\"last_error\":", ms.state,
			    (unsigned long long)ms.updates);
		sbuf_json_cstr(out, ms.last_error[0] ? ms.last_error : NULL);
		sbuf_putc(out, '}');
	}
	sbuf_puts(out, "}\n");
}

static void certs_show_text(const struct certs *c, const struct show_row *rows, size_t n,
			    struct sbuf *out)
{
	size_t w[5] = { strlen("NAME"), strlen("SOURCE"), strlen("HOSTS"), strlen("STATUS"),
			strlen("TARGETS") };
	struct sbuf tg = SBUF_INIT;
	size_t *tgoff = calloc(n + 1, sizeof(*tgoff));
	char when[32];

	if (!tgoff) {
		sbuf_puts(out, "error: out of memory\n");
		return;
	}
	/* the targets column of every row first, for its width */
	for (size_t r = 0; r < n; r++) {
		const char *reason, *st = certs_overall(c, rows[r].id, rows[r].item, &reason);
		size_t hl = rows[r].id->filters && rows[r].id->filters[0] ?
			    strlen(rows[r].id->filters) : 1;

		tgoff[r] = tg.len;
		certs_show_targets_of(c, rows[r].item, &tg, 0);
		sbuf_putc(&tg, '\0');
		if (tg.len - tgoff[r] - 1 > w[4])
			w[4] = tg.len - tgoff[r] - 1;
		if (strlen(rows[r].id->name) > w[0])
			w[0] = strlen(rows[r].id->name);
		if (rows[r].id->source && strlen(rows[r].id->source) > w[1])
			w[1] = strlen(rows[r].id->source);
		if (hl > w[2])
			w[2] = hl;
		if (strlen(st) > w[3])
			w[3] = strlen(st);
	}
	sbuf_printf(out, "%-*s  %-*s  %-*s  %-20s  %-*s  %-*s  %s\n", (int)w[0], "NAME",
		    (int)w[1], "SOURCE", (int)w[2], "HOSTS", "NOT_AFTER", (int)w[3], "STATUS",
		    (int)w[4], "TARGETS", "REASON");
	for (size_t r = 0; r < n; r++) {
		const struct ident *id = rows[r].id;
		const char *reason, *st = certs_overall(c, id, rows[r].item, &reason);

		sbuf_printf(out, "%-*s  %-*s  %-*s  %-20s  %-*s  %-*s  %s\n", (int)w[0], id->name,
			    (int)w[1], id->source ? id->source : "-", (int)w[2],
			    id->filters && id->filters[0] ? id->filters : "-",
			    id->state == ID_READY ? x509_time_str(id->pem.leaf.not_after, when,
								  sizeof(when)) : "-",
			    (int)w[3], st, (int)w[4], tg.buf ? tg.buf + tgoff[r] : "-",
			    reason && reason[0] ? reason : "-");
	}
	free(tgoff);
	sbuf_free(&tg);
	w[0] = strlen("TARGET");
	w[1] = strlen("unreachable");
	w[2] = strlen("CRT_LIST");
	for (size_t k = 0; k < c->ntargets; k++) {
		struct pusher_status ps;

		pusher_status(c->targets[k]->pusher, &ps);
		if (strlen(ps.target) > w[0])
			w[0] = strlen(ps.target);
		if (strlen(ps.crt_list) > w[2])
			w[2] = strlen(ps.crt_list);
	}
	sbuf_printf(out, "\n%-*s  %-*s  %-*s  %-20s  %6s  %7s  %s\n", (int)w[0], "TARGET",
		    (int)w[1], "STATE", (int)w[2], "CRT_LIST", "LAST_SYNC", "PUSHED", "REMOVED",
		    "ERROR");
	for (size_t k = 0; k < c->ntargets; k++) {
		struct pusher_status ps;

		pusher_status(c->targets[k]->pusher, &ps);
		sbuf_printf(out, "%-*s  %-*s  %-*s  %-20s  %6llu  %7llu  %s\n", (int)w[0], ps.target,
			    (int)w[1], ps.state, (int)w[2], ps.crt_list[0] ? ps.crt_list : "-",
			    ps.last_sync_ms ? x509_time_str(ps.last_sync_ms / 1000, when,
							    sizeof(when)) : "-",
			    (unsigned long long)ps.pushed, (unsigned long long)ps.removed,
			    ps.last_error[0] ? ps.last_error : "-");
	}
	for (size_t g = 0; g < c->ngroups; g++)
		sbuf_printf(out, "%s  %ld tasks  %s\n", c->groups[g].spec, c->groups[g].tasks,
			    c->groups[g].last_error[0] ? c->groups[g].last_error : "-");
	if (c->mount) {
		struct secretmount_status ms;

		secretmount_status(c->mount, &ms);
		sbuf_printf(out, "\nsecret mounts: service %s, %s, %llu updates%s%s\n", ms.service,
			    ms.state, (unsigned long long)ms.updates, ms.last_error[0] ? ": " : "",
			    ms.last_error);
	}
}

void certs_show(const struct certs *c, struct sbuf *out, int json)
{
	size_t n = c->nids + (c->has_default ? 1 : 0), k = 0;
	struct show_row *rows = calloc(n ? n : 1, sizeof(*rows));

	if (!rows) {
		sbuf_puts(out, json ? "{\"error\":\"out of memory\"}\n" : "error: out of memory\n");
		return;
	}
	if (c->has_default) {
		rows[k].id = &c->dflt;
		rows[k++].item = c->nids;
	}
	for (size_t i = 0; i < c->nids; i++) {
		rows[k].id = &c->ids[i];
		rows[k++].item = i;
	}
	if (json)
		certs_show_json(c, rows, n, out);
	else
		certs_show_text(c, rows, n, out);
	free(rows);
}
