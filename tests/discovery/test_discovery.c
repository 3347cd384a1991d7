/* The discovery state machine against a scripted daemon on a unix socket:
 * first sync, no handover when nothing changed, a service event followed
 * within the fast poll, a node event followed by the node's new state, a
 * late answer that does not stretch the slow poll, the daemon going away
 * (last model kept, degraded, no empty model) and coming back (resync),
 * garbage answers, plain containers mode, a socket proxy that refuses
 * /info and /events, and the load of fast polling: one request per period
 * for 500 converging services, a period that stretches with Docker's
 * answer time; the histograms of Docker's answer times.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <ev.h>

#include "common/clock.h"
#include "common/sbuf.h"
#include "discovery/discovery.h"
#include "discovery/discstats.h"
#include "dockerapi/dockerapi.h"
#include "routing/model.h"
#include "tests/lib/fakedocker.h"
#include "tests/lib/fixture.h"
#include "tests/lib/promcheck.h"

#define WEB "n39a93ol26f5fclwtv4a7udo8"
#define NODE "jsv3tv3qsf8o18ua87itudgay"
#define DRAINED "l44puiaq0yjr629vfj9uwd7kz"

/* What the scripted daemon answers. */
struct daemon {
	int swarm;              /* /info says: active swarm manager */
	int info_forbidden;     /* a proxy refusing /info */
	int events_forbidden;   /* a proxy refusing /events */
	int garbage_tasks;
	unsigned web_tasks_delay_ms; /* the next /tasks with web's tasks waits that long */
	unsigned tasks_delay_ms;     /* every /tasks answer waits that long */
	unsigned full_delay_ms;      /* every /tasks answer not filtered by service waits that long */
	unsigned filtered_polls;     /* /tasks filtered by service, answered */
	unsigned full_polls;
	char *services;
	char *tasks;
	char *networks;
	char *nodes;
	char *containers;
};

static struct daemon dm;

static void answer(struct fake_resp *r, int status, const char *body)
{
	r->status = status;
	r->body = strdup(body);
	r->len = strlen(body);
}

static void handler(void *arg, const char *method, const char *path, struct fake_resp *r)
{
	(void)arg;
	(void)method;
	if (strcmp(path, "/version") == 0)
		answer(r, 200, "{\"Version\":\"20.10.24\",\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\"}");
	else if (strncmp(path, "/v1.41/info", 11) == 0 && dm.info_forbidden)
		answer(r, 403, "{\"message\":\"forbidden by the proxy\"}");
	else if (strncmp(path, "/v1.41/info", 11) == 0)
		answer(r, 200, dm.swarm ?
		       "{\"Name\":\"vm\",\"Swarm\":{\"LocalNodeState\":\"active\",\"ControlAvailable\":true}}" :
		       "{\"Name\":\"vm\",\"Swarm\":{\"LocalNodeState\":\"inactive\",\"ControlAvailable\":false}}");
	else if (strncmp(path, "/v1.41/events", 13) == 0 && dm.events_forbidden)
		answer(r, 403, "{\"message\":\"forbidden by the proxy\"}");
	else if (strncmp(path, "/v1.41/events", 13) == 0)
		r->stream = 1, r->status = 200;
	else if (!dm.swarm && (strncmp(path, "/v1.41/services", 15) == 0 ||
			       strncmp(path, "/v1.41/tasks", 12) == 0 || strncmp(path, "/v1.41/nodes", 12) == 0))
		answer(r, 503, "{\"message\":\"This node is not a swarm manager.\"}");
	else if (strncmp(path, "/v1.41/services/", 16) == 0) {
		/* one service out of the list, the crude way */
		const char *id = path + 16, *p = strstr(dm.services, id);

		if (!p) {
			answer(r, 404, "{\"message\":\"service not found\"}");
			return;
		}
		/* the fixture's objects start with {"ID" on their own line */
		while (p > dm.services && strncmp(p, "{\n  \"ID\"", 8) != 0)
			p--;
		{
			int depth = 0;
			const char *e = p;

			for (; *e; e++) {
				if (*e == '{')
					depth++;
				else if (*e == '}' && --depth == 0)
					break;
			}
			r->status = 200;
			r->len = (size_t)(e - p + 1);
			r->body = strndup(p, r->len);
		}
	} else if (strncmp(path, "/v1.41/services", 15) == 0)
		answer(r, 200, dm.services);
	else if (strncmp(path, "/v1.41/tasks", 12) == 0) {
		answer(r, 200, dm.garbage_tasks ? "<html>500 Internal Server Error</html>" : dm.tasks);
		if (strstr(path, WEB) || !strstr(path, "%22service%22"))
			r->delay_ms = __atomic_exchange_n(&dm.web_tasks_delay_ms, 0, __ATOMIC_SEQ_CST);
		if (!r->delay_ms)
			r->delay_ms = dm.tasks_delay_ms;
		if (strstr(path, "%22service%22")) {
			__atomic_add_fetch(&dm.filtered_polls, 1, __ATOMIC_SEQ_CST);
		} else {
			__atomic_add_fetch(&dm.full_polls, 1, __ATOMIC_SEQ_CST);
			r->delay_ms += dm.full_delay_ms;
		}
	}
	else if (strncmp(path, "/v1.41/networks", 15) == 0)
		answer(r, 200, dm.networks);
	else if (strncmp(path, "/v1.41/nodes", 12) == 0)
		answer(r, 200, dm.nodes);
	else if (strncmp(path, "/v1.41/containers/json", 22) == 0)
		answer(r, 200, dm.containers);
	else
		answer(r, 404, "{\"message\":\"page not found\"}");
}

