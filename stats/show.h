/* The outputs of "show info" and "show errors", as "key: value" text or
 * aligned columns for people, JSON for scripts, the stepping of the routing
 * table's listings, and the answers of the registered sources.
 */
#ifndef STATS_SHOW_H
#define STATS_SHOW_H

struct commands_run;
struct sbuf;

/* Appends the whole "show info" answer to <out>. */
void show_info(struct sbuf *out, int json);

/* Step functions of commands_run_step() (same contract): the listing is
 * copied once, then printed a bounded number of rows per call.
 */
int show_errors_step(struct commands_run *run, struct sbuf *out);

/* "show stats", "show conns", "show certs", "show networks": the answer of
 * the registered source of that name, or an error when there is none.
 */
int show_source_step(struct commands_run *run, struct sbuf *out);

/* "show routes", "show services" and "show tasks": the current table is
 * held by the first step and printed a few hundred rows per step, then
 * released by the last one (or by commands_run_end()).
 */
int show_table_step(struct commands_run *run, struct sbuf *out);

#endif
