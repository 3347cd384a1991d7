/* stats-bench: how long the stats socket's table listings hold the main
 * loop. Runs the real stats server (stats/server.c) on a libev loop in this
 * process, with the table of a large swarm, and times every iteration of
 * that loop while a client reads each listing and a second client asks
 * "show info" every few milliseconds.
 *
 *   stats-bench [services [tasks-per-service [rounds [clients]]]]
 *
 * Defaults: 10000 services, 5 tasks each (the swarm of rtable-bench: two
 * services per host, at "/" and "/api", 1% wildcard hosts), 5 rounds of
 * every listing by 1 client (by <clients> clients at once). An iteration ("loop turn") is timed from an ev_check
 * watcher of the highest priority (the loop is back from poll and about to
 * run its callbacks) to the next ev_prepare (it is about to poll again):
 * that is how long anything else on the loop, Docker discovery included,
 * may wait. The turn is given in wall-clock time and in CPU time of the
 * loop's thread, which leaves out the time the thread was preempted: on a
 * busy machine the first includes other processes' work.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <ev.h>

#include "bench/benchmodel.h"
#include "common/clock.h"
#include "common/log.h"
#include "routing/model.h"
#include "routing/rtable.h"
#include "routing/tables.h"
#include "stats/server.h"

static const char *const listings[] = {
	"show routes", "show routes json", "show services", "show services json",
	"show tasks stack0_svc0 json",
};
#define NLISTINGS (sizeof(listings) / sizeof(listings[0]))

struct iter_times {
	uint64_t *ns;             /* wall clock of each iteration */
	uint64_t *cpu_ns;         /* CPU time of the loop's thread in each iteration */
	size_t n, cap;
	int64_t started;          /* 0 while the loop waits in poll */
	int64_t cpu_started;
};

static struct iter_times iters;
static char sock_path[108];
static ev_async done_async;
static struct ev_loop *loop;
static _Atomic unsigned listers_left;

/************************************************************************/
/*                       timing the loop's iterations                   */
/************************************************************************/

static int64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_check(struct ev_loop *l, ev_check *w, int revents)
{
	iters.started = clock_mono_ns();
	iters.cpu_started = thread_cpu_ns();
}

static void on_prepare(struct ev_loop *l, ev_prepare *w, int revents)
{
	if (!iters.started)
		return;
	if (iters.n == iters.cap) {
		iters.cap = iters.cap ? iters.cap * 2 : 4096;
		iters.ns = realloc(iters.ns, iters.cap * sizeof(*iters.ns));
		iters.cpu_ns = realloc(iters.cpu_ns, iters.cap * sizeof(*iters.cpu_ns));
		if (!iters.ns || !iters.cpu_ns)
			abort();
	}
	iters.cpu_ns[iters.n] = (uint64_t)(thread_cpu_ns() - iters.cpu_started);
	iters.ns[iters.n++] = (uint64_t)(clock_mono_ns() - iters.started);
	iters.started = 0;
}

static void on_done(struct ev_loop *l, ev_async *w, int revents)
{
	ev_break(l, EVBREAK_ALL);
}

/************************************************************************/
/*                                 clients                              */
/************************************************************************/

/* Sends <cmd> and reads the answer to the end. Returns its size, or -1. */
static long ask(const char *cmd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[65536];
	long total = 0;
	ssize_t n;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	strcpy(sa.sun_path, sock_path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd) || write(fd, "\n", 1) != 1) {
		close(fd);
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	close(fd);
	return n < 0 ? -1 : total;
}

struct probe {
	pthread_t thread;
	volatile int stop;
	uint64_t *ns;
	size_t n, cap;
};

/* "show info" every 2 ms, each answer timed. */
static void *probe_main(void *arg)
{
	struct probe *p = arg;

	while (!p->stop) {
		int64_t t0 = clock_mono_ns();

		if (ask("show info") < 0) {
			fprintf(stderr, "show info failed: %s\n", strerror(errno));
			exit(1);
		}
		if (p->n == p->cap) {
			p->cap = p->cap ? p->cap * 2 : 4096;
			p->ns = realloc(p->ns, p->cap * sizeof(*p->ns));
			if (!p->ns)
				abort();
		}
		p->ns[p->n++] = (uint64_t)(clock_mono_ns() - t0);
		usleep(2000);
	}
	return NULL;
}

struct lister {
	const char *cmd;
	unsigned rounds;
	long bytes;
	uint64_t ns;              /* the slowest round */
};

