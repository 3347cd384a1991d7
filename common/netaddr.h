/* Parsing, printing, comparing and hashing IPv4/IPv6 addresses
 * (struct netaddr, netaddr-t.h).
 */
#ifndef COMMON_NETADDR_H
#define COMMON_NETADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/netaddr-t.h"

/* Parses a literal IPv4 or IPv6 address of <len> bytes (no brackets, no
 * prefix). Returns 0, or -1 when <s> is not an address.
 */
int netaddr_parse(struct netaddr *a, const char *s, size_t len);

/* Parses "10.0.0.5/24" or a bare address, dropping the prefix length. */
int netaddr_parse_cidr(struct netaddr *a, const char *s);

/* Writes the text form into <buf> (NETADDR_STRLEN bytes) and returns <buf>. */
const char *netaddr_str(const struct netaddr *a, char *buf);

int netaddr_equal(const struct netaddr *a, const struct netaddr *b);

/* A 64-bit hash of the address, stable across runs. */
uint64_t netaddr_hash(const struct netaddr *a);

#endif
