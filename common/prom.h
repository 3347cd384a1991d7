/* A writer for the Prometheus text exposition format, version 0.0.4: one
 * family at a time (HELP and TYPE lines, then its samples), with label
 * values escaped and kept valid UTF-8, and numbers printed so that every
 * Prometheus parser reads them back exactly.
 */
#ifndef COMMON_PROM_H
#define COMMON_PROM_H

#include <stdint.h>

struct sbuf;

enum prom_type {
	PROM_COUNTER = 0,
	PROM_GAUGE,
	PROM_HISTOGRAM,
};

/* A label of a sample. <value> may hold any bytes: it is escaped, and
 * invalid UTF-8 is replaced by U+FFFD.
 */
struct prom_label {
	const char *name;
	const char *value;
};

/* Starts family <name> (a valid metric name, without the _total,
 * _bucket, _sum or _count suffixes of its samples) with its <help> text.
 * The caller emits every sample of the family before the next family.
 */
void prom_family(struct sbuf *out, const char *name, enum prom_type type, const char *help);

/* Appends one sample "<name><suffix>{labels} <value>". <suffix> may be
 * NULL; <labels> holds <nlabels> entries (may be 0).
 */
void prom_sample_u64(struct sbuf *out, const char *name, const char *suffix,
		     const struct prom_label *labels, unsigned nlabels, uint64_t value);
/* A family of one sample without labels: prom_family(), then the sample,
 * named <name>_total for a counter.
 */
void prom_single_u64(struct sbuf *out, const char *name, enum prom_type type,
		     const char *help, uint64_t value);
void prom_sample_f64(struct sbuf *out, const char *name, const char *suffix,
		     const struct prom_label *labels, unsigned nlabels, double value);

/* Appends a label value as the format wants it between double quotes:
 * backslash, double quote and newline escaped, invalid UTF-8 replaced.
 */
void prom_escape_label(struct sbuf *out, const char *s);

#define PROM_F64_LEN 32

/* Writes <v> as a sample value into <buf> (PROM_F64_LEN bytes) and returns
 * <buf>: integers without exponent, +Inf, -Inf, NaN, others with the fewest
 * digits that read back as the same double.
 */
const char *prom_f64(double v, char *buf);

#endif
