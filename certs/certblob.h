/* The blob store: every name certificates use, with its material, found
 * where its kind (routing/certref.h) says and nowhere else: a secret in
 * its mount under --certs-dir, or through the Docker Engine API whether it
 * exists (the agent can only have it mounted); a config through the
 * Engine API (read); a file under --certs-dir. Lookups run on the main
 * loop, at most CERTBLOB_MAX_LOOKUPS at a time. Main loop only.
 */
#ifndef CERTS_CERTBLOB_H
#define CERTS_CERTBLOB_H

#include <stddef.h>
#include <stdint.h>
#include "certs/certblob-t.h"
#include "routing/certref-t.h"

struct dockerapi;
struct secretmount;

#define CERTBLOB_MAX_LOOKUPS  8          /* Docker lookups in flight */
#define CERTBLOB_RETRY_MS     10000      /* a name found nowhere is looked for again */

struct certblob_opts {
	const char *certs_dir;
	struct dockerapi *api;           /* configs and secrets; NULL: files only */
	/* --manage-secrets: the agent's own service, which the secrets in use
	 * get mounted into (named in the reasons); NULL: not managed */
	const char *mount_service;
	/* A lookup ended: the state of a blob changed. */
	void (*changed)(void *arg);
	void *arg;
};

/* Returns an empty store (<o> is copied, its strings borrowed), or NULL
 * when memory is exhausted.
 */
struct certblob_store *certblob_store_new(const struct certblob_opts *o);

/* Cancels the lookups and frees <s>. NULL is accepted. */
void certblob_store_free(struct certblob_store *s);

/* Returns the blob of <name> of kind <kind>, made if unknown, and marks it
 * used until the next certblob_recheck(). A new one is read or looked for
 * at once. NULL when memory is exhausted.
 */
struct certblob *certblob_use(struct certblob_store *s, enum certref_kind kind, const char *name);

/* Starts the lookups that wait for a free slot. */
void certblob_start_queued(struct certblob_store *s);

/* The tick: a file that changed or appeared is read again, a name found
 * nowhere is looked for again after CERTBLOB_RETRY_MS, and blobs no longer
 * used are forgotten. <now_ms> is monotonic.
 */
void certblob_recheck(struct certblob_store *s, int64_t now_ms);

/* Tells <mount> the secrets in use: those still to mount, and those
 * mounted (files) that must stay.
 */
void certblob_want_secrets(const struct certblob_store *s, struct secretmount *mount);

/* "file", "config", "secret", or "-" while unknown. */
const char *certblob_source(const struct certblob *b);

#endif
