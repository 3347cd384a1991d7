/* Reading the lines of HAProxy's ring of failed requests. The log-format
 * (haproxy-conf/haproxy.cfg) ends with four tokens the agent reads from
 * the end of the line, since the request line and captured headers before
 * them may hold anything:
 *
 *     ... route=<service> dst=<ip>:<port> st=<status> ts=<termination state>
 *
 * Only three termination states are failures of the destination: SC (the
 * connection was refused or failed), sC (connect timeout) and SH (the
 * server closed or reset the connection before any response). Nothing
 * else counts: not the application's own 4xx/5xx (state "--"), not a
 * client's abort or slowness (C* and c* states), and not sH (server
 * timeout), which HAProxy 2.6 also reports for a client that stalls its
 * upload.
 */
#ifndef HEALTH_FAILLINE_H
#define HEALTH_FAILLINE_H

#include <stddef.h>
#include "health/failline-t.h"

/* Reads the <len> bytes of <line> (any bytes, no terminator needed) into
 * <fl>. Returns 1 when the line is a failure of its destination, 0 when it
 * is a well-formed line that is not (or that no route answered: route=-),
 * -1 when it does not end with the four tokens.
 */
int failline_parse(const char *line, size_t len, struct failline *fl);

#endif
