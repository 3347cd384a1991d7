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
#include "routing/rtable.h"

/* One service asking for a certificate, while a table is read. */
struct certwant {
	const char *name;        /* in the arena */
	const char *cert;        /* in the table */
	const char *key;         /* NULL: the same as <cert>, or none */
	const char *service;
	const char *const *hosts;
	size_t nhosts;
	const char *bad_name;    /* a name is not a valid secret or config name */
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
		const char *cert, *key;
		char name[2 * CERTSRC_NAME_MAX + 2];

		rtable_service_at(t, i, &v);
		if (!certwant_wanted(&v))
			continue;
		cert = v.spec->ssl_cert;
		key = v.spec->ssl_key && strcmp(v.spec->ssl_key, cert) != 0 ? v.spec->ssl_key : NULL;
		if (!certsrc_valid_name(cert) || (key && !certsrc_valid_name(key))) {
			w[k].bad_name = !certsrc_valid_name(cert) ? cert : key;
			/* shown, never used as a path: made printable and flat */
			snprintf(name, sizeof(name), "%.64s", w[k].bad_name);
			for (char *q = name; *q; q++)
				if (!strchr(name_chars, *q))
					*q = '_';
		} else {
			certident_name(name, sizeof(name), cert, key);
		}
		w[k].name = arena_strdup(a, name);
		if (!w[k].name)
			return -1;
		w[k].cert = cert;
		w[k].key = key;
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
	id->bad_name = w->bad_name ? strdup(w->bad_name) : NULL;
	id->source = "-";
	if (!id->name || !id->cert || (w->key && !id->key) || (w->bad_name && !id->bad_name))
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
