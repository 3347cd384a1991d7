/* "explain": how a request would be routed, step by step, and why the
 * other candidates lost. It runs the same decision as rtable_route() on a
 * read of worker 0's round-robin slot and touches no counter.
 */
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/netaddr.h"
#include "common/sbuf.h"
#include "common/texttab.h"
#include "routing/hostname.h"
#include "routing/rtable-int.h"
#include "routing/sticky.h"
#include "routing/urlpath.h"

#define EX_MAX_TRIES 16          /* host lookups listed */

/* One host lookup the router tries, in order. */
struct ex_try {
	const char *name;        /* exact name or wildcard suffix, in the normalised host */
	size_t len;
	int wildcard;
	const struct rt_host *found;
};

/* How a context root relates to the request path. */
enum ex_path {
	EX_PATH_MATCH = 0,       /* the longest prefix on a segment boundary: chosen */
	EX_PATH_SHORTER,         /* a prefix too, but shorter than the chosen one */
	EX_PATH_NOT_BOUNDARY,    /* a prefix, but "/app" against "/apple" */
	EX_PATH_NOT_PREFIX,
	EX_PATH_NOT_PASSTHROUGH, /* TLS passthrough lookup: only passthrough routes count */
};

static const char *const ex_path_text[] = {
	[EX_PATH_MATCH]           = "matched: longest prefix on a segment boundary",
	[EX_PATH_SHORTER]         = "also a prefix, but shorter than the matched one",
	[EX_PATH_NOT_BOUNDARY]    = "is a prefix but not on a segment boundary",
	[EX_PATH_NOT_PREFIX]      = "not a prefix of the path",
	[EX_PATH_NOT_PASSTHROUGH] = "not a TLS passthrough route",
};

static const char *const ex_path_key[] = {
	[EX_PATH_MATCH]           = "match",
	[EX_PATH_SHORTER]         = "shorter",
	[EX_PATH_NOT_BOUNDARY]    = "not_segment_boundary",
	[EX_PATH_NOT_PREFIX]      = "not_prefix",
	[EX_PATH_NOT_PASSTHROUGH] = "not_passthrough",
};

static enum ex_path ex_classify(const struct rt_route *r, const struct rt_decision *d, int tcp)
{
	if (tcp)
		return r == d->m.route ? EX_PATH_MATCH : EX_PATH_NOT_PASSTHROUGH;
	if (r == d->m.route)
		return EX_PATH_MATCH;
	if (urlpath_under(d->m.path, d->m.path_len, r->path, r->path_len))
		return EX_PATH_SHORTER;
	if (d->m.path_len >= r->path_len && memcmp(d->m.path, r->path, r->path_len) == 0)
		return EX_PATH_NOT_BOUNDARY;
	return EX_PATH_NOT_PREFIX;
}

/* Lists the lookups made for host <m->host>: the exact name, then each
 * wildcard suffix from the most specific. The names point into <lower>
 * (RT_SCRATCH_HOST bytes), the host in lowercase as it is compared.
 */
static size_t ex_tries(const struct rtable *t, const struct rt_match *m, struct ex_try *tries,
		       char *lower)
{
	size_t n = 0, len = m->host_len;

	if (!len || m->bad_host || len >= RT_SCRATCH_HOST)
		return 0;
	for (size_t i = 0; i < len; i++)
		lower[i] = (char)rt_lower((unsigned char)m->host[i]);
	tries[n++] = (struct ex_try){ lower, len, 0, rtable_host_get(t, lower, len, 0) };
	for (size_t i = 0; i < len && n < EX_MAX_TRIES; i++) {
		if (lower[i] != '.' || i + 1 >= len)
			continue;
		tries[n] = (struct ex_try){ lower + i + 1, len - i - 1, 1, NULL };
		tries[n].found = rtable_host_get(t, tries[n].name, tries[n].len, 1);
		n++;
	}
	return n;
}

static const char *ex_match_name(enum rt_host_match k)
{
	switch (k) {
	case RT_MATCH_EXACT:
		return "exact";
	case RT_MATCH_WILDCARD:
		return "wildcard";
	case RT_MATCH_DEFAULT:
		return "default";
	default:
		return "none";
	}
}

static const char *ex_action_name(enum route_action a)
{
	switch (a) {
	case ROUTE_FORWARD:
		return "forward";
	case ROUTE_REDIRECT:
		return "redirect";
	case ROUTE_NO_TASK:
		return "no_task";
	default:
		return "not_found";
	}
}

