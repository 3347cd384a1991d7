/* The blob store: names to material, from files or from Docker.
 *
 * Where a blob is looked for depends on its kind only, never on what
 * else exists under its name: otherwise a config created first under the
 * name of another team's secret would be read in its place, and the
 * secret never mounted.
 * - a secret is read from its mount (--certs-dir/<name>); without one,
 *   Docker is asked whether it exists (its data cannot be read: the agent
 *   can only have it mounted);
 * - a config is read through the Engine API, never from a file;
 * - a file is read from --certs-dir, and Docker is never asked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/certsrc.h"
#include "common/sbuf.h"
#include "certs/certapi.h"
#include "certs/certblob.h"
#include "certs/secretmount.h"
#include "certs/swarmobj.h"
#include "common/clock.h"
#include "common/strmap.h"
#include "dockerapi/dockerapi.h"
#include "routing/certref.h"

struct certblob_store {
	struct certblob_opts o;
	struct strmap *blobs;    /* name -> struct certblob */
	unsigned lookups;        /* in flight */
};

static void certblob_lookup_start(struct certblob_store *s, struct certblob *b);

static void certblob_set(struct certblob *b, enum certblob_state st, const char *reason)
{
	b->state = st;
	snprintf(b->reason, sizeof(b->reason), "%s", reason ? reason : "");
}

static void certblob_free(struct certblob *b)
{
	if (b->req)
		dockerapi_cancel(b->req);
	if (b->state == CERTBLOB_LOOKING)
		b->owner->lookups--;
	sbuf_free(&b->data);
	free(b->key);
	free(b);
}

/* Starts looking for <b> where its kind says. */
static void certblob_load(struct certblob_store *s, struct certblob *b)
{
	char err[CERTBLOB_REASON_MAX];
	int rc;

	if (b->kind == CERTREF_CONFIG) {
		if (!s->o.api) {
			snprintf(err, sizeof(err), "config:%s needs the Docker Engine API (--docker)",
				 b->name);
			certblob_set(b, CERTBLOB_MISSING, err);
			b->looked_ms = clock_mono_ms();
			return;
		}
		certblob_set(b, CERTBLOB_QUEUED, NULL);
		certblob_lookup_start(s, b);
		return;
	}
	rc = certsrc_read(s->o.certs_dir, b->name, &b->data, &b->stamp, err, sizeof(err));
	if (rc > 0) {
		b->version++;
		certblob_set(b, CERTBLOB_FILE, NULL);
		return;
	}
	if (rc < 0) {
		certblob_set(b, CERTBLOB_ERROR, err);
		return;
	}
	if (!s->o.api || b->kind == CERTREF_FILE) {
		snprintf(err, sizeof(err), "no file %s/%s", s->o.certs_dir, b->name);
		certblob_set(b, CERTBLOB_MISSING, err);
		b->looked_ms = clock_mono_ms();
		return;
	}
	certblob_set(b, CERTBLOB_QUEUED, NULL);
	certblob_lookup_start(s, b);
}

/************************************************************************/
/*                      Docker configs and secrets                       */
/************************************************************************/

static void certblob_lookup_done(struct certblob_store *s, struct certblob *b)
{
	b->req = NULL;
	b->looked_ms = clock_mono_ms();
	s->lookups--;
	if (s->o.changed)
		s->o.changed(s->o.arg);
	certblob_start_queued(s);
}

/* The answer about a secret: its ID when it exists. */
static void certblob_on_secret(struct certblob_store *s, struct certblob *b,
			       const struct dockerapi_resp *r)
{
	char err[CERTBLOB_REASON_MAX];
	int rc = swarmobj_secret_id(r->body, r->len, b->name, b->secret_id, sizeof(b->secret_id),
				    err, sizeof(err));

	if (rc > 0) {
		if (s->o.mount_service)
			snprintf(err, sizeof(err), "secret %s is not mounted into the agent yet: "
				 "mounting it into service %s (the agents restart with it)",
				 b->name, s->o.mount_service);
		else
			snprintf(err, sizeof(err), "secret %s is not mounted into the agent at %s/%s: "
				 "add it to the agent's service, or run the agent with --manage-secrets",
				 b->name, s->o.certs_dir, b->name);
		certblob_set(b, CERTBLOB_SECRET, err);
	} else if (rc < 0) {
		certblob_set(b, CERTBLOB_ERROR, err);
	} else {
		/* a config of that name is not looked at: it is named config:NAME */
		snprintf(err, sizeof(err), "no secret named %s (and no file %s/%s); a Docker "
			 "config is named config:%s", b->name, s->o.certs_dir, b->name, b->name);
		certblob_set(b, CERTBLOB_MISSING, err);
	}
}

static void certblob_on_lookup(void *arg, const struct dockerapi_resp *r)
{
	struct certblob *b = arg;
	struct certblob_store *s = b->owner;
	char err[CERTBLOB_REASON_MAX], why[160];
	int rc;

	if (r->error || r->status < 200 || r->status > 299) {
		dockerapi_describe(r, why, sizeof(why));
		snprintf(err, sizeof(err), "cannot look for %s in Docker: %s", b->name, why);
		certblob_set(b, CERTBLOB_ERROR, err);
	} else if (b->kind == CERTREF_SECRET) {
		certblob_on_secret(s, b, r);
	} else {
		rc = swarmobj_config_data(r->body, r->len, b->name, &b->data, err, sizeof(err));
		if (rc > 0) {
			b->version++;
			certblob_set(b, CERTBLOB_CONFIG, NULL);
		} else if (rc < 0) {
			certblob_set(b, CERTBLOB_ERROR, err);
		} else {
			snprintf(err, sizeof(err), "no config named %s", b->name);
			certblob_set(b, CERTBLOB_MISSING, err);
		}
	}
	certblob_lookup_done(s, b);
}

