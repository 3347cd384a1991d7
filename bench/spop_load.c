/* spop-load: a SPOP load generator that measures the agent alone.
 *
 * Opens --conns connections spread over --threads threads, performs the
 * HELLO handshake like HAProxy, then keeps --pipeline NOTIFY "route"
 * messages in flight per connection until --requests have been answered or
 * --duration seconds have passed (both bounded). Prints throughput, latency
 * percentiles and, with --pid, the agent's CPU time per request.
 *
 * --framing 2.6 (the default) writes the NOTIFY frames that refill a
 * connection's pipeline together, as HAProxy 2.6 and 3.0's SPOE applets do;
 * --framing 3.2 writes each one with a write(2) of its own and numbers
 * streams 1, 3, 5... with frame ID 1, as the SPOP multiplexer of HAProxy
 * 3.1 and later does (mux_spop.c sends a frame as soon as a stream hands
 * it over; at most 20 streams per connection, so --pipeline 20 at most).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "spoa/spop.h"

#define HIST_BUCKETS 4096        /* 1 us resolution up to ~4 ms, then overflow */

struct cfg {
	char host[256];
	char port[16];
	int conns;
	int threads;
	int pipeline;
	long long requests;
	double duration;
	int hosts;                  /* distinct Host values: svc0.bench .. */
	int frame_per_write;        /* --framing 3.2 */
	const char *host_prefix;
	int pid;
};

struct lconn {
	int fd;
	uint8_t *in;
	size_t in_len;
	uint64_t next_sid;
	int inflight;
	int64_t *sent_ns;           /* by stream id % pipeline */
	int ready;
};

struct lthread {
	pthread_t th;
	struct cfg *cfg;
	int first, count;           /* connection range */
	long long done;
	uint64_t hist[HIST_BUCKETS + 1];
	int64_t max_ns;
	unsigned seed;
	int error;
};

