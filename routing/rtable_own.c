/* Ownership of hosts in the table build: labels come from whoever can
 * deploy a stack, so a host belongs to one owner (the stack, or for a
 * service outside any stack the service itself) and other owners' claims
 * on it are refused. Who owns what is decided from the build's inputs
 * only: the services with their stack, the ledger of earlier claims and
 * the operator's policy. The request path never sees any of it.
 *
 * Order of the questions for one host a service claims:
 *   1. the policy: a host rule covering the host decides alone;
 *      "wildcard" and "default_backend" rules restrict those claims;
 *   2. the ledger: the owner recorded first keeps the host while it is
 *      gone, for the grace period;
 *   3. a wildcard another owner holds covers the names under it;
 *   4. else the claim is new, and recorded when the service is routed.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/arena.h"
#include "common/strmap.h"
#include "routing/certref.h"
#include "routing/ledger.h"
#include "routing/policy.h"
#include "routing/rtable-int.h"

#define RTOWN_SERVICE "service:"

/* "stack bank" or "service web", for reasons. */
static const char *rtable_own_say(const char *owner, char *buf, size_t len)
{
	if (strcmp(owner, RTABLE_OWNER_FILE) == 0)
		snprintf(buf, len, "the routes file");
	else if (strncmp(owner, RTOWN_SERVICE, sizeof(RTOWN_SERVICE) - 1) == 0)
		snprintf(buf, len, "service %s", owner + sizeof(RTOWN_SERVICE) - 1);
	else
		snprintf(buf, len, "stack %s", owner);
	return buf;
}

static const char *rtable_own_date(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%lld ms", (long long)ms);
	return buf;
}

int rtable_own_begin(struct rt_own *o, const struct rtable_build_opts *opts,
		     const struct rtable *t, struct arena *tmp)
{
	size_t n = ledger_count(opts ? opts->ledger : NULL);

	memset(o, 0, sizeof(*o));
	o->policy = opts ? opts->policy : NULL;
	o->old = opts ? opts->ledger : NULL;
	o->now_ms = opts && opts->now_ms ? opts->now_ms : 0;
	o->grace_ms = opts ? opts->claim_grace_ms : 0;
	o->seen = arena_calloc(tmp, n ? n : 1, 1);
	o->next = ledger_new();
	o->stacks = strmap_new();
	if (!o->seen || !o->next || !o->stacks)
		return -1;
	/* the stacks whose secrets others may not name: every stack present
	 * and every stack that still owns a host */
	for (uint32_t i = 0; i < t->nsvcs; i++)
		if (t->svcs[i].model && t->svcs[i].model->stack && *t->svcs[i].model->stack &&
		    strmap_put(o->stacks, t->svcs[i].model->stack, (void *)1) < 0)
			return -1;
	for (size_t i = 0; i < n; i++) {
		const char *ow = ledger_at(o->old, i)->owner;

		if (!strchr(ow, ':') &&
		    strmap_put(o->stacks, ow, (void *)1) < 0)
			return -1;
	}
	return 0;
}

void rtable_own_seen(struct rt_own *o, const char *key, const char *owner)
{
	const struct ledger_entry *e = ledger_get(o->old, key);

	if (e && strcmp(e->owner, owner) == 0)
		o->seen[e - ledger_at(o->old, 0)] = 1;
}

int rtable_own_age(struct rt_own *o)
{
	size_t n = ledger_count(o->old);

	for (size_t i = 0; i < n; i++) {
		struct ledger_entry e = *ledger_at(o->old, i);

		if (o->seen[i]) {
			o->changed |= e.missing_ms != 0;
			e.missing_ms = 0;
		} else {
			if (!e.missing_ms) {
				e.missing_ms = o->now_ms;
				o->changed = 1;
			}
			/* released: its owner has been gone for the whole grace */
			if (o->now_ms - e.missing_ms >= o->grace_ms) {
				o->changed = 1;
				continue;
			}
			if (!o->due_ms || e.missing_ms + o->grace_ms < o->due_ms)
				o->due_ms = e.missing_ms + o->grace_ms;
		}
		if (ledger_put(o->next, &e) < 0)
			return -1;
	}
	return 0;
}

