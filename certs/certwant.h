/* Which certificates a routing table asks for: those that the routed
 * services name in their ssl_cert / ssl_key labels (TLS passthrough
 * services terminate TLS themselves and ask for none), each with the hosts
 * of every service using it. Labels are read from the table's service
 * view, as routing parsed them.
 */
#ifndef CERTS_CERTWANT_H
#define CERTS_CERTWANT_H

#include <stddef.h>
#include <stdint.h>

struct certident;
struct rtable;

/* A digest of what certificates <t> asks for: most tables differ from the
 * last one only in tasks, and then nothing has to be done.
 */
uint64_t certwant_hash(const struct rtable *t);

/* Makes the identities <t> asks for, sorted by name, into <*ids> (<*n> of
 * them, malloc'd; release each with certident_clear()): names, hosts and
 * services, no material yet. An identity whose label names no usable
 * object (an unknown kind, a name that is not a Docker name) has
 * <bad_reason> set. Returns 0, or -1 when memory is exhausted.
 */
int certwant_idents(const struct rtable *t, struct certident **ids, size_t *n);

#endif
