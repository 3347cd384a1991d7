/* The outputs of "show info", "show stats", "show errors" and "show conns",
 * as "key: value" text or aligned columns for people, JSON for scripts,
 * and the stepping of the routing table's listings.
 */
#ifndef STATS_SHOW_H
#define STATS_SHOW_H

struct commands_run;
struct sbuf;

/* Appends the whole answer to <out>. */
void show_info(struct sbuf *out, int json);
void show_stats(struct sbuf *out, int json);
/* "show certs": the certificate manager's listing, or an error when the
 * agent pushes no certificates.
 */
void show_certs(struct sbuf *out, int json);
/* "show networks": the network manager's state, or an error when the agent
 * does not manage the proxy's networks.
 */
void show_networks(struct sbuf *out, int json);

/* Step functions of commands_run_step() (same contract): the listing is
 * copied once, then printed a bounded number of rows per call.
 */
int show_errors_step(struct commands_run *run, struct sbuf *out);
int show_conns_step(struct commands_run *run, struct sbuf *out);

/* "show routes", "show services" and "show tasks": the current table is
 * held by the first step and printed a few hundred rows per step, then
 * released by the last one (or by commands_run_end()).
 */
int show_table_step(struct commands_run *run, struct sbuf *out);

#endif
