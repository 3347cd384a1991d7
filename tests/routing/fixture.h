/* Test fixtures for the routing tests: service models built in a few
 * lines, and requests.
 */
#ifndef TESTS_ROUTING_FIXTURE_H
#define TESTS_ROUTING_FIXTURE_H

#include <stdint.h>
#include "routing/model-t.h"
#include "routing/rtable.h"

#define FX_MAX_SERVICES 64
#define FX_MAX_LABELS   32
#define FX_MAX_TASKS    64

/* A model of source "file" with room for FX_MAX_SERVICES services. */
struct model *fx_model(void);

/* Adds service <name> created at <created_ms>, with the labels given as
 * "key=value" strings ("com.docker.lb." may be written "lb.") ending with
 * NULL.
 */
struct model_service *fx_service(struct model *m, const char *name, int64_t created_ms, ...)
	__attribute__((sentinel));

/* Sets label <key> (full name) to <value>, which may hold any byte. */
void fx_label(struct model *m, struct model_service *s, const char *key, const char *value);

/* Adds a running, healthy-enough task <id> at <addr> on <network> (NULL:
 * an attachment that matches any network), with its own <port> (0: the
 * label port).
 */
struct model_task *fx_task(struct model *m, struct model_service *s, const char *id,
			   const char *addr, uint16_t port, const char *network);

/* Adds an attachment to another network to task <t>. */
void fx_task_net(struct model *m, struct model_task *t, const char *addr, const char *network);

/* Task <t> publishes <target> as <published> (TCP) in host mode on node
 * <node_id>; it keeps no network attachment.
 */
void fx_task_host_port(struct model *m, struct model_task *t, const char *node_id,
		       uint16_t target, uint16_t published);

/* Adds swarm node <id> at Status.Addr <addr> (a manager's ManagerStatus.Addr
 * host <manager>, or NULL), kept sorted by ID.
 */
struct model_node *fx_node(struct model *m, const char *id, const char *addr, const char *manager);

/* Adds a virtual IP on <network>. */
void fx_vip(struct model *m, struct model_service *s, const char *addr, const char *network);

/* Builds a table from <m> (and frees nothing). */
struct rtable *fx_build(const struct model *m, unsigned nworkers, const char *cluster);

/* Fills <r> for a plain-HTTP request to <host><path>. */
void fx_req(struct route_req *r, const char *host, const char *path);

/* Routes <host><path> on worker 0 and returns the answer. */
struct route_answer fx_route(const struct rtable *t, const char *host, const char *path);

/* Returns the status and reason of service <name>. */
enum rtable_svc_status fx_status(const struct rtable *t, const char *name, const char **reason);

#endif
