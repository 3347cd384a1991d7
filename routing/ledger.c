/* The host ledger and its file form:
 *
 *   # swarm-spoa host ledger v1
 *   HOST OWNER SINCE_MS MISSING_MS
 *
 * one line per host, sorted by host, times in milliseconds of the wall
 * clock (MISSING_MS 0 while the owner claims the host).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/sbuf.h"
#include "common/strmap.h"
#include "routing/hostname.h"
#include "routing/ledger.h"

#define LEDGER_HEADER "# swarm-spoa host ledger v1"

struct ledger {
	struct arena *arena;     /* entries and strings */
	struct strmap *by_host;  /* host -> index + 1 in <e> */
	size_t n, cap;
	struct ledger_entry *e;
};

struct ledger *ledger_new(void)
{
	struct ledger *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->arena = arena_new(16384);
	l->by_host = strmap_new();
	if (!l->arena || !l->by_host) {
		ledger_free(l);
		return NULL;
	}
	return l;
}

void ledger_free(struct ledger *l)
{
	if (!l)
		return;
	strmap_free(l->by_host);
	arena_free(l->arena);
	free(l->e);
	free(l);
}

int ledger_put(struct ledger *l, const struct ledger_entry *e)
{
	uintptr_t idx = (uintptr_t)strmap_get(l->by_host, e->host);
	struct ledger_entry *d;
	const char *owner;

	owner = idx && strcmp(l->e[idx - 1].owner, e->owner) == 0 ? l->e[idx - 1].owner :
		arena_strdup(l->arena, e->owner);
	if (!owner)
		return -1;
	if (idx) {
		d = &l->e[idx - 1];
		d->owner = owner;
		d->since_ms = e->since_ms;
		d->missing_ms = e->missing_ms;
		return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct ledger_entry *ne = realloc(l->e, cap * sizeof(*ne));

		if (!ne)
			return -1;
		l->e = ne;
		l->cap = cap;
	}
	d = &l->e[l->n];
	d->host = arena_strdup(l->arena, e->host);
	d->owner = owner;
	d->since_ms = e->since_ms;
	d->missing_ms = e->missing_ms;
	if (!d->host || strmap_put(l->by_host, d->host, (void *)(uintptr_t)(l->n + 1)) < 0)
		return -1;
	l->n++;
	return 0;
}

const struct ledger_entry *ledger_get(const struct ledger *l, const char *host)
{
	uintptr_t idx = l ? (uintptr_t)strmap_get(l->by_host, host) : 0;

	return idx ? &l->e[idx - 1] : NULL;
}

size_t ledger_count(const struct ledger *l)
{
	return l ? l->n : 0;
}

const struct ledger_entry *ledger_at(const struct ledger *l, size_t i)
{
	return &l->e[i];
}

static int ledger_entry_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct ledger_entry *const *)a)->host,
		      (*(const struct ledger_entry *const *)b)->host);
}

void ledger_format(const struct ledger *l, struct sbuf *out)
{
	const struct ledger_entry **sorted;

	sbuf_puts(out, LEDGER_HEADER "\n");
	if (!l || !l->n)
		return;
	sorted = malloc(l->n * sizeof(*sorted));
	if (!sorted) {
		out->oom = 1;
		return;
	}
	for (size_t i = 0; i < l->n; i++)
		sorted[i] = &l->e[i];
	qsort(sorted, l->n, sizeof(*sorted), ledger_entry_cmp);
	for (size_t i = 0; i < l->n; i++)
		sbuf_printf(out, "%s %s %lld %lld\n", sorted[i]->host, sorted[i]->owner,
			    (long long)sorted[i]->since_ms, (long long)sorted[i]->missing_ms);
	free(sorted);
}

/* An owner as the build makes them: a stack name or "service:NAME", of
 * letters, digits, '_', '-', '.' (and the one ':').
 */
static int ledger_valid_owner(const char *s)
{
	size_t len = strlen(s);
	const char *name = strncmp(s, "service:", 8) == 0 ? s + 8 : s;

	if (strcmp(s, "file:routes") == 0)
		return 1;
	if (!*name || len > LEDGER_OWNER_MAX)
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
			return 0;
	return 1;
}

static int ledger_valid_host(const char *s)
{
	char norm[HOSTNAME_MAX + 3], why[128];
	size_t len = strlen(s);
	int n;

	if (strcmp(s, LEDGER_DEFAULT) == 0)
		return 1;
	n = hostname_normalize(s, len, HOSTNAME_WILDCARD, norm, sizeof(norm), why, sizeof(why));
	/* only the normal form: another spelling would be a second entry */
	return n >= 0 && (size_t)n == len && memcmp(norm, s, len) == 0;
}

static int ledger_time(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!*s || *s == '-' || *s == '+' || strlen(s) > 15)
		return -1;
	v = strtoll(s, &end, 10);
	if (*end)
		return -1;
	*out = v;
	return 0;
}

struct ledger *ledger_parse(const char *text, size_t len, char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	struct ledger *l;
	unsigned line = 0;

	if (len > LEDGER_FILE_MAX) {
		snprintf(err, errlen, "larger than %d bytes", LEDGER_FILE_MAX);
		return NULL;
	}
	l = ledger_new();
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char buf[512], host[300], owner[300], since[32], missing[32], extra[2];
		struct ledger_entry e;

		line++;
		if (n >= sizeof(buf)) {
			snprintf(err, errlen, "line %u: too long", line);
			goto out_free;
		}
		memcpy(buf, p, n);
		buf[n] = '\0';
		p = nl ? nl + 1 : end;
		if (line == 1) {
			if (strcmp(buf, LEDGER_HEADER) != 0) {
				snprintf(err, errlen, "line 1: not a swarm-spoa host ledger (v1)");
				goto out_free;
			}
			continue;
		}
		if (!n || buf[0] == '#')
			continue;
		for (size_t i = 0; i < n; i++) {
			if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f) {
				snprintf(err, errlen, "line %u: control byte", line);
				goto out_free;
			}
		}
		if (sscanf(buf, "%299s %299s %31s %31s %1s", host, owner, since, missing, extra) != 4) {
			snprintf(err, errlen, "line %u: expected HOST OWNER SINCE_MS MISSING_MS", line);
			goto out_free;
		}
		if (!ledger_valid_host(host)) {
			snprintf(err, errlen, "line %u: \"%.64s\" is not a normalised host name", line,
				 host);
			goto out_free;
		}
		if (!ledger_valid_owner(owner)) {
			snprintf(err, errlen, "line %u: \"%.64s\" is not an owner", line, owner);
			goto out_free;
		}
		e = (struct ledger_entry){ host, owner, 0, 0 };
		if (ledger_time(since, &e.since_ms) < 0 || ledger_time(missing, &e.missing_ms) < 0) {
			snprintf(err, errlen, "line %u: times are milliseconds (digits only)", line);
			goto out_free;
		}
		if (ledger_get(l, host)) {
			snprintf(err, errlen, "line %u: host %s listed twice", line, host);
			goto out_free;
		}
		if (ledger_put(l, &e) < 0) {
			snprintf(err, errlen, "out of memory");
			goto out_free;
		}
	}
	if (line == 0) {
		snprintf(err, errlen, "line 1: not a swarm-spoa host ledger (v1)");
		goto out_free;
	}
	return l;

out_free:
	ledger_free(l);
	return NULL;
}
