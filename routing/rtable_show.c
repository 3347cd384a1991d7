/* "show routes", "show services" and "show tasks": the routing table as the
 * stats socket prints it, as aligned text for people or as one JSON
 * document for scripts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/netaddr.h"
#include "common/sbuf.h"
#include "routing/hostname.h"
#include "routing/rtable-int.h"

/* Where a listing stands, in rtable_show_cursor.stage. */
enum show_stage {
	SHOW_START = 0,
	SHOW_MEASURE,            /* text: first pass, measuring the columns */
	SHOW_ROWS,               /* printing rows */
	SHOW_DONE,
};

/* The cells of one text row, and the room their text is built in. */
struct show_cells {
	const char *cell[TEXTTAB_MAX_COLS]; /* NULL prints as "-" */
	char host[HOSTNAME_MAX + 8];
	char flags[128];
	char num[4][24];
	char ip[NETADDR_STRLEN];
	struct sbuf path;
	struct sbuf cert;
	struct sbuf tasks;
};

/* One listing: its text columns, how its rows are walked and printed. */
struct show_listing {
	size_t ncols;
	const char *const *head;
	/* Moves <cur> to the first row at or after its position; returns 0
	 * when there is none left. */
	int (*settle)(const struct rtable *t, struct rtable_show_cursor *cur, int json);
	void (*next)(struct rtable_show_cursor *cur, int json);
	/* Fills the text cells of the row at <cur>; the last column, which
	 * takes no padding and is the costliest, only when <with_last>. */
	void (*cells)(const struct rtable *t, const struct rtable_show_cursor *cur,
		      struct show_cells *c, int with_last);
	/* JSON: what comes before the first row (up to the array's '['), and
	 * the row at <cur>. */
	void (*json_open)(const struct rtable *t, const struct rtable_show_cursor *cur,
			  struct sbuf *out);
	void (*json_row)(const struct rtable *t, const struct rtable_show_cursor *cur,
			 struct sbuf *out);
};

/* Appends rows of listing <l> until <max_rows> are done or the listing is:
 * the contract of rtable_show_routes_part().
 */
static int show_part(const struct show_listing *l, const struct rtable *t,
		     struct rtable_show_cursor *cur, struct sbuf *out, int json, size_t max_rows)
{
	struct show_cells c = { .path = SBUF_INIT, .cert = SBUF_INIT, .tasks = SBUF_INIT };
	int more = 1;

	/* a cursor carried over to another table would index out of it */
	if (!max_rows || (cur->stage != SHOW_START && cur->table != t))
		abort();
	for (;;) {
		int have;

		if (cur->stage == SHOW_START) {
			cur->table = t;
			if (json) {
				l->json_open(t, cur, out);
				cur->stage = SHOW_ROWS;
			} else {
				texttab_init(&cur->tab, l->ncols, l->head);
				cur->stage = SHOW_MEASURE;
			}
			continue;
		}
		if (cur->stage == SHOW_DONE) {
			more = 0;
			break;
		}
		have = l->settle(t, cur, json);
		if (!have && cur->stage == SHOW_MEASURE) {
			cur->pos = cur->sub = 0;
			texttab_row(&cur->tab, out, l->head);
			cur->stage = SHOW_ROWS;
			continue;
		}
		if (!have) {
			if (json)
				sbuf_puts(out, "]}\n");
			cur->stage = SHOW_DONE;
			continue;
		}
		if (!max_rows)
			break;
		max_rows--;
		if (cur->stage == SHOW_MEASURE) {
			l->cells(t, cur, &c, 0);
			texttab_measure(&cur->tab, c.cell);
		} else if (json) {
			if (cur->pos)
				sbuf_putc(out, ',');
			l->json_row(t, cur, out);
		} else {
			l->cells(t, cur, &c, 1);
			texttab_row(&cur->tab, out, c.cell);
		}
		l->next(cur, json);
	}
	sbuf_free(&c.path);
	sbuf_free(&c.cert);
	sbuf_free(&c.tasks);
	return more;
}

/* Every row of listing <l> at once. */
static void show_all(const struct show_listing *l, const struct rtable *t, struct sbuf *out,
		     int json)
{
	struct rtable_show_cursor cur;

	memset(&cur, 0, sizeof(cur));
	while (show_part(l, t, &cur, out, json, SIZE_MAX))
		;
}

