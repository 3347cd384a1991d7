/* Aligned text tables for people (the stats socket's listings): columns
 * padded to their widest cell, two spaces apart, the last one unpadded.
 *
 * Cells are text that may come from outside (labels, Docker objects,
 * HAProxy's engine ID): control bytes, backslashes and invalid UTF-8 are
 * written as \xNN, so a cell can neither forge a row nor move the
 * terminal's cursor. Widths count the bytes written.
 */
#ifndef COMMON_TEXTTAB_H
#define COMMON_TEXTTAB_H

#include <stddef.h>

struct sbuf;

#define TEXTTAB_MAX_COLS 12

struct texttab {
	size_t ncols;
	size_t width[TEXTTAB_MAX_COLS];
};

/* Starts a table of <ncols> (at most TEXTTAB_MAX_COLS) columns whose
 * headings are <head>: each column is at least as wide as its heading.
 */
void texttab_init(struct texttab *t, size_t ncols, const char *const *head);

/* Widens the columns (but the last) to fit the cells of a row. A NULL cell
 * is shown as "-".
 */
void texttab_measure(struct texttab *t, const char *const *cells);

/* Appends a row, every column but the last padded to its width. */
void texttab_row(const struct texttab *t, struct sbuf *out, const char *const *cells);

/* Appends <s> (NULL: "-") escaped as cells are, without padding; for text
 * outside a table. Returns the number of bytes written.
 */
size_t texttab_put(struct sbuf *out, const char *s);

#endif
