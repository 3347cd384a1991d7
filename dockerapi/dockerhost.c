/* Docker endpoint parsing, following the docker CLI:
 *   - TLS is on with DOCKER_TLS or DOCKER_TLS_VERIFY set (non-empty), or an
 *     https:// URL.
 *   - cert.pem and key.pem are the client certificate when they exist.
 *   - DOCKER_CERT_PATH defaults to ~/.docker.
 * Unlike the CLI, the daemon's certificate is checked unless the operator
 * opts out with SWARM_SPOA_DOCKER_TLS_INSECURE, and never without it when a
 * client certificate is sent (dockerhost_tls_decide()); and "tcp://host"
 * without a port means 2376 under TLS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dockerapi/dockerhost.h"

void dockerhost_env_get(struct dockerhost_env *env)
{
	env->docker_host = getenv("DOCKER_HOST");
	env->cert_path = getenv("DOCKER_CERT_PATH");
	env->tls_verify = getenv("DOCKER_TLS_VERIFY");
	env->tls = getenv("DOCKER_TLS");
	env->home = getenv("HOME");
	env->tls_insecure = getenv("SWARM_SPOA_DOCKER_TLS_INSECURE");
}

static int set_(const char *v)
{
	return v && *v;
}

/* The opt-out's value: 1 (true, yes, 1), 0 (unset, false, no, 0, empty),
 * -1 anything else: a typo must not silently keep (or drop) verification.
 */