struct seen {
	int models;
	struct model *last;
};

static void on_model(void *arg, struct model *m)
{
	struct seen *s = arg;

	/* never an empty model because of an error */
	assert_non_null(m);
	s->models++;
	model_free(s->last);
	s->last = m;
}

struct fixture {
	char sock[108];
	struct fakedocker *fake;
	struct ev_loop *loop;
	struct discovery *d;
	struct seen seen;
};

static size_t ntasks(const struct model *m, const char *id)
{
	for (size_t i = 0; i < m->nsvcs; i++)
		if (strcmp(m->svcs[i].id, id) == 0)
			return m->svcs[i].ntasks;
	return (size_t)-1;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	size_t len;

	memset(&dm, 0, sizeof(dm));
	dm.swarm = 1;
	dm.services = fixture_read("services.json", &len);
	dm.tasks = fixture_read("tasks.json", &len);
	dm.networks = fixture_read("networks.json", &len);
	dm.nodes = fixture_read("nodes.json", &len);
	dm.containers = fixture_read("containers.json", &len);
	snprintf(fx->sock, sizeof(fx->sock), "/tmp/ssp-disc-%d.sock", (int)getpid());
	fx->fake = fakedocker_start(fx->sock, handler, NULL);
	fx->loop = ev_loop_new(EVFLAG_AUTO);
	*state = fx;
	return fx->fake && fx->loop ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	discovery_free(fx->d);
	if (fx->fake)
		fakedocker_stop(fx->fake);
	ev_loop_destroy(fx->loop);
	model_free(fx->seen.last);
	free(dm.services);
	free(dm.tasks);
	free(dm.networks);
	free(dm.nodes);
	free(dm.containers);
	free(fx);
	return 0;
}

static void start_polling(struct fixture *fx, const char *mode, unsigned fast_ms, unsigned slow_ms)
{
	char url[128], err[256];
	struct discovery_opts o = { .url = url, .mode = mode, .poll_fast_ms = fast_ms,
				    .poll_slow_ms = slow_ms };

	snprintf(url, sizeof(url), "unix://%s", fx->sock);
	fx->d = discovery_new(fx->loop, &o, on_model, &fx->seen, err, sizeof(err));
	if (!fx->d)
		fail_msg("discovery_new: %s", err);
}

static void start(struct fixture *fx, const char *mode)
{
	start_polling(fx, mode, 50, 200);
}

/* Runs the loop for <ms>, or until <pred> holds when given. */
static int run(struct fixture *fx, int (*pred)(struct fixture *), int64_t ms)
{
	int64_t deadline = clock_mono_ms() + ms;

	while (clock_mono_ms() < deadline) {
		if (pred && pred(fx))
			return 1;
		ev_run(fx->loop, EVRUN_NOWAIT);
		usleep(1000);
	}
	return pred ? pred(fx) : 0;
}

/* How many /tasks requests the daemon saw while the loop ran for <ms>. */
static unsigned tasks_polls_during(struct fixture *fx, int64_t ms)
{
	unsigned before = fakedocker_count(fx->fake, "/v1.41/tasks");

	run(fx, NULL, ms);
	return fakedocker_count(fx->fake, "/v1.41/tasks") - before;
}

static int has_model(struct fixture *fx)
{
	return fx->seen.models > 0;
}

static int is_degraded(struct fixture *fx)
{
	struct discovery_status st;

	discovery_status(fx->d, &st);
	return st.state == DISCOVERY_DEGRADED;
}

