/* The certificate manager's requests to the Docker Engine API. */
#include <stdio.h>

#include "certs/certapi.h"
#include "common/sbuf.h"
#include "dockerapi/dockerapi.h"

struct dockerapi_req *certapi_get(struct dockerapi *api, const char *path, const char *filter,
				  void (*on_done)(void *arg, const struct dockerapi_resp *r),
				  void *arg, char *err, size_t errlen)
{
	struct dockerapi_call call = {
		.unversioned = 1,
		.timeout_ms = CERTAPI_TIMEOUT_MS,
		.max_bytes = CERTAPI_MAX_BYTES,
		.on_done = on_done,
		.arg = arg,
	};
	struct sbuf url = SBUF_INIT;
	struct dockerapi_req *req = NULL;

	sbuf_printf(&url, "%s?filters=", path);
	dockerapi_urlencode(&url, filter);
	if (url.oom) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	call.path = url.buf;
	req = dockerapi_send(api, &call, err, errlen);
out:
	sbuf_free(&url);
	return req;
}