static int dockerhost_bool(const char *v)
{
	if (!v || !*v || !strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no"))
		return 0;
	if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes"))
		return 1;
	return -1;
}

int dockerhost_tls_decide(const struct dockerhost_tls_in *in, int *verify,
			  char *err, size_t errlen)
{
	*verify = 1;
	if (in->insecure && in->have_cert) {
		snprintf(err, errlen, "SWARM_SPOA_DOCKER_TLS_INSECURE is set but a client certificate "
			 "(cert.pem, key.pem) would be sent: it is sent only to a verified daemon");
		return -1;
	}
	if (in->insecure && in->verify_env) {
		snprintf(err, errlen, "SWARM_SPOA_DOCKER_TLS_INSECURE and DOCKER_TLS_VERIFY are both set");
		return -1;
	}
	if (in->verify_env && !in->have_ca) {
		snprintf(err, errlen, "DOCKER_TLS_VERIFY is set but ca.pem cannot be read");
		return -1;
	}
	if (in->insecure)
		*verify = 0;
	return 0;
}

static int has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* Fills the certificate file names from <env>, and decides whether the
 * daemon's certificate is verified. Returns 0 or -1.
 */
static int dockerhost_certs(struct dockerhost *h, const struct dockerhost_env *env,
			    char *err, size_t errlen)
{
	struct dockerhost_tls_in in = { .verify_env = set_(env->tls_verify) };
	char dir[DOCKERHOST_PATH_MAX], why[256];
	int have_key;

	if (set_(env->cert_path))
		snprintf(dir, sizeof(dir), "%s", env->cert_path);
	else if (set_(env->home))
		snprintf(dir, sizeof(dir), "%s/.docker", env->home);
	else
		snprintf(dir, sizeof(dir), ".docker");

	if ((size_t)snprintf(h->ca_file, sizeof(h->ca_file), "%s/ca.pem", dir) >= sizeof(h->ca_file) ||
	    (size_t)snprintf(h->cert_file, sizeof(h->cert_file), "%s/cert.pem", dir) >= sizeof(h->cert_file) ||
	    (size_t)snprintf(h->key_file, sizeof(h->key_file), "%s/key.pem", dir) >= sizeof(h->key_file)) {
		snprintf(err, errlen, "certificate path too long: %s", dir);
		return -1;
	}
	in.insecure = dockerhost_bool(env->tls_insecure);
	if (in.insecure < 0) {
		snprintf(err, errlen, "SWARM_SPOA_DOCKER_TLS_INSECURE=%s is not a boolean (true or false)",
			 env->tls_insecure);
		return -1;
	}
	in.have_ca = access(h->ca_file, R_OK) == 0;
	in.have_cert = access(h->cert_file, R_OK) == 0;
	have_key = access(h->key_file, R_OK) == 0;
	if (in.have_cert != have_key) {
		snprintf(err, errlen, "%s without %s", in.have_cert ? h->cert_file : h->key_file,
			 in.have_cert ? h->key_file : h->cert_file);
		return -1;
	}
	if (in.verify_env && !in.have_ca) {
		snprintf(err, errlen, "DOCKER_TLS_VERIFY is set but %s cannot be read", h->ca_file);
		return -1;
	}
	if (dockerhost_tls_decide(&in, &h->tls_verify, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s (certificates from %s)", why, dir);
		return -1;
	}
	if (!in.have_ca)
		h->ca_file[0] = '\0';
	if (!in.have_cert) {
		h->cert_file[0] = '\0';
		h->key_file[0] = '\0';
	}
	return 0;
}

/* Parses "host[:port][/base]" after a tcp/http/https scheme into
 * h->base_url.
 */
static int dockerhost_tcp(struct dockerhost *h, const char *rest, char *err, size_t errlen)
{
	const char *slash = strchr(rest, '/');
	size_t hostlen = slash ? (size_t)(slash - rest) : strlen(rest);
	const char *base = slash ? slash : "";
	char hostport[300];
	const char *colon;
	int has_port;

	if (hostlen >= sizeof(hostport) - 16) {
		snprintf(err, errlen, "Docker host name too long");
		return -1;
	}
	memcpy(hostport, rest, hostlen);
	hostport[hostlen] = '\0';
	if (hostport[0] == '[') {
		const char *close = strchr(hostport, ']');

		if (!close || (close[1] && close[1] != ':')) {
			snprintf(err, errlen, "invalid IPv6 address in Docker URL");
			return -1;
		}
		has_port = close[1] == ':';
		colon = has_port ? close + 1 : NULL;
	} else {
		colon = strchr(hostport, ':');
		has_port = colon != NULL;
		if (colon && strchr(colon + 1, ':')) {
			snprintf(err, errlen, "IPv6 addresses in Docker URLs need brackets");
			return -1;
		}
	}
	if (has_port) {
		char *end;
		long port = strtol(colon + 1, &end, 10);

		if (*end || port <= 0 || port > 65535 || end == colon + 1) {
			snprintf(err, errlen, "invalid port in Docker URL");
			return -1;
		}
	}
	if (!hostport[0] || hostport[0] == ':') {
		/* "tcp://:2375" means the local host, as for the CLI */
		memmove(hostport + 9, hostport, strlen(hostport) + 1);
		memcpy(hostport, "localhost", 9);
	}
	/* a trailing slash in the base path would double the next one */
	hostlen = strlen(base);
	while (hostlen > 0 && base[hostlen - 1] == '/')
		hostlen--;
	if ((size_t)snprintf(h->base_url, sizeof(h->base_url), "%s://%s%s%.*s",
			     h->tls ? "https" : "http", hostport,
			     has_port ? "" : (h->tls ? ":2376" : ":2375"),
			     (int)hostlen, base) >= sizeof(h->base_url)) {
		snprintf(err, errlen, "Docker URL too long");
		return -1;
	}
	snprintf(h->endpoint, sizeof(h->endpoint), "%s", h->base_url);
	return 0;
}

int dockerhost_parse(struct dockerhost *h, const char *url, const struct dockerhost_env *env,
		     char *err, size_t errlen)
{
	memset(h, 0, sizeof(*h));
	if (!url || !*url || strcmp(url, "auto") == 0)
		url = set_(env->docker_host) ? env->docker_host : "unix://" DOCKERHOST_DEFAULT_SOCKET;

	if (has_prefix(url, "unix://")) {
		const char *path = url + 7;

		if (!*path) {
			snprintf(err, errlen, "empty unix socket path in '%s'", url);
			return -1;
		}
		if (strlen(path) >= sizeof(h->socket_path)) {
			snprintf(err, errlen, "unix socket path too long: %s", path);
			return -1;
		}
		h->unix_socket = 1;
		strcpy(h->socket_path, path);
		strcpy(h->base_url, "http://localhost");
		snprintf(h->endpoint, sizeof(h->endpoint), "unix://%s", path);
		return 0;
	}
	if (url[0] == '/') {
		/* a bare socket path, as some users write it */
		char tmp[sizeof(h->socket_path) + 8];

		if (strlen(url) >= sizeof(h->socket_path)) {
			snprintf(err, errlen, "unix socket path too long: %s", url);
			return -1;
		}
		snprintf(tmp, sizeof(tmp), "unix://%s", url);
		return dockerhost_parse(h, tmp, env, err, errlen);
	}

	if (has_prefix(url, "tcp://")) {
		h->tls = set_(env->tls) || set_(env->tls_verify);
		url += 6;
	} else if (has_prefix(url, "https://")) {
		h->tls = 1;
		url += 8;
	} else if (has_prefix(url, "http://")) {
		url += 7;
	} else {
		const char *sep = strstr(url, "://");

		if (sep)
			snprintf(err, errlen, "unsupported Docker URL scheme '%.*s' (unix, tcp, http, https)",
				 (int)(sep - url), url);
		else
			snprintf(err, errlen, "invalid Docker URL '%s' (unix:///path, tcp://host:port, https://host:port)",
				 url);
		return -1;
	}
	if (h->tls && dockerhost_certs(h, env, err, errlen) < 0)
		return -1;
	return dockerhost_tcp(h, url, err, errlen);
}