/************************************************************************/
/*                                helpers                               */
/************************************************************************/

static const char *show_match_name(const struct rtable *t, const struct rt_host *h)
{
	if (h == t->deflt)
		return "default";
	return h->wildcard ? "wildcard" : "exact";
}

static const char *show_health(enum model_health h)
{
	switch (h) {
	case MODEL_HEALTH_STARTING:
		return "starting";
	case MODEL_HEALTH_HEALTHY:
		return "healthy";
	case MODEL_HEALTH_UNHEALTHY:
		return "unhealthy";
	default:
		return "none";
	}
}

static const char *show_status(int st)
{
	switch (st) {
	case RTABLE_SVC_ROUTED:
		return "routed";
	case RTABLE_SVC_SKIPPED:
		return "skipped";
	default:
		return "unrouted";
	}
}

/* Route flags as a comma-separated list, "-" when none. */
static const char *show_flags(const struct rt_route *r, char *buf, size_t size)
{
	static const struct { uint32_t flag; const char *name; } names[] = {
		{ RT_F_REWRITE, "rewrite" }, { RT_F_SSL_ONLY, "ssl_only" },
		{ RT_F_PASSTHROUGH, "passthrough" }, { RT_F_IP_HASH, "ip_hash" },
		{ RT_F_STICKY, "sticky" }, { RT_F_STICKY_MANAGED, "sticky_managed" }, { RT_F_VIP, "vip" },
		{ RT_F_SSL_BACKEND, "ssl_backend" }, { RT_F_SSL_VERIFY, "verify" },
	};
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((r->flags & names[i].flag) && len < size)
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? "," : "",
						names[i].name);
	if (r->nredirects && len < size)
		len += (size_t)snprintf(buf + len, size - len, "%sredirects", len ? "," : "");
	if (r->nwebsockets && len < size)
		len += (size_t)snprintf(buf + len, size - len, "%swebsocket", len ? "," : "");
	if (r->hsts_max_age && len < size)
		snprintf(buf + len, size - len, "%shsts", len ? "," : "");
	return buf[0] ? buf : "-";
}

static void show_json_flags(const struct rt_route *r, struct sbuf *out)
{
	char buf[128], *p, *save = NULL;

	sbuf_putc(out, '[');
	show_flags(r, buf, sizeof(buf));
	if (strcmp(buf, "-") != 0) {
		int first = 1;

		for (p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
			if (!first)
				sbuf_putc(out, ',');
			sbuf_json_cstr(out, p);
			first = 0;
		}
	}
	sbuf_putc(out, ']');
}

/* "addr:port", with brackets for IPv6. */
static const char *show_endpoint(const struct netaddr *a, uint16_t port, char *buf, size_t size)
{
	char ip[NETADDR_STRLEN];

	if (!a->family)
		return "-";
	netaddr_str(a, ip);
	snprintf(buf, size, a->family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, port);
	return buf;
}

/* Appends the tasks of service <s> for a route line: ready tasks as
 * id=addr:port, others as id(why).
 */
static void show_task_list(const struct rt_service *s, int vip, struct sbuf *b)
{
	char ep[NETADDR_STRLEN + 8];

	sbuf_printf(b, "%u/%u ready", s->nready, s->ntasks);
	if (vip)
		sbuf_printf(b, " via vip %s", s->has_vip ? show_endpoint(&s->vip, s->spec.port, ep, sizeof(ep)) : "(none)");
	for (uint32_t i = 0; i < s->ntasks; i++) {
		const struct rt_task *tk = &s->tasks[i];

		sbuf_puts(b, i ? " " : ": ");
		if (tk->unready == RT_TASK_READY)
			sbuf_printf(b, "%s=%s%s%s", tk->id, show_endpoint(&tk->addr, tk->port, ep, sizeof(ep)),
				    tk->host_mode ? "(host mode)" : "", tk->excluded ? "(excluded)" : "");
		else
			sbuf_printf(b, "%s(%s)", tk->id, rtable_unready_name(tk->unready));
	}
}

