/* Reading the recorded Docker answers of fixtures/ in tests. */
#ifndef TESTS_LIB_FIXTURE_H
#define TESTS_LIB_FIXTURE_H

#include <stddef.h>

/* Returns the NUL-terminated content of fixtures/<name> (malloc'd) and its
 * length in <*len>; aborts the test program when it cannot be read.
 */
char *fixture_read(const char *name, size_t *len);

#endif
