/* IPv4/IPv6 address parsing and printing. */
#include <arpa/inet.h>
#include <string.h>

#include "common/hash.h"
#include "common/netaddr.h"

int netaddr_parse(struct netaddr *a, const char *s, size_t len)
{
	char buf[NETADDR_STRLEN];

	memset(a, 0, sizeof(*a));
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, a->ip) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, a->ip) == 1) {
		a->family = AF_INET6;
		return 0;
	}
	return -1;
}

int netaddr_parse_cidr(struct netaddr *a, const char *s)
{
	const char *slash = strchr(s, '/');

	return netaddr_parse(a, s, slash ? (size_t)(slash - s) : strlen(s));
}

const char *netaddr_str(const struct netaddr *a, char *buf)
{
	if (!a->family || !inet_ntop(a->family, a->ip, buf, NETADDR_STRLEN))
		strcpy(buf, "-");
	return buf;
}

int netaddr_equal(const struct netaddr *a, const struct netaddr *b)
{
	size_t n = a->family == AF_INET ? 4 : 16;

	return a->family == b->family && memcmp(a->ip, b->ip, n) == 0;
}

uint64_t netaddr_hash(const struct netaddr *a)
{
	/* The family is in the seed: an IPv4 address and the first four
	 * bytes of an IPv6 one differ. */
	return hash_bytes(HASH_SEED ^ a->family, a->ip, a->family == AF_INET ? 4 : 16);
}