/* Appends why ready task <tk> is excluded and until when, as text. */
static void show_excluded(const struct rt_task *tk, struct sbuf *out)
{
	char when[CLOCK_ISO8601_LEN];

	if (tk->excluded_until_ms)
		sbuf_printf(out, "until %s: %s", clock_iso8601(tk->excluded_until_ms, when),
			    tk->excluded);
	else
		sbuf_printf(out, "while %s", tk->excluded);
}

static void show_json_task(const struct rt_task *tk, struct sbuf *out)
{
	char ip[NETADDR_STRLEN], when[CLOCK_ISO8601_LEN];
	const struct model_task *mt = tk->model;

	sbuf_puts(out, "{\"id\":");
	sbuf_json_cstr(out, tk->id);
	sbuf_puts(out, ",\"node\":");
	sbuf_json_cstr(out, mt->node);
	sbuf_puts(out, ",\"state\":");
	sbuf_json_cstr(out, mt->state);
	sbuf_printf(out, ",\"desired_running\":%s,\"health\":\"%s\",\"address\":",
		    mt->desired_running ? "true" : "false", show_health(mt->health));
	if (tk->addr.family)
		sbuf_json_cstr(out, netaddr_str(&tk->addr, ip));
	else
		sbuf_puts(out, "null");
	sbuf_printf(out, ",\"port\":%u,\"host_mode\":%s,\"ready\":%s,\"why\":", tk->port,
		    tk->host_mode ? "true" : "false",
		    tk->unready == RT_TASK_READY ? "true" : "false");
	if (tk->unready == RT_TASK_READY)
		sbuf_puts(out, "null");
	else
		sbuf_json_cstr(out, rtable_unready_name(tk->unready));
	sbuf_puts(out, ",\"excluded\":");
	if (tk->excluded) {
		sbuf_puts(out, "{\"reason\":");
		sbuf_json_cstr(out, tk->excluded);
		sbuf_puts(out, ",\"until\":");
		sbuf_json_cstr(out, tk->excluded_until_ms ?
			       clock_iso8601(tk->excluded_until_ms, when) : NULL);
		sbuf_putc(out, '}');
	} else {
		sbuf_puts(out, "null");
	}
	sbuf_putc(out, '}');
}

/************************************************************************/
/*                              show routes                             */
/************************************************************************/

static const char *const routes_head[] = {
	"HOST", "PATH", "SERVICE", "WEIGHT", "MODE", "FLAGS", "CERT", "TASKS",
};

/* JSON has a row per route; text a row per service of a route. */
static int routes_settle(const struct rtable *t, struct rtable_show_cursor *cur, int json)
{
	if (!json)
		while (cur->pos < t->nroutes && cur->sub >= t->routes[cur->pos].nmembers) {
			cur->pos++;
			cur->sub = 0;
		}
	return cur->pos < t->nroutes;
}

static void routes_next(struct rtable_show_cursor *cur, int json)
{
	if (json)
		cur->pos++;
	else
		cur->sub++;
}

static void routes_cells(const struct rtable *t, const struct rtable_show_cursor *cur,
			 struct show_cells *c, int with_last)
{
	const struct rt_route *r = &t->routes[cur->pos];
	const struct rt_service *s = &t->svcs[t->members[r->first_member + cur->sub]];
	int first = cur->sub == 0;

	snprintf(c->num[0], sizeof(c->num[0]), "%u", s->spec.weight);
	if (first) {
		sbuf_reset(&c->path);
		sbuf_add(&c->path, r->path, r->path_len);
	}
	c->cell[0] = first ? rtable_host_name(t, r->host, c->host) : "";
	c->cell[1] = first ? c->path.buf : "";
	c->cell[2] = s->name;
	c->cell[3] = c->num[0];
	c->cell[4] = first ? (r->flags & RT_F_VIP ? "vip" : "task") : "";
	c->cell[5] = first ? show_flags(r, c->flags, sizeof(c->flags)) : "";
	/* the secrets named by ssl_cert / ssl_key, for TLS termination */
	sbuf_reset(&c->cert);
	if (s->spec.ssl_cert || s->spec.ssl_key)
		sbuf_printf(&c->cert, "%s/%s", s->spec.ssl_cert ? s->spec.ssl_cert : "-",
			    s->spec.ssl_key ? s->spec.ssl_key : "-");
	c->cell[6] = c->cert.len ? c->cert.buf : "-";
	c->cell[7] = NULL;
	if (!with_last)
		return;
	sbuf_reset(&c->tasks);
	show_task_list(s, (r->flags & RT_F_VIP) != 0, &c->tasks);
	if (cur->sub + 1 == r->nmembers && !r->pool.n) {
		sbuf_puts(&c->tasks, " -- 503: ");
		sbuf_puts(&c->tasks, r->no_task_reason);
	}
	c->cell[7] = c->tasks.buf ? c->tasks.buf : "";
}

