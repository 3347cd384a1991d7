/* com.docker.lb.* label parsing. Every error names the label and says what
 * is wrong with its value, because the reason is what an operator sees in
 * "show services" and in the log when a service is not routed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/arena.h"
#include "common/hash.h"
#include "routing/hostname.h"
#include "routing/labels.h"

#define LABELS_ECHO_MAX 80       /* bytes of a bad value quoted in a reason */
#define LABELS_HSTS_MAX 999999999u

/* The labels we read, by their name after "com.docker.lb.". */
enum labels_key {
	LB_HOSTS = 0, LB_PORT, LB_NETWORK, LB_CONTEXT_ROOT, LB_CONTEXT_ROOT_REWRITE,
	LB_SSL_CERT, LB_SSL_KEY, LB_SSL_ONLY, LB_SSL_PASSTHROUGH, LB_STICKY_SESSION_COOKIE,
	LB_IP_HASH, LB_REDIRECTS, LB_WEBSOCKET_ENDPOINTS, LB_BACKEND_MODE, LB_DEFAULT_BACKEND,
	LB_SERVICE_CLUSTER, LB_WEIGHT, LB_HSTS, LB_SSL_BACKEND, LB_SSL_BACKEND_TLS_VERIFY,
	LB_OWN_FIRST, LB_STICKY_MANAGED = LB_OWN_FIRST,  /* LABELS_OWN_PREFIX labels */
	LB_KEYS
};

static const char *const labels_names[LB_KEYS] = {
	[LB_HOSTS] = "hosts", [LB_PORT] = "port", [LB_NETWORK] = "network",
	[LB_CONTEXT_ROOT] = "context_root", [LB_CONTEXT_ROOT_REWRITE] = "context_root_rewrite",
	[LB_SSL_CERT] = "ssl_cert", [LB_SSL_KEY] = "ssl_key", [LB_SSL_ONLY] = "ssl_only",
	[LB_SSL_PASSTHROUGH] = "ssl_passthrough",
	[LB_STICKY_SESSION_COOKIE] = "sticky_session_cookie", [LB_IP_HASH] = "ip_hash",
	[LB_REDIRECTS] = "redirects", [LB_WEBSOCKET_ENDPOINTS] = "websocket_endpoints",
	[LB_BACKEND_MODE] = "backend_mode", [LB_DEFAULT_BACKEND] = "default_backend",
	[LB_SERVICE_CLUSTER] = "service_cluster", [LB_WEIGHT] = "weight", [LB_HSTS] = "hsts",
	[LB_SSL_BACKEND] = "ssl_backend", [LB_SSL_BACKEND_TLS_VERIFY] = "ssl_backend_tls_verify",
	[LB_STICKY_MANAGED] = "sticky_managed",
};

/* The full name of label <name> (a labels_names entry) for messages. */
static const char *labels_prefix_of(const char *name)
{
	return strcmp(name, labels_names[LB_STICKY_MANAGED]) == 0 ? LABELS_OWN_PREFIX : LABELS_PREFIX;
}

/* The values of a service's com.docker.lb.* labels, found in one pass. */
struct labels_raw {
	const char *v[LB_KEYS];
};

/* A value being parsed: borrowed bytes, trimmed of surrounding spaces. */
struct labels_str {
	const char *s;
	size_t len;
};

/* Returns the value of label <k> trimmed, with .s == NULL when the label
 * is unset or empty (an empty label counts as unset).
 */
static struct labels_str labels_get(const struct labels_raw *raw, enum labels_key k)
{
	struct labels_str v = { NULL, 0 };
	const char *s = raw->v[k];

	if (!s)
		return v;
	while (*s == ' ')
		s++;
	v.len = strlen(s);
	while (v.len && s[v.len - 1] == ' ')
		v.len--;
	if (v.len)
		v.s = s;
	return v;
}

/* Formats "com.docker.lb.<name>: "<value>" <what>" (or the label of our
 * own) into <err>.
 */
static int labels_fail(char *err, size_t errlen, const char *name,
		       const char *val, size_t len, const char *what)
{
	if (len > LABELS_ECHO_MAX)
		snprintf(err, errlen, "%s%s: \"%.*s...\" %s",
			 labels_prefix_of(name), name, LABELS_ECHO_MAX, val, what);
	else
		snprintf(err, errlen, "%s%s: \"%.*s\" %s",
			 labels_prefix_of(name), name, (int)len, val, what);
	return -1;
}

