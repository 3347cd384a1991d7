/* Placeholder until the stats socket lands. */
#include "stats/stats.h"

int stats_start(struct ev_loop *loop, const struct stats_opts *o, char *err, size_t errlen)
{
	(void)loop;
	(void)o;
	(void)err;
	(void)errlen;
	return 0;
}

void stats_stop(void)
{
}
