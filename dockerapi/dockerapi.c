/* Docker Engine API over libcurl's multi-socket interface on libev.
 *
 * libcurl tells us which sockets to watch (socket callback) and when to call
 * it back on a timeout (timer callback); libev tells us when a socket is
 * ready. libcurl refuses multi calls made from inside its own callbacks, and
 * callers may well send or cancel from on_line/on_open: so new requests are
 * handed to libcurl from a zero-delay "kick" timer, and cancellations made
 * from inside libcurl are finished there too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <ev.h>

#include "common/clock.h"
#include "common/jscan.h"
#include "common/sbuf.h"
#include "dockerapi/dockerapi.h"
#include "dockerapi/dockerhost.h"

#define DOCKERAPI_CONNECT_TIMEOUT_MS 5000
#define DOCKERAPI_STREAM_ERROR_MAX   4096   /* kept of a refused stream's body */

struct dockerapi_sock {
	ev_io io;
	struct dockerapi *api;
};

struct dockerapi_req {
	struct dockerapi_req *next;
	struct dockerapi_req *prev;
	struct dockerapi *api;
	CURL *easy;
	struct curl_slist *headers;
	struct dockerapi_call call;
	char *body_copy;
	struct sbuf resp;           /* kept body (not for streams) */
	struct sbuf line;           /* partial line (streams) */
	size_t max_bytes;
	int added;                  /* handed to the multi handle */
	int cancelled;              /* dropped while inside libcurl: reap later */
	int opened;                 /* on_open ran */
	int stream_ok;              /* a 2xx stream: the body is lines */
	const char *abort_reason;   /* why a callback stopped the transfer */
	int64_t started_ns;
	char errbuf[CURL_ERROR_SIZE];
};

struct dockerapi {
	struct ev_loop *loop;
	CURLM *multi;
	ev_timer curl_timer;        /* libcurl's timeout */
	ev_timer kick;              /* hands queued requests to libcurl */
	struct dockerhost host;
	char version[16];
	char prefix[20];            /* "/v1.41" or "" */
	int writes_allowed;
	int in_curl;                /* inside a libcurl call: no multi calls now */
	struct dockerapi_req *reqs; /* every live request */
	struct dockerapi_stats stats;
};

/* ------------------------------------------------------------------------ */
/* Request list                                                              */
/* ------------------------------------------------------------------------ */

static void req_link(struct dockerapi *api, struct dockerapi_req *r)
{
	r->next = api->reqs;
	r->prev = NULL;
	if (api->reqs)
		api->reqs->prev = r;
	api->reqs = r;
}

static void req_unlink(struct dockerapi *api, struct dockerapi_req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		api->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->next = r->prev = NULL;
}

/* Detaches <r> from libcurl and frees it. Never inside libcurl. */
static void req_free(struct dockerapi_req *r)
{
	struct dockerapi *api = r->api;

	if (r->added) {
		curl_multi_remove_handle(api->multi, r->easy);
		api->stats.in_flight--;
	}
	req_unlink(api, r);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r->body_copy);
	sbuf_free(&r->resp);
	sbuf_free(&r->line);
	free(r);
}

/* ------------------------------------------------------------------------ */
/* Completion                                                                */
/* ------------------------------------------------------------------------ */

/* libcurl says "localhost port 80" for a unix socket: name the socket and
 * the system's reason instead, what a user can act on.
 */
static const char *req_connect_error(struct dockerapi_req *r)
{
	long oserr = 0;

	curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &oserr);
	snprintf(r->errbuf, sizeof(r->errbuf), "cannot connect to %s: %s", r->api->host.socket_path,
		 oserr ? strerror((int)oserr) : "connection failed");
	return r->errbuf;
}

