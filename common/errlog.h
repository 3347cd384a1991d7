/* The recent-errors ring shown by "show errors": bad labels, bad frames,
 * Docker API failures. Thread-safe; recording is rare and off the hot path.
 */
#ifndef COMMON_ERRLOG_H
#define COMMON_ERRLOG_H

#include <stddef.h>
#include <stdint.h>

#define ERRLOG_SIZE 128

enum errlog_kind {
	ERRLOG_LABELS = 0,   /* a service skipped for its labels */
	ERRLOG_FRAME,        /* a malformed SPOP frame */
	ERRLOG_DOCKER,       /* a Docker API failure */
	ERRLOG_CERT,         /* refused certificate material */
	ERRLOG_CONFIG,       /* routes file or other configuration */
	ERRLOG_KINDS
};

struct errlog_entry {
	int64_t when_ms;          /* wall clock, ms since the epoch */
	enum errlog_kind kind;
	char subject[128];        /* service, connection or endpoint */
	char message[256];
};

/* Records one error; both strings are copied and truncated to fit. */
void errlog_record(enum errlog_kind kind, const char *subject, const char *message);

/* Copies up to <max> of the most recent entries, oldest first, into <out>.
 * Returns how many were copied.
 */
size_t errlog_snapshot(struct errlog_entry *out, size_t max);

/* Errors recorded since start, by kind. */
uint64_t errlog_count(enum errlog_kind kind);

const char *errlog_kind_name(enum errlog_kind kind);

#endif
