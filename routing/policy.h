/* The operator's ownership policy file: parsing and questions the table
 * build asks of it. The format is in docs/security.md.
 */
#ifndef ROUTING_POLICY_H
#define ROUTING_POLICY_H

#include <stddef.h>
#include "routing/policy-t.h"

#define POLICY_FILE_MAX  (1024 * 1024)  /* bytes of a policy file */
#define POLICY_LINE_MAX  4096
#define POLICY_OWNERS_MAX 64            /* owners on one line */

/* Parses the <len> bytes at <text>. Returns a new policy owned by the
 * caller (release with policy_free()), or NULL with "line N: reason" in
 * <err>: a file with one bad line is refused as a whole.
 */
struct policy *policy_parse(const char *text, size_t len, char *err, size_t errlen);

/* Same for the file at <path> (at most POLICY_FILE_MAX bytes). */
struct policy *policy_load(const char *path, char *err, size_t errlen);

void policy_free(struct policy *p);

/* Returns the most specific host rule covering <host> (a normalised name,
 * "*.domain" for a wildcard), or NULL when the policy says nothing of it.
 */
const struct policy_host *policy_host_rule(const struct policy *p, const char *host);

/* Returns 1 when <owner> is among <o> (or <o> holds "*"), else 0. */
int policy_owner_in(const struct policy_owners *o, const char *owner);

/* Returns the first secret rule whose name or prefix matches <name>, or
 * NULL.
 */
const struct policy_secret *policy_secret_rule(const struct policy *p, const char *name);

/* Returns the first network rule whose name or prefix matches network
 * <name>, or NULL.
 */
const struct policy_network *policy_network_rule(const struct policy *p, const char *name);

#endif
