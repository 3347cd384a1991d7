/* Monotonic and wall clocks in milliseconds. */
#ifndef COMMON_CLOCK_H
#define COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t clock_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Length of clock_iso8601()'s buffer. */
#define CLOCK_ISO8601_LEN 32

/* Writes wall-clock <ms> as "2026-11-26T05:21:08.798Z" into <buf>
 * (CLOCK_ISO8601_LEN bytes) and returns it; 0 and negative times give "-".
 */
static inline const char *clock_iso8601(int64_t ms, char *buf)
{
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	if (ms <= 0 || !gmtime_r(&sec, &tm)) {
		buf[0] = '-';
		buf[1] = '\0';
		return buf;
	}
	n = strftime(buf, CLOCK_ISO8601_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	buf[n++] = '.';
	buf[n++] = (char)('0' + ms % 1000 / 100);
	buf[n++] = (char)('0' + ms % 100 / 10);
	buf[n++] = (char)('0' + ms % 10);
	buf[n++] = 'Z';
	buf[n] = '\0';
	return buf;
}

#endif
