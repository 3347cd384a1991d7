/* The "route" message: where does this request go?
 *
 * Arguments (by name, any order, any may be missing or NULL):
 *   host STR, path STR (with or without "?query"), query STR, method STR, src IPV4|IPV6,
 *   ssl BOOL|INT|STR, cookie STR, sni STR (route-tcp)
 * ssl as a string is the scheme the client used, as X-Forwarded-Proto
 * carries it: "https" (any case) is TLS. haproxy-conf sends the header,
 * which the frontend sets from ssl_fc unless a trusted proxy in front
 * terminated TLS and said so.
 * Answer: variables in the txn scope, documented in docs/haproxy.md.
 */
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "routing/rtable.h"
#include "spoa/handler.h"
#include "spoa/spop.h"
#include "spoa/worker-t.h"

#define VAR(lit) lit, (sizeof(lit) - 1)

static int arg_is(const struct spop_arg *a, const char *name, size_t len)
{
	return a->name_len == len && memcmp(a->name, name, len) == 0;
}

/* Stores a STR/BIN argument. Returns 0, or -1 on a type that cannot be a
 * string (NULL means absent and is fine).
 */
static int arg_string(const struct spop_arg *a, const char **s, size_t *len)
{
	if (a->data.type == SPOP_DATA_NULL)
		return 0;
	if (a->data.type != SPOP_DATA_STR && a->data.type != SPOP_DATA_BIN)
		return -1;
	*s = a->data.u.str.ptr;
	*len = a->data.u.str.len;
	return 0;
}

static enum handler_result answer_error(struct spop_writer *ack, const char *reason)
{
	spop_put_set_var_str(ack, SPOP_SCOPE_TXN, VAR("action"), VAR("error"));
	spop_put_set_var_str(ack, SPOP_SCOPE_TXN, VAR("reason"), reason, strlen(reason));
	return HANDLER_ERROR;
}

/* Fills <req> from the message arguments. Returns NULL, or the name of the
 * first argument whose type is wrong.
 */
static const char *parse_args(struct spop_msg *m, struct route_req *req, int tcp)
{
	struct spop_arg_iter it;
	struct spop_arg a;

	memset(req, 0, sizeof(*req));
	req->tcp = tcp;
	spop_arg_iter_init(&it, m);
	while (spop_arg_next(&it, &a) > 0) {
		switch (a.name_len) {
		case 3:
			if (arg_is(&a, "ssl", 3)) {
				if (a.data.type == SPOP_DATA_BOOL)
					req->ssl = a.data.u.boolean;
				else if (a.data.type >= SPOP_DATA_INT32 && a.data.type <= SPOP_DATA_UINT64)
					req->ssl = a.data.u.uint != 0;
				else if (a.data.type == SPOP_DATA_STR)
					req->ssl = a.data.u.str.len == 5 &&
						   strncasecmp(a.data.u.str.ptr, "https", 5) == 0;
				else if (a.data.type != SPOP_DATA_NULL)
					return "ssl";
			} else if (arg_is(&a, "src", 3)) {
				if (a.data.type == SPOP_DATA_IPV4) {
					req->src.family = AF_INET;
					memcpy(req->src.ip, a.data.u.ip, 4);
				} else if (a.data.type == SPOP_DATA_IPV6) {
					req->src.family = AF_INET6;
					memcpy(req->src.ip, a.data.u.ip, 16);
				} else if (a.data.type != SPOP_DATA_NULL) {
					return "src";
				}
			} else if (arg_is(&a, "sni", 3)) {
				if (arg_string(&a, &req->host, &req->host_len) < 0)
					return "sni";
			}
			break;
		case 4:
			if (arg_is(&a, "host", 4)) {
				if (arg_string(&a, &req->host, &req->host_len) < 0)
					return "host";
			} else if (arg_is(&a, "path", 4)) {
				if (arg_string(&a, &req->path, &req->path_len) < 0)
					return "path";
			}
			break;
		case 5:
			if (arg_is(&a, "query", 5) &&
			    arg_string(&a, &req->query, &req->query_len) < 0)
				return "query";
			break;
		case 6:
			if (arg_is(&a, "method", 6)) {
				if (arg_string(&a, &req->method, &req->method_len) < 0)
					return "method";
			} else if (arg_is(&a, "cookie", 6)) {
				if (arg_string(&a, &req->cookie, &req->cookie_len) < 0)
					return "cookie";
			}
			break;
		}
	}
	/* haproxy-conf sends the path with its query string (pathq), one
	 * argument fewer for HAProxy to fetch and encode on every request. A
	 * path has no '?' of its own: the first one starts the query. */
	if (req->path && !req->query) {
		const char *q = memchr(req->path, '?', req->path_len);

		if (q) {
			req->query = q + 1;
			req->query_len = req->path_len - (size_t)(q + 1 - req->path);
			req->path_len = (size_t)(q - req->path);
		}
	}
	return NULL;
}