static _Atomic long long total_done;
static _Atomic int stop_flag;
static int64_t deadline_ns;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int connect_to(const struct cfg *c)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	int fd, one = 1;

	if (getaddrinfo(c->host, c->port, &hints, &res))
		return -1;
	fd = socket(res->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
		freeaddrinfo(res);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	freeaddrinfo(res);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static long build_hello(uint8_t *buf, size_t cap)
{
	struct spop_writer w;

	spop_frame_begin(&w, buf, cap, SPOP_FRM_HAPROXY_HELLO, 0, 0);
	spop_put_kv_str(&w, "supported-versions", "2.0", 3);
	spop_put_kv_uint32(&w, "max-frame-size", 16380);
	spop_put_kv_str(&w, "capabilities", "pipelining", 10);
	spop_put_kv_str(&w, "engine-id", "spop-load", 9);
	return spop_frame_end(&w, 16380);
}

/* A NOTIFY shaped like HAProxy's "route" message from haproxy-conf/. */
static long build_notify(uint8_t *buf, size_t cap, uint64_t sid, uint64_t fid, const char *host)
{
	static const uint8_t src[4] = { 127, 0, 0, 1 };
	struct spop_writer w;
	uint8_t *p;

	spop_frame_begin(&w, buf, cap, SPOP_FRM_NOTIFY, sid, fid);
	spop_put_string(&w, "route", 5);
	if (w.p < w.end)
		*w.p++ = 7;
	spop_put_kv_str(&w, "host", host, strlen(host));
	spop_put_kv_str(&w, "path", "/index.html", 11);
	spop_put_string(&w, "query", 5);
	if (w.p < w.end)
		*w.p++ = SPOP_DATA_NULL;
	spop_put_kv_str(&w, "method", "GET", 3);
	spop_put_string(&w, "src", 3);
	p = w.p;
	if (w.end - p >= 5) {
		*p++ = SPOP_DATA_IPV4;
		memcpy(p, src, 4);
		w.p = p + 4;
	}
	spop_put_kv_str(&w, "ssl", "http", 4);
	spop_put_string(&w, "cookie", 6);
	if (w.p < w.end)
		*w.p++ = SPOP_DATA_NULL;
	return spop_frame_end(&w, 16380);
}

static void pick_host(struct lthread *t, char *host, size_t len)
{
	if (t->cfg->hosts <= 1) {
		snprintf(host, len, "%s", t->cfg->host_prefix);
		return;
	}
	t->seed = t->seed * 1103515245u + 12345u;
	snprintf(host, len, "svc%u.%s", (t->seed >> 8) % (unsigned)t->cfg->hosts,
		 t->cfg->host_prefix);
}

static int should_stop(void)
{
	return atomic_load_explicit(&stop_flag, memory_order_relaxed);
}

static void *thread_main(void *arg)
{
	struct lthread *t = arg;
	struct cfg *c = t->cfg;
	struct lconn *conns = calloc((size_t)t->count, sizeof(*conns));
	struct epoll_event ev, evs[64];
	uint8_t *out = malloc(1 << 20);
	int ep = epoll_create1(0);
	char host[128];

	for (int i = 0; i < t->count; i++) {
		struct lconn *lc = &conns[i];
		long n;

		lc->fd = connect_to(c);
		if (lc->fd < 0) {
			fprintf(stderr, "spop-load: cannot connect to %s:%s\n", c->host, c->port);
			t->error = 1;
			return NULL;
		}
		lc->in = malloc(1 << 20);
		lc->sent_ns = calloc((size_t)c->pipeline, sizeof(int64_t));
		lc->next_sid = 1;
		n = build_hello(out, 1 << 20);
		if (write(lc->fd, out, (size_t)n) != n) {
			t->error = 1;
			return NULL;
		}
		ev.events = EPOLLIN;
		ev.data.ptr = lc;
		epoll_ctl(ep, EPOLL_CTL_ADD, lc->fd, &ev);
	}

	while (!should_stop()) {
		int n = epoll_wait(ep, evs, 64, 100);

		if (now_ns() > deadline_ns)
			atomic_store(&stop_flag, 1);
		for (int e = 0; e < n; e++) {
			struct lconn *lc = evs[e].data.ptr;
			ssize_t r = read(lc->fd, lc->in + lc->in_len, (1 << 20) - lc->in_len);
			size_t off = 0, olen = 0;
			int64_t t_now = now_ns();
			int acked = 0;

			if (r <= 0) {
				fprintf(stderr, "spop-load: agent closed a connection\n");
				t->error = 1;
				atomic_store(&stop_flag, 1);
				break;
			}
			lc->in_len += (size_t)r;
			while (lc->in_len - off >= 4) {
				uint32_t flen;
				struct spop_frame f;
				enum spop_status st;

				memcpy(&flen, lc->in + off, 4);
				flen = ntohl(flen);
				if (lc->in_len - off - 4 < flen)
					break;
				if (spop_frame_parse(lc->in + off + 4, flen, &f, &st) == 0) {
					if (f.type == SPOP_FRM_AGENT_HELLO) {
						lc->ready = 1;
					} else if (f.type == SPOP_FRM_ACK) {
						uint64_t slot = c->frame_per_write ? (f.stream_id + 1) / 2 : f.stream_id;
						int64_t lat = t_now - lc->sent_ns[slot % (uint64_t)c->pipeline];
						uint64_t us = (uint64_t)lat / 1000;

						t->hist[us < HIST_BUCKETS ? us : HIST_BUCKETS]++;
						if (lat > t->max_ns)
							t->max_ns = lat;
						lc->inflight--;
						acked++;
					} else if (f.type == SPOP_FRM_AGENT_DISCON) {
						fprintf(stderr, "spop-load: agent disconnected\n");
						t->error = 1;
						atomic_store(&stop_flag, 1);
					}
				}
				off += 4 + flen;
			}
			memmove(lc->in, lc->in + off, lc->in_len - off);
			lc->in_len -= off;
			t->done += acked;
			if (acked &&
			    atomic_fetch_add(&total_done, acked) + acked >= c->requests)
				atomic_store(&stop_flag, 1);
			if (!lc->ready || should_stop())
				continue;
			/* Refill the pipeline: one write, or one per frame. */
			while (lc->inflight < c->pipeline) {
				uint64_t sid = c->frame_per_write ? 2 * lc->next_sid - 1 : lc->next_sid;
				long k;

				pick_host(t, host, sizeof(host));
				k = build_notify(out + olen, (1 << 20) - olen, sid,
						 c->frame_per_write ? 1 : sid, host);
				if (k < 0)
					break;
				lc->sent_ns[lc->next_sid % (uint64_t)c->pipeline] = t_now;
				lc->next_sid++;
				lc->inflight++;
				if (c->frame_per_write) {
					if (write(lc->fd, out, (size_t)k) != k)
						olen = 1;  /* reported below */
					else
						continue;
					break;
				}
				olen += (size_t)k;
			}
			if (olen && (c->frame_per_write || write(lc->fd, out, olen) != (ssize_t)olen)) {
				fprintf(stderr, "spop-load: short write\n");
				t->error = 1;
				atomic_store(&stop_flag, 1);
			}
		}
	}
	for (int i = 0; i < t->count; i++)
		close(conns[i].fd);
	return NULL;
}

static double proc_cpu_seconds(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double percentile(const uint64_t *hist, uint64_t total, double q)
{
	uint64_t want = (uint64_t)((double)total * q), acc = 0;

	for (int i = 0; i <= HIST_BUCKETS; i++) {
		acc += hist[i];
		if (acc > want)
			return i;
	}
	return HIST_BUCKETS;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: spop-load [--target HOST:PORT] [--conns N] [--threads N] [--pipeline N]\n"
		"                 [--requests N] [--duration SEC] [--hosts N] [--host NAME]\n"
		"                 [--pid AGENT_PID] [--framing 2.6|3.2]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "target", required_argument, NULL, 't' },
		{ "conns", required_argument, NULL, 'c' },
		{ "threads", required_argument, NULL, 'T' },
		{ "pipeline", required_argument, NULL, 'p' },
		{ "requests", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'd' },
		{ "hosts", required_argument, NULL, 'H' },
		{ "host", required_argument, NULL, 'h' },
		{ "pid", required_argument, NULL, 'P' },
		{ "framing", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct cfg c = { .conns = 4, .threads = 1, .pipeline = 64, .requests = 1000000,
			 .duration = 10, .hosts = 1, .host_prefix = "bench.local" };
	struct lthread *ts;
	uint64_t hist[HIST_BUCKETS + 1] = { 0 };
	int64_t t0, t1, maxns = 0;
	double cpu0 = -1, cpu1 = -1;
	long long done = 0;
	int o, err = 0;

	strcpy(c.host, "127.0.0.1");
	strcpy(c.port, "12345");
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 't': {
			char *colon = strrchr(optarg, ':');

			if (!colon)
				usage();
			snprintf(c.host, sizeof(c.host), "%.*s", (int)(colon - optarg), optarg);
			snprintf(c.port, sizeof(c.port), "%s", colon + 1);
			break;
		}
		case 'c': c.conns = atoi(optarg); break;
		case 'T': c.threads = atoi(optarg); break;
		case 'p': c.pipeline = atoi(optarg); break;
		case 'n': c.requests = atoll(optarg); break;
		case 'd': c.duration = atof(optarg); break;
		case 'H': c.hosts = atoi(optarg); break;
		case 'h': c.host_prefix = optarg; break;
		case 'P': c.pid = atoi(optarg); break;
		case 'f':
			if (strcmp(optarg, "3.2") == 0)
				c.frame_per_write = 1;
			else if (strcmp(optarg, "2.6") != 0)
				usage();
			break;
		default: usage();
		}
	}
	if (c.conns < 1 || c.threads < 1 || c.threads > c.conns || c.pipeline < 1 ||
	    c.requests < 1 || c.duration <= 0 || c.duration > 600)
		usage();

	ts = calloc((size_t)c.threads, sizeof(*ts));
	if (c.pid)
		cpu0 = proc_cpu_seconds(c.pid);
	t0 = now_ns();
	deadline_ns = t0 + (int64_t)(c.duration * 1e9);
	for (int i = 0, first = 0; i < c.threads; i++) {
		int count = c.conns / c.threads + (i < c.conns % c.threads);

		ts[i].cfg = &c;
		ts[i].first = first;
		ts[i].count = count;
		ts[i].seed = (unsigned)i * 7919u + 1;
		first += count;
		pthread_create(&ts[i].th, NULL, thread_main, &ts[i]);
	}
	for (int i = 0; i < c.threads; i++) {
		pthread_join(ts[i].th, NULL);
		done += ts[i].done;
		err |= ts[i].error;
		for (int b = 0; b <= HIST_BUCKETS; b++)
			hist[b] += ts[i].hist[b];
		if (ts[i].max_ns > maxns)
			maxns = ts[i].max_ns;
	}
	t1 = now_ns();
	if (c.pid)
		cpu1 = proc_cpu_seconds(c.pid);

	{
		double secs = (double)(t1 - t0) / 1e9;

		printf("requests        %lld\n", done);
		printf("seconds         %.3f\n", secs);
		printf("rate            %.0f notify/s\n", (double)done / secs);
		printf("latency_p50_us  %.0f\n", percentile(hist, (uint64_t)done, 0.50));
		printf("latency_p99_us  %.0f\n", percentile(hist, (uint64_t)done, 0.99));
		printf("latency_p999_us %.0f\n", percentile(hist, (uint64_t)done, 0.999));
		printf("latency_max_us  %.0f\n", (double)maxns / 1000);
		if (cpu0 >= 0 && cpu1 >= 0 && done)
			printf("agent_cpu_us_per_request %.3f\n", (cpu1 - cpu0) * 1e6 / (double)done);
	}
	return err ? 1 : 0;
}