static void routes_json_open(const struct rtable *t, const struct rtable_show_cursor *cur,
			     struct sbuf *out)
{
	sbuf_puts(out, "{\"routes\":[");
}

static void routes_json_row(const struct rtable *t, const struct rtable_show_cursor *cur,
			    struct sbuf *out)
{
	const struct rt_route *r = &t->routes[cur->pos];
	const struct rt_host *h = r->host;
	char hbuf[HOSTNAME_MAX + 8];

	sbuf_puts(out, "{\"host\":");
	sbuf_json_cstr(out, rtable_host_name(t, h, hbuf));
	sbuf_printf(out, ",\"match\":\"%s\",\"path\":", show_match_name(t, h));
	sbuf_json_str(out, r->path, r->path_len);
	sbuf_printf(out, ",\"mode\":\"%s\",\"flags\":", r->flags & RT_F_VIP ? "vip" : "task");
	show_json_flags(r, out);
	sbuf_puts(out, ",\"sticky_cookie\":");
	sbuf_json_cstr(out, r->sticky);
	sbuf_printf(out, ",\"hsts_max_age\":%u,\"redirects\":[", r->hsts_max_age);
	for (uint32_t i = 0; i < r->nredirects; i++) {
		sbuf_puts(out, i ? ",{\"source\":" : "{\"source\":");
		sbuf_json_cstr(out, r->redirects[i].src);
		sbuf_puts(out, ",\"target\":");
		sbuf_json_cstr(out, r->redirects[i].target);
		sbuf_putc(out, '}');
	}
	sbuf_puts(out, "],\"websocket_endpoints\":[");
	for (uint32_t i = 0; i < r->nwebsockets; i++) {
		if (i)
			sbuf_putc(out, ',');
		sbuf_json_cstr(out, r->websockets[i]);
	}
	sbuf_printf(out, "],\"servers\":%u,\"no_task_reason\":", r->pool.n);
	sbuf_json_cstr(out, r->pool.n ? NULL : r->no_task_reason);
	sbuf_puts(out, ",\"services\":[");
	for (uint32_t m = 0; m < r->nmembers; m++) {
		const struct rt_service *s = &t->svcs[t->members[r->first_member + m]];
		char ip[NETADDR_STRLEN];

		if (m)
			sbuf_putc(out, ',');
		sbuf_puts(out, "{\"name\":");
		sbuf_json_cstr(out, s->name);
		sbuf_puts(out, ",\"id\":");
		sbuf_json_cstr(out, s->id);
		sbuf_printf(out, ",\"weight\":%u,\"ssl_cert\":", s->spec.weight);
		sbuf_json_cstr(out, s->spec.ssl_cert);
		sbuf_puts(out, ",\"ssl_key\":");
		sbuf_json_cstr(out, s->spec.ssl_key);
		sbuf_puts(out, ",\"network\":");
		sbuf_json_cstr(out, s->network);
		sbuf_puts(out, ",\"vip\":");
		if (s->has_vip)
			sbuf_json_cstr(out, netaddr_str(&s->vip, ip));
		else
			sbuf_puts(out, "null");
		sbuf_printf(out, ",\"ready\":%u,\"tasks\":[", s->nready);
		for (uint32_t i = 0; i < s->ntasks; i++) {
			if (i)
				sbuf_putc(out, ',');
			show_json_task(&s->tasks[i], out);
		}
		sbuf_puts(out, "]}");
	}
	sbuf_puts(out, "]}");
}

