/* Which hosts a certificate may be served for: those its own names cover.
 * The hosts come from the labels of services that own them (the table
 * build sees to that); a certificate named by such a service is pushed
 * with an SNI filter for each host it covers, never for the others, so
 * that a certificate cannot be attached to a host it was not issued for
 * (HAProxy would serve it there, preferring an ECDSA certificate over the
 * RSA one of the host's rightful certificate).
 *
 * The names are the subjectAltName DNS names, or the subject's common name
 * when the certificate has no DNS name (RFC 6125, 6.4.4), compared as TLS
 * clients do (RFC 6125, 6.4.3, as OpenSSL's X509_check_host): without
 * case, a trailing dot ignored, IDNs in their A-label form (the form hosts
 * are normalised to), a wildcard only as the whole leftmost label of a name
 * of at least three labels, covering exactly one label.
 */
#ifndef CERTS_CERTCOVER_H
#define CERTS_CERTCOVER_H

#include <stddef.h>
#include "certs/x509-t.h"

struct sbuf;

/* Returns 1 when the certificate name <pattern> (<plen> bytes) covers the
 * host <host> (<hlen> bytes, normalised as routing does: lowercase, A-labels,
 * no trailing dot; a "*.domain" host is a wildcard route), else 0. A
 * wildcard route is covered only by the same wildcard name: a certificate
 * for a.example.com serves no other name under example.com.
 */
int certcover_name(const char *pattern, size_t plen, const char *host, size_t hlen);

/* Returns 1 when one of the names of <leaf> covers <host> (<hlen> bytes). */
int certcover_host(const struct x509_info *leaf, const char *host, size_t hlen);

/* Sorts the space-separated hosts of <hosts> into those <leaf> covers,
 * appended to <covered>, and the others, appended to <uncovered> (both
 * space-separated). Returns the number of hosts covered.
 */
size_t certcover_split(const struct x509_info *leaf, const char *hosts, struct sbuf *covered,
		       struct sbuf *uncovered);

/* The names certcover_host() compares, for a reason: the DNS names, or
 * "CN=<common name>", or "no DNS name" into <buf>. Returns <buf>.
 */
const char *certcover_names(const struct x509_info *leaf, char *buf, size_t len);

#endif
