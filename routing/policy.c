/* The ownership policy file. One rule per line, words separated by spaces
 * or tabs, '#' starts a comment:
 *
 *   host PATTERN OWNER...        PATTERN: a host name, or *.domain
 *   wildcard OWNER...            who may claim wildcard hosts (none listed: nobody)
 *   default_backend OWNER...     who may be the default backend
 *   secret NAME[*] OWNER...      who may name this secret or config (or prefix)
 *   secrets own-stack|any        whether names outside the grants are allowed
 *   network NAME[*] OWNER...     for whom the proxy may join this network (or prefix)
 *
 * An OWNER is a stack name, "service:NAME" for a service outside any
 * stack, "file:routes" for the routes file's services, or "*". Errors name the line: the operator reads them at start or
 * after SIGHUP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/fileio.h"
#include "common/sbuf.h"
#include "routing/hostname.h"
#include "routing/policy.h"

#define POLICY_WORDS_MAX (POLICY_OWNERS_MAX + 2)
#define POLICY_NAME_MAX  128

struct policy_word {
	const char *s;
	size_t len;
};

/* A stack, service, secret or config name as Docker accepts them. */
static int policy_is_name(const char *s, size_t len)
{
	if (len == 0 || len > POLICY_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (i > 0 && (c == '_' || c == '-' || c == '.'))))
			return 0;
	}
	return 1;
}

static int policy_is_owner(const char *s, size_t len)
{
	if (len == 1 && s[0] == '*')
		return 1;
	if (len == 11 && memcmp(s, "file:routes", 11) == 0)
		return 1;
	if (len > 8 && memcmp(s, "service:", 8) == 0)
		return policy_is_name(s + 8, len - 8);
	return policy_is_name(s, len);
}

static int policy_owners(struct arena *a, const struct policy_word *w, size_t n,
			 struct policy_owners *o, char *why, size_t whylen)
{
	o->n = 0;
	o->names = n ? arena_alloc(a, n * sizeof(*o->names)) : NULL;
	if (n && !o->names) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!policy_is_owner(w[i].s, w[i].len)) {
			snprintf(why, whylen, "\"%.*s\" is not an owner (a stack name, "
				 "service:NAME or *)", w[i].len > 64 ? 64 : (int)w[i].len, w[i].s);
			return -1;
		}
		o->names[o->n] = arena_strndup(a, w[i].s, w[i].len);
		if (!o->names[o->n]) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		o->n++;
	}
	return 0;
}

static int policy_word_is(const struct policy_word *w, const char *s)
{
	return w->len == strlen(s) && memcmp(w->s, s, w->len) == 0;
}

/* Splits the <len> bytes at <s> into at most <max> words. Returns how
 * many, or -1 when there are more.
 */
static int policy_split(const char *s, size_t len, struct policy_word *w, size_t max)
{
	size_t n = 0, i = 0;

	while (i < len) {
		size_t start;

		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == len || s[i] == '#')
			break;
		start = i;
		while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '#')
			i++;
		if (n == max)
			return -1;
		w[n++] = (struct policy_word){ s + start, i - start };
	}
	return (int)n;
}

struct policy_build {
	struct policy *p;
	size_t hcap, scap, ncap;
};

/* "network NAME[*] OWNER..." in the <n> words <w>. Returns 0 or -1. */
static int policy_network_line(struct policy_build *b, const struct policy_word *w, int n,
			       unsigned line, char *why, size_t whylen)
{
	struct policy *p = b->p;
	struct policy_network *r;
	size_t nl = w[1].len;
	int prefix;

	if (n < 3) {
		snprintf(why, whylen, "network needs a name and at least one owner");
		return -1;
	}
	prefix = nl > 1 && w[1].s[nl - 1] == '*';
	if (!policy_is_name(w[1].s, nl - (size_t)prefix)) {
		snprintf(why, whylen, "\"%.*s\" is not a network name (or prefix ending with *)",
			 nl > 64 ? 64 : (int)nl, w[1].s);
		return -1;
	}
	if (p->nnetworks == b->ncap) {
		size_t cap = b->ncap ? b->ncap * 2 : 16;
		struct policy_network *nn = arena_alloc(p->arena, cap * sizeof(*nn));

		if (!nn)
			goto oom;
		if (p->nnetworks)
			memcpy(nn, p->networks, p->nnetworks * sizeof(*nn));
		p->networks = nn;
		b->ncap = cap;
	}
	r = &p->networks[p->nnetworks];
	r->line = line;
	r->prefix = prefix;
	r->len = nl - (size_t)prefix;
	r->name = arena_strndup(p->arena, w[1].s, r->len);
	if (!r->name)
		goto oom;
	if (policy_owners(p->arena, &w[2], (size_t)n - 2, &r->owners, why, whylen) < 0)
		return -1;
	p->nnetworks++;
	return 0;
oom:
	snprintf(why, whylen, "out of memory");
	return -1;
}