static void certblob_lookup_start(struct certblob_store *s, struct certblob *b)
{
	char filter[160], err[CERTBLOB_REASON_MAX];

	if (s->lookups >= CERTBLOB_MAX_LOOKUPS)
		return;   /* stays queued: the next lookup to end starts it */
	/* names are [A-Za-z0-9_.-]: nothing to escape in the JSON. The
	 * "name" filter also matches other names (Docker 20.10 has no "names"
	 * for configs): the answer is searched for the exact one. */
	snprintf(filter, sizeof(filter), "{\"name\":[\"%s\"]}", b->name);
	b->req = certapi_get(s->o.api, b->kind == CERTREF_CONFIG ? "/configs" : "/secrets", filter,
			     certblob_on_lookup, b, err, sizeof(err));
	if (!b->req) {
		certblob_set(b, CERTBLOB_ERROR, err);
		b->looked_ms = clock_mono_ms();
		return;
	}
	s->lookups++;
	b->state = CERTBLOB_LOOKING;
}

void certblob_start_queued(struct certblob_store *s)
{
	size_t pos = 0;
	const char *key;
	void *val;

	while (s->lookups < CERTBLOB_MAX_LOOKUPS && strmap_next(s->blobs, &pos, &key, &val)) {
		struct certblob *b = val;

		if (b->state == CERTBLOB_QUEUED)
			certblob_lookup_start(s, b);
	}
}

/************************************************************************/
/*                               the store                              */
/************************************************************************/

struct certblob_store *certblob_store_new(const struct certblob_opts *o)
{
	struct certblob_store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->o = *o;
	s->blobs = strmap_new();
	if (!s->blobs) {
		free(s);
		return NULL;
	}
	return s;
}

void certblob_store_free(struct certblob_store *s)
{
	size_t pos = 0;
	const char *key;
	void *val;

	if (!s)
		return;
	while (strmap_next(s->blobs, &pos, &key, &val))
		certblob_free(val);
	strmap_free(s->blobs);
	free(s);
}

struct certblob *certblob_use(struct certblob_store *s, enum certref_kind kind, const char *name)
{
	const char *kname = certref_kind_name(kind);
	size_t klen = strlen(kname), nlen = strlen(name);
	char *key = malloc(klen + 1 + nlen + 1);
	struct certblob *b;

	if (!key)
		return NULL;
	memcpy(key, kname, klen);
	key[klen] = ':';
	memcpy(key + klen + 1, name, nlen + 1);
	b = strmap_get(s->blobs, key);
	if (b) {
		free(key);
	} else {
		b = calloc(1, sizeof(*b));
		if (!b || strmap_put(s->blobs, key, b) < 0) {
			free(key);
			free(b);
			return NULL;
		}
		b->key = key;
		b->name = key + klen + 1;
		b->kind = kind;
		b->owner = s;
	}
	b->used = 1;
	if (b->state == CERTBLOB_NEW)
		certblob_load(s, b);
	return b;
}

void certblob_recheck(struct certblob_store *s, int64_t now_ms)
{
	size_t pos = 0;
	const char *key;
	void *val;

	while (strmap_next(s->blobs, &pos, &key, &val)) {
		struct certblob *b = val;
		struct certsrc_stamp st;
		char err[CERTBLOB_REASON_MAX];
		int rc;

		if (!b->used) {
			if (b->state != CERTBLOB_LOOKING) {
				strmap_del_current(s->blobs, &pos);
				certblob_free(b);
			}
			continue;
		}
		b->used = 0;    /* marked again by the certificates that use it */
		switch (b->state) {
		case CERTBLOB_FILE:
			rc = certsrc_stat(s->o.certs_dir, b->name, &st, err, sizeof(err));
			if (rc <= 0 || memcmp(&st, &b->stamp, sizeof(st)) != 0)
				certblob_set(b, CERTBLOB_NEW, NULL);
			break;
		case CERTBLOB_SECRET:
		case CERTBLOB_MISSING:
		case CERTBLOB_ERROR:
			/* a file appearing is news for a secret (its mount) or a
			 * file, never for a config */
			rc = b->kind == CERTREF_CONFIG ? 0 :
			     certsrc_stat(s->o.certs_dir, b->name, &st, err, sizeof(err));
			if (rc > 0 || now_ms - b->looked_ms >= CERTBLOB_RETRY_MS)
				certblob_set(b, CERTBLOB_NEW, NULL);
			break;
		default:
			break;   /* configs do not change: a new name is a new config */
		}
	}
}

void certblob_want_secrets(const struct certblob_store *s, struct secretmount *mount)
{
	struct swarmobj_secret *want = calloc(strmap_count(s->blobs) + 1, sizeof(*want));
	size_t n = 0, pos = 0;
	const char *key;
	void *val;

	if (!want)
		return;
	while (strmap_next(s->blobs, &pos, &key, &val)) {
		struct certblob *b = val;

		/* only a secret is mounted: a file of kind file is the
		 * operator's, a config is read through the API */
		if (b->kind != CERTREF_SECRET)
			continue;
		if (b->state == CERTBLOB_SECRET && b->secret_id[0]) {
			want[n].name = b->name;
			want[n++].id = b->secret_id;
		} else if (b->state == CERTBLOB_FILE) {
			want[n].name = b->name;
			want[n++].id = NULL;
		}
	}
	secretmount_want(mount, want, n);
	free(want);
}

const char *certblob_source(const struct certblob *b)
{
	switch (b->state) {
	case CERTBLOB_FILE:
		return "file";
	case CERTBLOB_CONFIG:
		return "config";
	case CERTBLOB_SECRET:
		return "secret";
	default:
		return "-";
	}
}
