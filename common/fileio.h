/* Small local files read whole and written whole: state files and
 * operator files of a few kilobytes to a megabyte, on a local disk. Reads
 * are bounded; writes replace the file atomically, so that a reader (a
 * restarted agent, another agent sharing the file) sees the old content or
 * the new one, never a mix.
 */
#ifndef COMMON_FILEIO_H
#define COMMON_FILEIO_H

#include <stddef.h>
#include <stdint.h>

struct sbuf;

/* What tells one version of a file from another. */
struct fileio_stamp {
	uint64_t dev, ino, size;
	int64_t mtime_ns;
};

/* Reads the file at <path> into <out> (replacing its content), refusing
 * files larger than <max> bytes. Returns 1, 0 when there is no such file,
 * or -1 with the reason in <err>. <st> (may be NULL) gets the stamp of
 * what was read.
 */
int fileio_read(const char *path, size_t max, struct sbuf *out, struct fileio_stamp *st,
		char *err, size_t errlen);

/* The stamp of <path>. Returns 1, 0 when there is no such file, or -1. */
int fileio_stat(const char *path, struct fileio_stamp *st);

/* Returns 1 when <a> and <b> are the same version of a file. */
int fileio_same(const struct fileio_stamp *a, const struct fileio_stamp *b);

/* Replaces the file at <path> with the <len> bytes at <data>: written to a
 * temporary file in the same directory, flushed to disk, then renamed over
 * <path>. <st> (may be NULL) gets the stamp of the new file. Returns 0, or
 * -1 with the reason in <err> (the old file is then untouched).
 */
int fileio_write_atomic(const char *path, const char *data, size_t len,
			struct fileio_stamp *st, char *err, size_t errlen);

#endif
