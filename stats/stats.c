/* The stats socket and the metrics listener, started and stopped as one. */
#include <stdio.h>

#include "stats/httpd.h"
#include "stats/server.h"
#include "stats/stats.h"
#include "stats/threadload.h"

static int stats_running;

int stats_start(struct ev_loop *loop, const struct stats_opts *o, char *err, size_t errlen)
{
	if (server_start(loop, o->socket_path, o->socket_mode ? o->socket_mode : 0600,
			 o->tcp_listen, o->allow_remote, err, errlen) < 0)
		return -1;
	if (o->metrics_listen && httpd_start(loop, o->metrics_listen, err, errlen) < 0) {
		server_stop();
		return -1;
	}
	threadload_start(loop);
	stats_running = 1;
	return 0;
}

void stats_stop(void)
{
	if (!stats_running)
		return;
	threadload_stop();
	httpd_stop();
	server_stop();
	stats_running = 0;
}
