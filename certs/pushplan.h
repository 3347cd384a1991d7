/* A sync's plan, as a pure function: what HAProxy holds (its crt-list's
 * lines, its certificate stores, the open transaction) and the set it
 * must serve in; the steps to run (pushop.h), what the plan found of each
 * certificate, and when to look again out. No I/O and no clock: the
 * caller passes the time, so every decision can be replayed in a unit
 * test.
 *
 * The rules:
 *   - A ready certificate whose crt-list line (path and SNI filters) is
 *     there is served; otherwise it is pushed.
 *   - The default certificate replaces the crt-list's first line in
 *     place, which must be the operator's.
 *   - Whatever else the crt-list holds belongs to the operator and is
 *     never touched: only paths under CERTSET_PREFIX are ours.
 *   - A line of ours the set does not want is removed once it has been
 *     unwanted for <grace_ms>; so is a store of ours no line uses (at once
 *     when its last line goes now). The open transaction's store stays.
 *   - Nothing is removed for a name whose material the agent cannot read
 *     now (another agent may have pushed it right), nor for a name the set
 *     does not know while the routing table is incomplete; nor a line that
 *     serves a host whose new certificate is not ready yet: a rotation
 *     makes before it breaks, and a bad new certificate leaves the last
 *     good one in place.
 *
 * Since when each line or store has been unwanted is remembered across
 * plans in a struct pushplan. The output borrows the input's strings.
 */
#ifndef CERTS_PUSHPLAN_H
#define CERTS_PUSHPLAN_H

#include <stddef.h>
#include <stdint.h>
#include "certs/pushop-t.h"
#include "certs/pusher-t.h"

struct certset;
struct pushplan;

/* One line of the crt-list, as "show ssl crt-list -n" lists it. */
struct pushplan_entry {
	const char *path;
	const char *filters;          /* SNI filters separated by spaces, "" for none */
	unsigned line;
};

struct pushplan_in {
	const struct certset *set;
	const struct pushplan_entry *entries;   /* in crt-list order */
	size_t nentries;
	const char *const *stores;    /* "show ssl cert": the stores, the transaction's aside */
	size_t nstores;
	const char *tx;               /* the open transaction's path, "" or NULL: none */
	int64_t now_ms;               /* monotonic */
	unsigned grace_ms;
};

/* What the plan found of one certificate of the set. */
struct pushplan_item {
	int found;                    /* 0: the plan says nothing of it (a push decides) */
	enum pusher_item_state state;
	const char *reason;           /* static text, NULL: none */
};

struct pushplan_out {
	struct pushop *ops;           /* pushes, the default, lines removed, stores removed */
	size_t nops;
	struct pushplan_item *items;  /* set->n + 1, the default last */
	int64_t grace_due_ms;         /* the earliest removal still in its grace, 0: none */
};

/* Returns an empty memory of what was unwanted, or NULL. */
struct pushplan *pushplan_new(void);
void pushplan_free(struct pushplan *pp);

/* Plans a sync from <in> into <out> (release it with pushplan_release()),
 * and remembers in <pp> since when each removal waits. Returns 0, or -1
 * when memory is exhausted (<out> is empty then).
 */
int pushplan_decide(struct pushplan *pp, const struct pushplan_in *in, struct pushplan_out *out);
void pushplan_release(struct pushplan_out *out);

#endif
