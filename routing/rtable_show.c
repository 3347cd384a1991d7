/* "show routes", "show services" and "show tasks": the routing table as the
 * stats socket prints it, as aligned text for people or as one JSON
 * document for scripts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/netaddr.h"
#include "common/sbuf.h"
#include "routing/hostname.h"
#include "routing/rtable-int.h"

#define SHOW_MAX_COLS 12

/************************************************************************/
/*                          aligned text tables                         */
/************************************************************************/

/* Rows of cells kept until every column's width is known. */
struct show_table {
	size_t ncols;
	size_t nrows;
	size_t cap;
	char **cells;            /* nrows * ncols, owned */
	size_t width[SHOW_MAX_COLS];
	int oom;
};

static void show_row(struct show_table *tb, const char *const *cells)
{
	if (tb->oom)
		return;
	if (tb->nrows == tb->cap) {
		size_t cap = tb->cap ? tb->cap * 2 : 64;
		char **c = realloc(tb->cells, cap * tb->ncols * sizeof(*c));

		if (!c) {
			tb->oom = 1;
			return;
		}
		tb->cells = c;
		tb->cap = cap;
	}
	for (size_t i = 0; i < tb->ncols; i++) {
		const char *s = cells[i] ? cells[i] : "-";
		size_t len = strlen(s);
		char *d = strdup(s);

		if (!d)
			tb->oom = 1;
		tb->cells[tb->nrows * tb->ncols + i] = d;
		if (len > tb->width[i])
			tb->width[i] = len;
	}
	tb->nrows++;
}

/* Prints every row, each column but the last padded to its width, then
 * frees the rows.
 */
static void show_flush(struct show_table *tb, struct sbuf *out)
{
	for (size_t r = 0; r < tb->nrows; r++) {
		for (size_t i = 0; i < tb->ncols; i++) {
			const char *s = tb->cells[r * tb->ncols + i];

			s = s ? s : "?";
			if (i + 1 < tb->ncols)
				sbuf_printf(out, "%-*s  ", (int)tb->width[i], s);
			else
				sbuf_puts(out, s);
		}
		sbuf_putc(out, '\n');
	}
	for (size_t i = 0; i < tb->nrows * tb->ncols; i++)
		free(tb->cells[i]);
	free(tb->cells);
	tb->cells = NULL;
	tb->nrows = tb->cap = 0;
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
		{ RT_F_STICKY, "sticky" }, { RT_F_VIP, "vip" },
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
			sbuf_printf(b, "%s=%s", tk->id, show_endpoint(&tk->addr, tk->port, ep, sizeof(ep)));
		else
			sbuf_printf(b, "%s(%s)", tk->id, rtable_unready_name(tk->unready));
	}
}

static void show_json_task(const struct rt_task *tk, struct sbuf *out)
{
	char ip[NETADDR_STRLEN];
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
	sbuf_printf(out, ",\"port\":%u,\"ready\":%s,\"why\":", tk->port,
		    tk->unready == RT_TASK_READY ? "true" : "false");
	if (tk->unready == RT_TASK_READY)
		sbuf_puts(out, "null");
	else
		sbuf_json_cstr(out, rtable_unready_name(tk->unready));
	sbuf_putc(out, '}');
}

/************************************************************************/
/*                              show routes                             */
/************************************************************************/