static const char *ex_how_name(enum rt_pick_how h)
{
	switch (h) {
	case RT_PICK_HASH:
		return "ip_hash";
	case RT_PICK_COOKIE:
		return "sticky_cookie";
	case RT_PICK_COOKIE_HASH:
		return "cookie_hash";
	default:
		return "round_robin";
	}
}

/* Whether the task <pick> names is reached in host mode (at its node's
 * address), looked up among its service's tasks, sorted by ID.
 */
static int ex_pick_host_mode(const struct rtable *t, const struct rt_pick *pick)
{
	const struct rt_service *s;
	uint32_t lo = 0, hi;

	if (!pick || !pick->task_id || pick->svc >= t->nsvcs)
		return 0;
	s = &t->svcs[pick->svc];
	hi = s->ntasks;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int d = strcmp(pick->task_id, s->tasks[mid].id);

		if (!d)
			return s->tasks[mid].host_mode;
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/* The pick explained in one sentence. */
static void ex_pick_text(const struct rt_route *r, const struct rt_decision *d,
			 const struct route_req *req, struct sbuf *out)
{
	const struct rt_pick *p = d->pick;
	char ip[NETADDR_STRLEN], value[STICKY_VALUE_LEN + 1];

	value[STICKY_VALUE_LEN] = '\0';
	if (!(r->flags & RT_F_STICKY_MANAGED)) {
		if ((r->flags & RT_F_STICKY) && !d->pi.cookie_seen)
			sbuf_printf(out, "  cookie   no %.*s cookie in the request: balanced as usual\n",
				    (int)r->sticky_len, r->sticky);
	} else if (d->pi.cookie_seen && d->pi.how != RT_PICK_COOKIE) {
		sticky_format(d->pi.cookie_key, value);
		sbuf_printf(out, "  cookie   %.*s=%s names no ready task (gone, unready, weighted out or "
			    "not ours): a new pick, with a new cookie\n", (int)r->sticky_len, r->sticky, value);
	} else if (!d->pi.cookie_seen) {
		sbuf_printf(out, "  cookie   no valid %.*s cookie in the request: a new pick, with a new cookie\n",
			    (int)r->sticky_len, r->sticky);
	}
	switch (d->pi.how) {
	case RT_PICK_COOKIE_HASH:
		sbuf_printf(out, "  pick     cookie %.*s of the application, value hashed (weighted "
			    "rendezvous) over %u server%s: task %s, no cookie set\n",
			    (int)r->sticky_len, r->sticky, r->pool.n, r->pool.n > 1 ? "s" : "",
			    p->task_id ? p->task_id : "-");
		break;
	case RT_PICK_COOKIE:
		sticky_format(r->macs[p - r->picks], value);
		sbuf_printf(out, "  pick     sticky cookie %.*s=%s is valid: task ",
			    (int)r->sticky_len, r->sticky, value);
		texttab_put(out, p->task_id);
		sbuf_puts(out, ", no cookie set\n");
		break;
	case RT_PICK_HASH:
		sbuf_printf(out, "  pick     ip_hash of %s: weighted rendezvous hashing over %u server%s\n",
			    netaddr_str(&req->src, ip), r->pool.n, r->pool.n > 1 ? "s" : "");
		break;
	default:
		sbuf_printf(out, "  pick     round-robin: worker 0 at slot %u of a %u-slot cycle over %u server%s%s\n",
			    d->pi.rr_slot, r->pool.total, r->pool.n, r->pool.n > 1 ? "s" : "",
			    (r->flags & RT_F_IP_HASH) ? " (ip_hash, but the client address is unknown)" : "");
		break;
	}
}

/* The route's services with their weights and readiness. */
static void ex_services_text(const struct rtable *t, const struct rt_route *r, struct sbuf *out)
{
	sbuf_puts(out, "  services ");
	for (uint32_t i = 0; i < r->nmembers; i++) {
		const struct rt_service *s = &t->svcs[t->members[r->first_member + i]];

		sbuf_puts(out, i ? ", " : "");
		texttab_put(out, s->name);
		sbuf_printf(out, " (weight %u, %u/%u tasks ready%s)",
			    s->spec.weight, s->nready, s->ntasks, i == 0 && r->nmembers > 1 ?
			    ", first created: its settings rule" : "");
	}
	sbuf_putc(out, '\n');
	for (uint32_t i = 0; i < r->nmembers; i++) {
		const struct rt_service *s = &t->svcs[t->members[r->first_member + i]];

		for (uint32_t j = 0; j < s->ntasks && s->nexcluded; j++) {
			const struct rt_task *tk = &s->tasks[j];
			char when[CLOCK_ISO8601_LEN];

			if (tk->unready != RT_TASK_READY || !tk->excluded)
				continue;
			sbuf_printf(out, "  excluded task %s of %s: %s", tk->id, s->name, tk->excluded);
			if (tk->excluded_until_ms)
				sbuf_printf(out, ", until %s", clock_iso8601(tk->excluded_until_ms, when));
			sbuf_putc(out, '\n');
		}
	}
	if (r->flags & RT_F_ALL_EXCLUDED)
		sbuf_puts(out, "  every ready task is excluded: all of them are picked anyway\n");
}

/* Whether service <s> was refused a claim on one of the names looked up:
 * another owner holds the host, and the operator asks why it is not
 * served by the one that claimed it.
 */
static int ex_refused_here(const struct rt_service *s, const struct ex_try *tries, size_t n)
{
	const char *k = s->refused_key;

	if (!k)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const char *name = k;

		if (tries[i].wildcard) {
			if (k[0] != '*' || k[1] != '.')
				continue;
			name = k + 2;
		}
		if (strlen(name) == tries[i].len && memcmp(name, tries[i].name, tries[i].len) == 0)
			return 1;
	}
	return 0;
}

