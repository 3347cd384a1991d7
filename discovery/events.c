/* The /events stream and its reconnection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ev.h>

#include "common/clock.h"
#include "common/jscan.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "discovery/events.h"
#include "dockerapi/dockerapi.h"

struct events {
	struct ev_loop *loop;
	struct dockerapi *api;
	struct events_handlers h;
	void *arg;
	char *filters;
	struct dockerapi_req *req;
	ev_timer retry;
	unsigned backoff_ms;        /* next delay after a failure */
	int open;
	int running;                /* started and not stopped */
	int64_t opened_ms;          /* monotonic */
	uint64_t opens;
};

/* ------------------------------------------------------------------------ */
/* Parsing                                                                   */
/* ------------------------------------------------------------------------ */

/* Copies string value <v> into <buf>, cutting it when too long. */
static void events_copy(const struct jscan_str *v, char *buf, size_t size)
{
	if (jscan_str_copy(v, buf, size) >= 0)
		return;
	/* too long or odd escapes: keep a printable, cut prefix */
	size_t n = v->len < size - 1 ? v->len : size - 1;

	for (size_t i = 0; i < n; i++)
		buf[i] = (v->s[i] >= 0x20 && v->s[i] < 0x7f) ? v->s[i] : '?';
	buf[n] = '\0';
}

/* Copies a string value into <buf> (see events_copy()); another type is
 * skipped.
 */
static int events_string(struct jscan *s, char *buf, size_t size)
{
	struct jscan_str v;

	if (jscan_peek(s) != JSCAN_STRING)
		return jscan_skip(s);
	if (jscan_string(s, &v) < 0)
		return -1;
	events_copy(&v, buf, size);
	return 0;
}

static int events_parse_attributes(struct jscan *s, struct docker_event *ev)
{
	static const char *const names[] = {
		"name", "com.docker.swarm.service.id", "container", NULL
	};
	char *const dst[] = { ev->name, ev->service_id, ev->container };
	const size_t size[] = { sizeof(ev->name), sizeof(ev->service_id), sizeof(ev->container) };
	int rc, which;

	rc = jscan_open_object(s);
	if (rc <= 0)
		return rc;
	while ((rc = jscan_next_known(s, names, &which)) == 1)
		if (events_string(s, dst[which], size[which]) < 0)
			return -1;
	return rc;
}

static int events_parse_actor(struct jscan *s, struct docker_event *ev)
{
	static const char *const names[] = { "ID", "Attributes", NULL };
	int rc, which;

	rc = jscan_open_object(s);
	if (rc <= 0)
		return rc;
	while ((rc = jscan_next_known(s, names, &which)) == 1)
		if ((which == 0 ? events_string(s, ev->id, sizeof(ev->id)) :
		     events_parse_attributes(s, ev)) < 0)
			return -1;
	return rc;
}

int events_parse(const char *line, size_t len, struct docker_event *ev, char *err, size_t errlen)
{
	static const char *const names[] = { "Type", "Action", "Actor", "timeNano", NULL };
	struct jscan s;
	int rc, which;

	memset(ev, 0, sizeof(*ev));
	jscan_init(&s, line, len);
	if (jscan_enter_object(&s) < 0)
		goto out_bad;
	while ((rc = jscan_next_known(&s, names, &which)) == 1) {
		int r;

		if (which == 0)
			r = events_string(&s, ev->type, sizeof(ev->type));
		else if (which == 1)
			r = events_string(&s, ev->action, sizeof(ev->action));
		else if (which == 2)
			r = events_parse_actor(&s, ev);
		else if (jscan_peek(&s) == JSCAN_NUMBER)
			r = jscan_int64(&s, &ev->time_ns);
		else
			r = jscan_skip(&s);
		if (r < 0)
			goto out_bad;
	}
	if (rc < 0 || jscan_finish(&s) < 0)
		goto out_bad;
	if (!ev->type[0] || !ev->action[0]) {
		snprintf(err, errlen, "event without Type or Action");
		return -1;
	}
	return 0;

out_bad:
	snprintf(err, errlen, "%s", jscan_error(&s) ? jscan_error(&s) : "invalid JSON");
	return -1;
}

/* ------------------------------------------------------------------------ */
/* The stream                                                                */
/* ------------------------------------------------------------------------ */

static void events_connect(struct events *e);

static void events_on_open(void *arg, long status)
{
	struct events *e = arg;

	if (status != 200)
		return;   /* the error body follows; reported by on_done */
	e->open = 1;
	e->opened_ms = clock_mono_ms();
	e->opens++;
	LOG(LL_INFO, "discovery", "event stream open", KVI("reconnects", e->opens - 1));
	if (e->h.on_open)
		e->h.on_open(e->arg);
}

