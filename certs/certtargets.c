/* The HAProxy runtime APIs certificates are pushed to: one pusher per
 * target haproxyapi/hatargets.c finds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/certset.h"
#include "certs/certtargets.h"
#include "certs/pusher.h"
#include "haproxyapi/haproxy_cli.h"
#include "haproxyapi/hatargets.h"

struct certtarget {
	char *key;               /* hatargets' key */
	struct pusher *pusher;
};

struct certtargets {
	struct ev_loop *loop;
	struct certtargets_opts o;
	struct hatargets *resolver;
	struct certtarget *targets;
	size_t ntargets;
	struct certset *set;     /* the latest, for the targets found later */
};

static int certtargets_found(void *arg, const char *key, const struct haproxy_cli_addr *addr)
{
	struct certtargets *ts = arg;
	struct certtarget *tv, *t;

	tv = realloc(ts->targets, (ts->ntargets + 1) * sizeof(*tv));
	if (!tv)
		return -1;
	ts->targets = tv;
	t = &ts->targets[ts->ntargets];
	t->key = strdup(key);
	t->pusher = pusher_new(ts->loop, addr, ts->o.crt_list, ts->o.hooks, ts->o.arg);
	if (!t->key || !t->pusher) {
		free(t->key);
		pusher_free(t->pusher);
		return -1;
	}
	ts->ntargets++;
	if (ts->set)
		pusher_update(t->pusher, ts->set);
	return 0;
}

static void certtargets_drop(struct certtargets *ts, size_t i)
{
	pusher_free(ts->targets[i].pusher);
	free(ts->targets[i].key);
	memmove(&ts->targets[i], &ts->targets[i + 1],
		(ts->ntargets - i - 1) * sizeof(*ts->targets));
	ts->ntargets--;
}

static void certtargets_gone(void *arg, const char *key)
{
	struct certtargets *ts = arg;

	for (size_t i = 0; i < ts->ntargets; i++) {
		if (strcmp(ts->targets[i].key, key) == 0) {
			certtargets_drop(ts, i);
			return;
		}
	}
}

static const struct hatargets_hooks certtargets_hooks = {
	.found = certtargets_found,
	.gone = certtargets_gone,
};

struct certtargets *certtargets_new(struct ev_loop *loop, const struct certtargets_opts *o,
				    char *err, size_t errlen)
{
	struct certtargets *ts = calloc(1, sizeof(*ts));
	struct hatargets_opts ho = {
		.specs = o->specs,
		.nspecs = o->nspecs,
		.api = o->api,
		.subsystem = "certs",
		.hooks = &certtargets_hooks,
	};

	if (!ts) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ts->loop = loop;
	ts->o = *o;
	ho.arg = ts;
	ts->resolver = hatargets_new(loop, &ho, err, errlen);
	if (!ts->resolver) {
		certtargets_free(ts);
		return NULL;
	}
	return ts;
}

void certtargets_free(struct certtargets *ts)
{
	if (!ts)
		return;
	hatargets_free(ts->resolver);
	while (ts->ntargets)
		certtargets_drop(ts, ts->ntargets - 1);
	free(ts->targets);
	certset_unref(ts->set);
	free(ts);
}

void certtargets_update(struct certtargets *ts, struct certset *set)
{
	certset_unref(ts->set);
	ts->set = certset_ref(set);
	for (size_t i = 0; i < ts->ntargets; i++)
		pusher_update(ts->targets[i].pusher, set);
}

void certtargets_tick(struct certtargets *ts, int64_t now_ms)
{
	hatargets_tick(ts->resolver, now_ms);
}

size_t certtargets_count(const struct certtargets *ts)
{
	return ts->ntargets;
}

const struct pusher *certtargets_pusher(const struct certtargets *ts, size_t i)
{
	return ts->targets[i].pusher;
}

size_t certtargets_ngroups(const struct certtargets *ts)
{
	return hatargets_ngroups(ts->resolver);
}

void certtargets_group(const struct certtargets *ts, size_t g, struct certtargets_group *out)
{
	struct hatargets_group hg;

	hatargets_group(ts->resolver, g, &hg);
	out->spec = hg.spec;
	out->tasks = hg.tasks;
	out->last_error = hg.last_error;
}
