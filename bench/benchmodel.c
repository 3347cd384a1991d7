/* The benchmarks' swarm: see benchmodel.h. */
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>

#include "bench/benchmodel.h"
#include "common/arena.h"
#include "routing/model.h"

static char *dupf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static char *dupf(struct arena *a, const char *fmt, ...)
{
	char buf[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return arena_strdup(a, buf);
}

struct model *benchmodel_make(size_t nsvcs, size_t ntasks, unsigned flags)
{
	struct model *m = model_new("swarm");
	struct arena *a = m->arena;
	size_t nnets = flags & BENCHMODEL_INGRESS ? 2 : 1;

	m->svcs = arena_calloc(a, nsvcs, sizeof(*m->svcs));
	m->nsvcs = nsvcs;
	for (size_t i = 0; i < nsvcs; i++) {
		struct model_service *s = &m->svcs[i];
		size_t h = i / 2;

		s->name = dupf(a, "stack%zu_svc%zu", h, i);
		s->id = dupf(a, "%025zx", i * 7919 + 1);
		s->created_ms = 1700000000000LL + (int64_t)i;
		s->labels = arena_calloc(a, 4, sizeof(*s->labels));
		s->labels[0].key = "com.docker.lb.hosts";
		s->labels[0].value = h % 100 == 99 ? dupf(a, "*.w%zu.bench.example", h) :
				     dupf(a, "svc%zu.bench.example", h);
		s->labels[1].key = "com.docker.lb.port";
		s->labels[1].value = "8080";
		s->labels[2].key = "com.docker.lb.context_root";
		s->labels[2].value = i % 2 ? "/api" : "/";
		s->labels[3].key = "com.docker.stack.namespace";
		s->labels[3].value = dupf(a, "stack%zu", h);
		s->nlabels = 4;
		s->tasks = arena_calloc(a, ntasks, sizeof(*s->tasks));
		s->ntasks = ntasks;
		for (size_t k = 0; k < ntasks; k++) {
			struct model_task *t = &s->tasks[k];
			struct model_netattach *net;
			size_t n = i * ntasks + k;

			t->id = dupf(a, "%025zx", n * 104729 + 3);
			t->node = dupf(a, "node%zu", n % 16);
			t->state = "running";
			t->running = t->desired_running = 1;
			t->nets = arena_calloc(a, nnets, sizeof(*t->nets));
			t->nnets = nnets;
			net = t->nets;
			if (flags & BENCHMODEL_INGRESS) {
				net->network = "ingress";
				net->addr.family = AF_INET;
				net->addr.ip[0] = 10;
				net->addr.ip[1] = 255;
				net++;
			}
			net->network = "bench_net";
			net->addr.family = AF_INET;
			net->addr.ip[0] = 10;
			net->addr.ip[1] = (uint8_t)(n >> 16);
			net->addr.ip[2] = (uint8_t)(n >> 8);
			net->addr.ip[3] = (uint8_t)n;
		}
	}
	return m;
}
