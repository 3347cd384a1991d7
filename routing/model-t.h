/* The neutral service model: what a provider (the static routes file, the
 * Docker watcher) knows about services, their tasks and the nodes they run
 * on, before any label is interpreted. Providers fill it; rtable_build()
 * reads it.
 *
 * All strings and arrays of one model live in the model's arena.
 */
#ifndef ROUTING_MODEL_T_H
#define ROUTING_MODEL_T_H

#include <stddef.h>
#include <stdint.h>
#include "common/netaddr-t.h"

struct arena;

enum model_health {
	MODEL_HEALTH_NONE = 0,   /* no health check: counts as healthy */
	MODEL_HEALTH_STARTING,
	MODEL_HEALTH_HEALTHY,
	MODEL_HEALTH_UNHEALTHY,
};

/* Whether a task can serve, and if not the first reason why, in the order
 * model_task_ready() checks them.
 */
enum model_unready {
	MODEL_TASK_READY = 0,
	MODEL_TASK_NOT_RUNNING,    /* current state is not running */
	MODEL_TASK_STOPPING,       /* desired state is not running */
	MODEL_TASK_NO_ADDRESS,     /* no address to reach it at */
	MODEL_TASK_STARTING,       /* health check has not passed yet */
	MODEL_TASK_UNHEALTHY,
	MODEL_TASK_UNREADY_KINDS
};

/* An address of a task (or a virtual IP of a service) on one network. */
struct model_netattach {
	const char *network;     /* network name, e.g. "app_default"; NULL: any network */
	const char *network_id;  /* Docker network ID, or NULL */
	struct netaddr addr;
};

enum model_proto {
	MODEL_PROTO_TCP = 0,
	MODEL_PROTO_UDP,
	MODEL_PROTO_SCTP,
};

enum model_publish {
	MODEL_PUBLISH_INGRESS = 0, /* on every node, through the routing mesh */
	MODEL_PUBLISH_HOST,        /* on the node that runs the task only */
};

/* A port published by a service or a task (Docker's PortConfig). */
struct model_port {
	uint16_t target;           /* TargetPort: the port inside the container */
	uint16_t published;        /* PublishedPort: on the node or the mesh, 0 if none */
	enum model_proto protocol;
	enum model_publish mode;
};

struct model_label {
	const char *key;
	const char *value;
};

struct model_task {
	const char *id;            /* Docker task ID, container ID or a file-given name */
	const char *node;          /* node host name (or ID when unknown), NULL when unknown */
	const char *node_id;       /* swarm node ID (see model_node()), NULL outside a swarm */
	const char *state;         /* current state as Docker spells it ("running", ...) */
	int running;               /* current state is running */
	int desired_running;       /* desired state is running */
	enum model_health health;
	uint16_t port;             /* 0: use the service's com.docker.lb.port */
	int64_t state_since_ms;    /* wall clock when the task entered its state, 0 if unknown */
	size_t nnets;
	struct model_netattach *nets;
	size_t nports;             /* ports this task publishes in host mode on its node */
	struct model_port *ports;
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
	size_t nports;             /* published ports (Endpoint.Ports), both modes */
	struct model_port *ports;
	size_t ntasks;
	struct model_task *tasks;
};

enum model_node_state {
	MODEL_NODE_UNKNOWN = 0,
	MODEL_NODE_READY,
	MODEL_NODE_DOWN,
	MODEL_NODE_DISCONNECTED,
};

enum model_node_avail {
	MODEL_AVAIL_UNKNOWN = 0,
	MODEL_AVAIL_ACTIVE,
	MODEL_AVAIL_PAUSE,         /* keeps its tasks, gets no new ones */
	MODEL_AVAIL_DRAIN,         /* its tasks move away */
};

enum model_node_role {
	MODEL_ROLE_UNKNOWN = 0,
	MODEL_ROLE_WORKER,
	MODEL_ROLE_MANAGER,
};

/* A node of the swarm: where host-mode ports of its tasks are reached. */
struct model_node {
	const char *id;
	const char *hostname;      /* Description.Hostname, NULL when unknown */
	struct netaddr addr;       /* Status.Addr; family 0 when unknown */
	struct netaddr manager_addr; /* ManagerStatus.Addr's host (managers only):
				      * Status.Addr of a manager can be 0.0.0.0 */
	enum model_node_state state;
	enum model_node_avail availability;
	enum model_node_role role;
};

/* One provider's complete view, replaced as a whole on every change. */
struct model {
	struct arena *arena;       /* owns everything below */
	const char *source;        /* "file", "swarm", "docker" */
	size_t nsvcs;
	struct model_service *svcs;
	size_t nnodes;             /* swarm nodes, sorted by ID; none outside a swarm */
	struct model_node *nodes;
};

#endif