static int policy_line(struct policy_build *b, const char *s, size_t len, unsigned line,
		       char *why, size_t whylen)
{
	struct policy *p = b->p;
	struct policy_word w[POLICY_WORDS_MAX];
	int n = policy_split(s, len, w, POLICY_WORDS_MAX);

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			snprintf(why, whylen, "control byte 0x%02x", c);
			return -1;
		}
	}
	if (n < 0) {
		snprintf(why, whylen, "more than %d owners", POLICY_OWNERS_MAX);
		return -1;
	}
	if (n == 0)
		return 0;

	if (policy_word_is(&w[0], "host")) {
		char host[HOSTNAME_MAX + 3], hwhy[128];
		struct policy_host *h;
		int hl;

		if (n < 3) {
			snprintf(why, whylen, "host needs a pattern and at least one owner");
			return -1;
		}
		hl = hostname_normalize(w[1].s, w[1].len, HOSTNAME_WILDCARD, host, sizeof(host),
					hwhy, sizeof(hwhy));
		if (hl < 0) {
			snprintf(why, whylen, "\"%.*s\": %s", w[1].len > 64 ? 64 : (int)w[1].len,
				 w[1].s, hwhy);
			return -1;
		}
		if (p->nhosts == b->hcap) {
			size_t cap = b->hcap ? b->hcap * 2 : 16;
			struct policy_host *nh = arena_alloc(p->arena, cap * sizeof(*nh));

			if (!nh)
				goto oom;
			if (p->nhosts)
				memcpy(nh, p->hosts, p->nhosts * sizeof(*nh));
			p->hosts = nh;
			b->hcap = cap;
		}
		h = &p->hosts[p->nhosts];
		h->line = line;
		h->pattern = arena_strndup(p->arena, host, (size_t)hl);
		if (!h->pattern)
			goto oom;
		if (policy_owners(p->arena, &w[2], (size_t)n - 2, &h->owners, why, whylen) < 0)
			return -1;
		p->nhosts++;
		return 0;
	}
	if (policy_word_is(&w[0], "wildcard") || policy_word_is(&w[0], "default_backend")) {
		int wild = w[0].len == 8;
		int *set = wild ? &p->wildcard_set : &p->default_set;

		if (*set) {
			snprintf(why, whylen, "%s given twice", wild ? "wildcard" : "default_backend");
			return -1;
		}
		*set = 1;
		return policy_owners(p->arena, &w[1], (size_t)n - 1, wild ? &p->wildcard : &p->deflt,
				     why, whylen);
	}
	if (policy_word_is(&w[0], "secret")) {
		struct policy_secret *sr;
		size_t nl = w[1].len;
		int prefix;

		if (n < 3) {
			snprintf(why, whylen, "secret needs a name and at least one owner");
			return -1;
		}
		prefix = nl > 1 && w[1].s[nl - 1] == '*';
		if (!policy_is_name(w[1].s, nl - (size_t)prefix)) {
			snprintf(why, whylen, "\"%.*s\" is not a secret name (or prefix ending with *)",
				 nl > 64 ? 64 : (int)nl, w[1].s);
			return -1;
		}
		if (p->nsecrets == b->scap) {
			size_t cap = b->scap ? b->scap * 2 : 16;
			struct policy_secret *ns = arena_alloc(p->arena, cap * sizeof(*ns));

			if (!ns)
				goto oom;
			if (p->nsecrets)
				memcpy(ns, p->secrets, p->nsecrets * sizeof(*ns));
			p->secrets = ns;
			b->scap = cap;
		}
		sr = &p->secrets[p->nsecrets];
		sr->line = line;
		sr->prefix = prefix;
		sr->len = nl - (size_t)prefix;
		sr->name = arena_strndup(p->arena, w[1].s, sr->len);
		if (!sr->name)
			goto oom;
		if (policy_owners(p->arena, &w[2], (size_t)n - 2, &sr->owners, why, whylen) < 0)
			return -1;
		p->nsecrets++;
		return 0;
	}
	if (policy_word_is(&w[0], "secrets")) {
		if (n != 2 || (!policy_word_is(&w[1], "own-stack") && !policy_word_is(&w[1], "any"))) {
			snprintf(why, whylen, "secrets takes own-stack or any");
			return -1;
		}
		p->secrets_own_stack = policy_word_is(&w[1], "own-stack");
		return 0;
	}
	if (policy_word_is(&w[0], "network"))
		return policy_network_line(b, w, n, line, why, whylen);
	snprintf(why, whylen, "unknown rule \"%.*s\" (host, wildcard, default_backend, secret, "
		 "secrets, network)", w[0].len > 32 ? 32 : (int)w[0].len, w[0].s);
	return -1;
