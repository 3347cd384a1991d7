/* Publication of the routing table to the workers (routing/snapshot.c)
 * under real threads: readers go online, read the current snapshot and go
 * offline in a tight loop while the writer publishes and reclaims. A
 * released snapshot is poisoned rather than freed, so a reader that could
 * still see one is caught here in any build; the ThreadSanitizer build
 * (SWARM_SPOA_SANITIZE=thread) also checks that each release happens
 * after the last read of that snapshot.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "routing/snapshot.h"

#define READERS 4
#define PUBLISHES 3000
#define ALIVE 0xa11ea11eu
#define DEAD 0xdeadu

struct snap {
	unsigned magic;
	unsigned long gen;
	uint64_t words[16];         /* each gen * (i + 1): torn or stale reads show */
};

static _Atomic int stop;
static _Atomic unsigned long violations;
static _Atomic unsigned long reads;
static unsigned long released;
static struct snap *graveyard[PUBLISHES + 1];

static void snap_release(void *p)
{
	struct snap *s = p;

	s->magic = DEAD;
	graveyard[released++] = s;
}

static struct snap *snap_new(unsigned long gen)
{
	struct snap *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->magic = ALIVE;
	s->gen = gen;
	for (size_t i = 0; i < 16; i++)
		s->words[i] = gen * (i + 1);
	return s;
}

static void *reader_main(void *arg)
{
	struct snapshot_reader *r = snapshot_reader_register();
	unsigned long last_gen = 0;

	(void)arg;
	if (!r)
		return NULL;
	while (!atomic_load(&stop)) {
		snapshot_reader_online(r);
		for (int k = 0; k < 8; k++) {
			const struct snap *s = snapshot_current();
			int bad = 0;

			if (!s)
				continue;
			bad |= s->magic != ALIVE;
			bad |= s->gen < last_gen;           /* never goes back */
			for (size_t i = 0; i < 16; i++)
				bad |= s->words[i] != s->gen * (i + 1);
			if (bad)
				atomic_fetch_add(&violations, 1);
			last_gen = s->gen;
			atomic_fetch_add_explicit(&reads, 1, memory_order_relaxed);
		}
		snapshot_reader_offline(r);
		sched_yield();
	}
	return NULL;
}

static void test_readers_never_see_a_released_snapshot(void **state)
{
	pthread_t th[READERS];
	size_t waiting;

	(void)state;
	snapshot_publish(snap_new(1), snap_release);
	for (int i = 0; i < READERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader_main, NULL), 0);
	for (unsigned long g = 2; g <= PUBLISHES; g++) {
		assert_int_equal(snapshot_publish(snap_new(g), snap_release), g);
		snapshot_reclaim();
		if (g % 64 == 0)
			sched_yield();
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < READERS; i++)
		pthread_join(th[i], NULL);
	/* every reader is offline: everything retired goes now */
	waiting = snapshot_reclaim();
	assert_int_equal(waiting, 0);
	assert_int_equal(released, PUBLISHES - 1);
	assert_int_equal(atomic_load(&violations), 0);
	assert_true(atomic_load(&reads) > 0);
	for (unsigned long i = 0; i < released; i++)
		free(graveyard[i]);
	free(snapshot_current());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readers_never_see_a_released_snapshot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
