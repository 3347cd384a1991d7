/* Where the Docker Engine is and how to talk to it: the --docker URL or,
 * for "auto", DOCKER_HOST, read with DOCKER_CERT_PATH, DOCKER_TLS_VERIFY and
 * DOCKER_TLS the way the docker CLI reads them, except that the daemon's
 * certificate is always verified unless the operator opts out explicitly
 * (dockerhost_tls_decide()).
 */
#ifndef DOCKERAPI_DOCKERHOST_H
#define DOCKERAPI_DOCKERHOST_H

#include <stddef.h>

#define DOCKERHOST_DEFAULT_SOCKET "/var/run/docker.sock"
#define DOCKERHOST_PATH_MAX 1024

/* The environment the endpoint is read from (tests pass their own). Each
 * field is NULL when the variable is not set.
 */
struct dockerhost_env {
	const char *docker_host;
	const char *cert_path;
	const char *tls_verify;
	const char *tls;
	const char *home;
	const char *tls_insecure;   /* SWARM_SPOA_DOCKER_TLS_INSECURE */
};

/* What decides how TLS to the daemon is checked. */
struct dockerhost_tls_in {
	int verify_env;             /* DOCKER_TLS_VERIFY is set */
	int insecure;               /* the operator's opt-out of verification */
	int have_ca;                /* ca.pem can be read */
	int have_cert;              /* a client certificate (cert.pem and key.pem) is sent */
};

struct dockerhost {
	int unix_socket;                     /* talk HTTP over a unix socket */
	char socket_path[108];               /* sun_path */
	char base_url[512];                  /* "http://localhost", "https://h:2376", ... */
	char endpoint[512];                  /* for logs and the stats socket */
	int tls;                             /* HTTPS */
	int tls_verify;                      /* check the daemon's certificate and name */
	char ca_file[DOCKERHOST_PATH_MAX];   /* "" when absent */
	char cert_file[DOCKERHOST_PATH_MAX]; /* client certificate, "" when absent */
	char key_file[DOCKERHOST_PATH_MAX];
};

/* Whether the daemon's certificate is verified, from <in>, into *<verify>.
 * A client certificate is the key to the whole swarm: it is sent only to a
 * daemon whose certificate was verified, so verification is on whenever
 * one is sent, and the opt-out is refused then. Without a client
 * certificate, verification is on unless the operator opted out (and
 * DOCKER_TLS_VERIFY, which asks for it, is not set). DOCKER_TLS_VERIFY
 * needs ca.pem, as for the docker CLI; otherwise the CA is ca.pem when it
 * exists, else the system's. Returns 0, or -1 with the reason in <err>.
 */
int dockerhost_tls_decide(const struct dockerhost_tls_in *in, int *verify,
			  char *err, size_t errlen);

/* Fills <env> from the process environment. */
void dockerhost_env_get(struct dockerhost_env *env);

/* Parses <url> ("unix:///path", "tcp://host:port", "http://...",
 * "https://...", or NULL/"auto" for DOCKER_HOST and then the default
 * socket) into <h>, with TLS settings from <env>. Certificate files are
 * looked up on disk (ca.pem, cert.pem, key.pem in DOCKER_CERT_PATH, by
 * default ~/.docker). Returns 0, or -1 with the reason in <err>.
 */
int dockerhost_parse(struct dockerhost *h, const char *url, const struct dockerhost_env *env,
		     char *err, size_t errlen);

#endif
