/* The Docker /events stream: one long GET whose body is one JSON event per
 * line. Reconnects by itself with capped exponential backoff, and tells its
 * owner when the stream opens (time for a full resync: events may have been
 * missed) and when it is lost.
 */
#ifndef DISCOVERY_EVENTS_H
#define DISCOVERY_EVENTS_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct dockerapi;
struct events;

#define EVENTS_BACKOFF_MIN_MS     250
#define EVENTS_BACKOFF_MAX_MS     8000
#define EVENTS_BACKOFF_REFUSED_MS 60000   /* the daemon or a proxy said 4xx */
#define EVENTS_STABLE_MS          10000   /* open this long: backoff starts over */

/* One event, the fields discovery looks at. Longer values are cut. */
struct docker_event {
	char type[16];          /* "service", "container", "network", "node", ... */
	char action[64];        /* "create", "update", "health_status: healthy", ... */
	char id[80];            /* Actor.ID */
	char name[128];         /* Actor.Attributes.name, "" when absent */
	char service_id[80];    /* Actor.Attributes["com.docker.swarm.service.id"] */
	char container[80];     /* Actor.Attributes.container (network connect) */
	int64_t time_ns;        /* timeNano, 0 when absent */
};

/* Parses one line of the stream into <ev>. Returns 0, or -1 with the
 * reason in <err> when it is not an event.
 */
int events_parse(const char *line, size_t len, struct docker_event *ev, char *err, size_t errlen);

struct events_handlers {
	/* The stream is open: events flow from now on. */
	void (*on_open)(void *arg);
	void (*on_event)(void *arg, const struct docker_event *ev);
	/* The stream ended or could not open (<status> is the HTTP status, 0
	 * without one); the next attempt is in <retry_ms>. */
	void (*on_lost)(void *arg, long status, const char *reason, unsigned retry_ms);
};

/* Returns an idle event stream on <api>, or NULL when memory is exhausted.
 * <h> is copied.
 */
struct events *events_new(struct ev_loop *loop, struct dockerapi *api,
			  const struct events_handlers *h, void *arg);

/* (Re)opens the stream now with <filters> (the JSON of the "filters" query
 * parameter, copied), dropping any current one.
 */
int events_start(struct events *e, const char *filters);

/* Closes the stream and stops reconnecting. */
void events_stop(struct events *e);

/* Whether the stream is open now. */
int events_is_open(const struct events *e);

/* Stream openings after the first one. */
uint64_t events_reconnects(const struct events *e);

void events_free(struct events *e);

#endif
