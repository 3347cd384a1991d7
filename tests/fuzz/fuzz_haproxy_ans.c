/* libFuzzer target: HAProxy runtime API answers (every haproxy_ans_*
 * reader) and the Docker answers of the certificate manager (configs,
 * secrets, tasks, the agent's service).
 *
 * Input: a selector byte (which reader), then the answer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "certs/haproxy_ans.h"
#include "certs/swarmobj.h"
#include "haproxyapi/hatargets.h"
#include "common/sbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_entry(void *arg, const struct haproxy_ans_entry *e)
{
	size_t *n = arg;

	/* every piece lies within the answer and has no line end */
	if (memchr(e->path, '\n', e->path_len) || memchr(e->filters, '\n', e->filters_len) ||
	    memchr(e->options, '\n', e->options_len))
		abort();
	*n += e->path_len + e->filters_len + e->options_len;
}

static void on_name(void *arg, const char *name, size_t n, int in_tx)
{
	size_t *total = arg;

	(void)in_tx;
	if (memchr(name, '\n', n))
		abort();
	*total += n;
}

static void on_addr(void *arg, const char *task, const char *network, const char *addr)
{
	size_t *n = arg;

	*n += strlen(task) + strlen(network) + strlen(addr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *ans = (const char *)data + 1;
	struct haproxy_ans_cert c;
	const struct swarmobj_owner owner = { 999, 998 };
	struct sbuf out = SBUF_INIT;
	struct swarmobj_secret want[] = { { "a", "id-a" }, { "b", NULL } };
	char msg[256], path[128], id[64], err[256];
	size_t len, n = 0;
	unsigned added, removed;
	uint64_t version;

	if (size < 1)
		return 0;
	len = size - 1;
	switch (data[0] % 8) {
	case 0:
		haproxy_ans_result(ans, len, msg, sizeof(msg));
		if (strchr(msg, '\n') || strlen(msg) >= sizeof(msg))
			abort();
		haproxy_ans_transaction(ans, len, path, sizeof(path));
		break;
	case 1:
		haproxy_ans_cert(ans, len, &c);
		break;
	case 2:
		haproxy_ans_crtlist(ans, len, on_entry, &n);
		break;
	case 3:
		haproxy_ans_names(ans, len, on_name, &n);
		haproxy_ans_time(ans, len);
		break;
	case 4:
		swarmobj_config_data(ans, len, "a", &out, err, sizeof(err));
		break;
	case 5:
		swarmobj_secret_id(ans, len, "a", id, sizeof(id), err, sizeof(err));
		break;
	case 6:
		hatargets_tasks(ans, len, on_addr, &n, err, sizeof(err));
		break;
	default:
		swarmobj_service_secrets(ans, len, want, 2, &owner, &out, id, sizeof(id), &version, &added,
					 &removed, err, sizeof(err));
		break;
	}
	sbuf_free(&out);
	return 0;
}
