/* The blob store: names to material, from files or from Docker.
 *
 * A blob is read from its file first (a mounted secret, or a file in
 * --certs-dir); without one, Docker is asked whether a config of that
 * name exists (its data is read), then whether a secret does (its data
 * cannot be read: the agent can only have it mounted).
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
	free(b->name);
	free(b);
}

/* Looks at the file first: a mounted secret, or a file in --certs-dir. */
static void certblob_load(struct certblob_store *s, struct certblob *b)
{
	char err[CERTBLOB_REASON_MAX];
	int rc = certsrc_read(s->o.certs_dir, b->name, &b->data, &b->stamp, err, sizeof(err));

	if (rc > 0) {
		b->version++;
		certblob_set(b, CERTBLOB_FILE, NULL);
		return;
	}
	if (rc < 0) {
		certblob_set(b, CERTBLOB_ERROR, err);
		return;
	}
	if (!s->o.api) {
		snprintf(err, sizeof(err), "no file %s/%s", s->o.certs_dir, b->name);
		certblob_set(b, CERTBLOB_MISSING, err);
		b->looked_ms = clock_mono_ms();
		return;
	}
	b->step = 0;
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
		snprintf(err, sizeof(err), "no secret or config named %s (and no file %s/%s)",
			 b->name, s->o.certs_dir, b->name);
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
	} else if (b->step == 1) {
		certblob_on_secret(s, b, r);
	} else {
		rc = swarmobj_config_data(r->body, r->len, b->name, &b->data, err, sizeof(err));
		if (rc > 0) {
			b->version++;
			certblob_set(b, CERTBLOB_CONFIG, NULL);
		} else if (rc < 0) {
			certblob_set(b, CERTBLOB_ERROR, err);
		} else {
			/* not a config: a secret? the next lookup says */
			b->step = 1;
			s->lookups--;
			b->req = NULL;
			certblob_set(b, CERTBLOB_QUEUED, NULL);
			certblob_lookup_start(s, b);
			return;
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
	b->req = certapi_get(s->o.api, b->step == 0 ? "/configs" : "/secrets", filter,
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

struct certblob *certblob_use(struct certblob_store *s, const char *name)
{
	struct certblob *b = strmap_get(s->blobs, name);

	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b)
			return NULL;
		b->name = strdup(name);
		if (!b->name || strmap_put(s->blobs, b->name, b) < 0) {
			free(b->name);
			free(b);
			return NULL;
		}
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
			rc = certsrc_stat(s->o.certs_dir, b->name, &st, err, sizeof(err));
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
