/* Where a certificate name is looked for (certs/certblob.c), against a
 * scripted Docker daemon. Guards the resolution rule: a name is of one
 * kind, given by the label alone. Before it, a name was looked for as a
 * file, then a config, then a secret: a config created first under the
 * name of another team's secret was read in its place, and the secret was
 * never mounted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <ev.h>

#include "certs/certblob.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "dockerapi/dockerapi.h"
#include "dockerapi/dockerhost.h"
#include "tests/lib/fakedocker.h"

/* "CONFIG-DATA" */
#define CONFIG_DATA_B64 "Q09ORklHLURBVEE="

/* The swarm: the bank's secret bank_cert, and a config of the same name
 * that another team created first; a config only_config and nothing
 * else of that name.
 */
static void handler(void *arg, const char *method, const char *path, struct fake_resp *r)
{
	const char *body = "[]";

	(void)arg;
	r->status = 200;
	if (strcmp(method, "GET") == 0 && strncmp(path, "/configs", 8) == 0)
		body = "[{\"ID\":\"cfg1\",\"Spec\":{\"Name\":\"bank_cert\",\"Data\":\"" CONFIG_DATA_B64
		       "\"}},{\"ID\":\"cfg2\",\"Spec\":{\"Name\":\"only_config\",\"Data\":\""
		       CONFIG_DATA_B64 "\"}}]";
	else if (strcmp(method, "GET") == 0 && strncmp(path, "/secrets", 8) == 0)
		body = "[{\"ID\":\"sec1\",\"Spec\":{\"Name\":\"bank_cert\"}}]";
	else
		r->status = 404;
	r->body = strdup(body);
	r->len = strlen(body);
}

struct fixture {
	char sock[128];
	char dir[128];
	struct fakedocker *fake;
	struct ev_loop *loop;
	struct dockerapi *api;
	struct certblob_store *store;
};

static struct fixture fx;

static int setup(void **state)
{
	struct dockerhost_env env = { 0 };
	struct dockerhost h;
	struct certblob_opts o = { 0 };
	char url[200], err[256];

	(void)state;
	memset(&fx, 0, sizeof(fx));
	log_set_level(LL_ERROR);
	snprintf(fx.sock, sizeof(fx.sock), "/tmp/ssp-certblob-%d.sock", (int)getpid());
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/ssp-certblob-%d", (int)getpid());
	if (mkdir(fx.dir, 0700) < 0)
		return -1;
	fx.fake = fakedocker_start(fx.sock, handler, NULL);
	if (!fx.fake)
		return -1;
	snprintf(url, sizeof(url), "unix://%s", fx.sock);
	if (dockerhost_parse(&h, url, &env, err, sizeof(err)) < 0)
		return -1;
	fx.loop = ev_loop_new(EVFLAG_AUTO);
	fx.api = dockerapi_new(fx.loop, &h, err, sizeof(err));
	if (!fx.api)
		return -1;
	o.certs_dir = fx.dir;
	o.api = fx.api;
	fx.store = certblob_store_new(&o);
	return fx.store ? 0 : -1;
}

static int teardown(void **state)
{
	char path[300];
	const char *files[] = { "bank_cert", "mounted" };

	(void)state;
	certblob_store_free(fx.store);
	dockerapi_free(fx.api);
	ev_loop_destroy(fx.loop);
	fakedocker_stop(fx.fake);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", fx.dir, files[i]);
		unlink(path);
	}
	rmdir(fx.dir);
	return 0;
}

static void write_file(const char *name, const char *text)
{
	char path[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fx.dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void on_guard(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
}

/* Runs the loop until the lookup of <b> ended (5 s at most). */
static void settle(struct certblob *b)
{
	ev_timer guard;
	ev_tstamp end = ev_now(fx.loop) + 5.0;

	ev_timer_init(&guard, on_guard, 0.05, 0.05);
	ev_timer_start(fx.loop, &guard);
	while ((b->state == CERTBLOB_QUEUED || b->state == CERTBLOB_LOOKING) &&
	       ev_now(fx.loop) < end)
		ev_run(fx.loop, EVRUN_ONCE);
	ev_timer_stop(fx.loop, &guard);
	assert_true(b->state != CERTBLOB_QUEUED && b->state != CERTBLOB_LOOKING);
}

/* A bare name is a secret, as in Interlock: the config of the same name
 * is never asked for, and the secret is the one to mount. */
static void test_bare_name_is_a_secret(void **state)
{
	struct certblob *b;

	(void)state;
	b = certblob_use(fx.store, CERTREF_SECRET, "bank_cert");
	assert_non_null(b);
	settle(b);
	assert_int_equal(b->state, CERTBLOB_SECRET);
	assert_string_equal(b->secret_id, "sec1");
	assert_string_equal(certblob_source(b), "secret");
	assert_non_null(strstr(b->reason, "secret bank_cert is not mounted into the agent"));
	assert_int_equal(fakedocker_count(fx.fake, "/configs"), 0);
	assert_int_equal(fakedocker_count(fx.fake, "/secrets"), 1);
}

/* A bare name with only a config of that name: not found, and the reason
 * says how to name the config. */
static void test_bare_name_never_a_config(void **state)
{
	struct certblob *b;

	(void)state;
	b = certblob_use(fx.store, CERTREF_SECRET, "only_config");
	settle(b);
	assert_int_equal(b->state, CERTBLOB_MISSING);
	assert_non_null(strstr(b->reason, "no secret named only_config"));
	assert_non_null(strstr(b->reason, "config:only_config"));
	assert_int_equal(b->data.len, 0);
	assert_int_equal(fakedocker_count(fx.fake, "/configs"), 0);
}

/* config:NAME is the config, even with a secret of that name mounted. */
static void test_config_kind(void **state)
{
	struct certblob *b;

	(void)state;
	write_file("bank_cert", "MOUNTED-SECRET");
	b = certblob_use(fx.store, CERTREF_CONFIG, "bank_cert");
	settle(b);
	assert_int_equal(b->state, CERTBLOB_CONFIG);
	assert_int_equal(b->data.len, 11);
	assert_memory_equal(b->data.buf, "CONFIG-DATA", 11);
	assert_int_equal(fakedocker_count(fx.fake, "/secrets"), 0);
	/* and the secret of that name is a blob of its own: its mount */
	b = certblob_use(fx.store, CERTREF_SECRET, "bank_cert");
	assert_int_equal(b->state, CERTBLOB_FILE);
	assert_memory_equal(b->data.buf, "MOUNTED-SECRET", 14);
	b = certblob_use(fx.store, CERTREF_CONFIG, "no_such_config");
	settle(b);
	assert_int_equal(b->state, CERTBLOB_MISSING);
	assert_string_equal(b->reason, "no config named no_such_config");
}

/* file:NAME is the file: Docker is never asked, for nothing to mount. */
static void test_file_kind(void **state)
{
	struct certblob *b;

	(void)state;
	b = certblob_use(fx.store, CERTREF_FILE, "bank_cert");
	assert_int_equal(b->state, CERTBLOB_MISSING);
	assert_non_null(strstr(b->reason, "no file"));
	write_file("mounted", "FILE-DATA");
	b = certblob_use(fx.store, CERTREF_FILE, "mounted");
	assert_int_equal(b->state, CERTBLOB_FILE);
	assert_int_equal(fakedocker_count(fx.fake, ""), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bare_name_is_a_secret, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bare_name_never_a_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_kind, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
