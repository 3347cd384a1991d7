/* A Docker Engine API client on the agent's libev loop: libcurl's
 * multi-socket interface driven by libev io and timer watchers, so that no
 * call ever blocks the loop. Talks HTTP over the daemon's unix socket, or
 * over TCP with or without TLS (see dockerhost.h).
 *
 * Requests are asynchronous: dockerapi_send() queues one and returns at
 * once; its on_done callback runs later from the loop, exactly once, unless
 * the request is cancelled first. Streams (GET /events) deliver their body
 * line by line instead of keeping it.
 *
 * The client is read-only until dockerapi_allow_writes() is called: any
 * other method than GET is refused before reaching the daemon, so that the
 * agent works through a socket proxy that only lets GETs through unless the
 * user asked for a feature that writes.
 */
#ifndef DOCKERAPI_DOCKERAPI_H
#define DOCKERAPI_DOCKERAPI_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct dockerhost;
struct sbuf;
struct dockerapi;
struct dockerapi_req;

#define DOCKERAPI_MAX_BODY      ((size_t)256 << 20)   /* default response bound */
#define DOCKERAPI_MAX_LINE      ((size_t)1 << 20)     /* stream line bound */
#define DOCKERAPI_MIN_VERSION   "1.24"
#define DOCKERAPI_MAX_VERSION   "1.41"

struct dockerapi_resp {
	long status;             /* HTTP status, 0 when none was received */
	const char *body;        /* NUL-terminated, never NULL ("" for streams) */
	size_t len;
	const char *error;       /* why the transfer failed; NULL when a complete
				    response arrived, whatever its status */
	uint64_t duration_ns;
};

struct dockerapi_call {
	const char *method;      /* "GET" when NULL, "POST", "DELETE" */
	const char *path;        /* "/services?filters=...", after the version prefix;
				    already URL-encoded */
	int unversioned;         /* send <path> without the /vX.Y prefix */
	const char *body;        /* request body (JSON, copied), or NULL */
	size_t body_len;
	unsigned timeout_ms;     /* whole transfer; 0: none (streams) */
	size_t max_bytes;        /* response bound, 0: DOCKERAPI_MAX_BODY */
	/* Stream mode: each line of the body, without its end of line, borrowed
	 * for the call; the body is not kept. Any request, this one included,
	 * may be sent or cancelled from here. */
	void (*on_line)(void *arg, const char *line, size_t len);
	/* The status line and headers of the final response arrived. */
	void (*on_open)(void *arg, long status);
	/* The request ended; <r> and its body are valid during the call only.
	 * The request is released afterwards: do not cancel it here. */
	void (*on_done)(void *arg, const struct dockerapi_resp *r);
	void *arg;
};

struct dockerapi_stats {
	uint64_t requests;       /* sent */
	uint64_t failures;       /* transport errors and non-2xx answers */
	uint64_t bytes;          /* response bytes received */
	unsigned in_flight;
};

/* Returns a client for <h> (copied) on <loop>, or NULL with the reason in
 * <err>. Release it with dockerapi_free(), never from one of its callbacks.
 */
struct dockerapi *dockerapi_new(struct ev_loop *loop, const struct dockerhost *h,
				char *err, size_t errlen);

/* Cancels every request (no callback runs) and frees <api>. */
void dockerapi_free(struct dockerapi *api);

/* Sets the API version put in front of every versioned path ("1.41"), or
 * removes it with "".
 */
void dockerapi_set_version(struct dockerapi *api, const char *version);
const char *dockerapi_version(const struct dockerapi *api);

/* Lets methods other than GET through (off by default). */
void dockerapi_allow_writes(struct dockerapi *api, int allow);

/* Queues request <c>. Returns a handle valid until on_done has run or the
 * request is cancelled, or NULL with the reason in <err> (a refused write,
 * memory exhausted): on_done is not called then.
 */
struct dockerapi_req *dockerapi_send(struct dockerapi *api, const struct dockerapi_call *c,
				     char *err, size_t errlen);

/* Stops <r>; its on_done callback will not run. */
void dockerapi_cancel(struct dockerapi_req *r);

void dockerapi_stats(const struct dockerapi *api, struct dockerapi_stats *st);

/* Chooses the API version to speak from the daemon's GET /version answer
 * (<daemon_max> "ApiVersion", <daemon_min> "MinAPIVersion", either may be
 * NULL): ours (DOCKERAPI_MAX_VERSION) or the daemon's when lower. Writes it
 * into <out> and returns 0, or returns -1 with the reason in <err> when the
 * daemon cannot speak DOCKERAPI_MIN_VERSION or the version is malformed.
 */
int dockerapi_negotiate(const char *daemon_max, const char *daemon_min,
			char *out, size_t outlen, char *err, size_t errlen);

/* Describes a failed or non-2xx response in <buf>: the transport error, or
 * the status and the daemon's {"message": ...}.
 */
void dockerapi_describe(const struct dockerapi_resp *r, char *buf, size_t len);

/* Appends <s> to <out>, percent-encoded for a query string. */
void dockerapi_urlencode(struct sbuf *out, const char *s);

#endif
