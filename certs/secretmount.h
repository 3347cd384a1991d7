/* --manage-secrets: the agent mounts the Docker secrets that certificate
 * labels name into its own service, since the Engine API never reveals a
 * secret's data but Swarm gives it to the service's containers as a file.
 *
 * Adding a secret to a service replaces its tasks: with two agents and
 * start-first updates, HAProxy keeps a running agent throughout, so
 * requests do not fail (docs/tls.md has the measurements). Several secrets
 * wanted at once go in one update; secrets no longer used are removed only
 * with the next addition, or after SECRETMOUNT_REMOVE_DELAY_MS, so that a
 * label edit does not restart the agents twice.
 */
#ifndef CERTS_SECRETMOUNT_H
#define CERTS_SECRETMOUNT_H

#include <stddef.h>
#include <stdint.h>
#include "certs/swarmobj.h"

struct ev_loop;
struct dockerapi;
struct secretmount;

#define SECRETMOUNT_DEBOUNCE_MS      2000
#define SECRETMOUNT_REMOVE_DELAY_MS  60000

/* Returns a manager of the secrets of service <service> (name or ID)
 * through <api> (which must allow writes), or NULL when memory is
 * exhausted.
 */
struct secretmount *secretmount_new(struct ev_loop *loop, struct dockerapi *api,
				    const char *service);
void secretmount_free(struct secretmount *m);

/* The secrets the agent needs now (copied): those with an ID are mounted
 * if they are not; those without are kept if they are; managed secrets
 * missing from the list are removed in time.
 */
void secretmount_want(struct secretmount *m, const struct swarmobj_secret *want, size_t n);

struct secretmount_status {
	const char *service;
	const char *state;          /* "idle", "waiting", "updating", "failed" */
	const char *last_error;     /* "" when none */
	int64_t last_update_ms;     /* wall clock of the last service update sent, 0 if none */
	uint64_t updates;
};
void secretmount_status(const struct secretmount *m, struct secretmount_status *st);

#endif
