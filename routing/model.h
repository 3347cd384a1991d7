/* Building, reading and comparing service models. */
#ifndef ROUTING_MODEL_H
#define ROUTING_MODEL_H

#include <stdint.h>
#include "routing/model-t.h"

/* Returns an empty model for provider <source> (a static string), or NULL.
 * The caller owns it and releases it with model_free().
 */
struct model *model_new(const char *source);
void model_free(struct model *m);

/* Copies into <m>'s arena, for providers that fill <m> from state of their
 * own. Each returns NULL for a NULL string or an empty array, and sets
 * *<oom> when memory is exhausted.
 */
const char *model_strdup(struct model *m, const char *s, int *oom);
struct model_label *model_labels_dup(struct model *m, const struct model_label *l, size_t n,
				     int *oom);
struct model_netattach *model_nets_dup(struct model *m, const struct model_netattach *a,
				       size_t n, int *oom);
struct model_port *model_ports_dup(struct model *m, const struct model_port *p, size_t n,
				   int *oom);

/* Returns the value of label <key> of <svc>, or NULL when it is not set. */
const char *model_label(const struct model_service *svc, const char *key);

/* Returns the node of <m> with ID <id> (NULL: none), or NULL. */
const struct model_node *model_node(const struct model *m, const char *id);

/* Whether task <t> of <svc> can serve, or the first reason why not. The
 * one rule for the routing table and for what discovery measures.
 * <reachable> says whether the task can be reached: an address on the
 * service's network, or a virtual IP in front of it.
 */
enum model_unready model_task_ready(const struct model_service *svc, const struct model_task *t,
				    int reachable);

/* A digest of everything <m> says, in order: equal models have equal
 * digests, and a provider hands over a new model only when it differs.
 */
uint64_t model_digest(const struct model *m);

#endif
