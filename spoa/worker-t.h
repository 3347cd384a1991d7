/* Worker threads and the SPOP connections they own. */
#ifndef SPOA_WORKER_T_H
#define SPOA_WORKER_T_H

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "spoa/spop-t.h"

struct snapshot_reader;
struct rtable;

/* Per-worker counters. Only the owning worker writes them (plain
 * load + store, no lock prefix); the stats socket reads them relaxed.
 */
struct worker_stats {
	_Atomic uint64_t conns_accepted;
	_Atomic uint64_t conns_closed;
	_Atomic uint64_t conns_cur;
	_Atomic uint64_t hellos;
	_Atomic uint64_t healthchecks;
	_Atomic uint64_t frames_in;
	_Atomic uint64_t frames_out;
	_Atomic uint64_t notify;
	_Atomic uint64_t ack;
	_Atomic uint64_t messages;
	_Atomic uint64_t messages_unknown;
	_Atomic uint64_t handler_errors;       /* messages answered with an error */
	_Atomic uint64_t haproxy_disconnects;  /* HAPROXY-DISCONNECT frames */
	_Atomic uint64_t frames_skipped;       /* unknown frame types */
	_Atomic uint64_t bytes_in;
	_Atomic uint64_t bytes_out;
	_Atomic uint64_t reads;
	_Atomic uint64_t writes;
	_Atomic uint64_t backpressure;         /* times reading was paused */
	_Atomic uint64_t idle_timeouts;        /* connections closed for saying nothing */
	_Atomic uint64_t disconnects[SPOP_ERR_SLOTS]; /* AGENT-DISCONNECT by status; last slot: other */
	_Atomic uint64_t busy_ns;              /* time spent outside the poller */
	_Atomic uint64_t loop_ns;              /* time since start */
	_Atomic uint64_t lat_hist[24];         /* NOTIFY processing time: bucket i < 2^(i+6) ns,
						* the last one takes everything from 2^28 ns up */
	_Atomic uint64_t lat_sum_ns;           /* sum of NOTIFY processing times */
	_Atomic uint64_t collect_on;           /* 1 while the collect interval is set */
	_Atomic uint64_t collect_periods;      /* times the adaptive interval was set */
};

/* The adaptive collect interval of a worker (see worker_collect_step()). */
struct worker_collect {
	int on;                    /* the interval is set */
	int64_t since_ns;          /* start of the measuring window, or of the on period */
	uint64_t frames0, reads0;  /* the counters at <since_ns> */
};

#define STAT_ADD(ws, field, n) \
	atomic_store_explicit(&(ws)->field, \
		atomic_load_explicit(&(ws)->field, memory_order_relaxed) + (n), memory_order_relaxed)
#define STAT_INC(ws, field) STAT_ADD(ws, field, 1)

enum conn_state {
	CONN_ST_HELLO = 0,   /* waiting for HAPROXY-HELLO */
	CONN_ST_READY,       /* NOTIFY/ACK exchange */
	CONN_ST_CLOSING,     /* flushing a final frame, then close */
};

struct worker;

/* An accepted socket on its way from the acceptor to a worker. */
struct worker_handoff {
	int fd;
	_Atomic unsigned *listener_conns;
};

/* One HAProxy connection. Owned by its worker; never touched by another
 * thread except through the worker's inbox.
 */
struct conn {
	ev_io rio;                 /* readable */
	ev_io wio;                 /* writable: only while output is pending */
	ev_timer timer;            /* hello deadline, idle deadline, then closing deadline */
	struct worker *w;
	_Atomic unsigned *listener_conns; /* its listener's count of open connections */
	ev_tstamp last_frame;      /* loop time of the last complete frame */
	struct conn *prev, *next;  /* worker's connection list */
	int fd;
	enum conn_state state;
	uint32_t max_frame;        /* negotiated max-frame-size */
	unsigned healthcheck:1;    /* close after AGENT-HELLO */
	unsigned read_paused:1;    /* backpressure: HAProxy reads slowly */
	unsigned pipelining:1;     /* HAProxy announced pipelining */
	uint64_t id;               /* for logs and "show conns" */
	int64_t since_ms;          /* wall clock at accept */
	uint64_t notify;           /* NOTIFY frames received */
	uint8_t *in;               /* carried-over partial frame */
	size_t in_len, in_cap;
	uint8_t *out;              /* bytes the socket did not take yet */
	size_t out_len, out_off, out_cap;
	char peer[72];
	char engine_id[64];
};

/* A snapshot of one connection for "show conns". */
struct conn_info {
	uint64_t id;
	unsigned worker;
	char peer[72];
	char engine_id[64];
	enum conn_state state;
	uint32_t max_frame;
	int pipelining;
	int64_t since_ms;
	uint64_t notify;
	size_t out_pending;
	size_t buffered;           /* carry and output buffer memory held */
};

struct worker {
	unsigned idx;
	pthread_t thread;
	struct ev_loop *loop;
	ev_async wake;             /* inbox, stop and conn-listing requests */
	ev_prepare prepare;        /* going to sleep: offline for snapshots */
	ev_check check;            /* woke up: online for snapshots */
	ev_timer stop_tick;        /* while stopping: exits once no connection is left */
	struct snapshot_reader *reader;
	const struct rtable *table; /* snapshot for the current batch */

	pthread_mutex_t lock;      /* protects the inbox and the listing request */
	struct worker_handoff *inbox; /* accepted sockets handed over by the acceptor */
	size_t inbox_len, inbox_cap;
	_Atomic int stopping;

	struct conn *conns;        /* all connections of this worker */
	uint64_t next_conn_id;

	uint8_t *rbuf;             /* read batch buffer */
	size_t rbuf_cap;
	uint8_t *obuf;             /* output batch buffer */
	size_t obuf_len, obuf_cap;
	char *scratch;             /* RTABLE_SCRATCH_SIZE for the router */

	int64_t last_wake_ns;
	int64_t start_ns;
	struct worker_collect collect; /* --spop-collect auto */
	_Atomic unsigned nconns;   /* read by the acceptor to balance */

	/* "show conns" request: the stats thread asks, the worker fills */
	pthread_cond_t listed;
	int list_req;
	struct conn_info *list;
	size_t list_len, list_cap;

	struct worker_stats stats;
};

#endif