/* Trims spaces around the <*len> bytes at <*s>. */
static void labels_trim(const char **s, size_t *len)
{
	while (*len && **s == ' ') {
		(*s)++;
		(*len)--;
	}
	while (*len && (*s)[*len - 1] == ' ')
		(*len)--;
}

int labels_bool(const char *s)
{
	if (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0)
		return 1;
	if (strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0)
		return 0;
	return -1;
}

/* Parses a decimal integer of at most <max> into <*out>. Returns 0 or -1. */
static int labels_uint(const char *s, size_t len, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (len == 0 || len > 10)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* Reads boolean label <name> into <*out> (left alone when unset). */
static int labels_get_bool(const struct labels_raw *raw, enum labels_key k, int *out,
			   char *err, size_t errlen)
{
	struct labels_str v = labels_get(raw, k);
	const char *name = labels_names[k];
	char buf[8];
	int b;

	if (!v.s)
		return 0;
	if (v.len >= sizeof(buf))
		return labels_fail(err, errlen, name, v.s, v.len, "is not a boolean (true or false)");
	memcpy(buf, v.s, v.len);
	buf[v.len] = '\0';
	b = labels_bool(buf);
	if (b < 0)
		return labels_fail(err, errlen, name, v.s, v.len, "is not a boolean (true or false)");
	*out = b;
	return 0;
}

/* A name (secret, config, network, cluster): printable, no spaces. */
static int labels_is_name(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == ' ' || s[i] == ',' || s[i] == ';')
			return 0;
	return len > 0;
}

static int labels_get_name(const struct labels_raw *raw, struct arena *a,
			   enum labels_key k, const char **out, char *err, size_t errlen)
{
	struct labels_str v = labels_get(raw, k);
	const char *name = labels_names[k];

	if (!v.s)
		return 0;
	if (!labels_is_name(v.s, v.len))
		return labels_fail(err, errlen, name, v.s, v.len,
				   "is not a name (no spaces, commas or semicolons)");
	*out = arena_strndup(a, v.s, v.len);
	if (!*out)
		goto oom;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* RFC 6265 cookie-name = token (RFC 2616 section 2.2). */
static int labels_is_token(const char *s, size_t len)
{
	static const char separators[] = "()<>@,;:\\\"/[]?={} \t";

	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || strchr(separators, c))
			return 0;
	}
	return 1;
}

/* A path as context roots and websocket endpoints use them: starts with
 * '/', no spaces, control bytes, '?', '#', ';' or ','. A context root is
 * the Path attribute of managed sticky cookies: a ';' would let a label
 * add attributes (Domain=...) to the cookie, a ',' split the header.
 * Trailing '/' are dropped except for "/" itself. Returns the normalised
 * length, or 0 when invalid.
 */
static size_t labels_path(const char *s, size_t len)
{
	if (len == 0 || s[0] != '/')
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == '?' || s[i] == '#' ||
		    s[i] == ';' || s[i] == ',' || (unsigned char)s[i] == 0x7f)
			return 0;
	while (len > 1 && s[len - 1] == '/')
		len--;
	return len;
}

/* Splits <v> on <sep> and calls <fn> on each trimmed, non-empty item.
 * Stops at the first failure and returns it.
 */
static int labels_split(struct labels_str v, char sep,
			int (*fn)(void *ctx, const char *s, size_t len), void *ctx)
{
	const char *p = v.s, *end = v.s + v.len;

	while (p <= end) {
		const char *q = memchr(p, sep, (size_t)(end - p));
		const char *item = p;
		size_t len;

		if (!q)
			q = end;
		len = (size_t)(q - p);
		labels_trim(&item, &len);
		if (len && fn(ctx, item, len) < 0)
			return -1;
		p = q + 1;
	}
	return 0;
}

/************************************************************************/
/*                     hosts and websocket endpoints                    */
/************************************************************************/

/* Items are de-duplicated through a small open-addressing set of their
 * indexes plus one: linear in the number of items, which is bounded.
 */