static void show_routes_json(const struct rtable *t, struct sbuf *out)
{
	char hbuf[HOSTNAME_MAX + 8];

	sbuf_puts(out, "{\"routes\":[");
	for (uint32_t ri = 0; ri < t->nroutes; ri++) {
		const struct rt_route *r = &t->routes[ri];
		const struct rt_host *h = r->host;

		if (ri)
			sbuf_putc(out, ',');
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
	sbuf_puts(out, "]}\n");
}

void rtable_show_routes(const struct rtable *t, struct sbuf *out, int json)
{
	static const char *const head[] = {
		"HOST", "PATH", "SERVICE", "WEIGHT", "MODE", "FLAGS", "CERT", "TASKS",
	};
	struct show_table tb = { .ncols = 8 };
	char hbuf[HOSTNAME_MAX + 8], flags[128], weight[16];
	struct sbuf cert = SBUF_INIT;
	struct sbuf tasks = SBUF_INIT, path = SBUF_INIT;

	if (json) {
		show_routes_json(t, out);
		return;
	}
	show_row(&tb, head);
	for (uint32_t ri = 0; ri < t->nroutes; ri++) {
		const struct rt_route *r = &t->routes[ri];
		const char *host = rtable_host_name(t, r->host, hbuf);
		const char *fl = show_flags(r, flags, sizeof(flags));

		sbuf_reset(&path);
		sbuf_add(&path, r->path, r->path_len);
		for (uint32_t m = 0; m < r->nmembers; m++) {
			const struct rt_service *s = &t->svcs[t->members[r->first_member + m]];
			const char *row[8];

			sbuf_reset(&tasks);
			show_task_list(s, (r->flags & RT_F_VIP) != 0, &tasks);
			if (m + 1 == r->nmembers && !r->pool.n) {
				sbuf_puts(&tasks, " -- 503: ");
				sbuf_puts(&tasks, r->no_task_reason);
			}
			snprintf(weight, sizeof(weight), "%u", s->spec.weight);
			row[0] = m ? "" : host;
			row[1] = m ? "" : path.buf;
			row[2] = s->name;
			row[3] = weight;
			row[4] = m ? "" : (r->flags & RT_F_VIP ? "vip" : "task");
			row[5] = m ? "" : fl;
			/* the secrets named by ssl_cert / ssl_key, for TLS termination */
			sbuf_reset(&cert);
			if (s->spec.ssl_cert || s->spec.ssl_key)
				sbuf_printf(&cert, "%s/%s", s->spec.ssl_cert ? s->spec.ssl_cert : "-",
					    s->spec.ssl_key ? s->spec.ssl_key : "-");
			row[6] = cert.len ? cert.buf : "-";
			row[7] = tasks.buf ? tasks.buf : "";
			show_row(&tb, row);
		}
	}
	show_flush(&tb, out);
	sbuf_free(&tasks);
	sbuf_free(&path);
	sbuf_free(&cert);
}

/************************************************************************/
/*                             show services                            */
/************************************************************************/

void rtable_show_services(const struct rtable *t, struct sbuf *out, int json)
{
	static const char *const head[] = {
		"NAME", "ID", "SOURCE", "STATUS", "MODE", "TASKS", "FORWARDED", "REDIRECTED",
		"NO_TASK", "HOSTS", "REASON",
	};
	struct show_table tb = { .ncols = 11 };

	if (json)
		sbuf_puts(out, "{\"services\":[");
	else
		show_row(&tb, head);
	for (size_t i = 0; i < t->nsvcs; i++) {
		const struct rt_service *s = &t->svcs[i];
		struct rtable_service_view v;

		rtable_service_at(t, i, &v);
		if (json) {
			if (i)
				sbuf_putc(out, ',');
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
				    "\"forwarded\":%llu,\"redirected\":%llu,\"no_task\":%llu}",
				    s->spec.weight, v.ntasks, v.nready,
				    (unsigned long long)v.counters.forwarded,
				    (unsigned long long)v.counters.redirected,
				    (unsigned long long)v.counters.no_task);
		} else {
			char tasks[32], fw[24], rd[24], nt[24];
			const char *row[11];

			snprintf(tasks, sizeof(tasks), "%zu/%zu", v.nready, v.ntasks);
			snprintf(fw, sizeof(fw), "%llu", (unsigned long long)v.counters.forwarded);
			snprintf(rd, sizeof(rd), "%llu", (unsigned long long)v.counters.redirected);
			snprintf(nt, sizeof(nt), "%llu", (unsigned long long)v.counters.no_task);
			row[0] = v.name;
			row[1] = v.id;
			row[2] = v.source;
			row[3] = show_status(s->status);
			row[4] = v.mode;
			row[5] = tasks;
			row[6] = fw;
			row[7] = rd;
			row[8] = nt;
			row[9] = v.hosts;
			row[10] = v.reason;
			show_row(&tb, row);
		}
	}
	if (json)
		sbuf_puts(out, "]}\n");
	else
		show_flush(&tb, out);
}

/************************************************************************/
/*                               show tasks                             */
/************************************************************************/

int rtable_show_tasks(const struct rtable *t, const char *service, struct sbuf *out, int json)
{
	static const char *const head[] = {
		"ID", "NODE", "STATE", "DESIRED", "HEALTH", "ADDRESS", "PORT", "READY",
	};
	struct show_table tb = { .ncols = 8 };
	long idx = rtable_service_find(t, service);
	const struct rt_service *s;

	if (idx < 0)
		return -1;
	s = &t->svcs[idx];
	if (json) {
		sbuf_puts(out, "{\"service\":");
		sbuf_json_cstr(out, s->name);
		sbuf_puts(out, ",\"id\":");
		sbuf_json_cstr(out, s->id);
		sbuf_puts(out, ",\"network\":");
		sbuf_json_cstr(out, s->network);
		sbuf_printf(out, ",\"health_check\":%s,\"tasks\":[",
			    s->model->has_healthcheck ? "true" : "false");
		for (uint32_t i = 0; i < s->ntasks; i++) {
			if (i)
				sbuf_putc(out, ',');
			show_json_task(&s->tasks[i], out);
		}
		sbuf_puts(out, "]}\n");
		return 0;
	}
	show_row(&tb, head);
	for (uint32_t i = 0; i < s->ntasks; i++) {
		const struct rt_task *tk = &s->tasks[i];
		const struct model_task *mt = tk->model;
		char ip[NETADDR_STRLEN], port[8];
		const char *row[8];

		snprintf(port, sizeof(port), "%u", tk->port);
		row[0] = tk->id;
		row[1] = mt->node;
		row[2] = mt->state;
		row[3] = mt->desired_running ? "running" : "shutdown";
		row[4] = show_health(mt->health);
		row[5] = tk->addr.family ? netaddr_str(&tk->addr, ip) : "-";
		row[6] = port;
		row[7] = tk->unready == RT_TASK_READY ? "yes" : rtable_unready_name(tk->unready);
		show_row(&tb, row);
	}
	show_flush(&tb, out);
	return 0;
}
