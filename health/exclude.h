/* Passive health's rules, as NGINX and Interlock (MKE 3.8.16+) have them
 * per server: <max_fails> failures within <fail_timeout> exclude a task
 * for <fail_timeout>; then it is picked again, and a new failure starts
 * the count again. max_fails 0 disables the checks. Failures that arrive
 * while a task is excluded are of requests sent before: they neither
 * count nor extend the exclusion.
 *
 * Holds only the tasks that failed within their fail_timeout. Pure state:
 * the caller gives the time (wall clock, ms). Main loop only.
 */
#ifndef HEALTH_EXCLUDE_H
#define HEALTH_EXCLUDE_H

#include <stddef.h>
#include <stdint.h>

struct exclude;
struct overlay;

#define EXCLUDE_DEFAULT_MAX_FAILS    1
#define EXCLUDE_DEFAULT_TIMEOUT_MS   10000
#define EXCLUDE_MAX_FAILS            64      /* larger label values are capped */
#define EXCLUDE_MAX_TIMEOUT_MS       3600000 /* fail_timeout of at most an hour */

struct exclude_policy {
	unsigned max_fails;            /* 0: never exclude */
	int64_t fail_timeout_ms;
};

/* Reads the com.docker.lb.max_fails and com.docker.lb.fail_timeout label
 * values (<max_fails>, <fail_timeout>: NULL when absent) into <p>, with
 * NGINX's defaults for what is absent. fail_timeout is NGINX's time
 * syntax: a number with an optional unit ms, s (default), m or h. Returns
 * 0, or -1 with the reason in <err> when a value is malformed (<p> then
 * holds the defaults for it).
 */
int exclude_policy_parse(struct exclude_policy *p, const char *max_fails,
			 const char *fail_timeout, char *err, size_t errlen);

/* Returns an empty set, or NULL when memory is exhausted. */
struct exclude *exclude_new(void);
void exclude_free(struct exclude *x);

/* Records a failure of task <task_id> of <service> at <now_ms>, under
 * policy <p>; <what> says what failed ("SC to 10.0.1.5:80"). Returns 1
 * when the task is excluded from now on, 0 when not (yet), -1 when memory
 * is exhausted.
 */
int exclude_failure(struct exclude *x, const char *service, const char *task_id,
		    const struct exclude_policy *p, int64_t now_ms, const char *what);

/* Excludes task <task_id> of <service> until <until_ms> for <reason>,
 * whatever its failure count (its node stopped answering: suspect.h),
 * under policy <p>. A running exclusion is extended, never shortened.
 * Returns 1 when the task was not excluded before, 0 when it was, -1 when
 * memory is exhausted.
 */
int exclude_force(struct exclude *x, const char *service, const char *task_id,
		  const struct exclude_policy *p, int64_t now_ms, int64_t until_ms,
		  const char *reason);

/* Ends the exclusions due by <now_ms> and forgets failures older than
 * their fail_timeout. Returns the number of exclusions ended.
 */
size_t exclude_expire(struct exclude *x, int64_t now_ms);

/* When the next exclusion ends (wall clock), or 0 when none runs. */
int64_t exclude_next_end(const struct exclude *x);

/* Tasks excluded now. */
size_t exclude_count(const struct exclude *x);

struct exclude_view {
	const char *service;
	const char *task_id;
	const char *reason;            /* "1 failure in 10s (SC to 10.0.1.5:80)" */
	int64_t until_ms;
	uint64_t exclusions;           /* times this task was excluded so far */
};

/* Calls <fn> for each task excluded now. */
void exclude_each(const struct exclude *x, void (*fn)(void *arg, const struct exclude_view *v),
		  void *arg);

/* Returns a new sealed health overlay listing the tasks excluded now, or
 * NULL when memory is exhausted.
 */
struct overlay *exclude_overlay(const struct exclude *x);

#endif
