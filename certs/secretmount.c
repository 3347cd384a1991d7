/* The agent's own service, mounting the secrets certificates need. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ev.h>

#include "certs/secretmount.h"
#include "common/clock.h"
#include "common/errlog.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "dockerapi/dockerapi.h"

#define SECRETMOUNT_TIMEOUT_MS  10000
#define SECRETMOUNT_RETRY_MS    5000

struct secretmount {
	struct ev_loop *loop;
	struct dockerapi *api;
	char *service;
	struct swarmobj_secret *want;    /* owned strings */
	size_t nwant;
	struct swarmobj_owner owner;      /* this process's user and group */
	int dirty;                        /* <want> changed since the last look */
	ev_timer timer;
	struct dockerapi_req *req;
	int posting;                      /* the request under way is the update */
	int64_t removal_since_ms;         /* removals waiting, 0: none */
	struct sbuf spec;
	const char *state;
	char last_error[256];
	int64_t last_update_ms;
	uint64_t updates;
};

static void secretmount_clear_want(struct secretmount *m)
{
	for (size_t i = 0; i < m->nwant; i++) {
		free((char *)m->want[i].name);
		free((char *)m->want[i].id);
	}
	free(m->want);
	m->want = NULL;
	m->nwant = 0;
}

static void secretmount_later(struct secretmount *m, unsigned ms)
{
	ev_timer_stop(m->loop, &m->timer);
	ev_timer_set(&m->timer, ms / 1000.0, 0.0);
	ev_timer_start(m->loop, &m->timer);
}

static void secretmount_fail(struct secretmount *m, const char *why)
{
	if (strcmp(m->last_error, why) != 0) {
		LOG(LL_WARN, "certs", "cannot update the agent's service to mount secrets",
		    KVS("service", m->service), KVS("reason", why));
		errlog_record(ERRLOG_DOCKER, m->service, why);
	}
	snprintf(m->last_error, sizeof(m->last_error), "%s", why);
	m->state = "failed";
	m->dirty = 1;
	secretmount_later(m, SECRETMOUNT_RETRY_MS);
}

static void secretmount_on_update(void *arg, const struct dockerapi_resp *r)
{
	struct secretmount *m = arg;
	char why[256];

	m->req = NULL;
	if (r->error || r->status < 200 || r->status > 299) {
		dockerapi_describe(r, why, sizeof(why));
		/* "update out of sequence": another agent updated it first */
		secretmount_fail(m, why);
		return;
	}
	m->updates++;
	m->last_update_ms = clock_wall_ms();
	m->removal_since_ms = 0;
	m->last_error[0] = '\0';
	m->state = "idle";
	LOG(LL_INFO, "certs", "agent service updated to mount the certificates' secrets; "
	    "its tasks are replaced one by one", KVS("service", m->service));
	if (m->dirty)
		secretmount_later(m, SECRETMOUNT_DEBOUNCE_MS);
}

static void secretmount_on_service(void *arg, const struct dockerapi_resp *r)
{
	struct secretmount *m = arg;
	struct dockerapi_call c = { 0 };
	char why[256], id[128], path[256];
	unsigned added, removed;
	uint64_t version;
	int rc;

	m->req = NULL;
	if (r->error || r->status < 200 || r->status > 299) {
		dockerapi_describe(r, why, sizeof(why));
		secretmount_fail(m, why);
		return;
	}
	rc = swarmobj_service_secrets(r->body, r->len, m->want, m->nwant, &m->owner, &m->spec,
				      id, sizeof(id),
				      &version, &added, &removed, why, sizeof(why));
	if (rc < 0) {
		secretmount_fail(m, why);
		return;
	}
	if (rc == 0) {
		m->state = "idle";
		m->removal_since_ms = 0;
		m->last_error[0] = '\0';
		if (m->dirty)
			secretmount_later(m, SECRETMOUNT_DEBOUNCE_MS);
		return;
	}
	if (!added) {
		/* only removals: they wait, so that a relabel restarts once */
		int64_t now = clock_mono_ms();

		if (!m->removal_since_ms)
			m->removal_since_ms = now;
		if (now - m->removal_since_ms < SECRETMOUNT_REMOVE_DELAY_MS) {
			m->state = "waiting";
			m->dirty = 1;
			secretmount_later(m, (unsigned)(m->removal_since_ms +
							SECRETMOUNT_REMOVE_DELAY_MS - now));
			return;
		}
	}
	snprintf(path, sizeof(path), "/services/%s/update?version=%llu", id,
		 (unsigned long long)version);
	c.method = "POST";
	c.path = path;
	c.unversioned = 1;
	c.body = m->spec.buf;
	c.body_len = m->spec.len;
	c.timeout_ms = SECRETMOUNT_TIMEOUT_MS;
	c.on_done = secretmount_on_update;
	c.arg = m;
	LOG(LL_INFO, "certs", "updating the agent's service to mount secrets",
	    KVS("service", m->service), KVI("added", added), KVI("removed", removed));
	m->state = "updating";
	m->req = dockerapi_send(m->api, &c, why, sizeof(why));
	if (!m->req)
		secretmount_fail(m, why);
}