static int is_synced(struct fixture *fx)
{
	struct discovery_status st;

	discovery_status(fx->d, &st);
	return st.state == DISCOVERY_SYNCED;
}

static int web_has_one_task(struct fixture *fx)
{
	return fx->seen.last && ntasks(fx->seen.last, WEB) == 1;
}

static int web_has_four_tasks(struct fixture *fx)
{
	return fx->seen.last && ntasks(fx->seen.last, WEB) == 4;
}

static void test_sync_steady_event(void **state)
{
	struct fixture *fx = *state;
	struct discovery_status st;
	unsigned polls;
	int models;

	start(fx, "auto");
	assert_true(run(fx, has_model, 5000));
	assert_int_equal(fx->seen.models, 1);
	assert_string_equal(fx->seen.last->source, "swarm");
	assert_int_equal(fx->seen.last->nsvcs, 3);
	assert_int_equal(ntasks(fx->seen.last, WEB), 4);
	discovery_status(fx->d, &st);
	assert_int_equal(st.state, DISCOVERY_SYNCED);
	assert_string_equal(st.state_name, "synced");
	assert_string_equal(st.mode, "swarm");
	assert_string_equal(st.api_version, "1.41");
	assert_int_equal(st.services, 3);
	assert_int_equal(st.routed_services, 2);
	assert_int_equal(st.syncs, 1);
	assert_true(st.last_sync_ms > 0);

	/* nothing changes: polls go on, no new model; the stream is open */
	polls = fakedocker_count(fx->fake, "/v1.41/tasks");
	run(fx, NULL, 1000);
	assert_int_equal(fx->seen.models, 1);
	discovery_status(fx->d, &st);
	assert_true(st.events_connected);
	/* one service (api) is mid-update: polled fast, bounded */
	assert_true(fakedocker_count(fx->fake, "/v1.41/tasks") - polls >= 4);
	assert_true(fakedocker_count(fx->fake, "/v1.41/tasks") - polls <= 25);

	/* a task of web goes away, then a service event: seen at once */
	{
		const char *one_task =
			"[{\"ID\":\"t1\",\"ServiceID\":\"" WEB "\",\"DesiredState\":\"running\","
			"\"Status\":{\"State\":\"running\",\"Timestamp\":\"2024-01-01T00:00:00Z\"},"
			"\"NetworksAttachments\":[{\"Network\":{\"ID\":\"64b10570kbavk9j9zd6o6dqsd\","
			"\"Spec\":{\"Name\":\"ssp-explore-net\"}},\"Addresses\":[\"10.0.2.50/24\"]}]}]";
		char *old = dm.tasks;
		unsigned single = fakedocker_count(fx->fake, "/v1.41/services/" WEB);
		int64_t t0;

		dm.tasks = strdup(one_task);
		free(old);
		models = fx->seen.models;
		t0 = clock_mono_ms();
		fakedocker_push(fx->fake, "{\"Type\":\"service\",\"Action\":\"update\",\"Actor\":{\"ID\":\"" WEB
				"\",\"Attributes\":{\"name\":\"ssp-explore-web\"}},\"scope\":\"swarm\",\"timeNano\":1}");
		assert_true(run(fx, web_has_one_task, 3000));
		assert_true(clock_mono_ms() - t0 < 1000);
		assert_true(fx->seen.models > models);
		/* the one service is fetched, not the whole list (a slow poll
		 * may have brought the tasks first: wait for the fetch too) */
		assert_true(run(fx, NULL, 300) == 0);
		assert_int_equal(fakedocker_count(fx->fake, "/v1.41/services/" WEB), single + 1);
		assert_int_equal(fakedocker_count(fx->fake, "/v1.41/services"),
				 fakedocker_count(fx->fake, "/v1.41/services/") + 1);
		discovery_status(fx->d, &st);
		assert_true(st.events >= 1);
	}
}

static int node_is_drained(struct fixture *fx)
{
	const struct model_node *n = fx->seen.last ? model_node(fx->seen.last, DRAINED) : NULL;

	return n && n->availability == MODEL_AVAIL_DRAIN;
}

/* The swarm's nodes are in the model, found from each task, and a node
 * event brings a model with the nodes as they are now (host-mode routing
 * will reach tasks on their node's address). The event and the node list
 * after it were recorded on dockerd 20.10 around a node drain.
 */