int rtable_own_check(const struct rt_own *o, const char *owner, const char *key,
		     char *err, size_t errlen)
{
	const struct policy *p = o->policy;
	const struct ledger_entry *e;
	const char *name;
	char who[160], by[160], date[32];
	int wild = key[0] == '*' && key[1] == '.';

	if (strcmp(key, LEDGER_DEFAULT) == 0) {
		if (p && p->default_set && !policy_owner_in(&p->deflt, owner)) {
			snprintf(err, errlen, "default_backend is not allowed for %s by the operator's "
				 "policy", rtable_own_say(owner, who, sizeof(who)));
			return -1;
		}
	} else {
		const struct policy_host *rule = policy_host_rule(p, key);

		if (rule) {
			if (policy_owner_in(&rule->owners, owner))
				return 0;
			snprintf(err, errlen, "host %s is reserved by the operator's policy (line %u) "
				 "for %s%s", key, rule->line,
				 rtable_own_say(rule->owners.names[0], by, sizeof(by)),
				 rule->owners.n > 1 ? " and others" : "");
			return -1;
		}
		if (wild && p && p->wildcard_set && !policy_owner_in(&p->wildcard, owner)) {
			snprintf(err, errlen, "wildcard host %s is not allowed for %s by the operator's "
				 "policy", key, rtable_own_say(owner, who, sizeof(who)));
			return -1;
		}
		if (wild && !strchr(key + 2, '.')) {
			snprintf(err, errlen, "wildcard host %s covers a whole top-level domain: only "
				 "the operator's policy can grant it", key);
			return -1;
		}
	}

	e = ledger_get(o->next, key);
	if (e) {
		if (strcmp(e->owner, owner) == 0)
			return 0;
		snprintf(err, errlen, "%s%s belongs to %s (claimed %s)",
			 strcmp(key, LEDGER_DEFAULT) == 0 ? "the " : "host ", key,
			 rtable_own_say(e->owner, by, sizeof(by)),
			 rtable_own_date(e->since_ms, date, sizeof(date)));
		return -1;
	}
	if (strcmp(key, LEDGER_DEFAULT) == 0)
		return 0;

	/* a name under a domain whose wildcard another owner holds */
	name = wild ? key + 2 : key;
	for (const char *s = strchr(name, '.'); s; s = strchr(s + 1, '.')) {
		char pat[300];

		if ((size_t)snprintf(pat, sizeof(pat), "*%s", s) >= sizeof(pat))
			continue;
		e = ledger_get(o->next, pat);
		if (e && strcmp(e->owner, owner) != 0) {
			snprintf(err, errlen, "host %s is under %s, which belongs to %s (claimed %s)",
				 key, pat, rtable_own_say(e->owner, by, sizeof(by)),
				 rtable_own_date(e->since_ms, date, sizeof(date)));
			return -1;
		}
	}
	return 0;
}

/* Whether the certificate label <value> of <s> may be used by it: the
 * name it holds, whatever its kind (a stack's config is as much its own
 * as its secret), is checked; a value that is no reference at all is the
 * certificate manager's to refuse, and is checked whole.
 */
static int rtable_own_secret(const struct rt_own *o, const struct rt_service *s,
			     const char *label, const char *value, char *err, size_t errlen)
{
	struct certref ref;
	char why[160];
	const char *name = certref_parse(value, &ref, why, sizeof(why)) == 0 ? ref.name : value;
	const struct policy_secret *rule = policy_secret_rule(o->policy, name);
	const char *stack = s->model->stack && *s->model->stack ? s->model->stack : NULL;
	size_t slen = stack ? strlen(stack) : 0;
	char who[160];

	if (rule) {
		if (policy_owner_in(&rule->owners, s->owner))
			return 0;
		snprintf(err, errlen, LABELS_PREFIX "%s: \"%s\" is granted to others by the "
			 "operator's policy (line %u)", label, name, rule->line);
		return -1;
	}
	/* docker stack deploy names a stack's secrets and configs STACK_name */
	if (stack && strncmp(name, stack, slen) == 0 && name[slen] == '_')
		return 0;
	for (const char *u = strchr(name, '_'); u; u = strchr(u + 1, '_')) {
		if (strmap_getn(o->stacks, name, (size_t)(u - name))) {
			snprintf(err, errlen, LABELS_PREFIX "%s: \"%s\" is a secret of stack %.*s, "
				 "not of %s", label, name, (int)(u - name), name,
				 rtable_own_say(s->owner, who, sizeof(who)));
			return -1;
		}
	}
	if (o->policy && o->policy->secrets_own_stack) {
		snprintf(err, errlen, LABELS_PREFIX "%s: \"%s\" is not a secret of %s and the "
			 "operator's policy grants it to nobody", label, name,
			 rtable_own_say(s->owner, who, sizeof(who)));
		return -1;
	}
	return 0;
}

int rtable_own_secrets(const struct rt_own *o, const struct rt_service *s, char *err, size_t errlen)
{
	if (s->spec.ssl_cert && rtable_own_secret(o, s, "ssl_cert", s->spec.ssl_cert, err, errlen) < 0)
		return -1;
	if (s->spec.ssl_key && rtable_own_secret(o, s, "ssl_key", s->spec.ssl_key, err, errlen) < 0)
		return -1;
	return 0;
}

int rtable_own_commit(struct rt_own *o, const char *key, const char *owner)
{
	struct ledger_entry e = { key, owner, o->now_ms, 0 };

	if (ledger_get(o->next, key))
		return 0;
	o->changed = 1;
	return ledger_put(o->next, &e);
}

void rtable_own_end(struct rt_own *o, struct rtable *t)
{
	t->ledger = o->next;
	t->ledger_changed = o->changed;
	t->ledger_due_ms = o->due_ms;
	o->next = NULL;
	strmap_free(o->stacks);
	o->stacks = NULL;
}

void rtable_own_abort(struct rt_own *o)
{
	ledger_free(o->next);
	o->next = NULL;
	strmap_free(o->stacks);
	o->stacks = NULL;
}
