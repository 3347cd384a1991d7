/* Which certificates a routing table asks for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/certident.h"
#include "certs/certsrc.h"
#include "certs/certwant.h"
#include "common/arena.h"
#include "common/hash.h"
#include "common/sbuf.h"
#include "routing/certref.h"
#include "routing/rtable.h"

#define CERTWANT_REF_MAX (CERTSRC_NAME_MAX + 8)   /* "config:" and a name */

/* One service asking for a certificate, while a table is read. */
struct certwant {
	const char *name;        /* in the arena */
	const char *cert;        /* a reference, in one form (certwant_ref()), in the arena */
	const char *key;         /* NULL: the same as <cert>, or none */
	const char *service;
	const char *const *hosts;
	size_t nhosts;
	const char *bad_reason;  /* a label names no usable object, in the arena */
};

/* The labels of service <v> ask for a certificate this agent serves. */
static int certwant_wanted(const struct rtable_service_view *v)
{
	return v->status == RTABLE_SVC_ROUTED && v->spec->ssl_cert && !v->spec->ssl_passthrough;
}

uint64_t certwant_hash(const struct rtable *t)
{
	uint64_t h = HASH_SEED;
	size_t n = rtable_service_count(t);

	for (size_t i = 0; i < n; i++) {
		struct rtable_service_view v;

		rtable_service_at(t, i, &v);
		if (!certwant_wanted(&v))
			continue;
		h = hash_str(h, v.name);
		h = hash_str(h, v.spec->ssl_cert);
		h = hash_str(h, v.spec->ssl_key);
		for (size_t k = 0; k < v.spec->nhosts; k++)
			h = hash_str(h, v.spec->hosts[k]);
		h = hash_str(h, NULL);
	}
	return h;
}

static int certwant_cmp(const void *a, const void *b)
{
	return strcmp(((const struct certwant *)a)->name, ((const struct certwant *)b)->name);
}

static int certwant_str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Reads label value <value> into <buf> in its one form: a secret by its
 * bare name, a config or a file with its kind ("secret:x" and "x" are one
 * certificate). Returns 0, or -1 with the reason in <why>.
 */
static int certwant_ref(const char *value, char *buf, size_t len, char *why, size_t whylen)
{
	struct certref ref;

	if (certref_parse(value, &ref, why, whylen) < 0)
		return -1;
	if (!certsrc_valid_name(ref.name)) {
		snprintf(why, whylen, "\"%.80s\" is not a Docker secret or config name "
			 "(letters, digits, '_', '.', '-')", ref.name);
		return -1;
	}
	if (ref.kind == CERTREF_SECRET)
		snprintf(buf, len, "%s", ref.name);
	else
		snprintf(buf, len, "%s:%s", certref_kind_name(ref.kind), ref.name);
	return 0;
}

/* Reads the wants of <t> into <*out> (allocated in <a>), sorted by name.
 * Returns how many, or -1.
 */
static long certwant_read(const struct rtable *t, struct arena *a, struct certwant **out)
{
	static const char name_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					 "0123456789_.-";
	size_t n = rtable_service_count(t), k = 0;
	struct certwant *w = arena_calloc(a, n ? n : 1, sizeof(*w));

	if (!w)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct rtable_service_view v;
		const char *cert, *key = NULL;
		char name[2 * CERTWANT_REF_MAX + 2], cref[CERTWANT_REF_MAX], kref[CERTWANT_REF_MAX];
		char why[CERTIDENT_REASON_MAX];

		rtable_service_at(t, i, &v);
		if (!certwant_wanted(&v))
			continue;
		cert = v.spec->ssl_cert;
		if (certwant_ref(cert, cref, sizeof(cref), why, sizeof(why)) < 0 ||
		    (v.spec->ssl_key &&
		     certwant_ref(v.spec->ssl_key, kref, sizeof(kref), why, sizeof(why)) < 0)) {
			w[k].bad_reason = arena_strdup(a, why);
			if (!w[k].bad_reason)
				return -1;
			/* shown, never used as a path: made printable and flat */
			snprintf(name, sizeof(name), "%.64s", cert);
			for (char *q = name; *q; q++)
				if (!strchr(name_chars, *q))
					*q = '_';
		} else {
			key = v.spec->ssl_key && strcmp(kref, cref) != 0 ? kref : NULL;
			certident_name(name, sizeof(name), cref, key);
			cert = cref;
		}
		w[k].name = arena_strdup(a, name);
		w[k].cert = arena_strdup(a, cert);
		w[k].key = key ? arena_strdup(a, key) : NULL;
		if (!w[k].name || !w[k].cert || (key && !w[k].key))
			return -1;
		w[k].service = v.name;
		w[k].hosts = v.spec->hosts;
		w[k].nhosts = v.spec->nhosts;
		k++;
	}
	qsort(w, k, sizeof(*w), certwant_cmp);
	*out = w;
	return (long)k;
}

/* Builds the sorted, unique, space-separated hosts and the service list of
 * the <n> wants at <w> (one certificate) into <id>. Returns 0 or -1.
 */
static int certwant_merge(const struct certwant *w, size_t n, struct certident *id)
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
	qsort(all, total, sizeof(*all), certwant_str_cmp);
	for (size_t i = 0; i < total; i++) {
		if (i && strcmp(all[i], all[i - 1]) == 0)
			continue;
		sbuf_printf(&f, "%s%s", f.len ? " " : "", all[i]);
	}
	for (size_t i = 0; i < n; i++)
		sbuf_printf(&s, "%s%s", i ? ", " : "", w[i].service);
	free(all);
	id->filters = strdup(f.buf ? f.buf : "");
	id->services = strdup(s.buf ? s.buf : "");
	sbuf_free(&f);
	sbuf_free(&s);
	return id->filters && id->services && !f.oom && !s.oom ? 0 : -1;
}

/* Fills <id> from the <n> wants at <w>, which name the same certificate. */
static int certwant_ident(const struct certwant *w, size_t n, struct certident *id)
{
	id->name = strdup(w->name);
	id->cert = strdup(w->cert);
	id->key = w->key ? strdup(w->key) : NULL;
	id->bad_reason = w->bad_reason ? strdup(w->bad_reason) : NULL;
	id->source = "-";
	if (!id->name || !id->cert || (w->key && !id->key) || (w->bad_reason && !id->bad_reason))
		return -1;
	return certwant_merge(w, n, id);
}

int certwant_idents(const struct rtable *t, struct certident **ids, size_t *n)
{
	struct arena *a = arena_new(65536);
	struct certwant *w;
	struct certident *out = NULL;
	size_t nout = 0;
	long nw;

	if (!a)
		return -1;
	nw = certwant_read(t, a, &w);
	if (nw < 0)
		goto out_free_arena;
	out = calloc(nw ? (size_t)nw : 1, sizeof(*out));
	if (!out)
		goto out_free_arena;
	for (long i = 0; i < nw;) {
		long j = i + 1;

		while (j < nw && strcmp(w[j].name, w[i].name) == 0)
			j++;
		if (certwant_ident(&w[i], (size_t)(j - i), &out[nout++]) < 0)
			goto out_free_idents;
		i = j;
	}
	arena_free(a);
	*ids = out;
	*n = nout;
	return 0;

out_free_idents:
	for (size_t i = 0; i < nout; i++)
		certident_clear(&out[i]);
	free(out);
out_free_arena:
	arena_free(a);
	return -1;
}