static void secretmount_on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct secretmount *m = (struct secretmount *)((char *)t -
				 offsetof(struct secretmount, timer));
	struct dockerapi_call c = { 0 };
	char why[256], path[256];
	struct sbuf enc = SBUF_INIT;

	(void)loop;
	(void)revents;
	if (m->req || !m->dirty)
		return;
	m->dirty = 0;
	dockerapi_urlencode(&enc, m->service);
	snprintf(path, sizeof(path), "/services/%s", enc.buf ? enc.buf : "");
	sbuf_free(&enc);
	c.path = path;
	c.unversioned = 1;
	c.timeout_ms = SECRETMOUNT_TIMEOUT_MS;
	c.on_done = secretmount_on_service;
	c.arg = m;
	m->req = dockerapi_send(m->api, &c, why, sizeof(why));
	if (!m->req)
		secretmount_fail(m, why);
}

struct secretmount *secretmount_new(struct ev_loop *loop, struct dockerapi *api,
				    const char *service)
{
	struct secretmount *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->service = strdup(service);
	if (!m->service) {
		free(m);
		return NULL;
	}
	m->loop = loop;
	m->owner.uid = (unsigned)getuid();
	m->owner.gid = (unsigned)getgid();
	m->api = api;
	m->state = "idle";
	ev_timer_init(&m->timer, secretmount_on_timer, 0.0, 0.0);
	return m;
}

void secretmount_free(struct secretmount *m)
{
	if (!m)
		return;
	if (m->req)
		dockerapi_cancel(m->req);
	ev_timer_stop(m->loop, &m->timer);
	secretmount_clear_want(m);
	sbuf_free(&m->spec);
	free(m->service);
	free(m);
}

static int secretmount_same(const struct secretmount *m, const struct swarmobj_secret *want,
			    size_t n)
{
	if (n != m->nwant)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(want[i].name, m->want[i].name) != 0 ||
		    !want[i].id != !m->want[i].id ||
		    (want[i].id && strcmp(want[i].id, m->want[i].id) != 0))
			return 0;
	}
	return 1;
}

void secretmount_want(struct secretmount *m, const struct swarmobj_secret *want, size_t n)
{
	struct swarmobj_secret *copy;

	if (secretmount_same(m, want, n))
		return;
	copy = calloc(n ? n : 1, sizeof(*copy));
	if (!copy)
		return;
	for (size_t i = 0; i < n; i++) {
		copy[i].name = strdup(want[i].name);
		copy[i].id = want[i].id ? strdup(want[i].id) : NULL;
		if (!copy[i].name || (want[i].id && !copy[i].id)) {
			for (size_t j = 0; j <= i; j++) {
				free((char *)copy[j].name);
				free((char *)copy[j].id);
			}
			free(copy);
			return;
		}
	}
	secretmount_clear_want(m);
	m->want = copy;
	m->nwant = n;
	m->dirty = 1;
	if (!m->req)
		secretmount_later(m, SECRETMOUNT_DEBOUNCE_MS);
}

void secretmount_status(const struct secretmount *m, struct secretmount_status *st)
{
	st->service = m->service;
	st->state = m->state;
	st->last_error = m->last_error;
	st->last_update_ms = m->last_update_ms;
	st->updates = m->updates;
}
