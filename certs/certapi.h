/* The certificate manager's requests to the Docker Engine API: lists of
 * configs and secrets, filtered by the daemon, each bounded in time
 * and size. Main loop only.
 */
#ifndef CERTS_CERTAPI_H
#define CERTS_CERTAPI_H

#include <stddef.h>

struct dockerapi;
struct dockerapi_req;
struct dockerapi_resp;

#define CERTAPI_TIMEOUT_MS  10000
#define CERTAPI_MAX_BYTES   ((size_t)8 << 20)

/* Sends GET <path>?filters=<filter> (<filter>: the JSON of Docker's
 * filters, encoded here) without a version prefix: these objects read the
 * same in every API version. <on_done> runs as dockerapi_send() says.
 * Returns the request, or NULL with the reason in <err>.
 */
struct dockerapi_req *certapi_get(struct dockerapi *api, const char *path, const char *filter,
				  void (*on_done)(void *arg, const struct dockerapi_resp *r),
				  void *arg, char *err, size_t errlen);

#endif
