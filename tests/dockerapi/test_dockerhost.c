/* Docker endpoint parsing: --docker URLs, DOCKER_HOST and the TLS variables
 * read as the docker CLI reads them (a user's existing environment must
 * mean the same to the agent as to `docker`).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "dockerapi/dockerhost.h"

static char certdir[256];

static void touch(const char *dir, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("-----BEGIN CERTIFICATE-----\n", f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(certdir, sizeof(certdir), "/tmp/swarm-spoa-certs-XXXXXX");
	if (!mkdtemp(certdir))
		return -1;
	touch(certdir, "ca.pem");
	touch(certdir, "cert.pem");
	touch(certdir, "key.pem");
	return 0;
}

static int teardown(void **state)
{
	char path[512];

	(void)state;
	for (const char *const *n = (const char *const[]){ "ca.pem", "cert.pem", "key.pem", NULL }; *n; n++) {
		snprintf(path, sizeof(path), "%s/%s", certdir, *n);
		unlink(path);
	}
	rmdir(certdir);
	return 0;
}

static int parse(struct dockerhost *h, const char *url, const struct dockerhost_env *env, char *err)
{
	return dockerhost_parse(h, url, env, err, 256);
}

static void test_unix(void **state)
{
	struct dockerhost_env env = { 0 };
	struct dockerhost h;
	char err[256];

	(void)state;
	assert_int_equal(parse(&h, "unix:///var/run/docker.sock", &env, err), 0);
	assert_true(h.unix_socket);
	assert_string_equal(h.socket_path, "/var/run/docker.sock");
	assert_string_equal(h.base_url, "http://localhost");
	assert_string_equal(h.endpoint, "unix:///var/run/docker.sock");
	assert_false(h.tls);

	/* "auto" and NULL: DOCKER_HOST, else the default socket */
	assert_int_equal(parse(&h, "auto", &env, err), 0);
	assert_string_equal(h.socket_path, DOCKERHOST_DEFAULT_SOCKET);
	assert_int_equal(parse(&h, NULL, &env, err), 0);
	assert_string_equal(h.socket_path, DOCKERHOST_DEFAULT_SOCKET);
	env.docker_host = "unix:///run/user/1000/docker.sock";
	assert_int_equal(parse(&h, "auto", &env, err), 0);
	assert_string_equal(h.socket_path, "/run/user/1000/docker.sock");
	/* an explicit URL wins over DOCKER_HOST */
	assert_int_equal(parse(&h, "unix:///x.sock", &env, err), 0);
	assert_string_equal(h.socket_path, "/x.sock");
	/* a bare path is a socket */
	assert_int_equal(parse(&h, "/var/run/docker.sock", &env, err), 0);
	assert_true(h.unix_socket);

	/* TLS variables do not apply to a unix socket */
	env.tls_verify = "1";
	assert_int_equal(parse(&h, "unix:///var/run/docker.sock", &env, err), 0);
	assert_false(h.tls);

	assert_int_equal(parse(&h, "unix://", &env, err), -1);
	{
		char longp[300];

		memset(longp, 'a', sizeof(longp));
		memcpy(longp, "unix:///", 8);
		longp[sizeof(longp) - 1] = '\0';
		assert_int_equal(parse(&h, longp, &env, err), -1);
		assert_non_null(strstr(err, "too long"));
	}
}