static void test_node_event(void **state)
{
	struct fixture *fx = *state;
	const struct model_service *web = NULL;
	const struct model_node *n;
	char *events, *eol;
	unsigned lists;
	size_t len;
	int models;

	start(fx, "swarm");
	assert_true(run(fx, has_model, 5000));
	assert_int_equal(fx->seen.last->nnodes, 1);
	n = model_node(fx->seen.last, NODE);
	assert_non_null(n);
	assert_string_equal(n->hostname, "vm");
	assert_int_equal(n->state, MODEL_NODE_READY);
	assert_int_equal(n->role, MODEL_ROLE_MANAGER);
	for (size_t i = 0; i < fx->seen.last->nsvcs; i++)
		if (strcmp(fx->seen.last->svcs[i].id, WEB) == 0)
			web = &fx->seen.last->svcs[i];
	assert_non_null(web);
	assert_ptr_equal(model_node(fx->seen.last, web->tasks[0].node_id), n);

	/* a node is drained: Docker says so with a node event */
	free(dm.nodes);
	dm.nodes = fixture_read("hostport_nodes_drain.json", &len);
	events = fixture_read("hostport_node_events.txt", &len);
	eol = strchr(events, '\n');
	assert_non_null(eol);
	*eol = '\0';
	lists = fakedocker_count(fx->fake, "/v1.41/nodes");
	models = fx->seen.models;
	fakedocker_push(fx->fake, events);
	free(events);
	assert_true(run(fx, node_is_drained, 3000));
	assert_true(fakedocker_count(fx->fake, "/v1.41/nodes") > lists);
	assert_true(fx->seen.models > models);
	assert_null(model_node(fx->seen.last, NODE));
}

/* One full poll answered late, as a manager does while the swarm elects a
 * new leader: the slow period stays --poll-slow (200 ms here), it is not
 * stretched to ten times the wait, and a task change that comes with no
 * event (a task rescheduled on another node) is seen within it.
 */
static void test_slow_answer_once(void **state)
{
	struct fixture *fx = *state;
	unsigned polls;
	int64_t t0;

	start(fx, "swarm");
	assert_true(run(fx, has_model, 5000));
	assert_true(web_has_four_tasks(fx));
	/* a few full polls answered at once first */
	polls = fakedocker_count(fx->fake, "/v1.41/tasks");
	run(fx, NULL, 2000);
	assert_true(fakedocker_count(fx->fake, "/v1.41/tasks") - polls >= 4);

	__atomic_store_n(&dm.web_tasks_delay_ms, 2000, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&dm.web_tasks_delay_ms, __ATOMIC_SEQ_CST))
		run(fx, NULL, 10);
	/* the late answer is in (the tasks are unchanged); then the swarm moves */
	run(fx, NULL, 2500);
	{
		const char *one_task =
			"[{\"ID\":\"t1\",\"ServiceID\":\"" WEB "\",\"DesiredState\":\"running\","
			"\"Status\":{\"State\":\"running\",\"Timestamp\":\"2024-01-01T00:00:00Z\"},"
			"\"NetworksAttachments\":[{\"Network\":{\"ID\":\"64b10570kbavk9j9zd6o6dqsd\","
			"\"Spec\":{\"Name\":\"ssp-explore-net\"}},\"Addresses\":[\"10.0.2.50/24\"]}]}]";
		char *old = dm.tasks;

		dm.tasks = strdup(one_task);
		free(old);
	}
	t0 = clock_mono_ms();
	/* 200 ms, and a wide margin for a loaded machine; some 15 s more
	 * with the period stretched to 20 s by the late answer */
	assert_true(run(fx, web_has_one_task, 10000));
	assert_true(clock_mono_ms() - t0 < 5000);
}

/* The answer histograms: Docker answering /tasks in 1.2 s for a while
 * (every request: a hedged poll's second one is as slow), then at once;
 * the status and the metrics page hold the slow answers in the bucket of
 * 1-2.5 s and the others below, with their sum.
 */
static const struct discovery_answers *tasks_answers(struct fixture *fx, struct discovery_status *st)
{
	discovery_status(fx->d, st);
	for (unsigned i = 0; i < DISCOVERY_REQUEST_KINDS; i++)
		if (strcmp(st->answers[i].request, "/tasks") == 0)
			return &st->answers[i];
	fail_msg("no histogram of /tasks answers");
	return NULL;
}

static int slow_tasks_answered(struct fixture *fx)
{
	struct discovery_status st;

	return tasks_answers(fx, &st)->buckets[8] >= 1;
}

