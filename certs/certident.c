/* Certificate identities: one certificate the labels ask for, its
 * material and its state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/pem.h"
#include "certs/certblob.h"
#include "certs/certident.h"
#include "certs/certset.h"
#include "certs/x509.h"
#include "common/arena.h"
#include "common/clock.h"
#include "common/errlog.h"
#include "common/log.h"
#include "common/sbuf.h"

void certident_clear(struct certident *id)
{
	free(id->name);
	free(id->cert);
	free(id->key);
	free(id->filters);
	free(id->services);
	free(id->bad_name);
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

		LOG(LL_INFO, "certs", "certificate ready", KVS("certificate", id->name),
		    KVS("source", id->source), KVS("subject", id->pem.leaf.cn),
		    KVS("not_after", x509_time_str(id->pem.leaf.not_after, when, sizeof(when))),
		    KVS("hosts", id->filters));
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

int certident_build(struct certident *id, const struct sbuf *cert, const struct sbuf *key,
		    unsigned cv, unsigned kv)
{
	char err[CERTIDENT_REASON_MAX];
	struct pem_bundle b;
	int64_t now = clock_wall_ms() / 1000;

	if ((id->state == CERTIDENT_READY || id->state == CERTIDENT_REFUSED) &&
	    id->cert_version == cv && id->key_version == kv &&
	    (id->pem.text || id->state == CERTIDENT_REFUSED)) {
		/* same material: only time can change the verdict */
		if (id->state == CERTIDENT_READY && id->pem.leaf.not_after < now)
			return certident_expired(id, id->pem.leaf.not_after);
		return 0;
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
	return certident_set(id, CERTIDENT_READY, NULL);
}

int certident_evaluate(struct certident *id, struct certblob_store *s, int secrets_dir)
{
	struct certblob *bs[2], *cb, *kb;

	if (id->bad_name) {
		char why[CERTIDENT_REASON_MAX];

		snprintf(why, sizeof(why), "\"%s\" is not a Docker secret or config name "
			 "(letters, digits, '_', '.', '-')", id->bad_name);
		return certident_set(id, CERTIDENT_MISSING, why);
	}
	cb = certblob_use(s, id->cert);
	kb = id->key ? certblob_use(s, id->key) : NULL;
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
	char path[512];

	it->name = arena_strdup(a, id->name);
	it->filters = arena_strdup(a, id->filters ? id->filters : "");
	snprintf(path, sizeof(path), "%s%s/", CERTSET_PREFIX, id->name);
	it->dir = arena_strdup(a, path);
	if (!it->name || !it->filters || !it->dir)
		return -1;
	if (id->state != CERTIDENT_READY)
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
