/* Worker load sampling. */
#include <stdatomic.h>
#include <stdlib.h>
#include <ev.h>

#include "spoa/threadload.h"
#include "spoa/worker.h"

#define THREADLOAD_PERIOD 1.0   /* seconds */

struct threadload_sample {
	uint64_t busy_ns;
	uint64_t loop_ns;
	double recent;              /* percent, -1 until known */
};

static struct ev_loop *threadload_loop;
static ev_timer threadload_timer;
static struct threadload_sample *samples;
static unsigned nsamples;

static void threadload_read(unsigned idx, uint64_t *busy, uint64_t *loop)
{
	const struct worker_stats *ws = &worker_get(idx)->stats;

	*busy = atomic_load_explicit(&ws->busy_ns, memory_order_relaxed);
	*loop = atomic_load_explicit(&ws->loop_ns, memory_order_relaxed);
}

static double threadload_pct(uint64_t busy, uint64_t loop)
{
	double pct;

	if (!loop)
		return 0.0;
	pct = 100.0 * (double)busy / (double)loop;
	return pct > 100.0 ? 100.0 : pct;
}

static void threadload_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	for (unsigned i = 0; i < nsamples; i++) {
		struct threadload_sample *s = &samples[i];
		uint64_t busy, total;

		threadload_read(i, &busy, &total);
		/* A worker blocked in its poller for the whole period has not
		 * updated loop_ns: it was idle. */
		if (s->loop_ns && total >= s->loop_ns && busy >= s->busy_ns)
			s->recent = total > s->loop_ns ?
				threadload_pct(busy - s->busy_ns, total - s->loop_ns) : 0.0;
		s->busy_ns = busy;
		s->loop_ns = total;
	}
}

void threadload_start(struct ev_loop *loop)
{
	nsamples = worker_count();
	samples = nsamples ? calloc(nsamples, sizeof(*samples)) : NULL;
	if (!samples)
		nsamples = 0;
	for (unsigned i = 0; i < nsamples; i++)
		samples[i].recent = -1.0;
	threadload_loop = loop;
	ev_timer_init(&threadload_timer, threadload_tick, 0.0, THREADLOAD_PERIOD);
	ev_timer_start(loop, &threadload_timer);
	ev_unref(loop);   /* sampling alone does not keep the loop running */
}

void threadload_stop(void)
{
	if (!threadload_loop)
		return;
	ev_ref(threadload_loop);
	ev_timer_stop(threadload_loop, &threadload_timer);
	threadload_loop = NULL;
	free(samples);
	samples = NULL;
	nsamples = 0;
}

double threadload_lifetime(unsigned idx)
{
	uint64_t busy, loop;

	threadload_read(idx, &busy, &loop);
	return threadload_pct(busy, loop);
}

double threadload_recent(unsigned idx)
{
	return idx < nsamples ? samples[idx].recent : -1.0;
}
