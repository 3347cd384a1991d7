/* A service's com.docker.lb.* labels, parsed and validated: what the
 * routing table needs to know about one service.
 */
#ifndef ROUTING_LABELS_T_H
#define ROUTING_LABELS_T_H

#include <stddef.h>
#include <stdint.h>

#define LABELS_PREFIX "com.docker.lb."
/* Labels of our own that change what an Interlock label does. */
#define LABELS_OWN_PREFIX "swarm-spoa."

/* Bounds on what one service's labels may ask for: any tenant writes
 * them, and the table is rebuilt from them at every change in the swarm.
 */
#define LABELS_VALUE_MAX      16384  /* bytes of one com.docker.lb.* value */
#define LABELS_HOSTS_MAX      100    /* distinct host names of one service */
#define LABELS_REDIRECTS_MAX  32
#define LABELS_WEBSOCKETS_MAX 32     /* distinct endpoints of one service */

#define LABELS_WEIGHT_DEFAULT 100
#define LABELS_WEIGHT_MAX     10000

enum labels_mode {
	LABELS_MODE_TASK = 0,    /* route to task addresses */
	LABELS_MODE_VIP,         /* route to the service's virtual IP */
};

/* One "src,target" pair of com.docker.lb.redirects. */
struct labels_redirect {
	const char *src;         /* as written */
	const char *src_host;    /* normalised host of <src> */
	const char *src_path;    /* path of <src> without trailing '/'; "" = all paths */
	size_t src_path_len;
	const char *target;      /* absolute URL, trailing '/' dropped */
	size_t target_len;
};

struct labels_spec {
	/* com.docker.lb.hosts, normalised; wildcards keep their "*." */
	size_t nhosts;
	const char **hosts;
	const char *hosts_raw;           /* the label as written, NULL if unset */

	uint16_t port;                   /* 0 when unset */
	const char *network;             /* NULL when unset */
	const char *context_root;        /* normalised; "/" when unset */
	size_t context_root_len;
	int context_root_rewrite;
	int ssl_only;
	int ssl_passthrough;
	int ip_hash;
	int default_backend;
	int ssl_backend;                 /* TLS from HAProxy to the tasks */
	int ssl_backend_verify;          /* ssl_backend_tls_verify=required */
	const char *ssl_cert;            /* secret or config names, NULL when unset */
	const char *ssl_key;
	const char *sticky_cookie;       /* cookie name, NULL when unset */
	int sticky_managed;              /* swarm-spoa.sticky_managed: HAProxy sets the cookie */

	size_t nredirects;
	struct labels_redirect *redirects;

	size_t nwebsockets;
	const char **websockets;         /* paths, trailing '/' dropped */

	enum labels_mode mode;
	const char *cluster;             /* com.docker.lb.service_cluster, NULL if unset */
	uint32_t weight;                 /* 0..LABELS_WEIGHT_MAX */
	uint32_t hsts_max_age;           /* 0: no HSTS */
};

#endif
