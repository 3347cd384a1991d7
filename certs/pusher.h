/* One HAProxy, kept serving a certificate set through its runtime API.
 *
 * A sync reads what HAProxy holds (the crt-list's lines and the
 * certificate store), plans what differs from the set, and runs the plan
 * one command at a time: a certificate goes in as "new ssl cert", "set ssl
 * cert" (the PEM as payload), "show ssl cert *<path>" (not expired, and the
 * transaction holds what was sent), "commit ssl cert", "show ssl cert" (HAProxy
 * holds it), then "add ssl crt-list" with its SNI filters; a certificate
 * that leaves goes out as "del ssl crt-list" then "del ssl cert", after
 * PUSHER_GRACE_MS, and only once the certificate that replaces it for its
 * hosts is served (make before break; a refused replacement leaves the
 * last good one). Paths name the content, so a push is idempotent and two
 * agents pushing the same set converge instead of fighting.
 *
 * Syncs run when the set changes and every PUSHER_CHECK_MS, which is how a
 * restarted HAProxy (whose runtime changes are gone) gets its certificates
 * back. Main loop only.
 */
#ifndef CERTS_PUSHER_H
#define CERTS_PUSHER_H

#include <stddef.h>
#include <stdint.h>
#include "certs/pusher-t.h"

struct ev_loop;
struct certset;
struct haproxy_cli_addr;
struct pusher;

#define PUSHER_CHECK_MS        2000    /* a synced HAProxy is checked this often */
#define PUSHER_GRACE_MS        2000    /* an unwanted entry is removed after this long */
#define PUSHER_CMD_TIMEOUT_MS  5000

struct pusher_hooks {
	/* HAProxy refused the material at <path> for <reason> (the key does
	 * not match, not a certificate, expired): every HAProxy would. */
	void (*refused)(void *arg, const char *path, const char *reason);
};

/* Returns a pusher for the runtime API at <addr> (copied), working on the
 * crt-list <crt_list> (NULL: the only one HAProxy has), or NULL when
 * memory is exhausted. Nothing is sent before pusher_update().
 */
struct pusher *pusher_new(struct ev_loop *loop, const struct haproxy_cli_addr *addr,
			  const char *crt_list, const struct pusher_hooks *hooks, void *arg);

/* Stops any command in flight and frees <p>. */
void pusher_free(struct pusher *p);

/* Makes <set> the one to serve (a reference is taken) and syncs as soon
 * as no sync is running.
 */
void pusher_update(struct pusher *p, struct certset *set);

struct pusher_counters {
	uint64_t syncs;            /* complete syncs */
	uint64_t commands;         /* runtime API commands sent */
	uint64_t failures;         /* commands without an answer, pushes that failed */
	uint64_t pushed;           /* certificates added or replaced */
	uint64_t removed;          /* crt-list lines removed */
};

struct pusher_status {
	const char *target;        /* the runtime API address */
	const char *state;         /* "pending", "syncing", "synced", "degraded", "unreachable" */
	const char *last_error;    /* "" when the last sync went well */
	const char *crt_list;      /* the crt-list used, "" until known */
	int64_t last_sync_ms;      /* wall clock of the last complete sync, 0 if none */
	struct pusher_counters n;
};
void pusher_status(const struct pusher *p, struct pusher_status *st);

/* The state of item <i> of the set last given to pusher_update() on this
 * HAProxy (<i> == set->n: the default certificate), with the reason of a
 * refusal or failure in <*reason> ("" otherwise).
 */
enum pusher_item_state pusher_item(const struct pusher *p, size_t i, const char **reason);

const char *pusher_item_state_name(enum pusher_item_state st);

#endif