static void test_answer_times(void **state)
{
	struct fixture *fx = *state;
	struct discovery_status st;
	const struct discovery_answers *a;
	struct sbuf page = SBUF_INIT;
	uint64_t sum = 0, fast = 0, slow;
	const char *bad;

	start(fx, "swarm");
	assert_true(run(fx, has_model, 5000));
	assert_int_equal(discovery_answer_bounds_ms[7], 1000);
	assert_int_equal(discovery_answer_bounds_ms[8], 2500);
	assert_int_equal(tasks_answers(fx, &st)->buckets[8], 0);
	__atomic_store_n(&dm.tasks_delay_ms, 1200, __ATOMIC_SEQ_CST);
	assert_true(run(fx, slow_tasks_answered, 5000));
	__atomic_store_n(&dm.tasks_delay_ms, 0, __ATOMIC_SEQ_CST);
	run(fx, NULL, 3000);    /* a poll still in flight waits up to 1.2 s */

	a = tasks_answers(fx, &st);
	for (unsigned b = 0; b < DISCOVERY_ANSWER_BUCKETS; b++)
		sum += a->buckets[b];
	for (unsigned b = 0; b <= 4; b++)
		fast += a->buckets[b];
	slow = a->buckets[8];
	assert_int_equal(sum, a->count);
	assert_true(slow >= 1 && slow <= 3);
	assert_true(fast >= 4);
	assert_int_equal(fast + slow, a->count);
	assert_true(a->sum_us >= slow * 1200000 && a->sum_us < slow * 1300000 + fast * 100000);

	discstats_metrics(fx->d, &page);
	assert_false(page.oom);
	bad = check_exposition(page.buf);
	if (bad)
		fail_msg("%s", bad);
	assert_non_null(strstr(page.buf, "\nswarm_spoa_docker_request_duration_seconds_bucket"
				     "{request=\"/tasks\",le=\"1\"} "));
	assert_non_null(strstr(page.buf, "\nswarm_spoa_docker_request_duration_seconds_count"
				     "{request=\"/version\"} 1\n"));
	sbuf_free(&page);
}

static void test_daemon_away_and_back(void **state)
{
	struct fixture *fx = *state;
	struct discovery_status st;
	int models;

	start(fx, "swarm");
	assert_true(run(fx, has_model, 5000));
	models = fx->seen.models;

	/* the daemon stops: streams close, the socket goes away */
	fakedocker_stop(fx->fake);
	fx->fake = NULL;
	assert_true(run(fx, is_degraded, 5000));
	run(fx, NULL, 500);
	/* the last good model stays: no handover at all */
	assert_int_equal(fx->seen.models, models);
	assert_int_equal(ntasks(fx->seen.last, WEB), 4);
	discovery_status(fx->d, &st);
	assert_string_equal(st.state_name, "degraded");
	assert_string_not_equal(st.last_error, "");
	assert_true(st.last_error_ms > 0);
	assert_true(st.request_failures > 0);

	/* it comes back with a change: resynced */
	{
		char *old = dm.tasks;

		dm.tasks = strdup("[]");
		free(old);
	}
	fx->fake = fakedocker_start(fx->sock, handler, NULL);
	assert_non_null(fx->fake);
	assert_true(run(fx, is_synced, 15000));
	discovery_status(fx->d, &st);
	assert_true(st.syncs >= 2);
	assert_int_equal(ntasks(fx->seen.last, WEB), 0);
}

static void test_auto_mode_sticks(void **state)
{
	struct fixture *fx = *state;
	struct discovery_status st;
	int models;

	/* A daemon shutting down answers "not a swarm manager" for a moment:
	 * auto mode must not switch to containers and drop every route. */
	start(fx, "auto");
	assert_true(run(fx, has_model, 5000));
	models = fx->seen.models;
	dm.swarm = 0;
	discovery_resync(fx->d);
	assert_true(run(fx, is_degraded, 5000));
	run(fx, NULL, 500);
	assert_int_equal(fx->seen.models, models);
	assert_string_equal(fx->seen.last->source, "swarm");
	discovery_status(fx->d, &st);
	assert_string_equal(st.mode, "swarm");
	assert_non_null(strstr(st.last_error, "not a swarm manager"));
	assert_int_equal(fakedocker_count(fx->fake, "/v1.41/containers"), 0);
	dm.swarm = 1;
	assert_true(run(fx, is_synced, 15000));
}

static void test_garbage_answers(void **state)
{
	struct fixture *fx = *state;
	int models;

	start(fx, "swarm");
	assert_true(run(fx, has_model, 5000));
	models = fx->seen.models;
	dm.garbage_tasks = 1;
	assert_true(run(fx, is_degraded, 5000));
	run(fx, NULL, 300);
	assert_int_equal(fx->seen.models, models);
	dm.garbage_tasks = 0;
	assert_true(run(fx, is_synced, 15000));
	assert_true(web_has_four_tasks(fx));
}

