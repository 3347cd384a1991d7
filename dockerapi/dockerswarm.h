/* Readers of the swarm's objects as the Engine API lists them: services,
 * tasks, nodes and networks, one object at a time (dockerobj_list() walks
 * the lists). They keep what the service model needs, in the caller's
 * arena, and join nothing: a task's service, a VIP's network name, a
 * task's node are the caller's business.
 *
 * Each reader consumes one value and returns 0, with <*reason> set when the
 * object is not usable (not an object, a field of the wrong type, a
 * required field missing), or -1 on a syntax error.
 */
#ifndef DOCKERAPI_DOCKERSWARM_H
#define DOCKERAPI_DOCKERSWARM_H

#include <stddef.h>
#include <stdint.h>
#include "routing/model-t.h"

struct arena;
struct jscan;

struct dockerswarm_service {
	const char *id;
	const char *name;               /* Spec.Name */
	int64_t created_ms;             /* CreatedAt, wall clock; 0 when unknown */
	int has_healthcheck;            /* Spec.TaskTemplate.ContainerSpec.Healthcheck */
	int replicated;                 /* Spec.Mode.Replicated: the replica count is known */
	int64_t replicas;
	int updating;                   /* UpdateStatus: a rolling update or rollback runs */
	size_t nlabels;                 /* Spec.Labels */
	struct model_label *labels;
	size_t nvips;                   /* Endpoint.VirtualIPs: network IDs, no names */
	struct model_netattach *vips;
	size_t nports;                  /* Endpoint.Ports */
	struct model_port *ports;
};

/* Requires ID and Spec.Name. */
int dockerswarm_service(struct jscan *s, struct arena *a, struct dockerswarm_service *out,
			const char **reason);

struct dockerswarm_task {
	const char *id;
	const char *service_id;         /* NULL when absent */
	const char *node_id;            /* NULL until scheduled */
	const char *state;              /* Status.State */
	const char *desired;            /* DesiredState, "" when absent */
	int64_t since_ms;               /* Status.Timestamp, wall clock; 0 when unknown */
	size_t nnets;                   /* NetworksAttachments, one per address */
	struct model_netattach *nets;
	size_t nports;                  /* Status.PortStatus.Ports: published in host mode */
	struct model_port *ports;
};

/* Requires ID and Status.State. */
int dockerswarm_task(struct jscan *s, struct arena *a, struct dockerswarm_task *out,
		     const char **reason);

/* Requires ID; an address that is not one is left unset (family 0). */
int dockerswarm_node(struct jscan *s, struct arena *a, struct model_node *out,
		     const char **reason);

struct dockerswarm_network {
	const char *id;
	const char *name;               /* NULL when absent */
};

/* Requires Id. */
int dockerswarm_network(struct jscan *s, struct arena *a, struct dockerswarm_network *out,
			const char **reason);

#endif