static void put_service(struct spop_writer *ack, const struct route_answer *ans)
{
	if (ans->service)
		spop_put_set_var_str(ack, SPOP_SCOPE_TXN, VAR("service"),
				     ans->service, strlen(ans->service));
}

enum handler_result msg_route(struct worker *w, struct spop_msg *m,
			      struct spop_writer *ack, int tcp)
{
	struct route_answer ans;
	struct route_req req;
	const char *bad;

	bad = parse_args(m, &req, tcp);
	if (bad) {
		char reason[64];

		strcpy(reason, "bad type for argument ");
		strncat(reason, bad, sizeof(reason) - strlen(reason) - 1);
		return answer_error(ack, reason);
	}

	if (w->table) {
		rtable_route(w->table, w->idx, &req, &ans, w->scratch);
	} else {
		memset(&ans, 0, sizeof(ans));
		ans.action = ROUTE_NOT_FOUND;
		ans.reason = "no routing table yet";
	}

	switch (ans.action) {
	case ROUTE_FORWARD:
		spop_put_set_var_str(ack, SPOP_SCOPE_TXN, VAR("action"), VAR("forward"));
		spop_put_set_var_ip(ack, SPOP_SCOPE_TXN, VAR("ip"), ans.dst.family, ans.dst.ip);
		spop_put_set_var_int(ack, SPOP_SCOPE_TXN, VAR("port"), ans.port);
		put_service(ack, &ans);
		if (ans.path)
			spop_put_set_var_str(ack, SPOP_SCOPE_TXN, VAR("path"), ans.path, ans.path_len);
		if (ans.set_cookie)
			spop_put_set_var_str(ack, SPOP_SCOPE_TXN, VAR("cookie"),
					     ans.set_cookie, ans.set_cookie_len);
		if (ans.websocket)
			spop_put_set_var_bool(ack, SPOP_SCOPE_TXN, VAR("websocket"), 1);
		if (ans.hsts_max_age)
			spop_put_set_var_int(ack, SPOP_SCOPE_TXN, VAR("hsts"), ans.hsts_max_age);
		if (ans.backend)
			spop_put_set_var_str(ack, SPOP_SCOPE_TXN, VAR("backend"),
					     ans.backend, strlen(ans.backend));
		if (ans.sni)
			spop_put_set_var_str(ack, SPOP_SCOPE_TXN, VAR("sni"), ans.sni, ans.sni_len);
		break;
	case ROUTE_REDIRECT:
		spop_put_set_var_str(ack, SPOP_SCOPE_TXN, VAR("action"), VAR("redirect"));
		spop_put_set_var_str(ack, SPOP_SCOPE_TXN, VAR("location"),
				     ans.location, ans.location_len);
		spop_put_set_var_int(ack, SPOP_SCOPE_TXN, VAR("code"), ans.code);
		put_service(ack, &ans);
		break;
	case ROUTE_NOT_FOUND:
		spop_put_set_var_str(ack, SPOP_SCOPE_TXN, VAR("action"), VAR("not_found"));
		if (ans.reason)
			spop_put_set_var_str(ack, SPOP_SCOPE_TXN, VAR("reason"),
					     ans.reason, strlen(ans.reason));
		break;
	case ROUTE_NO_TASK:
		spop_put_set_var_str(ack, SPOP_SCOPE_TXN, VAR("action"), VAR("no_task"));
		put_service(ack, &ans);
		if (ans.reason)
			spop_put_set_var_str(ack, SPOP_SCOPE_TXN, VAR("reason"),
					     ans.reason, strlen(ans.reason));
		break;
	}
	return HANDLER_OK;
}
