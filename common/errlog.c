/* Ring of recent errors. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/errlog.h"

static pthread_mutex_t errlog_lock = PTHREAD_MUTEX_INITIALIZER;
static struct errlog_entry ring[ERRLOG_SIZE];
static uint64_t ring_next;             /* total recorded; next slot = ring_next % size */
static uint64_t counts[ERRLOG_KINDS];

static const char *const kind_names[ERRLOG_KINDS] = {
	[ERRLOG_LABELS] = "labels",
	[ERRLOG_FRAME]  = "frame",
	[ERRLOG_DOCKER] = "docker",
	[ERRLOG_CERT]   = "cert",
	[ERRLOG_CONFIG] = "config",
};

void errlog_record(enum errlog_kind kind, const char *subject, const char *message)
{
	struct timespec ts;
	struct errlog_entry *e;

	clock_gettime(CLOCK_REALTIME, &ts);
	pthread_mutex_lock(&errlog_lock);
	e = &ring[ring_next % ERRLOG_SIZE];
	e->when_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	e->kind = kind;
	snprintf(e->subject, sizeof(e->subject), "%s", subject ? subject : "-");
	snprintf(e->message, sizeof(e->message), "%s", message ? message : "-");
	ring_next++;
	counts[kind]++;
	pthread_mutex_unlock(&errlog_lock);
}

size_t errlog_snapshot(struct errlog_entry *out, size_t max)
{
	size_t n, i;
	uint64_t first;

	pthread_mutex_lock(&errlog_lock);
	n = ring_next < ERRLOG_SIZE ? (size_t)ring_next : ERRLOG_SIZE;
	if (n > max)
		n = max;
	first = ring_next - n;
	for (i = 0; i < n; i++)
		out[i] = ring[(first + i) % ERRLOG_SIZE];
	pthread_mutex_unlock(&errlog_lock);
	return n;
}

uint64_t errlog_count(enum errlog_kind kind)
{
	uint64_t c;

	pthread_mutex_lock(&errlog_lock);
	c = counts[kind];
	pthread_mutex_unlock(&errlog_lock);
	return c;
}

const char *errlog_kind_name(enum errlog_kind kind)
{
	return kind < ERRLOG_KINDS ? kind_names[kind] : "unknown";
}
