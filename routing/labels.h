/* Parsing and validation of the com.docker.lb.* labels of one service. */
#ifndef ROUTING_LABELS_H
#define ROUTING_LABELS_H

#include <stddef.h>
#include "routing/labels-t.h"
#include "routing/model-t.h"

struct arena;

/* Sets <spec> to what a service with no com.docker.lb.* label gets. */
void labels_init(struct labels_spec *spec);

/* Parses the labels of <svc> into <spec>, with every string and array
 * allocated in <a>. Unknown com.docker.lb.* labels are ignored; labels
 * outside that prefix are not looked at.
 *
 * Returns 0 when the labels are valid (a service with no
 * com.docker.lb.hosts label is valid and has spec->nhosts == 0), or -1 with
 * a one-line reason in <err> (<errlen> bytes) naming the label at fault.
 * Whether the port is required is left to the caller: only it knows
 * whether every task carries its own port.
 */
int labels_parse(const struct model_service *svc, struct arena *a,
		 struct labels_spec *spec, char *err, size_t errlen);

/* Parses a boolean label value: "true"/"false" in any case, "1"/"0".
 * Returns 0 or 1, or -1 when <s> is neither.
 */
int labels_bool(const char *s);

#endif
