/* The certificate manager. HAProxy does the cryptography; the agent owns
 * which certificates exist. From each routing table it takes the
 * certificates that com.docker.lb.ssl_cert / ssl_key name, with the hosts
 * of the services that use them; it reads their material from files under
 * --certs-dir (Docker secrets mounted into the agent), or from Docker
 * configs through the Engine API; and it keeps every HAProxy named by
 * --haproxy-runtime serving them through its runtime API, with no reload
 * (pusher.h), including HAProxy tasks that start later
 * (tasks:SERVICE:PORT is re-resolved every HATARGETS_RESOLVE_MS).
 *
 * Material that cannot be used (no such secret or config, not PEM, key
 * not matching, expired) is refused with its reason in the log, in "show
 * errors" and in "show certs"; HAProxy keeps serving every other
 * certificate, and the service's hosts get the default certificate.
 *
 * Main loop only.
 */
#ifndef CERTS_CERTS_H
#define CERTS_CERTS_H

#include <stddef.h>

struct ev_loop;
struct rtable;
struct sbuf;
struct certs;

#define CERTS_TICK_MS        1000    /* files, expiry and retries are looked at this often */

struct certs_opts {
	const char *const *targets;   /* --haproxy-runtime: unix:PATH, IP:PORT, tasks:SERVICE:PORT */
	size_t ntargets;
	const char *crt_list;         /* --crt-list, or NULL: the only one each HAProxy has */
	const char *certs_dir;        /* --certs-dir */
	const char *default_cert;     /* --default-cert (PEM file), or NULL */
	const char *docker;           /* Docker Engine URL for configs, secrets and tasks:, or NULL */
	int manage_secrets;           /* mount needed secrets into the agent's own service */
	const char *agent_service;    /* that service (name or ID) */
	/* Whether the routing table holds every service yet (discovery
	 * synced once): until then no certificate is removed from HAProxy.
	 * NULL: always. */
	int (*table_complete)(void);
};

/* Starts the manager on <loop>. Returns NULL with the reason in <err> when
 * an option is unusable (bad address, unreadable default certificate,
 * tasks: without Docker).
 */
struct certs *certs_new(struct ev_loop *loop, const struct certs_opts *o, char *err, size_t errlen);

/* Stops every transfer and frees <c>. */
void certs_free(struct certs *c);

/* Follows a newly published routing table; <arg> is the manager. Has the
 * signature of a tables_subscribe() callback. <t> is read during the call
 * only.
 */
void certs_on_table(void *arg, const struct rtable *t);

/* "show certs": each certificate with its source, hosts, expiry and state
 * on every HAProxy, then the HAProxy targets. Appends to <out>.
 */
void certs_show(const struct certs *c, struct sbuf *out, int json);

#endif