oom:
	snprintf(why, whylen, "out of memory");
	return -1;
}

static int policy_host_cmp(const void *a, const void *b)
{
	const struct policy_host *x = a, *y = b;
	int d = strcmp(x->pattern, y->pattern);

	return d ? d : (x->line < y->line ? -1 : x->line > y->line);
}

struct policy *policy_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct policy_build b = { 0 };
	const char *p = text, *end = text + len;
	unsigned line = 0;
	char why[256];

	if (len > POLICY_FILE_MAX) {
		snprintf(err, errlen, "larger than %d bytes", POLICY_FILE_MAX);
		return NULL;
	}
	b.p = calloc(1, sizeof(*b.p));
	if (!b.p || !(b.p->arena = arena_new(16384))) {
		free(b.p);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		line++;
		if (n && p[n - 1] == '\r')
			n--;
		if (n > POLICY_LINE_MAX) {
			snprintf(err, errlen, "line %u: longer than %d bytes", line, POLICY_LINE_MAX);
			goto out_free;
		}
		if (policy_line(&b, p, n, line, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "line %u: %s", line, why);
			goto out_free;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	if (b.p->nhosts > 1)
		qsort(b.p->hosts, b.p->nhosts, sizeof(*b.p->hosts), policy_host_cmp);
	for (size_t i = 1; i < b.p->nhosts; i++) {
		if (strcmp(b.p->hosts[i - 1].pattern, b.p->hosts[i].pattern) == 0) {
			snprintf(err, errlen, "line %u: host %s already given on line %u",
				 b.p->hosts[i].line, b.p->hosts[i].pattern, b.p->hosts[i - 1].line);
			goto out_free;
		}
	}
	return b.p;

out_free:
	policy_free(b.p);
	return NULL;
}

struct policy *policy_load(const char *path, char *err, size_t errlen)
{
	struct sbuf text = SBUF_INIT;
	struct policy *p = NULL;
	char why[256];
	int rc = fileio_read(path, POLICY_FILE_MAX, &text, NULL, why, sizeof(why));

	if (rc == 0)
		snprintf(err, errlen, "%s: no such file", path);
	else if (rc < 0)
		snprintf(err, errlen, "%s", why);
	else if (!(p = policy_parse(text.buf ? text.buf : "", text.len, why, sizeof(why))))
		snprintf(err, errlen, "%s: %s", path, why);
	sbuf_free(&text);
	return p;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	arena_free(p->arena);
	free(p);
}

static const struct policy_host *policy_find(const struct policy *p, const char *pattern)
{
	size_t lo = 0, hi = p->nhosts;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = strcmp(pattern, p->hosts[mid].pattern);

		if (d == 0)
			return &p->hosts[mid];
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct policy_host *policy_host_rule(const struct policy *p, const char *host)
{
	const struct policy_host *r;
	char pat[HOSTNAME_MAX + 3];
	const char *name = host;

	if (!p || !p->nhosts)
		return NULL;
	r = policy_find(p, host);
	if (r)
		return r;
	if (name[0] == '*' && name[1] == '.')
		name += 2;
	/* the longest covering domain first: "*.a.b.c", then "*.b.c", "*.c" */
	for (const char *s = name; s; s = strchr(s, '.')) {
		if (*s == '.')
			s++;
		if (s != name || host != name) {
			if ((size_t)snprintf(pat, sizeof(pat), "*.%s", s) >= sizeof(pat))
				continue;
			r = policy_find(p, pat);
			if (r)
				return r;
		}
	}
	return NULL;
}

int policy_owner_in(const struct policy_owners *o, const char *owner)
{
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->names[i], "*") == 0 || strcmp(o->names[i], owner) == 0)
			return 1;
	return 0;
}

const struct policy_secret *policy_secret_rule(const struct policy *p, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; p && i < p->nsecrets; i++) {
		const struct policy_secret *r = &p->secrets[i];

		if (r->prefix ? len >= r->len && memcmp(name, r->name, r->len) == 0 :
				len == r->len && memcmp(name, r->name, len) == 0)
			return r;
	}
	return NULL;
}

const struct policy_network *policy_network_rule(const struct policy *p, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; p && i < p->nnetworks; i++) {
		const struct policy_network *r = &p->networks[i];

		if (r->prefix ? len >= r->len && memcmp(name, r->name, r->len) == 0 :
				len == r->len && memcmp(name, r->name, len) == 0)
			return r;
	}
	return NULL;
}