static const struct show_listing routes_listing = {
	.ncols = 8,
	.head = routes_head,
	.settle = routes_settle,
	.next = routes_next,
	.cells = routes_cells,
	.json_open = routes_json_open,
	.json_row = routes_json_row,
};

int rtable_show_routes_part(const struct rtable *t, struct rtable_show_cursor *cur,
			    struct sbuf *out, int json, size_t max_rows)
{
	return show_part(&routes_listing, t, cur, out, json, max_rows);
}

void rtable_show_routes(const struct rtable *t, struct sbuf *out, int json)
{
	show_all(&routes_listing, t, out, json);
}

/************************************************************************/
/*                             show services                            */
/************************************************************************/

static const char *const services_head[] = {
	"NAME", "ID", "SOURCE", "STATUS", "MODE", "TASKS", "FORWARDED", "REDIRECTED",
	"NO_TASK", "HOSTS", "TRAFFIC", "REASON",
};

static int services_settle(const struct rtable *t, struct rtable_show_cursor *cur, int json)
{
	return cur->pos < t->nsvcs;
}

static void services_next(struct rtable_show_cursor *cur, int json)
{
	cur->pos++;
}

static void services_cells(const struct rtable *t, const struct rtable_show_cursor *cur,
			   struct show_cells *c, int with_last)
{
	const struct rt_service *s = &t->svcs[cur->pos];
	struct rtable_service_view v;

	rtable_service_at(t, cur->pos, &v);
	snprintf(c->num[0], sizeof(c->num[0]), "%zu/%zu", v.nready, v.ntasks);
	snprintf(c->num[1], sizeof(c->num[1]), "%llu", (unsigned long long)v.counters.forwarded);
	snprintf(c->num[2], sizeof(c->num[2]), "%llu", (unsigned long long)v.counters.redirected);
	snprintf(c->num[3], sizeof(c->num[3]), "%llu", (unsigned long long)v.counters.no_task);
	c->cell[0] = v.name;
	c->cell[1] = v.id;
	c->cell[2] = v.source;
	c->cell[3] = show_status(s->status);
	c->cell[4] = v.mode;
	c->cell[5] = c->num[0];
	c->cell[6] = c->num[1];
	c->cell[7] = c->num[2];
	c->cell[8] = c->num[3];
	c->cell[9] = v.hosts;
	c->cell[10] = NULL;
	c->cell[11] = v.reason;
	sbuf_reset(&c->tasks);
	if (cur->service_extra &&
	    cur->service_extra(cur->service_extra_arg, v.name, &c->tasks, 0) == 0)
		c->cell[10] = c->tasks.buf;
}

static void services_json_open(const struct rtable *t, const struct rtable_show_cursor *cur,
			       struct sbuf *out)
{
	sbuf_puts(out, "{\"services\":[");
}

static void services_json_row(const struct rtable *t, const struct rtable_show_cursor *cur,
			      struct sbuf *out)
{
	const struct rt_service *s = &t->svcs[cur->pos];
	struct rtable_service_view v;

	rtable_service_at(t, cur->pos, &v);
	sbuf_puts(out, "{\"name\":");
	sbuf_json_cstr(out, v.name);
	sbuf_puts(out, ",\"id\":");
	sbuf_json_cstr(out, v.id);
	sbuf_puts(out, ",\"source\":");
	sbuf_json_cstr(out, v.source);
	sbuf_printf(out, ",\"status\":\"%s\",\"reason\":", show_status(s->status));
	sbuf_json_cstr(out, v.reason);
	sbuf_puts(out, ",\"hosts\":");
	sbuf_json_cstr(out, v.hosts);
	sbuf_printf(out, ",\"mode\":\"%s\",\"network\":", v.mode);
	sbuf_json_cstr(out, s->network);
	sbuf_printf(out, ",\"weight\":%u,\"tasks\":%zu,\"ready\":%zu,"
		    "\"forwarded\":%llu,\"redirected\":%llu,\"no_task\":%llu",
		    s->spec.weight, v.ntasks, v.nready,
		    (unsigned long long)v.counters.forwarded,
		    (unsigned long long)v.counters.redirected,
		    (unsigned long long)v.counters.no_task);
	sbuf_puts(out, ",\"traffic\":");
	if (!cur->service_extra ||
	    cur->service_extra(cur->service_extra_arg, v.name, out, 1) < 0)
		sbuf_puts(out, "null");
	sbuf_putc(out, '}');
}

