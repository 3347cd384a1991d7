/* Certificate identities: one certificate the labels ask for, its
 * material and its state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/pem.h"
#include "certs/certblob.h"
#include "certs/certcover.h"
#include "certs/certident.h"
#include "certs/certset.h"
#include "certs/x509.h"
#include "common/arena.h"
#include "common/clock.h"
#include "common/errlog.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "routing/certref.h"

void certident_clear(struct certident *id)
{
	free(id->name);
	free(id->cert);
	free(id->key);
	free(id->filters);
	free(id->services);
	free(id->bad_reason);
	free(id->served);
	pem_bundle_free(&id->pem);
	memset(id, 0, sizeof(*id));
}

/* Logs a new state once per reason, and lists a refusal in "show errors". */
static void certident_report(struct certident *id)
{
	/* a lookup under way is no news: the outcome is */
	if (id->state == CERTIDENT_LOADING ||
	    (id->reported_state == id->state && strcmp(id->reported, id->reason) == 0))
		return;
	id->reported_state = id->state;
	snprintf(id->reported, sizeof(id->reported), "%s", id->reason);
	if (id->state == CERTIDENT_READY) {
		char when[32];

		LOG(id->reason[0] ? LL_WARN : LL_INFO, "certs", id->reason[0] ?
		    "certificate ready, not for every host" : "certificate ready",
		    KVS("certificate", id->name), KVS("source", id->source),
		    KVS("subject", id->pem.leaf.cn),
		    KVS("not_after", x509_time_str(id->pem.leaf.not_after, when, sizeof(when))),
		    KVS("hosts", id->served ? id->served : id->filters),
		    KVS("reason", id->reason[0] ? id->reason : NULL));
		/* hosts left out are a refusal too: listed and counted */
		if (id->reason[0])
			errlog_record(ERRLOG_CERT, id->name, id->reason);
		return;
	}
	LOG(LL_WARN, "certs", id->state == CERTIDENT_REFUSED ? "certificate refused" :
	    "certificate unavailable", KVS("certificate", id->name),
	    KVS("services", id->services), KVS("reason", id->reason));
	errlog_record(ERRLOG_CERT, id->name, id->reason);
}

int certident_set(struct certident *id, enum certident_state st, const char *reason)
{
	int changed = id->state != st || strcmp(id->reason, reason ? reason : "") != 0;

	id->state = st;
	snprintf(id->reason, sizeof(id->reason), "%s", reason ? reason : "");
	certident_report(id);
	return changed;
}

/* Refuses <id> as expired on <not_after>. */
static int certident_expired(struct certident *id, int64_t not_after)
{
	char err[CERTIDENT_REASON_MAX], when[32];

	snprintf(err, sizeof(err), "expired on %s", x509_time_str(not_after, when, sizeof(when)));
	return certident_set(id, CERTIDENT_REFUSED, err);
}

/* Usable material is served for the hosts of <id> it covers, and refused
 * when it covers none: sets the state and <served>. The default
 * certificate (no hosts: no filters) is served as it is.
 */
static int certident_cover(struct certident *id)
{
	struct sbuf cov = SBUF_INIT, unc = SBUF_INIT;
	char why[CERTIDENT_REASON_MAX], names[160];
	size_t n;
	int changed;

	free(id->served);
	id->served = NULL;
	id->cover_refused = 0;
	if (!id->filters)
		return certident_set(id, CERTIDENT_READY, NULL);
	n = certcover_split(&id->pem.leaf, id->filters, &cov, &unc);
	certcover_names(&id->pem.leaf, names, sizeof(names));
	if (cov.oom || unc.oom) {
		changed = certident_set(id, CERTIDENT_MISSING, "out of memory");
	} else if (!n) {
		if (id->filters[0])
			snprintf(why, sizeof(why), "covers none of its hosts (%.80s): its names are %.100s",
				 id->filters, names);
		else
			snprintf(why, sizeof(why), "its services name no host: it is served only for "
				 "hosts it covers");
		id->cover_refused = 1;
		changed = certident_set(id, CERTIDENT_REFUSED, why);
	} else {
		id->served = strdup(cov.buf);
		if (!id->served) {
			changed = certident_set(id, CERTIDENT_MISSING, "out of memory");
		} else {
			if (unc.len)
				snprintf(why, sizeof(why), "not served for %.80s: not covered by its "
					 "names (%.100s)", unc.buf, names);
			changed = certident_set(id, CERTIDENT_READY, unc.len ? why : NULL);
		}
	}
	sbuf_free(&cov);
	sbuf_free(&unc);
	return changed;
}

int certident_build(struct certident *id, const struct sbuf *cert, const struct sbuf *key,
		    unsigned cv, unsigned kv)
{
	char err[CERTIDENT_REASON_MAX];
	struct pem_bundle b;
	int64_t now = clock_wall_ms() / 1000;

	if ((id->state == CERTIDENT_READY || id->state == CERTIDENT_REFUSED) &&
	    id->cert_version == cv && id->key_version == kv &&
	    (id->pem.text || id->state == CERTIDENT_REFUSED)) {
		/* same material: only time, and the hosts, can change the verdict */
		if (id->state != CERTIDENT_READY)
			return 0;
		if (id->pem.leaf.not_after < now)
			return certident_expired(id, id->pem.leaf.not_after);
		return certident_cover(id);
	}
	id->cert_version = cv;
	id->key_version = kv;
	pem_bundle_free(&id->pem);
	if (pem_bundle_load(&b, cert->buf ? cert->buf : "", cert->len,
			    key ? (key->buf ? key->buf : "") : NULL, key ? key->len : 0,
			    err, sizeof(err)) < 0)
		return certident_set(id, CERTIDENT_REFUSED, err);
	if (b.leaf.not_after < now) {
		int64_t not_after = b.leaf.not_after;

		pem_bundle_free(&b);
		return certident_expired(id, not_after);
	}
	if (id->refused_hash && id->refused_hash == b.hash) {
		pem_bundle_free(&b);
		return certident_set(id, CERTIDENT_REFUSED, id->refused_reason);
	}
	id->pem = b;
	return certident_cover(id);
}