#define LABELS_SET_SLOTS 256
_Static_assert(LABELS_SET_SLOTS >= 2 * LABELS_HOSTS_MAX &&
	       LABELS_SET_SLOTS >= 2 * LABELS_WEBSOCKETS_MAX, "set too small for its items");

struct labels_list_ctx {
	struct arena *a;
	struct labels_spec *spec;
	char *err;
	size_t errlen;
	size_t cap;
	uint16_t set[LABELS_SET_SLOTS];
};

/* Looks <s> up among the <n> items of <items> through <set>. Returns 1
 * when it is there, else 0 and the slot where its index goes in <*slot>.
 */
static int labels_set_find(const uint16_t *set, const char *const *items, const char *s,
			   size_t len, size_t *slot)
{
	size_t i = (size_t)hash_bytes(HASH_SEED, s, len) & (LABELS_SET_SLOTS - 1);

	for (; set[i]; i = (i + 1) & (LABELS_SET_SLOTS - 1)) {
		const char *it = items[set[i] - 1];

		if (strncmp(it, s, len) == 0 && it[len] == '\0')
			return 1;
	}
	*slot = i;
	return 0;
}

static int labels_host_item(void *arg, const char *s, size_t len)
{
	struct labels_list_ctx *c = arg;
	struct labels_spec *spec = c->spec;
	char host[HOSTNAME_MAX + 2], why[128];
	int n = hostname_normalize(s, len, HOSTNAME_WILDCARD, host, sizeof(host), why, sizeof(why));
	size_t slot;

	if (n < 0) {
		char what[160];

		snprintf(what, sizeof(what), "is not a valid host name: %s", why);
		return labels_fail(c->err, c->errlen, "hosts", s, len, what);
	}
	if (labels_set_find(c->set, spec->hosts, host, (size_t)n, &slot))
		return 0;
	if (spec->nhosts == LABELS_HOSTS_MAX) {
		snprintf(c->err, c->errlen, LABELS_PREFIX "hosts: more than %d host names",
			 LABELS_HOSTS_MAX);
		return -1;
	}
	if (spec->nhosts == c->cap)
		goto oom;
	spec->hosts[spec->nhosts] = arena_strndup(c->a, host, (size_t)n);
	if (!spec->hosts[spec->nhosts])
		goto oom;
	c->set[slot] = (uint16_t)++spec->nhosts;
	return 0;
oom:
	snprintf(c->err, c->errlen, "out of memory");
	return -1;
}

static int labels_websocket_item(void *arg, const char *s, size_t len)
{
	struct labels_list_ctx *c = arg;
	struct labels_spec *spec = c->spec;
	size_t n = labels_path(s, len), slot;

	if (!n)
		return labels_fail(c->err, c->errlen, "websocket_endpoints", s, len,
				   "is not a path (starts with '/', no spaces, '?', '#', ';' or ',')");
	if (labels_set_find(c->set, spec->websockets, s, n, &slot))
		return 0;
	if (spec->nwebsockets == LABELS_WEBSOCKETS_MAX) {
		snprintf(c->err, c->errlen, LABELS_PREFIX "websocket_endpoints: more than %d paths",
			 LABELS_WEBSOCKETS_MAX);
		return -1;
	}
	if (spec->nwebsockets == c->cap)
		goto oom;
	spec->websockets[spec->nwebsockets] = arena_strndup(c->a, s, n);
	if (!spec->websockets[spec->nwebsockets])
		goto oom;
	c->set[slot] = (uint16_t)++spec->nwebsockets;
	return 0;
oom:
	snprintf(c->err, c->errlen, "out of memory");
	return -1;
}

/* Counts the items <labels_split> would visit, an upper bound for arrays. */
static size_t labels_count(struct labels_str v, char sep)
{
	size_t n = 1;

	for (size_t i = 0; i < v.len; i++)
		n += v.s[i] == sep;
	return n;
}

/************************************************************************/
/*                               redirects                              */
/************************************************************************/

/* Parses an absolute http(s) URL "scheme://host[:port][/path]". Sets
 * <*host>/<*host_len> to the host part and <*path>/<*path_len> to the path
 * (may be empty). Returns NULL, or a static reason.
 */
