/* Worker threads. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "routing/rtable.h"
#include "routing/snapshot.h"
#include "spoa/conn.h"
#include "spoa/worker.h"

#define WORKER_RBUF (64 * 1024)
#define WORKER_OBUF (64 * 1024)

static struct worker *workers;
static unsigned nworkers;
unsigned worker_collect_us;
int worker_collect_auto;

unsigned worker_count(void)
{
	return nworkers;
}

struct worker *worker_get(unsigned idx)
{
	return idx < nworkers ? &workers[idx] : NULL;
}

/* ------------------------------------------------------------------------
 * Loop hooks: snapshot quiescence and load accounting
 * ------------------------------------------------------------------------ */

static void worker_collect_window(struct worker_collect *s, int64_t now_ns, uint64_t frames,
				  uint64_t reads)
{
	s->since_ns = now_ns;
	s->frames0 = frames;
	s->reads0 = reads;
}

int worker_collect_step(struct worker_collect *s, int64_t now_ns, uint64_t frames, uint64_t reads)
{
	uint64_t df = frames - s->frames0, dr = reads - s->reads0;

	if (s->on) {
		if (now_ns - s->since_ns < WORKER_COLLECT_ON_NS)
			return 0;
		s->on = 0;
		worker_collect_window(s, now_ns, frames, reads);
		return 1;
	}
	if (df < WORKER_COLLECT_WINDOW_FRAMES) {
		if (now_ns - s->since_ns >= WORKER_COLLECT_WINDOW_MAX_NS)
			worker_collect_window(s, now_ns, frames, reads);
		return 0;
	}
	worker_collect_window(s, now_ns, frames, reads);
	if (df >= dr * WORKER_COLLECT_FRAMES_PER_READ)
		return 0;
	s->on = 1;
	return 1;
}

static void worker_collect_adapt(struct worker *w, int64_t now_ns)
{
	uint64_t frames = atomic_load_explicit(&w->stats.frames_in, memory_order_relaxed);
	uint64_t reads = atomic_load_explicit(&w->stats.reads, memory_order_relaxed);

	if (!worker_collect_step(&w->collect, now_ns, frames, reads))
		return;
	ev_set_io_collect_interval(w->loop, w->collect.on ? worker_collect_us / 1e6 : 0.);
	atomic_store_explicit(&w->stats.collect_on, (uint64_t)w->collect.on, memory_order_relaxed);
	if (w->collect.on)
		STAT_INC(&w->stats, collect_periods);
}

static void worker_on_prepare(struct ev_loop *loop, ev_prepare *p, int revents)
{
	struct worker *w = p->data;
	int64_t now = clock_mono_ns();

	(void)loop;
	(void)revents;
	snapshot_reader_offline(w->reader);
	if (worker_collect_auto && worker_collect_us)
		worker_collect_adapt(w, now);
	if (w->last_wake_ns)
		STAT_ADD(&w->stats, busy_ns, (uint64_t)(now - w->last_wake_ns));
	atomic_store_explicit(&w->stats.loop_ns, (uint64_t)(now - w->start_ns),
			      memory_order_relaxed);
}

static void worker_on_check(struct ev_loop *loop, ev_check *c, int revents)
{
	struct worker *w = c->data;

	(void)loop;
	(void)revents;
	snapshot_reader_online(w->reader);
	w->last_wake_ns = clock_mono_ns();
}

/* ------------------------------------------------------------------------
 * Inbox, stop and listing requests
 * ------------------------------------------------------------------------ */

static void worker_fill_list(struct worker *w)
{
	size_t n = 0;
	struct conn *c;

	for (c = w->conns; c; c = c->next)
		n++;
	free(w->list);
	w->list = n ? calloc(n, sizeof(*w->list)) : NULL;
	w->list_len = 0;
	if (!w->list)
		return;
	for (c = w->conns; c; c = c->next) {
		struct conn_info *ci = &w->list[w->list_len++];

		ci->id = c->id;
		ci->worker = w->idx;
		memcpy(ci->peer, c->peer, sizeof(ci->peer));
		memcpy(ci->engine_id, c->engine_id, sizeof(ci->engine_id));
		ci->state = c->state;
		ci->max_frame = c->max_frame;
		ci->pipelining = c->pipelining;
		ci->since_ms = c->since_ms;
		ci->notify = c->notify;
		ci->out_pending = c->out_len - c->out_off;
		ci->buffered = c->in_cap + c->out_cap;
	}
}

static void worker_on_wake(struct ev_loop *loop, ev_async *a, int revents)
{
	struct worker *w = a->data;
	struct worker_handoff in[64];
	size_t n, i;

	(void)loop;
	(void)revents;
	for (;;) {
		pthread_mutex_lock(&w->lock);
		n = w->inbox_len < 64 ? w->inbox_len : 64;
		if (!n) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		memcpy(in, w->inbox, n * sizeof(*in));
		memmove(w->inbox, w->inbox + n, (w->inbox_len - n) * sizeof(*in));
		w->inbox_len -= n;
		pthread_mutex_unlock(&w->lock);
		for (i = 0; i < n; i++) {
			if (atomic_load(&w->stopping)) {
				close(in[i].fd);
				atomic_fetch_sub(&w->nconns, 1);
				atomic_fetch_sub(in[i].listener_conns, 1);
				continue;
			}
			/* conn_new counts itself; the acceptor counted the fd */
			atomic_fetch_sub(&w->nconns, 1);
			conn_new(w, in[i].fd, conn_max_frame, in[i].listener_conns);
		}
	}

	pthread_mutex_lock(&w->lock);
	if (w->list_req) {
		worker_fill_list(w);
		w->list_req = 0;
		pthread_cond_broadcast(&w->listed);
	}
	pthread_mutex_unlock(&w->lock);

	if (atomic_load(&w->stopping)) {
		struct conn *c, *next;

		for (c = w->conns; c; c = next) {
			next = c->next;
			conn_stop(c);
		}
		if (!ev_is_active(&w->stop_tick))
			ev_timer_start(w->loop, &w->stop_tick);
	}
}

