/* "show certs": each certificate with its source, hosts, expiry and state
 * on every HAProxy, then the HAProxy targets, the tasks: addresses and the
 * secret mounts; as aligned text (cells escaped) or as JSON.
 */
#ifndef CERTS_CERTSHOW_H
#define CERTS_CERTSHOW_H

#include <stddef.h>

struct certident;
struct certtargets;
struct secretmount;
struct sbuf;

struct certshow_in {
	const struct certident *dflt;       /* --default-cert, or NULL */
	const struct certident *ids;        /* in the order of the set */
	size_t nids;
	const struct certtargets *targets;
	const struct secretmount *mount;    /* --manage-secrets, or NULL */
};

/* Appends the listing of <in> to <out>. */
void certshow_render(const struct certshow_in *in, struct sbuf *out, int json);

#endif