static void req_finish(struct dockerapi_req *r, CURLcode res)
{
	struct dockerapi *api = r->api;
	struct dockerapi_resp resp = { 0 };

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &resp.status);
	resp.body = r->resp.buf ? r->resp.buf : "";
	resp.len = r->resp.len;
	resp.duration_ns = (uint64_t)(clock_mono_ns() - r->started_ns);
	if (r->abort_reason)
		resp.error = r->abort_reason;
	else if (r->resp.oom)
		resp.error = "out of memory for the response";
	else if (res == CURLE_COULDNT_CONNECT && api->host.unix_socket)
		resp.error = req_connect_error(r);
	else if (res != CURLE_OK)
		resp.error = r->errbuf[0] ? r->errbuf : curl_easy_strerror(res);
	if (resp.error || resp.status < 200 || resp.status > 299)
		api->stats.failures++;
	if (r->call.on_done)
		r->call.on_done(r->call.arg, &resp);
	req_free(r);
}

static void dockerapi_check_done(struct dockerapi *api)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(api->multi, &left))) {
		struct dockerapi_req *r = NULL;
		CURLcode res = msg->data.result;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (r->cancelled)
			req_free(r);
		else
			req_finish(r, res);
	}
}

/* Frees requests cancelled from inside libcurl and adds queued ones. */
static void dockerapi_reap_and_add(struct dockerapi *api)
{
	struct dockerapi_req *r, *next;

	for (r = api->reqs; r; r = next) {
		next = r->next;
		if (r->cancelled) {
			req_free(r);
		} else if (!r->added) {
			CURLMcode mc = curl_multi_add_handle(api->multi, r->easy);

			if (mc != CURLM_OK) {
				/* reported like a transport failure, from the loop */
				r->abort_reason = curl_multi_strerror(mc);
				req_finish(r, CURLE_FAILED_INIT);
				continue;
			}
			r->added = 1;
			api->stats.in_flight++;
		}
	}
}

/* ------------------------------------------------------------------------ */
/* libcurl <-> libev                                                         */
/* ------------------------------------------------------------------------ */

static void dockerapi_action(struct dockerapi *api, curl_socket_t fd, int flags)
{
	int running;

	api->in_curl = 1;
	curl_multi_socket_action(api->multi, fd, flags, &running);
	api->in_curl = 0;
	dockerapi_check_done(api);
}

static void on_sock_ready(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dockerapi_sock *s = w->data;
	int flags = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
		    (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);

	(void)loop;
	/* <s> may be freed by libcurl's socket callback during the action */
	dockerapi_action(s->api, w->fd, flags);
}

static void on_curl_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct dockerapi *api = t->data;

	(void)loop;
	(void)revents;
	dockerapi_action(api, CURL_SOCKET_TIMEOUT, 0);
}

static void on_kick(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct dockerapi *api = t->data;

	(void)loop;
	(void)revents;
	dockerapi_reap_and_add(api);
}

static int curl_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct dockerapi *api = userp;
	struct dockerapi_sock *s = socketp;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			ev_io_stop(api->loop, &s->io);
			curl_multi_assign(api->multi, fd, NULL);
			free(s);
		}
		return 0;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -1;
		s->api = api;
		ev_init(&s->io, on_sock_ready);
		s->io.data = s;
		curl_multi_assign(api->multi, fd, s);
	}
	ev_io_stop(api->loop, &s->io);
	ev_io_set(&s->io, fd, (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0));
	ev_io_start(api->loop, &s->io);
	return 0;
}

static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct dockerapi *api = userp;

	(void)multi;
	ev_timer_stop(api->loop, &api->curl_timer);
	if (timeout_ms >= 0) {
		/* 0 means "as soon as possible": the next loop iteration, since
		 * libcurl must not be re-entered from this callback */
		ev_timer_set(&api->curl_timer, (double)timeout_ms / 1000.0, 0.0);
		ev_timer_start(api->loop, &api->curl_timer);
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Body callbacks                                                            */
/* ------------------------------------------------------------------------ */

static void req_maybe_open(struct dockerapi_req *r)
{
	long status = 0;

	if (r->opened)
		return;
	r->opened = 1;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	/* a stream refused with an error status carries a message, not lines */
	r->stream_ok = status >= 200 && status <= 299;
	if (r->call.on_open)
		r->call.on_open(r->call.arg, status);
}

static size_t curl_header_cb(char *buf, size_t size, size_t n, void *userp)
{
	struct dockerapi_req *r = userp;
	size_t len = size * n;
	long status = 0;

	if (r->cancelled)
		return 0;
	/* the blank line ends the headers of a final (non-1xx) response */
	if ((len == 2 && buf[0] == '\r' && buf[1] == '\n') || (len == 1 && buf[0] == '\n')) {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200)
			req_maybe_open(r);
	}
	return len;
}