static const struct show_listing services_listing = {
	.ncols = 12,
	.head = services_head,
	.settle = services_settle,
	.next = services_next,
	.cells = services_cells,
	.json_open = services_json_open,
	.json_row = services_json_row,
};

int rtable_show_services_part(const struct rtable *t, struct rtable_show_cursor *cur,
			      struct sbuf *out, int json, size_t max_rows)
{
	return show_part(&services_listing, t, cur, out, json, max_rows);
}

void rtable_show_services(const struct rtable *t, struct sbuf *out, int json)
{
	show_all(&services_listing, t, out, json);
}

/************************************************************************/
/*                               show tasks                             */
/************************************************************************/

static const char *const tasks_head[] = {
	"ID", "NODE", "STATE", "DESIRED", "HEALTH", "ADDRESS", "PORT", "READY", "EXCLUDED",
};

static int tasks_settle(const struct rtable *t, struct rtable_show_cursor *cur, int json)
{
	return cur->pos < t->svcs[cur->service].ntasks;
}

static void tasks_next(struct rtable_show_cursor *cur, int json)
{
	cur->pos++;
}

static void tasks_cells(const struct rtable *t, const struct rtable_show_cursor *cur,
			struct show_cells *c, int with_last)
{
	const struct rt_task *tk = &t->svcs[cur->service].tasks[cur->pos];
	const struct model_task *mt = tk->model;

	snprintf(c->num[0], sizeof(c->num[0]), tk->host_mode ? "%u (host mode)" : "%u", tk->port);
	c->cell[0] = tk->id;
	c->cell[1] = mt->node;
	c->cell[2] = mt->state;
	c->cell[3] = mt->desired_running ? "running" : "shutdown";
	c->cell[4] = show_health(mt->health);
	c->cell[5] = tk->addr.family ? netaddr_str(&tk->addr, c->ip) : "-";
	c->cell[6] = c->num[0];
	c->cell[7] = tk->unready == RT_TASK_READY ? "yes" : rtable_unready_name(tk->unready);
	c->cell[8] = NULL;
	if (with_last && tk->excluded) {
		sbuf_reset(&c->tasks);
		show_excluded(tk, &c->tasks);
		c->cell[8] = c->tasks.buf;
	}
}

static void tasks_json_open(const struct rtable *t, const struct rtable_show_cursor *cur,
			    struct sbuf *out)
{
	const struct rt_service *s = &t->svcs[cur->service];

	sbuf_puts(out, "{\"service\":");
	sbuf_json_cstr(out, s->name);
	sbuf_puts(out, ",\"id\":");
	sbuf_json_cstr(out, s->id);
	sbuf_puts(out, ",\"network\":");
	sbuf_json_cstr(out, s->network);
	sbuf_printf(out, ",\"health_check\":%s,\"tasks\":[",
		    s->model->has_healthcheck ? "true" : "false");
}

static void tasks_json_row(const struct rtable *t, const struct rtable_show_cursor *cur,
			   struct sbuf *out)
{
	show_json_task(&t->svcs[cur->service].tasks[cur->pos], out);
}

static const struct show_listing tasks_listing = {
	.ncols = 9,
	.head = tasks_head,
	.settle = tasks_settle,
	.next = tasks_next,
	.cells = tasks_cells,
	.json_open = tasks_json_open,
	.json_row = tasks_json_row,
};

int rtable_show_tasks_part(const struct rtable *t, const char *service,
			   struct rtable_show_cursor *cur, struct sbuf *out, int json,
			   size_t max_rows)
{
	if (cur->stage == SHOW_START) {
		cur->service = rtable_service_find(t, service);
		if (cur->service < 0)
			return -1;
	}
	return show_part(&tasks_listing, t, cur, out, json, max_rows);
}

int rtable_show_tasks(const struct rtable *t, const char *service, struct sbuf *out, int json)
{
	struct rtable_show_cursor cur;
	int more;

	memset(&cur, 0, sizeof(cur));
	while ((more = rtable_show_tasks_part(t, service, &cur, out, json, SIZE_MAX)) > 0)
		;
	return more;
}