static void events_on_line(void *arg, const char *line, size_t len)
{
	struct events *e = arg;
	struct docker_event ev;
	char err[128];

	if (events_parse(line, len, &ev, err, sizeof(err)) < 0) {
		LOG(LL_WARN, "discovery", "ignoring a malformed event", KVS("reason", err),
		    KVSN("line", line, len > 200 ? 200 : len));
		return;
	}
	if (e->h.on_event)
		e->h.on_event(e->arg, &ev);
}

/* Jitter keeps a fleet of agents from reconnecting in lockstep. */
static unsigned events_jitter(unsigned ms)
{
	return ms + (unsigned)(rand() % (int)(ms / 4 + 1));
}

static void events_on_done(void *arg, const struct dockerapi_resp *r)
{
	struct events *e = arg;
	char reason[256];
	unsigned delay;
	int was_open = e->open;

	e->req = NULL;
	e->open = 0;
	if (r->error || r->status != 200)
		dockerapi_describe(r, reason, sizeof(reason));
	else
		snprintf(reason, sizeof(reason), "the daemon closed the stream");

	if (was_open && clock_mono_ms() - e->opened_ms >= EVENTS_STABLE_MS)
		e->backoff_ms = EVENTS_BACKOFF_MIN_MS;
	if (!r->error && r->status >= 400 && r->status < 500) {
		/* refused (a socket proxy that forbids /events, an API version
		 * the daemon rejects): trying again soon will not help */
		delay = EVENTS_BACKOFF_REFUSED_MS;
	} else {
		delay = events_jitter(e->backoff_ms);
		e->backoff_ms = e->backoff_ms * 2 > EVENTS_BACKOFF_MAX_MS ?
				EVENTS_BACKOFF_MAX_MS : e->backoff_ms * 2;
	}
	ev_timer_set(&e->retry, delay / 1000.0, 0.0);
	ev_timer_start(e->loop, &e->retry);
	if (e->h.on_lost)
		e->h.on_lost(e->arg, r->error ? 0 : r->status, reason, delay);
}

static void events_connect(struct events *e)
{
	struct sbuf path = SBUF_INIT;
	struct dockerapi_call call = {
		.timeout_ms = 0,
		.on_line = events_on_line,
		.on_open = events_on_open,
		.on_done = events_on_done,
		.arg = e,
	};
	char err[128];

	sbuf_puts(&path, "/events");
	if (e->filters) {
		sbuf_puts(&path, "?filters=");
		dockerapi_urlencode(&path, e->filters);
	}
	if (path.oom) {
		snprintf(err, sizeof(err), "out of memory");
		goto out_retry;
	}
	call.path = path.buf;
	e->req = dockerapi_send(e->api, &call, err, sizeof(err));
	if (e->req) {
		sbuf_free(&path);
		return;
	}
out_retry:
	sbuf_free(&path);
	LOG(LL_WARN, "discovery", "cannot open the event stream", KVS("reason", err));
	ev_timer_set(&e->retry, EVENTS_BACKOFF_MAX_MS / 1000.0, 0.0);
	ev_timer_start(e->loop, &e->retry);
}

static void events_on_retry(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct events *e = t->data;

	(void)loop;
	(void)revents;
	if (e->running && !e->req)
		events_connect(e);
}

struct events *events_new(struct ev_loop *loop, struct dockerapi *api,
			  const struct events_handlers *h, void *arg)
{
	struct events *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->loop = loop;
	e->api = api;
	e->h = *h;
	e->arg = arg;
	e->backoff_ms = EVENTS_BACKOFF_MIN_MS;
	ev_timer_init(&e->retry, events_on_retry, 0.0, 0.0);
	e->retry.data = e;
	return e;
}

int events_start(struct events *e, const char *filters)
{
	char *copy = filters ? strdup(filters) : NULL;

	if (filters && !copy)
		return -1;
	events_stop(e);
	free(e->filters);
	e->filters = copy;
	e->running = 1;
	events_connect(e);
	return 0;
}

void events_stop(struct events *e)
{
	e->running = 0;
	ev_timer_stop(e->loop, &e->retry);
	if (e->req) {
		dockerapi_cancel(e->req);
		e->req = NULL;
	}
	e->open = 0;
}

int events_is_open(const struct events *e)
{
	return e->open;
}

uint64_t events_reconnects(const struct events *e)
{
	return e->opens > 1 ? e->opens - 1 : 0;
}

void events_free(struct events *e)
{
	if (!e)
		return;
	events_stop(e);
	free(e->filters);
	free(e);
}
