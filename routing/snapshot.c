/* Quiescent-state based reclamation for published snapshots.
 *
 * Readers hold a per-thread epoch: 0 while offline, otherwise the publish
 * epoch they observed when they last came online. A snapshot retired at
 * epoch E can be released once no reader is online with an epoch below E:
 * such a reader came online after the swap and can only have loaded a newer
 * pointer.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "routing/snapshot.h"

struct snapshot_reader {
	_Alignas(64) _Atomic unsigned long epoch;
};

struct retired {
	struct retired *next;
	void *snap;
	void (*release)(void *);
	unsigned long epoch;
};

static struct snapshot_reader readers[SNAPSHOT_MAX_READERS];
static _Atomic unsigned nreaders;
static _Atomic(void *) current;
static _Atomic unsigned long publish_epoch = 1;
static void (*current_release)(void *);
static struct retired *retired_head;

struct snapshot_reader *snapshot_reader_register(void)
{
	unsigned idx = atomic_fetch_add(&nreaders, 1);

	if (idx >= SNAPSHOT_MAX_READERS)
		return NULL;
	atomic_store(&readers[idx].epoch, 0);
	return &readers[idx];
}

void snapshot_reader_online(struct snapshot_reader *r)
{
	atomic_store(&r->epoch, atomic_load(&publish_epoch));
}

void snapshot_reader_offline(struct snapshot_reader *r)
{
	atomic_store_explicit(&r->epoch, 0, memory_order_release);
}

void *snapshot_current(void)
{
	/* sequentially consistent, like the epoch store of
	 * snapshot_reader_online(): with an acquire load, C11 would let the
	 * pointer be read before the epoch is visible to the writer, which
	 * could then free what the reader is about to use. On x86 and ARMv8
	 * this costs nothing more than the acquire load. */
	return atomic_load(&current);
}

unsigned long snapshot_publish(void *snap, void (*release)(void *))
{
	void *old = atomic_exchange(&current, snap);
	void (*old_release)(void *) = current_release;
	unsigned long epoch = atomic_fetch_add(&publish_epoch, 1) + 1;

	current_release = release;
	if (old) {
		struct retired *r = malloc(sizeof(*r));

		if (!r) {
			/* Cannot track it safely: leaking beats a use-after-free. */
			return epoch - 1;
		}
		r->snap = old;
		r->release = old_release;
		r->epoch = epoch;
		r->next = retired_head;
		retired_head = r;
	}
	snapshot_reclaim();
	return epoch - 1;
}

/* Returns the smallest epoch among online readers, or ULONG_MAX if none. */
static unsigned long min_online_epoch(void)
{
	unsigned n = atomic_load(&nreaders);
	unsigned long min = (unsigned long)-1;

	if (n > SNAPSHOT_MAX_READERS)
		n = SNAPSHOT_MAX_READERS;
	for (unsigned i = 0; i < n; i++) {
		unsigned long e = atomic_load(&readers[i].epoch);

		if (e && e < min)
			min = e;
	}
	return min;
}

size_t snapshot_reclaim(void)
{
	unsigned long min = min_online_epoch();
	struct retired **pp = &retired_head, *r;
	size_t waiting = 0;

	while ((r = *pp)) {
		if (r->epoch <= min) {
			*pp = r->next;
			r->release(r->snap);
			free(r);
		} else {
			pp = &r->next;
			waiting++;
		}
	}
	return waiting;
}
