/* A line of HAProxy's ring of failed requests (haproxy-conf: ring
 * swarm-failures), as the agents read it.
 */
#ifndef HEALTH_FAILLINE_T_H
#define HEALTH_FAILLINE_T_H

#include <stddef.h>
#include <stdint.h>
#include "common/netaddr-t.h"

#define FAILLINE_SERVICE_MAX 128

struct failline {
	char service[FAILLINE_SERVICE_MAX]; /* txn.route.service */
	struct netaddr dst;                 /* txn.route.ip */
	uint16_t port;                      /* txn.route.port */
	int status;                         /* %ST: the status sent to the client */
	char ts[3];                         /* %ts: the two-letter termination state */
};

#endif
