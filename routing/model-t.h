/* The neutral service model: what a provider (the static routes file, the
 * Docker watcher) knows about services and their tasks, before any label is
 * interpreted. Providers fill it; rtable_build() reads it.
 *
 * All strings and arrays of one model live in the model's arena.
 */
#ifndef ROUTING_MODEL_T_H
#define ROUTING_MODEL_T_H

#include <stddef.h>
#include <stdint.h>
#include "common/netaddr.h"

struct arena;

enum model_health {
	MODEL_HEALTH_NONE = 0,   /* no health check: counts as healthy */
	MODEL_HEALTH_STARTING,
	MODEL_HEALTH_HEALTHY,
	MODEL_HEALTH_UNHEALTHY,
};

/* An address of a task (or a virtual IP of a service) on one network. */
struct model_netattach {
	const char *network;     /* network name, e.g. "app_default"; NULL: any network */
	const char *network_id;  /* Docker network ID, or NULL */
	struct netaddr addr;
};

struct model_label {
	const char *key;
	const char *value;
};

struct model_task {
	const char *id;            /* Docker task ID, container ID or a file-given name */
	const char *node;          /* node ID or host name, NULL when unknown */
	const char *state;         /* current state as Docker spells it ("running", ...) */
	int running;               /* current state is running */
	int desired_running;       /* desired state is running */
	enum model_health health;
	uint16_t port;             /* 0: use the service's com.docker.lb.port */
	int64_t state_since_ms;    /* wall clock when the task entered its state, 0 if unknown */
	size_t nnets;
	struct model_netattach *nets;
};

struct model_service {
	const char *id;            /* Docker service or container ID; file: the name */
	const char *name;
	const char *stack;         /* com.docker.stack.namespace, or NULL */
	int has_healthcheck;       /* tasks must also be healthy to serve */
	int64_t created_ms;        /* creation time (wall clock), 0 if unknown */
	size_t nlabels;
	struct model_label *labels;
	size_t nvips;              /* virtual IPs, one per network (swarm services) */
	struct model_netattach *vips;
	size_t ntasks;
	struct model_task *tasks;
};

/* One provider's complete view, replaced as a whole on every change. */
struct model {
	struct arena *arena;       /* owns everything below */
	const char *source;        /* "file", "swarm", "docker" */
	size_t nsvcs;
	struct model_service *svcs;
};

#endif
