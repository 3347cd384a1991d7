/* Whole-file reads and atomic replacement of small local files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/sbuf.h"

static void fileio_stamp_of(const struct stat *sb, struct fileio_stamp *st)
{
	st->dev = (uint64_t)sb->st_dev;
	st->ino = (uint64_t)sb->st_ino;
	st->size = (uint64_t)sb->st_size;
	st->mtime_ns = (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
}

int fileio_stat(const char *path, struct fileio_stamp *st)
{
	struct stat sb;

	if (stat(path, &sb) < 0)
		return errno == ENOENT ? 0 : -1;
	fileio_stamp_of(&sb, st);
	return 1;
}

int fileio_same(const struct fileio_stamp *a, const struct fileio_stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns;
}

int fileio_read(const char *path, size_t max, struct sbuf *out, struct fileio_stamp *st,
		char *err, size_t errlen)
{
	struct stat sb;
	char buf[16384];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out_close;
	}
	sbuf_reset(out);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out_close;
		}
		if (out->len + (size_t)n > max) {
			snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
			goto out_close;
		}
		sbuf_add(out, buf, (size_t)n);
	}
	if (out->oom) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out_close;
	}
	if (st)
		fileio_stamp_of(&sb, st);
	close(fd);
	return 1;

out_close:
	close(fd);
	return -1;
}

int fileio_write_atomic(const char *path, const char *data, size_t len,
			struct fileio_stamp *st, char *err, size_t errlen)
{
	char tmp[4096];
	struct stat sb;
	size_t done = 0;
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp)) {
		snprintf(err, errlen, "%.200s...: path too long", path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
			goto out_unlink;
		}
		done += (size_t)n;
	}
	/* the rename must not reach the disk before the content */
	if (fsync(fd) < 0) {
		snprintf(err, errlen, "%s: fsync: %s", tmp, strerror(errno));
		goto out_unlink;
	}
	if (st && fstat(fd, &sb) == 0)
		fileio_stamp_of(&sb, st);
	if (close(fd) < 0) {
		fd = -1;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: rename: %s", path, strerror(errno));
		goto out_unlink;
	}
	return 0;

out_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}