static void test_containers_mode(void **state)
{
	struct fixture *fx = *state;
	struct discovery_status st;

	dm.swarm = 0;
	start(fx, "auto");
	assert_true(run(fx, has_model, 5000));
	assert_string_equal(fx->seen.last->source, "docker");
	assert_int_equal(fx->seen.last->nsvcs, 1);
	assert_string_equal(fx->seen.last->svcs[0].name, "ssp-explore-c1");
	assert_string_equal(fx->seen.last->svcs[0].tasks[0].node, "vm");
	discovery_status(fx->d, &st);
	assert_string_equal(st.mode, "containers");
	assert_int_equal(fakedocker_count(fx->fake, "/v1.41/services"), 0);
	assert_int_equal(fakedocker_count(fx->fake, "/v1.41/tasks"), 0);
}

static void test_restricted_proxy(void **state)
{
	struct fixture *fx = *state;
	struct discovery_status st;
	unsigned lists;

	/* a socket proxy allowing services, tasks, networks, nodes but not
	 * /info nor /events: auto mode asks the service list instead, and
	 * changes are followed by polling */
	dm.info_forbidden = 1;
	dm.events_forbidden = 1;
	start(fx, "auto");
	assert_true(run(fx, has_model, 10000));
	discovery_status(fx->d, &st);
	assert_string_equal(st.mode, "swarm");
	assert_int_equal(st.state, DISCOVERY_SYNCED);
	assert_false(st.events_connected);
	lists = fakedocker_count(fx->fake, "/v1.41/services");
	run(fx, NULL, 1000);
	/* services are polled too, at the slow interval, bounded */
	assert_true(fakedocker_count(fx->fake, "/v1.41/services") > lists);
	assert_true(fakedocker_count(fx->fake, "/v1.41/services") < lists + 15);
}

/* The period of the polls from Docker's answer times. */
static void test_poll_period(void **state)
{
	const unsigned costs[] = { 400, 300, 500 }, small[] = { 10, 20 };
	const unsigned ring[] = { 5000, 200, 300, 400, 100 };

	(void)state;
	assert_int_equal(discovery_poll_period(150, 2, NULL, 0), 150);
	assert_int_equal(discovery_poll_period(150, 2, small, 2), 150);
	/* the shortest answer, times the factor */
	assert_int_equal(discovery_poll_period(150, 2, costs, 3), 600);
	/* one answer that waited (5 s) does not stretch it; 4 samples at most */
	assert_int_equal(discovery_poll_period(1000, 10, ring, 5), 2000);
	assert_int_equal(discovery_poll_period(1000, 10, ring, 1), 50000);
}

/* What a poll filtered by ID is expected to cost: the recent polls of at
 * least half as many IDs scaled up to that number (never down), the least
 * of them; the widest poll when none is that wide.
 */
static void test_filtered_cost(void **state)
{
	const unsigned ms[] = { 100, 300, 40, 1000, 1 }, ids[] = { 10, 20, 1, 100, 1 };

	(void)state;
	assert_int_equal(discovery_filtered_cost(ms, ids, 0, 50), 0);
	/* 300 ms for 20 IDs: 450 ms for 30 (10 IDs are too few to scale) */
	assert_int_equal(discovery_filtered_cost(ms, ids, 2, 30), 450);
	/* none asked for 25 IDs or more: the widest one, scaled */
	assert_int_equal(discovery_filtered_cost(ms, ids, 2, 50), 750);
	/* fewer IDs than asked before: not less than that answer took */
	assert_int_equal(discovery_filtered_cost(ms, ids, 2, 5), 100);
	/* 1 s for 100 IDs; 40 ms for one ID does not count for 50 */
	assert_int_equal(discovery_filtered_cost(ms, ids, 4, 50), 1000);
	assert_int_equal(discovery_filtered_cost(ms, ids, 4, 1), 40);
	/* 4 samples at most */
	assert_int_equal(discovery_filtered_cost(ms, ids, 5, 1), 40);
}

/* Synthetic services s0000.. of one replica, tasks in <state>. */
static void many_services(size_t n, const char *state)
{
	struct sbuf svcs = SBUF_INIT, tasks = SBUF_INIT;

	fixture_many_services(n, state, &svcs, &tasks);
	assert_false(svcs.oom || tasks.oom);
	free(dm.services);
	free(dm.tasks);
	dm.services = strdup(svcs.buf);
	dm.tasks = strdup(tasks.buf);
	sbuf_free(&svcs);
	sbuf_free(&tasks);
}

/* 500 services whose tasks are starting: one request per fast period for
 * all of them (unfiltered, past the filter's size), not 500; the count is
 * shown. When Docker answers in 100 ms, the period stretches to 200 ms.
 */
