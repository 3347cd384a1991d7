/* Reading the recorded Docker answers of fixtures/ in tests. */
#ifndef TESTS_LIB_FIXTURE_H
#define TESTS_LIB_FIXTURE_H

#include <stddef.h>

/* Returns the NUL-terminated content of fixtures/<name> (malloc'd) and its
 * length in <*len>; aborts the test program when it cannot be read.
 */
char *fixture_read(const char *name, size_t *len);

struct sbuf;

/* Appends to <svcs> and <tasks> Docker's /services and /tasks answers for
 * <n> synthetic routed services s0000.. of one replica each (host
 * sNNNN.test), with one task tNNNN each in state <state>.
 */
void fixture_many_services(size_t n, const char *state, struct sbuf *svcs, struct sbuf *tasks);

#endif