static const char *labels_url(const char *s, size_t len, const char **host, size_t *host_len,
			      const char **path, size_t *path_len)
{
	size_t i, skip;

	if (len >= 7 && strncasecmp(s, "http://", 7) == 0)
		skip = 7;
	else if (len >= 8 && strncasecmp(s, "https://", 8) == 0)
		skip = 8;
	else
		return "is not an absolute http:// or https:// URL";
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == '?' || s[i] == '#' || s[i] == '"' ||
		    (unsigned char)s[i] == 0x7f)
			return "must be scheme://host[:port][/path] (no spaces, query or fragment)";
	*host = s + skip;
	for (i = skip; i < len && s[i] != '/'; i++)
		;
	*host_len = (size_t)(s + i - *host);
	*path = s + i;
	*path_len = len - i;
	if (*host_len == 0)
		return "has no host";
	return NULL;
}

struct labels_redirect_ctx {
	struct arena *a;
	struct labels_spec *spec;
	char *err;
	size_t errlen;
	size_t cap;
};

static int labels_redirect_item(void *arg, const char *s, size_t len)
{
	struct labels_redirect_ctx *c = arg;
	struct labels_redirect *r;
	const char *comma = memchr(s, ',', len), *src, *dst, *host, *path, *why;
	size_t src_len, dst_len, host_len, path_len, path_off, src_path_len, hlen, hstart;
	char norm[HOSTNAME_MAX + 2], hwhy[128];
	int n;

	if (!comma || memchr(comma + 1, ',', (size_t)(s + len - comma - 1)))
		return labels_fail(c->err, c->errlen, "redirects", s, len,
				   "is not a \"source,target\" pair");
	src = s;
	src_len = (size_t)(comma - s);
	dst = comma + 1;
	dst_len = (size_t)(s + len - dst);
	labels_trim(&src, &src_len);
	labels_trim(&dst, &dst_len);

	why = labels_url(src, src_len, &host, &host_len, &path, &path_len);
	if (why)
		return labels_fail(c->err, c->errlen, "redirects", src, src_len, why);
	path_off = (size_t)(path - src);
	src_path_len = path_len;
	while (src_path_len && path[src_path_len - 1] == '/')
		src_path_len--;
	/* requests are matched on the source's host without its port */
	hlen = hostname_strip_port(host, host_len, &hstart);
	n = hostname_normalize(host + hstart, hlen, 0, norm, sizeof(norm), hwhy, sizeof(hwhy));
	if (n < 0) {
		char what[160];

		snprintf(what, sizeof(what), "has an invalid host name: %s", hwhy);
		return labels_fail(c->err, c->errlen, "redirects", src, src_len, what);
	}

	why = labels_url(dst, dst_len, &host, &host_len, &path, &path_len);
	if (why)
		return labels_fail(c->err, c->errlen, "redirects", dst, dst_len, why);

	if (c->spec->nredirects == LABELS_REDIRECTS_MAX) {
		snprintf(c->err, c->errlen, LABELS_PREFIX "redirects: more than %d redirects",
			 LABELS_REDIRECTS_MAX);
		return -1;
	}
	if (c->spec->nredirects == c->cap)
		goto oom;
	r = &c->spec->redirects[c->spec->nredirects];
	r->src = arena_strndup(c->a, src, src_len);
	r->src_host = arena_strndup(c->a, norm, (size_t)n);
	r->target = arena_strndup(c->a, dst, dst_len);
	if (!r->src || !r->src_host || !r->target)
		goto oom;
	r->src_path = r->src + path_off;
	r->src_path_len = src_path_len;
	r->target_len = dst_len;
	c->spec->nredirects++;
	return 0;
oom:
	snprintf(c->err, c->errlen, "out of memory");
	return -1;
}

/************************************************************************/
/*                                 parse                                */
/************************************************************************/

/* Collects the com.docker.lb.* and swarm-spoa.* labels of <svc> into
 * <raw>, refusing control bytes (CR and LF above all) and DEL in any of
 * their values, known or not: they would end up in headers and logs.
 */
