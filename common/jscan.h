/* A pull scanner for the JSON the Docker Engine sends: walks a document in
 * place and hands out only the fields the caller asks for, skipping the
 * rest without building anything. A full /tasks list of a large swarm is
 * tens of megabytes of which we keep a few percent; a tree parser spends
 * most of its time allocating what we then throw away.
 *
 * The scanner validates what it walks, including what it skips (strings,
 * numbers, literals, nesting up to JSCAN_MAX_DEPTH). The first error is
 * sticky: every later call fails, and jscan_error() says what and where.
 *
 * Return convention: 0 on success and -1 on error, except the iterators,
 * which return 1 (one more item), 0 (end of the container) or -1, and
 * jscan_open_object() and jscan_open_array().
 *
 * Reading an object is one loop over the members the caller knows:
 *
 *	static const char *const names[] = { "ID", "Spec", NULL };
 *
 *	while ((rc = jscan_next_known(s, names, &which)) == 1)
 *		... read the value of names[which] ...
 *
 * and a value deeper down is reached with jscan_path().
 */
#ifndef COMMON_JSCAN_H
#define COMMON_JSCAN_H

#include <stddef.h>
#include <stdint.h>

struct arena;

#define JSCAN_MAX_DEPTH 128

enum jscan_type {
	JSCAN_NONE = 0,   /* end of input or error */
	JSCAN_OBJECT,
	JSCAN_ARRAY,
	JSCAN_STRING,
	JSCAN_NUMBER,
	JSCAN_TRUE,
	JSCAN_FALSE,
	JSCAN_NULL,
};

struct jscan {
	const char *p;        /* next byte to read */
	const char *end;
	const char *start;
	int first;            /* the container being walked has no item yet */
	int err;              /* sticky */
	char errmsg[96];
};

/* A string as it appears in the input, quotes removed. When <escaped> is
 * set, <s> still holds the backslash sequences: use jscan_str_dup() or
 * jscan_str_eq() rather than reading <s> directly.
 */
struct jscan_str {
	const char *s;
	size_t len;
	int escaped;
};

/* Starts scanning the <len> bytes at <buf>, which must outlive <s>. */
void jscan_init(struct jscan *s, const char *buf, size_t len);

/* Returns the type of the next value without consuming it. */
enum jscan_type jscan_peek(struct jscan *s);

/* Consumes '{' or '['. Fails when the next value is something else. */
int jscan_enter_object(struct jscan *s);
int jscan_enter_array(struct jscan *s);

/* Moves to the next member of the object being walked and stores its key
 * in <key>; the caller then consumes its value (read it or jscan_skip()).
 * Returns 1, 0 after the closing '}', or -1.
 */
int jscan_next_member(struct jscan *s, struct jscan_str *key);

/* Moves to the next element of the array being walked. Returns 1 (the
 * caller then consumes the value), 0 after the closing ']', or -1.
 */
int jscan_next_element(struct jscan *s);

/* Enters the object at <s> and returns 1. A null, or a value of another
 * type, is consumed and 0 returned: most members of what Docker sends are
 * optional, and one of an unexpected type is no reason to refuse the rest.
 * Returns -1 on a syntax error.
 */
int jscan_open_object(struct jscan *s);

/* The same for an array. */
int jscan_open_array(struct jscan *s);

/* Moves to the next member of the object being walked whose name is one of
 * <names> (NULL-terminated), skipping the other members with their values,
 * and stores its index in <names> into <*which>; the caller then consumes
 * its value. Returns 1, 0 after the closing '}', or -1.
 */
int jscan_next_known(struct jscan *s, const char *const *names, int *which);

/* Reads the value at <s> for the caller of jscan_path(): consumes it and
 * returns 0, or -1 to stop the walk.
 */
typedef int (*jscan_fn)(struct jscan *s, void *arg);

/* Consumes the value at <s>, calling <fn> with <arg> on each value found
 * down <path> (member names, NULL-terminated) from it. A member that is
 * missing, or a null or non-object on the way, is not an error: <fn> is
 * then not called. Returns 0, or -1 on a syntax error or when <fn> failed.
 */
int jscan_path(struct jscan *s, const char *const *path, jscan_fn fn, void *arg);

/* Counts the items left in the container being walked: its members when
 * <type> is JSCAN_OBJECT, its elements when JSCAN_ARRAY. Walks a copy of
 * <s>, which does not move. Returns the count, or -1 when a syntax error
 * comes first (the walk itself meets it then).
 */
long jscan_count(const struct jscan *s, enum jscan_type type);

/* Consumes one value of any type, validating it. */
int jscan_skip(struct jscan *s);

/* Consumes a string value into <out> (borrowed from the input). */
int jscan_string(struct jscan *s, struct jscan_str *out);

/* Consumes an integer value (no fraction, no exponent) into <out>. */
int jscan_int64(struct jscan *s, int64_t *out);

/* Consumes true or false into <out> (1 or 0). */
int jscan_bool(struct jscan *s, int *out);

/* Consumes the value when it is null and returns 1; returns 0 otherwise,
 * consuming nothing.
 */
int jscan_null(struct jscan *s);

/* After the document: only whitespace may remain. */
int jscan_finish(struct jscan *s);

/* The sticky error with its byte offset, or NULL when there is none. */
const char *jscan_error(const struct jscan *s);

/* Returns 1 when <str> decodes to the NUL-terminated <lit>, else 0. */
int jscan_str_eq(const struct jscan_str *str, const char *lit);

/* Returns 1 when <str> decodes to a string starting with <prefix>. */
int jscan_str_prefix(const struct jscan_str *str, const char *prefix);

/* Decodes <str> into a NUL-terminated UTF-8 string allocated in <a>.
 * Returns NULL when memory is exhausted, when an escape is invalid, or when
 * the result would not be valid UTF-8 or would contain a NUL byte (nothing
 * we keep may be cut short by C string handling).
 */
char *jscan_str_dup(struct arena *a, const struct jscan_str *str);

/* Same into <buf> of <size> bytes: returns the length, or -1 when invalid
 * or too long.
 */
long jscan_str_copy(const struct jscan_str *str, char *buf, size_t size);

#endif
