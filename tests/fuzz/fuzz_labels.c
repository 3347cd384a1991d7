/* libFuzzer target: com.docker.lb.* labels (labels_parse), and what the
 * table makes of them (rtable_build, rtable_route, rtable_explain).
 *
 * Input: records of one selector byte (which label: the low 5 bits index
 * the label names below, anything else is an unknown com.docker.lb.* key)
 * followed by the value up to the next NUL. After an empty record ("\0\0")
 * the rest is a request: host, path, cookie, separated by '\n'.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/sbuf.h"
#include "routing/labels.h"
#include "routing/model.h"
#include "routing/rtable.h"

#define MAX_LABELS 24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const keys[] = {
	"com.docker.lb.hosts", "com.docker.lb.port", "com.docker.lb.network",
	"com.docker.lb.context_root", "com.docker.lb.context_root_rewrite",
	"com.docker.lb.ssl_cert", "com.docker.lb.ssl_key", "com.docker.lb.ssl_only",
	"com.docker.lb.ssl_passthrough", "com.docker.lb.sticky_session_cookie",
	"com.docker.lb.ip_hash", "com.docker.lb.redirects", "com.docker.lb.websocket_endpoints",
	"com.docker.lb.backend_mode", "com.docker.lb.default_backend",
	"com.docker.lb.service_cluster", "com.docker.lb.weight", "com.docker.lb.hsts",
	"com.docker.lb.future", "com.example.other",
};

/* Splits <*p> (up to <end>) at the next <sep>; returns a copy in <a>. */
static char *next_field(struct arena *a, const uint8_t **p, const uint8_t *end, uint8_t sep,
			size_t *len)
{
	const uint8_t *start = *p, *q = memchr(start, sep, (size_t)(end - start));

	if (!q)
		q = end;
	*len = (size_t)(q - start);
	*p = q < end ? q + 1 : end;
	return arena_strndup(a, (const char *)start, *len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char scratch[RTABLE_SCRATCH_SIZE];
	const uint8_t *p = data, *end = data + size;
	struct model *m = model_new("file");
	struct model_service *s;
	struct labels_spec spec;
	struct route_answer ans;
	struct route_req req;
	struct sbuf out = SBUF_INIT;
	struct rtable *t;
	char err[512];
	size_t len;

	if (!m)
		return 0;
	s = m->svcs = arena_calloc(m->arena, 2, sizeof(*m->svcs));
	s->name = s->id = "fuzz";
	s->labels = arena_calloc(m->arena, MAX_LABELS, sizeof(*s->labels));
	while (p < end && s->nlabels < MAX_LABELS) {
		uint8_t sel = *p++;

		if (sel == 0)
			break;
		s->labels[s->nlabels].key = keys[(sel & 0x1f) % (sizeof(keys) / sizeof(keys[0]))];
		s->labels[s->nlabels].value = next_field(m->arena, &p, end, 0, &len);
		s->nlabels++;
	}
	s->tasks = arena_calloc(m->arena, 2, sizeof(*s->tasks));
	s->ntasks = 2;
	for (int i = 0; i < 2; i++) {
		struct model_task *tk = &s->tasks[i];

		tk->id = i ? "fuzz.2" : "fuzz.1";
		tk->running = tk->desired_running = 1;
		tk->port = (uint16_t)(i * 8080);
		tk->nets = arena_calloc(m->arena, 1, sizeof(*tk->nets));
		tk->nnets = 1;
		tk->nets[0].addr.family = 2;
		tk->nets[0].addr.ip[0] = 10;
		tk->nets[0].addr.ip[3] = (uint8_t)(i + 1);
	}
	/* the same labels on a second, later service: conflicts and sharing */
	m->svcs[1] = *s;
	m->svcs[1].name = m->svcs[1].id = "fuzz-twin";
	m->svcs[1].created_ms = 1;
	m->nsvcs = 2;

	labels_parse(s, m->arena, &spec, err, sizeof(err));
	t = rtable_build((const struct model *const[]){ m }, 1,
			 &(struct rtable_build_opts){ .nworkers = 1 });
	if (!t) {
		model_free(m);
		return 0;
	}

	memset(&req, 0, sizeof(req));
	req.host = next_field(m->arena, &p, end, '\n', &req.host_len);
	req.path = next_field(m->arena, &p, end, '\n', &req.path_len);
	req.cookie = next_field(m->arena, &p, end, '\n', &req.cookie_len);
	req.query = "q=1";
	req.query_len = 3;
	req.ssl = size & 1;
	req.src.family = 2;
	for (int tcp = 0; tcp < 2; tcp++) {
		req.tcp = tcp;
		rtable_route(t, 0, &req, &ans, scratch);
		/* built strings are terminated right after their length (the
		 * request's own bytes, NULs included, may be inside) */
		if (ans.location && ans.location[ans.location_len] != '\0')
			abort();
		if (ans.set_cookie && ans.set_cookie[ans.set_cookie_len] != '\0')
			abort();
	}
	rtable_explain(t, &req, &out, 0);
	rtable_explain(t, &req, &out, 1);
	rtable_show_routes(t, &out, 1);
	rtable_show_services(t, &out, 0);
	sbuf_free(&out);
	rtable_free(t);
	model_free(m);
	return 0;
}
