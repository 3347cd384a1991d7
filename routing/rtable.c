/* The routing table's read side: request lookup, task selection and the
 * accessors the stats socket and metrics use. rtable_route() runs on every
 * request: no lock, no allocation, no system call, a handful of cache
 * lines (host entry, route, pick, round-robin slot, counter).
 */
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/netaddr.h"
#include "routing/hostname.h"
#include "routing/ledger.h"
#include "routing/rtable-int.h"
#include "routing/sticky.h"
#include "routing/urlpath.h"

/* Relaxed single-writer increment: the owning worker is the only writer,
 * readers sum with relaxed loads.
 */
static inline void rt_count(uint64_t *c)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

static inline uint64_t rt_read(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/************************************************************************/
/*                             host lookup                              */
/************************************************************************/

static const struct rt_host *rt_tab_get(const struct rt_hosttab *tab, uint64_t h,
					const char *name, size_t len)
{
	uint32_t i = (uint32_t)h & tab->mask, tag = (uint32_t)(h >> 32);

	for (;; i = (i + 1) & tab->mask) {
		const struct rt_host *e = &tab->e[i];

		if (!e->len)
			return NULL;
		if (e->tag == tag && e->len == len &&
		    rt_name_equal(name, len <= RT_HOST_INLINE ? e->inl : e->name, len))
			return e;
	}
}

const struct rt_host *rtable_host_get(const struct rtable *t, const char *name, size_t len,
				      int wildcard)
{
	return rt_tab_get(wildcard ? &t->wild : &t->exact, rt_host_hash(name, len), name, len);
}

/* Finds the entry for the <len> bytes of <host> (no port, any case): the
 * exact name, else the most specific wildcard, the one with the longest
 * suffix. Sets <*kind>, and <*non_ascii> when <host> must be converted to
 * punycode first (then nothing was looked up).
 */
static const struct rt_host *rt_find_host(const struct rtable *t, const char *host, size_t len,
					  enum rt_host_match *kind, int *non_ascii)
{
	const struct rt_host *e;
	const char *dot, *end = host + len;
	uint64_t bits, h = rt_host_hash_bits(host, len, &bits);

	*non_ascii = (bits & RT_HIGH_BITS) != 0;
	if (*non_ascii)
		return NULL;
	e = rt_tab_get(&t->exact, h, host, len);
	if (e) {
		*kind = RT_MATCH_EXACT;
		return e;
	}
	if (!t->nwild)
		return NULL;
	for (dot = memchr(host, '.', len); dot && dot + 1 < end;
	     dot = memchr(dot + 1, '.', (size_t)(end - dot - 1))) {
		size_t n = (size_t)(end - dot - 1);

		e = rt_tab_get(&t->wild, rt_host_hash(dot + 1, n), dot + 1, n);
		if (e) {
			*kind = RT_MATCH_WILDCARD;
			return e;
		}
	}
	return NULL;
}

/* The context root of <r> covers <path>: see urlpath_under(). */
static inline int rt_route_covers(const struct rt_route *r, const char *path, size_t len)
{
	return urlpath_under(path, len, r->path_len <= RT_PATH_INLINE ? r->path_inl : r->path,
			     r->path_len);
}

/* Resolves the host and path of <req> into <m>: exact name, then the most
 * specific wildcard, then the default backend; then the longest context
 * root on a segment boundary (or, for TLS passthrough lookups, the host's
 * passthrough route). <scratch> (RTABLE_SCRATCH_SIZE bytes) receives the
 * host when it must be converted to punycode.
 */
static void rtable_match(const struct rtable *t, const struct route_req *req, char *scratch,
			 struct rt_match *m)
{
	const struct rt_host *e = NULL;
	size_t start, len = 0;
	int non_ascii = 0;

	memset(m, 0, sizeof(*m));
	if (req->host)
		len = hostname_strip_port(req->host, req->host_len, &start);
	m->host = len ? req->host + start : "";
	m->host_len = len;
	if (req->path && req->path_len) {
		m->path = req->path;
		m->path_len = req->path_len;
	} else {
		m->path = "/";
		m->path_len = 1;
	}

	if (len) {
		e = rt_find_host(t, m->host, len, &m->kind, &non_ascii);
		if (non_ascii) {
			/* rare: an internationalised name, looked up as punycode */
			char why[64];
			int n = hostname_normalize(m->host, len, 0, scratch, RT_SCRATCH_HOST,
						   why, sizeof(why));

			if (n > 0) {
				m->host = scratch;
				m->host_len = (size_t)n;
				e = rt_find_host(t, m->host, m->host_len, &m->kind, &non_ascii);
			} else {
				m->bad_host = 1;
			}
		}
	}
	if (!e && t->deflt) {
		e = t->deflt;
		m->kind = RT_MATCH_DEFAULT;
	}
	if (!e) {
		m->kind = RT_MATCH_NONE;
		return;
	}
	m->entry = e;

	const struct rt_route *r = &t->routes[e->first_route], *end = r + e->nroutes;

	if (req->tcp) {
		/* SNI only: the host's passthrough route with the shortest root */
		for (; r < end; r++)
			if (r->flags & RT_F_PASSTHROUGH)
				m->route = r;
		return;
	}
	for (; r < end; r++) {
		if (rt_route_covers(r, m->path, m->path_len)) {
			m->route = r;
			return;
		}
	}
}

/************************************************************************/
/*                            task selection                            */
/************************************************************************/

/* Picks a server of route <r> (which has at least one) for <req>: by the
 * sticky cookie first (the application's, hashed; or a valid managed
 * one), then ip_hash when the client address is known, else round-robin
 * from slot <*slot>, which is advanced only when <advance> is set.
 * Returns the index in r->picks and fills <pi>.
 */
static uint32_t rtable_pick(const struct rt_route *r, uint32_t *slot, int advance,
			    const struct route_req *req, struct rt_pick_info *pi)
{
	pi->how = RT_PICK_RR;
	pi->cookie_seen = 0;
	pi->rr_slot = 0;

	if ((r->flags & (RT_F_STICKY | RT_F_STICKY_MANAGED)) == RT_F_STICKY && req->cookie) {
		/* Interlock's "hash $cookie_<name> consistent" */
		if (sticky_value(req->cookie, req->cookie_len, r->sticky, r->sticky_len,
				 &pi->cookie_val, &pi->cookie_val_len)) {
			pi->cookie_seen = 1;
			pi->how = RT_PICK_COOKIE_HASH;
			return balance_hash(&r->pool, r->keys,
					    sticky_value_hash(pi->cookie_val, pi->cookie_val_len));
		}
	} else if ((r->flags & RT_F_STICKY_MANAGED) && req->cookie) {
		size_t at = 0;
		uint64_t key;

		while (sticky_parse(req->cookie, req->cookie_len, r->sticky, r->sticky_len, &at, &key)) {
			pi->cookie_seen = 1;
			pi->cookie_key = key;
			for (uint32_t i = 0; i < r->pool.n; i++) {
				if (r->macs[i] == key) {
					pi->how = RT_PICK_COOKIE;
					return i;
				}
			}
		}
	}
	if ((r->flags & RT_F_IP_HASH) && req->src.family) {
		pi->how = RT_PICK_HASH;
		return balance_hash(&r->pool, r->keys, netaddr_hash(&req->src));
	}
	pi->rr_slot = __atomic_load_n(slot, __ATOMIC_RELAXED);
	if (advance)
		return balance_rr(&r->pool, slot);
	return balance_owner(&r->pool, pi->rr_slot);
}

/************************************************************************/
/*                            building answers                          */
/************************************************************************/

/* Bounded appends into an answer string in the scratch buffer. */
struct rt_out {
	char *buf;
	size_t len;
	size_t cap;
	int full;
};

static void rt_put(struct rt_out *o, const char *s, size_t n)
{
	if (o->full || n > o->cap - o->len) {
		o->full = 1;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

/* Appends "?" and the request's query string, if it has one. */
static void rt_put_query(struct rt_out *o, const struct route_req *req)
{
	if (req->query && req->query_len) {
		rt_put(o, "?", 1);
		rt_put(o, req->query, req->query_len);
	}
}

/* Appends text from a request for a human reason: control bytes and quotes
 * become '?', and at most <max> bytes are kept.
 */
static void rt_put_clean(struct rt_out *o, const char *s, size_t n, size_t max)
{
	if (n > max) {
		rt_put_clean(o, s, max, max);
		rt_put(o, "...", 3);
		return;
	}
	for (size_t i = 0; i < n && !o->full; i++) {
		unsigned char c = (unsigned char)s[i];
		char x = (c < 0x20 || c == 0x7f || c == '"') ? '?' : (char)c;

		rt_put(o, &x, 1);
	}
}

static const char *rt_out_str(struct rt_out *o)
{
	if (o->len == o->cap)
		o->len--;
	o->buf[o->len] = '\0';
	return o->buf;
}

static void rt_not_found(const struct rt_match *m,
			 const struct route_req *req, struct route_answer *ans, char *scratch)
{
	struct rt_out o = { scratch + RT_SCRATCH_HOST, 0, RTABLE_SCRATCH_SIZE - RT_SCRATCH_HOST, 0 };

	ans->action = ROUTE_NOT_FOUND;
	if (m->entry && !req->tcp) {
		rt_put(&o, "no route for path ", 18);
		rt_put_clean(&o, m->path, m->path_len, 200);
		if (m->kind == RT_MATCH_DEFAULT) {
			rt_put(&o, " on the default backend", 23);
		} else {
			rt_put(&o, " on host ", 9);
			rt_put_clean(&o, m->host, m->host_len, 253);
		}
	} else if (m->host_len == 0) {
		const char *why = req->tcp ? "no TLS server name and no default backend" :
				  "no Host header and no default backend";

		rt_put(&o, why, strlen(why));
	} else {
		if (req->tcp)
			rt_put(&o, "no TLS passthrough route for host ", 34);
		else
			rt_put(&o, "no route for host ", 18);
		rt_put_clean(&o, m->host, m->host_len, 253);
	}
	ans->reason = rt_out_str(&o);
}

/* Answers a com.docker.lb.redirects match with a 302. Returns 1 when a
 * redirect applies.
 */
static int rt_redirects(const struct rt_route *r, const struct rt_match *m,
			const struct route_req *req, struct route_answer *ans, char *scratch)
{
	for (uint32_t i = 0; i < r->nredirects; i++) {
		const struct labels_redirect *rd = &r->redirects[i];
		size_t hlen = strlen(rd->src_host);
		struct rt_out o = { scratch + RT_SCRATCH_HOST, 0,
				    RTABLE_SCRATCH_SIZE - RT_SCRATCH_HOST, 0 };
		const char *rest;
		size_t rest_len;

		if (m->host_len != hlen || !rt_name_equal(m->host, rd->src_host, hlen))
			continue;
		if (!urlpath_under(m->path, m->path_len, rd->src_path, rd->src_path_len))
			continue;
		rest = m->path + rd->src_path_len;
		rest_len = m->path_len - rd->src_path_len;
		if (rest_len && rd->target_len && rd->target[rd->target_len - 1] == '/' &&
		    rest[0] == '/') {
			rest++;
			rest_len--;
		}
		rt_put(&o, rd->target, rd->target_len);
		rt_put(&o, rest, rest_len);
		rt_put_query(&o, req);
		if (o.full) {
			/* too long to carry the request's path: the target alone */
			o.full = 0;
			o.len = 0;
			rt_put(&o, rd->target, rd->target_len);
		}
		ans->action = ROUTE_REDIRECT;
		ans->code = 302;
		ans->location = rt_out_str(&o);
		ans->location_len = o.len;
		return 1;
	}
	return 0;
}

/* Redirects a plain HTTP request to the same URL over HTTPS: 301 for GET
 * and HEAD, 308 otherwise so that the method and body are kept.
 */
static void rt_https(const struct rt_match *m, const struct route_req *req,
		     struct route_answer *ans, char *scratch)
{
	struct rt_out o = { scratch + RT_SCRATCH_HOST, 0, RTABLE_SCRATCH_SIZE - RT_SCRATCH_HOST, 0 };
	const char *host = m->host;
	size_t hlen = m->host_len, start;
	int safe = !req->method ||
		   (req->method_len == 3 && memcmp(req->method, "GET", 3) == 0) ||
		   (req->method_len == 4 && memcmp(req->method, "HEAD", 4) == 0);

	/* the host as the client wrote it, without its port */
	if (req->host && !m->bad_host) {
		hlen = hostname_strip_port(req->host, req->host_len, &start);
		host = req->host + start;
	}
	rt_put(&o, "https://", 8);
	rt_put(&o, host, hlen);
	rt_put(&o, m->path, m->path_len);
	rt_put_query(&o, req);
	if (o.full) {
		o.full = 0;
		o.len = 0;
		rt_put(&o, "https://", 8);
		rt_put(&o, host, hlen);
		rt_put(&o, "/", 1);
	}
	ans->action = ROUTE_REDIRECT;
	ans->code = safe ? 301 : 308;
	ans->location = rt_out_str(&o);
	ans->location_len = o.len;
}

/* context_root_rewrite as Interlock's template has it: "rewrite
 * ^([^.]*[^/])$ $1/ permanent" before the prefix is stripped, so that the
 * page's relative links resolve under the context root. A path with no
 * dot anywhere that does not end in '/' gets a 301 to itself plus '/',
 * whatever the method (NGINX's "permanent"), the query kept. The Location
 * is the path alone: the client keeps its scheme, host and port, where
 * NGINX wrote its own listening port. Returns 1 when it answers.
 */
static int rt_slash_redirect(const struct rt_match *m, const struct route_req *req,
			     struct route_answer *ans, char *scratch)
{
	struct rt_out o = { scratch + RT_SCRATCH_HOST, 0, RTABLE_SCRATCH_SIZE - RT_SCRATCH_HOST, 0 };

	if (m->path[m->path_len - 1] == '/' || memchr(m->path, '.', m->path_len))
		return 0;
	rt_put(&o, m->path, m->path_len);
	rt_put(&o, "/", 1);
	rt_put_query(&o, req);
	if (o.full)
		return 0;
	ans->action = ROUTE_REDIRECT;
	ans->code = 301;
	ans->location = rt_out_str(&o);
	ans->location_len = o.len;
	return 1;
}

/* Builds "<name>=<value>; Path=<root>; HttpOnly" for a new sticky pick. */
static void rt_set_cookie(const struct rt_route *r, uint64_t key, struct route_answer *ans,
			  char *scratch)
{
	struct rt_out o = { scratch + RT_SCRATCH_HOST, 0, RTABLE_SCRATCH_SIZE - RT_SCRATCH_HOST, 0 };
	char value[STICKY_VALUE_LEN];

	sticky_format(key, value);
	rt_put(&o, r->sticky, r->sticky_len);
	rt_put(&o, "=", 1);
	rt_put(&o, value, sizeof(value));
	rt_put(&o, "; Path=", 7);
	rt_put(&o, r->path, r->path_len);
	rt_put(&o, "; HttpOnly", 10);
	if (o.full)
		return;
	ans->set_cookie = rt_out_str(&o);
	ans->set_cookie_len = o.len;
}

void rtable_decide(const struct rtable *t, uint32_t *rr, int advance,
		   const struct route_req *req, struct route_answer *ans, char *scratch,
		   struct rt_decision *d)
{
	const struct rt_route *r;
	const struct rt_pick *p;
	uint32_t i;

	memset(ans, 0, sizeof(*ans));
	d->pick = NULL;
	rtable_match(t, req, scratch, &d->m);
	r = d->m.route;
	if (!r) {
		rt_not_found(&d->m, req, ans, scratch);
		return;
	}
	if (r->nredirects && !req->tcp && rt_redirects(r, &d->m, req, ans, scratch)) {
		ans->service = r->primary_name;
		return;
	}
	if (!req->ssl && !req->tcp && (r->flags & (RT_F_SSL_ONLY | RT_F_PASSTHROUGH))) {
		rt_https(&d->m, req, ans, scratch);
		ans->service = r->primary_name;
		return;
	}
	if ((r->flags & RT_F_REWRITE) && r->path_len > 1 && !req->tcp &&
	    rt_slash_redirect(&d->m, req, ans, scratch)) {
		ans->service = r->primary_name;
		return;
	}
	if (!r->pool.n) {
		ans->service = r->primary_name;
		ans->action = ROUTE_NO_TASK;
		ans->reason = r->no_task_reason;
		return;
	}

	i = rtable_pick(r, &rr[r - t->routes], advance, req, &d->pi);
	p = d->pick = &r->picks[i];
	ans->action = ROUTE_FORWARD;
	ans->dst = p->addr;
	ans->port = p->port;
	ans->service = t->names[p->svc];
	ans->task_id = p->task_id;
	if ((r->flags & RT_F_SSL_BACKEND) && !req->tcp) {
		ans->backend = (r->flags & RT_F_SSL_VERIFY) ? "tls-verify" : "tls";
		if (d->m.host_len && !d->m.bad_host) {
			ans->sni = d->m.host;
			ans->sni_len = d->m.host_len;
		}
	}
	if (req->ssl)
		ans->hsts_max_age = r->hsts_max_age;
	if ((r->flags & RT_F_REWRITE) && r->path_len > 1 && !req->tcp) {
		if (d->m.path_len > r->path_len) {
			ans->path = d->m.path + r->path_len;
			ans->path_len = d->m.path_len - r->path_len;
		} else {
			ans->path = "/";
			ans->path_len = 1;
		}
	}
	for (uint32_t w = 0; w < r->nwebsockets; w++) {
		const char *ep = r->websockets[w];

		if (urlpath_under(d->m.path, d->m.path_len, ep, strlen(ep))) {
			ans->websocket = 1;
			break;
		}
	}
	if ((r->flags & RT_F_STICKY_MANAGED) && d->pi.how != RT_PICK_COOKIE)
		rt_set_cookie(r, r->macs[i], ans, scratch);
}

void rtable_route(const struct rtable *t, unsigned worker,
		  const struct route_req *req, struct route_answer *ans,
		  char *scratch)
{
	struct rt_svc_counters *cnt;
	struct rt_decision d;

	/* a worker index out of range would write another worker's state */
	if (worker >= t->nworkers)
		abort();
	rtable_decide(t, rt_worker_rr(t, worker), 1, req, ans, scratch, &d);
	cnt = rt_worker_counters(t, worker);
	switch (ans->action) {
	case ROUTE_FORWARD:
		rt_count(&cnt[d.pick->svc].forwarded);
		break;
	case ROUTE_REDIRECT:
		rt_count(&cnt[d.m.route->primary].redirected);
		break;
	case ROUTE_NO_TASK:
		rt_count(&cnt[d.m.route->primary].no_task);
		break;
	case ROUTE_NOT_FOUND:
		rt_count(rt_worker_not_found(t, worker));
		break;
	}
}

/************************************************************************/
/*                              accessors                               */
/************************************************************************/

void rtable_free(struct rtable *t)
{
	if (!t)
		return;
	ledger_free(t->ledger);
	arena_free(t->arena);
}

const struct ledger *rtable_ledger(const struct rtable *t, int *changed, int64_t *due_ms)
{
	if (changed)
		*changed = t->ledger_changed;
	if (due_ms)
		*due_ms = t->ledger_due_ms;
	return t->ledger;
}

void rtable_info(const struct rtable *t, struct rtable_info *info)
{
	memset(info, 0, sizeof(*info));
	info->services = t->nsvcs;
	info->routed = t->nrouted;
	info->skipped = t->nskipped;
	info->refused = t->nrefused;
	info->hosts = t->nexact + t->nwild;
	info->routes = t->nroutes;
	info->tasks = t->ntasks_ready;
	info->memory = arena_size(t->arena);
	info->built_ms = t->built_ms;
	info->build_ns = t->build_ns;
}

size_t rtable_service_count(const struct rtable *t)
{
	return t->nsvcs;
}

static void rt_service_counters(const struct rtable *t, size_t i, struct rtable_counters *c)
{
	memset(c, 0, sizeof(*c));
	for (unsigned w = 0; w < t->nworkers; w++) {
		const struct rt_svc_counters *s = &rt_worker_counters(t, w)[i];

		c->forwarded += rt_read(&s->forwarded);
		c->redirected += rt_read(&s->redirected);
		c->no_task += rt_read(&s->no_task);
	}
}

void rtable_service_at(const struct rtable *t, size_t i, struct rtable_service_view *v)
{
	const struct rt_service *s = &t->svcs[i];

	memset(v, 0, sizeof(*v));
	v->id = s->id;
	v->name = s->name;
	v->source = s->source;
	v->status = (enum rtable_svc_status)s->status;
	v->reason = s->reason;
	v->hosts = s->spec.hosts_raw;
	v->owner = s->owner;
	v->mode = s->spec.mode == LABELS_MODE_VIP ? "vip" : "task";
	v->ntasks = s->ntasks;
	v->nready = s->nready;
	v->model = s->model;
	v->spec = &s->spec;
	v->network = s->network;
	rt_service_counters(t, i, &v->counters);
	if (s->status == RTABLE_SVC_ROUTED) {
		v->ssl_cert = s->spec.ssl_cert;
		v->ssl_key = s->spec.ssl_key;
	}
}

/* Returns the first service (in index order) whose name, or ID when
 * <by_id>, is <key> and whose provider is <source> (any when NULL), or -1.
 */
static long rt_find(const struct rtable *t, const struct rt_index *ix, const char *key,
		    int by_id, const char *source)
{
	uint64_t h = rt_str_hash(key);
	uint32_t i = (uint32_t)h & ix->mask, tag = (uint32_t)(h >> 32);

	for (;; i = (i + 1) & ix->mask) {
		const struct rt_slot *s = &ix->slots[i];
		const struct rt_service *svc;

		if (!s->idx)
			return -1;
		svc = &t->svcs[s->idx - 1];
		if (s->hash == tag && strcmp(by_id ? svc->id : svc->name, key) == 0 &&
		    (!source || strcmp(svc->source, source) == 0))
			return (long)(s->idx - 1);
	}
}

long rtable_service_find_id(const struct rtable *t, const char *id, const char *source)
{
	return rt_find(t, &t->by_id, id, 1, source);
}

long rtable_service_find(const struct rtable *t, const char *name)
{
	long i = rt_find(t, &t->by_name, name, 0, NULL);

	return i >= 0 ? i : rt_find(t, &t->by_id, name, 1, NULL);
}

void rtable_counters(const struct rtable *t, struct rtable_counters *c)
{
	memset(c, 0, sizeof(*c));
	for (unsigned w = 0; w < t->nworkers; w++) {
		const struct rt_svc_counters *s = rt_worker_counters(t, w);

		for (uint32_t i = 0; i < t->nsvcs; i++) {
			c->forwarded += rt_read(&s[i].forwarded);
			c->redirected += rt_read(&s[i].redirected);
			c->no_task += rt_read(&s[i].no_task);
		}
		c->not_found += rt_read(rt_worker_not_found(t, w));
	}
}

/************************************************************************/
/*                           names for display                          */
/************************************************************************/

const char *rtable_host_name(const struct rtable *t, const struct rt_host *h, char *buf)
{
	if (h == t->deflt)
		return "(default)";
	if (!h->wildcard)
		return h->name;
	buf[0] = '*';
	buf[1] = '.';
	memcpy(buf + 2, h->name, h->len);
	buf[2 + h->len] = '\0';
	return buf;
}

const char *rtable_unready_name(enum rt_unready u)
{
	static const char *const names[RT_TASK_UNREADY_KINDS] = {
		[RT_TASK_READY]       = "ready",
		[RT_TASK_NOT_RUNNING] = "not running",
		[RT_TASK_STOPPING]    = "stopping",
		[RT_TASK_NO_ADDRESS]  = "no address on the network",
		[RT_TASK_STARTING]    = "starting",
		[RT_TASK_UNHEALTHY]   = "unhealthy",
	};

	return u < RT_TASK_UNREADY_KINDS ? names[u] : "unknown";
}
