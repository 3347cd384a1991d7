/* Certificate material in files: Docker secrets mounted into the agent's
 * containers (/run/secrets/<name>), or any directory given with
 * --certs-dir. Files are small and local (a tmpfs for secrets): they are
 * read at once, bounded, without following the name out of the directory.
 */
#ifndef CERTS_CERTSRC_H
#define CERTS_CERTSRC_H

#include <stddef.h>
#include <stdint.h>
#include "certs/certsrc-t.h"

struct sbuf;

#define CERTSRC_NAME_MAX 64

/* Returns 1 when <name> is a Docker secret or config name as Docker
 * accepts them ([A-Za-z0-9] then [A-Za-z0-9_.-], 64 bytes at most), which
 * also makes it a safe file name: no '/', no "..". Else 0.
 */
int certsrc_valid_name(const char *name);

/* Looks at <dir>/<name>. Returns 1 with its stamp in <st>, 0 when there is
 * no such file, or -1 with the reason in <err> (not a regular file,
 * unreadable directory).
 */
int certsrc_stat(const char *dir, const char *name, struct certsrc_stamp *st,
		 char *err, size_t errlen);

/* Reads <dir>/<name> (at most PEM_MAX_INPUT bytes) into <out>, replacing
 * its content, and its stamp into <st>. Returns 1, 0 when there is no such
 * file, or -1 with the reason in <err>.
 */
int certsrc_read(const char *dir, const char *name, struct sbuf *out, struct certsrc_stamp *st,
		 char *err, size_t errlen);

#endif
