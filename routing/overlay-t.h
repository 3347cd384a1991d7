/* The health overlay: tasks that passive health checks (health/) exclude
 * from the picks for a while, with why and until when. It is an input of
 * the table build like the models: the build leaves these tasks out of the
 * routes' pools, and nothing on the request path ever reads it.
 */
#ifndef ROUTING_OVERLAY_T_H
#define ROUTING_OVERLAY_T_H

#include <stddef.h>
#include <stdint.h>

struct arena;

struct overlay_task {
	const char *task_id;       /* Docker task ID */
	const char *reason;        /* "2 failures (SC) in 10s, last to 10.0.1.5:80" */
	int64_t until_ms;          /* wall clock when the exclusion ends */
};

struct overlay {
	struct arena *arena;       /* owns everything below */
	size_t n;
	struct overlay_task *tasks; /* sorted by task ID, once overlay_seal() ran */
	size_t cap;
};

#endif
