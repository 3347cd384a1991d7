/* Reading HAProxy's runtime API answers to the certificate commands: "show
 * ssl cert", "show ssl crt-list", and the one-line verdicts of "new",
 * "set", "commit", "abort" and "del ssl cert" and of "add"/"del ssl
 * crt-list" (HAProxy 2.2 and later; the wording checked is 2.6's, which 3.x
 * keeps).
 *
 * Answers are text from another process: every parser here is bounded by
 * the given length, needs no NUL terminator, and takes any bytes.
 */
#ifndef CERTS_HAPROXY_ANS_H
#define CERTS_HAPROXY_ANS_H

#include <stddef.h>
#include <stdint.h>
#include "certs/x509.h"

enum haproxy_ans_status {
	HAPROXY_ANS_OK = 0,
	HAPROXY_ANS_EXISTS,            /* new ssl cert: the store exists already */
	HAPROXY_ANS_NOT_FOUND,         /* no such certificate, entry or crt-list */
	HAPROXY_ANS_NO_TRANSACTION,    /* commit/abort: no transaction is open */
	HAPROXY_ANS_OTHER_TRANSACTION, /* the open transaction is another certificate's */
	HAPROXY_ANS_BUSY,              /* certificate operations locked for a moment */
	HAPROXY_ANS_DENIED,            /* not an admin-level socket, or unknown command */
	HAPROXY_ANS_ERROR,             /* refused; the message says why */
};

/* Classifies the answer to one of the commands above and copies it, on one
 * line (lines joined by a space, control bytes dropped), into <msg>.
 */
enum haproxy_ans_status haproxy_ans_result(const char *ans, size_t len, char *msg, size_t msglen);

const char *haproxy_ans_status_name(enum haproxy_ans_status st);

/* The certificate a "set ssl cert" answer says the open transaction is
 * about ("Transaction created for certificate <path>!"): with HAProxy 2.6,
 * a "set" while another certificate's transaction is open updates that
 * other transaction. Copies the path into <path> and returns 0, or returns
 * -1 when the answer names none.
 */
int haproxy_ans_transaction(const char *ans, size_t len, char *path, size_t pathlen);

/* "show ssl cert <path>" (or "*<path>" for the open transaction). */
struct haproxy_ans_cert {
	char status[16];                   /* "Used", "Unused", "Empty"; "" when not shown */
	char serial[X509_SERIAL_MAX + 1];  /* "" when not shown */
	int64_t not_before;                /* seconds since the epoch; -1 when not shown */
	int64_t not_after;
	char subject[256];
	char san[512];
};

/* Fills <c> from the first certificate of the answer (a chain's other
 * certificates follow it). Returns 0, or -1 when the answer is not a
 * certificate (an error such as "Can't display the certificate").
 */
int haproxy_ans_cert(const char *ans, size_t len, struct haproxy_ans_cert *c);

/* HAProxy's "notAfter" format, "Dec 26 04:15:13 2026 GMT" (the day may be
 * space-padded), of <len> bytes: seconds since the epoch, or -1.
 */
int64_t haproxy_ans_time(const char *s, size_t len);

/* One line of "show ssl crt-list -n <list>": "<path>:<line> [<options>] <filters>". */
struct haproxy_ans_entry {
	const char *path;
	size_t path_len;
	unsigned line;                     /* 0 when the answer has none */
	const char *options;               /* "[...]" or "" */
	size_t options_len;
	const char *filters;               /* SNI filters separated by spaces, or "" */
	size_t filters_len;
};

/* Calls <fn> for each entry of a "show ssl crt-list [-n] <list>" answer,
 * in order; the strings point into <ans>. Returns the number of entries, or
 * -1 when the answer is an error ("didn't find the specified filename").
 */
long haproxy_ans_crtlist(const char *ans, size_t len,
			 void (*fn)(void *arg, const struct haproxy_ans_entry *e), void *arg);

/* Calls <fn> for each name listed by "show ssl cert" or "show ssl
 * crt-list" without argument (one per line, "#" lines are headings); a
 * name under the "# transaction" heading is passed with <in_tx> set and
 * without its leading '*'. Returns the number of names, or -1 when the
 * answer is an error.
 */
long haproxy_ans_names(const char *ans, size_t len,
		       void (*fn)(void *arg, const char *name, size_t n, int in_tx), void *arg);

#endif
