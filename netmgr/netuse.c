/* Which networks routed services name. */
#include <stdlib.h>
#include <string.h>

#include "common/strmap.h"
#include "netmgr/netuse.h"
#include "routing/rtable.h"

static void netuse_clear(struct netuse *u)
{
	free(u->network);
	u->network = NULL;
	free(u->services);
	u->services = NULL;
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
		struct netuse *u;

		rtable_service_at(t, i, &v);
		/* only a network the labels name: the one a service's tasks
		 * happen to be on is the operator's business */
		if (v.status != RTABLE_SVC_ROUTED || !v.spec->network || !v.network)
			continue;
		u = strmap_get(index, v.network);
		if (!u) {
			u = &fresh[k++];
			u->network = strdup(v.network);
			if (!u->network || strmap_put(index, u->network, u) < 0)
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
		struct netuse *cur = strmap_del(index, old[i].network);

		if (cur) {
			changed |= !old[i].users;
			out[k] = *cur;
			out[k++].idle_since_ms = 0;
			cur->network = NULL;   /* moved */
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
		if (!fresh[j].network)
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
				 const char *id)
{
	for (size_t i = 0; i < n; i++) {
		const struct netuse *u = &uses[i];

		if (u->users && ((name && strcmp(u->network, name) == 0) ||
				 (id && strcmp(u->network, id) == 0)))
			return u;
	}
	return NULL;
}