static void test_many_converging(void **state)
{
	struct fixture *fx = *state;
	struct discovery_status st;
	unsigned polls;

	many_services(500, "starting");
	start(fx, "swarm");
	assert_true(run(fx, has_model, 5000));
	polls = tasks_polls_during(fx, 1000);
	/* fast (50 ms; the slow period is 200 ms), one request each */
	assert_true(polls >= 8);
	assert_true(polls <= 1000 / 50 + 2);
	assert_int_equal(fakedocker_count(fx->fake, "/v1.41/services/"), 0);
	discovery_status(fx->d, &st);
	assert_int_equal(st.converging_services, 500);
	assert_int_equal(st.stuck_services, 0);
	assert_true(st.poll_period_ms >= 50 && st.poll_period_ms < 1000);
	assert_true(st.requests_per_s >= 0.0);

	/* a slow Docker: 100 ms per answer, polls 200 ms apart at least */
	__atomic_store_n(&dm.tasks_delay_ms, 100, __ATOMIC_SEQ_CST);
	run(fx, NULL, 1000);   /* the answer times of the last polls are all slow now */
	polls = tasks_polls_during(fx, 2000);
	assert_true(polls >= 4);
	assert_true(polls <= 2000 / 200 + 1);
	discovery_status(fx->d, &st);
	assert_true(st.poll_period_ms >= 200);

	/* all running: settled, back to the slow period */
	__atomic_store_n(&dm.tasks_delay_ms, 0, __ATOMIC_SEQ_CST);
	many_services(500, "running");
	run(fx, NULL, 1500);
	discovery_status(fx->d, &st);
	assert_int_equal(st.converging_services, 0);
	assert_int_equal(st.poll_period_ms, 200);
}

/* A container event of a converging service's task: a poll at once, then
 * every 50 ms for 250 ms (the manager stores the task's new state a little
 * after the event), rather than at the next fast poll (here 1 s).
 */
static void test_container_event_follow_up(void **state)
{
	struct fixture *fx = *state;
	unsigned polls;

	many_services(5, "starting");
	start_polling(fx, "swarm", 1000, 5000);
	assert_true(run(fx, has_model, 5000));
	/* just after a fast poll (one a second) */
	polls = fakedocker_count(fx->fake, "/v1.41/tasks");
	for (int i = 0; i < 3000 && fakedocker_count(fx->fake, "/v1.41/tasks") == polls; i++)
		run(fx, NULL, 1);
	assert_true(fakedocker_count(fx->fake, "/v1.41/tasks") > polls);
	run(fx, NULL, 20);
	fakedocker_push(fx->fake, "{\"Type\":\"container\",\"Action\":\"health_status: healthy\","
			"\"Actor\":{\"ID\":\"c1\",\"Attributes\":{\"com.docker.swarm.service.id\":"
			"\"s0001\",\"name\":\"s0001.1.t0001\"}},\"scope\":\"local\",\"timeNano\":1}");
	polls = tasks_polls_during(fx, 500);
	/* at 0, 50, 100, 150, 200 and 250 ms: one more or less at the edges
	 * of the window on a loaded machine; none more until the second */
	assert_true(polls >= 4);
	assert_true(polls <= 7);
}

/* 500 services converging; one poll's answer waits 3 s: the poll is asked
 * again after twice the recent answer time (here the 50 ms fast period),
 * the second answer ends it and cancels the first, and polling goes on
 * meanwhile rather than waiting 3 s.
 */
static void test_hedged_poll(void **state)
{
	struct fixture *fx = *state;
	struct discovery_status st;

	many_services(500, "starting");
	start(fx, "swarm");
	assert_true(run(fx, has_model, 5000));
	run(fx, NULL, 300);   /* fast answers measured */
	discovery_status(fx->d, &st);
	assert_int_equal(st.hedged_polls, 0);
	__atomic_store_n(&dm.web_tasks_delay_ms, 3000, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&dm.web_tasks_delay_ms, __ATOMIC_SEQ_CST))
		run(fx, NULL, 5);
	/* the slow request is in flight from here */
	assert_true(tasks_polls_during(fx, 1000) >= 4);
	discovery_status(fx->d, &st);
	assert_true(st.hedged_polls >= 1);
	assert_true(st.hedge_wins >= 1);
	assert_int_equal(st.state, DISCOVERY_SYNCED);
	assert_int_equal(st.converging_services, 500);
}

/* 50 services converging (a scale step), full answers slow (300 ms),
 * filtered ones fast: once one filtered poll measured it, the polls stay
 * filtered by ID rather than asking for every task.
 */