static void test_tcp_plain(void **state)
{
	struct dockerhost_env env = { 0 };
	struct dockerhost h;
	char err[256];

	(void)state;
	assert_int_equal(parse(&h, "tcp://10.0.0.5:2375", &env, err), 0);
	assert_false(h.unix_socket);
	assert_false(h.tls);
	assert_string_equal(h.base_url, "http://10.0.0.5:2375");
	assert_int_equal(parse(&h, "tcp://docker.example.org", &env, err), 0);
	assert_string_equal(h.base_url, "http://docker.example.org:2375");
	assert_int_equal(parse(&h, "tcp://:2375", &env, err), 0);
	assert_string_equal(h.base_url, "http://localhost:2375");
	assert_int_equal(parse(&h, "tcp://[::1]:2375", &env, err), 0);
	assert_string_equal(h.base_url, "http://[::1]:2375");
	assert_int_equal(parse(&h, "tcp://[fd00::1]", &env, err), 0);
	assert_string_equal(h.base_url, "http://[fd00::1]:2375");
	/* a base path, as behind a reverse proxy */
	assert_int_equal(parse(&h, "tcp://proxy:8080/docker/", &env, err), 0);
	assert_string_equal(h.base_url, "http://proxy:8080/docker");
	assert_int_equal(parse(&h, "http://127.0.0.1:2375", &env, err), 0);
	assert_string_equal(h.base_url, "http://127.0.0.1:2375");

	env.docker_host = "tcp://127.0.0.1:2375";
	assert_int_equal(parse(&h, "auto", &env, err), 0);
	assert_string_equal(h.base_url, "http://127.0.0.1:2375");

	assert_int_equal(parse(&h, "tcp://host:0", &env, err), -1);
	assert_int_equal(parse(&h, "tcp://host:99999", &env, err), -1);
	assert_int_equal(parse(&h, "tcp://host:12ab", &env, err), -1);
	assert_int_equal(parse(&h, "tcp://::1:2375", &env, err), -1);
	assert_non_null(strstr(err, "brackets"));
	assert_int_equal(parse(&h, "tcp://[::1", &env, err), -1);
	assert_int_equal(parse(&h, "ssh://user@host", &env, err), -1);
	assert_non_null(strstr(err, "ssh"));
	assert_int_equal(parse(&h, "npipe:////./pipe/docker_engine", &env, err), -1);
	assert_int_equal(parse(&h, "docker.sock", &env, err), -1);
}

static void test_tls(void **state)
{
	struct dockerhost_env env = { 0 };
	struct dockerhost h;
	char err[256], want[512];

	(void)state;
	/* DOCKER_TLS_VERIFY: https, verified against ca.pem, client cert */
	env.cert_path = certdir;
	env.tls_verify = "1";
	assert_int_equal(parse(&h, "tcp://docker.example.org:2376", &env, err), 0);
	assert_true(h.tls);
	assert_true(h.tls_verify);
	assert_string_equal(h.base_url, "https://docker.example.org:2376");
	snprintf(want, sizeof(want), "%s/ca.pem", certdir);
	assert_string_equal(h.ca_file, want);
	snprintf(want, sizeof(want), "%s/cert.pem", certdir);
	assert_string_equal(h.cert_file, want);
	snprintf(want, sizeof(want), "%s/key.pem", certdir);
	assert_string_equal(h.key_file, want);
	/* the TLS port by default */
	assert_int_equal(parse(&h, "tcp://docker.example.org", &env, err), 0);
	assert_string_equal(h.base_url, "https://docker.example.org:2376");

	/* DOCKER_TLS without VERIFY: the CLI would not verify; a client
	 * certificate is sent, so the agent does (against ca.pem) */
	env.tls_verify = NULL;
	env.tls = "1";
	assert_int_equal(parse(&h, "tcp://h:2376", &env, err), 0);
	assert_true(h.tls);
	assert_true(h.tls_verify);
	snprintf(want, sizeof(want), "%s/ca.pem", certdir);
	assert_string_equal(h.ca_file, want);
	/* an empty variable counts as unset, like the CLI's != "" */
	env.tls = "";
	assert_int_equal(parse(&h, "tcp://h:2376", &env, err), 0);
	assert_false(h.tls);

	/* https:// is TLS, and verified with a client certificate, with or
	 * without DOCKER_TLS_VERIFY */
	assert_int_equal(parse(&h, "https://h:2376", &env, err), 0);
	assert_true(h.tls);
	assert_true(h.tls_verify);
	assert_string_not_equal(h.cert_file, "");
	env.tls_verify = "1";
	assert_int_equal(parse(&h, "https://h:2376", &env, err), 0);
	assert_true(h.tls_verify);
	/* http:// stays plain whatever the environment says */
	assert_int_equal(parse(&h, "http://h:2375", &env, err), 0);
	assert_false(h.tls);

	/* DOCKER_CERT_PATH defaults to ~/.docker; no files there: verified
	 * against the system's CAs */
	env.cert_path = NULL;
	env.home = "/nonexistent-home";
	env.tls_verify = NULL;
	env.tls = "1";
	assert_int_equal(parse(&h, "tcp://h:2376", &env, err), 0);
	assert_string_equal(h.ca_file, "");
	assert_string_equal(h.cert_file, "");
	assert_true(h.tls_verify);
	/* DOCKER_TLS_VERIFY needs the CA, as for the CLI */
	env.tls_verify = "1";
	assert_int_equal(parse(&h, "tcp://h:2376", &env, err), -1);
	assert_non_null(strstr(err, "/nonexistent-home/.docker/ca.pem"));
}