static int labels_collect(const struct model_service *svc, struct labels_raw *raw,
			  char *err, size_t errlen)
{
	const size_t plen = sizeof(LABELS_PREFIX) - 1, olen = sizeof(LABELS_OWN_PREFIX) - 1;

	memset(raw, 0, sizeof(*raw));
	for (size_t i = 0; i < svc->nlabels; i++) {
		const char *k = svc->labels[i].key, *v = svc->labels[i].value;
		int first = 0, last = LB_OWN_FIRST;
		size_t skip = plen;

		if (!k || !v)
			continue;
		if (strncmp(k, LABELS_OWN_PREFIX, olen) == 0) {
			first = LB_OWN_FIRST;
			last = LB_KEYS;
			skip = olen;
		} else if (strncmp(k, LABELS_PREFIX, plen) != 0) {
			continue;
		}
		for (int n = first; n < last; n++) {
			/* the first occurrence wins, as with model_label() */
			if (!raw->v[n] && strcmp(k + skip, labels_names[n]) == 0) {
				raw->v[n] = v;
				break;
			}
		}
		for (size_t j = 0; v[j]; j++) {
			unsigned char c = (unsigned char)v[j];

			/* bounded before anything is made of it: a label of a
			 * megabyte would be parsed at every rebuild */
			if (j == LABELS_VALUE_MAX) {
				snprintf(err, errlen, "%.64s: value longer than %d bytes", k,
					 LABELS_VALUE_MAX);
				return -1;
			}
			if (c < 0x20 || c == 0x7f) {
				snprintf(err, errlen, "%.64s: control byte 0x%02x at offset %zu of the value",
					 k, c, j);
				return -1;
			}
		}
	}
	return 0;
}

void labels_init(struct labels_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->context_root = "/";
	spec->context_root_len = 1;
	spec->weight = LABELS_WEIGHT_DEFAULT;
	spec->mode = LABELS_MODE_TASK;
}

int labels_parse(const struct model_service *svc, struct arena *a,
		 struct labels_spec *spec, char *err, size_t errlen)
{
	static const enum labels_key bools[] = {
		LB_CONTEXT_ROOT_REWRITE, LB_SSL_ONLY, LB_SSL_PASSTHROUGH, LB_IP_HASH, LB_DEFAULT_BACKEND,
		LB_STICKY_MANAGED, LB_SSL_BACKEND,
	};
	int *const bool_fields[] = {
		&spec->context_root_rewrite, &spec->ssl_only, &spec->ssl_passthrough,
		&spec->ip_hash, &spec->default_backend, &spec->sticky_managed, &spec->ssl_backend,
	};
	struct labels_raw raw;
	struct labels_str v;
	unsigned long num;

	labels_init(spec);
	if (labels_collect(svc, &raw, err, errlen) < 0)
		return -1;

	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
		if (labels_get_bool(&raw, bools[i], bool_fields[i], err, errlen) < 0)
			return -1;

	spec->hosts_raw = raw.v[LB_HOSTS];
	v = labels_get(&raw, LB_HOSTS);
	if (v.s) {
		struct labels_list_ctx c = { a, spec, err, errlen, labels_count(v, ','), { 0 } };

		if (c.cap > LABELS_HOSTS_MAX)
			c.cap = LABELS_HOSTS_MAX;
		spec->hosts = arena_alloc(a, c.cap * sizeof(*spec->hosts));
		if (!spec->hosts)
			goto oom;
		if (labels_split(v, ',', labels_host_item, &c) < 0)
			return -1;
	}
	if (spec->hosts_raw && spec->nhosts == 0) {
		snprintf(err, errlen, LABELS_PREFIX "hosts: no host name");
		return -1;
	}

	v = labels_get(&raw, LB_PORT);
	if (v.s) {
		if (labels_uint(v.s, v.len, 65535, &num) < 0 || num == 0)
			return labels_fail(err, errlen, "port", v.s, v.len,
					   "is not a port number (1-65535)");
		spec->port = (uint16_t)num;
	}

	if (labels_get_name(&raw, a, LB_NETWORK, &spec->network, err, errlen) < 0 ||
	    labels_get_name(&raw, a, LB_SSL_CERT, &spec->ssl_cert, err, errlen) < 0 ||
	    labels_get_name(&raw, a, LB_SSL_KEY, &spec->ssl_key, err, errlen) < 0 ||
	    labels_get_name(&raw, a, LB_SERVICE_CLUSTER, &spec->cluster, err, errlen) < 0)
		return -1;

