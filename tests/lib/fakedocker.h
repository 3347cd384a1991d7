/* A scripted stand-in for the Docker daemon in unit tests: an HTTP/1.1
 * server on a unix socket, in its own threads, answering each request with
 * what a test handler says (a status and a body, a delay, a dropped
 * connection, or an open event stream fed with fakedocker_push()).
 */
#ifndef TESTS_LIB_FAKEDOCKER_H
#define TESTS_LIB_FAKEDOCKER_H

#include <stddef.h>

struct fakedocker;

struct fake_resp {
	int status;          /* 0: close the connection without an answer */
	char *body;          /* malloc'd, taken over by the server; NULL: empty */
	size_t len;
	unsigned delay_ms;   /* wait before answering */
	int stream;          /* /events: answer 200 and send pushed lines until dropped */
};

/* Fills <r> for request <method> <path> (path with the query string).
 * Called in a server thread, one call at a time.
 */
typedef void (*fake_handler)(void *arg, const char *method, const char *path, struct fake_resp *r);

/* Listens on unix socket <path> (replaced if present). Returns NULL on
 * failure.
 */
struct fakedocker *fakedocker_start(const char *path, fake_handler h, void *arg);

/* Sends <line> (a newline is added) on every open stream. */
void fakedocker_push(struct fakedocker *f, const char *line);

/* Closes every open stream (the daemon went away for a moment). */
void fakedocker_drop_streams(struct fakedocker *f);

/* Number of open streams. */
int fakedocker_streams(struct fakedocker *f);

/* Requests seen whose path starts with <prefix> (all with ""). */
unsigned fakedocker_count(struct fakedocker *f, const char *prefix);

/* Stops listening and closes every connection; removes the socket. */
void fakedocker_stop(struct fakedocker *f);

#endif
