/* The host ledger: which owner (a stack, or "service:NAME" for a service
 * outside any stack) claimed each host first, and since when it has been
 * gone. The table build reads the previous ledger and makes the next one;
 * the agent keeps it in a file so that a restart, or another agent reading
 * the same file, hands no host to a newcomer. Format: docs/security.md.
 */
#ifndef ROUTING_LEDGER_H
#define ROUTING_LEDGER_H

#include <stddef.h>
#include <stdint.h>

struct sbuf;
struct ledger;

/* The ledger's name for the default backend: not a valid host name. */
#define LEDGER_DEFAULT   "default_backend"
#define LEDGER_FILE_MAX  (64 * 1024 * 1024)
#define LEDGER_OWNER_MAX 140     /* "service:" and a Docker name */

struct ledger_entry {
	const char *host;        /* normalised host, "*.domain", or LEDGER_DEFAULT */
	const char *owner;
	int64_t since_ms;        /* wall clock of the first claim */
	int64_t missing_ms;      /* wall clock since which no service of the owner
				  * claims it; 0 while one does */
};

/* Returns an empty ledger, or NULL when memory is exhausted. */
struct ledger *ledger_new(void);
void ledger_free(struct ledger *l);

/* Adds <e> (its strings are copied), replacing an entry of the same host.
 * Returns 0, or -1 when memory is exhausted.
 */
int ledger_put(struct ledger *l, const struct ledger_entry *e);

/* Returns the entry of <host>, or NULL. */
const struct ledger_entry *ledger_get(const struct ledger *l, const char *host);

/* The entries in the order they were put, for i < ledger_count(). A
 * replaced entry keeps its place.
 */
size_t ledger_count(const struct ledger *l);
const struct ledger_entry *ledger_at(const struct ledger *l, size_t i);

/* Appends the file form of <l> to <out>, one entry per line sorted by
 * host, so that two agents with the same ledger write the same bytes.
 */
void ledger_format(const struct ledger *l, struct sbuf *out);

/* Parses the file form. Returns a new ledger owned by the caller, or NULL
 * with "line N: reason" in <err>: a file with one bad line is refused as a
 * whole (a half-read ledger would hand hosts over).
 */
struct ledger *ledger_parse(const char *text, size_t len, char *err, size_t errlen);

#endif
