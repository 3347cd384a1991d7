/* The operator's ownership policy: which stacks may claim which hosts,
 * who may use wildcard hosts and the default backend, who may name
 * which secrets, and which networks the proxy may be attached to for whom. Written by the operator, read by the table build
 * (docs/security.md has the format).
 */
#ifndef ROUTING_POLICY_T_H
#define ROUTING_POLICY_T_H

#include <stddef.h>

struct arena;

/* A list of owners: stack names, "service:NAME" for a service outside any
 * stack, or "*" for anyone.
 */
struct policy_owners {
	size_t n;
	const char **names;
};

/* "host PATTERN OWNER...": PATTERN is a host name or "*.domain"; a domain
 * pattern covers the wildcard itself, every name under the domain and
 * every wildcard under it.
 */
struct policy_host {
	const char *pattern;     /* normalised, "*." kept */
	unsigned line;
	struct policy_owners owners;
};

/* "secret NAME OWNER...": NAME is a secret or config name, or a prefix
 * ending with '*'.
 */
struct policy_secret {
	const char *name;        /* without the '*' */
	size_t len;
	int prefix;
	unsigned line;
	struct policy_owners owners;
};

/* "network NAME OWNER...": NAME is a network name, or a prefix ending
 * with '*'; the listed owners' services may have --manage-networks attach
 * the proxy to it.
 */
struct policy_network {
	const char *name;        /* without the '*' */
	size_t len;
	int prefix;
	unsigned line;
	struct policy_owners owners;
};

struct policy {
	struct arena *arena;     /* owns everything below */
	size_t nhosts;
	struct policy_host *hosts;       /* sorted by pattern */
	int wildcard_set;                /* a "wildcard" line was given */
	struct policy_owners wildcard;
	int default_set;                 /* a "default_backend" line was given */
	struct policy_owners deflt;
	size_t nsecrets;
	struct policy_secret *secrets;   /* in file order: the first match applies */
	int secrets_own_stack;           /* "secrets own-stack": only granted or own names */
	size_t nnetworks;
	struct policy_network *networks; /* in file order: the first match applies */
};

#endif