static void ex_text(const struct rtable *t, const struct route_req *req,
		    const struct route_answer *ans, const struct rt_decision *d,
		    const struct ex_try *tries, size_t ntries, struct sbuf *out)
{
	const struct rt_match *m = &d->m;
	char hbuf[HOSTNAME_MAX + 8], ip[NETADDR_STRLEN];
	const struct rt_route *r = m->route;

	sbuf_printf(out, "request  host=%.*s path=%.*s%s%.*s ssl=%s%s src=%s\n",
		    (int)(req->host ? req->host_len : 1), req->host ? req->host : "-",
		    (int)m->path_len, m->path, req->query_len ? "?" : "",
		    (int)req->query_len, req->query ? req->query : "",
		    req->ssl ? "yes" : "no", req->tcp ? " (TLS passthrough lookup by SNI)" : "",
		    netaddr_str(&req->src, ip));

	/* host */
	if (m->bad_host)
		sbuf_puts(out, "host     not a valid host name: looked up as unknown\n");
	for (size_t i = 0; i < ntries; i++) {
		const struct ex_try *x = &tries[i];
		const char *verdict;

		if (!x->found)
			verdict = "no entry";
		else if (x->found == m->entry)
			verdict = x->wildcard ? "matched: the most specific wildcard" : "matched exactly";
		else if (m->kind == RT_MATCH_EXACT)
			verdict = "also matches, but exact names win";
		else
			verdict = "also matches, but less specific";
		sbuf_printf(out, "host     %s%.*s: %s\n", x->wildcard ? "*." : "",
			    (int)x->len, x->name, verdict);
	}
	for (uint32_t i = 0; i < t->nsvcs; i++)
		if (ex_refused_here(&t->svcs[i], tries, ntries))
			sbuf_printf(out, "refused  service %s: %s\n", t->svcs[i].name, t->svcs[i].reason);
	if (m->kind == RT_MATCH_DEFAULT)
		sbuf_puts(out, "host     unknown host: the default backend answers\n");
	else if (m->kind == RT_MATCH_NONE)
		sbuf_puts(out, "host     unknown host and no default backend\n");
	else if (t->deflt)
		sbuf_puts(out, "host     the default backend is not used: the host is known\n");

	/* paths */
	if (m->entry) {
		const struct rt_route *c = &t->routes[m->entry->first_route];

		sbuf_printf(out, "paths    on %s for %.*s:\n", rtable_host_name(t, m->entry, hbuf),
			    (int)m->path_len, m->path);
		for (uint32_t i = 0; i < m->entry->nroutes; i++, c++)
			sbuf_printf(out, "  %-*.*s %s\n", 24, (int)c->path_len, c->path,
				    ex_path_text[ex_classify(c, d, req->tcp)]);
	}

	if (r) {
		char flags[160];
		size_t len = 0;

		flags[0] = '\0';
		if (r->flags & RT_F_REWRITE)
			len += (size_t)snprintf(flags + len, sizeof(flags) - len, " context_root_rewrite");
		if (r->flags & RT_F_SSL_ONLY)
			len += (size_t)snprintf(flags + len, sizeof(flags) - len, " ssl_only");
		if (r->flags & RT_F_PASSTHROUGH)
			len += (size_t)snprintf(flags + len, sizeof(flags) - len, " ssl_passthrough");
		if (r->flags & RT_F_IP_HASH)
			len += (size_t)snprintf(flags + len, sizeof(flags) - len, " ip_hash");
		if (r->flags & RT_F_VIP)
			len += (size_t)snprintf(flags + len, sizeof(flags) - len, " backend_mode=vip");
		if (r->flags & RT_F_SSL_BACKEND)
			len += (size_t)snprintf(flags + len, sizeof(flags) - len, " ssl_backend%s",
						(r->flags & RT_F_SSL_VERIFY) ? " (verify required)" : "");
		if (r->flags & RT_F_STICKY)
			snprintf(flags + len, sizeof(flags) - len, " sticky_session_cookie=%.*s%s",
				 (int)r->sticky_len, r->sticky,
				 (r->flags & RT_F_STICKY_MANAGED) ? " (managed)" : "");
		if (m->kind == RT_MATCH_DEFAULT)
			sbuf_printf(out, "route    the default backend%s%.*s%s%s\n",
				    r->path_len > 1 ? " on " : "", r->path_len > 1 ? (int)r->path_len : 0,
				    r->path, flags[0] ? ":" : "", flags);
		else
			sbuf_printf(out, "route    %s%.*s (%s match)%s%s\n", rtable_host_name(t, m->entry, hbuf),
				    r->path_len > 1 ? (int)r->path_len : 0, r->path, ex_match_name(m->kind),
				    flags[0] ? ":" : "", flags);
		ex_services_text(t, r, out);
	}

	switch (ans->action) {
	case ROUTE_FORWARD: {
		char ep[NETADDR_STRLEN];

		ex_pick_text(r, d, req, out);
		sbuf_printf(out, "answer   forward to %s:%u, service ", netaddr_str(&ans->dst, ep),
			    ans->port);
		texttab_put(out, ans->service);
		if (ans->task_id) {
			sbuf_puts(out, ", task ");
			texttab_put(out, ans->task_id);
		} else {
			sbuf_puts(out, ", virtual IP ");
		}
		if (ex_pick_host_mode(t, d->pick))
			sbuf_puts(out, " in host mode (its node's address, the published port)");
		if (ans->path)
			sbuf_printf(out, ", path rewritten to %.*s", (int)ans->path_len, ans->path);
		if (ans->websocket)
			sbuf_puts(out, ", websocket endpoint");
		if (ans->set_cookie)
			sbuf_printf(out, ", Set-Cookie: %.*s", (int)ans->set_cookie_len, ans->set_cookie);
		if (ans->hsts_max_age)
			sbuf_printf(out, ", HSTS max-age=%u", ans->hsts_max_age);
		sbuf_putc(out, '\n');
		break;
	}
	case ROUTE_REDIRECT:
		sbuf_printf(out, "answer   redirect %d to %.*s (%s)\n", ans->code, (int)ans->location_len,
			    ans->location, ans->code == 302 ? "com.docker.lb.redirects" :
			    (r->flags & RT_F_PASSTHROUGH) ? "TLS passthrough host reached over plain HTTP" :
			    ans->location[0] == '/' ? "context_root_rewrite: no dot and no trailing slash, "
			    "as Interlock" : "ssl_only");
		break;
	case ROUTE_NO_TASK:
		sbuf_puts(out, "answer   503: ");
		texttab_put(out, ans->reason);
		sbuf_putc(out, '\n');
		break;
	case ROUTE_NOT_FOUND:
		sbuf_puts(out, "answer   404: ");
		texttab_put(out, ans->reason);
		sbuf_putc(out, '\n');
		break;
	}
}

