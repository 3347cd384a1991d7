/* Sticky cookie values and Cookie header parsing (RFC 6265 section 5.4
 * syntax, as browsers send it: "a=1; b=2").
 */
#include <string.h>
#include <strings.h>

#include "common/hash.h"
#include "common/siphash.h"
#include "routing/sticky.h"

/* Seeds the value hash apart from the task keys it is mixed with. */
#define STICKY_VALUE_SEED 0x5f3759df8badf00dULL

void sticky_format(uint64_t key, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = STICKY_VALUE_LEN - 1; i >= 0; i--) {
		out[i] = hex[key & 0xf];
		key >>= 4;
	}
}

/* Parses 16 hex digits (either case). Returns 0, or -1. */
static int sticky_hex(const char *s, size_t len, uint64_t *key)
{
	uint64_t v = 0;

	if (len != STICKY_VALUE_LEN)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -1;
		v = (v << 4) | d;
	}
	*key = v;
	return 0;
}

/* Reads the next "name=value" pair of the Cookie header from <*i>:
 * spaces and tabs around both dropped. Returns 1 with the bounds set, or
 * 0 at the end of the header. A pair without '=' gets an empty name.
 */
static int sticky_next(const char *hdr, size_t len, size_t *i, size_t *n_start, size_t *n_end,
		       size_t *v_start, size_t *v_end)
{
	size_t p = *i;

	while (p < len && (hdr[p] == ' ' || hdr[p] == '\t' || hdr[p] == ';'))
		p++;
	if (p >= len) {
		*i = p;
		return 0;
	}
	*n_start = p;
	while (p < len && hdr[p] != '=' && hdr[p] != ';')
		p++;
	*n_end = p;
	while (*n_end > *n_start && (hdr[*n_end - 1] == ' ' || hdr[*n_end - 1] == '\t'))
		(*n_end)--;
	if (p >= len || hdr[p] != '=') {
		*n_end = *n_start;
		*v_start = *v_end = p;
		*i = p;
		return 1;
	}
	*v_start = ++p;
	while (p < len && hdr[p] != ';')
		p++;
	*v_end = p;
	while (*v_start < *v_end && (hdr[*v_start] == ' ' || hdr[*v_start] == '\t'))
		(*v_start)++;
	while (*v_end > *v_start && (hdr[*v_end - 1] == ' ' || hdr[*v_end - 1] == '\t'))
		(*v_end)--;
	*i = p;
	return 1;
}

int sticky_value(const char *hdr, size_t len, const char *name, size_t name_len,
		 const char **val, size_t *val_len)
{
	size_t i = 0, ns, ne, vs, ve;

	while (sticky_next(hdr, len, &i, &ns, &ne, &vs, &ve)) {
		if (ne - ns != name_len || strncasecmp(hdr + ns, name, name_len) != 0)
			continue;
		/* the first one counts, as in NGINX; an empty one means none */
		if (ve == vs)
			return 0;
		*val = hdr + vs;
		*val_len = ve - vs;
		return 1;
	}
	return 0;
}

uint64_t sticky_value_hash(const char *val, size_t len)
{
	return hash_bytes(STICKY_VALUE_SEED, val, len);
}

uint64_t sticky_mac(const unsigned char *key, const char *id)
{
	return siphash24(key, id, strlen(id));
}

int sticky_parse(const char *hdr, size_t len, const char *name, size_t name_len,
		 size_t *pos, uint64_t *key)
{
	size_t i = *pos;

	while (i < len) {
		size_t n_start, n_end, v_start, v_end;

		while (i < len && (hdr[i] == ' ' || hdr[i] == '\t' || hdr[i] == ';'))
			i++;
		n_start = i;
		while (i < len && hdr[i] != '=' && hdr[i] != ';')
			i++;
		n_end = i;
		while (n_end > n_start && (hdr[n_end - 1] == ' ' || hdr[n_end - 1] == '\t'))
			n_end--;
		if (i >= len || hdr[i] != '=')
			continue;
		v_start = ++i;
		while (i < len && hdr[i] != ';')
			i++;
		v_end = i;
		while (v_start < v_end && (hdr[v_start] == ' ' || hdr[v_start] == '\t'))
			v_start++;
		while (v_end > v_start && (hdr[v_end - 1] == ' ' || hdr[v_end - 1] == '\t'))
			v_end--;
		if (v_end - v_start >= 2 && hdr[v_start] == '"' && hdr[v_end - 1] == '"') {
			v_start++;
			v_end--;
		}
		if (n_end - n_start != name_len || memcmp(hdr + n_start, name, name_len) != 0)
			continue;
		if (sticky_hex(hdr + v_start, v_end - v_start, key) < 0)
			continue;
		*pos = i;
		return 1;
	}
	*pos = i;
	return 0;
}
