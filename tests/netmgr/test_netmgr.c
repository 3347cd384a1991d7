/* The network manager's machine (netmgr.c) against a scripted daemon
 * (fakedocker.c) that plays the swarm: the proxy service and its version,
 * its networks and labels, a stack network with its load balancer
 * endpoint. The decisions themselves are test_netplan.c's; here, their
 * sequencing: one update per change, the version sent, a refused update
 * (the other agent was first) looked at again and not repeated, the grace
 * period, the removal once the network is left, back-off on failures, the
 * wait after a rollback, the operator's networks never touched.
 *
 * Guards issue 5.
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
#include <jansson.h>

#include "common/clock.h"
#include "common/errlog.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "dockerapi/dockerapi.h"
#include "dockerapi/dockerhost.h"
#include "netmgr/netmgr.h"
#include "routing/model.h"
#include "routing/routesfile.h"
#include "routing/rtable.h"
#include "tests/lib/fakedocker.h"

#define CTL "ctl0000000000000000000001"   /* the pair's control network */
#define APP "app0000000000000000000003"   /* stack "app"'s network */

/* The swarm the fake daemon plays. Read and written by its thread, one
 * request at a time; the test reads it between loop runs.
 */
struct world {
	int version;            /* the proxy service's Version.Index */
	int app_exists;         /* app_net is listed */
	int attached;           /* the proxy is on app_net */
	int managed;            /* ... and the managed label lists it */
	int detached;           /* the detached label lists it */
	int lb_answers;         /* GET /networks/APP shows an lb endpoint this many more times */
	int conflict;           /* refuse the next update: someone else made it */
	int proxy_missing;
	const char *proxy_error; /* GET of the proxy answers 500 with this message */
	const char *update_state;
	int64_t update_ms;      /* UpdateStatus.CompletedAt, wall clock */
	int bad_version;        /* an update came with another version than the current one */
	int posts_ok;
	const char *updates;    /* the rate limit's label, NULL: none */
};

static struct world world;

static char *dup_str(const char *s, size_t *len)
{
	char *d = strdup(s);

	assert_non_null(d);
	*len = strlen(d);
	return d;
}