static void ex_json(const struct rtable *t, const struct route_req *req,
		    const struct route_answer *ans, const struct rt_decision *d,
		    const struct ex_try *tries, size_t ntries, struct sbuf *out)
{
	const struct rt_match *m = &d->m;
	const struct rt_route *r = m->route;
	char hbuf[HOSTNAME_MAX + 8], ip[NETADDR_STRLEN];

	sbuf_puts(out, "{\"request\":{\"host\":");
	if (req->host)
		sbuf_json_str(out, req->host, req->host_len);
	else
		sbuf_puts(out, "null");
	sbuf_puts(out, ",\"path\":");
	sbuf_json_str(out, m->path, m->path_len);
	sbuf_puts(out, ",\"query\":");
	if (req->query)
		sbuf_json_str(out, req->query, req->query_len);
	else
		sbuf_puts(out, "null");
	sbuf_printf(out, ",\"ssl\":%s,\"tcp\":%s,\"src\":", req->ssl ? "true" : "false",
		    req->tcp ? "true" : "false");
	if (req->src.family)
		sbuf_json_cstr(out, netaddr_str(&req->src, ip));
	else
		sbuf_puts(out, "null");

	sbuf_printf(out, "},\"host\":{\"name\":");
	sbuf_json_str(out, m->host, m->host_len);
	sbuf_printf(out, ",\"valid\":%s,\"match\":\"%s\",\"entry\":", m->bad_host ? "false" : "true",
		    ex_match_name(m->kind));
	sbuf_json_cstr(out, m->entry ? rtable_host_name(t, m->entry, hbuf) : NULL);
	sbuf_puts(out, ",\"tried\":[");
	for (size_t i = 0; i < ntries; i++) {
		const struct ex_try *x = &tries[i];

		sbuf_puts(out, i ? ",{\"name\":" : "{\"name\":");
		snprintf(hbuf, sizeof(hbuf), "%s%.*s", x->wildcard ? "*." : "", (int)x->len, x->name);
		sbuf_json_cstr(out, hbuf);
		sbuf_printf(out, ",\"found\":%s,\"used\":%s}", x->found ? "true" : "false",
			    x->found && x->found == m->entry ? "true" : "false");
	}
	sbuf_printf(out, "],\"default_backend\":%s},\"paths\":[",
		    t->deflt ? "true" : "false");
	if (m->entry) {
		const struct rt_route *c = &t->routes[m->entry->first_route];

		for (uint32_t i = 0; i < m->entry->nroutes; i++, c++) {
			sbuf_puts(out, i ? ",{\"path\":" : "{\"path\":");
			sbuf_json_str(out, c->path, c->path_len);
			sbuf_printf(out, ",\"result\":\"%s\"}", ex_path_key[ex_classify(c, d, req->tcp)]);
		}
	}
	sbuf_puts(out, "],\"route\":");
	if (r) {
		sbuf_puts(out, "{\"host\":");
		sbuf_json_cstr(out, rtable_host_name(t, m->entry, hbuf));
		sbuf_puts(out, ",\"path\":");
		sbuf_json_str(out, r->path, r->path_len);
		sbuf_puts(out, ",\"services\":[");
		for (uint32_t i = 0; i < r->nmembers; i++) {
			const struct rt_service *s = &t->svcs[t->members[r->first_member + i]];

			sbuf_puts(out, i ? ",{\"name\":" : "{\"name\":");
			sbuf_json_cstr(out, s->name);
			sbuf_printf(out, ",\"weight\":%u,\"ready\":%u,\"tasks\":%u,\"excluded\":[",
				    s->spec.weight, s->nready, s->ntasks);
			for (uint32_t j = 0, first = 1; j < s->ntasks && s->nexcluded; j++) {
				const struct rt_task *tk = &s->tasks[j];
				char when[CLOCK_ISO8601_LEN];

				if (tk->unready != RT_TASK_READY || !tk->excluded)
					continue;
				sbuf_puts(out, first ? "{\"task\":" : ",{\"task\":");
				first = 0;
				sbuf_json_cstr(out, tk->id);
				sbuf_puts(out, ",\"reason\":");
				sbuf_json_cstr(out, tk->excluded);
				sbuf_puts(out, ",\"until\":");
				sbuf_json_cstr(out, tk->excluded_until_ms ?
					       clock_iso8601(tk->excluded_until_ms, when) : NULL);
				sbuf_putc(out, '}');
			}
			sbuf_puts(out, "]}");
		}
		sbuf_printf(out, "],\"all_excluded\":%s}",
			    (r->flags & RT_F_ALL_EXCLUDED) ? "true" : "false");
	} else {
		sbuf_puts(out, "null");
	}

	sbuf_printf(out, ",\"action\":\"%s\"", ex_action_name(ans->action));
	if (ans->action == ROUTE_FORWARD) {
		char value[STICKY_VALUE_LEN + 1];

		value[STICKY_VALUE_LEN] = '\0';
		sbuf_printf(out, ",\"pick\":{\"method\":\"%s\",\"worker\":0,\"slot\":%u,\"cycle\":%u,"
			    "\"servers\":%u,\"cookie\":", ex_how_name(d->pi.how), d->pi.rr_slot,
			    r->pool.total, r->pool.n);
		if (r->flags & RT_F_STICKY) {
			sbuf_puts(out, "{\"name\":");
			sbuf_json_str(out, r->sticky, r->sticky_len);
			sbuf_puts(out, ",\"value\":");
			if (!d->pi.cookie_seen) {
				sbuf_puts(out, "null");
			} else if (r->flags & RT_F_STICKY_MANAGED) {
				sticky_format(d->pi.cookie_key, value);
				sbuf_json_cstr(out, value);
			} else {
				sbuf_json_str(out, d->pi.cookie_val, d->pi.cookie_val_len);
			}
			sbuf_printf(out, ",\"managed\":%s,\"valid\":%s}",
				    (r->flags & RT_F_STICKY_MANAGED) ? "true" : "false",
				    d->pi.how == RT_PICK_COOKIE || d->pi.how == RT_PICK_COOKIE_HASH ?
				    "true" : "false");
		} else {
			sbuf_puts(out, "null");
		}
		sbuf_puts(out, "},\"service\":");
		sbuf_json_cstr(out, ans->service);
		sbuf_puts(out, ",\"task\":");
		sbuf_json_cstr(out, ans->task_id);
		sbuf_puts(out, ",\"address\":");
		sbuf_json_cstr(out, netaddr_str(&ans->dst, ip));
		sbuf_printf(out, ",\"port\":%u,\"host_mode\":%s,\"path\":", ans->port,
			    ex_pick_host_mode(t, d->pick) ? "true" : "false");
		if (ans->path)
			sbuf_json_str(out, ans->path, ans->path_len);
		else
			sbuf_puts(out, "null");
		sbuf_puts(out, ",\"set_cookie\":");
		if (ans->set_cookie)
			sbuf_json_str(out, ans->set_cookie, ans->set_cookie_len);
		else
			sbuf_puts(out, "null");
		sbuf_printf(out, ",\"websocket\":%s,\"hsts_max_age\":%u", ans->websocket ? "true" : "false",
			    ans->hsts_max_age);
	} else if (ans->action == ROUTE_REDIRECT) {
		sbuf_printf(out, ",\"code\":%d,\"location\":", ans->code);
		sbuf_json_str(out, ans->location, ans->location_len);
	} else {
		sbuf_puts(out, ",\"reason\":");
		sbuf_json_cstr(out, ans->reason);
	}
	sbuf_puts(out, ",\"refused\":[");
	for (uint32_t i = 0, first = 1; i < t->nsvcs; i++) {
		if (!ex_refused_here(&t->svcs[i], tries, ntries))
			continue;
		sbuf_puts(out, first ? "{\"service\":" : ",{\"service\":");
		sbuf_json_cstr(out, t->svcs[i].name);
		sbuf_puts(out, ",\"reason\":");
		sbuf_json_cstr(out, t->svcs[i].reason);
		sbuf_putc(out, '}');
		first = 0;
	}
	sbuf_puts(out, "]}\n");
}

void rtable_explain(const struct rtable *t, const struct route_req *req,
		    struct sbuf *out, int json)
{
	char scratch[RTABLE_SCRATCH_SIZE], lower[RT_SCRATCH_HOST];
	struct ex_try tries[EX_MAX_TRIES];
	struct route_answer ans;
	struct rt_decision d;
	size_t ntries;

	/* worker 0's next round-robin slot, read but not moved */
	rtable_decide(t, rt_worker_rr(t, 0), 0, req, &ans, scratch, &d);
	ntries = ex_tries(t, &d.m, tries, lower);
	if (json)
		ex_json(t, req, &ans, &d, tries, ntries, out);
	else
		ex_text(t, req, &ans, &d, tries, ntries, out);
}