int certident_evaluate(struct certident *id, struct certblob_store *s, int secrets_dir)
{
	struct certblob *bs[2], *cb, *kb = NULL;
	struct certref cref, kref;
	char err[CERTIDENT_REASON_MAX];

	if (id->bad_reason)
		return certident_set(id, CERTIDENT_MISSING, id->bad_reason);
	/* certwant made them: they parse */
	if (certref_parse(id->cert, &cref, err, sizeof(err)) < 0 ||
	    (id->key && certref_parse(id->key, &kref, err, sizeof(err)) < 0))
		return certident_set(id, CERTIDENT_MISSING, err);
	/* refused for its hosts: the material is judged again, hosts may
	 * have changed */
	if (id->cover_refused && id->state == CERTIDENT_REFUSED)
		id->state = CERTIDENT_READY;
	id->cover_refused = 0;
	cb = certblob_use(s, cref.kind, cref.name);
	if (id->key)
		kb = certblob_use(s, kref.kind, kref.name);
	if (!cb || (id->key && !kb))
		return certident_set(id, CERTIDENT_MISSING, "out of memory");
	bs[0] = cb;
	bs[1] = kb;
	for (int i = 0; i < 2; i++) {
		struct certblob *b = bs[i];

		if (!b)
			continue;
		if (b->state == CERTBLOB_QUEUED || b->state == CERTBLOB_LOOKING) {
			id->source = "-";
			return certident_set(id, CERTIDENT_LOADING, "looking for it in Docker");
		}
		if (b->state != CERTBLOB_FILE && b->state != CERTBLOB_CONFIG) {
			id->source = certblob_source(b);
			return certident_set(id, CERTIDENT_MISSING, b->reason);
		}
	}
	id->source = !kb || strcmp(certblob_source(cb), certblob_source(kb)) == 0 ?
		     certblob_source(cb) : "file+config";
	/* a mounted secret is a file: say "secret" when it comes from one */
	if (secrets_dir && strcmp(id->source, "file") == 0)
		id->source = "secret";
	return certident_build(id, &cb->data, kb ? &kb->data : NULL, cb->version,
			       kb ? kb->version : 0);
}

void certident_refuse(struct certident *id, const char *reason)
{
	id->refused_hash = id->pem.hash;
	snprintf(id->refused_reason, sizeof(id->refused_reason), "%s", reason);
	pem_bundle_free(&id->pem);
	certident_set(id, CERTIDENT_REFUSED, reason);
}

void certident_take(struct certident *id, struct certident *old)
{
	id->state = old->state;
	memcpy(id->reason, old->reason, sizeof(id->reason));
	id->source = old->source;
	id->pem = old->pem;
	memset(&old->pem, 0, sizeof(old->pem));
	id->cert_version = old->cert_version;
	id->key_version = old->key_version;
	id->refused_hash = old->refused_hash;
	id->cover_refused = old->cover_refused;
	memcpy(id->refused_reason, old->refused_reason, sizeof(id->refused_reason));
	id->reported_state = old->reported_state;
	memcpy(id->reported, old->reported, sizeof(id->reported));
}

struct certident *certident_find(struct certident *ids, size_t n, const char *name)
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

void certident_name(char *buf, size_t len, const char *cert, const char *key)
{
	if (key && strcmp(key, cert) != 0)
		snprintf(buf, len, "%s+%s", cert, key);
	else
		snprintf(buf, len, "%s", cert);
}

int certident_fill_item(const struct certident *id, struct arena *a, struct certset_item *it)
{
	char path[512], dir[300];

	/* ready: only the hosts it covers ("": the certificate's own names,
	 * for the default only); not ready: the hosts whatever serves them
	 * now keeps serving, unless it covers none of them: then what is
	 * under its own name goes */
	it->drop = id->state == CERTIDENT_REFUSED && id->cover_refused;
	it->name = arena_strdup(a, id->name);
	if (id->state == CERTIDENT_READY)
		it->filters = arena_strdup(a, id->served ? id->served : "");
	else
		it->filters = arena_strdup(a, it->drop || !id->filters ? "" : id->filters);
	certident_dir(id->name, dir, sizeof(dir));
	it->dir = arena_strdup(a, dir);
	if (!it->name || !it->filters || !it->dir)
		return -1;
	if (id->state != CERTIDENT_READY)
		return 0;
	snprintf(path, sizeof(path), "%s%016llx.pem", dir, (unsigned long long)id->pem.hash);
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

void certident_dir(const char *name, char *buf, size_t len)
{
	size_t plen = strlen(CERTSET_PREFIX);

	snprintf(buf, len, "%s%s/", CERTSET_PREFIX, name);
	for (char *p = buf + (plen < len ? plen : 0); *p; p++)
		if (*p == ':')
			*p = '=';
}

const char *certident_state_name(enum certident_state st)
{
	switch (st) {
	case CERTIDENT_LOADING: return "loading";
	case CERTIDENT_READY: return "ready";
	case CERTIDENT_MISSING: return "missing";
	case CERTIDENT_REFUSED: return "refused";
	}
	return "?";
}
