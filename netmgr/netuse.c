/* Which networks routed services name. */
#include <stdlib.h>
#include <string.h>

#include "common/strmap.h"
#include "netmgr/netuse.h"
#include "routing/rtable.h"

static void netuse_clear(struct netuse *u)
{
	free(u->key);
	u->key = NULL;
	free(u->network);
	u->network = NULL;
	free(u->owner);
	u->owner = NULL;
	free(u->stack);
	u->stack = NULL;
	free(u->services);
	u->services = NULL;
}

/* Gives <u> the network <network> named by <owner> (of <stack>, NULL
 * outside any), and the index's key, "<owner>\n<network>" (no owner has a
 * '\n'). Returns 0 or -1.
 */
static int netuse_set(struct netuse *u, const char *owner, const char *stack, const char *network)
{
	size_t lo = strlen(owner), ln = strlen(network);

	u->key = malloc(lo + ln + 2);
	u->network = strdup(network);
	u->owner = strdup(owner);
	u->stack = stack ? strdup(stack) : NULL;
	if (!u->key || !u->network || !u->owner || (stack && !u->stack))
		return -1;
	memcpy(u->key, owner, lo);
	u->key[lo] = '\n';
	memcpy(u->key + lo + 1, network, ln + 1);
	return 0;
}

void netuse_free(struct netuse *uses, size_t n)
{
	for (size_t i = 0; i < n; i++)
		netuse_clear(&uses[i]);
	free(uses);
}

/* Adds service <name> to the users of <u>. Returns 0 or -1. */
static int netuse_add_user(struct netuse *u, const char *name)
{
	if (u->users < NETUSE_SERVICES) {
		size_t have = u->services ? strlen(u->services) : 0;
		char *s = realloc(u->services, have + strlen(name) + 2);

		if (!s)
			return -1;
		if (have)
			s[have++] = ',';
		strcpy(s + have, name);
		u->services = s;
	}
	u->users++;
	return 0;
}

/* Counts, for each network that table <t> has routed services name, those
 * services, into an array of <*n> uses (malloc'd), indexed by network in
 * <index> (which borrows their names). Returns NULL when memory is
 * exhausted.
 */
static struct netuse *netuse_count(const struct rtable *t, struct strmap *index, size_t *n)
{
	size_t count = rtable_service_count(t), k = 0;
	struct netuse *fresh = calloc(count + 1, sizeof(*fresh));

	*n = 0;
	if (!fresh)
		return NULL;
	for (size_t i = 0; i < count; i++) {
		struct rtable_service_view v;
		struct netuse *u, probe = { 0 };
		const char *stack;

		rtable_service_at(t, i, &v);
		/* only a network the labels name: the one a service's tasks
		 * happen to be on is the operator's business */
		if (v.status != RTABLE_SVC_ROUTED || !v.spec->network || !v.network || !v.owner)
			continue;
		/* the table's owner: the stack, else one of its own */
		stack = v.model && v.model->stack && strcmp(v.model->stack, v.owner) == 0 ?
			v.owner : NULL;
		if (netuse_set(&probe, v.owner, stack, v.network) < 0) {
			netuse_clear(&probe);
			goto out_oom;
		}
		u = strmap_get(index, probe.key);
		if (u) {
			netuse_clear(&probe);
		} else {
			u = &fresh[k++];
			*u = probe;
			if (strmap_put(index, u->key, u) < 0)
				goto out_oom;
		}
		if (netuse_add_user(u, v.name) < 0)
			goto out_oom;
	}
	*n = k;
	return fresh;

out_oom:
	strmap_clear(index);
	netuse_free(fresh, k);
	return NULL;
}

int netuse_follow(struct netuse **uses, size_t *n, const struct rtable *t, int64_t now_ms,
		  int64_t forget_ms)
{
	struct netuse *fresh, *out, *old = *uses;
	struct strmap *index = strmap_new();
	size_t nfresh, k = 0;
	int changed = 0;

	fresh = index ? netuse_count(t, index, &nfresh) : NULL;
	out = fresh ? calloc(*n + nfresh + 1, sizeof(*out)) : NULL;
	if (!out) {
		if (fresh)
			netuse_free(fresh, nfresh);
		strmap_free(index);
		return -1;
	}
	/* named before: still named, or idle from now on (and forgotten once
	 * idle long enough: the decision then is the same) */
	for (size_t i = 0; i < *n; i++) {
		struct netuse *cur = strmap_del(index, old[i].key);

		if (cur) {
			changed |= !old[i].users;
			out[k] = *cur;
			out[k++].idle_since_ms = 0;
			cur->key = cur->network = cur->owner = cur->stack = NULL;   /* moved */
			cur->services = NULL;
			netuse_clear(&old[i]);
			continue;
		}
		if (old[i].users) {
			changed = 1;
			old[i].users = 0;
			old[i].idle_since_ms = now_ms;
		}
		if (now_ms - old[i].idle_since_ms > forget_ms) {
			netuse_clear(&old[i]);
			continue;
		}
		out[k++] = old[i];
	}
	/* named for the first time */
	for (size_t j = 0; j < nfresh; j++) {
		if (!fresh[j].key)
			continue;
		changed = 1;
		out[k++] = fresh[j];
	}
	strmap_free(index);
	free(fresh);
	free(old);
	*uses = out;
	*n = k;
	return changed;
}

const struct netuse *netuse_find(const struct netuse *uses, size_t n, const char *name,
				 const char *id, const char *owner)
{
	for (size_t i = 0; i < n; i++) {
		const struct netuse *u = &uses[i];

		if (owner && strcmp(u->owner, owner) != 0)
			continue;
		if (u->users && ((name && strcmp(u->network, name) == 0) ||
				 (id && strcmp(u->network, id) == 0)))
			return u;
	}
	return NULL;
}