/* Guards against the client certificate going to a daemon nobody
 * verified: https:// without DOCKER_TLS_VERIFY used to turn verification
 * off while still sending cert.pem. */
static void test_tls_verify_with_client_cert(void **state)
{
	struct dockerhost_env env = { .cert_path = certdir };
	struct dockerhost h;
	char err[256];

	(void)state;
	assert_int_equal(parse(&h, "https://docker.example.org:2376", &env, err), 0);
	assert_true(h.tls_verify);
	assert_string_not_equal(h.cert_file, "");
	/* the opt-out cannot apply while a certificate is sent */
	env.tls_insecure = "true";
	assert_int_equal(parse(&h, "https://docker.example.org:2376", &env, err), -1);
	assert_non_null(strstr(err, "client certificate"));
	env.tls = "1";
	assert_int_equal(parse(&h, "tcp://docker.example.org:2376", &env, err), -1);
}

/* Unverified TLS only with no client certificate and the opt-out. */
static void test_tls_insecure_opt_in(void **state)
{
	struct dockerhost_env env = { .home = "/nonexistent-home" };
	struct dockerhost h;
	char err[256];

	(void)state;
	assert_int_equal(parse(&h, "https://h:2376", &env, err), 0);
	assert_true(h.tls_verify);
	env.tls_insecure = "false";
	assert_int_equal(parse(&h, "https://h:2376", &env, err), 0);
	assert_true(h.tls_verify);
	env.tls_insecure = "";
	assert_int_equal(parse(&h, "https://h:2376", &env, err), 0);
	assert_true(h.tls_verify);
	env.tls_insecure = "1";
	assert_int_equal(parse(&h, "https://h:2376", &env, err), 0);
	assert_false(h.tls_verify);
	assert_string_equal(h.cert_file, "");
	/* a plain endpoint ignores it */
	assert_int_equal(parse(&h, "tcp://h:2375", &env, err), 0);
	assert_false(h.tls);
	/* a typo keeps nobody guessing */
	env.tls_insecure = "ture";
	assert_int_equal(parse(&h, "https://h:2376", &env, err), -1);
	assert_non_null(strstr(err, "not a boolean"));
	/* asking for verification and for none at once */
	env.tls_insecure = "yes";
	env.tls_verify = "1";
	env.cert_path = "/nonexistent-certs";
	assert_int_equal(parse(&h, "https://h:2376", &env, err), -1);
}

/* The decision alone, every combination. */
static void test_tls_decide(void **state)
{
	char err[256];

	(void)state;
	for (int bits = 0; bits < 16; bits++) {
		struct dockerhost_tls_in in = {
			.verify_env = bits & 1, .insecure = !!(bits & 2),
			.have_ca = !!(bits & 4), .have_cert = !!(bits & 8),
		};
		int verify = -1, rc = dockerhost_tls_decide(&in, &verify, err, sizeof(err));
		int refused = (in.insecure && (in.have_cert || in.verify_env)) ||
			      (in.verify_env && !in.have_ca);

		assert_int_equal(rc, refused ? -1 : 0);
		if (rc == 0 && in.have_cert)
			assert_int_equal(verify, 1);
		if (rc == 0)
			assert_int_equal(verify, !in.insecure);
	}
}

static void test_tls_half_pair(void **state)
{
	struct dockerhost_env env = { 0 };
	struct dockerhost h;
	char err[256], path[512];

	(void)state;
	/* a certificate without its key is a configuration error, not a
	 * silent fallback to no client certificate */
	snprintf(path, sizeof(path), "%s/key.pem", certdir);
	unlink(path);
	env.cert_path = certdir;
	env.tls_verify = "1";
	assert_int_equal(parse(&h, "tcp://h:2376", &env, err), -1);
	assert_non_null(strstr(err, "key.pem"));
	touch(certdir, "key.pem");
	assert_int_equal(parse(&h, "tcp://h:2376", &env, err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unix),
		cmocka_unit_test(test_tcp_plain),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_tls_half_pair),
		cmocka_unit_test(test_tls_verify_with_client_cert),
		cmocka_unit_test(test_tls_insecure_opt_in),
		cmocka_unit_test(test_tls_decide),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
