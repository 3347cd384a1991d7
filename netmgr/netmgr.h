/* --manage-networks: keeps the HAProxy service (--proxy-service) attached
 * to the networks routed services name in com.docker.lb.network, detaches
 * it from those no routed service has named for the grace period, and
 * removes the stack networks it detached once their stack is gone and
 * nothing uses them (after `docker stack rm`, which fails on a network the
 * proxy still holds).
 *
 * It follows the routing table (tables_subscribe()), looks at the swarm
 * through the Docker API client of discovery (which it turns writable) and
 * decides with netplan_decide(). It runs on the agent's main loop and never
 * blocks it.
 *
 * Two agents run it at once, with nothing shared but the swarm. Each looks
 * at the proxy service, decides, and updates it with the version it read
 * (POST /services/{id}/update?version=N): the first update wins, the other
 * is refused as out of sequence, looks again and finds nothing left to do.
 * Which networks the agents attached (and detached, still to remove) is
 * kept in labels of the proxy service itself (netplan.h), so both agents
 * and their successors know it.
 *
 * Swarm cannot add a network to a running task: every attach or detach
 * replaces the proxy's tasks, following the service's update_config. Hence
 * the folding: changes seen within NETMGR_FOLD_MS are made by one update,
 * and detachments whose grace periods end within NETMGR_DETACH_FOLD_MS of
 * each other too (netplan.h); and the rate limit, which no label can get
 * round: at most <max_updates> updates in any <window_s> (netplan.h).
 */
#ifndef NETMGR_NETMGR_H
#define NETMGR_NETMGR_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct dockerapi;
struct policy;
struct rtable;
struct sbuf;
struct netmgr;

#define NETMGR_FOLD_MS          1000    /* changes made together in one update */
#define NETMGR_DETACH_FOLD_MS   3000    /* graces ending this close: one detach */
#define NETMGR_GUARD_MS         30000   /* looks at the proxy service at least this often */
#define NETMGR_REMOVE_RETRY_MS  500     /* a detached network still held by old tasks */
#define NETMGR_REMOVE_SLOW_MS   15000   /* ... once it has been held for a minute */
#define NETMGR_ROLLBACK_WAIT_MS 60000   /* after Swarm rolled an update of the proxy back */
#define NETMGR_UPDATES_DEFAULT  6       /* --network-updates: updates per window ... */
#define NETMGR_WINDOW_DEFAULT_S 600     /* ... --network-window: of this many seconds */

struct netmgr_opts {
	const char *proxy_service;  /* name or ID of the HAProxy service */
	unsigned grace_s;           /* --network-grace */
	/* Whether the routing table holds every service yet (a first full
	 * sync was made): nothing is decided before, since an incomplete
	 * table would look like services gone. */
	int (*table_complete)(void);
	/* The current table, read once it is complete when none came since. */
	const struct rtable *(*current_table)(void);
	/* The operator's policy, asked at each decision (NULL: none). */
	const struct policy *(*policy)(void);
	/* The rate limit: at most <max_updates> updates of the proxy service
	 * in any <window_s> seconds, both agents together (0: no limit). */
	unsigned max_updates;
	unsigned window_s;
};

/* Returns a network manager that talks through <api> (it allows writes on
 * it), or NULL with the reason in <err>. Feed it every table with
 * netmgr_on_table().
 */
struct netmgr *netmgr_new(struct ev_loop *loop, struct dockerapi *api,
			  const struct netmgr_opts *o, char *err, size_t errlen);

/* Cancels its requests and frees <m>; before the client it borrows. */
void netmgr_free(struct netmgr *m);

/* tables_subscribe() callback: <arg> is the manager, <t> the new table. */
void netmgr_on_table(void *arg, const struct rtable *t);

/* "show networks": the proxy service, each network it has or routed
 * services name, with its state, users, grace timer and reason.
 */
void netmgr_show(const struct netmgr *m, struct sbuf *out, int json);

/* Its metric families: networks refused, updates held by the rate limit. */
void netmgr_metrics(const struct netmgr *m, struct sbuf *out);

#endif
