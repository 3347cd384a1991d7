/* The certificate manager: labels in, certificate sets out to every
 * HAProxy.
 *
 * It ties the pieces together on the main loop:
 * - certwant.c: which certificates each new routing table asks for;
 * - certident.c: each certificate, its material and state;
 * - certblob.c: the material of every name, from files or Docker;
 * - certset.c: what the certificates make, an immutable set handed to
 * - certtargets.c: every HAProxy runtime API, one pusher each;
 * - certshow.c: "show certs".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ev.h>

#include "certs/certblob.h"
#include "certs/certident.h"
#include "certs/certs.h"
#include "certs/certset.h"
#include "certs/certshow.h"
#include "certs/certsrc.h"
#include "certs/certtargets.h"
#include "certs/certwant.h"
#include "certs/pusher.h"
#include "certs/secretmount.h"
#include "common/arena.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "dockerapi/dockerapi.h"
#include "dockerapi/dockerhost.h"

#define CERTS_DEFAULT_NAME  "default"
#define CERTS_SECRETS_DIR   "/run/secrets"   /* where Docker mounts secrets */

struct certs {
	struct ev_loop *loop;
	struct certs_opts o;
	struct dockerhost host;
	struct dockerapi *api;
	struct secretmount *mount;
	struct certblob_store *blobs;
	struct certtargets *targets;

	struct certident *ids;   /* sorted by name */
	size_t nids;
	int have_table;
	uint64_t table_hash;

	struct certident dflt;   /* --default-cert */
	int has_default;
	struct sbuf dflt_data;
	struct certsrc_stamp dflt_stamp;

	struct certset *set;
	unsigned long generation;
	ev_timer tick;
};

static void certs_evaluate_all(struct certs *c)
{
	int secrets_dir = strcmp(c->o.certs_dir, CERTS_SECRETS_DIR) == 0;

	for (size_t i = 0; i < c->nids; i++)
		certident_evaluate(&c->ids[i], c->blobs, secrets_dir);
}

/************************************************************************/
/*                              the set                                 */
/************************************************************************/

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
		if (certident_fill_item(&c->ids[i], s->arena, &s->items[i]) < 0)
			goto out_free;
	if (c->has_default && certident_fill_item(&c->dflt, s->arena, s->dflt) < 0)
		goto out_free;
	s->authoritative = !c->o.table_complete || c->o.table_complete();
	if (certset_same(s, c->set)) {
		certset_unref(s);
		return;
	}
	s->generation = ++c->generation;
	certset_unref(c->set);
	c->set = s;
	LOG(LL_DEBUG, "certs", "certificate set changed", KVI("generation", s->generation),
	    KVI("certificates", s->n), KVI("targets", certtargets_count(c->targets)));
	certtargets_update(c->targets, s);
	return;

out_free:
	certset_unref(s);
out_oom:
	LOG(LL_ERROR, "certs", "out of memory building the certificate set");
}

/* A Docker lookup ended. */
static void certs_on_blob(void *arg)
{
	struct certs *c = arg;

	certs_evaluate_all(c);
	certs_publish(c);
}

/* HAProxy refused the material at <path>: every HAProxy would. */
static void certs_on_refused(void *arg, const char *path, const char *reason)
{
	struct certs *c = arg;
	struct certident *id = NULL;
	const char *name;
	size_t len;

	if (certset_path_name(path, strlen(path), &name, &len) == 0) {
		for (size_t i = 0; i < c->nids; i++) {
			char dir[300];

			certident_dir(c->ids[i].name, dir, sizeof(dir));
			if (strncmp(dir, path, strlen(dir)) == 0)
				id = &c->ids[i];
		}
	} else if (c->has_default) {
		id = &c->dflt;
	}
	if (!id || id->state != CERTIDENT_READY)
		return;
	certident_refuse(id, reason);
	certs_publish(c);
}

/************************************************************************/
/*                           following tables                           */
/************************************************************************/