static void worker_on_stop_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = t->data;

	(void)revents;
	if (!w->conns)
		ev_break(loop, EVBREAK_ALL);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->reader = snapshot_reader_register();
	w->start_ns = clock_mono_ns();
	ev_run(w->loop, 0);
	snapshot_reader_offline(w->reader);
	return NULL;
}

/* ------------------------------------------------------------------------
 * Public
 * ------------------------------------------------------------------------ */

static int worker_init(struct worker *w, unsigned idx)
{
	w->idx = idx;
	w->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	if (w->loop && worker_collect_us && !worker_collect_auto) {
		ev_set_io_collect_interval(w->loop, worker_collect_us / 1e6);
		atomic_store_explicit(&w->stats.collect_on, 1, memory_order_relaxed);
	}
	w->rbuf_cap = WORKER_RBUF + conn_max_frame + SPOP_LEN_SIZE;
	w->rbuf = malloc(w->rbuf_cap);
	w->obuf_cap = WORKER_OBUF + conn_max_frame + SPOP_LEN_SIZE;
	w->obuf = malloc(w->obuf_cap);
	w->scratch = malloc(RTABLE_SCRATCH_SIZE);
	if (!w->loop || !w->rbuf || !w->obuf || !w->scratch)
		return -1;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->listed, NULL);
	ev_async_init(&w->wake, worker_on_wake);
	w->wake.data = w;
	ev_async_start(w->loop, &w->wake);
	ev_prepare_init(&w->prepare, worker_on_prepare);
	w->prepare.data = w;
	ev_prepare_start(w->loop, &w->prepare);
	ev_check_init(&w->check, worker_on_check);
	w->check.data = w;
	ev_check_start(w->loop, &w->check);
	ev_timer_init(&w->stop_tick, worker_on_stop_tick, 0., 0.02);
	w->stop_tick.data = w;
	return 0;
}

int worker_start_all(unsigned n)
{
	workers = calloc(n, sizeof(*workers));
	if (!workers)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		if (worker_init(&workers[i], i) < 0) {
			LOG(LL_ERROR, "spoa", "cannot set up worker", KVI("worker", i));
			return -1;
		}
	}
	nworkers = n;
	for (unsigned i = 0; i < n; i++) {
		int err = pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);

		if (err) {
			LOG(LL_ERROR, "spoa", "cannot start worker thread", KVI("worker", i),
			    KVS("error", strerror(err)));
			nworkers = i;
			return -1;
		}
	}
	return 0;
}

void worker_dispatch(int fd, _Atomic unsigned *listener_conns)
{
	struct worker *best = NULL;
	unsigned best_n = ~0u;

	for (unsigned i = 0; i < nworkers; i++) {
		unsigned n = atomic_load(&workers[i].nconns);

		if (n < best_n) {
			best = &workers[i];
			best_n = n;
		}
	}
	if (!best) {
		close(fd);
		atomic_fetch_sub(listener_conns, 1);
		return;
	}
	pthread_mutex_lock(&best->lock);
	if (best->inbox_len == best->inbox_cap) {
		size_t cap = best->inbox_cap ? best->inbox_cap * 2 : 64;
		struct worker_handoff *p = realloc(best->inbox, cap * sizeof(*p));

		if (!p) {
			pthread_mutex_unlock(&best->lock);
			close(fd);
			atomic_fetch_sub(listener_conns, 1);
			return;
		}
		best->inbox = p;
		best->inbox_cap = cap;
	}
	best->inbox[best->inbox_len++] = (struct worker_handoff){ fd, listener_conns };
	atomic_fetch_add(&best->nconns, 1);
	pthread_mutex_unlock(&best->lock);
	ev_async_send(best->loop, &best->wake);
}

void worker_stop_all(double grace)
{
	int64_t deadline = clock_mono_ms() + (int64_t)(grace * 1000);

	for (unsigned i = 0; i < nworkers; i++) {
		atomic_store(&workers[i].stopping, 1);
		ev_async_send(workers[i].loop, &workers[i].wake);
	}
	for (unsigned i = 0; i < nworkers; i++) {
		struct timespec ts;
		int64_t left = deadline - clock_mono_ms();

		if (left < 0)
			left = 0;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += left / 1000;
		ts.tv_nsec += (left % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (pthread_timedjoin_np(workers[i].thread, NULL, &ts) != 0) {
			LOG(LL_WARN, "spoa", "worker did not stop in time, leaving it",
			    KVI("worker", i));
		}
	}
}

size_t worker_list_conns(struct conn_info **out)
{
	size_t total = 0;
	struct conn_info *all = NULL;

	for (unsigned i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];
		struct timespec ts;
		int timed_out = 0;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_mutex_lock(&w->lock);
		w->list_req = 1;
		ev_async_send(w->loop, &w->wake);
		while (w->list_req && !timed_out)
			timed_out = pthread_cond_timedwait(&w->listed, &w->lock, &ts) == ETIMEDOUT;
		if (!w->list_req && w->list_len) {
			struct conn_info *p = realloc(all, (total + w->list_len) * sizeof(*all));

			if (p) {
				all = p;
				memcpy(all + total, w->list, w->list_len * sizeof(*all));
				total += w->list_len;
			}
		}
		w->list_req = 0;
		pthread_mutex_unlock(&w->lock);
	}
	*out = all;
	return total;
}
