/* The agent process: wires options, tables, workers, listeners, discovery,
 * the certificate and network managers and the stats socket around the main
 * event loop. The only code that knows every part.
 */
#ifndef DAEMON_AGENT_H
#define DAEMON_AGENT_H

struct options;

/* Runs the agent until SIGTERM/SIGINT. Returns the process exit status. */
int agent_run(const struct options *o);

#endif