void certs_on_table(void *arg, const struct rtable *t)
{
	struct certs *c = arg;
	struct certident *ids;
	size_t nids;
	uint64_t h = certwant_hash(t);

	if (c->have_table && h == c->table_hash) {
		certs_publish(c);   /* the table may have become complete */
		return;
	}
	/* the new identities, from scratch: the current ones stay intact
	 * until nothing can fail any more */
	if (certwant_idents(t, &ids, &nids) < 0) {
		LOG(LL_ERROR, "certs", "out of memory following the routing table; "
		    "certificates unchanged");
		return;
	}
	for (size_t i = 0; i < nids; i++) {
		struct certident *old = certident_find(c->ids, c->nids, ids[i].name);

		if (old)
			certident_take(&ids[i], old);
	}
	for (size_t i = 0; i < c->nids; i++)
		certident_clear(&c->ids[i]);
	free(c->ids);
	c->ids = ids;
	c->nids = nids;
	c->have_table = 1;
	c->table_hash = h;
	certs_evaluate_all(c);
	certs_publish(c);
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

static void certs_default_changed(struct certs *c)
{
	char err[CERTIDENT_REASON_MAX];

	if (!c->has_default)
		return;
	if (certs_load_default(c, err, sizeof(err)) < 0) {
		certident_set(&c->dflt, CERTIDENT_MISSING, err);
		return;
	}
	c->dflt.source = "file";
	certident_build(&c->dflt, &c->dflt_data, NULL, c->dflt.cert_version, 0);
}

static int certs_open_default(struct certs *c, char *err, size_t errlen)
{
	c->has_default = 1;
	c->dflt.name = strdup(CERTS_DEFAULT_NAME);
	c->dflt.cert = strdup(c->o.default_cert);
	c->dflt.source = "file";
	if (!c->dflt.name || !c->dflt.cert) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (certs_load_default(c, err, errlen) < 0)
		return -1;
	certs_default_changed(c);
	if (c->dflt.state != CERTIDENT_READY) {
		snprintf(err, errlen, "--default-cert %s: %s", c->o.default_cert, c->dflt.reason);
		return -1;
	}
	return 0;
}

/************************************************************************/
/*                               the tick                               */
/************************************************************************/

/* Files change (a secret remounted, a file rewritten), names appear (a
 * config created after the label), certificates expire, HAProxy tasks
 * come and go: all are looked at once a second.
 */
static void certs_on_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct certs *c = (struct certs *)((char *)t - offsetof(struct certs, tick));
	int64_t now = clock_mono_ms();

	(void)loop;
	(void)revents;
	certblob_recheck(c->blobs, now);
	certs_evaluate_all(c);
	certs_default_changed(c);
	certblob_start_queued(c->blobs);
	if (c->mount)
		certblob_want_secrets(c->blobs, c->mount);
	certs_publish(c);
	certtargets_tick(c->targets, now);
}

/************************************************************************/
/*                             start and stop                           */
/************************************************************************/

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
	static const struct pusher_hooks hooks = { .refused = certs_on_refused };
	struct certs *c = calloc(1, sizeof(*c));
	struct certblob_opts bo = { 0 };
	struct certtargets_opts to = { 0 };

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->loop = loop;
	c->o = *o;
	if (!c->o.certs_dir)
		c->o.certs_dir = CERTS_SECRETS_DIR;
	if (c->o.crt_list && strpbrk(c->o.crt_list, " \t\n")) {
		snprintf(err, errlen, "the crt-list path must not contain blanks");
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
	bo.certs_dir = c->o.certs_dir;
	bo.api = c->api;
	bo.mount_service = c->mount ? c->o.agent_service : NULL;
	bo.changed = certs_on_blob;
	bo.arg = c;
	c->blobs = certblob_store_new(&bo);
	if (!c->blobs) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	if (o->default_cert && certs_open_default(c, err, errlen) < 0)
		goto out_free;
	to.specs = o->targets;
	to.nspecs = o->ntargets;
	to.crt_list = c->o.crt_list;
	to.api = c->api;
	to.hooks = &hooks;
	to.arg = c;
	c->targets = certtargets_new(loop, &to, err, errlen);
	if (!c->targets)
		goto out_free;
	ev_timer_init(&c->tick, certs_on_tick, CERTS_TICK_MS / 1000.0, CERTS_TICK_MS / 1000.0);
	ev_timer_start(loop, &c->tick);
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
	if (!c)
		return;
	ev_timer_stop(c->loop, &c->tick);
	certtargets_free(c->targets);
	certblob_store_free(c->blobs);
	for (size_t i = 0; i < c->nids; i++)
		certident_clear(&c->ids[i]);
	free(c->ids);
	certident_clear(&c->dflt);
	sbuf_free(&c->dflt_data);
	secretmount_free(c->mount);
	if (c->api)
		dockerapi_free(c->api);
	certset_unref(c->set);
	free(c);
}

void certs_show(const struct certs *c, struct sbuf *out, int json)
{
	struct certshow_in in = {
		.dflt = c->has_default ? &c->dflt : NULL,
		.ids = c->ids,
		.nids = c->nids,
		.targets = c->targets,
		.mount = c->mount,
	};

	certshow_render(&in, out, json);
}