/* Splits stream data into lines for on_line. Returns 0, or -1 to stop. */
static int req_feed_lines(struct dockerapi_req *r, const char *data, size_t len)
{
	while (len > 0 && !r->cancelled) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) : len;
		const char *line = data;
		size_t linelen = take;

		if (r->line.len + take > DOCKERAPI_MAX_LINE) {
			r->abort_reason = "stream line longer than the limit";
			return -1;
		}
		if (!nl) {
			sbuf_add(&r->line, data, take);
			break;
		}
		if (r->line.len) {
			sbuf_add(&r->line, data, take);
			line = r->line.buf;
			linelen = r->line.len;
		}
		if (r->line.oom) {
			r->abort_reason = "out of memory for a stream line";
			return -1;
		}
		if (linelen && line[linelen - 1] == '\r')
			linelen--;
		if (linelen && r->call.on_line)
			r->call.on_line(r->call.arg, line, linelen);
		sbuf_reset(&r->line);
		data += take + 1;
		len -= take + 1;
	}
	return 0;
}

static size_t curl_write_cb(char *data, size_t size, size_t n, void *userp)
{
	struct dockerapi_req *r = userp;
	size_t len = size * n;

	if (r->cancelled)
		return 0;
	r->api->stats.bytes += len;
	req_maybe_open(r);
	if (r->cancelled)
		return 0;
	if (r->call.on_line && r->stream_ok)
		return req_feed_lines(r, data, len) < 0 || r->cancelled ? 0 : len;
	if (r->call.on_line && r->resp.len + len > DOCKERAPI_STREAM_ERROR_MAX)
		return len;   /* an error body: its start is enough */
	if (r->resp.len + len > r->max_bytes) {
		r->abort_reason = "response larger than the limit";
		return 0;
	}
	sbuf_add(&r->resp, data, len);
	return r->resp.oom ? 0 : len;
}

/* ------------------------------------------------------------------------ */
/* Public API                                                                */
/* ------------------------------------------------------------------------ */

