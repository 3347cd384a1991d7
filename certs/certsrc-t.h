/* What certsrc.h remembers of a file it read. */
#ifndef CERTS_CERTSRC_T_H
#define CERTS_CERTSRC_T_H

#include <stdint.h>

/* What identifies a file's content cheaply: a change of any of these means
 * the file must be read again.
 */
struct certsrc_stamp {
	uint64_t dev;
	uint64_t ino;
	int64_t size;
	int64_t mtime_ns;
};

#endif
