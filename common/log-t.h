/* Logging types: levels, output formats and key/value fields. */
#ifndef COMMON_LOG_T_H
#define COMMON_LOG_T_H

enum log_level {
	LL_ERROR = 0,
	LL_WARN,
	LL_INFO,
	LL_DEBUG,
};

enum log_format {
	LOG_FMT_LOGFMT = 0,
	LOG_FMT_JSON,
};

enum log_kv_type {
	LOG_KV_NONE = 0,   /* placeholder, skipped */
	LOG_KV_STR,
	LOG_KV_INT,
	LOG_KV_STRN,       /* string with explicit length */
};

/* One key=value field of a log line. Strings are borrowed for the duration
 * of the call only.
 */
struct log_kv {
	const char *key;
	enum log_kv_type type;
	long long i;
	const char *s;
	size_t n;
};

#endif
