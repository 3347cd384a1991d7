/* Fuzz target: the byte stream HAProxy sends the agent. Frames are split as
 * the connection does it, then decoded (HELLO, DISCONNECT, NOTIFY messages
 * and arguments) and every NOTIFY message is dispatched to the handlers
 * against a small routing table, exactly as a worker would.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "routing/model.h"
#include "routing/routesfile.h"
#include "routing/rtable.h"
#include "spoa/handler.h"
#include "spoa/spop.h"
#include "spoa/worker-t.h"

static struct worker worker;
static struct rtable *table;

static const char routes[] =
	"{\"services\":["
	"{\"name\":\"web\",\"labels\":{\"com.docker.lb.hosts\":\"web.test,*.wild.test\","
	"\"com.docker.lb.port\":\"8080\",\"com.docker.lb.context_root\":\"/app\","
	"\"com.docker.lb.context_root_rewrite\":\"true\",\"com.docker.lb.sticky_session_cookie\":\"SRV\"},"
	"\"tasks\":[{\"id\":\"w1\",\"address\":\"10.0.0.1\"},{\"id\":\"w2\",\"address\":\"10.0.0.2\"}]},"
	"{\"name\":\"sec\",\"labels\":{\"com.docker.lb.hosts\":\"sec.test\",\"com.docker.lb.port\":\"80\","
	"\"com.docker.lb.ssl_only\":\"true\",\"com.docker.lb.redirects\":\"http://sec.test/old,http://sec.test/new\","
	"\"com.docker.lb.ip_hash\":\"true\"},\"tasks\":[{\"id\":\"s1\",\"address\":\"fd00::1\"}]}]}";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[] = "/tmp/fuzz-spop-routes-XXXXXX";
	struct rtable_build_opts bo = { .nworkers = 1 };
	const struct model *models[1];
	char err[256];
	int fd = mkstemp(path);

	(void)argc;
	(void)argv;
	if (fd < 0 || write(fd, routes, sizeof(routes) - 1) != (ssize_t)(sizeof(routes) - 1))
		abort();
	close(fd);
	models[0] = routesfile_load(path, err, sizeof(err));
	unlink(path);
	if (!models[0])
		abort();
	table = rtable_build(models, 1, &bo);
	model_free((struct model *)models[0]);
	if (!table)
		abort();
	worker.scratch = malloc(RTABLE_SCRATCH_SIZE);
	return 0;
}

static void handle_frame(const uint8_t *buf, size_t len, int *ready)
{
	static uint8_t out[SPOP_MAX_FRAME_SIZE + SPOP_LEN_SIZE];
	struct spop_frame f;
	enum spop_status st;

	if (spop_frame_parse(buf, len, &f, &st) < 0)
		return;
	if (!*ready) {
		struct spop_hello h;

		if (spop_hello_parse(&f, &h, &st) == 0) {
			*ready = 1;
			if (spop_encode_agent_hello(out, sizeof(out), h.max_frame_size) < 0)
				abort();  /* a negotiated size always fits the hello */
		}
		return;
	}
	if (f.type == SPOP_FRM_HAPROXY_DISCON) {
		struct spop_disconnect d;

		spop_disconnect_parse(&f, &d, &st);
		return;
	}
	if (f.type == SPOP_FRM_NOTIFY) {
		struct spop_msg_iter it;
		struct spop_writer ack;
		struct spop_msg m;

		spop_frame_begin(&ack, out, sizeof(out), SPOP_FRM_ACK, f.stream_id, f.frame_id);
		spop_msg_iter_init(&it, &f);
		while (spop_msg_next(&it, &m) > 0) {
			handler_dispatch(&worker, &m, &ack);
			spop_msg_done(&it, &m);
		}
		spop_frame_end(&ack, SPOP_MAX_FRAME_SIZE);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	int ready = 0;

	worker.table = table;
	while (size - off >= SPOP_LEN_SIZE) {
		uint32_t flen;

		memcpy(&flen, data + off, 4);
		flen = ntohl(flen);
		if (flen > SPOP_MAX_FRAME_SIZE || size - off - SPOP_LEN_SIZE < flen)
			break;
		handle_frame(data + off + SPOP_LEN_SIZE, flen, &ready);
		off += SPOP_LEN_SIZE + flen;
	}
	return 0;
}
