/* Certificate material in files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "certs/certsrc.h"
#include "certs/pem.h"
#include "common/sbuf.h"

int certsrc_valid_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > CERTSRC_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return 0;
	}
	return 1;
}

static void certsrc_stamp_of(const struct stat *sb, struct certsrc_stamp *st)
{
	st->dev = (uint64_t)sb->st_dev;
	st->ino = (uint64_t)sb->st_ino;
	st->size = (int64_t)sb->st_size;
	st->mtime_ns = (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
}

int certsrc_stat(const char *dir, const char *name, struct certsrc_stamp *st,
		 char *err, size_t errlen)
{
	char path[4096];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	/* Secrets are mounted as regular files; Kubernetes-style symlinks
	 * into a "..data" directory are followed. */
	if (stat(path, &sb) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		return -1;
	}
	certsrc_stamp_of(&sb, st);
	return 1;
}

int certsrc_read(const char *dir, const char *name, struct sbuf *out, struct certsrc_stamp *st,
		 char *err, size_t errlen)
{
	char path[4096], buf[16384];
	struct stat sb;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		goto out_close;
	}
	if ((size_t)sb.st_size > PEM_MAX_INPUT) {
		snprintf(err, errlen, "%s is larger than 1 MB: not a certificate", path);
		goto out_close;
	}
	certsrc_stamp_of(&sb, st);
	sbuf_reset(out);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
			goto out_close;
		}
		if (n == 0)
			break;
		if (out->len + (size_t)n > PEM_MAX_INPUT) {
			snprintf(err, errlen, "%s is larger than 1 MB: not a certificate", path);
			goto out_close;
		}
		sbuf_add(out, buf, (size_t)n);
	}
	close(fd);
	if (out->oom) {
		snprintf(err, errlen, "out of memory reading %s", path);
		return -1;
	}
	return 1;

out_close:
	close(fd);
	return -1;
}
