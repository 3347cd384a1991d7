/* Placeholder until the Docker watcher lands: discovery is unavailable. */
#include <stdio.h>

#include "discovery/discovery.h"

struct discovery *discovery_new(struct ev_loop *loop, const struct discovery_opts *o,
				void (*on_model)(void *arg, struct model *m), void *arg,
				char *err, size_t errlen)
{
	(void)loop;
	(void)o;
	(void)on_model;
	(void)arg;
	snprintf(err, errlen, "Docker discovery is not available in this build");
	return NULL;
}

void discovery_resync(struct discovery *d)
{
	(void)d;
}

void discovery_status(const struct discovery *d, struct discovery_status *st)
{
	(void)d;
	(void)st;
}

void discovery_free(struct discovery *d)
{
	(void)d;
}
