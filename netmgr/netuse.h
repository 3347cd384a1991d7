/* Which networks routed services name in their network label, and since
 * when one is no longer named: what the network manager follows of each
 * routing table. Labels are read from the table's service view, as
 * routing parsed them.
 */
#ifndef NETMGR_NETUSE_H
#define NETMGR_NETUSE_H

#include <stddef.h>
#include <stdint.h>

struct rtable;

#define NETUSE_SERVICES 3           /* services named per network, for "show networks" */

/* A network named by routed services of one owner, now or lately: the
 * network manager decides for each owner whether it may have the proxy
 * join the network. */
struct netuse {
	char *key;                  /* "<owner>\n<network>": the index's key */
	char *network;              /* as labelled (a name or an ID) */
	char *owner;                /* a stack, "service:NAME", "file:routes" */
	char *stack;                /* the owner's stack, NULL outside any */
	unsigned users;             /* routed services of <owner> naming it */
	int64_t idle_since_ms;      /* monotonic, when <users> dropped to 0 */
	char *services;             /* the first NETUSE_SERVICES of them, ',' between */
};

/* Brings the <*n> uses at <*uses> (malloc'd, replaced) up to table <t> at
 * <now_ms>: a network no longer named is idle from now on, and forgotten
 * once idle for more than <forget_ms>. Returns 1 when a network became
 * named or idle, 0 when not, -1 when memory is exhausted (the uses are
 * unchanged then).
 */
int netuse_follow(struct netuse **uses, size_t *n, const struct rtable *t, int64_t now_ms,
		  int64_t forget_ms);

/* Frees the <n> uses at <uses>. */
void netuse_free(struct netuse *uses, size_t n);

/* Returns the first use that routed services (of <owner>; NULL: any) name
 * now by network <name> or by its <id> (NULL: none), or NULL.
 */
const struct netuse *netuse_find(const struct netuse *uses, size_t n, const char *name,
				 const char *id, const char *owner);

#endif
