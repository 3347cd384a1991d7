/* Plain Docker mode: containers (no swarm) and their labels and addresses
 * from GET /containers/json, turned into the service model. A container is
 * a service with one task; the containers of one Compose service (same
 * com.docker.compose.project and com.docker.compose.service) are one
 * service with a task each, as Compose users think of them.
 *
 * Loaders follow the convention of swarm.h: a malformed entry is skipped
 * and logged, an unusable document is refused and the state kept.
 */
#ifndef DISCOVERY_CONTAINERS_H
#define DISCOVERY_CONTAINERS_H

#include <stddef.h>
#include <stdint.h>

struct model;
struct containers;

struct containers *containers_new(void);
void containers_free(struct containers *c);

/* Replaces the containers with a GET /containers/json answer. */
int containers_load(struct containers *c, const char *json, size_t len, char *err, size_t errlen);

/* Remembers when container <id> started or turned healthy (wall clock ms,
 * from its event), the time its task entered its state.
 */
void containers_note_event(struct containers *c, const char *id, const char *action, int64_t when_ms);

/* The host name reported as the node of every task. */
void containers_set_host(struct containers *c, const char *hostname);

/* Returns a new model (source "docker"), owned by the caller, or NULL when
 * memory is exhausted.
 */
struct model *containers_model(const struct containers *c);

size_t containers_count(const struct containers *c);
uint64_t containers_skipped(const struct containers *c);

#endif