struct dockerapi *dockerapi_new(struct ev_loop *loop, const struct dockerhost *h,
				char *err, size_t errlen)
{
	static int global_done;
	struct dockerapi *api;

	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			snprintf(err, errlen, "cannot initialise libcurl");
			return NULL;
		}
		global_done = 1;
	}
	api = calloc(1, sizeof(*api));
	if (!api) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	api->multi = curl_multi_init();
	if (!api->multi) {
		free(api);
		snprintf(err, errlen, "cannot create a libcurl multi handle");
		return NULL;
	}
	api->loop = loop;
	api->host = *h;
	curl_multi_setopt(api->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
	curl_multi_setopt(api->multi, CURLMOPT_SOCKETDATA, api);
	curl_multi_setopt(api->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
	curl_multi_setopt(api->multi, CURLMOPT_TIMERDATA, api);
	ev_timer_init(&api->curl_timer, on_curl_timer, 0.0, 0.0);
	api->curl_timer.data = api;
	ev_timer_init(&api->kick, on_kick, 0.0, 0.0);
	api->kick.data = api;
	return api;
}

void dockerapi_free(struct dockerapi *api)
{
	if (!api)
		return;
	while (api->reqs)
		req_free(api->reqs);
	ev_timer_stop(api->loop, &api->curl_timer);
	ev_timer_stop(api->loop, &api->kick);
	/* closes the cached connections; their socket callbacks free the
	 * watchers */
	curl_multi_cleanup(api->multi);
	free(api);
}

void dockerapi_set_version(struct dockerapi *api, const char *version)
{
	snprintf(api->version, sizeof(api->version), "%s", version);
	if (api->version[0])
		snprintf(api->prefix, sizeof(api->prefix), "/v%s", api->version);
	else
		api->prefix[0] = '\0';
}

const char *dockerapi_version(const struct dockerapi *api)
{
	return api->version;
}

void dockerapi_allow_writes(struct dockerapi *api, int allow)
{
	api->writes_allowed = allow;
}

void dockerapi_stats(const struct dockerapi *api, struct dockerapi_stats *st)
{
	*st = api->stats;
}

/* Sets the transport options of <r>'s easy handle. Returns 0 or -1. */
static int req_setup(struct dockerapi *api, struct dockerapi_req *r, const char *method,
		     char *err, size_t errlen)
{
	const struct dockerhost *h = &api->host;
	CURL *e = r->easy;
	struct sbuf url = SBUF_INIT;

	sbuf_puts(&url, h->base_url);
	if (!r->call.unversioned)
		sbuf_puts(&url, api->prefix);
	sbuf_puts(&url, r->call.path);
	r->headers = curl_slist_append(r->headers, "Accept: application/json");
	if (r->headers && r->call.body)
		r->headers = curl_slist_append(r->headers, "Content-Type: application/json");
	/* no "Expect: 100-continue" round trip for small bodies */
	if (r->headers)
		r->headers = curl_slist_append(r->headers, "Expect:");
	if (url.oom || !r->headers) {
		snprintf(err, errlen, "out of memory");
		sbuf_free(&url);
		return -1;
	}

	curl_easy_setopt(e, CURLOPT_URL, url.buf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, curl_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, curl_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "swarm-spoa/" SWARM_SPOA_VERSION);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)DOCKERAPI_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)r->call.timeout_ms);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max_bytes);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (h->unix_socket) {
		curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, h->socket_path);
		/* an http_proxy in the environment must not capture the socket */
		curl_easy_setopt(e, CURLOPT_PROXY, "");
	} else {
		/* a daemon that vanished without closing is noticed on streams */
		curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
		curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
		curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
	}
	if (h->tls) {
		if (h->ca_file[0])
			curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
		if (h->cert_file[0]) {
			curl_easy_setopt(e, CURLOPT_SSLCERT, h->cert_file);
			curl_easy_setopt(e, CURLOPT_SSLKEY, h->key_file);
		}
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, h->tls_verify ? 1L : 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, h->tls_verify ? 2L : 0L);
	}
	if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
		if (r->call.body) {
			curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body_copy);
			curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->call.body_len);
		}
	}
	sbuf_free(&url);
	return 0;
}

struct dockerapi_req *dockerapi_send(struct dockerapi *api, const struct dockerapi_call *c,
				     char *err, size_t errlen)
{
	const char *method = c->method ? c->method : "GET";
	struct dockerapi_req *r;

	if (strcmp(method, "GET") != 0 && !api->writes_allowed) {
		snprintf(err, errlen, "%s %s refused: the Docker API client is read-only", method, c->path);
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		goto out_oom;
	r->api = api;
	r->call = *c;
	r->max_bytes = c->max_bytes ? c->max_bytes : DOCKERAPI_MAX_BODY;
	if (c->body) {
		r->body_copy = malloc(c->body_len + 1);
		if (!r->body_copy)
			goto out_free_req;
		memcpy(r->body_copy, c->body, c->body_len);
		r->body_copy[c->body_len] = '\0';
	}
	r->easy = curl_easy_init();
	if (!r->easy)
		goto out_free_body;
	if (req_setup(api, r, method, err, errlen) < 0)
		goto out_free_easy;
	r->started_ns = clock_mono_ns();
	req_link(api, r);
	api->stats.requests++;
	ev_timer_start(api->loop, &api->kick);
	return r;

out_free_easy:
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r->body_copy);
	free(r);
	return NULL;
out_free_body:
	free(r->body_copy);
out_free_req:
	free(r);
out_oom:
	snprintf(err, errlen, "out of memory");
	return NULL;
}

