/* The Docker objects the certificate manager reads and writes through the
 * Engine API: configs (their data: certificates can be read from them),
 * secrets (only whether one exists: the API never reveals their data) and
 * the agent's own service (the secrets mounted into it, --manage-secrets).
 *
 * Each function reads one answer of the Engine API (JSON from the daemon,
 * or from whatever answers on its socket: any bytes are taken) and returns
 * 1 (found), 0 (not there) or -1 with the reason in <err>.
 */
#ifndef CERTS_SWARMOBJ_H
#define CERTS_SWARMOBJ_H

#include <stddef.h>
#include <stdint.h>

struct sbuf;

/* The label of the agent's service listing the secrets the agent mounted
 * itself (comma-separated names): only those are ever removed.
 */
#define SWARMOBJ_MANAGED_LABEL "swarm-spoa.managed-secrets"

/* GET /configs?filters={"name":[<name>]}: decodes the data of the config
 * named exactly <name> (the filter matches more) into <out>.
 */
int swarmobj_config_data(const char *json, size_t len, const char *name, struct sbuf *out,
			 char *err, size_t errlen);

/* GET /secrets?filters={"name":[<name>]}: copies the ID of the secret
 * named exactly <name> into <id>.
 */
int swarmobj_secret_id(const char *json, size_t len, const char *name, char *id, size_t idlen,
		       char *err, size_t errlen);

struct swarmobj_secret {
	const char *name;
	const char *id;          /* NULL: only keep it if it is mounted already */
};

/* Who the mounted files belong to: the agent's own user and group. */
struct swarmobj_owner {
	unsigned uid, gid;
};

/* GET /services/{id}: writes into <spec> the service's spec where the
 * secrets the agent manages (SWARMOBJ_MANAGED_LABEL) are those of the <n>
 * of <want> that are mounted already or have an ID, each mounted as a file
 * named after the secret, owned by <owner>, mode 0400 (only the agent
 * reads it); secrets mounted already and those the operator mounted are kept
 * as they are. Sets <id> and <version> for the update call, and how many
 * secrets the new spec adds and removes.
 * Returns 1 when the spec changes, 0 when it already mounts exactly those.
 */
int swarmobj_service_secrets(const char *json, size_t len, const struct swarmobj_secret *want,
			     size_t n, const struct swarmobj_owner *owner, struct sbuf *spec, char *id, size_t idlen,
			     uint64_t *version, unsigned *added, unsigned *removed,
			     char *err, size_t errlen);

#endif
