/* Building and reading a health overlay (overlay-t.h). */
#ifndef ROUTING_OVERLAY_H
#define ROUTING_OVERLAY_H

#include <stddef.h>
#include <stdint.h>
#include "routing/overlay-t.h"

/* Returns an empty overlay owned by the caller, or NULL when memory is
 * exhausted.
 */
struct overlay *overlay_new(void);

/* Frees <ov> and its strings. NULL is accepted. */
void overlay_free(struct overlay *ov);

/* Adds task <task_id>, excluded until <until_ms> (wall clock) for
 * <reason>; both strings are copied. Returns 0, or -1 when memory is
 * exhausted (<ov> is unchanged).
 */
int overlay_add(struct overlay *ov, const char *task_id, const char *reason, int64_t until_ms);

/* Sorts the tasks for overlay_find(); a task added twice keeps the later
 * end of its exclusions. Call once, after the last overlay_add().
 */
void overlay_seal(struct overlay *ov);

/* The entry of task <task_id> in the sealed <ov> (NULL accepted), or NULL. */
const struct overlay_task *overlay_find(const struct overlay *ov, const char *task_id);

#endif