void dockerapi_cancel(struct dockerapi_req *r)
{
	struct dockerapi *api = r->api;

	if (api->in_curl) {
		/* libcurl is running: detach at the next kick */
		r->cancelled = 1;
		ev_timer_start(api->loop, &api->kick);
		return;
	}
	req_free(r);
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* Parses "1.41" into 1*1000+41. Returns -1 when malformed. */
static long version_num(const char *v)
{
	char *end;
	long major, minor;

	if (!v || !*v || *v < '0' || *v > '9')
		return -1;
	major = strtol(v, &end, 10);
	if (*end != '.' || end[1] < '0' || end[1] > '9')
		return -1;
	minor = strtol(end + 1, &end, 10);
	if (*end || major > 1000 || minor > 999)
		return -1;
	return major * 1000 + minor;
}

int dockerapi_negotiate(const char *daemon_max, const char *daemon_min,
			char *out, size_t outlen, char *err, size_t errlen)
{
	long ours = version_num(DOCKERAPI_MAX_VERSION);
	long lowest = version_num(DOCKERAPI_MIN_VERSION);
	long dmax = version_num(daemon_max);
	long dmin = daemon_min && *daemon_min ? version_num(daemon_min) : 0;

	if (dmax < 0) {
		snprintf(err, errlen, "the daemon reports no usable API version ('%s')",
			 daemon_max ? daemon_max : "");
		return -1;
	}
	if (dmin < 0) {
		snprintf(err, errlen, "the daemon reports a malformed minimum API version ('%s')",
			 daemon_min);
		return -1;
	}
	if (dmax < lowest) {
		snprintf(err, errlen, "the daemon speaks API %s, older than the %s this agent needs",
			 daemon_max, DOCKERAPI_MIN_VERSION);
		return -1;
	}
	if (dmin > ours) {
		snprintf(err, errlen, "the daemon needs API %s or newer, this agent speaks up to %s",
			 daemon_min, DOCKERAPI_MAX_VERSION);
		return -1;
	}
	snprintf(out, outlen, "%s", dmax < ours ? daemon_max : DOCKERAPI_MAX_VERSION);
	return 0;
}

void dockerapi_describe(const struct dockerapi_resp *r, char *buf, size_t len)
{
	static const char *const names[] = { "message", NULL };
	struct jscan s;
	struct jscan_str msg;
	char text[200];
	int which;

	if (r->error) {
		snprintf(buf, len, "%s", r->error);
		return;
	}
	/* {"message": "..."} is how the daemon explains an error */
	text[0] = '\0';
	jscan_init(&s, r->body, r->len);
	if (jscan_open_object(&s) == 1 && jscan_next_known(&s, names, &which) == 1 &&
	    jscan_peek(&s) == JSCAN_STRING && jscan_string(&s, &msg) == 0 &&
	    jscan_str_copy(&msg, text, sizeof(text)) < 0)
		snprintf(text, sizeof(text), "%.*s", (int)(msg.len < 190 ? msg.len : 190), msg.s);
	if (!text[0]) {
		/* not the daemon's JSON: show the start of what came back */
		size_t n = r->len < 80 ? r->len : 80;

		for (size_t i = 0; i < n; i++)
			text[i] = (r->body[i] >= 0x20 && r->body[i] < 0x7f) ? r->body[i] : '.';
		text[n] = '\0';
	}
	snprintf(buf, len, "HTTP %ld%s%s", r->status, text[0] ? ": " : "", text);
}

void dockerapi_urlencode(struct sbuf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			sbuf_putc(out, (char)c);
		} else {
			char esc[3] = { '%', hex[c >> 4], hex[c & 15] };

			sbuf_add(out, esc, 3);
		}
	}
}
