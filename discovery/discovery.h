/* Discovery: keeps a service model in step with a Docker Engine (swarm
 * services and tasks, or plain containers) and hands every changed model to
 * the agent. Runs on the agent's main libev loop; never blocks it.
 */
#ifndef DISCOVERY_DISCOVERY_H
#define DISCOVERY_DISCOVERY_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct model;
struct discovery;

struct discovery_opts {
	const char *url;            /* unix:///path, tcp://h:p, https://h:p, or NULL/"auto":
				       DOCKER_HOST, DOCKER_CERT_PATH, DOCKER_TLS_VERIFY */
	const char *mode;           /* "auto", "swarm" or "containers" */
	unsigned poll_fast_ms;      /* task polling while services converge */
	unsigned poll_slow_ms;      /* task polling when all is still */
};

enum discovery_state {
	DISCOVERY_CONNECTING = 0,   /* no successful sync yet */
	DISCOVERY_SYNCED,           /* in step with the daemon */
	DISCOVERY_DEGRADED,         /* daemon unreachable or answering badly: last good model kept */
};

/* How long Docker took to answer, one histogram per kind of request: an
 * answer counts in the first bucket whose bound (ms) it did not exceed,
 * the last bucket holding the rest. Requests that failed count too, with
 * the time they took to fail; a request cancelled (the slower of a hedged
 * poll) does not.
 */
#define DISCOVERY_ANSWER_BUCKETS 12
#define DISCOVERY_REQUEST_KINDS  9
extern const unsigned discovery_answer_bounds_ms[DISCOVERY_ANSWER_BUCKETS - 1];

struct discovery_answers {
	const char *request;        /* "/tasks", "/services/{id}"... */
	uint64_t buckets[DISCOVERY_ANSWER_BUCKETS];
	uint64_t count;
	uint64_t sum_us;
};

struct discovery_status {
	enum discovery_state state;
	const char *state_name;     /* "connecting", "synced", "degraded" */
	const char *endpoint;       /* what we talk to */
	const char *mode;           /* "swarm" or "containers" once known */
	char api_version[16];       /* negotiated, e.g. "1.41" */
	int64_t last_sync_ms;       /* wall clock of the last successful full sync */
	int64_t last_change_ms;     /* wall clock of the last model handed over */
	int64_t last_error_ms;
	char last_error[256];
	uint64_t requests;          /* Docker API requests made */
	uint64_t request_failures;
	uint64_t events;            /* /events lines received */
	uint64_t syncs;             /* full resyncs */
	uint64_t reconnects;        /* event stream reconnections */
	uint64_t models;            /* models handed over */
	uint64_t last_sync_ns;      /* duration of the last full sync */
	uint64_t last_sync_cpu_ns;  /* agent CPU spent parsing it */
	uint64_t convergence_last_ms;  /* task state change -> table, last seen */
	uint64_t convergence_max_ms;
	size_t services;            /* in the last model */
	size_t tasks;
	/* added after the first version of this interface */
	uint64_t convergence_p50_ms;   /* over the last CONVERGENCE_WINDOW tasks */
	uint64_t convergence_p99_ms;
	uint64_t convergence_samples;  /* tasks measured since start */
	int events_connected;       /* the /events stream is open */
	size_t routed_services;     /* services with com.docker.lb.* labels */
	uint64_t skipped_entries;   /* malformed Docker entries skipped since start */
	double requests_per_s;      /* Docker API requests per second over the last 10-20 s */
	uint64_t poll_period_ms;    /* the task poll period now: fast while services converge */
	size_t converging_services; /* routed services polled fast: tasks not settled yet */
	size_t stuck_services;      /* not settled past the ceiling: polled every few seconds */
	uint64_t full_poll_ms;      /* shortest of the last full /tasks answers */
	uint64_t filtered_poll_ms;  /* the last /tasks answer filtered by service ID */
	uint64_t filtered_poll_ids; /* how many IDs it asked for */
	uint64_t hedged_polls;      /* converging polls asked again, their answer slow */
	uint64_t hedge_wins;        /* of which the second request answered first */
	struct discovery_answers answers[DISCOVERY_REQUEST_KINDS];
};

/* Starts discovery on <loop>. Each time the model changes, <on_model> is
 * called with a new model that it takes over (it never sees an empty model
 * because of an error: errors keep the last good one). Returns NULL with a
 * reason in <err> when the options are unusable.
 */
struct discovery *discovery_new(struct ev_loop *loop, const struct discovery_opts *o,
				void (*on_model)(void *arg, struct model *m), void *arg,
				char *err, size_t errlen);

/* Forces a full resync now (stats socket "resync"). */
void discovery_resync(struct discovery *d);

void discovery_status(const struct discovery *d, struct discovery_status *st);

/* The period of a poll whose answers took <cost_ms> (the last <n> of them,
 * at most 4 are read): <base_ms>, stretched to <factor> times the shortest
 * of those answers so that Docker spends at most 1/<factor> of the time
 * answering. The shortest, since one answer that waited (a leader
 * election) says nothing of the cost.
 */
int64_t discovery_poll_period(unsigned base_ms, unsigned factor, const unsigned *cost_ms, unsigned n);

/* What a poll of <nids> services filtered by ID is expected to cost Docker,
 * in ms, from the last <n> such polls (at most 4 read): poll i asked for
 * <ids>[i] services and took <cost_ms>[i]. The polls that asked for at
 * least half as many IDs count, scaled linearly to <nids> when that is
 * more (dockerd resolves each ID), unscaled when less; the least of them.
 * When none asked for that many, the one that asked for the most, scaled
 * the same way: that counts its fixed cost several times over, but an
 * estimate too high costs one unfiltered poll, one too low a filtered
 * poll that a busy manager may take seconds to answer. 0 without a poll.
 */
int64_t discovery_filtered_cost(const unsigned *cost_ms, const unsigned *ids, unsigned n, size_t nids);

/* Whether a poll of <nids> services had better ask Docker for every task
 * that should run than filter by their IDs (dockerd resolves each ID, one
 * request to the manager each): when the recent filtered polls (<sub_ms>,
 * <sub_ids>, <nsub>; see discovery_filtered_cost()) say it would cost more
 * than the shortest of the last unfiltered answers (<all_ms>, <nall>).
 * Without an unfiltered answer, unfiltered, then without a filtered one,
 * filtered: the next answer measures it. Always unfiltered past 100 IDs
 * (the length of the request), and while the unfiltered answer takes less
 * than 100 ms: there is little to save, and a manager busy creating
 * services was seen taking 8 s to resolve 32 IDs (250 ms each) while it
 * answered for all tasks in 54 ms.
 */
int discovery_poll_unfiltered(const unsigned *sub_ms, const unsigned *sub_ids, unsigned nsub,
			      const unsigned *all_ms, unsigned nall, size_t nids);

/* Stops every transfer and frees <d>. */
void discovery_free(struct discovery *d);

#endif
