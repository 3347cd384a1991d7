/* Checks pages of the Prometheus text exposition format 0.0.4 line by line:
 * names, escapes, numbers, one HELP/TYPE per family, no series twice,
 * histograms cumulative with +Inf and a matching count.
 */
#ifndef TESTS_LIB_PROMCHECK_H
#define TESTS_LIB_PROMCHECK_H

/* Returns NULL when <page> follows the format, else why not (static). */
const char *check_exposition(const char *page);

#endif