	v = labels_get(&raw, LB_CONTEXT_ROOT);
	if (v.s) {
		size_t n = labels_path(v.s, v.len);

		if (!n)
			return labels_fail(err, errlen, "context_root", v.s, v.len,
					   v.s[0] != '/' ? "must start with '/'" :
					   "must not contain spaces, control bytes, '?', '#', ';' or ','");
		spec->context_root = arena_strndup(a, v.s, n);
		if (!spec->context_root)
			goto oom;
		spec->context_root_len = n;
	}

	v = labels_get(&raw, LB_STICKY_SESSION_COOKIE);
	if (v.s) {
		if (!labels_is_token(v.s, v.len))
			return labels_fail(err, errlen, "sticky_session_cookie", v.s, v.len,
					   "is not a valid cookie name (RFC 6265 token)");
		spec->sticky_cookie = arena_strndup(a, v.s, v.len);
		if (!spec->sticky_cookie)
			goto oom;
	} else if (spec->sticky_managed) {
		snprintf(err, errlen, LABELS_OWN_PREFIX "sticky_managed needs "
			 LABELS_PREFIX "sticky_session_cookie: the name of the cookie");
		return -1;
	}

	v = labels_get(&raw, LB_REDIRECTS);
	if (v.s) {
		struct labels_redirect_ctx c = { a, spec, err, errlen, labels_count(v, ';') };

		if (c.cap > LABELS_REDIRECTS_MAX)
			c.cap = LABELS_REDIRECTS_MAX;
		spec->redirects = arena_calloc(a, c.cap, sizeof(*spec->redirects));
		if (!spec->redirects)
			goto oom;
		if (labels_split(v, ';', labels_redirect_item, &c) < 0)
			return -1;
	}

	v = labels_get(&raw, LB_WEBSOCKET_ENDPOINTS);
	if (v.s) {
		struct labels_list_ctx c = { a, spec, err, errlen, labels_count(v, ','), { 0 } };

		if (c.cap > LABELS_WEBSOCKETS_MAX)
			c.cap = LABELS_WEBSOCKETS_MAX;
		spec->websockets = arena_alloc(a, c.cap * sizeof(*spec->websockets));
		if (!spec->websockets)
			goto oom;
		if (labels_split(v, ',', labels_websocket_item, &c) < 0)
			return -1;
	}

	v = labels_get(&raw, LB_BACKEND_MODE);
	if (v.s) {
		/* "default" is how Interlock's own documentation spells task mode */
		if ((v.len == 4 && strncasecmp(v.s, "task", 4) == 0) ||
		    (v.len == 7 && strncasecmp(v.s, "default", 7) == 0))
			spec->mode = LABELS_MODE_TASK;
		else if (v.len == 3 && strncasecmp(v.s, "vip", 3) == 0)
			spec->mode = LABELS_MODE_VIP;
		else
			return labels_fail(err, errlen, "backend_mode", v.s, v.len,
					   "is not \"task\", \"default\" or \"vip\"");
	}

	/* Interlock's values (from its HAProxy heritage): "none", the default,
	 * or "required"; the CA is the operator's (haproxy-conf)
	 */
	v = labels_get(&raw, LB_SSL_BACKEND_TLS_VERIFY);
	if (v.s) {
		if (v.len == 4 && strncasecmp(v.s, "none", 4) == 0)
			spec->ssl_backend_verify = 0;
		else if (v.len == 8 && strncasecmp(v.s, "required", 8) == 0)
			spec->ssl_backend_verify = 1;
		else
			return labels_fail(err, errlen, "ssl_backend_tls_verify", v.s, v.len,
					   "is not \"none\" or \"required\"");
	}

	v = labels_get(&raw, LB_WEIGHT);
	if (v.s) {
		if (labels_uint(v.s, v.len, LABELS_WEIGHT_MAX, &num) < 0)
			return labels_fail(err, errlen, "weight", v.s, v.len,
					   "is not an integer from 0 to 10000");
		spec->weight = (uint32_t)num;
	}

	v = labels_get(&raw, LB_HSTS);
	if (v.s) {
		if (labels_uint(v.s, v.len, LABELS_HSTS_MAX, &num) < 0)
			return labels_fail(err, errlen, "hsts", v.s, v.len,
					   "is not a max-age in seconds (0-999999999)");
		spec->hsts_max_age = (uint32_t)num;
	}
	return 0;

oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}