static void proxy_json(struct sbuf *b)
{
	char when[64] = "0001-01-01T00:00:00Z";

	if (world.update_ms) {
		time_t t = (time_t)(world.update_ms / 1000);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	sbuf_printf(b, "{\"ID\":\"pxid\",\"Version\":{\"Index\":%d},\"Spec\":{\"Name\":\"p_haproxy\","
		    "\"Labels\":{\"com.docker.stack.namespace\":\"p\"", world.version);
	if (world.managed)
		sbuf_puts(b, ",\"swarm-spoa.managed-networks\":\"" APP "\"");
	if (world.detached)
		sbuf_puts(b, ",\"swarm-spoa.detached-networks\":\"" APP "\"");
	if (world.updates)
		sbuf_printf(b, ",\"swarm-spoa.network-updates\":\"%s\"", world.updates);
	sbuf_puts(b, "},\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"haproxy\"},\"Networks\":["
		  "{\"Target\":\"" CTL "\",\"Aliases\":[\"haproxy\"]}");
	if (world.attached)
		sbuf_puts(b, ",{\"Target\":\"" APP "\"}");
	sbuf_puts(b, "]}}");
	if (world.update_state)
		sbuf_printf(b, ",\"UpdateStatus\":{\"State\":\"%s\",\"CompletedAt\":\"%s\"}",
			    world.update_state, when);
	sbuf_puts(b, "}");
}

static void handler(void *arg, const char *method, const char *path, struct fake_resp *r)
{
	struct sbuf b = SBUF_INIT;
	char want[64];

	(void)arg;
	r->status = 200;
	if (strcmp(method, "GET") == 0 && strcmp(path, "/networks") == 0) {
		sbuf_puts(&b, "[{\"Id\":\"" CTL "\",\"Name\":\"p_control\",\"Scope\":\"swarm\","
			  "\"Labels\":{\"com.docker.stack.namespace\":\"p\"}}");
		if (world.app_exists)
			sbuf_puts(&b, ",{\"Id\":\"" APP "\",\"Name\":\"app_net\",\"Scope\":\"swarm\","
				  "\"Labels\":{\"com.docker.stack.namespace\":\"app\"}}");
		sbuf_puts(&b, "]");
	} else if (strcmp(method, "GET") == 0 && strcmp(path, "/services/p_haproxy") == 0) {
		if (world.proxy_missing) {
			r->status = 404;
			sbuf_puts(&b, "{\"message\":\"service p_haproxy not found\"}");
		} else if (world.proxy_error) {
			r->status = 500;
			sbuf_printf(&b, "{\"message\":\"%s\"}", world.proxy_error);
		} else {
			proxy_json(&b);
		}
	} else if (strcmp(method, "POST") == 0 && strncmp(path, "/services/pxid/update?version=", 30) == 0) {
		snprintf(want, sizeof(want), "%d", world.version);
		if (world.conflict) {
			/* the other agent made the very same update first */
			world.conflict = 0;
			world.attached = world.managed = 1;
			world.version++;
			r->status = 500;
			sbuf_puts(&b, "{\"message\":\"rpc error: code = Unknown desc = update out of sequence\"}");
		} else {
			world.bad_version |= strcmp(path + 30, want) != 0;
			/* the change the manager asks for: the one the state calls for */
			world.attached = world.managed = !world.attached;
			world.detached = !world.attached;
			world.version++;
			world.posts_ok++;
			sbuf_puts(&b, "{\"Warnings\":null}");
		}
	} else if (strcmp(method, "GET") == 0 && strcmp(path, "/services") == 0) {
		sbuf_puts(&b, "[]");
	} else if (strcmp(path, "/networks/" APP) == 0) {
		if (!world.app_exists) {
			r->status = 404;
			sbuf_puts(&b, "{\"message\":\"network not found\"}");
		} else if (strcmp(method, "DELETE") == 0) {
			world.app_exists = 0;
			r->status = 204;
		} else {
			sbuf_puts(&b, "{\"Id\":\"" APP "\",\"Name\":\"app_net\",\"Containers\":{");
			if (world.lb_answers > 0) {
				world.lb_answers--;
				sbuf_puts(&b, "\"lb-app_net\":{\"Name\":\"app_net-endpoint\"}");
			}
			sbuf_puts(&b, "}}");
		}
	} else {
		r->status = 404;
		sbuf_puts(&b, "{\"message\":\"unexpected request\"}");
	}
	r->body = b.buf ? dup_str(b.buf, &r->len) : NULL;
	sbuf_free(&b);
}

/************************************************************************/
/*                               fixture                                */
/************************************************************************/

static const struct rtable *current;

static int complete(void)
{
	return 1;
}

static const struct rtable *current_table(void)
{
	return current;
}

/* A table of one routed service of stack <stack> whose network label is
 * <network>, or of none when it is NULL.
 */
static struct rtable *table_of(const char *network, const char *stack)
{
	struct rtable_build_opts bo = { .nworkers = 1 };
	struct sbuf json = SBUF_INIT;
	char err[256];
	struct model *m;
	const struct model *mm[1];
	struct rtable *t;

	if (network)
		sbuf_printf(&json, "{\"services\":[{\"name\":\"%s_web\",\"stack\":\"%s\",\"labels\":{"
			    "\"com.docker.lb.hosts\":\"a.test\",\"com.docker.lb.port\":\"80\","
			    "\"com.docker.lb.network\":\"%s\"},"
			    "\"tasks\":[{\"id\":\"t1\",\"address\":\"10.0.0.5\"}]}]}",
			    stack, stack, network);
	else
		sbuf_puts(&json, "{\"services\":[]}");
	m = routesfile_parse(json.buf, json.len, err, sizeof(err));
	sbuf_free(&json);
	assert_non_null(m);
	mm[0] = m;
	t = rtable_build(mm, 1, &bo);
	model_free(m);
	assert_non_null(t);
	return t;
}

static struct rtable *table(const char *network)
{
	return table_of(network, "app");
}

struct fixture {
	char sock[128];
	struct fakedocker *fake;
	struct ev_loop *loop;
	struct dockerapi *api;
	struct netmgr *m;
	struct rtable *tables[4];
	size_t ntables;
};

static struct fixture fx;

static int setup(void **state)
{
	struct dockerhost_env env = { 0 };
	struct dockerhost h;
	char url[200], err[256];

	(void)state;
	memset(&world, 0, sizeof(world));
	world.version = 10;
	world.app_exists = 1;
	memset(&fx, 0, sizeof(fx));
	log_set_level(LL_ERROR);
	snprintf(fx.sock, sizeof(fx.sock), "/tmp/ssp-netmgr-%d.sock", (int)getpid());
	fx.fake = fakedocker_start(fx.sock, handler, NULL);
	if (!fx.fake)
		return -1;
	snprintf(url, sizeof(url), "unix://%s", fx.sock);
	if (dockerhost_parse(&h, url, &env, err, sizeof(err)) < 0)
		return -1;
	fx.loop = ev_loop_new(EVFLAG_AUTO);
	fx.api = dockerapi_new(fx.loop, &h, err, sizeof(err));
	return fx.api ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	netmgr_free(fx.m);
	dockerapi_free(fx.api);
	ev_loop_destroy(fx.loop);
	fakedocker_stop(fx.fake);
	for (size_t i = 0; i < fx.ntables; i++)
		rtable_free(fx.tables[i]);
	current = NULL;
	return 0;
}

/* Publishes a table with a service whose network label is <network>, or
 * with none.
 */
static void publish_label(const char *network)
{
	assert_true(fx.ntables < 4);
	fx.tables[fx.ntables] = table(network);
	current = fx.tables[fx.ntables++];
	if (fx.m)
		netmgr_on_table(fx.m, current);
}

/* Publishes a table with a service of stack <stack> naming app_net. */
static void publish_stack(const char *stack)
{
	assert_true(fx.ntables < 4);
	fx.tables[fx.ntables] = table_of("app_net", stack);
	current = fx.tables[fx.ntables++];
	if (fx.m)
		netmgr_on_table(fx.m, current);
}

/* Publishes a table with or without a service naming app_net. */
static void publish(int with_user)
{
	publish_label(with_user ? "app_net" : NULL);
}

/* Starts the manager with a rate limit of <max_updates> in <window_s>. */
static void start_limited(unsigned grace_s, unsigned max_updates, unsigned window_s)
{
	struct netmgr_opts o = {
		.proxy_service = "p_haproxy",
		.grace_s = grace_s,
		.table_complete = complete,
		.current_table = current_table,
		.max_updates = max_updates,
		.window_s = window_s,
	};
	char err[256];

	fx.m = netmgr_new(fx.loop, fx.api, &o, err, sizeof(err));
	assert_non_null(fx.m);
}

static void start(unsigned grace_s)
{
	start_limited(grace_s, 0, 1);
}

/* Runs the loop for <ms>, or until <cond> holds when it is given. */
static void run(int64_t ms, int (*cond)(void))
{
	int64_t deadline = clock_mono_ms() + ms;

	while (clock_mono_ms() < deadline && !(cond && cond())) {
		ev_run(fx.loop, EVRUN_NOWAIT);
		usleep(2000);
	}
}

/* "show networks json", parsed. */
static json_t *shown(void)
{
	struct sbuf b = SBUF_INIT;
	json_error_t je;
	json_t *j;

	netmgr_show(fx.m, &b, 1);
	j = json_loads(b.buf, 0, &je);
	sbuf_free(&b);
	assert_non_null(j);
	return j;
}

static long long shown_int(const char *key)
{
	json_t *j = shown();
	long long v = json_integer_value(json_object_get(j, key));

	json_decref(j);
	return v;
}

/* The state "show networks" gives app_net, or "" when it is not listed. */
static const char *app_state(void)
{
	static char st[32];
	json_t *j = shown(), *n;
	size_t i;

	st[0] = '\0';
	json_array_foreach(json_object_get(j, "networks"), i, n)
		if (strcmp(json_string_value(json_object_get(n, "name")), "app_net") == 0)
			snprintf(st, sizeof(st), "%s", json_string_value(json_object_get(n, "state")));
	json_decref(j);
	return st;
}

static unsigned posts(void)
{
	return fakedocker_count(fx.fake, "/services/pxid/update");
}

static int posted(void)
{
	return posts() > 0;
}

static int app_gone(void)
{
	return !world.app_exists;
}

static int removed_one(void)
{
	return shown_int("removed") == 1;
}

static int attached(void)
{
	return strcmp(app_state(), "attached") == 0;
}

static int in_grace(void)
{
	return strcmp(app_state(), "grace") == 0;
}

static int looked(void)
{
	return shown_int("looks") >= 1 && strcmp(app_state(), "") != 0;
}

/* The app_net row of "show networks json" (a new reference). */
static json_t *app_row(void)
{
	json_t *j = shown(), *n, *found = NULL;
	size_t i;

	json_array_foreach(json_object_get(j, "networks"), i, n)
		if (strcmp(json_string_value(json_object_get(n, "name")), "app_net") == 0)
			found = json_incref(n);
	json_decref(j);
	assert_non_null(found);
	return found;
}

/************************************************************************/
/*                                tests                                 */
/************************************************************************/

/* A routed service names a network: one update, with the version read;
 * the next look finds it done and shows it attached by the agents.
 */
static void test_attach_once(void **state)
{
	(void)state;
	publish(1);
	start(1);
	run(5000, posted);
	assert_int_equal(posts(), 1);
	assert_false(world.bad_version);
	assert_true(world.attached);
	run(2000, NULL);
	assert_int_equal(posts(), 1);
	assert_string_equal(app_state(), "attached");
	assert_int_equal(shown_int("updates"), 1);
	assert_int_equal(shown_int("attached"), 1);
	assert_int_equal(shown_int("proxy_version"), 11);
}

/* The network label is read as routing reads it (blanks around the name
 * trimmed): the service that routes gets its network attached.
 */
static void test_label_as_routing_reads_it(void **state)
{
	(void)state;
	publish_label(" app_net ");
	start(1);
	run(5000, posted);
	assert_int_equal(posts(), 1);
	assert_true(world.attached);
	run(2000, NULL);
	assert_string_equal(app_state(), "attached");
}

/* Guards against a label of one stack putting the proxy on another
 * stack's network: no update; the refusal shows in "show networks" (for
 * whom, whose the network is) and in the metrics.
 */
static void test_other_stack_refused(void **state)
{
	struct sbuf b = SBUF_INIT;
	json_t *r;

	(void)state;
	publish_stack("evil");
	start(1);
	run(5000, looked);
	run(1500, NULL);
	assert_int_equal(posts(), 0);
	assert_false(world.attached);
	assert_string_equal(app_state(), "refused");
	r = app_row();
	assert_string_equal(json_string_value(json_object_get(r, "owner")), "evil");
	assert_string_equal(json_string_value(json_object_get(r, "network_stack")), "app");
	assert_int_equal(json_integer_value(json_object_get(r, "users")), 1);
	json_decref(r);
	assert_int_equal(shown_int("refused"), 1);
	assert_int_equal(shown_int("refusals"), 1);
	netmgr_metrics(fx.m, &b);
	assert_non_null(strstr(b.buf, "\nswarm_spoa_netmgr_networks_refused 1\n"));
	assert_non_null(strstr(b.buf, "\nswarm_spoa_netmgr_network_refusals_total 1\n"));
	sbuf_reset(&b);
	netmgr_show(fx.m, &b, 0);
	assert_non_null(strstr(b.buf, "(for evil; network of stack app)"));
	sbuf_free(&b);

	/* the stack's own service: attached */
	publish_stack("app");
	run(5000, posted);
	assert_int_equal(posts(), 1);
	assert_true(world.attached);
}

/* The rate limit: an update made a second ago fills a limit of one in
 * ten minutes; the attach waits, and "show networks" says for how long.
 */
static void test_rate_limit_shown(void **state)
{
	char recent[32];
	struct sbuf b = SBUF_INIT;
	json_t *r;

	(void)state;
	snprintf(recent, sizeof(recent), "%lld", (long long)(clock_wall_ms() - 1000));
	world.updates = recent;
	publish(1);
	start_limited(1, 1, 600);
	run(5000, looked);
	run(1500, NULL);
	assert_int_equal(posts(), 0);
	assert_string_equal(app_state(), "attach");
	r = app_row();
	assert_non_null(strstr(json_string_value(json_object_get(r, "reason")), "rate limit"));
	assert_true(json_integer_value(json_object_get(r, "grace_left_ms")) > 590000);
	json_decref(r);
	assert_int_equal(shown_int("max_updates"), 1);
	assert_int_equal(shown_int("window_s"), 600);
	assert_int_equal(shown_int("updates_in_window"), 1);
	assert_true(shown_int("held_ms") > 590000);
	assert_int_equal(shown_int("holds"), 1);
	netmgr_show(fx.m, &b, 0);
	assert_non_null(strstr(b.buf, "rate limit: 1 updates per 600s, 1 in the window, changes held for 59"));
	sbuf_reset(&b);
	netmgr_metrics(fx.m, &b);
	assert_non_null(strstr(b.buf, "\nswarm_spoa_netmgr_update_held 1\n"));
	sbuf_free(&b);
}

/* "show networks" as text: the manager, then one aligned row a network. */
static void test_show_text(void **state)
{
	struct sbuf b = SBUF_INIT;
	const char *rows;

	(void)state;
	publish(1);
	start(1);
	run(5000, posted);
	run(2000, NULL);
	netmgr_show(fx.m, &b, 0);
	assert_non_null(strstr(b.buf, "proxy service: p_haproxy (id pxid, version 11)\n"));
	rows = strstr(b.buf, "\n\nNETWORK ");
	assert_non_null(rows);
	assert_string_equal(rows, "\n\n"
		"NETWORK    ID                         STATE     USERS      GRACE  REASON\n"
		"p_control  ctl0000000000000000000001  operator  0          -      "
		"attached by the operator: never detached\n"
		"app_net    app0000000000000000000003  attached  1 app_web  -      "
		"named by routed services\n");
	sbuf_free(&b);
}

/* A Docker error with a line feed and an escape is shown as text in
 * "show networks": it cannot forge a line on the operator's terminal.
 */
static void test_show_text_escaped(void **state)
{
	struct sbuf b = SBUF_INIT;

	(void)state;
	world.proxy_error = "boom\\nNETWORK  forged\\u001b[2J";
	publish(1);
	start(1);
	run(3000, NULL);
	netmgr_show(fx.m, &b, 0);
	assert_non_null(strstr(b.buf, "last error: reading the proxy service: "));
	assert_non_null(strstr(b.buf, "boom\\x0aNETWORK  forged\\x1b[2J ("));
	assert_null(strchr(b.buf, '\x1b'));
	assert_null(strstr(b.buf, "\nNETWORK  forged"));
	sbuf_free(&b);
}

/* The other agent updated the service first: the refused update is looked
 * at again, found done, and not repeated.
 */
static void test_conflict_not_repeated(void **state)
{
	(void)state;
	world.conflict = 1;
	publish(1);
	start(1);
	run(5000, posted);
	run(3000, NULL);
	assert_int_equal(posts(), 1);
	assert_int_equal(world.posts_ok, 0);
	assert_int_equal(shown_int("conflicts"), 1);
	assert_int_equal(shown_int("updates"), 0);
	assert_string_equal(app_state(), "attached");
}

/* No routed service names the network the agents attached: detached after
 * the grace period, then removed once this node's load balancer endpoint
 * has left it, and only then.
 */
static void test_detach_then_remove(void **state)
{
	int64_t t0;

	(void)state;
	world.attached = world.managed = 1;
	world.lb_answers = 2;
	publish(0);
	t0 = clock_mono_ms();
	start(1);
	run(6000, posted);
	/* a first look after the table is complete, then the grace */
	assert_true(clock_mono_ms() - t0 >= 1000);
	assert_int_equal(posts(), 1);
	assert_true(world.detached);
	run(6000, app_gone);
	assert_true(app_gone());
	assert_true(fakedocker_count(fx.fake, "/networks/" APP) >= 4);   /* 3 looks + DELETE */
	run(2000, removed_one);   /* the answer to the DELETE */
	assert_int_equal(shown_int("removed"), 1);
	assert_int_equal(shown_int("detached"), 1);
	run(1500, NULL);
	assert_int_equal(posts(), 1);
	assert_string_equal(app_state(), "");
}

/* The service comes back within the grace period (a redeploy): the
 * network stays, nothing is updated.
 */
static void test_redeploy_within_grace(void **state)
{
	(void)state;
	world.attached = world.managed = 1;
	publish(1);
	start(2);
	run(5000, attached);
	assert_string_equal(app_state(), "attached");
	publish(0);
	run(5000, in_grace);
	assert_string_equal(app_state(), "grace");
	publish(1);
	run(3000, NULL);
	assert_int_equal(posts(), 0);
	assert_string_equal(app_state(), "attached");
}

/* The operator's networks are never detached, whatever the labels say. */
static void test_operator_networks_kept(void **state)
{
	(void)state;
	world.attached = 1;   /* on app_net, but not by the agents */
	publish(0);
	start(1);
	run(5000, NULL);
	assert_int_equal(posts(), 0);
	assert_string_equal(app_state(), "operator");
	assert_true(world.app_exists);
}

/* No such proxy service: reported once, retried with back-off. */
static void test_missing_proxy_backs_off(void **state)
{
	uint64_t errors = errlog_count(ERRLOG_DOCKER);
	json_t *j;

	(void)state;
	world.proxy_missing = 1;
	publish(1);
	start(1);
	run(6000, NULL);
	/* looks at about 2, 3, 5 s: not a tight loop */
	assert_true(fakedocker_count(fx.fake, "/services/p_haproxy") <= 4);
	assert_true(fakedocker_count(fx.fake, "/services/p_haproxy") >= 2);
	assert_int_equal(errlog_count(ERRLOG_DOCKER), errors + 1);
	j = shown();
	assert_non_null(strstr(json_string_value(json_object_get(j, "last_error")), "no such service"));
	assert_true(json_integer_value(json_object_get(j, "failures")) >= 2);
	json_decref(j);
	assert_int_equal(posts(), 0);
}

/* Swarm rolled the last update back a moment ago: the same update waits. */
static void test_rolled_back_waits(void **state)
{
	json_t *j;

	(void)state;
	world.update_state = "rollback_completed";
	world.update_ms = clock_wall_ms();
	publish(1);
	start(1);
	run(4000, NULL);
	assert_int_equal(posts(), 0);
	j = shown();
	assert_string_equal(json_string_value(json_object_get(j, "last_error")), "rolled back");
	json_decref(j);
	assert_string_equal(app_state(), "attach");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_attach_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_label_as_routing_reads_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_show_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_stack_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit_shown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_show_text_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflict_not_repeated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detach_then_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redeploy_within_grace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_operator_networks_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_proxy_backs_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rolled_back_waits, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
