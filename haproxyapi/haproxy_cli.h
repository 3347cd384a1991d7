/* A client for HAProxy's runtime API (the "stats socket" at level admin)
 * on the agent's libev loop: one command per connection, as HAProxy's CLI
 * serves it without "prompt": connect, send the command (and its payload),
 * half-close, read the answer until HAProxy closes. Connecting, writing and
 * reading never block; every request has a deadline and a bounded answer.
 */
#ifndef HAPROXYAPI_HAPROXY_CLI_H
#define HAPROXYAPI_HAPROXY_CLI_H

#include <stddef.h>
#include <sys/socket.h>

struct ev_loop;
struct haproxy_cli_req;

#define HAPROXY_CLI_MAX_ANSWER  ((size_t)16 << 20)  /* a crt-list of 100,000 entries */
#define HAPROXY_CLI_NAME_MAX    128

/* Where a runtime API listens. */
struct haproxy_cli_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char name[HAPROXY_CLI_NAME_MAX];   /* as given: "unix:/run/haproxy/admin.sock", "10.0.1.5:9999" */
};

/* Parses "unix:PATH", an absolute PATH, "IPv4:PORT" or "[IPv6]:PORT" into
 * <a>. Host names are not resolved (that would block the loop): they are
 * refused. Returns 0, or -1 with the reason in <err>.
 */
int haproxy_cli_addr_parse(struct haproxy_cli_addr *a, const char *spec, char *err, size_t errlen);

/* The end of a request: <error> is NULL when HAProxy answered (whatever it
 * said: <answer>, <len> bytes, NUL-terminated), else why there is no answer
 * (connection refused, timeout, answer too large). Both strings are valid
 * during the call only.
 */
typedef void (*haproxy_cli_done_fn)(void *arg, const char *error, const char *answer, size_t len);

/* Sends the <len> bytes of <cmd> (one command line, with its payload if any;
 * a final LF is added when missing) to <a>. <done> runs once, from the loop,
 * within <timeout_ms>, unless the request is cancelled first. Returns the
 * request, or NULL with the reason in <err> (no socket; <done> will not run).
 */
struct haproxy_cli_req *haproxy_cli_send(struct ev_loop *loop, const struct haproxy_cli_addr *a,
					 const char *cmd, size_t len, unsigned timeout_ms,
					 haproxy_cli_done_fn done, void *arg,
					 char *err, size_t errlen);

/* Stops <r> and frees it; its <done> does not run. Not from within <done>. */
void haproxy_cli_cancel(struct haproxy_cli_req *r);

#endif
