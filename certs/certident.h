/* Certificate identities: what one certificate the labels ask for is made
 * of, whether its material is usable, and what the set pushed to HAProxy
 * says of it. A change of state is logged once, and a refusal listed in
 * "show errors". Main loop only.
 */
#ifndef CERTS_CERTIDENT_H
#define CERTS_CERTIDENT_H

#include <stddef.h>
#include "certs/certident-t.h"

struct arena;
struct certblob_store;
struct certset_item;
struct sbuf;

/* Frees what <id> holds and zeroes it. */
void certident_clear(struct certident *id);

/* Sets the state of <id> and its reason (NULL: none), and reports a change.
 * Returns whether anything changed.
 */
int certident_set(struct certident *id, enum certident_state st, const char *reason);

/* Makes <id> from the material <cert> and <key> (NULL: in the
 * certificate's text) of versions <cv> and <kv>: the same versions as last
 * time are not parsed again, only checked for expiry. Returns whether the
 * state changed.
 */
int certident_build(struct certident *id, const struct sbuf *cert, const struct sbuf *key,
		    unsigned cv, unsigned kv);

/* Brings <id> up to date with its blobs in <s>. <secrets_dir>: the files
 * are Docker secrets mounted into the agent, and are shown as such.
 * Returns whether it changed.
 */
int certident_evaluate(struct certident *id, struct certblob_store *s, int secrets_dir);

/* HAProxy refused the material of <id> for <reason>: every HAProxy would.
 * It stays refused until its material changes.
 */
void certident_refuse(struct certident *id, const char *reason);

/* Moves what <old> learnt (material, state, refusals) into <id>, a new
 * identity of the same name.
 */
void certident_take(struct certident *id, struct certident *old);

/* Returns the identity named <name> among the <n> at <ids>, sorted by
 * name, or NULL.
 */
struct certident *certident_find(struct certident *ids, size_t n, const char *name);

/* The name of the certificate that <cert> and <key> make, into <buf>. */
void certident_name(char *buf, size_t len, const char *cert, const char *key);

/* Fills item <it> of a certificate set (its strings in <a>) from <id>.
 * Returns 0, or -1 when memory is exhausted.
 */
int certident_fill_item(const struct certident *id, struct arena *a, struct certset_item *it);

/* The directory of the HAProxy paths of the certificate named <name>,
 * CERTSET_PREFIX "<name>/" with each ':' made a '=' (HAProxy's "del ssl
 * crt-list" reads what follows a ':' as a line number), into <buf>.
 */
void certident_dir(const char *name, char *buf, size_t len);

const char *certident_state_name(enum certident_state st);

#endif
