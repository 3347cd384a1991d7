/* Lock-free publication of immutable snapshots (the routing table) to the
 * worker threads, with quiescent-state reclamation.
 *
 * One writer (the main thread) publishes; readers (workers) load the current
 * snapshot and may use it until they next pass through a quiescent point.
 * A worker announces itself online right after its event loop wakes up
 * (snapshot_reader_online) and offline right before it blocks
 * (snapshot_reader_offline); it must never keep a snapshot pointer across
 * that boundary. A retired snapshot is freed by the writer once every reader
 * has been offline or come online again since it was replaced.
 */
#ifndef ROUTING_SNAPSHOT_H
#define ROUTING_SNAPSHOT_H

#include <stddef.h>

#define SNAPSHOT_MAX_READERS 256

struct snapshot_reader;

/* Registers a reader; returns its handle, or NULL when all slots are taken.
 * Called once per worker thread, before it first reads.
 */
struct snapshot_reader *snapshot_reader_register(void);
void snapshot_reader_online(struct snapshot_reader *r);
void snapshot_reader_offline(struct snapshot_reader *r);

/* Returns the current snapshot (NULL before the first publish). Readers call
 * it only while online; the pointer is valid until they go offline.
 */
void *snapshot_current(void);

/* Writer only: makes <snap> current and retires the previous one, to be
 * released with <release> once no reader can see it. Returns the new
 * generation number (1 for the first publish).
 */
unsigned long snapshot_publish(void *snap, void (*release)(void *));

/* Writer only: releases retired snapshots that no reader can still see.
 * Returns how many are still waiting. Call it from a periodic timer.
 */
size_t snapshot_reclaim(void);

#endif
