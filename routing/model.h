/* Building and releasing service models. */
#ifndef ROUTING_MODEL_H
#define ROUTING_MODEL_H

#include "routing/model-t.h"

/* Returns an empty model for provider <source> (a static string), or NULL.
 * The caller owns it and releases it with model_free().
 */
struct model *model_new(const char *source);
void model_free(struct model *m);

/* Returns the value of label <key> of <svc>, or NULL when it is not set. */
const char *model_label(const struct model_service *svc, const char *key);

#endif