static void test_step_filtered(void **state)
{
	struct fixture *fx = *state;
	unsigned filtered, full;

	many_services(50, "preparing");
	dm.full_delay_ms = 300;
	start(fx, "swarm");
	assert_true(run(fx, has_model, 5000));
	run(fx, NULL, 500);
	filtered = __atomic_load_n(&dm.filtered_polls, __ATOMIC_SEQ_CST);
	full = __atomic_load_n(&dm.full_polls, __ATOMIC_SEQ_CST);
	run(fx, NULL, 1500);
	filtered = __atomic_load_n(&dm.filtered_polls, __ATOMIC_SEQ_CST) - filtered;
	full = __atomic_load_n(&dm.full_polls, __ATOMIC_SEQ_CST) - full;
	/* fast polls (50 ms), filtered; a full one when the slow period is due */
	assert_true(filtered >= 8);
	assert_true(full <= 3);
}

static void test_bad_options(void **state)
{
	struct fixture *fx = *state;
	struct discovery_opts o = { .url = "ssh://host", .mode = "auto" };
	char err[256];

	assert_null(discovery_new(fx->loop, &o, on_model, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "ssh"));
	o.url = "unix:///var/run/docker.sock";
	o.mode = "kubernetes";
	assert_null(discovery_new(fx->loop, &o, on_model, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "kubernetes"));
}

/* Filtered by ID or not: whichever the recent answers say costs Docker
 * less, each kind measured once first; never past 100 IDs, nor when all
 * tasks take less than 100 ms.
 */
static void test_poll_unfiltered(void **state)
{
	const unsigned sub_ms[] = { 120, 40, 400 }, sub_ids[] = { 10, 2, 40 };
	const unsigned all_ms[] = { 300, 160, 900 }, cheap_all[] = { 400, 60 };
	const unsigned tie_all[] = { 120 }, slow_all[] = { 500 };

	(void)state;
	/* nothing measured, or one kind only: the kind not measured yet */
	assert_true(discovery_poll_unfiltered(NULL, NULL, 0, NULL, 0, 1));
	assert_true(discovery_poll_unfiltered(sub_ms, sub_ids, 3, NULL, 0, 2));
	assert_false(discovery_poll_unfiltered(NULL, NULL, 0, all_ms, 3, 10));
	assert_false(discovery_poll_unfiltered(NULL, NULL, 0, all_ms, 3, 50));
	/* all tasks in 60 ms (the shortest of two): never filtered */
	assert_true(discovery_poll_unfiltered(NULL, NULL, 0, cheap_all, 2, 10));
	assert_true(discovery_poll_unfiltered(sub_ms, sub_ids, 3, cheap_all, 2, 2));
	/* 160 ms for all tasks: 20 IDs would take 240 ms (scaled from 10),
	 * all tasks then; 2 IDs 40 ms, filtered */
	assert_true(discovery_poll_unfiltered(sub_ms, sub_ids, 3, all_ms, 3, 20));
	assert_false(discovery_poll_unfiltered(sub_ms, sub_ids, 3, all_ms, 3, 2));
	/* the same cost: filtered, the smaller answer */
	assert_false(discovery_poll_unfiltered(sub_ms, sub_ids, 3, tie_all, 1, 10));
	/* a big swarm, 500 ms for all tasks: 20 IDs (240 ms) filtered, 60
	 * (600 ms, scaled from 40) not */
	assert_false(discovery_poll_unfiltered(sub_ms, sub_ids, 3, slow_all, 1, 20));
	assert_true(discovery_poll_unfiltered(sub_ms, sub_ids, 3, slow_all, 1, 60));
	/* only 10 IDs measured: 50 would take 600 ms (scaled), not 120 */
	assert_true(discovery_poll_unfiltered(sub_ms, sub_ids, 1, slow_all, 1, 50));
	/* past 100 IDs, however cheap filtering looks */
	assert_true(discovery_poll_unfiltered(sub_ms, sub_ids, 2, slow_all, 1, 101));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sync_steady_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_node_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_answer_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_daemon_away_and_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auto_mode_sticks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_containers_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restricted_proxy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_options, setup, teardown),
		cmocka_unit_test(test_poll_period),
		cmocka_unit_test(test_filtered_cost),
		cmocka_unit_test(test_poll_unfiltered),
		cmocka_unit_test_setup_teardown(test_many_converging, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hedged_poll, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answer_times, setup, teardown),
		cmocka_unit_test_setup_teardown(test_container_event_follow_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_step_filtered, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
