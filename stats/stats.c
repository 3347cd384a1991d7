/* The stats socket and the metrics listener, started and stopped as one,
 * and the sources they report on.
 */
#include <stdio.h>
#include <string.h>

#include "stats/httpd.h"
#include "stats/server.h"
#include "stats/stats.h"

static int stats_running;
static const struct stats_source *sources[STATS_MAX_SOURCES];
static size_t nsources;
static void (*resync_fn)(void *arg);
static void *resync_arg;

int stats_add_source(const struct stats_source *src)
{
	if (nsources >= STATS_MAX_SOURCES)
		return -1;
	sources[nsources++] = src;
	return 0;
}

const struct stats_source *stats_source_find(const char *name)
{
	for (size_t i = 0; i < nsources; i++)
		if (sources[i]->name && strcmp(sources[i]->name, name) == 0)
			return sources[i];
	return NULL;
}

void stats_source_each(void (*fn)(void *ctx, const struct stats_source *src), void *ctx)
{
	for (size_t i = 0; i < nsources; i++)
		fn(ctx, sources[i]);
}

int stats_resync(void)
{
	if (!resync_fn)
		return -1;
	resync_fn(resync_arg);
	return 0;
}

int stats_start(struct ev_loop *loop, const struct stats_opts *o, char *err, size_t errlen)
{
	if (server_start(loop, o->socket_path, o->socket_mode ? o->socket_mode : 0600,
			 o->tcp_listen, o->allow_remote, err, errlen) < 0)
		return -1;
	if (o->metrics_listen && httpd_start(loop, o->metrics_listen, o->metrics_allow_remote,
							 err, errlen) < 0) {
		server_stop();
		return -1;
	}
	resync_fn = o->resync;
	resync_arg = o->resync_arg;
	stats_running = 1;
	return 0;
}

void stats_stop(void)
{
	if (stats_running) {
		httpd_stop();
		server_stop();
		stats_running = 0;
	}
	nsources = 0;
	resync_fn = NULL;
	resync_arg = NULL;
}
