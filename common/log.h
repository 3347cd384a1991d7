/* One line per event on stderr, as logfmt or JSON.
 *
 * The level is checked before anything is formatted: LOG() with a level
 * above the threshold costs one relaxed atomic load. Every line carries a
 * timestamp, the level, the subsystem and a message, then key/value fields:
 *
 *   LOG(LL_INFO, "discovery", "service added", KVS("service", name), KVI("tasks", n));
 */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stdatomic.h>
#include <stddef.h>
#include "common/log-t.h"

extern _Atomic int log_threshold;

#define log_enabled(lvl) ((int)(lvl) <= atomic_load_explicit(&log_threshold, memory_order_relaxed))

#define KVS(k, str)      ((struct log_kv){ .key = (k), .type = LOG_KV_STR, .s = (str) })
#define KVSN(k, str, len) ((struct log_kv){ .key = (k), .type = LOG_KV_STRN, .s = (str), .n = (len) })
#define KVI(k, num)      ((struct log_kv){ .key = (k), .type = LOG_KV_INT, .i = (long long)(num) })

#define LOG(lvl, subsys, msg, ...)						\
	do {									\
		if (log_enabled(lvl)) {						\
			const struct log_kv log_kv_[] = { { 0 }, __VA_ARGS__ };	\
			log_emit((lvl), (subsys), (msg), log_kv_ + 1,		\
				 sizeof(log_kv_) / sizeof(log_kv_[0]) - 1);	\
		}								\
	} while (0)

/* Formats and writes one line with one write(2) so that lines from several
 * threads never interleave. <kv> holds <nkv> fields. A line is at most 4 kB:
 * fields that do not fit are left out whole and the line ends with
 * truncated=true, so that it stays one valid logfmt or JSON record.
 */
void log_emit(enum log_level lvl, const char *subsys, const char *msg,
	      const struct log_kv *kv, size_t nkv);

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
void log_set_format(enum log_format fmt);

/* Parses "error", "warn"/"warning", "info" or "debug" into <*lvl>.
 * Returns 0, or -1 when <name> is not a level.
 */
int log_level_parse(const char *name, enum log_level *lvl);
const char *log_level_name(enum log_level lvl);

/* Parses "logfmt" or "json". Returns 0, or -1. */
int log_format_parse(const char *name, enum log_format *fmt);

/* Redirects log output to <fd> (tests); the default is stderr. */
void log_set_fd(int fd);

#endif
