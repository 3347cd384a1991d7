/* The metrics listener: a minimal HTTP/1.1 server on the main loop that
 * answers GET (or HEAD) /metrics with the Prometheus page, 404 for any
 * other path and 405 for another method on /metrics. Keep-alive and
 * pipelined requests work; request bodies are refused.
 */
#ifndef STATS_HTTPD_H
#define STATS_HTTPD_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;

#define HTTPD_MAX_CLIENTS 64
#define HTTPD_HEAD_MAX 8192       /* request line and headers */
#define HTTPD_HEAD_TIMEOUT 5.0    /* seconds from a request's first byte to its empty line */

/* A parsed request head. <method> and <path> point into the parsed
 * buffer and are not NUL-terminated.
 */
struct httpd_request {
	const char *method;
	size_t method_len;
	const char *path;             /* request target without the query string */
	size_t path_len;
	int minor;                    /* HTTP/1.<minor> */
	int keep_alive;               /* the connection may serve another request */
	int has_body;                 /* Content-Length > 0 or Transfer-Encoding */
};

/* Parses the request head at the start of the <len> bytes at <buf>.
 * Returns the length of the head (through its empty line), 0 when more
 * bytes are needed, or -1 when it is not a valid HTTP/1.x request head.
 */
long httpd_parse(const char *buf, size_t len, struct httpd_request *req);

/* Listens on <addr> ("HOST:PORT"), which must be a loopback address
 * unless <allow_remote>. Returns 0, or -1 with <err>.
 */
int httpd_start(struct ev_loop *loop, const char *addr, int allow_remote, char *err,
		size_t errlen);

/* Times the listener paused because accept(2) ran out of descriptors or
 * memory, since start.
 */
uint64_t httpd_accept_pauses(void);

/* Closes the listener and every connection. */
void httpd_stop(void);

#endif