static void *lister_main(void *arg)
{
	struct lister *ls = arg;

	for (unsigned r = 0; r < ls->rounds; r++) {
		int64_t t0 = clock_mono_ns();
		uint64_t ns;

		ls->bytes = ask(ls->cmd);
		if (ls->bytes < 0) {
			fprintf(stderr, "%s failed: %s\n", ls->cmd, strerror(errno));
			exit(1);
		}
		ns = (uint64_t)(clock_mono_ns() - t0);
		if (ns > ls->ns)
			ls->ns = ns;
	}
	if (atomic_fetch_sub(&listers_left, 1) == 1)
		ev_async_send(loop, &done_async);
	return NULL;
}

/************************************************************************/
/*                                  main                                */
/************************************************************************/

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_ms(uint64_t *v, size_t n, double q)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	return (double)v[(size_t)(q * (double)(n - 1))] / 1e6;
}

int main(int argc, char **argv)
{
	size_t nsvcs = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
	size_t ntasks = argc > 2 ? strtoul(argv[2], NULL, 10) : 5;
	unsigned rounds = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 5;
	unsigned nclients = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 1;
	struct rtable_build_opts opts = { .nworkers = 1 };
	ev_check check;
	ev_prepare prepare;
	char err[256];

	if (nsvcs < 2 || ntasks < 1 || rounds < 1 || nclients < 1 || nclients > 200) {
		fprintf(stderr, "usage: %s [services>=2 [tasks-per-service>=1 [rounds>=1 "
			"[clients=1..200]]]]\n", argv[0]);
		return 2;
	}
	log_set_level(LL_ERROR);
	tables_init(&opts);
	if (tables_update("swarm", benchmodel_make(nsvcs, ntasks, 0)) < 0) {
		fprintf(stderr, "cannot build the table\n");
		return 1;
	}
	snprintf(sock_path, sizeof(sock_path), "/tmp/stats-bench-%d.sock", (int)getpid());
	loop = ev_default_loop(EVFLAG_AUTO);
	if (server_start(loop, sock_path, 0600, NULL, 0, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	ev_check_init(&check, on_check);
	ev_set_priority(&check, EV_MAXPRI);
	ev_check_start(loop, &check);
	ev_prepare_init(&prepare, on_prepare);
	ev_prepare_start(loop, &prepare);
	ev_async_init(&done_async, on_done);
	ev_async_start(loop, &done_async);

	printf("%zu services x %zu tasks, %u rounds of each listing by %u client(s) at once, "
	       "\"show info\" every 2 ms\n\n", nsvcs, ntasks, rounds, nclients);
	printf("%-28s %9s %9s %7s %9s %9s %9s %9s\n", "listing", "bytes", "slowest",
	       "loop", "longest", "longest", "show info", "show info");
	printf("%-28s %9s %9s %7s %9s %9s %9s %9s\n", "", "", "answer", "turns", "turn",
	       "turn CPU", "p50", "max");
	for (size_t i = 0; i < NLISTINGS; i++) {
		struct lister ls[200];
		struct probe pr = { .stop = 0 };
		pthread_t lt[200];
		double max_iter, max_cpu;
		uint64_t slowest = 0;

		iters.n = 0;
		iters.started = 0;
		listers_left = nclients;
		pthread_create(&pr.thread, NULL, probe_main, &pr);
		for (unsigned c = 0; c < nclients; c++) {
			ls[c] = (struct lister){ .cmd = listings[i], .rounds = rounds };
			pthread_create(&lt[c], NULL, lister_main, &ls[c]);
		}
		ev_run(loop, 0);
		for (unsigned c = 0; c < nclients; c++) {
			pthread_join(lt[c], NULL);
			if (ls[c].ns > slowest)
				slowest = ls[c].ns;
		}
		pr.stop = 1;
		/* the probe's last question needs the loop */
		while (pthread_tryjoin_np(pr.thread, NULL) == EBUSY)
			ev_run(loop, EVRUN_NOWAIT);
		max_iter = pct_ms(iters.ns, iters.n, 1.0);
		max_cpu = pct_ms(iters.cpu_ns, iters.n, 1.0);
		printf("%-28s %9ld %7.1fms %7zu %7.2fms %7.2fms %7.2fms %7.2fms\n", listings[i],
		       ls[0].bytes, (double)slowest / 1e6, iters.n, max_iter, max_cpu,
		       pct_ms(pr.ns, pr.n, 0.5), pct_ms(pr.ns, pr.n, 1.0));
		free(pr.ns);
	}
	server_stop();
	return 0;
}
